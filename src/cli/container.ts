// `runjs container …`: the daemonless front end (run, ls, logs, exec, stop, …). Loaded only
// for `runjs container`. A table of commands like the runtime's (main.ts): each parses its
// flags, asks the engine, and prints; `--help` and `runjs container help` come from the same
// table, in runc's layout (help.ts).
import { parseArgs, type FlagSpec } from "./args.ts";
import { commandHelp, commandLines, flagLines, noTopic, type HelpEntry } from "./help.ts";
import { table } from "./table.ts";
import { UsageError } from "../errors.ts";
import { readText, stdout } from "../sys/fs.ts";
import { SIGTERM } from "../sys/constants.ts";

const RUN: FlagSpec = {
  interactive: { short: "i", help: "keep stdin open" },
  tty: { short: "t", help: "allocate a terminal" },
  rm: { help: "remove the container when it exits" },
  detach: { short: "d", help: "run in the background; print the container id" },
  name: { value: true, help: "container name" },
  env: { short: "e", multi: true, help: "set an environment variable: K=V" },
  "env-file": { multi: true, help: "read environment variables from a file of K=V lines" },
  workdir: { short: "w", value: true, help: "working directory inside the container" },
  user: { short: "u", value: true, help: "user (and group) to run as: USER[:GROUP], names or numbers" },
  volume: { short: "v", multi: true, help: "bind mount or named volume: SRC|NAME:DST[:ro]" },
  tmpfs: { multi: true, help: "mount a tmpfs: DST[:OPTIONS]" },
  publish: { short: "p", multi: true, help: "publish a port: [IP:]HOST:CTR[/udp] (on bridge or a named network)" },
  "publish-all": { short: "P", help: "publish every port the image exposes on a free host port" },
  network: { value: true, help: "bridge (the runjs0 bridge through CNI; the default as root), none (the default rootless), host, or the name of a CNI network list" },
  hostname: { value: true, help: "the container's hostname" },
  memory: { short: "m", value: true, help: "memory limit (bytes, or with a unit: 512m, 1g)" },
  cpus: { value: true, help: "CPU limit, in CPUs (0.5, 2)" },
  "pids-limit": { value: true, help: "how many processes at most (-1: no limit)" },
  "read-only": { help: "mount the root filesystem read-only" },
  "cap-add": { multi: true, help: "add a capability (CAP_NET_ADMIN or NET_ADMIN, ALL)" },
  "cap-drop": { multi: true, help: "drop a capability (ALL drops every one)" },
  "security-opt": { multi: true, help: "seccomp=FILE|unconfined, apparmor=PROFILE|unconfined, or no-new-privileges" },
  entrypoint: { value: true, help: "replace the image's entrypoint" },
  init: { help: "run a small init (tini) as PID 1" },
  "cgroup-parent": { value: true, help: "cgroup parent path" },
  restart: { value: true, help: "with -d: no, on-failure[:MAX-RETRIES], always or unless-stopped (restarted by its monitor)" },
};

function human(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)}${u[i]}`;
}

/** --since: an RFC 3339 time, or a duration ago (10s, 5m, 2h). */
function sinceTime(s: string): string {
  const m = /^(\d+)(s|m|h)$/.exec(s);
  if (m) return new Date(Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6 }[m[2] as "s" | "m" | "h"]).toISOString();
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since ${JSON.stringify(s)}: an RFC 3339 time or a duration such as 10m`);
  return d.toISOString();
}

/** What every front-end command takes: the store, the runtime's state root, where warnings go. */
interface Ctx {
  runtimeRoot: string;
  warn: (m: string) => void;
}

interface Command extends HelpEntry {
  /** Flags end at the first argument (the container's command follows). */
  stopAtArg?: boolean;
  /** Internal: run by runjs-init's monitor, not listed. */
  hidden?: boolean;
  run(f: Record<string, string | boolean | string[]>, args: string[], ctx: Ctx): Promise<number>;
}

const COMMON: FlagSpec = { storage: { value: true, help: "the image and container store (default /var/lib/runjs, or $RUNJS_STORAGE)" } };

const list = (f: Record<string, string | boolean | string[]>, k: string) => (f[k] as string[] | undefined) ?? [];

async function store(f: Record<string, string | boolean | string[]>) {
  const { Store } = await import("../engine/images/store.ts");
  return new Store(f.storage as string | undefined);
}

// Each verb loads only its part of the engine: view.ts for the verbs that only look, run.ts
// for run, containers.ts for the verbs that act on containers, monitor.ts for the monitor's.
const view = () => import("../engine/containers/view.ts");
const engine = () => import("../engine/containers/containers.ts");

