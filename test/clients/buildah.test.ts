// `runjs image build` beside `buildah bud` (Debian's buildah): the same Dockerfiles, the same
// base image, and the results compared — root filesystems file by file (type, mode, owner,
// content, link target) and configs field by field. Every difference is listed here with its
// reason; a new one fails the test.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { differences, imageTree } from "./rootfs-compare.ts";
import { buildImage, IMAGE, REPO, WORK as HARNESS_WORK } from "./harness.ts";

const RUNJS = join(REPO, "bin/runjs");
const WORK = mkdtempSync("/tmp/runjs-buildah-");
const STORE = join(WORK, "store");
const THEIRS = join(WORK, "store-buildah"); // buildah's images, loaded into a runjs store to be walked alike
const BUILDAH = ["/usr/bin/buildah", "--root", join(WORK, "broot"), "--runroot", join(WORK, "brun"), "--storage-driver", "vfs"];

// buildah with its defaults: nothing of the client suite's Podman configuration (which sets
// CONTAINERS_CONF in this process's environment for every podman call) applies here
const { CONTAINERS_CONF: _conf, CONTAINERS_REGISTRIES_CONF: _reg, CONTAINERS_STORAGE_CONF: _st, ...ENV } = process.env;

function run(argv: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync(argv, { env: { ...ENV, ...env } });
  return { code: r.exitCode ?? 128, out: r.stdout.toString(), err: r.stderr.toString() };
}
const runjs = (...a: string[]) => run([RUNJS, "--root", join(WORK, "rt"), ...a], { RUNJS_STORAGE: STORE });

