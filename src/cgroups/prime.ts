// Moving a process into a cgroup v1 hierarchy waits for the kernel, and how to wait less.
//
// Every move of a process between cgroups (a write to cgroup.procs) takes one global lock,
// cgroup_threadgroup_rwsem, for writing. It is a per-CPU rwsem: forks and exits take it
// for reading at almost no cost, and the price falls on a writer, which first switches the
// lock to its slow mode and waits for an RCU grace period so that every CPU sees the switch
// (rcu_sync_enter). Measured here, that is 4-11 ms for the first move, and ~0.1 ms for a
// move while the lock is still in its slow mode: the kernel keeps it there for about a
// grace period after the last writer leaves, in case another comes.
//
// A container on a cgroup v1 (or hybrid) host is moved into each of its v1 hierarchies
// after runjs-init forks it (cgroup v2 needs no move: the init is cloned straight into its
// cgroup, CLONE_INTO_CGROUP). So runjs starts that wait at the beginning of create and
// exec, on another thread, while it reads and checks the configuration and compiles the
// plan: a move of this process into the cgroup it is already in (changes nothing, takes
// the lock). By the time the container's moves come, the lock is in its slow mode and they
// are quick. Measured with bench/lifecycle.ts and in the shim: see bench/README.md.
import { hostDir, type Hierarchy } from "./hierarchy.ts";

/** Pure: the cgroup.procs file of this process's own cgroup in the first v1 hierarchy, if any. */
export function primeTarget(hierarchies: Hierarchy[]): string | undefined {
  const h = hierarchies.find((x) => x.version === 1);
  return h && `${hostDir(h, h.own)}/cgroup.procs`;
}

/**
 * Starts a no-op move of this process (into its own cgroup, primeTarget) on Bun's I/O
 * thread pool, and returns at once. Nothing comes of a failure (no permission, a cgroup
 * namespace whose view differs): the later moves then wait as they would have.
 */
export function primeCgroupMoves(hierarchies: Hierarchy[]): Promise<void> {
  const target = primeTarget(hierarchies);
  if (!target) return Promise.resolve();
  // "0": the writing thread's own process
  return require("node:fs").promises.writeFile(target, "0").catch(() => {});
}
