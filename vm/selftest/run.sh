#!/bin/bash
# vm/selftest/run.sh: self-test of the VM harness (vm/ntsync-vm).
#
# Builds the static test programs (hello.c, fail.c, a -m32 hello) and the
# hello/warn test modules against the installed Debian kernel headers, boots
# them in QEMU through vm/ntsync-vm and checks verdicts, summaries and the
# extracted output. Nothing is ever loaded on the host.
# Output: one TAP-style line per check, then "N passed, M failed".
# Exit 0 if no check failed.
#
# Build artifacts go to ${NTSYNC_BUILD_DIR:-<repo>/build}/vm-selftest/.
set -uo pipefail

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$SELF_DIR/../.." && pwd)
VM=$ROOT_DIR/vm/ntsync-vm
OUT=${NTSYNC_BUILD_DIR:-$ROOT_DIR/build}/vm-selftest
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

passed=0
failed=0
n=0

ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
}

skip() {
	echo "# SKIP $1"
}

# --- build ------------------------------------------------------------------
build_log=$OUT/build.log
: >"$build_log"

build_prog() { # OUTPUT SOURCE CFLAGS...
	local out=$1 src=$2
	shift 2
	gcc -O2 -Wall -Werror -static "$@" -o "$OUT/$out" "$SELF_DIR/$src" >>"$build_log" 2>&1
}

if build_prog hello hello.c && build_prog fail fail.c; then
	ok "build static test programs"
else
	not_ok "build static test programs" "see $build_log"
	echo "$passed passed, $failed failed"
	exit 1
fi
have32=0
if build_prog hello32 hello.c -m32; then
	have32=1
	ok "build 32-bit static test program"
else
	not_ok "build 32-bit static test program (gcc-multilib?)" "see $build_log"
fi

# build_modules FLAVOUR: sets mod_dir, or returns 1
build_modules() {
	local rel
	rel=$("$ROOT_DIR/scripts/kernel-release.sh" "$1" 2>>"$build_log") || return 1
	mod_dir=$OUT/modules-$rel
	rm -rf "$mod_dir"
	mkdir -p "$mod_dir"
	cp "$SELF_DIR/Kbuild" "$SELF_DIR/hello_mod.c" "$SELF_DIR/warn_mod.c" "$mod_dir/"
	make -C "/usr/src/linux-headers-$rel" M="$mod_dir" modules >>"$build_log" 2>&1
}

rt_mods=
if build_modules rt; then
	rt_mods=$mod_dir
	ok "build test modules for $(basename "$rt_mods" | sed 's/^modules-//')"
else
	not_ok "build test modules for the rt kernel" "see $build_log"
fi
generic_mods=
have_generic=0
if "$ROOT_DIR/scripts/kernel-release.sh" generic >/dev/null 2>&1; then
	have_generic=1
	if build_modules generic; then
		generic_mods=$mod_dir
		ok "build test modules for $(basename "$generic_mods" | sed 's/^modules-//')"
	else
		not_ok "build test modules for the generic kernel" "see $build_log"
	fi
else
	skip "no generic kernel installed"
fi

# --- helpers ----------------------------------------------------------------
# vm_start NAME ARGS...: start a quiet harness run in the background, at
# most two at a time (a boot is mostly one busy QEMU thread: two share the
# host's two cores; the checks below do not depend on timing).
declare -A vm_pids
vm_start() {
	local name=$1
	shift
	while [ "$(jobs -rp | wc -l)" -ge 2 ]; do
		wait -n
	done
	rm -f "$OUT/$name.log" "$OUT/$name.log.summary" "$OUT/$name.rc"
	("$VM" --quiet --log "$OUT/$name.log" "$@" >"$OUT/$name.out" 2>&1
	 echo $? >"$OUT/$name.rc") &
	vm_pids[$name]=$!
	echo "# boot $name started"
}

# vm NAME: wait for the run started as NAME; sets vm_rc, log=$OUT/NAME.log
vm() {
	wait "${vm_pids[$1]}"
	log=$OUT/$1.log
	vm_rc=$(cat "$OUT/$1.rc" 2>/dev/null || echo none)
}

# key KEY: value of KEY in the summary of the last vm run
key() {
	sed -n "s/^$1=//p" "$log.summary" 2>/dev/null | head -n 1
}

