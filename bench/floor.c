/*
 * floor.c: the kernel's share of a runtime's work, with no runtime around it.
 *
 * bench/floor.ts builds this with cc and times it beside runjs, runc and crun. Each mode makes
 * the system calls a runtime must make for the bundle bench/lifecycle.ts uses (the default
 * `runjs spec` config: pid, network, ipc, uts and mount namespaces, the seven default mounts,
 * the masked and read-only paths, a cgroup in every hierarchy, capabilities, no_new_privs),
 * in C, with no config to read, nothing to validate and no state to write. What a runtime
 * takes beyond this is start-up and its own code, not the kernel's.
 *
 *   floor hello                 print one line (a C program's start-up)
 *   floor state FILE PID        read FILE, check PID is alive, print a line (what `state` does)
 *   floor run ROOTFS NAME       everything `RT run NAME` asks of the kernel for /bin/true
 *   floor exec PID              join PID's namespaces and cgroups, run /bin/true there
 *
 * Not part of runjs; a measuring stick only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define die(what) do { fprintf(stderr, "floor: %s: %s\n", what, strerror(errno)); exit(1); } while (0)

static const char *CG = "/sys/fs/cgroup";

/* every hierarchy under /sys/fs/cgroup (v1 controllers, name=systemd, and cgroup2 wherever it
 * sits: the root itself on a pure v2 host, `unified` on a hybrid one) */
static int hierarchies(char names[][64], int max)
{
	struct stat st;
	int n = 0;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
		strcpy(names[n++], "");
		return n;
	}
	DIR *d = opendir(CG);
	if (!d) die("opendir /sys/fs/cgroup");
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.') continue;
		char p[256];
		snprintf(p, sizeof p, "%s/%s", CG, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(names[n++], 64, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) < 0) die(path);
	close(fd);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0) die(dst);
}

static void drop_caps(void)
{
	/* the default config's three capabilities; everything else leaves the bounding set */
	const uint64_t keep = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);
	int last = 40;
	char buf[16] = {0};
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY);
	if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0) last = atoi(buf);
	if (fd >= 0) close(fd);
	for (int c = 0; c <= last; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) die("PR_CAPBSET_DROP");
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { (uint32_t)keep, (uint32_t)keep, (uint32_t)keep }, { 0, 0, 0 } };
	if (syscall(SYS_capset, &h, d) < 0) die("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
}

/* the container's side: mounts, devices, pivot_root, masked and read-only paths, hostname,
 * rlimit, capabilities; then wait for the parent's go and exec */
