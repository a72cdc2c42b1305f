// Plan → bytes, and the frame codec, for the control socket to runjs-init.
//
// A frame is `u32 payload length | u16 type | u16 flags | payload`; a payload is a run of
// records `u16 tag | u32 length | value`, all little-endian, strings NUL-terminated.
// Tag numbers come from protocol/protocol.json (through protocol.gen.ts); this file is the
// only TypeScript that knows the byte layout.
import type { Plan } from "../plan/types.ts";
import { PROTOCOL_VERSION, Tag, TagKind } from "./protocol.gen.ts";

const enc = new TextEncoder();

export class RecordWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(tag: number, value: Uint8Array): this {
    const head = new Uint8Array(6);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, tag, true);
    dv.setUint32(2, value.length, true);
    this.chunks.push(head, value);
    this.size += 6 + value.length;
    return this;
  }

  u32(tag: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.push(tag, b);
  }

  i32(tag: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.push(tag, b);
  }

  u64(tag: number, v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.push(tag, b);
  }

  /** A string record only when there is a string. */
  optStr(tag: number, s: string | undefined): this {
    return s === undefined ? this : this.str(tag, s);
  }

  str(tag: number, s: string): this {
    const body = enc.encode(s);
    if (body.includes(0)) throw new Error(`string for tag ${tag} contains a NUL byte`);
    const b = new Uint8Array(body.length + 1);
    b.set(body);
    return this.push(tag, b);
  }

  bytes(tag: number, v: Uint8Array): this {
    return this.push(tag, v);
  }

  list(tag: number, fill: (w: RecordWriter) => void): this {
    const w = new RecordWriter();
    fill(w);
    return this.push(tag, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

export function frame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, 0, true);
  out.set(payload, 8);
  return out;
}

