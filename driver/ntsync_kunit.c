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
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "ntsync_internal.h"

#define NTSYNC_TEST_WAITERS	6
/* Waiters of the queue invariant tests: several sweep windows long. */
#define NTSYNC_TEST_LONG	64

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
	RB_CLEAR_NODE(&w->entry->node);
}

/* @n waiters, the i-th queued i-th, at priorities from @prio(i). */
static struct ntsync_test_waiter *
ntsync_test_waiters(struct kunit *test, unsigned int n,
		    int (*prio)(unsigned int i))
{
	struct ntsync_test_waiter *w;
	unsigned int i;

	w = kunit_kcalloc(test, n, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	for (i = 0; i < n; i++)
		ntsync_test_waiter_init(test, &w[i], prio(i), i + 1);
	return w;
}

/* @wq initialised with ntsync_test_waiters(@n, @prio) queued in order. */
static struct ntsync_test_waiter *
ntsync_test_queue(struct kunit *test, struct ntsync_wq *wq, unsigned int n,
		  int (*prio)(unsigned int i))
{
	struct ntsync_test_waiter *w = ntsync_test_waiters(test, n, prio);
	unsigned int i;

	ntsync_wq_init(wq);
	for (i = 0; i < n; i++)
		ntsync_wq_insert(wq, w[i].entry);
	return w;
}

/* The queue must hold the waiters in exactly the order @expect. */
static void ntsync_expect_order(struct kunit *test, struct ntsync_wq *wq,
				struct ntsync_test_waiter *w,
				const int *expect, int n)
{
	struct rb_node *node;
	int i = 0;

	for (node = rb_first(&wq->root.rb_root); node; node = rb_next(node)) {
		KUNIT_ASSERT_LT(test, i, n);
		KUNIT_EXPECT_PTR_EQ(test, node, &w[expect[i]].entry->node);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

/*
 * The invariants of a queue: in-order traversal sorted by (prio, seq), the
 * cached leftmost is the first, the sweep cursor is on a queued entry, the
 * count is the length of the tree and of the members list, and with @fresh,
 * every key is its task's priority now.
 * Returns the length.
 */
static unsigned int ntsync_expect_wq_valid(struct kunit *test,
					   struct ntsync_wq *wq, bool fresh)
{
	const struct ntsync_q_entry *prev = NULL;
	unsigned int n = 0, members = 0;
	bool sweep_seen = !wq->sweep;
	struct hlist_node *member;
	struct rb_node *node;

	KUNIT_EXPECT_PTR_EQ(test, rb_first_cached(&wq->root),
			    rb_first(&wq->root.rb_root));
	for (node = rb_first(&wq->root.rb_root); node; node = rb_next(node)) {
		const struct ntsync_q_entry *e;

		e = rb_entry(node, struct ntsync_q_entry, node);
		if (fresh)
			KUNIT_EXPECT_EQ(test, e->prio, e->q->task->prio);
		if (prev)
			KUNIT_EXPECT_TRUE_MSG(test, prev->prio < e->prio ||
					      (prev->prio == e->prio &&
					       prev->q->seq < e->q->seq),
					      "(%d, %llu) before (%d, %llu)",
					      prev->prio, prev->q->seq, e->prio,
					      e->q->seq);
		if (&e->member == wq->sweep)
			sweep_seen = true;
		prev = e;
		n++;
	}
	KUNIT_EXPECT_TRUE(test, sweep_seen);
	KUNIT_EXPECT_EQ(test, ntsync_wq_empty(wq), n == 0);
	KUNIT_EXPECT_EQ(test, wq->count, n);
	hlist_for_each(member, &wq->members)
		members++;
	KUNIT_EXPECT_EQ(test, members, n);
	return n;
}

/* Better priority first; first come, first served within a priority. */
static void ntsync_test_waiter_order(struct kunit *test)
{
	static const int prio[NTSYNC_TEST_WAITERS] = { 120, 50, 120, 10, 50, 120 };
	static const int expect[NTSYNC_TEST_WAITERS] = { 3, 1, 4, 0, 2, 5 };
	struct ntsync_test_waiter w[NTSYNC_TEST_WAITERS];
	struct ntsync_wq wq;
	int i;

	ntsync_wq_init(&wq);
	for (i = 0; i < NTSYNC_TEST_WAITERS; i++) {
		ntsync_test_waiter_init(test, &w[i], prio[i], i + 1);
		ntsync_wq_insert(&wq, w[i].entry);
	}
	ntsync_expect_order(test, &wq, w, expect, NTSYNC_TEST_WAITERS);
	KUNIT_EXPECT_PTR_EQ(test, ntsync_wq_first(&wq), w[3].entry);
	ntsync_expect_wq_valid(test, &wq, true);
}

/*
 * A waiter whose priority changed is requeued by the next pass's re-check
 * in a queue no longer than its window; the others keep their order.
 */
static void ntsync_test_waiter_resort(struct kunit *test)
{
	static const int expect_before[4] = { 1, 0, 2, 3 };
	static const int expect_after[4] = { 3, 1, 0, 2 };
	static const int expect_lowered[4] = { 3, 0, 1, 2 };
	struct ntsync_test_waiter w[4];
	struct ntsync_wq wq;
	int i;

	ntsync_wq_init(&wq);
	ntsync_test_waiter_init(test, &w[0], 60, 1);
	ntsync_test_waiter_init(test, &w[1], 40, 2);
	ntsync_test_waiter_init(test, &w[2], 60, 3);
	ntsync_test_waiter_init(test, &w[3], 60, 4);
	for (i = 0; i < 4; i++)
		ntsync_wq_insert(&wq, w[i].entry);
	ntsync_expect_order(test, &wq, w, expect_before, 4);

	/* Nothing changed: nothing moves. */
	ntsync_wq_sweep(&wq);
	ntsync_expect_order(test, &wq, w, expect_before, 4);

	/* The last waiter is boosted above everyone. */
	w[3].task->prio = 20;
	ntsync_wq_sweep(&wq);
	ntsync_expect_order(test, &wq, w, expect_after, 4);
	KUNIT_EXPECT_EQ(test, w[3].entry->prio, 20);

	/* Lowered behind its equals: it keeps its arrival among them. */
	w[1].task->prio = 60;
	ntsync_wq_sweep(&wq);
	ntsync_expect_order(test, &wq, w, expect_lowered, 4);
	ntsync_expect_wq_valid(test, &wq, true);
}

/* Mutex PI: best among wait-any and wait-all waiters still waiting. */
static void ntsync_test_pi_best_waiter(struct kunit *test)
{
	struct ntsync_test_waiter w[4];
	struct ntsync_obj *mutex;

	mutex = kunit_kzalloc(test, sizeof(*mutex), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mutex);
	mutex->type = NTSYNC_TYPE_MUTEX;
	ntsync_wq_init(&mutex->any_waiters);
	ntsync_wq_init(&mutex->all_waiters);

	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), NTSYNC_NO_BOOST);

	ntsync_test_waiter_init(test, &w[0], 120, 1);
	ntsync_test_waiter_init(test, &w[1], 30, 2);
	ntsync_test_waiter_init(test, &w[2], 10, 3);
	ntsync_test_waiter_init(test, &w[3], 20, 4);
	ntsync_wq_insert(&mutex->any_waiters, w[0].entry);
	ntsync_wq_insert(&mutex->any_waiters, w[1].entry);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 30);

	/* A wait-all waiter counts as much as a wait-any one. */
	ntsync_wq_insert(&mutex->all_waiters, w[2].entry);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 10);

	/* A waiter already satisfied (leaving) no longer counts... */
	atomic_set(&w[2].q->signaled, 0);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 30);
	/* ... and was unlinked; its own removal then does nothing. */
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_NODE(&w[2].entry->node));
	KUNIT_EXPECT_TRUE(test, ntsync_wq_empty(&mutex->all_waiters));
	ntsync_wq_remove(&mutex->all_waiters, w[2].entry);
	ntsync_wq_insert(&mutex->all_waiters, w[3].entry);
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 20);

	/* The best waiter lowered: the next one's priority counts. */
	w[3].task->prio = 100;
	KUNIT_EXPECT_EQ(test, ntsync_pi_best_waiter(mutex), 30);
	KUNIT_EXPECT_EQ(test, w[3].entry->prio, 100);
}

