// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: raw-sections (issue 13).  How the cost of one ioctl grows
 * with a count that any caller controls, measured through the ioctls only,
 * so that it reads the same before and after the driver's lists become
 * ordered trees.  Every row group is a growth curve (row median / n=1
 * median); the target is <= 2x at the largest n (log-like growth).
 *
 *   reply-miss     REPLY of an id never issued (ENOENT) with n requests
 *                  DISPATCHED: the lookup alone, no wake; mean over batches
 *   reply-newest,  REPLY of the newest / oldest of the n DISPATCHED
 *   reply-oldest   requests; its sender sends again and the receiver takes
 *                  it, so n stays constant.  The senders and the receiver
 *                  share CPU 0, the receiver at SCHED_FIFO: the woken
 *                  sender cannot preempt the timed call.
 *   token-rtt      SEND_PI + RECV2 + REPLY round trip seen by the sender,
 *                  with n tids registered on the channel: the sender's own
 *                  first, then n-1 fake ones (its tid + 64 k: one chain of
 *                  a hash of up to 64 buckets, the longest walk a caller
 *                  can arrange today); sender and receiver share CPU 0
 *   queue-wait     WAIT_ANY with an expired deadline on a semaphore with n
 *                  waiters queued (SCHED_FIFO 98..1 and nice -20..19,
 *                  cycled), by a SCHED_FIFO 99 thread: it is queued in
 *                  front of all of them, the wake pass runs, then it times
 *                  out and leaves; mean over batches
 *   wake-release   SEM_RELEASE(1) waking the best of those n waiters (the
 *                  wake pass over the queue); the woken waiter queues again.
 *                  The waiters and the measuring thread share CPU 0.
 *   wait-records   WAIT_ANY satisfied at once (a semaphore with count) by
 *                  a thread with no boost while n other threads each hold
 *                  an EVENT_SET_PI boost (one boost record each, checked in
 *                  the module's pi_records): the start of every wait looks
 *                  the caller's record up; mean over batches
 *   futex-oldest   control, not ntsync: FUTEX_WAKE of the one of n
 *                  threads that has slept the longest (round robin), the
 *                  way reply-oldest wakes its senders: the cost of waking a
 *                  long sleeper here, apart from the driver's
 *   unlock-pi      final MUTEX_UNLOCK of an uncontended mutex by a
 *                  SCHED_OTHER thread while n sender/receiver pairs do PI
 *                  work (SEND_PI at SCHED_FIFO 1..50 boosting the
 *                  receiver, REPLY ending the boost) on their own channels
 *
 * The n waiting threads are real threads: the process unlocks its memory
 * for this scenario (thousands of stacks) and locks it again afterwards.
 * A point that the system cannot set up (thread limit, memory, a cap of the
 * driver) or that would take too long is not run, and the note says why.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"
#include "scenarios.h"

#define SEC_STACK	(64 * 1024)
#define SEC_BATCH	20
#define SEC_WARMUP	10
/* Kept samples a point gets even when its budget is spent. */
#define SEC_MIN_KEPT	10
#define SEC_MAX_POINTS	5
#define SEC_QUIT	UINT64_MAX
/* The measuring thread of the queue rows, above every waiter. */
#define SEC_TOP_PRIO	99
#define SEC_PI_PRIOS	50

static const unsigned int sec_n[SEC_MAX_POINTS] = { 1, 10, 100, 1000, 10000 };
static const unsigned int pi_n[] = { 1, 8, 64 };
#define PI_POINTS	(sizeof(pi_n) / sizeof(pi_n[0]))

enum sec_group {
	G_REPLY_MISS, G_REPLY_NEWEST, G_REPLY_OLDEST, G_TOKEN, G_QUEUE,
	G_WAKE, G_RECORDS, G_FUTEX_OLDEST, G_UNLOCK, G_COUNT,
};

static const char *const sec_names[G_COUNT] = {
	"reply-miss", "reply-newest", "reply-oldest", "token-rtt",
	"queue-wait", "wake-release", "wait-records", "futex-oldest",
	"unlock-pi",
};

struct sec_run {
	const struct bench_cfg *cfg;
	struct result *res;
	struct series *row[G_COUNT][SEC_MAX_POINTS];
	bool cut[G_COUNT][SEC_MAX_POINTS];
	unsigned int npoints;		/* of sec_n */
	uint64_t setup_limit_ns;	/* a point's setup may take this long */
	bool rt;
	int meas_prio;			/* SCHED_FIFO prio of the sampling, or 0 */
	cpu_set_t affinity;		/* the caller's, restored at the end */
	int dev;
	size_t note_off;
};

static void sec_note(struct sec_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sec_note(struct sec_run *r, const char *fmt, ...)
{
	size_t len = sizeof(r->res->note);
	va_list ap;
	int n;

	if (r->note_off >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->res->note + r->note_off, len - r->note_off, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->note_off += (size_t)n;
}

/*
 * Point @p of groups @first..@last cannot run: no rows for it or any larger
 * n, and the note says why.
 */
static void sec_cut(struct sec_run *r, int first, int last, unsigned int p,
		    unsigned int n, const char *why)
{
	unsigned int q, np = first == G_UNLOCK ? PI_POINTS : r->npoints;
	int g;

	for (g = first; g <= last; g++)
		for (q = p; q < np; q++)
			r->cut[g][q] = true;
	sec_note(r, "; %s%s%s: stops below n=%u (%s)", sec_names[first],
		 first == last ? "" : "..", first == last ? "" : sec_names[last],
		 n, why);
}

/* Whether a point of @n would take too long, from the last one's setup. */
static bool sec_too_slow(struct sec_run *r, uint64_t last_ns,
			 unsigned int last_n, unsigned int n, char *why,
			 size_t len)
{
	double est = (double)last_ns * ((double)n / (double)last_n);

	if (!last_n || est <= (double)r->setup_limit_ns)
		return false;
	snprintf(why, len, "setup at n=%u took %.1f s, n=%u estimated %.0f s",
		 last_n, (double)last_ns / 1e9, n, est / 1e9);
	return true;
}

/*
 * Setups run at SCHED_OTHER (a real-time thread starting thousands of
 * threads on one CPU would starve that CPU's kernel threads); only the
 * sampling runs at r->meas_prio.
 */
static void sec_sampling(struct sec_run *r, bool on)
{
	if (on && r->rt && r->meas_prio)
		sched_self(SCHED_FIFO, r->meas_prio);
	else
		sched_self(SCHED_OTHER, 0);
}

/* Progress on stderr: the console log shows where a long run is. */
static void sec_progress(const char *what, unsigned int n, uint64_t setup_ns)
{
	fprintf(stderr, "ntsync-bench: raw-sections: %s n=%u, setup %.1f s\n",
		what, n, (double)setup_ns / 1e9);
}

static bool sec_resource_error(int ret)
{
	return ret == -EAGAIN || ret == -ENOMEM || ret == -ENOSPC ||
	       ret == -EMFILE || ret == -ENFILE;
}

/*
 * Point @p (count @n) failed to set up with @ret (@why says where): the
 * system's limits end the curve of groups @first..@last there, anything
 * else is an error of row @s.
 */
static void sec_setup_failed(struct sec_run *r, int first, int last,
			     unsigned int p, unsigned int n, struct series *s,
			     int ret, const char *why)
{
	if (sec_resource_error(ret))
		sec_cut(r, first, last, p, n, why);
	else
		series_error(s, "%s", why);
}

/*
 * Whether sample @smp of a point is one too many: the warm-up samples, then
 * at least SEC_MIN_KEPT kept ones, then until a third of the series budget,
 * counted from the end of the warm-up, is spent.
 */
static bool sec_out_of_time(const struct sec_run *r, unsigned int smp,
			    uint64_t *end)
{
	if (smp == SEC_WARMUP)
		*end = now_ns() + (uint64_t)r->cfg->budget_ms * 1000000ull / 3;
	return smp >= SEC_WARMUP + SEC_MIN_KEPT && now_ns() > *end;
}

/* ---- REPLY with n dispatched requests (dispatch.c) ------------------- */

/*
 * One timed REPLY of the oldest or newest request, then the re-sent request
 * is taken again.  Its sender is asleep first: the one that has just sent
 * again (the newest, or the only one at n = 1) may still be on its way to
 * sleep, preempted by the receiver, and waking a task that has not slept
 * yet costs less than waking one that has.
 */
static int rp_reply_sample(struct dispatch *d, bool oldest, struct series *s,
			   bool keep)
{
	struct ntsync_channel_recv2_args a;
	pid_t sender = dispatch_sender_of(d, oldest);
	uint64_t t0, t1, id;
	int ret;

	if (!sender || !wait_sleeping(sender, 5000000000ull))
		return -ETIMEDOUT;
	id = oldest ? dispatch_pop_oldest(d) : dispatch_pop_newest(d);
	t0 = now_ns();
	ret = ntsync_channel_reply(d->ch, id);
	t1 = now_ns();
	if (ret)
		return ret;
	if (keep)
		series_push(s, (double)(t1 - t0) / 1e3);
	return dispatch_take(d, &a);
}

static void rp_point(struct sec_run *r, unsigned int p, uint64_t *setup_ns)
{
	struct series *miss = r->row[G_REPLY_MISS][p];
	struct series *newest = r->row[G_REPLY_NEWEST][p];
	struct series *oldest = r->row[G_REPLY_OLDEST][p];
	unsigned int n = sec_n[p], i, smp;
	struct dispatch d;
	uint64_t t_setup = now_ns(), budget_end;
	char why[128];
	int ch, ret;

	ch = ntsync_channel_create(r->dev, 1024);
	if (ch < 0) {
		series_error(miss, "CREATE_CHANNEL: %s", strerror(-ch));
		return;
	}
	if (dispatch_init(&d, ch, n)) {
		sec_cut(r, G_REPLY_MISS, G_REPLY_OLDEST, p, n, "out of memory");
		close(ch);
		return;
	}
	/* The senders inherit CPU 0 from us (pinned by the caller). */
	ret = dispatch_fill(&d, SEC_STACK);
	if (ret && !strcmp(d.failed, "RECV2")) {
		series_error(miss, "RECV2 of request %u: %s", d.count, strerror(-ret));
		goto stop;
	}
	if (ret) {
		snprintf(why, sizeof(why), "pthread_create: %s after %u threads",
			 strerror(-ret), d.started);
		sec_setup_failed(r, G_REPLY_MISS, G_REPLY_OLDEST, p, n, miss, ret,
				 why);
		goto stop;
	}
	*setup_ns = now_ns() - t_setup;
	sec_progress("reply", n, *setup_ns);

	/* Every sender is blocked in SEND_PI, its request DISPATCHED. */
	sec_sampling(r, true);
	budget_end = 0;
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		bool keep = smp >= SEC_WARMUP;
		uint64_t t0, t1;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(newest, "budget", "hit");
			break;
		}
		t0 = now_ns();
		for (i = 0; i < SEC_BATCH; i++) {
			ret = ntsync_channel_reply(ch, SEC_QUIT);
			if (ret != -ENOENT)
				break;
		}
		t1 = now_ns();
		if (ret != -ENOENT) {
			series_error(miss, "REPLY of an unknown id: %s (expected ENOENT)",
				     ret ? strerror(-ret) : "success");
			break;
		}
		if (keep)
			series_push(miss, (double)(t1 - t0) / 1e3 / SEC_BATCH);
		ret = rp_reply_sample(&d, false, newest, keep);
		if (!ret)
			ret = rp_reply_sample(&d, true, oldest, keep);
		if (ret) {
			series_error(newest, "REPLY/RECV2: %s", strerror(-ret));
			break;
		}
	}
	series_extra(miss, "dispatched", d.count);
	sec_sampling(r, false);

stop:
	if (miss->status != ST_OK) {
		series_error(newest, "%s", miss->reason);
		series_error(oldest, "%s", miss->reason);
	} else if (newest->status != ST_OK) {
		series_error(oldest, "%s", newest->reason);
	}
	ret = dispatch_stop(&d);
	if (ret)
		series_error(newest, "SEND_PI: %s", strerror(-ret));
	close(ch);
}

/* ---- SEND_PI + RECV2 with n registered tids -------------------------- */

struct tk_shared {
	int ch;
	uint64_t token;		/* the sender's */
	atomic_int err;
};

static void *tk_receiver_main(void *arg)
{
	struct tk_shared *sh = arg;
	struct ntsync_channel_recv2_args a;

	for (;;) {
		int ret = ntsync_channel_recv2(sh->ch, &a);

		if (!ret && a.payload_off != SEC_QUIT && a.thread_token != sh->token)
			ret = -EBADMSG;
		if (!ret)
			ret = ntsync_channel_reply(sh->ch, a.entry_id);
		if (ret) {
			int zero = 0;

			atomic_compare_exchange_strong(&sh->err, &zero, ret);
			/* The sender is answered below or stays blocked:
			 * its watchdog ends the send. */
			if (ret == -EBADMSG)
				ntsync_channel_reply(sh->ch, a.entry_id);
			else
				return NULL;
		}
		if (!ret && a.payload_off == SEC_QUIT)
			return NULL;
	}
}

static void tk_point(struct sec_run *r, unsigned int p, uint64_t *setup_ns)
{
	struct series *s = r->row[G_TOKEN][p];
	struct tk_shared sh = { .ch = -1 };
	unsigned int n = sec_n[p], k, smp;
	uint32_t tid = (uint32_t)bench_gettid();
	uint64_t t_setup = now_ns(), budget_end;
	bool started = false;
	pthread_t th;
	char why[128];
	int ret;

	sh.ch = ntsync_channel_create(r->dev, 16);
	if (sh.ch < 0) {
		series_error(s, "CREATE_CHANNEL: %s", strerror(-sh.ch));
		return;
	}
	sh.token = 0x7e57000000000000ull | tid;
	ret = ntsync_channel_register_thread(sh.ch, tid, sh.token);
	for (k = 1; k < n && !ret; k++)
		ret = ntsync_channel_register_thread(sh.ch, tid + 64 * k, k);
	if (ret) {
		snprintf(why, sizeof(why), "REGISTER_THREAD: %s after %u tids",
			 strerror(-ret), k);
		sec_setup_failed(r, G_TOKEN, G_TOKEN, p, n, s, ret, why);
		goto out;
	}
	ret = thread_start_stack(&th, tk_receiver_main, &sh, SEC_STACK);
	if (ret) {
		series_error(s, "pthread_create: %s", strerror(-ret));
		goto out;
	}
	started = true;
	*setup_ns = now_ns() - t_setup;
	sec_progress("token", n, *setup_ns);

	budget_end = 0;
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		uint64_t t0, t1;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(s, "budget", "hit");
			break;
		}
		alarm(30);
		t0 = now_ns();
		ret = ntsync_channel_send(sh.ch, 0, 0, smp, 0);
		t1 = now_ns();
		alarm(0);
		if (!ret)
			ret = atomic_load(&sh.err);
		if (ret) {
			series_error(s, "round trip: %s%s", strerror(-ret),
				     ret == -EBADMSG ? " (RECV2 returned another token)" : "");
			break;
		}
		if (smp >= SEC_WARMUP)
			series_push(s, (double)(t1 - t0) / 1e3);
	}
