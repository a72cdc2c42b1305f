// Attacks that must fail. Each one aims at a decoy this test made in its own temporary
// directory (never at a real host file), and the decoy is checked afterwards: content, mode,
// owner, and that nothing new appeared next to it. Writes to kernel interfaces are only
// attempted as opens for writing (`: > file`), which change nothing even if they succeed.
//
// The classes: file descriptors of the runtime reaching the container (CVE-2016-9962,
// CVE-2024-21626), symlinks in the image redirecting what the runtime mounts, masks or
// creates onto the host (CVE-2021-30465, CVE-2025-31133), and the kernel's host-wide knobs
// in /proc and /sys.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENT, cleanupAll, newEnv, removeCgroupParent, RUNJS, runIn, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

// ---- decoys ---------------------------------------------------------------------------------

interface Decoy {
  path: string;
  check(): void;
}

/** A file with known content, mode and owner; check() fails if any of them changed. */
function decoyFile(dir: string, name: string, mode = 0o640, uid = 4321, gid = 4321): Decoy {
  const path = join(dir, name);
  const content = `decoy ${name}: must not change\n`;
  writeFileSync(path, content);
  chownSync(path, uid, gid);
  chmodSync(path, mode);
  return {
    path,
    check() {
      const st = statSync(path, { throwIfNoEntry: false });
      expect(st?.isFile()).toBe(true);
      expect(readFileSync(path, "utf8")).toBe(content);
      expect([st!.mode & 0o7777, st!.uid, st!.gid]).toEqual([mode, uid, gid]);
    },
  };
}

/** A directory with one file; check() fails if anything was added, removed or changed. */
function decoyDir(dir: string, name: string): Decoy {
  const path = join(dir, name);
  mkdirSync(path);
  chmodSync(path, 0o750);
  const inner = decoyFile(path, "inside");
  return {
    path,
    check() {
      expect(readdirSync(path)).toEqual(["inside"]);
      expect(statSync(path).mode & 0o7777).toBe(0o750);
      inner.check();
      // nothing of the container is mounted there in the host's namespace
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(path);
    },
  };
}

/** Every file under dir named `name`, except inside the bundle's rootfs. */
function findOutsideRootfs(env: Env, name: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (p === join(env.bundle, "rootfs")) continue;
      if (e.name === name) found.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(env.dir);
  return found;
}

// ---- file descriptors -----------------------------------------------------------------------

/** Run runjs from a shell that first opens extra fds (not close-on-exec), as a careless caller would. */
function runWithFds(env: Env, shellFds: string, args: string[]): { code: number; out: string; err: string } {
  const out = join(env.dir, ".fd-out");
  const err = join(env.dir, ".fd-err");
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const cmd = `${shellFds}; exec ${[RUNJS, "--root", env.root, ...args].map(q).join(" ")} >${q(out)} 2>${q(err)} </dev/null`;
  const r = Bun.spawnSync(["sh", "-c", cmd], { cwd: env.bundle, stdio: ["ignore", "ignore", "ignore"] });
  return { code: r.exitCode ?? -1, out: readFileSync(out, "utf8"), err: readFileSync(err, "utf8") };
}

/** `ls -l /proc/self/fd` → { fd: target } */
function fdTable(out: string): Record<string, string> {
  const t: Record<string, string> = {};
  for (const l of out.split("\n")) {
    const m = l.match(/ (\d+) -> (.*)$/);
    if (m) t[m[1]!] = m[2]!;
  }
  return t;
}

