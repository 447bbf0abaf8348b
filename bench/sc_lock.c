// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: the lock scenarios, each with an ntsync mutex against a
 * pthread PTHREAD_PRIO_INHERIT mutex (a PI futex: the kernel's rt_mutex) and
 * a plain pthread mutex:
 *
 *   handoff-2/-4   contended lock/unlock throughput
 *   philosophers   five philosophers, time to get both forks
 *   wake-order     five SCHED_FIFO waiters of distinct priorities queued in
 *                  a shuffled order: is the lock handed down by priority?
 *   inversion      a SCHED_OTHER owner, FIFO hogs on every CPU, a FIFO
 *                  waiter: how long does the waiter wait?
 *
 * Every wait is bounded: ntsync waits carry deadlines, hogs stop at a
 * deadline, and a pthread mutex owner always unlocks after bounded work.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"
#include "scenarios.h"

enum lock_kind { LK_NTSYNC, LK_PI_FUTEX, LK_PLAIN };

struct blk {
	enum lock_kind kind;
	int dev;
	int fd;
	pthread_mutex_t m;
};

static const char *const lock_names[] = {
	[LK_NTSYNC] = "ntsync-mutex",
	[LK_PI_FUTEX] = "pi-futex",
	[LK_PLAIN] = "plain-mutex",
};

static int blk_init(struct blk *l, enum lock_kind kind, int dev)
{
	pthread_mutexattr_t a;
	int err;

	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->dev = dev;
	l->fd = -1;
	if (kind == LK_NTSYNC) {
		l->fd = ntsync_mutex_create(dev, 0, 0);
		return l->fd < 0 ? l->fd : 0;
	}
	pthread_mutexattr_init(&a);
	if (kind == LK_PI_FUTEX)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	err = pthread_mutex_init(&l->m, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
}

/* 0 or a negative errno.  @deadline (CLOCK_MONOTONIC ns) bounds ntsync. */
static int blk_lock(struct blk *l, uint32_t owner, uint64_t deadline)
{
	uint32_t idx;

	if (l->kind == LK_NTSYNC)
		return ntsync_wait_any(l->dev, &l->fd, 1, owner, 0, deadline, 0, &idx);
	return -pthread_mutex_lock(&l->m);
}

static int blk_unlock(struct blk *l, uint32_t owner)
{
	uint32_t prev;

	if (l->kind == LK_NTSYNC)
		return ntsync_mutex_unlock(l->fd, owner, &prev);
	return -pthread_mutex_unlock(&l->m);
}

static void blk_destroy(struct blk *l)
{
	if (l->kind == LK_NTSYNC) {
		if (l->fd >= 0)
			close(l->fd);
	} else {
		pthread_mutex_destroy(&l->m);
	}
}

/* Set the first error seen into @slot. */
static void note_err(atomic_int *slot, int err)
{
	int zero = 0;

	if (err)
		atomic_compare_exchange_strong(slot, &zero, err);
}

/* ---- Handoff throughput ---------------------------------------------- */

/* A little work inside and outside the lock, so that the threads really
 * contend (loop iterations, no clock reads). */
#define HO_INSIDE	100
#define HO_OUTSIDE	100

struct ho_shared {
	struct blk lk;
	atomic_uint stop;
	struct gate gate;
	uint64_t deadline;
	uint32_t last_owner;	/* touched under the lock only */
	atomic_int err;
};

struct ho_thread {
	struct ho_shared *sh;
	pthread_t th;
	uint32_t owner;
	unsigned long ops;
	unsigned long handoffs;	/* acquisitions right after another owner */
};

static void *ho_main(void *arg)
{
	struct ho_thread *t = arg;
	struct ho_shared *sh = t->sh;

	gate_wait(&sh->gate);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		int ret = blk_lock(&sh->lk, t->owner, sh->deadline);

		if (ret) {
			note_err(&sh->err, ret);
			atomic_store(&sh->stop, 1);
			break;
		}
		if (sh->last_owner != t->owner) {
			sh->last_owner = t->owner;
			t->handoffs++;
		}
		spin_iters(HO_INSIDE);
		ret = blk_unlock(&sh->lk, t->owner);
		if (ret) {
			note_err(&sh->err, ret);
			atomic_store(&sh->stop, 1);
			break;
		}
		t->ops++;
		spin_iters(HO_OUTSIDE);
	}
	return NULL;
}

/* One timed trial; returns ops/s and the share of acquisitions that
 * changed owner, or a negative errno. */
static double ho_trial(enum lock_kind kind, int dev, unsigned int nthreads,
		       unsigned int ms, double *handoff_share)
{
	unsigned long handoffs = 0;
	struct ho_shared sh;
	struct ho_thread thr[8];
	unsigned long total = 0;
	unsigned int i, started = 0;
	uint64_t t0, t1;
	int ret;

	memset(&sh, 0, sizeof(sh));
	ret = blk_init(&sh.lk, kind, dev);
	if (ret)
		return ret;
	gate_init(&sh.gate);
	sh.deadline = now_ns() + (uint64_t)ms * 1000000ull + 20000000000ull;
	for (i = 0; i < nthreads; i++) {
		thr[i] = (struct ho_thread){ .sh = &sh, .owner = i + 1 };
		ret = thread_start(&thr[i].th, ho_main, &thr[i]);
		if (ret)
			break;
		started++;
	}
	t0 = now_ns();
	gate_open(&sh.gate);
	if (!ret)
		sleep_ns((uint64_t)ms * 1000000ull);
	atomic_store(&sh.stop, 1);
	t1 = now_ns();
	for (i = 0; i < started; i++) {
		pthread_join(thr[i].th, NULL);
		total += thr[i].ops;
		handoffs += thr[i].handoffs;
	}
	blk_destroy(&sh.lk);
	*handoff_share = total ? (double)handoffs / (double)total : 0;
	if (ret)
		return ret;
	if (atomic_load(&sh.err))
		return atomic_load(&sh.err);
	return (double)total / ((double)(t1 - t0) / 1e9);
}

/* The series of run_handoff(): the three locks, then ntsync with pi=0. */
#define HO_PI_OFF	3
#define HO_SERIES	4

/*
 * The order of a trial's series.  Odd trials swap pi on and pi off, since
 * the first series of a trial reads about 9% low (pi on first: on/off
 * 0.95x; pi off first: 1.13x; an A/A run with pi on in both read 0.92-1.13x
 * per boot): neither may always be first.
 */
static const int ho_order[2][HO_SERIES] = {
	{ LK_NTSYNC, LK_PI_FUTEX, LK_PLAIN, HO_PI_OFF },
	{ HO_PI_OFF, LK_PI_FUTEX, LK_PLAIN, LK_NTSYNC },
};

/*
 * pi on against pi off trial by trial (both ran in each trial, next to each
 * other): the median of the ratios and how many trials pi on won.  Slow
 * drift of the host cancels in each ratio.
 */
static void ho_pi_paired(struct series *on, struct series *off)
{
	double *ratio;
	size_t i, won = 0;

	if (on->status != ST_OK || off->status != ST_OK || !on->n ||
	    on->n != off->n)
		return;
	ratio = malloc(on->n * sizeof(*ratio));
	if (!ratio)
		return;
	for (i = 0; i < on->n; i++) {
		ratio[i] = on->v[i] / off->v[i];
		won += ratio[i] >= 1.0;
	}
	series_extra(off, "paired_on_off", median_of(ratio, on->n));
	series_extra(off, "pi_on_won", (double)won);
	free(ratio);
}

static double ho_trial_pi_off(int dev, unsigned int nthreads, unsigned int ms,
			      double *share)
{
	int ret = pi_param_set(0);
	double v;

	if (ret)
		return ret;
	v = ho_trial(LK_NTSYNC, dev, nthreads, ms, share);
	ret = pi_param_set(1);
	return ret ? ret : v;
}

static void run_handoff(const struct bench_cfg *cfg, struct result *res,
			unsigned int nthreads)
{
	struct series *s[HO_SERIES];
	double share_sum[HO_SERIES] = { 0 };
	char why[192];
	unsigned int tr;
	int dev, i, k, pi;

	snprintf(res->note, sizeof(res->note),
		 "%u SCHED_OTHER threads lock/unlock one mutex (%d spin iterations inside, "
		 "%d outside); one sample per %u ms trial; handoff = share of acquisitions "
		 "that changed owner; ntsync-pi-off: the module's pi=0, before ntsync-mutex "
		 "in odd trials", nthreads,
		 HO_INSIDE, HO_OUTSIDE, cfg->trial_ms);
	for (k = 0; k < 3; k++)
		s[k] = res_add(res, lock_names[k], UNIT_OPS);
	s[HO_PI_OFF] = res_add(res, "ntsync-pi-off", UNIT_OPS);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		series_unsupported(s[LK_NTSYNC], "%s", why);
		series_unsupported(s[HO_PI_OFF], "%s", why);
	}
	/* Only a module with pi on can show what turning it off saves. */
	pi = pi_param_get();
	if (s[HO_PI_OFF]->status == ST_OK && pi != 1)
		series_unsupported(s[HO_PI_OFF], "module parameter pi is %s",
				   pi < 0 ? "missing" : "off");
	/* An untimed warm-up trial of each, then interleaved trials. */
	for (tr = 0; tr <= cfg->trials; tr++) {
		unsigned int ms = tr ? cfg->trial_ms : cfg->trial_ms / 4 + 10;

		for (i = 0; i < HO_SERIES; i++) {
			double v, share = 0;

			k = ho_order[tr % 2][i];
			if (s[k]->status != ST_OK)
				continue;
			if (k == HO_PI_OFF)
				v = ho_trial_pi_off(dev, nthreads, ms, &share);
			else
				v = ho_trial((enum lock_kind)k, dev, nthreads,
					     ms, &share);
			if (v < 0) {
				series_error(s[k], "lock/unlock: %s", strerror((int)-v));
			} else if (tr) {
				series_push(s[k], v);
				share_sum[k] += share;
			}
		}
	}
	for (k = 0; k < HO_SERIES; k++)
		if (s[k]->status == ST_OK && s[k]->n)
			series_extra_text(s[k], "handoff", "%.1f%%",
					  100.0 * share_sum[k] / (double)s[k]->n);
	ho_pi_paired(s[LK_NTSYNC], s[HO_PI_OFF]);
	if (dev >= 0)
		close(dev);
}

