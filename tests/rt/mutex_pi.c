// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mutex priority inheritance.  When a real-time thread blocks (WAIT_ANY or
 * WAIT_ALL) on an ntsync mutex, the owner thread (the one that acquired it
 * through a wait) runs SCHED_FIFO at the best RT priority among the
 * mutex's waiters, and gets back exactly its own policy, RT priority and
 * nice when that ends (unlock, kill, the waiter leaving by timeout or
 * signal).  A thread owning several boosted mutexes runs at the best of
 * them; chains of owners blocked on other mutexes are followed; the "pi"
 * module parameter turns it all off.
 *
 * Every thread is an actor (nt_rt.h); attributes are read from outside with
 * sched_getattr on the thread's tid, right after the operation that must
 * have changed them: the boost is applied before the waiter goes to sleep
 * and removed before the unlock (or the waiter's wait) returns.
 */
#include <signal.h>
#include <string.h>

#include "nt_chan.h"
#include "nt_rt.h"

/* Every test here needs PI on; a failed pi=0 test must not leak into the
 * others. */
static int pi_dev(void)
{
	nt_pi_param_set(true);
	return nt_dev();
}

static struct nt_sched start_base(struct nt_actor *a, struct nt_sched base)
{
	nt_actor_start(a, base);
	/* Exact, nice included, even for RT bases. */
	return nt_sched_get(nt_actor_tid(a));
}

NT_TEST_TIMEOUT(boosts_sched_other_owner_and_restores_nice, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(5));
	nt_actor_start(&waiter, NT_FIFO_N(80, 0));
	nt_actor_take(&owner, dev, m, 1);
	NT_CHECK_MUTEX(m, 1, 1);
	/* Owning alone boosts nothing. */
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);

	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
	NT_CHECK_SCHED(nt_actor_tid(&waiter), NT_FIFO_N(80, 0));

	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	/* Restored before its unlock returned, as the owner itself saw. */
	NT_CHECK_SCHED_VAL(owner.after, base);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_OTHER(5));
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_CHECK_SCHED(nt_actor_tid(&waiter), NT_FIFO_N(80, 0));
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_OTHER(5));
}

NT_TEST_TIMEOUT(rt_owner_boosted_and_restored, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor fifo_owner, rr_owner, waiter;
	struct nt_sched fifo_base, rr_base;

	fifo_base = start_base(&fifo_owner, NT_FIFO_N(10, 0));
	rr_base = start_base(&rr_owner, NT_RR(10));
	nt_actor_start(&waiter, NT_FIFO(80));

	nt_actor_take(&fifo_owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&fifo_owner), NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_unlock(&fifo_owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&fifo_owner), fifo_base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&waiter, m, 3), 0);

	/* SCHED_RR comes back as SCHED_RR. */
	nt_actor_take(&rr_owner, dev, m, 2);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&rr_owner), NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_unlock(&rr_owner, m, 2), 0);
	NT_CHECK_SCHED(nt_actor_tid(&rr_owner), rr_base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 3, 1);
}

NT_TEST_TIMEOUT(higher_rt_owner_not_lowered, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_FIFO_N(90, 0));
	nt_actor_start(&waiter, NT_FIFO(50));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
}

NT_TEST_TIMEOUT(sched_other_waiter_boosts_nobody, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(10));
	nt_actor_start(&waiter, NT_OTHER(-20));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
}

NT_TEST_TIMEOUT(recursive_owner_keeps_boost_until_last_unlock, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(0));
	nt_actor_start(&waiter, NT_FIFO(70));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_take(&owner, dev, m, 1);
	NT_CHECK_MUTEX(m, 1, 2);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(70));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	/* Still the owner (count 1): still boosted. */
	NT_CHECK_MUTEX(m, 1, 1);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(70));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
}

