#!/bin/bash
# kernel7-root.sh: Debian's newest 7.x kernels (PREEMPT_RT and generic), for
# building the module against them and booting them in the VM, without
# touching this machine's /boot or its Debian 12 toolchain.
#
# A minimal Debian root of SUITE (default sid) is made with debootstrap under
# $NTSYNC_CACHE/kernel7/root-SUITE, from the apt mirror this machine already
# uses (read from /etc/apt/sources.list* at run time).  The headers are
# installed in it by meta-package name (linux-headers-rt-amd64,
# linux-headers-amd64, which pull in the gcc they need), so the newest
# version is used; the matching linux-image and linux-modules packages are
# downloaded and unpacked (dpkg-deb -x) under $NTSYNC_CACHE/kernel7/REL/
# (vmlinuz, and upstream's in-tree ntsync.ko, decompressed), one directory
# per kernel release, kept while newer ones arrive.
#
# The suite is asked again (apt-get update and install) at most once every
# NTSYNC_KERNEL7_MAX_AGE seconds (default 86400), or with --refresh.  A
# moving suite may be briefly uninstallable: each step is retried
# NTSYNC_KERNEL7_RETRIES times (default 3), NTSYNC_KERNEL7_RETRY_DELAY
# seconds apart (default 30); if it still fails and kernels were cached
# before, those are used and a FALLBACK warning says so on stderr (and
# "fallback=1" in STATE); with nothing cached, or with --strict, it fails.
#
# Usage:
#   scripts/kernel7-root.sh [--refresh|--offline] [--strict]
#       prepare (or reuse) everything; prints "rt REL" and "generic REL".
#   scripts/kernel7-root.sh --release rt|generic   the release, e.g.
#       7.2.13+deb14-rt-amd64 (from the cache: nothing is fetched).
#   scripts/kernel7-root.sh --image rt|generic     path of its vmlinuz.
#   scripts/kernel7-root.sh --upstream-ko rt|generic   path of upstream's
#       ntsync.ko for it (uncompressed).
#   scripts/kernel7-root.sh --root                 the root's path.
# STATE is $NTSYNC_CACHE/kernel7/state (key=value: rt, generic, suite,
# refreshed, fallback).  Must run as root (debootstrap, chroot) except for
# the cache queries.  Environment: NTSYNC_CACHE (default
# /var/cache/ntsync-nspa), NTSYNC_KERNEL7_SUITE (default sid),
# NTSYNC_DEBIAN_MIRROR (default: from the apt sources).
set -euo pipefail

PROG=kernel7-root
cache=${NTSYNC_CACHE:-/var/cache/ntsync-nspa}/kernel7
suite=${NTSYNC_KERNEL7_SUITE:-sid}
max_age=${NTSYNC_KERNEL7_MAX_AGE:-86400}
retries=${NTSYNC_KERNEL7_RETRIES:-3}
retry_delay=${NTSYNC_KERNEL7_RETRY_DELAY:-30}
root=$cache/root-$suite
state=$cache/state
flavours=(rt generic)

die() {
	echo "$PROG: $*" >&2
	exit 1
}

usage() {
	sed -n '2,37s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

state_get() { # KEY
	[ -f "$state" ] || return 1
	sed -n "s/^$1=//p" "$state" | tail -n 1 | grep .
}

flavour_arg() {
	case ${1:-} in
	rt | generic) ;;
	*) echo "$PROG: want rt or generic, not '${1:-}'" >&2; exit 2 ;;
	esac
}

cached_release() { # FLAVOUR: the release, if its kernel dir is complete
	local rel
	rel=$(state_get "$1") || die "no cached 7.x $1 kernel (run $0 first)"
	[ -f "$cache/$rel/.done" ] || die "cache of $rel is incomplete (run $0)"
	echo "$rel"
}

