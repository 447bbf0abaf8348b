// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive order: the highest prio pending request first, the oldest first
 * within one prio, prio 0 after every prioritised request.  Senders at
 * distinct priorities (plus repeated ones and prio 0) queue one after the
 * other (each is asleep in SEND_PI before the next starts, so the arrival
 * order is known); then the test receives them all, with RECV, RECV2 and
 * TRY_RECV2, and checks every field of every message, the receiver's
 * priority while it serves each one, and unique entry ids.
 */
#include <stdlib.h>
#include <unistd.h>

#include "nt_chan.h"

struct req {
	uint32_t policy;
	uint32_t prio;
};

/* Arrival order: prio 0 first and in the middle, two requests at 50. */
static const struct req mixed[] = {
	{ SCHED_OTHER, 0 }, { SCHED_FIFO, 50 }, { SCHED_FIFO, 10 },
	{ SCHED_RR, 90 }, { SCHED_FIFO, 0 }, { SCHED_FIFO, 30 },
	{ SCHED_RR, 50 }, { SCHED_FIFO, 70 },
};
#define N_MIXED (sizeof(mixed) / sizeof(mixed[0]))

/* Positions of @reqs in expected receive order: prio desc, stable. */
static void expected_order(const struct req *reqs, unsigned int n,
			   unsigned int *order)
{
	for (unsigned int i = 0; i < n; i++)
		order[i] = i;
	for (unsigned int i = 1; i < n; i++) {
		unsigned int cur = order[i], j = i;

		while (j > 0 && reqs[order[j - 1]].prio < reqs[cur].prio) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = cur;
	}
}

static uint64_t payload_of(unsigned int i)
{
	/* High bits set: a 32-bit build must carry all 64. */
	return 0xfeed000000000000ull | ((uint64_t)i << 20) | 0xabc;
}

/* Receive the @n queued requests of @s with @kind and check each. */
static void receive_in_order(int ch, enum nt_recv_kind kind,
			     struct nt_chan_actor *s, const struct req *reqs,
			     unsigned int n)
{
	struct ntsync_channel_recv2_args msg;
	unsigned int order[16];
	uint64_t ids[16];

	expected_order(reqs, n, order);
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = order[k];

		NT_ASSERT_OK(nt_chan_recv(ch, kind, &msg));
		if (msg.payload_off != payload_of(i))
			NT_FAIL("%s #%u returned request %llx, expected request %u (prio %u)",
				nt_recv_kind_name(kind), k,
				(unsigned long long)msg.payload_off, i,
				reqs[i].prio);
		NT_CHECK_MSG(&msg, nt_ca_tid(&s[i]), reqs[i].prio,
			     payload_of(i));
		if (kind != NT_RECV)
			NT_EXPECT_EQ(msg.thread_token, 0u);
		/* Served at the request's priority. */
		NT_CHECK_SCHED(gettid(), nt_served_sched(NT_OTHER(0),
							 reqs[i].policy,
							 reqs[i].prio));
		ids[k] = msg.entry_id;
		for (unsigned int j = 0; j < k; j++)
			NT_ASSERT_NE(ids[j], ids[k]);
		NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
		NT_CHECK_SCHED(gettid(), NT_OTHER(0));
		NT_ASSERT_EQ(nt_ca_finish(&s[i]), 0);
	}
	NT_ASSERT_ERRNO(nt_chan_recv(ch, NT_TRY_RECV2, &msg), EAGAIN);
}

static void order_test(enum nt_recv_kind kind)
{
	struct nt_chan_actor s[N_MIXED];
	int dev = nt_dev();
	int ch = nt_channel(dev, N_MIXED);

	for (unsigned int i = 0; i < N_MIXED; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		nt_ca_send_start(&s[i], mixed[i].policy, mixed[i].prio,
				 payload_of(i));
	}
	receive_in_order(ch, kind, s, mixed, N_MIXED);
	for (unsigned int i = 0; i < N_MIXED; i++)
		nt_ca_stop(&s[i]);
	close(ch);
	close(dev);
}

NT_TEST(order_recv)
{
	order_test(NT_RECV);
}

NT_TEST(order_recv2)
{
	order_test(NT_RECV2);
}

NT_TEST(order_try_recv2)
{
	order_test(NT_TRY_RECV2);
}

