// From a build step's upper directory to an image layer.
//
// A step runs over an overlayfs mount whose upper directory takes every change; afterwards
// that directory *is* the step's diff, in overlayfs's own notation: a deleted file is a 0/0
// character device of the same name, a directory whose lower contents are hidden carries the
// xattr trusted.overlay.opaque=y. An image layer says the same in OCI's notation: an empty
// file ".wh.NAME" for a deletion, ".wh..wh..opq" inside an opaque directory. So the layer is
// the upper directory walked in name order and written as a tar with the whiteouts
// translated: owners, modes, times, xattrs (security.capability of a setcap'd binary; none of
// overlayfs's trusted.overlay.* of its own), hard links as links to the first name of the
// file in the layer. The tar is hashed as it is written (its sha256 is the diff id), gzipped,
// and the gzip hashed again (the blob's digest), in one pass without a temporary file.
//
// The upper directory then becomes the layer's directory in the store: it is exactly what an
// unpack of the tar would produce (whiteouts are 0/0 devices there too), so the next step
// stacks it as a lower directory at no further cost.
import { lstatSync, openSync, readdirSync, readlinkSync, readSync, closeSync, constants, renameSync, existsSync, rmSync, type Stats } from "node:fs";
import { entryHeaders, END_BLOCKS, padding, type TarWriteEntry } from "../images/tar.ts";
import { lgetxattr, llistxattr, lremovexattr } from "../../sys/fsat.ts";
import type { Store } from "../images/store.ts";

export const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface Layer {
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
}

const OPAQUE = "trusted.overlay.opaque";
const CHUNK = 1 << 20;

/** A path as bytes (one char per byte, the way tar names and fsat.ts paths are kept). */
const bytes = (p: string) => Buffer.from(p, "latin1");

function list(dir: string): string[] {
  return (readdirSync(bytes(dir), { encoding: "buffer" }) as Buffer[]).map((b) => b.toString("latin1")).sort();
}

/** True if the upper directory holds no change at all. */
export function isEmptyDiff(upper: string): boolean {
  return list(upper).length === 0;
}

function xattrs(path: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const k of llistxattr(path)) {
    if (k.startsWith("trusted.overlay.")) continue;
    const v = lgetxattr(path, k);
    if (v) out[`SCHILY.xattr.${k}`] = v;
  }
  return out;
}

/** The tar stream of an upper directory, in blocks and chunks of at most CHUNK bytes. */
export function* diffTar(upper: string): Generator<Uint8Array> {
  const links = new Map<string, string>();
  function* entry(rel: string, st: Stats, e: Partial<TarWriteEntry>, size = 0): Generator<Uint8Array> {
    const abs = `${upper}/${rel}`;
    const pax: Record<string, string | Uint8Array> = { ...xattrs(abs) };
    let name = rel + (e.type === "5" ? "/" : "");
    if (Buffer.byteLength(name, "latin1") > 99) {
      pax.path = name;
      name = name.slice(0, 99);
    }
    if (e.linkname && e.linkname.length > 99) {
      pax.linkpath = e.linkname;
      e = { ...e, linkname: e.linkname.slice(0, 99) };
    }
    yield* entryHeaders(
      { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), ...e, ...(Object.keys(pax).length ? { pax } : {}) },
      size,
    );
  }
  function* walk(dir: string): Generator<Uint8Array> {
    for (const n of list(dir ? `${upper}/${dir}` : upper)) {
      const rel = dir ? `${dir}/${n}` : n;
      const abs = `${upper}/${rel}`;
      const st = lstatSync(bytes(abs));
      if (st.isCharacterDevice() && st.rdev === 0) {
        // a whiteout: the name is gone from the layers below
        yield* entryHeaders({ name: dir ? `${dir}/.wh.${n}` : `.wh.${n}`, mode: 0, mtime: Math.floor(st.mtimeMs / 1000) }, 0);
      } else if (st.isDirectory()) {
        yield* entry(rel, st, { type: "5" });
        if (Buffer.from(lgetxattr(abs, OPAQUE) ?? []).toString() === "y") yield* entryHeaders({ name: `${rel}/.wh..wh..opq`, mode: 0 }, 0);
        yield* walk(rel);
      } else if (st.isSymbolicLink()) {
        yield* entry(rel, st, { type: "2", linkname: (readlinkSync(bytes(abs), { encoding: "buffer" }) as Buffer).toString("latin1") });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          yield* entry(rel, st, { type: "1", linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, rel);
        yield* entry(rel, st, { type: "0" }, st.size);
        const fd = openSync(bytes(abs), constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          let left = st.size;
          while (left > 0) {
            const buf = new Uint8Array(Math.min(CHUNK, left));
            const n = readSync(fd, buf, 0, buf.length, null);
            if (n <= 0) throw new Error(`${abs}: the file shrank while its layer was written`);
            left -= n;
            yield n === buf.length ? buf : buf.subarray(0, n);
          }
        } finally {
          closeSync(fd);
        }
        const pad = padding(st.size);
        if (pad.length) yield pad;
      } else if (st.isFIFO()) yield* entry(rel, st, { type: "6" });
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
        const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
        yield* entry(rel, st, { type: st.isCharacterDevice() ? "3" : "4", devmajor: major, devminor: minor });
      }
      // sockets are not kept in layers
    }
  }
  yield* walk("");
  yield END_BLOCKS;
}

