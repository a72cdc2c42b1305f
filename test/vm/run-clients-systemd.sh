#!/usr/bin/env bash
# Podman, containerd and Docker with their systemd defaults, where systemd is PID 1: boots
# ../shared/vm/vm-run.sh -S -P podman,containerd,docker.io,apparmor (systemd 252, pure cgroup v2,
# Debian's clients; software emulation, a few minutes) and runs test/vm/clients-systemd.sh
# for runjs and then for runc (/usr/sbin/runc, for comparison) in the same boot.
# By hand, as root:
#   bash test/vm/run-clients-systemd.sh [CLIENT...]
#   (once before: ../shared/vm/vm-run.sh --setup-systemd -P podman,containerd,docker.io,apparmor)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
vm=${VM_RUN:-$here/../shared/vm/vm-run.sh}
[ -x "$here/bin/runjs" ] || bash "$here/scripts/build.sh"
work=$(mktemp -d /tmp/runjs-vmcl-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp "$here/bin/runjs" "$here/bin/runjs-init" "$here/test/vm/clients-systemd.sh" "$work/"
# the test image, offline: the host's static busybox as a docker-archive (docker load, podman
# load and ctr images import all read it)
img=$work/img; mkdir -p "$img/root"/{bin,etc,tmp,root,proc,sys,dev} "$img/out"
cp -L "$(command -v busybox)" "$img/root/bin/busybox"
for a in $("$img/root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$img/root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$img/root/etc/passwd"; echo 'root:x:0:' >"$img/root/etc/group"
tar --numeric-owner --owner=0 --group=0 -C "$img/root" -cf "$img/layer.tar" .
diff=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
mkdir "$img/out/$diff" && mv "$img/layer.tar" "$img/out/$diff/layer.tar"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >"$img/config.json"
cfg=$(sha256sum "$img/config.json" | cut -d' ' -f1); mv "$img/config.json" "$img/out/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["localhost/runjs-test/busybox:latest"],"Layers":["%s/layer.tar"]}]' "$cfg" "$diff" >"$img/out/manifest.json"
tar -C "$img/out" -cf "$work/busybox.tar" . && rm -rf "$img"
clients="${*:-podman containerd docker}"
"$vm" -S -P podman,containerd,docker.io,apparmor -t 1800 -b "$here/bin/runjs" -b "$here/bin/runjs-init" "$work" \
  "sh ./clients-systemd.sh $work/runjs $clients; a=\$?; sh ./clients-systemd.sh /usr/sbin/runc $clients; exit \$a"