out:
	if (started) {
		alarm(30);
		if (ntsync_channel_send(sh.ch, 0, 0, SEC_QUIT, 0))
			pthread_kill(th, SIGALRM);
		alarm(0);
		pthread_join(th, NULL);
	}
	close(sh.ch);
}

/* ---- Queueing behind n waiters, and the wake pass over them ---------- */

static void qw_point(struct sec_run *r, unsigned int p, uint64_t *setup_ns)
{
	struct series *qs = r->row[G_QUEUE][p], *ws = r->row[G_WAKE][p];
	unsigned int n = sec_n[p], smp, k;
	uint64_t t_setup = now_ns(), budget_end;
	struct wpool pool = { 0 };
	char why[128];
	uint32_t idx, prev;
	int sem, ret, w;

	sem = ntsync_sem_create(r->dev, 0, 0x7fffffff);
	if (sem < 0) {
		series_error(qs, "CREATE_SEM: %s", strerror(-sem));
		series_error(ws, "CREATE_SEM: %s", strerror(-sem));
		return;
	}
	ret = wpool_start(&pool, r->dev, sem, n, SEC_STACK, wpool_prio_cycle);
	if (ret) {
		snprintf(why, sizeof(why), "pthread_create: %s after %u threads",
			 strerror(-ret), pool.started);
		sec_setup_failed(r, G_QUEUE, G_WAKE, p, n, qs, ret, why);
		goto stop;
	}
	w = wpool_all_parked(&pool);
	if (w >= 0) {
		ret = atomic_load(&pool.err);
		series_error(qs, "waiter %d never parked%s%s", w, ret ? ": " : "",
			     ret ? strerror(-ret) : "");
		goto stop;
	}
	*setup_ns = now_ns() - t_setup;
	sec_progress("queue", n, *setup_ns);

	sec_sampling(r, true);
	budget_end = 0;
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		bool keep = smp >= SEC_WARMUP;
		unsigned int done = atomic_load(&pool.done);
		uint64_t t0, t1;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(ws, "budget", "hit");
			break;
		}
		/* Deadline 0: long past, but the wait is queued first. */
		t0 = now_ns();
		for (k = 0; k < SEC_BATCH; k++) {
			ret = ntsync_wait_any(r->dev, &sem, 1, BENCH_WAIT_OWNER, 0,
					      0, 0, &idx);
			if (ret != -ETIMEDOUT)
				break;
		}
		t1 = now_ns();
		if (ret != -ETIMEDOUT) {
			series_error(qs, "WAIT_ANY with a past deadline: %s (expected ETIMEDOUT)",
				     ret ? strerror(-ret) : "success");
			break;
		}
		if (keep)
			series_push(qs, (double)(t1 - t0) / 1e3 / SEC_BATCH);

		t0 = now_ns();
		ret = ntsync_sem_release(sem, 1, &prev);
		t1 = now_ns();
		if (ret) {
			series_error(ws, "SEM_RELEASE: %s", strerror(-ret));
			break;
		}
		ret = wpool_await_wake(&pool, done);
		if (ret) {
			series_error(ws, "waking a waiter: %s", strerror(-ret));
			break;
		}
		if (keep)
			series_push(ws, (double)(t1 - t0) / 1e3);
		w = atomic_load(&pool.last);
		if (!wpool_parked(&pool.w[w])) {
			series_error(ws, "waiter %d never parked again", w);
			break;
		}
	}
	sec_sampling(r, false);
