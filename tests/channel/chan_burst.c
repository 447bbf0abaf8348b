// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bursts: N requests pending at once (N senders asleep in SEND_PI) are
 * drained with TRY_RECV2 in priority-then-arrival order, then TRY_RECV2
 * gets EAGAIN.  The drainer runs at the priority of the request it took
 * last.  Only pending requests count against max_depth: requests taken but
 * not yet replied to leave room for new ones.
 */
#include <stdlib.h>
#include <unistd.h>

#include "nt_chan.h"

#define BURST	32

struct burst {
	int dev, ch;
	struct nt_chan_actor *s;
	uint32_t *prio, *policy;
	unsigned int n;
};

static void burst_init(struct burst *b, unsigned int n, uint32_t depth)
{
	b->dev = nt_dev();
	b->ch = nt_channel(b->dev, depth);
	b->n = n;
	b->s = calloc(n, sizeof(*b->s));
	b->prio = calloc(n, sizeof(*b->prio));
	b->policy = calloc(n, sizeof(*b->policy));
	NT_ASSERT_TRUE(b->s && b->prio && b->policy);
	for (unsigned int i = 0; i < n; i++)
		nt_ca_start(&b->s[i], b->ch, NT_OTHER(0));
}

static void burst_free(struct burst *b)
{
	for (unsigned int i = 0; i < b->n; i++)
		nt_ca_stop(&b->s[i]);
	free(b->s);
	free(b->prio);
	free(b->policy);
	close(b->ch);
	close(b->dev);
}

static uint64_t payload_of(unsigned int i)
{
	return 0xb0b0000000000000ull + i;
}

/* Queue senders [from, to) with random priorities (a few equal ones and
 * some prio 0); each is asleep in SEND_PI before the next one starts. */
static void queue_senders(struct burst *b, unsigned int from, unsigned int to,
			  uint32_t *seed)
{
	for (unsigned int i = from; i < to; i++) {
		uint32_t r = nt_rand(seed);

		b->prio[i] = r % 5 == 0 ? 0 : 1 + (r >> 8) % 12 * 8;
		b->policy[i] = r & 0x10000 ? SCHED_RR : SCHED_FIFO;
		nt_ca_send_start(&b->s[i], b->policy[i], b->prio[i],
				 payload_of(i));
	}
}

/* The best of the pending senders [from, to) not yet taken. */
static unsigned int best_pending(const struct burst *b, const bool *taken,
				 unsigned int from, unsigned int to)
{
	unsigned int best = to;

	for (unsigned int i = from; i < to; i++) {
		if (taken[i])
			continue;
		if (best == to || b->prio[i] > b->prio[best])
			best = i;
	}
	return best;
}

/* Take @count requests with TRY_RECV2 out of senders [from, to) and check
 * the order; their entry ids go to ids[sender]. */
static void drain(struct burst *b, bool *taken, uint64_t *ids,
		  unsigned int from, unsigned int to, unsigned int count)
{
	struct ntsync_channel_recv2_args msg;

	for (unsigned int k = 0; k < count; k++) {
		unsigned int want = best_pending(b, taken, from, to);

		NT_ASSERT_LT(want, to);
		NT_ASSERT_OK(nt_chan_recv(b->ch, NT_TRY_RECV2, &msg));
		if (msg.payload_off != payload_of(want))
			NT_FAIL("drain #%u: got request 0x%llx, expected sender %u (prio %u)",
				k, (unsigned long long)msg.payload_off, want,
				b->prio[want]);
		NT_CHECK_MSG(&msg, nt_ca_tid(&b->s[want]), b->prio[want],
			     payload_of(want));
		NT_CHECK_SCHED(gettid(), nt_served_sched(NT_OTHER(0),
							 b->policy[want],
							 b->prio[want]));
		taken[want] = true;
		ids[want] = msg.entry_id;
	}
}

static void reply_all(struct burst *b, const uint64_t *ids, unsigned int from,
		      unsigned int to)
{
	for (unsigned int i = from; i < to; i++) {
		NT_ASSERT_OK(ntsync_channel_reply(b->ch, ids[i]));
		NT_ASSERT_EQ(nt_ca_finish(&b->s[i]), 0);
	}
	/* The REPLY ends the drainer's boost. */
	NT_CHECK_SCHED(gettid(), NT_OTHER(0));
}

