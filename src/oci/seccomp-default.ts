// The default seccomp profile: what the front end attaches as linux.seccomp to the containers
// it creates when the user asks for no profile of their own.
//
// What it is for. A container shares the host's kernel, and most container escapes of the
// last decade went through a kernel interface that a containerised program has no business
// using: the key ring, kernel modules, kexec, new namespaces, mounting, BPF, perf, io_uring,
// obsolete socket families. Capabilities already fence most of these off, but not all (the
// key ring and io_uring need no capability at all), and the kernel code that runs before a
// capability check (copying and parsing the arguments) is reachable without it. A seccomp
// filter removes the syscall itself. This profile has the same effect as Docker's default profile (the one every
// `docker run` gets, so it is what images are known to work with): it is an allow-list.
//
// How it works. defaultAction is SCMP_ACT_ERRNO with EPERM: any syscall not listed fails with
// "Operation not permitted", which programs already handle (it is what a missing capability
// gives), rather than killing the process. Then:
//   - a long list of syscalls every ordinary program uses is allowed outright (files, memory,
//     processes, signals, time, sockets, System V and POSIX IPC, ...);
//   - a few are allowed only with some arguments: clone without namespace flags, personality
//     with harmless personas, socket for every address family but AF_ALG and AF_VSOCK;
//   - syscalls that the kernel itself guards with a capability are allowed only when the
//     container's process may hold that capability (`caps`: pass the bounding set), so that a
//     container given CAP_SYS_ADMIN can mount, one given CAP_SYS_TIME can set the clock, etc.;
//   - a few architectures have syscalls of their own (arch_prctl on x86_64, cacheflush on arm)
//     that are allowed only there;
//   - clone3 fails with ENOSYS, not EPERM, without CAP_SYS_ADMIN: its flags are in a struct in
//     memory that seccomp cannot read, so it cannot be filtered like clone; ENOSYS makes libc
//     fall back to clone, which can be.
// What is never allowed, whatever the capabilities, is listed at the end (NEVER_ALLOWED).
//
// The data is kept per purpose, each group with why it is there; `defaultSeccompProfile()`
// assembles the LinuxSeccomp for one architecture and one set of capabilities. Names are
// listed for every architecture (time64 variants for 32-bit ones, socketcall, ...): libseccomp
// places each name on the architectures that have it. Names newer than the host's libseccomp
// cannot be compiled (runjs warns and skips them; the syscall then fails with EPERM, as with
// any other unlisted one): pass `isKnown` to leave them out quietly.

import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall } from "./spec.ts";

const EPERM = 1;
const ENOSYS = 38;

/** The architecture families this profile distinguishes (libseccomp's names, lower case). */
export type SeccompArchFamily =
  | "x86_64"
  | "x86"
  | "x32"
  | "aarch64"
  | "arm"
  | "ppc64le"
  | "ppc64"
  | "s390x"
  | "s390"
  | "riscv64"
  | "mips"
  | "mipsel"
  | "mips64"
  | "mips64n32"
  | "mipsel64"
  | "mipsel64n32"
  | "loongarch64";

export interface DefaultSeccompOptions {
  /**
   * The container's architecture: Node's (`x64`, `arm64`, `ia32`, ...), Go's (`amd64`,
   * `386`, `ppc64le`, ...), libseccomp's (`x86_64`, `aarch64`) or a SCMP_ARCH_* name.
   * Default: this process's.
   */
  arch?: string;
  /**
   * The capabilities the container's process may hold (its bounding set), e.g.
   * ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]. Syscalls guarded by a capability
   * are allowed only when it is in this list. Default: none.
   */
  caps?: readonly string[];
  /** Names for which this returns false are left out (e.g. those the host's libseccomp lacks). */
  isKnown?: (name: string) => boolean;
}

// ---- what every program may do --------------------------------------------------------------

