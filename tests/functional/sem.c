// SPDX-License-Identifier: GPL-2.0-only
/*
 * Semaphores: creation, SEM_RELEASE (previous count, EOVERFLOW, release of 0,
 * u32 wrap-around), SEM_READ, and acquisition by waits.
 */
#include "nt_util.h"

NT_TEST(create_reads_back)
{
	int dev = nt_dev();
	int a = nt_sem(dev, 2, 5);
	int b = nt_sem(dev, 0, 0);
	int c = nt_sem(dev, 0, UINT32_MAX);
	int d = nt_sem(dev, UINT32_MAX, UINT32_MAX);

	NT_CHECK_SEM(a, 2, 5);
	NT_CHECK_SEM(b, 0, 0);
	NT_CHECK_SEM(c, 0, UINT32_MAX);
	NT_CHECK_SEM(d, UINT32_MAX, UINT32_MAX);
	/* Four distinct objects, four distinct fds. */
	NT_EXPECT_NE(a, b);
	NT_EXPECT_NE(b, c);
	NT_EXPECT_NE(c, d);
}

NT_TEST(create_count_above_max_einval)
{
	int dev = nt_dev();

	NT_EXPECT_ERRNO(ntsync_sem_create(dev, 3, 2), EINVAL);
	NT_EXPECT_ERRNO(ntsync_sem_create(dev, 1, 0), EINVAL);
	NT_EXPECT_ERRNO(ntsync_sem_create(dev, UINT32_MAX, UINT32_MAX - 1),
			EINVAL);
	/* The device is still fine afterwards. */
	NT_CHECK_SEM(nt_sem(dev, 2, 2), 2, 2);
}

NT_TEST(release_returns_previous_count)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 10);
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_sem_release(sem, 3, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_CHECK_SEM(sem, 3, 10);
	NT_ASSERT_OK(ntsync_sem_release(sem, 2, &prev));
	NT_EXPECT_EQ(prev, 3);
	NT_CHECK_SEM(sem, 5, 10);
	NT_ASSERT_OK(ntsync_sem_release(sem, 5, &prev));
	NT_EXPECT_EQ(prev, 5);
	NT_CHECK_SEM(sem, 10, 10);
}

NT_TEST(release_zero_is_a_read)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 4);
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_sem_release(sem, 0, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_CHECK_SEM(sem, 0, 4);
	nt_release(sem, 4);
	NT_ASSERT_OK(ntsync_sem_release(sem, 0, &prev));
	NT_EXPECT_EQ(prev, 4);
	NT_CHECK_SEM(sem, 4, 4);
}

NT_TEST(release_past_max_eoverflow_unchanged)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 2, 3);
	uint32_t prev = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 2, &prev), EOVERFLOW);
	NT_EXPECT_EQ(prev, NT_POISON);
	NT_CHECK_SEM(sem, 2, 3);
	NT_EXPECT_EQ(nt_release(sem, 1), 2);
	NT_CHECK_SEM(sem, 3, 3);
	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 1, &prev), EOVERFLOW);
	NT_CHECK_SEM(sem, 3, 3);
	/* A full semaphore still accepts a release of 0. */
	NT_EXPECT_EQ(nt_release(sem, 0), 3);
}

NT_TEST(release_u32_wraparound_eoverflow)
{
	int dev = nt_dev();
	int big = nt_sem(dev, 5, UINT32_MAX);
	int small = nt_sem(dev, 1, 2);
	uint32_t prev = NT_POISON;

	/* 5 + 0xFFFFFFFF wraps to 4 <= max: must still be refused. */
	NT_EXPECT_ERRNO(ntsync_sem_release(big, UINT32_MAX, &prev), EOVERFLOW);
	NT_CHECK_SEM(big, 5, UINT32_MAX);
	NT_EXPECT_ERRNO(ntsync_sem_release(big, UINT32_MAX - 4, &prev),
			EOVERFLOW);
	NT_CHECK_SEM(big, 5, UINT32_MAX);
	/* Exactly up to the u32 maximum is fine. */
	NT_EXPECT_EQ(nt_release(big, UINT32_MAX - 5), 5);
	NT_CHECK_SEM(big, UINT32_MAX, UINT32_MAX);

	/* 1 + 0xFFFFFFFF wraps to 0. */
	NT_EXPECT_ERRNO(ntsync_sem_release(small, UINT32_MAX, &prev), EOVERFLOW);
	NT_CHECK_SEM(small, 1, 2);
}

NT_TEST(wait_decrements_until_empty)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 2, 2);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(sem, 1, 2);
	NT_ASSERT_OK(ntsync_wait_all(dev, &sem, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(sem, 0, 2);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 123, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 123, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	NT_CHECK_SEM(sem, 0, 2);
	/* Refill and drain again. */
	NT_EXPECT_EQ(nt_release(sem, 2), 0);
	NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_CHECK_SEM(sem, 1, 2);
}

NT_TEST(max_zero_never_signaled)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 0);
	uint32_t prev = NT_POISON, index;

	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 1, &prev), EOVERFLOW);
	NT_ASSERT_OK(ntsync_sem_release(sem, 0, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 1, 0, NT_NOW_DEADLINE, 0,
					&index), ETIMEDOUT);
	NT_CHECK_SEM(sem, 0, 0);
}

NT_TEST(any_nonzero_owner_takes_a_semaphore)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 3, 3);
	uint32_t index = NT_POISON;

	/* Linux 7.x: owner 0 is EINVAL even with no mutex; nothing taken. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 0, 0, NT_NOW_DEADLINE, 0,
					&index), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 0, 0, NT_NOW_DEADLINE, 0,
					&index), EINVAL);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(sem, 3, 3);
	/* Any other owner is fine: it only matters to mutexes. */
	NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 1, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_ASSERT_OK(ntsync_wait_all(dev, &sem, 1, 0xffffffffu, 0,
				     NT_NOW_DEADLINE, 0, &index));
	NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 999, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_CHECK_SEM(sem, 0, 3);
}
