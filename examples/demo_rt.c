// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-demo, steps 5 to 7: real-time wake-ups.
 *
 *  5. five SCHED_FIFO threads queue on one semaphore in a mixed-up order;
 *     each release wakes the most urgent one, not the first that came;
 *  6. EVENT_SET_PI: an audio thread signals an event with its own
 *     priority, and the SCHED_OTHER thread that consumes the signal runs at
 *     that priority until its next wait;
 *  7. a channel: a SCHED_OTHER server ("wineserver") serves an audio
 *     thread's request at the audio thread's priority, until its REPLY.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <linux/ntsync.h>
#include <ntsync.h>
#include "demo.h"

/* ---- Step 5: wake-up order ------------------------------------------ */

#define ORDER_N	5

struct order_step {
	int dev, sem;
	atomic_int woken;		/* how many have woken so far */
	unsigned int order[ORDER_N];	/* priorities, in wake-up order */
};

struct order_waiter {
	struct order_step *st;
	unsigned int prio;
	atomic_int tid;
	int ret, sched_ret;
};

static void *order_waiter_main(void *p)
{
	struct order_waiter *w = p;
	uint32_t idx;

	w->sched_ret = demo_sched_set(SCHED_FIFO, w->prio, 0);
	atomic_store(&w->tid, demo_tid());
	if (w->sched_ret)
		return NULL;
	w->ret = ntsync_wait_any(w->st->dev, &w->st->sem, 1, 1, NTSYNC_NO_ALERT,
				 demo_deadline_ms(10000), 0, &idx);
	if (!w->ret)
		w->st->order[atomic_fetch_add(&w->st->woken, 1)] = w->prio;
	return NULL;
}

static void print_prios(const char *label, const unsigned int *prio)
{
	int i;

	printf("  %-42s", label);
	for (i = 0; i < ORDER_N; i++)
		printf(" FIFO %-2u%s", prio[i], i < ORDER_N - 1 ? "," : "\n");
}

