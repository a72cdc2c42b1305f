// `container run`: an image, a copy-on-write root filesystem, an OCI bundle, and the runtime
// library run in-process on it. Everything is checked before anything is made; whatever was
// made is removed on failure and, with --rm, when the container exits. Attached, this process
// waits for the container; detached (-d), its monitor does (detached.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { teardown } from "../../container/lifecycle.ts";
import { attach } from "../../container/run.ts";
import { withContainer } from "../../container/state.ts";
import * as seccompLib from "../../sys/libseccomp.ts";
import { findImage } from "../images/image.ts";
import { digestHex, ImageError, Store } from "../images/store.ts";
import { detach } from "./detached.ts";
import { bridgeConfList, checkPlugins, checkPortFree, findNetwork, freeHostPort, networkDel, parsePublish } from "./network.ts";
import { mountOverlay, unmount } from "./overlay.ts";
import { dirOf, listContainers, NAME_RE, parseRestart, removeFiles, save, type ContainerRecord, type Net } from "./records.ts";
import { containerSpec, type RunFlags } from "./spec.ts";
import { startContainer } from "./start.ts";
import { defaultProfile } from "./apparmor.ts";
import { anonymousVolumes, checkVolumes, fillNamedVolumes, volumePath } from "./volumes.ts";

export interface RunEnv {
  storage?: string;
  runtimeRoot: string;
  warn: (m: string) => void;
}

/** What a run ended with: attached, the container's exit status; detached (-d), its id. */
export type RunOutcome = { detached: false; code: number } | { detached: true; id: string };

const NETWORKS = ["none", "host", "bridge"];

export async function containerRun(flags: RunFlags, env: RunEnv): Promise<RunOutcome> {
  let f = flags;
  // 1. everything that can be checked, before anything exists
  const store = new Store(env.storage);
  let image;
  const restartPolicy = f.restart !== undefined ? parseRestart(f.restart) : undefined;
  if (restartPolicy && restartPolicy.name !== "no") {
    if (f.rm) throw new UsageError("--restart with --rm: conflicting options (a container removed when it exits cannot be restarted)");
    if (!f.detach) throw new UsageError("--restart needs -d: the monitor of a detached container restarts it");
  }
  try {
    image = findImage(store, f.image);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`unknown image ${f.image}: pull or import it first (runjs image pull ${f.image})`);
    throw e;
  }
  if (f.name !== undefined && !NAME_RE.test(f.name)) throw new UsageError(`--name ${JSON.stringify(f.name)}: use letters, digits, _ . - (not first)`);
  checkVolumes(f.volumes);
  const cfg = JSON.parse(new TextDecoder().decode(store.readBlob(image.id)));
  const ports = (f.publish ?? []).map(parsePublish);
  // -P: what the image exposes and no -p publishes, each on a port the kernel picks now
  if (f.publishAll)
    for (const e of Object.keys(cfg.config?.ExposedPorts ?? {})) {
      const [port, proto = "tcp"] = e.split("/") as [string, string?];
      const protocol = proto === "udp" ? "udp" : "tcp";
      if (!ports.some((p) => p.containerPort === Number(port) && p.protocol === protocol))
        ports.push({ hostIP: "", hostPort: freeHostPort(), containerPort: Number(port), protocol });
    }
  const named = NETWORKS.includes(f.network) ? undefined : findNetwork(store.root, f.network);
  if (!named && !NETWORKS.includes(f.network))
    throw new UsageError(`--network ${JSON.stringify(f.network)}: no such network (none, host, bridge, or a CNI network list named so in ${join(store.root, "networks")} or /etc/cni/net.d)`);
  if (ports.length && f.network !== "bridge" && !named)
    throw new UsageError(`--publish${f.publishAll ? "/--publish-all" : ""} needs --network bridge (this container's network is ${f.network})`);
  for (const p of ports) checkPortFree(p);
  if (f.network === "bridge" || named) checkPlugins(f.network, named?.list ?? bridgeConfList(store.root));
  const id = new Bun.CryptoHasher("sha256").update(crypto.getRandomValues(new Uint8Array(32))).digest("hex");
  const name = f.name ?? `c-${id.slice(0, 12)}`;
  const hostname = f.hostname ?? id.slice(0, 12);
  const anonymous = anonymousVolumes(cfg.config?.Volumes, f.volumes, id);
  f = { ...f, volumes: [...f.volumes, ...anonymous] };

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
    ...(anonymous.length ? { anonymousVolumes: anonymous.map((a) => a.source) } : {}),
    ...(cfg.config?.ExposedPorts ? { exposedPorts: Object.keys(cfg.config.ExposedPorts) } : {}),
    ...(restartPolicy && restartPolicy.name !== "no" ? { restartPolicy, restartCount: 0 } : {}),
    ...(f.detach && f.tty ? { tty: true } : {}),
  };
  let made = false;
  try {
    store.withLock(() => {
      if (listContainers(store).some((c) => c.name === name)) throw new UsageError(`--name ${name}: already used by another container`);
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
    fillNamedVolumes(store, rootfs, f.volumes);
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
      volumePath: (n) => volumePath(store, n),
      initBinary: ["/usr/bin/tini-static", "/usr/bin/catatonit"].find((b) => existsSync(b)),
      apparmorDefault: defaultProfile,
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

async function runAttached(store: Store, rec: ContainerRecord, rm: boolean, env: RunEnv, net: Net): Promise<number> {
  const dir = dirOf(store, rec.id);
  let code: number;
  try {
    const c = startContainer(store, rec, env.runtimeRoot, net, env.warn);
    code = await attach(c.proc, c.master, () => withContainer(env.runtimeRoot, rec.id, (x) => teardown(x.dir, x.st, env.warn)));
    networkDel(dir);
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
