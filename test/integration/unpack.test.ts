// Unpacking real layers as root: trees made with every kind of file, archived by GNU tar
// (plain, gzip, zstd), unpacked with unpackLayer and compared file by file with the source;
// whiteout and opaque conversion for overlayfs; and layers that try to write outside the
// destination, which must fail naming the entry and leave nothing outside it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync, chownSync, lchownSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { buildTar, type TarWriteEntry } from "../../src/engine/images/tar.ts";
import { unpackLayer, UnpackError } from "../../src/engine/images/unpack.ts";
import { lgetxattr, llistxattr, lsetxattr } from "../../src/sys/fsat.ts";

const isRoot = process.getuid?.() === 0;
const hasZstd = spawnSync(["sh", "-c", "command -v zstd"]).exitCode === 0;
let tmp = "";

function sh(cmd: string): void {
  const r = spawnSync(["sh", "-c", cmd], { stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr.toString()}`);
}

const sha = (b: Uint8Array) => "sha256:" + new Bun.CryptoHasher("sha256").update(b).digest("hex");

function xattrsOf(p: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of llistxattr(p).sort()) out[k] = Buffer.from(lgetxattr(p, k) ?? new Uint8Array(0)).toString("hex");
  return out;
}

function typeOf(s: BigIntStats): string {
  return s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : s.isCharacterDevice() ? "char" : s.isBlockDevice() ? "block" : s.isFIFO() ? "fifo" : "other";
}

/** Everything that unpacking should preserve, per relative path. */
function describeTree(root: string, nsec: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const s = lstatSync(p, { bigint: true });
    const d: Record<string, unknown> = {
      type: typeOf(s),
      mode: (Number(s.mode) & 0o7777).toString(8),
      uid: Number(s.uid),
      gid: Number(s.gid),
      mtime: nsec ? s.mtimeNs.toString() : (s.mtimeNs / 1_000_000_000n).toString(),
      xattrs: xattrsOf(p),
    };
    if (s.isFile()) (d.size = Number(s.size)), (d.content = sha(readFileSync(p))), (d.nlink = Number(s.nlink));
    if (s.isSymbolicLink()) (d.target = readlinkSync(p)), delete d.mode;
    if (s.isCharacterDevice() || s.isBlockDevice()) d.rdev = s.rdev.toString();
    out[rel || "."] = d;
    if (s.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk("");
  return out;
}

/** A tree with one of everything a root filesystem holds. */
function makeSource(src: string): void {
  mkdirSync(src, { mode: 0o755 });
  mkdirSync(join(src, "home/user/.config"), { recursive: true });
  writeFileSync(join(src, "home/user/.config/app.conf"), "key=value\n");
  chownSync(join(src, "home/user"), 1000, 1000);
  chownSync(join(src, "home/user/.config"), 1000, 1000);
  chownSync(join(src, "home/user/.config/app.conf"), 1000, 1000);
  chmodSync(join(src, "home/user"), 0o750);
  chmodSync(join(src, "home/user/.config/app.conf"), 0o600);
  mkdirSync(join(src, "usr/bin"), { recursive: true });
  writeFileSync(join(src, "usr/bin/su"), "#!/bin/sh\necho su\n");
  chmodSync(join(src, "usr/bin/su"), 0o4755);
  writeFileSync(join(src, "usr/bin/wall"), "wall");
  chownSync(join(src, "usr/bin/wall"), 0, 5);
  chmodSync(join(src, "usr/bin/wall"), 0o2755);
  linkSync(join(src, "usr/bin/su"), join(src, "usr/bin/su-hardlink"));
  symlinkSync("su", join(src, "usr/bin/su-symlink"));
  symlinkSync("/etc/passwd", join(src, "usr/bin/abs-symlink"));
  symlinkSync("../../nonexistent", join(src, "usr/bin/dangling"));
  lchownSync(join(src, "usr/bin/dangling"), 1000, 1000);
  mkdirSync(join(src, "tmp"));
  chmodSync(join(src, "tmp"), 0o1777);
  mkdirSync(join(src, "srv"));
  chmodSync(join(src, "srv"), 0o2775);
  mkdirSync(join(src, "dev"));
  sh(`mknod ${join(src, "dev/null")} c 1 3 && mknod ${join(src, "dev/loop9")} b 7 9 && mknod ${join(src, "dev/big")} c 300 70000 && mkfifo ${join(src, "dev/fifo")}`);
  chmodSync(join(src, "dev/null"), 0o666);
  writeFileSync(join(src, "empty"), "");
  // incompressible and over 8 MiB, so that every blob is large enough to be decompressed and
  // hashed on the second thread
  const big = new Uint8Array(9 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, Math.min(i + 65536, big.length)));
  writeFileSync(join(src, "usr/bin/big"), big);
  const deep = join(src, "deep", "d".repeat(90), "e".repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "f".repeat(120)), "long name");
  // xattrs: user.* on a file, trusted.* on a directory and a symlink, a file capability
  expect(lsetxattr(join(src, "usr/bin/big"), "user.comment", Buffer.from("a big file"))).toBe(0);
  expect(lsetxattr(join(src, "srv"), "trusted.marker", Buffer.from([0, 1, 2, 255]))).toBe(0);
  expect(lsetxattr(join(src, "usr/bin/su-symlink"), "trusted.link", Buffer.from("l"))).toBe(0);
  const cap = Buffer.from("0100000200200000000000000000000000000000", "hex"); // cap_net_bind_service, v2
  expect(lsetxattr(join(src, "usr/bin/wall"), "security.capability", cap)).toBe(0);
  // times, with nanoseconds, on files, directories and links (directories last: children change them)
  sh(`cd ${src} && find . -depth -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +`);
  sh(`touch -h -d '1999-12-31 23:59:59.5' ${join(src, "usr/bin/su-symlink")} ${join(src, "dev/fifo")} ${join(src, "usr/bin/su")}`);
  sh(`touch -d '2030-01-01 00:00:00' ${join(src, "tmp")}`);
}

beforeAll(() => {
  if (!isRoot) return;
  tmp = mkdtempSync("/tmp/runjs-unpack-");
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const fresh = (name: string) => {
  const d = join(tmp, name);
  mkdirSync(d);
  return d;
};

describe.skipIf(!isRoot)("unpackLayer on GNU tar layers", () => {
  let src = "";
  let posix = "";
  let gnu = "";

  beforeAll(() => {
    src = join(tmp, "src");
    makeSource(src);
    posix = join(tmp, "posix.tar");
    gnu = join(tmp, "gnu.tar");
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner --format=posix -C ${src} -cpf ${posix} .`);
    sh(`tar --numeric-owner --format=gnu -C ${src} -cpf ${gnu} .`);
    sh(`gzip -k -c ${posix} > ${posix}.gz`);
    if (hasZstd) sh(`zstd -q -c ${posix} > ${posix}.zst`);
  });

  const expected = (nsec: boolean, xattrs: boolean) => {
    const t = describeTree(src, nsec);
    if (!xattrs) for (const v of Object.values(t)) (v as { xattrs: unknown }).xattrs = {};
    return t;
  };

  for (const [label, suffix] of [["plain", ""], ["gzip", ".gz"], ["zstd", ".zst"]] as const) {
    test.skipIf(label === "zstd" && !hasZstd)(`PAX (${label}): every file as in the source, to the nanosecond`, async () => {
      const dest = fresh(`posix-${label}`);
      const stats = await unpackLayer(posix + suffix, dest);
      expect(stats.diffId).toBe(sha(readFileSync(posix)));
      expect(stats.bytes).toBe(readFileSync(posix).length);
      expect(describeTree(dest, true)).toEqual(expected(true, true));
      expect(lstatSync(join(dest, "usr/bin/su")).ino).toBe(lstatSync(join(dest, "usr/bin/su-hardlink")).ino);
      expect(stats.entries).toBe(Object.keys(expected(true, true)).length);
    });
  }

  test("a small layer (unpacked on one thread) gives the same tree", async () => {
    const small = join(tmp, "small.tar");
    sh(`tar --xattrs --xattrs-include='*' --numeric-owner --format=posix -C ${src} --exclude=./usr/bin/big -cpf ${small} .`);
    sh(`gzip -k -c ${small} > ${small}.gz`);
    const want = expected(true, true);
    delete want["usr/bin/big"];
    for (const f of [small, small + ".gz"]) {
      const dest = fresh(f.endsWith(".gz") ? "small-gz" : "small");
      const stats = await unpackLayer(f, dest);
      expect(stats.diffId).toBe(sha(readFileSync(small)));
      expect(describeTree(dest, true)).toEqual(want);
    }
  });

  test("two layers unpacked at the same time", async () => {
    const [a, b] = [fresh("concurrent-a"), fresh("concurrent-b")];
    const [sa, sb] = await Promise.all([unpackLayer(posix + ".gz", a), unpackLayer(gnu, b)]);
    expect(sa.diffId).toBe(sha(readFileSync(posix)));
    expect(sb.diffId).toBe(sha(readFileSync(gnu)));
    expect(describeTree(a, true)).toEqual(expected(true, true));
    expect(describeTree(b, false)).toEqual(expected(false, false));
  });

  test("corrupt and truncated blobs are errors", async () => {
    const data = readFileSync(posix + ".gz");
    const corrupt = join(tmp, "corrupt.tar.gz");
    const bad = new Uint8Array(data);
    bad.fill(0x55, 1000, 5000);
    writeFileSync(corrupt, bad);
    await expect(unpackLayer(corrupt, fresh("corrupt"))).rejects.toThrow(UnpackError);
    const truncated = join(tmp, "truncated.tar");
    writeFileSync(truncated, readFileSync(posix).subarray(0, 9 * 1024 * 1024));
    await expect(unpackLayer(truncated, fresh("truncated"))).rejects.toThrow(/unexpected end of archive/);
    const smallTrunc = join(tmp, "small-truncated.tar");
    writeFileSync(smallTrunc, readFileSync(posix).subarray(0, 5000));
    await expect(unpackLayer(smallTrunc, fresh("small-truncated"))).rejects.toThrow(UnpackError);
  });

  test("GNU format (long names in 'L' records, octal times)", async () => {
    const dest = fresh("gnu");
    const stats = await unpackLayer(gnu, dest);
    expect(stats.diffId).toBe(sha(readFileSync(gnu)));
    expect(describeTree(dest, false)).toEqual(expected(false, false));
  });
});