void run_handoff2(const struct bench_cfg *cfg, struct result *res)
{
	run_handoff(cfg, res, 2);
}

void run_handoff4(const struct bench_cfg *cfg, struct result *res)
{
	run_handoff(cfg, res, 4);
}

/* ---- Dining philosophers --------------------------------------------- */

#define PHILO		5
#define PHILO_EAT	2000
#define PHILO_THINK	2000
#define PHILO_MAX_SAMPLES 200000

struct ph_shared {
	enum lock_kind kind;
	int dev;
	int fork_fd[PHILO];
	struct blk fork[PHILO];
	atomic_uint stop;
	struct gate gate;
	uint64_t deadline;
	atomic_int err;
};

struct ph_thread {
	struct ph_shared *sh;
	pthread_t th;
	int idx;
	unsigned long meals;
	double *wait_us;
	size_t n;
	/* The thread's time at the table, and of it the time it was
	 * runnable but waited for a CPU (0 if schedstat was unreadable). */
	uint64_t table_ns, cpu_wait_ns;
	bool cpu_wait_known;
};

static int ph_take(struct ph_shared *sh, int p)
{
	int a = p, b = (p + 1) % PHILO, ret;
	uint32_t idx;

	if (sh->kind == LK_NTSYNC) {
		int fds[2] = { sh->fork_fd[a], sh->fork_fd[b] };

		return ntsync_wait_all(sh->dev, fds, 2, (uint32_t)p + 1, 0,
				       sh->deadline, 0, &idx);
	}
	/* Lower-numbered fork first: no deadlock. */
	if (a > b) {
		int t = a;

		a = b;
		b = t;
	}
	ret = blk_lock(&sh->fork[a], 0, 0);
	if (ret)
		return ret;
	ret = blk_lock(&sh->fork[b], 0, 0);
	if (ret)
		blk_unlock(&sh->fork[a], 0);
	return ret;
}

