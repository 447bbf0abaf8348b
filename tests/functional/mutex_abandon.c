// SPDX-License-Identifier: GPL-2.0-only
/*
 * MUTEX_KILL and abandoned mutexes: EINVAL/EPERM paths, MUTEX_READ of an
 * abandoned mutex, acquisition with EOWNERDEAD by WAIT_ANY and WAIT_ALL, and
 * the abandoned flag being cleared by that acquisition only.
 */
#include "nt_util.h"

static int try_any(int dev, int obj, uint32_t owner, uint32_t *index)
{
	return ntsync_wait_any(dev, &obj, 1, owner, 0, NT_NOW_DEADLINE, 0,
			       index);
}

NT_TEST(kill_owner_zero_einval)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 1);

	NT_EXPECT_ERRNO(ntsync_mutex_kill(m, 0), EINVAL);
	NT_CHECK_MUTEX(m, 123, 1);
}

NT_TEST(kill_by_non_owner_eperm)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 2);
	int u = nt_mutex(dev, 0, 0);

	NT_EXPECT_ERRNO(ntsync_mutex_kill(m, 456), EPERM);
	NT_CHECK_MUTEX(m, 123, 2);
	NT_EXPECT_ERRNO(ntsync_mutex_kill(u, 123), EPERM);
	NT_CHECK_MUTEX(u, 0, 0);
}

NT_TEST(kill_abandons_and_read_reports_it)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 3);
	uint32_t owner = NT_POISON, count = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_CHECK_MUTEX_ABANDONED(m);
	/* Reading does not clear the flag. */
	NT_CHECK_MUTEX_ABANDONED(m);
	/* The library hands out the kernel's 0/0 along with -EOWNERDEAD. */
	NT_EXPECT_ERRNO(ntsync_mutex_read(m, &owner, &count), EOWNERDEAD);
	NT_EXPECT_EQ(owner, 0);
	NT_EXPECT_EQ(count, 0);
}

NT_TEST(kill_twice_eperm_stays_abandoned)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 1);
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_EXPECT_ERRNO(ntsync_mutex_kill(m, 123), EPERM);
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 123, &prev), EPERM);
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 0, &prev), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_kill(m, 0), EINVAL);
	NT_CHECK_MUTEX_ABANDONED(m);
}

NT_TEST(wait_acquires_abandoned_with_eownerdead)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 2);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_EXPECT_ERRNO(try_any(dev, m, 456, &index), EOWNERDEAD);
	NT_EXPECT_EQ(index, 0);
	/* Acquired, count 1, no longer abandoned. */
	NT_CHECK_MUTEX(m, 456, 1);
	/* The next acquisition by the same owner is a plain success. */
	index = NT_POISON;
	NT_ASSERT_OK(try_any(dev, m, 456, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_MUTEX(m, 456, 2);
}

NT_TEST(previous_owner_may_reacquire_abandoned)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	uint32_t index;

	NT_ASSERT_OK(try_any(dev, m, 123, &index));
	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_EXPECT_ERRNO(try_any(dev, m, 123, &index), EOWNERDEAD);
	NT_CHECK_MUTEX(m, 123, 1);
	/* Kill again: the cycle repeats. */
	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_CHECK_MUTEX_ABANDONED(m);
	NT_EXPECT_ERRNO(try_any(dev, m, 123, &index), EOWNERDEAD);
	NT_CHECK_MUTEX(m, 123, 1);
	NT_EXPECT_EQ(nt_unlock(m, 123), 1);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(wait_any_eownerdead_sets_index)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 0, 1), nt_event(dev, 1, 0),
			nt_mutex(dev, 123, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(objs[2], 123));
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, objs, 3, 456, 0, NT_NOW_DEADLINE,
					0, &index), EOWNERDEAD);
	NT_EXPECT_EQ(index, 2);
	NT_CHECK_MUTEX(objs[2], 456, 1);
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(objs[1], 1, 0);
	/* A lower signaled index wins over the abandoned mutex. */
	NT_ASSERT_OK(ntsync_mutex_kill(objs[2], 456));
	nt_set(objs[1]);
	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 3, 456, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_MUTEX_ABANDONED(objs[2]);
}

NT_TEST(wait_all_eownerdead_acquires_everything)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 2, 3), nt_mutex(dev, 123, 1),
			nt_event(dev, 0, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(objs[1], 123));
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, objs, 3, 456, 0, NT_NOW_DEADLINE,
					0, &index), EOWNERDEAD);
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 1, 3);
	NT_CHECK_MUTEX(objs[1], 456, 1);
	NT_CHECK_EVENT(objs[2], 0, 0);
}

NT_TEST(wait_all_not_satisfied_leaves_abandoned)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 1), nt_mutex(dev, 123, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_kill(objs[1], 123));
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, objs, 2, 456, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	/* Nothing acquired: the mutex is still abandoned, not owned. */
	NT_CHECK_MUTEX_ABANDONED(objs[1]);
	NT_CHECK_SEM(objs[0], 0, 1);
}

NT_TEST(kill_with_recursion_releases_all_levels)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	uint32_t index;

	for (int i = 0; i < 5; i++)
		NT_ASSERT_OK(try_any(dev, m, 123, &index));
	NT_CHECK_MUTEX(m, 123, 5);
	NT_ASSERT_OK(ntsync_mutex_kill(m, 123));
	NT_CHECK_MUTEX_ABANDONED(m);
	NT_EXPECT_ERRNO(try_any(dev, m, 789, &index), EOWNERDEAD);
	NT_CHECK_MUTEX(m, 789, 1);
}

/* A blocked waiter is woken by the kill and reports EOWNERDEAD. */
NT_TEST(kill_wakes_waiter_with_eownerdead)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 1), nt_mutex(dev, 123, 2) };
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, objs, 2, 456);
	nt_waiter_start(&w);
	/* Unlocking one level does not release it. */
	NT_EXPECT_EQ(nt_unlock(objs[1], 123), 2);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	NT_CHECK_STILL_WAITING(&w, 0);

	NT_ASSERT_OK(ntsync_mutex_kill(objs[1], 123));
	NT_EXPECT_ERRNO(nt_waiter_join(&w), EOWNERDEAD);
	NT_EXPECT_EQ(w.index, 1);
	NT_CHECK_MUTEX(objs[1], 456, 1);
}
