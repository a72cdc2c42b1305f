// create / start / state / kill / delete / run against real containers.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { CGROUP_PARENT, cgroupDirsOf, cleanupAll, newEnv, removeCgroupParent, RUNJS } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

function state(env: ReturnType<typeof newEnv>) {
  const r = env.runjs(["state", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
}

test("create leaves the init waiting; start runs the program; delete removes everything", () => {
  const env = newEnv();
  // The program writes a marker into a bind-mounted host directory: it must not exist before start.
  const shared = join(env.dir, "shared");
  Bun.spawnSync(["mkdir", "-p", shared]);
  env.spec.mounts!.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] });
  env.spec.process!.args = ["sh", "-c", "echo started > /shared/marker; sleep 30"];
  env.write();

  const c = env.runjs(["create", env.id]);
  expect(c.err).toBe("");
  expect(c.code).toBe(0);
  const s1 = state(env);
  expect(s1.status).toBe("created");
  expect(s1.id).toBe(env.id);
  expect(s1.pid).toBeGreaterThan(1);
  expect(s1.bundle).toBe(env.bundle);
  expect(s1.ociVersion).toBe("1.3.0");
  Bun.sleepSync(100);
  expect(existsSync(join(shared, "marker"))).toBe(false);
  expect(cgroupDirsOf(env.id).length).toBeGreaterThan(0);

  expect(env.runjs(["start", env.id]).code).toBe(0);
  const marker = () => (existsSync(join(shared, "marker")) ? readFileSync(join(shared, "marker"), "utf8") : "");
  for (let i = 0; i < 200 && marker() !== "started\n"; i++) Bun.sleepSync(10);
  expect(readFileSync(join(shared, "marker"), "utf8")).toBe("started\n");
  expect(state(env).status).toBe("running");

  // start twice is an error
  const again = env.runjs(["start", env.id]);
  expect(again.code).not.toBe(0);
  expect(again.err).toContain("running");

  // delete without --force refuses a running container
  const del = env.runjs(["delete", env.id]);
  expect(del.code).not.toBe(0);
  expect(del.err).toContain("not stopped");

  expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
  for (let i = 0; i < 100 && state(env).status !== "stopped"; i++) Bun.sleepSync(10);
  const s3 = state(env);
  expect(s3.status).toBe("stopped");
  expect(s3.pid).toBe(0);

  expect(env.runjs(["delete", env.id]).code).toBe(0);
  expect(existsSync(join(env.root, env.id))).toBe(false);
  expect(cgroupDirsOf(env.id)).toEqual([]);
  const gone = env.runjs(["state", env.id]);
  expect(gone.code).toBe(1);
  expect(gone.err).toContain("does not exist");
});

test("delete removes the container's cgroup even when it was there before create, as runc does", () => {
  const env = newEnv(["true"]);
  const made = hostHierarchies().map((h) => `${h.mountpoint}${CGROUP_PARENT}/${env.id}`);
  for (const d of made) mkdirSync(d, { recursive: true });
  try {
    expect(cgroupDirsOf(env.id).length).toBe(made.length);
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  } finally {
    for (const d of made.filter((d) => existsSync(d))) rmdirSync(d); // made by the test: gone even if it fails
  }
});

test("run attached passes stdio through and returns the exit status", () => {
  const env = newEnv(["sh", "-c", "read x; echo got:$x; echo oops >&2; exit 7"]);
  const r = env.runjs(["run", env.id], { stdin: new TextEncoder().encode("hello\n") });
  expect(r.out).toBe("got:hello\n");
  expect(r.err).toBe("oops\n");
  expect(r.code).toBe(7);
  expect(existsSync(join(env.root, env.id))).toBe(false);
  expect(cgroupDirsOf(env.id)).toEqual([]);
});

test("run: a container killed by a signal exits 128+N", async () => {
  const env = newEnv(["sleep", "100"]);
  const p = Bun.spawn([RUNJS, "--root", env.root, "run", env.id], { cwd: env.bundle, stdio: ["ignore", "ignore", "ignore"] });
  for (let i = 0; i < 200 && env.runjs(["state", env.id]).out.indexOf('"running"') < 0; i++) Bun.sleepSync(10);
  expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
  expect(await p.exited).toBe(137);
});

test("run forwards signals it receives to the container", async () => {
  const env = newEnv(["sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"]);
  const p = Bun.spawn([RUNJS, "--root", env.root, "run", env.id], { cwd: env.bundle, stdio: ["ignore", "ignore", "ignore"] });
  for (let i = 0; i < 200 && env.runjs(["state", env.id]).out.indexOf('"running"') < 0; i++) Bun.sleepSync(10);
  Bun.sleepSync(50);
  p.kill("SIGTERM");
  expect(await p.exited).toBe(42);
});

