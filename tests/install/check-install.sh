#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check-install.sh: test "make install", "make uninstall", the installed
# files and the DKMS build, on the host, in scratch directories under
# $BUILD/install-check (BUILD defaults to $NTSYNC_BUILD_DIR, then
# <repo>/build).  Nothing is installed into this machine's own directories
# and no module is loaded: module checks use modinfo and depmod -b on
# scratch copies, DKMS runs with its own scratch trees, and the real-install
# check (depmod, ldconfig) runs in a sandbox whose /usr and /etc are
# overlays of the host's (real-install-sandbox.sh; needs root).
#
#   tests/install/check-install.sh [-v]
#
# Prints TAP-style "ok N - ..." / "not ok N - ..." lines (with "# ..."
# details under a failure; -v shows details for passes too), then
# "N passed, M failed".  Exit status 0 only when nothing failed.  A check
# that cannot run (dkms missing, say) fails: nothing is skipped.
#
# Read-only DESTDIR: as root a read-only tmpfs is mounted on the scratch
# directory (root ignores file modes); as another user the directory is
# made non-writable.  Both are undone on exit.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-${NTSYNC_BUILD_DIR:-$top/build}}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
PREFIX=/usr/local
scratch=$BUILD/install-check
D=$scratch/destdir
verbose=0
[ "${1:-}" = -v ] && verbose=1

n=0 passed=0 failed=0
mounts=()

cleanup() {
	local m
	for m in "${mounts[@]}"; do
		umount "$m" 2>/dev/null
	done
	[ -d "$scratch" ] && chmod -R u+w "$scratch" 2>/dev/null
}
trap cleanup EXIT

# check DESCRIPTION COMMAND...: run COMMAND (a function, usually) with its
# output captured; print the verdict.
check() {
	local desc=$1 out status
	shift
	out=$("$@" 2>&1)
	status=$?
	n=$((n + 1))
	if [ $status -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - $desc"
		[ $verbose -eq 0 ] || [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/#   /'
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		[ -z "$out" ] || printf '%s\n' "$out" | tail -n 25 | sed 's/^/#   /'
	fi
}

make_top() {
	make -s --no-print-directory -C "$top" BUILD="$BUILD" "$@"
}

# Everything under a directory, with types, modes, link targets and file
# contents: equal snapshots mean an untouched tree.
snapshot() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%y %m %p -> %l\n' | LC_ALL=C sort
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2
	)
}

# Whether directory $2 still matches the snapshot $1 (diff if not).
unchanged() {
	diff -u <(printf '%s\n' "$1") <(printf '%s\n' "$(snapshot "$2")")
}

# Files (not directories) under DESTDIR, as absolute target paths.
installed_files() {
	(cd "$1" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort)
}

releases() {
	local f
	for f in rt generic; do
		"$top/scripts/kernel-release.sh" "$f" 2>/dev/null
	done
}

# The functions lib/ntsync.h declares.
lib_functions() {
	cc -E -P -x c -I"$top/include/uapi" "$top/lib/ntsync.h" |
		grep -oE '\<ntsync_[a-z0-9_]+[[:space:]]*\(' |
		sed 's/[[:space:]]*($//' | LC_ALL=C sort -u
}

lib_version() {
	make -s --no-print-directory -C "$top/lib" print-version
}

module_version() {
	sed -n 's/^MODULE_VERSION("\(.*\)");.*/\1/p' "$top/driver/ntsync_main.c"
}

# What docs/packaging.md says "make install" installs.
expected_files() {
	local rel f v=$LIBVER P=$PREFIX
	for rel in $RELEASES; do
		echo "/lib/modules/$rel/updates/ntsync.ko"
	done
	echo /usr/lib/modules-load.d/ntsync.conf
	echo "$P/bin/ntsync-stat"
	echo "$P/include/linux/ntsync.h"
	echo "$P/include/ntsync.h"
	echo "$P/lib/libntsync.a"
	echo "$P/lib/libntsync.so"
	echo "$P/lib/libntsync.so.${v%%.*}"
	echo "$P/lib/libntsync.so.$v"
	echo "$P/lib/pkgconfig/libntsync.pc"
	echo "$P/share/man/man8/ntsync-stat.8"
	for f in "$top"/man/man4/*.4; do
		echo "$P/share/man/man4/${f##*/}"
	done
	echo "$P/share/man/man3/libntsync.3"
	for f in $FUNCTIONS; do
		echo "$P/share/man/man3/$f.3"
	done
	echo "$P/share/ntsync-nspa/install-manifest"
}

