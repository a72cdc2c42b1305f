// config.json validation: everything is checked here, before anything touches the system.
//
// A container that fails half-way through `create` leaves namespaces, cgroups, mounts and
// processes to undo; a config that fails here leaves nothing. So every value the later layers
// read is type-checked and range-checked up front, and every error names the JSON path of
// the offending value ("config.json: linux.namespaces[2].type: unknown namespace type ...").
//
// The validator is a list of small named checks, run in order; the first failure throws a
// ValidationError. It is synchronous and pure: no file system, no /proc, no environment, so
// facts about the host (does the rootfs exist, is that netns the host's) are checked later.
// Unknown fields are ignored, as config.md's Extensibility section requires; JSON null is
// not taken for "absent" (Go writers omit empty optional fields; they never write null).

import { ValidationError } from "./errors.ts";
import { canonicalKeys } from "./keys.ts";
import { OCI_VERSION, type Spec } from "./spec.ts";

export interface ValidateOptions {
  /** Absolute path of the bundle directory. */
  bundle: string;
  /** create and run need a process; delete (for poststop hooks) does not. Default true. */
  requireProcess?: boolean;
  /** Receives non-fatal findings (deprecated forms), already formatted like errors. */
  warn?: (message: string) => void;
  /** Run only the checks whose name starts with "process" (exec: the rest was checked at create). */
  processOnly?: boolean;
}

export function validateSpec(raw: unknown, opts: ValidateOptions): Spec {
  if (typeof opts.bundle !== "string" || !opts.bundle.startsWith("/")) {
    throw new Error(`validateSpec: bundle must be an absolute path, got ${JSON.stringify(opts.bundle)}`);
  }
  const doc = object(canonicalKeys(raw), "");
  const ctx: Ctx = {
    requireProcess: opts.requireProcess ?? true,
    warn: opts.warn ?? (() => {}),
    ns: new Map(),
  };
  for (const check of CHECKS) if (!opts.processOnly || check.name.startsWith("process")) check.run(doc, ctx);
  return doc as unknown as Spec;
}

/** A uint64 field as the exact value for the kernel. 2^64 - 1 reaches JSON.parse as 2^64. */
export function u64(n: number): bigint {
  return n >= 2 ** 64 - 1 ? 0xffff_ffff_ffff_ffffn : BigInt(n);
}

// ---- readers: each checks one value and names its path on failure ----------------------------

type Json = Record<string, unknown>;
type Read<T = unknown> = (v: unknown, path: string) => T;

function fail(path: string, problem: string): never {
  throw new ValidationError(path, problem);
}

function q(s: string): string {
  return JSON.stringify(s);
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of a member: `a.b`, or `a["b.c"]` when the key is not an identifier. */
function at(path: string, key: string): string {
  if (!IDENT.test(key)) return `${path}[${q(key)}]`;
  return path === "" ? key : `${path}.${key}`;
}

function has(o: Json, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== undefined;
}

function need(o: Json, key: string, path: string): unknown {
  if (!has(o, key)) fail(at(path, key), "required");
  return o[key];
}

/** Read an optional member; undefined when absent. */
function opt<T>(o: Json, key: string, path: string, read: Read<T>): T | undefined {
  return has(o, key) ? read(o[key], at(path, key)) : undefined;
}

/** An already-validated object member of doc (process, linux), or undefined. */
function section(doc: Json, key: string): Json | undefined {
  return has(doc, key) ? (doc[key] as Json) : undefined;
}

function object(v: unknown, path: string): Json {
  if (kind(v) !== "object") fail(path, `must be an object, got ${kind(v)}`);
  return v as Json;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${kind(v)}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, `must be a boolean, got ${kind(v)}`);
  return v;
}

/** Any string (annotation values are opaque). */
function text(v: unknown, path: string): string {
  if (typeof v !== "string") fail(path, `must be a string, got ${kind(v)}`);
  return v;
}

/** A string that reaches a system call, so it cannot hold a NUL byte. */
function str(v: unknown, path: string): string {
  const s = text(v, path);
  if (s.includes("\0")) fail(path, "must not contain a nul byte");
  return s;
}

function nonEmpty(s: string, path: string): string {
  if (s === "") fail(path, "must not be empty");
  return s;
}

function absolute(v: unknown, path: string): string {
  const s = str(v, path);
  if (!s.startsWith("/")) fail(path, "must be absolute");
  return s;
}

