// linux.resources → cgroup files: the pure conversions (runc's formulas), the order of
// device rules, and the writers against fake cgroup directories (plain files in /tmp), so
// v2 and errors can be checked on any host.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  blkioDeviceLine,
  blkioWeightToIoWeight,
  cpuMax,
  deviceRule,
  hugepageSizeName,
  ioMaxLines,
  limitValue,
  memoryWriteOrder,
  sharesToWeight,
  swapToV2,
} from "../../src/cgroups/convert.ts";
import { applyResources, pidsMax, wantedControllers } from "../../src/cgroups/resources.ts";
import { deviceWrites, rdmaLines } from "../../src/cgroups/v1.ts";
import { unifiedKeyOk } from "../../src/cgroups/v2.ts";

test("cpu shares → cpu.weight with runc's formula", () => {
  expect(sharesToWeight(0)).toBe(0); // nothing asked
  expect(sharesToWeight(2)).toBe(1);
  expect(sharesToWeight(1024)).toBe(39);
  expect(sharesToWeight(262144)).toBe(10000);
});

test("blkio weight → io.weight with runc's formula", () => {
  expect(blkioWeightToIoWeight(0)).toBe(0);
  expect(blkioWeightToIoWeight(10)).toBe(1);
  expect(blkioWeightToIoWeight(500)).toBe(4950);
  expect(blkioWeightToIoWeight(1000)).toBe(10000);
});

test("spec swap (memory+swap) → memory.swap.max (swap alone)", () => {
  expect(swapToV2(0, 100)).toBe(0);
  expect(swapToV2(-1, 100)).toBe(-1);
  expect(swapToV2(0, -1)).toBe(-1); // unlimited memory, swap not given: unlimited too
  expect(swapToV2(300, 100)).toBe(200);
  expect(swapToV2(100, 100)).toBe(0); // no swap at all
  expect(() => swapToV2(50, 100)).toThrow("memory+swap limit should be >= memory limit");
  expect(() => swapToV2(50, 0)).toThrow("unable to set swap limit without memory limit");
  expect(limitValue(-1, 1)).toBe("-1");
  expect(limitValue(-1, 2)).toBe("max");
  expect(limitValue(4096, 2)).toBe("4096");
});

test("v1 memory and memsw are written in an order the kernel accepts", () => {
  expect(memoryWriteOrder(32, 256)).toBe("swap-first"); // raising
  expect(memoryWriteOrder(256, 32)).toBe("limit-first"); // lowering
  expect(memoryWriteOrder(256, -1)).toBe("swap-first"); // unlimited swap
});

test("cpu.max rendering", () => {
  expect(cpuMax(undefined, undefined)).toBeUndefined();
  expect(cpuMax(50000, 100000)).toBe("50000 100000");
  expect(cpuMax(-1, 100000)).toBe("max 100000");
  expect(cpuMax(0, 250000)).toBe("max 250000");
  expect(cpuMax(20000, 0)).toBe("20000");
});

