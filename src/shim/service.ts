// The shim's task service: containerd's calls for the containers of one shim (one pod, when
// containerd groups them by sandbox), run in this process on the runtime library — create,
// start, kill, delete are function calls here, not a runtime binary started for each.
//
// The shim is the parent of every container init and exec'd process: it is a child
// subreaper (see main.ts), so when the runjs-init that forked a process exits, the process
// is reparented to the shim. Its exit arrives as SIGCHLD; reap() collects the statuses of the
// processes it knows (and of orphans reparented to it), answers Wait, and publishes TaskExit.
import { isStateError, UsageError } from "../errors.ts";
import { readTextIfExists, writeText } from "../sys/fs.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { containerPids, loadState, unlock } from "../container/state.ts";
import { ooms } from "../container/events.ts";
import { close, collect, kill, recvFd, setWinsize, socketpair } from "../sys/libc.ts";
import * as T from "./gen/containerd/task.ts";
import { Status } from "./gen/containerd/task_types.ts";
import { Options } from "./gen/containerd/runc_options.ts";
import { Empty } from "./gen/google/protobuf/empty.ts";
import type { Timestamp } from "./gen/google/protobuf/timestamp.ts";
import { encode, timestamp, type Codec, type DeepPartial } from "./proto.ts";
import type { Events } from "./events.ts";
import { ProcessIO } from "./io.ts";
import { removeEmptyRoot, runtimeRoot } from "./paths.ts";
import { mountRootfs, unmountRootfs } from "./rootfs.ts";
import { Code, RpcError, type Method } from "./ttrpc.ts";

type ProcState = "created" | "running" | "stopped";

interface Proc {
  execId: string;
  pid: number;
  state: ProcState;
  exitStatus: number;
  exitedAt?: Date;
  exited: Promise<void>;
  markExited: () => void;
  io?: ProcessIO;
  req: { stdin: string; stdout: string; stderr: string; terminal: boolean };
  /** an exec's process, until it starts */
  spec?: unknown;
}

interface Task {
  id: string;
  bundle: string;
  root: string;
  init: Proc;
  execs: Map<string, Proc>;
  rootfsMounted: boolean;
  oomsAtStart: number;
}

export interface ServiceOptions {
  namespace: string;
  events: Events;
  log: (level: "debug" | "info" | "warning" | "error", msg: string) => void;
  /** Called once no task is left and containerd asked the shim to shut down. */
  shutdown: () => void;
}


/** The exec spec's type (containerd sends it as types.containerd.io/opencontainers/runtime-spec/1/Process). */
const SPEC_PROCESS = "opencontainers/runtime-spec/1/Process";

function newProc(execId: string, req: Proc["req"]): Proc {
  let markExited!: () => void;
  const exited = new Promise<void>((r) => (markExited = r));
  return { execId, pid: 0, state: "created", exitStatus: 0, exited, markExited, req };
}

function ts(d: Date | undefined): Timestamp | undefined {
  return d ? timestamp(d) : undefined;
}

/**
 * A process's stdio for create or exec: containerd's fifos opened (io.ts), and with a
 * terminal a socketpair whose one end the library takes as its console socket, to send the
 * pty's master back on the other. run() makes the process; the shim's copies of what the
 * process was given are closed after, and everything is undone if it fails.
 */
async function withStdio(req: Proc["req"], run: (fds: [number, number, number], consoleConn?: number) => unknown): Promise<ProcessIO> {
  const io = new ProcessIO(req);
  const pair = req.terminal ? socketpair() : undefined;
  try {
    await run(io.fds, pair?.[1]);
    io.handedOver();
    if (pair) await io.attachConsole(recvFd(pair[0]).fd);
    return io;
  } catch (e) {
    io.close();
    throw e;
  } finally {
    if (pair) for (const fd of pair) close(fd);
  }
}

/** The library's errors as gRPC codes, which containerd turns back into its own error kinds. */
function rpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const msg = String((e as Error)?.message ?? e);
  if (isStateError(e, "not-exist")) return new RpcError(Code.NotFound, msg);
  if (isStateError(e, "exists")) return new RpcError(Code.AlreadyExists, msg);
  if (isStateError(e, "not-running", "wrong-state")) return new RpcError(Code.FailedPrecondition, msg);
  if (e instanceof UsageError) return new RpcError(Code.InvalidArgument, msg);
  return new RpcError(Code.Unknown, msg);
}

