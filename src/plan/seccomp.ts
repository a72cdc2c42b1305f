// linux.seccomp → the BPF program the init installs, and the flags for seccomp(2).
//
// The kernel side (see src/sys/libseccomp.ts for what a filter is): the init calls
// seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) with the bytes compiled here, before the
// capability drop when no_new_privs is off (installing then needs CAP_SYS_ADMIN, which it
// still has), right before execve when it is on (so the filter sees as few of the init's own
// syscalls as possible). This file decides everything else, with runc's semantics:
//
// - Actions: ERRNO and TRACE carry errnoRet (EPERM when it is absent, as runc does);
//   SCMP_ACT_KILL is KILL_THREAD. A rule whose action equals the default action changes
//   nothing and is dropped (libseccomp would reject it with EACCES).
// - Syscall names libseccomp does not know (newer than this libseccomp, or misspelt) are
//   skipped with a warning naming them: the profile still loads, as with runc and crun, but
//   never silently. A name known only on other architectures (socketcall on x86_64) is fine:
//   libseccomp places it on the architectures that have it.
// - Arguments: one rule with all comparisons (they must all hold), except when two compare
//   the same argument index: then one rule per comparison, runc's historical behaviour that
//   profiles in the wild rely on (e.g. two MASKED_EQ tests of clone flags).
// - Architectures: the native one is always in the filter; each listed one is added. A spec
//   architecture this libseccomp does not know (LoongArch, m68k, SuperH on 2.5) cannot be the
//   architecture of any syscall this kernel runs, so it is skipped with a warning; syscalls
//   of architectures not in the filter hit libseccomp's bad-arch action (kill).
// - Flags: LOG and SPEC_ALLOW go to seccomp(2); no flags field at all means SPEC_ALLOW (runc). TSYNC is meaningless, the init is
//   single-threaded when it installs the filter (runc ignores it too). WAIT_KILLABLE_RECV
//   only modifies the user-notification listener (the kernel rejects it with EINVAL without
//   NEW_LISTENER): it is kept when a rule uses SCMP_ACT_NOTIFY, dropped with a warning if not.
// - SCMP_ACT_NOTIFY: the filter is installed with NEW_LISTENER, and the init hands the
//   listener fd to the agent at listenerPath (required then; ignored, as the spec says, when
//   no rule notifies) with the container process state that seccompProcessState() composes.
//   The init's own syscalls after the install are filtered too, so NOTIFY may not be the
//   default action, nor apply to write, sendmsg and shutdown, which the init uses to report
//   and to hand the listener over: they would wait for an agent that cannot have the fd (or
//   the end of the message) yet. runc has the same two limits, for write.
// - libseccomp's own no_new_privs and TSYNC attributes are off: we only export bytes, and the
//   init sets no_new_privs itself, from process.noNewPrivileges.
//
// The output is deterministic: the same profile (and libseccomp version) gives the same bytes.
import { OCI_VERSION, type LinuxSeccomp, type LinuxSeccompArg } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";
import { SECCOMP_ARCHS, u64 } from "../oci/validate.ts";
import { NotSupportedError } from "../errors.ts";
import { ERRNO_NAMES, strerror } from "../sys/libc.ts";
import * as scmp from "../sys/libseccomp.ts";

/** SECCOMP_FILTER_FLAG_* from linux/seccomp.h. */
export const SECCOMP_FILTER = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
const EPERM = 1;

const OPERATORS: Record<string, number> = {
  SCMP_CMP_NE: scmp.SCMP_CMP.NE,
  SCMP_CMP_LT: scmp.SCMP_CMP.LT,
  SCMP_CMP_LE: scmp.SCMP_CMP.LE,
  SCMP_CMP_EQ: scmp.SCMP_CMP.EQ,
  SCMP_CMP_GE: scmp.SCMP_CMP.GE,
  SCMP_CMP_GT: scmp.SCMP_CMP.GT,
  SCMP_CMP_MASKED_EQ: scmp.SCMP_CMP.MASKED_EQ,
};

