// Linux capability names and their bit numbers (include/uapi/linux/capability.h).
//
// The kernel keeps each capability set of a thread as a 64-bit mask; capset(2) takes it as two
// 32-bit halves. Capability N is bit N. The numbering is ABI and never changes; new
// capabilities are only ever appended (CAP_CHECKPOINT_RESTORE, 40, arrived in Linux 5.9).

import { ValidationError } from "./errors.ts";

export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});

/** All known capability names, in bit order. */
export const CAPABILITY_NAMES: readonly string[] = Object.keys(CAPABILITIES);

/** The highest capability number this table knows (CAP_LAST_CAP at the time of writing). */
export const CAP_LAST_CAP = CAPABILITY_NAMES.length - 1;

/**
 * The bit mask for a list of capability names. `path` is the JSON path of the list (for
 * example "process.capabilities.bounding"); an unknown name is reported at `path[i]`.
 * Duplicates are harmless.
 *
 * By default an unknown name throws a ValidationError. config.md asks runtimes to log, not
 * fail on, capabilities they cannot map; a caller that wants that passes `onUnknown`, which
 * then receives the would-be error and the name is left out of the mask.
 */
export function capMask(
  names: readonly string[],
  path: string,
  onUnknown?: (err: ValidationError, name: string) => void,
): bigint {
  let mask = 0n;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const bit = Object.hasOwn(CAPABILITIES, name) ? CAPABILITIES[name] : undefined;
    if (bit === undefined) {
      const err = new ValidationError(`${path}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
      if (!onUnknown) throw err;
      onUnknown(err, name);
      continue;
    }
    mask |= 1n << BigInt(bit);
  }
  return mask;
}
