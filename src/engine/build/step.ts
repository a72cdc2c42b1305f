// One filesystem step of a build: an overlayfs mount of the stage's layers with a fresh upper
// directory, changed by a RUN (a container) or by the builder itself (COPY, ADD, WORKDIR),
// then unmounted; the upper directory is the step's diff (layer.ts).
//
// A RUN is an ordinary runjs container — Docker's capabilities, seccomp profile and AppArmor
// profile, the build's network — whose command is the instruction's, with no standard input
// and its output streamed to the builder's. The runtime mounts /proc, /sys, /dev and the
// container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and would create the mount
// points an image lacks in the root filesystem, where they would end up in the layer. So
// those that are missing are made in a scaffold: one more lower directory, above the image's
// layers, holding just the missing mount points (directories with the attributes the image
// gives the path, where it has it). The container sees them; the upper directory never does.
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "../../container/create.ts";
import { releaseInit, teardown } from "../../container/lifecycle.ts";
import { attach } from "../../container/run.ts";
import { unlock, withContainer } from "../../container/state.ts";
import * as seccompLib from "../../sys/libseccomp.ts";
import type { Store } from "../images/store.ts";
import { defaultProfile } from "../containers/apparmor.ts";
import { networkAdd, networkDel } from "../containers/network.ts";
import { mountOverlay, unmount } from "../containers/overlay.ts";
import { containerSpec, type RunFlags } from "../containers/spec.ts";
import { Tree } from "./copy.ts";

/** Mount points the runtime needs, by the kind it needs. */
const MOUNT_POINTS: [string, "dir" | "file"][] = [
  ["proc", "dir"], ["sys", "dir"], ["dev", "dir"],
  ["etc/hostname", "file"], ["etc/hosts", "file"], ["etc/resolv.conf", "file"],
];

export interface StepDirs {
  dir: string;
  upper: string;
  rootfs: string;
}

/** Where a step works: DIR/{upper,work,rootfs,scaffold,empty}, in the store's tmp/. */
export function stepDirs(store: Store): StepDirs {
  const dir = store.tmpPath("build");
  for (const d of ["upper", "work", "rootfs"]) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  return { dir, upper: join(dir, "upper"), rootfs: join(dir, "rootfs") };
}

/** The overlay options of a build: no redirects and no metacopy, so the upper directory is a plain diff. */
const BUILD_OPTS = "redirect_dir=off,metacopy=off,index=off";

/**
 * Mount the stage's layers (top first) with the step's upper directory. With `scaffold`,
 * the missing mount points of a container are added as one more lower directory.
 */
export function mountStep(d: StepDirs, lowers: string[], scaffold: boolean): void {
  const extra: string[] = [];
  if (scaffold) {
    const s = join(d.dir, "scaffold");
    mkdirSync(s, { mode: 0o755 });
    const probe = lowers.length ? new MergedProbe(lowers) : undefined;
    for (const [p, kind] of MOUNT_POINTS) {
      const have = probe?.kind(p);
      if (have) continue; // there (or something else is, which the runtime reports as for any container)
      // a parent made here for a missing file takes the image's attributes for that directory
      const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : undefined;
      if (parent && !existsSync(join(s, parent))) {
        mkdirSync(join(s, parent), { mode: 0o755 });
        const from = probe?.path(parent);
        if (from) {
          const st = lstatSync(from);
          chownSync(join(s, parent), st.uid, st.gid);
          chmodSync(join(s, parent), st.mode & 0o7777);
          utimesSync(join(s, parent), st.atime, st.mtime);
        }
      }
      if (kind === "dir") mkdirSync(join(s, p), { mode: 0o755 });
      else closeSync(openSync(join(s, p), "w", 0o644));
    }
    extra.push(s);
  }
  if (!lowers.length && !extra.length) {
    mkdirSync(join(d.dir, "empty"));
    extra.push(join(d.dir, "empty"));
  }
  mountOverlay([...extra, ...lowers], d.upper, join(d.dir, "work"), d.rootfs, BUILD_OPTS);
}

