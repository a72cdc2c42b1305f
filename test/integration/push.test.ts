// Push, login and logout against the real registry (Debian's docker-registry, the CNCF
// distribution server, on 127.0.0.1 with htpasswd basic auth), and what others make of the
// result: runjs pulls it back into an empty store, skopeo reads it with the credentials file
// runjs wrote (Docker's config.json format).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNJS } from "./helpers.ts";
import { dockerArchive, layerTar, rootfs, sha } from "./image-fixtures.ts";
import { type Registry, startRegistry } from "./registry-server.ts";

const SKOPEO = "/usr/bin/skopeo";
const WORK = mkdtempSync("/tmp/runjs-push-");
const DOCKER_CONFIG = join(WORK, "docker-config");
let reg: Registry;
let n = 0;
const store = () => join(WORK, `store-${++n}`);

function runjs(args: string[], stdin?: string) {
  const r = Bun.spawnSync([RUNJS, ...args], { env: { ...process.env, DOCKER_CONFIG }, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin) });
  return { code: r.exitCode ?? 128, out: r.stdout.toString(), err: r.stderr.toString() };
}
const image = (st: string, args: string[]) => runjs(["image", ...args, "--storage", st]);
const inspect = (st: string, name: string) => JSON.parse(image(st, ["inspect", name]).out);

const src = rootfs(join(WORK, "src"));
const small = dockerArchive([layerTar(src, join(WORK, "small.tar"))], "runjs-test/small:1", join(WORK, "small-docker.tar"));
// a layer larger than one upload chunk (8 MiB, --chunk-size): pushed in PATCH chunks
writeFileSync(join(src, "tmp/big"), crypto.getRandomValues(new Uint8Array(65536)).join(",").repeat(40).slice(0, 9 << 20));
const big = dockerArchive([layerTar(src, join(WORK, "big.tar"))], "runjs-test/big:1", join(WORK, "big-docker.tar"));

beforeAll(async () => {
  reg = await startRegistry({ user: "alice", password: "s3cret" });
});
afterAll(async () => {
  await reg?.stop();
  rmSync(WORK, { recursive: true, force: true });
});

