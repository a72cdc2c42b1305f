// Device nodes: the default devices every container gets, linux.devices, and the /dev
// symlinks, as the init will create them under the rootfs. Pure.
import type { Spec } from "../oci/spec.ts";
import { S_IFBLK, S_IFCHR, S_IFIFO } from "../sys/constants.ts";
import type { PlanDevice, PlanSymlink } from "./types.ts";

/** The devices every container gets (runtime-spec "Default Devices"). */
export const DEFAULT_DEVICES: { path: string; major: number; minor: number }[] = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

export const DEV_SYMLINKS: PlanSymlink[] = [
  { target: "/proc/self/fd", path: "/dev/fd" },
  { target: "/proc/self/fd/0", path: "/dev/stdin" },
  { target: "/proc/self/fd/1", path: "/dev/stdout" },
  { target: "/proc/self/fd/2", path: "/dev/stderr" },
];

export function compileDevices(spec: Spec, ownDev: boolean): PlanDevice[] {
  const out = new Map<string, PlanDevice>();
  if (ownDev)
    for (const d of DEFAULT_DEVICES)
      out.set(d.path, { name: d.path, path: d.path, mode: S_IFCHR | 0o666, major: d.major, minor: d.minor, uid: 0, gid: 0, host: d.path });
  (spec.linux?.devices ?? []).forEach((d, i) => {
    const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
    out.set(d.path, {
      name: `linux.devices[${i}] (${d.path})`,
      path: d.path,
      mode: type | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      host: d.path,
    });
  });
  return [...out.values()];
}
