// A process's standard streams, as containerd hands them to a shim: paths of fifos that
// containerd has opened at its end (it reads stdout and stderr, writes stdin), "" for a
// stream the process does not get, or "file:///path" for output appended to a file.
//
// Without a terminal the process gets the fifos themselves as fds 0, 1 and 2: the kernel
// moves the bytes, and no copying goes through the shim. The fifos are opened so that no
// open blocks and the process sees end-of-file exactly when containerd is done:
//   - stdout and stderr read-write: opening a fifo for writing alone blocks (or, non-blocking,
//     fails) until a reader is there; read-write never does;
//   - stdin read-only for the process, after the shim opened it read-write first: the shim's
//     end counts as a writer, so the process does not read end-of-file before containerd has
//     opened its end, and only after CloseIO (containerd's writer is closed by then) does it.
// With a terminal the process's streams are the pty's slave, and the shim copies between the
// master and the fifos.
import { close, openFile, O_CLOEXEC, O_CREAT, O_RDONLY, O_WRONLY } from "../sys/libc.ts";

const O_RDWR = 2;
const O_APPEND = 0o2000;

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

function openOutput(path: string, what: string): number {
  if (!path) return openFile("/dev/null", O_WRONLY | O_CLOEXEC);
  if (path.startsWith("file://")) return openFile(new URL(path).pathname, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644);
  if (/^[a-z]+:\/\//.test(path)) throw new Error(`${what}: ${path}: only fifos and file:// are supported by runjs's shim`);
  return openFile(path, O_RDWR | O_CLOEXEC);
}

export class ProcessIO {
  /** What the process gets as fds 0, 1 and 2 (closed here once it has them). */
  readonly fds: [number, number, number];
  private stdinKeep?: number;
  private stdinFd?: number;
  private outFd?: number;
  private streams: { destroy(): void }[] = [];
  /** Resolves when the terminal's output has been copied out to the end. */
  drained: Promise<void> = Promise.resolve();
  master?: number;

  constructor(readonly paths: StdioPaths) {
    const opened: number[] = [];
    try {
      const track = (fd: number) => (opened.push(fd), fd);
      let stdin = track(openFile("/dev/null", O_RDONLY | O_CLOEXEC));
      if (paths.stdin) {
        this.stdinKeep = track(openFile(paths.stdin, O_RDWR | O_CLOEXEC));
        close(stdin);
        opened.splice(opened.indexOf(stdin), 1);
        stdin = track(openFile(paths.stdin, O_RDONLY | O_CLOEXEC));
      }
      const stdout = track(openOutput(paths.stdout, "stdout"));
      const stderr = paths.stderr && paths.stderr === paths.stdout ? stdout : track(openOutput(paths.stderr, "stderr"));
      if (paths.terminal) {
        // the process's streams are the pty; the shim copies stdin in and the output out
        this.stdinFd = paths.stdin ? stdin : undefined;
        this.outFd = stdout;
        this.fds = [openFile("/dev/null", O_RDONLY | O_CLOEXEC), openFile("/dev/null", O_WRONLY | O_CLOEXEC), openFile("/dev/null", O_WRONLY | O_CLOEXEC)];
        if (!paths.stdin) close(stdin);
        if (stderr !== stdout) close(stderr);
      } else this.fds = [stdin, stdout, stderr];
    } catch (e) {
      for (const fd of opened) close(fd);
      throw e;
    }
  }

  /** The process has its fds: the shim's copies go. */
  handedOver(): void {
    const seen = new Set<number>();
    for (const fd of this.fds) if (!seen.has(fd)) seen.add(fd), close(fd);
  }

  /** Copy between the terminal's master and the fifos, until the master reports EIO. */
  async attachConsole(master: number): Promise<void> {
    const fs = await import("node:fs");
    this.master = master;
    const outFd = this.outFd!;
    const out = fs.createReadStream("", { fd: master, autoClose: false, highWaterMark: 65536 });
    let ended!: () => void;
    this.drained = new Promise<void>((r) => (ended = r));
    out.on("data", (d) => {
      try {
        fs.writeSync(outFd, d as Buffer);
      } catch {
        /* nobody reads any more: keep draining so the process does not block */
      }
    });
    out.on("error", () => ended()); // EIO: no slave left open
    out.on("end", () => ended());
    this.streams.push(out);
    if (this.stdinFd !== undefined) {
      const input = fs.createReadStream("", { fd: this.stdinFd, autoClose: false });
      input.on("data", (d) => {
        try {
          fs.writeSync(master, d as Buffer);
        } catch {
          /* the terminal is gone */
        }
      });
      input.on("error", () => {});
      this.streams.push(input);
    }
  }

  /** CloseIO: the process reads end-of-file on stdin (once containerd's end is closed too). */
  closeStdin(): void {
    if (this.stdinKeep !== undefined) close(this.stdinKeep);
    this.stdinKeep = undefined;
    if (this.master !== undefined && this.stdinFd !== undefined) {
      // a terminal's end of input is its EOF character, as a user's Ctrl-D
      try {
        require("node:fs").writeSync(this.master, new Uint8Array([4]));
      } catch {
        /* gone */
      }
    }
  }

  /** Everything the shim holds for this process. */
  close(): void {
    for (const s of this.streams) s.destroy();
    this.streams = [];
    this.closeStdin();
    for (const fd of [this.stdinFd, this.outFd, this.master]) if (fd !== undefined) close(fd);
    this.stdinFd = this.outFd = this.master = undefined;
  }
}
