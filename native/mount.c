/*
 * mount.c - the container's filesystem: the rootfs, its mounts, and the steps
 * deferred until after pivot_root.
 *
 * Before pivot_root every target is a path *inside* the rootfs, and the rootfs
 * is an image we do not trust: its /etc may be a symlink to "/" or "../..",
 * which, followed from the host, would put a mount on the host. So no target
 * is opened by name. openat2(2) with RESOLVE_IN_ROOT resolves a path as if the
 * rootfs fd were "/": absolute symlinks and ".." stop at the rootfs, and
 * RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd style jumps. The result is an
 * O_PATH fd, and mount(2) is given "/proc/self/fd/N", a magic link to exactly
 * the object we resolved, so the path cannot be swapped between check and use.
 * Missing directories are made one component at a time with mkdirat(2) on a
 * parent resolved the same way.
 *
 * An fd taken before mount(2) points at the directory *under* the new mount,
 * so whatever is done to the mount afterwards (the read-only remount of a
 * bind, propagation, mount_setattr) re-resolves the path first.
 *
 * After pivot_root nothing outside the container is reachable any more; the
 * same resolution is still used for remounts and masked and read-only paths,
 * through /proc/self/fd when the container has a /proc.
 */
#include "proto.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* An O_PATH fd for path (leading '/' ignored) under root, never escaping it. */
static int resolve(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	return syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
}

/* Open directory path under root, creating missing components (0755). */
static int open_dir(int root, const char *path, const char *step, const char *show)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf)
		die(step, "open", show, ENAMETOOLONG, NULL);
	strcpy(buf, path);
	int fd = resolve(root, buf, O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return must(fd, step, "open", show);
	int dfd = must(resolve(root, "", O_DIRECTORY), step, "open", show);
	for (char *c = buf; *c;) {
		if (*c == '/') {
			c++;
			continue;
		}
		char *end = c + strcspn(c, "/"), save = *end;
		*end = 0; /* buf is now the path up to and including component c */
		if ((fd = resolve(root, buf, O_DIRECTORY)) < 0 && errno == ENOENT) {
			if (mkdirat(dfd, c, 0755) < 0 && errno != EEXIST)
				die_errno(step, "mkdir", show);
			fd = resolve(root, buf, O_DIRECTORY);
		}
		close(dfd);
		dfd = must(fd, step, "open", show);
		*end = save;
		c = end;
	}
	return dfd;
}

int open_parent(int root, const char *path, const char **base, const char *step)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
	if (!**base || n >= sizeof dir)
		die(step, "open", path, EINVAL, NULL);
	memcpy(dir, path, n);
	dir[n] = 0;
	return open_dir(root, dir, step, path);
}

/* The mount target; mk 1 creates it as a directory, 2 as an empty file. */
static int open_target(int root, const char *path, uint32_t mk, const char *step)
{
	int fd = resolve(root, path, 0);
	if (fd >= 0 || errno != ENOENT || mk == 0)
		return must(fd, step, "open", path);
	if (mk == 1)
		return open_dir(root, path, step, path);
	const char *base;
	int dfd = open_parent(root, path, &base, step);
	int f = openat(dfd, base, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST)
		die_errno(step, "mkdir", path);
	close(f);
	close(dfd);
	return must(resolve(root, path, 0), step, "open", path);
}

int setup_rootfs(const struct plan *p)
{
	/* Our mount namespace is a copy of runjs's; make "/" a slave (usually)
	 * so nothing we mount propagates back to the host. */
	if (p->root_propagation)
		must(mount(NULL, "/", NULL, p->root_propagation, NULL), "linux.rootfsPropagation", "mount", "/");
	/* pivot_root needs the new root to be a mount point: bind it onto itself. */
	must(mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL), "root.path", "mount", p->rootfs);
	return must(open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), "root.path", "open", p->rootfs);
}

static unsigned long kept_flags(const char *at, const char *step, const char *path);

