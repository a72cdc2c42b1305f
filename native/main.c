/*
 * main.c - runjs-init: execute a plan inside new namespaces.
 *
 * runjs (TypeScript on Bun) cannot enter namespaces itself: setns into a mount
 * namespace, a new user namespace and a fork into a pid namespace all want a
 * single-threaded process, and Bun has threads. So runjs compiles config.json
 * into a Plan, starts this program with a control socket as fd N, and sends
 * the plan. We run the steps below in this order, decide nothing, and report
 * the first failure. Every fd below N is the container's (stdio and preserved
 * fds) and reaches it untouched; N and above are runjs's and never do.
 *
 *   runjs                         helper               init (the child)
 *                                  re-exec from a sealed copy (sealed.c)
 *   PLAN ------------------------> setns, unshare, fork
 *        <------------------------ PIDS  (exits, or waits for the init)
 *   cgroups; PLACED ---------------------------------> mounts, devices
 *        <------------------------------------------- HOOKS
 *   prestart hooks; CONTINUE ------------------------> createContainer hooks,
 *                                                      pivot_root, terminal, masks,
 *                                                      process attributes, user
 *        <------------------------------------------- READY, close
 *   `runjs start` opens the fifo --------------------> startContainer, execve
 */
#include "init.h"

#include <ctype.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

mode_t saved_umask = 022;

