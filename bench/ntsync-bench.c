// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: every benchmark scenario of ntsync-nspa against its peers,
 * in one process.  Prints a table, optionally writes a JSON summary
 * (--json) and the raw samples of every series (--data-dir) for plotting.
 *
 * It benchmarks whatever /dev/ntsync exists and never loads anything.
 * Series that need what this system lacks (no /dev/ntsync, a driver
 * without the NSPA extensions, no SCHED_FIFO permission, no "pi" module
 * parameter) are reported as unsupported, and the rest still runs.
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "scenarios.h"

const struct scenario bench_scenarios[] = {
	{ "floor", "uncontended WAIT_ANY on a signaled object vs a null syscall (getppid)", run_floor },
	{ "handoff-2", "contended mutex lock/unlock, 2 threads: ntsync vs PI futex vs plain mutex", run_handoff2 },
	{ "handoff-4", "contended mutex lock/unlock, 4 threads: ntsync vs PI futex vs plain mutex", run_handoff4 },
	{ "philosophers", "5 dining philosophers: time to get both forks, max wait, meals/s", run_philosophers },
	{ "wake-order", "5 SCHED_FIFO waiters of distinct priorities: hand-down order and time", run_wake_order },
	{ "inversion", "priority inversion: waiter latency with ntsync PI on/off, PI futex, plain mutex", run_inversion },
	{ "channel-rtt", "request/reply round trip: channel vs futex shm vs unix socket vs pipe", run_channel_rtt },
	{ "burst", "dispatcher with 4 senders: AGGREGATE_WAIT + RECV2 + TRY_RECV2 drain vs one wait per entry", run_burst },
	{ "growth-wait-any", "WAIT_ANY cost as the object count goes 1..64", run_growth_any },
	{ "growth-wait-all", "WAIT_ALL cost as the object count goes 1..64", run_growth_all },
	{ "growth-wake", "wake cost as the number of queued waiters goes 1..64", run_growth_wake },
	{ "raw-sections", "REPLY, SEND_PI+RECV2, queueing, wake and MUTEX_UNLOCK as caller-controlled counts grow to 10000", run_raw_sections },
};
const size_t bench_nscenarios = sizeof(bench_scenarios) / sizeof(bench_scenarios[0]);

struct target {
	const char *id;
	const char *text;
	bool known;
	bool met;
	char detail[320];
};

struct run_state {
	struct result res[32];
	bool selected[32];
	double seconds[32];
	struct target targets[10];
	int ntargets;
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"Run the ntsync-nspa benchmark scenarios against their peers.\n"
		"\n"
		"  --quick             small iteration counts (CI)\n"
		"  --only NAME[,NAME]  run only these scenarios (repeatable)\n"
		"  --list              list the scenarios and exit\n"
		"  --json PATH         write the summaries and environment as JSON\n"
		"  --data-dir DIR      write raw samples, one file per series\n"
		"  --runs N            runs of the real-time scenarios (1..1000;\n"
		"                      default 20, --quick 5)\n"
		"  --trials N          timed trials per throughput series (1..100;\n"
		"                      default 5, --quick 3)\n"
		"  --trial-ms N        length of one trial in ms (10..10000;\n"
		"                      default 400, --quick 150)\n"
		"  --samples N         latency samples per series (10..1000000;\n"
		"                      default 5000, --quick 500)\n"
		"  --growth-samples N  samples per growth point (5..100000;\n"
		"                      default 300, --quick 40)\n"
		"  --hog-ms N          inversion: CPU hogs stop after N ms at the\n"
		"                      latest (20..2000; default 200, --quick 100)\n"
		"  -h, --help          this text\n"
		"\n"
		"Environment: NTSYNC_VM_ACCEL (tcg or kvm) is recorded in the JSON.\n"
		"Exit status: 0 done, 1 a series failed, 2 usage error.\n",
		argv0);
}

static int find_scenario(const char *name)
{
	size_t i;

	for (i = 0; i < bench_nscenarios; i++)
		if (!strcmp(bench_scenarios[i].name, name))
			return (int)i;
	return -1;
}

