// The verbs that only look at containers: ls, inspect, logs. They read the store's records
// and ask the runtime library only whether a container still exists, so they load nothing
// of the runtime's create, exec or teardown.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { containerExists } from "../../container/state.ts";
import type { Store } from "../images/store.ts";
import { dirOf, findContainer, listContainers, load, monitorAlive, type ContainerRecord } from "./records.ts";

/** "running" as the monitor last wrote it, unless the runtime no longer has the container. */
export function live(store: Store, runtimeRoot: string, c: ContainerRecord): ContainerRecord {
  // its monitor still finishing the teardown: running until it records how it ended; its
  // monitor killed, the machine rebooted: it has stopped whatever the record says
  if (c.status === "restarting") return monitorAlive(store, c.id) ? c : { ...c, status: "exited" };
  return c.status === "running" && !containerExists(runtimeRoot, c.id) && !monitorAlive(store, c.id) ? { ...c, status: "exited" } : c;
}

/** ls: the running containers, or (all) every one, newest first. */
export function containerList(store: Store, runtimeRoot: string, all: boolean): ContainerRecord[] {
  return listContainers(store)
    .map((c) => live(store, runtimeRoot, c))
    .filter((c) => all || c.status === "running" || c.status === "restarting");
}

/** port: the published ports, as Docker prints them ("80/tcp -> 0.0.0.0:32768"). */
export function containerPorts(store: Store, key: string): string[] {
  const c = findContainer(store, key);
  return (c.net?.ports ?? []).map((p) => `${p.containerPort}/${p.protocol} -> ${p.hostIP || "0.0.0.0"}:${p.hostPort}`);
}

/** inspect: the record and the bundle's OCI configuration. */
export function containerInspect(store: Store, key: string): ContainerRecord & { config: unknown } {
  const c = findContainer(store, key);
  return { ...c, config: JSON.parse(readFileSync(join(dirOf(store, c.id), "config.json"), "utf8")) };
}

/** A line of container.log (Docker's json-file format). */
export interface LogLine {
  stream: string;
  log: string;
  time: string;
}

function logLines(store: Store, id: string): LogLine[] {
  const p = join(dirOf(store, id), "container.log");
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * logs: what the container wrote (since: only lines at or after that RFC 3339 time; tail: of
 * the lines there are now, the last N); with follow, then every new line while it runs.
 */
export async function* containerLogs(store: Store, key: string, o: { follow?: boolean; tail?: number; since?: string } = {}): AsyncGenerator<LogLine> {
  const c = findContainer(store, key);
  let shown = 0;
  const next = (first: boolean) => {
    const all = logLines(store, c.id);
    let lines = all.slice(shown);
    shown = all.length;
    if (o.since) lines = lines.filter((l) => l.time >= o.since!);
    if (first && o.tail !== undefined) lines = lines.slice(-Math.max(0, o.tail));
    return lines;
  };
  yield* next(true);
  if (!o.follow) return;
  while (load(store, c.id).status === "running") {
    await Bun.sleep(100);
    yield* next(false);
  }
  yield* next(false);
}

