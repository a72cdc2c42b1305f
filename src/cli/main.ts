// runjs command line: runc-compatible global flags, one verb, its flags, its arguments.
//
// containerd runs this binary once per lifecycle step, so start-up time is the product:
// this file imports nothing but the argument parser and the logger, and each verb's code is
// loaded only when that verb runs.
import { parseArgs, type FlagSpec } from "./args.ts";
import { commandHelp, commandLines, flagLines, noTopic, type HelpEntry } from "./help.ts";
import { Logger } from "./log.ts";
import { table } from "./table.ts";
import { CgroupError, HelperError, isStateError, StateError, UsageError } from "../errors.ts";
import { stderr, stdout } from "../sys/fs.ts";

export const VERSION = "0.1.0";
declare const RUNJS_COMMIT: string; // set by scripts/build.sh
const COMMIT = typeof RUNJS_COMMIT === "string" ? RUNJS_COMMIT : "unknown";
// bin/runjs is built with RUNJS_RUNTIME_ONLY true: the front end's commands (image, container,
// network, volume, login, logout) are then not in it at all (the bundler drops their branch
// and everything only it imports) and run as bin/runjs-frontend, the same program built whole,
// which runjs becomes by execve. Every byte of a compiled bundle costs start-up even when it
// never runs (~0.6 ms of `state`'s 7.4 for the front end's 270 KB), and containerd starts the
// runtime for every step of every container; a front-end command pays one exec more.
// (The test is written out at each use: the bundler folds it only there.)
declare const RUNJS_RUNTIME_ONLY: boolean;

/**
 * The front end's commands: in bin/runjs an execve of bin/runjs-frontend; in that program
 * (and run from source) the command itself, its code loaded only now.
 */
async function frontEndCommand(ctx: Ctx, which: "image" | "login" | "logout" | "container" | "network" | "volume"): Promise<number> {
  if (typeof RUNJS_RUNTIME_ONLY !== "undefined" && RUNJS_RUNTIME_ONLY) return frontEnd();
  else {
    const warn = (m: string) => ctx.log.warn(m);
    switch (which) {
      case "image":
        return (await import("./image.ts")).imageCommand(ctx.args, undefined, "runjs image", { runtimeRoot: ctx.root, warn });
      case "login":
      case "logout":
        return (await import("./image.ts")).imageCommand([which, ...ctx.args], undefined, "runjs");
      case "container":
        return (await import("./container.ts")).containerCommand(ctx.args, ctx.root, warn);
      case "network":
        return (await import("./objects.ts")).networkCommand(ctx.args);
      case "volume":
        return (await import("./objects.ts")).volumeCommand(ctx.args);
    }
  }
}

/** Become bin/runjs-frontend, with our own arguments (only returns if it cannot). */
async function frontEnd(): Promise<number> {
  const { execve } = await import("../sys/libc.ts");
  const { realpathSync } = await import("node:fs");
  const { dirname } = await import("node:path");
  const path = `${dirname(realpathSync(process.execPath))}/runjs-frontend`;
  const r = execve(path, ["runjs", ...process.argv.slice(2)]);
  throw new UsageError(`the front end (${path}) cannot run: ${r === -2 ? "not installed beside runjs (bash scripts/build.sh builds both)" : `errno ${-r}`}`);
}
export const SPEC_VERSION = "1.3.0";

const GLOBAL: FlagSpec = {
  root: { value: true, help: "root directory for storage of container state (default: /run/runjs, or $XDG_RUNTIME_DIR/runjs when not root)" },
  log: { value: true, help: "set the log file to write runjs logs to (default is stderr)" },
  "log-format": { value: true, help: "set the log format ('text' (default), or 'json')", def: "text" },
  debug: { help: "enable debug logging" },
  "systemd-cgroup": { help: "enable systemd cgroup support: a transient unit per container, cgroupsPath \"slice:prefix:name\"" },
  rootless: { value: true, help: "ignore cgroup permission errors ('true', 'false', or 'auto'); accepted, runjs always decides from who runs it (auto)", def: "auto" },
  criu: { value: true, help: "path to the criu binary (accepted; checkpoint and restore are not supported)" },
  help: { short: "h", help: "show help" },
  version: { short: "v", help: "print the version" },
};