/* Priorities for the long queues: 8 levels, interleaved. */
static int ntsync_test_prio_mix(unsigned int i)
{
	return 10 + (int)((i * 5) % 8) * 15;
}

/* Insert in arrival order, remove arbitrary entries: always sorted. */
static void ntsync_test_wq_insert_remove(struct kunit *test)
{
	struct ntsync_test_waiter *w;
	struct ntsync_wq wq;
	unsigned int i, n;

	w = ntsync_test_waiters(test, NTSYNC_TEST_LONG, ntsync_test_prio_mix);
	ntsync_wq_init(&wq);
	for (i = 0; i < NTSYNC_TEST_LONG; i++) {
		ntsync_wq_insert(&wq, w[i].entry);
		KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
				i + 1);
	}
	/* A sweep cursor somewhere in the middle, to be moved by removals. */
	ntsync_wq_sweep(&wq);
	KUNIT_EXPECT_NOT_NULL(test, wq.sweep);

	/* Every third, then the rest from the back: head, tail and middle. */
	n = NTSYNC_TEST_LONG;
	for (i = 0; i < NTSYNC_TEST_LONG; i += 3) {
		ntsync_wq_remove(&wq, w[i].entry);
		KUNIT_EXPECT_TRUE(test, RB_EMPTY_NODE(&w[i].entry->node));
		KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
				--n);
	}
	for (i = NTSYNC_TEST_LONG; i-- > 0;) {
		if (RB_EMPTY_NODE(&w[i].entry->node))
			continue;
		ntsync_wq_remove(&wq, w[i].entry);
		ntsync_wq_sweep(&wq);
		KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
				--n);
	}
	KUNIT_EXPECT_NULL(test, ntsync_wq_first(&wq));
}

