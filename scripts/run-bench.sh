#!/bin/bash
# The benchmark suite (issue 7): build ntsync.ko for Debian's PREEMPT_RT
# kernel, boot it in QEMU with vm/ntsync-vm, run build/bench/ntsync-bench
# in the guest, bring its JSON and raw samples back out through the console
# log, plot them with gnuplot and print the table.  Then, unless
# --no-generic-inversion, boot the generic kernel (module built for it) and
# run the inversion scenario there too (issue 13): its rows and targets are
# added to the table and the JSON, labelled "generic".  Last, unless
# --no-latency-trace, --quick (pass --latency-trace to have it anyway),
# --only or --kernel generic: scripts/run-latency-trace.sh (issue 13: the
# debug kernel's preempt/irqs-off latency tracer under a hostile program;
# latency-trace.json, latency-trace.txt).  Then, unless --no-peer, --quick
# (pass --peer to have it anyway) or --kernel generic: the peer run,
# scripts/run-bench-peer.sh (issue 15: upstream's ntsync.ko and ours in
# alternate rounds in one boot of Debian's 7.x PREEMPT_RT kernel, ratios
# ours / upstream; bench-peer.json, bench-peer-table.txt; --peer-rounds R
# rounds of each, default 2), on the scenarios of --only that upstream can
# run.  When the 7.x kernel cannot be had (scripts/kernel7-root.sh), it
# says so and the peer part is marked NOT RUN (in bench-peer.json and on
# the last line) without failing the run.
#
#   scripts/run-bench.sh [--quick] [--kvm] [--smp N] [--only NAMES]
#                        [--kernel rt|generic] [--no-generic-inversion]
#                        [--no-latency-trace | --latency-trace]
#                        [--no-peer | --peer] [--peer-rounds R]
#                        [-- MORE NTSYNC-BENCH OPTIONS]
#
# Output in $NTSYNC_BUILD_DIR/bench (default build/bench):
#   bench.json       summaries, targets and environment (every scenario
#                    carries "kernel": "rt" or "generic"; "runs" lists the
#                    boots)
#   bench-table.txt  the table printed below (one block per boot)
#   data/            raw samples, one file per series (+ per-scenario summaries)
#   data-generic/    the same for the generic kernel's inversion run
#   *.svg, *.png     latency CDFs and growth curves (first boot)
#   bench.log        the guest console log (bench-generic.log: the second)
#   latency-trace*   scripts/run-latency-trace.sh's output
#   bench-peer*, peer-data/  scripts/run-bench-peer.sh's output
# Exit status: 0 when every boot ran the benchmark to its end and the kernel
# log stayed clean.
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

bench_args=()
vm_args=()
accel=tcg
smp=2
flavour=rt
only=
generic_inversion=1
latency_trace=
peer=
peer_rounds=2
more_args=()
quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) bench_args+=(--quick); quick=1; shift ;;
	--kvm) vm_args+=(--kvm); accel=kvm; shift ;;
	--smp) [ $# -ge 2 ] || { usage >&2; exit 2; }; smp=$2; shift 2 ;;
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; only=${only:+$only,}$2; shift 2 ;;
	--no-generic-inversion) generic_inversion=0; shift ;;
	--no-latency-trace) latency_trace=0; shift ;;
	--latency-trace) latency_trace=1; shift ;;
	--no-peer) peer=0; shift ;;
	--peer) peer=1; shift ;;
	--peer-rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; peer_rounds=$2; shift 2 ;;
	--kernel)
		case ${2:-} in
		rt | generic) flavour=$2; shift 2 ;;
		*) usage >&2; exit 2 ;;
		esac ;;
	-h | --help) usage; exit 0 ;;
	--) shift; bench_args+=("$@"); more_args+=("$@"); break ;;
	*) echo "run-bench: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

make -s -C "$top/bench" BUILD="$build"

