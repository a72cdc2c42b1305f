// Bad input and faults: clear errors, non-zero exits, and nothing left behind.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsOf, cleanupAll, newEnv, removeCgroupParent, RUNJS, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

/** Processes whose root directory is in the bundle: the container's. */
function containerProcs(env: Env): string[] {
  return readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readlinkSync(`/proc/${p}/root`).startsWith(env.bundle);
    } catch {
      return false;
    }
  });
}

/** Nothing of the container remains: no state directory, cgroup, mount or process. */
function nothingLeft(env: Env) {
  expect(existsSync(join(env.root, env.id))).toBe(false);
  expect(cgroupDirsOf(env.id)).toEqual([]);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(env.bundle);
  expect(containerProcs(env)).toEqual([]);
}

function fails(env: Env, message: string | RegExp, args = ["run", env.id]) {
  env.write();
  const r = env.runjs(args);
  expect(r.code).toBe(1);
  if (typeof message === "string") expect(r.err).toContain(message);
  else expect(r.err).toMatch(message);
  nothingLeft(env);
}

test("config.json errors name the field", () => {
  const cases: [(e: Env) => void, string][] = [
    [(e) => (e.spec.process!.cwd = "tmp"), "config.json: process.cwd: must be absolute"],
    [(e) => (e.spec.ociVersion = "2.0.0"), "config.json: ociVersion: unsupported version 2.0.0"],
    [(e) => e.spec.process!.rlimits!.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }), "config.json: process.rlimits[1]"],
    [(e) => (e.spec.process!.rlimits![0]!.type = "RLIMIT_BOGUS" as any), "config.json: process.rlimits[0].type"],
    [(e) => e.spec.linux!.namespaces!.push({ type: "pid" }), "config.json: linux.namespaces[5]"],
    [(e) => (e.spec.hooks = { prestart: [{ path: "relative/hook" }] }), "config.json: hooks.prestart[0].path: must be absolute"],
    [(e) => ((e.spec.process!.capabilities as any).bounding = [7]), "config.json: process.capabilities.bounding[0]: must be a string"],
    [(e) => (e.spec.mounts![0]!.destination = "proc"), ""],
  ];
  for (const [mutate, msg] of cases.slice(0, 7)) {
    const env = newEnv();
    mutate(env);
    fails(env, msg);
  }
});

test("a missing or unreadable config.json", () => {
  const env = newEnv();
  const r = env.runjs(["run", "--bundle", join(env.dir, "nowhere"), env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("config.json: cannot read");
  nothingLeft(env);
  Bun.write(join(env.bundle, "config.json"), "{ not json");
  const r2 = env.runjs(["run", env.id]);
  expect(r2.code).toBe(1);
  expect(r2.err).toContain("config.json: invalid JSON");
});

test("a cwd that cannot be entered fails create and cleans up", () => {
  const env = newEnv();
  env.spec.process!.cwd = "/does/not/exist";
  fails(env, /process\.cwd: chdir \/does\/not\/exist: no such file or directory/, ["create", env.id]);
});

test("an executable that is not there fails create, naming it", () => {
  const env = newEnv(["/bin/nope"]);
  fails(env, /process\.args: exec \/bin\/nope: no such file/, ["create", env.id]);
  const env2 = newEnv(["nope-in-path"]);
  fails(env2, /executable file not found in \$PATH/, ["create", env2.id]);
});

test("a mount that fails names the mount and cleans up", () => {
  const env = newEnv();
  env.spec.mounts!.push({ destination: "/bad", type: "nosuchfs", source: "x", options: [] });
  fails(env, /mounts\[\d+\] \(\/bad\): mount/, ["create", env.id]);
});

test("a hard rlimit above ours fails with the rlimit named", () => {
  const env = newEnv();
  env.spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1 << 30 }];
  fails(env, /process\.rlimits\[0\] \(RLIMIT_NOFILE\): prlimit/, ["create", env.id]);
});

test("invalid container ids are refused before any file is touched", () => {
  const env = newEnv();
  for (const id of ["../escape", "a/b", "..", ".", "", "x".repeat(2000), "sp ace"]) {
    const r = env.runjs(["create", id]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/invalid container id|requires a container id|container id cannot be empty/);
  }
  expect(existsSync(env.root)).toBe(false);
  expect(existsSync(join(env.dir, "escape"))).toBe(false);
});

