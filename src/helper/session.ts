// One conversation with runjs-init over its control socket.
//
// The helper is a small C program because the process that enters new namespaces must be
// single-threaded, and Bun is not. We give it a socketpair end as a file descriptor just
// above the container's own (stdio plus --preserve-fds), send it the PLAN, and then walk a
// fixed sequence of messages, each checked in order:
//
//   PLAN → | ← PIDS | PLACED → | ← HOOKS | CONTINUE → | ← READY | EOF
//
// Between the messages the caller does the runtime-side work: put the init in its cgroups
// (after PIDS), run prestart/createRuntime hooks (after HOOKS). An ERROR frame at any point
// becomes a HelperError; EOF before READY means the helper died.
//
// Reads are blocking ffi calls: create is a straight line and nothing else needs the event
// loop while it runs, which keeps the path short.
import type { Subprocess } from "bun";
import { HelperError } from "../errors.ts";
import { dirname, exists as existsSync, realpath, resolvePath as resolve } from "../sys/fs.ts";
import { close, read, reap, recvFd, socketpair, strerror, writeAll, ERRNO_NAMES } from "../sys/libc.ts";
import { decodeRecords, encodeContinue, field, frame, type Record } from "./encode.ts";
import { Frame, Tag } from "./protocol.gen.ts";

export interface SessionCallbacks {
  /** The helper forked the init: record it, put it in its cgroups (placed: forked into the
   * plan's cgroup v2 directory already). */
  pids(helper: number, init: number, placed: boolean): void;
  /** Mounts are done: run prestart and createRuntime hooks; return the state JSON for
   * in-container hooks (and the container process state for a seccomp agent, if any). */
  hooks(): { creating: string; created: string; seccompState?: string };
}

export interface SessionResult {
  proc: Subprocess;
  helperPid: number;
  initPid: number;
}

const frameNames = Object.fromEntries(Object.entries(Frame).map(([k, v]) => [v, k]));

class Conn {
  private buf = new Uint8Array(65536);
  private len = 0;
  constructor(private fd: number) {}

  /** Next frame, or null at EOF. */
  next(): { type: number; payload: Uint8Array } | null {
    for (;;) {
      if (this.len >= 8) {
        const dv = new DataView(this.buf.buffer, 0, this.len);
        const plen = dv.getUint32(0, true);
        if (plen > 16 << 20) throw new Error("runjs-init: frame too large");
        if (this.len >= 8 + plen) {
          const type = dv.getUint16(4, true);
          const payload = this.buf.slice(8, 8 + plen);
          this.buf.copyWithin(0, 8 + plen, this.len);
          this.len -= 8 + plen;
          return { type, payload };
        }
        if (this.buf.length < 8 + plen) {
          const b = new Uint8Array(8 + plen);
          b.set(this.buf.subarray(0, this.len));
          this.buf = b;
        }
      }
      const n = read(this.fd, this.buf, this.len);
      if (n < 0) throw new Error(`runjs-init: read control socket: ${strerror(-n)}`);
      if (n === 0) {
        if (this.len) throw new Error("runjs-init: control socket closed in the middle of a frame");
        return null;
      }
      this.len += n;
    }
  }

  send(type: number, payload?: Uint8Array): void {
    writeAll(this.fd, frame(type, payload));
  }
}

/** runjs-init: beside the runjs executable (installed), or in the source tree's bin/. */
export function helperPath(): string {
  const candidates = [
    `${dirname(realpath(process.execPath))}/runjs-init`,
    resolve(import.meta.dir, "../../bin/runjs-init"),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`runjs-init not found (looked in ${candidates.join(", ")}); run the build first`);
}

/** The pty master runjs-init sent over a socketpair (an attached run or exec with a terminal). */
export function receiveMaster(sock: number): number {
  const { fd } = recvFd(sock);
  if (fd < 0) throw new Error("runjs-init sent no pty master");
  return fd;
}

function helperError(recs: Record[]): HelperError {
  const errno = field<number>(recs, Tag.ERR_ERRNO) ?? 0;
  const msg = field<string>(recs, Tag.ERR_MSG);
  const name = ERRNO_NAMES[errno];
  const detail = msg || (errno ? strerror(errno) + (name ? ` (${name})` : "") : "failed");
  return new HelperError(
    errno,
    field<string>(recs, Tag.ERR_STEP) ?? "init",
    field<string>(recs, Tag.ERR_OP) ?? "",
    field<string>(recs, Tag.ERR_PATH) ?? "",
    detail,
  );
}

