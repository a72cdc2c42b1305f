// What the process sees from inside: namespaces, root filesystem, devices, user, limits.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, hostNs, newEnv, removeCgroupParent, runIn } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

function ok(env: ReturnType<typeof newEnv>, args: string[]): string {
  const r = runIn(env, args);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return r.out;
}

test("new namespaces differ from the host's; PID 1 inside", () => {
  const env = newEnv();
  env.spec.linux!.namespaces!.push({ type: "cgroup" }, { type: "time" });
  const out = ok(env, ["sh", "-c", "for n in pid mnt net ipc uts cgroup time; do readlink /proc/self/ns/$n; done; echo $$"]);
  const lines = out.trim().split("\n");
  const kinds = ["pid", "mnt", "net", "ipc", "uts", "cgroup", "time"];
  kinds.forEach((k, i) => {
    expect(lines[i]).toMatch(new RegExp(`^${k}:\\[\\d+\\]$`));
    expect(lines[i]).not.toBe(hostNs(k));
  });
  expect(lines[7]).toBe("1");
});

test("joining a namespace by path shares it", () => {
  const env = newEnv();
  env.spec.linux!.namespaces = env.spec.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: "/proc/self/ns/net" } : n));
  // "/proc/self" is resolved by the init: it joins the namespace it is already in, i.e. the host's.
  const out = ok(env, ["readlink", "/proc/self/ns/net"]);
  expect(out.trim()).toBe(hostNs("net"));
});

test("hostname and domainname", () => {
  const env = newEnv();
  env.spec.hostname = "box-one";
  env.spec.domainname = "example.test";
  expect(ok(env, ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])).toBe("box-one\nexample.test\n");
});

test("time namespace offsets shift CLOCK_BOOTTIME", () => {
  const env = newEnv();
  env.spec.linux!.namespaces!.push({ type: "time" });
  env.spec.linux!.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 } };
  const host = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const inside = Number(ok(env, ["cut", "-d", " ", "-f1", "/proc/uptime"]));
  expect(inside - host).toBeGreaterThan(86400 * 365 - 60);
});

test("read-only root, masked and read-only paths", () => {
  const env = newEnv();
  const out = ok(env, [
    "sh",
    "-c",
    [
      "touch /x 2>/dev/null && echo root-rw || echo root-ro",
      "touch /tmp/x 2>/dev/null && echo tmp-rw || echo tmp-ro",
      // masked: a file gets /dev/null, a directory an empty read-only tmpfs
      "wc -c < /proc/keys",
      "cat /proc/timer_list | wc -c",
      "ls /proc/acpi | wc -l",
      "touch /proc/acpi/x 2>/dev/null && echo acpi-rw || echo acpi-ro",
      // read-only: /proc/sys (so core_pattern cannot be changed from inside)
      "(echo core > /proc/sys/kernel/core_pattern) 2>/dev/null && echo sys-rw || echo sys-ro",
      "awk '$5==\"/\" {print $6}' /proc/self/mountinfo | cut -d, -f1",
    ].join("; "),
  ]);
  expect(out.trim().split("\n").map((s) => s.trim())).toEqual(["root-ro", "tmp-ro", "0", "0", "0", "acpi-ro", "sys-ro", "ro"]);
});

test("mounts: tmpfs with options, bind of a file and of a directory, propagation", () => {
  const env = newEnv();
  env.spec.root!.readonly = false;
  const data = join(env.dir, "data");
  mkdirSync(data);
  writeFileSync(join(data, "f"), "host data\n");
  const file = join(env.dir, "single");
  writeFileSync(file, "one file\n");
  env.spec.mounts!.push(
    { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "size=1m", "mode=1777"] },
    { destination: "/data", type: "bind", source: data, options: ["rbind", "ro", "rprivate"] },
    { destination: "/deep/down/single", type: "bind", source: file, options: ["bind"] },
  );
  const out = ok(env, [
    "sh",
    "-c",
    "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch; cat /data/f; touch /data/g 2>/dev/null || echo data-ro; cat /deep/down/single",
  ]);
  const lines = out.trim().split("\n");
  expect(lines[0]).toMatch(/ \/scratch rw,nosuid,.*noexec.* - tmpfs tmpfs .*size=1024k/);
  expect(lines.slice(1)).toEqual(["1777", "host data", "data-ro", "one file"]);
  expect(existsSync(join(data, "g"))).toBe(false);
});

