/* util.h - error reporting and EINTR-safe I/O (see util.c). */
#ifndef RUNJS_UTIL_H
#define RUNJS_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>

extern int ctl_fd;      /* control socket; -1 once closed */
extern int after_ready; /* READY was sent: report errors on stderr */
extern int report_fd;   /* the exec fifo once start opened it: errors go there too */
extern mode_t saved_umask; /* the umask we were started with (set-up runs with 0) */

/* Report a failure (ERROR frame, or a stderr line after READY) and exit(1). */
noreturn void die(const char *step, const char *op, const char *path, int err, const char *msg);
#define die_errno(step, op, path) die((step), (op), (path), errno, NULL)
/* r, unless it is negative: then die with errno. For "fd = must(open(...), ...)". */
long must(long r, const char *step, const char *op, const char *path);

ssize_t read_full(int fd, void *buf, size_t len);        /* < len only at EOF; -1 on error */
int write_full(int fd, const void *buf, size_t len);    /* 0 or -1 */
int write_file(const char *path, const char *s);        /* open, write all, close; 0 or -1 */

#endif
