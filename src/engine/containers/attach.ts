// `container attach`: the caller's terminal joined to a detached container's (-d -t), which
// its monitor keeps (native/monitor.c). The monitor serves DIR/attach.sock: what the
// container's terminal writes comes as plain bytes; what we send goes in frames — a type
// byte, a 16-bit big-endian length, the payload — type 0 for input, type 1 for the window
// size (rows, columns), sent on connect and on each SIGWINCH. Our terminal is raw meanwhile,
// as for an attached run (src/container/tty.ts). The detach keys (Docker's ctrl-p ctrl-q,
// or --detach-keys) leave the container running; otherwise attach lasts until the container
// ends, and returns its exit status.
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { isatty, makeRaw, winsize } from "../../sys/libc.ts";
import type { Store } from "../images/store.ts";
import { dirOf, findContainer, load } from "./records.ts";

/** --detach-keys "ctrl-p,ctrl-q": the bytes that detach (Docker's syntax: ctrl-X or one character). */
export function parseDetachKeys(s: string): number[] {
  return s.split(",").map((k) => {
    const m = /^ctrl-([a-z@[\\\]^_])$/i.exec(k);
    if (m) return m[1]!.toUpperCase().charCodeAt(0) & 0x1f;
    if (k.length === 1) return k.charCodeAt(0);
    throw new UsageError(`--detach-keys ${JSON.stringify(s)}: a comma-separated list of ctrl-<letter> or single characters`);
  });
}

const frame = (type: number, payload: Uint8Array) => {
  const out = new Uint8Array(3 + payload.length);
  out[0] = type;
  out[1] = payload.length >> 8;
  out[2] = payload.length & 255;
  out.set(payload, 3);
  return out;
};

/** Attach until the container ends (its exit status) or the detach keys are typed ("detached"). */
export async function attachContainer(store: Store, key: string, detachKeys: number[]): Promise<number | "detached"> {
  const c = findContainer(store, key);
  if (c.status !== "running" && c.status !== "restarting") throw new UsageError(`container ${c.name} is not running`);
  if (!c.tty) throw new UsageError(`container ${c.name} has no terminal (it was not run with -d -t): its output is in container logs -f`);
  const dirFd = openSync(dirOf(store, c.id), "r");
  let sock: Awaited<ReturnType<typeof Bun.connect>>;
  let ended!: () => void;
  const closed = new Promise<void>((r) => (ended = r));
  try {
    sock = await Bun.connect({
      unix: join(`/proc/self/fd/${dirFd}`, "attach.sock"),
      socket: {
        data(_s, d) {
          process.stdout.write(d);
        },
        close: () => ended(),
        error: () => ended(),
      },
    });
  } catch (e: any) {
    throw new UsageError(`container ${c.name}: cannot reach its terminal: ${e.message}`);
  } finally {
    closeSync(dirFd);
  }
  const tty = isatty(0);
  const restore = tty ? makeRaw(0) : undefined;
  const size = () => {
    const ws = tty ? winsize(0) : undefined;
    if (ws) sock.write(frame(1, new Uint8Array([ws[0] >> 8, ws[0] & 255, ws[1] >> 8, ws[1] & 255])));
  };
  size();
  process.on("SIGWINCH", size);
  let detached = false;
  let matched = 0;
  const onData = (d: Buffer) => {
    // the detach keys, in order, leave; a partial match is sent on once it fails
    const pass: number[] = [];
    for (const b of d) {
      if (b === detachKeys[matched]) {
        if (++matched === detachKeys.length) {
          detached = true;
          sock.end();
          return;
        }
        continue;
      }
      pass.push(...detachKeys.slice(0, matched), b);
      matched = 0;
    }
    for (let off = 0; off < pass.length; off += 65535) sock.write(frame(0, new Uint8Array(pass.slice(off, off + 65535))));
  };
  process.stdin.on("data", onData);
  process.stdin.resume();
  try {
    await closed;
  } finally {
    process.off("SIGWINCH", size);
    process.stdin.off("data", onData);
    process.stdin.pause();
    restore?.();
  }
  if (detached) return "detached";
  // the monitor closes the socket when the container has ended: its status, once recorded
  for (let i = 0; i < 500; i++) {
    const r = load(store, c.id);
    if (r.status === "exited") return r.exitCode ?? 0;
    await Bun.sleep(10);
  }
  return load(store, c.id).exitCode ?? 0;
}
