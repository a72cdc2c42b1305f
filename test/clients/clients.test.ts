// The clients people use, driving the runtime: the same scenarios through Podman, containerd
// (ctr) and Docker, each started here with private state, each with RUNTIME as its runtime.
// Every scenario checks from inside the container, and the runtime's call log shows the
// client really went through RUNTIME.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { close } from "../../src/sys/libc.ts";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { openPty, Terminal } from "../integration/pty.ts";
import {
  BIN,
  buildImage,
  CGROUP_PARENT,
  IMAGE,
  ownBridge,
  leftoverCgroups,
  ourMounts,
  ourProcesses,
  removeEverything,
  RUNTIME as RUNTIME_BIN,
  runtimeCalls,
  sh,
  startContainerd,
  startDockerd,
  WORK,
  WRAPPER,
  type Daemon,
  type Result,
} from "./harness.ts";

/** runjs itself, whichever runtime the clients are given: the image front end is runjs's. */
const RUNJS_BIN = join(import.meta.dir, "../../bin/runjs");

interface Opts {
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  hostname?: string;
  readOnly?: boolean;
  memory?: number;
  pids?: number;
  cpus?: number;
  volume?: { src: string; dst: string };
  networkNone?: boolean;
  tty?: boolean;
  /** --ulimit nofile=N:N */
  nofile?: number;
  /** Another image than the test image. */
  image?: string;
}

/** The bridge network's name per client (podman: a CNI network of ours). */
const BRIDGE_NET: Record<string, string> = { podman: "runjs-test", docker: "bridge" };

interface Client {
  name: string;
  /** Through runjs's shim: no runtime binary is called; the shim's own log says it served. */
  viaShim?: boolean;
  /** Scenarios this client has no way to ask for. */
  lacks: string[];
  prepare(): Promise<void>;
  finish(): Promise<void>;
  /** argv of a foreground run that removes the container afterwards. */
  runArgv(o: Opts, cmd: string[], name: string): string[];
  detach(name: string, cmd: string[], publish?: string): Result;
  exec(name: string, cmd: string[], tty?: boolean): string[];
  kill(name: string, sig: string): Result;
  pause(name: string): Result;
  unpause(name: string): Result;
  pid(name: string): number;
  top(name: string): Result;
  stats(name: string): Result;
  stop(name: string): Result;
  rm(name: string): Result;
  listed(name: string): boolean;
  /** The runtime commit the client read from `RUNTIME --version`, where it shows one. */
  runtimeCommit?(): string;
  /** Load an image archive into the client's store. */
  load(archive: string): Result;
  /** Write an image of the client's store to an archive (docker save, podman save, ctr export). */
  save(image: string, archive: string): Result;
}

/** The cgroup directories of a process and its memory usage as the kernel counts it there. */
function containerMemoryUsage(pid: number): { dirs: string[]; bytes: number } {
  const own = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  const dirs: string[] = [];
  let bytes = 0;
  for (const h of hostHierarchies()) {
    const line = own.find((l) => (h.version === 2 ? l.startsWith("0::") : l.split(":")[1]!.split(",").some((x) => h.controllers.includes(x))));
    if (!line) continue;
    const dir = h.mountpoint + line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    dirs.push(dir);
    for (const f of ["memory.usage_in_bytes", "memory.current"])
      if (existsSync(`${dir}/${f}`)) bytes = Math.max(bytes, Number(readFileSync(`${dir}/${f}`, "utf8")));
  }
  return { dirs, bytes };
}

let seq = 0;
const uniq = (p: string) => `${p}-${process.pid}-${++seq}`;

function flagsDockerLike(o: Opts): string[] {
  const a: string[] = [];
  for (const [k, v] of Object.entries(o.env ?? {})) a.push("-e", `${k}=${v}`);
  if (o.workdir) a.push("-w", o.workdir);
  if (o.user) a.push("--user", o.user);
  if (o.hostname) a.push("--hostname", o.hostname);
  if (o.readOnly) a.push("--read-only");
  if (o.memory) a.push("--memory", String(o.memory));
  if (o.pids) a.push("--pids-limit", String(o.pids));
  if (o.cpus) a.push("--cpus", String(o.cpus));
  if (o.volume) a.push("-v", `${o.volume.src}:${o.volume.dst}`);
  if (o.networkNone) a.push("--network", "none");
  if (o.tty) a.push("-t");
  if (o.nofile) a.push("--ulimit", `nofile=${o.nofile}:${o.nofile}`);
  return a;
}

// ---- Podman ---------------------------------------------------------------------------------

