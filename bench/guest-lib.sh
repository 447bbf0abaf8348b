# Shell functions shared by the benchmark's guest scripts (busybox sh,
# POSIX), bench/bench-guest.sh and bench/peer-guest.sh.  The host copies
# this file into the initramfs as /files/guest-lib.sh; the scripts source it.

# raw-sections starts up to 10000 threads at once; the default thread limit
# of a 1 GiB guest (about 7700) would stop it short.  A VM-only setting.
raise_threads_max() {
	if [ "$(cat /proc/sys/kernel/threads-max)" -lt 16384 ]; then
		echo 16384 >/proc/sys/kernel/threads-max
	fi
}

# ship_archive FILE...: tar and gzip FILE... (relative to the current
# directory) and print the archive base64-encoded between "@@BENCH
# archive-begin" and "@@BENCH archive-end", after an "@@BENCH
# archive-sha256" line the host checks it against before unpacking it.
ship_archive() {
	tar -cf - "$@" | gzip -9 >/tmp/bench.tgz
	echo "@@BENCH archive-sha256 $(sha256sum /tmp/bench.tgz | cut -d' ' -f1)"
	echo "@@BENCH archive-begin"
	# In bursts with short pauses: a long uninterrupted burst on the
	# emulated UART of a loaded host can end in "irq 4: nobody cared".
	base64 /tmp/bench.tgz | {
		n=0
		while IFS= read -r line; do
			echo "$line"
			n=$((n + 1))
			if [ $((n % 64)) -eq 0 ]; then
				usleep 20000
			fi
		done
	}
	echo "@@BENCH archive-end"
}
