/*
 * report.c - how runjs-init reports a failure, above the frame codec.
 *
 * Every error path in runjs-init ends in die(). Until READY it sends a single
 * ERROR frame (errno, step, op, path, message) and exits; runjs, which holds
 * the other end of the socket, turns it into one message for the user. After
 * READY the socket is gone, so the same line goes to stderr, which by then is
 * the container's own stderr, and, once `runjs start` has opened the exec
 * fifo, into the fifo as well, so that start can report it.
 */
#include "report.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_fd = -1;
int after_ready;
int report_fd = -1;

noreturn void die(const char *step, const char *op, const char *path, int err, const char *msg)
{
	if (!path)
		path = "";
	if (!after_ready && ctl_fd >= 0) {
		struct wbuf w = WBUF_INIT;
		wb_u32(&w, TAG_ERR_ERRNO, (uint32_t)err);
		wb_str(&w, TAG_ERR_STEP, step);
		wb_str(&w, TAG_ERR_OP, op);
		wb_str(&w, TAG_ERR_PATH, path);
		wb_str(&w, TAG_ERR_MSG, msg ? msg : "");
		if (send_frame(ctl_fd, FRAME_ERROR, &w) == 0)
			exit(1);
	}
	char line[1024];
	snprintf(line, sizeof line, "%s: %s%s%s: %s\n", step, op, *path ? " " : "", path, msg ? msg : strerror(err));
	/* After READY, while the exec fifo is open: tell `runjs start` why, in place of the byte
	 * that would have said we are off ("!" and the line, see fifo.c) */
	if (report_fd >= 0 && write_full(report_fd, "!", 1) == 0)
		write_full(report_fd, line, strlen(line));
	fprintf(stderr, "runjs-init: %s", line);
	exit(1);
}

long must(long r, const char *step, const char *op, const char *path)
{
	if (r < 0)
		die_errno(step, op, path);
	return r;
}
