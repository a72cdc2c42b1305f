// Unpacking an image layer: a tar (plain, gzip or zstd) made into a directory overlayfs can
// stack.
//
// A layer blob is a tar stream, compressed or not; the compression is told by its first
// bytes (gzip 1f 8b, zstd 28 b5 2f fd), never by a media type or a name. The layer's diff id
// is the sha256 of the uncompressed stream, computed while it is unpacked. Each entry becomes
// a file with its owner, mode (setuid/setgid/sticky included, set after the owner since
// chown(2) clears them), xattrs and times; directories get their times last, since creating
// their children changes them.
//
// OCI layers mark deletions with whiteout files: "dir/.wh.name" deletes name from the layers
// below, "dir/.wh..wh..opq" hides everything below dir. overlayfs marks the same things with a
// 0/0 character device named name, and the xattr trusted.overlay.opaque=y on dir; the layer is
// converted to that as it is unpacked, and the .wh. files themselves are never created.
//
// A layer is untrusted: a name may try to leave the directory ("../../etc/passwd"), or a
// symlink in the layer may point out of it and a later entry be written through it
// ("a -> /etc", then "a/passwd"). Names are normalised lexically (leading "/" and "./"
// dropped, ".." that would leave the root refused), and every parent directory is opened
// with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so the kernel refuses any parent path
// through a symlink; the entry itself is then created relative to that directory fd
// (O_EXCL|O_NOFOLLOW, mknodat, symlinkat, linkat without following), so it never follows a
// link either. An entry that repeats a path replaces the earlier file (a directory over a
// directory merges).
import { closeSync, createReadStream, fstatSync, openSync, readSync, rmSync } from "node:fs";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { TarError, TarReader, type TarEntry, type TarSink, type TarTime } from "./tar.ts";
import { strerror } from "../../sys/libc.ts";
import * as fs from "../../sys/fsat.ts";

export class UnpackError extends Error {}

export interface UnpackStats {
  /** Tar entries applied (PAX and GNU name records not counted). */
  entries: number;
  /** Length of the uncompressed tar stream. */
  bytes: number;
  /** "sha256:<hex>" of the uncompressed tar stream. */
  diffId: string;
}

const display = (s: string) => JSON.stringify(Buffer.from(s, "latin1").toString("utf8"));

/**
 * The path of an entry relative to the layer root: "" for the root itself, else components
 * joined by "/". Leading "/" and "./" are dropped and "." and ".." resolved lexically; throws
 * UnpackError if ".." would leave the root or the name holds a NUL.
 */
export function normaliseEntryPath(name: string, what = "entry"): string {
  if (name.includes("\0")) throw new UnpackError(`${what} ${display(name)}: name contains a NUL byte`);
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0) throw new UnpackError(`${what} ${display(name)}: path leaves the layer root`);
      out.pop();
    } else out.push(c);
  }
  return out.join("/");
}

export type WhiteoutKind = { kind: "opaque"; dir: string } | { kind: "whiteout"; path: string } | undefined;

/** Whether a normalised path is an OCI whiteout, and what it hides. */
export function whiteout(rel: string): WhiteoutKind {
  const slash = rel.lastIndexOf("/");
  const base = rel.slice(slash + 1);
  if (!base.startsWith(".wh.")) return undefined;
  const dir = slash < 0 ? "" : rel.slice(0, slash);
  if (base === ".wh..wh..opq") return { kind: "opaque", dir };
  const hidden = base.slice(4);
  return { kind: "whiteout", path: dir ? dir + "/" + hidden : hidden };
}

const DIR_OPEN = fs.O_RDONLY | fs.O_DIRECTORY | fs.O_NOFOLLOW | fs.O_CLOEXEC;
const RESOLVE = fs.RESOLVE_BENEATH | fs.RESOLVE_NO_SYMLINKS | fs.RESOLVE_NO_MAGICLINKS;
const FILE_OPEN = fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW | fs.O_CLOEXEC;
const MAX_CACHED_DIRS = 256;
const OPAQUE = new Uint8Array([0x79]); // "y"

