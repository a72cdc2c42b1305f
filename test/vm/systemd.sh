#!/bin/sh
# Runs INSIDE the systemd VM (../shared/vm/vm-run.sh -S: systemd 252 as PID 1, D-Bus, pure
# cgroup v2), as root, from a directory that test/vm/run-systemd.sh prepared: the systemd
# cgroup driver (--systemd-cgroup) of RUNTIME (runjs, or runc for comparison), each feature
# read back from the unit's properties (systemctl show) and from the cgroup files.
#   sh systemd.sh RUNTIME            as root; ends with "RUNTIME: N passed, N failed"
#   vm-user sh systemd.sh RUNTIME    rootless (uid 1000, its user manager), the same ending
D=$(cd "$(dirname "$0")" && pwd)
RT=${1:-runjs}
ROOT=/run/vm-$RT; [ "$(id -u)" = 0 ] || ROOT=/tmp/vm-$RT-$(id -u)
case $RT in
  runjs) R="$D/runjs --root $ROOT --systemd-cgroup" ;;
  *) R="$RT --root $ROOT --systemd-cgroup" ;;
esac
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok: $RT: $1 = $2"; else fail=$((fail+1)); echo "FAIL: $RT: $1: got '$2', want '$3'"; fi; }
USER_FLAG=; [ "$(id -u)" = 0 ] || USER_FLAG=--user
prop() { systemctl $USER_FLAG show -p "$2" --value "$1" 2>&1; }
# "absent" once a unit is neither loaded nor active (systemd forgets a stopped transient unit)
unit_state() { s=$(systemctl $USER_FLAG show -p LoadState,ActiveState --value "$1" 2>/dev/null | tr '\n' ' '); case $s in "not-found inactive "*|"") echo absent ;; *) echo "$s" ;; esac; }
W=$D; [ -z "$USER_FLAG" ] || { W=$HOME/vm-work; mkdir -p "$W"; }
bundle() { # a fresh copy of a prepared bundle, with this runtime's unit name
  rm -rf "$W/w-$1"; cp -a "$D/$1" "$W/w-$1"; sed -i "s/@RT@/$RT/g" "$W/w-$1/config.json"; cd "$W/w-$1"
}

