// The front end for real: `runjs container run` of an image imported here, on an overlay root
// of its own, with the image's config merged the way Docker merges it.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { close } from "../../src/sys/libc.ts";
import { CGROUP_PARENT, RUNJS, cgroupDirsOf } from "./helpers.ts";
import { dockerArchive, layerTar, rootfs } from "./image-fixtures.ts";
import { openPty, Terminal } from "./pty.ts";
import { removeNetworkLeftovers } from "../netclean.ts";

const WORK = mkdtempSync("/tmp/runjs-containers-");
const STORE = join(WORK, "store");
const RT = join(WORK, "runtime");
afterAll(() => {
  for (const c of existsSync(join(STORE, "containers")) ? readdirSync(join(STORE, "containers")) : [])
    Bun.spawnSync(["umount", "-l", join(STORE, "containers", c, "rootfs")]);
  rmSync(WORK, { recursive: true, force: true });
});

function runjs(args: string[], stdin: "ignore" | Uint8Array = "ignore") {
  const o = join(WORK, `.o${Math.random()}`);
  const e = join(WORK, `.e${Math.random()}`);
  const r = Bun.spawnSync(["sh", "-c", 'exec "$@" >"$O" 2>"$E"', "sh", RUNJS, "--root", RT, "container", ...args], {
    stdin,
    env: { ...process.env, O: o, E: e, RUNJS_STORAGE: STORE },
  });
  const res = { code: r.exitCode ?? 128, out: readFileSync(o, "utf8"), err: readFileSync(e, "utf8") };
  rmSync(o);
  rmSync(e);
  return res;
}

/** container run with the test's cgroup parent. */
const run = (args: string[]) => runjs(["run", "--cgroup-parent", CGROUP_PARENT, ...args]);

const src = rootfs(join(WORK, "src"));
const archive = dockerArchive([layerTar(src, join(WORK, "layer.tar"))], "runjs-test/app:1", join(WORK, "app.tar"), (cfg) => {
  cfg.config = { Env: ["PATH=/bin", "FROM_IMAGE=yes", "OVERRIDE=image"], Cmd: ["sh", "-c", "echo default: $FROM_IMAGE $OVERRIDE; pwd; id"], WorkingDir: "/home/user", User: "user" };
});
const imp = Bun.spawnSync([RUNJS, "image", "import", archive, "--storage", STORE]);
if (imp.exitCode !== 0) throw new Error(imp.stderr.toString());
const IMAGE = "runjs-test/app:1";

/** Nothing of any container left: directories, overlay mounts, runtime state, cgroups. */
/** GET url once a server answers there (a container's server starts a moment after run -d). */
async function getWhenUp(url: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    try {
      return await (await fetch(url)).text();
    } catch {
      await Bun.sleep(50);
    }
  }
  return "";
}

function nothingLeft(): void {
  expect(existsSync(join(STORE, "containers")) ? readdirSync(join(STORE, "containers")) : []).toEqual([]);
  expect(readFileSync("/proc/self/mountinfo", "utf8").includes(join(STORE, "containers"))).toBe(false);
  expect(existsSync(RT) ? readdirSync(RT) : []).toEqual([]);
}

