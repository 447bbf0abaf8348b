#!/bin/sh
# ntsync-vm guest /init (busybox sh, POSIX only).
#
# Copied into the initramfs by vm/ntsync-vm. It prepares a minimal system,
# optionally loads /ntsync.ko, runs the programs of /ntsync-run.list, prints
# the kernel log and powers the VM off. Everything it reports goes to the
# serial console as marker lines that the host parses:
#
#   @@NTSYNC start kernel=<uname -r>
#   @@NTSYNC insmod rc=<rc>                  (only if a module is present)
#   @@NTSYNC begin <name>                    (per program)
#   ...program stdout+stderr...
#   @@NTSYNC end <name> rc=<rc> secs=<wall-clock seconds it ran>
#   @@NTSYNC dmesg-begin / full dmesg / @@NTSYNC dmesg-end
#   @@NTSYNC rmmod rc=<rc>                   (only if a module was loaded
#   @@NTSYNC dmesg2-begin / dmesg / @@NTSYNC dmesg2-end   and rmmod wanted)
#   @@NTSYNC done
#
# /ntsync-vm.conf (sourced) sets NTSYNC_VM_MODNAME (module name for rmmod,
# empty: no module), NTSYNC_VM_RMMOD (1/0), NTSYNC_VM_PROG_TIMEOUT (seconds),
# NTSYNC_VM_USER (empty, or the user name to run the programs as).
#
# /ntsync-run.list: one program per line. Each line is a list of POSIX shell
# words, each single-quoted by the host (so arguments may contain spaces, but
# not newlines); it is parsed with `eval "set -- $line"`. The first word is
# the section name, the second the program path, the rest its arguments.
# Empty lines and lines starting with '#' are ignored.

# The initramfs holds only /bin/busybox and /bin/sh: create the other applet
# links here (one process; much cheaper than ~400 ln calls on the host).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/bin/ntsync-progs
export HOME=/tmp
export TERM=dumb

mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Make sure stdio is the serial console even if the kernel could not open
# /dev/console before devtmpfs was mounted.
exec </dev/console >/dev/console 2>&1
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || :
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null || :
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null || :
chmod 1777 /tmp
hostname ntsync-vm 2>/dev/null || :
ulimit -c 0

NTSYNC_VM_MODNAME=
NTSYNC_VM_RMMOD=1
NTSYNC_VM_PROG_TIMEOUT=120
NTSYNC_VM_USER=
NTSYNC_VM_BAD_RE=
if [ -f /ntsync-vm.conf ]; then
	. /ntsync-vm.conf
fi

marker() {
	echo "@@NTSYNC $*"
}

finish() {
	marker done
	sync
	reboot -f
	# reboot -f should not return; make sure init never exits normally.
	while :; do sleep 60; done
}

marker "start kernel=$(uname -r)"

# A kernel log with a splat before anything of ours ran (seen under TCG:
# KASAN reports in swapper during start_kernel) says nothing about the
# module: run nothing, and let the host boot again (vm/ntsync-vm retries).
if [ -n "$NTSYNC_VM_BAD_RE" ] && dmesg | grep -E -q -- "$NTSYNC_VM_BAD_RE"; then
	marker boot-splat
	marker dmesg-begin
	dmesg
	marker dmesg-end
	finish
fi

run_programs=1
if [ -n "$NTSYNC_VM_MODNAME" ]; then
	timeout 120 insmod /ntsync.ko
	rc=$?
	marker "insmod rc=$rc"
	if [ "$rc" -ne 0 ]; then
		run_programs=0
	fi
fi

if [ "$run_programs" -eq 1 ] && [ -f /ntsync-run.list ]; then
	export NTSYNC_IN_VM=1
	cd /tmp || :
	while IFS= read -r line; do
		case $line in
		'' | '#'*) continue ;;
		esac
		eval "set -- $line"
		name=$1
		shift
		marker "begin $name"
		began=$(date +%s)
		if [ -n "$NTSYNC_VM_USER" ]; then
			# su -p keeps the environment (PATH, NTSYNC_IN_VM, HOME);
			# the single quotes are intentional ($0/$@ expand in su's
			# sh); "--" stops su's option parsing before the program.
			timeout -k 5 "$NTSYNC_VM_PROG_TIMEOUT" \
				su -p -s /bin/sh "$NTSYNC_VM_USER" \
				-c 'exec "$0" "$@"' -- "$@" </dev/null 2>&1
		else
			timeout -k 5 "$NTSYNC_VM_PROG_TIMEOUT" "$@" </dev/null 2>&1
		fi
		rc=$?
		# Start the marker on a fresh line even if the program's last
		# line had no newline: this empty line is not part of the
		# program's output (vm/ntsync-vm --extract drops it).
		echo
		marker "end $name rc=$rc secs=$(($(date +%s) - began))"
		cd /tmp || :
	done </ntsync-run.list
fi

marker dmesg-begin
dmesg -c
marker dmesg-end

if [ -n "$NTSYNC_VM_MODNAME" ] && [ "$NTSYNC_VM_RMMOD" = 1 ] &&
	grep -q "^$NTSYNC_VM_MODNAME " /proc/modules; then
	timeout 120 rmmod "$NTSYNC_VM_MODNAME"
	rc=$?
	marker "rmmod rc=$rc"
	marker dmesg2-begin
	dmesg -c
	marker dmesg2-end
fi

finish
