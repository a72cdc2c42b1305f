// The one way a front-end container starts, attached or under its monitor: the runtime's
// create, then (bridged) the CNI ADD into the init's network namespace, then the release of
// the init, so that the network is there before the container's program runs. Undone on
// failure: the runtime's state, and the network if it was attached.
import { create, type Created } from "../../container/create.ts";
import { releaseInit, teardown } from "../../container/lifecycle.ts";
import { unlock } from "../../container/state.ts";
import type { Store } from "../images/store.ts";
import { networkAdd, networkDel } from "./network.ts";
import { dirOf, type ContainerRecord, type Net } from "./records.ts";

export function startContainer(store: Store, rec: ContainerRecord, runtimeRoot: string, net: Net, warn: (m: string) => void, attached = true, consoleSocket?: string): Created {
  const dir = dirOf(store, rec.id);
  // a terminal shows "\n" as "\r\n", as Docker's does (runc's CLI clears ONLCR)
  const c = create({ root: runtimeRoot, id: rec.id, bundle: dir, attached, keepOnlcr: true, warn, ...(consoleSocket ? { consoleSocket } : {}) });
  try {
    if (net.bridged) networkAdd(dir, store.root, rec.id, `/proc/${c.state.pid}/ns/net`, net.ports, net.list);
    releaseInit(c.dir, c.state);
  } catch (e) {
    teardown(c.dir, c.state, warn);
    try {
      networkDel(dir);
    } catch {
      /* reported by the first error */
    }
    throw e;
  }
  unlock(c.lockFd);
  return c;
}
