#!/usr/bin/env bash
# Install what building and testing runjs needs on Debian, as root: a C compiler, the
# static busybox the demo and test images are made of, newuidmap/newgidmap, Debian's runc (whose
# `runc spec` the tests run), and Bun (from npm, pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static) # static: it runs in any rootfs
command -v npm >/dev/null || need+=(npm)
[ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ] || need+=(libseccomp2)
command -v newuidmap >/dev/null || need+=(uidmap) # rootless containers that map more than one id
[ -x /usr/sbin/runc ] || need+=(runc) # its `runc spec` bundles are tested, and it is the reference for comparisons
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# npm writes node_modules/.package-lock.json on install: older than the lock means the dependencies changed
[ -x node_modules/.bin/bun ] && [ node_modules/.package-lock.json -nt package-lock.json ] || { npm install --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; }
