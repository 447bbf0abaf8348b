#!/bin/bash
# The benchmark against its peer, upstream's ntsync (issue 15): on Debian's
# 7.x PREEMPT_RT kernel (scripts/kernel7-root.sh), one boot loads upstream's
# in-tree ntsync.ko and the project's module alternately, ROUNDS rounds of
# each (rmmod/insmod between runs; upstream first in odd rounds, ours first
# in even ones), runs ntsync-bench on each (bench/peer-guest.sh), and
# bench/peer-report.py reports every series both drivers ran as the ratio
# ours / upstream of the median over rounds, the growth rows' steepness
# (n=max / n=1) of both, and the targets (figures: a miss never fails the
# run).  Only the scenarios upstream can run are used: floor, handoff-2,
# handoff-4, philosophers, wake-order, inversion (upstream's mutex has no
# PI: its ntsync-pi-off row), growth-wait-any, growth-wait-all, growth-wake.
#
#   scripts/run-bench-peer.sh [--rounds R] [--quick] [--only NAMES] [--kvm]
#                             [--smp N] [--offline] [--ours-ko PATH]
#                             [--peer-ko PATH] [--icount SHIFT]
#                             [-- MORE NTSYNC-BENCH OPTIONS]
#
#   --rounds R   rounds per driver, at least 2 (default 2)
#   --quick      ntsync-bench --quick (small counts)
#   --only NAMES a comma-separated subset of the scenarios above
#   --offline    use the cached 7.x kernels only (kernel7-root.sh --offline)
#   --icount SHIFT  TCG counting instructions (ntsync-vm --icount): every
#                time then reads 2^SHIFT ns per guest instruction, the
#                same from run to run; with --smp 1 a timed call counts
#                its own instructions only (bench/README.md)
#   --ours-ko PATH  "ours" is this module (built for the same 7.x kernel,
#                e.g. from an older commit, for a before/after table)
#                instead of this checkout's build
#   --peer-ko PATH  the peer is this module instead of upstream's (built
#                for the same 7.x kernel; e.g. ours from an older commit,
#                for an A/B of two of our builds in one boot; the table
#                still says "upstream" for it, the JSON names the file)
#
# Output in $NTSYNC_BUILD_DIR/bench (default build/bench):
#   bench-peer.json       environment, both modules' identities, per series
#                         both medians and the ratio, growth steepness,
#                         targets; "status": "not-run" with a "reason" when
#                         the 7.x kernel or upstream's module cannot be had
#   bench-peer-table.txt  the table (also printed)
#   bench-peer.log        the guest console log
#   peer-data/            every run's bench.json and module.txt, runs.txt
# Exit status: 0 when every run ended and the kernel log stayed clean; 1
# otherwise; 3 when the peer run could not start (no 7.x kernel, no
# upstream module; bench-peer.json says why); 2 on a usage error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
out=$build/bench
# shellcheck source=scripts/bench-lib.sh
. "$top/scripts/bench-lib.sh"

usage() {
	# The header comment, from line 2 to the first line that is not one.
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
}

rounds=2
ours_ko=
peer_ko=
quick=0
only=
offline=()
vm_args=()
bench_args=()
accel=tcg
smp=2
while [ $# -gt 0 ]; do
	case $1 in
	--rounds)
		[[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 2 ] ||
			{ echo "run-bench-peer: --rounds wants a number >= 2" >&2; exit 2; }
		rounds=$2; shift 2 ;;
	--quick) quick=1; bench_args+=(--quick); shift ;;
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; only=${only:+$only,}$2; shift 2 ;;
	--kvm) vm_args+=(--kvm); accel=kvm; shift ;;
	--smp) [ $# -ge 2 ] || { usage >&2; exit 2; }; smp=$2; shift 2 ;;
	--icount)
		[[ ${2:-} =~ ^[0-9]+$ ]] ||
			{ echo "run-bench-peer: --icount wants a shift" >&2; exit 2; }
		vm_args+=(--icount "$2"); accel=tcg-icount$2; shift 2 ;;
	--offline) offline=(--offline); shift ;;
	--ours-ko)
		[ -f "${2:-}" ] || { echo "run-bench-peer: --ours-ko wants a module file" >&2; exit 2; }
		ours_ko=$(realpath "$2"); shift 2 ;;
	--peer-ko)
		[ -f "${2:-}" ] || { echo "run-bench-peer: --peer-ko wants a module file" >&2; exit 2; }
		peer_ko=$(realpath "$2"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; bench_args+=("$@"); break ;;
	*) echo "run-bench-peer: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