# ---------------------------------------------------------------------------
# Queries on the cache
# ---------------------------------------------------------------------------
force=0
offline=0
strict=0
while [ $# -gt 0 ]; do
	case $1 in
	--release | --image | --upstream-ko)
		flavour_arg "${2:-}"
		rel=$(cached_release "$2")
		case $1 in
		--release) echo "$rel" ;;
		--image) echo "$cache/$rel/vmlinuz" ;;
		--upstream-ko) echo "$cache/$rel/upstream/ntsync.ko" ;;
		esac
		exit 0
		;;
	--root)
		[ -d "$root/usr/src" ] || die "no root at $root (run $0 first)"
		echo "$root"
		exit 0
		;;
	--refresh) force=1 ;;
	--offline) offline=1 ;;
	--strict) strict=1 ;;
	-h | --help) usage 0 ;;
	*) echo "$PROG: unknown argument '$1'" >&2; usage 2 >&2 ;;
	esac
	shift
done

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"

# ---------------------------------------------------------------------------
# The mirror: the Debian archive entry of this machine's apt sources, i.e.
# the URI that serves its own release codename (not -security, -updates).
# ---------------------------------------------------------------------------
host_mirror() {
	local codename
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || return 1
	{
		# one-line format: deb [opts] URI SUITE COMPONENTS...
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
			awk -v c="$codename" '$1 == "deb" && $3 == c { print $2 }'
		# deb822 format: URIs/Suites per paragraph
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v c="$codename" '
				function flush() {
					if (uris != "" && (" " suites " ") ~ (" " c " "))
						{ split(uris, u, " "); print u[1] }
					uris = ""; suites = ""
				}
				/^[ \t]*$/ { flush(); next }
				tolower($1) == "uris:" { $1 = ""; uris = $0 }
				tolower($1) == "suites:" { $1 = ""; suites = $0 }
				END { flush() }' "$f"
		done
	} | sed -e 's/^[ \t]*//' -e 's:/*$::' | grep -E '^https?://' | head -n 1
}

mirror=${NTSYNC_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ "$offline" -eq 0 ]; then
	mirror=$(host_mirror) ||
		die "no Debian archive entry found in /etc/apt/sources.list* (set NTSYNC_DEBIAN_MIRROR)"
fi

mkdir -p "$cache"
log=$cache/last-run.log

# ---------------------------------------------------------------------------
# The chroot, with /proc mounted in a private mount namespace (unshare -m):
# the mount ends with the command, however it ends, and is never seen here.
# ---------------------------------------------------------------------------
# shellcheck disable=SC2016 # $1 and $@ are expanded by the inner sh
in_root() { # COMMAND... (run in the chroot, output to the log)
	LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		nice -n 19 unshare -m sh -c \
		'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' \
		sh "$root" "$root" "$@" >>"$log" 2>&1
}

retry() { # DESCRIPTION COMMAND...
	local what=$1 i
	shift
	for ((i = 1; i <= retries; i++)); do
		echo "== $what (attempt $i/$retries)" >>"$log"
		if "$@"; then
			return 0
		fi
		echo "$PROG: $what failed (attempt $i/$retries, log: $log)" >&2
		grep -E '^(E:|Err:)' "$log" | tail -n 2 | sed "s/^/$PROG:   /" >&2 || true
		[ "$i" -lt "$retries" ] && sleep "$retry_delay"
	done
	return 1
}

make_root() {
	local tmp=$root.tmp
	rm -rf "$tmp"
	if nice -n 19 debootstrap --variant=minbase --include=ca-certificates \
		"$suite" "$tmp" "$mirror" >>"$log" 2>&1; then
		mv "$tmp" "$root"
		return 0
	fi
	# debootstrap leaves its own mounts behind when it fails.
	umount "$tmp/proc" "$tmp/sys" 2>/dev/null || true
	return 1
}

# What the root gets: the headers (which pull in their gcc), make, and dkms
# (tests/install/dkms-chroot.sh builds through it there).  A root made
# with another list is refreshed (state key "packages").
root_packages=(linux-headers-rt-amd64 linux-headers-amd64 make dkms)
apt_opts=(-q -y -o APT::Install-Recommends=false -o Dpkg::Use-Pty=false)

