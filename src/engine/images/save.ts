// image save: images out of the store as one archive that both kinds of loader read, the way
// Docker 25+ writes `docker save`:
//
//   oci-layout, index.json, blobs/sha256/<hex>     an OCI image layout (skopeo, containerd,
//                                                   podman load, runjs image load)
//   manifest.json [{Config, RepoTags, Layers}]     a docker-archive over the same blobs
//                                                   (docker load, podman load)
//
// The blobs are the store's own, byte for byte (manifest, config, layers as pulled or
// imported, compressed or not; loaders decompress layers themselves), so an image saved and
// loaded again keeps its id and its manifest digest. --format oci-dir writes the layout as a
// directory instead of a tar.
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { findImage, tryNormalize } from "./image.ts";
import { digestHex, ImageError, type ImageRecord, type Store } from "./store.ts";
import { dirHeader, fileHeader } from "./tar.ts";

export type SaveFormat = "docker-archive" | "oci-dir";

interface Saved {
  rec: ImageRecord;
  /** The names it is saved under: the one asked for, or (asked by id) all it has. */
  names: string[];
}

function pick(store: Store, keys: string[]): Saved[] {
  if (!keys.length) throw new ImageError("image save: needs one or more NAME or ID");
  return keys.map((k) => {
    const rec = findImage(store, k);
    const n = tryNormalize(k);
    return { rec, names: n && rec.names.includes(n) ? [n] : rec.names.filter((x) => !x.includes("@")) };
  });
}

const blobName = (d: string) => `blobs/sha256/${digestHex(d)}`;

function documents(store: Store, saved: Saved[]) {
  const blobs = new Set<string>();
  const index: any = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] };
  const docker: any[] = [];
  for (const { rec, names } of saved) {
    for (const d of [rec.manifest, rec.id, ...rec.layers.map((l) => l.digest)]) blobs.add(d);
    const desc = { mediaType: rec.manifestMediaType, digest: rec.manifest, size: statSync(store.blobPath(rec.manifest)).size };
    // ref.name may be a whole reference (image-layout spec); containerd reads its own key
    if (names.length) for (const n of names) index.manifests.push({ ...desc, annotations: { "io.containerd.image.name": n, "org.opencontainers.image.ref.name": n } });
    else index.manifests.push(desc);
    docker.push({ Config: blobName(rec.id), RepoTags: names, Layers: rec.layers.map((l) => blobName(l.digest)) });
  }
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  return {
    small: [
      ["oci-layout", enc({ imageLayoutVersion: "1.0.0" })],
      ["index.json", enc(index)],
      ["manifest.json", enc(docker)],
    ] as [string, Uint8Array][],
    blobs: [...blobs].sort(),
  };
}

/** Write the images `keys` name to `out` (a file, a directory for oci-dir, or an fd). */
export function saveImages(store: Store, keys: string[], out: string | number, format: SaveFormat = "docker-archive"): ImageRecord[] {
  const saved = pick(store, keys);
  const { small, blobs } = documents(store, saved);
  for (const d of blobs) if (!store.hasBlob(d)) throw new ImageError(`${d}: missing from the store (an image whose blobs were removed)`);
  if (format === "oci-dir") {
    if (typeof out !== "string") throw new ImageError("image save --format oci-dir: needs -o DIR");
    mkdirSync(join(out, "blobs/sha256"), { recursive: true });
    for (const [name, data] of small) if (name !== "manifest.json") writeFileSync(join(out, name), data);
    for (const d of blobs) copyFileSync(store.blobPath(d), join(out, blobName(d)));
    return saved.map((s) => s.rec);
  }
  const fd = typeof out === "number" ? out : openSync(out, "w", 0o644);
  try {
    const put = (b: Uint8Array) => {
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
    };
    const pad = (n: number) => n % 512 && put(new Uint8Array(512 - (n % 512)));
    for (const dir of ["blobs/", "blobs/sha256/"]) put(dirHeader(dir));
    for (const [name, data] of small) {
      put(fileHeader(name, data.length));
      put(data);
      pad(data.length);
    }
    const buf = new Uint8Array(1 << 20);
    for (const d of blobs) {
      const src = store.blobPath(d);
      const size = statSync(src).size;
      put(fileHeader(blobName(d), size));
      const sfd = openSync(src, "r");
      try {
        let done = 0;
        for (let n; done < size && (n = readSync(sfd, buf, 0, Math.min(buf.length, size - done), done)) > 0; done += n) put(buf.subarray(0, n));
        if (done !== size) throw new ImageError(`${d}: the blob changed while it was saved`);
      } finally {
        closeSync(sfd);
      }
      pad(size);
    }
    put(new Uint8Array(1024)); // the two zero blocks that end a tar
  } finally {
    if (typeof out !== "number") closeSync(fd);
  }
  return saved.map((s) => s.rec);
}
