// `image build`: a Dockerfile made into an image, with Docker's semantics and no daemon.
//
// The Dockerfile is read (dockerfile.ts) and split into stages at each FROM; the stages the
// target needs (the last, or --target, and those it copies from or starts from) are built in
// order. A stage starts from an image (from the store, pulled when missing), from `scratch`,
// or from an earlier stage's result, and walks its instructions with a state: the image
// config being made (Env, Cmd, User, WorkingDir, …), the ARGs in scope, the layers so far,
// the history. Instructions that only change the config (ENV, CMD, LABEL, …) change the
// state; RUN, COPY, ADD and WORKDIR are filesystem steps (step.ts): an overlay of the layers
// with a fresh upper directory, changed by a container or by the builder, whose diff becomes
// a layer (layer.ts) — none when nothing changed.
//
// The cache: each step has a key, the sha256 of the previous step's key and what the step
// is (its instruction as expanded, and for RUN its environment, user and directory; for COPY
// and ADD the names, modes and contents of what it copies, Docker's rule). The key of a
// stage's first step starts from the base image's id. A finished step records under
// ROOT/build-cache/<key> the layer it made and when; the next build that reaches the same
// key takes the layer from the record, if the layer is still in the store, and runs
// nothing. A cached rebuild therefore gives the same layers, the same config, the same id.
//
// Everything is undone on failure: the caller runs the build under the store's rollback
// (gc.ts), and a failed step removes its mount and directories before the error goes up,
// naming the Dockerfile and the line.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { execForm, parseDockerfile, DockerfileError, type Instruction } from "./dockerfile.ts";
import { expandWord, expandWords, parseDuration, splitAssignments, WordError, type Vars } from "./words.ts";
import { CONTEXT, CopyError, copySource, hashSources, hasWildcard, matchSources, mkdirAll, resolveChown, Tree, type Keep, type Source } from "./copy.ts";
import { isEmptyDiff, keepLayerDir, writeLayer, type Layer } from "./layer.ts";
import { mountStep, removeStep, runInStep, stepDirs, unmountStep, type StepDirs } from "./step.ts";
import { findImage, registerImage } from "../images/image.ts";
import { writeManifest } from "../images/import.ts";
import { MEDIA } from "../images/media.ts";
import { hostPlatform } from "../images/platform.ts";
import { normalizeName } from "../images/reference.ts";
import { digestHex, ImageError, sha256, type ImageRecord, type Store } from "../images/store.ts";
import { isatty } from "../../sys/libc.ts";

export class BuildError extends Error {}

export interface BuildOptions {
  store: Store;
  runtimeRoot: string;
  context: string;
  /** -f: the Dockerfile (default CONTEXT/Dockerfile) */
  file?: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  network: "none" | "host" | "bridge";
  labels: Record<string, string>;
  /** The cgroup RUN steps' containers go under (default /runjs). */
  cgroupParent?: string;
  /** Progress lines and RUN output go here (fd); undefined: nowhere (-q). */
  output?: number;
  warn: (m: string) => void;
  /** Pull an image the build needs and does not have (the CLI's, with its credentials). */
  pull?: (name: string) => Promise<ImageRecord>;
}

export interface Built {
  id: string;
  names: string[];
  /** Steps that ran, and steps taken from the cache. */
  ran: number;
  cached: number;
}

/** Arguments every build knows without an ARG (Docker's proxy variables), kept out of the history. */
const PROXY_ARGS = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The flags each instruction takes. */
const FLAGS: Record<string, string[]> = {
  FROM: ["platform"],
  RUN: ["network", "mount", "security"],
  COPY: ["from", "chown", "chmod", "link"],
  ADD: ["chown", "chmod", "link", "checksum"],
  HEALTHCHECK: ["interval", "timeout", "start-period", "start-interval", "retries"],
};

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  body: Instruction[];
}

/** A stage's result, or a base: layers bottom first, the image config. */
interface Result {
  layers: Layer[];
  config: any;
  key: string;
  created: string;
}

interface CacheEntry {
  layer?: Layer;
  created: string;
}

