// Writing linux.resources into the container's cgroups, one small writer per controller.
//
// Each limit is a file in the controller's directory: writing "100" to pids.max caps the
// number of tasks. The same limit has a different file (and sometimes unit) in cgroup v1
// and v2; each writer knows both and picks by the hierarchy it is given.
import { exists as existsSync, writeExisting } from "../sys/fs.ts";
import { CgroupError } from "../errors.ts";
import type { LinuxResources } from "../oci/spec.ts";

export interface CgroupDir {
  version: 1 | 2;
  controllers: string[];
  dir: string;
}

function write(dir: string, file: string, value: string): void {
  const p = `${dir}/${file}`;
  try {
    writeExisting(p, value);
  } catch (e: any) {
    throw new CgroupError(p, value, e.code === "ENOENT" ? "controller not available here" : e.message);
  }
}

/** Pure: "max" for no limit (0 or negative in the spec means none), else the number. */
export function pidsMax(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}

/** The resource groups this file writes; anything else is reported, never dropped silently. */
export const APPLIED = new Set(["pids"]);

export function applyResources(r: LinuxResources | undefined, dirs: CgroupDir[], warn: (m: string) => void): void {
  if (!r) return;
  for (const k of Object.keys(r)) if (!APPLIED.has(k)) warn(`linux.resources.${k} is not applied yet`);
  if (r.pids && r.pids.limit !== undefined) {
    const v = pidsMax(r.pids.limit);
    const v1 = dirs.find((d) => d.version === 1 && d.controllers.includes("pids"));
    const v2 = dirs.find((d) => d.version === 2 && existsSync(`${d.dir}/pids.max`));
    const target = v1 ?? v2;
    if (!target) throw new CgroupError("pids.max", v, "linux.resources.pids: no pids controller on this host");
    write(target.dir, "pids.max", v);
  }
}
