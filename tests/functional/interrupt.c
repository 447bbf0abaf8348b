// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals during waits: EINTR with a handler installed without SA_RESTART,
 * nothing consumed and no leftover waiter after the interruption, and a
 * transparent restart with SA_RESTART.
 */
#include <signal.h>
#include <string.h>

#include "nt_util.h"

static atomic_int handled;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void install(bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		NT_FAIL("sigaction failed");
	atomic_store(&handled, 0);
}

static void interrupt(struct nt_waiter *w)
{
	int err = pthread_kill(w->thread.handle, SIGUSR1);

	if (err)
		NT_FAIL("pthread_kill: %s", strerror(err));
}

static void wait_handled(int n)
{
	uint64_t start = nt_mono_ns();

	while (atomic_load(&handled) < n) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("signal handler did not run");
		nt_sleep_ms(1);
	}
}

NT_TEST(wait_any_eintr)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	install(false);
	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	nt_waiter_start(&w);
	interrupt(&w);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), EINTR);
	NT_EXPECT_EQ(atomic_load(&handled), 1);
	/* No waiter is left behind to swallow a later count. */
	nt_release(sem, 1);
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(wait_all_eintr_consumes_nothing)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 1, 1), nt_mutex(dev, 0, 0),
			nt_event(dev, 0, 0) };
	struct nt_waiter w;

	install(false);
	nt_waiter_init(&w, dev, true, objs, 3, 4);
	nt_waiter_start(&w);
	interrupt(&w);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), EINTR);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 0, 0);
	/* Completing the set afterwards does not reach the old waiter. */
	nt_set(objs[2]);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 0, 1);
}

NT_TEST(interrupted_mutex_waiter_does_not_take_it_later)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 1, 1);
	struct nt_waiter w;

	install(false);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_waiter_start(&w);
	interrupt(&w);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), EINTR);
	NT_EXPECT_EQ(nt_unlock(m, 1), 1);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST(eintr_long_before_deadline)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 1, 0);
	struct nt_waiter w;

	install(false);
	nt_waiter_init(&w, dev, false, &ev, 1, 1);
	w.timeout = ntsync_deadline_ns(CLOCK_REALTIME, 3600ll * 1000000000ll);
	w.flags = NTSYNC_WAIT_REALTIME;
	nt_waiter_start(&w);
	interrupt(&w);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), EINTR);
}

NT_TEST(sa_restart_resumes_the_wait)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	install(true);
	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	nt_waiter_start(&w);
	interrupt(&w);
	wait_handled(1);
	/* Restarted by the kernel: back asleep in the same wait. */
	NT_CHECK_STILL_WAITING(&w, 0);
	interrupt(&w);
	wait_handled(2);
	NT_CHECK_STILL_WAITING(&w, 0);
	nt_release(sem, 1);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
	NT_CHECK_SEM(sem, 0, 1);
}

NT_TEST(sa_restart_keeps_the_absolute_deadline)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	install(true);
	nt_waiter_init(&w, dev, false, &sem, 1, 1);
	w.timeout = nt_deadline_ms(1000);
	nt_waiter_start(&w);
	interrupt(&w);
	wait_handled(1);
	NT_EXPECT_ERRNO(nt_waiter_join(&w), ETIMEDOUT);
	NT_EXPECT_GE(w.end_ns, w.timeout);
	/* Sanity bound: it ended at its deadline, not long after. */
	NT_EXPECT_LT(w.end_ns, w.timeout + 5000000000ull);
}