NT_TEST_TIMEOUT(best_of_several_waiters, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, w[3];
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(3));
	nt_actor_start(&w[0], NT_FIFO(30));
	nt_actor_start(&w[1], NT_FIFO(75));
	nt_actor_start(&w[2], NT_RR(50));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&w[0], dev, false, &m, 1, 10,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(30));
	nt_actor_wait_start(&w[1], dev, false, &m, 1, 11,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(75));
	nt_actor_wait_start(&w[2], dev, false, &m, 1, 12,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(75));

	/* Handed to the FIFO 75 waiter, which is boosted by the others now. */
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&w[1]), 0);
	NT_CHECK_MUTEX(m, 11, 1);
	NT_CHECK_SCHED(nt_actor_tid(&w[1]), NT_FIFO(75));
	/* RR 50 is the best remaining waiter; the owner keeps its FIFO 75. */
	NT_ASSERT_EQ(nt_actor_unlock(&w[1], m, 11), 0);
	NT_ASSERT_EQ(nt_actor_finish(&w[2]), 0);
	NT_CHECK_MUTEX(m, 12, 1);
	/* The RR 50 owner with a FIFO 30 waiter: not lowered, not changed. */
	NT_CHECK_SCHED(nt_actor_tid(&w[2]), NT_RR(50));
	NT_ASSERT_EQ(nt_actor_unlock(&w[2], m, 12), 0);
	NT_ASSERT_EQ(nt_actor_finish(&w[0]), 0);
	NT_CHECK_MUTEX(m, 10, 1);
	NT_CHECK_SCHED(nt_actor_tid(&w[2]), NT_RR(50));
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
}

/*
 * A waiter raised to real time from outside (sched_setattr, unseen by the
 * driver) while it waits deep in a long queue, past what a handoff's pass
 * reads (NTSYNC_WAKE_OWNED_MAX, 16): the bounded re-checks find it within
 * ceil(40 / NTSYNC_WQ_SWEEP) = 5 of them, at least one per handoff (the
 * unlock's PI look-up, which also makes the re-check its wake owes).  From
 * then on it is the mutex's best waiter, so the owner that hands the mutex
 * to it must run boosted by it until then, whichever re-check found it:
 * here it is the second unlock's look-up, after its handoff, whose PI
 * re-evaluation must boost that new owner, for a queue of WAIT_ANY and one
 * of WAIT_ALL (@all).
 */
#define LONG_QUEUE_WAITERS	40
#define LONG_QUEUE_RAISED	31

/*
 * Waiters w[i] (owner id 10 + i) of @m: the raised one is served first,
 * then those from @from on in arrival order, each checked at @base.
 */
static void serve_raised_then_rest(struct nt_actor *w, unsigned int from,
				   unsigned int n, unsigned int raised, int m,
				   struct nt_sched base)
{
	NT_ASSERT_EQ(nt_actor_finish(&w[raised]), 0);
	NT_CHECK_MUTEX(m, 10 + raised, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&w[raised], m, 10 + raised), 0);
	for (unsigned int i = from; i < n; i++) {
		if (i == raised)
			continue;
		NT_ASSERT_EQ(nt_actor_finish(&w[i]), 0);
		NT_CHECK_MUTEX(m, 10 + i, 1);
		NT_CHECK_SCHED(nt_actor_tid(&w[i]), base);
		NT_ASSERT_EQ(nt_actor_unlock(&w[i], m, 10 + i), 0);
	}
}

static void raised_in_long_queue(bool all)
{
	const unsigned int handoffs_bound = 3;
	struct nt_actor owner, w[LONG_QUEUE_WAITERS];
	struct nt_actor *holder = &owner;
	uint32_t holder_id = 1;
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_sched base;
	unsigned int k;

	nt_actor_start(&owner, NT_OTHER(0));
	nt_actor_take(&owner, dev, m, 1);
	for (unsigned int i = 0; i < LONG_QUEUE_WAITERS; i++) {
		nt_actor_start(&w[i], NT_OTHER(0));
		nt_actor_wait_start(&w[i], dev, all, &m, 1, 10 + i,
				    NTSYNC_TIMEOUT_INFINITE);
	}
	base = nt_sched_get(nt_actor_tid(&w[0]));
	nt_sched_set(nt_actor_tid(&w[LONG_QUEUE_RAISED]), NT_FIFO(50));

	/* Arrival order until the raised waiter is served. */
	for (k = 0; k < handoffs_bound; k++) {
		struct nt_sched held = nt_sched_get(nt_actor_tid(holder));
		uint32_t next = NT_POISON, count = NT_POISON;

		/* The unlock hands the mutex over inside the call. */
		NT_ASSERT_EQ(nt_actor_unlock(holder, m, holder_id), 0);
		NT_CHECK_SCHED(nt_actor_tid(holder), base);
		NT_ASSERT_EQ(ntsync_mutex_read(m, &next, &count), 0);
		if (next == 10 + LONG_QUEUE_RAISED) {
			NT_CHECK_SCHED_VAL(held, NT_FIFO(50));
			break;
		}
		NT_ASSERT_EQ(next, 10 + k);
		NT_ASSERT_EQ(nt_actor_finish(&w[k]), 0);
		holder = &w[k];
		holder_id = 10 + k;
	}
	NT_ASSERT_LT(k, handoffs_bound);
	/* Then the rest in arrival order, nobody boosted any more. */
	serve_raised_then_rest(w, k, LONG_QUEUE_WAITERS, LONG_QUEUE_RAISED, m,
			       base);
	NT_CHECK_MUTEX(m, 0, 0);
}

