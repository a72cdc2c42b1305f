// `runjs image …`: the image store from the command line (import, pull, ls, inspect, rm, tag,
// prune, save, load, history). Loaded only for `runjs image`, so the runtime's verbs never pay for it.
import { parseArgs, type FlagSpec } from "./args.ts";
import { commandHelp, commandLines, flagLines, noTopic, type HelpEntry } from "./help.ts";
import { UsageError } from "../errors.ts";
import { table } from "./table.ts";
import { stdout } from "../sys/fs.ts";

/** What pull and push (and login's --insecure) take to reach a registry. */
const REGISTRY_FLAGS: FlagSpec = {
  insecure: { help: "plain HTTP, or TLS without verification (a local registry)" },
  creds: { value: true, help: "USER:PASSWORD for the registry (default: what runjs login or docker login saved)" },
};

/** The commands, their flags and help lines: the parser and `--help` read the same table. */
const COMMANDS: Record<string, HelpEntry> = {
  import: {
    usage: "import [options] FILE|DIR",
    help: "import a docker-archive, an OCI image layout (directory or tar), or a root-filesystem tar (--name)",
    flags: { name: { value: true, help: "name for a root-filesystem tar, or which image of an OCI layout" } },
  },
  pull: {
    usage: "pull [options] REFERENCE",
    help: "pull an image from a registry (OCI distribution API)",
    flags: { ...REGISTRY_FLAGS, quiet: { short: "q", help: "print only the image id" } },
  },
  ls: {
    usage: "ls [options]",
    help: "list the images in the store",
    flags: { format: { value: true, def: "table", help: "table or json" }, quiet: { short: "q", help: "ids only" } },
  },
  inspect: { usage: "inspect NAME|ID", help: "show an image's record and its configuration, as JSON", flags: {} },
  rm: { usage: "rm [options] NAME|ID...", help: "remove images", flags: { force: { short: "f", help: "remove even if a container uses it" } } },
  tag: { usage: "tag SOURCE TARGET", help: "give an image another name", flags: {} },
  prune: { usage: "prune", help: "remove unnamed images no container uses, and what no image needs", flags: {} },
  save: {
    usage: "save [options] NAME|ID...",
    help: "write images to a tar that docker load, podman load, skopeo and runjs image load read (or an OCI layout directory)",
    flags: {
      output: { short: "o", value: true, help: "the file (or, with --format oci-dir, the directory) to write; default: standard output, unless it is a terminal" },
      format: { value: true, def: "docker-archive", help: "docker-archive (an OCI layout with Docker's manifest.json beside it) or oci-dir" },
    },
  },
  load: {
    usage: "load [options]",
    help: "load images from a tar written by image save, docker save or podman save (or an OCI layout)",
    flags: { input: { short: "i", value: true, help: "the archive (default: standard input)" }, quiet: { short: "q", help: "print nothing" } },
  },
  push: {
    usage: "push [options] NAME [DESTINATION]",
    help: "push an image to a registry (OCI distribution API), as NAME or as DESTINATION",
    flags: {
      ...REGISTRY_FLAGS,
      quiet: { short: "q", help: "print only the manifest digest" },
      "chunk-size": { value: true, help: "send blobs larger than BYTES in chunks of BYTES (default: each blob in one request)" },
    },
  },
  login: {
    usage: "login [options] SERVER",
    help: "log in to a registry; the credentials go to Docker's config.json ($DOCKER_CONFIG or ~/.docker)",
    flags: {
      username: { short: "u", value: true, help: "user name" },
      password: { short: "p", value: true, help: "password (visible to other users in ps: prefer --password-stdin)" },
      "password-stdin": { help: "read the password from standard input" },
      insecure: REGISTRY_FLAGS.insecure!,
    },
  },
  logout: { usage: "logout SERVER", help: "forget a registry's credentials", flags: {} },
  build: {
    usage: "build [options] CONTEXT",
    help: "build an image from a Dockerfile (Docker's instructions, stages and cache), with no daemon",
    flags: {
      tag: { short: "t", multi: true, help: "NAME[:TAG] for the image (repeatable)" },
      file: { short: "f", value: true, help: "the Dockerfile (default: CONTEXT/Dockerfile)" },
      "build-arg": { multi: true, help: "KEY=VALUE for an ARG (KEY alone: the value of $KEY here)" },
      target: { value: true, help: "build up to this stage (FROM … AS NAME)" },
      "no-cache": { help: "run every step, taking nothing from the build cache" },
      network: { value: true, help: "the network of RUN steps: bridge (default as root), host or none" },
      label: { multi: true, help: "KEY=VALUE label on the image (repeatable)" },
      "cgroup-parent": { value: true, help: "the cgroup RUN steps run under (default /runjs)" },
      quiet: { short: "q", help: "print only the image id (no progress, no RUN output)" },
    },
  },
  history: {
    usage: "history [options] NAME|ID",
    help: "show the steps an image was made by, newest first",
    flags: { "no-trunc": { help: "do not shorten the commands" }, format: { value: true, def: "table", help: "table or json" } },
  },
};

