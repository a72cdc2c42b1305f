// Task events, published to containerd: what happened to a task (created, started, exited,
// OOM-killed, deleted, paused ...), on a topic ("/tasks/exit") in an envelope that names the
// namespace, through the Forward method of containerd's ttrpc event service at
// TTRPC_ADDRESS (containerd sets it when it starts the shim).
//
// Events go out one at a time, in the order they happened (containerd expects a task's start
// before its exit). While containerd is away (restarted), an event is retried until it is
// back, so none is lost to a restart.
import * as E from "./gen/containerd/events.ts";
import { ForwardRequest } from "./gen/containerd/events_service.ts";
import { encode, timestamp, type Codec, type DeepPartial } from "./proto.ts";
import { TtrpcClient } from "./ttrpc.ts";

const KINDS = {
  TaskCreate: E.TaskCreate, TaskStart: E.TaskStart, TaskDelete: E.TaskDelete,
  TaskExit: E.TaskExit, TaskOOM: E.TaskOOM, TaskExecAdded: E.TaskExecAdded,
  TaskExecStarted: E.TaskExecStarted, TaskPaused: E.TaskPaused, TaskResumed: E.TaskResumed,
} as const;
type Kind = keyof typeof KINDS;
type Init<K extends Kind> = (typeof KINDS)[K] extends Codec<infer T> ? DeepPartial<T> : never;

export class Events {
  private queue: Uint8Array[] = [];
  private busy = false;
  private client?: TtrpcClient;
  private idle: (() => void)[] = [];

  constructor(
    private address: string,
    private namespace: string,
    private log: (msg: string) => void,
  ) {}

  publish<K extends Kind>(topic: string, kind: K, value: Init<K>): void {
    const event = { typeUrl: `containerd.events.${kind}`, value: encode(KINDS[kind] as Codec<unknown>, value) };
    this.queue.push(encode(ForwardRequest, { envelope: { timestamp: timestamp(new Date()), namespace: this.namespace, topic, event } }));
    void this.pump();
  }

  /** Resolves when every event so far has gone out. */
  flushed(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let tries = 0;
    while (this.queue.length) {
      try {
        this.client ??= await TtrpcClient.connect(this.address);
        await this.client.call("containerd.services.events.ttrpc.v1.Events", "Forward", this.queue[0]!);
        this.queue.shift();
        tries = 0;
      } catch (e) {
        this.client?.close();
        this.client = undefined;
        if (tries++ % 50 === 0) this.log(`publishing an event to ${this.address}: ${(e as Error).message} (retrying)`);
        await Bun.sleep(Math.min(1000, 20 * tries));
      }
    }
    this.busy = false;
    for (const r of this.idle.splice(0)) r();
  }
}
