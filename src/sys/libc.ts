// Thin bun:ffi bindings to the few libc calls Bun itself does not offer.
//
// Bun has no socketpair, mkfifo, flock, kill-with-errno or non-blocking fifo reads, and the
// runtime needs all of them on the hot path of create/start. Each binding is a one-line
// wrapper that returns the raw result and reads errno on failure; policy lives elsewhere.
// The library is opened on first use, so commands that never call into libc never pay for it,
// and once: this is the only handle on libc, shared by the other modules of src/sys (the *at
// calls of fsat.ts, bpf(2), libseccomp's memfd), and binding every symbol costs no more than
// binding a few (~0.3 ms either way here).
import { dlopen, FFIType, ptr, read as readMem, type Pointer } from "bun:ffi";
import { AF_UNIX, EAGAIN, EINTR, SOCK_CLOEXEC, SOCK_STREAM, TIOCGWINSZ, TIOCSWINSZ } from "./constants.ts";

export * from "./constants.ts";

const { i32, i64, u64, u32, ptr: P, cstring } = FFIType;

let lib: ReturnType<typeof open> | undefined;

function open() {
  return dlopen("libc.so.6", {
    socketpair: { args: [i32, i32, i32, P], returns: i32 },
    read: { args: [i32, P, u64], returns: i64 },
    write: { args: [i32, P, u64], returns: i64 },
    close: { args: [i32], returns: i32 },
    open: { args: [P, i32, u32], returns: i32 },
    mkfifo: { args: [P, u32], returns: i32 },
    chmod: { args: [P, u32], returns: i32 },
    flock: { args: [i32, i32], returns: i32 },
    kill: { args: [i32, i32], returns: i32 },
    poll: { args: [P, u64, i32], returns: i32 },
    __errno_location: { args: [], returns: P },
    strerror: { args: [i32], returns: cstring },
    getpid: { args: [], returns: i32 },
    access: { args: [P, i32], returns: i32 },
    mkdir: { args: [P, u32], returns: i32 },
    rmdir: { args: [P], returns: i32 },
    unlink: { args: [P], returns: i32 },
    rename: { args: [P, P], returns: i32 },
    realpath: { args: [P, P], returns: P },
    readlink: { args: [P, P, u64], returns: i64 },
    socket: { args: [i32, i32, i32], returns: i32 },
    shutdown: { args: [i32, i32], returns: i32 },
    connect: { args: [i32, P, u32], returns: i32 },
    bind: { args: [i32, P, u32], returns: i32 },
    listen: { args: [i32, i32], returns: i32 },
    recvmsg: { args: [i32, P, i32], returns: i64 },
    sendmsg: { args: [i32, P, i32], returns: i64 },
    prlimit: { args: [i32, i32, P, P], returns: i32 },
    // syscall(2) for the calls libc has no wrapper for: the number, then up to four
    // arguments, pointers passed as ptr() numbers
    syscall: { args: [i64, i64, i64, i64, i64], returns: i64 },
    ioctl: { args: [i32, u64, P], returns: i32 },
    tcgetattr: { args: [i32, P], returns: i32 },
    tcsetattr: { args: [i32, i32, P], returns: i32 },
    cfmakeraw: { args: [P], returns: FFIType.void },
    isatty: { args: [i32], returns: i32 },
    prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
    waitpid: { args: [i32, P, i32], returns: i32 },
    mount: { args: [P, P, P, u64, P], returns: i32 },
    umount2: { args: [P, i32], returns: i32 },
    memfd_create: { args: [P, u32], returns: i32 },
    lseek: { args: [i32, i64, i32], returns: i64 },
    // the *at calls of fsat.ts
    openat: { args: [i32, P, i32, u32], returns: i32 },
    mkdirat: { args: [i32, P, u32], returns: i32 },
    mknodat: { args: [i32, P, u32, u64], returns: i32 },
    symlinkat: { args: [P, i32, P], returns: i32 },
    linkat: { args: [i32, P, i32, P, i32], returns: i32 },
    unlinkat: { args: [i32, P, i32], returns: i32 },
    fchown: { args: [i32, u32, u32], returns: i32 },
    fchownat: { args: [i32, P, u32, u32, i32], returns: i32 },
    fchmod: { args: [i32, u32], returns: i32 },
    fchmodat: { args: [i32, P, u32, i32], returns: i32 },
    fsetxattr: { args: [i32, P, P, u64, i32], returns: i32 },
    lsetxattr: { args: [P, P, P, u64, i32], returns: i32 },
    lgetxattr: { args: [P, P, P, u64], returns: i64 },
    llistxattr: { args: [P, P, u64], returns: i64 },
    lremovexattr: { args: [P, P], returns: i32 },
    futimens: { args: [i32, P], returns: i32 },
    utimensat: { args: [i32, P, P, i32], returns: i32 },
    readlinkat: { args: [i32, P, P, u64], returns: i64 },
    geteuid: { args: [], returns: u32 },
    execve: { args: [P, P, P], returns: i32 },
  });
}

