#!/bin/sh
# Guest side of scripts/run-bench.sh (busybox sh): run the benchmark, then
# print its JSON and raw data as a gzipped, base64-encoded tar archive
# between marker lines, which the host cuts out of the console log.
#   bench-guest.sh ACCEL HOST [ntsync-bench options...]
# ACCEL (tcg or kvm) and HOST (a note on the host's load) are recorded in
# the JSON through NTSYNC_VM_ACCEL and NTSYNC_BENCH_HOST.
NTSYNC_VM_ACCEL=${1:-unknown}
NTSYNC_BENCH_HOST=${2:-}
export NTSYNC_VM_ACCEL NTSYNC_BENCH_HOST
[ $# -gt 2 ] && shift 2 || set --

cd /tmp || exit 1
# raw-sections starts up to 10000 threads at once; the default thread limit
# of a 1 GiB guest (about 7700) would stop it short.  A VM-only setting.
if [ "$(cat /proc/sys/kernel/threads-max)" -lt 16384 ]; then
	echo 16384 >/proc/sys/kernel/threads-max
fi
/files/ntsync-bench --json /tmp/bench.json --data-dir /tmp/bench-data "$@"
rc=$?
tar -cf - bench.json bench-data | gzip -9 >/tmp/bench.tgz
# The host checks the archive against this before unpacking it.
echo "@@BENCH archive-sha256 $(sha256sum /tmp/bench.tgz | cut -d' ' -f1)"
echo "@@BENCH archive-begin"
# In bursts with short pauses: a long uninterrupted burst on the emulated
# UART of a loaded host can end in "irq 4: nobody cared".
n=0
base64 /tmp/bench.tgz | while IFS= read -r line; do
	echo "$line"
	n=$((n + 1))
	if [ $((n % 64)) -eq 0 ]; then
		usleep 20000
	fi
done
echo "@@BENCH archive-end"
exit $rc
