#!/usr/bin/env bash
# critest, the CRI validation suite of kubernetes-sigs/cri-tools, through Debian's containerd
# with its CRI plugin, once per runtime handler, on private state:
#
#   bash test/conformance/critest.sh CRI_TOOLS_DIR [HANDLER...]     (as root)
#
# CRI_TOOLS_DIR holds bin/critest (cri-tools built outside this repository). HANDLERs default
# to "runc runjs": runc = the runc v2 shim with Debian's runc, runjs = the same shim with
# BinaryName = bin/runjs; crun = the same with Debian's crun; runjs-shim = runjs's own shim
# (runtime_type io.containerd.runjs.v2, bin/containerd-shim-runjs-v2 on containerd's PATH). Set FOCUS / SKIP (ginkgo regular
# expressions) to narrow the run, KEEP=DIR to keep the reports and logs, BENCH=N to run
# critest's container and pod lifecycle benchmarks instead (N samples, two rounds, the
# handlers taking turns; prints medians per operation).
#
# Everything is offline and private: critest's test images are made here from the host's
# static busybox by `runjs image build` (what each test expects of its image: files, users,
# tags; see images() below) and served by Debian's docker-registry on 127.0.0.1, which
# containerd reaches as a mirror of registry.k8s.io, k8s.gcr.io and gcr.io; containerd's
# root, state and sockets, the runtimes' roots and the CNI configuration live under one
# temporary directory; pods get a bridge of this script's own (runjs-cri0, 10.252.71.0/24)
# from Debian's CNI plugins. At the end everything made is removed: containerd stopped, its
# shims and containers gone, the bridge, the CNI chains and cgroups deleted.
set -euo pipefail
cri=${1:?usage: critest.sh CRI_TOOLS_DIR [HANDLER...]}; shift
handlers=${*:-runc runjs}
here=$(cd "$(dirname "$0")/../.." && pwd)
critest=$cri/bin/critest
[ -x "$critest" ] || { echo "critest.sh: $critest is missing (build cri-tools first)" >&2; exit 2; }
for b in /usr/bin/containerd /usr/bin/docker-registry /usr/sbin/runc /usr/lib/cni/bridge /usr/bin/cc; do
	[ -x "$b" ] || { echo "critest.sh: $b is missing (bash scripts/client-deps.sh)" >&2; exit 2; }
done
runjs=$here/bin/runjs
W=$(mktemp -d /tmp/runjs-critest-XXXXXX)
ST=$W/store
BR=runjs-cri0
chains_before=$(iptables -S 2>/dev/null | awk '$1=="-N"{print $2}' | sort)
natchains_before=$(iptables -t nat -S 2>/dev/null | awk '$1=="-N"{print $2}' | sort)
shm_before=$(awk 'NR > 1 { print $2 }' /proc/sysvipc/shm | sort)
cgroups_before=$(ls -d /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io 2>/dev/null || true)
# runjs's shim makes /run/containerd/s (its sockets, as runc's shim does) wherever containerd's state is
run_containerd_before=$([ -e /run/containerd ] && echo yes || true)
cpid= rpid=