stop:
	if (qs->status != ST_OK)
		series_error(ws, "%s", qs->reason);
	wpool_stop(&pool);
	close(sem);
}

/* ---- A wait's start while n threads hold an EVENT_SET_PI boost -------- */

#define RC_RECORDS	"/sys/class/misc/ntsync/stats/pi_records"
#define RC_BOOST_PRIO	1

struct rc_pool {
	int dev;
	int event;		/* auto-reset: each EVENT_SET_PI wakes one holder */
	int quiet;		/* a semaphore that never runs out */
	atomic_uint boosted;	/* futex: holders woken with their boost */
	struct gate release;	/* open: the holders end their boosts */
	atomic_int err;		/* first error (negative errno) */
	pthread_t *th;
	unsigned int started;
};

/* The module's live boost records, or -1 if it does not say. */
static long rc_records(void)
{
	FILE *f = fopen(RC_RECORDS, "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Take one EVENT_SET_PI boost, hold it until released, end it by waiting. */
static void *rc_holder_main(void *arg)
{
	struct rc_pool *pool = arg;
	int expected = 0, ret;
	uint32_t idx;

	ret = ntsync_wait_any(pool->dev, &pool->event, 1, BENCH_WAIT_OWNER, 0,
			      NTSYNC_TIMEOUT_INFINITE, 0, &idx);
	if (ret)
		atomic_compare_exchange_strong(&pool->err, &expected, ret);
	atomic_fetch_add(&pool->boosted, 1);
	futex_wake(&pool->boosted, 1);
	gate_wait(&pool->release);
	/* The start of the next wait ends the boost: no record outlives us. */
	ntsync_wait_any(pool->dev, &pool->quiet, 1, BENCH_WAIT_OWNER, 0, 0, 0,
			&idx);
	return NULL;
}

/* Start holder @i and hand it its boost; 0 or a negative errno. */
static int rc_holder_add(struct rc_pool *pool, unsigned int i)
{
	uint64_t end = now_ns() + 10000000000ull;
	int ret;

	ret = thread_start_stack(&pool->th[i], rc_holder_main, pool, SEC_STACK);
	if (ret)
		return ret;
	pool->started++;
	ret = ntsync_event_set_pi(pool->event, SCHED_FIFO, RC_BOOST_PRIO);
	if (ret)
		return ret;
	while (atomic_load(&pool->boosted) == i) {
		futex_wait(&pool->boosted, i, 100000000ull);
		if (now_ns() > end)
			return -ETIMEDOUT;
	}
	return atomic_load(&pool->err);
}

static void rc_stop(struct rc_pool *pool)
{
	unsigned int i;
	uint32_t prev;

	gate_open(&pool->release);
	/* A holder still waiting for its boost ends with this one. */
	for (i = atomic_load(&pool->boosted); i < pool->started; i++)
		ntsync_event_set(pool->event, &prev);
	for (i = 0; i < pool->started; i++)
		pthread_join(pool->th[i], NULL);
	free(pool->th);
	if (pool->event >= 0)
		close(pool->event);
	if (pool->quiet >= 0)
		close(pool->quiet);
}

static void rc_point(struct sec_run *r, unsigned int p, uint64_t *setup_ns)
{
	struct series *s = r->row[G_RECORDS][p];
	unsigned int n = sec_n[p], i, smp, k;
	uint64_t t_setup = now_ns(), budget_end = 0;
	struct rc_pool pool = { .dev = r->dev, .event = -1, .quiet = -1 };
	long before = rc_records(), live;
	char why[128];
	uint32_t idx;
	int ret = 0;

	gate_init(&pool.release);
	pool.th = calloc(n, sizeof(*pool.th));
	pool.event = ntsync_event_create(r->dev, 0, 0);
	pool.quiet = ntsync_sem_create(r->dev, 0x7fffffff, 0x7fffffff);
	if (!pool.th || pool.event < 0 || pool.quiet < 0) {
		series_error(s, "setup: %s", !pool.th ? "out of memory" :
			     strerror(-(pool.event < 0 ? pool.event : pool.quiet)));
		goto stop;
	}
	for (i = 0; i < n && !ret; i++)
		ret = rc_holder_add(&pool, i);
	if (ret) {
		snprintf(why, sizeof(why), "holder %u: %s", i - 1, strerror(-ret));
		sec_setup_failed(r, G_RECORDS, G_RECORDS, p, n, s, ret, why);
		goto stop;
	}
	live = rc_records();
	if (before >= 0 && live >= 0 && live - before < (long)n) {
		series_error(s, "pi_records went from %ld to %ld with %u boosted holders",
			     before, live, n);
		goto stop;
	}
	*setup_ns = now_ns() - t_setup;
	sec_progress("records", n, *setup_ns);

	sec_sampling(r, true);
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		uint64_t t0, t1;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(s, "budget", "hit");
			break;
		}
		t0 = now_ns();
		for (k = 0; k < SEC_BATCH && !ret; k++)
			ret = ntsync_wait_any(r->dev, &pool.quiet, 1,
					      BENCH_WAIT_OWNER, 0, 0, 0, &idx);
		t1 = now_ns();
		if (ret) {
			series_error(s, "WAIT_ANY on a signaled semaphore: %s",
				     strerror(-ret));
			break;
		}
		if (smp >= SEC_WARMUP)
			series_push(s, (double)(t1 - t0) / 1e3 / SEC_BATCH);
	}
	sec_sampling(r, false);
stop:
	rc_stop(&pool);
}

