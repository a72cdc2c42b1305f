#!/usr/bin/env bash
# Exercise runjs on a pure cgroup-v2 kernel: boots a throwaway QEMU VM with
# ../shared/vm/vm-run.sh (software emulation, tens of seconds) and runs test/vm/cgroup-v2.sh
# inside. Not part of scripts/test.sh (it needs the shared VM tool); run it by hand:
#   bash test/vm/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
vm=${VM_RUN:-$here/../shared/vm/vm-run.sh}
[ -x bin/runjs ] 2>/dev/null || bash "$here/scripts/build.sh"
work=$(mktemp -d /tmp/runjs-vm-XXXXXX)
chmod 755 "$work" # the VM's unprivileged user must reach it
trap 'rm -rf "$work"' EXIT
cp "$here/bin/runjs" "$here/bin/runjs-frontend" "$here/bin/runjs-init" "$here/test/vm/cgroup-v2.sh" "$work/"
for b in bundle bundle-oom bundle-dev; do bash "$here/scripts/demo-bundle.sh" "$work/$b" sleep 100 >/dev/null; done
"$here/node_modules/.bin/bun" -e '
const fs = require("fs");
const [w] = process.argv.slice(1);
const edit = (b, f) => { const p = `${w}/${b}/config.json`; const c = JSON.parse(fs.readFileSync(p, "utf8")); f(c); fs.writeFileSync(p, JSON.stringify(c)); };
edit("bundle", (c) => {
  c.linux.cgroupsPath = "/runjs-vm/c1";
  c.linux.resources = { memory: { limit: 33554432, swap: 33554432 }, pids: { limit: 64 }, cpu: { shares: 1024, quota: 50000, period: 100000 },
    devices: [{ allow: false, access: "rwm" }] };
  c.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
});
edit("bundle-oom", (c) => {
  c.linux.cgroupsPath = "/runjs-vm/c2";
  c.linux.resources = { memory: { limit: 16777216, swap: 16777216 } };
  c.process.args = ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr \"\\\\0\" a); echo survived"];
});
// devices on v2: the eBPF filter. Deny all, allow /dev/null; the default list of runc (appended
// after the rules of the spec, as on v1) still allows /dev/zero; /dev/kmsg (c 1:11) is not in it.
edit("bundle-dev", (c) => {
  c.linux.cgroupsPath = "/runjs-vm/c3";
  c.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
  c.linux.resources = { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }] };
  c.process.args = ["sh", "-c", ": </dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok; (: </dev/kmsg) || echo kmsg-denied"];
});' "$work"
# Rootless bundles for the VM's user tester (uid/gid 1000, delegated cgroup under
# user@1000.service): `runjs spec --rootless` as that user would write it.
cp "$here/test/vm/rootless.sh" "$work/"
for b in rootless rootless-cg rootless-oom rootless-sub; do bash "$here/scripts/demo-bundle.sh" "$work/$b" true >/dev/null; done
"$here/node_modules/.bin/bun" -e '
const fs = require("fs");
const { defaultSpec } = require(process.argv[2]);
const w = process.argv[1];
const spec = (b, f) => { const c = defaultSpec({ rootless: true, uid: 1000, gid: 1000 }); c.root.readonly = false; c.process.terminal = false; f(c); fs.writeFileSync(`${w}/${b}/config.json`, JSON.stringify(c)); };
const dlg = "/user.slice/user-1000.slice/user@1000.service";
spec("rootless", (c) => (c.process.args = ["sh", "-c", "echo $(id -u) $(cat /proc/self/uid_map)"]));
spec("rootless-cg", (c) => { c.process.args = ["sleep", "100"]; c.linux.cgroupsPath = `${dlg}/runjs-r2`; c.linux.resources = { memory: { limit: 33554432 }, pids: { limit: 32 } }; });
spec("rootless-oom", (c) => { c.linux.cgroupsPath = `${dlg}/runjs-r3`; c.linux.resources = { memory: { limit: 16777216, swap: 16777216 } };
  c.process.args = ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr \"\\\\0\" a); echo survived"]; });
spec("rootless-sub", (c) => { c.process.args = ["cat", "/proc/self/uid_map"];
  c.linux.uidMappings.push({ containerID: 1, hostID: 100000, size: 65536 }); c.linux.gidMappings.push({ containerID: 1, hostID: 100000, size: 65536 }); });
' "$work" "$here/src/oci/defaults.ts"
chown -R 1000:1000 "$work"/rootless*
# -b brings each binary's shared libraries into the VM
"$vm" -b "$here/bin/runjs" -b "$here/bin/runjs-frontend" -b "$here/bin/runjs-init" "$work" 'sh ./cgroup-v2.sh; a=$?; vm-user sh ./rootless.sh; b=$?; [ $a = 0 ] && [ $b = 0 ]'