function stringList(v: unknown, path: string): string[] {
  return array(v, path).map((s, i) => str(s, `${path}[${i}]`));
}

// environ(7) entries: NAME=value, NAME not empty.
function envList(v: unknown, path: string): string[] {
  return array(v, path).map((e, i) => {
    const p = `${path}[${i}]`;
    const s = str(e, p);
    const eq = s.indexOf("=");
    if (eq === -1) fail(p, `must be NAME=value, got ${q(s)}`);
    if (eq === 0) fail(p, `must have a name before "=", got ${q(s)}`);
    return s;
  });
}

function idMappings(v: unknown, path: string): unknown[] {
  const list = array(v, path);
  list.forEach((m, i) => {
    const p = `${path}[${i}]`;
    const o = object(m, p);
    uint(U32)(need(o, "containerID", p), `${p}.containerID`);
    uint(U32)(need(o, "hostID", p), `${p}.hostID`);
    uint({ min: 1, max: U32.max })(need(o, "size", p), `${p}.size`);
  });
  return list;
}

interface Range {
  min: number;
  max: number;
  span?: string; // "min and max" as written, when a double cannot print them exactly
}

const U16: Range = { min: 0, max: 0xffff };
const U32: Range = { min: 0, max: 0xffff_ffff };
const I32: Range = { min: -(2 ** 31), max: 2 ** 31 - 1 };
// JSON.parse rounds 2^64 - 1 up to 2^64 and 2^63 - 1 up to 2^63; accept the rounded values.
const U64: Range = { min: 0, max: 2 ** 64, span: "0 and 18446744073709551615" };
const I64: Range = { min: -(2 ** 63), max: 2 ** 63, span: "-9223372036854775808 and 9223372036854775807" };
const I64POS: Range = { min: 0, max: 2 ** 63, span: "0 and 9223372036854775807" };

function int(range: Range): Read<number> {
  return (v, path) => {
    if (typeof v !== "number") fail(path, `must be an integer, got ${kind(v)}`);
    if (!Number.isInteger(v)) fail(path, `must be an integer, got ${v}`);
    if (v < range.min && range.min === 0) fail(path, `must not be negative, got ${v}`);
    if (v < range.min && range.min === 1) fail(path, `must be greater than 0, got ${v}`);
    if (v < range.min || v > range.max) {
      fail(path, `must be between ${range.span ?? `${range.min} and ${range.max}`}, got ${v}`);
    }
    return v;
  };
}

const uint = int; // same reader; the name says which ranges are meant

function oneOf(values: readonly string[]): Read<string> {
  return (v, path) => {
    const s = str(v, path);
    if (!values.includes(s)) fail(path, `must be one of ${values.join(", ")}, got ${q(s)}`);
    return s;
  };
}

function arrayOf(read: Read): Read<unknown[]> {
  return (v, path) => {
    const list = array(v, path);
    list.forEach((x, i) => read(x, `${path}[${i}]`));
    return list;
  };
}

function mapOf(read: Read): Read<Json> {
  return (v, path) => {
    const o = object(v, path);
    for (const [k, x] of Object.entries(o)) read(x, at(path, k));
    return o;
  };
}

function fields(shape: Record<string, Read>, required: string[] = []): Read<Json> {
  return (v, path) => {
    const o = object(v, path);
    for (const k of required) need(o, k, path);
    for (const [k, read] of Object.entries(shape)) opt(o, k, path, read);
    return o;
  };
}

// ---- the checks -----------------------------------------------------------------------------

interface Ctx {
  requireProcess: boolean;
  warn: (message: string) => void;
  /** Filled by the linux.namespaces check: type → where it was declared. */
  ns: Map<string, { index: number; path?: string }>;
}

interface Check {
  name: string;
  run: (doc: Json, ctx: Ctx) => void;
}