class Unpacker implements TarSink {
  entries = 0;
  private root: number;
  /** Open fds of directories already resolved safely, by normalised path. */
  private dirs = new Map<string, number>();
  private toClose: number[] = [];
  private dirTimes = new Map<string, BigInt64Array>();
  private file = -1;
  private fileEntry: TarEntry | undefined;
  private root0: boolean;

  /** dest: a directory's path, or an open fd of it (the caller keeps its fd). */
  constructor(private dest: string | number) {
    this.root = typeof dest === "number" ? fs.openat(dest, ".", DIR_OPEN) : fs.openat(fs.AT_FDCWD, dest, DIR_OPEN);
    if (this.root < 0) throw new UnpackError(`${dest}: ${strerror(-this.root)}`);
    this.root0 = fs.geteuid() === 0;
  }

  private fail(e: TarEntry, what: string, errno?: number): never {
    throw new UnpackError(`layer entry ${display(e.name)}: ${what}${errno ? ": " + strerror(errno) : ""}`);
  }

  entry(e: TarEntry): void {
    this.entries++;
    if (this.toClose.length) {
      for (const fd of this.toClose) fs.close(fd);
      this.toClose.length = 0;
    }
    if (this.dirs.size > MAX_CACHED_DIRS) {
      for (const fd of this.dirs.values()) fs.close(fd);
      this.dirs.clear();
    }
    let rel: string;
    try {
      rel = normaliseEntryPath(e.name);
    } catch (err) {
      throw new UnpackError(`layer ${(err as Error).message}`);
    }
    const wo = whiteout(rel);
    if (wo) return this.whiteout(e, wo);
    switch (e.type) {
      case "0":
      case "\0":
      case "7":
        return this.regular(e, rel);
      case "5":
      case "D": // GNU dumpdir: a directory with a listing as data
        return this.directory(e, rel);
      case "1":
        return this.hardlink(e, rel);
      case "2":
        return this.symlink(e, rel);
      case "3":
      case "4":
      case "6":
        return this.node(e, rel);
      default:
        this.fail(e, `unsupported entry type ${JSON.stringify(e.type)}`);
    }
  }

  data(chunk: Uint8Array): void {
    if (this.file < 0) return;
    const r = fs.writeAll(this.file, chunk);
    if (r < 0) this.fail(this.fileEntry!, "write", -r);
  }

  end(): void {
    if (this.file < 0) return;
    const fd = this.file;
    const e = this.fileEntry!;
    this.file = -1;
    try {
      this.ownModeXattrs(e, fd);
      const r = fs.futimens(fd, times(e));
      if (r < 0) this.fail(e, "set times", -r);
    } finally {
      fs.close(fd);
    }
  }

  /** Times of directories, now that nothing more is created in them; close every fd. */
  finish(): void {
    for (const [rel, ts] of this.dirTimes) {
      let fd = this.dirs.get(rel);
      let own = false;
      if (fd === undefined) {
        fd = rel === "" ? fs.openat(this.root, ".", DIR_OPEN) : fs.openat2(this.root, rel, DIR_OPEN, RESOLVE);
        own = true;
      }
      if (fd < 0) continue; // replaced by a non-directory later in the layer
      const r = fs.futimens(fd, ts);
      if (own) fs.close(fd);
      if (r < 0) throw new UnpackError(`layer entry ${display(rel + "/")}: set times: ${strerror(-r)}`);
    }
  }

  close(): void {
    if (this.file >= 0) fs.close(this.file), (this.file = -1);
    for (const fd of this.dirs.values()) fs.close(fd);
    for (const fd of this.toClose) fs.close(fd);
    this.dirs.clear();
    this.toClose.length = 0;
    if (this.root >= 0) fs.close(this.root), (this.root = -1);
  }

  // ---- path resolution ----

