// The image store for real: archives made here with standard tools (tar, skopeo), imported
// through `runjs image import`, unpacked, and compared file by file with their sources; and
// every kind of bad input, each of which must leave the store as it was.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNJS } from "./helpers.ts";
import { dockerArchive, layerTar, rootfs, sha } from "./image-fixtures.ts";

const WORK = mkdtempSync("/tmp/runjs-images-");
afterAll(() => {
  Bun.spawnSync(["umount", "-R", join(WORK, "merged")]);
  rmSync(WORK, { recursive: true, force: true });
});

let n = 0;
const store = () => join(WORK, `store-${++n}`);

function runjs(st: string, args: string[]) {
  const r = Bun.spawnSync([RUNJS, "image", ...args, "--storage", st], { stdio: ["ignore", "pipe", "pipe"] });
  return { code: r.exitCode ?? 128, out: r.stdout.toString(), err: r.stderr.toString() };
}

interface Meta {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  link?: string;
  rdev?: number;
  hash?: string;
}

/** Every entry of a tree: type, mode, owner, size, mtime, link target, device, content. */
function walk(root: string, rel = "", out = new Map<string, Meta>()): Map<string, Meta> {
  for (const e of readdirSync(join(root, rel)).sort()) {
    const p = join(rel, e);
    const s = lstatSync(join(root, p));
    const type = s.isDirectory() ? "dir" : s.isSymbolicLink() ? "link" : s.isFile() ? "file" : s.isCharacterDevice() ? "chr" : s.isFIFO() ? "fifo" : "other";
    const m: Meta = { type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: type === "file" ? s.size : 0, mtime: type === "dir" ? 0 : Math.floor(s.mtimeMs / 1000) };
    if (type === "link") m.link = readlinkSync(join(root, p));
    if (type === "chr") m.rdev = s.rdev;
    if (type === "file") m.hash = sha(readFileSync(join(root, p)));
    out.set(p, m);
    if (type === "dir") walk(root, p, out);
  }
  return out;
}

function storeFiles(st: string): string[] {
  const out: string[] = [];
  for (const d of ["blobs/sha256", "layers"]) if (existsSync(join(st, d))) for (const e of readdirSync(join(st, d))) out.push(`${d}/${e}`);
  const images = existsSync(join(st, "images.json")) ? JSON.parse(readFileSync(join(st, "images.json"), "utf8")) : [];
  if (images.length) out.push(`images.json:${sha(JSON.stringify(images))}`);
  return out.sort();
}

const src = rootfs(join(WORK, "src"));
const base = layerTar(src, join(WORK, "base.tar"));
const archive = dockerArchive([base], "runjs-test/busybox:1", join(WORK, "busybox-docker.tar"));

function imageOf(st: string, name: string) {
  const r = runjs(st, ["inspect", name]);
  expect(r.err).toBe("");
  return JSON.parse(r.out);
}

