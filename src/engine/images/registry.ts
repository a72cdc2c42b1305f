// Pulling an image from a registry over the OCI distribution API (v2), with fetch().
//
//   GET /v2/<name>/manifests/<tag|digest>   the manifest; Accept lists the OCI index and
//                                           manifest and Docker's manifest list and schema 2
//   GET /v2/<name>/blobs/<digest>           the config and each layer (often a redirect to
//                                           a CDN, followed here without our credentials)
//
// A registry answers 401 with a challenge: `WWW-Authenticate: Bearer realm=…,service=…,
// scope=…` means get a token from realm (anonymously, or with basic credentials) and retry
// with `Authorization: Bearer <token>`; `Basic realm=…` means send the credentials each time.
//
// Nothing is trusted until hashed: a manifest pulled by digest must hash to that digest
// (one pulled by tag is recorded under the digest of the bytes received, and checked against
// Docker-Content-Digest when the registry sends it), and every blob streams into the store,
// which hashes and counts it on the way and makes it visible (by rename) only if it matches
// its descriptor. A layer that fails leaves nothing behind; layers already complete stay (they
// are valid content, and a retry skips them), while the config and the manifest are written
// only after every layer is in, so a failed pull never looks like a pulled image.
import { apiHost, formatReference, type Reference } from "./reference.ts";
import { type Descriptor, hostPlatform, normalizePlatform, type Platform, selectManifest } from "./platform.ts";
import { digestHex, ImageError, sha256, type Store } from "./store.ts";
import { LAYER_TYPES, MEDIA } from "./media.ts";
import type { Fetched as ImageParts } from "./image.ts";
export { LAYER_TYPES, MEDIA };

export interface PullOptions {
  /** Plain HTTP, and TLS without verification (HTTPS is tried first, as Docker does). */
  insecure?: boolean;
  username?: string;
  password?: string;
  platform?: { os: string; architecture: string; variant?: string };
  /** Layers downloaded in parallel, default 3. */
  concurrency?: number;
  progress?: (e: { digest: string; done: number; total: number; phase: "downloading" | "done" | "exists" }) => void;
  /** Abort a request when no byte arrives for this long (ms), default 60 s. */
  idleTimeoutMs?: number;
}

/** What registerImage needs (image.ts), and what a pull adds. The manifest is the
 * platform's one when the reference named an index. */
export interface Pulled extends ImageParts {
  /** The index or manifest list the reference named, when there was one. */
  indexDigest?: string;
  indexMediaType?: string;
  /** The platform entry chosen from the index, or the config's when there was no index. */
  platform: Platform;
}



const INDEX_TYPES: string[] = [MEDIA.ociIndex, MEDIA.dockerList];
const MANIFEST_TYPES: string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
const CONFIG_TYPES: string[] = [MEDIA.ociConfig, MEDIA.dockerConfig];

const ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(", ");

const MAX_MANIFEST = 4 << 20;
const MAX_CONFIG = 32 << 20;
const MAX_REDIRECTS = 10;

/** One pull's or push's connection to one repository: scheme, credentials, token. */
export class Client {
  private base = "";
  private authorization: string | undefined;
  readonly host: string;
  readonly abort = new AbortController();

  constructor(
    readonly ref: Reference,
    private readonly opts: PullOptions,
  ) {
    this.host = apiHost(ref.registry);
  }

  get idle(): number {
    return this.opts.idleTimeoutMs ?? 60_000;
  }

  /** Decide the scheme: HTTPS, or for an insecure registry HTTPS without verification falling back to HTTP. */
  async connect(): Promise<void> {
    if (!this.opts.insecure) {
      this.base = `https://${this.host}`;
      return;
    }
    try {
      const r = await this.raw(`https://${this.host}/v2/`, {}, 10_000);
      await r.body?.cancel();
      this.base = `https://${this.host}`;
    } catch (e) {
      if (this.abort.signal.aborted) throw e;
      this.base = `http://${this.host}`;
    }
  }

