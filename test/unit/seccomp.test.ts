// linux.seccomp → BPF, through the system's libseccomp. No root needed: the programs are only
// compiled and decoded here, never installed.
import { describe, expect, test } from "bun:test";
import { compileSeccomp, SECCOMP_FILTER } from "../../src/plan/seccomp.ts";
import { compileInit } from "../../src/plan/compile.ts";
import type { HostFacts } from "../../src/plan/types.ts";
import { defaultSpec } from "../../src/oci/defaults.ts";
import type { LinuxSeccomp, Spec } from "../../src/oci/spec.ts";
import { ValidationError } from "../../src/oci/errors.ts";
import * as scmp from "../../src/sys/libseccomp.ts";
import { decodeBpf, type Insn } from "./fixtures.ts";

// classic BPF opcodes (linux/filter.h) and struct seccomp_data offsets
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const AND_K = 0x54;
const RET_K = 0x06;
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number) => 16 + 8 * i;
const argHi = (i: number) => 16 + 8 * i + 4;

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const NR_MKDIR = 83; // x86_64
const NR_MKDIRAT = 258;

const decode = decodeBpf;

const rets = (p: Insn[]) => p.filter((i) => i.code === RET_K).map((i) => i.k >>> 0);
const loads = (p: Insn[]) => p.filter((i) => i.code === LD_W_ABS).map((i) => i.k);
const jeqs = (p: Insn[]) => p.filter((i) => i.code === JEQ_K).map((i) => i.k >>> 0);

function compile(s: LinuxSeccomp) {
  const warnings: string[] = [];
  const r = compileSeccomp(s, (m) => warnings.push(m));
  return { ...r, prog: decode(r.bpf), warnings };
}

const native = scmp.archNative();
const onX86_64 = native === AUDIT_ARCH_X86_64;

