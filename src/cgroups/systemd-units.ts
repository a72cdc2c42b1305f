// What the systemd cgroup driver asks of systemd, decided here and pure (unit-tested without
// systemd): the unit a container gets and the properties it is started with.
//
// With systemd managing a host's cgroups, a runtime does not make its own directories: it
// asks systemd for a transient scope unit holding the container's init, in a slice (a slice
// is a unit that is only a cgroup; its name spells its place: a-b-c.slice lives in
// /a.slice/a-b.slice/a-b-c.slice). The container's linux.cgroupsPath says which, runc's way:
// "slice:prefix:name" gives the unit prefix-name.scope in slice (name ending ".slice" makes
// the container a slice of its own). Resources that systemd understands (devices too) become unit
// properties, so that systemd's view of the unit agrees with the cgroup files and a daemon
// reload does not undo them; the driver writes every resource to the cgroup files too.
import { UsageError } from "../errors.ts";
import type { LinuxResources } from "../oci/spec.ts";
import { nodeList } from "../oci/validate.ts";
import type { Typed } from "../sys/sdbus.ts";
import { blkioWeightToIoWeight, sharesToWeight, swapToV2 } from "./convert.ts";
import { ACC_MKNOD, ACC_READ, ACC_WRITE, emulateV1 } from "./devices-bpf.ts";
import { deviceWrites } from "./v1.ts";

export interface SystemdUnit {
  /** The unit's slice ("system.slice"; "-.slice" is the root slice). */
  slice: string;
  /** The unit: prefix-name.scope, name.scope, or a slice. */
  unit: string;
  /** The unit's cgroup below its manager's own cgroup: /system.slice/runjs-c1.scope. */
  path: string;
}

const SLICE_PART = /^[a-zA-Z0-9:_.\\]+$/;
/** systemd's longest unit name (UNIT_NAME_MAX less its NUL). */
const UNIT_NAME_MAX = 255;

