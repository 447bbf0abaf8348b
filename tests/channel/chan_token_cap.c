// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cap on thread tokens (ntsync_channel_create(3)): a channel holds the
 * tokens of at most 65536 tids.  Registering that many succeeds; one more
 * new tid fails with ENOSPC and changes nothing (the tokens already there
 * are still delivered by RECV2 and TRY_RECV2, the channel_registrations
 * gauge does not move); replacing the token of a registered tid still
 * works at the cap; deregistering one tid makes room for exactly one new
 * tid; the cap is per channel; closing a full channel frees every token.
 * 65536 REGISTER_THREAD calls: a few seconds in a TCG guest, more on the
 * debug kernel (hence the longer timeout).
 */
#include <unistd.h>

#include "nt_chan.h"

/* The documented cap of REGISTER_THREAD, per channel. */
#define CAP		65536u
/* Filler tids: above any pid_max, so never a real thread's. */
#define FILLER(i)	(0x40000000u + (i))
/* A tid that is never registered before the test says so. */
#define NEW_TID		0x7ffffff0u

static uint64_t filler_token(uint32_t i)
{
	return 0xf111000000000000ull | i;
}

/*
 * A full channel @ch: the sender @s's tid with @token and CAP - 1 fillers;
 * the gauge grew by CAP.
 */
static void fill(int ch, struct nt_chan_actor *s, uint64_t token)
{
	uint64_t before = nt_stat("channel_registrations");

	NT_ASSERT_OK(ntsync_channel_register_thread(ch, (uint32_t)nt_ca_tid(s),
						    token));
	for (uint32_t i = 0; i < CAP - 1; i++) {
		int ret = ntsync_channel_register_thread(ch, FILLER(i),
							 filler_token(i));

		if (ret)
			NT_FAIL("registration %u of %u (tid %#x): %d", i + 2,
				CAP, FILLER(i), ret);
	}
	NT_ASSERT_EQ(nt_stat("channel_registrations") - before, (uint64_t)CAP);
}

/* The sender's requests still carry @token, with both kinds of receive. */
static void check_token(struct nt_chan_actor *s, uint64_t token)
{
	NT_EXPECT_EQ(nt_ca_token_of_next(s, NT_RECV2, 0xca9), token);
	NT_EXPECT_EQ(nt_ca_token_of_next(s, NT_TRY_RECV2, 0xcaa), token);
}

NT_TEST_TIMEOUT(cap_enospc_leaves_state, 300)
{
	struct nt_chan_actor s;
	uint64_t regs;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	int other = nt_channel(dev, 1);
	uint32_t tid;

	nt_ca_start(&s, ch, NT_OTHER(0));
	tid = (uint32_t)nt_ca_tid(&s);
	fill(ch, &s, 0xa11ce);
	regs = nt_stat("channel_registrations");

	/* One more new tid: ENOSPC, twice, and nothing changed. */
	NT_EXPECT_ERRNO(ntsync_channel_register_thread(ch, NEW_TID, 1), ENOSPC);
	NT_EXPECT_ERRNO(ntsync_channel_register_thread(ch, NEW_TID, 1), ENOSPC);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
	check_token(&s, 0xa11ce);

	/* Replacing at the cap works: the sender's and a filler's. */
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, tid, 0xb0b));
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, FILLER(7), 0x7777));
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
	check_token(&s, 0xb0b);

	/* The cap is per channel: the other one takes new tids. */
	NT_EXPECT_OK(ntsync_channel_register_thread(other, NEW_TID, 2));
	NT_EXPECT_OK(ntsync_channel_deregister_thread(other, NEW_TID));

	/* Deregistering one makes room for exactly one. */
	NT_ASSERT_OK(ntsync_channel_deregister_thread(ch, FILLER(100)));
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs - 1);
	NT_EXPECT_OK(ntsync_channel_register_thread(ch, NEW_TID, 3));
	NT_EXPECT_ERRNO(ntsync_channel_register_thread(ch, FILLER(100), 4),
			ENOSPC);
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);

	/* The sender deregistered: its place went to nobody else, so it can
	 * come back; with the place taken meanwhile, it cannot. */
	NT_ASSERT_OK(ntsync_channel_deregister_thread(ch, tid));
	check_token(&s, 0);
	NT_EXPECT_OK(ntsync_channel_register_thread(ch, tid, 0xc0c));
	check_token(&s, 0xc0c);
	NT_ASSERT_OK(ntsync_channel_deregister_thread(ch, tid));
	NT_EXPECT_OK(ntsync_channel_register_thread(ch, FILLER(100), 5));
	NT_EXPECT_ERRNO(ntsync_channel_register_thread(ch, tid, 0xd0d), ENOSPC);
	check_token(&s, 0);

	/* Closing the full channel frees every token. */
	nt_ca_stop(&s);
	close(ch);
	NT_EXPECT_EQ(regs - nt_stat("channel_registrations"), (uint64_t)CAP);
	close(other);
	close(dev);
}