const CHECKS: Check[] = [
  { name: "ociVersion", run: checkVersion },
  { name: "root", run: checkRoot },
  { name: "process", run: checkProcess },
  { name: "process.user", run: checkUser },
  { name: "process.rlimits", run: checkRlimits },
  { name: "process.capabilities", run: checkCapabilities },
  { name: "process (linux fields)", run: checkProcessLinux },
  { name: "hostname, domainname", run: checkNames },
  { name: "annotations", run: checkAnnotations },
  { name: "mounts", run: checkMounts },
  { name: "hooks", run: checkHooks },
  { name: "linux", run: checkLinux },
  { name: "linux.namespaces", run: checkNamespaces },
  { name: "linux.idMappings", run: checkIdMappings },
  { name: "linux.timeOffsets", run: checkTimeOffsets },
  { name: "linux.devices", run: checkDevices },
  { name: "linux.maskedPaths, readonlyPaths", run: checkMaskedReadonly },
  { name: "linux.rootfsPropagation", run: checkPropagation },
  { name: "linux.sysctl", run: checkSysctl },
  { name: "linux.resources", run: checkResources },
  { name: "linux.seccomp", run: checkSeccomp },
  { name: "linux (other fields)", run: checkLinuxMisc },
  { name: "uts namespace", run: checkUtsNamespace },
];

/** The names of the checks, in the order they run. */
export const CHECK_NAMES: readonly string[] = CHECKS.map((c) => c.name);

// ociVersion: SemVer 2.0.0, major 1. Configs are compatible within a major version; a newer
// minor is accepted (its new fields are unknown to us, hence ignored) with a warning.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function checkVersion(doc: Json, ctx: Ctx): void {
  const v = str(need(doc, "ociVersion", ""), "ociVersion");
  const m = SEMVER.exec(v);
  if (!m) fail("ociVersion", `must be a semver version such as "${OCI_VERSION}", got ${q(v)}`);
  if (m[1] !== "1") fail("ociVersion", `unsupported version ${v}, this runtime supports 1.x`);
  const ours = Number(OCI_VERSION.split(".")[1]);
  if (Number(m[2]) > ours) {
    ctx.warn(`config.json: ociVersion: ${v} is newer than ${OCI_VERSION}; fields this runtime does not know are ignored`);
  }
}

function checkRoot(doc: Json): void {
  const root = object(need(doc, "root", ""), "root");
  nonEmpty(str(need(root, "path", "root"), "root.path"), "root.path");
  opt(root, "readonly", "root", bool);
}

// process: args, cwd, env and the plain fields. Required for create/run (runtime.md: it is
// REQUIRED when start is called, and create is what prepares start).
function checkProcess(doc: Json, ctx: Ctx): void {
  if (!has(doc, "process")) {
    if (ctx.requireProcess) fail("process", "required");
    return;
  }
  const p = object(doc.process, "process");
  const args = array(need(p, "args", "process"), "process.args");
  if (args.length === 0) fail("process.args", "must not be empty");
  args.forEach((a, i) => str(a, `process.args[${i}]`));
  if (args[0] === "") fail("process.args[0]", "must not be empty");
  absolute(need(p, "cwd", "process"), "process.cwd");
  opt(p, "env", "process", envList);
  opt(p, "terminal", "process", bool);
  opt(p, "consoleSize", "process", fields({ height: uint(U32), width: uint(U32) }, ["height", "width"]));
}

function checkUser(doc: Json): void {
  const p = section(doc, "process");
  if (!p || !has(p, "user")) return;
  const user = object(p.user, "process.user");
  // The schema requires uid and gid, but runc takes a missing one as 0 (Go's zero value), and
  // bundles edited with jq rely on it: so does runjs.
  opt(user, "uid", "process.user", uint(U32));
  opt(user, "gid", "process.user", uint(U32));
  opt(user, "umask", "process.user", uint({ min: 0, max: 0o777, span: "0 and 511 (0o777)" }));
  opt(user, "additionalGids", "process.user", arrayOf(uint(U32)));
}

// getrlimit(2) resources. Each type at most once (config.md: duplicates MUST be an error).
export const RLIMIT_TYPES: readonly string[] = [
  "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
  "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
  "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
];

function checkRlimits(doc: Json): void {
  const p = section(doc, "process");
  if (!p || !has(p, "rlimits")) return;
  const seen = new Map<string, number>();
  array(p.rlimits, "process.rlimits").forEach((r, i) => {
    const path = `process.rlimits[${i}]`;
    const o = object(r, path);
    const type = str(need(o, "type", path), `${path}.type`);
    if (!RLIMIT_TYPES.includes(type)) fail(`${path}.type`, `unknown rlimit ${q(type)}`);
    const first = seen.get(type);
    if (first !== undefined) fail(`${path}.type`, `duplicate rlimit ${q(type)}, first at process.rlimits[${first}]`);
    seen.set(type, i);
    const soft = uint(U64)(need(o, "soft", path), `${path}.soft`);
    const hard = uint(U64)(need(o, "hard", path), `${path}.hard`);
    if (soft > hard) fail(`${path}.soft`, "must not exceed hard");
  });
}

