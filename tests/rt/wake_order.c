// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wake-up order by priority: a signal goes to the waiter with the best
 * kernel priority (SCHED_FIFO/RR priority, any RT above SCHED_OTHER), and
 * first-in first-out among waiters of equal priority.  Wait-any and wait-all
 * waiters of one object share that order, and a waiter whose priority
 * changes while it is queued is served by its new priority.
 *
 * Every waiter is an actor (nt_rt.h) whose attributes are set before it
 * queues; waiters are queued one at a time, each only once the previous one
 * is asleep in the kernel, so the arrival order is known.  Then one unit is
 * released at a time and the test waits for exactly one waiter to return
 * before the next release: the order of returns is the wake order.
 */
#include <stdio.h>

#include "nt_rt.h"

#define MAX_WAITERS	8
#define ROUNDS		20

/* Release one unit; @last is the waiter served by the previous release,
 * or -1 before the first. */
typedef void (*release_fn)(void *ctx, int last);

/*
 * Release once per waiter of @a[0..n-1] (all queued) and check that they
 * return in the order @want (positions in @a), one per release.  Returns
 * true when the order matched; the differences are printed.
 */
static bool served_in_order(struct nt_actor *const *a, unsigned int n,
			    const unsigned int *want, release_fn release,
			    void *ctx)
{
	bool served[MAX_WAITERS] = { false };
	unsigned int got_order[MAX_WAITERS];
	bool ok = true;
	int last = -1;

	for (unsigned int k = 0; k < n; k++) {
		struct nt_actor *pending[MAX_WAITERS];
		unsigned int map[MAX_WAITERS], m = 0, got;

		release(ctx, last);
		for (unsigned int i = 0; i < n; i++) {
			if (!served[i]) {
				pending[m] = a[i];
				map[m++] = i;
			}
		}
		got = map[nt_actors_first_idle(pending, m)];
		served[got] = true;
		got_order[k] = got;
		last = (int)got;
		NT_ASSERT_EQ(a[got]->ret, 0);
		/* The release handed over one unit: nobody else may return. */
		for (unsigned int i = 0; i < n; i++) {
			if (!served[i] && nt_actor_idle(a[i]))
				NT_FAIL("waiters %u and %u both returned after one release",
					got, i);
		}
		if (got != want[k])
			ok = false;
	}
	if (!ok) {
		char w[64] = "", g[64] = "";
		size_t lw = 0, lg = 0;

		for (unsigned int k = 0; k < n; k++) {
			lw += (size_t)snprintf(w + lw, sizeof(w) - lw, " %u", want[k]);
			lg += (size_t)snprintf(g + lg, sizeof(g) - lg, " %u", got_order[k]);
		}
		nt_diag("wake order:%s, expected:%s", g, w);
	}
	return ok;
}

struct sem_ctx {
	int sem;
	uint32_t max;
};

static void release_sem(void *p, int last)
{
	struct sem_ctx *c = p;

	(void)last;
	NT_ASSERT_EQ(nt_release(c->sem, 1), 0);
	/* Handed over inside the release: the count stays 0. */
	NT_CHECK_SEM(c->sem, 0, c->max);
}

/* Queue @a[order[0]], @a[order[1]], ... on @objs, each blocked before the
 * next starts. */
static void queue_in_order(struct nt_actor *a, const unsigned int *order,
			   unsigned int n, int dev, bool all, const int *objs,
			   uint32_t count)
{
	for (unsigned int i = 0; i < n; i++)
		nt_actor_wait_start(&a[order[i]], dev, all, objs, count,
				    100 + order[i], NTSYNC_TIMEOUT_INFINITE);
}

