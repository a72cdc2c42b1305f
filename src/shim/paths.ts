// What the shim's commands share and must find cheaply (containerd runs `start` and `delete`
// as processes of their own, on the path of every pod): where a group's shim listens, where
// the runtime keeps a namespace's containers.

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