// Capability names are only type-checked here. Whether a name is known is the planner's
// business (capMask): config.md asks runtimes to warn about, not reject, capabilities they
// cannot grant, and runc (1.2 and later) ignores unknown ones with a warning.
const CAP_SETS = ["bounding", "effective", "inheritable", "permitted", "ambient"] as const;

function checkCapabilities(doc: Json): void {
  const p = section(doc, "process");
  if (!p || !has(p, "capabilities")) return;
  const caps = object(p.capabilities, "process.capabilities");
  for (const set of CAP_SETS) opt(caps, set, "process.capabilities", stringList);
}

const SCHED_POLICIES = ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"];
const SCHED_FLAGS = [
  "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
];
const IOPRIO_CLASSES = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function checkProcessLinux(doc: Json): void {
  const p = section(doc, "process");
  if (!p) return;
  opt(p, "oomScoreAdj", "process", int({ min: -1000, max: 1000 }));
  opt(p, "noNewPrivileges", "process", bool);
  opt(p, "apparmorProfile", "process", str);
  opt(p, "selinuxLabel", "process", str);
  opt(p, "ioPriority", "process", fields(
    { class: oneOf(IOPRIO_CLASSES), priority: int({ min: 0, max: 7 }) },
    ["class"], // a missing priority is 0, as runc reads it
  ));
  opt(p, "execCPUAffinity", "process", fields({ initial: cpuList, final: cpuList }));
  if (has(p, "scheduler")) checkScheduler(p.scheduler, "process.scheduler");
}

function cpuList(v: unknown, path: string): void {
  const s = str(v, path);
  if (s !== "" && !CPU_LIST.test(s)) fail(path, `must be a cpu list like "0-3,7", got ${q(s)}`);
}

// sched_setattr(2): nice only means something for the fair policies, priority only for the
// real-time ones, runtime/deadline/period only for SCHED_DEADLINE.
function checkScheduler(v: unknown, path: string): void {
  const s = object(v, path);
  const policy = oneOf(SCHED_POLICIES)(need(s, "policy", path), `${path}.policy`);
  const nice = opt(s, "nice", path, int(I32)) ?? 0;
  const priority = opt(s, "priority", path, int(I32)) ?? 0;
  opt(s, "flags", path, arrayOf(oneOf(SCHED_FLAGS)));
  const dl = ["runtime", "deadline", "period"].map((k) => opt(s, k, path, uint(U64)) ?? 0);
  if ((policy === "SCHED_OTHER" || policy === "SCHED_BATCH") && (nice < -20 || nice > 19)) {
    fail(`${path}.nice`, `must be between -20 and 19 for ${policy}, got ${nice}`);
  }
  if (priority !== 0 && policy !== "SCHED_FIFO" && policy !== "SCHED_RR") {
    fail(`${path}.priority`, "only allowed with SCHED_FIFO or SCHED_RR");
  }
  if (policy !== "SCHED_DEADLINE" && dl.some((x) => x !== 0)) {
    fail(path, "runtime, deadline and period are only allowed with SCHED_DEADLINE");
  }
}

// sethostname(2) and setdomainname(2) take at most 64 bytes (__NEW_UTS_LEN).
const utf8 = new TextEncoder();

function checkNames(doc: Json): void {
  for (const key of ["hostname", "domainname"]) {
    const name = opt(doc, key, "", str);
    if (name !== undefined && utf8.encode(name).length > 64) fail(key, "must be at most 64 bytes");
  }
}

function checkAnnotations(doc: Json): void {
  if (!has(doc, "annotations")) return;
  const a = object(doc.annotations, "annotations");
  for (const [k, v] of Object.entries(a)) {
    if (k === "") fail("annotations", "keys must not be empty");
    text(v, at("annotations", k));
  }
}