const CREATE_FLAGS: FlagSpec = {
  bundle: { short: "b", value: true, help: "path to the root of the bundle directory", def: "." },
  "console-socket": { value: true, help: "path to an AF_UNIX socket which will receive the pty master" },
  "pid-file": { value: true, help: "file to write the process id to" },
  "no-pivot": { help: "do not use pivot_root to jail process inside rootfs" },
  "no-new-keyring": { help: "do not create a new session keyring for the container" },
  "preserve-fds": { value: true, help: "pass N additional file descriptors to the container", def: "0" },
  "pidfd-socket": { value: true, help: "path to an AF_UNIX socket which will receive the pidfd of the container's init" },
};

interface Command extends HelpEntry {
  /** Every argument goes to the command as it is (the front end parses its own). */
  raw?: boolean;
  /** Flags end at the first argument (ps: what follows the id is for the host's ps). */
  stopAtArg?: boolean;
  run(ctx: Ctx): Promise<number | void> | number | void;
}

export interface Ctx {
  g: Record<string, string | boolean | string[]>;
  f: Record<string, string | boolean | string[]>;
  args: string[];
  log: Logger;
  root: string;
}

function needId(ctx: Ctx, max = 1): string {
  if (ctx.args.length < 1) throw usage(`requires a container id`);
  if (ctx.args.length > max) throw usage(`too many arguments: ${ctx.args.slice(max).join(" ")}`);
  return ctx.args[0]!;
}

function usage(m: string) {
  return new UsageError(m);
}

function intFlag(v: string | boolean | string[] | undefined, name: string): number {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n) || n < 0) throw usage(`--${name}: must be a non-negative integer, got ${v}`);
  return n;
}

/** The flags create and run share, as create's options. */
function createOptions(ctx: Ctx, id: string) {
  return {
    root: ctx.root,
    id,
    bundle: ctx.f.bundle as string,
    pidFile: ctx.f["pid-file"] as string | undefined,
    consoleSocket: ctx.f["console-socket"] as string | undefined,
    pidfdSocket: ctx.f["pidfd-socket"] as string | undefined,
    noPivot: !!ctx.f["no-pivot"],
    systemdCgroup: !!ctx.g["systemd-cgroup"],
    noNewKeyring: !!ctx.f["no-new-keyring"],
    preserveFds: intFlag(ctx.f["preserve-fds"], "preserve-fds"),
    listenFds: listenFds(),
    warn: (m: string) => ctx.log.warn(m),
    debug: ctx.log.debug ? (m: string) => ctx.log.debugLog(m) : undefined,
  };
}

/** systemd socket activation: LISTEN_FDS fds from 3 on, meant for us if LISTEN_PID is our pid. */
function listenFds(): number | undefined {
  const n = Number(process.env.LISTEN_FDS);
  if (!Number.isInteger(n) || n <= 0 || Number(process.env.LISTEN_PID) !== process.pid) return undefined;
  return n;
}

const notYet = (what: string): Command => ({
  usage: `${what} <container-id> …`,
  help: `${what} (not supported yet)`,
  flags: {},
  run() {
    throw usage(`${what}: not supported yet`);
  },
});