# The host's apt settings that decide whether the mirror can be used at all
# (a frozen mirror needs Check-Valid-Until off; a proxy), carried into the
# root as they are on the host.
host_apt_conf() {
	apt-config dump |
		grep -E '^Acquire::(Check-Valid-Until|https?::Proxy|Retries) ' || true
}

# --error-on=any: an index that failed to download is an error, not a
# warning (apt would go on with the old lists: a silent stale pass).
update_root() {
	host_apt_conf >"$root/etc/apt/apt.conf.d/99ntsync-host"
	in_root dpkg --configure -a &&
		in_root apt-get "${apt_opts[@]}" --error-on=any update &&
		in_root apt-get "${apt_opts[@]}" install "${root_packages[@]}"
}

# The release a headers meta-package points at: its Depends names the
# versioned package, "linux-headers-7.2.13+deb14-rt-amd64 (= ...)".
meta_release() { # FLAVOUR
	local meta=linux-headers-amd64 dep
	[ "$1" = rt ] && meta=linux-headers-rt-amd64
	# shellcheck disable=SC2016 # a dpkg-query field, not a variable
	dep=$(chroot "$root" dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null) ||
		return 1
	tr ',' '\n' <<<"$dep" | sed -n 's/^ *linux-headers-\([^ ]*\) .*/\1/p' |
		grep -E -e '-amd64$' | head -n 1
}

# Download and unpack linux-image-REL and the packages of that release it
# depends on into $cache/REL.  7.x splits it: linux-image-REL is a small
# package depending on linux-binary-REL (the vmlinuz), linux-modules-REL
# (the modules, upstream's ntsync.ko among them) and linux-base-REL.
fetch_kernel() { # REL
	local rel=$1 dir=$cache/$1 d pkgs=() p ko deps
	rm -rf "$dir"
	mkdir -p "$dir/debs" "$dir/tree" "$dir/upstream"
	chroot "$root" apt-cache show "linux-image-$rel" >/dev/null 2>&1 ||
		{ echo "no linux-image-$rel in $suite" >>"$log"; return 1; }
	pkgs=("linux-image-$rel")
	deps=$(chroot "$root" apt-cache show --no-all-versions "linux-image-$rel" |
		sed -n 's/^Depends: //p')
	for p in $(tr ',|' '\n' <<<"$deps" | sed 's/^ *\([^ ]*\).*/\1/'); do
		if [[ $p == linux-*-"$rel" ]]; then
			pkgs+=("$p")
		fi
	done
	rm -rf "$root/tmp/kernel7-debs"
	mkdir -p "$root/tmp/kernel7-debs"
	chmod 1777 "$root/tmp/kernel7-debs" # apt downloads as _apt
	in_root sh -c "cd /tmp/kernel7-debs && apt-get download ${pkgs[*]}" || return 1
	mv "$root"/tmp/kernel7-debs/*.deb "$dir/debs/"
	for d in "$dir"/debs/*.deb; do
		dpkg-deb -x "$d" "$dir/tree"
	done
	# 7.x ships the image as /usr/lib/modules/REL/vmlinuz, 6.x as
	# /boot/vmlinuz-REL.
	for p in "usr/lib/modules/$rel/vmlinuz" "boot/vmlinuz-$rel" ""; do
		[ -z "$p" ] || [ ! -f "$dir/tree/$p" ] || break
	done
	[ -n "$p" ] || { echo "no vmlinuz in ${pkgs[*]}" >>"$log"; return 1; }
	ln -sf "tree/$p" "$dir/vmlinuz"
	ko=$(find "$dir/tree/lib/modules/$rel" "$dir/tree/usr/lib/modules/$rel" \
		-path '*/drivers/misc/ntsync.ko*' 2>/dev/null | head -n 1)
	if [ -n "$ko" ]; then
		case $ko in
		*.xz) xz -dc "$ko" >"$dir/upstream/ntsync.ko" ;;
		*.zst) zstd -qdc "$ko" >"$dir/upstream/ntsync.ko" ;;
		*.gz) gzip -dc "$ko" >"$dir/upstream/ntsync.ko" ;;
		*) cp "$ko" "$dir/upstream/ntsync.ko" ;;
		esac
	else
		echo "$PROG: warning: no drivers/misc/ntsync.ko in ${pkgs[*]}" >&2
	fi
	rm -rf "$dir/debs"
	touch "$dir/.done"
}

