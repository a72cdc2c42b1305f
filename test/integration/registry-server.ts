// Registries for the pull tests, on 127.0.0.1 only.
//
// startRegistry runs the real thing, Debian's docker-registry (the CNCF distribution
// server), with a private storage directory and config under /tmp on a free port, plain HTTP,
// optionally behind htpasswd basic auth (a bcrypt entry made with Bun.password.hash); it is
// stopped by its pid. startFakeRegistry is a tiny HTTP/1.1 server on a raw TCP socket that
// serves exactly what a test tells it, including the misbehaviour no real registry shows on
// demand: a 500, a connection closed half-way through a blob, bytes that are not what the
// digest says.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const REGISTRY_BIN = "/usr/bin/docker-registry";

export interface Registry {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

export async function startRegistry(opts: { user?: string; password?: string } = {}): Promise<Registry> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} is missing (apt-get install docker-registry)`);
  const dir = mkdtempSync("/tmp/runjs-registry-");
  let lastLog = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const lines = [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
    ];
    if (opts.user !== undefined) {
      const hash = await Bun.password.hash(opts.password ?? "", { algorithm: "bcrypt", cost: 5 });
      writeFileSync(join(dir, "htpasswd"), `${opts.user}:${hash}\n`);
      lines.push("auth:", "  htpasswd:", "    realm: runjs-test", `    path: ${dir}/htpasswd`);
    }
    writeFileSync(join(dir, "config.yml"), lines.join("\n") + "\n");
    const log = join(dir, "log");
    const p = Bun.spawn([REGISTRY_BIN, "serve", join(dir, "config.yml")], { stdio: ["ignore", Bun.file(log), Bun.file(log)] });
    const stop = async () => {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGTERM");
        const t = setTimeout(() => p.kill("SIGKILL"), 5000);
        await p.exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    for (let i = 0; i < 200; i++) {
      if (p.exitCode !== null) break;
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`);
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) return { host: `127.0.0.1:${port}`, port, dir, pid: p.pid, stop };
      } catch {
        /* not yet */
      }
      await Bun.sleep(25);
    }
    lastLog = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
    if (p.exitCode === null) p.kill("SIGKILL");
    await p.exited;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not come up; its log:\n${lastLog}`);
}

// ---- the fake ---------------------------------------------------------------------------------

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * What to send: a normal response, or headers promising `length` bytes of which only `body`
 * come, then the connection is closed (dropAfterBody) or left open and silent (hangAfterBody).
 */
export type FakeResponse =
  | { status: number; headers?: Record<string, string>; body?: Uint8Array | string }
  | { status: number; headers?: Record<string, string>; body: Uint8Array; length: number; dropAfterBody: true }
  | { status: number; headers?: Record<string, string>; body: Uint8Array; length: number; hangAfterBody: true };

export interface FakeRegistry {
  host: string;
  port: number;
  requests: FakeRequest[];
  stop(): void;
}

const REASONS: Record<number, string> = { 200: "OK", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error", 307: "Temporary Redirect" };

export function startFakeRegistry(handler: (req: FakeRequest) => FakeResponse): FakeRegistry {
  const requests: FakeRequest[] = [];
  type State = { buf: string; done: boolean; out: Uint8Array; close: boolean };
  type Sock = { data: State; write(b: Uint8Array): number; end(): void };
  // Bun's socket.write writes what the kernel takes now; the rest waits for drain.
  const flush = (s: Sock) => {
    const st = s.data;
    while (st.out.length) {
      const n = s.write(st.out);
      if (n <= 0) return;
      st.out = st.out.subarray(n);
    }
    if (st.close) s.end();
  };
  const server = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: "", done: false, out: new Uint8Array(), close: false };
      },
      drain(s) {
        flush(s as unknown as Sock);
      },
      data(s, chunk) {
        const st = (s as unknown as Sock).data;
        if (st.done) return;
        // A TLS ClientHello (a client probing HTTPS first): this server speaks plain HTTP only.
        if (st.buf === "" && chunk[0] === 0x16) {
          st.done = true;
          s.end();
          return;
        }
        st.buf += chunk.toString("latin1");
        const end = st.buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        st.done = true;
        const [line, ...hs] = st.buf.slice(0, end).split("\r\n");
        const [method = "", path = ""] = (line ?? "").split(" ");
        const headers: Record<string, string> = {};
        for (const h of hs) {
          const i = h.indexOf(":");
          if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
        }
        const req = { method, path, headers };
        requests.push(req);
        const r = handler(req);
        const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : (r.body ?? new Uint8Array());
        const length = "length" in r ? r.length : body.length;
        const head =
          `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? "Status"}\r\n` +
          Object.entries({ "Content-Length": String(length), Connection: "close", ...(r.headers ?? {}) })
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join("") +
          "\r\n";
        const st2 = (s as unknown as Sock).data;
        st2.out = Buffer.concat([Buffer.from(head, "latin1"), method !== "HEAD" ? body : new Uint8Array()]);
        st2.close = !("hangAfterBody" in r);
        flush(s as unknown as Sock);
      },
    },
  });
  return { host: `127.0.0.1:${server.port}`, port: server.port, requests, stop: () => server.stop(true) };
}
