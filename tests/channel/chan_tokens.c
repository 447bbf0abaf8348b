// SPDX-License-Identifier: GPL-2.0-only
/*
 * Thread tokens: RECV2 and TRY_RECV2 return the token registered for the
 * sender's tid at receive time (0 if none).  A registration inserts or
 * replaces; a deregistration removes, and is idempotent: deregistering a
 * tid that is not registered (never, no more, or only on another channel)
 * succeeds and changes nothing (every other registration still gives its
 * token, the channel_registrations gauge does not move).  Tokens are full
 * 64-bit values, tids that share a hash bucket do not mix, a token
 * registered after the send but before the receive counts, and RECV (the
 * first version) has no token field.
 */
#include <unistd.h>

#include "nt_chan.h"

struct setup {
	int dev, ch;
	struct nt_chan_actor s;
	uint32_t tid;
};

static void setup(struct setup *t)
{
	t->dev = nt_dev();
	t->ch = nt_channel(t->dev, 4);
	nt_ca_start(&t->s, t->ch, NT_OTHER(0));
	t->tid = (uint32_t)nt_ca_tid(&t->s);
}

static void teardown(struct setup *t)
{
	nt_ca_stop(&t->s);
	close(t->ch);
	close(t->dev);
}

/* One request of the sender, received with @kind: its token. */
static uint64_t token_of_next(struct setup *t, enum nt_recv_kind kind)
{
	return nt_ca_token_of_next(&t->s, kind, 0x70c);
}

NT_TEST(register_replace_deregister)
{
	static const enum nt_recv_kind kinds[2] = { NT_RECV2, NT_TRY_RECV2 };
	struct setup t;

	setup(&t);
	for (unsigned int k = 0; k < 2; k++) {
		enum nt_recv_kind kind = kinds[k];

		NT_EXPECT_EQ(token_of_next(&t, kind), 0u);
		NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid,
							    0x1111222233334444ull));
		NT_EXPECT_EQ(token_of_next(&t, kind), 0x1111222233334444ull);
		NT_EXPECT_EQ(token_of_next(&t, kind), 0x1111222233334444ull);
		/* Register again: replaced. */
		NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid,
							    0xfedcba9876543210ull));
		NT_EXPECT_EQ(token_of_next(&t, kind), 0xfedcba9876543210ull);
		/* Token 0 is a value like any other. */
		NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid, 0));
		NT_EXPECT_EQ(token_of_next(&t, kind), 0u);
		NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid,
							    UINT64_MAX));
		NT_EXPECT_EQ(token_of_next(&t, kind), UINT64_MAX);
		/* Gone after deregistration; doing it again is no error. */
		NT_ASSERT_OK(ntsync_channel_deregister_thread(t.ch, t.tid));
		NT_EXPECT_EQ(token_of_next(&t, kind), 0u);
		NT_EXPECT_EQ(ntsync_channel_deregister_thread(t.ch, t.tid), 0);
		NT_EXPECT_EQ(token_of_next(&t, kind), 0u);
	}
	teardown(&t);
}

