// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real-time stress: signaller threads hammer a set of events with
 * EVENT_SET_PI, EVENT_SET, EVENT_RESET and EVENT_PULSE while waiter threads
 * wait on them (WAIT_ANY on 1-3 events, WAIT_ALL on 2) with deadlines of a
 * few milliseconds, and mutex threads (SCHED_FIFO, SCHED_RR and
 * SCHED_OTHER) contend on a few mutexes with single, wait-all, nested and
 * recursive acquisitions, which drives priority inheritance and its chains.
 *
 * Invariants checked while it runs, each failure counted as "unexpected":
 *   - every call returns 0, and waits 0 or ETIMEDOUT only;
 *   - a wait that timed out consumed nothing, so the waiter is at exactly
 *     its own attributes (its last boost drained as the wait began);
 *   - a successful wait leaves the waiter at its own attributes or at an
 *     RT policy and priority some signaller may have staged;
 *   - a mutex thread that released everything it held is at exactly its
 *     own attributes;
 *   - MUTEX_READ shows the holder as owner with the recursion it took.
 * At the end: no unexpected result, mutex acquires == releases, every mutex
 * unowned, and every thread, after one last (draining) wait, reads its own
 * attributes back as exactly what it started with.
 *
 * Runs 3 s by default; "--seconds N" (or NT_STRESS_SECONDS=N) runs longer.
 */
#include <pthread.h>
#include <string.h>

#include "nt_rt.h"

#define N_SIGNALLERS	8
#define N_WAITERS	8
#define N_LOCKERS	6
#define N_WORKERS	(N_SIGNALLERS + N_WAITERS + N_LOCKERS)
#define N_EVENTS	6	/* 0..2 auto-reset, 3..5 manual */
#define N_MUTEXES	3
#define MAX_STAGED_PRIO	60
#define MAX_REPORTS	20

static unsigned int run_seconds = 3;

enum role { SIGNALLER, WAITER, LOCKER };

struct worker {
	struct nt_thread thread;
	enum role role;
	unsigned int id;	/* within its role */
	unsigned int slot;	/* within all workers */
	struct nt_sched base;	/* requested */
	struct nt_sched start;	/* read by the thread once set */
	struct nt_sched end;	/* read by the thread after its last wait */
	int end_ret;
	uint32_t seed;
};

static struct {
	int dev;
	int events[N_EVENTS];
	int mutexes[N_MUTEXES];
	int idle[N_WORKERS];	/* never signaled: the final draining wait */
	pthread_barrier_t go;
	atomic_bool stop;
	atomic_ulong set_pi, set_pi0, set, reset, pulse;
	atomic_ulong wait_ok, wait_all_ok, wait_timeout, boosted;
	atomic_ulong acquires, releases, lock_timeouts, nested, recursive;
	atomic_ulong unexpected;
} g;

static const struct nt_sched signaller_bases[N_SIGNALLERS] = {
	NT_OTHER(0), NT_OTHER(2), NT_OTHER(4), NT_OTHER(-2),
	NT_OTHER(6), NT_OTHER(1), NT_FIFO_N(2, 0), NT_RR(3),
};
static const struct nt_sched waiter_bases[N_WAITERS] = {
	NT_OTHER(0), NT_OTHER(5), NT_OTHER(-5), NT_FIFO_N(3, 0),
	NT_RR(4), NT_OTHER(10), NT_FIFO_N(1, 0), NT_OTHER(19),
};
static const struct nt_sched locker_bases[N_LOCKERS] = {
	NT_FIFO_N(5, 0), NT_FIFO_N(8, 0), NT_RR(6),
	NT_OTHER(0), NT_OTHER(3), NT_OTHER(-4),
};

static const char *const role_names[] = { "signaller", "waiter", "locker" };

static void unexpected(const struct worker *w, const char *what, long long v)
{
	unsigned long n = atomic_fetch_add(&g.unexpected, 1);

	if (n < MAX_REPORTS)
		nt_diag("%s %u: %s (%lld)", role_names[w->role], w->id, what, v);
}

static void unexpected_sched(const struct worker *w, const char *what,
			     struct nt_sched got)
{
	char g1[64], g2[64];
	unsigned long n = atomic_fetch_add(&g.unexpected, 1);

	if (n < MAX_REPORTS)
		nt_diag("%s %u: %s: at %s, own attributes %s",
			role_names[w->role], w->id, what,
			nt_sched_str(got, g1, sizeof(g1)),
			nt_sched_str(w->start, g2, sizeof(g2)));
}

