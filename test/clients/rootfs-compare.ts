// Two images' root filesystems and configs side by side: what `image build` made against what
// buildah made of the same Dockerfile. The root filesystem of an image in a runjs store is
// its layers stacked read-only by overlayfs (the kernel applies the whiteouts), walked
// without following links.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface Entry {
  type: string;
  mode: string;
  owner: string;
  content?: string;
}

/** Every path of a tree: type, mode, owner, content hash or link target (times left out). */
export function walk(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const visit = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p);
    const type = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : st.isFile() ? "file" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : st.isFIFO() ? "fifo" : "other";
    const e: Entry = { type, mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}` };
    if (type === "file") e.content = new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex").slice(0, 16);
    if (type === "link") e.content = readlinkSync(p);
    if (rel) out.set("/" + rel, e);
    if (type === "dir") for (const n of readdirSync(p).sort()) visit(rel ? `${rel}/${n}` : n);
  };
  visit("");
  return out;
}

/** Mount an image of a runjs store read-only, walk it, unmount. */
export function imageTree(store: string, inspectJson: any): Map<string, Entry> {
  const tmp = mkdtempSync("/tmp/runjs-compare-");
  const empty = join(tmp, "empty");
  const target = join(tmp, "root");
  mkdirSync(empty);
  mkdirSync(target);
  const lowers = (inspectJson.layers as any[]).map((l) => join(store, "layers", l.diffId.slice(7))).reverse();
  const r = Bun.spawnSync(["mount", "-t", "overlay", "overlay", "-o", `ro,lowerdir=${[...lowers, empty].join(":")}`, target]);
  if (r.exitCode !== 0) throw new Error(`mount: ${r.stderr}`);
  try {
    return walk(target);
  } finally {
    Bun.spawnSync(["umount", target]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Paths whose entries differ, or that only one side has: "path: a → b". */
export function differences(a: Map<string, Entry>, b: Map<string, Entry>): string[] {
  const out: string[] = [];
  const show = (e?: Entry) => (e ? `${e.type} ${e.mode} ${e.owner}${e.content ? " " + e.content : ""}` : "(none)");
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k);
    const y = b.get(k);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${k}: ${show(x)} → ${show(y)}`);
  }
  return out;
}