function L() {
  return (lib ??= open()).symbols;
}

let errnoPtr: Pointer | undefined;

/** errno of the last failed call (the main thread's errno lives at a fixed address). */
export function errno(): number {
  return readMem.i32((errnoPtr ??= L().__errno_location() as Pointer), 0);
}

export class SysError extends Error {
  constructor(
    public op: string,
    public errno: number,
    public path?: string,
  ) {
    super(`${op}${path ? " " + path : ""}: ${strerror(errno)}`);
  }
}

export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF",
  10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY", 17: "EEXIST",
  18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
  26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE", 34: "ERANGE",
  36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA", 71: "EPROTO", 75: "EOVERFLOW",
  95: "EOPNOTSUPP", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
};

export function strerror(e: number): string {
  const s = String(L().strerror(e));
  return s.charAt(0).toLowerCase() + s.slice(1);
}


export function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  if (L().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptr(fds)) < 0) throw new SysError("socketpair", errno());
  return [fds[0]!, fds[1]!];
}

export const SHUT_WR = 1;

/** shutdown(2): no more writes on this end (the peer reads EOF); 0 or -errno. */
export function shutdown(fd: number, how: number): number {
  return L().shutdown(fd, how) < 0 ? -errno() : 0;
}

/** read(2); returns the byte count (0 at EOF), or -errno. */
export function read(fd: number, buf: Uint8Array, off = 0, len = buf.length - off): number {
  for (;;) {
    const n = Number(L().read(fd, ptr(buf, off), len));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const n = Number(L().write(fd, ptr(buf, off), buf.length - off));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new SysError("write", e);
    }
    off += n;
  }
}

export function close(fd: number): void {
  L().close(fd);
}

export function openFile(path: string, flags: number, mode = 0): number {
  const fd = L().open(ptr(cstr(path)), flags, mode);
  if (fd < 0) throw new SysError("open", errno(), path);
  return fd;
}

export function mkfifo(path: string, mode: number): void {
  if (L().mkfifo(ptr(cstr(path)), mode) < 0) throw new SysError("mkfifo", errno(), path);
  // mkfifo honours the umask; the fifo must be writable by the container's user.
  if (L().chmod(ptr(cstr(path)), mode) < 0) throw new SysError("chmod", errno(), path);
}

/** flock(2) on an open fd; returns false if LOCK_NB was given and the lock is held. */
export function flock(fd: number, op: number): boolean {
  for (;;) {
    if (L().flock(fd, op) === 0) return true;
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return false;
    throw new SysError("flock", e);
  }
}

/** kill(2); returns 0 or -errno. */
export function kill(pid: number, sig: number): number {
  return L().kill(pid, sig) === 0 ? 0 : -errno();
}

/** poll(2) on one fd; returns revents, 0 on timeout. */
export function poll1(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Int32Array([fd, events]); // struct pollfd { int fd; short events; short revents; }
  const n = L().poll(ptr(pfd), 1, timeoutMs);
  if (n < 0) {
    const e = errno();
    if (e === EINTR) return 0;
    throw new SysError("poll", e);
  }
  return n === 0 ? 0 : (pfd[1]! >>> 16) & 0xffff;
}

/** A sockaddr_un for path, and its length; throws SysError (op) if the path does not fit. */
function unixAddress(path: string, op: string): [Uint8Array, number] {
  const name = new TextEncoder().encode(path);
  if (name.length >= 108) throw new SysError(op, 36, path); // ENAMETOOLONG: sun_path is 108 bytes
  const sa = new Uint8Array(110);
  sa[0] = AF_UNIX;
  sa.set(name, 2);
  return [sa, 2 + name.length + 1];
}

