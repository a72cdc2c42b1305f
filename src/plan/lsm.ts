// Linux security modules: process.apparmorProfile, process.selinuxLabel, linux.mountLabel.
//
// Both LSMs label a process at execve: the init writes the profile or label to a file under
// /proc/self/attr (after pivot_root, so the container's /proc) and the kernel applies it at
// the next execve, the user's program:
//   AppArmor: "exec <profile>" to /proc/self/attr/apparmor/exec (Linux 5.8+, the AppArmor
//             directory that works whatever other LSMs are stacked), else /proc/self/attr/exec;
//   SELinux:  the label to /proc/self/attr/exec.
// A mount label is the SELinux context of the files of the container's own filesystems: the
// mount option context="<label>" on the mounts that take it (tmpfs, devpts, mqueue, ...; not
// binds, whose files keep their labels, nor proc, sysfs and cgroup, which SELinux labels by
// their own rules: runc's choice).
//
// Whether a module is enabled is a fact about the host (gathered in create.ts). A profile or
// label for a module that is not enabled is an error: the process would run unconfined, which
// is not what was asked. A mount label without SELinux is skipped with a warning, as crun
// does (and as the runtime-tools validation suite expects): there is nothing to confine, and
// the mount would fail with an unknown context= option.
import type { Spec } from "../oci/spec.ts";
import { ValidationError } from "../oci/errors.ts";
import { MS } from "./mounts.ts";
import type { PlanExecAttr, PlanMount } from "./types.ts";

export interface LsmFacts {
  apparmor: boolean;
  selinux: boolean;
  /** /proc/self/attr/apparmor/exec exists. */
  apparmorDir?: boolean;
}

export const NO_LSM: LsmFacts = { apparmor: false, selinux: false };

/** Mount types that take context=; binds, proc, sysfs and cgroups never get it. */
const NO_CONTEXT = new Set(["", "bind", "proc", "sysfs", "cgroup", "cgroup2"]);

export function compileLsm(spec: Spec, lsm: LsmFacts, mounts: PlanMount[], warn: (m: string) => void): PlanExecAttr[] {
  const attrs: PlanExecAttr[] = [];
  const profile = spec.process?.apparmorProfile;
  if (profile) {
    const name = "process.apparmorProfile";
    if (!lsm.apparmor) throw new ValidationError(name, "AppArmor is not enabled on this kernel");
    const path = lsm.apparmorDir ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec";
    attrs.push({ name, path, value: `exec ${profile}` });
  }
  const label = spec.process?.selinuxLabel;
  if (label) {
    const name = "process.selinuxLabel";
    if (!lsm.selinux) throw new ValidationError(name, "SELinux is not enabled on this kernel");
    attrs.push({ name, path: "/proc/self/attr/exec", value: label });
  }
  const mountLabel = spec.linux?.mountLabel;
  if (mountLabel) {
    if (!lsm.selinux) warn("config.json: linux.mountLabel: SELinux is not enabled on this kernel: ignored");
    else
      for (const m of mounts)
        if (!(m.flags & MS.BIND) && !NO_CONTEXT.has(m.fstype) && !/(^|,)context=/.test(m.data))
          m.data = m.data ? `${m.data},context="${mountLabel}"` : `context="${mountLabel}"`;
  }
  return attrs;
}
