// The cgroup v2 device filter, as an eBPF program (pure: no system calls here).
//
// cgroup v2 has no devices.allow/deny files. Instead a BPF_PROG_TYPE_CGROUP_DEVICE program is
// attached to the cgroup; the kernel runs it on every open/mknod of a device node with
//   struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// (access_type = access bits << 16 | device type) and allows the access iff it returns 1.
//
// To behave exactly as cgroup v1 does, the same lines v1 writes (deviceWrites: deny all, the
// spec's rules, then runc's default allow list) are first replayed through a model of the
// v1 devices controller (emulateV1, after the kernel's devcgroup_update_access), giving a
// default (allow or deny) and a list of exceptions. The program then checks the exceptions,
// last first, and returns the default when none matches. As in v1, an exception to a
// default deny allows a request when the request's access bits are a subset of its own; an
// exception to a default allow denies when any requested bit is among its own.
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
export const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

/** One exception of the v1 model: type b or c, major/minor -1 for any. */
export interface DeviceException {
  type: "b" | "c";
  major: number;
  minor: number;
  access: number; // ACC_* bits
}

export interface DeviceState {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

export function accessBits(s: string): number {
  let a = 0;
  for (const ch of s) {
    if (ch === "r") a |= ACC_READ;
    else if (ch === "w") a |= ACC_WRITE;
    else if (ch === "m") a |= ACC_MKNOD;
    else throw new Error(`access "${s}" is not some of rwm`);
  }
  return a;
}

/**
 * Replay v1 device lines ("a", "c 1:3 rwm", "b *:* m") written to devices.allow (allow=true)
 * or devices.deny, as the kernel's v1 devices controller does. Starts from allow-all, the
 * state of a fresh v1 cgroup under the root.
 */
export function emulateV1(lines: { allow: boolean; line: string }[]): DeviceState {
  const st: DeviceState = { defaultAllow: true, exceptions: [] };
  for (const { allow, line } of lines) {
    // Any line beginning with "a" resets: allow → allow all, deny → deny all, no exceptions.
    if (line.startsWith("a")) {
      st.defaultAllow = allow;
      st.exceptions = [];
      continue;
    }
    const m = /^([bc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line);
    if (!m) throw new Error(`device rule "${line}" is not "a" or "b|c major:minor rwm"`);
    const ex: DeviceException = {
      type: m[1] as "b" | "c",
      major: m[2] === "*" ? -1 : Number(m[2]),
      minor: m[3] === "*" ? -1 : Number(m[3]),
      access: accessBits(m[4]!),
    };
    const same = (e: DeviceException) => e.type === ex.type && e.major === ex.major && e.minor === ex.minor;
    if (allow !== st.defaultAllow) {
      // An exception to the default: add it, merging with an identical one.
      const e = st.exceptions.find(same);
      if (e) e.access |= ex.access;
      else st.exceptions.push(ex);
    } else {
      // The same as the default: remove those bits from an identical exception (no holes are
      // punched into wildcard exceptions, as in the kernel).
      for (const e of st.exceptions) if (same(e)) e.access &= ~ex.access;
      st.exceptions = st.exceptions.filter((e) => e.access !== 0);
    }
  }
  return st;
}

/** The v1 controller's verdict for one access (devcgroup_legacy_check_permission). */
export function v1Permits(st: DeviceState, type: number, major: number, minor: number, access: number): boolean {
  const hit = (e: DeviceException, partial: boolean) =>
    (e.type === "b" ? DEV_BLOCK : DEV_CHAR) === type &&
    (e.major === -1 || e.major === major) &&
    (e.minor === -1 || e.minor === minor) &&
    (partial ? (access & e.access) !== 0 : (access & ~e.access) === 0);
  if (st.defaultAllow) return !st.exceptions.some((e) => hit(e, true));
  return st.exceptions.some((e) => hit(e, false));
}

// ---- eBPF instructions -------------------------------------------------------------------

export interface Insn {
  code: number; // u8 opcode
  dst: number; // 4-bit register
  src: number; // 4-bit register
  off: number; // s16
  imm: number; // s32
}

// Opcodes used (class | op | source).
export const OP = {
  LDXW: 0x61, // BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
  AND32_K: 0x54, // BPF_ALU | BPF_AND | BPF_K: w_dst &= imm
  RSH32_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K: w_dst >>= imm
  MOV32_K: 0xb4, // BPF_ALU | BPF_MOV | BPF_K: w_dst = imm
  MOV32_X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X: w_dst = w_src
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K: if dst == imm goto pc+1+off
  JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  JNE_X: 0x5d, // BPF_JMP | BPF_JNE | BPF_X: if dst != src goto pc+1+off
  EXIT: 0x95, // BPF_JMP | BPF_EXIT: return r0
} as const;

const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

export function encode(insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const v = new DataView(out.buffer);
  insns.forEach((x, i) => {
    v.setUint8(i * 8, x.code);
    v.setUint8(i * 8 + 1, ((x.src & 0xf) << 4) | (x.dst & 0xf));
    v.setInt16(i * 8 + 2, x.off, true);
    v.setInt32(i * 8 + 4, x.imm, true);
  });
  return out;
}

export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % 8) throw new Error("eBPF code is not a whole number of 8-byte instructions");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    const r = v.getUint8(o + 1);
    out.push({ code: v.getUint8(o), dst: r & 0xf, src: r >> 4, off: v.getInt16(o + 2, true), imm: v.getInt32(o + 4, true) });
  }
  return out;
}

