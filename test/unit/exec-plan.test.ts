// exec and terminals without a kernel: the process runc-style flags build, and the plan that
// joins a running container instead of making one.
import { describe, expect, test } from "bun:test";
import { execProcess } from "../../src/container/exec.ts";
import { mergeEnv } from "../../src/oci/env.ts";
import type { Process } from "../../src/oci/spec.ts";
import { validateSpec } from "../../src/oci/validate.ts";
import { compileExec, compileInit } from "../../src/plan/compile.ts";
import { CLONE } from "../../src/plan/namespaces.ts";
import { execFacts, testFacts, testSpec } from "./fixtures.ts";

const flags = (over: Partial<Parameters<typeof execProcess>[1]> = {}) => ({
  args: ["sh"],
  tty: false,
  env: [],
  additionalGids: [],
  caps: [],
  ...over,
});

const base = (): Process => ({
  terminal: true,
  consoleSize: { height: 10, width: 20 },
  cwd: "/",
  args: ["init"],
  env: ["PATH=/bin", "A=1"],
  user: { uid: 5, gid: 6, additionalGids: [7] },
  capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
});

describe("the exec process", () => {
  test("env: a later value of a name replaces it in place; new names go at the end", () => {
    expect(mergeEnv(["PATH=/bin", "A=1", "B=2"], ["A=9", "C=3", "A=10"])).toEqual(["PATH=/bin", "A=10", "B=2", "C=3"]);
    expect(mergeEnv([], ["X"])).toEqual(["X"]);
  });

  test("the container's process with the command line's changes", () => {
    const p = execProcess(base(), flags({ args: ["ls", "-l"], env: ["A=2"], cwd: "/tmp" }));
    expect(p.args).toEqual(["ls", "-l"]);
    expect(p.env).toEqual(["PATH=/bin", "A=2"]);
    expect(p.cwd).toBe("/tmp");
    // runc: a terminal only with --tty, whatever the container's own process had
    expect(p.terminal).toBe(false);
    expect(p.consoleSize).toBeUndefined();
    expect(p.user).toEqual({ uid: 5, gid: 6, additionalGids: [7] });
  });

  test("--user UID keeps the gid, UID:GID sets both; -g replaces the additional groups", () => {
    expect(execProcess(base(), flags({ user: "1000" })).user).toEqual({ uid: 1000, gid: 6, additionalGids: [7] });
    expect(execProcess(base(), flags({ user: "1000:2000" })).user).toEqual({ uid: 1000, gid: 2000, additionalGids: [7] });
    expect(execProcess(base(), flags({ additionalGids: ["10,11", "12"] })).user!.additionalGids).toEqual([10, 11, 12]);
    expect(() => execProcess(base(), flags({ user: "root" }))).toThrow('--user: must be a number, got "root"');
    expect(() => execProcess(base(), flags({ user: "1:2:3" }))).toThrow("--user: want UID[:GID]");
  });

  test("--cap adds to bounding, effective and permitted; to ambient only with inheritable ones", () => {
    const p = execProcess(base(), flags({ caps: ["net_admin", "CAP_KILL"] }));
    expect(p.capabilities!.bounding).toEqual(["CAP_KILL", "CAP_NET_ADMIN"]);
    expect(p.capabilities!.effective).toEqual(["CAP_KILL", "CAP_NET_ADMIN"]);
    expect(p.capabilities!.ambient).toBeUndefined();
    const b = base();
    b.capabilities!.inheritable = ["CAP_KILL"];
    expect(execProcess(b, flags({ caps: ["CAP_NET_RAW"] })).capabilities!.ambient).toEqual(["CAP_NET_RAW"]);
  });

  test("--no-new-privs, --apparmor and --process-label; the base is not changed", () => {
    const b = base();
    const p = execProcess(b, flags({ noNewPrivs: true, apparmor: "prof", processLabel: "lbl", env: ["Z=1"] }));
    expect([p.noNewPrivileges, p.apparmorProfile, p.selinuxLabel]).toEqual([true, "prof", "lbl"]);
    expect(b.env).toEqual(["PATH=/bin", "A=1"]);
  });

  test("a command is required without --process", () => {
    expect(() => execProcess(base(), flags({ args: [] }))).toThrow("exec: requires a command");
  });

  test("processOnly validation checks the process and nothing else", () => {
    const s = testSpec() as any;
    s.mounts = [{ type: "tmpfs" }]; // no destination: would fail a full validation
    expect(() => validateSpec(structuredClone(s), { bundle: "/b" })).toThrow(/mounts\[0\]/);
    expect(() => validateSpec(structuredClone(s), { bundle: "/b", processOnly: true })).not.toThrow();
    s.process.cwd = "rel";
    expect(() => validateSpec(s, { bundle: "/b", processOnly: true })).toThrow("config.json: process.cwd: must be absolute");
  });
});

