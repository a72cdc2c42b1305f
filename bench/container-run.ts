// `runjs container run --rm IMAGE true` against `podman run --rm IMAGE true` (Debian's Podman,
// with runc and with crun as its runtime), the same busybox image in each, in one run.
//
//   bun bench/container-run.ts [iterations]        (as root; default 20)
//
// Both start from an image store of their own (runjs: a fresh --storage; Podman: vfs storage
// under a temporary root, no network, the ulimits this host allows) holding the image the
// client tests build; each iteration runs every tool in turn. crun needs a v1 hugetlb
// hierarchy on this hybrid host (see bench/README.md).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, buildImage, CGROUP_PARENT, IMAGE, REPO, removeEverything, sh, WORK } from "../test/clients/harness.ts";

const N = Number(process.argv[2] ?? 20);
const runjs = join(REPO, "bin/runjs");
const archive = buildImage();
const store = join(WORK, "runjs-store");
const rt = join(WORK, "runjs-state");
const pdir = join(WORK, "podman");
mkdirSync(pdir, { recursive: true });
process.env.CONTAINERS_CONF = join(pdir, "containers.conf");
writeFileSync(process.env.CONTAINERS_CONF, `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\nnetns = "none"\n[network]\nnetwork_config_dir = "${pdir}/cni"\n`);
const podman = (runtime: string) => [
  BIN.podman, "--root", join(pdir, "root"), "--runroot", join(pdir, "runroot"), "--tmpdir", join(pdir, "tmp"),
  "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", runtime,
];

const tools: Record<string, string[]> = {
  runjs: [runjs, "--root", rt, "container", "run", "--rm", "--cgroup-parent", `${CGROUP_PARENT}/bench`, "--storage", store, IMAGE, "true"],
};
for (const r of ["runc", "crun"]) {
  const bin = Bun.which(r);
  if (bin) tools[`podman+${r}`] = [...podman(bin), "run", "--rm", "--cgroup-parent", `${CGROUP_PARENT}/bench`, IMAGE, "true"];
}

function timed(argv: string[]): number {
  const t = Bun.nanoseconds();
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.err.trim()}`);
  return (Bun.nanoseconds() - t) / 1e6;
}

try {
  if (sh([runjs, "image", "import", archive, "--storage", store]).code !== 0) throw new Error("runjs image import failed");
  if (sh([...podman("runc"), "load", "-i", archive]).code !== 0) throw new Error("podman load failed");
  for (const [name, argv] of Object.entries(tools)) {
    try {
      timed(argv);
    } catch (e: any) {
      console.error(`${name}: left out: ${e.message}`);
      delete tools[name];
    }
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (let i = 0; i < N; i++) for (const [name, argv] of Object.entries(tools)) times[name]!.push(timed(argv));
  const q = (x: number[], p: number) => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(p * (x.length - 1) + 0.5))]!;
  console.log(`${N} iterations, ${new Date().toISOString()}: run --rm IMAGE true`);
  for (const [name, t] of Object.entries(times))
    console.log(`${name.padEnd(12)} p50 ${q(t, 0.5).toFixed(1).padStart(7)} ms   p90 ${q(t, 0.9).toFixed(1).padStart(7)} ms   runjs/${name} ${(q(times.runjs!, 0.5) / q(t, 0.5)).toFixed(2)}`);
} finally {
  sh([...podman("runc"), "rm", "-af"]);
  removeEverything();
}