/*
 * Requeue: the first entry is checked before it is used, so a lowered one
 * never comes first by its old priority; a raised one is found by the
 * re-check within ceil(n / window) passes, and is first from then on.
 */
static void ntsync_test_wq_requeue(struct kunit *test)
{
	unsigned int i, passes, bound;
	struct ntsync_test_waiter *w;
	struct ntsync_q_entry *first;
	struct ntsync_wq wq;

	w = ntsync_test_queue(test, &wq, NTSYNC_TEST_LONG,
			      ntsync_test_prio_mix);

	/* Lower the whole best level (priority 10) to the worst one. */
	for (i = 0; i < NTSYNC_TEST_LONG; i++) {
		if (w[i].task->prio == 10)
			w[i].task->prio = 200;
	}
	first = ntsync_wq_first(&wq);
	KUNIT_ASSERT_NOT_NULL(test, first);
	KUNIT_EXPECT_EQ(test, first->prio, 25);
	KUNIT_EXPECT_EQ(test, first->q->task->prio, 25);
	ntsync_expect_wq_valid(test, &wq, false);

	/* Raise the last entry in order above all. */
	first = rb_entry(rb_last(&wq.root.rb_root), struct ntsync_q_entry,
			 node);
	first->q->task->prio = 1;
	bound = DIV_ROUND_UP(NTSYNC_TEST_LONG, NTSYNC_WQ_SWEEP);
	for (passes = 1; passes <= bound; passes++) {
		if (ntsync_wq_first(&wq)->q->task->prio == 1)
			break;
	}
	KUNIT_EXPECT_LE(test, passes, bound);
	KUNIT_EXPECT_EQ(test, ntsync_wq_first(&wq)->prio, 1);

	/* Enough passes for the cursor to go round: every key is fresh. */
	for (i = 0; i < 2 * bound; i++)
		ntsync_wq_sweep(&wq);
	KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
			NTSYNC_TEST_LONG);
}

/*
 * A queue no longer than the re-check window is exact: whichever waiter is
 * raised above all, the next look-up finds it first, wherever the cursor
 * is; and once its priority is restored, the look-up after that does not
 * put it first any more.
 */
static int ntsync_test_prio_rising(unsigned int i)
{
	return 50 + i;
}

static void ntsync_test_wq_window_exact(struct kunit *test)
{
	struct ntsync_test_waiter *w;
	struct ntsync_wq wq;
	unsigned int i, k;

	w = ntsync_test_queue(test, &wq, NTSYNC_WQ_SWEEP,
			      ntsync_test_prio_rising);
	for (k = NTSYNC_WQ_SWEEP; k-- > 0;) {
		/* The cursor lands somewhere else each round. */
		for (i = 0; i < k; i++)
			ntsync_wq_sweep(&wq);
		w[k].task->prio = 1;
		KUNIT_EXPECT_PTR_EQ(test, ntsync_wq_first(&wq), w[k].entry);
		w[k].task->prio = ntsync_test_prio_rising(k);
		KUNIT_EXPECT_PTR_EQ(test, ntsync_wq_first(&wq), w[0].entry);
		KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
				NTSYNC_WQ_SWEEP);
	}
}

/*
 * A sweep requeues as it scans: when every key of a window-long queue is
 * stale at once (the order reversed), one sweep from mid-queue requeues
 * each entry once and leaves the queue in the new order, every key fresh.
 */
static void ntsync_test_wq_sweep_all_stale(struct kunit *test)
{
	const unsigned int n = NTSYNC_WQ_SWEEP + 2;
	struct ntsync_test_waiter *w;
	struct ntsync_wq wq;
	unsigned int i;

	w = ntsync_test_queue(test, &wq, n, ntsync_test_prio_rising);
	/* Newest first: the scan stops at w[1], and the next one wraps. */
	ntsync_wq_sweep(&wq);
	ntsync_wq_remove(&wq, w[n - 1].entry);
	ntsync_wq_remove(&wq, w[n - 2].entry);
	KUNIT_EXPECT_PTR_EQ(test, wq.sweep, &w[1].entry->member);
	for (i = 0; i < NTSYNC_WQ_SWEEP; i++)
		w[i].task->prio = 100 - i;
	KUNIT_EXPECT_EQ(test, ntsync_wq_sweep(&wq), NTSYNC_WQ_SWEEP);
	KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true),
			NTSYNC_WQ_SWEEP);
	KUNIT_EXPECT_PTR_EQ(test, ntsync_wq_first(&wq),
			    w[NTSYNC_WQ_SWEEP - 1].entry);
	KUNIT_EXPECT_EQ(test, ntsync_wq_sweep(&wq), 0U);
}

/*
 * Who re-checks a queue (ntsync_wq_pass_start()): a pass re-checks one no
 * longer than the window whole and owes nothing; over a longer one it
 * owes a re-check, which the next insert makes, else the next pass, and a
 * look-up's re-check pays it too.  A raised entry is found within
 * ceil(n / window) re-checks, so within one pass more, and the count
 * follows the requeue.
 */
