// Unpacking a large realistic image: runjs against umoci and skopeo (and GNU tar as the
// floor), side by side, in one run.
//
//   debootstrap --variant=minbase bookworm /tmp/deb-rootfs http://deb.debian.org/debian   (once)
//   bun bench/images.ts [ROOTFS_DIR] [iterations]                                       (as root)
//
// The root filesystem is packed once as a gzip layer in an OCI image layout (skopeo, from a
// docker-archive made here). Then, per iteration and tool in turn, into fresh directories:
//   runjs      `runjs image import LAYOUT`: copy and verify every blob into a new store, unpack
//   umoci      `umoci unpack --image LAYOUT:bench BUNDLE` (unpacks, and writes its mtree)
//   skopeo     `skopeo copy oci:LAYOUT:bench dir:OUT` (copies and verifies blobs; no unpack)
//   tar        `tar -xzpf LAYER -C OUT` (GNU tar, the floor)
// Prints medians in ms and runjs's ratio to each.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const rootfs = process.argv[2] ?? "/tmp/deb-rootfs";
const N = Number(process.argv[3] ?? 5);
if (!existsSync(rootfs)) throw new Error(`${rootfs}: missing (see the header of this file)`);
const work = mkdtempSync("/tmp/runjs-bench-images-");
const run = (argv: string[]) => {
  const t = Bun.nanoseconds();
  const r = Bun.spawnSync(argv, { stdio: ["ignore", "ignore", "pipe"] });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return (Bun.nanoseconds() - t) / 1e6;
};
const sha = (b: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

try {
  // the image: one layer, as docker save would write it, then an OCI layout with gzip layers
  const layer = join(work, "layer.tar");
  run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", rootfs, "-cf", layer, "."]);
  const da = join(work, "da");
  const h = sha(readFileSync(layer));
  mkdirSync(join(da, h), { recursive: true });
  run(["mv", layer, join(da, h, "layer.tar")]);
  const cfg = JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${h}`] } });
  writeFileSync(join(da, `${sha(cfg)}.json`), cfg);
  writeFileSync(join(da, "manifest.json"), JSON.stringify([{ Config: `${sha(cfg)}.json`, RepoTags: ["bench:1"], Layers: [`${h}/layer.tar`] }]));
  const archive = join(work, "image.tar");
  run(["tar", "-C", da, "-cf", archive, "."]);
  rmSync(da, { recursive: true });
  const oci = join(work, "oci");
  run(["skopeo", "copy", "--quiet", `docker-archive:${archive}`, `oci:${oci}:bench`]);
  const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(oci, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
  const gz = join(oci, "blobs/sha256", manifest.layers[0].digest.slice(7));
  const size = Bun.file(gz).size;

  const tools: Record<string, (out: string) => string[]> = {
    runjs: (out) => [join(repo, "bin/runjs"), "image", "import", "--name", "bench:1", oci, "--storage", out],
    umoci: (out) => ["umoci", "unpack", "--image", `${oci}:bench`, out],
    skopeo: (out) => ["skopeo", "copy", "--quiet", `oci:${oci}:bench`, `dir:${out}`],
    tar: (out) => ["sh", "-c", `mkdir -p ${out} && tar -xzpf ${gz} -C ${out}`],
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (let i = 0; i < N; i++)
    for (const [name, argv] of Object.entries(tools)) {
      const out = join(work, `${name}-${i}`);
      Bun.spawnSync(["sync"]);
      times[name]!.push(run(argv(out)));
      rmSync(out, { recursive: true, force: true });
    }
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
  console.log(`${N} iterations, ${new Date().toISOString()}, rootfs ${rootfs}: layer ${(size / 1e6).toFixed(0)} MB gzip`);
  for (const [name, t] of Object.entries(times))
    console.log(`${name.padEnd(8)} ${med(t).toFixed(0).padStart(7)} ms   runjs/${name} ${(med(times.runjs!) / med(t)).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
