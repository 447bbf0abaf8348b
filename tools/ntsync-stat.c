// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-stat: show the counters of the ntsync-nspa driver.
 *
 *   ntsync-stat                one table row: the totals since the module
 *                              was loaded
 *   ntsync-stat N [COUNT]      a row every N seconds (vmstat-like): the
 *   ntsync-stat -n COUNT N     totals first, then what changed since the
 *                              row before; COUNT rows, or until interrupted
 *   ntsync-stat -l             version, features and one counter per line
 *   ntsync-stat --check        one line: is the module loaded, which
 *                              driver (this one or upstream's in-tree
 *                              ntsync) and version, are the NSPA extensions
 *                              there, how many references hold it (open
 *                              devices and objects), can the caller open
 *                              /dev/ntsync; exit 0 only if it can
 *
 * Sources (all plain sysfs text files, read-only):
 *   /sys/module/ntsync/version          the module version string
 *   /sys/module/ntsync/initstate        "live" for a loaded module
 *   /sys/module/ntsync/refcnt           references to a loaded module
 *   /sys/class/misc/ntsync/features     space-separated NSPA feature names
 *   /sys/class/misc/ntsync/stats/<name> one unsigned 64-bit decimal number
 *
 * Every regular file in stats/ is a column, sorted by name: counters the
 * driver adds later show up without a change here.  Some of them are gauges
 * (live objects, pending requests): their "delta" is the net change and may
 * be negative.
 *
 * Exit status: 0 on success, 1 when the driver (or, for --check, a usable
 * /dev/ntsync) is not there or a read fails, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MODULE_DIR	"/sys/module/ntsync"
#define MISC_DIR	"/sys/class/misc/ntsync"
#define STATS_DIR	MISC_DIR "/stats"
#define DEVICE		"/dev/ntsync"

static const char *progname = "ntsync-stat";

/* Prefix for every path above (--root, for tests); "" on a real system. */
static const char *root = "";

struct counter {
	char *name;
	uint64_t value;
	bool valid;	/* false: the file could not be read or parsed */
};

struct snapshot {
	struct counter *c;
	size_t n;
};

static void path_of(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "%s%s", root, path);
}

static bool exists(const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	path_of(full, sizeof(full), path);
	return stat(full, &st) == 0;
}

/*
 * Read the first line of a small file into buf (without the newline).
 * Returns 0 or a negative errno.
 */
static int read_line_at(int dirfd, const char *path, char *buf, size_t size)
{
	ssize_t len;
	size_t used = 0;
	int fd, err;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used < size - 1) {
		len = read(fd, buf + used, size - 1 - used);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			close(fd);
			return err;
		}
		if (len == 0)
			break;
		used += (size_t)len;
	}
	close(fd);
	buf[used] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_line(const char *path, char *buf, size_t size)
{
	char full[PATH_MAX];

	path_of(full, sizeof(full), path);
	return read_line_at(AT_FDCWD, full, buf, size);
}

/* Strict decimal u64: digits only, no sign, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return false;
	*out = v;
	return true;
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].name);
	free(s->c);
	s->c = NULL;
	s->n = 0;
}

static int counter_cmp(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Read every regular file of the stats directory.  Returns 0, or a
 * negative errno when the directory itself cannot be read (then *s is
 * empty).
 */
static int snapshot_read(struct snapshot *s)
{
	char full[PATH_MAX], buf[64];
	struct dirent *de;
	size_t cap = 0;
	struct stat st;
	DIR *dir;
	int err;

	s->c = NULL;
	s->n = 0;
	path_of(full, sizeof(full), STATS_DIR);
	dir = opendir(full);
	if (!dir)
		return -errno;
	while ((errno = 0, de = readdir(dir))) {
		struct counter *c;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (s->n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			struct counter *nc = realloc(s->c, ncap * sizeof(*nc));

			if (!nc)
				goto nomem;
			s->c = nc;
			cap = ncap;
		}
		c = &s->c[s->n];
		c->name = strdup(de->d_name);
		if (!c->name)
			goto nomem;
		s->n++;
		c->valid = read_line_at(dirfd(dir), de->d_name, buf,
					sizeof(buf)) == 0 &&
			   parse_u64(buf, &c->value);
		if (!c->valid)
			c->value = 0;
	}
	err = errno ? -errno : 0;
	closedir(dir);
	if (err) {
		snapshot_free(s);
		return err;
	}
	if (s->n)
		qsort(s->c, s->n, sizeof(*s->c), counter_cmp);
	return 0;

nomem:
	closedir(dir);
	snapshot_free(s);
	return -ENOMEM;
}

static bool same_columns(const struct snapshot *a, const struct snapshot *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->c[i].name, b->c[i].name))
			return false;
	return true;
}

