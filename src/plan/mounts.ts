// Mount options as data: each config.json option string maps to what it does to mount(2).
//
// mount(2) takes a bit mask (MS_RDONLY, MS_NOSUID, …) plus a filesystem-specific data string
// ("size=64k,mode=755"). Propagation (shared/slave/private/unbindable) cannot be combined with
// a mount and is a second call. The "r"-prefixed options (rro, rnosuid, …) apply to a whole
// tree of mounts and go through mount_setattr(2) with AT_RECURSIVE. Anything not in this
// table is passed to the filesystem in the data string. compileMounts below turns spec.mounts
// into the plan's mounts with this table and the host facts.
import { ValidationError } from "../oci/errors.ts";
import type { Spec } from "../oci/spec.ts";
import type { HostFacts, PlanMount, PlanRemount } from "./types.ts";
import { idMapText } from "./userns.ts";

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1n,
  NOSUID: 0x2n,
  NODEV: 0x4n,
  NOEXEC: 0x8n,
  ATIME: 0x70n, // the atime group: relatime = 0, noatime, strictatime
  NOATIME: 0x10n,
  STRICTATIME: 0x20n,
  NODIRATIME: 0x80n,
  NOSYMFOLLOW: 0x200000n,
} as const;

type Opt =
  | { set: number }
  | { clear: number }
  | { prop: number }
  | { attrSet: bigint; attrClr?: bigint }
  | { attrClr: bigint; attrSet?: bigint };

const ATIME_FLAGS = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;

export const MOUNT_OPTIONS: Record<string, Opt> = {
  defaults: { set: 0 },
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID },
  suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV },
  dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC },
  exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS },
  async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC },
  remount: { set: MS.REMOUNT },
  mand: { set: MS.MANDLOCK },
  nomand: { clear: MS.MANDLOCK },
  noatime: { set: MS.NOATIME },
  atime: { clear: MS.NOATIME },
  nodiratime: { set: MS.NODIRATIME },
  diratime: { clear: MS.NODIRATIME },
  relatime: { set: MS.RELATIME },
  norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  lazytime: { set: MS.LAZYTIME },
  nolazytime: { clear: MS.LAZYTIME },
  iversion: { set: MS.I_VERSION },
  noiversion: { clear: MS.I_VERSION },
  silent: { set: MS.SILENT },
  loud: { clear: MS.SILENT },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  symfollow: { clear: MS.NOSYMFOLLOW },
  bind: { set: MS.BIND },
  rbind: { set: MS.BIND | MS.REC },
  private: { prop: MS.PRIVATE },
  rprivate: { prop: MS.PRIVATE | MS.REC },
  shared: { prop: MS.SHARED },
  rshared: { prop: MS.SHARED | MS.REC },
  slave: { prop: MS.SLAVE },
  rslave: { prop: MS.SLAVE | MS.REC },
  unbindable: { prop: MS.UNBINDABLE },
  runbindable: { prop: MS.UNBINDABLE | MS.REC },
  rro: { attrSet: MOUNT_ATTR.RDONLY },
  rrw: { attrClr: MOUNT_ATTR.RDONLY },
  rnosuid: { attrSet: MOUNT_ATTR.NOSUID },
  rsuid: { attrClr: MOUNT_ATTR.NOSUID },
  rnodev: { attrSet: MOUNT_ATTR.NODEV },
  rdev: { attrClr: MOUNT_ATTR.NODEV },
  rnoexec: { attrSet: MOUNT_ATTR.NOEXEC },
  rexec: { attrClr: MOUNT_ATTR.NOEXEC },
  rnodiratime: { attrSet: MOUNT_ATTR.NODIRATIME },
  rdiratime: { attrClr: MOUNT_ATTR.NODIRATIME },
  rrelatime: { attrClr: MOUNT_ATTR.ATIME, attrSet: 0n },
  rnorelatime: { attrClr: MOUNT_ATTR.ATIME, attrSet: MOUNT_ATTR.STRICTATIME },
  rnoatime: { attrClr: MOUNT_ATTR.ATIME, attrSet: MOUNT_ATTR.NOATIME },
  ratime: { attrClr: MOUNT_ATTR.ATIME, attrSet: 0n },
  rstrictatime: { attrClr: MOUNT_ATTR.ATIME, attrSet: MOUNT_ATTR.STRICTATIME },
  rnostrictatime: { attrClr: MOUNT_ATTR.ATIME, attrSet: 0n },
  rnosymfollow: { attrSet: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { attrClr: MOUNT_ATTR.NOSYMFOLLOW },
};

