// start, kill, delete, state and list: the verbs that act on an existing container.
//
// start: the init is blocked in open(exec.fifo, O_WRONLY). Opening the fifo for reading
// releases it; it writes one byte, runs startContainer hooks and execs the user program.
// We open non-blocking and poll, so a dead init is noticed instead of waited on forever.
import { exists as existsSync, readText, unlink as unlinkSync } from "../sys/fs.ts";
import { StateError, UsageError } from "../errors.ts";
import { runHooks } from "../hooks/run.ts";
import { close, ESRCH, kill, O_CLOEXEC, O_NONBLOCK, O_RDONLY, openFile, poll1, POLLHUP, POLLIN, read, SIGKILL } from "../sys/libc.ts";
import { destroy } from "./destroy.ts";
import {
  computeStatus,
  containerPids,
  initAlive,
  loadState,
  specState,
  stateDir,
  withContainer,
  type SavedState,
  type Status,
} from "./state.ts";

export type Warn = (msg: string) => void;

export function start(root: string, id: string, warn: Warn): void {
  withContainer(root, id, (c) => {
    if (c.status !== "created") throw new StateError(id, `cannot start a container that is ${c.status}: ${id}`, "wrong-state");
    releaseInit(c.dir, c.st);
    poststart(c.st);
  });
}

/** runc's rule: a failing poststart hook stops the container (SIGKILL) and fails start. */
export function poststart(st: SavedState): void {
  try {
    runHooks("poststart", st.hooks.poststart, JSON.stringify(specState(st, "running")));
  } catch (e) {
    if (initAlive(st)) kill(st.pid, SIGKILL);
    throw e;
  }
}

/**
 * Open the exec fifo, which releases the init; wait for its byte (startContainer hooks
 * done), then for the fifo to close (the init's end is close-on-exec: closed by execve, or
 * by its death). A "!" instead of the byte is a failure, its message follows. Remove the fifo.
 */
export function releaseInit(dir: string, st: SavedState): void {
  const fifo = `${dir}/exec.fifo`;
  const fd = openFile(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  try {
    const buf = new Uint8Array(4096);
    let said = "";
    const started = () => said.startsWith("0");
    const failed = () => new StateError(st.id, `container init failed to start: ${said.slice(1).trim()}`, "failed");
    for (;;) {
      const ev = poll1(fd, POLLIN, 50);
      if (ev) {
        const n = read(fd, buf);
        if (n > 0) said += new TextDecoder().decode(buf.subarray(0, n));
        else if (n === 0 && said.startsWith("!")) throw failed();
        else if (n === 0 && started()) break; // closed after the byte: execve happened
        else if (n === 0 && ev & POLLHUP) throw new StateError(st.id, "container init closed the exec fifo without starting", "failed");
      }
      if (!initAlive(st)) {
        for (let n = read(fd, buf); n > 0; n = read(fd, buf)) said += new TextDecoder().decode(buf.subarray(0, n));
        if (said.startsWith("!")) throw failed();
        if (started()) break; // it ran and already finished
        throw new StateError(st.id, "container init exited before it could be started", "failed");
      }
    }
  } finally {
    close(fd);
  }
  unlinkSync(fifo);
}



/**
 * runc's rules: a container that is not running cannot be signalled (its pid may be someone
 * else's by now), except that --all then succeeds with nothing to do; SIGKILL for a container
 * without a pid namespace of its own kills every process in its cgroup, since killing the
 * init does not end the others there.
 */
export function killContainer(root: string, id: string, sig: number, all: boolean): void {
  withContainer(root, id, (c) => {
    if (c.status === "stopped" || c.status === "creating") {
      if (all) return;
      throw new StateError(id, "container not running", "not-running");
    }
    if (sig === 9 && !ownPidNamespace(c.dir)) all = true;
    const pids = all ? containerPids(c.st) : [c.st.pid];
    if (all && !pids.includes(c.st.pid)) pids.push(c.st.pid);
    for (const p of pids) {
      const r = kill(p, sig);
      if (r < 0 && r !== -ESRCH && p === c.st.pid) throw new StateError(id, `kill ${p}: errno ${-r}`, "failed");
    }
  });
}

/** The container's saved config gives it a new pid namespace (not none, not one joined by path). */
function ownPidNamespace(dir: string): boolean {
  try {
    const spec = JSON.parse(readText(`${dir}/config.json`));
    return (spec.linux?.namespaces ?? []).some((n: { type: string; path?: string }) => n.type === "pid" && !n.path);
  } catch {
    return true; // no saved config: the init alone, as before
  }
}

export function deleteContainer(root: string, id: string, force: boolean, warn: Warn): void {
  withContainer(root, id, (c) => {
    if ((c.status === "running" || c.status === "paused") && !force)
      throw new StateError(id, `cannot delete container ${id} that is not stopped: ${c.status}`, "wrong-state");
    teardown(c.dir, c.st, warn);
  });
}

/** Kill everything, remove cgroups, run poststop hooks, remove the state directory. */
export function teardown(dir: string, st: SavedState, warn: Warn): void {
  destroy(dir, st, { poststop: warn });
}

export function containerState(root: string, id: string): Record<string, unknown> {
  const dir = stateDir(root, id);
  if (!existsSync(dir)) throw new StateError(id, `container does not exist: ${id}`, "not-exist");
  const st = loadState(root, id);
  return specState(st, computeStatus(dir, st));
}

export function listContainers(root: string): { st: SavedState; status: Status }[] {
  let ids: string[];
  try {
    ids = require("node:fs").readdirSync(root);
  } catch {
    return [];
  }
  const out: { st: SavedState; status: Status }[] = [];
  for (const id of ids.sort()) {
    try {
      const st = loadState(root, id);
      out.push({ st, status: computeStatus(`${root}/${id}`, st) });
    } catch {
      /* not a container directory, or removed meanwhile */
    }
  }
  return out;
}