write_state() { # FALLBACK REL_RT REL_GENERIC REFRESHED
	{
		echo "suite=$suite"
		echo "rt=$2"
		echo "generic=$3"
		echo "refreshed=$4"
		echo "fallback=$1"
		echo "packages=${root_packages[*]}"
	} >"$state.tmp"
	mv "$state.tmp" "$state"
}

# Everything from the suite; 0 on success (state written), 1 otherwise.
refresh() {
	local f rel rels=()
	: >"$log"
	if [ ! -d "$root/usr/src" ]; then
		start=$(date +%s)
		echo "$PROG: debootstrap $suite into $root (log: $log)" >&2
		retry "debootstrap $suite" make_root || return 1
		echo "$PROG: debootstrap took $(($(date +%s) - start)) s" >&2
	fi
	retry "apt-get install of the 7.x headers" update_root || return 1
	for f in "${flavours[@]}"; do
		rel=$(meta_release "$f") || rel=
		if [ -z "$rel" ]; then
			echo "$PROG: the $f headers meta-package names no release" >&2
			return 1
		fi
		if [[ $rel != 7.* ]]; then
			echo "$PROG: $suite's $f kernel is $rel, not a 7.x" >&2
			return 1
		fi
		[ -d "$root/usr/src/linux-headers-$rel" ] ||
			{ echo "$PROG: no /usr/src/linux-headers-$rel in the root" >&2; return 1; }
		if [ ! -f "$cache/$rel/.done" ]; then
			retry "fetching the $rel image and modules" fetch_kernel "$rel" ||
				return 1
		fi
		rels+=("$rel")
	done
	write_state 0 "${rels[0]}" "${rels[1]}" "$(date +%s)"
}

total_start=$(date +%s)
fresh=0
if [ "$force" -eq 0 ] && refreshed=$(state_get refreshed) &&
	[ "$(state_get fallback || echo 1)" = 0 ] &&
	[ "$(state_get packages || :)" = "${root_packages[*]}" ] &&
	{ [ "$offline" -eq 1 ] || [ $(($(date +%s) - refreshed)) -lt "$max_age" ]; }; then
	fresh=1
fi
if [ "$offline" -eq 1 ] && [ "$fresh" -eq 0 ] && ! state_get rt >/dev/null; then
	die "--offline, and nothing cached"
fi

if [ "$fresh" -eq 0 ] && [ "$offline" -eq 0 ]; then
	if refresh; then
		echo "$PROG: $suite refreshed in $(($(date +%s) - total_start)) s" >&2
	else
		if ! { rt=$(state_get rt) && gen=$(state_get generic) &&
			[ -f "$cache/$rt/.done" ] && [ -f "$cache/$gen/.done" ] &&
			[ -d "$root/usr/src/linux-headers-$rt" ] &&
			[ -d "$root/usr/src/linux-headers-$gen" ]; }; then
			die "FAILED to get the 7.x kernels from $suite and nothing is cached (log: $log)"
		fi
		[ "$strict" -eq 0 ] ||
			die "FAILED to refresh $suite (--strict; cached: $rt, $gen; log: $log)"
		echo "$PROG: WARNING: FALLBACK: could not refresh $suite (log: $log);" \
			"using the cached kernels $rt and $gen, fetched" \
			"$(date -d "@$(state_get refreshed)" '+%F %T')" >&2
		write_state 1 "$rt" "$gen" "$(state_get refreshed)"
	fi
fi

for f in "${flavours[@]}"; do
	echo "$f $(cached_release "$f")"
done
