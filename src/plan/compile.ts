// compileInit and compileExec: (validated spec, host facts) → Plan. Pure and synchronous: no
// I/O here. A container's init and a process exec'd into it share the process part
// (compileProcess: user, capabilities, seccomp, labels, attributes, terminal); the init adds
// the namespaces it makes, its filesystem and its hooks, the exec the namespaces it joins.
//
// Everything the C init needs is decided here and in the modules beside it, one per kernel
// concept: which namespaces to create or join (namespaces.ts), how each mount turns into
// mount(2) calls (mounts.ts), which device nodes to create (devices.ts), the process's
// attributes (process.ts), seccomp (seccomp.ts), labels (lsm.ts), id maps (userns.ts); this
// file puts them together and decides which capability bits remain. The facts about
// the host that those decisions depend on (is a bind source a file or a directory, which
// cgroup hierarchies exist) are gathered beforehand and passed in, so the whole mapping is
// unit-testable without root.
import { mergeEnv } from "../oci/env.ts";
import type { Spec } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";
import { CAPABILITY_NAMES, capMask } from "../oci/capabilities.ts";
import { sysctlDots, u64 } from "../oci/validate.ts";
import { compileMounts, isBind, MS, PROPAGATION } from "./mounts.ts";
import { CLONE, execJoins, NAMESPACE_FLAGS } from "./namespaces.ts";
import { compileDevices, DEV_SYMLINKS } from "./devices.ts";
import type { ExecFacts, HostFacts, Plan, PlanRlimit, ProcessFacts } from "./types.ts";
import { compileSeccomp, type CompiledSeccomp } from "./seccomp.ts";
import { planIdMaps } from "./userns.ts";
import { compileLsm, NO_LSM } from "./lsm.ts";
import { compileAffinity, compileIoPriority, compileMemoryPolicy, compilePersonality, compileScheduler } from "./process.ts";

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

/**
 * A sysctl name → its file. In the dotted form "." separates directories and a "/" inside a
 * component stands for a "." in a file name (net.ipv4.conf.eno2/100.rp_filter is
 * net/ipv4/conf/eno2.100/rp_filter); the slashed form swaps the two (sysctl(8)).
 */
