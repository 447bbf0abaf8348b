#!/bin/bash
# The boost soak of issue 12: in ONE boot of a kernel, stress_rt and
# mixed_soak (the Wine-NSPA-style mix: lockers, EVENT_SET_PI signallers,
# channel senders with signals) N times each in a row, every thread back at
# its own attributes after each run (the programs check), no boost record
# left after each run, then the post-suite counter and slab checks.
#   scripts/run-soak.sh [rt|generic|debug] [N]     (default: rt 20)
# Not part of `make check` (about 4 minutes per 20 runs on the RT kernel,
# more on the debug kernel).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-rt}
runs=${2:-20}
build=${NTSYNC_BUILD_DIR:-$top/build}

make -s -C "$top" >/dev/null
case "$kind" in
debug)
	kdir=$("$top/scripts/build-debug-kernel.sh")
	module=$(NTSYNC_KDIR=$kdir "$top/scripts/build-module.sh" debug)
	kernel=$kdir/arch/x86/boot/bzImage
	vm_opts=(--append "$("$top/scripts/debug-kernel-cmdline.sh")") ;;
rt | generic)
	module=$build/module/$("$top/scripts/kernel-release.sh" "$kind")/driver/ntsync.ko
	kernel=$kind
	vm_opts=() ;;
*)
	echo "usage: run-soak.sh [rt|generic|debug] [N]" >&2
	exit 2 ;;
esac

bins=$build/tests/64
exec "$top/vm/ntsync-vm" --kernel "$kernel" --module "$module" \
	"${vm_opts[@]+"${vm_opts[@]}"}" \
	--timeout $((runs * 120 + 300)) --prog-timeout $((runs * 60 + 60)) \
	--run "$bins/stress_rt --list" --run "$bins/mixed_soak --list" \
	--run "$top/tests/soak/repeat.sh $runs stress_rt" \
	--run "$top/tests/soak/repeat.sh $runs mixed_soak" \
	--run "$top/tests/observe/counters_balance.sh" \
	--run "$top/tests/slab/slab_baseline.sh"
