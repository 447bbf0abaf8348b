#!/bin/bash
# Profile uncontended WAIT_ANY inside the VM with ftrace's function_graph
# tracer (how the bench "floor" finding was made; see bench/README.md):
# boots the RT kernel with the module, traces bench/profile/wait-loop, and
# writes the raw trace and a per-call-path summary to build/bench/.
#   scripts/run-profile.sh [--kernel rt|generic] [CALLS [OBJECTS]] [--depth N]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
out=$build/bench
flavour=rt
depth=6
args=()

usage() {
	sed -n '2,6s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) flavour=${2:?}; shift 2 ;;
	--depth) depth=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	[0-9]*) args+=("$1"); shift ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ ${#args[@]} -le 2 ] || { usage >&2; exit 2; }

rel=$("$top/scripts/kernel-release.sh" "$flavour")
module=$("$top/scripts/build-module.sh" "$rel" | tail -n 1)
mkdir -p "$out"
cc -static -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
	-I"$top/include/uapi" -I"$top/lib" -o "$out/wait-loop" \
	"$top/bench/profile/wait-loop.c" "$top/lib/ntsync.c"
log=$out/profile.log
"$top/vm/ntsync-vm" --quiet --kernel "$flavour" --module "$module" \
	--log "$log" --timeout 300 \
	--file "$out/wait-loop:/files/wait-loop" \
	-- "$top/bench/profile/guest.sh" /files/wait-loop "${args[@]}"
awk '/^@@PROFILE trace-begin/ { on = 1; next }
     /^@@PROFILE trace-end/ { on = 0 }
     on { sub(/\r$/, ""); print }' "$log" >"$out/profile-trace.txt"
python3 "$top/bench/profile/summary.py" "$out/profile-trace.txt" "$depth" \
	>"$out/profile-summary.txt"
cat "$out/profile-summary.txt"
echo "run-profile: trace $out/profile-trace.txt, summary $out/profile-summary.txt"
