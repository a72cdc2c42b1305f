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
# update -r replaces the device filter (it does not add a second one, which would also have to allow)
# (no exec yet: a shell joins the container's cgroup, the filter applies to every task in it)
kmsg() { sh -c "echo \$\$ >$CG/cgroup.procs; (: </dev/kmsg) 2>/dev/null && echo open || echo refused"; }
check "kmsg refused before update" "$(kmsg)" "refused"
echo '{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":11,"access":"r"}]}' >"$D/dev.json"
$R update -r "$D/dev.json" c1; check "update -r devices exit" "$?" "0"
check "kmsg opens after update" "$(kmsg)" "open"
check "ps lists the init" "$($R ps -f json c1 | grep -c '\[')" "1"
$R delete -f c1; check "delete -f" "$?" "0"
check "cgroup removed" "$([ -d $CG ] && echo present || echo gone)" "gone"
# an allocation beyond the limit is OOM-killed: run exits 128+9
cd "$D/bundle-oom"
$R run c2 </dev/null >/dev/null 2>&1; check "OOM kill" "$?" "137"
check "oom cgroup removed" "$([ -d /sys/fs/cgroup/runjs-vm/c2 ] && echo present || echo gone)" "gone"
# devices: the eBPF device filter (deny all + allow c 1:3, then runc's default list)
cd "$D/bundle-dev"
out=$($R run c3 </dev/null 2>&1); check "devices run exit" "$?" "0"
check "devices: /dev/null opens" "$(echo "$out" | grep -c '^null-ok$')" "1"
check "devices: /dev/zero opens (default list)" "$(echo "$out" | grep -c '^zero-ok$')" "1"
check "devices: /dev/kmsg refused" "$(echo "$out" | grep -c '^kmsg-denied$')" "1"
check "devices: the error is EPERM" "$(echo "$out" | grep -c 'kmsg.*Operation not permitted')" "1"
[ "$fail" = 0 ] || echo "$out"
check "devices cgroup removed" "$([ -d /sys/fs/cgroup/runjs-vm/c3 ] && echo present || echo gone)" "gone"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