/** One purpose, its syscalls and the conditions under which they are in the profile. */
interface Group {
  names: readonly string[];
  /** Only when the process may hold at least one of these capabilities. */
  caps?: readonly string[];
  /** Left out when the process may hold any of these capabilities (a wider group applies). */
  unlessCaps?: readonly string[];
  /** Only on these architectures. */
  arches?: readonly SeccompArchFamily[];
  /** Not on these architectures. */
  notArches?: readonly SeccompArchFamily[];
  /** Each entry is one rule (all its comparisons must hold); absent: unconditional. */
  args?: readonly (readonly LinuxSeccompArg[])[];
  /** Absent: allow. A number: fail with this errno. */
  errno?: number;
}

const w = (s: string): string[] => s.trim().split(/\s+/);

const ALWAYS: readonly Group[] = [
  // Files and directories: open, read, write, seek, stat, create, rename, link, remove, change
  // mode, owner and times. Permission checks are the kernel's (and the mount's, for a
  // read-only rootfs); nothing here reaches beyond the container's mount namespace.
  // fchmodat2, cachestat, statmount and listmount are Linux 6.5-6.8 additions of the same kind
  // (statmount/listmount only show mounts of the caller's own namespace).
  {
    names: w(`
      open openat openat2 creat close close_range access faccessat faccessat2
      read readv pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2
      lseek _llseek dup dup2 dup3 fcntl fcntl64 flock
      fsync fdatasync sync syncfs sync_file_range
      truncate truncate64 ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 readahead
      sendfile sendfile64 copy_file_range splice tee vmsplice
      stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx
      statfs statfs64 fstatfs fstatfs64 getdents getdents64
      getcwd chdir fchdir umask
      mkdir mkdirat mknod mknodat rmdir rename renameat renameat2
      link linkat symlink symlinkat unlink unlinkat readlink readlinkat
      chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32 fchownat lchown lchown32
      utime utimes utimensat utimensat_time64 futimesat
      name_to_handle_at cachestat statmount listmount
    `),
  },
  // Extended attributes (the *xattrat variants arrived in Linux 6.13). Writing security.* and
  // trusted.* ones is guarded by capabilities in the kernel.
  {
    names: w(`
      getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat
      listxattr llistxattr flistxattr listxattrat removexattr lremovexattr fremovexattr removexattrat
    `),
  },
  // Waiting for events: poll/select/epoll, inotify, fanotify marks (creating a fanotify group
  // needs CAP_SYS_ADMIN, see below), eventfd, signalfd, timerfd.
  {
    names: w(`
      poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
      epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
      inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
      eventfd eventfd2 signalfd signalfd4
      timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64
    `),
  },
  // Linux AIO (io_setup & co.) and ioctl. ioctl is wide, but what it may do is decided by the
  // driver of each file, and the container only has the devices it was given.
  { names: w(`io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 ioctl`) },
  // Memory: mapping, protection, locking (bounded by RLIMIT_MEMLOCK), protection keys, shadow
  // stacks, sealing, membarrier. move_pages, mbind and the mempolicy calls are not here: they
  // act on NUMA placement, which is the host's business (CAP_SYS_NICE, below).
  {
    names: w(`
      brk mmap mmap2 munmap mremap mprotect madvise mincore msync remap_file_pages
      mlock mlock2 munlock mlockall munlockall membarrier
      pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal
    `),
  },
  // Processes and threads: fork/vfork (clone is conditional, below), exec, exit, wait, signals
  // to processes the container can see, pidfds, sessions and groups, futexes, rseq, robust
  // lists, TLS, resource limits and usage, priorities, CPU affinity and scheduling policy (the
  // kernel checks CAP_SYS_NICE for anything above the caller's own), prctl (its dangerous
  // options are capability-checked), seccomp (a filter can only be added, never removed).
  {
    names: w(`
      fork vfork execve execveat exit exit_group wait4 waitid waitpid restart_syscall
      kill tkill tgkill pidfd_open pidfd_send_signal process_mrelease
      getpid getppid gettid set_tid_address getpgid setpgid getpgrp getsid setsid
      futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue
      set_robust_list get_robust_list rseq get_thread_area set_thread_area
      capget capset prctl seccomp
      getrlimit setrlimit ugetrlimit prlimit64 getrusage times
      getpriority setpriority ioprio_get ioprio_set getcpu
      sched_yield sched_getaffinity sched_setaffinity sched_getparam sched_setparam
      sched_getscheduler sched_setscheduler sched_getattr sched_setattr
      sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64
      uname sysinfo getrandom uretprobe riscv_hwprobe
    `),
  },
  // User and group ids: the kernel checks CAP_SETUID/CAP_SETGID for any change that matters.
  {
    names: w(`
      getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32
      getresuid getresuid32 getresgid getresgid32 getgroups getgroups32
      setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32
      setresuid setresuid32 setresgid setresgid32 setgroups setgroups32
      setfsuid setfsuid32 setfsgid setfsgid32
    `),
  },
  // Signal handling of the caller itself.
  {
    names: w(`
      rt_sigaction rt_sigprocmask sigprocmask rt_sigpending rt_sigsuspend rt_sigtimedwait
      rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn sigreturn sigaltstack
      pause alarm
    `),
  },
  // Clocks and timers. adjtimex and clock_adjtime only read the clock without CAP_SYS_TIME;
  // setting it (settimeofday, clock_settime) is in the CAP_SYS_TIME group below, because the
  // clock is not namespaced (time namespaces only offset monotonic and boot time).
  {
    names: w(`
      time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
      clock_nanosleep clock_nanosleep_time64 nanosleep getitimer setitimer
      timer_create timer_delete timer_settime timer_settime64 timer_gettime timer_gettime64 timer_getoverrun
      adjtimex clock_adjtime clock_adjtime64
    `),
  },
  // Pipes, System V IPC (ipc is the 32-bit multiplexer), POSIX message queues and memfds:
  // all confined by the container's IPC namespace or its own fds. memfd_secret only hides the
  // caller's own memory from the kernel.
  {
    names: w(`
      pipe pipe2 ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl
      shmget shmat shmdt shmctl
      mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64
      mq_notify mq_getsetattr memfd_create memfd_secret
    `),
  },
  // Sockets, once made (socket itself is conditional, below): in the container's network
  // namespace. socketcall is the 32-bit multiplexer; seccomp cannot see the family it passes
  // in memory, so on 32-bit x86 the AF_ALG/AF_VSOCK rule below does not apply (as in Docker).
  {
    names: w(`
      socketpair socketcall bind connect listen accept accept4 getsockname getpeername
      getsockopt setsockopt shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg
      recvmmsg recvmmsg_time64
    `),
  },
  // Landlock: an unprivileged process sandboxing itself further.
  { names: w(`landlock_create_ruleset landlock_add_rule landlock_restrict_self`) },
  // Tracing and reading the memory of processes the container can already see (same uid,
  // ptrace access checks). Before Linux 4.8 a traced process could skip seccomp altogether,
  // which is why Docker allows these only from 4.8; runjs needs 5.6 (openat2) anyway.
  { names: w(`ptrace process_vm_readv process_vm_writev`) },
];

