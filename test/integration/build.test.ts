// `runjs image build` for real: Dockerfiles built offline from a busybox image made here,
// RUN steps as containers, the results run as containers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENT, RUNJS } from "./helpers.ts";
import { dockerArchive, layerTar, rootfs } from "./image-fixtures.ts";
import { removeNetworkLeftovers } from "../netclean.ts";
import { openPty, Terminal } from "./pty.ts";
import { close } from "../../src/sys/libc.ts";

const WORK = mkdtempSync("/tmp/runjs-build-");
const STORE = join(WORK, "store");
const RT = join(WORK, "runtime");
afterAll(() => {
  removeNetworkLeftovers(); // the site test publishes a port on the bridge network
  for (const c of existsSync(join(STORE, "containers")) ? readdirSync(join(STORE, "containers")) : [])
    Bun.spawnSync(["umount", "-l", join(STORE, "containers", c, "rootfs")]);
  rmSync(WORK, { recursive: true, force: true });
});

/** The same, without blocking this process (a server of the test's must answer meanwhile). */
async function runjsAsync(args: string[]) {
  const p = Bun.spawn([RUNJS, "--root", RT, ...args], { cwd: WORK, env: { ...process.env, RUNJS_STORAGE: STORE }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

function runjs(args: string[], cwd = WORK) {
  const r = Bun.spawnSync([RUNJS, "--root", RT, ...args], { cwd, env: { ...process.env, RUNJS_STORAGE: STORE } });
  return { code: r.exitCode ?? 128, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** image build with the test's cgroup parent and no network (the tests are offline). */
const build = (dir: string, ...args: string[]) => runjs(["image", "build", "--cgroup-parent", CGROUP_PARENT, "--network", "none", ...args, dir]);
const inRun = (image: string, script: string, ...flags: string[]) =>
  runjs(["container", "run", "--rm", "--network", "none", "--cgroup-parent", CGROUP_PARENT, ...flags, "--entrypoint", "sh", image, "-c", script]);
const inspect = (image: string) => JSON.parse(runjs(["image", "inspect", image]).out);

/** A build context: files by relative path, and the Dockerfile. */
function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const d = join(WORK, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "Dockerfile"), dockerfile);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(d, p, ".."), { recursive: true });
    writeFileSync(join(d, p), c);
  }
  return d;
}

/** What the store and the host hold that a build may leave behind. */
function leftovers() {
  const list = (p: string) => (existsSync(p) ? readdirSync(p).sort() : []);
  return {
    images: JSON.parse(existsSync(join(STORE, "images.json")) ? readFileSync(join(STORE, "images.json"), "utf8") : "[]").map((r: any) => r.id).sort(),
    layers: list(join(STORE, "layers")),
    blobs: list(join(STORE, "blobs/sha256")),
    tmp: list(join(STORE, "tmp")),
    runtime: list(RT),
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(WORK)),
    cgroups: list(`/sys/fs/cgroup/unified${CGROUP_PARENT}`).filter((n) => n.startsWith("build-")),
  };
}

beforeAll(() => {
  const src = rootfs(join(WORK, "bb-src"));
  const archive = dockerArchive([layerTar(src, join(WORK, "bb.tar"))], "runjs-test/bb:1", join(WORK, "bb-image.tar"), (cfg) => {
    cfg.config = { Env: ["PATH=/bin"], Cmd: ["sh"] };
  });
  const r = runjs(["image", "import", archive]);
  if (r.code !== 0) throw new Error(r.err);
});

