// Creating, joining and removing a container's cgroups in every hierarchy of the host.
//
// A cgroup is a directory: mkdir creates it, writing a pid to its cgroup.procs moves that
// process (and its future children) in, and rmdir removes it once no process is left in it.
// The directories a container created are remembered in its state so that `delete` (even
// after a runtime crash) removes exactly those and nothing that was there before.
import { dirname, exists as existsSync, mkdir, readText, rmdir, writeExisting } from "../sys/fs.ts";
import { CgroupError } from "../errors.ts";
import { kill } from "../sys/libc.ts";
import { containerPath, hostDir, hostHierarchies, type Hierarchy } from "./hierarchy.ts";

export interface CgroupSet {
  /** The container's directory in each hierarchy. */
  dirs: string[];
  /** Directories this container created, parents first: removed in reverse order. */
  created: string[];
}

export function plannedDirs(cgroupsPath: string | undefined, id: string, hs = hostHierarchies()): { h: Hierarchy; dir: string }[] {
  return hs.map((h) => ({ h, dir: hostDir(h, containerPath(h, cgroupsPath, id)) }));
}

/** cpuset v1 refuses tasks until cpus and mems are set: copy them down from the parent. */
function fillCpuset(dir: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const p = `${dir}/${f}`;
    if (readText(p).trim() !== "") continue;
    writeExisting(p, readText(`${dirname(dir)}/${f}`));
  }
}

const madeHere = new Set<string>();

/** Did createCgroups, in this process, create directory `d`? (v2 controllers are only enabled there.) */
export function createdByThisProcess(d: string): boolean {
  return madeHere.has(d);
}

/** mkdir -p in every hierarchy; `onCreated` records each directory as soon as it exists. */
export function createCgroups(targets: { h: Hierarchy; dir: string }[], onCreated: (dir: string) => void): void {
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
      madeHere.add(d);
      onCreated(d);
      if (h.version === 1 && h.controllers.includes("cpuset")) fillCpuset(d);
    }
  }
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

/** Pids in the container's cgroup (from the first hierarchy that can tell). */
export function cgroupPids(dirs: string[]): number[] {
  for (const d of dirs) {
    try {
      return readText(`${d}/cgroup.procs`)
        .split("\n")
        .filter(Boolean)
        .map(Number);
    } catch {
      continue;
    }
  }
  return [];
}

/**
 * Remove the directories this container created, children first. A cgroup whose last
 * process has just been killed can stay busy for a moment, so EBUSY is retried briefly on
 * the container's own directories; a parent that another cgroup still uses is left alone.
 */
export function removeCgroups(created: string[], leaves: string[]): void {
  const leaf = new Set(leaves);
  for (const d of [...created].reverse()) {
    for (let i = 0; ; i++) {
      try {
        rmdir(d);
        break;
      } catch (e: any) {
        if (e.code === "ENOENT" || e.code === "ENOTEMPTY") break;
        if (e.code === "EBUSY" && !leaf.has(d)) break; // a parent another cgroup still uses
        if (e.code === "EBUSY" && i < 400) {
          // something is still in it (a process forked while we were killing): kill it too
          if (i % 20 === 19) for (const pid of cgroupPids([d])) kill(pid, 9);
          Bun.sleepSync(5);
          continue;
        }
        throw new CgroupError(d, "", `rmdir: ${e.message}`);
      }
    }
  }
}
