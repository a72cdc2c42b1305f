// Containers of the front end: an image, a copy-on-write root filesystem, an OCI bundle, and
// the runtime library run in-process on it.
//
//   STORE/containers/<id>/container.json   name, image, command, created, state, exit code
//   STORE/containers/<id>/config.json      the bundle's config (spec.ts)
//   STORE/containers/<id>/{upper,work}     the overlay's writable half
//   STORE/containers/<id>/rootfs           the overlay mount (while the container exists)
//   STORE/containers/<id>/etc/             its own hostname, hosts and resolv.conf
//   STORE/inuse/<image id>/<id>            pins the image (image rm refuses it)
// Everything is checked before anything is made; whatever was made is removed on failure and,
// with --rm, when the container exits.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isStateError } from "../../errors.ts";
import { findImage } from "../images/image.ts";
import { formatReference, parseReference } from "../images/reference.ts";
import { digestHex, ImageError, Store } from "../images/store.ts";
import { mountOverlay, unmount } from "./overlay.ts";
import { close, POLLIN, poll1, read, SIGKILL, socketpair, writeAll } from "../../sys/libc.ts";
import * as seccompLib from "../../sys/libseccomp.ts";
import { containerSpec, parseVolume, RunError, type RunFlags } from "./spec.ts";
import { checkPortFree, findNetwork, networkAdd, networkDel, parsePublish, type PortMapping } from "./network.ts";

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  args: string[];
  created: string;
  status: "created" | "running" | "exited";
  exitCode?: number;
  finished?: string;
  /** How it is attached to a network, for start. */
  net?: Net;
  /** Volumes made for the image's Volumes: removed with the container. */
  anonymousVolumes?: string[];
  /** The image's ExposedPorts ("80/tcp"), as Docker records them; published only with -p. */
  exposedPorts?: string[];
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Where `run -d` prints the id (start prints the name instead). */

function dirOf(store: Store, id: string): string {
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
  if (m.length > 1) throw new RunError(`${key}: ambiguous container id prefix (${m.length} containers)`);
  throw new RunError(`no such container: ${key}`);
}

/** The record, with the error a start that failed left in it. */
type Saved = ContainerRecord & { error?: string };

function load(store: Store, id: string): Saved {
  return JSON.parse(readFileSync(join(dirOf(store, id), "container.json"), "utf8"));
}

function save(store: Store, c: ContainerRecord): void {
  writeFileSync(join(dirOf(store, c.id), "container.json"), JSON.stringify(c, null, 1));
}

/** Undo a container's files: the overlay mount, its directory, the image pin. */
function removeFiles(store: Store, id: string, imageId?: string): void {
  const dir = dirOf(store, id);
  try {
    for (const v of load(store, id).anonymousVolumes ?? []) rmSync(join(store.root, "volumes", v), { recursive: true, force: true });
  } catch {
    /* no record yet */
  }
  try {
    networkDel(dir); // a no-op unless a crash left the network attached
  } catch {
    /* the rest is removed all the same */
  }
  unmount(join(dir, "rootfs"));
  rmSync(dir, { recursive: true, force: true });
  if (imageId) rmSync(join(store.root, "inuse", digestHex(imageId), id), { force: true });
}

export interface RunEnv {
  storage?: string;
  runtimeRoot: string;
  warn: (m: string) => void;
}

/** What a run ended with: attached, the container's exit status; detached (-d), its id. */
export type RunOutcome = { detached: false; code: number } | { detached: true; id: string };

