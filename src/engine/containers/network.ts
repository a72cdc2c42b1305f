// Bridge networking through the standard CNI plugins (Debian's containernetworking-plugins).
//
// CNI is a small protocol: the runtime runs a plugin binary with the command in CNI_COMMAND
// (ADD, CHECK, DEL), the container's network namespace in CNI_NETNS, an interface name, and
// the network's configuration on stdin; the plugin answers with a JSON result on stdout. A
// network list (a "conflist") chains plugins: each ADD gets the previous plugin's result as
// prevResult, DEL runs in reverse order. Here the chain is
//   bridge     a veth pair into the container's namespace, its host end on the bridge runjs0,
//              an address from host-local IPAM (its state under the store), outbound NAT
//   portmap    DNAT rules for published ports (-p HOST:CTR)
//   firewall   lets the bridge's traffic through the host's FORWARD chain
// (CHECK, optional for runtimes in the CNI spec, is not used: Debian's portmap fails it on a
// host without ip6tables NAT chains.) Other networks (--network NAME) are network lists of
// the operator's (findNetwork). The result (and the configuration it was made with) is kept
// in the container's directory,
// so DEL can always run, even after a crash: removing a container removes its veth, its
// address lease and its port rules.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { bindMount, unmount } from "./overlay.ts";

export const CNI_PATH = ["/usr/lib/cni", "/opt/cni/bin"];
export const BRIDGE = "runjs0";
export const SUBNET = "10.89.0.0/24";

export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

/** -p [IP:]HOST:CTR[/udp] */
export function parsePublish(s: string): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(s);
  if (!m) throw new UsageError(`--publish ${JSON.stringify(s)}: want [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]`);
  const hostPort = Number(m[2]);
  const containerPort = Number(m[3]);
  for (const [p, what] of [[hostPort, "host"], [containerPort, "container"]] as const)
    if (p < 1 || p > 65535) throw new UsageError(`--publish ${JSON.stringify(s)}: ${what} port ${p} is not in 1-65535`);
  return { hostIP: m[1] ?? "", hostPort, containerPort, protocol: (m[4] as "tcp" | "udp") ?? "tcp" };
}

/** The network list for the bridge network; `stateDir` keeps host-local's leases. */
export function bridgeConfList(stateDir: string) {
  return {
    cniVersion: "1.0.0",
    name: "runjs",
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: "host-local", dataDir: join(stateDir, "ipam"), ranges: [[{ subnet: SUBNET }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true } },
      { type: "firewall" },
    ],
  };
}

/**
 * A named network: a CNI network list of the operator's, STORE/networks/NAME.conflist, or
 * one in /etc/cni/net.d whose "name" is NAME. "bridge" is runjs's own (bridgeConfList).
 */
export function findNetwork(storeRoot: string, name: string): { path: string; list: any } | undefined {
  const candidates = [join(storeRoot, "networks", `${name}.conflist`)];
  const etc = "/etc/cni/net.d";
  if (existsSync(etc)) for (const f of readdirSync(etc).sort()) if (f.endsWith(".conflist")) candidates.push(join(etc, f));
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    let list: any;
    try {
      list = JSON.parse(readFileSync(p, "utf8"));
    } catch (e: any) {
      throw new UsageError(`--network ${name}: ${p}: invalid JSON: ${e.message}`);
    }
    if (list?.name === name && Array.isArray(list.plugins)) return { path: p, list };
  }
  return undefined;
}

function pluginPath(type: string, network = "bridge"): string {
  for (const d of CNI_PATH) if (existsSync(join(d, type))) return join(d, type);
  throw new UsageError(`--network ${network}: the CNI plugin ${type} is not installed (Debian: containernetworking-plugins)`);
}

/** Every plugin a network list runs (and their IPAM plugins) is installed: checked before anything is made. */
export function checkPlugins(network: string, list: { plugins: { type: string; ipam?: { type?: string } }[] }): void {
  for (const p of list.plugins) {
    pluginPath(p.type, network);
    if (p.ipam?.type) pluginPath(p.ipam.type, network);
  }
}

