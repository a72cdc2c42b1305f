#!/bin/sh
# Runs INSIDE a pure cgroup-v2 VM (../shared/vm/vm-run.sh), as root, from a directory that
# holds runjs, runjs-init and a busybox bundle (test/vm/run.sh prepares it):
# the v2 resource writers, freezer and cleanup on a real v2-only kernel.
# Ends with "N passed, N failed".
D=$(cd "$(dirname "$0")" && pwd)
R="$D/runjs --root /run/runjs-vm"
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok: $1 = $2"; else fail=$((fail+1)); echo "FAIL: $1: got '$2', want '$3'"; fi; }
CG=/sys/fs/cgroup/runjs-vm/c1
echo "kernel $(uname -r); $(awk '$2 == "/sys/fs/cgroup" {print $3}' /proc/mounts) at /sys/fs/cgroup"
cd "$D/bundle"
$R run -d c1 >/dev/null 2>"$D/err"; check "run -d exit" "$?" "0"; cat "$D/err"
check "memory.max" "$(cat $CG/memory.max 2>&1)" "33554432"
check "memory.swap.max" "$(cat $CG/memory.swap.max 2>&1)" "0"
check "pids.max" "$(cat $CG/pids.max 2>&1)" "64"
check "cpu.weight (shares 1024)" "$(cat $CG/cpu.weight 2>&1)" "39"
check "cpu.max" "$(cat $CG/cpu.max 2>&1)" "50000 100000"
check "state running" "$($R state c1 | grep -c '"running"')" "1"
$R pause c1; check "pause" "$(cat $CG/cgroup.freeze)" "1"
check "state paused" "$($R state c1 | grep -c '"paused"')" "1"
$R resume c1; check "resume" "$(cat $CG/cgroup.freeze)" "0"
$R update --pids-limit 32 c1; check "update pids.max" "$(cat $CG/pids.max)" "32"
check "ps lists the init" "$($R ps -f json c1 | grep -c '\[')" "1"
$R delete -f c1; check "delete -f" "$?" "0"
check "cgroup removed" "$([ -d $CG ] && echo present || echo gone)" "gone"
# an allocation beyond the limit is OOM-killed: run exits 128+9
cd "$D/bundle-oom"
$R run c2 </dev/null >/dev/null 2>&1; check "OOM kill" "$?" "137"
check "oom cgroup removed" "$([ -d /sys/fs/cgroup/runjs-vm/c2 ] && echo present || echo gone)" "gone"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
