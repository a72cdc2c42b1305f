// From fetched blobs to a usable image: unpack each layer once, record the image.
//
// An image is a manifest (which config, which layers, in order) and a config (the image's
// runtime defaults and the diff ids: the digests of the layers' uncompressed tars). Layers are
// unpacked by diff id, so two images that share a layer share its directory, and a layer is
// unpacked once. Each is unpacked into tmp/ and renamed into layers/ when complete, and its
// diff id is checked against the config's, so a layer directory always holds exactly what
// the image says it does. Only then is the image record written (under the store's lock).
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { digestHex, ImageError, type ImageRecord, type Store } from "./store.ts";
import { normalizeName } from "./reference.ts";

import { LAYER_TYPES } from "./media.ts";

export interface Fetched {
  manifestDigest: string;
  manifestMediaType: string;
  manifest: any;
  config: any;
  configDigest: string;
  layers: { digest: string; mediaType: string; size: number }[];
}

/** Unpack what is missing, then add (or update) the image under `names`. */
export async function registerImage(store: Store, f: Fetched, names: string[]): Promise<ImageRecord> {
  const diffIds: string[] = f.config?.rootfs?.diff_ids ?? [];
  if (!Array.isArray(diffIds) || diffIds.length !== f.layers.length)
    throw new ImageError(`config ${f.configDigest}: rootfs.diff_ids has ${diffIds.length} entries for ${f.layers.length} layers`);
  f.layers.forEach((l, i) => {
    if (!LAYER_TYPES.includes(l.mediaType)) throw new ImageError(`layer ${i} (${l.digest}): unknown media type ${JSON.stringify(l.mediaType)}`);
    if (!store.hasBlob(l.digest)) throw new ImageError(`layer ${i} (${l.digest}): blob missing from the store`);
  });
  const { unpackLayer } = await import("./unpack.ts");
  for (let i = 0; i < f.layers.length; i++) {
    const diffId = diffIds[i]!;
    digestHex(diffId, `config rootfs.diff_ids[${i}]`);
    if (store.hasLayer(diffId)) continue;
    const tmp = store.tmpPath("layer");
    mkdirSync(tmp, { mode: 0o755 });
    try {
      const st = await unpackLayer(store.blobPath(f.layers[i]!.digest), tmp);
      if (st.diffId !== diffId) throw new ImageError(`layer ${i} (${f.layers[i]!.digest}): its content is ${st.diffId}, the config says ${diffId}`);
      store.withLock(() => {
        if (existsSync(store.layerPath(diffId))) rmSync(tmp, { recursive: true, force: true });
        else renameSync(tmp, store.layerPath(diffId));
      });
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  const cfg = f.config ?? {};
  const rec: ImageRecord = {
    names: [],
    id: f.configDigest,
    manifest: f.manifestDigest,
    manifestMediaType: f.manifestMediaType,
    layers: f.layers.map((l, i) => ({ ...l, diffId: diffIds[i]! })),
    platform: { os: cfg.os ?? "linux", architecture: cfg.architecture ?? "amd64", ...(cfg.variant ? { variant: cfg.variant } : {}) },
    created: cfg.created ?? new Date().toISOString(),
    size: f.layers.reduce((n, l) => n + l.size, 0),
  };
  return store.withLock(() => {
    const list = store.images();
    // a name moves to the new image; an image left without names is kept (rm/prune decide)
    for (const r of list) r.names = r.names.filter((n) => !names.includes(n));
    const existing = list.find((r) => r.id === rec.id);
    const out = existing ?? rec;
    out.names = [...new Set([...(existing?.names ?? []), ...names])];
    if (!existing) list.push(out);
    store.saveImages(list);
    return out;
  });
}

/** A name in its normal form (docker.io/library/busybox:latest), or undefined if it is none. */
export function tryNormalize(s: string): string | undefined {
  try {
    return normalizeName(s);
  } catch {
    return undefined;
  }
}

/** Find an image by name (normalised), by id or a unique id prefix (12+ hex digits). */
export function findImage(store: Store, nameOrId: string): ImageRecord {
  const list = store.images();
  const n = tryNormalize(nameOrId);
  const byName = n ? list.find((r) => r.names.includes(n)) : undefined;
  if (byName) return byName;
  const hex = nameOrId.replace(/^sha256:/, "");
  if (/^[a-f0-9]{4,64}$/.test(hex)) {
    const m = list.filter((r) => digestHex(r.id).startsWith(hex));
    if (m.length === 1) return m[0]!;
    if (m.length > 1) throw new ImageError(`${nameOrId}: ambiguous image id prefix (${m.length} images)`);
  }
  throw new ImageError(`image not known: ${nameOrId}`);
}


/** The record and its configuration blob, as inspect shows them. */
export function inspectImage(store: Store, nameOrId: string): ImageRecord & { config: unknown } {
  const r = findImage(store, nameOrId);
  return { ...r, config: JSON.parse(new TextDecoder().decode(store.readBlob(r.id))) };
}

/** tag: the image gets the name target (normalised), which leaves any other image. */
export function tagImage(store: Store, source: string, target: string): void {
  const r = findImage(store, source);
  const name = normalizeName(target);
  store.withLock(() => {
    const list = store.images();
    for (const x of list) x.names = x.names.filter((n) => n !== name);
    list.find((x) => x.id === r.id)!.names.push(name);
    store.saveImages(list);
  });
}

/** One step of an image's history, newest first (what `image history` shows). */
export interface HistoryStep {
  created: string;
  createdBy: string;
  /** The stored size of the layer the step made; 0 for a step that made none. */
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** history: the config's steps, each non-empty one matched to its layer (bottom first), newest first. */
export function imageHistory(store: Store, nameOrId: string): HistoryStep[] {
  const r = findImage(store, nameOrId);
  const cfg = JSON.parse(new TextDecoder().decode(store.readBlob(r.id)));
  const steps: any[] = Array.isArray(cfg.history) ? cfg.history : [];
  let layer = 0;
  const out = steps.map((h) => {
    const empty = !!h.empty_layer;
    const size = empty ? 0 : (r.layers[layer++]?.size ?? 0);
    return { created: h.created ?? "", createdBy: h.created_by ?? "", size, comment: h.comment ?? "", emptyLayer: empty };
  });
  // layers the history does not account for (an image built without one) still show
  for (; layer < r.layers.length; layer++) out.push({ created: "", createdBy: "", size: r.layers[layer]!.size, comment: "", emptyLayer: false });
  return out.reverse();
}