  /** The fd of directory rel (never through a symlink), creating missing ones if create. */
  private dir(e: TarEntry, rel: string, create: boolean): number {
    if (rel === "") return this.root;
    const hit = this.dirs.get(rel);
    if (hit !== undefined) return hit;
    const fd = fs.openat2(this.root, rel, DIR_OPEN, RESOLVE);
    if (fd >= 0) {
      this.dirs.set(rel, fd);
      return fd;
    }
    if (fd === -fs.ELOOP || fd === -fs.EXDEV) this.fail(e, `refusing to write through a symbolic link in ${display(rel)}`);
    if (fd === -fs.ENOTDIR) {
      // O_DIRECTORY|O_NOFOLLOW on a final component that is a symlink says ENOTDIR
      const slash = rel.lastIndexOf("/");
      const pfd = slash < 0 ? this.root : this.dir(e, rel.slice(0, slash), false);
      if (fs.isSymlinkAt(pfd, rel.slice(slash + 1))) this.fail(e, `refusing to write through the symbolic link ${display(rel)}`);
    }
    if (fd !== -fs.ENOENT || !create) this.fail(e, `open directory ${display(rel)}`, -fd);
    // walk down from the deepest existing ancestor, creating what is missing
    const slash = rel.lastIndexOf("/");
    const parent = slash < 0 ? this.root : this.dir(e, rel.slice(0, slash), true);
    const name = rel.slice(slash + 1);
    let r = fs.mkdirat(parent, name, 0o755);
    if (r < 0 && r !== -fs.EEXIST) this.fail(e, `create directory ${display(rel)}`, -r);
    const nfd = fs.openat(parent, name, DIR_OPEN);
    if (nfd < 0) {
      if (nfd === -fs.ELOOP || fs.isSymlinkAt(parent, name)) this.fail(e, `refusing to write through a symbolic link in ${display(rel)}`);
      this.fail(e, `open directory ${display(rel)}`, -nfd);
    }
    if (r === 0) fs.fchmod(nfd, 0o755); // not narrowed by the umask
    this.dirs.set(rel, nfd);
    return nfd;
  }

  private parent(e: TarEntry, rel: string, create = true): [number, string] {
    const slash = rel.lastIndexOf("/");
    if (slash < 0) return [this.root, rel];
    return [this.dir(e, rel.slice(0, slash), create), rel.slice(slash + 1)];
  }

  /** Forget cached fds of rel and everything below it (it is being removed). */
  private forget(rel: string): void {
    const prefix = rel + "/";
    for (const [k, fd] of this.dirs)
      if (k === rel || k.startsWith(prefix)) {
        this.dirs.delete(k);
        this.toClose.push(fd);
      }
  }

  /** Remove whatever is at (pfd, name); a directory with all its contents. */
  private remove(e: TarEntry, pfd: number, name: string, rel: string): void {
    let r = fs.unlinkat(pfd, name, 0);
    if (r === 0 || r === -fs.ENOENT) return;
    if (r !== -fs.EISDIR && r !== -fs.EPERM) this.fail(e, `remove ${display(rel)}`, -r);
    this.forget(rel);
    // the parents were opened without following symlinks, and rm does not follow them below
    const base = typeof this.dest === "number" ? `/proc/self/fd/${this.root}` : this.dest;
    rmSync(base + "/" + Buffer.from(rel, "latin1").toString(), { recursive: true, force: true });
    r = fs.unlinkat(pfd, name, fs.AT_REMOVEDIR);
    if (r < 0 && r !== -fs.ENOENT) this.fail(e, `remove ${display(rel)}`, -r);
  }

  /** Run create(); if the name exists, remove it and run create() again. */
  private replace(e: TarEntry, pfd: number, name: string, rel: string, create: () => number, what: string): number {
    if (name === "") this.fail(e, `cannot replace the layer root with a non-directory`);
    let r = create();
    if (r === -fs.EEXIST) {
      this.remove(e, pfd, name, rel);
      r = create();
    }
    if (r < 0) this.fail(e, what, -r);
    return r;
  }

  // ---- metadata ----