pc_env() {
	env PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_LIBDIR="$D$PREFIX/lib/pkgconfig" \
		PKG_CONFIG_PATH= "$@"
}

# Make a directory read-only for the caller: a read-only tmpfs for root,
# file modes otherwise.
make_readonly() {
	if [ "$(id -u)" -eq 0 ]; then
		mount -t tmpfs -o ro,size=64k ntsync-install-ro "$1" || return 1
		mounts+=("$1")
	else
		chmod a-w "$1"
	fi
}

undo_readonly() {
	if [ "$(id -u)" -eq 0 ]; then
		umount "$1"
	else
		chmod u+w "$1"
	fi
}

# ---- the checks ---------------------------------------------------------

t_install() {
	make_top install DESTDIR="$D" PREFIX="$PREFIX"
}

t_file_list() {
	diff -u <(expected_files | LC_ALL=C sort) <(installed_files "$D") &&
		echo "$(installed_files "$D" | wc -l) files, as documented"
}

t_manifest() {
	local mf=$D$PREFIX/share/ntsync-nspa/install-manifest
	[ -f "$mf" ] || { echo "no manifest"; return 1; }
	diff -u <(installed_files "$D" | grep -vxF "$PREFIX/share/ntsync-nspa/install-manifest") \
		<(awk -F'\t' '$1 == "f" || $1 == "l" { print $3 }' "$mf" | LC_ALL=C sort)
}

t_library() {
	local L=$D$PREFIX/lib v=$LIBVER so
	so=${v%%.*}
	[ "$(readlink "$L/libntsync.so")" = "libntsync.so.$so" ] || { echo "libntsync.so -> $(readlink "$L/libntsync.so")"; return 1; }
	[ "$(readlink "$L/libntsync.so.$so")" = "libntsync.so.$v" ] || { echo "libntsync.so.$so -> $(readlink "$L/libntsync.so.$so")"; return 1; }
	if [ ! -f "$L/libntsync.so.$v" ] || [ -L "$L/libntsync.so.$v" ]; then
		echo "libntsync.so.$v is not a file"
		return 1
	fi
	readelf -d "$L/libntsync.so.$v" | grep -q "Library soname: \[libntsync.so.$so\]" ||
		{ readelf -d "$L/libntsync.so.$v" | grep SONAME; return 1; }
	ar t "$L/libntsync.a" | grep -q '\.o$' || { echo "libntsync.a is empty"; return 1; }
	echo "soname libntsync.so.$so, links libntsync.so -> .so.$so -> .so.$v"
}

t_exports() {
	make -s --no-print-directory -C "$top/lib" BUILD="$BUILD" check
}

t_pkgconfig() {
	local flags want
	flags=$(pc_env pkg-config --cflags --libs libntsync) || return 1
	want="-I$D$PREFIX/include -L$D$PREFIX/lib -lntsync"
	echo "pkg-config: $flags"
	# pkg-config ends with a space; compare the words.
	[ "${flags% }" = "$want" ] || { echo "expected: $want"; return 1; }
	[ "$(pc_env pkg-config --modversion libntsync)" = "$(module_version)" ]
}

# The sources of example $1: NAME.c, and NAME_*.c and NAME.h if it has
# more than one file (the demo).
example_files() {
	local f
	for f in "$top/examples/$1.c" "$top/examples/$1"_*.c "$top/examples/$1.h"; do
		[ ! -f "$f" ] || echo "${f##*/}"
	done
}

# Compile an example in an empty directory with nothing but pkg-config's
# flags, so that only installed headers and libraries can be found.
t_example() {
	local name=$1 dir=$scratch/examples/$1 flags
	local -a files sources
	mapfile -t files < <(example_files "$name")
	mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep '\.c$')
	mkdir -p "$dir" && (cd "$top/examples" && cp "${files[@]}" "$dir/") || return 1
	flags=$(pc_env pkg-config --cflags --libs libntsync) || return 1
	# shellcheck disable=SC2086
	(cd "$dir" && cc -std=c11 -Wall -Wextra -Werror -O2 -pthread \
		"${sources[@]}" $flags -o "$name") || return 1
	# The binary must find libntsync.so.1 in DESTDIR, nowhere else.
	LD_LIBRARY_PATH=$D$PREFIX/lib ldd "$dir/$name" |
		grep -F "libntsync.so.${LIBVER%%.*} => $D$PREFIX/lib/libntsync.so.${LIBVER%%.*}" ||
		{ LD_LIBRARY_PATH=$D$PREFIX/lib ldd "$dir/$name"; return 1; }
}

