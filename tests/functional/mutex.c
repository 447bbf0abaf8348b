// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mutexes: creation rules, MUTEX_UNLOCK (EINVAL, EPERM, previous count,
 * becoming unowned), recursion through waits, the recursion limit, and the
 * owner-0 rule for waits involving a mutex.
 */
#include "nt_util.h"

static int try_any(int dev, int obj, uint32_t owner, uint32_t *index)
{
	return ntsync_wait_any(dev, &obj, 1, owner, 0, NT_NOW_DEADLINE, 0,
			       index);
}

NT_TEST(create_reads_back)
{
	int dev = nt_dev();

	NT_CHECK_MUTEX(nt_mutex(dev, 123, 2), 123, 2);
	NT_CHECK_MUTEX(nt_mutex(dev, 0, 0), 0, 0);
	NT_CHECK_MUTEX(nt_mutex(dev, UINT32_MAX, 1), UINT32_MAX, 1);
	NT_CHECK_MUTEX(nt_mutex(dev, 7, UINT32_MAX), 7, UINT32_MAX);
}

NT_TEST(create_owner_count_mismatch_einval)
{
	int dev = nt_dev();

	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, 123, 0), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, 0, 2), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, 0, 1), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, UINT32_MAX, 0), EINVAL);
}

NT_TEST(unlock_owner_zero_einval)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 2);
	int u = nt_mutex(dev, 0, 0);
	uint32_t prev = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 0, &prev), EINVAL);
	NT_EXPECT_EQ(prev, NT_POISON);
	NT_CHECK_MUTEX(m, 123, 2);
	/* Owner 0 is rejected before ownership is even looked at. */
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(u, 0, &prev), EINVAL);
	NT_CHECK_MUTEX(u, 0, 0);
}

NT_TEST(unlock_by_non_owner_eperm)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 2);
	uint32_t prev = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 456, &prev), EPERM);
	NT_EXPECT_EQ(prev, NT_POISON);
	NT_CHECK_MUTEX(m, 123, 2);
}

NT_TEST(unlock_unowned_eperm)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	uint32_t prev = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 123, &prev), EPERM);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(unlock_counts_down_to_unowned)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 2);
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_unlock(m, 123, &prev));
	NT_EXPECT_EQ(prev, 2);
	NT_CHECK_MUTEX(m, 123, 1);
	NT_ASSERT_OK(ntsync_mutex_unlock(m, 123, &prev));
	NT_EXPECT_EQ(prev, 1);
	NT_CHECK_MUTEX(m, 0, 0);
	/* The former owner no longer holds it. */
	prev = NT_POISON;
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 123, &prev), EPERM);
	NT_EXPECT_EQ(prev, NT_POISON);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(wait_acquires_and_recurses)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(try_any(dev, m, 456, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_MUTEX(m, 456, 1);
	NT_ASSERT_OK(try_any(dev, m, 456, &index));
	NT_CHECK_MUTEX(m, 456, 2);
	NT_ASSERT_OK(ntsync_wait_all(dev, &m, 1, 456, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_MUTEX(m, 456, 3);
	NT_EXPECT_EQ(nt_unlock(m, 456), 3);
	NT_EXPECT_EQ(nt_unlock(m, 456), 2);
	NT_EXPECT_EQ(nt_unlock(m, 456), 1);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(created_owned_is_recursive_for_owner)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 1);
	uint32_t index;

	NT_ASSERT_OK(try_any(dev, m, 123, &index));
	NT_CHECK_MUTEX(m, 123, 2);
}

NT_TEST(wait_by_other_owner_times_out_unchanged)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, 1);
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(try_any(dev, m, 456, &index), ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &m, 1, 456, 0, NT_NOW_DEADLINE, 0,
					&index), ETIMEDOUT);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_MUTEX(m, 123, 1);
	/* Once released, the other owner gets it. */
	NT_EXPECT_EQ(nt_unlock(m, 123), 1);
	NT_ASSERT_OK(try_any(dev, m, 456, &index));
	NT_CHECK_MUTEX(m, 456, 1);
}

NT_TEST(recursion_count_limit)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 123, UINT32_MAX);
	uint32_t index;

	/* A full recursion count cannot grow: the wait is not satisfied. */
	NT_EXPECT_ERRNO(try_any(dev, m, 123, &index), ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &m, 1, 123, 0, NT_NOW_DEADLINE, 0,
					&index), ETIMEDOUT);
	NT_CHECK_MUTEX(m, 123, UINT32_MAX);
	NT_EXPECT_ERRNO(try_any(dev, m, 456, &index), ETIMEDOUT);
	NT_CHECK_MUTEX(m, 123, UINT32_MAX);

	NT_EXPECT_EQ(nt_unlock(m, 123), UINT32_MAX);
	NT_CHECK_MUTEX(m, 123, UINT32_MAX - 1);
	NT_ASSERT_OK(try_any(dev, m, 123, &index));
	NT_CHECK_MUTEX(m, 123, UINT32_MAX);
}

NT_TEST(wait_owner_zero_with_mutex_einval)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	int sem = nt_sem(dev, 1, 1);
	int objs[2] = { sem, m };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(try_any(dev, m, 0, &index), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &m, 1, 0, 0, NT_NOW_DEADLINE, 0,
					&index), EINVAL);
	/* Even when another object could satisfy the wait first. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, objs, 2, 0, 0, NT_NOW_DEADLINE, 0,
					&index), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, objs, 2, 0, 0, NT_NOW_DEADLINE, 0,
					&index), EINVAL);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_MUTEX(m, 0, 0);
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(wait_any_prefers_lower_index_over_mutex)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 1, 3), nt_mutex(dev, 0, 0) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 2, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 0, 3);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 2, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	/* Owned by 123: for 456 nothing is signaled. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, objs, 2, 456, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	NT_CHECK_MUTEX(objs[1], 123, 1);
}
