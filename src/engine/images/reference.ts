// Image references, normalised the way Docker does it, so that "busybox", "library/busybox"
// and "docker.io/library/busybox:latest" all name the same image.
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] path-component ( "/" path-component )*
//   domain     := host [ ":" port ]                        (the registry)
//   path-comp. := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [\w][\w.-]{0,127}
//   digest     := "sha256:" 64 lowercase hex
//
// The first component of the name is a registry only if it contains a "." or a ":" or is
// "localhost" (or has an upper-case letter, which a repository may not); otherwise the image
// is on Docker Hub (docker.io, whose API lives at registry-1.docker.io), and a one-component
// name there is in the "library/" namespace of official images. A reference with neither tag
// nor digest means ":latest"; one with a digest keeps the tag only if it was written.
import { ImageError } from "./store.ts";

export interface Reference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_REGISTRY = "docker.io";
const LEGACY_DEFAULT_REGISTRY = "index.docker.io";
const DEFAULT_API_HOST = "registry-1.docker.io";
const MAX_NAME = 255;

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

function invalid(s: string, why: string): never {
  throw new ImageError(`invalid reference ${JSON.stringify(s)}: ${why}`);
}

/** Parse and normalise an image reference; throws ImageError saying what is wrong. */
export function parseReference(s: string): Reference {
  if (typeof s !== "string" || s === "") invalid(String(s), "empty");
  if (s !== s.trim() || /\s/.test(s)) invalid(s, "contains white space");

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest.includes("@")) invalid(s, "more than one \"@\"");
    if (!DIGEST_RE.test(digest)) {
      if (ANY_DIGEST_RE.test(digest) && !digest.startsWith("sha256:")) invalid(s, `unsupported digest algorithm ${JSON.stringify(digest.split(":")[0])} (only sha256)`);
      invalid(s, `digest must be "sha256:" and 64 lowercase hex digits, not ${JSON.stringify(digest)}`);
    }
  }

  // The tag is after the last ":" that follows the last "/" (a ":" before it is a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalid(s, tag === "" ? "empty tag" : `invalid tag ${JSON.stringify(tag)} (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`);
  }

  const name = rest;
  if (name === "") invalid(s, "no repository name");
  if (/^[a-f0-9]{64}$/.test(name) && !digest && !tag)
    invalid(s, "a 64-digit hexadecimal string is an image id, not a repository name");

  let registry = DEFAULT_REGISTRY;
  let repository = name;
  const slash = name.indexOf("/");
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      registry = first;
      repository = name.slice(slash + 1);
      if (!DOMAIN_RE.test(registry)) invalid(s, `invalid registry ${JSON.stringify(registry)}`);
    }
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (repository === "") invalid(s, "no repository name");
  if (registry === DEFAULT_REGISTRY && !repository.includes("/")) repository = `library/${repository}`;

  for (const c of repository.split("/")) {
    if (c === "") invalid(s, "empty path component");
    if (!PATH_COMPONENT_RE.test(c)) {
      if (c.toLowerCase() !== c && PATH_COMPONENT_RE.test(c.toLowerCase())) invalid(s, "repository name must be lowercase");
      invalid(s, `invalid repository component ${JSON.stringify(c)} (lowercase letters and digits, separated by ".", "_", "__" or "-")`);
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME) invalid(s, `repository name longer than ${MAX_NAME} characters`);

  const r: Reference = { registry, repository };
  if (tag !== undefined) r.tag = tag;
  else if (digest === undefined) r.tag = "latest";
  if (digest !== undefined) r.digest = digest;
  return r;
}

/** The canonical form: "docker.io/library/busybox:latest", "host:5000/x@sha256:…". */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** The repository's full name without tag or digest. */
/** A name as Docker spells it in full: "busybox" → "docker.io/library/busybox:latest". */
export function normalizeName(s: string): string {
  return formatReference(parseReference(s));
}

export function referenceName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

/** The host (and port) whose /v2/ API serves this registry. */
export function apiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY || registry === LEGACY_DEFAULT_REGISTRY ? DEFAULT_API_HOST : registry;
}
