#!/usr/bin/env bash
# Podman, containerd and Docker with their systemd defaults, where systemd is PID 1: boots
# ../shared/vm/vm-run.sh -S -P podman,containerd,docker.io,apparmor (systemd 252, pure cgroup v2,
# Debian's clients; software emulation, a few minutes) and runs test/vm/clients-systemd.sh
# for runjs and then for runc (/usr/sbin/runc, for comparison) in the same boot.
# By hand, as root:
#   bash test/vm/run-clients-systemd.sh [CLIENT...]
#   (once before: ../shared/vm/vm-run.sh --setup-systemd -P podman,containerd,docker.io,apparmor)
set -euo pipefail
source "$(dirname "$0")/workdir.sh" vmcl clients-systemd.sh
clients="${*:-podman containerd docker}"
"$vm" -S -P podman,containerd,docker.io,apparmor -t 1800 -b "$here/bin/runjs" -b "$here/bin/runjs-frontend" -b "$here/bin/runjs-init" "$work" \
  "sh ./clients-systemd.sh $work/runjs $clients; a=\$?; sh ./clients-systemd.sh /usr/sbin/runc $clients; exit \$a"
