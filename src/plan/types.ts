// The Plan: what the C init executes, step by step, with every decision already made.
//
// It is deliberately lower-level than config.json: clone flags instead of namespace names,
// MS_* bit masks instead of mount option strings, capability bit masks instead of names,
// paths already resolved. The C side (native/) decodes exactly these fields, in this shape;
// `runjs-init check-plan` prints them back as JSON with the same names, which is how the
// unit tests check the two sides agree.

export interface PlanNsJoin {
  type: number; // CLONE_NEW* value
  path: string;
  name?: string;
}

export interface PlanRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
  name?: string;
}

export interface PlanMount {
  name: string; // for errors: "mounts[3] (/proc)"
  source: string;
  target: string; // path inside the container
  fstype: string;
  flags: number; // MS_* for mount(2)
  data: string;
  propagation: number; // MS_* applied after the mount, 0 = none
  attrSet: bigint; // MOUNT_ATTR_* applied recursively, 0 = none
  attrClr: bigint;
  mkdir: 0 | 1 | 2; // 0: must exist, 1: directory, 2: file
  bindRemount: number; // MS_* for the bind remount, 0 = none
}

export interface PlanDevice {
  name: string;
  path: string;
  mode: number; // S_IF* | permission bits
  major: number;
  minor: number;
  uid: number;
  gid: number;
  host: string; // bind-mount fallback source
}

export interface PlanSymlink {
  target: string;
  path: string;
}

export interface PlanRemount {
  path: string;
  flags: number;
}

export interface PlanSysctl {
  path: string;
  value: string;
}

export interface PlanHook {
  name: string; // "hooks.createContainer[0]"
  phase: 1 | 2; // 1 createContainer, 2 startContainer
  path: string;
  args: string[];
  env: string[];
  timeout: number; // seconds, 0 = none
}

export interface PlanCaps {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface Plan {
  helperWaits: boolean;
  unshareFlags: number;
  cgroupns: boolean;
  nsJoin: PlanNsJoin[];
  timeOffsets?: string;
  rlimits: PlanRlimit[];
  oomScoreAdj?: number;
  rootfs: string;
  rootPropagation: number;
  postPropagation: number;
  mounts: PlanMount[];
  devices: PlanDevice[];
  symlinks: PlanSymlink[];
  noPivot: boolean;
  /** No mount namespace: chroot into the rootfs, no mount steps. */
  chroot: boolean;
  remounts: PlanRemount[];
  masked: string[];
  readonly: string[];
  hostname?: string;
  domainname?: string;
  sysctls: PlanSysctl[];
  hooks: PlanHook[];
  uid: number;
  gid: number;
  gids: number[];
  umask?: number;
  caps?: PlanCaps;
  noNewPrivs: boolean;
  seccompBpf?: Uint8Array;
  seccompFlags: number;
  cwd: string;
  env: string[];
  args: string[];
  fifo?: string;
}
