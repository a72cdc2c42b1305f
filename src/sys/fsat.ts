// The *at(2) system calls the layer unpacker needs, through bun:ffi.
//
// Every file of a layer is created relative to an open directory fd (mkdirat, openat,
// mknodat, symlinkat, linkat), and that directory is itself opened with openat2(2) and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS: the kernel refuses any path that leaves the layer's
// root or passes through a symbolic link, so a symlink planted earlier in a layer cannot
// redirect a later entry outside it. Ownership, mode, xattrs and times are then set on the
// created file's own fd, or with AT_SYMLINK_NOFOLLOW on (parent fd, name), never on a path
// the kernel would follow. Each binding returns the raw result or -errno; policy lives in
// src/engine/images/unpack.ts. The symbols are libc.ts's.
import { ptr } from "bun:ffi";
import { AT_SYMLINK_NOFOLLOW, EINTR, ENODATA, errno, symbols as L } from "./libc.ts";

export {
  AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, EEXIST, EINTR, EISDIR, ELOOP, ENODATA, ENOENT, ENOTDIR, ENOTSUP,
  EPERM, EXDEV, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY,
  RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, S_IFBLK, S_IFCHR, S_IFIFO,
} from "./constants.ts";
const SYS_openat2 = 437; // the same number on every architecture (new syscall table)

/** A NUL-terminated copy of a byte string (one char per byte, as tar names are kept). */
export function cpath(s: string): Buffer {
  return Buffer.from(s + "\0", "latin1");
}

const ret = (r: number | bigint): number => (Number(r) < 0 ? -errno() : Number(r));

const how = new BigUint64Array(3); // struct open_how { u64 flags; u64 mode; u64 resolve; }

/** openat2(dirfd, path, {flags, resolve}); fd or -errno. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number): number {
  how[0] = BigInt(flags);
  how[1] = 0n;
  how[2] = BigInt(resolve);
  for (;;) {
    const r = ret(L().syscall(SYS_openat2, dirfd, ptr(cpath(path)), ptr(how), 24));
    if (r !== -EINTR) return r;
  }
}

export function openat(dirfd: number, name: string, flags: number, mode = 0): number {
  for (;;) {
    const r = ret(L().openat(dirfd, cpath(name), flags, mode));
    if (r !== -EINTR) return r;
  }
}

export function close(fd: number): void {
  L().close(fd);
}

/** write(2) all of buf; 0 or -errno. */
export function writeAll(fd: number, buf: Uint8Array): number {
  let off = 0;
  const w = L().write;
  while (off < buf.length) {
    const n = Number(w(fd, off === 0 ? buf : buf.subarray(off), buf.length - off));
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      return -e;
    }
    off += n;
  }
  return 0;
}

export const mkdirat = (dirfd: number, name: string, mode: number) => ret(L().mkdirat(dirfd, cpath(name), mode));
export const mknodat = (dirfd: number, name: string, mode: number, dev: number) => ret(L().mknodat(dirfd, cpath(name), mode, dev));
export const symlinkat = (target: string, dirfd: number, name: string) => ret(L().symlinkat(cpath(target), dirfd, cpath(name)));
export const linkat = (oldfd: number, oldname: string, newfd: number, newname: string) =>
  ret(L().linkat(oldfd, cpath(oldname), newfd, cpath(newname), 0));
export const unlinkat = (dirfd: number, name: string, flags: number) => ret(L().unlinkat(dirfd, cpath(name), flags));
export const fchown = (fd: number, uid: number, gid: number) => ret(L().fchown(fd, uid, gid));
export const lchownat = (dirfd: number, name: string, uid: number, gid: number) =>
  ret(L().fchownat(dirfd, cpath(name), uid, gid, AT_SYMLINK_NOFOLLOW));
export const fchmod = (fd: number, mode: number) => ret(L().fchmod(fd, mode));
/** fchmodat without AT_SYMLINK_NOFOLLOW (Linux refuses it); only for names just created as non-links. */
export const fchmodat = (dirfd: number, name: string, mode: number) => ret(L().fchmodat(dirfd, cpath(name), mode, 0));
export const fsetxattr = (fd: number, key: string, value: Uint8Array) =>
  ret(L().fsetxattr(fd, cpath(key), value.length ? value : new Uint8Array(1), value.length, 0));
export const lsetxattr = (path: string, key: string, value: Uint8Array) =>
  ret(L().lsetxattr(cpath(path), cpath(key), value.length ? value : new Uint8Array(1), value.length, 0));
export const geteuid = () => L().geteuid();

/** glibc's makedev(3). */
export function makedev(major: number, minor: number): number {
  return (
    (major & 0xfff) * 256 +
    (minor & 0xff) +
    Math.floor(major / 4096) * 2 ** 44 +
    Math.floor(minor / 256) * 2 ** 20
  );
}

/** A struct timespec[2] (atime, mtime) for futimens/utimensat. */
export function timespecs(asec: number, ansec: number, msec: number, mnsec: number): BigInt64Array {
  return new BigInt64Array([BigInt(asec), BigInt(ansec), BigInt(msec), BigInt(mnsec)]);
}

export const futimens = (fd: number, ts: BigInt64Array) => ret(L().futimens(fd, ts));
export const lutimensat = (dirfd: number, name: string, ts: BigInt64Array) =>
  ret(L().utimensat(dirfd, cpath(name), ts, AT_SYMLINK_NOFOLLOW));

/** True if name in dirfd is a symbolic link. */
export function isSymlinkAt(dirfd: number, name: string): boolean {
  const b = new Uint8Array(1);
  return Number(L().readlinkat(dirfd, cpath(name), b, 1)) >= 0;
}

/** lgetxattr(2): the value, or undefined if absent (ENODATA); throws on other errors. */
export function lgetxattr(path: string, key: string): Uint8Array | undefined {
  const buf = new Uint8Array(65536);
  const n = ret(L().lgetxattr(cpath(path), cpath(key), buf, buf.length));
  if (n === -ENODATA) return undefined;
  if (n < 0) throw new Error(`lgetxattr ${path} ${key}: errno ${-n}`);
  return buf.slice(0, n);
}

/** The target of the symlink an O_PATH|O_NOFOLLOW fd is open on (readlinkat(fd, "")). */
export function readlinkFd(fd: number): string {
  const buf = new Uint8Array(4096);
  const n = ret(L().readlinkat(fd, cpath(""), buf, buf.length));
  if (n < 0) throw new Error(`readlink: errno ${-n}`);
  return Buffer.from(buf.subarray(0, n)).toString("latin1");
}

/** lremovexattr(2); 0 or -errno. */
export const lremovexattr = (path: string, key: string) => ret(L().lremovexattr(cpath(path), cpath(key)));

/** llistxattr(2): the names of every xattr of path (not following a final symlink). */
export function llistxattr(path: string): string[] {
  const buf = new Uint8Array(65536);
  const n = ret(L().llistxattr(cpath(path), buf, buf.length));
  if (n < 0) throw new Error(`llistxattr ${path}: errno ${-n}`);
  return Buffer.from(buf.subarray(0, n)).toString("latin1").split("\0").filter((s) => s);
}
