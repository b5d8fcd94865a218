#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine (as root): system packages, npm packages, the build,
# and the busybox:latest base image. Safe to run again: each step checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: run as root (containers need namespaces, mounts and cgroups)" >&2
  exit 1
fi

debs=(runc crun conmon busybox-static iproute2 nftables nats-server gcc libc6-dev tar procps util-linux)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

# The base image for tests and the demo, made from Debian's busybox-static (no registry here).
if ! bin/tsswarm image inspect busybox:latest >/dev/null 2>&1; then
  scripts/busybox-rootfs.sh | bin/tsswarm image import - --name busybox:latest --change 'CMD ["sh"]'
fi
echo "setup.sh: ready"
