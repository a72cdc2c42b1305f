// create: from a bundle to an init process that waits for `start`.
//
// Order matters, and so does what happens when any step fails:
//   1. read and validate config.json, gather host facts, compile the plan  (nothing touched yet)
//   2. mkdir the state directory (atomic: one winner per id), lock it, write a first state
//      that names the cgroups we are about to create, so `delete --force` can always clean up
//   3. create the cgroups, make the exec fifo
//   4. talk to runjs-init: it forks the init in new namespaces (PIDS) → we put the init in
//      its cgroups (PLACED) → it mounts the rootfs (HOOKS) → we run prestart/createRuntime
//      hooks (CONTINUE) → it pivots and sets up the process, then blocks on the fifo (READY)
//   5. mark the state complete, write --pid-file
// On failure the undo steps run in reverse: kill what was started, remove the cgroups, remove
// the state directory. Nothing is left behind.
import type { Subprocess } from "bun";
import { dirname, exists as existsSync, readText, readTextIfExists, resolvePath as resolve, stderr, writable, writeAtomic } from "../sys/fs.ts";
import { close, connectUnix, ERRNO_NAMES, pidfdOpen, prlimit, sendFd, strerror, socketpair } from "../sys/libc.ts";
import { driverFor } from "../cgroups/driver.ts";
import { hostHierarchies } from "../cgroups/hierarchy.ts";
import { primeTarget } from "../cgroups/prime.ts";
import { HelperError, UsageError } from "../errors.ts";
import { encodePlan } from "../helper/encode.ts";
import { abandonHelper, receiveMaster, runSession, spawnHelper, type Spawned } from "../helper/session.ts";
import { kindOf, lsmFacts, ownBoundingSet } from "./host.ts";
import { runHooks } from "../hooks/run.ts";
import { ValidationError } from "../oci/errors.ts";
import type { Spec } from "../oci/spec.ts";
import { validateSpec } from "../oci/validate.ts";
import { compileInit, compileRlimits } from "../plan/compile.ts";
import { bindSources } from "../plan/mounts.ts";
import type { HostFacts } from "../plan/types.ts";
import type { PlanRlimit } from "../plan/types.ts";
import { seccompProcessState } from "../plan/seccomp.ts";
import { planIdMaps } from "../plan/userns.ts";
import { writeIdMaps } from "./userns.ts";
import { mkfifo } from "../sys/libc.ts";
import { destroy } from "./destroy.ts";
import {
  createStateDir,
  emptyState,
  lock,
  procStat,
  removeStateDir,
  saveState,
  specState,
  stateDir,
  type SavedState,
} from "./state.ts";

export interface CreateOptions {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  /** As consoleSocket, for a caller in this process: a connected socket (the caller's to close). */
  consoleConn?: number;
  /** --pidfd-socket: receives a pidfd of the init (SCM_RIGHTS), as with runc. */
  pidfdSocket?: string;
  noPivot?: boolean;
  /** --systemd-cgroup: the container's cgroup is a transient systemd unit. */
  systemdCgroup?: boolean;
  /** --no-new-keyring: the container keeps the caller's session keyring. */
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** LISTEN_FDS passed on from our caller (systemd socket activation): fds 3.. before --preserve-fds. */
  listenFds?: number;
  /** The helper stays as the init's parent and exits with its status (attached `run`). */
  attached?: boolean;
  /** A bridged terminal keeps ONLCR ("\n" shown as "\r\n"), as Docker's does; runc clears it. */
  keepOnlcr?: boolean;
  warn?: (msg: string) => void;
  /** The container's standard input, output and error (fds); default: ours. */
  stdio?: [number, number, number];
  /** --debug: what happens, step by step. */
  debug?: (msg: string) => void;
}

export interface Created {
  dir: string;
  state: SavedState;
  spec: Spec;
  proc: Subprocess;
  lockFd: number;
  /** The pty master, when an attached run has a terminal (runjs bridges it). */
  master?: number;
}

