// A ttrpc server: the RPC containerd uses to talk to its shims, over a unix socket.
//
// Each request frame carries a ttrpc.Request (service, method, the method's own message,
// metadata); the server answers on the same stream id with a ttrpc.Response holding either
// the method's reply or a status (gRPC's codes). Calls on one connection may overlap: each
// is answered when its handler finishes. An unknown service or method is answered as
// containerd/ttrpc answers it (Unimplemented, "service X" / "method X"). A frame that cannot
// be read (see ttrpc-frame.ts) ends that connection, with the reason logged; the others go on.
// Messages generated from proto/ttrpc.proto (scripts/proto.sh, see proto.ts).
import { Request, Response } from "./gen/ttrpc.ts";
import { encode } from "./proto.ts";
import { encodeFrame, type Frame, FrameError, FrameReader, FrameType } from "./ttrpc-frame.ts";

/** Writes the queued frames as far as the socket takes them now; the rest waits for its drain. */
function writeQueued(s: { write(b: Uint8Array): number }, queue: Uint8Array[]): void {
  while (queue.length) {
    const head = queue[0]!;
    const n = s.write(head);
    if (n < head.length) {
      queue[0] = head.subarray(Math.max(0, n));
      return;
    }
    queue.shift();
  }
}

/** gRPC status codes, as ttrpc carries them. */
export const Code = {
  OK: 0, Unknown: 2, InvalidArgument: 3, DeadlineExceeded: 4, NotFound: 5, AlreadyExists: 6,
  FailedPrecondition: 9, Unimplemented: 12, Internal: 13, Unavailable: 14,
} as const;

/** A failed call: answered with this code and message. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CallContext {
  service: string;
  method: string;
  /** metadata: containerd sends its namespace as "containerd-namespace-ttrpc" */
  metadata: Map<string, string[]>;
  timeoutNano: bigint;
}

/** A method: its encoded argument in, its encoded reply out (or an RpcError thrown). */
export type Method = (payload: Uint8Array, ctx: CallContext) => Uint8Array | Promise<Uint8Array>;

export class TtrpcServer {
  private services = new Map<string, Record<string, Method>>();
  /** Requests wait for this before they are looked up (services registered while listening). */
  ready: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: (message: string) => void = () => {}) {}

  register(service: string, methods: Record<string, Method>): void {
    this.services.set(service, methods);
  }

  /** The response frame (bytes) for one request frame. */
  async answer(frame: Frame): Promise<Uint8Array> {
    let status: { code: number; message: string } | undefined;
    let payload: Uint8Array = new Uint8Array(0);
    try {
      await this.ready;
      const req = Request.decode(frame.payload);
      const methods = this.services.get(req.service);
      if (!methods) throw new RpcError(Code.Unimplemented, `service ${req.service}`);
      const m = Object.hasOwn(methods, req.method) ? methods[req.method] : undefined;
      if (!m) throw new RpcError(Code.Unimplemented, `method ${req.method}`);
      const metadata = new Map<string, string[]>();
      for (const kv of req.metadata) metadata.set(kv.key, [...(metadata.get(kv.key) ?? []), kv.value]);
      payload = await m(req.payload, { service: req.service, method: req.method, metadata, timeoutNano: req.timeoutNano });
    } catch (e) {
      status = e instanceof RpcError ? { code: e.code, message: e.message } : { code: Code.Unknown, message: String((e as Error)?.message ?? e) };
    }
    const res = encode(Response, status ? { status } : { payload });
    return encodeFrame({ streamId: frame.streamId, type: FrameType.Response, flags: 0, payload: res });
  }

  /** Serves on a unix socket at path, or on a listening socket given as an fd, until stop(). */
  listen(at: string | { fd: number }): { stop(): void } {
    const server = this;
    interface Conn {
      reader: FrameReader;
      queue: Uint8Array[];
      closed: boolean;
    }
    const flush = (s: Bun.Socket<Conn>) => writeQueued(s, s.data.queue);
    const listener = Bun.listen<Conn>({
      // (Bun.listen takes a listening socket's fd too; its types name only unix and port)
      ...(typeof at === "string" ? { unix: at } : ({ fd: at.fd } as unknown as { unix: string })),
      socket: {
        open(s) {
          s.data = { reader: new FrameReader(), queue: [], closed: false };
        },
        data(s, chunk) {
          let frames: Frame[];
          try {
            frames = s.data.reader.push(chunk);
          } catch (e) {
            if (!(e instanceof FrameError)) throw e;
            server.log(`closing a connection: ${e.message}`);
            s.data.closed = true;
            s.end();
            return;
          }
          for (const f of frames) {
            if (f.type !== FrameType.Request) {
              server.log(`ignoring a frame of type ${f.type} on stream ${f.streamId}: this server takes requests only`);
              continue;
            }
            void server.answer(f).then((bytes) => {
              if (s.data.closed) return;
              s.data.queue.push(bytes);
              flush(s);
            });
          }
        },
        drain(s) {
          flush(s);
        },
        close(s) {
          s.data.closed = true;
        },
        error(s, err) {
          server.log(`connection error: ${err.message}`);
          s.data.closed = true;
        },
      },
    });
    return { stop: () => listener.stop(true) };
  }
}

/**
 * A ttrpc client: calls over one unix-socket connection, each on a stream id of its own (odd
 * numbers, as the client side uses), answered in any order. The shim uses it to publish task
 * events to containerd's event service.
 */
export class TtrpcClient {
  private next = 1;
  private pending = new Map<number, { resolve(b: Uint8Array): void; reject(e: Error): void }>();
  private reader = new FrameReader();
  private closed?: Error;
  private queue: Uint8Array[] = [];

  private constructor(private socket: Bun.Socket<undefined>) {}

  static async connect(path: string): Promise<TtrpcClient> {
    let client!: TtrpcClient;
    const fail = (e: Error) => {
      client.closed ??= e;
      for (const p of client.pending.values()) p.reject(e);
      client.pending.clear();
    };
    const socket = await Bun.connect<undefined>({
      unix: path,
      socket: {
        data(_s, chunk) {
          let frames: Frame[];
          try {
            frames = client.reader.push(chunk);
          } catch (e) {
            fail(e as Error);
            _s.end();
            return;
          }
          for (const f of frames) {
            const p = client.pending.get(f.streamId);
            if (!p || f.type !== FrameType.Response) continue;
            client.pending.delete(f.streamId);
            const res = Response.decode(f.payload);
            if (res.status && res.status.code !== Code.OK) p.reject(new RpcError(res.status.code, res.status.message));
            else p.resolve(res.payload);
          }
        },
        drain() {
          client.flush();
        },
        close() {
          fail(new Error(`ttrpc: connection to ${path} closed`));
        },
        error(_s, err) {
          fail(err);
        },
      },
    });
    client = new TtrpcClient(socket);
    return client;
  }

  call(service: string, method: string, payload: Uint8Array, metadata: Record<string, string> = {}): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closed);
    const streamId = this.next;
    this.next += 2;
    const req = encode(Request, { service, method, payload, metadata: Object.entries(metadata).map(([key, value]) => ({ key, value })) });
    const frame = encodeFrame({ streamId, type: FrameType.Request, flags: 0, payload: req });
    return new Promise((resolve, reject) => {
      this.pending.set(streamId, { resolve, reject });
      this.queue.push(frame);
      this.flush();
    });
  }

  private flush(): void {
    writeQueued(this.socket, this.queue);
  }

  close(): void {
    this.socket.end();
  }
}