export async function containerRun(flags: RunFlags, env: RunEnv): Promise<RunOutcome> {
  let f = flags;
  // 1. everything that can be checked, before anything exists
  const store = new Store(env.storage);
  let image;
  if (f.detach && f.tty) throw new RunError("-d with -t: a detached container has no terminal to give (not supported yet)");
  try {
    image = findImage(store, f.image, (s) => {
      try {
        return formatReference(parseReference(s));
      } catch {
        return undefined;
      }
    });
  } catch (e) {
    if (e instanceof ImageError) throw new RunError(`unknown image ${f.image}: pull or import it first (runjs image pull ${f.image})`);
    throw e;
  }
  if (f.name !== undefined && !NAME_RE.test(f.name)) throw new RunError(`--name ${JSON.stringify(f.name)}: use letters, digits, _ . - (not first)`);
  for (const v of f.volumes)
    if (!v.named && !existsSync(v.source)) throw new RunError(`--volume ${v.given}: ${v.source} does not exist on the host`);
  const ports = (f.publish ?? []).map(parsePublish);
  const named = ["none", "host", "bridge"].includes(f.network) ? undefined : findNetwork(store.root, f.network);
  if (!named && !["none", "host", "bridge"].includes(f.network))
    throw new RunError(`--network ${JSON.stringify(f.network)}: no such network (none, host, bridge, or a CNI network list named so in ${join(store.root, "networks")} or /etc/cni/net.d)`);
  if (ports.length && f.network !== "bridge" && !named) throw new RunError(`--publish needs --network bridge (this container's network is ${f.network})`);
  for (const p of ports) checkPortFree(p);
  const id = new Bun.CryptoHasher("sha256").update(crypto.getRandomValues(new Uint8Array(32))).digest("hex");
  const name = f.name ?? `c-${id.slice(0, 12)}`;
  const cfg = JSON.parse(new TextDecoder().decode(store.readBlob(image.id)));
  const hostname = f.hostname ?? id.slice(0, 12);
  // The image's Volumes that no -v covers get a volume of their own (Docker's anonymous volumes)
  const covered = new Set(f.volumes.map((v) => v.destination.replace(/\/+$/, "")));
  const anonymous = Object.keys(cfg.config?.Volumes ?? {})
    .map((p) => p.replace(/\/+$/, ""))
    .filter((p) => p.startsWith("/") && !covered.has(p))
    .map((p, i) => ({ name: `${id.slice(0, 16)}-anon-${i}`, path: p }));
  f = { ...f, volumes: [...f.volumes, ...anonymous.map((a) => parseVolume(`${a.name}:${a.path}`))] };

  // 2. the container's files; from here on, undone on failure
  const dir = dirOf(store, id);
  const rec: ContainerRecord = {
    id,
    name,
    image: image.names[0] ?? image.id,
    imageId: image.id,
    args: [],
    created: new Date().toISOString(),
    status: "created",
    ...(anonymous.length ? { anonymousVolumes: anonymous.map((a) => a.name) } : {}),
    ...(cfg.config?.ExposedPorts ? { exposedPorts: Object.keys(cfg.config.ExposedPorts) } : {}),
  };
  let made = false;
  try {
    store.withLock(() => {
      if (listContainers(store).some((c) => c.name === name)) throw new RunError(`--name ${name}: already used by another container`);
      for (const d of ["upper", "work", "rootfs", "etc"]) mkdirSync(join(dir, d), { recursive: true, mode: 0o711 });
      made = true;
      save(store, rec);
    });
    mkdirSync(join(store.root, "inuse", digestHex(image.id)), { recursive: true });
    writeFileSync(join(store.root, "inuse", digestHex(image.id), id), name);
    const lowers = image.layers.map((l) => store.layerPath(l.diffId)).reverse();
    const rootfs = join(dir, "rootfs");
    mountOverlay(lowers, join(dir, "upper"), join(dir, "work"), rootfs);
    const etc = { hostname: join(dir, "etc/hostname"), hosts: join(dir, "etc/hosts"), resolv: join(dir, "etc/resolv.conf") };
    writeFileSync(etc.hostname, hostname + "\n");
    writeFileSync(etc.hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`);
    writeFileSync(etc.resolv, f.network === "none" ? "" : existsSync("/etc/resolv.conf") ? readFileSync("/etc/resolv.conf") : "");
    const read = (p: string) => (existsSync(join(rootfs, p)) ? readFileSync(join(rootfs, p), "utf8") : "");
    // A named volume is made on first use, with what the image has at its destination
    // (Docker's rule); later containers find it as the earlier ones left it.
    const volumePath = (name: string) => join(store.root, "volumes", name, "_data");
    for (const vol of f.volumes.filter((v) => v.named)) {
      const data = volumePath(vol.source);
      if (existsSync(data)) continue;
      const tmp = store.tmpPath("volume");
      mkdirSync(tmp, { recursive: true });
      const from = join(rootfs, vol.destination);
      if (existsSync(from)) Bun.spawnSync(["cp", "-a", `${from}/.`, tmp]);
      mkdirSync(join(store.root, "volumes", vol.source), { recursive: true });
      try {
        renameSync(tmp, data);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // made by another container meanwhile
      }
    }
    const spec = containerSpec(cfg.config ?? {}, f, {
      rootfs,
      hostname,
      etc,
      passwd: read("etc/passwd"),
      group: read("etc/group"),
      cgroupsPath: `${f.cgroupParent ?? "/runjs"}/${id}`,
      hostEnv: process.env,
      readFile: (p) => readFileSync(p, "utf8"),
      isKnownSyscall: (n) => seccompLib.syscallResolveName(n) !== -1,
      volumePath,
      initBinary: ["/usr/bin/tini-static", "/usr/bin/catatonit"].find((b) => existsSync(b)),
    });
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec, null, 1));
    rec.args = spec.process!.args!;
    rec.status = "running";
    save(store, rec);
  } catch (e) {
    if (made) removeFiles(store, id, image.id);
    throw e;
  }

  const net: Net = { bridged: f.network === "bridge" || !!named, ports, list: named?.list };
  rec.net = net;
  save(store, rec);
  if (f.detach) return { detached: true, id: await detach(store, rec, f.rm, env) };

  // 3. run it, attached, with the runtime library in-process
  return { detached: false, code: await runAttached(store, rec, f.rm, env, net) };
}

interface Net {
  bridged: boolean;
  ports: PortMapping[];
  /** A named network's CNI list (absent: runjs's bridge). */
  list?: any;
}

/**
 * create, then (bridge) the CNI ADD into the init's network namespace, then start: the
 * network is there before the container's program runs. Undone on failure.
 */
async function startContainer(store: Store, rec: ContainerRecord, runtimeRoot: string, net: Net, warn: (m: string) => void, attached = true) {
  const dir = dirOf(store, rec.id);
  const { create } = await import("../../container/create.ts");
  const { releaseInit, teardown } = await import("../../container/lifecycle.ts");
  const { unlock } = await import("../../container/state.ts");
  // a terminal shows "\n" as "\r\n", as Docker's does (runc's CLI clears ONLCR)
  const c = create({ root: runtimeRoot, id: rec.id, bundle: dir, attached, keepOnlcr: true, warn });
  try {
    if (net.bridged) networkAdd(dir, store.root, rec.id, `/proc/${c.state.pid}/ns/net`, net.ports, net.list);
    releaseInit(c.dir, c.state);
  } catch (e) {
    teardown(c.dir, c.state, warn);
    try {
      networkDel(dir);
    } catch {
      /* reported by the first error */
    }
    throw e;
  }
  unlock(c.lockFd);
  return c;
}

async function waitAndTeardown(c: Awaited<ReturnType<typeof startContainer>>, dir: string, runtimeRoot: string, id: string, warn: (m: string) => void): Promise<number> {
  const { teardown } = await import("../../container/lifecycle.ts");
  const { attach } = await import("../../container/run.ts");
  const { withContainer } = await import("../../container/state.ts");
  const code = await attach(c.proc, c.master, () => withContainer(runtimeRoot, id, (x) => teardown(x.dir, x.st, warn)));
  networkDel(dir);
  return code;
}

async function runAttached(store: Store, rec: ContainerRecord, rm: boolean, env: RunEnv, net: Net): Promise<number> {
  const dir = dirOf(store, rec.id);
  let code: number;
  try {
    const c = await startContainer(store, rec, env.runtimeRoot, net, env.warn);
    code = await waitAndTeardown(c, dir, env.runtimeRoot, rec.id, env.warn);
  } catch (e) {
    removeFiles(store, rec.id, rec.imageId);
    throw e;
  }
  if (rm) removeFiles(store, rec.id, rec.imageId);
  else if (existsSync(dir)) {
    unmount(join(dir, "rootfs"));
    Object.assign(rec, { status: "exited", exitCode: code, finished: new Date().toISOString() });
    save(store, rec);
  }
  return code;
}

/**
 * -d: runjs-init's monitor mode (native/monitor.c), a few hundred kilobytes that stay with
 * the container: it runs `container start-detached` (create and start, the helper not
 * waiting, so the kernel reparents the container's init to the monitor, a child subreaper),
 * copies the container's output to container.log as Docker's json-file lines, writes the
 * init's exit status to the exit file, then runs `container cleanup`. start-detached says on
 * a socket it inherits as fd 3 (--status-fd 3) whether the container runs or why not, in one
 * JSON line; we wait for that line (5 s at most) and return the container's id.
 */
async function detach(store: Store, rec: ContainerRecord, rm: boolean, env: RunEnv): Promise<string> {
  const dir = dirOf(store, rec.id);
  // what only the monitor's commands need; the network stays in container.json, where start reads it too
  writeFileSync(join(dir, "monitor.json"), JSON.stringify({ rm, runtimeRoot: env.runtimeRoot }));
  rmSync(join(dir, "exit"), { force: true });
  rec.status = "created";
  save(store, rec);
  const { helperPath } = await import("../../helper/session.ts");
  const self = process.argv[1]?.endsWith(".ts") ? [process.execPath, process.argv[1]] : [process.execPath];
  const runjs = (...a: string[]) => [...self, "--root", env.runtimeRoot, "container", ...a, rec.id, "--storage", store.root];
  const [mine, theirs] = socketpair();
  let p: ReturnType<typeof Bun.spawn>;
  try {
    p = Bun.spawn(
      [helperPath(), "monitor", join(dir, "container.log"), join(dir, "exit"), ...runjs("start-detached", "--status-fd", "3"), "--then", ...runjs("cleanup")],
      { stdio: ["ignore", "ignore", "ignore", theirs], detached: true },
    );
  } finally {
    close(theirs);
  }
  p.unref();
  let said: { status?: string; error?: string } | undefined;
  try {
    said = readStatus(mine, 5000);
  } finally {
    close(mine);
  }
  if (said?.status === "running") return rec.id;
  // it never ran: nothing of it stays. The monitor runs cleanup next; wait for it (awaiting
  // p.exited on an unref'd child would let the event loop end, and us with it)
  for (let j = 0; j < 400 && p.exitCode === null; j++) await Bun.sleep(5);
  const error = said?.error ?? load(store, rec.id).error;
  if (error !== undefined || p.exitCode !== null) removeFiles(store, rec.id, rec.imageId);
  if (error !== undefined) throw new RunError(error);
  if (p.exitCode !== null) throw new RunError(`the monitor exited (${p.exitCode}) before the container started`);
  throw new RunError("the container did not start within 5 s");
}

/** One JSON line from start-detached, or undefined at EOF or after ms milliseconds. */
function readStatus(fd: number, ms: number): { status?: string; error?: string } | undefined {
  const deadline = Date.now() + ms;
  const buf = new Uint8Array(65536);
  let len = 0;
  for (;;) {
    const nl = buf.subarray(0, len).indexOf(10);
    if (nl >= 0) return JSON.parse(new TextDecoder().decode(buf.subarray(0, nl)));
    const left = deadline - Date.now();
    if (left <= 0 || !poll1(fd, POLLIN, left)) return undefined;
    const n = read(fd, buf, len);
    if (n <= 0 || len + n >= buf.length) return undefined;
    len += n;
  }
}

/** start-detached's one line to run -d: running, or why not (see detach). */
function reportStatus(fd: number | undefined, said: { status: "running" } | { error: string }): void {
  if (fd === undefined) return;
  try {
    writeAll(fd, new TextEncoder().encode(JSON.stringify(said) + "\n"));
  } catch {
    /* run -d gave up waiting: the record says it too */
  }
  close(fd);
}

/**
 * Under the monitor: create and start; the container's output goes to the monitor's pipes.
 * statusFd: where run -d waits for the outcome (detach).
 */
export async function startDetached(store: Store, id: string, statusFd?: number): Promise<number> {
  const dir = dirOf(store, id);
  const { runtimeRoot } = JSON.parse(readFileSync(join(dir, "monitor.json"), "utf8"));
  const rec = load(store, id);
  const net: Net = rec.net ?? { bridged: false, ports: [] };
  const warn = (m: string) => appendFileSync(join(dir, "monitor.log"), `${new Date().toISOString()} ${m}\n`);
  try {
    await startContainer(store, rec, runtimeRoot, net, warn, false);
  } catch (e: any) {
    Object.assign(rec, { error: e.message, status: "exited" });
    save(store, rec);
    warn(e.message);
    reportStatus(statusFd, { error: e.message });
    return 1;
  }
  rec.status = "running";
  save(store, rec);
  reportStatus(statusFd, { status: "running" });
  return 0;
}

/** After the container's init is gone (run by the monitor): tear down, record the status. */
export async function cleanupDetached(store: Store, id: string): Promise<number> {
  const dir = dirOf(store, id);
  if (!existsSync(join(dir, "container.json"))) return 0; // removed (rm -f) while it ran
  const { rm, runtimeRoot } = JSON.parse(readFileSync(join(dir, "monitor.json"), "utf8"));
  const rec = load(store, id);
  const code = existsSync(join(dir, "exit")) ? Number(readFileSync(join(dir, "exit"), "utf8")) : undefined;
  const { deleteContainer } = await import("../../container/lifecycle.ts");
  try {
    deleteContainer(runtimeRoot, id, true, () => {});
  } catch (e) {
    if (!isStateError(e, "not-exist")) throw e;
  }
  networkDel(dir);
  if (rec.error) return 0; // start-detached failed; run -d removes it
  if (rm) removeFiles(store, id, rec.imageId);
  else {
    unmount(join(dir, "rootfs"));
    Object.assign(rec, { status: "exited", exitCode: code, finished: new Date().toISOString() });
    save(store, rec);
  }
  return 0;
}

/** stop: SIGTERM, then SIGKILL after `timeout` seconds; kill: one signal. */
export async function containerSignal(store: Store, key: string, runtimeRoot: string, sig: number, timeout?: number): Promise<string> {
  const c = findContainer(store, key);
  if (c.status !== "running") throw new RunError(`container ${c.name} is not running`);
  const { killContainer } = await import("../../container/lifecycle.ts");
  const exited = () => load(store, c.id).status === "exited";
  try {
    killContainer(runtimeRoot, c.id, sig, false);
  } catch (e) {
    if (!isStateError(e, "not-running", "not-exist")) throw e;
  }
  if (timeout === undefined) return c.name;
  for (let t = 0; t < timeout * 100 && !exited(); t++) await Bun.sleep(10);
  if (!exited()) {
    try {
      killContainer(runtimeRoot, c.id, SIGKILL, true);
    } catch {
      /* it went meanwhile */
    }
    for (let t = 0; t < 500 && !exited(); t++) await Bun.sleep(10);
  }
  return c.name;
}

export function containerLogs(store: Store, key: string): { stream: string; log: string; time: string }[] {
  const c = findContainer(store, key);
  const p = join(dirOf(store, c.id), "container.log");
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}


export async function containerRemove(store: Store, key: string, runtimeRoot: string, force: boolean): Promise<string> {
  const c = findContainer(store, key);
  const running = c.status === "running" && existsSync(join(runtimeRoot, c.id)); // its monitor may be gone
  if (running && !force) throw new RunError(`container ${c.name} is running: stop it first, or use --force`);
  if (force && running) {
    // kill it, and let its monitor's cleanup (network, runtime state) finish first: two
    // teardowns at once would race over the network namespace CNI's DEL needs
    const { killContainer } = await import("../../container/lifecycle.ts");
    try {
      killContainer(runtimeRoot, c.id, SIGKILL, true);
    } catch {
      /* stopped meanwhile */
    }
    for (let i = 0; i < 500 && load(store, c.id).status !== "exited"; i++) await Bun.sleep(10);
  }
  if (force) {
    const { deleteContainer } = await import("../../container/lifecycle.ts");
    try {
      deleteContainer(runtimeRoot, c.id, true, () => {});
    } catch (e) {
      if (!isStateError(e, "not-exist")) throw e;
    }
  }
  removeFiles(store, c.id, c.imageId);
  return c.name;
}

/** start: an exited container again, detached, on the root filesystem it left. */
export async function containerStart(store: Store, key: string, env: RunEnv): Promise<string> {
  const c = findContainer(store, key);
  if (c.status === "running") throw new RunError(`container ${c.name} is already running`);
  const image = store.images().find((r) => r.id === c.imageId);
  if (!image) throw new RunError(`container ${c.name}: its image ${c.imageId} is gone`);
  const dir = dirOf(store, c.id);
  const lowers = image.layers.map((l) => store.layerPath(l.diffId)).reverse();
  mountOverlay(lowers, join(dir, "upper"), join(dir, "work"), join(dir, "rootfs"));
  for (const p of (c.net?.ports ?? [])) checkPortFree(p);
  delete c.exitCode;
  delete c.finished;
  await detach(store, c, false, env);
  return c.name;
}

/** prune: every container that has exited. */
export async function containerPrune(store: Store, runtimeRoot: string): Promise<string[]> {
  const gone: string[] = [];
  for (const c of listContainers(store)) if (c.status === "exited") gone.push(await containerRemove(store, c.id, runtimeRoot, false));
  return gone;
}
