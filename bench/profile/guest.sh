#!/bin/sh
# Guest side of scripts/run-profile.sh (busybox sh): trace "$@" with the
# function_graph tracer, rooted at the ioctl and getppid() system calls,
# and print the trace between marker lines for the host to summarize.
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
[ -w $T/current_tracer ] || { echo "profile: no tracefs at $T"; exit 1; }
echo 0 >$T/tracing_on
echo function_graph >$T/current_tracer || exit 1
echo __x64_sys_ioctl >$T/set_graph_function || exit 1
# getppid() may not be traceable (inlined): then only the ioctl is rooted.
for f in __x64_sys_getppid __do_sys_getppid; do
	echo $f >>$T/set_graph_function 2>/dev/null && break
done
# The task on every line: calls nest per task, whichever CPU they end on.
echo 1 >$T/options/funcgraph-proc
echo 16384 >$T/buffer_size_kb
echo >$T/trace
echo 1 >$T/tracing_on
"$@"
rc=$?
echo 0 >$T/tracing_on
echo "@@PROFILE trace-begin"
cat $T/trace
echo "@@PROFILE trace-end"
echo nop >$T/current_tracer
exit $rc
