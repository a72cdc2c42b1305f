// The front end's containers on disk: one directory each in the store, and the record that
// says what the container is and how it last ended.
//
//   STORE/containers/<id>/container.json   name, image, command, created, state, exit code
//   STORE/containers/<id>/config.json      the bundle's config (spec.ts)
//   STORE/containers/<id>/{upper,work}     the overlay's writable half
//   STORE/containers/<id>/rootfs           the overlay mount (while the container exists)
//   STORE/containers/<id>/etc/             its own hostname, hosts and resolv.conf
//   STORE/inuse/<image id>/<id>            pins the image (image rm refuses it)
//
// container.json is the front end's truth about a container; the runtime's state directory
// (src/container/) is the truth about whether its init is alive, and the front end asks it.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { digestHex, type Store } from "../images/store.ts";
import { networkDel, type PortMapping } from "./network.ts";
import { unmount } from "./overlay.ts";
import { readTextIfExists } from "../../sys/fs.ts";
import { removeVolumes } from "./volumes.ts";

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  args: string[];
  created: string;
  status: "created" | "running" | "restarting" | "exited";
  exitCode?: number;
  finished?: string;
  /** How it is attached to a network, for start. */
  net?: Net;
  /** Volumes made for the image's Volumes: removed with the container. */
  anonymousVolumes?: string[];
  /** The image's ExposedPorts ("80/tcp"), as Docker records them; published only with -p. */
  exposedPorts?: string[];
  /** --restart: what the monitor's cleanup does when the container exits (absent: no). */
  restartPolicy?: RestartPolicy;
  /** How many times the restart policy has started it again (Docker's RestartCount). */
  restartCount?: number;
  /** When it last started running (the restart back-off resets after 10 s of running). */
  started?: string;
  /** Detached with a terminal (-d -t): its monitor keeps the pty, `attach` reaches it. */
  tty?: boolean;
  /** stop or kill asked for its end: no restart policy starts it again (until start). */
  manuallyStopped?: boolean;
}

/** --restart no | on-failure[:N] | always | unless-stopped */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure's N: restarts at most (absent: no limit) */
  maximumRetryCount?: number;
}

export function parseRestart(s: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(s);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure"))
    throw new UsageError(`--restart ${JSON.stringify(s)}: no, on-failure[:MAX-RETRIES], always or unless-stopped`);
  return { name: m[1] as RestartPolicy["name"], ...(m[2] !== undefined ? { maximumRetryCount: Number(m[2]) } : {}) };
}

/**
 * Docker's rules: always and unless-stopped restart whatever the exit status, on-failure only
 * for a non-zero one and at most N times; none after stop or kill. With no daemon to
 * restart, unless-stopped is always here.
 */
export function shouldRestart(c: ContainerRecord, code: number | undefined): boolean {
  const p = c.restartPolicy;
  if (!p || p.name === "no" || c.manuallyStopped) return false;
  if (p.name === "on-failure") return code !== 0 && (p.maximumRetryCount === undefined || (c.restartCount ?? 0) < p.maximumRetryCount);
  return true;
}

/** The wait before the next restart: 100 ms doubled for each restart in a row, at most a minute; reset after 10 s of running. */
export function restartDelay(c: ContainerRecord, now = Date.now()): number {
  const ran = c.started ? now - Date.parse(c.started) : 0;
  if (ran >= 10_000) return 100;
  return Math.min(60_000, 100 * 2 ** Math.min(10, c.restartCount ?? 0));
}

/** How a container is attached to a network: stored once, in its record. */
export interface Net {
  bridged: boolean;
  ports: PortMapping[];
  /** A named network's CNI list (absent: runjs's bridge). */
  list?: any;
}

/** The record, with the error a detached start that failed left in it. */
export type Saved = ContainerRecord & { error?: string };

export const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function dirOf(store: Store, id: string): string {
  return join(store.root, "containers", id);
}

export function listContainers(store: Store): ContainerRecord[] {
  const d = join(store.root, "containers");
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((id) => existsSync(join(d, id, "container.json")))
    .map((id) => load(store, id) as ContainerRecord)
    .sort((a, b) => b.created.localeCompare(a.created));
}

/** By name, full id or unique id prefix. */
export function findContainer(store: Store, key: string): ContainerRecord {
  const all = listContainers(store);
  const byName = all.find((c) => c.name === key);
  if (byName) return byName;
  const m = all.filter((c) => c.id.startsWith(key));
  if (m.length === 1 && /^[a-f0-9]+$/.test(key)) return m[0]!;
  if (m.length > 1) throw new UsageError(`${key}: ambiguous container id prefix (${m.length} containers)`);
  throw new UsageError(`no such container: ${key}`);
}

export function load(store: Store, id: string): Saved {
  return JSON.parse(readFileSync(join(dirOf(store, id), "container.json"), "utf8"));
}

export function save(store: Store, c: ContainerRecord): void {
  writeFileSync(join(dirOf(store, c.id), "container.json"), JSON.stringify(c, null, 1));
}

/** Undo a container's files: its anonymous volumes, network, overlay mount, directory, image pin. */
export function removeFiles(store: Store, id: string, imageId?: string): void {
  const dir = dirOf(store, id);
  try {
    removeVolumes(store, load(store, id).anonymousVolumes ?? []);
  } catch {
    /* no record yet */
  }
  try {
    networkDel(dir); // a no-op unless a crash left the network attached
  } catch {
    /* the rest is removed all the same */
  }
  // a network DEL that failed keeps the namespace for a retry; the container's removal is final
  unmount(join(dir, "netns"));
  unmount(join(dir, "rootfs"));
  rmSync(dir, { recursive: true, force: true });
  if (imageId) rmSync(join(store.root, "inuse", digestHex(imageId), id), { force: true });
}

/** What the monitor's verbs read from monitor.json (the network stays in container.json). */
export interface MonitorConfig {
  rm: boolean;
  runtimeRoot: string;
  /** The monitor's pid, once it runs: it is done when it is gone (monitorAlive). */
  pid?: number;
}

export function monitorConfig(store: Store, id: string): MonitorConfig {
  return JSON.parse(readFileSync(join(dirOf(store, id), "monitor.json"), "utf8"));
}

/**
 * The container's monitor still runs (its command line names the container): between the
 * init's exit and the recorded status it tears the container down, network first.
 */
export function monitorAlive(store: Store, id: string): boolean {
  try {
    const { pid } = monitorConfig(store, id);
    return !!pid && (readTextIfExists(`/proc/${pid}/cmdline`) ?? "").includes(id);
  } catch {
    return false;
  }
}
