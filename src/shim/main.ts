// containerd-shim-runjs-v2: containerd's shim v2 for runjs (`runtime_type =
// "io.containerd.runjs.v2"`, containerd finds the binary by that name on its PATH).
//
// containerd runs the binary with its flags (-namespace, -address, -publish-binary, -id)
// and one command, in the bundle's directory:
//   start   make sure a shim serves this container: the one already serving its group (a
//           pod's containers share their sandbox's shim), or a new long-running shim
//           process, forked into a session of its own; print its socket's address
//           ("unix:///run/containerd/s/HASH") and exit. containerd then calls the task
//           service on that socket (service.ts) and reads the shim's log from BUNDLE/log.
//   delete  clean up after a shim that died: kill and delete the container, unmount its
//           rootfs, print a DeleteResponse (protobuf) on stdout.
// Without a command (-socket PATH, given by start) the process is the long-running shim.
import { exists, mkdir, readText, unlink, writeText, writeFd } from "../sys/fs.ts";
import { close, connectUnix, listenUnix, openFile, O_CLOEXEC, O_NONBLOCK, O_WRONLY, writeAll } from "../sys/libc.ts";
import { groupOf, removeEmptyRoot, runtimeRoot, socketPath } from "./paths.ts";

interface Flags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  command: string;
}

/** Pure: Go's flag syntax, as containerd passes it (-name value, -name=value, --name value). */
export function parseShimArgs(argv: string[]): Flags {
  const f: Flags = { namespace: "", address: "", publishBinary: "", id: "", bundle: "", socket: "", debug: false, command: "" };
  const names: Record<string, keyof Flags> = { namespace: "namespace", address: "address", "publish-binary": "publishBinary", id: "id", bundle: "bundle", socket: "socket" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) {
      if (f.command) throw new Error(`unexpected argument ${JSON.stringify(a)} after ${f.command}`);
      f.command = a;
      continue;
    }
    let [name, value] = a.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    if (name === "debug") {
      f.debug = value === undefined || value === "true";
      continue;
    }
    if (name === "v" || name === "version") {
      f.command = "version";
      continue;
    }
    const key = names[name];
    if (!key) throw new Error(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
    }
    (f as any)[key] = value;
  }
  return f;
}

export { groupOf, socketPath } from "./paths.ts";

function annotations(bundle: string): Record<string, string> | undefined {
  try {
    return JSON.parse(readText(`${bundle}/config.json`)).annotations;
  } catch {
    return undefined;
  }
}

function serving(sock: string): boolean {
  try {
    close(connectUnix(sock));
    return true;
  } catch {
    return false;
  }
}

export async function shimMain(argv: string[]): Promise<number> {
  let f: Flags;
  try {
    f = parseShimArgs(argv);
  } catch (e) {
    writeFd(2, `containerd-shim-runjs-v2: ${(e as Error).message}\n`);
    return 2;
  }
  if (f.command === "version") {
    writeFd(1, "containerd-shim-runjs-v2:\n  Runtime: runjs (in-process)\n  Protocol: ttrpc, containerd.task.v2\n");
    return 0;
  }
  if (!f.namespace) f.namespace = process.env.NAMESPACE ?? "";
  const need = (v: string, name: string) => {
    if (!v) throw new Error(`-${name} is required`);
  };
  try {
    need(f.namespace, "namespace");
    need(f.id, "id");
    switch (f.command) {
      case "start":
        need(f.address, "address");
        return await start(f);
      case "delete":
        return await cleanup(f);
      case "":
        need(f.socket, "socket");
        return await serve(f);
      default:
        throw new Error(`unknown command ${JSON.stringify(f.command)} (want start or delete)`);
    }
  } catch (e) {
    writeFd(2, `containerd-shim-runjs-v2: ${(e as Error).message}\n`);
    return 1;
  }
}

