# ntsync-bench plots (gnuplot 5).  Reads the --data-dir output of
# ntsync-bench and writes SVG and PNG figures:
#   inversion-cdf      the waiter's wait in the priority-inversion scenario
#   channel-rtt-cdf    request/reply round trips
#   philosophers-cdf   time to get both forks
#   growth-wait        WAIT_ANY / WAIT_ALL cost against the object count
#   growth-wake        wake cost against the number of queued waiters
#
#   gnuplot -e "datadir='build/bench/data'; outdir='build/bench'" bench/plots.gp
#
# Series without a data file (unsupported on the measured system) are left
# out of the legend; a figure with no series at all is not written.

if (!exists("datadir")) datadir = "build/bench/data"
if (!exists("outdir")) outdir = "build/bench"

# A file with at least one data (non-comment) line.
have(f) = int(system("grep -qs '^[^#]' '" . f . "' && echo 1 || echo 0"))
sep(s) = strlen(s) ? s . ", " : ""

# CDF clause for one raw sample file (one value per line).
cdf(f, t, lt) = sprintf("'%s' using 1:(1) smooth cnormal with steps lw 2 lt %d title '%s'", f, lt, t)

# --- build the plot commands once --------------------------------------

inv = ""
i = 1
do for [s in "ntsync-pi ntsync-pi-off pi-futex plain-mutex"] {
	f = datadir . "/inversion." . s . ".dat"
	if (have(f)) { inv = sep(inv) . cdf(f, s, i) }
	i = i + 1
}

rtt = ""
i = 1
do for [s in "ntsync-channel ntsync-channel-boost futex-shm unix-socket pipe"] {
	f = datadir . "/channel-rtt." . s . ".dat"
	if (have(f)) { rtt = sep(rtt) . cdf(f, s, i) }
	i = i + 1
}

phi = ""
i = 1
do for [s in "ntsync-wait-all pi-futex plain-mutex"] {
	f = datadir . "/philosophers." . s . ".dat"
	if (have(f)) { phi = sep(phi) . cdf(f, s, i) }
	i = i + 1
}

gw = ""
f = datadir . "/growth-wait-any.summary"
if (have(f)) {
	gw = sep(gw) . sprintf("'%s' using 3:5 with linespoints lw 2 pt 7 lt 1 title 'WAIT\\_ANY median', '%s' using 3:7 with linespoints lw 1 dt 2 pt 6 lt 1 title 'WAIT\\_ANY p99'", f, f)
}
f = datadir . "/growth-wait-all.summary"
if (have(f)) {
	gw = sep(gw) . sprintf("'%s' using 3:5 with linespoints lw 2 pt 5 lt 2 title 'WAIT\\_ALL median', '%s' using 3:7 with linespoints lw 1 dt 2 pt 4 lt 2 title 'WAIT\\_ALL p99'", f, f)
}

gk = ""
f = datadir . "/growth-wake.summary"
if (have(f)) {
	gk = sprintf("'%s' using ($2 == 0 ? $3 : 1/0):5 with linespoints lw 2 pt 7 lt 1 title 'SEM\\_RELEASE call, median', '%s' using ($2 == 0 ? $3 : 1/0):7 with linespoints lw 1 dt 2 pt 6 lt 1 title 'SEM\\_RELEASE call, p99', '%s' using ($2 == 1 ? $3 : 1/0):5 with linespoints lw 2 pt 5 lt 2 title 'release to waiter running, median', '%s' using ($2 == 1 ? $3 : 1/0):7 with linespoints lw 1 dt 2 pt 4 lt 2 title 'release to waiter running, p99'", f, f, f, f)
}

# --- write every figure in both formats ---------------------------------

do for [fmt in "svg png"] {
	if (fmt eq "svg") {
		set terminal svg size 960,600 dynamic font "Helvetica,14" background rgb "white"
	} else {
		set terminal pngcairo size 960,600 font "Helvetica,11" background rgb "white"
	}
	set grid
	set key right bottom box opaque noenhanced
	set yrange [0:1.02]
	set format x "%.0f"
	set ylabel "fraction of samples <= x"

	if (strlen(inv)) {
		set output outdir . "/inversion-cdf." . fmt
		set title "Priority inversion: high-priority waiter's wait (CDF over runs)"
		set logscale x
		set xlabel "waiter's wait time (µs, log scale)"
		eval "plot " . inv
		unset logscale x
	}
	if (strlen(rtt)) {
		set output outdir . "/channel-rtt-cdf." . fmt
		set title "Request/reply round trip, client to server process and back (CDF)"
		set logscale x
		set xlabel "round-trip time (µs, log scale)"
		eval "plot " . rtt
		unset logscale x
	}
	if (strlen(phi)) {
		set output outdir . "/philosophers-cdf." . fmt
		set title "Dining philosophers (5): time to get both forks (CDF)"
		set logscale x
		set xlabel "wait for both forks (µs, log scale)"
		eval "plot " . phi
		unset logscale x
	}

	set yrange [*:*]
	set format x "%g"
	set key left top box opaque enhanced
	set logscale x 2
	set xrange [0.8:80]
	set xtics (1, 2, 4, 8, 16, 32, 64)
	# Medians and p99 differ by orders of magnitude under emulation.
	set logscale y
	if (strlen(gw)) {
		set output outdir . "/growth-wait." . fmt
		set title "Uncontended wait cost against the number of objects"
		set xlabel "objects in the wait (n)"
		set ylabel "time per call (µs, log scale)"
		eval "plot " . gw
	}
	if (strlen(gk)) {
		set output outdir . "/growth-wake." . fmt
		set title "Wake cost against the number of queued waiters"
		set xlabel "waiters queued on the semaphore (n)"
		set ylabel "time (µs, log scale)"
		eval "plot " . gk
	}
	unset logscale x
	unset logscale y
	set xrange [*:*]
	set xtics autofreq
	set output
}
