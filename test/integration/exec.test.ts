// exec for real: a process that joins a running container's namespaces and cgroups, with
// the container's hardening, the command line's changes, and its exit status passed back.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, liveHelpers, newEnv, removeCgroupParent, RUNJS, type Env } from "./helpers.ts";
import { ConsoleListener, openPty, Terminal } from "./pty.ts";
import { close } from "../../src/sys/libc.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

/** A running container whose init sleeps; returns its host pid. */
function running(env: Env): number {
  env.write();
  const r = env.runjs(["run", "-d", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(env.runjs(["state", env.id]).out).pid;
}

function sleeper(): Env {
  return newEnv(["sleep", "1000"]);
}

/**
 * A detached exec's process belongs to our caller's subreaper or, here, the host's init, which
 * on this kind of machine reaps only every second or two. The container's pid namespace ends
 * only once it is reaped, so wait for that before the test deletes the container.
 */
function awaitReaped(pid: number): void {
  for (let i = 0; i < 500 && existsSync(`/proc/${pid}`); i++) Bun.sleepSync(10);
}

const statusField = (text: string, key: string) => new RegExp(`^${key}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();

describe("exec joins the container", () => {
  test("every namespace of the init, the pid namespace as a member, and its cgroups", () => {
    const env = sleeper();
    env.spec.hostname = "inside";
    env.spec.linux!.namespaces!.push({ type: "cgroup" });
    const pid = running(env);
    const kinds = ["cgroup", "ipc", "mnt", "net", "pid", "uts"];
    const r = env.runjs(["exec", env.id, "sh", "-c", `for n in ${kinds.join(" ")}; do readlink /proc/self/ns/$n; done; hostname; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup`]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    kinds.forEach((k, i) => expect(lines[i]).toBe(readlinkSync(`/proc/${pid}/ns/${k}`)));
    expect(lines[kinds.length]).toBe("inside");
    const p = Number(/^pid=(\d+)$/.exec(lines[kinds.length + 1]!)?.[1]);
    expect(p).toBeGreaterThan(1); // a member of the pid namespace, not its init
    expect(lines[kinds.length + 2]).toBe("sleep 1000 ");
    // the same cgroups as the init, seen through the cgroup namespace (which hides the host's path)
    const [self, init] = lines.slice(kinds.length + 3).join("\n").split("---\n");
    expect(self!.length).toBeGreaterThan(0);
    expect(self).toBe(init!);
    expect(self).not.toContain("runjs-test");
  });

  test("the process is in the container's cgroups on the host", () => {
    const env = sleeper();
    const pid = running(env);
    // a detached exec, found again through its pid file
    const pf = join(env.dir, "exec.pid");
    expect(env.runjs(["exec", "-d", "--pid-file", pf, env.id, "sleep", "100"]).code).toBe(0);
    const child = Number(readFileSync(pf, "utf8"));
    expect(child).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${child}/cgroup`, "utf8")).toBe(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    const nspid = statusField(readFileSync(`/proc/${child}/status`, "utf8"), "NSpid")!.split(/\s+/);
    expect(nspid.length).toBe(2);
    expect(nspid[0]).toBe(String(child));
    expect(readlinkSync(`/proc/${child}/ns/pid`)).toBe(readlinkSync(`/proc/${pid}/ns/pid`));
    // ps lists it with the init
    const ps = env.runjs(["ps", "--format", "json", env.id]);
    expect(JSON.parse(ps.out)).toContain(child);
    process.kill(child, "SIGKILL");
    awaitReaped(child);
  });
});

