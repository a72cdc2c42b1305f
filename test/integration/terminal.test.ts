// Terminals for real: a pty made inside the container, its master received on a console
// socket the way containerd and conmon receive it, and an attached `run` bridging a terminal
// of our own (runjs runs on a pty this test made, as it would in a user's shell).
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { close, setWinsize } from "../../src/sys/libc.ts";
import { cgroupDirsOf, cleanupAll, liveHelpers, newEnv, removeCgroupParent, RUNJS, type Env } from "./helpers.ts";
import { ConsoleListener, openPty, Terminal } from "./pty.ts";

afterEach(cleanupAll);
afterAll(removeCgroupParent);

const { tcgetattr } = dlopen("libc.so.6", { tcgetattr: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } }).symbols;
function termios(fd: number): string {
  const b = new Uint8Array(60);
  if (tcgetattr(fd, ptr(b)) < 0) throw new Error("tcgetattr failed");
  return Buffer.from(b).toString("hex");
}

/** create with a console socket, receive the master, start: a terminal on the container's shell. */
function createWithTerminal(env: Env): { t: Terminal; text: string } {
  const sock = join(env.dir, "console.sock");
  const l = new ConsoleListener(sock);
  try {
    const r = env.runjs(["create", "--console-socket", sock, env.id]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const { master, text } = l.receiveMaster();
    expect(env.runjs(["start", env.id]).code).toBe(0);
    return { t: new Terminal(master), text };
  } finally {
    l.close();
  }
}

/** Wait until a process of the container runs `name` in the foreground (so a Ctrl-C is its). */
function waitForeground(env: Env, name: string): void {
  for (let i = 0; i < 500; i++) {
    const pids: number[] = JSON.parse(env.runjs(["ps", "--format", "json", env.id]).out || "[]");
    for (const p of pids) {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // comm, and pgrp (field 5) = the terminal's foreground group (field 8)
        if (stat.includes(`(${name})`) && f[2] === f[5]) return;
      } catch {
        /* gone */
      }
    }
    Bun.sleepSync(10);
  }
  throw new Error(`no ${name} in the foreground of ${env.id}`);
}

function waitStopped(env: Env): void {
  for (let i = 0; i < 300 && !env.runjs(["state", env.id]).out.includes('"stopped"'); i++) Bun.sleepSync(10);
}

describe("--console-socket", () => {
  test("the master arrives as runc sends it; the shell's terminal is a /dev/pts of its own", () => {
    const env = newEnv(["sh"]);
    env.spec.process!.terminal = true;
    env.spec.process!.consoleSize = { height: 30, width: 100 };
    env.write();
    const { t, text } = createWithTerminal(env);
    expect(text).toBe("/dev/ptmx");
    t.type("echo hi; tty; stty size\n");
    const out = t.expect(/\d+ \d+\r\n/);
    expect(out).toMatch(/\r\nhi\r\n/);
    expect(out).toMatch(/\r\n\/dev\/pts\/\d+\r\n/);
    expect(out).toMatch(/\r\n30 100\r\n/);
    // /dev/console is the same terminal (as a booted init's console would be)
    t.type("[ $(stat -L -c %t:%T /dev/console) = $(stat -L -c %t:%T $(tty)) ] && echo console-ok\n");
    t.expect(/\r\nconsole-ok\r\n/);
    t.type("exit 5\n");
    waitStopped(env);
    t.close();
    expect(env.runjs(["delete", env.id]).code).toBe(0);
  });

  test("a resize reaches the container, and Ctrl-C interrupts a foreground sleep", () => {
    const env = newEnv(["sh"]);
    env.spec.process!.terminal = true;
    env.write();
    const { t } = createWithTerminal(env);
    t.resize(41, 133);
    t.type("stty size\n");
    t.expect(/\r\n41 133\r\n/);
    t.type("sleep 100\n");
    t.expect(/sleep 100\r\n/);
    waitForeground(env, "sleep");
    t.resize(20, 60); // while sleep has the terminal
    t.type("\x03"); // Ctrl-C: SIGINT from the container's own line discipline
    t.type("echo status=$?\n");
    expect(t.expect(/status=\d+/)).toContain("status=130");
    t.type("stty size\n");
    t.expect(/\r\n20 60\r\n/);
    t.close(); // hang-up: the shell gets SIGHUP and exits
    waitStopped(env);
    expect(env.runjs(["state", env.id]).out).toContain('"stopped"');
  });

  test("a non-root process owns its terminal and can reopen it", () => {
    const env = newEnv(["sh"]);
    env.spec.process!.terminal = true;
    env.spec.process!.user = { uid: 1000, gid: 1000 };
    env.write();
    const { t } = createWithTerminal(env);
    t.type("id -u; stat -c owner=%u $(tty); echo reopened > $(tty)\n");
    const out = t.expect(/reopened\r\n/);
    expect(out).toContain("owner=1000");
    t.type("exit\n");
    t.close();
  });

  test("mistakes are refused before anything is created", () => {
    const env = newEnv(["sh"]);
    env.spec.process!.terminal = true;
    env.write();
    const check = (args: string[], re: RegExp) => {
      const r = env.runjs(args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(re);
      expect(existsSync(join(env.root, env.id))).toBe(false);
      expect(cgroupDirsOf(env.id)).toEqual([]);
    };
    check(["create", env.id], /process\.terminal: cannot allocate a terminal for a detached container without --console-socket/);
    check(["run", "-d", env.id], /without --console-socket/);
    check(["create", "--console-socket", join(env.dir, "nobody.sock"), env.id], /--console-socket: connect .*nobody\.sock: no such file/);
    env.spec.process!.terminal = false;
    env.write();
    const l = new ConsoleListener(join(env.dir, "c.sock"));
    check(["create", "--console-socket", join(env.dir, "c.sock"), env.id], /--console-socket: only for a detached container whose process\.terminal is true/);
    l.close();
  });
});

describe("attached run on a terminal", () => {
  test("bridges the caller's terminal: size, resize, keys, exit status, settings restored", async () => {
    const env = newEnv(["sh"]);
    env.spec.process!.terminal = true;
    env.write();
    const helpersBefore = liveHelpers();
    const [m, s] = openPty();
    setWinsize(m, 33, 111);
    const before = termios(m);
    // setsid -c: runjs gets a session with this pty as its controlling terminal, so resizing
    // sends it SIGWINCH, as in a user's shell.
    const p = Bun.spawn(["setsid", "-c", RUNJS, "--root", env.root, "run", env.id], { cwd: env.bundle, stdio: [s, s, s] });
    close(s);
    const t = new Terminal(m);
    try {
      t.expect(/# /); // the container's prompt: runjs's terminal is raw by now
      expect(termios(m)).not.toBe(before);
      t.type("stty size\n");
      // ONLCR is cleared on a bridged pty, as runc does: "\n" arrives as "\n"
      t.expect(/\n33 111\n/);
      setWinsize(m, 40, 120);
      Bun.sleepSync(100);
      t.type("stty size; tty; sleep 100\n");
      const out = t.expect(/sleep 100\n.*40 120\n\/dev\/pts\/\d+\n/s);
      expect(out).toContain("40 120");
      waitForeground(env, "sleep");
      t.type("\x03");
      t.type("echo status=$?; exit 7\n");
      expect(t.expect(/status=\d+/)).toContain("status=130");
      expect(await p.exited).toBe(7);
      expect(termios(m)).toBe(before);
      expect(existsSync(join(env.root, env.id))).toBe(false);
      expect(liveHelpers()).toEqual(helpersBefore);
    } finally {
      p.kill("SIGKILL");
      t.close();
    }
  });
});
