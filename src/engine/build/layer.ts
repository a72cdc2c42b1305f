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
import { once } from "node:events";
import { createGzip } from "node:zlib";
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

/**
 * Write the layer of an upper directory into the store as a gzipped tar blob; returns its
 * digests and size. level: gzip's compression level.
 */
export async function writeLayer(store: Store, upper: string, level = 6): Promise<Layer> {
  const diff = new Bun.CryptoHasher("sha256");
  const gz = createGzip({ level, chunkSize: 256 << 10 });
  const feeding = (async () => {
    try {
      for (const chunk of diffTar(upper)) {
        diff.update(chunk);
        if (!gz.write(chunk)) await once(gz, "drain");
      }
      gz.end();
    } catch (e) {
      gz.destroy(e as Error);
      throw e;
    }
  })();
  const [digest] = await Promise.all([store.writeBlob(gz), feeding]);
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