# <ntsync.h> and <linux/ntsync.h> from DESTDIR in strict C (no feature
# test macro, -pedantic), using the clock constants of <ntsync.h>.
t_header_strict() {
	local dir=$scratch/strict std flags
	mkdir -p "$dir" || return 1
	cat >"$dir/strict.c" <<-'EOF'
		#include <ntsync.h>
		#include <linux/ntsync.h>

		int main(void)
		{
			struct ntsync_sem_args sem = { 0, 1 };
			uint32_t index;
			int dev = ntsync_open();

			(void)sem;
			return ntsync_wait_any(dev, 0, 0, 1, NTSYNC_NO_ALERT,
					       ntsync_deadline_ns(NTSYNC_CLOCK_MONOTONIC, 1000),
					       0, &index) < 0 &&
			       ntsync_now_ns(NTSYNC_CLOCK_REALTIME) > 0;
		}
	EOF
	flags=$(pc_env pkg-config --cflags --libs libntsync) || return 1
	for std in c99 c11 c17; do
		# shellcheck disable=SC2086
		cc -std=$std -Wall -Wextra -Werror -pedantic "$dir/strict.c" $flags \
			-o "$dir/strict-$std" || { echo "-std=$std failed"; return 1; }
	done
	echo "-std=c99, c11 and c17 -Wall -Wextra -Werror -pedantic: clean"
}

# A foreign linux/ntsync.h (the kernel's, say) where ours would go: install
# refuses and writes nothing, uninstall has no manifest and touches nothing.
t_foreign_header_refused() {
	local d=$scratch/foreign-header out status before
	rm -rf "$d" && mkdir -p "$d$PREFIX/include/linux" || return 1
	echo "/* the kernel's own header */" >"$d$PREFIX/include/linux/ntsync.h"
	before=$(snapshot "$d")
	out=$(make_top install DESTDIR="$d" PREFIX="$PREFIX" 2>&1)
	status=$?
	echo "$out" | grep -v '^  module for' | tail -n 6
	[ $status -ne 0 ] || { echo "install succeeded"; return 1; }
	echo "$out" | grep -q "never overwritten" &&
		echo "$out" | grep -qF "$d$PREFIX/include/linux/ntsync.h" || return 1
	make_top uninstall DESTDIR="$d" PREFIX="$PREFIX" >/dev/null 2>&1 &&
		{ echo "uninstall succeeded"; return 1; }
	unchanged "$before" "$d"
}

# A file of ours replaced by someone else after install: a new install
# refuses, uninstall removes the rest and keeps that file.
t_foreign_after_install() {
	local d=$scratch/foreign-later h out
	h=$PREFIX/include/linux/ntsync.h
	rm -rf "$d" && mkdir -p "$d" || return 1
	make_top install DESTDIR="$d" PREFIX="$PREFIX" >/dev/null 2>&1 || return 1
	rm "$d$h" && echo "/* a package's header */" >"$d$h" || return 1
	out=$(make_top install DESTDIR="$d" PREFIX="$PREFIX" 2>&1) &&
		{ echo "install over it succeeded"; return 1; }
	echo "$out" | grep -qF "$d$h" || { echo "$out" | tail -n 5; return 1; }
	make_top uninstall DESTDIR="$d" PREFIX="$PREFIX" || return 1
	[ "$(cat "$d$h")" = "/* a package's header */" ] || { echo "$h lost"; return 1; }
	[ "$(cd "$d" && find . ! -type d)" = ".$h" ] ||
		{ echo "left behind:"; (cd "$d" && find . ! -type d); return 1; }
}

t_example_static() {
	local dir=$scratch/examples flags
	mkdir -p "$dir" && cp "$top/examples/channel_server.c" "$dir/" || return 1
	flags=$(pc_env pkg-config --static --cflags --libs libntsync) || return 1
	# shellcheck disable=SC2086
	(cd "$dir" && cc -std=c11 -Wall -Wextra -Werror -O2 -pthread -static \
		channel_server.c $flags -o channel_server-static) || return 1
	# No program interpreter: nothing is loaded at run time.
	! readelf -l "$dir/channel_server-static" | grep -q 'INTERP' ||
		{ echo "not statically linked"; return 1; }
}

