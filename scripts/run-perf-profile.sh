#!/bin/bash
# Where the CPUs' time goes in a contended scenario, by sampling: on the
# 7.x PREEMPT_RT kernel, one boot loads upstream's ntsync.ko and ours in
# turn and samples every CPU with perf (cpu-clock at 999 Hz) for SECONDS
# while the scenario's first series runs (bench/profile/perf-profile.sh);
# per driver and round it prints samples per DSO and the hottest symbols.
# Idle time shows as the idle loop's symbols.  The host's perf (Debian's
# linux-perf) and its libraries are copied into the guest.  A tool for
# issue 16; TCG figures: compare drivers, not hosts.
#   scripts/run-perf-profile.sh [--rounds N] [--seconds S] [--offline]
#                               [--ours-ko PATH] [--peer-ko PATH]
#                               [SCENARIO [ntsync-bench options...]]
# Default: 2 rounds, 4 s, "philosophers --trials 1 --trial-ms 6000".
# --peer-ko replaces upstream's module (an A/B of two of our builds).
# Output: build/bench/perf-profile.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
out=$build/bench
# shellcheck source=scripts/bench-lib.sh
. "$top/scripts/bench-lib.sh"
rounds=2
seconds=4
offline=
ours_ko=
peer_ko=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --seconds)
		[[ ${2:-} =~ ^[0-9]+$ ]] || { echo "run-perf-profile: $1 wants a number" >&2; exit 2; }
		[ "$1" = --rounds ] && rounds=$2 || seconds=$2
		shift 2 ;;
	--offline) offline=--offline; shift ;;
	--ours-ko | --peer-ko)
		[ -f "${2:-}" ] || { echo "run-perf-profile: $1 wants a module file" >&2; exit 2; }
		[ "$1" = --ours-ko ] && ours_ko=$(realpath "$2") || peer_ko=$(realpath "$2")
		shift 2 ;;
	-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
scenario=${1:-philosophers}
[ $# -gt 0 ] && shift
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--trials 1 --trial-ms $(((seconds + 2) * 1000)))

perf_bin=$(command -v perf || :)
if [ -z "$perf_bin" ] || ! file -L "$perf_bin" | grep -q ELF; then
	echo "run-perf-profile: needs Debian's perf binary (apt-get install linux-perf)" >&2
	exit 2
fi
upstream_ko=$peer_ko
bench_k7_pair "$top" "$build" "$offline"

# perf, its shared libraries and the loader, under /files/perf.
files=(--file "$perf_bin:/files/perf/perf")
while read -r lib; do
	files+=(--file "$(realpath "$lib"):/files/perf/lib/$(basename "$lib")")
done < <(ldd "$perf_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }')

"$top/vm/ntsync-vm" --kernel rt7 --mem 2G --quiet --log "$out/perf-profile.log" \
	--timeout $((rounds * 2 * (seconds + 60) + 180)) \
	--prog-timeout $((rounds * 2 * (seconds + 60) + 120)) \
	--file "$build/bench/ntsync-bench:/files/ntsync-bench" \
	--file "$ours_ko:/files/ntsync-ours.ko" \
	--file "$upstream_ko:/files/ntsync-upstream.ko" \
	"${files[@]}" \
	-- "$top/bench/profile/perf-profile.sh" "$rounds" "$seconds" "$scenario" "${bench_args[@]}" || :
"$top/vm/ntsync-vm" --extract perf-profile.sh "$out/perf-profile.log" |
	tee "$out/perf-profile.txt"
grep -q '^verdict=pass' "$out/perf-profile.log.summary"
