// update: change a running container's resource limits.
//
// A limit is a file in the container's cgroup: the kernel applies a new value written to,
// say, memory.limit_in_bytes or pids.max at once to the processes already in the cgroup
// (lowering a memory limit below the usage makes the kernel reclaim or fail the write).
// So update builds a LinuxResources from runc's flags (or a JSON file) and has
// cgroups/resources.ts write it into the directories recorded in the container's state.
import { readText } from "../sys/fs.ts";
import { StateError, UsageError } from "../errors.ts";
import { driverFor } from "../cgroups/driver.ts";
import type { LinuxResources } from "../oci/spec.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { withContainer } from "./state.ts";
import { parseMemory } from "../units.ts";


function int(v: string, name: string, signed: boolean): number {
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`invalid value for ${name}: ${v}`);
  const n = Number(v);
  if (!signed && n < 0) throw new UsageError(`invalid value for ${name}: ${v}`);
  return n;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

/** Pure: runc update's flags as a LinuxResources (only what was given). */
export function resourcesFromFlags(f: Flags, warn: (m: string) => void): LinuxResources {
  const s = (k: string) => (typeof f[k] === "string" ? (f[k] as string) : undefined);
  const r: LinuxResources = {};
  const mem = (k: string, field: "limit" | "reservation" | "swap" | "kernel" | "kernelTCP") => {
    const v = s(k);
    if (v === undefined) return;
    (r.memory ??= {})[field] = parseMemory(v, k);
  };
  mem("memory", "limit");
  mem("memory-reservation", "reservation");
  mem("memory-swap", "swap");
  if (s("kernel-memory") !== undefined || s("kernel-memory-tcp") !== undefined)
    warn("kernel memory settings are ignored and will be removed");
  const cpu = (k: string, field: "shares" | "quota" | "period" | "burst" | "idle" | "realtimeRuntime" | "realtimePeriod", signed: boolean) => {
    const v = s(k);
    if (v === undefined) return;
    (r.cpu ??= {})[field] = int(v, k, signed);
  };
  cpu("cpu-share", "shares", false);
  cpu("cpu-shares", "shares", false);
  cpu("cpu-quota", "quota", true);
  cpu("cpu-period", "period", false);
  cpu("cpu-burst", "burst", false);
  cpu("cpu-idle", "idle", true);
  cpu("cpu-rt-runtime", "realtimeRuntime", true);
  cpu("cpu-rt-period", "realtimePeriod", false);
  if (s("cpuset-cpus") !== undefined) (r.cpu ??= {}).cpus = s("cpuset-cpus");
  if (s("cpuset-mems") !== undefined) (r.cpu ??= {}).mems = s("cpuset-mems");
  if (s("pids-limit") !== undefined) r.pids = { limit: int(s("pids-limit")!, "pids-limit", true) };
  if (s("blkio-weight") !== undefined) {
    const w = int(s("blkio-weight")!, "blkio-weight", false);
    if (w > 65535) throw new UsageError(`invalid value for blkio-weight: ${w}`);
    r.blockIO = { weight: w };
  }
  return r;
}

/** Pure: a LinuxResources from JSON text (runc's -r FILE). */
export function resourcesFromJson(text: string): LinuxResources {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e: any) {
    throw new UsageError(`invalid resources JSON: ${e.message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new UsageError("invalid resources JSON: not an object");
  return v as LinuxResources;
}

export function update(root: string, id: string, f: Flags, warn: (m: string) => void): void {
  const file = typeof f.resources === "string" ? f.resources : undefined;
  // As runc: with -r the file is the whole update and the other flags are not read.
  const r = file !== undefined ? resourcesFromJson(readText(file === "-" ? "/dev/stdin" : file)) : resourcesFromFlags(f, warn);
  updateResources(root, id, r, warn);
}

/** Apply new resources to a running container's cgroups (runc's rule: not to a stopped one). */
export function updateResources(root: string, id: string, r: LinuxResources, warn: (m: string) => void): void {
  withContainer(root, id, (c) => {
    if (c.status === "stopped" || c.status === "creating") throw new StateError(id, "container not running", "not-running");
    driverFor(c.st).apply(r, containerDirs(c.st.cgroupDirs), warn);
  });
}
