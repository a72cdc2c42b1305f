// Pulling an image from a registry: runjs's pullImage (manifest, config and layers over the
// distribution API, each blob hashed as it streams into a fresh store) against
// `skopeo copy docker://REF dir:OUT` (the same requests and checks, written to a directory),
// both from the same registry, taking turns, N iterations each; prints medians in ms.
//
//   bun bench/pull.ts IMAGE_REF [N]            (default N = 10)
//
// A registry must be running with the image in it, for instance:
//   docker-registry serve CONFIG.yml     (http.addr 127.0.0.1:5000, a private storage dir)
//   skopeo copy --dest-tls-verify=false docker-archive:IMG.tar docker://127.0.0.1:5000/bench/img:latest
//   bun bench/pull.ts 127.0.0.1:5000/bench/img:latest 20
// A registry on localhost or 127.0.0.1 is reached insecurely (plain HTTP allowed, no TLS
// verification); PULL_INSECURE=1 does that for any host, PULL_USER/PULL_PASSWORD give credentials.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatReference, parseReference } from "../src/engine/images/reference.ts";
import { pullImage, type PullOptions } from "../src/engine/images/registry.ts";
import { Store } from "../src/engine/images/store.ts";

const refArg = process.argv[2];
if (!refArg) {
  console.error("usage: bun bench/pull.ts IMAGE_REF [N]");
  process.exit(2);
}
const N = Number(process.argv[3] ?? 10);
const ref = parseReference(refArg);
const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(ref.registry);
const insecure = loopback || process.env.PULL_INSECURE === "1";
const opts: PullOptions = { insecure };
if (process.env.PULL_USER) {
  opts.username = process.env.PULL_USER;
  opts.password = process.env.PULL_PASSWORD ?? "";
}
const skopeoRef = `docker://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
const skopeoArgs = [
  "skopeo", "--insecure-policy", "copy", "-q",
  ...(insecure ? ["--src-tls-verify=false"] : []),
  ...(opts.username ? ["--src-creds", `${opts.username}:${opts.password}`] : []),
];

const work = mkdtempSync("/tmp/runjs-bench-pull-");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const dirSize = (d: string): number => readdirSync(d, { recursive: true }).reduce((n, f) => n + (statSync(join(d, String(f))).isFile() ? statSync(join(d, String(f))).size : 0), 0);

const times: Record<string, number[]> = { runjs: [], skopeo: [] };
let bytes = 0;
try {
  for (let i = 0; i < N; i++) {
    const root = join(work, `store-${i}`);
    let t = Bun.nanoseconds();
    const pulled = await pullImage(ref, new Store(root), opts);
    times.runjs!.push((Bun.nanoseconds() - t) / 1e6);
    bytes = pulled.layers.reduce((n, l) => n + l.size, 0);
    rmSync(root, { recursive: true, force: true });

    const out = join(work, `dir-${i}`);
    t = Bun.nanoseconds();
    const r = Bun.spawnSync([...skopeoArgs, skopeoRef, `dir:${out}`], { stdio: ["ignore", "ignore", "pipe"] });
    times.skopeo!.push((Bun.nanoseconds() - t) / 1e6);
    if (r.exitCode !== 0) throw new Error(`skopeo copy failed: ${r.stderr.toString()}`);
    if (i === 0) console.log(`skopeo wrote ${(dirSize(out) / 1e6).toFixed(1)} MB`);
    rmSync(out, { recursive: true, force: true });
  }
  console.log(`${formatReference(ref)}: ${(bytes / 1e6).toFixed(1)} MB of layers, ${N} iterations`);
  const runjs = median(times.runjs!);
  const skopeo = median(times.skopeo!);
  console.log(`runjs pullImage   median ${runjs.toFixed(1)} ms  (min ${Math.min(...times.runjs!).toFixed(1)})`);
  console.log(`skopeo copy dir:  median ${skopeo.toFixed(1)} ms  (min ${Math.min(...times.skopeo!).toFixed(1)})`);
  console.log(`runjs / skopeo    ${(runjs / skopeo).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