static bool parse_count(const char *s, unsigned long lo, unsigned long hi,
			unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* ---- Formatting ------------------------------------------------------ */

static void fmt_val(char *buf, size_t len, double v, enum bench_unit unit)
{
	if (unit == UNIT_OPS)
		snprintf(buf, len, "%.0f", v);
	else if (v < 10)
		snprintf(buf, len, "%.3f", v);
	else if (v < 1000)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

static const char *unit_str(enum bench_unit u)
{
	return u == UNIT_US ? "us" : "ops/s";
}

static const char *status_str(enum bench_status st)
{
	switch (st) {
	case ST_OK:
		return "ok";
	case ST_UNSUPPORTED:
		return "unsupported";
	default:
		return "error";
	}
}

static const struct series *group_ref(const struct result *res, int group)
{
	int i;

	for (i = 0; i < res->ns; i++)
		if (res->s[i].group == group && res->s[i].is_ref)
			return &res->s[i];
	return NULL;
}

/* Ratio column of one row; false when there is none. */
static bool row_ratio(const struct result *res, const struct series *s,
		      double *ratio)
{
	const struct series *ref = group_ref(res, s->group);

	if (!ref || ref == s || ref->status != ST_OK || s->status != ST_OK ||
	    ref->sum.p50 <= 0 || s->sum.p50 <= 0)
		return false;
	if (res->ratio_mode == RATIO_REF_OVER_PEER)
		*ratio = ref->sum.p50 / s->sum.p50;
	else
		*ratio = s->sum.p50 / ref->sum.p50;
	return true;
}

/* Contents of a small sysfs/proc file without the trailing newline. */
static bool read_small(const char *path, char *buf, size_t len);

/* /sys/kernel/realtime is 1 on the 6.12 RT kernels; Debian's 7.x RT kernel
 * has no such file, but its uname -v says PREEMPT_RT. */
static bool kernel_is_rt(void)
{
	struct utsname u;
	char buf[8];

	if (read_small("/sys/kernel/realtime", buf, sizeof(buf)))
		return buf[0] == '1';
	return uname(&u) == 0 && strstr(u.version, "PREEMPT_RT");
}

/* The kernel's flavour, labelling every row: "rt" (PREEMPT_RT) or "generic". */
static const char *kernel_flavour(void)
{
	return kernel_is_rt() ? "rt" : "generic";
}

static void print_table(struct run_state *st)
{
	size_t i;
	int j, k;

	struct utsname u;
	const char *accel = getenv("NTSYNC_VM_ACCEL");
	int pi = pi_param_get();

	uname(&u);
	printf("\nntsync-bench results (ratio: reference median / row median for peers,\n"
	       "i.e. <1 = reference lower; growth rows: row median / n=1 median)\n");
	printf("kernel %s, %ld CPUs, accel %s, ntsync pi=%s%s%s\n\n", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), accel && *accel ? accel : "unknown",
	       pi < 0 ? "n/a" : pi ? "on" : "off",
	       getenv("NTSYNC_BENCH_HOST") ? ", host: " : "",
	       getenv("NTSYNC_BENCH_HOST") ? getenv("NTSYNC_BENCH_HOST") : "");
	printf("%-16s %-7s %-22s %-5s %6s %10s %10s %10s %10s  %s\n", "scenario",
	       "kernel", "series", "unit", "n", "min", "median", "p99", "max",
	       "ratio / notes");
	for (i = 0; i < bench_nscenarios; i++) {
		struct result *res = &st->res[i];

		if (!st->selected[i])
			continue;
		for (j = 0; j < res->ns; j++) {
			struct series *s = &res->s[j];
			char mn[24], md[24], p99[24], mx[24], notes[320] = "";
			size_t off = 0;
			double r;

			if (s->status != ST_OK) {
				printf("%-16s %-7s %-22s %-5s %6s %10s %10s %10s %10s  %s: %s\n",
				       j ? "" : bench_scenarios[i].name, kernel_flavour(), s->name,
				       unit_str(s->unit), "-", "-", "-", "-", "-",
				       status_str(s->status), s->reason);
				continue;
			}
			fmt_val(mn, sizeof(mn), s->sum.min, s->unit);
			fmt_val(md, sizeof(md), s->sum.p50, s->unit);
			fmt_val(p99, sizeof(p99), s->sum.p99, s->unit);
			fmt_val(mx, sizeof(mx), s->sum.max, s->unit);
			if (s->is_ref)
				off += snprintf(notes + off, sizeof(notes) - off, "ref");
			else if (row_ratio(res, s, &r)) {
				const char *how = "";

				if (res->ratio_mode == RATIO_REF_OVER_PEER)
					how = (s->unit == UNIT_US) == (r < 1) ?
					      " (ref better)" : " (ref worse)";
				off += snprintf(notes + off, sizeof(notes) - off,
						"%.2fx%s", r, how);
			}
			for (k = 0; k < s->nextra && off < sizeof(notes); k++) {
				const struct bench_extra *e = &s->extra[k];

				if (e->text[0])
					off += snprintf(notes + off, sizeof(notes) - off,
							" %s=%s", e->key, e->text);
				else
					off += snprintf(notes + off, sizeof(notes) - off,
							" %s=%.4g", e->key, e->val);
			}
			printf("%-16s %-7s %-22s %-5s %6zu %10s %10s %10s %10s  %s\n",
			       j ? "" : bench_scenarios[i].name, kernel_flavour(), s->name,
			       unit_str(s->unit), s->sum.n, mn, md, p99, mx, notes);
		}
		if (res->note[0])
			printf("%-16s   note: %s\n", "", res->note);
	}
}

/* ---- Targets --------------------------------------------------------- */

static const struct series *find_series(struct run_state *st, const char *scen,
					const char *name)
{
	int i = find_scenario(scen), j;

	if (i < 0 || !st->selected[i])
		return NULL;
	for (j = 0; j < st->res[i].ns; j++)
		if (!strcmp(st->res[i].s[j].name, name))
			return st->res[i].s[j].status == ST_OK ? &st->res[i].s[j] : NULL;
	return NULL;
}

static struct target *add_target(struct run_state *st, const char *id,
				 const char *text)
{
	struct target *t = &st->targets[st->ntargets++];

	memset(t, 0, sizeof(*t));
	t->id = id;
	t->text = text;
	snprintf(t->detail, sizeof(t->detail), "not measured");
	return t;
}

static void eval_targets(struct run_state *st)
{
	const struct series *a, *b, *c;
	struct target *t;

	t = add_target(st, "floor", "uncontended WAIT_ANY median <= 1.5x null syscall");
	a = find_series(st, "floor", "ntsync-wait-any");
	b = find_series(st, "floor", "getppid");
	if (a && b) {
		double r = a->sum.p50 / b->sum.p50;

		t->known = true;
		t->met = r <= 1.5;
		snprintf(t->detail, sizeof(t->detail), "%.2fx (%.3f us vs %.3f us)",
			 r, a->sum.p50, b->sum.p50);
	}

	t = add_target(st, "handoff", "mutex handoff ops/s >= 1.0x PI futex (2 and 4 threads)");
	a = find_series(st, "handoff-2", "ntsync-mutex");
	b = find_series(st, "handoff-2", "pi-futex");
	c = find_series(st, "handoff-4", "ntsync-mutex");
	if (a && b && c && find_series(st, "handoff-4", "pi-futex")) {
		double r2 = a->sum.p50 / b->sum.p50;
		double r4 = c->sum.p50 / find_series(st, "handoff-4", "pi-futex")->sum.p50;

		t->known = true;
		t->met = r2 >= 1.0 && r4 >= 1.0;
		snprintf(t->detail, sizeof(t->detail), "2 threads %.2fx, 4 threads %.2fx",
			 r2, r4);
	}

	t = add_target(st, "handoff-pi",
		       "SCHED_OTHER handoff ops/s with PI on >= 0.95x PI off (no PI work; 5% noise)");
	a = find_series(st, "handoff-2", "ntsync-mutex");
	b = find_series(st, "handoff-2", "ntsync-pi-off");
	c = find_series(st, "handoff-4", "ntsync-mutex");
	if (a && b && c && find_series(st, "handoff-4", "ntsync-pi-off")) {
		double r2 = a->sum.p50 / b->sum.p50;
		double r4 = c->sum.p50 /
			    find_series(st, "handoff-4", "ntsync-pi-off")->sum.p50;

		const struct bench_extra *p2 = series_get_extra(b, "paired_on_off");
		const struct bench_extra *p4 =
			series_get_extra(find_series(st, "handoff-4", "ntsync-pi-off"),
					 "paired_on_off");

		t->known = true;
		t->met = r2 >= 0.95 && r4 >= 0.95;
		snprintf(t->detail, sizeof(t->detail),
			 "2 threads %.2fx, 4 threads %.2fx (trial by trial: %.2fx, %.2fx)",
			 r2, r4, p2 ? p2->val : NAN, p4 ? p4->val : NAN);
	}

	t = add_target(st, "inversion",
		       "inversion worst case with PI <= 1/10 of PI off and <= 1x PI futex");
	a = find_series(st, "inversion", "ntsync-pi");
	b = find_series(st, "inversion", "ntsync-pi-off");
	c = find_series(st, "inversion", "pi-futex");
	if (a && b && c) {
		double r_off = a->sum.max / b->sum.max, r_fx = a->sum.max / c->sum.max;

		t->known = true;
		t->met = r_off <= 0.1 && r_fx <= 1.0;
		snprintf(t->detail, sizeof(t->detail),
			 "max %.0f us: %.3fx of PI off (%.0f us), %.2fx of PI futex (%.0f us)",
			 a->sum.max, r_off, b->sum.max, r_fx, c->sum.max);
	}

	t = add_target(st, "channel-rtt", "channel round trip median <= 0.5x unix socket");
	a = find_series(st, "channel-rtt", "ntsync-channel");
	b = find_series(st, "channel-rtt", "unix-socket");
	if (a && b) {
		double r = a->sum.p50 / b->sum.p50;

		t->known = true;
		t->met = r <= 0.5;
		snprintf(t->detail, sizeof(t->detail), "%.2fx (%.1f us vs %.1f us)",
			 r, a->sum.p50, b->sum.p50);
	}

	t = add_target(st, "burst", "burst drain ops/s >= 2x one AGGREGATE_WAIT per entry");
	a = find_series(st, "burst", "aggregate-drain");
	b = find_series(st, "burst", "aggregate-per-entry");
	if (a && b) {
		double r = a->sum.p50 / b->sum.p50;

		t->known = true;
		t->met = r >= 2.0;
		snprintf(t->detail, sizeof(t->detail), "%.2fx (%.0f vs %.0f ops/s)",
			 r, a->sum.p50, b->sum.p50);
	}
}

/*
 * raw-sections: each row group's growth from n=1 to the largest n that ran
 * (the last row of the group); <= 2x everywhere is log-like.
 */
static void eval_sections(struct run_state *st)
{
	int i = find_scenario("raw-sections"), j, g;
	struct target *t = add_target(st, "raw-sections",
				      "raw-sections growth n=max / n=1 <= 2x in every row group");
	size_t off = 0;
	bool any = false, met = true;
	struct result *res;

	if (i < 0 || !st->selected[i])
		return;
	res = &st->res[i];
	for (g = 0; g <= res->s[res->ns ? res->ns - 1 : 0].group && res->ns; g++) {
		const struct series *ref = NULL, *last = NULL;
		const struct bench_extra *x, *control;
		char group[48];
		char *dot;

		for (j = 0; j < res->ns; j++) {
			if (res->s[j].group != g || res->s[j].status != ST_OK)
				continue;
			if (!ref)
				ref = &res->s[j];
			last = &res->s[j];
		}
		if (!ref || last == ref || ref->sum.p50 <= 0)
			continue;
		snprintf(group, sizeof(group), "%s", ref->name);
		dot = strchr(group, '.');
		if (dot)
			*dot = 0;
		x = series_get_extra(last, "n");
		/* A control row (not ntsync) is shown, not judged. */
		control = series_get_extra(ref, "control");
		if (!control) {
			any = true;
			met = met && last->sum.p50 / ref->sum.p50 <= 2.0;
		}
		if (off < sizeof(t->detail))
			off += snprintf(t->detail + off, sizeof(t->detail) - off,
					"%s%s%s %.1fx@%g", off ? ", " : "",
					control ? "control " : "", group,
					last->sum.p50 / ref->sum.p50, x ? x->val : 0);
	}
	t->known = any;
	t->met = any && met;
	if (!any)
		snprintf(t->detail, sizeof(t->detail), "not measured");
}

static void print_targets(struct run_state *st)
{
	int i;

	printf("\nTargets (figures, not pass/fail):\n");
	for (i = 0; i < st->ntargets; i++) {
		struct target *t = &st->targets[i];

		printf("  %-12s %-7s %s: %s\n", t->id,
		       !t->known ? "n/a" : t->met ? "MET" : "MISSED", t->text,
		       t->detail);
	}
}

/* ---- JSON ------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static bool read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return true;
}

static void json_env(FILE *f, const struct bench_cfg *cfg)
{
	struct utsname u;
	const char *accel = getenv("NTSYNC_VM_ACCEL");
	char buf[256];
	DIR *d;
	struct dirent *de;
	bool first = true;
	time_t now = time(NULL);
	struct tm tm;

	uname(&u);
	fprintf(f, "  \"environment\": {\n    \"kernel_release\": ");
	json_str(f, u.release);
	fprintf(f, ",\n    \"kernel_version\": ");
	json_str(f, u.version);
	fprintf(f, ",\n    \"machine\": ");
	json_str(f, u.machine);
	fprintf(f, ",\n    \"vcpus\": %ld", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, ",\n    \"accel\": ");
	json_str(f, accel && *accel ? accel : "unknown");
	fprintf(f, ",\n    \"in_vm\": %s", getenv("NTSYNC_IN_VM") ? "true" : "false");
	if (getenv("NTSYNC_BENCH_HOST")) {
		fprintf(f, ",\n    \"host\": ");
		json_str(f, getenv("NTSYNC_BENCH_HOST"));
	}
	fprintf(f, ",\n    \"kernel_flavour\": \"%s\"", kernel_flavour());
	fprintf(f, ",\n    \"preempt_rt\": %s", kernel_is_rt() ? "true" : "false");
	if (read_small("/proc/sys/kernel/sched_rt_runtime_us", buf, sizeof(buf)))
		fprintf(f, ",\n    \"sched_rt_runtime_us\": %ld", strtol(buf, NULL, 10));
	/* The fair server (6.12+) lets SCHED_OTHER run under RT load. */
	if (read_small("/sys/kernel/debug/sched/fair_server/cpu0/runtime", buf, sizeof(buf)))
		fprintf(f, ",\n    \"fair_server_runtime_ns\": %ld", strtol(buf, NULL, 10));
	if (read_small("/sys/kernel/debug/sched/fair_server/cpu0/period", buf, sizeof(buf)))
		fprintf(f, ",\n    \"fair_server_period_ns\": %ld", strtol(buf, NULL, 10));
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, ",\n    \"date\": ");
	json_str(f, buf);
	fprintf(f, ",\n    \"ntsync_device\": %s",
		access("/dev/ntsync", F_OK) == 0 ? "true" : "false");
	fprintf(f, ",\n    \"module_parameters\": {");
	d = opendir(NTSYNC_PARAM_DIR);
	while (d && (de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", NTSYNC_PARAM_DIR, de->d_name);
		if (!read_small(path, buf, sizeof(buf)))
			continue;
		fprintf(f, "%s\n      ", first ? "" : ",");
		json_str(f, de->d_name);
		fputs(": ", f);
		json_str(f, buf);
		first = false;
	}
	if (d)
		closedir(d);
	fprintf(f, "%s},\n", first ? "" : "\n    ");
	fprintf(f, "    \"config\": {\"quick\": %s, \"runs\": %u, \"trials\": %u, "
		"\"trial_ms\": %u, \"samples\": %u, \"growth_samples\": %u, "
		"\"hog_ms\": %u, \"budget_ms\": %u}\n  },\n",
		cfg->quick ? "true" : "false", cfg->runs, cfg->trials,
		cfg->trial_ms, cfg->samples, cfg->growth_samples, cfg->hog_ms,
		cfg->budget_ms);
}

