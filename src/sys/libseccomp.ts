// Thin bun:ffi binding to the system's libseccomp (libseccomp.so.2), loaded on first use.
//
// What a seccomp filter is: a classic BPF program (an array of 8-byte `struct sock_filter`
// instructions) that the kernel runs on every system call the filtered task makes, before the
// call does anything. The program reads `struct seccomp_data` (syscall number, audit
// architecture, instruction pointer, the six arguments) and returns a 32-bit action: allow,
// log, fail with an errno, deliver SIGSYS, hand to a ptrace tracer or a user-space notifier,
// or kill the thread/process. Filters are inherited across fork and execve and can never be
// removed, only stacked; installing one needs no_new_privs or CAP_SYS_ADMIN.
//
// Why the runtime compiles and the C init only installs: turning a profile into BPF means
// resolving syscall names to numbers per architecture (the same name has different numbers on
// x86_64, i386 and x32, and some exist only on some of them, like socketcall), checking the
// audit architecture first so a 32-bit syscall cannot masquerade as a 64-bit one, and laying
// out comparisons of 64-bit arguments in 32-bit BPF. libseccomp does all of that and is what
// runc and crun use, so runjs calls it here, in the runtime process, and exports the program
// as bytes (seccomp_export_bpf). The init in native/ receives those bytes in the plan and
// calls seccomp(SECCOMP_SET_MODE_FILTER) with them: no library, no names, no policy there.
//
// Every wrapper returns libseccomp's raw result (0 or a negative errno); policy and error
// messages live in src/plan/seccomp.ts.
import { dlopen, FFIType, ptr, read as readPtr, type Pointer } from "bun:ffi";
import { close, errno, read, symbols, SysError } from "./libc.ts";

const { i32, u32, ptr: P } = FFIType;

// ---- constants, from seccomp.h (libseccomp 2.5.4) and linux/seccomp.h -----------------------

/** Action values: the top 16 bits are the kernel's SECCOMP_RET_*, the low 16 bits its data. */
export const SCMP_ACT = {
  KILL_PROCESS: 0x8000_0000,
  KILL_THREAD: 0x0000_0000,
  KILL: 0x0000_0000, // = KILL_THREAD
  TRAP: 0x0003_0000,
  NOTIFY: 0x7fc0_0000,
  ERRNO: (x: number) => (0x0005_0000 | (x & 0xffff)) >>> 0,
  TRACE: (x: number) => (0x7ff0_0000 | (x & 0xffff)) >>> 0,
  LOG: 0x7ffc_0000,
  ALLOW: 0x7fff_0000,
} as const;

/** enum scmp_filter_attr */
export const SCMP_FLTATR = {
  ACT_DEFAULT: 1,
  ACT_BADARCH: 2,
  CTL_NNP: 3,
  CTL_TSYNC: 4,
  API_TSKIP: 5,
  CTL_LOG: 6,
  CTL_SSB: 7,
  CTL_OPTIMIZE: 8,
  API_SYSRAWRC: 9,
} as const;

/** enum scmp_compare */
export const SCMP_CMP = {
  NE: 1,
  LT: 2,
  LE: 3,
  EQ: 4,
  GE: 5,
  GT: 6,
  MASKED_EQ: 7,
} as const;

/** Returned by seccomp_syscall_resolve_name for a name libseccomp does not know. */
export const NR_SCMP_ERROR = -1;

/** One argument comparison: struct scmp_arg_cmp { u32 arg; u32 op; u64 datum_a; u64 datum_b; }. */
export interface ScmpArgCmp {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}
const ARG_CMP_SIZE = 24;

// ---- loading ----------------------------------------------------------------------------------

// The soname, not a path: the dynamic loader finds it wherever the distribution put it
// (/usr/lib/x86_64-linux-gnu on Debian, /usr/lib64 on Fedora).
export const LIBSECCOMP = "libseccomp.so.2";

function open() {
  const l = dlopen(LIBSECCOMP, {
    seccomp_version: { args: [], returns: P },
    seccomp_api_get: { args: [], returns: u32 },
    seccomp_init: { args: [u32], returns: P },
    seccomp_release: { args: [P], returns: FFIType.void },
    seccomp_arch_add: { args: [P, u32], returns: i32 },
    seccomp_arch_native: { args: [], returns: u32 },
    seccomp_arch_resolve_name: { args: [P], returns: u32 },
    seccomp_syscall_resolve_name: { args: [P], returns: i32 },
    seccomp_syscall_resolve_name_arch: { args: [u32, P], returns: i32 },
    seccomp_rule_add_array: { args: [P, u32, i32, u32, P], returns: i32 },
    seccomp_attr_set: { args: [P, u32, u32], returns: i32 },
    seccomp_export_bpf: { args: [P, i32], returns: i32 },
  });
  // libseccomp 2.5 has no seccomp_export_bpf_mem, so the program goes through a memfd.
  return { s: l.symbols, c: symbols() };
}

