// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-demo, steps 4 and 8: mutex priority inheritance (PI).
 *
 * Step 4 shows the boost itself: the owner of a mutex reads its own
 * scheduling attributes before, while and after a SCHED_FIFO thread waits
 * for the mutex.  Step 8 shows what the boost is for: with every CPU taken
 * by real-time "hogs", how long a high-priority waiter waits for a mutex
 * held by a normal thread, with PI on and with the module parameter pi=0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ntsync.h>
#include "demo.h"

#define PI_OWNER_NICE	5
#define PI_WAITER_PRIO	60

/* ---- Step 4: the boost --------------------------------------------- */

struct pi_step {
	int dev, mutex;
	atomic_int owner_tid, waiter_tid;
	atomic_int held;	/* owner: 1 holding, -1 failed */
	atomic_int go;		/* main: the waiter sleeps, look now */
	atomic_int owner_done;
	struct demo_sched before, during, after;
	int owner_ret, waiter_ret, unlock_ret, waiter_sched_ret;
};

static void *pi_owner(void *p)
{
	struct pi_step *st = p;
	uint64_t end;
	uint32_t idx, prev;

	atomic_store(&st->owner_tid, demo_tid());
	demo_sched_set(SCHED_OTHER, 0, PI_OWNER_NICE);
	st->before = demo_sched_self();
	st->owner_ret = ntsync_wait_any(st->dev, &st->mutex, 1, 1,
					NTSYNC_NO_ALERT, demo_deadline_ms(5000),
					0, &idx);
	atomic_store(&st->held, st->owner_ret ? -1 : 1);
	if (st->owner_ret)
		return NULL;
	while (!atomic_load(&st->go))
		demo_sleep_ms(1);
	/* The boost is applied before the waiter sleeps; allow 1 s anyway. */
	end = demo_now_ns() + 1000000000u;
	do {
		st->during = demo_sched_self();
		if (st->during.policy != st->before.policy)
			break;
		demo_sleep_ms(5);
	} while (demo_now_ns() < end);
	st->unlock_ret = ntsync_mutex_unlock(st->mutex, 1, &prev);
	st->after = demo_sched_self();
	atomic_store(&st->owner_done, 1);
	return NULL;
}

static void *pi_waiter(void *p)
{
	struct pi_step *st = p;
	uint32_t idx, prev;

	atomic_store(&st->waiter_tid, demo_tid());
	st->waiter_sched_ret = demo_sched_set(SCHED_FIFO, PI_WAITER_PRIO, 0);
	if (st->waiter_sched_ret)
		return NULL;
	st->waiter_ret = ntsync_wait_any(st->dev, &st->mutex, 1, 2,
					 NTSYNC_NO_ALERT, demo_deadline_ms(10000),
					 0, &idx);
	if (!st->waiter_ret)
		ntsync_mutex_unlock(st->mutex, 2, &prev);
	return NULL;
}

