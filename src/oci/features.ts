// The Features structure printed by `runjs features` (runtime-spec features.md and
// features-linux.md). It describes what this build of the runtime recognizes, not what the host
// supports, so it is a constant: no probing of the kernel here. A false means "implemented:
// no"; an absent field would mean "unknown".

import { version } from "../../package.json";
import { CAPABILITY_NAMES } from "./capabilities.ts";
import { HOOK_NAMES, OCI_VERSION } from "./spec.ts";

export const RUNJS_VERSION: string = version;

// The option strings of config.md's Linux mount options table that the mount planner knows.
// Anything else in a mount's options is passed to mount(2) as filesystem-specific data.
export const MOUNT_OPTIONS: readonly string[] = [
  "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
  "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
  "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private",
  "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
  "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
  "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid",
  "rsymfollow", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
  "symfollow", "sync", "tmpcopyup", "unbindable",
];

// Namespaces the runtime can create or join. "user" is not implemented yet.
export const FEATURE_NAMESPACES: readonly string[] = ["cgroup", "ipc", "mount", "network", "pid", "time", "uts"];

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[];
  mountOptions?: string[];
  linux?: {
    namespaces?: string[];
    capabilities?: string[];
    cgroup?: { v1?: boolean; v2?: boolean; systemd?: boolean; systemdUser?: boolean; rdma?: boolean };
    seccomp?: {
      enabled?: boolean;
      actions?: string[];
      operators?: string[];
      archs?: string[];
      knownFlags?: string[];
      supportedFlags?: string[];
    };
    apparmor?: { enabled?: boolean };
    selinux?: { enabled?: boolean };
    intelRdt?: { enabled?: boolean; schemata?: boolean; monitoring?: boolean };
    memoryPolicy?: { modes?: string[]; flags?: string[] };
    mountExtensions?: { idmap?: { enabled?: boolean } };
    netDevices?: { enabled?: boolean };
  };
  annotations?: Record<string, string>;
  potentiallyUnsafeConfigAnnotations?: string[];
}

export function features(): Features {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...FEATURE_NAMESPACES],
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "run.oci.runjs.version": RUNJS_VERSION },
  };
}
