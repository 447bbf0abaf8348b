// SPDX-License-Identifier: GPL-2.0-only
/*
 * Contention: several threads lock and unlock one mutex (or share a
 * semaphore) in a loop.  Mutual exclusion must hold at every step and the
 * shared counter must be exact.  Each run is bounded in loops and in time
 * (about 1 s) so that it stays short in a slow emulated VM.
 */
#include <unistd.h>

#include "nt_util.h"

#define THREADS		4
#define LOOPS		3000
#define RUN_MS		1000u

enum mode { MODE_ANY, MODE_RECURSIVE, MODE_MIXED };

struct shared {
	int dev;
	int mutex;
	int gate;		/* manual event: everyone starts together */
	int extra;		/* manual event, signaled (MODE_MIXED) */
	enum mode mode;
	uint64_t stop_ns;
	atomic_int inside;
	atomic_int violations;
	atomic_int errors;
	volatile unsigned long counter;
};

struct worker {
	struct nt_thread thread;
	struct shared *sh;
	unsigned int id;
	unsigned long loops;
};

static void pass_gate(struct shared *sh)
{
	uint32_t index;

	if (ntsync_wait_any(sh->dev, &sh->gate, 1, 1, 0,
			    NTSYNC_TIMEOUT_INFINITE, 0, &index))
		atomic_fetch_add(&sh->errors, 1);
}

static bool lock(struct shared *sh, uint32_t owner, bool all)
{
	int objs[2] = { sh->mutex, sh->extra };
	uint32_t index = NT_POISON;
	int ret;

	if (all)
		ret = ntsync_wait_all(sh->dev, objs, 2, owner, 0,
				      NTSYNC_TIMEOUT_INFINITE, 0, &index);
	else
		ret = ntsync_wait_any(sh->dev, objs, 1, owner, 0,
				      NTSYNC_TIMEOUT_INFINITE, 0, &index);
	if (ret || index != 0) {
		atomic_fetch_add(&sh->errors, 1);
		return false;
	}
	return true;
}

static void unlock(struct shared *sh, uint32_t owner, uint32_t expect_prev)
{
	uint32_t prev = NT_POISON;

	if (ntsync_mutex_unlock(sh->mutex, owner, &prev) || prev != expect_prev)
		atomic_fetch_add(&sh->errors, 1);
}

static void *mutex_worker(void *arg)
{
	struct worker *wk = arg;
	struct shared *sh = wk->sh;
	uint32_t owner = (uint32_t)gettid();
	bool all = sh->mode == MODE_MIXED && (wk->id & 1);
	uint32_t o, c;

	pass_gate(sh);
	while (wk->loops < LOOPS && nt_mono_ns() < sh->stop_ns) {
		if (!lock(sh, owner, all))
			break;
		if (sh->mode == MODE_RECURSIVE && !lock(sh, owner, false))
			break;
		if (atomic_exchange(&sh->inside, 1))
			atomic_fetch_add(&sh->violations, 1);
		if (sh->mode == MODE_RECURSIVE &&
		    (ntsync_mutex_read(sh->mutex, &o, &c) || o != owner ||
		     c != 2))
			atomic_fetch_add(&sh->errors, 1);
		/* A deliberately non-atomic read-modify-write. */
		unsigned long v = sh->counter;
		for (volatile int spin = 0; spin < 20; spin++)
			;
		sh->counter = v + 1;
		atomic_store(&sh->inside, 0);
		if (sh->mode == MODE_RECURSIVE)
			unlock(sh, owner, 2);
		unlock(sh, owner, 1);
		wk->loops++;
	}
	return NULL;
}

