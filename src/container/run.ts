// run: create + start, then (unless detached) wait for the container and delete it.
//
// When attached, runjs-init stays as the init's parent: it forwards the signals we relay to
// it and exits with the container's status (128+N when killed by signal N), which becomes
// ours. With --keep the stopped container stays for inspection.
import type { Subprocess } from "bun";
import { create, type CreateOptions } from "./create.ts";
import { poststart, releaseInit, teardown, type Warn } from "./lifecycle.ts";
import { unlock, withContainer } from "./state.ts";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

export async function run(o: CreateOptions & { detach?: boolean; keep?: boolean }, warn: Warn): Promise<number> {
  const c = create({ ...o, attached: !o.detach });
  try {
    releaseInit(c.dir, c.state);
  } catch (e) {
    teardown(c.dir, c.state, warn);
    throw e;
  }
  try {
    poststart(c.state);
  } catch (e) {
    if (!o.keep) teardown(c.dir, c.state, warn);
    throw e;
  }
  unlock(c.lockFd);
  if (o.detach) return 0;
  return attach(c.proc, c.master, () => {
    if (!o.keep) withContainer(o.root, o.id, (x) => teardown(x.dir, x.st, warn));
  });
}

/**
 * Stay with a process the helper waits for: forward our signals to the helper (which passes
 * them to the container's process), bridge the terminal if there is one, and return the
 * process's exit status once its output is drained.
 */
export async function attach(proc: Subprocess, master: number | undefined, after: () => void): Promise<number> {
  // With a terminal, keys become signals inside the container; a SIGINT for runjs itself
  // (kill -INT from outside) is still forwarded.
  const handlers = FORWARDED.filter((sig) => !(master !== undefined && sig === "SIGWINCH")).map((sig) => {
    const h = () => proc.kill(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  let code: number;
  try {
    if (master !== undefined) {
      const { bridgeTerminal } = await import("./tty.ts");
      const b = await bridgeTerminal(master);
      await b.finish(proc.exited);
    }
    code = await proc.exited;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
  after();
  return code;
}