export async function build(o: BuildOptions): Promise<Built> {
  const context = resolve(o.context);
  const file = o.file ? resolve(o.file) : join(context, "Dockerfile");
  const shown = o.file ?? "Dockerfile";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e: any) {
    throw new BuildError(`${shown}: cannot read the Dockerfile: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
  const df = parseDockerfile(text, shown);
  if (df.syntax) o.warn(`${shown}: # syntax=${df.syntax} ignored: this builder reads the Dockerfile language itself`);
  const at = (i: Instruction) => `${shown}:${i.line}`;
  const esc = df.escape;
  const fail = (i: Instruction, m: string): never => {
    throw new BuildError(`${at(i)}: ${i.keyword}: ${m}`);
  };

  // 1. stages, and the ARGs before the first FROM
  const globalArgs = new Map<string, string | undefined>();
  const used = new Set<string>();
  const stages: Stage[] = [];
  for (const ins of df.instructions) {
    if (ins.keyword === "FROM") {
      const words = expandWords(ins.args, (n) => argValue(n), esc);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toUpperCase() === "AS"))
        fail(ins, `expects an image and optionally AS NAME, got ${JSON.stringify(ins.args)}`);
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9._-]*$/.test(name)) fail(ins, `invalid stage name ${JSON.stringify(words[2])}`);
      if (name !== undefined && stages.some((s) => s.name === name)) fail(ins, `duplicate stage name ${JSON.stringify(name)}`);
      stages.push({ index: stages.length, name, from: ins, body: [] });
    } else if (!stages.length) {
      for (const a of splitAssignments(ins.args, esc, false)) {
        const v = o.buildArgs.has(a.name) ? o.buildArgs.get(a.name) : a.value !== undefined ? expandWord(a.value, (n) => argValue(n), esc) : undefined;
        if (o.buildArgs.has(a.name)) used.add(a.name);
        globalArgs.set(a.name, v);
      }
    } else stages[stages.length - 1]!.body.push(ins);
  }
  function argValue(n: string): string | undefined {
    return globalArgs.get(n);
  }
  // checks that need no file and no image: flags, stage references
  for (const s of stages)
    for (const i of [s.from, ...s.body]) {
      for (const f of i.flags) if (!(FLAGS[i.keyword] ?? []).includes(f.name)) fail(i, `unknown flag --${f.name}`);
      if (i.keyword === "RUN" && i.flags.some((f) => f.name === "mount" || f.name === "security")) fail(i, "--mount and --security are not supported by this builder");
    }
  const byName = (ref: string): Stage | undefined =>
    stages.find((s) => s.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
  let target = stages[stages.length - 1]!;
  if (o.target !== undefined) {
    const t = stages.find((s) => s.name === o.target!.toLowerCase());
    if (!t) throw new BuildError(`--target ${o.target}: no stage of that name in ${shown} (stages: ${stages.map((s) => s.name ?? `#${s.index}`).join(", ")})`);
    target = t;
  }
  const fromOf = (s: Stage) => expandWords(s.from.args, (n) => argValue(n), esc)[0]!;
  // the stages the target needs: what it starts from and copies from, and theirs
  const needed = new Set<number>();
  const need = (s: Stage) => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    const base = byName(fromOf(s));
    if (base && base.index < s.index) need(base);
    for (const i of s.body) {
      const from = i.keyword === "COPY" ? i.flags.find((f) => f.name === "from")?.value : undefined;
      if (from === undefined) continue;
      const ref = byName(expandWord(from, (n) => argValue(n), esc));
      if (ref && ref.index >= s.index) fail(i, `--from=${from}: a stage can only copy from an earlier stage`);
      if (ref) need(ref);
    }
  };
  need(target);
  const plan = stages.filter((s) => needed.has(s.index));
  const total = plan.reduce((n, s) => n + 1 + s.body.length, 0);

  // .dockerignore: what of the context COPY and ADD cannot see
  let keep: Keep = () => true;
  const ignoreFile = join(context, ".dockerignore");
  if (existsSync(ignoreFile)) {
    const ignore = (await import("@balena/dockerignore")).default;
    const ig = ignore().add(readFileSync(ignoreFile, "utf8").split("\n"));
    keep = (rel) => !ig.ignores(rel);
  }
  if (!existsSync(context)) throw new BuildError(`${o.context}: the build context is not there`);
  const ctx = new Tree(context, CONTEXT);

  const out = o.output;
  const say = (s: string) => {
    if (out !== undefined) writeFileSync(out, s + "\n");
  };
  // On a terminal a step that prints nothing of its own (all but RUN) is one line, its time
  // at the end of it; elsewhere, and for RUN, the time is a line of its own after the step.
  const tty = out !== undefined && isatty(out);
  let open = false; // a step's line waiting for its time
  const stepLine = (s: string, quiet: boolean) => {
    if (out === undefined) return;
    open = tty && quiet;
    writeFileSync(out, open ? s : s + "\n");
  };
  const stepEnd = (s: string) => {
    if (out === undefined) return;
    writeFileSync(out, open ? `  ${s.replace(/^--> /, "")}\n` : s + "\n");
    open = false;
  };
  const cacheDir = join(o.store.root, "build-cache");
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const cacheGet = (key: string): CacheEntry | undefined => {
    if (o.noCache) return undefined;
    const p = join(cacheDir, digestHex(key));
    if (!existsSync(p)) return undefined;
    const e: CacheEntry = JSON.parse(readFileSync(p, "utf8"));
    if (e.layer && !(o.store.hasBlob(e.layer.digest) && o.store.hasLayer(e.layer.diffId))) return undefined;
    return e;
  };
  const cachePut = (key: string, e: CacheEntry) => {
    const tmp = o.store.tmpPath("cache");
    writeFileSync(tmp, JSON.stringify(e));
    renameSync(tmp, join(cacheDir, digestHex(key)));
  };

  const results = new Map<number, Result>();
  let stepNo = 0;
  let ran = 0;
  let cached = 0;
  const live: StepDirs[] = [];

  /** The layers of an image in the store, and its config. */
  const imageBase = async (ref: string, i: Instruction): Promise<Result> => {
    let rec: ImageRecord;
    try {
      rec = findImage(o.store, ref);
    } catch (e) {
      if (!(e instanceof ImageError) || !o.pull) throw e;
      say(`pulling ${ref}`);
      try {
        rec = await o.pull(ref);
      } catch (err: any) {
        return fail(i, `${ref}: not in the store, and pulling it failed: ${err.message}`);
      }
    }
    const cfg = JSON.parse(new TextDecoder().decode(o.store.readBlob(rec.id)));
    return { layers: rec.layers.map((l) => ({ digest: l.digest, diffId: l.diffId, mediaType: l.mediaType, size: l.size })), config: cfg, key: rec.id, created: cfg.created ?? "" };
  };
  const lowersOf = (layers: Layer[]) => layers.map((l) => o.store.layerPath(l.diffId)).reverse();

  /** A read-only view of a stage's or image's files, for COPY --from. */
  const openResult = (r: Result): { tree: Tree; done: () => void } => {
    const d = stepDirs(o.store);
    live.push(d);
    mountStep(d, lowersOf(r.layers), false);
    const tree = new Tree(d.rootfs, "the --from image");
    return {
      tree,
      done: () => {
        tree.close();
        removeStep(d);
        live.splice(live.indexOf(d), 1);
      },
    };
  };

  try {
    for (const s of plan) {
      stepNo++;
      const fromRef = fromOf(s);
      const fromStage = byName(fromRef);
      say(`STEP ${stepNo}/${total}: FROM ${fromRef}${s.name ? ` AS ${s.name}` : ""}`);
      const platform = s.from.flags.find((f) => f.name === "platform")?.value;
      if (platform !== undefined) {
        const p = expandWord(platform, (n) => argValue(n) ?? (n === "BUILDPLATFORM" || n === "TARGETPLATFORM" ? `linux/${hostPlatform().architecture}` : undefined), esc);
        const host = hostPlatform();
        if (p !== `${host.os}/${host.architecture}` && p !== `${host.os}/${host.architecture}/${host.variant ?? ""}`.replace(/\/$/, ""))
          fail(s.from, `--platform=${p}: this builder builds for the host's platform only (${host.os}/${host.architecture})`);
      }
      let base: Result;
      if (fromStage && fromStage.index < s.index) base = results.get(fromStage.index)!;
      else if (fromRef === "scratch")
        base = { layers: [], config: { architecture: hostPlatform().architecture, os: "linux", config: {} }, key: sha256("scratch"), created: "" };
      else base = await imageBase(fromRef, s.from);
      const cfg: any = structuredClone(base.config.config ?? {});
      if (fromRef === "scratch" && !cfg.Env) cfg.Env = [DEFAULT_PATH];
      const state = {
        layers: [...base.layers],
        history: structuredClone(Array.isArray(base.config.history) ? base.config.history : []) as any[],
        key: base.key,
        created: base.created,
        args: new Map<string, string | undefined>(),
        author: base.config.author as string | undefined,
      };
      let cmdSetHere = false;
      const triggers: string[] = Array.isArray(cfg.OnBuild) ? cfg.OnBuild : [];
      cfg.OnBuild = null;
      const env = () => (cfg.Env ?? []) as string[];
      const envGet = (n: string) => {
        const e = env().find((x) => x.startsWith(n + "="));
        return e === undefined ? undefined : e.slice(n.length + 1);
      };
      const vars: Vars = (n) => envGet(n) ?? (state.args.has(n) ? state.args.get(n) : undefined);
      const setEnv = (n: string, v: string) => {
        cfg.Env = [...env().filter((x) => !x.startsWith(n + "=")), `${n}=${v}`];
      };
      const shell = () => (cfg.Shell?.length ? (cfg.Shell as string[]) : ["/bin/sh", "-c"]);
      /** The environment a RUN sees: ENV, then the ARGs in scope that ENV does not set. */
      const runEnv = () => {
        const e = [...env()];
        for (const [k, v] of state.args) if (v !== undefined && envGet(k) === undefined) e.push(`${k}=${v}`);
        for (const p of PROXY_ARGS) if (o.buildArgs.has(p) && !state.args.has(p)) (e.push(`${p}=${o.buildArgs.get(p)}`), used.add(p));
        return e;
      };
      const history = (createdBy: string, empty: boolean, created: string) =>
        state.history.push({ created, created_by: createdBy, comment: "runjs image build", ...(empty ? { empty_layer: true } : {}) });
      const nextKey = (what: unknown) => sha256(JSON.stringify([state.key, what]));

      /** A filesystem step: cached, or done by `work` over a fresh overlay; its layer if it changed anything. */
      const fsStep = async (i: Instruction, createdBy: string, keyOf: unknown, work: (d: StepDirs) => Promise<void>) => {
        const key = nextKey(keyOf);
        const t0 = performance.now();
        const hit = cacheGet(key);
        let entry: CacheEntry;
        if (hit) {
          entry = hit;
          cached++;
          stepEnd("--> CACHED");
        } else {
          const d = stepDirs(o.store);
          live.push(d);
          try {
            mountStep(d, lowersOf(state.layers), i.keyword === "RUN");
            await work(d);
            unmountStep(d);
            let layer: Layer | undefined;
            if (!isEmptyDiff(d.upper)) {
              layer = await writeLayer(o.store, d.upper);
              keepLayerDir(o.store, d.upper, layer.diffId);
            }
            rmSync(d.dir, { recursive: true, force: true });
            entry = { ...(layer ? { layer } : {}), created: new Date().toISOString() };
            cachePut(key, entry);
          } catch (e) {
            removeStep(d);
            if (open) stepEnd("--> failed");
            throw e;
          } finally {
            live.splice(live.indexOf(d), 1);
          }
          ran++;
          stepEnd(`--> ${((performance.now() - t0) / 1000).toFixed(2)}s${entry.layer ? ` ${entry.layer.diffId.slice(7, 19)}` : ""}`);
        }
        if (entry.layer) state.layers.push(entry.layer);
        history(createdBy, !entry.layer, entry.created);
        state.key = key;
        state.created = entry.created;
      };
      /** A config-only step: it changes the key and the history, nothing on disk. */
      const metaStep = (createdBy: string, keyOf: unknown) => {
        const key = nextKey(keyOf);
        const hit = cacheGet(key);
        const entry = hit ?? { created: new Date().toISOString() };
        if (!hit) cachePut(key, entry);
        history(createdBy, true, entry.created);
        state.key = key;
        state.created = entry.created;
      };
      const cmdLine = (i: Instruction, what: string): string[] => {
        if (i.json) return i.json;
        if (!i.args) fail(i, `needs ${what}`);
        return [...shell(), i.args];
      };
      const readPasswd = (d: StepDirs) => {
        const t = new Tree(d.rootfs, "the image");
        try {
          return { passwd: t.read("etc/passwd")?.toString() ?? "", group: t.read("etc/group")?.toString() ?? "" };
        } finally {
          t.close();
        }
      };
      const absolute = (p: string) => posix.resolve("/", cfg.WorkingDir || "/", p);

      const exec = async (i: Instruction, fromTrigger: boolean) => {
        try {
          await instruction(i, fromTrigger);
        } catch (e) {
          if (e instanceof BuildError) throw e;
          if (e instanceof WordError || e instanceof CopyError || e instanceof ImageError || e instanceof DockerfileError) fail(i, e.message);
          throw e;
        }
      };
      const instruction = async (i: Instruction, fromTrigger: boolean) => {
        if (!fromTrigger) {
          stepNo++;
          const flags = i.flags.map((f) => `--${f.name}${f.value !== undefined ? "=" + f.value : ""} `).join("");
          const fsKind = ["RUN", "COPY", "ADD", "WORKDIR"].includes(i.keyword);
          stepLine(`STEP ${stepNo}/${total}: ${i.keyword} ${flags}${i.args}`, fsKind && i.keyword !== "RUN");
        }
        const text = `${i.keyword} ${i.args}`;
        switch (i.keyword) {
          case "ARG": {
            const list = splitAssignments(i.args, esc, false);
            if (!list.length) fail(i, "needs a NAME[=default]");
            for (const a of list) {
              if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(a.name)) fail(i, `invalid argument name ${JSON.stringify(a.name)}`);
              let v: string | undefined;
              if (o.buildArgs.has(a.name)) {
                v = o.buildArgs.get(a.name);
                used.add(a.name);
              } else if (a.value !== undefined) v = expandWord(a.value, vars, esc);
              else if (globalArgs.has(a.name)) v = globalArgs.get(a.name);
              else if (a.name === "TARGETOS" || a.name === "BUILDOS") v = "linux";
              else if (a.name === "TARGETARCH" || a.name === "BUILDARCH") v = hostPlatform().architecture;
              else if (a.name === "TARGETPLATFORM" || a.name === "BUILDPLATFORM") v = `linux/${hostPlatform().architecture}`;
              state.args.set(a.name, v);
            }
            // an ARG changes the key (its value does, where a RUN uses it), not the image
            state.key = nextKey(["ARG", [...state.args]]);
            return;
          }
          case "ENV": {
            const list = splitAssignments(i.args, esc);
            if (!list.length || list.some((a) => a.value === undefined)) fail(i, "needs NAME=VALUE (or NAME VALUE)");
            const shownPairs: string[] = [];
            for (const a of list) {
              const v = expandWord(a.value!, vars, esc);
              setEnv(a.name, v);
              shownPairs.push(`${a.name}=${v}`);
            }
            return metaStep(`ENV ${shownPairs.join(" ")}`, ["ENV", cfg.Env]);
          }
          case "LABEL": {
            const list = splitAssignments(i.args, esc, true);
            if (!list.length || list.some((a) => a.value === undefined)) fail(i, "needs KEY=VALUE");
            cfg.Labels ??= {};
            for (const a of list) cfg.Labels[expandWord(a.name, vars, esc)] = expandWord(a.value!, vars, esc);
            return metaStep(text, ["LABEL", cfg.Labels]);
          }
          case "MAINTAINER":
            state.author = i.args;
            return metaStep(text, ["MAINTAINER", i.args]);
          case "EXPOSE": {
            const ports = expandWords(i.args, vars, esc);
            if (!ports.length) fail(i, "needs a port");
            cfg.ExposedPorts ??= {};
            for (const p of ports) {
              const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
              if (!m || Number(m[1]) > 65535 || Number(m[2] ?? m[1]) > 65535 || Number(m[2] ?? m[1]) < Number(m[1])) fail(i, `invalid port ${JSON.stringify(p)} (PORT[-PORT][/tcp|udp|sctp])`);
              for (let n = Number(m![1]); n <= Number(m![2] ?? m![1]); n++) cfg.ExposedPorts[`${n}/${(m![3] ?? "tcp").toLowerCase()}`] = {};
            }
            return metaStep(`EXPOSE ${ports.join(" ")}`, ["EXPOSE", cfg.ExposedPorts]);
          }
          case "VOLUME": {
            const paths = (i.json ?? expandWords(i.args, vars, esc)).map((p) => expandWord(p, vars, esc));
            if (!paths.length || paths.some((p) => !p)) fail(i, "needs a path");
            cfg.Volumes ??= {};
            for (const p of paths) cfg.Volumes[p] = {};
            return metaStep(`VOLUME ${JSON.stringify(paths)}`, ["VOLUME", cfg.Volumes]);
          }
          case "USER": {
            const u = expandWord(i.args, vars, esc);
            if (!u || /\s/.test(u)) fail(i, "needs one USER[:GROUP]");
            cfg.User = u;
            return metaStep(`USER ${u}`, ["USER", u]);
          }
          case "STOPSIGNAL": {
            const sig = expandWord(i.args, vars, esc);
            if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(sig)) fail(i, `invalid signal ${JSON.stringify(sig)}`);
            cfg.StopSignal = sig;
            return metaStep(`STOPSIGNAL ${sig}`, ["STOPSIGNAL", sig]);
          }
          case "SHELL":
            if (!i.json || !i.json.length) fail(i, 'needs the JSON form: SHELL ["executable", "parameters"]');
            cfg.Shell = i.json;
            return metaStep(`SHELL ${JSON.stringify(i.json)}`, ["SHELL", i.json]);
          case "CMD":
          case "ENTRYPOINT": {
            const argv = i.json ?? (i.args ? [...shell(), i.args] : []);
            if (i.keyword === "CMD") {
              cfg.Cmd = argv;
              cmdSetHere = true;
            } else {
              cfg.Entrypoint = argv;
              // Docker: an ENTRYPOINT drops the CMD inherited from the base (not one set in this stage)
              if (!cmdSetHere) cfg.Cmd = null;
            }
            return metaStep(`${i.keyword} ${JSON.stringify(argv)}`, [i.keyword, argv, cfg.Cmd]);
          }
          case "HEALTHCHECK": {
            const words = i.args.trim().split(/\s+/);
            const sub = words[0]?.toUpperCase();
            if (sub === "NONE") {
              if (words.length > 1 || i.flags.length) fail(i, "NONE takes no arguments or flags");
              cfg.Healthcheck = { Test: ["NONE"] };
            } else if (sub === "CMD") {
              const rest = i.args.trim().slice(3).trim();
              if (!rest) fail(i, "CMD needs a command");
              const json = execForm(rest);
              const hc: any = { Test: json ? ["CMD", ...json] : ["CMD-SHELL", rest] };
              for (const f of i.flags) {
                if (f.value === undefined) fail(i, `--${f.name} needs a value`);
                const key = { interval: "Interval", timeout: "Timeout", "start-period": "StartPeriod", "start-interval": "StartInterval", retries: "Retries" }[f.name]!;
                if (f.name === "retries") {
                  if (!/^\d+$/.test(f.value!)) fail(i, `--retries=${f.value}: a whole number`);
                  hc.Retries = Number(f.value);
                } else hc[key] = parseDuration(f.value!, `--${f.name}`);
              }
              cfg.Healthcheck = hc;
            } else fail(i, "needs NONE or CMD command");
            return metaStep(`HEALTHCHECK ${JSON.stringify(cfg.Healthcheck)}`, ["HEALTHCHECK", cfg.Healthcheck]);
          }
          case "ONBUILD":
            cfg.OnBuild = [...(cfg.OnBuild ?? []), i.trigger!];
            return metaStep(text, ["ONBUILD", cfg.OnBuild]);
          case "WORKDIR": {
            const p = expandWord(i.args, vars, esc);
            if (!p) fail(i, "needs a path");
            const dir = absolute(p);
            cfg.WorkingDir = dir;
            return fsStep(i, `WORKDIR ${dir}`, ["WORKDIR", dir], async (d) => {
              const t = new Tree(d.rootfs, "the image");
              try {
                closeSync(mkdirAll(t, dir, { uid: 0, gid: 0 }));
              } finally {
                t.close();
              }
            });
          }
          case "RUN": {
            let argv: string[];
            if (i.heredocs.length) {
              const first = i.heredocs[0]!;
              // RUN <<EOF alone: the body is the script; otherwise the shell reads the heredocs itself
              if (/^<<-?["']?[A-Za-z0-9_]+["']?$/.test(i.args.trim()) && i.heredocs.length === 1) argv = [...shell(), first.content];
              else argv = [...shell(), `${i.args}\n${i.heredocs.map((h) => `${h.content}${h.name}\n`).join("")}`];
            } else argv = cmdLine(i, "a command");
            const netFlag = i.flags.find((f) => f.name === "network")?.value;
            if (netFlag !== undefined && !["none", "host", "default"].includes(netFlag)) fail(i, `--network=${netFlag}: none, host or default`);
            const network = netFlag === "none" || netFlag === "host" ? netFlag : o.network;
            const envNow = runEnv();
            const shownArgs = [...state.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
            const createdBy = `RUN ${shownArgs.length ? `|${shownArgs.length} ${shownArgs.join(" ")} ` : ""}${argv.join(" ")}`;
            return fsStep(i, createdBy, ["RUN", argv, envNow, cfg.User ?? "", cfg.WorkingDir ?? "", network], async (d) => {
              const fd = out ?? openSync("/dev/null", "w");
              try {
                const code = await runInStep(o.store, d, { argv, env: envNow, user: cfg.User || undefined, workdir: cfg.WorkingDir || undefined, network, cgroupParent: o.cgroupParent, stdout: fd, stderr: fd }, o.runtimeRoot, o.warn);
                if (code !== 0) fail(i, `${JSON.stringify(argv.slice(shell().length && !i.json ? shell().length : 0).join(" "))} exited with status ${code}`);
              } finally {
                if (out === undefined) closeSync(fd);
              }
            });
          }
          case "COPY":
          case "ADD":
            return copyStep(i);
          default:
            fail(i, "not supported");
        }
      };

      const copyStep = async (i: Instruction) => {
        const flag = (n: string) => {
          const f = i.flags.find((x) => x.name === n);
          return f === undefined ? undefined : expandWord(f.value ?? "", vars, esc);
        };
        const words = i.json ? i.json.map((w) => expandWord(w, vars, esc)) : expandWords(i.args, vars, esc);
        if (words.length < 2) fail(i, "needs a source and a destination");
        const destWord = words[words.length - 1]!;
        const srcWords = words.slice(0, -1);
        const chmodFlag = flag("chmod");
        if (chmodFlag !== undefined && !/^[0-7]{3,4}$/.test(chmodFlag)) fail(i, `--chmod=${chmodFlag}: an octal mode like 755`);
        const chmod = chmodFlag !== undefined ? parseInt(chmodFlag, 8) : undefined;
        const chownFlag = flag("chown");
        const fromFlag = i.keyword === "COPY" ? flag("from") : undefined;
        const destIsDir = destWord.endsWith("/") || destWord === ".";
        const dest = absolute(destWord);
        // the sources: heredocs (files written from the Dockerfile), the context, a stage or an image
        let from: { tree: Tree; done: () => void } | undefined;
        const urls: string[] = [];
        const temps: string[] = [];
        const trees: Tree[] = [];
        try {
          let sources: Source[] = [];
          let srcTree: Tree = ctx;
          let srcKeep: Keep = keep;
          if (fromFlag !== undefined) {
            const st = byName(fromFlag);
            const r = st ? results.get(st.index) : await imageBase(fromFlag, i);
            if (!r) fail(i, `--from=${fromFlag}: stage not built`);
            from = openResult(r!);
            srcTree = from.tree;
            srcKeep = () => true;
          }
          const heredocNames = new Set(i.heredocs.map((h) => h.name));
          const plainWords = srcWords.filter((w) => !(/^<<-?["']?[A-Za-z0-9_]+["']?$/.test(w) && heredocNames.has(w.replace(/^<<-?["']?|["']?$/g, ""))));
          if (i.heredocs.length) {
            // heredoc files go into a small tree of their own
            const dir = o.store.tmpPath("heredoc");
            mkdirSync(dir, { mode: 0o700 });
            temps.push(dir);
            for (const h of i.heredocs) writeFileSync(join(dir, h.name), h.expand ? expandHeredoc(h.content, vars, esc) : h.content, { mode: 0o644 });
            const tree = new Tree(dir, "the heredocs");
            trees.push(tree);
            for (const h of i.heredocs) sources.push({ tree, rel: h.name });
          }
          if (i.keyword === "ADD") for (const w of plainWords) if (/^https?:\/\//.test(w)) urls.push(w);
          const local = plainWords.filter((w) => !urls.includes(w));
          if (local.length) sources.unshift(...matchSources(srcTree, local, srcKeep, fromFlag !== undefined ? `--from=${fromFlag}` : CONTEXT));
          // ADD URL: fetched now (its content is part of the key), kept as a file of its own tree
          if (urls.length) {
            const dir = o.store.tmpPath("add");
            mkdirSync(dir, { mode: 0o700 });
            temps.push(dir);
            const tree = new Tree(dir, "the downloads");
            trees.push(tree);
            const checksum = flag("checksum");
            for (const [n, u] of urls.entries()) {
              let res: Response;
              try {
                res = await fetch(u);
              } catch (e: any) {
                fail(i, `${u}: ${e.message}`);
              }
              if (!res!.ok) fail(i, `${u}: ${res!.status} ${res!.statusText}`);
              const body = new Uint8Array(await res!.arrayBuffer());
              if (checksum !== undefined && sha256(body) !== checksum) fail(i, `${u}: --checksum=${checksum} does not match the content (${sha256(body)})`);
              const name = posix.basename(new URL(u).pathname) || `download${n}`;
              mkdirSync(join(dir, String(n)));
              writeFileSync(join(dir, String(n), name), body, { mode: 0o600 });
              const lm = res!.headers.get("last-modified");
              if (lm) utimesSync(join(dir, String(n), name), new Date(lm), new Date(lm));
              sources.push({ tree, rel: `${n}/${name}` });
            }
          }
          if ((sources.length > 1 || srcWords.some(hasWildcard)) && !destWord.endsWith("/"))
            fail(i, `with more than one source file, the destination must be a directory and end with a / (${destWord})`);
          const contentKey = hashSources(sources, srcKeep);
          // ADD unpacks a local archive (not one it downloaded, not a directory)
          const archiveOf = (s: Source) => (i.keyword === "ADD" && s.tree === srcTree && !s.tree.stat(s.rel)?.isDirectory() ? archiveKind(s) : undefined);
          const shownSrc = plainWords.join(" ") + (i.heredocs.length ? ` ${i.heredocs.map((h) => `<<${h.name}`).join(" ")}` : "");
          const createdBy = `${i.keyword} ${[chownFlag !== undefined ? `--chown=${chownFlag}` : "", chmodFlag !== undefined ? `--chmod=${chmodFlag}` : "", fromFlag !== undefined ? `--from=${fromFlag}` : ""].filter(Boolean).join(" ")}${chownFlag || chmodFlag || fromFlag ? " " : ""}${shownSrc} ${dest}`;
          await fsStep(i, createdBy, [i.keyword, contentKey, dest, destIsDir, chownFlag ?? "", chmod ?? -1, fromFlag ?? ""], async (d) => {
            const t = new Tree(d.rootfs, "the image");
            try {
              const ids = chownFlag !== undefined ? readPasswd(d) : undefined;
              const owner = ids ? resolveChown(chownFlag!, ids.passwd, ids.group) : { uid: 0, gid: 0 };
              for (const s of sources) {
                const isDir = s.tree.stat(s.rel)?.isDirectory();
                const kind = archiveOf(s);
                const destStat = t.stat(dest);
                const intoDir = isDir || kind !== undefined || destIsDir || !!destStat?.isDirectory();
                const dirFd = mkdirAll(t, intoDir ? dest : posix.dirname(dest), owner);
                try {
                  if (kind !== undefined) await unpackArchive(s, kind, dirFd);
                  else copySource(s, dirFd, intoDir ? undefined : posix.basename(dest), { owner, chmod, keep: s.tree === ctx ? keep : () => true });
                } finally {
                  closeSync(dirFd);
                }
              }
            } finally {
              t.close();
            }
          });
        } finally {
          for (const t of trees) t.close();
          from?.done();
          for (const d of temps) rmSync(d, { recursive: true, force: true });
        }
      };

      // ONBUILD triggers of the base run first, as if written right after FROM
      if (triggers.length && !(fromStage && fromStage.index < s.index)) {
        for (const t of triggers) {
          const parsed = parseDockerfile(`FROM scratch\n${t}\n`, `${fromRef} (ONBUILD)`).instructions[1]!;
          say(`  ONBUILD ${t}`);
          await exec({ ...parsed, line: s.from.line }, true);
        }
      }
      for (const i of s.body) await exec(i, false);
      const config: any = {
        created: state.created || new Date().toISOString(),
        ...(state.author ? { author: state.author } : {}),
        architecture: base.config.architecture ?? hostPlatform().architecture,
        os: base.config.os ?? "linux",
        ...(base.config.variant ? { variant: base.config.variant } : {}),
        config: cfg,
        rootfs: { type: "layers", diff_ids: state.layers.map((l) => l.diffId) },
        history: state.history,
      };
      if (!cfg.OnBuild?.length) delete cfg.OnBuild;
      if (s === target) for (const [k, v] of Object.entries(o.labels)) (cfg.Labels ??= {})[k] = v;
      results.set(s.index, { layers: state.layers, config, key: state.key, created: state.created });
    }
  } finally {
    for (const d of live.splice(0)) removeStep(d);
    ctx.close();
  }

  for (const k of o.buildArgs.keys()) if (!used.has(k) && !PROXY_ARGS.includes(k)) o.warn(`build argument ${k} was not consumed by any ARG of ${shown}`);

  // the image: its config, a manifest, the record
  const r = results.get(target.index)!;
  const configBytes = new TextEncoder().encode(JSON.stringify(r.config));
  const cfgDigest = await o.store.writeBlob(configBytes);
  const layers = r.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size }));
  const man = await writeManifest(o.store, { digest: cfgDigest, size: configBytes.length }, layers);
  const names = o.tags.map((t) => normalizeName(t));
  const rec = await registerImage(
    o.store,
    { manifestDigest: man.digest, manifestMediaType: MEDIA.ociManifest, manifest: man.manifest, config: r.config, configDigest: cfgDigest, layers },
    names,
  );
  return { id: rec.id, names, ran, cached };
}

/** A heredoc body with the build's variables expanded (quotes are the body's own, kept). */
function expandHeredoc(body: string, vars: Vars, esc: string): string {
  return body.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-+?][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g, (m) => expandWord(m, vars, esc));
}

type ArchiveKind = "tar" | "gzip" | "zstd" | "bzip2" | "xz";

/** What ADD unpacks: a local tar, plain or compressed (told by its first bytes, as Docker does). */
function archiveKind(s: Source): ArchiveKind | undefined {
  const fd = s.tree.open(s.rel, 0);
  if (fd < 0) return undefined;
  try {
    const h = Buffer.alloc(512);
    const n = readSync(fd, h, 0, 512, 0);
    if (n >= 2 && h[0] === 0x1f && h[1] === 0x8b) return "gzip";
    if (n >= 4 && h.readUInt32BE(0) === 0x28b52ffd) return "zstd";
    if (n >= 3 && h.toString("latin1", 0, 3) === "BZh") return "bzip2";
    if (n >= 6 && h.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
    if (n === 512 && h.toString("latin1", 257, 262) === "ustar") return "tar";
    return undefined;
  } finally {
    closeSync(fd);
  }
}

async function unpackArchive(s: Source, kind: ArchiveKind, dirFd: number): Promise<void> {
  if (kind === "bzip2" || kind === "xz") throw new CopyError(`${s.rel}: a ${kind} archive: ADD unpacks plain, gzip and zstd tars here`);
  const fd = s.tree.open(s.rel, 0);
  try {
    const { unpackLayer } = await import("../images/unpack.ts");
    await unpackLayer(`/proc/self/fd/${fd}`, dirFd);
  } catch (e: any) {
    throw new CopyError(`${s.rel}: ${e.message}`);
  } finally {
    closeSync(fd);
  }
}
