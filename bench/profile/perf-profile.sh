#!/bin/sh
# Guest side of scripts/run-perf-profile.sh (busybox sh): load upstream's
# ntsync.ko and the project's in turn, ROUNDS rounds, start one
# ntsync-bench scenario and sample every CPU with perf (cpu-clock, a
# software timer: TCG has no hardware counters) for SECONDS while its first
# series runs.  Per driver and round it prints the samples per DSO and the
# hottest symbols, made in the guest (kallsyms names ntsync's functions
# while it is loaded).  Sampling, not tracing: the cost per call does not
# change with the path taken, so drivers compare fairly.
#   perf-profile.sh ROUNDS SECONDS SCENARIO [ntsync-bench options...]
# perf and its libraries are under /files/perf (lib/ holds the loader).
rounds=${1:-2}
seconds=${2:-4}
scenario=${3:-philosophers}
if [ $# -ge 3 ]; then
	shift 3
else
	set --
fi
perf() {
	/files/perf/lib/ld-linux-x86-64.so.2 --library-path /files/perf/lib \
		/files/perf/perf "$@"
}
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
perf --version || { echo "perf-profile: perf does not run in the guest"; exit 1; }

round=1
while [ "$round" -le "$rounds" ]; do
	for drv in upstream ours; do
		insmod /files/ntsync-$drv.ko || { echo "perf-profile: insmod $drv failed"; exit 1; }
		echo "perf-profile: round $round, $drv"
		# perf starts the window only once it samples (its own start-up
		# under TCG takes seconds): the bench starts in the window.
		printf '%s\n' '#!/bin/sh' \
			"/files/ntsync-bench --only $scenario $* >/tmp/bench.out 2>&1 &" \
			'echo $! >/tmp/bench.pid' 'sleep 1' "sleep $seconds" >/tmp/window.sh
		chmod +x /tmp/window.sh
		perf record -q -a -F 999 -e cpu-clock -o /tmp/perf.data -- \
			/tmp/window.sh 2>&1 | grep -v '^\[ perf record'
		bench=$(cat /tmp/bench.pid)
		while kill -0 "$bench" 2>/dev/null; do sleep 1; done
		grep -E '^ntsync-bench: .*error|^[a-z0-9-]+ +[a-z0-9-]+ +ntsync' /tmp/bench.out
		perf report -q -i /tmp/perf.data --stdio --sort dso 2>/dev/null |
			awk 'NF { print "  dso " $0 }' | head -n 8
		perf report -q -i /tmp/perf.data --stdio --sort sym 2>/dev/null >/tmp/syms.txt
		awk 'NF { print "  sym " $0 }' /tmp/syms.txt | head -n 30
		# The module's own code: its symbols, as kallsyms names them.
		awk '$4 == "[ntsync]" { print $3 }' /proc/kallsyms | sort -u >/tmp/mod.syms
		awk 'NR == FNR { mod[$1] = 1; next }
			$3 in mod { p = $1; sub(/%/, "", p); sum += p; n++
				if (n <= 12) line[n] = sprintf("  module %s %s", $1, $3) }
			END { printf "  module total %.2f%% in %d symbols\n", sum, n
				for (i = 1; i <= n && i <= 12; i++) print line[i] }' \
			/tmp/mod.syms /tmp/syms.txt
		rm -f /tmp/perf.data
		rmmod ntsync || exit 1
	done
	round=$((round + 1))
done