// mounts: destination should be absolute. config.md (1.3) still allows a relative one "for
// compatibility with old tools", interpreted relative to "/" and deprecated; runc accepts it
// with a warning. We do the same.
function checkMounts(doc: Json, ctx: Ctx): void {
  if (!has(doc, "mounts")) return;
  array(doc.mounts, "mounts").forEach((m, i) => {
    const path = `mounts[${i}]`;
    const o = object(m, path);
    const dest = nonEmpty(str(need(o, "destination", path), `${path}.destination`), `${path}.destination`);
    if (!dest.startsWith("/")) {
      ctx.warn(`config.json: ${path}.destination: relative path ${q(dest)} is deprecated, taken as relative to /`);
    }
    opt(o, "type", path, str);
    opt(o, "source", path, str);
    opt(o, "options", path, stringList);
    opt(o, "uidMappings", path, idMappings);
    opt(o, "gidMappings", path, idMappings);
    if (has(o, "uidMappings") !== has(o, "gidMappings")) {
      const missing = has(o, "uidMappings") ? "gidMappings" : "uidMappings";
      const other = missing === "uidMappings" ? "gidMappings" : "uidMappings";
      fail(`${path}.${missing}`, `required when ${other} is set`);
    }
  });
}

// hooks: each list optional; unknown hook names are ignored (forward compatibility).
const HOOK_LISTS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

function checkHooks(doc: Json): void {
  if (!has(doc, "hooks")) return;
  const hooks = object(doc.hooks, "hooks");
  for (const name of HOOK_LISTS) {
    opt(hooks, name, "hooks", arrayOf((h, path) => {
      const o = object(h, path);
      absolute(need(o, "path", path), `${path}.path`);
      opt(o, "args", path, stringList);
      opt(o, "env", path, envList);
      opt(o, "timeout", path, int({ min: 1, max: 2 ** 31 - 1 }));
    }));
  }
}

function checkLinux(doc: Json): void {
  if (has(doc, "linux")) object(doc.linux, "linux");
}

export const NAMESPACE_TYPES: readonly string[] = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];

function checkNamespaces(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux || !has(linux, "namespaces")) return;
  array(linux.namespaces, "linux.namespaces").forEach((n, i) => {
    const path = `linux.namespaces[${i}]`;
    const o = object(n, path);
    const type = str(need(o, "type", path), `${path}.type`);
    if (!NAMESPACE_TYPES.includes(type)) fail(`${path}.type`, `unknown namespace type ${q(type)}`);
    const first = ctx.ns.get(type);
    if (first) fail(`${path}.type`, `duplicate namespace ${q(type)}, first at linux.namespaces[${first.index}]`);
    // An empty path is no path (a new namespace), as Go's decoder and runc read it.
    if (o.path === "") delete o.path;
    const nsPath = opt(o, "path", path, absolute);
    ctx.ns.set(type, { index: i, path: nsPath });
  });
}

// User namespace mappings, written to /proc/PID/{uid,gid}_map. A new user namespace with no
// mappings leaves every id unmapped (nobody); mappings without a user namespace mean nothing.
function checkIdMappings(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux) return;
  const uid = opt(linux, "uidMappings", "linux", idMappings);
  const gid = opt(linux, "gidMappings", "linux", idMappings);
  const userns = ctx.ns.get("user");
  if (userns) {
    if (userns.path === undefined && uid === undefined && gid === undefined) {
      fail(`linux.namespaces[${userns.index}]`, "a new user namespace needs linux.uidMappings and linux.gidMappings");
    }
  } else if (uid !== undefined || gid !== undefined) {
    fail(uid !== undefined ? "linux.uidMappings" : "linux.gidMappings", "requires a user namespace in linux.namespaces");
  }
}

// Time namespace offsets (/proc/PID/timens_offsets): only CLOCK_MONOTONIC and CLOCK_BOOTTIME
// can be offset, and only before the first process enters the namespace, so not when joining.
function checkTimeOffsets(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux || !has(linux, "timeOffsets")) return;
  const offsets = object(linux.timeOffsets, "linux.timeOffsets");
  for (const [clock, v] of Object.entries(offsets)) {
    const path = at("linux.timeOffsets", clock);
    if (clock !== "monotonic" && clock !== "boottime") {
      fail(path, `unknown clock ${q(clock)}, must be monotonic or boottime`);
    }
    fields({ secs: int(I64), nanosecs: uint({ min: 0, max: 999_999_999 }) })(v, path);
  }
  const timens = ctx.ns.get("time");
  if (!timens) fail("linux.timeOffsets", "requires a time namespace in linux.namespaces");
  if (timens.path !== undefined) {
    fail("linux.timeOffsets", `cannot be set when joining an existing time namespace (linux.namespaces[${timens.index}].path)`);
  }
}

