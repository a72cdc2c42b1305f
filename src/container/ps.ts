// ps: the processes in the container, as pids (json) or the host's ps output filtered.
//
// The kernel lists every task of a cgroup in its cgroup.procs, whatever pid namespace the
// task is in, so the container's processes are those in its cgroup, with host pids. For the
// table, the host's ps does the formatting and we keep the header and the rows whose PID
// column (found by name in the header, as runc does) names one of those pids.
import { stdout } from "../sys/fs.ts";
import { UsageError } from "../errors.ts";
import { containerPids, withContainer } from "./state.ts";

/** Pure: the header and the rows of ps output whose PID column is one of `pids`. */
export function filterPs(out: string, pids: number[]): string {
  const lines = out.split("\n");
  const header = lines[0] ?? "";
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new UsageError("couldn't find PID field in ps output");
  const want = new Set(pids);
  const keep = [header];
  for (const l of lines.slice(1)) {
    if (!l.trim()) continue;
    const f = l.trim().split(/\s+/);
    if (want.has(Number(f[col]))) keep.push(l);
  }
  return keep.join("\n") + "\n";
}

export function ps(root: string, id: string, format: string, psArgs: string[]): number {
  if (format !== "table" && format !== "json") throw new UsageError(`invalid format option: ${format}`);
  const pids = withContainer(root, id, (c) => (c.status === "stopped" ? [] : containerPids(c.st)));
  if (format === "json") {
    stdout(JSON.stringify(pids) + "\n");
    return 0;
  }
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new UsageError(`ps: ${r.stderr.toString().trim() || `exit status ${r.exitCode}`}`);
  stdout(filterPs(r.stdout.toString(), pids));
  return 0;
}
