#!/bin/sh
# Runs INSIDE a pure cgroup-v2 VM (../shared/vm/vm-run.sh) as the unprivileged user tester
# (uid 1000, a delegated cgroup at $VM_USER_CGROUP, subordinate ids 100000:65536), from a
# directory that holds runjs, runjs-init and a busybox bundle made by `runjs spec --rootless`
# (test/vm/run.sh prepares it): rootless containers, with limits in the delegated cgroup.
# Ends with "N passed, N failed".
D=$(cd "$(dirname "$0")" && pwd)
R="$D/runjs"
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok: $1 = $2"; else fail=$((fail+1)); echo "FAIL: $1: got '$2', want '$3'"; fi; }
echo "as $(id -u):$(id -g), XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR, delegated cgroup $VM_USER_CGROUP"
cd "$D/rootless"
out=$($R run r1 2>&1); check "run: root inside, own uid outside" "$out" "0 0 1000 1"
check "state under XDG_RUNTIME_DIR" "$(ls -d "$XDG_RUNTIME_DIR/runjs" 2>&1)" "$XDG_RUNTIME_DIR/runjs"
cd "$D/rootless-cg"
$R run -d r2 >/dev/null 2>"$XDG_RUNTIME_DIR/err"; check "run -d in the delegated cgroup" "$?" "0"; cat "$XDG_RUNTIME_DIR/err"
CG="$VM_USER_CGROUP/runjs-r2"
check "memory.max" "$(cat $CG/memory.max 2>&1)" "33554432"
check "pids.max" "$(cat $CG/pids.max 2>&1)" "32"
check "exec: id inside" "$($R exec r2 id -u 2>&1)" "0"
check "ps lists the init" "$($R ps r2 | grep -c 'sleep 100')" "1"
$R delete -f r2; check "delete -f" "$?" "0"
check "cgroup removed" "$(ls -d $CG 2>&1 | grep -c 'No such file')" "1"
cd "$D/rootless-oom"
$R run r3 >/dev/null 2>"$XDG_RUNTIME_DIR/err"; check "a hog in 16 MiB is OOM-killed" "$?" "137"; cat "$XDG_RUNTIME_DIR/err"
cd "$D/rootless-sub"
check "subuid range: uid_map lines" "$($R run r4 2>&1 | wc -l | tr -d ' ')" "2"
check "nothing left in the state root" "$(ls "$XDG_RUNTIME_DIR/runjs" | wc -l | tr -d ' ')" "0"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