async function start(f: Flags): Promise<number> {
  const bundle = process.cwd();
  const sock = socketPath(f.address, f.namespace, groupOf(f.id, annotations(bundle)));
  const address = `unix://${sock}`;
  if (!serving(sock)) {
    for (const d of ["/run/containerd", "/run/containerd/s"]) if (!exists(d)) mkdir(d, 0o711);
    if (exists(sock)) unlink(sock); // left by a shim that died
    // The socket is bound and listening before the shim runs, and handed to it as fd 3:
    // containerd's connection and first call wait in the kernel's queue while the shim loads,
    // so this process prints the address and exits at once (runc's shim does the same).
    const listening = listenUnix(sock);
    const self = /\/bun$/.test(process.execPath) ? [process.execPath, process.argv[1]!] : [process.execPath];
    const args = ["-namespace", f.namespace, "-address", f.address, "-publish-binary", f.publishBinary, "-id", f.id, "-socket", sock];
    if (f.debug) args.push("-debug");
    // its stderr (what Bun prints if it dies) goes to containerd's log too, through BUNDLE/log
    let logFd: number | "ignore" = "ignore";
    try {
      logFd = openFile(`${bundle}/log`, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    } catch {
      /* no reader */
    }
    const child = Bun.spawn([...self, ...args], { cwd: bundle, stdio: ["ignore", "ignore", logFd, listening], detached: true });
    child.unref();
    if (logFd !== "ignore") close(logFd);
    close(listening);
  }
  writeText(`${bundle}/address`, address);
  writeFd(1, address);
  return 0;
}

/** After a shim died: whatever is left of the container goes, as `runjs delete --force`. */
async function cleanup(f: Flags): Promise<number> {
  const bundle = f.bundle || process.cwd();
  let root = runtimeRoot(f.namespace);
  try {
    root = JSON.parse(readText(`${bundle}/runjs-shim.json`)).root ?? root;
  } catch {
    /* never created: the default root */
  }
  let pid = 0;
  // (after a clean shutdown the container is gone already, and this is all)
  if (exists(`${root}/${f.id}`)) {
    const { loadState } = await import("../container/state.ts");
    const { deleteContainer } = await import("../container/lifecycle.ts");
    try {
      pid = loadState(root, f.id).pid;
      deleteContainer(root, f.id, true, (m) => writeFd(2, `${m}\n`)); // (kills what is left first)
    } catch {
      /* no such container: nothing to delete */
    }
    removeEmptyRoot(root);
  }
  const { unmountRootfs } = await import("./rootfs.ts");
  unmountRootfs(`${bundle}/rootfs`);
  if (f.address) {
    const sock = socketPath(f.address, f.namespace, groupOf(f.id, annotations(bundle)));
    if (exists(sock) && !serving(sock)) unlink(sock);
  }
  const { DeleteResponse } = await import("./gen/containerd/task.ts");
  const { encode, timestamp } = await import("./proto.ts");
  // (straight to fd 1: process.stdout's stream costs this short process ~3 ms to set up)
  writeAll(1, encode(DeleteResponse, { pid, exitStatus: 137, exitedAt: timestamp(new Date()) }));
  return 0;
}

async function serve(f: Flags): Promise<number> {
  const { setChildSubreaper } = await import("../sys/libc.ts");
  const { TtrpcServer } = await import("./ttrpc.ts");
  setChildSubreaper();
  // containerd reads the shim's log from the fifo BUNDLE/log (it opened the reading end)
  let logFd = -1;
  try {
    logFd = openFile("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  } catch {
    /* no reader: no log */
  }
  const log = (level: string, msg: string) => {
    if (logFd < 0 || (level === "debug" && !f.debug)) return;
    writeFd(logFd, `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)} runtime=io.containerd.runjs.v2\n`);
  };
  // serving the socket `start` made (fd 3) at once; calls wait until the task service is loaded
  const server = new TtrpcServer((m) => log("warning", m));
  let loaded!: () => void;
  server.ready = new Promise<void>((r) => (loaded = r));
  const listener = server.listen({ fd: 3 });
  const { TaskService } = await import("./service.ts");
  const { Events } = await import("./events.ts");
  const ttrpcAddress = process.env.TTRPC_ADDRESS || `${f.address}.ttrpc`;
  const events = new Events(ttrpcAddress, f.namespace, (m) => log("warning", m));
  const svc = new TaskService({
    namespace: f.namespace,
    events,
    log,
    shutdown: () => {
      // after this call's answer has gone out, and every event
      setTimeout(async () => {
        await Promise.race([events.flushed(), Bun.sleep(2000)]);
        listener.stop();
        if (exists(f.socket)) unlink(f.socket);
        process.exit(0);
      }, 5);
    },
  });
  server.register("containerd.task.v2.Task", svc.methods());
  // one task's failure must not end the shim of a whole pod
  process.on("uncaughtException", (e) => log("error", `uncaught: ${e?.stack ?? e}`));
  process.on("unhandledRejection", (e) => log("error", `unhandled: ${(e as Error)?.stack ?? e}`));
  process.on("SIGCHLD", () => svc.reap());
  loaded();
  // what loading allocated and dropped goes back before the shim settles into serving its pod
  setTimeout(() => Bun.gc(true), 300).unref();
  log("info", `serving on ${f.socket}`);
  log("debug", `the task service loaded ${performance.now().toFixed(1)} ms after the shim started`);
  return new Promise<number>(() => {}); // until Shutdown
}