static void json_series(FILE *f, const struct result *res, const struct series *s)
{
	double r;
	int k;

	fprintf(f, "        {\"name\": ");
	json_str(f, s->name);
	fprintf(f, ", \"unit\": \"%s\", \"status\": \"%s\"", unit_str(s->unit),
		status_str(s->status));
	if (s->status != ST_OK) {
		fprintf(f, ", \"reason\": ");
		json_str(f, s->reason);
	} else {
		fprintf(f, ", \"n\": %zu, \"min\": ", s->sum.n);
		json_num(f, s->sum.min);
		fprintf(f, ", \"median\": ");
		json_num(f, s->sum.p50);
		fprintf(f, ", \"p90\": ");
		json_num(f, s->sum.p90);
		fprintf(f, ", \"p99\": ");
		json_num(f, s->sum.p99);
		fprintf(f, ", \"max\": ");
		json_num(f, s->sum.max);
		fprintf(f, ", \"mean\": ");
		json_num(f, s->sum.mean);
		fprintf(f, ", \"stddev\": ");
		json_num(f, s->sum.stddev);
	}
	fprintf(f, ", \"group\": %d, \"reference\": %s", s->group,
		s->is_ref ? "true" : "false");
	if (row_ratio(res, s, &r)) {
		fprintf(f, ", \"ratio\": ");
		json_num(f, r);
	}
	if (s->nextra) {
		fprintf(f, ", \"extra\": {");
		for (k = 0; k < s->nextra; k++) {
			fprintf(f, "%s", k ? ", " : "");
			json_str(f, s->extra[k].key);
			fputs(": ", f);
			if (s->extra[k].text[0])
				json_str(f, s->extra[k].text);
			else
				json_num(f, s->extra[k].val);
		}
		fputc('}', f);
	}
	fputc('}', f);
}

