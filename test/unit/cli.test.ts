// The command line: the flag parser, and help pages generated from the same tables the parser
// reads (so every flag a command takes is on its page). Runs the built bin/runjs; no root.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Logger } from "../../src/cli/log.ts";
import { parseArgs, type FlagSpec } from "../../src/cli/args.ts";
import { UsageError } from "../../src/errors.ts";

const RUNJS = join(import.meta.dir, "../../bin/runjs");
const sh = (...a: string[]) => {
  const r = Bun.spawnSync([RUNJS, ...a], { env: { ...process.env, RUNJS_STORAGE: "/nonexistent-store" } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};

describe("parseArgs", () => {
  const spec: FlagSpec = {
    bundle: { short: "b", value: true, help: "", def: "." },
    detach: { short: "d", help: "" },
    tty: { short: "t", help: "" },
    env: { short: "e", multi: true, help: "" },
  };
  test("long, long=value, runc's single-dash long form, short, short with value", () => {
    expect(parseArgs(["--bundle", "/b", "x"], spec, false)).toEqual({ flags: { bundle: "/b" }, rest: ["x"] });
    expect(parseArgs(["--bundle=/b"], spec, false).flags.bundle).toBe("/b");
    expect(parseArgs(["-bundle", "/b"], spec, false).flags.bundle).toBe("/b");
    expect(parseArgs(["-b", "/b"], spec, false).flags.bundle).toBe("/b");
    expect(parseArgs([], spec, false).flags.bundle).toBe("."); // the default
  });
  test("grouped switches, repeated values, booleans written out", () => {
    expect(parseArgs(["-dt"], spec, false).flags).toMatchObject({ detach: true, tty: true });
    expect(parseArgs(["-e", "A=1", "--env=B=2"], spec, false).flags.env).toEqual(["A=1", "B=2"]);
    expect(parseArgs(["--detach=false"], spec, false).flags.detach).toBe(false);
  });
  test("flags end at the first argument when asked, and always at --", () => {
    expect(parseArgs(["id", "-d"], spec, true)).toEqual({ flags: { bundle: "." }, rest: ["id", "-d"] });
    expect(parseArgs(["id", "-d"], spec, false).flags.detach).toBe(true);
    expect(parseArgs(["--", "-d"], spec, false).rest).toEqual(["-d"]);
  });
  test("mistakes are usage errors naming the flag", () => {
    expect(() => parseArgs(["--nope"], spec, false)).toThrow(new UsageError("flag provided but not defined: --nope"));
    expect(() => parseArgs(["--bundle"], spec, false)).toThrow("flag needs an argument: --bundle");
    expect(() => parseArgs(["-x"], spec, false)).toThrow(UsageError);
  });
});

describe("help pages", () => {
  const verbs = (page: string) => [...page.split("\nCOMMANDS:\n")[1]!.split("\n\n")[0]!.matchAll(/^ {3}(\S+)/gm)].map((m) => m[1]!.replace(/,$/, ""));
  const flags = (page: string) => [...page.matchAll(/^ {3}--([a-z-]+)/gm)].map((m) => m[1]!);

  test("runjs --help lists every command, and each command's page lists the flags it accepts", () => {
    const main = sh("--help");
    expect(main.code).toBe(0);
    for (const v of verbs(main.out).filter((v) => v !== "help")) {
      const page = sh(v, "--help");
      expect(page.code).toBe(0);
      expect(page.out).toContain(`NAME:\n   runjs ${v} - `);
      for (const f of flags(page.out).filter((f) => f !== "help")) {
        // a flag on the page is one the parser takes: it is not "not defined"
        expect(sh(v, `--${f}=x`, "--help").err).not.toContain("flag provided but not defined");
      }
    }
    expect(main.out).not.toContain("not supported yet: rootless"); // --rootless is accepted (auto)
  });

  test("the front end's pages: every container, image, network and volume command, with its options", () => {
    for (const [group, expected] of [
      ["container", ["run", "ls", "logs", "exec", "stop", "kill", "start", "restart", "rm", "prune", "top", "stats", "inspect", "port", "attach"]],
      ["image", ["import", "pull", "ls", "inspect", "rm", "tag", "prune", "save", "load", "history", "push", "login", "logout", "build"]],
      ["network", ["create", "ls", "inspect", "rm"]],
      ["volume", ["create", "ls", "inspect", "rm", "prune"]],
    ] as const) {
      const page = sh(group, "--help");
      expect(page.code).toBe(0);
      expect(verbs(page.out).sort()).toEqual([...expected].sort());
      for (const v of expected) {
        const p = sh(group, v, "--help");
        expect(p.code).toBe(0);
        expect(p.out).toContain(`NAME:\n   runjs ${group} ${v} - `);
        expect(sh(group, "help", v).out).toBe(p.out);
      }
    }
    expect(sh("container", "run", "--help").out).toContain("--network value");
    const unknown = sh("container", "frob");
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain("No help topic for 'frob'");
  });
});

describe("log lines", () => {
  const logTo = (format: string) => {
    const dir = mkdtempSync("/tmp/runjs-log-");
    const file = join(dir, "log");
    const l = new Logger();
    l.configure(file, format, false);
    l.error("mounts[7] (/mnt): remount /mnt: denied", { step: "mounts[7] (/mnt)", op: "remount", path: "/mnt", errno: 1 });
    try {
      return readFileSync(file, "utf8");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("json: an error's fields beside msg, for callers to read instead of the message", () => {
    const line = JSON.parse(logTo("json"));
    expect(line).toMatchObject({ level: "error", msg: "mounts[7] (/mnt): remount /mnt: denied", step: "mounts[7] (/mnt)", op: "remount", path: "/mnt", errno: 1 });
  });

  test("text: the fields follow msg as logrus writes them", () => {
    expect(logTo("text")).toMatch(/^time="[^"]+" level=error msg="mounts\[7\] \(\/mnt\): remount \/mnt: denied" step="mounts\[7\] \(\/mnt\)" op="remount" path="\/mnt" errno=1\n$/);
  });
});

// runjs runs in its caller's directory (a bundle's): nothing there may set its environment
// or options. Bun's executables read .env and bunfig.toml from the working directory unless
// built not to (scripts/build.sh).
test("a .env or bunfig.toml in the working directory is not read", () => {
  const dir = mkdtempSync("/tmp/runjs-dotenv-");
  try {
    const real = join(dir, "store"), planted = join(dir, "planted");
    Bun.write(join(dir, ".env"), `RUNJS_STORAGE=${planted}\n`);
    Bun.write(join(dir, "bunfig.toml"), `preload = ["${join(dir, "preload.ts")}"]\n`);
    Bun.write(join(dir, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(join(dir, "preloaded"))}, "");\n`);
    for (const bin of ["runjs", "containerd-shim-runjs-v2"]) {
      const argv = bin === "runjs" ? ["image", "ls"] : ["-v"];
      const r = Bun.spawnSync([join(RUNJS, "..", bin), ...argv], { cwd: dir, env: { ...process.env, RUNJS_STORAGE: real } });
      expect(r.exitCode).toBe(0);
    }
    expect(existsSync(real)).toBe(true); // (image ls made the store it was told of)
    expect(existsSync(planted)).toBe(false);
    expect(existsSync(join(dir, "preloaded"))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
