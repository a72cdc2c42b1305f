// Building and shipping: `runjs image build` against `buildah bud` and `podman build`, and
// `runjs image push` against `skopeo copy`, side by side in one run (as root).
//
//   bun bench/build.ts [iterations]        (default 3)
//
// The base is the debootstrapped Debian the conformance cache holds
// (/var/cache/runjs-conformance/debian-amd64.tar.xz, made by the OCI validation script),
// imported into a private runjs store and loaded into private buildah and podman stores
// (overlay driver). The Dockerfile has three RUN steps and a COPY of a 50 MB context (50
// files of random bytes, the worst case for compression). Per iteration and tool in turn:
//   cold   a build with nothing cached (--no-cache; buildah with --layers so it caches at all)
//   warm   the same build again, everything cached
// RUN steps have no network for every tool. Then the peak RSS of one cold runjs build, and
// a push of a 100 MB image to Debian's docker-registry on 127.0.0.1 (plain HTTP, storage
// wiped between pushes): runjs from its store, skopeo from an OCI layout of the same image.
// Prints medians in ms and runjs's ratio to each.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const RUNJS = join(repo, "bin/runjs");
const N = Number(process.argv[2] ?? 3);
const BASE_XZ = "/var/cache/runjs-conformance/debian-amd64.tar.xz";
if (!existsSync(BASE_XZ)) throw new Error(`${BASE_XZ}: missing (run the OCI validation script once: it debootstraps it)`);
for (const b of ["/usr/bin/buildah", "/usr/bin/podman", "/usr/bin/skopeo", "/usr/bin/docker-registry"])
  if (!existsSync(b)) throw new Error(`${b}: missing (bash scripts/client-deps.sh installs it)`);
