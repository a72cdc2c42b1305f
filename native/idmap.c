/*
 * idmap.c - id-mapped bind mounts (mounts[].uidMappings / gidMappings).
 *
 * Since Linux 5.12 a mount can carry an id mapping of its own: mount_setattr
 * with MOUNT_ATTR_IDMAP and a user namespace fd makes every file seen through
 * that mount show (and be written with) ids translated by the namespace's
 * maps: a file whose on-disk owner is X appears as Y where the map has
 * "X Y size", and the filesystem itself is not touched. The namespace is only
 * a carrier for the maps: we make one with a short-lived child that unshares
 * CLONE_NEWUSER, write its maps (we are still root of the host here), keep a
 * handle on it and let the child go.
 *
 * The mapping has to be attached to a mount that is not yet in any mount
 * table, and by a process privileged over the filesystem, which the container
 * (in its own user namespace) is not. So the helper prepares every such mount
 * before it enters any namespace: open_tree(OPEN_TREE_CLONE) of the source
 * (a detached copy), mount_setattr on that, and the init later attaches it
 * with move_mount at its place in the container (mount.c).
 *
 * The same early copy serves a plain bind mount into a container with a user
 * namespace of its own: its root is not the host's, so a source under a
 * directory only the host's root may enter (mode 0700, say) would be out of
 * its reach by path. Taken here, as the host's root, it is a mount already.
 *
 * A source inside the rootfs cannot be taken early: what it names is the
 * container's own tree, which the mounts before it build (bind a/ on /mnt,
 * then id-map /mnt/x: x is in a/). So for such a mount (M_LATE) a process of
 * ours stays behind in the host's namespaces, root of the host, before the
 * helper enters any; when the init reaches that mount it sends that process
 * its mount namespace, and the process joins it, takes the copy there, maps it
 * and sends it back (a socketpair, SCM_RIGHTS both ways). runc does the same
 * from a thread of its parent.
 */
#include "init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

static int userns_with_maps(const struct mnt *m)
{
	char path[64];
	int ready[2];
	must(pipe2(ready, O_CLOEXEC), m->name, "pipe", "");
	pid_t c = must(fork(), m->name, "fork", "");
	if (c == 0) {
		char b = 0;
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(ready[1], &b, 1) != 1)
			_exit(1);
		pause(); /* until killed: the namespace lives on through our fd */
		_exit(0);
	}
	close(ready[1]);
	char b;
	int ok = read(ready[0], &b, 1) == 1;
	close(ready[0]);
	if (!ok) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		die(m->name, "unshare", "user namespace for the id mapping", EPERM, NULL);
	}
	snprintf(path, sizeof path, "/proc/%d/uid_map", c);
	int e1 = write_file(path, m->uidmap) < 0 ? errno : 0;
	snprintf(path, sizeof path, "/proc/%d/gid_map", c);
	int e2 = e1 ? 0 : write_file(path, m->gidmap) < 0 ? errno : 0;
	snprintf(path, sizeof path, "/proc/%d/ns/user", c);
	int fd = e1 || e2 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	int e3 = fd < 0 ? errno : 0;
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	if (e1)
		die(m->name, "write", "uidMappings", e1, NULL);
	if (e2)
		die(m->name, "write", "gidMappings", e2, NULL);
	if (fd < 0)
		die(m->name, "open", "/proc/PID/ns/user", e3, NULL);
	return fd;
}

static int open_copy(const struct mnt *m)
{
	return syscall(SYS_open_tree, AT_FDCWD, m->source,
		       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->flags & MS_REC ? AT_RECURSIVE : 0));
}

static int set_idmap(const struct mnt *m, int tree, int userns)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = userns};
	return syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (m->idmap_rec ? AT_RECURSIVE : 0), &a, sizeof a);
}

/* One message: two numbers and at most one fd (util.c). */
static int send_msg(int sock, const uint32_t v[2], int fd)
{
	return send_with_fd(sock, v, 2 * sizeof *v, fd) == 2 * sizeof *v ? 0 : -1;
}

/* 1, 0 at EOF, -1 on error; *fd is -1 when none came. */
static int recv_msg(int sock, uint32_t v[2], int *fd)
{
	ssize_t n = recv_with_fd(sock, v, 2 * sizeof *v, fd);
	return n == 0 ? 0 : n == 2 * sizeof *v ? 1 : -1;
}

