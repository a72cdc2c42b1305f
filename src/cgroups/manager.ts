// Creating, joining and removing a container's cgroups in every hierarchy of the host.
//
// A cgroup is a directory: mkdir creates it, writing a pid to its cgroup.procs moves that
// process (and its future children) in, and rmdir removes it once no process is left in it.
// The directories a container created are remembered in its state so that `delete` (even
// after a runtime crash) removes exactly those and nothing that was there before.
import { dirname, exists as existsSync, mkdir, normalize, readText, readTextIfExists, rmdir, writeExisting } from "../sys/fs.ts";
import { CgroupError, UsageError } from "../errors.ts";
import { kill, SIGKILL, strerror } from "../sys/libc.ts";
import { containerPath, hostDir, hostHierarchies, type CgroupDir, type Hierarchy } from "./hierarchy.ts";

/** A container's directory in one hierarchy, before anything is made. */
export interface CgroupTarget {
  h: Hierarchy;
  dir: string;
}

export function plannedDirs(cgroupsPath: string | undefined, id: string, hs = hostHierarchies()): CgroupTarget[] {
  return hs.map((h) => ({ h, dir: hostDir(h, containerPath(h, cgroupsPath, id)) }));
}

/** Every pid in a cgroup and the cgroups below it. */
export function treePids(dir: string): number[] {
  const out: number[] = [];
  let procs: string[];
  try {
    procs = ["cgroup.procs", ...new Bun.Glob("**/cgroup.procs").scanSync({ cwd: dir, onlyFiles: true, followSymlinks: false })];
  } catch (e: any) {
    // removed while we looked (systemd removes an emptied scope at once): nothing is in it
    if (e.code === "ENOENT") return out;
    throw e;
  }
  for (const f of new Set(procs)) {
    try {
      for (const l of readText(`${dir}/${f}`).split("\n")) if (l) out.push(Number(l));
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/**
 * runc's checks before a container takes a cgroup that exists already: nothing may run in it
 * (two containers in one cgroup could not be told apart, and deleting one would kill the
 * other), and it must not be frozen (the init would hang in it).
 */
export function checkVacant(targets: CgroupTarget[]): void {
  for (const { h, dir } of targets) {
    if (!existsSync(dir)) continue;
    const n = treePids(dir).length;
    if (n) throw new UsageError(`linux.cgroupsPath: container's cgroup is not empty: ${n} process(es) found in ${dir}`);
    const state = readTextIfExists(`${dir}/${h.version === 1 ? "freezer.state" : "cgroup.freeze"}`)?.trim();
    const frozen = h.version === 1 ? state !== undefined && state !== "THAWED" : state === "1";
    if (frozen) throw new UsageError(`linux.cgroupsPath: container's cgroup unexpectedly frozen: ${dir}`);
  }
}

/** cpuset v1 refuses tasks until cpus and mems are set: copy them down from the parent. */
function fillCpuset(dir: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const p = `${dir}/${f}`;
    if (readText(p).trim() !== "") continue;
    writeExisting(p, readText(`${dirname(dir)}/${f}`));
  }
}

/** mkdir -p in every hierarchy; returns the directories it made (v2 controllers are enabled only there). */
export function createCgroups(targets: CgroupTarget[]): Set<string> {
  const made = new Set<string>();
  for (const { h, dir } of targets) {
    const missing: string[] = [];
    for (let d = dir; d !== h.mountpoint && d !== "/" && !existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) {
      try {
        mkdir(d);
      } catch (e: any) {
        if (e.code !== "EEXIST") throw new CgroupError(d, "", `mkdir: ${e.message}`);
        continue;
      }
      made.add(d);
    }
    // Every cpuset on the way down, made here or not (a pod's directory made by someone
    // else is often empty): a child copies its parent's, so fill from the top, as runc does.
    if (h.version === 1 && h.controllers.includes("cpuset")) {
      const chain: string[] = [];
      for (let d = dir; d !== h.mountpoint && d.length > h.mountpoint.length; d = dirname(d)) chain.unshift(d);
      for (const d of chain) fillCpuset(d);
    }
  }
  return made;
}

/**
 * runc's `exec --cgroup`: PATH (for every hierarchy; the only form on cgroup v2) or
 * CONTROLLER[,CONTROLLER]:PATH, given several times. Undefined: no --cgroup.
 */
export function parseSubCgroups(args: string[]): Map<string, string> | undefined {
  if (!args.length) return undefined;
  const out = new Map<string, string>();
  for (const a of args) {
    const parts = a.split(":");
    if (parts.length > 2) throw new UsageError(`--cgroup: invalid argument ${a}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new UsageError(`--cgroup: invalid argument ${a} (missing <controller>: prefix)`);
      out.set("", a);
    } else for (const c of parts[0]!.split(",")) out.set(c, parts[1]!);
  }
  return out;
}

/** The directories an exec'd process joins: the container's, or sub-cgroups of them. */
export function execCgroupDirs(dirs: CgroupDir[], sub: Map<string, string> | undefined): string[] {
  if (!sub) return dirs.map((d) => d.dir);
  const below = (base: string, add: string) => {
    const p = normalize(`${base}/${add}`);
    if (p !== base && !p.startsWith(base + "/")) throw new UsageError(`--cgroup: bad sub cgroup path: ${add} is not a sub cgroup path of the container's`);
    return p;
  };
  const all = sub.get("");
  if (all !== undefined) return dirs.map((d) => below(d.dir, all));
  const out = dirs.map((d) => d.dir);
  for (const [ctrl, add] of sub) {
    const i = dirs.findIndex((d) => (d.version === 2 ? ctrl === "" : d.controllers.includes(ctrl)));
    if (i < 0) throw new UsageError(`--cgroup: unknown controller ${ctrl} in ${ctrl}:${add}`);
    out[i] = below(dirs[i]!.dir, add);
  }
  return out;
}

/**
 * Put an exec'd process in its cgroups. On cgroup v2 a container's cgroup that has become an
 * inner node (its init moved to a child, a domain controller enabled) takes no process: the
 * write fails with EBUSY, and, as runc does, the process joins the init's cgroup instead,
 * unless --cgroup named where it goes.
 */
export function joinExecCgroups(dirs: CgroupDir[], targets: string[], pid: number, initPid: number | undefined): void {
  targets.forEach((t, i) => {
    try {
      writeExisting(`${t}/cgroup.procs`, String(pid));
      return;
    } catch (e: any) {
      if (!(e.code === "EBUSY" && dirs[i]!.version === 2 && initPid)) throw joinError(pid, t, e);
      const mount = hostHierarchies().find((h) => h.version === 2)?.mountpoint;
      const own = /^0::(.*)$/m.exec(readTextIfExists(`/proc/${initPid}/cgroup`) ?? "")?.[1];
      if (!mount || own === undefined) throw joinError(pid, t, e);
      try {
        writeExisting(`${mount}${own}/cgroup.procs`, String(pid));
      } catch (e2: any) {
        throw joinError(pid, `${mount}${own}`, e2);
      }
    }
  });
}

/** runc's words for a failed join ("adding pid N to cgroups: FILE: no such file or directory"). */
function joinError(pid: number, dir: string, e: { code?: string; errno?: number; message: string }): Error {
  const why = typeof e.errno === "number" ? strerror(e.errno).replace(/^./, (c) => c.toLowerCase()) : e.message;
  return Object.assign(new Error(`adding pid ${pid} to cgroups: ${dir}/cgroup.procs: ${why}`), { code: e.code });
}

export function joinCgroups(dirs: string[], pid: number): void {
  for (const d of dirs) {
    try {
      writeExisting(`${d}/cgroup.procs`, String(pid));
    } catch (e: any) {
      throw new CgroupError(`${d}/cgroup.procs`, String(pid), e.message);
    }
  }
}

/** Pids in the container's cgroup and below it (from the first hierarchy that can tell). */
export function cgroupPids(dirs: string[]): number[] {
  for (const d of dirs) if (existsSync(`${d}/cgroup.procs`)) return treePids(d);
  return [];
}

/** The cgroups a container made below its own (runc's tests make them), deepest first. */
function subCgroups(dir: string): string[] {
  let found: string[];
  try {
    found = [...new Bun.Glob("*/**/cgroup.procs").scanSync({ cwd: dir, onlyFiles: true, followSymlinks: false })];
  } catch {
    return [];
  }
  return found.map((f) => `${dir}/${f.slice(0, -"/cgroup.procs".length)}`).sort((a, b) => b.split("/").length - a.split("/").length);
}

/**
 * Remove the container's cgroups, children first: its own directories (the leaves) whoever
 * made them, as runc does, and the parents it created. A cgroup whose last process has just
 * been killed can stay busy for a moment, so EBUSY is retried briefly on the container's own
 * directories; a parent that another cgroup still uses is left alone.
 */
export function removeCgroups(created: string[], leaves: string[]): void {
  const leaf = new Set(leaves);
  const below = leaves.flatMap(subCgroups);
  const made = new Set(created);
  for (const d of [...below, ...leaves.filter((l) => !made.has(l)), ...[...created].reverse()]) {
    for (let i = 0; ; i++) {
      try {
        rmdir(d);
        break;
      } catch (e: any) {
        if (e.code === "ENOENT" || e.code === "ENOTEMPTY") break;
        if (e.code === "EBUSY" && !leaf.has(d) && !below.includes(d)) break; // a parent another cgroup still uses
        if (e.code === "EBUSY" && i < 400) {
          // something is still in it (a process forked while we were killing): kill it too
          if (i % 20 === 19) for (const pid of cgroupPids([d])) kill(pid, SIGKILL);
          Bun.sleepSync(5);
          continue;
        }
        throw new CgroupError(d, "", `rmdir: ${e.message}`);
      }
    }
  }
}
