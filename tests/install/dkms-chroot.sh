#!/bin/bash
# DKMS on a 7.x kernel (issue 15): the DKMS source tree ("make
# dkms-source") built by the dkms of the Debian unstable root that
# scripts/kernel7-root.sh keeps (its gcc and libc are what the 7.x headers
# need), in scratch trees inside that root: nothing is installed, in the
# root or on the host.  Checks that the module's vermagic names the 7.x
# release, and that dkms.conf's BUILD_EXCLUSIVE_KERNEL makes dkms refuse a
# kernel outside the range CI tests.  Prints TAP; exit 1 if a check failed.
# Must run as root (chroot).
#   tests/install/dkms-chroot.sh RELEASE
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
rel=${1:?usage: dkms-chroot.sh RELEASE}
build=${NTSYNC_BUILD_DIR:-$top/build}
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	sed 's/^/#   /' <<<"$2" | tail -n 25
}

echo "1..3"
root=$("$top/scripts/kernel7-root.sh" --root) || exit 1
ver=$(sed -n 's/^MODULE_VERSION("\(.*\)");.*/\1/p' "$top/driver/ntsync_main.c")
src=$(make -s --no-print-directory -C "$top" BUILD="$build" dkms-source | tail -n 1)
# The scratch trees, inside the root, named after this checkout.
key=$(printf '%s' "$top" | sha256sum | cut -c1-16)
dk=/ntsync-dkms/$key
rm -rf "${root:?}$dk"
mkdir -p "$root$dk/source" "$root$dk/tree" "$root$dk/installed" "$root$dk/tmp" \
	"$root$dk/keys"
cp -r "$src" "$root$dk/source/"
before=$(find "$root/lib/modules" "$root/var/lib/dkms" -name 'ntsync*' 2>/dev/null | LC_ALL=C sort)

# in_root_dkms KERNEL: dkms build in the scratch trees; prints its output.
in_root_dkms() {
	LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		unshare -m sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
		sh "$root" "$root" env TMPDIR="$dk/tmp" \
		mok_signing_key="$dk/keys/mok.key" mok_certificate="$dk/keys/mok.pub" \
		dkms build -m ntsync-nspa -v "$ver" -k "$1" \
		--dkmstree "$dk/tree" --sourcetree "$dk/source" \
		--installtree "$dk/installed" \
		--kernelsourcedir "/usr/src/linux-headers-$1" 2>&1
}

start=$(date +%s)
out=$(in_root_dkms "$rel")
status=$?
ko=$(find "$root$dk/tree/ntsync-nspa/$ver/$rel" -name 'ntsync.ko*' -path '*/module/*' 2>/dev/null | head -n 1)
if [ $status -eq 0 ] && [ -n "$ko" ]; then
	vermagic=$(chroot "$root" modinfo -F vermagic "${ko#"$root"}")
	echo "# dkms build for $rel: $(($(date +%s) - start)) s, ${ko#"$root"}"
	echo "# modinfo -F vermagic: $vermagic"
	if [ "${vermagic%% *}" = "$rel" ]; then
		ok "dkms build in the 7.x root for $rel: vermagic $rel"
	else
		not_ok "dkms build in the 7.x root for $rel: vermagic $rel" "vermagic: $vermagic"
	fi
else
	not_ok "dkms build in the 7.x root for $rel: vermagic $rel" \
		"$out$(cat "$root$dk/tree/ntsync-nspa/$ver/build/make.log" 2>/dev/null)"
fi

# A kernel outside the range: refused by name, nothing built.
outside=6.1.0-99-amd64
mkdir -p "$root/usr/src/linux-headers-$outside"
out=$(in_root_dkms "$outside")
status=$?
rmdir "$root/usr/src/linux-headers-$outside"
if [ $status -ne 0 ] && grep -q BUILD_EXCLUSIVE <<<"$out" &&
	[ ! -d "$root$dk/tree/ntsync-nspa/$ver/$outside" ]; then
	ok "dkms refuses $outside (outside BUILD_EXCLUSIVE_KERNEL)"
	echo "# $(grep -m1 BUILD_EXCLUSIVE <<<"$out") (exit $status)"
else
	not_ok "dkms refuses $outside (outside BUILD_EXCLUSIVE_KERNEL)" "exit $status: $out"
fi

after=$(find "$root/lib/modules" "$root/var/lib/dkms" -name 'ntsync*' 2>/dev/null | LC_ALL=C sort)
if [ "$before" = "$after" ] && [ -z "$(find "$root$dk/installed" -mindepth 1 -print -quit)" ]; then
	ok "dkms installed nothing in the root"
else
	not_ok "dkms installed nothing in the root" "before: $before
after: $after"
fi
rm -rf "${root:?}$dk"
exit $failed