describe("container run", () => {
  test("the image's Cmd, Env, WorkingDir and User (resolved in its /etc/passwd)", () => {
    const r = run(["--rm", IMAGE]);
    expect(r.err).toBe("");
    expect(r.out).toBe("default: yes image\n/home/user\nuid=1000(user) gid=1000\n");
    expect(r.code).toBe(0);
    nothingLeft();
  });

  test("flags override the image: -e, -w, -u, --entrypoint, the command; exit codes pass through", () => {
    let r = run(["--rm", "-e", "OVERRIDE=flag", "-e", "NEW=1", "-w", "/tmp", "-u", "0:0", IMAGE, "sh", "-c", "echo $OVERRIDE $NEW $FROM_IMAGE; pwd; id -u; exit 7"]);
    expect(r.out).toBe("flag 1 yes\n/tmp\n0\n");
    expect(r.code).toBe(7);
    r = run(["--rm", "--entrypoint", "/bin/busybox", IMAGE, "echo", "from", "entrypoint"]);
    expect(r.out).toBe("from entrypoint\n");
    nothingLeft();
  });

  test("a write is gone after --rm, and kept without it", () => {
    expect(run(["--rm", "-u", "0", IMAGE, "sh", "-c", "echo x > /etc/written"]).code).toBe(0);
    expect(run(["--rm", "-u", "0", IMAGE, "sh", "-c", "cat /etc/written 2>&1; true"]).out).toContain("No such file");
    const k = run(["--name", "keeper", "-u", "0", IMAGE, "sh", "-c", "echo kept > /etc/written"]);
    expect(k.code).toBe(0);
    const ls = JSON.parse(runjs(["ls", "-a", "--format", "json"]).out);
    expect(ls.map((c: any) => [c.name, c.status, c.exitCode])).toEqual([["keeper", "exited", 0]]);
    const id = ls[0].id;
    expect(readFileSync(join(STORE, "containers", id, "upper/etc/written"), "utf8")).toBe("kept\n");
    expect(readFileSync(join(src, "etc/passwd"), "utf8")).not.toContain("kept"); // the image is untouched
    expect(runjs(["rm", "keeper"]).out).toBe("keeper\n");
    nothingLeft();
  });

  test("a bind mount (rw and ro), its own hostname and hosts, network none, limits in its cgroup", () => {
    const vol = join(WORK, "vol");
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, "in"), "host\n");
    const r = run([
      "--rm", "--network", "none", "-u", "0", "-v", `${vol}:/data`, "-v", `${vol}:/ro:ro`, "--hostname", "box", "--memory", "64m", "--pids-limit", "50", IMAGE,
      "sh", "-c",
      "cat /data/in; echo c > /data/out; touch /ro/x 2>/dev/null || echo ro-refused; hostname; grep box /etc/hosts | cut -f2; " +
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; " +
        "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
    ]);
    expect(r.err).toBe("");
    expect(r.out).toBe(`host\nro-refused\nbox\nbox\n${64 * 1024 * 1024}\n50\nlo\n`);
    expect(readFileSync(join(vol, "out"), "utf8")).toBe("c\n");
    nothingLeft();
  });

  test("a named volume: made on first use from the image's content, kept for the next container", () => {
    let r = run(["--rm", "-u", "0", "-v", "appdata:/home/user", IMAGE, "sh", "-c", "cat /home/user/notes; echo more >> /home/user/notes"]);
    expect(r.err).toBe("");
    expect(r.out).toBe("mine\n");
    r = run(["--rm", "-u", "0", "-v", "appdata:/data", IMAGE, "sh", "-c", "cat /data/notes"]);
    expect(r.out).toBe("mine\nmore\n");
    expect(readFileSync(join(STORE, "volumes/appdata/_data/notes"), "utf8")).toBe("mine\nmore\n");
    nothingLeft();
  });

  test("the image's Volumes get volumes of their own, filled from the image, gone with the container", () => {
    const vimg = dockerArchive([layerTar(src, join(WORK, "layer-v.tar"))], "runjs-test/vol:1", join(WORK, "vol.tar"), (cfg) => {
      cfg.config = { Cmd: ["sh"], Volumes: { "/home/user": {} } };
    });
    expect(Bun.spawnSync([RUNJS, "image", "import", vimg, "--storage", STORE]).exitCode).toBe(0);
    const r = run(["--name", "anon", "-u", "0", "runjs-test/vol:1", "sh", "-c", "cat /home/user/notes; grep ' /home/user ' /proc/self/mountinfo | wc -l"]);
    expect(r.out).toBe("mine\n1\n");
    const rec = JSON.parse(runjs(["inspect", "anon"]).out);
    expect(rec.anonymousVolumes.length).toBe(1);
    expect(existsSync(join(STORE, "volumes", rec.anonymousVolumes[0], "_data/notes"))).toBe(true);
    expect(runjs(["rm", "anon"]).code).toBe(0);
    expect(existsSync(join(STORE, "volumes", rec.anonymousVolumes[0]))).toBe(false);
    nothingLeft();
  });

  test("--init: tini (the host's static one, bound in read-only) is PID 1, the command its child", () => {
    const r = run(["--rm", "--init", "-u", "0", IMAGE, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo ppid=$PPID"]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^\/dev\/init -- sh -c .*\nppid=1\n$/);
  });

  test("inspect shows the record and the bundle's config", () => {
    expect(run(["--name", "insp", "-e", "X=1", IMAGE, "sh", "-c", "true"]).code).toBe(0);
    const i = JSON.parse(runjs(["inspect", "insp"]).out);
    expect([i.name, i.status, i.exitCode, i.image]).toEqual(["insp", "exited", 0, "docker.io/runjs-test/app:1"]);
    expect(i.config.process.env).toContain("X=1");
    expect(i.config.root.path).toBe(join(STORE, "containers", i.id, "rootfs"));
    expect(runjs(["rm", "insp"]).code).toBe(0);
    nothingLeft();
  });

  test("--network host shares the host's network namespace; --read-only keeps / read-only", () => {
    const r = run(["--rm", "--network", "host", "--read-only", "-u", "0", IMAGE, "sh", "-c", "readlink /proc/self/ns/net; touch /x 2>&1 | grep -c Read-only"]);
    expect(r.out).toBe(`${readlinkSync("/proc/self/ns/net")}\n1\n`);
  });

  test("-it: an interactive shell on a terminal", async () => {
    const [m, s] = openPty();
    const p = Bun.spawn(["setsid", "-c", RUNJS, "--root", RT, "container", "run", "-it", "--rm", "--cgroup-parent", CGROUP_PARENT, "-u", "0", IMAGE, "sh"], {
      stdio: [s, s, s],
      env: { ...process.env, RUNJS_STORAGE: STORE },
    });
    close(s);
    const t = new Terminal(m);
    try {
      t.expect(/# /);
      t.type("echo hi-$((6*7)); tty; exit 4\n");
      expect(t.expect(/\/dev\/pts\/\d+\r\n/)).toContain("hi-42");
      expect(await p.exited).toBe(4);
    } finally {
      p.kill("SIGKILL");
      t.close();
    }
    nothingLeft();
  });
});

describe("detached containers", () => {
  test("-d + logs + exec + stop + rm: the monitor outlives the command, keeps the logs and the exit status", async () => {
    const d = run(["-d", "--name", "bg", "-u", "0", IMAGE, "sh", "-c", "echo started; echo warned >&2; trap 'echo bye; exit 5' TERM; while true; do sleep 0.1; done"]);
    expect(d.err).toBe("");
    expect(d.out).toMatch(/^[a-f0-9]{64}\n$/);
    const id = d.out.trim();
    const ls = JSON.parse(runjs(["ls", "--format", "json"]).out);
    expect(ls.map((c: any) => [c.id, c.name, c.status])).toEqual([[id, "bg", "running"]]);
    // the container's own process runs in its pid namespace, under the monitor
    const e = runjs(["exec", "bg", "sh", "-c", "echo from-exec; cat /proc/1/cmdline | tr '\\0' ' '"]);
    expect(e.out).toMatch(/^from-exec\nsh -c echo started/);
    for (let i = 0; i < 100 && !runjs(["logs", "bg"]).out.includes("started"); i++) await Bun.sleep(20);
    const logs = runjs(["logs", "bg"]);
    expect(logs.out).toBe("started\n");
    expect(logs.err).toBe("warned\n");
    const raw = readFileSync(join(STORE, "containers", id, "container.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(raw.map((l: any) => [l.stream, l.log])).toEqual([["stdout", "started\n"], ["stderr", "warned\n"]]);
    expect(raw.every((l: any) => !Number.isNaN(Date.parse(l.time)))).toBe(true);
    expect(runjs(["stop", "-t", "5", "bg"]).out).toBe("bg\n");
    const after = JSON.parse(runjs(["ls", "-a", "--format", "json"]).out)[0];
    expect([after.status, after.exitCode]).toEqual(["exited", 5]);
    expect(runjs(["logs", "--tail", "1", "bg"]).out).toBe("bye\n");
    expect(runjs(["rm", "bg"]).out).toBe("bg\n");
    nothingLeft();
  });

  test("a detached container that cannot start: the error, and nothing left", () => {
    const r = run(["-d", IMAGE, "no-such-program"]);
    expect(r.err).not.toBe("");
    expect(r.code).toBe(1);
    expect(r.err).toContain("executable file not found in $PATH");
    nothingLeft();
  });

  test("start runs an exited container again on the root it left; restart; prune", async () => {
    const exited = async () => {
      for (let i = 0; i < 300 && JSON.parse(runjs(["ls", "-a", "--format", "json"]).out).some((c: any) => c.status === "running"); i++) await Bun.sleep(10);
    };
    expect(run(["--name", "again", "-u", "0", IMAGE, "sh", "-c", "echo x >> /tmp/count; echo runs=$(grep -c x /tmp/count)"]).out).toBe("runs=1\n");
    expect(runjs(["start", "again"]).out).toBe("again\n");
    await exited();
    expect(runjs(["start", "again"]).out).toBe("again\n");
    await exited();
    expect(runjs(["logs", "again"]).out).toBe("runs=2\nruns=3\n"); // the writes survived, the logs add up
    expect(run(["-d", "--name", "loop", "-u", "0", IMAGE, "sh", "-c", "echo up; trap 'exit 0' TERM; while true; do sleep 0.1; done"]).code).toBe(0);
    for (let i = 0; i < 100 && !runjs(["logs", "loop"]).out.includes("up"); i++) await Bun.sleep(20);
    expect(runjs(["restart", "-t", "5", "loop"]).out).toBe("loop\n");
    for (let i = 0; i < 100 && runjs(["logs", "loop"]).out !== "up\nup\n"; i++) await Bun.sleep(20);
    expect(runjs(["logs", "loop"]).out).toBe("up\nup\n");
    expect(runjs(["stop", "loop"]).code).toBe(0);
    expect(runjs(["prune"]).out.split("\n").filter(Boolean).sort()).toEqual(["again", "loop"]);
    nothingLeft();
  });

  test("ls tells the truth when a monitor is gone", () => {
    const id = run(["-d", "--name", "orphan", "-u", "0", IMAGE, "sh", "-c", "sleep 100"]).out.trim();
    const monitor = readdirSync("/proc").find((p) => /^\d+$/.test(p) && (() => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
        return argv[1] === "monitor" && argv.some((a) => a.includes(id));
      } catch {
        return false;
      }
    })());
    expect(monitor).toBeDefined();
    process.kill(Number(monitor), "SIGKILL"); // the monitor this test started
    expect(Bun.spawnSync([RUNJS, "--root", RT, "delete", "--force", id]).exitCode).toBe(0);
    const c = JSON.parse(runjs(["ls", "-a", "--format", "json"]).out).find((x: any) => x.name === "orphan");
    expect(c.status).toBe("exited");
    expect(runjs(["rm", "orphan"]).code).toBe(0);
    nothingLeft();
  });

  test("stats and top show what the kernel counts", () => {
    expect(run(["-d", "--name", "s", "-m", "64m", "-u", "0", IMAGE, "sh", "-c", "while true; do sleep 0.1; done"]).code).toBe(0);
    const [s] = JSON.parse(runjs(["stats", "--no-stream", "--format", "json", "s"]).out);
    expect(s.name).toBe("s");
    expect(s.memoryLimit).toBe(64 * 1024 * 1024);
    expect(s.memory).toBeGreaterThan(0);
    expect(s.pids).toBeGreaterThanOrEqual(1);
    expect(runjs(["stats", "--no-stream", "s"]).out).toMatch(/^CONTAINER ID\s+NAME\s+CPU TIME\s+MEM USAGE \/ LIMIT\s+PIDS\n[a-f0-9]{12}\s+s\s+[\d.]+s\s+[\d.]+\w+ \/ 64\.0MiB\s+\d+\n$/);
    expect(runjs(["top", "s"]).out).toContain("sh -c while true; do sleep 0.1; done");
    expect(runjs(["rm", "-f", "s"]).code).toBe(0);
    for (let i = 0; i < 200 && existsSync(RT) && readdirSync(RT).length; i++) Bun.sleepSync(10);
    nothingLeft();
  });

  test("-d -t: the monitor keeps the terminal; attach types into it, resizes it, detaches with ctrl-p ctrl-q, and returns the exit status", async () => {
    const d = run(["-d", "-t", "--name", "tty", "-u", "0", IMAGE, "sh", "-c", "echo first; stty size; read a; echo got-$a; stty size; read b; echo got-$b; exit 6"]);
    expect(d.err).toBe("");
    for (let i = 0; i < 100 && !runjs(["logs", "tty"]).out.includes("24 80"); i++) await Bun.sleep(20);
    expect(runjs(["logs", "tty"]).out).toBe("first\r\n24 80\r\n"); // a pty's output, sized 24x80 until attach says otherwise
    const attach = async (rows: number, cols: number) => {
      const [m, s] = openPty();
      const t = new Terminal(m);
      t.resize(rows, cols);
      const p = Bun.spawn(["setsid", "-c", RUNJS, "--root", RT, "container", "attach", "tty"], { stdio: [s, s, s], env: { ...process.env, RUNJS_STORAGE: STORE } });
      close(s);
      return { t, p };
    };
    const one = await attach(30, 100);
    try {
      await Bun.sleep(200);
      one.t.type("one\r");
      expect(one.t.expect(/got-one\r\n30 100\r\n/)).toContain("got-one");
      one.t.type("\x10\x11"); // ctrl-p ctrl-q
      expect(await one.p.exited).toBe(0);
    } finally {
      one.p.kill("SIGKILL");
      one.t.close();
    }
    expect(JSON.parse(runjs(["ls", "--format", "json"]).out).map((c: any) => c.name)).toEqual(["tty"]); // still running
    const two = await attach(24, 80);
    try {
      await Bun.sleep(200);
      two.t.type("two\r");
      two.t.expect(/got-two/);
      expect(await two.p.exited).toBe(6);
    } finally {
      two.p.kill("SIGKILL");
      two.t.close();
    }
    expect(runjs(["logs", "tty"]).out).toContain("got-two\r\n");
    expect(run(["-d", "--name", "plain", "-u", "0", IMAGE, "sh", "-c", "sleep 100"]).code).toBe(0);
    expect(runjs(["attach", "plain"]).err).toBe("runjs: container plain has no terminal (it was not run with -d -t): its output is in container logs -f\n");
    expect(runjs(["rm", "-f", "plain"]).code).toBe(0);
    expect(runjs(["rm", "tty"]).code).toBe(0);
    for (let i = 0; i < 200 && existsSync(RT) && readdirSync(RT).length; i++) await Bun.sleep(10);
    nothingLeft();
  });

  test("--restart: on-failure:N restarts a failing command N times, always until stop; RestartCount in inspect", async () => {
    const inspect = (n: string) => JSON.parse(runjs(["inspect", n]).out);
    expect(run(["-d", "--name", "flaky", "--restart", "on-failure:2", "-u", "0", IMAGE, "sh", "-c", "echo try; exit 3"]).code).toBe(0);
    for (let i = 0; i < 300 && !(inspect("flaky").status === "exited" && inspect("flaky").restartCount === 2); i++) await Bun.sleep(10);
    expect([inspect("flaky").status, inspect("flaky").exitCode, inspect("flaky").restartCount]).toEqual(["exited", 3, 2]);
    expect(runjs(["logs", "flaky"]).out).toBe("try\ntry\ntry\n");
    // a clean exit ends on-failure's restarts; always restarts it whatever the status
    expect(run(["-d", "--name", "ok", "--restart", "on-failure", "-u", "0", IMAGE, "sh", "-c", "exit 0"]).code).toBe(0);
    expect(run(["-d", "--name", "always", "--restart", "always", "-u", "0", IMAGE, "sh", "-c", "echo up; sleep 0.1"]).code).toBe(0);
    for (let i = 0; i < 300 && (inspect("always").restartCount ?? 0) < 2; i++) await Bun.sleep(10);
    expect(inspect("always").restartCount).toBeGreaterThanOrEqual(2);
    expect(runjs(["stop", "always"]).code).toBe(0);
    for (let i = 0; i < 300 && inspect("always").status !== "exited"; i++) await Bun.sleep(10);
    const count = inspect("always").restartCount;
    await Bun.sleep(600); // longer than the back-off: no restart after stop
    expect([inspect("always").status, inspect("always").restartCount]).toEqual(["exited", count]);
    expect([inspect("ok").status, inspect("ok").restartCount]).toEqual(["exited", 0]);
    for (const n of ["flaky", "ok", "always"]) expect(runjs(["rm", n]).err).toBe("");
    expect(run(["--rm", "-d", "--restart", "always", IMAGE, "true"]).err).toBe("runjs: --restart with --rm: conflicting options (a container removed when it exits cannot be restarted)\n");
    expect(run(["--restart", "always", IMAGE, "true"]).err).toBe("runjs: --restart needs -d: the monitor of a detached container restarts it\n");
    expect(run(["-d", "--restart", "sometimes", IMAGE, "true"]).err).toBe('runjs: --restart "sometimes": no, on-failure[:MAX-RETRIES], always or unless-stopped\n');
    nothingLeft();
  });

  test("kill -s and rm -f of a running container", () => {
    const d = run(["-d", "--name", "k", "-u", "0", IMAGE, "sh", "-c", "trap 'exit 9' USR1; while true; do sleep 0.1; done"]);
    expect(d.code).toBe(0);
    expect(runjs(["kill", "-s", "USR1", "k"]).code).toBe(0);
    for (let i = 0; i < 200 && JSON.parse(runjs(["ls", "-a", "--format", "json"]).out)[0]?.status !== "exited"; i++) Bun.sleepSync(10);
    expect(JSON.parse(runjs(["ls", "-a", "--format", "json"]).out)[0].exitCode).toBe(9);
    expect(runjs(["rm", "k"]).code).toBe(0);
    expect(run(["-d", "--name", "f", "-u", "0", IMAGE, "sh", "-c", "sleep 100"]).code).toBe(0);
    const busy = runjs(["rm", "f"]);
    expect(busy.code).toBe(1);
    expect(busy.err).toContain("container f is running: stop it first, or use --force");
    expect(runjs(["rm", "-f", "f"]).code).toBe(0);
    for (let i = 0; i < 200 && existsSync(RT) && readdirSync(RT).length; i++) Bun.sleepSync(10);
    nothingLeft();
  });
});

describe("bridge networking", () => {
  afterAll(removeNetworkLeftovers);

  test("busybox httpd in a bridged container answers the host on a published port; removal takes its network with it", async () => {
    const www = join(WORK, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "index.html"), "served from a container\n");
    const port = 20000 + Math.floor(Math.random() * 20000);
    const d = run(["-d", "--name", "web", "--network", "bridge", "-p", `127.0.0.1:${port}:80`, "-v", `${www}:/www:ro`, "-u", "0", IMAGE, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]);
    expect(d.err).toBe("");
    const id = d.out.trim();
    const body = await getWhenUp(`http://127.0.0.1:${port}/index.html`);
    expect(body).toBe("served from a container\n");
    // its own address on the bridge, and a route out through it
    const e = runjs(["exec", "web", "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; ip route | grep default"]);
    expect(e.out).toMatch(/^inet 10\.89\.0\.\d+\ndefault via 10\.89\.0\.1 dev eth0/);
    // the host answers it (a server of the test's on the bridge's gateway address)
    const srv = Bun.serve({ hostname: "10.89.0.1", port: 0, fetch: () => new Response("host says hi\n") });
    try {
      // spawned, not spawnSync: our server must answer while it runs
      const p = Bun.spawn([RUNJS, "--root", RT, "container", "exec", "web", "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 10.89.0.1 ${srv.port} | tail -1`], {
        env: { ...process.env, RUNJS_STORAGE: STORE },
        stdout: "pipe",
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), 15000);
      const out = await new Response(p.stdout).text();
      await p.exited;
      clearTimeout(timer);
      expect(out).toBe("host says hi\n");
    } finally {
      srv.stop(true);
    }
    expect(runjs(["rm", "-f", "web"]).code).toBe(0);
    for (let i = 0; i < 200 && existsSync(RT) && readdirSync(RT).length; i++) await Bun.sleep(10);
    const nat = Bun.spawnSync(["iptables", "-t", "nat", "-S"]).stdout.toString();
    expect(nat.includes(id)).toBe(false); // its NAT and port rules are gone
    expect(Bun.spawnSync(["ip", "-o", "link"]).stdout.toString().match(/veth/g)).toBeNull();
    nothingLeft();
  });

  test("without --network a container is on the bridge, as with Docker; -P publishes what the image exposes", async () => {
    const webImage = dockerArchive([layerTar(src, join(WORK, "layer-web.tar"))], "runjs-test/web:1", join(WORK, "web.tar"), (cfg) => {
      cfg.config = { Env: ["PATH=/bin"], Cmd: ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"], ExposedPorts: { "80/tcp": {} } };
    });
    expect(Bun.spawnSync([RUNJS, "image", "import", webImage, "--storage", STORE]).exitCode).toBe(0);
    const www = join(WORK, "www-p");
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, "index.html"), "published with -P\n");
    const d = run(["-d", "--name", "webp", "-P", "-v", `${www}:/www:ro`, "-u", "0", "runjs-test/web:1"]);
    expect(d.err).toBe("");
    const ports = runjs(["port", "webp"]).out.trim();
    expect(ports).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+$/);
    const port = Number(ports.split(":").at(-1));
    const body = await getWhenUp(`http://127.0.0.1:${port}/index.html`);
    expect(body).toBe("published with -P\n");
    expect(runjs(["exec", "webp", "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet 10\\.89\\.0\\.'"]).out).toBe("inet 10.89.0.\n");
    expect(runjs(["rm", "-f", "webp"]).code).toBe(0);
    for (let i = 0; i < 200 && existsSync(RT) && readdirSync(RT).length; i++) await Bun.sleep(10);
    expect(Bun.spawnSync(["ip", "-o", "link"]).stdout.toString().match(/veth/g)).toBeNull();
    nothingLeft();
  });

  test("a network whose CNI plugin is not installed: refused before anything is made", () => {
    mkdirSync(join(STORE, "networks"), { recursive: true });
    const list = join(STORE, "networks", "noplugin.conflist");
    writeFileSync(list, JSON.stringify({ cniVersion: "1.0.0", name: "noplugin", plugins: [{ type: "runjs-test-nosuch" }] }));
    try {
      const r = run(["--rm", "--network", "noplugin", IMAGE, "true"]);
      expect([r.code, r.err]).toEqual([1, "runjs: --network noplugin: the CNI plugin runjs-test-nosuch is not installed (Debian: containernetworking-plugins)\n"]);
      nothingLeft();
    } finally {
      rmSync(list, { force: true });
    }
  });

  test("a named network: a CNI network list of the operator's, with a bridge and subnet of its own", () => {
    mkdirSync(join(STORE, "networks"), { recursive: true });
    writeFileSync(
      join(STORE, "networks", "backend.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "backend",
        plugins: [{ type: "bridge", bridge: "runjs-be0", isGateway: true, ipam: { type: "host-local", dataDir: join(WORK, "ipam-be"), ranges: [[{ subnet: "10.90.7.0/24" }]] } }],
      }),
    );
    try {
      const r = run(["--rm", "--network", "backend", "-u", "0", IMAGE, "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'"]);
      expect(r.err).toBe("");
      expect(r.out).toMatch(/^inet 10\.90\.7\.\d+\n$/);
      expect(Bun.spawnSync(["ip", "-o", "link"]).stdout.toString().match(/veth/g)).toBeNull();
      nothingLeft();
    } finally {
      Bun.spawnSync(["ip", "link", "del", "runjs-be0"]);
    }
  });

  test("a host port already in use is refused before anything is made", () => {
    const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = run(["--rm", "--network", "bridge", "-p", `127.0.0.1:${busy.port}:80`, IMAGE, "sh", "-c", "true"]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`port ${busy.port} is already in use on the host`);
      nothingLeft();
    } finally {
      busy.stop(true);
    }
  });
});

