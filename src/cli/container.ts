// `runjs container …`: the daemonless front end (run, ls, inspect, rm). Loaded only for
// `runjs container`.
import { parseArgs, type FlagSpec } from "./args.ts";
import { table } from "./table.ts";
import { readText, stdout } from "../sys/fs.ts";

const USAGE = `usage: runjs container COMMAND [options]

commands:
  run [options] IMAGE [COMMAND [ARG...]]
  ls [-a] [--format table|json]
  logs [-f] [--tail N] [--since T] [-t] NAME|ID
  exec [-it] [-e K=V] [-w DIR] [-u UID[:GID]] NAME|ID CMD...
  stop [-t SECONDS] NAME|ID...      kill [-s SIGNAL] NAME|ID...
  stats [--no-stream] [--format table|json] [NAME|ID...]      top NAME|ID [ps options]
  start NAME|ID...   restart [-t SECONDS] NAME|ID...   prune (remove every exited container)
  inspect NAME|ID
  rm [-f] NAME|ID...

run options:
  -d, --detach  -i, --interactive  -t, --tty  --rm  --name NAME  -e, --env K=V  --env-file FILE
  -w, --workdir DIR  -u, --user USER[:GROUP]  -v, --volume SRC:DST[:ro]  --tmpfs DST
  --network none|host  --hostname NAME  -m, --memory SIZE  --cpus N  --pids-limit N
  --read-only  --cap-add CAP  --cap-drop CAP  --security-opt seccomp=FILE|unconfined|no-new-privileges
  --entrypoint CMD  --init  --cgroup-parent PATH
options for all: --storage DIR (default /var/lib/runjs, or $RUNJS_STORAGE)
`;

const RUN: FlagSpec = {
  interactive: { short: "i", help: "keep stdin open" },
  tty: { short: "t", help: "allocate a terminal" },
  rm: { help: "remove the container when it exits" },
  detach: { short: "d", help: "run in the background; print the container id" },
  name: { value: true, help: "container name" },
  env: { short: "e", multi: true, help: "K=V" },
  "env-file": { multi: true, help: "file of K=V lines" },
  workdir: { short: "w", value: true, help: "working directory" },
  user: { short: "u", value: true, help: "USER[:GROUP]" },
  volume: { short: "v", multi: true, help: "SRC:DST[:ro]" },
  tmpfs: { multi: true, help: "DST[:OPTIONS]" },
  publish: { short: "p", multi: true, help: "[IP:]HOST:CTR[/udp] (with --network bridge)" },
  network: { value: true, def: "none", help: "none, host, bridge, or a CNI network list's name" },
  hostname: { value: true, help: "hostname" },
  memory: { short: "m", value: true, help: "memory limit" },
  cpus: { value: true, help: "CPUs" },
  "pids-limit": { value: true, help: "pids limit" },
  "read-only": { help: "read-only root filesystem" },
  "cap-add": { multi: true, help: "capability" },
  "cap-drop": { multi: true, help: "capability" },
  "security-opt": { multi: true, help: "seccomp=…, no-new-privileges" },
  entrypoint: { value: true, help: "entrypoint" },
  init: { help: "run a small init (tini) as PID 1" },
  "cgroup-parent": { value: true, help: "cgroup parent path" },
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
  if (Number.isNaN(d.getTime())) throw new Error(`--since ${JSON.stringify(s)}: an RFC 3339 time or a duration such as 10m`);
  return d.toISOString();
}