export interface CompiledSeccomp {
  /** struct sock_filter[], 8 bytes each. */
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, …). */
  flags: number;
  /** A rule notifies: the agent's socket, which receives the listener fd. */
  listener?: string;
}

/**
 * The init's own syscalls after the install, while the agent cannot have the fd yet: sendmsg
 * and shutdown hand the listener over (native/notify.c); write reports READY or an error and
 * releases `start` through the exec fifo. runc refuses write for the same reason.
 */
const NOT_NOTIFIED = ["write", "sendmsg", "shutdown"];

/** sockaddr_un.sun_path holds 108 bytes, the NUL included. */
const SUN_PATH_MAX = 107;

const P = "linux.seccomp";

function errnoName(e: number): string {
  return `${ERRNO_NAMES[e] ?? `errno ${e}`} (${strerror(e)})`;
}

/** An action name and its errnoRet → the 32-bit SCMP_ACT_* value. */
export function seccompAction(name: string, errnoRet: number | undefined, path: string, retPath: string): number {
  const ret = (): number => {
    const r = errnoRet ?? EPERM;
    if (!Number.isInteger(r) || r < 0 || r > 0xffff) throw new ValidationError(retPath, `must be between 0 and 65535, got ${r}`);
    return r;
  };
  switch (name) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return scmp.SCMP_ACT.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return scmp.SCMP_ACT.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return scmp.SCMP_ACT.TRAP;
    case "SCMP_ACT_ERRNO":
      return scmp.SCMP_ACT.ERRNO(ret());
    case "SCMP_ACT_TRACE":
      return scmp.SCMP_ACT.TRACE(ret());
    case "SCMP_ACT_ALLOW":
      return scmp.SCMP_ACT.ALLOW;
    case "SCMP_ACT_LOG":
      return scmp.SCMP_ACT.LOG;
    case "SCMP_ACT_NOTIFY":
      return scmp.SCMP_ACT.NOTIFY;
    default:
      throw new ValidationError(path, `unknown action ${JSON.stringify(name)}`);
  }
}

function argCmp(a: LinuxSeccompArg, path: string): scmp.ScmpArgCmp {
  const op = OPERATORS[a.op];
  if (op === undefined) throw new ValidationError(`${path}.op`, `unknown operator ${JSON.stringify(a.op)}`);
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5)
    throw new ValidationError(`${path}.index`, `must be between 0 and 5, got ${a.index}`);
  const datum = (v: number | undefined, p: string): bigint => {
    if (v === undefined) return 0n;
    if (!Number.isInteger(v) || v < 0) throw new ValidationError(p, `must be an unsigned 64-bit integer, got ${v}`);
    return u64(v);
  };
  // For MASKED_EQ, datum_a is the mask and datum_b the value, which is the spec's order too.
  return { arg: a.index, op, a: datum(a.value, `${path}.value`), b: datum(a.valueTwo, `${path}.valueTwo`) };
}

interface Rule {
  path: string;
  names: string[];
  action: number;
  /** Each inner list is one libseccomp rule (all comparisons must hold). */
  conds: scmp.ScmpArgCmp[][];
}

