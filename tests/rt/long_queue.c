// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wake-up order in a long queue: 1,000 waiters on one semaphore, at SCHED_FIFO
 * priorities 1..99 and SCHED_OTHER with three nice values, interleaved.
 * The queue is an ordered tree; these tests check that its order is the
 * strict (priority, arrival) order however long it is, and what the driver
 * documents for priorities changed while queued (ntsync_wait.c): a lowered
 * waiter is served by its new priority at once, a raised one after at most
 * ceil(m / NTSYNC_WQ_SWEEP) + 1 wakes (m: the waiters its bounded re-check
 * has to get through first; in a queue this long each wake owes one
 * re-check, made before the next wake chooses: here, where the woken
 * waiters do not queue again, by that next release).
 *
 * Every waiter is a plain thread (small stacks: 1,000 of them fit a 32-bit
 * process) that sets its own attributes, then waits; each is queued only
 * once the previous one is asleep in the kernel, so arrival order is
 * creation order.  One unit is released at a time, and the next release
 * only follows once the waiter served by it has logged itself: the log is
 * the wake order.  The semaphore count stays 0 after every release (the
 * unit is handed over inside it), so no release serves two.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nt_rt.h"

#define WAITERS		1000
/* NTSYNC_WQ_SWEEP of ntsync_internal.h: entries one re-check reads. */
#define SWEEP_WINDOW	8
#define WAITER_STACK	(128 * 1024)
/* The lowered and raised waiters of the priority change test. */
#define LOWERED		4
#define RAISED		2

struct queue;

struct waiter {
	struct nt_thread thread;
	struct queue *qu;
	unsigned int id;
	struct nt_sched sched;
	int ret;
};

struct queue {
	int dev;
	int sem;
	struct waiter w[WAITERS];
	/* Ids in wake order: a woken waiter takes a slot, fills it, then
	 * counts it as published. */
	atomic_uint taken;
	atomic_uint published;
	unsigned int order[WAITERS];
};

static struct queue qu;

/* The attributes of the i-th arrival: FIFO 1..99 and SCHED_OTHER mixed. */
static struct nt_sched sched_of(unsigned int i)
{
	unsigned int level = (i * 37) % 100;

	if (level)
		return NT_FIFO(level);
	return NT_OTHER((int)(i % 3) * 5 - 5);
}

/* task->prio: lower is better. */
static int kprio(struct nt_sched s)
{
	if (s.policy == SCHED_FIFO || s.policy == SCHED_RR)
		return 99 - (int)s.prio;
	return 120 + s.nice;
}

static void *waiter_fn(void *p)
{
	struct waiter *w = p;
	unsigned int slot;
	uint32_t index;

	nt_sched_set(gettid(), w->sched);
	w->ret = ntsync_wait_any(w->qu->dev, &w->qu->sem, 1, NT_WAIT_OWNER,
				 NTSYNC_NO_ALERT, NTSYNC_TIMEOUT_INFINITE, 0,
				 &index);
	slot = atomic_fetch_add(&w->qu->taken, 1);
	if (slot < WAITERS)
		w->qu->order[slot] = w->id;
	atomic_fetch_add(&w->qu->published, 1);
	/*
	 * Exit as a normal thread: hundreds of real-time threads exiting at
	 * once (slow on a debug kernel) would starve the SCHED_OTHER ones.
	 */
	nt_sched_set(gettid(), NT_OTHER(0));
	return NULL;
}

