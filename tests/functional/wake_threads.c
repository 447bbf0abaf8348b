// SPDX-License-Identifier: GPL-2.0-only
/*
 * Multi-threaded wake-ups: how many blocked waiters each signal wakes, and in
 * which order (FIFO among SCHED_OTHER waiters, which share one priority).
 *
 * The oracle is the object state right after the signalling call: the
 * kernel hands objects to waiters inside that call, so e.g. a semaphore
 * count of 0 right after a release of 3 with 5 waiters proves 3 were served.
 * Waiters are started one at a time, each only once the previous one is
 * asleep in the kernel, so their arrival order is known.
 */
#include "nt_util.h"

#define MAX_WAITERS 6

/* Start @n waiters of the same wait, in order, each blocked before the next. */
static void start_in_order(struct nt_waiter *w, unsigned int n, int dev,
			   bool all, const int *objs, uint32_t count,
			   const uint32_t *owners)
{
	for (unsigned int i = 0; i < n; i++) {
		nt_waiter_init(&w[i], dev, all, objs, count,
			       owners ? owners[i] : 100 + i);
		nt_waiter_start(&w[i]);
	}
}

/* Join waiters [from, to) and check each succeeded with @index. */
static void join_ok(struct nt_waiter *w, unsigned int from, unsigned int to,
		    uint32_t index)
{
	for (unsigned int i = from; i < to; i++) {
		NT_ASSERT_OK(nt_waiter_join(&w[i]));
		NT_EXPECT_EQ(w[i].index, index);
	}
}

static void check_waiting(struct nt_waiter *w, unsigned int from,
			  unsigned int to)
{
	for (unsigned int i = from; i < to; i++)
		NT_CHECK_STILL_WAITING(&w[i], 0);
}

NT_TEST(sem_release_n_wakes_exactly_n)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 10);
	struct nt_waiter w[5];

	start_in_order(w, 5, dev, false, &sem, 1, NULL);
	NT_EXPECT_EQ(nt_release(sem, 3), 0);
	/* Three counts were handed out inside the release. */
	NT_CHECK_SEM(sem, 0, 10);
	join_ok(w, 0, 3, 0);
	check_waiting(w, 3, 5);
	NT_CHECK_SEM(sem, 0, 10);

	/* More than needed: two are served, the rest stays. */
	NT_EXPECT_EQ(nt_release(sem, 4), 0);
	NT_CHECK_SEM(sem, 2, 10);
	join_ok(w, 3, 5, 0);
}

NT_TEST(manual_event_wakes_all)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 0);
	struct nt_waiter w[4];

	start_in_order(w, 4, dev, false, &ev, 1, NULL);
	NT_EXPECT_EQ(nt_set(ev), 0);
	join_ok(w, 0, 4, 0);
	NT_CHECK_EVENT(ev, 1, 1);
}

NT_TEST(auto_event_wakes_one_per_set)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	struct nt_waiter w[3];

	start_in_order(w, 3, dev, false, &ev, 1, NULL);
	for (unsigned int i = 0; i < 3; i++) {
		NT_EXPECT_EQ(nt_set(ev), 0);
		/* Consumed by exactly one waiter: the oldest. */
		NT_CHECK_EVENT(ev, 0, 0);
		join_ok(w, i, i + 1, 0);
		check_waiting(w, i + 1, 3);
	}
}

NT_TEST(pulse_manual_wakes_all_waiting)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 0);
	struct nt_waiter w[3];
	uint32_t prev = NT_POISON, index;

	start_in_order(w, 3, dev, false, &ev, 1, NULL);
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_CHECK_EVENT(ev, 1, 0);
	join_ok(w, 0, 3, 0);
	/* Nothing left over for a later wait. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &ev, 1, 1, 0, 0, 0, &index),
			ETIMEDOUT);
}

NT_TEST(pulse_auto_wakes_exactly_one)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	struct nt_waiter w[3];
	uint32_t prev = NT_POISON;

	start_in_order(w, 3, dev, false, &ev, 1, NULL);
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_CHECK_EVENT(ev, 0, 0);
	join_ok(w, 0, 1, 0);
	check_waiting(w, 1, 3);
	/* A second pulse serves the next one, still nothing stays set. */
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_CHECK_EVENT(ev, 0, 0);
	join_ok(w, 1, 2, 0);
	check_waiting(w, 2, 3);
	nt_set(ev);
	join_ok(w, 2, 3, 0);
	NT_CHECK_EVENT(ev, 0, 0);
}

