// pause / resume / ps / events / update against real containers.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENT, cleanupAll, newEnv, removeCgroupParent, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

function status(env: Env): string {
  const r = env.runjs(["state", env.id]);
  expect(r.code).toBe(0);
  return JSON.parse(r.out).status;
}

/** create + start a container running `script`, with a host directory bind-mounted at /shared. */
function started(script: string, edit?: (env: Env) => void): { env: Env; shared: string } {
  const env = newEnv();
  edit?.(env);
  const shared = join(env.dir, "shared");
  mkdirSync(shared);
  env.spec.mounts!.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] });
  env.spec.process!.args = ["sh", "-c", script];
  env.write();
  const c = env.runjs(["create", env.id]);
  expect(c.err).toBe("");
  expect(c.code).toBe(0);
  expect(env.runjs(["start", env.id]).code).toBe(0);
  return { env, shared };
}

function waitFor(f: () => boolean, ms = 3000): void {
  for (let t = 0; t < ms && !f(); t += 10) Bun.sleepSync(10);
}

const counter = (shared: string) => Number(readFileSync(join(shared, "n"), "utf8").trim() || "0");

test("pause freezes a busy loop, resume lets it go on; state follows", () => {
  const { env, shared } = started("i=0; while true; do i=$((i+1)); echo $i > /shared/n.tmp; mv /shared/n.tmp /shared/n; done");
  waitFor(() => existsSync(join(shared, "n")) && counter(shared) > 5);
  const p = env.runjs(["pause", env.id]);
  expect(p.err).toBe("");
  expect(p.code).toBe(0);
  expect(status(env)).toBe("paused");
  const a = counter(shared);
  Bun.sleepSync(300);
  expect(counter(shared)).toBe(a);
  // pausing twice, or resuming a running container, is refused
  const again = env.runjs(["pause", env.id]);
  expect(again.code).not.toBe(0);
  expect(again.err).toContain("container not running");

  const r = env.runjs(["resume", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(status(env)).toBe("running");
  waitFor(() => counter(shared) > a + 5);
  expect(counter(shared)).toBeGreaterThan(a);
  const notPaused = env.runjs(["resume", env.id]);
  expect(notPaused.code).not.toBe(0);
  expect(notPaused.err).toContain("container not paused");
});

test("pause of a stopped container errors; delete --force works on a paused one", () => {
  const { env } = started("sleep 100");
  expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
  waitFor(() => status(env) === "stopped");
  const p = env.runjs(["pause", env.id]);
  expect(p.code).not.toBe(0);
  expect(p.err).toContain("container not running");
  expect(env.runjs(["delete", env.id]).code).toBe(0);

  const b = started("sleep 100").env;
  expect(b.runjs(["pause", b.id]).code).toBe(0);
  expect(b.runjs(["delete", b.id]).err).toContain("not stopped");
  expect(b.runjs(["delete", "--force", b.id]).code).toBe(0);
  expect(existsSync(join(b.root, b.id))).toBe(false);
});

test("ps lists the container's processes as json and as a table", () => {
  const { env } = started("sleep 100 & sleep 100");
  const pid = JSON.parse(env.runjs(["state", env.id]).out).pid;
  let pids: number[] = [];
  waitFor(() => {
    const r = env.runjs(["ps", "--format", "json", env.id]);
    expect(r.code).toBe(0);
    pids = JSON.parse(r.out);
    return pids.length >= 2;
  });
  expect(pids).toContain(pid);
  expect(pids.length).toBeGreaterThanOrEqual(2);
  expect(pids.length).toBeLessThanOrEqual(3);

  const t = env.runjs(["ps", env.id]);
  expect(t.err).toBe("");
  expect(t.code).toBe(0);
  const lines = t.out.trim().split("\n");
  expect(lines[0]).toMatch(/^UID\s+PID\s+PPID/);
  const shown = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[1]));
  expect(shown.sort()).toEqual([...pids].sort());
  expect(t.out).toContain("sleep 100");

  // ps options after the id go to the host's ps
  const o = env.runjs(["ps", env.id, "-o", "pid,comm"]);
  expect(o.code).toBe(0);
  expect(o.out.split("\n")[0]!.trim()).toMatch(/^PID\s+COMMAND$/);
  expect(o.out.trim().split("\n").length).toBe(pids.length + 1);
});

