// What the container's process is allowed to do, checked from inside: its five capability
// sets, no_new_privs, oom_score_adj, and the default seccomp profile (src/oci/seccomp-default.ts)
// in force, with the syscalls it blocks failing with EPERM while an ordinary shell runs.
//
// Syscalls that busybox cannot make are made by `probe`, a small static C program compiled
// here (gcc, as for the runtime's own init) and copied into each bundle. Every call it makes
// is harmless even when it is allowed: bad arguments or a path that does not exist, so that
// with the filter it fails with EPERM and without it with some other errno (ENOENT, EBADF,
// EINVAL) or succeeds without changing anything outside the probe itself.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, newEnv, removeCgroupParent, runIn, type Env } from "./helpers.ts";
import { capMask, CAPABILITY_NAMES } from "../../src/oci/capabilities.ts";
import { defaultSeccompProfile } from "../../src/oci/seccomp-default.ts";
import * as scmp from "../../src/sys/libseccomp.ts";
import type { LinuxCapabilities } from "../../src/oci/spec.ts";

afterEach(cleanupAll);

// ---- the probe ------------------------------------------------------------------------------

const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
	static char b[16];
	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES)
	E(EFAULT) E(EBUSY) E(EEXIST) E(ENODEV) E(ENOTDIR) E(EINVAL) E(ENOSPC) E(EROFS) E(ENOSYS)
	E(EAFNOSUPPORT) E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(ENOKEY) E(ENOEXEC)
#undef E
	}
	snprintf(b, sizeof b, "E%d", e);
	return b;
}

/* A raw clone(2) without a new stack: the child, a copy like after fork, exits at once. */
static long do_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid(r, NULL, 0);
	return r;
}

static long fd_result(long r)
{
	if (r >= 0)
		close(r);
	return r < 0 ? r : 0;
}

