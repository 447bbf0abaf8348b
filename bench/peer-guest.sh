#!/bin/sh
# Guest side of scripts/run-bench-peer.sh (busybox sh): in one boot, load
# upstream's ntsync.ko and the project's in turn, ROUNDS rounds of each
# (upstream first in odd rounds, ours first in even ones), run ntsync-bench
# on each, unload it, and print every run's JSON as one archive (between
# marker lines, see bench/guest-lib.sh) that the host cuts out of the
# console log.
#   peer-guest.sh ACCEL HOST ROUNDS [ntsync-bench options...]
# The modules are /files/ntsync-upstream.ko and /files/ntsync-ours.ko (both
# named ntsync).  The archive holds peer/<driver>-<round>/bench.json,
# peer/<driver>-<round>/module.txt (what sysfs said of the loaded module)
# and peer/runs.txt (one line per run: driver, round, order, exit status of
# ntsync-bench, seconds).  A failed insmod or rmmod, or a /dev/ntsync that
# is there when it should not be, ends the rounds: exit status 1, and what
# ran so far is shipped.  ntsync-bench's own failure (a series in error)
# makes the exit status 1 too but the rounds go on.
NTSYNC_VM_ACCEL=${1:-unknown}
NTSYNC_BENCH_HOST=${2:-}
rounds=${3:-2}
export NTSYNC_VM_ACCEL NTSYNC_BENCH_HOST
[ $# -gt 3 ] && shift 3 || set --
. /files/guest-lib.sh

say() {
	echo "peer-guest: $*"
}

cd /tmp || exit 1
raise_threads_max
rm -rf /tmp/peer
mkdir -p /tmp/peer
: >/tmp/peer/runs.txt

# run_one DRIVER ROUND ORDER [ntsync-bench options...]: 0, or 1 when the
# module could not be loaded or unloaded cleanly (stop the rounds).
bench_failed=0
run_one() {
	drv=$1 round=$2 order=$3
	shift 3
	if [ "$drv" = ours ]; then
		what="our module"
	else
		what="upstream's module"
	fi
	dir=/tmp/peer/$drv-$round
	mkdir -p "$dir"
	if grep -q '^ntsync ' /proc/modules || [ -e /dev/ntsync ]; then
		say "error: an ntsync module or /dev/ntsync is already there before loading $what"
		return 1
	fi
	began=$(date +%s)
	if ! insmod "/files/ntsync-$drv.ko"; then
		say "error: insmod of $what failed (round $round)"
		return 1
	fi
	if [ ! -c /dev/ntsync ]; then
		say "error: no /dev/ntsync after loading $what"
		rmmod ntsync
		return 1
	fi
	{
		echo "driver=$drv"
		echo "round=$round"
		echo "version=$(cat /sys/module/ntsync/version 2>/dev/null || echo none)"
		echo "srcversion=$(cat /sys/module/ntsync/srcversion 2>/dev/null || echo none)"
		echo "parameters=$(ls /sys/module/ntsync/parameters 2>/dev/null | tr '\n' ' ')"
	} >"$dir/module.txt"
	say "round $round: $what loaded ($(tr '\n' ' ' <"$dir/module.txt"))"
	/files/ntsync-bench --json "$dir/bench.json" "$@"
	brc=$?
	[ "$brc" -eq 0 ] || bench_failed=1
	if ! rmmod ntsync; then
		say "error: rmmod of $what failed (round $round)"
		return 1
	fi
	if [ -e /dev/ntsync ]; then
		say "error: /dev/ntsync still there after unloading $what"
		return 1
	fi
	echo "driver=$drv round=$round order=$order bench_rc=$brc" \
		"seconds=$(($(date +%s) - began))" >>/tmp/peer/runs.txt
	say "round $round: $what done (ntsync-bench rc=$brc)"
	return 0
}

rc=0
r=1
while [ "$r" -le "$rounds" ] && [ "$rc" -eq 0 ]; do
	if [ $((r % 2)) -eq 1 ]; then
		order="upstream ours"
	else
		order="ours upstream"
	fi
	i=1
	for drv in $order; do
		if ! run_one "$drv" "$r" "$i" "$@"; then
			rc=1
			break
		fi
		i=$((i + 1))
	done
	r=$((r + 1))
done
[ "$bench_failed" -eq 0 ] || rc=1
ship_archive peer
exit $rc