export class TaskService {
  private tasks = new Map<string, Task>();
  /** The runtime roots used (one per namespace and options.root), to remove once empty. */
  private roots = new Set<string>();
  private byPid = new Map<number, { task: Task; proc: Proc }>();
  private lib = {
    create: import("../container/create.ts"),
    lifecycle: import("../container/lifecycle.ts"),
  };

  constructor(private o: ServiceOptions) {}

  private task(id: string): Task {
    const t = this.tasks.get(id);
    if (!t) throw new RpcError(Code.NotFound, `task ${id} not found`);
    return t;
  }

  private proc(t: Task, execId: string): Proc {
    if (!execId) return t.init;
    const p = t.execs.get(execId);
    if (!p) throw new RpcError(Code.NotFound, `process ${execId} does not exist in task ${t.id}`);
    return p;
  }

  private warn = (m: string) => this.o.log("warning", m);

  /** The methods, by name, as the ttrpc server calls them. */
  methods(): Record<string, Method> {
    // a method: its request decoded, the handler's reply (a partial message) encoded
    type Reply<O> = DeepPartial<O> | void;
    const m = <I, O>(name: string, inC: Codec<I>, outC: Codec<O>, f: (req: I) => Promise<Reply<O>> | Reply<O>): Method => {
      return async (payload) => {
        const req = inC.decode(payload);
        const t0 = performance.now();
        try {
          const out = encode(outC, (await f(req)) as DeepPartial<O> | undefined); // (void: an empty reply)
          this.o.log("debug", `${name} ${(req as any).id ?? ""} ${(req as any).execId ?? ""}: ${(performance.now() - t0).toFixed(1)} ms`);
          return out;
        } catch (e) {
          const r = rpcError(e);
          if (r.code !== Code.NotFound) this.o.log("error", `${name}: ${r.message}`);
          throw r;
        }
      };
    };
    return {
      Create: m("Create", T.CreateTaskRequest, T.CreateTaskResponse, (r) => this.create(r)),
      Start: m("Start", T.StartRequest, T.StartResponse, (r) => this.start(r)),
      Delete: m("Delete", T.DeleteRequest, T.DeleteResponse, (r) => this.delete(r)),
      State: m("State", T.StateRequest, T.StateResponse, (r) => this.state(r)),
      Wait: m("Wait", T.WaitRequest, T.WaitResponse, (r) => this.wait(r)),
      Kill: m("Kill", T.KillRequest, Empty, (r) => this.kill(r)),
      Exec: m("Exec", T.ExecProcessRequest, Empty, (r) => this.exec(r)),
      ResizePty: m("ResizePty", T.ResizePtyRequest, Empty, (r) => this.resize(r)),
      CloseIO: m("CloseIO", T.CloseIORequest, Empty, (r) => this.closeIO(r)),
      Pids: m("Pids", T.PidsRequest, T.PidsResponse, (r) => this.pids(r)),
      Pause: m("Pause", T.PauseRequest, Empty, (r) => this.pause(r, true)),
      Resume: m("Resume", T.ResumeRequest, Empty, (r) => this.pause(r, false)),
      Update: m("Update", T.UpdateTaskRequest, Empty, (r) => this.update(r)),
      Stats: m("Stats", T.StatsRequest, T.StatsResponse, (r) => this.stats(r)),
      Checkpoint: m("Checkpoint", T.CheckpointTaskRequest, Empty, () => {
        throw new RpcError(Code.Unimplemented, "checkpoint is not supported by runjs (no CRIU)");
      }),
      Connect: m("Connect", T.ConnectRequest, T.ConnectResponse, (r) => ({
        shimPid: process.pid, taskPid: this.tasks.get(r.id)?.init.pid ?? 0, version: "runjs shim v2",
      })),
      Shutdown: m("Shutdown", T.ShutdownRequest, Empty, (r) => {
        if (this.tasks.size === 0) for (const root of this.roots) removeEmptyRoot(root);
        if (this.tasks.size === 0 || r.now) this.o.shutdown();
      }),
    };
  }