/** The PLAN frame's payload: the plan as records, in the order native/proto.c decodes them. */
export function encodePlan(p: Plan): Uint8Array {
  const w = new RecordWriter();
  w.u32(Tag.VERSION, PROTOCOL_VERSION);
  w.u32(Tag.HELPER_WAITS, p.helperWaits ? 1 : 0);
  w.u32(Tag.UNSHARE_FLAGS, p.unshareFlags);
  w.u32(Tag.CGROUPNS, p.cgroupns ? 1 : 0);
  w.u32(Tag.LOOPBACK, p.loopback ? 1 : 0);
  for (const j of p.nsJoin)
    w.list(Tag.NS_JOIN, (l) => {
      if (j.name) l.str(Tag.NAME, j.name);
      l.u32(Tag.NS_TYPE, j.type).str(Tag.NS_PATH, j.path);
    });
  if (p.timeOffsets !== undefined) w.str(Tag.TIME_OFFSETS, p.timeOffsets);
  if (p.oomScoreAdj !== undefined) w.i32(Tag.OOM_SCORE_ADJ, p.oomScoreAdj);
  if (p.cpuInitial) w.bytes(Tag.CPU_INITIAL, p.cpuInitial);
  w.str(Tag.ROOTFS, p.rootfs);
  w.u32(Tag.ROOT_PROPAGATION, p.rootPropagation);
  w.u32(Tag.POST_PROPAGATION, p.postPropagation);
  for (const m of p.mounts)
    w.list(Tag.MOUNT, (l) =>
      l
        .str(Tag.NAME, m.name)
        .str(Tag.M_SOURCE, m.source)
        .str(Tag.M_TARGET, m.target)
        .str(Tag.M_FSTYPE, m.fstype)
        .u32(Tag.M_FLAGS, m.flags)
        .str(Tag.M_DATA, m.data)
        .u32(Tag.M_PROPAGATION, m.propagation)
        .u64(Tag.M_ATTR_SET, m.attrSet)
        .u64(Tag.M_ATTR_CLR, m.attrClr)
        .u32(Tag.M_MKDIR, m.mkdir)
        .u32(Tag.M_BINDRO, m.bindRemount)
        .u32(Tag.M_BIND_CLEAR, m.bindClear)
        .u32(Tag.M_COPYUP, m.copyUp ? 1 : 0)
        .u32(Tag.M_IDMAP_REC, m.idmapRecursive ? 1 : 0)
        .u32(Tag.M_KEEP_MODE, m.keepMode ? 1 : 0)
        .u32(Tag.M_EARLY, m.early ? 1 : 0)
        .u32(Tag.M_LATE, m.late ? 1 : 0)
        .optStr(Tag.M_UIDMAP, m.uidMap)
        .optStr(Tag.M_GIDMAP, m.gidMap),
    );
  for (const d of p.devices)
    w.list(Tag.DEVICE, (l) =>
      l
        .str(Tag.NAME, d.name)
        .str(Tag.D_PATH, d.path)
        .u32(Tag.D_MODE, d.mode)
        .u32(Tag.D_MAJOR, d.major)
        .u32(Tag.D_MINOR, d.minor)
        .u32(Tag.D_UID, d.uid)
        .u32(Tag.D_GID, d.gid)
        .str(Tag.D_HOST, d.host),
    );
  for (const s of p.symlinks) w.list(Tag.SYMLINK, (l) => l.str(Tag.L_TARGET, s.target).str(Tag.L_PATH, s.path));
  w.u32(Tag.NO_PIVOT, p.noPivot ? 1 : 0);
  w.u32(Tag.CHROOT, p.chroot ? 1 : 0);
  for (const r of p.remounts) w.list(Tag.REMOUNT, (l) => l.str(Tag.NAME, r.name).str(Tag.R_PATH, r.path).u32(Tag.R_FLAGS, r.flags));
  for (const m of p.masked) w.str(Tag.MASK, m);
  for (const r of p.readonly) w.str(Tag.READONLY, r);
  if (p.hostname !== undefined) w.str(Tag.HOSTNAME, p.hostname);
  if (p.domainname !== undefined) w.str(Tag.DOMAINNAME, p.domainname);
  for (const s of p.sysctls)
    w.list(Tag.SYSCTL, (l) => {
      l.str(Tag.S_PATH, s.path).str(Tag.S_VALUE, s.value);
      if (s.name) l.str(Tag.NAME, s.name);
    });
  for (const h of p.hooks)
    w.list(Tag.HOOK, (l) => {
      l.str(Tag.NAME, h.name).u32(Tag.H_PHASE, h.phase).str(Tag.H_PATH, h.path);
      for (const a of h.args) l.str(Tag.H_ARG, a);
      for (const e of h.env) l.str(Tag.H_ENV, e);
      l.u32(Tag.H_TIMEOUT, h.timeout);
      l.u32(Tag.H_INHERIT_ENV, h.inheritEnv ? 1 : 0);
    });
  w.u32(Tag.NEW_KEYRING, p.newKeyring ? 1 : 0);
  if (p.personality !== undefined) w.u32(Tag.PERSONALITY, p.personality);
  if (p.ioPriority !== undefined) w.u32(Tag.IOPRIO, p.ioPriority);
  const s = p.scheduler;
  if (s)
    w.list(Tag.SCHED, (l) =>
      l
        .u32(Tag.SC_POLICY, s.policy)
        .u64(Tag.SC_FLAGS, s.flags)
        .i32(Tag.SC_NICE, s.nice)
        .u32(Tag.SC_PRIORITY, s.priority)
        .u64(Tag.SC_RUNTIME, s.runtime)
        .u64(Tag.SC_DEADLINE, s.deadline)
        .u64(Tag.SC_PERIOD, s.period),
    );
  if (p.cpuFinal) w.bytes(Tag.CPU_FINAL, p.cpuFinal);
  w.u32(Tag.HOME_FROM_PASSWD, p.homeFromPasswd ? 1 : 0);
  if (p.mpolMode !== undefined) w.u32(Tag.MPOL_MODE, p.mpolMode);
  if (p.mpolNodes) w.bytes(Tag.MPOL_NODES, p.mpolNodes);
  for (const a of p.execAttrs) w.list(Tag.EXEC_ATTR, (l) => l.str(Tag.NAME, a.name).str(Tag.W_PATH, a.path).str(Tag.W_VALUE, a.value));
  w.u32(Tag.UID, p.uid);
  w.u32(Tag.GID, p.gid);
  for (const g of p.gids) w.u32(Tag.GIDS, g);
  w.u32(Tag.NO_SETGROUPS, p.noSetgroups ? 1 : 0);
  if (p.umask !== undefined) w.u32(Tag.UMASK, p.umask);
  if (p.caps) {
    w.u64(Tag.CAP_BOUNDING, p.caps.bounding);
    w.u64(Tag.CAP_EFFECTIVE, p.caps.effective);
    w.u64(Tag.CAP_PERMITTED, p.caps.permitted);
    w.u64(Tag.CAP_INHERITABLE, p.caps.inheritable);
    w.u64(Tag.CAP_AMBIENT, p.caps.ambient);
  }
  w.u32(Tag.NO_NEW_PRIVS, p.noNewPrivs ? 1 : 0);
  if (p.seccompBpf) w.bytes(Tag.SECCOMP_BPF, p.seccompBpf);
  w.u32(Tag.SECCOMP_FLAGS, p.seccompFlags);
  w.u32(Tag.SECCOMP_EARLY, p.seccompEarly ? 1 : 0);
  if (p.seccompListener !== undefined) w.str(Tag.SECCOMP_LISTENER, p.seccompListener);
  w.str(Tag.CWD, p.cwd);
  for (const e of p.env) w.str(Tag.ENV, e);
  for (const a of p.args) w.str(Tag.ARG, a);
  if (p.fifo !== undefined) w.str(Tag.FIFO, p.fifo);
  w.u32(Tag.FIFO_BY_PROC, p.fifoByProc ? 1 : 0);
  if (p.cgroup2Dir !== undefined) w.str(Tag.CGROUP2_DIR, p.cgroup2Dir);
  if (p.consoleFd !== undefined) w.u32(Tag.CONSOLE_FD, p.consoleFd);
  w.u32(Tag.CONSOLE_ROWS, p.consoleRows);
  w.u32(Tag.CONSOLE_COLS, p.consoleCols);
  w.u32(Tag.CONSOLE_NO_ONLCR, p.consoleNoOnlcr ? 1 : 0);
  w.u32(Tag.DEV_CONSOLE, p.devConsole ? 1 : 0);
  return w.finish();
}

