// SPDX-License-Identifier: GPL-2.0-only
/*
 * EVENT_SET_PI: signals the event exactly like EVENT_SET and stages a
 * (policy, prio) with that signal; the waiter whose wait consumes the signal
 * (WAIT_ANY or WAIT_ALL, blocked or fast path) sets itself to it before the
 * wait returns.  One-shot, last writer wins, cancelled by RESET and PULSE,
 * neither cancelled nor replaced by a plain EVENT_SET; prio 0 is a plain
 * EVENT_SET.  The boost drains at the start of the task's next wait, which
 * gives it back exactly its own attributes.
 *
 * The consumer is an actor (nt_rt.h) that records its own attributes right
 * after each wait (struct nt_actor.after); the test also reads them from
 * outside by tid.  "drain" waits use an event nobody signals, with a
 * deadline in the past.
 */
#include "nt_rt.h"

struct fixture {
	int dev;
	int ev;		/* the event under test */
	int idle;	/* never signaled: for draining waits */
};

static void fixture_init(struct fixture *f, bool manual)
{
	f->dev = nt_dev();
	f->ev = nt_event(f->dev, manual, 0);
	f->idle = nt_event(f->dev, 0, 0);
}

static struct nt_sched actor_with(struct nt_actor *a, struct nt_sched base)
{
	nt_actor_start(a, base);
	return nt_sched_get(nt_actor_tid(a));
}

/* One complete WAIT_ANY on the event that must succeed at once. */
static void consume(struct fixture *f, struct nt_actor *a)
{
	NT_ASSERT_EQ(nt_actor_wait(a, f->dev, false, &f->ev, 1, NT_WAIT_OWNER,
				   NTSYNC_TIMEOUT_INFINITE), 0);
	NT_ASSERT_EQ(a->index, 0);
}

/* Both the actor's own view right after the wait and the view from outside
 * now. */
#define CHECK_ACTOR(a, want)						\
	do {								\
		NT_CHECK_SCHED_VAL((a)->after, want);			\
		NT_CHECK_SCHED(nt_actor_tid(a), want);			\
	} while (0)

static uint32_t policy_of(unsigned int i)
{
	return i % 2 ? SCHED_RR : SCHED_FIFO;
}

/* 1..99, all of them within 100 runs. */
static uint32_t prio_of(unsigned int i)
{
	return 1 + (i * 37) % 99;
}

NT_TEST_TIMEOUT(boost_when_blocked_100_runs, 180)
{
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base, got;
	unsigned int boosted = 0, drained = 0;
	char g[64];

	fixture_init(&f, false);
	base = actor_with(&w, NT_OTHER(2));
	for (unsigned int i = 0; i < 100; i++) {
		struct nt_sched want = { policy_of(i), prio_of(i), NT_NICE_ANY };

		nt_actor_wait_start(&w, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
				    NTSYNC_TIMEOUT_INFINITE);
		/* This wait drained the previous run's boost as it began. */
		got = nt_sched_get(nt_actor_tid(&w));
		if (nt_sched_matches(got, base))
			drained++;
		else
			nt_diag("run %u: blocked at %s, not at its base", i,
				nt_sched_str(got, g, sizeof(g)));
		nt_set_pi(f.ev, want.policy, want.prio);
		NT_ASSERT_EQ(nt_actor_finish(&w), 0);
		NT_CHECK_EVENT(f.ev, 0, 0);
		got = nt_sched_get(nt_actor_tid(&w));
		if (nt_sched_matches(w.after, want) && nt_sched_matches(got, want))
			boosted++;
		else
			nt_diag("run %u: SET_PI(%u, %u) consumed, thread at %s",
				i, want.policy, want.prio,
				nt_sched_str(w.after, g, sizeof(g)));
	}
	nt_diag("boosted %u/100, drained %u/100", boosted, drained);
	NT_EXPECT_EQ(boosted, 100);
	NT_EXPECT_EQ(drained, 100);
	nt_actor_drain(&w, f.dev, f.idle);
	CHECK_ACTOR(&w, base);
}