/* The token is looked up when the request is received, not when sent. */
NT_TEST(token_looked_up_at_receive)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;

	setup(&t);
	nt_ca_send_start(&t.s, SCHED_FIFO, 5, 0x1);
	NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid, 0xabcdef));
	NT_ASSERT_OK(nt_chan_recv(t.ch, NT_RECV2, &msg));
	NT_EXPECT_EQ(msg.thread_token, 0xabcdefu);
	NT_ASSERT_OK(ntsync_channel_reply(t.ch, msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);

	nt_ca_send_start(&t.s, SCHED_FIFO, 5, 0x2);
	NT_ASSERT_OK(ntsync_channel_deregister_thread(t.ch, t.tid));
	NT_ASSERT_OK(nt_chan_recv(t.ch, NT_TRY_RECV2, &msg));
	NT_EXPECT_EQ(msg.thread_token, 0u);
	NT_ASSERT_OK(ntsync_channel_reply(t.ch, msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	teardown(&t);
}

/* A parked receiver is served at SEND_PI time: the token then counts. */
NT_TEST(token_to_parked_receiver)
{
	struct nt_chan_actor r;
	struct setup t;

	setup(&t);
	nt_ca_start(&r, t.ch, NT_OTHER(0));
	NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid, 0x5a5a));
	nt_ca_recv_start(&r, NT_RECV2);
	/* Handed over at once: the receiver returning shows it. */
	nt_ca_send_post(&t.s, 0, 0, 0x3);
	NT_ASSERT_EQ(nt_ca_finish(&r), 0);
	NT_CHECK_MSG(&r.msg, nt_ca_tid(&t.s), 0, 0x3);
	NT_EXPECT_EQ(r.msg.thread_token, 0x5a5au);
	NT_ASSERT_EQ(nt_ca_reply(&r, r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	nt_ca_stop(&r);
	teardown(&t);
}

/* Each sender gets its own token; tids 64 apart (one bucket of a small
 * hash) and registrations of other tids do not mix. */
NT_TEST(tokens_per_thread)
{
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor s[3];
	uint32_t tid[3];
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	for (unsigned int i = 0; i < 3; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		tid[i] = (uint32_t)nt_ca_tid(&s[i]);
	}
	/* Neighbours that share buckets with the real tids. */
	for (unsigned int i = 0; i < 3; i++) {
		NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[i] + 64,
							    0xbad0 + i));
		NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[i] + 128,
							    0xbad8 + i));
	}
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[0], 0xa0));
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[2], 0xa2));

	for (int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < 3; i++)
			nt_ca_send_start(&s[i], 0, 0, 0x50 + i);
		for (unsigned int i = 0; i < 3; i++) {
			uint64_t want = i == 1 ? 0 : 0xa0 + i;

			if (round && i == 0)
				want = 0;	/* deregistered below */
			NT_ASSERT_OK(nt_chan_recv(ch, NT_RECV2, &msg));
			NT_CHECK_MSG(&msg, nt_ca_tid(&s[i]), 0, 0x50 + i);
			NT_EXPECT_EQ(msg.thread_token, want);
			NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
			NT_ASSERT_EQ(nt_ca_finish(&s[i]), 0);
		}
		/* Removing the neighbours and tid[0], and "removing" tid[1],
		 * which was never registered, leaves tid[2] alone; after the
		 * second round the neighbours come back. */
		for (unsigned int i = 0; i < 3; i++) {
			if (!round)
				NT_ASSERT_OK(ntsync_channel_deregister_thread(
					ch, tid[i] + 64));
			else
				NT_ASSERT_OK(ntsync_channel_register_thread(
					ch, tid[i] + 64, 0));
		}
		if (!round) {
			NT_ASSERT_OK(ntsync_channel_deregister_thread(ch,
								      tid[0]));
			NT_ASSERT_EQ(ntsync_channel_deregister_thread(ch,
								      tid[1]), 0);
		}
	}
	for (unsigned int i = 0; i < 3; i++)
		NT_EXPECT_OK(ntsync_channel_deregister_thread(ch, tid[i] + 128));
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, tid[0]), 0);
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, tid[1]), 0);
	NT_EXPECT_OK(ntsync_channel_deregister_thread(ch, tid[2]));
	for (unsigned int i = 0; i < 3; i++)
		nt_ca_stop(&s[i]);
	close(ch);
	close(dev);
}

/* Registrations belong to one channel. */
NT_TEST(tokens_per_channel)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;
	int other;

	setup(&t);
	other = nt_channel(t.dev, 1);
	NT_ASSERT_OK(ntsync_channel_register_thread(other, t.tid, 0x07e4));
	NT_EXPECT_EQ(token_of_next(&t, NT_RECV2), 0u);
	/* Not registered on this channel: nothing to remove here. */
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(t.ch, t.tid), 0);
	NT_ASSERT_OK(ntsync_channel_register_thread(t.ch, t.tid, 0x0111));
	NT_EXPECT_EQ(token_of_next(&t, NT_RECV2), 0x0111u);
	NT_EXPECT_OK(ntsync_channel_deregister_thread(other, t.tid));
	NT_EXPECT_EQ(token_of_next(&t, NT_RECV2), 0x0111u);
	/* Closing a channel with registrations left frees them. */
	NT_ASSERT_OK(ntsync_channel_register_thread(other, 1, 1));
	NT_ASSERT_OK(ntsync_channel_register_thread(other, 2, 2));
	close(other);
	(void)msg;
	teardown(&t);
}

