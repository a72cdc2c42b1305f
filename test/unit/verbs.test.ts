// Pure parts of pause / ps / events / update: argument parsing, stats parsing, ps filtering.
import { expect, test } from "bun:test";
import { resourcesFromFlags, resourcesFromJson } from "../../src/container/update.ts";
import { parseMemory, parseSignal } from "../../src/units.ts";
import { parseDuration } from "../../src/container/events.ts";
import { filterPs } from "../../src/container/ps.ts";
import { describeDirs } from "../../src/cgroups/hierarchy.ts";
import { eventsFrozen, freezerDir } from "../../src/cgroups/freezer.ts";
import { oomKills, parseBlkioV1, parseIoStat, parseKV, parseNum, statsV1, statsV2, UNLIMITED, type Reader } from "../../src/cgroups/stats.ts";
import type { Hierarchy } from "../../src/cgroups/hierarchy.ts";

test("memory sizes in runc's forms", () => {
  expect(parseMemory("1234")).toBe(1234);
  expect(parseMemory("64m")).toBe(64 * 2 ** 20);
  expect(parseMemory("64M")).toBe(64 * 2 ** 20);
  expect(parseMemory("1g")).toBe(2 ** 30);
  expect(parseMemory("1GiB")).toBe(2 ** 30);
  expect(parseMemory("512kb")).toBe(512 * 1024);
  expect(parseMemory("1.5g")).toBe(1.5 * 2 ** 30);
  expect(parseMemory("2 t")).toBe(2 * 2 ** 40);
  expect(parseMemory("-1")).toBe(-1);
  for (const bad of ["", "abc", "-2", "64x", "1..5g", "m"]) expect(() => parseMemory(bad)).toThrow(/invalid value/);
});

test("update flags map to LinuxResources, with only what was given", () => {
  const warns: string[] = [];
  const w = (m: string) => warns.push(m);
  expect(resourcesFromFlags({}, w)).toEqual({});
  expect(
    resourcesFromFlags(
      {
        memory: "64m",
        "memory-reservation": "32m",
        "memory-swap": "-1",
        "cpu-share": "512",
        "cpu-quota": "-1",
        "cpu-period": "100000",
        "cpu-rt-runtime": "950",
        "cpu-rt-period": "1000",
        "cpuset-cpus": "0-1",
        "cpuset-mems": "0",
        "pids-limit": "7",
        "blkio-weight": "500",
      },
      w,
    ),
  ).toEqual({
    memory: { limit: 64 * 2 ** 20, reservation: 32 * 2 ** 20, swap: -1 },
    cpu: { shares: 512, quota: -1, period: 100000, realtimeRuntime: 950, realtimePeriod: 1000, cpus: "0-1", mems: "0" },
    pids: { limit: 7 },
    blockIO: { weight: 500 },
  });
  expect(resourcesFromFlags({ "cpu-shares": "256" }, w)).toEqual({ cpu: { shares: 256 } });
  expect(resourcesFromFlags({ "pids-limit": "-1" }, w)).toEqual({ pids: { limit: -1 } });
  expect(warns).toEqual([]);
  expect(resourcesFromFlags({ "kernel-memory": "10m" }, w)).toEqual({});
  expect(warns[0]).toContain("kernel memory");
  expect(() => resourcesFromFlags({ "cpu-period": "-5" }, w)).toThrow(/cpu-period/);
  expect(() => resourcesFromFlags({ "pids-limit": "many" }, w)).toThrow(/pids-limit/);
  expect(() => resourcesFromFlags({ "blkio-weight": "70000" }, w)).toThrow(/blkio-weight/);
});

test("resources JSON", () => {
  expect(resourcesFromJson('{"pids":{"limit":3},"memory":{"limit":1048576}}')).toEqual({ pids: { limit: 3 }, memory: { limit: 1048576 } });
  expect(() => resourcesFromJson("{")).toThrow(/invalid resources JSON/);
  expect(() => resourcesFromJson("[1]")).toThrow(/not an object/);
});