/** Write a tar built in memory to a file under tmp. */
function layer(name: string, entries: TarWriteEntry[]): string {
  const p = join(tmp, name);
  writeFileSync(p, buildTar(entries));
  return p;
}

describe.skipIf(!isRoot)("whiteouts become overlayfs whiteouts", () => {
  test(".wh.NAME → 0/0 char device NAME, .wh..wh..opq → trusted.overlay.opaque=y", async () => {
    const dest = fresh("whiteout");
    const l = layer("whiteout.tar", [
      { name: "./a/", type: "5", mode: 0o755 },
      { name: "./a/.wh.gone", data: "" },
      { name: "./.wh.top", data: "" },
      { name: "./o/", type: "5", mode: 0o755 },
      { name: "./o/.wh..wh..opq", data: "" },
      { name: "./o/kept", data: "k" },
      { name: "./missing/parent/.wh..wh..opq", data: "" },
    ]);
    await unpackLayer(l, dest);
    for (const w of ["a/gone", "top"]) {
      const s = lstatSync(join(dest, w));
      expect(s.isCharacterDevice()).toBe(true);
      expect(s.rdev).toBe(0);
    }
    expect(existsSync(join(dest, "a/.wh.gone"))).toBe(false);
    expect(existsSync(join(dest, ".wh.top"))).toBe(false);
    expect(existsSync(join(dest, "o/.wh..wh..opq"))).toBe(false);
    expect(Buffer.from(lgetxattr(join(dest, "o"), "trusted.overlay.opaque")!).toString()).toBe("y");
    expect(Buffer.from(lgetxattr(join(dest, "missing/parent"), "trusted.overlay.opaque")!).toString()).toBe("y");
    expect(readFileSync(join(dest, "o/kept"), "utf8")).toBe("k");
    const st = spawnSync(["stat", "-c", "%F %t:%T", join(dest, "a/gone")]).stdout.toString().trim();
    expect(st).toBe("character special file 0:0");
  });
});

