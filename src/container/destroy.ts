// Tearing a container down: kill its processes, wait until they are gone, remove its cgroups,
// run its poststop hooks, remove its state directory. Used by a create that failed half-way
// and by delete and run; kept apart from create.ts so that delete and start do not load the
// spec validator and plan compiler.
import type { Subprocess } from "bun";
import { exists as existsSync } from "../sys/fs.ts";
import { driverFor } from "../cgroups/driver.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { kill, SIGKILL } from "../sys/libc.ts";
import { runHooksWarn } from "../hooks/run.ts";
import { containerPids, procStat, removeStateDir, specState, type SavedState } from "./state.ts";

/** Wait (briefly) until none of the pids is alive; zombies count as gone. */
export function waitGone(pids: number[], ms = 2000): void {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = pids.filter((p) => {
      const s = procStat(p);
      return s && !s.zombie;
    });
    if (!left.length || Date.now() > deadline) return;
    Bun.sleepSync(2);
  }
}

/**
 * Kill whatever the container started (its init, and `proc`, a helper still running), remove
 * its cgroups and its state directory. With `poststop`, a container whose create completed
 * also gets its poststop hooks, failures reported there as warnings (delete, run).
 */
export function destroy(dir: string, st: SavedState, o: { proc?: Subprocess; poststop?: (msg: string) => void } = {}): void {
  const pids: number[] = [];
  const init = st.pid ? procStat(st.pid) : undefined;
  if (init && !init.zombie && init.startTime === st.startTime) pids.push(st.pid);
  if (o.proc && !o.proc.killed && o.proc.exitCode === null) pids.push(o.proc.pid);
  for (const p of pids) kill(p, SIGKILL);
  killCgroup(st);
  waitGone(pids);
  driverFor(st).remove(st.cgroupCreated, st.cgroupDirs);
  if (o.poststop && st.complete) runHooksWarn("poststop", st.hooks.poststop, JSON.stringify(specState(st, "stopped")), o.poststop);
  removeStateDir(dir);
}

/** SIGKILL every process left in the container's cgroups until none is left (or 2 s pass). */
export function killCgroup(st: SavedState): void {
  const deadline = Date.now() + 2000;
  for (;;) {
    const pids = containerPids(st);
    if (!pids.length || Date.now() > deadline) return;
    for (const p of pids) kill(p, SIGKILL);
    thaw(st);
    Bun.sleepSync(2);
  }
}

/** A frozen (paused) task acts on SIGKILL only once thawed: thaw after killing, as runc does. */
function thaw(st: SavedState): void {
  const cgroups = driverFor(st);
  const d = cgroups.freezer(containerDirs(st.cgroupDirs.filter(existsSync)));
  if (d) cgroups.thaw(d);
}
