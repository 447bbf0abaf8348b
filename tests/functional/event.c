// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events: creation (non-zero means true), EVENT_SET / EVENT_RESET previous
 * state, EVENT_READ, and manual vs auto-reset acquisition.
 */
#include "nt_util.h"

static int try_any(int dev, int obj, uint32_t *index)
{
	return ntsync_wait_any(dev, &obj, 1, 123, 0, NT_NOW_DEADLINE, 0, index);
}

NT_TEST(create_all_combinations)
{
	int dev = nt_dev();

	NT_CHECK_EVENT(nt_event(dev, 0, 0), 0, 0);
	NT_CHECK_EVENT(nt_event(dev, 0, 1), 0, 1);
	NT_CHECK_EVENT(nt_event(dev, 1, 0), 1, 0);
	NT_CHECK_EVENT(nt_event(dev, 1, 1), 1, 1);
}

NT_TEST(create_nonzero_means_true)
{
	int dev = nt_dev();
	uint32_t signaled = NT_POISON, manual = NT_POISON;
	int e = nt_event(dev, 2, 0x80000000u);

	/* EVENT_READ reports plain 0/1, not the values passed in. */
	NT_CHECK_EVENT(e, 1, 1);
	NT_CHECK_EVENT(nt_event(dev, UINT32_MAX, 0), 1, 0);
	NT_CHECK_EVENT(nt_event(dev, 0, 0x100), 0, 1);
	NT_ASSERT_OK(ntsync_event_read(e, &signaled, &manual));
	NT_EXPECT_EQ(signaled, 1);
	NT_EXPECT_EQ(manual, 1);
}

NT_TEST(manual_set_reset_previous_state)
{
	int dev = nt_dev();
	int e = nt_event(dev, 1, 0);

	NT_EXPECT_EQ(nt_set(e), 0);
	NT_CHECK_EVENT(e, 1, 1);
	NT_EXPECT_EQ(nt_set(e), 1);
	NT_CHECK_EVENT(e, 1, 1);
	NT_EXPECT_EQ(nt_reset(e), 1);
	NT_CHECK_EVENT(e, 1, 0);
	NT_EXPECT_EQ(nt_reset(e), 0);
	NT_CHECK_EVENT(e, 1, 0);
}

NT_TEST(auto_set_reset_previous_state)
{
	int dev = nt_dev();
	int e = nt_event(dev, 0, 1);

	NT_EXPECT_EQ(nt_set(e), 1);
	NT_CHECK_EVENT(e, 0, 1);
	NT_EXPECT_EQ(nt_reset(e), 1);
	NT_CHECK_EVENT(e, 0, 0);
	NT_EXPECT_EQ(nt_reset(e), 0);
	NT_EXPECT_EQ(nt_set(e), 0);
	NT_CHECK_EVENT(e, 0, 1);
}

NT_TEST(manual_wait_does_not_consume)
{
	int dev = nt_dev();
	int e = nt_event(dev, 1, 1);
	uint32_t index = NT_POISON;

	for (int i = 0; i < 3; i++) {
		NT_ASSERT_OK(try_any(dev, e, &index));
		NT_EXPECT_EQ(index, 0);
	}
	NT_ASSERT_OK(ntsync_wait_all(dev, &e, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_CHECK_EVENT(e, 1, 1);
	nt_reset(e);
	NT_EXPECT_ERRNO(try_any(dev, e, &index), ETIMEDOUT);
	NT_CHECK_EVENT(e, 1, 0);
}

NT_TEST(auto_wait_consumes)
{
	int dev = nt_dev();
	int e = nt_event(dev, 0, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(try_any(dev, e, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_EVENT(e, 0, 0);
	NT_EXPECT_ERRNO(try_any(dev, e, &index), ETIMEDOUT);
	NT_CHECK_EVENT(e, 0, 0);
	nt_set(e);
	NT_ASSERT_OK(ntsync_wait_all(dev, &e, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_CHECK_EVENT(e, 0, 0);
}

NT_TEST(set_does_not_accumulate)
{
	int dev = nt_dev();
	int e = nt_event(dev, 0, 0);
	uint32_t index;

	/* Unlike a semaphore, several sets make one signal. */
	nt_set(e);
	nt_set(e);
	nt_set(e);
	NT_ASSERT_OK(try_any(dev, e, &index));
	NT_EXPECT_ERRNO(try_any(dev, e, &index), ETIMEDOUT);
}