/*
 * Why there are no counters to show, on stderr.  err is the errno from
 * reading the stats directory.
 */
static void explain_no_stats(int err)
{
	if (err == -ENOENT && !exists(MISC_DIR))
		fprintf(stderr, "%s: the ntsync module is not loaded (no %s)\n",
			progname, MISC_DIR);
	else if (err == -ENOENT)
		fprintf(stderr,
			"%s: this ntsync driver has no statistics (no %s): not ntsync-nspa, or an older version\n",
			progname, STATS_DIR);
	else
		fprintf(stderr, "%s: %s: %s\n", progname, STATS_DIR,
			strerror(-err));
}

/* ---- Table output ------------------------------------------------------ */

static int *widths;

static int digits_u64(uint64_t v)
{
	int d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

static void print_header(const struct snapshot *s)
{
	free(widths);
	widths = calloc(s->n ? s->n : 1, sizeof(*widths));
	if (!widths) {
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	for (size_t i = 0; i < s->n; i++) {
		int w = (int)strlen(s->c[i].name);
		int d = digits_u64(s->c[i].value);

		widths[i] = w > d ? w : d;
		printf("%s%*s", i ? " " : "", widths[i], s->c[i].name);
	}
	printf("\n");
}

/* prev NULL: totals; otherwise what changed since prev (same columns). */
static void print_row(const struct snapshot *cur, const struct snapshot *prev)
{
	char cell[32];

	for (size_t i = 0; i < cur->n; i++) {
		const struct counter *c = &cur->c[i];

		if (!c->valid || (prev && !prev->c[i].valid))
			snprintf(cell, sizeof(cell), "?");
		else if (prev)
			snprintf(cell, sizeof(cell), "%" PRId64,
				 (int64_t)(c->value - prev->c[i].value));
		else
			snprintf(cell, sizeof(cell), "%" PRIu64, c->value);
		printf("%s%*s", i ? " " : "", widths[i], cell);
	}
	printf("\n");
	fflush(stdout);
}

static void warn_invalid(const struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->c[i].valid)
			fprintf(stderr,
				"%s: %s/%s: not a decimal number (shown as ?)\n",
				progname, STATS_DIR, s->c[i].name);
}

static void timespec_add(struct timespec *t, double seconds)
{
	time_t whole = (time_t)seconds;	/* seconds > 0: truncation */

	t->tv_sec += whole;
	t->tv_nsec += (long)((seconds - (double)whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* interval 0: one row of totals.  count 0: until interrupted. */
static int run_table(double interval, unsigned long count)
{
	struct snapshot prev = { 0 }, cur;
	struct timespec next;
	unsigned long rows = 0;
	int err;

	err = snapshot_read(&cur);
	if (err || cur.n == 0) {
		if (!err) {
			fprintf(stderr, "%s: %s is empty\n", progname,
				STATS_DIR);
			return 1;
		}
		explain_no_stats(err);
		return 1;
	}
	warn_invalid(&cur);
	clock_gettime(CLOCK_MONOTONIC, &next);

	for (;;) {
		if (rows == 0 || !same_columns(&cur, &prev)) {
			/* New columns (or first row): totals again. */
			print_header(&cur);
			print_row(&cur, NULL);
		} else {
			print_row(&cur, &prev);
		}
		rows++;
		snapshot_free(&prev);
		prev = cur;
		if (interval <= 0 || (count && rows >= count))
			break;

		timespec_add(&next, interval);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
		err = snapshot_read(&cur);
		if (err) {
			fprintf(stderr, "%s: %s: %s (module unloaded?)\n",
				progname, STATS_DIR, strerror(-err));
			snapshot_free(&prev);
			return 1;
		}
	}
	snapshot_free(&prev);
	return 0;
}

/* ---- -l ----------------------------------------------------------------- */

static int run_list(void)
{
	char version[128], features[512];
	struct snapshot s;
	int width = (int)strlen("features");
	int err;

	err = snapshot_read(&s);
	if (err) {
		explain_no_stats(err);
		return 1;
	}
	if (read_line(MODULE_DIR "/version", version, sizeof(version)))
		snprintf(version, sizeof(version), "unknown");
	if (read_line(MISC_DIR "/features", features, sizeof(features)))
		snprintf(features, sizeof(features), "none");
	for (size_t i = 0; i < s.n; i++)
		if ((int)strlen(s.c[i].name) > width)
			width = (int)strlen(s.c[i].name);

	printf("%-*s %s\n", width, "version", version);
	printf("%-*s %s\n", width, "features", features);
	for (size_t i = 0; i < s.n; i++) {
		if (s.c[i].valid)
			printf("%-*s %" PRIu64 "\n", width, s.c[i].name,
			       s.c[i].value);
		else
			printf("%-*s ?\n", width, s.c[i].name);
	}
	warn_invalid(&s);
	snapshot_free(&s);
	return 0;
}

/* ---- --check ------------------------------------------------------------ */

static int run_check(void)
{
	char state[32], version[128], features[512], dev[PATH_MAX], refs[32];
	const char *module, *driver;
	bool device_class = exists(MISC_DIR);
	/* Only this driver has the statistics and the feature list. */
	bool ours = exists(MISC_DIR "/features") || exists(STATS_DIR);
	int fd, open_err = 0;

	if (read_line(MODULE_DIR "/initstate", state, sizeof(state)) == 0)
		module = strcmp(state, "live") ? NULL : "module loaded";
	else if (device_class)
		module = "built into the kernel";
	else
		module = "module not loaded";
	if (!module) {
		/* "coming" or "going": loading or unloading right now. */
		static char buf[64];

		snprintf(buf, sizeof(buf), "module %s", state);
		module = buf;
	}

	if (ours)
		driver = "ntsync-nspa";
	else if (device_class || exists(MODULE_DIR))
		driver = "upstream ntsync";
	else
		driver = "none";

	/* An in-tree module has no version of its own: the kernel's. */
	if (read_line(MODULE_DIR "/version", version, sizeof(version)))
		snprintf(version, sizeof(version), "%s",
			 ours ? "unknown" : device_class ? "in-tree" : "none");

	if (read_line(MISC_DIR "/features", features, sizeof(features)) ||
	    features[0] == '\0')
		snprintf(features, sizeof(features), "none");

	/* Every open device and object file holds the module. */
	if (read_line(MODULE_DIR "/refcnt", refs, sizeof(refs)) ||
	    refs[0] == '\0')
		snprintf(refs, sizeof(refs), "%s",
			 device_class ? "unknown" : "none");

	path_of(dev, sizeof(dev), DEVICE);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		open_err = errno;
	else
		close(fd);

	printf("ntsync: %s; driver: %s; version: %s; NSPA extensions: %s; references: %s; %s: ",
	       module, driver, version, features, refs, DEVICE);
	if (open_err)
		printf("not usable (%s)\n", strerror(open_err));
	else
		printf("usable\n");
	return open_err ? 1 : 0;
}

/* ---- Arguments ---------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-n COUNT] [INTERVAL [COUNT]]\n"
		"       %s -l | --list\n"
		"       %s --check\n"
		"Show the counters of the ntsync-nspa driver (/sys/class/misc/ntsync/stats).\n"
		"\n"
		"  (no INTERVAL)    one row: totals since the module was loaded\n"
		"  INTERVAL         seconds between rows (may be fractional); the first\n"
		"                   row holds the totals, each later row the change since\n"
		"                   the row before\n"
		"  -n, --count N    stop after N rows (default: until interrupted)\n"
		"  -l, --list       version, features and one counter per line\n"
		"  -c, --check      one line: module loaded, version, NSPA extensions,\n"
		"                   /dev/ntsync usable; exit 0 only if it is usable\n"
		"      --root DIR   read DIR/sys/... and DIR/dev/ntsync instead (testing)\n"
		"  -h, --help       this text\n",
		progname, progname, progname);
}

static bool parse_count(const char *s, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0)
		return false;
	*out = v;
	return true;
}

static bool parse_interval(const char *s, double *out)
{
	double v;
	char *end;

	if ((*s < '0' || *s > '9') && *s != '.')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 86400.0 * 365)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "list", no_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool check = false, list = false, have_count = false;
	unsigned long count = 0;
	double interval = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "+n:lch", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_count(optarg, &count)) {
				fprintf(stderr, "%s: bad count '%s'\n",
					progname, optarg);
				return 2;
			}
			have_count = true;
			break;
		case 'l':
			list = true;
			break;
		case 'c':
			check = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (check || list) {
		if (optind < argc || have_count || (check && list)) {
			usage(stderr);
			return 2;
		}
		return check ? run_check() : run_list();
	}

	if (optind < argc) {
		if (!parse_interval(argv[optind], &interval)) {
			fprintf(stderr, "%s: bad interval '%s'\n", progname,
				argv[optind]);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		if (have_count || !parse_count(argv[optind], &count)) {
			usage(stderr);
			return 2;
		}
		optind++;
	}
	if (optind < argc || (count && interval <= 0)) {
		if (count && interval <= 0)
			fprintf(stderr, "%s: a count needs an interval\n",
				progname);
		else
			usage(stderr);
		return 2;
	}
	return run_table(interval, count);
}
