// Process attributes that execve keeps: personality, I/O priority, scheduler, CPU affinity.
//
// The init sets each on itself (native/attrs.c), so this file only turns the spec's names
// into the kernel's numbers:
//
// - linux.personality → personality(2) persona. The domains are PER_LINUX (0) and
//   PER_LINUX32 (8, uname reports a 32-bit machine). The spec defines no flags ("currently no
//   flag values are supported"): given ones are ignored with a warning, as runc does.
// - process.ioPriority → ioprio_set(2) value: class << IOPRIO_CLASS_SHIFT (13) | level.
// - process.scheduler → struct sched_attr for sched_setattr(2). SCHED_ISO is in the spec
//   (from an out-of-tree patch) but no Linux implements it: refused here rather than as an
//   EINVAL from the kernel. FIFO and RR take a real-time priority of 1..99.
// - process.execCPUAffinity.initial/final → cpu_set_t bytes for sched_setaffinity(2): bit N
//   of byte N/8 is CPU N, the length a multiple of 8 (the kernel reads whole longs). "" means
//   unset (the spec: the runtime does not change the affinity then).
import type { CPUAffinity, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, Scheduler } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";
import { nodeList, u64 } from "../oci/validate.ts";
import type { PlanScheduler } from "./types.ts";

export const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

export function compilePersonality(p: LinuxPersonality | undefined, warn: (m: string) => void): number | undefined {
  if (!p) return undefined;
  if (p.flags?.length)
    warn(`config.json: linux.personality.flags: no flags are defined by the runtime-spec, ignored: ${p.flags.join(", ")}`);
  return PERSONALITY_DOMAINS[p.domain];
}

export const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const IOPRIO_CLASS_SHIFT = 13;

export function compileIoPriority(p: LinuxIOPriority | undefined): number | undefined {
  if (!p) return undefined;
  return ((IOPRIO_CLASS[p.class]! << IOPRIO_CLASS_SHIFT) | (p.priority ?? 0)) >>> 0;
}

export const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

export const SCHED_FLAG: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01n,
  SCHED_FLAG_RECLAIM: 0x02n,
  SCHED_FLAG_DL_OVERRUN: 0x04n,
  SCHED_FLAG_KEEP_POLICY: 0x08n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};

export function compileScheduler(s: Scheduler | undefined): PlanScheduler | undefined {
  if (!s) return undefined;
  const path = "process.scheduler";
  if (s.policy === "SCHED_ISO") throw new ValidationError(`${path}.policy`, "SCHED_ISO is not implemented by Linux");
  const priority = s.priority ?? 0;
  if ((s.policy === "SCHED_FIFO" || s.policy === "SCHED_RR") && (priority < 1 || priority > 99))
    throw new ValidationError(`${path}.priority`, `must be between 1 and 99 for ${s.policy}, got ${priority}`);
  return {
    policy: SCHED_POLICY[s.policy]!,
    flags: (s.flags ?? []).reduce((m, f) => m | SCHED_FLAG[f]!, 0n),
    nice: s.nice ?? 0,
    priority,
    runtime: u64(s.runtime ?? 0),
    deadline: u64(s.deadline ?? 0),
    period: u64(s.period ?? 0),
  };
}

/** CONFIG_NR_CPUS is at most 8192. */
export const MAX_CPUS = 8192;

/** "0-3,7" → cpu_set_t bytes; "" → undefined. The syntax is checked by validate.ts. */
export function cpuMask(list: string | undefined, path: string): Uint8Array | undefined {
  if (!list) return undefined;
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const [a, b = a] = part.split("-").map(Number) as [number, number?];
    if (b! < a) throw new ValidationError(path, `${part}: the range is backwards`);
    if (b! >= MAX_CPUS) throw new ValidationError(path, `CPU ${b} is beyond the ${MAX_CPUS} Linux supports`);
    for (let c = a; c <= b!; c++) cpus.push(c);
  }
  const mask = new Uint8Array(Math.ceil((Math.max(...cpus) + 1) / 64) * 8);
  for (const c of cpus) mask[c >> 3]! |= 1 << (c & 7);
  return mask;
}

/**
 * Every CPU: what the init starts with when the spec gives no initial affinity, as runc does
 * (1.2+). runjs's own affinity (a caller's `taskset`) is no business of the container's; the
 * kernel keeps of it the CPUs that exist, and the container's cpuset then narrows it.
 */
export const ALL_CPUS: Uint8Array = new Uint8Array(MAX_CPUS / 8).fill(0xff);

export function compileAffinity(a: CPUAffinity | undefined): { cpuInitial?: Uint8Array; cpuFinal?: Uint8Array } {
  return {
    cpuInitial: cpuMask(a?.initial, "process.execCPUAffinity.initial") ?? ALL_CPUS,
    cpuFinal: cpuMask(a?.final, "process.execCPUAffinity.final"),
  };
}

// linux.memoryPolicy → set_mempolicy(2): the mode's number with its flags, and the nodes as a
// nodemask (bit N of byte N/8 is node N, whole 64-bit words as the kernel reads them). The
// names and node list were checked by validate.ts.
export const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MPOL_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

export function compileMemoryPolicy(mp: LinuxMemoryPolicy | undefined): { mpolMode?: number; mpolNodes?: Uint8Array } {
  if (!mp) return {};
  const mode = (MPOL_MODES[mp.mode]! | (mp.flags ?? []).reduce((m, f) => m | MPOL_FLAGS[f]!, 0)) >>> 0;
  const list = nodeList(mp.nodes ?? "");
  if (!list.length) return { mpolMode: mode };
  const nodes = new Uint8Array(Math.ceil((Math.max(...list) + 1) / 64) * 8);
  for (const n of list) nodes[n >> 3]! |= 1 << (n & 7);
  return { mpolMode: mode, mpolNodes: nodes };
}