test("events --stats prints one stats object with memory and pids", () => {
  const { env } = started("sleep 100");
  const r = env.runjs(["events", "--stats", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const lines = r.out.trim().split("\n");
  expect(lines.length).toBe(1);
  const ev = JSON.parse(lines[0]!);
  expect(ev.type).toBe("stats");
  expect(ev.id).toBe(env.id);
  expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
  expect(ev.data.pids.current).toBeGreaterThanOrEqual(1);
  expect(typeof ev.data.cpu.usage.total).toBe("number");
  expect(typeof ev.data.memory.raw).toBe("object");
});

test("events streams stats every interval and ends when the container stops", () => {
  const { env } = started("sleep 1");
  const t0 = Date.now();
  const r = env.runjs(["events", "--interval", "200ms", env.id]);
  expect(r.code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(5000);
  const evs = r.out.trim().split("\n").map((l) => JSON.parse(l));
  expect(evs.length).toBeGreaterThanOrEqual(2);
  for (const e of evs) expect(e.type).toBe("stats");
});

test("update --pids-limit changes pids.max on the host; stopped containers are refused", () => {
  const { env } = started("sleep 100");
  const f = `/sys/fs/cgroup/pids${CGROUP_PARENT}/${env.id}/pids.max`;
  const u = env.runjs(["update", "--pids-limit", "7", env.id]);
  expect(u.err).toBe("");
  expect(u.code).toBe(0);
  expect(readFileSync(f, "utf8").trim()).toBe("7");
  expect(env.runjs(["update", "--pids-limit=-1", env.id]).code).toBe(0);
  expect(readFileSync(f, "utf8").trim()).toBe("max");
  // -r: a LinuxResources JSON file, or - for stdin
  const rf = join(env.dir, "res.json");
  Bun.write(rf, JSON.stringify({ pids: { limit: 11 } }));
  expect(env.runjs(["update", "-r", rf, env.id]).code).toBe(0);
  expect(readFileSync(f, "utf8").trim()).toBe("11");
  expect(env.runjs(["update", "-r", "-", env.id], { stdin: Buffer.from('{"pids":{"limit":12}}') }).code).toBe(0);
  expect(readFileSync(f, "utf8").trim()).toBe("12");

  expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
  waitFor(() => status(env) === "stopped");
  const s = env.runjs(["update", "--pids-limit", "7", env.id]);
  expect(s.code).not.toBe(0);
  expect(s.err).toContain("container not running");
});

test("update --memory and --cpu-quota change the v1 limit files", () => {
  const { env } = started("sleep 100");
  const mem = `/sys/fs/cgroup/memory${CGROUP_PARENT}/${env.id}/memory.limit_in_bytes`;
  const u = env.runjs(["update", "--memory", "64m", env.id]);
  expect(u.err).toBe("");
  expect(u.code).toBe(0);
  expect(readFileSync(mem, "utf8").trim()).toBe(String(64 * 1024 * 1024));
  const cpu = `/sys/fs/cgroup/cpu${CGROUP_PARENT}/${env.id}`;
  const c = env.runjs(["update", "--cpu-period", "100000", "--cpu-quota", "50000", env.id]);
  expect(c.err).toBe("");
  expect(c.code).toBe(0);
  expect(readFileSync(`${cpu}/cpu.cfs_quota_us`, "utf8").trim()).toBe("50000");
  // events reports the new limit
  const ev = JSON.parse(env.runjs(["events", "--stats", env.id]).out);
  expect(ev.data.memory.usage.limit).toBe(64 * 1024 * 1024);
});

test("events reports an OOM kill in the container, then ends with it", () => {
  const MiB = 1024 * 1024;
  const { env } = started(`sleep 0.5; x=$(head -c 64m /dev/zero | tr "\\0" a); sleep 0.5`, (e) => {
    e.spec.linux!.resources = { memory: { limit: 16 * MiB, swap: 16 * MiB } };
  });
  const r = env.runjs(["events", "--interval", "10s", env.id]);
  expect(r.code).toBe(0);
  const evs = r.out.trim().split("\n").map((l) => JSON.parse(l));
  expect(evs[0].type).toBe("stats");
  // one event per OOM kill the kernel counted: the shell and its pipeline may both be killed
  const ooms = evs.filter((e) => e.type === "oom");
  expect(ooms.length).toBeGreaterThanOrEqual(1);
  for (const e of ooms) expect(e).toEqual({ type: "oom", id: env.id });
});
