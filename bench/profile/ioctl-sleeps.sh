#!/bin/sh
# Guest side of scripts/run-ioctl-sleeps.sh (busybox sh): load upstream's
# ntsync.ko and the project's in turn, ROUNDS rounds, and run one
# ntsync-bench scenario under three cheap trace events (ioctl entry and
# exit, sched_switch).  For every ioctl command it prints the calls, how
# many slept (switched out not runnable) or were preempted inside the call,
# and the mean time in the call.  Events, not function_graph: under TCG the
# graph tracer's own cost hides what a contended path does.
#   ioctl-sleeps.sh ROUNDS SCENARIO [ntsync-bench options...]
# The modules are /files/ntsync-upstream.ko and /files/ntsync-ours.ko.
rounds=${1:-2}
scenario=${2:-philosophers}
if [ $# -ge 2 ]; then
	shift 2
else
	set --
fi
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
[ -w $T/tracing_on ] || { echo "ioctl-sleeps: no tracefs at $T"; exit 1; }

# The per-command summary of the trace on stdin.
summarize() {
	awk '
	{
		ts = ""
		for (i = 2; i <= NF; i++)
			if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); break }
		if (ts == "")
			next
		ev = $(i + 1)
		if (ev ~ /^sys_ioctl\(/) {
			pid = $1; sub(/.*-/, "", pid)
			for (j = i + 1; j < NF; j++)
				if ($j == "cmd:") { cmd = $(j + 1); sub(/,$/, "", cmd) }
			in_cmd[pid] = cmd; t0[pid] = ts; slept[pid] = 0; pre[pid] = 0
		} else if (ev == "sys_ioctl" && $(i + 2) == "->") {
			pid = $1; sub(/.*-/, "", pid)
			if (!(pid in in_cmd))
				next
			c = in_cmd[pid]
			calls[c]++; sleeps[c] += slept[pid]; preempts[c] += pre[pid]
			us[c] += (ts - t0[pid]) * 1e6
			delete in_cmd[pid]
		} else if (ev == "sched_switch:") {
			pid = ""; state = ""
			for (j = i + 2; j <= NF; j++) {
				if ($j ~ /^prev_pid=/) { pid = substr($j, 10) }
				if ($j ~ /^prev_state=/) { state = substr($j, 12) }
			}
			if (!(pid in in_cmd))
				next
			if (state ~ /^R/) pre[pid] = 1; else slept[pid] = 1
		}
	}
	END {
		for (c in calls)
			if (calls[c] >= 20)
				printf "  cmd %s: %d calls, %d slept (%.1f%%), %d preempted, mean %.1f us\n",
					c, calls[c], sleeps[c], 100 * sleeps[c] / calls[c],
					preempts[c], us[c] / calls[c]
	}'
}

round=1
while [ "$round" -le "$rounds" ]; do
	for drv in upstream ours; do
		insmod /files/ntsync-$drv.ko || { echo "ioctl-sleeps: insmod $drv failed"; exit 1; }
		echo 0 >$T/tracing_on
		echo 65536 >$T/buffer_size_kb
		echo >$T/trace
		for e in syscalls/sys_enter_ioctl syscalls/sys_exit_ioctl sched/sched_switch; do
			echo 1 >$T/events/$e/enable || exit 1
		done
		echo 1 >$T/tracing_on
		echo "ioctl-sleeps: round $round, $drv"
		/files/ntsync-bench --only "$scenario" "$@" 2>&1 |
			grep -E '^ntsync-bench: .*error|^[a-z0-9-]+ +[a-z0-9-]+ +ntsync'
		echo 0 >$T/tracing_on
		echo 0 >$T/events/enable
		summarize <$T/trace
		echo "  lost events: $(grep -h overrun $T/per_cpu/cpu*/stats | awk '{s += $2} END {print s}')"
		echo >$T/trace
		rmmod ntsync || exit 1
	done
	round=$((round + 1))
done
