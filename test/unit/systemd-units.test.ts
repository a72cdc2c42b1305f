// The systemd cgroup driver's pure half: the unit a cgroupsPath names, and the properties a
// container's unit is started with (runc's names and conversions). No systemd needed.
import { describe, expect, test } from "bun:test";
import { annotationProperties, bitmask, deviceProperties, expandSlice, parseProcDevices, resourceProperties, systemdUnit, unitProperties } from "../../src/cgroups/systemd-units.ts";
import { splitSignature } from "../../src/sys/sdbus.ts";

describe("slices and units", () => {
  test("a slice's name spells its place in the tree; -.slice is the root", () => {
    expect(expandSlice("system.slice")).toBe("/system.slice");
    expect(expandSlice("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice");
    expect(expandSlice("-.slice")).toBe("");
  });
  test("names systemd refuses are refused, naming cgroupsPath", () => {
    for (const [s, why] of [
      ["system", 'ends in ".slice"'],
      ["a/b.slice", 'contains "/"'],
      ["a--b.slice", '"-" separates non-empty parts'],
      ["-a.slice", '"-" separates non-empty parts'],
      ["a-.slice", '"-" separates non-empty parts'],
      ["a b.slice", "characters systemd does not allow"],
    ])
      expect(() => expandSlice(s!)).toThrow(`linux.cgroupsPath: invalid slice name ${JSON.stringify(s)}: `);
  });
  test("slice:prefix:name, runc's form, and its defaults", () => {
    expect(systemdUnit("system.slice:runjs:c1", "x", false)).toEqual({ slice: "system.slice", unit: "runjs-c1.scope", path: "/system.slice/runjs-c1.scope" });
    expect(systemdUnit("a-b.slice::c1", "x", false)).toEqual({ slice: "a-b.slice", unit: "c1.scope", path: "/a.slice/a-b.slice/c1.scope" });
    expect(systemdUnit(undefined, "c9", false).path).toBe("/system.slice/runjs-c9.scope");
    expect(systemdUnit(undefined, "c9", true).path).toBe("/user.slice/runjs-c9.scope");
    expect(systemdUnit(":p:c1", "x", true).slice).toBe("user.slice");
    expect(systemdUnit("-:p:c1", "x", false)).toEqual({ slice: "-.slice", unit: "p-c1.scope", path: "/p-c1.scope" });
    // a name ending in .slice: the container is a slice below the given one
    expect(systemdUnit("a.slice:p:a-b.slice", "x", false)).toEqual({ slice: "a.slice", unit: "a-b.slice", path: "/a.slice/a-b.slice" });
  });
  test("malformed paths: the error names cgroupsPath and says what is wanted", () => {
    expect(() => systemdUnit("/runjs/c1", "x", false)).toThrow('linux.cgroupsPath: expected "slice:prefix:name" for the systemd cgroup driver, got "/runjs/c1"');
    expect(() => systemdUnit("a:b:c:d", "x", false)).toThrow("expected");
    expect(() => systemdUnit("system.slice:runjs:", "x", false)).toThrow("the name (after the second \":\") is empty");
    expect(() => systemdUnit("system.slice:ru/n:c", "x", false)).toThrow("a unit name takes letters");
    expect(() => systemdUnit("a.slice:p:b-c.slice", "x", false)).toThrow("the slice b-c.slice is not below a.slice");
    expect(() => systemdUnit(`system.slice:p:${"x".repeat(250)}`, "x", false)).toThrow("is 258 characters, systemd takes 255 at most");
    expect(systemdUnit(`system.slice:p:${"x".repeat(247)}`, "x", false).unit.length).toBe(255);
  });
});

describe("properties", () => {
  test("resources systemd expresses, converted as runc converts them (v2)", () => {
    const p = Object.fromEntries(
      resourceProperties(
        { memory: { limit: 33554432, reservation: 1048576, swap: 67108864 }, cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-2,9", mems: "0" }, pids: { limit: 64 }, blockIO: { weight: 500 } },
        2,
      ),
    );
    expect(p).toEqual({
      MemoryMax: ["t", 33554432n],
      MemoryLow: ["t", 1048576n],
      MemorySwapMax: ["t", 33554432n],
      CPUWeight: ["t", 39n],
      CPUQuotaPeriodUSec: ["t", 100000n],
      CPUQuotaPerSecUSec: ["t", 500000n],
      AllowedCPUs: ["ay", new Uint8Array([0b111, 0b10])],
      AllowedMemoryNodes: ["ay", new Uint8Array([1])],
      TasksMax: ["t", 64n],
      IOWeight: ["t", 4950n], // 1 + (500 - 10) * 9999 / 990
    });
  });
  test("v1 names; -1 is infinity; a quota rounds up to 10 ms a second; 0 asks nothing", () => {
    const v1 = Object.fromEntries(resourceProperties({ memory: { limit: -1 }, cpu: { shares: 512, quota: 12345, period: 100000 }, pids: { limit: -1 }, blockIO: { weight: 300 } }, 1));
    expect(v1).toEqual({
      MemoryLimit: ["t", 0xffff_ffff_ffff_ffffn],
      CPUShares: ["t", 512n],
      CPUQuotaPeriodUSec: ["t", 100000n],
      CPUQuotaPerSecUSec: ["t", 130000n],
      TasksMax: ["t", 0xffff_ffff_ffff_ffffn],
      BlockIOWeight: ["t", 300n],
    });
    expect(resourceProperties({ memory: { limit: 0 }, pids: { limit: 0 } }, 2)).toEqual([]);
    expect(resourceProperties(undefined, 2)).toEqual([]);
    expect(bitmask("")).toEqual(new Uint8Array(0));
  });
  test("org.systemd.property.* annotations, in GVariant text", () => {
    expect(
      annotationProperties({
        "org.systemd.property.TimeoutStopUSec": "uint64 7000000",
        "org.systemd.property.CollectMode": "'inactive-or-failed'",
        "org.systemd.property.SendSIGKILL": "false",
        "org.systemd.property.RuntimeMaxSec": "60000000",
        "org.systemd.property.Nice": "@x -5",
        other: "ignored",
      }),
    ).toEqual([
      ["TimeoutStopUSec", ["t", 7000000n]],
      ["CollectMode", ["s", "inactive-or-failed"]],
      ["SendSIGKILL", ["b", false]],
      ["RuntimeMaxSec", ["t", 60000000n]],
      ["Nice", ["x", -5n]],
    ]);
    expect(() => annotationProperties({ "org.systemd.property.Foo": "maybe" })).toThrow('annotations["org.systemd.property.Foo"]: cannot parse "maybe"');
    expect(() => annotationProperties({ "org.systemd.property.foo": "true" })).toThrow("not a systemd property name");
    expect(() => annotationProperties({ "org.systemd.property.X": "uint64 -1" })).toThrow("cannot be negative");
  });
  test("a scope's unit: its slice, delegation, accounting, no default dependencies, the init's pid", () => {
    const p = unitProperties({ id: "c1", unit: systemdUnit("system.slice:runjs:c1", "c1", false), pid: 42, version: 2, resources: { pids: { limit: 5 } } });
    expect(p).toEqual([
      ["Description", ["s", "runjs container c1"]],
      ["Slice", ["s", "system.slice"]],
      ["Delegate", ["b", true]],
      ["MemoryAccounting", ["b", true]],
      ["CPUAccounting", ["b", true]],
      ["TasksAccounting", ["b", true]],
      ["IOAccounting", ["b", true]],
      ["DefaultDependencies", ["b", false]],
      ["PIDs", ["au", [42]]],
      ["TasksMax", ["t", 5n]],
    ]);
    // a slice has no processes of its own: Wants its parent, no PIDs
    const s = unitProperties({ id: "c1", unit: systemdUnit("a.slice:p:a-b.slice", "c1", false), pid: 42, version: 1 });
    expect(s[1]).toEqual(["Wants", ["s", "a.slice"]]);
    expect(s.some(([n]) => n === "PIDs")).toBe(false);
    expect(s).toContainEqual(["BlockIOAccounting", ["b", true]]);
  });
  test("D-Bus signatures split into complete types", () => {
    expect(splitSignature("ssa(sv)a(sa(sv))")).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(splitSignature("uoss")).toEqual(["u", "o", "s", "s"]);
    expect(splitSignature("a{sv}ay")).toEqual(["a{sv}", "ay"]);
  });
});

describe("devices", () => {
  const names = parseProcDevices("Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n136 pts\n\nBlock devices:\n  8 sd\n");
  test("/proc/devices: each major's first name", () => {
    expect([...names.char]).toEqual([[1, "mem"], [4, "/dev/vc/0"], [136, "pts"]]);
    expect([...names.block]).toEqual([[8, "sd"]]);
  });
  test("deny-all first: strict, one DeviceAllow per exception, runc's default list after the spec's", () => {
    const warnings: string[] = [];
    const p = deviceProperties([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "rw" }, { allow: true, type: "b", major: 8, access: "r" }], names, (m) => warnings.push(m));
    expect(p[0]).toEqual(["DevicePolicy", ["s", "strict"]]);
    expect(p[1]).toEqual(["DeviceAllow", ["a(ss)", []]]); // the reset, for update
    const allow = p[2]![1][1] as [string, string][];
    expect(allow[0]).toEqual(["/dev/char/1:11", "rw"]);
    expect(allow[1]).toEqual(["block-sd", "r"]);
    // the default list (mknod of any char or block node, /dev/null, /dev/zero, /dev/pts/* …)
    expect(allow).toContainEqual(["char-*", "m"]);
    expect(allow).toContainEqual(["block-*", "m"]);
    expect(allow).toContainEqual(["char-pts", "rwm"]);
    expect(warnings).toEqual([]);
  });
  test("allow-all stays with runjs's program alone; an unnamed major is left out with a warning", () => {
    expect(deviceProperties([{ allow: true, access: "rwm" }], names, () => {})).toEqual([]);
    expect(deviceProperties(undefined, names, () => {})).toEqual([]);
    const warnings: string[] = [];
    deviceProperties([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 250, access: "rw" }], names, (m) => warnings.push(m));
    expect(warnings).toEqual(["linux.resources.devices: c 250:* has no name in /proc/devices: left out of systemd's DeviceAllow"]);
  });
});