static long probe(const char *n)
{
	const char *nx = "/nonexistent-runjs-probe";
	if (!strcmp(n, "getpid")) return syscall(SYS_getpid) > 0 ? 0 : -1;
	if (!strcmp(n, "euid")) return printf("euid=%d\n", (int)geteuid()), 0;
	if (!strcmp(n, "unshare0")) return syscall(SYS_unshare, 0);
	if (!strcmp(n, "clone_plain")) return do_clone(0) > 0 ? 0 : -1;
	if (!strcmp(n, "clone_newuser")) return do_clone(CLONE_NEWUSER) > 0 ? 0 : -1;
	if (!strcmp(n, "clone_newnet")) return do_clone(CLONE_NEWNET) > 0 ? 0 : -1;
	if (!strcmp(n, "clone3")) return syscall(SYS_clone3, NULL, 0);
	if (!strcmp(n, "add_key")) return syscall(SYS_add_key, "runjs-no-such-type", "d", "x", 1, -2);
	if (!strcmp(n, "keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -1 /* thread */, 0);
	if (!strcmp(n, "personality_norandom") || !strcmp(n, "personality_linux32")) {
		long r = syscall(SYS_personality, n[12] == 'n' ? ADDR_NO_RANDOMIZE : PER_LINUX32);
		if (r >= 0)
			syscall(SYS_personality, PER_LINUX);
		return r < 0 ? r : 0;
	}
	if (!strcmp(n, "socket_inet")) return fd_result(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
	if (!strcmp(n, "socket_unix")) return fd_result(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	if (!strcmp(n, "socket_alg")) return fd_result(syscall(SYS_socket, 38, SOCK_SEQPACKET, 0));
	if (!strcmp(n, "socket_vsock")) return fd_result(syscall(SYS_socket, 40, SOCK_STREAM, 0));
	/* the kernel reads only the low 32 bits of the family: this is AF_VSOCK to it */
	if (!strcmp(n, "socket_vsock_hi")) return fd_result(syscall(SYS_socket, 0x100000028L, SOCK_STREAM, 0));
	if (!strcmp(n, "io_uring")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		return fd_result(syscall(SYS_io_uring_setup, 1, &p));
	}
	if (!strcmp(n, "userfaultfd")) return fd_result(syscall(SYS_userfaultfd, O_CLOEXEC));
	if (!strcmp(n, "ptrace")) return syscall(SYS_ptrace, 3 /* PEEKUSER */, 0x3ffffff0, 0, 0);
	if (!strcmp(n, "move_pages")) return syscall(SYS_move_pages, 0, 0, NULL, NULL, NULL, 0);
	if (!strcmp(n, "get_mempolicy")) return syscall(SYS_get_mempolicy, NULL, NULL, 0, 0, 0);
	if (!strcmp(n, "mount")) return syscall(SYS_mount, "none", nx, "tmpfs", 0, NULL);
	if (!strcmp(n, "umount")) return syscall(SYS_umount2, nx, 0);
	if (!strcmp(n, "setns")) return syscall(SYS_setns, -1, 0);
	if (!strcmp(n, "chroot")) return syscall(SYS_chroot, nx);
	if (!strcmp(n, "swapon")) return syscall(SYS_swapon, nx, 0);
	if (!strcmp(n, "pivot_root")) return syscall(SYS_pivot_root, nx, nx);
	if (!strcmp(n, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, NULL, 0);
	if (!strcmp(n, "syslog")) return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0) < 0 ? -1 : 0;
	if (!strcmp(n, "fsopen")) return fd_result(syscall(SYS_fsopen, "tmpfs", 0));
	if (!strcmp(n, "fanotify_init")) return fd_result(syscall(SYS_fanotify_init, 0, 0));
	if (!strcmp(n, "clock_settime")) {
		struct timespec ts = {0, 0};
		return syscall(SYS_clock_settime, 1000 /* no such clock */, &ts);
	}
	if (!strcmp(n, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
	if (!strcmp(n, "kcmp")) return syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0);
	if (!strcmp(n, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (!strcmp(n, "bpf")) return syscall(SYS_bpf, 0xffff, NULL, 0);
	errno = EINVAL;
	return -2;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		errno = 0;
		long r = probe(argv[i]);
		if (r == -2)
			return fprintf(stderr, "probe: unknown %s\n", argv[i]), 2;
		if (strcmp(argv[i], "euid"))
			printf("%s=%s\n", argv[i], r < 0 ? ename(errno) : "ok");
	}
	return 0;
}
`;

let probeDir: string | undefined;

/** The probe, compiled once per test file (static: the rootfs has no libc). */
function probeBinary(): string {
  if (probeDir) return join(probeDir, "probe");
  probeDir = mkdtempSync("/tmp/runjs-probe-");
  writeFileSync(join(probeDir, "probe.c"), PROBE_C);
  const r = Bun.spawnSync(["cc", "-static", "-O1", "-w", "-o", join(probeDir, "probe"), join(probeDir, "probe.c")]);
  if (r.exitCode !== 0) throw new Error(`cannot build the probe: ${r.stderr.toString()}`);
  return join(probeDir, "probe");
}

afterAll(() => {
  if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  removeCgroupParent();
});

function withProbe(env: Env, mode = 0o755): void {
  const dst = join(env.bundle, "rootfs/bin/probe");
  copyFileSync(probeBinary(), dst);
  chmodSync(dst, mode);
}

/** probe output → { name: "ok" | "EPERM" | ... } */
function parseProbe(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split("\n").filter((l) => l.includes("=")).map((l) => l.split("=") as [string, string]));
}

// ---- capabilities ---------------------------------------------------------------------------

/**
 * Shell: start `nc -l -p PORT` and print `yes` once the kernel shows it listening (state 0A in
 * /proc/net/tcp6, where busybox listens, or tcp; the container's own network namespace), `no`
 * if nc exits first.
 */
function listenOn(port: number, redirect: string, yes: string, no: string): string {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const listening = `cat /proc/net/tcp /proc/net/tcp6 | awk '$2 ~ /:${hex}$/ && $4 == "0A" {f=1} END {exit !f}'`;
  return (
    `nc -l -p ${port} ${redirect} & p=$!; r=${no}; ` +
    `for i in $(seq 100); do if ${listening}; then r=${yes}; break; fi; kill -0 $p 2>/dev/null || break; sleep 0.05; done; ` +
    `kill $p 2>/dev/null; wait $p 2>/dev/null; echo $r`
  );
}

const SETS = ["bounding", "effective", "permitted", "inheritable", "ambient"] as const;
const STATUS_FIELD = { bounding: "CapBnd", effective: "CapEff", permitted: "CapPrm", inheritable: "CapInh", ambient: "CapAmb" } as const;
const RUNC_DEFAULT = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** The capability masks of /proc/self/status. */
function capsOf(status: string): Record<(typeof SETS)[number], bigint> {
  const get = (f: string) => BigInt("0x" + status.match(new RegExp(`^${f}:\\s*([0-9a-f]+)$`, "m"))![1]!);
  return Object.fromEntries(SETS.map((s) => [s, get(STATUS_FIELD[s])])) as any;
}

/** What runjs itself may hand out: its bounding set is the test process's. */
const HOST_BOUNDING = capsOf(readFileSync("/proc/self/status", "utf8")).bounding;
const hasCap = (name: string) => (HOST_BOUNDING & capMask([name], "x")) !== 0n;
const HOST_CAPS = CAPABILITY_NAMES.filter(hasCap);

function expectCaps(env: Env, caps: LinuxCapabilities) {
  env.spec.process!.capabilities = caps;
  const r = runIn(env, ["cat", "/proc/self/status"]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const got = capsOf(r.out);
  for (const s of SETS) expect([s, got[s].toString(16)]).toEqual([s, capMask(caps[s] ?? [], s).toString(16)]);
}

describe("capabilities", () => {
  test("runc's default set: bounding = effective = permitted, nothing inheritable or ambient", () => {
    const env = newEnv();
    expect(env.spec.process!.capabilities).toEqual({ bounding: RUNC_DEFAULT, effective: RUNC_DEFAULT, permitted: RUNC_DEFAULT });
    expectCaps(env, env.spec.process!.capabilities!);
  });

  test("empty sets: a root process with no capability at all", () => {
    const env = newEnv();
    expectCaps(env, { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] });
    // and root without capabilities cannot do what root usually can
    env.spec.mounts!.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: [] });
    const r = runIn(env, ["sh", "-c", "touch /work/f && echo touch-ok; chown 1000 /work/f 2>&1; kill -0 1 && echo kill-self-ok"]);
    expect(r.out).toBe("touch-ok\nchown: /work/f: Operation not permitted\nkill-self-ok\n");
  });

  test("every capability runjs holds, in all five sets", () => {
    const env = newEnv();
    expect(HOST_CAPS.length).toBeGreaterThan(30);
    expectCaps(env, { bounding: HOST_CAPS, effective: HOST_CAPS, permitted: HOST_CAPS, inheritable: HOST_CAPS, ambient: HOST_CAPS });
  });

  test.skipIf(hasCap("CAP_SYS_RESOURCE"))("a capability runjs does not hold itself (CAP_SYS_RESOURCE here) fails create, naming process.capabilities", () => {
    const env = newEnv();
    const all = [...CAPABILITY_NAMES];
    env.spec.process!.capabilities = { bounding: all, effective: all, permitted: all };
    env.write();
    const r = env.runjs(["create", env.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("config.json: process.capabilities.effective: CAP_SYS_RESOURCE: not held by runjs itself, so it cannot be granted");
  });

  test("uid 1000 with CAP_NET_BIND_SERVICE ambient: the capability survives execve, port 80 can be bound", () => {
    const NBS = ["CAP_NET_BIND_SERVICE"];
    const env = newEnv();
    env.spec.process!.user = { uid: 1000, gid: 1000 };
    expectCaps(env, { bounding: NBS, effective: NBS, permitted: NBS, inheritable: NBS, ambient: NBS });
    const bind = listenOn(80, "2>/work/err", "bound", "refused");
    env.spec.mounts!.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: ["mode=1777"] });
    const r = runIn(env, ["sh", "-c", `id -u; ${bind}`]);
    expect(r.err).toBe("");
    expect(r.out).toBe("1000\nbound\n");
    // without the ambient set the capability is lost at execve: the bind is refused
    env.spec.process!.capabilities = { bounding: NBS, effective: NBS, permitted: NBS, inheritable: NBS };
    const r2 = runIn(env, ["sh", "-c", `grep CapEff /proc/self/status; ${bind}; cat /work/err`]);
    expect(r2.out).toMatch(/^CapEff:\s+0+\nrefused\n.*[Pp]ermission denied/);
  });

  test("uid 1000: a wider bounding set is kept apart from the other sets", () => {
    const env = newEnv();
    env.spec.process!.user = { uid: 1000, gid: 1000 };
    const one = ["CAP_NET_BIND_SERVICE"];
    expectCaps(env, { bounding: [...RUNC_DEFAULT, "CAP_CHOWN"], effective: one, permitted: one, inheritable: one, ambient: one });
  });

  test("an unknown capability name is left out with runc's warning; the known ones are granted", () => {
    for (const set of ["bounding", "effective", "permitted"] as const) {
      const env = newEnv();
      const caps: LinuxCapabilities = { bounding: [...RUNC_DEFAULT], effective: [...RUNC_DEFAULT], permitted: [...RUNC_DEFAULT] };
      caps[set] = [...RUNC_DEFAULT, "CAP_NOT_A_THING", "UNKNOWN_CAP"];
      env.spec.process!.capabilities = caps;
      env.spec.process!.args = ["grep", "CapBnd", "/proc/self/status"];
      env.write();
      const r = env.runjs(["run", env.id]);
      expect(r.code).toBe(0);
      expect(r.err).toContain("process.capabilities: ignoring unknown or unavailable capabilities: [CAP_NOT_A_THING UNKNOWN_CAP]");
      expect(r.out).toMatch(/CapBnd:\s+0*20000420\n/); // CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE
    }
  });
});

// ---- no_new_privs ---------------------------------------------------------------------------

describe("noNewPrivileges", () => {
  for (const nnp of [true, false]) {
    test(`noNewPrivileges ${nnp}: NoNewPrivs ${nnp ? 1 : 0}, and a setuid-root program ${nnp ? "stays uid 1000" : "becomes root"}`, () => {
      const env = newEnv();
      env.spec.process!.noNewPrivileges = nnp;
      env.spec.process!.user = { uid: 1000, gid: 1000 };
      withProbe(env, 0o4755); // setuid, and owned by root: the copy in the bundle is ours
      chownSync(join(env.bundle, "rootfs/bin/probe"), 0, 0);
      chmodSync(join(env.bundle, "rootfs/bin/probe"), 0o4755); // chown cleared the setuid bit
      const r = runIn(env, ["sh", "-c", "grep NoNewPrivs /proc/self/status; /bin/probe euid"]);
      expect(r.err).toBe("");
      expect(r.out).toMatch(new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}\\neuid=${nnp ? 1000 : 0}\\n$`));
    });
  }
});

