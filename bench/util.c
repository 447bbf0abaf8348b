// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: results, time, scheduling, futex and module-parameter
 * helpers shared by the scenarios.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"

/* ---- Results --------------------------------------------------------- */

struct series *res_add(struct result *res, const char *name,
		       enum bench_unit unit)
{
	struct series *s;

	if (res->ns >= BENCH_MAX_SERIES) {
		fprintf(stderr, "ntsync-bench: too many series (%s)\n", name);
		abort();
	}
	s = &res->s[res->ns++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->unit = unit;
	s->status = ST_OK;
	return s;
}

struct series *res_add_growth(struct result *res, const char *prefix,
			      unsigned int n, int group)
{
	struct series *s;
	char name[48];

	if (prefix)
		snprintf(name, sizeof(name), "%s.n=%u", prefix, n);
	else
		snprintf(name, sizeof(name), "n=%u", n);
	s = res_add(res, name, UNIT_US);
	series_extra(s, "n", n);
	s->group = group;
	return s;
}

void series_push(struct series *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv) {
			series_error(s, "out of memory");
			return;
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static void series_fail(struct series *s, enum bench_status st,
			const char *fmt, va_list ap)
{
	/* The first reason is the interesting one. */
	if (s->status != ST_OK)
		return;
	s->status = st;
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
}

void series_unsupported(struct series *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	series_fail(s, ST_UNSUPPORTED, fmt, ap);
	va_end(ap);
}

void series_error(struct series *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	series_fail(s, ST_ERROR, fmt, ap);
	va_end(ap);
}

static struct bench_extra *extra_slot(struct series *s, const char *key)
{
	int i;

	for (i = 0; i < s->nextra; i++)
		if (!strcmp(s->extra[i].key, key))
			return &s->extra[i];
	if (s->nextra == BENCH_MAX_EXTRA)
		return NULL;
	i = s->nextra++;
	memset(&s->extra[i], 0, sizeof(s->extra[i]));
	snprintf(s->extra[i].key, sizeof(s->extra[i].key), "%s", key);
	return &s->extra[i];
}

void series_extra(struct series *s, const char *key, double val)
{
	struct bench_extra *e = extra_slot(s, key);

	if (e) {
		e->val = val;
		e->text[0] = 0;
	}
}

void series_extra_text(struct series *s, const char *key, const char *fmt, ...)
{
	struct bench_extra *e = extra_slot(s, key);
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	if (!e->text[0])
		snprintf(e->text, sizeof(e->text), "-");
}

const struct bench_extra *series_get_extra(const struct series *s,
					   const char *key)
{
	int i;

	for (i = 0; i < s->nextra; i++)
		if (!strcmp(s->extra[i].key, key))
			return &s->extra[i];
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v. */
static double percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* The median of @v (n > 0), which it sorts: as a series' p50. */
double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return percentile(v, n, 50);
}

void series_summarize(struct series *s)
{
	struct bench_summary *m = &s->sum;
	double *sorted, sum = 0, sq = 0;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (s->status != ST_OK)
		return;
	if (s->n == 0) {
		series_error(s, "no samples");
		return;
	}
	sorted = malloc(s->n * sizeof(*sorted));
	if (!sorted) {
		series_error(s, "out of memory");
		return;
	}
	memcpy(sorted, s->v, s->n * sizeof(*sorted));
	qsort(sorted, s->n, sizeof(*sorted), cmp_double);
	for (i = 0; i < s->n; i++)
		sum += sorted[i];
	m->n = s->n;
	m->mean = sum / (double)s->n;
	for (i = 0; i < s->n; i++)
		sq += (sorted[i] - m->mean) * (sorted[i] - m->mean);
	m->stddev = s->n > 1 ? sqrt(sq / (double)(s->n - 1)) : 0;
	m->min = sorted[0];
	m->max = sorted[s->n - 1];
	m->p50 = percentile(sorted, s->n, 50);
	m->p90 = percentile(sorted, s->n, 90);
	m->p99 = percentile(sorted, s->n, 99);
	free(sorted);
}

void result_free(struct result *res)
{
	int i;

	for (i = 0; i < res->ns; i++) {
		free(res->s[i].v);
		res->s[i].v = NULL;
	}
}

/* ---- Time ------------------------------------------------------------ */

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void burn_cpu_ns(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns;

	while (thread_cpu_ns() < end)
		spin_iters(200);
}

void spin_iters(unsigned long iters)
{
	volatile unsigned long x = 0;
	unsigned long i;

	for (i = 0; i < iters; i++)
		x += i;
	(void)x;
}

/* ---- ntsync probing -------------------------------------------------- */

int bench_open_dev(char *why, size_t len)
{
	int fd = ntsync_open();

	if (fd < 0)
		snprintf(why, len, "%s: %s", NTSYNC_DEVICE_PATH, strerror(-fd));
	return fd;
}

bool bench_nspa_missing(int ret)
{
	return ret == -ENOTTY || ret == -EOPNOTSUPP;
}

int bench_nspa(int dev, char *why, size_t len)
{
	int ev = ntsync_event_create(dev, 1, 0);
	int ret;

	if (ev < 0) {
		snprintf(why, len, "CREATE_EVENT: %s", strerror(-ev));
		return ev;
	}
	ret = ntsync_event_set_pi(ev, 0, 0);
	close(ev);
	if (ret == 0)
		return 1;
	if (bench_nspa_missing(ret)) {
		snprintf(why, len, "driver without NSPA extensions (EVENT_SET_PI: %s)",
			 strerror(-ret));
		return 0;
	}
	snprintf(why, len, "EVENT_SET_PI probe: %s", strerror(-ret));
	return ret;
}

/* ---- Scheduling ------------------------------------------------------ */

pid_t bench_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

int sched_self(int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	if (policy == SCHED_OTHER)
		sp.sched_priority = 0;
	return -pthread_setschedparam(pthread_self(), policy, &sp);
}

int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *rt_probe_thread(void *arg)
{
	int *ret = arg;

	*ret = sched_self(SCHED_FIFO, 1);
	return NULL;
}

bool rt_allowed(char *why, size_t len)
{
	pthread_t t;
	int ret = 0, err;

	err = pthread_create(&t, NULL, rt_probe_thread, &ret);
	if (err) {
		snprintf(why, len, "pthread_create: %s", strerror(err));
		return false;
	}
	pthread_join(t, NULL);
	if (ret) {
		snprintf(why, len, "SCHED_FIFO not permitted (%s)", strerror(-ret));
		return false;
	}
	return true;
}

/* Read a small /proc file into @buf as a string: 0 or a negative errno. */
static int read_proc_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

/* /proc/self/task/@tid/stat into @buf: 0 or a negative errno. */
static int read_thread_stat(pid_t tid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	return read_proc_text(path, buf, len);
}

char thread_state(pid_t tid)
{
	char buf[512], *p;

	if (read_thread_stat(tid, buf, sizeof(buf)))
		return '?';
	/* "tid (comm) S ...": comm may hold anything, so use the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return '?';
	return p[2];
}

int thread_run_delay_ns(uint64_t *ns)
{
	unsigned long long cpu, delay;
	char buf[128];
	int ret;

	/* "cpu-time run-delay timeslices", in ns, of the calling thread. */
	ret = read_proc_text("/proc/thread-self/schedstat", buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "%llu %llu", &cpu, &delay) != 2)
		return -EIO;
	*ns = delay;
	return 0;
}

int thread_prio(pid_t tid, int *prio)
{
	char buf[512], *p;
	int field, ret;

	ret = read_thread_stat(tid, buf, sizeof(buf));
	if (ret)
		return ret;
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* After "(comm)": field 3 (state) ... field 18 (priority). */
	for (field = 2; field < 18 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	*prio = (int)strtol(p + 1, NULL, 10);
	return 0;
}

bool wait_sleeping(pid_t tid, uint64_t timeout_ns)
{
	uint64_t end = now_ns() + timeout_ns;

	for (;;) {
		char st = thread_state(tid);

		/* 'I': TASK_NOLOAD sleeps (a served SEND_PI sender). */
		if (st == 'S' || st == 'D' || st == 'I')
			return true;
		if (now_ns() > end)
			return false;
		/* Sleep, never spin: the caller may be a high-priority
		 * SCHED_FIFO thread sharing a CPU with @tid. */
		sleep_ns(20000);
	}
}

int thread_start_stack(pthread_t *t, void *(*fn)(void *), void *arg,
		       size_t stack)
{
	pthread_attr_t attr;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	err = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -err;
}

int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	return thread_start_stack(t, fn, arg, 256 * 1024);
}

static void noop_handler(int sig)
{
	(void)sig;
}

void bench_install_noop(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocked calls fail with EINTR */
	sigaction(sig, &sa, NULL);
}

/* ---- Futex helpers --------------------------------------------------- */

int futex_wait(atomic_uint *addr, unsigned int val, uint64_t rel_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(rel_ns / 1000000000ull),
		.tv_nsec = (long)(rel_ns % 1000000000ull),
	};

