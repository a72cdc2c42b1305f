// COPY and ADD: files from the build context (or another stage, or an image) into the root
// filesystem a step is building.
//
// Both sides are trees a path must not leave: the context is the user's directory, but a
// stage's or an image's tree is made by whoever made the image, and a symlink in it
// ("etc -> /etc") must not make the builder read or write the host's files. Every path is
// therefore opened with openat2(RESOLVE_IN_ROOT): the kernel resolves it as if the tree were
// the root (absolute links and ".." stay inside), which is how the path reads inside the
// container too. Below a named source, entries are opened relative to their directory's fd
// with O_NOFOLLOW, so links inside a copied directory are copied as links, never followed.
//
// Docker's rules: a directory source copies its contents; several sources, or a wildcard,
// need a destination ending in "/"; a file copied to a path ending in "/" (or to an existing
// directory) keeps its name; a relative destination is under WORKDIR; what is copied is owned
// by 0:0 unless --chown says otherwise (a user without a group gets the gid equal to its uid),
// keeps its mode unless --chmod gives one, and keeps its modification time. Directories the
// destination needs are made (0755, owned as --chown says).
import { closeSync, constants, fstatSync, lstatSync, readdirSync, readSync, writeSync, type Stats } from "node:fs";
import { posix } from "node:path";
import {
  EEXIST, ENOENT, ENOTDIR, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY, RESOLVE_IN_ROOT,
  fchmod, fchown, futimens, lchownat, readlinkFd, lutimensat, mkdirat, openat, openat2, symlinkat, timespecs, unlinkat,
} from "../../sys/fsat.ts";
import { strerror } from "../../sys/libc.ts";

export class CopyError extends Error {}

const CHUNK = 1 << 20;
const fdPath = (fd: number, name?: string) => `/proc/self/fd/${fd}${name !== undefined ? "/" + name : ""}`;
const b = (p: string) => Buffer.from(p, "latin1");

