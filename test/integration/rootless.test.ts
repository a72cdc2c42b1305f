// Rootless for real: an unprivileged user (made here) runs a container from `spec --rootless`
// to delete, with its state in its own runtime directory and nothing left behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./helpers.ts";

const USER = "runjs-rootless";
let created = false;
let uid = 0;
let gid = 0;
let work = "";
let bin = "";
let xdg = "";
const subBefore: Record<string, string> = {};

let calls = 0;
/** Output through files, not pipes: a created container keeps runjs's stdio open. */
function sh(argv: string[], opts: { cwd?: string } = {}): { code: number; out: string; err: string } {
  const o = `/tmp/.runjs-rootless-${process.pid}-${++calls}`;
  const r = Bun.spawnSync(["sh", "-c", 'exec "$@" >"$O.out" 2>"$O.err"', "sh", ...argv], { cwd: opts.cwd, env: { ...process.env, O: o } });
  const res = { code: r.exitCode ?? 128, out: readFileSync(`${o}.out`, "utf8"), err: readFileSync(`${o}.err`, "utf8") };
  rmSync(`${o}.out`, { force: true });
  rmSync(`${o}.err`, { force: true });
  return res;
}

/** runjs as the unprivileged user, with a clean environment of its own. */
function runjs(args: string[], cwd: string) {
  return sh(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "env", "-i", `XDG_RUNTIME_DIR=${xdg}`, `HOME=${work}`, "PATH=/usr/bin:/bin", bin, ...args], { cwd });
}

beforeAll(() => {
  for (const f of ["/etc/subuid", "/etc/subgid"]) subBefore[f] = existsSync(f) ? readFileSync(f, "utf8") : "";
  if (sh(["id", "-u", USER]).code !== 0) {
    const r = sh(["useradd", "-M", "-s", "/usr/sbin/nologin", USER]);
    if (r.code !== 0) throw new Error(`useradd: ${r.err}`);
    created = true;
  }
  uid = Number(sh(["id", "-u", USER]).out);
  gid = Number(sh(["id", "-g", USER]).out);
  // a subordinate range for newuidmap, unless useradd gave one
  if (!readFileSync("/etc/subuid", "utf8").includes(`${USER}:`)) writeFileSync("/etc/subuid", subBefore["/etc/subuid"] + `${USER}:400000:65536\n`);
  if (!readFileSync("/etc/subgid", "utf8").includes(`${USER}:`)) writeFileSync("/etc/subgid", subBefore["/etc/subgid"] + `${USER}:400000:65536\n`);
  work = mkdtempSync("/tmp/runjs-rootless-");
  chmodSync(work, 0o755);
  // the binaries where the user can reach them, whatever the checkout's permissions
  for (const b of ["runjs", "runjs-init"]) copyFileSync(join(REPO, "bin", b), join(work, b));
  for (const b of ["runjs", "runjs-init"]) chmodSync(join(work, b), 0o755);
  bin = join(work, "runjs");
  xdg = join(work, "xdg");
  sh(["mkdir", "-m", "700", xdg]);
  chownSync(xdg, uid, gid);
});

afterAll(() => {
  // whatever the test user still runs, the tests started
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (ids(Number(d))[0] === uid) process.kill(Number(d), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  rmSync(work, { recursive: true, force: true });
  if (created) sh(["userdel", USER]);
  for (const [f, text] of Object.entries(subBefore)) writeFileSync(f, text);
});

let n = 0;
/** A bundle owned by the user: busybox rootfs, config.json from `runjs spec --rootless`. */
function bundle(args: string[], edit: (c: any) => void = () => {}): { dir: string; id: string } {
  const dir = join(work, `b${++n}`);
  const root = join(dir, "rootfs");
  sh(["mkdir", "-p", join(root, "bin"), join(root, "proc"), join(root, "sys"), join(root, "dev"), join(root, "tmp"), join(root, "etc")]);
  const bb = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p))!;
  cpSync(bb, join(root, "bin/busybox"));
  for (const a of ["sh", "id", "cat", "sleep", "ls", "touch", "stat", "echo", "grep", "ps"]) sh(["ln", "-s", "busybox", join(root, "bin", a)]);
  sh(["chown", "-R", `${uid}:${gid}`, dir]);
  expect(runjs(["spec", "--rootless"], dir).code).toBe(0);
  const cfgPath = join(dir, "config.json");
  const c = JSON.parse(readFileSync(cfgPath, "utf8"));
  c.process.terminal = false;
  c.process.args = args;
  c.root.readonly = false;
  edit(c);
  writeFileSync(cfgPath, JSON.stringify(c));
  chownSync(cfgPath, uid, gid);
  return { dir, id: `rl${n}` };
}

