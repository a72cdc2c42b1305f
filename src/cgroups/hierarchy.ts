// Control group hierarchies: which exist on this host, and where a container's cgroup lives.
//
// The kernel exposes cgroups as filesystems. cgroup v1 mounts one filesystem per controller
// (or per group of co-mounted controllers: cpu, memory, pids, …, plus named ones such as
// name=systemd); cgroup v2 mounts a single unified tree. A host is "legacy" (v1 only),
// "unified" (v2 only) or "hybrid" (v1 controllers plus a v2 tree, often at
// /sys/fs/cgroup/unified). A container gets one directory in every hierarchy, so every
// process it starts is counted, limited and can be found again there.
//
// We read /proc/self/mountinfo (not a fixed list of paths) to find the hierarchies, and
// /proc/self/cgroup to learn our own place in each, which is what relative cgroupsPath
// values are resolved against.
import { normalize, readText } from "../sys/fs.ts";

export interface Hierarchy {
  version: 1 | 2;
  mountpoint: string; // e.g. /sys/fs/cgroup/memory
  root: string; // the mount's root inside the hierarchy (usually "/")
  controllers: string[]; // v1: ["memory"] or ["cpu","cpuacct"] or ["name=systemd"]; v2: []
  own: string; // this process's cgroup in the hierarchy, e.g. "/" or "/user.slice"
}

export type CgroupMode = "unified" | "hybrid" | "legacy" | "none";

/** Unescape the octal escapes mountinfo uses for spaces and such. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Pure: hierarchies from the text of /proc/self/mountinfo and /proc/self/cgroup. */
export function parseHierarchies(mountinfo: string, selfCgroup: string): Hierarchy[] {
  const own = new Map<string, string>(); // key: "0" for v2, else the comma list
  for (const line of selfCgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    own.set(m[1] === "0" && m[2] === "" ? "v2" : m[2]!, m[3]!);
  }
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    const fstype = post[0];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const root = unescape(pre[3]!);
    const mountpoint = unescape(pre[4]!);
    if (fstype === "cgroup2") {
      if (seen.has("v2")) continue;
      seen.add("v2");
      out.push({ version: 2, mountpoint, root, controllers: [], own: own.get("v2") ?? "/" });
      continue;
    }
    const superOpts = (post[2] ?? "").split(",");
    const known = new Set(["rw", "ro", "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "favordynmods"]);
    const controllers = superOpts.filter((o) => !known.has(o) && !o.startsWith("release_agent="));
    const key = controllers.join(",");
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push({ version: 1, mountpoint, root, controllers, own: own.get(key) ?? "/" });
  }
  return out;
}

export function modeOf(hs: Hierarchy[]): CgroupMode {
  const v1 = hs.some((h) => h.version === 1);
  const v2 = hs.some((h) => h.version === 2);
  if (v1 && v2) return "hybrid";
  if (v1) return "legacy";
  if (v2) return "unified";
  return "none";
}

let cached: Hierarchy[] | undefined;

export function hostHierarchies(): Hierarchy[] {
  return (cached ??= parseHierarchies(
    readText("/proc/self/mountinfo"),
    readText("/proc/self/cgroup"),
  ));
}

/** Normalise a path inside a hierarchy: absolute, no "." or "..", no trailing slash. */
const clean = normalize;

/**
 * Pure: the container's cgroup path inside one hierarchy. An absolute cgroupsPath is taken
 * from the hierarchy's root; a relative one from this process's own cgroup; none at all
 * means "/<id>", as runc does.
 */
export function containerPath(h: Hierarchy, cgroupsPath: string | undefined, id: string): string {
  if (!cgroupsPath) return clean("/" + id);
  if (cgroupsPath.startsWith("/")) return clean(cgroupsPath);
  return clean(h.own + "/" + cgroupsPath);
}

/** Pure: the directory on the host for a path inside a hierarchy. */
export function hostDir(h: Hierarchy, path: string): string {
  // When the hierarchy is mounted from a sub-directory (inside a cgroup namespace, say),
  // paths are relative to that mount root.
  const rel = h.root !== "/" && path.startsWith(h.root) ? path.slice(h.root.length) : path;
  return clean(h.mountpoint + "/" + rel);
}

export interface CgroupDir {
  version: 1 | 2;
  controllers: string[];
  dir: string;
}

/** Pure: each cgroup directory with the hierarchy it is in (longest mountpoint prefix). */
export function describeDirs(paths: string[], hs: Hierarchy[]): CgroupDir[] {
  const out: CgroupDir[] = [];
  for (const dir of paths) {
    let best: Hierarchy | undefined;
    for (const h of hs)
      if ((dir === h.mountpoint || dir.startsWith(h.mountpoint + "/")) && (!best || h.mountpoint.length > best.mountpoint.length)) best = h;
    if (best) out.push({ version: best.version, controllers: best.controllers, dir });
  }
  return out;
}

/** A container's saved cgroup directories, described against this host's hierarchies. */
export function containerDirs(paths: string[]): CgroupDir[] {
  return describeDirs(paths, hostHierarchies());
}
