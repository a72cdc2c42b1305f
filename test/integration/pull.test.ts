// Pulling images over the distribution API: from a real registry (Debian's docker-registry on
// 127.0.0.1, filled with skopeo from docker-archives built here out of the host's busybox),
// and from a fake one that misbehaves on purpose. Every pull checks what it got against what
// skopeo pushed (digests of manifest, config and layers, re-hashed from the store), and every
// failure checks that the store gained no blob and kept no partial file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseReference } from "../../src/engine/images/reference.ts";
import { compatiblePlatforms, hostPlatform, normalizePlatform, selectManifest } from "../../src/engine/images/platform.ts";
import { MEDIA, parseChallenge, pullImage, type PullOptions } from "../../src/engine/images/registry.ts";
import { ImageError, sha256, Store } from "../../src/engine/images/store.ts";
import { type FakeRegistry, type FakeRequest, type FakeResponse, type Registry, startFakeRegistry, startRegistry } from "./registry-server.ts";

const WORK = mkdtempSync("/tmp/runjs-pull-");
const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";
const running: { pid: number; dir: string }[] = [];
const fakes: FakeRegistry[] = [];
let reg: Registry;
let authReg: Registry;

// Whatever happens, no registry and no temporary directory outlives the test process.
process.on("exit", () => {
  for (const r of running) {
    try {
      process.kill(r.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
  rmSync(WORK, { recursive: true, force: true });
});

// ---- images ---------------------------------------------------------------------------------

type LayerSpec = Record<string, string | "@busybox">;
let archives = 0;

/** A docker-archive (manifest.json, config, one tar per layer) with these layers, bottom first. */
function buildArchive(layers: LayerSpec[], arch = "amd64", variant?: string): string {
  const dir = join(WORK, `archive-${++archives}`);
  const out = join(dir, "out");
  mkdirSync(out, { recursive: true });
  const diffIds: string[] = [];
  const paths: string[] = [];
  layers.forEach((spec, i) => {
    const root = join(dir, `layer${i}`);
    mkdirSync(root, { recursive: true });
    for (const [path, content] of Object.entries(spec)) {
      const p = join(root, path);
      mkdirSync(join(p, ".."), { recursive: true });
      if (content === "@busybox") {
        cpSync(BUSYBOX, p);
        for (const a of ["sh", "ls", "cat", "echo", "true"]) symlinkSync("busybox", join(p, "..", a));
      } else writeFileSync(p, content);
    }
    const tar = join(dir, `layer${i}.tar`);
    const r = Bun.spawnSync(["tar", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "--sort=name", "-C", root, "-cf", tar, "."]);
    if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr}`);
    const hex = sha256(readFileSync(tar)).slice(7);
    mkdirSync(join(out, hex), { recursive: true });
    cpSync(tar, join(out, hex, "layer.tar"));
    diffIds.push(`sha256:${hex}`);
    paths.push(`${hex}/layer.tar`);
  });
  const config = JSON.stringify({
    architecture: arch,
    ...(variant ? { variant } : {}),
    os: "linux",
    config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layers.map((_, i) => ({ created_by: `test layer ${i}` })),
  });
  const cfg = sha256(config).slice(7);
  writeFileSync(join(out, `${cfg}.json`), config);
  writeFileSync(join(out, "manifest.json"), JSON.stringify([{ Config: `${cfg}.json`, RepoTags: null, Layers: paths }]));
  const archive = join(dir, "image.tar");
  if (Bun.spawnSync(["tar", "-C", out, "-cf", archive, "."]).exitCode !== 0) throw new Error("tar failed");
  rmSync(out, { recursive: true });
  return archive;
}

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function push(archive: string, dest: string, opts: { format?: "oci" | "v2s2"; compress?: "gzip" | "zstd"; creds?: string } = {}): void {
  run([
    "skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
    ...(opts.format ? ["--format", opts.format] : []),
    ...(opts.compress ? ["--dest-compress-format", opts.compress] : []),
    ...(opts.creds ? ["--dest-creds", opts.creds] : []),
    `docker-archive:${archive}`, `docker://${dest}`,
  ]);
}

/** What skopeo sees in the registry: the manifest digest and the layer digests. */
function inspect(ref: string, extra: string[] = []): { Digest: string; Layers: string[] } {
  return JSON.parse(run(["skopeo", "--insecure-policy", "inspect", "--tls-verify=false", ...extra, `docker://${ref}`]));
}

async function rawManifest(host: string, name: string, ref: string): Promise<{ bytes: Uint8Array; type: string; digest: string }> {
  const r = await fetch(`http://${host}/v2/${name}/manifests/${ref}`, {
    headers: { Accept: [MEDIA.ociManifest, MEDIA.dockerManifest, MEDIA.ociIndex].join(", ") },
  });
  if (!r.ok) throw new Error(`GET manifest ${name}:${ref}: ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { bytes, type: r.headers.get("content-type") ?? "", digest: sha256(bytes) };
}

// ---- store checks ---------------------------------------------------------------------------

let stores = 0;
function freshStore(): Store {
  return new Store(join(WORK, `store-${++stores}`));
}

function snapshot(s: Store): string[] {
  const blobs = readdirSync(join(s.root, "blobs/sha256")).map((f) => `blob:${f}`);
  const tmp = readdirSync(join(s.root, "tmp")).map((f) => `tmp:${f}`);
  return [...blobs, ...tmp].sort();
}

/** Every blob the pull names is in the store and hashes to its name. */
function checkBlobs(s: Store, digests: string[]): void {
  for (const d of digests) {
    expect(s.hasBlob(d)).toBe(true);
    expect(sha256(s.readBlob(d))).toBe(d);
  }
}

/** Run a pull that must fail; return its error after checking the store did not change. */
async function pullFails(ref: string, s: Store, opts: PullOptions, message: RegExp): Promise<ImageError> {
  const before = snapshot(s);
  let err: unknown;
  try {
    await pullImage(parseReference(ref), s, opts);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageError);
  expect((err as Error).message).toMatch(message);
  expect(snapshot(s)).toEqual(before);
  return err as ImageError;
}

// ---- the real registry ----------------------------------------------------------------------

const insecure: PullOptions = { insecure: true };
let multiIndexDigest = "";
let amd64Digest = "";
let arm64Digest = "";

beforeAll(async () => {
  reg = await startRegistry();
  running.push(reg);
  authReg = await startRegistry({ user: "alice", password: "s3cret" });
  running.push(authReg);

  const single = buildArchive([{ "bin/busybox": "@busybox", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" }]);
  push(single, `${reg.host}/test/busybox:latest`);
  push(single, `${authReg.host}/private/busybox:1.0`, { creds: "alice:s3cret" });

  // (each compression gets layers of its own: skopeo would reuse blobs the registry already has)
  const layered = (marker: string) =>
    buildArchive([
      { "bin/busybox": "@busybox", "etc/marker": marker },
      { "etc/hello": "hello\n", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/marker": marker },
      { "srv/data.txt": "x".repeat(100_000), "etc/hello": "hello again\n", "etc/marker": marker },
    ]);
  push(layered("gzip"), `${reg.host}/test/layered:oci`, { format: "oci" });
  push(layered("zstd"), `${reg.host}/test/layered:zstd`, { format: "oci", compress: "zstd" });

  // a multi-platform image: two single-platform manifests and an OCI index naming both
  const amd = buildArchive([{ "bin/busybox": "@busybox", "etc/arch": "amd64\n" }], "amd64");
  const arm = buildArchive([{ "bin/busybox": "@busybox", "etc/arch": "arm64\n" }], "arm64", "v8");
  push(amd, `${reg.host}/test/multi:amd64`, { format: "oci" });
  push(arm, `${reg.host}/test/multi:arm64`, { format: "oci" });
  const a = await rawManifest(reg.host, "test/multi", "amd64");
  const b = await rawManifest(reg.host, "test/multi", "arm64");
  amd64Digest = a.digest;
  arm64Digest = b.digest;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: [
      { mediaType: MEDIA.ociManifest, digest: a.digest, size: a.bytes.length, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: MEDIA.ociManifest, digest: b.digest, size: b.bytes.length, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  });
  const put = await fetch(`http://${reg.host}/v2/test/multi/manifests/latest`, { method: "PUT", headers: { "Content-Type": MEDIA.ociIndex }, body: index });
  if (put.status !== 201) throw new Error(`PUT index: ${put.status} ${await put.text()}`);
  multiIndexDigest = sha256(index);
  expect(put.headers.get("docker-content-digest")).toBe(multiIndexDigest);
}, 120_000);

afterAll(async () => {
  for (const f of fakes) f.stop();
  await reg?.stop();
  await authReg?.stop();
  rmSync(WORK, { recursive: true, force: true });
});

describe("pull from docker-registry", () => {
  test("a single-layer image (Docker schema 2, gzip), then again: everything exists", async () => {
    const s = freshStore();
    const events: string[] = [];
    const p = await pullImage(parseReference(`${reg.host}/test/busybox`), s, { ...insecure, progress: (e) => events.push(`${e.phase}:${e.digest}`) });
    const sk = inspect(`${reg.host}/test/busybox:latest`);
    expect(p.manifestDigest).toBe(sk.Digest);
    expect(p.manifestMediaType).toBe(MEDIA.dockerManifest);
    expect(p.layers.map((l) => l.digest)).toEqual(sk.Layers);
    expect(p.layers[0]!.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
    expect(p.config.architecture).toBe("amd64");
    expect(p.config.rootfs.diff_ids).toHaveLength(1);
    expect(p.platform).toEqual({ os: "linux", architecture: "amd64" });
    checkBlobs(s, [p.manifestDigest, p.configDigest, ...sk.Layers]);
    expect(snapshot(s).filter((f) => f.startsWith("tmp:"))).toEqual([]);
    expect(events).toContain(`done:${sk.Layers[0]}`);

    const again: string[] = [];
    const before = snapshot(s);
    const q = await pullImage(parseReference(`${reg.host}/test/busybox:latest`), s, { ...insecure, progress: (e) => again.push(e.phase) });
    expect(q.manifestDigest).toBe(p.manifestDigest);
    expect(again).toEqual(["exists"]);
    expect(snapshot(s)).toEqual(before);
  });

  test("a three-layer OCI image, gzip and zstd", async () => {
    for (const tag of ["oci", "zstd"]) {
      const s = freshStore();
      const p = await pullImage(parseReference(`${reg.host}/test/layered:${tag}`), s, { ...insecure, concurrency: 2 });
      const sk = inspect(`${reg.host}/test/layered:${tag}`);
      expect(p.manifestDigest).toBe(sk.Digest);
      expect(p.manifestMediaType).toBe(MEDIA.ociManifest);
      expect(p.layers.map((l) => l.digest)).toEqual(sk.Layers);
      expect(p.layers).toHaveLength(3);
      for (const l of p.layers) expect(l.mediaType).toBe(`application/vnd.oci.image.layer.v1.tar+${tag === "oci" ? "gzip" : "zstd"}`);
      checkBlobs(s, [p.manifestDigest, p.configDigest, ...sk.Layers]);
      // the sizes in the manifest are what is on disk
      for (const l of p.layers) expect(s.readBlob(l.digest).length).toBe(l.size);
    }
  });

  test("a multi-platform index: amd64 chosen, arm64 on request, an absent platform listed", async () => {
    const s = freshStore();
    const p = await pullImage(parseReference(`${reg.host}/test/multi`), s, { ...insecure, platform: { os: "linux", architecture: "amd64" } });
    expect(p.indexDigest).toBe(multiIndexDigest);
    expect(p.indexMediaType).toBe(MEDIA.ociIndex);
    expect(p.manifestDigest).toBe(amd64Digest);
    expect(p.config.architecture).toBe("amd64");
    expect(p.platform).toEqual({ os: "linux", architecture: "amd64" });
    checkBlobs(s, [multiIndexDigest, amd64Digest, p.configDigest, ...p.layers.map((l) => l.digest)]);
    expect(p.layers.map((l) => l.digest)).toEqual(inspect(`${reg.host}/test/multi:amd64`).Layers);

    if (process.arch === "x64") {
      const d = await pullImage(parseReference(`${reg.host}/test/multi:latest`), freshStore(), insecure);
      expect(d.manifestDigest).toBe(amd64Digest);
    }
    for (const variant of [undefined, "v8"]) {
      const q = await pullImage(parseReference(`${reg.host}/test/multi`), s, { ...insecure, platform: { os: "linux", architecture: "arm64", variant } });
      expect(q.manifestDigest).toBe(arm64Digest);
      expect(q.config.architecture).toBe("arm64");
      expect(q.layers.map((l) => l.digest)).toEqual(inspect(`${reg.host}/test/multi:arm64`).Layers);
    }

    const e = await pullFails(`${reg.host}/test/multi`, s, { ...insecure, platform: { os: "linux", architecture: "s390x" } }, /no manifest for platform linux\/s390x/);
    expect(e.message).toContain("linux/amd64, linux/arm64/v8");
  });

  test("by digest: of a manifest, of an index, and a digest the registry does not have", async () => {
    const sk = inspect(`${reg.host}/test/busybox:latest`);
    const s = freshStore();
    const p = await pullImage(parseReference(`${reg.host}/test/busybox@${sk.Digest}`), s, insecure);
    expect(p.manifestDigest).toBe(sk.Digest);
    checkBlobs(s, [sk.Digest, p.configDigest, ...sk.Layers]);

    const q = await pullImage(parseReference(`${reg.host}/test/multi:latest@${multiIndexDigest}`), s, { ...insecure, platform: { os: "linux", architecture: "arm64" } });
    expect(q.indexDigest).toBe(multiIndexDigest);
    expect(q.manifestDigest).toBe(arm64Digest);

    await pullFails(`${reg.host}/test/busybox@sha256:${"0".repeat(64)}`, s, insecure, /manifest unknown/);
  });

  test("basic auth: the right password pulls, a wrong one or none is a clear 401", async () => {
    const s = freshStore();
    const p = await pullImage(parseReference(`${authReg.host}/private/busybox:1.0`), s, { ...insecure, username: "alice", password: "s3cret" });
    const sk = inspect(`${authReg.host}/private/busybox:1.0`, ["--creds", "alice:s3cret"]);
    expect(p.manifestDigest).toBe(sk.Digest);
    checkBlobs(s, [p.manifestDigest, p.configDigest, ...sk.Layers]);

    const t = freshStore();
    await pullFails(`${authReg.host}/private/busybox:1.0`, t, { ...insecure, username: "alice", password: "wrong" }, /unauthorized \(401\).*incorrect username or password/);
    await pullFails(`${authReg.host}/private/busybox:1.0`, t, { ...insecure, username: "mallory", password: "s3cret" }, /401/);
    await pullFails(`${authReg.host}/private/busybox:1.0`, t, insecure, /requires a username and password/);
    expect(snapshot(t)).toEqual([]);
  });

  test("404: an unknown tag, an unknown repository", async () => {
    const s = freshStore();
    await pullFails(`${reg.host}/test/busybox:nope`, s, insecure, /manifest unknown: 127\.0\.0\.1:\d+\/test\/busybox:nope/);
    await pullFails(`${reg.host}/test/nothing-here:latest`, s, insecure, /(repository|manifest) unknown: 127\.0\.0\.1:\d+\/test\/nothing-here/);
    expect(snapshot(s)).toEqual([]);
  });

  test("nothing listening: a clear error", async () => {
    const f = startFakeRegistry(() => ({ status: 200 }));
    const host = f.host;
    f.stop();
    await pullFails(`${host}/x:y`, freshStore(), insecure, /cannot reach registry 127\.0\.0\.1/);
  });
});

// ---- the fake registry ----------------------------------------------------------------------

/** A small image the fake serves: an OCI manifest, a config, one 300 KB layer (random bytes). */
function fakeImage(layerType = "application/vnd.oci.image.layer.v1.tar+gzip") {
  const layer = new Uint8Array(300_000);
  for (let i = 0; i < layer.length; i += 65536) crypto.getRandomValues(layer.subarray(i, Math.min(layer.length, i + 65536)));
  const layerDigest = sha256(layer);
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [`sha256:${"1".repeat(64)}`] } });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length },
    layers: [{ mediaType: layerType, digest: layerDigest, size: layer.length }],
  });
  return { layer, layerDigest, config, configDigest: sha256(config), manifest, manifestDigest: sha256(manifest) };
}