void demo_step_pi(int dev)
{
	struct pi_step st = { .dev = dev, .waiter_ret = 1 };
	struct demo_sched want = { SCHED_FIFO, PI_WAITER_PRIO, 0 };
	pthread_t owner, waiter;

	printf("\n4. Priority inheritance: a real-time thread waits for a mutex held by a normal one\n");
	printf("  (in Wine: a game's worker thread holds a lock that the audio thread needs)\n");
	st.mutex = ntsync_mutex_create(dev, 0, 0);
	CHECK(st.mutex >= 0, "MUTEX_CREATE: %s", demo_err(st.mutex));
	if (st.mutex < 0 || !demo_start(&owner, pi_owner, &st))
		return;
	while (!atomic_load(&st.held))
		demo_sleep_ms(1);
	printf("  %-46s %s\n", "worker (owner) takes the mutex, its own view:",
	       demo_sched_str(st.before, 0));
	if (atomic_load(&st.held) < 0 || !demo_start(&waiter, pi_waiter, &st)) {
		CHECK(0, "the worker could not take the mutex: %s",
		      demo_err(st.owner_ret));
		atomic_store(&st.go, 1);
		pthread_join(owner, NULL);
		return;
	}
	/* Let the waiter block on the mutex, then let the owner look. */
	while (!atomic_load(&st.waiter_tid))
		demo_sleep_ms(1);
	CHECK(demo_wait_state(atomic_load(&st.waiter_tid), 'S', 5000) &&
	      !st.waiter_sched_ret, "the audio thread did not block on the mutex%s",
	      st.waiter_sched_ret ? ": " DEMO_NEED_RT : "");
	printf("  audio (waiter), %s, asks for the mutex and sleeps\n",
	       demo_sched_str(want, 1));
	atomic_store(&st.go, 1);
	pthread_join(owner, NULL);
	pthread_join(waiter, NULL);
	printf("  %-46s %s%s\n", "worker while the audio thread waits:",
	       demo_sched_str(st.during, 0),
	       demo_sched_eq(st.during, want) ? "  <- raised to the waiter's priority" : "");
	printf("  %-46s %s%s\n", "worker after it unlocks:",
	       demo_sched_str(st.after, 0),
	       demo_sched_eq(st.after, st.before) ? "  <- its own attributes back" : "");
	printf("  audio thread gets the mutex: %s\n", demo_err(st.waiter_ret));
	CHECK(demo_sched_eq(st.during, want),
	      "the owner was not raised to %s (PI off? /sys/module/ntsync/parameters/pi)",
	      demo_sched_str(want, 1));
	CHECK(demo_sched_eq(st.after, st.before) && st.before.nice == PI_OWNER_NICE,
	      "the owner did not get its own attributes back");
	CHECK(st.unlock_ret == 0 && st.waiter_ret == 0,
	      "unlock %s, the waiter's wait %s", demo_err(st.unlock_ret),
	      demo_err(st.waiter_ret));
	ntsync_close(st.mutex);
}

/* ---- Step 8: inversion under CPU hogs ------------------------------- */

#define INV_RUNS	3
#define INV_WORK_US	2000	/* the owner's CPU work under the mutex */
#define INV_HOG_MS	200	/* the hogs stop after this at the latest */
#define INV_HOG_PRIO	40	/* below PREEMPT_RT's interrupt threads (50) */
#define INV_WAITER_PRIO	80
#define INV_MAIN_PRIO	90
#define INV_MAX_CPUS	16
#define PI_PARAM	"/sys/module/ntsync/parameters/pi"

struct inv_run {
	int dev, mutex, go, ask;	/* go: owner may work; ask: waiter may ask */
	atomic_int stop, hogs_spinning, owner_tid, held;
	uint64_t hog_end, t_ask, t_got;
	_Atomic uint64_t t_owner_done;
	int owner_ret, waiter_ret, sched_ret;
};

static char pi_saved;	/* 'Y' or 'N' while the parameter is changed */