t_modinfo() {
	local rel=$1 ko=$D/lib/modules/$1/updates/ntsync.ko vermagic name version
	[ -f "$ko" ] || { echo "no $ko"; return 1; }
	name=$(modinfo -F name "$ko") || return 1
	vermagic=$(modinfo -F vermagic "$ko") || return 1
	version=$(modinfo -F version "$ko") || return 1
	echo "name $name, version $version, vermagic $vermagic"
	[ "$name" = ntsync ] && [ "${vermagic%% *}" = "$rel" ] &&
		[ "$version" = "$(module_version)" ]
}

# depmod on a scratch copy, next to a stand-in in-tree ntsync.ko: modprobe
# would take the one in updates/.
t_updates_precedence() {
	local rel=$1 base=$scratch/depmod found f
	rm -rf "$base"
	mkdir -p "$base/lib/modules/$rel/kernel/drivers/misc" || return 1
	cp -r "$D/lib/modules/$rel/updates" "$base/lib/modules/$rel/" || return 1
	cp "$D/lib/modules/$rel/updates/ntsync.ko" "$base/lib/modules/$rel/kernel/drivers/misc/" || return 1
	# The kernel's own lists, read from the host, keep depmod quiet.
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ ! -f "/lib/modules/$rel/$f" ] || cp "/lib/modules/$rel/$f" "$base/lib/modules/$rel/"
	done
	depmod -b "$base" "$rel" || return 1
	found=$(modinfo -b "$base" -k "$rel" -n ntsync) || return 1
	echo "modprobe ntsync would load $found"
	[ "$found" = "$base/lib/modules/$rel/updates/ntsync.ko" ] ||
		[ "$found" = "/lib/modules/$rel/updates/ntsync.ko" ]
}

t_modules_load() {
	local f=$D/usr/lib/modules-load.d/ntsync.conf
	[ "$(grep -v '^[[:space:]]*#' "$f" | grep -v '^[[:space:]]*$')" = ntsync ] || { cat "$f"; return 1; }
	[ "$(stat -c %a "$f")" = 644 ]
}

