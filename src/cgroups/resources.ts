// Writing linux.resources into the container's cgroups.
//
// Each limit is a file in the controller's directory: writing "100" to pids.max caps the
// number of tasks. The same limit has a different file (and sometimes unit) in cgroup v1
// and v2. This file picks, for every controller the spec asks for, the hierarchy that has
// it (a v1 hierarchy naming it, else the unified tree if the controller is enabled there)
// and hands the values to the writer in v1.ts or v2.ts. A value the host cannot provide is
// an error naming the field and the controller; nothing is dropped silently. Zero or
// absent values ask for nothing. Called at create (before the init joins) and by update.
import type { LinuxResources } from "../oci/spec.ts";
import { CgroupError, NotSupportedError } from "../errors.ts";
import { hostHierarchies } from "./hierarchy.ts";
import { writable } from "../sys/fs.ts";
import { hugepageSizeName, limitValue } from "./convert.ts";
import { has, put, unavailable, type CgroupDir, type Warn } from "./files.ts";
import * as v1 from "./v1.ts";
import * as v2 from "./v2.ts";

export type { CgroupDir } from "./files.ts";

/**
 * Pure: pids.max for linux.resources.pids.limit. A negative limit is none ("max"). 0 means
 * no process at all (runtime-spec 1.3); the kernel would refuse even the init, so it becomes
 * 1, as runc does (systemd cannot express 0 either).
 */
export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : limit === 0 ? "1" : "max";
}

/** Pure: the controllers a resources object actually asks something of (v1 names; io for blkio on v2). */
export function wantedControllers(r: LinuxResources): string[] {
  const out: string[] = [];
  const m = r.memory;
  if (m && (m.limit || m.reservation || m.swap || m.kernel || m.kernelTCP || m.swappiness !== undefined || m.disableOOMKiller || m.useHierarchy !== undefined || m.checkBeforeUpdate))
    out.push("memory");
  const c = r.cpu;
  const given = (v: unknown) => v !== undefined && v !== null;
  if (c && (c.shares || c.quota || c.period || given(c.burst) || c.realtimeRuntime || c.realtimePeriod || given(c.idle))) out.push("cpu");
  if (c && (c.cpus || c.mems)) out.push("cpuset");
  if (r.pids && r.pids.limit !== undefined) out.push("pids");
  const b = r.blockIO;
  if (
    b &&
    (b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length || b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length)
  )
    out.push("blkio");
  if (r.hugepageLimits?.length) out.push("hugetlb");
  if (r.network?.classID) out.push("net_cls");
  if (r.network?.priorities?.length) out.push("net_prio");
  if (r.rdma && Object.keys(r.rdma).length) out.push("rdma");
  if (r.devices?.length) out.push("devices");
  return out;
}

const V2_NAME: Record<string, string> = { blkio: "io" };
const FIELD: Record<string, string> = {
  memory: "memory",
  cpu: "cpu",
  cpuset: "cpu.cpus/mems",
  pids: "pids",
  blkio: "blockIO",
  hugetlb: "hugepageLimits",
  net_cls: "network.classID",
  net_prio: "network.priorities",
  rdma: "rdma",
};

type Target = { version: 1 | 2; dir: string };

/**
 * hugetlb.<size>.limit_in_bytes (v1) or hugetlb.<size>.max (v2), one per page size; and the
 * same limit on reservations (hugetlb.<size>.rsvd.*, kernel 5.7+) where the kernel has them,
 * as runc does: a page reserved by mmap but not yet touched then counts too.
 */
function hugetlb(dir: string, version: 1 | 2, list: NonNullable<LinuxResources["hugepageLimits"]>): void {
  const suffix = version === 1 ? "limit_in_bytes" : "max";
  list.forEach((h, i) => {
    let size: string;
    try {
      size = hugepageSizeName(h.pageSize);
    } catch (e: any) {
      throw new NotSupportedError(`linux.resources.hugepageLimits[${i}].pageSize: ${e.message}`);
    }
    const value = limitValue(h.limit, version);
    put(dir, `hugetlb.${size}.${suffix}`, value, `hugepageLimits[${i}] (${size} pages)`);
    if (has(dir, `hugetlb.${size}.rsvd.${suffix}`)) put(dir, `hugetlb.${size}.rsvd.${suffix}`, value, `hugepageLimits[${i}] (${size} page reservations)`);
  });
}

/**
 * Write linux.resources into the container's directories. `created` holds the directories
 * this create just made: controllers are enabled for their children only there (and in a
 * directory delegated to an unprivileged runjs).
 */
