// SPDX-License-Identifier: GPL-2.0-only
/*
 * WAIT_ANY without blocking: lowest signaled index, exactly one object
 * acquired, duplicates, the 64-object limit, count 0, and no state change
 * when nothing is signaled.
 */
#include "nt_util.h"

static int any_now(int dev, const int *objs, uint32_t n, uint32_t *index)
{
	return ntsync_wait_any(dev, objs, n, 123, 0, NT_NOW_DEADLINE, 0, index);
}

NT_TEST(returns_lowest_signaled_index)
{
	int dev = nt_dev();
	int objs[4] = { nt_sem(dev, 0, 5), nt_event(dev, 0, 0),
			nt_sem(dev, 1, 5), nt_sem(dev, 1, 5) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 2);
	NT_CHECK_SEM(objs[2], 0, 5);
	NT_CHECK_SEM(objs[3], 1, 5);	/* only one object acquired */
	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 3);
	NT_CHECK_SEM(objs[3], 0, 5);
	nt_set(objs[1]);
	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_EVENT(objs[1], 0, 0);
	NT_CHECK_SEM(objs[0], 0, 5);
}

NT_TEST(acquires_exactly_one_of_several)
{
	int dev = nt_dev();
	int objs[4] = { nt_event(dev, 0, 1), nt_sem(dev, 2, 2),
			nt_mutex(dev, 0, 0), nt_event(dev, 1, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_EVENT(objs[0], 0, 0);
	NT_CHECK_SEM(objs[1], 2, 2);
	NT_CHECK_MUTEX(objs[2], 0, 0);
	NT_CHECK_EVENT(objs[3], 1, 1);
}

NT_TEST(nothing_signaled_times_out_unchanged)
{
	int dev = nt_dev();
	int objs[4] = { nt_sem(dev, 0, 2), nt_event(dev, 0, 0),
			nt_event(dev, 1, 0), nt_mutex(dev, 456, 1) };
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(any_now(dev, objs, 4, &index), ETIMEDOUT);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(objs[0], 0, 2);
	NT_CHECK_EVENT(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 1, 0);
	NT_CHECK_MUTEX(objs[3], 456, 1);
}

NT_TEST(duplicate_objects_report_lowest_index)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 3);
	int ev = nt_event(dev, 1, 0);
	int objs[4] = { ev, sem, sem, ev };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_SEM(sem, 0, 3);	/* acquired once, not twice */
	nt_set(ev);
	NT_ASSERT_OK(any_now(dev, objs, 4, &index));
	NT_EXPECT_EQ(index, 0);
}

NT_TEST(sixty_four_objects_accepted)
{
	int dev = nt_dev();
	int objs[NTSYNC_MAX_WAIT_COUNT];
	uint32_t index = NT_POISON;
	int sem = nt_sem(dev, 1, 1);

	/* 64 times the same object. */
	for (int i = 0; i < NTSYNC_MAX_WAIT_COUNT; i++)
		objs[i] = sem;
	NT_ASSERT_OK(any_now(dev, objs, NTSYNC_MAX_WAIT_COUNT, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(sem, 0, 1);

	/* 64 distinct objects, only the last one signaled. */
	for (int i = 0; i < NTSYNC_MAX_WAIT_COUNT; i++)
		objs[i] = nt_sem(dev, i == NTSYNC_MAX_WAIT_COUNT - 1, 1);
	NT_ASSERT_OK(any_now(dev, objs, NTSYNC_MAX_WAIT_COUNT, &index));
	NT_EXPECT_EQ(index, NTSYNC_MAX_WAIT_COUNT - 1);
	NT_CHECK_SEM(objs[NTSYNC_MAX_WAIT_COUNT - 1], 0, 1);
}

NT_TEST(count_zero_any_times_out_all_succeeds)
{
	int dev = nt_dev();
	uint32_t index = NT_POISON;
	uint64_t start = nt_mono_ns();

	NT_EXPECT_ERRNO(ntsync_wait_any(dev, NULL, 0, 123, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	/* With a real deadline it sleeps until then. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, NULL, 0, 123, 0,
					nt_deadline_ms(50), 0, &index),
			ETIMEDOUT);
	NT_EXPECT_GE(nt_elapsed_ms(start), 50);
	NT_EXPECT_EQ(index, NT_POISON);
	/* "All of no objects" holds at once, as upstream does it. */
	NT_EXPECT_OK(ntsync_wait_all(dev, NULL, 0, 123, 0, nt_deadline_ms(5000),
				     0, &index));
	NT_EXPECT_EQ(index, 0);
	NT_EXPECT_LT(nt_elapsed_ms(start), 4000);
}

NT_TEST(mixed_types_first_signaled_wins)
{
	int dev = nt_dev();
	int objs[3] = { nt_mutex(dev, 456, 1), nt_event(dev, 0, 0),
			nt_sem(dev, 0, 1) };
	uint32_t index = NT_POISON;

	nt_release(objs[2], 1);
	NT_ASSERT_OK(any_now(dev, objs, 3, &index));
	NT_EXPECT_EQ(index, 2);
	NT_CHECK_MUTEX(objs[0], 456, 1);
	/* The owner sees its own mutex as signaled at index 0. */
	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 3, 456, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_MUTEX(objs[0], 456, 2);
}

NT_TEST(raw_call_writes_index_on_success)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 0, 1), nt_sem(dev, 0, 1),
			nt_sem(dev, 0, 1) };
	struct ntsync_wait_args args;

	/* The raw block as Wine fills it: index is output only. */
	nt_wait_args_init(&args, objs, 3, 123, 0);
	args.timeout = 0;
	NT_EXPECT_ERRNO(nt_wait_raw(dev, false, &args), ETIMEDOUT);
	nt_release(objs[2], 1);
	args.index = NT_POISON;
	NT_ASSERT_OK(nt_wait_raw(dev, false, &args));
	NT_EXPECT_EQ(args.index, 2);
	NT_CHECK_SEM(objs[2], 0, 1);
	/* Input fields are left as they were. */
	NT_EXPECT_EQ(args.count, 3);
	NT_EXPECT_EQ(args.owner, 123);
	NT_EXPECT_EQ(args.objs, (uint64_t)(uintptr_t)objs);
}