NT_TEST_TIMEOUT(boost_on_fast_path_100_runs, 180)
{
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base;
	unsigned int boosted = 0, drained = 0;
	char g[64];

	fixture_init(&f, false);
	base = actor_with(&w, NT_OTHER(-3));
	for (unsigned int i = 0; i < 100; i++) {
		struct nt_sched want = { policy_of(i + 1), prio_of(i + 50),
					 NT_NICE_ANY };

		/* Signaled before the waiter arrives. */
		nt_set_pi(f.ev, want.policy, want.prio);
		NT_CHECK_EVENT(f.ev, 0, 1);
		consume(&f, &w);
		NT_CHECK_EVENT(f.ev, 0, 0);
		if (nt_sched_matches(w.after, want) &&
		    nt_sched_matches(nt_sched_get(nt_actor_tid(&w)), want))
			boosted++;
		else
			nt_diag("run %u: SET_PI(%u, %u) consumed, thread at %s",
				i, want.policy, want.prio,
				nt_sched_str(w.after, g, sizeof(g)));
		nt_actor_drain(&w, f.dev, f.idle);
		if (nt_sched_matches(w.after, base))
			drained++;
		else
			nt_diag("run %u: after the next wait at %s", i,
				nt_sched_str(w.after, g, sizeof(g)));
	}
	nt_diag("boosted %u/100, drained %u/100", boosted, drained);
	NT_EXPECT_EQ(boosted, 100);
	NT_EXPECT_EQ(drained, 100);
}

NT_TEST_TIMEOUT(wait_all_consumes_boost, 60)
{
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base;
	int sem, objs[2];

	fixture_init(&f, false);
	sem = nt_sem(f.dev, 1, 2);
	objs[0] = sem;
	objs[1] = f.ev;
	base = actor_with(&w, NT_OTHER(0));

	/* Blocked: the event is the missing object. */
	nt_actor_wait_start(&w, f.dev, true, objs, 2, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_set_pi(f.ev, SCHED_FIFO, 45);
	NT_ASSERT_EQ(nt_actor_finish(&w), 0);
	CHECK_ACTOR(&w, NT_FIFO(45));
	NT_CHECK_SEM(sem, 0, 2);
	NT_CHECK_EVENT(f.ev, 0, 0);

	/* A WAIT_ALL drains too. */
	NT_ASSERT_EQ(nt_actor_wait(&w, f.dev, true, &f.idle, 1, NT_WAIT_OWNER,
				   NT_NOW_DEADLINE), -ETIMEDOUT);
	CHECK_ACTOR(&w, base);

	/* Fast path: everything signaled before the wait. */
	nt_release(sem, 1);
	nt_set_pi(f.ev, SCHED_RR, 33);
	NT_ASSERT_EQ(nt_actor_wait(&w, f.dev, true, objs, 2, NT_WAIT_OWNER,
				   NTSYNC_TIMEOUT_INFINITE), 0);
	CHECK_ACTOR(&w, NT_RR(33));
	NT_CHECK_SEM(sem, 0, 2);
	NT_CHECK_EVENT(f.ev, 0, 0);
	nt_actor_drain(&w, f.dev, f.idle);
	CHECK_ACTOR(&w, base);
}

static void reset_cancels(bool manual)
{
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base;

	fixture_init(&f, manual);
	base = actor_with(&w, NT_OTHER(0));
	nt_set_pi(f.ev, SCHED_FIFO, 60);
	NT_EXPECT_EQ(nt_reset(f.ev), 1);
	NT_CHECK_EVENT(f.ev, manual, 0);
	nt_set(f.ev);
	consume(&f, &w);
	CHECK_ACTOR(&w, base);

	/* A new SET_PI after that is staged normally. */
	nt_reset(f.ev);
	nt_set_pi(f.ev, SCHED_FIFO, 61);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_FIFO(61));
}

NT_TEST_TIMEOUT(reset_cancels_staged_boost_auto, 60)
{
	reset_cancels(false);
}

NT_TEST_TIMEOUT(reset_cancels_staged_boost_manual, 60)
{
	reset_cancels(true);
}

