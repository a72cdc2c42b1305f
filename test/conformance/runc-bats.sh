#!/usr/bin/env bash
# runc's own integration suite (opencontainers/runc tests/integration, bats) run against
# runjs, beside runc itself, file by file.
#
#   test/conformance/runc-bats.sh CHECKOUT [RUNTIME...]
#
# CHECKOUT is a checkout of opencontainers/runc at a release tag in which runc and the test
# helpers its suite calls are already built in place, as runc's own Makefile builds them
# (recvtty, sd-helper, seccompagent; from 1.2 on also fs-idmap, pidfd-kill, remap-rootfs in
# tests/cmd/_bin). Nothing of runc's is part of this repository. The suite's helpers take the
# runtime from $RUNC; RUNTIME (absolute paths) defaults to this tree's bin/runjs and the
# checkout's own runc, so the two columns come from the same machine in the same run.
#
# The suite downloads a busybox and a Debian root filesystem; this host has no network for
# that, so both are made here instead and put where the suite looks for them: busybox from
# the host's static busybox (applets as hard links, the passwd and group of Docker's busybox
# image), Debian with debootstrap (minbase) from the Debian mirror, cached in
# /var/cache/runjs-conformance.
#
# Environment: FILES="run exec ..." runs only those files; KEEP=DIR keeps each file's TAP
# output as DIR/<runtime>/<file>.tap; TIMEOUT per file in seconds (default 1200).
# Output: one line per file with passed/failed/skipped per runtime, then the totals.
# Run it as root, on a quiet machine: it runs hundreds of real containers.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
checkout=$(cd "${1:?usage: runc-bats.sh CHECKOUT [RUNTIME...]}" && pwd) || exit 2
shift
runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=("$repo/bin/runjs" "$checkout/runc")
suite=$checkout/tests/integration
[ -f "$suite/helpers.bash" ] || { echo "no tests/integration/helpers.bash in $checkout" >&2; exit 2; }
for rt in "${runtimes[@]}"; do
  [ -x "$rt" ] && [ "${rt#/}" != "$rt" ] || { echo "runtime $rt: not an absolute path to an executable" >&2; exit 2; }
done
# what the suite's helpers call, from Debian
need=()
for t in bats:bats jq:jq gawk:gawk debootstrap:debootstrap script:bsdutils; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    { echo "could not install ${need[*]}" >&2; exit 2; }
fi