describe("login, push, logout", () => {
  test("without credentials a push is refused; a wrong password is refused and saves nothing", () => {
    const st = store();
    expect(image(st, ["import", small]).code).toBe(0);
    const p = image(st, ["push", "--insecure", "runjs-test/small:1", `${reg.host}/team/small:1`]);
    expect(p.code).toBe(1);
    expect(p.err).toContain(`registry ${reg.host} requires a username and password`);
    const l = runjs(["login", "--insecure", "-u", "alice", "--password-stdin", reg.host], "wrong\n");
    expect([l.code, l.err]).toEqual([1, `runjs: login to ${reg.host}: incorrect username or password (401)\n`]);
    expect(existsSync(join(DOCKER_CONFIG, "config.json"))).toBe(false);
  });

  test("login saves Docker's format; push then pull gives back the same image; skopeo reads it with that file", () => {
    const l = runjs(["login", "--insecure", "-u", "alice", "--password-stdin", reg.host], "s3cret\n");
    expect([l.code, l.out]).toEqual([0, "Login Succeeded\n"]);
    const cfg = JSON.parse(readFileSync(join(DOCKER_CONFIG, "config.json"), "utf8"));
    expect(cfg.auths[reg.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));
    const st = store();
    image(st, ["import", small]);
    const img = inspect(st, "runjs-test/small:1");
    const p = image(st, ["push", "--insecure", "runjs-test/small:1", `${reg.host}/team/small:1`]);
    expect([p.code, p.out]).toEqual([0, `${reg.host}/team/small:1 ${img.manifest}\n`]);
    expect(p.err.split("\n").filter(Boolean).sort()).toEqual([`${img.id.slice(7, 19)}: pushed`, `${img.layers[0].digest.slice(7, 19)}: pushed`].sort());
    const back = store();
    expect(image(back, ["pull", "--insecure", `${reg.host}/team/small:1`]).code).toBe(0);
    const got = inspect(back, `${reg.host}/team/small:1`);
    expect([got.id, got.manifest]).toEqual([img.id, img.manifest]);
    const s = Bun.spawnSync([SKOPEO, "inspect", "--tls-verify=false", "--authfile", join(DOCKER_CONFIG, "config.json"), "--config", "--raw", `docker://${reg.host}/team/small:1`]);
    expect(s.stderr.toString()).toBe("");
    expect(`sha256:${sha(s.stdout.toString())}`).toBe(img.id);
    // Podman pulls it too (a private store), with the same image id
    const pod = ["/usr/bin/podman", "--root", join(WORK, "podman"), "--runroot", join(WORK, "podman-run"), "--storage-driver", "vfs", "--events-backend", "none"];
    const { CONTAINERS_CONF: _c, ...env } = process.env; // Podman's defaults, whatever another suite set here
    const pp = Bun.spawnSync([...pod, "pull", "-q", "--tls-verify=false", "--authfile", join(DOCKER_CONFIG, "config.json"), `${reg.host}/team/small:1`], { env });
    expect([pp.exitCode, pp.stderr.toString()]).toEqual([0, ""]);
    expect(pp.stdout.toString().trim()).toBe(img.id.slice(7));
    Bun.spawnSync([...pod, "rmi", "-a", "-f"], { env });
    // pushing again uploads nothing
    const again = image(st, ["push", "--insecure", "runjs-test/small:1", `${reg.host}/team/small:1`]);
    expect(again.err.split("\n").filter(Boolean).every((x) => x.endsWith(": exists"))).toBe(true);
  });

  test("image build pulls a FROM image it lacks (a loopback registry: plain HTTP, as Docker allows)", () => {
    const st = store();
    const ctx = join(WORK, "from-registry");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${reg.host}/team/small:1\nLABEL built=yes\n`);
    const b = Bun.spawnSync([RUNJS, "image", "build", "-q", "--network", "none", "-t", "runjs-test/from-registry:1", "--storage", st, ctx], { env: { ...process.env, DOCKER_CONFIG } });
    expect([b.exitCode, b.stderr.toString()]).toEqual([0, ""]);
    expect(inspect(st, `${reg.host}/team/small:1`).id).toMatch(/^sha256:/);
    expect(inspect(st, "runjs-test/from-registry:1").config.config.Labels).toEqual({ built: "yes" });
  });

  test("a layer larger than a chunk goes up in chunks; another repository mounts the blobs", () => {
    const st = store();
    image(st, ["import", big]);
    const img = inspect(st, "runjs-test/big:1");
    expect(img.layers[0].size).toBeGreaterThan(8 << 20);
    expect(image(st, ["push", "--insecure", "--chunk-size", String(8 << 20), "runjs-test/big:1", `${reg.host}/team/big:1`]).code).toBe(0);
    const back = store();
    expect(image(back, ["pull", "--insecure", `${reg.host}/team/big:1`]).code).toBe(0);
    expect(inspect(back, `${reg.host}/team/big:1`).id).toBe(img.id);
    // named in the first repository, the image's blobs are mounted into the second, not sent
    image(st, ["tag", "runjs-test/big:1", `${reg.host}/team/big:1`]);
    const m = image(st, ["push", "--insecure", `${reg.host}/team/big:1`, `${reg.host}/other/big:2`]);
    expect(m.code).toBe(0);
    expect(m.err.split("\n").filter(Boolean).sort()).toEqual([`${img.id.slice(7, 19)}: mounted`, `${img.layers[0].digest.slice(7, 19)}: mounted`].sort());
  });

  test("a config.json written as docker login writes it serves pull; logout forgets, and says so twice", () => {
    const st = store();
    writeFileSync(join(DOCKER_CONFIG, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } }, HttpHeaders: { "User-Agent": "Docker-Client" } }));
    expect(image(st, ["pull", "--insecure", `${reg.host}/team/small:1`]).code).toBe(0);
    expect(runjs(["logout", reg.host]).out).toBe(`Removing login credentials for ${reg.host}\n`);
    const cfg = JSON.parse(readFileSync(join(DOCKER_CONFIG, "config.json"), "utf8"));
    expect([cfg.auths, cfg.HttpHeaders]).toEqual([{}, { "User-Agent": "Docker-Client" }]); // the rest is kept
    expect(runjs(["logout", reg.host]).err).toBe(`runjs: logout: not logged in to ${reg.host}\n`);
    expect(image(store(), ["pull", "--insecure", `${reg.host}/team/small:1`]).err).toContain("requires a username and password");
  });
});
