// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: KUnit tests of internal invariants.  Built into ntsync.ko
 * only for kernels with CONFIG_KUNIT (the debug kernel); the suite runs when
 * the module loads and reports KTAP in the kernel log.
 *
 * The ordering and PI code reads only task->prio of a waiter's task, so the
 * tests give waiters zeroed stand-in task_structs with just that field set.
 * No lock is taken: nothing here is shared.
 */

#include <kunit/test.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "ntsync_internal.h"

#define NTSYNC_TEST_WAITERS	6

struct ntsync_test_waiter {
	struct task_struct *task;
	struct ntsync_q *q;
	struct ntsync_q_entry *entry;
};

/* A waiter of kernel priority @prio, queued @seq-th, on nothing yet. */
static void ntsync_test_waiter_init(struct kunit *test,
				    struct ntsync_test_waiter *w, int prio,
				    u64 seq)
{
	w->task = kunit_kzalloc(test, sizeof(*w->task), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w->task);
	w->task->prio = prio;
	w->q = kunit_kzalloc(test, struct_size(w->q, entries, 1), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w->q);
	w->q->task = w->task;
	w->q->seq = seq;
	atomic_set(&w->q->signaled, -1);
	w->entry = &w->q->entries[0];
	w->entry->q = w->q;
}

/* The queue must hold the waiters in exactly the order @expect. */
static void ntsync_expect_order(struct kunit *test, struct list_head *head,
				struct ntsync_test_waiter *w,
				const int *expect, int n)
{
	struct ntsync_q_entry *entry;
	int i = 0;

	list_for_each_entry(entry, head, node) {
		KUNIT_ASSERT_LT(test, i, n);
		KUNIT_EXPECT_PTR_EQ(test, entry, w[expect[i]].entry);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

/* Better priority first; first come, first served within a priority. */
static void ntsync_test_waiter_order(struct kunit *test)
{
	static const int prio[NTSYNC_TEST_WAITERS] = { 120, 50, 120, 10, 50, 120 };
	static const int expect[NTSYNC_TEST_WAITERS] = { 3, 1, 4, 0, 2, 5 };
	struct ntsync_test_waiter w[NTSYNC_TEST_WAITERS];
	LIST_HEAD(head);
	int i;

	for (i = 0; i < NTSYNC_TEST_WAITERS; i++) {
		ntsync_test_waiter_init(test, &w[i], prio[i], i + 1);
		ntsync_insert_waiter(w[i].entry, &head);
	}
	ntsync_expect_order(test, &head, w, expect, NTSYNC_TEST_WAITERS);
}

/* A waiter whose priority changed is re-sorted; the others keep order. */
static void ntsync_test_waiter_resort(struct kunit *test)
{
	static const int expect_before[4] = { 1, 0, 2, 3 };
	static const int expect_after[4] = { 3, 1, 0, 2 };
	struct ntsync_test_waiter w[4];
	LIST_HEAD(head);
	int i;

	ntsync_test_waiter_init(test, &w[0], 60, 1);
	ntsync_test_waiter_init(test, &w[1], 40, 2);
	ntsync_test_waiter_init(test, &w[2], 60, 3);
	ntsync_test_waiter_init(test, &w[3], 60, 4);
	for (i = 0; i < 4; i++)
		ntsync_insert_waiter(w[i].entry, &head);
	ntsync_expect_order(test, &head, w, expect_before, 4);

	/* Nothing changed: nothing moves. */
	ntsync_refresh_order(&head);
	ntsync_expect_order(test, &head, w, expect_before, 4);

	/* The last waiter is boosted above everyone. */
	w[3].task->prio = 20;
	ntsync_refresh_order(&head);
	ntsync_expect_order(test, &head, w, expect_after, 4);
	KUNIT_EXPECT_EQ(test, w[3].entry->prio, 20);
}

/* Mutex PI: best among wait-any and wait-all waiters still waiting. */
static void ntsync_test_pi_best_waiter(struct kunit *test)
{
	struct ntsync_test_waiter w[4];
	struct ntsync_obj *mutex;

	mutex = kunit_kzalloc(test, sizeof(*mutex), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mutex);
	mutex->type = NTSYNC_TYPE_MUTEX;
	INIT_LIST_HEAD(&mutex->any_waiters);
	INIT_LIST_HEAD(&mutex->all_waiters);

	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), NTSYNC_NO_BOOST);

	ntsync_test_waiter_init(test, &w[0], 120, 1);
	ntsync_test_waiter_init(test, &w[1], 30, 2);
	ntsync_test_waiter_init(test, &w[2], 10, 3);
	ntsync_test_waiter_init(test, &w[3], 20, 4);
	ntsync_insert_waiter(w[0].entry, &mutex->any_waiters);
	ntsync_insert_waiter(w[1].entry, &mutex->any_waiters);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 30);

	/* A wait-all waiter counts as much as a wait-any one. */
	ntsync_insert_waiter(w[2].entry, &mutex->all_waiters);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 10);

	/* A waiter already satisfied (leaving) no longer counts. */
	atomic_set(&w[2].q->signaled, 0);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 30);
	ntsync_insert_waiter(w[3].entry, &mutex->all_waiters);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 20);
}

