// Importing images from files: what `docker save` / `podman save` write, OCI image layouts,
// and plain root-filesystem tars.
//
// - A docker-archive is a tar with manifest.json ([{Config, RepoTags, Layers}]), the config
//   JSON and one uncompressed tar per layer. It has no registry manifest, so we write one (an
//   OCI image manifest naming the config and the layers) and store it like a pulled one.
// - An OCI image layout (a directory, or a tar of one) has oci-layout, index.json and
//   blobs/sha256/…: index.json points at manifests (or nested indexes), each annotated with
//   org.opencontainers.image.ref.name for its tag (containerd's io.containerd.image.name, a full
//   name, first); we pick by name when given, else by platform.
// - A plain tar of a root filesystem (`--name` required) becomes a one-layer image.
// Every blob is copied into the store through Store.writeBlob, which checks its digest, so a
// truncated or tampered archive fails with nothing half-stored.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { registerImage, type Fetched } from "./image.ts";
import { LAYER_TYPES, MEDIA } from "./media.ts";
import { latin1, parseNumber, parsePax } from "./tar.ts";
import { ImageError, type ImageRecord, type Store } from "./store.ts";
import { hostPlatform } from "./platform.ts";
import { normalizeName } from "./reference.ts";

interface Entry {
  name: string;
  offset: number;
  size: number;
  type: string;
}

/**
 * The regular files of an uncompressed tar: names, where their data starts, sizes. Only the
 * headers are read (the data is skipped by seeking); the fields are parsed as tar.ts parses
 * them, GNU long names and PAX path/size included.
 */
