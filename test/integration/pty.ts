// A console-socket receiver for the tests, like runc's recvtty: listen on a unix socket,
// accept the runtime's connection, take the pty master it sends (SCM_RIGHTS), then type into
// it and read the container's terminal output back. Everything is a blocking libc call with a
// poll timeout, so a test that goes wrong fails with what it saw instead of hanging.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { close, poll1, read, recvFd, setWinsize, writeAll } from "../../src/sys/libc.ts";

const { i32, u32, ptr: P } = FFIType;
const lib = dlopen("libc.so.6", {
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, P, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  accept4: { args: [i32, P, P, i32], returns: i32 },
  posix_openpt: { args: [i32], returns: i32 },
  grantpt: { args: [i32], returns: i32 },
  unlockpt: { args: [i32], returns: i32 },
  ptsname: { args: [i32], returns: FFIType.cstring },
  open: { args: [P, i32], returns: i32 },
}).symbols;

/** A pty pair made here, for running runjs itself on a terminal: [master, slave]. */
export function openPty(): [number, number] {
  const m = lib.posix_openpt(2 | 0o400 | 0o2000000); // O_RDWR | O_NOCTTY | O_CLOEXEC
  if (m < 0 || lib.grantpt(m) < 0 || lib.unlockpt(m) < 0) throw new Error("posix_openpt failed");
  const name = String(lib.ptsname(m));
  const s = lib.open(ptr(new TextEncoder().encode(name + "\0")), 2 | 0o400 | 0o2000000);
  if (s < 0) throw new Error(`open ${name} failed`);
  return [m, s];
}

const POLLIN = 1;
const SOCK_CLOEXEC = 0o2000000;

export class ConsoleListener {
  readonly fd: number;
  constructor(readonly path: string) {
    const name = new TextEncoder().encode(path);
    const sa = new Uint8Array(110);
    sa[0] = 1; // AF_UNIX
    sa.set(name, 2);
    this.fd = lib.socket(1, 1 | SOCK_CLOEXEC, 0);
    if (this.fd < 0 || lib.bind(this.fd, ptr(sa), 2 + name.length + 1) < 0 || lib.listen(this.fd, 4) < 0)
      throw new Error(`console socket ${path}: cannot listen`);
  }

  /** Accept one connection and receive the master it carries. */
  receiveMaster(timeoutMs = 10000): { master: number; text: string } {
    if (!(poll1(this.fd, POLLIN, timeoutMs) & POLLIN)) throw new Error("no connection on the console socket");
    const conn = lib.accept4(this.fd, null, null, SOCK_CLOEXEC);
    if (conn < 0) throw new Error("accept failed");
    try {
      if (!(poll1(conn, POLLIN, timeoutMs) & POLLIN)) throw new Error("no message on the console socket");
      const { fd, text } = recvFd(conn);
      if (fd < 0) throw new Error(`the console socket message carried no fd (text ${JSON.stringify(text)})`);
      return { master: fd, text };
    } finally {
      close(conn);
    }
  }

  close(): void {
    close(this.fd);
  }
}

/** A pty master the test drives. */
export class Terminal {
  private seen = "";
  constructor(readonly fd: number) {}

  type(s: string): void {
    writeAll(this.fd, new TextEncoder().encode(s));
  }

  resize(rows: number, cols: number): void {
    if (setWinsize(this.fd, rows, cols) < 0) throw new Error("TIOCSWINSZ failed");
  }

  /** Read until the output since the last match contains re; returns that output. */
  expect(re: RegExp, timeoutMs = 10000): string {
    const deadline = Date.now() + timeoutMs;
    const buf = new Uint8Array(4096);
    for (;;) {
      const m = re.exec(this.seen);
      if (m) {
        const out = this.seen.slice(0, m.index + m[0].length);
        this.seen = this.seen.slice(m.index + m[0].length);
        return out;
      }
      const left = deadline - Date.now();
      if (left <= 0 || !(poll1(this.fd, POLLIN | 0x10, left) & (POLLIN | 0x10)))
        throw new Error(`terminal: no ${re} within ${timeoutMs} ms; saw ${JSON.stringify(this.seen)}`);
      const n = read(this.fd, buf);
      if (n <= 0) throw new Error(`terminal: closed (${n}) before ${re}; saw ${JSON.stringify(this.seen)}`);
      this.seen += new TextDecoder().decode(buf.subarray(0, n));
    }
  }

  close(): void {
    close(this.fd);
  }
}
