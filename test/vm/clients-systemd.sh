#!/bin/sh
# Runs INSIDE the systemd VM (../shared/vm/vm-run.sh -S -P podman,containerd,docker.io), as
# root, from the directory test/vm/run-clients-systemd.sh prepared: Podman, containerd (ctr
# and the runc v2 shim) and Docker with their systemd defaults on pure cgroup v2, with
# RUNTIME (a path: runjs, or runc for comparison) in place of runc.
#   sh clients-systemd.sh RUNTIME [CLIENT...]    ends with "NAME: N passed, N failed"
D=$(cd "$(dirname "$0")" && pwd)
RT=$1; shift
NAME=$(basename "$RT")
CLIENTS=${*:-podman containerd docker}
IMG=localhost/runjs-test/busybox:latest
pass=0; fail=0
check() { if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok: $NAME: $1 = $2"; else fail=$((fail+1)); echo "FAIL: $NAME: $1: got '$2', want '$3'"; fi; }
prop() { systemctl show -p "$2" --value "$1" 2>&1; }
gone() { s=$(systemctl show -p LoadState,ActiveState --value "$1" 2>/dev/null | tr '\n' ' '); case $s in "not-found inactive "*|"") echo gone ;; *) echo "$s" ;; esac; }
cgroups_of() { find /sys/fs/cgroup -name "*$1*" -type d 2>/dev/null | grep -c .; }

for c in $CLIENTS; do case $c in
podman)
  P="podman --runtime $RT --cgroup-manager systemd"
  $P load -q -i "$D/busybox.tar" >/dev/null 2>&1
  check "podman: run --rm" "$($P run --rm $IMG echo hi 2>&1)" "hi"
  $P run --rm $IMG sh -c 'exit 3' >/dev/null 2>&1; check "podman: exit code" "$?" "3"
  check "podman: -m 32m seen inside" "$($P run --rm -m 32m $IMG cat /sys/fs/cgroup/memory.max 2>&1)" "33554432"
  id=$($P run -d --name s1 -m 32m --pids-limit 50 $IMG sleep 300 2>&1)
  check "podman: run -d" "$(echo "$id" | grep -Ec '^[0-9a-f]{64}$')" "1"
  U=libpod-$id.scope
  check "podman: unit active" "$(prop $U ActiveState)" "active"
  check "podman: unit MemoryMax" "$(prop $U MemoryMax)" "33554432"
  check "podman: unit TasksMax" "$(prop $U TasksMax)" "50"
  check "podman: memory.max of the unit" "$(cat /sys/fs/cgroup/machine.slice/$U/memory.max 2>&1)" "33554432"
  check "podman: exec" "$($P exec s1 echo in 2>&1)" "in"
  check "podman: its AppArmor profile applied" "$($P exec s1 cat /proc/1/attr/current 2>&1 | sed 's/-[0-9.]* / /')" "containers-default (enforce)"
  $P pause s1 >/dev/null 2>&1; check "podman: pause" "$($P inspect -f '{{.State.Status}}' s1 2>&1)" "paused"
  $P unpause s1 >/dev/null 2>&1; check "podman: unpause" "$($P inspect -f '{{.State.Status}}' s1 2>&1)" "running"
  $P stop -t 1 s1 >/dev/null 2>&1; check "podman: stop" "$?" "0"
  $P rm s1 >/dev/null 2>&1; check "podman: rm" "$?" "0"
  check "podman: no unit left" "$(gone $U)" "gone"
  check "podman: no cgroup left" "$(cgroups_of "$id")" "0"
  ;;