static void ntsync_test_wq_recheck_owed(struct kunit *test)
{
	const unsigned int n = NTSYNC_TEST_LONG + 1;
	const unsigned int bound = DIV_ROUND_UP(n, NTSYNC_WQ_SWEEP);
	struct ntsync_test_waiter *w, newcomer;
	struct hlist_node *cursor;
	struct ntsync_q_entry *last;
	unsigned int i, requeued;
	struct ntsync_wq wq;

	w = ntsync_test_queue(test, &wq, NTSYNC_WQ_SWEEP,
			      ntsync_test_prio_rising);
	w[NTSYNC_WQ_SWEEP - 1].task->prio = 1;
	KUNIT_EXPECT_EQ(test, ntsync_wq_pass_start(&wq), 1U);
	KUNIT_EXPECT_FALSE(test, wq.recheck_owed);
	KUNIT_EXPECT_PTR_EQ(test, ntsync_wq_first(&wq),
			    w[NTSYNC_WQ_SWEEP - 1].entry);

	w = ntsync_test_queue(test, &wq, NTSYNC_TEST_LONG,
			      ntsync_test_prio_mix);
	last = rb_entry(rb_last(&wq.root.rb_root), struct ntsync_q_entry,
			node);
	last->q->task->prio = 1;
	/* The first pass reads nothing: no wake owes a re-check yet. */
	KUNIT_EXPECT_EQ(test, ntsync_wq_pass_start(&wq), 0U);
	KUNIT_EXPECT_NULL(test, wq.sweep);
	KUNIT_EXPECT_TRUE(test, wq.recheck_owed);
	/* The next waiter to queue makes it, one window. */
	ntsync_test_waiter_init(test, &newcomer, 200, n);
	requeued = ntsync_wq_insert(&wq, newcomer.entry);
	KUNIT_EXPECT_FALSE(test, wq.recheck_owed);
	KUNIT_EXPECT_NOT_NULL(test, wq.sweep);
	/* Nothing owed: queuing re-checks nothing. */
	ntsync_wq_remove(&wq, newcomer.entry);
	cursor = wq.sweep;
	KUNIT_EXPECT_EQ(test, ntsync_wq_insert(&wq, newcomer.entry), 0U);
	KUNIT_EXPECT_PTR_EQ(test, wq.sweep, cursor);
	/* A look-up's re-check pays what a pass owes. */
	if (!requeued) {
		KUNIT_EXPECT_EQ(test, ntsync_wq_pass_start(&wq), 0U);
		requeued = ntsync_wq_first(&wq) == last;
		KUNIT_EXPECT_FALSE(test, wq.recheck_owed);
	}
	/* Then every pass re-checks before it chooses. */
	for (i = 0; i < bound && !requeued; i++)
		requeued = ntsync_wq_pass_start(&wq);
	KUNIT_EXPECT_EQ(test, requeued, 1U);
	KUNIT_EXPECT_PTR_EQ(test,
			    rb_entry(rb_first_cached(&wq.root),
				     struct ntsync_q_entry, node), last);
	KUNIT_EXPECT_EQ(test, ntsync_expect_wq_valid(test, &wq, true), n);
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

/* ---- Channel structures (ntsync_channel.c): tokens, ids, receivers. ---- */

/* An empty channel, with its lock ready: the *_state helpers assert it. */
static struct ntsync_obj *ntsync_test_channel(struct kunit *test)
{
	struct ntsync_obj *ch = kunit_kzalloc(test, sizeof(*ch), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ch);
	raw_spin_lock_init(&ch->lock);
	ch->type = NTSYNC_TYPE_CHANNEL;
	ntsync_channel_init_state(ch, 1);
	return ch;
}

/* REGISTER_THREAD of (@tid, @token) as the ioctl does it; its result. */
static int ntsync_test_reg_set(struct kunit *test, struct ntsync_obj *ch,
			       __u32 tid, __u64 token)
{
	struct ntsync_thread_reg *new = kmalloc(sizeof(*new), GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, new);
	new->tid = tid;
	new->token = token;
	raw_spin_lock(&ch->lock);
	ret = ntsync_reg_set_state(ch, &new);
	raw_spin_unlock(&ch->lock);
	ntsync_kfree(new);
	return ret;
}

/* The token of @tid, or @none if it has none. */
static __u64 ntsync_test_reg_token(struct ntsync_obj *ch, __u32 tid,
				   __u64 none)
{
	struct ntsync_thread_reg *reg;
	__u64 token;

	raw_spin_lock(&ch->lock);
	reg = ntsync_reg_find_state(ch, tid);
	token = reg ? reg->token : none;
	raw_spin_unlock(&ch->lock);
	return token;
}

static bool ntsync_test_reg_remove(struct ntsync_obj *ch, __u32 tid)
{
	struct ntsync_thread_reg *reg;
	bool found;

	raw_spin_lock(&ch->lock);
	reg = ntsync_reg_remove_state(ch, tid);
	raw_spin_unlock(&ch->lock);
	found = reg;
	ntsync_kfree(reg);
	return found;
}

/* The table holds nr_regs entries, in strictly increasing tid order. */
static void ntsync_test_reg_check_tree(struct kunit *test,
				       struct ntsync_obj *ch)
{
	const struct ntsync_thread_reg *reg, *prev = NULL;
	struct rb_node *node;
	__u32 n = 0;

	for (node = rb_first(&ch->u.channel.regs); node; node = rb_next(node)) {
		reg = rb_entry(node, struct ntsync_thread_reg, node);
		if (prev)
			KUNIT_EXPECT_LT(test, prev->tid, reg->tid);
		prev = reg;
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, ch->u.channel.nr_regs);
}

/* Tokens: insert, replace, look up, remove, in a scrambled tid order. */
static void ntsync_test_channel_tokens(struct kunit *test)
{
	struct ntsync_obj *ch = ntsync_test_channel(test);
	__u32 i, tid;

	for (i = 0; i < 500; i++) {
		tid = 1 + (i * 7919) % 65521;
		KUNIT_ASSERT_EQ(test, ntsync_test_reg_set(test, ch, tid, i), 0);
	}
	ntsync_test_reg_check_tree(test, ch);
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, 500U);
	for (i = 0; i < 500; i++) {
		tid = 1 + (i * 7919) % 65521;
		KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, tid, ~0ULL),
				(__u64)i);
	}
	/* Tids never registered (all were 1..65521) have none. */
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, 65522, ~0ULL), ~0ULL);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, U32_MAX, ~0ULL), ~0ULL);
	KUNIT_EXPECT_FALSE(test, ntsync_test_reg_remove(ch, 65522));

	/* Replacing keeps the count; a token is any 64-bit value. */
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_set(test, ch, 1, U64_MAX), 0);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, 1, 0), U64_MAX);
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, 500U);

	/* Every other one removed: the others keep their tokens. */
	for (i = 0; i < 500; i += 2) {
		tid = 1 + (i * 7919) % 65521;
		KUNIT_EXPECT_TRUE(test, ntsync_test_reg_remove(ch, tid));
		KUNIT_EXPECT_FALSE(test, ntsync_test_reg_remove(ch, tid));
	}
	ntsync_test_reg_check_tree(test, ch);
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, 250U);
	for (i = 1; i < 500; i += 2) {
		tid = 1 + (i * 7919) % 65521;
		KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, tid, ~0ULL),
				(__u64)i);
	}
	ntsync_channel_destroy(ch);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&ch->u.channel.regs));
}

