#!/usr/bin/env bash
# Build runjs: the C init (bin/runjs-init) and the runtime as one executable (bin/runjs).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
# npm writes node_modules/.package-lock.json on install: older than the lock means the dependencies changed
[ -x node_modules/.bin/bun ] && [ node_modules/.package-lock.json -nt package-lock.json ] || { npm install --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; }
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o bin/runjs-init.tmp native/*.c
mv bin/runjs-init.tmp bin/runjs-init
# --bytecode ships JavaScriptCore bytecode instead of source: start-up drops from ~7 ms
# to ~4.5 ms here (bytecode needs the CommonJS output format).
# The commit goes into `runjs --version` (Docker's `docker info` shows it, as it does runc's).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# A runtime runs in the bundle's directory, which is its caller's: Bun's executables would
# read a .env (into process.env) and a bunfig.toml from there by default.
compile=(node_modules/.bin/bun build --compile --minify --bytecode --format=cjs --no-compile-autoload-dotenv
  --no-compile-autoload-bunfig --define "RUNJS_COMMIT=\"$commit\"")
# Two programs from the one entry point: bin/runjs, the runtime that containerd, Podman and
# Docker start for every step, without the front end (RUNJS_RUNTIME_ONLY drops it from the
# bundle: less to load on every call), and bin/runjs-frontend, the whole program, which runjs
# execs for image, container, network, volume, login and logout.
"${compile[@]}" --define RUNJS_RUNTIME_ONLY=true src/cli/entry.ts --outfile bin/runjs.tmp >/dev/null
"${compile[@]}" --define RUNJS_RUNTIME_ONLY=false src/cli/entry.ts --outfile bin/runjs-frontend.tmp >/dev/null
mv bin/runjs-frontend.tmp bin/runjs-frontend
mv bin/runjs.tmp bin/runjs
# containerd's shim v2 for runjs (runtime_type io.containerd.runjs.v2): the lifecycle in one
# long-running process per pod, on the same library. (Not --smol: its smaller, more often
# collected heap saved ~0.3 MB per shim and cost ~4 ms of every container start, critest's
# StartContainer 25.3 -> 20.9 ms without it; bench/README.md.)
"${compile[@]}" src/shim/entry.ts --outfile bin/containerd-shim-runjs-v2.tmp >/dev/null
mv bin/containerd-shim-runjs-v2.tmp bin/containerd-shim-runjs-v2
