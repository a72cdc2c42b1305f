// Resource usage of a container, read from its cgroups: what `events` reports.
//
// The kernel accounts every cgroup as it goes: CPU time (cpuacct.* in v1, cpu.stat in v2),
// memory charged to it (memory.usage_in_bytes / memory.current, with a breakdown in
// memory.stat), the number of tasks (pids.current) and block I/O. These are plain text
// files; this module only parses them into runc's stats shape, so the parsing is tested on
// sample contents. The caller supplies a reader: (controller, file) → text, or undefined
// when the file is not there.

export type Reader = (controller: string, file: string) => string | undefined;

/** 2^64-1, what runc reports for "no limit". */
export const UNLIMITED = 18446744073709551615;

/** Pure: "key value" lines into a map of numbers. */
export function parseKV(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Pure: a single-number file; "max" is no limit; absent or unreadable is 0. */
export function parseNum(text: string | undefined): number {
  const t = (text ?? "").trim();
  if (t === "max") return UNLIMITED;
  const n = Number(t);
  return Number.isFinite(n) && t !== "" ? n : 0;
}

/** Pure: space-separated numbers (cpuacct.usage_percpu). */
export function parseList(text: string | undefined): number[] {
  return (text ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Pure: v1 blkio "8:0 Read 1234" lines (the "Total" line is skipped). */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** Pure: v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" into bytes and ios entries. */
export function parseIoStat(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const kv: Record<string, number> = {};
    for (const p of m[3]!.split(/\s+/)) {
      const [k, v] = p.split("=");
      if (k && v !== undefined) kv[k] = Number(v);
    }
    if ("rbytes" in kv) bytes.push({ major, minor, op: "Read", value: kv.rbytes! });
    if ("wbytes" in kv) bytes.push({ major, minor, op: "Write", value: kv.wbytes! });
    if ("rios" in kv) ios.push({ major, minor, op: "Read", value: kv.rios! });
    if ("wios" in kv) ios.push({ major, minor, op: "Write", value: kv.wios! });
  }
  return { bytes, ios };
}

/** USER_HZ: cpuacct.stat counts in these ticks; runc reports nanoseconds. */
const TICK_NS = 1e9 / 100;

function usageEntry(r: Reader, c: string, prefix: string) {
  return {
    usage: parseNum(r(c, `${prefix}usage_in_bytes`)),
    max: parseNum(r(c, `${prefix}max_usage_in_bytes`)),
    failcnt: parseNum(r(c, `${prefix}failcnt`)),
    limit: parseNum(r(c, `${prefix}limit_in_bytes`)),
  };
}

/** Pure: runc's stats object from cgroup v1 files. */
export function statsV1(r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const acct = parseKV(r("cpuacct", "cpuacct.stat"));
  const thr = parseKV(r("cpu", "cpu.stat"));
  out.cpu = {
    usage: {
      total: parseNum(r("cpuacct", "cpuacct.usage")),
      percpu: parseList(r("cpuacct", "cpuacct.usage_percpu")),
      percpu_kernel: parseList(r("cpuacct", "cpuacct.usage_percpu_sys")),
      percpu_user: parseList(r("cpuacct", "cpuacct.usage_percpu_user")),
      kernel: (acct.system ?? 0) * TICK_NS,
      user: (acct.user ?? 0) * TICK_NS,
    },
    throttling: {
      periods: thr.nr_periods ?? 0,
      throttled_periods: thr.nr_throttled ?? 0,
      throttled_time: thr.throttled_time ?? 0,
    },
  };
  const raw = parseKV(r("memory", "memory.stat"));
  if (r("memory", "memory.usage_in_bytes") !== undefined) {
    out.memory = {
      cache: raw.total_cache ?? raw.cache ?? 0,
      usage: usageEntry(r, "memory", "memory."),
      swap: usageEntry(r, "memory", "memory.memsw."),
      kernel: usageEntry(r, "memory", "memory.kmem."),
      kernelTCP: usageEntry(r, "memory", "memory.kmem.tcp."),
      use_hierarchy: parseNum(r("memory", "memory.use_hierarchy")) === 1,
      raw,
    };
  }
  if (r("pids", "pids.current") !== undefined)
    out.pids = { current: parseNum(r("pids", "pids.current")), limit: limitOf(r("pids", "pids.max")) };
  if (r("blkio", "blkio.throttle.io_service_bytes_recursive") !== undefined || r("blkio", "blkio.io_service_bytes_recursive") !== undefined) {
    const b = (f: string) => parseBlkioV1(r("blkio", `blkio.${f}_recursive`) ?? r("blkio", `blkio.throttle.${f}_recursive`));
    out.blkio = {
      ioServiceBytesRecursive: b("io_service_bytes"),
      ioServicedRecursive: b("io_serviced"),
    };
  }
  return out;
}

/** pids.max "max" is no limit: runc reports 0 for it. */
function limitOf(text: string | undefined): number {
  return (text ?? "").trim() === "max" ? 0 : parseNum(text);
}

/** Pure: runc's stats object from a cgroup v2 directory ("" is the controller for all files). */
export function statsV2(r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const cpu = parseKV(r("", "cpu.stat"));
  out.cpu = {
    usage: {
      total: (cpu.usage_usec ?? 0) * 1000,
      percpu: [],
      kernel: (cpu.system_usec ?? 0) * 1000,
      user: (cpu.user_usec ?? 0) * 1000,
    },
    throttling: {
      periods: cpu.nr_periods ?? 0,
      throttled_periods: cpu.nr_throttled ?? 0,
      throttled_time: (cpu.throttled_usec ?? 0) * 1000,
    },
  };
  if (r("", "memory.current") !== undefined) {
    const raw = parseKV(r("", "memory.stat"));
    const ev = parseKV(r("", "memory.events"));
    out.memory = {
      cache: raw.file ?? 0,
      usage: {
        usage: parseNum(r("", "memory.current")),
        max: parseNum(r("", "memory.peak")),
        failcnt: ev.max ?? 0,
        limit: parseNum(r("", "memory.max")),
      },
      swap: {
        usage: parseNum(r("", "memory.swap.current")),
        max: parseNum(r("", "memory.swap.peak")),
        failcnt: 0,
        limit: parseNum(r("", "memory.swap.max")),
      },
      raw,
    };
  }
  if (r("", "pids.current") !== undefined) out.pids = { current: parseNum(r("", "pids.current")), limit: limitOf(r("", "pids.max")) };
  const io = r("", "io.stat");
  if (io !== undefined) {
    const { bytes, ios } = parseIoStat(io);
    out.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
  }
  return out;
}

/** Pure: the OOM-kill counter from memory.oom_control (v1) or memory.events (v2). */
export function oomKills(text: string | undefined): number {
  return parseKV(text).oom_kill ?? 0;
}
