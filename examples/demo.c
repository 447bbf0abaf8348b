// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-demo: a guided tour of /dev/ntsync through libntsync, in two
 * parts.  What upstream ntsync does too (this file):
 *
 *  1. a thread blocks in WAIT_ANY and is woken by a semaphore release;
 *  2. WAIT_ALL takes a semaphore, a mutex and an event in one atomic step;
 *  3. a mutex owner "dies" (MUTEX_KILL) and the next waiter gets
 *     EOWNERDEAD together with the mutex.
 *
 * What only ntsync-nspa does, for real-time audio (demo_pi.c, demo_rt.c):
 *
 *  4. priority inheritance: a SCHED_OTHER mutex owner runs at its
 *     SCHED_FIFO waiter's priority while it holds the mutex, and gets its
 *     own attributes back when it unlocks;
 *  5. five real-time waiters are woken by priority, not by arrival;
 *  6. EVENT_SET_PI: the thread consuming the signal runs at the
 *     signaller's priority until its next wait;
 *  7. a channel request is served at its sender's priority;
 *  8. priority inversion under CPU hogs, with PI on and with the module
 *     parameter pi=0 (figures printed, not judged).
 *
 * Exit status 0 only if every step behaved as documented (steps 4-8 need
 * real-time priorities: run as root, as the VM does).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include <ntsync.h>
#include "demo.h"

static void show_sem(const char *name, int sem)
{
	uint32_t count = 0, max = 0;
	int ret = ntsync_sem_read(sem, &count, &max);

	printf("    %-10s semaphore  count %u of %u%s\n", name, count, max,
	       ret ? " (read failed)" : "");
}

static void show_mutex(const char *name, int mutex)
{
	uint32_t owner = 0, count = 0;
	int ret = ntsync_mutex_read(mutex, &owner, &count);

	if (ret == -EOWNERDEAD)
		printf("    %-10s mutex      abandoned\n", name);
	else if (owner)
		printf("    %-10s mutex      owned by %u, recursion %u\n", name,
		       owner, count);
	else
		printf("    %-10s mutex      free\n", name);
}

static void show_event(const char *name, int event)
{
	uint32_t signaled = 0, manual = 0;

	ntsync_event_read(event, &signaled, &manual);
	printf("    %-10s %s event  %s\n", name, manual ? "manual" : "auto  ",
	       signaled ? "signaled" : "not signaled");
}

/* ---- Step 1 ---------------------------------------------------------- */

struct any_waiter {
	int dev;
	int objs[2];
	int ret;
	uint32_t index;
};

static void *any_waiter_main(void *p)
{
	struct any_waiter *w = p;

	w->ret = ntsync_wait_any(w->dev, w->objs, 2, 1, NTSYNC_NO_ALERT,
				 ntsync_deadline_ns(CLOCK_MONOTONIC,
						    10ll * 1000000000ll),
				 0, &w->index);
	return NULL;
}

static void step_wait_any(int dev, int sem, int event)
{
	struct any_waiter w = { .dev = dev, .objs = { event, sem }, .ret = 1 };
	uint32_t prev = 0;
	pthread_t th;
	int ret;

	printf("\n1. WAIT_ANY woken by a semaphore release\n");
	printf("  A thread waits for any of [event, semaphore]; neither is signaled.\n");
	if (pthread_create(&th, NULL, any_waiter_main, &w)) {
		CHECK(0, "cannot create a thread");
		return;
	}
	demo_sleep_ms(200);
	CHECK(w.ret == 1, "the waiter returned early (%s)", demo_err(w.ret));

	ret = ntsync_sem_release(sem, 1, &prev);
	printf("  Main thread releases the semaphore by 1 (previous count %u): %s\n",
	       prev, demo_err(ret));
	pthread_join(th, NULL);
	printf("  The waiter woke up: %s, index %u (the semaphore is objs[1])\n",
	       demo_err(w.ret), w.index);
	CHECK(ret == 0 && w.ret == 0 && w.index == 1,
	      "expected success with index 1");
	show_sem("semaphore", sem);
}

/* ---- Step 2 ---------------------------------------------------------- */

