// SPDX-License-Identifier: GPL-2.0-only
/*
 * No PI work where no boost can result (issue 13).  Threads at normal
 * priorities handing mutexes to each other (contended WAIT_ANY and WAIT_ALL
 * waits, unlocks, kills) never take the driver's PI mutex: the counter
 * /sys/class/misc/ntsync/stats/pi_reevaluations (mutexes re-evaluated
 * under it) does not move.  A real-time waiter does move it, and once it
 * has gone the mutex is quiet again.  A normal waiter that is raised while
 * it waits (it owns a mutex a real-time thread then waits for) still
 * passes the boost on to the owner of what it waits for, and gives it back
 * when its own wait ends: the registration it made without the PI mutex
 * is enough to follow it.
 *
 * The counter is module-wide: these tests run alone in their VM program.
 */
#include "nt_chan.h"
#include "nt_rt.h"

#define REEVALS	"pi_reevaluations"
#define ROUNDS	20

static int pi_dev(void)
{
	nt_pi_param_set(true);
	return nt_dev();
}

/* One contended hand-over of @m from @from (owner id @a) to @to (@b). */
static void hand_over(struct nt_actor *from, struct nt_actor *to, int dev,
		      int m, uint32_t a, uint32_t b)
{
	nt_actor_take(from, dev, m, a);
	nt_actor_wait_start(to, dev, false, &m, 1, b, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_actor_unlock(from, m, a), 0);
	NT_ASSERT_EQ(nt_actor_finish(to), 0);
	NT_CHECK_MUTEX(m, b, 1);
	NT_ASSERT_EQ(nt_actor_unlock(to, m, b), 0);
}

NT_TEST_TIMEOUT(normal_handoffs_do_no_pi_work, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor x, y;
	struct nt_sched xb, yb;
	uint64_t before;

	nt_actor_start(&x, NT_OTHER(0));
	nt_actor_start(&y, NT_OTHER(-10));
	xb = nt_sched_get(nt_actor_tid(&x));
	yb = nt_sched_get(nt_actor_tid(&y));
	before = nt_stat(REEVALS);
	for (int i = 0; i < ROUNDS; i++) {
		hand_over(&x, &y, dev, m, 1, 2);
		hand_over(&y, &x, dev, m, 2, 1);
	}
	NT_ASSERT_EQ(nt_stat(REEVALS), before);
	NT_CHECK_SCHED(nt_actor_tid(&x), xb);
	NT_CHECK_SCHED(nt_actor_tid(&y), yb);
}

/* Philosophers' shape: WAIT_ALL on two mutexes against an owner of one. */
NT_TEST_TIMEOUT(normal_wait_all_and_kill_do_no_pi_work, 60)
{
	int dev = pi_dev();
	int m[2] = { nt_mutex(dev, 0, 0), nt_mutex(dev, 0, 0) };
	struct nt_actor x, y;
	uint64_t before;

	nt_actor_start(&x, NT_OTHER(0));
	nt_actor_start(&y, NT_OTHER(5));
	before = nt_stat(REEVALS);
	for (int i = 0; i < ROUNDS; i++) {
		nt_actor_take(&x, dev, m[i % 2], 1);
		nt_actor_wait_start(&y, dev, true, m, 2, 2,
				    NTSYNC_TIMEOUT_INFINITE);
		if (i % 3 == 2) {
			NT_ASSERT_EQ(nt_actor_kill(&x, m[i % 2], 1), 0);
			NT_ASSERT_EQ(nt_actor_finish(&y), -EOWNERDEAD);
		} else {
			NT_ASSERT_EQ(nt_actor_unlock(&x, m[i % 2], 1), 0);
			NT_ASSERT_EQ(nt_actor_finish(&y), 0);
		}
		NT_CHECK_MUTEX(m[0], 2, 1);
		NT_CHECK_MUTEX(m[1], 2, 1);
		NT_ASSERT_EQ(nt_actor_unlock(&y, m[0], 2), 0);
		NT_ASSERT_EQ(nt_actor_unlock(&y, m[1], 2), 0);
	}
	NT_ASSERT_EQ(nt_stat(REEVALS), before);
}

/*
 * The counter is not stuck at zero: a real-time waiter does PI work (and
 * boosts); after it has gone, normal hand-overs are quiet again.
 */
