// The verbs that act on containers that exist: exec, top, stop/kill, start, restart, rm,
// prune. Each finds the container by name or id (records.ts), asks the runtime library
// (src/container/) to act on the container's init, and returns values for the CLI to print.
// The verbs that only look are view.ts; `run` is run.ts; the detached machinery is
// detached.ts and monitor.ts.
import { join } from "node:path";
import { isStateError, UsageError } from "../../errors.ts";
import { exec, type ExecOptions } from "../../container/exec.ts";
import { deleteContainer, killContainer } from "../../container/lifecycle.ts";
import { ps } from "../../container/ps.ts";
import { SIGKILL, SIGTERM } from "../../sys/constants.ts";
import type { Store } from "../images/store.ts";
import { detach } from "./detached.ts";
import { containerExists } from "../../container/state.ts";
import { checkPortFree } from "./network.ts";
import { mountOverlay } from "./overlay.ts";
import { dirOf, findContainer, listContainers, load, monitorAlive, removeFiles, save, type ContainerRecord } from "./records.ts";
import { live } from "./view.ts";
import type { RunEnv } from "./run.ts";

function running(store: Store, key: string): ContainerRecord {
  const c = findContainer(store, key);
  if (c.status !== "running") throw new UsageError(`container ${c.name} is not running`);
  return c;
}

/** exec: a process in the container (the runtime refuses a stopped one), attached; its exit status. */
export function containerExec(store: Store, key: string, runtimeRoot: string, o: Omit<ExecOptions, "root" | "id">): Promise<number> {
  return exec({ ...o, root: runtimeRoot, id: findContainer(store, key).id });
}

/** top: the runtime's ps of a running container, in ps(1)'s table (psArgs passed on). */
export function containerTop(store: Store, key: string, runtimeRoot: string, psArgs: string[]): number {
  return ps(runtimeRoot, running(store, key).id, "table", psArgs);
}

/** stop: SIGTERM, then SIGKILL after `timeout` seconds; kill: one signal. Its name. */
export async function containerSignal(store: Store, key: string, runtimeRoot: string, sig: number, timeout?: number): Promise<string> {
  const found = findContainer(store, key);
  // between two runs of a restart policy, or while one starts it again: this ends the
  // policy's restarts; a restart already under way is let finish, then stopped as any
  if ((found.status === "restarting" || found.status === "created") && found.restartPolicy) {
    save(store, { ...load(store, found.id), manuallyStopped: true });
    let now = found;
    for (let i = 0; i < 500 && (now.status === "created" || (now.status === "restarting" && monitorAlive(store, now.id))); i++) {
      await Bun.sleep(10);
      now = load(store, found.id);
    }
    if (now.status !== "running") return found.name;
  }
  const c = running(store, key);
  save(store, { ...load(store, c.id), manuallyStopped: true });
  const exited = () => load(store, c.id).status === "exited";
  try {
    killContainer(runtimeRoot, c.id, sig, false);
  } catch (e) {
    if (!isStateError(e, "not-running", "not-exist")) throw e;
  }
  if (timeout === undefined) return c.name;
  for (let t = 0; t < timeout * 100 && !exited(); t++) await Bun.sleep(10);
  if (!exited()) {
    try {
      killContainer(runtimeRoot, c.id, SIGKILL, true);
    } catch {
      /* it went meanwhile */
    }
    for (let t = 0; t < 500 && !exited(); t++) await Bun.sleep(10);
  }
  return c.name;
}

/** rm: the container and its files (a running one only with force, killed first). Its name. */
export async function containerRemove(store: Store, key: string, runtimeRoot: string, force: boolean): Promise<string> {
  const c = findContainer(store, key);
  const isRunning = live(store, runtimeRoot, c).status === "running"; // its monitor may be gone
  if (isRunning && !force) throw new UsageError(`container ${c.name} is running: stop it first, or use --force`);
  if (force && isRunning) {
    // kill it, and let its monitor's cleanup (network, runtime state) finish first: two
    // teardowns at once would race over the network namespace CNI's DEL needs
    try {
      killContainer(runtimeRoot, c.id, SIGKILL, true);
    } catch {
      /* stopped meanwhile */
    }
    for (let i = 0; i < 500 && load(store, c.id).status !== "exited"; i++) await Bun.sleep(10);
  }
  if (force) {
    try {
      deleteContainer(runtimeRoot, c.id, true, () => {});
    } catch (e) {
      if (!isStateError(e, "not-exist")) throw e;
    }
  }
  removeFiles(store, c.id, c.imageId);
  return c.name;
}

/** start: an exited container again, detached, on the root filesystem it left. Its name. */
export async function containerStart(store: Store, key: string, env: RunEnv): Promise<string> {
  let c = findContainer(store, key);
  // its init gone but its monitor still tearing down (the network): wait for the exit to be
  // recorded, or a new attachment would race the old one's CNI DEL
  for (let i = 0; i < 500 && c.status === "running" && !containerExists(env.runtimeRoot, c.id) && monitorAlive(store, c.id); i++) {
    await Bun.sleep(10);
    c = findContainer(store, key);
  }
  if (live(store, env.runtimeRoot, c).status === "running") throw new UsageError(`container ${c.name} is already running`);
  // started by hand: the restart policy applies again, and a pending restart is this start
  delete c.manuallyStopped;
  await startAgain(store, c, env, false);
  return c.name;
}

/**
 * Mount the container's root filesystem again and start it under a new monitor (start, and
 * a restart policy's restarts). byPolicy: a failure keeps the container (its record says why).
 */
export async function startAgain(store: Store, c: ContainerRecord, env: Pick<RunEnv, "runtimeRoot">, byPolicy: boolean): Promise<void> {
  const image = store.images().find((r) => r.id === c.imageId);
  if (!image) throw new UsageError(`container ${c.name}: its image ${c.imageId} is gone`);
  const dir = dirOf(store, c.id);
  const lowers = image.layers.map((l) => store.layerPath(l.diffId)).reverse();
  mountOverlay(lowers, join(dir, "upper"), join(dir, "work"), join(dir, "rootfs"));
  for (const p of c.net?.ports ?? []) checkPortFree(p);
  delete c.exitCode;
  delete c.finished;
  await detach(store, c, false, env, byPolicy);
}

/** restart: stop it if it runs, then start it. Its name. */
export async function containerRestart(store: Store, key: string, env: RunEnv, timeout: number): Promise<string> {
  if (findContainer(store, key).status === "running") await containerSignal(store, key, env.runtimeRoot, SIGTERM, timeout);
  return containerStart(store, key, env);
}

/** prune: every container that has exited; their names. */
export async function containerPrune(store: Store, runtimeRoot: string): Promise<string[]> {
  const gone: string[] = [];
  for (const c of listContainers(store)) if (c.status === "exited") gone.push(await containerRemove(store, c.id, runtimeRoot, false));
  return gone;
}