describe("bad input: a clear error and nothing left", () => {
  test.each([
    [["--rm", "nosuch/image:1", "true"], "unknown image nosuch/image:1"],
    [["--rm", "-v", "./relative:/x", IMAGE, "true"], "--volume \"./relative:/x\": the source must be an absolute host path or a volume name"],
    [["--rm", "-v", "/nonexistent-dir:/x", IMAGE, "true"], "--volume /nonexistent-dir:/x: /nonexistent-dir does not exist on the host"],
    [["--rm", "--memory", "lots", IMAGE, "true"], "invalid value for --memory: lots"],
    [["--rm", "-u", "nobody-here", IMAGE, "true"], "no user \"nobody-here\" in the image's /etc/passwd"],
    [["--rm", "--network", "mynet", IMAGE, "true"], "--network \"mynet\": no such network"],
    [["--rm", "--network", "none", "-p", "8080:80", IMAGE, "true"], "--publish needs --network bridge"],
    [["--rm", "--network", "bridge", "-p", "80:99999", IMAGE, "true"], "container port 99999 is not in 1-65535"],
  ])("%j", (args, msg) => {
    const r = run(args as string[]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(msg as string);
    nothingLeft();
  });

  test("a name already used", () => {
    expect(run(["--name", "dup", IMAGE, "sh", "-c", "true"]).code).toBe(0);
    const r = run(["--name", "dup", IMAGE, "sh", "-c", "true"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("--name dup: already used by another container");
    expect(runjs(["rm", "dup"]).code).toBe(0);
    nothingLeft();
    expect(cgroupDirsOf("").filter((d) => readdirSync(d).some((e) => /^[a-f0-9]{64}$/.test(e)))).toEqual([]);
  });
});
