// SPDX-License-Identifier: GPL-2.0-only
/*
 * The receiver boost: a receiver runs at its request's (policy, prio) from
 * the moment the request is handed to it until its REPLY or its next
 * receive, and at exactly its own attributes again afterwards.  Observed
 * with sched_getattr, from outside (on the receiver's tid) and by the
 * receiver itself right after each call:
 *  - a parked receiver is boosted by the SEND_PI that serves it, before the
 *    sender sleeps (so before the receiver even runs);
 *  - a receiver that takes a pending request boosts itself;
 *  - SCHED_RR stays RR; nice survives the round trip; prio 0 requests and
 *    requests below a receiver's own RT priority change nothing;
 *  - the next receive ends the boost: a blocking one that parks drains it,
 *    a TRY_RECV2 that finds nothing drains it, one that takes another
 *    request replaces it (even by a lower one, or by prio 0: back to the
 *    base);
 *  - waits on objects while serving (WAIT_ANY, WAIT_ALL, an AGGREGATE_WAIT
 *    without a channel) keep it: they are part of the service;
 *  - the REPLY to a request whose sender was killed (ENOENT) ends it too.
 */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"

struct setup {
	int dev, ch;
	struct nt_chan_actor r, s, s2;
};

static void setup(struct setup *t, struct nt_sched rbase)
{
	t->dev = nt_dev();
	t->ch = nt_channel(t->dev, 8);
	nt_ca_start(&t->r, t->ch, rbase);
	nt_ca_start(&t->s, t->ch, NT_OTHER(0));
	nt_ca_start(&t->s2, t->ch, NT_OTHER(0));
}

static void teardown(struct setup *t)
{
	struct ntsync_channel_recv2_args msg;

	NT_EXPECT_ERRNO(nt_chan_recv(t->ch, NT_TRY_RECV2, &msg), EAGAIN);
	nt_ca_stop(&t->r);
	nt_ca_stop(&t->s);
	nt_ca_stop(&t->s2);
	close(t->ch);
	close(t->dev);
}

/* The receiver @r, parked in @kind, is served by @s with (policy, prio):
 * boosted before the sender sleeps, still when it returns, and back to
 * @base after its REPLY. */
static void parked_round_trip(struct setup *t, struct nt_sched base,
			      enum nt_recv_kind kind, uint32_t policy,
			      uint32_t prio)
{
	struct nt_sched served = nt_served_sched(base, policy, prio);

	nt_ca_recv_start(&t->r, kind);
	NT_CHECK_SCHED(nt_ca_tid(&t->r), base);
	nt_ca_send_start(&t->s, policy, prio, 0x600d + prio);
	/* The sender is asleep: it handed the request over already. */
	NT_CHECK_SCHED(nt_ca_tid(&t->r), served);
	NT_ASSERT_EQ(nt_ca_finish(&t->r), 0);
	NT_CHECK_MSG(&t->r.msg, nt_ca_tid(&t->s), prio, 0x600d + prio);
	NT_CHECK_SCHED_VAL(t->r.a.after, served);
	NT_CHECK_SCHED(nt_ca_tid(&t->r), served);
	/* Still serving: the sender waits, the boost stays. */
	NT_ASSERT_FALSE(nt_ca_idle(&t->s));
	NT_CHECK_SCHED(nt_ca_tid(&t->r), served);

	NT_ASSERT_EQ(nt_ca_reply(&t->r, t->r.msg.entry_id), 0);
	NT_CHECK_SCHED_VAL(t->r.a.after, base);
	NT_ASSERT_EQ(nt_ca_finish(&t->s), 0);
	/* Once the sender is back nothing can boost the receiver again. */
	NT_CHECK_SCHED(nt_ca_tid(&t->r), base);
}

NT_TEST(parked_receiver_boosted_fifo)
{
	struct setup t;

	setup(&t, NT_OTHER(0));
	parked_round_trip(&t, NT_OTHER(0), NT_RECV2, SCHED_FIFO, 40);
	parked_round_trip(&t, NT_OTHER(0), NT_RECV, SCHED_FIFO, 99);
	parked_round_trip(&t, NT_OTHER(0), NT_RECV2, SCHED_FIFO, 1);
	teardown(&t);
}