// Devices: created with mknod(2) or bind-mounted. The spec lets the path be anywhere in the
// container ("notably outside of /dev"), so only absoluteness is required.
function checkDevices(doc: Json): void {
  const linux = section(doc, "linux");
  if (!linux || !has(linux, "devices")) return;
  const seen = new Map<string, number>();
  array(linux.devices, "linux.devices").forEach((d, i) => {
    const path = `linux.devices[${i}]`;
    const o = object(d, path);
    const devPath = absolute(need(o, "path", path), `${path}.path`);
    const first = seen.get(devPath);
    if (first !== undefined) fail(`${path}.path`, `duplicate device ${q(devPath)}, first at linux.devices[${first}]`);
    seen.set(devPath, i);
    const type = oneOf(["c", "b", "u", "p"])(need(o, "type", path), `${path}.type`);
    for (const k of ["major", "minor"]) {
      if (type !== "p" && !has(o, k)) fail(`${path}.${k}`, `required for type ${q(type)}`);
      opt(o, k, path, uint(I64POS));
    }
    opt(o, "fileMode", path, uint(U32));
    opt(o, "uid", path, uint(U32));
    opt(o, "gid", path, uint(U32));
  });
}

// Masking and read-only remounts happen in the container's mount namespace; without one they
// would be done to the host.
function checkMaskedReadonly(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux) return;
  for (const key of ["maskedPaths", "readonlyPaths"]) {
    const list = opt(linux, key, "linux", arrayOf(absolute));
    if (list && (list as unknown[]).length > 0 && !ctx.ns.has("mount")) {
      fail(`linux.${key}`, "requires a mount namespace in linux.namespaces");
    }
  }
}

export const ROOTFS_PROPAGATIONS: readonly string[] = [
  "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
];

function checkPropagation(doc: Json): void {
  const linux = section(doc, "linux");
  if (!linux) return;
  const p = opt(linux, "rootfsPropagation", "linux", str);
  if (p !== undefined && p !== "" && !ROOTFS_PROPAGATIONS.includes(p)) {
    fail("linux.rootfsPropagation", `must be one of ${ROOTFS_PROPAGATIONS.join(", ")}, got ${q(p)}`);
  }
}

// Sysctls are written under the container's /proc/sys. Only namespaced ones are allowed, and
// only when the container has the namespace that isolates them: otherwise the write would
// change the host (runc's rules, checked the same way).
const IPC_SYSCTLS = [
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
];

function checkSysctl(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux || !has(linux, "sysctl")) return;
  const sysctl = object(linux.sysctl, "linux.sysctl");
  for (const [key, value] of Object.entries(sysctl)) {
    const path = at("linux.sysctl", key);
    str(value, path);
    const name = sysctlDots(key);
    if (!validSysctlName(name)) fail(path, "must be a sysctl name like net.ipv4.ip_forward");
    const problem = sysctlProblem(name, ctx.ns);
    if (problem) fail(path, problem);
  }
}

