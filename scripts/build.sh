#!/usr/bin/env bash
# Build runjs: the C init (bin/runjs-init) and the runtime as one executable (bin/runjs).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
[ -x node_modules/.bin/bun ] || npm install --no-audit --no-fund --loglevel=error
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o bin/runjs-init.tmp native/*.c
mv bin/runjs-init.tmp bin/runjs-init
node_modules/.bin/bun build --compile --minify --sourcemap=none src/cli/main.ts --outfile bin/runjs.tmp >/dev/null
mv bin/runjs.tmp bin/runjs