# expect DESCRIPTION CHECK...: each CHECK is "key=value", "rc=N",
# "extract:SECTION:FIXED-STRING", "out:FIXED-STRING" (harness stderr) or
# "log:FIXED-STRING" / "nolog:FIXED-STRING" (console log).
expect() {
	local desc=$1 c k v sec str problems=()
	shift
	for c in "$@"; do
		case $c in
		rc=*)
			[ "$vm_rc" = "${c#rc=}" ] || problems+=("exit status $vm_rc, want ${c#rc=}")
			;;
		extract:*)
			sec=${c#extract:}
			str=${sec#*:}
			sec=${sec%%:*}
			# grep reads everything (no -q): with pipefail, an early
			# exit would fail the pipeline through SIGPIPE.
			"$VM" --extract "$sec" "$log" 2>/dev/null |
				grep -F -- "$str" >/dev/null ||
				problems+=("section $sec lacks '$str'")
			;;
		out:*)
			grep -qF -- "${c#out:}" "$OUT/$(basename "$log" .log).out" ||
				problems+=("harness output lacks '${c#out:}'")
			;;
		log:*)
			tr -d '\r' <"$log" | grep -F -- "${c#log:}" >/dev/null ||
				problems+=("console log lacks '${c#log:}'")
			;;
		nolog:*)
			! tr -d '\r' <"$log" | grep -F -- "${c#nolog:}" >/dev/null ||
				problems+=("console log has '${c#nolog:}'")
			;;
		*=*)
			k=${c%%=*}
			v=$(key "$k")
			case ${c#*=} in
			'*') [ -n "$v" ] || problems+=("$k missing") ;;
			*'|'*)
				case "|${c#*=}|" in
				*"|$v|"*) ;;
				*) problems+=("$k=$v, want one of ${c#*=}") ;;
				esac
				;;
			*) [ "$v" = "${c#*=}" ] || problems+=("$k=$v, want ${c#*=}") ;;
			esac
			;;
		esac
	done
	if [ "${#problems[@]}" -eq 0 ]; then
		ok "$desc"
	else
		problems+=("log: $log")
		not_ok "$desc" "${problems[@]}"
	fi
}

# --- checks -----------------------------------------------------------------
B=$OUT
echo "ntsync-vm file payload" >"$B/payload.txt"

# Every boot starts here (two at a time), in the order checked below.
progs=(--run "$B/hello")
[ "$have32" -eq 1 ] && progs+=(--run "$B/hello32 a b")
vm_start pass "${progs[@]}" -- "$B/hello" 'x y' "it's"
vm_start fail --run "$B/fail" --run "$B/hello"
vm_start progtimeout --prog-timeout 3 --run "$B/fail hang" --run "$B/hello"
vm_start vmtimeout --timeout 15 --prog-timeout 100 --run "$B/fail hang"
vm_start user --user 1000 --file "$B/payload.txt" \
	--file "$B/payload.txt:/etc/payload2" --run "$B/hello" \
	--run "/bin/busybox cat /files/payload.txt /etc/payload2" \
	--run "/bin/busybox id -u"
if [ -n "$rt_mods" ]; then
	vm_start modhello --module "$rt_mods/hello_mod.ko" --run "$B/hello"
	vm_start modwarn --module "$rt_mods/warn_mod.ko" --run "$B/hello"
	vm_start norm --module "$rt_mods/hello_mod.ko" --no-rmmod --run "$B/hello"
fi
if [ "$have_generic" -eq 1 ] && [ -n "$generic_mods" ]; then
	vm_start generic --kernel generic --module "$generic_mods/hello_mod.ko" \
		--run "$B/hello"
fi
if [ "$have_generic" -eq 1 ] && [ -n "$rt_mods" ]; then
	vm_start badinsmod --kernel generic --module "$rt_mods/hello_mod.ko" \
		--run "$B/hello"
fi

# Usage errors never boot a VM.
"$VM" --bogus >/dev/null 2>&1
[ $? -eq 2 ] && ok "usage error exits 2" || not_ok "usage error exits 2"
"$VM" --run /nonexistent/prog >/dev/null 2>&1
[ $? -eq 2 ] && ok "missing program is a usage error" || not_ok "missing program is a usage error"