/** sysctl(8) accepts "/" as the separator; when the first separator is "/", "." and "/" swap. */
export function sysctlDots(key: string): string {
  const first = key.search(/[./]/);
  if (first === -1 || key[first] === ".") return key;
  return key.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

// The dotted name becomes a path under /proc/sys: "." separates directories and a "/" inside
// a component stands for a "." in a file name (net.ipv4.conf.eno2/100.rp_filter). No
// component may be empty or turn into "." or "..".
function validSysctlName(name: string): boolean {
  return name.split(".").every((c) => c !== "" && c !== "/" && c !== "//");
}

function sysctlProblem(name: string, ns: Ctx["ns"]): string | undefined {
  if (IPC_SYSCTLS.includes(name) || name.startsWith("fs.mqueue.")) {
    return ns.has("ipc") ? undefined : "requires an ipc namespace in linux.namespaces";
  }
  if (name.startsWith("net.")) {
    return ns.has("network") ? undefined : "requires a network namespace in linux.namespaces";
  }
  if (ns.has("uts")) {
    if (name === "kernel.domainname") return undefined;
    if (name === "kernel.hostname") return "conflicts with the hostname field, set that instead";
  }
  if (name.startsWith("user.")) {
    return ns.has("user") ? undefined : "requires a user namespace in linux.namespaces";
  }
  return "is not namespaced, so a container cannot set it";
}

// linux.resources: shapes only; the cgroups layer decides what each value means.
const throttle = arrayOf(fields({ major: int(I64), minor: int(I64), rate: uint(U64) }, ["major", "minor", "rate"]));

/** A memory size in bytes, or -1 for no limit; any other negative number is a mistake. */
function bytesOrUnlimited(v: unknown, path: string): number {
  const n = int(I64)(v, path);
  if (n < -1) fail(path, `must be -1 (no limit) or a number of bytes, got ${n}`);
  return n;
}

const RESOURCES = fields({
  devices: arrayOf(fields({
    allow: bool,
    type: oneOf(["a", "c", "b"]),
    major: int(I64),
    minor: int(I64),
    access: str, // letters other than r, w, m: ignored with a warning (checkResources), as runc does
  }, ["allow"])),
  memory: fields({
    limit: bytesOrUnlimited, reservation: bytesOrUnlimited, swap: bytesOrUnlimited, kernel: bytesOrUnlimited, kernelTCP: bytesOrUnlimited,
    swappiness: uint(U64), disableOOMKiller: bool, useHierarchy: bool, checkBeforeUpdate: bool,
  }),
  cpu: fields({
    shares: uint(U64), quota: int(I64), burst: uint(U64), period: uint(U64),
    realtimeRuntime: int(I64), realtimePeriod: uint(U64), cpus: cpuList, mems: cpuList, idle: int(I64),
  }),
  pids: fields({ limit: int(I64) }),
  blockIO: fields({
    weight: uint(U16), leafWeight: uint(U16),
    weightDevice: arrayOf(fields({ major: int(I64), minor: int(I64), weight: uint(U16), leafWeight: uint(U16) }, ["major", "minor"])),
    throttleReadBpsDevice: throttle, throttleWriteBpsDevice: throttle,
    throttleReadIOPSDevice: throttle, throttleWriteIOPSDevice: throttle,
  }),
  hugepageLimits: arrayOf(fields({ pageSize: str, limit: uint(U64) }, ["pageSize", "limit"])),
  network: fields({ classID: uint(U32), priorities: arrayOf(fields({ name: str, priority: uint(U32) }, ["name", "priority"])) }),
  rdma: mapOf(fields({ hcaHandles: uint(U32), hcaObjects: uint(U32) })),
  unified: mapOf(str),
});

function checkResources(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux) return;
  const r = opt(linux, "resources", "linux", RESOURCES);
  // runc takes the r, w and m of a device rule's access and ignores anything else
  ((r?.devices as Json[] | undefined) ?? []).forEach((d, i) => {
    if (typeof d.access !== "string" || /^[rwm]*$/.test(d.access)) return;
    ctx.warn(`config.json: linux.resources.devices[${i}].access: ${q(d.access)}: only r, w and m are device permissions, the rest is ignored`);
    d.access = d.access.replace(/[^rwm]/g, "");
  });
}

// linux.seccomp: the names are libseccomp's (seccomp.h); runtime-spec lists them as of
// libseccomp 2.6.0.
export const SECCOMP_ACTIONS: readonly string[] = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
];
export const SECCOMP_OPERATORS: readonly string[] = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
];
export const SECCOMP_ARCHS: readonly string[] = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
];
export const SECCOMP_FLAGS: readonly string[] = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];
const ERRNO_ACTIONS = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];

function checkSeccomp(doc: Json): void {
  const linux = section(doc, "linux");
  if (!linux || !has(linux, "seccomp")) return;
  const path = "linux.seccomp";
  const s = object(linux.seccomp, path);
  const action = oneOf(SECCOMP_ACTIONS)(need(s, "defaultAction", path), `${path}.defaultAction`);
  if (opt(s, "defaultErrnoRet", path, uint(U32)) !== undefined && !ERRNO_ACTIONS.includes(action)) {
    fail(`${path}.defaultErrnoRet`, `not allowed with ${action}, only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE`);
  }
  opt(s, "architectures", path, arrayOf(oneOf(SECCOMP_ARCHS)));
  opt(s, "flags", path, arrayOf(oneOf(SECCOMP_FLAGS)));
  opt(s, "listenerPath", path, str);
  if (opt(s, "listenerMetadata", path, str) !== undefined && !has(s, "listenerPath")) {
    fail(`${path}.listenerMetadata`, "requires listenerPath");
  }
  opt(s, "syscalls", path, arrayOf((v, p) => {
    const sc = object(v, p);
    const names = array(need(sc, "names", p), `${p}.names`);
    if (names.length === 0) fail(`${p}.names`, "must not be empty");
    names.forEach((n, i) => nonEmpty(str(n, `${p}.names[${i}]`), `${p}.names[${i}]`));
    const act = oneOf(SECCOMP_ACTIONS)(need(sc, "action", p), `${p}.action`);
    if (opt(sc, "errnoRet", p, uint(U32)) !== undefined && !ERRNO_ACTIONS.includes(act)) {
      fail(`${p}.errnoRet`, `not allowed with ${act}, only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE`);
    }
    opt(sc, "args", p, arrayOf(fields(
      { index: uint({ min: 0, max: 5 }), value: uint(U64), valueTwo: uint(U64), op: oneOf(SECCOMP_OPERATORS) },
      ["index", "value", "op"],
    )));
  }));
}

