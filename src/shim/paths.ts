// What the shim's commands share and must find cheaply (containerd runs `start` and `delete`
// as processes of their own, on the path of every pod): where a group's shim listens, where
// the runtime keeps a namespace's containers, and delete's one reply.

/** Pure: the group a container's shim serves (runc's shim's labels: a pod's sandbox id). */
export function groupOf(id: string, annotations: Record<string, string> | undefined): string {
  return annotations?.["io.containerd.runc.v2.group"] ?? annotations?.["io.kubernetes.cri.sandbox-id"] ?? id;
}

/** The socket a group's shim listens on: /run/containerd/s/ + sha256 of address/namespace/group, as runc's shim names it. */
export function socketPath(address: string, namespace: string, group: string): string {
  const h = new Bun.CryptoHasher("sha256").update(`${address}/${namespace}/${group}`.replace(/\/+/g, "/")).digest("hex");
  return `/run/containerd/s/${h}`;
}

/** The runtime library's state directory for a namespace (runc's shim: /run/containerd/runc/NS). */
export function runtimeRoot(namespace: string, optionsRoot?: string): string {
  return `${optionsRoot || "/run/containerd/runjs"}/${namespace}`;
}

/** A namespace's state directory goes with its last container (and /run/containerd/runjs with the last namespace). */
export function removeEmptyRoot(root: string): void {
  for (const d of [root, root.slice(0, root.lastIndexOf("/"))]) {
    try {
      require("node:fs").rmdirSync(d);
    } catch {
      return; // not empty, or gone already
    }
  }
}

/**
 * Pure: a containerd.task.v2.DeleteResponse {pid, exit_status, exited_at}, encoded by hand:
 * three fields, where the protobuf library's descriptors would cost `delete` more start-up
 * (~6 ms here) than all the rest of its work. The unit tests check it against the library's
 * encoding and containerd's Go types' bytes.
 */
export function deleteResponse(pid: number, exitStatus: number, atMs: number): Uint8Array {
  const out: number[] = [];
  const varint = (v: bigint) => {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      out.push(b);
    } while (v);
  };
  const field = (n: number, v: number | bigint) => {
    if (!v) return;
    varint(BigInt(n << 3));
    varint(BigInt(v));
  };
  field(1, pid);
  field(2, exitStatus);
  const seconds = Math.floor(atMs / 1000);
  const nanos = (atMs - seconds * 1000) * 1e6;
  const ts: number[] = [];
  const outer = out.splice(0);
  field(1, seconds);
  field(2, nanos);
  ts.push(...out.splice(0));
  out.push(...outer);
  varint(BigInt((3 << 3) | 2));
  varint(BigInt(ts.length));
  out.push(...ts);
  return Uint8Array.from(out);
}