NT_TEST_TIMEOUT(burst_drain_in_order, 60)
{
	struct ntsync_channel_recv2_args msg;
	bool taken[BURST] = { false };
	uint64_t ids[BURST];
	uint32_t seed = 0xb0b5;
	struct burst b;

	burst_init(&b, BURST, BURST);
	queue_senders(&b, 0, BURST, &seed);
	/* Full: max_depth pending. */
	NT_CHECK_FULL(b.ch);
	drain(&b, taken, ids, 0, BURST, BURST);
	NT_ASSERT_ERRNO(nt_chan_recv(b.ch, NT_TRY_RECV2, &msg), EAGAIN);
	reply_all(&b, ids, 0, BURST);
	/* Everything went back: exactly max_depth places again. */
	NT_CHECK_ROOM(b.ch, BURST);
	burst_free(&b);
}

/* Taken but unreplied requests do not count against max_depth. */
NT_TEST_TIMEOUT(received_requests_free_places, 60)
{
	struct ntsync_channel_recv2_args msg;
	bool taken[3 * 8] = { false };
	uint64_t ids[3 * 8];
	uint32_t seed = 0x5eed;
	struct burst b;

	burst_init(&b, 3 * 8, 8);
	queue_senders(&b, 0, 8, &seed);
	NT_CHECK_FULL(b.ch);
	/* Take 5 (not replied): 5 places free again, exactly. */
	drain(&b, taken, ids, 0, 8, 5);
	queue_senders(&b, 8, 13, &seed);
	NT_CHECK_FULL(b.ch);
	/* Take all 8 pending (3 old, 5 new) in one order. */
	drain(&b, taken, ids, 0, 13, 8);
	NT_ASSERT_ERRNO(nt_chan_recv(b.ch, NT_TRY_RECV2, &msg), EAGAIN);
	/* 13 taken, none replied: still room for max_depth. */
	queue_senders(&b, 13, 21, &seed);
	NT_CHECK_FULL(b.ch);
	drain(&b, taken, ids, 13, 21, 8);
	NT_ASSERT_ERRNO(nt_chan_recv(b.ch, NT_TRY_RECV2, &msg), EAGAIN);
	reply_all(&b, ids, 0, 21);
	NT_CHECK_ROOM(b.ch, 8);
	burst_free(&b);
}

/* The spec's dispatcher: one blocking RECV2 for the first request of a
 * burst, TRY_RECV2 for the rest; several bursts in a row. */
NT_TEST_TIMEOUT(dispatcher_bursts, 60)
{
	struct nt_chan_actor r;
	uint32_t seed = 0xd15;
	struct burst b;

	burst_init(&b, 12, 12);
	nt_ca_start(&r, b.ch, NT_OTHER(0));
	for (unsigned int round = 0; round < 4; round++) {
		bool taken[12] = { false };
		uint64_t ids[12];
		unsigned int first;

		/* The dispatcher waits; the first sender hands it the first
		 * request directly, the others queue behind. */
		nt_ca_recv_start(&r, NT_RECV2);
		queue_senders(&b, 0, 12, &seed);
		NT_ASSERT_EQ(nt_ca_finish(&r), 0);
		NT_CHECK_MSG(&r.msg, nt_ca_tid(&b.s[0]), b.prio[0],
			     payload_of(0));
		taken[0] = true;
		ids[0] = r.msg.entry_id;
		for (unsigned int k = 1; k < 12; k++) {
			first = best_pending(&b, taken, 0, 12);
			NT_ASSERT_EQ(nt_ca_recv(&r, NT_TRY_RECV2), 0);
			NT_CHECK_MSG(&r.msg, nt_ca_tid(&b.s[first]),
				     b.prio[first], payload_of(first));
			NT_CHECK_SCHED_VAL(r.a.after,
					   nt_served_sched(NT_OTHER(0),
							   b.policy[first],
							   b.prio[first]));
			taken[first] = true;
			ids[first] = r.msg.entry_id;
		}
		NT_ASSERT_ERRNO(nt_ca_recv(&r, NT_TRY_RECV2), EAGAIN);
		for (unsigned int i = 0; i < 12; i++) {
			NT_ASSERT_EQ(nt_ca_reply(&r, ids[i]), 0);
			NT_ASSERT_EQ(nt_ca_finish(&b.s[i]), 0);
		}
		NT_CHECK_SCHED_VAL(r.a.after, NT_OTHER(0));
	}
	nt_ca_stop(&r);
	burst_free(&b);
}
