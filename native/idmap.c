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
 */
#include "proto.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
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

void prepare_detached(struct plan *p)
{
	for (size_t i = 0; i < p->nmounts; i++) {
		struct mnt *m = &p->mounts[i];
		m->tree = -1;
		if (!m->uidmap && !m->early)
			continue;
		unsigned rec = m->flags & MS_REC ? AT_RECURSIVE : 0;
		m->tree = must(syscall(SYS_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec),
			       m->name, "open_tree", m->source);
		if (!m->uidmap)
			continue; /* early: only taken while the source is within our reach */
		int userns = userns_with_maps(m);
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = userns};
		must(syscall(SYS_mount_setattr, m->tree, "", AT_EMPTY_PATH | (m->idmap_rec ? AT_RECURSIVE : 0), &a, sizeof a),
		     m->name, "mount_setattr", "MOUNT_ATTR_IDMAP");
		close(userns);
	}
}
