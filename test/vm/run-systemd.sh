#!/usr/bin/env bash
# The systemd cgroup driver where systemd is PID 1: boots the throwaway VM of
# ../shared/vm/vm-run.sh -S (systemd 252, D-Bus, pure cgroup v2; software emulation, so about
# a minute) and runs test/vm/systemd.sh inside, for runjs and then for runc (the same
# scenarios, for comparison; runc's failures are reported, not counted against runjs).
# Not part of scripts/test.sh (it needs the shared VM tool and its systemd image); by hand, as
# root:
#   bash test/vm/run-systemd.sh          (once before: ../shared/vm/vm-run.sh --setup-systemd -P apparmor)
set -euo pipefail
source "$(dirname "$0")/workdir.sh" vmsd systemd.sh
for b in limits nested broken slowhook rootless apparmor plain; do bash "$here/scripts/demo-bundle.sh" "$work/$b" sleep 300 >/dev/null; done
# @RT@ becomes the runtime's name in the VM, so runjs's and runc's units do not meet
"$here/node_modules/.bin/bun" -e '
const fs = require("fs");
const [w] = process.argv.slice(1);
const edit = (b, f) => { const p = `${w}/${b}/config.json`; const c = JSON.parse(fs.readFileSync(p, "utf8")); c.ociVersion = "1.0.2"; c.root.readonly = false;
  if (!c.linux.namespaces.some((n) => n.type === "cgroup")) c.linux.namespaces.push({ type: "cgroup" }); f(c); fs.writeFileSync(p, JSON.stringify(c)); };
edit("limits", (c) => {
  c.linux.cgroupsPath = "system.slice:@RT@:c1";
  c.linux.resources = { memory: { limit: 33554432 }, pids: { limit: 64 }, cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0" },
    devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "w" }] };
  c.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
});
edit("nested", (c) => {
  c.linux.cgroupsPath = "vmtest-a.slice:@RT@:c2";
  c.annotations = { "org.systemd.property.TimeoutStopUSec": "uint64 7000000" };
});
edit("broken", (c) => { c.linux.cgroupsPath = "system.slice:@RT@:c3"; c.hooks = { createRuntime: [{ path: "/bin/false" }] }; });
// rootless: `runjs spec --rootless` as uid 1000 would write it (uid 0 in the container is 1000)
const { defaultSpec } = require(process.argv[2]);
const r = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
r.root.readonly = false; r.process.terminal = false; r.process.args = ["sleep", "300"]; r.ociVersion = "1.0.2";
r.linux.namespaces.push({ type: "cgroup" }); r.linux.cgroupsPath = "user.slice:@RT@:r1"; r.linux.resources = { memory: { limit: 33554432 }, pids: { limit: 32 } };
fs.writeFileSync(`${w}/rootless/config.json`, JSON.stringify(r));
const wt = "(echo x >/tmp/f) 2>/dev/null && echo wrote || echo denied";
edit("apparmor", (c) => { c.linux.cgroupsPath = "system.slice:@RT@:a1"; c.process.apparmorProfile = "vmtest-deny-tmp"; c.process.args = ["sh", "-c", `echo $( ${wt} ) $(cat /proc/self/attr/current)`]; });
edit("plain", (c) => { c.linux.cgroupsPath = "system.slice:@RT@:a2"; c.process.args = ["sh", "-c", `echo $( ${wt} ) $(cat /proc/self/attr/current)`]; });
edit("slowhook", (c) => { c.linux.cgroupsPath = "system.slice:@RT@:c4"; c.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"] }] }; });
' "$work" "$here/src/oci/defaults.ts"
chown -R 1000:1000 "$work/rootless"
"$vm" -S -P apparmor ${VM_CGROUP:+-c "$VM_CGROUP"} -t 900 -b "$here/bin/runjs" -b "$here/bin/runjs-frontend" -b "$here/bin/runjs-init" "$work" 'sh ./systemd.sh runjs; a=$?; vm-user sh ./systemd.sh runjs; b=$?; sh ./systemd.sh runc; vm-user sh ./systemd.sh runc; [ $a = 0 ] && [ $b = 0 ]'