static struct nt_sched self_sched(const struct worker *w)
{
	struct nt_sched s;
	int ret = nt_sched_get_raw(0, &s);

	if (ret < 0) {
		unexpected(w, "sched_getattr", ret);
		memset(&s, 0xff, sizeof(s));
	}
	return s;
}

static uint64_t deadline_us(unsigned int us)
{
	return nt_mono_ns() + (uint64_t)us * 1000u;
}

/* Pick @n distinct values below @max into @out. */
static void pick(uint32_t *seed, unsigned int n, unsigned int max,
		 unsigned int *out)
{
	for (unsigned int i = 0; i < n; i++) {
		bool dup;

		do {
			out[i] = nt_rand(seed) % max;
			dup = false;
			for (unsigned int j = 0; j < i; j++)
				dup |= out[j] == out[i];
		} while (dup);
	}
}

static void signaller(struct worker *w)
{
	unsigned long ops = 0;

	while (!atomic_load(&g.stop)) {
		uint32_t r = nt_rand(&w->seed) % 16, prev;
		int ev = g.events[nt_rand(&w->seed) % N_EVENTS];
		int ret;

		if (r < 7) {
			uint32_t policy = nt_rand(&w->seed) % 2 ? SCHED_RR : SCHED_FIFO;
			uint32_t prio = 1 + nt_rand(&w->seed) % MAX_STAGED_PRIO;

			ret = ntsync_event_set_pi(ev, policy, prio);
			atomic_fetch_add(&g.set_pi, 1);
		} else if (r < 8) {
			ret = ntsync_event_set_pi(ev, SCHED_FIFO, 0);
			atomic_fetch_add(&g.set_pi0, 1);
		} else if (r < 11) {
			ret = ntsync_event_set(ev, &prev);
			atomic_fetch_add(&g.set, 1);
		} else if (r < 13) {
			ret = ntsync_event_reset(ev, &prev);
			atomic_fetch_add(&g.reset, 1);
		} else {
			ret = ntsync_event_pulse(ev, &prev);
			atomic_fetch_add(&g.pulse, 1);
		}
		if (ret)
			unexpected(w, "event operation failed", ret);
		/* Pacing, so that waits also time out; not synchronisation. */
		if (++ops % 4 == 0)
			nt_sleep_us(50);
	}
}

/* After a successful wait: own attributes, or a staged RT boost. */
static void check_after_consume(struct worker *w)
{
	struct nt_sched s = self_sched(w);

	if (nt_sched_matches(s, w->start))
		return;
	if ((s.policy == SCHED_FIFO || s.policy == SCHED_RR) &&
	    s.prio >= 1 && s.prio <= MAX_STAGED_PRIO) {
		atomic_fetch_add(&g.boosted, 1);
		return;
	}
	unexpected_sched(w, "after a successful wait", s);
}

static void waiter(struct worker *w)
{
	while (!atomic_load(&g.stop)) {
		uint32_t mode = nt_rand(&w->seed) % 4, index;
		unsigned int pos[3], n = mode < 3 ? mode + 1 : 2;
		bool all = mode == 3;
		int objs[3], ret;

		pick(&w->seed, n, N_EVENTS, pos);
		for (unsigned int i = 0; i < n; i++)
			objs[i] = g.events[pos[i]];
		ret = (all ? ntsync_wait_all : ntsync_wait_any)(
			g.dev, objs, n, NT_WAIT_OWNER, NTSYNC_NO_ALERT,
			deadline_us(1000 + nt_rand(&w->seed) % 2000), 0, &index);
		if (ret == 0) {
			atomic_fetch_add(all ? &g.wait_all_ok : &g.wait_ok, 1);
			if ((all && index != 0) || (!all && index >= n))
				unexpected(w, "wait index", index);
			check_after_consume(w);
		} else if (ret == -ETIMEDOUT) {
			struct nt_sched s = self_sched(w);

			atomic_fetch_add(&g.wait_timeout, 1);
			if (!nt_sched_matches(s, w->start))
				unexpected_sched(w, "after a timed-out wait", s);
		} else {
			unexpected(w, all ? "WAIT_ALL" : "WAIT_ANY", ret);
		}
	}
}