describe("compileSeccomp", () => {
  test("an errno rule: the program checks the architecture, the syscalls, returns ERRNO|38", () => {
    const r = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] });
    expect(r.bpf.length % 8).toBe(0);
    expect(r.bpf.length).toBeGreaterThan(0);
    expect(r.flags).toBe(4); // no flags field: SPEC_ALLOW, as runc
    expect(r.warnings).toEqual([]);
    // first instruction: load seccomp_data.arch, then compare with the native architecture
    expect(r.prog[0]).toEqual({ code: LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH });
    expect(r.prog[1]!.code).toBe(JEQ_K);
    expect(r.prog[1]!.k >>> 0).toBe(native);
    expect(loads(r.prog)).toContain(OFF_NR);
    const rv = rets(r.prog);
    expect(rv).toContain(scmp.SCMP_ACT.ERRNO(38)); // 0x00050026
    expect(rv).toContain(0x7fff0000); // the default: allow
    expect(rv).toContain(0); // a foreign architecture: kill
    if (onX86_64) {
      expect(jeqs(r.prog)).toContain(NR_MKDIR);
      expect(jeqs(r.prog)).toContain(NR_MKDIRAT);
    }
  });

  test("action values match seccomp.h", () => {
    expect(scmp.SCMP_ACT.KILL_PROCESS).toBe(0x80000000);
    expect(scmp.SCMP_ACT.KILL_THREAD).toBe(0);
    expect(scmp.SCMP_ACT.TRAP).toBe(0x00030000);
    expect(scmp.SCMP_ACT.ERRNO(38)).toBe(0x00050026);
    expect(scmp.SCMP_ACT.TRACE(7)).toBe(0x7ff00007);
    expect(scmp.SCMP_ACT.LOG).toBe(0x7ffc0000);
    expect(scmp.SCMP_ACT.ALLOW).toBe(0x7fff0000);
    expect(scmp.SCMP_ACT.NOTIFY).toBe(0x7fc00000);
  });

  test.each([
    ["SCMP_ACT_KILL", 0],
    ["SCMP_ACT_KILL_THREAD", 0],
    ["SCMP_ACT_KILL_PROCESS", 0x80000000],
    ["SCMP_ACT_TRAP", 0x00030000],
    ["SCMP_ACT_ERRNO", 0x00050001], // EPERM when defaultErrnoRet is absent, like runc
    ["SCMP_ACT_TRACE", 0x7ff00001],
    ["SCMP_ACT_LOG", 0x7ffc0000],
  ] as const)("default action %s returns %d", (action, value) => {
    const r = compile({ defaultAction: action, syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] });
    const rv = rets(r.prog);
    expect(rv).toContain(value);
    expect(rv).toContain(scmp.SCMP_ACT.ALLOW);
  });

  test("defaultErrnoRet and errnoRet set the errno", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
        { names: ["rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["getpid"], action: "SCMP_ACT_TRACE", errnoRet: 5 },
      ],
    });
    const rv = rets(r.prog);
    expect(rv).toContain(0x00050026); // default
    expect(rv).toContain(0x00050001); // mkdir: EPERM
    expect(rv).toContain(0x0005000d); // rmdir: EACCES
    expect(rv).toContain(0x7ff00005);
  });

  test("the same profile gives the same bytes", () => {
    const s: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [
        { names: ["read", "write", "openat", "close", "exit_group"], action: "SCMP_ACT_ALLOW" },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
      ],
    };
    expect(compile(s).bpf).toEqual(compile(s).bpf);
  });

  test("architectures: each listed one is checked; the native one is always there", () => {
    const r = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }] });
    const arch = jeqs(r.prog);
    expect(arch).toContain(native);
    expect(arch).toContain(AUDIT_ARCH_I386);
    expect(arch).toContain(AUDIT_ARCH_AARCH64);
    // listing the native architecture again changes nothing
    const a = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }] });
    const b = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: onX86_64 ? ["SCMP_ARCH_X86_64"] : [],
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }],
    });
    expect(b.bpf).toEqual(a.bpf);
  });

  test("an architecture this libseccomp does not know is skipped with a warning", () => {
    if (scmp.archResolveName("loongarch64") !== 0) return; // libseccomp >= 2.6 knows it
    const r = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_LOONGARCH64"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }] });
    expect(r.warnings).toEqual([expect.stringContaining("linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not known to libseccomp")]);
  });

  test("an unknown syscall name is skipped with a warning naming it", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "no_such_syscall"], action: "SCMP_ACT_ERRNO" }, { names: ["no_such_syscall"], action: "SCMP_ACT_TRAP" }],
    });
    expect(r.warnings).toEqual([
      'config.json: linux.seccomp.syscalls[0]: syscall "no_such_syscall" is not known to libseccomp ' + scmp.version() + ": skipped",
    ]);
    const plain = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    expect(r.bpf).toEqual(plain.bpf);
  });

  test("a syscall that exists only on other architectures is accepted", () => {
    const r = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["socketcall"], action: "SCMP_ACT_ERRNO" }] });
    expect(r.warnings).toEqual([]);
    expect(rets(r.prog)).toContain(0x00050001);
  });

  test("a rule with the default action is dropped", () => {
    // (read, syscall 0, is below mkdir: the -ENOSYS stub in front is the same for all three)
    const a = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ALLOW" }] });
    const b = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ALLOW" }, { names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    });
    expect(b.bpf).toEqual(a.bpf);
    // but not one with the same action and another errno
    const c = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ALLOW" }, { names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 2 }],
    });
    expect(rets(c.prog)).toContain(0x00050002);
  });

  test("arguments: each comparison loads the argument words and compares the value", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 42,
          args: [
            { index: 1, value: 9, op: "SCMP_CMP_EQ" },
            { index: 2, value: 0x1_0000_0002, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    const ld = loads(r.prog);
    expect(ld).toContain(argLo(1));
    expect(ld).toContain(argLo(2));
    expect(ld).toContain(argHi(2));
    const k = jeqs(r.prog);
    expect(k).toContain(9);
    expect(k).toContain(2); // low word of 0x1_0000_0002
    expect(k).toContain(1); // high word
    expect(rets(r.prog)).toContain(0x0005002a);
  });

  test("arguments: MASKED_EQ ands with value and compares with valueTwo", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["clone"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0x7e020000, valueTwo: 0x20000, op: "SCMP_CMP_MASKED_EQ" }] }],
    });
    const ands = r.prog.filter((i) => i.code === AND_K).map((i) => i.k >>> 0);
    expect(ands).toContain(0x7e020000);
    expect(jeqs(r.prog)).toContain(0x20000);
  });

  test("arguments: uint64 max survives JSON", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 64, op: "SCMP_CMP_EQ" }] }],
    });
    expect(jeqs(r.prog)).toContain(0xffffffff);
  });

  test("arguments: two comparisons of the same index make one rule each (runc)", () => {
    const args = [
      { index: 0, value: 1, op: "SCMP_CMP_EQ" as const },
      { index: 0, value: 2, op: "SCMP_CMP_EQ" as const },
    ];
    const together = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args }] });
    const separate = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [args[0]!] },
        { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [args[1]!] },
      ],
    });
    expect(together.bpf).toEqual(separate.bpf);
    const k = jeqs(together.prog);
    expect(k).toContain(1);
    expect(k).toContain(2);
  });

  test("flags: LOG and SPEC_ALLOW pass through, TSYNC is dropped, WAIT_KILLABLE_RECV warns", () => {
    const r = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
    });
    expect(r.flags).toBe(SECCOMP_FILTER.LOG | SECCOMP_FILTER.SPEC_ALLOW);
    expect(r.warnings).toEqual([expect.stringContaining("linux.seccomp.flags[3]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")]);
  });

  test("no rules: a default-only filter", () => {
    const r = compile({ defaultAction: "SCMP_ACT_ALLOW" });
    expect(r.bpf.length % 8).toBe(0);
    expect(rets(r.prog)).toContain(scmp.SCMP_ACT.ALLOW);
  });

  test("a long profile (runtime-tools-like) compiles within the kernel's limit", () => {
    const names = [
      "accept", "accept4", "access", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown", "clock_getres",
      "clock_gettime", "clock_nanosleep", "close", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
      "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
      "faccessat", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat", "fcntl", "fdatasync",
      "fstat", "fstatfs", "fsync", "ftruncate", "futex", "getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid",
      "getpid", "getppid", "getrandom", "getuid", "ioctl", "kill", "lseek", "lstat", "madvise", "mmap", "mprotect", "munmap",
      "nanosleep", "newfstatat", "open", "openat", "pipe", "pipe2", "poll", "prctl", "pread64", "prlimit64", "pwrite64",
      "read", "readlink", "readv", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "select", "set_robust_list",
      "set_tid_address", "socketcall", "stat", "statx", "uname", "wait4", "write", "writev",
    ];
    const r = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names, action: "SCMP_ACT_ALLOW" }, { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] }],
    });
    expect(r.warnings).toEqual([]);
    expect(r.prog.length).toBeLessThanOrEqual(4096);
  });
});