static void pulse_cancels(bool manual)
{
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base;
	uint32_t prev = NT_POISON;

	fixture_init(&f, manual);
	base = actor_with(&w, NT_OTHER(1));
	nt_set_pi(f.ev, SCHED_RR, 70);
	NT_ASSERT_OK(ntsync_event_pulse(f.ev, &prev));
	NT_EXPECT_EQ(prev, 1);
	NT_CHECK_EVENT(f.ev, manual, 0);
	nt_set(f.ev);
	consume(&f, &w);
	CHECK_ACTOR(&w, base);

	/* A waiter woken by a plain pulse gets nothing either. */
	nt_reset(f.ev);
	nt_actor_wait_start(&w, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_OK(ntsync_event_pulse(f.ev, &prev));
	NT_ASSERT_EQ(nt_actor_finish(&w), 0);
	CHECK_ACTOR(&w, base);
}

NT_TEST_TIMEOUT(pulse_leaves_no_boost_auto, 60)
{
	pulse_cancels(false);
}

NT_TEST_TIMEOUT(pulse_leaves_no_boost_manual, 60)
{
	pulse_cancels(true);
}

NT_TEST_TIMEOUT(last_writer_wins, 60)
{
	struct fixture f;
	struct nt_actor w;

	fixture_init(&f, false);
	actor_with(&w, NT_OTHER(0));

	/* The last one is lower: it still wins. */
	nt_set_pi(f.ev, SCHED_FIFO, 70);
	nt_set_pi(f.ev, SCHED_FIFO, 30);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_FIFO(30));

	/* Policy included. */
	nt_set_pi(f.ev, SCHED_RR, 20);
	nt_set_pi(f.ev, SCHED_FIFO, 10);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_FIFO(10));

	/* And higher. */
	nt_set_pi(f.ev, SCHED_FIFO, 10);
	nt_set_pi(f.ev, SCHED_RR, 90);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_RR(90));
}

NT_TEST_TIMEOUT(plain_set_keeps_staged_boost, 60)
{
	struct fixture f;
	struct nt_actor w;

	fixture_init(&f, false);
	actor_with(&w, NT_OTHER(0));
	nt_set_pi(f.ev, SCHED_FIFO, 40);
	NT_EXPECT_EQ(nt_set(f.ev), 1);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_FIFO(40));

	/* prio 0 is a plain EVENT_SET: it does not replace either. */
	nt_set_pi(f.ev, SCHED_RR, 25);
	nt_set_pi(f.ev, SCHED_FIFO, 0);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_RR(25));
}

NT_TEST_TIMEOUT(prio_zero_is_plain_set, 60)
{
	static const uint32_t policies[] = { SCHED_FIFO, SCHED_RR, SCHED_OTHER,
					     12345, 0xFFFFFFFFu };
	struct fixture f;
	struct nt_actor w;
	struct nt_sched base;

	fixture_init(&f, false);
	base = actor_with(&w, NT_OTHER(4));
	for (unsigned int i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		/* Fast path. */
		NT_ASSERT_OK(ntsync_event_set_pi(f.ev, policies[i], 0));
		NT_CHECK_EVENT(f.ev, 0, 1);
		consume(&f, &w);
		CHECK_ACTOR(&w, base);
		/* Blocked waiter. */
		nt_actor_wait_start(&w, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
				    NTSYNC_TIMEOUT_INFINITE);
		NT_ASSERT_OK(ntsync_event_set_pi(f.ev, policies[i], 0));
		NT_ASSERT_EQ(nt_actor_finish(&w), 0);
		CHECK_ACTOR(&w, base);
		NT_CHECK_EVENT(f.ev, 0, 0);
	}
}