	if (syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0) < 0)
		return -errno;
	return 0;
}

int futex_wake(atomic_uint *addr, int n)
{
	long ret = syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);

	return ret < 0 ? -errno : (int)ret;
}

void gate_init(struct gate *g)
{
	atomic_store(&g->open, 0);
}

void gate_wait(struct gate *g)
{
	while (!atomic_load(&g->open))
		futex_wait(&g->open, 0, 1000000000ull);
}

void gate_open(struct gate *g)
{
	atomic_store(&g->open, 1);
	futex_wake(&g->open, 1 << 30);
}

/* ---- Module parameter "pi" ------------------------------------------- */

static int pi_orig = -1;

int pi_param_get(void)
{
	char buf[8] = { 0 };
	int fd = open(NTSYNC_PARAM_DIR "/pi", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

/* Async-signal-safe write of the value. */
static int pi_param_write(int on)
{
	int fd = open(NTSYNC_PARAM_DIR "/pi", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static void pi_param_atexit(void)
{
	pi_param_restore();
}

static void pi_param_signal(int sig)
{
	if (pi_orig >= 0)
		pi_param_write(pi_orig);
	signal(sig, SIG_DFL);
	raise(sig);
}

int pi_param_set(int on)
{
	int cur = pi_param_get();
	int ret;

	if (cur < 0)
		return cur;
	if (pi_orig < 0) {
		pi_orig = cur;
		atexit(pi_param_atexit);
		signal(SIGINT, pi_param_signal);
		signal(SIGTERM, pi_param_signal);
		signal(SIGHUP, pi_param_signal);
	}
	ret = pi_param_write(on);
	if (ret)
		return ret;
	cur = pi_param_get();
	if (cur < 0)
		return cur;
	return cur == !!on ? 0 : -EIO;
}

void pi_param_restore(void)
{
	if (pi_orig >= 0 && pi_param_get() != pi_orig)
		pi_param_write(pi_orig);
}

/* ---- Misc ------------------------------------------------------------ */

uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

double *alloc_samples(size_t n)
{
	return calloc(n ? n : 1, sizeof(double));
}