  private ownModeXattrs(e: TarEntry, fd: number): void {
    let r = fs.fchown(fd, e.uid, e.gid);
    if (r < 0 && (this.root0 || r !== -fs.EPERM)) this.fail(e, `chown ${e.uid}:${e.gid}`, -r);
    r = fs.fchmod(fd, e.mode);
    if (r < 0) this.fail(e, "chmod", -r);
    if (e.xattrs)
      for (const [k, v] of e.xattrs) {
        r = fs.fsetxattr(fd, k, v);
        if (r < 0 && r !== -fs.ENOTSUP) this.fail(e, `set xattr ${k}`, -r);
      }
  }

  /** Owner, xattrs and times of a symlink or node, by (parent fd, name), never followed. */
  private linkMeta(e: TarEntry, pfd: number, name: string, chmod: boolean): void {
    let r = fs.lchownat(pfd, name, e.uid, e.gid);
    if (r < 0 && (this.root0 || r !== -fs.EPERM)) this.fail(e, `chown ${e.uid}:${e.gid}`, -r);
    if (chmod) {
      r = fs.fchmodat(pfd, name, e.mode);
      if (r < 0) this.fail(e, "chmod", -r);
    }
    if (e.xattrs)
      for (const [k, v] of e.xattrs) {
        r = fs.lsetxattr(`/proc/self/fd/${pfd}/${name}`, k, v);
        if (r < 0 && r !== -fs.ENOTSUP) this.fail(e, `set xattr ${k}`, -r);
      }
    r = fs.lutimensat(pfd, name, times(e));
    if (r < 0) this.fail(e, "set times", -r);
  }

  // ---- entry types ----

  private regular(e: TarEntry, rel: string): void {
    const [pfd, name] = this.parent(e, rel);
    const fd = this.replace(e, pfd, name, rel, () => fs.openat(pfd, name, FILE_OPEN, 0o600), "create file");
    this.file = fd;
    this.fileEntry = e;
  }

  private directory(e: TarEntry, rel: string): void {
    let fd: number;
    if (rel === "") fd = fs.openat(this.root, ".", DIR_OPEN);
    else {
      const [pfd, name] = this.parent(e, rel);
      let r = fs.mkdirat(pfd, name, 0o700);
      if (r === -fs.EEXIST) {
        // a directory merges with a directory; anything else is replaced
        fd = fs.openat(pfd, name, DIR_OPEN);
        if (fd < 0) {
          this.remove(e, pfd, name, rel);
          r = fs.mkdirat(pfd, name, 0o700);
        } else r = 0;
      } else fd = -1;
      if (r < 0) this.fail(e, "create directory", -r);
      if (fd < 0) fd = fs.openat(pfd, name, DIR_OPEN);
    }
    if (fd < 0) this.fail(e, "open directory", -fd);
    try {
      this.ownModeXattrs(e, fd);
    } catch (err) {
      fs.close(fd);
      throw err;
    }
    const old = this.dirs.get(rel);
    if (rel === "" || old !== undefined) fs.close(fd);
    else this.dirs.set(rel, fd);
    this.dirTimes.set(rel, times(e));
  }

  private hardlink(e: TarEntry, rel: string): void {
    let target: string;
    try {
      target = normaliseEntryPath(e.linkname, `entry ${display(e.name)}: hard link target`);
    } catch (err) {
      throw new UnpackError(`layer ${(err as Error).message}`);
    }
    if (target === "") this.fail(e, "hard link to the layer root");
    if (target === rel) return; // a link to itself: the file is already there
    const [tfd, tname] = this.parent(e, target, false);
    const [pfd, name] = this.parent(e, rel);
    this.replace(e, pfd, name, rel, () => fs.linkat(tfd, tname, pfd, name), `hard link to ${display(e.linkname)}`);
  }

  private symlink(e: TarEntry, rel: string): void {
    if (e.linkname.includes("\0")) this.fail(e, "symlink target contains a NUL byte");
    const [pfd, name] = this.parent(e, rel);
    this.replace(e, pfd, name, rel, () => fs.symlinkat(e.linkname, pfd, name), "create symlink");
    this.linkMeta(e, pfd, name, false);
  }