const MPOL_MODES = [
  "MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
  "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",
];
const MPOL_FLAGS = ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"];

/** set_mempolicy(2) takes nodes 0..MAX_NUMNODES-1; Linux has at most 1024 (NODES_SHIFT 10). */
export const MAX_NUMA_NODES = 1024;

/** "0-3,7" → the node numbers; throws a message for anything else. */
export function nodeList(s: string): number[] {
  const out: number[] = [];
  if (s.trim() === "") return out;
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`${q(part)} is not a node number or range`);
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    if (b < a) throw new Error(`${part}: the range is backwards`);
    if (b >= MAX_NUMA_NODES) throw new Error(`node ${m[2] ?? m[1]} is beyond the ${MAX_NUMA_NODES} Linux supports`);
    for (let n = a; n <= b; n++) out.push(n);
  }
  return out;
}

// linux.memoryPolicy, with runc's words for what it refuses (callers look for them).
function checkMemoryPolicy(mp: Json): void {
  const P = "linux.memoryPolicy";
  const mode = has(mp, "mode") ? str(mp.mode, `${P}.mode`) : "";
  if (!MPOL_MODES.includes(mode)) fail(`${P}.mode`, `invalid memory policy mode ${q(mode)}${mode ? "" : " (required)"}: one of ${MPOL_MODES.join(", ")}`);
  ((opt(mp, "flags", P, stringList) as string[] | undefined) ?? []).forEach((f, i) => {
    if (!MPOL_FLAGS.includes(f)) fail(`${P}.flags[${i}]`, `invalid memory policy flag ${q(f)}: one of ${MPOL_FLAGS.join(", ")}`);
  });
  const nodesText = (opt(mp, "nodes", P, str) as string | undefined) ?? "";
  let nodes: number[];
  try {
    nodes = nodeList(nodesText);
  } catch (e: any) {
    fail(`${P}.nodes`, `invalid memory policy nodes ${q(nodesText)}: ${e.message}`);
  }
  if ((mode === "MPOL_DEFAULT" || mode === "MPOL_LOCAL") && nodes.length)
    fail(`${P}.nodes`, `memory policy mode requires 0 nodes but got ${nodes.length}`);
  if (["MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"].includes(mode) && !nodes.length)
    fail(`${P}.nodes`, "memory policy mode requires at least one node but got 0");
}

function checkLinuxMisc(doc: Json, ctx: Ctx): void {
  const linux = section(doc, "linux");
  if (!linux) return;
  opt(linux, "cgroupsPath", "linux", str);
  opt(linux, "mountLabel", "linux", str);
  opt(linux, "personality", "linux", fields({ domain: oneOf(["LINUX", "LINUX32"]), flags: stringList }, ["domain"]));
  opt(linux, "intelRdt", "linux", fields({
    closID: str, schemata: stringList, l3CacheSchema: str, memBwSchema: str, enableMonitoring: bool,
  }));
  if (has(linux, "memoryPolicy")) checkMemoryPolicy(object(linux.memoryPolicy, "linux.memoryPolicy"));
  const netDevices = opt(linux, "netDevices", "linux", mapOf(fields({ name: str })));
  if (netDevices !== undefined && Object.keys(netDevices as Json).length > 0 && !ctx.ns.has("network")) {
    fail("linux.netDevices", "requires a network namespace in linux.namespaces");
  }
}

// A hostname set without a UTS namespace would rename the host (runc refuses the same way).
function checkUtsNamespace(doc: Json, ctx: Ctx): void {
  for (const key of ["hostname", "domainname"]) {
    if (has(doc, key) && doc[key] !== "" && !ctx.ns.has("uts")) {
      fail(key, "requires a uts namespace in linux.namespaces");
    }
  }
}
