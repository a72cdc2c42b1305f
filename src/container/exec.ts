// exec: a new process in a running container.
//
// The process is built like runc builds it: from --process FILE as it stands, or from the
// container's own process (config.json, saved in the state directory at create) with the
// command line's changes: the command, --env added (a later value of a name wins), --cwd,
// --user, --additional-gids, --cap added to the bounding, effective and permitted sets (and
// ambient, if the process has inheritable ones), --no-new-privs, --apparmor, --process-label,
// --tty.
//
// runjs-init then runs the same conversation as for create, in join mode: it opens the
// init's /proc/PID/ns/* links and setns()es into each (user first, mount last), forks (the
// child is a member of the container's pid namespace, as a pid namespace only takes in new
// children), and the child gets the hardening of the init: rlimits, capabilities, seccomp
// (the container's filter), no_new_privs, LSM labels, uid/gid, cwd. We put the child in the
// container's cgroups between PIDS and PLACED, as for the init; no mounts, no hooks, no fifo:
// the child execs as soon as it is ready. Attached, the helper stays as its parent and exits
// with its status; detached (-d), the helper exits and the process is reparented to our
// caller's subreaper (containerd's shim), as with runc.
import { driverFor } from "../cgroups/driver.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { StateError, UsageError } from "../errors.ts";
import { encodePlan } from "../helper/encode.ts";
import { receiveMaster, runSession } from "../helper/session.ts";
import { mergeEnv } from "../oci/env.ts";
import { ValidationError } from "../oci/errors.ts";
import type { LinuxCapabilities, Process, Spec } from "../oci/spec.ts";
import { validateSpec } from "../oci/validate.ts";
import { compileExec, compileRlimits } from "../plan/compile.ts";
import { seccompProcessState } from "../plan/seccomp.ts";
import { readText, readTextIfExists, resolvePath, stderr, writeAtomic } from "../sys/fs.ts";
import { kill, SIGKILL } from "../sys/libc.ts";
import { applyRlimits, sendPidfd, startEarly } from "./create.ts";
import { lsmFacts, ownBoundingSet } from "./host.ts";
import { attach } from "./run.ts";
import { computeStatus, loadState, specState, stateDir } from "./state.ts";

