// `runjs network …` and `runjs volume …`: the user's own bridge networks and named volumes.
//
// A network made by `network create NAME` is a CNI network list of the same shape as runjs's
// default bridge (network.ts: bridge + host-local, portmap, firewall) with a bridge device
// and a subnet of its own, kept as STORE/networks/NAME.conflist, where `--network NAME`
// finds it (so does a list an operator puts there or in /etc/cni/net.d by hand). Removing a
// network removes its list and its bridge device, and is refused while a container uses it.
//
// A volume is STORE/volumes/NAME/_data (volumes.ts), with its creation time beside it; a
// volume made here is empty, and is filled from the image the first time a container mounts
// it, as Docker fills an empty volume. `rm` is refused while a container's bundle mounts it.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import type { Store } from "../images/store.ts";
import { BRIDGE, SUBNET, bridgeConfList, findNetwork } from "./network.ts";
import { dirOf, listContainers, NAME_RE } from "./records.ts";
import { volumePath } from "./volumes.ts";

const BUILTIN = ["bridge", "host", "none"];

export interface NetworkInfo {
  name: string;
  /** Where its list is ("" for host and none, which have none). */
  path: string;
  driver: string;
  subnet: string;
  bridge: string;
  list?: any;
}

const ipv4 = (s: string) => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) return undefined;
  return m.slice(1).reduce((n, x) => n * 256 + Number(x), 0);
};
const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** "10.1.2.0/24" → its network number and prefix length; refuses host bits set. */
export function parseSubnet(s: string): { base: number; bits: number } {
  const [ip, len] = s.split("/");
  const base = ipv4(ip ?? "");
  const bits = Number(len);
  if (base === undefined || !/^\d+$/.test(len ?? "") || bits < 8 || bits > 30) throw new UsageError(`--subnet ${JSON.stringify(s)}: an IPv4 CIDR like 10.90.0.0/24 (prefix 8 to 30)`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  if ((base & ~mask) >>> 0 !== 0) throw new UsageError(`--subnet ${s}: has host bits set (the network is ${dotted((base & mask) >>> 0)}/${bits})`);
  return { base, bits };
}

const overlaps = (a: { base: number; bits: number }, b: { base: number; bits: number }) => {
  const bits = Math.min(a.bits, b.bits);
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
};

function storeNetworks(store: Store): NetworkInfo[] {
  const d = join(store.root, "networks");
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith(".conflist"))
    .sort()
    .flatMap((f) => {
      try {
        return [describe(join(d, f), JSON.parse(readFileSync(join(d, f), "utf8")))];
      } catch {
        return [];
      }
    });
}

function describe(path: string, list: any): NetworkInfo {
  const first = list.plugins?.[0] ?? {};
  return { name: list.name, path, driver: first.type ?? "", subnet: first.ipam?.ranges?.[0]?.[0]?.subnet ?? first.ipam?.subnet ?? "", bridge: first.bridge ?? "", list };
}

/** bridge, host, none, the store's networks, and /etc/cni/net.d's. */
export function listNetworks(store: Store): NetworkInfo[] {
  const out: NetworkInfo[] = [
    { name: "bridge", path: "", driver: "bridge", subnet: SUBNET, bridge: BRIDGE, list: bridgeConfList(store.root) },
    { name: "host", path: "", driver: "host", subnet: "", bridge: "" },
    { name: "none", path: "", driver: "null", subnet: "", bridge: "" },
    ...storeNetworks(store),
  ];
  const etc = "/etc/cni/net.d";
  if (existsSync(etc))
    for (const f of readdirSync(etc).sort())
      if (f.endsWith(".conflist"))
        try {
          const list = JSON.parse(readFileSync(join(etc, f), "utf8"));
          if (list?.name && !out.some((n) => n.name === list.name)) out.push(describe(join(etc, f), list));
        } catch {
          /* not a list of ours to judge */
        }
  return out;
}

