// SPDX-License-Identifier: GPL-2.0-only
/*
 * AGGREGATE_WAIT and priorities: the aggregate waiter is seen by priority
 * inheritance like a WAIT_ANY waiter.
 *  - Waiting on a mutex, it boosts the owner to its own priority, until it
 *    takes the mutex or leaves the wait through another source.
 *  - It consumes EVENT_SET_PI like WAIT_ANY: it runs at the staged priority
 *    after the wait that took the signal, until its next wait.
 *  - SEND_PI on a channel it waits on, with no receiver parked, wakes it
 *    (it alone, the best of several such waiters) already boosted to the
 *    request's priority; a parked receiver is served first.
 * Observed with sched_getattr on the threads' tids and by the threads
 * themselves right after each call.
 */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "nt_chan.h"

NT_TEST(waiter_boosts_mutex_owner)
{
	struct ntsync_aggregate_source src[2];
	struct nt_chan_actor owner, w;
	int dev = nt_dev();
	int mutex = nt_mutex(dev, 0, 0);
	int efd = nt_eventfd();

	src[0] = nt_src_fd(efd, POLLIN);
	src[1] = nt_src_obj(mutex);
	nt_ca_start(&owner, -1, NT_OTHER(0));
	nt_ca_start(&w, -1, NT_FIFO_N(60, 0));
	nt_actor_take(&owner.a, dev, mutex, 7);

	/* Leaves through the eventfd: the owner's boost goes with it. */
	nt_ca_agg_start(&w, dev, src, 2, 8, NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_ca_tid(&owner), NT_FIFO(60));
	nt_eventfd_add(efd, 1);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 0u);
	NT_CHECK_SCHED(nt_ca_tid(&owner), NT_OTHER(0));
	NT_CHECK_MUTEX(mutex, 7, 1);
	NT_ASSERT_EQ(nt_eventfd_take(efd), 1u);

	/* Takes the mutex when the owner lets go. */
	nt_ca_agg_start(&w, dev, src, 2, 8, NTSYNC_TIMEOUT_INFINITE);
	NT_CHECK_SCHED(nt_ca_tid(&owner), NT_FIFO(60));
	NT_ASSERT_EQ(nt_actor_unlock(&owner.a, mutex, 7), 0);
	NT_CHECK_SCHED_VAL(owner.a.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 1u);
	NT_EXPECT_EQ(w.fired_events, 0u);
	NT_CHECK_MUTEX(mutex, 8, 1);
	NT_CHECK_SCHED(nt_ca_tid(&owner), NT_OTHER(0));
	NT_CHECK_SCHED_VAL(w.a.after, NT_FIFO_N(60, 0));
	NT_ASSERT_EQ(nt_actor_unlock(&w.a, mutex, 8), 0);

	nt_ca_stop(&owner);
	nt_ca_stop(&w);
	close(mutex);
	close(efd);
	close(dev);
}

/* The best of several aggregate waiters sets the owner's boost. */
NT_TEST(best_waiter_sets_owner_boost)
{
	struct ntsync_aggregate_source src;
	struct nt_chan_actor owner, w[3];
	static const unsigned int prios[3] = { 20, 70, 45 };
	int dev = nt_dev();
	int mutex = nt_mutex(dev, 0, 0);

	src = nt_src_obj(mutex);
	nt_ca_start(&owner, -1, NT_OTHER(0));
	nt_actor_take(&owner.a, dev, mutex, 1);
	for (unsigned int i = 0; i < 3; i++) {
		nt_ca_start(&w[i], -1, NT_FIFO_N(prios[i], 0));
		nt_ca_agg_start(&w[i], dev, &src, 1, 10 + i,
				NTSYNC_TIMEOUT_INFINITE);
		NT_CHECK_SCHED(nt_ca_tid(&owner), NT_FIFO(i ? 70 : 20));
	}
	/* Unlocked: the FIFO 70 waiter takes it and its wait ends. */
	NT_ASSERT_EQ(nt_actor_unlock(&owner.a, mutex, 1), 0);
	NT_ASSERT_EQ(nt_ca_finish(&w[1]), 0);
	NT_CHECK_MUTEX(mutex, 11, 1);
	/* The new owner stands above the remaining waiters by itself:
	 * unchanged; the old owner is back at its base. */
	NT_CHECK_SCHED(nt_ca_tid(&w[1]), NT_FIFO_N(70, 0));
	NT_CHECK_SCHED(nt_ca_tid(&owner), NT_OTHER(0));
	NT_ASSERT_EQ(nt_actor_unlock(&w[1].a, mutex, 11), 0);
	NT_ASSERT_EQ(nt_ca_finish(&w[2]), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&w[2].a, mutex, 12), 0);
	NT_ASSERT_EQ(nt_ca_finish(&w[0]), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&w[0].a, mutex, 10), 0);
	for (unsigned int i = 0; i < 3; i++) {
		NT_CHECK_SCHED(nt_ca_tid(&w[i]), NT_FIFO_N(prios[i], 0));
		nt_ca_stop(&w[i]);
	}
	nt_ca_stop(&owner);
	close(mutex);
	close(dev);
}

