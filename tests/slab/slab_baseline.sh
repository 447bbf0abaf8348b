#!/bin/sh
# Slab isolation and baseline check, run inside the VM after a suite, when
# no ntsync fd is open any more (busybox sh).  For each dedicated cache:
#   - /sys/kernel/slab/<cache> is a directory of its own, not a symlink to
#     a merged cache (SLAB_NO_MERGE held);
#   - after a shrink (which flushes per-CPU slabs) no object is in use: every
#     allocation of the suite was freed.
# Prints TAP; exits 1 if a check failed.
caches="ntsync_wait_q ntsync_pi_owner ntsync_event_pi ntsync_channel_entry"
n=0
failed=0

result() {	# status name [diagnostic]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - slab.$2"
	else
		echo "not ok $n - slab.$2"
		[ -n "$3" ] && echo "# $3"
		failed=1
	fi
}

echo "TAP version 13"
set -- $caches
echo "1..$(($# * 2))"
for cache in $caches; do
	dir=/sys/kernel/slab/$cache
	if [ -d "$dir" ] && [ ! -L "$dir" ]; then
		result 0 "${cache}_is_not_merged"
	else
		result 1 "${cache}_is_not_merged" "$dir: $(ls -ld "$dir" 2>&1)"
		result 1 "${cache}_back_to_baseline" "no cache to read"
		continue
	fi
	echo 1 >"$dir/shrink" 2>/dev/null
	read -r objects _ <"$dir/objects"
	if [ "$objects" = 0 ]; then
		result 0 "${cache}_back_to_baseline"
	else
		result 1 "${cache}_back_to_baseline" "$objects objects still in use"
	fi
done
exit $failed
