// The real clients, started by the tests with private state: Podman (daemonless, with conmon),
// containerd (ctr, through the io.containerd.runc.v2 shim) and Docker (dockerd with the
// containerd it manages). Each is told to use RUNTIME (runjs by default; RUNJS_CLIENT_RUNTIME
// points the same suite at runc for comparison) through a small wrapper that logs every call,
// so a test can prove which runtime ran and which verbs the client used.
//
// Everything lives under one temporary directory; containers go under the cgroup path
// /runjs-clients/<client>; daemons listen on unix sockets in that directory only, are stopped
// by pid at the end, and whatever is left of theirs (shims, mounts, cgroups) is removed.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { hostHierarchies } from "../../src/cgroups/hierarchy.ts";
import { removeNetworkLeftovers } from "../netclean.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const RUNTIME = process.env.RUNJS_CLIENT_RUNTIME ?? join(REPO, "bin/runjs");
export const CGROUP_PARENT = "/runjs-clients";
export const IMAGE = "localhost/runjs-test/busybox:latest";

export const WORK = mkdtempSync("/tmp/runjs-clients-");

/**
 * The clients as scripts/client-deps.sh installs them from Debian, by full path: a machine may
 * have other builds ahead of them on PATH (a newer Docker CLI in /usr/local/bin, say), and the
 * suite must drive the ones it installed, which match their daemons.
 */
export const BIN = {
  podman: "/usr/bin/podman",
  containerd: "/usr/bin/containerd",
  ctr: "/usr/bin/ctr",
  dockerd: "/usr/sbin/dockerd",
  docker: "/usr/bin/docker",
} as const;
const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";

export interface Result {
  code: number;
  out: string;
  err: string;
}

let calls = 0;
/** Run a client command with stdout/stderr in files (a detached container may keep them open). */
export function sh(argv: string[], env: Record<string, string> = {}, stdin: "ignore" | Uint8Array = "ignore"): Result {
  const o = join(WORK, `.out-${++calls}`);
  const e = join(WORK, `.err-${calls}`);
  const r = Bun.spawnSync(["sh", "-c", 'exec "$@" >"$O" 2>"$E"', "sh", ...argv], {
    env: { ...process.env, ...env, O: o, E: e },
    stdin,
  });
  const res = { code: r.exitCode ?? 128, out: readFileSync(o, "utf8"), err: readFileSync(e, "utf8") };
  rmSync(o, { force: true });
  rmSync(e, { force: true });
  return res;
}

/** Milliseconds a client command takes, end to end (for the benchmarks); throws if it fails. */
export function timed(argv: string[]): number {
  const t = Bun.nanoseconds();
  const r = sh(argv);
  const dt = (Bun.nanoseconds() - t) / 1e6;
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}: ${r.err.trim()}`);
  return dt;
}

// ---- the runtime wrapper --------------------------------------------------------------------

export const CALL_LOG = join(WORK, "runtime-calls.log");
export const WRAPPER = join(WORK, "bin/runtime");
mkdirSync(join(WORK, "bin"));
writeFileSync(WRAPPER, `#!/bin/sh\necho "$*" >>${CALL_LOG}\nexec ${RUNTIME} "$@"\n`);
chmodSync(WRAPPER, 0o755);

/** The runtime calls logged since `from` (a line count). */
export function runtimeCalls(from = 0): string[] {
  if (!existsSync(CALL_LOG)) return [];
  return readFileSync(CALL_LOG, "utf8").split("\n").filter(Boolean).slice(from);
}

// ---- the test image -------------------------------------------------------------------------

/**
 * A busybox image, made offline: a root filesystem of the host's static busybox, packed as a
 * docker-archive (manifest.json, config, one layer) that `docker load`, `podman load` and
 * `ctr images import` all read.
 */
export function buildImage(): string {
  const dir = join(WORK, "image");
  const root = join(dir, "rootfs");
  for (const d of ["bin", "etc", "tmp", "root", "www", "data", "proc", "sys", "dev"]) mkdirSync(join(root, d), { recursive: true });
  cpSync(BUSYBOX, join(root, "bin/busybox"));
  for (const a of Bun.spawnSync([BUSYBOX, "--list"]).stdout.toString().trim().split("\n"))
    if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nuser:x:1000:\n");
  writeFileSync(join(root, "www/index.html"), "hello from runjs\n");
  const out = join(dir, "archive");
  mkdirSync(out);
  const layer = join(out, "layer.tar");
  if (Bun.spawnSync(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", layer, "."]).exitCode !== 0)
    throw new Error("tar failed");
  const sha = (p: string) => new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex");
  const diff = sha(layer);
  mkdirSync(join(out, diff));
  cpSync(layer, join(out, diff, "layer.tar"));
  rmSync(layer);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${diff}`] },
    history: [{ created_by: "runjs test image: busybox-static" }],
  });
  const cfgSha = new Bun.CryptoHasher("sha256").update(config).digest("hex");
  writeFileSync(join(out, `${cfgSha}.json`), config);
  writeFileSync(join(out, "manifest.json"), JSON.stringify([{ Config: `${cfgSha}.json`, RepoTags: [IMAGE], Layers: [`${diff}/layer.tar`] }]));
  const archive = join(dir, "busybox.tar");
  if (Bun.spawnSync(["tar", "-C", out, "-cf", archive, "."]).exitCode !== 0) throw new Error("tar failed");
  return archive;
}

// ---- daemons --------------------------------------------------------------------------------

async function waitFor(path: string, what: string, log: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (existsSync(path)) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what} did not come up; its log:\n${existsSync(log) ? readFileSync(log, "utf8").slice(-3000) : "(none)"}`);
}

export interface Daemon {
  pid: number;
  stop(): Promise<void>;
}

async function stopPid(p: ReturnType<typeof Bun.spawn>): Promise<void> {
  if (p.exitCode !== null) return;
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 15000);
  await p.exited;
  clearTimeout(t);
}

