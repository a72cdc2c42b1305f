// The front end's default AppArmor profile, runjs-default, as Docker has docker-default and
// Podman containers-default: where the kernel has AppArmor, a container made by
// `runjs container run` runs confined by it unless --security-opt apparmor=PROFILE names
// another (loaded by the operator) or apparmor=unconfined.
//
// AppArmor confines a process by a profile the kernel holds: rules on paths, capabilities,
// mounts, signals and ptrace, applied on top of everything else (capabilities, seccomp,
// namespaces). Profiles are text, compiled and loaded into the kernel by apparmor_parser; the
// runtime only asks, at exec, to move into one (process.apparmorProfile). So the front end
// loads its profile once, on first use, and every later container finds it loaded.
//
// What runjs-default refuses, on top of what the capability set already does: mounting (a
// container given CAP_SYS_ADMIN still cannot mount), writes to the kernel's tunables and
// triggers in /proc and /sys, reading kernel memory, and ptrace of processes outside its own
// profile; everything else a program needs (files, network, signals inside, unix sockets)
// is allowed.
import { readTextIfExists } from "../../sys/fs.ts";
import { UsageError } from "../../errors.ts";

export const DEFAULT_PROFILE = "runjs-default";

export function defaultProfileText(name = DEFAULT_PROFILE): string {
  return `#include <tunables/global>

profile ${name} flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>

  network,
  capability,
  file,
  umount,
  unix,
  # signals and ptrace only among the container's own processes (and from the host)
  signal (send,receive) peer=${name},
  signal (receive) peer=unconfined,
  ptrace (trace,read,tracedby,readby) peer=${name},

  deny mount,
  # the kernel's knobs and triggers: namespaced sysctls are set by the runtime before the
  # profile applies, so nothing in the container needs to write them
  deny @{PROC}/* w,
  deny @{PROC}/sys/** w,
  deny @{PROC}/sysrq-trigger rwklx,
  deny @{PROC}/kcore rwklx,
  # /sys: nothing but the container's own cgroup files (/sys/fs/cgroup) is written
  deny /sys/[^f]** wklx,
  deny /sys/f[^s]** wklx,
  deny /sys/fs/[^c]** wklx,
  deny /sys/fs/c[^g]** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
}
`;
}

/** The kernel has AppArmor switched on (what runc and Docker look at). */
export function apparmorEnabled(): boolean {
  return (readTextIfExists("/sys/module/apparmor/parameters/enabled") ?? "").startsWith("Y");
}

function loaded(name: string): boolean {
  return (readTextIfExists("/sys/kernel/security/apparmor/profiles") ?? "").split("\n").some((l) => l.startsWith(`${name} (`));
}

/**
 * The profile a container gets by default: runjs-default where AppArmor is on (loaded now
 * if it is not yet), none where it is off.
 */
export function defaultProfile(): string | undefined {
  if (!apparmorEnabled()) return undefined;
  if (loaded(DEFAULT_PROFILE)) return DEFAULT_PROFILE;
  const parser = ["/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"].find((p) => Bun.file(p).size > 0);
  const hint = `or run the container with --security-opt apparmor=unconfined`;
  if (!parser) throw new UsageError(`AppArmor is enabled on this host, but apparmor_parser is not installed to load the ${DEFAULT_PROFILE} profile: install it (Debian: apparmor), ${hint}`);
  // -K: do not cache the compiled profile on disk; -r: replace it if another process loaded it meanwhile
  const r = Bun.spawnSync([parser, "-Kr"], { stdin: new TextEncoder().encode(defaultProfileText()), stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new UsageError(`loading the AppArmor profile ${DEFAULT_PROFILE}: ${r.stderr.toString().trim()} (${hint})`);
  return DEFAULT_PROFILE;
}
