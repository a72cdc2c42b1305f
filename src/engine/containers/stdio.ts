// The monitor's stdio: pipes it reads the container's output from (the runtime's helper
// inherits fds 1 and 2, and so does the container's process).
import { dlopen, FFIType, ptr } from "bun:ffi";
import { errno, strerror } from "../../sys/libc.ts";

const L = dlopen("libc.so.6", {
  pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
}).symbols;

/** [read end (close-on-exec), write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  if (L.pipe2(ptr(fds), 0o2000000 /* O_CLOEXEC */) < 0) throw new Error(`pipe2: ${strerror(errno())}`);
  return [fds[0]!, fds[1]!];
}

export function dup2(from: number, to: number): void {
  if (L.dup2(from, to) < 0) throw new Error(`dup2: ${strerror(errno())}`);
}

let nullFd = -1;
export function devNull(): number {
  if (nullFd < 0) nullFd = L.open(ptr(new TextEncoder().encode("/dev/null\0")), 2 | 0o2000000);
  return nullFd;
}