test("device rules: wildcards, the allow-all shorthand, bad types and access", () => {
  expect(deviceRule({ allow: false, access: "rwm" })).toBe("a");
  expect(deviceRule({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" })).toBe("c 1:3 rwm");
  expect(deviceRule({ allow: true, type: "c", major: 136, minor: -1, access: "rw" })).toBe("c 136:* rw");
  expect(deviceRule({ allow: true, type: "b", access: "m" })).toBe("b *:* m");
  expect(deviceRule({ allow: true, type: "a", access: "r" })).toBe("a *:* r");
  expect(() => deviceRule({ allow: true, type: "x" as any, major: 1, minor: 1 })).toThrow('type "x"');
  expect(() => deviceRule({ allow: true, type: "c", access: "rx" })).toThrow('access "rx"');
});

test("device writes: deny all first, the spec's rules in order, then runc's default devices", () => {
  const w = deviceWrites([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
    { allow: false, type: "c", major: 1, minor: 3, access: "w" },
  ]);
  expect(w.slice(0, 4).map((x) => `${x.file} ${x.line}`)).toEqual([
    "devices.deny a",
    "devices.deny a",
    "devices.allow c 1:3 rwm",
    "devices.deny c 1:3 w",
  ]);
  const rest = w.slice(4).map((x) => x.line);
  expect(rest).toContain("c *:* m");
  expect(rest).toContain("c 1:5 rwm"); // /dev/zero
  expect(rest).toContain("c 136:* rwm"); // ptys
  expect(w.slice(4).every((x) => x.file === "devices.allow")).toBe(true);
  expect(() => deviceWrites([{ allow: true, type: "c", access: "rwx" }])).toThrow("linux.resources.devices[0]: access");
});

test("huge page sizes are named the kernel's way", () => {
  expect(hugepageSizeName("2MB")).toBe("2MB");
  expect(hugepageSizeName("2048kB")).toBe("2MB");
  expect(hugepageSizeName("1GB")).toBe("1GB");
  expect(hugepageSizeName("1024MB")).toBe("1GB");
  expect(hugepageSizeName("64KB")).toBe("64KB");
  expect(hugepageSizeName("2M")).toBe("2MB");
  expect(() => hugepageSizeName("2")).toThrow('page size "2"');
  expect(() => hugepageSizeName("huge")).toThrow();
});

test("blkio and io.max lines, rdma lines, pids", () => {
  expect(blkioDeviceLine({ major: 8, minor: 0 }, 500)).toBe("8:0 500");
  expect(
    ioMaxLines({
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 20 }, { major: 8, minor: 16, rate: 0 }],
    }),
  ).toEqual(["8:0 rbps=1000 wiops=20", "8:16 wiops=max"]);
  expect(rdmaLines({ mlx4_0: { hcaHandles: 2, hcaObjects: 100 }, mlx5: {} })).toEqual(["mlx4_0 hca_handle=2 hca_object=100"]);
  expect(pidsMax(0)).toBe("1"); // runtime-spec 1.3: 0 is 0, which runc (and we) make 1
  expect(pidsMax(-1)).toBe("max");
  expect(pidsMax(5)).toBe("5");
});

test("only what is asked for is written: zero and absent values ask nothing", () => {
  expect(wantedControllers({})).toEqual([]);
  expect(wantedControllers({ memory: {}, cpu: { shares: 0 }, blockIO: {}, hugepageLimits: [], network: {} })).toEqual([]);
  expect(wantedControllers({ memory: { swappiness: 0 }, cpu: { cpus: "0" }, pids: { limit: 0 } })).toEqual(["memory", "cpuset", "pids"]);
  expect(unifiedKeyOk("memory.high")).toBe(true);
  expect(unifiedKeyOk("../memory.high")).toBe(false);
  expect(unifiedKeyOk("cgroup.procs")).toBe(false);
});

// ---- writers against fake cgroup directories ------------------------------------------------

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** A directory of empty files standing in for a cgroup. */
function fake(files: string[], controllers = ""): string {
  tmp ??= mkdtempSync("/tmp/runjs-cg-");
  const d = `${tmp}/${Math.random().toString(36).slice(2)}`;
  mkdirSync(d);
  for (const f of files) writeFileSync(`${d}/${f}`, "");
  writeFileSync(`${d}/cgroup.controllers`, controllers);
  return d;
}
const rd = (d: string, f: string) => readFileSync(`${d}/${f}`, "utf8");

test("v2: memory, cpu, cpuset, pids, io, hugetlb and unified go to their v2 files, converted", () => {
  const d = fake(
    ["memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpu.max.burst", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "memory.high"],
    "cpuset cpu io memory hugetlb pids",
  );
  const warns: string[] = [];
  applyResources(
    {
      memory: { limit: 1 << 24, reservation: 1 << 23, swap: 1 << 25, swappiness: 10 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: "0-1", mems: "0" },
      pids: { limit: 7 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 1 << 22 }],
      unified: { "memory.high": "12345678" },
    },
    [{ version: 2, controllers: [], dir: d }],
    (m) => warns.push(m),
  );
  expect(rd(d, "memory.max")).toBe(String(1 << 24));
  expect(rd(d, "memory.low")).toBe(String(1 << 23));
  expect(rd(d, "memory.swap.max")).toBe(String((1 << 25) - (1 << 24)));
  expect(rd(d, "cpu.weight")).toBe("39");
  expect(rd(d, "cpu.max")).toBe("50000 100000");
  expect(rd(d, "cpu.max.burst")).toBe("1000");
  expect(rd(d, "cpuset.cpus")).toBe("0-1");
  expect(rd(d, "pids.max")).toBe("7");
  expect(rd(d, "io.weight")).toBe("4950");
  expect(rd(d, "io.max")).toBe("8:0 rbps=1000");
  expect(rd(d, "hugetlb.2MB.max")).toBe(String(1 << 22));
  expect(rd(d, "hugetlb.2MB.rsvd.max")).toBe(String(1 << 22)); // reservations too, where the kernel has them
  expect(rd(d, "memory.high")).toBe("12345678");
  expect(warns).toEqual(["linux.resources.memory.swappiness: not applied, cgroup v2 has no per-cgroup swappiness"]);
});

test("v2: swap equal to the limit writes memory.swap.max 0; devices need a real cgroup for the eBPF filter", () => {
  const d = fake(["memory.max", "memory.swap.max"], "memory");
  const warns: string[] = [];
  applyResources({ memory: { limit: 1 << 24, swap: 1 << 24 } }, [{ version: 2, controllers: [], dir: d }], (m) => warns.push(m));
  expect(rd(d, "memory.swap.max")).toBe("0");
  expect(warns).toEqual([]);
  // a plain directory is no cgroup: loading or attaching the device filter fails, and says so
  expect(() => applyResources({ devices: [{ allow: false, access: "rwm" }] }, [{ version: 2, controllers: [], dir: d }], (m) => warns.push(m))).toThrow(
    "linux.resources.devices: bpf(",
  );
});