export function readSpec(bundle: string, warn?: (msg: string) => void): Spec {
  return validateSpec(readRawSpec(bundle), { bundle, warn });
}

/** config.json read and parsed, not yet checked. */
function readRawSpec(bundle: string): unknown {
  let text: string;
  try {
    text = readText(`${bundle}/config.json`);
  } catch (e: any) {
    throw new UsageError(`${bundle}/config.json: cannot read: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e: any) {
    throw new ValidationError("", `invalid JSON: ${e.message}`);
  }
  return raw;
}

export function create(o: CreateOptions): Created {
  // 1. Everything that can be checked is checked before anything is created.
  const dir = stateDir(o.root, o.id);
  const bundle = resolve(o.bundle ?? ".");
  const warn = o.warn ?? ((m: string) => stderr(`runjs: warning: ${m}\n`));
  const debug = o.debug ?? (() => {});
  const raw = readRawSpec(bundle);
  const preserve = (o.listenFds ?? 0) + (o.preserveFds ?? 0);
  // Without a terminal, runjs-init needs nothing from the configuration to start: it starts
  // now, so that its exec, its sealed re-exec and its priming cgroup move (cgroups/prime.ts)
  // overlap the checks as well as the plan compiler. (A check that fails kills it unused.)
  const plain = (raw as { process?: { terminal?: unknown } } | null)?.process?.terminal !== true && o.consoleConn === undefined && !o.consoleSocket;
  const helper = plain ? spawnHelper({ preserve, stdio: o.stdio, prime: primeTarget(hostHierarchies()) }) : undefined;
  let spec: Spec, terminal: boolean;
  try {
    spec = validateSpec(raw, { bundle, warn });
    terminal = !!spec.process?.terminal;
    checkTerminal(terminal, o);
  } catch (e) {
    if (helper) abandonHelper(helper);
    throw e;
  }
  debug(`${bundle}/config.json: valid (ociVersion ${spec.ociVersion}, ${spec.mounts?.length ?? 0} mounts, namespaces ${(spec.linux?.namespaces ?? []).map((n) => n.type + (n.path ? "=" + n.path : "")).join(" ") || "none"})`);
  const early = startEarly({ pair: terminal && !!o.attached, consoleSocket: o.consoleSocket, consoleConn: o.consoleConn, pidfdSocket: o.pidfdSocket, preserve, stdio: o.stdio, helper });
  try {
    return createWith(o, { dir, bundle, warn, debug, spec, preserve, terminal, early });
  } finally {
    early.close();
  }
}

/**
 * What create and exec open before their remaining checks: the console and pidfd sockets
 * (a wrong path fails before anything is made; an attached run with a terminal receives the
 * master itself, on a socketpair), and runjs-init, started now so that its exec and sealed
 * re-exec overlap the checks and the plan compiler. close() undoes what the session did not
 * take: a helper that never got its plan is killed, having made nothing.
 */
export interface Early {
  pair?: [number, number];
  consoleFd?: number;
  pidfdSock?: number;
  /** Hand the helper to the session (once). */
  take(): Spawned;
  close(): void;
}

export function startEarly(o: { pair: boolean; consoleSocket?: string; consoleConn?: number; pidfdSocket?: string; preserve: number; stdio?: [number, number, number]; helper?: Spawned }): Early {
  // (a helper already started, with no console fd to pass, becomes this Early's: closed with it)
  let helper: Spawned | undefined = o.helper;
  const e: Early = {
    pair: o.pair ? socketpair() : undefined,
    take() {
      const h = helper!;
      helper = undefined;
      return h;
    },
    close() {
      if (helper) abandonHelper(helper);
      helper = undefined;
      if (e.consoleFd !== undefined && e.consoleFd !== o.consoleConn) close(e.consoleFd);
      if (e.pidfdSock !== undefined) close(e.pidfdSock);
      if (e.pair) close(e.pair[0]);
    },
  };
  try {
    e.consoleFd = o.consoleConn ?? (o.consoleSocket ? connectSocket(o.consoleSocket, "--console-socket") : e.pair?.[1]);
    e.pidfdSock = o.pidfdSocket ? connectSocket(o.pidfdSocket, "--pidfd-socket") : undefined;
    // (on a cgroup v1 host, runjs-init readies the kernel's lock for the cgroup moves to come)
    helper ??= spawnHelper({ preserve: o.preserve, extraFds: e.consoleFd !== undefined ? [e.consoleFd] : [], stdio: o.stdio, prime: primeTarget(hostHierarchies()) });
  } catch (err) {
    e.close();
    throw err;
  }
  return e;
}

interface Prepared {
  dir: string;
  bundle: string;
  warn: (msg: string) => void;
  debug: (msg: string) => void;
  spec: Spec;
  preserve: number;
  terminal: boolean;
  early: Early;
}

function createWith(o: CreateOptions, x: Prepared): Created {
  const { dir, bundle, warn, debug, spec, preserve, terminal, early } = x;
  const { pair, consoleFd, pidfdSock } = early;
  const rootfs = resolve(bundle, spec.root!.path);
  if (kindOf(rootfs) !== "dir") throw new ValidationError("root.path", `${rootfs} is not a directory`);
  const cgroups = driverFor(o.systemdCgroup ? { cgroupDriver: "systemd" } : undefined, { id: o.id, annotations: spec.annotations });
  const planned = cgroups.plan(spec.linux?.cgroupsPath, o.id);
  // a user manager gives its user a unit of its own: only cgroupfs needs a delegated cgroup
  const targets = cgroups.name === "systemd" ? planned : usableCgroups(planned, spec);
  const sources: HostFacts["sources"] = {};
  for (const s of bindSources(spec, bundle)) sources[s] = kindOf(s);
  const fifo = `${dir}/exec.fifo`;
  // Socket activation: the container's process learns of the fds it was passed (LISTEN_PID=1,
  // as runc sets it). Not saved in the state: exec'd processes get them only from their own caller.
  const planSpec: Spec =
    o.listenFds && spec.process
      ? { ...spec, process: { ...spec.process, env: [...(spec.process.env ?? []), `LISTEN_FDS=${o.listenFds}`, "LISTEN_PID=1"] } }
      : spec;
  const caller = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
  const idMaps = planIdMaps(spec, caller);
  const joinedUserns = joinedUsernsMaps(spec);
  // runjs's own driver forks the init straight into its v2 cgroup (systemd moves it itself)
  const cgroup2Dir = cgroups.name === "cgroupfs" ? targets.find((t) => t.h.version === 2)?.dir : undefined;
  const plan = compileInit(planSpec, {
    caller,
    cgroup2Dir,
    bundle,
    rootfs,
    sources,
    cgroups: targets.map(({ h, dir }) => ({
      version: h.version,
      name: h.mountpoint.slice(h.mountpoint.lastIndexOf("/") + 1),
      controllers: h.controllers,
      dir,
    })),
    fifo,
    joinedUserns,
    consoleFd: terminal ? 3 + preserve + 1 : undefined,
    bridgedTerminal: terminal && !!o.attached && !o.consoleSocket && !o.keepOnlcr,
    helperWaits: !!o.attached,
    noPivot: !!o.noPivot,
    noNewKeyring: !!o.noNewKeyring,
    ownCaps: spec.process?.capabilities ? ownBoundingSet() : undefined,
    keyrings: o.noNewKeyring ? undefined : existsSync("/proc/keys"),
    // Only looked at when the spec asks for a label: create's hot path stays as it was.
    lsm: spec.process?.apparmorProfile || spec.process?.selinuxLabel || spec.linux?.mountLabel ? lsmFacts() : undefined,
    warn,
  });
  const encoded = encodePlan(plan);
  if (plan.seccompBpf) debug(`seccomp filter flags: ${plan.seccompFlags}`); // runc's words for the same fact
  debug(`plan: ${encoded.length} bytes, ${plan.mounts.length} mounts, ${plan.devices.length} devices, cgroups ${targets.map((t) => t.dir).join(" ") || "none"}`);
  // 2. From here on, every resource is undone on failure.
  createStateDir(o.root, o.id);
  const st: SavedState = {
    ...emptyState(o.id),
    ociVersion: spec.ociVersion,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    annotations: spec.annotations,
    // filled once the cgroups are known to be ours (checkVacant): a failure before that must
    // not kill what runs in someone else's
    cgroupDirs: [],
    cgroupCreated: [],
    hooks: { poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
    owner: "",
  };
  let lockFd = -1;
  let proc: Subprocess | undefined;
  try {
    lockFd = lock(dir, o.id);
    // after the id is ours: a second create of the same id fails as "exists", not on the
    // cgroup the first one is filling
    cgroups.checkVacant(targets);
    st.cgroupDirs = targets.map((t) => t.dir);
    st.cgroupDriver = cgroups.name;
    st.cgroupCreated = targets.flatMap((t) => missingDirs(t.h.mountpoint, t.dir));
    saveState(dir, st);
    // exec builds its processes from the container's own configuration, as it was at create.
    writeAtomic(`${dir}/config.json`, JSON.stringify(spec));
    // 3.
    const made = cgroups.create(targets);
    cgroups.apply(
      spec.linux?.resources,
      targets.map((t) => ({ version: t.h.version, controllers: t.h.controllers, dir: t.dir })),
      warn,
      made,
    );
    mkfifo(fifo, 0o622);
    // 4.
    const spawned = early.take(); // the session owns it now: a failure from here is destroy()'s to undo
    const res = runSession(
      { plan: encoded, preserve, extraFds: consoleFd !== undefined ? [consoleFd] : [], waits: plan.helperWaits, stdio: o.stdio, spawned, onSpawn: (p) => (proc = p) },
      {
        pids(helper, init, placed) {
          debug(`runjs-init: helper pid ${helper}, container init pid ${init}${placed ? ` (forked into ${cgroup2Dir})` : ""}`);
          st.pid = init;
          st.startTime = procStat(init)?.startTime ?? 0;
          saveState(dir, st);
          if (idMaps) writeIdMaps(init, idMaps);
          cgroups.join(placed ? st.cgroupDirs.filter((d) => d !== cgroup2Dir) : st.cgroupDirs, init, spec.linux?.resources, warn);
          if (pidfdSock !== undefined) sendPidfd(pidfdSock, init);
        },
        hooks() {
          applyRlimits(st.pid, compileRlimits(spec));
          debug("mounts done: running prestart and createRuntime hooks, then the rest of the set-up");
          const creating = JSON.stringify(specState(st, "creating"));
          const created = JSON.stringify(specState(st, "created"));
          // prestart is the legacy hook from when it ran at start: the validation suite (and
          // crun) give it "created"; the newer create-time hooks get "creating", as in runc.
          runHooks("prestart", spec.hooks?.prestart, created);
          runHooks("createRuntime", spec.hooks?.createRuntime, creating);
          const seccompState = plan.seccompListener ? seccompProcessState(spec.linux!.seccomp!, specState(st, "creating")) : undefined;
          return { creating, created, seccompState };
        },
      },
    );
    // 5.
    debug(`container ${o.id} created: init ${st.pid} waits on ${fifo}`);
    st.complete = true;
    saveState(dir, st);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(st.pid));
    // The init sent the master before READY: it is waiting in the socket.
    const master = pair ? receiveMaster(pair[0]) : undefined;
    return { dir, state: st, spec, proc: res.proc, lockFd, master };
  } catch (e) {
    destroy(dir, st, { proc });
    // sched_setattr(2) refuses (EPERM) a task whose CPUs are not all of them: say why, in runc's words
    if (e instanceof HelperError && e.step === "process.scheduler" && e.errno === 1 && spec.linux?.resources?.cpu?.cpus)
      throw new HelperError(e.errno, e.step, e.op, e.path, "process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus): the kernel schedules such a task only with every CPU allowed");
    throw e;
  }
}

/**
 * process.rlimits, set on the container's first process from here with prlimit(2), once its
 * mounts are made, as runc does: a low RLIMIT_NOFILE does not starve the set-up of fds, and
 * runjs (the host's root) may raise a hard limit the container's user namespace could not.
 */
export function applyRlimits(pid: number, rlimits: PlanRlimit[]): void {
  for (const r of rlimits) {
    const e = prlimit(pid, r.resource, r.soft, r.hard);
    if (e < 0) throw new HelperError(-e, r.name ?? "process.rlimits", "prlimit", "", `${strerror(-e)} (${ERRNO_NAMES[-e] ?? -e})`);
  }
}

/** Hand a pidfd of pid to the --pidfd-socket listener (runc's protocol: SCM_RIGHTS). */
export function sendPidfd(sock: number, pid: number): void {
  const fd = pidfdOpen(pid);
  try {
    sendFd(sock, fd, `pidfd:${pid}`);
  } finally {
    close(fd);
  }
}

export function connectSocket(path: string, flag: string): number {
  try {
    return connectUnix(resolve(path));
  } catch (e: any) {
    throw new UsageError(`${flag}: ${e.message}`);
  }
}


/**
 * runc's rules: a terminal's master must go somewhere. A detached container (create, run -d)
 * sends it to --console-socket; an attached run keeps it and bridges the caller's terminal,
 * so a console socket there would have nobody to serve.
 */
function checkTerminal(terminal: boolean, o: CreateOptions): void {
  if (terminal && !o.attached && !o.consoleSocket && o.consoleConn === undefined)
    throw new UsageError("process.terminal: cannot allocate a terminal for a detached container without --console-socket");
  if (o.consoleSocket && (!terminal || o.attached))
    throw new UsageError("--console-socket: only for a detached container whose process.terminal is true");
}

/**
 * Root creates the container's cgroup in every hierarchy. An unprivileged caller may only use
 * hierarchies where it was delegated a cgroup (the nearest existing ancestor is writable by
 * it, as systemd does for a user's session on cgroup v2); without one, a container that asks
 * for no resources simply runs in the caller's cgroups, as runc's rootless mode does.
 */
function usableCgroups<T extends { h: { mountpoint: string }; dir: string }>(targets: T[], spec: Spec): T[] {
  if ((process.geteuid?.() ?? 0) === 0) return targets;
  const ok = targets.filter((t) => {
    let d = t.dir;
    while (d.length > t.h.mountpoint.length && !existsSync(d)) d = dirname(d);
    return writable(d);
  });
  const r = spec.linux?.resources;
  if (ok.length === 0 && r && Object.values(r).some((v) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)))
    throw new ValidationError("linux.resources", "runjs runs unprivileged and has no delegated cgroup to apply them in (run as root, or delegate a cgroup)");
  return ok;
}

/**
 * The id maps of a user namespace joined by /proc/PID/ns/user, when an "idmap" mount with no
 * mappings of its own needs them (runc reads them the same way).
 */
function joinedUsernsMaps(spec: Spec): HostFacts["joinedUserns"] {
  const path = spec.linux?.namespaces?.find((n) => n.type === "user")?.path;
  const pid = path && /^\/proc\/(\d+)\/ns\/user$/.exec(path)?.[1];
  if (!pid || spec.linux?.uidMappings || !(spec.mounts ?? []).some((m) => (m.options ?? []).some((o) => o === "idmap" || o === "ridmap"))) return undefined;
  const read = (f: string) =>
    (readTextIfExists(`/proc/${pid}/${f}`) ?? "")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).map(Number))
      .map(([containerID, hostID, size]) => ({ containerID: containerID!, hostID: hostID!, size: size! }));
  return { uidMappings: read("uid_map"), gidMappings: read("gid_map") };
}

function missingDirs(mountpoint: string, dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; d !== mountpoint && d.length > mountpoint.length && !existsSync(d); d = dirname(d)) out.unshift(d);
  return out;
}