NT_TEST(parked_receiver_boosted_rr)
{
	struct setup t;

	setup(&t, NT_OTHER(0));
	parked_round_trip(&t, NT_OTHER(0), NT_RECV2, SCHED_RR, 33);
	parked_round_trip(&t, NT_OTHER(0), NT_RECV, SCHED_RR, 77);
	teardown(&t);
}

/* The base comes back exactly, nice included. */
NT_TEST(nice_survives_boost)
{
	struct setup t;

	setup(&t, NT_OTHER(7));
	parked_round_trip(&t, NT_OTHER(7), NT_RECV2, SCHED_FIFO, 25);
	parked_round_trip(&t, NT_OTHER(7), NT_RECV2, SCHED_RR, 60);
	teardown(&t);
}

NT_TEST(prio0_no_boost)
{
	struct setup t;

	setup(&t, NT_OTHER(-3));
	parked_round_trip(&t, NT_OTHER(-3), NT_RECV2, SCHED_OTHER, 0);
	parked_round_trip(&t, NT_OTHER(-3), NT_RECV, SCHED_FIFO, 0);
	teardown(&t);
}

/* An RT receiver is never lowered: only a higher request boosts it. */
NT_TEST(rt_receiver_not_lowered)
{
	struct setup t;

	setup(&t, NT_FIFO_N(30, 0));
	parked_round_trip(&t, NT_FIFO_N(30, 0), NT_RECV2, SCHED_FIFO, 10);
	parked_round_trip(&t, NT_FIFO_N(30, 0), NT_RECV2, SCHED_RR, 30);
	parked_round_trip(&t, NT_FIFO_N(30, 0), NT_RECV2, SCHED_FIFO, 50);
	parked_round_trip(&t, NT_FIFO_N(30, 0), NT_RECV2, SCHED_RR, 31);
	teardown(&t);
}

/* A pending request: the receiver boosts itself when it takes it. */
NT_TEST(pending_request_boosts_taker)
{
	static const enum nt_recv_kind kinds[] = { NT_RECV, NT_RECV2,
						   NT_TRY_RECV2 };
	struct setup t;

	setup(&t, NT_OTHER(0));
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t prio = 55 + i;

		nt_ca_send_start(&t.s, SCHED_FIFO, prio, 0x9e0 + i);
		NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
		NT_ASSERT_EQ(nt_ca_recv(&t.r, kinds[i]), 0);
		NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), prio, 0x9e0 + i);
		NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(prio));
		NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_FIFO(prio));
		NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
		NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
		NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
		NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
	}
	teardown(&t);
}

/* Without a REPLY, the next receive that parks ends the boost: the
 * receiver waits at its own priority. */
NT_TEST(next_blocking_recv_drains)
{
	struct ntsync_channel_recv2_args first;
	struct setup t;

	setup(&t, NT_OTHER(0));
	nt_ca_send_start(&t.s, SCHED_FIFO, 60, 0xaa);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	first = t.r.msg;
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_FIFO(60));

	/* Parks (nothing pending): drained while it waits. */
	nt_ca_recv_start(&t.r, NT_RECV2);
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));

	/* A prio-0 request then leaves it there. */
	nt_ca_send_start(&t.s2, SCHED_FIFO, 0, 0xbb);
	NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s2), 0, 0xbb);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));

	/* Both are still replyable, in any order. */
	NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s2), 0);
	NT_ASSERT_EQ(nt_ca_reply(&t.r, first.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
	teardown(&t);
}

/* A receive that takes another request replaces the boost by that
 * request's priority, lower or prio 0 included. */
NT_TEST(next_recv_replaces_boost)
{
	struct nt_chan_actor s3;
	uint64_t ids[3];
	struct setup t;

	setup(&t, NT_OTHER(0));
	nt_ca_start(&s3, t.ch, NT_OTHER(0));
	/* Pending: 60, 20 (RR), 0. */
	nt_ca_send_start(&t.s, SCHED_FIFO, 60, 0x60);
	nt_ca_send_start(&t.s2, SCHED_RR, 20, 0x20);
	nt_ca_send_start(&s3, SCHED_FIFO, 0, 0x00);

	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 60, 0x60);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(60));
	ids[0] = t.r.msg.entry_id;

	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_TRY_RECV2), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s2), 20, 0x20);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_RR(20));
	ids[1] = t.r.msg.entry_id;

	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&s3), 0, 0x00);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	ids[2] = t.r.msg.entry_id;

	for (unsigned int i = 0; i < 3; i++)
		NT_ASSERT_EQ(nt_ca_reply(&t.r, ids[i]), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s2), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s3), 0);
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
	nt_ca_stop(&s3);
	teardown(&t);
}

