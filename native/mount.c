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
#include "init.h"

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

/*
 * path under root, its symlinks followed one component at a time the way the
 * kernel would follow them with root as "/", and what is missing made on the
 * way: directories, and the last component a directory (mk 1) or an empty
 * file (mk 2); mk 0 makes nothing. A symlink that leads nowhere yet (an image's
 * /etc/hosts -> /run/hosts) is followed too, and its target made inside the
 * rootfs, as runc does. Returns an O_PATH fd of the object.
 */
static int walk_create(int root, const char *path, uint32_t mk, const char *step)
{
	char todo[2 * PATH_MAX], done[PATH_MAX] = "", next[PATH_MAX], comp[NAME_MAX + 1], link[PATH_MAX];
	int links = 0;
	if (strlen(path) >= PATH_MAX)
		die(step, "open", path, ENAMETOOLONG, NULL);
	strcpy(todo, path);
	for (char *c = todo;;) {
		while (*c == '/')
			c++;
		if (!*c)
			break;
		size_t n = strcspn(c, "/");
		if (n > NAME_MAX)
			die(step, "open", path, ENAMETOOLONG, NULL);
		memcpy(comp, c, n);
		comp[n] = 0;
		c += n;
		int last = c[strspn(c, "/")] == 0;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) { /* at the root, ".." is the root */
			char *s = strrchr(done, '/');
			*(s ? s : done) = 0;
			continue;
		}
		if (snprintf(next, sizeof next, "%s/%s", done, comp) >= (int)sizeof next)
			die(step, "open", path, ENAMETOOLONG, NULL);
		int fd = resolve(root, next, O_NOFOLLOW);
		if (fd >= 0) {
			struct stat st;
			must(fstat(fd, &st), step, "stat", path);
			if (!S_ISLNK(st.st_mode)) {
				close(fd);
				strcpy(done, next);
				continue;
			}
			if (++links > 40)
				die(step, "open", path, ELOOP, NULL);
			ssize_t l = readlinkat(fd, "", link, sizeof link - 1);
			close(fd);
			if (l < 0)
				die_errno(step, "readlink", path);
			link[l] = 0;
			char rest[2 * PATH_MAX];
			if (snprintf(rest, sizeof rest, "%s/%s", link, c) >= (int)sizeof rest)
				die(step, "open", path, ENAMETOOLONG, NULL);
			strcpy(todo, rest);
			c = todo;
			if (link[0] == '/')
				done[0] = 0; /* an absolute target starts again from the rootfs */
			continue;
		}
		if (errno != ENOENT || mk == 0)
			die_errno(step, "open", path);
		int dfd = must(resolve(root, done, O_DIRECTORY), step, "open", path);
		if (last && mk == 2) {
			int f = openat(dfd, comp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
			if (f < 0 && errno != EEXIST)
				die_errno(step, "mkdir", path);
			if (f >= 0)
				close(f);
		} else if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
			die_errno(step, "mkdir", path);
		close(dfd);
		strcpy(done, next);
	}
	return must(resolve(root, done, 0), step, "open", path);
}

/* The mount target; mk 1 creates it as a directory, 2 as an empty file, 3 as 1
 * and refuses an existing one that is not a directory of its own (a symlink). */
static int open_target(int root, const char *path, uint32_t mk, const char *step)
{
	if (mk == 3) {
		struct stat st;
		int l = resolve(root, path, O_NOFOLLOW);
		if (l >= 0 && fstat(l, &st) == 0 && !S_ISDIR(st.st_mode))
			die(step, "mount", path, ENOTDIR, "must be mounted on ordinary directory");
		if (l >= 0)
			close(l);
		mk = 1;
	}
	int fd = resolve(root, path, 0);
	if (fd >= 0 || errno != ENOENT || mk == 0)
		return must(fd, step, "open", path);
	return walk_create(root, path, mk, step);
}

static void private_parent(const char *rootfs)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", rootfs);
	for (;;) {
		if (mount(NULL, path, NULL, MS_PRIVATE, NULL) == 0)
			return;
		if (errno != EINVAL || strcmp(path, "/") == 0)
			must(-1, "linux.rootfsPropagation", "mount", path);
		char *slash = strrchr(path, '/');
		if (slash == path)
			path[1] = 0;
		else
			*slash = 0;
	}
}

int setup_rootfs(const struct plan *p)
{
	/* Our mount namespace is a copy of runjs's; make "/" a slave (usually)
	 * so nothing we mount propagates back to the host. */
	if (p->root_propagation)
		must(mount(NULL, "/", NULL, p->root_propagation, NULL), "linux.rootfsPropagation", "mount", "/");
	/* With a shared "/", the mount the rootfs lives on is made private (ours only; the
	 * host's copy is untouched): pivot_root refuses a shared new root, and the rootfs's
	 * bind below would otherwise join the host's peer group. That mount is the nearest
	 * ancestor of the rootfs for which MS_PRIVATE succeeds (EINVAL: not a mount point). */
	if (p->root_propagation & MS_SHARED)
		private_parent(p->rootfs);
	/* pivot_root needs the new root to be a mount point: bind it onto itself. */
	must(mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL), "root.path", "mount", p->rootfs);
	return must(open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), "root.path", "open", p->rootfs);
}

static unsigned long kept_flags(const char *at, const char *step, const char *path);

#define MS_ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
/* What the kernel locks on mounts handed to a less privileged user namespace (MNT_LOCK_*). */
#define MS_LOCKABLE (MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_ATIME_FLAGS)