const COMMANDS: Record<string, Command> = {
  create: {
    usage: "create [command options] <container-id>",
    help: "create a container",
    flags: CREATE_FLAGS,
    async run(ctx) {
      const id = needId(ctx);
      const { create } = await import("../container/create.ts");
      create(createOptions(ctx, id));
    },
  },
  run: {
    usage: "run [command options] <container-id>",
    help: "create and run a container",
    flags: {
      ...CREATE_FLAGS,
      detach: { short: "d", help: "detach from the container's process" },
      keep: { help: "do not delete the container after it exits" },
      "no-subreaper": { help: "ignored" },
    },
    async run(ctx) {
      const id = needId(ctx);
      const { run } = await import("../container/run.ts");
      return run({ ...createOptions(ctx, id), detach: !!ctx.f.detach, keep: !!ctx.f.keep }, (m) => ctx.log.warn(m));
    },
  },
  start: {
    usage: "start <container-id>",
    help: "executes the user defined process in a created container",
    flags: {},
    async run(ctx) {
      const id = needId(ctx);
      const { start } = await import("../container/lifecycle.ts");
      start(ctx.root, id, (m) => ctx.log.warn(m));
    },
  },
  state: {
    usage: "state <container-id>",
    help: "output the state of a container",
    flags: {},
    async run(ctx) {
      const id = needId(ctx);
      const { containerState } = await import("../container/lifecycle.ts");
      stdout(JSON.stringify(containerState(ctx.root, id), null, "  ") + "\n");
    },
  },
  kill: {
    usage: "kill [command options] <container-id> [signal]",
    help: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    flags: { all: { short: "a", help: "send the specified signal to all processes inside the container" } },
    async run(ctx) {
      const id = needId(ctx, 2);
      const { killContainer } = await import("../container/lifecycle.ts");
      const { parseSignal } = await import("../units.ts");
      killContainer(ctx.root, id, parseSignal(ctx.args[1] ?? "SIGTERM"), !!ctx.f.all);
    },
  },
  delete: {
    usage: "delete [command options] <container-id>",
    help: "delete any resources held by the container often used with detached containers",
    flags: { force: { short: "f", help: "forcibly deletes the container if it is still running (uses SIGKILL)" } },
    async run(ctx) {
      const id = needId(ctx);
      const { deleteContainer } = await import("../container/lifecycle.ts");
      try {
        deleteContainer(ctx.root, id, !!ctx.f.force, (m) => ctx.log.warn(m));
      } catch (e) {
        // runc: deleting a missing container with --force succeeds.
        if (ctx.f.force && isStateError(e, "not-exist")) return;
        throw e;
      }
    },
  },
  list: {
    usage: "list [command options]",
    help: "lists containers started by runjs with the given root",
    flags: {
      format: { short: "f", value: true, help: "select one of: table or json", def: "table" },
      quiet: { short: "q", help: "display only container IDs" },
    },
    async run(ctx) {
      const { listContainers } = await import("../container/lifecycle.ts");
      const { specState } = await import("../container/state.ts");
      // runc: a root named on the command line must exist; the default one may not yet
      if (ctx.g.root !== undefined) {
        const { exists } = await import("../sys/fs.ts");
        if (!exists(ctx.root)) throw new UsageError(`--root ${ctx.root}: no such directory`);
      }
      const cs = listContainers(ctx.root);
      if (ctx.f.quiet) {
        for (const c of cs) stdout(c.st.id + "\n");
        return;
      }
      if (ctx.f.format === "json") {
        stdout(JSON.stringify(cs.map((c) => specState(c.st, c.status))) + "\n");
        return;
      }
      if (ctx.f.format !== "table") throw usage(`--format: invalid format ${ctx.f.format}`);
      const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
      for (const c of cs)
        rows.push([c.st.id, String(c.status === "stopped" ? 0 : c.st.pid), c.status, c.st.bundle, c.st.created, c.st.owner || "root"]);
      stdout(table(rows, 12));
    },
  },
  spec: {
    usage: "spec [command options]",
    help: "create a new specification file",
    flags: {
      bundle: { short: "b", value: true, help: "path to the root of the bundle directory", def: "." },
      rootless: { help: "generate a configuration for a rootless container" },
    },
    async run(ctx) {
      const { defaultSpec } = await import("../oci/defaults.ts");
      const { existsSync, writeFileSync } = await import("node:fs");
      const path = `${ctx.f.bundle}/config.json`;
      if (existsSync(path)) throw usage(`File ${path} exists. Remove it first`);
      writeFileSync(path, JSON.stringify(defaultSpec({ rootless: !!ctx.f.rootless }), null, "\t") + "\n");
    },
  },
  features: {
    usage: "features",
    help: "show the enabled features",
    flags: {},
    async run() {
      const { features } = await import("../features.ts");
      stdout(JSON.stringify(features(), null, "    ") + "\n");
    },
  },
  exec: {
    usage: "exec [command options] <container-id> <command> [command options]  || -p process.json <container-id>",
    help: "execute new process inside the container",
    stopAtArg: true,
    flags: {
      "console-socket": { value: true, help: "path to an AF_UNIX socket which will receive the pty master" },
      cwd: { value: true, help: "current working directory in the container" },
      env: { short: "e", multi: true, help: "set environment variables" },
      tty: { short: "t", help: "allocate a pseudo-TTY" },
      user: { short: "u", value: true, help: "UID (format: <uid>[:<gid>])" },
      "additional-gids": { short: "g", multi: true, help: "additional gids" },
      process: { short: "p", value: true, help: "path to the process.json" },
      detach: { short: "d", help: "detach from the container's process" },
      "pid-file": { value: true, help: "specify the file to write the process id to" },
      "process-label": { value: true, help: "set the asm process label for the process commonly used with selinux" },
      apparmor: { value: true, help: "set the apparmor profile for the process" },
      "no-new-privs": { help: "set the no new privileges value for the process" },
      cap: { short: "c", multi: true, help: "add a capability to the bounding set for the process" },
      "preserve-fds": { value: true, help: "pass N additional file descriptors to the container", def: "0" },
      cgroup: { multi: true, help: "run the process in a (sub-)cgroup: PATH, or CONTROLLER[,CONTROLLER]:PATH per hierarchy (cgroup v1)" },
      "ignore-paused": { help: "allow exec in a paused container" },
      "pidfd-socket": { value: true, help: "path to an AF_UNIX socket which will receive the pidfd of the process" },
    },
    async run(ctx) {
      if (ctx.args.length < 1) throw usage("requires a container id");
      const [id, ...args] = ctx.args;
      if (args[0] === "--") args.shift();
      if (ctx.f.process && args.length) throw usage(`--process: no command may follow it, got ${args.join(" ")}`);
      const list = (k: string) => (ctx.f[k] as string[] | undefined) ?? [];
      const { exec } = await import("../container/exec.ts");
      // runc: whatever stops exec once it has its arguments exits 255, so that a caller can
      // tell a runtime failure from the process's own status
      return await exec({
        root: ctx.root,
        id: id!,
        processFile: ctx.f.process as string | undefined,
        args,
        tty: !!ctx.f.tty,
        cwd: ctx.f.cwd as string | undefined,
        env: list("env"),
        user: ctx.f.user as string | undefined,
        additionalGids: list("additional-gids"),
        caps: list("cap"),
        noNewPrivs: !!ctx.f["no-new-privs"],
        apparmor: ctx.f.apparmor as string | undefined,
        processLabel: ctx.f["process-label"] as string | undefined,
        detach: !!ctx.f.detach,
        pidFile: ctx.f["pid-file"] as string | undefined,
        consoleSocket: ctx.f["console-socket"] as string | undefined,
        pidfdSocket: ctx.f["pidfd-socket"] as string | undefined,
        preserveFds: intFlag(ctx.f["preserve-fds"], "preserve-fds"),
        listenFds: listenFds(),
        ignorePaused: !!ctx.f["ignore-paused"],
        subCgroups: list("cgroup"),
        warn: (m) => ctx.log.warn(m),
        debug: ctx.log.debug ? (m: string) => ctx.log.debugLog(m) : undefined,
      }).catch((e) => {
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { exitCode: 255, message: `exec failed: ${e instanceof Error ? e.message : e}` });
      });
    },
  },
  ps: {
    usage: "ps [command options] <container-id> [ps options]",
    help: "ps displays the processes running inside a container",
    flags: { format: { short: "f", value: true, help: "select one of: table or json", def: "table" } },
    stopAtArg: true,
    async run(ctx) {
      const id = needId(ctx, Infinity);
      const { ps } = await import("../container/ps.ts");
      const extra = ctx.args.slice(1);
      if (extra[0] === "--") extra.shift();
      return ps(ctx.root, id, ctx.f.format as string, extra);
    },
  },
  pause: {
    usage: "pause <container-id>",
    help: "pause suspends all processes inside the container",
    flags: {},
    async run(ctx) {
      const id = needId(ctx);
      const { pause } = await import("../container/pause.ts");
      pause(ctx.root, id);
    },
  },
  resume: {
    usage: "resume <container-id>",
    help: "resumes all processes that have been previously paused",
    flags: {},
    async run(ctx) {
      const id = needId(ctx);
      const { resume } = await import("../container/pause.ts");
      resume(ctx.root, id);
    },
  },
  events: {
    usage: "events [command options] <container-id>",
    help: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    flags: {
      interval: { value: true, help: "set the stats collection interval", def: "5s" },
      stats: { help: "display the container's stats then exit" },
    },
    async run(ctx) {
      const id = needId(ctx);
      const { events, parseDuration } = await import("../container/events.ts");
      events(ctx.root, id, !!ctx.f.stats, parseDuration(ctx.f.interval as string));
    },
  },
  update: {
    usage: "update [command options] <container-id>",
    help: "update container resource constraints",
    flags: {
      resources: { short: "r", value: true, help: "path to the file containing the resources to update or '-' to read from the standard input" },
      "blkio-weight": { value: true, help: "specifies per cgroup weight, range is from 10 to 1000" },
      "cpu-period": { value: true, help: "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default" },
      "cpu-quota": { value: true, help: "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period" },
      "cpu-burst": { value: true, help: "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period" },
      "cpu-idle": { value: true, help: "set cgroup SCHED_IDLE or not, 0: default, 1: SCHED_IDLE" },
      "cpu-share": { value: true, help: "CPU shares (relative weight vs. other containers)" },
      "cpu-shares": { value: true, help: "alias of --cpu-share" },
      "cpu-rt-period": { value: true, help: "CPU realtime period to be used for hardcapping (in usecs)" },
      "cpu-rt-runtime": { value: true, help: "CPU realtime hardcap limit (in usecs)" },
      "cpuset-cpus": { value: true, help: "CPU(s) to use" },
      "cpuset-mems": { value: true, help: "Memory node(s) to use" },
      "kernel-memory": { value: true, help: "(obsoleted; do not use)" },
      "kernel-memory-tcp": { value: true, help: "(obsoleted; do not use)" },
      memory: { value: true, help: "Memory limit (in bytes)" },
      "memory-reservation": { value: true, help: "Memory reservation or soft_limit (in bytes)" },
      "memory-swap": { value: true, help: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
      "pids-limit": { value: true, help: "Maximum number of pids allowed in the container" },
    },
    async run(ctx) {
      const id = needId(ctx);
      const { update } = await import("../container/update.ts");
      update(ctx.root, id, ctx.f, (m) => ctx.log.warn(m));
    },
  },
  image: {
    usage: "image COMMAND [options] [arguments...]  (runjs image --help lists the commands)",
    help: "manage the image store",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "image"),
  },
  login: {
    usage: "login [options] SERVER  (runjs image login --help)",
    help: "log in to a registry: credentials kept in Docker's config.json, used by pull and push",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "login"),
  },
  logout: {
    usage: "logout SERVER  (runjs image logout --help)",
    help: "forget a registry's credentials",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "logout"),
  },
  container: {
    usage: "container COMMAND [options] [arguments...]  (runjs container --help lists the commands)",
    help: "run containers from images (the daemonless front end)",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "container"),
  },
  network: {
    usage: "network COMMAND [options] [arguments...]  (runjs network --help lists the commands)",
    help: "the front end's networks: create, ls, inspect, rm",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "network"),
  },
  volume: {
    usage: "volume COMMAND [options] [arguments...]  (runjs volume --help lists the commands)",
    help: "the front end's named volumes: create, ls, inspect, rm, prune",
    flags: {},
    raw: true,
    run: (ctx) => frontEndCommand(ctx, "volume"),
  },
  checkpoint: notYet("checkpoint"),
  restore: notYet("restore"),
};

