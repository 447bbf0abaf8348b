#!/bin/bash
# Print the path of Debian's linux-source-6.12 tree, extracted once into the
# cache (outside the repository), keyed by the package version.
set -euo pipefail

cache=${NTSYNC_CACHE:-/var/cache/ntsync-nspa}
tarball=/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] || { echo "kernel-source: $tarball missing (apt-get install linux-source-6.12)" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
dir=$cache/src/linux-source-6.12-$version
mkdir -p "$cache/src"
# make check runs the lint and the debug kernel build at the same time:
# one extracts, the other waits for it (the lock goes with this process).
exec 9>"$cache/src/.lock"
flock 9
if [ ! -f "$dir/.extracted" ]; then
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	# shellcheck source=scripts/heartbeat.sh
	. "$(dirname "$0")/heartbeat.sh"
	echo "kernel-source: extracting $tarball" >&2
	log=$dir.tmp.log
	: >"$log"
	if ! with_heartbeat "kernel-source: tar" "$log" \
		tar -C "$dir.tmp" --strip-components=1 -xf "$tarball"; then
		cat "$log" >&2
		exit 1
	fi
	rm -f "$log"
	touch "$dir.tmp/.extracted"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
echo "$dir"
