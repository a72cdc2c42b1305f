// compilePlan: (validated spec, host facts) → Plan. Pure and synchronous: no I/O here.
//
// Everything the C init needs is decided in this file: which namespaces to create or join,
// how each mount option string turns into mount(2) flags, which device nodes to create,
// what is remounted read-only after pivot_root, which capability bits remain. The facts about
// the host that those decisions depend on (is a bind source a file or a directory, which
// cgroup hierarchies exist) are gathered beforehand and passed in, so the whole mapping is
// unit-testable without root.
import { mergeEnv } from "../oci/env.ts";
import type { LinuxIDMapping, Spec } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";
import { CAPABILITY_NAMES, capMask } from "../oci/capabilities.ts";
import { sysctlDots, u64 } from "../oci/validate.ts";
import { BIND_REMOUNT_MASK, MS, parseMountOptions, PROPAGATION } from "./mounts.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO } from "../sys/constants.ts";
import type { Plan, PlanDevice, PlanMount, PlanRemount, PlanRlimit, PlanSymlink } from "./types.ts";
import { compileSeccomp } from "./seccomp.ts";
import { idMapText, planIdMaps } from "./userns.ts";
import { compileLsm, NO_LSM, type LsmFacts } from "./lsm.ts";
import { compileAffinity, compileIoPriority, compileMemoryPolicy, compilePersonality, compileScheduler } from "./process.ts";

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const NAMESPACE_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** The devices every container gets (runtime-spec "Default Devices"). */
export const DEFAULT_DEVICES: { path: string; major: number; minor: number }[] = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

export const DEV_SYMLINKS: PlanSymlink[] = [
  { target: "/proc/self/fd", path: "/dev/fd" },
  { target: "/proc/self/fd/0", path: "/dev/stdin" },
  { target: "/proc/self/fd/1", path: "/dev/stdout" },
  { target: "/proc/self/fd/2", path: "/dev/stderr" },
];

export interface CgroupFact {
  version: 1 | 2;
  /** Directory name under /sys/fs/cgroup on the host (e.g. "memory", "unified"). */
  name: string;
  controllers: string[];
  /** The container's own cgroup directory on the host. */
  dir: string;
}

export interface HostFacts {
  bundle: string;
  rootfs: string;
  /** Kind of each bind-mount source, by absolute host path. */
  sources: Record<string, "dir" | "file" | "missing">;
  cgroups: CgroupFact[];
  fifo?: string;
  helperWaits: boolean;
  noPivot: boolean;
  /** --no-new-keyring: keep runjs's session keyring. */
  noNewKeyring?: boolean;
  /** runjs's own bounding set (CapBnd of /proc/self/status): what it can grant at most. */
  ownCaps?: bigint;
  /** The kernel has keyrings (/proc/keys exists); absent: assumed. */
  keyrings?: boolean;
  /** Enabled LSMs; absent: none (create.ts looks only when the spec asks for one). */
  lsm?: LsmFacts;
  /** Where compile-time warnings go (unknown syscall names, ignored mounts). */
  warn: (msg: string) => void;
  /** process.terminal: the fd number the helper will have the console socket on. */
  consoleFd?: number;
  /** The terminal is runjs's to bridge, runc's way: ONLCR cleared on it ("\n" stays "\n"). */
  bridgedTerminal?: boolean;
  /** exec: a new process in the running container whose init has this (host) pid. */
  exec?: { pid: number };
  /** The maps of a user namespace the container joins by /proc/PID/ns/user, for "idmap" mounts. */
  joinedUserns?: { uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[] };
  /** Who runs runjs: decides how id maps are written (absent: root). */
  caller?: { euid: number; egid: number };
}

/** /proc/PID/ns/<name> of each namespace type. */
export const NS_FILES: Record<string, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/**
 * exec joins every namespace the container has, through the init's /proc/PID/ns links
 * (whether the container made it or joined it by path): the user namespace first, since it
 * owns the others, the mount namespace last. The helper opens them all before the first
 * setns; the pid and time namespaces take effect in the child it forks.
 */
