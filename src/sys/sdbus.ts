// Thin bun:ffi binding to sd-bus, systemd's D-Bus client library (libsystemd.so.0, present on
// every systemd host), loaded on first use: only the systemd cgroup driver needs it.
//
// What D-Bus is here: systemd's manager is an object (/org/freedesktop/systemd1) whose
// methods (StartTransientUnit, StopUnit, SetUnitProperties …) take typed arguments. A message
// is built by appending values in the order of its signature: basic values (s string, o object
// path, b boolean, u uint32, t uint64, …) and containers (a array, (…) struct, v variant).
// sd-bus copies each value as it is appended, so nothing here has to outlive a call.
//
// As root runjs talks to systemd directly on its private socket, /run/systemd/private (what
// systemctl does): no bus daemon in between, and systemd sends a job's JobRemoved signal to
// the connection that queued the job, so no match rule is needed to learn how it ended. A
// rootless runjs uses the user manager's private socket, $XDG_RUNTIME_DIR/systemd/private.
// Without a private socket, the bus (system or session) serves, with a match rule for the
// signal.
//
// Every function here throws a DbusError that names the method and what systemd answered;
// policy (which unit, which properties) lives in src/cgroups/systemd.ts.
import { CString, dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import { strerror } from "./libc.ts";

const { i32, i8, u64, ptr: P, void: V } = FFIType;

let lib: ReturnType<typeof open> | undefined;

function open() {
  return dlopen("libsystemd.so.0", {
    sd_bus_new: { args: [P], returns: i32 },
    sd_bus_set_address: { args: [P, P], returns: i32 },
    sd_bus_start: { args: [P], returns: i32 },
    sd_bus_open_system: { args: [P], returns: i32 },
    sd_bus_open_user: { args: [P], returns: i32 },
    sd_bus_flush_close_unref: { args: [P], returns: P },
    sd_bus_message_new_method_call: { args: [P, P, P, P, P, P], returns: i32 },
    sd_bus_message_append_basic: { args: [P, i8, P], returns: i32 },
    sd_bus_message_append_array: { args: [P, i8, P, u64], returns: i32 },
    sd_bus_message_open_container: { args: [P, i8, P], returns: i32 },
    sd_bus_message_close_container: { args: [P], returns: i32 },
    sd_bus_message_enter_container: { args: [P, i8, P], returns: i32 },
    sd_bus_message_exit_container: { args: [P], returns: i32 },
    sd_bus_message_read_basic: { args: [P, i8, P], returns: i32 },
    sd_bus_message_is_signal: { args: [P, P, P], returns: i32 },
    sd_bus_message_unref: { args: [P], returns: P },
    sd_bus_call: { args: [P, P, u64, P, P], returns: i32 },
    sd_bus_process: { args: [P, P], returns: i32 },
    sd_bus_wait: { args: [P, u64], returns: i32 },
    sd_bus_error_free: { args: [P], returns: V },
  }).symbols;
}

function L() {
  if (!lib) {
    try {
      lib = open();
    } catch (e: any) {
      throw new DbusError("connect", `libsystemd.so.0 cannot be loaded (${e.message}): is this a systemd host?`);
    }
  }
  return lib;
}

export class DbusError extends Error {
  constructor(
    public method: string,
    public detail: string,
    /** The D-Bus error name systemd answered with (org.freedesktop.systemd1.NoSuchUnit …). */
    public errorName?: string,
  ) {
    super(`systemd: ${method}: ${detail}`);
  }
}

const cstr = (s: string) => Buffer.from(s + "\0");
const ch = (c: string) => c.charCodeAt(0);
const strerr = (r: number) => strerror(-r);

/** A D-Bus value with its signature: ["s", "x"], ["t", 5n], ["a(sv)", [["Slice", ["s", "a.slice"]]]]. */
export type Typed = [string, unknown];

/** Split a signature into its complete types: "a(sv)as" → ["a(sv)", "as"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sig.length) {
    const start = i;
    const one = (): void => {
      const c = sig[i++];
      if (c === "a") return one();
      if (c === "(" || c === "{") {
        const close = c === "(" ? ")" : "}";
        while (sig[i] !== close) {
          if (i >= sig.length) throw new Error(`D-Bus signature ${sig}: unclosed ${c}`);
          one();
        }
        i++;
      }
    };
    one();
    out.push(sig.slice(start, i));
  }
  return out;
}

const BASIC_SIZE: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };

function appendBasic(m: Pointer, t: string, v: unknown): number {
  if (t === "s" || t === "o" || t === "g") return L().sd_bus_message_append_basic(m, ch(t), ptr(cstr(String(v))));
  const size = BASIC_SIZE[t];
  if (size === undefined) throw new Error(`D-Bus type ${t}: not supported here`);
  const b = new DataView(new ArrayBuffer(8));
  if (t === "y") b.setUint8(0, Number(v));
  else if (t === "b") b.setInt32(0, v ? 1 : 0, true);
  else if (t === "n") b.setInt16(0, Number(v), true);
  else if (t === "q") b.setUint16(0, Number(v), true);
  else if (t === "i" || t === "h") b.setInt32(0, Number(v), true);
  else if (t === "u") b.setUint32(0, Number(v), true);
  else if (t === "x") b.setBigInt64(0, BigInt(v as any), true);
  else if (t === "t") b.setBigUint64(0, BigInt(v as any), true);
  else b.setFloat64(0, Number(v), true);
  return L().sd_bus_message_append_basic(m, ch(t), ptr(new Uint8Array(b.buffer)));
}

/** Append one value of complete type `sig` to message m. */
function append(m: Pointer, sig: string, v: unknown): void {
  const check = (r: number, what: string) => {
    if (r < 0) throw new DbusError("append", `${what} (${sig}): ${strerr(r)}`);
  };
  const c = sig[0]!;
  if (c === "a") {
    const elem = sig.slice(1);
    if (elem === "y") return check(L().sd_bus_message_append_array(m, ch("y"), ptr(v as Uint8Array), BigInt((v as Uint8Array).length)), "bytes");
    check(L().sd_bus_message_open_container(m, ch("a"), ptr(cstr(elem))), "open array");
    const items = elem[0] === "{" ? Object.entries(v as object) : (v as unknown[]);
    for (const item of items) append(m, elem, item);
    return check(L().sd_bus_message_close_container(m), "close array");
  }
  if (c === "(" || c === "{") {
    const inner = sig.slice(1, -1);
    check(L().sd_bus_message_open_container(m, ch(c === "(" ? "r" : "e"), ptr(cstr(inner))), "open struct");
    splitSignature(inner).forEach((t, i) => append(m, t, (v as unknown[])[i]));
    return check(L().sd_bus_message_close_container(m), "close struct");
  }
  if (c === "v") {
    const [t, inner] = v as Typed;
    check(L().sd_bus_message_open_container(m, ch("v"), ptr(cstr(t))), "open variant");
    append(m, t, inner);
    return check(L().sd_bus_message_close_container(m), "close variant");
  }
  check(appendBasic(m, c, v), `value ${String(v)}`);
}

function readBasic(m: Pointer, t: string): unknown {
  const b = new Uint8Array(8);
  const r = L().sd_bus_message_read_basic(m, ch(t), ptr(b));
  if (r <= 0) throw new DbusError("read", `${t}: ${r < 0 ? strerr(r) : "no more values"}`);
  const dv = new DataView(b.buffer);
  if (t === "s" || t === "o" || t === "g") return new CString(Number(dv.getBigUint64(0, true)) as Pointer).toString();
  if (t === "b") return dv.getInt32(0, true) !== 0;
  if (t === "u") return dv.getUint32(0, true);
  if (t === "i") return dv.getInt32(0, true);
  if (t === "t") return dv.getBigUint64(0, true);
  if (t === "x") return dv.getBigInt64(0, true);
  if (t === "y") return dv.getUint8(0);
  throw new Error(`D-Bus type ${t}: not readable here`);
}

export const SYSTEMD = { destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", manager: "org.freedesktop.systemd1.Manager" };

export class Bus {
  /** A direct (private socket) connection: systemd is the peer, and signals come unasked. */
  private constructor(
    private bus: Pointer,
    readonly direct: boolean,
  ) {}

  /**
   * The manager runjs's caller belongs to: root's is PID 1, anyone else's their user manager.
   * The private socket first, the bus after.
   */
  static connect(user: boolean): Bus {
    const out = new BigUint64Array(1);
    const runtimeDir = process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`;
    const priv = user ? `${runtimeDir}/systemd/private` : "/run/systemd/private";
    if (L().sd_bus_new(ptr(out)) >= 0) {
      const b = Number(out[0]) as Pointer;
      if (L().sd_bus_set_address(b, ptr(cstr(`unix:path=${priv}`))) >= 0 && L().sd_bus_start(b) >= 0) return new Bus(b, true);
      L().sd_bus_flush_close_unref(b);
    }
    const r = user ? L().sd_bus_open_user(ptr(out)) : L().sd_bus_open_system(ptr(out));
    if (r < 0)
      throw new DbusError(
        "connect",
        `no systemd ${user ? "user manager" : "manager"} reachable (${priv}, and the ${user ? "session" : "system"} bus: ${strerr(r)})${user ? "; is DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR set?" : ""}`,
      );
    const bus = new Bus(Number(out[0]) as Pointer, false);
    // on a bus, JobRemoved reaches us only through a match rule
    bus.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", [
      ["s", `type='signal',sender='${SYSTEMD.destination}',interface='${SYSTEMD.manager}',member='JobRemoved'`],
    ]);
    return bus;
  }

  /** A method call message (the strings are held in locals: sd-bus copies them during the call). */
  private newCall(destination: string, path: string, iface: string, member: string): Pointer {
    const mo = new BigUint64Array(1);
    const d = cstr(destination), p = cstr(path), i = cstr(iface), n = cstr(member);
    const r = L().sd_bus_message_new_method_call(this.bus, ptr(mo), this.direct ? null : ptr(d), ptr(p), ptr(i), ptr(n));
    if (r < 0) throw new DbusError(member, `cannot make the message: ${strerr(r)}`);
    return Number(mo[0]) as Pointer;
  }

  close(): void {
    L().sd_bus_flush_close_unref(this.bus);
  }

  /**
   * Call a method and read its reply with `read`. A D-Bus error becomes a DbusError with the
   * error's name and message.
   */
  private send<T>(destination: string, path: string, iface: string, member: string, args: Typed[], read: (reply: Pointer) => T, what = member): T {
    const m = this.newCall(destination, path, iface, member);
    const err = new BigUint64Array(3); // sd_bus_error: name, message, _need_free
    const reply = new BigUint64Array(1);
    const text = (p: bigint | undefined) => (p ? new CString(Number(p) as Pointer).toString() : undefined);
    try {
      for (const [t, v] of args) append(m, t, v);
      const r = L().sd_bus_call(this.bus, m, 0n, ptr(err), ptr(reply));
      if (r < 0) throw new DbusError(what, text(err[1]) ?? strerr(r), text(err[0]));
      const rm = Number(reply[0]) as Pointer;
      try {
        return read(rm);
      } finally {
        L().sd_bus_message_unref(rm);
      }
    } finally {
      L().sd_bus_error_free(ptr(err));
      L().sd_bus_message_unref(m);
    }
  }

  /** Call a method; returns the reply's values of signature `readSig` (e.g. "o" for a job path). */
  call(destination: string, path: string, iface: string, member: string, args: Typed[], readSig = ""): unknown[] {
    return this.send(destination, path, iface, member, args, (rm) => readValues(rm, readSig));
  }

  /** A method of systemd's manager. */
  manager(member: string, args: Typed[], readSig = ""): unknown[] {
    return this.call(SYSTEMD.destination, SYSTEMD.path, SYSTEMD.manager, member, args, readSig);
  }

  /** A property of one of systemd's objects (org.freedesktop.DBus.Properties.Get). */
  property(path: string, iface: string, name: string, sig: string): unknown {
    const args: Typed[] = [["s", iface], ["s", name]];
    return this.send(SYSTEMD.destination, path, "org.freedesktop.DBus.Properties", "Get", args, (rm) => {
      if (L().sd_bus_message_enter_container(rm, ch("v"), ptr(cstr(sig))) <= 0) throw new DbusError(`Get ${name}`, `not of type ${sig}`);
      return readBasic(rm, sig);
    }, `Get ${name}`);
  }

  /**
   * Wait for the JobRemoved signal of `job` and return its result ("done", "failed",
   * "timeout", "canceled", "dependency", "skipped"), or "timeout" after ms milliseconds.
   */
  waitJob(job: string, ms: number): string {
    const deadline = Date.now() + ms;
    const mo = new BigUint64Array(1);
    const iface = cstr(SYSTEMD.manager);
    const member = cstr("JobRemoved");
    for (;;) {
      const r = L().sd_bus_process(this.bus, ptr(mo));
      if (r < 0) throw new DbusError("JobRemoved", `the connection failed: ${strerr(r)}`);
      if (r > 0) {
        if (!mo[0]) continue;
        const m = Number(mo[0]) as Pointer;
        try {
          if (L().sd_bus_message_is_signal(m, ptr(iface), ptr(member)) > 0) {
            const [, path, , result] = readValues(m, "uoss") as [number, string, string, string];
            if (path === job) return result;
          }
        } finally {
          L().sd_bus_message_unref(m);
        }
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      L().sd_bus_wait(this.bus, BigInt(left) * 1000n);
    }
  }
}

function readValues(m: Pointer, sig: string): unknown[] {
  return splitSignature(sig).map((t) => readBasic(m, t));
}