test("creating an id that exists fails and leaves the existing container alone", () => {
  const env = newEnv(["sleep", "100"]);
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const before = JSON.parse(env.runjs(["state", env.id]).out);
  const r = env.runjs(["create", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain(`container with id exists: ${env.id}`);
  const after = JSON.parse(env.runjs(["state", env.id]).out);
  expect(after).toEqual(before);
  expect(after.status).toBe("created");
});

test("twenty concurrent creates of one id: exactly one wins", async () => {
  const env = newEnv(["sleep", "100"]);
  const procs = Array.from({ length: 20 }, () =>
    Bun.spawn([RUNJS, "--root", env.root, "create", env.id], { cwd: env.bundle, stdio: ["ignore", "ignore", "pipe"] }),
  );
  const codes = await Promise.all(procs.map((p) => p.exited));
  expect(codes.filter((c) => c === 0)).toHaveLength(1);
  for (const [i, p] of procs.entries())
    if (codes[i] !== 0) expect(await new Response(p.stderr).text()).toContain("container with id exists");
  expect(JSON.parse(env.runjs(["state", env.id]).out).status).toBe("created");
  expect(readdirSync(env.root)).toEqual([env.id]);
  expect(env.runjs(["delete", env.id]).code).toBe(0);
  nothingLeft(env);
});

test("runjs killed with SIGKILL during create: delete --force cleans everything", async () => {
  // Kill at a spread of moments through create; whatever state is left, delete --force removes it.
  for (const delay of [0, 2, 5, 10, 15, 20, 30, 45]) {
    const env = newEnv(["sleep", "100"]);
    env.spec.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "0.02"] }] };
    env.write();
    const p = Bun.spawn([RUNJS, "--root", env.root, "create", env.id], { cwd: env.bundle, stdio: ["ignore", "ignore", "ignore"] });
    Bun.sleepSync(delay);
    p.kill("SIGKILL");
    await p.exited;
    if (existsSync(join(env.root, env.id))) {
      const r = env.runjs(["delete", "--force", env.id]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
    }
    // an init that was never placed exits on its own when it reads EOF: give it a moment
    for (let i = 0; i < 200 && containerProcs(env).length; i++) Bun.sleepSync(10);
    nothingLeft(env);
  }
});

test("commands on a container that does not exist", () => {
  const env = newEnv();
  for (const args of [["start", "nope"], ["state", "nope"], ["kill", "nope"], ["delete", "nope"]]) {
    const r = env.runjs(args);
    expect(r.code).toBe(1);
    expect(r.err).toContain("container does not exist: nope");
  }
  expect(env.runjs(["delete", "--force", "nope"]).code).toBe(0);
});

test("unknown commands and flags, and not-yet-supported verbs, are errors", () => {
  const env = newEnv();
  expect(env.runjs(["frobnicate"]).err).toContain('unknown command "frobnicate"');
  expect(env.runjs(["create", "--bogus", "x"]).err).toContain("flag provided but not defined: --bogus");
  const e = env.runjs(["checkpoint", "x"]);
  expect(e.code).toBe(1);
  expect(e.err).toContain("checkpoint: not supported yet");
});

// This host's PID 1 is not systemd; test/vm/systemd.sh runs the driver where it is.
test.skipIf(existsSync("/run/systemd/private"))("--systemd-cgroup without systemd, or with a malformed cgroupsPath: a clear error, nothing left", () => {
  let env = newEnv();
  env.spec.linux!.cgroupsPath = `system.slice:runjs-test:${env.id}`;
  fails(env, /^runjs: --systemd-cgroup: no systemd manager reachable \(\/run\/systemd\/private, and the system bus: /, ["--systemd-cgroup", "run", env.id]);
  for (const [path, msg] of [
    ["/runjs-test/x", 'linux.cgroupsPath: expected "slice:prefix:name" for the systemd cgroup driver, got "/runjs-test/x"'],
    ["system:runjs:x", 'linux.cgroupsPath: invalid slice name "system": a slice name ends in ".slice"'],
    ["a--b.slice:runjs:x", 'linux.cgroupsPath: invalid slice name "a--b.slice": "-" separates non-empty parts'],
    ["system.slice:runjs:", 'linux.cgroupsPath: "system.slice:runjs:": the name (after the second ":") is empty'],
  ]) {
    env = newEnv();
    env.spec.linux!.cgroupsPath = path;
    fails(env, msg!, ["--systemd-cgroup", "run", env.id]);
  }
});

test("--log with --log-format json writes runc-style JSON lines", () => {
  const env = newEnv();
  const log = join(env.dir, "log.json");
  const r = env.runjs(["--log", log, "--log-format", "json", "state", "nope"]);
  expect(r.code).toBe(1);
  const line = JSON.parse(readFileSync(log, "utf8").trim().split("\n").at(-1)!);
  expect(line.level).toBe("error");
  expect(line.msg).toContain("container does not exist");
  expect(typeof line.time).toBe("string");
});