/* Acquire through a wait; true when taken. */
static bool lock_wait(struct worker *w, const int *objs, uint32_t n,
		      uint64_t deadline)
{
	uint32_t owner = 1000 + w->id, index;
	int ret = (n > 1 ? ntsync_wait_all : ntsync_wait_any)(
		g.dev, objs, n, owner, NTSYNC_NO_ALERT, deadline, 0, &index);

	if (ret == 0) {
		atomic_fetch_add(&g.acquires, n);
		return true;
	}
	if (ret == -ETIMEDOUT)
		atomic_fetch_add(&g.lock_timeouts, 1);
	else
		unexpected(w, "mutex wait", ret);
	return false;
}

static void check_held(struct worker *w, unsigned int m, uint32_t count)
{
	uint32_t owner = NT_POISON, c = NT_POISON;
	int ret = ntsync_mutex_read(g.mutexes[m], &owner, &c);

	if (ret || owner != 1000 + w->id || c != count)
		unexpected(w, "MUTEX_READ of a held mutex (ret, owner<<8|count)",
			   ret ? ret : (long long)owner << 8 | c);
}

static void unlock_n(struct worker *w, unsigned int m, uint32_t count)
{
	while (count) {
		uint32_t prev = NT_POISON;
		int ret = ntsync_mutex_unlock(g.mutexes[m], 1000 + w->id, &prev);

		if (ret || prev != count) {
			unexpected(w, "MUTEX_UNLOCK (ret or previous count)",
				   ret ? ret : (long long)prev);
			return;
		}
		atomic_fetch_add(&g.releases, 1);
		count--;
	}
}

static void locker(struct worker *w)
{
	while (!atomic_load(&g.stop)) {
		uint32_t held[N_MUTEXES] = { 0 };
		uint32_t mode = nt_rand(&w->seed) % 4;
		unsigned int pos[2];
		struct nt_sched s;

		pick(&w->seed, 2, N_MUTEXES, pos);
		if (pos[0] > pos[1]) {	/* one global order: no deadlock */
			unsigned int t = pos[0];

			pos[0] = pos[1];
			pos[1] = t;
		}
		if (mode == 2) {
			int objs[2] = { g.mutexes[pos[0]], g.mutexes[pos[1]] };

			if (lock_wait(w, objs, 2, deadline_us(2000)))
				held[pos[0]] = held[pos[1]] = 1;
		} else if (lock_wait(w, &g.mutexes[pos[0]], 1, deadline_us(2000))) {
			held[pos[0]] = 1;
			/* Nested: wait for a second one while holding. */
			if (mode == 3 &&
			    lock_wait(w, &g.mutexes[pos[1]], 1, deadline_us(2000))) {
				held[pos[1]] = 1;
				atomic_fetch_add(&g.nested, 1);
			}
			/* Recursive: an owner's wait succeeds at once. */
			if (mode == 1) {
				if (lock_wait(w, &g.mutexes[pos[0]], 1, NT_NOW_DEADLINE))
					held[pos[0]]++;
				else
					unexpected(w, "recursive acquire failed", 0);
				atomic_fetch_add(&g.recursive, 1);
			}
		}
		for (unsigned int m = 0; m < N_MUTEXES; m++)
			if (held[m])
				check_held(w, m, held[m]);
		/* Hold for a while now and then: contention, PI. */
		if (nt_rand(&w->seed) % 2)
			nt_sleep_us(100 + nt_rand(&w->seed) % 200);
		for (unsigned int m = N_MUTEXES; m-- > 0;)
			unlock_n(w, m, held[m]);
		s = self_sched(w);
		if (!nt_sched_matches(s, w->start))
			unexpected_sched(w, "holding nothing", s);
	}
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint32_t index;
	int ret;

	nt_sched_set(0, w->base);
	w->start = nt_sched_get(0);
	ret = pthread_barrier_wait(&g.go);
	if (ret && ret != PTHREAD_BARRIER_SERIAL_THREAD)
		NT_FAIL("pthread_barrier_wait: %s", strerror(ret));

	switch (w->role) {
	case SIGNALLER: signaller(w); break;
	case WAITER: waiter(w); break;
	case LOCKER: locker(w); break;
	}

	/* One last wait drains an EVENT_SET_PI boost; then read back. */
	w->end_ret = ntsync_wait_any(g.dev, &g.idle[w->slot], 1, NT_WAIT_OWNER,
				     NTSYNC_NO_ALERT, NT_NOW_DEADLINE, 0, &index);
	w->end = self_sched(w);
	return NULL;
}