/*
 * The cap: a new tid beyond it fails, replacing and removing still work.
 * The NTSYNC_CHANNEL_MAX_REGS registrations live in arrays of
 * NTSYNC_TEST_REG_BATCH (not one allocation each, which the debug kernel
 * makes slow), inserted a batch per lock section and taken out again
 * before KUnit frees the arrays.
 */
#define NTSYNC_TEST_REG_BATCH	1024
#define NTSYNC_TEST_REG_BATCHES	(NTSYNC_CHANNEL_MAX_REGS / NTSYNC_TEST_REG_BATCH)

static struct ntsync_thread_reg *
ntsync_test_reg_slot(struct ntsync_thread_reg **batch, __u32 i)
{
	return &batch[i / NTSYNC_TEST_REG_BATCH][i % NTSYNC_TEST_REG_BATCH];
}

static void ntsync_test_channel_token_cap(struct kunit *test)
{
	struct ntsync_obj *ch = ntsync_test_channel(test);
	struct ntsync_thread_reg *batch[NTSYNC_TEST_REG_BATCHES], *new;
	__u32 i, j;

	for (i = 0; i < NTSYNC_TEST_REG_BATCHES; i++) {
		batch[i] = kunit_kcalloc(test, NTSYNC_TEST_REG_BATCH,
					 sizeof(*batch[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, batch[i]);
	}
	/* Highest tid first: every insert goes to the left. */
	for (i = 0; i < NTSYNC_CHANNEL_MAX_REGS; i += NTSYNC_TEST_REG_BATCH) {
		raw_spin_lock(&ch->lock);
		for (j = i; j < i + NTSYNC_TEST_REG_BATCH; j++) {
			new = ntsync_test_reg_slot(batch, j);
			new->tid = NTSYNC_CHANNEL_MAX_REGS - j;
			new->token = j;
			if (ntsync_reg_set_state(ch, &new) || new)
				break;
		}
		raw_spin_unlock(&ch->lock);
		KUNIT_ASSERT_EQ_MSG(test, j, i + NTSYNC_TEST_REG_BATCH,
				    "insert %u", j);
	}
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, NTSYNC_CHANNEL_MAX_REGS);
	ntsync_test_reg_check_tree(test, ch);

	KUNIT_EXPECT_EQ(test, ntsync_test_reg_set(test, ch,
						  NTSYNC_CHANNEL_MAX_REGS + 1,
						  1),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, NTSYNC_CHANNEL_MAX_REGS);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch,
						    NTSYNC_CHANNEL_MAX_REGS + 1,
						    ~0ULL),
			~0ULL);
	/* At the cap, a registered tid's token is still replaced. */
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_set(test, ch, 7, 0x77), 0);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, 7, 0), 0x77ULL);
	/* One removed makes room for exactly one. */
	raw_spin_lock(&ch->lock);
	new = ntsync_reg_remove_state(ch, 9);
	raw_spin_unlock(&ch->lock);
	KUNIT_EXPECT_PTR_EQ(test, new,
			    ntsync_test_reg_slot(batch,
						 NTSYNC_CHANNEL_MAX_REGS - 9));
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_set(test, ch, U32_MAX, 5), 0);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_set(test, ch, 9, 5), -ENOSPC);
	KUNIT_EXPECT_EQ(test, ntsync_test_reg_token(ch, U32_MAX, 0), 5ULL);
	ntsync_test_reg_check_tree(test, ch);

	/* Emptied: the arrays' entries out, the one allocated freed. */
	KUNIT_EXPECT_TRUE(test, ntsync_test_reg_remove(ch, U32_MAX));
	for (i = 0; i < NTSYNC_CHANNEL_MAX_REGS; i += NTSYNC_TEST_REG_BATCH) {
		raw_spin_lock(&ch->lock);
		for (j = i; j < i + NTSYNC_TEST_REG_BATCH; j++)
			ntsync_reg_remove_state(ch,
						ntsync_test_reg_slot(batch, j)->tid);
		raw_spin_unlock(&ch->lock);
	}
	KUNIT_EXPECT_EQ(test, ch->u.channel.nr_regs, 0U);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&ch->u.channel.regs));
}

