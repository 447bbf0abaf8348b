// SPDX-License-Identifier: GPL-2.0-only
/*
 * AGGREGATE_WAIT deadlines: absolute, on CLOCK_MONOTONIC or (with
 * NTSYNC_AGG_FLAG_REALTIME) CLOCK_REALTIME; a deadline in the past is a
 * poll; U64_MAX waits until a source fires.  A timeout is ETIMEDOUT with
 * fired_index = NTSYNC_AGG_TIMEOUT and consumes nothing.  Only lower
 * bounds of elapsed time are checked (a slow VM may take longer).
 */
#include <poll.h>
#include <unistd.h>

#include "nt_chan.h"

#define WAIT_MS	100

struct sources {
	int sem, mutex, event, ch, efd;
	struct ntsync_aggregate_source src[5];
};

/* Nothing fires: an empty semaphore, a mutex owned by someone else, an
 * unsignaled event, an empty channel, an empty eventfd. */
static void sources_init(struct sources *s, int dev)
{
	s->sem = nt_sem(dev, 0, 3);
	s->mutex = nt_mutex(dev, 77, 1);
	s->event = nt_event(dev, 1, 0);
	s->ch = nt_channel(dev, 1);
	s->efd = nt_eventfd();
	s->src[0] = nt_src_obj(s->sem);
	s->src[1] = nt_src_obj(s->mutex);
	s->src[2] = nt_src_obj(s->event);
	s->src[3] = nt_src_obj(s->ch);
	s->src[4] = nt_src_fd(s->efd, POLLIN);
}

static void sources_unchanged_close(struct sources *s)
{
	struct ntsync_channel_recv2_args msg;

	NT_CHECK_SEM(s->sem, 0, 3);
	NT_CHECK_MUTEX(s->mutex, 77, 1);
	NT_CHECK_EVENT(s->event, 1, 0);
	NT_EXPECT_ERRNO(nt_chan_recv(s->ch, NT_TRY_RECV2, &msg), EAGAIN);
	NT_EXPECT_EQ(nt_eventfd_take(s->efd), 0u);
	close(s->sem);
	close(s->mutex);
	close(s->event);
	close(s->ch);
	close(s->efd);
}

NT_TEST(monotonic_timeout)
{
	struct ntsync_aggregate_wait_args args;
	struct sources s;
	int dev = nt_dev();
	uint64_t start, deadline;

	sources_init(&s, dev);
	/* Before the deadline is taken: the elapsed time then covers it. */
	start = nt_mono_ns();
	nt_agg_args_init(&args, s.src, 5, 1, WAIT_MS);
	deadline = args.timeout;
	NT_ASSERT_ERRNO(nt_agg_raw(dev, &args), ETIMEDOUT);
	NT_EXPECT_GE(nt_mono_ns(), deadline);
	NT_EXPECT_GE(nt_elapsed_ms(start), (uint64_t)WAIT_MS - 1);
	NT_EXPECT_EQ(args.fired_index, NTSYNC_AGG_TIMEOUT);
	sources_unchanged_close(&s);
	close(dev);
}

NT_TEST(realtime_timeout)
{
	uint32_t index = NT_POISON, events;
	struct sources s;
	int dev = nt_dev();
	uint64_t deadline = nt_now_ns(CLOCK_REALTIME) + WAIT_MS * 1000000ull;

	sources_init(&s, dev);
	NT_ASSERT_ERRNO(ntsync_aggregate_wait(dev, s.src, 5, 1, deadline,
					      NTSYNC_AGG_FLAG_REALTIME, &index,
					      &events), ETIMEDOUT);
	NT_EXPECT_GE(nt_now_ns(CLOCK_REALTIME), deadline);
	NT_EXPECT_EQ(index, NTSYNC_AGG_TIMEOUT);
	/* A CLOCK_REALTIME deadline read as monotonic lies far in the
	 * future; read as realtime, the monotonic "now" lies in the past. */
	index = NT_POISON;
	NT_ASSERT_ERRNO(ntsync_aggregate_wait(dev, s.src, 5, 1, nt_mono_ns(),
					      NTSYNC_AGG_FLAG_REALTIME, &index,
					      &events), ETIMEDOUT);
	NT_EXPECT_EQ(index, NTSYNC_AGG_TIMEOUT);
	sources_unchanged_close(&s);
	close(dev);
}

NT_TEST(past_deadline_polls)
{
	static const uint64_t past[] = { 0, 1, 1000 };
	uint32_t index, events;
	struct sources s;
	int dev = nt_dev();

	sources_init(&s, dev);
	for (unsigned int i = 0; i < 3; i++) {
		index = NT_POISON;
		NT_EXPECT_ERRNO(ntsync_aggregate_wait(dev, s.src, 5, 1, past[i],
						      0, &index, &events),
				ETIMEDOUT);
		NT_EXPECT_EQ(index, NTSYNC_AGG_TIMEOUT);
	}
	/* A poll still takes what is ready. */
	nt_release(s.sem, 1);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, s.src, 5, 1, 0, 0, &index,
					   &events));
	NT_EXPECT_EQ(index, 0u);
	sources_unchanged_close(&s);
	close(dev);
}

/* U64_MAX: no timeout; the wait is still there later, then fires. */
NT_TEST(infinite)
{
	struct nt_chan_actor w;
	struct sources s;
	int dev = nt_dev();

	sources_init(&s, dev);
	nt_ca_start(&w, -1, NT_OTHER(0));
	nt_ca_agg_start(&w, dev, s.src, 5, 1, NTSYNC_TIMEOUT_INFINITE);
	nt_sleep_ms(2 * WAIT_MS);
	nt_actor_wait_blocked(&w.a);
	NT_ASSERT_FALSE(nt_ca_idle(&w));
	nt_eventfd_add(s.efd, 1);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 4u);
	NT_EXPECT_EQ(w.fired_events, (uint32_t)POLLIN);
	NT_EXPECT_EQ(nt_eventfd_take(s.efd), 1u);
	nt_ca_stop(&w);
	sources_unchanged_close(&s);
	close(dev);
}

/* A source that fires before the deadline ends the wait early. */
NT_TEST(fires_before_deadline)
{
	struct nt_chan_actor w;
	struct sources s;
	int dev = nt_dev();

	sources_init(&s, dev);
	nt_ca_start(&w, -1, NT_OTHER(0));
	nt_ca_agg_start(&w, dev, s.src, 5, 1, nt_deadline_ms(60000));
	nt_set(s.event);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 2u);
	/* An object source: no poll events. */
	NT_EXPECT_EQ(w.fired_events, 0u);
	NT_ASSERT_EQ(nt_reset(s.event), 1u);
	nt_ca_stop(&w);
	sources_unchanged_close(&s);
	close(dev);
}