describe("image build", () => {
  test("a static website: built, run with -P, served by httpd", async () => {
    const dir = context("site", "FROM runjs-test/bb:1\nCOPY www/ /www/\nEXPOSE 80\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n", {
      "www/index.html": "<h1>built by runjs</h1>\n",
    });
    const b = build(dir, "-t", "runjs-test/site:1");
    expect(b.err).toBe("");
    expect(b.code).toBe(0);
    expect(b.out).toContain("tagged docker.io/runjs-test/site:1");
    const d = runjs(["container", "run", "-d", "--name", "site", "--cgroup-parent", CGROUP_PARENT, "-P", "runjs-test/site:1"]);
    expect(d.err).toBe("");
    try {
      const port = Number(runjs(["container", "port", "site"]).out.trim().split(":").at(-1));
      let body = "";
      for (let i = 0; i < 100 && !body; i++) {
        try {
          body = await (await fetch(`http://127.0.0.1:${port}/index.html`)).text();
        } catch {
          await Bun.sleep(20);
        }
      }
      expect(body).toBe("<h1>built by runjs</h1>\n");
    } finally {
      expect(runjs(["container", "rm", "-f", "site"]).code).toBe(0);
    }
  });

  test("multi-stage: the second stage copies what the first built; --target builds the first", () => {
    const dir = context(
      "multi",
      "FROM runjs-test/bb:1 AS build\nRUN mkdir /out && echo compiled > /out/app && chmod 755 /out/app && echo scratch > /tmp/only-in-build\n" +
        "FROM runjs-test/bb:1\nCOPY --from=build /out/app /usr/bin/app\nCMD [\"/usr/bin/app\"]\n",
    );
    const b = build(dir, "-t", "runjs-test/multi:1");
    expect(b.code).toBe(0);
    const r = inRun("runjs-test/multi:1", "cat /usr/bin/app; stat -c %a /usr/bin/app; ls /tmp/only-in-build 2>&1 || true");
    expect(r.out).toBe("compiled\n755\nls: /tmp/only-in-build: No such file or directory\n");
    const t = build(dir, "-t", "runjs-test/multi:build", "--target", "build");
    expect(t.code).toBe(0);
    expect(inRun("runjs-test/multi:build", "cat /tmp/only-in-build; ls /usr/bin/app 2>&1 || true").out).toBe("scratch\nls: /usr/bin/app: No such file or directory\n");
    // a stage that is not needed is not built: --target build ran one stage
    expect(t.out).not.toContain("COPY --from=build");
  });

  test("every instruction", async () => {
    const served = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("fetched by ADD\n", { headers: { "last-modified": "Wed, 01 Jan 2020 00:00:00 GMT" } }) });
    try {
      const tarSrc = join(WORK, "tarsrc");
      mkdirSync(join(tarSrc, "pkg"), { recursive: true });
      writeFileSync(join(tarSrc, "pkg/inside"), "from the tar\n");
      const dir = context(
        "all",
        `# escape=\\
# syntax=docker/dockerfile:1
ARG BASE=runjs-test/bb:1
FROM \${BASE}
LABEL org.example.title="every instruction" version=1
MAINTAINER runjs tests
ENV APP=/app GREETING="hello there"
ARG MODE=prod
WORKDIR $APP
WORKDIR sub
COPY --chown=user --chmod=640 conf/*.conf /etc/app/
COPY conf/ ./conf-all/
ADD pkg.tar.gz /opt/
ADD http://127.0.0.1:${served.port}/remote.txt /opt/
COPY <<EOT /etc/motd
mode \${MODE}, \${GREETING}
EOT
RUN <<EOF
echo "$MODE" > /mode
rm /bin/suid
EOF
RUN echo continued \\
  line > /continued
SHELL ["/bin/sh", "-ec"]
RUN echo $0 $- > /shell
USER user:1000
VOLUME /data /cache
EXPOSE 8080 53/udp 9000-9001
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1
ONBUILD RUN echo triggered > /tmp/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo default"]
`,
        { "conf/a.conf": "a=1\n", "conf/b.conf": "b=2\n", "conf/readme.md": "docs\n", "conf/secret.key": "hidden\n", ".dockerignore": "**/*.key\n" },
      );
      Bun.spawnSync(["tar", "czf", join(dir, "pkg.tar.gz"), "-C", tarSrc, "pkg"]);
      const b = await runjsAsync(["image", "build", "--cgroup-parent", CGROUP_PARENT, "--network", "none", "-t", "runjs-test/all:1", "--build-arg", "MODE=test", "--build-arg", "NOT_DECLARED=1", "--label", "from.cli=yes", dir]);
      expect(b.code).toBe(0);
      expect(b.err).toContain("# syntax=docker/dockerfile:1 ignored");
      expect(b.err).toContain("build argument NOT_DECLARED was not consumed");
      const c = inspect("runjs-test/all:1").config;
      expect(c.author).toBe("runjs tests");
      expect(c.config).toEqual({
        Env: ["PATH=/bin", "APP=/app", "GREETING=hello there"],
        Cmd: ["echo default"],
        Entrypoint: ["/bin/sh", "-c"],
        WorkingDir: "/app/sub",
        User: "user:1000",
        Labels: { "org.example.title": "every instruction", version: "1", "from.cli": "yes" },
        Shell: ["/bin/sh", "-ec"],
        Volumes: { "/data": {}, "/cache": {} },
        ExposedPorts: { "8080/tcp": {}, "53/udp": {}, "9000/tcp": {}, "9001/tcp": {} },
        StopSignal: "SIGINT",
        Healthcheck: { Test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"], Interval: 5e9, Timeout: 2e9, Retries: 3 },
        OnBuild: ["RUN echo triggered > /tmp/onbuild"],
      });
      expect(c.history.at(-1).created_by).toBe('CMD ["echo default"]');
      expect(inRun("runjs-test/all:1", "id -u; pwd").out).toBe("1000\n/app/sub\n");
      const r = inRun(
        "runjs-test/all:1",
        "stat -c '%n %a %u:%g' /etc/app/a.conf /etc/app/b.conf; ls /etc/app; ls /app/sub/conf-all; cat /opt/pkg/inside /opt/remote.txt; " +
          "stat -c '%a %Y' /opt/remote.txt; cat /etc/motd /mode /continued /shell; ls /bin/suid 2>&1 || true",
        "--user",
        "0",
      );
      expect(r.err).toBe("");
      expect(r.out).toBe(
        "/etc/app/a.conf 640 1000:1000\n/etc/app/b.conf 640 1000:1000\na.conf\nb.conf\na.conf\nb.conf\nreadme.md\n" +
          "from the tar\nfetched by ADD\n600 1577836800\nmode test, hello there\ntest\ncontinued line\n/bin/sh ce\nls: /bin/suid: No such file or directory\n",
      );
      // ONBUILD: the trigger runs in a build FROM this image, and is not inherited
      const child = build(context("child", "FROM runjs-test/all:1\n"), "-t", "runjs-test/child:1");
      expect(child.code).toBe(0);
      expect(inRun("runjs-test/child:1", "cat /tmp/onbuild").out).toBe("triggered\n");
      expect(inspect("runjs-test/child:1").config.config.OnBuild).toBeUndefined();
    } finally {
      served.stop(true);
    }
  });

  test("a cached rebuild runs no RUN and writes no layer; a changed file runs what follows it", () => {
    const dir = context("cache", "FROM runjs-test/bb:1\nRUN echo RAN-$((1+0)) > /first\nCOPY app.txt /app.txt\nRUN echo RAN-$((1+1)) && cat /app.txt > /second\n", { "app.txt": "v1\n" });
    const first = build(dir, "-t", "runjs-test/cache:1");
    expect(first.code).toBe(0);
    expect(first.out).toContain("RAN-2");
    const layers1 = inspect("runjs-test/cache:1").layers.map((l: any) => l.digest);
    const blobsBefore = leftovers().blobs;
    const again = build(dir, "-t", "runjs-test/cache:1");
    expect(again.code).toBe(0);
    expect(again.out).not.toMatch(/RAN-\d/);
    expect(again.out.match(/--> CACHED/g)?.length).toBe(3);
    expect(inspect("runjs-test/cache:1").layers.map((l: any) => l.digest)).toEqual(layers1);
    expect(again.out.trim().split("\n").at(-1)).toBe(first.out.trim().split("\n").at(-1)!);
    expect(leftovers().blobs).toEqual(blobsBefore);
    // a changed file: the first RUN stays cached, the COPY and what follows run again
    writeFileSync(join(dir, "app.txt"), "v2\n");
    const changed = build(dir, "-t", "runjs-test/cache:2");
    expect(changed.out).not.toContain("RAN-1");
    expect(changed.out).toContain("RAN-2");
    expect(inRun("runjs-test/cache:2", "cat /second").out).toBe("v2\n");
    // --no-cache: everything runs
    const nocache = build(dir, "-t", "runjs-test/cache:3", "--no-cache");
    expect(nocache.out).toContain("RAN-2");
    expect(nocache.out).not.toContain("CACHED");
  });

  test("FROM scratch with COPY --from an image; proxy arguments; --platform; ENTRYPOINT drops the base's CMD; .dockerignore exceptions", () => {
    const s1 = build(context("scratch", 'FROM scratch\nCOPY --from=runjs-test/bb:1 /bin/busybox /bin/busybox\nCMD ["/bin/busybox", "echo", "from scratch"]\n'), "-t", "runjs-test/scratch:1");
    expect(s1.code).toBe(0);
    const r = runjs(["container", "run", "--rm", "--network", "none", "--cgroup-parent", CGROUP_PARENT, "runjs-test/scratch:1"]);
    expect([r.out, r.err]).toEqual(["from scratch\n", ""]);
    expect(inspect("runjs-test/scratch:1").layers.length).toBe(1);
    const p = build(
      context("proxy", 'FROM runjs-test/bb:1\nRUN echo "proxy=$HTTP_PROXY" > /p\nCOPY . /ctx/\nENTRYPOINT ["/bin/busybox"]\n', { "a.md": "a\n", "keep.md": "k\n", "b.txt": "b\n", ".dockerignore": "*.md\n!keep.md\n" }),
      "-t",
      "runjs-test/proxy:1",
      "--build-arg",
      "HTTP_PROXY=http://proxy.example:3128",
    );
    expect([p.code, p.err]).toEqual([0, ""]); // a proxy argument needs no ARG, and is not reported unused
    const img = inspect("runjs-test/proxy:1").config;
    expect(img.config.Entrypoint).toEqual(["/bin/busybox"]);
    expect(img.config.Cmd).toBeNull(); // the base's ["sh"] is dropped, as Docker drops it
    expect(JSON.stringify(img)).not.toContain("proxy.example"); // not in the config, not in the history
    expect(inRun("runjs-test/proxy:1", "cat /p; ls -A /ctx").out).toBe("proxy=http://proxy.example:3128\n.dockerignore\nDockerfile\nb.txt\nkeep.md\n"); // as with Docker, the two files are context like any other
    const arm = build(context("platform", "FROM --platform=linux/arm64 runjs-test/bb:1\n"), "-t", "runjs-test/arm:1");
    expect([arm.code, arm.err]).toEqual([1, "runjs: Dockerfile:1: FROM: --platform=linux/arm64: this builder builds for the host's platform only (linux/amd64)\n"]);
    expect(build(context("platform-ok", "FROM --platform=$BUILDPLATFORM runjs-test/bb:1\n"), "-t", "runjs-test/host:1").code).toBe(0);
  });

  test("on a terminal a step without output of its own is one line with its time", async () => {
    const dir = context("tty", "FROM runjs-test/bb:1\nCOPY a /a\nRUN echo printed\n", { a: "a\n" });
    const [m, s] = openPty();
    const p = Bun.spawn([RUNJS, "--root", RT, "image", "build", "--cgroup-parent", CGROUP_PARENT, "--network", "none", "--no-cache", dir], { stdio: ["ignore", s, s], env: { ...process.env, RUNJS_STORAGE: STORE } });
    close(s);
    const t = new Terminal(m);
    try {
      const seen = t.expect(/sha256:[a-f0-9]{64}/);
      expect(seen).toMatch(/STEP 2\/3: COPY a \/a  \d+\.\d\ds [a-f0-9]{12}\r\n/);
      expect(seen).toMatch(/STEP 3\/3: RUN echo printed\r\nprinted\r\n--> \d+\.\d\ds\r\n/); // no layer: it changed nothing
      expect(await p.exited).toBe(0);
    } finally {
      p.kill("SIGKILL");
      t.close();
    }
  });

  test("-q prints only the image id; a symlink in the image cannot send COPY out of it", () => {
    const dir = context("escape", "FROM runjs-test/bb:1\nRUN ln -s / /hostroot && ln -s /etc /etclink\nCOPY f /etclink/f\nCOPY f /hostroot/tmp/f\n", { f: "inside\n" });
    const b = build(dir, "-q", "-t", "runjs-test/escape:1");
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^sha256:[a-f0-9]{64}\n$/);
    expect(inRun("runjs-test/escape:1", "cat /etc/f /tmp/f").out).toBe("inside\ninside\n");
    expect(existsSync("/etc/f")).toBe(false);
    expect(existsSync("/tmp/f")).toBe(false);
  });

  describe("bad Dockerfiles: a clear error naming the file and line, nothing left behind", () => {
    const cases: [string, string, Record<string, string>, string[], RegExp][] = [
      ["unknown instruction", "FROM runjs-test/bb:1\nRUN true\nFETCH x\n", {}, [], /^runjs: Dockerfile:3: unknown instruction: FETCH\n$/],
      ["missing file in COPY", "FROM runjs-test/bb:1\nRUN echo ran > /x\nCOPY nothere.txt /\n", {}, [], /^runjs: Dockerfile:3: COPY: nothere.txt: no such file or directory in the build context\n$/],
      ["a file .dockerignore excludes", "FROM runjs-test/bb:1\nCOPY secret /\n", { secret: "s\n", ".dockerignore": "secret\n" }, [], /^runjs: Dockerfile:2: COPY: secret: no such file or directory in the build context \(excluded by \.dockerignore\)\n$/],
      ["a failing RUN", "FROM runjs-test/bb:1\nCOPY a /a\nRUN echo partial > /p && exit 3\n", { a: "a\n" }, [], /runjs: Dockerfile:3: RUN: "echo partial > \/p && exit 3" exited with status 3\n$/],
      ["an unknown stage in --from", "FROM runjs-test/bb:1\nCOPY --from=nosuchstage /x /x\n", {}, [], /^runjs: Dockerfile:2: COPY: nosuchstage: not in the store, and pulling it failed: /],
      ["an unknown --target", "FROM runjs-test/bb:1 AS one\nRUN true\n", {}, ["--target", "two"], /^runjs: --target two: no stage of that name in Dockerfile \(stages: one\)\n$/],
      ["a bad escape directive", "# escape=x\nFROM runjs-test/bb:1\n", {}, [], /^runjs: Dockerfile:1: invalid escape directive "x": must be ` or \\\n$/],
      ["an unterminated heredoc", "FROM runjs-test/bb:1\nRUN <<EOF\necho never\n", {}, [], /^runjs: Dockerfile:2: heredoc <<EOF has no closing EOF line\n$/],
      ["an unknown flag", "FROM runjs-test/bb:1\nCOPY --owner=1 a /a\n", { a: "a\n" }, [], /^runjs: Dockerfile:2: COPY: unknown flag --owner\n$/],
      ["a user --chown names that the image lacks", "FROM runjs-test/bb:1\nCOPY --chown=nobody a /a\n", { a: "a\n" }, [], /^runjs: Dockerfile:2: COPY: --chown=nobody: no user "nobody" in the image's \/etc\/passwd\n$/],
    ];
    for (const [what, df, files, args, err] of cases)
      test(what, () => {
        const before = leftovers();
        const dir = context(`bad-${what.replace(/\W+/g, "-")}`, df, files);
        const r = build(dir, "-t", "runjs-test/bad:1", ...args);
        expect(r.err).toMatch(err);
        expect(r.code).toBe(1);
        expect(runjs(["image", "inspect", "runjs-test/bad:1"]).code).not.toBe(0);
        expect(leftovers()).toEqual(before);
      });
  });

  test("the build's layers are ordinary: image save, then load into a fresh store, runs the same", () => {
    const out = join(WORK, "saved.tar");
    expect(runjs(["image", "save", "-o", out, "runjs-test/multi:1"]).code).toBe(0);
    const fresh = join(WORK, "store2");
    const l = Bun.spawnSync([RUNJS, "image", "load", "-i", out, "--storage", fresh]);
    expect(l.exitCode).toBe(0);
    const r = Bun.spawnSync([RUNJS, "--root", RT, "container", "run", "--rm", "--network", "none", "--cgroup-parent", CGROUP_PARENT, "runjs-test/multi:1", "sh", "-c", "cat /usr/bin/app"], {
      env: { ...process.env, RUNJS_STORAGE: fresh },
    });
    expect([r.stdout.toString(), r.stderr.toString()]).toEqual(["compiled\n", ""]);
  });
});