NT_TEST_TIMEOUT(mixed_rt_stress, 60)
{
	static struct worker workers[N_WORKERS];
	unsigned long mismatched = 0;
	unsigned int n = 0;

	nt_pi_param_set(true);
	g.dev = nt_dev();
	for (unsigned int i = 0; i < N_EVENTS; i++)
		g.events[i] = nt_event(g.dev, i >= N_EVENTS / 2, 0);
	for (unsigned int i = 0; i < N_MUTEXES; i++)
		g.mutexes[i] = nt_mutex(g.dev, 0, 0);
	for (unsigned int i = 0; i < N_WORKERS; i++)
		g.idle[i] = nt_event(g.dev, 0, 0);
	NT_ASSERT_EQ(pthread_barrier_init(&g.go, NULL, N_WORKERS + 1), 0);

	for (unsigned int i = 0; i < N_SIGNALLERS; i++, n++)
		workers[n] = (struct worker){ .role = SIGNALLER, .id = i,
					      .base = signaller_bases[i] };
	for (unsigned int i = 0; i < N_WAITERS; i++, n++)
		workers[n] = (struct worker){ .role = WAITER, .id = i,
					      .base = waiter_bases[i] };
	for (unsigned int i = 0; i < N_LOCKERS; i++, n++)
		workers[n] = (struct worker){ .role = LOCKER, .id = i,
					      .base = locker_bases[i] };
	for (unsigned int i = 0; i < N_WORKERS; i++) {
		workers[i].slot = i;
		workers[i].seed = 0x12345u + i * 7919u;
		nt_thread_start(&workers[i].thread, worker_main, &workers[i]);
	}

	pthread_barrier_wait(&g.go);
	nt_sleep_ms(run_seconds * 1000u);	/* the run's length */
	atomic_store(&g.stop, true);
	for (unsigned int i = 0; i < N_WORKERS; i++)
		nt_thread_join(&workers[i].thread);

	nt_diag("%u s: SET_PI %lu, SET_PI prio 0 %lu, SET %lu, RESET %lu, PULSE %lu",
		run_seconds, atomic_load(&g.set_pi), atomic_load(&g.set_pi0),
		atomic_load(&g.set), atomic_load(&g.reset),
		atomic_load(&g.pulse));
	nt_diag("waits: ANY ok %lu, ALL ok %lu, timed out %lu, boosted after wait %lu",
		atomic_load(&g.wait_ok), atomic_load(&g.wait_all_ok),
		atomic_load(&g.wait_timeout), atomic_load(&g.boosted));
	nt_diag("mutexes: acquires %lu, releases %lu, timeouts %lu, nested %lu, recursive %lu",
		atomic_load(&g.acquires), atomic_load(&g.releases),
		atomic_load(&g.lock_timeouts), atomic_load(&g.nested),
		atomic_load(&g.recursive));
	nt_diag("unexpected results: %lu", atomic_load(&g.unexpected));

	for (unsigned int i = 0; i < N_WORKERS; i++) {
		struct worker *w = &workers[i];
		char a[64], b[64];

		if (w->end_ret != -ETIMEDOUT)
			nt_diag("%s %u: final wait returned %d", role_names[w->role],
				w->id, w->end_ret);
		if (w->end_ret != -ETIMEDOUT || !nt_sched_matches(w->end, w->start)) {
			mismatched++;
			nt_diag("%s %u: ends at %s, started at %s",
				role_names[w->role], w->id,
				nt_sched_str(w->end, a, sizeof(a)),
				nt_sched_str(w->start, b, sizeof(b)));
		}
	}
	NT_EXPECT_EQ(mismatched, 0);
	NT_EXPECT_EQ(atomic_load(&g.unexpected), 0);
	NT_EXPECT_EQ(atomic_load(&g.acquires), atomic_load(&g.releases));
	for (unsigned int i = 0; i < N_MUTEXES; i++)
		NT_CHECK_MUTEX(g.mutexes[i], 0, 0);
	/*
	 * Progress: signallers staged boosts and lockers took mutexes (a
	 * free mutex is taken at once).  Whether a wait caught an event
	 * before a RESET, a PULSE or its deadline depends on the
	 * interleaving: printed above, never asserted.
	 */
	NT_EXPECT_GT(atomic_load(&g.set_pi), 0);
	NT_EXPECT_GT(atomic_load(&g.acquires), 0);
}

/* "--seconds N" / "--seconds=N" (or NT_STRESS_SECONDS=N): see
 * nt_take_seconds_option(). */
__attribute__((constructor)) static void take_seconds_option(int argc,
							     char **argv)
{
	nt_take_seconds_option(argc, argv, &run_seconds);
	/* Room for the run on top of setup and teardown. */
	nt_desc_mixed_rt_stress.timeout_s = run_seconds + 60;
}