/**
 * The program for a v1 state: r2 = device type, r3 = requested access, r4 = major,
 * r5 = minor; then one block per exception, the last first, each jumping to the next block
 * on a mismatch and returning the exception's verdict on a match; then the default.
 */
export function deviceProgram(st: DeviceState): Insn[] {
  const p: Insn[] = [
    I(OP.LDXW, 2, 1, 0), // r2 = ctx->access_type
    I(OP.AND32_K, 2, 0, 0, 0xffff), // r2 = type
    I(OP.LDXW, 3, 1, 0), // r3 = ctx->access_type
    I(OP.RSH32_K, 3, 0, 0, 16), // r3 = access
    I(OP.LDXW, 4, 1, 4), // r4 = ctx->major
    I(OP.LDXW, 5, 1, 8), // r5 = ctx->minor
  ];
  const verdict = st.defaultAllow ? 0 : 1; // an exception says the opposite of the default
  for (let i = st.exceptions.length - 1; i >= 0; i--) {
    const e = st.exceptions[i]!;
    const block: Insn[] = []; // jumps with off = -1 are patched to the block's end
    block.push(I(OP.JNE_K, 2, 0, -1, e.type === "b" ? DEV_BLOCK : DEV_CHAR));
    const acc = e.access & ACC_ALL;
    if (!st.defaultAllow && acc !== ACC_ALL) {
      // allow only if (access & acc) == access
      block.push(I(OP.MOV32_X, 1, 3), I(OP.AND32_K, 1, 0, 0, acc), I(OP.JNE_X, 1, 3, -1));
    } else if (st.defaultAllow) {
      // deny if (access & acc) != 0
      block.push(I(OP.MOV32_X, 1, 3), I(OP.AND32_K, 1, 0, 0, acc), I(OP.JEQ_K, 1, 0, -1, 0));
    }
    if (e.major !== -1) block.push(I(OP.JNE_K, 4, 0, -1, e.major | 0));
    if (e.minor !== -1) block.push(I(OP.JNE_K, 5, 0, -1, e.minor | 0));
    block.push(I(OP.MOV32_K, 0, 0, 0, verdict), I(OP.EXIT));
    block.forEach((x, j) => {
      if (x.off === -1) x.off = block.length - (j + 1);
    });
    p.push(...block);
  }
  p.push(I(OP.MOV32_K, 0, 0, 0, st.defaultAllow ? 1 : 0), I(OP.EXIT));
  return p;
}

/** The v1 state and program for the lines v1 would write (deviceWrites in v1.ts). */
export function deviceFilter(lines: { allow: boolean; line: string }[]): { state: DeviceState; insns: Insn[] } {
  const state = emulateV1(lines);
  return { state, insns: deviceProgram(state) };
}
