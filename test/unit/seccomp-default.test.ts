// The default seccomp profile (src/oci/seccomp-default.ts): its shape, that it compiles with
// this host's libseccomp, and what the compiled BPF decides, syscall by syscall. No root
// needed: the program is run here by a small classic-BPF interpreter on a made-up
// struct seccomp_data, never installed.
import { describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import { CLONE_NAMESPACE_FLAGS, defaultSeccompProfile, lowWordBlocks, NEVER_ALLOWED, seccompArchFamily } from "../../src/oci/seccomp-default.ts";
import { compileSeccomp } from "../../src/plan/seccomp.ts";
import { validateSpec } from "../../src/oci/validate.ts";
import { defaultSpec } from "../../src/oci/defaults.ts";
import { CAPABILITY_NAMES } from "../../src/oci/capabilities.ts";
import type { LinuxSeccomp } from "../../src/oci/spec.ts";
import * as scmp from "../../src/sys/libseccomp.ts";
import { decodeBpf, type Insn } from "./fixtures.ts";

// ---- a classic BPF interpreter (linux/filter.h), enough for any seccomp program ---------------

const decode = decodeBpf;

/** struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; } */
function seccompData(nr: number, arch: number, args: readonly (number | bigint)[] = []): DataView {
  const dv = new DataView(new ArrayBuffer(64));
  dv.setUint32(0, nr >>> 0, true);
  dv.setUint32(4, arch >>> 0, true);
  args.forEach((a, i) => dv.setBigUint64(16 + 8 * i, BigInt(a), true));
  return dv;
}

/** Run the program on the data; the 32-bit return value. Throws on anything malformed. */
function run(prog: Insn[], data: DataView): number {
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  for (let pc = 0, steps = 0; pc < prog.length && steps < 100000; pc++, steps++) {
    const { code, jt, jf, k } = prog[pc]!;
    const cls = code & 0x07;
    const src = code & 0x08 ? X : k;
    switch (cls) {
      case 0x00: // LD
      case 0x01: {
        // LDX
        const mode = code & 0xe0;
        let v: number;
        if (mode === 0x00) v = k; // IMM
        else if (mode === 0x20) {
          if ((code & 0x18) !== 0x00 || k + 4 > 64 || k % 4) throw new Error(`bad load at ${pc}`);
          v = data.getUint32(k, true); // ABS, W
        } else if (mode === 0x60) v = M[k & 15]!; // MEM
        else if (mode === 0x80) v = 64; // LEN
        else throw new Error(`unsupported load mode ${code.toString(16)} at ${pc}`);
        if (cls === 0x00) A = v >>> 0;
        else X = v >>> 0;
        break;
      }
      case 0x02:
        M[k & 15] = A;
        break;
      case 0x03:
        M[k & 15] = X;
        break;
      case 0x04: {
        // ALU
        const op = code & 0xf0;
        const b = src >>> 0;
        const r =
          op === 0x00 ? A + b : op === 0x10 ? A - b : op === 0x20 ? Math.imul(A, b) : op === 0x30 ? Math.floor(A / b)
          : op === 0x40 ? A | b : op === 0x50 ? A & b : op === 0x60 ? A << b : op === 0x70 ? A >>> b
          : op === 0x80 ? -A : op === 0x90 ? A % b : op === 0xa0 ? A ^ b : NaN;
        if (Number.isNaN(r)) throw new Error(`unsupported alu ${code.toString(16)} at ${pc}`);
        A = r >>> 0;
        break;
      }
      case 0x05: {
        // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const b = src >>> 0;
        const c = op === 0x10 ? A === b : op === 0x20 ? A > b : op === 0x30 ? A >= b : op === 0x40 ? (A & b) !== 0 : null;
        if (c === null) throw new Error(`unsupported jump ${code.toString(16)} at ${pc}`);
        pc += c ? jt : jf;
        break;
      }
      case 0x06:
        return (code & 0x18) === 0x10 ? A : k; // RET A / RET K
      case 0x07:
        if (code & 0x80) A = X; // TXA
        else X = A; // TAX
        break;
    }
  }
  throw new Error("program fell off the end");
}

// ---- architectures and syscall numbers, from libseccomp itself --------------------------------

const lib = dlopen(scmp.LIBSECCOMP, {
  seccomp_syscall_resolve_name_arch: { args: [FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
}).symbols;

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const SCMP_ARCH_X32 = 0x4000003e; // libseccomp's token; x32 syscalls run under AUDIT_ARCH_X86_64
const X32_SYSCALL_BIT = 0x40000000;

/** The syscall number of `name` on libseccomp's architecture token, or -1. */
function nr(name: string, arch = scmp.archNative()): number {
  return lib.seccomp_syscall_resolve_name_arch(arch >>> 0, Buffer.from(name + "\0"));
}

const EPERM_RET = scmp.SCMP_ACT.ERRNO(1);
const ENOSYS_RET = scmp.SCMP_ACT.ERRNO(38);
const ALLOW = scmp.SCMP_ACT.ALLOW;

const onX86_64 = scmp.archNative() === AUDIT_ARCH_X86_64;

function compile(s: LinuxSeccomp) {
  const warnings: string[] = [];
  const r = compileSeccomp(s, (m) => warnings.push(m));
  return { prog: decode(r.bpf), warnings, flags: r.flags, size: r.bpf.length / 8 };
}

/** The compiled default profile, as a function: (syscall name, args, arch token) → action. */
function decider(caps: string[] = []) {
  const { prog } = compile(defaultSeccompProfile({ caps, isKnown: (n) => scmp.syscallResolveName(n) !== scmp.NR_SCMP_ERROR }));
  return (name: string, args: (number | bigint)[] = [], arch = scmp.archNative()) => {
    const n = nr(name, arch);
    if (n < 0) throw new Error(`${name} has no number on arch ${arch.toString(16)}`);
    const audit = arch === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
    return run(prog, seccompData(n, audit, args));
  };
}

// Every capability whose name the profile's capability groups mention.
const ALL_CAPS = [...CAPABILITY_NAMES];

// Names in the profile that libseccomp 2.5.4 (Debian 12) does not know: all newer than it.
const UNKNOWN_TO_2_5_4 = [
  "statmount", "listmount", "getxattrat", "setxattrat", "listxattrat", "removexattrat", "mseal", "uretprobe", "riscv_hwprobe",
];
const UNKNOWN_TO_2_5_4_ADMIN = ["lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules"];

// ---- the profile as data --------------------------------------------------------------------

describe("defaultSeccompProfile: shape", () => {
  test("an allow-list: default EPERM, the native architecture and the ones it also runs", () => {
    const p = defaultSeccompProfile("x64");
    expect(p.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(defaultSeccompProfile("arm64").architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(defaultSeccompProfile({ arch: "s390x" }).architectures).toEqual(["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]);
    expect(defaultSeccompProfile({ arch: "SCMP_ARCH_RISCV64" }).architectures).toEqual(["SCMP_ARCH_RISCV64"]);
    const allowed = p.syscalls!.filter((s) => s.action === "SCMP_ACT_ALLOW" && !s.args).flatMap((s) => s.names);
    expect(allowed.length).toBeGreaterThan(300);
    for (const n of ["read", "write", "openat", "execve", "exit_group", "mmap", "futex", "arch_prctl"]) expect(allowed).toContain(n);
    // no name twice in the unconditional allow list
    expect(new Set(allowed).size).toBe(allowed.length);
  });

  test("architecture names in Node's, Go's, uname's and libseccomp's spellings", () => {
    const spellings = [
      ["x64", "x86_64"], ["amd64", "x86_64"], ["SCMP_ARCH_X86_64", "x86_64"], ["ia32", "x86"], ["386", "x86"],
      ["arm64", "aarch64"], ["aarch64", "aarch64"], ["ppc64le", "ppc64le"], ["loong64", "loongarch64"], ["mips64el", "mipsel64"],
    ] as const;
    for (const [a, f] of spellings) expect(seccompArchFamily(a)).toBe(f);
    expect(() => defaultSeccompProfile("pdp11")).toThrow('unknown architecture "pdp11"');
    // the default is this process's architecture
    expect(defaultSeccompProfile()).toEqual(defaultSeccompProfile(process.arch));
  });

  test("architecture-specific syscalls only where they exist", () => {
    const names = (arch: string) => defaultSeccompProfile(arch).syscalls!.flatMap((s) => s.names);
    expect(names("x64")).toContain("arch_prctl");
    expect(names("x64")).toContain("modify_ldt");
    expect(names("x64")).not.toContain("cacheflush");
    expect(names("ia32")).not.toContain("arch_prctl");
    expect(names("ia32")).toContain("modify_ldt");
    expect(names("arm64")).toContain("cacheflush");
    expect(names("arm64")).not.toContain("arch_prctl");
    expect(names("s390x")).toContain("s390_runtime_instr");
    expect(names("riscv64")).toContain("riscv_flush_icache");
    // clone's flags are argument 0, except on s390 where they are argument 1
    const cloneArgs = (arch: string) => defaultSeccompProfile(arch).syscalls!.filter((s) => s.names.includes("clone")).map((s) => s.args);
    expect(cloneArgs("x64")).toEqual([[{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }]]);
    expect(cloneArgs("s390x")).toEqual([[{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }]]);
    expect(CLONE_NAMESPACE_FLAGS).toBe(0x7e020000);
  });

  test("capability groups: added with the capability, clone unconditional with CAP_SYS_ADMIN", () => {
    const names = (caps: string[]) => new Set(defaultSeccompProfile({ arch: "x64", caps }).syscalls!.filter((s) => s.action === "SCMP_ACT_ALLOW" && !s.args).flatMap((s) => s.names));
    const none = names([]);
    const admin = names(["CAP_SYS_ADMIN"]);
    for (const n of ["mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf", "perf_event_open", "sethostname", "fsopen", "open_tree", "syslog"]) {
      expect(none.has(n)).toBe(false);
      expect(admin.has(n)).toBe(true);
    }
    // with CAP_SYS_ADMIN the conditional clone rule and the clone3 ENOSYS rule are gone
    const adminRules = defaultSeccompProfile({ arch: "x64", caps: ["CAP_SYS_ADMIN"] }).syscalls!;
    expect(adminRules.filter((s) => s.names.includes("clone")).every((s) => !s.args)).toBe(true);
    expect(adminRules.some((s) => s.action === "SCMP_ACT_ERRNO")).toBe(false);
    // each group comes with its capability only ("SYS_TIME" without the prefix works too)
    const groups = [
      ["CAP_SYS_TIME", "clock_settime"], ["SYS_TIME", "settimeofday"], ["CAP_SYS_BOOT", "reboot"], ["CAP_SYS_MODULE", "finit_module"],
      ["CAP_SYS_CHROOT", "chroot"], ["CAP_SYS_PTRACE", "kcmp"], ["CAP_DAC_READ_SEARCH", "open_by_handle_at"], ["CAP_SYS_PACCT", "acct"],
      ["CAP_SYS_RAWIO", "iopl"], ["CAP_SYS_NICE", "mbind"], ["CAP_SYSLOG", "syslog"], ["CAP_BPF", "bpf"], ["CAP_PERFMON", "perf_event_open"],
      ["CAP_SYS_TTY_CONFIG", "vhangup"],
    ] as const;
    for (const [cap, n] of groups) {
      expect(none.has(n)).toBe(false);
      expect(names([cap]).has(n)).toBe(true);
    }
    // runc's default capabilities add nothing
    expect(names(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])).toEqual(none);
  });

  test("NEVER_ALLOWED names are in no rule, whatever the capabilities", () => {
    for (const arch of ["x64", "arm64", "s390x", "ia32"]) {
      const p = defaultSeccompProfile({ arch, caps: ALL_CAPS });
      const listed = new Set(p.syscalls!.flatMap((s) => s.names));
      for (const n of Object.keys(NEVER_ALLOWED)) expect(listed.has(n)).toBe(false);
    }
  });

  test("deterministic, a fresh object each time, and valid in config.json", () => {
    const a = defaultSeccompProfile({ arch: "x64", caps: ["CAP_SYS_ADMIN"] });
    const b = defaultSeccompProfile({ arch: "x64", caps: ["CAP_SYS_ADMIN"] });
    expect(a).toEqual(b);
    a.syscalls![0]!.names.push("mutated");
    expect(b.syscalls![0]!.names).not.toContain("mutated");
    expect(defaultSeccompProfile("x64").syscalls![0]!.names).not.toContain("mutated");
    const spec: any = defaultSpec();
    spec.linux.seccomp = defaultSeccompProfile();
    expect(() => validateSpec(JSON.parse(JSON.stringify(spec)), { bundle: "/run/bundle" })).not.toThrow();
  });

  test("isKnown leaves names out", () => {
    const p = defaultSeccompProfile({ arch: "x64", isKnown: (n) => n !== "read" && n !== "personality" });
    const names = p.syscalls!.flatMap((s) => s.names);
    expect(names).not.toContain("read");
    expect(names).not.toContain("personality"); // its rules go altogether
    expect(names).toContain("write");
  });

  test("lowWordBlocks covers exactly the ranges with aligned masks below 2^32", () => {
    const blocks = lowWordBlocks([[0, 38], [39, 40], [41, 2 ** 32]]);
    const covers = (v: number) => blocks.filter((b) => ((v & b.value) >>> 0) === b.valueTwo).length;
    for (let v = 0; v < 300; v++) expect(covers(v)).toBe(v === 38 || v === 40 ? 0 : 1);
    for (const v of [0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) expect(covers(v)).toBe(1);
    for (const b of blocks) {
      expect(b.value).toBeLessThanOrEqual(0xffffffff);
      expect(((b.valueTwo! & b.value) >>> 0) === b.valueTwo).toBe(true);
    }
    expect(blocks.length).toBe(34);
  });
});

// ---- compiled with this host's libseccomp ---------------------------------------------------

describe("defaultSeccompProfile: compiled", () => {
  const unknownIn = (p: LinuxSeccomp) => [...new Set(p.syscalls!.flatMap((s) => s.names))].filter((n) => scmp.syscallResolveName(n) === scmp.NR_SCMP_ERROR);

  test("compiles; the only warnings name syscalls this libseccomp does not know", () => {
    for (const caps of [[], ALL_CAPS]) {
      const p = defaultSeccompProfile({ caps });
      const r = compile(p);
      const warned = r.warnings.map((m) => {
        const match = m.match(/^config\.json: linux\.seccomp\.syscalls\[\d+\]: syscall "([a-z0-9_]+)" is not known to libseccomp [\d.]+: skipped$/);
        expect(match).not.toBeNull();
        return match![1]!;
      });
      expect(warned.sort()).toEqual(unknownIn(p).sort());
      expect(r.size).toBeLessThan(4096);
      expect(r.flags).toBe(4); // no flags field: SPEC_ALLOW, as runc
      if (scmp.version() === "2.5.4" && onX86_64)
        expect(warned.sort()).toEqual([...UNKNOWN_TO_2_5_4, ...(caps.length ? UNKNOWN_TO_2_5_4_ADMIN : [])].sort());
    }
  });

  test("with isKnown from libseccomp: no warnings at all", () => {
    const isKnown = (n: string) => scmp.syscallResolveName(n) !== scmp.NR_SCMP_ERROR;
    for (const caps of [[], ["CAP_SYS_ADMIN"], ALL_CAPS]) expect(compile(defaultSeccompProfile({ caps, isKnown })).warnings).toEqual([]);
  });

  test("the default container: denies what Docker's profile denies, with EPERM", () => {
    const d = decider(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    const denied = [
      "mount", "umount2", "reboot", "kexec_load", "kexec_file_load", "unshare", "setns", "pivot_root", "chroot",
      "add_key", "keyctl", "request_key", "swapon", "swapoff", "init_module", "finit_module", "delete_module",
      "bpf", "perf_event_open", "open_by_handle_at", "userfaultfd", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "acct", "settimeofday", "clock_settime", "syslog", "sethostname", "quotactl", "fsopen",
      "move_mount", "open_tree", "fanotify_init", "kcmp", "iopl", "ioperm", "mbind", "move_pages", "vhangup",
      "pidfd_getfd", "process_madvise",
    ];
    for (const n of denied) expect([n, d(n)]).toEqual([n, EPERM_RET]);
    const allowed = [
      "read", "write", "openat", "close", "execve", "exit_group", "mmap", "brk", "futex", "fork", "vfork", "wait4",
      "rt_sigaction", "getpid", "arch_prctl", "nanosleep", "clock_gettime", "pipe2", "dup2", "fcntl", "ioctl",
      "getdents64", "newfstatat", "statx", "mkdirat", "bind", "connect", "sendto", "recvfrom", "ptrace",
      "process_vm_readv", "setuid", "capset", "prctl", "seccomp", "memfd_create", "landlock_create_ruleset",
      "sched_setaffinity", "adjtimex", "name_to_handle_at",
    ];
    for (const n of allowed) expect([n, d(n)]).toEqual([n, ALLOW]);
  });

  test("clone: threads and processes yes, namespaces no; clone3 says ENOSYS", () => {
    const d = decider();
    const SIGCHLD = 17;
    const THREAD = 0x3d0f00; // glibc's pthread_create flags (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID)
    expect(d("clone", [SIGCHLD])).toBe(ALLOW);
    expect(d("clone", [THREAD])).toBe(ALLOW);
    for (const f of [0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000])
      expect([f, d("clone", [f | SIGCHLD])]).toEqual([f, EPERM_RET]);
    // a flag in the high word is not a namespace flag: the kernel rejects unknown ones itself
    expect(d("clone", [0x1_0000_0000n | BigInt(SIGCHLD)])).toBe(ALLOW);
    expect(d("clone3")).toBe(ENOSYS_RET);
    // with CAP_SYS_ADMIN, namespaces may be made
    const admin = decider(["CAP_SYS_ADMIN"]);
    expect(admin("clone", [0x10000000 | SIGCHLD])).toBe(ALLOW);
    expect(admin("clone3")).toBe(ALLOW);
    expect(admin("unshare", [0x40000000])).toBe(ALLOW);
    expect(admin("mount")).toBe(ALLOW);
  });

  test("personality: Linux, linux32, UNAME26 and the query; not ADDR_NO_RANDOMIZE", () => {
    const d = decider();
    for (const v of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect([v, d("personality", [v])]).toEqual([v, ALLOW]);
    for (const v of [0x40000, 0x0400000, 0x0040008, 1, 0x1_0000_0000n]) expect([v, d("personality", [v])]).toEqual([v, EPERM_RET]);
  });

  test("socket: every family but AF_ALG and AF_VSOCK, whatever the high word holds", () => {
    const d = decider();
    for (let f = 0; f < 64; f++) expect([f, d("socket", [f, 1, 0])]).toEqual([f, f === 38 || f === 40 ? EPERM_RET : ALLOW]);
    // the kernel reads the family as an int: 0x1_00000028 is AF_VSOCK to it
    expect(d("socket", [0x1_0000_0028n, 1, 0])).toBe(EPERM_RET);
    expect(d("socket", [0xffff_ffff_0000_0026n, 5, 0])).toBe(EPERM_RET);
    expect(d("socket", [0x1_0000_0002n, 1, 0])).toBe(ALLOW);
    expect(d("socket", [0xffffffff, 1, 0])).toBe(ALLOW); // -1: EAFNOSUPPORT from the kernel, as without the filter
    // which is what a plain "> 40" comparison would have let through
    const naive = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, op: "SCMP_CMP_GT" }] }],
    }).prog;
    expect(run(naive, seccompData(nr("socket"), scmp.archNative(), [0x1_0000_0028n]))).toBe(ALLOW);
  });

  test("all capabilities: the capability groups are allowed, NEVER_ALLOWED still is not", () => {
    const d = decider(ALL_CAPS);
    for (const n of ["mount", "unshare", "setns", "reboot", "chroot", "init_module", "bpf", "perf_event_open", "open_by_handle_at", "clock_settime", "acct", "kcmp", "iopl", "mbind", "syslog", "vhangup"])
      expect([n, d(n)]).toEqual([n, ALLOW]);
    for (const n of Object.keys(NEVER_ALLOWED)) {
      if (nr(n) < 0) continue; // not a syscall on this architecture (vm86 on x86_64, ...)
      expect([n, d(n)]).toEqual([n, EPERM_RET]);
    }
  });

  test.skipIf(!onX86_64)("x86_64: i386 and x32 processes are filtered with their own numbers", () => {
    const d = decider();
    for (const arch of [AUDIT_ARCH_I386, SCMP_ARCH_X32]) {
      for (const n of ["read", "write", "execve", "exit_group", "openat"]) expect([arch, n, d(n, [], arch)]).toEqual([arch, n, ALLOW]);
      for (const n of ["mount", "unshare", "kexec_load", "reboot", "add_key"]) expect([arch, n, d(n, [], arch)]).toEqual([arch, n, EPERM_RET]);
    }
    expect(nr("read", SCMP_ARCH_X32) & X32_SYSCALL_BIT).toBe(X32_SYSCALL_BIT);
    // i386 only: the socketcall multiplexer and the 32-bit time calls
    for (const n of ["socketcall", "clock_gettime64", "mmap2", "_llseek", "modify_ldt"]) expect([n, d(n, [], AUDIT_ARCH_I386)]).toEqual([n, ALLOW]);
    expect(d("clone", [0x10000000 | 17], AUDIT_ARCH_I386)).toBe(EPERM_RET);
    // an architecture not in the filter is killed
    const AUDIT_ARCH_AARCH64 = 0xc00000b7;
    const { prog } = compile(defaultSeccompProfile({ isKnown: (n) => scmp.syscallResolveName(n) !== scmp.NR_SCMP_ERROR }));
    expect(run(prog, seccompData(63, AUDIT_ARCH_AARCH64))).toBe(scmp.SCMP_ACT.KILL_THREAD);
  });
});

describe("-ENOSYS for syscalls beyond the profile (runc's stub in front of the filter)", () => {
  const X86_64 = 0xc000003e;
  const I386 = 0x40000003;
  const ENOSYS = 0x00050026;
  const EPERM = 0x00050001;
  const prog = (s: LinuxSeccomp) => decode(compileSeccomp(s, () => {}).bpf);
  const allow = { names: ["read", "write", "close"], action: "SCMP_ACT_ALLOW" as const };

  test("default-deny: above the largest syscall named, ENOSYS; below it, the profile decides", () => {
    const p = prog({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow] });
    expect(run(p, seccompData(0, X86_64))).toBe(ALLOW); // read
    expect(run(p, seccompData(2, X86_64))).toBe(EPERM); // open: not named, below close (3)
    expect(run(p, seccompData(4, X86_64))).toBe(ENOSYS);
    expect(run(p, seccompData(1000, X86_64))).toBe(ENOSYS);
  });

  test("each architecture by its own numbers; x32 by bit 30 of x86_64's", () => {
    const p = prog({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: [allow] });
    expect(run(p, seccompData(3, I386))).toBe(ALLOW); // read on i386
    expect(run(p, seccompData(2000, I386))).toBe(ENOSYS);
    expect(run(p, seccompData(0x40000000 | 0, X86_64))).toBe(ALLOW); // read on x32
    expect(run(p, seccompData(0x40000000 | 1000, X86_64))).toBe(ENOSYS);
    expect(run(p, seccompData(1000, X86_64))).toBe(ENOSYS);
  });

  test("not in front of a permissive default, nor when the default errno is ENOSYS already", () => {
    const kill = { names: ["mkdir"], action: "SCMP_ACT_KILL" as const };
    expect(run(prog({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [kill] }), seccompData(1000, X86_64))).toBe(ALLOW);
    expect(run(prog({ defaultAction: "SCMP_ACT_LOG", syscalls: [kill] }), seccompData(1000, X86_64))).toBe(scmp.SCMP_ACT.LOG);
    expect(run(prog({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [allow] }), seccompData(1000, X86_64))).toBe(ENOSYS);
    const n = prog({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [allow] }).length;
    expect(n).toBeLessThan(prog({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow] }).length);
  });
});
