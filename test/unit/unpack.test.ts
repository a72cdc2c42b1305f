// The tar reader (ustar, GNU long names, PAX records, base-256 numbers, any chunking) and the
// path rules of the layer unpacker (normalisation, escapes, whiteout names). No root needed.
import { describe, expect, test } from "bun:test";
import { buildTar, parseNumber, parsePaxTime, TarError, TarReader, type TarEntry, type TarWriteEntry } from "../../src/engine/images/tar.ts";
import { normaliseEntryPath, UnpackError, whiteout } from "../../src/engine/images/unpack.ts";

interface Got {
  e: TarEntry;
  data: Uint8Array;
  ended: boolean;
}

/** Parse a whole archive, fed in chunks of `chunk` bytes. */
function parse(tar: Uint8Array, chunk = tar.length): Got[] {
  const out: Got[] = [];
  const parts: Uint8Array[] = [];
  const r = new TarReader({
    entry(e) {
      out.push({ e, data: new Uint8Array(0), ended: false });
      parts.length = 0;
    },
    data(c) {
      parts.push(c.slice());
    },
    end() {
      const g = out[out.length - 1]!;
      g.data = new Uint8Array(Buffer.concat(parts));
      g.ended = true;
    },
  });
  for (let i = 0; i < tar.length; i += chunk) r.write(tar.subarray(i, i + chunk));
  r.close();
  return out;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("tar reader", () => {
  const entries: TarWriteEntry[] = [
    { name: "./", type: "5", mode: 0o755, mtime: 1700000000 },
    { name: "./etc/hostname", data: "box\n", mode: 0o644, uid: 1000, gid: 1001, mtime: 1700000001 },
    { name: "./bin/sh", type: "2", linkname: "busybox", mode: 0o777 },
    { name: "./bin/ls", type: "1", linkname: "./bin/busybox" },
    { name: "./dev/null", type: "3", mode: 0o666, devmajor: 1, devminor: 3 },
    { name: "./usr/bin/su", data: "x".repeat(1500), mode: 0o4755 },
  ];
  const tar = buildTar(entries);

  test("ustar fields", () => {
    const got = parse(tar);
    expect(got.map((g) => g.e.name)).toEqual(entries.map((e) => e.name));
    expect(got.every((g) => g.ended)).toBe(true);
    const h = got[1]!;
    expect(h.e).toMatchObject({ type: "0", mode: 0o644, uid: 1000, gid: 1001, size: 4, mtime: { sec: 1700000001, nsec: 0 } });
    expect(text(h.data)).toBe("box\n");
    expect(got[2]!.e).toMatchObject({ type: "2", linkname: "busybox" });
    expect(got[3]!.e).toMatchObject({ type: "1", linkname: "./bin/busybox" });
    expect(got[4]!.e).toMatchObject({ type: "3", devmajor: 1, devminor: 3 });
    expect(got[5]!.e.mode).toBe(0o4755);
    expect(text(got[5]!.data)).toBe("x".repeat(1500));
  });

  test("any chunking gives the same entries", () => {
    const whole = parse(tar);
    for (const c of [1, 7, 511, 512, 513, 1000]) {
      const got = parse(tar, c);
      expect(got.map((g) => [g.e.name, text(g.data)])).toEqual(whole.map((g) => [g.e.name, text(g.data)]));
    }
  });

  test("GNU long name", () => {
    const long = "d/" + "n".repeat(150) + "/file-with-a-long-name";
    const got = parse(buildTar([{ name: long, data: "abc", gnuLongName: true }]), 100);
    expect(got.length).toBe(1);
    expect(got[0]!.e.name).toBe(long);
    expect(text(got[0]!.data)).toBe("abc");
  });

  test("GNU long link target", () => {
    const target = "/" + "t/".repeat(120) + "end";
    const got = parse(buildTar([{ name: "l".repeat(130), type: "2", linkname: target, gnuLongLink: true, gnuLongName: true }, { name: "x", type: "2", linkname: "short" }]), 64);
    expect(got[0]!.e).toMatchObject({ name: "l".repeat(130), type: "2", linkname: target });
    expect(got[1]!.e).toMatchObject({ name: "x", linkname: "short" });
  });

  test("ustar prefix field joins the name", () => {
    const tar = buildTar([{ name: "short", data: "1" }]);
    tar.set(Buffer.from("some/prefix/dir"), 345);
    // recompute the checksum
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.set(Buffer.from(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    expect(parse(tar)[0]!.e.name).toBe("some/prefix/dir/short");
  });

  test("PAX path, linkpath, ids, fractional mtime and xattrs", () => {
    const long = "p/" + "q".repeat(300);
    const got = parse(
      buildTar([
        {
          name: "trunc",
          type: "2",
          linkname: "short",
          pax: {
            path: long,
            linkpath: "/" + "t".repeat(200),
            uid: "3000000",
            gid: "4000000",
            mtime: "1700000000.123456789",
            atime: "1600000000.5",
            "SCHILY.xattr.user.comment": "héllo",
            "SCHILY.xattr.security.capability": new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "LIBARCHIVE.xattr.user.with%3Dequals": Buffer.from("v1").toString("base64"),
          },
        },
        { name: "next", data: "" },
      ]),
      33,
    );
    const e = got[0]!.e;
    expect(e.name).toBe(long);
    expect(e.linkname).toBe("/" + "t".repeat(200));
    expect([e.uid, e.gid]).toEqual([3000000, 4000000]);
    expect(e.mtime).toEqual({ sec: 1700000000, nsec: 123456789 });
    expect(e.atime).toEqual({ sec: 1600000000, nsec: 500000000 });
    expect(text(e.xattrs!.get("user.comment")!)).toBe(Buffer.from("héllo", "latin1").toString("latin1"));
    expect([...e.xattrs!.get("security.capability")!].slice(0, 6)).toEqual([1, 0, 0, 2, 0, 0x20]);
    expect(text(e.xattrs!.get("user.with=equals")!)).toBe("v1");
    // an 'x' header applies to one entry only
    expect(got[1]!.e.name).toBe("next");
    expect(got[1]!.e.xattrs).toBeUndefined();
  });

  test("a global PAX header applies to every later entry, an 'x' one to the next only", () => {
    const got = parse(
      buildTar([
        { name: "pax_global_header", type: "g", data: "10 uid=42\n" },
        { name: "a", data: "1" },
        { name: "b", data: "2", pax: { uid: "7" } },
        { name: "c", data: "3" },
      ]),
    );
    expect(got.map((g) => [g.e.name, g.e.uid])).toEqual([["a", 42], ["b", 7], ["c", 42]]);
  });

  test("PAX size overrides the header", () => {
    const tar = buildTar([{ name: "big", data: "0123456789", pax: { size: "10" } }]);
    expect(text(parse(tar)[0]!.data)).toBe("0123456789");
  });

  test("base-256 size", () => {
    const data = "z".repeat(700);
    const tar = buildTar([{ name: "b256", data, base256Size: true }, { name: "after", data: "ok" }]);
    expect(tar[124]).toBe(0x80);
    const got = parse(tar, 300);
    expect(got[0]!.e.size).toBe(700);
    expect(text(got[0]!.data)).toBe(data);
    expect(text(got[1]!.data)).toBe("ok");
  });

  test("numbers: octal with padding, base-256 positive and negative", () => {
    expect(parseNumber(Buffer.from(" 0000755\0"), 0, 9)).toBe(0o755);
    const big = new Uint8Array(12);
    big[0] = 0x80;
    big[7] = 0x01; // 2^32
    expect(parseNumber(big, 0, 12)).toBe(2 ** 32);
    const neg = new Uint8Array(12).fill(0xff);
    expect(parseNumber(neg, 0, 12)).toBe(-1);
    neg[11] = 0xfe;
    expect(parseNumber(neg, 0, 12)).toBe(-2);
    expect(parsePaxTime("-1.25")).toEqual({ sec: -2, nsec: 750000000 });
    expect(parsePaxTime("12")).toEqual({ sec: 12, nsec: 0 });
  });

  test("bad checksum and truncation are errors", () => {
    const tar = buildTar([{ name: "f", data: "hello" }]);
    const bad = tar.slice();
    bad[0] = 0x41;
    expect(() => parse(bad)).toThrow(TarError);
    expect(() => parse(tar.subarray(0, 512 + 3))).toThrow(/unexpected end/);
    // a missing end-of-archive marker is tolerated
    expect(parse(tar.subarray(0, 1024)).length).toBe(1);
  });

  test("trailing zero padding after the end blocks is ignored", () => {
    const tar = new Uint8Array(Buffer.concat([buildTar([{ name: "f", data: "1" }]), new Uint8Array(10240)]));
    expect(parse(tar, 4096).length).toBe(1);
  });
});

describe("entry paths", () => {
  test("normalisation", () => {
    expect(normaliseEntryPath("./a/b")).toBe("a/b");
    expect(normaliseEntryPath("/a//b/")).toBe("a/b");
    expect(normaliseEntryPath("a/./c/../b")).toBe("a/b");
    expect(normaliseEntryPath("./")).toBe("");
    expect(normaliseEntryPath(".")).toBe("");
    expect(normaliseEntryPath("a/..")).toBe("");
  });

  test("escapes are refused, naming the entry", () => {
    for (const n of ["..", "../x", "/../x", "./../../etc/passwd", "a/../../x", "a/b/../../../x"]) {
      expect(() => normaliseEntryPath(n)).toThrow(UnpackError);
      expect(() => normaliseEntryPath(n)).toThrow(JSON.stringify(n));
    }
    expect(() => normaliseEntryPath("a\0b")).toThrow(/NUL/);
  });

  test("whiteouts", () => {
    expect(whiteout("a/b")).toBeUndefined();
    expect(whiteout("a/.wh.b")).toEqual({ kind: "whiteout", path: "a/b" });
    expect(whiteout(".wh.top")).toEqual({ kind: "whiteout", path: "top" });
    expect(whiteout("a/b/.wh..wh..opq")).toEqual({ kind: "opaque", dir: "a/b" });
    expect(whiteout(".wh..wh..opq")).toEqual({ kind: "opaque", dir: "" });
    expect(whiteout("a/x.wh.b")).toBeUndefined();
  });
});