export async function startContainerd(name = "containerd"): Promise<{ address: string; daemon: Daemon }> {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true }); // (again for a restart: the same root and state)
  const address = join(dir, "containerd.sock");
  writeFileSync(
    join(dir, "config.toml"),
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${address}"`,
      "[ttrpc]",
      `  address = "${address}.ttrpc"`,
      "[debug]",
      `  address = "${dir}/debug.sock"`,
      "",
    ].join("\n"),
  );
  const log = join(dir, "log");
  // containerd finds a shim by its runtime type on its PATH: runjs's (io.containerd.runjs.v2) in bin/
  const env = { ...process.env, PATH: `${join(REPO, "bin")}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
  const p = Bun.spawn([BIN.containerd, "--config", join(dir, "config.toml")], { stdio: ["ignore", Bun.file(log), Bun.file(log)], env });
  await waitFor(address, "containerd", log);
  return { address, daemon: { pid: p.pid, stop: () => stopPid(p) } };
}

/** Bridges and iptables chains the tests made, to remove at the end. */
const madeLinks: string[] = [];

/** A bridge of ours for a client's containers (its own, never the host's). */
export function makeBridge(name: string, cidr: string): void {
  if (Bun.spawnSync(["ip", "link", "add", name, "type", "bridge"]).exitCode !== 0) throw new Error(`ip link add ${name} failed`);
  madeLinks.push(name);
  Bun.spawnSync(["ip", "addr", "add", cidr, "dev", name]);
  Bun.spawnSync(["ip", "link", "set", name, "up"]);
}

export function ownBridge(name: string): void {
  madeLinks.push(name);
}

export async function startDockerd(): Promise<{ host: string; daemon: Daemon }> {
  const dir = join(WORK, "docker");
  mkdirSync(dir);
  // Docker's own bridge, without iptables: published ports go through docker-proxy.
  makeBridge("runjs-dk0", "10.251.78.1/24");
  const sock = join(dir, "docker.sock");
  const log = join(dir, "log");
  const p = Bun.spawn(
    [
      BIN.dockerd,
      "--data-root", join(dir, "data"),
      "--exec-root", join(dir, "exec"),
      "--pidfile", join(dir, "docker.pid"),
      "-H", `unix://${sock}`,
      "--add-runtime", `runjs-test=${WRAPPER}`,
      "--default-runtime", "runjs-test",
      "--cgroup-parent", `${CGROUP_PARENT}/docker`,
      "--exec-opt", "native.cgroupdriver=cgroupfs",
      "--iptables=false",
      "--ip-forward=false",
      "--bridge", "runjs-dk0",
      "--storage-driver", "vfs",
      "--default-ulimit", "nofile=1024:1024",
    ],
    { stdio: ["ignore", Bun.file(log), Bun.file(log)] },
  );
  await waitFor(sock, "dockerd", log);
  for (let i = 0; i < 100 && sh([BIN.docker, "-H", `unix://${sock}`, "version"]).code !== 0; i++) await Bun.sleep(100);
  return { host: `unix://${sock}`, daemon: { pid: p.pid, stop: () => stopPid(p) } };
}

// ---- cleanup --------------------------------------------------------------------------------

/** Processes whose command line mentions our work directory (shims, conmon): ours to stop. */
export function ourProcesses(): number[] {
  const mine = new Set([process.pid]);
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d) && !mine.has(Number(d)))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").includes(WORK);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Mount points under our work directory. */
export function ourMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(WORK));
}

/** Directories the clients make in fixed places whatever their flags say; removed if we made them. */
const FIXED = ["/run/containerd", "/run/docker", "/run/runjs", "/etc/cni/net.d/cni.lock"];
const preexisting = FIXED.filter((p) => existsSync(p));

export function removeEverything(): void {
  // RUNJS_CLIENT_CALLS_OUT=FILE keeps the runtime call log (which verbs and flags clients use)
  if (process.env.RUNJS_CLIENT_CALLS_OUT && existsSync(CALL_LOG)) cpSync(CALL_LOG, process.env.RUNJS_CLIENT_CALLS_OUT);
  for (const p of ourProcesses()) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const m of ourMounts().reverse()) Bun.spawnSync(["umount", "-l", m]);
  for (const h of hostHierarchies()) removeTree(`${h.mountpoint}${CGROUP_PARENT}`);
  for (const l of madeLinks) Bun.spawnSync(["ip", "link", "del", l]);
  removeNetworkLeftovers();
  rmSync(WORK, { recursive: true, force: true });
  for (const p of FIXED) if (!preexisting.includes(p)) rmSync(p, { recursive: true, force: true });
}

function removeTree(d: string): void {
  if (!existsSync(d)) return;
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(d, e.name));
  try {
    rmdirSync(d);
  } catch {
    /* still in use: reported by the test that checks */
  }
}

/** Cgroup directories left under /runjs-clients in any hierarchy. */
export function leftoverCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) {
        out.push(join(d, e.name));
        walk(join(d, e.name));
      }
  };
  for (const h of hostHierarchies()) walk(`${h.mountpoint}${CGROUP_PARENT}`);
  return out;
}