/* DISPATCHED entries: found by id whatever the order they came in. */
static void ntsync_test_channel_dispatched(struct kunit *test)
{
	static const __u64 ids[] = { 5, 1, 9, 3, 7, 2, 1ULL << 40 };
	static const __u64 absent[] = { 0, 4, 6, 10, U64_MAX };
	struct ntsync_channel_entry *e[ARRAY_SIZE(ids)];
	struct ntsync_obj *ch = ntsync_test_channel(test);
	unsigned int i;

	/* Allocated before the lock, as the driver does. */
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		e[i] = kunit_kzalloc(test, sizeof(*e[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, e[i]);
		e[i]->id = ids[i];
	}

	raw_spin_lock(&ch->lock);
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		ntsync_dispatched_add_state(ch, e[i]);
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		KUNIT_EXPECT_PTR_EQ(test,
				    ntsync_dispatched_find_state(ch, ids[i]),
				    e[i]);
	for (i = 0; i < ARRAY_SIZE(absent); i++)
		KUNIT_EXPECT_NULL(test,
				  ntsync_dispatched_find_state(ch, absent[i]));

	/* Removed (replied, or withdrawn): gone; the others stay. */
	ntsync_dispatched_remove_state(ch, e[2]);
	ntsync_dispatched_remove_state(ch, e[1]);
	KUNIT_EXPECT_NULL(test, ntsync_dispatched_find_state(ch, 9));
	KUNIT_EXPECT_NULL(test, ntsync_dispatched_find_state(ch, 1));
	KUNIT_EXPECT_PTR_EQ(test, ntsync_dispatched_find_state(ch, 7), e[4]);
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (i != 1 && i != 2)
			ntsync_dispatched_remove_state(ch, e[i]);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&ch->u.channel.dispatched));
	raw_spin_unlock(&ch->lock);
}

#define NTSYNC_TEST_RECEIVERS	(2 * NTSYNC_CHANNEL_RECHECK + 2)

