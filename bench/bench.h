/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ntsync-bench: shared declarations.
 *
 * A scenario measures one thing with ntsync and with its peers.  It fills a
 * struct result with one struct series per implementation (the reference
 * first, normally the ntsync one).  A series holds raw samples, all in one
 * unit: microseconds for latencies, operations per second for throughput
 * (then one sample per timed trial).  A series that cannot be measured on
 * this system is marked unsupported with the reason, and never gets a
 * figure.
 */
#ifndef NTSYNC_BENCH_H
#define NTSYNC_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_SERIES	64
#define BENCH_MAX_EXTRA		10

enum bench_unit {
	UNIT_US,	/* latency in microseconds: lower is better */
	UNIT_OPS,	/* throughput in operations per second: higher is better */
};

enum bench_status {
	ST_OK,
	ST_UNSUPPORTED,	/* this system lacks what the series needs */
	ST_ERROR,	/* something failed during the measurement */
};

struct bench_summary {
	size_t n;
	double min, p50, p90, p99, max, mean, stddev;
};

struct bench_extra {
	char key[32];
	double val;
	char text[64];		/* when non-empty, printed instead of val */
};

struct series {
	char name[48];		/* file-name safe: [a-z0-9.=-] */
	enum bench_unit unit;
	enum bench_status status;
	char reason[192];
	double *v;
	size_t n, cap;
	struct bench_extra extra[BENCH_MAX_EXTRA];
	int nextra;
	struct bench_summary sum;
	int group;		/* rows of one group share a reference */
	bool is_ref;		/* the reference row of its group */
};

/* How the table's ratio column reads for a scenario. */
enum ratio_mode {
	RATIO_REF_OVER_PEER,	/* peer rows: ref median / peer median */
	RATIO_ROW_OVER_REF,	/* rows: row median / ref median (growth) */
};

struct result {
	struct series s[BENCH_MAX_SERIES];
	int ns;
	enum ratio_mode ratio_mode;
	char note[1024];
};

/* Iteration counts, scaled by --quick and overridable by options. */
struct bench_cfg {
	bool quick;
	unsigned int runs;		/* RT scenarios: wake order, inversion */
	unsigned int trials;		/* throughput trials per series */
	unsigned int trial_ms;		/* length of one throughput trial */
	unsigned int samples;		/* latency samples (rtt, floor) */
	unsigned int growth_samples;	/* samples per growth point */
	unsigned int hog_ms;		/* inversion: hog deadline per run */
	unsigned int budget_ms;		/* latency series: time budget each */
	int ncpu;
};

struct scenario {
	const char *name;
	const char *desc;
	void (*run)(const struct bench_cfg *cfg, struct result *res);
};

extern const struct scenario bench_scenarios[];
extern const size_t bench_nscenarios;

/* ---- Results --------------------------------------------------------- */

struct series *res_add(struct result *res, const char *name,
		       enum bench_unit unit);
/*
 * A row of a growth curve: "@prefix.n=@n" ("n=@n" without a prefix), in
 * µs, extra "n" = @n, in @group.  Rows of a group share the first one (the
 * smallest n) as reference, so the ratio column reads row median / n=1
 * median once the scenario sets RATIO_ROW_OVER_REF.
 */
struct series *res_add_growth(struct result *res, const char *prefix,
			      unsigned int n, int group);