export interface SessionOptions {
  /** The encoded plan: the PLAN frame's payload (encodePlan). */
  plan: Uint8Array;
  /** How many fds after stdio (3..3+N-1) pass to the container. */
  preserve: number;
  /** Fds that follow the control socket, for the helper's own use (the console socket first). */
  extraFds?: number[];
  /** The helper stays as the init's parent (an attached run or exec). */
  waits?: boolean;
  /** The container's standard input, output and error (fds); default: the caller's own. */
  stdio?: [number, number, number];
  /** Told the helper's subprocess as soon as it exists, so that a failure can kill it. */
  onSpawn(proc: Subprocess): void;
}

/** A runjs-init started before its plan is ready, and our end of its control socket. */
export interface Spawned {
  proc: Subprocess;
  mine: number;
}

/**
 * Start runjs-init, which then execs and re-execs itself from a sealed copy and waits for its
 * PLAN: done first, the caller validates and compiles meanwhile (create overlaps the two).
 * prime: a cgroup.procs file runjs-init first moves itself into, the cgroup it is already in
 * (cgroups/prime.ts says why).
 */
export function spawnHelper(o: Pick<SessionOptions, "preserve" | "extraFds" | "stdio"> & { prime?: string }): Spawned {
  const { preserve, extraFds = [] } = o;
  const [mine, theirs] = socketpair();
  const ctrl = 3 + preserve;
  const stdio: any = o.stdio ? [...o.stdio] : ["inherit", "inherit", "inherit"];
  for (let i = 0; i < preserve; i++) stdio.push(3 + i);
  stdio.push(theirs, ...extraFds);
  try {
    return { proc: Bun.spawn([helperPath(), "init", String(ctrl), ...(o.prime ? [o.prime] : [])], { stdio, argv0: "runjs-init" }), mine };
  } catch (e) {
    close(mine);
    throw e;
  } finally {
    close(theirs);
  }
}

/** A helper that never got its plan (a check failed meanwhile): it has made nothing; kill and reap it. */
export function abandonHelper(s: Spawned): void {
  s.proc.kill("SIGKILL");
  close(s.mine);
  reap(s.proc.pid);
}

/**
 * Run the create conversation with runjs-init. Throws HelperError/Error; the caller cleans up
 * using the pids it was given through `pids` and the subprocess it was given through `onSpawn`.
 */
export function runSession(o: SessionOptions & { spawned?: Spawned }, cb: SessionCallbacks): SessionResult {
  const { plan, waits = false, onSpawn } = o;
  const { proc, mine } = o.spawned ?? spawnHelper(o);
  onSpawn(proc);
  let pids: { helperPid: number; initPid: number };
  try {
    pids = converse(mine, plan, cb, proc.pid);
  } finally {
    close(mine);
  }
  // A helper that does not wait for the init exited right after PIDS: reap it now, as a
  // parent should (our own exit would leave it to the host's init as a zombie).
  if (!waits) reap(proc.pid);
  return { proc, ...pids };
}

/**
 * runjs's side of the conversation on the control socket `fd`, the phases in their fixed
 * order: PLAN → | ← PIDS | PLACED → | ← HOOKS | CONTINUE → | ← READY | EOF. An ERROR frame in
 * any phase, even after READY, throws it as a HelperError; a frame out of turn or an early EOF
 * throws too. LOG frames are skipped. Returns the pids PIDS carried.
 */
export function converse(fd: number, plan: Uint8Array, cb: SessionCallbacks, helperPid = 0): { helperPid: number; initPid: number } {
  const conn = new Conn(fd);
  conn.send(Frame.PLAN, plan);
  const expect = (want: number): Record[] => {
    const f = conn.next();
    if (!f) throw new Error(`runjs-init exited before ${frameNames[want]}`);
    if (f.type === Frame.LOG) return expect(want); // not used for anything yet: skip it
    const recs = decodeRecords(f.payload);
    if (f.type === Frame.ERROR) throw helperError(recs);
    if (f.type !== want) throw new Error(`runjs-init: got ${frameNames[f.type] ?? f.type}, want ${frameNames[want]}`);
    return recs;
  };
  const pids = expect(Frame.PIDS);
  helperPid = field<number>(pids, Tag.PID_HELPER) ?? helperPid;
  const initPid = field<number>(pids, Tag.PID_INIT) ?? 0;
  cb.pids(helperPid, initPid, field<number>(pids, Tag.PID_INIT_PLACED) === 1);
  conn.send(Frame.PLACED);
  expect(Frame.HOOKS);
  const st = cb.hooks();
  conn.send(Frame.CONTINUE, encodeContinue(st));
  expect(Frame.READY);
  // After READY the init closes its end; an ERROR can still come before that.
  for (;;) {
    const f = conn.next();
    if (!f) break;
    if (f.type === Frame.ERROR) throw helperError(decodeRecords(f.payload));
  }
  return { helperPid, initPid };
}
