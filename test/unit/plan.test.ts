// compileInit and its tables: pure, no root needed.
import { describe, expect, test } from "bun:test";
import { parseHierarchies, containerPath, hostDir, modeOf } from "../../src/cgroups/hierarchy.ts";
import { primeTarget } from "../../src/cgroups/prime.ts";
import { compileInit, compileRlimits } from "../../src/plan/compile.ts";
import { CLONE } from "../../src/plan/namespaces.ts";
import type { HostFacts } from "../../src/plan/types.ts";
import { testFacts, testSpec } from "./fixtures.ts";
import { MOUNT_ATTR, MS, parseMountOptions } from "../../src/plan/mounts.ts";

const spec = testSpec;
const facts = testFacts;

describe("mount options", () => {
  test("flags, clears and data", () => {
    const o = parseMountOptions(["nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k"]);
    expect(o.flags).toBe(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
    expect(o.data).toEqual(["mode=755", "size=65536k"]);
    expect(parseMountOptions(["ro", "rw"]).flags).toBe(0);
    expect(parseMountOptions(["nosuid", "suid"]).flags).toBe(0);
  });
  test("propagation is separate from flags", () => {
    const o = parseMountOptions(["rbind", "rslave"]);
    expect(o.flags).toBe(MS.BIND | MS.REC);
    expect(o.propagation).toBe(MS.SLAVE | MS.REC);
  });
  test("recursive attributes go to mount_setattr", () => {
    const o = parseMountOptions(["rro", "rnosuid", "rnoatime"]);
    expect(o.attrSet).toBe(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOATIME);
    expect(o.attrClr & MOUNT_ATTR.ATIME).toBe(MOUNT_ATTR.ATIME);
    expect(parseMountOptions(["rro", "rrw"]).attrSet).toBe(0n);
  });
  test("atime options replace each other", () => {
    expect(parseMountOptions(["noatime", "strictatime"]).flags).toBe(MS.STRICTATIME);
  });
});

describe("compileInit", () => {
  test("namespaces: new ones are unshared, cgroup is deferred, paths are joined", () => {
    const s = spec();
    s.linux!.namespaces = [
      { type: "pid" },
      { type: "network", path: "/proc/1/ns/net" },
      { type: "mount" },
      { type: "cgroup" },
      { type: "uts" },
    ];
    const p = compileInit(s, facts());
    expect(p.unshareFlags).toBe(CLONE.NEWPID | CLONE.NEWNS | CLONE.NEWUTS);
    expect(p.cgroupns).toBe(true);
    expect(p.nsJoin).toEqual([{ type: CLONE.NEWNET, path: "/proc/1/ns/net", name: "linux.namespaces[1] (network)" }]);
  });

  test("a user namespace is created with the others, or joined first of all", () => {
    const s = spec();
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(compileInit(s, facts()).unshareFlags & CLONE.NEWUSER).toBe(CLONE.NEWUSER);
    s.linux!.namespaces = [{ type: "network", path: "/proc/1/ns/net" }, { type: "mount" }, { type: "user", path: "/proc/1/ns/user" }];
    delete s.linux!.uidMappings;
    delete s.linux!.gidMappings;
    const p = compileInit(s, facts());
    expect(p.nsJoin.map((j) => j.type)).toEqual([CLONE.NEWUSER, CLONE.NEWNET]);
    expect(p.unshareFlags & CLONE.NEWUSER).toBe(0);
  });

  test("with a user namespace, v1 cgroup hierarchies are bind-mounted, never mounted afresh", () => {
    const s = spec();
    s.linux!.namespaces!.push({ type: "cgroup" }, { type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    const f = facts({ cgroups: [{ version: 1, name: "memory", controllers: ["memory"], dir: "/sys/fs/cgroup/memory/c1" }, { version: 2, name: "unified", controllers: [], dir: "/sys/fs/cgroup/unified/c1" }] });
    const cg = compileInit(s, f).mounts.filter((m) => m.target.startsWith("/sys/fs/cgroup/"));
    expect(cg.map((m) => [m.target, m.fstype || "bind"])).toEqual([
      ["/sys/fs/cgroup/memory", "bind"],
      ["/sys/fs/cgroup/unified", "cgroup2"],
    ]);
  });

  test("without a mount namespace: chroot only, nothing mounted, and a warning", () => {
    const s = spec();
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "mount");
    s.linux!.maskedPaths = [];
    s.linux!.readonlyPaths = [];
    const warnings: string[] = [];
    const p = compileInit(s, facts({ warn: (m) => warnings.push(m) }));
    expect(p.chroot).toBe(true);
    expect([p.mounts, p.devices, p.symlinks, p.remounts]).toEqual([[], [], [], []]);
    expect(p.unshareFlags & CLONE.NEWNS).toBe(0);
    expect(warnings[0]).toContain("no mount namespace");
    expect(compileInit(spec(), facts()).chroot).toBe(false);
  });

  test("time offsets are rendered as timens_offsets text", () => {
    const s = spec();
    s.linux!.namespaces!.push({ type: "time" });
    s.linux!.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } };
    const p = compileInit(s, facts());
    expect(p.unshareFlags & CLONE.NEWTIME).toBe(CLONE.NEWTIME);
    expect(p.timeOffsets).toBe("monotonic 10 5\nboottime -3 0\n");
  });

  test("bind mounts: source from the bundle, file or directory target, ro through a remount", () => {
    const s = spec();
    s.mounts = [
      { destination: "/data", type: "bind", source: "data", options: ["rbind", "ro", "nosuid"] },
      { destination: "/etc/hosts", source: "/etc/hosts", options: ["bind"] },
    ];
    const p = compileInit(s, facts({ sources: { "/b/data": "dir", "/etc/hosts": "file" } }));
    expect(p.mounts[0]).toMatchObject({
      source: "/b/data",
      target: "/data",
      flags: MS.BIND | MS.REC,
      bindRemount: MS.RDONLY | MS.NOSUID,
      mkdir: 1,
      name: "mounts[0] (/data)",
    });
    expect(p.mounts[1]).toMatchObject({ source: "/etc/hosts", flags: MS.BIND, bindRemount: 0, mkdir: 2 });
  });

  test("a missing bind source is looked at when it is mounted", () => {
    const s = spec();
    s.mounts = [{ destination: "/x", type: "bind", source: "/nope", options: ["bind"] }];
    // not there yet: the init looks when it mounts it (an earlier mount may make it)
    expect(compileInit(s, facts({ sources: { "/nope": "missing" } })).mounts[0]).toMatchObject({ source: "/nope", mkdir: 4 });
  });

  test("a read-only tmpfs is mounted writable and remounted after set-up", () => {
    const s = spec();
    s.mounts = [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "ro", "mode=755"] }];
    const p = compileInit(s, facts());
    expect(p.mounts[0]!.flags).toBe(MS.NOSUID);
    expect(p.remounts).toContainEqual({ name: "mounts[0] (/dev)", path: "/dev", flags: MS.NOSUID | MS.RDONLY });
  });

  test("root.readonly adds a read-only remount of /", () => {
    const s = spec();
    s.root = { path: "rootfs", readonly: true };
    expect(compileInit(s, facts()).remounts.at(-1)).toEqual({ name: "root.readonly", path: "/", flags: MS.BIND | MS.RDONLY });
  });

  test("default devices and /dev symlinks, unless /dev is bind-mounted", () => {
    const s = spec();
    s.linux!.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
    const p = compileInit(s, facts());
    const paths = p.devices.map((d) => d.path);
    expect(paths).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fuse"]);
    expect(p.devices.at(-1)!.mode).toBe(0o020000 | 0o600);
    expect(p.symlinks.map((l) => l.path)).toContain("/dev/ptmx");
    s.mounts!.push({ destination: "/dev", type: "bind", source: "/dev", options: ["rbind"] });
    const q = compileInit(s, facts({ sources: { "/dev": "dir" } }));
    expect(q.devices.map((d) => d.path)).toEqual(["/dev/fuse"]);
    expect(q.symlinks).toEqual([]);
  });

  test("cgroup mount on a hybrid host: a tmpfs plus one bind per hierarchy without a cgroup namespace", () => {
    const s = spec();
    s.mounts = [{ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid"] }];
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "cgroup");
    const cg: HostFacts["cgroups"] = [
      { version: 1, name: "memory", controllers: ["memory"], dir: "/sys/fs/cgroup/memory/c1" },
      { version: 2, name: "unified", controllers: [], dir: "/sys/fs/cgroup/unified/c1" },
    ];
    const p = compileInit(s, facts({ cgroups: cg }));
    expect(p.mounts.map((m) => [m.target, m.fstype, m.source])).toEqual([
      ["/sys/fs/cgroup", "tmpfs", "tmpfs"],
      ["/sys/fs/cgroup/memory", "", "/sys/fs/cgroup/memory/c1"],
      ["/sys/fs/cgroup/unified", "", "/sys/fs/cgroup/unified/c1"],
    ]);
    expect(p.mounts[1]!.bindRemount & MS.RDONLY).toBe(MS.RDONLY);
    expect(p.remounts).toContainEqual({ name: "mounts[0] (/sys/fs/cgroup)", path: "/sys/fs/cgroup", flags: MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY });
    s.linux!.namespaces!.push({ type: "cgroup" });
    const q = compileInit(s, facts({ cgroups: cg }));
    expect(q.mounts.map((m) => [m.fstype, m.data])).toEqual([["tmpfs", "mode=755"], ["cgroup", "memory"], ["cgroup2", ""]]);
  });

  test("cgroup mount on a v2-only host is one cgroup2 mount", () => {
    const s = spec();
    s.mounts = [{ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"] }];
    const p = compileInit(s, facts());
    expect(p.mounts).toHaveLength(1);
    expect(p.mounts[0]).toMatchObject({ fstype: "cgroup2", flags: MS.RDONLY });
  });

  test("rootfs propagation: shared before the binds (as runc), unbindable only after pivot_root", () => {
    const s = spec();
    s.linux!.rootfsPropagation = "rshared";
    const p = compileInit(s, facts());
    expect(p.rootPropagation).toBe(MS.SHARED | MS.REC);
    expect(p.postPropagation).toBe(MS.SHARED | MS.REC);
    s.linux!.rootfsPropagation = "private";
    expect(compileInit(s, facts()).rootPropagation).toBe(MS.PRIVATE);
    s.linux!.rootfsPropagation = "unbindable";
    expect(compileInit(s, facts()).rootPropagation).toBe(MS.SLAVE | MS.REC);
    expect(compileInit(s, facts()).postPropagation).toBe(MS.UNBINDABLE);
  });

  test("process: user, rlimits, capabilities, hooks", () => {
    const s = spec();
    s.process!.user = { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o27 };
    s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 100, hard: 2 ** 64 }];
    s.process!.capabilities = { bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"] };
    s.hooks = {
      createContainer: [{ path: "/bin/a" }],
      startContainer: [{ path: "/bin/b", args: ["b", "x"], env: ["A=1"], timeout: 3 }],
    };
    const p = compileInit(s, facts());
    expect([p.uid, p.gid, p.gids, p.umask]).toEqual([1000, 100, [5, 6], 0o27]);
    expect(compileRlimits(s)).toEqual([{ resource: 7, soft: 100n, hard: 0xffff_ffff_ffff_ffffn, name: "process.rlimits[0] (RLIMIT_NOFILE)" }]);
    expect(p.caps).toEqual({ bounding: 0b100001n, effective: 0b100000n, permitted: 0n, inheritable: 0n, ambient: 0n });
    expect(p.hooks).toEqual([
      { name: "hooks.createContainer[0]", phase: 1, path: "/bin/a", args: ["/bin/a"], env: [], inheritEnv: false, timeout: 0 },
      { name: "hooks.startContainer[0]", phase: 2, path: "/bin/b", args: ["b", "x"], env: ["A=1"], inheritEnv: false, timeout: 3 },
    ]);
  });

  test("an unknown capability is left out with one warning naming it (runc 1.2+)", () => {
    const s = spec();
    s.process!.capabilities = { bounding: ["CAP_NOPE", "CAP_KILL"], effective: ["nope"] };
    const warnings: string[] = [];
    const p = compileInit(s, facts({ warn: (m) => warnings.push(m) }));
    expect(p.caps!.bounding).toBe(1n << 5n);
    expect(warnings).toEqual(["process.capabilities: ignoring unknown or unavailable capabilities: [CAP_NOPE nope]"]);
  });
});

