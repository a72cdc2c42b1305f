#!/usr/bin/env bash
# The VM suites' test image, offline: the host's static busybox as a docker-archive named
# localhost/runjs-test/busybox:latest (docker load, podman load, ctr images import and
# runjs image import all read it).
#   bash test/vm/make-image.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-image.sh OUT.tar}
img=$(mktemp -d); trap 'rm -rf "$img"' EXIT
mkdir -p "$img/root"/{bin,etc,tmp,root,proc,sys,dev,mnt} "$img/out"
cp -L "$(command -v busybox)" "$img/root/bin/busybox"
for a in $("$img/root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$img/root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$img/root/etc/passwd"; echo 'root:x:0:' >"$img/root/etc/group"
tar --numeric-owner --owner=0 --group=0 -C "$img/root" -cf "$img/layer.tar" .
diff=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
mkdir "$img/out/$diff" && mv "$img/layer.tar" "$img/out/$diff/layer.tar"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >"$img/config.json"
cfg=$(sha256sum "$img/config.json" | cut -d' ' -f1); mv "$img/config.json" "$img/out/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["localhost/runjs-test/busybox:latest"],"Layers":["%s/layer.tar"]}]' "$cfg" "$diff" >"$img/out/manifest.json"
tar -C "$img/out" -cf "$out" .
