// Registry credentials, kept where Docker keeps them: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json, as {"auths": {"<registry>": {"auth": base64("user:password")}}}, so
// that `docker login`'s file serves runjs and runjs's serves Docker (and Podman, which reads
// it too). Docker Hub's key is "https://index.docker.io/v1/". Credential helpers
// (credsStore, credHelpers) are programs of their own that runjs does not run: a registry
// they hold is refused with a clear error rather than pulled anonymously by surprise.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ImageError } from "./store.ts";

const HUB_KEY = "https://index.docker.io/v1/";

export function dockerConfigPath(): string {
  const dir = process.env.DOCKER_CONFIG || join(process.env.HOME || "/root", ".docker");
  return join(dir, "config.json");
}

/** The config.json key of a registry (as parsed references name it: docker.io, host:port). */
export function registryKey(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" || registry === "registry-1.docker.io" ? HUB_KEY : registry;
}

function readConfig(): any {
  const p = dockerConfigPath();
  if (!existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch (e: any) {
    throw new ImageError(`${p}: not JSON: ${e.message}`);
  }
}

/** The saved credentials for a registry, if there are any. */
export function savedCredentials(registry: string): { username: string; password: string } | undefined {
  const cfg = readConfig();
  const key = registryKey(registry);
  const entry = cfg.auths?.[key] ?? cfg.auths?.[`https://${key}`] ?? cfg.auths?.[`http://${key}`];
  if (entry?.auth) {
    const text = Buffer.from(String(entry.auth), "base64").toString("utf8");
    const i = text.indexOf(":");
    if (i < 0) throw new ImageError(`${dockerConfigPath()}: auths["${key}"].auth is not base64 of user:password`);
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  const helper = cfg.credHelpers?.[key] ?? cfg.credsStore;
  if (helper && entry !== undefined)
    throw new ImageError(`${dockerConfigPath()}: the credentials for ${key} are kept by docker-credential-${helper}, which runjs does not run: give --creds USER:PASSWORD`);
  return undefined;
}

function writeConfig(cfg: any): void {
  const p = dockerConfigPath();
  mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
  const tmp = `${p}.runjs-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cfg, null, "\t") + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, p);
}

export function saveCredentials(registry: string, username: string, password: string): string {
  const cfg = readConfig();
  cfg.auths ??= {};
  const key = registryKey(registry);
  cfg.auths[key] = { ...(cfg.auths[key] ?? {}), auth: Buffer.from(`${username}:${password}`).toString("base64") };
  writeConfig(cfg);
  return dockerConfigPath();
}

/** Forget a registry's credentials; false if there were none. */
export function removeCredentials(registry: string): boolean {
  const cfg = readConfig();
  const key = registryKey(registry);
  if (!cfg.auths?.[key]) return false;
  delete cfg.auths[key];
  writeConfig(cfg);
  return true;
}
