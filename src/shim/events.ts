// Task events, published to containerd: what happened to a task (created, started, exited,
// OOM-killed, deleted, paused ...), on a topic ("/tasks/exit") in an envelope that names the
// namespace, through the Forward method of containerd's ttrpc event service at
// TTRPC_ADDRESS (containerd sets it when it starts the shim).
//
// Events go out one at a time, in the order they happened (containerd expects a task's start
// before its exit). While containerd is away (restarted), an event is retried until it is
// back, so none is lost to a restart.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import * as E from "./gen/containerd/events_pb.ts";
import { ForwardRequestSchema } from "./gen/containerd/events_service_pb.ts";
import { TtrpcClient } from "./ttrpc.ts";

const SCHEMAS = {
  TaskCreate: E.TaskCreateSchema, TaskStart: E.TaskStartSchema, TaskDelete: E.TaskDeleteSchema,
  TaskExit: E.TaskExitSchema, TaskOOM: E.TaskOOMSchema, TaskExecAdded: E.TaskExecAddedSchema,
  TaskExecStarted: E.TaskExecStartedSchema, TaskPaused: E.TaskPausedSchema, TaskResumed: E.TaskResumedSchema,
} as const;
type Kind = keyof typeof SCHEMAS;
type Init<K extends Kind> = (typeof SCHEMAS)[K] extends DescMessage ? MessageInitShape<(typeof SCHEMAS)[K]> : never;

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
    const schema = SCHEMAS[kind] as DescMessage;
    const event = { typeUrl: `containerd.events.${kind}`, value: toBinary(schema, create(schema, value as any)) };
    const req = create(ForwardRequestSchema, { envelope: { timestamp: timestampNow(), namespace: this.namespace, topic, event } });
    this.queue.push(toBinary(ForwardRequestSchema, req));
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