NT_TEST(fifo_order_on_semaphore)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 5);
	struct nt_waiter w[MAX_WAITERS];

	start_in_order(w, MAX_WAITERS, dev, false, &sem, 1, NULL);
	for (unsigned int i = 0; i < MAX_WAITERS; i++) {
		nt_release(sem, 1);
		NT_CHECK_SEM(sem, 0, 5);
		join_ok(w, i, i + 1, 0);
		check_waiting(w, i + 1, MAX_WAITERS);
	}
}

NT_TEST(fifo_order_across_different_wait_sets)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	int other = nt_sem(dev, 0, 1);
	int a[2] = { other, ev };
	int b[1] = { ev };
	struct nt_waiter w[3];

	/* Waiter 0 sees ev at index 1, waiter 1 at index 0, waiter 2 at 1. */
	nt_waiter_init(&w[0], dev, false, a, 2, 10);
	nt_waiter_start(&w[0]);
	nt_waiter_init(&w[1], dev, false, b, 1, 11);
	nt_waiter_start(&w[1]);
	nt_waiter_init(&w[2], dev, false, a, 2, 12);
	nt_waiter_start(&w[2]);

	nt_set(ev);
	join_ok(w, 0, 1, 1);
	check_waiting(w, 1, 3);
	nt_set(ev);
	join_ok(w, 1, 2, 0);
	nt_set(ev);
	join_ok(w, 2, 3, 1);
	NT_CHECK_SEM(other, 0, 1);
}

NT_TEST(mutex_handoff_on_last_unlock)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 1, 2);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_waiter_start(&w);
	NT_EXPECT_EQ(nt_unlock(m, 1), 2);
	NT_CHECK_MUTEX(m, 1, 1);
	NT_CHECK_STILL_WAITING(&w, 0);
	NT_EXPECT_EQ(nt_unlock(m, 1), 1);
	/* Handed over inside the unlock. */
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
}

NT_TEST(mutex_handoff_chain_in_fifo_order)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 10, 1);
	const uint32_t owners[3] = { 11, 12, 13 };
	struct nt_waiter w[3];

	start_in_order(w, 3, dev, false, &m, 1, owners);
	for (unsigned int i = 0; i < 3; i++) {
		NT_EXPECT_EQ(nt_unlock(m, 10 + i), 1);
		NT_CHECK_MUTEX(m, owners[i], 1);
		join_ok(w, i, i + 1, 0);
		check_waiting(w, i + 1, 3);
	}
	NT_EXPECT_EQ(nt_unlock(m, 13), 1);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(same_owner_waiters_share_the_mutex)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 5, 1);
	const uint32_t owners[3] = { 7, 7, 7 };
	struct nt_waiter w[3];

	/* Three waits for owner 7: once it is free they all recurse in. */
	start_in_order(w, 3, dev, false, &m, 1, owners);
	nt_unlock(m, 5);
	join_ok(w, 0, 3, 0);
	NT_CHECK_MUTEX(m, 7, 3);
}

NT_TEST(wake_any_reports_the_signaled_index)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 0, 1), nt_event(dev, 1, 0),
			nt_mutex(dev, 1, 1) };
	struct nt_waiter w;

	for (unsigned int i = 0; i < 3; i++) {
		nt_waiter_init(&w, dev, false, objs, 3, 2);
		nt_waiter_start(&w);
		if (i == 0)
			nt_release(objs[0], 1);
		else if (i == 1)
			nt_set(objs[1]);
		else
			nt_unlock(objs[2], 1);
		NT_ASSERT_OK(nt_waiter_join(&w));
		NT_EXPECT_EQ(w.index, i);
		if (i == 1)
			nt_reset(objs[1]);
	}
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_MUTEX(objs[2], 2, 1);
}

NT_TEST(signal_with_no_matching_waiter_is_kept)
{
	int dev = nt_dev();
	int a = nt_sem(dev, 0, 2);
	int b = nt_sem(dev, 0, 2);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &a, 1, 1);
	nt_waiter_start(&w);
	nt_release(b, 2);
	NT_CHECK_SEM(b, 2, 2);
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_release(a, 2);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(a, 1, 2);
}
