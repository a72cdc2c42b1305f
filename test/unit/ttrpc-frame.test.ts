// The ttrpc frame codec against frames captured from github.com/containerd/ttrpc v1.2.10
// (its Go client calling its Go server through a relay that printed the bytes each way).
import { describe, expect, test } from "bun:test";
import { encodeFrame, FrameError, FrameReader, FrameType, HEADER_SIZE, MAX_PAYLOAD } from "../../src/shim/ttrpc-frame.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

// client.Call(ctx with metadata containerd-namespace-ttrpc=default, "containerd.task.v2.Task", "Connect", Empty)
const CONNECT_REQUEST = hex(
  "000000490000000101000a17636f6e7461696e6572642e7461736b2e76322e5461736b1207436f6e6e6563742a250a1a636f6e7461696e6572642d6e616d6573706163652d7474727063120764656661756c74",
);
// the server's answer: an empty Response (no status: OK; payload: Empty)
const CONNECT_RESPONSE = hex("00000000000000010200");
// the second call, to a method the server lacks, and its answer: status code 12 (Unimplemented)
const NOPE_REQUEST = hex(
  "000000460000000301000a17636f6e7461696e6572642e7461736b2e76322e5461736b12044e6f70652a250a1a636f6e7461696e6572642d6e616d6573706163652d7474727063120764656661756c74",
);
const NOPE_RESPONSE = hex("000000110000000302000a0f080c120b6d6574686f64204e6f7065");

describe("ttrpc frames", () => {
  test("a captured request: header fields and payload", () => {
    const [f, ...rest] = new FrameReader().push(CONNECT_REQUEST);
    expect(rest).toEqual([]);
    expect(f!.streamId).toBe(1);
    expect(f!.type).toBe(FrameType.Request);
    expect(f!.flags).toBe(0);
    expect(f!.payload.length).toBe(0x49);
    expect(text(f!.payload)).toContain("containerd.task.v2.Task");
    expect(text(f!.payload)).toContain("Connect");
    expect(text(f!.payload)).toContain("containerd-namespace-ttrpc");
  });

  test("encoding gives back the captured bytes", () => {
    for (const captured of [CONNECT_REQUEST, CONNECT_RESPONSE, NOPE_REQUEST, NOPE_RESPONSE]) {
      const [f] = new FrameReader().push(captured);
      expect(Buffer.from(encodeFrame(f!)).toString("hex")).toBe(Buffer.from(captured).toString("hex"));
    }
  });

  test("an empty response frame and an error response", () => {
    const [ok] = new FrameReader().push(CONNECT_RESPONSE);
    expect(ok).toEqual({ streamId: 1, type: FrameType.Response, flags: 0, payload: new Uint8Array(0) });
    const [err] = new FrameReader().push(NOPE_RESPONSE);
    expect(err!.streamId).toBe(3);
    expect(err!.type).toBe(FrameType.Response);
    expect(text(err!.payload)).toContain("method Nope");
  });

  test("the stream in any chunks: one byte at a time, and several frames in one read", () => {
    const all = new Uint8Array([...CONNECT_REQUEST, ...NOPE_REQUEST, ...CONNECT_RESPONSE]);
    const r = new FrameReader();
    const got = [];
    for (const b of all) got.push(...r.push(Uint8Array.of(b)));
    expect(got.map((f) => f.streamId)).toEqual([1, 3, 1]);
    expect(r.pending).toBe(0);
    const again = new FrameReader().push(all);
    expect(again.map((f) => [f.streamId, f.type, f.payload.length])).toEqual([[1, 1, 0x49], [3, 1, 0x46], [1, 2, 0]]);
  });

  test("a frame cut short stays pending until the rest arrives", () => {
    const r = new FrameReader();
    expect(r.push(NOPE_RESPONSE.slice(0, HEADER_SIZE + 4))).toEqual([]);
    expect(r.pending).toBe(HEADER_SIZE + 4);
    const [f] = r.push(NOPE_RESPONSE.slice(HEADER_SIZE + 4));
    expect(f!.payload.length).toBe(0x11);
    expect(r.pending).toBe(0);
  });

  test("malformed: a length over 4 MiB and an unknown type are refused, naming what is wrong", () => {
    const big = new Uint8Array(HEADER_SIZE);
    new DataView(big.buffer).setUint32(0, MAX_PAYLOAD + 1);
    big[8] = FrameType.Request;
    expect(() => new FrameReader().push(big)).toThrow(new FrameError(`ttrpc: frame of ${MAX_PAYLOAD + 1} bytes exceeds the maximum of ${MAX_PAYLOAD}`));
    const odd = CONNECT_RESPONSE.slice();
    odd[8] = 9;
    expect(() => new FrameReader().push(odd)).toThrow("ttrpc: unknown frame type 9");
    expect(() => encodeFrame({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array(MAX_PAYLOAD + 1) })).toThrow(FrameError);
    expect(() => encodeFrame({ streamId: -1, type: 1, flags: 0, payload: new Uint8Array(0) })).toThrow("stream id -1 out of range");
  });
});
