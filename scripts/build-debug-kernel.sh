#!/bin/bash
# Build the debug PREEMPT_RT kernel (KASAN, lockdep, atomic-sleep checks...)
# from Debian's linux-source-6.12 with vm/debug-kernel.config, cached outside
# the repository under a key hashed from every input, so it is rebuilt only
# when the fragment, this script or the source package changes.
# Prints the build directory (bzImage at arch/x86/boot/bzImage; usable as
# KDIR for out-of-tree modules).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NTSYNC_CACHE:-/var/cache/ntsync-nspa}
fragment=$top/vm/debug-kernel.config
src=$("$top/scripts/kernel-source.sh")
key=$( (cat "$fragment" "$0"; dpkg-query -W -f='${Version}' linux-source-6.12) |
	sha256sum | cut -c1-16)
out=$cache/debug-kernel/$key

if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
log=$out/build.log
echo "build-debug-kernel: building $key (log: $log)" >&2
start=$(date +%s)
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$fragment"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1

# Every option asked for must have survived dependency resolution.
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qx "$line" "$out/.config" || { echo "build-debug-kernel: $line did not stick" >&2; missing=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" "$out/.config" && { echo "build-debug-kernel: $opt should be off" >&2; missing=1; } ;;
	esac
done <"$fragment"
[ "$missing" -eq 0 ] || exit 1

# The build takes 20 to 40 minutes: with_heartbeat says once a minute that
# it is alive.
# shellcheck source=scripts/heartbeat.sh
. "$top/scripts/heartbeat.sh"
if ! with_heartbeat "debug kernel $key" "$log" \
	make -C "$src" O="$out" -j"$(nproc)" bzImage modules; then
	tail -30 "$log" >&2
	exit 1
fi
echo "build-debug-kernel: built in $(( $(date +%s) - start ))s" >&2
touch "$out/.done"
echo "$out"
