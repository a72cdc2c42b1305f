// The cgroup v2 device filter: the generated eBPF program, run by a tiny interpreter here,
// must give the same verdict as the cgroup v1 devices controller for the same rules.
import { expect, test } from "bun:test";
import {
  ACC_MKNOD,
  ACC_READ,
  ACC_WRITE,
  DEV_BLOCK,
  DEV_CHAR,
  OP,
  decode,
  deviceFilter,
  deviceProgram,
  emulateV1,
  encode,
  v1Permits,
  type Insn,
} from "../../src/cgroups/devices-bpf.ts";
import { deviceWrites } from "../../src/cgroups/v1.ts";
import type { LinuxDeviceCgroup } from "../../src/oci/spec.ts";

/** Run a cgroup device program on one ctx; only the opcodes the generator may emit. */
function run(insns: Insn[], type: number, major: number, minor: number, access: number): number {
  const ctx = [((access << 16) | type) >>> 0, major >>> 0, minor >>> 0];
  const r = new Array<bigint>(11).fill(0n);
  const M32 = 0xffffffffn;
  r[1] = -1n; // the ctx pointer: only loads from it are allowed
  let steps = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    if (++steps > 10000) throw new Error("loop");
    const x = insns[pc]!;
    switch (x.code) {
      case OP.LDXW:
        if (r[x.src] !== -1n || x.off % 4 || x.off < 0 || x.off > 8) throw new Error(`bad ctx load at ${pc}`);
        r[x.dst] = BigInt(ctx[x.off / 4]!);
        break;
      case OP.AND32_K:
        r[x.dst] = (r[x.dst]! & M32 & (BigInt(x.imm) & M32)) & M32;
        break;
      case OP.RSH32_K:
        r[x.dst] = (r[x.dst]! & M32) >> BigInt(x.imm);
        break;
      case OP.MOV32_K:
        r[x.dst] = BigInt(x.imm) & M32;
        break;
      case OP.MOV32_X:
        r[x.dst] = r[x.src]! & M32;
        break;
      case OP.JEQ_K:
        if (r[x.dst] === BigInt(x.imm)) pc += x.off;
        break;
      case OP.JNE_K:
        if (r[x.dst] !== BigInt(x.imm)) pc += x.off;
        break;
      case OP.JNE_X:
        if (r[x.dst] !== r[x.src]) pc += x.off;
        break;
      case OP.EXIT:
        return Number(r[0]);
      default:
        throw new Error(`opcode 0x${x.code.toString(16)} at ${pc}`);
    }
    if (pc + 1 > insns.length) throw new Error("jump out of the program");
  }
  throw new Error("fell off the end");
}

const lines = (rules: LinuxDeviceCgroup[]) => deviceWrites(rules).map((w) => ({ allow: w.file === "devices.allow", line: w.line }));

const ACCESSES = [ACC_READ, ACC_WRITE, ACC_MKNOD, ACC_READ | ACC_WRITE, ACC_READ | ACC_MKNOD, ACC_READ | ACC_WRITE | ACC_MKNOD];
const DEVICES: [number, number, number][] = [];
for (const t of [DEV_CHAR, DEV_BLOCK]) for (const [ma, mi] of [[1, 3], [1, 5], [1, 9], [5, 0], [5, 2], [136, 4], [10, 200], [10, 229], [8, 0], [8, 1], [0, 0], [4095, 1048575]]) DEVICES.push([t, ma!, mi!]);

