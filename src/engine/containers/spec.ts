// From an image and `container run` flags to an OCI bundle's config.json, the way Docker
// does it. PURE: no I/O; the caller reads the image config and the image's /etc/passwd and
// /etc/group, and writes the result.
//
// - The command: --entrypoint replaces the image's Entrypoint (and then its Cmd is dropped);
//   arguments after the image replace its Cmd; the process runs Entrypoint + Cmd.
// - The environment: the image's Env, then -e/--env-file (a later value of a name wins; -e NAME
//   alone takes the value from runjs's own environment, or is dropped), then HOSTNAME, PATH if
//   still unset, TERM=xterm with a terminal.
// - The user: --user, else the image's User; a name is looked up in the image's /etc/passwd
//   (its primary group, and every group of /etc/group that lists it), a group name in
//   /etc/group; numeric ids need no lookup.
// - Hardening as Docker's defaults: its 14 capabilities (--cap-add/--cap-drop, ALL), the
//   default seccomp profile for those capabilities (src/oci/seccomp-default.ts; --security-opt
//   seccomp=unconfined|FILE), the AppArmor profile runjs-default where the kernel has AppArmor
//   (apparmor.ts; apparmor=unconfined|PROFILE), no-new-privileges on request, masked and
//   read-only paths.
// - The filesystem: the overlay root (read-only with --read-only), /etc/hostname, /etc/hosts
//   and /etc/resolv.conf of the container's own, -v SRC:DST[:ro|rw] bind mounts, --tmpfs DST.
// - Network: none (a namespace with only lo) or host (no network namespace).
import { mergeEnv } from "../../oci/env.ts";
import { parseMemory } from "../../units.ts";
import { CAPABILITY_NAMES } from "../../oci/capabilities.ts";
import { defaultSpec } from "../../oci/defaults.ts";
import type { LinuxSeccomp, Mount, Spec } from "../../oci/spec.ts";
import { defaultSeccompProfile } from "../../oci/seccomp-default.ts";
import { UsageError } from "../../errors.ts";

export interface RunFlags {
  image: string;
  cmd: string[];
  name?: string;
  tty: boolean;
  interactive: boolean;
  rm: boolean;
  detach?: boolean;
  env: string[];
  /** Lines of --env-file files, already read. */
  envFileLines: string[];
  workdir?: string;
  user?: string;
  /** -v, parsed once (parseVolume). */
  volumes: Volume[];
  tmpfs: string[];
  network: string;
  publish?: string[];
  /** -P: every ExposedPorts entry of the image on a free host port. */
  publishAll?: boolean;
  hostname?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  entrypoint?: string;
  cgroupParent?: string;
  /** --init: a small init (tini) as PID 1 that reaps zombies and passes signals on. */
  init?: boolean;
  /** --restart: no, on-failure[:N], always, unless-stopped (needs -d) */
  restart?: string;
}

/** The config part of an OCI image config ("config" in the JSON). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export const DOCKER_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

export interface Volume {
  /** An absolute host path, or the name of a volume in the store. */
  source: string;
  named: boolean;
  destination: string;
  readOnly: boolean;
  /** As given (SRC:DST[:MODE]), for messages. */
  given: string;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** -v SRC:DST[:ro|rw]: SRC an absolute host path or a volume name, DST absolute. */
export function parseVolume(s: string): Volume {
  const parts = s.split(":");
  if (parts.length < 2 || parts.length > 3) throw new UsageError(`--volume ${JSON.stringify(s)}: want SRC:DST[:ro|rw]`);
  const [source, destination, mode = "rw"] = parts as [string, string, string?];
  const named = !source.startsWith("/");
  if (named && !VOLUME_NAME.test(source))
    throw new UsageError(`--volume ${JSON.stringify(s)}: the source must be an absolute host path or a volume name (letters, digits, _ . -)`);
  if (!destination.startsWith("/")) throw new UsageError(`--volume ${JSON.stringify(s)}: the destination must be an absolute path in the container`);
  if (mode !== "ro" && mode !== "rw") throw new UsageError(`--volume ${JSON.stringify(s)}: unknown mode ${JSON.stringify(mode)} (ro or rw)`);
  return { source, named, destination, readOnly: mode === "ro", given: s };
}

function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith("CAP_") ? u : `CAP_${u}`;
}

