#!/bin/sh
# Guest side of scripts/run-soak.sh (busybox sh, inside the VM): run one
# test program N times in a row in this boot, stopping at the first
# failure.  After each run no boost record may be left (every thread of the
# program has exited, so every boost has ended or its record was retired
# with its task).  Prints one line per run and TAP-style totals.
#   repeat.sh N PROGRAM [ARGS...]
n=${1:?usage: repeat.sh N PROGRAM [ARGS...]}
shift
prog=/bin/ntsync-progs/$1
shift
records=/sys/class/misc/ntsync/stats/pi_records
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	start=$(date +%s)
	if ! "$prog" "$@" >/tmp/repeat.out 2>&1; then
		echo "repeat: $(basename "$prog") run $i of $n FAILED"
		cat /tmp/repeat.out
		exit 1
	fi
	left=$(cat "$records")
	if [ "$left" != 0 ]; then
		echo "repeat: $(basename "$prog") run $i of $n left $left boost records"
		exit 1
	fi
	echo "repeat: $(basename "$prog") run $i of $n ok ($(( $(date +%s) - start )) s, pi_records 0)"
done
echo "repeat: $(basename "$prog") $n runs in a row passed"
