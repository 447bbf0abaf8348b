#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install-tree.sh: copy a staged install tree into DESTDIR with a manifest,
# or remove exactly what the manifest lists.  Used by mk/install.mk.
#
#   install-tree.sh install STAGE DESTDIR MANIFEST
#   install-tree.sh uninstall DESTDIR MANIFEST
#
# STAGE     a directory whose contents mirror the target's root: the file
#           STAGE/usr/local/bin/x is installed as DESTDIR/usr/local/bin/x
# DESTDIR   "" for a real install into /
# MANIFEST  absolute path of the manifest on the target, kept at
#           DESTDIR/MANIFEST
#
# install: every directory that must be written is checked first; if one is
# not writable (permissions, read-only file system, a file in the way),
# nothing is touched and the reasons are printed.  A file is only ever
# replaced if an earlier install put it there and it is unchanged since
# (the manifest says so): any other file already at a destination (say the
# kernel's own linux/ntsync.h under PREFIX=/usr) stops the install before
# anything is written, with the list of such files.  Files are copied to a
# temporary name next to their destination and renamed over it; a file
# being replaced is kept as a hard-linked backup until the end.  Any failure
# rolls back everything this run did.
#
# Manifest lines (tab-separated, the path always last):
#   f <sha256> <path>     a regular file install put there
#   l <target> <path>     a symbolic link
#   d <path>              a directory install created (removed when empty)
# A new install over an old one keeps the old entries that still exist (a
# module for a kernel release no longer built, directories created then),
# so one uninstall removes everything.
#
# uninstall: removes each listed file or link only if it is still what
# install put there (same checksum / link target), warns about the others,
# removes the manifest, then every listed directory that is now empty.
#
# NTSYNC_INSTALL_FAIL_AFTER=N (tests only) makes install fail after N
# files, to prove the rollback.
#
# With an empty DESTDIR, depmod runs for each kernel release whose module
# changed and ldconfig runs when a shared library changed.
set -euo pipefail

prog=install-tree.sh
TAB=$'\t'

die() {
	echo "$prog: $*" >&2
	exit 1
}

# Nearest existing ancestor of a path (the path itself if it exists).
existing_ancestor() {
	local p=$1
	while [ ! -e "$p" ] && [ ! -L "$p" ]; do
		p=$(dirname "$p")
	done
	printf '%s\n' "$p"
}

