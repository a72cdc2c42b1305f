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
#include "proto.h"

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

static pid_t spawn(const struct plan *p, const struct hook *h, const char *state)
{
	size_t len = strlen(state);
	int fds[2];
	must(pipe2(fds, O_CLOEXEC), h->name, "hook", h->path);
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
		if (dup2(fds[0], 0) == 0)
			execve(h->path, h->nargs ? h->args : argv0, h->inherit_env ? p->env : h->env);
		_exit(127);
	}
	close(fds[0]);
	return pid;
}

/* Wait for the hook, killing it after timeout seconds (0: no limit). */
static int wait_hook(const struct hook *h, pid_t pid)
{
	int st;
	if (h->timeout) {
		int pfd = must(syscall(SYS_pidfd_open, pid, 0), h->name, "hook", h->path), r;
		struct pollfd pf = {.fd = pfd, .events = POLLIN};
		while ((r = poll(&pf, 1, h->timeout > INT_MAX / 1000 ? -1 : (int)h->timeout * 1000)) < 0 &&
		       errno == EINTR)
			;
		if (r == 0) {
			char msg[64];
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(msg, sizeof msg, "timed out after %u s", h->timeout);
			die(h->name, "hook", h->path, ETIMEDOUT, msg);
		}
		close(pfd);
	}
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
		int st = wait_hook(h, spawn(p, h, state));
		char msg[128], sig[64] = "";
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		/* "error running startContainer hook #1", a signal by name: runc's words */
		if (WIFEXITED(st))
			snprintf(msg, sizeof msg, "error running %s hook #%zu: exited with status %d", kind, nth,
				 WEXITSTATUS(st));
		else {
			snprintf(sig, sizeof sig, "%s", strsignal(WTERMSIG(st)));
			sig[0] = tolower((unsigned char)sig[0]);
			snprintf(msg, sizeof msg, "error running %s hook #%zu: killed by signal %d (%s)", kind, nth,
				 WTERMSIG(st), sig);
		}
		die(h->name, "hook", h->path, 0, msg);
	}
}