static int ph_put(struct ph_shared *sh, int p)
{
	int a = p, b = (p + 1) % PHILO, r1, r2;
	uint32_t prev;

	if (sh->kind == LK_NTSYNC) {
		r1 = ntsync_mutex_unlock(sh->fork_fd[a], (uint32_t)p + 1, &prev);
		r2 = ntsync_mutex_unlock(sh->fork_fd[b], (uint32_t)p + 1, &prev);
	} else {
		r1 = blk_unlock(&sh->fork[b], 0);
		r2 = blk_unlock(&sh->fork[a], 0);
	}
	return r1 ? r1 : r2;
}

static void *ph_main(void *arg)
{
	struct ph_thread *t = arg;
	struct ph_shared *sh = t->sh;
	uint64_t seated, delay0 = 0, delay1 = 0;

	gate_wait(&sh->gate);
	seated = now_ns();
	t->cpu_wait_known = !thread_run_delay_ns(&delay0);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t t0 = now_ns(), t1;
		int ret = ph_take(sh, t->idx);

		t1 = now_ns();
		if (ret) {
			note_err(&sh->err, ret);
			atomic_store(&sh->stop, 1);
			break;
		}
		if (t->n < PHILO_MAX_SAMPLES)
			t->wait_us[t->n++] = (double)(t1 - t0) / 1e3;
		spin_iters(PHILO_EAT);
		t->meals++;
		ret = ph_put(sh, t->idx);
		if (ret) {
			note_err(&sh->err, ret);
			atomic_store(&sh->stop, 1);
			break;
		}
		spin_iters(PHILO_THINK);
	}
	t->table_ns = now_ns() - seated;
	if (t->cpu_wait_known)
		t->cpu_wait_known = !thread_run_delay_ns(&delay1) && delay1 >= delay0;
	t->cpu_wait_ns = t->cpu_wait_known ? delay1 - delay0 : 0;
	return NULL;
}

/*
 * Fairness with the CPU scheduler's share taken out: fewest / most meals
 * per second of the time each philosopher was not waiting for a CPU (with
 * more philosophers than CPUs, those sharing a CPU with more of the others
 * get less of it, which the lock cannot change).  Time spent asleep waiting
 * for forks stays in: that is the lock's part.  -1 when unknown.
 */
static double ph_fairness_runnable(const struct ph_thread *thr, int n)
{
	double lo = 0, hi = 0;
	int i;

	for (i = 0; i < n; i++) {
		double rate;

		if (!thr[i].cpu_wait_known || thr[i].table_ns <= thr[i].cpu_wait_ns)
			return -1;
		rate = (double)thr[i].meals / (double)(thr[i].table_ns - thr[i].cpu_wait_ns);
		if (!i || rate < lo)
			lo = rate;
		if (!i || rate > hi)
			hi = rate;
	}
	return hi > 0 ? lo / hi : -1;
}

static void ph_run(enum lock_kind kind, int dev, unsigned int ms,
		   struct series *s)
{
	struct ph_shared sh;
	struct ph_thread thr[PHILO];
	unsigned long total = 0, lo = ~0ul, hi = 0;
	int i, started = 0, ret = 0, nforks = 0;
	uint64_t t0, t1;

	memset(&sh, 0, sizeof(sh));
	memset(thr, 0, sizeof(thr));
	sh.kind = kind;
	sh.dev = dev;
	gate_init(&sh.gate);
	sh.deadline = now_ns() + (uint64_t)ms * 1000000ull + 20000000000ull;
	for (i = 0; i < PHILO && !ret; i++, nforks++) {
		if (kind == LK_NTSYNC) {
			sh.fork_fd[i] = ntsync_mutex_create(dev, 0, 0);
			ret = sh.fork_fd[i] < 0 ? sh.fork_fd[i] : 0;
		} else {
			ret = blk_init(&sh.fork[i], kind, dev);
		}
	}
	if (ret) {
		nforks--;
		series_error(s, "creating the forks: %s", strerror(-ret));
		goto out;
	}
	for (i = 0; i < PHILO; i++) {
		thr[i].sh = &sh;
		thr[i].idx = i;
		thr[i].wait_us = alloc_samples(PHILO_MAX_SAMPLES);
		if (!thr[i].wait_us) {
			series_error(s, "out of memory");
			break;
		}
		ret = thread_start(&thr[i].th, ph_main, &thr[i]);
		if (ret) {
			series_error(s, "pthread_create: %s", strerror(-ret));
			break;
		}
		started++;
	}
	t0 = now_ns();
	gate_open(&sh.gate);
	if (started == PHILO)
		sleep_ns((uint64_t)ms * 1000000ull);
	atomic_store(&sh.stop, 1);
	t1 = now_ns();
	for (i = 0; i < started; i++)
		pthread_join(thr[i].th, NULL);
	if (atomic_load(&sh.err))
		series_error(s, "take/put: %s", strerror(-atomic_load(&sh.err)));
	for (i = 0; i < started; i++) {
		size_t k;

		for (k = 0; k < thr[i].n; k++)
			series_push(s, thr[i].wait_us[k]);
		total += thr[i].meals;
		if (thr[i].meals < lo)
			lo = thr[i].meals;
		if (thr[i].meals > hi)
			hi = thr[i].meals;
	}
	if (started == PHILO) {
		double runnable = ph_fairness_runnable(thr, started);
		double worst = -1;

		series_extra(s, "meals_per_s", (double)total / ((double)(t1 - t0) / 1e9));
		series_extra(s, "fairness", hi ? (double)lo / (double)hi : 0);
		/* The worst-fed philosopher's meals per second at the table. */
		for (i = 0; i < started; i++) {
			double rate = thr[i].table_ns ?
				      (double)thr[i].meals * 1e9 / (double)thr[i].table_ns : 0;

			if (worst < 0 || rate < worst)
				worst = rate;
		}
		series_extra(s, "min_meals_per_s", worst);
		if (runnable >= 0)
			series_extra(s, "fairness_runnable", runnable);
	}
out:
	for (i = 0; i < PHILO; i++)
		free(thr[i].wait_us);
	for (i = 0; i < nforks; i++) {
		if (kind == LK_NTSYNC)
			close(sh.fork_fd[i]);
		else
			blk_destroy(&sh.fork[i]);
	}
}

