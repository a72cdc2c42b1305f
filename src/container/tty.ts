// The caller's terminal, bridged to a container's pty (attached `run` and `exec` with a
// terminal and no --console-socket).
//
// The container's process has the pty's slave as its terminal; we hold the master. Bytes the
// user types go from our stdin to the master, the container's output from the master to our
// stdout. Our own terminal goes into raw mode while we do it: no echo or line editing here
// (the container's line discipline does both), and Ctrl-C, Ctrl-Z and Ctrl-\ arrive as bytes
// that the container's terminal turns into signals for its foreground process group. A
// SIGWINCH for us (the user resized the window) becomes a TIOCSWINSZ on the master, which the
// kernel passes on to the container as its own SIGWINCH. The old terminal settings come back
// when the bridge ends, whatever ends it.
//
// The output is drained after the process exits: the master reads EIO once every slave fd
// is closed, which happens when the container's last process is gone.
import { isatty, makeRaw, setWinsize, winsize } from "../sys/libc.ts";

export interface Bridge {
  /** Copy until the master reports EIO (or `grace` ms after `exited` resolves); restore. */
  finish(exited: Promise<unknown>, graceMs?: number): Promise<void>;
  /** Undo raw mode now (idempotent). */
  restore(): void;
}

export async function bridgeTerminal(master: number): Promise<Bridge> {
  const fs = await import("node:fs");
  let restoreMode: (() => void) | undefined;
  const tty = isatty(0);
  if (tty) {
    const ws = winsize(0);
    if (ws) setWinsize(master, ws[0], ws[1]);
    restoreMode = makeRaw(0);
  }
  const restore = () => {
    restoreMode?.();
    restoreMode = undefined;
  };
  process.on("exit", restore);
  const onWinch = () => {
    const ws = winsize(0);
    if (ws) setWinsize(master, ws[0], ws[1]);
  };
  if (tty) process.on("SIGWINCH", onWinch);

  const out = fs.createReadStream("", { fd: master, autoClose: false, highWaterMark: 65536 });
  let ended!: () => void;
  const outDone = new Promise<void>((r) => (ended = r));
  out.on("data", (d) => {
    try {
      fs.writeSync(1, d as Buffer);
    } catch {
      /* our stdout is gone: keep draining so the container does not block */
    }
  });
  out.on("error", () => ended()); // EIO: no slave left open
  out.on("end", () => ended());

  const input = fs.createReadStream("", { fd: 0, autoClose: false });
  input.on("data", (d) => {
    try {
      fs.writeSync(master, d as Buffer);
    } catch {
      /* the container closed its terminal */
    }
  });
  input.on("error", () => {});

  return {
    restore,
    async finish(exited, graceMs = 500) {
      try {
        await exited;
        let timer: Timer | undefined;
        await Promise.race([outDone, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      } finally {
        if (tty) process.off("SIGWINCH", onWinch);
        input.destroy();
        out.destroy();
        restore();
        try {
          fs.closeSync(master);
        } catch {
          /* the stream closed it already */
        }
      }
    },
  };
}
