// TypeScript types for the OCI runtime-spec 1.3 documents this runtime reads and writes:
// config.json (Spec) and the state (State) given to `runjs state` callers and to hooks.
//
// Field names are the spec's JSON names, exactly (see config.md, config-linux.md, runtime.md
// in opencontainers/runtime-spec v1.3.0). Only the Linux platform is described; the solaris,
// windows, vm, zos and freebsd sections are accepted by the validator and ignored.
//
// Numbers: JSON has one number type. uint64 fields (rlimits, memory limits, seccomp values)
// may hold values above 2^53 that JSON.parse rounds; 18446744073709551615 (RLIM_INFINITY, as
// Go writes it) arrives as 2^64. Use `u64()` from validate.ts to turn such a field into the
// exact bigint the kernel expects.

export const OCI_VERSION = "1.3.0";

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

// ---- process --------------------------------------------------------------------------------

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user?: User; // absent: uid 0, gid 0 (the schema does not require it)
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  execCPUAffinity?: CPUAffinity;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export type CapabilitySet = keyof LinuxCapabilities;

export type RlimitType =
  | "RLIMIT_AS"
  | "RLIMIT_CORE"
  | "RLIMIT_CPU"
  | "RLIMIT_DATA"
  | "RLIMIT_FSIZE"
  | "RLIMIT_LOCKS"
  | "RLIMIT_MEMLOCK"
  | "RLIMIT_MSGQUEUE"
  | "RLIMIT_NICE"
  | "RLIMIT_NOFILE"
  | "RLIMIT_NPROC"
  | "RLIMIT_RSS"
  | "RLIMIT_RTPRIO"
  | "RLIMIT_RTTIME"
  | "RLIMIT_SIGPENDING"
  | "RLIMIT_STACK";

export interface POSIXRlimit {
  type: RlimitType;
  hard: number; // uint64, see u64()
  soft: number; // uint64, see u64()
}

export type Rlimit = POSIXRlimit;

export type SchedulerPolicy =
  | "SCHED_OTHER"
  | "SCHED_FIFO"
  | "SCHED_RR"
  | "SCHED_BATCH"
  | "SCHED_ISO"
  | "SCHED_IDLE"
  | "SCHED_DEADLINE";

export type SchedulerFlag =
  | "SCHED_FLAG_RESET_ON_FORK"
  | "SCHED_FLAG_RECLAIM"
  | "SCHED_FLAG_DL_OVERRUN"
  | "SCHED_FLAG_KEEP_POLICY"
  | "SCHED_FLAG_KEEP_PARAMS"
  | "SCHED_FLAG_UTIL_CLAMP_MIN"
  | "SCHED_FLAG_UTIL_CLAMP_MAX";

export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface LinuxIOPriority {
  class: "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE";
  priority?: number; // 0 when absent
}

export interface CPUAffinity {
  initial?: string;
  final?: string;
}

// ---- root, mounts ---------------------------------------------------------------------------

export interface Root {
  path: string; // absolute, or relative to the bundle
  readonly?: boolean;
}

export interface Mount {
  destination: string; // absolute; relative is deprecated and means relative to "/"
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

// ---- hooks ----------------------------------------------------------------------------------

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number; // seconds, > 0
}

export interface Hooks {
  /** @deprecated use createRuntime, createContainer and startContainer */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type HookName = keyof Hooks;

export const HOOK_NAMES: readonly HookName[] = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
];

// ---- linux ----------------------------------------------------------------------------------

export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  netDevices?: Record<string, LinuxNetDevice>;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
  personality?: LinuxPersonality;
  timeOffsets?: Partial<Record<TimeOffsetClock, LinuxTimeOffset>>;
}

export type LinuxNamespaceType =
  | "pid"
  | "network"
  | "mount"
  | "ipc"
  | "uts"
  | "user"
  | "cgroup"
  | "time";

export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string; // join this namespace instead of creating one
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type TimeOffsetClock = "monotonic" | "boottime";

export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

export type LinuxDeviceType = "c" | "b" | "u" | "p";

export interface LinuxDevice {
  path: string;
  type: LinuxDeviceType;
  major?: number; // required unless type is "p"
  minor?: number;
  fileMode?: number; // decimal, permission bits
  uid?: number;
  gid?: number;
}

export interface LinuxNetDevice {
  name?: string;
}

// "" is the Go zero value and means "not set". The r* forms are runc's, accepted by
// containerd and Podman configs in the wild.
export type RootfsPropagation =
  | ""
  | "private"
  | "rprivate"
  | "slave"
  | "rslave"
  | "shared"
  | "rshared"
  | "unbindable"
  | "runbindable";

export interface LinuxPersonality {
  domain: "LINUX" | "LINUX32";
  flags?: string[];
}

export interface LinuxIntelRdt {
  closID?: string;
  schemata?: string[];
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableMonitoring?: boolean;
}

export interface LinuxMemoryPolicy {
  mode: string; // MPOL_*
  nodes?: string; // none for MPOL_DEFAULT and MPOL_LOCAL
  flags?: string[]; // MPOL_F_*
}

// ---- resources (cgroups) --------------------------------------------------------------------
// Typed loosely: the cgroups layer owns the meaning of these fields.

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: { limit?: number };
  blockIO?: LinuxBlockIO;
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  unified?: Record<string, string>;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number; // absent or -1: any
  minor?: number;
  access?: string; // some of "rwm"
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: (LinuxBlockIODevice & { weight?: number; leafWeight?: number })[];
  throttleReadBpsDevice?: (LinuxBlockIODevice & { rate: number })[];
  throttleWriteBpsDevice?: (LinuxBlockIODevice & { rate: number })[];
  throttleReadIOPSDevice?: (LinuxBlockIODevice & { rate: number })[];
  throttleWriteIOPSDevice?: (LinuxBlockIODevice & { rate: number })[];
}

// ---- seccomp --------------------------------------------------------------------------------

export type SeccompAction =
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_LOG"
  | "SCMP_ACT_NOTIFY";

export type SeccompOperator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[]; // SCMP_ARCH_*
  flags?: string[]; // SECCOMP_FILTER_FLAG_*
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccompArg {
  index: number;
  value: number; // uint64, see u64()
  valueTwo?: number;
  op: SeccompOperator;
}

export type Seccomp = LinuxSeccomp;

// ---- state (runtime.md) ---------------------------------------------------------------------

export type ContainerStatus = "creating" | "created" | "running" | "stopped";

export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number; // required on Linux when created or running
  bundle: string; // absolute
  annotations?: Record<string, string>;
}
