// The plan for process attributes, LSM labels, the session keyring and seccomp notification:
// pure compilation, no root needed. What the kernel makes of it is in
// test/integration/process-attrs.test.ts.
import { describe, expect, test } from "bun:test";
import type { LinuxSeccomp, Spec } from "../../src/oci/spec.ts";
import { ValidationError } from "../../src/oci/errors.ts";
import { compileInit, sysctlPath } from "../../src/plan/compile.ts";
import type { HostFacts } from "../../src/plan/types.ts";
import { cpuMask, MAX_CPUS } from "../../src/plan/process.ts";
import { compileSeccomp, SECCOMP_FILTER, seccompProcessState } from "../../src/plan/seccomp.ts";
import { decodeRecords, encodeContinue, field } from "../../src/helper/encode.ts";
import { Tag } from "../../src/helper/protocol.gen.ts";
import { testFacts, testSpec } from "./fixtures.ts";
import * as scmp from "../../src/sys/libseccomp.ts";

const spec = testSpec;
const facts = (over: Partial<HostFacts> = {}) => testFacts({ fifo: undefined, ...over });

function compileErr(s: Spec, f: HostFacts = facts()): Error {
  try {
    compileInit(s, f);
  } catch (e) {
    return e as Error;
  }
  throw new Error("compiled without an error");
}

