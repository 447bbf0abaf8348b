// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boost records of exited threads do not pile up (issue 12, item 5).
 *
 * With one device fd open for the whole test, 10,000 threads are created,
 * 100 at a time, each waiting on its own auto-reset event; each consumes
 * one EVENT_SET_PI {SCHED_FIFO, 10} (nine batches in ten on the fast path:
 * the signal is staged before the thread exists; one in ten blocked in its
 * wait when the signal comes), checks it runs boosted, and exits without
 * waiting again, so its boost never ends the ordinary way.  A record must
 * die with its task (at the latest on the next operation that meets it):
 * after a short settle and one more ntsync operation (a WAIT_ANY on a
 * signaled semaphore) the live records stay bounded:
 *  - /sys/class/misc/ntsync/stats/pi_records (live boost records) <= 64;
 *  - the active objects of the records' slab caches (ntsync_pi_owner,
 *    ntsync_event_pi) are back at their baseline, within one slab;
 *  - so are task_structs (records hold a task reference): back at their
 *    baseline within 64 and one slab.
 * The slab counts are read after writing /sys/kernel/slab/<cache>/shrink,
 * which flushes the per-CPU slabs, as tests/slab/slab_baseline.sh does.
 * The bounds are polled for up to NT_SOON_MS after the last operation
 * (records and task_structs may be freed after an RCU grace period), then
 * asserted.  The counts are printed as diagnostics.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nt_rt.h"

#define THREADS		10000
#define BATCH		100	/* threads alive at a time, one event each */
#define STACK_SIZE	(64 * 1024)
#define BLOCKED_EVERY	10
#define CHURN_PRIO	10
#define RECORDS_MAX	64
#define TASKS_SLACK	64
#define OWNER		1	/* of every wait here (0 is EINVAL) */

#define PI_RECORDS	"/sys/class/misc/ntsync/stats/pi_records"
#define SLAB_DIR	"/sys/kernel/slab/"

static const char *const caches[] = { "ntsync_pi_owner", "ntsync_event_pi",
				      "task_struct" };
_Static_assert(THREADS % BATCH == 0, "whole batches");

#define NR_CACHES	(sizeof(caches) / sizeof(caches[0]))
#define TASK_CACHE	2	/* caches[TASK_CACHE]: not ntsync's own */

/* ---- sysfs ----------------------------------------------------------- */

/* The first number of a sysfs file; -1 if it cannot be read. */
static long read_number(const char *path)
{
	char buf[256], *end;
	long v;

	if (!nt_read_small_file(path, buf, sizeof(buf)))
		return -1;
	v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

static long slab_file(const char *cache, const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), SLAB_DIR "%s/%s", cache, file);
	return read_number(path);
}

/* Active objects of @cache after flushing its per-CPU slabs; -1 if the
 * cache cannot be read. */
static long slab_objects(const char *cache)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), SLAB_DIR "%s/shrink", cache);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	return slab_file(cache, "objects");
}

struct counts {
	long records;
	long objects[NR_CACHES];
};

static void read_counts(struct counts *c)
{
	c->records = read_number(PI_RECORDS);
	for (unsigned int i = 0; i < NR_CACHES; i++)
		c->objects[i] = slab_objects(caches[i]);
}

/* How far above its baseline cache @i may end. */
static long slack(unsigned int i)
{
	long per_slab = slab_file(caches[i], "objs_per_slab");

	if (per_slab < 0)
		per_slab = 0;
	return per_slab + (i == TASK_CACHE ? TASKS_SLACK : 0);
}

static bool counts_bounded(const struct counts *now, const struct counts *base)
{
	if (now->records < 0 || now->records > RECORDS_MAX)
		return false;
	for (unsigned int i = 0; i < NR_CACHES; i++)
		if (now->objects[i] > base->objects[i] + slack(i))
			return false;
	return true;
}

static void print_counts(const char *when, const struct counts *c)
{
	nt_diag("%s: pi_records %ld, %s %ld, %s %ld, %s %ld objects", when,
		c->records, caches[0], c->objects[0], caches[1], c->objects[1],
		caches[2], c->objects[2]);
}

/* ---- The churn ------------------------------------------------------- */

struct churn {
	int dev;
	int ev[BATCH];
	atomic_uint boosted;
	pthread_attr_t attr;
};

struct consumer {
	struct churn *c;
	int ev;
	atomic_int tid;
	pthread_t handle;
};

/* Consume one boost, check it, exit without another wait. */
static void *consumer_main(void *p)
{
	struct consumer *w = p;
	struct nt_sched self;
	uint32_t index;

	atomic_store(&w->tid, gettid());
	if (ntsync_wait_any(w->c->dev, &w->ev, 1, OWNER, 0,
			    NTSYNC_TIMEOUT_INFINITE, 0, &index) == 0 &&
	    nt_sched_get_raw(0, &self) == 0 &&
	    nt_sched_matches(self, NT_FIFO(CHURN_PRIO)))
		atomic_fetch_add(&w->c->boosted, 1);
	return NULL;
}

