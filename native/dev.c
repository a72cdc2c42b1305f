/*
 * dev.c - device nodes and symlinks under the rootfs.
 *
 * mknod(2) makes a node with a type, a mode and a device number. Inside a
 * user namespace the kernel refuses it (only CAP_MKNOD in the initial
 * namespace may create nodes, which would otherwise hand out any device), so,
 * like runc, we fall back to bind-mounting the host's node onto an empty file:
 * the container gets the very same device, with the host's owner and mode,
 * which is why the chown is skipped then (it would change the host's node).
 * Whatever is at the path already is removed first and never followed: a
 * symlink the image planted at /dev/null must not redirect our node. The
 * umask is 0 during set-up, so the mode is exactly D_MODE.
 */
#include "init.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void bind_host_node(const struct dev *d, int dfd, const char *base)
{
	char at[32];
	close(must(openat(dfd, base, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644),
		   d->name, "mkdir", d->path));
	int fd = must(openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC), d->name, "open", d->path);
	snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
	must(mount(d->host, at, NULL, MS_BIND, NULL), d->name, "mount", d->path);
	close(fd);
}

void make_devices(const struct plan *p, int root)
{
	for (size_t i = 0; i < p->ndevs; i++) {
		const struct dev *d = &p->devs[i];
		const char *base;
		int dfd = open_parent(root, d->path, &base, d->name);
		if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
			die_errno(d->name, "unlink", d->path);
		if (mknodat(dfd, base, d->mode, makedev(d->major, d->minor)) == 0)
			must(fchownat(dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW), d->name, "chown", d->path);
		else if (errno == EPERM)
			bind_host_node(d, dfd, base);
		else
			die_errno(d->name, "mknod", d->path);
		close(dfd);
	}
}

void make_symlinks(const struct plan *p, int root)
{
	for (size_t i = 0; i < p->nlinks; i++) {
		const struct symlink *l = &p->links[i];
		const char *base, *step = *l->name ? l->name : "symlinks";
		int dfd = open_parent(root, l->path, &base, step);
		if (symlinkat(l->target, dfd, base) < 0 && errno != EEXIST)
			die_errno(step, "symlink", l->path);
		close(dfd);
	}
}
