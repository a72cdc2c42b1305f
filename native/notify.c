/*
 * notify.c - seccomp user notification: handing the listener to an agent.
 *
 * With SCMP_ACT_NOTIFY a filtered syscall neither fails nor runs by itself:
 * the kernel stops the caller and queues a notification on a "listener" fd,
 * which seccomp(2) returns when the filter is installed with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER. Whoever holds that fd (a seccomp agent,
 * outside the container) reads each notification with SECCOMP_IOCTL_NOTIF_RECV
 * and answers it with SECCOMP_IOCTL_NOTIF_SEND: an errno, a return value, or
 * "let it run".
 *
 * The runtime-spec says how the agent gets the fd: over a unix stream socket
 * at linux.seccomp.listenerPath, one connection per container, the fd passed
 * with SCM_RIGHTS in a message whose bytes are the "container process state"
 * JSON (runjs composes it and sends it in CONTINUE, once it knows the pids).
 * The socket is a path on the host, so the helper connects before it enters
 * any namespace (for exec too, which joins the container's mount namespace),
 * and the init keeps the connected close-on-exec socket until the filter,
 * and with it the listener, exists. The kernel installs a
 * duplicate of an SCM_RIGHTS fd in the receiver, so we close ours after
 * sending; shutdown(SHUT_WR) tells the agent the state is complete. The
 * filter stays whatever the agent does: once no one holds the listener,
 * notified syscalls fail with ENOSYS.
 *
 * Our own syscalls after the filter is installed are filtered too. runjs
 * refuses a profile that notifies sendmsg or shutdown (they would wait for an
 * agent that cannot have the fd, or the end of the state, yet) or has
 * SCMP_ACT_NOTIFY as its default action.
 */
#include "init.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *step = "linux.seccomp.listenerPath";

int notify_connect(const struct plan *p)
{
	const char *path = p->seccomp_listener;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path)
		return -1;
	if (strlen(path) >= sizeof sa.sun_path)
		die(step, "connect", path, ENAMETOOLONG, NULL);
	strcpy(sa.sun_path, path);
	int fd = must(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), step, "socket", path);
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		if (errno != EINTR) {
			char msg[128]; /* runc's words, which callers look for */
			snprintf(msg, sizeof msg, "failed to connect with seccomp agent: %s", strerror(errno));
			die(step, "connect", path, errno, msg);
		}
	return fd;
}

void notify_send(const struct plan *p, int sock, int listener, const char *state)
{
	const char *path = p->seccomp_listener;
	size_t len = strlen(state), off;
	ssize_t n;
	if (len == 0)
		die(step, "send", path, EPROTO, "CONTINUE carried no SECCOMP_STATE");
	/* the fd goes with the first bytes; a short stream send leaves the rest */
	n = send_with_fd(sock, state, len, listener);
	for (off = must(n, step, "sendmsg", path); off < len; off += n > 0 ? n : 0)
		if ((n = send(sock, state + off, len - off, MSG_NOSIGNAL)) < 0 && errno != EINTR)
			die_errno(step, "send", path);
	/* the end of the message: an agent reads until EOF, and must get it even
	 * if it is asked to decide about our close() */
	must(shutdown(sock, SHUT_WR), step, "shutdown", path);
	close(listener);
	close(sock);
}
