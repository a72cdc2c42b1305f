// A container's root filesystem: an overlayfs mount of the image's layers (read-only lower
// directories, the top layer first) under an upper directory of the container's own, which
// takes every write. Removing the upper directory (with the container) throws the writes away;
// the layers are shared by every container of the image and never change.
import { EINVAL, ENOENT, MNT_DETACH, MS_BIND, mount, strerror, umount2 } from "../../sys/libc.ts";

export function mountOverlay(lowers: string[], upper: string, work: string, target: string, options?: string): void {
  const data = `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}${options ? "," + options : ""}`;
  const r = mount("overlay", target, "overlay", 0, data);
  if (r < 0) throw new Error(`mount overlay on ${target}: ${strerror(-r)}`);
}

export function unmount(target: string): void {
  const r = umount2(target, MNT_DETACH);
  if (r < 0 && r !== -EINVAL /* not mounted */ && r !== -ENOENT) throw new Error(`umount ${target}: ${strerror(-r)}`);
}

/** Bind path onto target (a network namespace kept alive by a file, for CNI's DEL). */
export function bindMount(path: string, target: string): void {
  const r = mount(path, target, "", MS_BIND);
  if (r < 0) throw new Error(`bind ${path} on ${target}: ${strerror(-r)}`);
}
