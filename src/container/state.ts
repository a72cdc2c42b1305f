// The container's state on disk, and its status computed from the kernel.
//
// Each container owns one directory under the runtime root (default /run/runjs):
//   state.json   what we know: init pid and its start time, bundle, cgroups, saved hooks
//   config.json  the validated config.json, which exec builds its processes from
//   exec.fifo    exists from create until start; the init blocks opening it for writing
// The directory is created with mkdir, which is atomic: of many concurrent creates of one id
// exactly one succeeds. Operations on one container hold an exclusive flock on the directory.
//
// Status is never trusted from the file. A pid is only the container's init while the
// process with that pid has the start time (field 22 of /proc/PID/stat) recorded at create;
// otherwise the pid has been recycled and the container is stopped.
import { exists as existsSync, mkdir, readlink, readText, rmdir, unlink, writeAtomic } from "../sys/fs.ts";
import { StateError } from "../errors.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { driverFor } from "../cgroups/driver.ts";
import type { Hook } from "../oci/spec.ts";
import { close, flock, LOCK_EX, O_CLOEXEC, O_RDONLY, openFile } from "../sys/libc.ts";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface SavedState {
  ociVersion: string;
  id: string;
  pid: number;
  /** Start time of the init in clock ticks since boot, from /proc/PID/stat. */
  startTime: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  cgroupDirs: string[];
  cgroupCreated: string[];
  /** Which cgroup driver made them (cgroups/driver.ts); absent: cgroupfs. */
  cgroupDriver?: "cgroupfs" | "systemd";
  hooks: { poststart?: Hook[]; poststop?: Hook[] };
  /** True once create finished; a state without it is a create that never completed. */
  complete: boolean;
  owner: string;
}

const ID_RE = /^[A-Za-z0-9_+\-.]+$/;

export function checkId(id: string | undefined): string {
  if (!id) throw new StateError("", "container id cannot be empty", "invalid-id");
  if (id.length > 1024 || !ID_RE.test(id) || id === "." || id === "..")
    throw new StateError(id, `invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . (at most 1024), not . or ..`, "invalid-id");
  return id;
}

export function stateDir(root: string, id: string): string {
  return `${root}/${checkId(id)}`;
}

/** The runtime has a container by this id (its init may have exited). */
export function containerExists(root: string, id: string): boolean {
  return existsSync(stateDir(root, id));
}

/** Create the container's directory; fails if the id exists. Returns the directory. */
export function createStateDir(root: string, id: string): string {
  const dir = stateDir(root, id);
  mkdirAll(root, 0o711);
  try {
    mkdir(dir, 0o711);
  } catch (e: any) {
    if (e.code === "EEXIST") throw new StateError(id, `container with id exists: ${id}`, "exists");
    throw e;
  }
  return dir;
}

/** Take the container's lock; it is released when the process exits or unlock() is called. */
export function lock(dir: string, id: string): number {
  let fd: number;
  try {
    fd = openFile(dir, O_RDONLY | O_CLOEXEC);
  } catch {
    throw new StateError(id, `container does not exist: ${id}`, "not-exist");
  }
  flock(fd, LOCK_EX);
  return fd;
}

export function unlock(fd: number): void {
  close(fd);
}

export interface Opened {
  dir: string;
  st: SavedState;
  status: Status;
}

/** Run `f` on the container with its directory locked. */
export function withContainer<T>(root: string, id: string, f: (c: Opened) => T): T {
  const dir = stateDir(root, id);
  if (!existsSync(dir)) throw new StateError(id, `container does not exist: ${id}`, "not-exist");
  const fd = lock(dir, id);
  try {
    const st = loadState(root, id);
    return f({ dir, st, status: computeStatus(dir, st) });
  } finally {
    unlock(fd);
  }
}


function mkdirAll(p: string, mode: number): void {
  if (existsSync(p)) return;
  const parent = p.slice(0, p.lastIndexOf("/"));
  if (parent) mkdirAll(parent, mode);
  try {
    mkdir(p, mode);
  } catch (e: any) {
    if (e.code !== "EEXIST") throw e;
  }
}