static int write_json(struct run_state *st, const struct bench_cfg *cfg,
		      const char *path)
{
	FILE *f = fopen(path, "we");
	bool first = true;
	size_t i;
	int j;

	if (!f) {
		fprintf(stderr, "ntsync-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"tool\": \"ntsync-bench\",\n  \"version\": 1,\n");
	json_env(f, cfg);
	fprintf(f, "  \"ratio_definition\": \"peer rows: reference median / row median; "
		"growth rows: row median / n=1 median\",\n");
	fprintf(f, "  \"scenarios\": [");
	for (i = 0; i < bench_nscenarios; i++) {
		struct result *res = &st->res[i];

		if (!st->selected[i])
			continue;
		fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
		json_str(f, bench_scenarios[i].name);
		fprintf(f, ", \"kernel\": \"%s\"", kernel_flavour());
		fprintf(f, ", \"description\": ");
		json_str(f, bench_scenarios[i].desc);
		fprintf(f, ", \"seconds\": %.2f", st->seconds[i]);
		if (res->note[0]) {
			fprintf(f, ", \"note\": ");
			json_str(f, res->note);
		}
		fprintf(f, ",\n      \"series\": [\n");
		for (j = 0; j < res->ns; j++) {
			json_series(f, res, &res->s[j]);
			fprintf(f, "%s\n", j + 1 < res->ns ? "," : "");
		}
		fprintf(f, "      ]}");
		first = false;
	}
	fprintf(f, "\n  ],\n  \"targets\": [");
	for (j = 0; j < st->ntargets; j++) {
		struct target *t = &st->targets[j];

		fprintf(f, "%s\n    {\"id\": ", j ? "," : "");
		json_str(f, t->id);
		fprintf(f, ", \"target\": ");
		json_str(f, t->text);
		fprintf(f, ", \"status\": \"%s\", \"detail\": ",
			!t->known ? "n/a" : t->met ? "met" : "missed");
		json_str(f, t->detail);
		fputc('}', f);
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f)) {
		fprintf(stderr, "ntsync-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- Raw data -------------------------------------------------------- */

/* Raw samples in measurement order; a long series is decimated to
 * DATA_MAX_LINES evenly spaced ranks of its sorted samples (min and max
 * included), which keeps its distribution for the plots and keeps the
 * archive that leaves the VM through its serial console small. */
#define DATA_MAX_LINES	4000

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void write_samples(FILE *f, const struct series *s)
{
	double *sorted;
	size_t k;

	fprintf(f, "# %s (%s), %zu samples\n", s->name, unit_str(s->unit), s->n);
	if (s->n <= DATA_MAX_LINES || !(sorted = malloc(s->n * sizeof(double)))) {
		for (k = 0; k < s->n; k++)
			fprintf(f, "%.6g\n", s->v[k]);
		return;
	}
	memcpy(sorted, s->v, s->n * sizeof(double));
	qsort(sorted, s->n, sizeof(double), cmp_dbl);
	fprintf(f, "# decimated: %d evenly spaced ranks of the sorted samples\n",
		DATA_MAX_LINES);
	for (k = 0; k < DATA_MAX_LINES; k++)
		fprintf(f, "%.6g\n",
			sorted[k * (s->n - 1) / (DATA_MAX_LINES - 1)]);
	free(sorted);
}

static int write_data(struct run_state *st, const char *dir)
{
	char path[PATH_MAX];
	size_t i;
	int j, err = 0;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "ntsync-bench: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < bench_nscenarios; i++) {
		struct result *res = &st->res[i];
		FILE *sf;

		if (!st->selected[i])
			continue;
		/* One line per series: name group x min median p90 p99 max. */
		snprintf(path, sizeof(path), "%s/%s.summary", dir, bench_scenarios[i].name);
		sf = fopen(path, "we");
		if (!sf) {
			fprintf(stderr, "ntsync-bench: %s: %s\n", path, strerror(errno));
			return -1;
		}
		fprintf(sf, "# series group x min median p90 p99 max (%s)\n",
			res->ns ? unit_str(res->s[0].unit) : "");
		for (j = 0; j < res->ns; j++) {
			struct series *s = &res->s[j];
			const struct bench_extra *x = series_get_extra(s, "n");
			FILE *f;

			if (s->status != ST_OK)
				continue;
			fprintf(sf, "%s %d %g %.4f %.4f %.4f %.4f %.4f\n", s->name,
				s->group, x ? x->val : (double)j, s->sum.min, s->sum.p50,
				s->sum.p90, s->sum.p99, s->sum.max);
			snprintf(path, sizeof(path), "%s/%s.%s.dat", dir,
				 bench_scenarios[i].name, s->name);
			f = fopen(path, "we");
			if (!f) {
				fprintf(stderr, "ntsync-bench: %s: %s\n", path, strerror(errno));
				err = -1;
				continue;
			}
			write_samples(f, s);
			if (fclose(f))
				err = -1;
		}
		if (fclose(sf))
			err = -1;
	}
	return err;
}

/* ---- Main ------------------------------------------------------------ */

static bool select_names(struct run_state *st, char *list)
{
	char *save = NULL, *name;

	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int i = find_scenario(name);

		if (i < 0) {
			fprintf(stderr, "ntsync-bench: unknown scenario '%s' (see --list)\n",
				name);
			return false;
		}
		st->selected[i] = true;
	}
	return true;
}

static bool takes_value(const char *opt)
{
	static const char *const opts[] = {
		"--only", "--json", "--data-dir", "--runs", "--trials",
		"--trial-ms", "--samples", "--growth-samples", "--hog-ms",
	};
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(opt, opts[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static struct run_state st;
	struct bench_cfg cfg = { 0 };
	const char *json = NULL, *data_dir = NULL;
	unsigned int runs = 0, trials = 0, trial_ms = 0, samples = 0;
	unsigned int gsamples = 0, hog_ms = 0;
	bool only = false, list = false, failed = false;
	size_t i;
	int a, j;

	for (a = 1; a < argc; a++) {
		const char *opt = argv[a];
		const char *val = a + 1 < argc ? argv[a + 1] : NULL;
		bool ok = true;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(opt, "--quick")) {
			cfg.quick = true;
			continue;
		} else if (!strcmp(opt, "--list")) {
			list = true;
			continue;
		}
		/* Every other option takes a value. */
		if (!takes_value(opt)) {
			fprintf(stderr, "ntsync-bench: unknown option %s\n", opt);
			usage(stderr, argv[0]);
			return 2;
		}
		if (!val) {
			fprintf(stderr, "ntsync-bench: %s needs a value\n", opt);
			usage(stderr, argv[0]);
			return 2;
		}
		if (!strcmp(opt, "--only")) {
			char *copy = strdup(val);

			only = true;
			ok = copy && select_names(&st, copy);
			free(copy);
		} else if (!strcmp(opt, "--json")) {
			json = val;
		} else if (!strcmp(opt, "--data-dir")) {
			data_dir = val;
		} else if (!strcmp(opt, "--runs")) {
			ok = parse_count(val, 1, 1000, &runs);
		} else if (!strcmp(opt, "--trials")) {
			ok = parse_count(val, 1, 100, &trials);
		} else if (!strcmp(opt, "--trial-ms")) {
			ok = parse_count(val, 10, 10000, &trial_ms);
		} else if (!strcmp(opt, "--samples")) {
			ok = parse_count(val, 10, 1000000, &samples);
		} else if (!strcmp(opt, "--growth-samples")) {
			ok = parse_count(val, 5, 100000, &gsamples);
		} else if (!strcmp(opt, "--hog-ms")) {
			ok = parse_count(val, 20, 2000, &hog_ms);
		} else {
			fprintf(stderr, "ntsync-bench: unknown option %s\n", opt);
			usage(stderr, argv[0]);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "ntsync-bench: bad value for %s: '%s'\n", opt, val);
			usage(stderr, argv[0]);
			return 2;
		}
		a++;
	}

	if (list) {
		for (i = 0; i < bench_nscenarios; i++)
			printf("%-16s %s\n", bench_scenarios[i].name, bench_scenarios[i].desc);
		return 0;
	}

	cfg.runs = runs ? runs : cfg.quick ? 5 : 20;
	cfg.trials = trials ? trials : cfg.quick ? 3 : 5;
	cfg.trial_ms = trial_ms ? trial_ms : cfg.quick ? 150 : 400;
	cfg.samples = samples ? samples : cfg.quick ? 500 : 5000;
	cfg.growth_samples = gsamples ? gsamples : cfg.quick ? 40 : 300;
	cfg.hog_ms = hog_ms ? hog_ms : cfg.quick ? 100 : 200;
	/* Bounds a latency series when the host makes every sample slow. */
	cfg.budget_ms = cfg.quick ? 3000 : 10000;
	cfg.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg.ncpu < 1)
		cfg.ncpu = 1;

	if (!only)
		for (i = 0; i < bench_nscenarios; i++)
			st.selected[i] = true;

	/* Page faults in the timed paths would only add noise. */
	mlockall(MCL_CURRENT | MCL_FUTURE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = 0; i < bench_nscenarios; i++) {
		uint64_t t0;

		if (!st.selected[i])
			continue;
		fprintf(stderr, "ntsync-bench: %s ...\n", bench_scenarios[i].name);
		t0 = now_ns();
		bench_scenarios[i].run(&cfg, &st.res[i]);
		st.seconds[i] = (double)(now_ns() - t0) / 1e9;
		for (j = 0; j < st.res[i].ns; j++) {
			struct series *s = &st.res[i].s[j];

			series_summarize(s);
			if (s->status == ST_ERROR) {
				fprintf(stderr, "ntsync-bench: %s/%s: error: %s\n",
					bench_scenarios[i].name, s->name, s->reason);
				failed = true;
			}
		}
		/* The first series of each group is its reference. */
		for (j = 0; j < st.res[i].ns; j++) {
			int k;
			bool seen = false;

			for (k = 0; k < j; k++)
				if (st.res[i].s[k].group == st.res[i].s[j].group)
					seen = true;
			st.res[i].s[j].is_ref = !seen;
		}
		fprintf(stderr, "ntsync-bench: %s done in %.1f s\n",
			bench_scenarios[i].name, st.seconds[i]);
	}
	pi_param_restore();

	eval_targets(&st);
	eval_sections(&st);
	print_table(&st);
	print_targets(&st);
	if (json && write_json(&st, &cfg, json))
		failed = true;
	if (data_dir && write_data(&st, data_dir))
		failed = true;
	for (i = 0; i < bench_nscenarios; i++)
		result_free(&st.res[i]);
	return failed ? 1 : 0;
}
