// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: the floor (an uncontended wait against a null system call)
 * and the growth curves (wait cost against the object count, wake cost
 * against the number of queued waiters).
 *
 * Short operations are timed in batches: one sample is the mean time of one
 * call over a batch, so the clock reads do not dominate what is measured.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"

/* Owner id of the waits here: none acquires a mutex. */
#define BENCH_OWNER	BENCH_WAIT_OWNER
#include "scenarios.h"

#define FLOOR_BATCH	50
#define GROWTH_BATCH	20
#define GROWTH_MAX	64
#define WAKE_MAIN_PRIO	10

static const unsigned int growth_n[] = { 1, 2, 4, 8, 16, 32, 64 };
#define GROWTH_POINTS	(sizeof(growth_n) / sizeof(growth_n[0]))

/* ---- Floor ----------------------------------------------------------- */

/* One uncontended acquire + release of @fd (a semaphore or a mutex). */
static int floor_cycle(int dev, int fd, bool mutex)
{
	uint32_t idx, prev;
	int ret = ntsync_wait_any(dev, &fd, 1, 1, 0, NTSYNC_TIMEOUT_INFINITE, 0, &idx);

	if (ret)
		return ret;
	return mutex ? ntsync_mutex_unlock(fd, 1, &prev) : ntsync_sem_release(fd, 1, &prev);
}

/* A batch of cycles on @fd into @s (mean time per cycle). */
static void floor_cycles(struct series *s, int dev, int fd, bool mutex)
{
	uint64_t t0, t1;
	int i, ret = 0;

	if (fd < 0 || s->status != ST_OK)
		return;
	t0 = now_ns();
	for (i = 0; i < FLOOR_BATCH && !ret; i++)
		ret = floor_cycle(dev, fd, mutex);
	t1 = now_ns();
	if (ret)
		series_error(s, "%s: %s", mutex ? "WAIT_ANY/MUTEX_UNLOCK" :
			     "WAIT_ANY/SEM_RELEASE", strerror(-ret));
	else
		series_push(s, (double)(t1 - t0) / 1e3 / FLOOR_BATCH);
}

void run_floor(const struct bench_cfg *cfg, struct result *res)
{
	struct series *nt = res_add(res, "ntsync-wait-any", UNIT_US);
	struct series *sc = res_add(res, "getppid", UNIT_US);
	struct series *sem = res_add(res, "ntsync-sem-cycle", UNIT_US);
	struct series *mtx = res_add(res, "ntsync-mutex-cycle", UNIT_US);
	char why[192];
	int dev, ev = -1, semfd = -1, mtxfd = -1;
	unsigned int b, i;
	uint32_t idx;

	snprintf(res->note, sizeof(res->note),
		 "mean per call over batches of %d; WAIT_ANY on a signaled manual-reset event; "
		 "*-cycle: WAIT_ANY + SEM_RELEASE / MUTEX_UNLOCK on a free object (2 ioctls)",
		 FLOOR_BATCH);
	sem->group = mtx->group = 1;
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		series_unsupported(nt, "%s", why);
		series_unsupported(sem, "%s", why);
		series_unsupported(mtx, "%s", why);
	} else {
		ev = ntsync_event_create(dev, 1, 1);
		if (ev < 0)
			series_error(nt, "CREATE_EVENT: %s", strerror(-ev));
		semfd = ntsync_sem_create(dev, 1, 1);
		if (semfd < 0)
			series_error(sem, "CREATE_SEM: %s", strerror(-semfd));
		mtxfd = ntsync_mutex_create(dev, 0, 0);
		if (mtxfd < 0)
			series_error(mtx, "CREATE_MUTEX: %s", strerror(-mtxfd));
	}

	/* Warm up both paths, then interleave their batches. */
	for (i = 0; i < 1000; i++) {
		syscall(SYS_getppid);
		if (ev >= 0)
			ntsync_wait_any(dev, &ev, 1, BENCH_OWNER, 0, NTSYNC_TIMEOUT_INFINITE, 0, &idx);
	}
	for (b = 0; b < cfg->samples; b++) {
		uint64_t t0, t1;

		if (ev >= 0 && nt->status == ST_OK) {
			int ret = 0;

			t0 = now_ns();
			for (i = 0; i < FLOOR_BATCH && !ret; i++)
				ret = ntsync_wait_any(dev, &ev, 1, BENCH_OWNER, 0,
						      NTSYNC_TIMEOUT_INFINITE, 0, &idx);
			t1 = now_ns();
			if (ret)
				series_error(nt, "WAIT_ANY: %s", strerror(-ret));
			else
				series_push(nt, (double)(t1 - t0) / 1e3 / FLOOR_BATCH);
		}
		t0 = now_ns();
		for (i = 0; i < FLOOR_BATCH; i++)
			syscall(SYS_getppid);
		t1 = now_ns();
		series_push(sc, (double)(t1 - t0) / 1e3 / FLOOR_BATCH);
		/* Fewer cycle batches: they only locate the mutex's extra cost. */
		if (b % 4 == 0) {
			floor_cycles(sem, dev, semfd, false);
			floor_cycles(mtx, dev, mtxfd, true);
		}
	}
	if (semfd >= 0)
		close(semfd);
	if (mtxfd >= 0)
		close(mtxfd);
	if (ev >= 0)
		close(ev);
	if (dev >= 0)
		close(dev);
}

