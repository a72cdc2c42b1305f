// `runjs features` says what the runtime implements, and Kubernetes decides by it (containerd's
// CRI gives pods user namespaces and recursive read-only mounts only where these fields say
// so). Each claim is checked here against a real container, so the output cannot go stale.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, hostNs, newEnv, removeCgroupParent, RUNJS } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const features = JSON.parse(Bun.spawnSync([RUNJS, "features"]).stdout.toString());

function run(env: ReturnType<typeof newEnv>): { code: number; out: string; err: string } {
  env.write();
  return env.runjs(["run", env.id]);
}

describe("runjs features", () => {
  test("is the runtime-spec's Features document, for runtime-spec 1.3", () => {
    expect(features.ociVersionMin).toBe("1.0.0");
    expect(features.ociVersionMax).toBe("1.3.0");
  });

  test.each(features.linux.namespaces as string[])("namespace %s: a container gets a new one", (ns) => {
    const file = { network: "net", mount: "mnt" }[ns] ?? ns;
    const env = newEnv(["readlink", `/proc/self/ns/${file}`]);
    if (!env.spec.linux!.namespaces!.some((n) => n.type === ns)) env.spec.linux!.namespaces!.push({ type: ns as any });
    if (ns === "user") {
      env.spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      env.spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      chmodSync(env.dir, 0o755); // the mapped root must be able to reach the bundle
    }
    const r = run(env);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(new RegExp(`^${file}:\\[\\d+\\]$`));
    expect(r.out.trim()).not.toBe(hostNs(file));
  });

  test("hooks: every one listed runs", () => {
    const env = newEnv(["true"]);
    const log = join(env.dir, "hooks.log");
    env.spec.hooks = {};
    for (const h of features.hooks as string[]) {
      // in-container hooks see the container's root: they write where the runtime ones can read
      const inside = h === "createContainer" || h === "startContainer";
      // (createContainer runs before pivot_root, in the container's root directory)
      const where = h === "createContainer" ? "./tmp/hooks.log" : inside ? "/tmp/hooks.log" : log;
      (env.spec.hooks as any)[h] = [{ path: "/bin/sh", args: ["sh", "-c", `echo ${h} >> ${where}`] }];
    }
    env.spec.root!.readonly = false;
    const r = run(env);
    expect(r.code).toBe(0);
    const all = readFileSync(log, "utf8") + readFileSync(join(env.bundle, "rootfs/tmp/hooks.log"), "utf8");
    for (const h of features.hooks as string[]) expect(all).toContain(`${h}\n`);
  });

  test("mountExtensions.idmap: a bind mount shows its files through a mapping of its own", () => {
    expect(features.linux.mountExtensions.idmap.enabled).toBe(true);
    const env = newEnv(["stat", "-c", "%u", "/mnt/f"]);
    const src = join(env.dir, "src");
    mkdirSync(src);
    writeFileSync(join(src, "f"), "");
    chownSync(join(src, "f"), 1000, 1000);
    env.spec.mounts!.push({
      destination: "/mnt",
      type: "bind",
      source: src,
      options: ["bind"],
      // runc's reading of a mount's mapping: on-disk containerID is seen as hostID
      uidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
      gidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
    });
    const r = run(env);
    expect(r.err).toBe("");
    expect(r.out).toBe("0\n");
  });

  test("mount options: each one listed is the planner's, not passed to the filesystem as data", async () => {
    const { parseMountOptions } = await import("../../src/plan/mounts.ts");
    for (const o of features.mountOptions as string[]) expect(parseMountOptions([o]).data).toEqual([]);
    // and a recursive one takes effect: rro makes every mount under a bind read-only
    const env = newEnv(["sh", "-c", "touch /mnt/x 2>/dev/null && echo writable || echo read-only"]);
    env.spec.mounts!.push({ destination: "/mnt", type: "bind", source: env.dir, options: ["rbind", "rro"] });
    expect(run(env).out).toBe("read-only\n");
  });

  test.each((features.linux.seccomp.actions as string[]).filter((a) => a !== "SCMP_ACT_NOTIFY"))("seccomp action %s: a filter with it is installed", (action) => {
    const env = newEnv(["sh", "-c", "mkdir /tmp/x 2>/dev/null; echo done"]);
    env.spec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: action as any }] };
    const r = run(env);
    expect(r.err).not.toContain("runjs:");
    // the killing actions end the shell's child; the others let the shell go on
    if (!/KILL|TRAP/.test(action)) expect(r.out).toBe("done\n");
  });

  test("capabilities: the whole list can be the bounding set", () => {
    const env = newEnv(["grep", "CapBnd", "/proc/self/status"]);
    const own = BigInt("0x" + /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
    const names = features.linux.capabilities as string[];
    env.spec.process!.capabilities!.bounding = names.filter((_, i) => (own >> BigInt(i)) & 1n);
    const r = run(env);
    expect(r.err).toBe("");
    expect(BigInt("0x" + /CapBnd:\s*([0-9a-f]+)/.exec(r.out)![1])).toBe(own);
  });
});