/** Everything that needs no library: actions, operators, flags, architecture names. */
function prepare(s: LinuxSeccomp, warn: (m: string) => void) {
  const defaultAction = seccompAction(s.defaultAction, s.defaultErrnoRet, `${P}.defaultAction`, `${P}.defaultErrnoRet`);

  if (defaultAction === scmp.SCMP_ACT.NOTIFY)
    throw new ValidationError(
      `${P}.defaultAction`,
      "SCMP_ACT_NOTIFY cannot be the default action: the runtime's own syscalls after the filter is installed (the sendmsg that hands the listener to the agent among them) would wait for an agent that does not have it yet",
    );

  const rules: Rule[] = (s.syscalls ?? []).map((sc, i) => {
    const path = `${P}.syscalls[${i}]`;
    const action = seccompAction(sc.action, sc.errnoRet, `${path}.action`, `${path}.errnoRet`);
    const cmps = (sc.args ?? []).map((a, j) => argCmp(a, `${path}.args[${j}]`));
    const sameIndex = new Set(cmps.map((c) => c.arg)).size < cmps.length;
    const conds = cmps.length === 0 ? [[]] : sameIndex ? cmps.map((c) => [c]) : [cmps];
    const names = sc.names ?? [];
    const j = names.findIndex((n) => NOT_NOTIFIED.includes(n));
    if (action === scmp.SCMP_ACT.NOTIFY && j >= 0)
      throw new ValidationError(
        `${path}.names[${j}]`,
        `SCMP_ACT_NOTIFY cannot be used for the ${names[j]} syscall: the runtime's init uses it after the filter is in and before the agent has the listener (write reports set-up and releases start; sendmsg and shutdown hand the listener over)`,
      );
    return { path, names, action, conds };
  });
  const notify = rules.some((r) => r.action === scmp.SCMP_ACT.NOTIFY);

  let listener: string | undefined;
  if (notify) {
    listener = s.listenerPath;
    const lp = `${P}.listenerPath`;
    if (!listener) throw new ValidationError(lp, "is required when a rule uses SCMP_ACT_NOTIFY");
    if (!listener.startsWith("/")) throw new ValidationError(lp, "must be an absolute path");
    if (new TextEncoder().encode(listener).length > SUN_PATH_MAX)
      throw new ValidationError(lp, `must be at most ${SUN_PATH_MAX} bytes (the size of a unix socket address)`);
  }

  let flags = notify ? SECCOMP_FILTER.NEW_LISTENER : 0;
  // No flags at all (not even an empty list): SPEC_ALLOW, as runc does (the filter then
  // does not force the speculative store bypass mitigation on the container); Linux has it
  // since 4.17.
  if (s.flags === undefined) flags |= SECCOMP_FILTER.SPEC_ALLOW;
  (s.flags ?? []).forEach((f, i) => {
    switch (f) {
      case "SECCOMP_FILTER_FLAG_TSYNC":
        break; // the init is single-threaded: nothing to synchronise
      case "SECCOMP_FILTER_FLAG_LOG":
        flags |= SECCOMP_FILTER.LOG;
        break;
      case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
        flags |= SECCOMP_FILTER.SPEC_ALLOW;
        break;
      case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
        if (notify) flags |= SECCOMP_FILTER.WAIT_KILLABLE_RECV;
        else warn(`config.json: ${P}.flags[${i}]: ${f} only applies to SCMP_ACT_NOTIFY rules, there are none: ignored`);
        break;
      default:
        throw new ValidationError(`${P}.flags[${i}]`, `unknown flag ${JSON.stringify(f)}`);
    }
  });

  const archs = (s.architectures ?? []).map((a, i) => {
    const path = `${P}.architectures[${i}]`;
    if (!SECCOMP_ARCHS.includes(a)) throw new ValidationError(path, `unknown architecture ${JSON.stringify(a)}`);
    // libseccomp's names are the constant's suffix in lower case: SCMP_ARCH_X86_64 → x86_64.
    return { path, spec: a, name: a.slice("SCMP_ARCH_".length).toLowerCase() };
  });

  return { defaultAction, rules, flags, archs, listener };
}

