// Side-by-side benchmark through the real clients: `podman run --rm IMAGE true` and
// `ctr run --rm IMAGE ID true`, with runjs, runc and crun as the runtime, in one run.
//
//   bun bench/clients.ts [iterations]        (as root; default 20)
//
// The clients are started as the client tests start them (private state, test/clients/harness.ts),
// with the runtime binaries given directly (no logging wrapper). Runtimes take turns inside
// each iteration. crun needs a v1 hugetlb hierarchy on this hybrid host (see bench/README.md).
import { join } from "node:path";
import { mkdirSync, writeFileSync } from "node:fs";
import { BIN, buildImage, CGROUP_PARENT, IMAGE, REPO, removeEverything, sh, startContainerd, timed, WORK } from "../test/clients/harness.ts";

const N = Number(process.argv[2] ?? 20);
const runtimes: Record<string, string> = { runjs: join(REPO, "bin/runjs") };
for (const r of ["runc", "crun"]) {
  const p = Bun.which(r);
  if (p) runtimes[r] = p;
}

const archive = buildImage();
const pdir = join(WORK, "podman");
mkdirSync(pdir, { recursive: true });
process.env.CONTAINERS_CONF = join(pdir, "containers.conf");
writeFileSync(
  process.env.CONTAINERS_CONF,
  `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\nnetns = "none"\n[network]\nnetwork_config_dir = "${pdir}/cni"\n`,
);
const podman = (rt: string) => [
  BIN.podman, "--root", join(pdir, "root"), "--runroot", join(pdir, "runroot"), "--tmpdir", join(pdir, "tmp"),
  "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", rt,
];

const times: Record<string, Record<string, number[]>> = {};
try {
  if (sh([...podman(runtimes.runjs!), "load", "-i", archive]).code !== 0) throw new Error("podman load failed");
  const { address, daemon } = await startContainerd();
  const ctr = [BIN.ctr, "--address", address, "--namespace", "bench"];
  if (sh([...ctr, "images", "import", archive]).code !== 0) throw new Error("ctr import failed");

  // A runtime that cannot run here is reported and left out.
  for (const [name, bin] of Object.entries(runtimes)) {
    try {
      timed([...podman(bin), "run", "--rm", "--cgroup-parent", `${CGROUP_PARENT}/bench`, IMAGE, "true"]);
      times[name] = { podman: [], ctr: [] };
    } catch (e: any) {
      console.error(`${name}: left out: ${e.message}`);
      delete runtimes[name];
    }
  }
  let n = 0;
  for (let i = 0; i < N; i++)
    for (const [name, bin] of Object.entries(runtimes)) {
      times[name]!.podman!.push(timed([...podman(bin), "run", "--rm", "--cgroup-parent", `${CGROUP_PARENT}/bench`, IMAGE, "true"]));
      const id = `b${++n}`;
      times[name]!.ctr!.push(
        timed([...ctr, "run", "--rm", "--runc-binary", bin, "--runc-root", join(WORK, "ctr-runtime"), "--fifo-dir", join(WORK, "fifo"), "--cgroup", `${CGROUP_PARENT}/bench/${id}`, IMAGE, id, "true"]),
      );
    }
  await daemon.stop();

  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1) + 0.5))]!;
  const fmt = (x: number) => x.toFixed(1).padStart(8);
  console.log(`${N} iterations, ${new Date().toISOString()}`);
  console.log(`${"metric".padEnd(8)}${Object.keys(runtimes).map((r) => `${r} p50`.padStart(12) + "p90".padStart(8)).join("")}   ratios (runjs / other, p50)`);
  for (const m of ["podman", "ctr"]) {
    const r = times.runjs?.[m];
    const ratios = Object.keys(runtimes)
      .filter((x) => x !== "runjs" && r)
      .map((x) => `${x} ${(q(r!, 0.5) / q(times[x]![m]!, 0.5)).toFixed(2)}`)
      .join(", ");
    console.log(`${m.padEnd(8)}${Object.keys(runtimes).map((x) => `${fmt(q(times[x]![m]!, 0.5))}    ${fmt(q(times[x]![m]!, 0.9))}`).join("")}   ${ratios}`);
  }
} finally {
  sh([...podman(runtimes.runjs!), "rm", "-af"]);
  removeEverything();
}