/** A directory tree opened as a root: every path in it resolves inside it. */
export class Tree {
  readonly fd: number;
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    const fd = openat2(-100, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) throw new CopyError(`${what}: ${path}: ${strerror(-fd)}`);
    this.fd = fd;
  }

  /** Open rel inside the tree (fd or -errno). */
  open(rel: string, flags: number): number {
    return openat2(this.fd, rel.replace(/^\/+/, "") || ".", flags | O_CLOEXEC, RESOLVE_IN_ROOT);
  }

  /** lstat-like facts of rel's final component, the path before it resolved inside the tree. */
  stat(rel: string, follow = true): Stats | undefined {
    const fd = this.open(rel, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return undefined;
    try {
      return fstatSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** A file's content, or undefined if it is not there. */
  read(rel: string): Buffer | undefined {
    const fd = this.open(rel, O_RDONLY);
    if (fd < 0) return undefined;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      const out = Buffer.alloc(st.size);
      let off = 0;
      while (off < st.size) {
        const n = readSync(fd, out, off, st.size - off, null);
        if (n <= 0) break;
        off += n;
      }
      return out.subarray(0, off);
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

/** --chown USER[:GROUP], names looked up in the destination's /etc/passwd and /etc/group. */
export function resolveChown(spec: string, passwd: string, group: string): Owner {
  const [u, g] = spec.split(":", 2) as [string, string?];
  const find = (text: string, name: string) => text.split("\n").map((l) => l.split(":")).find((f) => f[0] === name && f.length >= 3);
  let uid: number;
  if (/^\d+$/.test(u)) uid = Number(u);
  else {
    const e = find(passwd, u);
    if (!e) throw new CopyError(`--chown=${spec}: no user ${JSON.stringify(u)} in the image's /etc/passwd`);
    uid = Number(e[2]);
  }
  let gid = uid;
  if (g !== undefined && g !== "") {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = find(group, g);
      if (!e) throw new CopyError(`--chown=${spec}: no group ${JSON.stringify(g)} in the image's /etc/group`);
      gid = Number(e[2]);
    }
  }
  return { uid, gid };
}

/** A source as matched: a path inside its tree. */
export interface Source {
  tree: Tree;
  rel: string;
}

/** Which paths of a tree are visible (the context's .dockerignore; everything elsewhere). */
export type Keep = (rel: string) => boolean;

export const hasWildcard = (p: string) => /[*?[]/.test(p);

/**
 * Every path of a tree, relative and in order, that `keep` keeps (the context's .dockerignore);
 * directories are walked even when excluded, since an exception may keep what is under them.
 */
export function walkTree(tree: Tree, keep: Keep = () => true): string[] {
  const out: string[] = [];
  const visit = (fd: number, dir: string) => {
    for (const n of (readdirSync(b(fdPath(fd)), { encoding: "buffer" }) as Buffer[]).map((x) => x.toString("latin1")).sort()) {
      const rel = dir ? `${dir}/${n}` : n;
      if (keep(rel)) out.push(rel);
      const st = lstatSync(b(fdPath(fd, n)));
      if (st.isDirectory()) {
        const sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) throw new CopyError(`${tree.what}: ${rel}: ${strerror(-sub)}`);
        try {
          visit(sub, rel);
        } finally {
          closeSync(sub);
        }
      }
    }
  };
  const root = tree.open(".", O_RDONLY | O_DIRECTORY);
  try {
    visit(root, "");
  } finally {
    closeSync(root);
  }
  return out;
}

/** Clean a source path given in a Dockerfile; refuses one that leaves the context. */
export function cleanSource(p: string, what: string): string {
  const n = posix.normalize("/" + p).replace(/^\/+/, "");
  if (posix.normalize(p).startsWith("../") || posix.normalize(p) === "..") throw new CopyError(`${what}: ${p}: outside the build context`);
  return n === "" || n === "." ? "." : n.replace(/\/+$/, "");
}

/** The sources a COPY names: each path or wildcard matched in its tree (an error if nothing matches). */
export function matchSources(tree: Tree, patterns: string[], keep: Keep, what: string): Source[] {
  const out: Source[] = [];
  let all: string[] | undefined;
  for (const p of patterns) {
    const rel = cleanSource(p, what);
    if (hasWildcard(rel)) {
      all ??= walkTree(tree, keep);
      const g = new Bun.Glob(rel);
      const m = all.filter((r) => g.match(r));
      if (!m.length) throw new CopyError(`${p}: matches nothing in ${tree.what}`);
      out.push(...m.map((r) => ({ tree, rel: r })));
    } else {
      if ((rel !== "." && !keep(rel)) || !tree.stat(rel)) throw new CopyError(`${p}: no such file or directory in ${tree.what}${rel !== "." && !keep(rel) ? " (excluded by .dockerignore)" : ""}`);
      out.push({ tree, rel });
    }
  }
  return out;
}

/**
 * What the cache key of a COPY sees of its sources: names, types, modes, link targets and
 * contents (Docker's rule: not times, not owners of the context's files).
 */
export function hashSources(sources: Source[], keep: Keep): string {
  const h = new Bun.CryptoHasher("sha256");
  const buf = Buffer.alloc(CHUNK);
  const file = (fd: number, size: number) => {
    for (let left = size; left > 0; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, left), null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      left -= n;
    }
  };
  const visit = (fd: number, rel: string, top: string, st: Stats) => {
    h.update(`\0${rel.slice(top.length)}\0${st.mode.toString(8)}\0`);
    if (st.isFile()) {
      h.update(`${st.size}\0`);
      file(fd, st.size);
    } else if (st.isSymbolicLink()) h.update(Buffer.from(readlinkFd(fd), "latin1"));
  };
  for (const s of sources) {
    h.update(`\n${s.rel}\n`);
    walkSource(s, keep, visit);
  }
  return "sha256:" + h.digest("hex");
}

/**
 * Visit a source and, for a directory, everything under it in name order: f(fd, rel, top, st)
 * with fd open on the entry (O_PATH for links and special files), rel its path in the tree.
 */
function walkSource(s: Source, keep: Keep, f: (fd: number, rel: string, top: string, st: Stats) => void): void {
  const fd = s.tree.open(s.rel, O_RDONLY);
  if (fd < 0) throw new CopyError(`${s.tree.what}: ${s.rel}: ${strerror(-fd)}`);
  const top = s.rel === "." ? "" : s.rel;
  const rec = (fd: number, rel: string) => {
    const st = fstatSync(fd);
    f(fd, rel, top, st);
    if (!st.isDirectory()) return;
    for (const n of (readdirSync(b(fdPath(fd)), { encoding: "buffer" }) as Buffer[]).map((x) => x.toString("latin1")).sort()) {
      const childRel = rel === "." || rel === "" ? n : `${rel}/${n}`;
      if (!keep(childRel)) continue;
      const lst = lstatSync(b(fdPath(fd, n)));
      const cfd = openat(fd, n, (lst.isFile() || lst.isDirectory() ? O_RDONLY : O_PATH) | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0) throw new CopyError(`${s.tree.what}: ${childRel}: ${strerror(-cfd)}`);
      try {
        rec(cfd, childRel);
      } finally {
        closeSync(cfd);
      }
    }
  };
  try {
    rec(fd, top);
  } finally {
    closeSync(fd);
  }
}

export const CONTEXT = "the build context";

export interface CopyOptions {
  owner: Owner;
  chmod?: number;
  keep: Keep;
}

/** Make every directory of rel inside the tree (owned by owner, 0755), and open the last. */
export function mkdirAll(tree: Tree, rel: string, owner: Owner): number {
  const parts = rel.split("/").filter((p) => p && p !== ".");
  let fd = tree.open(".", O_RDONLY | O_DIRECTORY);
  for (let i = 0; i < parts.length; i++) {
    const sub = parts.slice(0, i + 1).join("/");
    let next = tree.open(sub, O_RDONLY | O_DIRECTORY);
    if (next === -ENOENT) {
      const r = mkdirat(fd, parts[i]!, 0o755);
      if (r < 0 && r !== -EEXIST) {
        closeSync(fd);
        throw new CopyError(`mkdir /${sub}: ${strerror(-r)}`);
      }
      next = tree.open(sub, O_RDONLY | O_DIRECTORY);
      if (next >= 0 && r === 0) {
        fchown(next, owner.uid, owner.gid);
        fchmod(next, 0o755);
      }
    }
    closeSync(fd);
    if (next < 0) throw new CopyError(`/${sub}: ${strerror(-next)}${next === -ENOTDIR ? " (not a directory)" : ""}`);
    fd = next;
  }
  return fd;
}

/** Remove name in dirfd if it is there and not a directory (a file is replaced, not written through). */
function clear(dirfd: number, name: string): Stats | undefined {
  let st: Stats | undefined;
  try {
    st = lstatSync(b(fdPath(dirfd, name)));
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) unlinkat(dirfd, name, 0);
  return st.isDirectory() ? st : undefined;
}

function copyEntry(fd: number, st: Stats, dirfd: number, name: string, o: CopyOptions, where: string): number | undefined {
  const mode = o.chmod ?? st.mode & 0o7777;
  const times = timespecs(Math.floor(st.atimeMs / 1000), 0, Math.floor(st.mtimeMs / 1000), Math.round((st.mtimeMs % 1000) * 1e6));
  const existingDir = clear(dirfd, name);
  if (st.isDirectory()) {
    if (!existingDir) {
      const r = mkdirat(dirfd, name, 0o700);
      if (r < 0) throw new CopyError(`${where}: ${strerror(-r)}`);
    }
    const d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) throw new CopyError(`${where}: ${strerror(-d)}`);
    fchown(d, o.owner.uid, o.owner.gid);
    fchmod(d, mode);
    return d; // times are set after the children (creating them changes the directory's)
  }
  if (existingDir) throw new CopyError(`${where}: cannot copy a file over a directory`);
  if (st.isFile()) {
    const out = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | constants.O_TRUNC, 0o600);
    if (out < 0) throw new CopyError(`${where}: ${strerror(-out)}`);
    try {
      const buf = Buffer.alloc(Math.min(CHUNK, Math.max(st.size, 1)));
      for (let left = st.size; left > 0; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) break;
        for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
        left -= n;
      }
      fchown(out, o.owner.uid, o.owner.gid);
      fchmod(out, mode); // after chown, which clears setuid bits
      futimens(out, times);
    } finally {
      closeSync(out);
    }
  } else if (st.isSymbolicLink()) {
    const target = readlinkFd(fd);
    const r = symlinkat(target, dirfd, name);
    if (r < 0) throw new CopyError(`${where}: ${strerror(-r)}`);
    lchownat(dirfd, name, o.owner.uid, o.owner.gid);
    lutimensat(dirfd, name, times);
  }
  // sockets, fifos and devices of a context are not copied (Docker skips them too)
  return undefined;
}