static int pi_param_write(char v)
{
	char c = v;
	int fd = open(PI_PARAM, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, &c, 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* Put the parameter back if the demo is interrupted meanwhile. */
static void pi_restore_on_signal(int sig)
{
	if (pi_saved)
		pi_param_write(pi_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void burn_cpu_us(unsigned int us)
{
	struct timespec ts;
	uint64_t start, now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	start = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	do {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	} while (now - start < (uint64_t)us * 1000u);
}

struct inv_hog {
	struct inv_run *r;
	int cpu;
	pthread_t th;
};

static void *inv_hog(void *p)
{
	struct inv_hog *h = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ||
	    demo_sched_set(SCHED_FIFO, INV_HOG_PRIO, 0)) {
		h->r->sched_ret = -EPERM;
		return NULL;
	}
	atomic_fetch_add(&h->r->hogs_spinning, 1);
	while (!atomic_load_explicit(&h->r->stop, memory_order_relaxed) &&
	       demo_now_ns() < h->r->hog_end)
		;
	return NULL;
}

static void *inv_owner(void *p)
{
	struct inv_run *r = p;
	uint32_t idx, prev;

	atomic_store(&r->owner_tid, demo_tid());
	/* Threads inherit the creator's policy: main is FIFO here. */
	demo_sched_set(SCHED_OTHER, 0, 0);
	r->owner_ret = ntsync_wait_any(r->dev, &r->mutex, 1, 1, NTSYNC_NO_ALERT,
				       demo_deadline_ms(5000), 0, &idx);
	atomic_store(&r->held, r->owner_ret ? -1 : 1);
	if (r->owner_ret)
		return NULL;
	/* Woken while the hogs own every CPU: runnable, but below them. */
	ntsync_wait_any(r->dev, &r->go, 1, 1, NTSYNC_NO_ALERT,
			demo_deadline_ms(5000), 0, &idx);
	burn_cpu_us(INV_WORK_US);
	atomic_store(&r->t_owner_done, demo_now_ns());
	ntsync_mutex_unlock(r->mutex, 1, &prev);
	return NULL;
}

static void *inv_waiter(void *p)
{
	struct inv_run *r = p;
	uint32_t idx, prev;

	if (demo_sched_set(SCHED_FIFO, INV_WAITER_PRIO, 0)) {
		r->sched_ret = -EPERM;
		return NULL;
	}
	r->waiter_ret = ntsync_wait_any(r->dev, &r->ask, 1, 2, NTSYNC_NO_ALERT,
					demo_deadline_ms(10000), 0, &idx);
	if (r->waiter_ret || atomic_load(&r->stop))
		return NULL;
	r->t_ask = demo_now_ns();
	r->waiter_ret = ntsync_wait_any(r->dev, &r->mutex, 1, 2, NTSYNC_NO_ALERT,
					demo_deadline_ms(10000), 0, &idx);
	r->t_got = demo_now_ns();
	atomic_store(&r->stop, 1);
	if (!r->waiter_ret)
		ntsync_mutex_unlock(r->mutex, 2, &prev);
	return NULL;
}

/* One run; the waiter's wait in microseconds, or -1 (and a failed check). */
static double inv_once(int dev, int ncpu)
{
	static struct inv_hog hogs[INV_MAX_CPUS];
	struct inv_run r = { .dev = dev };
	pthread_t owner, waiter;
	uint32_t prev;
	int i, nhogs = 0;
	double us = -1;

	r.mutex = ntsync_mutex_create(dev, 0, 0);
	r.go = ntsync_event_create(dev, 0, 0);
	r.ask = ntsync_event_create(dev, 0, 0);
	r.hog_end = UINT64_MAX;
	if (r.mutex < 0 || r.go < 0 || r.ask < 0) {
		CHECK(0, "creating the objects failed");
		goto close;
	}
	if (!demo_start(&waiter, inv_waiter, &r))
		goto close;
	if (!demo_start(&owner, inv_owner, &r)) {
		atomic_store(&r.stop, 1);
		ntsync_event_set(r.ask, &prev);
		pthread_join(waiter, NULL);
		goto close;
	}
	while (!atomic_load(&r.held))
		demo_sleep_ms(1);
	/* Hogs on every CPU, then wake the owner below them, then ask. */
	r.hog_end = demo_now_ns() + INV_HOG_MS * 1000000ull;
	for (i = 0; i < ncpu; i++) {
		hogs[i] = (struct inv_hog){ .r = &r, .cpu = i };
		if (!demo_start(&hogs[i].th, inv_hog, &hogs[i]))
			break;
		nhogs++;
	}
	while (atomic_load(&r.hogs_spinning) < nhogs && !r.sched_ret &&
	       demo_now_ns() < r.hog_end)
		demo_sleep_ms(1);
	ntsync_event_set(r.go, &prev);
	demo_wait_state(atomic_load(&r.owner_tid), 'R', 50);
	ntsync_event_set(r.ask, &prev);
	pthread_join(waiter, NULL);
	atomic_store(&r.stop, 1);
	for (i = 0; i < nhogs; i++)
		pthread_join(hogs[i].th, NULL);
	pthread_join(owner, NULL);
	CHECK(!r.sched_ret, "%s", DEMO_NEED_RT);
	CHECK(r.owner_ret == 0 && r.waiter_ret == 0, "owner's wait %s, waiter's wait %s",
	      demo_err(r.owner_ret), demo_err(r.waiter_ret));
	if (!r.sched_ret && !r.owner_ret && !r.waiter_ret)
		us = (double)(r.t_got - r.t_ask) / 1e3;
	/* The owner may have finished before the waiter asked. */
	if (us >= 0 && atomic_load(&r.t_owner_done) <= r.t_ask)
		printf("    (this run had no inversion: the owner was done before the waiter asked)\n");
close:
	ntsync_close(r.mutex);
	ntsync_close(r.go);
	ntsync_close(r.ask);
	return us;
}

static void inv_series(int dev, int ncpu, const char *label)
{
	int i;

	printf("  %s:", label);
	for (i = 0; i < INV_RUNS; i++) {
		double us = inv_once(dev, ncpu);

		if (us >= 0)
			printf(" %8.2f ms", us / 1e3);
		else
			printf("   (failed)");
		fflush(stdout);
	}
	printf("\n");
}

void demo_step_inversion(int dev)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int ncpu = n < 1 ? 1 : n > INV_MAX_CPUS ? INV_MAX_CPUS : (int)n;
	struct demo_sched main_sched = demo_sched_self();
	char orig = 0;
	int fd, ret;

	printf("\n8. Priority inversion under load (figures only: they depend on the machine)\n");
	printf("  A SCHED_OTHER thread holds a mutex with %d ms of work left when %d SCHED_FIFO %d\n"
	       "  \"CPU hogs\" take every CPU for up to %d ms, and a SCHED_FIFO %d thread asks\n"
	       "  for the mutex.  Its wait, %d runs each:\n",
	       INV_WORK_US / 1000, ncpu, INV_HOG_PRIO, INV_HOG_MS, INV_WAITER_PRIO,
	       INV_RUNS);
	fd = open(PI_PARAM, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &orig, 1) != 1)
			orig = 0;
		close(fd);
	}
	ret = demo_sched_set(SCHED_FIFO, INV_MAIN_PRIO, 0);
	CHECK(ret == 0, "%s", DEMO_NEED_RT);
	if (ret)
		return;
	if (orig == 'Y' || orig == 'N') {
		pi_saved = orig;
		signal(SIGINT, pi_restore_on_signal);
		signal(SIGTERM, pi_restore_on_signal);
		ret = pi_param_write('1');
		CHECK(ret == 0, "writing %s: %s", PI_PARAM, demo_err(ret));
	} else {
		printf("  (%s cannot be read: the runs use the module's setting)\n",
		       PI_PARAM);
	}
	inv_series(dev, ncpu, "with priority inheritance      (pi=1)");
	if (pi_saved) {
		ret = pi_param_write('0');
		CHECK(ret == 0, "writing %s: %s", PI_PARAM, demo_err(ret));
		if (!ret)
			inv_series(dev, ncpu, "without, as upstream ntsync   (pi=0)");
		ret = pi_param_write(pi_saved);
		CHECK(ret == 0, "restoring %s: %s", PI_PARAM, demo_err(ret));
		printf("  %s restored to %c.\n", PI_PARAM, pi_saved);
		pi_saved = 0;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
	}
	printf("  Without PI the waiter waits until the hogs let the owner run; with PI the\n"
	       "  owner runs at the waiter's priority and the wait is about its %d ms of work.\n",
	       INV_WORK_US / 1000);
	demo_sched_set(main_sched.policy, main_sched.prio, main_sched.nice);
}