mkdir -p "$out"
rm -rf "$out/data" "$out/data-generic" "$out/bench-data" "$out"/*.svg "$out"/*.png \
	"$out/bench.json" "$out/bench-table.txt" "$out/generic"

# Other VMs on this host steal its CPUs from ours, and under TCG that shows
# in every cross-CPU wake-up: record the load the run started with.
others=$(pgrep -c -x 'qemu-system-x86' || :)
host="$(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg), other QEMUs ${others:-0}"
if [ "${others:-0}" -gt 0 ]; then
	echo "run-bench: warning: $others other QEMU process(es) running; latencies will be noisy" >&2
fi

# A full run holds raw-sections' 10000-thread points: give it time.
if [ "$quick" = 1 ]; then
	vm_timeout=420
else
	vm_timeout=1500
fi

# bench_boot FLAVOUR DEST LOG TIMEOUT [NTSYNC-BENCH OPTIONS...]: build the
# module for FLAVOUR, boot it, run the benchmark, and leave the table, the
# JSON and the raw data (DEST/bench-table.txt, DEST/bench.json, DEST/data)
# in DEST.  Returns the VM's verdict (1 also when the results are lost).
bench_boot() {
	local fl=$1 dest=$2 log=$3 timeout=$4 rel module rc=0 section
	shift 4
	rel=$("$top/scripts/kernel-release.sh" "$fl")
	module=$("$top/scripts/build-module.sh" "$rel" | tail -n 1)
	mkdir -p "$dest"
	echo "run-bench: booting $rel ($accel, $smp vCPUs) with $module" >&2
	"$top/vm/ntsync-vm" --module "$module" --log "$log" --smp "$smp" \
		--kernel "$fl" --timeout "$timeout" --prog-timeout $((timeout - 20)) --quiet \
		--progress "${NTSYNC_PROGRESS_FD:-2}:bench-$fl" \
		"${vm_args[@]+"${vm_args[@]}"}" \
		--file "$build/bench/ntsync-bench:/files/ntsync-bench" \
		--file "$top/bench/guest-lib.sh:/files/guest-lib.sh" \
		-- "$top/bench/bench-guest.sh" "$accel" "$host" "$@" ||
		rc=$?

	section=$(mktemp)
	if ! "$top/vm/ntsync-vm" --extract bench-guest.sh "$log" >"$section"; then
		echo "run-bench: no benchmark output in $log" >&2
		rm -f "$section"
		return 1
	fi
	# The table: from its title to the first archive marker.
	sed -n '/^ntsync-bench results/,/^@@BENCH /p' "$section" |
		sed '/^@@BENCH /d' >"$dest/bench-table.txt"
	# Errors and progress lines of the benchmark, for the record.
	grep '^ntsync-bench: .*error' "$section" >&2 || :
	rm -f "$section"

	if bench_extract_archive "$log" "$dest"; then
		rm -rf "$dest/data"
		mv "$dest/bench-data" "$dest/data"
	else
		echo "run-bench: no results from $log" >&2
		rc=1
	fi
	return "$rc"
}

vm_rc=0
if [ "$quick" = 1 ]; then
	echo "# bench: about 2 minutes in the $flavour VM, 1 more for the generic kernel's inversion run" >&2
else
	echo "# bench: about 5 to 20 minutes in the $flavour VM, 2 more for the generic kernel's inversion run," \
		"about 35 for the debug kernel's latency trace (--no-latency-trace skips it)" >&2
fi
bench_boot "$flavour" "$out" "$out/bench.log" "$vm_timeout" \
	${only:+--only "$only"} "${bench_args[@]+"${bench_args[@]}"}" || vm_rc=$?
if [ -d "$out/data" ]; then
	gnuplot -e "datadir='$out/data'; outdir='$out'" "$top/bench/plots.gp"
fi

# The inversion scenario on the generic kernel, which has no PI of its own
# under the driver's locks (issue 13): a second boot.
if [ "$generic_inversion" = 1 ] && [ "$flavour" = rt ] &&
	{ [ -z "$only" ] || [[ ,$only, == *,inversion,* ]]; }; then
	gen=$out/generic
	if bench_boot generic "$gen" "$out/bench-generic.log" 290 \
		--only inversion "${bench_args[@]+"${bench_args[@]}"}"; then
		:
	else
		vm_rc=1
	fi
	if [ -s "$gen/bench.json" ] && [ -s "$out/bench.json" ]; then
		python3 "$top/bench/merge-json.py" "$out/bench.json" "$gen/bench.json" || vm_rc=1
		{ echo; cat "$gen/bench-table.txt"; } >>"$out/bench-table.txt"
		mv "$gen/data" "$out/data-generic"
	else
		echo "run-bench: no results from the generic kernel's inversion run" >&2
		vm_rc=1
	fi
	rm -rf "$gen"
fi

# The debug kernel's latency tracer under a hostile program (issue 13): a
# third boot, of the debug kernel (built first if not cached).
if [ -z "$latency_trace" ]; then
	latency_trace=$([ "$quick" = 0 ] && echo 1 || echo 0)
fi
if [ "$latency_trace" = 1 ] && [ -z "$only" ] && [ "$flavour" = rt ]; then
	lt_args=()
	[ "$accel" = kvm ] && lt_args+=(--kvm)
	"$top/scripts/run-latency-trace.sh" "${lt_args[@]+"${lt_args[@]}"}" || vm_rc=1
fi

# Upstream's ntsync.ko against ours on the 7.x RT kernel (issue 15): one
# more boot, of the scenarios of --only that upstream can run.
if [ -z "$peer" ]; then
	peer=$([ "$quick" = 0 ] && echo 1 || echo 0)
fi
peer_note=
peer_table=
if [ "$peer" = 1 ] && [ "$flavour" = rt ]; then
	peer_args=()
	[ "$quick" = 1 ] && peer_args+=(--quick)
	[ "$accel" = kvm ] && peer_args+=(--kvm)
	if [ -n "$only" ]; then
		peer_only=
		for name in ${only//,/ }; do
			case ,$peer_scenarios, in
			*,"$name",*) peer_only=${peer_only:+$peer_only,}$name ;;
			esac
		done
	else
		peer_only=$peer_scenarios
	fi
	if [ -n "$peer_only" ]; then
		# 2 rounds: about 5 minutes at full size, 1 to 2 with --quick.
		per_round=$([ "$quick" = 1 ] && echo 1 || echo 3)
		echo "# bench: the peer run (upstream's ntsync.ko and ours on the 7.x RT kernel):" \
			"about $((peer_rounds * per_round)) minutes (--no-peer skips it)" >&2
		peer_rc=0
		peer_table=$out/bench-peer-table.txt
		"$top/scripts/run-bench-peer.sh" --smp "$smp" --only "$peer_only" \
			--rounds "$peer_rounds" \
			"${peer_args[@]+"${peer_args[@]}"}" \
			-- "${more_args[@]+"${more_args[@]}"}" >/dev/null || peer_rc=$?
		case $peer_rc in
		0) peer_note="peer: ran" ;;
		3)
			peer_note="peer: NOT RUN ($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("reason", "?"))' \
				"$out/bench-peer.json" 2>/dev/null || echo 'see above'))"
			echo "run-bench: $peer_note" >&2 ;;
		*) peer_note="peer: FAIL"; vm_rc=1 ;;
		esac
	else
		peer_note="peer: not run (no scenario of --only that upstream can run)"
	fi
fi

cat "$out/bench-table.txt"
if [ -n "$peer_table" ] && [ -s "$peer_table" ]; then
	echo
	cat "$peer_table"
fi
echo
echo "run-bench: JSON $out/bench.json, plots $out/*.svg, log $out/bench.log" \
	"(VM verdict: $([ "$vm_rc" -eq 0 ] && echo PASS || echo FAIL))${peer_note:+; $peer_note}"
[ "$vm_rc" -ne 0 ] || "$top/scripts/readme-bench-table.sh" "$out/bench.json" || vm_rc=1
exit "$vm_rc"