test("rro makes a whole bind-mounted tree read-only, submounts included", () => {
  const env = newEnv();
  const data = join(env.dir, "tree");
  mkdirSync(join(data, "sub"), { recursive: true });
  // a submount inside the source: a plain ro bind would leave it writable
  Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", join(data, "sub")]);
  try {
    env.spec.mounts!.push({ destination: "/tree", type: "bind", source: data, options: ["rbind", "rro"] });
    const out = ok(env, ["sh", "-c", "touch /tree/a 2>/dev/null && echo top-rw || echo top-ro; touch /tree/sub/b 2>/dev/null && echo sub-rw || echo sub-ro"]);
    expect(out).toBe("top-ro\nsub-ro\n");
  } finally {
    Bun.spawnSync(["umount", join(data, "sub")]);
  }
});

test("a symlink in the image cannot redirect a mount onto the host", () => {
  const env = newEnv();
  env.spec.root!.readonly = false;
  const victim = join(env.dir, "victim");
  mkdirSync(victim);
  // /evil -> the host's victim directory, as an absolute and as a relative escape. Inside the
  // rootfs the same path exists, so both must resolve there.
  mkdirSync(join(env.bundle, "rootfs", victim), { recursive: true });
  symlinkSync(victim, join(env.bundle, "rootfs/evil"));
  symlinkSync("../../../../../../../../" + victim, join(env.bundle, "rootfs/evil2"));
  env.spec.mounts!.push(
    { destination: "/evil", type: "tmpfs", source: "tmpfs", options: [] },
    { destination: "/evil2/sub", type: "tmpfs", source: "tmpfs", options: [] },
  );
  // both tmpfs mounts are at the victim's path as the container sees it, i.e. inside the rootfs
  const out = ok(env, ["sh", "-c", `touch /evil/inside /evil2/sub/inside; grep -c ' ${victim}' /proc/self/mountinfo`]);
  expect(out.trim()).toBe("2");
  expect(Bun.spawnSync(["ls", "-A", victim]).stdout.toString()).toBe("");
});

test("a dangling symlink to a host path is followed inside the rootfs, not out of it", () => {
  const env = newEnv();
  env.spec.root!.readonly = false;
  const victim = join(env.dir, "victim2");
  mkdirSync(victim);
  symlinkSync(victim, join(env.bundle, "rootfs/evil"));
  env.spec.mounts!.push({ destination: "/evil/x", type: "tmpfs", source: "tmpfs", options: [] });
  const r = runIn(env, ["true"]);
  expect(r.code).toBe(0);
  expect(existsSync(join(env.bundle, "rootfs", victim, "x"))).toBe(true);
  expect(Bun.spawnSync(["ls", "-A", victim]).stdout.toString()).toBe("");
});

test("default devices, linux.devices and the /dev symlinks", () => {
  const env = newEnv();
  env.spec.linux!.devices = [{ path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 0o640, uid: 0, gid: 0 }];
  const out = ok(env, [
    "sh",
    "-c",
    "for d in null zero full random urandom tty mynull; do stat -c '%n %F %t:%T %a' /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && head -c 4 /dev/zero | wc -c",
  ]);
  expect(out.trim().split("\n")).toEqual([
    "/dev/null character special file 1:3 666",
    "/dev/zero character special file 1:5 666",
    "/dev/full character special file 1:7 666",
    "/dev/random character special file 1:8 666",
    "/dev/urandom character special file 1:9 666",
    "/dev/tty character special file 5:0 666",
    "/dev/mynull character special file 1:3 640",
    "/proc/self/fd",
    "/proc/self/fd/0",
    "pts/ptmx",
    "4",
  ]);
});

test("user, groups and umask", () => {
  const env = newEnv();
  env.spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o077 };
  const out = ok(env, ["sh", "-c", "id -u; id -g; id -G; umask"]);
  expect(out.trim().split("\n")).toEqual(["1000", "1000", "1000 10 20", "0077"]);
});

test("rlimits reach the process", () => {
  const env = newEnv();
  env.spec.process!.rlimits = [
    { type: "RLIMIT_NOFILE", soft: 512, hard: 1000 },
    { type: "RLIMIT_CORE", soft: 0, hard: 0 },
  ];
  const out = ok(env, ["sh", "-c", "grep -E 'open files|core file' /proc/self/limits"]);
  expect(out).toMatch(/Max core file size\s+0\s+0 /);
  expect(out).toMatch(/Max open files\s+512\s+1000 /);
});

test("oomScoreAdj and cwd", () => {
  const env = newEnv();
  env.spec.process!.oomScoreAdj = 123;
  env.spec.process!.cwd = "/tmp";
  expect(ok(env, ["sh", "-c", "cat /proc/self/oom_score_adj; pwd"])).toBe("123\n/tmp\n");
});

