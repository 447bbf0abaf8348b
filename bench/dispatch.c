// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: a channel holding n DISPATCHED requests (raw-sections'
 * REPLY rows, latency-trace).  n sender threads loop in SEND_PI (prio 0,
 * payload_off = their index); the caller takes their requests with RECV2
 * and keeps the ids in a ring, oldest first, without replying.  A sender
 * that is replied to sends again at once, so the caller can keep n
 * constant by taking one request per reply.  With d->tokens, each sender
 * first registers its tid with the token DISPATCH_TOKEN(index), and every
 * take checks the token RECV2 returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"

static void *dispatch_sender_main(void *arg)
{
	struct dispatch_sender *t = arg;
	struct dispatch *d = t->d;
	int ret = 0, zero = 0;

	atomic_store(&t->tid, bench_gettid());
	sched_self(SCHED_OTHER, 0);
	if (d->tokens)
		ret = ntsync_channel_register_thread(d->ch, (uint32_t)atomic_load(&t->tid),
						     DISPATCH_TOKEN(t->idx));
	while (!ret && !atomic_load(&d->stop)) {
		ret = ntsync_channel_send(d->ch, 0, 0, t->idx, 0);
		/* max_depth requests pending: the receiver is behind. */
		if (ret == -EAGAIN)
			sleep_ns(1000000);
		if (ret == -EAGAIN || ret == -EINTR)
			ret = 0;
	}
	if (ret)
		atomic_compare_exchange_strong(&d->err, &zero, ret);
	atomic_store(&t->done, 1);
	return NULL;
}

int dispatch_init(struct dispatch *d, int ch, unsigned int n)
{
	memset(d, 0, sizeof(*d));
	d->ch = ch;
	d->n = n;
	d->snd = calloc(n ? n : 1, sizeof(*d->snd));
	d->id = calloc(n ? n : 1, sizeof(*d->id));
	d->who = calloc(n ? n : 1, sizeof(*d->who));
	d->cap = n;
	if (!d->snd || !d->id || !d->who) {
		free(d->snd);
		free(d->id);
		free(d->who);
		d->snd = NULL;
		d->id = NULL;
		d->who = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Senders started and not taken yet, at most: below any max_depth, so
 * that no sender meets a full channel (EAGAIN, then a retry every ms). */
#define DISPATCH_CHUNK	256

int dispatch_fill(struct dispatch *d, size_t stack)
{
	struct ntsync_channel_recv2_args a;
	unsigned int i;
	int ret;

	for (i = 0; i < d->n; i++) {
		d->snd[i].d = d;
		d->snd[i].idx = i;
		ret = thread_start_stack(&d->snd[i].th, dispatch_sender_main,
					 &d->snd[i], stack);
		if (ret) {
			d->failed = "starting senders";
			return ret;
		}
		d->started++;
		if (d->started % DISPATCH_CHUNK && d->started < d->n)
			continue;
		while (d->count < d->started) {
			ret = dispatch_take(d, &a);
			if (ret) {
				d->failed = "RECV2";
				return ret;
			}
		}
	}
	return 0;
}

int dispatch_take(struct dispatch *d, struct ntsync_channel_recv2_args *a)
{
	int ret;

	/* A watchdog bounds the wait (the caller installed a SIGALRM
	 * handler without SA_RESTART). */
	alarm(30);
	ret = ntsync_channel_recv2(d->ch, a);
	alarm(0);
	if (!ret && d->tokens && a->thread_token != DISPATCH_TOKEN(a->payload_off))
		ret = -EBADMSG;
	if (ret)
		return ret;
	d->who[(d->head + d->count) % d->cap] = (unsigned int)a->payload_off;
	d->id[(d->head + d->count++) % d->cap] = a->entry_id;
	return 0;
}

uint64_t dispatch_pop_oldest(struct dispatch *d)
{
	uint64_t id = d->id[d->head];

	d->head = (d->head + 1) % d->cap;
	d->count--;
	return id;
}

uint64_t dispatch_pop_newest(struct dispatch *d)
{
	return d->id[(d->head + --d->count) % d->cap];
}

pid_t dispatch_sender_of(struct dispatch *d, bool oldest)
{
	unsigned int pos = oldest ? d->head : (d->head + d->count - 1) % d->cap;
	unsigned int who = d->who[pos];

	return who < d->started ? atomic_load(&d->snd[who].tid) : 0;
}

int dispatch_stop(struct dispatch *d)
{
	struct ntsync_channel_recv2_args a;
	unsigned int i;

	atomic_store(&d->stop, 1);
	while (d->count)
		ntsync_channel_reply(d->ch, dispatch_pop_oldest(d));
	/* A sender may have sent once more before it saw stop. */
	for (i = 0; i < d->started; i++) {
		while (!atomic_load(&d->snd[i].done)) {
			while (ntsync_channel_try_recv2(d->ch, &a) == 0)
				ntsync_channel_reply(d->ch, a.entry_id);
			sleep_ns(200000);
		}
		pthread_join(d->snd[i].th, NULL);
	}
	free(d->id);
	free(d->who);
	free(d->snd);
	d->id = NULL;
	d->who = NULL;
	d->snd = NULL;
	d->started = 0;
	return atomic_load(&d->err);
}