export function saveState(dir: string, s: SavedState): void {
  writeAtomic(`${dir}/state.json`, JSON.stringify(s));
}

export function loadState(root: string, id: string): SavedState {
  const dir = stateDir(root, id);
  let text: string;
  try {
    text = readText(`${dir}/state.json`);
  } catch (e: any) {
    if (e.code === "ENOENT" && existsSync(dir)) {
      // Created but not yet written (or a create that was killed at once): an empty state.
      return emptyState(id);
    }
    throw new StateError(id, `container does not exist: ${id}`, "not-exist");
  }
  return JSON.parse(text);
}

export function emptyState(id: string): SavedState {
  return {
    ociVersion: "1.3.0",
    id,
    pid: 0,
    startTime: 0,
    bundle: "",
    rootfs: "",
    created: new Date(0).toISOString(),
    cgroupDirs: [],
    cgroupCreated: [],
    hooks: {},
    complete: false,
    owner: "",
  };
}

/** Remove the state directory: the files runjs puts there, then the directory itself. */
export function removeStateDir(dir: string): void {
  for (const f of ["state.json", "config.json", "exec.fifo"]) {
    try {
      unlink(`${dir}/${f}`);
    } catch (e: any) {
      if (e.code !== "ENOENT") throw e;
    }
  }
  try {
    rmdir(dir);
  } catch (e: any) {
    if (e.code === "ENOENT") return;
    if (e.code !== "ENOTEMPTY") throw e;
    // something else was left in it (a temporary file of a killed runjs): the slow way
    require("node:fs").rmSync(dir, { recursive: true, force: true });
  }
}

/** Field 22 of /proc/PID/stat, and whether the process is a zombie; null if it is gone. */
export function procStat(pid: number): { startTime: number; zombie: boolean } | null {
  let text: string;
  try {
    text = readText(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { startTime: Number(rest[19]), zombie: rest[0] === "Z" || rest[0] === "X" };
}

/** Is the recorded init still the same, living process? */
export function initAlive(s: SavedState): boolean {
  if (!s.pid) return false;
  const st = procStat(s.pid);
  return !!st && !st.zombie && st.startTime === s.startTime;
}

export function computeStatus(dir: string, s: SavedState): Status {
  if (!s.complete) return initAlive(s) || !s.pid ? "creating" : "stopped";
  if (!initAlive(s)) return "stopped";
  if (existsSync(`${dir}/exec.fifo`)) return "created";
  if (frozen(s)) return "paused";
  return "running";
}

function frozen(s: SavedState): boolean {
  const cgroups = driverFor(s);
  const d = cgroups.freezer(containerDirs(s.cgroupDirs));
  return !!d && cgroups.frozen(d);
}

/** The runtime-spec state object (what `state` prints and hooks read on stdin). */
export function specState(s: SavedState, status: Status) {
  const out: Record<string, unknown> = {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === "stopped" ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
  };
  if (s.annotations && Object.keys(s.annotations).length) out.annotations = s.annotations;
  return out;
}


/**
 * The container's processes: from its cgroups, or, for a container without any (an
 * unprivileged runjs with no delegated cgroup), every process in the init's pid namespace
 * (just the init when it shares the host's).
 */
export function containerPids(st: SavedState): number[] {
  const dirs = st.cgroupDirs.filter(existsSync);
  if (dirs.length) return driverFor(st).pids(dirs);
  if (!initAlive(st)) return [];
  let ns: string;
  try {
    ns = readlink(`/proc/${st.pid}/ns/pid`);
  } catch {
    return [];
  }
  if (ns === readlink("/proc/self/ns/pid")) return [st.pid];
  const out: number[] = [];
  // Bun.Glob, not node:fs: loading node:fs would cost every `state` call ~2 ms
  for (const d of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlink(`/proc/${d}/ns/pid`) === ns) out.push(Number(d));
    } catch {
      /* gone, or not ours to look at */
    }
  }
  return out;
}
