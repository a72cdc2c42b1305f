// Who writes a user namespace's id maps, and how.
import { describe, expect, test } from "bun:test";
import { compileInit } from "../../src/plan/compile.ts";
import { idMapText, planIdMaps } from "../../src/plan/userns.ts";
import { testFacts, testSpec } from "./fixtures.ts";

const withUserns = (uid: [number, number, number][], gid: [number, number, number][]) => {
  const s = testSpec();
  s.linux!.namespaces!.push({ type: "user" });
  s.linux!.uidMappings = uid.map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
  s.linux!.gidMappings = gid.map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
  return s;
};

describe("id maps", () => {
  test("rendered as the kernel's text", () => {
    expect(idMapText([{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 65536, hostID: 5, size: 1 }])).toBe("0 100000 65536\n65536 5 1\n");
  });

  test("root writes every map itself and keeps setgroups", () => {
    expect(planIdMaps(withUserns([[0, 100000, 65536]], [[0, 100000, 65536]]), { euid: 0, egid: 0 })).toEqual({
      uidMap: "0 100000 65536\n",
      gidMap: "0 100000 65536\n",
      uidDirect: true,
      gidDirect: true,
      denySetgroups: false,
    });
  });

  test("an unprivileged user maps its own ids itself, denying setgroups; a range goes through newuidmap", () => {
    const own = planIdMaps(withUserns([[0, 1000, 1]], [[0, 1000, 1]]), { euid: 1000, egid: 1000 })!;
    expect([own.uidDirect, own.gidDirect, own.denySetgroups]).toEqual([true, true, true]);
    const range = planIdMaps(withUserns([[0, 1000, 1], [1, 100000, 65536]], [[0, 1000, 1], [1, 100000, 65536]]), { euid: 1000, egid: 1000 })!;
    expect([range.uidDirect, range.gidDirect, range.denySetgroups]).toEqual([false, false, false]);
  });

  test("no new user namespace, no maps; denied setgroups reach the plan; extra groups are refused then", () => {
    expect(planIdMaps(testSpec(), { euid: 0, egid: 0 })).toBeUndefined();
    const s = withUserns([[0, 1000, 1]], [[0, 1000, 1]]);
    expect(compileInit(s, testFacts({ caller: { euid: 1000, egid: 1000 } })).noSetgroups).toBe(true);
    expect(compileInit(s, testFacts()).noSetgroups).toBe(false);
    s.process!.user = { uid: 0, gid: 0, additionalGids: [5] };
    expect(() => planIdMaps(s, { euid: 1000, egid: 1000 })).toThrow("config.json: process.user.additionalGids:");
  });
});
