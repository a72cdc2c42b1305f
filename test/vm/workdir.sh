# Sourced by the test/vm launchers: the repository ($here), the VM tool ($vm), a built runjs,
# and a work directory ($work, removed on exit) holding runjs, runjs-init, the in-VM script
# SCRIPT and the test image (busybox.tar).
#   source test/vm/workdir.sh TAG SCRIPT
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm=${VM_RUN:-$here/../shared/vm/vm-run.sh}
[ -x "$here/bin/runjs" ] || bash "$here/scripts/build.sh"
work=$(mktemp -d "/tmp/runjs-$1-XXXXXX")
chmod 755 "$work" # the VM's unprivileged user must reach it
trap 'rm -rf "$work"' EXIT
cp "$here/bin/runjs" "$here/bin/runjs-frontend" "$here/bin/runjs-init" "$here/test/vm/$2" "$work/"
bash "$here/test/vm/make-image.sh" "$work/busybox.tar"
