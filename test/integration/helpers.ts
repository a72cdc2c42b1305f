// Shared set-up for integration tests: real containers, run as root, on a busybox rootfs.
//
// Every test gets its own state root and bundle under a temporary directory, and its
// containers live under the cgroup path /runjs-test/<id>. afterEach deletes every container
// the test left (even when it failed) and checks that no cgroup directory remains.
import { closeSync, openSync, readFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultSpec } from "../../src/oci/defaults.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const RUNJS = join(REPO, "bin/runjs");
export const CGROUP_PARENT = "/runjs-test";

const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";
let baseRootfs: string | undefined;

/** A busybox rootfs, made once per test process and copied for each bundle. */
function base(): string {
  if (baseRootfs) return baseRootfs;
  const d = mkdtempSync("/tmp/runjs-base-");
  const r = join(d, "rootfs");
  for (const sub of ["bin", "dev", "proc", "sys", "tmp", "etc", "root"]) mkdirSync(join(r, sub), { recursive: true });
  cpSync(BUSYBOX, join(r, "bin/busybox"));
  const list = Bun.spawnSync([BUSYBOX, "--list"]).stdout.toString().trim().split("\n");
  for (const a of list) if (a !== "busybox") symlinkSync("busybox", join(r, "bin", a));
  writeFileSync(join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n");
  writeFileSync(join(r, "etc/group"), "root:x:0:\nuser:x:1000:\n");
  baseRootfs = d;
  return d;
}

export interface Env {
  dir: string;
  root: string;
  bundle: string;
  id: string;
  spec: Spec;
  /** Write the bundle's config.json from `spec`. */
  write(): void;
  runjs(args: string[], opts?: { stdin?: any; stdout?: any; stderr?: any }): { code: number; out: string; err: string };
}

let counter = 0;
let calls = 0;
const envs: Env[] = [];

export function newEnv(args: string[] = ["true"]): Env {
  const dir = mkdtempSync("/tmp/runjs-it-");
  const bundle = join(dir, "bundle");
  mkdirSync(bundle);
  cpSync(join(base(), "rootfs"), join(bundle, "rootfs"), { recursive: true, verbatimSymlinks: true });
  const id = `t${process.pid}-${++counter}`;
  const spec = defaultSpec({}) as Spec;
  spec.process!.terminal = false;
  spec.process!.args = args;
  spec.root = { path: "rootfs", readonly: true };
  spec.linux!.cgroupsPath = `${CGROUP_PARENT}/${id}`;
  delete spec.linux!.resources; // tests that want limits set them explicitly
  const env: Env = {
    dir,
    root: join(dir, "state"),
    bundle,
    id,
    spec,
    write() {
      writeFileSync(join(bundle, "config.json"), JSON.stringify(env.spec, null, 2));
    },
    runjs(a, opts = {}) {
      // Files, not pipes: a detached container keeps runjs's stdout open, as with runc.
      const o = join(dir, `.out-${++calls}`);
      const e = join(dir, `.err-${calls}`);
      const ofd = openSync(o, "w");
      const efd = openSync(e, "w");
      let code: number;
      try {
        const r = Bun.spawnSync([RUNJS, "--root", env.root, ...a], {
          cwd: bundle,
          stdin: opts.stdin ?? "ignore",
          stdout: opts.stdout ?? ofd,
          stderr: opts.stderr ?? efd,
        });
        code = r.exitCode ?? 128 + (r.signalCode ? 1 : 0);
      } finally {
        closeSync(ofd);
        closeSync(efd);
      }
      return { code, out: readFileSync(o, "utf8"), err: readFileSync(e, "utf8") };
    },
  };
  env.write();
  envs.push(env);
  return env;
}

/** Run the bundle attached and return the container's output. */
export function runIn(env: Env, args: string[]): { code: number; out: string; err: string } {
  env.spec.process!.args = args;
  env.write();
  return env.runjs(["run", env.id]);
}

/** Every cgroup directory for the container that exists on the host. */
export function cgroupDirsOf(id: string): string[] {
  return hostHierarchies()
    .map((h) => `${h.mountpoint}${CGROUP_PARENT}/${id}`)
    .filter((d) => existsSync(d));
}

export function cleanupAll(): void {
  for (const env of envs.splice(0)) {
    if (existsSync(env.root))
      for (const id of readdirSync(env.root)) Bun.spawnSync([RUNJS, "--root", env.root, "delete", "--force", id]);
    rmSync(env.dir, { recursive: true, force: true });
  }
}

/** End of a test file: remove the base rootfs, and /runjs-test in every hierarchy if empty. */
export function removeCgroupParent(): void {
  if (baseRootfs) rmSync(baseRootfs, { recursive: true, force: true });
  baseRootfs = undefined;
  for (const h of hostHierarchies()) {
    try {
      rmdirSync(`${h.mountpoint}${CGROUP_PARENT}`);
    } catch {
      /* not there, or another test still has a container in it */
    }
  }
}

export function hostNs(kind: string): string {
  return Bun.spawnSync(["readlink", `/proc/self/ns/${kind}`]).stdout.toString().trim();
}

/**
 * Live processes of runjs-init (named runjs:[HELPER], [INIT], [EXEC] or [MOUNTS]) anywhere on the host: a helper left behind would be one. A
 * helper that exited is a zombie until it is reaped, which is the host's business.
 */
export function liveHelpers(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const s = readFileSync(`/proc/${d}/status`, "utf8");
        return /^Name:\s*runjs:\[(HELPER|INIT|EXEC|MOUNTS)\]$/m.test(s) && !/^State:\s*Z/m.test(s);
      } catch {
        return false;
      }
    })
    .map(Number);
}