let lib: ReturnType<typeof open> | undefined;
let loadError: Error | undefined;

/** The bound symbols; throws (the same error every time) if libseccomp cannot be loaded. */
function L() {
  if (lib) return lib;
  if (loadError) throw loadError;
  try {
    return (lib = open());
  } catch (e) {
    throw (loadError = new Error(`cannot load ${LIBSECCOMP}: ${(e as Error).message}`));
  }
}

/** Load the library now; throws "cannot load libseccomp.so.2: …" if it is not installed. */
export function load(): void {
  L();
}

function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}

// ---- wrappers ---------------------------------------------------------------------------------

/** "2.5.4" */
export function version(): string {
  const v = L().s.seccomp_version() as Pointer;
  return `${readPtr.u32(v, 0)}.${readPtr.u32(v, 4)}.${readPtr.u32(v, 8)}`;
}

/** The API level libseccomp detected for this kernel (seccomp_api_get(3)). */
export function apiLevel(): number {
  return L().s.seccomp_api_get();
}

/** A new filter context with the given default action, or null if libseccomp refused it. */
export function init(defaultAction: number): Pointer | null {
  return L().s.seccomp_init(defaultAction >>> 0) as Pointer | null;
}

export function release(ctx: Pointer): void {
  L().s.seccomp_release(ctx);
}

/** The audit architecture token (AUDIT_ARCH_*) of this process. */
export function archNative(): number {
  return L().s.seccomp_arch_native();
}

/** "x86_64" → AUDIT_ARCH_X86_64; 0 for a name this libseccomp does not know. */
export function archResolveName(name: string): number {
  return L().s.seccomp_arch_resolve_name(cstr(name));
}

/** 0, or -EEXIST when the architecture is already in the filter (the native one always is). */
export function archAdd(ctx: Pointer, arch: number): number {
  return L().s.seccomp_arch_add(ctx, arch >>> 0);
}

/**
 * The syscall number on the native architecture; a negative pseudo-number for a syscall that
 * exists only on other architectures (libseccomp translates it per architecture in the
 * filter); NR_SCMP_ERROR for a name it does not know at all.
 */
export function syscallResolveName(name: string): number {
  return L().s.seccomp_syscall_resolve_name(cstr(name));
}

/** The syscall number on one architecture (its token); negative if it has none there. */
export function syscallResolveNameArch(arch: number, name: string): number {
  return L().s.seccomp_syscall_resolve_name_arch(arch >>> 0, cstr(name));
}

export function attrSet(ctx: Pointer, attr: number, value: number): number {
  return L().s.seccomp_attr_set(ctx, attr, value >>> 0);
}

/** seccomp_rule_add_array: the rule matches when every comparison holds. */
export function ruleAdd(ctx: Pointer, action: number, syscall: number, args: readonly ScmpArgCmp[]): number {
  if (args.length === 0) return L().s.seccomp_rule_add_array(ctx, action >>> 0, syscall, 0, null);
  const buf = new Uint8Array(args.length * ARG_CMP_SIZE);
  const dv = new DataView(buf.buffer);
  args.forEach((c, i) => {
    const o = i * ARG_CMP_SIZE;
    dv.setUint32(o, c.arg, true);
    dv.setUint32(o + 4, c.op, true);
    dv.setBigUint64(o + 8, c.a, true);
    dv.setBigUint64(o + 16, c.b, true);
  });
  return L().s.seccomp_rule_add_array(ctx, action >>> 0, syscall, args.length, ptr(buf));
}

const MFD_CLOEXEC = 1;
const SEEK_SET = 0;
const SEEK_END = 2;

/**
 * The filter as the kernel takes it: an array of struct sock_filter (u16 code, u8 jt, u8 jf,
 * u32 k), in host byte order. Throws SysError if the memfd fails; a negative libseccomp
 * result is thrown as SysError("seccomp_export_bpf", -rc).
 */
export function exportBpf(ctx: Pointer): Uint8Array {
  const { s, c } = L();
  const fd = c.memfd_create(cstr("runjs-seccomp"), MFD_CLOEXEC);
  if (fd < 0) throw new SysError("memfd_create", errno());
  try {
    const rc = s.seccomp_export_bpf(ctx, fd);
    if (rc < 0) throw new SysError("seccomp_export_bpf", -rc);
    const size = Number(c.lseek(fd, 0, SEEK_END));
    if (size < 0) throw new SysError("lseek", errno());
    if (Number(c.lseek(fd, 0, SEEK_SET)) < 0) throw new SysError("lseek", errno());
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = read(fd, out, off);
      if (n < 0) throw new SysError("read", -n);
      if (n === 0) break;
      off += n;
    }
    return off === size ? out : out.subarray(0, off);
  } finally {
    close(fd);
  }
}