static void run_mutex_stress(enum mode mode)
{
	struct shared sh = { 0 };
	struct worker wk[THREADS];
	unsigned long total = 0;

	sh.dev = nt_dev();
	sh.mutex = nt_mutex(sh.dev, 0, 0);
	sh.gate = nt_event(sh.dev, 1, 0);
	sh.extra = nt_event(sh.dev, 1, 1);
	sh.mode = mode;
	sh.stop_ns = nt_mono_ns() + (uint64_t)(RUN_MS + 500) * 1000000ull;

	for (unsigned int i = 0; i < THREADS; i++) {
		wk[i].sh = &sh;
		wk[i].id = i;
		wk[i].loops = 0;
		nt_thread_start(&wk[i].thread, mutex_worker, &wk[i]);
	}
	for (unsigned int i = 0; i < THREADS; i++)
		nt_wait_blocked(wk[i].thread.tid);
	sh.stop_ns = nt_mono_ns() + (uint64_t)RUN_MS * 1000000ull;
	nt_set(sh.gate);

	for (unsigned int i = 0; i < THREADS; i++) {
		nt_thread_join(&wk[i].thread);
		total += wk[i].loops;
		nt_diag("thread %u: %lu rounds", i, wk[i].loops);
	}
	nt_diag("%lu lock/unlock rounds by %d threads", total, THREADS);
	/* Progress; how the rounds are shared is the scheduler's business. */
	NT_EXPECT_GT(total, 0);
	NT_EXPECT_EQ(atomic_load(&sh.errors), 0);
	NT_EXPECT_EQ(atomic_load(&sh.violations), 0);
	NT_EXPECT_EQ(sh.counter, total);
	NT_CHECK_MUTEX(sh.mutex, 0, 0);
	NT_CHECK_EVENT(sh.extra, 1, 1);
}

NT_TEST_TIMEOUT(wait_any_lock_unlock_counter_exact, 30)
{
	run_mutex_stress(MODE_ANY);
}

NT_TEST_TIMEOUT(recursive_lock_unlock_counter_exact, 30)
{
	run_mutex_stress(MODE_RECURSIVE);
}

NT_TEST_TIMEOUT(mixed_any_and_all_counter_exact, 30)
{
	run_mutex_stress(MODE_MIXED);
}

/* A semaphore of 2 admits at most two threads at a time. */
struct sem_shared {
	int dev;
	int sem;
	uint64_t stop_ns;
	atomic_int inside;
	atomic_int max_inside;
	atomic_int errors;
	atomic_ulong rounds;
};

static void *sem_worker(void *arg)
{
	struct sem_shared *sh = arg;
	uint32_t index, prev;

	while (nt_mono_ns() < sh->stop_ns) {
		if (ntsync_wait_any(sh->dev, &sh->sem, 1, 1, 0,
				    NTSYNC_TIMEOUT_INFINITE, 0, &index)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		int now = atomic_fetch_add(&sh->inside, 1) + 1;
		int max = atomic_load(&sh->max_inside);
		while (now > max &&
		       !atomic_compare_exchange_weak(&sh->max_inside, &max, now))
			;
		for (volatile int spin = 0; spin < 50; spin++)
			;
		atomic_fetch_sub(&sh->inside, 1);
		if (ntsync_sem_release(sh->sem, 1, &prev) || prev > 1)
			atomic_fetch_add(&sh->errors, 1);
		atomic_fetch_add(&sh->rounds, 1);
	}
	return NULL;
}

NT_TEST_TIMEOUT(semaphore_limits_concurrency, 30)
{
	struct sem_shared sh = { 0 };
	struct nt_thread th[THREADS];

	sh.dev = nt_dev();
	sh.sem = nt_sem(sh.dev, 2, 2);
	sh.stop_ns = nt_mono_ns() + (uint64_t)RUN_MS * 1000000ull / 2;
	for (unsigned int i = 0; i < THREADS; i++)
		nt_thread_start(&th[i], sem_worker, &sh);
	for (unsigned int i = 0; i < THREADS; i++)
		nt_thread_join(&th[i]);
	nt_diag("%lu semaphore rounds", atomic_load(&sh.rounds));
	NT_EXPECT_EQ(atomic_load(&sh.errors), 0);
	NT_EXPECT_LE(atomic_load(&sh.max_inside), 2);
	NT_EXPECT_GT(atomic_load(&sh.rounds), 0);
	NT_CHECK_SEM(sh.sem, 2, 2);
}
