/*
 * hooks.c - the createContainer and startContainer hooks, run by the init.
 *
 * These run inside the container's namespaces: createContainer after the
 * mounts but before pivot_root (so H_PATH is a host path), startContainer
 * after `runjs start`, just before the container's execve. Each gets the
 * state JSON on stdin. The state is written into a pipe before the fork, the
 * pipe grown to hold it, so a hook that never reads stdin cannot block us and
 * one that does sees EOF after the state. A timeout waits on a pidfd: poll(2)
 * wakes when the hook exits, or when time is up and the hook is killed.
 */
#include "init.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The hook, started with the state on its stdin and its stderr in *err (a pipe). */
static pid_t spawn(const struct plan *p, const struct hook *h, const char *state, int *err)
{
	size_t len = strlen(state);
	int fds[2], efd[2];
	must(pipe2(fds, O_CLOEXEC), h->name, "hook", h->path);
	must(pipe2(efd, O_CLOEXEC), h->name, "hook", h->path);
	if (len > 65536)
		fcntl(fds[1], F_SETPIPE_SZ, len);
	fcntl(fds[1], F_SETFL, O_NONBLOCK); /* the write end only: fail, never block */
	if (write_full(fds[1], state, len) < 0)
		die(h->name, "hook", h->path, errno, "the state does not fit in a pipe");
	close(fds[1]);
	pid_t pid = must(fork(), h->name, "hook", h->path);
	if (pid == 0) {
		char *argv0[] = {(char *)h->path, NULL};
		umask(saved_umask);
		/* createContainer runs before pivot_root, in the container's root
		 * directory (as with runc: hooks may use paths relative to it) */
		if (h->phase == 1 && *p->rootfs && chdir(p->rootfs) < 0)
			_exit(126);
		if (dup2(fds[0], 0) == 0 && dup2(efd[1], 2) == 2)
			execve(h->path, h->nargs ? h->args : argv0, h->inherit_env ? p->env : h->env);
		_exit(127);
	}
	close(fds[0]);
	close(efd[1]);
	*err = efd[0];
	return pid;
}

/*
 * Wait for the hook, killing it after timeout seconds (0: no limit), and keep
 * the start of what it wrote on stderr for the error (runc puts it there too);
 * the rest is read and dropped, so a chatty hook cannot block on a full pipe.
 */
static int wait_hook(const struct hook *h, pid_t pid, int err, char *said, size_t saidlen)
{
	int st, r, exited = 0, pfd = must(syscall(SYS_pidfd_open, pid, 0), h->name, "hook", h->path);
	int wait_ms = !h->timeout ? -1 : h->timeout > INT_MAX / 1000 ? INT_MAX : (int)h->timeout * 1000;
	size_t n = 0;
	struct pollfd pf[2] = {{.fd = pfd, .events = POLLIN}, {.fd = err, .events = POLLIN}};
	for (;;) {
		/* once the hook has exited, only what its stderr holds already */
		while ((r = poll(pf, 2, exited ? 0 : wait_ms)) < 0 && errno == EINTR)
			;
		if (r == 0 && exited)
			break;
		if (r == 0) {
			char msg[64];
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(msg, sizeof msg, "timed out after %u s", h->timeout);
			die(h->name, "hook", h->path, ETIMEDOUT, msg);
		}
		if (pf[1].revents) {
			char buf[4096];
			ssize_t k = read(err, buf, sizeof buf);
			if (k <= 0)
				pf[1].fd = -1; /* EOF: poll leaves it alone from now on */
			for (ssize_t i = 0; i < k && n + 1 < saidlen; i++)
				said[n++] = buf[i];
		}
		if (pf[0].revents) {
			exited = 1;
			pf[0].fd = -1;
		}
		if (exited && pf[1].fd < 0)
			break;
	}
	said[n] = 0;
	while (n > 0 && (said[n - 1] == '\n' || said[n - 1] == ' '))
		said[--n] = 0;
	close(pfd);
	close(err);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die_errno(h->name, "hook", h->path);
	return st;
}

void run_hooks(const struct plan *p, uint32_t phase, const char *state)
{
	const char *kind = phase == 1 ? "createContainer" : "startContainer";
	for (size_t i = 0, n = 0; i < p->nhooks; i++) {
		const struct hook *h = &p->hooks[i];
		if (h->phase != phase)
			continue;
		size_t nth = n++;
		int err;
		pid_t pid = spawn(p, h, state, &err);
		char said[1024], msg[1400], sig[64] = "", how[128];
		int st = wait_hook(h, pid, err, said, sizeof said);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		/* "error running startContainer hook #1", a signal by name: runc's words */
		if (WIFEXITED(st))
			snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
		else {
			snprintf(sig, sizeof sig, "%s", strsignal(WTERMSIG(st)));
			sig[0] = tolower((unsigned char)sig[0]);
			snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(st), sig);
		}
		/* and what it said on stderr, as runc reports it */
		snprintf(msg, sizeof msg, "error running %s hook #%zu: %s%s%s", kind, nth, how, *said ? ": " : "", said);
		die(h->name, "hook", h->path, 0, msg);
	}
}
