import { expect, test, describe } from "bun:test";
import { ValidationError } from "../../src/oci/errors.ts";
import { CHECK_NAMES, sysctlDots, u64, validateSpec } from "../../src/oci/validate.ts";
import { defaultSpec } from "../../src/oci/defaults.ts";
import { capMask, CAPABILITIES } from "../../src/oci/capabilities.ts";
import { SPEC_FIELDS } from "../../src/oci/keys.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Any = any; // test configs are deliberately ill-typed

const OPTS = { bundle: "/run/bundle" };

/** A valid, fairly full config: the default spec plus one of most optional things. */
function base(): Any {
  const s: Any = defaultSpec();
  s.process.user.additionalGids = [5, 10];
  s.process.user.umask = 0o22;
  s.process.oomScoreAdj = 100;
  s.process.rlimits.push({ type: "RLIMIT_NPROC", soft: 100, hard: 200 });
  s.hooks = {
    prestart: [{ path: "/usr/bin/setup-network", args: ["setup-network", "--x"], env: ["A=1"], timeout: 5 }],
    poststop: [{ path: "/usr/bin/cleanup" }],
  };
  s.annotations = { "com.example.key": "value" };
  s.linux.namespaces.push({ type: "time" });
  s.linux.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } };
  s.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }];
  s.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000" };
  s.linux.cgroupsPath = "/runjs/test";
  s.linux.rootfsPropagation = "rslave";
  return s;
}

