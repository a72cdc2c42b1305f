/*
 * monitor.c - the small process that stays with a detached container
 * (`runjs-init monitor`, started by `runjs container run -d`).
 *
 * Someone must be the parent of a detached container's init: to learn its exit
 * status (only a parent can wait for a process) and to read what it writes.
 * We make ourselves a child subreaper, so that when runjs-init's helper exits
 * after forking the init, the kernel reparents the init to us, not to the
 * host's init. Then:
 *   1. we run START (runjs: create and start the container) with its stdout
 *      and stderr on two pipes, which the container's processes inherit;
 *   2. we copy whatever comes out of the pipes to LOG as json lines, Docker's
 *      json-file format: {"log":"<line>\n","stream":"stdout","time":"<RFC 3339>"};
 *   3. we reap every child; the one that is not START is the container's
 *      init, and its status (128+N for signal N) goes to EXIT;
 *   4. once no child is left and the pipes are at EOF, we exec THEN (runjs:
 *      tear the container down and record the status).
 * Usage: runjs-init monitor LOG EXIT [-t DIR] START... --then THEN...
 *
 * With -t DIR the container has a terminal, and we keep it, as conmon does:
 * we listen on DIR/console.sock, where the runtime (START's create with
 * --console-socket) sends the pty master (START has DIR open as fd 4, so it
 * can name the socket /proc/self/fd/4/console.sock: a socket's path must fit
 * in 108 bytes, and DIR's may not; we bind through our own fd of DIR too); its output goes to LOG as stdout
 * lines and to every client of DIR/attach.sock (`runjs container attach`).
 * A client sends frames: a type byte, a 16-bit big-endian length, the
 * payload; type 0 is input for the terminal, type 1 a window size (rows and
 * columns, 16 bits each) set on the master with TIOCSWINSZ. The master is
 * read until EIO: no process of the container holds the terminal any more.
 *
 * An fd 3 we are given belongs to START (runjs passes it the socket on which
 * `run -d` waits to hear whether the container runs): only START keeps it.
 * Everything that is policy (which container, what to record) is in runjs;
 * the contract between the two is written in src/engine/containers/detached.ts.
 */
#include "init.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct stream {
	int fd;
	const char *name;
	char line[65536];
	size_t n;
};

static int log_fd = -1;

static void put_json_string(char *out, size_t *o, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n && *o + 7 < cap; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = c;
		} else if (c == '\n') {
			out[(*o)++] = '\\';
			out[(*o)++] = 'n';
		} else if (c < 0x20) {
			*o += snprintf(out + *o, cap - *o, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else
			out[(*o)++] = c;
	}
}

static void emit(struct stream *s)
{
	char out[65536 * 6 + 256], ts[64];
	struct timespec now;
	struct tm tm;
	size_t o = 0;
	if (!s->n)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	o += snprintf(out, sizeof out, "{\"log\":\"");
	put_json_string(out, &o, sizeof out, s->line, s->n);
	o += snprintf(out + o, sizeof out - o, "\",\"stream\":\"%s\",\"time\":\"%s.%09ldZ\"}\n", s->name, ts, now.tv_nsec);
	if (write_full(log_fd, out, o) < 0)
		perror("monitor: log");
	s->n = 0;
}