cleanup() {
	set +e
	if [ -n "$cpid" ]; then
		# pods first, through containerd, so that the shims clean up after themselves
		local ep=unix://$W/containerd.sock
		for p in $("$cri/bin/crictl" -r "$ep" pods -q 2>/dev/null); do
			"$cri/bin/crictl" -r "$ep" stopp "$p" >/dev/null 2>&1
			"$cri/bin/crictl" -r "$ep" rmp -f "$p" >/dev/null 2>&1
		done
		kill "$cpid"; wait "$cpid" 2>/dev/null
	fi
	# shims left by a containerd that died: they run from our state directory
	for p in $(pgrep -f "containerd-shim-run(c|js)-v2 .*-address $W/" 2>/dev/null); do kill -9 "$p"; done
	[ -n "$rpid" ] && { kill "$rpid"; wait "$rpid" 2>/dev/null; }
	# (runjs's shim keeps its containers under /run/containerd/runjs/NAMESPACE, as runc's shim
	# does under /run/containerd/runc: the ones this run made are the ones whose bundle was ours)
	for d in /run/containerd/runjs/k8s.io/*/; do
		[ -d "$d" ] && grep -q "\"bundle\": *\"$W/" "$d/state.json" 2>/dev/null && "$runjs" --root /run/containerd/runjs/k8s.io delete -f "$(basename "$d")" >/dev/null 2>&1
	done
	rmdir /run/containerd/runjs/k8s.io /run/containerd/runjs 2>/dev/null
	[ -z "$run_containerd_before" ] && rm -rf /run/containerd
	for r in "$W"/runtime-*; do
		[ -d "$r" ] || continue
		for d in "$r"/*/; do [ -d "$d" ] && "$runjs" --root "$r" delete -f "$(basename "$d")" >/dev/null 2>&1; done
	done
	grep " $W/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	ip link del "$BR" 2>/dev/null
	for t in filter nat; do
		local before; [ $t = nat ] && before=$natchains_before || before=$chains_before
		for c in $(comm -13 <(echo "$before") <(iptables -t $t -S | awk '$1=="-N"{print $2}' | sort)); do
			iptables -t $t -S | grep -- "-j $c\b" | sed 's/^-A/-D/' | while read -r rule; do eval iptables -t $t "$rule"; done
			iptables -t $t -F "$c"; iptables -t $t -X "$c"
		done
	done
	[ -z "$cgroups_before" ] && for c in /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# the HostIpc tests make shared memory segments on the host (ipcmk) and leave them
	for id in $(comm -13 <(echo "$shm_before") <(awk 'NR > 1 { print $2 }' /proc/sysvipc/shm | sort)); do ipcrm -m "$id"; done
	rm -rf /var/lib/cni/networks/runjs-critest /var/lib/cni/results/runjs-critest-*
	if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$W"/report-* "$W"/containerd.log "$KEEP"/ 2>/dev/null; fi
	rm -rf "$W"
}
trap cleanup EXIT

# --- the registry and the images ------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
mkdir -p "$W/registry"
cat >"$W/registry/config.yml" <<EOF
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $W/registry/data }, delete: { enabled: true } }
http: { addr: $reg }
EOF
/usr/bin/docker-registry serve "$W/registry/config.yml" >"$W/registry/log" 2>&1 &
rpid=$!
for _ in $(seq 100); do curl -sf "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