NT_TEST_TIMEOUT(raised_wait_any_in_long_queue_boosts_owner_before_it, 60)
{
	raised_in_long_queue(false);
}

NT_TEST_TIMEOUT(raised_wait_all_in_long_queue_boosts_owner_before_it, 60)
{
	raised_in_long_queue(true);
}


/*
 * The re-check a handoff from a long queue owes can also be paid by the
 * next waiter to queue there (ntsync_wq_insert()).  If it finds a raised
 * waiter of a mutex, that queuing must re-evaluate the mutex's PI
 * (ntsync_wq_insert_pi()): the owner runs boosted from then on, not from
 * the next look-up.  With PI on, a handoff's own look-up pays the re-check
 * at once; one made while the "pi" parameter was off leaves it owed, which
 * is how this test reaches the queuing's payment: hand over with PI off,
 * raise a waiter from outside among the NTSYNC_WQ_SWEEP (8) newest, which
 * a first re-check reads (the cursor starts at the newest), turn PI on,
 * queue a SCHED_OTHER waiter (which boosts nobody by itself).  For a queue
 * of WAIT_ANY and one of WAIT_ALL.  Run in a child, so that the parameter
 * is restored whatever happens.
 */
#define OWED_WAITERS	40
#define OWED_RAISED	35
#define OWED_LATE_ID	99

static void raised_found_by_next_waiter(void *arg)
{
	const bool all = *(const bool *)arg;
	struct nt_actor late, w[OWED_WAITERS];
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_sched base;

	NT_ASSERT_FALSE(nt_pi_param());
	nt_actor_start(&w[0], NT_OTHER(0));
	nt_actor_take(&w[0], dev, m, 10);
	for (unsigned int i = 1; i < OWED_WAITERS; i++) {
		nt_actor_start(&w[i], NT_OTHER(0));
		nt_actor_wait_start(&w[i], dev, all, &m, 1, 10 + i,
				    NTSYNC_TIMEOUT_INFINITE);
	}
	base = nt_sched_get(nt_actor_tid(&w[0]));
	/* A handoff over a long queue, with nobody looking up after it. */
	NT_ASSERT_EQ(nt_actor_unlock(&w[0], m, 10), 0);
	NT_ASSERT_EQ(nt_actor_finish(&w[1]), 0);
	NT_CHECK_MUTEX(m, 11, 1);
	nt_sched_set(nt_actor_tid(&w[OWED_RAISED]), NT_FIFO(50));
	nt_pi_param_set(true);
	/* Nothing read the queue since: the owner runs as it did. */
	NT_CHECK_SCHED(nt_actor_tid(&w[1]), base);

	nt_actor_start(&late, NT_OTHER(0));
	nt_actor_wait_start(&late, dev, all, &m, 1, OWED_LATE_ID,
			    NTSYNC_TIMEOUT_INFINITE);
	/* Its queuing found the raised waiter, before it slept. */
	NT_CHECK_SCHED(nt_actor_tid(&w[1]), NT_FIFO(50));
	NT_CHECK_SCHED(nt_actor_tid(&late), base);

	NT_ASSERT_EQ(nt_actor_unlock(&w[1], m, 11), 0);
	NT_CHECK_SCHED(nt_actor_tid(&w[1]), base);
	/* Then the rest in arrival order, the late waiter last, nobody boosted. */
	serve_raised_then_rest(w, 2, OWED_WAITERS, OWED_RAISED, m, base);
	NT_ASSERT_EQ(nt_actor_finish(&late), 0);
	NT_CHECK_MUTEX(m, OWED_LATE_ID, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&late, m, OWED_LATE_ID), 0);
	NT_CHECK_MUTEX(m, 0, 0);
}