describe("file descriptors", () => {
  test("fds the caller leaves open do not reach the container: only 0, 1, 2 (and ls's own)", () => {
    const env = newEnv();
    const decoy = decoyFile(env.dir, "fd-decoy");
    const dir = decoyDir(env.dir, "fd-decoy-dir");
    // ls lists its own directory fd (3) too, closed by the time it would read the link; a
    // child that opens nothing (sleep) shows the inherited table with its targets
    env.spec.process!.args = ["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; sleep 5 & p=$!; ls -l /proc/$p/fd; kill $p"];
    env.write();
    const r = runWithFds(env, `exec 5<${decoy.path} 7>>${decoy.path}.log 9<${dir.path}`, ["run", env.id]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [ls] = r.out.split("\n");
    expect(ls!.trim().split(" ")).toEqual(["0", "1", "2", "3"]);
    const fds = fdTable(r.out);
    expect(Object.keys(fds).sort()).toEqual(["0", "1", "2"]);
    expect(r.out).not.toContain("fd-decoy"); // no trace of the host's files
    decoy.check();
    dir.check();
  });

  test("--preserve-fds 2 passes fds 3 and 4, and nothing above them", () => {
    const env = newEnv();
    const a = decoyFile(env.dir, "preserved-a", 0o644);
    const b = decoyFile(env.dir, "not-preserved", 0o644);
    env.spec.process!.args = ["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; head -c 13 <&3; echo"];
    env.write();
    const r = runWithFds(env, `exec 3<${a.path} 4</dev/null 5<${b.path} 8<${b.path}`, ["run", "--preserve-fds", "2", env.id]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [fds, read] = r.out.split("\n");
    // sh has 0-4; ls's own directory fd is the 5th
    expect(fds!.trim().split(" ")).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(read).toBe("decoy preserv");
    a.check();
    b.check();
  });

  test("the init of a created container holds only stdio and the state directory; after start, only stdio", () => {
    const env = newEnv(["sleep", "30"]);
    expect(env.runjs(["create", env.id]).code).toBe(0);
    const pid = JSON.parse(env.runjs(["state", env.id]).out).pid as number;
    const stateDir = statSync(join(env.root, env.id));
    const rootfs = statSync(join(env.bundle, "rootfs"));
    const same = (a: { dev: number; ino: number }, b: { dev: number; ino: number }) => a.dev === b.dev && a.ino === b.ino;
    const created: Record<string, string> = {};
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      created[fd] = target;
      if (["0", "1", "2"].includes(fd)) continue;
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      // allowed: the state directory (the exec fifo's, an O_PATH handle) and the fifo itself;
      // the container's own root (an O_PATH handle the init keeps after pivot_root)
      const ok = same(st, stateDir) || target.endsWith("exec.fifo") || same(st, rootfs);
      expect([fd, target, ok]).toEqual([fd, target, true]);
    }
    expect(Object.keys(created)).toContain("0");
    expect(env.runjs(["start", env.id]).code).toBe(0);
    let after: string[] = [];
    for (let i = 0; i < 100; i++) {
      after = readdirSync(`/proc/${pid}/fd`);
      if (readlinkSync(`/proc/${pid}/exe`).endsWith("/busybox")) break;
      Bun.sleepSync(10);
    }
    expect(after.sort()).toEqual(["0", "1", "2"]);
  });

  // CVE-2016-9962 / CVE-2019-5736: another container in the same pid namespace sees the init
  // of a created container. Through /proc/<pid>/fd it would reach the host's state directory
  // (and from there the whole host filesystem), through /proc/<pid>/exe the runtime's binary.
  test("a container sharing the pid namespace cannot use a created container's init to reach the host", () => {
    const env = newEnv();
    const decoy = decoyFile(env.dir, "decoy", 0o644, 0, 0);
    const ids = { a: `${env.id}-a`, b: `${env.id}-b`, c: `${env.id}-c` };
    const make = (id: string, args: string[], pidns?: string) => {
      env.spec.process!.args = args;
      env.spec.linux!.cgroupsPath = `${CGROUP_PARENT}/${id}`;
      env.spec.linux!.namespaces = env.spec.linux!.namespaces!.map((n) => (n.type === "pid" ? { type: "pid" as const, ...(pidns ? { path: pidns } : {}) } : n));
      env.write();
    };
    make(ids.a, ["sleep", "60"]);
    expect(env.runjs(["create", ids.a]).code).toBe(0);
    expect(env.runjs(["start", ids.a]).code).toBe(0);
    const pidA = JSON.parse(env.runjs(["state", ids.a]).out).pid as number;
    make(ids.b, ["true"], `/proc/${pidA}/ns/pid`);
    const cb = env.runjs(["create", ids.b]);
    expect(cb.err).toBe("");
    expect(cb.code).toBe(0);
    const pidB = JSON.parse(env.runjs(["state", ids.b]).out).pid as number;
    // B's init as A's pid namespace numbers it: the last NSpid field
    const inner = readFileSync(`/proc/${pidB}/status`, "utf8").match(/^NSpid:\s+(.*)$/m)![1]!.trim().split(/\s+/).at(-1)!;
    const p = `/proc/${inner}`;
    const attack = [
      `test -e ${p} && echo visible`,
      `for f in ${p}/fd/*; do ls $f/ 2>/dev/null | grep -q state.json && echo state-dir-reachable; done`,
      `for f in ${p}/fd/*; do (echo pwned > $f/../../decoy) 2>/dev/null && echo decoy-written; done`,
      `for f in ${p}/fd/*; do (cd $f/../../../../../../.. 2>/dev/null && ls | grep -q runjs-it- && echo host-tmp-listed); done`,
      `head -c 4 ${p}/exe 2>/dev/null | grep -q ELF && echo runtime-binary-readable`,
      "true",
    ].join("; ");
    make(ids.c, ["sh", "-c", attack], `/proc/${pidA}/ns/pid`);
    const r = env.runjs(["run", ids.c]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual(["visible"]);
    decoy.check();
    expect(findOutsideRootfs(env, "pwned")).toEqual([]);
  });
});

// ---- process.cwd (CVE-2024-21626) -----------------------------------------------------------

describe("process.cwd", () => {
  // runc leaked an fd to the host's /sys/fs/cgroup into its init; a cwd of /proc/self/fd/N
  // then put the container's process in the host's filesystem. Whatever fds the init holds
  // while it changes directory, the cwd must end up inside the container or create must fail.
  for (let n = 3; n <= 10; n++) {
    test(`cwd /proc/self/fd/${n}: create fails or the process is inside the container`, () => {
      const env = newEnv();
      const decoy = decoyFile(env.dir, "decoy", 0o644, 0, 0);
      env.spec.process!.cwd = `/proc/self/fd/${n}`;
      const r = runIn(env, ["sh", "-c", "pwd; ls -a; (echo pwned > ../../decoy) 2>/dev/null; touch escape-marker 2>/dev/null; ls ../../.."]);
      decoy.check();
      expect(findOutsideRootfs(env, "escape-marker")).toEqual([]);
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(r.err).toContain("process.cwd");
      } else {
        expect(r.out).not.toContain("state.json");
        expect(r.out).not.toContain("runjs-it-");
        expect(r.out).not.toContain("(unreachable)");
      }
    });
  }

  test("exec --cwd /proc/self/fd/N (3..10): exec fails or the process is inside the container", () => {
    const env = newEnv(["sleep", "1000"]);
    const decoy = decoyFile(env.dir, "decoy", 0o644, 0, 0);
    expect(env.runjs(["run", "-d", env.id]).code).toBe(0);
    for (let n = 3; n <= 10; n++) {
      const r = env.runjs(["exec", "--cwd", `/proc/self/fd/${n}`, env.id, "sh", "-c", "pwd; ls -a; (echo pwned > ../../decoy) 2>/dev/null; touch escape-marker 2>/dev/null; ls ../../.."]);
      decoy.check();
      expect(findOutsideRootfs(env, "escape-marker")).toEqual([]);
      if (r.code !== 0) {
        expect(`${n}: ${r.code}`).toBe(`${n}: 255`); // exec's runtime failure, as runc
        expect(r.err).toContain("process.cwd");
      } else {
        expect(r.out).not.toContain("state.json");
        expect(r.out).not.toContain("runjs-it-");
        expect(r.out).not.toContain("(unreachable)");
      }
    }
  });

  test("cwd through a symlink in the image to a host directory stays in the container", () => {
    for (const rel of [false, true]) {
      const env = newEnv();
      const dir = decoyDir(env.dir, "cwd-decoy");
      symlinkSync(rel ? "../../../../../../../.." + dir.path : dir.path, join(env.bundle, "rootfs/evil"));
      env.spec.root!.readonly = false;
      env.spec.process!.cwd = "/evil";
      const r = runIn(env, ["sh", "-c", "pwd; ls; touch escape-marker"]);
      // the link is dangling inside the rootfs: chdir fails
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/process\.cwd: chdir \/evil: no such file or directory/);
      dir.check();
    }
  });
});