# ---- the images ------------------------------------------------------------------------------
cache=/var/cache/runjs-conformance
mkdir -p "$cache"
arch=amd64
busybox_tar=$cache/busybox-$arch.tar.xz
debian_tar=$cache/debian-$arch.tar.xz
make_busybox() {
  local bb=/bin/busybox d
  ldd "$bb" >/dev/null 2>&1 && { echo "$bb is not static (install busybox-static)" >&2; return 1; }
  d=$(mktemp -d)
  chmod 755 "$d"
  # as in Docker's busybox image, no /proc or /sys: the runtime makes them (mask.bats makes
  # them symlinks and expects the runtime to refuse that)
  mkdir -p "$d"/{bin,dev,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www}
  chmod 1777 "$d/tmp"
  cp "$bb" "$d/bin/busybox"
  for a in $("$bb" --list); do [ "$a" = busybox ] || ln "$d/bin/busybox" "$d/bin/$a"; done
  cat >"$d/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
  cat >"$d/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
G
  tar --numeric-owner --owner=0 --group=0 -C "$d" -cJf "$busybox_tar.tmp" . && mv "$busybox_tar.tmp" "$busybox_tar"
  rm -rf "$d"
}
make_debian() {
  local d
  d=$(mktemp -d)
  chmod 755 "$d"
  # the Debian mirror the host's apt uses for bookworm's main
  local mirror
  mirror=$(apt-cache policy | awk '$3 == "bookworm/main" {print $2; exit}')
  debootstrap --variant=minbase bookworm "$d" "${mirror:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 ||
    { echo "debootstrap failed, see $cache/debootstrap.log" >&2; rm -rf "$d"; return 1; }
  rm -rf "$d"/var/cache/apt/archives/*.deb "$d"/var/lib/apt/lists/*
  tar --numeric-owner -C "$d" -cJf "$debian_tar.tmp" . && mv "$debian_tar.tmp" "$debian_tar"
  rm -rf "$d"
}
# (an image cached by an earlier version of this script had /proc and /sys: made again)
if [ ! -s "$busybox_tar" ] || [ "$(tar -tJf "$busybox_tar" | grep -cxE '\./(proc|sys)/')" != 0 ]; then
  make_busybox || exit 1
fi
[ -s "$debian_tar" ] || make_debian || exit 1
for img in busybox debian; do
  src=$cache/$img-$arch.tar.xz dst=$suite/testdata/$img-$arch.tar.xz
  cmp -s "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
done

# ---- the runs --------------------------------------------------------------------------------
# What the suite leaves behind, removed at the end: files in $TMPDIR (a losetup list per test,
# backing images of loop devices a failed test did not detach), so they get a directory of
# their own; the cgroups its tests make under runc-cgroups-integration-test and do not all
# remove; and, on a hybrid host, the plain directories its helpers `mkdir -p` under
# /sys/fs/cgroup for every controller in /proc/cgroups that is not mounted (net_cls, hugetlb...)
work=$(mktemp -d /tmp/runc-bats.XXXXXX)
chmod 755 "$work"
cgroup_entries_before=$(ls /sys/fs/cgroup)
cleanup() {
  losetup -a 2>/dev/null | awk -v w="$work/" 'index($0, w) {sub(/:$/, "", $1); print $1}' |
    while read -r dev; do losetup -d "$dev" 2>/dev/null; done
  rm -rf "$work"
  awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo | while read -r m; do
    [ -d "$m/runc-cgroups-integration-test" ] && find "$m/runc-cgroups-integration-test" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  for e in $(ls /sys/fs/cgroup); do
    d=/sys/fs/cgroup/$e
    grep -qxF "$e" <<<"$cgroup_entries_before" || mountpoint -q "$d" || [ -n "$(find "$d" ! -type d | head -1)" ] ||
      rm -r "$d"
  done
  true
}
trap cleanup EXIT
mkfifo "$work/stdin" # opened for reading and writing: never at its end
if [ -n "${FILES:-}" ]; then files=(); for f in $FILES; do files+=("$suite/${f%.bats}.bats"); done
else files=("$suite"/*.bats); fi
keep=${KEEP:-}
declare -A P F S
names=()
for rt in "${runtimes[@]}"; do
  n=$(basename "$rt")
  [ "$rt" = "$checkout/runc" ] && n="runc-$(cd "$checkout" && git describe --tags 2>/dev/null || echo checkout)"
  names+=("$n")
done
version=$(cd "$checkout" && git describe --tags 2>/dev/null || echo "?")
echo "runc integration suite $version, $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), bats $(bats --version | awk '{print $2}')"
printf '%-28s' "file"; for n in "${names[@]}"; do printf '%24s' "$n p/f/s"; done; echo
for f in "${files[@]}"; do
  b=$(basename "$f" .bats)
  printf '%-28s' "$b"
  for i in "${!runtimes[@]}"; do
    rt=${runtimes[$i]} n=${names[$i]}
    # on a terminal of its own, as runc's CI runs it (under script(1)): runc spec's default
    # config has process.terminal, and an attached run then uses the caller's terminal. Its
    # input never ends: at the end of its input script(1) writes a NUL into the terminal,
    # which the first container to read it echoes as "^@" into a test's output
    out=$(cd "$suite" && TMPDIR="$work" RUNC="$rt" BATS_FILE="$f" timeout "${TIMEOUT:-1200}" \
      script -qefc 'bats -t "$BATS_FILE"' /dev/null <>"$work/stdin" 2>&1 | tr -d '\r')
    p=$(grep -E '^ok ' <<<"$out" | grep -cvE '# skip')
    s=$(grep -cE '^ok .*# skip' <<<"$out")
    fl=$(grep -cE '^not ok ' <<<"$out")
    P[$n]=$(( ${P[$n]:-0} + p )); F[$n]=$(( ${F[$n]:-0} + fl )); S[$n]=$(( ${S[$n]:-0} + s ))
    printf '%24s' "$p/$fl/$s"
    if [ -n "$keep" ]; then mkdir -p "$keep/$n"; printf '%s\n' "$out" >"$keep/$n/$b.tap"; fi
  done
  echo
done
printf '%-28s' "total"; for n in "${names[@]}"; do printf '%24s' "${P[$n]}/${F[$n]}/${S[$n]}"; done; echo
for n in "${names[@]}"; do echo "$n: ${P[$n]} passed, ${F[$n]} failed, ${S[$n]} skipped"; done
