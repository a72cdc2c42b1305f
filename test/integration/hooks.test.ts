// Hooks: each runs at its point of the lifecycle, in its namespace, with the state on stdin.
import { afterAll, afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, newEnv, removeCgroupParent } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

/** A hook script that appends "<name> <status> <id> <mnt-ns> <hostname>" to a log. */
function hookScript(dir: string): string {
  const p = join(dir, "hook.sh");
  writeFileSync(
    p,
    `#!/bin/sh\nstate=$(cat)\nstatus=$(echo "$state" | sed -n 's/.*"status":"\\([a-z]*\\)".*/\\1/p')\nid=$(echo "$state" | sed -n 's/.*"id":"\\([^"]*\\)".*/\\1/p')\necho "$1 $status $id $(readlink /proc/self/ns/mnt) $(cat /proc/sys/kernel/hostname) $HOOKVAR" >> "$2"\n`,
  );
  chmodSync(p, 0o755);
  return p;
}

test("hooks run in order, in the right namespaces, with the state on stdin", () => {
  const env = newEnv(["sh", "-c", "echo program >> /hooklog/log"]);
  env.spec.root!.readonly = false;
  env.spec.hostname = "inbox";
  const logDir = join(env.dir, "logs");
  Bun.spawnSync(["mkdir", "-p", logDir]);
  const log = join(logDir, "log");
  const script = hookScript(env.dir);
  // startContainer runs inside the container: its path and the log must exist there too.
  Bun.spawnSync(["cp", script, join(env.bundle, "rootfs/hook.sh")]);
  env.spec.mounts!.push({ destination: "/hooklog", type: "bind", source: logDir, options: ["rbind"] });
  const h = (name: string, path = script, file = log) => [{ path, args: ["hook.sh", name, file], env: ["HOOKVAR=v1"] }];
  env.spec.hooks = {
    prestart: h("prestart"),
    createRuntime: h("createRuntime"),
    createContainer: h("createContainer"),
    startContainer: h("startContainer", "/hook.sh", "/hooklog/log"),
    poststart: h("poststart"),
    poststop: h("poststop"),
  };
  env.write();
  const r = env.runjs(["run", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const hostMnt = Bun.spawnSync(["readlink", "/proc/self/ns/mnt"]).stdout.toString().trim();
  const hostName = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" "));
  // poststart may run while the program runs: only the program's place after startContainer is fixed
  const names = lines.map((l) => l[0]);
  expect(names.filter((n) => n !== "program")).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
  expect(names.indexOf("program")).toBeGreaterThan(names.indexOf("startContainer"));
  const by = Object.fromEntries(lines.map((l) => [l[0], l]));
  for (const n of ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]) {
    expect(by[n]![2]).toBe(env.id);
    expect(by[n]![5]).toBe("v1");
  }
  expect(by.prestart![1]).toBe("created");
  expect(by.createRuntime![1]).toBe("creating");
  expect(by.createContainer![1]).toBe("creating");
  expect(by.startContainer![1]).toBe("created");
  expect(by.poststart![1]).toBe("running");
  expect(by.poststop![1]).toBe("stopped");
  // runtime-namespace hooks see the host; container-namespace hooks see the container
  for (const n of ["prestart", "createRuntime", "poststart", "poststop"]) {
    expect(by[n]![3]).toBe(hostMnt);
    expect(by[n]![4]).toBe(hostName);
  }
  // createContainer runs before pivot_root and the hostname, startContainer just before the program
  expect(by.createContainer![3]).not.toBe(hostMnt);
  expect(by.startContainer![3]).not.toBe(hostMnt);
  expect(by.startContainer![4]).toBe("inbox");
});

test("a failing createRuntime hook fails create and leaves nothing", () => {
  const env = newEnv(["true"]);
  env.spec.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "echo nope >&2; exit 3"] }] };
  env.write();
  const r = env.runjs(["create", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("hooks.createRuntime[0]: error running createRuntime hook #0: /bin/sh: exited with status 3: nope");
  expect(existsSync(join(env.root, env.id))).toBe(false);
});

test("a failing createContainer hook fails create", () => {
  const env = newEnv(["true"]);
  env.spec.hooks = { createContainer: [{ path: "/bin/false" }] };
  env.write();
  const r = env.runjs(["create", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("hooks.createContainer[0]");
  expect(existsSync(join(env.root, env.id))).toBe(false);
});

test("a hook that outlives its timeout fails", () => {
  const env = newEnv(["true"]);
  env.spec.hooks = { prestart: [{ path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }] };
  env.write();
  const t = Date.now();
  const r = env.runjs(["create", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("hooks.prestart[0]: error running prestart hook #0: /bin/sleep: timed out after 1s");
  expect(Date.now() - t).toBeLessThan(8000);
});

test("a failing poststop hook only warns", () => {
  const env = newEnv(["true"]);
  env.spec.hooks = { poststop: [{ path: "/bin/false" }] };
  env.write();
  const r = env.runjs(["run", env.id]);
  expect(r.code).toBe(0);
  expect(r.err).toContain("warning: hooks.poststop[0]: error running poststop hook #0");
});

test("a failing poststart hook stops the container and fails start (runc's rule); run removes it", () => {
  const env = newEnv(["sleep", "1000"]);
  env.spec.hooks = { poststart: [{ path: "/bin/true" }, { path: "/bin/false" }] };
  env.write();
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const r = env.runjs(["start", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("error running poststart hook #1: /bin/false: exited with status 1");
  for (let i = 0; i < 200 && !env.runjs(["state", env.id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
  expect(JSON.parse(env.runjs(["state", env.id]).out).status).toBe("stopped");
  expect(env.runjs(["delete", env.id]).code).toBe(0);
  const run = env.runjs(["run", env.id]);
  expect(run.code).toBe(1);
  expect(existsSync(join(env.root, env.id))).toBe(false);
});

test("a failing startContainer hook makes start fail; poststart never runs before the program", () => {
  const env = newEnv(["true"]);
  env.spec.hooks = { startContainer: [{ path: "/bin/false" }], poststart: [{ path: "/bin/sh", args: ["sh", "-c", "echo ran > /dev/stderr"] }] };
  env.write();
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const r = env.runjs(["start", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("container init failed to start: hooks.startContainer[0]: hook /bin/false: error running startContainer hook #0: exited with status 1");
  expect(r.err).not.toContain("ran");
});
