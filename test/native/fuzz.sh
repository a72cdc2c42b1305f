#!/usr/bin/env bash
# Fuzz the plan decoder: build runjs-init with AddressSanitizer and UBSan and run the
# check-plan tests against that build, with many more random corruptions than usual.
# Any out-of-bounds read or undefined behaviour aborts the binary and fails the test.
# Usage: test/native/fuzz.sh [iterations]   (no root needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -o "$out/runjs-init" native/*.c
# the decoder never frees (the process exits right after), so leaks are expected
RUNJS_INIT="$out/runjs-init" RUNJS_FUZZ_ITERATIONS="${1:-5000}" ASAN_OPTIONS=detect_leaks=0 \
	node_modules/.bin/bun test test/native
