// runjs's shim beside the runc v2 shim, through a real containerd, in one run:
//
//   bun bench/shim.ts [iterations] [pods]      (as root; defaults 20 and 10)
//
// Time: `ctr run --rm IMAGE ID true`, end to end, four ways taking turns in each iteration:
// runjs's shim (io.containerd.runjs.v2: no runtime binary), and the runc v2 shim calling
// runc, crun or runjs for each step. Memory: PODS containers left running (`sleep`), each
// with its own shim as a pod's sandbox has, and the proportional set size (PSS, from
// /proc/PID/smaps_rollup: shared pages divided among their sharers) of each shim process,
// runjs's beside the runc shim's, 1 s after the pods started and again once they have been
// idle past SHRINK_AFTER_MS (when the runjs shim gives back its compiled code); then how
// each splits into anonymous memory (the JavaScript heap and Bun's own) and file-backed
// pages (the executable's mapped code).
// containerd is started as the client tests start it (private state, test/clients/harness.ts).
// crun needs a v1 hugetlb hierarchy on this hybrid host (see bench/README.md).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SHRINK_AFTER_MS } from "../src/shim/service.ts";
import { BIN, buildImage, CGROUP_PARENT, IMAGE, REPO, removeEverything, sh, startContainerd, timed, WORK } from "../test/clients/harness.ts";

const N = Number(process.argv[2] ?? 20);
const PODS = Number(process.argv[3] ?? 10);

const ways: Record<string, string[]> = { "runjs shim": ["--runtime", "io.containerd.runjs.v2"] };
for (const r of ["runc", "crun"]) {
  const p = Bun.which(r);
  if (p) ways[`runc shim + ${r}`] = ["--runc-binary", p, "--runc-root", join(WORK, "ctr-runtime")];
}
ways["runc shim + runjs"] = ["--runc-binary", join(REPO, "bin/runjs"), "--runc-root", join(WORK, "ctr-runtime")];

/** kB of each field of /proc/PID/smaps_rollup. */
function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Shim processes (serving, not `start`) of one kind under our containerd. */
function shims(kind: "runjs" | "runc"): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
        return argv[0]!.endsWith(`containerd-shim-${kind}-v2`) && argv.includes(join(WORK, "containerd/containerd.sock")) && !argv.includes("start") && !argv.includes("delete");
      } catch {
        return false;
      }
    })
    .map(Number);
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1) + 0.5))]!;

try {
  const archive = buildImage();
  const { address, daemon } = await startContainerd();
  const ctr = [BIN.ctr, "--address", address, "--namespace", "bench"];
  if (sh([...ctr, "images", "import", archive]).code !== 0) throw new Error("ctr import failed");
  const fifo = ["--fifo-dir", join(WORK, "fifo")];
  const times: Record<string, number[]> = {};
  let n = 0;
  for (const [name, flags] of Object.entries(ways)) {
    try {
      timed([...ctr, "run", "--rm", ...flags, ...fifo, "--cgroup", `${CGROUP_PARENT}/bench/w${++n}`, IMAGE, `w${n}`, "true"]);
      times[name] = [];
    } catch (e: any) {
      console.error(`${name}: left out: ${e.message}`);
      delete ways[name];
    }
  }
  for (let i = 0; i < N; i++)
    for (const [name, flags] of Object.entries(ways)) {
      const id = `b${++n}`;
      times[name]!.push(timed([...ctr, "run", "--rm", ...flags, ...fifo, "--cgroup", `${CGROUP_PARENT}/bench/${id}`, IMAGE, id, "true"]));
    }

  // memory: PODS running containers per shim kind, one shim each, read twice: 1 s after the
  // last start, and once the pods have been quiet past the runjs shim's SHRINK_AFTER_MS
  const pss: Record<string, Record<string, number>[]> = {};
  for (const [kind, flags] of [["runjs", ways["runjs shim"]!], ["runc", ways["runc shim + runc"] ?? ways["runc shim + runjs"]!]] as const) {
    const ids: string[] = [];
    for (let i = 0; i < PODS; i++) {
      const id = `m-${kind}-${i}`;
      const r = sh([...ctr, "run", "-d", ...flags, ...fifo, "--cgroup", `${CGROUP_PARENT}/bench/${id}`, IMAGE, id, "sleep", "1000"]);
      if (r.code !== 0) throw new Error(`ctr run -d ${id}: ${r.err}`);
      ids.push(id);
    }
    await Bun.sleep(1000);
    pss[`${kind} at 1 s`] = shims(kind).map(rollup);
    await Bun.sleep(SHRINK_AFTER_MS + 1000);
    pss[`${kind} idle`] = shims(kind).map(rollup);
    for (const id of ids) sh([...ctr, "tasks", "kill", "-s", "SIGKILL", id]);
    await Bun.sleep(300);
    for (const id of ids) sh([...ctr, "tasks", "rm", "-f", id]), sh([...ctr, "containers", "rm", id]);
  }
  await daemon.stop();

  console.log(`${N} iterations, ${PODS} pods, ${new Date().toISOString()}`);
  console.log(`ctr run --rm IMAGE ID true (ms)`.padEnd(34) + "p50".padStart(8) + "p90".padStart(8) + "   runjs shim / this (p50)");
  const ours = q(times["runjs shim"]!, 0.5);
  for (const [name, xs] of Object.entries(times))
    console.log(`  ${name.padEnd(32)}${q(xs, 0.5).toFixed(1).padStart(8)}${q(xs, 0.9).toFixed(1).padStart(8)}   ${(ours / q(xs, 0.5)).toFixed(2)}`);
  const mean = (xs: Record<string, number>[], k: string) => xs.reduce((a, x) => a + (x[k] ?? 0), 0) / Math.max(1, xs.length);
  console.log(`shim PSS per pod, ${PODS} pods (kB)      PSS     RSS  Pss_Anon  Pss_File`);
  for (const [kind, xs] of Object.entries(pss))
    console.log(`  ${`${kind.replace(" ", " shim, ")} (${xs.length})`.padEnd(32)}${["Pss", "Rss", "Pss_Anon", "Pss_File"].map((k) => mean(xs, k).toFixed(0).padStart(8)).join("")}`);
  for (const when of ["at 1 s", "idle"]) {
    const [a, b] = [pss[`runjs ${when}`], pss[`runc ${when}`]];
    if (a?.length && b?.length)
      console.log(`  ratio runjs / runc, ${when}: PSS ${(mean(a, "Pss") / mean(b, "Pss")).toFixed(2)}, Pss_Anon ${(mean(a, "Pss_Anon") / mean(b, "Pss_Anon")).toFixed(2)}`);
  }
} finally {
  removeEverything();
}
