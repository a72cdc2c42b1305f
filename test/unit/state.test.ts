// Status is computed from the kernel, never trusted from the file.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { checkId, computeStatus, emptyState, procStat } from "../../src/container/state.ts";

test("a live pid with the recorded start time is the container; a recycled pid is not", () => {
  const dir = mkdtempSync("/tmp/runjs-state-");
  try {
    const me = procStat(process.pid)!;
    expect(me.zombie).toBe(false);
    const st = { ...emptyState("c1"), pid: process.pid, startTime: me.startTime, complete: true };
    expect(computeStatus(dir, st)).toBe("running");
    writeFileSync(`${dir}/exec.fifo`, "");
    expect(computeStatus(dir, st)).toBe("created");
    // same pid, another start time: the pid was reused by an unrelated process
    expect(computeStatus(dir, { ...st, startTime: me.startTime + 1 })).toBe("stopped");
    expect(computeStatus(dir, { ...st, pid: 0x3fffffff })).toBe("stopped");
    // a create that has not finished is "creating" while its init lives
    expect(computeStatus(dir, { ...st, complete: false })).toBe("creating");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("container ids: runc's alphabet, no path tricks", () => {
  for (const ok of ["a", "abc-DEF_1.2+3", "x".repeat(1024)]) expect(checkId(ok)).toBe(ok);
  for (const bad of ["", ".", "..", "a/b", "../x", "a b", "x".repeat(1025), "é"]) expect(() => checkId(bad)).toThrow();
});

test("removeStateDir also removes what a killed runjs left in the directory", () => {
  const { mkdirSync, existsSync } = require("node:fs");
  const { removeStateDir } = require("../../src/container/state.ts");
  const dir = mkdtempSync("/tmp/runjs-state-");
  writeFileSync(`${dir}/state.json`, "{}");
  writeFileSync(`${dir}/state.json.tmp-12345`, "{"); // a write that never got renamed
  mkdirSync(`${dir}/sub`);
  removeStateDir(dir);
  expect(existsSync(dir)).toBe(false);
});