NT_TEST(consumes_event_set_pi)
{
	struct ntsync_aggregate_source src[2];
	struct nt_chan_actor w;
	int dev = nt_dev();
	int event = nt_event(dev, 0, 0);
	int efd = nt_eventfd();

	src[0] = nt_src_fd(efd, POLLIN);
	src[1] = nt_src_obj(event);
	nt_ca_start(&w, -1, NT_OTHER(0));

	/* Signalled while the waiter sleeps. */
	nt_ca_agg_start(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	nt_set_pi(event, SCHED_FIFO, 45);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 1u);
	NT_CHECK_SCHED_VAL(w.a.after, NT_FIFO(45));
	NT_CHECK_EVENT(event, 0, 0);
	/* The next wait ends it (one-shot: nothing left to consume). */
	nt_ca_agg_post(&w, dev, src, 2, 0, NT_NOW_DEADLINE);
	NT_ASSERT_ERRNO(nt_ca_finish(&w), ETIMEDOUT);
	NT_CHECK_SCHED_VAL(w.a.after, NT_OTHER(0));

	/* Staged before the wait starts. */
	nt_set_pi(event, SCHED_RR, 30);
	nt_ca_agg_post(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 1u);
	NT_CHECK_SCHED_VAL(w.a.after, NT_RR(30));
	/* A wait that another source ends also drains it. */
	nt_eventfd_add(efd, 1);
	nt_ca_agg_post(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 0u);
	NT_CHECK_SCHED_VAL(w.a.after, NT_OTHER(0));

	/* The boost an aggregate wait took is drained by a WAIT_ANY too. */
	nt_set_pi(event, SCHED_FIFO, 12);
	nt_ca_agg_post(&w, dev, src + 1, 1, 0, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_CHECK_SCHED_VAL(w.a.after, NT_FIFO(12));
	nt_actor_drain(&w.a, dev, event);
	NT_CHECK_SCHED_VAL(w.a.after, NT_OTHER(0));

	nt_ca_stop(&w);
	close(event);
	close(efd);
	close(dev);
}

/* SEND_PI with nobody parked notifies the aggregate waiter, boosted. */
NT_TEST(send_pi_boosts_aggregate_waiter)
{
	static const struct { uint32_t policy, prio; } reqs[3] = {
		{ SCHED_FIFO, 70 }, { SCHED_RR, 25 }, { SCHED_FIFO, 0 },
	};
	struct ntsync_aggregate_source src[2];
	struct nt_chan_actor w, s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	int efd = nt_eventfd();

	src[0] = nt_src_fd(efd, POLLIN);
	src[1] = nt_src_obj(ch);
	nt_ca_start(&w, ch, NT_OTHER(0));
	nt_ca_start(&s, ch, NT_OTHER(0));
	for (unsigned int i = 0; i < 3; i++) {
		struct nt_sched served = nt_served_sched(NT_OTHER(0),
							 reqs[i].policy,
							 reqs[i].prio);

		nt_ca_agg_start(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
		nt_ca_send_start(&s, reqs[i].policy, reqs[i].prio, 0xa90 + i);
		/* The sender sleeps: the waiter was boosted before that. */
		NT_CHECK_SCHED(nt_ca_tid(&w), served);
		NT_ASSERT_EQ(nt_ca_finish(&w), 0);
		NT_EXPECT_EQ(w.fired_index, 1u);
		NT_EXPECT_EQ(w.fired_events, 0u);
		NT_CHECK_SCHED_VAL(w.a.after, served);
		/* It comes to take the request, served at its priority. */
		NT_ASSERT_EQ(nt_ca_recv(&w, NT_TRY_RECV2), 0);
		NT_CHECK_MSG(&w.msg, nt_ca_tid(&s), reqs[i].prio, 0xa90 + i);
		NT_CHECK_SCHED_VAL(w.a.after, served);
		NT_ASSERT_EQ(nt_ca_reply(&w, w.msg.entry_id), 0);
		NT_CHECK_SCHED_VAL(w.a.after, NT_OTHER(0));
		NT_ASSERT_EQ(nt_ca_finish(&s), 0);
		NT_CHECK_SCHED(nt_ca_tid(&w), NT_OTHER(0));
	}
	nt_ca_stop(&w);
	nt_ca_stop(&s);
	close(ch);
	close(efd);
	close(dev);
}

/* Two aggregate waiters on a channel: a request wakes one, the better one,
 * alone; the other is neither woken nor boosted. */
NT_TEST(one_aggregate_waiter_notified)
{
	struct ntsync_aggregate_source src;
	struct nt_chan_actor w[2], s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	uint64_t nvcsw;

	src = nt_src_obj(ch);
	nt_ca_start(&w[0], ch, NT_OTHER(0));
	nt_ca_start(&w[1], ch, NT_FIFO_N(10, 0));
	nt_ca_start(&s, ch, NT_OTHER(0));
	nt_ca_agg_start(&w[0], dev, &src, 1, 0, NTSYNC_TIMEOUT_INFINITE);
	nt_ca_agg_start(&w[1], dev, &src, 1, 0, NTSYNC_TIMEOUT_INFINITE);
	nvcsw = nt_task_nvcsw(nt_ca_tid(&w[0]));

	nt_ca_send_start(&s, SCHED_FIFO, 50, 0x50);
	NT_CHECK_SCHED(nt_ca_tid(&w[1]), NT_FIFO(50));
	NT_CHECK_SCHED(nt_ca_tid(&w[0]), NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&w[1]), 0);
	NT_EXPECT_EQ(w[1].fired_index, 0u);
	NT_ASSERT_EQ(nt_ca_recv(&w[1], NT_TRY_RECV2), 0);
	NT_CHECK_MSG(&w[1].msg, nt_ca_tid(&s), 50, 0x50);
	NT_ASSERT_EQ(nt_ca_reply(&w[1], w[1].msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	NT_CHECK_SCHED_VAL(w[1].a.after, NT_FIFO_N(10, 0));
	/* The other one slept through all of it. */
	NT_ASSERT_FALSE(nt_ca_idle(&w[0]));
	NT_EXPECT_EQ(nt_task_nvcsw(nt_ca_tid(&w[0])), nvcsw);
	NT_CHECK_SCHED(nt_ca_tid(&w[0]), NT_OTHER(0));

	/* The next request is its turn. */
	nt_ca_send_start(&s, SCHED_FIFO, 35, 0x35);
	NT_CHECK_SCHED(nt_ca_tid(&w[0]), NT_FIFO(35));
	NT_ASSERT_EQ(nt_ca_finish(&w[0]), 0);
	NT_ASSERT_EQ(nt_ca_recv(&w[0], NT_RECV2), 0);
	NT_CHECK_MSG(&w[0].msg, nt_ca_tid(&s), 35, 0x35);
	NT_ASSERT_EQ(nt_ca_reply(&w[0], w[0].msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	NT_CHECK_SCHED_VAL(w[0].a.after, NT_OTHER(0));
	for (unsigned int i = 0; i < 2; i++)
		nt_ca_stop(&w[i]);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

/* A parked receiver is served directly; the aggregate waiter on the same
 * channel is not woken (the channel never had a pending request). */
NT_TEST(parked_receiver_before_aggregate_waiter)
{
	struct ntsync_aggregate_source src;
	struct nt_chan_actor w, r, s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	uint64_t nvcsw;

	src = nt_src_obj(ch);
	nt_ca_start(&w, ch, NT_OTHER(0));
	nt_ca_start(&r, ch, NT_OTHER(0));
	nt_ca_start(&s, ch, NT_OTHER(0));
	nt_ca_agg_start(&w, dev, &src, 1, 0, NTSYNC_TIMEOUT_INFINITE);
	nt_ca_recv_start(&r, NT_RECV2);
	nvcsw = nt_task_nvcsw(nt_ca_tid(&w));

	nt_ca_send_start(&s, SCHED_FIFO, 40, 0x40);
	NT_CHECK_SCHED(nt_ca_tid(&r), NT_FIFO(40));
	NT_CHECK_SCHED(nt_ca_tid(&w), NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&r), 0);
	NT_CHECK_MSG(&r.msg, nt_ca_tid(&s), 40, 0x40);
	NT_ASSERT_EQ(nt_ca_reply(&r, r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	NT_ASSERT_FALSE(nt_ca_idle(&w));
	NT_EXPECT_EQ(nt_task_nvcsw(nt_ca_tid(&w)), nvcsw);

	/* With the receiver gone, the next request notifies the waiter. */
	nt_ca_send_start(&s, 0, 0, 0x41);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 0u);
	NT_ASSERT_EQ(nt_ca_recv(&w, NT_TRY_RECV2), 0);
	NT_ASSERT_EQ(nt_ca_reply(&w, w.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	nt_ca_stop(&w);
	nt_ca_stop(&r);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

/*
 * The notified waiter finds the request gone (another thread took it):
 * its TRY_RECV2 gets EAGAIN and it goes back to waiting.  It serves
 * nothing, so it must not wait on at the request's priority: once it
 * sleeps in its next AGGREGATE_WAIT it is at its own priority.
 */
NT_TEST(notify_boost_ends_when_request_taken_elsewhere)
{
	struct ntsync_aggregate_source src[2];
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor w, s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	int efd = nt_eventfd();

	src[0] = nt_src_fd(efd, POLLIN);
	src[1] = nt_src_obj(ch);
	nt_ca_start(&w, ch, NT_OTHER(0));
	nt_ca_start(&s, ch, NT_OTHER(0));

	nt_ca_agg_start(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	nt_ca_send_start(&s, SCHED_FIFO, 70, 0x70);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 1u);
	NT_CHECK_SCHED_VAL(w.a.after, NT_FIFO(70));

	/* Someone else serves it. */
	NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&s), 70, 0x70);
	NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&s), 0);

	NT_ASSERT_ERRNO(nt_ca_recv(&w, NT_TRY_RECV2), EAGAIN);
	nt_ca_agg_start(&w, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	if (!nt_sched_matches(nt_sched_get(nt_ca_tid(&w)), NT_OTHER(0))) {
		char buf[64];

		NT_FAIL_SOFT("the waiter sleeps in AGGREGATE_WAIT at %s, boosted by a request another thread served",
			     nt_sched_str(nt_sched_get(nt_ca_tid(&w)), buf,
					  sizeof(buf)));
	}
	nt_eventfd_add(efd, 1);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 0u);
	nt_ca_stop(&w);
	nt_ca_stop(&s);
	close(ch);
	close(efd);
	close(dev);
}

/*
 * A SEND_PI boosts the dispatcher it notified after dropping the channel's
 * lock, so an unlucky sender can be preempted in between (the debug kernel
 * widens that window: debug_delay_preboost_us, one-shot).  Meanwhile the
 * dispatcher, woken through another source, takes a better request: the
 * late boost must not lower it.  The dispatcher runs at the priority of the
 * request it took last, and at its own once it replied to both.
 */
#define PREBOOST_DELAY_MS	300

NT_TEST(late_notify_boost_never_lowers_the_served_one)
{
	struct ntsync_aggregate_source src[2];
	struct nt_chan_actor d, low, high;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	int efd = nt_eventfd();
	uint64_t low_id, high_id;
	char delay_us[16];

	src[0] = nt_src_fd(efd, POLLIN);
	src[1] = nt_src_obj(ch);
	nt_ca_start(&d, ch, NT_OTHER(0));
	nt_ca_start(&low, ch, NT_OTHER(0));
	nt_ca_start(&high, ch, NT_OTHER(0));
	/* Elsewhere the parameter does not exist: the natural window. */
	snprintf(delay_us, sizeof(delay_us), "%u", PREBOOST_DELAY_MS * 1000);
	nt_module_param_write("debug_delay_preboost_us", delay_us);

	nt_ca_agg_start(&d, dev, src, 2, 0, NTSYNC_TIMEOUT_INFINITE);
	/* Notifies d, then (debug kernel) sleeps before boosting it. */
	nt_ca_send_post(&low, SCHED_FIFO, 16, 0x16);
	nt_ca_wait_asleep(&low);
	nt_ca_send_start(&high, SCHED_FIFO, 35, 0x35);
	/* Wakes d if the notifying sender has not yet. */
	nt_eventfd_add(efd, 1);
	NT_ASSERT_EQ(nt_ca_finish(&d), 0);

	NT_ASSERT_EQ(nt_ca_recv(&d, NT_TRY_RECV2), 0);
	NT_CHECK_MSG(&d.msg, nt_ca_tid(&high), 35, 0x35);
	high_id = d.msg.entry_id;
	NT_CHECK_SCHED_VAL(d.a.after, NT_FIFO(35));
	/* Past the widened window: the late boost (FIFO 16) came and went. */
	nt_sleep_ms(2 * PREBOOST_DELAY_MS);
	NT_CHECK_SCHED(nt_ca_tid(&d), NT_FIFO(35));

	NT_ASSERT_EQ(nt_ca_recv(&d, NT_TRY_RECV2), 0);
	NT_CHECK_MSG(&d.msg, nt_ca_tid(&low), 16, 0x16);
	low_id = d.msg.entry_id;
	NT_CHECK_SCHED_VAL(d.a.after, NT_FIFO(16));
	NT_ASSERT_EQ(nt_ca_reply(&d, high_id), 0);
	NT_ASSERT_EQ(nt_ca_reply(&d, low_id), 0);
	NT_CHECK_SCHED_VAL(d.a.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_ca_finish(&high), 0);
	NT_ASSERT_EQ(nt_ca_finish(&low), 0);
	NT_CHECK_SCHED(nt_ca_tid(&d), NT_OTHER(0));

	nt_module_param_write("debug_delay_preboost_us", "0");
	nt_ca_stop(&d);
	nt_ca_stop(&low);
	nt_ca_stop(&high);
	close(ch);
	close(efd);
	close(dev);
}
