/*
 * fifo.c - the exec fifo: how a created container waits for `runjs start`.
 *
 * runjs makes a fifo on the host before starting us. Opening a fifo for
 * writing blocks until someone opens it for reading, and that someone is
 * `runjs start`: so the init's last act before the user's program is an open
 * that sleeps, for as long as it takes, between create and start. The fifo's
 * host path is out of reach after pivot_root, so we take an O_PATH handle on
 * the directory that holds it while the path is still visible; O_PATH opens
 * nothing for reading or writing, and the handle is close-on-exec. The final
 * openat(2) through that handle needs no /proc in the container (a container
 * without a mount namespace has none). The byte we write tells start we are off;
 * a failure before that (a startContainer hook) writes "!" and its message
 * instead (util.c), which start reports.
 */
#include "proto.h"

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
	if (dirfd < 0)
		return -1;
	while ((fd = openat(dirfd, base_of(p->fifo), O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 && errno == EINTR)
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
