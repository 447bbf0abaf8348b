// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wait timeouts: absolute CLOCK_MONOTONIC deadlines, CLOCK_REALTIME with
 * NTSYNC_WAIT_REALTIME, deadlines in the past (immediate), U64_MAX (forever)
 * and very large finite deadlines.
 */
#include "nt_util.h"

/* Upper bound for "returned promptly" in a slow emulated VM. */
#define PROMPT_MS	1000u

static void check_times_out_at(int dev, bool all, clockid_t clk,
			       uint32_t flags, unsigned int ms)
{
	int objs[2] = { nt_sem(dev, 0, 1), nt_event(dev, 1, 0) };
	uint64_t start = nt_mono_ns();
	uint64_t deadline = nt_now_ns(clk) + (uint64_t)ms * 1000000ull;
	uint32_t index = NT_POISON;
	int (*wait)(int, const int *, uint32_t, uint32_t, int, uint64_t,
		    uint32_t, uint32_t *) = all ? ntsync_wait_all :
						  ntsync_wait_any;

	NT_EXPECT_ERRNO(wait(dev, objs, 2, 123, 0, deadline, flags, &index),
			ETIMEDOUT);
	/* Not before the deadline on its own clock... */
	NT_EXPECT_GE(nt_now_ns(clk), deadline);
	NT_EXPECT_GE(nt_elapsed_ms(start), ms);
	/* ...and not absurdly later either. */
	NT_EXPECT_LT(nt_elapsed_ms(start), ms + 5000);
	NT_EXPECT_EQ(index, NT_POISON);
}

NT_TEST(monotonic_deadline_any)
{
	check_times_out_at(nt_dev(), false, CLOCK_MONOTONIC, 0, 100);
}

NT_TEST(monotonic_deadline_all)
{
	check_times_out_at(nt_dev(), true, CLOCK_MONOTONIC, 0, 100);
}

NT_TEST(realtime_deadline_any)
{
	check_times_out_at(nt_dev(), false, CLOCK_REALTIME,
			   NTSYNC_WAIT_REALTIME, 100);
}

NT_TEST(realtime_deadline_all)
{
	check_times_out_at(nt_dev(), true, CLOCK_REALTIME,
			   NTSYNC_WAIT_REALTIME, 100);
}

/*
 * The flag really selects the clock.  This needs the two clocks to be far
 * apart, which they are on any machine whose wall clock is set (the test
 * VM's RTC gives it the host's date).
 */
NT_TEST(realtime_flag_selects_the_clock)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	uint64_t mono = nt_now_ns(CLOCK_MONOTONIC);
	uint64_t real = nt_now_ns(CLOCK_REALTIME);
	uint64_t start;
	uint32_t index;
	struct nt_waiter w;

	if (real < mono + 3600ull * 1000000000ull)
		NT_FAIL("CLOCK_REALTIME (%llu s) is not ahead of CLOCK_MONOTONIC (%llu s): set the clock",
			(unsigned long long)(real / 1000000000ull),
			(unsigned long long)(mono / 1000000000ull));

	/* A monotonic "2 s from now" read as realtime is decades ago. */
	start = nt_mono_ns();
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &ev, 1, 123, 0,
					mono + 2000000000ull,
					NTSYNC_WAIT_REALTIME, &index),
			ETIMEDOUT);
	NT_EXPECT_LT(nt_elapsed_ms(start), PROMPT_MS);

	/* A realtime "now" read as monotonic is decades ahead. */
	nt_waiter_init(&w, dev, false, &ev, 1, 123);
	w.timeout = nt_now_ns(CLOCK_REALTIME);
	nt_waiter_start(&w);
	NT_CHECK_STILL_WAITING(&w, 200);
	nt_set(ev);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
}

NT_TEST(past_deadline_returns_at_once)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	uint32_t index = NT_POISON;
	uint64_t start = nt_mono_ns();

	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 123, 0, 0, 0, &index),
			ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 123, 0, 0, 0, &index),
			ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 123, 0,
					ntsync_deadline_ns(CLOCK_MONOTONIC,
							   -1000000000),
					0, &index), ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sem, 1, 123, 0,
					ntsync_deadline_ns(CLOCK_REALTIME,
							   -1000000000),
					NTSYNC_WAIT_REALTIME, &index),
			ETIMEDOUT);
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, &sem, 1, 123, 0, 0,
					NTSYNC_WAIT_REALTIME, &index),
			ETIMEDOUT);
	NT_EXPECT_LT(nt_elapsed_ms(start), PROMPT_MS);
	NT_EXPECT_EQ(index, NT_POISON);
}

NT_TEST(past_deadline_still_acquires_signaled)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 2, 2), nt_event(dev, 0, 1) };
	uint32_t index = NT_POISON;

	NT_ASSERT_OK(ntsync_wait_any(dev, objs, 2, 123, 0, 0, 0, &index));
	NT_EXPECT_EQ(index, 0);
	NT_ASSERT_OK(ntsync_wait_all(dev, objs, 2, 123, 0, 0,
				     NTSYNC_WAIT_REALTIME, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(objs[0], 0, 2);
	NT_CHECK_EVENT(objs[1], 0, 0);
}

NT_TEST(infinite_waits_until_woken)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 1);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &sem, 1, 123);
	w.timeout = NTSYNC_TIMEOUT_INFINITE;
	nt_waiter_start(&w);
	NT_CHECK_STILL_WAITING(&w, 200);
	nt_release(sem, 1);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_EQ(w.index, 0);
	NT_CHECK_SEM(sem, 0, 1);
}

NT_TEST(infinite_realtime_waits_until_woken)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 1), nt_event(dev, 1, 0) };
	struct nt_waiter w;

	nt_waiter_init(&w, dev, true, objs, 2, 123);
	w.timeout = NTSYNC_TIMEOUT_INFINITE;
	w.flags = NTSYNC_WAIT_REALTIME;
	nt_waiter_start(&w);
	nt_release(objs[0], 1);
	NT_CHECK_STILL_WAITING(&w, 100);
	nt_set(objs[1]);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_CHECK_SEM(objs[0], 0, 1);
}

/*
 * Huge finite deadlines (up to INT64_MAX, the kernel's largest ktime) must
 * not overflow into "already expired".  Values above INT64_MAX other than
 * U64_MAX are not tested: upstream reads them as negative (past) times.
 */
NT_TEST(huge_finite_deadline_does_not_expire)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	const uint64_t huge[] = { (uint64_t)INT64_MAX, 1ull << 62,
				  ntsync_deadline_ns(CLOCK_MONOTONIC, INT64_MAX) };
	struct nt_waiter w;

	for (unsigned int i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		for (uint32_t flags = 0; flags <= NTSYNC_WAIT_REALTIME; flags++) {
			nt_waiter_init(&w, dev, false, &ev, 1, 123);
			w.timeout = huge[i];
			w.flags = flags;
			nt_waiter_start(&w);
			NT_CHECK_STILL_WAITING(&w, 20);
			nt_set(ev);
			NT_ASSERT_OK(nt_waiter_join(&w));
		}
	}
}

NT_TEST(woken_before_deadline_succeeds)
{
	int dev = nt_dev();
	int ev = nt_event(dev, 0, 0);
	struct nt_waiter w;

	nt_waiter_init(&w, dev, false, &ev, 1, 123);
	w.timeout = nt_deadline_ms(NT_SOON_MS);
	nt_waiter_start(&w);
	nt_set(ev);
	NT_ASSERT_OK(nt_waiter_join(&w));
	NT_EXPECT_LT(w.end_ns, w.timeout);
	NT_CHECK_EVENT(ev, 0, 0);
}