void run_philosophers(const struct bench_cfg *cfg, struct result *res)
{
	static const char *const names[] = { "ntsync-wait-all", "pi-futex", "plain-mutex" };
	struct series *s[3];
	unsigned int ms = cfg->trials * cfg->trial_ms;
	char why[192];
	int dev, k;

	snprintf(res->note, sizeof(res->note),
		 "5 philosophers for %u ms each; samples: time to get both forks "
		 "(ntsync: one WAIT_ALL; pthread: ordered locking); fairness = "
		 "fewest/most meals; min_meals_per_s = the worst-fed philosopher's "
		 "meals per second; fairness_runnable = fewest/most meals per second "
		 "not spent waiting for a CPU (the scheduler's share of a CPU taken "
		 "out; asleep for forks stays in)", ms);
	for (k = 0; k < 3; k++)
		s[k] = res_add(res, names[k], UNIT_US);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0)
		series_unsupported(s[0], "%s", why);
	for (k = 0; k < 3; k++)
		if (s[k]->status == ST_OK)
			ph_run((enum lock_kind)k, dev, ms, s[k]);
	if (dev >= 0)
		close(dev);
}

/* ---- Wake-up order --------------------------------------------------- */

#define WO_N		5
#define WO_PRIO_BASE	10	/* waiters: FIFO 10..14 */
#define WO_MAIN_PRIO	50	/* the releasing thread */
#define WO_MAIN_OWNER	100

struct wo_shared {
	struct blk lk;
	atomic_uint pos;
	int order[WO_N];	/* priorities in acquisition order */
	uint64_t t_acq[WO_N];
	atomic_int err;
};

struct wo_thread {
	struct wo_shared *sh;
	pthread_t th;
	int prio;
	uint32_t owner;
	atomic_int tid;
	atomic_uint armed;
};

static void *wo_main(void *arg)
{
	struct wo_thread *t = arg;
	struct wo_shared *sh = t->sh;
	unsigned int k;
	int ret;

	ret = sched_self(SCHED_FIFO, t->prio);
	atomic_store(&t->tid, bench_gettid());
	if (ret) {
		note_err(&sh->err, ret);
		atomic_store(&t->armed, 2);
		return NULL;
	}
	atomic_store(&t->armed, 1);
	ret = blk_lock(&sh->lk, t->owner, ntsync_deadline_ns(CLOCK_MONOTONIC,
							      10000000000ll));
	if (ret) {
		note_err(&sh->err, ret);
		return NULL;
	}
	k = atomic_fetch_add(&sh->pos, 1);
	if (k < WO_N) {
		sh->t_acq[k] = now_ns();
		sh->order[k] = t->prio;
	}
	note_err(&sh->err, blk_unlock(&sh->lk, t->owner));
	return NULL;
}

