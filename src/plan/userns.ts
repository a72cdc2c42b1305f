// User namespaces: which ids of the host the container's ids are, and who may say so.
//
// A process in a new user namespace has no identity there until someone writes its
// /proc/PID/uid_map and gid_map ("containerID hostID size" per line, at most 340 lines, once
// each). Whoever writes them must be privileged over the host ids named:
// - root on the host may map anything;
// - an unprivileged user may map only its own uid and gid, one id each, and for the gid map
//   must first write "deny" to /proc/PID/setgroups (otherwise dropping a group with
//   setgroups(2) inside could give access a negative group ACL denies). The container can
//   then never call setgroups, so it gets no additional groups;
// - anything more takes newuidmap/newgidmap (Debian's uidmap package), setuid helpers that
//   check /etc/subuid and /etc/subgid.
// This file decides which applies; container/create.ts writes the maps between PIDS and PLACED.
import type { LinuxIDMapping, Spec } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";

export interface IdMapPlan {
  uidMap: string;
  gidMap: string;
  /** Write uid_map ourselves (else newuidmap). */
  uidDirect: boolean;
  gidDirect: boolean;
  /** Write "deny" to setgroups first; the container then may not call setgroups. */
  denySetgroups: boolean;
}

export function idMapText(m: LinuxIDMapping[] | undefined): string {
  return (m ?? []).map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");
}

const onlyOwn = (m: LinuxIDMapping[] | undefined, id: number) => m?.length === 1 && m[0]!.hostID === id && m[0]!.size === 1;

/**
 * The maps for a container that creates its user namespace, or undefined when it creates
 * none. `caller` is who runs runjs: root writes every map itself.
 */
export function planIdMaps(spec: Spec, caller: { euid: number; egid: number }): IdMapPlan | undefined {
  const ns = spec.linux?.namespaces?.find((n) => n.type === "user");
  if (!ns || ns.path) return undefined;
  const uidMap = idMapText(spec.linux?.uidMappings);
  const gidMap = idMapText(spec.linux?.gidMappings);
  if (caller.euid === 0) return { uidMap, gidMap, uidDirect: true, gidDirect: true, denySetgroups: false };
  const uidDirect = onlyOwn(spec.linux?.uidMappings, caller.euid);
  const gidDirect = onlyOwn(spec.linux?.gidMappings, caller.egid);
  if (gidDirect && spec.process?.user?.additionalGids?.length)
    throw new ValidationError(
      "process.user.additionalGids",
      "an unprivileged user that maps only its own gid cannot give the container more groups (setgroups is denied)",
    );
  return { uidMap, gidMap, uidDirect, gidDirect, denySetgroups: gidDirect };
}