describe("exec's process", () => {
  test("user, cwd, env and extra capabilities from the command line", () => {
    const env = sleeper();
    env.spec.process!.env = ["PATH=/bin", "KEEP=1", "FOO=old"];
    running(env);
    const r = env.runjs(["exec", "-u", "1000:1000", "-g", "10", "--cwd", "/tmp", "-e", "FOO=new", "-e", "BAR=2", env.id, "sh", "-c", "id -u; id -g; id -G; pwd; env | sort | grep -E '^(KEEP|FOO|BAR)='"]);
    expect(r.err).toBe("");
    expect(r.out).toBe("1000\n1000\n1000 10\n/tmp\nBAR=2\nFOO=new\nKEEP=1\n");
    const caps = env.runjs(["exec", "--cap", "CAP_NET_ADMIN", env.id, "grep", "-E", "^Cap(Eff|Bnd)", "/proc/self/status"]);
    const eff = BigInt("0x" + statusField(caps.out, "CapEff"));
    expect(eff & (1n << 12n)).toBe(1n << 12n); // CAP_NET_ADMIN
    const plain = env.runjs(["exec", env.id, "grep", "-E", "^CapEff", "/proc/self/status"]);
    expect(BigInt("0x" + statusField(plain.out, "CapEff")) & (1n << 12n)).toBe(0n);
  });

  test("the container's hardening: capabilities, no_new_privs, seccomp, rlimits", () => {
    const env = sleeper();
    env.spec.process!.noNewPrivileges = true;
    env.spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
    env.spec.linux!.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getcwd"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    };
    const pid = running(env);
    const init = readFileSync(`/proc/${pid}/status`, "utf8");
    const r = env.runjs(["exec", env.id, "sh", "-c", "cat /proc/self/status; ulimit -n; ulimit -Hn; /bin/pwd || echo pwd-failed"]);
    expect(statusField(r.out, "NoNewPrivs")).toBe("1");
    expect(statusField(r.out, "Seccomp")).toBe("2");
    for (const k of ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"]) expect(statusField(r.out, k)).toBe(statusField(init, k)!);
    expect(r.out).toContain("\n321\n654\n");
    expect(r.out).toContain("pwd-failed");
  });

  test("exit codes propagate, including death by a signal", () => {
    const env = sleeper();
    running(env);
    expect(env.runjs(["exec", env.id, "sh", "-c", "exit 3"]).code).toBe(3);
    expect(env.runjs(["exec", env.id, "sh", "-c", "kill -9 $$"]).code).toBe(137);
    expect(env.runjs(["exec", env.id, "true"]).code).toBe(0);
    const missing = env.runjs(["exec", env.id, "no-such-program"]);
    expect(missing.code).toBe(255); // runc: a runtime failure of exec is 255, apart from the process's own codes
    expect(missing.err).toContain("process.args: exec no-such-program: executable file not found in $PATH");
  });

  test("signals sent to runjs reach the process", async () => {
    const env = sleeper();
    env.spec.root!.readonly = false;
    running(env);
    const marker = join(env.bundle, "rootfs/tmp/ready");
    const p = Bun.spawn([RUNJS, "--root", env.root, "exec", env.id, "sh", "-c", "trap 'exit 42' USR1; touch /tmp/ready; while true; do sleep 0.05; done"], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    for (let i = 0; i < 300 && !existsSync(marker); i++) Bun.sleepSync(10);
    p.kill("SIGUSR1");
    expect(await p.exited).toBe(42);
  });

  test("--process FILE gives the whole process; a bad one names the file and field", () => {
    const env = sleeper();
    running(env);
    const f = join(env.dir, "process.json");
    writeFileSync(f, JSON.stringify({ args: ["sh", "-c", "echo $X; pwd; id -u"], env: ["X=from-file", "PATH=/bin"], cwd: "/etc", user: { uid: 1000, gid: 1000 } }));
    const r = env.runjs(["exec", "--process", f, env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("from-file\n/etc\n1000\n");
    writeFileSync(f, JSON.stringify({ args: ["true"], cwd: "etc" }));
    const bad = env.runjs(["exec", "-p", f, env.id]);
    expect(bad.code).toBe(255);
    expect(bad.err).toContain(`--process ${f}: process.cwd: must be absolute`);
  });

  test("--preserve-fds passes descriptors through; nothing else of runjs's reaches the process", () => {
    const env = sleeper();
    running(env);
    const file = join(env.dir, "passed.txt");
    writeFileSync(file, "through fd 3\n");
    const out = join(env.dir, "out");
    const r = Bun.spawnSync(["sh", "-c", `exec 3<${file}; exec ${RUNJS} --root ${env.root} exec --preserve-fds 1 ${env.id} sh -c 'cat <&3; ls /proc/self/fd' >${out}`]);
    expect(r.exitCode).toBe(0);
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines[0]).toBe("through fd 3");
    // 0-2, the preserved 3, and ls's own directory fd
    expect(lines.slice(1).filter(Boolean).map(Number).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  test("no helper is left behind, attached or detached", () => {
    const env = sleeper();
    running(env);
    const before = liveHelpers();
    expect(env.runjs(["exec", env.id, "true"]).code).toBe(0);
    const pf = join(env.dir, "exec.pid");
    expect(env.runjs(["exec", "-d", "--pid-file", pf, env.id, "sleep", "0.2"]).code).toBe(0);
    expect(liveHelpers()).toEqual(before);
    awaitReaped(Number(readFileSync(pf, "utf8")));
  });
});

describe("exec with a terminal", () => {
  test("-t bridges runjs's own terminal", async () => {
    const env = sleeper();
    running(env);
    const [m, s] = openPty();
    const p = Bun.spawn(["setsid", "-c", RUNJS, "--root", env.root, "exec", "-t", env.id, "sh"], { stdio: [s, s, s] });
    close(s);
    const t = new Terminal(m);
    try {
      t.expect(/# /);
      t.type("tty; exit 4\n");
      // ONLCR cleared, as runc does on the pty it bridges: the program's "\n" arrives as it is
      expect(t.expect(/\n\/dev\/pts\/\d+\n/)).not.toMatch(/\/dev\/pts\/\d+\r/);
      expect(await p.exited).toBe(4);
    } finally {
      p.kill("SIGKILL");
      t.close();
    }
  });

  test("-d -t sends the master to --console-socket", () => {
    const env = sleeper();
    running(env);
    const sock = join(env.dir, "exec.sock");
    const l = new ConsoleListener(sock);
    try {
      const pf = join(env.dir, "exec.pid");
      expect(env.runjs(["exec", "-d", "-t", "--console-socket", sock, "--pid-file", pf, env.id, "sh"]).code).toBe(0);
      const t = new Terminal(l.receiveMaster().master);
      t.type("echo in-exec; tty\n");
      expect(t.expect(/\/dev\/pts\/\d+\r\n/)).toContain("in-exec");
      t.type("exit\n");
      t.close();
      awaitReaped(Number(readFileSync(pf, "utf8")));
    } finally {
      l.close();
    }
    const bad = env.runjs(["exec", "-d", "-t", env.id, "sh"]);
    expect(bad.code).toBe(255);
    expect(bad.err).toContain("--tty: cannot allocate a terminal for a detached process without --console-socket");
  });
});

describe("exec refuses", () => {
  test("an unknown, a stopped or a paused container", () => {
    const env = sleeper();
    expect(env.runjs(["exec", "nope", "true"]).err).toContain("container does not exist: nope");
    running(env);
    expect(env.runjs(["pause", env.id]).code).toBe(0);
    const paused = env.runjs(["exec", env.id, "true"]);
    expect(paused.code).toBe(255);
    expect(paused.err).toContain("cannot exec in a paused container");
    expect(env.runjs(["resume", env.id]).code).toBe(0);
    expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
    for (let i = 0; i < 300 && !env.runjs(["state", env.id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
    const stopped = env.runjs(["exec", env.id, "true"]);
    expect(stopped.code).toBe(255);
    expect(stopped.err).toContain("cannot exec in a stopped container");
  });

  test("bad flags, naming them", () => {
    const env = sleeper();
    running(env);
    expect(env.runjs(["exec", env.id]).err).toContain("exec: requires a command");
    expect(env.runjs(["exec", "-u", "bob", env.id, "true"]).err).toContain('--user: must be a number, got "bob"');
    expect(env.runjs(["exec", "--cwd", "rel", env.id, "true"]).err).toContain("exec: process.cwd: must be absolute");
    expect(env.runjs(["exec", "--cap", "CAP_NOPE", env.id, "true"]).err).toContain("CAP_NOPE");
  });
});

test("LISTEN_FDS from a socket-activating caller reaches the container", () => {
  const env = newEnv(["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]);
  const file = join(env.dir, "activation.txt");
  writeFileSync(file, "activated\n");
  const out = join(env.dir, "out");
  // the shell becomes runjs (exec), so LISTEN_PID=$$ is runjs's pid, as systemd would set it
  const r = Bun.spawnSync(["sh", "-c", `exec 3<${file}; LISTEN_FDS=1 LISTEN_PID=$$ exec ${RUNJS} --root ${env.root} run ${env.id} >${out}`], { cwd: env.bundle });
  expect(r.exitCode).toBe(0);
  expect(readFileSync(out, "utf8")).toBe("1 1\nactivated\n");
});