/* ---- Control: FUTEX_WAKE of the longest sleeper of n threads ----------- */

/*
 * Not ntsync: reply-oldest wakes the sender that has slept the longest of
 * n, a different thread each time.  This row wakes such a thread with a
 * plain futex, the same way (round robin, on CPU 0, by a SCHED_FIFO 98
 * caller), so that the cost of waking a long sleeper under this VM can be
 * told from the driver's.
 */
struct fw_pool {
	atomic_uint stop;
	atomic_uint done;	/* futex: bumped by each woken thread */
	atomic_int err;		/* first error (negative errno) */
	atomic_uint *word;	/* per thread: 1 = get up */
	atomic_int *tid;
	pthread_t *th;
	unsigned int started;
};

struct fw_arg {
	struct fw_pool *pool;
	unsigned int i;
};

static void *fw_sleeper_main(void *arg)
{
	struct fw_arg *a = arg;
	struct fw_pool *pool = a->pool;
	atomic_uint *word = &pool->word[a->i];

	atomic_store(&pool->tid[a->i], bench_gettid());
	while (!atomic_load(&pool->stop)) {
		if (!atomic_load(word)) {
			futex_wait(word, 0, 10000000000ull);
			continue;
		}
		atomic_store(word, 0);
		atomic_fetch_add(&pool->done, 1);
		futex_wake(&pool->done, 1);
	}
	return NULL;
}