/* ---- Growth: wait cost against the object count ------------------------ */

static void run_growth_wait(const struct bench_cfg *cfg, struct result *res,
			    bool all)
{
	struct series *s[GROWTH_POINTS];
	int dev, ev[GROWTH_MAX], nev = 0;
	char why[192];
	size_t p;
	int i;

	res->ratio_mode = RATIO_ROW_OVER_REF;
	snprintf(res->note, sizeof(res->note),
		 all ? "WAIT_ALL on n signaled manual-reset events; mean per call, batches of %d" :
		 "WAIT_ANY on n manual-reset events, only the last signaled; mean per call, batches of %d",
		 GROWTH_BATCH);
	for (p = 0; p < GROWTH_POINTS; p++)
		s[p] = res_add_growth(res, NULL, growth_n[p], 0);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		for (p = 0; p < GROWTH_POINTS; p++)
			series_unsupported(s[p], "%s", why);
		return;
	}
	for (nev = 0; nev < GROWTH_MAX; nev++) {
		ev[nev] = ntsync_event_create(dev, 1, all);
		if (ev[nev] < 0) {
			for (p = 0; p < GROWTH_POINTS; p++)
				series_error(s[p], "CREATE_EVENT: %s", strerror(-ev[nev]));
			goto out;
		}
	}
	for (p = 0; p < GROWTH_POINTS; p++) {
		unsigned int n = growth_n[p], b, k;
		uint32_t idx;
		int ret = 0;

		if (!all)
			ntsync_event_set(ev[n - 1], &idx);
		for (k = 0; k < 100 && !ret; k++)
			ret = all ? ntsync_wait_all(dev, ev, n, BENCH_OWNER, 0, NTSYNC_TIMEOUT_INFINITE, 0, &idx) :
			      ntsync_wait_any(dev, ev, n, BENCH_OWNER, 0, NTSYNC_TIMEOUT_INFINITE, 0, &idx);
		for (b = 0; b < cfg->growth_samples && !ret; b++) {
			uint64_t t0 = now_ns(), t1;

			for (k = 0; k < GROWTH_BATCH && !ret; k++)
				ret = all ? ntsync_wait_all(dev, ev, n, BENCH_OWNER, 0,
							    NTSYNC_TIMEOUT_INFINITE, 0, &idx) :
				      ntsync_wait_any(dev, ev, n, BENCH_OWNER, 0,
						      NTSYNC_TIMEOUT_INFINITE, 0, &idx);
			t1 = now_ns();
			if (!ret)
				series_push(s[p], (double)(t1 - t0) / 1e3 / GROWTH_BATCH);
		}
		if (ret)
			series_error(s[p], "%s: %s", all ? "WAIT_ALL" : "WAIT_ANY",
				     strerror(-ret));
		else if (!all && idx != n - 1)
			series_error(s[p], "WAIT_ANY returned index %u, expected %u",
				     idx, n - 1);
		if (!all)
			ntsync_event_reset(ev[n - 1], &idx);
	}
out:
	for (i = 0; i < nev; i++)
		close(ev[i]);
	close(dev);
}

void run_growth_any(const struct bench_cfg *cfg, struct result *res)
{
	run_growth_wait(cfg, res, false);
}