# 1. Passing programs, no module; 64- and 32-bit; argument with spaces.
vm pass
checks=(rc=0 verdict=pass done=1 timed_out=0 insmod=- rmmod=- dmesg_clean=1
	prog.hello=0 prog.hello.2=0 "extract:hello:ok 1 - hello from the guest"
	"extract:hello:NTSYNC_IN_VM=1" "extract:hello:cwd=/tmp"
	"extract:hello.2:arg1=[x y]" "extract:hello.2:arg2=[it's]"
	"out:PASS hello rc=0" "out:vm: dmesg clean")
[ "$have32" -eq 1 ] && checks+=(prog.hello32=0 "extract:hello32:sizeof(long)=4"
	"extract:hello32:arg2=[b]")
expect "passing programs (64-bit, 32-bit, quoted args) pass" "${checks[@]}"
boot_seconds=$(key seconds)

# --extract of a missing section fails
if "$VM" --extract no-such-section "$log" >/dev/null 2>&1; then
	not_ok "--extract of a missing section exits non-zero"
else
	ok "--extract of a missing section exits non-zero"
fi

# 2. A failing program fails the run; the others still run.
vm fail
expect "failing program fails the run" rc=1 verdict=fail done=1 prog.fail=3 \
	prog.hello=0 dmesg_clean=1 "extract:fail:not ok 1 - fail on purpose" \
	"extract:fail:partial line without newline" "out:FAIL fail rc=3" \
	"out:PASS hello rc=0"

# 3. Per-program timeout.
vm progtimeout
expect "per-program timeout kills and fails the program" rc=1 done=1 \
	"prog.fail=124|143|137" prog.hello=0 timed_out=0

# 4. Whole-VM timeout.
vm vmtimeout
expect "whole-VM timeout is a failure" rc=1 timed_out=1 done=0 prog.fail=none \
	"out:TIMEOUT"

# 5. --user and --file.
vm user
expect "--user runs programs as that uid; --file copies files" rc=0 \
	prog.hello=0 prog.busybox=0 prog.busybox.2=0 "extract:hello:uid=1000" \
	"extract:busybox:ntsync-vm file payload" "extract:busybox.2:1000"

if [ -n "$rt_mods" ]; then
	# 6. Clean module: insmod/rmmod markers.
	vm modhello
	expect "clean module: insmod ok, rmmod ok, dmesg clean" rc=0 insmod=0 \
		rmmod=0 dmesg_clean=1 prog.hello=0 "log:@@NTSYNC insmod rc=0" \
		"log:@@NTSYNC rmmod rc=0" "log:@@NTSYNC dmesg2-begin" \
		"log:hello module unloaded" "out:vm: insmod ok" "out:vm: rmmod ok"

	# 7. Module whose init WARNs: the dmesg scan fails the run.
	vm modwarn
	expect "WARN_ON in module init fails the run" rc=1 insmod=0 rmmod=0 \
		dmesg_clean=0 prog.hello=0 "out:WARNING:" "out:vm: dmesg NOT clean"

	# 8. --no-rmmod
	vm norm
	expect "--no-rmmod skips rmmod" rc=0 insmod=0 rmmod=- \
		"nolog:@@NTSYNC rmmod" "log:@@NTSYNC done"
else
	skip "module checks (no rt test modules)"
fi

if [ "$have_generic" -eq 1 ]; then
	# 9. Generic kernel boots (with its own module build).
	if [ -n "$generic_mods" ]; then
		vm generic
		expect "--kernel generic boots, module loads" rc=0 insmod=0 rmmod=0 \
			dmesg_clean=1 prog.hello=0
	fi
	# 10. A module built for another kernel: insmod fails, programs skipped.
	if [ -n "$rt_mods" ]; then
		vm badinsmod
		expect "insmod failure fails the run and skips the programs" rc=1 \
			"insmod=*" rmmod=skipped prog.hello=none done=1 \
			"out:vm: insmod FAILED" "nolog:@@NTSYNC begin"
		[ "$(key insmod)" != 0 ] || not_ok "insmod of a foreign module returned 0"
	fi
else
	skip "generic kernel checks"
fi

[ -n "$boot_seconds" ] && echo "# boot+run time (TCG, 3 programs, beside another boot): ${boot_seconds}s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
