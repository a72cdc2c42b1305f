// Shared fixtures for the pure tests: a default spec, host facts, and a BPF decoder.
import { defaultSpec } from "../../src/oci/defaults.ts";
import type { Spec } from "../../src/oci/spec.ts";
import type { ExecFacts, HostFacts } from "../../src/plan/types.ts";

/** runjs's default spec without a terminal (and without seccomp, which it has none of). */
export function testSpec(): Spec {
  const s = defaultSpec({}) as Spec;
  s.process!.terminal = false;
  delete s.linux!.seccomp;
  return s;
}

/** Facts about an imaginary v2 host, with whatever a test overrides. */
export const testFacts = (over: Partial<HostFacts> = {}): HostFacts => ({
  bundle: "/b",
  rootfs: "/b/rootfs",
  sources: {},
  cgroups: [{ version: 2, name: "unified", controllers: [], dir: "/sys/fs/cgroup/unified/c1" }],
  fifo: "/run/runjs/c1/exec.fifo",
  helperWaits: false,
  noPivot: false,
  warn: () => {},
  ...over,
});

/** Facts for an exec into a container whose init is pid 1, with whatever a test overrides. */
export const execFacts = (over: Partial<ExecFacts> = {}): ExecFacts => ({ pid: 1, helperWaits: false, warn: () => {}, ...over });

/** One classic BPF instruction (struct sock_filter). */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function decodeBpf(bpf: Uint8Array): Insn[] {
  const dv = new DataView(bpf.buffer, bpf.byteOffset, bpf.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bpf.length; o += 8)
    out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) >>> 0 });
  return out;
}