describe.skipIf(!isRoot)("later entries replace earlier ones", () => {
  test("file over file, dir over file, file over dir, dir over dir merges", async () => {
    const dest = fresh("replace");
    const l = layer("replace.tar", [
      { name: "f", data: "one" },
      { name: "f", data: "two", mode: 0o600 },
      { name: "x", data: "file" },
      { name: "x/", type: "5", mode: 0o700 },
      { name: "x/in", data: "in" },
      { name: "y/", type: "5" },
      { name: "y/sub/z", data: "z" },
      { name: "y", type: "2", linkname: "/etc" },
      { name: "m/", type: "5", mode: 0o755 },
      { name: "m/a", data: "a" },
      { name: "m/", type: "5", mode: 0o711, uid: 7, gid: 8 },
      { name: "m/b", data: "b" },
    ]);
    await unpackLayer(l, dest);
    expect(readFileSync(join(dest, "f"), "utf8")).toBe("two");
    expect(lstatSync(join(dest, "f")).mode & 0o7777).toBe(0o600);
    expect(readFileSync(join(dest, "x/in"), "utf8")).toBe("in");
    expect(readlinkSync(join(dest, "y"))).toBe("/etc");
    expect(readdirSync(join(dest, "m")).sort()).toEqual(["a", "b"]);
    const m = lstatSync(join(dest, "m"));
    expect([m.mode & 0o7777, m.uid, m.gid]).toEqual([0o711, 7, 8]);
  });
});