/* Many registrations, replaced and removed in bulk: exact bookkeeping. */
NT_TEST(many_registrations)
{
	uint64_t before;
	int dev = nt_dev();
	int ch = nt_channel(dev, 1);

	for (uint32_t tid = 1; tid <= 1000; tid++)
		NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid * 7,
							    tid));
	for (uint32_t tid = 1; tid <= 1000; tid += 2)
		NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid * 7,
							    tid + 1));
	for (uint32_t tid = 1; tid <= 1000; tid += 3)
		NT_ASSERT_OK(ntsync_channel_deregister_thread(ch, tid * 7));
	/* Every one of them, removed or not: 0, and only the 666 that were
	 * still there come off the gauge. */
	before = nt_stat("channel_registrations");
	for (uint32_t tid = 1; tid <= 1000; tid++)
		NT_ASSERT_EQ(ntsync_channel_deregister_thread(ch, tid * 7), 0);
	NT_EXPECT_EQ(before - nt_stat("channel_registrations"), 666u);
	close(ch);
	close(dev);
}

/*
 * Deregistering tids that are not registered on the channel: 0 every time,
 * and nothing changes: the registered senders keep their tokens, with every
 * kind of receive, the gauge stays, and the other channel's registration of
 * one of those tids is still there.
 */
NT_TEST(deregister_unregistered_changes_nothing)
{
	static const enum nt_recv_kind kinds[3] = { NT_RECV, NT_RECV2,
						    NT_TRY_RECV2 };
	static const uint64_t token[2] = { 0x1dea00001dea0001ull,
					   0xfeed0000feed0002ull };
	struct nt_chan_actor s[3];
	uint32_t tid[3], absent[5];
	uint64_t regs;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	int other = nt_channel(dev, 1);

	for (unsigned int i = 0; i < 3; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		tid[i] = (uint32_t)nt_ca_tid(&s[i]);
	}
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[0], token[0]));
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid[1], token[1]));
	NT_ASSERT_OK(ntsync_channel_register_thread(other, tid[2], 0x07e4));
	regs = nt_stat("channel_registrations");

	/* A live thread never registered here (only on the other channel),
	 * bucket neighbours of the registered tids, the largest tid. */
	absent[0] = tid[2];
	absent[1] = tid[0] + 64;
	absent[2] = tid[1] + 128;
	absent[3] = tid[1] + 64;
	absent[4] = 0xffffffffu;
	for (unsigned int round = 0; round < 2; round++)
		for (unsigned int i = 0; i < 5; i++)
			NT_EXPECT_EQ(ntsync_channel_deregister_thread(
					     ch, absent[i]), 0);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
	for (unsigned int k = 0; k < 3; k++) {
		uint64_t want0 = kinds[k] == NT_RECV ? 0 : token[0];
		uint64_t want1 = kinds[k] == NT_RECV ? 0 : token[1];

		NT_EXPECT_EQ(nt_ca_token_of_next(&s[0], kinds[k], 0xd0), want0);
		NT_EXPECT_EQ(nt_ca_token_of_next(&s[1], kinds[k], 0xd1), want1);
		NT_EXPECT_EQ(nt_ca_token_of_next(&s[2], kinds[k], 0xd2), 0u);
	}

	/* The other channel's registration was not touched: removing it
	 * there takes one off the gauge. */
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(other, tid[2]), 0);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs - 1);

	/* A real removal, then the same again: the second one is a no-op
	 * that leaves tid[1]'s token alone. */
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, tid[0]), 0);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs - 2);
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, tid[0]), 0);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs - 2);
	NT_EXPECT_EQ(nt_ca_token_of_next(&s[0], NT_RECV2, 0xd3), 0u);
	NT_EXPECT_EQ(nt_ca_token_of_next(&s[1], NT_RECV2, 0xd4), token[1]);

	for (unsigned int i = 0; i < 3; i++)
		nt_ca_stop(&s[i]);
	close(other);
	close(ch);
	close(dev);
}
