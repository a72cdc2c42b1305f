// pause and resume: freeze every process of the container in place, and let them go on.
//
// The kernel does the work (see cgroups/freezer.ts): the container's processes stop being
// scheduled, keep their memory and open files, and cannot notice. `state` then reports
// "paused", computed from the freezer itself, never from a saved flag. This file also holds
// what the cgroup verbs (pause, resume, ps, events, update) share: opening a container under
// its lock and naming its cgroup directories with their hierarchy's version and controllers.
import { exists } from "../sys/fs.ts";
import { StateError } from "../errors.ts";
import { hostHierarchies, type Hierarchy } from "../cgroups/hierarchy.ts";
import type { CgroupDir } from "../cgroups/resources.ts";
import { setFrozen, freezerDir } from "../cgroups/freezer.ts";
import { computeStatus, loadState, lock, stateDir, unlock, type SavedState, type Status } from "./state.ts";

export interface Opened {
  dir: string;
  st: SavedState;
  status: Status;
}

/** Run `f` on the container with its directory locked. */
export function withContainer<T>(root: string, id: string, f: (c: Opened) => T): T {
  const dir = stateDir(root, id);
  if (!exists(dir)) throw new StateError(id, `container does not exist: ${id}`);
  const fd = lock(dir, id);
  try {
    const st = loadState(root, id);
    return f({ dir, st, status: computeStatus(dir, st) });
  } finally {
    unlock(fd);
  }
}

/** Pure: each saved cgroup directory with the hierarchy it is in (longest mountpoint prefix). */
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

export function containerDirs(st: SavedState): CgroupDir[] {
  return describeDirs(st.cgroupDirs, hostHierarchies());
}

export function pause(root: string, id: string): void {
  withContainer(root, id, (c) => {
    if (c.status !== "running" && c.status !== "created") throw new StateError(id, "container not running");
    const d = freezerDir(containerDirs(c.st));
    if (!d) throw new StateError(id, "no freezer cgroup for this container");
    setFrozen(d, true);
  });
}

export function resume(root: string, id: string): void {
  withContainer(root, id, (c) => {
    if (c.status !== "paused") throw new StateError(id, "container not paused");
    const d = freezerDir(containerDirs(c.st));
    if (!d) throw new StateError(id, "no freezer cgroup for this container");
    setFrozen(d, false);
  });
}
