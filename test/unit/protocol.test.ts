// The wire format: generated constants match protocol.json, and the codec round-trips.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "../../scripts/gen-protocol.ts";
import { decodeRecords, encodePlan, field, frame, RecordWriter } from "../../src/helper/encode.ts";
import { Frame, Tag } from "../../src/helper/protocol.gen.ts";

const root = join(import.meta.dir, "../..");

test("protocol.gen.ts and proto.gen.h are up to date with protocol.json", () => {
  const { ts, c } = generate();
  expect(readFileSync(join(root, "src/helper/protocol.gen.ts"), "utf8")).toBe(ts);
  expect(readFileSync(join(root, "native/proto.gen.h"), "utf8")).toBe(c);
});

test("tag and frame numbers are unique", () => {
  const p = JSON.parse(readFileSync(join(root, "protocol/protocol.json"), "utf8"));
  const tags = Object.values<any>(p.tags).map((t) => t.value);
  expect(new Set(tags).size).toBe(tags.length);
  const frames = Object.values<any>(p.frames).map((t) => t.value);
  expect(new Set(frames).size).toBe(frames.length);
});

test("records round-trip through the TypeScript decoder", () => {
  const w = new RecordWriter()
    .u32(Tag.UID, 1000)
    .i32(Tag.OOM_SCORE_ADJ, -500)
    .u64(Tag.CAP_BOUNDING, 0xffff_ffff_ffff_fffen)
    .str(Tag.CWD, "/tmp/ünïcode")
    .list(Tag.NS_JOIN, (l) => l.u32(Tag.NS_TYPE, 0x20000).str(Tag.NS_PATH, "/proc/1/ns/mnt"));
  const recs = decodeRecords(w.finish());
  expect(field(recs, Tag.UID)).toBe(1000);
  expect(field(recs, Tag.OOM_SCORE_ADJ)).toBe(-500);
  expect(field(recs, Tag.CAP_BOUNDING)).toBe(0xffff_ffff_ffff_fffen);
  expect(field(recs, Tag.CWD)).toBe("/tmp/ünïcode");
  const ns = field<any[]>(recs, Tag.NS_JOIN)!;
  expect(field(ns, Tag.NS_PATH)).toBe("/proc/1/ns/mnt");
});

test("the decoder rejects truncated and malformed input", () => {
  const ok = new RecordWriter().u32(Tag.UID, 1).finish();
  expect(() => decodeRecords(ok.subarray(0, ok.length - 1))).toThrow(/overruns/);
  const bad = new RecordWriter().bytes(Tag.UID, new Uint8Array(3)).finish();
  expect(() => decodeRecords(bad)).toThrow(/want 4/);
  const nonul = new RecordWriter().bytes(Tag.CWD, new Uint8Array([65])).finish();
  expect(() => decodeRecords(nonul)).toThrow(/NUL/);
  const unknown = new RecordWriter().bytes(999, new Uint8Array(0)).finish();
  expect(() => decodeRecords(unknown)).toThrow(/unknown tag/);
  expect(() => new RecordWriter().str(Tag.CWD, "a\0b")).toThrow(/NUL/);
});

test("a plan is framed as PLAN with its payload length", () => {
  const f = frame(Frame.PLAN, encodePlan({
    helperWaits: false, unshareFlags: 0, cgroupns: false, loopback: false, nsJoin: [], rootfs: "/r",
    rootPropagation: 0, postPropagation: 0, mounts: [], devices: [], symlinks: [], noPivot: false, chroot: false,
    remounts: [], masked: [], readonly: [], sysctls: [], hooks: [], newKeyring: true, homeFromPasswd: false, execAttrs: [], uid: 0, gid: 0, gids: [], noSetgroups: false,
    noNewPrivs: false, seccompFlags: 0, seccompEarly: false, cwd: "/", env: [], args: ["true"],
    fifoByProc: false, consoleRows: 0, consoleCols: 0, consoleNoOnlcr: false, devConsole: false,
  }));
  const dv = new DataView(f.buffer);
  expect(dv.getUint32(0, true)).toBe(f.length - 8);
  expect(dv.getUint16(4, true)).toBe(Frame.PLAN);
  expect(field(decodeRecords(f.subarray(8)), Tag.ROOTFS)).toBe("/r");
});
