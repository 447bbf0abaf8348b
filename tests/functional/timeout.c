// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wait timeouts: absolute CLOCK_MONOTONIC deadlines, CLOCK_REALTIME with
 * NTSYNC_WAIT_REALTIME, deadlines in the past (immediate), U64_MAX (forever)
 * and very large finite deadlines.  As upstream reads the u64 as a signed
 * ktime, a deadline above INT64_MAX other than U64_MAX is already expired:
 * ETIMEDOUT at once when nothing is signaled (nothing consumed), the object
 * acquired when one is -- as for any deadline in the past.  That includes
 * what a 32-bit program gets when its tv_sec * 1000000000 overflows.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "nt_util.h"

/* Upper bound for "returned promptly" in a slow emulated VM. */
#define PROMPT_MS	1000u
/* Bound for a wait that must not block at all (it ends a waiter thread
 * that blocks instead, so that such a failure is reported here). */
#define AT_ONCE_MS	2000u

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
 * U64_MAX are negative (past) times, as upstream reads them: see
 * beyond_int64_max_*.
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

/* ---- Deadlines above INT64_MAX ---------------------------------------- */

/* Above INT64_MAX, not U64_MAX: negative ktimes, so in the past. */
static const uint64_t beyond[] = {
	(uint64_t)INT64_MAX + 1,
	0xc000000000000000ull,
	UINT64_MAX - 1,
	(uint64_t)-1000000000ll,	/* 1 s "before 0" */
};

#define N_BEYOND (sizeof(beyond) / sizeof(beyond[0]))

/*
 * One wait (owner 123) on @objs with deadline @timeout and @flags, in a
 * waiter thread that must return within AT_ONCE_MS (else the test fails
 * here, saying it blocked); returns its result, its index in *index.
 */
static int wait_at_once(int dev, bool all, const int *objs, uint32_t count,
			uint64_t timeout, uint32_t flags, uint32_t *index)
{
	struct nt_waiter w;

	nt_waiter_init(&w, dev, all, objs, count, 123);
	w.timeout = timeout;
	w.flags = flags;
	nt_waiter_start_nowait(&w);
	if (nt_thread_join_ms(&w.thread, AT_ONCE_MS))
		NT_FAIL("%s with deadline 0x%016llx%s did not return within %u ms: it blocks",
			all ? "WAIT_ALL" : "WAIT_ANY",
			(unsigned long long)timeout,
			flags ? " (realtime)" : "", AT_ONCE_MS);
	NT_EXPECT_LT((w.end_ns - w.start_ns) / 1000000ull, AT_ONCE_MS);
	*index = w.index;
	return w.ret;
}

/* Nothing signaled (for WAIT_ALL: not everything): ETIMEDOUT at once, and
 * nothing consumed. */
static void check_expired_at_once(int dev, uint64_t timeout)
{
	int sem = nt_sem(dev, 0, 1), ready = nt_sem(dev, 1, 1);
	int ev = nt_event(dev, 1, 0);
	const int any_objs[2] = { sem, ev };
	const int all_objs[2] = { ready, ev };
	uint32_t index;
	int ret;

	for (int all = 0; all <= 1; all++) {
		for (uint32_t flags = 0; flags <= NTSYNC_WAIT_REALTIME;
		     flags++) {
			index = NT_POISON;
			ret = wait_at_once(dev, all, all ? all_objs : any_objs,
					   2, timeout, flags, &index);
			if (ret != -ETIMEDOUT)
				NT_FAIL_SOFT("%s, deadline 0x%016llx%s: got %d, expected -ETIMEDOUT",
					     all ? "WAIT_ALL" : "WAIT_ANY",
					     (unsigned long long)timeout,
					     flags ? " (realtime)" : "", ret);
			NT_EXPECT_EQ(index, NT_POISON);
		}
	}
	NT_CHECK_SEM(sem, 0, 1);
	NT_CHECK_SEM(ready, 1, 1);
	NT_CHECK_EVENT(ev, 1, 0);
	close(sem);
	close(ready);
	close(ev);
}