export function capabilities(add: string[], drop: string[]): string[] {
  let caps = new Set(DOCKER_CAPS);
  const all = [...CAPABILITY_NAMES];
  for (const d of drop.map(capName)) {
    if (d === "CAP_ALL") caps = new Set();
    else if (!all.includes(d)) throw new UsageError(`--cap-drop: unknown capability ${d}`);
    else caps.delete(d);
  }
  for (const a of add.map(capName)) {
    if (a === "CAP_ALL") for (const c of all) caps.add(c);
    else if (!all.includes(a)) throw new UsageError(`--cap-add: unknown capability ${a}`);
    else caps.add(a);
  }
  return [...caps];
}

/** uid, gid and extra groups of USER[:GROUP] in the image's passwd and group files. */
export function resolveUser(spec: string | undefined, passwd: string, group: string): { uid: number; gid: number; additionalGids: number[] } {
  if (!spec) return { uid: 0, gid: 0, additionalGids: [] };
  const [u, g] = spec.split(":", 2) as [string, string?];
  const users = passwd.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4);
  const groups = group.split("\n").map((l) => l.split(":")).filter((f) => f.length >= 3);
  let uid: number;
  let gid: number;
  let name: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const e = users.find((f) => Number(f[2]) === uid);
    gid = e ? Number(e[3]) : 0;
    name = e?.[0];
  } else {
    const e = users.find((f) => f[0] === u);
    if (!e) throw new UsageError(`--user ${spec}: no user ${JSON.stringify(u)} in the image's /etc/passwd`);
    uid = Number(e[2]);
    gid = Number(e[3]);
    name = u;
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = groups.find((f) => f[0] === g);
      if (!e) throw new UsageError(`--user ${spec}: no group ${JSON.stringify(g)} in the image's /etc/group`);
      gid = Number(e[2]);
    }
  }
  const additionalGids =
    g === undefined && name
      ? groups.filter((f) => (f[3] ?? "").split(",").includes(name!)).map((f) => Number(f[2])).filter((x) => x !== gid)
      : [];
  return { uid, gid, additionalGids };
}

