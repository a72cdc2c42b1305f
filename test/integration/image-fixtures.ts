// Image fixtures shared by the image and container tests: a root filesystem with a bit of
// everything, layer tars made with GNU tar, docker-archives as `docker save` writes them.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p))!;

/** A root filesystem with a bit of everything the unpacker must keep. */
export function rootfs(dir: string): string {
  for (const d of ["bin", "etc", "tmp", "home/user", "dev"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "bin/busybox"), readFileSync(BUSYBOX), { mode: 0o755 });
  symlinkSync("busybox", join(dir, "bin/sh"));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
  writeFileSync(join(dir, "home/user/notes"), "mine\n", { mode: 0o600 });
  chownSync(join(dir, "home/user"), 1000, 1000);
  chownSync(join(dir, "home/user/notes"), 1000, 1000);
  writeFileSync(join(dir, "bin/suid"), "#!/bin/sh\n");
  chmodSync(join(dir, "bin/suid"), 0o4755);
  chmodSync(join(dir, "tmp"), 0o1777);
  Bun.spawnSync(["ln", join(dir, "etc/passwd"), join(dir, "etc/passwd-hardlink")]);
  Bun.spawnSync(["mknod", join(dir, "dev/null"), "c", "1", "3"]);
  Bun.spawnSync(["mkfifo", join(dir, "tmp/fifo")]);
  utimesSync(join(dir, "etc/passwd"), 1_000_000_000, 1_000_000_000);
  return dir;
}

/** tar of a directory, as an image layer (numeric owners, xattrs). */
export function layerTar(dir: string, out: string): string {
  const r = Bun.spawnSync(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", dir, "-cf", out, "."]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return out;
}

export const sha = (b: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** A docker-archive (what `docker save` writes) with these layer tars, bottom first. */
export function dockerArchive(layers: string[], tag: string, out: string, extra: (cfg: any) => void = () => {}): string {
  const d = mkdtempSync(join(out + "-"));
  const diffs: string[] = [];
  const paths: string[] = [];
  for (const l of layers) {
    const h = sha(readFileSync(l));
    mkdirSync(join(d, h));
    writeFileSync(join(d, h, "layer.tar"), readFileSync(l));
    diffs.push(`sha256:${h}`);
    paths.push(`${h}/layer.tar`);
  }
  const cfg: any = { architecture: "amd64", os: "linux", config: { Env: ["PATH=/bin"], Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: diffs } };
  extra(cfg);
  const c = JSON.stringify(cfg);
  writeFileSync(join(d, `${sha(c)}.json`), c);
  writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: `${sha(c)}.json`, RepoTags: [tag], Layers: paths }]));
  Bun.spawnSync(["tar", "-C", d, "-cf", out, "."]);
  return out;
}