export function createNetwork(store: Store, name: string, o: { subnet?: string; gateway?: string }): NetworkInfo {
  if (!NAME_RE.test(name) || name.length > 64) throw new UsageError(`network create: ${JSON.stringify(name)}: use letters, digits, _ . - (not first), at most 64`);
  if (BUILTIN.includes(name)) throw new UsageError(`network create: ${name} is a network of runjs's own`);
  return store.withLock(() => {
    const existing = listNetworks(store);
    if (existing.some((n) => n.name === name)) throw new UsageError(`network create: a network named ${name} exists already`);
    const used = existing.filter((n) => n.subnet).map((n) => ({ name: n.name, ...parseSubnet(n.subnet) }));
    let subnet: { base: number; bits: number };
    if (o.subnet) {
      subnet = parseSubnet(o.subnet);
      const clash = used.find((u) => overlaps(u, subnet));
      if (clash) throw new UsageError(`network create: --subnet ${o.subnet} overlaps network ${clash.name}'s ${dotted(clash.base)}/${clash.bits}`);
    } else {
      // the next free /24 after runjs's own 10.89.0.0/24
      let third = 1;
      while (third < 256 && used.some((u) => overlaps(u, { base: ipv4(`10.89.${third}.0`)!, bits: 24 }))) third++;
      if (third === 256) throw new UsageError("network create: no free 10.89.N.0/24 left: give --subnet");
      subnet = { base: ipv4(`10.89.${third}.0`)!, bits: 24 };
    }
    const cidr = `${dotted(subnet.base)}/${subnet.bits}`;
    const range: any = { subnet: cidr };
    if (o.gateway !== undefined) {
      const g = ipv4(o.gateway);
      const mask = (0xffffffff << (32 - subnet.bits)) >>> 0;
      if (g === undefined || ((g & mask) >>> 0) !== subnet.base || g === subnet.base || g === (subnet.base | ~mask) >>> 0)
        throw new UsageError(`network create: --gateway ${o.gateway}: not a host address of ${cidr}`);
      range.gateway = o.gateway;
    }
    // a bridge device of its own: runjs1, runjs2, … (a device name has at most 15 characters)
    const bridges = new Set(existing.map((n) => n.bridge));
    let n = 1;
    while (bridges.has(`runjs${n}`)) n++;
    const list = {
      cniVersion: "1.0.0",
      name,
      plugins: [
        {
          type: "bridge",
          bridge: `runjs${n}`,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: "host-local", dataDir: join(store.root, "ipam"), ranges: [[range]], routes: [{ dst: "0.0.0.0/0" }] },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "firewall" },
      ],
    };
    mkdirSync(join(store.root, "networks"), { recursive: true });
    const path = join(store.root, "networks", `${name}.conflist`);
    const tmp = store.tmpPath("network");
    writeFileSync(tmp, JSON.stringify(list, null, 1));
    renameSync(tmp, path);
    return describe(path, list);
  });
}

/** The containers attached to a network (by the list their record keeps). */
export function networkUsers(store: Store, name: string): string[] {
  return listContainers(store)
    .filter((c) => (name === "bridge" ? c.net?.bridged && !c.net.list : c.net?.list?.name === name))
    .map((c) => c.name);
}

export function inspectNetwork(store: Store, name: string): NetworkInfo & { containers: string[] } {
  const n = listNetworks(store).find((x) => x.name === name);
  if (!n) throw new UsageError(`no such network: ${name}`);
  return { ...n, containers: networkUsers(store, name) };
}

