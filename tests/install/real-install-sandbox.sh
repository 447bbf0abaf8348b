#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# real-install-sandbox.sh: run a real install (empty DESTDIR) and uninstall
# of a staged tree in a sandbox whose /usr and /etc are overlays of the
# host's: the host's files are read, never written (overlayfs writes only
# to its upper layer, here a tmpfs that disappears with the private mount
# namespace).  Checks that depmod and ldconfig ran after install and after
# uninstall, and that uninstall gave back /usr/local as it was.
#
#   real-install-sandbox.sh SCRATCH STAGE MKDIR RELEASE...
#
# SCRATCH  an empty directory to build the sandbox root in (only empty
#          mount points are created there)
# STAGE    the staged tree ($(BUILD)/install/stage after "make install")
# MKDIR    the repository's mk/ (install-tree.sh)
#
# Needs root (mount namespaces, overlayfs).  Prints what it checked; exit 0
# when everything held.
set -euo pipefail

if [ "${1:-}" != --inside ]; then
	[ "$(id -u)" -eq 0 ] || { echo "sandbox: needs root" >&2; exit 1; }
	exec unshare --mount --propagation private "$0" --inside "$@"
fi
shift
scratch=$1 stage=$2 mkdir_=$3
shift 3

root=$scratch/root
rw=$scratch/rw
mkdir -p "$root" "$rw"

# Writable layers and the root itself are tmpfs: nothing lands on disk.
mount -t tmpfs -o size=64m,mode=755 ntsync-sandbox-rw "$rw"
mount -t tmpfs -o size=1m,mode=755 ntsync-sandbox-root "$root"
mkdir -p "$root"/{usr,etc,proc,dev,tmp,stage,mk} "$rw"/{usr,etc}/{up,work}
for l in bin lib lib64 sbin; do
	ln -s "usr/$l" "$root/$l"
done
for d in usr etc; do
	mount -t overlay "ntsync-sandbox-$d" \
		-o "lowerdir=/$d,upperdir=$rw/$d/up,workdir=$rw/$d/work" "$root/$d"
done
mount -t proc proc "$root/proc"
mount -t tmpfs -o size=16m ntsync-sandbox-tmp "$root/tmp"
touch "$root/dev/null"
mount --bind /dev/null "$root/dev/null"
ln -s /proc/self/fd "$root/dev/fd"
mount --bind -o ro "$stage" "$root/stage"
mount --bind -o ro "$mkdir_" "$root/mk"

# shellcheck disable=SC2016 # expanded by the shell in the chroot
chroot "$root" /bin/bash -c '
set -u
M=/usr/local/share/ntsync-nspa/install-manifest
fail() { echo "sandbox: $*"; exit 1; }
before=$(cd /usr/local && find . -printf "%y %m %p\n" | LC_ALL=C sort)

/mk/install-tree.sh install /stage "" "$M" || fail "install failed"
for rel; do
	found=$(modinfo -k "$rel" -n ntsync 2>&1)
	[ "$found" = "/lib/modules/$rel/updates/ntsync.ko" ] ||
		fail "after install, modinfo -k $rel -n ntsync: $found"
	echo "after install: modules.dep of $rel resolves ntsync to $found"
done
lib=$(ldconfig -p | grep -F "libntsync.so.1 ") || fail "libntsync.so.1 not in the ld.so cache"
echo "after install: ld.so cache:$lib"

/mk/install-tree.sh uninstall "" "$M" || fail "uninstall failed"
for rel; do
	if found=$(modinfo -k "$rel" -n ntsync 2>/dev/null); then
		fail "after uninstall, $rel still resolves ntsync to $found"
	fi
done
echo "after uninstall: no kernel resolves ntsync"
! ldconfig -p | grep -qF libntsync || fail "libntsync still in the ld.so cache"
echo "after uninstall: libntsync gone from the ld.so cache"
after=$(cd /usr/local && find . -printf "%y %m %p\n" | LC_ALL=C sort)
[ "$before" = "$after" ] || fail "/usr/local differs from before the install"
echo "after uninstall: /usr/local as before"
' sandbox "$@"
