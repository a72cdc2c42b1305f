// Hardening and process attributes against the real kernel, checked from inside the container
// and from the host: the sealed re-exec of runjs-init (CVE-2019-5736), seccomp user
// notification with a real agent, personality, I/O priority, scheduler, CPU affinity, the
// session keyring, sysctls, and the LSM fields on a kernel without AppArmor or SELinux.
//
// Two small C programs are compiled with cc into a temporary directory: a seccomp agent
// (receives the listener fd with SCM_RIGHTS and answers notifications) and a static probe
// that prints the session keyring, which busybox cannot show.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, constants, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { cleanupAll, newEnv, removeCgroupParent, REPO, type Env } from "./helpers.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const INIT = join(REPO, "bin/runjs-init");
const tools = mkdtempSync("/tmp/runjs-attrs-tools-");
const hasCc = Bun.spawnSync(["sh", "-c", "command -v cc"]).exitCode === 0;
afterAll(() => rmSync(tools, { recursive: true, force: true }));

function cc(name: string, src: string, flags: string[] = []): string {
  const c = join(tools, `${name}.c`);
  const out = join(tools, name);
  writeFileSync(c, src);
  const r = Bun.spawnSync(["cc", "-O2", "-Wall", ...flags, "-o", out, c], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc ${name}: ${r.stderr}`);
  return out;
}

/** Bundle for one test: writable rootfs, no seccomp profile (the default one may refuse keyctl). */
function env(args: string[]): Env {
  const e = newEnv(args);
  e.spec.root!.readonly = false;
  delete e.spec.linux!.seccomp;
  e.write();
  return e;
}

function run(e: Env, script: string, extra: string[] = []) {
  e.spec.process!.args = ["sh", "-c", script];
  e.write();
  return e.runjs(["run", ...extra, e.id]);
}

function sha(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

function initPid(e: Env): number {
  return JSON.parse(e.runjs(["state", e.id]).out).pid;
}

/** Opening for writing must fail; returns the error code. */
function openForWrite(path: string): string {
  try {
    closeSync(openSync(path, constants.O_WRONLY));
    return "opened";
  } catch (err: any) {
    return err.code;
  }
}

describe("sealed re-exec", () => {
  test("a created container's init runs from a sealed memfd that cannot be opened for writing", () => {
    const before = sha(INIT);
    const e = env(["sleep", "10"]);
    expect(e.runjs(["create", e.id]).code).toBe(0);
    const pid = initPid(e);
    expect(readlinkSync(`/proc/${pid}/exe`)).toStartWith("/memfd:runjs-init");
    expect(readFileSync(`/proc/${pid}/comm`, "utf8")).toBe("runjs:[INIT]\n");
    expect(["ETXTBSY", "EPERM"]).toContain(openForWrite(`/proc/${pid}/exe`));
    // the copy is the very binary: same bytes
    expect(new Bun.CryptoHasher("sha256").update(readFileSync(`/proc/${pid}/exe`)).digest("hex")).toBe(before);
    // The CVE's second step: keep a handle, let the init exec, reopen the handle for writing.
    // Nothing executes the memfd any more, so the open may succeed; the seal refuses the write.
    const held = openSync(`/proc/${pid}/exe`, "r");
    try {
      expect(e.runjs(["start", e.id]).code).toBe(0);
      for (let i = 0; i < 200 && readlinkSync(`/proc/${pid}/exe`).startsWith("/memfd:"); i++) Bun.sleepSync(5);
      let wrote = "refused";
      try {
        const w = openSync(`/proc/self/fd/${held}`, constants.O_WRONLY);
        try {
          writeSync(w, "x");
          wrote = "WROTE";
        } catch (err: any) {
          expect(err.code).toBe("EPERM");
        } finally {
          closeSync(w);
        }
      } catch (err: any) {
        expect(["ETXTBSY", "EPERM"]).toContain(err.code);
      }
      expect(wrote).toBe("refused");
    } finally {
      closeSync(held);
    }
    expect(sha(INIT)).toBe(before);
  });

  test("the init's /proc/<pid>/fd and exe are closed to the container: it is not dumpable", () => {
    const e = env(["true"]);
    e.spec.hooks = {
      startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "grep -c . /proc/1/comm; for f in /proc/1/fd/*; do readlink $f >/dev/null 2>&1 && echo fd-followed; done; head -c 4 /proc/1/exe >/dev/null 2>&1 && echo exe-read; true"] }],
    };
    e.spec.process!.args = ["sh", "-c", "readlink /proc/1/fd/0 >/dev/null && echo own-fds-ok"];
    e.write();
    const r = e.runjs(["run", e.id]);
    // the hook sees pid 1 exist but gets nothing from it; the program, once exec'd, is dumpable
    expect(r.out).toBe("1\nown-fds-ok\n");
    expect(r.code).toBe(0);
  });

  // CVE-2019-5736 itself, from inside: a startContainer hook runs in the container after
  // pivot_root while pid 1 is still runjs-init, and keeps an fd on /proc/1/exe; once the init
  // has exec'd the container's program (and, with create + start, no process runs runjs-init
  // any more), a child of the hook reopens that fd for writing through /proc/self/fd. Against
  // an unsealed runjs-init this appends to the host's binary; here it must be refused. It runs
  // a hard link of bin/runjs next to a *copy* of runjs-init, so that a regression damages
  // only the copy.
  test("a container cannot reopen the init's executable for writing after the exec (create + start)", () => {
    const bin = join(tools, "cve");
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, "runjs"))) linkSync(join(REPO, "bin/runjs"), join(bin, "runjs"));
    cpSync(INIT, join(bin, "runjs-init"));
    const before = sha(join(bin, "runjs-init"));
    const e = env(["sh", "-c", "i=0; while [ ! -e /tmp/result ] && [ $i -lt 500 ]; do usleep 10000; i=$((i+1)); done"]);
    // Two defences: the init is not dumpable (the open is refused), and were it opened, the
    // file is the sealed copy (the write is refused).
    const attack =
      "if ! (: </proc/1/exe) 2>/dev/null; then echo open-refused >/tmp/result; exit 0; fi; " +
      "exec 3</proc/1/exe; readlink /proc/self/fd/3 >/tmp/exe; " +
      "(i=0; while [ \"$(readlink /proc/1/exe)\" != /bin/busybox ] && [ $i -lt 500 ]; do usleep 10000; i=$((i+1)); done; " +
      "if printf x >>/proc/self/fd/3; then echo WROTE; else echo refused; fi >/tmp/result 2>/dev/null) &";
    e.spec.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", attack] }] };
    e.write();
    // files, not pipes: the detached container keeps runjs's stdio open
    const out = openSync(join(e.dir, "cve.out"), "w");
    const rj = (...a: string[]) => Bun.spawnSync([join(bin, "runjs"), "--root", e.root, ...a], { cwd: e.bundle, stdout: out, stderr: out });
    expect(rj("create", e.id).exitCode).toBe(0);
    expect(rj("start", e.id).exitCode).toBe(0);
    const result = join(e.bundle, "rootfs/tmp/result");
    for (let i = 0; i < 500 && !(existsSync(result) && readFileSync(result, "utf8")); i++) Bun.sleepSync(10);
    const got = readFileSync(result, "utf8");
    expect(["open-refused\n", "refused\n"]).toContain(got);
    if (got === "refused\n") expect(readFileSync(join(e.bundle, "rootfs/tmp/exe"), "utf8")).toStartWith("/memfd:runjs-init");
    expect(sha(join(bin, "runjs-init"))).toBe(before);
    closeSync(out);
  });
});

describe.skipIf(!hasCc)("seccomp user notification", () => {
  let agentBin = "";
  beforeAll(() => {
    agentBin = cc("agent", AGENT_C);
  });

  /** Start the agent on a socket in the test's directory; wait until it listens. */
  function startAgent(e: Env, errno: number) {
    const sock = join(e.dir, "agent.sock");
    const log = join(e.dir, "agent.log");
    const state = join(e.dir, "agent.state");
    const fd = openSync(log, "w");
    const proc = Bun.spawn([agentBin, sock, state, String(errno)], { stdout: fd, stderr: fd });
    closeSync(fd);
    for (let i = 0; i < 500 && !readFileSync(log, "utf8").includes("ready"); i++) Bun.sleepSync(10);
    return { sock, log: () => readFileSync(log, "utf8"), state: () => JSON.parse(readFileSync(state, "utf8")), proc };
  }

  for (const nnp of [true, false])
    test(`the agent gets the listener and the state, and answers mkdir (noNewPrivileges ${nnp})`, async () => {
      const e = env(["true"]);
      const agent = startAgent(e, 0);
      try {
        e.spec.process!.noNewPrivileges = nnp;
        e.spec.annotations = { "org.example.k": "v" };
        e.spec.linux!.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
          listenerPath: agent.sock,
          listenerMetadata: "answer=fake-success",
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        };
        // The agent answers "success" without doing anything: the directory never appears.
        const r = run(e, "mkdir /tmp/x && echo mkdir-ok; [ -d /tmp/x ] && echo exists || echo absent; grep ^Seccomp: /proc/self/status");
        expect(r.err).toBe("");
        expect(r.out).toBe("mkdir-ok\nabsent\nSeccomp:\t2\n");
        expect(r.code).toBe(0);
        expect(existsSync(join(e.bundle, "rootfs/tmp/x"))).toBe(false);
        expect(agent.log()).toMatch(/notification nr=(83|258)\n/);
        const s = agent.state();
        expect(s).toMatchObject({
          ociVersion: "1.3.0",
          fds: ["seccompFd"],
          metadata: "answer=fake-success",
          state: { id: e.id, status: "creating", bundle: e.bundle, annotations: { "org.example.k": "v" } },
        });
        expect(s.pid).toBeGreaterThan(1);
        expect(s.pid).toBe(s.state.pid);
      } finally {
        agent.proc.kill();
        await agent.proc.exited;
      }
    });

  test("an errno answer reaches the container", async () => {
    const e = env(["true"]);
    const agent = startAgent(e, 18 /* EXDEV */);
    try {
      e.spec.linux!.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: agent.sock,
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      };
      const r = run(e, "mkdir /tmp/x; echo rc=$?");
      expect(r.out).toBe("rc=1\n");
      expect(r.err).toContain("Invalid cross-device link");
    } finally {
      agent.proc.kill();
      await agent.proc.exited;
    }
  });

  // The agent reads the state until EOF; the init's own close() after the install is then
  // notified too, which must not deadlock: the end of the message is a shutdown(2). (The
  // agent lets each close run: faking its success would keep the control socket open.)
  test("notifying close: the init's own closes reach an agent that already has everything", async () => {
    const e = env(["true"]);
    const agent = startAgent(e, -1);
    try {
      e.spec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: agent.sock, syscalls: [{ names: ["close"], action: "SCMP_ACT_NOTIFY" }] };
      const r = run(e, "echo hello");
      expect(r.out).toBe("hello\n");
      expect(r.code).toBe(0);
      expect(agent.log()).toMatch(/notification nr=3\n/);
    } finally {
      agent.proc.kill();
      await agent.proc.exited;
    }
  });

  test("no agent at listenerPath: create fails naming the field, nothing is left", () => {
    const e = env(["true"]);
    e.spec.linux!.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: join(e.dir, "nobody.sock"),
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    };
    e.write();
    const r = e.runjs(["create", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`runjs: linux.seccomp.listenerPath: connect ${join(e.dir, "nobody.sock")}: failed to connect with seccomp agent: No such file or directory\n`);
    expect(existsSync(join(e.root, e.id))).toBe(false);
  });
});

describe("process attributes, seen from inside", () => {
  test("linux.personality LINUX32: /proc/self/personality is 8 and uname says i686", () => {
    const e = env(["true"]);
    e.spec.linux!.personality = { domain: "LINUX32" };
    const r = run(e, "cat /proc/self/personality; uname -m");
    expect(r.out).toStartWith("00000008\n");
    if (process.arch === "x64") expect(r.out).toBe("00000008\ni686\n");
    expect(r.code).toBe(0);
  });

  test("linux.personality LINUX: unchanged", () => {
    const e = env(["true"]);
    e.spec.linux!.personality = { domain: "LINUX" };
    expect(run(e, "cat /proc/self/personality").out).toBe("00000000\n");
  });

  for (const [cls, prio, want] of [
    ["IOPRIO_CLASS_IDLE", 0, "idle"],
    ["IOPRIO_CLASS_BE", 6, "best-effort: prio 6"],
    ["IOPRIO_CLASS_RT", 3, "realtime: prio 3"],
  ] as const)
    test(`process.ioPriority ${cls} ${prio}: ionice shows "${want}"`, () => {
      const e = env(["true"]);
      e.spec.process!.ioPriority = { class: cls, priority: prio };
      const r = run(e, "ionice -p $$");
      expect(r.out).toBe(`${want}\n`);
      expect(r.code).toBe(0);
    });

  // /proc/PID/stat: field 19 is nice, 41 the policy (SCHED_BATCH 3, SCHED_IDLE 5). Real-time
  // policies are not tested: with the v1 cpu controller (CONFIG_RT_GROUP_SCHED) the
  // container's cgroup has no real-time runtime, and the kernel refuses them with EPERM.
  test("process.scheduler SCHED_BATCH with nice 7", () => {
    const e = env(["true"]);
    e.spec.process!.scheduler = { policy: "SCHED_BATCH", nice: 7 };
    const r = run(e, "cut -d' ' -f19,41 /proc/self/stat");
    expect(r.out).toBe("7 3\n");
  });

  test("process.scheduler SCHED_IDLE", () => {
    const e = env(["true"]);
    e.spec.process!.scheduler = { policy: "SCHED_IDLE" };
    expect(run(e, "cut -d' ' -f41 /proc/self/stat").out).toBe("5\n");
  });

  test("process.scheduler refused by the kernel: create fails naming the field, nothing left", () => {
    const e = env(["true"]);
    // runtime > deadline: sched_setattr(2) says EINVAL
    e.spec.process!.scheduler = { policy: "SCHED_DEADLINE", runtime: 2_000_000, deadline: 1_000_000, period: 3_000_000 };
    e.write();
    const r = e.runjs(["create", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^runjs: process\.scheduler: sched_setattr: /);
    expect(existsSync(join(e.root, e.id))).toBe(false);
  });

  const twoCpus = availableParallelism() >= 2 && readFileSync("/proc/self/status", "utf8").includes("Cpus_allowed_list:\t0-");
  test.skipIf(!twoCpus)("process.execCPUAffinity: final is the container's affinity", () => {
    const e = env(["true"]);
    e.spec.process!.execCPUAffinity = { initial: "0", final: "1" };
    expect(run(e, "grep Cpus_allowed_list /proc/self/status").out).toBe("Cpus_allowed_list:\t1\n");
  });

  test.skipIf(!twoCpus)("process.execCPUAffinity: initial alone stays (the kernel keeps a requested mask across the cgroup move)", () => {
    const e = env(["true"]);
    e.spec.process!.execCPUAffinity = { initial: "1" };
    expect(run(e, "grep Cpus_allowed_list /proc/self/status").out).toBe("Cpus_allowed_list:\t1\n");
  });

  test("process.execCPUAffinity: CPUs that do not exist fail create, named", () => {
    const e = env(["true"]);
    e.spec.process!.execCPUAffinity = { final: "4000" };
    e.write();
    const r = e.runjs(["create", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("runjs: process.execCPUAffinity.final: sched_setaffinity: invalid argument (EINVAL)\n");
  });
});

describe.skipIf(!hasCc)("session keyring", () => {
  let probe = "";
  let hostRing = "";
  beforeAll(() => {
    probe = cc("keyprobe", KEYPROBE_C, ["-static"]);
    hostRing = Bun.spawnSync([probe]).stdout.toString().trim().split(" ")[0]!;
  });

  function withProbe(): Env {
    const e = env(["/bin/keyprobe"]);
    cpSync(probe, join(e.bundle, "rootfs/bin/keyprobe"));
    return e;
  }

  test("a new anonymous session keyring by default", () => {
    const e = withProbe();
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(0);
    const [id, desc] = r.out.trim().split(" ");
    expect(id).not.toBe(hostRing);
    expect(desc).toMatch(/^keyring;0;0;[0-9a-f]+;_ses$/);
  });

  test("--no-new-keyring keeps the caller's", () => {
    const e = withProbe();
    const r = e.runjs(["run", "--no-new-keyring", e.id]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split(" ")[0]).toBe(hostRing);
  });
});

describe("linux.sysctl", () => {
  test("namespaced sysctls are set inside and leave the host alone", () => {
    const hostShm = readFileSync("/proc/sys/kernel/shmmax", "utf8");
    const hostFwd = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const e = env(["true"]);
    const want = hostFwd.trim() === "1" ? "0" : "1";
    e.spec.linux!.sysctl = { "kernel.shmmax": "123456789", "net.ipv4.ip_forward": want, "net/ipv4/conf/lo/forwarding": want };
    const r = run(e, "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/lo/forwarding");
    expect(r.err).toBe("");
    expect(r.out).toBe(`123456789\n${want}\n${want}\n`);
    expect(readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(hostShm);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostFwd);
  });

  test("a sysctl that is not namespaced is refused before anything is created, named", () => {
    const e = env(["true"]);
    e.spec.linux!.sysctl = { "vm.swappiness": "10" };
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('runjs: config.json: linux.sysctl["vm.swappiness"]: is not namespaced, so a container cannot set it\n');
    expect(existsSync(e.root) && existsSync(join(e.root, e.id))).toBe(false);
  });

  test("a value the kernel refuses fails create, naming the key", () => {
    const e = env(["true"]);
    e.spec.linux!.sysctl = { "net.ipv4.ip_forward": "not-a-number" };
    e.write();
    const r = e.runjs(["create", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('runjs: linux.sysctl["net.ipv4.ip_forward"]: write /proc/sys/net/ipv4/ip_forward: invalid argument (EINVAL)\n');
    expect(existsSync(join(e.root, e.id))).toBe(false);
  });

  test("a net sysctl without a network namespace is refused", () => {
    const e = env(["true"]);
    e.spec.linux!.namespaces = e.spec.linux!.namespaces!.filter((n) => n.type !== "network");
    e.spec.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("requires a network namespace in linux.namespaces");
  });
});

// This kernel has neither module; on one that has them these errors do not apply.
const lsms = existsSync("/sys/kernel/security/lsm") ? readFileSync("/sys/kernel/security/lsm", "utf8") : "";
const noAppArmor = !lsms.includes("apparmor") && !existsSync("/sys/module/apparmor/parameters/enabled");
const noSELinux = !lsms.includes("selinux") && !existsSync("/sys/fs/selinux/enforce");

describe("LSM fields on a kernel without AppArmor and SELinux", () => {
  test.skipIf(!noAppArmor)("process.apparmorProfile is an error, before anything is created", () => {
    const e = env(["true"]);
    e.spec.process!.apparmorProfile = "acme_secure_profile";
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("runjs: config.json: process.apparmorProfile: AppArmor is not enabled on this kernel\n");
    expect(existsSync(join(e.root, e.id))).toBe(false);
  });

  test.skipIf(!noSELinux)("process.selinuxLabel is an error", () => {
    const e = env(["true"]);
    e.spec.process!.selinuxLabel = "system_u:system_r:svirt_lxc_net_t:s0:c124,c675";
    e.write();
    const r = e.runjs(["run", e.id]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("runjs: config.json: process.selinuxLabel: SELinux is not enabled on this kernel\n");
  });

  test.skipIf(!noSELinux)("linux.mountLabel is skipped with a warning and the container runs", () => {
    const e = env(["true"]);
    e.spec.linux!.mountLabel = "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811";
    const r = run(e, "grep -c context= /proc/self/mountinfo");
    expect(r.err).toBe("runjs: warning: config.json: linux.mountLabel: SELinux is not enabled on this kernel: ignored\n");
    expect(r.out).toBe("0\n");
  });
});

// A seccomp agent: accept one connection on SOCKET, take the listener fd (SCM_RIGHTS) and the
// container process state (the bytes, until the runtime closes), save the state to STATEFILE,
// then answer every notification with -ERRNO (0: success, without doing anything; -1: let the
// syscall run), logging each, until the container is gone (POLLHUP) or 60 s have passed.
const AGENT_C = String.raw`
#define _GNU_SOURCE
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s, c, fd, err;
	ssize_t n, len;
	if (argc != 4) return 2;
	alarm(60);
	err = atoi(argv[3]);
	strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 1)) { perror("bind"); return 1; }
	printf("ready\n"); fflush(stdout);
	if ((c = accept(s, NULL, NULL)) < 0) { perror("accept"); return 1; }
	struct iovec iov = {buf, sizeof buf - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b};
	if ((len = recvmsg(c, &mh, 0)) <= 0) { perror("recvmsg"); return 1; }
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd\n"); return 1; }
	memcpy(&fd, CMSG_DATA(h), sizeof fd);
	while ((n = read(c, buf + len, sizeof buf - 1 - len)) > 0) len += n;
	FILE *f = fopen(argv[2], "w");
	fwrite(buf, 1, len, f);
	fclose(f);
	printf("listener fd %d, state %zd bytes\n", fd, len); fflush(stdout);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		if (poll(&p, 1, -1) < 0) continue;
		if (p.revents & (POLLHUP | POLLERR)) break;
		memset(&req, 0, sizeof req);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		if (err < 0)
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		else
			resp.error = -err;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		printf("notification nr=%d\n", req.data.nr); fflush(stdout);
	}
	printf("done\n");
	return 0;
}
`;

// Prints the session keyring's serial and description (type;uid;gid;perm;name).
const KEYPROBE_C = String.raw`
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char d[256];
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, d, sizeof d);
	if (id < 0 || n < 0) { perror("keyctl"); return 1; }
	printf("%ld %s\n", id, d);
	return 0;
}
`;