void run_growth_all(const struct bench_cfg *cfg, struct result *res)
{
	run_growth_wait(cfg, res, true);
}

/* ---- Growth: wake cost against the number of queued waiters ---------- */

static void wk_point(const struct bench_cfg *cfg, int dev, unsigned int n,
		     struct series *call, struct series *lat)
{
	struct wpool pool;
	unsigned int smp;
	uint64_t budget_end;
	uint32_t prev;
	int sem, ret, w;

	sem = ntsync_sem_create(dev, 0, 0x7fffffff);
	if (sem < 0) {
		series_error(call, "CREATE_SEM: %s", strerror(-sem));
		series_error(lat, "CREATE_SEM: %s", strerror(-sem));
		return;
	}
	ret = wpool_start(&pool, dev, sem, n, 256 * 1024, NULL);
	if (ret) {
		series_error(call, "pthread_create: %s", strerror(-ret));
		goto stop;
	}
	w = wpool_all_parked(&pool);
	if (w >= 0) {
		series_error(call, "waiter %d never parked", w);
		goto stop;
	}
	budget_end = now_ns() + (uint64_t)cfg->budget_ms * 1000000ull / 3;
	for (smp = 0; smp < cfg->growth_samples + 10; smp++) {
		unsigned int done = atomic_load(&pool.done);
		uint64_t t0, t1;

		if (smp > 10 && now_ns() > budget_end) {
			series_extra_text(call, "budget", "hit");
			series_extra_text(lat, "budget", "hit");
			break;
		}

		t0 = now_ns();
		ret = ntsync_sem_release(sem, 1, &prev);
		t1 = now_ns();
		if (ret) {
			series_error(call, "SEM_RELEASE: %s", strerror(-ret));
			goto stop;
		}
		ret = wpool_await_wake(&pool, done);
		if (ret == -ETIMEDOUT) {
			series_error(call, "no waiter woke in 10 s");
			goto stop;
		} else if (ret) {
			series_error(call, "WAIT_ANY: %s", strerror(-ret));
			goto stop;
		}
		/* The first samples warm up caches and the waiters' paths. */
		if (smp >= 10) {
			series_push(call, (double)(t1 - t0) / 1e3);
			series_push(lat, (double)(atomic_load(&pool.t_wake) - t0) / 1e3);
		}
		w = atomic_load(&pool.last);
		if (!wpool_parked(&pool.w[w])) {
			series_error(call, "waiter %d never parked again", w);
			goto stop;
		}
	}
stop:
	if (call->status != ST_OK)
		series_error(lat, "%s", call->reason);
	wpool_stop(&pool);
	close(sem);
}

void run_growth_wake(const struct bench_cfg *cfg, struct result *res)
{
	struct series *call[GROWTH_POINTS], *lat[GROWTH_POINTS];
	char why[192];
	bool rt;
	size_t p;
	int dev;

	res->ratio_mode = RATIO_ROW_OVER_REF;
	/* Above the waiters, so that a woken waiter cannot preempt the
	 * release it is timed by. */
	rt = rt_allowed(why, sizeof(why)) && sched_self(SCHED_FIFO, WAKE_MAIN_PRIO) == 0;
	snprintf(res->note, sizeof(res->note),
		 "n SCHED_OTHER threads queued on one semaphore, released by a %s thread; "
		 "call = SEM_RELEASE(1) ioctl time, latency = release to the woken waiter running",
		 rt ? "SCHED_FIFO" : "SCHED_OTHER (no RT permission)");
	for (p = 0; p < GROWTH_POINTS; p++)
		call[p] = res_add_growth(res, "call", growth_n[p], 0);
	for (p = 0; p < GROWTH_POINTS; p++)
		lat[p] = res_add_growth(res, "latency", growth_n[p], 1);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		for (p = 0; p < GROWTH_POINTS; p++) {
			series_unsupported(call[p], "%s", why);
			series_unsupported(lat[p], "%s", why);
		}
		sched_self(SCHED_OTHER, 0);
		return;
	}
	for (p = 0; p < GROWTH_POINTS; p++)
		wk_point(cfg, dev, growth_n[p], call[p], lat[p]);
	close(dev);
	sched_self(SCHED_OTHER, 0);
}