export function sysctlPath(key: string): string {
  return "/proc/sys/" + sysctlDots(key).split(".").map((c) => c.replace(/\//g, ".")).join("/");
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

type ProcessPart = Omit<
  Plan,
  | "unshareFlags" | "cgroupns" | "loopback" | "nsJoin" | "timeOffsets" | "rootfs" | "rootPropagation" | "postPropagation"
  | "mounts" | "devices" | "symlinks" | "noPivot" | "chroot" | "remounts" | "masked" | "readonly" | "hostname"
  | "domainname" | "sysctls" | "hooks" | "noSetgroups" | "fifo" | "fifoByProc" | "devConsole"
>;

/** The spec's process, and that a terminal has somewhere to go. */
function processOf(spec: Spec, facts: ProcessFacts) {
  const proc = spec.process;
  if (!proc) throw new ValidationError("process", "is required");
  if (proc.terminal && facts.consoleFd === undefined)
    throw new ValidationError("process.terminal", "a terminal needs a console socket (--console-socket) to send the pty master to");
  return proc;
}

/**
 * What a process is given, whether it is a container's init or exec'd into one: its user,
 * capabilities, seccomp filter (compiled first by the caller, so its warnings come first),
 * LSM labels (after the mounts, since a mount label is a mount option), attributes and
 * terminal.
 */
function compileProcess(spec: Spec, facts: ProcessFacts, seccomp: CompiledSeccomp | undefined, mounts: Plan["mounts"]): ProcessPart {
  const proc = spec.process!;
  const execAttrs = compileLsm(spec, facts.lsm ?? NO_LSM, mounts, facts.warn);
  const { cpuInitial, cpuFinal } = compileAffinity(proc.execCPUAffinity);

  const c = proc.capabilities;
  // Names this runtime does not know (newer than its table, or misspelt) are left out with one
  // warning, runc's: a profile written for a newer kernel still runs.
  const unknownCaps = new Set<string>();
  const mask = (set: keyof NonNullable<typeof c>) =>
    capMask(c![set] ?? [], `process.capabilities.${set}`, (_, name) => unknownCaps.add(name));
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
    oomScoreAdj: proc.oomScoreAdj,
    cpuInitial,
    newKeyring: !facts.noNewKeyring && facts.keyrings !== false,
    personality: compilePersonality(spec.linux?.personality, facts.warn),
    ioPriority: compileIoPriority(proc.ioPriority),
    scheduler: compileScheduler(proc.scheduler),
    cpuFinal,
    ...compileMemoryPolicy(spec.linux?.memoryPolicy),
    // runc: a process without HOME (or with an empty one) gets its user's home directory
    homeFromPasswd: !mergeEnv([], proc.env ?? []).some((e) => e.startsWith("HOME=") && e.length > 5),
    execAttrs,
    uid: proc.user?.uid ?? 0,
    gid: proc.user?.gid ?? 0,
    gids: proc.user?.additionalGids ?? [],
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
    consoleFd: proc.terminal ? facts.consoleFd : undefined,
    consoleRows: (proc.terminal && proc.consoleSize?.height) || 0,
    consoleCols: (proc.terminal && proc.consoleSize?.width) || 0,
    consoleNoOnlcr: !!proc.terminal && !!facts.bridgedTerminal,
  };
}

/** The plan of a container's init: the namespaces it makes or joins, its root filesystem, its hooks. */
export function compileInit(spec: Spec, facts: HostFacts): Plan {
  const linux = spec.linux ?? {};
  processOf(spec, facts);
  const seccomp = linux.seccomp ? compileSeccomp(linux.seccomp, facts.warn) : undefined;

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

  let timeOffsets: string | undefined;
  if (linux.timeOffsets && hasTimeNs) {
    timeOffsets = "";
    for (const [clock, off] of Object.entries(linux.timeOffsets))
      timeOffsets += `${clock} ${off.secs ?? 0} ${off.nanosecs ?? 0}\n`;
  }

  let { mounts, remounts } = compileMounts(spec, facts, cgroupns, userns);
  const devBind = (spec.mounts ?? []).some((m) => m.destination.replace(/\/+$/, "") === "/dev" && isBind(m));
  let devices = compileDevices(spec, !devBind);
  let symlinks = devBind ? [] : [...DEV_SYMLINKS];
  if (!devBind && (spec.mounts ?? []).some((m) => m.destination.replace(/\/+$/, "") === "/dev/pts"))
    symlinks.push({ target: "pts/ptmx", path: "/dev/ptmx" });
  if (spec.root?.readonly) remounts.push({ name: "root.readonly", path: "/", flags: MS.BIND | MS.RDONLY });
  // Without a mount namespace of its own the container shares the host's mount table:
  // anything mounted would appear on the host and outlive the container. Only chroot.
  if (!hasMountNs) {
    if (spec.mounts?.length || spec.root?.readonly || linux.devices?.length)
      facts.warn("linux.namespaces has no mount namespace: mounts, devices and root.readonly are not applied");
    mounts = [];
    remounts = [];
    devices = [];
    symlinks = [];
  }

  const prop = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation]! : 0;
  // Before the pivot, / is made a slave unless the config says otherwise. Shared is applied
  // before the pivot too, as runc does, so that bind mounts made afterwards stay peers of the
  // host's (a volume with rshared must send its mounts back to the host); runjs-init then
  // makes the one mount holding the rootfs private, since pivot_root refuses a shared one.
  // An unbindable rootfs cannot be bind-mounted: unbindable is applied only after the pivot.
  const rootPropagation = prop & (MS.PRIVATE | MS.SLAVE | MS.SHARED) ? prop : MS.SLAVE | MS.REC;

  const hooks: Plan["hooks"] = [];
  for (const [phase, list] of [
    [1, spec.hooks?.createContainer],
    [2, spec.hooks?.startContainer],
  ] as const)
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

  const process = compileProcess(spec, facts, seccomp, mounts);
  return {
    ...process,
    unshareFlags,
    cgroupns,
    // A new network namespace has only lo, and it is down: runc and crun bring it up.
    loopback: (unshareFlags & CLONE.NEWNET) !== 0,
    nsJoin,
    timeOffsets,
    rootfs: facts.rootfs,
    rootPropagation,
    postPropagation: prop,
    mounts,
    devices,
    symlinks,
    noPivot: facts.noPivot,
    chroot: !hasMountNs,
    remounts,
    masked: [...new Set(linux.maskedPaths ?? [])], // each once (runc's tests count)
    readonly: linux.readonlyPaths ?? [],
    hostname: spec.hostname,
    domainname: spec.domainname,
    sysctls: Object.entries(linux.sysctl ?? {}).map(([k, v]) => ({ path: sysctlPath(k), value: v, name: `linux.sysctl[${JSON.stringify(k)}]` })),
    hooks,
    noSetgroups: !!planIdMaps(spec, facts.caller ?? { euid: 0, egid: 0 })?.denySetgroups,
    fifo: facts.fifo,
    ...(facts.cgroup2Dir ? { cgroup2Dir: facts.cgroup2Dir } : {}),
    fifoByProc: hasMountNs && (spec.mounts ?? []).some((m) => m.type === "proc" && m.destination.replace(/\/+$/, "") === "/proc"),
    devConsole: !!spec.process!.terminal && hasMountNs,
  };
}

/**
 * The plan of a process exec'd into a running container: it joins every namespace the
 * container has, through the init's /proc/PID/ns links; it makes no mount, device or
 * hostname and runs no hook (those belong to the container's lifecycle, not its processes).
 */
export function compileExec(spec: Spec, facts: ExecFacts): Plan {
  processOf(spec, facts);
  const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp, facts.warn) : undefined;
  const hasMountNs = (spec.linux?.namespaces ?? []).some((n) => n.type === "mount");
  return {
    ...compileProcess(spec, facts, seccomp, []),
    unshareFlags: 0,
    cgroupns: false,
    loopback: false,
    nsJoin: execJoins(spec, facts.pid),
    // setns into the mount namespace gives its root; without one, chroot into the init's
    rootfs: hasMountNs ? "" : `/proc/${facts.pid}/root`,
    rootPropagation: 0,
    postPropagation: 0,
    mounts: [],
    devices: [],
    symlinks: [],
    noPivot: false,
    chroot: !hasMountNs,
    remounts: [],
    masked: [],
    readonly: [],
    sysctls: [],
    hooks: [],
    noSetgroups: !!facts.setgroupsDenied,
    fifoByProc: false,
    devConsole: false,
  };
}