NT_TEST_TIMEOUT(one_shot_auto_event, 60)
{
	struct fixture f;
	struct nt_actor a, b;
	struct nt_sched base_a, base_b;

	fixture_init(&f, false);
	base_a = actor_with(&a, NT_OTHER(0));
	base_b = actor_with(&b, NT_OTHER(0));

	/* Two queued waiters; one SET_PI: the first queued takes it. */
	nt_actor_wait_start(&a, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&b, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_set_pi(f.ev, SCHED_FIFO, 50);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	CHECK_ACTOR(&a, NT_FIFO(50));
	NT_CHECK_EVENT(f.ev, 0, 0);
	nt_actor_wait_blocked(&b);
	/* The next signal is a plain one: no boost for b. */
	nt_set(f.ev);
	NT_ASSERT_EQ(nt_actor_finish(&b), 0);
	CHECK_ACTOR(&b, base_b);

	/* a's next consume of a plain signal drains it. */
	nt_set(f.ev);
	consume(&f, &a);
	CHECK_ACTOR(&a, base_a);
}

NT_TEST_TIMEOUT(manual_event_boosts_exactly_one, 60)
{
	struct fixture f;
	struct nt_actor a, b;
	struct nt_sched base;
	bool a_boosted, b_boosted;

	fixture_init(&f, true);
	base = actor_with(&a, NT_OTHER(0));
	actor_with(&b, NT_OTHER(0));

	/* Both queued, both woken: exactly one takes the boost. */
	nt_actor_wait_start(&a, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_actor_wait_start(&b, f.dev, false, &f.ev, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_set_pi(f.ev, SCHED_FIFO, 50);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_ASSERT_EQ(nt_actor_finish(&b), 0);
	NT_CHECK_EVENT(f.ev, 1, 1);
	a_boosted = nt_sched_matches(a.after, NT_FIFO(50));
	b_boosted = nt_sched_matches(b.after, NT_FIFO(50));
	NT_ASSERT_TRUE(a_boosted != b_boosted);
	NT_CHECK_SCHED_VAL(a_boosted ? b.after : a.after, base);
	/* The first queued one is the first to take it. */
	NT_EXPECT_TRUE(a_boosted);

	/* Fast path on a manual event: the first to come takes it, the
	 * event stays signaled, the second gets nothing. */
	nt_actor_drain(&a, f.dev, f.idle);
	nt_actor_drain(&b, f.dev, f.idle);
	nt_reset(f.ev);
	nt_set_pi(f.ev, SCHED_RR, 44);
	consume(&f, &b);
	CHECK_ACTOR(&b, NT_RR(44));
	consume(&f, &a);
	CHECK_ACTOR(&a, base);
	NT_CHECK_EVENT(f.ev, 1, 1);
}

static int other_ioctls(struct nt_actor *a, void *arg)
{
	int *objs = arg;
	uint32_t prev, s, m;
	int ret;

	(void)a;
	ret = ntsync_event_set(objs[0], &prev);
	if (ret == 0)
		ret = ntsync_event_reset(objs[0], &prev);
	if (ret == 0)
		ret = ntsync_event_read(objs[1], &s, &m);
	return ret;
}

NT_TEST_TIMEOUT(drain_restores_exact_attributes, 60)
{
	struct fixture f;
	struct nt_actor w, rt;
	struct nt_sched base, rt_base;
	int other, objs[2];

	fixture_init(&f, false);
	other = nt_event(f.dev, 0, 0);
	objs[0] = other;
	objs[1] = f.ev;
	base = actor_with(&w, NT_OTHER(7));
	rt_base = actor_with(&rt, NT_FIFO_N(10, 0));

	nt_set_pi(f.ev, SCHED_RR, 60);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_RR(60));
	/* Other ntsync calls are not waits: the boost stays. */
	NT_ASSERT_EQ(nt_actor_call(&w, other_ioctls, objs), 0);
	CHECK_ACTOR(&w, NT_RR(60));
	/* The next wait: back to SCHED_OTHER nice 7 while it blocks ... */
	nt_actor_wait_start(&w, f.dev, false, &f.idle, 1, NT_WAIT_OWNER,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&w), base);
	/* ... and after it (it consumed a plain signal). */
	nt_set(f.idle);
	NT_ASSERT_EQ(nt_actor_finish(&w), 0);
	CHECK_ACTOR(&w, base);

	/* An RT base comes back exactly too. */
	nt_set_pi(f.ev, SCHED_FIFO, 60);
	consume(&f, &rt);
	CHECK_ACTOR(&rt, NT_FIFO(60));
	nt_actor_drain(&rt, f.dev, f.idle);
	CHECK_ACTOR(&rt, rt_base);
}

/*
 * One base per task: an EVENT_SET_PI consumed while the task is boosted by
 * mutex PI; when the mutex goes the event boost remains, and the drain
 * returns the task to its own attributes, not to a boosted state.
 */
NT_TEST_TIMEOUT(one_base_with_mutex_pi, 60)
{
	struct fixture f;
	struct nt_actor owner, w80, w60;
	struct nt_sched base;
	int m;

	nt_pi_param_set(true);
	fixture_init(&f, false);
	m = nt_mutex(f.dev, 0, 0);
	base = actor_with(&owner, NT_OTHER(3));
	actor_with(&w80, NT_FIFO(80));
	actor_with(&w60, NT_FIFO(60));

	/* Mutex boost (80) above the event boost (40). */
	nt_actor_take(&owner, f.dev, m, 1);
	nt_actor_wait_start(&w80, f.dev, false, &m, 1, 2,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(80));
	nt_set_pi(f.ev, SCHED_FIFO, 40);
	consume(&f, &owner);
	CHECK_ACTOR(&owner, NT_FIFO(80));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	CHECK_ACTOR(&owner, NT_FIFO(40));
	NT_ASSERT_EQ(nt_actor_finish(&w80), 0);
	nt_actor_drain(&owner, f.dev, f.idle);
	CHECK_ACTOR(&owner, base);
	NT_ASSERT_EQ(nt_actor_unlock(&w80, m, 2), 0);

	/* Event boost (RR 90) above the mutex boost (60). */
	nt_actor_take(&owner, f.dev, m, 1);
	nt_actor_wait_start(&w60, f.dev, false, &m, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_actor_tid(&owner), NT_FIFO(60));
	nt_set_pi(f.ev, SCHED_RR, 90);
	consume(&f, &owner);
	CHECK_ACTOR(&owner, NT_RR(90));
	NT_ASSERT_EQ(nt_actor_unlock(&owner, m, 1), 0);
	CHECK_ACTOR(&owner, NT_RR(90));
	NT_ASSERT_EQ(nt_actor_finish(&w60), 0);
	nt_actor_drain(&owner, f.dev, f.idle);
	CHECK_ACTOR(&owner, base);
}

NT_TEST_TIMEOUT(invalid_arguments, 60)
{
	static const uint32_t bad_policies[] = { SCHED_OTHER, SCHED_BATCH,
						 SCHED_IDLE, 6, 7, 0xFFFFFFFFu };
	struct fixture f;
	struct nt_actor w;
	int sem, mutex;

	fixture_init(&f, false);
	sem = nt_sem(f.dev, 0, 2);
	mutex = nt_mutex(f.dev, 0, 0);
	actor_with(&w, NT_OTHER(0));

	/* flags and __pad must be 0, whatever prio says. */
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 1, SCHED_FIFO, 10, 0), EINVAL);
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 0x80000000u, SCHED_FIFO, 10, 0), EINVAL);
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 1, SCHED_FIFO, 0, 0), EINVAL);
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 0, SCHED_FIFO, 10, 1), EINVAL);
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 0, SCHED_FIFO, 0, 0x100), EINVAL);
	/* A non-zero prio needs SCHED_FIFO/SCHED_RR and 1..99. */
	for (unsigned int i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++)
		NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 0, bad_policies[i], 5, 0),
				EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(f.ev, SCHED_FIFO, 100), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(f.ev, SCHED_RR, 100), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(f.ev, SCHED_FIFO, 0xFFFFFFFFu), EINVAL);
	/* Wrong object types. */
	NT_EXPECT_ERRNO(ntsync_event_set_pi(sem, SCHED_FIFO, 10), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(mutex, SCHED_FIFO, 10), EINVAL);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(sem, SCHED_FIFO, 0), EINVAL);
	/* Unreadable argument. */
	NT_EXPECT_ERRNO(nt_ioctl(f.ev, NTSYNC_IOC_EVENT_SET_PI, nt_bad_ptr()),
			EFAULT);

	/* No failed call signaled or changed anything. */
	NT_CHECK_EVENT(f.ev, 0, 0);
	NT_CHECK_SEM(sem, 0, 2);
	NT_CHECK_MUTEX(mutex, 0, 0);

	/* Nor did it replace a staged boost. */
	nt_set_pi(f.ev, SCHED_FIFO, 30);
	NT_EXPECT_ERRNO(ntsync_event_set_pi(f.ev, SCHED_FIFO, 100), EINVAL);
	NT_EXPECT_ERRNO(nt_set_pi_raw(f.ev, 1, SCHED_RR, 90, 0), EINVAL);
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_FIFO(30));

	/* The limits themselves are valid. */
	NT_EXPECT_OK(ntsync_event_set_pi(f.ev, SCHED_FIFO, 1));
	NT_EXPECT_OK(ntsync_event_set_pi(f.ev, SCHED_RR, 99));
	consume(&f, &w);
	CHECK_ACTOR(&w, NT_RR(99));
	nt_actor_drain(&w, f.dev, f.idle);
}