  private node(e: TarEntry, rel: string): void {
    const [pfd, name] = this.parent(e, rel);
    const kind = e.type === "3" ? fs.S_IFCHR : e.type === "4" ? fs.S_IFBLK : fs.S_IFIFO;
    const dev = kind === fs.S_IFIFO ? 0 : fs.makedev(e.devmajor, e.devminor);
    this.replace(e, pfd, name, rel, () => fs.mknodat(pfd, name, kind | (e.mode & 0o777), dev), "mknod");
    this.linkMeta(e, pfd, name, true);
  }

  private whiteout(e: TarEntry, wo: NonNullable<WhiteoutKind>): void {
    if (wo.kind === "opaque") {
      const fd = wo.dir === "" ? this.root : this.dir(e, wo.dir, true);
      const r = fs.fsetxattr(fd, "trusted.overlay.opaque", OPAQUE);
      if (r < 0) this.fail(e, "set trusted.overlay.opaque", -r);
      return;
    }
    const [pfd, name] = this.parent(e, wo.path);
    if (name === "" || name === "." || name === "..") this.fail(e, "invalid whiteout name");
    this.replace(e, pfd, name, wo.path, () => fs.mknodat(pfd, name, fs.S_IFCHR, 0), "create whiteout");
  }
}

function times(e: TarEntry): BigInt64Array {
  const a: TarTime = e.atime ?? e.mtime;
  return fs.timespecs(a.sec, a.nsec, e.mtime.sec, e.mtime.nsec);
}

const READ_CHUNK = 1 << 20;
const Z_CHUNK = 256 << 10;
/** Blobs at least this large are decompressed and hashed on a second thread. */
const WORKER_MIN = 8 << 20;

// The second thread: it hashes the uncompressed stream and, for a compressed blob, also
// decompresses it and hands the chunks over (transferred, not copied), at most CREDIT chunks
// ahead of the unpacker. The unpacker's thread then does nothing but file system calls.
const WORKER_SOURCE = `
let credit = 64, wake;
self.onmessage = async (ev) => {
  const m = ev.data;
  if (m === 1) { credit++; if (wake) { const w = wake; wake = undefined; w(); } return; }
  try {
    const fs = await import("node:fs");
    const h = new Bun.CryptoHasher("sha256");
    let bytes = 0;
    if (m.kind === "tar") {
      const fd = fs.openSync(m.path, "r");
      const buf = new Uint8Array(${READ_CHUNK});
      let n;
      try { while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) { h.update(buf.subarray(0, n)); bytes += n; } }
      finally { fs.closeSync(fd); }
    } else {
      const zlib = await import("node:zlib");
      const z = m.kind === "gzip" ? zlib.createGunzip({ chunkSize: ${Z_CHUNK} }) : zlib.createZstdDecompress({ chunkSize: ${Z_CHUNK} });
      const input = fs.createReadStream(m.path, { highWaterMark: ${READ_CHUNK} });
      input.on("error", (e) => z.destroy(e));
      input.pipe(z);
      for await (let c of z) {
        h.update(c);
        bytes += c.length;
        if (c.byteOffset !== 0 || c.buffer.byteLength !== c.length) c = new Uint8Array(c);
        while (credit === 0) await new Promise((r) => (wake = r));
        credit--;
        postMessage({ chunk: c }, [c.buffer]);
      }
    }
    postMessage({ digest: h.digest("hex"), bytes });
  } catch (e) {
    postMessage({ error: String((e && e.message) || e) });
  }
};
`;
let workerUrl: string | undefined;

type Kind = "tar" | "gzip" | "zstd";