test("Go durations", () => {
  expect(parseDuration("5s")).toBe(5000);
  expect(parseDuration("100ms")).toBe(100);
  expect(parseDuration("1m30s")).toBe(90000);
  expect(parseDuration("1.5s")).toBe(1500);
  expect(parseDuration("2h")).toBe(7200000);
  for (const bad of ["", "5", "s", "0s", "5 s", "-1s"]) expect(() => parseDuration(bad)).toThrow();
});

test("ps output is filtered by the PID column found in the header", () => {
  const out = [
    "UID          PID    PPID  C STIME TTY          TIME CMD",
    "root           1       0  0 10:00 ?        00:00:01 /sbin/init",
    "root         100       1  0 10:00 ?        00:00:00 sleep 100",
    "root        1001     100  0 10:00 ?        00:00:00 sleep 100",
    "root       10010       1  0 10:00 ?        00:00:00 other",
    "",
  ].join("\n");
  const lines = filterPs(out, [100, 1001]).trimEnd().split("\n");
  expect(lines.length).toBe(3);
  expect(lines[0]).toStartWith("UID");
  expect(lines[1]).toContain(" 100 ");
  expect(lines[2]).toContain(" 1001 ");
  expect(filterPs("  PID COMMAND\n   7 sh\n   8 ps\n", [7])).toBe("  PID COMMAND\n   7 sh\n");
  expect(() => filterPs("USER COMMAND\nroot sh\n", [1])).toThrow(/PID field/);
});

const hs: Hierarchy[] = [
  { version: 1, mountpoint: "/sys/fs/cgroup/cpu", root: "/", controllers: ["cpu"], own: "/" },
  { version: 1, mountpoint: "/sys/fs/cgroup/cpuacct", root: "/", controllers: ["cpuacct"], own: "/" },
  { version: 1, mountpoint: "/sys/fs/cgroup/freezer", root: "/", controllers: ["freezer"], own: "/" },
  { version: 2, mountpoint: "/sys/fs/cgroup/unified", root: "/", controllers: [], own: "/" },
];

test("saved cgroup dirs are matched to their hierarchy by mountpoint prefix", () => {
  const dirs = describeDirs(
    ["/sys/fs/cgroup/cpuacct/runjs-test/a", "/sys/fs/cgroup/cpu/runjs-test/a", "/sys/fs/cgroup/freezer/x", "/sys/fs/cgroup/unified/x", "/elsewhere/x"],
    hs,
  );
  expect(dirs.map((d) => [d.version, d.controllers.join(",")])).toEqual([
    [1, "cpuacct"],
    [1, "cpu"],
    [1, "freezer"],
    [2, ""],
  ]);
  expect(freezerDir(dirs)!.dir).toBe("/sys/fs/cgroup/freezer/x");
  expect(freezerDir(dirs.filter((d) => d.version === 2))!.dir).toBe("/sys/fs/cgroup/unified/x");
  expect(eventsFrozen("populated 1\nfrozen 1\n", 1)).toBe(true);
  expect(eventsFrozen("populated 1\nfrozen 0\n", 1)).toBe(false);
  expect(eventsFrozen("populated 1\nfrozen 0\n", 0)).toBe(true);
});

test("file parsers", () => {
  expect(parseKV("cache 4096\nrss 8192\nbad line here\n")).toEqual({ cache: 4096, rss: 8192 });
  expect(parseNum("42\n")).toBe(42);
  expect(parseNum("max\n")).toBe(UNLIMITED);
  expect(parseNum(undefined)).toBe(0);
  expect(parseBlkioV1("8:0 Read 100\n8:0 Write 200\n8:0 Total 300\nTotal 300\n")).toEqual([
    { major: 8, minor: 0, op: "Read", value: 100 },
    { major: 8, minor: 0, op: "Write", value: 200 },
    { major: 8, minor: 0, op: "Total", value: 300 },
  ]);
  expect(parseIoStat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n")).toEqual({
    bytes: [
      { major: 8, minor: 0, op: "Read", value: 10 },
      { major: 8, minor: 0, op: "Write", value: 20 },
    ],
    ios: [
      { major: 8, minor: 0, op: "Read", value: 1 },
      { major: 8, minor: 0, op: "Write", value: 2 },
    ],
  });
  expect(oomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")).toBe(3);
  expect(oomKills("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")).toBe(1);
  expect(oomKills(undefined)).toBe(0);
});