t_man() {
	local f page warn status=0 M=$D$PREFIX/share/man
	for f in $FUNCTIONS libntsync; do
		page=$(MANPATH=$M man -w 3 "$f" 2>&1) || { echo "$f: no page: $page"; status=1; continue; }
		case $page in "$M"/*) ;; *) echo "$f: found outside DESTDIR: $page"; status=1; continue ;; esac
		warn=$(MANPATH=$M MANWIDTH=80 man --warnings 3 "$f" 2>&1 >/dev/null)
		[ -z "$warn" ] || { echo "$f: $warn"; status=1; }
	done
	warn=$(MANPATH=$M MANWIDTH=80 man --warnings 8 ntsync-stat 2>&1 >/dev/null) || status=1
	[ -z "$warn" ] || { echo "ntsync-stat.8: $warn"; status=1; }
	# The ioctl pages: one per family, found in section 4.
	for f in ntsync ntsync_event_set_pi ntsync_channel ntsync_aggregate_wait; do
		page=$(MANPATH=$M man -w 4 "$f" 2>&1) || { echo "$f(4): no page: $page"; status=1; continue; }
		case $page in "$M"/*) ;; *) echo "$f(4): found outside DESTDIR: $page"; status=1; continue ;; esac
		warn=$(MANPATH=$M MANWIDTH=80 man --warnings 4 "$f" 2>&1 >/dev/null)
		[ -z "$warn" ] || { echo "$f(4): $warn"; status=1; }
	done
	[ $status -eq 0 ] && echo "$(wc -w <<<"$FUNCTIONS") functions and 4 ioctl families, each with a page that renders cleanly"
	return $status
}

t_stat_check_host() {
	local out status bin=$D$PREFIX/bin/ntsync-stat
	out=$("$bin" --check)
	status=$?
	echo "$out (exit $status)"
	[ "$(echo "$out" | wc -l)" -eq 1 ] || return 1
	if [ -e /dev/ntsync ] && [ -r /dev/ntsync ]; then
		[ $status -eq 0 ] && [[ $out == *"/dev/ntsync: usable" ]]
	else
		[ $status -eq 1 ] && [[ $out == *"not usable"* ]] &&
			{ [ -e /sys/module/ntsync ] || [[ $out == "ntsync: module not loaded;"* ]]; }
	fi
}

# The tool against a made-up sysfs: sorted columns, totals, then deltas.
t_stat_fake_sysfs() {
	local root=$scratch/fake-root bin=$D$PREFIX/bin/ntsync-stat out s
	rm -rf "$root"
	s=$root/sys/class/misc/ntsync/stats
	mkdir -p "$s" "$root/sys/module/ntsync" "$root/dev" || return 1
	echo live >"$root/sys/module/ntsync/initstate"
	echo 9.9.9 >"$root/sys/module/ntsync/version"
	echo "event_set_pi channel" >"$root/sys/class/misc/ntsync/features"
	echo 2 >"$root/sys/module/ntsync/refcnt"
	echo 7 >"$s/waits"
	echo 18446744073709551615 >"$s/zz_new_counter"
	echo 3 >"$s/objects_sem"
	touch "$root/dev/ntsync"
	out=$("$bin" --root "$root" --check) || { echo "$out"; return 1; }
	echo "$out"
	[ "$out" = "ntsync: module loaded; driver: ntsync-nspa; version: 9.9.9; NSPA extensions: event_set_pi channel; references: 2; /dev/ntsync: usable" ] || return 1
	# Upstream's in-tree module: no statistics, no features, no version.
	rm -rf "$root/sys/class/misc/ntsync/stats" "$root/sys/class/misc/ntsync/features" \
		"$root/sys/module/ntsync/version"
	out=$("$bin" --root "$root" --check) || { echo "$out"; return 1; }
	echo "$out"
	[ "$out" = "ntsync: module loaded; driver: upstream ntsync; version: in-tree; NSPA extensions: none; references: 2; /dev/ntsync: usable" ] || return 1
	mkdir -p "$s" && echo "event_set_pi channel" >"$root/sys/class/misc/ntsync/features" &&
		echo 9.9.9 >"$root/sys/module/ntsync/version" || return 1
	echo 7 >"$s/waits"
	echo 18446744073709551615 >"$s/zz_new_counter"
	echo 3 >"$s/objects_sem"
	out=$("$bin" --root "$root")
	echo "$out"
	[ "$(echo "$out" | sed -n 1p | tr -s ' ' | sed 's/^ //')" = "objects_sem waits zz_new_counter" ] || return 1
	[ "$(echo "$out" | sed -n 2p | tr -s ' ' | sed 's/^ //')" = "3 7 18446744073709551615" ] || return 1
	out=$("$bin" --root "$root" -n 2 0.05) || return 1
	[ "$(echo "$out" | sed -n 3p | tr -s ' ' | sed 's/^ //')" = "0 0 0" ] || { echo "$out"; return 1; }
	out=$("$bin" --root "$root" -l) || return 1
	echo "$out" | grep -qx 'waits *7' || { echo "$out"; return 1; }
}

t_reinstall() {
	local before after
	before=$(installed_files "$D")
	make_top install DESTDIR="$D" PREFIX="$PREFIX" || return 1
	after=$(installed_files "$D")
	diff -u <(echo "$before") <(echo "$after")
}

# Install for two kernels, then again for one: the first install's module
# for the other kernel stays in the manifest, and one uninstall removes all.
t_reinstall_fewer() {
	local d=$scratch/fewer first left
	first=${RELEASES%% *}
	rm -rf "$d" && mkdir -p "$d" || return 1
	make_top install DESTDIR="$d" PREFIX="$PREFIX" >/dev/null 2>&1 || return 1
	make_top install DESTDIR="$d" PREFIX="$PREFIX" KRELEASES="$first" || return 1
	grep -c 'updates/ntsync.ko$' "$d$PREFIX/share/ntsync-nspa/install-manifest" | grep -qx "$(wc -w <<<"$RELEASES")" ||
		{ echo "the manifest lost a module"; return 1; }
	make_top uninstall DESTDIR="$d" PREFIX="$PREFIX" || return 1
	left=$(cd "$d" && find . -mindepth 1)
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}

t_uninstall_empty() {
	make_top uninstall DESTDIR="$D" PREFIX="$PREFIX" || return 1
	local left
	left=$(cd "$D" && find . -mindepth 1)
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}

t_uninstall_twice() {
	local out
	out=$(make_top uninstall DESTDIR="$D" PREFIX="$PREFIX" 2>&1) && { echo "$out"; return 1; }
	echo "$out" | grep -q "no manifest" || { echo "$out"; return 1; }
	echo "$out" | head -n 1
}

# Files and directories that were there before survive install+uninstall
# (even an empty directory install also uses); a file changed after
# install is left in place by uninstall.
t_foreign_files() {
	local d=$scratch/foreign before after
	rm -rf "$d"
	mkdir -p "$d/usr/local/bin" "$d/usr/local/lib" "$d/lib/modules" || return 1
	echo mine >"$d/usr/local/lib/libother.so.3"
	before=$(snapshot "$d")
	make_top install DESTDIR="$d" PREFIX="$PREFIX" >/dev/null || return 1
	echo "# changed after install" >>"$d$PREFIX/include/ntsync.h"
	make_top uninstall DESTDIR="$d" PREFIX="$PREFIX" || return 1
	[ -f "$d$PREFIX/include/ntsync.h" ] || { echo "changed file removed"; return 1; }
	rm "$d$PREFIX/include/ntsync.h" && rmdir "$d$PREFIX/include" || return 1
	unchanged "$before" "$d"
}

t_readonly_destdir() {
	local d=$scratch/readonly out status before
	rm -rf "$d" && mkdir -p "$d" || return 1
	make_readonly "$d" || { echo "cannot make $d read-only"; return 1; }
	before=$(snapshot "$d")
	out=$(make_top install DESTDIR="$d" PREFIX="$PREFIX" 2>&1)
	status=$?
	echo "$out" | grep -v '^  module for'
	[ $status -ne 0 ] || { undo_readonly "$d"; echo "install succeeded"; return 1; }
	unchanged "$before" "$d" || { undo_readonly "$d"; return 1; }
	undo_readonly "$d"
	echo "$out" | grep -qE 'read-only file system|not writable' &&
		echo "$out" | grep -q 'nothing was installed'
}

# Read-only below DESTDIR ($PREFIX only): the rest of DESTDIR gets nothing.
t_readonly_prefix() {
	local d=$scratch/readonly-prefix out status before
	rm -rf "$d" && mkdir -p "$d$PREFIX" || return 1
	make_readonly "$d$PREFIX" || { echo "cannot make $d$PREFIX read-only"; return 1; }
	before=$(snapshot "$d")
	out=$(make_top install DESTDIR="$d" PREFIX="$PREFIX" 2>&1)
	status=$?
	echo "$out" | grep -v '^  module for'
	unchanged "$before" "$d"
	local same=$?
	undo_readonly "$d$PREFIX"
	[ $status -ne 0 ] && [ $same -eq 0 ]
}

# A failure in the middle of copying (injected) rolls everything back,
# including the files of an earlier install that were being replaced (the
# very same inodes come back).
t_rollback() {
	local d=$scratch/rollback out status before
	local m=$PREFIX/share/ntsync-nspa/install-manifest
	rm -rf "$d" && mkdir -p "$d" || return 1
	# The tree staged by the make install runs above.
	"$top/mk/install-tree.sh" install "$BUILD/install/stage" "$d" "$m" >/dev/null || return 1
	before=$(snapshot "$d"; cd "$d" && find . -printf '%i %p\n' | LC_ALL=C sort -k2)
	out=$(NTSYNC_INSTALL_FAIL_AFTER=20 "$top/mk/install-tree.sh" install \
		"$BUILD/install/stage" "$d" "$m" 2>&1)
	status=$?
	echo "$out"
	[ $status -ne 0 ] || return 1
	diff -u <(printf '%s\n' "$before") \
		<(snapshot "$d"; cd "$d" && find . -printf '%i %p\n' | LC_ALL=C sort -k2)
}

# Host files a real install would change: none of them may change here.
host_state() {
	sha256sum /etc/ld.so.cache /lib/modules/*/modules.dep 2>/dev/null
	ls -d /usr/local/share/ntsync-nspa /lib/modules/*/updates/ntsync.ko 2>/dev/null
}

# A real install (empty DESTDIR: depmod, ldconfig) and uninstall, in a
# sandbox whose /usr and /etc are overlays over the host's (see
# real-install-sandbox.sh).  One kernel release only: depmod of a whole
# Debian kernel takes about 15 s.
t_real_install_sandbox() {
	local rel=$1 sb=$scratch/sandbox before d
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlayfs)"; return 1; }
	rm -rf "$sb" && mkdir -p "$sb/stage" "$sb/box" || return 1
	cp -a "$BUILD/install/stage/." "$sb/stage/" || return 1
	for d in "$sb/stage/lib/modules/"*; do
		[ "${d##*/}" = "$rel" ] || rm -rf "$d"
	done
	before=$(host_state)
	"$top/tests/install/real-install-sandbox.sh" "$sb/box" "$sb/stage" "$top/mk" "$rel" || return 1
	[ "$before" = "$(host_state)" ] || { echo "the host's own files changed"; return 1; }
}