function execJoins(spec: Spec, pid: number): Plan["nsJoin"] {
  const order = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];
  const types = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  return order
    .filter((t) => types.has(t as any))
    .map((t) => ({ type: NAMESPACE_FLAGS[t]!, path: `/proc/${pid}/ns/${NS_FILES[t]}`, name: `exec: join ${t} namespace` }));
}

/**
 * A sysctl name → its file. In the dotted form "." separates directories and a "/" inside a
 * component stands for a "." in a file name (net.ipv4.conf.eno2/100.rp_filter is
 * net/ipv4/conf/eno2.100/rp_filter); the slashed form swaps the two (sysctl(8)).
 */
export function sysctlPath(key: string): string {
  return "/proc/sys/" + sysctlDots(key).split(".").map((c) => c.replace(/\//g, ".")).join("/");
}

function absUnder(base: string, p: string): string {
  return p.startsWith("/") ? p : `${base.replace(/\/+$/, "")}/${p}`;
}

export function bindSources(spec: Spec, bundle: string): string[] {
  return (spec.mounts ?? []).filter(isBind).map((m) => absUnder(bundle, m.source ?? ""));
}

function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function compileMounts(spec: Spec, facts: HostFacts, cgroupns: boolean, userns: boolean) {
  const mounts: PlanMount[] = [];
  const remounts: PlanRemount[] = [];
  (spec.mounts ?? []).forEach((m0, i) => {
    const name = `mounts[${i}] (${m0.destination})`;
    // runc takes a destination written with the rootfs's host path in front as that path
    // inside it (its tests write them so)
    const m = m0.destination.startsWith(facts.rootfs + "/") ? { ...m0, destination: m0.destination.slice(facts.rootfs.length) } : m0;
    const o = parseMountOptions(m.options ?? []);
    const base = {
      name,
      target: m.destination,
      data: o.data.join(","),
      propagation: o.propagation,
      attrSet: o.attrSet,
      attrClr: o.attrClr,
      bindRemount: 0,
      bindClear: 0,
      copyUp: false,
      keepMode: false,
      early: false,
      late: false,
      idmapRecursive: false,
    };
    if (o.copyUp && m.type !== "tmpfs")
      throw new ValidationError(`mounts[${i}].options`, "tmpcopyup: only for a mount of type tmpfs");
    const idmapped = !!m.uidMappings || o.idmap !== "";
    if (idmapped && !isBind(m)) throw new ValidationError(`mounts[${i}].uidMappings`, "only bind mounts can be id-mapped");
    if (isBind(m)) {
      const source = absUnder(facts.bundle, m.source ?? "");
      // A source that is not there yet may be made by an earlier mount (a bind from inside the
      // rootfs, under a tmpfs mounted before it): the init looks at it when it mounts it, and
      // fails there if it is still missing, as runc does.
      const kind = facts.sources[source] ?? "missing";
      const inRootfs = source === facts.rootfs || source.startsWith(facts.rootfs + "/");
      const keep = o.flags & BIND_REMOUNT_MASK;
      // "idmap" without mappings of its own takes the container's (crun's rule): its own, or
      // those of the user namespace it joins
      const uids = m.uidMappings ?? (idmapped ? spec.linux?.uidMappings ?? facts.joinedUserns?.uidMappings : undefined);
      const gids = m.gidMappings ?? (idmapped ? spec.linux?.gidMappings ?? facts.joinedUserns?.gidMappings : undefined);
      if (idmapped && (!uids?.length || !gids?.length))
        throw new ValidationError(`mounts[${i}].options`, `${o.idmap}: no uidMappings/gidMappings, neither the mount's nor linux's`);
      mounts.push({
        ...base,
        source,
        fstype: "",
        flags: MS.BIND | (o.flags & MS.REC),
        data: "",
        mkdir: kind === "file" ? 2 : kind === "dir" ? 1 : 4,
        bindRemount: keep,
        bindClear: o.cleared & BIND_REMOUNT_MASK,
        // In a user namespace of its own the container's root is not the host's: the helper
        // takes the source while it still is (a source under a 0700 directory, say). A source
        // inside the rootfs is the container's own (an earlier mount may be what it shows), so
        // it is looked up in the container's mount namespace when its turn comes: by the init
        // itself, or, id-mapped, by a process that stayed root of the host (idmap.c)
        early: userns && !idmapped && (facts.caller?.euid ?? 0) === 0 && kind !== "missing" && !inRootfs,
        late: idmapped && inRootfs,
        uidMap: idmapped ? idMapText(uids) : undefined,
        gidMap: idmapped ? idMapText(gids) : undefined,
        idmapRecursive: o.idmap === "ridmap",
      });
      return;
    }
    if (m.type === "cgroup") {
      compileCgroupMount(m.destination, o.flags, name, facts, cgroupns, userns, mounts, remounts);
      return;
    }
    let flags = o.flags;
    // A read-only tmpfs is mounted writable and made read-only after set-up, so that the
    // runtime can still create what it needs inside it (device nodes under /dev, say).
    if (m.type === "tmpfs" && flags & MS.RDONLY) {
      flags &= ~MS.RDONLY;
      remounts.push({ name, path: m.destination, flags: o.flags });
    }
    // runc: a tmpfs over an existing directory keeps that directory's mode (a /tmp stays 1777,
    // set-id bits included) unless the options say mode=
    const keepMode = m.type === "tmpfs" && !o.data.some((d) => d.startsWith("mode="));
    // proc and sysfs only on a directory of their own, never through a symlink in the image
    // (runc's rule): an image's /proc pointing elsewhere would move the kernel's view there
    const mkdir = m.type === "proc" || m.type === "sysfs" ? 3 : 1;
    mounts.push({ ...base, source: m.source ?? m.type ?? "none", fstype: m.type ?? "", flags, mkdir, copyUp: o.copyUp, keepMode });
  });
  return { mounts, remounts };
}

/**
 * A "cgroup" mount means "show the container its cgroups". On a v2-only host that is one
 * cgroup2 mount. With v1 hierarchies it is a tmpfs holding one directory per hierarchy:
 * with a cgroup namespace each is a fresh mount (whose root the kernel makes the container's
 * own cgroup); without one, the container's cgroup directory is bind-mounted from the host.
 */
function compileCgroupMount(
  dest: string,
  flags: number,
  name: string,
  facts: HostFacts,
  cgroupns: boolean,
  userns: boolean,
  mounts: PlanMount[],
  remounts: PlanRemount[],
): void {
  const none = { propagation: 0, attrSet: 0n, attrClr: 0n, bindRemount: 0, bindClear: 0, mkdir: 1 as const, copyUp: false, keepMode: false, early: false, late: false, idmapRecursive: false };
  const v1 = facts.cgroups.filter((c) => c.version === 1);
  if (v1.length === 0) {
    mounts.push({ ...none, name, source: "cgroup", target: dest, fstype: "cgroup2", flags, data: "" });
    return;
  }
  const dirFlags = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  mounts.push({ ...none, name, source: "tmpfs", target: dest, fstype: "tmpfs", flags: dirFlags, data: "mode=755" });
  for (const c of facts.cgroups) {
    const target = `${dest.replace(/\/+$/, "")}/${c.name}`;
    const sub = `${name} ${c.name}`;
    // A v1 hierarchy cannot be mounted afresh inside a user namespace: bind the host's.
    if (cgroupns && !(userns && c.version === 1))
      mounts.push({
        ...none,
        name: sub,
        source: "cgroup",
        target,
        fstype: c.version === 1 ? "cgroup" : "cgroup2",
        flags: flags & ~MS.REC,
        data: c.version === 1 ? c.controllers.join(",") : "",
      });
    else
      mounts.push({
        ...none,
        name: sub,
        source: c.dir,
        target,
        fstype: "",
        flags: MS.BIND | MS.REC,
        data: "",
        bindRemount: (flags & BIND_REMOUNT_MASK) | MS.NOSUID | MS.NODEV | MS.NOEXEC,
      });
  }
  if (flags & MS.RDONLY) remounts.push({ name, path: dest, flags: dirFlags | MS.RDONLY });
}

function compileDevices(spec: Spec, ownDev: boolean): PlanDevice[] {
  const out = new Map<string, PlanDevice>();
  if (ownDev)
    for (const d of DEFAULT_DEVICES)
      out.set(d.path, { name: d.path, path: d.path, mode: S_IFCHR | 0o666, major: d.major, minor: d.minor, uid: 0, gid: 0, host: d.path });
  (spec.linux?.devices ?? []).forEach((d, i) => {
    const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
    out.set(d.path, {
      name: `linux.devices[${i}] (${d.path})`,
      path: d.path,
      mode: type | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      host: d.path,
    });
  });
  return [...out.values()];
}

function capNames(mask: bigint): string[] {
  return CAPABILITY_NAMES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/**
 * process.rlimits as prlimit(2) arguments. runjs applies them to the container's process
 * itself, from the host, once the mounts are made (container/create.ts): they are no step of
 * the init's plan.
 */
export function compileRlimits(spec: Spec): PlanRlimit[] {
  return (spec.process?.rlimits ?? []).map((r, i) => ({
    resource: RLIMITS[r.type]!,
    soft: u64(r.soft),
    hard: u64(r.hard),
    name: `process.rlimits[${i}] (${r.type})`,
  }));
}

export function compilePlan(spec: Spec, facts: HostFacts): Plan {
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new ValidationError("process", "is required");
  if (proc.terminal && facts.consoleFd === undefined)
    throw new ValidationError("process.terminal", "a terminal needs a console socket (--console-socket) to send the pty master to");
  // Warnings (unknown syscall names) go to stderr until HostFacts carries the CLI's logger.
  const seccomp = linux.seccomp
    ? compileSeccomp(linux.seccomp, facts.warn)
    : undefined;

  let unshareFlags = 0;
  let cgroupns = false;
  const nsJoin: Plan["nsJoin"] = [];
  let hasMountNs = false;
  let hasTimeNs = false;
  let userns = false;
  (linux.namespaces ?? []).forEach((ns, i) => {
    const flag = NAMESPACE_FLAGS[ns.type]!;
    if (ns.type === "user") userns = true;
    if (ns.type === "mount") hasMountNs = true;
    if (ns.type === "time") hasTimeNs = !ns.path;
    if (ns.path) nsJoin.push({ type: flag, path: ns.path, name: `linux.namespaces[${i}] (${ns.type})` });
    else if (ns.type === "cgroup") cgroupns = true;
    else unshareFlags |= flag;
  });
  // The user namespace first: it owns every namespace made or joined after it.
  const u = nsJoin.findIndex((j) => j.type === CLONE.NEWUSER);
  if (u > 0) nsJoin.unshift(...nsJoin.splice(u, 1));
  if (facts.exec) {
    nsJoin.splice(0, nsJoin.length, ...execJoins(spec, facts.exec.pid));
    unshareFlags = 0;
    cgroupns = false;
    hasTimeNs = false;
  }

  let timeOffsets: string | undefined;
  if (linux.timeOffsets && hasTimeNs) {
    timeOffsets = "";
    for (const [clock, off] of Object.entries(linux.timeOffsets))
      timeOffsets += `${clock} ${off.secs ?? 0} ${off.nanosecs ?? 0}\n`;
  }

  let { mounts, remounts } = facts.exec ? { mounts: [], remounts: [] } : compileMounts(spec, facts, cgroupns, userns);
  const devBind = (spec.mounts ?? []).some((m) => m.destination.replace(/\/+$/, "") === "/dev" && isBind(m));
  let devices = compileDevices(spec, !devBind);
  let symlinks = devBind ? [] : [...DEV_SYMLINKS];
  if (!devBind && (spec.mounts ?? []).some((m) => m.destination.replace(/\/+$/, "") === "/dev/pts"))
    symlinks.push({ target: "pts/ptmx", path: "/dev/ptmx" });
  if (spec.root?.readonly) remounts.push({ name: "root.readonly", path: "/", flags: MS.BIND | MS.RDONLY });
  // Without a mount namespace of its own the container shares the host's mount table:
  // anything mounted would appear on the host and outlive the container. Only chroot.
  if (facts.exec) {
    mounts = [];
    remounts = [];
    devices = [];
    symlinks = [];
  } else if (!hasMountNs) {
    if (spec.mounts?.length || spec.root?.readonly || linux.devices?.length)
      facts.warn("linux.namespaces has no mount namespace: mounts, devices and root.readonly are not applied");
    mounts = [];
    remounts = [];
    devices = [];
    symlinks = [];
  }

  const prop = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation]! : 0;
  // Before the pivot / must stop receiving or sending mount events (private or slave):
  // pivot_root refuses a shared parent mount and an unbindable rootfs cannot be bind-mounted.
  // Shared and unbindable are therefore applied to the new / only after the pivot.
  const rootPropagation = prop & (MS.PRIVATE | MS.SLAVE) ? prop : MS.SLAVE | MS.REC;

  const hooks: Plan["hooks"] = [];
  // exec runs no hooks: they belong to the container's lifecycle, not to its processes.
  const hookLists = facts.exec
    ? []
    : ([
        [1, spec.hooks?.createContainer],
        [2, spec.hooks?.startContainer],
      ] as const);
  for (const [phase, list] of hookLists)
    (list ?? []).forEach((h, i) =>
      hooks.push({
        name: `hooks.${phase === 1 ? "createContainer" : "startContainer"}[${i}]`,
        phase,
        path: h.path,
        args: h.args?.length ? h.args : [h.path],
        env: h.env ?? [],
        // runc's historical behaviour: a startContainer hook without env of its own gets the
        // process's (it runs just before the process's execve)
        inheritEnv: phase === 2 && h.env === undefined,
        timeout: h.timeout ?? 0,
      }),
    );

  // After the mounts are final: a mount label is a mount option.
  const execAttrs = compileLsm(spec, facts.lsm ?? NO_LSM, mounts, facts.warn);
  const { cpuInitial, cpuFinal } = compileAffinity(proc.execCPUAffinity);

  const c = proc.capabilities;
  // Names this runtime does not know (newer than its table, or misspelt) are left out with one
  // warning, runc's: a profile written for a newer kernel still runs.
  const unknownCaps = new Set<string>();
  const mask = (set: keyof NonNullable<typeof c>) =>
    capMask(c![set] ?? [], `process.capabilities.${set}`, (e) => unknownCaps.add(/"(.*)"/.exec(e.problem)?.[1] ?? e.problem));
  const caps = c
    ? { bounding: mask("bounding"), effective: mask("effective"), permitted: mask("permitted"), inheritable: mask("inheritable"), ambient: mask("ambient") }
    : undefined;
  if (unknownCaps.size) facts.warn(`process.capabilities: ignoring unknown or unavailable capabilities: [${[...unknownCaps].join(" ")}]`);
  // A capability runjs does not hold itself cannot be given to the container: capset(2)
  // would fail with a bare EPERM. Name the capabilities instead.
  if (caps && facts.ownCaps !== undefined)
    for (const set of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) {
      const missing = caps[set] & ~facts.ownCaps;
      if (missing && set !== "bounding" && set !== "inheritable")
        throw new ValidationError(`process.capabilities.${set}`, `${capNames(missing).join(", ")}: not held by runjs itself, so it cannot be granted`);
      if (missing) {
        // a bounding or inheritable bit runjs lacks can only stay cleared: say so
        facts.warn(`process.capabilities.${set}: ${capNames(missing).join(", ")} not held by runjs itself, left out`);
        caps[set] &= facts.ownCaps;
      }
    }
  // The kernel raises an ambient capability only when it is both permitted and inheritable
  // (PR_CAP_AMBIENT_RAISE fails with EPERM otherwise). `runc spec` before 1.2 writes ambient
  // capabilities without inheritable ones; runc warns for each and runs the container, and so
  // does runjs, deciding here rather than letting the init fail.
  if (caps) {
    const cannot = caps.ambient & ~(caps.permitted & caps.inheritable);
    for (const name of capNames(cannot))
      facts.warn(`process.capabilities.ambient: can't raise ambient capability ${name}: it is not both permitted and inheritable`);
    caps.ambient &= ~cannot;
  }

  return {
    helperWaits: facts.helperWaits,
    unshareFlags,
    cgroupns,
    // A new network namespace has only lo, and it is down: runc and crun bring it up.
    loopback: (unshareFlags & CLONE.NEWNET) !== 0,
    nsJoin,
    timeOffsets,
    oomScoreAdj: proc.oomScoreAdj,
    cpuInitial,
    // exec: setns into the mount namespace gives its root; without one, chroot into the init's.
    rootfs: facts.exec ? (hasMountNs ? "" : `/proc/${facts.exec.pid}/root`) : facts.rootfs,
    rootPropagation,
    postPropagation: prop,
    mounts,
    devices,
    symlinks,
    noPivot: facts.noPivot,
    chroot: !hasMountNs,
    remounts,
    masked: facts.exec ? [] : [...new Set(linux.maskedPaths ?? [])], // each once (runc's tests count)
    readonly: facts.exec ? [] : linux.readonlyPaths ?? [],
    hostname: facts.exec ? undefined : spec.hostname,
    domainname: facts.exec ? undefined : spec.domainname,
    sysctls: facts.exec ? [] : Object.entries(linux.sysctl ?? {}).map(([k, v]) => ({ path: sysctlPath(k), value: v, name: `linux.sysctl[${JSON.stringify(k)}]` })),
    hooks,
    newKeyring: !facts.noNewKeyring && facts.keyrings !== false,
    personality: compilePersonality(linux.personality, facts.warn),
    ioPriority: compileIoPriority(proc.ioPriority),
    scheduler: compileScheduler(proc.scheduler),
    cpuFinal,
    ...compileMemoryPolicy(linux.memoryPolicy),
    // runc: a process without HOME (or with an empty one) gets its user's home directory
    homeFromPasswd: !mergeEnv([], proc.env ?? []).some((e) => e.startsWith("HOME=") && e.length > 5),
    execAttrs,
    uid: proc.user?.uid ?? 0,
    gid: proc.user?.gid ?? 0,
    gids: proc.user?.additionalGids ?? [],
    noSetgroups: !facts.exec && !!planIdMaps(spec, facts.caller ?? { euid: 0, egid: 0 })?.denySetgroups,
    umask: proc.user?.umask,
    caps,
    noNewPrivs: !!proc.noNewPrivileges,
    seccompBpf: seccomp?.bpf,
    seccompFlags: seccomp?.flags ?? 0,
    // Without no_new_privs only CAP_SYS_ADMIN permits the filter, so it goes in before the
    // capability drop; the agent's listener must be handed over before READY, so that a
    // failure fails create; otherwise as late as possible, after READY.
    seccompEarly: !!seccomp && (!proc.noNewPrivileges || !!seccomp.listener),
    seccompListener: seccomp?.listener,
    cwd: proc.cwd,
    env: mergeEnv([], proc.env ?? []), // one value per name, the last one given (runc's rule)
    args: proc.args ?? [],
    fifo: facts.fifo,
    fifoByProc: hasMountNs && (spec.mounts ?? []).some((m) => m.type === "proc" && m.destination.replace(/\/+$/, "") === "/proc"),
    consoleFd: proc.terminal ? facts.consoleFd : undefined,
    consoleRows: (proc.terminal && proc.consoleSize?.height) || 0,
    consoleCols: (proc.terminal && proc.consoleSize?.width) || 0,
    consoleNoOnlcr: !!proc.terminal && !!facts.bridgedTerminal,
    devConsole: !!proc.terminal && !facts.exec && hasMountNs,
  };
}
