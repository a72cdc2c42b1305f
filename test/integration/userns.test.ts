// User namespaces for real: root inside, an unprivileged range of ids outside.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsOf, cleanupAll, newEnv, removeCgroupParent, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const BASE = 100000;

/** A bundle whose container is root in a user namespace mapping 0..65535 to BASE..; the rootfs is theirs. */
function mapped(args: string[]): Env {
  const env = newEnv(args);
  env.spec.linux!.namespaces!.push({ type: "user" });
  env.spec.linux!.uidMappings = [{ containerID: 0, hostID: BASE, size: 65536 }];
  env.spec.linux!.gidMappings = [{ containerID: 0, hostID: BASE, size: 65536 }];
  env.spec.root!.readonly = false;
  // the mapped root must reach and own its root filesystem
  chmodSync(env.dir, 0o755);
  Bun.spawnSync(["chown", "-R", `${BASE}:${BASE}`, join(env.bundle, "rootfs")]);
  env.write();
  return env;
}

const statusIds = (pid: number, key: "Uid" | "Gid") =>
  new RegExp(`^${key}:\\s+(.*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!.split(/\s+/).map(Number);

describe("a mapped user namespace", () => {
  test("root inside, the mapped ids on the host; files it creates belong to the mapped ids", () => {
    const env = mapped(["sh", "-c", "id; cat /proc/self/uid_map; touch /tmp/made; chown 1000:1000 /tmp/made; touch /tmp/own; sleep 100"]);
    const caps = env.spec.process!.capabilities!;
    for (const set of [caps.bounding!, caps.effective!, caps.permitted!]) set.push("CAP_CHOWN");
    env.write();
    expect(env.runjs(["run", "-d", env.id]).code).toBe(0);
    const pid = JSON.parse(env.runjs(["state", env.id]).out).pid;
    for (let i = 0; i < 200 && !existsSync(join(env.bundle, "rootfs/tmp/own")); i++) Bun.sleepSync(10);
    expect(statusIds(pid, "Uid")).toEqual([BASE, BASE, BASE, BASE]);
    expect(statusIds(pid, "Gid")).toEqual([BASE, BASE, BASE, BASE]);
    expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync("/proc/self/ns/user"));
    const own = statSync(join(env.bundle, "rootfs/tmp/own"));
    expect([own.uid, own.gid]).toEqual([BASE, BASE]);
    const made = statSync(join(env.bundle, "rootfs/tmp/made"));
    expect([made.uid, made.gid]).toEqual([BASE + 1000, BASE + 1000]);
    // exec joins the user namespace too
    const e = env.runjs(["exec", env.id, "sh", "-c", "id -u; cat /proc/self/uid_map"]);
    expect(e.out).toMatch(/^0\n\s+0\s+100000\s+65536\n$/);
  });

  test("kernel interfaces the namespace owns work; a device node is bound from the host", () => {
    const env = mapped(["sh", "-c", "hostname; cat /proc/sys/net/ipv4/ip_forward; echo x > /dev/null && echo null-ok; mount | grep -c ' /dev/null '"]);
    env.spec.hostname = "mapped";
    env.spec.linux!.sysctl = { "net.ipv4.ip_forward": "1" }; // the network namespace is the user namespace's
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("mapped\n1\nnull-ok\n1\n");
  });

  test("a read-only bind of a host mount keeps the flags the kernel locked (nosuid, nodev, noexec)", () => {
    const env = mapped(["sh", "-c", "grep ' /locked ' /proc/self/mountinfo"]);
    // a host mount of the test's own with those flags, removed at the end
    const src = join(env.dir, "locked");
    mkdirSync(src);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,size=1m", "tmpfs", src]).exitCode).toBe(0);
    try {
      env.spec.mounts!.push({ destination: "/locked", type: "bind", source: src, options: ["bind", "ro"] });
      env.write();
      const r = env.runjs(["run", env.id]);
      expect(r.err).toBe("");
      const opts = r.out.split(" ")[5]!.split(",");
      for (const o of ["ro", "nosuid", "nodev", "noexec"]) expect(opts).toContain(o);
    } finally {
      Bun.spawnSync(["umount", src]);
    }
  });

  test("a container joins another's user namespace by path", () => {
    const a = mapped(["sleep", "100"]);
    expect(a.runjs(["run", "-d", a.id]).code).toBe(0);
    const pid = JSON.parse(a.runjs(["state", a.id]).out).pid;
    const b = mapped(["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    b.spec.linux!.namespaces = b.spec.linux!.namespaces!.map((n) => (n.type === "user" ? { type: "user", path: `/proc/${pid}/ns/user` } : n));
    delete b.spec.linux!.uidMappings;
    delete b.spec.linux!.gidMappings;
    b.write();
    const r = b.runjs(["run", b.id]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^0\n\s+0\s+100000\s+65536\n$/);
  });

  test("a map the kernel refuses fails create, naming it, and leaves nothing", () => {
    const env = mapped(["true"]);
    env.spec.linux!.uidMappings = [
      { containerID: 0, hostID: BASE, size: 10 },
      { containerID: 5, hostID: BASE + 100, size: 10 }, // overlaps inside
    ];
    env.write();
    const r = env.runjs(["create", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/linux\.uidMappings: write \/proc\/\d+\/uid_map: .*invalid argument/i);
    expect(existsSync(join(env.root, env.id))).toBe(false);
    expect(cgroupDirsOf(env.id)).toEqual([]);
  });
});

describe("id-mapped mounts", () => {
  /** A host directory owned by uid/gid 1000 with one file in it. */
  function hostDir(env: Env): string {
    const d = join(env.dir, "shared");
    mkdirSync(d);
    writeFileSync(join(d, "f"), "x\n");
    chownSync(d, 1000, 1000);
    chownSync(join(d, "f"), 1000, 1000);
    chmodSync(d, 0o755);
    return d;
  }

  test("in a mapped container, a host directory owned by 1000 is root's inside, and root writes there as 1000", () => {
    const env = mapped(["sh", "-c", "stat -c '%u:%g' /shared /shared/f; touch /shared/new && stat -c '%u:%g' /shared/new"]);
    const d = hostDir(env);
    // on disk 1000 is what the container's root (host 100000) sees as its own
    env.spec.mounts!.push({
      destination: "/shared",
      type: "bind",
      source: d,
      options: ["bind"],
      uidMappings: [{ containerID: 1000, hostID: BASE, size: 1 }],
      gidMappings: [{ containerID: 1000, hostID: BASE, size: 1 }],
    });
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("0:0\n0:0\n0:0\n");
    const made = statSync(join(d, "new"));
    expect([made.uid, made.gid]).toEqual([1000, 1000]); // on disk: the unmapped owner
    // the same directory bound without a mapping stays the host's (unmapped: nobody)
    expect(statSync(join(d, "f")).uid).toBe(1000);
  });

  test("without a user namespace: on-disk 1000 shows as 0", () => {
    const env = newEnv(["stat", "-c", "%u:%g", "/shared/f"]);
    const d = hostDir(env);
    env.spec.mounts!.push({
      destination: "/shared",
      type: "bind",
      source: d,
      options: ["rbind", "ro"],
      uidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
      gidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
    });
    env.write();
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("0:0\n");
  });

  // A source inside the rootfs names the container's own tree as the mounts before it made
  // it (runc's "mount order" tests): here /mnt is a host directory bound first, and /final
  // binds rootfs/mnt, which on the host is an empty directory.
  function fromOwnTree(env: Env, idmap: { uid: number } | null) {
    const d = hostDir(env);
    const rootfs = join(env.bundle, "rootfs");
    mkdirSync(join(rootfs, "mnt"), { recursive: true });
    mkdirSync(join(rootfs, "final"), { recursive: true });
    env.spec.mounts!.push({ destination: "/mnt", type: "bind", source: d, options: ["rbind"] });
    env.spec.mounts!.push({
      destination: "/final",
      type: "bind",
      source: join(rootfs, "mnt"),
      options: ["rbind"],
      ...(idmap && {
        uidMappings: [{ containerID: 1000, hostID: idmap.uid, size: 1 }],
        gidMappings: [{ containerID: 1000, hostID: idmap.uid, size: 1 }],
      }),
    });
    env.write();
  }

  test("a bind source inside the rootfs is the container's tree: mapped, plain and id-mapped", () => {
    for (const idmap of [null, { uid: BASE }]) {
      const env = mapped(["sh", "-c", "cat /final/f; stat -c '%u:%g' /final/f"]);
      fromOwnTree(env, idmap);
      const r = env.runjs(["run", env.id]);
      expect(r.err).toBe("");
      // plain: the host's 1000 is unmapped in the namespace; id-mapped: it is the container's root
      expect(r.out).toBe(idmap ? "x\n0:0\n" : "x\n65534:65534\n");
    }
  });

  test("a bind source inside the rootfs, id-mapped, without a user namespace", () => {
    const env = newEnv(["sh", "-c", "cat /final/f; stat -c '%u:%g' /final/f"]);
    fromOwnTree(env, { uid: 0 });
    const r = env.runjs(["run", env.id]);
    expect(r.err).toBe("");
    expect(r.out).toBe("x\n0:0\n");
  });

  test("a mapping on a mount that is not a bind mount is refused, naming it", () => {
    const env = newEnv();
    env.spec.mounts!.push({ destination: "/t", type: "tmpfs", source: "tmpfs", uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
    env.write();
    const r = env.runjs(["create", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/mounts\[\d+\]\.uidMappings: only bind mounts can be id-mapped/);
    expect(existsSync(join(env.root, env.id))).toBe(false);
  });
});
