// Namespaces: the clone(2) flag of each runtime-spec namespace type, its /proc/PID/ns file,
// and the namespaces an exec joins. Pure.
import type { Spec } from "../oci/spec.ts";
import type { Plan } from "./types.ts";

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const NAMESPACE_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** /proc/PID/ns/<name> of each namespace type. */
export const NS_FILES: Record<string, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/**
 * exec joins every namespace the container has, through the init's /proc/PID/ns links
 * (whether the container made it or joined it by path): the user namespace first, since it
 * owns the others, the mount namespace last. The helper opens them all before the first
 * setns; the pid and time namespaces take effect in the child it forks.
 */
export function execJoins(spec: Spec, pid: number): Plan["nsJoin"] {
  const order = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];
  const types = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  return order
    .filter((t) => types.has(t as any))
    .map((t) => ({ type: NAMESPACE_FLAGS[t]!, path: `/proc/${pid}/ns/${NS_FILES[t]}`, name: `exec: join ${t} namespace` }));
}