if [ -n "$only" ]; then
	for name in ${only//,/ }; do
		if [[ ,$peer_scenarios, != *,$name,* ]]; then
			echo "run-bench-peer: $name is not a scenario upstream can run" \
				"($peer_scenarios)" >&2
			exit 2
		fi
	done
else
	only=$peer_scenarios
fi

make -s -C "$top/bench" BUILD="$build"
mkdir -p "$out"
rm -rf "$out/peer-data" "$out/bench-peer.json" "$out/bench-peer-table.txt" \
	"$out/bench-peer.log" "$out/bench-peer.log.summary"

# not_run REASON: record that the peer run could not start, and exit 3.
not_run() {
	echo "run-bench-peer: NOT RUN: $1" >&2
	python3 "$top/bench/peer-report.py" --not-run "$1" \
		--json "$out/bench-peer.json" --table "$out/bench-peer-table.txt"
	exit 3
}

# The 7.x kernels: made or refreshed at most once a day, the cached ones
# otherwise (a failed refresh falls back to them with a warning).
if ! k7=$("$top/scripts/kernel7-root.sh" "${offline[@]+"${offline[@]}"}"); then
	not_run "scripts/kernel7-root.sh could not provide the 7.x kernels"
fi
rel=$(sed -n 's/^rt //p' <<<"$k7")
[ -n "$rel" ] || not_run "scripts/kernel7-root.sh named no 7.x rt kernel"
upstream_ko=$("$top/scripts/kernel7-root.sh" --upstream-ko rt) || upstream_ko=
[ -z "$peer_ko" ] || upstream_ko=$peer_ko
[ -n "$upstream_ko" ] && [ -s "$upstream_ko" ] || not_run "no upstream ntsync.ko for $rel (kernel7-root.sh found none in its packages)"
if [ -z "$ours_ko" ]; then
	ours_ko=$("$top/scripts/build-module.sh" "$rel" | tail -n 1)
elif [ "$(modinfo -F vermagic "$ours_ko" | cut -d' ' -f1)" != "$rel" ]; then
	echo "run-bench-peer: $ours_ko is not built for $rel" >&2
	exit 2
fi

others=$(pgrep -c -x 'qemu-system-x86' || :)
host="$(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg), other QEMUs ${others:-0}"
if [ "${others:-0}" -gt 0 ]; then
	echo "run-bench-peer: warning: $others other QEMU process(es) running; latencies will be noisy" >&2
fi

# Per driver run: about 70 s at full size (2026-12-03, TCG, a loaded host),
# 10 to 30 s with --quick; the timeout leaves a wide margin.
per_run=$([ "$quick" = 1 ] && echo 240 || echo 600)
timeout=$((rounds * 2 * per_run + 180))
echo "# bench-peer: $rel, $rounds rounds of upstream's module and ours," \
	"about $([ "$quick" = 1 ] && echo "half a minute" || echo "1 to 2 minutes") per run" >&2
start=$(date +%s)
vm_rc=0
"$top/vm/ntsync-vm" --kernel rt7 --log "$out/bench-peer.log" --smp "$smp" \
	--timeout "$timeout" --prog-timeout $((timeout - 60)) --quiet \
	--progress "${NTSYNC_PROGRESS_FD:-2}:bench-peer" \
	"${vm_args[@]+"${vm_args[@]}"}" \
	--file "$build/bench/ntsync-bench:/files/ntsync-bench" \
	--file "$top/bench/guest-lib.sh:/files/guest-lib.sh" \
	--file "$ours_ko:/files/ntsync-ours.ko" \
	--file "$upstream_ko:/files/ntsync-upstream.ko" \
	-- "$top/bench/peer-guest.sh" "$accel" "$host" "$rounds" \
	--only "$only" "${bench_args[@]+"${bench_args[@]}"}" ||
	vm_rc=$?
seconds=$(($(date +%s) - start))
grep -E '^peer-guest: .*error|^ntsync-bench: .*error' "$out/bench-peer.log" >&2 || :

mkdir -p "$out/peer-data"
if ! bench_extract_archive "$out/bench-peer.log" "$out/peer-data"; then
	vm_rc=1
fi
verdict=$([ "$vm_rc" -eq 0 ] && echo PASS || echo FAIL)
report_rc=0
python3 "$top/bench/peer-report.py" --dir "$out/peer-data/peer" \
	--rounds "$rounds" --ours-ko "$ours_ko" --upstream-ko "$upstream_ko" \
	--kernel-release "$rel" --host "$host" --vm-verdict "$verdict" \
	--seconds "$seconds" --json "$out/bench-peer.json" \
	--table "$out/bench-peer-table.txt" || report_rc=$?
[ -s "$out/bench-peer-table.txt" ] && cat "$out/bench-peer-table.txt"
echo
echo "run-bench-peer: JSON $out/bench-peer.json, log $out/bench-peer.log," \
	"${seconds} s in the VM (VM verdict: $verdict)"
[ "$report_rc" -eq 0 ] || vm_rc=1
exit "$([ "$vm_rc" -eq 0 ] && echo 0 || echo 1)"
