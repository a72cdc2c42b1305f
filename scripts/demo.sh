#!/usr/bin/env bash
# Set up and run a first container: install what is missing, build runjs, make a busybox
# bundle in demo/ (offline, from the host's static busybox) and run it.
#   bash scripts/demo.sh [COMMAND...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
rm -rf demo/bundle
# On a terminal the container gets one too (runjs bridges it): `demo.sh sh` is interactive.
if [ -t 0 ] && [ -t 1 ]; then export DEMO_TERMINAL=1; fi
bash scripts/demo-bundle.sh demo/bundle "$@"
# The same root filesystem as an image in the store, through the import users use
# (`bin/runjs image ls` lists it as docker.io/runjs-demo/busybox:latest).
tar --numeric-owner -C demo/bundle/rootfs -cf demo/busybox-rootfs.tar .
bin/runjs image import --name runjs-demo/busybox demo/busybox-rootfs.tar >/dev/null
bin/runjs image prune >/dev/null # the previous demo's image, if any
cd demo/bundle
exec ../../bin/runjs run "demo-$$"