test("rootfsPropagation is applied to the container's /", () => {
  for (const [prop, re] of [
    ["rshared", / shared:\d+ /],
    ["rprivate", /^(?!.* (shared|master):)/],
  ] as const) {
    const env = newEnv();
    env.spec.linux!.rootfsPropagation = prop;
    const line = ok(env, ["awk", '$5=="/"', "/proc/self/mountinfo"]);
    expect(line).toMatch(re);
  }
});

test("rshared: a mount made inside an rshared volume appears on the host (CRI's bidirectional propagation)", () => {
  // A shared host directory, as the kubelet makes for a Bidirectional volume; containerd asks
  // for rootfsPropagation rshared and the bind with rshared. The bind must stay a peer of the
  // host's mount, so / may not be made a slave before it is made.
  const env = newEnv();
  const src = join(env.bundle, "shared-src");
  mkdirSync(src);
  expect(Bun.spawnSync(["mount", "--bind", src, src]).exitCode).toBe(0);
  try {
    expect(Bun.spawnSync(["mount", "--make-rshared", src]).exitCode).toBe(0);
    env.spec.linux!.rootfsPropagation = "rshared";
    env.spec.mounts!.push({ destination: "/vol", type: "bind", source: src, options: ["rbind", "rshared"] });
    for (const set of ["bounding", "effective", "permitted"] as const) env.spec.process!.capabilities![set]!.push("CAP_SYS_ADMIN");
    ok(env, ["sh", "-c", "mkdir /vol/etc && mount --bind /etc /vol/etc"]);
    expect(existsSync(join(src, "etc/passwd"))).toBe(true);
    // and the host's own propagation is what it was
    expect(readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === src)).toMatch(/ shared:\d+ /);
  } finally {
    Bun.spawnSync(["umount", "-R", src]);
  }
});

test("--no-pivot uses MS_MOVE and chroot", () => {
  const env = newEnv(["sh", "-c", "cat /proc/self/mountinfo | wc -l; ls /"]);
  const r = env.runjs(["run", "--no-pivot", env.id]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toContain("bin");
});

test("a new network namespace has its loopback up, as with runc and crun", () => {
  const r = runIn(newEnv(), ["sh", "-c", "ip addr show lo; nc -l -p 7777 & sleep 0.3; echo over-lo | nc -w 1 127.0.0.1 7777 && echo sent; wait"]);
  expect(r.out).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
  expect(r.out).toContain("inet 127.0.0.1/8");
  expect(r.out).toContain("over-lo\nsent");
});

test("tmpcopyup: a tmpfs starts with the image's files, owners, modes and links; the image is untouched", () => {
  const env = newEnv();
  const d = join(env.bundle, "rootfs/seed");
  mkdirSync(join(d, "sub/deeper"), { recursive: true });
  writeFileSync(join(d, "file.txt"), "from the image\n");
  writeFileSync(join(d, "secret"), "s\n", { mode: 0o600 });
  Bun.spawnSync(["chown", "1000:1000", join(d, "secret")]);
  symlinkSync("file.txt", join(d, "link"));
  symlinkSync("/etc/passwd", join(d, "abs-link")); // copied as a link, never followed
  Bun.spawnSync(["chown", "-R", "1000:1000", join(d, "sub")]);
  writeFileSync(join(d, "sub/deeper/f"), "deep\n");
  Bun.spawnSync(["mkfifo", join(d, "fifo")]);
  env.spec.mounts!.push({ destination: "/seed", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "tmpcopyup"] });
  const r = runIn(env, [
    "sh",
    "-c",
    "cd /seed; grep -c . file.txt; readlink link; readlink abs-link; stat -c '%n %u:%g %a %F' sub secret fifo; cat sub/deeper/f; " +
      "echo changed > file.txt && cat file.txt; mount | grep ' /seed '",
  ]);
  expect(r.err).toBe("");
  expect(r.out).toBe(
    [
      "1",
      "file.txt",
      "/etc/passwd",
      "sub 1000:1000 755 directory",
      "secret 1000:1000 600 regular file",
      "fifo 0:0 644 fifo",
      "deep",
      "changed",
    ].join("\n") + "\n" + r.out.split("\n").slice(8).join("\n"),
  );
  expect(r.out).toMatch(/tmpfs on \/seed type tmpfs/);
  expect(readFileSync(join(d, "file.txt"), "utf8")).toBe("from the image\n");
});

test("tmpcopyup on anything but a tmpfs is refused, naming the mount", () => {
  const env = newEnv();
  env.spec.mounts!.push({ destination: "/x", type: "bind", source: env.bundle, options: ["rbind", "tmpcopyup"] });
  env.write();
  const r = env.runjs(["run", env.id]);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/mounts\[\d+\]\.options: tmpcopyup: only for a mount of type tmpfs/);
  expect(existsSync(join(env.root, env.id))).toBe(false);
});