export function compileSeccomp(s: LinuxSeccomp, warn: (m: string) => void): CompiledSeccomp {
  const { defaultAction, rules, flags, archs, listener } = prepare(s, warn);

  try {
    scmp.load();
  } catch (e) {
    throw new NotSupportedError(`config.json: ${P}: ${(e as Error).message}`);
  }
  const ctx = scmp.init(defaultAction);
  if (!ctx) throw new ValidationError(`${P}.defaultAction`, `libseccomp refused ${s.defaultAction} (not supported by this kernel?)`);
  try {
    const set = (attr: number, v: number, what: string) => {
      const rc = scmp.attrSet(ctx, attr, v);
      if (rc < 0) throw new Error(`${P}: libseccomp: setting ${what}: ${errnoName(-rc)}`);
    };
    set(scmp.SCMP_FLTATR.CTL_NNP, 0, "SCMP_FLTATR_CTL_NNP");
    set(scmp.SCMP_FLTATR.CTL_TSYNC, 0, "SCMP_FLTATR_CTL_TSYNC");

    const tokens = [scmp.archNative()];
    for (const a of archs) {
      const token = scmp.archResolveName(a.name);
      if (token !== 0 && !tokens.includes(token)) tokens.push(token);
      if (token === 0) {
        warn(`config.json: ${a.path}: ${a.spec} is not known to libseccomp ${scmp.version()}: skipped`);
        continue;
      }
      const rc = scmp.archAdd(ctx, token);
      if (rc < 0 && rc !== -17 /* EEXIST: the native one, or listed twice */)
        throw new ValidationError(a.path, `libseccomp cannot add ${a.spec}: ${errnoName(-rc)}`);
    }

    // A binary tree of syscall numbers instead of a linear chain: the default profiles of
    // Docker and runtime-tools list ~300 syscalls. Like runc, only for longer lists
    // (libseccomp <= 2.5.4 misbehaves with the tree and no rules at all).
    if (rules.reduce((n, r) => n + r.names.length, 0) > 32) set(scmp.SCMP_FLTATR.CTL_OPTIMIZE, 2, "SCMP_FLTATR_CTL_OPTIMIZE");

    const unknown = new Set<string>();
    for (const r of rules) {
      if (r.action === defaultAction) continue;
      for (const name of r.names) {
        const nr = scmp.syscallResolveName(name);
        if (nr === scmp.NR_SCMP_ERROR) {
          if (!unknown.has(name)) warn(`config.json: ${r.path}: syscall ${JSON.stringify(name)} is not known to libseccomp ${scmp.version()}: skipped`);
          unknown.add(name);
          continue;
        }
        for (const c of r.conds) {
          const rc = scmp.ruleAdd(ctx, r.action, nr, c);
          if (rc < 0) throw new ValidationError(r.path, `libseccomp rejected the rule for ${JSON.stringify(name)}: ${errnoName(-rc)}`);
        }
      }
    }

    const filter = scmp.exportBpf(ctx);
    if (filter.length === 0 || filter.length % 8) throw new Error(`${P}: libseccomp exported ${filter.length} bytes, not a BPF program`);
    const stub = needsEnosysStub(s) ? enosysStub(lastSyscalls(s, tokens)) : new Uint8Array(0);
    const bpf = new Uint8Array(stub.length + filter.length);
    bpf.set(stub);
    bpf.set(filter, stub.length);
    const n = bpf.length / 8;
    if (n > BPF_MAXINSNS)
      throw new ValidationError(P, `the filter has ${n} instructions, the kernel accepts at most ${BPF_MAXINSNS}`);
    return { bpf, flags, listener };
  } finally {
    scmp.release(ctx);
  }
}

// ---- -ENOSYS for syscalls newer than the profile ----------------------------------------------
//
// A profile lists the syscalls it knows of. A program run on a newer kernel than the profile
// (or than this libseccomp) tries newer syscalls, and glibc falls back to an older way only
// when the answer is ENOSYS ("no such syscall"); EPERM from a default-deny profile would make
// it fail instead. So, as runc does, a program of our own goes in front of libseccomp's:
// on each architecture of the filter, a syscall number above the largest one the profile
// names gets ENOSYS; everything else falls through to the filter. x86_64 and x32 share an
// audit architecture and differ by bit 30 of the number, so that arch checks the bit first.
// Not for a permissive default (ALLOW, LOG, TRACE: nothing is refused anyway) nor when the
// default errno is ENOSYS already.

const ENOSYS = 38;
const X32_SYSCALL_BIT = 0x4000_0000;
/** libseccomp's token for x32 (the kernel's audit arch for it is AUDIT_ARCH_X86_64's). */
const SCMP_ARCH_X32 = 0x4000_003e;
const AUDIT_ARCH_X86_64 = 0xc000_003e;

