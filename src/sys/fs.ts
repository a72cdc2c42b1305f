// Synchronous file operations straight on libc, for the commands containerd runs often.
//
// Bun's node:fs is complete but costs about 2 ms to load, and its process.stdout about 9 ms;
// `runjs state` as a whole should cost little more than Bun's own start-up. The few calls
// the lifecycle needs (read a small file, write one atomically, mkdir, unlink, rmdir,
// rename, realpath, write to fd 1 or 2) are thin wrappers here. Each returns plainly or
// throws a SysError carrying the errno and its code (e.code, as node:fs errors do).
import { ptr, type Pointer } from "bun:ffi";
import { close, cstr, errno, ERRNO_NAMES, openFile, read, SysError, symbols, writeAll } from "./libc.ts";

const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const O_CLOEXEC = 0o2000000;
const dec = new TextDecoder();
const enc = new TextEncoder();

export class FsError extends SysError {
  code: string;
  constructor(op: string, e: number, path?: string) {
    super(op, e, path);
    this.code = ERRNO_NAMES[e] ?? `E${e}`;
  }
}

function check(r: number | bigint, op: string, path: string): void {
  if (Number(r) < 0) throw new FsError(op, errno(), path);
}

/** The whole file as text (works for /proc files, whose size is not known in advance). */
export function readText(path: string): string {
  let fd: number;
  try {
    fd = openFile(path, O_CLOEXEC);
  } catch (e: any) {
    throw new FsError("open", e.errno, path);
  }
  try {
    let buf = new Uint8Array(8192);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const b = new Uint8Array(buf.length * 2);
        b.set(buf);
        buf = b;
      }
      const n = read(fd, buf, len);
      if (n < 0) throw new FsError("read", -n, path);
      if (n === 0) break;
      len += n;
    }
    return dec.decode(buf.subarray(0, len));
  } finally {
    close(fd);
  }
}

/** Read, or undefined when the file does not exist. */
export function readTextIfExists(path: string): string | undefined {
  try {
    return readText(path);
  } catch (e: any) {
    if (e.code === "ENOENT") return undefined;
    throw e;
  }
}

function writeWith(path: string, data: string, flags: number, mode: number): void {
  let fd: number;
  try {
    fd = openFile(path, O_WRONLY | O_CLOEXEC | flags, mode);
  } catch (e: any) {
    throw new FsError("open", e.errno, path);
  }
  try {
    writeAll(fd, enc.encode(data));
  } catch (e: any) {
    throw typeof e.errno === "number" ? new FsError("write", e.errno) : e; // the caller names the file
  } finally {
    close(fd);
  }
}

export function writeText(path: string, data: string, mode = 0o644): void {
  writeWith(path, data, O_CREAT | O_TRUNC, mode);
}

/** Write to an existing file without creating it (cgroup and /proc files). */
export function writeExisting(path: string, data: string): void {
  writeWith(path, data, 0, 0);
}

export function appendText(path: string, data: string): void {
  writeWith(path, data, O_CREAT | O_APPEND, 0o644);
}

/** Write to a temporary name, then rename: readers see the old or the new file, never half. */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeText(tmp, data);
  rename(tmp, path);
}

export function exists(path: string): boolean {
  return symbols().access(ptr(cstr(path)), 0) === 0;
}

/** May this process create entries in directory path (access W_OK)? */
export function writable(path: string): boolean {
  return symbols().access(ptr(cstr(path)), 2) === 0;
}

export function mkdir(path: string, mode = 0o755): void {
  check(symbols().mkdir(ptr(cstr(path)), mode), "mkdir", path);
}

export function rmdir(path: string): void {
  check(symbols().rmdir(ptr(cstr(path))), "rmdir", path);
}

export function unlink(path: string): void {
  check(symbols().unlink(ptr(cstr(path))), "unlink", path);
}

export function rename(from: string, to: string): void {
  check(symbols().rename(ptr(cstr(from)), ptr(cstr(to))), "rename", to);
}

export function realpath(path: string): string {
  const out = new Uint8Array(4097);
  const r = symbols().realpath(ptr(cstr(path)), ptr(out)) as Pointer | null;
  if (!r) throw new FsError("realpath", errno(), path);
  return dec.decode(out.subarray(0, out.indexOf(0)));
}

export function readlink(path: string): string {
  const out = new Uint8Array(4096);
  const n = Number(symbols().readlink(ptr(cstr(path)), ptr(out), out.length));
  if (n < 0) throw new FsError("readlink", errno(), path);
  return dec.decode(out.subarray(0, n));
}

/** Write text to fd 1 or 2 (process.stdout costs ~9 ms to set up in Bun). */
export function writeFd(fd: number, text: string): void {
  try {
    writeAll(fd, enc.encode(text));
  } catch {
    /* a closed stdout must not turn into a second error */
  }
}

export const stdout = (s: string) => writeFd(1, s);
export const stderr = (s: string) => writeFd(2, s);

/** Pure path helpers (node:path costs a module load). */
export function dirname(p: string): string {
  const i = p.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? (p.startsWith("/") ? "/" : ".") : p.slice(0, i);
}

export function resolvePath(...parts: string[]): string {
  let out = "";
  for (const p of parts) out = p.startsWith("/") ? p : `${out || process.cwd()}/${p}`;
  return normalize(out.startsWith("/") ? out : `${process.cwd()}/${out}`);
}

/** Absolute, without "." and ".." components or repeated and trailing slashes. */
export function normalize(p: string): string {
  const segs: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segs.pop();
    else segs.push(s);
  }
  return "/" + segs.join("/");
}