function podman(): Client {
  const dir = join(WORK, "podman");
  const conf = join(dir, "containers.conf");
  const base = () => [
    BIN.podman,
    "--root", join(dir, "root"),
    "--runroot", join(dir, "runroot"),
    "--tmpdir", join(dir, "tmp"),
    "--storage-driver", "vfs",
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
    "--runtime", WRAPPER,
  ];
  const env = () => ({ CONTAINERS_CONF: conf });
  const p = (...a: string[]) => sh([...base(), ...a], env());
  return {
    name: "podman",
    lacks: [],
    async prepare() {
      mkdirSync(dir, { recursive: true });
      // Limits within this host's hard ones (root here lacks CAP_SYS_RESOURCE), no network
      // unless asked (nothing is changed on the host's network), private CNI configuration.
      writeFileSync(
        conf,
        [
          "[containers]",
          'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
          'netns = "none"',
          "[engine]",
          `cgroup_manager = "cgroupfs"`,
          "[network]",
          `network_config_dir = "${dir}/cni"`,
          "",
        ].join("\n"),
      );
      // A CNI network of our own for published ports: its own bridge, no masquerading.
      mkdirSync(join(dir, "cni"), { recursive: true });
      writeFileSync(
        join(dir, "cni/runjs-test.conflist"),
        JSON.stringify({
          cniVersion: "0.4.0",
          name: "runjs-test",
          plugins: [
            {
              type: "bridge",
              bridge: "runjs-pm0",
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: { type: "host-local", routes: [{ dst: "0.0.0.0/0" }], ranges: [[{ subnet: "10.251.77.0/24", gateway: "10.251.77.1" }]] },
            },
            { type: "portmap", capabilities: { portMappings: true } },
          ],
        }),
      );
      ownBridge("runjs-pm0");
      // podman has no flag for its configuration file: every podman call reads this
      process.env.CONTAINERS_CONF = conf;
      const r = p("load", "-i", archive);
      if (r.code !== 0) throw new Error(`podman load: ${r.err}`);
    },
    async finish() {
      p("rm", "-af", "-t", "0");
      p("rmi", "-af");
    },
    runArgv: (o, cmd, name) => [...base(), "run", "--rm", "--name", name, "--cgroup-parent", `${CGROUP_PARENT}/podman`, ...flagsDockerLike(o), o.image ?? IMAGE, ...cmd],
    load: (a) => p("load", "-i", a),
    save: (i, a) => p("save", "-o", a, i),
    detach: (name, cmd, publish) =>
      p("run", "-d", "--name", name, "--cgroup-parent", `${CGROUP_PARENT}/podman`, ...(publish ? ["--network", BRIDGE_NET.podman!, "-p", publish] : []), IMAGE, ...cmd),
    exec: (name, cmd, tty) => [...base(), "exec", ...(tty ? ["-t"] : []), name, ...cmd],
    kill: (name, sig) => p("kill", "-s", sig, name),
    pause: (name) => p("pause", name),
    unpause: (name) => p("unpause", name),
    pid: (name) => Number(p("inspect", "--format", "{{.State.Pid}}", name).out.trim()),
    top: (name) => p("top", name),
    stats: (name) => p("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", name),
    stop: (name) => p("stop", "-t", "1", name),
    rm: (name) => p("rm", name),
    listed: (name) => p("ps", "-a", "--format", "{{.Names}}").out.split("\n").includes(name),
  };
}

// ---- containerd (ctr) -----------------------------------------------------------------------

/**
 * ctr through the runc v2 shim with RUNTIME as its runc binary, or (shim) through runjs's own
 * shim, io.containerd.runjs.v2, which runs no runtime binary at all.
 */
