// SPDX-License-Identifier: GPL-2.0-only
/*
 * libntsync's own contract: negative errno returns, NULL outputs rejected
 * before any system call, outputs untouched on failure, time helpers.
 */
#include <fcntl.h>
#include <unistd.h>

#include "nt_util.h"

NT_TEST(null_outputs_rejected_before_the_call)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 2);
	int m = nt_mutex(dev, 5, 1);
	int ev = nt_event(dev, 0, 0);
	uint32_t x;

	/* Had these reached the kernel, the objects would have changed. */
	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 1, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 5, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set(ev, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 1, 0, 0, 0, NULL),
			EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 1, 0, 0, 0, NULL),
			EINVAL);
	NT_CHECK_SEM(sem, 1, 2);
	NT_CHECK_MUTEX(m, 5, 1);
	NT_CHECK_EVENT(ev, 0, 0);
	nt_set(ev);
	NT_EXPECT_ERRNO(ntsync_event_reset(ev, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_pulse(ev, NULL), EINVAL);
	NT_CHECK_EVENT(ev, 0, 1);

	NT_EXPECT_ERRNO(ntsync_sem_read(sem, NULL, &x), EINVAL);
	NT_EXPECT_ERRNO(ntsync_sem_read(sem, &x, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_read(m, NULL, &x), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_read(m, &x, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_read(ev, NULL, &x), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_read(ev, &x, NULL), EINVAL);
}

NT_TEST(bad_wait_arguments_rejected_before_the_call)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	uint32_t index = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_wait_any(dev, NULL, 1, 1, 0, 0, 0, &index),
			EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, NULL, 2, 1, 0, 0, 0, &index),
			EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 1, -5, 0, 0, &index),
			EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 1, -1, 0, 0, &index),
			EINVAL);
	NT_EXPECT_EQ(index, NT_POISON);
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(errors_are_negative_errno_values)
{
	int dev = nt_dev();
	int fds[2];
	uint32_t a, b;

	NT_ASSERT_EQ(pipe(fds), 0);
	NT_EXPECT_ERRNO(ntsync_sem_read(-1, &a, &b), EBADF);
	NT_EXPECT_ERRNO(ntsync_sem_create(-1, 0, 1), EBADF);
	NT_EXPECT_ERRNO(ntsync_close(-1), EBADF);
	NT_EXPECT_ERRNO(ntsync_event_create(fds[0], 0, 0), ENOTTY);
	NT_EXPECT_ERRNO(ntsync_wait_any(fds[0], NULL, 0, 1, 0, 0, 0, &a),
			ENOTTY);
	NT_ASSERT_OK(ntsync_close(fds[1]));
	NT_EXPECT_ERRNO(ntsync_event_set(fds[1], &a), EBADF);
	/* The success value of creations is the new fd. */
	int sem = ntsync_sem_create(dev, 0, 1);
	NT_ASSERT_GE(sem, 0);
	NT_EXPECT_GE(fcntl(sem, F_GETFD), 0);
}

NT_TEST(outputs_untouched_on_failure)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 2, 2);
	int ev = nt_event(dev, 0, 0);
	uint32_t a = NT_POISON, b = NT_POISON;

	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 1, &a), EOVERFLOW);
	NT_EXPECT_ERRNO(ntsync_mutex_read(sem, &a, &b), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(sem, 1, &a), EINVAL);
	NT_EXPECT_ERRNO(ntsync_sem_read(ev, &a, &b), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_read(sem, &a, &b), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_pulse(sem, &a), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &ev, 1, 1, 0, 0, 0, &a),
			ETIMEDOUT);
	NT_EXPECT_EQ(a, NT_POISON);
	NT_EXPECT_EQ(b, NT_POISON);
}

NT_TEST(deadline_helpers)
{
	const int64_t sec = 1000000000;
	uint64_t before, after, d;

	before = ntsync_now_ns(CLOCK_MONOTONIC);
	d = ntsync_deadline_ns(CLOCK_MONOTONIC, sec);
	after = ntsync_now_ns(CLOCK_MONOTONIC);
	NT_EXPECT_GT(before, 0);
	NT_EXPECT_GE(d, before + sec);
	NT_EXPECT_LE(d, after + sec);

	before = ntsync_now_ns(CLOCK_REALTIME);
	d = ntsync_deadline_ns(CLOCK_REALTIME, -sec);
	after = ntsync_now_ns(CLOCK_REALTIME);
	NT_EXPECT_GE(d, before - sec);
	NT_EXPECT_LE(d, after - sec);

	/* Clamped: never negative, never the infinite value. */
	NT_EXPECT_EQ(ntsync_deadline_ns(CLOCK_MONOTONIC, INT64_MIN), 0);
	NT_EXPECT_EQ(ntsync_deadline_ns(CLOCK_MONOTONIC, INT64_MAX),
		     (uint64_t)INT64_MAX);
	NT_EXPECT_EQ(ntsync_deadline_ns(CLOCK_REALTIME, INT64_MAX),
		     (uint64_t)INT64_MAX);
	NT_EXPECT_NE(ntsync_deadline_ns(CLOCK_MONOTONIC, INT64_MAX),
		     NTSYNC_TIMEOUT_INFINITE);
	/* An unreadable clock reads as 0. */
	NT_EXPECT_EQ(ntsync_now_ns((clockid_t)12345), 0);
}

NT_TEST(deadline_helper_drives_a_real_wait)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	uint32_t index;
	uint64_t start = nt_mono_ns();

	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 1, 0,
					ntsync_deadline_ns(CLOCK_REALTIME,
							   60 * 1000000ll),
					NTSYNC_WAIT_REALTIME, &index),
			ETIMEDOUT);
	NT_EXPECT_GE(nt_elapsed_ms(start), 60);
}