static void shuffle(unsigned int *v, unsigned int n, uint32_t *seed)
{
	for (unsigned int i = n - 1; i > 0; i--) {
		unsigned int j = nt_rand(seed) % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* Positions of @n actors sorted by descending @prio (stable). */
static void by_priority(const uint32_t *prio, unsigned int n,
			unsigned int *out)
{
	for (unsigned int i = 0; i < n; i++)
		out[i] = i;
	for (unsigned int i = 1; i < n; i++) {
		for (unsigned int j = i; j > 0 && prio[out[j]] > prio[out[j - 1]]; j--) {
			unsigned int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	}
}

NT_TEST_TIMEOUT(distinct_fifo_priorities_20_rounds, 120)
{
	static const uint32_t levels[5] = { 10, 25, 40, 55, 70 };
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 5), 5 };
	struct nt_actor a[5], *ap[5];
	unsigned int passed = 0;
	uint32_t seed = 0x5eed1234u;

	for (unsigned int i = 0; i < 5; i++) {
		nt_actor_start(&a[i], NT_OTHER(0));
		ap[i] = &a[i];
	}
	for (unsigned int r = 0; r < ROUNDS; r++) {
		unsigned int start[5] = { 0, 1, 2, 3, 4 };
		unsigned int assign[5] = { 0, 1, 2, 3, 4 };
		unsigned int want[5];
		uint32_t prio[5];

		/* New priorities per actor and a new arrival order. */
		shuffle(assign, 5, &seed);
		shuffle(start, 5, &seed);
		for (unsigned int i = 0; i < 5; i++) {
			prio[i] = levels[assign[i]] + r % 5;
			nt_sched_set(nt_actor_tid(&a[i]), NT_FIFO(prio[i]));
		}
		by_priority(prio, 5, want);
		queue_in_order(a, start, 5, dev, false, &c.sem, 1);
		if (served_in_order(ap, 5, want, release_sem, &c))
			passed++;
		else
			nt_diag("round %u: priorities %u %u %u %u %u, queued %u %u %u %u %u",
				r, prio[0], prio[1], prio[2], prio[3], prio[4],
				start[0], start[1], start[2], start[3], start[4]);
	}
	nt_diag("%u/%u rounds in strict priority order", passed, ROUNDS);
	NT_EXPECT_EQ(passed, ROUNDS);
}

NT_TEST_TIMEOUT(equal_priority_is_fifo, 60)
{
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 4), 4 };
	struct nt_actor a[4], *ap[4];
	/* Not thread-creation order: arrival order is what counts. */
	static const unsigned int start[4] = { 2, 0, 3, 1 };

	for (unsigned int i = 0; i < 4; i++) {
		nt_actor_start(&a[i], NT_FIFO(20));
		ap[i] = &a[i];
	}
	queue_in_order(a, start, 4, dev, false, &c.sem, 1);
	NT_EXPECT_TRUE(served_in_order(ap, 4, start, release_sem, &c));
}

NT_TEST_TIMEOUT(rt_beats_sched_other, 60)
{
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 3), 3 };
	struct nt_actor a[3], *ap[3] = { &a[0], &a[1], &a[2] };
	/* The best SCHED_OTHER (nice -20) arrives first, FIFO 1 last. */
	static const unsigned int start[3] = { 0, 1, 2 };
	static const unsigned int want[3] = { 2, 0, 1 };

	nt_actor_start(&a[0], NT_OTHER(-20));
	nt_actor_start(&a[1], NT_OTHER(0));
	nt_actor_start(&a[2], NT_FIFO(1));
	queue_in_order(a, start, 3, dev, false, &c.sem, 1);
	NT_EXPECT_TRUE(served_in_order(ap, 3, want, release_sem, &c));
}

NT_TEST_TIMEOUT(raised_while_queued_wakes_first, 60)
{
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 4), 4 };
	struct nt_actor a[4], *ap[4] = { &a[0], &a[1], &a[2], &a[3] };
	static const unsigned int start[4] = { 0, 1, 2, 3 };
	/* a[0] FIFO 10 -> 40, a[3] SCHED_OTHER -> FIFO 35 while queued. */
	static const unsigned int want[4] = { 0, 3, 2, 1 };

	nt_actor_start(&a[0], NT_FIFO(10));
	nt_actor_start(&a[1], NT_FIFO(20));
	nt_actor_start(&a[2], NT_FIFO(30));
	nt_actor_start(&a[3], NT_OTHER(0));
	queue_in_order(a, start, 4, dev, false, &c.sem, 1);
	nt_sched_set(nt_actor_tid(&a[0]), NT_FIFO(40));
	nt_sched_set(nt_actor_tid(&a[3]), NT_FIFO(35));
	NT_EXPECT_TRUE(served_in_order(ap, 4, want, release_sem, &c));
}

NT_TEST_TIMEOUT(lowered_while_queued_wakes_later, 60)
{
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 3), 3 };
	struct nt_actor a[3], *ap[3] = { &a[0], &a[1], &a[2] };
	static const unsigned int start[3] = { 2, 1, 0 };
	/* a[2] FIFO 50 -> SCHED_OTHER while queued: last. */
	static const unsigned int want[3] = { 1, 0, 2 };

	nt_actor_start(&a[0], NT_FIFO(10));
	nt_actor_start(&a[1], NT_FIFO(30));
	nt_actor_start(&a[2], NT_FIFO(50));
	queue_in_order(a, start, 3, dev, false, &c.sem, 1);
	nt_sched_set(nt_actor_tid(&a[2]), NT_OTHER(0));
	NT_EXPECT_TRUE(served_in_order(ap, 3, want, release_sem, &c));
}