/*
 * MS_BIND ignores MS_RDONLY & co.: a bind gets its flags from a remount, which
 * sets exactly the flags it is given (what the options set; an option that only
 * clears, such as "rw" or "dev", still asks for the remount). In a user
 * namespace the kernel refuses (EPERM) a remount that drops a flag it locked;
 * then, as runc does, the locked flags of the mount are kept, unless the
 * options cleared one explicitly, or asked for other atime flags: that cannot
 * be done, and says so. An early copy (idmap.c) was taken outside the user
 * namespace, so nothing is locked on it: its remount takes the second way at
 * once, as the kernel would have made it.
 */
static void bind_remount(const struct mnt *m, const char *at)
{
	unsigned long set = m->bindro;
	if (!m->early && mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | set, NULL) == 0)
		return;
	if (!m->early && errno != EPERM)
		die_errno(m->name, "remount", m->target);
	unsigned long src = kept_flags(at, m->name, m->target);
	if (src & m->bind_clear & MS_LOCKABLE)
		die(m->name, "remount", m->target, EPERM, "cannot clear locked flags (ro, nosuid, nodev, noexec, atime) of the source mount: operation not permitted");
	if ((set & MS_ATIME_FLAGS) && (set & MS_ATIME_FLAGS) != (src & MS_ATIME_FLAGS))
		die(m->name, "remount", m->target, EPERM, "cannot change locked atime flags of the source mount: operation not permitted");
	must(mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | set | (src & MS_LOCKABLE), NULL), m->name, "remount", m->target);
}

void do_mounts(const struct plan *p, int root)
{
	char at[32];
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct mnt *m = &p->mounts[i];
		struct stat covered, src;
		int had = -1;
		uint32_t mk = m->mkdir;
		int tree = m->late ? late_tree(p, i) : m->tree;
		if (mk == 4) { /* a bind whose source may come from an earlier mount: look now */
			if ((tree >= 0 ? fstat(tree, &src) : stat(m->source, &src)) < 0)
				die_errno(m->name, "mount", m->source);
			mk = S_ISDIR(src.st_mode) ? 1 : 2;
		}
		if (m->keep_mode && (had = resolve(root, m->target, O_DIRECTORY)) >= 0)
			must(fstat(had, &covered), m->name, "stat", m->target);
		int fd = open_target(root, m->target, mk, m->name);
		snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
		if (tree >= 0) { /* attach the copy taken before the namespaces, or just now (idmap.c) */
			must(syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
			     m->name, "move_mount", m->target);
			close(tree); /* attached: its fd is no longer needed (a low RLIMIT_NOFILE follows) */
		}
		else {
			/* a tmpfs over a directory that exists takes its mode, as mode= (so
			 * that the mount's options show it, as with runc) */
			char data[4096];
			const char *d = m->data;
			if (had >= 0) {
				close(had);
				snprintf(data, sizeof data, "%s%smode=%o", d, *d ? "," : "", covered.st_mode & 07777);
				d = data;
			}
			must(mount(m->source, at, *m->fstype ? m->fstype : NULL, m->flags, *d ? d : NULL), m->name,
			     "mount", m->target);
		}
		if (m->copyup) { /* fd still reaches the directory the mount now covers */
			int fresh = must(resolve(root, m->target, O_DIRECTORY), m->name, "open", m->target);
			copy_up(fd, fresh, m->name);
			close(fresh);
		}
		close(fd);
		if (!m->bindro && !m->bind_clear && !m->propagation && !m->attr_set && !m->attr_clr)
			continue;
		fd = must(resolve(root, m->target, 0), m->name, "open", m->target);
		snprintf(at, sizeof at, "/proc/self/fd/%d", fd);
		if (m->bindro || m->bind_clear)
			bind_remount(m, at);
		if (m->propagation)
			must(mount(NULL, at, NULL, m->propagation, NULL), m->name, "mount", m->target);
		struct mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
		if (a.attr_set || a.attr_clr)
			must(mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a), m->name,
			     "mount_setattr", m->target);
		close(fd);
	}
	late_trees_close(); /* the process serving them exits */
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
 * The per-mount flags of a mount as MS_* (ro, nosuid, nodev, noexec, atime):
 * what a bind remount must repeat to keep them. In a user namespace the kernel
 * locks those that the mount had when it was shared with us, and refuses
 * (EPERM) a remount that would drop them.
 */
static unsigned long kept_flags(const char *at, const char *step, const char *path)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
		{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	struct statvfs s;
	unsigned long fl = 0;
	must(statvfs(at, &s), step, "statfs", path);
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (s.f_flag & map[i].st)
			fl |= map[i].ms;
	/* statfs has no strictatime: it is what neither noatime nor relatime is */
	if (!(fl & (MS_NOATIME | MS_RELATIME)))
		fl |= MS_STRICTATIME;
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
	char at[PATH_MAX], shared[PATH_MAX] = "";
	struct stat st;
	int empty = -1;
	for (size_t i = 0; i < p->nmasked; i++) {
		const char *step = "linux.maskedPaths", *path = p->masked[i];
		int fd = open_late(path, step, at);
		if (fd < 0)
			continue;
		must(fstat(fd, &st), step, "stat", path);
		/* A file is hidden under /dev/null; a directory under an empty
		 * read-only tmpfs, one for all of them (binds of the first, as runc
		 * does: one mount's worth of kernel memory, whatever the count). */
		if (!S_ISDIR(st.st_mode))
			must(mount("/dev/null", at, NULL, MS_BIND, NULL), step, "mount", path);
		else if (empty >= 0)
			must(mount(shared, at, NULL, MS_BIND, NULL), step, "mount", path);
		else {
			must(mount("tmpfs", at, "tmpfs", MS_RDONLY, NULL), step, "mount", path);
			empty = must(open_late(path, step, shared), step, "open", path);
		}
		close(fd);
	}
	if (empty >= 0)
		close(empty);
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