static unsigned int ntsync_test_list_len(struct list_head *head)
{
	struct list_head *pos;
	unsigned int n = 0;

	list_for_each(pos, head)
		n++;
	return n;
}

/* The pi_work pool: filled before locks, taken from, emptied at finish. */
static void ntsync_test_pi_work_pool(struct kunit *test)
{
	struct ntsync_boost *a, *b;
	struct ntsync_pi_work w;

	ntsync_pi_work_init(&w);
	KUNIT_EXPECT_NULL(test, ntsync_pi_work_take(&w));

	ntsync_pi_work_prealloc(&w, 3);
	KUNIT_EXPECT_EQ(test, ntsync_test_list_len(&w.pool), 3U);
	a = ntsync_pi_work_take(&w);
	b = ntsync_pi_work_take(&w);
	KUNIT_EXPECT_NOT_NULL(test, a);
	KUNIT_EXPECT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_NE(test, a, b);
	KUNIT_EXPECT_EQ(test, ntsync_test_list_len(&w.pool), 1U);

	/* Records taken are the caller's: here, handed back to free. */
	ntsync_boost_free(a);
	ntsync_boost_free(b);
	ntsync_pi_work_finish(&w);
	KUNIT_EXPECT_TRUE(test, list_empty(&w.pool));
	KUNIT_EXPECT_TRUE(test, list_empty(&w.to_free));
	KUNIT_EXPECT_NULL(test, w.put_task);
	/* Finishing twice is harmless. */
	ntsync_pi_work_finish(&w);
}

/* Channel entries: priority first, then arrival; new-first detection. */
static void ntsync_test_channel_order(struct kunit *test)
{
	static const __u32 prio[] = { 0, 50, 50, 90, 0, 10 };
	static const bool new_first[] = { true, true, false, true, false, false };
	static const int expect[] = { 3, 1, 2, 5, 0, 4 };
	struct ntsync_channel_entry *e[ARRAY_SIZE(prio)];
	struct rb_root_cached tree = RB_ROOT_CACHED;
	struct rb_node *node;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(prio); i++) {
		e[i] = kunit_kzalloc(test, sizeof(*e[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, e[i]);
		e[i]->prio = prio[i];
		e[i]->seq = i + 1;
		node = rb_add_cached(&e[i]->node, &tree, ntsync_entry_less);
		KUNIT_EXPECT_EQ_MSG(test, node == &e[i]->node, new_first[i],
				    "entry %u", i);
	}

	for (i = 0; i < ARRAY_SIZE(expect); i++) {
		node = rb_first_cached(&tree);
		KUNIT_ASSERT_NOT_NULL(test, node);
		KUNIT_EXPECT_PTR_EQ(test, node, &e[expect[i]]->node);
		rb_erase_cached(node, &tree);
	}
	KUNIT_EXPECT_NULL(test, rb_first_cached(&tree));
}

static struct kunit_case ntsync_test_cases[] = {
	KUNIT_CASE(ntsync_test_waiter_order),
	KUNIT_CASE(ntsync_test_waiter_resort),
	KUNIT_CASE(ntsync_test_pi_best_waiter),
	KUNIT_CASE(ntsync_test_pi_work_pool),
	KUNIT_CASE(ntsync_test_channel_order),
	{}
};

static struct kunit_suite ntsync_test_suite = {
	.name = "ntsync",
	.test_cases = ntsync_test_cases,
};

kunit_test_suite(ntsync_test_suite);