void do_mounts(const struct plan *p, int root)
{
	char at[32];
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct mnt *m = &p->mounts[i];
		struct stat covered;
		int had = -1;
		if (m->keep_mode && (had = resolve(root, m->target, O_DIRECTORY)) >= 0)
			must(fstat(had, &covered), m->name, "stat", m->target);
		int fd = open_target(root, m->target, m->mkdir, m->name);
		snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
		if (m->tree >= 0) /* id-mapped: attach the copy prepared before the namespaces */
			must(syscall(SYS_move_mount, m->tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
			     m->name, "move_mount", m->target);
		else
			must(mount(m->source, at, *m->fstype ? m->fstype : NULL, m->flags, *m->data ? m->data : NULL),
			     m->name, "mount", m->target);
		if (had >= 0) { /* the new tmpfs's root takes the covered directory's mode */
			close(had);
			int fresh = must(resolve(root, m->target, O_DIRECTORY), m->name, "open", m->target);
			snprintf(at, sizeof at, "/proc/self/fd/%d", fresh);
			must(chmod(at, covered.st_mode & 07777), m->name, "chmod", m->target);
			close(fresh);
		}
		if (m->copyup) { /* fd still reaches the directory the mount now covers */
			int fresh = must(resolve(root, m->target, O_DIRECTORY), m->name, "open", m->target);
			copy_up(fd, fresh, m->name);
			close(fresh);
		}
		close(fd);
		if (!m->bindro && !m->propagation && !m->attr_set && !m->attr_clr)
			continue;
		fd = must(resolve(root, m->target, 0), m->name, "open", m->target);
		snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
		/* MS_BIND ignores MS_RDONLY & co.: a bind is made read-only by a remount.
		 * In a user namespace one that drops a flag the kernel locked fails with
		 * EPERM; then keep those flags (see kept_flags). */
		/* An early copy was taken outside the container's user namespace, so the
		 * kernel locked none of its flags; keep them as it would have (below). */
		if (m->bindro && m->early)
			must(mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | m->bindro | kept_flags(at, m->name, m->target), NULL),
			     m->name, "remount", m->target);
		else if (m->bindro && mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | m->bindro, NULL) < 0) {
			if (errno != EPERM)
				die_errno(m->name, "remount", m->target);
			must(mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | m->bindro | kept_flags(at, m->name, m->target), NULL),
			     m->name, "remount", m->target);
		}
		if (m->propagation)
			must(mount(NULL, at, NULL, m->propagation, NULL), m->name, "mount", m->target);
		struct mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
		if (a.attr_set || a.attr_clr)
			must(mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a), m->name,
			     "mount_setattr", m->target);
		close(fd);
	}
}

/* After pivot_root: fd of path (-1 if missing), and in at what to give mount(2). */
static int open_late(const char *path, const char *step, char *at)
{
	static int root = -1;
	if (root < 0)
		root = must(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), step, "open", "/");
	int fd = resolve(root, path, 0);
	if (fd < 0 && errno == ENOENT)
		return -1;
	must(fd, step, "open", path);
	if (access("/proc/self/fd", F_OK) == 0)
		snprintf(at, PATH_MAX, "/proc/self/fd/%d", fd);
	else
		snprintf(at, PATH_MAX, "%s", path);
	return fd;
}

/*
 * A bind remount replaces all per-mount flags. In a user namespace the kernel
 * locks nosuid, nodev, noexec and the atime flags that the mount had when it
 * was shared with us, and refuses (EPERM) a remount that would drop them; so
 * repeat the ones already set.
 */
static unsigned long kept_flags(const char *at, const char *step, const char *path)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
		{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	struct statvfs s;
	unsigned long fl = 0;
	must(statvfs(at, &s), step, "statfs", path);
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (s.f_flag & map[i].st)
			fl |= map[i].ms;
	return fl;
}

void do_remounts(const struct plan *p)
{
	char at[PATH_MAX];
	for (size_t i = 0; i < p->nremounts; i++) {
		const struct remount *r = &p->remounts[i];
		const char *step = *r->name ? r->name : "remounts";
		int fd = open_late(r->path, step, at);
		if (fd < 0)
			die(step, "open", r->path, ENOENT, NULL);
		unsigned long keep = r->flags & MS_BIND ? kept_flags(at, step, r->path) : 0;
		must(mount(NULL, at, NULL, MS_REMOUNT | r->flags | keep, NULL), step, "remount", r->path);
		close(fd);
	}
}

void do_masked_and_readonly(const struct plan *p)
{
	char at[PATH_MAX];
	struct stat st;
	for (size_t i = 0; i < p->nmasked; i++) {
		const char *step = "linux.maskedPaths", *path = p->masked[i];
		int fd = open_late(path, step, at);
		if (fd < 0)
			continue;
		must(fstat(fd, &st), step, "stat", path);
		/* a directory is hidden under an empty read-only tmpfs, a file under /dev/null */
		must(S_ISDIR(st.st_mode) ? mount("tmpfs", at, "tmpfs", MS_RDONLY, NULL)
					 : mount("/dev/null", at, NULL, MS_BIND, NULL), step, "mount", path);
		close(fd);
	}
	for (size_t i = 0; i < p->nreadonly; i++) {
		const char *step = "linux.readonlyPaths", *path = p->readonly[i];
		int fd = open_late(path, step, at);
		if (fd < 0)
			continue;
		must(mount(at, at, NULL, MS_BIND | MS_REC, NULL), step, "mount", path);
		close(fd);
		if ((fd = open_late(path, step, at)) < 0)
			die(step, "open", path, ENOENT, NULL);
		must(mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(at, step, path), NULL),
		     step, "remount", path);
		close(fd);
	}
}
