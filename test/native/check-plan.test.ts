// The seam between TypeScript and C, without root: encode a Plan with the TS encoder, let
// `runjs-init check-plan` decode it with the C decoder and print it back as JSON, and compare.
// Also feed it broken frames: each must be refused with exit 1 and a message, never a crash.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { encodePlan, frame, RecordWriter } from "../../src/helper/encode.ts";
import { Frame, PROTOCOL_VERSION, Tag } from "../../src/helper/protocol.gen.ts";
import type { Plan } from "../../src/plan/types.ts";

// RUNJS_INIT: another build to test (test/native/fuzz.sh points it at a sanitizer build).
const helper = process.env.RUNJS_INIT ?? join(import.meta.dir, "../../bin/runjs-init");
const fuzzIterations = Number(process.env.RUNJS_FUZZ_ITERATIONS ?? 300);
const built = existsSync(helper);
if (!built) console.warn(`skipping check-plan tests: ${helper} is missing (run the build first)`);

function checkPlan(input: Uint8Array): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([helper, "check-plan"], { stdin: input, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The JSON a correct decoder prints: bigints as numbers, bytes as lowercase hex. */
function normalise(p: Plan): unknown {
  return JSON.parse(
    JSON.stringify(p, (_k, v) =>
      typeof v === "bigint" ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
    ),
  );
}

const minimal: Plan = {
  helperWaits: false,
  unshareFlags: 0,
  cgroupns: false,
  loopback: false,
  nsJoin: [],
  rootfs: "",
  rootPropagation: 0,
  postPropagation: 0,
  mounts: [],
  devices: [],
  symlinks: [],
  noPivot: false,
  chroot: false,
  remounts: [],
  masked: [],
  readonly: [],
  sysctls: [],
  hooks: [],
  newKeyring: false,
  homeFromPasswd: false,
  execAttrs: [],
  uid: 0,
  gid: 0,
  gids: [],
  noSetgroups: false,
  noNewPrivs: false,
  seccompFlags: 0,
  seccompEarly: false,
  cwd: "/",
  env: [],
  args: ["sh"],
  fifoByProc: false,
  consoleRows: 0,
  consoleCols: 0,
  consoleNoOnlcr: false,
  devConsole: false,
};

const full: Plan = {
  helperWaits: true,
  unshareFlags: 0x20000 | 0x20000000 | 0x4000000 | 0x8000000 | 0x4000000 | 0x40000000 | 0x80,
  cgroupns: true,
  loopback: true,
  nsJoin: [
    { type: 0x40000000, path: "/proc/42/ns/net", name: "linux.namespaces[0] (network)" },
    { type: 0x8000000, path: "/var/run/netns/ipc" },
  ],
  timeOffsets: "monotonic 86400 0\nboottime -5 0\n",
  oomScoreAdj: -999,
  cpuInitial: new Uint8Array([0x01, 0, 0, 0, 0, 0, 0, 0]),
  rootfs: "/var/lib/runjs/bundles/ü/rootfs",
  rootPropagation: 0x4000 | 0x80000,
  postPropagation: 0x40000,
  mounts: [
    {
      name: "mounts[0] (/proc)",
      source: "proc",
      target: "/proc",
      fstype: "proc",
      flags: 2 | 4 | 8,
      data: "",
      propagation: 0,
      attrSet: 0n,
      attrClr: 0n,
      mkdir: 1,
      bindRemount: 0,
      bindClear: 0x2,
      copyUp: true,
      keepMode: false,
      early: true,
      late: false,
      idmapRecursive: false,
    },
    {
      name: 'mounts[1] (/etc/"quoted"\\back\tslash)',
      source: "/host/dir with spaces",
      target: "/etc/résolv.conf",
      fstype: "",
      flags: 0x1000 | 0x4000,
      data: "mode=755,size=65536k,😀",
      propagation: 0x100000,
      attrSet: 0x100001n,
      attrClr: 0x70n,
      mkdir: 2,
      bindRemount: 1 | 2 | 8,
      bindClear: 0,
      copyUp: false,
      keepMode: true,
      early: false,
      late: true,
      uidMap: "0 100000 65536\n",
      gidMap: "0 100000 1\n1 5 2\n",
      idmapRecursive: true,
    },
  ],
  devices: [
    { name: "linux.devices[0] (/dev/null)", path: "/dev/null", mode: 0o20666, major: 1, minor: 3, uid: 0, gid: 0, host: "/dev/null" },
    { name: "linux.devices[1]", path: "/dev/fuse", mode: 0o20600, major: 10, minor: 229, uid: 1000, gid: 4294967295, host: "/dev/fuse" },
  ],
  symlinks: [
    { target: "/proc/self/fd", path: "/dev/fd" },
    { target: "pts/ptmx", path: "/dev/ptmx" },
  ],
  noPivot: true,
  chroot: true,
  remounts: [{ name: "root.readonly", path: "/", flags: 1 | 0x1000 }],
  masked: ["/proc/kcore", "/proc/keys", "/sys/firmware"],
  readonly: ["/proc/sys", "/proc/sysrq-trigger"],
  hostname: "box-ünïcode",
  domainname: "",
  sysctls: [{ path: "/proc/sys/net/ipv4/ip_forward", value: "1" }],
  hooks: [
    { name: "hooks.createContainer[0]", phase: 1, path: "/usr/bin/hook", args: ["hook", "--flag", ""], env: ["A=1", "B=ü"], inheritEnv: false, timeout: 5 },
    { name: "hooks.startContainer[0]", phase: 2, path: "/bin/true", args: [], env: [], inheritEnv: true, timeout: 0 },
  ],
  newKeyring: true,
  personality: 0x0008,
  ioPriority: (1 << 13) | 7,
  scheduler: { policy: 6, flags: 0x41n, nice: -20, priority: 99, runtime: 10_000_000n, deadline: 2n ** 63n, period: 2n ** 53n + 1n },
  cpuFinal: new Uint8Array([0xfe, 0xff, 0, 0, 0, 0, 0, 0x80, 1, 0, 0, 0, 0, 0, 0, 0]),
  homeFromPasswd: true,
  mpolMode: 2 | (1 << 15),
  mpolNodes: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]),
  execAttrs: [
    { name: "process.apparmorProfile", path: "/proc/self/attr/apparmor/exec", value: "exec acme_secure_profile" },
    { name: "process.selinuxLabel", path: "/proc/self/attr/exec", value: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675 "q"' },
  ],
  uid: 1000,
  gid: 4294967294,
  gids: [10, 0, 4294967295],
  noSetgroups: true,
  umask: 0o077,
  caps: { bounding: 0x1ffffffffffn, effective: 0x1n, permitted: 0x20000000001n, inheritable: 0n, ambient: 0x400n },
  noNewPrivs: true,
  seccompBpf: new Uint8Array([0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]),
  seccompFlags: 1 | 8 | 32,
  seccompEarly: true,
  seccompListener: "/run/agent ü.sock",
  cwd: "/home/ü ser",
  env: ["PATH=/usr/bin:/bin", "TERM=xterm", "EMOJI=🐳", 'Q="\\\n'],
  args: ["sh", "-c", "echo 'hi'\n\u0001"],
  fifoByProc: true,
  consoleFd: 5,
  consoleRows: 24,
  consoleCols: 80,
  consoleNoOnlcr: true,
  devConsole: true,
  fifo: "/run/runjs/c1/exec.fifo",
};

// Optional fields absent and present-but-empty lists side by side.
const sparse: Plan = {
  ...minimal,
  hostname: "",
  umask: 0,
  oomScoreAdj: 0,
  caps: { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n },
  personality: 0,
  ioPriority: 0,
  scheduler: { policy: 0, flags: 0n, nice: 0, priority: 0, runtime: 0n, deadline: 0n, period: 0n },
};

test("runjs-init is built (bash scripts/build.sh)", () => {
  expect(built).toBe(true);
});

describe.skipIf(!built)("runjs-init check-plan", () => {
  for (const [name, plan] of [["minimal", minimal], ["full", full], ["sparse", sparse]] as const)
    test(`round-trips the ${name} plan`, () => {
      const r = checkPlan(frame(Frame.PLAN, encodePlan(plan)));
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual(normalise(plan));
    });

  test("prints u64 values beyond 2^53 exactly", () => {
    const big: Plan = {
      ...minimal,
      caps: { bounding: 0xffffffffffffffffn, effective: 2n ** 53n + 1n, permitted: 0n, inheritable: 0n, ambient: 0n },
    };
    const r = checkPlan(frame(Frame.PLAN, encodePlan(big)));
    expect(r.code).toBe(0);
    expect(r.out).toContain('"bounding":18446744073709551615,"effective":9007199254740993');
    expect(r.out).toContain('"bounding":18446744073709551615,"effective":9007199254740993,');
  });

  test("omits absent optional fields and prints every other one", () => {
    const out = JSON.parse(checkPlan(frame(Frame.PLAN, encodePlan(minimal))).out);
    for (const k of ["timeOffsets", "oomScoreAdj", "cpuInitial", "hostname", "domainname", "personality", "ioPriority", "scheduler", "cpuFinal", "umask", "caps", "seccompBpf", "seccompListener", "fifo"])
      expect(out).not.toHaveProperty(k);
    expect(Object.keys(out)).toEqual(Object.keys(minimal));
  });

  // A valid plan's payload, and helpers to build broken frames around it.
  const payload = encodePlan(minimal);
  const rec = (build: (w: RecordWriter) => void) => {
    const w = new RecordWriter();
    w.u32(Tag.VERSION, PROTOCOL_VERSION);
    build(w);
    return frame(Frame.PLAN, w.finish());
  };
  const withLength = (f: Uint8Array, len: number) => {
    const c = f.slice();
    new DataView(c.buffer).setUint32(0, len, true);
    return c;
  };
  const raw = (...parts: number[][]) => frame(Frame.PLAN, new Uint8Array(parts.flat()));
  const u16 = (v: number) => [v & 0xff, v >> 8];
  const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
  const version = [...u16(Tag.VERSION), ...u32(4), ...u32(PROTOCOL_VERSION)];

  const broken: [string, Uint8Array, RegExp][] = [
    ["empty input", new Uint8Array(0), /no frame/],
    ["a short header", new Uint8Array([1, 0, 0]), /truncated frame/],
    ["a frame longer than its bytes", withLength(frame(Frame.PLAN, payload), payload.length + 10), /truncated frame/],
    ["trailing bytes", new Uint8Array([...frame(Frame.PLAN, payload), 0]), /trailing/],
    ["a frame over 16 MiB", withLength(frame(Frame.PLAN, payload), 16 * 1024 * 1024 + 1), /limit/],
    ["another frame type", frame(Frame.CONTINUE, payload), /want PLAN/],
    ["a record overrunning the frame", raw(version, u16(Tag.CWD), u32(100), [47, 0]), /overruns/],
    ["a truncated record header", raw(version, [Tag.CWD, 0, 2]), /truncated record header/],
    ["a string without its NUL", raw(version, u16(Tag.CWD), u32(2), [47, 47]), /NUL/],
    ["a string with a NUL inside", raw(version, u16(Tag.CWD), u32(3), [47, 0, 0]), /NUL/],
    ["an empty string record", raw(version, u16(Tag.CWD), u32(0)), /NUL/],
    ["a u32 of 3 bytes", raw(version, u16(Tag.UID), u32(3), [1, 2, 3]), /want 4/],
    ["a u64 of 4 bytes", raw(version, u16(Tag.CAP_BOUNDING), u32(4), u32(1)), /want 8/],
    ["an unknown tag", rec((w) => w.u32(200, 1)), /unknown tag 200/],
    ["a tag out of place", rec((w) => w.str(Tag.M_TARGET, "/x")), /unknown tag/],
    ["an unknown tag inside a list", rec((w) => w.list(Tag.MOUNT, (l) => l.u32(Tag.UID, 0))), /MOUNT: unknown tag/],
    ["a repeated single tag", rec((w) => w.u32(Tag.UID, 1).u32(Tag.UID, 2)), /repeated/],
    ["a wrong version", raw([...u16(Tag.VERSION), ...u32(4), ...u32(PROTOCOL_VERSION + 1)]), /version/],
    ["no version first", raw(u16(Tag.UID), u32(4), u32(0), version), /VERSION/],
    ["a bad mkdir mode", rec((w) => w.list(Tag.MOUNT, (l) => l.u32(Tag.M_MKDIR, 5))), /M_MKDIR/],
    ["a bad hook phase", rec((w) => w.list(Tag.HOOK, (l) => l.u32(Tag.H_PHASE, 0))), /H_PHASE/],
    ["a partial seccomp instruction", rec((w) => w.bytes(Tag.SECCOMP_BPF, new Uint8Array(12))), /SECCOMP_BPF/],
    ["too many mounts", rec((w) => { for (let i = 0; i < 1025; i++) w.list(Tag.MOUNT, () => {}); }), /more than 1024/],
    ["two schedulers", rec((w) => w.list(Tag.SCHED, () => {}).list(Tag.SCHED, () => {})), /more than 1 scheduler/],
    ["an empty CPU mask", rec((w) => w.bytes(Tag.CPU_FINAL, new Uint8Array(0))), /CPU mask/],
    ["a CPU mask of 12 bytes", rec((w) => w.bytes(Tag.CPU_INITIAL, new Uint8Array(12))), /CPU mask/],
    ["a CPU mask over 1024 bytes", rec((w) => w.bytes(Tag.CPU_FINAL, new Uint8Array(1032))), /at most 1024/],
    ["a listener without a filter", rec((w) => w.str(Tag.SECCOMP_LISTENER, "/a.sock")), /SECCOMP_LISTENER without SECCOMP_BPF/],
    ["a scheduler field outside SCHED", rec((w) => w.u32(Tag.SC_POLICY, 1)), /PLAN: unknown tag/],
    ["an unknown tag inside SCHED", rec((w) => w.list(Tag.SCHED, (l) => l.u32(Tag.UID, 0))), /SCHED: unknown tag/],
    ["a repeated tag inside EXEC_ATTR", rec((w) => w.list(Tag.EXEC_ATTR, (l) => l.str(Tag.W_PATH, "/a").str(Tag.W_PATH, "/b"))), /repeated/],
  ];
  for (const [name, input, msg] of broken)
    test(`refuses ${name}`, () => {
      const r = checkPlan(input);
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err).toMatch(msg);
    });

  test(
    "survives random corruption of a valid plan",
    () => {
      const good = encodePlan(full).subarray(8);
      let seed = 12345;
      const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
      for (let i = 0; i < fuzzIterations; i++) {
        // Mutate the payload: flip bytes, cut it short, or repeat a slice of it.
        let bad = good.slice();
        const how = rand(3);
        if (how === 1) bad = bad.slice(0, rand(bad.length));
        if (how === 2) {
          const at = rand(bad.length), len = rand(64);
          bad = new Uint8Array([...bad.subarray(0, at), ...bad.subarray(at, at + len), ...bad.subarray(at)]);
        }
        for (let j = rand(5); j > 0 && bad.length; j--) bad[rand(bad.length)] = rand(4) ? rand(256) : 0;
        // Mostly a well-formed frame around it, so the record decoder is what gets tested.
        let input = frame(Frame.PLAN, bad);
        if (rand(4) === 0) input = withLength(input, rand(bad.length + 16));
        const r = checkPlan(input);
        // A mutation may still decode to a valid plan; anything else must be a clean refusal.
        if (r.code === 0) JSON.parse(r.out);
        else {
          expect(r.code).toBe(1);
          expect(r.err).toMatch(/^runjs-init: check-plan: /);
        }
      }
    },
    Math.max(5000, fuzzIterations * 30),
  );
});
