// A bundle as most people first make one: `runc spec` in a directory with a rootfs. runc's own
// default configuration must run under runjs unchanged but for the cgroup path the tests keep
// their containers under: attached on a terminal, created and started, with exec into it.
//
// runc 1.1's spec (Debian's runc, installed by scripts/deps.sh) lists ambient capabilities
// without inheritable ones, which the kernel will not raise: runjs warns once per capability
// and runs the container, as runc does.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { close, setWinsize } from "../../src/sys/libc.ts";
import { CGROUP_PARENT, cgroupDirsOf, cleanupAll, newEnv, removeCgroupParent, RUNJS, type Env } from "./helpers.ts";
import { openPty, Terminal } from "./pty.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const RUNC = "/usr/sbin/runc";
const THREE = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
const MASK = ((1n << 29n) | (1n << 5n) | (1n << 10n)).toString(16).padStart(16, "0");

/** A bundle whose config.json is what `runc spec` wrote, with the test's cgroup path. */
function runcBundle(): { env: Env; spec: any } {
  const env = newEnv();
  rmSync(join(env.bundle, "config.json"));
  const r = Bun.spawnSync([RUNC, "spec"], { cwd: env.bundle });
  expect(r.exitCode).toBe(0);
  const spec = JSON.parse(readFileSync(join(env.bundle, "config.json"), "utf8"));
  spec.linux.cgroupsPath = `${CGROUP_PARENT}/${env.id}`;
  env.spec = spec;
  env.write();
  return { env, spec };
}

describe("a bundle made by `runc spec`", () => {
  test("is runc 1.1's: a terminal, sh, ambient capabilities without inheritable ones", () => {
    const { spec } = runcBundle();
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.process.capabilities.ambient).toEqual(THREE);
    expect(spec.process.capabilities.inheritable).toBeUndefined();
  });

  test("runs attached on the caller's terminal, as written: a shell, runc's capabilities, its exit status", async () => {
    const { env } = runcBundle();
    const [m, s] = openPty();
    setWinsize(m, 24, 80);
    const p = Bun.spawn(["setsid", "-c", RUNJS, "--root", env.root, "run", env.id], { cwd: env.bundle, stdio: [s, s, s] });
    close(s);
    const t = new Terminal(m);
    try {
      const warned = t.expect(/# /);
      for (const c of THREE) expect(warned).toContain(`can't raise ambient capability ${c}`);
      t.type("grep -E '^Cap(Eff|Amb)' /proc/self/status; hostname; exit 3\n");
      const out = t.expect(/\nrunc\n/);
      expect(out).not.toContain("\r\n"); // ONLCR cleared on the bridged pty, as runc does
      expect(out).toMatch(new RegExp(`CapEff:\\s+${MASK}`));
      expect(out).toMatch(/CapAmb:\s+0000000000000000/);
      expect(await p.exited).toBe(3);
      expect(existsSync(join(env.root, env.id))).toBe(false);
      expect(cgroupDirsOf(env.id)).toEqual([]);
    } finally {
      p.kill("SIGKILL");
      t.close();
    }
  });

  test("create, start, exec into it, kill, delete", () => {
    const { env, spec } = runcBundle();
    // detached without a console socket: no terminal, and something that keeps running
    spec.process.terminal = false;
    spec.process.args = ["sleep", "1000"];
    env.write();
    const c = env.runjs(["create", env.id]);
    expect(c.code).toBe(0);
    expect(c.err).toContain("warning: process.capabilities.ambient: can't raise ambient capability CAP_KILL: it is not both permitted and inheritable");
    expect(env.runjs(["start", env.id]).code).toBe(0);
    expect(JSON.parse(env.runjs(["state", env.id]).out).status).toBe("running");
    const e = env.runjs(["exec", env.id, "sh", "-c", "grep -E '^Cap(Eff|Amb)' /proc/self/status; id -u"]);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(new RegExp(`CapEff:\\s+${MASK}\\nCapAmb:\\s+0000000000000000\\n0\\n`));
    expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse(env.runjs(["state", env.id]).out).status !== "stopped"; i++) Bun.sleepSync(20);
    expect(env.runjs(["delete", env.id]).code).toBe(0);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  });
});