base=$W/base
mkdir -p "$base"
bash "$here/scripts/demo-bundle.sh" "$base/b" sh >/dev/null
mv "$base/b/rootfs" "$base/rootfs" && rm -rf "$base/b"
# applets as hard links, as in the busybox images critest is written for: a masked /bin/ls
# must hide ls, not busybox behind a symbolic link
for a in "$base"/rootfs/bin/*; do [ -L "$a" ] && ln -f "$base/rootfs/bin/busybox" "$a"; done
cat >"$base/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >"$base/rootfs/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
group50000:x:50000:user1000
nogroup:x:65534:
EOF
mkdir -p "$base/rootfs/var/run" "$base/rootfs/var/www"
# this busybox has no ipcs applet; the HostIpc tests run `ipcs -m`: the same table from
# /proc/sysvipc/shm, which is what util-linux's ipcs reads
printf '%s\n' '#!/bin/sh' '[ "$1" = -m ] || { echo "ipcs: only -m" >&2; exit 1; }' \
	"awk 'NR == 1 { print \"key shmid owner perms bytes nattch\"; next } { print \$1, \$2, \$8, \$3, \$4, \$7 }' /proc/sysvipc/shm" >"$base/rootfs/bin/ipcs"
# nor pgrep (the execSync timeout test looks for a left-over sleep with it): comm by pattern
printf '%s\n' '#!/bin/sh' 'found=1' 'for d in /proc/[0-9]*; do' \
	'  c=$(cat "$d/comm" 2>/dev/null) || continue' \
	'  if echo "$c" | grep -q -- "$1"; then echo "${d#/proc/}"; found=0; fi' 'done' 'exit $found' >"$base/rootfs/bin/pgrep"
chmod 755 "$base/rootfs/bin/ipcs" "$base/rootfs/bin/pgrep"
(cd "$base" && printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >Dockerfile)
"$runjs" image build -q --storage "$ST" -t critest-base "$base" >/dev/null

# image REF [DOCKERFILE-LINES...]: build FROM critest-base with the lines, push as REF
# (registry path only; containerd finds it through the mirror)
ctx() { echo "$W/ctx-${1//[\/:]/-}"; }
image() {
	local ref=$1; shift
	local ctx; ctx=$(ctx "$ref")
	mkdir -p "$ctx"
	{ echo "FROM critest-base"; for l in "$@"; do echo "$l"; done; } >"$ctx/Dockerfile"
	"$runjs" image build -q --network none --storage "$ST" -t "$reg/$ref" "$ctx" >/dev/null
	"$runjs" image push -q --insecure --storage "$ST" "$reg/$ref" >/dev/null
}
images() {
	local t=k8s-staging-cri-tools
	image e2e-test-images/busybox:1.29-2
	image pause:3.9 'CMD ["sh", "-c", "trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait; done"]'
	image $t/test-image-tag:test 'RUN touch /test'
	image $t/test-image-tag:all 'RUN touch /all'
	image $t/test-image-latest:latest 'RUN touch /test-image-latest'
	for n in 1 2 3; do image $t/test-image-$n:latest "RUN touch /test-image-$n"; done
	image $t/test-image-tags:1 'RUN touch /same-image'
	for n in 2 3; do "$runjs" image tag --storage "$ST" "$reg/$t/test-image-tags:1" "$reg/$t/test-image-tags:$n" && "$runjs" image push -q --insecure --storage "$ST" "$reg/$t/test-image-tags:$n" >/dev/null; done
	# The web server of the networking, streaming and pid-namespace tests: HTTP 200 on port
	# 80 (12003 for the host-network one), `sh`, /var/run/nginx.pid, a process `pidof nginx`
	# finds (a script's comm is its file name) and "master process" in PID 1's cmdline.
	# busybox httpd serves; nginx itself is not to be had offline.
	local web; web=$(ctx e2e-test-images/nginx:1.14-2)
	mkdir -p "$web"
	printf '%s\n' '#!/bin/sh' 'echo $$ >/var/run/nginx.pid' 'httpd -f -p "${NGINX_PORT:-80}" -h /usr/share/nginx/html &' \
		"trap 'kill \$!; exit 0' TERM INT" 'wait' >"$web/nginx"
	chmod 755 "$web/nginx"
	echo '<html><body>runjs critest web server</body></html>' >"$web/index.html"
	local webfiles=('COPY nginx /usr/sbin/nginx' 'COPY index.html /usr/share/nginx/html/index.html' 'ENTRYPOINT ["/usr/sbin/nginx"]' 'CMD ["nginx: master process"]')
	image e2e-test-images/nginx:1.14-2 "${webfiles[@]}"
	local hn; hn=$(ctx $t/hostnet-nginx-amd64:latest)
	mkdir -p "$hn" && cp "$web/nginx" "$web/index.html" "$hn/"
	image $t/hostnet-nginx-amd64:latest "${webfiles[@]}" 'ENV NGINX_PORT=12003'
	# The multi-container test's httpd: its own entrypoint, HTTP 200 on 80, "httpd" in its log.
	local hd; hd=$(ctx e2e-test-images/httpd:2.4.39-4)
	mkdir -p "$hd"
	printf '%s\n' '#!/bin/sh' 'echo "httpd: serving on port 80"' 'exec httpd -f -vv -p 80 -h /usr/local/apache2/htdocs' >"$hd/httpd-foreground"
	chmod 755 "$hd/httpd-foreground"
	echo '<html><body>It works!</body></html>' >"$hd/index.html"
	image e2e-test-images/httpd:2.4.39-4 'COPY httpd-foreground /usr/local/bin/httpd-foreground' \
		'COPY index.html /usr/local/apache2/htdocs/index.html' 'CMD ["/usr/local/bin/httpd-foreground"]'
	# NoNewPrivs: a set-user-id-root program that prints its effective uid (C, static).
	local np; np=$(ctx e2e-test-images/nonewprivs:1.3)
	mkdir -p "$np"
	printf '%s\n' '#include <stdio.h>' '#include <unistd.h>' \
		'int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }' >"$np/nnp.c"
	cc -static -Os -o "$np/nnp" "$np/nnp.c"
	image e2e-test-images/nonewprivs:1.3 'COPY nnp /usr/local/bin/nnp' 'RUN chmod 4755 /usr/local/bin/nnp' 'ENTRYPOINT ["/usr/local/bin/nnp"]'
	image $t/test-image-predefined-group:latest 'USER 1000'
	image $t/test-image-user-uid:latest 'USER 1002'
	image $t/test-image-user-username:latest 'USER www-data'
	image $t/test-image-user-uid-group:latest 'USER 1003:1004'
	image $t/test-image-user-username-group:latest 'USER www-data:1004'
}
images

# --- containerd with the CRI plugin ---------------------------------------------------------
mkdir -p "$W/cni" "$W/root" "$W/state"
cat >"$W/cni/10-runjs-critest.conflist" <<EOF
{ "cniVersion": "0.4.0", "name": "runjs-critest", "plugins": [
  { "type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.252.71.0/24" }]], "dataDir": "$W/ipam" } },
  { "type": "portmap", "capabilities": { "portMappings": true } },
  { "type": "loopback" } ] }
EOF
runtimes=""
for h in $handlers; do
	case $h in
	runc) bin=/usr/sbin/runc ;;
	runjs) bin=$runjs ;;
	crun) bin=/usr/bin/crun ;;
	runjs-shim)
		runtimes+="
    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$h]
      runtime_type = \"io.containerd.runjs.v2\""
		continue ;;
	*) echo "critest.sh: unknown handler $h (runc, runjs, crun, runjs-shim)" >&2; exit 2 ;;
	esac
	runtimes+="
    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$h]
      runtime_type = \"io.containerd.runc.v2\"
      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$h.options]
        BinaryName = \"$bin\"
        Root = \"$W/runtime-$h\""
done
mirror() { printf '    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."%s"]\n      endpoint = ["http://%s"]\n' "$1" "$reg"; }
cat >"$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
[debug]
  address = "$W/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  enable_selinux = false
  # lowering an oom_score_adj needs CAP_SYS_RESOURCE, which this machine withholds from root:
  # the pause container's -998 becomes containerd's own score instead
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "${handlers%% *}"
    snapshotter = "overlayfs"$runtimes
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
$(mirror registry.k8s.io; mirror k8s.gcr.io; mirror gcr.io)
EOF
# (containerd finds a shim by its runtime_type on its PATH: containerd-shim-runjs-v2 in bin/)
PATH=$here/bin:$PATH /usr/bin/containerd --config "$W/config.toml" >"$W/containerd.log" 2>&1 &
cpid=$!
for _ in $(seq 100); do [ -S "$W/containerd.sock" ] && break; sleep 0.1; done
[ -S "$W/containerd.sock" ] || { tail -20 "$W/containerd.log" >&2; exit 1; }

# --- BENCH=N: critest's own benchmarks instead, the handlers taking turns ---------------------
if [ -n "${BENCH:-}" ]; then
	printf 'containersNumber: %s\ncontainersNumberParallel: 1\npodsNumber: %s\npodsNumberParallel: 1\n' "$BENCH" "$BENCH" >"$W/bench.yaml"
	for round in 1 2; do
		for h in $handlers; do
			mkdir -p "$W/bench-$h-$round"
			(cd "$W" && "$critest" -benchmark -runtime-endpoint "unix://$W/containerd.sock" -runtime-handler "$h" \
				-benchmarking-params-file "$W/bench.yaml" -benchmarking-output-dir "$W/bench-$h-$round" \
				-ginkgo.focus 'basic operations on (Container|PodSandbox)$' -ginkgo.no-color) >"$W/bench-$h-$round/output.txt" 2>&1 ||
				{ tail -30 "$W/bench-$h-$round/output.txt" >&2; exit 1; }
		done
	done
	# medians over both rounds of each operation, in ms, per handler
	python3 -c '
import json, sys, glob, statistics
w, handlers = sys.argv[1], sys.argv[2:]
rows = {}
for h in handlers:
    for f in sorted(glob.glob(f"{w}/bench-{h}-[0-9]*/*_benchmark_data.json")):
        d = json.load(open(f))
        for p in d["datapoints"]:
            for name, ns in zip(d["operationsNames"], p["operationsDurationsNs"]):
                rows.setdefault(name, {}).setdefault(h, []).append(ns / 1e6)
print("| operation | " + " | ".join(f"{h} p50 (ms)" for h in handlers) + " |")
print("|---|" + "---|" * len(handlers))
for name, per in rows.items():
    print(f"| {name} | " + " | ".join(f"{statistics.median(per[h]):.1f} (n={len(per[h])})" if h in per else "-" for h in handlers) + " |")
' "$W" $handlers
	exit 0
fi

# --- critest, once per handler ---------------------------------------------------------------
status=0
for h in $handlers; do
	mkdir -p "$W/report-$h"
	echo "== critest, handler $h"
	args=(-runtime-endpoint "unix://$W/containerd.sock" -runtime-handler "$h" -report-dir "$W/report-$h" -ginkgo.no-color)
	[ -n "${FOCUS:-}" ] && args+=(-ginkgo.focus "$FOCUS")
	[ -n "${SKIP:-}" ] && args+=(-ginkgo.skip "$SKIP")
	(cd "$W" && "$critest" "${args[@]}") >"$W/report-$h/output.txt" 2>&1 || status=1
	grep -E '^(Ran|FAIL|PASS|SUCCESS)|Passed.*Failed|^\s*\[FAIL\]' "$W/report-$h/output.txt" | sed "s/^/  $h: /" | tail -80
done
exit $status