describe("compileSeccomp errors name the JSON path", () => {
  const err = (s: unknown) => {
    try {
      compileSeccomp(s as LinuxSeccomp, () => {});
    } catch (e) {
      return e as Error;
    }
    throw new Error("no error");
  };

  test("unknown action", () => {
    const e = err({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [0, 1, 2].map(() => ({ names: ["read"], action: "SCMP_ACT_ERRNO" })).concat([{ names: ["read"], action: "SCMP_ACT_NOPE" }]),
    });
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe('config.json: linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_NOPE"');
    expect(err({ defaultAction: "ALLOW" }).message).toBe('config.json: linux.seccomp.defaultAction: unknown action "ALLOW"');
  });

  test("unknown architecture", () => {
    const e = err({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "x86_64"] });
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe('config.json: linux.seccomp.architectures[1]: unknown architecture "x86_64"');
  });

  test("unknown operator, bad index, bad errno, unknown flag", () => {
    const rule = (a: object) => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [a] }] });
    expect(err(rule({ index: 0, value: 1, op: "EQ" })).message).toBe('config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator "EQ"');
    expect(err(rule({ index: 6, value: 1, op: "SCMP_CMP_EQ" })).message).toBe("config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got 6");
    expect(err({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 }).message).toBe(
      "config.json: linux.seccomp.defaultErrnoRet: must be between 0 and 65535, got 70000",
    );
    expect(err({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NOPE"] }).message).toBe(
      'config.json: linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"',
    );
  });

  // SCMP_ACT_NOTIFY itself compiles now (test/unit/plan-hardening.test.ts); these are its limits.
  test("SCMP_ACT_NOTIFY: needs listenerPath, is never the default action", () => {
    const e = err({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] });
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toBe("config.json: linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY");
    expect(err({ defaultAction: "SCMP_ACT_NOTIFY" }).message).toStartWith("config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  });
});

describe("compileInit", () => {
  const facts = (): HostFacts => ({ bundle: "/b", rootfs: "/b/rootfs", sources: {}, cgroups: [], helperWaits: false, noPivot: false, warn: () => {} });

  test("linux.seccomp fills seccompBpf and seccompFlags", () => {
    const s = defaultSpec({}) as Spec;
    s.process!.terminal = false;
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] };
    const p = compileInit(s, facts());
    expect(p.seccompBpf).toBeInstanceOf(Uint8Array);
    expect(rets(decode(p.seccompBpf!))).toContain(0x00050026);
    expect(p.seccompFlags).toBe(SECCOMP_FILTER.LOG);
  });

  test("no linux.seccomp, no filter", () => {
    const s = defaultSpec({}) as Spec;
    s.process!.terminal = false;
    const p = compileInit(s, facts());
    expect(p.seccompBpf).toBeUndefined();
    expect(p.seccompFlags).toBe(0);
  });
});