export interface ParsedOptions {
  flags: number;
  propagation: number;
  attrSet: bigint;
  attrClr: bigint;
  data: string[];
  /** MS_* flags an option cleared explicitly (rw, suid, dev, exec, atime, symfollow …). */
  cleared: number;
  /** tmpcopyup (runc's and crun's extension, used by Podman): fill the tmpfs from the image. */
  copyUp: boolean;
  /** idmap / ridmap (runc's and crun's): an id-mapped bind mount, ridmap for the whole tree. */
  idmap: "" | "idmap" | "ridmap";
}

/** Options that are no mount(2) flag, which the planner handles itself (runc's and crun's). */
export const EXTENSION_OPTIONS = ["tmpcopyup", "idmap", "ridmap"] as const;

/** Pure: fold a list of option strings into flags, propagation, attributes and data. */
export function parseMountOptions(options: readonly string[]): ParsedOptions {
  const r: ParsedOptions = { flags: 0, propagation: 0, attrSet: 0n, attrClr: 0n, data: [], cleared: 0, copyUp: false, idmap: "" };
  for (const o of options) {
    if (o === "tmpcopyup") {
      r.copyUp = true;
      continue;
    }
    if (o === "idmap" || o === "ridmap") {
      r.idmap = o;
      continue;
    }
    const d = Object.hasOwn(MOUNT_OPTIONS, o) ? MOUNT_OPTIONS[o] : undefined;
    if (!d) {
      r.data.push(o);
      continue;
    }
    if ("set" in d) {
      if (d.set & ATIME_FLAGS) r.flags &= ~ATIME_FLAGS;
      r.flags |= d.set;
      r.cleared &= ~d.set;
    } else if ("clear" in d) {
      r.flags &= ~d.clear;
      r.cleared |= d.clear;
    }
    else if ("prop" in d) r.propagation = d.prop;
    else {
      const clr = d.attrClr ?? 0n;
      const set = d.attrSet ?? 0n;
      r.attrSet = (r.attrSet & ~clr) | set;
      r.attrClr = (r.attrClr & ~set) | clr;
      if (clr === MOUNT_ATTR.ATIME) r.attrClr |= MOUNT_ATTR.ATIME; // the group is replaced as a whole
    }
  }
  return r;
}

/** Flags a bind mount can only get through a remount (the first bind ignores them). */
export const BIND_REMOUNT_MASK =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// ---- spec.mounts → the plan's mounts and remounts ---------------------------------------------

export function absUnder(base: string, p: string): string {
  return p.startsWith("/") ? p : `${base.replace(/\/+$/, "")}/${p}`;
}

export function bindSources(spec: Spec, bundle: string): string[] {
  return (spec.mounts ?? []).filter(isBind).map((m) => absUnder(bundle, m.source ?? ""));
}

export function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

