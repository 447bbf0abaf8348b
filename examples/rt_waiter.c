// SPDX-License-Identifier: GPL-2.0-only
/*
 * rt_waiter: an audio-style real-time thread on ntsync, with a PI mutex.
 *
 * Three threads share a "period" event and a "buffer" mutex:
 *
 *   clock   SCHED_FIFO 80: signals the period event every PERIOD_US
 *           microseconds (what a sound card interrupt does for a real
 *           audio engine);
 *   audio   SCHED_FIFO 70: waits with WAIT_ALL for the period event AND the
 *           buffer mutex, so it wakes only when a period has elapsed and it
 *           owns the buffer; "mixes" for a short while; unlocks;
 *   worker  SCHED_OTHER: keeps taking the buffer mutex to "refill" the
 *           buffer, holding it for a while each time.
 *
 * When the audio thread waits while the worker holds the buffer, the
 * ntsync-nspa driver lends the audio thread's priority to the worker (mutex
 * priority inheritance): the worker, which checks its own scheduling policy
 * while it holds the mutex, sees itself at SCHED_FIFO 70 and finishes
 * sooner.  Upstream ntsync has no such boost: there, a medium-priority task
 * could keep the worker, and so the audio thread, waiting.
 *
 * Real-time priorities need CAP_SYS_NICE or an RLIMIT_RTPRIO of at least
 * 80 (e.g. "ulimit -r 80"); without them the program runs without them and
 * says so.
 *
 * Build against an installed libntsync:
 *   cc -O2 -pthread rt_waiter.c $(pkg-config --cflags --libs libntsync)
 * Run: ./rt_waiter [PERIODS [PERIOD_US]]     (default 200 periods of 5 ms)
 *
 * Exit status 0 when every period was processed, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ntsync.h>

#define AUDIO_PRIO	70
/* Above the audio thread, as a sound card's interrupt thread would be: a
 * SCHED_OTHER clock would wait behind every real-time thread, the worker
 * included while it is boosted. */
#define CLOCK_PRIO	80
#define MIX_US		300	/* audio work per period */
#define REFILL_US	1500	/* worker's time holding the buffer */
#define REFILL_GAP_US	500	/* worker's pause between refills */

static int dev, period_ev, buffer_mutex;
static unsigned int periods = 200, period_us = 5000;

static atomic_bool stop;
static _Atomic uint64_t period_set_ns;	/* when the clock last signaled */

/* Audio results. */
static unsigned int processed, failures;
static uint64_t lat_min = UINT64_MAX, lat_max, lat_sum;

/* Worker results. */
static unsigned int refills, boosted_refills;

static void spin_us(unsigned int us, int *saw_rt)
{
	uint64_t end = ntsync_now_ns(CLOCK_MONOTONIC) + us * 1000ull;

	while (ntsync_now_ns(CLOCK_MONOTONIC) < end) {
		/* Boosts carry SCHED_RESET_ON_FORK, which shows in the policy. */
		int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;

		if (saw_rt && (policy == SCHED_FIFO || policy == SCHED_RR))
			*saw_rt = 1;
	}
}

static void *clock_thread(void *arg)
{
	uint64_t next = ntsync_now_ns(CLOCK_MONOTONIC);
	uint32_t prev;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct timespec ts;

		next += period_us * 1000ull;
		ts.tv_sec = (time_t)(next / 1000000000u);
		ts.tv_nsec = (long)(next % 1000000000u);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
		atomic_store(&period_set_ns, ntsync_now_ns(CLOCK_MONOTONIC));
		ntsync_event_set(period_ev, &prev);
	}
	return NULL;
}

static void *audio_thread(void *arg)
{
	uint32_t owner = (uint32_t)gettid();
	int objs[2] = { period_ev, buffer_mutex };

	(void)arg;
	for (unsigned int i = 0; i < periods; i++) {
		uint32_t index, prev_count;
		uint64_t woke, lat;
		int ret;

		/* A period is late after 4 period lengths: give up then. */
		ret = ntsync_wait_all(dev, objs, 2, owner, NTSYNC_NO_ALERT,
				      ntsync_deadline_ns(CLOCK_MONOTONIC,
							 4ll * period_us * 1000),
				      0, &index);
		woke = ntsync_now_ns(CLOCK_MONOTONIC);
		if (ret != 0) {
			fprintf(stderr, "audio: period %u: wait: %s\n", i,
				strerror(-ret));
			failures++;
			continue;
		}
		lat = woke - atomic_load(&period_set_ns);
		lat_sum += lat;
		if (lat < lat_min)
			lat_min = lat;
		if (lat > lat_max)
			lat_max = lat;

		spin_us(MIX_US, NULL);		/* mix into the buffer */
		processed++;

		ret = ntsync_mutex_unlock(buffer_mutex, owner, &prev_count);
		if (ret) {
			fprintf(stderr, "audio: unlock: %s\n", strerror(-ret));
			failures++;
		}
	}
	atomic_store(&stop, 1);
	return NULL;
}

