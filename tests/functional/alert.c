// SPDX-License-Identifier: GPL-2.0-only
/*
 * The alert event of WAIT_ANY / WAIT_ALL: index == count when it fires,
 * objects take precedence over it, auto-reset alerts are consumed, manual
 * ones are not, it works with count 0, and it wakes blocked waiters.
 */
#include "nt_util.h"

static int any_alert(int dev, const int *objs, uint32_t n, int alert,
		     uint32_t *index)
{
	return ntsync_wait_any(dev, objs, n, 123, alert, NT_NOW_DEADLINE, 0,
			       index);
}

static int all_alert(int dev, const int *objs, uint32_t n, int alert,
		     uint32_t *index)
{
	return ntsync_wait_all(dev, objs, n, 123, alert, NT_NOW_DEADLINE, 0,
			       index);
}

NT_TEST(count_zero_with_alert)
{
	int dev = nt_dev();
	int alert = nt_event(dev, 1, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_alert(dev, NULL, 0, alert, &index));
	NT_EXPECT_EQ(index, 0);
	index = NT_POISON;
	NT_ASSERT_OK(all_alert(dev, NULL, 0, alert, &index));
	NT_EXPECT_EQ(index, 0);
	nt_reset(alert);
	NT_EXPECT_ERRNO(any_alert(dev, NULL, 0, alert, &index), ETIMEDOUT);
	/* "All of no objects" holds at once, as upstream: index 0, not count. */
	index = NT_POISON;
	NT_ASSERT_OK(all_alert(dev, NULL, 0, alert, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_EVENT(alert, 1, 0);	/* the alert was not consumed */
}

NT_TEST(any_alert_index_is_count)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 2), nt_sem(dev, 0, 2) };
	int alert = nt_event(dev, 1, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_alert(dev, objs, 2, alert, &index));
	NT_EXPECT_EQ(index, 2);
	NT_CHECK_EVENT(alert, 1, 1);	/* manual: not consumed */
	NT_CHECK_SEM(objs[0], 0, 2);
	NT_CHECK_SEM(objs[1], 0, 2);
}

NT_TEST(any_objects_win_over_alert)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 2), nt_sem(dev, 1, 2) };
	int alert = nt_event(dev, 0, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(any_alert(dev, objs, 2, alert, &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_SEM(objs[1], 0, 2);
	NT_CHECK_EVENT(alert, 0, 1);	/* not consumed: an object won */
	NT_ASSERT_OK(any_alert(dev, objs, 2, alert, &index));
	NT_EXPECT_EQ(index, 2);
	NT_CHECK_EVENT(alert, 0, 0);	/* auto-reset: consumed */
	NT_EXPECT_ERRNO(any_alert(dev, objs, 2, alert, &index), ETIMEDOUT);
}

NT_TEST(all_objects_win_over_alert)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 2, 2), nt_sem(dev, 1, 2) };
	int alert = nt_event(dev, 0, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(all_alert(dev, objs, 2, alert, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 1, 2);
	NT_CHECK_SEM(objs[1], 0, 2);
	NT_CHECK_EVENT(alert, 0, 1);
}

NT_TEST(all_alert_when_objects_incomplete)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 1, 2), nt_sem(dev, 0, 2) };
	int alert = nt_event(dev, 0, 1);
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(all_alert(dev, objs, 2, alert, &index));
	NT_EXPECT_EQ(index, 2);
	/* Only the alert is consumed, the partial set is untouched. */
	NT_CHECK_SEM(objs[0], 1, 2);
	NT_CHECK_EVENT(alert, 0, 0);
	NT_EXPECT_ERRNO(all_alert(dev, objs, 2, alert, &index), ETIMEDOUT);
	NT_CHECK_SEM(objs[0], 1, 2);
}

NT_TEST(any_alert_also_in_objects)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 1);
	int objs[2] = { nt_sem(dev, 0, 1), ev };
	uint32_t index = NT_POISON;

	/* Legal for WAIT_ANY: reported at its lowest index in objs. */
	NT_ASSERT_OK(any_alert(dev, objs, 2, ev, &index));
	NT_EXPECT_EQ(index, 1);
	NT_CHECK_EVENT(ev, 0, 0);
	NT_EXPECT_ERRNO(any_alert(dev, objs, 2, ev, &index), ETIMEDOUT);
}

NT_TEST(alert_must_be_an_event)
{
	int dev = nt_dev();
	int objs[1] = { nt_sem(dev, 1, 1) };
	int sem = nt_sem(dev, 1, 1);
	int mutex = nt_mutex(dev, 0, 0);
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(any_alert(dev, objs, 1, sem, &index), EINVAL);
	NT_EXPECT_ERRNO(all_alert(dev, objs, 1, sem, &index), EINVAL);
	NT_EXPECT_ERRNO(any_alert(dev, objs, 1, mutex, &index), EINVAL);
	NT_EXPECT_ERRNO(all_alert(dev, objs, 1, mutex, &index), EINVAL);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_SEM(sem, 1, 1);
	NT_CHECK_MUTEX(mutex, 0, 0);
}

NT_TEST(alert_wakes_blocked_wait_any)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 1), nt_event(dev, 0, 0) };
	int alert = nt_event(dev, 0, 0);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, objs, 2, 123);
	w.alert = alert;
	nt_waiter_start(&w);
	NT_EXPECT_EQ(nt_set(alert), 0);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 2);
	NT_CHECK_EVENT(alert, 0, 0);	/* consumed by the waiter */
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(objs[1], 0, 0);
}

NT_TEST(alert_wakes_blocked_wait_all)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 1, 1), nt_event(dev, 1, 0) };
	int alert = nt_event(dev, 1, 0);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, objs, 2, 123);
	w.alert = alert;
	nt_waiter_start(&w);
	nt_set(alert);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 2);
	NT_CHECK_SEM(objs[0], 1, 1);	/* the partial set is untouched */
	NT_CHECK_EVENT(alert, 1, 1);
}

NT_TEST(alert_pulse_wakes_blocked_waiter)
{
	int dev = nt_dev();
	int objs[1] = { nt_sem(dev, 0, 1) };
	int alert = nt_event(dev, 1, 0);
	uint32_t prev = NT_POISON;
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, objs, 1, 123);
	w.alert = alert;
	nt_waiter_start(&w);
	NT_ASSERT_OK(ntsync_event_pulse(alert, &prev));
	NT_EXPECT_EQ(prev, 0);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 1);
	NT_CHECK_EVENT(alert, 1, 0);
}
