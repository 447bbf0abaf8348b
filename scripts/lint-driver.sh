#!/bin/bash
# Style and static checks of the driver; one result line per check:
#   ok - lint.<check>   /   not ok - lint.<check>
# Exit status 0 only when every check is clean.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$("$top/scripts/kernel-source.sh") || exit 1
rel=$("$top/scripts/kernel-release.sh" rt) || exit 1
log=${NTSYNC_BUILD_DIR:-$top/build}/lint
mkdir -p "$log"
failed=0

report() {	# name status logfile
	if [ "$2" -eq 0 ]; then
		echo "ok - lint.$1"
	else
		echo "not ok - lint.$1"
		sed 's/^/# /' "$3" | head -40
		failed=1
	fi
}

sources=$(cd "$top" && ls driver/*.[ch] include/uapi/linux/ntsync.h |
	grep -v '\.mod\.c$')
# shellcheck disable=SC2086
(cd "$top" && "$src/scripts/checkpatch.pl" --no-tree --strict --quiet -f \
	$sources) >"$log/checkpatch.log" 2>&1
report checkpatch $? "$log/checkpatch.log"

# Slab frees only through ntsync_cache.c, whose helpers assert a context
# that may sleep (see its header): a direct one would escape that check.
(cd "$top" && grep -nE '\b(kfree|kvfree|kfree_sensitive|kmem_cache_free)\(' \
	driver/*.c | grep -v '^driver/ntsync_cache\.c:' ||
	true) >"$log/slab-free.log"
[ -s "$log/slab-free.log" ]
report slab_frees_checked $((!$?)) "$log/slab-free.log"

# Each check builds a fresh copy, so every file is compiled and checked.
build_check() {	# name kbuild-args...
	local name=$1
	shift
	rm -rf "$log/$name.tree"
	NTSYNC_BUILD_DIR=$log/$name.tree "$top/scripts/build-module.sh" \
		"$rel" "$@" >"$log/$name.log" 2>&1
	local st=$?
	grep -qE 'warning:|error:' "$log/$name.log" && st=1
	report "$name" $st "$log/$name.log"
}
build_check w1 W=1
build_check sparse C=2 CHECK=sparse W=1

exit $failed