export function tarIndex(path: string): Map<string, Entry> {
  const fd = openSync(path, "r");
  const total = statSync(path).size;
  const out = new Map<string, Entry>();
  const h = new Uint8Array(512);
  const str = (b: Uint8Array) => latin1(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));
  let pos = 0;
  let longName: string | undefined;
  let pax: ReturnType<typeof parsePax> = {};
  try {
    for (;;) {
      if (pos + 512 > total) throw new ImageError(`${path}: truncated tar (header at ${pos} of ${total} bytes)`);
      if (readSync(fd, h, 0, 512, pos) !== 512) throw new ImageError(`${path}: short read at ${pos}`);
      if (h.every((x) => x === 0)) break;
      const type = String.fromCharCode(h[156]! || 48);
      let name = str(h.subarray(0, 100));
      if (str(h.subarray(257, 263)).startsWith("ustar")) {
        const prefix = str(h.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      let size: number;
      try {
        size = pax.size ?? parseNumber(h, 124, 12);
      } catch (e: any) {
        throw new ImageError(`${path}: ${name}: ${e.message}`);
      }
      const data = pos + 512;
      if (data + size > total) throw new ImageError(`${path}: truncated tar (${name} wants ${size} bytes, the file ends first)`);
      const body = () => {
        const b = new Uint8Array(size);
        readSync(fd, b, 0, size, data);
        return b;
      };
      if (type === "L") longName = str(body());
      else if (type === "x") pax = parsePax(body(), {});
      else if (type !== "g") {
        const n = (pax.path ?? longName ?? name).replace(/^\.\//, "").replace(/^\/+/, "");
        longName = undefined;
        pax = {};
        if (type === "0" || type === "7") out.set(n, { name: n, offset: data, size, type });
      }
      pos = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A source of named files: a directory, or an uncompressed tar. */
interface Source {
  has(name: string): boolean;
  read(name: string): Uint8Array;
  stream(name: string): { body: ReadableStream<Uint8Array>; size: number };
}

function dirSource(dir: string): Source {
  return {
    has: (n) => existsSync(join(dir, n)),
    read: (n) => readFileSync(join(dir, n)),
    stream: (n) => ({ body: Bun.file(join(dir, n)).stream(), size: statSync(join(dir, n)).size }),
  };
}

function tarSource(path: string): Source {
  const idx = tarIndex(path);
  const get = (n: string) => {
    const e = idx.get(n.replace(/^\.\//, ""));
    if (!e) throw new ImageError(`${path}: no ${n} in the archive`);
    return e;
  };
  return {
    has: (n) => idx.has(n.replace(/^\.\//, "")),
    read: (n) => readRange(path, get(n)),
    stream: (n) => {
      const e = get(n);
      return { body: Bun.file(path).slice(e.offset, e.offset + e.size).stream(), size: e.size };
    },
  };
}

function readRange(path: string, e: Entry): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(e.size);
    readSync(fd, b, 0, e.size, e.offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

function json(src: Source, name: string, what: string): any {
  try {
    return JSON.parse(new TextDecoder().decode(src.read(name)));
  } catch (e: any) {
    throw new ImageError(`${what}: ${name}: ${e instanceof ImageError ? e.message : `invalid JSON: ${e.message}`}`);
  }
}

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

async function copyBlob(store: Store, src: Source, name: string, expected?: string): Promise<{ digest: string; size: number }> {
  const { body, size } = src.stream(name);
  const digest = await store.writeBlob(body, expected, expected ? size : undefined);
  return { digest, size };
}

function layerMediaType(store: Store, digest: string): string {
  const fd = openSync(store.blobPath(digest), "r");
  const b = new Uint8Array(4);
  readSync(fd, b, 0, 4, 0);
  closeSync(fd);
  if (GZIP.every((x, i) => b[i] === x)) return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (ZSTD.every((x, i) => b[i] === x)) return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

/** Store an OCI manifest we wrote for images that came without one. */
export async function writeManifest(store: Store, config: { digest: string; size: number }, layers: Fetched["layers"]): Promise<{ digest: string; manifest: any }> {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { digest: await store.writeBlob(bytes), manifest };
}

async function fromDockerArchive(store: Store, src: Source, where: string, name?: string): Promise<ImageRecord[]> {
  const list = json(src, "manifest.json", where);
  if (!Array.isArray(list) || list.length === 0) throw new ImageError(`${where}: manifest.json lists no image`);
  const out: ImageRecord[] = [];
  for (const [i, m] of list.entries()) {
    if (typeof m?.Config !== "string" || !Array.isArray(m?.Layers)) throw new ImageError(`${where}: manifest.json[${i}]: needs Config and Layers`);
    const configBytes = src.read(m.Config);
    const config = JSON.parse(new TextDecoder().decode(configBytes));
    const cfg = { digest: await store.writeBlob(configBytes), size: configBytes.length };
    const layers: Fetched["layers"] = [];
    for (const l of m.Layers as string[]) {
      const b = await copyBlob(store, src, l);
      layers.push({ digest: b.digest, size: b.size, mediaType: layerMediaType(store, b.digest) });
    }
    const man = await writeManifest(store, cfg, layers);
    const names = name ? [name] : ((m.RepoTags ?? []) as string[]);
    out.push(
      await registerImage(
        store,
        { manifestDigest: man.digest, manifestMediaType: MEDIA.ociManifest, manifest: man.manifest, config, configDigest: cfg.digest, layers },
        names.map((n) => normalizeName(n)),
      ),
    );
  }
  return out;
}


async function fromOciLayout(store: Store, src: Source, where: string, name?: string): Promise<ImageRecord[]> {
  const layout = json(src, "oci-layout", where);
  if (layout?.imageLayoutVersion !== "1.0.0") throw new ImageError(`${where}: oci-layout: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}`);
  const index = json(src, "index.json", where);
  const blob = (d: string) => `blobs/${d.replace(":", "/")}`;
  const want = hostPlatform();
  // manifests to import: (descriptor, tag) pairs, indexes resolved for our platform
  const picked: { desc: any; tag?: string }[] = [];
  const visit = async (desc: any, tag: string | undefined, depth: number) => {
    if (depth > 4) throw new ImageError(`${where}: indexes nested too deep`);
    if (desc.mediaType === MEDIA.ociIndex || desc.mediaType === MEDIA.dockerList) {
      const sub = await indexFrom(desc);
      const match = (sub.manifests ?? []).filter((m: any) => !m.platform || (m.platform.os === want.os && m.platform.architecture === want.architecture));
      if (match.length === 0)
        throw new ImageError(`${where}: no manifest for ${want.os}/${want.architecture}; the index has ${(sub.manifests ?? []).map((m: any) => `${m.platform?.os}/${m.platform?.architecture}`).join(", ")}`);
      await visit(match[0], tag, depth + 1);
    } else if (desc.mediaType === MEDIA.ociManifest || desc.mediaType === MEDIA.dockerManifest) picked.push({ desc, tag });
    else throw new ImageError(`${where}: unknown manifest media type ${JSON.stringify(desc.mediaType)}`);
  };
  const indexFrom = async (desc: any) => {
    const b = await copyBlob(store, src, blob(desc.digest), desc.digest);
    return JSON.parse(new TextDecoder().decode(store.readBlob(b.digest)));
  };
  const top = (index.manifests ?? []) as any[];
  if (!top.length) throw new ImageError(`${where}: index.json lists no manifest`);
  // containerd (ctr export, nerdctl save) keeps the full name beside the OCI tag: it wins
  const refName = (d: any) => (d.annotations?.["io.containerd.image.name"] ?? d.annotations?.["org.opencontainers.image.ref.name"]) as string | undefined;
  const chosen = name && top.some((d) => refName(d) === name) ? top.filter((d) => refName(d) === name) : top;
  for (const d of chosen) await visit(d, refName(d), 0);
  const out: ImageRecord[] = [];
  for (const { desc, tag } of picked) {
    const mb = await copyBlob(store, src, blob(desc.digest), desc.digest);
    const manifest = JSON.parse(new TextDecoder().decode(store.readBlob(mb.digest)));
    const cb = await copyBlob(store, src, blob(manifest.config.digest), manifest.config.digest);
    const config = JSON.parse(new TextDecoder().decode(store.readBlob(cb.digest)));
    const layers: Fetched["layers"] = [];
    for (const l of manifest.layers ?? []) {
      if (!LAYER_TYPES.includes(l.mediaType)) throw new ImageError(`${where}: layer ${l.digest}: unknown media type ${JSON.stringify(l.mediaType)}`);
      await copyBlob(store, src, blob(l.digest), l.digest);
      layers.push({ digest: l.digest, mediaType: l.mediaType, size: l.size });
    }
    const names = name ? [name] : tag ? [tag.includes(":") || tag.includes("/") ? tag : `${where.replace(/\/+$/, "").split("/").pop()}:${tag}`] : [];
    out.push(
      await registerImage(
        store,
        { manifestDigest: mb.digest, manifestMediaType: desc.mediaType, manifest, config, configDigest: cb.digest, layers },
        names.map((n) => normalizeName(n)),
      ),
    );
  }
  return out;
}

async function fromRootfsTar(store: Store, path: string, name: string): Promise<ImageRecord[]> {
  const layer = await store.writeBlob(Bun.file(path).stream());
  const mediaType = layerMediaType(store, layer);
  if (mediaType !== "application/vnd.oci.image.layer.v1.tar")
    throw new ImageError(`${path}: a compressed root-filesystem tar; give the uncompressed tar`);
  const size = statSync(path).size;
  const config = {
    architecture: hostPlatform().architecture,
    os: "linux",
    created: new Date().toISOString(),
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
    rootfs: { type: "layers", diff_ids: [layer] },
    history: [{ created: new Date().toISOString(), created_by: `runjs image import ${path}` }],
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const cfg = { digest: await store.writeBlob(configBytes), size: configBytes.length };
  const layers = [{ digest: layer, mediaType, size }];
  const man = await writeManifest(store, cfg, layers);
  return [
    await registerImage(
      store,
      { manifestDigest: man.digest, manifestMediaType: MEDIA.ociManifest, manifest: man.manifest, config, configDigest: cfg.digest, layers },
      [normalizeName(name)],
    ),
  ];
}

/** A tar header's checksum: the byte sum with the checksum field read as spaces. */
function tarChecksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const field = new TextDecoder().decode(h.subarray(148, 156)).replace(/[\0 ]+$/, "").trim();
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === sum;
}

/** Import FILE or DIR: docker-archive, OCI layout (directory or tar), or a root-filesystem tar (needs name). */
export async function importImage(store: Store, path: string, name?: string): Promise<ImageRecord[]> {
  if (!existsSync(path)) throw new ImageError(`${path}: no such file or directory`);
  store.cleanTmp();
  if (statSync(path).isDirectory()) {
    const src = dirSource(path);
    if (src.has("oci-layout")) return fromOciLayout(store, src, path, name);
    if (src.has("manifest.json")) return fromDockerArchive(store, src, path, name);
    throw new ImageError(`${path}: a directory that is neither an OCI image layout (oci-layout) nor an unpacked docker-archive (manifest.json)`);
  }
  const head = new Uint8Array(512);
  const fd = openSync(path, "r");
  const got = readSync(fd, head, 0, 512, 0);
  closeSync(fd);
  if (GZIP.every((x, i) => head[i] === x) || ZSTD.every((x, i) => head[i] === x))
    throw new ImageError(`${path}: compressed; give the uncompressed archive (gunzip / zstd -d first)`);
  if (got < 512 || !tarChecksumOk(head)) throw new ImageError(`${path}: not an image archive: not a tar file`);
  const src = tarSource(path);
  if (src.has("oci-layout") && src.has("index.json")) return fromOciLayout(store, src, path, name);
  if (src.has("manifest.json")) return fromDockerArchive(store, src, path, name);
  if (!name) throw new ImageError(`${path}: not an image archive (no manifest.json, no oci-layout): to import it as a root filesystem, give --name`);
  return fromRootfsTar(store, path, name);
}

