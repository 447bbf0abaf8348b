// SPDX-License-Identifier: GPL-2.0-only
/*
 * 32 sources in one AGGREGATE_WAIT: 16 ntsync objects (semaphores,
 * auto-reset and manual events, mutexes owned by someone else) and 16 fds
 * (eventfds and pipes), in a shuffled order.  Hundreds of rounds: a waiter
 * thread waits on all of them and the test makes one random source fire,
 * while the waiter sleeps or before it starts.  fired_index must name
 * exactly that source, fired_events must be POLLIN for an fd and 0 for an
 * object (what Wine-NSPA reads), exactly that source is
 * consumed (objects) or left as it was (fds), and every other source is
 * unchanged.
 */
#include <poll.h>
#include <unistd.h>

#include "nt_chan.h"

#define N_SRC		32
#define ROUNDS		400
#define OWNER		5
#define HOLDER		9

enum kind { K_SEM, K_AUTO, K_MANUAL, K_MUTEX, K_EVENTFD, K_PIPE };

struct src {
	enum kind kind;
	int fd, peer;
};

static struct {
	int dev;
	struct src s[N_SRC];
	struct ntsync_aggregate_source agg[N_SRC];
} g;

static void take_mutex_as_holder(int mutex)
{
	uint32_t index;

	NT_ASSERT_OK(ntsync_wait_any(g.dev, &mutex, 1, HOLDER, 0,
				     NT_NOW_DEADLINE, 0, &index));
}

