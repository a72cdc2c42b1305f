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
// cgroup, CLONE_INTO_CGROUP). So that wait starts earlier, while runjs compiles the plan:
// runjs-init, started before the plan is ready (helper/session.ts), first moves itself into
// the cgroup it is already in, which changes nothing and takes the lock. By the time the
// container's moves come, the lock is in its slow mode and they are quick, or the wait is
// shorter. (The priming move holds cgroup_mutex while it waits, so the container's cgroup
// mkdirs may take up the rest of it.) Measured in bench/README.md.
import { hostDir, type Hierarchy } from "./hierarchy.ts";

/** Pure: the cgroup.procs file of this process's own cgroup in the first v1 hierarchy, if any. */
export function primeTarget(hierarchies: Hierarchy[]): string | undefined {
  const h = hierarchies.find((x) => x.version === 1);
  return h && `${hostDir(h, h.own)}/cgroup.procs`;
}
