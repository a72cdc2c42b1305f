/* util.h - EINTR-safe I/O (see util.c). */
#ifndef RUNJS_UTIL_H
#define RUNJS_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

ssize_t read_full(int fd, void *buf, size_t len);        /* < len only at EOF; -1 on error */
int write_full(int fd, const void *buf, size_t len);    /* 0 or -1 */
int write_file(const char *path, const char *s);        /* open, write all, close; 0 or -1 */
/* sendmsg(2) of buf with fd as SCM_RIGHTS (fd < 0: none), EINTR retried; its result. */
ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd);
/* recvmsg(2) into buf, the fd that came along in *fd (-1: none), EINTR retried; its result. */
ssize_t recv_with_fd(int sock, void *buf, size_t len, int *fd);

#endif
