// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: a pool of threads parked in WAIT_ANY on one semaphore,
 * released one at a time by the measuring thread (growth-wake,
 * raw-sections).  Each waiter sets its own scheduling class first, then
 * loops: wait, report the wake (time, index, a futex counter), wait again.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"

/* A waiter's deadline: far beyond any point, it only ends a lost run. */
#define WPOOL_DEADLINE_NS	300000000000ll

static void *wpool_main(void *arg)
{
	struct waiter *w = arg;
	struct wpool *p = w->pool;
	uint32_t idx;
	int ret;

	atomic_store(&w->tid, bench_gettid());
	/* The measuring thread may be SCHED_FIFO: do not inherit that. */
	ret = sched_self(w->policy, w->policy == SCHED_OTHER ? 0 : w->prio);
	if (!ret && w->policy == SCHED_OTHER && w->prio &&
	    setpriority(PRIO_PROCESS, (id_t)atomic_load(&w->tid), w->prio))
		ret = -errno;
	for (;;) {
		uint64_t t;

		if (!ret) {
			atomic_store(&w->armed, 1);
			ret = ntsync_wait_any(p->dev, &p->sem, 1, BENCH_WAIT_OWNER, 0,
					      ntsync_deadline_ns(CLOCK_MONOTONIC,
								 WPOOL_DEADLINE_NS),
					      0, &idx);
			t = now_ns();
			atomic_store(&w->armed, 0);
		} else {
			t = now_ns();
		}
		if (atomic_load(&p->stop))
			break;
		if (ret) {
			int zero = 0;

			atomic_compare_exchange_strong(&p->err, &zero, ret);
		}
		atomic_store(&p->t_wake, t);
		atomic_store(&p->last, (int)w->idx);
		atomic_fetch_add(&p->done, 1);
		futex_wake(&p->done, 1);
		if (ret)
			break;
	}
	return NULL;
}

void wpool_prio_cycle(unsigned int i, int *policy, int *prio)
{
	unsigned int k = i % 138;

	if (k < 98) {
		*policy = SCHED_FIFO;
		*prio = 98 - (int)k;
	} else {
		*policy = SCHED_OTHER;
		*prio = -20 + (int)(k - 98);
	}
}

int wpool_start(struct wpool *p, int dev, int sem, unsigned int n,
		size_t stack, void (*prio_of)(unsigned int i, int *policy, int *prio))
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->dev = dev;
	p->sem = sem;
	p->w = calloc(n ? n : 1, sizeof(*p->w));
	if (!p->w)
		return -ENOMEM;
	p->n = n;
	for (i = 0; i < n; i++) {
		struct waiter *w = &p->w[i];
		int ret;

		w->pool = p;
		w->idx = i;
		w->policy = SCHED_OTHER;
		if (prio_of)
			prio_of(i, &w->policy, &w->prio);
		ret = thread_start_stack(&w->th, wpool_main, w, stack);
		if (ret)
			return ret;
		p->started++;
	}
	return 0;
}

bool wpool_parked(struct waiter *w)
{
	uint64_t end = now_ns() + 5000000000ull;

	while (!atomic_load(&w->armed) || !atomic_load(&w->tid)) {
		if (now_ns() > end || atomic_load(&w->pool->err))
			return false;
		sleep_ns(20000);
	}
	return wait_sleeping(atomic_load(&w->tid), 5000000000ull);
}

int wpool_all_parked(struct wpool *p)
{
	unsigned int i;

	for (i = 0; i < p->started; i++)
		if (!wpool_parked(&p->w[i]))
			return (int)i;
	return -1;
}

int wpool_await_wake(struct wpool *p, unsigned int done_before)
{
	uint64_t end = now_ns() + 10000000000ull;

	while (atomic_load(&p->done) == done_before) {
		futex_wait(&p->done, done_before, 100000000ull);
		if (now_ns() > end)
			return -ETIMEDOUT;
	}
	return atomic_load(&p->err);
}

/* Stop the waiters with releases of @batch counts each. */
static void wpool_stop_by(struct wpool *p, unsigned int batch)
{
	unsigned int i;
	uint32_t prev;

	atomic_store(&p->stop, 1);
	for (i = 0; i < p->started; i += batch)
		ntsync_sem_release(p->sem, p->started - i < batch ?
				   p->started - i : batch, &prev);
	for (i = 0; i < p->started; i++)
		pthread_join(p->w[i].th, NULL);
	free(p->w);
	p->w = NULL;
	p->started = 0;
}

void wpool_stop(struct wpool *p)
{
	wpool_stop_by(p, p->started ? p->started : 1);
}

void wpool_stop_singly(struct wpool *p)
{
	wpool_stop_by(p, 1);
}
