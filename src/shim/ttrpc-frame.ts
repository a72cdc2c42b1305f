// ttrpc framing: how containerd and its shims cut a unix-socket byte stream into messages.
//
// ttrpc is containerd's small RPC (gRPC's model without HTTP/2): every message is a frame of
// a 10-byte header and a payload.
//
//   bytes 0-3  payload length, big-endian (at most 4 MiB)
//   bytes 4-7  stream id, big-endian (the client numbers its calls 1, 3, 5, ...: odd)
//   byte  8    type: 1 request, 2 response, 3 data (streams)
//   byte  9    flags: 1 remote closed, 2 remote open, 4 no data
//
// A request's payload is a protobuf ttrpc.Request (service, method, payload, timeout,
// metadata), a response's a ttrpc.Response (status, payload); those are decoded elsewhere.
// This module only frames: encodeFrame for the writer, FrameReader for the reader, which
// takes the stream in whatever chunks the socket gives and hands out whole frames. A frame
// that cannot be right (a length over the limit, an unknown type) is a FrameError: the
// connection is then beyond repair, since nothing marks where the next frame starts. PURE.

export const HEADER_SIZE = 10;
export const MAX_PAYLOAD = 4 << 20;

export const FrameType = { Request: 1, Response: 2, Data: 3 } as const;
export const FrameFlag = { RemoteClosed: 1, RemoteOpen: 2, NoData: 4 } as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Uint8Array;
}

export class FrameError extends Error {}

export function encodeFrame(f: Frame): Uint8Array {
  if (f.payload.length > MAX_PAYLOAD) throw new FrameError(`ttrpc: payload of ${f.payload.length} bytes exceeds the maximum of ${MAX_PAYLOAD}`);
  if (!Number.isInteger(f.streamId) || f.streamId < 0 || f.streamId > 0xffffffff) throw new FrameError(`ttrpc: stream id ${f.streamId} out of range`);
  const out = new Uint8Array(HEADER_SIZE + f.payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, f.payload.length);
  v.setUint32(4, f.streamId);
  out[8] = f.type;
  out[9] = f.flags;
  out.set(f.payload, HEADER_SIZE);
  return out;
}

/** Reassembles frames from a byte stream fed in arbitrary chunks. */
export class FrameReader {
  // chunks are kept as they came and joined only once a whole frame is there, so a large
  // frame arriving in many reads is copied once, not once per read
  private chunks: Uint8Array[] = [];
  private size = 0;

  /** Adds bytes; returns the frames now complete, in order. Throws FrameError on a bad header. */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk.slice());
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.size >= HEADER_SIZE) {
      if (this.chunks[0]!.length < HEADER_SIZE) this.join();
      const head = this.chunks[0]!;
      const v = new DataView(head.buffer, head.byteOffset, HEADER_SIZE);
      const length = v.getUint32(0);
      const type = head[8]!;
      if (length > MAX_PAYLOAD) throw new FrameError(`ttrpc: frame of ${length} bytes exceeds the maximum of ${MAX_PAYLOAD}`);
      if (type < FrameType.Request || type > FrameType.Data) throw new FrameError(`ttrpc: unknown frame type ${type}`);
      if (this.size < HEADER_SIZE + length) break;
      if (head.length < HEADER_SIZE + length) this.join();
      const buf = this.chunks[0]!;
      frames.push({ streamId: v.getUint32(4), type, flags: buf[9]!, payload: buf.slice(HEADER_SIZE, HEADER_SIZE + length) });
      const rest = buf.subarray(HEADER_SIZE + length);
      if (rest.length) this.chunks[0] = rest;
      else this.chunks.shift();
      this.size -= HEADER_SIZE + length;
    }
    return frames;
  }

  private join(): void {
    const b = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      b.set(c, off);
      off += c.length;
    }
    this.chunks = [b];
  }

  /** Bytes held that do not yet make a frame (a peer that hangs up mid-frame leaves some). */
  get pending(): number {
    return this.size;
  }
}