/** What a path is in the union of lower layers (top first), whiteouts and opaque directories honoured. */
class MergedProbe {
  constructor(readonly lowers: string[]) {}
  /** The path of rel in the topmost layer that has it. */
  path(rel: string): string | undefined {
    return this.find(rel)?.path;
  }
  kind(rel: string): "dir" | "file" | "other" | undefined {
    return this.find(rel)?.kind;
  }
  find(rel: string): { kind: "dir" | "file" | "other"; path: string } | undefined {
    const parts = rel.split("/");
    for (const l of this.lowers) {
      let st;
      try {
        st = lstatSync(join(l, rel));
      } catch {
        // a whiteout of the path or of a parent in this layer hides the rest
        if (parts.some((_, i) => isWhiteout(join(l, ...parts.slice(0, i + 1))))) return undefined;
        continue;
      }
      if (st.isCharacterDevice() && st.rdev === 0) return undefined;
      return { kind: st.isDirectory() ? "dir" : st.isFile() ? "file" : "other", path: join(l, rel) };
    }
    return undefined;
  }
}

function isWhiteout(p: string): boolean {
  try {
    const st = lstatSync(p);
    return st.isCharacterDevice() && st.rdev === 0;
  } catch {
    return false;
  }
}

/** Unmount the step's root filesystem and remove everything of the step but its upper directory. */
export function unmountStep(d: StepDirs): void {
  unmount(d.rootfs);
  for (const x of ["work", "rootfs", "scaffold", "empty", "etc", "config.json"]) rmSync(join(d.dir, x), { recursive: true, force: true });
}

export function removeStep(d: StepDirs): void {
  unmount(d.rootfs);
  rmSync(d.dir, { recursive: true, force: true });
}

export interface RunStep {
  argv: string[];
  env: string[];
  user?: string;
  workdir?: string;
  network: "none" | "host" | "bridge";
  /** The cgroup the step's container goes under (default /runjs). */
  cgroupParent?: string;
  /** fds for the container's output; stdin is /dev/null */
  stdout: number;
  stderr: number;
}

/** Run a RUN's command in a container over the mounted step; its exit status. */
export async function runInStep(store: Store, d: StepDirs, r: RunStep, runtimeRoot: string, warn: (m: string) => void): Promise<number> {
  const id = `build-${new Bun.CryptoHasher("sha256").update(crypto.getRandomValues(new Uint8Array(16))).digest("hex").slice(0, 24)}`;
  const etcDir = join(d.dir, "etc");
  mkdirSync(etcDir);
  const etc = { hostname: join(etcDir, "hostname"), hosts: join(etcDir, "hosts"), resolv: join(etcDir, "resolv.conf") };
  const hostname = id.slice(6, 18);
  writeFileSync(etc.hostname, hostname + "\n");
  writeFileSync(etc.hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`);
  writeFileSync(etc.resolv, r.network === "none" ? "" : existsSync("/etc/resolv.conf") ? readFileSync("/etc/resolv.conf") : "");
  const tree = new Tree(d.rootfs, "the image");
  let passwd = "";
  let group = "";
  try {
    passwd = tree.read("etc/passwd")?.toString() ?? "";
    group = tree.read("etc/group")?.toString() ?? "";
  } finally {
    tree.close();
  }
  const flags: RunFlags = {
    image: "the build step",
    cmd: r.argv,
    entrypoint: "",
    tty: false,
    interactive: false,
    rm: true,
    env: [],
    envFileLines: [],
    volumes: [],
    tmpfs: [],
    network: r.network,
    readOnly: false,
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    ...(r.user ? { user: r.user } : {}),
  };
  const spec = containerSpec({ Env: r.env, WorkingDir: r.workdir, Cmd: r.argv, Entrypoint: null }, flags, {
    rootfs: d.rootfs,
    hostname,
    etc,
    passwd,
    group,
    cgroupsPath: `${r.cgroupParent ?? "/runjs"}/${id}`,
    hostEnv: {},
    readFile: (p) => readFileSync(p, "utf8"),
    isKnownSyscall: (n) => seccompLib.syscallResolveName(n) !== -1,
    volumePath: (n) => n,
    apparmorDefault: defaultProfile,
  });
  writeFileSync(join(d.dir, "config.json"), JSON.stringify(spec));
  const devnull = openSync("/dev/null", "r");
  let c;
  try {
    c = create({ root: runtimeRoot, id, bundle: d.dir, attached: true, stdio: [devnull, r.stdout, r.stderr], warn });
  } finally {
    closeSync(devnull);
  }
  try {
    if (r.network === "bridge") networkAdd(d.dir, store.root, id, `/proc/${c.state.pid}/ns/net`, []);
    releaseInit(c.dir, c.state);
  } catch (e) {
    teardown(c.dir, c.state, warn);
    networkDel(d.dir);
    throw e;
  }
  unlock(c.lockFd);
  try {
    return await attach(c.proc, undefined, () => withContainer(runtimeRoot, id, (x) => teardown(x.dir, x.st, warn)));
  } finally {
    networkDel(d.dir);
  }
}