// Compression is the slow part of a layer (gzip manages some 70 MB/s on one core here, the
// walk and both hashes several times that), so the tar is cut into MEMBER-sized pieces and
// each is gzipped on its own, on as many threads as there are cores, with libdeflate (Bun's
// gzip, ~1.5x zlib). The pieces, written one after the other, are one gzip file of several
// members, as pigz and BGZF write them: RFC 1952 allows it, and every gzip reader (Go's, so
// Docker's, containerd's and Podman's; zlib's; Python's) reads on to the end.
const MEMBER = 2 << 20;
const GZIP_LEVEL = 6;

const GZIP_WORKER = `
self.onmessage = (ev) => {
  const out = Bun.gzipSync(ev.data.data, { level: ev.data.level, library: "libdeflate" });
  postMessage({ id: ev.data.id, out }, [out.buffer]);
};
`;
let gzipWorkerUrl: string | undefined;

/** gzip members made on worker threads, handed back in the order they were asked for. */
class GzipPool {
  private workers: Worker[] = [];
  private next = 0;
  private waiting = new Map<number, (b: Uint8Array) => void>();
  private id = 0;
  constructor(n: number) {
    gzipWorkerUrl ??= URL.createObjectURL(new Blob([GZIP_WORKER], { type: "application/javascript" }));
    for (let i = 0; i < n; i++) {
      const w = new Worker(gzipWorkerUrl);
      w.onmessage = (ev: MessageEvent) => {
        const f = this.waiting.get(ev.data.id)!;
        this.waiting.delete(ev.data.id);
        f(ev.data.out);
      };
      this.workers.push(w);
    }
  }
  gzip(data: Uint8Array): Promise<Uint8Array> {
    const id = this.id++;
    const p = new Promise<Uint8Array>((r) => this.waiting.set(id, r));
    this.workers[this.next++ % this.workers.length]!.postMessage({ id, data, level: GZIP_LEVEL }, [data.buffer]);
    return p;
  }
  close(): void {
    for (const w of this.workers) w.terminate();
  }
}

/** The gzip of a tar stream, member by member, in order; the tar is hashed on the way (diff). */
async function* gzipMembers(tar: Iterable<Uint8Array>, diff: Bun.CryptoHasher): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(MEMBER);
  let fill = 0;
  let pool: GzipPool | undefined;
  const inFlight: Promise<Uint8Array>[] = [];
  try {
    for (const chunk of tar) {
      diff.update(chunk);
      for (let off = 0; off < chunk.length; ) {
        const n = Math.min(MEMBER - fill, chunk.length - off);
        buf.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === MEMBER) {
          pool ??= new GzipPool(Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2)));
          inFlight.push(pool.gzip(buf));
          buf = new Uint8Array(MEMBER);
          fill = 0;
          // a few members ahead at most: memory stays bounded whatever the layer's size
          if (inFlight.length >= 8) yield await inFlight.shift()!;
        }
      }
    }
    const last = Bun.gzipSync(buf.subarray(0, fill), { level: GZIP_LEVEL, library: "libdeflate" } as any);
    while (inFlight.length) yield await inFlight.shift()!;
    yield last;
  } finally {
    pool?.close();
  }
}

/** Write the layer of an upper directory into the store as a gzipped tar blob; its digests and size. */
export async function writeLayer(store: Store, upper: string): Promise<Layer> {
  const diff = new Bun.CryptoHasher("sha256");
  const digest = await store.writeBlob(gzipMembers(diffTar(upper), diff));
  return { digest, diffId: "sha256:" + diff.digest("hex"), mediaType: LAYER_MEDIA_TYPE, size: lstatSync(store.blobPath(digest)).size };
}

/** overlayfs's bookkeeping xattrs, other than opaque, go before the directory is a lower layer. */
function stripOverlayXattrs(path: string): void {
  for (const k of llistxattr(path)) if (k.startsWith("trusted.overlay.") && k !== OPAQUE) lremovexattr(path, k);
  const st = lstatSync(bytes(path));
  if (st.isDirectory()) for (const n of list(path)) stripOverlayXattrs(`${path}/${n}`);
}

/** Make the step's upper directory the layer's directory in the store (or drop it if the layer is there). */
export function keepLayerDir(store: Store, upper: string, diffId: string): void {
  stripOverlayXattrs(upper);
  store.withLock(() => {
    if (existsSync(store.layerPath(diffId))) rmSync(upper, { recursive: true, force: true });
    else renameSync(upper, store.layerPath(diffId));
  });
}
