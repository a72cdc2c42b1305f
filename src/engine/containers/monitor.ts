// What runjs-init's monitor runs for a detached container (the contract is in detached.ts):
// start-detached, below the monitor, and cleanup once the container's init has exited.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isStateError } from "../../errors.ts";
import { deleteContainer } from "../../container/lifecycle.ts";
import { close, writeAll } from "../../sys/libc.ts";
import type { Store } from "../images/store.ts";
import { networkDel } from "./network.ts";
import { unmount } from "./overlay.ts";
import { dirOf, load, monitorConfig, removeFiles, restartDelay, save, shouldRestart, type Net, type Saved } from "./records.ts";
import { startContainer } from "./start.ts";

/** start-detached's one line to run -d: running, or why not. */
function reportStatus(fd: number | undefined, said: { status: "running" } | { error: string }): void {
  if (fd === undefined) return;
  try {
    writeAll(fd, new TextEncoder().encode(JSON.stringify(said) + "\n"));
  } catch {
    /* run -d gave up waiting: the record says it too */
  }
  close(fd);
}

/**
 * Under the monitor: create and start; the container's output goes to the monitor's pipes.
 * statusFd: where run -d waits for the outcome.
 */
export function startDetached(store: Store, id: string, statusFd?: number, consoleSocket?: string): number {
  const dir = dirOf(store, id);
  const { runtimeRoot } = monitorConfig(store, id);
  const rec = load(store, id);
  const net: Net = rec.net ?? { bridged: false, ports: [] };
  const warn = (m: string) => appendFileSync(join(dir, "monitor.log"), `${new Date().toISOString()} ${m}\n`);
  try {
    startContainer(store, rec, runtimeRoot, net, warn, false, consoleSocket);
  } catch (e: any) {
    Object.assign(rec, { error: e.message, status: "exited" });
    save(store, rec);
    warn(e.message);
    reportStatus(statusFd, { error: e.message });
    return 1;
  }
  rec.status = "running";
  rec.started = new Date().toISOString();
  save(store, rec);
  reportStatus(statusFd, { status: "running" });
  return 0;
}

/**
 * After the container's init is gone: tear down, record the status; then, if its restart
 * policy says so, wait the back-off and start it again under a new monitor (this process,
 * the old monitor's, then ends).
 */
export async function cleanupDetached(store: Store, id: string): Promise<number> {
  const dir = dirOf(store, id);
  if (!existsSync(join(dir, "container.json"))) return 0; // removed (rm -f) while it ran
  const { rm, runtimeRoot } = monitorConfig(store, id);
  const rec = load(store, id);
  const code = existsSync(join(dir, "exit")) ? Number(readFileSync(join(dir, "exit"), "utf8")) : undefined;
  try {
    deleteContainer(runtimeRoot, id, true, () => {});
  } catch (e) {
    if (!isStateError(e, "not-exist")) throw e;
  }
  networkDel(dir);
  if (rec.error) return 0; // start-detached failed; run -d removes it
  if (rm) {
    removeFiles(store, id, rec.imageId);
    return 0;
  }
  unmount(join(dir, "rootfs"));
  const restart = shouldRestart(rec, code);
  Object.assign(rec, { status: restart ? "restarting" : "exited", exitCode: code, finished: new Date().toISOString() });
  save(store, rec);
  if (!restart) return 0;
  await Bun.sleep(restartDelay(rec));
  // removed, stopped or started by hand meanwhile: nothing more to do
  if (!existsSync(join(dir, "container.json"))) return 0;
  const now = load(store, id);
  if (now.status !== "restarting" || now.manuallyStopped) {
    if (now.status === "restarting") save(store, { ...now, status: "exited" });
    return 0;
  }
  now.restartCount = (now.restartCount ?? 0) + 1;
  const { startAgain } = await import("./containers.ts");
  try {
    await startAgain(store, now, { runtimeRoot }, true);
  } catch (e: any) {
    const r = load(store, id);
    save(store, { ...r, status: "exited", error: `restart: ${e.message}` } as Saved);
  }
  return 0;
}