describe.skipIf(!isRoot)("layers that try to escape are refused", () => {
  const refused = async (name: string, entries: TarWriteEntry[], entry: string, outside: string[], why = /./) => {
    const dest = fresh(name);
    const l = layer(`${name}.tar`, entries);
    const err = await unpackLayer(l, dest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnpackError);
    expect((err as Error).message).toContain(JSON.stringify(entry));
    expect((err as Error).message).toMatch(why);
    for (const p of outside) expect(existsSync(p)).toBe(false);
  };

  test("absolute path climbing out", async () => {
    const name = `escape-abs-${process.pid}`;
    await refused("abs", [{ name: `/../../${name}`, data: "x" }], `/../../${name}`, [join(tmp, name), `/${name}`, join("/tmp", name)], /leaves the layer root/);
  });

  test("../../x", async () => {
    const name = `escape-rel-${process.pid}`;
    await refused("rel", [{ name: `../../${name}`, data: "x" }], `../../${name}`, [join(tmp, name), join("/tmp", name)], /leaves the layer root/);
  });

  test("a/../../x after a real directory a", async () => {
    const name = `escape-mid-${process.pid}`;
    await refused("mid", [{ name: "a/", type: "5" }, { name: `a/../../${name}`, data: "x" }], `a/../../${name}`, [join(tmp, name)]);
  });

  test("writing through a symlink to a directory outside", async () => {
    const outside = mkdtempSync("/tmp/target-outside-");
    try {
      await refused("through-symlink", [{ name: "a", type: "2", linkname: outside }, { name: "a/pwned", data: "x" }], "a/pwned", [join(outside, "pwned")], /symbolic link/);
      await refused(
        "through-rel-symlink",
        [{ name: "b", type: "2", linkname: "../../../../../../.." + outside }, { name: "b/sub/pwned", data: "x" }],
        "b/sub/pwned",
        [join(outside, "pwned"), join(outside, "sub")],
        /symbolic link/,
      );
      await refused(
        "through-symlink-dir",
        [{ name: "c", type: "2", linkname: outside }, { name: "c/newdir/", type: "5" }],
        "c/newdir/",
        [join(outside, "newdir")],
      );
      await refused(
        "dir-replaced-by-symlink",
        [{ name: "e/", type: "5" }, { name: "e/ok", data: "ok" }, { name: "e", type: "2", linkname: outside }, { name: "e/pwned", data: "x" }],
        "e/pwned",
        [join(outside, "pwned")],
        /symbolic link/,
      );
      await refused(
        "whiteout-through-symlink",
        [{ name: "d", type: "2", linkname: outside }, { name: "d/.wh.victim", data: "" }],
        "d/.wh.victim",
        [join(outside, "victim")],
      );
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test("a hard link to a file outside", async () => {
    const outside = mkdtempSync("/tmp/target-outside-");
    try {
      writeFileSync(join(outside, "secret"), "s");
      await refused("hardlink-rel", [{ name: "h", type: "1", linkname: "../../../../../../.." + outside + "/secret" }], "h", [], /hard link target .*leaves the layer root/);
      await refused("hardlink-via-symlink", [{ name: "s", type: "2", linkname: outside }, { name: "h", type: "1", linkname: "s/secret" }], "h", [], /symbolic link/);
      expect(lstatSync(join(outside, "secret")).nlink).toBe(1);
      // an absolute target is inside the layer: "/etc/passwd" means dest/etc/passwd, which is missing
      await refused("hardlink-abs", [{ name: "h", type: "1", linkname: "/etc/passwd" }], "h", []);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
