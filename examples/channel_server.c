// SPDX-License-Identifier: GPL-2.0-only
/*
 * channel_server: a request/reply server on an ntsync-nspa channel, in the
 * style of Wine-NSPA's wineserver dispatcher.
 *
 * Sender threads (the "clients") put a request into their slot of a shared
 * arena and call ntsync_channel_send() with the slot's offsets; the call
 * sleeps until the server has replied.  Each sender registered its thread
 * id with a token (its slot number + 1), which the server gets back with
 * every request it receives through RECV2.
 *
 * The dispatcher thread (the "server") sleeps in ntsync_aggregate_wait() on
 * the channel and a quit event.  When the channel fires, it takes one
 * request with ntsync_channel_recv2(), serves and replies to it, and then
 * drains whatever arrived meanwhile with ntsync_channel_try_recv2() until
 * -EAGAIN, without a wait per request: the burst drain.  It counts how many
 * requests each wake-up served.
 *
 * If the caller may use real-time priorities (CAP_SYS_NICE, or ulimit -r
 * 50), sender 0 sends its requests at SCHED_FIFO 50: they are served before
 * the others, and the dispatcher runs at that priority while it serves them.
 *
 * The kernel only carries the two offsets; here the arena is plain memory
 * of one process, in Wine-NSPA it is memory shared between processes.
 *
 * Build against an installed libntsync:
 *   cc -O2 -pthread channel_server.c $(pkg-config --cflags --libs libntsync)
 * Run: ./channel_server [SENDERS [REQUESTS_PER_SENDER]]   (default 4 1000)
 *
 * Exit status 0 when every request got the right reply, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include <ntsync.h>

#define MAX_SENDERS	16
#define RT_PRIO		50
#define SERVE_NS	20000	/* the server's work per request */

struct request {
	uint32_t sender;
	uint32_t seq;
	uint64_t a, b;
};

struct reply {
	uint64_t sum;
	uint64_t token;		/* the token the server received */
};

/* The shared arena: one request and one reply slot per sender. */
static struct slot {
	struct request req;
	struct reply rep;
} arena[MAX_SENDERS];

static int dev, channel, quit_event;
static unsigned int nsenders = 4, nrequests = 1000;
static pthread_barrier_t start;

/* Sender results (each sender writes its own entry). */
static struct {
	unsigned int ok, bad;
	int prio;
} results[MAX_SENDERS];

/* Dispatcher results. */
static unsigned int wakeups, by_recv2, by_drain, at_prio, bursts[MAX_SENDERS + 2];

static uint64_t off_of(const void *p)
{
	return (uint64_t)((const char *)p - (const char *)arena);
}

static void *at_off(uint64_t off, size_t size)
{
	if (off > sizeof(arena) || size > sizeof(arena) - off)
		return NULL;
	return (char *)arena + off;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = ntsync_now_ns(CLOCK_MONOTONIC) + ns;

	while (ntsync_now_ns(CLOCK_MONOTONIC) < end)
		;
}

/* Serve one received request and reply to it.  0, or -1 on a bad request. */
static int serve(const struct ntsync_channel_recv2_args *in)
{
	struct request *req = at_off(in->payload_off, sizeof(*req));
	struct reply *rep = at_off(in->reply_off, sizeof(*rep));
	int ret;

	if (!req || !rep) {
		fprintf(stderr, "server: request %llu: bad offsets\n",
			(unsigned long long)in->entry_id);
		ntsync_channel_reply(channel, in->entry_id);
		return -1;
	}
	spin_ns(SERVE_NS);
	rep->sum = req->a + req->b;
	rep->token = in->thread_token;
	if (in->prio)
		at_prio++;
	ret = ntsync_channel_reply(channel, in->entry_id);
	if (ret) {
		fprintf(stderr, "server: reply: %s\n", strerror(-ret));
		return -1;
	}
	return 0;
}

static void *dispatcher(void *arg)
{
	const struct ntsync_aggregate_source src[2] = {
		{ .type = NTSYNC_AGG_OBJECT, .fd = (uint32_t)channel },
		{ .type = NTSYNC_AGG_OBJECT, .fd = (uint32_t)quit_event },
	};
	struct ntsync_channel_recv2_args in;
	int failed = 0;

	(void)arg;
	for (;;) {
		uint32_t fired, events, burst = 0;
		int ret;

		ret = ntsync_aggregate_wait(dev, src, 2, 0,
					    NTSYNC_TIMEOUT_INFINITE, 0,
					    &fired, &events);
		if (ret) {
			fprintf(stderr, "server: aggregate wait: %s\n",
				strerror(-ret));
			failed = 1;
			break;
		}
		if (fired == 1)		/* quit: every sender is done */
			break;

		/* The channel has a request: take it, then drain the burst. */
		wakeups++;
		ret = ntsync_channel_recv2(channel, &in);
		if (ret == 0) {
			by_recv2++;
			burst++;
			failed |= serve(&in);
			while ((ret = ntsync_channel_try_recv2(channel, &in)) == 0) {
				by_drain++;
				burst++;
				failed |= serve(&in);
			}
		}
		if (ret != -EAGAIN) {
			fprintf(stderr, "server: receive: %s\n", strerror(-ret));
			failed = 1;
			break;
		}
		bursts[burst > MAX_SENDERS ? MAX_SENDERS + 1 : burst]++;
	}
	return (void *)(intptr_t)failed;
}

