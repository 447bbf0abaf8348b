#!/bin/sh
# Counter balance check, run inside the VM after a suite, when no ntsync
# fd is open any more (busybox sh): every request sent was replied to or
# cancelled, every boost applied was restored, every EVENT_SET_PI staged
# was consumed or cancelled, and no object, pending or dispatched entry,
# registration or boost record is left.  Prints TAP; exits 1 if a check failed.
stats=/sys/class/misc/ntsync/stats
n=0
failed=0

get() {
	cat "$stats/$1" 2>/dev/null || echo missing
}

check() {	# name expression-description left right
	n=$((n + 1))
	if [ "$3" = "$4" ] && [ "$3" != missing ]; then
		echo "ok $n - counters.$1"
	else
		echo "not ok $n - counters.$1"
		echo "# $2: $3 != $4"
		failed=1
	fi
}

echo "TAP version 13"
echo "1..12"
for f in "$stats"/*; do
	echo "# $(basename "$f") = $(cat "$f")"
done

sends=$(get channel_sends)
replies=$(get channel_replies)
cancelled=$(get channel_cancelled)
check sends_replied_or_cancelled "sends vs replies+cancelled" \
	"$sends" "$((replies + cancelled))"
check boosts_restored "applied vs restored" \
	"$(get pi_boosts_applied)" "$(get pi_boosts_restored)"
staged=$(get event_pi_staged)
consumed=$(get event_pi_consumed)
check event_pi_consumed_or_cancelled "staged vs consumed+cancelled" \
	"$staged" "$((consumed + $(get event_pi_cancelled)))"
for gauge in objects_sem objects_mutex objects_event objects_channel \
	     channel_pending channel_dispatched channel_registrations \
	     pi_records; do
	check "${gauge}_zero" "$gauge" "$(get "$gauge")" 0
done
# The suite did run waits: a check over no traffic would prove nothing.
waits=$(get waits)
n=$((n + 1))
if [ "$waits" != missing ] && [ "$waits" -gt 0 ]; then
	echo "ok $n - counters.traffic_seen"
else
	echo "not ok $n - counters.traffic_seen"
	failed=1
fi
exit $failed
