#!/usr/bin/env bash
# Make an OCI bundle from the host's static busybox, offline: DIR/rootfs holds busybox and
# its applet links, DIR/config.json is `runjs spec` with the given command (no terminal
# unless DEMO_TERMINAL=1).
#   scripts/demo-bundle.sh DIR [ARG...]
set -euo pipefail
dir=${1:?usage: demo-bundle.sh DIR [ARG...]}; shift
here=$(cd "$(dirname "$0")/.." && pwd)
bb=$(command -v busybox || echo /bin/busybox)
mkdir -p "$dir/rootfs"/{bin,dev,proc,sys,tmp,etc,root}
cp -L "$bb" "$dir/rootfs/bin/busybox"
for a in $("$dir/rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/rootfs/etc/passwd"
echo 'root:x:0:' >"$dir/rootfs/etc/group"
rm -f "$dir/config.json"
"$here/bin/runjs" spec --bundle "$dir"
"$here/node_modules/.bin/bun" "$here/scripts/demo-bundle.ts" "$dir/config.json" "$@"