function containerd(shim = false): Client {
  let address = "";
  let daemon: Daemon | undefined;
  const client = shim ? "containerd-shim" : "containerd";
  const base = () => [BIN.ctr, "--address", address, "--namespace", "runjs-test"];
  // the shim's runtime root and ctr's fifos would otherwise go under /run/containerd (runjs's
  // shim keeps its containers in /run/containerd/runjs/NAMESPACE, as runc's shim does by default)
  const fifo = () => ["--fifo-dir", join(WORK, client, "fifo")];
  const runtimeFlags = () =>
    shim ? ["--runtime", "io.containerd.runjs.v2", ...fifo()] : ["--runc-binary", WRAPPER, "--runc-root", join(WORK, "containerd/runtime"), ...fifo()];
  const c = (...a: string[]) => sh([...base(), ...a]);
  return {
    name: client,
    viaShim: shim,
    // ctr has no flag for a user, a hostname, a pids limit or an rlimit; its containers have
    // no network but loopback, which is what "network none" checks
    lacks: ["user", "hostname", "pids", "a runtime failure reaches the user with its reason", "published port"],
    async prepare() {
      ({ address, daemon } = await startContainerd(client));
      const r = c("images", "import", archive);
      if (r.code !== 0) throw new Error(`ctr images import: ${r.err}`);
    },
    async finish() {
      for (const line of c("tasks", "ls", "-q").out.split("\n").filter(Boolean)) c("tasks", "kill", "-s", "SIGKILL", line);
      Bun.sleepSync(200);
      for (const line of c("tasks", "ls", "-q").out.split("\n").filter(Boolean)) c("tasks", "rm", "-f", line);
      for (const line of c("containers", "ls", "-q").out.split("\n").filter(Boolean)) c("containers", "rm", line);
      await daemon?.stop();
    },
    runArgv(o, cmd, name) {
      const a = [...base(), "run", "--rm", ...runtimeFlags(), "--cgroup", `${CGROUP_PARENT}/${client}/${name}`];
      for (const [k, v] of Object.entries(o.env ?? {})) a.push("--env", `${k}=${v}`);
      if (o.workdir) a.push("--cwd", o.workdir);
      if (o.readOnly) a.push("--read-only");
      if (o.memory) a.push("--memory-limit", String(o.memory));
      if (o.cpus) a.push("--cpus", String(o.cpus));
      // ctr's default spec has no /sys/fs/cgroup: ask for one to see the limits from inside
      if (o.memory || o.cpus) a.push("--mount", "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec");
      if (o.volume) a.push("--mount", `type=bind,src=${o.volume.src},dst=${o.volume.dst},options=rbind:rw`);
      if (o.tty) a.push("-t");
      return [...a, o.image ?? IMAGE, name, ...cmd];
    },
    load: (a) => c("images", "import", a),
    save: (i, a) => c("images", "export", a, i),
    detach: (name, cmd) =>
      c("run", "-d", ...runtimeFlags(), "--cgroup", `${CGROUP_PARENT}/${client}/${name}`, IMAGE, name, ...cmd),
    exec: (name, cmd, tty) => [...base(), "tasks", "exec", ...(tty ? ["-t"] : []), ...fifo(), "--exec-id", uniq("e"), name, ...cmd],
    kill: (name, sig) => c("tasks", "kill", "-s", `SIG${sig}`, name),
    pause: (name) => c("tasks", "pause", name),
    unpause: (name) => c("tasks", "resume", name),
    pid: (name) => Number(/^\S+\s+(\d+)/m.exec(c("tasks", "ls").out.split("\n").find((l) => l.startsWith(name + " ")) ?? "")?.[1]),
    top: (name) => c("tasks", "ps", name),
    stats: (name) => c("tasks", "metrics", name),
    stop(name) {
      c("tasks", "kill", "-s", "SIGKILL", name);
      for (let i = 0; i < 100 && !/STOPPED/.test(c("tasks", "ls").out.split("\n").find((l) => l.startsWith(name + " ")) ?? "STOPPED"); i++)
        Bun.sleepSync(50);
      return c("tasks", "rm", name);
    },
    rm: (name) => c("containers", "rm", name),
    listed: (name) => c("containers", "ls", "-q").out.split("\n").includes(name),
  };
}

// ---- Docker ---------------------------------------------------------------------------------

function docker(): Client {
  let host = "";
  let daemon: Daemon | undefined;
  const base = () => [BIN.docker, "-H", host];
  const d = (...a: string[]) => sh([...base(), ...a]);
  return {
    name: "docker",
    lacks: [],
    async prepare() {
      ({ host, daemon } = await startDockerd());
      const r = d("load", "-i", archive);
      if (r.code !== 0) throw new Error(`docker load: ${r.err}`);
    },
    async finish() {
      const ids = d("ps", "-aq").out.split("\n").filter(Boolean);
      if (ids.length) d("rm", "-f", ...ids);
      await daemon?.stop();
    },
    runArgv: (o, cmd, name) => [...base(), "run", "--rm", "--name", name, ...flagsDockerLike(o), o.image ?? IMAGE, ...cmd],
    load: (a) => d("load", "-i", a),
    save: (i, a) => d("save", "-o", a, i),
    detach: (name, cmd, publish) => d("run", "-d", "--name", name, ...(publish ? ["-p", publish] : []), IMAGE, ...cmd),
    exec: (name, cmd, tty) => [...base(), "exec", ...(tty ? ["-t"] : []), name, ...cmd],
    kill: (name, sig) => d("kill", "-s", sig, name),
    pause: (name) => d("pause", name),
    unpause: (name) => d("unpause", name),
    pid: (name) => Number(d("inspect", "--format", "{{.State.Pid}}", name).out.trim()),
    top: (name) => d("top", name),
    stats: (name) => d("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", name),
    stop: (name) => d("stop", "-t", "1", name),
    rm: (name) => d("rm", name),
    listed: (name) => d("ps", "-a", "--format", "{{.Names}}").out.split("\n").includes(name),
    runtimeCommit: () => d("info", "--format", "{{.RuncCommit.ID}}").out.trim(),
  };
}

// ---- the scenarios --------------------------------------------------------------------------

let archive = "";
const clients = [podman(), containerd(), containerd(true), docker()];
const wanted = (process.env.RUNJS_CLIENTS ?? "podman,containerd,containerd-shim,docker").split(",");
const available = (c: Client) =>
  wanted.includes(c.name) &&
  existsSync(c.name.startsWith("containerd") ? BIN.containerd : c.name === "docker" ? BIN.dockerd : BIN.podman);