/* One run: 0 and *exact / *us, or a negative errno with @why. */
static int wo_run(enum lock_kind kind, int dev, uint32_t *seed, bool *exact,
		  double *us, char *why, size_t len)
{
	struct wo_shared sh;
	struct wo_thread thr[WO_N];
	int perm[WO_N], i, started = 0, ret;
	uint64_t t0 = 0;

	memset(&sh, 0, sizeof(sh));
	memset(thr, 0, sizeof(thr));
	ret = blk_init(&sh.lk, kind, dev);
	if (ret) {
		snprintf(why, len, "creating the lock: %s", strerror(-ret));
		return ret;
	}
	ret = blk_lock(&sh.lk, WO_MAIN_OWNER, ntsync_deadline_ns(CLOCK_MONOTONIC,
								  1000000000ll));
	if (ret) {
		snprintf(why, len, "taking the lock: %s", strerror(-ret));
		blk_destroy(&sh.lk);
		return ret;
	}
	/* A random queueing order (Fisher-Yates). */
	for (i = 0; i < WO_N; i++)
		perm[i] = i;
	for (i = WO_N - 1; i > 0; i--) {
		int j = (int)(xorshift32(seed) % (uint32_t)(i + 1)), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	/* Queue the waiters one after another, each asleep before the next. */
	for (i = 0; i < WO_N; i++) {
		uint64_t end = now_ns() + 5000000000ull;

		thr[i].sh = &sh;
		thr[i].prio = WO_PRIO_BASE + perm[i];
		thr[i].owner = (uint32_t)i + 1;
		ret = thread_start(&thr[i].th, wo_main, &thr[i]);
		if (ret) {
			snprintf(why, len, "pthread_create: %s", strerror(-ret));
			goto release;
		}
		started++;
		while (!atomic_load(&thr[i].armed) && now_ns() < end)
			sleep_ns(20000);
		if (atomic_load(&thr[i].armed) != 1 ||
		    !wait_sleeping(atomic_load(&thr[i].tid), 5000000000ull)) {
			ret = atomic_load(&sh.err) ? atomic_load(&sh.err) : -ETIMEDOUT;
			snprintf(why, len, "waiter %d did not block: %s", i,
				 strerror(-ret));
			goto release;
		}
	}
	t0 = now_ns();
release:
	{
		int r = blk_unlock(&sh.lk, WO_MAIN_OWNER);

		if (r && !ret) {
			ret = r;
			snprintf(why, len, "unlock: %s", strerror(-r));
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(thr[i].th, NULL);
	blk_destroy(&sh.lk);
	if (ret)
		return ret;
	if (atomic_load(&sh.err)) {
		ret = atomic_load(&sh.err);
		snprintf(why, len, "waiter: %s", strerror(-ret));
		return ret;
	}
	if (atomic_load(&sh.pos) != WO_N) {
		snprintf(why, len, "only %u of %d waiters got the lock",
			 atomic_load(&sh.pos), WO_N);
		return -EIO;
	}
	*exact = true;
	for (i = 0; i < WO_N; i++)
		if (sh.order[i] != WO_PRIO_BASE + WO_N - 1 - i)
			*exact = false;
	*us = (double)(sh.t_acq[WO_N - 1] - t0) / 1e3;
	return 0;
}

void run_wake_order(const struct bench_cfg *cfg, struct result *res)
{
	struct series *s[3];
	unsigned int exact[3] = { 0 }, runs[3] = { 0 }, r;
	uint32_t seed = 0x1234567u;
	char why[192];
	int dev, k, ret;

	snprintf(res->note, sizeof(res->note),
		 "%d SCHED_FIFO waiters (prio %d..%d) queued in random order on a lock "
		 "held by a FIFO %d thread; sample: unlock to the last waiter's acquisition; "
		 "exact = runs handed down strictly by priority",
		 WO_N, WO_PRIO_BASE, WO_PRIO_BASE + WO_N - 1, WO_MAIN_PRIO);
	for (k = 0; k < 3; k++)
		s[k] = res_add(res, lock_names[k], UNIT_US);
	if (!rt_allowed(why, sizeof(why))) {
		for (k = 0; k < 3; k++)
			series_unsupported(s[k], "%s", why);
		return;
	}
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		series_unsupported(s[0], "%s", why);
	} else if (bench_nspa(dev, why, sizeof(why)) == 0) {
		/* Upstream semantics are still worth measuring: say so. */
		series_extra_text(s[0], "driver", "upstream");
	}
	ret = sched_self(SCHED_FIFO, WO_MAIN_PRIO);
	if (ret) {
		for (k = 0; k < 3; k++)
			series_unsupported(s[k], "SCHED_FIFO: %s", strerror(-ret));
		goto out;
	}
	for (r = 0; r < cfg->runs; r++) {
		for (k = 0; k < 3; k++) {
			bool ok = false;
			double us = 0;

			if (s[k]->status != ST_OK)
				continue;
			ret = wo_run((enum lock_kind)k, dev, &seed, &ok, &us, why,
				     sizeof(why));
			if (ret) {
				series_error(s[k], "%s", why);
				continue;
			}
			series_push(s[k], us);
			runs[k]++;
			exact[k] += ok;
		}
	}
	for (k = 0; k < 3; k++) {
		series_extra_text(s[k], "exact", "%u/%u", exact[k], runs[k]);
		series_extra(s[k], "exact_runs", exact[k]);
	}
out:
	sched_self(SCHED_OTHER, 0);
	if (dev >= 0)
		close(dev);
}

/* ---- Priority inversion ---------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define INV_WORK_NS	2000000ull	/* the owner's CPU work under the lock */
#define INV_HOG_PRIO	40		/* below PREEMPT_RT's IRQ threads (50) */
#define INV_WAITER_PRIO	80
#define INV_MAIN_PRIO	90
#define INV_MAX_CPUS	64
/* Redos of one run that had no inversion to measure, before it is skipped. */
#define INV_RETRIES	10

enum inv_kind { INV_NTSYNC_PI, INV_NTSYNC_NOPI, INV_PI_FUTEX, INV_PLAIN, INV_KINDS };

struct inv_shared {
	struct blk lk;
	struct gate hog_go, owner_go, waiter_go;
	atomic_uint stop;
	atomic_uint held;
	atomic_uint waiter_done;
	atomic_int owner_tid;
	atomic_uint hogs_ready;
	atomic_uint hogs_spinning;
	uint64_t deadline;	/* hogs stop here at the latest */
	uint64_t t0, t1;
	_Atomic uint64_t t_owner_done;	/* the owner's work ended here */
	atomic_int err;
};

struct inv_hog {
	struct inv_shared *sh;
	pthread_t th;
	int cpu;
	atomic_int tid;
};

static void *inv_hog_main(void *arg)
{
	struct inv_hog *h = arg;
	struct inv_shared *sh = h->sh;
	int ret;

	atomic_store(&h->tid, bench_gettid());
	ret = pin_self(h->cpu);
	if (!ret)
		ret = sched_self(SCHED_FIFO, INV_HOG_PRIO);
	note_err(&sh->err, ret);
	atomic_fetch_add(&sh->hogs_ready, 1);
	gate_wait(&sh->hog_go);
	if (ret)
		return NULL;
	atomic_fetch_add(&sh->hogs_spinning, 1);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed) &&
	       now_ns() < sh->deadline)
		spin_iters(100);
	return NULL;
}