static void owed_recheck_test(bool all)
{
	bool ok;

	nt_pi_param_set(false);
	ok = nt_run_child(raised_found_by_next_waiter, &all);
	nt_pi_param_set(true);
	NT_EXPECT_TRUE(ok);
}

NT_TEST_TIMEOUT(raised_wait_any_found_by_next_waiter_boosts_owner, 60)
{
	owed_recheck_test(false);
}

NT_TEST_TIMEOUT(raised_wait_all_found_by_next_waiter_boosts_owner, 60)
{
	owed_recheck_test(true);
}
/* One owner, two mutexes, waiters FIFO 60 and FIFO 80; release in the
 * given order. */
static void two_mutexes(bool release_high_first)
{
	int dev = pi_dev();
	int m60 = nt_mutex(dev, 0, 0), m80 = nt_mutex(dev, 0, 0);
	struct nt_actor owner, w60, w80;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(-2));
	nt_actor_start(&w60, NT_FIFO(60));
	nt_actor_start(&w80, NT_FIFO(80));
	nt_actor_take(&owner, dev, m60, 1);
	nt_actor_take(&owner, dev, m80, 1);

	nt_actor_wait_start(&w60, dev, false, &m60, 1, 60,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(60));
	nt_actor_wait_start(&w80, dev, false, &m80, 1, 80,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));

	if (release_high_first) {
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m80, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(60));
		NT_ASSERT_EQ(nt_actor_finish(&w80), 0);
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m60, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), base);
		NT_ASSERT_EQ(nt_actor_finish(&w60), 0);
	} else {
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m60, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
		NT_ASSERT_EQ(nt_actor_finish(&w60), 0);
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m80, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), base);
		NT_ASSERT_EQ(nt_actor_finish(&w80), 0);
	}
	NT_CHECK_MUTEX(m60, 60, 1);
	NT_CHECK_MUTEX(m80, 80, 1);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
}

NT_TEST_TIMEOUT(two_mutexes_release_high_first, 60)
{
	two_mutexes(true);
}

NT_TEST_TIMEOUT(two_mutexes_release_low_first, 60)
{
	two_mutexes(false);
}

NT_TEST_TIMEOUT(wait_all_waiter_boosts, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	int sem = nt_sem(dev, 1, 1);
	int objs[2] = { sem, m };
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(4));
	nt_actor_start(&waiter, NT_FIFO(70));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, true, objs, 2, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(70));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_CHECK_SEM(sem, 0, 1);
}

NT_TEST_TIMEOUT(wait_all_blocked_elsewhere_still_boosts, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	int ev = nt_event(dev, 0, 0);
	int objs[2] = { m, ev };
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(0));
	nt_actor_start(&waiter, NT_RR(65));
	nt_actor_take(&owner, dev, m, 1);
	/* Waits for the mutex and for an event nobody has signaled. */
	nt_actor_wait_start(&waiter, dev, true, objs, 2, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(65));
	/* Unlocked but not taken (the event is missing): no owner, no
	 * boost. */
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_actor_wait_blocked(&waiter);
	nt_set(ev);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_CHECK_EVENT(ev, 0, 0);
}

/*
 * A free mutex that an RT wait-all waiter is queued on (it also waits for
 * an unsignaled event) is acquired by another thread: that thread now owns
 * a mutex an RT thread is blocked on, and must be boosted, however it
 * acquired the mutex: WAIT_ANY or WAIT_ALL on the spot (the objects were
 * free when the wait began), or a blocked WAIT_ALL satisfied by a signal.
 */
enum take_how { TAKE_ANY_AT_ONCE, TAKE_ALL_AT_ONCE, TAKE_ALL_WOKEN };