  /** One request with a timer that aborts it if the response (headers) takes longer than ms. */
  private async raw(url: string, headers: Record<string, string>, ms: number, ctl = new AbortController(), method = "GET", body?: BodyInit): Promise<Response> {
    const t = setTimeout(() => ctl.abort(new ImageError(`registry ${this.host}: no response for ${ms / 1000}s to ${method} ${url}`)), ms);
    try {
      return await fetch(url, {
        method,
        body,
        headers: { "User-Agent": "runjs", ...headers },
        redirect: "manual",
        // the pull's signal too, so that one layer failing stops the other downloads' bodies
        signal: AbortSignal.any([ctl.signal, this.abort.signal]),
        ...(this.opts.insecure ? { tls: { rejectUnauthorized: false } } : {}),
      });
    } catch (e) {
      if (ctl.signal.aborted && ctl.signal.reason instanceof ImageError) throw ctl.signal.reason;
      throw e;
    } finally {
      clearTimeout(t);
    }
  }

  /**
   * GET path on the registry, authenticating on a 401 and following redirects (credentials go
   * only to the registry's own origin). Returns the final response, whatever its status, and
   * the controller that aborts its body.
   */
  async get(path: string, headers: Record<string, string> = {}): Promise<{ resp: Response; url: string; ctl: AbortController }> {
    let retried = false;
    for (;;) {
      const { resp, url, ctl } = await this.follow(`${this.base}${path}`, headers);
      if (resp.status !== 401 || retried) return { resp, url, ctl };
      const challenge = resp.headers.get("www-authenticate");
      const body = await readError(resp);
      if (!challenge) throw new ImageError(`registry ${this.host}: unauthorized (401) without a WWW-Authenticate challenge for GET ${path}${body}`);
      await this.authenticate(challenge);
      retried = true;
    }
  }

