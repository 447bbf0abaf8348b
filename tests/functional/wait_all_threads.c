// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blocked WAIT_ALL: woken only when every object is signaled at the same
 * time, nothing consumed while waiting or on timeout, and competition with
 * WAIT_ANY waiters and other WAIT_ALL waiters.
 */
#include "nt_util.h"

NT_TEST(woken_only_when_all_signaled)
{
	int dev = nt_dev();
	int objs[4] = { nt_sem(dev, 0, 3), nt_mutex(dev, 1, 1),
			nt_event(dev, 1, 0), nt_event(dev, 0, 0) };
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, objs, 4, 2);
	nt_waiter_start(&w);

	nt_release(objs[0], 1);
	NT_CHECK_SEM(objs[0], 1, 3);		/* not taken */
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_set(objs[2]);
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_set(objs[3]);
	NT_CHECK_EVENT(objs[3], 0, 1);		/* not taken either */
	NT_CHECK_STILL_WAITING(&w, 0);

	/* The last one: all four are taken in one go. */
	NT_EXPECT_EQ(nt_unlock(objs[1], 1), 1);
	NT_CHECK_SEM(objs[0], 0, 3);
	NT_CHECK_MUTEX(objs[1], 2, 1);
	NT_CHECK_EVENT(objs[2], 1, 1);
	NT_CHECK_EVENT(objs[3], 0, 0);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
}

NT_TEST(signaled_then_taken_back_does_not_wake)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 2), nt_event(dev, 1, 0) };
	struct nt_waiter w;
	uint32_t index;

	nt_waiter_init(&w, dev, true, objs, 2, 7);
	nt_waiter_start(&w);

	nt_release(objs[0], 1);
	/* Someone else takes the count before the event is set. */
	NT_ASSERT_OK(ntsync_wait_any(dev, &objs[0], 1, 8, 0, 0, 0, &index));
	NT_CHECK_SEM(objs[0], 0, 2);
	nt_set(objs[1]);
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_reset(objs[1]);
	nt_release(objs[0], 1);
	NT_CHECK_STILL_WAITING(&w, 0);
	NT_CHECK_SEM(objs[0], 1, 2);
	nt_set(objs[1]);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(objs[0], 0, 2);
}

NT_TEST(timeout_consumes_nothing)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 1, 1), nt_mutex(dev, 0, 0),
			nt_event(dev, 0, 0) };
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, objs, 3, 9);
	w.timeout = nt_deadline_ms(150);
	/*
	 * Not nt_waiter_start(): on a slow host the deadline can pass before
	 * the wait is seen blocked. ETIMEDOUT at or after it shows the wait.
	 */
	nt_waiter_start_nowait(&w);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_EXPECT_GE(w.end_ns, w.timeout);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 0, 0);
}

NT_TEST(wait_any_served_while_all_incomplete)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 2);
	int ev = nt_event(dev, 1, 0);
	int set[2] = { sem, ev };
	struct nt_waiter all, any;

	nt_waiter_init(&all, dev, true, set, 2, 1);
	nt_waiter_start(&all);
	nt_waiter_init(&any, dev, false, &sem, 1, 2);
	nt_waiter_start(&any);

	/* The WAIT_ALL cannot use the count (ev unset): WAIT_ANY gets it. */
	nt_release(sem, 1);
	NT_CHECK_SEM(sem, 0, 2);
	NT_ASSERT_OK(nt_waiter_join(&any));
	NT_CHECK_STILL_WAITING(&all, 0);

	nt_set(ev);
	NT_CHECK_STILL_WAITING(&all, 0);
	nt_release(sem, 1);
	NT_ASSERT_OK(nt_waiter_join(&all));
	NT_CHECK_SEM(sem, 0, 2);
	NT_CHECK_EVENT(ev, 1, 1);
}

/*
 * While a WAIT_ALL lists the semaphore, its release runs under the
 * device-wide wait-all lock, whose waker defers the first few wakes until
 * it drops that lock (the module keeps 8): a release of 12 with 12 WAIT_ANY
 * waiters wakes every one, deferred or not, and leaves the WAIT_ALL alone.
 */
#define MANY_ANY_WAITERS	12