if [ -n "$USER_FLAG" ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  # v1 hierarchies are delegated to no user: refused before anything is made (runc too)
  bundle rootless
  $R run -d r1 </dev/null >/dev/null 2>"$W/err-$RT-r"; check "rootless on v1: refused" "$?" "1"; cat "$W/err-$RT-r"
  check "rootless on v1: no unit" "$(unit_state $RT-r1.scope)" "absent"
  check "rootless on v1: no state" "$($R list -q 2>/dev/null | grep -c .)" "0"
  echo "$RT rootless: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi
if [ -n "$USER_FLAG" ]; then
  # rootless: the caller's own user manager makes the unit, in its user.slice
  M=$(systemctl --user show -p ControlGroup --value)
  U=$RT-r1.scope
  CG=/sys/fs/cgroup$M/user.slice/$U
  bundle rootless
  $R run -d r1 </dev/null >/dev/null 2>"$W/err-$RT-r"; check "rootless: run -d exit" "$?" "0"; cat "$W/err-$RT-r"
  check "rootless: unit active" "$(prop $U ActiveState)" "active"
  check "rootless: ControlGroup" "$(prop $U ControlGroup)" "$M/user.slice/$U"
  check "rootless: MemoryMax property" "$(prop $U MemoryMax)" "33554432"
  check "rootless: memory.max" "$(cat $CG/memory.max 2>&1)" "33554432"
  check "rootless: TasksMax property" "$(prop $U TasksMax)" "32"
  check "rootless: pids.max" "$(cat $CG/pids.max 2>&1)" "32"
  check "rootless: the init is in the scope" "$(grep -c . $CG/cgroup.procs 2>&1)" "1"
  check "rootless: exec joins the scope" "$($R exec r1 cat /proc/self/cgroup 2>&1)" "0::/"
  $R update --memory 67108864 r1; check "rootless: update exit" "$?" "0"
  check "rootless: update: MemoryMax property" "$(prop $U MemoryMax)" "67108864"
  check "rootless: update: memory.max" "$(cat $CG/memory.max 2>&1)" "67108864"
  $R delete -f r1; check "rootless: delete exit" "$?" "0"
  check "rootless: delete: no unit" "$(unit_state $U)" "absent"
  check "rootless: delete: no cgroup" "$([ -d $CG ] && echo present || echo gone)" "gone"
  echo "$RT rootless: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi

# 1. a detached container with limits, in system.slice. On a v1/hybrid guest (VM_CGROUP=hybrid)
# the same limits are read from the v1 files and properties.
V2=0; [ -f /sys/fs/cgroup/cgroup.controllers ] && V2=1
U=$RT-c1.scope
CG=/sys/fs/cgroup/system.slice/$U
# v2 file [v1 controller/file v1-value v1-property]: the file of the limit, on either layout
cg() { if [ $V2 = 1 ]; then cat "$CG/$1" 2>&1; else cat "/sys/fs/cgroup/$2/system.slice/$U/${3:-$1}" 2>&1; fi; }
want() { if [ $V2 = 1 ]; then echo "$1"; else echo "$2"; fi; }
MEMPROP=MemoryMax; [ $V2 = 1 ] || MEMPROP=MemoryLimit
CPUPROP=CPUWeight; [ $V2 = 1 ] || CPUPROP=CPUShares
bundle limits
$R run -d c1 </dev/null >/dev/null 2>"$W/err"; check "run -d exit" "$?" "0"; cat "$W/err"
check "unit active" "$(prop $U ActiveState)" "active"
check "ControlGroup" "$(prop $U ControlGroup)" "/system.slice/$U"
check "Slice" "$(prop $U Slice)" "system.slice"
check "Delegate" "$(prop $U Delegate)" "yes"
check "$MEMPROP property" "$(prop $U $MEMPROP)" "33554432"
check "memory limit file" "$(cg memory.max memory memory.limit_in_bytes)" "33554432"
check "TasksMax property" "$(prop $U TasksMax)" "64"
check "pids.max" "$(cg pids.max pids)" "64"
check "$CPUPROP property (shares 1024)" "$(prop $U $CPUPROP)" "$(want 39 1024)"
check "cpu weight file" "$(cg cpu.weight cpu,cpuacct cpu.shares)" "$(want 39 1024)"
check "CPUQuotaPerSecUSec property (50000/100000)" "$(prop $U CPUQuotaPerSecUSec)" "500ms"
check "cpu quota file" "$(cg cpu.max cpu,cpuacct cpu.cfs_quota_us)" "$(want "50000 100000" 50000)"
[ $V2 = 1 ] && check "AllowedCPUs property" "$(prop $U AllowedCPUs)" "0"
check "cpuset.cpus" "$(cg cpuset.cpus cpuset)" "0"
procs1() { cg cgroup.procs pids | grep -c '^[0-9]'; }
check "the init is in the scope" "$(procs1)" "1"
# a second container that asks for the same unit: refused, the first one untouched
$R run -d c1b </dev/null >/dev/null 2>"$W/err"; check "same unit twice: refused" "$?" "1"
check "same unit twice: says why" "$(grep -c 'exists already' "$W/err")" "1"
check "same unit twice: the first runs on" "$(prop $U ActiveState) $(procs1)" "active 1"
$R delete -f c1b >/dev/null 2>&1
check "DevicePolicy" "$(prop $U DevicePolicy)" "strict"
check "DeviceAllow has the spec's rule" "$(prop $U DeviceAllow | tr ' ' '\n' | grep -c '^/dev/char/1:11$')" "1"
# /dev/kmsg opened for writing needs no capability: only the device rules decide
kmsg() { $R exec c1 sh -c '(: >/dev/kmsg) 2>/dev/null && echo open || echo refused' 2>&1; }
check "an allowed device opens" "$(kmsg)" "open"
echo '{"devices":[{"allow":false,"access":"rwm"}]}' >"$W/dev.json"
$R update -r "$W/dev.json" c1; check "update -r devices exit" "$?" "0"
check "update: the device is refused now" "$(kmsg)" "refused"
check "update: DeviceAllow without it" "$(prop $U DeviceAllow | tr ' ' '\n' | grep -c '^/dev/char/1:11$')" "0"
# with a cgroup namespace the container's own cgroup is "/" in every hierarchy
check "exec joins the scope" "$($R exec c1 cat /proc/self/cgroup 2>&1 | grep -vc ':/$')" "0"
check "ps lists the init" "$($R ps c1 2>/dev/null | grep -c sleep)" "1"
$R pause c1; check "pause: freezer" "$(cg cgroup.freeze freezer freezer.state)" "$(want 1 FROZEN)"
$R resume c1; check "resume: freezer" "$(cg cgroup.freeze freezer freezer.state)" "$(want 0 THAWED)"
$R update --memory 67108864 --pids-limit 32 c1; check "update exit" "$?" "0"
check "update: $MEMPROP property" "$(prop $U $MEMPROP)" "67108864"
check "update: memory limit file" "$(cg memory.max memory memory.limit_in_bytes)" "67108864"
check "update: TasksMax property" "$(prop $U TasksMax)" "32"
check "update: pids.max" "$(cg pids.max pids)" "32"
$R kill --all c1 KILL
# (systemd removes a scope its last process left: no file is no process)
procs() { cg cgroup.procs pids | grep -c '^[0-9]'; }
for i in $(seq 25); do [ "$(procs)" = 0 ] && break; sleep 0.2; done
check "kill --all: the scope is empty" "$(procs)" "0"
$R delete -f c1; check "delete exit" "$?" "0"
check "delete: no unit" "$(unit_state $U)" "absent"
check "delete: no cgroup" "$([ -d $CG ] && echo present || echo gone)" "gone"

# 2. a nested slice, an annotation passed on as a property, the default slice
U=$RT-c2.scope
bundle nested
$R create c2 </dev/null >/dev/null 2>"$W/err"; check "nested: create exit" "$?" "0"; cat "$W/err"
check "nested: ControlGroup" "$(prop $U ControlGroup)" "/vmtest.slice/vmtest-a.slice/$U"
check "nested: Slice" "$(prop $U Slice)" "vmtest-a.slice"
check "annotation TimeoutStopUSec" "$(prop $U TimeoutStopUSec)" "7s"
$R delete -f c2; check "nested: no unit after delete" "$(unit_state $U)" "absent"

# 3. a create that fails after its unit started (a createRuntime hook fails): no unit left
U=$RT-c3.scope
bundle broken
$R create c3 </dev/null >/dev/null 2>"$W/err"; check "broken: create fails" "$?" "1"; head -c 300 "$W/err"; echo
check "broken: no unit" "$(unit_state $U)" "absent"
check "broken: no cgroup" "$([ -d /sys/fs/cgroup/system.slice/$U ] && echo present || echo gone)" "gone"
$R delete -f c3 >/dev/null 2>&1

# 4. the runtime killed (SIGKILL) during create, after the unit started; then delete --force
U=$RT-c4.scope
bundle slowhook
$R create c4 </dev/null >/dev/null 2>&1 &
rt=$!
for i in $(seq 100); do [ "$(prop $U ActiveState)" = active ] && break; sleep 0.2; done
check "killed create: the unit was started" "$(prop $U ActiveState)" "active"
kill -9 $rt; wait $rt 2>/dev/null
$R delete --force c4 >/dev/null 2>"$W/err"; cat "$W/err"
check "killed create: no unit after delete --force" "$(unit_state $U)" "absent"
check "killed create: no cgroup" "$([ -d /sys/fs/cgroup/system.slice/$U ] && echo present || echo gone)" "gone"

# 5. bad input: a malformed path and a slice systemd refuses; nothing made
bundle limits
sed -i 's/"cgroupsPath":"[^"]*"/"cgroupsPath":"no-colons"/' config.json
$R run -d c5 </dev/null >/dev/null 2>"$W/err"; check "malformed cgroupsPath fails" "$?" "1"
check "malformed cgroupsPath: named" "$(grep -c cgroupsPath "$W/err")" "1"
sed -i 's/"cgroupsPath":"[^"]*"/"cgroupsPath":"bad--name.slice:x:c5"/' config.json
$R run -d c5 </dev/null >/dev/null 2>"$W/err"; check "refused slice fails" "$?" "1"
check "refused slice: no unit" "$(unit_state x-c5.scope)" "absent"
check "no state left" "$($R list -q 2>/dev/null | grep -c .)" "0"; $R list 2>&1 | tail -n +2

# 6. AppArmor (Debian's kernel has it; the apparmor package brings apparmor_parser): a
# profile that denies writes below /tmp, at create and at exec --apparmor
if [ -e /sys/kernel/security/apparmor/profiles ] && command -v apparmor_parser >/dev/null; then
  cat >/etc/apparmor.d/vmtest-deny-tmp <<'AA'
#include <tunables/global>
profile vmtest-deny-tmp flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>
  file, capability, network, unix, signal, ptrace, mount, umount, pivot_root,
  deny /tmp/** w,
}
AA
  apparmor_parser -r /etc/apparmor.d/vmtest-deny-tmp
  W_T='(echo x >/tmp/f) 2>/dev/null && echo wrote || echo denied'
  bundle apparmor
  check "apparmor: a write the profile denies" "$($R run a1 </dev/null 2>/dev/null)" "denied vmtest-deny-tmp (enforce)"
  bundle plain
  check "apparmor: the same without the profile" "$($R run a2 </dev/null 2>/dev/null)" "wrote unconfined"
  bundle limits
  $R run -d a3 </dev/null >/dev/null 2>&1
  check "apparmor: exec --apparmor" "$($R exec --apparmor vmtest-deny-tmp a3 sh -c "$W_T" 2>&1)" "denied"
  check "apparmor: exec without" "$($R exec a3 sh -c "$W_T" 2>&1)" "wrote"
  $R delete -f a3
  bundle apparmor
  sed -i 's/"apparmorProfile":"vmtest-deny-tmp"/"apparmorProfile":"vmtest-not-loaded"/' config.json
  $R run a4 </dev/null >/dev/null 2>"$W/err"; check "apparmor: a profile not loaded fails" "$?" "1"
  check "apparmor: ... naming the field" "$(grep -c apparmorProfile "$W/err")" "1"
  check "apparmor: ... and leaves no unit" "$(unit_state $RT-a1.scope)" "absent"
  if [ "$RT" = runjs ]; then
    # the front end's default profile, loaded on first use, as Docker loads docker-default
    F="$D/runjs container"; IMG=localhost/runjs-test/busybox:latest
    $D/runjs image import "$D/busybox.tar" >/dev/null
    check "front end: runjs-default applied" "$($F run --rm --network none $IMG cat /proc/self/attr/current 2>&1)" "runjs-default (enforce)"
    check "front end: ... and loaded" "$(grep -c '^runjs-default ' /sys/kernel/security/apparmor/profiles)" "1"
    check "front end: mount refused under it, even with CAP_SYS_ADMIN" "$($F run --rm --network none --cap-add SYS_ADMIN $IMG sh -c 'mount -t tmpfs t /mnt 2>/dev/null && echo mounted || echo refused' 2>&1)" "refused"
    check "front end: apparmor=unconfined" "$($F run --rm --network none --cap-add SYS_ADMIN --security-opt apparmor=unconfined $IMG sh -c 'cat /proc/self/attr/current; mount -t tmpfs t /mnt 2>/dev/null && echo mounted || echo refused' 2>&1 | tr '\n' ' ')" "unconfined mounted "
    check "front end: apparmor=PROFILE" "$($F run --rm --network none --security-opt apparmor=vmtest-deny-tmp $IMG sh -c "$W_T" 2>&1)" "denied"
  fi
else
  echo "skip: AppArmor checks (no AppArmor or no apparmor_parser in this guest)"
fi

echo "$RT: $pass passed, $fail failed"
[ "$fail" = 0 ]
