// A container's root filesystem: an overlayfs mount of the image's layers (read-only lower
// directories, the top layer first) under an upper directory of the container's own, which
// takes every write. Removing the upper directory (with the container) throws the writes away;
// the layers are shared by every container of the image and never change.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { errno, strerror } from "../../sys/libc.ts";

let lib: ReturnType<typeof open> | undefined;
function open() {
  return dlopen("libc.so.6", {
    mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    umount2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}
const c = (s: string) => ptr(new TextEncoder().encode(s + "\0"));

export function mountOverlay(lowers: string[], upper: string, work: string, target: string): void {
  const data = `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`;
  if ((lib ??= open()).mount(c("overlay"), c(target), c("overlay"), 0n, c(data)) < 0)
    throw new Error(`mount overlay on ${target}: ${strerror(errno())}`);
}

export function unmount(target: string): void {
  if ((lib ??= open()).umount2(c(target), 2 /* MNT_DETACH */) < 0) {
    const e = errno();
    if (e !== 22 /* EINVAL: not mounted */ && e !== 2) throw new Error(`umount ${target}: ${strerror(e)}`);
  }
}

/** Bind path onto target (a network namespace kept alive by a file, for CNI's DEL). */
export function bindMount(path: string, target: string): void {
  if ((lib ??= open()).mount(c(path), c(target), c(""), 4096n /* MS_BIND */, null) < 0)
    throw new Error(`bind ${path} on ${target}: ${strerror(errno())}`);
}
