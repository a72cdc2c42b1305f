// events: the container's resource usage, once (--stats) or every interval, and OOM kills.
//
// The kernel keeps the counters in the container's cgroups (see cgroups/stats.ts). An OOM
// kill inside the cgroup increments oom_kill in memory.oom_control (v1) or memory.events
// (v2); we poll that counter and report each increase as {"type":"oom"}. The stream ends
// when the container's init is gone, as runc's does.
import { readTextIfExists, stdout } from "../sys/fs.ts";
import { StateError, UsageError } from "../errors.ts";
import type { CgroupDir } from "../cgroups/resources.ts";
import { oomKills, statsV1, statsV2, type Reader } from "../cgroups/stats.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { withContainer } from "./state.ts";
import { initAlive, type SavedState } from "./state.ts";

/** Pure: a Go duration ("5s", "100ms", "1m30s", "1.5s") in milliseconds. */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let i = 0;
  if (!s) throw new UsageError(`invalid duration: ${JSON.stringify(s)}`);
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new UsageError(`invalid duration: ${JSON.stringify(s)}`);
    total += Number(m[1]) * unit[m[2]!]!;
    i = re.lastIndex;
  }
  if (total <= 0) throw new UsageError(`duration must be greater than 0: ${s}`);
  return total;
}

function reader(dirs: CgroupDir[]): { read: Reader; v1: boolean } {
  const v1 = dirs.some((d) => d.version === 1);
  const v2dir = dirs.find((d) => d.version === 2)?.dir;
  const read: Reader = (c, f) => {
    const d = v1 ? dirs.find((x) => x.version === 1 && x.controllers.includes(c))?.dir : v2dir;
    try {
      return d ? readTextIfExists(`${d}/${f}`) : undefined;
    } catch {
      return undefined;
    }
  };
  return { read, v1 };
}

export function stats(dirs: CgroupDir[]): Record<string, unknown> {
  const { read, v1 } = reader(dirs);
  return v1 ? statsV1(read) : statsV2(read);
}

/** OOM kills counted in the container's memory cgroup so far. */
export function ooms(dirs: CgroupDir[]): number {
  const { read, v1 } = reader(dirs);
  try {
    return oomKills(v1 ? read("memory", "memory.oom_control") : read("", "memory.events"));
  } catch {
    return 0;
  }
}

function running(root: string, id: string): { st: SavedState; dirs: CgroupDir[] } {
  return withContainer(root, id, (c) => {
    if (c.status === "stopped") throw new StateError(id, "container not running", "not-running");
    return { st: c.st, dirs: containerDirs(c.st.cgroupDirs) };
  });
}

const line = (o: unknown) => stdout(JSON.stringify(o) + "\n");

export function events(root: string, id: string, once: boolean, intervalMs: number): void {
  const { st, dirs } = running(root, id);
  if (once) {
    line({ type: "stats", id, data: stats(dirs) });
    return;
  }
  let oom = ooms(dirs);
  let next = 0;
  const tick = Math.min(100, intervalMs);
  while (initAlive(st)) {
    const n = ooms(dirs);
    if (n > oom) line({ type: "oom", id });
    oom = n;
    const now = Date.now();
    if (now >= next) {
      line({ type: "stats", id, data: stats(dirs) });
      next = now + intervalMs;
    }
    Bun.sleepSync(tick);
  }
  // An OOM kill of the init itself ends the loop before the counter was looked at again.
  if (ooms(dirs) > oom) line({ type: "oom", id });
}