type Img = ReturnType<typeof fakeImage>;

/** Serve img under repository "fake"; override(req) may answer a request differently. */
function fake(img: Img, override: (req: FakeRequest) => FakeResponse | undefined = () => undefined): FakeRegistry {
  const f = startFakeRegistry((req) => {
    const o = override(req);
    if (o) return o;
    if (req.path === "/v2/") return { status: 200, body: "{}" };
    if (req.path === "/v2/fake/manifests/latest" || req.path === `/v2/fake/manifests/${img.manifestDigest}`)
      return { status: 200, headers: { "Content-Type": MEDIA.ociManifest }, body: img.manifest };
    if (req.path === `/v2/fake/blobs/${img.configDigest}`) return { status: 200, body: img.config };
    if (req.path === `/v2/fake/blobs/${img.layerDigest}`) return { status: 200, body: img.layer };
    return { status: 404, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }) };
  });
  fakes.push(f);
  return f;
}

describe("pull from a misbehaving registry", () => {
  test("the fake serves a good image", async () => {
    const img = fakeImage();
    const f = fake(img);
    const s = freshStore();
    const p = await pullImage(parseReference(`${f.host}/fake`), s, insecure);
    expect(p.manifestDigest).toBe(img.manifestDigest);
    checkBlobs(s, [img.manifestDigest, img.configDigest, img.layerDigest]);
  });

  test("500 for the manifest, 500 for a layer", async () => {
    const img = fakeImage();
    const f = fake(img, (r) => (r.path.includes("/manifests/") ? { status: 500, body: "database on fire" } : undefined));
    await pullFails(`${f.host}/fake`, freshStore(), insecure, /answered 500 Internal Server Error for manifest .*database on fire/);
    const g = fake(img, (r) => (r.path.endsWith(img.layerDigest) ? { status: 500, body: "" } : undefined));
    await pullFails(`${g.host}/fake`, freshStore(), insecure, new RegExp(`answered 500 .*blob .*${img.layerDigest}`));
  });

  test("the connection drops half-way through a layer: nothing visible, no partial file", async () => {
    const img = fakeImage();
    const f = fake(img, (r) =>
      r.path.endsWith(img.layerDigest) ? { status: 200, body: img.layer.subarray(0, 120_000), length: img.layer.length, dropAfterBody: true } : undefined,
    );
    const s = freshStore();
    await pullFails(`${f.host}/fake`, s, insecure, new RegExp(`blob ${img.layerDigest}: .*(closed|failed) after \\d+ of 300000 bytes`));
    expect(snapshot(s)).toEqual([]);
  });

  test("404 for a layer: blob unknown", async () => {
    const img = fakeImage();
    const f = fake(img, (r) =>
      r.path.endsWith(img.layerDigest)
        ? { status: 404, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }) }
        : undefined,
    );
    await pullFails(`${f.host}/fake`, freshStore(), insecure, new RegExp(`blob unknown: ${img.layerDigest} is not in 127\\.0\\.0\\.1:\\d+/fake .*BLOB_UNKNOWN`));
  });

  test("a registry that stalls half-way through a layer: the idle timeout ends it cleanly", async () => {
    const img = fakeImage();
    const f = fake(img, (r) =>
      r.path.endsWith(img.layerDigest) ? { status: 200, body: img.layer.subarray(0, 50_000), length: img.layer.length, hangAfterBody: true } : undefined,
    );
    const s = freshStore();
    const t = Date.now();
    await pullFails(`${f.host}/fake`, s, { ...insecure, idleTimeoutMs: 300 }, new RegExp(`blob ${img.layerDigest}: no data from 127\\.0\\.0\\.1:\\d+ for 0\\.3s`));
    expect(Date.now() - t).toBeLessThan(5000);
  });

  test("one layer fails while another is still downloading: the other is stopped, nothing is left", async () => {
    const img = fakeImage();
    const slow = new Uint8Array(200_000).fill(7);
    const slowDigest = sha256(slow);
    const m = JSON.parse(img.manifest);
    m.layers.unshift({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: slowDigest, size: slow.length });
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`] } });
    m.config = { mediaType: MEDIA.ociConfig, digest: sha256(config), size: config.length };
    const manifest = JSON.stringify(m);
    const f = fake(img, (r) => {
      if (r.path.includes("/manifests/")) return { status: 200, headers: { "Content-Type": MEDIA.ociManifest }, body: manifest };
      if (r.path.endsWith(m.config.digest)) return { status: 200, body: config };
      if (r.path.endsWith(slowDigest)) return { status: 200, body: slow.subarray(0, 10_000), length: slow.length, hangAfterBody: true };
      if (r.path.endsWith(img.layerDigest)) return { status: 200, body: img.layer.subarray(0, 1000), length: img.layer.length, dropAfterBody: true };
      return undefined;
    });
    const s = freshStore();
    const t = Date.now();
    // the stalled download would wait for the 30 s idle timeout if the failure did not stop it
    await pullFails(`${f.host}/fake`, s, { ...insecure, idleTimeoutMs: 30_000 }, new RegExp(`blob ${img.layerDigest}: .*after \\d+ of 300000 bytes`));
    expect(Date.now() - t).toBeLessThan(5000);
    expect(snapshot(s)).toEqual([]);
  });

  test("digest mismatch: wrong bytes for a layer, for the config, for a manifest pulled by digest", async () => {
    const img = fakeImage();
    const wrong = new Uint8Array(img.layer);
    wrong[1000] = wrong[1000]! ^ 0xff;
    const f = fake(img, (r) => (r.path.endsWith(img.layerDigest) ? { status: 200, body: wrong } : undefined));
    await pullFails(`${f.host}/fake`, freshStore(), insecure, new RegExp(`digest mismatch: expected ${img.layerDigest}`));

    const g = fake(img, (r) => (r.path.endsWith(img.configDigest) ? { status: 200, body: img.config.replace("amd64", "arm64") } : undefined));
    await pullFails(`${g.host}/fake`, freshStore(), insecure, new RegExp(`digest mismatch: expected ${img.configDigest}`));

    const h = fake(img, (r) => (r.path.includes("/manifests/") ? { status: 200, headers: { "Content-Type": MEDIA.ociManifest }, body: img.manifest + " " } : undefined));
    await pullFails(`${h.host}/fake@${img.manifestDigest}`, freshStore(), insecure, /digest mismatch: manifest .*the registry sent content with digest/);
    // by tag, the registry's own Docker-Content-Digest is checked
    const k = fake(img, (r) =>
      r.path.includes("/manifests/") ? { status: 200, headers: { "Content-Type": MEDIA.ociManifest, "Docker-Content-Digest": img.manifestDigest }, body: img.manifest + " " } : undefined,
    );
    await pullFails(`${k.host}/fake`, freshStore(), insecure, /digest mismatch: .*Docker-Content-Digest/);
  });

  test("a layer longer than its descriptor says is refused", async () => {
    const img = fakeImage();
    const f = fake(img, (r) => (r.path.endsWith(img.layerDigest) ? { status: 200, body: Buffer.concat([img.layer, new Uint8Array(10)]) } : undefined));
    await pullFails(`${f.host}/fake`, freshStore(), insecure, /size mismatch/);
  });

  test("unsupported media types and schema 1 are refused clearly", async () => {
    const img = fakeImage("application/vnd.example.weird");
    const f = fake(img);
    await pullFails(`${f.host}/fake`, freshStore(), insecure, /unsupported layer media type "application\/vnd.example.weird"/);

    const s1 = JSON.stringify({ schemaVersion: 1, name: "fake", tag: "latest", fsLayers: [], history: [] });
    const g = fake(img, (r) => (r.path.includes("/manifests/") ? { status: 200, headers: { "Content-Type": MEDIA.schema1Signed }, body: s1 } : undefined));
    await pullFails(`${g.host}/fake`, freshStore(), insecure, /schema 1 manifest .*not supported/);

    const other = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.example.manifest+json", layers: [] });
    const h = fake(img, (r) => (r.path.includes("/manifests/") ? { status: 200, body: other } : undefined));
    await pullFails(`${h.host}/fake`, freshStore(), insecure, /unsupported manifest media type "application\/vnd.example.manifest\+json"/);

    const good = fakeImage();
    const helm = good.manifest.replace(MEDIA.ociConfig, "application/vnd.cncf.helm.config.v1+json");
    const k = fake(good, (r) => (r.path.includes("/manifests/") ? { status: 200, body: helm } : undefined));
    await pullFails(`${k.host}/fake`, freshStore(), insecure, /not a container image: config media type/);
  });

  test("Bearer token auth, and a blob redirect to another origin without our credentials", async () => {
    const img = fakeImage();
    const cdn = startFakeRegistry((r) => (r.path === "/layer" ? { status: 200, body: img.layer } : { status: 404 }));
    fakes.push(cdn);
    let self = "";
    const f = fake(img, (r): FakeResponse | undefined => {
      if (r.path.startsWith("/token")) {
        const u = new URL(r.path, "http://x");
        if (u.searchParams.get("service") !== "fake-service" || u.searchParams.get("scope") !== "repository:fake:pull") return { status: 400, body: "bad scope" };
        const basic = `Basic ${Buffer.from("bob:pw").toString("base64")}`;
        if (r.headers.authorization !== basic) return { status: 401, body: "{}" };
        return { status: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: "T0KEN" }) };
      }
      if (r.headers.authorization !== "Bearer T0KEN")
        return {
          status: 401,
          headers: { "WWW-Authenticate": `Bearer realm="http://${self}/token",service="fake-service",scope="repository:fake:pull"` },
          body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
        };
      if (r.path.endsWith(img.layerDigest)) return { status: 307, headers: { Location: `http://${cdn.host}/layer` } };
      return undefined;
    });
    self = f.host;
    const s = freshStore();
    const p = await pullImage(parseReference(`${f.host}/fake`), s, { ...insecure, username: "bob", password: "pw" });
    expect(p.manifestDigest).toBe(img.manifestDigest);
    checkBlobs(s, [img.layerDigest, img.configDigest, img.manifestDigest]);
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();

    await pullFails(`${f.host}/fake`, freshStore(), { ...insecure, username: "bob", password: "nope" }, /authentication failed \(incorrect username or password\)/);
  });
});

