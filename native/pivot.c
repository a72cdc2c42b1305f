/*
 * pivot.c - make the rootfs the container's "/".
 *
 * pivot_root(new_root, put_old) moves the caller's root mount to put_old and
 * makes new_root the root. We pass "." for both, after fchdir(2) into the new
 * root: the kernel then stacks the old root on top of the new one, at the same
 * place, so no put_old directory has to be made in an image that may be
 * read-only. We fchdir back to the old root, now the top mount at ".", make it
 * a slave so that unmounting it cannot propagate to the host's mounts, and
 * detach it lazily: from then on nothing of the host's filesystem can be
 * reached by any path from inside. chroot(2) alone would not do that: it only
 * changes where path lookup starts, and the old root stays reachable (through
 * an fd, or a second chroot).
 *
 * no_pivot is for a root that pivot_root cannot move (an initramfs): move the
 * rootfs mount onto "/" and chroot into it, accepting that weaker isolation.
 * The host's mounts stay in our mount namespace then, under the chroot, and
 * the kernel lets a process mount a fresh procfs or sysfs wherever a full,
 * uncovered one is mounted in its namespace (it checks nothing else): the
 * host's /proc would be that licence, with its sysrq-trigger and all. So,
 * as runc does, every full proc and sysfs mount outside the rootfs is
 * detached first, or covered with an empty tmpfs where it cannot be.
 * Without a mount namespace of its own (chroot), the container shares the
 * host's mounts: nothing is mounted at all, and chroot(2) is all there is.
 */
#include "init.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++, o++)
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else
			*o = *s;
	*o = 0;
}

/* Detach (or cover) every full proc and sysfs mount that is not under root. */
static void hide_host_procfs(const char *root, const char *step)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt_root[PATH_MAX], point[PATH_MAX], fstype[64];
	size_t rl = strlen(root);
	if (!f)
		die_errno(step, "open", "/proc/self/mountinfo");
	/* collect first: unmounting while reading would shift the file under us */
	char **todo = NULL;
	size_t n = 0;
	while (fgets(line, sizeof line, f)) {
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", mnt_root, point) != 2 || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		unescape(point);
		if (strcmp(mnt_root, "/") || (strcmp(fstype, "proc") && strcmp(fstype, "sysfs")))
			continue;
		if (!strncmp(point, root, rl) && (point[rl] == '/' || point[rl] == 0))
			continue;
		char **t = realloc(todo, (n + 1) * sizeof *todo);
		if (!t || !(t[n] = strdup(point)))
			die(step, "hide", point, ENOMEM, NULL);
		todo = t;
		n++;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		/* a parent already gone took this one with it */
		if (mount(NULL, todo[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			die_errno(step, "mount", todo[i]);
		}
		if (umount2(todo[i], MNT_DETACH) < 0) {
			if (errno != EINVAL && errno != EPERM)
				die_errno(step, "umount", todo[i]);
			must(mount("tmpfs", todo[i], "tmpfs", 0, NULL), step, "mount", todo[i]);
		}
		free(todo[i]);
	}
	free(todo);
}

void do_pivot(const struct plan *p)
{
	const char *step = "root.path", *root = p->rootfs;
	if (p->chroot) { /* no mount namespace of our own: the weakest form, chroot alone */
		must(chdir(root), step, "chdir", root);
		must(chroot("."), step, "chroot", root);
	} else if (p->no_pivot) {
		hide_host_procfs(root, step);
		must(chdir(root), step, "chdir", root);
		must(mount(root, "/", NULL, MS_MOVE, NULL), step, "mount", root);
		must(chroot("."), step, "chroot", root);
	} else {
		int oldroot = must(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC), step, "open", "/");
		int newroot = must(open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC), step, "open", root);
		must(fchdir(newroot), step, "chdir", root);
		must(syscall(SYS_pivot_root, ".", "."), step, "pivot_root", root);
		must(fchdir(oldroot), step, "chdir", "old root");
		must(mount("", ".", "", MS_SLAVE | MS_REC, ""), step, "mount", "old root");
		must(umount2(".", MNT_DETACH), step, "umount", "old root");
		close(oldroot);
		close(newroot);
	}
	must(chdir("/"), step, "chdir", "/");
}
