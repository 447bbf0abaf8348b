# Bash functions shared by the host scripts that run the benchmark in the VM
# (scripts/run-bench.sh, scripts/run-bench-peer.sh, the profiling tools),
# which run under
# set -euo pipefail.  Sourced, not run.

# The scenarios that upstream's ntsync.ko can run too: the peer run's
# (scripts/run-bench-peer.sh; inversion: upstream's mutex has no PI).
# shellcheck disable=SC2034 # used by the scripts that source this file
peer_scenarios=floor,handoff-2,handoff-4,philosophers,wake-order,inversion,growth-wait-any,growth-wait-all,growth-wake

# bench_extract_archive LOG DEST: cut the results archive that
# bench/guest-lib.sh's ship_archive printed out of the console LOG, check
# it against its sha256 line and unpack it into DEST.  0 when it did; 1,
# with a message on stderr, when it is missing or damaged.
bench_extract_archive() {
	local log=$1 dest=$2 archive want got
	archive=$(mktemp "$dest/archive.XXXXXX")
	# Kernel console lines ("[ seconds.micros] ...") may be printed in the
	# middle of one of its lines, so cut them out and join what is left
	# (base64 has no '[').
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
	if [ -n "$want" ] && [ "$want" = "$got" ] && tar -xzf "$archive" -C "$dest"; then
		rm -f "$archive"
		return 0
	fi
	echo "${0##*/}: the results archive in $log is missing or damaged" \
		"(sha256 ${want:-none} expected, $got read)" >&2
	rm -f "$archive"
	return 1
}

# bench_k7_pair TOP BUILD OFFLINE: for the profiling tools that boot Debian's 7.x
# RT kernel with upstream's module and ours (run-ioctl-sleeps.sh,
# run-perf-profile.sh): build ntsync-bench into BUILD/bench, get the 7.x kernels (OFFLINE
# "--offline": the cached ones only) and set rel (the RT release),
# upstream_ko (unless set already: upstream's in-tree module) and ours_ko
# (unless set already: this checkout's module built for rel).
bench_k7_pair() {
	local top=$1 build=$2 k7
	make -s -C "$top/bench" BUILD="$build"
	mkdir -p "$build/bench"
	k7=$("$top/scripts/kernel7-root.sh" ${3:+"$3"})
	rel=$(sed -n 's/^rt //p' <<<"$k7")
	[ -n "${upstream_ko:-}" ] || upstream_ko=$("$top/scripts/kernel7-root.sh" --upstream-ko rt)
	[ -n "${ours_ko:-}" ] || ours_ko=$("$top/scripts/build-module.sh" "$rel" | tail -n 1)
}
