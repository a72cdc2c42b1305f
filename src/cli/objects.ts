// `runjs network …` and `runjs volume …`: the front end's networks and named volumes from the
// command line (engine/containers/networks.ts). Loaded only for these two commands.
import { parseArgs, type FlagSpec } from "./args.ts";
import { commandHelp, commandLines, flagLines, noTopic, type HelpEntry } from "./help.ts";
import { UsageError } from "../errors.ts";
import { table } from "./table.ts";
import { stdout } from "../sys/fs.ts";

const FORMAT: FlagSpec = { format: { value: true, def: "table", help: "table or json" }, quiet: { short: "q", help: "names only" } };

const NETWORK: Record<string, HelpEntry> = {
  create: {
    usage: "create [options] NAME",
    help: "make a bridge network of its own (a CNI network list in the store), for --network NAME",
    flags: {
      subnet: { value: true, help: "its IPv4 subnet, CIDR (default: the next free 10.89.N.0/24)" },
      gateway: { value: true, help: "the bridge's address in the subnet (default: the first)" },
    },
  },
  ls: { usage: "ls [options]", help: "list the networks", flags: FORMAT },
  inspect: { usage: "inspect NAME", help: "show a network's CNI list and the containers on it, as JSON", flags: {} },
  rm: { usage: "rm NAME...", help: "remove networks no container uses (their list and bridge device)", flags: {} },
};

const VOLUME: Record<string, HelpEntry> = {
  create: { usage: "create [NAME]", help: "make a named volume (filled from the image when a container first mounts it empty)", flags: {} },
  ls: { usage: "ls [options]", help: "list the volumes", flags: FORMAT },
  inspect: { usage: "inspect NAME...", help: "show volumes and the containers that mount them, as JSON", flags: {} },
  rm: { usage: "rm [options] NAME...", help: "remove volumes no container mounts", flags: { force: { short: "f", help: "no error for a volume that is not there" } } },
  prune: { usage: "prune [options]", help: "remove the anonymous volumes no container mounts", flags: { all: { short: "a", help: "every volume no container mounts, named ones too" } } },
};

const COMMON: FlagSpec = {
  storage: { value: true, help: "the image and container store (default /var/lib/runjs, or $RUNJS_STORAGE)" },
  help: { short: "h", help: "show help" },
};

function overview(what: string, cmds: Record<string, HelpEntry>): string {
  return (
    `NAME:\n   runjs ${what} - manage the front end's ${what}s\n\n` +
    `USAGE:\n   runjs ${what} COMMAND [options] [arguments...]\n\n` +
    `COMMANDS:\n${commandLines(cmds)}\n` +
    `OPTIONS (every command):\n${flagLines(COMMON)}\n` +
    `runjs ${what} COMMAND --help shows a command's options.\n`
  );
}

type Parsed = { done: number } | { sub: string; f: Record<string, string | boolean | string[]>; args: string[]; store: import("../engine/images/store.ts").Store };

async function parse(what: string, cmds: Record<string, HelpEntry>, argv: string[]): Promise<Parsed> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || (sub === "help" && !rest.length)) {
    stdout(overview(what, cmds));
    return { done: sub ? 0 : 2 };
  }
  const name = sub === "help" ? rest[0]! : sub;
  const cmd = cmds[name];
  if (!cmd) throw Object.assign(new UsageError(noTopic(`runjs ${what}`, name)), { exitCode: 3 });
  const { flags: f, rest: args } = parseArgs(sub === "help" ? ["--help"] : rest, { ...cmd.flags, ...COMMON }, false);
  if (f.help) {
    stdout(commandHelp(`runjs ${what}`, name, cmd, COMMON));
    return { done: 0 };
  }
  const { Store } = await import("../engine/images/store.ts");
  return { sub: name, f, args, store: new Store(f.storage as string | undefined) };
}

function listOut(f: Record<string, unknown>, rows: string[][], names: string[], json: unknown): void {
  if (f.quiet) stdout(names.map((n) => n + "\n").join(""));
  else if (f.format === "json") stdout(JSON.stringify(json) + "\n");
  else if (f.format === "table") stdout(table(rows));
  else throw new UsageError(`--format: table or json, not ${f.format}`);
}

export async function networkCommand(argv: string[]): Promise<number> {
  const p = await parse("network", NETWORK, argv);
  if ("done" in p) return p.done;
  const { sub, f, args, store } = p;
  const n = await import("../engine/containers/networks.ts");
  switch (sub) {
    case "create": {
      if (args.length !== 1) throw new UsageError("network create: needs one NAME");
      const net = n.createNetwork(store, args[0]!, { subnet: f.subnet as string | undefined, gateway: f.gateway as string | undefined });
      stdout(`${net.name}\n`);
      return 0;
    }
    case "ls": {
      const list = n.listNetworks(store);
      listOut(f, [["NAME", "DRIVER", "SUBNET", "DEVICE"], ...list.map((x) => [x.name, x.driver, x.subnet, x.bridge])], list.map((x) => x.name), list.map(({ list: _l, ...x }) => x));
      return 0;
    }
    case "inspect": {
      if (args.length !== 1) throw new UsageError("network inspect: needs one NAME");
      stdout(JSON.stringify(n.inspectNetwork(store, args[0]!), null, 1) + "\n");
      return 0;
    }
    case "rm": {
      if (!args.length) throw new UsageError("network rm: needs a NAME");
      for (const a of args) {
        n.removeNetwork(store, a);
        stdout(`${a}\n`);
      }
      return 0;
    }
  }
  return 0;
}

export async function volumeCommand(argv: string[]): Promise<number> {
  const p = await parse("volume", VOLUME, argv);
  if ("done" in p) return p.done;
  const { sub, f, args, store } = p;
  const n = await import("../engine/containers/networks.ts");
  switch (sub) {
    case "create": {
      if (args.length > 1) throw new UsageError("volume create: at most one NAME");
      stdout(`${n.createVolume(store, args[0]).name}\n`);
      return 0;
    }
    case "ls": {
      const list = n.listVolumes(store);
      listOut(f, [["DRIVER", "VOLUME NAME"], ...list.map((v) => ["local", v.name])], list.map((v) => v.name), list);
      return 0;
    }
    case "inspect": {
      if (!args.length) throw new UsageError("volume inspect: needs a NAME");
      stdout(JSON.stringify(args.map((a) => n.inspectVolume(store, a)), null, 1) + "\n");
      return 0;
    }
    case "rm": {
      if (!args.length) throw new UsageError("volume rm: needs a NAME");
      for (const a of args) {
        n.removeVolume(store, a, !!f.force);
        stdout(`${a}\n`);
      }
      return 0;
    }
    case "prune": {
      for (const v of n.pruneVolumes(store, !!f.all)) stdout(`${v}\n`);
      return 0;
    }
  }
  return 0;
}