static void container(const char *rootfs, const char *name, char names[][64], int n, int go)
{
	char p[512], q[512];
	mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	mnt(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(rootfs) < 0) die("chdir rootfs");
	mnt("proc", "proc", "proc", 0, NULL);
	mnt("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	mkdir("dev/pts", 0755); mkdir("dev/shm", 01777); mkdir("dev/mqueue", 0755);
	mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mnt("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
	mnt("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mnt("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
	/* /sys/fs/cgroup: a tmpfs with each hierarchy's own cgroup bound into it (hybrid), or
	 * cgroup2 mounted in the container's cgroup namespace would need one; runtimes on a v1
	 * host bind the container's directories, so does this */
	mnt("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755");
	for (int i = 0; i < n; i++) {
		if (!names[i][0]) continue;
		snprintf(p, sizeof p, "sys/fs/cgroup/%s", names[i]);
		mkdir(p, 0755);
		snprintf(q, sizeof q, "%s/%s/%s", CG, names[i], name);
		mnt(q, p, NULL, MS_BIND | MS_REC, NULL);
		mnt(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	}
	static const struct { const char *n; unsigned maj, min; } devs[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
	for (unsigned i = 0; i < sizeof devs / sizeof *devs; i++) {
		snprintf(p, sizeof p, "dev/%s", devs[i].n);
		if (mknod(p, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min)) < 0) die(p);
	}
	symlink("/proc/self/fd", "dev/fd"); symlink("/proc/self/fd/0", "dev/stdin");
	symlink("/proc/self/fd/1", "dev/stdout"); symlink("/proc/self/fd/2", "dev/stderr");
	symlink("pts/ptmx", "dev/ptmx");
	if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0) die("umount old root");
	if (chdir("/") < 0) die("chdir /");
	static const char *masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi" };
	for (unsigned i = 0; i < sizeof masked / sizeof *masked; i++) {
		struct stat st;
		if (stat(masked[i], &st) < 0) continue;
		if (S_ISDIR(st.st_mode)) mnt("tmpfs", masked[i], "tmpfs", MS_RDONLY, NULL);
		else mnt("/dev/null", masked[i], NULL, MS_BIND, NULL);
	}
	static const char *ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
	for (unsigned i = 0; i < sizeof ro / sizeof *ro; i++) {
		if (access(ro[i], F_OK) < 0) continue;
		mnt(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL);
		mnt(NULL, ro[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	}
	if (sethostname("runjs", 5) < 0) die("sethostname");
	struct rlimit rl = { 1024, 1024 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
	drop_caps();
	char c;
	if (read(go, &c, 1) != 1) exit(1);
	execl("/bin/true", "true", (char *)NULL);
	die("execve");
}

/* the parent removes the cgroups it made, however it leaves */
static char made[16][600];
static int nmade;
static pid_t child;
static void unmake(void)
{
	if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); }
	while (nmade > 0) rmdir(made[--nmade]);
}

static void copy_file(const char *from, const char *to)
{
	char buf[256] = {0};
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0) die(from);
	close(fd);
	write_file(to, buf);
}

static int run(const char *rootfs, const char *name)
{
	char names[16][64], p[512], q[600];
	int n = hierarchies(names, 16), v2 = -1, pfd[2];
	atexit(unmake);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/%s%s%s", CG, names[i], names[i][0] ? "/" : "", name);
		if (mkdir(p, 0755) < 0) die(p);
		snprintf(made[nmade++], sizeof made[0], "%s", p);
		if (!strcmp(names[i], "cpuset"))  /* a v1 cpuset takes no task until it has cpus and mems */
			for (const char *const *f = (const char *const[]){ "cpuset.cpus", "cpuset.mems", NULL }; *f; f++) {
				snprintf(q, sizeof q, "%s/cpuset/%s", CG, *f);
				char r[700];
				snprintf(r, sizeof r, "%s/%s", p, *f);
				copy_file(q, r);
			}
		if (!strcmp(names[i], "unified") || !names[i][0]) v2 = open(p, O_DIRECTORY | O_CLOEXEC);
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) die("pipe");
	/* born in the cgroup2 directory, as runjs's init is; moved into the v1 ones afterwards */
	struct clone_args ca = { 0 };
	ca.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (v2 >= 0 ? CLONE_INTO_CGROUP : 0);
	ca.exit_signal = SIGCHLD;
	ca.cgroup = v2 >= 0 ? (uint64_t)v2 : 0;
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid < 0) die("clone3");
	if (pid == 0) {
		nmade = 0;
		close(pfd[1]);
		container(rootfs, name, names, n, pfd[0]);
	}
	child = pid;
	close(pfd[0]);
	char pidstr[32];
	snprintf(pidstr, sizeof pidstr, "%ld", pid);
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], "unified") || !names[i][0]) continue;
		snprintf(p, sizeof p, "%s/%s/%s/cgroup.procs", CG, names[i], name);
		write_file(p, pidstr);
	}
	signal(SIGPIPE, SIG_IGN);
	if (write(pfd[1], "g", 1) != 1) fprintf(stderr, "floor: the container did not wait for its go\n");
	int st;
	if (waitpid(pid, &st, 0) < 0) die("waitpid");
	child = 0;
	while (nmade > 0)
		if (rmdir(made[--nmade]) < 0) die(made[nmade]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int exec_in(const char *pidarg)
{
	char p[512], line[1024];
	/* cgroups first (the runtime writes its child's pid; here the process moves itself, which
	 * is the same kernel work), then the namespaces, then a fork to enter the pid namespace */
	snprintf(p, sizeof p, "/proc/%s/cgroup", pidarg);
	FILE *f = fopen(p, "re");
	if (!f) die(p);
	char self[32];
	snprintf(self, sizeof self, "%d", getpid());
	while (fgets(line, sizeof line, f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b) continue;
		*b = 0;
		char *ctl = a + 1, *path = b + 1;
		path[strcspn(path, "\n")] = 0;
		if (!strncmp(ctl, "name=", 5)) ctl += 5;
		const char *dir = *ctl ? ctl : (access("/sys/fs/cgroup/unified", F_OK) == 0 ? "unified" : "");
		snprintf(p, sizeof p, "%s/%s%s/cgroup.procs", CG, dir, path);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) { if (write(fd, self, strlen(self)) < 0) {} close(fd); }
	}
	fclose(f);
	static const char *ns[] = { "ipc", "uts", "net", "pid", "mnt" };
	int fds[5];
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof p, "/proc/%s/ns/%s", pidarg, ns[i]);
		if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) die(p);
	}
	for (int i = 0; i < 5; i++)
		if (setns(fds[i], 0) < 0) die("setns");
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		if (chdir("/") < 0) die("chdir");
		drop_caps();
		execl("/bin/true", "true", (char *)NULL);
		die("execve");
	}
	int st;
	if (waitpid(pid, &st, 0) < 0) die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "hello")) { puts("hello"); return 0; }
	if (argc == 4 && !strcmp(argv[1], "state")) {
		char buf[65536];
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0) die(argv[2]);
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n < 0) die("read");
		printf("{\"alive\":%s,\"bytes\":%zd}\n", kill(atoi(argv[3]), 0) == 0 ? "true" : "false", n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "run")) return run(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "exec")) return exec_in(argv[2]);
	fprintf(stderr, "usage: floor hello | state FILE PID | run ROOTFS NAME | exec PID\n");
	return 2;
}