// ---- oom_score_adj --------------------------------------------------------------------------

describe("oomScoreAdj", () => {
  test("positive values reach the process; absent, it inherits runjs's", () => {
    for (const v of [0, 500, 1000]) {
      const env = newEnv();
      env.spec.process!.oomScoreAdj = v;
      const r = runIn(env, ["cat", "/proc/self/oom_score_adj"]);
      expect(r.err).toBe("");
      expect(r.out).toBe(`${v}\n`);
    }
    const env = newEnv();
    delete env.spec.process!.oomScoreAdj;
    expect(runIn(env, ["cat", "/proc/self/oom_score_adj"]).out).toBe(readFileSync("/proc/self/oom_score_adj", "utf8"));
  });

  test(hasCap("CAP_SYS_RESOURCE") ? "a negative value reaches the process" : "a negative value needs CAP_SYS_RESOURCE, which runjs lacks here: create fails naming process.oomScoreAdj", () => {
    const env = newEnv();
    env.spec.process!.oomScoreAdj = -500;
    const r = runIn(env, ["cat", "/proc/self/oom_score_adj"]);
    if (hasCap("CAP_SYS_RESOURCE")) {
      expect(r.out).toBe("-500\n");
      expect(r.code).toBe(0);
    } else {
      expect(r.code).toBe(1);
      expect(r.err).toContain("process.oomScoreAdj: write /proc/self/oom_score_adj");
      expect(r.out).toBe("");
    }
  });
});