beforeAll(() => {
  const archive = buildImage();
  expect(runjs("image", "load", "-i", archive).code).toBe(0);
  const p = run([...BUILDAH, "pull", "-q", `docker-archive:${archive}`]);
  if (p.code !== 0) throw new Error(p.err);
});
afterAll(() => {
  run([...BUILDAH, "rm", "--all"]);
  Bun.spawnSync(["sh", "-c", `grep -o " ${WORK}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  rmSync(WORK, { recursive: true, force: true });
  rmSync(HARNESS_WORK, { recursive: true, force: true }); // where buildImage made the base image
});

/** JSON with object keys in order, so that {a,b} and {b,a} compare equal. */
const canon = (v: unknown): string => JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));

/** A field written with its zero value ("", false, [], {}) says what its absence says. */
const zero = (v: unknown) => v === undefined || v === null || v === "" || v === false || (typeof v === "object" && Object.keys(v as object).length === 0);

function compare(name: string, dockerfile: string, files: Record<string, string>, args: string[] = []) {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  const ours = runjs("image", "build", "--network", "none", "--cgroup-parent", "/runjs-clients", "-q", "-t", `runjs-test/${name}:ours`, ...args, dir);
  expect(ours.err).toBe("");
  expect(ours.code).toBe(0);
  const b = run([...BUILDAH, "bud", "--format", "docker", "--network", "none", "-q", "-t", `localhost/${name}:buildah`, ...args, dir]);
  expect(b.code).toBe(0);
  const archive = join(WORK, `${name}-buildah.tar`);
  expect(run([...BUILDAH, "push", `localhost/${name}:buildah`, `docker-archive:${archive}:localhost/${name}:buildah`]).code).toBe(0);
  expect(run([RUNJS, "image", "load", "-i", archive, "--storage", THEIRS]).code).toBe(0);
  const a = JSON.parse(runjs("image", "inspect", `runjs-test/${name}:ours`).out);
  const t = JSON.parse(run([RUNJS, "image", "inspect", "--storage", THEIRS, `localhost/${name}:buildah`]).out);
  const files_ = differences(imageTree(STORE, a), imageTree(THEIRS, t));
  const fields: string[] = [];
  const ca = a.config.config ?? {};
  const cb = { ...t.config.config };
  // buildah records its build container's host name in the image (Docker's builder does too); runjs does not
  delete cb.Hostname;
  for (const k of [...new Set([...Object.keys(ca), ...Object.keys(cb)])].sort())
    if (!(zero(ca[k]) && zero(cb[k])) && canon(ca[k]) !== canon(cb[k])) fields.push(`config.${k}: ${canon(ca[k])} → ${canon(cb[k])}`);
  for (const k of ["architecture", "os", "author"]) if (canon(a.config[k]) !== canon(t.config[k])) fields.push(`${k}: ${canon(a.config[k])} → ${canon(t.config[k])}`);
  return { files: files_, fields };
}

// buildah's own: the mount points its RUN steps leave in the image (an empty /etc/hostname
// of mode 700, /run), which runjs keeps out of the layers by giving the step's container its
// mount points in a scaffold layer; and the label with its version.
const BUILDAH_RUN_LEFTOVERS = ["/etc/hostname: (none) → file 700 0:0 e3b0c44298fc1c14", "/run: (none) → dir 755 0:0"];
const buildahLabel = (labels?: Record<string, string>) => `config.Labels: ${canon(labels)} → ${canon({ ...labels, "io.buildah.version": "1.28.2" })}`;

describe("image build beside buildah bud", () => {
  test("a static website", () => {
    const r = compare("site", `FROM ${IMAGE}\nCOPY www/ /var/www/\nEXPOSE 80\nCMD ["httpd", "-f", "-p", "80", "-h", "/var/www"]\n`, {
      "www/index.html": "<h1>site</h1>\n",
      "www/css/site.css": "body{}\n",
    });
    expect(r.files).toEqual([]);
    expect(r.fields).toEqual([buildahLabel()]);
  });

  test("a multi-stage build", () => {
    const r = compare(
      "multi",
      `FROM ${IMAGE} AS build\nRUN mkdir /out && echo built > /out/app && chmod 750 /out/app && ln -s app /out/app-link\n` +
        `FROM ${IMAGE}\nCOPY --from=build /out/ /opt/\nRUN rm /bin/vi && mkdir -p /var/empty && touch /var/empty/.keep\nCMD ["/opt/app"]\n`,
      {},
    );
    expect(r.files).toEqual(BUILDAH_RUN_LEFTOVERS);
    expect(r.fields).toEqual([buildahLabel()]);
  });

  test("most instructions (heredocs aside: buildah 1.28 does not read them)", () => {
    const r = compare(
      "many",
      `ARG BASE=${IMAGE}\nFROM \${BASE}\nLABEL title="many instructions" version=2\nENV APP=/app MODE=\nARG LEVEL=1\nWORKDIR $APP\n` +
        "COPY --chown=1000:1000 --chmod=640 conf/*.conf ./conf/\nCOPY conf/ ./all/\nADD pkg.tar /opt/\n" +
        'RUN echo "$LEVEL" > /level && rm -f /bin/ls\nSHELL ["/bin/sh", "-ec"]\nRUN echo ok > /shell\nUSER user\nVOLUME /data\n' +
        "EXPOSE 8080/tcp 53/udp\nSTOPSIGNAL SIGINT\nHEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1\n" +
        'ONBUILD RUN echo child\nENTRYPOINT ["/bin/sh", "-c"]\nCMD ["echo hi"]\n',
      { "conf/a.conf": "a\n", "conf/b.conf": "b\n", "conf/notes.txt": "n\n", ".dockerignore": "*.key\n", "conf/x.key": "secret\n" },
      ["--build-arg", "LEVEL=3"],
    );
    expect(r.files).toEqual(BUILDAH_RUN_LEFTOVERS);
    expect(r.fields).toEqual([buildahLabel({ title: "many instructions", version: "2" })]);
  });
});

// the tar ADD unpacks, made before the tests run
const pkg = join(WORK, "pkg-src");
mkdirSync(join(pkg, "pkg"), { recursive: true });
writeFileSync(join(pkg, "pkg/inside"), "from the tar\n");
mkdirSync(join(WORK, "many"), { recursive: true });
Bun.spawnSync(["tar", "--owner=0", "--group=0", "-cf", join(WORK, "many/pkg.tar"), "-C", pkg, "pkg"]);