test("run forwards INT, HUP, QUIT, USR1 and USR2 as well", async () => {
  const sigs = { INT: 11, HUP: 12, QUIT: 13, USR1: 14, USR2: 15 } as const;
  const env = newEnv();
  env.spec.root!.readonly = false;
  for (const [sig, code] of Object.entries(sigs)) {
    env.spec.process!.args = ["sh", "-c", `trap 'exit ${code}' ${sig}; touch /tmp/ready; while true; do sleep 0.05; done`];
    env.write();
    const ready = join(env.bundle, "rootfs/tmp/ready");
    rmSync(ready, { force: true });
    const p = Bun.spawn([RUNJS, "--root", env.root, "run", env.id], { cwd: env.bundle, stdio: ["ignore", "ignore", "ignore"] });
    for (let i = 0; i < 300 && !existsSync(ready); i++) Bun.sleepSync(10);
    p.kill(`SIG${sig}` as any);
    expect(`${sig}: ${await p.exited}`).toBe(`${sig}: ${code}`);
  }
});

test("run --detach, then kill --all and delete --force", () => {
  const env = newEnv(["sh", "-c", "sleep 100 & sleep 100"]);
  const r = env.runjs(["run", "-d", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(state(env).status).toBe("running");
  expect(env.runjs(["kill", "--all", env.id, "9"]).code).toBe(0);
  for (let i = 0; i < 100 && state(env).status !== "stopped"; i++) Bun.sleepSync(10);
  expect(state(env).status).toBe("stopped");
  expect(env.runjs(["delete", "--force", env.id]).code).toBe(0);
  expect(cgroupDirsOf(env.id)).toEqual([]);
});

test("delete --force kills a running container", () => {
  const env = newEnv(["sleep", "100"]);
  expect(env.runjs(["run", "-d", env.id]).code).toBe(0);
  const pid = state(env).pid;
  expect(env.runjs(["delete", "--force", env.id]).code).toBe(0);
  expect(existsSync(`/proc/${pid}/stat`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))).toBe(false);
  expect(existsSync(join(env.root, env.id))).toBe(false);
  expect(cgroupDirsOf(env.id)).toEqual([]);
});

test("delete of a created container kills its init", () => {
  const env = newEnv(["true"]);
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const pid = state(env).pid;
  expect(env.runjs(["delete", env.id]).code).toBe(0);
  expect(existsSync(`/proc/${pid}/stat`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))).toBe(false);
  expect(cgroupDirsOf(env.id)).toEqual([]);
});

test("list shows containers in table, json and quiet form", () => {
  const env = newEnv(["sleep", "100"]);
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const t = env.runjs(["list"]);
  expect(t.out.split("\n")[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
  expect(t.out).toContain(env.id);
  expect(t.out).toContain("created");
  const j = JSON.parse(env.runjs(["list", "--format", "json"]).out);
  expect(j).toHaveLength(1);
  expect(j[0].id).toBe(env.id);
  expect(j[0].status).toBe("created");
  expect(env.runjs(["list", "-q"]).out).toBe(env.id + "\n");
});

test("kill accepts names and numbers, and refuses a stopped container", () => {
  // As PID 1 of its namespace, the shell gets only signals it has a handler for.
  const env = newEnv(["sh", "-c", "trap 'exit 3' USR1; while true; do sleep 0.05; done"]);
  expect(env.runjs(["run", "-d", env.id]).code).toBe(0);
  Bun.sleepSync(50);
  expect(env.runjs(["kill", env.id, "SIGUSR1"]).code).toBe(0);
  for (let i = 0; i < 100 && state(env).status !== "stopped"; i++) Bun.sleepSync(10);
  expect(state(env).status).toBe("stopped");
  const r = env.runjs(["kill", env.id, "TERM"]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("not running");
  const bad = env.runjs(["kill", env.id, "NOPE"]);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain("invalid signal");
});

test("--pid-file holds the init's pid", () => {
  const env = newEnv(["sleep", "100"]);
  const pf = join(env.dir, "pid");
  expect(env.runjs(["create", "--pid-file", pf, env.id]).code).toBe(0);
  expect(Number(readFileSync(pf, "utf8"))).toBe(state(env).pid);
});

test("--preserve-fds passes extra descriptors to the container", () => {
  const env = newEnv(["sh", "-c", "cat <&3"]);
  const file = join(env.dir, "fd3");
  Bun.write(file, "through fd 3\n");
  const r = Bun.spawnSync(["sh", "-c", `exec 3<${file}; exec ${RUNJS} --root ${env.root} run --preserve-fds 1 ${env.id}`], {
    cwd: env.bundle,
  });
  expect(r.stdout.toString()).toBe("through fd 3\n");
  expect(r.exitCode).toBe(0);
});

test("runjs's own descriptors do not reach the container", () => {
  const env = newEnv(["ls", "/proc/self/fd"]);
  const r = env.runjs(["run", env.id]);
  // 0 1 2 and the fd ls itself opens for the directory
  expect(r.out.trim().split("\n").map(Number).filter((n) => n > 3)).toEqual([]);
});
