// linux.resources written to real cgroups on this host, read back from the host side, and
// enforced: memory (OOM kill), pids (fork fails), devices (open denied). Every directory a
// container made is gone after delete.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsOf, CGROUP_PARENT, cleanupAll, newEnv, REPO, removeCgroupParent, runIn } from "./helpers.ts";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { primeTarget } from "../../src/cgroups/prime.ts";
import { close, socketpair } from "../../src/sys/libc.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const hs = hostHierarchies();
const v1Mount = (c: string) => hs.find((h) => h.version === 1 && h.controllers.includes(c))?.mountpoint;
const hasV1 = (...cs: string[]) => cs.every((c) => v1Mount(c) !== undefined);
const file = (c: string, id: string, f: string) => readFileSync(`${v1Mount(c)}${CGROUP_PARENT}/${id}/${f}`, "utf8").trim();
const MiB = 1 << 20;
// A real block device for blkio throttles (1:3 is a char device, which blkio refuses).
const blockDev = (() => {
  try {
    const [major, minor] = readFileSync(`/sys/block/${readdirSync("/sys/block")[0]}/dev`, "utf8").trim().split(":").map(Number);
    return { major: major!, minor: minor! };
  } catch {
    return undefined;
  }
})();

test.skipIf(!hasV1("memory", "cpu", "cpuset", "pids", "devices"))("every value is written to the container's v1 cgroup files", () => {
  const env = newEnv(["sleep", "30"]);
  env.spec.linux!.resources = {
    memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB, swappiness: 10 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0" },
    pids: { limit: 50 },
    devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
    ...(hasV1("blkio") && blockDev ? { blockIO: { weight: 300, throttleReadBpsDevice: [{ ...blockDev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...blockDev, rate: 200 }] } } : {}),
  };
  env.write();
  const c = env.runjs(["create", env.id]);
  expect(c.err).toBe("");
  expect(c.code).toBe(0);
  const id = env.id;
  expect(file("memory", id, "memory.limit_in_bytes")).toBe(String(64 * MiB));
  expect(file("memory", id, "memory.soft_limit_in_bytes")).toBe(String(32 * MiB));
  expect(file("memory", id, "memory.memsw.limit_in_bytes")).toBe(String(96 * MiB));
  expect(file("memory", id, "memory.swappiness")).toBe("10");
  expect(file("cpu", id, "cpu.shares")).toBe("512");
  expect(file("cpu", id, "cpu.cfs_quota_us")).toBe("50000");
  expect(file("cpu", id, "cpu.cfs_period_us")).toBe("100000");
  expect(file("cpuset", id, "cpuset.cpus")).toBe("0");
  expect(file("cpuset", id, "cpuset.mems")).toBe("0");
  expect(file("pids", id, "pids.max")).toBe("50");
  const list = file("devices", id, "devices.list").split("\n");
  expect(list).toContain("c 1:3 rwm");
  expect(list).not.toContain("a *:* rwm");
  expect(list).toContain("c *:* m"); // mknod allowed for the default /dev entries, as runc does
  if (hasV1("blkio") && blockDev) {
    const dev = `${blockDev.major}:${blockDev.minor}`;
    expect(file("blkio", id, "blkio.throttle.read_bps_device")).toBe(`${dev} 1048576`);
    expect(file("blkio", id, "blkio.throttle.write_iops_device")).toBe(`${dev} 200`);
    // CFQ's blkio.weight, or BFQ's blkio.bfq.weight ("default 300" there)
    const w = existsSync(`${v1Mount("blkio")}${CGROUP_PARENT}/${id}/blkio.weight`) ? "blkio.weight" : "blkio.bfq.weight";
    expect(file("blkio", id, w)).toMatch(/^(default )?300$/);
  }

  expect(env.runjs(["delete", "--force", id]).code).toBe(0);
  expect(cgroupDirsOf(id)).toEqual([]);
});

test.skipIf(!hasV1("memory"))("a process allocating past the memory limit is OOM-killed", () => {
  const env = newEnv();
  // swap = limit: no swap on top of the 16 MiB.
  env.spec.linux!.resources = { memory: { limit: 16 * MiB, swap: 16 * MiB } };
  const r = runIn(env, ["sh", "-c", 'x=$(head -c 64m /dev/zero | tr "\\0" a); echo survived']);
  expect(r.out).not.toContain("survived");
  expect(r.code).toBe(137);
  expect(cgroupDirsOf(env.id)).toEqual([]);
  // and within the limit the same program runs
  const env2 = newEnv();
  env2.spec.linux!.resources = { memory: { limit: 64 * MiB, swap: 64 * MiB } };
  const ok = runIn(env2, ["sh", "-c", 'x=$(head -c 1m /dev/zero | tr "\\0" a); echo survived']);
  expect(ok.out).toBe("survived\n");
  expect(ok.code).toBe(0);
});