static void *inv_owner_main(void *arg)
{
	struct inv_shared *sh = arg;
	int ret;

	atomic_store(&sh->owner_tid, bench_gettid());
	ret = sched_self(SCHED_OTHER, 0);
	if (!ret)
		ret = blk_lock(&sh->lk, 1, ntsync_deadline_ns(CLOCK_MONOTONIC,
							       5000000000ll));
	if (ret) {
		note_err(&sh->err, ret);
		atomic_store(&sh->held, 2);
		return NULL;
	}
	atomic_store(&sh->held, 1);
	/* Start the work only once the hogs own every CPU. */
	gate_wait(&sh->owner_go);
	burn_cpu_ns(INV_WORK_NS);
	atomic_store(&sh->t_owner_done, now_ns());
	note_err(&sh->err, blk_unlock(&sh->lk, 1));
	return NULL;
}

struct inv_waiter {
	struct inv_shared *sh;
	pthread_t th;
	atomic_int tid;
	atomic_uint armed;
};

static void *inv_waiter_main(void *arg)
{
	struct inv_waiter *w = arg;
	struct inv_shared *sh = w->sh;
	int ret;

	atomic_store(&w->tid, bench_gettid());
	ret = sched_self(SCHED_FIFO, INV_WAITER_PRIO);
	atomic_store(&w->armed, 1);
	gate_wait(&sh->waiter_go);
	if (ret) {
		note_err(&sh->err, ret);
		atomic_store(&sh->stop, 1);
		return NULL;
	}
	sh->t0 = now_ns();
	ret = blk_lock(&sh->lk, 2, sh->deadline + 5000000000ull);
	sh->t1 = now_ns();
	atomic_store(&sh->stop, 1);
	atomic_store(&sh->waiter_done, 1);
	if (ret) {
		note_err(&sh->err, ret);
		return NULL;
	}
	note_err(&sh->err, blk_unlock(&sh->lk, 2));
	return NULL;
}

/* What one run measured, from the waiter's request. */
struct inv_sample {
	double us;		/* until the waiter had the lock */
	double boost_us;	/* until the owner was seen boosted; -1: never */
	double done_us;		/* until the owner's work ended */
	bool hog_bound;		/* the owner only finished after the hogs */
};

/* One run; 0 and @out, or a negative errno with @why. */
static int inv_run(enum lock_kind kind, int dev, int ncpu, unsigned int hog_ms,
		   struct inv_sample *out, char *why, size_t len)
{
	uint64_t boost_at_v = 0, *boost_at = &boost_at_v;
	static struct inv_hog hogs[INV_MAX_CPUS];
	struct inv_shared sh;
	struct inv_waiter w;
	pthread_t owner;
	int i, nhogs = 0, ret;
	bool waiter_started = false, owner_started = false;
	uint64_t end;