function parseEnvLines(lines: string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

export interface SpecContext {
  rootfs: string;
  hostname: string;
  /** The container's own /etc files on the host. */
  etc: { hostname: string; hosts: string; resolv: string };
  passwd: string;
  group: string;
  cgroupsPath: string;
  hostEnv: Record<string, string | undefined>;
  /** Read a --security-opt seccomp=FILE. */
  readFile: (path: string) => string;
  /** --init: the host's static init binary, bound in as /dev/init. */
  initBinary?: string;
  /** Where a named volume's data lives on the host. */
  volumePath?: (name: string) => string;
  /** Syscall names the host's libseccomp knows (the default profile leaves out the others). */
  isKnownSyscall?: (name: string) => boolean;
  /** The AppArmor profile a container gets unless --security-opt apparmor= says otherwise (asked only then). */
  apparmorDefault?: () => string | undefined;
}

export function containerSpec(image: ImageConfig, f: RunFlags, ctx: SpecContext): Spec {
  const entrypoint = f.entrypoint !== undefined ? (f.entrypoint ? [f.entrypoint] : []) : image.Entrypoint ?? [];
  const cmd = f.cmd.length ? f.cmd : f.entrypoint !== undefined ? [] : image.Cmd ?? [];
  const args = [...entrypoint, ...cmd];
  if (!args.length) throw new UsageError(`${f.image}: no command: the image has no Entrypoint or Cmd, give one after the image`);

  const fromFlags = [...parseEnvLines(f.envFileLines), ...f.env].flatMap((e) => {
    if (e.includes("=")) return [e];
    const v = ctx.hostEnv[e];
    return v === undefined ? [] : [`${e}=${v}`];
  });
  let env = mergeEnv(image.Env ?? [], fromFlags);
  env = mergeEnv(env, [`HOSTNAME=${ctx.hostname}`]);
  if (!env.some((e) => e.startsWith("PATH="))) env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (f.tty && !env.some((e) => e.startsWith("TERM="))) env.push("TERM=xterm");

  const user = resolveUser(f.user ?? (image.User || undefined), ctx.passwd, ctx.group);
  const caps = capabilities(f.capAdd, f.capDrop);
  let noNewPrivileges = false;
  let apparmor: string | undefined | null; // null: unconfined, undefined: the default
  let seccomp: LinuxSeccomp | undefined = defaultSeccompProfile({ caps, isKnown: ctx.isKnownSyscall });
  for (const o of f.securityOpt) {
    const [k, v] = o.includes("=") ? (o.split(/=(.*)/s, 2) as [string, string]) : o.split(":", 2).length === 2 ? (o.split(":", 2) as [string, string]) : [o, ""];
    if (k === "no-new-privileges") noNewPrivileges = v === "" || v === "true";
    else if (k === "apparmor" && v) apparmor = v === "unconfined" ? null : v;
    else if (k === "seccomp" && v === "unconfined") seccomp = undefined;
    else if (k === "seccomp" && v) {
      try {
        seccomp = JSON.parse(ctx.readFile(v));
      } catch (e: any) {
        throw new UsageError(`--security-opt seccomp=${v}: ${e.message}`);
      }
    } else throw new UsageError(`--security-opt ${JSON.stringify(o)}: supported are seccomp=unconfined|FILE, apparmor=unconfined|PROFILE and no-new-privileges`);
  }

  const spec = defaultSpec({}) as Spec;
  // a cgroup namespace of its own, as Docker gives on cgroup v2: the container sees its own
  // cgroup as the root of /sys/fs/cgroup and of /proc/self/cgroup
  spec.linux!.namespaces!.push({ type: "cgroup" });
  const p = spec.process!;
  p.terminal = f.tty;
  if (f.init && !ctx.initBinary) throw new UsageError("--init: no static init on this host (Debian: the tini package, /usr/bin/tini-static)");
  p.args = f.init ? ["/dev/init", "--", ...args] : args;
  p.env = env;
  p.cwd = f.workdir ?? (image.WorkingDir || "/");
  if (!p.cwd.startsWith("/")) throw new UsageError(`--workdir ${JSON.stringify(p.cwd)}: must be absolute`);
  p.user = user;
  p.capabilities = { bounding: caps, effective: caps, permitted: caps };
  p.noNewPrivileges = noNewPrivileges;
  const profile = apparmor === undefined ? ctx.apparmorDefault?.() : apparmor ?? undefined;
  if (profile) p.apparmorProfile = profile;
  p.rlimits = [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }];
  spec.hostname = ctx.hostname;
  spec.root = { path: ctx.rootfs, readonly: f.readOnly };

  const mounts: Mount[] = [...spec.mounts!];
  const bind = (source: string, destination: string, ro: boolean): Mount => ({
    destination,
    type: "bind",
    source,
    options: ["rbind", "rprivate", ...(ro ? ["ro"] : [])],
  });
  mounts.push(bind(ctx.etc.hostname, "/etc/hostname", false), bind(ctx.etc.hosts, "/etc/hosts", false), bind(ctx.etc.resolv, "/etc/resolv.conf", false));
  if (f.init) mounts.push(bind(ctx.initBinary!, "/dev/init", true));
  for (const v of f.volumes) {
    if (v.named && !ctx.volumePath) throw new UsageError(`--volume ${v.source}: named volumes need a store`);
    mounts.push(bind(v.named ? ctx.volumePath!(v.source) : v.source, v.destination, v.readOnly));
  }
  for (const t of f.tmpfs) {
    const [dest, opts] = t.split(":", 2) as [string, string?];
    if (!dest.startsWith("/")) throw new UsageError(`--tmpfs ${JSON.stringify(t)}: the destination must be absolute`);
    mounts.push({ destination: dest, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...(opts ? opts.split(",") : ["mode=1777"])] });
  }
  spec.mounts = mounts;

  const linux = spec.linux!;
  if (f.network === "host") linux.namespaces = linux.namespaces!.filter((n) => n.type !== "network");
  // none, bridge and named networks: a network namespace of its own (CNI fills it)
  linux.cgroupsPath = ctx.cgroupsPath;
  linux.resources = {};
  if (f.memory !== undefined) {
    let limit: number;
    try {
      limit = parseMemory(f.memory, "--memory");
    } catch (e: any) {
      throw new UsageError(e.message);
    }
    linux.resources.memory = { limit };
  }
  if (f.cpus !== undefined) {
    const n = Number(f.cpus);
    if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--cpus ${JSON.stringify(f.cpus)}: want a positive number such as 0.5 or 2`);
    linux.resources.cpu = { quota: Math.round(n * 100000), period: 100000 };
  }
  if (f.pidsLimit !== undefined) {
    const n = Number(f.pidsLimit);
    if (!Number.isInteger(n) || n === 0 || n < -1) throw new UsageError(`--pids-limit ${JSON.stringify(f.pidsLimit)}: want a positive integer (or -1 for none)`);
    linux.resources.pids = { limit: n };
  }
  if (seccomp) linux.seccomp = seccomp;
  else delete linux.seccomp;
  return spec;
}