describe("process attributes", () => {
  test("none set: nothing in the plan but a new session keyring", () => {
    const p = compileInit(spec(), facts());
    for (const k of ["personality", "ioPriority", "scheduler", "cpuFinal"] as const) expect(p[k]).toBeUndefined();
    // no initial affinity given: every CPU (runjs's own affinity is not the container's)
    expect(p.cpuInitial!.length).toBe(1024);
    expect(p.cpuInitial!.every((b) => b === 0xff)).toBe(true);
    expect(p.newKeyring).toBe(true);
    expect(p.execAttrs).toEqual([]);
  });

  test("linux.personality: LINUX is 0, LINUX32 is PER_LINUX32 (8); flags are ignored with a warning", () => {
    const s = spec();
    s.linux!.personality = { domain: "LINUX" };
    expect(compileInit(s, facts()).personality).toBe(0);
    s.linux!.personality = { domain: "LINUX32", flags: ["ADDR_NO_RANDOMIZE"] };
    const warnings: string[] = [];
    expect(compileInit(s, facts({ warn: (m) => warnings.push(m) })).personality).toBe(8);
    expect(warnings).toEqual(["config.json: linux.personality.flags: no flags are defined by the runtime-spec, ignored: ADDR_NO_RANDOMIZE"]);
  });

  test("process.ioPriority: class << 13 | level", () => {
    const s = spec();
    const cases = [
      ["IOPRIO_CLASS_RT", 0, 0x2000],
      ["IOPRIO_CLASS_BE", 7, 0x4007],
      ["IOPRIO_CLASS_IDLE", 0, 0x6000],
    ] as const;
    for (const [cls, prio, want] of cases) {
      s.process!.ioPriority = { class: cls, priority: prio };
      expect(compileInit(s, facts()).ioPriority).toBe(want);
    }
  });

  test("process.scheduler: policy, flags and parameters for sched_setattr", () => {
    const s = spec();
    s.process!.scheduler = { policy: "SCHED_BATCH", nice: -5, flags: ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_UTIL_CLAMP_MAX"] };
    expect(compileInit(s, facts()).scheduler).toEqual({ policy: 3, flags: 0x41n, nice: -5, priority: 0, runtime: 0n, deadline: 0n, period: 0n });
    s.process!.scheduler = { policy: "SCHED_RR", priority: 99 };
    expect(compileInit(s, facts()).scheduler).toMatchObject({ policy: 2, priority: 99, nice: 0 });
    s.process!.scheduler = { policy: "SCHED_DEADLINE", runtime: 1_000_000, deadline: 2_000_000, period: 3_000_000 };
    expect(compileInit(s, facts()).scheduler).toEqual({ policy: 6, flags: 0n, nice: 0, priority: 0, runtime: 1000000n, deadline: 2000000n, period: 3000000n });
    s.process!.scheduler = { policy: "SCHED_IDLE" };
    expect(compileInit(s, facts()).scheduler!.policy).toBe(5);
  });

  test("process.scheduler: SCHED_ISO and a real-time priority out of 1..99 are refused, named", () => {
    const s = spec();
    s.process!.scheduler = { policy: "SCHED_ISO" };
    expect(compileErr(s).message).toBe("config.json: process.scheduler.policy: SCHED_ISO is not implemented by Linux");
    s.process!.scheduler = { policy: "SCHED_FIFO" };
    expect(compileErr(s).message).toBe("config.json: process.scheduler.priority: must be between 1 and 99 for SCHED_FIFO, got 0");
    s.process!.scheduler = { policy: "SCHED_RR", priority: 100 };
    expect(compileErr(s)).toBeInstanceOf(ValidationError);
  });

  test("cpu lists become cpu_set_t bytes, whole 64-bit words", () => {
    expect([...cpuMask("0-1,3", "x")!]).toEqual([0x0b, 0, 0, 0, 0, 0, 0, 0]);
    expect([...cpuMask("7", "x")!]).toEqual([0x80, 0, 0, 0, 0, 0, 0, 0]);
    const m = cpuMask("1,64-65", "x")!;
    expect(m.length).toBe(16);
    expect([m[0], m[8]]).toEqual([0x02, 0x03]);
    expect(cpuMask(`${MAX_CPUS - 1}`, "x")!.length).toBe(MAX_CPUS / 8);
    expect(cpuMask("", "x")).toBeUndefined();
    expect(cpuMask(undefined, "x")).toBeUndefined();
  });

  test("process.execCPUAffinity: initial and final; a bad range names the field", () => {
    const s = spec();
    s.process!.execCPUAffinity = { initial: "0", final: "1-2" };
    const p = compileInit(s, facts());
    expect([...p.cpuInitial!]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect([...p.cpuFinal!]).toEqual([6, 0, 0, 0, 0, 0, 0, 0]);
    s.process!.execCPUAffinity = { final: "" };
    expect(compileInit(s, facts()).cpuFinal).toBeUndefined();
    s.process!.execCPUAffinity = { final: "3-1" };
    expect(compileErr(s).message).toBe("config.json: process.execCPUAffinity.final: 3-1: the range is backwards");
    s.process!.execCPUAffinity = { initial: "0,9000" };
    expect(compileErr(s).message).toBe("config.json: process.execCPUAffinity.initial: CPU 9000 is beyond the 8192 Linux supports");
  });

  test("session keyring: new unless --no-new-keyring, or when the kernel has no keyrings", () => {
    expect(compileInit(spec(), facts({ keyrings: true })).newKeyring).toBe(true);
    expect(compileInit(spec(), facts({ noNewKeyring: true })).newKeyring).toBe(false);
    expect(compileInit(spec(), facts({ keyrings: false })).newKeyring).toBe(false);
  });
});

describe("linux.sysctl", () => {
  test("names become /proc/sys paths in both of sysctl(8)'s forms; each is named for errors", () => {
    expect(sysctlPath("kernel.shmmax")).toBe("/proc/sys/kernel/shmmax");
    expect(sysctlPath("net.ipv4.conf.eno2/100.rp_filter")).toBe("/proc/sys/net/ipv4/conf/eno2.100/rp_filter");
    expect(sysctlPath("net/ipv4/conf/eno2.100/rp_filter")).toBe("/proc/sys/net/ipv4/conf/eno2.100/rp_filter");
    expect(sysctlPath("net/ipv4/ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    const s = spec();
    s.linux!.sysctl = { "kernel.shmmax": "1" };
    expect(compileInit(s, facts()).sysctls).toEqual([{ path: "/proc/sys/kernel/shmmax", value: "1", name: 'linux.sysctl["kernel.shmmax"]' }]);
  });
});

describe("LSM labels", () => {
  const none = { apparmor: false, selinux: false };

  test("an AppArmor profile or SELinux label without the module is an error naming the field", () => {
    const s = spec();
    s.process!.apparmorProfile = "acme_secure_profile";
    expect(compileErr(s).message).toBe("config.json: process.apparmorProfile: AppArmor is not enabled on this kernel");
    expect(compileErr(s, facts({ lsm: { apparmor: false, selinux: true } }))).toBeInstanceOf(ValidationError);
    delete s.process!.apparmorProfile;
    s.process!.selinuxLabel = "system_u:system_r:svirt_lxc_net_t:s0:c124,c675";
    expect(compileErr(s, facts({ lsm: none })).message).toBe("config.json: process.selinuxLabel: SELinux is not enabled on this kernel");
  });

  test("AppArmor: 'exec <profile>' to the AppArmor attr directory when the kernel has it", () => {
    const s = spec();
    s.process!.apparmorProfile = "acme";
    expect(compileInit(s, facts({ lsm: { apparmor: true, selinux: false, apparmorDir: true } })).execAttrs).toEqual([
      { name: "process.apparmorProfile", path: "/proc/self/attr/apparmor/exec", value: "exec acme" },
    ]);
    expect(compileInit(s, facts({ lsm: { apparmor: true, selinux: false } })).execAttrs[0]!.path).toBe("/proc/self/attr/exec");
  });

  test("SELinux: the label to /proc/self/attr/exec", () => {
    const s = spec();
    s.process!.selinuxLabel = "system_u:system_r:container_t:s0";
    expect(compileInit(s, facts({ lsm: { apparmor: false, selinux: true } })).execAttrs).toEqual([
      { name: "process.selinuxLabel", path: "/proc/self/attr/exec", value: "system_u:system_r:container_t:s0" },
    ]);
  });

  test("linux.mountLabel without SELinux: a warning, mounts unchanged", () => {
    const s = spec();
    s.linux!.mountLabel = "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811";
    const warnings: string[] = [];
    const p = compileInit(s, facts({ warn: (m) => warnings.push(m) }));
    expect(warnings).toEqual(["config.json: linux.mountLabel: SELinux is not enabled on this kernel: ignored"]);
    expect(p.mounts).toEqual(compileInit(spec(), facts()).mounts);
  });

  test("linux.mountLabel with SELinux: context= on tmpfs, devpts, mqueue; not on proc, sysfs, cgroup, binds", () => {
    const s = spec();
    const label = "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811";
    s.linux!.mountLabel = label;
    s.mounts!.push({ destination: "/data", type: "bind", source: "/b/data", options: ["rbind"] });
    s.mounts!.push({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["context=\"other\""] });
    const p = compileInit(s, facts({ lsm: { apparmor: false, selinux: true }, sources: { "/b/data": "dir" } }));
    const data = Object.fromEntries(p.mounts.map((m) => [m.target, m.data]));
    expect(data["/dev"]).toBe(`mode=755,size=65536k,context="${label}"`);
    expect(data["/dev/pts"]).toEndWith(`,context="${label}"`);
    expect(data["/dev/shm"]).toEndWith(`,context="${label}"`);
    expect(data["/dev/mqueue"]).toBe(`context="${label}"`);
    expect(data["/proc"]).toBe("");
    expect(data["/sys"]).toBe("");
    expect(data["/data"]).toBe("");
    expect(data["/run"]).toBe('context="other"');
  });
});

describe("seccomp user notification", () => {
  const notify = (over: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
    defaultAction: "SCMP_ACT_ALLOW",
    listenerPath: "/run/agent.sock",
    syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
    ...over,
  });
  const err = (s: LinuxSeccomp): Error => {
    try {
      compileSeccomp(s, () => {});
    } catch (e) {
      return e as Error;
    }
    throw new Error("compiled without an error");
  };

  test("a NOTIFY rule: the filter returns SECCOMP_RET_USER_NOTIF, NEW_LISTENER is set, the listener is named", () => {
    const r = compileSeccomp(notify({ flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"] }), () => {});
    expect(r.listener).toBe("/run/agent.sock");
    expect(r.flags).toBe(SECCOMP_FILTER.NEW_LISTENER | SECCOMP_FILTER.WAIT_KILLABLE_RECV | SECCOMP_FILTER.LOG);
    const dv = new DataView(r.bpf.buffer, r.bpf.byteOffset, r.bpf.byteLength);
    const rets: number[] = [];
    for (let o = 0; o < r.bpf.length; o += 8) if (dv.getUint16(o, true) === 0x06) rets.push(dv.getUint32(o + 4, true));
    expect(rets).toContain(scmp.SCMP_ACT.NOTIFY);
  });

  test("listenerPath without a NOTIFY rule is ignored (and WAIT_KILLABLE_RECV still warns)", () => {
    const warnings: string[] = [];
    const r = compileSeccomp(
      notify({ syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }], flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }),
      (m) => warnings.push(m),
    );
    expect(r.listener).toBeUndefined();
    expect(r.flags).toBe(0);
    expect(warnings.length).toBe(1);
  });

  test("the listener path must be absolute and fit a unix socket address", () => {
    expect(err(notify({ listenerPath: "agent.sock" })).message).toBe("config.json: linux.seccomp.listenerPath: must be an absolute path");
    expect(err(notify({ listenerPath: "/" + "a".repeat(107) })).message).toBe(
      "config.json: linux.seccomp.listenerPath: must be at most 107 bytes (the size of a unix socket address)",
    );
    expect(compileSeccomp(notify({ listenerPath: "/" + "a".repeat(106) }), () => {}).listener).toHaveLength(107);
  });

  test("NOTIFY cannot apply to write, sendmsg or shutdown, with the name pointed at", () => {
    const e = err(notify({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO" }, { names: ["mkdir", "sendmsg"], action: "SCMP_ACT_NOTIFY" }] }));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.message).toStartWith("config.json: linux.seccomp.syscalls[1].names[1]: SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall");
    expect(err(notify({ syscalls: [{ names: ["shutdown"], action: "SCMP_ACT_NOTIFY" }] })).message).toStartWith(
      "config.json: linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for the shutdown syscall",
    );
    expect(err(notify({ syscalls: [{ names: ["write"], action: "SCMP_ACT_NOTIFY" }] })).message).toStartWith(
      "config.json: linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
    );
    // sendmsg with another action is fine
    compileSeccomp(notify({ syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_ERRNO" }] }), () => {});
  });

  test("when the filter goes in: early without no_new_privs or with an agent, late otherwise", () => {
    const s = spec();
    expect(compileInit(s, facts()).seccompEarly).toBe(false); // no filter at all
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] };
    s.process!.noNewPrivileges = true;
    expect(compileInit(s, facts())).toMatchObject({ seccompEarly: false, seccompListener: undefined });
    s.process!.noNewPrivileges = false;
    expect(compileInit(s, facts()).seccompEarly).toBe(true);
    s.process!.noNewPrivileges = true;
    s.linux!.seccomp = notify();
    expect(compileInit(s, facts())).toMatchObject({ seccompEarly: true, seccompListener: "/run/agent.sock" });
  });

  test("the container process state: spec version, one fd named seccompFd, the pid, metadata, the state", () => {
    const state = { ociVersion: "1.0.2", id: "c1", pid: 4422, status: "creating", bundle: "/b", annotations: { k: "v" } };
    const j = JSON.parse(seccompProcessState(notify({ listenerMetadata: "MKNOD=/dev/null" }), state));
    expect(j).toEqual({ ociVersion: "1.3.0", fds: ["seccompFd"], pid: 4422, metadata: "MKNOD=/dev/null", state });
    expect(JSON.parse(seccompProcessState(notify(), state))).not.toHaveProperty("metadata");
  });

  test("CONTINUE carries the process state only when there is one", () => {
    const with_ = decodeRecords(encodeContinue({ creating: "{}", created: "{}", seccompState: '{"pid":1}' }));
    expect(field(with_, Tag.SECCOMP_STATE)).toBe('{"pid":1}');
    expect(field(decodeRecords(encodeContinue({ creating: "a", created: "b" })), Tag.SECCOMP_STATE)).toBeUndefined();
  });
});

describe("capabilities runjs does not hold", () => {
  test("in permitted/effective/ambient: an error naming them; in bounding/inheritable: left out with a warning", () => {
    const own = (1n << 41n) - 1n - (1n << 24n); // everything but CAP_SYS_RESOURCE (24)
    const s = spec();
    s.process!.capabilities = { bounding: ["CAP_KILL", "CAP_SYS_RESOURCE"], inheritable: ["CAP_SYS_RESOURCE"], permitted: ["CAP_KILL"], effective: ["CAP_KILL"] };
    const warnings: string[] = [];
    const p = compileInit(s, facts({ ownCaps: own, warn: (m) => warnings.push(m) }));
    expect(p.caps!.bounding).toBe(1n << 5n);
    expect(p.caps!.inheritable).toBe(0n);
    expect(warnings.join("\n")).toContain("process.capabilities.bounding: CAP_SYS_RESOURCE not held by runjs itself");
    s.process!.capabilities.permitted = ["CAP_SYS_RESOURCE"];
    expect(compileErr(s, facts({ ownCaps: own })).message).toBe(
      "config.json: process.capabilities.permitted: CAP_SYS_RESOURCE: not held by runjs itself, so it cannot be granted",
    );
  });
});

describe("ambient capabilities the kernel will not raise", () => {
  test("ambient without inheritable (runc 1.1's `runc spec`): each one a warning, left out; the rest kept", () => {
    const s = spec();
    const three = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    s.process!.capabilities = { bounding: three, effective: three, permitted: three, ambient: three };
    const warnings: string[] = [];
    const p = compileInit(s, facts({ warn: (m) => warnings.push(m) }));
    expect(p.caps!.ambient).toBe(0n);
    expect(p.caps!.permitted).toBe((1n << 29n) | (1n << 5n) | (1n << 10n));
    expect(warnings).toEqual(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"].map((c) => `process.capabilities.ambient: can't raise ambient capability ${c}: it is not both permitted and inheritable`));
    // permitted and inheritable: raised, no warning
    s.process!.capabilities = { bounding: three, permitted: three, inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"], ambient: three };
    warnings.length = 0;
    expect(compileInit(s, facts({ warn: (m) => warnings.push(m) })).caps!.ambient).toBe((1n << 5n) | (1n << 10n));
    expect(warnings).toEqual(["process.capabilities.ambient: can't raise ambient capability CAP_AUDIT_WRITE: it is not both permitted and inheritable"]);
  });
});