// ---- symlinks in the image ------------------------------------------------------------------

describe("symlinks in the image", () => {
  test("bind mounts onto symlinked targets (absolute and ../../..) land inside the rootfs", () => {
    const env = newEnv();
    env.spec.root!.readonly = false;
    const dir = decoyDir(env.dir, "mnt-decoy");
    const src = join(env.dir, "src");
    mkdirSync(src);
    writeFileSync(join(src, "payload"), "payload\n");
    // the same path exists inside the rootfs, so both links resolve there
    mkdirSync(join(env.bundle, "rootfs", dir.path, "sub"), { recursive: true });
    symlinkSync(dir.path, join(env.bundle, "rootfs/abs"));
    symlinkSync("../../../../../../../.." + dir.path, join(env.bundle, "rootfs/rel"));
    env.spec.mounts!.push(
      { destination: "/abs", type: "bind", source: src, options: ["rbind", "rw"] },
      { destination: "/rel/sub", type: "bind", source: src, options: ["rbind", "ro"] },
      { destination: "/abs/newdir/deeper", type: "tmpfs", source: "tmpfs", options: [] },
    );
    const r = runIn(env, ["sh", "-c", `cat /abs/payload /rel/sub/payload; grep -c ' ${dir.path}' /proc/self/mountinfo; touch /abs/newdir/deeper/x && echo tmpfs-ok`]);
    expect(r.err).toBe("");
    expect(r.out).toBe("payload\npayload\n3\ntmpfs-ok\n");
    dir.check();
    // the later targets resolved through the first bind: their directories were made in src
    expect(readdirSync(src).sort()).toEqual(["newdir", "payload", "sub"]);
  });

  test("a dangling symlink (absolute or relative) in a mount target is followed inside the rootfs, creating nothing on the host", () => {
    for (const rel of [false, true]) {
      const env = newEnv();
      env.spec.root!.readonly = false;
      const dir = decoyDir(env.dir, "dangling-decoy");
      symlinkSync(rel ? "../../../../../../../.." + dir.path : dir.path, join(env.bundle, "rootfs/evil"));
      env.spec.mounts!.push({ destination: "/evil/a/b", type: "tmpfs", source: "tmpfs", options: [] });
      // runc's rule: the target is made where the link leads with the rootfs as "/"
      const r = runIn(env, ["sh", "-c", `grep -c " ${dir.path}/a/b tmpfs" /proc/self/mounts`]);
      expect(r.err).toBe("");
      expect(r.out).toBe("1\n");
      expect(existsSync(join(env.bundle, "rootfs", dir.path, "a/b"))).toBe(true);
      dir.check();
    }
  });

  test("maskedPaths and readonlyPaths under a symlink to a host directory are applied inside the rootfs", () => {
    const env = newEnv();
    env.spec.root!.readonly = false;
    const dir = decoyDir(env.dir, "mask-decoy");
    // in-rootfs copies of the same paths: this is where the links resolve inside the container
    const inRoot = join(env.bundle, "rootfs", dir.path);
    mkdirSync(join(inRoot, "rwdir"), { recursive: true });
    writeFileSync(join(inRoot, "inside"), "in-root secret\n");
    writeFileSync(join(inRoot, "inside2"), "in-root secret 2\n");
    symlinkSync(dir.path, join(env.bundle, "rootfs/data"));
    symlinkSync("../../../../../../../.." + dir.path, join(env.bundle, "rootfs/data2"));
    env.spec.linux!.maskedPaths!.push("/data/inside", "/data2/inside2");
    env.spec.linux!.readonlyPaths!.push("/data2/rwdir");
    const r = runIn(env, ["sh", "-c", "wc -c < /data/inside; wc -c < /data2/inside2; touch /data/rwdir/x 2>/dev/null && echo rw || echo ro; touch /data/y && echo root-rw"]);
    expect(r.err).toBe("");
    expect(r.out.split("\n").map((s) => s.trim())).toEqual(["0", "0", "ro", "root-rw", ""]);
    dir.check();
  });

  test("a masked or read-only path that is itself a symlink to a host file or directory is resolved inside the rootfs", () => {
    for (const rel of [false, true]) {
      const env = newEnv();
      env.spec.root!.readonly = false;
      const file = decoyFile(env.dir, "masked-file-decoy", 0o644, 0, 0);
      const dir = decoyDir(env.dir, "ro-dir-decoy");
      const up = rel ? "../../../../../../../.." : "";
      symlinkSync(up + file.path, join(env.bundle, "rootfs/secret"));
      symlinkSync(up + dir.path, join(env.bundle, "rootfs/rodir"));
      // the same paths inside the rootfs
      mkdirSync(join(env.bundle, "rootfs", dir.path), { recursive: true });
      writeFileSync(join(env.bundle, "rootfs", file.path), "in-root secret\n");
      env.spec.linux!.maskedPaths!.push("/secret");
      env.spec.linux!.readonlyPaths!.push("/rodir");
      const r = runIn(env, ["sh", "-c", "wc -c < /secret; touch /rodir/x 2>/dev/null && echo rw || echo ro; echo pwned > /secret 2>/dev/null; true"]);
      expect(r.err).toBe("");
      expect(r.out.split("\n").map((s) => s.trim())).toEqual(["0", "ro", ""]);
      file.check();
      dir.check();
    }
  });

  // CVE-2025-31133 class: with /dev from the image (no tmpfs on /dev), the image's /dev/null and
  // friends may be symlinks to host files. The runtime must replace them, never write, chmod or
  // chown through them.
  test("without a /dev tmpfs, device nodes that are symlinks in the image are replaced, not followed", () => {
    const env = newEnv();
    env.spec.root!.readonly = false;
    env.spec.mounts = env.spec.mounts!.filter((m) => m.destination !== "/dev");
    const nul = decoyFile(env.dir, "null-decoy", 0o600, 1234, 1234);
    const zero = decoyFile(env.dir, "zero-decoy", 0o600, 1234, 1234);
    const tty = decoyFile(env.dir, "tty-decoy", 0o600, 1234, 1234);
    const mine = decoyFile(env.dir, "mydev-decoy", 0o600, 1234, 1234);
    const dev = join(env.bundle, "rootfs/dev");
    symlinkSync(nul.path, join(dev, "null"));
    symlinkSync("../../../../../../../.." + zero.path, join(dev, "zero"));
    symlinkSync(tty.path, join(dev, "tty"));
    symlinkSync(mine.path, join(dev, "mydev"));
    env.spec.linux!.devices = [{ path: "/dev/mydev", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
    // /proc/kcore and /proc/keys are masked with /dev/null: the fresh node, not the decoy
    const r = runIn(env, ["sh", "-c", "for d in null zero tty mydev; do stat -c '%n %F %t:%T %a %u' /dev/$d; done; wc -c < /proc/keys; echo x > /dev/null && echo null-ok"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n").map((s) => s.trim())).toEqual([
      "/dev/null character special file 1:3 666 0",
      "/dev/zero character special file 1:5 666 0",
      "/dev/tty character special file 5:0 666 0",
      "/dev/mydev character special file 1:3 666 0",
      "0",
      "null-ok",
    ]);
    for (const d of [nul, zero, tty, mine]) d.check();
  });

  test("without a /dev tmpfs, an image whose /dev is a symlink to a host directory gets nothing created there", () => {
    for (const rel of [false, true]) {
      const env = newEnv();
      env.spec.root!.readonly = false;
      env.spec.mounts = env.spec.mounts!.filter((m) => m.destination !== "/dev");
      const dir = decoyDir(env.dir, "devdir-decoy");
      rmSync(join(env.bundle, "rootfs/dev"), { recursive: true });
      symlinkSync(rel ? "../../../../../../../.." + dir.path : dir.path, join(env.bundle, "rootfs/dev"));
      const r = runIn(env, ["sh", "-c", "ls /dev"]);
      // the link dangles inside the rootfs: /dev's mounts and nodes are made where it leads,
      // inside the rootfs (runc's rule), and nothing on the host
      expect(r.err).toBe("");
      expect(r.out).toContain("null");
      expect(existsSync(join(env.bundle, "rootfs", dir.path, "pts"))).toBe(true);
      dir.check();
    }
  });
});

// ---- /proc, /sys and mounts inside a default container --------------------------------------

describe("kernel interfaces in a default container", () => {
  function opens(env: Env, files: string[]): Record<string, string> {
    // open for writing only: if an open did succeed, nothing would be written
    const script = files.map((f) => `if [ -e ${f} ]; then (: > ${f}) 2>/dev/null && echo "${f} writable" || echo "${f} refused"; else echo "${f} missing"; fi`).join("; ");
    const r = runIn(env, ["sh", "-c", script]);
    expect(r.code).toBe(0);
    return Object.fromEntries(r.out.trim().split("\n").map((l) => l.split(" ") as [string, string]));
  }

  test("host-wide knobs in /proc/sys and /sys cannot be opened for writing", () => {
    const env = newEnv();
    const files = [
      "/proc/sys/kernel/core_pattern",
      "/proc/sys/kernel/modprobe",
      "/proc/sys/vm/drop_caches",
      "/proc/sys/kernel/hostname",
      "/proc/sys/net/ipv4/ip_forward",
      "/sys/kernel/mm/transparent_hugepage/enabled",
      "/sys/kernel/uevent_helper",
      "/sys/power/state",
    ];
    const got = opens(env, files);
    for (const f of files) {
      // a file the host has is there (a mask is not what protects it) and refused
      if (existsSync(f)) expect([f, got[f]]).toEqual([f, "refused"]);
      else expect([f, got[f]]).toEqual([f, expect.stringMatching(/^(refused|missing)$/)]);
    }
  });

  test("cgroup files (cgroup.procs, release_agent, limits) cannot be opened for writing", () => {
    const env = newEnv();
    const script =
      "n=0; for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/release_agent " +
      "/sys/fs/cgroup/*/notify_on_release /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids.max /sys/fs/cgroup/*/pids.max; do " +
      '[ -e "$f" ] || continue; n=$((n+1)); (: > "$f") 2>/dev/null && echo "$f writable"; done; echo "checked $n"';
    const r = runIn(env, ["sh", "-c", script]);
    expect(r.out).toMatch(/^checked [1-9]\d*\n$/);
  });

  test.skipIf(!existsSync("/proc/sysrq-trigger"))("/proc/sysrq-trigger cannot be opened for writing", () => {
    expect(opens(newEnv(), ["/proc/sysrq-trigger"])).toEqual({ "/proc/sysrq-trigger": "refused" });
  });
  if (!existsSync("/proc/sysrq-trigger"))
    test.skip("/proc/sysrq-trigger: skipped, this kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ off)", () => {});

  test("kernel memory and timers are masked", () => {
    const env = newEnv();
    const r = runIn(env, ["sh", "-c", "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $f ] && echo \"$f $(head -c 100 $f | wc -c)\"; done; true"]);
    for (const l of r.out.trim().split("\n").filter(Boolean)) expect(l).toMatch(/ 0$/);
  });

  test("mount, remounting / read-write and unmounting fail without CAP_SYS_ADMIN", () => {
    const env = newEnv();
    env.spec.mounts!.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: [] });
    const cmds = [
      "mount -t tmpfs tmpfs /tmp",
      "mount -o remount,rw /",
      "mount --bind /work /tmp",
      "mount -t proc proc /work",
      "umount /proc/kcore",
      "umount -l /proc/sys",
      "mount -o remount,rw /proc/sys",
    ];
    const script = cmds.map((c) => `${c} >/dev/null 2>&1 && echo "ok: ${c}" || echo "refused: ${c}"`).join("; ") + "; touch /x 2>/dev/null && echo root-rw || echo root-ro";
    const r = runIn(env, ["sh", "-c", script]);
    expect(r.out.trim().split("\n").map((s) => s.trim())).toEqual([...cmds.map((c) => `refused: ${c}`), "root-ro"]);
  });
});