static int check_plan(void)
{
	struct frame f;
	struct plan p;
	char err[256], c;
	int r = read_frame(0, &f, err, sizeof err);
	if (r == 0)
		snprintf(err, sizeof err, "no frame on stdin");
	else if (r > 0 && f.type != FRAME_PLAN)
		snprintf(err, sizeof err, "frame type %u, want PLAN (%u)", f.type, FRAME_PLAN);
	else if (r > 0 && read_full(0, &c, 1) != 0)
		snprintf(err, sizeof err, "trailing bytes after the frame");
	else if (r > 0 && decode_plan(f.buf, f.len, &p, err, sizeof err) == 0) {
		print_plan_json(&p);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	fprintf(stderr, "runjs-init: check-plan: %s\n", err);
	return 1;
}

/* The next frame, which must be of this type; EOF means runjs died: exit quietly. */
static struct frame expect(uint16_t type, const char *what)
{
	struct frame f;
	char err[256];
	int r = read_frame(ctl_fd, &f, err, sizeof err);
	if (r == 0)
		exit(1);
	if (r > 0 && f.type != type)
		snprintf(err, sizeof err, "got frame type %u, want %s", f.type, what);
	if (r < 0 || f.type != type)
		die("protocol", "read", "", EPROTO, err);
	return f;
}

/* The highest capability this kernel knows; read now, /proc may be gone later. */
static int cap_last_cap(void)
{
	char b[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	int n = fd < 0 ? -1 : read(fd, b, sizeof b - 1);
	if (fd >= 0)
		close(fd);
	n = n > 0 ? atoi(b) : CAP_LAST_CAP;
	return n > 63 ? 63 : n;
}

/* 0 if path is a regular file we may execute, else why not. Checked with our
 * effective ids and capabilities (AT_EACCESS), as execve(2) will: access(2)
 * would use the real uid and, for a non-root one, ignore CAP_DAC_OVERRIDE. */
static int runnable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
		return 0;
	/* faccessat2 is newer than many seccomp profiles, whose default answer
	 * (EPERM, or ENOSYS from our stub) says nothing about the file: then the
	 * mode decides, as in Go's exec.LookPath, which runc uses */
	if (errno == EPERM || errno == ENOSYS)
		return st.st_mode & 0111 ? 0 : EACCES;
	return errno;
}

/* What execve will run: args[0] if it has a '/', else the first match in $PATH.
 * Checked now, so that a typo fails `create`, not `start` (as in runc). */
static const char *find_executable(const struct plan *p, char *buf, size_t len)
{
	const char *a0 = p->args[0];
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int err;
	if (!a0)
		die("process.args", "exec", "", EINVAL, "no arguments");
	if (strchr(a0, '/')) {
		if ((err = runnable(a0)))
			die("process.args", "exec", a0, err, NULL);
		return a0;
	}
	for (char **e = p->env; *e; e++)
		if (!strncmp(*e, "PATH=", 5)) {
			path = *e + 5;
			break;
		}
	for (const char *d = path; *d; d += *d == ':') {
		int n = strcspn(d, ":");
		if (n > 0 && snprintf(buf, len, "%.*s/%s", n, d, a0) < (int)len && runnable(buf) == 0)
			return buf;
		d += n;
	}
	die("process.args", "exec", a0, ENOENT, "executable file not found in $PATH");
}

/*
 * A cwd through one of our own fds (/proc/self/fd/N) would be a host
 * directory (CVE-2024-21626). getcwd(3) fails with ENOENT when the cwd is not
 * under our root, which after pivot_root is the container's. After a seccomp
 * filter is in, another error may be the filter's answer: only ENOENT fails.
 */
static void check_cwd(const struct plan *p, char *buf, size_t len, int strict)
{
	if (getcwd(buf, len) || (!strict && errno != ENOENT))
		return;
	die("process.cwd", "chdir", p->cwd, errno, errno == ENOENT ? "the directory is outside the container" : NULL);
}

static void died_of(int sig)
{
	_exit(128 + sig);
}

static noreturn void init(int fd)
{
	struct plan p;
	struct state st;
	char err[256], buf[PATH_MAX];

	/* Start clean whatever runjs left us: no fd of ours survives an execve, no
	 * signal is blocked or ignored (an ignored SIGPIPE would reach the
	 * container, and the waiting helper could not forward what is ignored). */
	ctl_fd = fd;
	/* Each stage its own name in ps (runc's "runc:[1:CHILD]"): the helper here, the
	 * init or exec'd process after the fork (ns.c), the process that serves late
	 * mount sources (idmap.c).
	 * An execveat of an fd would name us after its number otherwise. */
	prctl(PR_SET_NAME, "runjs:[HELPER]");
	close_range(fd, ~0U, CLOSE_RANGE_CLOEXEC);
	/* Not dumpable: /proc/<pid>/fd, exe, mem, environ and the like of ours open
	 * only for CAP_SYS_PTRACE, so a process of the container's (one sharing its
	 * pid namespace, or a hook) cannot take the host fds we hold during set-up,
	 * such as the fifo's directory (CVE-2016-9962). The execve of the
	 * container's program makes it dumpable again. */
	must(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "runjs-init", "prctl", "PR_SET_DUMPABLE");
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Plan: the whole of what to do, decoded before anything is done */
	struct frame f = expect(FRAME_PLAN, "PLAN");
	if (decode_plan(f.buf, f.len, &p, err, sizeof err) < 0)
		die("plan", "decode", "", EPROTO, err);
	saved_umask = umask(0);

	/* Own attributes: the helper's oom score and CPUs, which the init inherits */
	if (p.seen[TAG_OOM_SCORE_ADJ]) {
		snprintf(buf, sizeof buf, "%d", p.oom_score_adj);
		must(write_file("/proc/self/oom_score_adj", buf), "process.oomScoreAdj", "write",
		     "/proc/self/oom_score_adj");
	}
	if (p.cpu_initial)
		set_cpu_affinity(p.cpu_initial, p.ncpu_initial, "process.execCPUAffinity.initial");
	int cap_last = cap_last_cap();

	/* Namespaces: id-mapped mounts (while we are root of the host), the namespaces, then
	 * the fork; only the init comes back */
	/* the seccomp agent's socket is a host path: connect while it is ours to reach */
	p.agent = notify_connect(&p);
	prepare_detached(&p);
	join_and_unshare(&p);
	fork_init(&p);

	/* A session of our own, so that a terminal can become ours (console.c) */
	must(setsid(), "init", "setsid", "");

	/* Placed: runjs has put us in our cgroups (and written the id maps) */
	expect(FRAME_PLACED, "PLACED");
	must(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "runjs-init", "prctl", "PR_SET_DUMPABLE"); /* see fork_init */
	become_userns_root(&p);
	if (p.cgroupns)
		must(unshare(CLONE_NEWCGROUP), "namespaces", "unshare", "cgroup");

	/* Filesystem: mounts, devices and links under the rootfs (an empty rootfs: exec, no set-up;
	 * no mount namespace: nothing may be mounted, the host would see it) */
	if (*p.rootfs && !p.chroot) {
		int root = setup_rootfs(&p);
		do_mounts(&p, root);
		make_devices(&p, root);
		make_symlinks(&p, root);
		close(root);
	}

	/* Hooks: prestart and createRuntime in runjs (HOOKS), then createContainer here */
	if (send_frame(ctl_fd, FRAME_HOOKS, NULL) < 0)
		exit(1); /* runjs is gone */
	f = expect(FRAME_CONTINUE, "CONTINUE");
	if (decode_continue(f.buf, f.len, &st, err, sizeof err) < 0)
		die("protocol", "decode", "", EPROTO, err);
	run_hooks(&p, 1, st.creating);

	/* Root: pivot_root, keeping handles on the host's fifo and seccomp agent; the terminal */
	int fifo = fifo_open_path(&p);
	int agent = p.agent;
	/* Without a mount namespace nothing is mounted in the rootfs, so it has no
	 * devpts of its own: the pty comes from the host's /dev/ptmx, before chroot. */
	if (p.chroot)
		setup_terminal(&p);
	if (*p.rootfs)
		do_pivot(&p);
	if (*p.rootfs && !p.chroot && p.post_propagation)
		must(mount(NULL, "/", NULL, p.post_propagation, NULL), "linux.rootfsPropagation", "mount", "/");
	if (!p.chroot)
		setup_terminal(&p);

	/* Names, sysctls, then remounts and masks: sysctls first, as /proc/sys is often a read-only path */
	set_names_and_sysctls(&p);
	do_remounts(&p);
	do_masked_and_readonly(&p);

	/* Process attributes: what the process keeps across execve besides its identity */
	set_process_attrs(&p);
	set_home(&p);

	/* Identity: working directory, privileges, user. The chdir is tried as
	 * root first, before a filter could refuse the getcwd that checks it, and
	 * again as the user when root may not enter (root squashed on NFS, say). */
	int cwd_later = chdir(p.cwd) < 0;
	if (cwd_later && errno != EACCES)
		die_errno("process.cwd", "chdir", p.cwd);
	if (!cwd_later)
		check_cwd(&p, buf, sizeof buf, 1);
	set_no_new_privs(&p);
	if (p.seccomp && p.seccomp_early)
		install_seccomp(&p, agent, st.seccomp);
	own_stdio(&p);
	set_user(&p, cap_last);
	if (cwd_later) {
		must(chdir(p.cwd), "process.cwd", "chdir", p.cwd);
		check_cwd(&p, buf, sizeof buf, 0);
	}
	const char *exe = find_executable(&p, buf, sizeof buf);
	umask(p.seen[TAG_UMASK] ? p.umask : 022);

	/* Ready: set-up done; from here errors go to the container's stderr */
	if (send_frame(ctl_fd, FRAME_READY, NULL) < 0)
		exit(1);
	close(ctl_fd);
	ctl_fd = -1;
	after_ready = 1;

	/* Start: the late seccomp filter, the exec fifo, startContainer hooks, execve */
	if (p.seccomp && !p.seccomp_early)
		install_seccomp(&p, agent, st.seccomp);
	close_range(fd, ~0U, CLOSE_RANGE_CLOEXEC);
	/* While created, a signal that would end an ordinary process ends us too:
	 * as the pid namespace's init we would otherwise ignore every signal we
	 * have no handler for, and `runjs kill ID TERM` (or a pidfd's) of a
	 * created container would do nothing. execve resets the handlers. */
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGCONT && sig != SIGTSTP &&
		    sig != SIGTTIN && sig != SIGTTOU && sig != SIGURG && sig != SIGWINCH)
			signal(sig, died_of);
	int go = fifo_wait(&p, fifo);
	run_hooks(&p, 2, st.created);
	fifo_signal(&p, go);
	execve(exe, p.args, p.env);
	/* on the container's stderr, in runc's words ("exec /x: no such file or directory"):
	 * callers and runc's tests match this line exactly */
	char why[128];
	snprintf(why, sizeof why, "%s", strerror(errno));
	why[0] = tolower((unsigned char)why[0]);
	fprintf(stderr, "exec %s: %s\n", exe, why);
	exit(127);
}