/*
 * One wait-any and one wait-all waiter on the same semaphore (the wait-all
 * one also waits for a signaled manual event, so it is a true wait-all),
 * queued in the given order: the better priority is served first, the
 * earlier arrival on equal priorities, whichever kind of wait each is.
 */
static void any_vs_all(uint32_t any_prio, uint32_t all_prio, bool all_first)
{
	int dev = nt_dev();
	struct sem_ctx c = { nt_sem(dev, 0, 2), 2 };
	int ev = nt_event(dev, 1, 1);
	int all_objs[2] = { c.sem, ev };
	struct nt_actor any, all, *ap[2] = { &any, &all };
	static const unsigned int all_served_first[2] = { 1, 0 };
	static const unsigned int any_served_first[2] = { 0, 1 };
	bool want_all_first = all_prio > any_prio ||
			      (all_prio == any_prio && all_first);

	nt_actor_start(&any, NT_FIFO(any_prio));
	nt_actor_start(&all, NT_FIFO(all_prio));
	if (!all_first)
		nt_actor_wait_start(&any, dev, false, &c.sem, 1, 1,
				    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&all, dev, true, all_objs, 2, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	if (all_first)
		nt_actor_wait_start(&any, dev, false, &c.sem, 1, 1,
				    NTSYNC_TIMEOUT_INFINITE);
	NT_EXPECT_TRUE(served_in_order(ap, 2, want_all_first ?
				       all_served_first : any_served_first,
				       release_sem, &c));
	NT_CHECK_EVENT(ev, 1, 1);
}

/* The better one arrives last in both directions. */
NT_TEST_TIMEOUT(wait_all_higher_than_wait_any, 60)
{
	any_vs_all(20, 40, false);
}

NT_TEST_TIMEOUT(wait_any_higher_than_wait_all, 60)
{
	any_vs_all(40, 20, true);
}

NT_TEST_TIMEOUT(wait_any_and_wait_all_equal_priority_fifo, 60)
{
	any_vs_all(30, 30, true);
	any_vs_all(30, 30, false);
}

struct event_ctx {
	int ev;
};

static void set_event(void *p, int last)
{
	struct event_ctx *c = p;

	(void)last;
	NT_ASSERT_EQ(nt_set(c->ev), 0);
	NT_CHECK_EVENT(c->ev, 0, 0);
}

NT_TEST_TIMEOUT(auto_event_priority_order, 60)
{
	int dev = nt_dev();
	struct event_ctx c = { nt_event(dev, 0, 0) };
	struct nt_actor a[4], *ap[4] = { &a[0], &a[1], &a[2], &a[3] };
	static const unsigned int start[4] = { 1, 3, 0, 2 };
	static const unsigned int want[4] = { 2, 0, 3, 1 };

	nt_actor_start(&a[0], NT_RR(30));
	nt_actor_start(&a[1], NT_OTHER(0));
	nt_actor_start(&a[2], NT_FIFO(60));
	nt_actor_start(&a[3], NT_FIFO(5));
	queue_in_order(a, start, 4, dev, false, &c.ev, 1);
	NT_EXPECT_TRUE(served_in_order(ap, 4, want, set_event, &c));
}

struct mutex_ctx {
	int mutex;
	struct nt_actor *holder;	/* first owner */
	struct nt_actor *a;		/* the waiters */
};

/* The current owner unlocks: the first owner, then each served waiter. */
static void hand_mutex_over(void *p, int last)
{
	struct mutex_ctx *c = p;

	if (last < 0)
		NT_ASSERT_EQ(nt_actor_unlock(c->holder, c->mutex, 1), 0);
	else
		NT_ASSERT_EQ(nt_actor_unlock(&c->a[last], c->mutex,
					     100 + (uint32_t)last), 0);
}

NT_TEST_TIMEOUT(mutex_handoff_priority_order, 60)
{
	int dev = nt_dev();
	struct nt_actor holder, a[4], *ap[4] = { &a[0], &a[1], &a[2], &a[3] };
	struct mutex_ctx c = { nt_mutex(dev, 0, 0), &holder, a };
	static const unsigned int start[4] = { 0, 1, 2, 3 };
	static const unsigned int want[4] = { 3, 1, 2, 0 };

	nt_actor_start(&holder, NT_OTHER(0));
	nt_actor_take(&holder, dev, c.mutex, 1);
	nt_actor_start(&a[0], NT_OTHER(0));
	nt_actor_start(&a[1], NT_FIFO(30));
	nt_actor_start(&a[2], NT_FIFO(15));
	nt_actor_start(&a[3], NT_FIFO(45));
	queue_in_order(a, start, 4, dev, false, &c.mutex, 1);
	NT_EXPECT_TRUE(served_in_order(ap, 4, want, hand_mutex_over, &c));
	NT_CHECK_MUTEX(c.mutex, 100, 1);
}