describe("cgroup hierarchies", () => {
  const mountinfo = [
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    "50 31 0:40 / /proc rw - proc proc rw",
  ].join("\n");
  const self = "9:name=systemd:/\n4:memory:/jobs/x\n1:cpu:/\n0::/\n";

  test("hybrid: v1 controllers plus the unified tree", () => {
    const hs = parseHierarchies(mountinfo, self);
    expect(hs.map((h) => [h.version, h.mountpoint, h.controllers.join(","), h.own])).toEqual([
      [1, "/sys/fs/cgroup/cpu", "cpu", "/"],
      [1, "/sys/fs/cgroup/memory", "memory", "/jobs/x"],
      [1, "/sys/fs/cgroup/systemd", "name=systemd", "/"],
      [2, "/sys/fs/cgroup/unified", "", "/"],
    ]);
    expect(modeOf(hs)).toBe("hybrid");
    expect(modeOf(hs.filter((h) => h.version === 2))).toBe("unified");
    expect(modeOf(hs.filter((h) => h.version === 1))).toBe("legacy");
  });

  test("container paths: absolute, relative to our own cgroup, or /<id>", () => {
    const mem = parseHierarchies(mountinfo, self)[1]!;
    expect(containerPath(mem, "/a/b", "c1")).toBe("/a/b");
    expect(containerPath(mem, "a/b", "c1")).toBe("/jobs/x/a/b");
    expect(containerPath(mem, undefined, "c1")).toBe("/c1");
    expect(containerPath(mem, "/a/../../etc", "c1")).toBe("/etc");
    expect(hostDir(mem, "/a/b")).toBe("/sys/fs/cgroup/memory/a/b");
  });

  test("the no-op move that readies the cgroup lock: our own cgroup, first v1 hierarchy, none on v2 alone", () => {
    const hs = parseHierarchies(mountinfo, "9:name=systemd:/\n4:memory:/jobs/x\n1:cpu:/system.slice/shim\n0::/\n");
    expect(primeTarget(hs)).toBe("/sys/fs/cgroup/cpu/system.slice/shim/cgroup.procs");
    expect(primeTarget(hs.slice(1))).toBe("/sys/fs/cgroup/memory/jobs/x/cgroup.procs");
    expect(primeTarget(hs.filter((h) => h.version === 2))).toBeUndefined();
    expect(primeTarget([])).toBeUndefined();
  });
});
