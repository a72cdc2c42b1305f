// Field names as Go's encoding/json matches them: exactly, or else ignoring case.
//
// runc reads config.json with Go's decoder, which takes "pagesize" for "pageSize" and
// "CGROUPSPATH" for "cgroupsPath"; bundles written by hand (and runc's own tests) rely on it.
// So before validation every key that is not a field name of the runtime-spec, but equals one
// but for case, is renamed to it. A key spelled exactly right is never touched, and neither are
// the keys of the spec's maps (annotations, sysctls, unified files, rdma devices, net devices,
// time offsets), which are the user's own names.
//
// Go's decoder also leaves a field as it was when its value is null: `"timeOffsets": null` is
// no offsets, not an error. So a field member whose value is null is dropped here too.

/** Every field name of the runtime-spec types in spec.ts (a unit test keeps the two in step). */
export const SPEC_FIELDS: readonly string[] = [
  "access", "action", "additionalGids", "allow", "ambient", "annotations", "apparmorProfile", "architectures",
  "args", "blockIO", "bounding", "bundle", "burst", "capabilities", "cgroupsPath", "checkBeforeUpdate", "class",
  "classID", "closID", "consoleSize", "containerID", "cpu", "cpus", "createContainer", "createRuntime", "cwd",
  "deadline", "defaultAction", "defaultErrnoRet", "destination", "devices", "disableOOMKiller", "domain",
  "domainname", "effective", "enableMonitoring", "env", "errnoRet", "execCPUAffinity", "fileMode", "final", "flags",
  "gid", "gidMappings", "hard", "hcaHandles", "hcaObjects", "height", "hooks", "hostID", "hostname",
  "hugepageLimits", "id", "idle", "index", "inheritable", "initial", "intelRdt", "ioPriority", "kernel", "kernelTCP",
  "leafWeight", "limit", "linux", "listenerMetadata", "listenerPath", "major", "maskedPaths", "memBwSchema", "memory",
  "memoryPolicy", "mems", "minor", "mode", "mountLabel", "mounts", "name", "names", "namespaces", "nanosecs",
  "netDevices", "network", "nice", "noNewPrivileges", "nodes", "ociVersion", "oomScoreAdj", "op", "options",
  "pageSize", "path", "period", "permitted", "personality", "pid", "pids", "policy", "poststart", "poststop",
  "prestart", "priorities", "priority", "process", "quota", "rate", "rdma", "readonly", "readonlyPaths",
  "realtimePeriod", "realtimeRuntime", "reservation", "resources", "rlimits", "root", "rootfsPropagation", "runtime",
  "scheduler", "schemata", "seccomp", "secs", "selinuxLabel", "shares", "size", "soft", "source", "startContainer",
  "status", "swap", "swappiness", "syscalls", "sysctl", "terminal", "throttleReadBpsDevice", "throttleReadIOPSDevice",
  "throttleWriteBpsDevice", "throttleWriteIOPSDevice", "timeOffsets", "timeout", "type", "uid", "uidMappings", "umask",
  "unified", "useHierarchy", "user", "value", "valueTwo", "weight", "weightDevice", "width",
];

const BY_LOWER = new Map(SPEC_FIELDS.map((f) => [f.toLowerCase(), f]));
const EXACT = new Set(SPEC_FIELDS);

/** Object members whose keys are names of the user's, not fields: left as they are. */
const MAPS = new Set(["annotations", "sysctl", "unified", "rdma", "netDevices", "timeOffsets"]);

/** Rename, in place, the keys Go's decoder would take for a field, and drop null fields; returns doc. */
export function canonicalKeys<T>(doc: T): T {
  walk(doc);
  return doc;
}

function walk(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) walk(x);
    return;
  }
  if (typeof v !== "object" || v === null) return;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (o[k] === null) {
      delete o[k];
      continue;
    }
    let key = k;
    if (!EXACT.has(k)) {
      const f = BY_LOWER.get(k.toLowerCase());
      if (f && !Object.hasOwn(o, f)) {
        o[f] = o[k];
        delete o[k];
        key = f;
      }
    }
    const x = o[key];
    if (MAPS.has(key) && typeof x === "object" && x !== null && !Array.isArray(x)) {
      // the map's own keys stay; its values may be structs again (rdma, netDevices, timeOffsets)
      for (const y of Object.values(x)) walk(y);
    } else walk(x);
  }
}
