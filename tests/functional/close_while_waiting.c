// SPDX-License-Identifier: GPL-2.0-only
/*
 * Closing fds while a thread waits: the wait keeps its objects (and the
 * device) alive, is not woken by the close, and ends normally (timeout, or
 * a signal through another fd of the same object).
 */
#include <unistd.h>

#include "nt_util.h"

#define SHORT_MS 1000u	/* long enough to be seen blocked on a slow host */

NT_TEST(close_object_does_not_wake_wait_any)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	w.timeout = nt_deadline_ms(SHORT_MS);
	nt_waiter_start(&w);
	NT_ASSERT_EQ(close(sem), 0);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_EXPECT_GE(w.end_ns, w.timeout);
}

NT_TEST(close_objects_does_not_wake_wait_all)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 0, 1), nt_event(dev, 1, 0),
			nt_mutex(dev, 5, 1) };
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, objs, 3, 1);
	w.timeout = nt_deadline_ms(SHORT_MS);
	nt_waiter_start(&w);
	for (int i = 0; i < 3; i++)
		NT_ASSERT_EQ(close(objs[i]), 0);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_EXPECT_GE(w.end_ns, w.timeout);
}

NT_TEST(closed_object_still_signalable_through_dup)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	int other = dup(sem);
	struct nt_waiter w;

	NT_ASSERT_GE(other, 0);
	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	nt_waiter_start(&w);
	NT_ASSERT_EQ(close(sem), 0);
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_release(other, 1);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
	NT_CHECK_SEM(other, 0, 1);
}

NT_TEST(reused_fd_number_is_another_object)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	int fresh;
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	w.timeout = nt_deadline_ms(SHORT_MS);
	nt_waiter_start(&w);
	NT_ASSERT_EQ(close(sem), 0);
	/* The lowest free number: the one just closed. */
	fresh = nt_sem(dev, 0, 1);
	NT_EXPECT_EQ(fresh, sem);
	nt_release(fresh, 1);
	/* The waiter waits on the old object, not on whatever has its number. */
	NT_CHECK_SEM(fresh, 1, 1);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_CHECK_SEM(fresh, 1, 1);
}

NT_TEST(close_alert_does_not_wake)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	int alert = nt_event(dev, 0, 0);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	w.alert = alert;
	w.timeout = nt_deadline_ms(SHORT_MS);
	nt_waiter_start(&w);
	NT_ASSERT_EQ(close(alert), 0);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_CHECK_SEM(sem, 0, 1);
}

NT_TEST(close_device_during_wait)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	nt_waiter_start(&w);
	NT_ASSERT_EQ(close(dev), 0);
	NT_CHECK_STILL_WAITING(&w, 0);
	/* Objects keep working and still wake the waiter. */
	nt_release(sem, 1);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(sem, 0, 1);
}