static void fw_point(struct sec_run *r, unsigned int p, uint64_t *setup_ns)
{
	struct series *s = r->row[G_FUTEX_OLDEST][p];
	unsigned int n = sec_n[p], i, smp;
	uint64_t t_setup = now_ns(), budget_end = 0;
	struct fw_pool pool = { 0 };
	struct fw_arg *args;
	char why[128];
	int ret = 0;

	pool.word = calloc(n, sizeof(*pool.word));
	pool.tid = calloc(n, sizeof(*pool.tid));
	pool.th = calloc(n, sizeof(*pool.th));
	args = calloc(n, sizeof(*args));
	if (!pool.word || !pool.tid || !pool.th || !args) {
		sec_cut(r, G_FUTEX_OLDEST, G_FUTEX_OLDEST, p, n, "out of memory");
		goto stop;
	}
	for (i = 0; i < n && !ret; i++) {
		args[i].pool = &pool;
		args[i].i = i;
		ret = thread_start_stack(&pool.th[i], fw_sleeper_main, &args[i],
					 SEC_STACK);
		if (!ret)
			pool.started++;
	}
	if (ret) {
		snprintf(why, sizeof(why), "pthread_create: %s after %u threads",
			 strerror(-ret), pool.started);
		sec_setup_failed(r, G_FUTEX_OLDEST, G_FUTEX_OLDEST, p, n, s, ret,
				 why);
		goto stop;
	}
	*setup_ns = now_ns() - t_setup;
	sec_progress("futex", n, *setup_ns);

	sec_sampling(r, true);
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		unsigned int k = smp % n, done = atomic_load(&pool.done);
		uint64_t t0, t1, end = now_ns() + 10000000000ull;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(s, "budget", "hit");
			break;
		}
		/* Asleep on its word, as a sender is in SEND_PI. */
		while (!atomic_load(&pool.tid[k]) ||
		       !wait_sleeping(atomic_load(&pool.tid[k]), 5000000000ull)) {
			if (now_ns() > end) {
				series_error(s, "thread %u never slept", k);
				goto out;
			}
			sleep_ns(20000);
		}
		atomic_store(&pool.word[k], 1);
		t0 = now_ns();
		ret = futex_wake(&pool.word[k], 1);
		t1 = now_ns();
		if (ret != 1) {
			series_error(s, "FUTEX_WAKE woke %d threads (expected 1)", ret);
			break;
		}
		if (smp >= SEC_WARMUP)
			series_push(s, (double)(t1 - t0) / 1e3);
		/* Let it run and report, as the receiver waits for the resend. */
		while (atomic_load(&pool.done) == done) {
			futex_wait(&pool.done, done, 100000000ull);
			if (now_ns() > end) {
				series_error(s, "thread %u never ran", k);
				goto out;
			}
		}
	}