	memset(&sh, 0, sizeof(sh));
	memset(&w, 0, sizeof(w));
	gate_init(&sh.hog_go);
	gate_init(&sh.owner_go);
	gate_init(&sh.waiter_go);
	sh.deadline = UINT64_MAX;
	ret = blk_init(&sh.lk, kind, dev);
	if (ret) {
		snprintf(why, len, "creating the lock: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < ncpu; i++) {
		memset(&hogs[i], 0, sizeof(hogs[i]));
		hogs[i].sh = &sh;
		hogs[i].cpu = i;
		ret = thread_start(&hogs[i].th, inv_hog_main, &hogs[i]);
		if (ret) {
			snprintf(why, len, "pthread_create: %s", strerror(-ret));
			goto stop;
		}
		nhogs++;
	}
	w.sh = &sh;
	ret = thread_start(&w.th, inv_waiter_main, &w);
	if (ret) {
		snprintf(why, len, "pthread_create: %s", strerror(-ret));
		goto stop;
	}
	waiter_started = true;
	/* Hogs and waiter parked on their gates. */
	end = now_ns() + 5000000000ull;
	while ((atomic_load(&sh.hogs_ready) < (unsigned int)nhogs ||
		!atomic_load(&w.armed)) && now_ns() < end)
		sleep_ns(50000);
	ret = atomic_load(&sh.err);
	if (ret) {
		snprintf(why, len, "setting up hogs and waiter: %s", strerror(-ret));
		goto stop;
	}
	for (i = 0; i <= nhogs; i++) {
		pid_t tid = i < nhogs ? atomic_load(&hogs[i].tid) : atomic_load(&w.tid);

		if (!tid || !wait_sleeping(tid, 5000000000ull)) {
			ret = -ETIMEDOUT;
			snprintf(why, len, "%s %d (tid %d, state %c, %u/%d hogs ready) "
				 "not parked after 5 s", i < nhogs ? "hog" : "waiter", i,
				 (int)tid, tid ? thread_state(tid) : '-',
				 atomic_load(&sh.hogs_ready), nhogs);
			goto stop;
		}
	}
	/* The owner takes the lock and starts its work... */
	ret = thread_start(&owner, inv_owner_main, &sh);
	if (ret) {
		snprintf(why, len, "pthread_create: %s", strerror(-ret));
		goto stop;
	}
	owner_started = true;
	end = now_ns() + 5000000000ull;
	while (!atomic_load(&sh.held) && now_ns() < end)
		sleep_ns(20000);
	if (atomic_load(&sh.held) != 1) {
		ret = atomic_load(&sh.err) ? atomic_load(&sh.err) : -ETIMEDOUT;
		snprintf(why, len, "owner did not take the lock: %s", strerror(-ret));
		goto stop;
	}
	/*
	 * ...and waits on its gate.  The hogs take every CPU (this thread
	 * still runs: it is above them), then the owner becomes runnable
	 * below them with all its work ahead, and the waiter asks for the
	 * lock.
	 */
	sh.deadline = now_ns() + (uint64_t)hog_ms * 1000000ull;
	gate_open(&sh.hog_go);
	/* Cross-CPU wake-ups can take long (TCG): make sure every hog runs. */
	while (atomic_load(&sh.hogs_spinning) < (unsigned int)nhogs &&
	       now_ns() < sh.deadline)
		sleep_ns(20000);
	gate_open(&sh.owner_go);
	/* The owner is runnable (it cannot run: every CPU is hogged). */
	while (thread_state(atomic_load(&sh.owner_tid)) != 'R' && now_ns() < sh.deadline)
		sleep_ns(20000);
	gate_open(&sh.waiter_go);
	/*
	 * Watch the owner's effective priority until the waiter is through:
	 * when does a boost show?  (Polled every 500 us by this thread,
	 * which sleeps in between: a few percent of one CPU.)
	 */
	while (!atomic_load(&sh.waiter_done) && now_ns() < sh.deadline + 1000000000ull) {
		int prio;

		if (!thread_prio(atomic_load(&sh.owner_tid), &prio) && prio < 0) {
			*boost_at = now_ns();
			break;
		}
		sleep_ns(500000);
	}
	pthread_join(w.th, NULL);
	waiter_started = false;
	ret = atomic_load(&sh.err);
	if (ret) {
		snprintf(why, len, "%s", strerror(-ret));
	} else if (atomic_load(&sh.t_owner_done) <= sh.t0 || sh.t0 >= sh.deadline) {
		/*
		 * The owner got its work done before the waiter asked (e.g.
		 * through the fair server), or the waiter only asked once the
		 * hogs were gone (a very late wake-up): no inversion to
		 * measure.
		 */
		ret = -EAGAIN;
		snprintf(why, len, "no inversion when the waiter asked");
	} else {
		out->us = (double)(sh.t1 - sh.t0) / 1e3;
		out->hog_bound = atomic_load(&sh.t_owner_done) >= sh.deadline;
		out->boost_us = boost_at_v > sh.t0 ?
				(double)(boost_at_v - sh.t0) / 1e3 : -1;
		out->done_us = (double)(atomic_load(&sh.t_owner_done) - sh.t0) / 1e3;
	}
stop:
	atomic_store(&sh.stop, 1);
	gate_open(&sh.hog_go);
	gate_open(&sh.owner_go);
	gate_open(&sh.waiter_go);
	if (waiter_started)
		pthread_join(w.th, NULL);
	for (i = 0; i < nhogs; i++)
		pthread_join(hogs[i].th, NULL);
	if (owner_started)
		pthread_join(owner, NULL);
	blk_destroy(&sh.lk);
	return ret;
}

/*
 * A run without an inversion when the waiter asked measures nothing: redo
 * it, INV_RETRIES times at most (*@redone counts the redos), then give up
 * with -EAGAIN.
 */
static int inv_run_redoing(enum lock_kind kind, int dev, int ncpu,
			   unsigned int hog_ms, struct inv_sample *out,
			   unsigned int *redone, char *why, size_t len)
{
	unsigned int tries;
	int ret;

	for (tries = 0;; tries++) {
		ret = inv_run(kind, dev, ncpu, hog_ms, out, why, len);
		if (ret != -EAGAIN)
			return ret;
		(*redone)++;
		if (tries == INV_RETRIES)
			return ret;
	}
}

/*
 * One run of @kind that is not counted, before the counted ones: the first use
 * of a code path (the driver's PI, sched_setattr(), the futex's PI state)
 * pays for page faults and, under TCG, for translating that code, which can
 * cost milliseconds once and would then be the series' worst case.  Every
 * kind gets the same.  Returns true if it ran.
 */
static bool inv_warm_up(enum lock_kind kind, int dev, int ncpu,
			unsigned int hog_ms)
{
	struct inv_sample sample;
	unsigned int redone = 0;
	char why[192];

	return !inv_run_redoing(kind, dev, ncpu, hog_ms, &sample, &redone,
				why, sizeof(why));
}

void run_inversion(const struct bench_cfg *cfg, struct result *res)
{
	static const char *const names[INV_KINDS] = {
		"ntsync-pi", "ntsync-pi-off", "pi-futex", "plain-mutex",
	};
	static const enum lock_kind lk[INV_KINDS] = {
		LK_NTSYNC, LK_NTSYNC, LK_PI_FUTEX, LK_PLAIN,
	};
	struct series *s[INV_KINDS];
	unsigned int bound[INV_KINDS] = { 0 }, early[INV_KINDS] = { 0 }, r;
	unsigned int boosted[INV_KINDS] = { 0 }, skipped[INV_KINDS] = { 0 };
	/* Whether the uncounted first run (inv_warm_up()) ran. */
	bool warmed[INV_KINDS] = { false };
	/* Scratch series: request to the owner's unlock, per run. */
	struct series owner_part_s[INV_KINDS], *owner_part[INV_KINDS];
	/* ...and the owner's unlock to the waiter running. */
	struct series wake_part_s[INV_KINDS], *wake_part[INV_KINDS];
	double alone[5];
	double boost_max[INV_KINDS] = { 0 };
	int ncpu = cfg->ncpu > INV_MAX_CPUS ? INV_MAX_CPUS : cfg->ncpu;
	char why[192];
	int dev, k, ret, pi;
	bool no_pi_driver = false;

	snprintf(res->note, sizeof(res->note),
		 "SCHED_OTHER owner holds the lock and has %llu ms of CPU work left when FIFO %d "
		 "hogs take all %d CPUs (they stop after %u ms) and a FIFO %d waiter asks for it; "
		 "hog_bound = runs where the owner only finished after the hogs stopped; "
		 "retried = runs redone because there was no inversion when the waiter asked "
		 "(owner already done, or hogs already gone); skipped = runs left out after "
		 "%u such redos; warm_up = 1 when the kind's first run (a warm-up for "
		 "the code paths it uses: page faults, and code translation under TCG) "
		 "ran and was not counted; "
		 "boost_seen = runs where the owner was seen at an RT priority (polled every 500 us), "
		 "boost_max_us = latest such sighting after the request; unlock_med_us = median "
		 "request to the owner's unlock; wake_med/max_us = the owner's unlock to the waiter "
		 "running; work_alone_us = the owner's work timed alone",
		 INV_WORK_NS / 1000000ull, INV_HOG_PRIO, ncpu, cfg->hog_ms,
		 INV_WAITER_PRIO, INV_RETRIES);
	for (k = 0; k < INV_KINDS; k++) {
		s[k] = res_add(res, names[k], UNIT_US);
		memset(&owner_part_s[k], 0, sizeof(owner_part_s[k]));
		owner_part[k] = &owner_part_s[k];
		memset(&wake_part_s[k], 0, sizeof(wake_part_s[k]));
		wake_part[k] = &wake_part_s[k];
	}
	if (!rt_allowed(why, sizeof(why))) {
		for (k = 0; k < INV_KINDS; k++)
			series_unsupported(s[k], "%s", why);
		return;
	}
	/* What the owner's work takes with the machine to itself. */
	for (k = 0; k < 5; k++) {
		uint64_t t0 = now_ns();

		burn_cpu_ns(INV_WORK_NS);
		alone[k] = (double)(now_ns() - t0) / 1e3;
	}
	qsort(alone, 5, sizeof(alone[0]), cmp_dbl);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		series_unsupported(s[INV_NTSYNC_PI], "%s", why);
		series_unsupported(s[INV_NTSYNC_NOPI], "%s", why);
	} else {
		ret = bench_nspa(dev, why, sizeof(why));
		pi = pi_param_get();
		if (ret == 0 && pi == -ENOENT) {
			/*
			 * A driver without the NSPA extensions and without the
			 * pi parameter (upstream's): its mutex has no PI at
			 * all, which is what ntsync-pi-off measures, with the
			 * parameter left alone.
			 */
			no_pi_driver = true;
			series_unsupported(s[INV_NTSYNC_PI], "%s: no PI", why);
			series_extra_text(s[INV_NTSYNC_NOPI], "driver", "upstream (no PI)");
		} else if (ret <= 0) {
			series_unsupported(s[INV_NTSYNC_PI], "%s", why);
			series_unsupported(s[INV_NTSYNC_NOPI], "%s", why);
		} else if (pi < 0) {
			series_unsupported(s[INV_NTSYNC_PI], "%s/pi: %s",
					   NTSYNC_PARAM_DIR, strerror(-pi));
			series_unsupported(s[INV_NTSYNC_NOPI], "%s/pi: %s",
					   NTSYNC_PARAM_DIR, strerror(-pi));
		}
	}
	ret = sched_self(SCHED_FIFO, INV_MAIN_PRIO);
	if (ret) {
		for (k = 0; k < INV_KINDS; k++)
			series_unsupported(s[k], "SCHED_FIFO: %s", strerror(-ret));
		goto out;
	}
	for (r = 0; r < cfg->runs; r++) {
		for (k = 0; k < INV_KINDS; k++) {
			struct inv_sample sample;

			if (s[k]->status != ST_OK)
				continue;
			if (!no_pi_driver && (k == INV_NTSYNC_PI || k == INV_NTSYNC_NOPI)) {
				ret = pi_param_set(k == INV_NTSYNC_PI);
				if (ret) {
					series_unsupported(s[k], "writing %s/pi: %s",
							   NTSYNC_PARAM_DIR, strerror(-ret));
					continue;
				}
			}
			if (r == 0)
				warmed[k] = inv_warm_up(lk[k], dev, ncpu, cfg->hog_ms);
			/* Left out when no redo had an inversion ("skipped"). */
			ret = inv_run_redoing(lk[k], dev, ncpu, cfg->hog_ms, &sample,
					      &early[k], why, sizeof(why));
			if (k == INV_NTSYNC_NOPI && !no_pi_driver)
				pi_param_restore();
			if (ret == -EAGAIN) {
				skipped[k]++;
				continue;
			}
			if (ret) {
				series_error(s[k], "%s", why);
				continue;
			}
			series_push(s[k], sample.us);
			series_push(owner_part[k], sample.done_us);
			series_push(wake_part[k], sample.us - sample.done_us);
			bound[k] += sample.hog_bound;
			if (sample.boost_us >= 0) {
				boosted[k]++;
				if (sample.boost_us > boost_max[k])
					boost_max[k] = sample.boost_us;
			}
		}
	}
	for (k = 0; k < INV_KINDS; k++) {
		series_extra_text(s[k], "hog_bound", "%u/%zu", bound[k], s[k]->n);
		series_extra(s[k], "retried", early[k]);
		series_extra(s[k], "skipped", skipped[k]);
		series_extra(s[k], "warm_up", warmed[k]);
		/* Every run skipped: nothing was measured, which is an error. */
		if (s[k]->status == ST_OK && !s[k]->n && cfg->runs)
			series_error(s[k], "no run produced an inversion in %u tries",
				     cfg->runs * (INV_RETRIES + 1));
		series_extra_text(s[k], "boost_seen", "%u/%zu", boosted[k], s[k]->n);
		series_summarize(owner_part[k]);
		if (owner_part[k]->status == ST_OK)
			series_extra(s[k], "unlock_med_us", owner_part[k]->sum.p50);
		free(owner_part[k]->v);
		series_summarize(wake_part[k]);
		if (wake_part[k]->status == ST_OK) {
			series_extra(s[k], "wake_med_us", wake_part[k]->sum.p50);
			series_extra(s[k], "wake_max_us", wake_part[k]->sum.max);
		}
		free(wake_part[k]->v);
		if (boosted[k])
			series_extra(s[k], "boost_max_us", boost_max[k]);
	}
	series_extra(s[0], "work_alone_us", alone[2]);
out:
	pi_param_restore();
	sched_self(SCHED_OTHER, 0);
	if (dev >= 0)
		close(dev);
}