function errorOf(cfg: unknown, opts: Any = OPTS): ValidationError {
  try {
    validateSpec(cfg, opts);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error("expected a ValidationError, but the config validated");
}

// [what, how to break the base config, the exact message]
const failures: [string, (s: Any) => void, string | RegExp][] = [
  // document and version
  ["ociVersion missing", (s) => { delete s.ociVersion; }, "config.json: ociVersion: required"],
  ["ociVersion a number", (s) => { s.ociVersion = 1; }, "config.json: ociVersion: must be a string, got number"],
  ["ociVersion not semver", (s) => { s.ociVersion = "1.0"; }, 'config.json: ociVersion: must be a semver version such as "1.3.0", got "1.0"'],
  ["ociVersion major 2", (s) => { s.ociVersion = "2.0.0"; }, "config.json: ociVersion: unsupported version 2.0.0, this runtime supports 1.x"],
  ["ociVersion major 0", (s) => { s.ociVersion = "0.5.0"; }, "config.json: ociVersion: unsupported version 0.5.0, this runtime supports 1.x"],
  // root
  ["root missing", (s) => { delete s.root; }, "config.json: root: required"],
  ["root.path missing", (s) => { s.root = {}; }, "config.json: root.path: required"],
  ["root.path a number", (s) => { s.root.path = 5; }, "config.json: root.path: must be a string, got number"],
  ["root.path empty", (s) => { s.root.path = ""; }, "config.json: root.path: must not be empty"],
  ["root.readonly a string", (s) => { s.root.readonly = "yes"; }, "config.json: root.readonly: must be a boolean, got string"],
  // process
  ["process missing", (s) => { delete s.process; }, "config.json: process: required"],
  ["process null (absent, as Go reads it)", (s) => { s.process = null; }, "config.json: process: required"],
  ["process.args missing", (s) => { delete s.process.args; }, "config.json: process.args: required"],
  ["process.args empty", (s) => { s.process.args = []; }, "config.json: process.args: must not be empty"],
  ["process.args a string", (s) => { s.process.args = "sh"; }, "config.json: process.args: must be an array, got string"],
  ["process.args[1] a number", (s) => { s.process.args = ["sh", 1]; }, "config.json: process.args[1]: must be a string, got number"],
  ["process.args[0] empty", (s) => { s.process.args = [""]; }, "config.json: process.args[0]: must not be empty"],
  ["process.args nul byte", (s) => { s.process.args = ["sh", "a\0b"]; }, "config.json: process.args[1]: must not contain a nul byte"],
  ["process.cwd missing", (s) => { delete s.process.cwd; }, "config.json: process.cwd: required"],
  ["process.cwd relative", (s) => { s.process.cwd = "home"; }, "config.json: process.cwd: must be absolute"],
  ["process.env[1] no =", (s) => { s.process.env.push("FOO"); }, 'config.json: process.env[2]: must be NAME=value, got "FOO"'],
  ["process.env empty name", (s) => { s.process.env = ["=x"]; }, 'config.json: process.env[0]: must have a name before "=", got "=x"'],
  ["process.env number", (s) => { s.process.env = [3]; }, "config.json: process.env[0]: must be a string, got number"],
  ["process.terminal string", (s) => { s.process.terminal = "true"; }, "config.json: process.terminal: must be a boolean, got string"],
  ["process.consoleSize.width missing", (s) => { s.process.consoleSize = { height: 25 }; }, "config.json: process.consoleSize.width: required"],
  // process.user
  ["process.user.uid not a number", (s) => { s.process.user = { uid: "0", gid: 0 }; }, "config.json: process.user.uid: must be an integer, got string"],
  ["process.user.uid string", (s) => { s.process.user.uid = "0"; }, "config.json: process.user.uid: must be an integer, got string"],
  ["process.user.uid negative", (s) => { s.process.user.uid = -1; }, "config.json: process.user.uid: must not be negative, got -1"],
  ["process.user.gid fraction", (s) => { s.process.user.gid = 1.5; }, "config.json: process.user.gid: must be an integer, got 1.5"],
  ["process.user.gid too big", (s) => { s.process.user.gid = 2 ** 32; }, "config.json: process.user.gid: must be between 0 and 4294967295, got 4294967296"],
  ["process.user.umask too big", (s) => { s.process.user.umask = 0o1000; }, "config.json: process.user.umask: must be between 0 and 511 (0o777), got 512"],
  ["process.user.additionalGids[1]", (s) => { s.process.user.additionalGids = [1, -2]; }, "config.json: process.user.additionalGids[1]: must not be negative, got -2"],
  ["process.user.additionalGids object", (s) => { s.process.user.additionalGids = {}; }, "config.json: process.user.additionalGids: must be an array, got object"],
  // process.rlimits
  ["rlimits not an array", (s) => { s.process.rlimits = {}; }, "config.json: process.rlimits: must be an array, got object"],
  ["rlimit unknown type", (s) => { s.process.rlimits[1].type = "RLIMIT_FOO"; }, 'config.json: process.rlimits[1].type: unknown rlimit "RLIMIT_FOO"'],
  ["rlimit duplicate", (s) => { s.process.rlimits[1].type = "RLIMIT_NOFILE"; }, 'config.json: process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE", first at process.rlimits[0]'],
  ["rlimit soft missing", (s) => { delete s.process.rlimits[0].soft; }, "config.json: process.rlimits[0].soft: required"],
  ["rlimit hard string", (s) => { s.process.rlimits[0].hard = "1024"; }, "config.json: process.rlimits[0].hard: must be an integer, got string"],
  ["rlimit soft negative", (s) => { s.process.rlimits[0].soft = -1; }, "config.json: process.rlimits[0].soft: must not be negative, got -1"],
  ["rlimit soft > hard", (s) => { s.process.rlimits[1].soft = 300; }, "config.json: process.rlimits[1].soft: must not exceed hard"],
  // process.capabilities
  ["capabilities array", (s) => { s.process.capabilities = []; }, "config.json: process.capabilities: must be an object, got array"],
  ["capability not a string", (s) => { s.process.capabilities.bounding[1] = 5; }, "config.json: process.capabilities.bounding[1]: must be a string, got number"],
  ["capability set not array", (s) => { s.process.capabilities.ambient = "CAP_KILL"; }, "config.json: process.capabilities.ambient: must be an array, got string"],
  // process, linux-specific
  ["oomScoreAdj too big", (s) => { s.process.oomScoreAdj = 1001; }, "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001"],
  ["oomScoreAdj fraction", (s) => { s.process.oomScoreAdj = 0.5; }, "config.json: process.oomScoreAdj: must be an integer, got 0.5"],
  ["noNewPrivileges number", (s) => { s.process.noNewPrivileges = 1; }, "config.json: process.noNewPrivileges: must be a boolean, got number"],
  ["ioPriority class", (s) => { s.process.ioPriority = { class: "RT", priority: 0 }; }, 'config.json: process.ioPriority.class: must be one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE, got "RT"'],
  ["ioPriority priority", (s) => { s.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 8 }; }, "config.json: process.ioPriority.priority: must be between 0 and 7, got 8"],
  ["scheduler policy", (s) => { s.process.scheduler = { policy: "FIFO" }; }, 'config.json: process.scheduler.policy: must be one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE, got "FIFO"'],
  ["scheduler nice", (s) => { s.process.scheduler = { policy: "SCHED_OTHER", nice: 20 }; }, "config.json: process.scheduler.nice: must be between -20 and 19 for SCHED_OTHER, got 20"],
  ["scheduler priority", (s) => { s.process.scheduler = { policy: "SCHED_OTHER", priority: 5 }; }, "config.json: process.scheduler.priority: only allowed with SCHED_FIFO or SCHED_RR"],
  ["scheduler deadline", (s) => { s.process.scheduler = { policy: "SCHED_RR", runtime: 5 }; }, "config.json: process.scheduler: runtime, deadline and period are only allowed with SCHED_DEADLINE"],
  ["execCPUAffinity", (s) => { s.process.execCPUAffinity = { initial: "0-3;7" }; }, 'config.json: process.execCPUAffinity.initial: must be a cpu list like "0-3,7", got "0-3;7"'],
  // hostname, domainname, annotations
  ["hostname number", (s) => { s.hostname = 7; }, "config.json: hostname: must be a string, got number"],
  ["hostname too long", (s) => { s.hostname = "h".repeat(65); }, "config.json: hostname: must be at most 64 bytes"],
  ["hostname without uts", (s) => { s.linux.namespaces = s.linux.namespaces.filter((n: Any) => n.type !== "uts"); }, "config.json: hostname: requires a uts namespace in linux.namespaces"],
  ["domainname without uts", (s) => { delete s.hostname; s.domainname = "example.org"; s.linux.namespaces = s.linux.namespaces.filter((n: Any) => n.type !== "uts"); }, "config.json: domainname: requires a uts namespace in linux.namespaces"],
  ["annotations array", (s) => { s.annotations = []; }, "config.json: annotations: must be an object, got array"],
  ["annotation value number", (s) => { s.annotations["com.example.n"] = 1; }, 'config.json: annotations["com.example.n"]: must be a string, got number'],
  ["annotation empty key", (s) => { s.annotations[""] = "x"; }, "config.json: annotations: keys must not be empty"],
  // mounts
  ["mounts object", (s) => { s.mounts = {}; }, "config.json: mounts: must be an array, got object"],
  ["mount destination missing", (s) => { delete s.mounts[3].destination; }, "config.json: mounts[3].destination: required"],
  ["mount destination empty", (s) => { s.mounts[3].destination = ""; }, "config.json: mounts[3].destination: must not be empty"],
  ["mount type number", (s) => { s.mounts[0].type = 1; }, "config.json: mounts[0].type: must be a string, got number"],
  ["mount source nul", (s) => { s.mounts[0].source = "pr\0c"; }, "config.json: mounts[0].source: must not contain a nul byte"],
  ["mount options string", (s) => { s.mounts[1].options = "nosuid"; }, "config.json: mounts[1].options: must be an array, got string"],
  ["mount option number", (s) => { s.mounts[1].options[2] = 755; }, "config.json: mounts[1].options[2]: must be a string, got number"],
  ["mount uidMappings alone", (s) => { s.mounts[0].uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]; }, "config.json: mounts[0].gidMappings: required when uidMappings is set"],
  ["mount idmapping size 0", (s) => { s.mounts[0].uidMappings = [{ containerID: 0, hostID: 1, size: 0 }]; s.mounts[0].gidMappings = []; }, "config.json: mounts[0].uidMappings[0].size: must be greater than 0, got 0"],
  // hooks
  ["hooks array", (s) => { s.hooks = []; }, "config.json: hooks: must be an object, got array"],
  ["hook list object", (s) => { s.hooks.poststart = {}; }, "config.json: hooks.poststart: must be an array, got object"],
  ["hook path relative", (s) => { s.hooks.prestart[0].path = "bin/hook"; }, "config.json: hooks.prestart[0].path: must be absolute"],
  ["hook path missing", (s) => { s.hooks.createContainer = [{ args: [] }]; }, "config.json: hooks.createContainer[0].path: required"],
  ["hook args number", (s) => { s.hooks.prestart[0].args = ["x", 2]; }, "config.json: hooks.prestart[0].args[1]: must be a string, got number"],
  ["hook env no =", (s) => { s.hooks.poststop[0].env = ["X"]; }, 'config.json: hooks.poststop[0].env[0]: must be NAME=value, got "X"'],
  ["hook timeout 0", (s) => { s.hooks.prestart[0].timeout = 0; }, "config.json: hooks.prestart[0].timeout: must be greater than 0, got 0"],
  ["hook timeout string", (s) => { s.hooks.startContainer = [{ path: "/x", timeout: "5" }]; }, "config.json: hooks.startContainer[0].timeout: must be an integer, got string"],
  // linux
  ["linux array", (s) => { s.linux = []; }, "config.json: linux: must be an object, got array"],
  ["namespaces object", (s) => { s.linux.namespaces = {}; }, "config.json: linux.namespaces: must be an array, got object"],
  ["namespace type unknown", (s) => { s.linux.namespaces[2].type = "net"; }, 'config.json: linux.namespaces[2].type: unknown namespace type "net"'],
  ["namespace type missing", (s) => { s.linux.namespaces[1] = { path: "/proc/1/ns/net" }; }, "config.json: linux.namespaces[1].type: required"],
  ["namespace duplicate", (s) => { s.linux.namespaces.push({ type: "pid" }); }, 'config.json: linux.namespaces[6].type: duplicate namespace "pid", first at linux.namespaces[0]'],
  ["namespace path relative", (s) => { s.linux.namespaces[1].path = "netns/a"; }, "config.json: linux.namespaces[1].path: must be absolute"],
  ["user namespace without mappings", (s) => { s.linux.namespaces.push({ type: "user" }); }, "config.json: linux.namespaces[6]: a new user namespace needs linux.uidMappings and linux.gidMappings"],
  ["mappings without user namespace", (s) => { s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]; }, "config.json: linux.uidMappings: requires a user namespace in linux.namespaces"],
  ["uidMappings hostID string", (s) => { s.linux.uidMappings = [{ containerID: 0, hostID: "1000", size: 1 }]; }, "config.json: linux.uidMappings[0].hostID: must be an integer, got string"],
  ["gidMappings size missing", (s) => { s.linux.gidMappings = [{ containerID: 0, hostID: 1000 }]; }, "config.json: linux.gidMappings[0].size: required"],
  ["timeOffsets unknown clock", (s) => { s.linux.timeOffsets.realtime = { secs: 1 }; }, 'config.json: linux.timeOffsets.realtime: unknown clock "realtime", must be monotonic or boottime'],
  ["timeOffsets secs string", (s) => { s.linux.timeOffsets.monotonic.secs = "10"; }, "config.json: linux.timeOffsets.monotonic.secs: must be an integer, got string"],
  ["timeOffsets nanosecs range", (s) => { s.linux.timeOffsets.boottime.nanosecs = 1e9; }, "config.json: linux.timeOffsets.boottime.nanosecs: must be between 0 and 999999999, got 1000000000"],
  ["timeOffsets without time ns", (s) => { s.linux.namespaces.pop(); }, "config.json: linux.timeOffsets: requires a time namespace in linux.namespaces"],
  ["timeOffsets with joined time ns", (s) => { s.linux.namespaces[5].path = "/proc/1/ns/time"; }, "config.json: linux.timeOffsets: cannot be set when joining an existing time namespace (linux.namespaces[5].path)"],
  ["device path relative", (s) => { s.linux.devices[0].path = "dev/fuse"; }, "config.json: linux.devices[0].path: must be absolute"],
  ["device type", (s) => { s.linux.devices[0].type = "x"; }, 'config.json: linux.devices[0].type: must be one of c, b, u, p, got "x"'],
  ["device major missing", (s) => { delete s.linux.devices[0].major; }, 'config.json: linux.devices[0].major: required for type "c"'],
  ["device minor negative", (s) => { s.linux.devices[0].minor = -1; }, "config.json: linux.devices[0].minor: must not be negative, got -1"],
  ["device fileMode string", (s) => { s.linux.devices[0].fileMode = "0666"; }, "config.json: linux.devices[0].fileMode: must be an integer, got string"],
  ["device uid negative", (s) => { s.linux.devices[0].uid = -5; }, "config.json: linux.devices[0].uid: must not be negative, got -5"],
  ["device duplicate", (s) => { s.linux.devices.push({ path: "/dev/fuse", type: "p" }); }, 'config.json: linux.devices[1].path: duplicate device "/dev/fuse", first at linux.devices[0]'],
  ["maskedPaths relative", (s) => { s.linux.maskedPaths[3] = "proc/keys"; }, "config.json: linux.maskedPaths[3]: must be absolute"],
  ["readonlyPaths string", (s) => { s.linux.readonlyPaths = "/proc/sys"; }, "config.json: linux.readonlyPaths: must be an array, got string"],
  ["maskedPaths without mount ns", (s) => { s.linux.namespaces = [{ type: "uts" }, { type: "time" }, { type: "ipc" }, { type: "network" }]; }, "config.json: linux.maskedPaths: requires a mount namespace in linux.namespaces"],
  ["rootfsPropagation", (s) => { s.linux.rootfsPropagation = "recursive"; }, 'config.json: linux.rootfsPropagation: must be one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable, got "recursive"'],
  ["sysctl value number", (s) => { s.linux.sysctl["net.core.somaxconn"] = 256; }, 'config.json: linux.sysctl["net.core.somaxconn"]: must be a string, got number'],
  ["sysctl bad name", (s) => { s.linux.sysctl["net..x"] = "1"; }, 'config.json: linux.sysctl["net..x"]: must be a sysctl name like net.ipv4.ip_forward'],
  ["sysctl dotdot", (s) => { s.linux.sysctl["net/../../etc"] = "1"; }, 'config.json: linux.sysctl["net/../../etc"]: must be a sysctl name like net.ipv4.ip_forward'],
  ["sysctl net without netns", (s) => { s.linux.namespaces = s.linux.namespaces.filter((n: Any) => n.type !== "network"); }, 'config.json: linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace in linux.namespaces'],
  ["sysctl ipc without ipcns", (s) => { s.linux.namespaces = s.linux.namespaces.filter((n: Any) => n.type !== "ipc"); }, 'config.json: linux.sysctl["kernel.shmmax"]: requires an ipc namespace in linux.namespaces'],
  ["sysctl component turning into ..", (s) => { s.linux.sysctl["net.ipv4.//.x"] = "1"; }, 'config.json: linux.sysctl["net.ipv4.//.x"]: must be a sysctl name like net.ipv4.ip_forward'],
  ["sysctl not namespaced", (s) => { s.linux.sysctl["vm.swappiness"] = "10"; }, 'config.json: linux.sysctl["vm.swappiness"]: is not namespaced, so a container cannot set it'],
  ["sysctl kernel.hostname", (s) => { s.linux.sysctl["kernel.hostname"] = "x"; }, 'config.json: linux.sysctl["kernel.hostname"]: conflicts with the hostname field, set that instead'],
  ["sysctl user without userns", (s) => { s.linux.sysctl["user.max_user_namespaces"] = "0"; }, 'config.json: linux.sysctl["user.max_user_namespaces"]: requires a user namespace in linux.namespaces'],
  ["cgroupsPath number", (s) => { s.linux.cgroupsPath = 5; }, "config.json: linux.cgroupsPath: must be a string, got number"],
  ["resources array", (s) => { s.linux.resources = []; }, "config.json: linux.resources: must be an object, got array"],
  ["resources device allow missing", (s) => { s.linux.resources.devices[0] = { access: "rwm" }; }, "config.json: linux.resources.devices[0].allow: required"],
  ["resources device access", (s) => { s.linux.resources.devices[0].access = 7; }, "config.json: linux.resources.devices[0].access: must be a string, got number"],
  ["memory limit below -1", (s) => { s.linux.resources.memory = { limit: -12345 }; }, "config.json: linux.resources.memory.limit: must be -1 (no limit) or a number of bytes, got -12345"],
  ["memory swap below -1", (s) => { s.linux.resources.memory = { swap: -2 }; }, "config.json: linux.resources.memory.swap: must be -1 (no limit) or a number of bytes, got -2"],
  ["resources memory limit string", (s) => { s.linux.resources.memory = { limit: "1G" }; }, "config.json: linux.resources.memory.limit: must be an integer, got string"],
  ["resources cpu shares negative", (s) => { s.linux.resources.cpu = { shares: -1 }; }, "config.json: linux.resources.cpu.shares: must not be negative, got -1"],
  ["resources pids limit fraction", (s) => { s.linux.resources.pids = { limit: 1.5 }; }, "config.json: linux.resources.pids.limit: must be an integer, got 1.5"],
  ["resources blkio weight", (s) => { s.linux.resources.blockIO = { weight: 70000 }; }, "config.json: linux.resources.blockIO.weight: must be between 0 and 65535, got 70000"],
  ["resources throttle rate", (s) => { s.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0 }] }; }, "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: required"],
  ["resources unified value", (s) => { s.linux.resources.unified = { "memory.high": 5 }; }, 'config.json: linux.resources.unified["memory.high"]: must be a string, got number'],
  ["seccomp defaultAction missing", (s) => { s.linux.seccomp = {}; }, "config.json: linux.seccomp.defaultAction: required"],
  ["seccomp defaultAction unknown", (s) => { s.linux.seccomp = { defaultAction: "ALLOW" }; }, `config.json: linux.seccomp.defaultAction: must be one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY, got "ALLOW"`],
  ["seccomp defaultErrnoRet with ALLOW", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 }; }, "config.json: linux.seccomp.defaultErrnoRet: not allowed with SCMP_ACT_ALLOW, only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"],
  ["seccomp syscall names empty", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] }; }, "config.json: linux.seccomp.syscalls[0].names: must not be empty"],
  ["seccomp syscall names null", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: null, action: "SCMP_ACT_ERRNO" }] }; }, "config.json: linux.seccomp.syscalls[0].names: required"],
  ["seccomp arg op", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "EQ" }] }] }; }, 'config.json: linux.seccomp.syscalls[0].args[0].op: must be one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ, got "EQ"'],
  ["seccomp arg index", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] }; }, "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got 6"],
  ["seccomp arch", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] }; }, /^config\.json: linux\.seccomp\.architectures\[0\]: must be one of SCMP_ARCH_X86, .*, got "x86_64"$/],
  ["seccomp listenerMetadata alone", (s) => { s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" }; }, "config.json: linux.seccomp.listenerMetadata: requires listenerPath"],
  ["personality domain", (s) => { s.linux.personality = { domain: "LINUX64" }; }, 'config.json: linux.personality.domain: must be one of LINUX, LINUX32, got "LINUX64"'],
  ["memoryPolicy nodes missing", (s) => { s.linux.memoryPolicy = { mode: "MPOL_BIND" }; }, "config.json: linux.memoryPolicy.nodes: memory policy mode requires at least one node but got 0"],
  ["memoryPolicy empty", (s) => { s.linux.memoryPolicy = {}; }, /^config\.json: linux\.memoryPolicy\.mode: invalid memory policy mode "" \(required\)/],
  ["memoryPolicy mode unknown", (s) => { s.linux.memoryPolicy = { mode: "INTERLEAVE", nodes: "0" }; }, /invalid memory policy mode "INTERLEAVE"/],
  ["memoryPolicy flag unknown", (s) => { s.linux.memoryPolicy = { mode: "MPOL_PREFERRED", nodes: "0", flags: ["MPOL_F_RELATIVE_NODES", "badflag"] }; }, /linux\.memoryPolicy\.flags\[1\]: invalid memory policy flag "badflag"/],
  ["memoryPolicy default with nodes", (s) => { s.linux.memoryPolicy = { mode: "MPOL_DEFAULT", nodes: "0-7" }; }, "config.json: linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got 8"],
  ["memoryPolicy node too large", (s) => { s.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "0-9876543210" }; }, /invalid memory policy nodes "0-9876543210": node 9876543210 is beyond/],
  ["netDevices without netns", (s) => { s.linux.netDevices = { eth0: {} }; s.linux.namespaces = s.linux.namespaces.filter((n: Any) => n.type !== "network"); delete s.linux.sysctl; }, "config.json: linux.netDevices: requires a network namespace in linux.namespaces"],
];