test.skipIf(!hasV1("pids"))("forks past the pids limit fail", () => {
  const env = newEnv();
  env.spec.linux!.resources = { pids: { limit: 5 } };
  const loop = "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; echo done";
  const r = runIn(env, ["sh", "-c", loop]);
  expect(r.out).toBe("");
  expect(r.err).toContain("can't fork: Resource temporarily unavailable");
  expect(r.code).not.toBe(0);
  // with room for them, the same loop runs
  const env2 = newEnv();
  env2.spec.linux!.resources = { pids: { limit: 20 } };
  const ok = runIn(env2, ["sh", "-c", loop]);
  expect(ok.out).toBe("done\n");
});

test.skipIf(!hasV1("devices") || !existsSync("/dev/fuse"))("devices outside the allow list cannot be opened", () => {
  const env = newEnv();
  // /dev/fuse (c 10:229) is not among the default devices: the node is made (mknod is
  // allowed), opening it is what the devices cgroup refuses.
  env.spec.linux!.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
  env.spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }] };
  const r = runIn(env, ["sh", "-c", "if (: </dev/fuse); then echo opened; fi; : </dev/null && echo null-ok"]);
  expect(r.out).toBe("null-ok\n");
  expect(r.err).toContain("can't open /dev/fuse: Operation not permitted");
  // allowed explicitly, the same open succeeds
  const env2 = newEnv();
  env2.spec.linux!.devices = env.spec.linux!.devices;
  env2.spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 10, minor: 229, access: "rw" }] };
  const ok = runIn(env2, ["sh", "-c", ": </dev/fuse && echo opened"]);
  expect(ok.out).toBe("opened\n");
});

test("fields this host cannot provide are errors naming the field and the controller", () => {
  const cases: [object, RegExp][] = [];
  // BFQ has no leaf weights; CFQ (gone since 5.0) had blkio.leaf_weight.
  if (hasV1("blkio")) cases.push([{ blockIO: { leafWeight: 500 } }, /linux\.resources\.blockIO\.leafWeight: blkio\.leaf_weight is not available on this host/]);
  if (!hasV1("net_cls")) cases.push([{ network: { classID: 1 } }, /linux\.resources\.network\.classID: the net_cls controller/]);
  if (!hasV1("hugetlb")) cases.push([{ hugepageLimits: [{ pageSize: "2MB", limit: 1 << 21 }] }, /linux\.resources\.hugepageLimits: the hugetlb controller/]);
  if (!hasV1("rdma")) cases.push([{ rdma: { mlx4_0: { hcaHandles: 1 } } }, /linux\.resources\.rdma: the rdma controller/]);
  for (const [res, re] of cases) {
    const env = newEnv();
    env.spec.linux!.resources = res as any;
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(re);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  }
});

test.skipIf(!hasV1("memory"))("OOM killer, hierarchy and kernel memory settings; kernel limits warn when the kernel refuses them", () => {
  const env = newEnv(["true"]);
  env.spec.linux!.resources = { memory: { limit: 64 * MiB, disableOOMKiller: true, useHierarchy: true, kernel: 32 * MiB, kernelTCP: 16 * MiB } };
  env.write();
  const c = env.runjs(["create", env.id]);
  expect(c.code).toBe(0);
  expect(file("memory", env.id, "memory.oom_control")).toContain("oom_kill_disable 1");
  expect(file("memory", env.id, "memory.use_hierarchy")).toBe("1");
  for (const [field, f, v] of [["kernel", "memory.kmem.limit_in_bytes", 32 * MiB], ["kernelTCP", "memory.kmem.tcp.limit_in_bytes", 16 * MiB]] as const) {
    const p = `${v1Mount("memory")}${CGROUP_PARENT}/${env.id}/${f}`;
    // Either the kernel took it, or runjs said it did not.
    if (existsSync(p) && readFileSync(p, "utf8").trim() === String(v)) continue;
    expect(c.err).toContain(`linux.resources.memory.${field}: not applied`);
  }
});