static void owner_of_waited_free_mutex(enum take_how how)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	int missing = nt_event(dev, 0, 0), gate = nt_event(dev, 0, 0);
	int waiter_objs[2] = { m, missing }, owner_objs[2] = { m, gate };
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(2));
	nt_actor_start(&waiter, NT_FIFO(65));
	nt_actor_wait_start(&waiter, dev, true, waiter_objs, 2, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_MUTEX(m, 0, 0);

	switch (how) {
	case TAKE_ANY_AT_ONCE:
		nt_actor_take(&owner, dev, m, 1);
		break;
	case TAKE_ALL_AT_ONCE:
		nt_set(gate);
		NT_ASSERT_EQ(nt_actor_wait(&owner, dev, true, owner_objs, 2, 1,
					   NTSYNC_TIMEOUT_INFINITE), 0);
		break;
	case TAKE_ALL_WOKEN:
		nt_actor_wait_start(&owner, dev, true, owner_objs, 2, 1,
				    NTSYNC_TIMEOUT_INFINITE);
		nt_set(gate);
		NT_ASSERT_EQ(nt_actor_finish(&owner), 0);
		break;
	}
	NT_CHECK_MUTEX(m, 1, 1);
	nt_actor_wait_blocked(&waiter);
	/* The owner itself, right after its wait returned, and now. */
	NT_EXPECT_SCHED_VAL(owner.after, NT_FIFO(65));
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(65));

	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	nt_set(missing);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
}

NT_TEST_TIMEOUT(owner_by_wait_any_fast_path_is_boosted, 60)
{
	owner_of_waited_free_mutex(TAKE_ANY_AT_ONCE);
}

NT_TEST_TIMEOUT(owner_by_wait_all_fast_path_is_boosted, 60)
{
	owner_of_waited_free_mutex(TAKE_ALL_AT_ONCE);
}

NT_TEST_TIMEOUT(owner_by_woken_wait_all_is_boosted, 60)
{
	owner_of_waited_free_mutex(TAKE_ALL_WOKEN);
}

NT_TEST_TIMEOUT(timed_out_waiter_removes_boost, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, w60, w80;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(6));
	nt_actor_start(&w60, NT_FIFO(60));
	nt_actor_start(&w80, NT_FIFO(80));
	nt_actor_take(&owner, dev, m, 1);

	/* Alone: the boost goes when the waiter times out. */
	nt_actor_wait_start(&w80, dev, false, &m, 1, 80, nt_deadline_ms(1000));
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_finish(&w80), -ETIMEDOUT);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);

	/* With another waiter: down to the best remaining one. */
	nt_actor_wait_start(&w60, dev, false, &m, 1, 60,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&w80, dev, false, &m, 1, 80, nt_deadline_ms(1000));
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_finish(&w80), -ETIMEDOUT);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(60));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&w60), 0);
	NT_CHECK_MUTEX(m, 60, 1);
}

/*
 * A real-time waiter whose wait another object satisfies after it was
 * queued on a mutex but before it registered for PI (such a wait never
 * registers): a re-evaluation may have counted it meanwhile, and its
 * leaving must take that boost back.  On the debug kernel a one-shot sleep
 * (debug_delay_queued_us) holds the waiter in that window while the other
 * waiter's re-evaluation counts it and the event claims it; elsewhere, or
 * if the window closed first, the same steps take the ordinary path (it
 * registers, sleeps and is woken).  Either way the owner ends at the
 * remaining waiter's priority.
 */