static void step_wait_all(int dev, int sem, int mutex, int event)
{
	int objs[3] = { sem, mutex, event };
	uint32_t index = 0, prev, count, max, owner, rc, signaled, manual;
	int ret;

	printf("\n2. WAIT_ALL takes several objects atomically\n");
	ntsync_sem_release(sem, 1, &prev);
	printf("  Before (the event is not signaled yet):\n");
	show_sem("semaphore", sem);
	show_mutex("mutex", mutex);
	show_event("event", event);

	ret = ntsync_wait_all(dev, objs, 3, 42, NTSYNC_NO_ALERT, 0, 0, &index);
	printf("  WAIT_ALL for owner 42 with an expired deadline: %s\n", demo_err(ret));
	CHECK(ret == -ETIMEDOUT, "expected a timeout");
	ntsync_sem_read(sem, &count, &max);
	CHECK(count == 1, "a failed WAIT_ALL must not take the semaphore");
	printf("  Nothing was taken: the semaphore still has count %u.\n", count);

	ntsync_event_set(event, &prev);
	printf("  The event is set; WAIT_ALL again:\n");
	ret = ntsync_wait_all(dev, objs, 3, 42, NTSYNC_NO_ALERT, 0, 0, &index);
	printf("  WAIT_ALL: %s, index %u\n", demo_err(ret), index);
	printf("  After:\n");
	show_sem("semaphore", sem);
	show_mutex("mutex", mutex);
	show_event("event", event);
	ntsync_sem_read(sem, &count, &max);
	ntsync_mutex_read(mutex, &owner, &rc);
	ntsync_event_read(event, &signaled, &manual);
	CHECK(ret == 0 && index == 0 && count == 0 && owner == 42 && rc == 1 &&
	      !signaled, "expected all three objects taken at once");
	ret = ntsync_mutex_unlock(mutex, 42, &prev);
	CHECK(ret == 0, "unlock by 42 failed: %s", demo_err(ret));
}

/* ---- Step 3 ---------------------------------------------------------- */

struct mutex_user {
	int dev;
	int mutex;
	uint32_t owner;
	int ret;
	uint32_t index;
	uint64_t timeout;
};

static void *mutex_user_main(void *p)
{
	struct mutex_user *u = p;

	u->ret = ntsync_wait_any(u->dev, &u->mutex, 1, u->owner,
				 NTSYNC_NO_ALERT, u->timeout, 0, &u->index);
	return NULL;
}

static void step_abandon(int dev, int mutex)
{
	struct mutex_user doomed = { .dev = dev, .mutex = mutex, .owner = 1001,
				     .ret = 1, .timeout = 0 };
	struct mutex_user heir = { .dev = dev, .mutex = mutex, .owner = 1002,
				   .ret = 1 };
	uint32_t owner = 0, count = 0;
	pthread_t th;
	int ret;

	printf("\n3. An abandoned mutex\n");
	pthread_create(&th, NULL, mutex_user_main, &doomed);
	pthread_join(th, NULL);
	printf("  Thread 1001 takes the mutex: %s\n", demo_err(doomed.ret));
	CHECK(doomed.ret == 0, "thread 1001 could not take the mutex");
	show_mutex("mutex", mutex);

	heir.timeout = ntsync_deadline_ns(CLOCK_MONOTONIC, 10ll * 1000000000ll);
	pthread_create(&th, NULL, mutex_user_main, &heir);
	demo_sleep_ms(200);
	printf("  Thread 1002 waits for it (still waiting: %s).\n",
	       heir.ret == 1 ? "yes" : "no");
	CHECK(heir.ret == 1, "thread 1002 should still be waiting");

	printf("  Thread 1001 exited without unlocking; the owner reports its death.\n");
	ret = ntsync_mutex_kill(mutex, 1001);
	printf("  MUTEX_KILL(1001): %s\n", demo_err(ret));
	pthread_join(th, NULL);
	printf("  Thread 1002's wait returned: %s (index %u)\n", demo_err(heir.ret),
	       heir.index);
	ret = ntsync_mutex_read(mutex, &owner, &count);
	show_mutex("mutex", mutex);
	CHECK(heir.ret == -EOWNERDEAD && heir.index == 0,
	      "expected EOWNERDEAD at index 0");
	CHECK(ret == 0 && owner == 1002 && count == 1,
	      "expected the mutex owned by 1002 and no longer abandoned");
}

int main(void)
{
	int dev, sem, mutex, manual, autoev;

	/* The output is read through a serial console: line by line. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ntsync-demo: NT synchronization objects on %s\n",
	       NTSYNC_DEVICE_PATH);
	dev = ntsync_open();
	if (dev < 0) {
		printf("cannot open %s: %s (is the ntsync module loaded?)\n",
		       NTSYNC_DEVICE_PATH, demo_err(dev));
		return 2;
	}
	sem = ntsync_sem_create(dev, 0, 2);
	mutex = ntsync_mutex_create(dev, 0, 0);
	manual = ntsync_event_create(dev, 1, 0);
	autoev = ntsync_event_create(dev, 0, 0);
	if (sem < 0 || mutex < 0 || manual < 0 || autoev < 0) {
		printf("object creation failed\n");
		return 1;
	}
	printf("Created a semaphore (count 0, max 2), a free mutex, a manual and an auto-reset event.\n");

	step_wait_any(dev, sem, manual);
	step_wait_all(dev, sem, mutex, autoev);
	step_abandon(dev, mutex);

	printf("\n---- The real-time extensions (ntsync-nspa only) ----\n");
	demo_step_pi(dev);
	demo_step_wake_order(dev);
	demo_step_event_set_pi(dev);
	demo_step_channel(dev);
	demo_step_inversion(dev);

	printf("\n%s\n", demo_failures ? "Some steps did not behave as expected."
					: "Every step behaved as expected.");
	return demo_failures ? 1 : 0;
}
