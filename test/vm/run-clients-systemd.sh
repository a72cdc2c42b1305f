#!/usr/bin/env bash
# Podman, containerd and Docker with their systemd defaults, where systemd is PID 1: boots
# ../shared/vm/vm-run.sh -S -P podman,containerd,docker.io,apparmor (systemd 252, pure cgroup v2,
# Debian's clients; software emulation, a few minutes) and runs test/vm/clients-systemd.sh
# for runjs and then for runc (/usr/sbin/runc, for comparison) in the same boot.
# By hand, as root:
#   bash test/vm/run-clients-systemd.sh [CLIENT...]
#   (once before: ../shared/vm/vm-run.sh --setup-systemd -P podman,containerd,docker.io,apparmor)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
vm=${VM_RUN:-$here/../shared/vm/vm-run.sh}
[ -x "$here/bin/runjs" ] || bash "$here/scripts/build.sh"
work=$(mktemp -d /tmp/runjs-vmcl-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp "$here/bin/runjs" "$here/bin/runjs-init" "$here/test/vm/clients-systemd.sh" "$work/"
bash "$here/test/vm/make-image.sh" "$work/busybox.tar"
clients="${*:-podman containerd docker}"
"$vm" -S -P podman,containerd,docker.io,apparmor -t 1800 -b "$here/bin/runjs" -b "$here/bin/runjs-init" "$work" \
  "sh ./clients-systemd.sh $work/runjs $clients; a=\$?; sh ./clients-systemd.sh /usr/sbin/runc $clients; exit \$a"