  private async create(r: T.CreateTaskRequest): Promise<DeepPartial<T.CreateTaskResponse>> {
    if (this.tasks.has(r.id)) throw new RpcError(Code.AlreadyExists, `task ${r.id} already exists`);
    if (r.checkpoint) throw new RpcError(Code.Unimplemented, "restore from a checkpoint is not supported by runjs (no CRIU)");
    let opts: { root?: string; noPivotRoot?: boolean; noNewKeyring?: boolean; systemdCgroup?: boolean } = {};
    if (r.options?.typeUrl.endsWith("containerd.runc.v1.Options")) opts = Options.decode(r.options.value);
    const root = runtimeRoot(this.o.namespace, opts.root);
    this.roots.add(root);
    // what `delete` (a fresh shim process, after this one died) needs to find the container
    writeText(`${r.bundle}/runjs-shim.json`, JSON.stringify({ root }));
    const target = `${r.bundle}/rootfs`;
    const t: Task = { id: r.id, bundle: r.bundle, root, init: newProc("", r), execs: new Map(), rootfsMounted: false, oomsAtStart: 0 };
    const { create } = await this.lib.create;
    try {
      if (r.rootfs.length) {
        mountRootfs(r.rootfs, target);
        t.rootfsMounted = true;
      }
      t.init.io = await withStdio(r, (fds, consoleConn) => {
        const c = create({
          root, id: r.id, bundle: r.bundle, stdio: fds, consoleConn,
          noPivot: opts.noPivotRoot, noNewKeyring: opts.noNewKeyring, systemdCgroup: opts.systemdCgroup, warn: this.warn,
          debug: (m) => this.o.log("debug", `create ${r.id}: ${m}`),
        });
        unlock(c.lockFd);
        t.init.pid = c.state.pid;
        t.oomsAtStart = ooms(containerDirs(c.state.cgroupDirs));
      });
    } catch (e) {
      if (t.rootfsMounted) unmountRootfs(target);
      throw e;
    }
    this.tasks.set(r.id, t);
    this.byPid.set(t.init.pid, { task: t, proc: t.init });
    this.o.events.publish("/tasks/create", "TaskCreate", {
      containerId: r.id, bundle: r.bundle, rootfs: r.rootfs, pid: t.init.pid,
      io: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
    });
    this.collectGarbage();
    return { pid: t.init.pid };
  }

  private async start(r: T.StartRequest): Promise<DeepPartial<T.StartResponse>> {
    const t = this.task(r.id);
    const p = this.proc(t, r.execId);
    if (p.state !== "created") throw new RpcError(Code.FailedPrecondition, `process ${r.execId || r.id} is ${p.state}, not created`);
    if (!r.execId) {
      (await this.lib.lifecycle).start(t.root, t.id, this.warn);
      p.state = "running";
      this.o.events.publish("/tasks/start", "TaskStart", { containerId: t.id, pid: p.pid });
      this.collectGarbage();
      return { pid: p.pid };
    }
    const { exec } = await import("../container/exec.ts");
    try {
      p.io = await withStdio(p.req, (fds, consoleConn) =>
        exec({
          root: t.root, id: t.id, process: p.spec as any, args: [], tty: p.req.terminal, env: [], additionalGids: [], caps: [],
          detach: true, preserveFds: 0, stdio: fds, consoleConn, warn: this.warn,
          onPid: (pid) => {
            p.pid = pid;
            this.byPid.set(pid, { task: t, proc: p });
          },
        }),
      );
    } catch (e) {
      if (p.pid) this.byPid.delete(p.pid);
      throw e;
    }
    if (p.state === "created") p.state = "running"; // (it may have exited already)
    this.o.events.publish("/tasks/exec-started", "TaskExecStarted", { containerId: t.id, execId: r.execId, pid: p.pid });
    // a very short process may have exited, and its SIGCHLD been handled, before its pid was known
    this.reap();
    return { pid: p.pid };
  }

  private exec(r: T.ExecProcessRequest): void {
    const t = this.task(r.id);
    if (t.execs.has(r.execId)) throw new RpcError(Code.AlreadyExists, `exec process ${r.execId} already exists`);
    if (t.init.state === "stopped") throw new RpcError(Code.FailedPrecondition, `container ${r.id} is stopped`);
    if (!r.spec || !r.spec.typeUrl.endsWith(SPEC_PROCESS)) throw new RpcError(Code.InvalidArgument, "exec: spec: want an OCI process (runtime-spec Process, as JSON)");
    let spec: unknown;
    try {
      spec = JSON.parse(new TextDecoder().decode(r.spec.value));
    } catch (e) {
      throw new RpcError(Code.InvalidArgument, `exec: spec: invalid JSON: ${(e as Error).message}`);
    }
    const p = newProc(r.execId, r);
    p.spec = spec;
    t.execs.set(r.execId, p);
    this.o.events.publish("/tasks/exec-added", "TaskExecAdded", { containerId: t.id, execId: r.execId });
  }