export function applyResources(r: LinuxResources | undefined, dirs: CgroupDir[], warn: Warn, created: ReadonlySet<string> = new Set()): void {
  if (!r) return;
  const mayEnable = (d: string) => created.has(d) || ((process.geteuid?.() ?? 0) !== 0 && writable(`${d}/cgroup.subtree_control`));
  const wanted = wantedControllers(r);
  const unified = dirs.find((d) => d.version === 2);
  const fromV1 = (c: string) => dirs.find((d) => d.version === 1 && d.controllers.includes(c));

  // The unified tree serves what no v1 hierarchy has; enable those controllers in the parents
  // runjs created (never in the hierarchy root, never in a directory that was already there,
  // unless it was delegated to an unprivileged runjs: then its subtree_control is ours).
  let v2Avail = new Set<string>();
  if (unified) {
    const need = wanted.filter((c) => c !== "devices" && !fromV1(c)).map((c) => V2_NAME[c] ?? c).filter((c) => v2.V2_CONTROLLERS.includes(c));
    if (need.length) {
      const h = hostHierarchies().find((x) => x.version === 2 && unified.dir.startsWith(x.mountpoint + "/"));
      if (h) v2.enableControllers(h.mountpoint, unified.dir, need, mayEnable);
    }
    v2Avail = v2.controllersIn(unified.dir);
  }
  const target = (c: string): Target => {
    const d = fromV1(c);
    if (d) return { version: 1, dir: d.dir };
    if (unified && v2Avail.has(V2_NAME[c] ?? c)) return { version: 2, dir: unified.dir };
    const why = unified
      ? "is not available on this host (not mounted as cgroup v1, not enabled in the cgroup v2 tree)"
      : "is not available on this host";
    throw unavailable(FIELD[c] ?? c, c === "blkio" && unified && !dirs.some((x) => x.version === 1) ? "io" : c, why);
  };

  // runc's order of subsystems: cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_*, rdma.
  if (wanted.includes("cpuset")) {
    const t = target("cpuset");
    v1.cpuset(t.dir, r.cpu!);
  }
  if (wanted.includes("devices")) {
    const d = fromV1("devices");
    if (d) v1.devicesV1(d.dir, r.devices!);
    else if (unified) v2.devicesV2(unified.dir, r.devices!);
    else warn("linux.resources.devices: no devices controller on this host, not applied");
  }
  if (wanted.includes("memory")) {
    const t = target("memory");
    if (t.version === 1) v1.memoryV1(t.dir, r.memory!, warn);
    else v2.memoryV2(t.dir, r.memory!, warn);
  }
  if (wanted.includes("cpu")) {
    const t = target("cpu");
    (t.version === 1 ? v1.cpuV1 : v2.cpuV2)(t.dir, r.cpu!);
  }
  if (wanted.includes("pids")) {
    const v = pidsMax(r.pids!.limit!);
    let t: Target;
    try {
      t = target("pids");
    } catch {
      throw new CgroupError("pids.max", v, "linux.resources.pids: no pids controller on this host");
    }
    put(t.dir, "pids.max", v, "pids.limit");
  }
  if (wanted.includes("blkio")) {
    const t = target("blkio");
    (t.version === 1 ? v1.blkioV1 : v2.ioV2)(t.dir, r.blockIO!);
  }
  if (wanted.includes("hugetlb")) {
    const t = target("hugetlb");
    hugetlb(t.dir, t.version, r.hugepageLimits!);
  }
  for (const c of ["net_cls", "net_prio"]) {
    if (!wanted.includes(c)) continue;
    const d = fromV1(c);
    if (!d)
      throw unavailable(FIELD[c]!, c, dirs.some((x) => x.version === 1) ? "is not available on this host" : "does not exist in cgroup v2 (not supported)");
    if (c === "net_cls") v1.netClsV1(d.dir, r.network!.classID!);
    else v1.netPrioV1(d.dir, r.network!.priorities!);
  }
  if (wanted.includes("rdma")) v1.rdma(target("rdma").dir, r.rdma!);
  if (r.unified && Object.keys(r.unified).length) {
    if (!unified) throw new NotSupportedError("linux.resources.unified: cgroup v2 is not mounted on this host");
    // runc's rule: unified is for a host with only cgroup v2. On a hybrid host the
    // controllers live in v1 hierarchies, and a file of the same name in the v2 tree would not
    // limit what the config means to limit.
    if (dirs.some((d) => d.version === 1))
      throw new NotSupportedError("linux.resources.unified: invalid configuration: cannot use unified on cgroup v1 (this host has cgroup v1 hierarchies)");
    v2.unifiedV2(unified.dir, r.unified);
  }
}