NT_TEST(release_wakes_many_any_waiters_while_a_wait_all_waits)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, MANY_ANY_WAITERS + 1);
	int ev = nt_event(dev, 1, 0);
	int set[2] = { sem, ev };
	struct nt_waiter all, any[MANY_ANY_WAITERS];

	nt_waiter_init(&all, dev, true, set, 2, 1);
	nt_waiter_start(&all);
	for (unsigned int i = 0; i < MANY_ANY_WAITERS; i++) {
		nt_waiter_init(&any[i], dev, false, &sem, 1, 2 + i);
		nt_waiter_start(&any[i]);
	}

	NT_EXPECT_EQ(nt_release(sem, MANY_ANY_WAITERS), 0);
	NT_CHECK_SEM(sem, 0, MANY_ANY_WAITERS + 1);
	for (unsigned int i = 0; i < MANY_ANY_WAITERS; i++) {
		NT_ASSERT_OK(nt_waiter_join(&any[i]));
		NT_EXPECT_EQ(any[i].index, 0);
	}
	NT_CHECK_STILL_WAITING(&all, 0);

	nt_set(ev);
	NT_EXPECT_EQ(nt_release(sem, 1), 0);
	NT_ASSERT_OK(nt_waiter_join(&all));
	NT_CHECK_SEM(sem, 0, MANY_ANY_WAITERS + 1);
}

NT_TEST(manual_event_wakes_any_and_all_waiters)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 0);
	int sem = nt_sem(dev, 1, 1);
	int set[2] = { ev, sem };
	struct nt_waiter all, any;

	nt_waiter_init(&all, dev, true, set, 2, 1);
	nt_waiter_start(&all);
	nt_waiter_init(&any, dev, false, &ev, 1, 2);
	nt_waiter_start(&any);
	nt_set(ev);
	NT_ASSERT_OK(nt_waiter_join(&any));
	NT_ASSERT_OK(nt_waiter_join(&all));
	NT_CHECK_SEM(sem, 0, 1);
	NT_CHECK_EVENT(ev, 1, 1);
}

NT_TEST(auto_event_goes_to_exactly_one_of_any_and_all)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	int sem = nt_sem(dev, 1, 1);
	int set[2] = { ev, sem };
	struct nt_waiter all, any;
	struct nt_waiter *both[2] = { &all, &any };
	unsigned int first;

	nt_waiter_init(&all, dev, true, set, 2, 1);
	nt_waiter_start(&all);
	nt_waiter_init(&any, dev, false, &ev, 1, 2);
	nt_waiter_start(&any);

	nt_set(ev);
	NT_CHECK_EVENT(ev, 0, 0);
	first = nt_waiters_first_done(both, 2);
	NT_ASSERT_OK(nt_waiter_join(both[first]));
	NT_CHECK_STILL_WAITING(both[1 - first], 0);
	NT_CHECK_SEM(sem, first == 0 ? 0 : 1, 1);

	nt_set(ev);
	NT_ASSERT_OK(nt_waiter_join(both[1 - first]));
	NT_CHECK_EVENT(ev, 0, 0);
	NT_CHECK_SEM(sem, 0, 1);
}

NT_TEST(two_all_waiters_sharing_a_mutex)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 2);
	int m = nt_mutex(dev, 0, 0);
	int set[2] = { sem, m };
	struct nt_waiter a, b;
	struct nt_waiter *both[2] = { &a, &b };
	unsigned int first;

	nt_waiter_init(&a, dev, true, set, 2, 1);
	nt_waiter_start(&a);
	nt_waiter_init(&b, dev, true, set, 2, 2);
	nt_waiter_start(&b);

	/* Two counts, but the mutex can only have one owner. */
	nt_release(sem, 2);
	NT_CHECK_SEM(sem, 1, 2);
	first = nt_waiters_first_done(both, 2);
	NT_ASSERT_OK(nt_waiter_join(both[first]));
	NT_CHECK_MUTEX(m, first + 1, 1);
	NT_CHECK_STILL_WAITING(both[1 - first], 0);

	/* Its release lets the other one in, with the remaining count. */
	nt_unlock(m, first + 1);
	NT_ASSERT_OK(nt_waiter_join(both[1 - first]));
	NT_CHECK_MUTEX(m, 2 - first, 1);
	NT_CHECK_SEM(sem, 0, 2);
}

NT_TEST(pulse_completes_an_otherwise_ready_set)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	int sem = nt_sem(dev, 1, 1);
	int set[2] = { sem, ev };
	uint32_t prev = NT_POISON;
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, set, 2, 1);
	nt_waiter_start(&w);
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(sem, 0, 1);
	NT_CHECK_EVENT(ev, 0, 0);
}

NT_TEST(pulse_on_incomplete_set_is_lost)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 0);
	int sem = nt_sem(dev, 0, 1);
	int set[2] = { sem, ev };
	uint32_t prev;
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, set, 2, 1);
	nt_waiter_start(&w);
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_CHECK_EVENT(ev, 1, 0);
	/* The count arrives after the pulse: the event is unset again. */
	nt_release(sem, 1);
	NT_CHECK_STILL_WAITING(&w, 0);
	NT_CHECK_SEM(sem, 1, 1);
	nt_set(ev);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(sem, 0, 1);
}