/** A stream socket connected to the unix socket at path; throws SysError naming the path. */
export function connectUnix(path: string): number {
  const [sa, len] = unixAddress(path, "connect");
  const fd = L().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno());
  for (;;) {
    if (L().connect(fd, ptr(sa), len) === 0) return fd;
    const e = errno();
    if (e === EINTR) continue;
    L().close(fd);
    throw new SysError("connect", e, path);
  }
}

/**
 * A unix stream socket bound to path and listening (socket, bind, listen): connections are
 * queued by the kernel from now on, before anyone accepts them. Not close-on-exec: it is
 * made to be handed to a child. Throws SysError.
 */
export function listenUnix(path: string): number {
  const [sa, len] = unixAddress(path, "bind");
  const fd = L().socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) throw new SysError("socket", errno());
  if (L().bind(fd, ptr(sa), len) < 0 || L().listen(fd, 128) < 0) {
    const e = errno();
    L().close(fd);
    throw new SysError("listen", e, path);
  }
  return fd;
}

const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_NOSIGNAL = 0x4000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/**
 * Receive one message carrying a file descriptor (SCM_RIGHTS), as runc's console socket
 * protocol sends the pty master. Returns the fd (close-on-exec) and the message text; fd -1
 * at EOF or when the message carried none.
 */
export function recvFd(sock: number): { fd: number; text: string } {
  const data = new Uint8Array(4096);
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = new BigUint64Array(4); // cmsghdr (len, level|type) + one int, aligned
  const msg = new BigUint64Array(7); // struct msghdr on 64-bit Linux
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  msg[4] = BigInt(ptr(control));
  msg[5] = BigInt(control.byteLength);
  for (;;) {
    const n = Number(L().recvmsg(sock, ptr(msg), MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new SysError("recvmsg", e);
    }
    const c = new DataView(control.buffer);
    const clen = Number(msg[5]!);
    const ok = clen >= 20 && c.getInt32(8, true) === SOL_SOCKET && c.getInt32(12, true) === SCM_RIGHTS;
    return { fd: ok ? c.getInt32(16, true) : -1, text: new TextDecoder().decode(data.subarray(0, n)) };
  }
}

/** Send fd over a connected unix socket (SCM_RIGHTS) with `text` as the message's bytes. */
export function sendFd(sock: number, fd: number, text: string): void {
  const data = new TextEncoder().encode(text || " ");
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  const control = new BigUint64Array(3); // cmsghdr (len, level|type) + one int, aligned to 24
  const c = new DataView(control.buffer);
  c.setBigUint64(0, 20n, true); // CMSG_LEN(sizeof(int))
  c.setInt32(8, SOL_SOCKET, true);
  c.setInt32(12, SCM_RIGHTS, true);
  c.setInt32(16, fd, true);
  const msg = new BigUint64Array(7);
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  msg[4] = BigInt(ptr(control));
  msg[5] = BigInt(control.byteLength);
  for (;;) {
    if (Number(L().sendmsg(sock, ptr(msg), MSG_NOSIGNAL)) >= 0) return;
    const e = errno();
    if (e !== EINTR) throw new SysError("sendmsg", e);
  }
}

/** prlimit(2): set both limits of a resource of another process; 0 or -errno. */
export function prlimit(pid: number, resource: number, soft: bigint, hard: bigint): number {
  const rl = new BigUint64Array([soft, hard]);
  return L().prlimit(pid, resource, ptr(rl), null) < 0 ? -errno() : 0;
}

const SYS_PIDFD_OPEN = 434;

/** A pidfd for pid (pidfd_open(2)); throws SysError. */
export function pidfdOpen(pid: number): number {
  const fd = Number(L().syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0));
  if (fd < 0) throw new SysError("pidfd_open", errno());
  return fd;
}


/** mount(2); 0 or -errno. */
export function mount(source: string, target: string, fstype: string, flags: number, data?: string): number {
  const d = data === undefined ? null : ptr(cstr(data));
  return L().mount(ptr(cstr(source)), ptr(cstr(target)), ptr(cstr(fstype)), BigInt(flags), d) < 0 ? -errno() : 0;
}

