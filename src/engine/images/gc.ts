// Removing images and what no image needs any more.
//
// `rm NAME` takes the name off its image, and removes the image record once it has no name
// left; `rm ID` removes the record with all its names. Neither deletes files: blobs and layer
// directories may be shared with other images, so `prune` removes, under the store's lock,
// every image left without a name (unless a container uses it), then every blob and
// unpacked layer that no remaining image refers to. A container made from an
// image pins it with an entry under ROOT/inuse/<image id>/ (written by the container front
// end); such an image is only removed with --force.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { findImage, tryNormalize } from "./image.ts";
import { digestHex, ImageError, type Store } from "./store.ts";

export function usersOf(store: Store, id: string): string[] {
  const d = join(store.root, "inuse", digestHex(id));
  return existsSync(d) ? readdirSync(d) : [];
}

/** Returns what was done, for the CLI to print. */
export function removeImage(store: Store, arg: string, force: boolean): string {
  return store.withLock(() => {
    const rec = findImage(store, arg);
    const users = usersOf(store, rec.id);
    if (users.length && !force) throw new ImageError(`image ${arg} is used by container(s) ${users.join(", ")}: remove them first, or use --force`);
    const list = store.images();
    const n = tryNormalize(arg);
    const byName = n !== undefined && rec.names.includes(n) && rec.names.length > 1;
    const out = list
      .map((r) => (r.id === rec.id && byName ? { ...r, names: r.names.filter((x) => x !== n) } : r))
      .filter((r) => r.id !== rec.id || byName);
    store.saveImages(out);
    return byName ? `untagged ${n}` : `deleted ${rec.id}`;
  });
}

/** Run f (an import or a pull): it completes, or the store is left as it was. */
export async function atomically<T>(store: Store, f: () => Promise<T>): Promise<T> {
  const before = snapshot(store);
  try {
    return await f();
  } catch (e) {
    rollback(store, before);
    throw e;
  }
}

/** What the store holds now, to undo a failed import or pull with rollback(). */
export function snapshot(store: Store): { blobs: Set<string>; layers: Set<string> } {
  return { blobs: new Set(readdirSync(join(store.root, "blobs/sha256"))), layers: new Set(readdirSync(join(store.root, "layers"))) };
}

/**
 * After a failed import or pull: remove the blobs and layers it added that no image refers
 * to, so the store is as it was. (Another import running at the same moment that needs one
 * of them writes it again: writeBlob skips only blobs that exist.)
 */
export function rollback(store: Store, before: { blobs: Set<string>; layers: Set<string> }): void {
  store.withLock(() => {
    const used = referenced(store);
    for (const e of readdirSync(join(store.root, "blobs/sha256")))
      if (!before.blobs.has(e) && !used.blobs.has(e)) rmSync(join(store.root, "blobs/sha256", e), { force: true });
    for (const e of readdirSync(join(store.root, "layers")))
      if (!before.layers.has(e) && !used.layers.has(e)) rmSync(join(store.root, "layers", e), { recursive: true, force: true });
  });
}

function referenced(store: Store): { blobs: Set<string>; layers: Set<string> } {
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const r of store.images()) {
    blobs.add(digestHex(r.id));
    blobs.add(digestHex(r.manifest));
    for (const l of r.layers) {
      blobs.add(digestHex(l.digest));
      layers.add(digestHex(l.diffId));
    }
  }
  return { blobs, layers };
}

export function prune(store: Store): { images: number; layers: number; blobs: number; bytes: number } {
  return store.withLock(() => {
    // dangling images (no name left, as after a name moved to a newer image) no container uses
    const list = store.images();
    const keep = list.filter((r) => r.names.length > 0 || usersOf(store, r.id).length > 0);
    if (keep.length !== list.length) store.saveImages(keep);
    const { blobs, layers } = referenced(store);
    let nl = 0;
    let nb = 0;
    let bytes = 0;
    for (const e of readdirSync(join(store.root, "layers")))
      if (!layers.has(e)) {
        rmSync(join(store.root, "layers", e), { recursive: true, force: true });
        nl++;
      }
    for (const e of readdirSync(join(store.root, "blobs/sha256")))
      if (!blobs.has(e)) {
        const p = join(store.root, "blobs/sha256", e);
        bytes += statSync(p).size;
        rmSync(p, { force: true });
        nb++;
      }
    return { images: list.length - keep.length, layers: nl, blobs: nb, bytes };
  });
}

