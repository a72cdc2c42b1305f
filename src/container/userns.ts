// Writing a new user namespace's id maps (the policy is in plan/userns.ts): between PIDS and
// PLACED, while the init waits with no identity in its namespace.
import { ValidationError } from "../oci/errors.ts";
import type { IdMapPlan } from "../plan/userns.ts";
import { writeExisting } from "../sys/fs.ts";

function write(path: string, text: string, field: string): void {
  try {
    writeExisting(path, text);
  } catch (e: any) {
    throw new ValidationError(field, `write ${path}: ${e.message}`);
  }
}

/** newuidmap PID c h s ... (setuid, checks /etc/subuid). */
function viaHelper(tool: string, pid: number, map: string, field: string): void {
  const bin = Bun.which(tool) ?? `/usr/bin/${tool}`;
  const args = map.trim().split(/\s+/);
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync([bin, String(pid), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    throw new ValidationError(field, `mapping more than your own id needs ${tool} (Debian package uidmap), which is not installed`);
  }
  if (r.exitCode !== 0)
    throw new ValidationError(field, `${tool} ${pid} ${args.join(" ")}: ${r.stderr?.toString().trim() || `exit ${r.exitCode}`}`);
}

export function writeIdMaps(pid: number, m: IdMapPlan): void {
  if (m.denySetgroups) write(`/proc/${pid}/setgroups`, "deny", "linux.gidMappings");
  if (m.uidDirect) write(`/proc/${pid}/uid_map`, m.uidMap, "linux.uidMappings");
  else viaHelper("newuidmap", pid, m.uidMap, "linux.uidMappings");
  if (m.gidDirect) write(`/proc/${pid}/gid_map`, m.gidMap, "linux.gidMappings");
  else viaHelper("newgidmap", pid, m.gidMap, "linux.gidMappings");
}