out:
	sec_sampling(r, false);
stop:
	atomic_store(&pool.stop, 1);
	for (i = 0; i < pool.started; i++) {
		atomic_store(&pool.word[i], 1);
		futex_wake(&pool.word[i], 1);
	}
	for (i = 0; i < pool.started; i++)
		pthread_join(pool.th[i], NULL);
	free(args);
	free(pool.th);
	free(pool.tid);
	free(pool.word);
}

/* ---- MUTEX_UNLOCK while n pairs do PI work ---------------------------- */

struct pw_shared {
	atomic_uint stop;
	atomic_int err;
	atomic_ulong ops;	/* boosted round trips */
};

struct pw_pair {
	struct pw_shared *sh;
	int ch;
	int prio;
	pthread_t snd, rcv;
	bool snd_started, rcv_started;
};

static void pw_fail(struct pw_shared *sh, int ret)
{
	int zero = 0;

	atomic_compare_exchange_strong(&sh->err, &zero, ret);
}

static void *pw_sender_main(void *arg)
{
	struct pw_pair *pr = arg;
	int ret = 0;

	sched_self(SCHED_OTHER, 0);
	while (!atomic_load(&pr->sh->stop)) {
		/* A boost of the receiver while it serves (PI work). */
		ret = ntsync_channel_send(pr->ch, SCHED_FIFO, (uint32_t)pr->prio, 0, 0);
		if (ret == -EINTR)
			continue;
		if (ret) {
			pw_fail(pr->sh, ret);
			break;
		}
		atomic_fetch_add(&pr->sh->ops, 1);
	}
	/* The receiver leaves after this one. */
	do
		ret = ntsync_channel_send(pr->ch, 0, 0, SEC_QUIT, 0);
	while (ret == -EINTR);
	if (ret)
		pw_fail(pr->sh, ret);
	return NULL;
}

static void *pw_receiver_main(void *arg)
{
	struct pw_pair *pr = arg;
	struct ntsync_channel_recv2_args a;

	sched_self(SCHED_OTHER, 0);
	for (;;) {
		int ret = ntsync_channel_recv2(pr->ch, &a);

		if (ret == -EINTR)
			continue;
		if (!ret)
			ret = ntsync_channel_reply(pr->ch, a.entry_id);
		if (ret) {
			pw_fail(pr->sh, ret);
			return NULL;
		}
		if (a.payload_off == SEC_QUIT)
			return NULL;
	}
}