/**
 * Copy one source into the destination tree: a directory's contents into destDir, a file to
 * destDir/destName.
 */
export function copySource(s: Source, destDirFd: number, destName: string | undefined, o: CopyOptions): void {
  // the directories being filled, deepest last; each gets its times once it is left
  type Open = { fd: number; times?: BigInt64Array };
  const stack: Open[] = [{ fd: destDirFd }];
  const leave = (keep: number) => {
    while (stack.length > keep) {
      const d = stack.pop()!;
      futimens(d.fd, d.times!);
      closeSync(d.fd);
    }
  };
  const depth = (rel: string, top: string) => (rel === top ? 0 : rel.slice(top ? top.length + 1 : 0).split("/").length);
  try {
    walkSource(s, o.keep, (fd, rel, top, st) => {
      const d = depth(rel, top);
      if (d === 0 && st.isDirectory()) return; // the named directory itself: its contents go into destDir
      leave(Math.max(d, 1));
      const name = d === 0 ? (destName ?? posix.basename(rel)) : posix.basename(rel);
      const made = copyEntry(fd, st, stack[stack.length - 1]!.fd, name, o, `/${rel}`);
      if (made !== undefined) stack.push({ fd: made, times: timespecs(Math.floor(st.atimeMs / 1000), 0, Math.floor(st.mtimeMs / 1000), Math.round((st.mtimeMs % 1000) * 1e6)) });
    });
  } finally {
    leave(1);
  }
}
