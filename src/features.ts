// The Features structure printed by `runjs features` (runtime-spec features.md and
// features-linux.md). It describes what this build of the runtime implements, not what the
// host supports, so it is a constant: no probing of the kernel here (AppArmor is "enabled"
// because runjs applies profiles where the kernel has it, as runc says). A false means
// "implemented: no"; an absent field would mean "unknown".
//
// Every list comes from the table the code itself uses (the validator's names, the planner's
// mount options, the capability table), so the output cannot claim what the code does not do;
// test/integration/features.test.ts runs a container for each claim (cgroup.systemd and
// systemdUser need systemd as PID 1: test/vm/systemd.sh, in the systemd VM).

import { version } from "../package.json";
import { CAPABILITY_NAMES } from "./oci/capabilities.ts";
import { HOOK_NAMES, OCI_VERSION } from "./oci/spec.ts";
import { EXTENSION_OPTIONS, MOUNT_OPTIONS as MOUNT_OPTION_TABLE } from "./plan/mounts.ts";
import { NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_ARCHS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "./oci/validate.ts";

export const RUNJS_VERSION: string = version;

// The mount options the planner knows, from its own table (src/plan/mounts.ts) and the
// extensions it handles itself (tmpcopyup, idmap, ridmap). Anything else in a mount's options
// is passed to mount(2) as filesystem-specific data.
export const MOUNT_OPTIONS: readonly string[] = [...Object.keys(MOUNT_OPTION_TABLE), ...EXTENSION_OPTIONS].sort();

// Namespaces the runtime can create or join: all the validator accepts.
export const FEATURE_NAMESPACES: readonly string[] = [...NAMESPACE_TYPES].sort();

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
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCHS],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: [...SECCOMP_FLAGS],
      },
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { "run.oci.runjs.version": RUNJS_VERSION },
  };
}
