// A detached container (-d, and start): it outlives this process, so something else must be
// its init's parent, keep its output and record how it ended. That is runjs-init's monitor
// mode (native/monitor.c), a few hundred kilobytes that stay with the container, the part
// conmon plays for Podman. The monitor is a child subreaper; it runs
//
//   runjs container start-detached --status-fd 3 ID    (monitor.ts: create and start, the
//        helper not waiting, so the kernel reparents the container's init to the monitor)
//   runjs container cleanup ID                          (monitor.ts: after the init is gone)
//
// and in between copies the container's output to container.log as Docker's json-file lines
// and writes the init's exit status to the exit file. With a terminal (-d -t) it is given
// `-t DIR` and keeps the pty master the runtime sends to DIR/console.sock (start-detached
// gets --console-socket /proc/self/fd/4/console.sock, fd 4 being DIR), and serves
// DIR/attach.sock to `container attach` (attach.ts). Those two hidden verbs are the one
// place runjs runs its own CLI, and deliberately: the monitor is C and holds no policy, so
// the TypeScript that creates and tears down a container must run in a process of its own
// below it (conmon runs `runc create` the same way). Their contract: argv as above, the
// store's container directory holding container.json (with the network) and monitor.json
// (rm, runtimeRoot); start-detached writes one JSON line to fd 3, {"status":"running"} or
// {"error":"..."}, and this process waits for that line (5 s at most).
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import { helperPath } from "../../helper/session.ts";
import { close, POLLIN, poll1, read, socketpair } from "../../sys/libc.ts";
import type { Store } from "../images/store.ts";
import { dirOf, load, removeFiles, save, type ContainerRecord, type MonitorConfig } from "./records.ts";

/** Start rec under a monitor of its own; its id once it runs, or the reason it did not. */
/** keep: a failure leaves the container's files (a restart policy's start; its record says why). */
export async function detach(store: Store, rec: ContainerRecord, rm: boolean, env: { runtimeRoot: string }, keep = false): Promise<string> {
  const dir = dirOf(store, rec.id);
  writeFileSync(join(dir, "monitor.json"), JSON.stringify({ rm, runtimeRoot: env.runtimeRoot } satisfies MonitorConfig));
  rmSync(join(dir, "exit"), { force: true });
  rec.status = "created";
  save(store, rec);
  const self = process.argv[1]?.endsWith(".ts") ? [process.execPath, process.argv[1]] : [process.execPath];
  const runjs = (...a: string[]) => [...self, "--root", env.runtimeRoot, "container", ...a, rec.id, "--storage", store.root];
  const [mine, theirs] = socketpair();
  let p: ReturnType<typeof Bun.spawn>;
  try {
    p = Bun.spawn(
      [
        helperPath(),
        "monitor",
        join(dir, "container.log"),
        join(dir, "exit"),
        // with a terminal the monitor keeps the pty; start-detached finds its socket through fd 4
        ...(rec.tty ? ["-t", dir] : []),
        ...runjs("start-detached", "--status-fd", "3", ...(rec.tty ? ["--console-socket", "/proc/self/fd/4/console.sock"] : [])),
        "--then",
        ...runjs("cleanup"),
      ],
      { stdio: ["ignore", "ignore", "ignore", theirs], detached: true },
    );
  } finally {
    close(theirs);
  }
  p.unref();
  writeFileSync(join(dir, "monitor.json"), JSON.stringify({ rm, runtimeRoot: env.runtimeRoot, pid: p.pid } satisfies MonitorConfig));
  let said: { status?: string; error?: string } | undefined;
  try {
    said = readStatus(mine, 5000);
  } finally {
    close(mine);
  }
  if (said?.status === "running") return rec.id;
  // it never ran: nothing of it stays. The monitor runs cleanup next; wait for it (awaiting
  // p.exited on an unref'd child would let the event loop end, and us with it)
  for (let j = 0; j < 400 && p.exitCode === null; j++) await Bun.sleep(5);
  const error = said?.error ?? load(store, rec.id).error;
  if ((error !== undefined || p.exitCode !== null) && !keep) removeFiles(store, rec.id, rec.imageId);
  if (error !== undefined) throw new UsageError(error);
  if (p.exitCode !== null) throw new UsageError(`the monitor exited (${p.exitCode}) before the container started`);
  throw new UsageError("the container did not start within 5 s");
}

/** One JSON line from start-detached, or undefined at EOF or after ms milliseconds. */
function readStatus(fd: number, ms: number): { status?: string; error?: string } | undefined {
  const deadline = Date.now() + ms;
  const buf = new Uint8Array(65536);
  let len = 0;
  for (;;) {
    const nl = buf.subarray(0, len).indexOf(10);
    if (nl >= 0) return JSON.parse(new TextDecoder().decode(buf.subarray(0, nl)));
    const left = deadline - Date.now();
    if (left <= 0 || !poll1(fd, POLLIN, left)) return undefined;
    const n = read(fd, buf, len);
    if (n <= 0 || len + n >= buf.length) return undefined;
    len += n;
  }
}
