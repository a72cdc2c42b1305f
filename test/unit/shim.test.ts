// The shim's pure parts: containerd's command line, how a pod's containers find their shim,
// rootfs mount options, and the messages it sends and answers, checked against bytes that
// containerd's Go types produce for the same values.
import { expect, test } from "bun:test";
import { groupOf, parseShimArgs, socketPath } from "../../src/shim/main.ts";
import { mountArgs } from "../../src/shim/rootfs.ts";
import { CreateTaskRequest, DeleteResponse } from "../../src/shim/gen/containerd/task.ts";
import { Options } from "../../src/shim/gen/containerd/runc_options.ts";
import { TaskExit } from "../../src/shim/gen/containerd/events.ts";
import { encode, timestamp } from "../../src/shim/proto.ts";

test("containerd's flags, in Go's syntax, and the command", () => {
  const f = parseShimArgs(["-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock", "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"]);
  expect(f).toMatchObject({ namespace: "k8s.io", address: "/run/containerd/containerd.sock", publishBinary: "/usr/bin/containerd", id: "abc", debug: true, command: "start" });
  expect(parseShimArgs(["--id=x", "-bundle", "/b", "delete"])).toMatchObject({ id: "x", bundle: "/b", command: "delete" });
  expect(parseShimArgs(["-v"]).command).toBe("version");
});

test("a bad command line names the flag", () => {
  expect(() => parseShimArgs(["-nope", "1"])).toThrow("flag provided but not defined: -nope");
  expect(() => parseShimArgs(["-id"])).toThrow("flag needs an argument: -id");
  expect(() => parseShimArgs(["start", "delete"])).toThrow('unexpected argument "delete" after start');
});

test("a pod's containers share their sandbox's shim; a lone container has its own", () => {
  expect(groupOf("c1", { "io.kubernetes.cri.sandbox-id": "pod1", "io.kubernetes.cri.container-type": "container" })).toBe("pod1");
  expect(groupOf("c1", { "io.containerd.runc.v2.group": "g" })).toBe("g");
  expect(groupOf("c1", undefined)).toBe("c1");
  const a = socketPath("/run/containerd/containerd.sock", "k8s.io", "pod1");
  expect(a).toMatch(/^\/run\/containerd\/s\/[0-9a-f]{64}$/);
  expect(socketPath("/run/containerd/containerd.sock", "k8s.io", "pod1")).toBe(a);
  expect(socketPath("/run/containerd/containerd.sock", "default", "pod1")).not.toBe(a);
  expect(socketPath("/tmp/other.sock", "k8s.io", "pod1")).not.toBe(a);
  // the hash runc's shim takes: sha256 of filepath.Join(address, namespace, group)
  const want = new Bun.CryptoHasher("sha256").update("/run/containerd/containerd.sock/k8s.io/pod1").digest("hex");
  expect(a).toBe(`/run/containerd/s/${want}`);
});

test("rootfs mounts: flags from their names, the rest as the filesystem's data", () => {
  expect(mountArgs({ type: "overlay", source: "overlay", options: ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"] })).toEqual({
    flags: 0,
    data: "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2",
  });
  expect(mountArgs({ type: "bind", source: "/snap", options: ["rbind", "ro"] })).toEqual({ flags: 4096 | 16384 | 1, data: "" });
  // a later option undoes an earlier one, as mount(8) reads them
  expect(mountArgs({ type: "bind", source: "/snap", options: ["ro", "rw", "nosuid"] }).flags).toBe(2);
});

// Bytes that containerd's own Go types (github.com/containerd/containerd/api v1.8.0, through
// google.golang.org/protobuf's proto.Marshal) produce for the same values.
test("DeleteResponse and TaskExit encode as containerd's types do", () => {
  const at = timestamp(new Date(1700000000123));
  const del = encode(DeleteResponse, { pid: 4242, exitStatus: 137, exitedAt: at });
  expect(Buffer.from(del).toString("hex")).toBe("0892211089011a0b0880e2cfaa0610c0a9d33a");
  const exit = encode(TaskExit, { containerId: "c", id: "c", pid: 7, exitStatus: 3, exitedAt: at });
  expect(Buffer.from(exit).toString("hex")).toBe("0a0163120163180720032a0b0880e2cfaa0610c0a9d33a");
});

test("a CreateTaskRequest with runc options packed in an Any decodes to what the shim reads", () => {
  const opts = encode(Options, { root: "/r", systemdCgroup: true, binaryName: "/usr/sbin/runc" });
  const req = encode(CreateTaskRequest, {
    id: "c", bundle: "/b", rootfs: [{ type: "overlay", source: "overlay", options: ["lowerdir=/l"] }], stdout: "/f/1", terminal: false,
    options: { typeUrl: "containerd.runc.v1.Options", value: opts },
  });
  const back = CreateTaskRequest.decode(req);
  expect(back.rootfs[0]!.options).toEqual(["lowerdir=/l"]);
  expect(back.options!.typeUrl).toBe("containerd.runc.v1.Options");
  expect(Options.decode(back.options!.value)).toMatchObject({ root: "/r", systemdCgroup: true });
});