NT_TEST(beyond_int64_max_expires_at_once)
{
	int dev = nt_dev();

	for (unsigned int i = 0; i < N_BEYOND; i++)
		check_expired_at_once(dev, beyond[i]);
}

/* As with a deadline in the past (past_deadline_still_acquires_signaled):
 * what is signaled is acquired. */
NT_TEST(beyond_int64_max_still_acquires_signaled)
{
	int dev = nt_dev();

	for (unsigned int i = 0; i < N_BEYOND; i++) {
		for (uint32_t flags = 0; flags <= NTSYNC_WAIT_REALTIME;
		     flags++) {
			int objs[2] = { nt_sem(dev, 2, 2), nt_event(dev, 0, 1) };
			uint32_t index = NT_POISON;

			NT_EXPECT_EQ(wait_at_once(dev, false, objs, 2, beyond[i],
						  flags, &index), 0);
			NT_EXPECT_EQ(index, 0);
			NT_CHECK_SEM(objs[0], 1, 2);
			NT_CHECK_EVENT(objs[1], 0, 1);
			index = NT_POISON;
			NT_EXPECT_EQ(wait_at_once(dev, true, objs, 2, beyond[i],
						  flags, &index), 0);
			NT_EXPECT_EQ(index, 0);
			NT_CHECK_SEM(objs[0], 0, 2);
			NT_CHECK_EVENT(objs[1], 0, 0);
			close(objs[0]);
			close(objs[1]);
		}
	}
}

/*
 * "tv_sec * 1000000000 + tv_nsec" as an i386 program with a 32-bit time_t
 * and long computes it: in 32 bits, wrapping, then sign-extended into the
 * u64 deadline.  Upstream's own selftest does this when built for i386.
 */
static uint64_t i386_ns(int32_t sec, int32_t nsec)
{
	uint32_t wrapped = (uint32_t)sec * 1000000000u + (uint32_t)nsec;

	return (uint64_t)(int64_t)(int32_t)wrapped;
}

/*
 * The deadline such a program computes for @clk, "now" or a few seconds
 * later: the first of those whose 32-bit value overflowed into a negative
 * one (one of any 4 consecutive seconds does), so a huge u64.
 */
static uint64_t i386_overflowed_deadline(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		NT_FAIL("clock_gettime: %s", strerror(errno));
	for (int32_t k = 0; k < 8; k++) {
		uint64_t d = i386_ns((int32_t)ts.tv_sec + k,
				     (int32_t)ts.tv_nsec);

		if (d > (uint64_t)INT64_MAX && d != UINT64_MAX) {
			nt_diag("%s: tv_sec %lld + %d s in 32 bits: deadline 0x%016llx",
				clk == CLOCK_REALTIME ? "realtime" : "monotonic",
				(long long)ts.tv_sec, (int)k,
				(unsigned long long)d);
			return d;
		}
	}
	NT_FAIL("no overflowed 32-bit deadline near tv_sec %lld",
		(long long)ts.tv_sec);
	return 0;
}

NT_TEST(i386_overflowed_deadline_expires_at_once)
{
	int dev = nt_dev();
	int objs[2] = { nt_sem(dev, 0, 1), nt_event(dev, 0, 0) };
	const clockid_t clks[2] = { CLOCK_MONOTONIC, CLOCK_REALTIME };
	uint32_t index;

	for (unsigned int c = 0; c < 2; c++) {
		uint32_t flags = clks[c] == CLOCK_REALTIME ?
				 NTSYNC_WAIT_REALTIME : 0;

		for (int all = 0; all <= 1; all++) {
			uint64_t deadline = i386_overflowed_deadline(clks[c]);

			index = NT_POISON;
			NT_EXPECT_ERRNO(wait_at_once(dev, all, objs, 2,
						     deadline, flags, &index),
					ETIMEDOUT);
			NT_EXPECT_EQ(index, NT_POISON);
		}
	}
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(objs[1], 0, 0);
}