/* Queue the 1,000 waiters in id order, each asleep before the next. */
static void queue_all(void)
{
	pthread_attr_t attr;
	int err;

	/* nt_thread_start() creates threads with the default attributes. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WAITER_STACK);
	err = pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	if (err)
		NT_FAIL("pthread_setattr_default_np: %s", strerror(err));

	memset(&qu, 0, sizeof(qu));
	qu.dev = nt_dev();
	qu.sem = nt_sem(qu.dev, 0, WAITERS);
	for (unsigned int i = 0; i < WAITERS; i++) {
		struct waiter *w = &qu.w[i];

		w->qu = &qu;
		w->id = i;
		w->sched = sched_of(i);
		w->ret = 1;
		nt_thread_start(&w->thread, waiter_fn, w);
		nt_wait_blocked(w->thread.tid);
	}
}

/* Release one unit at a time; the wake order lands in qu.order. */
static void release_all(void)
{
	for (unsigned int k = 0; k < WAITERS; k++) {
		uint64_t start = nt_mono_ns();

		NT_ASSERT_EQ(nt_release(qu.sem, 1), 0);
		NT_CHECK_SEM(qu.sem, 0, WAITERS);
		while (atomic_load(&qu.published) != k + 1) {
			if (nt_elapsed_ms(start) > NT_SOON_MS)
				NT_FAIL("release %u: nobody woke within %u ms",
					k, NT_SOON_MS);
			nt_sleep_us(100);
		}
	}
}

/* Every waiter returned 0 and exits. */
static void join_all(void)
{
	/* They all exit at about the same time: slow on a debug kernel. */
	const unsigned int exit_ms = 6 * NT_SOON_MS;

	for (unsigned int i = 0; i < WAITERS; i++) {
		if (nt_thread_join_ms(&qu.w[i].thread, exit_ms))
			NT_FAIL("waiter %u did not exit within %u ms", i,
				exit_ms);
		NT_EXPECT_EQ(qu.w[i].ret, 0);
	}
}

/* Ids in strict (task->prio, arrival) order of @prio. */
static void sort_by_prio(const int *prio, unsigned int *out)
{
	static unsigned int tmp[WAITERS];
	unsigned int n = 0;

	/* By priority, then id: arrival order on ties. */
	for (int p = 0; p <= 140 && n < WAITERS; p++) {
		for (unsigned int i = 0; i < WAITERS; i++)
			if (prio[i] == p)
				tmp[n++] = i;
	}
	NT_ASSERT_EQ(n, WAITERS);
	memcpy(out, tmp, sizeof(tmp));
}

/* Compare @got with @want (both @n long); print the first differences. */
static unsigned int count_mismatches(const unsigned int *got,
				     const unsigned int *want, unsigned int n)
{
	unsigned int bad = 0;

	for (unsigned int k = 0; k < n; k++) {
		if (got[k] == want[k])
			continue;
		if (++bad <= 5)
			nt_diag("wake %u: waiter %u, expected %u", k, got[k],
				want[k]);
	}
	return bad;
}

NT_TEST_TIMEOUT(strict_order_1000_waiters, 300)
{
	static unsigned int want[WAITERS];
	static int prio[WAITERS];

	for (unsigned int i = 0; i < WAITERS; i++)
		prio[i] = kprio(sched_of(i));
	sort_by_prio(prio, want);
	queue_all();
	release_all();
	NT_EXPECT_EQ(count_mismatches(qu.order, want, WAITERS), 0);
	join_all();
}

/*
 * While all are queued: the LOWERED best waiters drop to SCHED_OTHER nice
 * 10 (below everyone) and the RAISED worst ones rise to FIFO 99.  Promised:
 * every waiter but the raised ones is served in the exact order of the new
 * priorities (lowering is seen at once), and each raised one within the
 * re-check's bound: ceil((WAITERS + LOWERED) / SWEEP_WINDOW) re-checks (the
 * lowered ones are requeued ahead of it at worst), each owed by a wake and
 * made before the next one chooses, so one wake more, plus one per raised
 * waiter served before it.
 */
NT_TEST_TIMEOUT(priority_changes_in_long_queue, 300)
{
	const unsigned int bound = (WAITERS + LOWERED + SWEEP_WINDOW - 1) /
				   SWEEP_WINDOW + 1 + RAISED;
	static unsigned int want[WAITERS], got[WAITERS];
	static int prio[WAITERS];
	unsigned int before[WAITERS], raised[RAISED], n_want = 0, n_got = 0;
	bool is_raised[WAITERS] = { false };

	for (unsigned int i = 0; i < WAITERS; i++)
		prio[i] = kprio(sched_of(i));
	sort_by_prio(prio, before);
	queue_all();

	for (unsigned int k = 0; k < LOWERED; k++) {
		unsigned int id = before[k];

		nt_sched_set(qu.w[id].thread.tid, NT_OTHER(10));
		prio[id] = kprio(NT_OTHER(10));
	}
	for (unsigned int k = 0; k < RAISED; k++) {
		unsigned int id = before[WAITERS - 1 - k];

		nt_sched_set(qu.w[id].thread.tid, NT_FIFO(99));
		prio[id] = kprio(NT_FIFO(99));
		raised[k] = id;
		is_raised[id] = true;
	}
	sort_by_prio(prio, want);
	release_all();

	for (unsigned int k = 0; k < WAITERS; k++) {
		if (!is_raised[want[k]])
			want[n_want++] = want[k];
		if (!is_raised[qu.order[k]])
			got[n_got++] = qu.order[k];
		else
			nt_diag("raised waiter %u served by release %u (bound %u)",
				qu.order[k], k + 1, bound);
	}
	NT_ASSERT_EQ(n_got, n_want);
	NT_EXPECT_EQ(count_mismatches(got, want, n_want), 0);
	for (unsigned int k = 0; k < RAISED; k++) {
		for (unsigned int j = 0; j < WAITERS; j++) {
			if (qu.order[j] == raised[k])
				NT_EXPECT_LE(j + 1, bound);
		}
	}
	join_all();
}

/*
 * The same promise in a pool of workers, where each woken waiter queues
 * again at once, so the re-check each wake owes is made by that waiter as
 * it queues, not by the next release: POOL_WORKERS SCHED_OTHER workers
 * take turns on one semaphore (first in, first out), and after a few
 * turns the one halfway down the queue is raised to FIFO 50.  Every
 * worker ahead of it that is served is served in its turn, and the raised
 * one within ceil(POOL_WORKERS / SWEEP_WINDOW) re-checks, one per wake,
 * so one wake more.  Without the re-check it would wait for its turn,
 * POOL_WORKERS / 2 wakes.
 */
#define POOL_WORKERS	64
#define POOL_WARM_UP	(POOL_WORKERS / 2 + 3)

struct pool {
	int dev;
	int sem;
	atomic_uint stop;
	/* Turns served so far, and whose was the last: set by the worker. */
	atomic_uint served;
	atomic_uint last;
	struct waiter w[POOL_WORKERS];
};

static struct pool pool;

static void *pool_worker_fn(void *p)
{
	struct waiter *w = p;
	uint32_t index;

	for (;;) {
		w->ret = ntsync_wait_any(pool.dev, &pool.sem, 1, NT_WAIT_OWNER,
					 NTSYNC_NO_ALERT,
					 NTSYNC_TIMEOUT_INFINITE, 0, &index);
		if (w->ret || atomic_load(&pool.stop))
			break;
		atomic_store(&pool.last, w->id);
		atomic_fetch_add(&pool.served, 1);
	}
	nt_sched_set(gettid(), NT_OTHER(0));
	return NULL;
}

/* One turn: release one unit; the id of the worker it served, queued again. */
static unsigned int pool_turn(void)
{
	unsigned int before = atomic_load(&pool.served), id;
	uint64_t start = nt_mono_ns();

	NT_ASSERT_EQ(nt_release(pool.sem, 1), 0);
	while (atomic_load(&pool.served) == before) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("nobody served within %u ms", NT_SOON_MS);
		nt_sleep_us(100);
	}
	id = atomic_load(&pool.last);
	NT_ASSERT_LT(id, POOL_WORKERS);
	nt_wait_blocked(pool.w[id].thread.tid);
	return id;
}