/** Run the second thread on the blob; onChunk gets the uncompressed stream unless kind is "tar". */
function hashThread(path: string, kind: Kind, onChunk: (c: Uint8Array) => void): { done: Promise<{ digest: string; bytes: number }>; stop(): void } {
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const w = new Worker(workerUrl);
  let stopped = false;
  const stop = () => {
    if (!stopped) (stopped = true), w.terminate();
  };
  const done = new Promise<{ digest: string; bytes: number }>((resolve, reject) => {
    w.onmessage = (ev: MessageEvent) => {
      const m = ev.data as { chunk?: Uint8Array; digest?: string; bytes?: number; error?: string };
      if (stopped) return;
      if (m.chunk) {
        try {
          onChunk(m.chunk);
        } catch (err) {
          stop();
          reject(err);
          return;
        }
        w.postMessage(1);
      } else if (m.error !== undefined) {
        stop();
        reject(new UnpackError(`${path}: ${kind === "tar" ? "read" : kind}: ${m.error}`));
      } else {
        stop();
        resolve({ digest: m.digest!, bytes: m.bytes! });
      }
    };
    w.onerror = (ev: ErrorEvent) => {
      stop();
      reject(new UnpackError(`${path}: ${ev.message}`));
    };
  });
  w.postMessage({ path, kind });
  return { done, stop };
}

/**
 * Unpack one image layer (a tar, tar+gzip or tar+zstd file, told apart by magic bytes) into
 * dest, an existing empty directory.
 */
export async function unpackLayer(blobPath: string, dest: string | number): Promise<UnpackStats> {
  let fd: number;
  try {
    fd = openSync(blobPath, "r");
  } catch (err) {
    throw new UnpackError(`${blobPath}: ${(err as Error).message}`);
  }
  let u: Unpacker;
  try {
    u = new Unpacker(dest);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const tar = new TarReader(u);
  let hash: Bun.CryptoHasher | undefined;
  let bytes = 0;
  let digest = "";
  const feedHashed = (chunk: Uint8Array) => {
    hash!.update(chunk);
    bytes += chunk.length;
    tar.write(chunk);
  };
  let thread: ReturnType<typeof hashThread> | undefined;
  try {
    const magic = new Uint8Array(4);
    const m = readSync(fd, magic, 0, 4, 0);
    const kind: Kind =
      m >= 2 && magic[0] === 0x1f && magic[1] === 0x8b
        ? "gzip"
        : m >= 4 && magic[0] === 0x28 && magic[1] === 0xb5 && magic[2] === 0x2f && magic[3] === 0xfd
          ? "zstd"
          : "tar";
    const big = fstatSync(fd).size >= WORKER_MIN;
    if (big) {
      thread = hashThread(blobPath, kind, (c) => tar.write(c));
      if (kind === "tar") {
        const buf = new Uint8Array(READ_CHUNK);
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n <= 0) break;
          tar.write(buf.subarray(0, n));
        }
      }
      const r = await thread.done;
      digest = r.digest;
      bytes = r.bytes;
    } else if (kind !== "tar") {
      hash = new Bun.CryptoHasher("sha256");
      const input = createReadStream(blobPath, { highWaterMark: READ_CHUNK });
      const z = kind === "gzip" ? createGunzip({ chunkSize: Z_CHUNK }) : createZstdDecompress({ chunkSize: Z_CHUNK });
      input.on("error", (err) => z.destroy(err));
      input.pipe(z);
      try {
        for await (const chunk of z) feedHashed(chunk as Uint8Array);
      } catch (err) {
        if (err instanceof UnpackError || err instanceof TarError) throw err;
        throw new UnpackError(`${blobPath}: ${kind}: ${(err as Error).message}`);
      } finally {
        input.destroy();
        z.destroy();
      }
    } else {
      hash = new Bun.CryptoHasher("sha256");
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        feedHashed(buf.subarray(0, n));
      }
    }
    tar.close();
    u.finish();
    if (hash) digest = hash.digest("hex");
  } catch (err) {
    if (err instanceof TarError) throw new UnpackError(`${blobPath}: tar: ${err.message}`);
    throw err;
  } finally {
    thread?.stop();
    u.close();
    closeSync(fd);
  }
  return { entries: u.entries, bytes, diffId: "sha256:" + digest };
}