  /**
   * Any other request (HEAD, POST, PATCH, PUT: a push) to the registry's own origin, path or
   * absolute URL (an upload's Location), authenticating on a 401 once. `body` is a function
   * so that a retried request sends it again. Redirects are not followed.
   */
  async send(method: string, pathOrUrl: string, headers: Record<string, string> = {}, body?: () => BodyInit): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
    let retried = false;
    for (;;) {
      const h = { ...headers, ...(this.authorization ? { Authorization: this.authorization } : {}) };
      let resp: Response;
      try {
        resp = await this.raw(url, h, this.idle, new AbortController(), method, body?.());
      } catch (e) {
        if (e instanceof ImageError) throw e;
        throw new ImageError(`cannot reach registry ${this.host} (${method} ${url}): ${(e as Error).message ?? e}`);
      }
      if (resp.status !== 401 || retried) return resp;
      const challenge = resp.headers.get("www-authenticate");
      const detail = await readError(resp);
      if (!challenge) throw new ImageError(`registry ${this.host}: unauthorized (401) without a WWW-Authenticate challenge for ${method} ${pathOrUrl}${detail}`);
      await this.authenticate(challenge, "pull,push");
      retried = true;
    }
  }

  private async follow(start: string, headers: Record<string, string>): Promise<{ resp: Response; url: string; ctl: AbortController }> {
    const origin = new URL(start).origin;
    let url = start;
    for (let hop = 0; ; hop++) {
      const ctl = new AbortController();
      const h: Record<string, string> = { ...headers };
      if (this.authorization && new URL(url).origin === origin) h.Authorization = this.authorization;
      let resp: Response;
      try {
        resp = await this.raw(url, h, this.idle, ctl);
      } catch (e) {
        if (e instanceof ImageError) throw e;
        if (this.abort.signal.aborted) throw this.abort.signal.reason ?? e;
        throw new ImageError(`cannot reach registry ${this.host} (GET ${url}): ${(e as Error).message ?? e}`);
      }
      if (![301, 302, 303, 307, 308].includes(resp.status)) return { resp, url, ctl };
      const loc = resp.headers.get("location");
      await resp.body?.cancel();
      if (!loc) throw new ImageError(`registry ${this.host}: redirect ${resp.status} without Location for GET ${url}`);
      if (hop >= MAX_REDIRECTS) throw new ImageError(`registry ${this.host}: more than ${MAX_REDIRECTS} redirects for GET ${start}`);
      url = new URL(loc, url).toString();
    }
  }

  private basic(): string | undefined {
    if (this.opts.username === undefined) return undefined;
    return "Basic " + Buffer.from(`${this.opts.username}:${this.opts.password ?? ""}`).toString("base64");
  }

  private async authenticate(challenge: string, actions = "pull"): Promise<void> {
    const c = parseChallenge(challenge);
    if (c.scheme === "basic") {
      const b = this.basic();
      if (!b) throw new ImageError(`registry ${this.host} requires a username and password (Basic realm ${JSON.stringify(c.params.realm ?? "")})`);
      this.authorization = b;
      return;
    }
    if (c.scheme !== "bearer") throw new ImageError(`registry ${this.host}: unsupported authentication scheme ${JSON.stringify(challenge)}`);
    const realm = c.params.realm;
    if (!realm) throw new ImageError(`registry ${this.host}: Bearer challenge without a realm: ${challenge}`);
    let tokenUrl: URL;
    try {
      tokenUrl = new URL(realm);
    } catch {
      throw new ImageError(`registry ${this.host}: Bearer realm is not a URL: ${JSON.stringify(realm)}`);
    }
    if (c.params.service) tokenUrl.searchParams.set("service", c.params.service);
    for (const s of (c.params.scope ?? `repository:${this.ref.repository}:${actions}`).split(" ")) if (s) tokenUrl.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    const b = this.basic();
    if (b) headers.Authorization = b;
    let resp: Response;
    try {
      resp = await this.raw(tokenUrl.toString(), headers, this.idle);
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError(`cannot reach the token service of ${this.host} (${tokenUrl.origin}): ${(e as Error).message ?? e}`);
    }
    if (resp.status === 401 || resp.status === 403)
      throw new ImageError(`registry ${this.host}: authentication failed${b ? " (incorrect username or password)" : ""}: the token service answered ${resp.status}${await readError(resp)}`);
    if (!resp.ok) throw new ImageError(`registry ${this.host}: the token service answered ${resp.status} ${resp.statusText}${await readError(resp)}`);
    let j: any;
    try {
      j = await resp.json();
    } catch {
      throw new ImageError(`registry ${this.host}: the token service sent no JSON`);
    }
    const token = j?.token ?? j?.access_token;
    if (typeof token !== "string" || !token) throw new ImageError(`registry ${this.host}: the token service sent no token`);
    this.authorization = `Bearer ${token}`;
  }

  /** Turn a non-2xx answer into a clear error. */
  async fail(resp: Response, what: "manifest" | "blob", name: string): Promise<never> {
    const { text: detail, codes } = await readErrorCodes(resp);
    const where = `${this.ref.registry}/${this.ref.repository}`;
    if (resp.status === 401 || resp.status === 403) {
      const creds = this.opts.username !== undefined;
      throw new ImageError(
        `registry ${this.host}: unauthorized (${resp.status}) for ${where}: ` +
          (creds ? "incorrect username or password, or no pull access" : "the repository does not exist or needs credentials") +
          detail,
      );
    }
    if (resp.status === 404) {
      if (codes.includes("NAME_UNKNOWN")) throw new ImageError(`repository unknown: ${where} is not on ${this.host}${detail}`);
      if (what === "manifest") throw new ImageError(`manifest unknown: ${where}:${name} is not on ${this.host}${detail}`);
      throw new ImageError(`blob unknown: ${name} is not in ${where} on ${this.host}${detail}`);
    }
    if (resp.status === 429) throw new ImageError(`registry ${this.host}: too many requests (429) for ${what} ${name}${detail}`);
    throw new ImageError(`registry ${this.host} answered ${resp.status} ${resp.statusText} for ${what} ${where}${what === "manifest" ? ":" : "@"}${name}${detail}`);
  }
}

/** The registry's error body ({"errors":[{code,message}]}) as " (CODE: message; …)", or a text snippet. */
async function readError(resp: Response): Promise<string> {
  return (await readErrorCodes(resp)).text;
}