const work = mkdtempSync("/var/tmp/runjs-bench-build-");
const env = { ...process.env, RUNJS_STORAGE: join(work, "runjs") };
const BUILDAH = ["/usr/bin/buildah", "--root", join(work, "buildah"), "--runroot", join(work, "buildah-run"), "--storage-driver", "overlay"];
const PODMAN = ["/usr/bin/podman", "--root", join(work, "podman"), "--runroot", join(work, "podman-run"), "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "none"];

function run(argv: string[], quiet = true): number {
  const t = Bun.nanoseconds();
  const r = Bun.spawnSync(argv, { env, stdio: ["ignore", quiet ? "ignore" : "inherit", "pipe"] });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return (Bun.nanoseconds() - t) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

try {
  // the base image, in the three stores
  const baseTar = join(work, "debian.tar");
  run(["sh", "-c", `xz -dc ${BASE_XZ} > ${baseTar}`]);
  run([RUNJS, "image", "import", "--name", "localhost/bench/debian:1", baseTar]);
  const archive = join(work, "debian-archive.tar");
  run([RUNJS, "image", "save", "-o", archive, "localhost/bench/debian:1"]);
  run([...BUILDAH, "pull", "-q", `docker-archive:${archive}`]);
  run([...PODMAN, "load", "-q", "-i", archive]);

  // the context: 50 MB of random files and a Dockerfile
  const ctx = join(work, "ctx");
  mkdirSync(join(ctx, "data"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(ctx, "data", `blob-${i}`), crypto.getRandomValues(new Uint8Array(1 << 20)));
  writeFileSync(
    join(ctx, "Dockerfile"),
    "FROM localhost/bench/debian:1\n" +
      "RUN apt-get --version > /apt-version && useradd -m app\n" +
      "RUN mkdir -p /srv/app && echo configured > /srv/app/settings\n" +
      "COPY data/ /srv/app/data/\n" +
      "RUN du -s /srv/app/data > /srv/app/size && ls /srv/app/data | wc -l > /srv/app/count\n" +
      'CMD ["cat", "/srv/app/size"]\n',
  );
  const tools: Record<string, { cold: string[]; warm: string[] }> = {
    runjs: {
      cold: [RUNJS, "image", "build", "-q", "--network", "none", "--no-cache", "-t", "bench/app:1", ctx],
      warm: [RUNJS, "image", "build", "-q", "--network", "none", "-t", "bench/app:1", ctx],
    },
    buildah: {
      cold: [...BUILDAH, "bud", "-q", "--layers", "--no-cache", "--network", "none", "-t", "bench/app:1", ctx],
      warm: [...BUILDAH, "bud", "-q", "--layers", "--network", "none", "-t", "bench/app:1", ctx],
    },
    podman: {
      cold: [...PODMAN, "build", "-q", "--no-cache", "--network", "none", "-t", "bench/app:1", ctx],
      warm: [...PODMAN, "build", "-q", "--network", "none", "-t", "bench/app:1", ctx],
    },
  };
  const times: Record<string, { cold: number[]; warm: number[] }> = {};
  for (const k of Object.keys(tools)) times[k] = { cold: [], warm: [] };
  for (let i = 0; i < N; i++)
    for (const [k, t] of Object.entries(tools)) {
      times[k]!.cold.push(run(t.cold));
      times[k]!.warm.push(run(t.warm));
    }
  // peak RSS of one cold runjs build (GNU time's maximum resident set, KiB)
  const rss = Bun.spawnSync(["/usr/bin/time", "-f", "%M", ...tools.runjs!.cold], { env, stdio: ["ignore", "ignore", "pipe"] }).stderr.toString().trim().split("\n").at(-1);

  // push: a 100 MB image (the base plus 100 MB of random files), to a fresh registry each time
  const big = join(work, "big");
  mkdirSync(join(big, "data"), { recursive: true });
  for (let i = 0; i < 100; i++) writeFileSync(join(big, "data", `blob-${i}`), crypto.getRandomValues(new Uint8Array(1 << 20)));
  writeFileSync(join(big, "Dockerfile"), "FROM scratch\nCOPY data/ /data/\n");
  run([RUNJS, "image", "build", "-q", "--network", "none", "-t", "localhost/bench/big:1", big]);
  const layout = join(work, "big-oci");
  run([RUNJS, "image", "save", "--format", "oci-dir", "-o", layout, "localhost/bench/big:1"]);
  const port = 15000 + Math.floor(Math.random() * 1000);
  const regDir = join(work, "registry");
  writeFileSync(
    join(work, "registry.yml"),
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${regDir}\nhttp:\n  addr: 127.0.0.1:${port}\nlog:\n  level: error\n`,
  );
  const push: Record<string, number[]> = { runjs: [], skopeo: [] };
  for (let i = 0; i < N; i++)
    for (const k of ["runjs", "skopeo"]) {
      rmSync(regDir, { recursive: true, force: true });
      const reg = Bun.spawn(["/usr/bin/docker-registry", "serve", join(work, "registry.yml")], { stdio: ["ignore", "ignore", "ignore"] });
      for (let j = 0; j < 100; j++) {
        try {
          await fetch(`http://127.0.0.1:${port}/v2/`);
          break;
        } catch {
          await Bun.sleep(20);
        }
      }
      push[k]!.push(
        k === "runjs"
          ? run([RUNJS, "image", "push", "-q", "--insecure", "localhost/bench/big:1", `127.0.0.1:${port}/bench/big:1`])
          : run(["/usr/bin/skopeo", "copy", "-q", "--dest-tls-verify=false", `oci:${layout}`, `docker://127.0.0.1:${port}/bench/big:1`]),
      );
      reg.kill();
      await reg.exited;
    }

  const row = (name: string, ours: number[], theirs: Record<string, number[]>) =>
    console.log(
      `| ${name} | ${median(ours).toFixed(0)} | ${Object.entries(theirs)
        .map(([k, v]) => `${k} ${median(v).toFixed(0)} (${(median(ours) / median(v)).toFixed(2)}×)`)
        .join(" | ")} |`,
    );
  console.log(`\n${N} iterations, medians in ms (runjs's ratio to each in brackets):\n`);
  console.log("| step | runjs | others |\n|---|---|---|");
  row("build, cold", times.runjs!.cold, { buildah: times.buildah!.cold, podman: times.podman!.cold });
  row("build, cache warm", times.runjs!.warm, { buildah: times.buildah!.warm, podman: times.podman!.warm });
  row("push 100 MB", push.runjs!, { skopeo: push.skopeo! });
  console.log(`\npeak RSS of one cold runjs build: ${(Number(rss) / 1024).toFixed(0)} MiB`);
} finally {
  Bun.spawnSync([...BUILDAH, "rm", "--all"], { stdio: ["ignore", "ignore", "ignore"] });
  Bun.spawnSync(["sh", "-c", `grep -o " ${work}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  rmSync(work, { recursive: true, force: true });
}