/*
 * Whether this thread could run at SCHED_FIFO @prio itself, which is what
 * the driver asks of a sender that requests that priority: try it, and go
 * back to SCHED_OTHER (always allowed).
 */
static int may_use_rt_prio(int prio)
{
	struct sched_param rt = { .sched_priority = prio }, other = { 0 };

	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt))
		return 0;
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
	return 1;
}

static void *sender(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	struct slot *slot = &arena[id];
	uint32_t tid = (uint32_t)gettid();
	uint64_t token = id + 1;
	uint32_t policy = 0, prio = 0;
	int ret;

	ret = ntsync_channel_register_thread(channel, tid, token);
	if (ret) {
		fprintf(stderr, "sender %u: register: %s\n", id, strerror(-ret));
		results[id].bad = nrequests;
		pthread_barrier_wait(&start);
		return NULL;
	}
	/* Sender 0 asks for real-time service if it may. */
	if (id == 0 && may_use_rt_prio(RT_PRIO)) {
		policy = SCHED_FIFO;
		prio = RT_PRIO;
	}
	results[id].prio = (int)prio;
	pthread_barrier_wait(&start);

	for (unsigned int i = 0; i < nrequests; i++) {
		slot->req = (struct request){ .sender = id, .seq = i,
					      .a = 1000ull * id, .b = i };
		memset(&slot->rep, 0, sizeof(slot->rep));
		do {
			ret = ntsync_channel_send(channel, policy, prio,
						  off_of(&slot->req),
						  off_of(&slot->rep));
			if (ret == -EAGAIN)	/* channel full: try again */
				sched_yield();
		} while (ret == -EAGAIN);
		if (ret) {
			fprintf(stderr, "sender %u: send: %s\n", id,
				strerror(-ret));
			results[id].bad += nrequests - i;
			break;
		}
		if (slot->rep.sum == slot->req.a + slot->req.b &&
		    slot->rep.token == token)
			results[id].ok++;
		else
			results[id].bad++;
	}

	ret = ntsync_channel_deregister_thread(channel, tid);
	if (ret)
		fprintf(stderr, "sender %u: deregister: %s\n", id,
			strerror(-ret));
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t server, senders[MAX_SENDERS];
	unsigned int ok = 0, bad = 0;
	void *server_failed;
	uint32_t prev;

	if (argc > 1)
		nsenders = (unsigned int)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		nrequests = (unsigned int)strtoul(argv[2], NULL, 0);
	if (!nsenders || nsenders > MAX_SENDERS || !nrequests) {
		fprintf(stderr, "usage: %s [SENDERS (1..%d) [REQUESTS]]\n",
			argv[0], MAX_SENDERS);
		return 2;
	}

	dev = ntsync_open();
	if (dev < 0) {
		fprintf(stderr, "ntsync_open: %s (is the ntsync module loaded? "
			"try ntsync-stat --check)\n", strerror(-dev));
		return 1;
	}
	channel = ntsync_channel_create(dev, MAX_SENDERS);
	quit_event = ntsync_event_create(dev, 1, 0);
	if (channel < 0 || quit_event < 0) {
		fprintf(stderr, "creating the channel: %s\n",
			strerror(-(channel < 0 ? channel : quit_event)));
		return 1;
	}

	pthread_barrier_init(&start, NULL, nsenders + 1);
	pthread_create(&server, NULL, dispatcher, NULL);
	for (unsigned int i = 0; i < nsenders; i++)
		pthread_create(&senders[i], NULL, sender, (void *)(uintptr_t)i);
	pthread_barrier_wait(&start);
	for (unsigned int i = 0; i < nsenders; i++)
		pthread_join(senders[i], NULL);
	ntsync_event_set(quit_event, &prev);
	pthread_join(server, &server_failed);

	for (unsigned int i = 0; i < nsenders; i++) {
		ok += results[i].ok;
		bad += results[i].bad;
	}
	printf("%u senders x %u requests: %u correct replies, %u wrong or "
	       "missing\n", nsenders, nrequests, ok, bad);
	if (results[0].prio)
		printf("sender 0 sent at SCHED_FIFO %d; %u requests were served "
		       "at a real-time priority\n", results[0].prio, at_prio);
	else
		printf("no real-time permission: every request sent with "
		       "priority 0\n");
	printf("dispatcher: %u wake-ups, %u requests taken by RECV2 and %u "
	       "by the TRY_RECV2 drain\n", wakeups, by_recv2, by_drain);
	printf("requests per wake-up:");
	for (unsigned int i = 1; i <= MAX_SENDERS + 1; i++)
		if (bursts[i])
			printf(" %s%u: %u", i > MAX_SENDERS ? ">" : "",
			       i > MAX_SENDERS ? MAX_SENDERS : i, bursts[i]);
	printf("\n");

	ntsync_close(channel);
	ntsync_close(quit_event);
	ntsync_close(dev);
	return !bad && !server_failed && ok == nsenders * nrequests ? 0 : 1;
}