void series_push(struct series *s, double v);
void series_unsupported(struct series *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void series_error(struct series *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void series_extra(struct series *s, const char *key, double val);
double median_of(double *v, size_t n);
void series_extra_text(struct series *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const struct bench_extra *series_get_extra(const struct series *s,
					   const char *key);
void series_summarize(struct series *s);
void result_free(struct result *res);

/* ---- Time ------------------------------------------------------------ */

uint64_t now_ns(void);
uint64_t thread_cpu_ns(void);
void sleep_ns(uint64_t ns);
/* Burn CPU on this thread until it has used @ns of CPU time. */
void burn_cpu_ns(uint64_t ns);
/* A fixed amount of work (no clock reads): @iters loop iterations. */
void spin_iters(unsigned long iters);

/* ---- ntsync probing -------------------------------------------------- */

/*
 * Open /dev/ntsync.  Returns the fd, or a negative errno and a reason in
 * @why (for an "unsupported" series).
 */
int bench_open_dev(char *why, size_t len);
/*
 * Whether the driver has the NSPA extensions: EVENT_SET_PI with prio 0 on a
 * fresh event is a plain set there and ENOTTY upstream.  Returns 1, 0 (with
 * @why filled), or a negative errno for other failures.
 */
int bench_nspa(int dev, char *why, size_t len);
/* Fill an unsupported reason for a libntsync result @ret of an NSPA call. */
bool bench_nspa_missing(int ret);

/* ---- Scheduling ------------------------------------------------------ */

pid_t bench_gettid(void);
/* 0 or a negative errno.  prio 0: SCHED_OTHER. */
int sched_self(int policy, int prio);
int pin_self(int cpu);
/* Can this process use SCHED_FIFO (tried on a scratch thread)? */
bool rt_allowed(char *why, size_t len);
/* State letter of one of our threads from /proc ('?' if unreadable). */
char thread_state(pid_t tid);
/* Field "priority" of /proc/self/task/@tid/stat: the effective priority,
 * negative while the thread runs at a real-time priority (also through PI).
 * 0 or a negative errno. */
int thread_prio(pid_t tid, int *prio);
/* Time the calling thread has spent runnable but waiting for a CPU, from
 * /proc/thread-self/schedstat.  0 or a negative errno. */
int thread_run_delay_ns(uint64_t *ns);
/* Wait until @tid sleeps (state S or D); false after @timeout_ns. */
bool wait_sleeping(pid_t tid, uint64_t timeout_ns);

/* Start a thread with a small stack (the process is mlockall'ed).
 * 0 or a negative errno. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* The same with a stack of @stack bytes (thousands of threads). */
int thread_start_stack(pthread_t *t, void *(*fn)(void *), void *arg,
		       size_t stack);

/* A handler that does nothing, without SA_RESTART: a blocked call that
 * @sig interrupts fails with EINTR (the watchdogs' alarm(), SIGUSR1). */
void bench_install_noop(int sig);

/* ---- Futex helpers --------------------------------------------------- */

/* FUTEX_WAIT with a relative timeout (shared, i.e. not PRIVATE). */
int futex_wait(atomic_uint *addr, unsigned int val, uint64_t rel_ns);
int futex_wake(atomic_uint *addr, int n);

/* A simple start gate: threads block until it opens. */
struct gate {
	atomic_uint open;
};
void gate_init(struct gate *g);
void gate_wait(struct gate *g);
void gate_open(struct gate *g);

/* ---- Parked waiters (waiters.c) ------------------------------------ */

/* Owner id of the benchmark's waits: none needs one, but 0 is EINVAL. */
#define BENCH_WAIT_OWNER	1

struct wpool;

struct waiter {
	struct wpool *pool;
	unsigned int idx;
	pthread_t th;
	atomic_int tid;
	atomic_uint armed;	/* 1 from just before a wait until it returns */
	int policy;
	int prio;		/* SCHED_OTHER: the nice value (0: unchanged) */
};

struct wpool {
	int dev, sem;
	atomic_uint stop;
	atomic_uint done;	/* futex: bumped after each wake */
	atomic_int last;	/* index of the waiter woken last */
	_Atomic uint64_t t_wake;
	atomic_int err;		/* first error (negative errno) */
	struct waiter *w;
	unsigned int n, started;
};

/*
 * Start @n threads (stacks of @stack bytes) that wait on semaphore @sem, in
 * the class @prio_of gives waiter i (NULL: SCHED_OTHER).  0 or a negative
 * errno; p->started threads run either way, wpool_stop() ends them.
 */
int wpool_start(struct wpool *p, int dev, int sem, unsigned int n,
		size_t stack, void (*prio_of)(unsigned int i, int *policy, int *prio));
/* Wait until @w sleeps in its wait; false after 5 s or a waiter error. */
bool wpool_parked(struct waiter *w);
/* Index of the first waiter that never parked, or -1. */
int wpool_all_parked(struct wpool *p);
/* Wait until a waiter reports a wake after @done_before; 0, -ETIMEDOUT
 * after 10 s, or a waiter's error. */
int wpool_await_wake(struct wpool *p, unsigned int done_before);
/* Stop and join every waiter, free the pool. */
void wpool_stop(struct wpool *p);
/* The same, waking the waiters one release at a time: no call wakes more
 * than one (a teardown that must not contain a wake-all). */
void wpool_stop_singly(struct wpool *p);

/* SCHED_FIFO 98..1, then nice -20..19, cycled (138 distinct priorities): a
 * prio_of for wpool_start().  Unprivileged, it needs RLIMIT_RTPRIO >= 98
 * and RLIMIT_NICE >= 40. */
void wpool_prio_cycle(unsigned int i, int *policy, int *prio);

/* ---- Dispatched requests (dispatch.c) --------------------------------- */

struct dispatch;
struct ntsync_channel_recv2_args;

struct dispatch_sender {
	struct dispatch *d;
	unsigned int idx;	/* its requests' payload_off */
	pthread_t th;
	atomic_int tid;		/* set when the thread runs */
	atomic_uint done;
};

/* The token a sender of a struct dispatch with tokens registers. */
#define DISPATCH_TOKEN(idx)	(0x7e57000000000000ull | (uint64_t)(idx))

/*
 * n sender threads looping in SEND_PI on channel @ch (prio 0, payload_off =
 * the sender's index, sending again as soon as they are replied to), and
 * the ids of the requests the caller took and did not reply to yet, in a
 * ring, oldest first.
 */
struct dispatch {
	int ch;
	/* Set before dispatch_fill(): each sender registers its tid with
	 * DISPATCH_TOKEN(its index) before it sends, and every take checks
	 * the token (EBADMSG). */
	bool tokens;
	const char *failed;	/* what dispatch_fill() failed at */
	atomic_uint stop;
	atomic_int err;		/* first SEND_PI failure (negative errno) */
	struct dispatch_sender *snd;
	unsigned int n, started;
	uint64_t *id;
	unsigned int *who;	/* the sender (index) of each id in the ring */
	unsigned int cap, head, count;
};

/* Allocate for @n senders on @ch; 0 or -ENOMEM. */
int dispatch_init(struct dispatch *d, int ch, unsigned int n);
/* Start the senders (stacks of @stack bytes) and take their requests as
 * they come, a chunk at a time: n DISPATCHED on success.  Else a negative
 * errno, d->failed says at what, d->started threads run either way. */
int dispatch_fill(struct dispatch *d, size_t stack);
/* RECV2 one request (30 s watchdog: SIGALRM must have a handler without
 * SA_RESTART) into *@a and the ring; 0 or a negative errno. */
int dispatch_take(struct dispatch *d, struct ntsync_channel_recv2_args *a);
uint64_t dispatch_pop_oldest(struct dispatch *d);
uint64_t dispatch_pop_newest(struct dispatch *d);
/* Tid of the sender of the oldest / newest request in the ring (which
 * must not be empty), 0 if it has not started. */
pid_t dispatch_sender_of(struct dispatch *d, bool oldest);
/* Reply to everything, stop and join the senders, free (the channel stays
 * open).  Returns the first SEND_PI failure, or 0. */
int dispatch_stop(struct dispatch *d);

/* ---- Module parameter "pi" ------------------------------------------- */

#define NTSYNC_PARAM_DIR	"/sys/module/ntsync/parameters"
/* Current value (0/1) or a negative errno. */
int pi_param_get(void);
/* Write it; 0 or a negative errno.  The first successful write remembers
 * the original value; pi_param_restore() puts it back (also at exit and on
 * SIGINT/SIGTERM). */
int pi_param_set(int on);
void pi_param_restore(void);

/* ---- Misc ------------------------------------------------------------ */

uint32_t xorshift32(uint32_t *state);
/* Cap a per-thread sample buffer allocation. */
double *alloc_samples(size_t n);

#endif /* NTSYNC_BENCH_H */