/** The CONTINUE payload: state JSON for in-container hooks, and for a seccomp agent. */
export function encodeContinue(st: { creating: string; created: string; seccompState?: string }): Uint8Array {
  const w = new RecordWriter().str(Tag.STATE_CREATING, st.creating).str(Tag.STATE_CREATED, st.created);
  if (st.seccompState !== undefined) w.str(Tag.SECCOMP_STATE, st.seccompState);
  return w.finish();
}

/** A decoded record value: numbers for u32/i32, bigint for u64, strings, raw bytes, or a nested list. */
export type RecordValue = number | bigint | string | Uint8Array | Record[];
export interface Record {
  tag: number;
  value: RecordValue;
}

const dec = new TextDecoder();

/** Decode a payload into records, checking every length against the buffer. */
export function decodeRecords(buf: Uint8Array): Record[] {
  const out: Record[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 6 > buf.length) throw new Error("protocol: truncated record header");
    const tag = dv.getUint16(off, true);
    const len = dv.getUint32(off + 2, true);
    off += 6;
    if (off + len > buf.length) throw new Error(`protocol: record ${tag} overruns its frame`);
    const v = buf.subarray(off, off + len);
    off += len;
    const kind = TagKind[tag];
    const vdv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    switch (kind) {
      case "u32":
        if (len !== 4) throw new Error(`protocol: record ${tag} has length ${len}, want 4`);
        out.push({ tag, value: vdv.getUint32(0, true) });
        break;
      case "i32":
        if (len !== 4) throw new Error(`protocol: record ${tag} has length ${len}, want 4`);
        out.push({ tag, value: vdv.getInt32(0, true) });
        break;
      case "u64":
        if (len !== 8) throw new Error(`protocol: record ${tag} has length ${len}, want 8`);
        out.push({ tag, value: vdv.getBigUint64(0, true) });
        break;
      case "str":
        if (len === 0 || v[len - 1] !== 0) throw new Error(`protocol: string record ${tag} is not NUL-terminated`);
        out.push({ tag, value: dec.decode(v.subarray(0, len - 1)) });
        break;
      case "list":
        out.push({ tag, value: decodeRecords(v) });
        break;
      case "bytes":
        out.push({ tag, value: v.slice() });
        break;
      default:
        throw new Error(`protocol: unknown tag ${tag}`);
    }
  }
  return out;
}

/** First value of a tag among records, or undefined. */
export function field<T extends RecordValue>(recs: Record[], tag: number): T | undefined {
  for (const r of recs) if (r.tag === tag) return r.value as T;
  return undefined;
}