/* Read what is there; emit each complete line (and a full buffer as a line). */
static int drain(struct stream *s)
{
	char buf[16384];
	ssize_t r = read(s->fd, buf, sizeof buf);
	if (r < 0 && errno == EINTR)
		return 1;
	if (r <= 0) {
		emit(s); /* a last line without a newline */
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	for (ssize_t i = 0; i < r; i++) {
		s->line[s->n++] = buf[i];
		if (buf[i] == '\n' || s->n == sizeof s->line)
			emit(s);
	}
	return 1;
}

#define MAX_CLIENTS 8

struct client {
	int fd;
	unsigned char frame[3 + 65535];
	size_t n;
};

static int listen_unix(int dirfd, const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	unlink(a.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0) {
		perror(a.sun_path);
		return -1;
	}
	return fd;
}

/* One client's bytes: complete frames are applied to the terminal. 0 once it is gone. */
static int client_read(struct client *c, int master)
{
	ssize_t r = read(c->fd, c->frame + c->n, sizeof c->frame - c->n);
	if (r < 0 && errno == EINTR)
		return 1;
	if (r <= 0)
		return 0;
	c->n += r;
	while (c->n >= 3) {
		size_t len = (size_t)c->frame[1] << 8 | c->frame[2];
		if (c->n < 3 + len)
			break;
		if (c->frame[0] == 0 && master >= 0)
			write_full(master, c->frame + 3, len);
		else if (c->frame[0] == 1 && len == 4 && master >= 0) {
			struct winsize ws = {.ws_row = c->frame[3] << 8 | c->frame[4], .ws_col = c->frame[5] << 8 | c->frame[6]};
			ioctl(master, TIOCSWINSZ, &ws);
		} else if (c->frame[0] > 1)
			return 0; /* not our protocol: drop the client */
		memmove(c->frame, c->frame + 3 + len, c->n - 3 - len);
		c->n -= 3 + len;
	}
	return 1;
}

int monitor_main(int argc, char **argv)
{
	int then = -1;
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], "--then"))
			then = i;
	if (argc < 6 || then < 0 || then == argc - 1) {
		fprintf(stderr, "usage: runjs-init monitor LOG EXIT START... --then THEN...\n");
		return 2;
	}
	argv[then] = NULL;
	int status_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1; /* before we open anything ourselves */
	int start_arg = 4, console_l = -1, attach_l = -1, master = -1, dirfd = -1;
	struct client clients[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if (!strcmp(argv[4], "-t")) {
		if (then < 7) {
			fprintf(stderr, "usage: runjs-init monitor LOG EXIT [-t DIR] START... --then THEN...\n");
			return 2;
		}
		dirfd = open(argv[5], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			perror(argv[5]);
			return 1;
		}
		if ((console_l = listen_unix(dirfd, "console.sock")) < 0 || (attach_l = listen_unix(dirfd, "attach.sock")) < 0)
			return 1;
		start_arg = 6;
	}
	const char *exit_path = argv[3];
	log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (log_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("monitor: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		perror("monitor: pipe2");
		return 1;
	}
	pid_t start = fork();
	if (start < 0) {
		perror("monitor: fork");
		return 1;
	}
	if (start == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		if (dirfd >= 0 && (dirfd == 4 ? fcntl(4, F_SETFD, 0) : dup2(dirfd, 4)) < 0)
			_exit(127);
		execv(argv[start_arg], argv + start_arg);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (status_fd >= 0)
		close(status_fd); /* START's alone (see above): EOF for run -d once START is gone */
	struct stream s[2] = {{.fd = out[0], .name = "stdout"}, {.fd = err[0], .name = "stderr"}};
	struct stream term = {.fd = -1, .name = "stdout"};
	int code = -1;
	for (;;) {
		/* what to wait for: the pipes, the terminal, the two sockets, the clients */
		struct pollfd p[4 + MAX_CLIENTS];
		int *who[4 + MAX_CLIENTS];
		int np = 0;
		int *watch[] = {&s[0].fd, &s[1].fd, &master, &console_l, &attach_l};
		for (size_t i = 0; i < sizeof watch / sizeof *watch; i++)
			if (*watch[i] >= 0) {
				who[np] = watch[i];
				p[np++] = (struct pollfd){.fd = *watch[i], .events = POLLIN};
			}
		for (int i = 0; i < MAX_CLIENTS && np < 4 + MAX_CLIENTS; i++)
			if (clients[i].fd >= 0) {
				who[np] = &clients[i].fd;
				p[np++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
			}
		if (np)
			poll(p, np, 200);
		for (int k = 0; k < np; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[k] == &s[0].fd)
				drain(&s[0]);
			else if (who[k] == &s[1].fd)
				drain(&s[1]);
			else if (who[k] == &console_l) {
				/* the runtime hands over the pty master, once */
				int c = accept4(console_l, NULL, NULL, SOCK_CLOEXEC), fd = -1;
				char name[64];
				if (c >= 0 && recv_with_fd(c, name, sizeof name, &fd) >= 0 && fd >= 0) {
					/* no one has sized it yet: a terminal's usual 24x80 until attach says */
					struct winsize ws;
					if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && !ws.ws_row && !ws.ws_col) {
						ws.ws_row = 24;
						ws.ws_col = 80;
						ioctl(fd, TIOCSWINSZ, &ws);
					}
					master = fd;
					close(console_l);
					console_l = -1;
				}
				if (c >= 0)
					close(c);
			} else if (who[k] == &attach_l) {
				int c = accept4(attach_l, NULL, NULL, SOCK_CLOEXEC);
				int slot = -1;
				for (int i = 0; i < MAX_CLIENTS && slot < 0 && c >= 0; i++)
					if (clients[i].fd < 0)
						slot = i;
				if (slot >= 0) {
					clients[slot].fd = c;
					clients[slot].n = 0;
				} else if (c >= 0)
					close(c); /* too many: refused */
			} else if (who[k] == &master) {
				char buf[16384];
				ssize_t r = read(master, buf, sizeof buf);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) { /* EIO: the container's last process let go of the terminal */
					emit(&term);
					close(master);
					master = -1;
					continue;
				}
				for (int i = 0; i < MAX_CLIENTS; i++)
					if (clients[i].fd >= 0 && write_full(clients[i].fd, buf, r) < 0) {
						close(clients[i].fd);
						clients[i].fd = -1;
					}
				for (ssize_t i = 0; i < r; i++) {
					term.line[term.n++] = buf[i];
					if (buf[i] == '\n' || term.n == sizeof term.line)
						emit(&term);
				}
			} else
				for (int i = 0; i < MAX_CLIENTS; i++)
					if (who[k] == &clients[i].fd && !client_read(&clients[i], master)) {
						close(clients[i].fd);
						clients[i].fd = -1;
					}
		}
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == start)
				continue;
			/* the container's init (reparented to us), or an orphan of it */
			if (code < 0)
				code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		/* done when no child is left and the pipes (and the terminal) are at EOF
		 * (until then what is left in them is read on the next turns); a
		 * terminal never handed over is not waited for */
		if (pid < 0 && errno == ECHILD && s[0].fd < 0 && s[1].fd < 0 && master < 0)
			break;
	}
	if (console_l >= 0)
		close(console_l);
	if (attach_l >= 0) {
		close(attach_l);
		unlinkat(dirfd, "attach.sock", 0);
		unlinkat(dirfd, "console.sock", 0);
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd); /* attach sees the end */
	if (code >= 0) {
		char b[16];
		int n = snprintf(b, sizeof b, "%d\n", code);
		int fd = open(exit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0 || write_full(fd, b, n) < 0)
			perror(exit_path);
		if (fd >= 0)
			close(fd);
	}
	close(log_fd);
	execv(argv[then + 1], argv + then + 1);
	perror(argv[then + 1]);
	return 127;
}