/* Five distinct priorities queued lowest first, then highest first. */
NT_TEST(order_ascending_descending)
{
	static const struct req up[] = {
		{ SCHED_FIFO, 1 }, { SCHED_FIFO, 20 }, { SCHED_RR, 40 },
		{ SCHED_FIFO, 60 }, { SCHED_FIFO, 99 },
	};
	static const struct req down[] = {
		{ SCHED_FIFO, 99 }, { SCHED_RR, 60 }, { SCHED_FIFO, 40 },
		{ SCHED_FIFO, 20 }, { SCHED_FIFO, 1 },
	};
	const struct req *sets[2] = { up, down };
	struct nt_chan_actor s[5];
	int dev = nt_dev();
	int ch = nt_channel(dev, 5);

	for (unsigned int i = 0; i < 5; i++)
		nt_ca_start(&s[i], ch, NT_OTHER(0));
	for (unsigned int set = 0; set < 2; set++) {
		for (unsigned int i = 0; i < 5; i++)
			nt_ca_send_start(&s[i], sets[set][i].policy,
					 sets[set][i].prio, payload_of(i));
		receive_in_order(ch, set ? NT_RECV2 : NT_RECV, s, sets[set],
				 5);
	}
	for (unsigned int i = 0; i < 5; i++)
		nt_ca_stop(&s[i]);
	close(ch);
	close(dev);
}

/* Requests that arrive between receives take their place in the order. */
NT_TEST(order_with_late_arrivals)
{
	static const struct req reqs[] = {
		{ SCHED_FIFO, 10 }, { SCHED_FIFO, 50 }, { SCHED_FIFO, 30 },
		/* After the first receive: */
		{ SCHED_FIFO, 40 }, { SCHED_RR, 50 }, { SCHED_FIFO, 0 },
		{ SCHED_FIFO, 99 },
	};
	/* 50, then (arrivals) 99, 50', 40, 30, 10, 0 */
	static const unsigned int want[] = { 1, 6, 4, 3, 2, 0, 5 };
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor s[7];
	int dev = nt_dev();
	int ch = nt_channel(dev, 8);

	for (unsigned int i = 0; i < 7; i++)
		nt_ca_start(&s[i], ch, NT_OTHER(0));
	for (unsigned int i = 0; i < 3; i++)
		nt_ca_send_start(&s[i], reqs[i].policy, reqs[i].prio,
				 payload_of(i));
	for (unsigned int k = 0; k < 7; k++) {
		unsigned int i = want[k];

		NT_ASSERT_OK(nt_chan_recv(ch, NT_RECV2, &msg));
		NT_CHECK_MSG(&msg, nt_ca_tid(&s[i]), reqs[i].prio,
			     payload_of(i));
		NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
		NT_ASSERT_EQ(nt_ca_finish(&s[i]), 0);
		if (k == 0) {
			for (unsigned int j = 3; j < 7; j++)
				nt_ca_send_start(&s[j], reqs[j].policy,
						 reqs[j].prio, payload_of(j));
		}
	}
	NT_ASSERT_ERRNO(nt_chan_recv(ch, NT_TRY_RECV2, &msg), EAGAIN);
	for (unsigned int i = 0; i < 7; i++)
		nt_ca_stop(&s[i]);
	close(ch);
	close(dev);
}

/* Receiving does not depend on who receives: two receiving threads take
 * turns and still see one global order. */
NT_TEST(order_across_receivers)
{
	struct ntsync_channel_recv2_args *msg;
	struct nt_chan_actor s[N_MIXED], r[2];
	unsigned int order[N_MIXED];
	int dev = nt_dev();
	int ch = nt_channel(dev, N_MIXED);

	expected_order(mixed, N_MIXED, order);
	for (unsigned int i = 0; i < N_MIXED; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		nt_ca_send_start(&s[i], mixed[i].policy, mixed[i].prio,
				 payload_of(i));
	}
	nt_ca_start(&r[0], ch, NT_OTHER(0));
	nt_ca_start(&r[1], ch, NT_OTHER(3));
	for (unsigned int k = 0; k < N_MIXED; k++) {
		struct nt_chan_actor *rc = &r[k % 2];
		unsigned int i = order[k];

		NT_ASSERT_EQ(nt_ca_recv(rc, k % 3 ? NT_RECV2 : NT_RECV), 0);
		msg = &rc->msg;
		NT_CHECK_MSG(msg, nt_ca_tid(&s[i]), mixed[i].prio,
			     payload_of(i));
		NT_CHECK_SCHED_VAL(rc->a.after,
				   nt_served_sched(NT_OTHER(k % 2 ? 3 : 0),
						   mixed[i].policy,
						   mixed[i].prio));
		NT_ASSERT_EQ(nt_ca_reply(rc, msg->entry_id), 0);
		NT_CHECK_SCHED_VAL(rc->a.after, NT_OTHER(k % 2 ? 3 : 0));
		NT_ASSERT_EQ(nt_ca_finish(&s[i]), 0);
	}
	for (unsigned int i = 0; i < N_MIXED; i++)
		nt_ca_stop(&s[i]);
	nt_ca_stop(&r[0]);
	nt_ca_stop(&r[1]);
	close(ch);
	close(dev);
}