  private async delete(r: T.DeleteRequest): Promise<DeepPartial<T.DeleteResponse>> {
    const t = this.task(r.id);
    const p = this.proc(t, r.execId);
    if (r.execId) {
      if (p.state === "running") throw new RpcError(Code.FailedPrecondition, `cannot delete exec process ${r.execId}: it is running`);
      p.io?.close();
      t.execs.delete(r.execId);
      this.byPid.delete(p.pid);
    } else {
      const { deleteContainer } = await this.lib.lifecycle;
      try {
        deleteContainer(t.root, t.id, false, this.warn);
      } catch (e) {
        if (!isStateError(e, "not-exist")) throw e;
      }
      // a created init that never started was killed just now
      if (p.state !== "stopped") {
        p.state = "stopped";
        p.exitStatus = 137;
        p.exitedAt = new Date();
        collect(p.pid);
        p.markExited();
      }
      for (const e of t.execs.values()) e.io?.close(), this.byPid.delete(e.pid);
      p.io?.close();
      if (t.rootfsMounted) unmountRootfs(`${t.bundle}/rootfs`);
      this.byPid.delete(p.pid);
      this.tasks.delete(t.id);
      removeEmptyRoot(t.root);
    }
    this.o.events.publish("/tasks/delete", "TaskDelete", {
      containerId: t.id, id: r.execId || t.id, pid: p.pid, exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt),
    });
    return { pid: p.pid, exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt) };
  }

  private async state(r: T.StateRequest): Promise<DeepPartial<T.StateResponse>> {
    const t = this.task(r.id);
    const p = this.proc(t, r.execId);
    let status = { created: Status.CREATED, running: Status.RUNNING, stopped: Status.STOPPED }[p.state];
    if (status === Status.RUNNING) {
      try {
        const s = (await this.lib.lifecycle).containerState(t.root, t.id).status;
        if (s === "paused") status = Status.PAUSED;
      } catch {
        /* deleted under us: what we know */
      }
    }
    return {
      id: r.execId || t.id, execId: r.execId, bundle: t.bundle, pid: p.pid, status,
      stdin: p.req.stdin, stdout: p.req.stdout, stderr: p.req.stderr, terminal: p.req.terminal,
      exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt),
    };
  }

  private async wait(r: T.WaitRequest): Promise<DeepPartial<T.WaitResponse>> {
    const p = this.proc(this.task(r.id), r.execId);
    await p.exited;
    return { exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt) };
  }

  private async kill(r: T.KillRequest): Promise<void> {
    const t = this.task(r.id);
    const p = this.proc(t, r.execId);
    if (r.execId) {
      if (p.state !== "running" || kill(p.pid, r.signal) < 0) throw new RpcError(Code.NotFound, `process ${r.execId} already finished`);
      return;
    }
    try {
      (await this.lib.lifecycle).killContainer(t.root, t.id, r.signal, r.all);
    } catch (e) {
      if (isStateError(e, "not-running")) throw new RpcError(Code.NotFound, "process already finished");
      throw e;
    }
  }

  private resize(r: T.ResizePtyRequest): void {
    const p = this.proc(this.task(r.id), r.execId);
    if (p.io?.master === undefined) return; // no terminal: nothing to resize, as runc's shim
    setWinsize(p.io.master, r.height, r.width);
  }

  private closeIO(r: T.CloseIORequest): void {
    const p = this.proc(this.task(r.id), r.execId);
    if (r.stdin) p.io?.closeStdin();
  }

  private async pids(r: T.PidsRequest): Promise<DeepPartial<T.PidsResponse>> {
    const t = this.task(r.id);
    const pids = containerPids(loadState(t.root, t.id));
    return { processes: pids.map((pid) => ({ pid })) };
  }

  private async pause(r: { id: string }, freeze: boolean): Promise<void> {
    const t = this.task(r.id);
    const m = await import("../container/pause.ts");
    (freeze ? m.pause : m.resume)(t.root, t.id);
    this.o.events.publish(freeze ? "/tasks/paused" : "/tasks/resumed", freeze ? "TaskPaused" : "TaskResumed", { containerId: t.id });
  }

  private async update(r: T.UpdateTaskRequest): Promise<void> {
    const t = this.task(r.id);
    if (!r.resources) throw new RpcError(Code.InvalidArgument, "update: resources: missing");
    const { resourcesFromJson, updateResources } = await import("../container/update.ts");
    updateResources(t.root, t.id, resourcesFromJson(new TextDecoder().decode(r.resources.value)), this.warn);
  }

  private async stats(r: T.StatsRequest): Promise<DeepPartial<T.StatsResponse>> {
    const t = this.task(r.id);
    const { metrics } = await import("./metrics.ts");
    return { stats: metrics(containerDirs(loadState(t.root, t.id).cgroupDirs)) };
  }

  /**
   * SIGCHLD: collect every child that has exited. The processes we know become stopped
   * (Wait answers, TaskExit goes out; an init's exit first reports an OOM kill in its cgroup,
   * so that containerd can say why it died); orphans reparented to us are reaped and
   * forgotten. Children Bun spawned itself (runjs-init helpers) are left to Bun.
   */
  reap(): void {
    for (const [pid, { task, proc }] of this.byPid) {
      if (proc.state === "stopped") continue;
      const status = collect(pid);
      if (status === undefined) continue;
      this.exited(task, proc, status);
    }
    for (const pid of zombieOrphans(this.byPid)) collect(pid);
  }

  private exited(t: Task, p: Proc, status: number): void {
    p.state = "stopped";
    p.exitStatus = status;
    p.exitedAt = new Date();
    if (p === t.init) {
      try {
        if (ooms(containerDirs(loadState(t.root, t.id).cgroupDirs)) > t.oomsAtStart) this.o.events.publish("/tasks/oom", "TaskOOM", { containerId: t.id });
      } catch {
        /* no state: no OOM to tell */
      }
    }
    const publish = () => {
      p.markExited();
      this.o.events.publish("/tasks/exit", "TaskExit", { containerId: t.id, id: p.execId || t.id, pid: p.pid, exitStatus: status, exitedAt: ts(p.exitedAt) });
    };
    // a terminal's last output is copied out before the exit is told
    if (p.io?.master !== undefined) void Promise.race([p.io.drained, Bun.sleep(500)]).then(publish);
    else publish();
  }

  private gcTimer?: Timer;
  private shrinkTimer?: Timer;

  /**
   * A shim lives as long as its pod, mostly idle: once the calls of a lifecycle step are
   * over, a full collection gives back what create and start allocated; once the pod has
   * been quiet for a while (SHRINK_AFTER_MS), idleMemory gives back the compiled code too.
   * Not sooner: the code is made again when the next create runs (~3.5 ms more of
   * validating and compiling, measured in one process), and a pod's containers tend to come
   * and go together.
   */
  private collectGarbage(): void {
    clearTimeout(this.gcTimer);
    clearTimeout(this.shrinkTimer);
    this.gcTimer = setTimeout(() => Bun.gc(true), 200);
    this.shrinkTimer = setTimeout(idleMemory, SHRINK_AFTER_MS);
    this.gcTimer.unref?.();
    this.shrinkTimer.unref?.();
  }

  get size(): number {
    return this.tasks.size;
  }
}

