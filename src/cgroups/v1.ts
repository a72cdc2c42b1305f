// cgroup v1 writers: one function per controller, each given that controller's directory.
//
//   memory   caps RAM (limit_in_bytes), RAM+swap (memsw), soft limit, swappiness, OOM killer
//   cpu      CFS share/quota/period/burst, real-time budget and SCHED_IDLE (cpu.idle)
//   cpuset   which CPUs and memory nodes the tasks may use
//   pids     caps the number of tasks (fork fails with EAGAIN past it)
//   blkio    proportional weights (CFQ/BFQ files) and per-device throttles
//   hugetlb  caps huge page use per page size
//   net_cls  tags packets with a class id; net_prio sets per-interface priorities
//   rdma     caps RDMA handles and objects per device
//   devices  allow/deny lists for opening and mknod of device nodes
//
// Values are written in runc's order where the kernel checks one file against another.
import type { LinuxBlockIO, LinuxCPU, LinuxDeviceCgroup, LinuxMemory, LinuxResources } from "../oci/spec.ts";
import { CgroupError, NotSupportedError } from "../errors.ts";
import { blkioDeviceLine, deviceRule, limitValue, memoryWriteOrder } from "./convert.ts";
import { has, put, read, type Warn } from "./files.ts";

export function memoryV1(dir: string, m: LinuxMemory, warn: Warn): void {
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  if (limit === -1 && swap === 0) swap = -1; // unlimited memory: unlimited memory+swap too
  if (m.checkBeforeUpdate && limit > 0) {
    const usage = Number(read(dir, "memory.usage_in_bytes"));
    if (limit < usage)
      throw new CgroupError(`${dir}/memory.limit_in_bytes`, String(limit), `linux.resources.memory.limit: below the current usage (${usage} bytes)`);
  }
  const writeLimit = () => limit && put(dir, "memory.limit_in_bytes", limitValue(limit, 1), "memory.limit");
  const writeSwap = () => swap && put(dir, "memory.memsw.limit_in_bytes", limitValue(swap, 1), "memory.swap");
  if (swap && !has(dir, "memory.memsw.limit_in_bytes"))
    throw new NotSupportedError("linux.resources.memory.swap: memory.memsw.limit_in_bytes is not available on this host (swap accounting is off)");
  if (limit && swap) {
    const cur = Number(read(dir, "memory.limit_in_bytes"));
    if (memoryWriteOrder(cur, swap) === "swap-first") (writeSwap(), writeLimit());
    else (writeLimit(), writeSwap());
  } else {
    writeLimit();
    writeSwap();
  }
  if (m.reservation) put(dir, "memory.soft_limit_in_bytes", limitValue(m.reservation, 1), "memory.reservation");
  for (const [field, file, v] of [
    ["kernel", "memory.kmem.limit_in_bytes", m.kernel],
    ["kernelTCP", "memory.kmem.tcp.limit_in_bytes", m.kernelTCP],
  ] as const) {
    if (!v) continue;
    try {
      put(dir, file, limitValue(v, 1), `memory.${field}`);
      // Newer kernels accept the write and ignore it (memory.kmem.limit_in_bytes since 6.1).
      const got = Number(read(dir, file));
      if (v > 0 && Math.abs(got - v) >= 65536) warn(`linux.resources.memory.${field}: not applied, the kernel ignores ${file}`);
    } catch (e: any) {
      // Kernel memory limits are deprecated (5.4) and gone for writing in newer kernels.
      warn(`linux.resources.memory.${field}: not applied, ${file}: ${e.message.replace(/^.*: /, "")}`);
    }
  }
  if (m.swappiness !== undefined && m.swappiness !== null) {
    if (m.swappiness < 0 || m.swappiness > 100)
      throw new CgroupError(`${dir}/memory.swappiness`, String(m.swappiness), "linux.resources.memory.swappiness: must be 0..100");
    put(dir, "memory.swappiness", String(m.swappiness), "memory.swappiness");
  }
  if (m.disableOOMKiller) put(dir, "memory.oom_control", "1", "memory.disableOOMKiller");
  if (m.useHierarchy !== undefined) put(dir, "memory.use_hierarchy", m.useHierarchy ? "1" : "0", "memory.useHierarchy");
}