enum { LATE_SETNS = 1, LATE_OPEN_TREE, LATE_SETATTR };
static int late_sock = -1; /* the init's end of the socketpair, or -1 */

/* The process that stayed behind: {mount index} with the init's mount
 * namespace in, {0, 0} with the copy or {what failed, errno} out, until the
 * init closes its end. It reports nothing on the control socket. */
static noreturn void late_server(const struct plan *p, int sock, const int *userns)
{
	uint32_t req[2];
	int ns;
	while (recv_msg(sock, req, &ns) == 1) {
		uint32_t rep[2] = {0, 0};
		int tree = -1;
		const struct mnt *m = req[0] < p->nmounts ? &p->mounts[req[0]] : NULL;
		if (!m || !m->late || ns < 0)
			rep[0] = LATE_SETNS, rep[1] = EPROTO;
		else if (setns(ns, CLONE_NEWNS) < 0)
			rep[0] = LATE_SETNS, rep[1] = errno;
		else if ((tree = open_copy(m)) < 0)
			rep[0] = LATE_OPEN_TREE, rep[1] = errno;
		else if (set_idmap(m, tree, userns[req[0]]) < 0)
			rep[0] = LATE_SETATTR, rep[1] = errno;
		if (ns >= 0)
			close(ns);
		if (send_msg(sock, rep, rep[0] ? -1 : tree) < 0)
			_exit(1);
		if (tree >= 0)
			close(tree);
	}
	_exit(0);
}

static void start_late_server(const struct plan *p)
{
	int *userns = calloc(p->nmounts, sizeof *userns), sv[2];
	if (!userns)
		die("mounts", "calloc", "", ENOMEM, NULL);
	for (size_t i = 0; i < p->nmounts; i++)
		userns[i] = p->mounts[i].late ? userns_with_maps(&p->mounts[i]) : -1;
	must(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "mounts", "socketpair", "");
	pid_t c = must(fork(), "mounts", "fork", "");
	if (c == 0) {
		prctl(PR_SET_NAME, "runjs:[MOUNTS]");
		close(sv[0]);
		close(ctl_fd); /* runjs must see EOF when the helper and the init are gone */
		ctl_fd = -1;
		if (p->agent >= 0)
			close(p->agent);
		late_server(p, sv[1], userns);
	}
	close(sv[1]);
	for (size_t i = 0; i < p->nmounts; i++)
		if (userns[i] >= 0)
			close(userns[i]);
	free(userns);
	late_sock = sv[0];
}

int late_tree(const struct plan *p, size_t i)
{
	const struct mnt *m = &p->mounts[i];
	int ns = must(open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), m->name, "open", "/proc/self/ns/mnt");
	uint32_t req[2] = {i, 0}, rep[2];
	int tree;
	if (late_sock < 0 || send_msg(late_sock, req, ns) < 0 || recv_msg(late_sock, rep, &tree) != 1)
		die(m->name, "open_tree", m->source, EPIPE, "the helper's process in the host namespaces is gone");
	close(ns);
	if (rep[0] == LATE_SETNS)
		die(m->name, "setns", "mount namespace", rep[1], NULL);
	if (rep[0] == LATE_OPEN_TREE)
		die(m->name, "open_tree", m->source, rep[1], NULL);
	if (rep[0])
		die(m->name, "mount_setattr", "MOUNT_ATTR_IDMAP", rep[1], NULL);
	if (tree < 0)
		die(m->name, "open_tree", m->source, EPROTO, NULL);
	return tree;
}

void late_trees_close(void)
{
	if (late_sock >= 0)
		close(late_sock);
	late_sock = -1;
}

void prepare_detached(struct plan *p)
{
	int late = 0;
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mnt *m = &p->mounts[i];
		m->tree = -1;
		late |= m->late;
		if (m->late || (!m->uidmap && !m->early))
			continue;
		m->tree = must(open_copy(m), m->name, "open_tree", m->source);
		if (!m->uidmap)
			continue; /* early: only taken while the source is within our reach */
		int userns = userns_with_maps(m);
		must(set_idmap(m, m->tree, userns), m->name, "mount_setattr", "MOUNT_ATTR_IDMAP");
		close(userns);
	}
	if (late)
		start_late_server(p);
}