export async function containerCommand(argv: string[], runtimeRoot: string, warn: (m: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "help" || sub === "--help" || sub === "-h") {
    stdout(USAGE);
    return sub ? 0 : 2;
  }
  const storage = { storage: { value: true, help: "store directory" } } as FlagSpec;
  const { RunError } = await import("../engine/containers/spec.ts");
  if (sub === "run") {
    const { flags: f, rest: args } = parseArgs(rest, { ...RUN, ...storage }, true);
    if (!args.length) throw new RunError("container run: needs an IMAGE");
    const list = (k: string) => (f[k] as string[] | undefined) ?? [];
    const envFileLines = list("env-file").flatMap((p) => {
      try {
        return readText(p).split("\n");
      } catch (e: any) {
        throw new RunError(`--env-file ${p}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
      }
    });
    const { containerRun } = await import("../engine/containers/containers.ts");
    return containerRun(
      {
        image: args[0]!,
        cmd: args.slice(1),
        name: f.name as string | undefined,
        tty: !!f.tty,
        interactive: !!f.interactive,
        rm: !!f.rm,
        detach: !!f.detach,
        env: list("env"),
        envFileLines,
        workdir: f.workdir as string | undefined,
        user: f.user as string | undefined,
        volumes: list("volume"),
        tmpfs: list("tmpfs"),
        network: f.network as string,
        publish: list("publish"),
        hostname: f.hostname as string | undefined,
        memory: f.memory as string | undefined,
        cpus: f.cpus as string | undefined,
        pidsLimit: f["pids-limit"] as string | undefined,
        readOnly: !!f["read-only"],
        capAdd: list("cap-add"),
        capDrop: list("cap-drop"),
        securityOpt: list("security-opt"),
        entrypoint: f.entrypoint as string | undefined,
        cgroupParent: f["cgroup-parent"] as string | undefined,
        init: !!f.init,
      },
      { storage: f.storage as string | undefined, runtimeRoot, warn },
    );
  }
  const { Store } = await import("../engine/images/store.ts");
  const { findContainer, listContainers, containerRemove } = await import("../engine/containers/containers.ts");
  if (sub === "ls" || sub === "ps") {
    const { flags: f } = parseArgs(rest, { all: { short: "a", help: "all" }, format: { value: true, def: "table", help: "table or json" }, ...storage }, false);
    // "running" is what the monitor last wrote; a container whose runtime state is gone (its
    // monitor killed, the machine rebooted) has stopped whatever the record says
    const { exists } = await import("../sys/fs.ts");
    const cs = listContainers(new Store(f.storage as string | undefined))
      .map((c) => (c.status === "running" && !exists(`${runtimeRoot}/${c.id}`) ? { ...c, status: "exited" as const } : c))
      .filter((c) => f.all || c.status === "running");
    if (f.format === "json") {
      stdout(JSON.stringify(cs) + "\n");
      return 0;
    }
    const rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]];
    for (const c of cs)
      rows.push([c.id.slice(0, 12), c.image, JSON.stringify(c.args.join(" ").slice(0, 20)), c.created.slice(0, 19).replace("T", " "), c.status === "exited" ? `Exited (${c.exitCode ?? "unknown"})` : c.status, c.name]);
    stdout(table(rows));
    return 0;
  }
  if (sub === "inspect") {
    const { flags: f, rest: args } = parseArgs(rest, storage, false);
    if (args.length !== 1) throw new RunError("container inspect: needs one NAME or ID");
    const st = new Store(f.storage as string | undefined);
    const c = findContainer(st, args[0]!);
    const config = JSON.parse(readText(`${st.root}/containers/${c.id}/config.json`));
    stdout(JSON.stringify({ ...c, config }, null, 2) + "\n");
    return 0;
  }
  if (sub === "rm") {
    const { flags: f, rest: args } = parseArgs(rest, { force: { short: "f", help: "kill it first" }, ...storage }, false);
    if (!args.length) throw new RunError("container rm: needs NAME or ID");
    const st = new Store(f.storage as string | undefined);
    for (const a of args) stdout((await containerRemove(st, a, runtimeRoot, !!f.force)) + "\n");
    return 0;
  }
  if (sub === "start-detached" || sub === "cleanup") {
    // internal: run by runjs-init's monitor for `run -d` and `start`
    const { flags: f, rest: args } = parseArgs(rest, storage, false);
    const { startDetached, cleanupDetached } = await import("../engine/containers/containers.ts");
    const st = new Store(f.storage as string | undefined);
    return sub === "cleanup" ? cleanupDetached(st, args[0]!) : startDetached(st, args[0]!);
  }
  if (sub === "logs") {
    const { flags: f, rest: args } = parseArgs(
      rest,
      { follow: { short: "f", help: "follow" }, tail: { value: true, help: "last N lines" }, since: { value: true, help: "RFC 3339 time, or 10s/5m/2h ago" }, timestamps: { short: "t", help: "show times" }, ...storage },
      false,
    );
    if (args.length !== 1) throw new RunError("container logs: needs one NAME or ID");
    const st = new Store(f.storage as string | undefined);
    const { containerLogs } = await import("../engine/containers/containers.ts");
    const since = typeof f.since === "string" ? sinceTime(f.since) : undefined;
    let shown = 0;
    const show = (all: { stream: string; log: string; time: string }[], first: boolean) => {
      let lines = all.slice(shown);
      shown = all.length;
      if (since) lines = lines.filter((l) => l.time >= since);
      if (first && typeof f.tail === "string") lines = lines.slice(-Math.max(0, Number(f.tail)));
      for (const l of lines) {
        const text = (f.timestamps ? `${l.time} ` : "") + l.log;
        if (l.stream === "stderr") process.stderr.write(text);
        else stdout(text);
      }
    };
    show(containerLogs(st, args[0]!), true);
    while (f.follow && findContainer(st, args[0]!).status === "running") {
      await Bun.sleep(100);
      show(containerLogs(st, args[0]!), false);
    }
    if (f.follow) show(containerLogs(st, args[0]!), false);
    return 0;
  }
  if (sub === "stop" || sub === "kill") {
    const spec: FlagSpec = sub === "stop" ? { time: { short: "t", value: true, def: "10", help: "seconds before SIGKILL" } } : { signal: { short: "s", value: true, def: "KILL", help: "signal" } };
    const { flags: f, rest: args } = parseArgs(rest, { ...spec, ...storage }, false);
    if (!args.length) throw new RunError(`container ${sub}: needs NAME or ID`);
    const st = new Store(f.storage as string | undefined);
    const { containerSignal } = await import("../engine/containers/containers.ts");
    const { parseSignal } = await import("../container/lifecycle.ts");
    for (const a of args)
      stdout((await containerSignal(st, a, runtimeRoot, sub === "stop" ? 15 : parseSignal(f.signal as string), sub === "stop" ? Number(f.time) : undefined)) + "\n");
    return 0;
  }
  if (sub === "exec") {
    const { flags: f, rest: args } = parseArgs(
      rest,
      {
        interactive: { short: "i", help: "keep stdin open" },
        tty: { short: "t", help: "a terminal" },
        env: { short: "e", multi: true, help: "K=V" },
        workdir: { short: "w", value: true, help: "directory" },
        user: { short: "u", value: true, help: "UID[:GID]" },
        ...storage,
      },
      true,
    );
    if (args.length < 2) throw new RunError("container exec: needs NAME and a command");
    const st = new Store(f.storage as string | undefined);
    const c = findContainer(st, args[0]!);
    const { exec } = await import("../container/exec.ts");
    return exec({
      root: runtimeRoot,
      id: c.id,
      args: args.slice(1),
      tty: !!f.tty,
      cwd: f.workdir as string | undefined,
      env: (f.env as string[] | undefined) ?? [],
      user: f.user as string | undefined,
      additionalGids: [],
      caps: [],
      detach: false,
      preserveFds: 0,
      keepOnlcr: true,
      warn,
    });
  }
  if (sub === "start" || sub === "restart") {
    const { flags: f, rest: args } = parseArgs(rest, { time: { short: "t", value: true, def: "10", help: "restart: seconds before SIGKILL" }, ...storage }, false);
    if (!args.length) throw new RunError(`container ${sub}: needs NAME or ID`);
    const st = new Store(f.storage as string | undefined);
    const { containerStart, containerSignal } = await import("../engine/containers/containers.ts");
    for (const a of args) {
      if (sub === "restart" && findContainer(st, a).status === "running") await containerSignal(st, a, runtimeRoot, 15, Number(f.time));
      stdout((await containerStart(st, a, { storage: f.storage as string | undefined, runtimeRoot, warn })) + "\n");
    }
    return 0;
  }
  if (sub === "prune") {
    const { flags: f } = parseArgs(rest, storage, false);
    const { containerPrune } = await import("../engine/containers/containers.ts");
    for (const n of await containerPrune(new Store(f.storage as string | undefined), runtimeRoot)) stdout(n + "\n");
    return 0;
  }
  if (sub === "top") {
    const { flags: f, rest: args } = parseArgs(rest, storage, true);
    if (!args.length) throw new RunError("container top: needs NAME or ID");
    const c = findContainer(new Store(f.storage as string | undefined), args[0]!);
    if (c.status !== "running") throw new RunError(`container ${c.name} is not running`);
    const { ps } = await import("../container/ps.ts");
    return ps(runtimeRoot, c.id, "table", args.slice(1));
  }
  if (sub === "stats") {
    const { flags: f, rest: args } = parseArgs(rest, { "no-stream": { help: "one sample" }, format: { value: true, def: "table", help: "table or json" }, ...storage }, false);
    const st = new Store(f.storage as string | undefined);
    const { containerStats } = await import("../engine/containers/stats.ts");
    const cs = args.length ? args.map((a) => findContainer(st, a)) : listContainers(st).filter((c) => c.status === "running");
    for (;;) {
      const rows = cs.filter((c) => c.status === "running").map((c) => containerStats(runtimeRoot, c));
      if (f.format === "json") stdout(JSON.stringify(rows) + "\n");
      else {
        const t = [["CONTAINER ID", "NAME", "CPU TIME", "MEM USAGE / LIMIT", "PIDS"], ...rows.map((r) => [r.id.slice(0, 12), r.name, `${(r.cpuNs / 1e9).toFixed(2)}s`, `${human(r.memory)} / ${r.memoryLimit ? human(r.memoryLimit) : "-"}`, String(r.pids)])];
        stdout(table(t));
      }
      if (f["no-stream"]) return 0;
      await Bun.sleep(1000);
    }
  }
  throw new RunError(`container: unknown command ${JSON.stringify(sub)}; see runjs container help`);
}
