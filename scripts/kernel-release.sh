#!/bin/bash
# kernel-release.sh [rt|generic]
#
# Print the newest installed Debian 6.12 kernel release of the given flavour
# (default: rt) for which both the kernel image (/boot/vmlinuz-REL) and the
# headers (/usr/src/linux-headers-REL) exist, e.g. "6.12.117+deb12-rt-amd64".
# Exit 1 with a message on stderr if there is none, 2 on a usage error.
#
# Environment (for testing): NTSYNC_BOOT_DIR (default /boot),
# NTSYNC_HEADERS_DIR (default /usr/src), NTSYNC_KERNEL_SERIES (default 6.12).
set -euo pipefail

flavour=${1:-rt}
boot_dir=${NTSYNC_BOOT_DIR:-/boot}
src_dir=${NTSYNC_HEADERS_DIR:-/usr/src}
series=${NTSYNC_KERNEL_SERIES:-6.12}

case $flavour in
rt | generic) ;;
-h | --help)
	sed -n '2,11s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*)
	echo "kernel-release.sh: unknown flavour '$flavour' (want rt or generic)" >&2
	exit 2
	;;
esac

series_re=${series//./\\.}
candidates=()
for img in "$boot_dir"/vmlinuz-"$series".*; do
	[ -f "$img" ] || continue
	rel=${img##*/vmlinuz-}
	# Debian releases look like 6.12.117+deb12-rt-amd64 / 6.12.117+deb12-amd64
	# (or +bpo for backports); ignore other flavours such as -cloud-amd64.
	if [ "$flavour" = rt ]; then
		[[ $rel =~ ^${series_re}\.[0-9]+[^-]*-rt-amd64$ ]] || continue
	else
		[[ $rel =~ ^${series_re}\.[0-9]+[^-]*-amd64$ ]] || continue
	fi
	[ -d "$src_dir/linux-headers-$rel" ] || continue
	candidates+=("$rel")
done

if [ "${#candidates[@]}" -eq 0 ]; then
	echo "kernel-release.sh: no Debian $series $flavour kernel with both" \
		"$boot_dir/vmlinuz-REL and $src_dir/linux-headers-REL installed" \
		"(run scripts/install-deps.sh)" >&2
	exit 1
fi

printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1
