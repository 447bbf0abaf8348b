// SPDX-License-Identifier: GPL-2.0-only
/*
 * WAIT_ALL without blocking: atomic acquisition of every object, nothing
 * modified when not all are signaled, duplicates rejected, the 64-object
 * limit.
 */
#include "nt_util.h"

static int all_now(int dev, const int *objs, uint32_t n, uint32_t owner,
		   uint32_t *index)
{
	return ntsync_wait_all(dev, objs, n, owner, 0, NT_NOW_DEADLINE, 0,
			       index);
}

NT_TEST(acquires_every_object)
{
	int dev = nt_dev();
	int objs[4] = { nt_sem(dev, 2, 3), nt_mutex(dev, 0, 0),
			nt_event(dev, 0, 1), nt_event(dev, 1, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(all_now(dev, objs, 4, 123, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 1, 3);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	NT_CHECK_EVENT(objs[2], 0, 0);
	NT_CHECK_EVENT(objs[3], 1, 1);
}

NT_TEST(not_all_signaled_modifies_nothing)
{
	int dev = nt_dev();
	int objs[4] = { nt_sem(dev, 1, 3), nt_mutex(dev, 0, 0),
			nt_event(dev, 0, 1), nt_event(dev, 1, 0) };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(all_now(dev, objs, 4, 123, &index), ETIMEDOUT);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(objs[0], 1, 3);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 0, 1);
	NT_CHECK_EVENT(objs[3], 1, 0);

	/* The last missing piece arrives: now everything is taken. */
	nt_set(objs[3]);
	NT_ASSERT_OK(all_now(dev, objs, 4, 123, &index));
	NT_CHECK_SEM(objs[0], 0, 3);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	NT_CHECK_EVENT(objs[2], 0, 0);
	NT_CHECK_EVENT(objs[3], 1, 1);
}

NT_TEST(mutex_owned_by_other_blocks_all)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 1, 1), nt_mutex(dev, 123, 1) };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(all_now(dev, objs, 2, 456, &index), ETIMEDOUT);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	/* Its owner can take both, recursing on the mutex. */
	NT_ASSERT_OK(all_now(dev, objs, 2, 123, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_MUTEX(objs[1], 123, 2);
}

NT_TEST(repeated_until_semaphore_empty)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 2, 3), nt_mutex(dev, 0, 0) };
	uint32_t index;

	NT_ASSERT_OK(all_now(dev, objs, 2, 123, &index));
	NT_ASSERT_OK(all_now(dev, objs, 2, 123, &index));
	NT_CHECK_SEM(objs[0], 0, 3);
	NT_CHECK_MUTEX(objs[1], 123, 2);
	NT_EXPECT_ERRNO(all_now(dev, objs, 2, 123, &index), ETIMEDOUT);
	NT_CHECK_MUTEX(objs[1], 123, 2);
	nt_release(objs[0], 3);
	NT_ASSERT_OK(all_now(dev, objs, 2, 123, &index));
	NT_CHECK_SEM(objs[0], 2, 3);
	NT_CHECK_MUTEX(objs[1], 123, 3);
}

NT_TEST(duplicate_object_einval)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 2, 2);
	int m = nt_mutex(dev, 0, 0);
	int ev = nt_event(dev, 1, 1);
	int dup_sem[2] = { sem, sem };
	int dup_late[4] = { ev, m, sem, m };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(all_now(dev, dup_sem, 2, 123, &index), EINVAL);
	NT_EXPECT_ERRNO(all_now(dev, dup_late, 4, 123, &index), EINVAL);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(sem, 2, 2);
	NT_CHECK_MUTEX(m, 0, 0);
	NT_CHECK_EVENT(ev, 1, 1);
}

NT_TEST(alert_among_objects_einval)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 1);
	int objs[2] = { nt_sem(dev, 1, 1), ev };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_wait_all(dev, objs, 2, 123, ev, NT_NOW_DEADLINE,
					0, &index), EINVAL);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_EVENT(ev, 0, 1);
	/* The same call as WAIT_ANY is legal: the lowest index wins. */
	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 2, 123, ev, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(ev, 0, 1);
}

NT_TEST(sixty_four_distinct_objects)
{
	int dev = nt_dev();
	int objs[NTSYNC_MAX_WAIT_COUNT + 1];
	uint32_t index = NT_POISON;

	for (int i = 0; i < NTSYNC_MAX_WAIT_COUNT + 1; i++)
		objs[i] = nt_sem(dev, 1, 1);
	NT_EXPECT_ERRNO(all_now(dev, objs, NTSYNC_MAX_WAIT_COUNT + 1, 123,
				&index), EINVAL);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_ASSERT_OK(all_now(dev, objs, NTSYNC_MAX_WAIT_COUNT, 123, &index));
	NT_EXPECT_EQ(index, 0);
	for (int i = 0; i < NTSYNC_MAX_WAIT_COUNT; i++)
		NT_CHECK_SEM(objs[i], 0, 1);
	NT_CHECK_SEM(objs[NTSYNC_MAX_WAIT_COUNT], 1, 1);
}

NT_TEST(manual_events_shared_by_two_all_waits)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 1);
	int a[2] = { ev, nt_sem(dev, 1, 1) };
	int b[2] = { nt_sem(dev, 1, 1), ev };
	uint32_t index;

	NT_ASSERT_OK(all_now(dev, a, 2, 1, &index));
	NT_ASSERT_OK(all_now(dev, b, 2, 2, &index));
	NT_CHECK_EVENT(ev, 1, 1);
	NT_CHECK_SEM(a[1], 0, 1);
	NT_CHECK_SEM(b[0], 0, 1);
}
