#!/bin/bash
# The main job: boot Debian's PREEMPT_RT kernel in QEMU, load ntsync.ko and
# run the demo, showing what happens in the guest.  Extra arguments go to
# vm/ntsync-vm (e.g. --kvm, --kernel generic).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
rel=$("$top/scripts/kernel-release.sh" rt)
module=$("$top/scripts/build-module.sh" "$rel")
exec "$top/vm/ntsync-vm" --module "$module" --log "$build/demo.log" "$@" \
	--run "$build/examples/ntsync-demo"