/*
 * The sender of the request being served gives up (a signal): its REPLY
 * gets ENOENT, and that REPLY still ends the request and its boost (the
 * receiver is done with it either way).
 */
NT_TEST(boost_ends_at_reply_of_withdrawn_request)
{
	struct setup t;
	pid_t sender;
	int status;

	setup(&t, NT_OTHER(0));
	nt_ca_recv_start(&t.r, NT_RECV2);
	/* Only a fatal signal withdraws a request being served. */
	sender = fork();
	NT_ASSERT_GE(sender, 0);
	if (!sender)
		_exit(ntsync_channel_send(t.ch, SCHED_FIFO, 45, 0x45,
					  NT_REPLY_OFF(0x45)) ? 1 : 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(45));
	nt_wait_proc_blocked(sender);

	NT_ASSERT_EQ(kill(sender, SIGKILL), 0);
	NT_ASSERT_EQ(waitpid(sender, &status, 0), sender);
	NT_ASSERT_TRUE(WIFSIGNALED(status));
	NT_ASSERT_ERRNO(nt_ca_reply(&t.r, t.r.msg.entry_id), ENOENT);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
	teardown(&t);
}

/* A TRY_RECV2 that finds nothing is the next receive: the boost ends. */
NT_TEST(empty_try_recv2_drains)
{
	struct setup t;
	uint64_t id;

	setup(&t, NT_OTHER(0));
	nt_ca_send_start(&t.s, SCHED_RR, 60, 0x60);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	id = t.r.msg.entry_id;
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_RR(60));
	NT_ASSERT_ERRNO(nt_ca_recv(&t.r, NT_TRY_RECV2), EAGAIN);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
	/* The request is still the receiver's to reply to. */
	NT_ASSERT_EQ(nt_ca_reply(&t.r, id), 0);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	teardown(&t);
}

/* Waiting on objects while serving is part of the service: WAIT_ANY,
 * WAIT_ALL and an AGGREGATE_WAIT without a channel keep the boost. */
NT_TEST(boost_kept_across_object_waits)
{
	struct ntsync_aggregate_source src;
	struct setup t;
	int sem, efd;
	uint64_t id;

	setup(&t, NT_OTHER(0));
	sem = nt_sem(t.dev, 0, 1);
	efd = nt_eventfd();
	nt_ca_send_start(&t.s, SCHED_FIFO, 35, 0x35);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	id = t.r.msg.entry_id;
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(35));

	NT_ASSERT_ERRNO(nt_actor_wait(&t.r.a, t.dev, false, &sem, 1, NT_WAIT_OWNER,
				      NT_NOW_DEADLINE), ETIMEDOUT);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(35));
	NT_ASSERT_ERRNO(nt_actor_wait(&t.r.a, t.dev, true, &sem, 1, NT_WAIT_OWNER,
				      NT_NOW_DEADLINE), ETIMEDOUT);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(35));
	src = nt_src_fd(efd, POLLIN);
	nt_ca_agg_post(&t.r, t.dev, &src, 1, 0, NT_NOW_DEADLINE);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.r), ETIMEDOUT);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(35));

	NT_ASSERT_EQ(nt_ca_reply(&t.r, id), 0);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	close(sem);
	close(efd);
	teardown(&t);
}

/* AGGREGATE_WAIT on a channel is the dispatcher's next receive. */
NT_TEST(aggregate_wait_on_channel_drains)
{
	struct ntsync_aggregate_source src;
	struct setup t;
	uint64_t id;

	setup(&t, NT_OTHER(0));
	nt_ca_send_start(&t.s, SCHED_FIFO, 35, 0x35);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	id = t.r.msg.entry_id;
	src = nt_src_obj(t.ch);
	nt_ca_agg_post(&t.r, t.dev, &src, 1, 0, NT_NOW_DEADLINE);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.r), ETIMEDOUT);
	NT_CHECK_SCHED_VAL(t.r.a.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_reply(&t.r, id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	teardown(&t);
}