const ids = (pid: number) => /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!.split(/\s+/).map(Number);

function leftovers(): string[] {
  const root = join(xdg, "runjs");
  return existsSync(root) ? readdirSync(root) : [];
}

describe("an unprivileged user", () => {
  test("runs `spec --rootless` as root inside, its own uid outside, from create to delete", () => {
    const b = bundle(["sh", "-c", "touch /tmp/made; sleep 100"]);
    let r = runjs(["create", b.id], b.dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(join(xdg, "runjs", b.id, "state.json"))).toBe(true); // state in its runtime dir
    expect(runjs(["start", b.id], b.dir).code).toBe(0);
    const st = JSON.parse(runjs(["state", b.id], b.dir).out);
    expect(st.status).toBe("running");
    expect(ids(st.pid)).toEqual([uid, uid, uid, uid]);
    r = runjs(["exec", b.id, "sh", "-c", "id -u; cat /proc/self/uid_map"], b.dir);
    expect(r.err).toBe("");
    expect(r.out).toMatch(new RegExp(`^0\\n\\s+0\\s+${uid}\\s+1\\n$`));
    for (let i = 0; i < 100 && !existsSync(join(b.dir, "rootfs/tmp/made")); i++) Bun.sleepSync(10);
    const made = Bun.spawnSync(["stat", "-c", "%u", join(b.dir, "rootfs/tmp/made")]).stdout.toString().trim();
    expect(made).toBe(String(uid));
    expect(JSON.parse(runjs(["ps", "--format", "json", b.id], b.dir).out)).toContain(st.pid);
    expect(runjs(["kill", b.id, "KILL"], b.dir).code).toBe(0);
    for (let i = 0; i < 300 && JSON.parse(runjs(["state", b.id], b.dir).out).status !== "stopped"; i++) Bun.sleepSync(10);
    expect(runjs(["delete", b.id], b.dir).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  test("maps a subordinate range through newuidmap/newgidmap", () => {
    const sub = Number(/:(\d+):/.exec(readFileSync("/etc/subuid", "utf8").split("\n").find((l) => l.startsWith(`${USER}:`))!)![1]);
    const b = bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map"], (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: sub, size: 1000 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: sub, size: 1000 }];
    });
    const r = runjs(["run", b.id], b.dir);
    expect(r.err).toBe("");
    const lines = r.out.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
    expect(lines).toEqual([[0, uid, 1], [1, sub, 1000], [0, gid, 1], [1, sub, 1000]]);
    expect(leftovers()).toEqual([]);
  });

  test("what it cannot do is refused clearly, leaving nothing", () => {
    const limits = bundle(["true"], (c) => (c.linux.resources = { pids: { limit: 10 } }));
    let r = runjs(["run", limits.id], limits.dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("linux.resources: runjs runs unprivileged and has no delegated cgroup");
    const groups = bundle(["true"], (c) => (c.process.user.additionalGids = [5]));
    r = runjs(["run", groups.id], groups.dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("process.user.additionalGids:");
    const notMine = bundle(["true"], (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]));
    r = runjs(["run", notMine.id], notMine.dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/linux\.uidMappings: newuidmap .*not allowed/);
    expect(leftovers()).toEqual([]);
  });
});
