// The shim's pure parts: containerd's command line, how a pod's containers find their shim,
// rootfs mount options, and the messages it sends and answers, checked against bytes that
// containerd's Go types produce for the same values.
import { expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { groupOf, parseShimArgs, socketPath } from "../../src/shim/main.ts";
import { mountArgs } from "../../src/shim/rootfs.ts";
import { DeleteResponseSchema, CreateTaskRequestSchema } from "../../src/shim/gen/containerd/task_pb.ts";
import { OptionsSchema } from "../../src/shim/gen/containerd/runc_options_pb.ts";
import { TaskExitSchema } from "../../src/shim/gen/containerd/events_pb.ts";

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
  const at = timestampFromMs(1700000000123);
  const del = toBinary(DeleteResponseSchema, create(DeleteResponseSchema, { pid: 4242, exitStatus: 137, exitedAt: at }));
  expect(Buffer.from(del).toString("hex")).toBe("0892211089011a0b0880e2cfaa0610c0a9d33a");
  const exit = toBinary(TaskExitSchema, create(TaskExitSchema, { containerId: "c", id: "c", pid: 7, exitStatus: 3, exitedAt: at }));
  expect(Buffer.from(exit).toString("hex")).toBe("0a0163120163180720032a0b0880e2cfaa0610c0a9d33a");
});

test("a CreateTaskRequest with runc options packed in an Any decodes to what the shim reads", () => {
  const opts = toBinary(OptionsSchema, create(OptionsSchema, { root: "/r", systemdCgroup: true, binaryName: "/usr/sbin/runc" }));
  const req = create(CreateTaskRequestSchema, {
    id: "c", bundle: "/b", rootfs: [{ type: "overlay", source: "overlay", options: ["lowerdir=/l"] }], stdout: "/f/1", terminal: false,
    options: { typeUrl: "containerd.runc.v1.Options", value: opts },
  });
  const back = fromBinary(CreateTaskRequestSchema, toBinary(CreateTaskRequestSchema, req));
  expect(back.rootfs[0]!.options).toEqual(["lowerdir=/l"]);
  expect(back.options!.typeUrl).toBe("containerd.runc.v1.Options");
  expect(fromBinary(OptionsSchema, back.options!.value)).toMatchObject({ root: "/r", systemdCgroup: true });
});

test("delete's hand-encoded reply is the library's bytes and containerd's", () => {
  const { deleteResponse } = require("../../src/shim/paths.ts");
  expect(Buffer.from(deleteResponse(4242, 137, 1700000000123)).toString("hex")).toBe("0892211089011a0b0880e2cfaa0610c0a9d33a");
  for (const [pid, st, ms] of [[0, 0, 0], [1, 255, 1], [4294967295, 137, 1764720000999], [99, 0, 1000]] as const) {
    const lib = toBinary(DeleteResponseSchema, create(DeleteResponseSchema, { pid, exitStatus: st, exitedAt: timestampFromMs(ms) }));
    expect(Buffer.from(deleteResponse(pid, st, ms)).toString("hex")).toBe(Buffer.from(lib).toString("hex"));
  }
});