NT_TEST_TIMEOUT(priority_raised_in_worker_pool, 120)
{
	const unsigned int bound = (POOL_WORKERS + SWEEP_WINDOW - 1) /
				   SWEEP_WINDOW + 1;
	unsigned int turn, raised, id = POOL_WORKERS;

	memset(&pool, 0, sizeof(pool));
	pool.dev = nt_dev();
	pool.sem = nt_sem(pool.dev, 0, POOL_WORKERS);
	for (unsigned int i = 0; i < POOL_WORKERS; i++) {
		pool.w[i].id = i;
		pool.w[i].ret = 1;
		nt_thread_start(&pool.w[i].thread, pool_worker_fn, &pool.w[i]);
		nt_wait_blocked(pool.w[i].thread.tid);
	}
	/* Queued in id order, and each served goes to the back. */
	for (turn = 0; turn < POOL_WARM_UP; turn++)
		NT_ASSERT_EQ(pool_turn(), turn % POOL_WORKERS);

	raised = (POOL_WARM_UP + POOL_WORKERS / 2) % POOL_WORKERS;
	nt_sched_set(pool.w[raised].thread.tid, NT_FIFO(50));
	for (turn = 0; turn < POOL_WORKERS / 2; turn++) {
		id = pool_turn();
		if (id == raised)
			break;
		NT_ASSERT_EQ(id, (POOL_WARM_UP + turn) % POOL_WORKERS);
	}
	nt_diag("raised worker served by wake %u (bound %u)", turn + 1, bound);
	NT_EXPECT_EQ(id, raised);
	NT_EXPECT_LE(turn + 1, bound);

	atomic_store(&pool.stop, 1);
	NT_ASSERT_EQ(nt_release(pool.sem, POOL_WORKERS), 0);
	for (unsigned int i = 0; i < POOL_WORKERS; i++) {
		if (nt_thread_join_ms(&pool.w[i].thread, 6 * NT_SOON_MS))
			NT_FAIL("worker %u did not exit", i);
		NT_EXPECT_EQ(pool.w[i].ret, 0);
	}
}