describe("import", () => {
  test("a docker-archive: named as Docker names it, unpacked exactly as the source", () => {
    const st = store();
    const r = runjs(st, ["import", archive]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^docker\.io\/runjs-test\/busybox:1 sha256:[a-f0-9]{64}\n$/);
    const img = imageOf(st, "runjs-test/busybox:1");
    expect(img.names).toEqual(["docker.io/runjs-test/busybox:1"]);
    expect(img.config.config.Cmd).toEqual(["sh"]);
    const layer = join(st, "layers", img.layers[0].diffId.slice(7));
    expect(walk(layer)).toEqual(walk(src));
    const ls = JSON.parse(runjs(st, ["ls", "--format", "json"]).out);
    expect(ls.map((x: any) => x.names)).toEqual([["docker.io/runjs-test/busybox:1"]]);
    expect(runjs(st, ["ls"]).out).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\ndocker\.io\/runjs-test\/busybox\s+1\s+[a-f0-9]{12}\s/);
  });

  test("an OCI layout from skopeo, as a directory and as a tar: the same image", () => {
    const oci = join(WORK, "oci-dir");
    const r = Bun.spawnSync(["skopeo", "copy", "--quiet", `docker-archive:${archive}`, `oci:${oci}:v1`]);
    expect(r.stderr.toString()).toBe("");
    const ociTar = join(WORK, "oci.tar");
    Bun.spawnSync(["tar", "-C", oci, "-cf", ociTar, "."]);
    const st = store();
    const a = runjs(st, ["import", "--name", "example.com/x/oci:v1", oci]);
    expect(a.err).toBe("");
    const b = runjs(st, ["import", "--name", "example.com/x/oci-tar:v1", ociTar]);
    expect(b.err).toBe("");
    const ia = imageOf(st, "example.com/x/oci:v1");
    const ib = imageOf(st, "example.com/x/oci-tar:v1");
    expect(ia.id).toBe(ib.id); // one config, so one image with two names
    const da = runjs(store(), ["import", archive]);
    expect(da.out.split(" ")[1]!.trim()).toBe(ia.id); // and the same as the docker-archive's
    expect(walk(join(st, "layers", ia.layers[0].diffId.slice(7)))).toEqual(walk(src));
  });

  test("a plain root-filesystem tar needs --name, then becomes a one-layer image", () => {
    const st = store();
    const bad = runjs(st, ["import", base]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("not an image archive (no manifest.json, no oci-layout): to import it as a root filesystem, give --name");
    const ok = runjs(st, ["import", "--name", "mine", base]);
    expect(ok.err).toBe("");
    expect(imageOf(st, "mine").names).toEqual(["docker.io/library/mine:latest"]);
  });

  test("layers with whiteouts: overlayfs stacks them as the image says", () => {
    const l2 = join(WORK, "l2");
    mkdirSync(join(l2, "etc"), { recursive: true });
    mkdirSync(join(l2, "home"), { recursive: true });
    writeFileSync(join(l2, "etc/.wh.passwd-hardlink"), "");
    writeFileSync(join(l2, "home/.wh..wh..opq"), "");
    writeFileSync(join(l2, "home/new"), "fresh\n");
    const two = dockerArchive([base, layerTar(l2, join(WORK, "l2.tar"))], "runjs-test/two:1", join(WORK, "two.tar"));
    const st = store();
    expect(runjs(st, ["import", two]).err).toBe("");
    const img = imageOf(st, "runjs-test/two:1");
    const [lower, upper] = img.layers.map((l: any) => join(st, "layers", l.diffId.slice(7)));
    const wh = lstatSync(join(upper, "etc/passwd-hardlink"));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(existsSync(join(upper, "etc/.wh.passwd-hardlink"))).toBe(false);
    const merged = join(WORK, "merged");
    mkdirSync(merged, { recursive: true });
    const m = Bun.spawnSync(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${upper}:${lower}`, merged]);
    expect(m.stderr.toString()).toBe("");
    try {
      expect(existsSync(join(merged, "etc/passwd"))).toBe(true);
      expect(existsSync(join(merged, "etc/passwd-hardlink"))).toBe(false);
      expect(readdirSync(join(merged, "home"))).toEqual(["new"]); // opaque: user/ is hidden
    } finally {
      Bun.spawnSync(["umount", merged]);
    }
  });
});

describe("bad input leaves the store as it was", () => {
  const prepared = () => {
    const st = store();
    expect(runjs(st, ["import", "--name", "keep", base]).code).toBe(0);
    return st;
  };

  test("a truncated archive", () => {
    const st = prepared();
    const before = storeFiles(st);
    const full = readFileSync(archive);
    const cut = join(WORK, "cut.tar");
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    const r = runjs(st, ["import", cut]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/truncated tar/);
    expect(storeFiles(st)).toEqual(before);
  });

  test("a blob whose digest does not match", () => {
    const st = prepared();
    const before = storeFiles(st);
    const oci = join(WORK, "oci-bad");
    Bun.spawnSync(["skopeo", "copy", "--quiet", `docker-archive:${archive}`, `oci:${oci}:v1`]);
    const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(oci, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
    const layer = join(oci, "blobs/sha256", manifest.layers[0].digest.slice(7));
    const b = readFileSync(layer);
    b[b.length - 100] = b[b.length - 100]! ^ 0xff;
    writeFileSync(layer, b);
    const r = runjs(st, ["import", "--name", "bad", oci]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:/);
    expect(storeFiles(st)).toEqual(before);
  });

  test("an unknown layer media type, and an index for another platform only", () => {
    const st = prepared();
    const before = storeFiles(st);
    const oci = join(WORK, "oci-mt");
    Bun.spawnSync(["skopeo", "copy", "--quiet", `docker-archive:${archive}`, `oci:${oci}:v1`]);
    const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8"));
    const mPath = join(oci, "blobs/sha256", index.manifests[0].digest.slice(7));
    const manifest = JSON.parse(readFileSync(mPath, "utf8"));
    manifest.layers[0].mediaType = "application/x-strange";
    const mb = JSON.stringify(manifest);
    writeFileSync(join(oci, "blobs/sha256", sha(mb)), mb);
    writeFileSync(join(oci, "index.json"), JSON.stringify({ ...index, manifests: [{ ...index.manifests[0], digest: `sha256:${sha(mb)}`, size: mb.length }] }));
    let r = runjs(st, ["import", "--name", "mt", oci]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown media type "application/x-strange"');
    // an index whose only manifest is for arm64
    const idx = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ ...index.manifests[0], platform: { os: "linux", architecture: "arm64" } }],
    });
    writeFileSync(join(oci, "blobs/sha256", sha(idx)), idx);
    writeFileSync(
      join(oci, "index.json"),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: `sha256:${sha(idx)}`, size: idx.length }] }),
    );
    r = runjs(st, ["import", "--name", "arm", oci]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("no manifest for linux/amd64; the index has linux/arm64");
    expect(storeFiles(st)).toEqual(before);
  });

  test("a layer with an entry that escapes it", () => {
    const st = prepared();
    const before = storeFiles(st);
    const evil = join(WORK, "evil");
    mkdirSync(join(evil, "a"), { recursive: true });
    writeFileSync(join(evil, "a/x"), "x");
    const t = join(WORK, "evil.tar");
    Bun.spawnSync(["tar", "-C", evil, "--transform", "s,^a/x$,../../escaped,", "-cf", t, "a/x"]);
    const img = dockerArchive([t], "runjs-test/evil:1", join(WORK, "evil-docker.tar"));
    const r = runjs(st, ["import", img]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("escaped");
    expect(existsSync(join(st, "..", "escaped"))).toBe(false);
    expect(storeFiles(st)).toEqual(before);
  });
});

describe("save, load, history", () => {
  const SKOPEO = "/usr/bin/skopeo";
  // two layers and a history with an empty step, so that history has something to match
  const top = layerTar(rootfs(join(WORK, "src-top")), join(WORK, "top.tar"));
  const twoLayer = dockerArchive([base, top], "runjs-test/two:1", join(WORK, "two-docker.tar"), (c) => {
    c.created = "2026-01-02T03:04:05Z";
    c.history = [
      { created: "2026-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file:base in /" },
      { created: "2026-01-01T00:00:01Z", created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
      { created: "2026-01-02T03:04:05Z", created_by: "/bin/sh -c echo a very long command line that goes on and on and on", comment: "top" },
    ];
  });

  test("save then load into another store: the same image, id, manifest, names and files", () => {
    const a = store();
    expect(runjs(a, ["import", twoLayer]).code).toBe(0);
    const out = join(WORK, "saved.tar");
    const s = runjs(a, ["save", "-o", out, "runjs-test/two:1"]);
    expect([s.code, s.err, s.out]).toEqual([0, "", ""]);
    const b = store();
    const l = runjs(b, ["load", "-i", out]);
    expect([l.err, l.out]).toEqual(["", "Loaded image: docker.io/runjs-test/two:1\n"]);
    const [ia, ib] = [imageOf(a, "runjs-test/two:1"), imageOf(b, "runjs-test/two:1")];
    expect([ib.id, ib.manifest, ib.names]).toEqual([ia.id, ia.manifest, ia.names]);
    for (const layer of ia.layers) expect(walk(join(b, "layers", layer.diffId.slice(7)))).toEqual(walk(join(a, "layers", layer.diffId.slice(7))));
    // what was loaded from standard input is the same, and leaves no temporary file behind
    const c = store();
    const r = Bun.spawnSync([RUNJS, "image", "load", "--storage", c], { stdin: Bun.file(out) });
    expect(r.stdout.toString()).toBe("Loaded image: docker.io/runjs-test/two:1\n");
    expect(imageOf(c, "runjs-test/two:1").id).toBe(ia.id);
    expect(existsSync(join(c, "tmp")) ? readdirSync(join(c, "tmp")) : []).toEqual([]);
  });

  test("others read it: skopeo as an OCI archive and as a docker-archive", () => {
    const st = store();
    runjs(st, ["import", twoLayer]);
    const out = join(WORK, "saved-skopeo.tar");
    expect(runjs(st, ["save", "-o", out, "runjs-test/two:1"]).code).toBe(0);
    const id = imageOf(st, "runjs-test/two:1").id;
    const oci = Bun.spawnSync([SKOPEO, "inspect", "--config", "--raw", `oci-archive:${out}:docker.io/runjs-test/two:1`]);
    expect(oci.stderr.toString()).toBe("");
    expect(sha(oci.stdout.toString())).toBe(id.slice(7)); // the config, byte for byte
    const dir = join(WORK, "skopeo-from-runjs");
    const cp = Bun.spawnSync([SKOPEO, "copy", "--quiet", `docker-archive:${out}`, `oci:${dir}:x`]);
    expect(cp.stderr.toString()).toBe("");
    // and what skopeo made of it (its config re-encoded for OCI) has the same layers
    const back = store();
    expect(runjs(back, ["import", "--name", "x", dir]).err).toBe("");
    expect(imageOf(back, "x").config.rootfs.diff_ids).toEqual(imageOf(st, "runjs-test/two:1").config.rootfs.diff_ids);
  });

  test("--format oci-dir: a layout directory that import reads back", () => {
    const st = store();
    runjs(st, ["import", twoLayer]);
    const dir = join(WORK, "saved-dir");
    expect(runjs(st, ["save", "--format", "oci-dir", "-o", dir, "runjs-test/two:1"]).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
    const b = store();
    expect(runjs(b, ["import", dir]).err).toBe("");
    expect(imageOf(b, "runjs-test/two:1").id).toBe(imageOf(st, "runjs-test/two:1").id);
  });

  test("history: the config's steps, newest first, each layer's size beside the step that made it", () => {
    const st = store();
    runjs(st, ["import", twoLayer]);
    const h = JSON.parse(runjs(st, ["history", "--format", "json", "runjs-test/two:1"]).out);
    const img = imageOf(st, "runjs-test/two:1");
    expect(h.map((x: any) => [x.createdBy.slice(0, 20), x.size, x.emptyLayer])).toEqual([
      ["/bin/sh -c echo a ve", img.layers[1].size, false],
      ['/bin/sh -c #(nop)  C', 0, true],
      ["/bin/sh -c #(nop) AD", img.layers[0].size, false],
    ]);
    const t = runjs(st, ["history", "runjs-test/two:1"]).out.split("\n");
    expect(t[0]).toMatch(/^CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(t[1]).toMatch(/^2026-01-02 03:04:05\s+\/bin\/sh -c echo a very long command line tha…\s+\S+\s+top$/);
    expect(runjs(st, ["history", "--no-trunc", "runjs-test/two:1"]).out).toContain("goes on and on and on");
  });

  test("bad input: an unknown image writes nothing; a file that is no archive loads nothing", () => {
    const st = store();
    runjs(st, ["import", twoLayer]);
    const before = storeFiles(st);
    const out = join(WORK, "never.tar");
    const s = runjs(st, ["save", "-o", out, "runjs-test/two:1", "nosuch:1"]);
    expect([s.code, s.err]).toEqual([1, "runjs: image not known: nosuch:1\n"]);
    expect(existsSync(out)).toBe(false);
    expect(runjs(st, ["save", "--format", "tar", "-o", out, "runjs-test/two:1"]).err).toBe("runjs: image save: --format: docker-archive or oci-dir, not tar\n");
    const junk = join(WORK, "junk.bin");
    writeFileSync(junk, "not an archive at all\n".repeat(100));
    const l = runjs(st, ["load", "-i", junk]);
    expect(l.code).toBe(1);
    expect(l.err).toBe(`runjs: ${junk}: not an image archive: not a tar file\n`);
    expect(storeFiles(st)).toEqual(before);
  });
});

describe("tag, rm, prune", () => {
  test("names move, records go, prune removes what nothing uses", () => {
    const st = store();
    expect(runjs(st, ["import", archive]).code).toBe(0);
    const id = imageOf(st, "runjs-test/busybox:1").id;
    expect(runjs(st, ["tag", "runjs-test/busybox:1", "localhost:5000/bb:copy"]).code).toBe(0);
    expect(imageOf(st, id.slice(7, 19)).names).toEqual(["docker.io/runjs-test/busybox:1", "localhost:5000/bb:copy"]);
    expect(runjs(st, ["rm", "runjs-test/busybox:1"]).out).toBe("untagged docker.io/runjs-test/busybox:1\n");
    expect(runjs(st, ["rm", "localhost:5000/bb:copy"]).out).toBe(`deleted ${id}\n`);
    expect(runjs(st, ["inspect", id]).err).toContain(`image not known: ${id}`);
    const p = runjs(st, ["prune"]);
    expect(p.out).toMatch(/^removed 0 images, 1 layers and 3 blobs/);
    expect(storeFiles(st)).toEqual([]);
  });

  test("prune removes an image whose name moved to a newer one", () => {
    const st = store();
    expect(runjs(st, ["import", "--name", "moving", base]).code).toBe(0);
    // the same tar again: its config (created now) differs, so it is another image
    expect(runjs(st, ["import", "--name", "moving", base]).code).toBe(0);
    const ls = JSON.parse(runjs(st, ["ls", "--format", "json"]).out);
    expect(ls.map((x: any) => x.names)).toEqual([[], ["docker.io/library/moving:latest"]]);
    expect(runjs(st, ["prune"]).out).toMatch(/^removed 1 images, /);
    expect(JSON.parse(runjs(st, ["ls", "--format", "json"]).out).length).toBe(1);
  });

  test("an image a container uses is only removed with --force", () => {
    const st = store();
    expect(runjs(st, ["import", archive]).code).toBe(0);
    const id = imageOf(st, "runjs-test/busybox:1").id;
    // the pin a container front end writes for each container made from the image
    mkdirSync(join(st, "inuse", id.slice(7)), { recursive: true });
    writeFileSync(join(st, "inuse", id.slice(7), "web1"), "");
    const r = runjs(st, ["rm", "runjs-test/busybox:1"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("is used by container(s) web1: remove them first, or use --force");
    expect(runjs(st, ["rm", "-f", "runjs-test/busybox:1"]).out).toBe(`deleted ${id}\n`);
  });

  test("two imports of one archive at once: one image, one layer, both succeed", async () => {
    const st = store();
    const ps = [0, 1].map(() => Bun.spawn([RUNJS, "image", "import", archive, "--storage", st], { stdio: ["ignore", "ignore", "pipe"] }));
    expect(await Promise.all(ps.map((p) => p.exited))).toEqual([0, 0]);
    const ls = JSON.parse(runjs(st, ["ls", "--format", "json"]).out);
    expect(ls.length).toBe(1);
    expect(readdirSync(join(st, "layers")).length).toBe(1);
    expect(walk(join(st, "layers", readdirSync(join(st, "layers"))[0]!))).toEqual(walk(src));
  });
});

describe("pull through the command line", () => {
  test("from a registry on 127.0.0.1: named, unpacked as pushed, quiet lines when not on a terminal", async () => {
    const { startRegistry } = await import("./registry-server.ts");
    const reg = await startRegistry();
    try {
      const ref = `${reg.host}/runjs-test/busybox:pulled`;
      const push = Bun.spawnSync(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", `docker-archive:${archive}`, `docker://${ref}`]);
      expect(push.stderr.toString()).toBe("");
      const st = store();
      const r = runjs(st, ["pull", "--insecure", ref]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^${ref.replace(/[.]/g, "\\.")} sha256:[a-f0-9]{64}\\n$`));
      expect(r.err).toMatch(/^[a-f0-9]{12}: (done|exists)$/m); // a line per blob, no progress bars
      const img = imageOf(st, ref);
      expect(walk(join(st, "layers", img.layers[0].diffId.slice(7)))).toEqual(walk(src));
      // a second pull finds everything there
      expect(runjs(st, ["pull", "--insecure", "-q", ref]).out).toBe(`${img.id}\n`);
      // an unknown tag: a clear error, the store as it was
      const before = storeFiles(st);
      const missing = runjs(st, ["pull", "--insecure", `${reg.host}/runjs-test/busybox:nope`]);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/manifest unknown|not found/i);
      expect(storeFiles(st)).toEqual(before);
    } finally {
      await reg.stop();
    }
  });
});
