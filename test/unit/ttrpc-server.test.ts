// The ttrpc server answers as containerd/ttrpc's Go server does: the same bytes for the same
// calls (frames captured from ttrpc v1.2.10, see ttrpc-frame.test.ts), over a real socket,
// and a malformed frame ends only the connection that sent it.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Request, Response } from "../../src/shim/gen/ttrpc.ts";
import { encode } from "../../src/shim/proto.ts";
import { Code, RpcError, TtrpcServer } from "../../src/shim/ttrpc.ts";
import { encodeFrame, FrameReader, FrameType } from "../../src/shim/ttrpc-frame.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const CONNECT_REQUEST = hex(
  "000000490000000101000a17636f6e7461696e6572642e7461736b2e76322e5461736b1207436f6e6e6563742a250a1a636f6e7461696e6572642d6e616d6573706163652d7474727063120764656661756c74",
);
const CONNECT_RESPONSE = "00000000000000010200";
const NOPE_REQUEST = hex(
  "000000460000000301000a17636f6e7461696e6572642e7461736b2e76322e5461736b12044e6f70652a250a1a636f6e7461696e6572642d6e616d6573706163652d7474727063120764656661756c74",
);
const NOPE_RESPONSE = "000000110000000302000a0f080c120b6d6574686f64204e6f7065";

const dir = mkdtempSync("/tmp/runjs-ttrpc-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function taskServer(log: string[] = []) {
  const s = new TtrpcServer((m) => log.push(m));
  const seen: string[] = [];
  s.register("containerd.task.v2.Task", {
    Connect: (_p, ctx) => {
      seen.push(ctx.metadata.get("containerd-namespace-ttrpc")?.[0] ?? "");
      return new Uint8Array(0);
    },
    Echo: (p) => p,
    Fail: () => {
      throw new RpcError(Code.NotFound, "container c1: not found");
    },
  });
  return { s, seen, log };
}

test("the same answers as containerd/ttrpc's server, byte for byte", async () => {
  const { s, seen } = taskServer();
  const [connect] = new FrameReader().push(CONNECT_REQUEST);
  expect(toHex(await s.answer(connect!))).toBe(CONNECT_RESPONSE);
  expect(seen).toEqual(["default"]);
  const [nope] = new FrameReader().push(NOPE_REQUEST);
  expect(toHex(await s.answer(nope!))).toBe(NOPE_RESPONSE);
});

function request(streamId: number, service: string, method: string, payload = new Uint8Array(0)): Uint8Array {
  return encodeFrame({ streamId, type: FrameType.Request, flags: 0, payload: encode(Request, { service, method, payload }) });
}

test("an unknown service, a handler's error, a reply's payload", async () => {
  const { s } = taskServer();
  const answer = async (frame: Uint8Array) => {
    const [f] = new FrameReader().push(await s.answer(new FrameReader().push(frame)[0]!));
    return { streamId: f!.streamId, ...Response.decode(f!.payload) };
  };
  const a = await answer(request(5, "containerd.task.v3.Task", "Create"));
  expect([a.streamId, a.status?.code, a.status?.message]).toEqual([5, Code.Unimplemented, "service containerd.task.v3.Task"]);
  const b = await answer(request(7, "containerd.task.v2.Task", "Fail"));
  expect([b.status?.code, b.status?.message]).toEqual([Code.NotFound, "container c1: not found"]);
  const c = await answer(request(9, "containerd.task.v2.Task", "Echo", Uint8Array.of(1, 2, 3)));
  expect(c.status).toBeUndefined();
  expect([...c.payload]).toEqual([1, 2, 3]);
  // a method name that is an Object property is still unknown
  const d = await answer(request(11, "containerd.task.v2.Task", "toString"));
  expect(d.status?.code).toBe(Code.Unimplemented);
});

/** A client connection that collects what the server sends and whether it closed. */
async function connect(path: string) {
  const reader = new FrameReader();
  const got: { streamId: number; hex: string }[] = [];
  let closed = false;
  const queue: Uint8Array[] = [];
  const flush = (s: Bun.Socket<undefined>) => {
    while (queue.length) {
      const n = s.write(queue[0]!);
      if (n < queue[0]!.length) {
        queue[0] = queue[0]!.subarray(Math.max(0, n));
        return;
      }
      queue.shift();
    }
  };
  const sock = await Bun.connect({
    unix: path,
    socket: {
      drain(s) {
        flush(s);
      },
      data(_s, chunk) {
        for (const f of reader.push(chunk)) got.push({ streamId: f.streamId, hex: toHex(encodeFrame(f)) });
      },
      close() {
        closed = true;
      },
    },
  });
  const write = (b: Uint8Array) => {
    queue.push(b);
    flush(sock);
  };
  return { sock, write, got, isClosed: () => closed };
}

async function until(cond: () => boolean, what: string) {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

test("over a unix socket: a malformed frame closes that connection with the reason logged; others are still served", async () => {
  const { s, log } = taskServer();
  const path = join(dir, "s1.sock");
  const srv = s.listen(path);
  try {
    const good = await connect(path);
    const bad = await connect(path);
    // the captured call, cut in two writes
    good.write(CONNECT_REQUEST.subarray(0, 7));
    await Bun.sleep(20);
    good.write(CONNECT_REQUEST.subarray(7));
    await until(() => good.got.length === 1, "the Connect answer");
    expect(good.got[0]!.hex).toBe(CONNECT_RESPONSE);
    // a header claiming 64 MiB
    bad.write(hex("040000000000000101000000"));
    await until(() => bad.isClosed(), "the bad connection to close");
    expect(log).toEqual(["closing a connection: ttrpc: frame of 67108864 bytes exceeds the maximum of 4194304"]);
    good.write(NOPE_REQUEST);
    await until(() => good.got.length === 2, "the second answer");
    expect(good.got[1]!.hex).toBe(NOPE_RESPONSE);
    expect(good.isClosed()).toBe(false);
    good.sock.end();
  } finally {
    srv.stop();
  }
});

test("a reply larger than one socket write arrives whole", async () => {
  const { s } = taskServer();
  const path = join(dir, "s2.sock");
  const srv = s.listen(path);
  try {
    const c = await connect(path);
    const big = new Uint8Array(3 << 20).map((_, i) => i & 0xff);
    c.write(request(1, "containerd.task.v2.Task", "Echo", big));
    await until(() => c.got.length === 1, "the big answer");
    const [f] = new FrameReader().push(hex(c.got[0]!.hex));
    expect(Response.decode(f!.payload).payload.length).toBe(3 << 20);
    c.sock.end();
  } finally {
    srv.stop();
  }
});