/* A move of this process into the cgroup it is already in (PATH is that cgroup's
 * cgroup.procs, chosen by runjs: src/cgroups/prime.ts says why). It changes nothing, and
 * it readies the kernel's cgroup lock for the moves runjs makes of the init; a failure
 * only means those wait as they would have. Made first thing, before the sealed re-exec;
 * not at all when the plan is already waiting on CTL (runjs got to its cgroups first, so
 * the move would only hold up the plan). */
static void prime_cgroup_moves(const char *path, int ctl)
{
	struct pollfd pf = { .fd = ctl, .events = POLLIN };
	if (poll(&pf, 1, 0) != 0)
		return;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "0", 1) < 0) {
		/* (nothing to do: see above) */
	}
	close(fd);
}

int main(int argc, char **argv)
{
	char *end;
	if (argc == 2 && !strcmp(argv[1], "check-plan"))
		return check_plan();
	if (argc >= 2 && !strcmp(argv[1], "monitor"))
		return monitor_main(argc, argv);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "init")) {
		long fd = strtol(argv[2], &end, 10);
		if (*argv[2] && !*end && fd >= 0 && fd < INT_MAX) {
			ctl_fd = fd; /* so that a failure here is an ERROR frame */
			if (argc == 4) {
				prime_cgroup_moves(argv[3], fd);
				argv[3] = NULL; /* (once: not again in the sealed copy) */
			}
			reexec_sealed(argv);
			init(fd);
		}
	}
	fprintf(stderr, "usage: runjs-init init FD [CGROUP_PROCS] | runjs-init check-plan | runjs-init monitor LOG EXIT START... --then THEN...\n");
	return 2;
}