const COMMON: FlagSpec = {
  storage: { value: true, help: "the image and container store (default /var/lib/runjs, or $RUNJS_STORAGE)" },
  help: { short: "h", help: "show help" },
};

function overview(): string {
  return (
    `NAME:\n   runjs image - manage the image store\n\n` +
    `USAGE:\n   runjs image COMMAND [options] [arguments...]\n\n` +
    `COMMANDS:\n${commandLines(COMMANDS)}\n` +
    `OPTIONS (every command):\n${flagLines(COMMON)}\n` +
    `runjs image COMMAND --help shows a command's options.\n`
  );
}

function human(n: number): string {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)}${u[i]}`;
}

/**
 * Pull's and push's progress on stderr: one line rewritten on a terminal, otherwise a line
 * per blob and phase (the moving phase, `inFlight`, only on a terminal). None when quiet.
 */
async function blobProgress(quiet: boolean, inFlight: string) {
  if (quiet) return undefined;
  const tty = (await import("node:tty")).isatty(2);
  const seen = new Map<string, string>();
  return {
    show(e: { digest: string; done: number; total: number; phase: string }) {
      const line = `${e.digest.slice(7, 19)}: ${e.phase === inFlight ? `${human(e.done)}/${human(e.total)}` : e.phase}`;
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
      else if (e.phase !== inFlight && seen.get(e.digest) !== e.phase) process.stderr.write(line + "\n");
      seen.set(e.digest, e.phase);
    },
    end() {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

/** --creds USER:PASSWORD, else what login saved for the registry, else none. */
async function credentials(creds: unknown, registry: string): Promise<[string?, string?]> {
  if (typeof creds === "string") {
    const i = creds.indexOf(":");
    if (i < 0) throw new UsageError("--creds: USER:PASSWORD");
    return [creds.slice(0, i), creds.slice(i + 1)];
  }
  const { savedCredentials } = await import("../engine/images/auth.ts");
  const saved = savedCredentials(registry);
  return saved ? [saved.username, saved.password] : [];
}

/** Pull NAME into the store under its normal name (pull, and build's FROM); credentials as credentials() finds them. */
async function pullInto(
  store: import("../engine/images/store.ts").Store,
  given: string,
  o: { insecure: boolean | ((registry: string) => boolean); creds?: unknown; progress?: Awaited<ReturnType<typeof blobProgress>> },
) {
  const { formatReference, parseReference } = await import("../engine/images/reference.ts");
  const ref = parseReference(given);
  const [username, password] = await credentials(o.creds, ref.registry);
  const { pullImage } = await import("../engine/images/registry.ts");
  const { registerImage } = await import("../engine/images/image.ts");
  const name = formatReference(ref);
  const insecure = typeof o.insecure === "function" ? o.insecure(ref.registry) : o.insecure;
  const pulled = await pullImage(ref, store, { insecure, username, password, progress: o.progress?.show });
  o.progress?.end();
  return { rec: await registerImage(store, pulled, [name]), name };
}

/** prog: how the page names the command ("runjs image", or "runjs" for login and logout). */
export async function imageCommand(
  argv: string[],
  storage: string | undefined,
  prog = "runjs image",
  rt: { runtimeRoot: string; warn: (m: string) => void } = { runtimeRoot: "/run/runjs", warn: (m) => process.stderr.write(`runjs: warning: ${m}\n`) },
): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || (sub === "help" && !rest.length)) {
    stdout(overview());
    return sub ? 0 : 2;
  }
  const name = sub === "help" ? rest[0]! : sub;
  const cmd = COMMANDS[name];
  if (!cmd) throw Object.assign(new UsageError(noTopic(prog, name)), { exitCode: 3 });
  const { flags: f, rest: args } = parseArgs(sub === "help" ? ["--help"] : rest, { ...cmd.flags, ...COMMON }, false);
  if (f.help) {
    stdout(commandHelp(prog, name, cmd, name === "login" || name === "logout" ? { help: COMMON.help! } : COMMON));
    return 0;
  }
  const { Store } = await import("../engine/images/store.ts");
  const store = new Store((f.storage as string | undefined) ?? storage);
  // import and pull either complete or leave the store as it was
  const atomically = async <T>(fn: () => Promise<T>): Promise<T> => (await import("../engine/images/gc.ts")).atomically(store, fn);
  switch (sub) {
    case "import": {
      if (args.length !== 1) throw new UsageError("image import: needs one FILE or DIR");
      const { importImage } = await import("../engine/images/import.ts");
      const recs = await atomically(() => importImage(store, args[0]!, f.name as string | undefined));
      for (const r of recs) stdout(`${r.names.length ? r.names.join(", ") + " " : ""}${r.id}\n`);
      return 0;
    }
    case "pull": {
      if (args.length !== 1) throw new UsageError("image pull: needs one REFERENCE");
      const progress = await blobProgress(!!f.quiet, "downloading");
      const { rec, name } = await atomically(() => pullInto(store, args[0]!, { insecure: !!f.insecure, creds: f.creds, progress }));
      stdout(f.quiet ? `${rec.id}\n` : `${name} ${rec.id}\n`);
      return 0;
    }
    case "ls": {
      const list = store.images();
      if (f.quiet) {
        for (const r of list) stdout(r.id + "\n");
        return 0;
      }
      if (f.format === "json") {
        stdout(JSON.stringify(list.map((r) => ({ id: r.id, names: r.names, created: r.created, size: r.size, platform: r.platform, manifest: r.manifest }))) + "\n");
        return 0;
      }
      if (f.format !== "table") throw new UsageError(`image ls: --format: table or json, not ${f.format}`);
      const rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]];
      for (const r of list) {
        const names = r.names.length ? r.names : ["<none>:<none>"];
        for (const n of names) {
          const at = n.lastIndexOf(":");
          rows.push([n.slice(0, at), n.slice(at + 1), r.id.slice(7, 19), r.created.slice(0, 19).replace("T", " "), human(r.size)]);
        }
      }
      stdout(table(rows));
      return 0;
    }
    case "inspect": {
      if (args.length !== 1) throw new UsageError("image inspect: needs one NAME or ID");
      const { inspectImage } = await import("../engine/images/image.ts");
      stdout(JSON.stringify(inspectImage(store, args[0]!), null, 2) + "\n");
      return 0;
    }
    case "tag": {
      if (args.length !== 2) throw new UsageError("image tag: needs SOURCE and TARGET");
      const { tagImage } = await import("../engine/images/image.ts");
      tagImage(store, args[0]!, args[1]!);
      return 0;
    }
    case "rm": {
      if (!args.length) throw new UsageError("image rm: needs NAME or ID");
      const { removeImage } = await import("../engine/images/gc.ts");
      for (const a of args) stdout(removeImage(store, a, !!f.force) + "\n");
      return 0;
    }
    case "save": {
      const format = f.format as string;
      if (format !== "docker-archive" && format !== "oci-dir") throw new UsageError(`image save: --format: docker-archive or oci-dir, not ${format}`);
      const out = f.output as string | undefined;
      if (out === undefined && (format === "oci-dir" || (await import("node:tty")).isatty(1)))
        throw new UsageError(format === "oci-dir" ? "image save --format oci-dir: needs -o DIR" : "image save: refusing to write an archive to a terminal: give -o FILE or redirect standard output");
      const { saveImages } = await import("../engine/images/save.ts");
      saveImages(store, args, out ?? 1, format);
      return 0;
    }
    case "load": {
      if (args.length) throw new UsageError("image load: takes no arguments (the archive is -i FILE, or standard input)");
      let input = f.input as string | undefined;
      let tmp: string | undefined;
      if (input === undefined) {
        if ((await import("node:tty")).isatty(0)) throw new UsageError("image load: give -i FILE, or the archive on standard input");
        // the importer reads an archive by offsets: standard input is copied to a file first
        tmp = input = store.tmpPath("load");
        const fs = await import("node:fs");
        const fd = fs.openSync(tmp, "w", 0o600);
        try {
          const buf = new Uint8Array(1 << 20);
          for (let n; (n = fs.readSync(0, buf)) > 0; ) for (let off = 0; off < n; ) off += fs.writeSync(fd, buf, off, n - off);
        } finally {
          fs.closeSync(fd);
        }
      }
      const { importImage } = await import("../engine/images/import.ts");
      try {
        const recs = await atomically(() => importImage(store, input!));
        if (!f.quiet) for (const r of recs) stdout(r.names.length ? r.names.map((n) => `Loaded image: ${n}\n`).join("") : `Loaded image ID: ${r.id}\n`);
      } finally {
        if (tmp) (await import("node:fs")).rmSync(tmp, { force: true });
      }
      return 0;
    }
    case "push": {
      if (args.length < 1 || args.length > 2) throw new UsageError("image push: needs NAME, and optionally DESTINATION");
      const { formatReference, parseReference } = await import("../engine/images/reference.ts");
      const { findImage } = await import("../engine/images/image.ts");
      const source = findImage(store, args[0]!);
      const given = args[1] ?? args[0]!;
      const dest = parseReference(/^sha256:|^[a-f0-9]{12,64}$/.test(given) && !args[1] ? source.names[0] ?? given : given);
      const [username, password] = await credentials(f.creds, dest.registry);
      const { pushImage } = await import("../engine/images/push.ts");
      const progress = await blobProgress(!!f.quiet, "uploading");
      const chunkFlag = f["chunk-size"] as string | undefined;
      if (chunkFlag !== undefined && !/^[1-9]\d*$/.test(chunkFlag)) throw new UsageError(`image push: --chunk-size: a number of bytes, not ${JSON.stringify(chunkFlag)}`);
      const digest = await pushImage(store, args[0]!, dest, { insecure: !!f.insecure, username, password, progress: progress?.show, ...(chunkFlag ? { chunk: Number(chunkFlag) } : {}) });
      progress?.end();
      stdout(f.quiet ? `${digest}\n` : `${formatReference({ ...dest, tag: dest.tag ?? "latest" })} ${digest}\n`);
      return 0;
    }
    case "login": {
      if (args.length !== 1) throw new UsageError("login: needs one SERVER (a registry host, host:port, or docker.io)");
      const user = f.username as string | undefined;
      if (!user) throw new UsageError("login: --username is required (runjs asks for nothing on a terminal)");
      let password = f.password as string | undefined;
      if (f["password-stdin"]) {
        if (password !== undefined) throw new UsageError("login: --password and --password-stdin: give one");
        password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
      }
      if (password === undefined) throw new UsageError("login: give --password-stdin (or --password)");
      const server = args[0]!.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      const registry = server === "index.docker.io" ? "docker.io" : server;
      const { checkLogin } = await import("../engine/images/push.ts");
      await checkLogin(registry, user, password, !!f.insecure);
      const { saveCredentials } = await import("../engine/images/auth.ts");
      saveCredentials(registry, user, password);
      stdout("Login Succeeded\n");
      return 0;
    }
    case "logout": {
      if (args.length !== 1) throw new UsageError("logout: needs one SERVER");
      const server = args[0]!.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      const { removeCredentials } = await import("../engine/images/auth.ts");
      if (!removeCredentials(server === "index.docker.io" ? "docker.io" : server)) throw new UsageError(`logout: not logged in to ${server}`);
      stdout(`Removing login credentials for ${server}\n`);
      return 0;
    }
    case "history": {
      if (args.length !== 1) throw new UsageError("image history: needs one NAME or ID");
      const { imageHistory } = await import("../engine/images/image.ts");
      const steps = imageHistory(store, args[0]!);
      if (f.format === "json") {
        stdout(JSON.stringify(steps) + "\n");
        return 0;
      }
      if (f.format !== "table") throw new UsageError(`image history: --format: table or json, not ${f.format}`);
      const cut = (t: string) => (f["no-trunc"] || t.length <= 45 ? t : t.slice(0, 44) + "…");
      const rows = [["CREATED", "CREATED BY", "SIZE", "COMMENT"]];
      for (const h of steps) rows.push([h.created ? h.created.slice(0, 19).replace("T", " ") : "<missing>", cut(h.createdBy), h.emptyLayer ? "0B" : human(h.size), h.comment]);
      stdout(table(rows));
      return 0;
    }
    case "build": {
      if (args.length !== 1) throw new UsageError("image build: needs one CONTEXT directory");
      const pairs = (list: unknown, what: string) =>
        ((list as string[] | undefined) ?? []).map((kv) => {
          const i = kv.indexOf("=");
          if (i === 0) throw new UsageError(`${what} ${JSON.stringify(kv)}: KEY=VALUE`);
          return i < 0 ? ([kv, process.env[kv]] as const) : ([kv.slice(0, i), kv.slice(i + 1)] as const);
        });
      const buildArgs = new Map<string, string>();
      for (const [k, v] of pairs(f["build-arg"], "--build-arg")) if (v !== undefined) buildArgs.set(k, v);
      const labels: Record<string, string> = {};
      for (const [k, v] of pairs(f.label, "--label")) labels[k] = v ?? "";
      const root = (process.geteuid?.() ?? 0) === 0;
      if (!root) throw new UsageError("image build: needs root (its steps are containers over overlayfs mounts of the store)");
      const network = (f.network as string | undefined) ?? "bridge";
      if (!["none", "host", "bridge"].includes(network)) throw new UsageError(`image build: --network: none, host or bridge, not ${network}`);
      const { normalizeName } = await import("../engine/images/reference.ts");
      const tags = ((f.tag as string[] | undefined) ?? []).map((t) => {
        try {
          normalizeName(t);
        } catch (e: any) {
          throw new UsageError(`image build: --tag ${JSON.stringify(t)}: ${e.message}`);
        }
        return t;
      });
      if (network === "bridge") {
        const { bridgeConfList, checkPlugins } = await import("../engine/containers/network.ts");
        checkPlugins("bridge", bridgeConfList(store.root));
      }
      const { build, BuildError } = await import("../engine/build/build.ts");
      const { DockerfileError } = await import("../engine/build/dockerfile.ts");
      // as Docker does, a registry on the loopback interface may speak plain HTTP
      const pull = async (ref: string) => (await pullInto(store, ref, { insecure: (registry) => /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/.test(registry) })).rec;
      try {
        const res = await atomically(() =>
          build({
            store,
            runtimeRoot: rt.runtimeRoot,
            context: args[0]!,
            file: f.file as string | undefined,
            tags,
            buildArgs,
            target: f.target as string | undefined,
            noCache: !!f["no-cache"],
            network: network as "none" | "host" | "bridge",
            labels,
            cgroupParent: f["cgroup-parent"] as string | undefined,
            output: f.quiet ? undefined : 1,
            warn: rt.warn,
            pull,
          }),
        );
        if (!f.quiet) for (const n of res.names) stdout(`tagged ${n}\n`);
        stdout(`${res.id}\n`);
      } catch (e) {
        if (e instanceof BuildError || e instanceof DockerfileError) throw new UsageError(e.message);
        throw e;
      }
      return 0;
    }
    case "prune": {
      const { prune } = await import("../engine/images/gc.ts");
      const p = prune(store);
      stdout(`removed ${p.images} images, ${p.layers} layers and ${p.blobs} blobs (${human(p.bytes)})\n`);
      return 0;
    }
  }
  return 0;
}