/* @n receivers with tasks of kernel priority @prio[i], not parked. */
static struct ntsync_channel_receiver *
ntsync_test_receivers(struct kunit *test, const int *prio, unsigned int n)
{
	struct ntsync_channel_receiver *r;
	unsigned int i;

	r = kunit_kcalloc(test, n, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	for (i = 0; i < n; i++) {
		r[i].task = kunit_kzalloc(test, sizeof(*r[i].task),
					  GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, r[i].task);
		r[i].task->prio = prio[i];
	}
	return r;
}

/* Pick, expect @want of @r, unpark it (as a sender does). */
static void ntsync_test_pick(struct kunit *test, struct ntsync_obj *ch,
			     struct ntsync_channel_receiver *r,
			     unsigned int want)
{
	struct ntsync_channel_receiver *best;

	raw_spin_lock(&ch->lock);
	best = ntsync_best_receiver(ch);
	if (best)
		ntsync_receiver_unpark_state(ch, best);
	raw_spin_unlock(&ch->lock);
	KUNIT_EXPECT_PTR_EQ_MSG(test, best, &r[want], "expected receiver %u",
				want);
}

static void ntsync_test_park(struct ntsync_obj *ch,
			     struct ntsync_channel_receiver *r, unsigned int n)
{
	unsigned int i;

	raw_spin_lock(&ch->lock);
	for (i = 0; i < n; i++)
		ntsync_receiver_park_state(ch, &r[i]);
	raw_spin_unlock(&ch->lock);
}

/* Parked receivers: best priority (lowest task->prio), then park order. */
static void ntsync_test_channel_receiver_order(struct kunit *test)
{
	static const int prio[] = { 120, 100, 120, 50, 100, 139 };
	static const unsigned int expect[] = { 3, 1, 4, 0, 2, 5 };
	struct ntsync_obj *ch = ntsync_test_channel(test);
	struct ntsync_channel_receiver *r;
	unsigned int i;

	r = ntsync_test_receivers(test, prio, ARRAY_SIZE(prio));
	ntsync_test_park(ch, r, ARRAY_SIZE(prio));
	for (i = 0; i < ARRAY_SIZE(expect); i++)
		ntsync_test_pick(test, ch, r, expect[i]);
	raw_spin_lock(&ch->lock);
	KUNIT_EXPECT_NULL(test, ntsync_best_receiver(ch));
	raw_spin_unlock(&ch->lock);
}

/*
 * A parked receiver whose priority changed is requeued at its new one
 * when a pick re-reads it, keeping its park order among equals.
 */
static void ntsync_test_channel_receiver_requeue(struct kunit *test)
{
	static const int prio[] = { 100, 110, 120, 120 };
	struct ntsync_obj *ch = ntsync_test_channel(test);
	struct ntsync_channel_receiver *r;

	r = ntsync_test_receivers(test, prio, ARRAY_SIZE(prio));
	ntsync_test_park(ch, r, ARRAY_SIZE(prio));

	/* The first dropped below everyone: requeued behind. */
	r[0].task->prio = 130;
	ntsync_test_pick(test, ch, r, 1);
	KUNIT_EXPECT_EQ(test, r[0].prio, 130);
	/* The last one raised: ahead, and the key follows. */
	r[3].task->prio = 10;
	ntsync_test_pick(test, ch, r, 3);
	KUNIT_EXPECT_EQ(test, r[3].prio, 10);
	/* Back to an equal priority: park order decides (0 parked first). */
	r[0].task->prio = 120;
	ntsync_test_pick(test, ch, r, 0);
	ntsync_test_pick(test, ch, r, 2);
}

/* Pick without unparking; the pick. */
static struct ntsync_channel_receiver *
ntsync_test_peek(struct ntsync_obj *ch)
{
	struct ntsync_channel_receiver *best;

	raw_spin_lock(&ch->lock);
	best = ntsync_best_receiver(ch);
	raw_spin_unlock(&ch->lock);
	return best;
}

/*
 * The re-read is bounded.  A receiver raised behind the first
 * NTSYNC_CHANNEL_RECHECK keeps its old rank until it is among them.
 */
static void ntsync_test_channel_receiver_raise_bound(struct kunit *test)
{
	unsigned int i, n = NTSYNC_CHANNEL_RECHECK + 2, last = n - 1;
	struct ntsync_obj *ch = ntsync_test_channel(test);
	int prio[NTSYNC_TEST_RECEIVERS];
	struct ntsync_channel_receiver *r;

	for (i = 0; i < n; i++)
		prio[i] = 120;
	r = ntsync_test_receivers(test, prio, n);
	ntsync_test_park(ch, r, n);

	r[last].task->prio = 10;
	ntsync_test_pick(test, ch, r, 0);
	KUNIT_EXPECT_EQ(test, r[last].prio, 120);
	ntsync_test_pick(test, ch, r, 1);
	/* Now among the first: found, ahead of everyone. */
	ntsync_test_pick(test, ch, r, last);
	KUNIT_EXPECT_EQ(test, r[last].prio, 10);
	for (i = 2; i < last; i++)
		ntsync_test_pick(test, ch, r, i);
	KUNIT_EXPECT_NULL(test, ntsync_test_peek(ch));
}

/*
 * One pick requeues at most 2 * NTSYNC_CHANNEL_RECHECK receivers: the
 * first NTSYNC_CHANNEL_RECHECK, then the first while it changed.
 */
static void ntsync_test_channel_receiver_requeue_bound(struct kunit *test)
{
	struct ntsync_obj *ch = ntsync_test_channel(test);
	unsigned int i, budget = 2 * NTSYNC_CHANNEL_RECHECK;
	int prio[NTSYNC_TEST_RECEIVERS];
	struct ntsync_channel_receiver *r;

	for (i = 0; i < NTSYNC_TEST_RECEIVERS; i++)
		prio[i] = 120;
	r = ntsync_test_receivers(test, prio, NTSYNC_TEST_RECEIVERS);
	ntsync_test_park(ch, r, NTSYNC_TEST_RECEIVERS);

	/* Every one dropped: the first budget are requeued behind. */
	for (i = 0; i < NTSYNC_TEST_RECEIVERS; i++)
		r[i].task->prio = 130;
	KUNIT_EXPECT_PTR_EQ(test, ntsync_test_peek(ch), &r[budget]);
	for (i = 0; i < NTSYNC_TEST_RECEIVERS; i++)
		KUNIT_EXPECT_EQ_MSG(test, r[i].prio, i < budget ? 130 : 120,
				    "receiver %u", i);

	/* The next pick finishes the job; park order holds among equals. */
	KUNIT_EXPECT_PTR_EQ(test, ntsync_test_peek(ch), &r[0]);
	for (i = 0; i < NTSYNC_TEST_RECEIVERS; i++)
		KUNIT_EXPECT_EQ_MSG(test, r[i].prio, 130, "receiver %u", i);
	for (i = 0; i < NTSYNC_TEST_RECEIVERS; i++)
		ntsync_test_pick(test, ch, r, i);
	KUNIT_EXPECT_TRUE(test,
			  RB_EMPTY_ROOT(&ch->u.channel.receivers.rb_root));
}

/* ---- The tree of per-task records (ntsync_pi.c) --------------------- */

#define NTSYNC_TEST_TASKS	256

/* Depth of the deepest node under @node. */
static unsigned int ntsync_test_depth(const struct rb_node *node)
{
	if (!node)
		return 0;
	return 1 + max(ntsync_test_depth(node->rb_left),
		       ntsync_test_depth(node->rb_right));
}

/*
 * Records added in a scrambled order are all found, in address order, in a
 * balanced tree; those removed are not found any more, the others still are.
 * The keys are stand-in addresses, never dereferenced.
 */
static void ntsync_test_task_tree(struct kunit *test)
{
	struct task_struct *stranger;
	struct ntsync_task_node *tn;
	struct rb_root root = RB_ROOT;
	struct rb_node *node;
	uintptr_t last = 0;
	unsigned int i, n;
	char *keys;

	keys = kunit_kzalloc(test, NTSYNC_TEST_TASKS + 1, GFP_KERNEL);
	tn = kunit_kcalloc(test, NTSYNC_TEST_TASKS, sizeof(*tn), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, keys);
	KUNIT_ASSERT_NOT_NULL(test, tn);
	for (i = 0; i < NTSYNC_TEST_TASKS; i++) {
		/* 97 is coprime with 256: every key once, out of order. */
		tn[i].task = (struct task_struct *)&keys[(i * 97) % NTSYNC_TEST_TASKS];
		KUNIT_EXPECT_NULL(test, ntsync_task_tree_find(&root, tn[i].task));
		ntsync_task_tree_add(&root, &tn[i]);
	}
	n = 0;
	for (node = rb_first(&root); node; node = rb_next(node), n++) {
		uintptr_t key = (uintptr_t)rb_entry(node, struct ntsync_task_node,
						    node)->task;

		KUNIT_EXPECT_GT(test, key, last);
		last = key;
	}
	KUNIT_EXPECT_EQ(test, n, NTSYNC_TEST_TASKS);
	/* A red-black tree of n nodes is at most 2 log2(n + 1) deep. */
	KUNIT_EXPECT_LE(test, ntsync_test_depth(root.rb_node),
			2 * ilog2(NTSYNC_TEST_TASKS + 1) + 2);
	for (i = 0; i < NTSYNC_TEST_TASKS; i++)
		KUNIT_EXPECT_PTR_EQ(test, ntsync_task_tree_find(&root, tn[i].task),
				    &tn[i]);
	/* An address that is no record's. */
	stranger = (struct task_struct *)&keys[NTSYNC_TEST_TASKS];
	KUNIT_EXPECT_NULL(test, ntsync_task_tree_find(&root, stranger));

	for (i = 0; i < NTSYNC_TEST_TASKS; i += 2)
		rb_erase(&tn[i].node, &root);
	for (i = 0; i < NTSYNC_TEST_TASKS; i++)
		KUNIT_EXPECT_PTR_EQ(test, ntsync_task_tree_find(&root, tn[i].task),
				    i % 2 ? &tn[i] : NULL);
	for (i = 1; i < NTSYNC_TEST_TASKS; i += 2)
		rb_erase(&tn[i].node, &root);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&root));
}

