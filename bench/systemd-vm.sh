#!/usr/bin/env bash
# create + start + delete with --systemd-cgroup, runjs beside runc and crun (Debian's, copied
# into the VM), in the systemd VM of ../shared/vm (systemd 252 as PID 1, pure cgroup v2).
# The VM runs under software emulation (TCG), so absolute times mean little: read the
# ratios. The same cycle with the cgroupfs driver is measured in the same boot for context.
#   bash bench/systemd-vm.sh [ITERATIONS]        (as root; default 15)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vm=${VM_RUN:-$here/../shared/vm/vm-run.sh}
n=${1:-15}
[ -x "$here/bin/runjs" ] || bash "$here/scripts/build.sh"
work=$(mktemp -d /tmp/runjs-vmbench-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp "$here/bin/runjs" "$here/bin/runjs-init" "$work/"
bash "$here/scripts/demo-bundle.sh" "$work/b" true >/dev/null
"$here/node_modules/.bin/bun" -e '
const fs = require("fs"); const p = process.argv[1] + "/b/config.json";
const c = JSON.parse(fs.readFileSync(p, "utf8")); c.ociVersion = "1.0.2"; c.root.readonly = false; delete c.linux.cgroupsPath;
fs.writeFileSync(p, JSON.stringify(c));' "$work"
cat >"$work/loop.sh" <<'IN'
# in the VM: ITER rounds, each runtime in turn (noise hits them alike); ms per cycle, medians
D=$(cd "$(dirname "$0")" && pwd); N=$1
cd "$D/b"
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
cycle() { # RT-COMMAND ID CGROUPSPATH
  sed "s|\"linux\":{|\"linux\":{\"cgroupsPath\":\"$3\",|" config.json.orig >config.json
  t=$(date +%s%N); ok=1
  $1 create $2 >/dev/null 2>"$D/err" && $1 start $2 >/dev/null 2>>"$D/err" || ok=0
  $1 delete --force $2 >/dev/null 2>>"$D/err" || ok=0
  if [ $ok = 1 ]; then ms $t; else echo "FAILED: $(head -c 200 "$D/err")"; fi
}
cp config.json config.json.orig
for i in $(seq $N); do
  echo "runjs-systemd $(cycle "$D/runjs --root /run/b-runjs --systemd-cgroup" s$i system.slice:runjs:s$i)"
  echo "runc-systemd $(cycle "runc --root /run/b-runc --systemd-cgroup" s$i system.slice:runc:s$i)"
  echo "crun-systemd $(cycle "crun --root /run/b-crun --cgroup-manager=systemd" s$i system.slice:crun:s$i)"
  echo "runjs-cgroupfs $(cycle "$D/runjs --root /run/b-runjs" f$i /bench/runjs-f$i)"
  echo "runc-cgroupfs $(cycle "runc --root /run/b-runc" f$i /bench/runc-f$i)"
  echo "crun-cgroupfs $(cycle "crun --root /run/b-crun" f$i /bench/crun-f$i)"
done
IN
"$vm" -S -t 1200 -b "$here/bin/runjs" -b "$here/bin/runjs-init" "$work" "sh ./loop.sh $n" | tee "$work/out" >&2
"$here/node_modules/.bin/bun" -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => /^\S+ \d+$/.test(l));
const by = {}; for (const l of lines) { const [k, v] = l.split(" "); (by[k] ??= []).push(Number(v)); }
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log(`${lines.length / 6} iterations in the systemd VM (TCG), create+start+delete, median ms`);
for (const d of ["systemd", "cgroupfs"]) {
  const r = med(by[`runjs-${d}`]), c = med(by[`runc-${d}`]), k = med(by[`crun-${d}`]);
  console.log(`${d.padEnd(9)} runjs ${r}  runc ${c}  crun ${k}   runjs/runc ${(r / c).toFixed(2)}  runjs/crun ${(r / k).toFixed(2)}`);
}' "$work/out"
