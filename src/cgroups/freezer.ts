// Freezing and thawing a container's cgroup: what `pause` and `resume` do.
//
// The kernel's freezer stops every task of a cgroup where it is (no signal the tasks could
// see or handle). cgroup v1 has a freezer controller: writing FROZEN to freezer.state starts
// it, the file reads FREEZING until every task has stopped, then FROZEN; a task stuck in an
// uninterruptible sleep can keep it FREEZING, so runc (and we) thaw briefly and try again.
// cgroup v2 has cgroup.freeze in every cgroup: write 1, and cgroup.events says "frozen 1"
// once all tasks are stopped. On a hybrid host the v1 freezer is used, as runc does.
import { readText, writeExisting } from "../sys/fs.ts";
import { CgroupError } from "../errors.ts";
import type { CgroupDir } from "./hierarchy.ts";

/** The directory that freezes the container: the v1 freezer, else the v2 cgroup. */
export function freezerDir(dirs: CgroupDir[]): CgroupDir | undefined {
  return dirs.find((d) => d.version === 1 && d.controllers.includes("freezer")) ?? dirs.find((d) => d.version === 2);
}

function write(p: string, v: string): void {
  try {
    writeExisting(p, v);
  } catch (e: any) {
    throw new CgroupError(p, v, e.message);
  }
}

/** Pure: is cgroup.events saying "frozen <want>"? */
export function eventsFrozen(events: string, want: 0 | 1): boolean {
  return new RegExp(`^frozen ${want}$`, "m").test(events);
}

/** Is the container frozen right now (FROZEN, or cgroup.freeze set)? */
export function isFrozen(d: CgroupDir): boolean {
  try {
    return d.version === 1 ? readText(`${d.dir}/freezer.state`).trim() === "FROZEN" : readText(`${d.dir}/cgroup.freeze`).trim() === "1";
  } catch {
    return false; // gone meanwhile
  }
}

/** Ask for a thaw without waiting for it (delete: the tasks are being killed anyway). */
export function thawNoWait(d: CgroupDir): void {
  try {
    writeExisting(d.version === 1 ? `${d.dir}/freezer.state` : `${d.dir}/cgroup.freeze`, d.version === 1 ? "THAWED" : "0");
  } catch {
    /* gone meanwhile */
  }
}

export function setFrozen(d: CgroupDir, frozen: boolean): void {
  if (d.version === 1) {
    const p = `${d.dir}/freezer.state`;
    if (!frozen) {
      write(p, "THAWED");
      for (let i = 0; i < 1000 && readText(p).trim() !== "THAWED"; i++) Bun.sleepSync(1);
      return;
    }
    for (let i = 0; i < 2000; i++) {
      // Stuck in FREEZING for a while: thaw for a moment so the blocking task can move on.
      if (i % 50 === 49) {
        write(p, "THAWED");
        Bun.sleepSync(10);
      }
      write(p, "FROZEN");
      const s = readText(p).trim();
      if (s === "FROZEN") return;
      Bun.sleepSync(i < 25 ? 1 : 10);
    }
    write(p, "THAWED");
    throw new CgroupError(p, "FROZEN", "unable to freeze: the cgroup stayed FREEZING");
  }
  write(`${d.dir}/cgroup.freeze`, frozen ? "1" : "0");
  for (let i = 0; i < 2000; i++) {
    if (eventsFrozen(readText(`${d.dir}/cgroup.events`), frozen ? 1 : 0)) return;
    Bun.sleepSync(i < 25 ? 1 : 5);
  }
  if (frozen) write(`${d.dir}/cgroup.freeze`, "0");
  throw new CgroupError(`${d.dir}/cgroup.freeze`, frozen ? "1" : "0", "timed out waiting for cgroup.events");
}