test.skipIf(!hasV1("memory"))("applyResources on a live container raises and lowers memory+swap in a working order, and checkBeforeUpdate refuses a limit below usage", async () => {
  const { applyResources } = await import("../../src/cgroups/resources.ts");
  const env = newEnv(["sleep", "30"]);
  env.spec.linux!.resources = { memory: { limit: 32 * MiB, swap: 32 * MiB } };
  env.write();
  expect(env.runjs(["create", env.id]).code).toBe(0);
  const dirs = hs.map((h) => ({ version: h.version, controllers: h.controllers, dir: `${h.mountpoint}${CGROUP_PARENT}/${env.id}` }));
  const warns: string[] = [];
  applyResources({ memory: { limit: 128 * MiB, swap: 256 * MiB } }, dirs, (m) => warns.push(m)); // raising: memsw first
  expect(file("memory", env.id, "memory.limit_in_bytes")).toBe(String(128 * MiB));
  expect(file("memory", env.id, "memory.memsw.limit_in_bytes")).toBe(String(256 * MiB));
  applyResources({ memory: { limit: 16 * MiB, swap: 16 * MiB } }, dirs, (m) => warns.push(m)); // lowering: limit first
  expect(file("memory", env.id, "memory.limit_in_bytes")).toBe(String(16 * MiB));
  expect(file("memory", env.id, "memory.memsw.limit_in_bytes")).toBe(String(16 * MiB));
  applyResources({ memory: { limit: -1 } }, dirs, (m) => warns.push(m)); // unlimited, swap too
  expect(Number(file("memory", env.id, "memory.memsw.limit_in_bytes"))).toBeGreaterThan(1 << 40);
  expect(() => applyResources({ memory: { limit: 4096, checkBeforeUpdate: true } }, dirs, () => {})).toThrow(
    /linux\.resources\.memory\.limit: below the current usage/,
  );
  expect(warns).toEqual([]);
  expect(env.runjs(["delete", "--force", env.id]).code).toBe(0);
  expect(cgroupDirsOf(env.id)).toEqual([]);
});

const v2 = hs.find((h) => h.version === 2)?.mountpoint;
test.skipIf(!v2)("the init is forked straight into its cgroup v2 directory (clone3 CLONE_INTO_CGROUP): nothing moves it there", () => {
  const env = newEnv(["sleep", "30"]);
  env.write();
  const c = env.runjs(["--debug", "create", env.id]);
  expect(c.code).toBe(0);
  const dir = `${v2}${CGROUP_PARENT}/${env.id}`;
  expect(c.err).toContain(`(forked into ${dir})`);
  const pid = JSON.parse(env.runjs(["state", env.id]).out).pid;
  expect(readFileSync(`${dir}/cgroup.procs`, "utf8").trim().split("\n")).toEqual([String(pid)]);
  // and in every v1 hierarchy too, moved there as before
  for (const d of cgroupDirsOf(env.id)) expect([d, readFileSync(`${d}/cgroup.procs`, "utf8").includes(String(pid))]).toEqual([d, true]);
});

test.skipIf(!hs.some((h) => h.version === 1))("runjs-init readies the kernel's cgroup lock by moving itself into the cgroup it is given: runjs gives it its own", async () => {
  // runjs gives the cgroup runjs-init already has, in the first v1 hierarchy (ours: it is our child)
  const own = primeTarget(hs)!;
  expect(readFileSync(own, "utf8").split("\n")).toContain(String(process.pid));
  // runjs-init carries it out: here given a cgroup of the test's, to see that it moved
  const h = hs.find((x) => x.version === 1)!;
  const dir = `${h.mountpoint}${CGROUP_PARENT}/prime`;
  mkdirSync(dir, { recursive: true });
  const [mine, theirs] = socketpair();
  const p = Bun.spawn([join(REPO, "bin/runjs-init"), "init", "3", `${dir}/cgroup.procs`], { stdio: ["ignore", "ignore", "ignore", theirs] });
  close(theirs);
  try {
    let moved = false;
    for (let i = 0; i < 100 && !moved; i++) {
      moved = readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").includes(String(p.pid));
      if (!moved) await Bun.sleep(10);
    }
    expect(moved).toBe(true);
  } finally {
    close(mine); // (its plan never comes: it exits)
    await p.exited;
    rmdirSync(dir);
  }
});