export function cpuV1(dir: string, c: LinuxCPU): void {
  // Real-time first (runc's order). The kernel checks the runtime against the period, so a
  // period shorter than the current runtime is refused (EINVAL) until the runtime is lowered:
  // then write the runtime and the period again, as runc does.
  let rtPeriodLeft = false;
  if (c.realtimePeriod) {
    try {
      put(dir, "cpu.rt_period_us", String(c.realtimePeriod), "cpu.realtimePeriod");
    } catch (e) {
      if (!(e instanceof CgroupError && e.code === "EINVAL" && c.realtimeRuntime)) throw e;
      rtPeriodLeft = true;
    }
  }
  if (c.realtimeRuntime) put(dir, "cpu.rt_runtime_us", String(c.realtimeRuntime), "cpu.realtimeRuntime");
  if (rtPeriodLeft) put(dir, "cpu.rt_period_us", String(c.realtimePeriod), "cpu.realtimePeriod");
  if (c.shares) put(dir, "cpu.shares", String(c.shares), "cpu.shares");
  // A shorter period can be refused (EINVAL) until the quota fits it: retry after the quota.
  let periodLeft = false;
  if (c.period) {
    try {
      put(dir, "cpu.cfs_period_us", String(c.period), "cpu.period");
    } catch (e) {
      if (!c.quota || !(e instanceof CgroupError) || e.code !== "EINVAL") throw e;
      periodLeft = true;
    }
  }
  if (c.quota) {
    put(dir, "cpu.cfs_quota_us", String(c.quota > 0 ? c.quota : -1), "cpu.quota");
    if (periodLeft) put(dir, "cpu.cfs_period_us", String(c.period), "cpu.period");
  }
  // burst and idle are written when given, 0 included (update takes them back to 0)
  if (c.burst !== undefined && c.burst !== null) put(dir, "cpu.cfs_burst_us", String(c.burst), "cpu.burst");
  if (c.idle !== undefined && c.idle !== null) put(dir, "cpu.idle", String(c.idle), "cpu.idle");
}

/** cpuset.cpus and cpuset.mems: the same files in v1 and v2. */
export function cpuset(dir: string, c: LinuxCPU): void {
  if (c.cpus) put(dir, "cpuset.cpus", c.cpus, "cpu.cpus");
  if (c.mems) put(dir, "cpuset.mems", c.mems, "cpu.mems");
}

export function blkioV1(dir: string, b: LinuxBlockIO): void {
  // CFQ's files are blkio.weight*; with BFQ they are blkio.bfq.weight*.
  const pick = (name: string) => (has(dir, `blkio.${name}`) || !has(dir, `blkio.bfq.${name}`) ? `blkio.${name}` : `blkio.bfq.${name}`);
  if (b.weight) put(dir, pick("weight"), String(b.weight), "blockIO.weight");
  if (b.leafWeight) put(dir, "blkio.leaf_weight", String(b.leafWeight), "blockIO.leafWeight");
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) put(dir, pick("weight_device"), blkioDeviceLine(d, d.weight), `blockIO.weightDevice[${i}].weight`);
    if (d.leafWeight) put(dir, "blkio.leaf_weight_device", blkioDeviceLine(d, d.leafWeight), `blockIO.weightDevice[${i}].leafWeight`);
  });
  for (const [key, file] of [
    ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
    ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
    ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
    ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
  ] as const)
    (b[key] ?? []).forEach((d, i) => put(dir, file, blkioDeviceLine(d, d.rate), `blockIO.${key}[${i}]`));
}

export function netClsV1(dir: string, classID: number): void {
  put(dir, "net_cls.classid", String(classID), "network.classID");
}

export function netPrioV1(dir: string, prios: { name: string; priority: number }[]): void {
  prios.forEach((p, i) => put(dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`, `network.priorities[${i}]`));
}

/** rdma.max lines, "mlx4_0 hca_handle=2 hca_object=max" (the same file in v1 and v2). */
export function rdmaLines(rdma: NonNullable<LinuxResources["rdma"]>): string[] {
  return Object.entries(rdma).flatMap(([dev, l]) => {
    const parts: string[] = [];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    return parts.length ? [`${dev} ${parts.join(" ")}`] : [];
  });
}

export function rdma(dir: string, r: NonNullable<LinuxResources["rdma"]>): void {
  for (const l of rdmaLines(r)) put(dir, "rdma.max", l, `rdma.${l.split(" ")[0]}`);
}

/**
 * The devices every container needs, allowed after the spec's rules as runc does: mknod of
 * any node (access still checked on open), and the standard /dev entries and ptys.
 */
export const DEFAULT_DEVICE_RULES: LinuxDeviceCgroup[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  ...[3, 5, 7, 8, 9].map((minor) => ({ allow: true, type: "c" as const, major: 1, minor, access: "rwm" })), // null zero full random urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // console
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // tun
];

/** The lines to write, in order: deny everything, then each rule, then the defaults. */
export function deviceWrites(rules: LinuxDeviceCgroup[]): { file: "devices.allow" | "devices.deny"; line: string; field: string }[] {
  const out: { file: "devices.allow" | "devices.deny"; line: string; field: string }[] = [
    { file: "devices.deny", line: "a", field: "devices" },
  ];
  const render = (d: LinuxDeviceCgroup, field: string) => {
    try {
      return deviceRule(d);
    } catch (e: any) {
      throw new NotSupportedError(`linux.resources.${field}: ${e.message}`);
    }
  };
  rules.forEach((d, i) => out.push({ file: d.allow ? "devices.allow" : "devices.deny", line: render(d, `devices[${i}]`), field: `devices[${i}]` }));
  for (const d of DEFAULT_DEVICE_RULES) out.push({ file: "devices.allow", line: render(d, "devices"), field: "devices (default rule)" });
  return out;
}

export function devicesV1(dir: string, rules: LinuxDeviceCgroup[]): void {
  for (const w of deviceWrites(rules)) put(dir, w.file, w.line, w.field);
}
