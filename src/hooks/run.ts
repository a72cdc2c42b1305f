// Runtime-namespace hooks: prestart, createRuntime, poststart, poststop.
//
// A hook is a program the runtime runs at a fixed point of the lifecycle, with the
// container's state JSON on its standard input, exactly the args and env given (args[0] is
// argv[0]) and an optional timeout in seconds. prestart/createRuntime run during create after
// the mounts exist and before pivot_root; failing one fails create. poststart runs after
// start: failing it stops the container and fails start, as runc does; poststop runs after
// delete and failing it only warns. The in-container hooks (createContainer,
// startContainer) run inside runjs-init instead. Failures are worded as runc words them
// ("error running createRuntime hook #1: …"), which callers and runc's tests look for.
import { HookError } from "../errors.ts";
import type { Hook } from "../oci/spec.ts";
import { stderr } from "../sys/fs.ts";

export function runHook(h: Hook, kind: string, i: number, state: string): void {
  const name = `hooks.${kind}[${i}]: error running ${kind} hook #${i}`;
  const argv = h.args?.length ? h.args : [h.path];
  let r;
  try {
    r = Bun.spawnSync([h.path, ...argv.slice(1)], {
      argv0: argv[0],
      env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      stdin: new TextEncoder().encode(state),
      stdout: "inherit",
      stderr: "pipe",
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    });
  } catch (e: any) {
    throw new HookError(`${name}: ${h.path}: ${e.message}`);
  }
  const err = r.stderr?.toString().trim();
  if (r.exitedDueToTimeout || (h.timeout && r.signalCode === "SIGKILL"))
    throw new HookError(`${name}: ${h.path}: timed out after ${h.timeout}s`);
  if (r.signalCode) throw new HookError(`${name}: ${h.path}: killed by ${r.signalCode}${err ? `: ${err}` : ""}`);
  if (r.exitCode !== 0) throw new HookError(`${name}: ${h.path}: exited with status ${r.exitCode}${err ? `: ${err}` : ""}`);
  if (err) stderr(err + "\n");
}

/** Run a list of hooks in order; the first failure throws. */
export function runHooks(kind: string, hooks: Hook[] | undefined, state: string): void {
  (hooks ?? []).forEach((h, i) => runHook(h, kind, i, state));
}

/** Run every hook of the list; failures become warnings (poststart, poststop). */
export function runHooksWarn(kind: string, hooks: Hook[] | undefined, state: string, warn: (m: string) => void): void {
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(h, kind, i, state);
    } catch (e: any) {
      warn(e.message);
    }
  });
}