static void create_sources(uint32_t *seed)
{
	static const enum kind kinds[6] = { K_SEM, K_AUTO, K_MANUAL, K_MUTEX,
					    K_EVENTFD, K_PIPE };
	unsigned int order[N_SRC];

	/* 4 of each object kind, 8 of each fd kind, shuffled. */
	for (unsigned int i = 0; i < N_SRC; i++)
		order[i] = i;
	for (unsigned int i = N_SRC - 1; i > 0; i--) {
		unsigned int j = nt_rand(seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (unsigned int n = 0; n < N_SRC; n++) {
		struct src *s = &g.s[order[n]];
		enum kind kind = n < 16 ? kinds[n / 4] : kinds[4 + (n - 16) / 8];
		int p[2];

		s->kind = kind;
		s->peer = -1;
		switch (kind) {
		case K_SEM:
			s->fd = nt_sem(g.dev, 0, 1);
			break;
		case K_AUTO:
			s->fd = nt_event(g.dev, 0, 0);
			break;
		case K_MANUAL:
			s->fd = nt_event(g.dev, 1, 0);
			break;
		case K_MUTEX:
			s->fd = nt_mutex(g.dev, 0, 0);
			take_mutex_as_holder(s->fd);
			break;
		case K_EVENTFD:
			s->fd = nt_eventfd();
			break;
		case K_PIPE:
			nt_pipe(p);
			s->fd = p[0];
			s->peer = p[1];
			break;
		}
		g.agg[order[n]] = kind >= K_EVENTFD ?
				  nt_src_fd(s->fd, POLLIN) :
				  nt_src_obj(s->fd);
	}
}

static void fire(struct src *s)
{
	switch (s->kind) {
	case K_SEM:
		nt_release(s->fd, 1);
		break;
	case K_AUTO:
	case K_MANUAL:
		nt_set(s->fd);
		break;
	case K_MUTEX:
		NT_ASSERT_EQ(nt_unlock(s->fd, HOLDER), 1u);
		break;
	case K_EVENTFD:
		nt_eventfd_add(s->fd, 1);
		break;
	case K_PIPE:
		nt_write_byte(s->peer);
		break;
	}
}

/* The wait was satisfied by @s: check what happened to it, restore it. */
static void check_and_restore(struct src *s)
{
	switch (s->kind) {
	case K_SEM:
		NT_CHECK_SEM(s->fd, 0, 1);
		break;
	case K_AUTO:
		NT_CHECK_EVENT(s->fd, 0, 0);
		break;
	case K_MANUAL:
		NT_CHECK_EVENT(s->fd, 1, 1);
		nt_reset(s->fd);
		break;
	case K_MUTEX:
		NT_CHECK_MUTEX(s->fd, OWNER, 1);
		NT_ASSERT_EQ(nt_unlock(s->fd, OWNER), 1u);
		take_mutex_as_holder(s->fd);
		break;
	case K_EVENTFD:
		NT_ASSERT_EQ(nt_eventfd_take(s->fd), 1u);
		break;
	case K_PIPE:
		NT_ASSERT_EQ(nt_drain_fd(s->fd), 1u);
		break;
	}
}

/* Every source in its resting (not firing) state. */
static void check_all_resting(void)
{
	for (unsigned int i = 0; i < N_SRC; i++) {
		struct src *s = &g.s[i];

		switch (s->kind) {
		case K_SEM:
			NT_CHECK_SEM(s->fd, 0, 1);
			break;
		case K_AUTO:
			NT_CHECK_EVENT(s->fd, 0, 0);
			break;
		case K_MANUAL:
			NT_CHECK_EVENT(s->fd, 1, 0);
			break;
		case K_MUTEX:
			NT_CHECK_MUTEX(s->fd, HOLDER, 1);
			break;
		case K_EVENTFD:
			NT_ASSERT_EQ(nt_eventfd_take(s->fd), 0u);
			break;
		case K_PIPE:
			NT_ASSERT_EQ(nt_drain_fd(s->fd), 0u);
			break;
		}
	}
}

NT_TEST_TIMEOUT(random_single_source, 120)
{
	static const char *const names[] = { "semaphore", "auto event",
					     "manual event", "mutex",
					     "eventfd", "pipe" };
	unsigned int blocked = 0, ready = 0, per_kind[6] = { 0 };
	struct nt_chan_actor w;
	uint32_t seed = 0x5ca1ab1e;

	g.dev = nt_dev();
	create_sources(&seed);
	check_all_resting();
	nt_ca_start(&w, -1, NT_OTHER(0));

	for (unsigned int round = 0; round < ROUNDS; round++) {
		uint32_t r = nt_rand(&seed);
		unsigned int i = r % N_SRC;
		bool early = (r >> 8) % 3 == 0;

		if (early) {
			fire(&g.s[i]);
			nt_ca_agg_post(&w, g.dev, g.agg, N_SRC, OWNER,
				       NTSYNC_TIMEOUT_INFINITE);
			ready++;
		} else {
			nt_ca_agg_start(&w, g.dev, g.agg, N_SRC, OWNER,
					NTSYNC_TIMEOUT_INFINITE);
			fire(&g.s[i]);
			blocked++;
		}
		NT_ASSERT_EQ(nt_ca_finish(&w), 0);
		if (w.fired_index != i ||
		    w.fired_events != (g.s[i].kind >= K_EVENTFD ? POLLIN : 0))
			NT_FAIL("round %u: %s at index %u fired (%s), but the wait reported index %u events 0x%x",
				round, names[g.s[i].kind], i,
				early ? "before the wait" : "during the wait",
				w.fired_index, w.fired_events);
		check_and_restore(&g.s[i]);
		per_kind[g.s[i].kind]++;
		if (round % 16 == 15)
			check_all_resting();
	}
	check_all_resting();
	nt_diag("%u rounds (%u during the wait, %u before): %u sem, %u auto, %u manual, %u mutex, %u eventfd, %u pipe",
		ROUNDS, blocked, ready, per_kind[0], per_kind[1], per_kind[2],
		per_kind[3], per_kind[4], per_kind[5]);
	nt_ca_stop(&w);
	for (unsigned int i = 0; i < N_SRC; i++) {
		close(g.s[i].fd);
		if (g.s[i].peer >= 0)
			close(g.s[i].peer);
	}
	close(g.dev);
}
