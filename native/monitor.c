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
 * Usage: runjs-init monitor LOG EXIT START... --then THEN...
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
#include <sys/prctl.h>
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
		execv(argv[4], argv + 4);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (status_fd >= 0)
		close(status_fd); /* START's alone (see above): EOF for run -d once START is gone */
	struct stream s[2] = {{.fd = out[0], .name = "stdout"}, {.fd = err[0], .name = "stderr"}};
	int code = -1;
	for (;;) {
		struct pollfd p[2];
		int np = 0;
		for (int i = 0; i < 2; i++)
			if (s[i].fd >= 0)
				p[np++] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
		if (np)
			poll(p, np, 200);
		for (int i = 0, k = 0; i < 2; i++)
			if (s[i].fd >= 0 && (p[k++].revents & (POLLIN | POLLHUP | POLLERR)))
				drain(&s[i]);
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == start)
				continue;
			/* the container's init (reparented to us), or an orphan of it */
			if (code < 0)
				code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		/* done when no child is left and the pipes are at EOF (until then
		 * what is left in them is read on the next turns) */
		if (pid < 0 && errno == ECHILD && s[0].fd < 0 && s[1].fd < 0)
			break;
	}
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