/** umount2(2); 0 or -errno. */
export function umount2(target: string, flags: number): number {
  return L().umount2(ptr(cstr(target)), flags) < 0 ? -errno() : 0;
}

/** ioctl(2) with a pointer argument; returns 0 or -errno. */
export function ioctl(fd: number, req: number, arg: Uint8Array | Uint16Array | Int32Array): number {
  return L().ioctl(fd, req, ptr(arg)) < 0 ? -errno() : 0;
}


/** The window size of a terminal as [rows, cols], or undefined if fd is not one. */
export function winsize(fd: number): [number, number] | undefined {
  const ws = new Uint16Array(4);
  return ioctl(fd, TIOCGWINSZ, ws) === 0 ? [ws[0]!, ws[1]!] : undefined;
}

export function setWinsize(fd: number, rows: number, cols: number): number {
  return ioctl(fd, TIOCSWINSZ, new Uint16Array([rows, cols, 0, 0]));
}

export function isatty(fd: number): boolean {
  return L().isatty(fd) === 1;
}

/**
 * Put a terminal in raw mode (no echo, no line editing, no signals from keys: they go to the
 * container's terminal instead); returns a function that restores the old settings.
 */
export function makeRaw(fd: number): () => void {
  const old = new Uint8Array(64); // struct termios is 60 bytes
  if (L().tcgetattr(fd, ptr(old)) < 0) throw new SysError("tcgetattr", errno());
  const raw = old.slice();
  L().cfmakeraw(ptr(raw));
  if (L().tcsetattr(fd, 0, ptr(raw)) < 0) throw new SysError("tcsetattr", errno());
  return () => void L().tcsetattr(fd, 0, ptr(old));
}

/**
 * Reap a child that has exited or is about to (waitpid with WNOHANG, for at most ms
 * milliseconds); true if it was reaped. A child we leave unreaped is reparented to the host's
 * init as a zombie when we exit, and waits there until that gets round to it.
 */
export function reap(pid: number, ms = 50): boolean {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = L().waitpid(pid, null, 1 /* WNOHANG */);
    if (r === pid) return true;
    if (r < 0 && errno() !== EINTR) return false; // ECHILD: someone reaped it already
    if (Date.now() >= deadline) return false;
    Bun.sleepSync(1);
  }
}

const PR_SET_CHILD_SUBREAPER = 36;

/**
 * Become a child subreaper (prctl(2)): orphans among our descendants (a container's init,
 * once the runjs-init that forked it exits) are reparented to us instead of the host's init,
 * so that we are told of their exits (SIGCHLD) and collect their statuses.
 */
export function setChildSubreaper(): void {
  if (L().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) < 0) throw new SysError("prctl(PR_SET_CHILD_SUBREAPER)", errno());
}

/**
 * Collect a child that has exited, without waiting (waitpid with WNOHANG): its status as a
 * shell reports it (the exit code, or 128 + the signal that killed it), or undefined if it
 * is still running or is not our child.
 */
export function collect(pid: number): number | undefined {
  const st = new Int32Array(1);
  for (;;) {
    const r = L().waitpid(pid, ptr(st), 1 /* WNOHANG */);
    if (r === pid) {
      const s = st[0]!;
      return (s & 0x7f) === 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
    }
    if (r < 0 && errno() === EINTR) continue;
    return undefined;
  }
}

/** The symbols, for src/sys/fs.ts. */
export function symbols() {
  return L();
}

export function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

/**
 * execve(2): become `path` with these arguments and our environment. Returns only on failure
 * (then -errno); every other thread of this process ends with the exec, as it must.
 */
export function execve(path: string, argv: string[]): number {
  const keep: Uint8Array[] = [];
  const array = (list: string[]) => {
    const a = new BigUint64Array(list.length + 1);
    list.forEach((x, i) => {
      const b = cstr(x);
      keep.push(b);
      a[i] = BigInt(ptr(b));
    });
    return a;
  };
  const env = array(Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ""}`));
  const args = array(argv);
  const file = cstr(path);
  const r = L().execve(file, args, env);
  void keep;
  return r < 0 ? -errno() : r;
}
