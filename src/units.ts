// The units people type, as runc and Docker read them: memory sizes and signals. Pure; shared
// by the runtime's verbs and the front end.
import { UsageError } from "./errors.ts";

/** Pure: a size as runc/docker accept it: bytes, or 64m, 1g, 512k, 1.5GiB …; "-1" is unlimited. */
export function parseMemory(s: string, name = "memory"): number {
  if (s.trim() === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s.trim());
  if (!m) throw new UsageError(`invalid value for ${name}: ${s}`);
  const mul: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  return Math.floor(Number(m[1]) * (m[2] ? mul[m[2].toLowerCase()]! : 1));
}

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21,
  TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

/** A signal by name (KILL, SIGKILL, RTMIN+2) or number; 0 asks only whether the process exists. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = s.toUpperCase().replace(/^SIG/, "");
    if (name in SIGNALS) return SIGNALS[name]!;
    const rt = /^RTMIN(?:\+(\d+))?$|^RTMAX(?:-(\d+))?$/.exec(name);
    if (rt) return rt[1] !== undefined || name.startsWith("RTMIN") ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[2] ?? 0);
  }
  throw new UsageError(`invalid signal: ${s}`);
}
