import { expect, test, describe } from "bun:test";
import { defaultSpec } from "../../src/oci/defaults.ts";
import { features, MOUNT_OPTIONS, RUNJS_VERSION } from "../../src/features.ts";
import { CAPABILITY_NAMES } from "../../src/oci/capabilities.ts";
import { validateSpec } from "../../src/oci/validate.ts";
import pkg from "../../package.json";

const OPTS = { bundle: "/b" };

describe("defaultSpec", () => {
  const s = defaultSpec();

  test("process", () => {
    expect(s.ociVersion).toBe("1.3.0");
    expect(s.process).toMatchObject({
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      cwd: "/",
      noNewPrivileges: true,
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    });
    expect(s.process!.env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm",
    ]);
    const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    expect(s.process!.capabilities).toEqual({ bounding: caps, effective: caps, permitted: caps });
  });

  test("root, hostname", () => {
    expect(s.root).toEqual({ path: "rootfs", readonly: true });
    expect(s.hostname).toBe("runjs");
  });

  test("mounts", () => {
    expect(s.mounts!.map((m) => `${m.destination} ${m.type}`)).toEqual([
      "/proc proc",
      "/dev tmpfs",
      "/dev/pts devpts",
      "/dev/shm tmpfs",
      "/dev/mqueue mqueue",
      "/sys sysfs",
      "/sys/fs/cgroup cgroup",
    ]);
    expect(s.mounts!.at(-1)!.options).toContain("ro");
  });

  test("linux", () => {
    expect(s.linux!.namespaces!.map((n) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(s.linux!.maskedPaths).toContain("/proc/kcore");
    expect(s.linux!.readonlyPaths).toContain("/proc/sys");
    expect(s.linux!.resources).toEqual({ devices: [{ allow: false, access: "rwm" }] });
    expect(s.linux!.uidMappings).toBeUndefined();
  });

  test("each call returns a fresh object", () => {
    const a = defaultSpec();
    a.process!.capabilities!.bounding!.push("CAP_SYS_ADMIN");
    a.mounts![1]!.options!.push("x");
    const b = defaultSpec();
    expect(b.process!.capabilities!.bounding).toHaveLength(3);
    expect(b.mounts![1]!.options).not.toContain("x");
  });

  test("round-trips through JSON and validates", () => {
    expect(() => validateSpec(JSON.parse(JSON.stringify(defaultSpec())), OPTS)).not.toThrow();
  });
});

describe("defaultSpec rootless", () => {
  const s = defaultSpec({ rootless: true, uid: 1000, gid: 100 });

  test("user namespace and mappings for the given ids, no network namespace", () => {
    const types = s.linux!.namespaces!.map((n) => n.type);
    expect(types).toContain("user");
    expect(types).not.toContain("network");
    expect(s.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(s.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 100, size: 1 }]);
  });

  test("/sys is a read-only rbind, no cgroup mount, no gid= option, no resources", () => {
    const sys = s.mounts!.find((m) => m.destination === "/sys")!;
    expect(sys).toEqual({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
    expect(s.mounts!.some((m) => m.type === "cgroup")).toBe(false);
    const pts = s.mounts!.find((m) => m.destination === "/dev/pts")!;
    expect(pts.options!.some((o) => o.startsWith("gid="))).toBe(false);
    expect(s.linux!.resources).toBeUndefined();
  });

  test("defaults to the effective ids", () => {
    const d = defaultSpec({ rootless: true });
    expect(d.linux!.uidMappings![0]!.hostID).toBe(process.geteuid!());
    expect(d.linux!.gidMappings![0]!.hostID).toBe(process.getegid!());
  });

  test("validates", () => {
    expect(() => validateSpec(s, OPTS)).not.toThrow();
  });
});

describe("features", () => {
  const f = features();

  test("versions", () => {
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.ociVersionMax).toBe("1.3.0");
  });

  test("hooks", () => {
    expect(f.hooks).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
  });

  test("mount options are sorted, unique, and include the spec's MUST options", () => {
    const opts = f.mountOptions!;
    expect([...opts].sort()).toEqual(opts);
    expect(new Set(opts).size).toBe(opts.length);
    for (const o of ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate", "rslave", "remount"]) {
      expect(opts).toContain(o);
    }
    expect(opts).toEqual([...MOUNT_OPTIONS]);
    for (const o of ["tmpcopyup", "idmap", "ridmap"]) expect(opts).toContain(o); // handled by the planner itself
  });

  test("linux", () => {
    const l = f.linux!;
    expect(l.namespaces).toEqual(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]);
    expect(l.capabilities![0]).toBe("CAP_CHOWN");
    expect(l.capabilities!.at(-1)).toBe("CAP_CHECKPOINT_RESTORE");
    expect(l.capabilities).toEqual([...CAPABILITY_NAMES]);
    expect(l.capabilities).toHaveLength(41);
    expect(l.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: true, rdma: true });
    expect(l.seccomp!.enabled).toBe(true);
    expect(l.seccomp!.actions).toContain("SCMP_ACT_ERRNO");
    expect(l.seccomp!.actions).toContain("SCMP_ACT_NOTIFY");
    expect(l.seccomp!.supportedFlags).toContain("SECCOMP_FILTER_FLAG_LOG");
    expect(l.apparmor).toEqual({ enabled: true });
    expect(l.selinux).toEqual({ enabled: true });
    expect(l.intelRdt).toEqual({ enabled: false });
    expect(l.mountExtensions).toEqual({ idmap: { enabled: true } });
  });

  test("annotations carry the runjs version", () => {
    expect(f.annotations).toEqual({ "run.oci.runjs.version": pkg.version });
    expect(RUNJS_VERSION).toBe(pkg.version);
  });

  test("only fields features.md defines, and JSON-serializable", () => {
    expect(Object.keys(f).sort()).toEqual(["annotations", "hooks", "linux", "mountOptions", "ociVersionMax", "ociVersionMin"]);
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
  });

  test("callers cannot corrupt the next result", () => {
    features().hooks!.push("x");
    features().linux!.capabilities!.pop();
    expect(features()).toEqual(f);
  });
});
