/*
 * fifo.c - the exec fifo: how a created container waits for `runjs start`.
 *
 * runjs makes a fifo on the host before starting us. Opening a fifo for
 * writing blocks until someone opens it for reading, and that someone is
 * `runjs start`: so the init's last act before the user's program is an open
 * that sleeps, for as long as it takes, between create and start. We take an
 * O_PATH handle while the host path is still visible (before pivot_root);
 * O_PATH does not really open the fifo, so it does not block. Reopening that
 * handle through /proc/self/fd later is a real open for writing of the same
 * fifo, from inside the container. The byte we write tells start we are off.
 */
#include "proto.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int fifo_open_path(const struct plan *p)
{
	return p->fifo ? must(open(p->fifo, O_PATH | O_CLOEXEC), "fifo", "open", p->fifo) : -1;
}

void fifo_wait(int pathfd)
{
	char at[32];
	int fd;
	if (pathfd < 0)
		return;
	snprintf(at, sizeof at, "/proc/self/fd/%d", pathfd);
	while ((fd = open(at, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR)
		;
	must(fd, "fifo", "open", at);
	must(write_full(fd, "0", 1), "fifo", "write", at);
	close(fd);
	close(pathfd);
}