beforeAll(() => {
  archive = buildImage();
});

afterAll(() => {
  removeEverything();
});

/** How many times runjs's shim said it was serving, in containerd's log (the shim's log goes there). */
function shimServed(): number {
  const log = join(WORK, "containerd-shim/log");
  return existsSync(log) ? (readFileSync(log, "utf8").match(/msg="serving on .*runtime=io\.containerd\.runjs\.v2/g) ?? []).length : 0;
}

function run(c: Client, o: Opts, cmd: string[]): Result {
  return sh(c.runArgv(o, cmd, uniq("r")));
}

/** A foreground client command on a pty of ours (the client wants a terminal for -t). */
async function onTerminal(argv: string[]): Promise<{ code: number; out: string }> {
  const [m, s] = openPty();
  const p = Bun.spawn(["setsid", "-c", ...argv], { stdio: [s, s, s], env: process.env });
  close(s);
  const t = new Terminal(m);
  let out = "";
  try {
    out = t.expect(/__END__/, 30000);
    // keep the terminal open until the client is done: closing it would hang it up (SIGHUP)
    const timer = setTimeout(() => p.kill("SIGKILL"), 30000);
    await p.exited;
    clearTimeout(timer);
  } catch (e) {
    out = String(e);
  } finally {
    t.close();
  }
  return { code: await p.exited, out };
}

/** Cgroup file of the container's init on the host, for checks from outside. */
function cgroupFile(pid: number, controller: string, file: string): string {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const [, ctrls, path] = line.split(":");
    if (ctrls !== undefined && ctrls.split(",").includes(controller)) return `/sys/fs/cgroup/${controller}${path}/${file}`;
    if (ctrls === "" && existsSync(`/sys/fs/cgroup/cgroup.controllers`)) return `/sys/fs/cgroup${path}/${file}`;
  }
  return "";
}

function frozen(pid: number): boolean {
  const v1 = cgroupFile(pid, "freezer", "freezer.state");
  if (v1 && existsSync(v1)) return readFileSync(v1, "utf8").trim() === "FROZEN";
  const v2 = cgroupFile(pid, "", "cgroup.freeze");
  return v2 !== "" && readFileSync(v2, "utf8").trim() === "1";
}

for (const c of clients) {
  describe.skipIf(!available(c))(c.name, () => {
    let callsBefore = 0;
    beforeAll(async () => {
      await c.prepare();
      callsBefore = runtimeCalls().length;
    }, 120000);
    afterAll(async () => {
      await c.finish();
    }, 120000);
    const scenario = (name: string, fn: () => void | Promise<void>) =>
      (c.lacks.includes(name) ? test.skip : test)(`${name}`, fn, 60000);

    scenario("run --rm echo: stdout comes back, and the runtime ran it", () => {
      const from = runtimeCalls().length;
      const r = run(c, {}, ["echo", "hello from busybox"]);
      expect(r.err.replace(/^.*level=(info|warning).*\n/gm, "")).toBe("");
      expect(r.out).toBe("hello from busybox\n");
      expect(r.code).toBe(0);
      const calls = runtimeCalls(from).map((l) => l.replace(/^(--\S+( \S+)? )*/, ""));
      if (c.viaShim) {
        // runjs's shim served it, in its own process: no runtime binary was called
        expect(calls).toEqual([]);
        expect(shimServed()).toBeGreaterThan(0);
        return;
      }
      expect(calls.some((l) => /\bcreate\b/.test(l))).toBe(true);
      expect(calls.some((l) => /\bstart\b/.test(l))).toBe(true);
      expect(calls.some((l) => /\bdelete\b/.test(l))).toBe(true);
    });

    scenario("an image written by runjs image save loads in the client and runs", () => {
      const st = join(WORK, `save-store-${c.name}`);
      const file = join(WORK, `saved-${c.name}.tar`);
      const name = `localhost/runjs-test/saved-${c.name}:1`;
      for (const a of [["import", archive], ["tag", IMAGE, name], ["save", "-o", file, name]]) {
        const r = sh([RUNJS_BIN, "image", ...a, "--storage", st]);
        expect([a[0], r.code, r.err]).toEqual([a[0], 0, ""]);
      }
      const l = c.load(file);
      expect([l.code, l.code ? l.err : ""]).toEqual([0, ""]); // (podman load reports its progress on stderr)
      const r = run(c, { image: name }, ["echo", "saved by runjs"]);
      expect([r.out, r.code]).toEqual(["saved by runjs\n", 0]);
    });

    scenario("an image the client saves loads into runjs image load and runs", () => {
      const file = join(WORK, `client-saved-${c.name}.tar`);
      const sv = c.save(IMAGE, file);
      expect([sv.code, sv.code ? sv.err : ""]).toEqual([0, ""]);
      const st = join(WORK, `client-saved-store-${c.name}`);
      const l = sh([RUNJS_BIN, "image", "load", "-i", file, "--storage", st]);
      expect([l.code, l.err]).toEqual([0, ""]);
      const r = sh([RUNJS_BIN, "--root", join(WORK, `client-saved-rt-${c.name}`), "container", "run", "--rm", "--network", "none", "--cgroup-parent", CGROUP_PARENT, "--storage", st, IMAGE, "echo", `saved by ${c.name}`]);
      expect([r.out, r.err, r.code]).toEqual([`saved by ${c.name}\n`, "", 0]);
    });

    scenario("exit code", () => {
      expect(run(c, {}, ["sh", "-c", "exit 3"]).code).toBe(3);
    });

    scenario("tty", async () => {
      // the output crosses two terminals (the container's and ours): \r\r\n
      const r = await onTerminal(c.runArgv({ tty: true }, ["sh", "-c", "tty; echo __END__"], uniq("t")));
      expect(r.out).toMatch(/^\/dev\/pts\/\d+\r+\n/);
      expect(r.code).toBe(0);
    });

    scenario("env", () => {
      expect(run(c, { env: { GREETING: "hi there" } }, ["sh", "-c", "echo $GREETING"]).out).toBe("hi there\n");
    });

    scenario("workdir", () => {
      expect(run(c, { workdir: "/tmp" }, ["pwd"]).out).toBe("/tmp\n");
    });

    scenario("user", () => {
      expect(run(c, { user: "1000:1000" }, ["id"]).out).toMatch(/^uid=1000\(user\) gid=1000\(user\)/);
    });

    scenario("hostname", () => {
      expect(run(c, { hostname: "box1" }, ["hostname"]).out).toBe("box1\n");
    });

    scenario("read-only rootfs", () => {
      const r = run(c, { readOnly: true }, ["sh", "-c", "touch /probe 2>&1; echo rc=$?"]);
      expect(r.out).toContain("Read-only file system");
      expect(r.out).toContain("rc=1");
    });

    scenario("memory limit", () => {
      const r = run(c, { memory: 64 * 1024 * 1024 }, ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]);
      expect(r.out.trim()).toBe(String(64 * 1024 * 1024));
    });

    scenario("pids", () => {
      const r = run(c, { pids: 42 }, ["sh", "-c", "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"]);
      expect(r.out.trim()).toBe("42");
    });

    scenario("cpu limit", () => {
      const r = run(c, { cpus: 0.5 }, ["sh", "-c", "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us"]);
      const n = r.out.trim().split(/\s+/).map(Number);
      expect(n[0]! / n[1]!).toBeCloseTo(0.5, 5);
    });

    scenario("bind-mounted volume", () => {
      const vol = join(WORK, uniq("vol"));
      mkdirSync(vol);
      writeFileSync(join(vol, "in.txt"), "from the host\n");
      const r = run(c, { volume: { src: vol, dst: "/data" } }, ["sh", "-c", "cat /data/in.txt; echo from the container > /data/out.txt"]);
      expect(r.out).toBe("from the host\n");
      expect(readFileSync(join(vol, "out.txt"), "utf8")).toBe("from the container\n");
    });

    scenario("network none", () => {
      const r = run(c, { networkNone: true }, ["sh", "-c", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip addr show lo | grep 'inet '"]);
      expect(r.out.split("\n")[0]).toBe("lo");
      expect(r.out).toContain("inet 127.0.0.1/8");
      expect(r.out.split("\n").filter(Boolean).length).toBe(2); // lo, and its address: nothing else
    });

    scenario("a runtime failure reaches the user with its reason", () => {
      // an open-files limit above this host's hard limit (root lacks CAP_SYS_RESOURCE): the
      // runtime fails create, and the client must show why (from the runtime's json log)
      const r = run(c, { nofile: 30000 }, ["true"]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/rlimit/i);
      expect(r.err).toMatch(/operation not permitted/i);
    });

    scenario("detached run, exec, stop, rm", async () => {
      const name = uniq("d");
      expect(c.detach(name, ["sleep", "1000"]).code).toBe(0);
      const e = sh(c.exec(name, ["sh", "-c", "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '"]));
      expect(e.out).toBe("exec-ok\nsleep 1000 ");
      const t = await onTerminal(c.exec(name, ["sh", "-c", "tty; echo __END__"], true));
      expect(t.out).toMatch(/^\/dev\/pts\/\d+\r+\n/);
      expect(c.stop(name).code).toBe(0);
      expect(c.rm(name).code).toBe(0);
      expect(c.listed(name)).toBe(false);
    });

    scenario("kill with a signal", async () => {
      const name = uniq("k");
      const p = Bun.spawn(c.runArgv({}, ["sh", "-c", "trap 'exit 42' USR1; echo ready; while true; do sleep 0.1; done"], name), {
        stdio: ["ignore", "pipe", "ignore"],
        env: process.env,
      });
      const reader = p.stdout.getReader();
      await reader.read(); // "ready"
      expect(c.kill(name, "USR1").code).toBe(0);
      expect(await p.exited).toBe(42);
    });

    scenario("published port", async () => {
      const name = uniq("w");
      const port = 20000 + Math.floor(Math.random() * 20000);
      const r = c.detach(name, ["httpd", "-f", "-p", "80", "-h", "/www"], `127.0.0.1:${port}:80`);
      expect(r.err.replace(/^.*level=(info|warning).*\n/gm, "")).toBe("");
      let body = "";
      for (let i = 0; i < 50 && !body; i++) {
        try {
          body = await (await fetch(`http://127.0.0.1:${port}/index.html`)).text();
        } catch {
          await Bun.sleep(100);
        }
      }
      expect(body).toBe("hello from runjs\n");
      c.stop(name);
      c.rm(name);
    });

    scenario("pause and unpause", () => {
      const name = uniq("p");
      expect(c.detach(name, ["sleep", "1000"]).code).toBe(0);
      const pid = c.pid(name);
      expect(pid).toBeGreaterThan(0);
      expect(c.pause(name).code).toBe(0);
      expect(frozen(pid)).toBe(true);
      expect(c.unpause(name).code).toBe(0);
      expect(frozen(pid)).toBe(false);
      c.stop(name);
      c.rm(name);
    });

    scenario("stats and top", () => {
      const name = uniq("s");
      expect(c.detach(name, ["sleep", "1000"]).code).toBe(0);
      const pid = c.pid(name);
      const top = c.top(name);
      expect(top.code).toBe(0);
      expect(top.out).toContain(c.name.startsWith("containerd") ? String(pid) : "sleep");
      // What the runtime controls: the container sits in the cgroup its client asked for, in
      // every hierarchy, where its usage can be read.
      const usage = containerMemoryUsage(pid);
      expect(usage.dirs.every((d) => d.includes(`${CGROUP_PARENT}/${c.name}/`))).toBe(true);
      expect(usage.bytes).toBeGreaterThan(0);
      // Whether the client reads those files is its own business: containerd's cgroup v1 loader
      // (behind `ctr tasks metrics` and `docker stats`) reads nothing on some hybrid hosts,
      // with runc as with runjs. When it does report, the figures are real.
      const st = c.stats(name);
      if (st.code === 0 && !/ 0B \/ 0B /.test(st.out))
        expect(st.out).toMatch(c.name.startsWith("containerd") ? /memory\.(usage_in_bytes|usage)\s+\d+/ : /\d+(\.\d+)?\s*[kKMG]i?B/);
      c.stop(name);
      c.rm(name);
    });

    test.skipIf(!c.runtimeCommit)("the client parses the runtime's --version", () => {
      const v = sh([RUNTIME_BIN, "--version"]).out;
      const commit = /^commit: (\S+)$/m.exec(v)?.[1];
      expect(commit).toBeDefined();
      expect(c.runtimeCommit!()).toBe(commit!);
    });

    test("nothing of the containers is left: processes, mounts, cgroups", async () => {
      await c.finish();
      await Bun.sleep(200);
      if (c.viaShim) expect(shimServed()).toBeGreaterThan(0);
      else expect(runtimeCalls().length).toBeGreaterThan(callsBefore);
      const procs = ourProcesses().filter((p) => {
        try {
          const argv0 = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0]!;
          return argv0 !== (c.name === "docker" ? BIN.dockerd : BIN.containerd);
        } catch {
          return false;
        }
      });
      expect(procs).toEqual([]);
      expect(ourMounts().filter((m) => m.includes(`/${c.name}/`) && /(shm|rootfs|merged|userdata)/.test(m))).toEqual([]);
      // (podman keeps the cgroup it makes for conmon, its monitor, whatever the runtime)
      expect(leftoverCgroups().filter((d) => d.includes(`${CGROUP_PARENT}/${c.name}/`) && !d.endsWith("/conmon"))).toEqual([]);
    }, 120000);
  });
}

// ---- runjs's shim under faults -------------------------------------------------------------

describe.skipIf(!wanted.includes("containerd-shim") || !existsSync(BIN.containerd))("containerd-shim faults", () => {
  const NAME = "containerd-faults";
  let address = "";
  let daemon: Daemon | undefined;
  const ctr = (...a: string[]) => sh([BIN.ctr, "--address", address, "--namespace", "runjs-test", ...a]);
  const runD = (id: string, ...cmd: string[]) =>
    ctr("run", "-d", "--runtime", "io.containerd.runjs.v2", "--fifo-dir", join(WORK, NAME, "fifo"), "--cgroup", `${CGROUP_PARENT}/${NAME}/${id}`, IMAGE, id, ...cmd);
  const taskPid = (id: string) => Number(/^\S+\s+(\d+)/m.exec(ctr("tasks", "ls").out.split("\n").find((l) => l.startsWith(id + " ")) ?? "")?.[1]);
  const bundle = (id: string) => join(WORK, NAME, "state/io.containerd.runtime.v2.task/runjs-test", id);
  const shimPid = (id: string) => {
    const sock = readFileSync(join(bundle(id), "address"), "utf8").replace("unix://", "");
    return ourProcesses().find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`-socket\0${sock}`);
      } catch {
        return false;
      }
    });
  };
  const gone = (pid: number) => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, "utf8");
      return st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3) === "Z"; // dead, its reaper not yet round
    } catch {
      return true;
    }
  };
  const log = () => readFileSync(join(WORK, NAME, "log"), "utf8");
  const waitUntil = async (f: () => boolean, ms = 10000) => {
    for (let t = 0; t < ms && !f(); t += 50) await Bun.sleep(50);
    return f();
  };
  /** Nothing of container id is left: process, state, rootfs mount, cgroup. */
  const nothingLeftOf = (id: string, pid: number) => {
    expect(gone(pid)).toBe(true);
    expect(existsSync(`/run/containerd/runjs/runjs-test/${id}`)).toBe(false);
    expect(ourMounts().filter((m) => m.includes(`/${id}/`))).toEqual([]);
    expect(leftoverCgroups().filter((d) => d.includes(`${CGROUP_PARENT}/${NAME}/${id}`))).toEqual([]);
  };

  beforeAll(async () => {
    ({ address, daemon } = await startContainerd(NAME));
    const r = ctr("images", "import", archive);
    if (r.code !== 0) throw new Error(`ctr images import: ${r.err}`);
  }, 120000);
  afterAll(async () => {
    for (const id of ctr("tasks", "ls", "-q").out.split("\n").filter(Boolean)) ctr("tasks", "kill", "-s", "SIGKILL", id);
    await Bun.sleep(200);
    for (const id of ctr("tasks", "ls", "-q").out.split("\n").filter(Boolean)) ctr("tasks", "rm", "-f", id);
    for (const id of ctr("containers", "ls", "-q").out.split("\n").filter(Boolean)) ctr("containers", "rm", id);
    await daemon?.stop();
  }, 120000);

  test("a shim killed with SIGKILL: containerd's delete cleans up after it", async () => {
    expect(runD("k1", "sleep", "1000").code).toBe(0);
    const pid = taskPid("k1");
    const shim = shimPid("k1");
    expect(pid).toBeGreaterThan(0);
    expect(shim).toBeDefined();
    process.kill(shim!, "SIGKILL");
    // containerd sees the connection close and runs `containerd-shim-runjs-v2 delete`
    expect(await waitUntil(() => gone(pid) && !existsSync(`/run/containerd/runjs/runjs-test/k1`))).toBe(true);
    expect(await waitUntil(() => !/^k1\s+\d+\s+RUNNING/m.test(ctr("tasks", "ls").out))).toBe(true);
    nothingLeftOf("k1", pid);
    expect(ctr("containers", "rm", "k1").code).toBe(0);
  }, 60000);

  test("containerd restarted while a container runs: the shim stays, containerd reconnects", async () => {
    expect(runD("k2", "sleep", "1000").code).toBe(0);
    const pid = taskPid("k2");
    const shim = shimPid("k2")!;
    await daemon!.stop();
    await Bun.sleep(300);
    expect([gone(shim), gone(pid)]).toEqual([false, false]);
    ({ address, daemon } = await startContainerd(NAME));
    expect(await waitUntil(() => taskPid("k2") === pid)).toBe(true);
    expect(ctr("tasks", "ls").out).toMatch(new RegExp(`^k2\\s+${pid}\\s+RUNNING`, "m"));
    // the reconnected shim still does its work: an exec, then the kill and its exit event
    const e = ctr("tasks", "exec", "--fifo-dir", join(WORK, NAME, "fifo"), "--exec-id", "after-restart", "k2", "echo", "still here");
    expect([e.code, e.out]).toEqual([0, "still here\n"]);
    expect(ctr("tasks", "kill", "-s", "SIGKILL", "k2").code).toBe(0);
    expect(await waitUntil(() => /^k2\s+\d+\s+STOPPED/m.test(ctr("tasks", "ls").out))).toBe(true);
    expect(ctr("tasks", "rm", "k2").code).toBe(0);
    expect(await waitUntil(() => gone(shim))).toBe(true); // its last task gone, the shim exits
    nothingLeftOf("k2", pid);
    ctr("containers", "rm", "k2");
  }, 60000);

  test("a malformed ttrpc frame closes that connection, with the reason logged; the shim serves on", async () => {
    expect(runD("k3", "sleep", "1000").code).toBe(0);
    const sock = readFileSync(join(bundle("k3"), "address"), "utf8").replace("unix://", "");
    let closed!: () => void;
    const done = new Promise<void>((r) => (closed = r));
    const s = await Bun.connect({ unix: sock, socket: { data() {}, close: () => closed(), error: () => closed() } });
    // a header that claims a 5 MiB message: more than ttrpc's 4 MiB limit
    s.write(new Uint8Array([0x00, 0x50, 0x00, 0x00, 0, 0, 0, 1, 1, 0]));
    await Promise.race([done, Bun.sleep(5000)]);
    expect(await waitUntil(() => /closing a connection: .*4194304/.test(log()))).toBe(true);
    const e = ctr("tasks", "exec", "--fifo-dir", join(WORK, NAME, "fifo"), "--exec-id", "after-bad-frame", "k3", "echo", "served");
    expect([e.code, e.out]).toEqual([0, "served\n"]);
    const pid = taskPid("k3");
    ctr("tasks", "kill", "-s", "SIGKILL", "k3");
    await waitUntil(() => /^k3\s+\d+\s+STOPPED/m.test(ctr("tasks", "ls").out));
    expect(ctr("tasks", "rm", "k3").code).toBe(0);
    ctr("containers", "rm", "k3");
    nothingLeftOf("k3", pid);
  }, 60000);

  test("a pod's containers share one shim, which exits with the last of them", async () => {
    const group = ["--annotation", "io.containerd.runc.v2.group=pod-g1"];
    for (const id of ["g1", "g2"])
      expect(ctr("run", "-d", "--runtime", "io.containerd.runjs.v2", ...group, "--fifo-dir", join(WORK, NAME, "fifo"), "--cgroup", `${CGROUP_PARENT}/${NAME}/${id}`, IMAGE, id, "sleep", "1000").code).toBe(0);
    const shim = shimPid("g1")!;
    expect(shim).toBeDefined();
    expect(shimPid("g2")).toBe(shim);
    expect(readFileSync(join(bundle("g1"), "address"), "utf8")).toBe(readFileSync(join(bundle("g2"), "address"), "utf8"));
    const pids = ["g1", "g2"].map(taskPid);
    for (const id of ["g1", "g2"]) ctr("tasks", "kill", "-s", "SIGKILL", id);
    expect(await waitUntil(() => ["g1", "g2"].every((id) => /STOPPED/.test(ctr("tasks", "ls").out.split("\n").find((l) => l.startsWith(id + " ")) ?? "")))).toBe(true);
    expect(ctr("tasks", "rm", "g1").code).toBe(0);
    expect(gone(shim)).toBe(false); // g2 is still its task
    expect(ctr("tasks", "rm", "g2").code).toBe(0);
    expect(await waitUntil(() => gone(shim))).toBe(true);
    for (const id of ["g1", "g2"]) ctr("containers", "rm", id);
    ["g1", "g2"].forEach((id, i) => nothingLeftOf(id, pids[i]!));
  }, 60000);

  test("an OOM kill is published as /tasks/oom before the exit", async () => {
    const events = Bun.spawn([BIN.ctr, "--address", address, "--namespace", "runjs-test", "events"], { stdout: "pipe", stderr: "ignore" });
    await Bun.sleep(200);
    const r = ctr("run", "--rm", "--runtime", "io.containerd.runjs.v2", "--memory-limit", String(32 << 20), "--fifo-dir", join(WORK, NAME, "fifo"),
      "--cgroup", `${CGROUP_PARENT}/${NAME}/oom1`, IMAGE, "oom1", "sh", "-c", "x=a; while :; do x=$x$x; done");
    expect(r.code).toBe(137);
    await Bun.sleep(300);
    events.kill();
    const out = await new Response(events.stdout).text();
    const oom = out.indexOf('/tasks/oom {"container_id":"oom1"}');
    expect(oom).toBeGreaterThan(-1);
    expect(out.indexOf("/tasks/exit", oom)).toBeGreaterThan(oom);
  }, 60000);

  test("a container the runtime refuses: the error names the field, and nothing is left", async () => {
    const r = ctr("run", "--rm", "--runtime", "io.containerd.runjs.v2", "--fifo-dir", join(WORK, NAME, "fifo"), "--cgroup", `${CGROUP_PARENT}/${NAME}/k4`,
      "--mount", "type=bind,src=/nonexistent-runjs-source,dst=/x,options=rbind", IMAGE, "k4", "true");
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/mounts\[\d+\].*\/nonexistent-runjs-source/);
    ctr("containers", "rm", "k4");
    expect(await waitUntil(() => !ourProcesses().some((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("-id\0k4\0")))).toBe(true);
    expect(existsSync(`/run/containerd/runjs/runjs-test/k4`)).toBe(false);
    // (this namespace's last container: its state directory went with it)
    expect(existsSync(`/run/containerd/runjs/runjs-test`)).toBe(false);
    expect(ourMounts().filter((m) => m.includes("/k4/"))).toEqual([]);
    expect(leftoverCgroups().filter((d) => d.includes(`${CGROUP_PARENT}/${NAME}/k4`))).toEqual([]);
  }, 60000);
});