const reader = (files: Record<string, string>): Reader => (c, f) => files[c ? `${c}/${f}` : f];

test("v1 stats in runc's shape", () => {
  const s = statsV1(
    reader({
      "cpuacct/cpuacct.usage": "123456789\n",
      "cpuacct/cpuacct.usage_percpu": "100 200 0 5 \n",
      "cpuacct/cpuacct.stat": "user 3\nsystem 2\n",
      "cpu/cpu.stat": "nr_periods 10\nnr_throttled 4\nthrottled_time 999\n",
      "memory/memory.usage_in_bytes": "1048576\n",
      "memory/memory.max_usage_in_bytes": "2097152\n",
      "memory/memory.failcnt": "0\n",
      "memory/memory.limit_in_bytes": "9223372036854771712\n",
      "memory/memory.stat": "cache 4096\nrss 8192\ntotal_cache 4096\n",
      "pids/pids.current": "2\n",
      "pids/pids.max": "max\n",
    }),
  ) as any;
  expect(s.cpu.usage).toEqual({ total: 123456789, percpu: [100, 200, 0, 5], percpu_kernel: [], percpu_user: [], kernel: 2e7, user: 3e7 });
  expect(s.cpu.throttling).toEqual({ periods: 10, throttled_periods: 4, throttled_time: 999 });
  expect(s.memory.usage).toEqual({ usage: 1048576, max: 2097152, failcnt: 0, limit: 9223372036854771712 });
  expect(s.memory.cache).toBe(4096);
  expect(s.memory.raw.rss).toBe(8192);
  expect(s.pids).toEqual({ current: 2, limit: 0 });
  expect(s.blkio).toBeUndefined();
  // no memory controller: no memory section
  expect((statsV1(reader({})) as any).memory).toBeUndefined();
});

test("v2 stats in runc's shape", () => {
  const s = statsV2(
    reader({
      "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n",
      "memory.current": "4096\n",
      "memory.max": "max\n",
      "memory.peak": "8192\n",
      "memory.stat": "anon 1024\nfile 2048\n",
      "memory.events": "low 0\nhigh 0\nmax 5\noom 0\noom_kill 0\n",
      "memory.swap.current": "0\n",
      "memory.swap.max": "max\n",
      "pids.current": "3\n",
      "pids.max": "100\n",
      "io.stat": "8:0 rbytes=1 wbytes=2 rios=3 wios=4\n",
    }),
  ) as any;
  expect(s.cpu.usage).toEqual({ total: 1500000, percpu: [], kernel: 500000, user: 1000000 });
  expect(s.cpu.throttling).toEqual({ periods: 3, throttled_periods: 1, throttled_time: 7000 });
  expect(s.memory.usage).toEqual({ usage: 4096, max: 8192, failcnt: 5, limit: UNLIMITED });
  expect(s.memory.cache).toBe(2048);
  expect(s.memory.swap.limit).toBe(UNLIMITED);
  expect(s.pids).toEqual({ current: 3, limit: 100 });
  expect(s.blkio.ioServiceBytesRecursive.length).toBe(2);
});

test("signals by name, SIG name, number and real-time offset, as runc reads them", () => {
  expect(["KILL", "SIGKILL", "kill", "9"].map(parseSignal)).toEqual([9, 9, 9, 9]);
  expect([parseSignal("TERM"), parseSignal("0"), parseSignal("RTMIN"), parseSignal("RTMIN+2"), parseSignal("SIGRTMAX-1")]).toEqual([15, 0, 34, 36, 63]);
  expect(() => parseSignal("NOPE")).toThrow("invalid signal: NOPE");
  expect(() => parseSignal("65")).toThrow("invalid signal: 65");
});