export interface ExecOptions {
  root: string;
  id: string;
  /** --process FILE: the whole process, as JSON. */
  processFile?: string;
  args: string[];
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** As consoleSocket, for a caller in this process: a connected socket (the caller's to close). */
  consoleConn?: number;
  /** The whole process, given by a caller in this process (instead of processFile or flags). */
  process?: Process;
  /** The process's standard input, output and error (fds); default: ours. */
  stdio?: [number, number, number];
  /** Told the process's pid (host view) once it is set up. */
  onPid?: (pid: number) => void;
  /** --pidfd-socket: receives a pidfd of the process. */
  pidfdSocket?: string;
  preserveFds: number;
  /** LISTEN_FDS passed on from our caller (systemd socket activation). */
  listenFds?: number;
  ignorePaused?: boolean;
  /** --cgroup: sub-cgroups of the container's to run the process in (runc's syntax). */
  subCgroups?: string[];
  /** A bridged terminal keeps ONLCR ("\n" shown as "\r\n"), as Docker's does; runc clears it. */
  keepOnlcr?: boolean;
  warn?: (m: string) => void;
  debug?: (m: string) => void;
}

function parseId(s: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new UsageError(`${what}: must be a number, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** runc's exec process from the container's own and the command line's flags. */
export function execProcess(base: Process, o: Omit<ExecOptions, "root" | "id" | "detach" | "preserveFds">): Process {
  if (o.process) return structuredClone(o.process);
  if (o.processFile) {
    let text: string;
    try {
      text = readText(resolvePath(o.processFile));
    } catch (e: any) {
      throw new UsageError(`--process: cannot read ${o.processFile}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    }
    try {
      const p = JSON.parse(text);
      if (typeof p !== "object" || p === null || Array.isArray(p)) throw new Error("not a JSON object");
      return p as Process;
    } catch (e: any) {
      throw new UsageError(`--process: ${o.processFile}: invalid JSON: ${e.message}`);
    }
  }
  if (o.args.length === 0) throw new UsageError("exec: requires a command (or --process FILE)");
  const p: Process = structuredClone(base);
  p.args = o.args;
  p.terminal = o.tty;
  delete p.consoleSize;
  if (o.env.length) p.env = mergeEnv(p.env ?? [], o.env);
  if (o.cwd) p.cwd = o.cwd;
  if (o.user) {
    // runc: UID[:GID], numbers only (exec does not read the container's /etc/passwd); a
    // missing GID keeps the process's.
    const [u, g, extra] = o.user.split(":");
    if (extra !== undefined) throw new UsageError(`--user: want UID[:GID], got ${JSON.stringify(o.user)}`);
    p.user = { ...p.user, uid: parseId(u!, "--user"), gid: g === undefined ? p.user?.gid ?? 0 : parseId(g, "--user") };
  }
  if (o.additionalGids.length) {
    const gids = o.additionalGids.flatMap((s) => s.split(",")).map((s) => parseId(s, "--additional-gids"));
    p.user = { uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0, ...p.user, additionalGids: gids };
  }
  if (o.caps.length) {
    const c: LinuxCapabilities = (p.capabilities ??= {});
    for (const name of o.caps) {
      const cap = name.toUpperCase().startsWith("CAP_") ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
      for (const set of ["bounding", "effective", "permitted"] as const) (c[set] ??= []).includes(cap) || c[set]!.push(cap);
      // Ambient needs the capability inheritable too: only where the process has inheritable ones.
      if (c.inheritable) (c.ambient ??= []).includes(cap) || c.ambient!.push(cap);
    }
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  return p;
}

/** Validate the process in the container's spec; errors name the flag or file, not config.json. */
function validated(spec: Spec, proc: Process, bundle: string, source: string, warn: (m: string) => void): Spec {
  try {
    // The rest of the spec was checked at create; runjs saved it.
    return validateSpec({ ...spec, process: proc }, { bundle, warn, processOnly: true });
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`${source}: ${e.path || "process"}: ${e.problem}`);
    throw e;
  }
}

