/* report.h - failure reporting: ERROR frames, then stderr (see report.c). */
#ifndef RUNJS_REPORT_H
#define RUNJS_REPORT_H

#include "util.h"

#include <stdnoreturn.h>

extern int ctl_fd;      /* control socket; -1 once closed */
extern int after_ready; /* READY was sent: report errors on stderr */
extern int report_fd;   /* the exec fifo once start opened it: errors go there too */

/* Report a failure (ERROR frame, or a stderr line after READY) and exit(1). */
noreturn void die(const char *step, const char *op, const char *path, int err, const char *msg);
#define die_errno(step, op, path) die((step), (op), (path), errno, NULL)
/* r, unless it is negative: then die with errno. For "fd = must(open(...), ...)". */
long must(long r, const char *step, const char *op, const char *path);

#endif