t_dkms_conf_version() {
	local v
	v=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
	echo "dkms.conf $v, MODULE_VERSION $(module_version)"
	[ -n "$v" ] && [ "$v" = "$(module_version)" ]
}

# dkms.conf's BUILD_EXCLUSIVE_KERNEL admits the kernels CI builds for (the
# 6.12 releases here, a 7.x release) and nothing outside them.
t_dkms_exclusive() {
	local re rel bad=0
	re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' "$top/dkms.conf")
	echo "BUILD_EXCLUSIVE_KERNEL=$re"
	[ -n "$re" ] || return 1
	for rel in "$@" 7.2.13+deb14-rt-amd64 7.0.1-arch1-1 6.12.118+deb12-amd64; do
		grep -Eq -- "$re" <<<"$rel" || { echo "refuses $rel"; bad=1; }
	done
	for rel in 6.1.0-41-amd64 6.11.10-amd64 6.13.2-arch1-1 6.120.1 16.12.1 \
		8.0.0-amd64 5.10.0-35-rt-amd64; do
		! grep -Eq -- "$re" <<<"$rel" || { echo "admits $rel"; bad=1; }
	done
	[ $bad -eq 0 ]
}

# make module KDIR=<tree>: that kernel only, in its own directory.
t_make_kdir() {
	local rel=$1 b=$scratch/kdir-build out
	rm -rf "$b"
	out=$(make -s -C "$top" BUILD="$b" module KDIR="/usr/src/linux-headers-$rel" 2>&1) ||
		{ echo "$out"; return 1; }
	echo "$out"
	[ "$(ls "$b/module")" = "$rel" ] && [ -f "$b/module/$rel/driver/ntsync.ko" ] &&
		[ "$(modinfo -F vermagic "$b/module/$rel/driver/ntsync.ko" | cut -d' ' -f1)" = "$rel" ]
}

