#!/usr/bin/env bash
# The test command: install what is missing, build, type-check, then run the unit tests
# (no root needed) and the integration tests (root: they run real containers).
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
extra_fail=0
if ! node_modules/.bin/tsc -p .; then echo "type check failed"; extra_fail=1; fi
dirs=(test/unit test/native)
if [ "$(id -u)" = 0 ]; then
  dirs+=(test/integration)
  # Podman, containerd and Docker from Debian, for the client suite (nothing is started here)
  if bash scripts/client-deps.sh; then dirs+=(test/clients); else echo "could not install the clients"; extra_fail=1; fi
else
  echo "not root: skipping test/integration and test/clients"
fi
out=$(mktemp)
node_modules/.bin/bun test --timeout 60000 "${dirs[@]}" "$@" 2>&1 | tee "$out"
pass=$(grep -Eo '^ *[0-9]+ pass$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0)
rm -f "$out"
fail=$((fail + extra_fail))
echo "${pass} passed, ${fail} failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
