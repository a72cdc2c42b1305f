// Pure conversions between linux.resources values and what the cgroup files want.
//
// The OCI spec speaks cgroup v1 (cpu shares, blkio weight, memory+swap); cgroup v2 files
// take other units, so the values are converted the way runc converts them. Nothing here
// touches the filesystem: every function is unit-tested on its own.
import type { LinuxDeviceCgroup } from "../oci/spec.ts";

/** v1 cpu.shares (2..262144) → v2 cpu.weight (1..10000), runc's formula. 0: nothing asked. */
export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** v1 blkio.weight (10..1000) → v2 io.weight (1..10000), runc's formula. 0: nothing asked. */
export function blkioWeightToIoWeight(weight: number): number {
  if (!weight) return 0;
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/**
 * Spec swap is memory+swap (v1 memsw); v2 memory.swap.max is swap alone. runc's conversion:
 * 0 = unset, -1 = unlimited, and a limit of -1 with no swap asks for unlimited swap too.
 */
export function swapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new Error("unable to set swap limit without memory limit");
  if (limit < 0) throw new Error(`invalid memory value: ${limit}`);
  if (swap < limit) throw new Error("memory+swap limit should be >= memory limit");
  return swap - limit;
}

/** A limit in bytes for a v1 file ("-1" is unlimited there) or a v2 file ("max"). */
export function limitValue(n: number, version: 1 | 2): string {
  if (n < 0) return version === 1 ? "-1" : "max";
  return String(n);
}

/**
 * v1 needs memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every moment: when the
 * new memsw is above the current limit (raising), memsw goes first, else the limit does.
 */
export function memoryWriteOrder(currentLimit: number, swap: number): "swap-first" | "limit-first" {
  return swap === -1 || currentLimit < swap ? "swap-first" : "limit-first";
}

/** v2 cpu.max: "quota period", "max period", or without the period when none is given. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  let s = quota && quota > 0 ? String(quota) : "max";
  if (period) s += ` ${period}`;
  return s;
}

/** A v1 devices.allow/deny line: "c 1:3 rwm"; an absent or -1 number is "*"; type a is "a". */
export function deviceRule(d: LinuxDeviceCgroup): string {
  const type = d.type ?? "a";
  const access = d.access || "rwm";
  if (type === "a" && (d.major ?? -1) === -1 && (d.minor ?? -1) === -1 && access === "rwm") return "a";
  const n = (x: number | undefined) => (x === undefined || x === -1 ? "*" : String(x));
  if (!/^[rwm]+$/.test(access)) throw new Error(`access "${access}" is not some of rwm`);
  if (!["a", "b", "c"].includes(type)) throw new Error(`type "${type}" is not a, b or c`);
  return `${type} ${n(d.major)}:${n(d.minor)} ${access}`;
}

const UNITS = [
  ["GB", 1 << 30],
  ["MB", 1 << 20],
  ["KB", 1 << 10],
] as const;

/**
 * The kernel's name for a huge page size, as used in hugetlb.<size>.* files: "2MB", "1GB",
 * "64KB". Accepts "2MB", "2M", "2048kB", "1GiB" and the like; throws on anything else.
 */
export function hugepageSizeName(size: string): string {
  const m = /^(\d+)\s*([KMGkmg])?(i?[Bb])?$/.exec(size.trim());
  if (!m || !m[2]) throw new Error(`page size "${size}" is not a size such as 2MB`);
  const bytes = Number(m[1]) * ({ k: 1 << 10, m: 1 << 20, g: 1 << 30 } as Record<string, number>)[m[2].toLowerCase()]!;
  for (const [u, b] of UNITS) if (bytes >= b && bytes % b === 0) return `${bytes / b}${u}`;
  throw new Error(`page size "${size}" is not a whole number of KB`);
}

/** A "maj:min value" line for blkio files. */
export function blkioDeviceLine(d: { major: number; minor: number }, value: number): string {
  return `${d.major}:${d.minor} ${value}`;
}

/** v2 io.max lines, one per device: "8:0 rbps=1 wbps=max riops=.. wiops=..". */
export function ioMaxLines(b: {
  throttleReadBpsDevice?: { major: number; minor: number; rate: number }[];
  throttleWriteBpsDevice?: { major: number; minor: number; rate: number }[];
  throttleReadIOPSDevice?: { major: number; minor: number; rate: number }[];
  throttleWriteIOPSDevice?: { major: number; minor: number; rate: number }[];
}): string[] {
  const per = new Map<string, string[]>();
  const add = (list: { major: number; minor: number; rate: number }[] | undefined, key: string) => {
    for (const d of list ?? []) {
      const k = `${d.major}:${d.minor}`;
      if (!per.has(k)) per.set(k, []);
      per.get(k)!.push(`${key}=${d.rate > 0 ? d.rate : "max"}`);
    }
  };
  add(b.throttleReadBpsDevice, "rbps");
  add(b.throttleWriteBpsDevice, "wbps");
  add(b.throttleReadIOPSDevice, "riops");
  add(b.throttleWriteIOPSDevice, "wiops");
  return [...per].map(([k, v]) => `${k} ${v.join(" ")}`);
}