// ---- platform selection (no registry needed) --------------------------------------------------

describe("platform selection", () => {
  const d = (os: string, architecture: string, variant?: string) => ({
    mediaType: MEDIA.ociManifest,
    digest: sha256(`${os}/${architecture}/${variant}`),
    size: 1,
    platform: variant ? { os, architecture, variant } : { os, architecture },
  });
  const index = { manifests: [d("linux", "amd64"), d("linux", "arm64", "v8"), d("linux", "arm", "v7"), d("linux", "arm", "v6"), d("windows", "amd64"), d("unknown", "unknown")] };

  test("normalisation as containerd does it", () => {
    expect(normalizePlatform({ os: "Linux", architecture: "x86_64" })).toEqual({ os: "linux", architecture: "amd64" });
    expect(normalizePlatform({ os: "linux", architecture: "aarch64", variant: "v8" })).toEqual({ os: "linux", architecture: "arm64" });
    expect(normalizePlatform({ os: "linux", architecture: "arm64", variant: "8" })).toEqual({ os: "linux", architecture: "arm64" });
    expect(normalizePlatform({ os: "linux", architecture: "arm" })).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(normalizePlatform({ os: "linux", architecture: "armhf" })).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(normalizePlatform({ os: "linux", architecture: "armel" })).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
    expect(normalizePlatform({ os: "linux", architecture: "amd64", variant: "v1" })).toEqual({ os: "linux", architecture: "amd64" });
    expect(normalizePlatform({ os: "linux", architecture: "i386" })).toEqual({ os: "linux", architecture: "386" });
  });

  test("the host", () => {
    const h = hostPlatform();
    expect(h.os).toBe("linux");
    if (process.arch === "x64") expect(h).toEqual({ os: "linux", architecture: "amd64" });
    if (process.arch === "arm64") expect(h).toEqual({ os: "linux", architecture: "arm64" });
  });

  test("choices", () => {
    expect(selectManifest(index, { os: "linux", architecture: "amd64" }).platform?.architecture).toBe("amd64");
    expect(selectManifest(index, { os: "linux", architecture: "arm64" }).platform?.variant).toBe("v8");
    expect(selectManifest(index, { os: "linux", architecture: "aarch64", variant: "v8" }).platform?.architecture).toBe("arm64");
    expect(selectManifest(index, { os: "linux", architecture: "arm" }).platform?.variant).toBe("v7");
    expect(selectManifest(index, { os: "linux", architecture: "arm", variant: "v6" }).platform?.variant).toBe("v6");
    expect(selectManifest(index, { os: "windows", architecture: "amd64" }).platform?.os).toBe("windows");
    // an arm64 machine runs 32-bit arm when there is no arm64 image
    expect(selectManifest({ manifests: [d("linux", "arm", "v6"), d("linux", "arm", "v7")] }, { os: "linux", architecture: "arm64" }).platform?.variant).toBe("v7");
    // amd64/v3 takes v2 when there is no v3
    expect(selectManifest({ manifests: [d("linux", "amd64", "v2"), d("linux", "amd64")] }, { os: "linux", architecture: "amd64", variant: "v3" }).platform?.variant).toBe("v2");
    // arm/v5 cannot run v6
    expect(() => selectManifest({ manifests: [d("linux", "arm", "v6")] }, { os: "linux", architecture: "arm", variant: "v5" })).toThrow(/linux\/arm\/v5.*it has: linux\/arm\/v6/);
    expect(compatiblePlatforms({ os: "linux", architecture: "arm64" }).map((p) => `${p.architecture}/${p.variant ?? ""}`)).toEqual(["arm64/", "arm/v8", "arm/v7", "arm/v6", "arm/v5"]);
  });

  test("none fits: the error lists what there is (not unknown/unknown attestations)", () => {
    expect(() => selectManifest(index, { os: "linux", architecture: "riscv64" })).toThrow(
      new ImageError("no manifest for platform linux/riscv64 in image; it has: linux/amd64, linux/arm64/v8, linux/arm/v7, linux/arm/v6, windows/amd64"),
    );
    expect(() => selectManifest({ manifests: [] }, { os: "linux", architecture: "amd64" })).toThrow(/lists no platforms/);
  });

  test("WWW-Authenticate parsing", () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: "basic", params: { realm: "Registry Realm" } });
    expect(parseChallenge("Bearer realm=http://x/t, service=s")).toEqual({ scheme: "bearer", params: { realm: "http://x/t", service: "s" } });
  });
});
