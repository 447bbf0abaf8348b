#!/bin/bash
# Where a contended scenario's ioctls sleep: on the 7.x PREEMPT_RT kernel,
# one boot loads upstream's ntsync.ko and ours in turn and runs one
# ntsync-bench scenario under ioctl entry/exit and sched_switch events
# (bench/profile/ioctl-sleeps.sh); per driver, round and ioctl command it
# prints calls, calls that slept or were preempted, and mean time in the
# call.  A tool for issue 16 (why a WAIT_ALL costs a sleep more often than
# upstream's); the figures are TCG figures, compare drivers, not hosts.
#   scripts/run-ioctl-sleeps.sh [--rounds N] [--offline] [SCENARIO [ntsync-bench options...]]
# Default: 3 rounds of "philosophers --trials 2 --trial-ms 500" (about
# 6 minutes).  Output: build/bench/ioctl-sleeps.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
out=$build/bench
# shellcheck source=scripts/bench-lib.sh
. "$top/scripts/bench-lib.sh"
rounds=3
offline=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds)
		[[ ${2:-} =~ ^[0-9]+$ ]] || { echo "run-ioctl-sleeps: --rounds wants a number" >&2; exit 2; }
		rounds=$2; shift 2 ;;
	--offline) offline=--offline; shift ;;
	-h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
scenario=${1:-philosophers}
[ $# -gt 0 ] && shift
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--trials 2 --trial-ms 500)

upstream_ko=''
ours_ko=''
bench_k7_pair "$top" "$build" "$offline"
# The summary is made in the guest: a whole trace on the emulated serial
# console is slow and can end in "irq 4: nobody cared".
"$top/vm/ntsync-vm" --kernel rt7 --mem 2G --quiet --log "$out/ioctl-sleeps.log" \
	--timeout $((rounds * 2 * 200 + 120)) --prog-timeout $((rounds * 2 * 200 + 60)) \
	--file "$build/bench/ntsync-bench:/files/ntsync-bench" \
	--file "$ours_ko:/files/ntsync-ours.ko" \
	--file "$upstream_ko:/files/ntsync-upstream.ko" \
	-- "$top/bench/profile/ioctl-sleeps.sh" "$rounds" "$scenario" "${bench_args[@]}" || :
"$top/vm/ntsync-vm" --extract ioctl-sleeps.sh "$out/ioctl-sleeps.log" |
	tee "$out/ioctl-sleeps.txt"
grep -q '^verdict=pass' "$out/ioctl-sleeps.log.summary"