void demo_step_wake_order(int dev)
{
	/* Arrival order; a release should pick them by priority instead. */
	static const unsigned int arrival[ORDER_N] = { 20, 50, 10, 40, 30 };
	static const unsigned int by_prio[ORDER_N] = { 50, 40, 30, 20, 10 };
	struct order_step st = { .dev = dev };
	struct order_waiter w[ORDER_N];
	pthread_t th[ORDER_N];
	int i, started = 0, ret;
	uint32_t prev;
	uint64_t end;
	bool queued = true;

	printf("\n5. Wake-up order: five real-time threads wait on one semaphore\n");
	st.sem = ntsync_sem_create(dev, 0, ORDER_N);
	CHECK(st.sem >= 0, "SEM_CREATE: %s", demo_err(st.sem));
	if (st.sem < 0)
		return;
	/* One at a time, each asleep before the next comes. */
	for (i = 0; i < ORDER_N; i++) {
		w[i] = (struct order_waiter){ .st = &st, .prio = arrival[i] };
		if (!demo_start(&th[i], order_waiter_main, &w[i]))
			break;
		started++;
		while (!atomic_load(&w[i].tid))
			demo_sleep_ms(1);
		if (w[i].sched_ret || !demo_wait_state(w[i].tid, 'S', 5000))
			queued = false;
	}
	print_prios("they queued (first come first):", arrival);
	CHECK(queued && started == ORDER_N, "the waiters did not all queue%s",
	      w[0].sched_ret ? ": " DEMO_NEED_RT : "");
	/* One count per release: each wakes exactly one waiter. */
	for (i = 0; i < started; i++) {
		ret = ntsync_sem_release(st.sem, 1, &prev);
		CHECK(ret == 0, "SEM_RELEASE: %s", demo_err(ret));
		end = demo_now_ns() + 5000000000ull;
		while (atomic_load(&st.woken) <= i && demo_now_ns() < end)
			demo_sleep_ms(1);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	print_prios("one release at a time woke them in order:", st.order);
	print_prios("first come, first served would have been:", arrival);
	CHECK(atomic_load(&st.woken) == ORDER_N &&
	      !memcmp(st.order, by_prio, sizeof(by_prio)),
	      "expected the highest priority first");
	ntsync_close(st.sem);
}

/* ---- Step 6: EVENT_SET_PI -------------------------------------------- */

#define SETPI_PRIO	70

struct setpi_step {
	int dev, ev, idle;
	atomic_int tid;
	int ret, drain_ret;
	struct demo_sched before, woken, after;
};

static void *setpi_waiter(void *p)
{
	struct setpi_step *st = p;
	uint32_t idx;

	demo_sched_set(SCHED_OTHER, 0, 0);
	st->before = demo_sched_self();
	atomic_store(&st->tid, demo_tid());
	st->ret = ntsync_wait_any(st->dev, &st->ev, 1, 1, NTSYNC_NO_ALERT,
				  demo_deadline_ms(10000), 0, &idx);
	st->woken = demo_sched_self();
	/* Its next wait (here one that times out at once) ends the boost. */
	st->drain_ret = ntsync_wait_any(st->dev, &st->idle, 1, 1,
					NTSYNC_NO_ALERT, 0, 0, &idx);
	st->after = demo_sched_self();
	return NULL;
}

void demo_step_event_set_pi(int dev)
{
	struct setpi_step st = { .dev = dev };
	struct demo_sched me = demo_sched_self();
	struct demo_sched want = { SCHED_FIFO, SETPI_PRIO, 0 };
	pthread_t th;
	uint32_t prev;
	int ret;

	printf("\n6. EVENT_SET_PI: an event signal that carries the signaller's priority\n");
	st.ev = ntsync_event_create(dev, 0, 0);
	st.idle = ntsync_event_create(dev, 0, 0);
	CHECK(st.ev >= 0 && st.idle >= 0, "EVENT_CREATE failed");
	if (st.ev < 0 || st.idle < 0 || !demo_start(&th, setpi_waiter, &st))
		return;
	while (!atomic_load(&st.tid))
		demo_sleep_ms(1);
	CHECK(demo_wait_state(st.tid, 'S', 5000), "the decoder did not block");
	printf("  decoder thread, %s, waits for an auto-reset event\n",
	       demo_sched_str(st.before, 0));
	/* This thread plays the audio thread for the signal. */
	ret = demo_sched_set(SCHED_FIFO, SETPI_PRIO, 0);
	CHECK(ret == 0, "%s", DEMO_NEED_RT);
	if (!ret)
		ret = ntsync_event_set_pi(st.ev, SCHED_FIFO, SETPI_PRIO);
	printf("  audio thread, %s, signals it with EVENT_SET_PI(SCHED_FIFO, %d): %s\n",
	       demo_sched_str(demo_sched_self(), 1), SETPI_PRIO, demo_err(ret));
	demo_sched_set(me.policy, me.prio, me.nice);
	if (ret)
		ntsync_event_set(st.ev, &prev);
	pthread_join(th, NULL);
	printf("  the decoder's wait returns: %s\n", demo_err(st.ret));
	printf("  %-46s %s%s\n", "the decoder's own view now:",
	       demo_sched_str(st.woken, 0),
	       demo_sched_eq(st.woken, want) ? "  <- the signaller's priority" : "");
	printf("  %-46s %s\n", "after its next wait:",
	       demo_sched_str(st.after, 0));
	CHECK(ret == 0 && st.ret == 0 && demo_sched_eq(st.woken, want),
	      "expected the decoder at %s", demo_sched_str(want, 1));
	CHECK(st.drain_ret == -ETIMEDOUT && demo_sched_eq(st.after, st.before),
	      "expected the decoder's own attributes back");
	ntsync_close(st.ev);
	ntsync_close(st.idle);
}

/* ---- Step 7: a channel round trip ------------------------------------ */

#define CHAN_PRIO	60

struct chan_step {
	int dev, chan;
	atomic_int tid, client_done;
	char arena[2][64];	/* [0] the request, [1] the reply */
	int wait_ret, recv_ret, reply_ret, send_ret, sched_ret;
	uint32_t fired;
	struct ntsync_channel_recv2_args req;
	struct demo_sched before, serving, after;
};

static void *chan_server(void *p)
{
	struct chan_step *st = p;
	struct ntsync_aggregate_source src = {
		.type = NTSYNC_AGG_OBJECT, .fd = (uint32_t)st->chan,
	};
	char request[sizeof(st->arena[0])];

	demo_sched_set(SCHED_OTHER, 0, 0);
	st->before = demo_sched_self();
	atomic_store(&st->tid, demo_tid());
	st->wait_ret = ntsync_aggregate_wait(st->dev, &src, 1, 1,
					     demo_deadline_ms(10000), 0,
					     &st->fired, NULL);
	st->recv_ret = ntsync_channel_try_recv2(st->chan, &st->req);
	if (!st->recv_ret && (st->req.payload_off > 1 || st->req.reply_off > 1))
		st->recv_ret = -EBADMSG;
	if (st->recv_ret)
		return NULL;
	st->serving = demo_sched_self();
	memcpy(request, st->arena[st->req.payload_off], sizeof(request));
	request[sizeof(request) - 1] = 0;
	snprintf(st->arena[st->req.reply_off], sizeof(st->arena[0]),
		 "served: %.40s", request);
	st->reply_ret = ntsync_channel_reply(st->chan, st->req.entry_id);
	st->after = demo_sched_self();
	return NULL;
}

static void *chan_client(void *p)
{
	struct chan_step *st = p;

	st->sched_ret = demo_sched_set(SCHED_FIFO, CHAN_PRIO, 0);
	if (!st->sched_ret) {
		snprintf(st->arena[0], sizeof(st->arena[0]), "get_buffer(period 42)");
		/* The kernel carries two offsets; here they index st->arena. */
		st->send_ret = ntsync_channel_send(st->chan, SCHED_FIFO, CHAN_PRIO,
						   0, 1);
	}
	atomic_store(&st->client_done, 1);
	return NULL;
}

/* For SIGUSR1 without SA_RESTART: a send nobody received returns EINTR. */
static void chan_interrupt(int sig)
{
	(void)sig;
}

/* Join the client; if the server never took its request, withdraw it. */
static void chan_join_client(struct chan_step *st, pthread_t client)
{
	struct sigaction sa = { .sa_handler = chan_interrupt };

	if (st->recv_ret) {
		sigaction(SIGUSR1, &sa, NULL);
		while (!atomic_load(&st->client_done)) {
			pthread_kill(client, SIGUSR1);
			demo_sleep_ms(100);
		}
	}
	pthread_join(client, NULL);
}

void demo_step_channel(int dev)
{
	struct chan_step st = { .dev = dev, .send_ret = 1 };
	struct demo_sched want = { SCHED_FIFO, CHAN_PRIO, 0 };
	pthread_t server, client;

	printf("\n7. A channel: a request is served at its sender's priority\n");
	st.chan = ntsync_channel_create(dev, 16);
	CHECK(st.chan >= 0, "CREATE_CHANNEL: %s", demo_err(st.chan));
	if (st.chan < 0 || !demo_start(&server, chan_server, &st))
		return;
	while (!atomic_load(&st.tid))
		demo_sleep_ms(1);
	CHECK(demo_wait_state(st.tid, 'S', 5000), "the server did not block");
	printf("  server (\"wineserver\"), %s, sleeps in AGGREGATE_WAIT on the channel\n",
	       demo_sched_str(st.before, 0));
	if (!demo_start(&client, chan_client, &st)) {
		/* The server's wait times out; nothing was sent. */
		pthread_join(server, NULL);
		ntsync_close(st.chan);
		return;
	}
	pthread_join(server, NULL);
	chan_join_client(&st, client);
	printf("  audio thread, %s, sends \"%s\" with SEND_PI(SCHED_FIFO, %d)\n",
	       demo_sched_str(want, 1), st.arena[0], CHAN_PRIO);
	printf("  the server takes it (request prio %u)\n", st.req.prio);
	printf("  %-46s %s%s\n", "the server's own view while it serves it:",
	       demo_sched_str(st.serving, 0),
	       demo_sched_eq(st.serving, want) ? "  <- the sender's priority" : "");
	printf("  %-46s %s\n", "after its REPLY:",
	       demo_sched_str(st.after, 0));
	printf("  the audio thread's send returns (%s) with the reply \"%s\"\n",
	       demo_err(st.send_ret), st.arena[1]);
	CHECK(!st.sched_ret, "%s", DEMO_NEED_RT);
	CHECK(st.wait_ret == 0 && st.recv_ret == 0 && st.reply_ret == 0 &&
	      st.send_ret == 0, "aggregate wait %s, receive %s, reply %s, send %s",
	      demo_err(st.wait_ret), demo_err(st.recv_ret),
	      demo_err(st.reply_ret), demo_err(st.send_ret));
	CHECK(demo_sched_eq(st.serving, want) && st.req.prio == CHAN_PRIO,
	      "expected the server at %s", demo_sched_str(want, 1));
	CHECK(demo_sched_eq(st.after, st.before),
	      "expected the server's own attributes back after REPLY");
	CHECK(!strcmp(st.arena[1], "served: get_buffer(period 42)"),
	      "wrong reply \"%s\"", st.arena[1]);
	ntsync_close(st.chan);
}