# Why a file cannot be created in or removed from directory $1, or nothing.
dir_unwritable_reason() {
	local d=$1
	if [ ! -d "$d" ]; then
		echo "$d is not a directory"
	elif [ ! -w "$d" ] || [ ! -x "$d" ]; then
		# access(2) says no for read-only file systems as well as modes.
		if findmnt -n -o OPTIONS --target "$d" 2>/dev/null |
			grep -qE '(^|,)ro(,|$)'; then
			echo "$d is on a read-only file system"
		else
			echo "$d is not writable by $(id -un) (uid $(id -u))"
		fi
	fi
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# Release names from module paths .../modules/<release>/updates/<x>.ko
releases_of() {
	local p
	for p in "$@"; do
		if [[ $p =~ ^(/usr)?/lib/modules/([^/]+)/updates/[^/]+\.ko$ ]]; then
			echo "${BASH_REMATCH[2]}"
		fi
	done | sort -u
}

# depmod/ldconfig after a real install or uninstall.  $@: changed paths.
post_actions() {
	local rel need_ldconfig=0 p status=0
	for rel in $(releases_of "$@"); do
		[ -d "/lib/modules/$rel" ] || continue
		echo "depmod -a $rel"
		depmod -a "$rel" || status=1
	done
	for p in "$@"; do
		[[ $p == *.so || $p == *.so.* ]] && need_ldconfig=1
	done
	if [ $need_ldconfig -eq 1 ]; then
		echo "ldconfig"
		ldconfig || status=1
	fi
	[ $status -eq 0 ] || die "files are in place, but depmod/ldconfig failed"
}

# Read a manifest into the arrays m_type, m_data, m_path.
read_manifest() {
	local file=$1 type data path line
	m_type=() m_data=() m_path=()
	while IFS= read -r line; do
		[[ -z $line || $line == \#* ]] && continue
		IFS=$TAB read -r type data path <<<"$line"
		if [ "$type" = d ]; then
			path=$data
			data=
		fi
		case $type in
		f | l | d) ;;
		*) die "$file: bad line: $line" ;;
		esac
		[[ $path == /* ]] || die "$file: bad path: $line"
		m_type+=("$type") m_data+=("$data") m_path+=("$path")
	done <"$file"
}

# ---- install -----------------------------------------------------------

# Whether the file or link $1 is what an earlier install put there: $2 is
# its manifest entry ("f<TAB>sha256" or "l<TAB>target"), empty if none.
is_ours() {
	local t=$1 entry=$2
	case ${entry%%"$TAB"*} in
	f) [ -f "$t" ] && [ ! -L "$t" ] && [ "$(sha_of "$t")" = "${entry#*"$TAB"}" ] ;;
	l) [ -L "$t" ] && [ "$(readlink "$t")" = "${entry#*"$TAB"}" ] ;;
	*) return 1 ;;
	esac
}

created=()	# paths this run created, in order
backups=()	# "<target><TAB><backup>" for files this run replaced
committing=0

rollback() {
	local i entry target backup
	[ $committing -eq 1 ] || return 0
	committing=0
	echo "$prog: rolling back" >&2
	for ((i = ${#backups[@]} - 1; i >= 0; i--)); do
		entry=${backups[i]}
		target=${entry%%"$TAB"*}
		backup=${entry#*"$TAB"}
		mv -fT "$backup" "$target" 2>/dev/null || true
	done
	for ((i = ${#created[@]} - 1; i >= 0; i--)); do
		if [ -d "${created[i]}" ] && [ ! -L "${created[i]}" ]; then
			rmdir "${created[i]}" 2>/dev/null || true
		else
			rm -f "${created[i]}"
		fi
	done
}

fail() {
	echo "$prog: $*" >&2
	rollback
	die "install failed; nothing was installed"
}

# Copy one staged entry to its destination (temporary name, then rename).
commit_entry() {
	local src=$1 target=$2 dir tmp backup
	dir=$(dirname "$target")
	tmp="$dir/.ntsync-nspa-new.$$.$(basename "$target")"
	if [ -L "$src" ]; then
		ln -s "$(readlink "$src")" "$tmp" || fail "cannot create $tmp"
	else
		cp --preserve=mode,timestamps "$src" "$tmp" ||
			{ rm -f "$tmp"; fail "cannot copy to $tmp"; }
	fi
	if [ -e "$target" ] || [ -L "$target" ]; then
		backup="$dir/.ntsync-nspa-old.$$.$(basename "$target")"
		ln -P "$target" "$backup" ||
			{ rm -f "$tmp"; fail "cannot keep a backup of $target"; }
		backups+=("$target$TAB$backup")
	else
		created+=("$target")
	fi
	mv -fT "$tmp" "$target" || { rm -f "$tmp"; fail "cannot rename $tmp to $target"; }
}

do_install() {
	local stage=$1 dest=$2 manifest=$3
	local mf=$dest$manifest mdir=${manifest%/*}
	local -a dirs=() items=() problems=()
	local -A seen_problem=() new_paths=() new_dirs=() owned=()
	local -a foreign=()
	local p t parent reason anc i

	[ -d "$stage" ] || die "no staged tree at $stage"
	[[ $manifest == /* ]] || die "manifest path must be absolute: $manifest"
	if [ -n "$dest" ]; then
		dest=$(realpath -m "$dest")
		mf=$dest$manifest
	fi
	mkdir -p "$stage$mdir"

	# An earlier install's manifest: what may be replaced, and merged into
	# the new one below.  Read now, so that a damaged one stops the install
	# before it starts.
	m_type=() m_data=() m_path=()
	[ ! -f "$mf" ] || read_manifest "$mf"
	for i in "${!m_type[@]}"; do
		owned[${m_path[i]}]=${m_type[i]}$TAB${m_data[i]}
	done

	mapfile -t dirs < <(cd "$stage" && find . -mindepth 1 -type d | sed 's|^\.||' | LC_ALL=C sort)
	mapfile -t items < <(cd "$stage" && find . -mindepth 1 ! -type d | sed 's|^\.||' | LC_ALL=C sort)
	[ ${#items[@]} -gt 0 ] || die "staged tree $stage is empty"

	# -- Check everything before touching anything.
	add_problem() {
		if [ -z "${seen_problem[$1]:-}" ]; then
			seen_problem[$1]=1
			problems+=("$1")
		fi
	}
	# A path to be created needs its nearest existing ancestor writable;
	# a file to be replaced needs its directory writable.
	for p in "" "${dirs[@]}" "${items[@]}" "$manifest"; do
		t=$dest$p
		[ -n "$t" ] || continue
		if [ -e "$t" ] || [ -L "$t" ]; then
			if [ -z "$p" ] || [ -d "$stage$p" ]; then
				# DESTDIR or a directory: nothing to write here.
				[ -d "$t" ] || add_problem "$t exists and is not a directory"
				continue
			fi
			if [ -d "$t" ] && [ ! -L "$t" ]; then
				add_problem "$t is a directory, a file is to be installed there"
				continue
			fi
			[ "$p" = "$manifest" ] || is_ours "$t" "${owned[$p]:-}" ||
				foreign+=("$t")
			parent=$(dirname "$t")
		else
			parent=$(existing_ancestor "$(dirname "$t")")
		fi
		reason=$(dir_unwritable_reason "$parent")
		[ -z "$reason" ] || add_problem "$reason"
	done
	if [ ${#foreign[@]} -gt 0 ]; then
		echo "$prog: these files are in the way and were not installed by" \
			"ntsync-nspa (or changed since); they are never overwritten:" >&2
		printf '  %s\n' "${foreign[@]}" >&2
		echo "  Move them away, or install elsewhere (PREFIX=..., DESTDIR=...)." >&2
		case " ${foreign[*]} " in
		*/include/linux/ntsync.h\ *)
			echo "  linux/ntsync.h is probably the kernel's own header" \
				"(linux-libc-dev): keep PREFIX=/usr/local, whose" \
				"include directory is searched first." >&2
			;;
		esac
		die "nothing was installed"
	fi
	if [ ${#problems[@]} -gt 0 ]; then
		echo "$prog: cannot install into ${dest:-/}:" >&2
		printf '  %s\n' "${problems[@]}" >&2
		die "nothing was installed"
	fi

	# -- Commit.
	committing=1
	trap 'fail "interrupted"' INT TERM HUP

	if [ -n "$dest" ] && [ ! -d "$dest" ]; then
		anc=$(existing_ancestor "$dest")
		local -a chain=()
		p=$dest
		while [ "$p" != "$anc" ]; do
			chain=("$p" "${chain[@]}")
			p=$(dirname "$p")
		done
		for p in "${chain[@]}"; do
			mkdir -m 755 "$p" || fail "cannot create $p"
			created+=("$p")
		done
	fi
	for p in "${dirs[@]}"; do
		t=$dest$p
		[ -d "$t" ] && continue
		mkdir -m 755 "$t" || fail "cannot create directory $t"
		created+=("$t")
		new_dirs[$p]=1
	done
	for p in "${items[@]}"; do
		# Test hook: fail after that many files (tests/install).
		if [ -n "${NTSYNC_INSTALL_FAIL_AFTER:-}" ] &&
			[ ${#new_paths[@]} -ge "$NTSYNC_INSTALL_FAIL_AFTER" ]; then
			fail "failure injected by NTSYNC_INSTALL_FAIL_AFTER"
		fi
		commit_entry "$stage$p" "$dest$p"
		new_paths[$p]=1
	done

	# -- The manifest: this install, plus what an earlier one left.
	local tmpm
	tmpm=$(mktemp) || fail "cannot create a temporary file"
	{
		echo "# ntsync-nspa install manifest: what \"make install\" put here."
		echo "# \"make uninstall\" with the same DESTDIR and PREFIX removes it."
		for p in "${items[@]}"; do
			if [ -L "$stage$p" ]; then
				printf 'l\t%s\t%s\n' "$(readlink "$stage$p")" "$p"
			else
				printf 'f\t%s\t%s\n' "$(sha_of "$stage$p")" "$p"
			fi
		done
		for i in "${!m_type[@]}"; do
			p=${m_path[i]}
			case ${m_type[i]} in
			f | l)
				[ -z "${new_paths[$p]:-}" ] || continue
				[ -e "$dest$p" ] || [ -L "$dest$p" ] || continue
				printf '%s\t%s\t%s\n' "${m_type[i]}" "${m_data[i]}" "$p"
				;;
			d)
				[ ! -d "$dest$p" ] || new_dirs[$p]=1
				;;
			esac
		done
		for p in "${!new_dirs[@]}"; do
			printf 'd\t%s\n' "$p"
		done | LC_ALL=C sort -r -t"$TAB" -k2
	} >"$tmpm" || fail "cannot write the manifest"
	chmod 644 "$tmpm"
	commit_entry "$tmpm" "$mf"
	rm -f "$tmpm"

	# -- Done: drop the backups.
	committing=0
	trap - INT TERM HUP
	for p in "${backups[@]}"; do
		rm -f "${p#*"$TAB"}"
	done
	echo "installed ${#items[@]} files into ${dest:-/} (manifest: $mf)"
	[ -n "$dest" ] || post_actions "${items[@]}"
}

# ---- uninstall ---------------------------------------------------------

do_uninstall() {
	local dest=$1 manifest=$2 mf i p t reason kept=0 gone=0 removed=0
	local -a problems=() changed=()
	local -A seen_problem=()

	[[ $manifest == /* ]] || die "manifest path must be absolute: $manifest"
	[ -z "$dest" ] || dest=$(realpath -m "$dest")
	mf=$dest$manifest
	[ -f "$mf" ] || die "no manifest at $mf: nothing installed there (same DESTDIR and PREFIX as for make install?)"
	read_manifest "$mf"

	# Every file to remove must be removable before anything goes.
	for p in "${m_path[@]}" "$manifest"; do
		t=$dest$p
		[ -e "$t" ] || [ -L "$t" ] || continue
		[ -d "$t" ] && [ ! -L "$t" ] && continue
		reason=$(dir_unwritable_reason "$(dirname "$t")")
		if [ -n "$reason" ] && [ -z "${seen_problem[$reason]:-}" ]; then
			seen_problem[$reason]=1
			problems+=("$reason")
		fi
	done
	if [ ${#problems[@]} -gt 0 ]; then
		echo "$prog: cannot uninstall from ${dest:-/}:" >&2
		printf '  %s\n' "${problems[@]}" >&2
		die "nothing was removed"
	fi

	for i in "${!m_type[@]}"; do
		p=${m_path[i]}
		t=$dest$p
		case ${m_type[i]} in
		f)
			if [ ! -e "$t" ] && [ ! -L "$t" ]; then
				gone=$((gone + 1))
			elif [ -f "$t" ] && [ ! -L "$t" ] && [ "$(sha_of "$t")" = "${m_data[i]}" ]; then
				rm -f "$t"
				removed=$((removed + 1))
				changed+=("$p")
			else
				echo "$prog: $t changed since it was installed: left in place" >&2
				kept=$((kept + 1))
			fi
			;;
		l)
			if [ ! -L "$t" ] && [ ! -e "$t" ]; then
				gone=$((gone + 1))
			elif [ -L "$t" ] && [ "$(readlink "$t")" = "${m_data[i]}" ]; then
				rm -f "$t"
				removed=$((removed + 1))
				changed+=("$p")
			else
				echo "$prog: $t changed since it was installed: left in place" >&2
				kept=$((kept + 1))
			fi
			;;
		esac
	done
	rm -f "$mf"
	# Deepest first: the manifest lists them in reverse order already.
	for i in "${!m_type[@]}"; do
		[ "${m_type[i]}" = d ] || continue
		t=$dest${m_path[i]}
		if [ ! -d "$t" ] || [ -L "$t" ]; then
			continue
		fi
		rmdir "$t" 2>/dev/null || echo "$prog: $t is not empty: left in place" >&2
	done
	echo "removed $removed files from ${dest:-/}" \
		"($gone already gone, $kept changed and left)"
	[ -n "$dest" ] || post_actions "${changed[@]}"
}

case ${1:-} in
install)
	[ $# -eq 4 ] || die "usage: $prog install STAGE DESTDIR MANIFEST"
	do_install "$2" "$3" "$4"
	;;
uninstall)
	[ $# -eq 3 ] || die "usage: $prog uninstall DESTDIR MANIFEST"
	do_uninstall "$2" "$3"
	;;
*)
	die "usage: $prog install STAGE DESTDIR MANIFEST | uninstall DESTDIR MANIFEST"
	;;
esac