const COMMANDS: Record<string, Command> = {
  run: {
    usage: "run [options] IMAGE [COMMAND [ARG...]]",
    help: "run a command in a new container made from an image",
    flags: RUN,
    stopAtArg: true,
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container run: needs an IMAGE");
      const envFileLines = list(f, "env-file").flatMap((p) => {
        try {
          return readText(p).split("\n");
        } catch (e: any) {
          throw new UsageError(`--env-file ${p}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
        }
      });
      const { containerRun } = await import("../engine/containers/run.ts");
      const { parseVolume } = await import("../engine/containers/spec.ts");
      const outcome = await containerRun(
        {
          image: args[0]!,
          cmd: args.slice(1),
          name: f.name as string | undefined,
          tty: !!f.tty,
          interactive: !!f.interactive,
          rm: !!f.rm,
          detach: !!f.detach,
          env: list(f, "env"),
          envFileLines,
          workdir: f.workdir as string | undefined,
          user: f.user as string | undefined,
          volumes: list(f, "volume").map(parseVolume),
          tmpfs: list(f, "tmpfs"),
          network: (f.network as string | undefined) ?? ((process.geteuid?.() ?? 0) === 0 ? "bridge" : "none"),
          publishAll: !!f["publish-all"],
          restart: f.restart as string | undefined,
          publish: list(f, "publish"),
          hostname: f.hostname as string | undefined,
          memory: f.memory as string | undefined,
          cpus: f.cpus as string | undefined,
          pidsLimit: f["pids-limit"] as string | undefined,
          readOnly: !!f["read-only"],
          capAdd: list(f, "cap-add"),
          capDrop: list(f, "cap-drop"),
          securityOpt: list(f, "security-opt"),
          entrypoint: f.entrypoint as string | undefined,
          cgroupParent: f["cgroup-parent"] as string | undefined,
          init: !!f.init,
        },
        { storage: f.storage as string | undefined, runtimeRoot: ctx.runtimeRoot, warn: ctx.warn },
      );
      if (!outcome.detached) return outcome.code;
      stdout(outcome.id + "\n"); // Docker's -d prints the container's id
      return 0;
    },
  },
  ls: {
    usage: "ls [options]",
    help: "list containers (running ones; -a for all)",
    flags: { all: { short: "a", help: "show every container, not only running ones" }, format: { value: true, def: "table", help: "table or json" } },
    async run(f, _args, ctx) {
      const { containerList } = await view();
      const cs = containerList(await store(f), ctx.runtimeRoot, !!f.all);
      if (f.format === "json") {
        stdout(JSON.stringify(cs) + "\n");
        return 0;
      }
      const rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]];
      for (const c of cs)
        rows.push([c.id.slice(0, 12), c.image, JSON.stringify(c.args.join(" ").slice(0, 20)), c.created.slice(0, 19).replace("T", " "), c.status === "exited" ? `Exited (${c.exitCode ?? "unknown"})` : c.status === "restarting" ? `Restarting (${c.exitCode ?? "unknown"})` : c.status, c.name]);
      stdout(table(rows));
      return 0;
    },
  },
  inspect: {
    usage: "inspect NAME|ID",
    help: "show a container's record and its OCI configuration, as JSON",
    flags: {},
    async run(f, args) {
      if (args.length !== 1) throw new UsageError("container inspect: needs one NAME or ID");
      const { containerInspect } = await view();
      stdout(JSON.stringify(containerInspect(await store(f), args[0]!), null, 2) + "\n");
      return 0;
    },
  },
  attach: {
    usage: "attach [options] NAME|ID",
    help: "join a detached container's terminal (-d -t); ctrl-p ctrl-q leaves it running",
    flags: { "detach-keys": { value: true, def: "ctrl-p,ctrl-q", help: "the keys that detach: ctrl-<letter> or characters, comma-separated" } },
    async run(f, args) {
      if (args.length !== 1) throw new UsageError("container attach: needs one NAME or ID");
      const { attachContainer, parseDetachKeys } = await import("../engine/containers/attach.ts");
      const r = await attachContainer(await store(f), args[0]!, parseDetachKeys(f["detach-keys"] as string));
      if (r === "detached") {
        process.stderr.write("\r\nread escape sequence\r\n");
        return 0;
      }
      return r;
    },
  },
  port: {
    usage: "port NAME|ID",
    help: "list a container's published ports",
    flags: {},
    async run(f, args) {
      if (args.length !== 1) throw new UsageError("container port: needs one NAME or ID");
      const { containerPorts } = await view();
      for (const l of containerPorts(await store(f), args[0]!)) stdout(l + "\n");
      return 0;
    },
  },
  logs: {
    usage: "logs [options] NAME|ID",
    help: "show what a detached container wrote",
    flags: {
      follow: { short: "f", help: "keep following the output while the container runs" },
      tail: { value: true, help: "only the last N lines" },
      since: { value: true, help: "only lines since an RFC 3339 time, or a duration ago (10s, 5m, 2h)" },
      timestamps: { short: "t", help: "show each line's time" },
    },
    async run(f, args) {
      if (args.length !== 1) throw new UsageError("container logs: needs one NAME or ID");
      const { containerLogs } = await view();
      const since = typeof f.since === "string" ? sinceTime(f.since) : undefined;
      const tail = typeof f.tail === "string" ? Number(f.tail) : undefined;
      for await (const l of containerLogs(await store(f), args[0]!, { follow: !!f.follow, tail, since })) {
        const text = (f.timestamps ? `${l.time} ` : "") + l.log;
        if (l.stream === "stderr") process.stderr.write(text);
        else stdout(text);
      }
      return 0;
    },
  },
  exec: {
    usage: "exec [options] NAME|ID COMMAND [ARG...]",
    help: "run a command in a running container",
    stopAtArg: true,
    flags: {
      interactive: { short: "i", help: "keep stdin open" },
      tty: { short: "t", help: "allocate a terminal" },
      env: { short: "e", multi: true, help: "set an environment variable: K=V" },
      workdir: { short: "w", value: true, help: "working directory inside the container" },
      user: { short: "u", value: true, help: "UID[:GID] to run as" },
    },
    async run(f, args, ctx) {
      if (args.length < 2) throw new UsageError("container exec: needs NAME and a command");
      const { containerExec } = await engine();
      return containerExec(await store(f), args[0]!, ctx.runtimeRoot, {
        args: args.slice(1),
        tty: !!f.tty,
        cwd: f.workdir as string | undefined,
        env: list(f, "env"),
        user: f.user as string | undefined,
        additionalGids: [],
        caps: [],
        detach: false,
        preserveFds: 0,
        keepOnlcr: true,
        warn: ctx.warn,
      });
    },
  },
  stop: {
    usage: "stop [options] NAME|ID...",
    help: "stop containers: SIGTERM, then SIGKILL after a while",
    flags: { time: { short: "t", value: true, def: "10", help: "seconds to wait before SIGKILL" } },
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container stop: needs NAME or ID");
      const st = await store(f);
      const { containerSignal } = await engine();
      for (const a of args) stdout((await containerSignal(st, a, ctx.runtimeRoot, SIGTERM, Number(f.time))) + "\n");
      return 0;
    },
  },
  kill: {
    usage: "kill [options] NAME|ID...",
    help: "send a signal to containers' main process",
    flags: { signal: { short: "s", value: true, def: "KILL", help: "the signal, by name or number" } },
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container kill: needs NAME or ID");
      const st = await store(f);
      const { containerSignal } = await engine();
      const { parseSignal } = await import("../units.ts");
      for (const a of args) stdout((await containerSignal(st, a, ctx.runtimeRoot, parseSignal(f.signal as string))) + "\n");
      return 0;
    },
  },
  start: {
    usage: "start NAME|ID...",
    help: "start stopped containers again, detached",
    flags: {},
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container start: needs NAME or ID");
      const st = await store(f);
      const { containerStart } = await engine();
      for (const a of args) stdout((await containerStart(st, a, { storage: f.storage as string | undefined, runtimeRoot: ctx.runtimeRoot, warn: ctx.warn })) + "\n");
      return 0;
    },
  },
  restart: {
    usage: "restart [options] NAME|ID...",
    help: "stop containers if they run, and start them again",
    flags: { time: { short: "t", value: true, def: "10", help: "seconds to wait before SIGKILL" } },
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container restart: needs NAME or ID");
      const st = await store(f);
      const { containerRestart } = await engine();
      for (const a of args) stdout((await containerRestart(st, a, { storage: f.storage as string | undefined, runtimeRoot: ctx.runtimeRoot, warn: ctx.warn }, Number(f.time))) + "\n");
      return 0;
    },
  },
  rm: {
    usage: "rm [options] NAME|ID...",
    help: "remove containers (a running one only with --force)",
    flags: { force: { short: "f", help: "kill a running container first" } },
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container rm: needs NAME or ID");
      const st = await store(f);
      const { containerRemove } = await engine();
      for (const a of args) stdout((await containerRemove(st, a, ctx.runtimeRoot, !!f.force)) + "\n");
      return 0;
    },
  },
  prune: {
    usage: "prune",
    help: "remove every container that has exited",
    flags: {},
    async run(f, _args, ctx) {
      const { containerPrune } = await engine();
      for (const n of await containerPrune(await store(f), ctx.runtimeRoot)) stdout(n + "\n");
      return 0;
    },
  },
  top: {
    usage: "top NAME|ID [ps options]",
    help: "show a running container's processes",
    flags: {},
    stopAtArg: true,
    async run(f, args, ctx) {
      if (!args.length) throw new UsageError("container top: needs NAME or ID");
      const { containerTop } = await engine();
      return containerTop(await store(f), args[0]!, ctx.runtimeRoot, args.slice(1));
    },
  },
  stats: {
    usage: "stats [options] [NAME|ID...]",
    help: "show running containers' memory, CPU time and processes, once a second",
    flags: { "no-stream": { help: "show one sample and exit" }, format: { value: true, def: "table", help: "table or json" } },
    async run(f, args, ctx) {
      const st = await store(f);
      const { findContainer, listContainers } = await import("../engine/containers/records.ts");
      const { containerStats } = await import("../engine/containers/stats.ts");
      const cs = args.length ? args.map((a) => findContainer(st, a)) : listContainers(st).filter((c) => c.status === "running");
      for (;;) {
        const rows = cs.filter((c) => c.status === "running").map((c) => containerStats(ctx.runtimeRoot, c));
        if (f.format === "json") stdout(JSON.stringify(rows) + "\n");
        else {
          const t = [["CONTAINER ID", "NAME", "CPU TIME", "MEM USAGE / LIMIT", "PIDS"], ...rows.map((r) => [r.id.slice(0, 12), r.name, `${(r.cpuNs / 1e9).toFixed(2)}s`, `${human(r.memory)} / ${r.memoryLimit ? human(r.memoryLimit) : "-"}`, String(r.pids)])];
          stdout(table(t));
        }
        if (f["no-stream"]) return 0;
        await Bun.sleep(1000);
      }
    },
  },
  // The monitor's two verbs: their contract is written down in engine/containers/detached.ts.
  "start-detached": {
    usage: "start-detached [--status-fd N] ID",
    help: "internal: run by runjs-init's monitor to start a detached container",
    flags: {
      "status-fd": { value: true, help: "where to say whether it runs (one JSON line)" },
      "console-socket": { value: true, help: "where the monitor takes the terminal's master (-d -t)" },
    },
    hidden: true,
    async run(f, args) {
      const { startDetached } = await import("../engine/containers/monitor.ts");
      return startDetached(await store(f), args[0]!, f["status-fd"] === undefined ? undefined : Number(f["status-fd"]), f["console-socket"] as string | undefined);
    },
  },
  cleanup: {
    usage: "cleanup ID",
    help: "internal: run by runjs-init's monitor when a detached container has exited",
    flags: {},
    hidden: true,
    async run(f, args) {
      const { cleanupDetached } = await import("../engine/containers/monitor.ts");
      return cleanupDetached(await store(f), args[0]!);
    },
  },
};

/** Docker's other names for the same commands. */
const ALIASES: Record<string, string> = { ps: "ls" };

const HELP: FlagSpec = { help: { short: "h", help: "show help" } };

function overview(): string {
  return (
    `NAME:\n   runjs container - run containers from images (the daemonless front end)\n\n` +
    `USAGE:\n   runjs container COMMAND [options] [arguments...]\n\n` +
    `COMMANDS:\n${commandLines(COMMANDS)}\n` +
    `OPTIONS (every command):\n${flagLines({ ...COMMON, ...HELP })}\n` +
    `runjs container COMMAND --help shows a command's options.\n`
  );
}

export async function containerCommand(argv: string[], runtimeRoot: string, warn: (m: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || (sub === "help" && !rest.length)) {
    stdout(overview());
    return sub ? 0 : 2;
  }
  const name = sub === "help" ? rest[0]! : ALIASES[sub] ?? sub;
  const cmd = COMMANDS[name];
  if (!cmd) throw Object.assign(new UsageError(noTopic("runjs container", name)), { exitCode: 3 });
  if (sub === "help") {
    stdout(commandHelp("runjs container", name, cmd, { ...COMMON, ...HELP }));
    return 0;
  }
  const { flags: f, rest: args } = parseArgs(rest, { ...cmd.flags, ...COMMON, ...HELP }, !!cmd.stopAtArg);
  if (f.help) {
    stdout(commandHelp("runjs container", name, cmd, { ...COMMON, ...HELP }));
    return 0;
  }
  return cmd.run(f, args, { runtimeRoot, warn });
}
