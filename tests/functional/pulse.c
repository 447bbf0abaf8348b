// SPDX-License-Identifier: GPL-2.0-only
/*
 * EVENT_PULSE without waiters: previous state returned, event left
 * unsignaled, nothing remembered for later waits.  (Pulses that wake
 * waiters are in wake_threads.c and wait_all_threads.c.)
 */
#include "nt_util.h"

static uint32_t pulse(int e)
{
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_event_pulse(e, &prev));
	return prev;
}

NT_TEST(pulse_manual_returns_previous_and_unsignals)
{
	int dev = nt_dev();
	int e = nt_event(dev, 1, 0);

	NT_EXPECT_EQ(pulse(e), 0);
	NT_CHECK_EVENT(e, 1, 0);
	nt_set(e);
	NT_EXPECT_EQ(pulse(e), 1);
	NT_CHECK_EVENT(e, 1, 0);
}

NT_TEST(pulse_auto_returns_previous_and_unsignals)
{
	int dev = nt_dev();
	int e = nt_event(dev, 0, 1);

	NT_EXPECT_EQ(pulse(e), 1);
	NT_CHECK_EVENT(e, 0, 0);
	NT_EXPECT_EQ(pulse(e), 0);
	NT_CHECK_EVENT(e, 0, 0);
}

NT_TEST(pulse_without_waiters_is_lost)
{
	int dev = nt_dev();
	int objs[2] = { nt_event(dev, 0, 0), nt_event(dev, 1, 0) };
	uint32_t index = NT_POISON;

	pulse(objs[0]);
	pulse(objs[1]);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, objs, 2, 123, 0, NT_NOW_DEADLINE,
					0, &index), ETIMEDOUT);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_EVENT(objs[0], 0, 0);
	NT_CHECK_EVENT(objs[1], 1, 0);
}

NT_TEST(pulse_then_set_behaves_normally)
{
	int dev = nt_dev();
	int e = nt_event(dev, 0, 0);
	uint32_t index;

	pulse(e);
	NT_EXPECT_EQ(nt_set(e), 0);
	NT_ASSERT_OK(ntsync_wait_any(dev, &e, 1, 123, 0, NT_NOW_DEADLINE, 0,
				     &index));
	NT_CHECK_EVENT(e, 0, 0);
}