static pid_t consumer_tid(struct consumer *w)
{
	uint64_t start = nt_mono_ns();

	while (!atomic_load(&w->tid)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("a consumer did not start within %u ms",
				NT_SOON_MS);
		nt_sleep_us(100);
	}
	return atomic_load(&w->tid);
}

/*
 * BATCH threads, one per event, each consuming one boost: staged before
 * the threads exist (fast path), or, if @blocked, signaled once every
 * thread sleeps in its wait.  Threads are created without a handshake and
 * with small stacks: under TCG a wake-up across vCPUs costs milliseconds,
 * so thread creation is batched, not done one round trip at a time.
 */
static void one_batch(struct churn *c, bool blocked)
{
	struct consumer w[BATCH];
	int err;

	for (unsigned int i = 0; i < BATCH; i++) {
		w[i] = (struct consumer){ .c = c, .ev = c->ev[i] };
		if (!blocked)
			nt_set_pi(c->ev[i], SCHED_FIFO, CHURN_PRIO);
		err = pthread_create(&w[i].handle, &c->attr, consumer_main,
				     &w[i]);
		if (err)
			NT_FAIL("pthread_create: %s", strerror(err));
	}
	for (unsigned int i = 0; blocked && i < BATCH; i++) {
		nt_wait_blocked(consumer_tid(&w[i]));
		nt_set_pi(c->ev[i], SCHED_FIFO, CHURN_PRIO);
	}
	for (unsigned int i = 0; i < BATCH; i++) {
		err = pthread_join(w[i].handle, NULL);
		if (err)
			NT_FAIL("pthread_join: %s", strerror(err));
	}
}

NT_TEST_TIMEOUT(exited_threads_leave_no_records, 300)
{
	struct counts base, now;
	struct churn c = { 0 };
	struct nt_sched self = nt_sched_get(0);
	uint64_t start;
	uint32_t index;
	int sem;

	c.dev = nt_dev();
	NT_ASSERT_EQ(pthread_attr_init(&c.attr), 0);
	NT_ASSERT_EQ(pthread_attr_setstacksize(&c.attr, STACK_SIZE), 0);
	for (unsigned int i = 0; i < BATCH; i++)
		c.ev[i] = nt_event(c.dev, 0, 0);
	sem = nt_sem(c.dev, 1, 1);
	read_counts(&base);
	print_counts("before", &base);
	for (unsigned int i = 0; i < NR_CACHES; i++)
		if (base.objects[i] < 0)
			NT_FAIL("cannot read " SLAB_DIR "%s/objects", caches[i]);

	start = nt_mono_ns();
	for (unsigned int i = 0; i < THREADS / BATCH; i++)
		one_batch(&c, i % BLOCKED_EVERY == 0);
	nt_diag("%u threads in %llu ms, %u of them ran boosted", THREADS,
		(unsigned long long)nt_elapsed_ms(start),
		atomic_load(&c.boosted));
	NT_EXPECT_EQ(atomic_load(&c.boosted), THREADS);
	for (unsigned int i = 0; i < BATCH; i++)
		NT_CHECK_EVENT(c.ev[i], 0, 0);

	/* Let the last threads finish exiting, then one more operation. */
	nt_sleep_ms(200);
	NT_ASSERT_EQ(ntsync_wait_any(c.dev, &sem, 1, OWNER, 0, NT_NOW_DEADLINE,
				     0, &index), 0);
	start = nt_mono_ns();
	do {
		read_counts(&now);
		if (counts_bounded(&now, &base))
			break;
		nt_sleep_ms(50);
	} while (nt_elapsed_ms(start) < NT_SOON_MS);
	print_counts("after", &now);

	if (now.records < 0)
		NT_FAIL_SOFT("%s cannot be read", PI_RECORDS);
	NT_EXPECT_LE(now.records, RECORDS_MAX);
	for (unsigned int i = 0; i < NR_CACHES; i++)
		if (now.objects[i] > base.objects[i] + slack(i))
			NT_FAIL_SOFT("%s: %ld active objects, baseline %ld (+%ld allowed)",
				     caches[i], now.objects[i],
				     base.objects[i], slack(i));
	/* The signalling thread itself was never boosted. */
	NT_CHECK_SCHED(0, self);

	close(sem);
	for (unsigned int i = 0; i < BATCH; i++)
		close(c.ev[i]);
	pthread_attr_destroy(&c.attr);
	close(c.dev);
	read_counts(&now);
	print_counts("device closed", &now);
}