/** runc's rule: root keeps state in /run; anyone else in their own runtime directory. */
/** What a log line says besides the message: the facts an error carries, by kind. */
function errorFields(e: unknown): Record<string, string | number> {
  if (e instanceof HelperError) {
    const f: Record<string, string | number> = { step: e.step, op: e.op };
    if (e.path) f.path = e.path;
    if (e.errno) f.errno = e.errno;
    return f;
  }
  if (e instanceof CgroupError) return e.code ? { file: e.file, code: e.code } : { file: e.file };
  if (e instanceof StateError) return { id: e.id, kind: e.kind };
  return {};
}

function defaultRoot(): string {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return "/run/runjs";
  return `${process.env.XDG_RUNTIME_DIR || `/tmp/runjs-${uid}`}/runjs`;
}

const DESCRIPTION = `runjs is an OCI container runtime (runtime-spec ${SPEC_VERSION}) with runc's command line: clients
written for runc (containerd, Podman, Docker) drive it the same way. A bundle is a directory
with a config.json and a root filesystem; \`runjs spec\` writes a default config.json.

To start a new instance of a container:

    # runjs run [ -b bundle ] <container-id>

The daemonless front end runs containers from images: see \`runjs container --help\` and
\`runjs image --help\`.`;

function versionText(): string {
  // runc's layout: clients (Docker's `docker info`) read "NAME version X" and "commit: Y"
  return `runjs version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n`;
}

