#!/usr/bin/env bash
# Install the tools the client and image tests drive, from Debian: Podman (with conmon and
# the CNI plugins), containerd (ctr and the runc v2 shim), Docker, and for images skopeo, a
# registry (docker-registry), zstd, htpasswd and buildah (image build is compared with it).
# Nothing is started or enabled: a policy-rc.d refuses every service start while the
# packages install, and the tests start the daemons they need themselves, with private state.
set -euo pipefail
# Checked by the paths Debian installs them at (the tests call them by these paths): a machine
# may carry other builds elsewhere on PATH, such as a newer Docker CLI in /usr/local/bin.
pkgs=()
[ -x /usr/bin/podman ] && [ -x /usr/bin/conmon ] || pkgs+=(podman conmon containernetworking-plugins)
[ -x /usr/bin/containerd ] && [ -x /usr/bin/ctr ] || pkgs+=(containerd)
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || pkgs+=(docker.io)
[ -x /usr/bin/skopeo ] || pkgs+=(skopeo)
[ -x /usr/bin/buildah ] || pkgs+=(buildah) # image build is compared with buildah bud
[ -x /usr/bin/zstd ] || pkgs+=(zstd)
[ -x /usr/bin/docker-registry ] || pkgs+=(docker-registry)
[ -x /usr/bin/htpasswd ] || pkgs+=(apache2-utils)
[ -x /usr/bin/tini-static ] || pkgs+=(tini) # container run --init
[ ${#pkgs[@]} -eq 0 ] && exit 0
guard=/usr/sbin/policy-rc.d
made_guard=0
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard" && made_guard=1
fi
trap '[ $made_guard = 1 ] && rm -f "$guard"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