// ---- the default seccomp profile ------------------------------------------------------------

const isKnown = (n: string) => scmp.syscallResolveName(n) !== scmp.NR_SCMP_ERROR;

/** A bundle with the default profile for `profileCaps` and the probe. */
function seccompEnv(profileCaps: string[] = RUNC_DEFAULT, quiet = true): Env {
  const env = newEnv();
  env.spec.linux!.seccomp = defaultSeccompProfile(quiet ? { caps: profileCaps, isKnown } : { caps: profileCaps });
  withProbe(env);
  return env;
}

const ALL_HOST: LinuxCapabilities = { bounding: HOST_CAPS, effective: HOST_CAPS, permitted: HOST_CAPS };

// linux32 is personality(PER_LINUX32), one of the values the profile allows
const onX86_64 = process.arch === "x64";

describe("default seccomp profile", () => {
  for (const nnp of [true, false]) {
    test(`busybox works as usual under it (noNewPrivileges ${nnp}); Seccomp: 2`, () => {
      const env = seccompEnv();
      env.spec.process!.noNewPrivileges = nnp;
      env.spec.mounts!.push({ destination: "/work", type: "tmpfs", source: "tmpfs", options: [] });
      const script = [
        "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
        "ls / | tr '\\n' ' '; echo",
        "echo hello > /work/f && cat /work/f",
        "mkdir /work/d && mv /work/f /work/d/g && ln -s d/g /work/l && cat /work/l && rm -r /work/d /work/l && echo fs-ok",
        "sleep 0.1 & wait $! && echo sleep-ok",
        "(echo sub; exit 3); echo sub-rc=$?",
        "echo a b c | tr ' ' '\\n' | sort -r | head -1",
        "wget --help 2>&1 | head -1 | cut -d' ' -f1",
        "ps -o pid,comm | grep -c ps",
        "date +%Y >/dev/null && echo date-ok",
        onX86_64 ? "linux32 uname -m; linux64 uname -m" : "echo i686; echo x86_64",
        "id -u; hostname",
        listenOn(81, "", "listen-ok", "listen-failed"),
      ].join("; ");
      const r = runIn(env, ["sh", "-c", script]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out.split("\n")).toEqual([
        `NoNewPrivs:\t${nnp ? 1 : 0}`,
        "Seccomp:\t2",
        "bin dev etc proc root sys tmp work ",
        "hello",
        "hello",
        "fs-ok",
        "sleep-ok",
        "sub",
        "sub-rc=3",
        "c",
        "BusyBox",
        "1",
        "date-ok",
        "i686",
        "x86_64",
        "0",
        "runjs",
        "listen-ok",
        "",
      ]);
    });
  }

  // With every capability runjs has, only the filter (made for runc's default set) stands in
  // the way; each command is harmless if it did get through (container-local, or EINVAL).
  for (const [what, caps] of [["the default container", undefined], ["a container with every capability", ALL_HOST]] as const) {
    test(`what the profile blocks fails with EPERM from busybox: ${what}`, () => {
      const env = seccompEnv();
      if (caps) env.spec.process!.capabilities = caps;
      const cmds = [
        "unshare -n true",
        "mount -t tmpfs tmpfs /tmp",
        "umount /proc",
        "swapon /bin/busybox",
        "swapoff /bin/busybox",
        "chroot / true",
        "dmesg",
        "nsenter -t 1 -n true",
        "pivot_root /tmp /tmp",
      ];
      const script = cmds.map((c) => `${c} 2>&1 | grep -qiE 'operation not permitted|permission denied' && echo "${c.split(" ")[0]}: EPERM" || echo "${c.split(" ")[0]}: other"`).join("; ");
      const r = runIn(env, ["sh", "-c", script]);
      expect(r.code).toBe(0);
      expect(r.out.trim().split("\n")).toEqual(cmds.map((c) => `${c.split(" ")[0]}: EPERM`));
    });
  }

  const BLOCKED_ALWAYS = ["unshare0", "clone_newuser", "add_key", "keyctl", "personality_norandom", "socket_alg", "socket_vsock", "socket_vsock_hi", "io_uring", "userfaultfd", "move_pages", "get_mempolicy"];
  const FINE = ["getpid", "clone_plain", "personality_linux32", "socket_inet", "socket_unix"];

  test("the default container: blocked syscalls fail with EPERM, clone3 with ENOSYS, the rest works", () => {
    const env = seccompEnv();
    const r = runIn(env, ["/bin/probe", ...BLOCKED_ALWAYS, ...FINE, "clone3", "ptrace"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const got = parseProbe(r.out);
    for (const n of BLOCKED_ALWAYS) expect([n, got[n]]).toEqual([n, "EPERM"]);
    for (const n of FINE) expect([n, got[n]]).toEqual([n, "ok"]);
    expect(got.clone3).toBe("ENOSYS"); // so that libc falls back to clone
    expect(got.ptrace).toBe("ESRCH"); // allowed: no such process
  });

  test("control: without the profile the same calls are not refused (it is the filter that says EPERM)", () => {
    const env = newEnv();
    withProbe(env);
    const r = runIn(env, ["/bin/probe", "unshare0", "clone3", "personality_norandom", "move_pages", "get_mempolicy", "keyctl", "add_key", "socket_vsock_hi"]);
    expect(r.code).toBe(0);
    const got = parseProbe(r.out);
    expect(got).toMatchObject({ unshare0: "ok", clone3: "EINVAL", personality_norandom: "ok", move_pages: "ok", get_mempolicy: "ok" });
    expect(got.keyctl).not.toBe("EPERM");
    expect(got.add_key).not.toBe("EPERM");
    expect(got.socket_vsock_hi).not.toBe("EPERM");
  });

  // The container holds every capability runjs has; the filter made for runc's default set
  // must still refuse what only a capability would allow, and the one made for all of them
  // must let it through to the kernel (which then fails on the bad arguments).
  const CAP_GUARDED = ["mount", "umount", "setns", "chroot", "open_by_handle_at", "syslog", "fsopen", "fanotify_init", "clock_settime", "finit_module", "kcmp", "perf_event_open", "bpf", "clone_newnet", "unshare0"];

  test("all capabilities, profile for runc's default set: capability-guarded syscalls are still EPERM", () => {
    const env = seccompEnv(RUNC_DEFAULT);
    env.spec.process!.capabilities = ALL_HOST;
    const r = runIn(env, ["/bin/probe", ...CAP_GUARDED, "swapon", "pivot_root", "clone3"]);
    expect(r.code).toBe(0);
    const got = parseProbe(r.out);
    for (const n of [...CAP_GUARDED, "swapon", "pivot_root"]) expect([n, got[n]]).toEqual([n, "EPERM"]);
    expect(got.clone3).toBe("ENOSYS");
  });

  test("all capabilities, profile for all of them: capability-guarded syscalls reach the kernel; the never-allowed ones do not", () => {
    const env = seccompEnv(HOST_CAPS);
    env.spec.process!.capabilities = ALL_HOST;
    const r = runIn(env, ["/bin/probe", ...CAP_GUARDED, "clone3", "swapon", "pivot_root", ...BLOCKED_ALWAYS.filter((n) => n !== "unshare0" && n !== "clone_newuser" && n !== "get_mempolicy")]);
    expect(r.code).toBe(0);
    const got = parseProbe(r.out);
    const expected: Record<string, string | RegExp> = {
      mount: "ENOENT",
      umount: "ENOENT",
      setns: "EBADF",
      chroot: "ENOENT",
      open_by_handle_at: /^E(BADF|FAULT|INVAL)$/,
      syslog: "ok",
      fsopen: "ok",
      fanotify_init: "ok",
      clock_settime: "EINVAL",
      finit_module: /^E(BADF|NOSYS)$/, // ENOSYS: a kernel without module support
      kcmp: "ok",
      perf_event_open: "EFAULT",
      bpf: "EINVAL",
      clone_newnet: "ok",
      unshare0: "ok",
      clone3: "EINVAL",
    };
    for (const [n, want] of Object.entries(expected)) {
      if (typeof want === "string") expect([n, got[n]]).toEqual([n, want]);
      else expect([n, got[n]]).toEqual([n, expect.stringMatching(want)]);
    }
    for (const n of ["swapon", "pivot_root", "add_key", "keyctl", "personality_norandom", "socket_alg", "socket_vsock", "socket_vsock_hi", "io_uring", "userfaultfd", "move_pages"])
      expect([n, got[n]]).toEqual([n, "EPERM"]);
  });

  test("all capabilities, no profile: the same calls reach the kernel (the probe is harmless)", () => {
    const env = newEnv();
    withProbe(env);
    env.spec.process!.capabilities = ALL_HOST;
    const r = runIn(env, ["/bin/probe", "mount", "umount", "setns", "chroot", "swapon", "pivot_root", "clock_settime", "finit_module", "bpf"]);
    expect(parseProbe(r.out)).toEqual({
      mount: "ENOENT", umount: "ENOENT", setns: "EBADF", chroot: "ENOENT", swapon: "ENOENT", pivot_root: "ENOENT",
      clock_settime: "EINVAL", finit_module: expect.stringMatching(/^E(BADF|NOSYS)$/), bpf: "EINVAL",
    });
  });

  test("without isKnown: runjs warns only about the syscalls its libseccomp does not know, and the container runs", () => {
    const env = seccompEnv(RUNC_DEFAULT, false);
    const r = runIn(env, ["sh", "-c", "grep Seccomp: /proc/self/status; unshare -n true 2>/dev/null || echo unshare-refused"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("Seccomp:\t2\nunshare-refused\n");
    const profileNames = new Set(env.spec.linux!.seccomp!.syscalls!.flatMap((s) => s.names));
    const unknown = [...profileNames].filter((n) => !isKnown(n)).sort();
    const warned = r.err
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.match(/warning: config\.json: linux\.seccomp\.syscalls\[\d+\]: syscall "([a-z0-9_]+)" is not known to libseccomp/)?.[1] ?? l)
      .sort();
    expect(warned).toEqual(unknown);
  });
});
