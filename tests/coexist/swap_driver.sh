#!/bin/sh
# Coexistence with upstream's in-tree ntsync (issue 15), run as root in the
# VM of a kernel that ships it (busybox sh).  The guest booted with this
# project's module loaded as /ntsync.ko; upstream's ntsync.ko is at $1
# (vm/ntsync-vm --file).  Swaps ours -> upstream's -> ours without a
# reboot, the way the install guide says, and checks at each step what
# ntsync-stat --check reports: which driver, its version and extensions,
# and whether a process has it open (an open fd pins the module: rmmod
# fails and both the module and the fd stay usable).  Prints TAP; exits 1
# if a check failed.  Leaves this project's module loaded, so the programs
# after it run against ours.
#   swap_driver.sh UPSTREAM_KO
upstream_ko=${1:-/files/ntsync-upstream.ko}
n=0
failed=0

ok() {	# name
	n=$((n + 1))
	echo "ok $n - coexist.$1"
}

not_ok() {	# name why
	n=$((n + 1))
	echo "not ok $n - coexist.$1"
	echo "# $2"
	failed=1
}

# expect NAME PATTERN: ntsync-stat --check's line contains PATTERN.
expect() {
	line=$(ntsync-stat --check 2>&1)
	case $line in
	*"$2"*) ok "$1"; echo "# $line" ;;
	*) not_ok "$1" "wanted '$2' in: $line" ;;
	esac
}

# run NAME WANT-RC COMMAND...: COMMAND exits 0 (WANT-RC 0) or not (1).
run() {
	name=$1 want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if { [ "$want" = 0 ] && [ $rc -eq 0 ]; } ||
		{ [ "$want" = 1 ] && [ $rc -ne 0 ]; }; then
		ok "$name"
	else
		not_ok "$name" "$* exited $rc: $out"
	fi
}

loaded() {
	grep -q '^ntsync ' /proc/modules
}

echo "TAP version 13"
echo "1..17"
expect ours_at_boot "driver: ntsync-nspa"
expect ours_unused "references: 0;"
run rmmod_ours 0 rmmod ntsync
run insmod_upstream 0 insmod "$upstream_ko"
expect upstream_reported "driver: upstream ntsync; version: in-tree; NSPA extensions: none"
expect upstream_usable "/dev/ntsync: usable"

# An open device holds upstream's module: rmmod must fail and leave it.
exec 3</dev/ntsync
expect upstream_open_counted "references: 1;"
run rmmod_while_open_refused 1 rmmod ntsync
if loaded; then ok still_loaded_while_open; else not_ok still_loaded_while_open "rmmod removed an open module"; fi
exec 3<&-
expect upstream_closed "references: 0;"

run rmmod_upstream 0 rmmod ntsync
if loaded; then not_ok unloaded "ntsync still in /proc/modules"; else ok unloaded; fi
expect none_reported "driver: none"
run insmod_ours_again 0 insmod /ntsync.ko
expect ours_reported_again "driver: ntsync-nspa"
version=$(cat /sys/module/ntsync/version 2>/dev/null)
expect ours_version "version: ${version:-missing};"
if [ -r /sys/class/misc/ntsync/features ]; then
	expect ours_extensions "NSPA extensions: $(cat /sys/class/misc/ntsync/features);"
else
	not_ok ours_extensions "no /sys/class/misc/ntsync/features"
fi
exit $failed