NT_TEST_TIMEOUT(waiter_claimed_before_registering_drops_boost, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	int e = nt_event(dev, 0, 0);
	int fds[2] = { m, e };
	struct nt_actor owner, w60, w50;
	struct nt_sched base;
	uint32_t prev;
	bool widened;

	base = start_base(&owner, NT_OTHER(4));
	nt_actor_start(&w60, NT_FIFO(60));
	nt_actor_start(&w50, NT_FIFO(50));
	nt_actor_take(&owner, dev, m, 1);

	widened = nt_module_param_write("debug_delay_queued_us", "2000000");
	nt_actor_wait_start(&w60, dev, false, fds, 2, 60,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&w50, dev, false, &m, 1, 50,
			    NTSYNC_TIMEOUT_INFINITE);
	/* w60, queued first and better, counts in w50's re-evaluation. */
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(60));
	/* 'D': still in the window, not registered (the debug sleep). */
	nt_diag("waiter claimed %s", nt_task_state(nt_actor_tid(&w60)) == 'D' ?
		"inside the window (not registered)" :
		widened ? "after the window closed (registered)" :
		"while registered (no delay point in this module)");
	NT_ASSERT_EQ(ntsync_event_set(e, &prev), 0);
	NT_ASSERT_EQ(nt_actor_finish(&w60), 0);
	NT_ASSERT_EQ(w60.index, 1u);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(50));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&w50), 0);
	NT_CHECK_MUTEX(m, 50, 1);
	if (widened)
		NT_ASSERT_TRUE(nt_module_param_write("debug_delay_queued_us",
						     "0"));
}

/*
 * An unlock with no waiter since the mutex's queues were last empty skips
 * the PI work: whatever happened before (a boost, a waiter that timed out),
 * the next waiter still boosts the owner and every unlock restores it.
 */
NT_TEST_TIMEOUT(unlocks_without_waiters_keep_pi_exact, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, w80;
	struct nt_sched base;
	int round;

	base = start_base(&owner, NT_OTHER(3));
	nt_actor_start(&w80, NT_FIFO(80));
	for (round = 0; round < 3; round++) {
		/* Uncontended: no waiter ever queues. */
		nt_actor_take(&owner, dev, m, 1);
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), base);

		/* A waiter that gives up: boost, then back to the base. */
		nt_actor_take(&owner, dev, m, 1);
		nt_actor_wait_start(&w80, dev, false, &m, 1, 80,
				    nt_deadline_ms(1000));
		NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
		NT_ASSERT_EQ(nt_actor_finish(&w80), -ETIMEDOUT);
		NT_CHECK_SCHED(nt_actor_tid(&owner), base);
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
		NT_CHECK_SCHED(nt_actor_tid(&owner), base);

		/* A waiter that gets it: boost, handed over, restored. */
		nt_actor_take(&owner, dev, m, 1);
		nt_actor_wait_start(&w80, dev, false, &m, 1, 80,
				    NTSYNC_TIMEOUT_INFINITE);
		NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
		NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
		NT_CHECK_SCHED_VAL(owner.after, base);
		NT_ASSERT_EQ(nt_actor_finish(&w80), 0);
		NT_CHECK_MUTEX(m, 80, 1);
		NT_ASSERT_EQ(nt_actor_unlock(&w80, m, 80), 0);
		NT_CHECK_SCHED(nt_actor_tid(&w80), NT_FIFO(80));
		NT_CHECK_MUTEX(m, 0, 0);
	}
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
}

static void on_signal(int sig)
{
	(void)sig;
}

NT_TEST_TIMEOUT(interrupted_waiter_removes_boost, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;
	struct sigaction sa;
	int err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: the wait ends */
	sigemptyset(&sa.sa_mask);
	NT_ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

	base = start_base(&owner, NT_OTHER(1));
	nt_actor_start(&waiter, NT_FIFO(85));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(85));
	err = pthread_kill(waiter.thread.handle, SIGUSR1);
	NT_ASSERT_EQ(err, 0);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), -EINTR);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_CHECK_MUTEX(m, 1, 1);
}

NT_TEST_TIMEOUT(kill_ends_boost, 60)
{
	int dev = pi_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	base = start_base(&owner, NT_OTHER(-1));
	nt_actor_start(&waiter, NT_FIFO(55));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(55));
	NT_ASSERT_EQ(nt_actor_kill(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), -EOWNERDEAD);
	NT_CHECK_MUTEX(m, 2, 1);
}

/* With pi=0: the scenario of the first test boosts nobody.  Runs in a
 * child, so that the parameter is turned back on whatever happens. */
static void pi_off_scenario(void *arg)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	(void)arg;
	NT_ASSERT_FALSE(nt_pi_param());
	base = start_base(&owner, NT_OTHER(5));
	nt_actor_start(&waiter, NT_FIFO(80));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
	NT_CHECK_MUTEX(m, 2, 1);
}

