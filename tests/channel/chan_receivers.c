// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parked receivers: a new request goes straight to the best parked
 * receiver (by the receiver's priority, then arrival), which alone is
 * woken, and that receiver is the one the SEND_PI boosts.
 *
 * "Woken alone" is checked through the voluntary context switch count of
 * every other parked receiver (/proc/self/task/<tid>/status): a receiver
 * that was woken and went back to sleep has a higher count, one that was
 * never woken keeps it.  The counts are compared after the SEND_PI has
 * returned, when every wake-up it caused has happened.
 */
#include <unistd.h>

#include "nt_chan.h"

#define N_RECV	3
#define ROUNDS	100

/* Park @r (in order) on RECV2. */
static void park_all(struct nt_chan_actor *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		nt_ca_recv_start(&r[i], NT_RECV2);
}

/* Exactly receiver @want of @r[n] returned; every other one is still
 * asleep in its receive and was not woken since @nvcsw was taken. */
static void check_only(struct nt_chan_actor *r, unsigned int n,
		       unsigned int want, const uint64_t *nvcsw)
{
	struct nt_actor *a[8];
	unsigned int first;

	for (unsigned int i = 0; i < n; i++)
		a[i] = &r[i].a;
	first = nt_actors_first_idle(a, n);
	if (first != want)
		NT_FAIL("receiver %u (tid %d) got the request, expected receiver %u (tid %d)",
			first, (int)nt_ca_tid(&r[first]), want,
			(int)nt_ca_tid(&r[want]));
	for (unsigned int i = 0; i < n; i++) {
		if (i == want)
			continue;
		NT_ASSERT_FALSE(nt_ca_idle(&r[i]));
		NT_ASSERT_TRUE(nt_is_blocked(nt_ca_tid(&r[i])));
		if (nvcsw && nt_task_nvcsw(nt_ca_tid(&r[i])) != nvcsw[i])
			NT_FAIL("receiver %u (tid %d) was woken by a request that went to receiver %u",
				i, (int)nt_ca_tid(&r[i]), want);
	}
}

static void snapshot_nvcsw(struct nt_chan_actor *r, unsigned int n,
			   uint64_t *nvcsw)
{
	for (unsigned int i = 0; i < n; i++)
		nvcsw[i] = nt_task_nvcsw(nt_ca_tid(&r[i]));
}

/* Which of two receivers returns first: 0 for @x, 1 for @y. */
static unsigned int first_of(struct nt_chan_actor *x, struct nt_chan_actor *y)
{
	struct nt_actor *a[2] = { &x->a, &y->a };

	return nt_actors_first_idle(a, 2);
}

/*
 * Parked receivers with these bases, parked in this order, get one
 * request each (prio 0: no boost) in the order @want.
 */
static void dispatch_order(const struct nt_sched *bases, unsigned int n,
			   const unsigned int *want)
{
	struct nt_chan_actor r[8], s;
	uint64_t nvcsw[8];
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	bool served[8] = { false };

	for (unsigned int i = 0; i < n; i++)
		nt_ca_start(&r[i], ch, bases[i]);
	nt_ca_start(&s, ch, NT_OTHER(0));
	park_all(r, n);
	for (unsigned int k = 0; k < n; k++) {
		struct nt_chan_actor *left[8];
		unsigned int map[8], m = 0, w = 0;
		uint64_t left_nvcsw[8];

		snapshot_nvcsw(r, n, nvcsw);
		nt_ca_send_start(&s, 0, 0, 0x100 + k);
		/* Among the receivers still parked, only want[k] returns. */
		for (unsigned int i = 0; i < n; i++) {
			if (served[i])
				continue;
			if (i == want[k])
				w = m;
			left[m] = &r[i];
			left_nvcsw[m] = nvcsw[i];
			map[m++] = i;
		}
		NT_ASSERT_EQ(nt_ca_finish(&r[want[k]]), 0);
		NT_CHECK_MSG(&r[want[k]].msg, nt_ca_tid(&s), 0, 0x100 + k);
		NT_ASSERT_EQ(nt_ca_reply(&r[want[k]], r[want[k]].msg.entry_id),
			     0);
		NT_ASSERT_EQ(nt_ca_finish(&s), 0);
		served[want[k]] = true;
		for (unsigned int j = 0; j < m; j++) {
			if (j == w)
				continue;
			if (nt_ca_idle(left[j]))
				NT_FAIL("receiver %u returned (%d) although request %u went to receiver %u",
					map[j], left[j]->a.ret, k, want[k]);
			if (nt_task_nvcsw(nt_ca_tid(left[j])) != left_nvcsw[j])
				NT_FAIL("receiver %u was woken by request %u, which went to receiver %u",
					map[j], k, want[k]);
		}
	}
	for (unsigned int i = 0; i < n; i++)
		nt_ca_stop(&r[i]);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

NT_TEST(parked_same_priority_fifo)
{
	static const struct nt_sched bases[4] = {
		NT_OTHER(0), NT_OTHER(0), NT_OTHER(0), NT_OTHER(0),
	};
	static const unsigned int want[4] = { 0, 1, 2, 3 };

	dispatch_order(bases, 4, want);
}

NT_TEST(parked_by_priority_then_arrival)
{
	static const struct nt_sched bases[5] = {
		NT_OTHER(0), NT_FIFO_N(10, 0), NT_FIFO_N(20, 0), NT_OTHER(0),
		NT_FIFO_N(10, 0),
	};
	/* FIFO 20, the FIFO 10s by arrival, the others by arrival. */
	static const unsigned int want[5] = { 2, 1, 4, 0, 3 };

	dispatch_order(bases, 5, want);
}

/*
 * The receiver's priority counts, not what it ran at before parking: a
 * receiver that still served a FIFO 60 request (no REPLY) when it called
 * RECV2 again waits at its own priority (the park ends the boost), so it
 * ranks by that, behind an equal receiver that parked before it.
 */
NT_TEST(parked_rank_after_drain)
{
	struct nt_chan_actor a, b, s1, s2;
	struct ntsync_channel_recv2_args first;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	uint64_t nvcsw_a;

	nt_ca_start(&a, ch, NT_OTHER(0));
	nt_ca_start(&b, ch, NT_OTHER(0));
	nt_ca_start(&s1, ch, NT_OTHER(0));
	nt_ca_start(&s2, ch, NT_OTHER(0));

	/* a serves a FIFO 60 request and does not reply yet. */
	nt_ca_send_start(&s1, SCHED_FIFO, 60, 0x60);
	NT_ASSERT_EQ(nt_ca_recv(&a, NT_RECV2), 0);
	first = a.msg;
	NT_CHECK_SCHED(nt_ca_tid(&a), NT_FIFO(60));

	/* b parks first, then a (drained while parked). */
	nt_ca_recv_start(&b, NT_RECV2);
	nt_ca_recv_start(&a, NT_RECV2);
	NT_CHECK_SCHED(nt_ca_tid(&a), NT_OTHER(0));
	nvcsw_a = nt_task_nvcsw(nt_ca_tid(&a));

	/* Equal priorities: the earlier one, b, gets the next request. */
	nt_ca_send_start(&s2, 0, 0, 0x0);
	if (first_of(&b, &a) != 0)
		NT_FAIL("the receiver that parked last (at its own priority, after serving a FIFO 60 request) got the request before the one that parked first");
	NT_ASSERT_EQ(nt_ca_finish(&b), 0);
	NT_CHECK_MSG(&b.msg, nt_ca_tid(&s2), 0, 0x0);
	NT_ASSERT_EQ(nt_ca_reply(&b, b.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s2), 0);
	NT_ASSERT_FALSE(nt_ca_idle(&a));
	NT_ASSERT_EQ(nt_task_nvcsw(nt_ca_tid(&a)), nvcsw_a);

	/* Let a go: one more request, then reply to both. */
	nt_ca_send_start(&s2, 0, 0, 0x1);
	NT_ASSERT_EQ(nt_ca_finish(&a), 0);
	NT_ASSERT_EQ(nt_ca_reply(&a, a.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s2), 0);
	NT_ASSERT_EQ(nt_ca_reply(&a, first.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s1), 0);
	nt_ca_stop(&a);
	nt_ca_stop(&b);
	nt_ca_stop(&s1);
	nt_ca_stop(&s2);
	close(ch);
	close(dev);
}

/*
 * A parked receiver whose priority changes while it waits (sched_setattr)
 * ranks by its new priority (design brief: a waiter whose priority changes
 * while queued is re-sorted).
 */
NT_TEST(parked_rank_follows_setattr)
{
	struct nt_chan_actor r[2], s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	nt_ca_start(&r[0], ch, NT_OTHER(0));
	nt_ca_start(&r[1], ch, NT_OTHER(0));
	nt_ca_start(&s, ch, NT_OTHER(0));
	park_all(r, 2);
	nt_sched_set(nt_ca_tid(&r[1]), NT_FIFO_N(15, 0));

	nt_ca_send_start(&s, 0, 0, 0x15);
	if (first_of(&r[1], &r[0]) != 0)
		NT_FAIL("a parked receiver raised to FIFO 15 while waiting was passed over for an earlier SCHED_OTHER one");
	NT_ASSERT_EQ(nt_ca_finish(&r[1]), 0);
	NT_ASSERT_EQ(nt_ca_reply(&r[1], r[1].msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	NT_ASSERT_FALSE(nt_ca_idle(&r[0]));

	nt_ca_send_start(&s, 0, 0, 0x16);
	NT_ASSERT_EQ(nt_ca_finish(&r[0]), 0);
	NT_ASSERT_EQ(nt_ca_reply(&r[0], r[0].msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	nt_ca_stop(&r[0]);
	nt_ca_stop(&r[1]);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

/*
 * The spec's exclusive receive: 3 parked receivers, 100 requests one at a
 * time at varying priorities.  Each request wakes exactly one receiver (the
 * longest parked: equal priorities), the other two stay asleep and are not
 * woken; the receiver that got the request is the one running at its
 * priority (checked from outside while the sender still waits) and the
 * others are at their base; after the REPLY everybody is at the base.
 */
NT_TEST_TIMEOUT(exclusive_receive_100, 60)
{
	struct nt_chan_actor r[N_RECV], s;
	uint64_t nvcsw[N_RECV];
	uint32_t seed = 0xc0ffee;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	unsigned int queue[N_RECV], boosted = 0;

	for (unsigned int i = 0; i < N_RECV; i++) {
		nt_ca_start(&r[i], ch, NT_OTHER(0));
		queue[i] = i;
	}
	nt_ca_start(&s, ch, NT_OTHER(0));
	park_all(r, N_RECV);

	for (unsigned int round = 0; round < ROUNDS; round++) {
		uint32_t prio = round % 10 == 9 ? 0 : 1 + nt_rand(&seed) % 99;
		uint32_t policy = nt_rand(&seed) & 1 ? SCHED_FIFO : SCHED_RR;
		unsigned int want = queue[0];
		uint64_t payload = 0xe0000000ull + round;
		struct nt_sched served = nt_served_sched(NT_OTHER(0), policy,
							 prio);

		snapshot_nvcsw(r, N_RECV, nvcsw);
		nt_ca_send_start(&s, policy, prio, payload);
		/* Boosted: only the receiver that gets it, before it runs. */
		for (unsigned int i = 0; i < N_RECV; i++)
			NT_CHECK_SCHED(nt_ca_tid(&r[i]),
				       i == want ? served : NT_OTHER(0));
		check_only(r, N_RECV, want, NULL);
		NT_ASSERT_EQ(r[want].a.ret, 0);
		NT_CHECK_MSG(&r[want].msg, nt_ca_tid(&s), prio, payload);
		NT_CHECK_SCHED_VAL(r[want].a.after, served);
		if (prio)
			boosted++;

		NT_ASSERT_EQ(nt_ca_reply(&r[want], r[want].msg.entry_id), 0);
		NT_CHECK_SCHED_VAL(r[want].a.after, NT_OTHER(0));
		NT_ASSERT_EQ(nt_ca_finish(&s), 0);
		/* The send is over: nobody woken but want, nobody boosted. */
		check_only(r, N_RECV, want, nvcsw);
		for (unsigned int i = 0; i < N_RECV; i++)
			NT_CHECK_SCHED(nt_ca_tid(&r[i]), NT_OTHER(0));

		/* Back to the end of the line. */
		nt_ca_recv_start(&r[want], NT_RECV2);
		queue[0] = queue[1];
		queue[1] = queue[2];
		queue[2] = want;
	}
	nt_diag("%u requests, %u with a boost, each to exactly one receiver",
		ROUNDS, boosted);
	for (unsigned int i = 0; i < N_RECV; i++) {
		nt_ca_send_start(&s, 0, 0, 0xdead0000 + i);
		NT_ASSERT_EQ(nt_ca_finish(&r[queue[i]]), 0);
		NT_ASSERT_EQ(nt_ca_reply(&r[queue[i]], r[queue[i]].msg.entry_id),
			     0);
		NT_ASSERT_EQ(nt_ca_finish(&s), 0);
		nt_ca_stop(&r[queue[i]]);
	}
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}