describe("the exec plan", () => {
  const spec = () => {
    const s = testSpec();
    s.hostname = "h";
    s.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    s.hooks = { createContainer: [{ path: "/bin/true" }], startContainer: [{ path: "/bin/true" }] };
    return s;
  };

  test("joins the init's namespaces, user first and mount last, and sets nothing up", () => {
    const s = spec();
    s.linux!.namespaces!.push({ type: "cgroup" });
    const p = compileExec(s, execFacts({ pid: 42, helperWaits: true }));
    expect(p.nsJoin.map((j) => j.path)).toEqual(
      ["ipc", "uts", "net", "pid", "cgroup", "mnt"].map((n) => `/proc/42/ns/${n}`),
    );
    expect(p.nsJoin.at(-1)!.type).toBe(CLONE.NEWNS);
    expect([p.unshareFlags, p.cgroupns]).toEqual([0, false]);
    expect([p.mounts, p.devices, p.symlinks, p.remounts, p.masked, p.readonly, p.sysctls, p.hooks]).toEqual([[], [], [], [], [], [], [], []]);
    expect([p.rootfs, p.hostname, p.fifo, p.helperWaits]).toEqual(["", undefined, undefined, true]);
  });

  test("setgroups: skipped when the container's user namespace denies it, as the host says", () => {
    const s = spec();
    expect(compileExec(s, execFacts({ pid: 7, setgroupsDenied: true })).noSetgroups).toBe(true);
    expect(compileExec(s, execFacts({ pid: 7 })).noSetgroups).toBe(false);
  });

  test("without a mount namespace: chroot into the init's root", () => {
    const s = spec();
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "mount");
    const p = compileExec(s, execFacts({ pid: 7 }));
    expect([p.rootfs, p.chroot]).toEqual(["/proc/7/root", true]);
    expect(p.nsJoin.some((j) => j.path.endsWith("/mnt"))).toBe(false);
  });

  test("a terminal: the console fd and size; /dev/console only for the init", () => {
    const s = spec();
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 24, width: 80 };
    const init = compileInit(s, testFacts({ consoleFd: 4 }));
    expect([init.consoleFd, init.consoleRows, init.consoleCols, init.devConsole]).toEqual([4, 24, 80, true]);
    const exec = compileExec(s, execFacts({ consoleFd: 5, pid: 1 }));
    expect([exec.consoleFd, exec.devConsole]).toEqual([5, false]);
    expect(() => compileInit(s, testFacts())).toThrow("process.terminal: a terminal needs a console socket");
    s.process!.terminal = false;
    const none = compileInit(s, testFacts({ consoleFd: 4 }));
    expect([none.consoleFd, none.consoleRows, none.devConsole]).toEqual([undefined, 0, false]);
  });
});

describe("options clients rely on", () => {
  test("tmpcopyup is a plan flag for tmpfs, not mount data; elsewhere it is refused", () => {
    const s = testSpec();
    s.mounts = [{ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "rprivate", "nosuid", "tmpcopyup"] }];
    const m = compileInit(s, testFacts()).mounts.find((x) => x.target === "/run")!;
    expect([m.copyUp, m.data]).toEqual([true, ""]);
    s.mounts = [{ destination: "/x", type: "proc", source: "proc", options: ["tmpcopyup"] }];
    expect(() => compileInit(s, testFacts())).toThrow("config.json: mounts[0].options: tmpcopyup: only for a mount of type tmpfs");
  });

  test("a new network namespace asks for lo up; a joined one or none does not", () => {
    const s = testSpec();
    expect(compileInit(s, testFacts()).loopback).toBe(true);
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: "/proc/1/ns/net" } : n));
    expect(compileInit(s, testFacts()).loopback).toBe(false);
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "network");
    expect(compileInit(s, testFacts()).loopback).toBe(false);
  });
});