describe("validateSpec rejects", () => {
  for (const [what, breakIt, message] of failures) {
    test(what, () => {
      const s = base();
      breakIt(s);
      const err = errorOf(s);
      if (message instanceof RegExp) expect(err.message).toMatch(message);
      else expect(err.message).toBe(message);
      // the path is the part between "config.json: " and the problem
      const rest = err.message.slice("config.json: ".length);
      expect(err.path === "" || rest.startsWith(`${err.path}: `)).toBe(true);
      expect(err).toBeInstanceOf(Error);
    });
  }
});

describe("validateSpec accepts", () => {
  test("the default spec", () => {
    const s = defaultSpec();
    expect(validateSpec(s, OPTS)).toBe(s);
  });

  test("the rootless default spec", () => {
    expect(() => validateSpec(defaultSpec({ rootless: true, uid: 1000, gid: 1000 }), OPTS)).not.toThrow();
  });

  test("the base test config", () => {
    expect(() => validateSpec(base(), OPTS)).not.toThrow();
  });

  test("a minimal config", () => {
    const cfg = { ociVersion: "1.0.0", root: { path: "/var/lib/c/rootfs" }, process: { args: ["/bin/true"], cwd: "/" } };
    expect(validateSpec(cfg, OPTS).process!.args).toEqual(["/bin/true"]);
  });

  test("no process when not required", () => {
    const cfg = { ociVersion: "1.2.0", root: { path: "rootfs" } };
    expect(() => validateSpec(cfg, { ...OPTS, requireProcess: false })).not.toThrow();
    expect(errorOf(cfg).message).toBe("config.json: process: required");
  });

  test("a containerd-style config", () => {
    // Shaped like what containerd's CRI plugin writes: RLIM_INFINITY, joined namespaces,
    // a seccomp profile, bind mounts, cgroup resources.
    const cfg = JSON.parse(`{
      "ociVersion": "1.1.0",
      "process": {
        "user": { "uid": 65535, "gid": 65535, "additionalGids": [65535] },
        "args": ["/pause"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "EMPTY="],
        "cwd": "/",
        "capabilities": {
          "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
          "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
          "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SYS_CHROOT"]
        },
        "rlimits": [{ "type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 18446744073709551615 }],
        "noNewPrivileges": true,
        "oomScoreAdj": -998
      },
      "root": { "path": "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs", "readonly": true },
      "mounts": [
        { "destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"] },
        { "destination": "/dev/shm", "type": "bind", "source": "/run/containerd/shm", "options": ["rbind", "ro", "nosuid", "nodev", "noexec"] },
        { "destination": "/etc/resolv.conf", "type": "bind", "source": "/var/lib/containerd/resolv.conf", "options": ["rbind", "ro"] }
      ],
      "annotations": { "io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-name": "p" },
      "linux": {
        "resources": {
          "devices": [{ "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm" }],
          "memory": { "limit": -1, "swap": -1 },
          "cpu": { "shares": 2, "quota": -1, "period": 100000, "cpus": "0-3", "mems": "" },
          "pids": { "limit": -1 },
          "hugepageLimits": [{ "pageSize": "2MB", "limit": 0 }],
          "unified": { "memory.oom.group": "1" }
        },
        "cgroupsPath": "kubepods-besteffort-pod1.slice:cri-containerd:abc",
        "namespaces": [
          { "type": "pid" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" },
          { "type": "network", "path": "/var/run/netns/cni-1234" }
        ],
        "seccomp": {
          "defaultAction": "SCMP_ACT_ERRNO",
          "defaultErrnoRet": 38,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          "syscalls": [
            { "names": ["accept", "read", "write"], "action": "SCMP_ACT_ALLOW" },
            { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ" }] },
            { "names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{ "index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }] }
          ]
        },
        "maskedPaths": ["/proc/kcore", "/sys/firmware"],
        "readonlyPaths": ["/proc/sys"],
        "sysctl": { "net.ipv4.ip_unprivileged_port_start": "0", "net/ipv4/ping_group_range": "0 2147483647", "net/ipv4/conf/eno2.100/rp_filter": "2" }
      },
      "hostname": "p",
      "x-unknown-field": { "anything": [1, 2, 3] }
    }`);
    const spec = validateSpec(cfg, OPTS);
    expect(u64(spec.process!.rlimits![0]!.soft)).toBe(0xffffffffffffffffn);
  });

  test("a rootless podman-style config with a user namespace", () => {
    const cfg: Any = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
    cfg.linux.sysctl = { "user.max_user_namespaces": "10", "kernel.domainname": "example.org" };
    cfg.linux.devices = [{ path: "/run/fifo", type: "p" }, { path: "/dev/net/tun", type: "c", major: 10, minor: 200 }];
    cfg.hooks = { createRuntime: [{ path: "/usr/libexec/hook" }], futureHook: [{ nonsense: true }] };
    cfg.linux.rootfsPropagation = "";
    cfg.process.capabilities.ambient = ["CAP_SOME_FUTURE_CAP"];
    expect(() => validateSpec(cfg, OPTS)).not.toThrow();
  });

  test("a joined user namespace needs no mappings", () => {
    const cfg: Any = defaultSpec();
    cfg.linux.namespaces.push({ type: "user", path: "/proc/42/ns/user" });
    expect(() => validateSpec(cfg, OPTS)).not.toThrow();
  });

  test("hostname without uts namespace when empty", () => {
    const cfg: Any = defaultSpec();
    cfg.hostname = "";
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: Any) => n.type !== "uts");
    expect(() => validateSpec(cfg, OPTS)).not.toThrow();
  });

  test("prerelease and build versions", () => {
    for (const v of ["1.0.2-dev", "1.1.0-rc.3", "1.3.0+abc.1"]) {
      const cfg: Any = defaultSpec();
      cfg.ociVersion = v;
      expect(() => validateSpec(cfg, OPTS)).not.toThrow();
    }
  });
});