static void pw_point(struct sec_run *r, unsigned int p, int mtx)
{
	struct series *s = r->row[G_UNLOCK][p];
	unsigned int n = pi_n[p], i, smp;
	struct pw_shared sh = { 0 };
	struct pw_pair *pr;
	uint64_t budget_end, t_start, ops0;
	char why[128];
	uint32_t idx, prev;
	int ret = 0;

	pr = calloc(n, sizeof(*pr));
	if (!pr) {
		sec_cut(r, G_UNLOCK, G_UNLOCK, p, n, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		pr[i].ch = -1;
	for (i = 0; i < n; i++) {
		pr[i].sh = &sh;
		pr[i].prio = 1 + (int)(i % SEC_PI_PRIOS);
		pr[i].ch = ntsync_channel_create(r->dev, 4);
		if (pr[i].ch < 0) {
			ret = pr[i].ch;
			break;
		}
		ret = thread_start_stack(&pr[i].rcv, pw_receiver_main, &pr[i], SEC_STACK);
		if (ret)
			break;
		pr[i].rcv_started = true;
		ret = thread_start_stack(&pr[i].snd, pw_sender_main, &pr[i], SEC_STACK);
		if (ret)
			break;
		pr[i].snd_started = true;
	}
	if (ret) {
		snprintf(why, sizeof(why), "starting pair %u: %s", i, strerror(-ret));
		sec_setup_failed(r, G_UNLOCK, G_UNLOCK, p, n, s, ret, why);
		goto stop;
	}
	/* Let the pairs get going. */
	sleep_ns(20000000);

	t_start = now_ns();
	ops0 = atomic_load(&sh.ops);
	budget_end = 0;
	for (smp = 0; smp < r->cfg->growth_samples + SEC_WARMUP; smp++) {
		uint64_t t0, t1;

		if (sec_out_of_time(r, smp, &budget_end)) {
			series_extra_text(s, "budget", "hit");
			break;
		}
		ret = ntsync_wait_any(r->dev, &mtx, 1, BENCH_WAIT_OWNER, 0,
				      ntsync_deadline_ns(CLOCK_MONOTONIC, 10000000000ll),
				      0, &idx);
		if (ret) {
			series_error(s, "WAIT_ANY on a free mutex: %s", strerror(-ret));
			break;
		}
		t0 = now_ns();
		ret = ntsync_mutex_unlock(mtx, BENCH_WAIT_OWNER, &prev);
		t1 = now_ns();
		if (ret) {
			series_error(s, "MUTEX_UNLOCK: %s", strerror(-ret));
			break;
		}
		if (smp >= SEC_WARMUP)
			series_push(s, (double)(t1 - t0) / 1e3);
	}
	series_extra(s, "pi_ops_per_s", (double)(atomic_load(&sh.ops) - ops0) /
		     ((double)(now_ns() - t_start) / 1e9));
stop:
	atomic_store(&sh.stop, 1);
	for (i = 0; i < n; i++) {
		if (pr[i].snd_started)
			pthread_join(pr[i].snd, NULL);
		else if (pr[i].rcv_started && pr[i].ch >= 0)
			ntsync_channel_send(pr[i].ch, 0, 0, SEC_QUIT, 0);
		if (pr[i].rcv_started)
			pthread_join(pr[i].rcv, NULL);
		if (pr[i].ch >= 0)
			close(pr[i].ch);
	}
	if (atomic_load(&sh.err))
		series_error(s, "PI work: %s", strerror(-atomic_load(&sh.err)));
	free(pr);
}

/* ---- The scenario ------------------------------------------------------ */

/* Remove the rows of points that were not run. */
static void sec_drop_cut(struct sec_run *r)
{
	struct result *res = r->res;
	unsigned int p;
	int g, j;

	for (g = 0; g < G_COUNT; g++) {
		for (p = 0; p < SEC_MAX_POINTS; p++) {
			struct series *s = r->row[g][p];

			if (!s || !r->cut[g][p])
				continue;
			s->name[0] = 0;		/* marked for removal */
		}
	}
	for (j = 0; j < res->ns;) {
		if (res->s[j].name[0]) {
			j++;
			continue;
		}
		free(res->s[j].v);
		memmove(&res->s[j], &res->s[j + 1],
			(size_t)(res->ns - j - 1) * sizeof(res->s[0]));
		res->ns--;
	}
}

/* Run point @p of a group with a setup-time estimate; @last_* carry it. */
typedef void (*sec_point_fn)(struct sec_run *r, unsigned int p, uint64_t *setup_ns);

/*
 * Whether groups @first..@last (one curve) run: all of them, unless
 * NTSYNC_BENCH_SECTIONS names some (comma-separated; a developer's A/B of
 * one curve).  The rows of a curve left out say so.
 */
static bool sec_selected(struct sec_run *r, int first, int last)
{
	const char *list = getenv("NTSYNC_BENCH_SECTIONS"), *at;
	unsigned int p;
	int g;

	if (!list)
		return true;
	for (g = first; g <= last; g++) {
		size_t len = strlen(sec_names[g]);

		for (at = list; (at = strstr(at, sec_names[g])); at += len)
			if ((at == list || at[-1] == ',') &&
			    (!at[len] || at[len] == ','))
				return true;
	}
	for (g = first; g <= last; g++)
		for (p = 0; p < SEC_MAX_POINTS; p++)
			if (r->row[g][p])
				series_unsupported(r->row[g][p],
						   "not in NTSYNC_BENCH_SECTIONS=%s",
						   list);
	return false;
}

static void sec_curve(struct sec_run *r, int first, int last, sec_point_fn fn)
{
	uint64_t last_ns = 0;
	unsigned int last_n = 0, p;
	char why[128];

	if (!sec_selected(r, first, last))
		return;
	for (p = 0; p < r->npoints; p++) {
		uint64_t setup = 0;

		if (r->cut[first][p])
			break;
		if (sec_too_slow(r, last_ns, last_n, sec_n[p], why, sizeof(why))) {
			sec_cut(r, first, last, p, sec_n[p], why);
			break;
		}
		fn(r, p, &setup);
		if (r->row[first][p]->status != ST_OK)
			break;
		last_ns = setup;
		last_n = sec_n[p];
	}
}

void run_raw_sections(const struct bench_cfg *cfg, struct result *res)
{
	static struct sec_run run;
	struct sec_run *r = &run;
	unsigned int p;
	char why[192];
	int g, mtx;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->res = res;
	res->ratio_mode = RATIO_ROW_OVER_REF;
	/* Quick: n up to 1000 (the CI run's time budget). */
	r->npoints = cfg->quick ? SEC_MAX_POINTS - 1 : SEC_MAX_POINTS;
	r->setup_limit_ns = (uint64_t)cfg->budget_ms * 6000000ull;
	for (g = 0; g < G_COUNT; g++) {
		unsigned int np = g == G_UNLOCK ? PI_POINTS : r->npoints;

		for (p = 0; p < np; p++) {
			r->row[g][p] = res_add_growth(res, sec_names[g],
						      g == G_UNLOCK ? pi_n[p] : sec_n[p], g);
			/* Not ntsync: left out of the target. */
			if (g == G_FUTEX_OLDEST)
				series_extra(r->row[g][p], "control", 1);
		}
	}
	sec_note(r, "n = 1..%u%s (unlock-pi: 1..%u pairs); reply-miss and queue-wait: "
		 "mean per call over batches of %d; see bench/README.md",
		 sec_n[r->npoints - 1], cfg->quick ? " (--quick)" : "",
		 pi_n[PI_POINTS - 1], SEC_BATCH);

	r->dev = bench_open_dev(why, sizeof(why));
	if (r->dev < 0 || bench_nspa(r->dev, why, sizeof(why)) <= 0) {
		for (g = 0; g < G_COUNT; g++)
			for (p = 0; p < SEC_MAX_POINTS; p++)
				if (r->row[g][p])
					series_unsupported(r->row[g][p], "%s", why);
		if (r->dev >= 0)
			close(r->dev);
		return;
	}
	r->rt = rt_allowed(why, sizeof(why));
	if (!r->rt) {
		for (p = 0; p < SEC_MAX_POINTS; p++) {
			if (r->row[G_QUEUE][p])
				series_unsupported(r->row[G_QUEUE][p], "%s", why);
			if (r->row[G_WAKE][p])
				series_unsupported(r->row[G_WAKE][p], "%s", why);
			if (r->row[G_RECORDS][p])
				series_unsupported(r->row[G_RECORDS][p], "%s", why);
			if (r->row[G_UNLOCK][p])
				series_unsupported(r->row[G_UNLOCK][p], "%s", why);
		}
		sec_note(r, "; no SCHED_FIFO: reply-* receiver at SCHED_OTHER");
	}
	bench_install_noop(SIGALRM);
	/* Thousands of thread stacks: locked, they would not fit. */
	munlockall();
	pthread_getaffinity_np(pthread_self(), sizeof(r->affinity), &r->affinity);

	/* One CPU for the channel rows: no cross-CPU wake-ups in them. */
	pin_self(0);
	r->meas_prio = SEC_TOP_PRIO - 1;
	sec_curve(r, G_REPLY_MISS, G_REPLY_OLDEST, rp_point);
	sec_curve(r, G_FUTEX_OLDEST, G_FUTEX_OLDEST, fw_point);
	r->meas_prio = 0;
	sec_curve(r, G_TOKEN, G_TOKEN, tk_point);

	if (r->rt) {
		/* Same CPU again: the wake of the best waiter is local. */
		r->meas_prio = SEC_TOP_PRIO;
		sec_curve(r, G_QUEUE, G_WAKE, qw_point);
		r->meas_prio = 0;
		sec_curve(r, G_RECORDS, G_RECORDS, rc_point);
	}
	pthread_setaffinity_np(pthread_self(), sizeof(r->affinity), &r->affinity);

	if (r->rt && sec_selected(r, G_UNLOCK, G_UNLOCK)) {
		mtx = ntsync_mutex_create(r->dev, 0, 0);
		if (mtx < 0) {
			series_error(r->row[G_UNLOCK][0], "CREATE_MUTEX: %s",
				     strerror(-mtx));
		} else {
			for (p = 0; p < PI_POINTS && !r->cut[G_UNLOCK][p]; p++)
				pw_point(r, p, mtx);
			close(mtx);
		}
	}
	/* Points after a failed one were not run. */
	for (g = 0; g < G_COUNT; g++)
		for (p = 0; p < SEC_MAX_POINTS; p++)
			if (r->row[g][p] && r->row[g][p]->status == ST_OK &&
			    !r->row[g][p]->n && !r->cut[g][p])
				series_error(r->row[g][p], "not run: a smaller n failed");
	sec_drop_cut(r);
	mlockall(MCL_CURRENT | MCL_FUTURE);
	close(r->dev);
}
