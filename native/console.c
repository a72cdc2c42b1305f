/*
 * console.c - the container's terminal, and who owns its stdio.
 *
 * A pseudo-terminal is a pair of character devices: the master, which a
 * terminal emulator reads and writes (here: containerd, conmon, or runjs
 * itself), and the slave, which the program sees as its terminal. The kernel's
 * line discipline sits between them: it echoes, turns Ctrl-C into SIGINT for
 * the terminal's foreground process group, and tells that group SIGWINCH when
 * the master sets a new window size.
 *
 * Each devpts instance numbers its own ptys, so the pty is made after
 * pivot_root from the container's /dev/ptmx (its devpts mount's ptmx): the
 * slave is then a /dev/pts/N the container can see and reopen. The slave is
 * opened from the master with TIOCGPTPEER rather than by that path, so a
 * process in the container cannot swap in another file between the two. The
 * master leaves over the unix socket runjs connected for us (the console
 * socket), as an SCM_RIGHTS message carrying the text "/dev/ptmx", the way
 * runc sends it; containerd, conmon and runc's recvtty receive it unchanged.
 *
 * A terminal becomes a process's controlling terminal only for a session
 * leader: the init calls setsid() (always, as runc does, so Ctrl-C at the
 * caller's terminal reaches the container once, through runjs, not twice),
 * then TIOCSCTTY on the slave. A hang-up of the master (its last holder
 * closing it) then sends SIGHUP to the container's session.
 */
#include "init.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static const char *step = "process.terminal";

static void send_master(int sock, int master)
{
	static const char name[] = "/dev/ptmx";
	if (send_with_fd(sock, name, sizeof name - 1, master) < 0)
		die_errno("--console-socket", "sendmsg", "");
}

void setup_terminal(const struct plan *p)
{
	char pts[32];
	int n, unlock = 0;
	if (!p->seen[TAG_CONSOLE_FD])
		return;
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		die(step, "open", "/dev/ptmx", errno,
		    errno == ENOENT ? "the container has no /dev/ptmx (mount devpts on /dev/pts)" : NULL);
	must(ioctl(m, TIOCSPTLCK, &unlock), step, "ioctl", "TIOCSPTLCK");
	must(ioctl(m, TIOCGPTN, &n), step, "ioctl", "TIOCGPTN");
	snprintf(pts, sizeof pts, "/dev/pts/%d", n);
	int s = must(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), step, "ioctl", "TIOCGPTPEER");
	if (p->console_no_onlcr) { /* runjs bridges this terminal: "\n" stays "\n", as with runc */
		struct termios t;
		must(tcgetattr(s, &t), step, "tcgetattr", pts);
		t.c_oflag &= ~ONLCR;
		must(tcsetattr(s, TCSANOW, &t), step, "tcsetattr", pts);
	}
	if (p->console_rows || p->console_cols) {
		struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
		must(ioctl(m, TIOCSWINSZ, &ws), "process.consoleSize", "ioctl", "TIOCSWINSZ");
	}
	if (p->dev_console) {
		/* /dev/console is the slave too, as the kernel's console is for a
		 * booted system's init; a missing file is created to mount on. */
		int c = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0600);
		if (c < 0 && errno != EEXIST)
			die_errno(step, "open", "/dev/console");
		if (c >= 0)
			close(c);
		must(mount(pts, "/dev/console", NULL, MS_BIND, NULL), step, "mount", "/dev/console");
	}
	send_master(p->console_fd, m);
	close(m);
	close(p->console_fd);

	must(ioctl(s, TIOCSCTTY, 0), step, "ioctl", "TIOCSCTTY");
	for (int fd = 0; fd < 3; fd++)
		if (fd != s)
			must(dup3(s, fd, 0), step, "dup3", pts);
	if (s > 2)
		close(s);
}

/*
 * A process that switches to a non-root uid can no longer reopen its own
 * stdio through /proc/self/fd/N (a log file symlinked to /dev/stdout, say)
 * when the pipe or pty belongs to root. As runc does, give the process's uid
 * the pipes, sockets and the pty it was handed, keeping their group. Unlike
 * runc, a regular file or a host terminal passed as stdio keeps its owner:
 * they belong to the caller, not to the container.
 */
void own_stdio(const struct plan *p)
{
	struct stat st;
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0 || st.st_uid == p->uid)
			continue;
		int pty = S_ISCHR(st.st_mode) && p->seen[TAG_CONSOLE_FD] && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
		if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !pty)
			continue;
		/* EINVAL: the group is unmapped in our user namespace; EPERM: the
		 * owner is. Either way the file stays as it is. */
		if (fchown(fd, p->uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
			die_errno("process.user", "fchown", fd == 0 ? "stdin" : fd == 1 ? "stdout" : "stderr");
	}
}
