#!/bin/bash
# Build ntsync.ko for one kernel release, out of tree, in a copy of the
# sources under $NTSYNC_BUILD_DIR/module/<release>/.  Extra arguments go to
# kbuild (e.g. W=1, C=2 CHECK=sparse).
#   scripts/build-module.sh <release> [kbuild args...]
# Prints the path of the built module on the last line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
rel=${1:?usage: build-module.sh <kernel release> [kbuild args...]}
shift
kdir=${NTSYNC_KDIR:-/usr/src/linux-headers-$rel}
out=${NTSYNC_BUILD_DIR:-$top/build}/module/$rel

# Debian's 7.x headers (scripts/kernel7-root.sh) live in a Debian unstable
# root, and need its gcc and libc: build there, in a chroot.
if [ -z "${NTSYNC_KDIR:-}" ] && [ ! -d "$kdir" ] &&
	root7=$("$top/scripts/kernel7-root.sh" --root 2>/dev/null) &&
	[ -d "$root7/usr/src/linux-headers-$rel" ]; then
	exec "$top/scripts/build-module-chroot.sh" "$root7" "$rel" "$out" "$@"
fi

[ -d "$kdir" ] || { echo "build-module: no kernel tree at $kdir" >&2; exit 1; }
mkdir -p "$out/driver" "$out/include/uapi/linux"
# Copy only what changed, so kbuild's own dependency tracking keeps working.
cp -u "$top"/driver/Kbuild "$top"/driver/*.[ch] "$out/driver/"
cp -u "$top"/include/uapi/linux/ntsync.h "$out/include/uapi/linux/"
make -s -C "$kdir" M="$out/driver" "$@" modules >&2
echo "$out/driver/ntsync.ko"