/** A slice's cgroup path: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "". */
export function expandSlice(slice: string, what = "linux.cgroupsPath"): string {
  const bad = (why: string) => new UsageError(`${what}: invalid slice name ${JSON.stringify(slice)}: ${why}`);
  if (!slice.endsWith(".slice")) throw bad('a slice name ends in ".slice"');
  if (slice.includes("/")) throw bad('it contains "/"');
  if (slice === "-.slice") return "";
  const name = slice.slice(0, -".slice".length);
  if (name === "" || name.startsWith("-") || name.endsWith("-") || name.includes("--")) throw bad('"-" separates non-empty parts');
  let path = "";
  let prefix = "";
  for (const part of name.split("-")) {
    if (!SLICE_PART.test(part)) throw bad(`${JSON.stringify(part)} has characters systemd does not allow in a unit name`);
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** linux.cgroupsPath "slice:prefix:name" (absent: runc's default, with runjs as the prefix). */
export function systemdUnit(cgroupsPath: string | undefined, id: string, rootless: boolean): SystemdUnit {
  const given = cgroupsPath ?? `${rootless ? "user.slice" : "system.slice"}:runjs:${id}`;
  const parts = given.split(":");
  if (parts.length !== 3)
    throw new UsageError(`linux.cgroupsPath: expected "slice:prefix:name" for the systemd cgroup driver, got ${JSON.stringify(given)}`);
  const [slice0, prefix, name] = parts as [string, string, string];
  const slice = slice0 === "" ? (rootless ? "user.slice" : "system.slice") : slice0 === "-" ? "-.slice" : slice0;
  if (name === "") throw new UsageError(`linux.cgroupsPath: ${JSON.stringify(given)}: the name (after the second ":") is empty`);
  const unitOk = /^[a-zA-Z0-9:_.\\-]+$/;
  if (!unitOk.test(name) || (prefix !== "" && !unitOk.test(prefix)))
    throw new UsageError(`linux.cgroupsPath: ${JSON.stringify(given)}: a unit name takes letters, digits and : _ . \\ - only`);
  const sliceDir = expandSlice(slice);
  if (name.endsWith(".slice")) {
    // the container is a slice of its own, below the given one (runc: the name must extend it)
    const own = expandSlice(name);
    const parentOf = slice === "-.slice" ? "" : sliceDir;
    if (parentOf && !own.startsWith(parentOf + "/"))
      throw new UsageError(`linux.cgroupsPath: ${JSON.stringify(given)}: the slice ${name} is not below ${slice}`);
    return { slice, unit: name, path: own };
  }
  const unit = prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  if (unit.length > UNIT_NAME_MAX)
    throw new UsageError(`linux.cgroupsPath: ${JSON.stringify(given)}: the unit name ${unit.slice(0, 40)}… is ${unit.length} characters, systemd takes ${UNIT_NAME_MAX} at most`);
  return { slice, unit, path: `${sliceDir}/${unit}` };
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** -1 (or anything negative) means "no limit": systemd's infinity. */
const limit = (n: number) => (n < 0 ? U64_MAX : BigInt(n));

/** A CPU or memory-node list ("0-2,4") as systemd's bitmask bytes: bit N of byte N/8. */
export function bitmask(list: string): Uint8Array {
  const ns = nodeList(list);
  const out = new Uint8Array(ns.length ? Math.floor(Math.max(...ns) / 8) + 1 : 0);
  for (const n of ns) out[n >> 3]! |= 1 << (n & 7);
  return out;
}

/**
 * The resource properties systemd expresses itself, for a unit on cgroup v1 or v2 (runc's
 * choice of names and conversions). Devices, hugetlb, rdma, network classes, swappiness,
 * realtime and I/O throttling are not among them: the driver writes those to the cgroup files.
 */
export function resourceProperties(r: LinuxResources | undefined, version: 1 | 2): [string, Typed][] {
  const out: [string, Typed][] = [];
  if (!r) return out;
  const m = r.memory;
  if (m?.limit !== undefined && m.limit !== 0) out.push([version === 2 ? "MemoryMax" : "MemoryLimit", ["t", limit(m.limit)]]);
  if (version === 2 && m?.reservation !== undefined && m.reservation !== 0) out.push(["MemoryLow", ["t", limit(m.reservation)]]);
  if (version === 2 && m?.swap !== undefined && m.swap !== 0) {
    const swap = swapToV2(m.swap, m.limit ?? -1);
    out.push(["MemorySwapMax", ["t", swap < 0 ? U64_MAX : BigInt(swap)]]);
  }
  const c = r.cpu;
  if (c?.shares) out.push(version === 2 ? ["CPUWeight", ["t", BigInt(sharesToWeight(c.shares))]] : ["CPUShares", ["t", BigInt(c.shares)]]);
  if (c?.period) out.push(["CPUQuotaPeriodUSec", ["t", BigInt(c.period)]]);
  if (c?.quota !== undefined && c.quota !== 0) {
    // systemd keeps a quota per second in whole percent: round up to 10 ms, as runc does
    const period = c.period || 100000;
    let perSec = c.quota < 0 ? U64_MAX : (BigInt(c.quota) * 1000000n) / BigInt(period);
    if (perSec !== U64_MAX && perSec % 10000n) perSec = (perSec / 10000n + 1n) * 10000n;
    out.push(["CPUQuotaPerSecUSec", ["t", perSec]]);
  }
  if (version === 2 && c?.cpus) out.push(["AllowedCPUs", ["ay", bitmask(c.cpus)]]);
  if (version === 2 && c?.mems) out.push(["AllowedMemoryNodes", ["ay", bitmask(c.mems)]]);
  if (r.pids?.limit !== undefined && r.pids.limit !== 0) out.push(["TasksMax", ["t", limit(r.pids.limit)]]);
  const w = r.blockIO?.weight;
  if (w) out.push(version === 2 ? ["IOWeight", ["t", BigInt(blkioWeightToIoWeight(w))]] : ["BlockIOWeight", ["t", BigInt(w)]]);
  return out;
}

/**
 * linux.resources.devices (with runc's default list after it, as the files get them) as
 * DevicePolicy and DeviceAllow. The rules are replayed the way the kernel's v1 controller
 * reads them (the same state runjs builds its own eBPF program from): a default of deny is
 * DevicePolicy=strict with one DeviceAllow per exception ("/dev/char/1:3 rwm", "char-*",
 * "block-*"; a whole major by its /proc/devices name, "char-pts"); a default of allow cannot
 * be said to systemd (it has no deny list), so it is left at auto and runjs's program alone
 * enforces the exceptions. An exception whose major has no name is left out of systemd's
 * list with a warning (runjs's own program still allows it).
 */
export function deviceProperties(
  rules: LinuxResources["devices"],
  names: { char: Map<number, string>; block: Map<number, string> },
  warn: (m: string) => void,
): [string, Typed][] {
  if (!rules?.length) return [];
  const st = emulateV1(deviceWrites(rules).map((w) => ({ allow: w.file === "devices.allow", line: w.line })));
  if (st.defaultAllow) return [];
  const allow: [string, string][] = [];
  for (const e of st.exceptions) {
    const acc = (e.access & ACC_READ ? "r" : "") + (e.access & ACC_WRITE ? "w" : "") + (e.access & ACC_MKNOD ? "m" : "");
    const kind = e.type === "c" ? "char" : "block";
    if (e.major < 0) allow.push([`${kind}-*`, acc]);
    else if (e.minor >= 0) allow.push([`/dev/${kind}/${e.major}:${e.minor}`, acc]);
    else {
      const name = names[kind].get(e.major);
      if (name) allow.push([`${kind}-${name}`, acc]);
      else warn(`linux.resources.devices: ${e.type} ${e.major}:* has no name in /proc/devices: left out of systemd's DeviceAllow`);
    }
  }
  return [
    ["DevicePolicy", ["s", "strict"]],
    // DeviceAllow adds to the list a unit has: an empty one first resets it (for update)
    ["DeviceAllow", ["a(ss)", []]],
    ["DeviceAllow", ["a(ss)", allow]],
  ];
}

/** /proc/devices: the name of each character and block major. */
export function parseProcDevices(text: string): { char: Map<number, string>; block: Map<number, string> } {
  const out = { char: new Map<number, string>(), block: new Map<number, string>() };
  let into: Map<number, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("Character devices")) into = out.char;
    else if (line.startsWith("Block devices")) into = out.block;
    else {
      const m = /^\s*(\d+) (\S+)$/.exec(line);
      if (m && into && !into.has(Number(m[1]))) into.set(Number(m[1]), m[2]!);
    }
  }
  return out;
}

const ANNOTATION = "org.systemd.property.";

/**
 * `org.systemd.property.NAME` annotations, passed on as unit properties (runc's extension).
 * VALUE in GVariant text: true/false, 'string' or "string", a typed number (uint64 5, @t 5,
 * uint32 5, @u 5, int64 -5, @x -5); a bare number is a uint64 for a *Sec property (µs).
 */
export function annotationProperties(annotations: Record<string, string> | undefined): [string, Typed][] {
  const out: [string, Typed][] = [];
  for (const [k, raw] of Object.entries(annotations ?? {})) {
    if (!k.startsWith(ANNOTATION)) continue;
    const name = k.slice(ANNOTATION.length);
    const bad = (why: string) => new UsageError(`annotations[${JSON.stringify(k)}]: ${why}`);
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw bad("not a systemd property name");
    const v = raw.trim();
    let typed: Typed | undefined;
    if (v === "true" || v === "false") typed = ["b", v === "true"];
    else if (/^'.*'$|^".*"$/.test(v)) typed = ["s", v.slice(1, -1)];
    else {
      const m = /^(?:(uint64|@t|uint32|@u|int64|@x)\s+)?(-?\d+)$/.exec(v);
      const kind = m?.[1] ? ({ uint64: "t", "@t": "t", uint32: "u", "@u": "u", int64: "x", "@x": "x" } as Record<string, string>)[m[1]]! : m && name.endsWith("Sec") ? "t" : undefined;
      if (m && kind) {
        if ((kind === "t" || kind === "u") && m[2]!.startsWith("-")) throw bad(`${v}: an unsigned value cannot be negative`);
        typed = [kind, kind === "u" ? Number(m[2]) : BigInt(m[2]!)];
      }
    }
    if (!typed) throw bad(`cannot parse ${JSON.stringify(raw)} (true, false, 'text', or a typed number such as "uint64 5")`);
    out.push([name, typed]);
  }
  return out;
}

/** Every property of the container's transient unit, for StartTransientUnit. */
export function unitProperties(o: {
  id: string;
  unit: Pick<SystemdUnit, "slice" | "unit">;
  pid: number;
  version: 1 | 2;
  resources?: LinuxResources;
  annotations?: Record<string, string>;
  /** Major names (parseProcDevices), for devices. */
  deviceNames?: { char: Map<number, string>; block: Map<number, string> };
  warn?: (m: string) => void;
}): [string, Typed][] {
  const isSlice = o.unit.unit.endsWith(".slice");
  const props: [string, Typed][] = [
    ["Description", ["s", `runjs container ${o.id}`]],
    isSlice ? ["Wants", ["s", o.unit.slice]] : ["Slice", ["s", o.unit.slice]],
    // the container's own manager (if it runs systemd) may make cgroups below
    ["Delegate", ["b", true]],
    ["MemoryAccounting", ["b", true]],
    ["CPUAccounting", ["b", true]],
    ["TasksAccounting", ["b", true]],
    [o.version === 2 ? "IOAccounting" : "BlockIOAccounting", ["b", true]],
    // no ordering against shutdown.target and the like: the container is stopped by its runtime
    ["DefaultDependencies", ["b", false]],
  ];
  if (!isSlice) props.push(["PIDs", ["au", [o.pid]]]);
  props.push(
    ...resourceProperties(o.resources, o.version),
    ...deviceProperties(o.resources?.devices, o.deviceNames ?? { char: new Map(), block: new Map() }, o.warn ?? (() => {})),
    ...annotationProperties(o.annotations),
  );
  return props;
}
