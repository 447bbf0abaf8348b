// SPDX-License-Identifier: GPL-2.0-only
/*
 * Thread tokens: RECV2 and TRY_RECV2 return the token registered for the
 * sender's tid at receive time (0 if none).  A registration inserts or
 * replaces; a deregistration removes (ENOENT when absent).  Tokens are full
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
	struct ntsync_channel_recv2_args msg;

	nt_ca_send_start(&t->s, 0, 0, 0x70c);
	NT_ASSERT_OK(nt_chan_recv(t->ch, kind, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&t->s), 0, 0x70c);
	NT_ASSERT_OK(ntsync_channel_reply(t->ch, msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&t->s), 0);
	return msg.thread_token;
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
		/* Gone after deregistration, once. */
		NT_ASSERT_OK(ntsync_channel_deregister_thread(t.ch, t.tid));
		NT_EXPECT_EQ(token_of_next(&t, kind), 0u);
		NT_EXPECT_ERRNO(ntsync_channel_deregister_thread(t.ch, t.tid),
				ENOENT);
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
	nt_ca_send_start(&t.s, 0, 0, 0x3);
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
		/* Removing the neighbours and tid[0] leaves tid[2] alone;
		 * after the second round the neighbours come back. */
		for (unsigned int i = 0; i < 3; i++) {
			if (!round)
				NT_ASSERT_OK(ntsync_channel_deregister_thread(
					ch, tid[i] + 64));
			else
				NT_ASSERT_OK(ntsync_channel_register_thread(
					ch, tid[i] + 64, 0));
		}
		if (!round)
			NT_ASSERT_OK(ntsync_channel_deregister_thread(ch,
								      tid[0]));
	}
	for (unsigned int i = 0; i < 3; i++)
		NT_EXPECT_OK(ntsync_channel_deregister_thread(ch, tid[i] + 128));
	NT_EXPECT_ERRNO(ntsync_channel_deregister_thread(ch, tid[0]), ENOENT);
	NT_EXPECT_ERRNO(ntsync_channel_deregister_thread(ch, tid[1]), ENOENT);
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
	NT_EXPECT_ERRNO(ntsync_channel_deregister_thread(t.ch, t.tid), ENOENT);
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
	for (uint32_t tid = 1; tid <= 1000; tid++) {
		int ret = ntsync_channel_deregister_thread(ch, tid * 7);

		if ((tid - 1) % 3 == 0)
			NT_ASSERT_EQ(ret, -ENOENT);
		else
			NT_ASSERT_EQ(ret, 0);
	}
	close(ch);
	close(dev);
}