function needsEnosysStub(s: LinuxSeccomp): boolean {
  if (["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(s.defaultAction)) return false;
  return s.defaultErrnoRet !== ENOSYS;
}

/** Per kernel audit arch, the largest syscall number the profile names: native, and x32's. */
export type LastSyscalls = Map<number, { native?: number; x32?: number }>;

function lastSyscalls(s: LinuxSeccomp, tokens: number[]): LastSyscalls {
  const out: LastSyscalls = new Map();
  const names = (s.syscalls ?? []).flatMap((r) => r.names ?? []);
  for (const t of tokens) {
    let last = -1;
    for (const n of names) last = Math.max(last, scmp.syscallResolveNameArch(t, n));
    if (last < 0) continue; // no syscall of the profile exists there: libseccomp's bad-arch action rules it
    const audit = t === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : t;
    const e = out.get(audit) ?? {};
    if (t === SCMP_ARCH_X32) e.x32 = last;
    else e.native = last;
    out.set(audit, e);
  }
  return out;
}

/** The stub as struct sock_filter bytes; it ends by falling through into the filter. */
export function enosysStub(last: LastSyscalls): Uint8Array {
  if (last.size === 0) return new Uint8Array(0);
  const LD_ABS = 0x20, JEQ = 0x15, JGT = 0x25, JSET = 0x45, JA = 0x05, RET = 0x06;
  type Ins = { code: number; k: number; jt?: string; jf?: string; label?: string; ja?: string };
  const prog: Ins[] = [{ code: LD_ABS, k: 4 }]; // seccomp_data.arch
  for (const a of last.keys()) prog.push({ code: JEQ, k: a, jt: `arch${a}` });
  prog.push({ code: JA, k: 0, ja: "filter" });
  for (const [a, e] of last) {
    prog.push({ code: LD_ABS, k: 0, label: `arch${a}` }); // seccomp_data.nr
    if (e.x32 !== undefined) {
      prog.push({ code: JSET, k: X32_SYSCALL_BIT, jt: `x32${a}`, jf: e.native === undefined ? "filter" : undefined });
      if (e.native !== undefined) prog.push({ code: JGT, k: e.native, jt: "enosys", jf: "filter" });
      prog.push({ code: JGT, k: e.x32, jt: "enosys", jf: "filter", label: `x32${a}` });
    } else prog.push({ code: JGT, k: e.native!, jt: "enosys", jf: "filter" });
  }
  prog.push({ code: RET, k: 0x0005_0000 | ENOSYS, label: "enosys" }); // SECCOMP_RET_ERRNO | ENOSYS
  const at = new Map(prog.flatMap((x, i) => (x.label ? [[x.label, i] as const] : [])));
  at.set("filter", prog.length);
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((x, i) => {
    const rel = (l: string | undefined) => (l === undefined ? 0 : at.get(l)! - (i + 1));
    const jt = rel(x.jt), jf = rel(x.jf);
    if (jt > 255 || jf > 255) throw new Error("seccomp: the -ENOSYS stub needs a jump beyond 255");
    dv.setUint16(i * 8, x.code, true);
    dv.setUint8(i * 8 + 2, jt);
    dv.setUint8(i * 8 + 3, jf);
    dv.setUint32(i * 8 + 4, x.ja !== undefined ? rel(x.ja) : x.k >>> 0, true);
  });
  return out;
}

/**
 * The "container process state" the agent at listenerPath receives with the listener fd
 * (runtime-spec config-linux.md): `state` is the container's state while it is being created.
 */
export function seccompProcessState(s: LinuxSeccomp, state: { pid?: number }): string {
  const out: { [k: string]: unknown } = { ociVersion: OCI_VERSION, fds: ["seccompFd"], pid: state.pid ?? 0 };
  if (s.listenerMetadata !== undefined) out.metadata = s.listenerMetadata;
  out.state = state;
  return JSON.stringify(out);
}