containerd)
  systemctl start containerd
  C="ctr --namespace vmtest"
  $C images import "$D/busybox.tar" >/dev/null 2>&1
  R="--runc-binary $RT --runc-systemd-cgroup"
  check "ctr: run --rm" "$($C run --rm $R --cgroup system.slice:ctr:t1 $IMG t1 echo hi 2>&1)" "hi"
  $C run --rm $R --cgroup system.slice:ctr:t2 $IMG t2 sh -c 'exit 3' >/dev/null 2>&1; check "ctr: exit code" "$?" "3"
  $C run -d $R --cgroup system.slice:ctr:s2 --memory-limit 33554432 $IMG s2 sleep 300 >/dev/null 2>&1; check "ctr: run -d" "$?" "0"
  U=ctr-s2.scope
  check "ctr: unit active" "$(prop $U ActiveState)" "active"
  check "ctr: unit MemoryMax" "$(prop $U MemoryMax)" "33554432"
  check "ctr: memory.max of the unit" "$(cat /sys/fs/cgroup/system.slice/$U/memory.max 2>&1)" "33554432"
  check "ctr: exec" "$($C tasks exec --exec-id e1 s2 echo in 2>&1)" "in"
  $C tasks pause s2; check "ctr: pause" "$($C tasks ls | awk '$1 == "s2" {print $3}')" "PAUSED"
  $C tasks resume s2; check "ctr: resume" "$($C tasks ls | awk '$1 == "s2" {print $3}')" "RUNNING"
  $C tasks kill -s SIGKILL s2; for i in $(seq 50); do $C tasks ls | grep -q "^s2 .*STOPPED" && break; sleep 0.2; done
  $C tasks rm s2 >/dev/null 2>&1; check "ctr: tasks rm" "$?" "0"
  $C containers rm s2 >/dev/null 2>&1; check "ctr: containers rm" "$?" "0"
  check "ctr: no unit left" "$(gone $U)" "gone"
  check "ctr: no cgroup left" "$(cgroups_of ctr-)" "0"
  ;;
docker)
  mkdir -p /etc/docker
  printf '{"exec-opts":["native.cgroupdriver=systemd"],"runtimes":{"vmrt":{"path":"%s"}},"default-runtime":"vmrt"}\n' "$RT" >/etc/docker/daemon.json
  systemctl restart docker 2>&1
  check "docker: cgroup driver" "$(docker info -f '{{.CgroupDriver}}' 2>&1)" "systemd"
  docker load -q -i "$D/busybox.tar" >/dev/null 2>&1
  check "docker: run --rm" "$(docker run --rm --network none $IMG echo hi 2>&1)" "hi"
  docker run --rm --network none $IMG sh -c 'exit 3' >/dev/null 2>&1; check "docker: exit code" "$?" "3"
  check "docker: -m 32m seen inside" "$(docker run --rm --network none -m 32m $IMG cat /sys/fs/cgroup/memory.max 2>&1)" "33554432"
  id=$(docker run -d --network none --name s3 -m 32m --pids-limit 50 $IMG sleep 300 2>&1)
  check "docker: run -d" "$(echo "$id" | grep -Ec '^[0-9a-f]{64}$')" "1"
  U=docker-$id.scope
  check "docker: unit active" "$(prop $U ActiveState)" "active"
  check "docker: unit MemoryMax" "$(prop $U MemoryMax)" "33554432"
  check "docker: unit TasksMax" "$(prop $U TasksMax)" "50"
  check "docker: memory.max of the unit" "$(cat /sys/fs/cgroup/system.slice/$U/memory.max 2>&1)" "33554432"
  check "docker: exec" "$(docker exec s3 echo in 2>&1)" "in"
  check "docker: its AppArmor profile applied" "$(docker exec s3 cat /proc/1/attr/current 2>&1)" "docker-default (enforce)"
  docker pause s3 >/dev/null 2>&1; check "docker: pause" "$(docker inspect -f '{{.State.Status}}' s3 2>&1)" "paused"
  docker unpause s3 >/dev/null 2>&1; check "docker: unpause" "$(docker inspect -f '{{.State.Status}}' s3 2>&1)" "running"
  docker stop -t 1 s3 >/dev/null 2>&1; check "docker: stop" "$?" "0"
  docker rm s3 >/dev/null 2>&1; check "docker: rm" "$?" "0"
  check "docker: no unit left" "$(gone $U)" "gone"
  check "docker: no cgroup left" "$(cgroups_of "$id")" "0"
  ;;
esac; done

echo "$NAME: $pass passed, $fail failed"
[ "$fail" = 0 ]
