// The Plan: what the C init executes, step by step, with every decision already made.
//
// It is deliberately lower-level than config.json: clone flags instead of namespace names,
// MS_* bit masks instead of mount option strings, capability bit masks instead of names,
// paths already resolved. The C side (native/) decodes exactly these fields, in this shape;
// `runjs-init check-plan` prints them back as JSON with the same names, which is how the
// unit tests check the two sides agree.
import type { LinuxIDMapping } from "../oci/spec.ts";
import type { LsmFacts } from "./lsm.ts";

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
  mkdir: 0 | 1 | 2 | 3 | 4; // 0: must exist, 1: directory, 2: file, 3: a real directory (no symlink), 4: like the source, looked at when mounting
  bindRemount: number; // MS_* for the bind remount, 0 = none
  bindClear: number; // MS_* the options clear explicitly (rw, suid, …): the remount leaves them unset
  copyUp: boolean; // tmpcopyup: a tmpfs starts with the covered directory's contents
  keepMode: boolean; // a tmpfs takes the mode of the directory it covers, if that exists
  early: boolean; // a bind source taken before the namespaces (a container user namespace)
  late: boolean; // an id-mapped bind source inside the rootfs, taken when its turn comes
  /** Id-mapped bind mount: "onDisk shownAs size" lines for uids and gids. */
  uidMap?: string;
  gidMap?: string;
  idmapRecursive: boolean;
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
  name: string; // what an error names: the mount (mounts[i] (/dest)) or root.readonly
  path: string;
  flags: number;
}

export interface PlanSysctl {
  path: string;
  value: string;
  name?: string; // for errors: linux.sysctl["kernel.shmmax"]; not printed by check-plan
}

export interface PlanHook {
  name: string; // "hooks.createContainer[0]"
  phase: 1 | 2; // 1 createContainer, 2 startContainer
  path: string;
  args: string[];
  env: string[];
  /** Run with the container process's environment (a startContainer hook without env). */
  inheritEnv: boolean;
  timeout: number; // seconds, 0 = none
}

/** sched_setattr(2) of the init, kept across execve. */
export interface PlanScheduler {
  policy: number; // SCHED_*
  flags: bigint; // SCHED_FLAG_*
  nice: number;
  priority: number;
  runtime: bigint; // nanoseconds, SCHED_DEADLINE only
  deadline: bigint;
  period: bigint;
}

/** A string written to a file after pivot_root, before the capability drop (LSM exec labels). */
export interface PlanExecAttr {
  name: string; // for errors: "process.apparmorProfile"
  path: string;
  value: string;
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
  /** Bring up lo in the new network namespace. */
  loopback: boolean;
  nsJoin: PlanNsJoin[];
  timeOffsets?: string;
  oomScoreAdj?: number;
  /** sched_setaffinity mask (cpu_set_t bytes, a multiple of 8) before the cgroup transition. */
  cpuInitial?: Uint8Array;
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
  /** Join a new anonymous session keyring (not with --no-new-keyring). */
  newKeyring: boolean;
  /** personality(2) persona. */
  personality?: number;
  /** ioprio_set(2) value: class << 13 | level. */
  ioPriority?: number;
  scheduler?: PlanScheduler;
  /** sched_setaffinity mask after the cgroup transition. */
  cpuFinal?: Uint8Array;
  /** No HOME in env: the init takes it from the container's /etc/passwd (runc's rule). */
  homeFromPasswd: boolean;
  /** linux.memoryPolicy: set_mempolicy(2) mode | flags, and the nodemask (none: no nodes). */
  mpolMode?: number;
  mpolNodes?: Uint8Array;
  execAttrs: PlanExecAttr[];
  uid: number;
  gid: number;
  gids: number[];
  /** setgroups is denied in the container's user namespace: do not call it. */
  noSetgroups: boolean;
  umask?: number;
  caps?: PlanCaps;
  noNewPrivs: boolean;
  seccompBpf?: Uint8Array;
  seccompFlags: number;
  /** Install the filter before the capability drop and READY (else after READY). */
  seccompEarly: boolean;
  /** Unix socket of the seccomp agent that receives the listener fd (SCMP_ACT_NOTIFY). */
  seccompListener?: string;
  cwd: string;
  env: string[];
  args: string[];
  fifo?: string;
  /** The init's cgroup v2 directory: the helper forks it straight into it (CLONE_INTO_CGROUP). */
  cgroup2Dir?: string;
  /** Reopen the fifo through the container's /proc (it mounts one): the init then holds no
   * handle on the state directory, only on the fifo. */
  fifoByProc: boolean;
  /** process.terminal: the fd of the socket the init sends the pty master on. */
  consoleFd?: number;
  consoleRows: number;
  consoleCols: number;
  /** Clear ONLCR on the pty before the program runs (runc's bridged terminal). */
  consoleNoOnlcr: boolean;
  /** Bind the slave onto /dev/console (the container's init, not exec). */
  devConsole: boolean;
}

// ---- what the compilers are told about the host ------------------------------------------------

export interface CgroupFact {
  version: 1 | 2;
  /** Directory name under /sys/fs/cgroup on the host (e.g. "memory", "unified"). */
  name: string;
  controllers: string[];
  /** The container's own cgroup directory on the host. */
  dir: string;
}

/** What the process part of a plan depends on: the same for a container's init and an exec. */
export interface ProcessFacts {
  helperWaits: boolean;
  /** --no-new-keyring: keep runjs's session keyring. */
  noNewKeyring?: boolean;
  /** runjs's own bounding set (CapBnd of /proc/self/status): what it can grant at most. */
  ownCaps?: bigint;
  /** The kernel has keyrings (/proc/keys exists); absent: assumed. */
  keyrings?: boolean;
  /** Enabled LSMs; absent: none (create.ts looks only when the spec asks for one). */
  lsm?: LsmFacts;
  /** Where compile-time warnings go (unknown syscall names, ignored mounts). */
  warn: (msg: string) => void;
  /** process.terminal: the fd number the helper will have the console socket on. */
  consoleFd?: number;
  /** The terminal is runjs's to bridge, runc's way: ONLCR cleared on it ("\n" stays "\n"). */
  bridgedTerminal?: boolean;
}

/** What compileInit is told about the host, beside the process's facts. */
export interface HostFacts extends ProcessFacts {
  bundle: string;
  rootfs: string;
  /** Kind of each bind-mount source, by absolute host path. */
  sources: Record<string, "dir" | "file" | "missing">;
  cgroups: CgroupFact[];
  fifo?: string;
  /** The container's cgroup v2 directory, when runjs's cgroupfs driver places the init itself. */
  cgroup2Dir?: string;
  noPivot: boolean;
  /** The maps of a user namespace the container joins by /proc/PID/ns/user, for "idmap" mounts. */
  joinedUserns?: { uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[] };
  /** Who runs runjs: decides how id maps are written (absent: root). */
  caller?: { euid: number; egid: number };
}

/** What compileExec is told: the running container's init, beside the process's facts. */
export interface ExecFacts extends ProcessFacts {
  /** The (host) pid of the container's init, whose namespaces the process joins. */
  pid: number;
  /** The container's user namespace denies setgroups (/proc/PID/setgroups). */
  setgroupsDenied?: boolean;
}
