// bpf(2) through libc's syscall(): load a cgroup device program and attach it to a cgroup.
//
// union bpf_attr layouts (linux/bpf.h), little-endian x86_64:
//   BPF_PROG_LOAD   u32 prog_type @0, u32 insn_cnt @4, u64 insns @8, u64 license @16,
//                   u32 log_level @24, u32 log_size @28, u64 log_buf @32, u32 kern_version @40,
//                   u32 prog_flags @44, char prog_name[16] @48, u32 prog_ifindex @64,
//                   u32 expected_attach_type @68
//   BPF_PROG_ATTACH u32 target_fd @0, u32 attach_bpf_fd @4, u32 attach_type @8,
//                   u32 attach_flags @12, u32 replace_bpf_fd @16 (DETACH: the same)
//   BPF_PROG_QUERY  u32 target_fd @0, u32 attach_type @4, u32 query_flags @8,
//                   u32 attach_flags @12, u64 prog_ids @16, u32 prog_cnt @24
//   BPF_PROG_GET_FD_BY_ID  u32 prog_id @0, u32 next_id @4, u32 open_flags @8
import { ptr } from "bun:ffi";
import { close, cstr, EAGAIN, EINTR, errno, openFile, O_CLOEXEC, O_DIRECTORY, O_RDONLY, symbols, SysError } from "./libc.ts";

export const SYS_bpf = 321; // x86_64
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_DETACH = 9;
export const BPF_PROG_GET_FD_BY_ID = 13;
export const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;
const ATTR_SIZE = 128;
const LOG_SIZE = 1 << 16;


function bpf(cmd: number, attr: Uint8Array): number {
  for (;;) {
    const r = Number(symbols().syscall(SYS_bpf, cmd, ptr(attr), attr.length, 0));
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR && e !== EAGAIN) return -e; // retried, as libbpf does for loads
  }
}

export class BpfError extends SysError {
  constructor(op: string, e: number, detail?: string) {
    super(op, e);
    if (detail) this.message += `: ${detail}`;
  }
}

/** Load a BPF_PROG_TYPE_CGROUP_DEVICE program (encoded instructions); returns its fd. */
export function loadDeviceProgram(code: Uint8Array, license = "Apache-2.0"): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  const lic = cstr(license);
  const log = new Uint8Array(LOG_SIZE);
  v.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  v.setUint32(4, code.length / 8, true);
  v.setBigUint64(8, BigInt(ptr(code)), true);
  v.setBigUint64(16, BigInt(ptr(lic)), true);
  v.setUint32(24, 1, true); // log_level: the verifier's messages on failure
  v.setUint32(28, LOG_SIZE, true);
  v.setBigUint64(32, BigInt(ptr(log)), true);
  attr.set(new TextEncoder().encode("runjs_devices"), 48);
  v.setUint32(68, BPF_CGROUP_DEVICE, true);
  let fd = bpf(BPF_PROG_LOAD, attr);
  if (fd < 0 && -fd === 28) {
    // ENOSPC: the log was too small; the program is what matters, retry without a log
    v.setUint32(24, 0, true), v.setUint32(28, 0, true), v.setBigUint64(32, 0n, true);
    fd = bpf(BPF_PROG_LOAD, attr);
  }
  if (fd < 0) {
    const end = log.indexOf(0);
    const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).trim();
    throw new BpfError("bpf(BPF_PROG_LOAD, cgroup device filter)", -fd, text ? `verifier: ${text.split("\n").slice(-8).join("; ")}` : undefined);
  }
  // keep the buffers alive across the call
  void code.length, void lic.length, void log.length;
  return fd;
}

function openCgroup(dir: string): number {
  return openFile(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

function progAttach(cmd: number, cg: number, progFd: number, flags: number): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cg, true);
  v.setUint32(4, progFd, true);
  v.setUint32(8, BPF_CGROUP_DEVICE, true);
  v.setUint32(12, flags, true);
  return bpf(cmd, attr);
}

/** The ids of the device programs attached to the cgroup itself (not inherited ones). */
function queryDevicePrograms(cg: number, dir: string): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cg, true);
  v.setUint32(4, BPF_CGROUP_DEVICE, true);
  v.setBigUint64(16, BigInt(ptr(ids)), true);
  v.setUint32(24, ids.length, true);
  const r = bpf(BPF_PROG_QUERY, attr);
  if (r < 0) throw new BpfError(`bpf(BPF_PROG_QUERY) ${dir}`, -r);
  return Array.from(ids.subarray(0, Math.min(v.getUint32(24, true), ids.length)));
}

/** Attach a loaded program to the cgroup directory `dir` (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI). */
export function attachDeviceProgram(dir: string, progFd: number): void {
  const cg = openCgroup(dir);
  try {
    const r = progAttach(BPF_PROG_ATTACH, cg, progFd, BPF_F_ALLOW_MULTI);
    if (r < 0) throw new BpfError(`bpf(BPF_PROG_ATTACH) ${dir}`, -r);
  } finally {
    close(cg);
  }
}

/**
 * Load and attach the program, then detach the device programs that were attached to the
 * cgroup before (an update replaces the filter; with several attached, all must allow).
 * The prog fds are closed at the end: the attachment holds the program, and the cgroup's
 * removal frees it.
 */
export function applyDeviceProgram(dir: string, code: Uint8Array): void {
  const fd = loadDeviceProgram(code);
  let cg = -1;
  try {
    cg = openCgroup(dir);
    const old = queryDevicePrograms(cg, dir);
    const r = progAttach(BPF_PROG_ATTACH, cg, fd, BPF_F_ALLOW_MULTI);
    if (r < 0) throw new BpfError(`bpf(BPF_PROG_ATTACH) ${dir}`, -r);
    for (const id of old) {
      const a = new Uint8Array(ATTR_SIZE);
      new DataView(a.buffer).setUint32(0, id, true);
      const ofd = bpf(BPF_PROG_GET_FD_BY_ID, a);
      if (ofd < 0) {
        if (-ofd === 2) continue; // ENOENT: already gone
        throw new BpfError(`bpf(BPF_PROG_GET_FD_BY_ID ${id}) ${dir}`, -ofd);
      }
      try {
        const d = progAttach(BPF_PROG_DETACH, cg, ofd, 0);
        if (d < 0 && -d !== 2) throw new BpfError(`bpf(BPF_PROG_DETACH ${id}) ${dir}`, -d);
      } finally {
        close(ofd);
      }
    }
  } finally {
    if (cg >= 0) close(cg);
    close(fd);
  }
}