export async function exec(o: ExecOptions): Promise<number> {
  const warn = o.warn ?? ((m: string) => stderr(`runjs: warning: ${m}\n`));
  const dir = stateDir(o.root, o.id);
  const st = loadState(o.root, o.id);
  const status = computeStatus(dir, st);
  if (status === "stopped" || status === "creating") throw new StateError(o.id, `cannot exec in a ${status} container: ${o.id}`, "not-running");
  if (status === "paused" && !o.ignorePaused)
    throw new StateError(o.id, `cannot exec in a paused container (use --ignore-paused to override): ${o.id}`, "wrong-state");

  let saved: Spec;
  try {
    saved = JSON.parse(readText(`${dir}/config.json`));
  } catch {
    throw new StateError(o.id, `container ${o.id} has no saved configuration (created by an older runjs?)`, "failed");
  }
  const proc = execProcess(saved.process ?? ({ cwd: "/", args: [] } as Process), o);
  if (o.listenFds) proc.env = mergeEnv(proc.env ?? [], [`LISTEN_FDS=${o.listenFds}`, "LISTEN_PID=1"]);
  const spec = validated(saved, proc, st.bundle, o.processFile ? `--process ${o.processFile}` : "exec", warn);
  const terminal = !!spec.process!.terminal;
  const consoleGiven = !!o.consoleSocket || o.consoleConn !== undefined;
  if (terminal && o.detach && !consoleGiven)
    throw new UsageError("--tty: cannot allocate a terminal for a detached process without --console-socket");
  if (consoleGiven && (!terminal || !o.detach))
    throw new UsageError("--console-socket: only for a detached process (--detach) with a terminal (--tty)");

  const debug = o.debug ?? (() => {});
  const preserve = (o.listenFds ?? 0) + o.preserveFds;
  // as create does: the sockets, then runjs-init started while the plan is compiled
  const early = startEarly({ pair: terminal && !o.detach, consoleSocket: o.consoleSocket, consoleConn: o.consoleConn, pidfdSocket: o.pidfdSocket, preserve, stdio: o.stdio });
  const { pair, consoleFd, pidfdSock } = early;
  try {
    return await execWith();
  } finally {
    early.close();
  }

  async function execWith(): Promise<number> {
    const driver = driverFor(st);
    const cgroups = containerDirs(st.cgroupDirs);
    const targets = driver.execTargets(cgroups, o.subCgroups ?? []);
    debug(`exec in ${o.id} (init ${st.pid}): ${JSON.stringify(spec.process!.args)}`);
    const p = spec.process!;
    // In a user namespace whose setgroups is "deny" (an unprivileged create), setgroups fails.
    const setgroupsDenied = (readTextIfExists(`/proc/${st.pid}/setgroups`) ?? "").trim() === "deny";
    const plan = compileExec(spec, {
      pid: st.pid,
      setgroupsDenied,
      helperWaits: !o.detach,
      consoleFd: terminal ? 3 + preserve + 1 : undefined,
      bridgedTerminal: terminal && !o.detach && !o.keepOnlcr,
      ownCaps: p.capabilities ? ownBoundingSet() : undefined,
      lsm: p.apparmorProfile || p.selinuxLabel ? lsmFacts() : undefined,
      warn,
    });
    if (setgroupsDenied && plan.gids.length)
      throw new UsageError("--additional-gids: the container's user namespace denies setgroups (created by an unprivileged user)");
    // The init may have exited while we compiled: its /proc links would then name nothing, or
    // (after pid reuse) another process. Check again just before the helper opens them.
    if (computeStatus(dir, st) === "stopped") throw new StateError(o.id, `cannot exec in a stopped container: ${o.id}`, "not-running");

    let child = 0;
    let spawned: import("bun").Subprocess | undefined;
    let master: number | undefined;
    try {
      const given = early.take();
      const res = runSession(
        { plan: encodePlan(plan), preserve, extraFds: consoleFd !== undefined ? [consoleFd] : [], waits: plan.helperWaits, spawned: given, onSpawn: (s) => (spawned = s) },
        {
          pids(helper, pid) {
            debug(`runjs-init: helper pid ${helper}, process pid ${pid}`);
            child = pid;
            driver.joinExec(cgroups, targets, pid, o.subCgroups?.length ? undefined : st.pid);
            if (pidfdSock !== undefined) sendPidfd(pidfdSock, pid);
          },
          hooks() {
            applyRlimits(child, compileRlimits(spec));
            const running = specState(st, "running");
            const seccompState = plan.seccompListener ? seccompProcessState(spec.linux!.seccomp!, { ...running, pid: child }) : undefined;
            return { creating: "", created: "", seccompState };
          },
        },
      );
      if (pair) master = receiveMaster(pair[0]);
      if (o.pidFile) writeAtomic(resolvePath(o.pidFile), String(child));
      o.onPid?.(child);
      if (o.detach) return 0;
      return await attach(res.proc, master, () => {});
    } catch (e) {
      // Nothing of the process may outlive a failed exec. An attached helper reaps the child
      // and exits; killing the helper first would leave the child to the host's init, and the
      // container's pid namespace could not end until that reaped it.
      if (child) kill(child, SIGKILL);
      if (spawned && !o.detach) await Promise.race([spawned.exited, Bun.sleep(2000)]);
      spawned?.kill("SIGKILL");
      throw e;
    }
  }
}