describe("validateSpec warnings", () => {
  test("relative mount destination is accepted with a warning", () => {
    const warnings: string[] = [];
    const cfg: Any = defaultSpec();
    cfg.mounts.push({ destination: "data", type: "tmpfs", source: "tmpfs" });
    validateSpec(cfg, { ...OPTS, warn: (m: string) => warnings.push(m) });
    expect(warnings).toEqual(['config.json: mounts[7].destination: relative path "data" is deprecated, taken as relative to /']);
  });

  test("a newer minor version is accepted with a warning", () => {
    const warnings: string[] = [];
    const cfg: Any = defaultSpec();
    cfg.ociVersion = "1.4.0";
    validateSpec(cfg, { ...OPTS, warn: (m: string) => warnings.push(m) });
    expect(warnings).toEqual(["config.json: ociVersion: 1.4.0 is newer than 1.3.0; fields this runtime does not know are ignored"]);
  });

  test("the default spec raises none", () => {
    const warnings: string[] = [];
    validateSpec(defaultSpec(), { ...OPTS, warn: (m: string) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });
});

describe("validateSpec misc", () => {
  test("the document must be an object", () => {
    expect(errorOf([1]).message).toBe("config.json: must be an object, got array");
    expect(errorOf(null).message).toBe("config.json: must be an object, got null");
    expect(errorOf([1]).path).toBe("");
  });

  test("ValidationError carries the path", () => {
    const cfg: Any = defaultSpec();
    cfg.process.cwd = "x";
    const err = errorOf(cfg);
    expect(err.path).toBe("process.cwd");
    expect(err.problem).toBe("must be absolute");
    expect(err.message).toBe("config.json: process.cwd: must be absolute");
  });

  test("a relative bundle is a programming error, not a config error", () => {
    expect(() => validateSpec(defaultSpec(), { bundle: "rel" })).toThrow("validateSpec: bundle must be an absolute path");
  });

  test("checks have names and run in a fixed order", () => {
    expect(CHECK_NAMES[0]).toBe("ociVersion");
    expect(new Set(CHECK_NAMES).size).toBe(CHECK_NAMES.length);
  });

  test("sysctlDots", () => {
    expect(sysctlDots("net.ipv4.ip_forward")).toBe("net.ipv4.ip_forward");
    expect(sysctlDots("net/ipv4/conf/eno2.100/rp_filter")).toBe("net.ipv4.conf.eno2/100.rp_filter");
  });

  test("u64", () => {
    expect(u64(0)).toBe(0n);
    expect(u64(1024)).toBe(1024n);
    expect(u64(JSON.parse("18446744073709551615"))).toBe(0xffffffffffffffffn);
  });
});

describe("capMask", () => {
  test("ORs the bits", () => {
    expect(capMask(["CAP_CHOWN", "CAP_KILL", "CAP_KILL"], "p")).toBe((1n << 0n) | (1n << 5n));
    expect(capMask(["CAP_CHECKPOINT_RESTORE"], "p")).toBe(1n << 40n);
    expect(capMask([], "p")).toBe(0n);
  });

  test("the table is dense, 0..40", () => {
    const bits = Object.values(CAPABILITIES).sort((a, b) => a - b);
    expect(bits).toEqual([...Array(41).keys()]);
  });

  test("an unknown name throws naming it and its path", () => {
    expect(() => capMask(["CAP_KILL", "CAP_FLY"], "process.capabilities.bounding")).toThrow(
      'config.json: process.capabilities.bounding[1]: unknown capability "CAP_FLY"',
    );
    expect(() => capMask(["toString"], "x")).toThrow('config.json: x[0]: unknown capability "toString"');
  });

  test("onUnknown turns an unknown name into a report and skips it", () => {
    const seen: string[] = [];
    const mask = capMask(["CAP_FLY", "CAP_KILL"], "p", (e, name) => seen.push(e.message, name));
    expect(mask).toBe(1n << 5n);
    expect(seen).toEqual(['config.json: p[0]: unknown capability "CAP_FLY"', "CAP_FLY"]);
  });
});

describe("field names as Go's decoder matches them", () => {
  test("a key that differs from a field only in case is that field; exact keys and map keys stay", () => {
    const cfg = base();
    cfg.linux.resources = { hugepageLimits: [{ pagesize: "2MB", LIMIT: 1 }] };
    delete cfg.linux.cgroupsPath;
    cfg.linux.CGROUPSPATH = "/x";
    cfg.linux.resources.unified = { Limit: "1" };
    cfg.annotations = { Root: "kept", LINUX: "too" };
    const s = validateSpec(cfg, { bundle: "/b" }) as any;
    expect(s.linux.resources.hugepageLimits).toEqual([{ pageSize: "2MB", limit: 1 }]);
    expect(s.linux.cgroupsPath).toBe("/x");
    expect(s.linux.resources.unified).toEqual({ Limit: "1" });
    expect(s.annotations).toEqual({ Root: "kept", LINUX: "too" });
  });

  test("a null field is an absent one (Go leaves the field as it was)", () => {
    const cfg = base();
    cfg.linux.timeOffsets = null;
    cfg.linux.resources = { memory: null, pids: { limit: 5 } };
    cfg.process.rlimits = null;
    const s = validateSpec(cfg, { bundle: "/b" }) as any;
    expect("timeOffsets" in s.linux).toBe(false);
    expect(s.linux.resources).toEqual({ pids: { limit: 5 } });
    expect("rlimits" in s.process).toBe(false);
  });

  test("SPEC_FIELDS lists every field of the types in spec.ts", () => {
    const src = readFileSync(join(import.meta.dir, "../../src/oci/spec.ts"), "utf8").replace(/\/\/.*$/gm, "");
    const names = new Set([...src.matchAll(/\b([a-zA-Z]+)\??: /g)].map((m) => m[1]!));
    expect([...names].filter((n) => !SPEC_FIELDS.includes(n))).toEqual([]);
  });
});

test("device access letters other than r, w, m are dropped with a warning, as runc ignores them", () => {
  const cfg = base();
  cfg.linux.resources.devices = [{ allow: false, type: "c", major: 1, minor: 11, access: "rwa" }];
  cfg.linux.resources.memory = { limit: -1 };
  const warnings: string[] = [];
  const s = validateSpec(cfg, { bundle: "/b", warn: (m) => warnings.push(m) }) as any;
  expect(s.linux.resources.devices[0].access).toBe("rw");
  expect(warnings).toEqual(['config.json: linux.resources.devices[0].access: "rwa": only r, w and m are device permissions, the rest is ignored']);
});

test("an empty namespace path is a new namespace, as runc reads it", () => {
  const cfg = base();
  cfg.linux.namespaces = cfg.linux.namespaces.map((n: Any) => (n.type === "mount" ? { type: "mount", path: "" } : n));
  const s = validateSpec(cfg, { bundle: "/b" }) as any;
  expect(s.linux.namespaces.find((n: Any) => n.type === "mount")).toEqual({ type: "mount" });
});
