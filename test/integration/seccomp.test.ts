// linux.seccomp against the real kernel: the filter compiled by libseccomp in the runtime and
// installed by the init is in force in the container's process.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, newEnv, removeCgroupParent } from "./helpers.ts";
import type { LinuxSeccomp } from "../../src/oci/spec.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const MKDIR_ENOSYS: LinuxSeccomp = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
};

// A writable rootfs, so that mkdir would succeed without the filter (not fail with EROFS).
function env(args: string[], seccomp?: LinuxSeccomp) {
  const e = newEnv(args);
  e.spec.root!.readonly = false;
  if (seccomp) e.spec.linux!.seccomp = seccomp;
  e.write();
  return e;
}

const SCRIPT = "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x; echo rc=$?; touch /tmp/f && echo touch-ok";

test("without linux.seccomp there is no filter and mkdir works", () => {
  const e = env(["sh", "-c", SCRIPT]);
  const r = e.runjs(["run", e.id]);
  expect(r.out).toBe("Seccomp:\t0\nrc=0\ntouch-ok\n");
  expect(r.code).toBe(0);
});

for (const nnp of [true, false]) {
  test(`an errno rule: Seccomp 2, mkdir fails with ENOSYS, the rest works (noNewPrivileges ${nnp})`, () => {
    const e = env(["sh", "-c", SCRIPT], MKDIR_ENOSYS);
    e.spec.process!.noNewPrivileges = nnp;
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.out).toBe("Seccomp:\t2\nrc=1\ntouch-ok\n");
    expect(r.err).toContain("Function not implemented");
    expect(r.code).toBe(0);
    expect(existsSync(join(e.bundle, "rootfs/tmp/x"))).toBe(false);
  });
}

// Profiles older than faccessat2 answer it with their default (EPERM): the check that the
// program is executable must not take that answer for the file's
for (const errnoRet of [1, 38]) {
  test(`faccessat2 refused by the filter (errno ${errnoRet}): the program still runs`, () => {
    const e = env(["/bin/sh", "-c", "echo ran"], {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["faccessat2"], action: "SCMP_ACT_ERRNO", errnoRet }],
    });
    e.spec.process!.noNewPrivileges = false; // the filter goes in before the check
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("ran\n");
    expect(r.code).toBe(0);
  });
}

test("an unknown syscall name is a warning, not an error", () => {
  const e = env(["sh", "-c", "mkdir /tmp/x; echo rc=$?"], {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["no_such_syscall", "mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
  });
  const r = e.runjs(["run", e.id]);
  expect(r.err).toContain('warning: config.json: linux.seccomp.syscalls[0]: syscall "no_such_syscall" is not known to libseccomp');
  expect(r.out).toBe("rc=1\n");
  expect(r.code).toBe(0);
});

// The kernel delivers SIGSYS (31) to a process killed by its filter (with a core dump for
// KILL_PROCESS and for KILL_THREAD of the last thread); run reports it as 128+31.
for (const action of ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"] as const) {
  test(`${action}: the container's process dies of SIGSYS, run exits 159`, () => {
    const e = env(["mkdir", "/tmp/x"], { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action }] });
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(159);
    expect(existsSync(join(e.bundle, "rootfs/tmp/x"))).toBe(false);
  });
}

test("SCMP_ACT_KILL seen from a shell: the child is killed by SIGSYS", () => {
  const e = env(["sh", "-c", "mkdir /tmp/x; echo rc=$?"], { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] });
  const r = e.runjs(["run", e.id]);
  expect(r.out).toBe("rc=159\n");
  expect(r.err).toContain("Bad system call");
  expect(r.code).toBe(0);
});

test("a default-deny allow-list profile (runtime-tools style) runs a shell", () => {
  // The allow-list of runtime-tools' DefaultProfile (generate/seccomp) for amd64 without
  // CAP_SYS_ADMIN; unshare is not on it, so it fails with the default EPERM.
  const allow = (
    "accept accept4 access alarm bind brk capget capset chdir chmod chown chown32 clock_getres clock_gettime " +
    "clock_nanosleep close connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl " +
    "epoll_ctl_old epoll_pwait epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat " +
    "fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 " +
    "fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync " +
    "ftruncate ftruncate64 futex futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 " +
    "getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom " +
    "getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt " +
    "get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 " +
    "inotify_rm_watch io_cancel ioctl io_destroy io_getevents ioprio_get ioprio_set io_setup io_submit ipc kill " +
    "lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat " +
    "lstat64 madvise memfd_create mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect " +
    "mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd msync " +
    "munlock munlockall munmap nanosleep newfstatat _newselect open openat pause pipe pipe2 poll ppoll prctl pread64 " +
    "preadv prlimit64 pselect6 pwrite64 pwritev read readahead readlink readlinkat readv recv recvfrom recvmmsg " +
    "recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rt_sigaction rt_sigpending " +
    "rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity " +
    "sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler " +
    "sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp " +
    "select semctl semget semop semtimedop send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 " +
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 " +
    "setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt " +
    "set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd " +
    "signalfd4 sigreturn socket socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync " +
    "sync_file_range syncfs sysinfo syslog tee tgkill time timer_create timer_delete timerfd_create timerfd_gettime " +
    "timerfd_settime timer_getoverrun timer_gettime timer_settime times tkill truncate truncate64 ugetrlimit umask " +
    "uname unlink unlinkat utime utimensat utimes vfork vmsplice wait4 waitid waitpid write writev"
  ).split(" ");
  const CLONE_NEW = 0x20000 | 0x4000000 | 0x8000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x2000000;
  const e = env(["sh", "-c", "mkdir /tmp/d && echo mkdir-ok; unshare -n true; echo unshare=$?; (true); echo sub=$?"], {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
      { names: allow, action: "SCMP_ACT_ALLOW" },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] },
      { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: CLONE_NEW, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
      { names: ["arch_prctl", "modify_ldt"], action: "SCMP_ACT_ALLOW" },
    ],
  });
  const r = e.runjs(["run", e.id]);
  expect(r.out).toBe("mkdir-ok\nunshare=1\nsub=0\n");
  expect(r.err).toContain("Operation not permitted");
  expect(r.err).not.toContain("warning"); // every name is known to libseccomp
  expect(r.code).toBe(0);
});

// SCMP_ACT_NOTIFY with an agent: test/integration/process-attrs.test.ts.
test("SCMP_ACT_NOTIFY without listenerPath is refused before anything is created", () => {
  const e = env(["true"], { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] });
  const r = e.runjs(["run", e.id]);
  expect(r.err).toBe("runjs: config.json: linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY\n");
  expect(r.code).toBe(1);
  expect(existsSync(join(e.root, e.id))).toBe(false);
});