NT_TEST_TIMEOUT(rt_waiter_does_pi_work_then_mutex_is_quiet, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor x, y, rt;
	struct nt_sched xb;
	uint64_t before;

	nt_actor_start(&x, NT_OTHER(0));
	nt_actor_start(&y, NT_OTHER(0));
	nt_actor_start(&rt, NT_FIFO(60));
	xb = nt_sched_get(nt_actor_tid(&x));

	before = nt_stat(REEVALS);
	nt_actor_take(&x, dev, m, 1);
	nt_actor_wait_start(&y, dev, false, &m, 1, 2, NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&rt, dev, false, &m, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&x), NT_FIFO(60));
	NT_ASSERT_GT(nt_stat(REEVALS), before);
	/* The real-time waiter is served first, then the normal one. */
	NT_ASSERT_EQ(nt_actor_unlock(&x, m, 1), 0);
	NT_CHECK_SCHED_VAL(x.after, xb);
	NT_ASSERT_EQ(nt_actor_finish(&rt), 0);
	NT_CHECK_MUTEX(m, 3, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&rt, m, 3), 0);
	NT_ASSERT_EQ(nt_actor_finish(&y), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&y, m, 2), 0);

	before = nt_stat(REEVALS);
	for (int i = 0; i < ROUNDS; i++)
		hand_over(&x, &y, dev, m, 1, 2);
	NT_ASSERT_EQ(nt_stat(REEVALS), before);
	NT_CHECK_SCHED(nt_actor_tid(&x), xb);
}

/*
 * a (normal) owns m1 and waits for m2, owned by b (normal): no PI work.
 * A FIFO 70 thread then waits for m1: a is raised, and through a's wait
 * b too.  a's wait ends while a is raised, by its deadline (2 s, long
 * enough for the checks before it even on a loaded host) or by b handing
 * m2 over: b goes back at once; a's unlock of m1 restores a.
 */
static void raised_waiter_case(bool by_deadline)
{
	int dev = pi_dev();
	int m1 = nt_mutex(dev, 0, 0), m2 = nt_mutex(dev, 0, 0);
	struct nt_actor a, b, rt;
	struct nt_sched ab, bb;
	uint64_t before;

	nt_actor_start(&a, NT_OTHER(2));
	nt_actor_start(&b, NT_OTHER(-2));
	nt_actor_start(&rt, NT_FIFO(70));
	ab = nt_sched_get(nt_actor_tid(&a));
	bb = nt_sched_get(nt_actor_tid(&b));

	nt_actor_take(&a, dev, m1, 1);
	nt_actor_take(&b, dev, m2, 2);
	before = nt_stat(REEVALS);
	nt_actor_wait_start(&a, dev, false, &m2, 1, 1,
			    by_deadline ? nt_deadline_ms(2000) :
					  NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_stat(REEVALS), before);
	NT_CHECK_SCHED(nt_actor_tid(&b), bb);

	nt_actor_wait_start(&rt, dev, false, &m1, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&a), NT_FIFO(70));
	NT_CHECK_SCHED(nt_actor_tid(&b), NT_FIFO(70));

	if (by_deadline) {
		NT_ASSERT_EQ(nt_actor_finish(&a), -ETIMEDOUT);
		NT_CHECK_SCHED(nt_actor_tid(&b), bb);
	} else {
		NT_ASSERT_EQ(nt_actor_unlock(&b, m2, 2), 0);
		NT_CHECK_SCHED_VAL(b.after, bb);
		NT_ASSERT_EQ(nt_actor_finish(&a), 0);
		NT_CHECK_MUTEX(m2, 1, 1);
		NT_ASSERT_EQ(nt_actor_unlock(&a, m2, 1), 0);
	}
	NT_CHECK_SCHED(nt_actor_tid(&a), NT_FIFO(70));

	NT_ASSERT_EQ(nt_actor_unlock(&a, m1, 1), 0);
	NT_CHECK_SCHED_VAL(a.after, ab);
	NT_ASSERT_EQ(nt_actor_finish(&rt), 0);
	NT_CHECK_MUTEX(m1, 3, 1);
	NT_CHECK_SCHED(nt_actor_tid(&a), ab);
	NT_CHECK_SCHED(nt_actor_tid(&b), bb);
	NT_ASSERT_EQ(nt_actor_unlock(&rt, m1, 3), 0);
	if (by_deadline)
		NT_ASSERT_EQ(nt_actor_unlock(&b, m2, 2), 0);
	NT_CHECK_MUTEX(m2, 0, 0);
}

NT_TEST_TIMEOUT(raised_normal_waiter_passes_boost_on_until_deadline, 60)
{
	raised_waiter_case(true);
}

NT_TEST_TIMEOUT(raised_normal_waiter_passes_boost_on_until_served, 60)
{
	raised_waiter_case(false);
}
