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
 * Without a mount namespace of its own (chroot), the container shares the
 * host's mounts: nothing is mounted at all, and chroot(2) is all there is.
 */
#include "proto.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

void do_pivot(const struct plan *p)
{
	const char *step = "root.path", *root = p->rootfs;
	if (p->chroot) { /* no mount namespace of our own: the weakest form, chroot alone */
		must(chdir(root), step, "chdir", root);
		must(chroot("."), step, "chroot", root);
	} else if (p->no_pivot) {
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