# No Debian 6.12 kernel: the running kernel's tree, or a clear error.
t_make_no_kernel() {
	local b=$scratch/nokernel-build out status run
	run=/lib/modules/$(uname -r)/build
	rm -rf "$b"
	out=$(NTSYNC_KERNEL_SERIES=0.0 make -s -C "$top" BUILD="$b" module 2>&1)
	status=$?
	echo "$out (exit $status)"
	if [ -f "$run/Makefile" ]; then
		[ $status -eq 0 ] && [ -f "$b/module/$(uname -r)/driver/ntsync.ko" ]
	else
		[ $status -ne 0 ] && [[ $out == *"no kernel to build the module for"* ]] &&
			[ ! -e "$b/module" ]
	fi
}

t_dkms_build() {
	local rel=$1 dk=$scratch/dkms ver src out status ko before
	command -v dkms >/dev/null ||
		{ echo "dkms is not installed (apt-get install dkms, or scripts/install-deps.sh)"; return 1; }
	ver=$(module_version)
	src=$(make_top dkms-source | tail -n 1) || return 1
	rm -rf "$dk"
	mkdir -p "$dk/source" "$dk/tree" "$dk/installed" "$dk/tmp" "$dk/keys" || return 1
	cp -r "$src" "$dk/source/" || return 1
	before=$(find /lib/modules /var/lib/dkms -name 'ntsync*' 2>/dev/null | LC_ALL=C sort)
	# Own trees and signing key: nothing outside $dk is written.
	out=$(TMPDIR=$dk/tmp mok_signing_key=$dk/keys/mok.key \
		mok_certificate=$dk/keys/mok.pub \
		dkms build -m ntsync-nspa -v "$ver" -k "$rel" \
		--dkmstree "$dk/tree" --sourcetree "$dk/source" \
		--installtree "$dk/installed" \
		--kernelsourcedir "/usr/src/linux-headers-$rel" 2>&1)
	status=$?
	echo "$out" | tail -n 8
	[ $status -eq 0 ] || { tail -n 20 "$dk/tree/ntsync-nspa/$ver/build/make.log" 2>/dev/null; return 1; }
	ko=$(find "$dk/tree/ntsync-nspa/$ver/$rel" -name 'ntsync.ko*' -path '*/module/*' | head -n 1)
	[ -n "$ko" ] || { echo "no module in the DKMS tree"; return 1; }
	echo "built $ko: vermagic $(modinfo -F vermagic "$ko")"
	[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$rel" ] || return 1
	[ -z "$(find "$dk/installed" -mindepth 1 -print -quit)" ] || { echo "dkms installed something"; return 1; }
	[ "$before" = "$(find /lib/modules /var/lib/dkms -name 'ntsync*' 2>/dev/null | LC_ALL=C sort)" ] ||
		{ echo "the host's /lib/modules or /var/lib/dkms changed"; return 1; }
}

# ---- run ----------------------------------------------------------------

start=$(date +%s)
# Leftover mounts from an interrupted run would make rm fail.
for m in "$scratch/readonly" "$scratch/readonly-prefix$PREFIX"; do
	mountpoint -q "$m" 2>/dev/null && umount "$m"
done
rm -rf "$scratch"
mkdir -p "$D"

RELEASES=$(releases | tr '\n' ' ')
FUNCTIONS=$(lib_functions | tr '\n' ' ')
LIBVER=$(lib_version)

check "make install into an empty DESTDIR ($D)" t_install
check "the installed files are exactly the documented list" t_file_list
check "the manifest lists every installed file" t_manifest
check "libntsync: static library, shared library, soname and links" t_library
check "the shared library exports every function of ntsync.h" t_exports
check "pkg-config libntsync points into DESTDIR" t_pkgconfig
for ex in demo rt_waiter channel_server; do
	check "examples/$ex.c compiles and links against the installed files only" t_example "$ex"
done
check "an example links statically (pkg-config --static)" t_example_static
check "<ntsync.h> from DESTDIR compiles with -std=c99/c11/c17 and no feature macro" t_header_strict
if [ -z "$RELEASES" ]; then
	check "a Debian 6.12 kernel with headers is installed" false
fi
for rel in $RELEASES; do
	check "modinfo of the installed module for $rel: name, version, vermagic" t_modinfo "$rel"
	check "updates/ntsync.ko for $rel wins over an in-tree ntsync.ko (depmod -b)" t_updates_precedence "$rel"
done
check "the modules-load.d file loads ntsync" t_modules_load
check "man pages: every function and ioctl family has one and all render without warnings" t_man
check "installed ntsync-stat --check on this host" t_stat_check_host
check "installed ntsync-stat on a fake sysfs: --check, totals, deltas, -l" t_stat_fake_sysfs
check "make install again over the installed tree" t_reinstall
check "make uninstall leaves DESTDIR empty" t_uninstall_empty
check "make uninstall again fails: nothing installed" t_uninstall_twice
if [ "$(wc -w <<<"$RELEASES")" -ge 2 ]; then
	check "install for fewer kernels over an install: one uninstall still removes all" t_reinstall_fewer
fi
check "files already in DESTDIR survive install+uninstall; a changed file is kept" t_foreign_files
check "a foreign linux/ntsync.h in DESTDIR: install refuses, nothing written; uninstall leaves it" t_foreign_header_refused
check "a file of ours replaced after install: install refuses, uninstall keeps it" t_foreign_after_install
check "make install into a read-only DESTDIR fails and writes nothing" t_readonly_destdir
check "make install with a read-only PREFIX writes nothing anywhere" t_readonly_prefix
check "a failure half way through the copy rolls everything back" t_rollback
rel_rt=$("$top/scripts/kernel-release.sh" rt 2>/dev/null)
rel_generic=$("$top/scripts/kernel-release.sh" generic 2>/dev/null)
check "a real install (empty DESTDIR) in an overlay sandbox runs depmod and ldconfig; uninstall undoes it" \
	t_real_install_sandbox "${rel_rt:-no-rt-kernel}"
check "dkms.conf PACKAGE_VERSION equals MODULE_VERSION" t_dkms_conf_version
check "dkms.conf BUILD_EXCLUSIVE_KERNEL admits 6.12 and 7.x only" t_dkms_exclusive $RELEASES
if [ -n "$rel_generic" ]; then
	check "make module KDIR=<$rel_generic headers> builds for that kernel only" \
		t_make_kdir "$rel_generic"
else
	check "make module KDIR=: a Debian 6.12 generic kernel with headers is installed" false
fi
check "make module with no Debian 6.12 kernel: the running kernel's tree or a clear error" \
	t_make_no_kernel
if [ -n "$rel_rt" ]; then
	check "dkms build for $rel_rt in a scratch DKMS tree" t_dkms_build "$rel_rt"
else
	check "dkms build: a Debian 6.12 RT kernel with headers is installed" false
fi

echo "# $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
