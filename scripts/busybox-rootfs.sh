#!/usr/bin/env bash
# Writes to stdout a plain rootfs tarball made from Debian's busybox-static: /bin/busybox,
# one symlink per applet, and the directories a container expects. Used by setup.sh to make
# busybox:latest, and by tests that need a base image.
set -euo pipefail
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "busybox-rootfs.sh: $bb not found (apt-get install busybox-static)" >&2; exit 1; }
"$bb" --list >/dev/null 2>&1 || { echo "busybox-rootfs.sh: $bb is not a busybox binary" >&2; exit 1; }
dir=$(mktemp -d /tmp/tsswarm-busybox.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,proc,sys,dev,run,home}
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$dir" -cf - .
