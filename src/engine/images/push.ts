// Pushing an image to a registry over the OCI distribution API (v2), the counterpart of
// registry.ts's pull:
//
//   HEAD /v2/<name>/blobs/<digest>                    is the blob there already? then skip it
//   POST /v2/<name>/blobs/uploads/?mount=D&from=REPO  cross-repository mount: the registry links
//                                                     a blob it has under another repository
//                                                     (201), or starts an upload instead (202)
//   POST /v2/<name>/blobs/uploads/                    start an upload: 202, Location
//   PUT  <Location>&digest=D                          a monolithic upload, the whole blob
//   PATCH <Location> (Content-Range) … PUT …&digest=D a chunked one, for large blobs
//   PUT  /v2/<name>/manifests/<tag>                   last, once every blob is there
//
// Layers go first and the config, then the manifest: a registry refuses a manifest whose blobs
// it does not have. The blobs are the store's own bytes, so the pushed manifest has the digest
// the store records (the registry says it back in Docker-Content-Digest, and it is checked).
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { findImage } from "./image.ts";
import { formatReference, type Reference } from "./reference.ts";
import { Client, type PullOptions } from "./registry.ts";
import { ImageError, type Store } from "./store.ts";

/**
 * A blob goes up in one PUT streamed from the store's file, as Docker and skopeo send it (one
 * request per blob: for a 100 MB layer, 8 MiB chunks made the push twice skopeo's time); with
 * `chunk` (--chunk-size), a blob larger than that goes in PATCH chunks of it, for registries or
 * proxies that limit the size of a request.
 */
export interface PushOptions extends Pick<PullOptions, "insecure" | "username" | "password" | "idleTimeoutMs"> {
  progress?: (e: { digest: string; done: number; total: number; phase: "uploading" | "pushed" | "exists" | "mounted" }) => void;
  /** Upload blobs larger than this in PATCH chunks of this size (default: never). */
  chunk?: number;
}

async function failed(resp: Response, what: string, where: string): Promise<never> {
  let detail = "";
  try {
    const j = JSON.parse(await resp.text());
    detail = (j?.errors ?? []).map((e: any) => `${e.code}: ${e.message}`).join("; ");
  } catch {
    /* no JSON body */
  }
  if (resp.status === 401 || resp.status === 403)
    throw new ImageError(`registry: unauthorized (${resp.status}) to push ${where}: log in first (runjs login), or give --creds USER:PASSWORD${detail ? ` (${detail})` : ""}`);
  throw new ImageError(`registry answered ${resp.status} ${resp.statusText} to ${what} of ${where}${detail ? ` (${detail})` : ""}`);
}

function readRange(path: string, start: number, len: number): Uint8Array {
  const buf = new Uint8Array(len);
  const fd = openSync(path, "r");
  try {
    for (let off = 0; off < len; ) {
      const n = readSync(fd, buf, off, len - off, start + off);
      if (n <= 0) throw new ImageError(`${path}: shorter than the store says`);
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

const withDigest = (location: string, digest: string) => `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;

/** Push the store's image `source` as `dest`; returns the manifest digest the registry holds. */
export async function pushImage(store: Store, source: string, dest: Reference, o: PushOptions = {}): Promise<string> {
  const rec = findImage(store, source);
  if (dest.digest) throw new ImageError(`${formatReference(dest)}: push to a tag, not a digest`);
  const tag = dest.tag ?? "latest";
  const where = `${dest.registry}/${dest.repository}:${tag}`;
  const c = new Client(dest, { insecure: o.insecure, username: o.username, password: o.password, idleTimeoutMs: o.idleTimeoutMs });
  await c.connect();
  const repo = `/v2/${dest.repository}`;
  const chunk = o.chunk ?? Infinity;
  // other repositories of this registry that hold the same image: blobs can be mounted from them
  const mountFrom = [...new Set(rec.names.map((n) => /^([^/]+)\/([^:@]+)/.exec(n)).filter((m) => m && m[1] === dest.registry && m[2] !== dest.repository).map((m) => m![2]!))];

  const blobs = [...rec.layers.map((l) => l.digest), rec.id];
  for (const digest of blobs) {
    const path = store.blobPath(digest);
    const size = statSync(path).size;
    const head = await c.send("HEAD", `${repo}/blobs/${digest}`);
    await head.body?.cancel();
    if (head.ok) {
      o.progress?.({ digest, done: size, total: size, phase: "exists" });
      continue;
    }
    let location: string | undefined;
    for (const from of mountFrom) {
      const m = await c.send("POST", `${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`);
      await m.body?.cancel();
      if (m.status === 201) {
        o.progress?.({ digest, done: size, total: size, phase: "mounted" });
        location = "";
        break;
      }
      if (m.status === 202) {
        location = m.headers.get("location") ?? undefined;
        break;
      }
    }
    if (location === "") continue;
    if (location === undefined) {
      const start = await c.send("POST", `${repo}/blobs/uploads/`);
      if (start.status !== 202) await failed(start, "an upload", where);
      await start.body?.cancel();
      location = start.headers.get("location") ?? undefined;
    }
    if (!location) throw new ImageError(`registry ${dest.registry}: an upload started without a Location`);
    if (size <= chunk) {
      const put = await c.send("PUT", withDigest(location, digest), { "Content-Type": "application/octet-stream", "Content-Length": String(size) }, () => Bun.file(path));
      if (put.status !== 201) await failed(put, `the upload of ${digest}`, where);
      await put.body?.cancel();
    } else {
      for (let off = 0; off < size; off += chunk) {
        const len = Math.min(chunk, size - off);
        const part = readRange(path, off, len);
        const p = await c.send("PATCH", location, { "Content-Type": "application/octet-stream", "Content-Length": String(len), "Content-Range": `${off}-${off + len - 1}` }, () => new Blob([part as Uint8Array<ArrayBuffer>]));
        if (p.status !== 202) await failed(p, `chunk ${off}-${off + len - 1} of ${digest}`, where);
        await p.body?.cancel();
        location = p.headers.get("location") ?? location;
        o.progress?.({ digest, done: off + len, total: size, phase: "uploading" });
      }
      const put = await c.send("PUT", withDigest(location, digest), { "Content-Length": "0" });
      if (put.status !== 201) await failed(put, `the end of the upload of ${digest}`, where);
      await put.body?.cancel();
    }
    o.progress?.({ digest, done: size, total: size, phase: "pushed" });
  }

  const manifest = store.readBlob(rec.manifest);
  const put = await c.send("PUT", `${repo}/manifests/${encodeURIComponent(tag)}`, { "Content-Type": rec.manifestMediaType }, () => new Blob([manifest as Uint8Array<ArrayBuffer>]));
  if (put.status !== 201) await failed(put, "the manifest", where);
  await put.body?.cancel();
  const said = put.headers.get("docker-content-digest");
  if (said && said !== rec.manifest) throw new ImageError(`registry ${dest.registry}: stored the manifest as ${said}, not ${rec.manifest}`);
  return rec.manifest;
}

/** login: the registry accepts these credentials (GET /v2/ with them), or an error says why. */
export async function checkLogin(registry: string, username: string, password: string, insecure: boolean): Promise<void> {
  const c = new Client({ registry, repository: "" } as Reference, { username, password, insecure });
  await c.connect();
  const r = await c.send("GET", "/v2/");
  await r.body?.cancel();
  if (r.status === 401 || r.status === 403) throw new ImageError(`login to ${registry}: incorrect username or password (${r.status})`);
  if (!r.ok) throw new ImageError(`login to ${registry}: the registry answered ${r.status} ${r.statusText}`);
}
