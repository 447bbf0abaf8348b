#!/bin/sh
# Guest side of scripts/run-bench.sh (busybox sh): run the benchmark, then
# print its JSON and raw data as a gzipped, base64-encoded tar archive
# between marker lines, which the host cuts out of the console log.
#   bench-guest.sh ACCEL HOST [ntsync-bench options...]
# ACCEL (tcg or kvm) and HOST (a note on the host's load) are recorded in
# the JSON through NTSYNC_VM_ACCEL and NTSYNC_BENCH_HOST.  Needs
# /files/guest-lib.sh (bench/guest-lib.sh).
NTSYNC_VM_ACCEL=${1:-unknown}
NTSYNC_BENCH_HOST=${2:-}
export NTSYNC_VM_ACCEL NTSYNC_BENCH_HOST
[ $# -gt 2 ] && shift 2 || set --
. /files/guest-lib.sh

cd /tmp || exit 1
raise_threads_max
/files/ntsync-bench --json /tmp/bench.json --data-dir /tmp/bench-data "$@"
rc=$?
ship_archive bench.json bench-data
exit $rc