/** How long a shim is left quiet after a create or start before idleMemory. */
export const SHRINK_AFTER_MS = 5000;

/**
 * What an idle shim gives back: a full collection (the JavaScript heap of a shim that just
 * created a container is several MB above what it keeps), then Bun.shrink, which has
 * JavaScriptCore drop the compiled code of the functions that ran (made again from the
 * bytecode when they next run) and return the allocator's free pages. Measured with three
 * pods: a shim's anonymous memory 6.1 -> 5.1 MB, its JavaScript heap 1.7 -> 0.8 MB.
 */
export function idleMemory(): void {
  Bun.gc(true);
  if (typeof Bun.shrink === "function") Bun.shrink();
}

/**
 * Our children that are zombies and not ours to know: orphans the kernel reparented to us as
 * their subreaper. runjs-init processes are Bun's own children (it reaps them).
 */
function zombieOrphans(known: Map<number, unknown>): number[] {
  const out: number[] = [];
  const tasks = new Bun.Glob("*").scanSync({ cwd: "/proc/self/task", onlyFiles: false });
  for (const tid of tasks) {
    for (const s of (readTextIfExists(`/proc/self/task/${tid}/children`) ?? "").split(" ")) {
      const pid = Number(s);
      if (!pid || known.has(pid)) continue;
      const stat = readTextIfExists(`/proc/${pid}/stat`);
      if (!stat) continue;
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" && comm !== "runjs-init") out.push(pid);
    }
  }
  return out;
}