export function compileMounts(spec: Spec, facts: HostFacts, cgroupns: boolean, userns: boolean) {
  const mounts: PlanMount[] = [];
  const remounts: PlanRemount[] = [];
  (spec.mounts ?? []).forEach((m0, i) => {
    const name = `mounts[${i}] (${m0.destination})`;
    // runc takes a destination written with the rootfs's host path in front as that path
    // inside it (its tests write them so)
    const m = m0.destination.startsWith(facts.rootfs + "/") ? { ...m0, destination: m0.destination.slice(facts.rootfs.length) } : m0;
    const o = parseMountOptions(m.options ?? []);
    const base = {
      name,
      target: m.destination,
      data: o.data.join(","),
      propagation: o.propagation,
      attrSet: o.attrSet,
      attrClr: o.attrClr,
      bindRemount: 0,
      bindClear: 0,
      copyUp: false,
      keepMode: false,
      early: false,
      late: false,
      idmapRecursive: false,
    };
    if (o.copyUp && m.type !== "tmpfs")
      throw new ValidationError(`mounts[${i}].options`, "tmpcopyup: only for a mount of type tmpfs");
    const idmapped = !!m.uidMappings || o.idmap !== "";
    if (idmapped && !isBind(m)) throw new ValidationError(`mounts[${i}].uidMappings`, "only bind mounts can be id-mapped");
    if (isBind(m)) {
      const source = absUnder(facts.bundle, m.source ?? "");
      // A source that is not there yet may be made by an earlier mount (a bind from inside the
      // rootfs, under a tmpfs mounted before it): the init looks at it when it mounts it, and
      // fails there if it is still missing, as runc does.
      const kind = facts.sources[source] ?? "missing";
      const inRootfs = source === facts.rootfs || source.startsWith(facts.rootfs + "/");
      const keep = o.flags & BIND_REMOUNT_MASK;
      // "idmap" without mappings of its own takes the container's (crun's rule): its own, or
      // those of the user namespace it joins
      const uids = m.uidMappings ?? (idmapped ? spec.linux?.uidMappings ?? facts.joinedUserns?.uidMappings : undefined);
      const gids = m.gidMappings ?? (idmapped ? spec.linux?.gidMappings ?? facts.joinedUserns?.gidMappings : undefined);
      if (idmapped && (!uids?.length || !gids?.length))
        throw new ValidationError(`mounts[${i}].options`, `${o.idmap}: no uidMappings/gidMappings, neither the mount's nor linux's`);
      mounts.push({
        ...base,
        source,
        fstype: "",
        flags: MS.BIND | (o.flags & MS.REC),
        data: "",
        mkdir: kind === "file" ? 2 : kind === "dir" ? 1 : 4,
        bindRemount: keep,
        bindClear: o.cleared & BIND_REMOUNT_MASK,
        // In a user namespace of its own the container's root is not the host's: the helper
        // takes the source while it still is (a source under a 0700 directory, say). A source
        // inside the rootfs is the container's own (an earlier mount may be what it shows), so
        // it is looked up in the container's mount namespace when its turn comes: by the init
        // itself, or, id-mapped, by a process that stayed root of the host (idmap.c)
        early: userns && !idmapped && (facts.caller?.euid ?? 0) === 0 && kind !== "missing" && !inRootfs,
        late: idmapped && inRootfs,
        uidMap: idmapped ? idMapText(uids) : undefined,
        gidMap: idmapped ? idMapText(gids) : undefined,
        idmapRecursive: o.idmap === "ridmap",
      });
      return;
    }
    if (m.type === "cgroup") {
      compileCgroupMount(m.destination, o.flags, name, facts, cgroupns, userns, mounts, remounts);
      return;
    }
    let flags = o.flags;
    // A read-only tmpfs is mounted writable and made read-only after set-up, so that the
    // runtime can still create what it needs inside it (device nodes under /dev, say).
    if (m.type === "tmpfs" && flags & MS.RDONLY) {
      flags &= ~MS.RDONLY;
      remounts.push({ name, path: m.destination, flags: o.flags });
    }
    // runc: a tmpfs over an existing directory keeps that directory's mode (a /tmp stays 1777,
    // set-id bits included) unless the options say mode=
    const keepMode = m.type === "tmpfs" && !o.data.some((d) => d.startsWith("mode="));
    // proc and sysfs only on a directory of their own, never through a symlink in the image
    // (runc's rule): an image's /proc pointing elsewhere would move the kernel's view there
    const mkdir = m.type === "proc" || m.type === "sysfs" ? 3 : 1;
    mounts.push({ ...base, source: m.source ?? m.type ?? "none", fstype: m.type ?? "", flags, mkdir, copyUp: o.copyUp, keepMode });
  });
  return { mounts, remounts };
}

function compileCgroupMount(
  dest: string,
  flags: number,
  name: string,
  facts: HostFacts,
  cgroupns: boolean,
  userns: boolean,
  mounts: PlanMount[],
  remounts: PlanRemount[],
): void {
  const none = { propagation: 0, attrSet: 0n, attrClr: 0n, bindRemount: 0, bindClear: 0, mkdir: 1 as const, copyUp: false, keepMode: false, early: false, late: false, idmapRecursive: false };
  const v1 = facts.cgroups.filter((c) => c.version === 1);
  if (v1.length === 0) {
    mounts.push({ ...none, name, source: "cgroup", target: dest, fstype: "cgroup2", flags, data: "" });
    return;
  }
  const dirFlags = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  mounts.push({ ...none, name, source: "tmpfs", target: dest, fstype: "tmpfs", flags: dirFlags, data: "mode=755" });
  for (const c of facts.cgroups) {
    const target = `${dest.replace(/\/+$/, "")}/${c.name}`;
    const sub = `${name} ${c.name}`;
    // A v1 hierarchy cannot be mounted afresh inside a user namespace: bind the host's.
    if (cgroupns && !(userns && c.version === 1))
      mounts.push({
        ...none,
        name: sub,
        source: "cgroup",
        target,
        fstype: c.version === 1 ? "cgroup" : "cgroup2",
        flags: flags & ~MS.REC,
        data: c.version === 1 ? c.controllers.join(",") : "",
      });
    else
      mounts.push({
        ...none,
        name: sub,
        source: c.dir,
        target,
        fstype: "",
        flags: MS.BIND | MS.REC,
        data: "",
        bindRemount: (flags & BIND_REMOUNT_MASK) | MS.NOSUID | MS.NODEV | MS.NOEXEC,
      });
  }
  if (flags & MS.RDONLY) remounts.push({ name, path: dest, flags: dirFlags | MS.RDONLY });
}