async function readErrorCodes(resp: Response): Promise<{ text: string; codes: string[] }> {
  let text = "";
  try {
    text = (await resp.text()).slice(0, 4096);
  } catch {
    return { text: "", codes: [] };
  }
  try {
    const j = JSON.parse(text);
    if (Array.isArray(j?.errors) && j.errors.length)
      return {
        text: ` (${j.errors.map((e: any) => [e?.code, e?.message].filter(Boolean).join(": ")).join("; ")})`,
        codes: j.errors.map((e: any) => String(e?.code ?? "")),
      };
    if (typeof j?.details === "string") return { text: ` (${j.details})`, codes: [] };
  } catch {
    /* not JSON */
  }
  const t = text.replace(/\s+/g, " ").trim().slice(0, 200);
  return { text: t ? ` (${t})` : "", codes: [] };
}

/** `Bearer realm="…",service="…",scope="…"` → { scheme: "bearer", params }. */
export function parseChallenge(h: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(h);
  if (!m) return { scheme: "", params: {} };
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const p of m[2]!.matchAll(re)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  return { scheme: m[1]!.toLowerCase(), params };
}

function checkDescriptor(d: any, what: string): Descriptor {
  if (!d || typeof d !== "object") throw new ImageError(`${what}: not a descriptor`);
  if (typeof d.mediaType !== "string") throw new ImageError(`${what}: no mediaType`);
  digestHex(d.digest, `${what} digest`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new ImageError(`${what} ${d.digest}: invalid size ${JSON.stringify(d.size)}`);
  return d as Descriptor;
}

/** The media type of a manifest: its own mediaType field, else Content-Type, else its shape. */
function manifestType(j: any, contentType: string | null): string {
  if (j && j.schemaVersion === 1) return MEDIA.schema1;
  if (typeof j?.mediaType === "string" && j.mediaType) return j.mediaType;
  const ct = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if ([...INDEX_TYPES, ...MANIFEST_TYPES, MEDIA.schema1, MEDIA.schema1Signed].includes(ct)) return ct;
  if (Array.isArray(j?.manifests)) return MEDIA.ociIndex;
  if (j?.config && Array.isArray(j?.layers)) return MEDIA.ociManifest;
  return ct || "(none)";
}

interface Fetched {
  bytes: Uint8Array;
  digest: string;
  mediaType: string;
  json: any;
}

async function readLimited(resp: Response, limit: number, what: string, ctl: AbortController): Promise<Uint8Array> {
  const len = Number(resp.headers.get("content-length") ?? NaN);
  if (len > limit) {
    ctl.abort();
    throw new ImageError(`${what} is too large (${len} bytes, at most ${limit})`);
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  if (resp.body) {
    try {
      for await (const c of resp.body as unknown as AsyncIterable<Uint8Array>) {
        n += c.length;
        if (n > limit) {
          ctl.abort();
          throw new ImageError(`${what} is too large (more than ${limit} bytes)`);
        }
        parts.push(c);
      }
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError(`${what}: the connection failed after ${n} bytes: ${(e as Error).message ?? e}`);
    }
  }
  if (!Number.isNaN(len) && n !== len) throw new ImageError(`${what}: the connection closed after ${n} of ${len} bytes`);
  return Buffer.concat(parts);
}

async function fetchManifest(c: Client, reference: string, expect?: Descriptor): Promise<Fetched> {
  const { resp, ctl } = await c.get(`/v2/${c.ref.repository}/manifests/${reference}`, { Accept: ACCEPT });
  if (!resp.ok) await c.fail(resp, "manifest", reference);
  const what = `manifest ${c.ref.registry}/${c.ref.repository}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
  const bytes = await readLimited(resp, MAX_MANIFEST, what, ctl);
  const digest = sha256(bytes);
  if (reference.startsWith("sha256:") && digest !== reference)
    throw new ImageError(`digest mismatch: ${what}: the registry sent content with digest ${digest}`, "digest-mismatch");
  const header = resp.headers.get("docker-content-digest");
  if (!reference.startsWith("sha256:") && header && header.startsWith("sha256:") && header !== digest)
    throw new ImageError(`digest mismatch: ${what}: Docker-Content-Digest says ${header}, the content hashes to ${digest}`, "digest-mismatch");
  if (expect && bytes.length !== expect.size) throw new ImageError(`size mismatch: ${what}: ${bytes.length} bytes, the index says ${expect.size}`);
  let json: any;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ImageError(`${what}: not JSON`);
  }
  const mediaType = manifestType(json, resp.headers.get("content-type"));
  if (mediaType === MEDIA.schema1 || mediaType === MEDIA.schema1Signed)
    throw new ImageError(`${what} is a Docker schema 1 manifest (${mediaType}), which is deprecated and not supported; push the image again with a current client`);
  if (![...INDEX_TYPES, ...MANIFEST_TYPES].includes(mediaType)) throw new ImageError(`${what}: unsupported manifest media type ${JSON.stringify(mediaType)}`);
  if (expect && expect.mediaType !== mediaType && [...INDEX_TYPES, ...MANIFEST_TYPES].includes(expect.mediaType) && INDEX_TYPES.includes(expect.mediaType) !== INDEX_TYPES.includes(mediaType))
    throw new ImageError(`${what}: the index says ${expect.mediaType}, the registry sent ${mediaType}`);
  return { bytes, digest, mediaType, json };
}

/** GET a blob and stream it into the store, checked against its descriptor. */
async function fetchBlob(c: Client, store: Store, d: Descriptor, progress?: PullOptions["progress"]): Promise<void> {
  const { resp, ctl } = await c.get(`/v2/${c.ref.repository}/blobs/${d.digest}`);
  if (!resp.ok) await c.fail(resp, "blob", d.digest);
  const len = resp.headers.get("content-length");
  if (len !== null && Number(len) !== d.size) {
    ctl.abort();
    throw new ImageError(`size mismatch: blob ${d.digest}: the registry offers ${len} bytes, the manifest says ${d.size}`);
  }
  if (!resp.body) throw new ImageError(`blob ${d.digest}: empty response from ${c.host}`);
  const idle = c.idle;
  const host = c.host;
  const body = resp.body;
  async function* counted(): AsyncGenerator<Uint8Array> {
    let done = 0;
    let reported = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(new ImageError(`blob ${d.digest}: no data from ${host} for ${idle / 1000}s`)), idle);
    };
    arm();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        done += chunk.length;
        if (done > d.size) throw new ImageError(`size mismatch: blob ${d.digest}: the registry sent more than the ${d.size} bytes the manifest says`);
        if (progress && (done - reported >= 1 << 20 || done === d.size)) {
          reported = done;
          progress({ digest: d.digest, done, total: d.size, phase: "downloading" });
        }
        yield chunk;
      }
    } catch (e) {
      if (e instanceof ImageError) throw e;
      if (ctl.signal.reason instanceof ImageError) throw ctl.signal.reason;
      if (c.abort.signal.aborted) throw c.abort.signal.reason ?? e;
      throw new ImageError(`blob ${d.digest}: the connection to ${host} failed after ${done} of ${d.size} bytes: ${(e as Error).message ?? e}`);
    } finally {
      clearTimeout(timer);
    }
    if (done !== d.size) throw new ImageError(`blob ${d.digest}: the connection to ${host} closed after ${done} of ${d.size} bytes`);
  }
  try {
    await store.writeBlob(counted(), d.digest, d.size);
  } catch (e) {
    ctl.abort();
    if (e instanceof ImageError && e.kind === "digest-mismatch")
      throw new ImageError(`${e.message}: blob from ${c.ref.registry}/${c.ref.repository}`, e.kind);
    throw e;
  }
  progress?.({ digest: d.digest, done: d.size, total: d.size, phase: "done" });
}

/** Fetch a blob small enough to hold (the config) and check it against its descriptor. */
async function fetchSmallBlob(c: Client, d: Descriptor, limit: number): Promise<Uint8Array> {
  const { resp, ctl } = await c.get(`/v2/${c.ref.repository}/blobs/${d.digest}`);
  if (!resp.ok) await c.fail(resp, "blob", d.digest);
  const bytes = await readLimited(resp, Math.min(limit, d.size), `blob ${d.digest}`, ctl);
  const got = sha256(bytes);
  if (got !== d.digest) throw new ImageError(`digest mismatch: expected ${d.digest}, got ${got} (${bytes.length} bytes): blob from ${c.ref.registry}/${c.ref.repository}`, "digest-mismatch");
  if (bytes.length !== d.size) throw new ImageError(`size mismatch for ${d.digest}: expected ${d.size} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * Fetch the manifest (resolving an index/list for the platform), the config and every layer
 * blob into the store (skipping blobs it has), verifying digests and sizes.
 */
export async function pullImage(ref: Reference, store: Store, opts: PullOptions = {}): Promise<Pulled> {
  const c = new Client(ref, opts);
  const name = formatReference(ref);
  const want = normalizePlatform(opts.platform ?? hostPlatform());
  await c.connect();

  const top = await fetchManifest(c, ref.digest ?? ref.tag ?? "latest");
  let image = top;
  let index: Fetched | undefined;
  let chosen: Descriptor | undefined;
  for (let depth = 0; INDEX_TYPES.includes(image.mediaType); depth++) {
    if (depth >= 2) throw new ImageError(`${name}: indexes nested too deep`);
    if (!Array.isArray(image.json.manifests)) throw new ImageError(`${name}: index ${image.digest} has no manifests list`);
    index = image;
    const entries = image.json.manifests.map((d: any, i: number) => checkDescriptor(d, `${name}: index entry ${i}`));
    chosen = selectManifest({ manifests: entries }, want, name);
    image = await fetchManifest(c, chosen.digest, chosen);
  }

  const m = image.json;
  const config = checkDescriptor(m.config, `${name}: config`);
  if (!CONFIG_TYPES.includes(config.mediaType))
    throw new ImageError(`${name} is not a container image: config media type ${JSON.stringify(config.mediaType)} (expected ${CONFIG_TYPES.join(" or ")})`);
  if (!Array.isArray(m.layers)) throw new ImageError(`${name}: manifest ${image.digest} has no layers list`);
  const layers = (m.layers as any[]).map((d, i) => checkDescriptor(d, `${name}: layer ${i}`));
  for (const l of layers)
    if (!LAYER_TYPES.includes(l.mediaType))
      throw new ImageError(`${name}: unsupported layer media type ${JSON.stringify(l.mediaType)} for ${l.digest} (supported: ${LAYER_TYPES.join(", ")})`);

  const configBytes = store.hasBlob(config.digest) ? store.readBlob(config.digest) : await fetchSmallBlob(c, config, MAX_CONFIG);
  let configJson: any;
  try {
    configJson = JSON.parse(new TextDecoder().decode(configBytes));
  } catch {
    throw new ImageError(`${name}: config ${config.digest} is not JSON`);
  }
  const diffIds = configJson?.rootfs?.diff_ids;
  if (Array.isArray(diffIds) && diffIds.length !== layers.length)
    throw new ImageError(`${name}: the manifest has ${layers.length} layers, the config ${diffIds.length} diff ids`);

  // Layers, each once, `concurrency` at a time; the first failure aborts the rest, and we
  // return only when every download has stopped (so no partial file outlives the call).
  const unique = [...new Map(layers.map((l) => [l.digest, l])).values()];
  const queue = [...unique];
  let failure: unknown;
  const worker = async () => {
    for (let d = queue.shift(); d && failure === undefined; d = queue.shift()) {
      if (store.hasBlob(d.digest)) {
        opts.progress?.({ digest: d.digest, done: d.size, total: d.size, phase: "exists" });
        continue;
      }
      try {
        await fetchBlob(c, store, d, opts.progress);
      } catch (e) {
        if (failure === undefined) {
          failure = e;
          c.abort.abort(e);
        }
      }
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 3, unique.length || 1));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure !== undefined) throw failure;

  await store.writeBlob(configBytes, config.digest, config.size);
  await store.writeBlob(image.bytes, image.digest, image.bytes.length);
  if (index) await store.writeBlob(index.bytes, index.digest, index.bytes.length);

  const platform: Platform = chosen?.platform
    ? normalizePlatform(chosen.platform)
    : normalizePlatform({ os: configJson?.os ?? "", architecture: configJson?.architecture ?? "", variant: configJson?.variant });
  const out: Pulled = {
    manifestDigest: image.digest,
    manifestMediaType: image.mediaType,
    manifest: m,
    config: configJson,
    configDigest: config.digest,
    layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
    platform,
  };
  if (index) {
    out.indexDigest = index.digest;
    out.indexMediaType = index.mediaType;
  }
  return out;
}
