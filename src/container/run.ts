// run: create + start, then (unless detached) wait for the container and delete it.
//
// When attached, runjs-init stays as the init's parent: it forwards the signals we relay to
// it and exits with the container's status (128+N when killed by signal N), which becomes
// ours. With --keep the stopped container stays for inspection.
import { runHooksWarn } from "../hooks/run.ts";
import { create, type CreateOptions } from "./create.ts";
import { releaseInit, teardown, type Warn } from "./lifecycle.ts";
import { specState, unlock, withContainer } from "./state.ts";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

export async function run(o: CreateOptions & { detach?: boolean; keep?: boolean }, warn: Warn): Promise<number> {
  const c = create({ ...o, attached: !o.detach });
  try {
    releaseInit(c.dir, c.state);
  } catch (e) {
    teardown(c.dir, c.state, warn);
    throw e;
  }
  runHooksWarn("poststart", c.state.hooks.poststart, JSON.stringify(specState(c.state, "running")), warn);
  unlock(c.lockFd);
  if (o.detach) return 0;

  const handlers = FORWARDED.map((sig) => {
    const h = () => c.proc.kill(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  const code = await c.proc.exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  if (!o.keep) withContainer(o.root, o.id, (x) => teardown(x.dir, x.st, warn));
  return code;
}
