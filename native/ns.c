/*
 * ns.c - namespaces, the fork of the init, and the helper that stays behind.
 *
 * setns(2) and unshare(2) change the calling process, but two kinds are
 * special: CLONE_NEWPID and CLONE_NEWTIME only decide where the *children*
 * go, because a process never changes its own pid or clock. So the helper
 * joins and unshares everything, writes the time offsets (allowed only while
 * the time namespace has no process in it yet), and then forks: the child is
 * the container's init (pid 1 in a new pid namespace). The parent reports both
 * pids and then either exits (create: the init is reparented to runjs's
 * subreaper, as with runc) or stays as the init's parent (run): it forwards
 * signals and exits with the init's status, so a shell sees the container as
 * an ordinary child.
 *
 * A process that creates or joins a user namespace keeps its credentials, which
 * are unmapped there until runjs writes uid_map and gid_map (after PIDS): it
 * shows up as the overflow uid and may not create a file. So once PLACED says
 * the maps are written, the init becomes uid 0 and gid 0 of the namespace.
 *
 * Hostname and sysctls are set here too: they are state of the UTS, IPC and
 * network namespaces the init lives in.
 */
#include "init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void join_and_unshare(const struct plan *p)
{
	/* Open every path first: once in another mount or pid namespace, a
	 * /proc/PID path (exec joins the init's) would mean something else. */
	int fds[32];
	for (size_t i = 0; i < p->nns; i++) {
		const struct nsjoin *j = &p->ns[i];
		fds[i] = must(open(j->path, O_RDONLY | O_CLOEXEC), j->name ? j->name : "namespaces", "open", j->path);
	}
	/* As runc (and nsenter) do: the other namespaces first, while we still
	 * hold the host's privileges (a namespace not owned by the user namespace
	 * we join would refuse us afterwards); then the user namespace; then what
	 * refused us before (EPERM), which only its root may join. */
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < p->nns; i++) {
			const struct nsjoin *j = &p->ns[i];
			if (fds[i] < 0 || (pass == 1) != (j->type == CLONE_NEWUSER))
				continue;
			if (setns(fds[i], j->type) < 0) {
				if (pass == 0 && errno == EPERM)
					continue;
				die_errno(j->name ? j->name : "namespaces", "setns", j->path);
			}
			close(fds[i]);
			fds[i] = -1;
		}
	if (p->unshare_flags)
		must(unshare(p->unshare_flags), "namespaces", "unshare", "");
	loopback_up(p);
	if ((p->unshare_flags & CLONE_NEWTIME) && p->time_offsets)
		must(write_file("/proc/self/timens_offsets", p->time_offsets), "linux.timeOffsets", "write",
		     "/proc/self/timens_offsets");
}

void become_userns_root(const struct plan *p)
{
	int userns = (p->unshare_flags & CLONE_NEWUSER) != 0;
	for (size_t i = 0; i < p->nns; i++)
		userns |= p->ns[i].type == CLONE_NEWUSER;
	if (userns) {
		must(setresgid(0, 0, 0), "linux.gidMappings", "setresgid", "0");
		must(setresuid(0, 0, 0), "linux.uidMappings", "setresuid", "0");
	}
}

/* The waiting helper: forward signals to the init, reap, exit with its status. */
static noreturn void helper_wait(pid_t init, const sigset_t *all)
{
	for (;;) {
		int sig = sigwaitinfo(all, NULL), st;
		pid_t pid;
		if (sig > 0 && sig != SIGCHLD)
			kill(init, sig);
		else if (sig == SIGCHLD)
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				if (pid == init)
					exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

/*
 * fork(), or with a cgroup v2 directory, clone3(CLONE_INTO_CGROUP): the child starts
 * life in that cgroup, so no one writes its pid to cgroup.procs, and no migration takes
 * cgroup_threadgroup_rwsem for writing (which waits for an RCU grace period, milliseconds,
 * when no migration happened just before). A kernel before 5.7, or one that refuses
 * (a v1-only directory, a cgroup that may not take tasks), gets the plain fork, and runjs
 * moves the child as before: *placed says which.
 */
static pid_t fork_into(const char *dir, int *placed)
{
	*placed = 0;
	if (dir) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			struct clone_args a = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)fd};
			long r = syscall(SYS_clone3, &a, sizeof a);
			close(fd);
			if (r >= 0) {
				*placed = 1;
				return (pid_t)r;
			}
		}
	}
	return fork();
}

void fork_init(const struct plan *p)
{
	/* Block everything first: a signal sent right after PIDS must not be lost. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if (p->helper_waits)
		must(prctl(PR_SET_CHILD_SUBREAPER, 1), "helper", "prctl", "PR_SET_CHILD_SUBREAPER");
	/* runjs writes the new user namespace's maps into /proc/INIT/{uid,gid}_map,
	 * which a non-dumpable process has owned by root: an unprivileged runjs (or
	 * newuidmap, which checks the owner) could not open them. The init is
	 * dumpable only until PLACED, while no process of the container exists yet
	 * (runc does the same). */
	int userns = (p->unshare_flags & CLONE_NEWUSER) != 0;
	if (userns)
		must(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "helper", "prctl", "PR_SET_DUMPABLE");
	int placed = 0;
	pid_t pid = must(fork_into(p->cgroup2_dir, &placed), "helper", "fork", "");
	if (pid == 0) {
		prctl(PR_SET_NAME, p->fifo ? "runjs:[INIT]" : "runjs:[EXEC]"); /* only create has a fifo */
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	if (userns)
		must(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "helper", "prctl", "PR_SET_DUMPABLE");
	late_trees_close(); /* the init's to use (idmap.c) */
	if (p->agent >= 0)
		close(p->agent); /* the init hands the listener over */
	struct wbuf w = WBUF_INIT;
	wb_u32(&w, TAG_PID_HELPER, getpid());
	wb_u32(&w, TAG_PID_INIT, pid);
	wb_u32(&w, TAG_PID_INIT_PLACED, placed);
	if (send_frame(ctl_fd, FRAME_PIDS, &w) < 0)
		exit(1); /* runjs is gone; the init reads EOF and exits too */
	if (!p->helper_waits)
		exit(0);
	close(ctl_fd);
	helper_wait(pid, &all);
}

void set_names_and_sysctls(const struct plan *p)
{
	if (p->hostname)
		must(sethostname(p->hostname, strlen(p->hostname)), "hostname", "sethostname", p->hostname);
	if (p->domainname)
		must(setdomainname(p->domainname, strlen(p->domainname)), "domainname", "setdomainname",
		     p->domainname);
	for (size_t i = 0; i < p->nsysctls; i++) {
		const struct sysctl *s = &p->sysctls[i];
		must(write_file(s->path, s->value), *s->name ? s->name : "linux.sysctl", "write", s->path);
	}
}
