/*
 * copyup.c - tmpcopyup: a tmpfs that starts with what the directory it covers
 * held in the image, and the loopback interface of a new network namespace.
 *
 * A mount hides the directory it lands on, but does not destroy it: a file
 * descriptor opened on the directory before the mount still reaches the old
 * contents. Podman mounts tmpfs on /run, /tmp and /var/tmp of a read-only
 * container with the "tmpcopyup" option (runc's and crun's extension), so the
 * image's files there stay visible but become writable and throw-away. We
 * copy the tree from the covered directory into the new tmpfs: directories,
 * regular files, symlinks, device nodes, fifos and sockets, with their owner,
 * mode and times (hard links become separate copies). Every name is opened
 * relative to its parent's fd with O_NOFOLLOW, so a symlink in the image is
 * copied as a symlink and never followed.
 *
 * A new network namespace has only a loopback interface, and it is down. runc
 * and crun bring it up, and programs expect 127.0.0.1 to work even with no
 * network at all ("--network none").
 */
#include "init.h"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void copy_file(int from, int to, const char *name, const struct stat *st, const char *step)
{
	int in = must(openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), step, "open", name);
	int out = must(openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), step, "create", name);
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? 1 << 30 : left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(step, "copy", name, n < 0 ? errno : EIO, n == 0 ? "the file shrank while it was copied" : NULL);
		left -= n;
	}
	/* owner before mode: chown clears the set-id bits */
	must(fchown(out, st->st_uid, st->st_gid), step, "chown", name);
	must(fchmod(out, st->st_mode & 07777), step, "chmod", name);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	futimens(out, t);
	close(in);
	close(out);
}

static void copy_tree(int from, int to, const char *step, int depth)
{
	if (depth > 128)
		die(step, "copy", "", ELOOP, "directories nested too deep");
	int dfd = must(openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), step, "open", ".");
	DIR *d = fdopendir(dfd);
	if (!d)
		die_errno(step, "opendir", "");
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		struct stat st;
		char link[4096];
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		must(fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW), step, "stat", n);
		struct timespec t[2] = {st.st_atim, st.st_mtim};
		if (S_ISDIR(st.st_mode)) {
			must(mkdirat(to, n, 0700), step, "mkdir", n);
			int a = must(openat(from, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), step, "open", n);
			int b = must(openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), step, "open", n);
			copy_tree(a, b, step, depth + 1);
			must(fchown(b, st.st_uid, st.st_gid), step, "chown", n);
			must(fchmod(b, st.st_mode & 07777), step, "chmod", n);
			futimens(b, t); /* after the contents, which change it */
			close(a);
			close(b);
		} else if (S_ISREG(st.st_mode)) {
			copy_file(from, to, n, &st, step);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t len = must(readlinkat(from, n, link, sizeof link - 1), step, "readlink", n);
			link[len] = 0;
			must(symlinkat(link, to, n), step, "symlink", n);
			must(fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW), step, "chown", n);
			utimensat(to, n, t, AT_SYMLINK_NOFOLLOW);
		} else {
			must(mknodat(to, n, st.st_mode, st.st_rdev), step, "mknod", n);
			must(fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW), step, "chown", n);
			must(fchmodat(to, n, st.st_mode & 07777, 0), step, "chmod", n);
			utimensat(to, n, t, AT_SYMLINK_NOFOLLOW);
		}
	}
	closedir(d);
}

void copy_up(int covered, int fresh, const char *step)
{
	copy_tree(covered, fresh, step, 0);
}

void loopback_up(const struct plan *p)
{
	struct ifreq ifr = {0};
	if (!p->loopback)
		return;
	int s = must(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "network", "socket", "lo");
	strcpy(ifr.ifr_name, "lo");
	must(ioctl(s, SIOCGIFFLAGS, &ifr), "network", "ioctl SIOCGIFFLAGS", "lo");
	ifr.ifr_flags |= IFF_UP;
	must(ioctl(s, SIOCSIFFLAGS, &ifr), "network", "ioctl SIOCSIFFLAGS", "lo");
	close(s);
}
