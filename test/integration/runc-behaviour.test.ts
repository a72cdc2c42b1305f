// What runc's own integration suite expects of a runtime, checked here on every CI run (the
// suite itself runs by hand: test/conformance/runc-bats.sh). Each case is one runc behaviour
// that callers, scripts and runc's tests rely on; the bats file and test it comes from is
// named beside it.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { CGROUP_PARENT, cgroupDirsOf, cleanupAll, newEnv, removeCgroupParent, RUNJS as RUNJS_BIN, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const v1 = (c: string) => hostHierarchies().find((h) => h.version === 1 && h.controllers.includes(c));

function running(env: Env, id = env.id): void {
  env.spec.process!.args = ["sleep", "1000"];
  env.write();
  const r = env.runjs(["run", "-d", id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
}

/** Write the spec and run it attached. */
function run(env: Env): { code: number; out: string; err: string } {
  env.write();
  return env.runjs(["run", env.id]);
}

function waitStopped(env: Env, id = env.id): void {
  for (let i = 0; i < 300 && !env.runjs(["state", id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
}

describe("the command line (help.bats, version.bats, debug.bats, kill.bats)", () => {
  test("help pages in runc's layout: NAME, USAGE, OPTIONS; an unknown topic is runc's error, status 3", () => {
    const env = newEnv();
    for (const args of [["-h"], ["--help"], ["help"]]) {
      const r = env.runjs(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^NAME:\n {3}runjs - /);
      expect(r.out).toContain("\nCOMMANDS:\n");
      expect(r.out).toContain("\nGLOBAL OPTIONS:\n");
    }
    for (const verb of ["checkpoint", "delete", "events", "exec", "kill", "list", "pause", "restore", "resume", "spec", "start", "run", "state", "update"]) {
      const r = env.runjs([verb, "-h"]);
      expect(r.code).toBe(0);
      expect(r.out.split("\n")[1]).toMatch(new RegExp(`^ {3}runjs ${verb} - `));
      expect(r.out).toContain(`\nUSAGE:\n   runjs ${verb}`);
      expect(env.runjs(["help", verb]).out).toBe(r.out);
    }
    const foo = env.runjs(["foo", "-h"]);
    expect(foo.code).toBe(3);
    expect(foo.err).toContain("No help topic for 'foo'");
  });

  test("--version: NAME version X.Y.Z, commit:, spec: (what Docker reads)", () => {
    const r = newEnv().runjs(["--version"]);
    expect(r.out).toMatch(/^runjs version \d+\.\d+\.\d+\ncommit: \S+\nspec: \d+\.\d+\.\d+\n$/);
  });

  test("--debug: level=debug lines on stderr; with --log they go to the file (text or json), which exists even when nothing is wrong", () => {
    const env = newEnv(["true"]);
    const plain = env.runjs(["--debug", "run", env.id]);
    expect(plain.code).toBe(0);
    expect(plain.err).toMatch(/^time="[^"]+" level=debug msg="/m);
    for (const format of ["text", "json"]) {
      const log = join(env.dir, `log.${format}`);
      const r = env.runjs(["--log", log, "--log-format", format, "--debug", "run", env.id]);
      expect(r.code).toBe(0);
      expect(r.err).not.toContain("level=debug");
      expect(readFileSync(log, "utf8")).toContain(format === "json" ? '"level":"debug"' : "level=debug");
    }
    const quiet = join(env.dir, "quiet.log");
    expect(env.runjs(["--log", quiet, "state", "nope"]).code).toBe(1);
    expect(existsSync(quiet)).toBe(true);
    const empty = join(env.dir, "empty.log");
    expect(env.runjs(["--log", empty, "list"]).code).toBe(0);
    expect(readFileSync(empty, "utf8")).toBe("");
  });

  test("kill: signal 0 asks whether the init is there; --all on a stopped container succeeds, alone it is refused", () => {
    const env = newEnv();
    running(env);
    expect(env.runjs(["kill", env.id, "0"]).code).toBe(0);
    expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
    waitStopped(env);
    expect(env.runjs(["kill", "-a", env.id, "0"]).code).toBe(0);
    const alone = env.runjs(["kill", env.id, "0"]);
    expect(alone.code).toBe(1);
    expect(alone.err).toContain("container not running");
    expect(env.runjs(["delete", env.id]).code).toBe(0);
  });

  test("kill KILL without a pid namespace of its own kills every process of the container's cgroup", () => {
    const env = newEnv();
    env.spec.linux!.namespaces = env.spec.linux!.namespaces!.filter((n) => n.type !== "pid");
    running(env);
    const child = env.runjs(["exec", "-d", env.id, "sleep", "1001"]);
    expect(child.code).toBe(0);
    const procs = () => readFileSync(join(cgroupDirsOf(env.id)[0]!, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
    expect(procs().length).toBe(2);
    expect(env.runjs(["kill", env.id, "KILL"]).code).toBe(0);
    for (let i = 0; i < 200 && procs().length; i++) Bun.sleepSync(10);
    expect(procs()).toEqual([]);
  });

  test("exec: a failure of the runtime is status 255, the process's own statuses pass through", () => {
    const env = newEnv();
    running(env);
    expect(env.runjs(["exec", env.id, "false"]).code).toBe(1);
    expect(env.runjs(["exec", env.id, "sh", "-c", "exit 42"]).code).toBe(42);
    expect(env.runjs(["exec", "--pid-file", "/non-existent/directory", env.id, "true"]).code).toBe(255);
    expect(env.runjs(["exec", env.id, "no-such-binary"]).code).toBe(255);
    const none = env.runjs(["exec", "no_such_container", "true"]);
    expect(none.code).toBe(255);
    expect(none.err).toContain("exec failed: container does not exist: no_such_container");
  });
});

describe("bundles as runc reads them (cgroups.bats, run.bats, update.bats)", () => {
  test("field names are matched as Go's decoder matches them: hugepageLimits[].pagesize is pageSize", () => {
    const env = newEnv();
    (env.spec.linux as any).resources = { hugepageLimits: [{ pagesize: "2MB", limit: 2097152 }] };
    env.write();
    const r = env.runjs(["create", env.id]);
    // on a host without the hugetlb controller the error names the field, not a missing key
    if (r.code !== 0) expect(r.err).toContain("linux.resources.hugepageLimits: the hugetlb controller");
    else {
      const dir = cgroupDirsOf(env.id).find((d) => existsSync(join(d, "hugetlb.2MB.limit_in_bytes")) || existsSync(join(d, "hugetlb.2MB.max")))!;
      const f = ["hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max"].find((x) => existsSync(join(dir, x)))!;
      expect(readFileSync(join(dir, f), "utf8").trim()).toBe("2097152");
      // reservations get the same limit, where the kernel has them
      const rsvd = f.replace("2MB.", "2MB.rsvd.");
      if (existsSync(join(dir, rsvd))) expect(readFileSync(join(dir, rsvd), "utf8").trim()).toBe("2097152");
    }
  });

  test("an empty namespace path means a new namespace", () => {
    const env = newEnv(["true"]);
    env.spec.linux!.namespaces = env.spec.linux!.namespaces!.map((n) => (n.type === "mount" ? { type: "mount", path: "" } : n));
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  test("device rule access letters other than r, w, m are ignored with a warning", () => {
    const env = newEnv(["true"]);
    env.spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 11, access: "rwa" }] };
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('linux.resources.devices[1].access: "rwa": only r, w and m are device permissions');
  });

  test("a negative memory limit other than -1 is refused, naming the field, leaving nothing", () => {
    const env = newEnv(["true"]);
    env.spec.linux!.resources = { memory: { limit: -12345 } };
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("linux.resources.memory.limit: must be -1 (no limit) or a number of bytes, got -12345");
    expect(existsSync(join(env.root, env.id))).toBe(false);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  });

  test.skipIf(!hostHierarchies().some((h) => h.version === 1))("on a host with cgroup v1, resources.unified is refused as runc refuses it", () => {
    const env = newEnv(["true"]);
    env.spec.linux!.resources = { unified: { "memory.min": "131072" } };
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("linux.resources.unified: invalid configuration: cannot use unified on cgroup v1");
    expect(cgroupDirsOf(env.id)).toEqual([]);
  });
});

describe("cgroups (cgroups.bats, delete.bats, exec.bats, update.bats)", () => {
  test("a cgroup that already has processes is refused, as is a frozen one; the first container is untouched", () => {
    const a = newEnv();
    running(a);
    const b = newEnv();
    b.spec.linux!.cgroupsPath = a.spec.linux!.cgroupsPath;
    b.spec.process!.args = ["true"];
    b.write();
    const r = b.runjs(["run", b.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("container's cgroup is not empty: 1 process(es) found");
    expect(existsSync(join(b.root, b.id))).toBe(false);
    expect(JSON.parse(a.runjs(["state", a.id]).out).status).toBe("running");
    // a frozen, empty cgroup
    const c = newEnv(["true"]);
    const frozen = cgroupDirsOf(a.id).length ? hostHierarchies().find((h) => h.version === 1 && h.controllers.includes("freezer")) : undefined;
    const dir = frozen ? `${frozen.mountpoint}${CGROUP_PARENT}/${c.id}` : undefined;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "freezer.state"), "FROZEN");
      try {
        const f = c.runjs(["run", c.id]);
        expect(f.code).toBe(1);
        expect(f.err).toContain("container's cgroup unexpectedly frozen");
      } finally {
        writeFileSync(join(dir, "freezer.state"), "THAWED");
        rmdirSync(dir);
      }
    }
  });

  test.skipIf(!v1("memory") || !v1("freezer"))("delete --force removes sub-cgroups the container made, and kills what runs in them", () => {
    const env = newEnv();
    env.spec.linux!.namespaces!.push({ type: "cgroup" });
    env.spec.mounts = env.spec.mounts!.map((m) => (m.type === "cgroup" ? { ...m, options: (m.options ?? []).filter((o) => o !== "ro") } : m));
    running(env);
    const r = env.runjs(["exec", env.id, "sh", "-euc", "sleep 1d & for s in memory freezer; do mkdir /sys/fs/cgroup/$s/foo; echo $! > /sys/fs/cgroup/$s/foo/tasks; done"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    for (const c of ["memory", "freezer"]) expect(existsSync(`${v1(c)!.mountpoint}${CGROUP_PARENT}/${env.id}/foo`)).toBe(true);
    expect(env.runjs(["delete", "--force", env.id]).code).toBe(0);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  });

  test.skipIf(!v1("memory"))("exec --cgroup: into a sub-cgroup; refused above the container's, or for an unknown controller", () => {
    const env = newEnv();
    running(env);
    const base = `${v1("memory")!.mountpoint}${CGROUP_PARENT}/${env.id}`;
    expect(env.runjs(["exec", "--cgroup", "..", env.id, "true"]).err).toContain(".. is not a sub cgroup path");
    const missing = env.runjs(["exec", "--cgroup", "nonexistent", env.id, "true"]);
    expect(missing.code).toBe(255);
    expect(missing.err).toMatch(/ adding pid \d+ to cgroups: .*\/nonexistent\/cgroup\.procs: no such file /);
    expect(env.runjs(["exec", "--cgroup", "whaaat:/", env.id, "true"]).err).toContain("unknown controller whaaat");
    mkdirSync(join(base, "submem"));
    const r = env.runjs(["exec", "--cgroup", "memory:submem", env.id, "cat", "/proc/self/cgroup"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`:memory:${CGROUP_PARENT}/${env.id}/submem\\n`));
    // the container's own cgroup elsewhere
    expect(r.out).toMatch(new RegExp(`:pids:${CGROUP_PARENT}/${env.id}\\n`));
  });

  test.skipIf(!v1("cpu"))("update: a shorter CFS period under a parent's quota is written after the quota, as runc does", () => {
    const env = newEnv();
    const pod = `${v1("cpu")!.mountpoint}${CGROUP_PARENT}/pod-${env.id}`;
    mkdirSync(pod, { recursive: true });
    try {
      writeFileSync(join(pod, "cpu.cfs_quota_us"), "50000");
      env.spec.linux!.cgroupsPath = `${CGROUP_PARENT}/pod-${env.id}/${env.id}`;
      env.spec.linux!.resources = { cpu: { quota: 500000, period: 1000000 } };
      running(env);
      const dir = `${pod}/${env.id}`;
      expect(env.runjs(["update", "--cpu-quota", "600000", env.id]).code).toBe(1); // above the parent's 50%
      const r = env.runjs(["update", "--cpu-period", "10000", "--cpu-quota", "3000", env.id]);
      expect(r.err).toBe("");
      expect([readFileSync(join(dir, "cpu.cfs_quota_us"), "utf8").trim(), readFileSync(join(dir, "cpu.cfs_period_us"), "utf8").trim()]).toEqual(["3000", "10000"]);
      expect(env.runjs(["delete", "--force", env.id]).code).toBe(0);
    } finally {
      for (const h of hostHierarchies()) {
        try {
          rmdirSync(`${h.mountpoint}${CGROUP_PARENT}/pod-${env.id}`);
        } catch {
          /* not made there */
        }
      }
    }
  });

  test.skipIf(!v1("cpuset"))("an empty v1 cpuset parent made by someone else is filled in, so the container can join", () => {
    const env = newEnv(["true"]);
    const pod = `${v1("cpuset")!.mountpoint}${CGROUP_PARENT}/pod-${env.id}`;
    mkdirSync(pod, { recursive: true });
    try {
      expect(readFileSync(join(pod, "cpuset.cpus"), "utf8").trim()).toBe("");
      env.spec.linux!.cgroupsPath = `${CGROUP_PARENT}/pod-${env.id}/${env.id}`;
      env.write();
      const r = env.runjs(["run", env.id]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(readFileSync(join(pod, "cpuset.cpus"), "utf8").trim()).not.toBe("");
    } finally {
      for (const h of hostHierarchies()) {
        try {
          rmdirSync(`${h.mountpoint}${CGROUP_PARENT}/pod-${env.id}`);
        } catch {
          /* not made there */
        }
      }
    }
  });
});

describe("the container's filesystem and process (run.bats, no_pivot.bats, userns.bats, start_hello.bats, hooks.bats)", () => {
  test("a tmpfs over an existing directory takes its mode, set-id and sticky bits included, unless mode= is given", () => {
    const env = newEnv(["sh", "-c", "stat -c %A /tmp; stat -c %a /mnt/t"]);
    chmodSync(join(env.bundle, "rootfs/tmp"), 0o7777);
    mkdirSync(join(env.bundle, "rootfs/mnt/t"), { recursive: true });
    chmodSync(join(env.bundle, "rootfs/mnt/t"), 0o710);
    env.spec.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["noexec", "nosuid", "nodev"] });
    env.spec.mounts!.push({ destination: "/mnt/t", type: "tmpfs", source: "tmpfs", options: [] });
    env.write();
    let r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("drwsrwsrwt\n710\n");
    env.spec.mounts!.at(-1)!.options = ["mode=0444"];
    env.write();
    r = env.runjs(["run", env.id]);
    expect(r.out).toBe("drwsrwsrwt\n444\n");
  });

  test("--no-pivot: the host's /proc is not left as a licence to mount a fresh one", () => {
    const env = newEnv(["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"]);
    const caps = env.spec.process!.capabilities!;
    caps.bounding = [...caps.bounding!, "CAP_SETFCAP"];
    caps.permitted = [...caps.permitted!, "CAP_SETFCAP"];
    env.write();
    const r = env.runjs(["run", "--no-pivot", env.id]);
    expect(r.out).not.toContain("mounted");
    expect(r.err).toContain("mount: permission denied");
  });

  test("with a user namespace, bind sources only the host's root may reach are mounted all the same, run and exec", () => {
    const env = newEnv();
    env.spec.linux!.namespaces!.push({ type: "user" });
    env.spec.linux!.uidMappings = [{ hostID: 100000, containerID: 0, size: 65534 }];
    env.spec.linux!.gidMappings = [{ hostID: 200000, containerID: 0, size: 65534 }];
    for (const n of ["1", "2"]) {
      mkdirSync(join(env.dir, `locked-${n}/dir`), { recursive: true });
      writeFileSync(join(env.dir, `locked-${n}/dir/foo.txt`), n);
      chmodSync(join(env.dir, `locked-${n}`), 0o700);
      mkdirSync(join(env.bundle, `rootfs/tmp/mount-${n}`)); // the targets, as runc's test makes them
      env.spec.mounts!.push({ source: join(env.dir, `locked-${n}/dir`), destination: `/tmp/mount-${n}`, type: "bind", options: ["bind"] });
    }
    chmodSync(env.dir, 0o755);
    running(env);
    const r = env.runjs(["exec", env.id, "cat", "/tmp/mount-1/foo.txt", "/tmp/mount-2/foo.txt"]);
    expect(r.err).toBe("");
    expect(r.out).toBe("12");
  });

  test("a non-root user with CAP_DAC_OVERRIDE runs a program only root may execute", () => {
    const env = newEnv(["/bin/echo", "ran"]);
    const echo = join(env.bundle, "rootfs/bin/echo");
    // the rootfs's applets are symlinks to busybox: a copy of our own, owner-only executable
    Bun.spawnSync(["rm", echo]);
    Bun.spawnSync(["cp", join(env.bundle, "rootfs/bin/busybox"), echo]);
    chmodSync(echo, 0o744);
    env.spec.process!.user = { uid: 1000, gid: 100 };
    env.write();
    expect(env.runjs(["run", env.id]).code).not.toBe(0);
    const caps = env.spec.process!.capabilities!;
    for (const s of ["bounding", "effective", "permitted", "inheritable", "ambient"] as const) caps[s] = [...(caps[s] ?? []), "CAP_DAC_OVERRIDE"];
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("ran\n");
  });

  test("createContainer hooks run with the container's root as their working directory", () => {
    const env = newEnv(["cat", "/from-hook"]);
    env.spec.root!.readonly = false;
    env.spec.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", "echo made-here > ./from-hook"] }] };
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("made-here\n");
  });

  test("a startContainer hook that fails (here: killed by the container's seccomp filter) fails start with its reason", () => {
    const env = newEnv(["/bin/true"]);
    env.spec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }] };
    env.spec.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /dev/shm/foo"] }] };
    env.write();
    expect(env.runjs(["create", env.id]).code).toBe(0);
    const r = env.runjs(["start", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("container init failed to start: hooks.startContainer[0]: hook /bin/sh: error running startContainer hook #0: killed by signal 31 (bad system call)");
  });
});

describe("what runc 1.2 and later do (env.bats, memorypolicy.bats, pidfd-socket.bats, mask.bats, mounts*.bats, cpu_affinity.bats)", () => {
  test("HOME: from the user's entry in the container's /etc/passwd when unset or empty, / without one; exec likewise", () => {
    const env = newEnv(["sh", "-c", 'echo "$HOME"']);
    writeFileSync(join(env.bundle, "rootfs/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\ntempuser:x:2000:2000::/home/tempuser:/bin/sh\n");
    env.spec.process!.env = ["PATH=/bin", "HOME="];
    let r = run(env);
    expect(r.out).toBe("/root\n");
    env.spec.process!.env = ["PATH=/bin", "HOME=/kept"];
    expect(run(env).out).toBe("/kept\n");
    env.spec.process!.env = ["PATH=/bin"];
    env.spec.process!.user = { uid: 4242, gid: 4242 };
    expect(run(env).out).toBe("/\n");
    env.spec.process!.user = { uid: 0, gid: 0 };
    running(env);
    r = env.runjs(["exec", "-u", "2000", env.id, "sh", "-c", 'echo "$HOME"']);
    expect(r.out).toBe("/home/tempuser\n");
  });

  test("a startContainer hook without env of its own runs with the process's environment", () => {
    const env = newEnv(["true"]);
    env.spec.root!.readonly = false;
    env.spec.process!.env = ["ONE=two", "PATH=/bin"];
    env.spec.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'echo "$ONE $HOME" > /hook.out'] }] };
    const r = run(env);
    expect(r.err).toBe("");
    expect(readFileSync(join(env.bundle, "rootfs/hook.out"), "utf8")).toBe("two /root\n");
  });

  test("linux.memoryPolicy: set_mempolicy with its mode, flags and nodes; runc's words for what it refuses", () => {
    const env = newEnv(["sh", "-c", "head -n 1 /proc/self/numa_maps | cut -d ' ' -f 2"]);
    env.spec.linux!.memoryPolicy = { mode: "MPOL_BIND", nodes: "0", flags: ["MPOL_F_STATIC_NODES"] };
    let r = run(env);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^bind=static:0\n$/);
    env.spec.linux!.memoryPolicy = { mode: "MPOL_INTERLEAVE", nodes: "0" };
    expect(run(env).out).toBe("interleave:0\n");
    env.spec.linux!.memoryPolicy = { mode: "MPOL_DEFAULT" };
    expect(run(env).out).toBe("default\n");
    env.spec.linux!.memoryPolicy = { mode: "MPOL_DEFAULT", nodes: "0-7" };
    r = run(env);
    expect(r.code).toBe(1);
    expect(r.err).toContain("memory policy mode requires 0 nodes but got 8");
  });

  test("--pidfd-socket: the init's pidfd arrives over the socket, and kills it", async () => {
    const env = newEnv(["sleep", "1000"]);
    env.write();
    const sock = join(env.dir, "pidfd.sock");
    const { ConsoleListener } = await import("./pty.ts");
    const l = new ConsoleListener(sock);
    try {
      expect(env.runjs(["run", "-d", "--pidfd-socket", sock, env.id]).code).toBe(0);
      const { master: pidfd } = l.receiveMaster();
      const { dlopen, FFIType } = await import("bun:ffi");
      const { syscall } = dlopen("libc.so.6", { syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.i64], returns: FFIType.i64 } }).symbols;
      expect(Number(syscall(424 /* pidfd_send_signal */, pidfd, 9, null, 0))).toBe(0);
      for (let i = 0; i < 200 && !env.runjs(["state", env.id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
      expect(JSON.parse(env.runjs(["state", env.id]).out).status).toBe("stopped");
    } finally {
      l.close();
    }
  });

  test("list: a --root that does not exist is an error; the default root may be missing", () => {
    const env = newEnv();
    const r = env.runjs(["--root", join(env.dir, "nope"), "list"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("no such directory");
  });

  test("maskedPaths: each path once, and every masked directory the same empty tmpfs", () => {
    const env = newEnv(["sh", "-c", "grep -c ' /testdir ' /proc/self/mountinfo; stat -c %d /testdir /testdir2"]);
    for (const d of ["testdir", "testdir2"]) mkdirSync(join(env.bundle, "rootfs", d));
    env.spec.linux!.maskedPaths = ["/testdir", "/testdir", "/testdir2"];
    const r = run(env);
    expect(r.err).toBe("");
    const [count, a, b] = r.out.trim().split("\n");
    expect(count).toBe("1");
    expect(a).toBe(b);
  });

  test("/proc on a symlink in the image is refused: proc only on a directory of its own", () => {
    const env = newEnv(["true"]);
    Bun.spawnSync(["rm", "-rf", join(env.bundle, "rootfs/proc")]);
    mkdirSync(join(env.bundle, "rootfs/bad-proc"));
    Bun.spawnSync(["ln", "-s", "/bad-proc", join(env.bundle, "rootfs/proc")]);
    const r = run(env);
    expect(r.code).toBe(1);
    expect(r.err).toContain("must be mounted on ordinary directory");
  });

  test("bind mount targets through dangling symlinks are made where the links lead, inside the rootfs", () => {
    const env = newEnv(["cat", "/etc/hosts"]);
    Bun.spawnSync(["rm", "-f", join(env.bundle, "rootfs/etc/hosts")]);
    Bun.spawnSync(["ln", "-s", "/tmp/foo/bar", join(env.bundle, "rootfs/jump")]);
    Bun.spawnSync(["ln", "-s", "/jump/baz/hosts", join(env.bundle, "rootfs/etc/hosts")]);
    writeFileSync(join(env.dir, "hosts"), "127.0.0.1 here\n");
    env.spec.mounts!.push({ destination: "/etc/hosts", type: "bind", source: join(env.dir, "hosts"), options: ["bind"] });
    const r = run(env);
    expect(r.err).toBe("");
    expect(r.out).toBe("127.0.0.1 here\n");
    expect(existsSync(join(env.bundle, "rootfs/tmp/foo/bar/baz/hosts"))).toBe(true);
  });

  test("a bind source that only an earlier mount provides (a path in the rootfs) is mounted; destinations may name the rootfs", () => {
    const env = newEnv(["cat", "/final/file"]);
    const rootfs = join(env.bundle, "rootfs");
    mkdirSync(join(env.dir, "a/x"), { recursive: true });
    writeFileSync(join(env.dir, "a/x/file"), "from a/x\n");
    mkdirSync(join(rootfs, "mnt"), { recursive: true });
    env.spec.mounts!.push(
      { destination: "/mnt", type: "bind", source: join(env.dir, "a"), options: ["rbind"] },
      // rootfs/mnt/x exists only once /mnt is mounted; the destination is written as runc's tests write it
      { destination: join(rootfs, "final"), type: "bind", source: join(rootfs, "mnt/x"), options: ["rbind"] },
    );
    let r = run(env);
    expect(r.err).toBe("");
    expect(r.out).toBe("from a/x\n");
    // still missing when it is mounted: a clear error naming the mount, nothing left
    env.spec.mounts!.at(-1)!.source = join(rootfs, "mnt/nothing");
    r = run(env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/mounts\[\d+\] \(.*\/final\): mount .*\/mnt\/nothing: no such file or directory/);
    expect(existsSync(join(env.root, env.id))).toBe(false);
  });

  test("bind mounts keep the source's flags without options, and take exactly the options' flags with some", () => {
    const env = newEnv(["sh", "-c", "awk '$2 == \"/mnt\" { print $4 }' /proc/self/mounts"]);
    const src = join(env.dir, "src");
    mkdirSync(src);
    Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "rw,suid,dev,exec,strictatime", "tmpfs", src]);
    try {
      Bun.spawnSync(["mount", "--bind", "-o", "remount,ro,noexec,nodiratime", src]);
      env.spec.mounts!.push({ destination: "/mnt", type: "bind", source: src, options: ["bind"] });
      let flags = run(env).out.trim().split(",");
      expect(flags).toContain("ro");
      expect(flags).toContain("noexec");
      env.spec.mounts!.at(-1)!.options = ["bind", "dev"];
      flags = run(env).out.trim().split(",");
      expect(flags).toContain("rw"); // "dev" asks for a remount with exactly what is given
      expect(flags).not.toContain("noexec");
      expect(flags).toContain("nodiratime"); // atime flags are kept unless given
    } finally {
      Bun.spawnSync(["umount", src]);
    }
  });

  test("the init's CPU affinity is every CPU whatever runjs's own (taskset), narrowed only by the cpuset", () => {
    const cpus = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
    if (cpus === "0") return; // one CPU: nothing to tell apart
    const env = newEnv(["grep", "Cpus_allowed_list", "/proc/self/status"]);
    env.write();
    const r = Bun.spawnSync(["taskset", "-c", "0", RUNJS_BIN, "--root", env.root, "run", env.id], { cwd: env.bundle });
    expect(r.stdout.toString()).toBe(`Cpus_allowed_list:\t${cpus}\n`);
  });

  test("the process's failed execve is one line on its stderr, in runc's words", () => {
    const env = newEnv(["/run.sh"]);
    env.spec.root!.readonly = false;
    writeFileSync(join(env.bundle, "rootfs/run.sh"), "#!/mmnnttbb foo bar\nsh\n");
    chmodSync(join(env.bundle, "rootfs/run.sh"), 0o755);
    const r = run(env);
    expect(r.code).toBe(127);
    expect(r.err).toBe("exec /run.sh: no such file or directory\n");
  });

  test("update --cpu-burst and --cpu-idle, 0 included", () => {
    const cpu = v1("cpu");
    if (!cpu || !existsSync(`${cpu.mountpoint}/cpu.idle`) && !existsSync(`${cpu.mountpoint}${CGROUP_PARENT}`)) return;
    const env = newEnv();
    running(env);
    const dir = `${cpu.mountpoint}${CGROUP_PARENT}/${env.id}`;
    if (existsSync(join(dir, "cpu.idle"))) {
      expect(env.runjs(["update", "--cpu-idle", "1", env.id]).code).toBe(0);
      expect(readFileSync(join(dir, "cpu.idle"), "utf8").trim()).toBe("1");
      expect(env.runjs(["update", "--cpu-idle", "0", env.id]).code).toBe(0);
      expect(readFileSync(join(dir, "cpu.idle"), "utf8").trim()).toBe("0");
    }
    if (existsSync(join(dir, "cpu.cfs_burst_us"))) {
      expect(env.runjs(["update", "--cpu-period", "900000", "--cpu-quota", "600000", "--cpu-burst", "500000", env.id]).err).toBe("");
      expect(readFileSync(join(dir, "cpu.cfs_burst_us"), "utf8").trim()).toBe("500000");
    }
  });

  test("process.env: one value per name, the last one given; an empty last HOME is filled in", () => {
    const env = newEnv(["env"]);
    env.spec.process!.env = ["ONE=two", "ONE=", "PATH=/usr/bin:/bin", "HOME=/override", "HOME="];
    const r = run(env);
    expect(r.out.trim().split("\n").sort()).toEqual(["HOME=/root", "ONE=", "PATH=/usr/bin:/bin"]);
  });

  test("a failing in-container hook's stderr is part of the error", () => {
    const env = newEnv(["true"]);
    env.spec.hooks = { startContainer: [{ path: "/bin/busybox", args: ["cat", "/nosuchfile"] }] };
    const r = run(env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error running startContainer hook #0: exited with status 1: cat: can't open '\/nosuchfile'/);
  });

  test("a created container's init ends on SIGTERM (it is a pid namespace's init with no handler otherwise)", () => {
    const env = newEnv(["sleep", "1000"]);
    env.write();
    expect(env.runjs(["create", env.id]).code).toBe(0);
    expect(env.runjs(["kill", env.id, "TERM"]).code).toBe(0);
    for (let i = 0; i < 200 && !env.runjs(["state", env.id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
    expect(JSON.parse(env.runjs(["state", env.id]).out).status).toBe("stopped");
  });
});