function invoke(command: "ADD" | "DEL" | "CHECK", plugin: any, net: { name: string; cniVersion: string }, ctx: { id: string; netns: string }, prev: unknown, ports: PortMapping[]): any {
  const conf: any = { ...plugin, name: net.name, cniVersion: net.cniVersion };
  if (prev !== undefined) conf.prevResult = prev;
  if (plugin.capabilities?.portMappings) conf.runtimeConfig = { portMappings: ports };
  const r = Bun.spawnSync([pluginPath(plugin.type)], {
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: ctx.id, CNI_NETNS: ctx.netns, CNI_IFNAME: "eth0", CNI_PATH: CNI_PATH.join(":"), PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = r.stdout.toString();
  if (r.exitCode !== 0) {
    let msg = r.stderr.toString().trim() || out.trim();
    try {
      const e = JSON.parse(out);
      msg = `${e.msg}${e.details ? `: ${e.details}` : ""}`;
    } catch {
      /* not JSON */
    }
    throw new UsageError(`network: CNI ${plugin.type} ${command}: ${msg || `exit ${r.exitCode}`}`);
  }
  return out.trim() ? JSON.parse(out) : undefined;
}

export interface Attached {
  ip?: string;
  result: unknown;
}

/**
 * CNI ADD of the whole list; the configuration and the result go to `dir` for DEL. The
 * container's network namespace is first bound onto dir/netns: it then outlives the
 * container's processes, so DEL can still see its interface (the bridge plugin reads the
 * address there to remove the NAT rules it added).
 */
export function networkAdd(dir: string, stateDir: string, id: string, initNetns: string, ports: PortMapping[], named?: any): Attached {
  const netns = join(dir, "netns");
  writeFileSync(netns, "");
  bindMount(initNetns, netns);
  const list = named ?? bridgeConfList(stateDir);
  writeFileSync(join(dir, "cni.json"), JSON.stringify({ list, id, netns, ports }));
  let prev: unknown;
  for (const p of list.plugins) prev = invoke("ADD", p, list, { id, netns }, prev, ports) ?? prev;
  writeFileSync(join(dir, "cni-result.json"), JSON.stringify(prev));
  const ip = (prev as any)?.ips?.[0]?.address?.split("/")[0];
  return { ip, result: prev };
}

/** CNI DEL, in reverse, with what ADD was given; safe to repeat, and after a crash. */
export function networkDel(dir: string): void {
  const p = join(dir, "cni.json");
  if (!existsSync(p)) return;
  const { list, id, netns, ports } = JSON.parse(readFileSync(p, "utf8"));
  const prev = existsSync(join(dir, "cni-result.json")) ? JSON.parse(readFileSync(join(dir, "cni-result.json"), "utf8")) : undefined;
  const errors: string[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    try {
      // the namespace may be gone already: plugins then clean up the host side only
      invoke("DEL", plugin, list, { id, netns: existsSync(netns) ? netns : "" }, prev ?? undefined, ports);
    } catch (e: any) {
      errors.push(e.message);
    }
  }
  if (errors.length === 0) {
    unmount(netns);
    for (const f of [p, join(dir, "cni-result.json"), netns]) rmSync(f, { force: true });
    return;
  }
  throw new UsageError(errors.join("; "));
}

/** A TCP port nobody listens on now, the kernel's choice (-P). */
export function freeHostPort(): number {
  const s = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

/** A host port someone listens on already: refuse before anything is made. */
export function checkPortFree(m: PortMapping): void {
  try {
    if (m.protocol === "tcp") Bun.listen({ hostname: m.hostIP || "0.0.0.0", port: m.hostPort, socket: { data() {} } }).stop(true);
  } catch {
    throw new UsageError(`--publish ${m.hostIP ? m.hostIP + ":" : ""}${m.hostPort}:${m.containerPort}: port ${m.hostPort} is already in use on the host`);
  }
}
