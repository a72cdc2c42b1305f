// The image store: content-addressed blobs, image records, unpacked layers.
//
//   ROOT/blobs/sha256/<hex>        every blob (manifest, config, layer) by its digest
//   ROOT/layers/<diffid-hex>/      a layer unpacked once, an overlayfs lowerdir
//   ROOT/images.json               name → image record (manifest digest, config, layers)
//   ROOT/build-cache/<key>         image build's cache: a step's key → its layer (engine/build)
//   ROOT/tmp/                      partial writes; nothing here is ever visible as a blob
//   ROOT/lock                      flock: one writer of images.json at a time
//
// Everything becomes visible by rename(2) only after it is complete and verified: a blob is
// written to tmp/, hashed while it is written, and renamed to its digest only if the hash
// matches; a layer is unpacked into tmp/ and renamed into layers/ when done. A process killed
// half-way leaves only files in tmp/, which the next writer removes. ROOT defaults to
// /var/lib/runjs ($RUNJS_STORAGE or --storage override it; an unprivileged user gets
// $XDG_DATA_HOME/runjs, else ~/.local/share/runjs).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { close, flock, LOCK_EX, O_CLOEXEC, O_RDONLY, openFile } from "../../sys/libc.ts";

export class ImageError extends Error {
  /** "digest-mismatch": content that does not hash to the digest it was asked for under */
  constructor(
    message: string,
    public kind?: "digest-mismatch",
  ) {
    super(message);
  }
}

/** "sha256:<64 hex>" → "<64 hex>", or an ImageError naming what was wrong. */
export function digestHex(d: string, what = "digest"): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(d);
  if (!m) throw new ImageError(`${what}: not a sha256 digest: ${JSON.stringify(d)}`);
  return m[1]!;
}

export function sha256(b: Uint8Array | string): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(b).digest("hex");
}

export interface ImageRecord {
  /** Normalised names ("docker.io/library/busybox:latest"), and "name@sha256:…" pins. */
  names: string[];
  /** The digest of the image's config blob: the image's id. */
  id: string;
  /** The manifest this image was stored from (its digest and media type). */
  manifest: string;
  manifestMediaType: string;
  /** Layer blob digests and their uncompressed diff ids, bottom first. */
  layers: { digest: string; diffId: string; mediaType: string; size: number }[];
  platform: { os: string; architecture: string; variant?: string };
  created: string;
  size: number;
}

export function defaultStorageRoot(): string {
  if (process.env.RUNJS_STORAGE) return process.env.RUNJS_STORAGE;
  if ((process.geteuid?.() ?? 0) === 0) return "/var/lib/runjs";
  const data = process.env.XDG_DATA_HOME || join(process.env.HOME ?? "/tmp", ".local/share");
  return join(data, "runjs");
}

export class Store {
  readonly root: string;
  constructor(root = defaultStorageRoot()) {
    this.root = root;
    for (const d of ["blobs/sha256", "layers", "tmp"]) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    return join(this.root, "blobs/sha256", digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Uint8Array {
    return readFileSync(this.blobPath(digest));
  }

  /** A fresh name under tmp/ for a partial write (file or directory). */
  tmpPath(tag: string): string {
    return join(this.root, "tmp", `${tag}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  }

  /**
   * Store a blob from bytes or a stream, hashing as it goes; it becomes visible only if its
   * digest equals `expected` (when given) and its size `size` (when given). Returns the digest.
   */
  async writeBlob(data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, expected?: string, size?: number): Promise<string> {
    if (expected && this.hasBlob(expected)) {
      // already there; drain a stream so the caller's connection is not left half-read
      if (!(data instanceof Uint8Array)) for await (const _ of data as AsyncIterable<Uint8Array>) void _;
      return expected;
    }
    const tmp = this.tmpPath("blob");
    const fd = openSync(tmp, "wx", 0o600);
    const h = new Bun.CryptoHasher("sha256");
    let n = 0;
    try {
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = data instanceof Uint8Array ? [data] : (data as AsyncIterable<Uint8Array>);
      for await (const c of chunks) {
        h.update(c);
        n += c.length;
        for (let off = 0; off < c.length; ) off += writeSync(fd, c, off, c.length - off);
      }
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    const got = "sha256:" + h.digest("hex");
    if ((expected && got !== expected) || (size !== undefined && n !== size)) {
      rmSync(tmp, { force: true });
      if (expected && got !== expected) throw new ImageError(`digest mismatch: expected ${expected}, got ${got} (${n} bytes)`, "digest-mismatch");
      throw new ImageError(`size mismatch for ${expected ?? got}: expected ${size} bytes, got ${n}`);
    }
    renameSync(tmp, this.blobPath(got));
    return got;
  }

  /** Where a layer with this diff id is (or will be) unpacked. */
  layerPath(diffId: string): string {
    return join(this.root, "layers", digestHex(diffId, "diff id"));
  }

  hasLayer(diffId: string): boolean {
    return existsSync(this.layerPath(diffId));
  }

  /** Run f with the store's write lock held (images.json, layer renames, prune). */
  withLock<T>(f: () => T): T {
    const p = join(this.root, "lock");
    if (!existsSync(p)) closeSync(openSync(p, "a", 0o600));
    const fd = openFile(p, O_RDONLY | O_CLOEXEC);
    try {
      flock(fd, LOCK_EX);
      return f();
    } finally {
      close(fd);
    }
  }

  images(): ImageRecord[] {
    const p = join(this.root, "images.json");
    return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : [];
  }

  /** Replace images.json atomically; call with the lock held. */
  saveImages(list: ImageRecord[]): void {
    const tmp = this.tmpPath("images");
    const fd = openSync(tmp, "wx", 0o600);
    writeSync(fd, JSON.stringify(list, null, 1));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.root, "images.json"));
  }

  /** Remove leftovers of writers that died (entries of tmp/ older than a minute). */
  cleanTmp(): void {
    const d = join(this.root, "tmp");
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      try {
        if (Date.now() - statSync(p).mtimeMs > 60_000) rmSync(p, { recursive: true, force: true });
      } catch {
        /* another writer's */
      }
    }
  }
}
