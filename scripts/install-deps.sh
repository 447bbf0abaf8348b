#!/bin/bash
# install-deps.sh: install the host packages ntsync-nspa needs (Debian 12).
#
# Idempotent: packages already installed are detected with dpkg-query and
# nothing is done for them; `apt-get update` runs only when something must be
# installed. Must run as root when something is missing. Quiet on success
# apart from one summary line; on failure the apt output is shown.
#
# Usage: scripts/install-deps.sh [--check]
#   --check   only report missing packages (exit 1 if any), install nothing.
set -euo pipefail

packages=(
	qemu-system-x86 busybox-static gcc-multilib make gcc libc6-dev sparse
	cpio kmod xz-utils bc flex bison libelf-dev libssl-dev
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-source-6.12 gnuplot-nox dkms man-db pkg-config
	debootstrap
)

check_only=0
case ${1:-} in
'') ;;
--check) check_only=1 ;;
-h | --help)
	sed -n '2,10s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*)
	echo "install-deps.sh: unknown argument '$1'" >&2
	exit 2
	;;
esac

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	case $status in
	ii*) ;;
	*) missing+=("$pkg") ;;
	esac
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages already installed"
	exit 0
fi

if [ "$check_only" -eq 1 ]; then
	echo "install-deps: missing: ${missing[*]}"
	exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install: ${missing[*]}" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

export DEBIAN_FRONTEND=noninteractive INITRD=No
apt_opts=(-o DPkg::Lock::Timeout=600 -q)
# shellcheck source=scripts/heartbeat.sh
. "$(dirname "$0")/heartbeat.sh"
echo "install-deps: installing ${missing[*]}" >&2
if ! with_heartbeat "install-deps: apt-get update" "$log" \
	apt-get "${apt_opts[@]}" update ||
	! with_heartbeat "install-deps: apt-get install" "$log" \
		apt-get "${apt_opts[@]}" install -y --no-install-recommends \
		"${missing[@]}"; then
	cat "$log" >&2
	echo "install-deps: FAILED to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installed ${missing[*]}"