/* The same with pi=1 boosts (the control). */
static void pi_on_scenario(void *arg)
{
	int dev = nt_dev();
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor owner, waiter;
	struct nt_sched base;

	(void)arg;
	NT_ASSERT_TRUE(nt_pi_param());
	base = start_base(&owner, NT_OTHER(5));
	nt_actor_start(&waiter, NT_FIFO(80));
	nt_actor_take(&owner, dev, m, 1);
	nt_actor_wait_start(&waiter, dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	NT_CHECK_SCHED(nt_actor_tid(&owner), base);
	NT_ASSERT_EQ(nt_actor_finish(&waiter), 0);
}

NT_TEST_TIMEOUT(pi_param_off_disables_boost, 60)
{
	bool off_ok;

	nt_pi_param_set(true);
	nt_pi_param_set(false);
	off_ok = nt_run_child(pi_off_scenario, NULL);
	nt_pi_param_set(true);
	NT_EXPECT_TRUE(off_ok);
	nt_in_child(pi_on_scenario, NULL);
}

/*
 * A chain: t[i] owns m[i] and waits for m[i + 1]; t[CHAIN - 1] owns the
 * last mutex and runs.  A FIFO 90 waiter on m[0] must lift every owner up
 * to the last one; unwinding from the end must give each one back its base
 * the moment it lets go, while the ones before it stay boosted.
 */
#define CHAIN		12
#define TOP_PRIO	90

static struct nt_sched chain_base(unsigned int i)
{
	switch (i) {
	case 3: return NT_FIFO_N(15, 0);	/* boosts 4.. to 15 by itself */
	case 7: return NT_FIFO_N(5, 0);		/* below 15: boosted */
	case 9: return NT_RR(20);		/* above 15: not lowered */
	default: return NT_OTHER((int)(i % 7) - 3);
	}
}

static uint32_t rt_prio_of(struct nt_sched s)
{
	return s.policy == SCHED_FIFO || s.policy == SCHED_RR ? s.prio : 0;
}

/* What t[i] runs at when the chain's head has RT priority @head (0: none). */
static struct nt_sched chain_expected(const struct nt_sched *base,
				      unsigned int i, uint32_t head)
{
	uint32_t best = head;

	for (unsigned int j = 0; j < i; j++)
		if (rt_prio_of(base[j]) > best)
			best = rt_prio_of(base[j]);
	if (best > rt_prio_of(base[i]))
		return NT_FIFO(best);
	return base[i];
}

static void check_chain(const struct nt_actor *t, const struct nt_sched *base,
			uint32_t head)
{
	for (unsigned int i = 0; i < CHAIN; i++) {
		struct nt_sched want = chain_expected(base, i, head);
		struct nt_sched got = nt_sched_get(nt_actor_tid(&t[i]));
		char g[64], w[64];

		if (!nt_sched_matches(got, want))
			NT_FAIL("chain link %u (head at RT %u): %s, expected %s",
				i, head, nt_sched_str(got, g, sizeof(g)),
				nt_sched_str(want, w, sizeof(w)));
	}
}

NT_TEST_TIMEOUT(chain_of_12_propagates_and_unwinds, 120)
{
	int dev = pi_dev();
	struct nt_actor t[CHAIN], top;
	struct nt_sched base[CHAIN];
	int m[CHAIN];

	for (unsigned int i = 0; i < CHAIN; i++) {
		m[i] = nt_mutex(dev, 0, 0);
		base[i] = start_base(&t[i], chain_base(i));
		nt_actor_take(&t[i], dev, m[i], 100 + i);
	}
	nt_actor_start(&top, NT_FIFO(TOP_PRIO));

	/* Built from the end: each new link blocks on a blocked owner. */
	for (unsigned int i = CHAIN - 1; i-- > 0;)
		nt_actor_wait_start(&t[i], dev, false, &m[i + 1], 1, 100 + i,
				    NTSYNC_TIMEOUT_INFINITE);
	check_chain(t, base, 0);

	nt_actor_wait_start(&top, dev, false, &m[0], 1, 1,
			    NTSYNC_TIMEOUT_INFINITE);
	check_chain(t, base, TOP_PRIO);

	/* Unwind from the end. */
	for (unsigned int i = CHAIN; i-- > 0;) {
		if (i < CHAIN - 1) {
			/* Its wait for m[i + 1] was served by t[i + 1]. */
			NT_ASSERT_EQ(nt_actor_finish(&t[i]), 0);
			NT_CHECK_MUTEX(m[i + 1], 100 + i, 1);
			NT_CHECK_SCHED(nt_actor_tid(&t[i]), NT_FIFO(TOP_PRIO));
			NT_ASSERT_EQ(nt_actor_unlock(&t[i], m[i + 1], 100 + i), 0);
			NT_CHECK_SCHED(nt_actor_tid(&t[i]), NT_FIFO(TOP_PRIO));
		}
		NT_ASSERT_EQ(nt_actor_unlock(&t[i], m[i], 100 + i), 0);
		NT_CHECK_SCHED(nt_actor_tid(&t[i]), base[i]);
		for (unsigned int j = 0; j < i; j++)
			NT_CHECK_SCHED(nt_actor_tid(&t[j]), NT_FIFO(TOP_PRIO));
	}
	NT_ASSERT_EQ(nt_actor_finish(&top), 0);
	NT_CHECK_MUTEX(m[0], 1, 1);
	for (unsigned int i = 0; i < CHAIN; i++)
		NT_CHECK_SCHED(nt_actor_tid(&t[i]), base[i]);
	NT_CHECK_SCHED(nt_actor_tid(&top), NT_FIFO_N(TOP_PRIO, 0));
}

/*
 * The chain bound counts distinct mutexes: an owner blocked in a WAIT_ANY
 * that lists one mutex 63 times and another once still passes the boost on
 * to both owners (with duplicates counted, the 64-entry bound filled up
 * with the repeated mutex and the last one was never re-evaluated).
 */
NT_TEST_TIMEOUT(chain_counts_distinct_mutexes, 60)
{
	int dev = pi_dev();
	int m_top = nt_mutex(dev, 0, 0);
	int m_rep = nt_mutex(dev, 0, 0);
	int m_last = nt_mutex(dev, 0, 0);
	struct nt_actor mid, rep_owner, last_owner, top;
	struct nt_sched mid_base, rep_base, last_base;
	int fds[NTSYNC_MAX_WAIT_COUNT];

	mid_base = start_base(&mid, NT_OTHER(0));
	rep_base = start_base(&rep_owner, NT_OTHER(0));
	last_base = start_base(&last_owner, NT_OTHER(0));
	nt_actor_start(&top, NT_FIFO(70));
	nt_actor_take(&mid, dev, m_top, 11);
	nt_actor_take(&rep_owner, dev, m_rep, 12);
	nt_actor_take(&last_owner, dev, m_last, 13);

	for (unsigned int i = 0; i < NTSYNC_MAX_WAIT_COUNT - 1; i++)
		fds[i] = m_rep;
	fds[NTSYNC_MAX_WAIT_COUNT - 1] = m_last;
	nt_actor_wait_start(&mid, dev, false, fds, NTSYNC_MAX_WAIT_COUNT, 11,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&top, dev, false, &m_top, 1, 10,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&mid), NT_FIFO(70));
	NT_CHECK_SCHED(nt_actor_tid(&rep_owner), NT_FIFO(70));
	NT_CHECK_SCHED(nt_actor_tid(&last_owner), NT_FIFO(70));

	/* Unwind: the last owner's release satisfies mid's wait. */
	NT_ASSERT_EQ(nt_actor_unlock(&last_owner, m_last, 13), 0);
	NT_CHECK_SCHED(nt_actor_tid(&last_owner), last_base);
	NT_ASSERT_EQ(nt_actor_finish(&mid), 0);
	NT_CHECK_SCHED(nt_actor_tid(&rep_owner), rep_base);
	NT_ASSERT_EQ(nt_actor_unlock(&mid, m_last, 11), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&mid, m_top, 11), 0);
	NT_CHECK_SCHED(nt_actor_tid(&mid), mid_base);
	NT_ASSERT_EQ(nt_actor_finish(&top), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&top, m_top, 10), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&rep_owner, m_rep, 12), 0);
}