static struct kunit_case ntsync_test_cases[] = {
	KUNIT_CASE(ntsync_test_waiter_order),
	KUNIT_CASE(ntsync_test_waiter_resort),
	KUNIT_CASE(ntsync_test_pi_best_waiter),
	KUNIT_CASE(ntsync_test_wq_insert_remove),
	KUNIT_CASE(ntsync_test_wq_requeue),
	KUNIT_CASE(ntsync_test_wq_sweep_all_stale),
	KUNIT_CASE(ntsync_test_wq_window_exact),
	KUNIT_CASE(ntsync_test_wq_recheck_owed),
	KUNIT_CASE(ntsync_test_pi_work_pool),
	KUNIT_CASE(ntsync_test_task_tree),
	KUNIT_CASE(ntsync_test_channel_order),
	KUNIT_CASE(ntsync_test_channel_tokens),
	KUNIT_CASE(ntsync_test_channel_token_cap),
	KUNIT_CASE(ntsync_test_channel_dispatched),
	KUNIT_CASE(ntsync_test_channel_receiver_order),
	KUNIT_CASE(ntsync_test_channel_receiver_requeue),
	KUNIT_CASE(ntsync_test_channel_receiver_raise_bound),
	KUNIT_CASE(ntsync_test_channel_receiver_requeue_bound),
	{}
};

static struct kunit_suite ntsync_test_suite = {
	.name = "ntsync",
	.test_cases = ntsync_test_cases,
};

kunit_test_suite(ntsync_test_suite);
