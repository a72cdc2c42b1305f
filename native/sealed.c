/*
 * sealed.c - run from a sealed copy of ourselves (the CVE-2019-5736 class).
 *
 * Until its final execve the init is runjs-init, living in the container's
 * namespaces: a process there (a startContainer hook, or one that joins the
 * namespaces later) sees it in its pid namespace, and /proc/<pid>/exe is a
 * magic link to the very file the kernel is executing: the host's
 * bin/runjs-init. Opening such a link ignores mounts, chroot and pivot_root.
 * In runc's CVE-2019-5736 a container opened it with O_PATH, waited until the
 * exec let go of the binary, reopened it for writing through /proc/self/fd,
 * and replaced the host's runtime with its own program, which root on the
 * host then ran.
 *
 * So before anything else we copy /proc/self/exe into a memfd (a file that
 * lives in memory only, reached by no path on any filesystem), seal it
 * against every change (F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_GROW, and
 * F_SEAL_SEAL so that no seal can be removed or added later), and execveat(2)
 * it with AT_EMPTY_PATH. From then on /proc/self/exe is that copy, which
 * cannot be written through any fd, and the host's binary is not the file
 * behind any process the container can see. The copy finds the seals with
 * F_GET_SEALS (on an ordinary file it fails with EINVAL) and goes on.
 *
 * Every fd that reached main() has already survived an execve, so none is
 * close-on-exec: the control socket, the container's stdio and preserved fds
 * pass through this exec too, with the same numbers. Our own two fds are
 * O_CLOEXEC; the new image keeps the memfd's file alive as its exe. The memfd
 * asks for MFD_EXEC: with vm.memfd_noexec=1 a memfd without it is sealed
 * non-executable (before Linux 6.3 the flag is unknown: EINVAL, so we retry
 * without it). The cost is a copy of a ~60 KiB file (about 35 us) and one
 * more execve of a dynamically linked program (about 0.5 ms on a small VM).
 */
#include "init.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

void reexec_sealed(char **argv)
{
	const char *step = "runjs-init", *self = "/proc/self/exe";
	struct stat st;
	int exe = must(open(self, O_RDONLY | O_CLOEXEC), step, "open", self);
	int seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS) {
		close(exe);
		return;
	}
	int mfd = memfd_create("runjs-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("runjs-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	must(mfd, step, "memfd_create", "");
	must(fstat(exe, &st), step, "stat", self);
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mfd, exe, NULL, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(step, "copy", self, n < 0 ? errno : EIO, NULL);
		left -= n;
	}
	must(fcntl(mfd, F_ADD_SEALS, SEALS), step, "fcntl", "F_ADD_SEALS");
	close(exe);
	syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
	die_errno(step, "execveat", "memfd:runjs-init");
}
