# shellcheck shell=bash
# Sourced by the setup scripts: run a long, quiet command with its output
# appended to a log, and say on stderr once a minute that it is still
# running, so that a first `make check` is never silent for minutes.
#   with_heartbeat LABEL LOG CMD [ARGS...]   -> CMD's exit status
with_heartbeat() {
	local label=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 &
	wait_with_heartbeat "$label" "$!" >&2
}

# The same for a command already running in the background of the caller:
# wait for it, saying on stdout once a minute that it still runs.
#   wait_with_heartbeat LABEL PID   -> its exit status
wait_with_heartbeat() {
	local label=$1 pid=$2 start rc=0
	start=$(date +%s)
	while ! timeout 60 tail --pid="$pid" -f /dev/null; do
		echo "# $label: still running ($(( $(date +%s) - start )) s)"
	done
	wait "$pid" || rc=$?
	return "$rc"
}