test("errors name the field and the controller or file the host lacks", () => {
  const blkio = fake(["blkio.throttle.read_bps_device"]);
  const v1 = [{ version: 1 as const, controllers: ["blkio"], dir: blkio }];
  const no = () => {};
  expect(() => applyResources({ blockIO: { weight: 500 } }, v1, no)).toThrow("linux.resources.blockIO.weight: blkio.weight is not available on this host");
  expect(() => applyResources({ blockIO: { leafWeight: 500 } }, v1, no)).toThrow("linux.resources.blockIO.leafWeight: blkio.leaf_weight is not available on this host");
  expect(() => applyResources({ hugepageLimits: [{ pageSize: "2MB", limit: 1 }] }, v1, no)).toThrow("linux.resources.hugepageLimits: the hugetlb controller is not available on this host");
  expect(() => applyResources({ network: { classID: 1 } }, v1, no)).toThrow("linux.resources.network.classID: the net_cls controller is not available on this host");
  expect(() => applyResources({ rdma: { mlx4_0: { hcaHandles: 1 } } }, v1, no)).toThrow("linux.resources.rdma: the rdma controller");
  expect(() => applyResources({ unified: { "memory.high": "1" } }, v1, no)).toThrow("linux.resources.unified: cgroup v2 is not mounted on this host");
  // hybrid: a v2 tree beside v1 hierarchies takes no unified keys (runc's rule)
  const hybrid = [...v1, { version: 2 as const, controllers: [], dir: fake(["memory.high"], "memory") }];
  expect(() => applyResources({ unified: { "memory.high": "1" } }, hybrid, no)).toThrow(
    "linux.resources.unified: invalid configuration: cannot use unified on cgroup v1 (this host has cgroup v1 hierarchies)",
  );
  expect(() => applyResources({ memory: { limit: 1 } }, v1, no)).toThrow("linux.resources.memory: the memory controller is not available");
  const v2 = [{ version: 2 as const, controllers: [], dir: fake(["memory.max"], "memory") }];
  expect(() => applyResources({ network: { priorities: [{ name: "eth0", priority: 1 }] } }, v2, no)).toThrow(
    "linux.resources.network.priorities: the net_prio controller does not exist in cgroup v2",
  );
  expect(() => applyResources({ memory: { limit: 100, swap: 50 } }, v2, no)).toThrow("linux.resources.memory.swap: memory+swap limit should be >= memory limit");
  expect(() => applyResources({ cpu: { shares: 100 } }, v2, no)).toThrow("linux.resources.cpu: the cpu controller is not available");
  expect(() => applyResources({ hugepageLimits: [{ pageSize: "huge", limit: 1 }] }, [{ version: 2, controllers: [], dir: fake([], "hugetlb") }], no)).toThrow(
    'linux.resources.hugepageLimits[0].pageSize: page size "huge"',
  );
  expect(() => applyResources({ unified: { "../x.y": "1" } }, v2, no)).toThrow('linux.resources.unified["../x.y"]');
  expect(() => applyResources({ pids: { limit: 3 } }, v1, no)).toThrow("linux.resources.pids: no pids controller on this host");
});

test("v1: memory writes with swappiness checked, devices in order", () => {
  const mem = fake(["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness"]);
  writeFileSync(`${mem}/memory.limit_in_bytes`, "9223372036854771712");
  const dirs = [{ version: 1 as const, controllers: ["memory"], dir: mem }];
  expect(() => applyResources({ memory: { swappiness: 101 } }, dirs, () => {})).toThrow("linux.resources.memory.swappiness: must be 0..100");
  applyResources({ memory: { reservation: 1 << 20, swappiness: 0 } }, dirs, () => {});
  expect(rd(mem, "memory.soft_limit_in_bytes")).toBe(String(1 << 20));
  expect(rd(mem, "memory.swappiness")).toBe("0");
  const noSwap = fake(["memory.limit_in_bytes"]);
  expect(() => applyResources({ memory: { limit: 1 << 20, swap: 1 << 21 } }, [{ version: 1, controllers: ["memory"], dir: noSwap }], () => {})).toThrow(
    "linux.resources.memory.swap: memory.memsw.limit_in_bytes is not available on this host",
  );
});

test("v2 controllers are enabled top-down only in the parents runjs created, never at the root", async () => {
  const { enableControllers } = await import("../../src/cgroups/v2.ts");
  tmp ??= mkdtempSync("/tmp/runjs-cg-");
  const root = `${tmp}/unified`;
  const chain = [root, `${root}/existing`, `${root}/existing/made`, `${root}/existing/made/c1`];
  for (const d of chain) {
    mkdirSync(d, { recursive: true });
    writeFileSync(`${d}/cgroup.controllers`, "memory pids hugetlb");
    writeFileSync(`${d}/cgroup.subtree_control`, "");
  }
  enableControllers(root, chain[3]!, ["memory", "io"], (d) => d === chain[2]);
  expect(rd(root, "cgroup.subtree_control")).toBe("");
  expect(rd(chain[1]!, "cgroup.subtree_control")).toBe(""); // not ours
  expect(rd(chain[2]!, "cgroup.subtree_control")).toBe("+memory"); // io is not in its cgroup.controllers
  expect(rd(chain[3]!, "cgroup.subtree_control")).toBe(""); // the container's own dir holds processes
});