const RULESETS: Record<string, LinuxDeviceCgroup[]> = {
  "deny all + allow c 1:3": [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
  "deny all only": [{ allow: false, access: "rwm" }],
  "deny c 1:5 specifically": [{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 5, access: "rwm" }],
  "allow all": [{ allow: true, access: "rwm" }],
  "allow all, deny c 10:229 w, deny b 8:* rw": [{ allow: true, access: "rwm" }, { allow: false, type: "c", major: 10, minor: 229, access: "w" }, { allow: false, type: "b", major: 8, access: "rw" }],
  "allow c *:* r, deny c 1:3 r (no hole)": [{ allow: true, type: "c", access: "r" }, { allow: false, type: "c", major: 1, minor: 3, access: "r" }],
  "allow b 8:0 r then w (merged)": [{ allow: true, type: "b", major: 8, minor: 0, access: "r" }, { allow: true, type: "b", major: 8, minor: 0, access: "w" }],
  "allow b 8:0 rw, deny b 8:0 w": [{ allow: true, type: "b", major: 8, minor: 0, access: "rw" }, { allow: false, type: "b", major: 8, minor: 0, access: "w" }],
  "allow c 10:* rwm, then deny all": [{ allow: true, type: "c", major: 10, access: "rwm" }, { allow: false, access: "rwm" }],
  "a with numbers resets": [{ allow: true, type: "a", major: 1, minor: 3, access: "r" }],
  "none": [],
};

for (const [name, rules] of Object.entries(RULESETS)) {
  test(`program = v1 semantics: ${name}`, () => {
    const ls = lines(rules);
    const { state, insns } = deviceFilter(ls);
    expect(decode(encode(insns))).toEqual(insns);
    for (const [t, ma, mi] of DEVICES)
      for (const a of ACCESSES) {
        const want = v1Permits(state, t, ma, mi, a) ? 1 : 0;
        const got = run(insns, t, ma, mi, a);
        if (got !== want) throw new Error(`${name}: ${t === DEV_CHAR ? "c" : "b"} ${ma}:${mi} access ${a}: program ${got}, v1 ${want}`);
      }
  });
}

// The v1 model itself, against verdicts worked out by hand from the kernel's rules.
const allows = (rules: LinuxDeviceCgroup[], t: number, ma: number, mi: number, a: number) => {
  const { state, insns } = deviceFilter(lines(rules));
  const v = v1Permits(state, t, ma, mi, a);
  expect(run(insns, t, ma, mi, a)).toBe(v ? 1 : 0);
  return v;
};
const RW = ACC_READ | ACC_WRITE;

test("deny all + allow c 1:3 rwm: /dev/null opens, and runc's defaults still allow /dev/zero", () => {
  const r = RULESETS["deny all + allow c 1:3"]!;
  expect(allows(r, DEV_CHAR, 1, 3, RW)).toBe(true);
  expect(allows(r, DEV_CHAR, 1, 5, RW)).toBe(true); // default list: zero
  expect(allows(r, DEV_CHAR, 136, 7, RW)).toBe(true); // pts
  expect(allows(r, DEV_CHAR, 10, 229, RW)).toBe(false); // fuse: not in the defaults
  expect(allows(r, DEV_CHAR, 10, 229, ACC_MKNOD)).toBe(true); // mknod of any char node
  expect(allows(r, DEV_BLOCK, 8, 0, ACC_READ)).toBe(false);
  expect(allows(r, DEV_BLOCK, 8, 0, ACC_MKNOD)).toBe(true);
});

test("the defaults come after the spec's rules: a specific deny of /dev/zero is overridden", () => {
  // as on v1: deny c 1:5 removes nothing (no such exception yet), then the default allows it
  expect(allows(RULESETS["deny c 1:5 specifically"]!, DEV_CHAR, 1, 5, RW)).toBe(true);
});

test("v1 model details", () => {
  // no hole punched in a wildcard exception
  expect(allows(RULESETS["allow c *:* r, deny c 1:3 r (no hole)"]!, DEV_CHAR, 10, 229, ACC_READ)).toBe(true);
  // merged access of identical exceptions; the whole request must be covered
  expect(allows(RULESETS["allow b 8:0 r then w (merged)"]!, DEV_BLOCK, 8, 0, RW)).toBe(true);
  expect(allows(RULESETS["allow b 8:0 rw, deny b 8:0 w"]!, DEV_BLOCK, 8, 0, ACC_READ)).toBe(true);
  expect(allows(RULESETS["allow b 8:0 rw, deny b 8:0 w"]!, DEV_BLOCK, 8, 0, RW)).toBe(false);
  // a later deny-all wins over everything before it (then the defaults apply)
  expect(allows(RULESETS["allow c 10:* rwm, then deny all"]!, DEV_CHAR, 10, 229, ACC_READ)).toBe(false);
  expect(allows(RULESETS["allow c 10:* rwm, then deny all"]!, DEV_CHAR, 10, 200, ACC_READ)).toBe(true);
  // allow all: default allow, a deny exception refuses a request sharing any bit
  const aa = RULESETS["allow all, deny c 10:229 w, deny b 8:* rw"]!;
  expect(allows(aa, DEV_CHAR, 10, 200, RW)).toBe(true);
  expect(allows(aa, DEV_CHAR, 10, 229, ACC_READ)).toBe(true);
  expect(allows(aa, DEV_CHAR, 10, 229, RW)).toBe(false);
  expect(allows(aa, DEV_BLOCK, 8, 3, ACC_READ)).toBe(false);
  expect(allows(aa, DEV_BLOCK, 8, 3, ACC_MKNOD)).toBe(true);
  expect(emulateV1(lines(aa)).defaultAllow).toBe(true);
  // a deny of a default device is undone by the default allow list that follows (as on v1)
  expect(allows([{ allow: true, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 5, access: "w" }], DEV_CHAR, 1, 5, RW)).toBe(true);
  // the default allow rules (after allow all) add nothing: they equal the default
  expect(emulateV1(lines(RULESETS["allow all"]!)).exceptions).toEqual([]);
});

test("the program's shape: ctx loads first, exceptions last first, the default at the end", () => {
  const st = emulateV1([
    { allow: false, line: "a" },
    { allow: true, line: "c 1:3 rwm" },
    { allow: true, line: "b *:* m" },
  ]);
  const p = deviceProgram(st);
  expect(p.slice(0, 6).map((x) => x.code)).toEqual([OP.LDXW, OP.AND32_K, OP.LDXW, OP.RSH32_K, OP.LDXW, OP.LDXW]);
  expect(p[6]).toEqual({ code: OP.JNE_K, dst: 2, src: 0, off: 5, imm: DEV_BLOCK }); // b *:* m first
  expect(p.at(-2)).toEqual({ code: OP.MOV32_K, dst: 0, src: 0, off: 0, imm: 0 });
  expect(p.at(-1)!.code).toBe(OP.EXIT);
});

test("encode/decode round trip, incl. negative offsets and immediates and high registers", () => {
  const insns: Insn[] = [
    { code: OP.JNE_K, dst: 10, src: 0, off: -3, imm: -1 },
    { code: OP.MOV32_X, dst: 1, src: 9, off: 0, imm: 0 },
    { code: OP.LDXW, dst: 5, src: 1, off: 32767, imm: 2147483647 },
    { code: OP.EXIT, dst: 0, src: 0, off: -32768, imm: -2147483648 },
  ];
  const b = encode(insns);
  expect(b.length).toBe(32);
  expect(Array.from(b.subarray(0, 8))).toEqual([0x55, 0x0a, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff]);
  expect(b[9]).toBe(0x91);
  expect(decode(b)).toEqual(insns);
  expect(() => decode(new Uint8Array(7))).toThrow("8-byte");
});

test("bad lines are refused", () => {
  expect(() => emulateV1([{ allow: true, line: "x 1:2 r" }])).toThrow("not");
  expect(() => emulateV1([{ allow: true, line: "c 1:2 q" }])).toThrow("not");
});
