#!/bin/bash
# The benchmark suite (issue 7): build ntsync.ko for Debian's PREEMPT_RT
# kernel, boot it in QEMU with vm/ntsync-vm, run build/bench/ntsync-bench
# in the guest, bring its JSON and raw samples back out through the console
# log, plot them with gnuplot and print the table.
#
#   scripts/run-bench.sh [--quick] [--kvm] [--smp N] [--only NAMES]
#                        [--kernel rt|generic] [-- MORE NTSYNC-BENCH OPTIONS]
#
# Output in $NTSYNC_BUILD_DIR/bench (default build/bench):
#   bench.json       summaries, targets and environment
#   bench-table.txt  the table printed below
#   data/            raw samples, one file per series (+ per-scenario summaries)
#   *.svg, *.png     latency CDFs and growth curves
#   bench.log        the guest console log
# Exit status: that of the VM run (0 when the benchmark ran to its end and
# the kernel log stayed clean).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
out=$build/bench

usage() {
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
}

bench_args=()
vm_args=()
accel=tcg
smp=2
flavour=rt
while [ $# -gt 0 ]; do
	case $1 in
	--quick) bench_args+=(--quick); shift ;;
	--kvm) vm_args+=(--kvm); accel=kvm; shift ;;
	--smp) [ $# -ge 2 ] || { usage >&2; exit 2; }; smp=$2; shift 2 ;;
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; bench_args+=(--only "$2"); shift 2 ;;
	--kernel)
		case ${2:-} in
		rt | generic) flavour=$2; shift 2 ;;
		*) usage >&2; exit 2 ;;
		esac ;;
	-h | --help) usage; exit 0 ;;
	--) shift; bench_args+=("$@"); break ;;
	*) echo "run-bench: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

rel=$("$top/scripts/kernel-release.sh" "$flavour")
module=$("$top/scripts/build-module.sh" "$rel" | tail -n 1)
make -s -C "$top/bench" BUILD="$build"

mkdir -p "$out"
rm -rf "$out/data" "$out/bench-data" "$out"/*.svg "$out"/*.png "$out/bench.json" "$out/bench-table.txt"
log=$out/bench.log

# Other VMs on this host steal its CPUs from ours, and under TCG that shows
# in every cross-CPU wake-up: record the load the run started with.
others=$(pgrep -c -x 'qemu-system-x86' || :)
host="$(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg), other QEMUs ${others:-0}"
if [ "${others:-0}" -gt 0 ]; then
	echo "run-bench: warning: $others other QEMU process(es) running; latencies will be noisy" >&2
fi

echo "run-bench: booting $rel ($accel, $smp vCPUs) with $module" >&2
vm_rc=0
"$top/vm/ntsync-vm" --module "$module" --log "$log" --smp "$smp" \
	--kernel "$flavour" --timeout 290 --prog-timeout 270 --quiet \
	"${vm_args[@]+"${vm_args[@]}"}" \
	--file "$build/bench/ntsync-bench:/files/ntsync-bench" \
	-- "$top/bench/bench-guest.sh" "$accel" "$host" "${bench_args[@]+"${bench_args[@]}"}" ||
	vm_rc=$?

section=$(mktemp)
trap 'rm -f "$section"' EXIT
if ! "$top/vm/ntsync-vm" --extract bench-guest.sh "$log" >"$section"; then
	echo "run-bench: no benchmark output in $log" >&2
	exit 1
fi

# The table: from its title to the first archive marker.
sed -n '/^ntsync-bench results/,/^@@BENCH /p' "$section" |
	sed '/^@@BENCH /d' >"$out/bench-table.txt"
# Errors and progress lines of the benchmark, for the record.
grep '^ntsync-bench: .*error' "$section" >&2 || :

# The archive, from the raw log: kernel console lines ("[ seconds.micros]
# ...") may be printed in the middle of one of its lines, so cut them out
# and join what is left (base64 has no '[').
archive=$out/bench.tgz
awk '
	/^@@BENCH archive-begin/ { on = 1; next }
	/^@@BENCH archive-end/ { on = 0; next }
	on {
		sub(/\r$/, "")
		if ($0 ~ /^\[ *[0-9]+\.[0-9]+\]/)
			next
		sub(/\[ *[0-9]+\.[0-9]+\].*$/, "")
		printf "%s", $0
	}' "$log" | base64 -d >"$archive" 2>/dev/null || :
want=$(sed -n 's/^@@BENCH archive-sha256 \([0-9a-f]*\).*/\1/p' "$log" | tail -n 1)
got=$(sha256sum "$archive" | cut -d' ' -f1)
if [ -n "$want" ] && [ "$want" = "$got" ] && tar -xzf "$archive" -C "$out"; then
	mv "$out/bench-data" "$out/data"
	gnuplot -e "datadir='$out/data'; outdir='$out'" "$top/bench/plots.gp"
else
	echo "run-bench: the results archive in $log is missing or damaged" \
		"(sha256 ${want:-none} expected, $got read)" >&2
	vm_rc=1
fi
rm -f "$archive"

cat "$out/bench-table.txt"
echo
echo "run-bench: JSON $out/bench.json, plots $out/*.svg, log $log" \
	"(VM verdict: $([ "$vm_rc" -eq 0 ] && echo PASS || echo FAIL))"
[ "$vm_rc" -ne 0 ] || "$top/scripts/readme-bench-table.sh" "$out/bench.json" || vm_rc=1
exit "$vm_rc"