function helpText(): string {
  return (
    `NAME:\n   runjs - an OCI container runtime in TypeScript\n\n${DESCRIPTION}\n\n` +
    `USAGE:\n   runjs [global options] command [command options] [arguments...]\n\n` +
    `VERSION:\n   ${versionText().replace(/^runjs version /, "")}\n` +
    `COMMANDS:\n${commandLines(COMMANDS, [["help, h", "Shows a list of commands or help for one command"]])}\n` +
    `GLOBAL OPTIONS:\n${flagLines(GLOBAL)}`
  );
}

/** An unknown command or help topic: runc's words, and its exit status 3. */
class NoTopic extends UsageError {}

function helpFor(name: string): string {
  const c = COMMANDS[name];
  if (!c) throw new NoTopic(noTopic("runjs", name));
  return commandHelp("runjs", name, c, HELP_FLAG);
}

const HELP_FLAG: FlagSpec = { help: { short: "h", help: "show help" } };

export async function main(argv: string[]): Promise<number> {
  const log = new Logger();
  try {
    const g = parseArgs(argv, GLOBAL, true);
    log.configure(g.flags.log as string | undefined, g.flags["log-format"] as string, !!g.flags.debug);
    if (g.flags.version) {
      stdout(versionText());
      return 0;
    }
    const name = g.rest[0];
    if (!name || name === "help" || name === "h") {
      stdout(g.rest[1] ? helpFor(g.rest[1]) : helpText());
      return 0;
    }
    if (g.flags.help) {
      stdout(helpText());
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new NoTopic(noTopic("runjs", name));
    const c = cmd.raw ? { flags: {}, rest: g.rest.slice(1) } : parseArgs(g.rest.slice(1), { ...cmd.flags, ...HELP_FLAG }, !!cmd.stopAtArg);
    if (c.flags.help) {
      stdout(helpFor(name));
      return 0;
    }
    log.debugLog(`${name}: ${JSON.stringify(c.rest)}`);
    const code = await cmd.run({ g: g.flags, f: c.flags, args: c.rest, log, root: (g.flags.root as string | undefined) ?? defaultRoot() });
    return typeof code === "number" ? code : 0;
  } catch (e: any) {
    log.error(e instanceof Error ? e.message : String(e), errorFields(e));
    if (log.debug && e?.stack) stderr(e.stack + "\n");
    return e instanceof NoTopic ? 3 : e?.exitCode ?? 1;
  }
}
