// The container's root filesystem, as containerd hands it to a shim: not a directory in the
// bundle but a list of mounts that a snapshotter prepared (an overlay of the image's layers
// with a writable upper directory, or a bind of a directory), to be mounted on
// BUNDLE/rootfs before create. The shim mounts them in its own mount namespace (the host's),
// where the container's new mount namespace then finds them, and unmounts them at delete.
import { mount, umount2, MNT_DETACH, strerror } from "../sys/libc.ts";

/** mount(2) flags by option name; the rest of a mount's options go to the filesystem as data. */
const FLAGS: Record<string, [set: number, clear: number]> = {
  ro: [1, 0], rw: [0, 1], nosuid: [2, 0], suid: [0, 2], nodev: [4, 0], dev: [0, 4],
  noexec: [8, 0], exec: [0, 8], sync: [16, 0], async: [0, 16], remount: [32, 0],
  noatime: [1024, 0], atime: [0, 1024], nodiratime: [2048, 0], diratime: [0, 2048],
  bind: [4096, 0], rbind: [4096 | 16384, 0], relatime: [1 << 21, 0], strictatime: [1 << 24, 0],
};

export interface Mount {
  type: string;
  source: string;
  options: string[];
}

/** Pure: a mount's options as mount(2) flags and data ("lowerdir=...,upperdir=..."). */
export function mountArgs(m: Mount): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of m.options) {
    const f = FLAGS[o];
    if (f) flags = (flags | f[0]) & ~f[1];
    else data.push(o);
  }
  return { flags, data: data.join(",") };
}

/** Mount each of containerd's rootfs mounts on target, in order; undone if one fails. */
export function mountRootfs(mounts: Mount[], target: string): void {
  const done: string[] = [];
  for (const [i, m] of mounts.entries()) {
    const { flags, data } = mountArgs(m);
    const bind = (flags & 4096) !== 0;
    let r = mount(m.source, target, bind ? "" : m.type, flags & ~1, data || undefined);
    // a read-only bind is a bind, then a remount that makes it read-only
    if (r === 0 && bind && flags & 1) r = mount("", target, "", flags | 32, undefined);
    if (r < 0) {
      for (const t of done.reverse()) umount2(t, MNT_DETACH);
      throw new Error(`rootfs[${i}]: mount ${m.type} ${m.source} on ${target}: ${strerror(-r)}`);
    }
    done.push(target);
  }
}

/** Unmount whatever is mounted on target (all layers of it); quiet when nothing is. */
export function unmountRootfs(target: string): void {
  for (let i = 0; i < 16 && umount2(target, MNT_DETACH) === 0; i++);
}
