#!/bin/bash
# Build ntsync.ko for a kernel whose headers live in another Debian root
# (scripts/kernel7-root.sh: Debian unstable's 7.x headers need its gcc and
# libc), in a chroot.  The sources are copied into ROOT/ntsync-build/KEY/
# (KEY hashed from OUT, so separate checkouts do not share a tree; cp -u
# keeps kbuild's dependency tracking working) and the module is copied back
# to OUT/driver/ntsync.ko.  Called by scripts/build-module.sh; must run as
# root (chroot, unshare).
#   scripts/build-module-chroot.sh ROOT RELEASE OUT [kbuild args...]
# Prints the path of the built module on the last line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
root=${1:?usage: build-module-chroot.sh ROOT RELEASE OUT [kbuild args...]}
rel=${2:?usage: build-module-chroot.sh ROOT RELEASE OUT [kbuild args...]}
out=${3:?usage: build-module-chroot.sh ROOT RELEASE OUT [kbuild args...]}
shift 3

[ -d "$root/usr/src/linux-headers-$rel" ] ||
	{ echo "build-module: no $root/usr/src/linux-headers-$rel" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "build-module: chroot build of $rel needs root" >&2; exit 1; }

key=$(printf '%s' "$out" | sha256sum | cut -c1-16)
src=/ntsync-build/$key/$rel
mkdir -p "$root$src/driver" "$root$src/include/uapi/linux" "$out/driver"
cp -u "$top"/driver/Kbuild "$top"/driver/*.[ch] "$root$src/driver/"
cp -u "$top"/include/uapi/linux/ntsync.h "$root$src/include/uapi/linux/"
# objtool reads /proc: mount it in a private mount namespace (unshare -m),
# so the mount goes away with the build, however the build ends.
# shellcheck disable=SC2016 # expanded by the inner sh
LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	unshare -m sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
	sh "$root" "$root" make -s -C "/usr/src/linux-headers-$rel" \
	M="$src/driver" "$@" modules >&2
cp "$root$src/driver/ntsync.ko" "$out/driver/ntsync.ko"
echo "$out/driver/ntsync.ko"