export function removeNetwork(store: Store, name: string): void {
  if (BUILTIN.includes(name)) throw new UsageError(`network rm: ${name} is a network of runjs's own`);
  const found = findNetwork(store.root, name);
  if (!found) throw new UsageError(`no such network: ${name}`);
  if (!found.path.startsWith(join(store.root, "networks") + "/")) throw new UsageError(`network rm: ${name} is ${found.path}, not one of runjs's: remove it there`);
  const users = networkUsers(store, name);
  if (users.length) throw new UsageError(`network rm: ${name} is used by container(s) ${users.join(", ")}: remove them first`);
  rmSync(found.path, { force: true });
  const dev = found.list.plugins?.[0]?.bridge;
  if (dev && existsSync(`/sys/class/net/${dev}`)) Bun.spawnSync(["ip", "link", "delete", dev]);
  rmSync(join(store.root, "ipam", name), { recursive: true, force: true });
}

// ---- volumes ----

export interface VolumeInfo {
  name: string;
  mountpoint: string;
  created: string;
  containers: string[];
}

const volumesDir = (store: Store) => join(store.root, "volumes");

/** The containers whose bundle mounts a volume. */
function volumeUsers(store: Store, name: string): string[] {
  const data = volumePath(store, name);
  return listContainers(store)
    .filter((c) => {
      try {
        const spec = JSON.parse(readFileSync(join(dirOf(store, c.id), "config.json"), "utf8"));
        return (spec.mounts ?? []).some((m: any) => m.source === data);
      } catch {
        return false;
      }
    })
    .map((c) => c.name);
}

function volumeInfo(store: Store, name: string): VolumeInfo {
  const dir = join(volumesDir(store), name);
  let created: string;
  try {
    created = JSON.parse(readFileSync(join(dir, "volume.json"), "utf8")).created;
  } catch {
    created = statSync(dir).mtime.toISOString();
  }
  return { name, mountpoint: volumePath(store, name), created, containers: volumeUsers(store, name) };
}

export function listVolumes(store: Store): VolumeInfo[] {
  const d = volumesDir(store);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((n) => existsSync(volumePath(store, n)))
    .sort()
    .map((n) => volumeInfo(store, n));
}

export function createVolume(store: Store, name?: string): VolumeInfo {
  const n = name ?? new Bun.CryptoHasher("sha256").update(crypto.getRandomValues(new Uint8Array(32))).digest("hex");
  if (!NAME_RE.test(n)) throw new UsageError(`volume create: ${JSON.stringify(n)}: use letters, digits, _ . - (not first)`);
  if (existsSync(volumePath(store, n))) return volumeInfo(store, n); // as Docker: creating an existing volume is a no-op
  mkdirSync(volumePath(store, n), { recursive: true, mode: 0o755 });
  writeFileSync(join(volumesDir(store), n, "volume.json"), JSON.stringify({ created: new Date().toISOString() }));
  return volumeInfo(store, n);
}

export function inspectVolume(store: Store, name: string): VolumeInfo {
  if (!existsSync(volumePath(store, name))) throw new UsageError(`no such volume: ${name}`);
  return volumeInfo(store, name);
}

/** rm: refused while a container mounts it; --force only makes a missing volume no error (Docker's rule). */
export function removeVolume(store: Store, name: string, force: boolean): void {
  if (!existsSync(volumePath(store, name))) {
    if (force) return;
    throw new UsageError(`no such volume: ${name}`);
  }
  const users = volumeUsers(store, name);
  if (users.length) throw new UsageError(`volume rm: ${name} is in use by container(s) ${users.join(", ")}: remove them first`);
  rmSync(join(volumesDir(store), name), { recursive: true, force: true });
}

/** Volumes no container mounts: the anonymous ones, or with all every one. */
export function pruneVolumes(store: Store, all: boolean): string[] {
  const out: string[] = [];
  for (const v of listVolumes(store)) {
    if (v.containers.length) continue;
    if (!all && !/^[a-f0-9]{16}-anon-\d+$/.test(v.name) && !/^[a-f0-9]{64}$/.test(v.name)) continue;
    rmSync(join(volumesDir(store), v.name), { recursive: true, force: true });
    out.push(v.name);
  }
  return out;
}
