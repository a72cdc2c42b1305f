/*
 * fifo.c - the exec fifo: how a created container waits for `runjs start`.
 *
 * runjs makes a fifo on the host before starting us. Opening a fifo for
 * writing blocks until someone opens it for reading, and that someone is
 * `runjs start`: so the init's last act before the user's program is an open
 * that sleeps, for as long as it takes, between create and start. The fifo's
 * host path is out of reach after pivot_root, so we take an O_PATH handle on
 * the fifo itself while the path is still visible; O_PATH opens nothing for
 * reading or writing, and the handle is close-on-exec. At the end the fifo is
 * reopened for writing through /proc/self/fd/N, the container's own /proc. A
 * container without one (no mount namespace, no proc mount) holds the fifo's
 * directory instead and reopens the fifo with openat(2) under it: that needs
 * no /proc, but keeps a handle on runjs's state directory until start. The byte we write tells start we are off;
 * a failure before that (a startContainer hook) writes "!" and its message
 * instead (report.c), which start reports.
 */
#include "init.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int fifo_open_path(const struct plan *p)
{
	char dir[4096];
	if (!p->fifo)
		return -1;
	if (p->fifo_by_proc)
		return must(open(p->fifo, O_PATH | O_NOFOLLOW | O_CLOEXEC), "fifo", "open", p->fifo);
	const char *base = base_of(p->fifo);
	size_t n = base - p->fifo;
	if (n == 0 || n >= sizeof dir || !*base)
		die("fifo", "open", p->fifo, EINVAL, "not an absolute path to a file");
	memcpy(dir, p->fifo, n);
	dir[n] = 0;
	return must(open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), "fifo", "open", dir);
}

int fifo_wait(const struct plan *p, int dirfd)
{
	int fd;
	char self[32];
	if (dirfd < 0)
		return -1;
	snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
	while ((fd = p->fifo_by_proc ? open(self, O_WRONLY | O_CLOEXEC)
				     : openat(dirfd, base_of(p->fifo), O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	       errno == EINTR)
		;
	must(fd, "fifo", "open", p->fifo);
	close(dirfd);
	report_fd = fd;
	return fd;
}

/* One byte says the startContainer hooks are done; the fd itself stays open, close-on-exec,
 * so `runjs start` sees the fifo close exactly when execve has replaced us (or we died):
 * poststart hooks then run after the user's program is in place, as the spec asks. */
void fifo_signal(const struct plan *p, int fd)
{
	if (fd >= 0)
		must(write_full(fd, "0", 1), "fifo", "write", p->fifo);
	report_fd = -1; /* said: what fails from here is the program's */
}