// ---- allowed only with some arguments --------------------------------------------------------

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
/** Every namespace flag clone(2) takes (CLONE_NEWTIME exists only for clone3 and unshare). */
export const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** No namespace flag set in argument `index`: (arg & CLONE_NAMESPACE_FLAGS) == 0. */
const noNamespaces = (index: number): LinuxSeccompArg[] => [
  { index, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" },
];

const PER_LINUX = 0x0000;
const PER_LINUX32 = 0x0008;
const UNAME26 = 0x0020000;
const PERSONALITY_QUERY = 0xffffffff;

/**
 * The 32-bit values in the given [from, to) ranges as aligned power-of-two blocks, each one
 * MASKED_EQ comparison: (arg & mask) == value, with mask < 2^32 so the high word is ignored.
 */
export function lowWordBlocks(ranges: readonly (readonly [number, number])[]): Omit<LinuxSeccompArg, "index">[] {
  const out: Omit<LinuxSeccompArg, "index">[] = [];
  for (let [from, to] of ranges) {
    while (from < to) {
      // the largest block that starts at `from` (aligned) and fits before `to`
      let size = 1;
      while (from % (size * 2) === 0 && from + size * 2 <= to) size *= 2;
      out.push({ value: 0xffffffff - (size - 1), valueTwo: from, op: "SCMP_CMP_MASKED_EQ" });
      from += size;
    }
  }
  return out;
}

const AF_ALG = 38;
const AF_VSOCK = 40;

const CONDITIONAL: readonly Group[] = [
  // clone creates threads and processes, and also namespaces: a new user namespace hands
  // its creator every capability inside it, and with them kernel code (mounting filesystems,
  // netfilter, ...) that was never meant for unprivileged users and has a long record of
  // exploitable bugs. Without CAP_SYS_ADMIN, clone is allowed only without namespace flags.
  // On s390 the flags are the second argument.
  { names: ["clone"], args: [noNamespaces(0)], unlessCaps: ["CAP_SYS_ADMIN"], notArches: ["s390", "s390x"] },
  { names: ["clone"], args: [noNamespaces(1)], unlessCaps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"] },
  // clone3 passes its flags in memory, out of seccomp's sight: refuse it with ENOSYS, so that
  // libc thinks the kernel is old and uses clone, filtered above.
  { names: ["clone3"], errno: ENOSYS, unlessCaps: ["CAP_SYS_ADMIN"] },
  // personality: the Linux persona, 32-bit (linux32, setarch i686), the 2.6-style uname
  // (UNAME26) and the query. Anything else is refused, notably ADDR_NO_RANDOMIZE (turning
  // off ASLR, which makes exploiting a memory bug far easier) and READ_IMPLIES_EXEC.
  {
    names: ["personality"],
    args: [PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, PERSONALITY_QUERY].map((v) => [{ index: 0, value: v, op: "SCMP_CMP_EQ" as const }]),
  },
  // socket: every address family except AF_ALG (38: the kernel's crypto API, whose AEAD code
  // gave an unprivileged page-cache write, CVE-2026-31431) and AF_VSOCK (40: talks to the
  // hypervisor or to VMs on the host, across the network namespace). Families without a
  // module, or that need CAP_NET_RAW (AF_PACKET), are refused by the kernel itself.
  // The family is an int: the kernel looks at the low 32 bits of the register only. A plain
  // "arg0 > 40" (as Docker writes it) compares all 64 and lets 0x1_00000028, which the kernel
  // reads as AF_VSOCK, through; so the allowed low words are spelled as aligned blocks, each
  // a MASKED_EQ that ignores the high word.
  {
    names: ["socket"],
    args: lowWordBlocks([[0, AF_ALG], [AF_ALG + 1, AF_VSOCK], [AF_VSOCK + 1, 2 ** 32]]).map((b) => [{ index: 0, ...b }]),
  },
];


// ---- architecture-specific --------------------------------------------------------------------

const ARCH_SPECIFIC: readonly Group[] = [
  // x86: the FS/GS base registers (TLS) of 64-bit code, and the LDT that 16-bit code and some
  // emulators (Wine) need.
  { names: ["arch_prctl"], arches: ["x86_64", "x32"] },
  { names: ["modify_ldt"], arches: ["x86_64", "x32", "x86"] },
  // arm: TLS, cache flushing for JITs, the breakpoint trap, and arm's argument orders.
  { names: w(`arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls`), arches: ["arm", "aarch64"] },
  // powerpc: sync_file_range2 and user context switching.
  { names: w(`sync_file_range2 swapcontext`), arches: ["ppc64le"] },
  // s390: PCI MMIO for user-space drivers of the container's own devices, runtime
  // instrumentation.
  { names: w(`s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr`), arches: ["s390", "s390x"] },
  // riscv: the instruction cache flush JITs need.
  { names: ["riscv_flush_icache"], arches: ["riscv64"] },
];

// ---- allowed with a capability ----------------------------------------------------------------
//
// The kernel checks these capabilities itself; the filter leaves the syscalls out when the
// container cannot hold them, so the kernel code behind them (argument parsing included) is
// not reachable at all.

const WITH_CAPS: readonly Group[] = [
  // open_by_handle_at opens any inode of a filesystem by its handle, whatever the path or
  // mount: the "shocker" escape read the host's /etc/shadow through a bind-mounted file.
  { names: ["open_by_handle_at"], caps: ["CAP_DAC_READ_SEARCH"] },
  // Mounting, namespaces, BPF, perf, quotas, hostname, the kernel log, fanotify groups, LSM
  // attributes: the power CAP_SYS_ADMIN stands for. With it, clone and clone3 are free.
  {
    names: w(`
      mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig fsmount fspick
      unshare setns clone clone3
      bpf perf_event_open fanotify_init lookup_dcookie quotactl quotactl_fd
      sethostname setdomainname syslog
      lsm_get_self_attr lsm_set_self_attr lsm_list_modules
    `),
    caps: ["CAP_SYS_ADMIN"],
  },
  // reboot: in a pid namespace it only ends the container, but the command set also includes
  // things like disabling Ctrl-Alt-Del. kexec is never allowed (NEVER_ALLOWED).
  { names: ["reboot"], caps: ["CAP_SYS_BOOT"] },
  { names: ["chroot"], caps: ["CAP_SYS_CHROOT"] },
  // Loading code into the host's kernel.
  { names: w(`init_module finit_module delete_module`), caps: ["CAP_SYS_MODULE"] },
  // Process accounting is host-wide.
  { names: ["acct"], caps: ["CAP_SYS_PACCT"] },
  // Inspecting other processes' fds and memory beyond what plain ptrace allows.
  { names: w(`kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace`), caps: ["CAP_SYS_PTRACE"] },
  // Raw I/O ports.
  { names: w(`iopl ioperm`), caps: ["CAP_SYS_RAWIO"] },
  // Setting the host's clock.
  { names: w(`settimeofday stime clock_settime clock_settime64`), caps: ["CAP_SYS_TIME"] },
  { names: ["vhangup"], caps: ["CAP_SYS_TTY_CONFIG"] },
  // NUMA memory placement.
  { names: w(`get_mempolicy set_mempolicy mbind set_mempolicy_home_node`), caps: ["CAP_SYS_NICE"] },
  // The kernel log (also allowed with CAP_SYS_ADMIN, above).
  { names: ["syslog"], caps: ["CAP_SYSLOG"] },
  { names: ["bpf"], caps: ["CAP_BPF"] },
  { names: ["perf_event_open"], caps: ["CAP_PERFMON"] },
];

/**
 * Syscalls the profile never allows, for documentation and tests (a syscall not in any group
 * is refused anyway; this is the list of the ones that matter, and why):
 */
export const NEVER_ALLOWED: Readonly<Record<string, string>> = Object.freeze({
  add_key: "the kernel key ring is not namespaced: keys of other containers and of the host",
  keyctl: "the kernel key ring is not namespaced",
  request_key: "the kernel key ring is not namespaced",
  kexec_load: "replaces the running kernel",
  kexec_file_load: "replaces the running kernel",
  swapon: "swap is host-wide",
  swapoff: "swap is host-wide",
  pivot_root: "only the runtime changes the container's root",
  userfaultfd: "lets a process stall the kernel on a page fault: the classic way to win kernel races",
  io_uring_setup: "io_uring performs I/O and network operations that seccomp never sees, and has a long record of kernel exploits",
  io_uring_enter: "io_uring performs I/O and network operations that seccomp never sees",
  io_uring_register: "io_uring performs I/O and network operations that seccomp never sees",
  move_pages: "NUMA placement of memory is the host's business; it once told anyone another process's memory layout (CVE-2017-14140)",
  nfsservctl: "the kernel NFS server (removed in Linux 3.1)",
  _sysctl: "the obsolete binary sysctl interface",
  sysfs: "obsolete filesystem-type query",
  uselib: "obsolete a.out loader with a history of bugs",
  ustat: "obsolete",
  vm86: "virtual 8086 mode, obsolete, with a history of bugs",
  vm86old: "virtual 8086 mode, obsolete",
  create_module: "obsolete module interface",
  get_kernel_syms: "obsolete module interface",
  query_module: "obsolete module interface",
});

// ---- architectures ----------------------------------------------------------------------------

/** The audit architectures in the filter: the native one and those it can also run. */
const ARCHITECTURES: Readonly<Record<SeccompArchFamily, readonly string[]>> = {
  // 64-bit x86 runs i386 and x32 binaries too: each needs its own syscall numbers in the
  // filter, or their syscalls would hit the bad-architecture action.
  x86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  x32: ["SCMP_ARCH_X32", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  x86: ["SCMP_ARCH_X86"],
  aarch64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  arm: ["SCMP_ARCH_ARM"],
  ppc64le: ["SCMP_ARCH_PPC64LE"],
  ppc64: ["SCMP_ARCH_PPC64"],
  s390x: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
  s390: ["SCMP_ARCH_S390"],
  riscv64: ["SCMP_ARCH_RISCV64"],
  mips: ["SCMP_ARCH_MIPS"],
  mipsel: ["SCMP_ARCH_MIPSEL"],
  mips64: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
  mips64n32: ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
  mipsel64: ["SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
  mipsel64n32: ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
  loongarch64: ["SCMP_ARCH_LOONGARCH64"],
};

const ARCH_ALIASES: Readonly<Record<string, SeccompArchFamily>> = {
  // Node's process.arch
  x64: "x86_64",
  ia32: "x86",
  arm64: "aarch64",
  loong64: "loongarch64",
  mips64el: "mipsel64",
  // Go's GOARCH
  amd64: "x86_64",
  "386": "x86",
  mips64le: "mipsel64",
  mipsle: "mipsel",
  // uname -m
  i386: "x86",
  i686: "x86",
  armv7l: "arm",
};

/** The family of an architecture name in any of the usual spellings; throws if unknown. */
export function seccompArchFamily(arch: string): SeccompArchFamily {
  let a = arch.toLowerCase();
  if (a.startsWith("scmp_arch_")) a = a.slice("scmp_arch_".length);
  if (a === "ppc64" && arch === process.arch) a = nativeEndianLE() ? "ppc64le" : "ppc64"; // Node says ppc64 for both
  const f = ARCH_ALIASES[a] ?? (Object.hasOwn(ARCHITECTURES, a) ? (a as SeccompArchFamily) : undefined);
  if (!f) throw new Error(`default seccomp profile: unknown architecture ${JSON.stringify(arch)}`);
  return f;
}

function nativeEndianLE(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

// ---- assembly ---------------------------------------------------------------------------------

function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith("CAP_") ? u : `CAP_${u}`;
}

/**
 * The default profile for one architecture and capability set. Deterministic: the same
 * options give the same profile, rules in the order of the groups above.
 *
 * `defaultSeccompProfile("arm64")` is short for `defaultSeccompProfile({ arch: "arm64" })`.
 */
export function defaultSeccompProfile(opts: string | DefaultSeccompOptions = {}): LinuxSeccomp {
  const o: DefaultSeccompOptions = typeof opts === "string" ? { arch: opts } : opts;
  const family = seccompArchFamily(o.arch ?? process.arch);
  const caps = new Set((o.caps ?? []).map(capName));
  const known = o.isKnown ?? (() => true);

  const applies = (g: Group): boolean =>
    (!g.caps || g.caps.some((c) => caps.has(c))) &&
    !(g.unlessCaps ?? []).some((c) => caps.has(c)) &&
    (!g.arches || g.arches.includes(family)) &&
    !(g.notArches ?? []).includes(family);

  const syscalls: LinuxSyscall[] = [];
  for (const g of [...ALWAYS, ...CONDITIONAL, ...ARCH_SPECIFIC, ...WITH_CAPS]) {
    if (!applies(g)) continue;
    const names = g.names.filter(known);
    if (names.length === 0) continue;
    const action = g.errno === undefined ? ("SCMP_ACT_ALLOW" as const) : ("SCMP_ACT_ERRNO" as const);
    const base = (): LinuxSyscall => ({ names: [...names], action, ...(g.errno !== undefined ? { errnoRet: g.errno } : {}) });
    if (!g.args) syscalls.push(base());
    else for (const a of g.args) syscalls.push({ ...base(), args: a.map((x) => ({ ...x })) });
  }

  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    architectures: [...ARCHITECTURES[family]],
    syscalls,
  };
}
