// cgroup v2 writers: all controllers share the container's one directory in the unified tree.
//
//   memory   memory.max (hard), memory.low (protected), memory.swap.max (swap alone)
//   cpu      cpu.weight (from v1 shares), cpu.max "quota period", cpu.max.burst, cpu.idle
//   cpuset   cpuset.cpus / cpuset.mems
//   pids     pids.max
//   io       io.weight (from v1 blkio weight), io.max per-device throttles
//   hugetlb  hugetlb.<size>.max
//   devices  no files: an eBPF device filter attached to the directory (devices-bpf.ts)
//
// A controller's files only exist in a cgroup once its parent lists the controller in
// cgroup.subtree_control; enableControllers does that for the parents runjs made.
import type { LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxMemory, LinuxResources } from "../oci/spec.ts";
import { CgroupError, NotSupportedError } from "../errors.ts";
import { exists, readText, writeExisting } from "../sys/fs.ts";
import { blkioWeightToIoWeight, cpuMax, ioMaxLines, limitValue, sharesToWeight, swapToV2 } from "./convert.ts";
import { put, read, type Warn } from "./files.ts";
import { deviceFilter, encode } from "./devices-bpf.ts";
import { deviceWrites } from "./v1.ts";
import { applyDeviceProgram } from "../sys/bpf.ts";

export function memoryV2(dir: string, m: LinuxMemory, warn: Warn): void {
  const limit = m.limit ?? 0;
  let swap: number;
  try {
    swap = swapToV2(m.swap ?? 0, limit);
  } catch (e: any) {
    throw new NotSupportedError(`linux.resources.memory.swap: ${e.message}`);
  }
  if (m.checkBeforeUpdate && limit > 0) {
    const usage = Number(read(dir, "memory.current"));
    if (limit < usage) throw new CgroupError(`${dir}/memory.max`, String(limit), `linux.resources.memory.limit: below the current usage (${usage} bytes)`);
  }
  // runc: swap first, so that lowering memory.max never leaves more swap than was asked.
  // swap equal to the limit converts to 0: no swap at all, which is written, not skipped.
  if (swap || (m.swap ?? 0) > 0) put(dir, "memory.swap.max", limitValue(swap, 2), "memory.swap");
  if (limit) put(dir, "memory.max", limitValue(limit, 2), "memory.limit");
  if (m.reservation) put(dir, "memory.low", limitValue(m.reservation, 2), "memory.reservation");
  if (m.kernel) warn("linux.resources.memory.kernel: not applied, cgroup v2 has no kernel memory limit");
  if (m.kernelTCP) warn("linux.resources.memory.kernelTCP: not applied, cgroup v2 has no kernel TCP limit");
  if (m.swappiness !== undefined && m.swappiness !== null) warn("linux.resources.memory.swappiness: not applied, cgroup v2 has no per-cgroup swappiness");
  if (m.disableOOMKiller) warn("linux.resources.memory.disableOOMKiller: not applied, cgroup v2 cannot disable the OOM killer");
}

export function cpuV2(dir: string, c: LinuxCPU): void {
  if (c.realtimePeriod || c.realtimeRuntime)
    throw new NotSupportedError("linux.resources.cpu.realtimeRuntime: real-time budgets are not available on cgroup v2");
  if (c.shares) put(dir, "cpu.weight", String(sharesToWeight(c.shares)), "cpu.shares");
  const max = cpuMax(c.quota, c.period);
  if (max) put(dir, "cpu.max", max, c.quota ? "cpu.quota" : "cpu.period");
  if (c.burst !== undefined && c.burst !== null) put(dir, "cpu.max.burst", String(c.burst), "cpu.burst");
  if (c.idle !== undefined && c.idle !== null) put(dir, "cpu.idle", String(c.idle), "cpu.idle");
}


export function ioV2(dir: string, b: LinuxBlockIO): void {
  if (b.leafWeight || b.weightDevice?.some((d) => d.leafWeight))
    throw new NotSupportedError("linux.resources.blockIO.leafWeight: not available on cgroup v2");
  if (b.weight) put(dir, "io.weight", String(blkioWeightToIoWeight(b.weight)), "blockIO.weight");
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) put(dir, "io.weight", `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `blockIO.weightDevice[${i}]`);
  });
  for (const l of ioMaxLines(b)) put(dir, "io.max", l, `blockIO (io.max ${l.split(" ")[0]})`);
}

/**
 * The device rules as on v1 (deny all, the spec's rules, runc's default allow list), turned
 * into an eBPF program and attached to the cgroup directory.
 */
export function devicesV2(dir: string, rules: LinuxDeviceCgroup[]): void {
  const lines = deviceWrites(rules).map((w) => ({ allow: w.file === "devices.allow", line: w.line }));
  const { insns } = deviceFilter(lines);
  try {
    applyDeviceProgram(dir, encode(insns));
  } catch (e: any) {
    throw new CgroupError(dir, "device filter", `linux.resources.devices: ${e.message}`);
  }
}

/** Pure: is a linux.resources.unified key a plain file name in the cgroup directory? */
export function unifiedKeyOk(key: string): boolean {
  return /^[a-z_][a-z0-9_]*\.[a-z0-9_.]+$/i.test(key) && !key.includes("..") && !["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"].includes(key);
}

export function unifiedV2(dir: string, u: Record<string, string>): void {
  for (const [k, v] of Object.entries(u)) {
    if (!unifiedKeyOk(k)) throw new NotSupportedError(`linux.resources.unified["${k}"]: not a cgroup interface file runjs may write`);
    put(dir, k, v, `unified["${k}"]`);
  }
}

export const V2_CONTROLLERS = ["memory", "pids", "cpu", "io", "cpuset", "hugetlb"];

/**
 * Enable the wanted controllers in cgroup.subtree_control of each ancestor of `dir` that runjs
 * created, from the top down, so the controllers' files appear in the container's directory.
 * Directories runjs did not create (and the hierarchy root) are left as they are.
 */
export function enableControllers(mountpoint: string, dir: string, wanted: string[], createdHere: (d: string) => boolean): void {
  const chain: string[] = [];
  for (let d = dir.slice(0, dir.lastIndexOf("/")); d.length > mountpoint.length && d.startsWith(mountpoint + "/"); d = d.slice(0, d.lastIndexOf("/")))
    chain.unshift(d);
  for (const d of chain) {
    if (!createdHere(d)) continue;
    const avail = new Set(readText(`${d}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean));
    const on = new Set(readText(`${d}/cgroup.subtree_control`).trim().split(/\s+/).filter(Boolean));
    for (const c of wanted) {
      if (!avail.has(c) || on.has(c)) continue;
      const p = `${d}/cgroup.subtree_control`;
      try {
        writeExisting(p, `+${c}`);
      } catch (e: any) {
        throw new CgroupError(p, `+${c}`, e.message);
      }
    }
  }
}

/** Which v2 controllers are usable in `dir` (its cgroup.controllers). */
export function controllersIn(dir: string): Set<string> {
  const p = `${dir}/cgroup.controllers`;
  return new Set(exists(p) ? readText(p).trim().split(/\s+/).filter(Boolean) : []);
}