static void *worker_thread(void *arg)
{
	uint32_t owner = (uint32_t)gettid();

	(void)arg;
	while (!atomic_load(&stop)) {
		uint32_t index, prev_count;
		int ret, saw_rt = 0;

		ret = ntsync_wait_any(dev, &buffer_mutex, 1, owner,
				      NTSYNC_NO_ALERT,
				      ntsync_deadline_ns(CLOCK_MONOTONIC,
							 100000000), 0, &index);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret) {
			fprintf(stderr, "worker: wait: %s\n", strerror(-ret));
			break;
		}
		spin_us(REFILL_US, &saw_rt);	/* refill, watching our policy */
		refills++;
		boosted_refills += saw_rt;
		ret = ntsync_mutex_unlock(buffer_mutex, owner, &prev_count);
		if (ret) {
			fprintf(stderr, "worker: unlock: %s\n", strerror(-ret));
			break;
		}
		usleep(REFILL_GAP_US);
	}
	return NULL;
}

/* Start a thread at SCHED_FIFO @prio if allowed; 1 if it is RT. */
static int start_rt(pthread_t *thread, void *(*fn)(void *), int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &sp);
	ret = pthread_create(thread, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	if (ret == 0)
		return 1;
	if (ret != EPERM) {
		fprintf(stderr, "pthread_create: %s\n", strerror(ret));
		exit(1);
	}
	if (prio == AUDIO_PRIO)
		printf("note: no permission for SCHED_FIFO (CAP_SYS_NICE or "
		       "ulimit -r %d): running without real-time priorities,\n"
		       "      so there is nothing for the mutex to inherit\n",
		       CLOCK_PRIO);
	ret = pthread_create(thread, NULL, fn, NULL);
	if (ret) {
		fprintf(stderr, "pthread_create: %s\n", strerror(ret));
		exit(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t clock_th, audio_th, worker_th;
	int rt;

	if (argc > 1)
		periods = (unsigned int)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		period_us = (unsigned int)strtoul(argv[2], NULL, 0);
	if (!periods || period_us < 1000) {
		fprintf(stderr, "usage: %s [PERIODS [PERIOD_US >= 1000]]\n",
			argv[0]);
		return 2;
	}

	dev = ntsync_open();
	if (dev < 0) {
		fprintf(stderr, "ntsync_open: %s (is the ntsync module loaded? "
			"try ntsync-stat --check)\n", strerror(-dev));
		return 1;
	}
	period_ev = ntsync_event_create(dev, 0, 0);	/* auto-reset */
	buffer_mutex = ntsync_mutex_create(dev, 0, 0);	/* unowned */
	if (period_ev < 0 || buffer_mutex < 0) {
		fprintf(stderr, "creating objects failed\n");
		return 1;
	}

	pthread_create(&worker_th, NULL, worker_thread, NULL);
	rt = start_rt(&audio_th, audio_thread, AUDIO_PRIO);
	start_rt(&clock_th, clock_thread, CLOCK_PRIO);

	pthread_join(audio_th, NULL);
	pthread_join(clock_th, NULL);
	pthread_join(worker_th, NULL);

	if (rt)
		printf("audio thread: SCHED_FIFO %d", AUDIO_PRIO);
	else
		printf("audio thread: SCHED_OTHER");
	printf(", %u of %u periods of %u us processed\n", processed, periods,
	       period_us);
	if (processed)
		printf("wake-up after the period (event + buffer): "
		       "min %.1f us, avg %.1f us, max %.1f us\n",
		       lat_min / 1e3, (double)lat_sum / processed / 1e3,
		       lat_max / 1e3);
	printf("worker: %u refills, %u of them boosted to real-time by the "
	       "waiting audio thread (mutex PI)\n", refills, boosted_refills);

	ntsync_close(period_ev);
	ntsync_close(buffer_mutex);
	ntsync_close(dev);
	return processed == periods && !failures ? 0 : 1;
}
