// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: WAIT_ANY and WAIT_ALL, and the wakeups that end them.
 *
 * Owns: the choice of lock for an object (ntsync_lock_obj()), the wait
 * queues (struct ntsync_q, its entries in the objects' struct ntsync_wq),
 * the order in which waiters are woken, and the sleep with its absolute
 * deadline, and the adaptive spin before it (ntsync_spin_on_owner(),
 * ntsync_wake_ahead()).
 *
 * Order.  Each object has two queues, wait-any (alerts included) and
 * wait-all, each an rb-tree keyed by (prio, arrival): prio is the waiter's
 * kernel priority (task->prio, lower is better) when the entry was queued
 * or last requeued, arrival the wait's sequence number, so waiters of one
 * priority are first-in first-out.  Insertion and removal are O(log n), the
 * best entry is the cached leftmost one.  Wakers walk both queues of an
 * object together in key order, best first (the wait-any one on a tie of
 * both), so the best waiter the object can satisfy wins.  All of it runs
 * under the lock that owns the object (see ntsync_internal.h).
 *
 * Priority changes while queued.  The kernel does not tell us when another
 * task's priority changes (sched_setattr() by a third party), so the keys
 * are checked against task->prio lazily, within fixed bounds:
 *  - Every walk (wake pass, ntsync_wq_first() for PI, channel notify)
 *    checks each entry before using it and requeues it if its priority
 *    changed, up to NTSYNC_WQ_REQUEUE_MAX requeues per walk.  So a waiter
 *    whose priority was lowered is never woken, nor boosts a mutex owner,
 *    by its old priority (unless more than that many stale entries meet a
 *    walk at once): its stale key brings it to the front early, where it
 *    is checked.
 *  - A raised waiter sits behind its new place until it is checked.  The
 *    bounded re-check reads NTSYNC_WQ_SWEEP entries from a cursor that
 *    moves on through the queue, newest first, and wraps (a list beside
 *    the tree, which a requeue leaves alone: a step is one pointer, and the
 *    scan requeues as it goes).  In a queue of at most that many entries
 *    every walk re-checks them all first, so the order is exact.  In a
 *    longer one each wake owes one re-check, made before the next pass
 *    chooses: by the first waiter to queue there meanwhile, before it
 *    sleeps (ntsync_wq_insert()), else by that pass itself
 *    (ntsync_wq_pass_start()); every PI look-up (ntsync_wq_first()) makes
 *    one too.  So while woken waiters come back to the queue (a pool of
 *    workers), a waker's pass reads only the entries it wakes (each check
 *    of a long queue reads two cold lines; the waker is the real-time
 *    caller to keep short), and a woken waiter's way out reads none.  A
 *    raised waiter is then found within ceil(m / NTSYNC_WQ_SWEEP) of those
 *    re-checks, m being the entries between the cursor and it when it was
 *    raised (plus those queued there meanwhile), and is first in its new
 *    place from then on: at most one wake later than if the waker had
 *    re-checked before choosing.
 *  - When ntsync's own PI changes the priority of a task blocked in a wait
 *    that includes a mutex (ntsync_pi.c, the registry of blocked waiters),
 *    that wait's entries are requeued at once (ntsync_requeue_q()).  Only
 *    such waits are in that registry: a mutex owner boosted while it waits
 *    for semaphores or events only is found like a sched_setattr().
 *
 * Bounds under obj->lock (a raw spinlock).  A pass does, besides the wakes
 * themselves: at most NTSYNC_WQ_SWEEP key checks and as many requeues, at
 * most NTSYNC_WQ_REQUEUE_MAX requeues at the front, at most
 * NTSYNC_WAKE_OWNED_MAX waiters offered an owned mutex, each O(log n).  It
 * also unlinks the entries of waits already satisfied (by this or another
 * object, or a watched file) that it meets, which their waiters would
 * otherwise unlink themselves: each entry at most once, so that work is
 * paid for by the wakes that satisfied them.  Passes under wait_all_lock
 * (an rt_mutex, preemptible) also offer the object to every wait-all
 * waiter until one takes it, as before.  One consequence of the owned
 * mutex bound: a waiter sharing the owner id of a mutex's current owner (two
 * threads passing one owner id) gets it recursively only if it is among
 * the first NTSYNC_WAKE_OWNED_MAX waiters; else when the mutex is free.
 * Queuing on a long queue that owes its re-check adds, under the object's
 * lock, one window: at most NTSYNC_WQ_SWEEP key checks and as many
 * requeues.
 *
 * A waker satisfies a wait by claiming ntsync_q.signaled with a cmpxchg and
 * consuming the object(s) for the waiter, all under the lock that owns the
 * object(s); the waiter then only reads the result.  After the waiter has
 * removed itself from every queue nobody can claim it any more, so the value
 * it reads then is final, even if its deadline expired or a signal came.
 * Under obj->lock the waker wakes the task at once; under wait_all_lock it
 * wakes the first NTSYNC_WAKE_LATER_MAX of them right after dropping that
 * lock (ntsync_unlock_obj()), preemption off from the unlock to the last
 * wake, since a woken waiter's first step is to take wait_all_lock.
 */

#include <linux/eventfd.h>
#include <linux/hrtimer.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/sched/rt.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "ntsync_internal.h"
#include "ntsync_trace.h"

static unsigned int ntsync_spin_us = 50;
module_param_named(spin_us, ntsync_spin_us, uint, 0644);
MODULE_PARM_DESC(spin_us, "Longest spin of a mutex waiter while the owner runs, in microseconds (0: sleep at once; default: 50)");

/*
 * ntsync_lock_obj() found @obj used by a wait-all: trade obj->lock for
 * dev->wait_all_lock, unless the wait-all leaves meanwhile.  Same result.
 */
bool ntsync_lock_obj_all(struct ntsync_device *dev, struct ntsync_obj *obj)
	__must_hold(&obj->lock)
{
	for (;;) {
		raw_spin_unlock(&obj->lock);
		rt_mutex_lock(&dev->wait_all_lock);
		/* all_hint changes only under wait_all_lock: stable now. */
		if (obj->all_hint) {
			/* For sparse: the object counts as locked either way. */
			__acquire(&obj->lock);
			return true;
		}
		/* The wait-all left meanwhile; the object lock owns it again. */
		rt_mutex_unlock(&dev->wait_all_lock);
		raw_spin_lock(&obj->lock);
		if (likely(!obj->all_hint))
			return false;
	}
}

/*
 * Drop wait_all_lock, then wake the tasks its holder claimed meanwhile.
 * Out of line: its array would cost every object unlock a stack clear.
 */
void ntsync_unlock_all(struct ntsync_device *dev)
{
	struct task_struct *wake[NTSYNC_WAKE_LATER_MAX];
	unsigned int i, n;

	/* The list is wait_all_lock's: taken along before it is dropped. */
	n = dev->nr_wake_later;
	memcpy(wake, dev->wake_later, n * sizeof(*wake));
	dev->nr_wake_later = 0;
	/*
	 * No preemption from the unlock to the last wake: a claimed waiter
	 * must not stay asleep while a lower-priority waker is preempted.
	 */
	preempt_disable();
	rt_mutex_unlock(&dev->wait_all_lock);
	for (i = 0; i < n; i++) {
		wake_up_process(wake[i]);
		/* The reference ntsync_wake_task() took. */
		put_task_struct(wake[i]);
	}
	preempt_enable();
}

/*
 * Wake the task of a claimed wait: at once under obj->lock (@all false);
 * under wait_all_lock, once ntsync_unlock_obj() has dropped it, while
 * there is room in the device's list.
 */
static inline void ntsync_wake_task(struct ntsync_device *dev,
				    struct task_struct *task, bool all)
{
	if (all && dev->nr_wake_later < NTSYNC_WAKE_LATER_MAX) {
		lockdep_assert_held(&dev->wait_all_lock);
		/* Until the wake: the waiter may leave before it. */
		get_task_struct(task);
		dev->wake_later[dev->nr_wake_later++] = task;
		return;
	}
	wake_up_process(task);
}

/* Wait-all bookkeeping; caller holds wait_all_lock, takes obj->lock here. */
static void ntsync_all_hint_add(struct ntsync_obj *obj, int delta)
{
	lockdep_assert_held(&obj->dev->wait_all_lock);
	raw_spin_lock(&obj->lock);
	obj->all_hint += delta;
	raw_spin_unlock(&obj->lock);
}

/*
 * Bounds of the work on a queue under the lock that owns it (obj->lock is a
 * raw spinlock: preemption stays off there, even on PREEMPT_RT).  Each is a
 * small constant, independent of the number of queued waiters.
 */

/*
 * Stale entries one walk of a queue requeues at the entries it is about to
 * use; past that it uses them as they are sorted.
 */
#define NTSYNC_WQ_REQUEUE_MAX	16
/*
 * Waiters a pass offers an owned mutex (which only a waiter with the same
 * owner id can take) before it stops.
 */
#define NTSYNC_WAKE_OWNED_MAX	16

/* Key order of two entries of one queue: (prio, arrival, index). */
static bool ntsync_entry_before(const struct ntsync_q_entry *a,
				const struct ntsync_q_entry *b)
{
	if (a->prio != b->prio)
		return a->prio < b->prio;
	if (a->q->seq != b->q->seq)
		return a->q->seq < b->q->seq;
	/* One wait-any may list an object more than once. */
	return a->index < b->index;
}

static bool ntsync_wq_less(struct rb_node *a, const struct rb_node *b)
{
	return ntsync_entry_before(rb_entry(a, struct ntsync_q_entry, node),
				   rb_entry(b, struct ntsync_q_entry, node));
}

/* Is @entry's wait already satisfied, by this object or another source? */
static bool ntsync_entry_claimed(const struct ntsync_q_entry *entry)
{
	return atomic_read(&entry->q->signaled) != -1;
}

/* Longer than the window: its walks leave the re-check to its waiters. */
static bool ntsync_wq_long(const struct ntsync_wq *wq)
{
	return wq->count > NTSYNC_WQ_SWEEP;
}

/* Sort @entry into the tree with key @prio, behind its equals. */
static void ntsync_wq_sort_in(struct ntsync_wq *wq,
			      struct ntsync_q_entry *entry, int prio)
{
	entry->prio = prio;
	rb_add_cached(&entry->node, &wq->root, ntsync_wq_less);
}

static void ntsync_wq_erase(struct ntsync_wq *wq, struct ntsync_q_entry *entry)
{
	/* The cursor moves on to the next member, or back to the first. */
	if (wq->sweep == &entry->member)
		wq->sweep = entry->member.next;
	hlist_del(&entry->member);
	rb_erase_cached(&entry->node, &wq->root);
	RB_CLEAR_NODE(&entry->node);
	wq->count--;
}

/*
 * Take @entry out of @wq, unless a pass already did (it unlinks entries of
 * satisfied waits it meets: ntsync_wq_next()).
 */
VISIBLE_IF_KUNIT void ntsync_wq_remove(struct ntsync_wq *wq,
				       struct ntsync_q_entry *entry)
{
	if (!RB_EMPTY_NODE(&entry->node))
		ntsync_wq_erase(wq, entry);
}

/* Move @entry to where priority @prio sorts it; its arrival stays. */
static void ntsync_wq_requeue(struct ntsync_wq *wq,
			      struct ntsync_q_entry *entry, int prio)
{
	rb_erase_cached(&entry->node, &wq->root);
	ntsync_wq_sort_in(wq, entry, prio);
}

/*
 * The bounded re-check: compare the keys of NTSYNC_WQ_SWEEP entries, from
 * the cursor on in the members list (wrapping, each entry once), with their
 * tasks' priorities now, and requeue those that changed.  A requeue moves
 * an entry in the tree only, not in the list the scan follows, so a queue
 * no longer than the window is checked entirely.  It is the re-check a
 * wake owed, if any.  Returns the number of entries requeued.
 */
VISIBLE_IF_KUNIT unsigned int ntsync_wq_sweep(struct ntsync_wq *wq)
{
	struct hlist_node *start, *pos;
	unsigned int i, n = 0;

	wq->recheck_owed = false;
	if (hlist_empty(&wq->members))
		return 0;
	start = wq->sweep ?: wq->members.first;
	pos = start;
	for (i = 0; i < NTSYNC_WQ_SWEEP; i++) {
		struct ntsync_q_entry *entry;
		int now;

		entry = hlist_entry(pos, struct ntsync_q_entry, member);
		now = READ_ONCE(entry->q->task->prio);
		if (now != entry->prio && !ntsync_entry_claimed(entry)) {
			ntsync_wq_requeue(wq, entry, now);
			n++;
		}
		pos = pos->next ?: wq->members.first;
		if (pos == start)
			break;
	}
	wq->sweep = pos;
	return n;
}

/*
 * Queue @entry: sorted by its task's priority now, behind its equals.  The
 * re-check a wake from @wq still owes is made here, off the waker's path.
 * Returns the number of entries that re-check requeued.
 */
VISIBLE_IF_KUNIT unsigned int ntsync_wq_insert(struct ntsync_wq *wq,
					       struct ntsync_q_entry *entry)
{
	ntsync_wq_sort_in(wq, entry, READ_ONCE(entry->q->task->prio));
	hlist_add_head(&entry->member, &wq->members);
	wq->count++;
	return wq->recheck_owed ? ntsync_wq_sweep(wq) : 0;
}

/*
 * A wake pass over @wq is about to choose: re-check a queue no longer than
 * the window whole, a longer one only if a wake from it still owes its
 * re-check (nobody queued there since).  A pass over a long queue then owes
 * one itself: the waiter it wakes may be the last before a raised one.
 * Returns the number of entries requeued.
 */
VISIBLE_IF_KUNIT unsigned int ntsync_wq_pass_start(struct ntsync_wq *wq)
{
	unsigned int n = 0;

	/* A lone entry needs none: the walk checks the key of what it uses. */
	if (wq->count > 1 && (!ntsync_wq_long(wq) || wq->recheck_owed))
		n = ntsync_wq_sweep(wq);
	wq->recheck_owed = ntsync_wq_long(wq);
	return n;
}

/* One walk over a queue in key order by a wake pass or a look-up. */
struct ntsync_wq_walk {
	struct ntsync_wq *wq;
	/* The furthest entry used so far; NULL before the first. */
	struct ntsync_q_entry *pos;
	/* Requeues left to this walk (NTSYNC_WQ_REQUEUE_MAX). */
	unsigned int requeues;
};

/*
 * Start a walk of @wq: a wake pass's (ntsync_wq_pass_start()), or with
 * @lookup a look-up's, which wakes nobody and re-checks any queue.
 */
static void ntsync_wq_walk_init(struct ntsync_wq_walk *walk,
				struct ntsync_wq *wq, bool lookup)
{
	if (!lookup)
		ntsync_wq_pass_start(wq);
	else if (wq->count > 1)
		ntsync_wq_sweep(wq);
	walk->wq = wq;
	walk->pos = NULL;
	walk->requeues = NTSYNC_WQ_REQUEUE_MAX;
}

/*
 * The next entry of the walk whose wait is not satisfied yet, its key
 * checked first: an entry whose task's priority changed is requeued and
 * the next one looked at again (lazy validation).  A raised entry can land
 * before what the walk used already; it is then the best of the rest, and
 * is returned at once.  Entries of satisfied waits met on the way are
 * unlinked, each once in its queue's life, so that cost is that of the
 * wakes that satisfied them.  NULL at the end.  Inline, as the wake of one
 * waiter below: a release that wakes one pays no call for either.
 */
static inline struct ntsync_q_entry *
ntsync_wq_next(struct ntsync_wq_walk *walk)
{
	for (;;) {
		struct ntsync_q_entry *entry;
		struct rb_node *node;
		int prio;

		node = walk->pos ? rb_next(&walk->pos->node) :
				   rb_first_cached(&walk->wq->root);
		if (!node)
			return NULL;
		entry = rb_entry(node, struct ntsync_q_entry, node);
		if (ntsync_entry_claimed(entry)) {
			ntsync_wq_erase(walk->wq, entry);
			continue;
		}
		prio = READ_ONCE(entry->q->task->prio);
		if (prio == entry->prio || !walk->requeues)
			return entry;
		walk->requeues--;
		ntsync_wq_requeue(walk->wq, entry, prio);
		if (walk->pos && ntsync_entry_before(entry, walk->pos))
			return entry;
	}
}

/* The walk has used @entry (from ntsync_wq_next()). */
static void ntsync_wq_used(struct ntsync_wq_walk *walk,
			   struct ntsync_q_entry *entry)
{
	if (!walk->pos || ntsync_entry_before(walk->pos, entry))
		walk->pos = entry;
}

/*
 * The best entry of @wq whose wait is not satisfied yet, with its key
 * checked, or NULL: O(log n), for the owner of @wq's lock.  A PI look-up:
 * it re-checks a long queue too, since a mutex's order boosts its owner
 * between wakes.
 */
struct ntsync_q_entry *ntsync_wq_first(struct ntsync_wq *wq)
{
	struct ntsync_wq_walk walk;

	/* The common case of a PI look-up at unlock: nobody waits. */
	if (ntsync_wq_empty(wq))
		return NULL;

	ntsync_wq_walk_init(&walk, wq, true);
	return ntsync_wq_next(&walk);
}

/*
 * The PI code changed the priority of @q's task while @q is queued: requeue
 * its entries under their objects' locks now, instead of waiting for a pass
 * to notice.  Called under ntsync_pi_mutex (which comes before every object
 * lock) with no other lock held; @q stays valid until that mutex is let go
 * (its wait, found by the chain walk, ends under it), its objects while @q
 * holds them.
 */
void ntsync_requeue_q(struct ntsync_q *q)
{
	__u32 i;

	for (i = 0; i < q->total_count; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];
		struct ntsync_obj *obj = entry->obj;
		struct ntsync_wq *wq;
		bool all;
		int prio;

		/* The alert of a wait-all is a wait-any entry. */
		wq = q->all && i < q->count ? &obj->all_waiters :
					      &obj->any_waiters;
		all = ntsync_lock_obj(obj->dev, obj);
		/*
		 * Left its queue already (all_hint may be 0 by now: its entry
		 * was unlinked before, under wait_all_lock).
		 */
		prio = READ_ONCE(q->task->prio);
		if (!RB_EMPTY_NODE(&entry->node) && prio != entry->prio)
			ntsync_wq_requeue(wq, entry, prio);
		ntsync_unlock_obj(obj->dev, obj, all);
	}
}

/* Wait-any and wait-all entries of one object: (prio, arrival), any first. */
static bool ntsync_waiter_first(const struct ntsync_q_entry *any,
				const struct ntsync_q_entry *each)
{
	if (any->prio != each->prio)
		return any->prio < each->prio;
	return any->q->seq <= each->q->seq;
}

/* Claim @q for @index; true if this caller won it. */
static bool ntsync_claim(struct ntsync_q *q, __u32 index)
{
	int unclaimed = -1;

	return atomic_try_cmpxchg(&q->signaled, &unclaimed, index);
}

/*
 * Hand the object to one wait-any waiter if it can take it; @all: as
 * ntsync_lock_obj() returned.  True if it did.
 */
static inline bool ntsync_try_wake_any(struct ntsync_obj *obj,
				       struct ntsync_q_entry *entry, bool all)
{
	struct ntsync_q *q = entry->q;

	if (!ntsync_obj_is_signaled(obj, q->owner) ||
	    !ntsync_claim(q, entry->index))
		return false;
	ntsync_obj_acquire(obj, q);
	ntsync_stat_add(NTSYNC_STAT_WAKES, 1);
	trace_ntsync_wake(q->task, entry->index);
	ntsync_wake_task(obj->dev, q->task, all);
	return true;
}

/*
 * Wake-ahead.  A mutex was just handed to the waiter of @taken, which is
 * on its way to run: wake the waiter next in line after it, if it sleeps
 * and could spin (ntsync_note_spin_owner()), so that it spins on the new
 * owner instead of sleeping until that one lets go.  Waiters that queue
 * behind sleeping ones (more threads than CPUs) otherwise never spin.  At
 * most one extra wake per hand-over, O(1) under the mutex's lock; a
 * waiter that finds it cannot spin sleeps again.  Under the lock that
 * owns @obj; @all: as ntsync_lock_obj() returned (the wake then waits for
 * wait_all_lock to be dropped, as the hand-over's own).
 */
static void ntsync_wake_ahead(struct ntsync_obj *obj,
			      struct ntsync_q_entry *taken, bool all)
{
	struct rb_node *node = rb_next(&taken->node);
	struct ntsync_q_entry *next;
	struct ntsync_q *q;

	if (!node || !READ_ONCE(ntsync_spin_us))
		return;
	next = rb_entry(node, struct ntsync_q_entry, node);
	q = next->q;
	/*
	 * A sleeper that could spin only; spin_owner set means it spins
	 * already (a hint: the waiter clears it without this lock).
	 */
	if (q->count != 1 || q->nr_fds || q->all || q->spin_ahead ||
	    READ_ONCE(q->spin_owner) || ntsync_entry_claimed(next))
		return;
	/* Read by ntsync_schedule() after it set its task state. */
	WRITE_ONCE(q->spin_ahead, true);
	ntsync_stat_add(NTSYNC_STAT_WAKES_AHEAD, 1);
	ntsync_wake_task(obj->dev, q->task, all);
}

/*
 * Satisfy a wait-all if every one of its objects is signaled now.  @later:
 * wake its task when ntsync_unlock_obj() drops wait_all_lock.
 */
static void ntsync_try_wake_all(struct ntsync_device *dev, struct ntsync_q *q,
				bool later)
{
	__u32 i;

	/* Every object of @q has all_hint set, so this lock owns them all. */
	lockdep_assert_held(&dev->wait_all_lock);

	if (atomic_read(&q->signaled) != -1)
		return;
	for (i = 0; i < q->count; i++) {
		if (!ntsync_obj_is_signaled(q->entries[i].obj, q->owner))
			return;
	}
	if (!ntsync_claim(q, 0))
		return;
	for (i = 0; i < q->count; i++)
		ntsync_obj_acquire(q->entries[i].obj, q);
	ntsync_stat_add(NTSYNC_STAT_WAKES, 1);
	trace_ntsync_wake(q->task, 0);
	ntsync_wake_task(dev, q->task, later);
}

/*
 * The common pass, without wait-all waiters and for an object that any
 * waiter can take (not a mutex): the best waiters while it lasts.
 */
static void ntsync_wake_any_waiters(struct ntsync_obj *obj)
{
	struct ntsync_q_entry *entry;
	struct ntsync_wq_walk walk;

	ntsync_wq_walk_init(&walk, &obj->any_waiters, false);
	while (ntsync_obj_is_signaled(obj, 0) &&
	       (entry = ntsync_wq_next(&walk))) {
		ntsync_try_wake_any(obj, entry, false);
		ntsync_wq_used(&walk, entry);
	}
}

/*
 * The object may have become signaled: wake whoever it can satisfy.  Called
 * under the lock ntsync_lock_obj() returned; @all is what it returned.
 */
void ntsync_wake_waiters(struct ntsync_device *dev, struct ntsync_obj *obj,
			 bool all)
{
	unsigned int owned_left = NTSYNC_WAKE_OWNED_MAX;
	struct ntsync_q_entry *any = NULL, *each = NULL;
	struct ntsync_wq_walk any_walk, all_walk;

	ntsync_assert_owned(obj);

	/*
	 * Nothing to hand over: no waiter can be satisfied now, so its order
	 * does not matter yet.  An owned mutex can still go to a waiter of
	 * its owner: walked below.
	 */
	if (obj->type != NTSYNC_TYPE_MUTEX && !ntsync_obj_is_signaled(obj, 0))
		return;

	if (!all && obj->type != NTSYNC_TYPE_MUTEX) {
		ntsync_wake_any_waiters(obj);
		return;
	}

	/* A long queue only if a wake before still owes its re-check. */
	ntsync_wq_walk_init(&any_walk, &obj->any_waiters, false);
	/* Without wait_all_lock there are no wait-all waiters to see. */
	if (all)
		ntsync_wq_walk_init(&all_walk, &obj->all_waiters, false);

	for (;;) {
		/* Spent: no other waiter of a semaphore or event can take it. */
		if (obj->type != NTSYNC_TYPE_MUTEX &&
		    !ntsync_obj_is_signaled(obj, 0))
			break;
		if (!any)
			any = ntsync_wq_next(&any_walk);
		if (all && !each)
			each = ntsync_wq_next(&all_walk);
		if (!any && !each)
			break;
		/* A mutex can suit one waiter and not another. */
		if (!ntsync_obj_is_signaled(obj, 0)) {
			/* Owned: only a waiter of its owner can take it. */
			if (!owned_left)
				break;
			owned_left--;
		}
		if (any && (!each || ntsync_waiter_first(any, each))) {
			if (ntsync_try_wake_any(obj, any, all) &&
			    obj->type == NTSYNC_TYPE_MUTEX)
				ntsync_wake_ahead(obj, any, all);
			ntsync_wq_used(&any_walk, any);
			any = NULL;
		} else {
			ntsync_try_wake_all(dev, each->q, true);
			ntsync_wq_used(&all_walk, each);
			each = NULL;
		}
	}
}

/*
 * Claim the best unclaimed wait-any waiter of @obj without consuming
 * anything (the notify-only waiters of a channel), and return its task with
 * a reference, for the caller to boost and wake once its lock is dropped.
 * One waiter only: the one that will come and take the entry.
 */
struct task_struct *ntsync_claim_notify_waiter(struct ntsync_obj *obj)
{
	struct ntsync_wq_walk walk;
	struct ntsync_q_entry *entry;

	ntsync_assert_owned(obj);
	ntsync_wq_walk_init(&walk, &obj->any_waiters, false);
	while ((entry = ntsync_wq_next(&walk))) {
		if (ntsync_claim(entry->q, entry->index)) {
			ntsync_stat_add(NTSYNC_STAT_WAKES, 1);
			trace_ntsync_wake(entry->q->task, entry->index);
			get_task_struct(entry->q->task);
			return entry->q->task;
		}
		/* A watched file claimed it just now. */
		ntsync_wq_used(&walk, entry);
	}
	return NULL;
}

/* The fields every wait starts with; objects and files are added after. */
void ntsync_init_q(struct ntsync_device *dev, struct ntsync_q *q,
		   __u32 owner, bool all, __u32 count)
{
	q->task = current;
	q->owner = owner;
	q->seq = atomic64_inc_return(&dev->wait_seq);
	atomic_set(&q->signaled, -1);
	q->all = all;
	q->ownerdead = false;
	q->has_mutex = false;
	q->has_channel = false;
	q->pi_registered = false;
	RB_CLEAR_NODE(&q->pi_node);
	q->pi_followed = false;
	q->pi_left_armed = false;
	q->pi_rec = NULL;
	INIT_LIST_HEAD(&q->pi_discard);
	q->objects_first = false;
	q->spin_owner = NULL;
	q->spin_ahead = false;
	q->fds = NULL;
	q->nr_fds = 0;
	q->fd_woken = false;
	q->count = count;
	q->total_count = 0;
}

/* Drop the object and file references and free the wait; no lock held. */
void ntsync_release_q(struct ntsync_q *q)
{
	__u32 i;

	for (i = 0; i < q->total_count; i++)
		ntsync_put_obj(q->entries[i].obj);
	for (i = 0; i < q->nr_fds; i++)
		ntsync_q_fd_release(&q->fds[i]);
	/* Most waits watch no file. */
	if (q->fds)
		ntsync_kfree(q->fds);
	ntsync_free_q(q);
}

/* Wine-NSPA's uring_fd: an eventfd whose readability ends the wait. */
static int ntsync_setup_uring_fd(struct ntsync_q *q, int fd)
{
	struct eventfd_ctx *ctx;
	int ret;

	q->fds = kzalloc(sizeof(*q->fds), GFP_KERNEL_ACCOUNT);
	if (!q->fds)
		return -ENOMEM;
	ret = ntsync_q_fd_init(&q->fds[0], q, fd, EPOLLIN,
			       NTSYNC_INDEX_URING_READY);
	if (ret)
		return ret;
	/* From here ntsync_release_q() drops the file. */
	q->nr_fds = 1;
	ctx = eventfd_ctx_fileget(q->fds[0].file);
	if (IS_ERR(ctx))
		return -EINVAL;
	eventfd_ctx_put(ctx);
	q->objects_first = true;
	return 0;
}

/*
 * Validate the arguments, take a reference on every object and build the
 * wait queue, not yet queued anywhere.  @stack_q, room for
 * NTSYNC_Q_STACK_ENTRIES entries in the caller's frame, holds a small
 * queue; it must outlive the wait, which the caller's frame does.
 */
static int ntsync_setup_wait(struct ntsync_device *dev,
			     const struct ntsync_wait_args *args, bool all,
			     struct ntsync_q *stack_q, struct ntsync_q **ret_q)
{
	int fds[NTSYNC_MAX_WAIT_COUNT + 1];
	const __u32 count = args->count;
	struct ntsync_q *q;
	__u32 total_count;
	__u32 i, j;
	int ret;

	if (args->flags & ~NTSYNC_WAIT_REALTIME)
		return -EINVAL;
	if (count > NTSYNC_MAX_WAIT_COUNT)
		return -EINVAL;
	/* Linux 7.x: every wait names its owner; zero means "nobody". */
	if (!args->owner)
		return -EINVAL;

	if (copy_from_user(fds, u64_to_user_ptr(args->objs),
			   array_size(count, sizeof(fds[0]))))
		return -EFAULT;
	total_count = count;
	if (args->alert)
		fds[total_count++] = args->alert;

	if (total_count <= NTSYNC_Q_STACK_ENTRIES) {
		q = stack_q;
		q->home = NTSYNC_Q_ON_STACK;
	} else {
		q = ntsync_alloc_q(total_count);
		if (!q)
			return -ENOMEM;
	}
	ntsync_init_q(dev, q, args->owner, all, count);

	for (i = 0; i < total_count; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];
		struct ntsync_obj *obj = ntsync_get_obj(dev, fds[i]);

		if (!obj) {
			ret = -EINVAL;
			goto err;
		}
		/* From here ntsync_release_q() drops the reference. */
		entry->obj = obj;
		q->total_count++;
		entry->q = q;
		entry->index = i;
		/* Channels are served by their own ioctls, never by a wait. */
		if (obj->type == NTSYNC_TYPE_CHANNEL) {
			ret = -EINVAL;
			goto err;
		}
		if (obj->type == NTSYNC_TYPE_MUTEX && i < count)
			q->has_mutex = true;
	}

	ret = -EINVAL;
	if (args->alert && q->entries[count].obj->type != NTSYNC_TYPE_EVENT)
		goto err;
	/* A wait-all takes each object once: no duplicates, alert included. */
	if (all) {
		for (i = 1; i < total_count; i++) {
			for (j = 0; j < i; j++) {
				if (q->entries[i].obj == q->entries[j].obj)
					goto err;
			}
		}
	}
	if (args->pad) {
		ret = ntsync_setup_uring_fd(q, args->pad);
		if (ret)
			goto err;
	}

	*ret_q = q;
	return 0;

err:
	ntsync_release_q(q);
	return ret;
}

/* ntsync_schedule(): woken to spin by a hand-over just ahead of us. */
#define NTSYNC_WOKEN_AHEAD	1

/*
 * Sleep until claimed, the deadline passes, or a signal arrives.  A wake
 * of a watched file makes the waiter poll its files, which may claim it.
 * Returns NTSYNC_WOKEN_AHEAD if woken to spin (ntsync_wake_ahead()).
 */
static int ntsync_schedule(struct ntsync_q *q, __u64 timeout_ns,
			   bool realtime)
{
	clockid_t clock = realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	ktime_t deadline, *deadline_ptr = NULL;
	int ret = 0;

	if (timeout_ns != U64_MAX) {
		/*
		 * As upstream reads it: the deadline is a signed ktime, so one
		 * past INT64_MAX is negative, long expired (a 32-bit caller
		 * whose tv_sec * 1e9 overflowed gets ETIMEDOUT, not a hang).
		 * Passed as 0: hrtimers saturate a negative expiry to "never".
		 */
		deadline = timeout_ns > KTIME_MAX ? 0 : (ktime_t)timeout_ns;
		deadline_ptr = &deadline;
	}

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (atomic_read(&q->signaled) != -1)
			break;
		if (q->nr_fds && READ_ONCE(q->fd_woken)) {
			WRITE_ONCE(q->fd_woken, false);
			/* Polling may sleep. */
			__set_current_state(TASK_RUNNING);
			ntsync_q_poll_fds(q);
			continue;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (READ_ONCE(q->spin_ahead)) {
			ret = NTSYNC_WOKEN_AHEAD;
			break;
		}
		if (!schedule_hrtimeout_range_clock(deadline_ptr, 0,
						    HRTIMER_MODE_ABS, clock)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	return ret;
}

/* Turn the final state of a finished wait into the ioctl's result. */
static int ntsync_wait_result(struct ntsync_q *q, int sleep_ret,
			      struct ntsync_wait_args __user *user_args)
{
	int signaled = atomic_read(&q->signaled);

	if (signaled == -1)
		return sleep_ret;
	/* Probed writable before the wait, so this only fails on a race. */
	if (put_user(signaled, &user_args->index))
		return -EFAULT;
	return q->ownerdead ? -EOWNERDEAD : 0;
}

/* Copy the arguments in and prove that the result can be copied out. */
static int ntsync_get_wait_args(struct ntsync_wait_args *args,
				struct ntsync_wait_args __user *user_args)
{
	if (copy_from_user(args, user_args, sizeof(*args)))
		return -EFAULT;
	if (put_user(args->index, &user_args->index))
		return -EFAULT;
	return 0;
}

/*
 * A record for the owner @q may boost, allocated while no lock is held and
 * before the chain walk takes ntsync_pi_mutex.  Only a real-time waiter
 * boosts at once; should a waiter below that be raised while it waits, the
 * PI code allocates the record then (it may sleep), so normal threads do
 * not pay a slab round trip on every contended wait.
 */
static void ntsync_prealloc_owner_boost(struct ntsync_q *q,
					struct ntsync_pi_work *w)
{
	if (q->has_mutex && rt_or_dl_prio(current->prio))
		ntsync_pi_work_prealloc(w, 1);
}

/*
 * Under the lock that owns @wq: is @entry first in it, but for at most one
 * entry ahead already claimed (a woken waiter not yet gone)?
 */
static bool ntsync_next_in_line(struct ntsync_wq *wq,
				struct ntsync_q_entry *entry)
{
	struct rb_node *node = rb_first_cached(&wq->root);
	struct ntsync_q_entry *first;

	first = rb_entry(node, struct ntsync_q_entry, node);
	if (first != entry && ntsync_entry_claimed(first)) {
		node = rb_next(node);
		first = rb_entry_safe(node, struct ntsync_q_entry, node);
	}
	return first == entry;
}

/*
 * Will @owner run its critical section soon: it is on a CPU, or runnable
 * on another one (a waiter just handed the mutex, not yet switched in)?
 * Read without a lock, as a hint; the caller holds a reference on @owner.
 * On one CPU nobody else runs while we spin: never.
 */
static bool ntsync_owner_active(struct task_struct *owner)
{
#ifdef CONFIG_SMP
	if (READ_ONCE(owner->on_cpu))
		return !vcpu_is_preempted(task_cpu(owner));
	return READ_ONCE(owner->on_rq) &&
	       task_cpu(owner) != raw_smp_processor_id();
#else
	return false;
#endif
}

/*
 * Adaptive spinning.  A contended mutex handed from one running thread to
 * another costs the waiter a sleep and the owner a cross-CPU wake-up on
 * every hand-over, which is most of a short critical section's cost.  So a
 * waiter whose whole wait is one mutex (an alert aside), and who is next in
 * line for it, spins instead of sleeping while the owner runs on another
 * CPU or is about to (ntsync_owner_active()).  The waiter stays queued, so
 * who gets the mutex, and when, does not change: the spin only saves the
 * sleep and the wake-up.  It ends when the mutex is handed to us (no sleep
 * at all) or to another, when the owner stops running, when this CPU is
 * wanted (need_resched(), or another task runnable here), a signal comes,
 * the deadline passes or spin_us runs out; then the waiter sleeps as
 * before.  No lock is held and preemption stays on: the spin is no
 * non-preemptible section.  Like mutex_spin_on_owner(), but bounded in
 * time, since an ntsync mutex may be held in user space for long.
 *
 * Under the lock that owns @obj, on which @q has just queued: note the
 * owner to spin on, with a reference (dropped by the waiter).
 */
static void ntsync_note_spin_owner(struct ntsync_q *q, struct ntsync_obj *obj,
				   struct ntsync_q_entry *entry)
{
	struct task_struct *owner;

	if (obj->type != NTSYNC_TYPE_MUTEX || q->count != 1 ||
	    q->nr_fds || !READ_ONCE(ntsync_spin_us))
		return;
	owner = obj->u.mutex.owner_task;
	/* Next in line: the hand-over is likely ours, not another's. */
	if (!owner || owner == current ||
	    !ntsync_next_in_line(&obj->any_waiters, entry) ||
	    !ntsync_owner_active(owner))
		return;
	get_task_struct(owner);
	/* Read by ntsync_wake_ahead(), also under this lock. */
	WRITE_ONCE(q->spin_owner, owner);
}

/* Another task wants this CPU (a debug build can be told to ignore it). */
static bool ntsync_spin_cpu_wanted(void)
{
	return (need_resched() || !single_task_running()) &&
	       !ntsync_debug_spin_stubborn();
}

/*
 * Spin while q->spin_owner runs and still owns the mutex, as above.  A
 * wait claimed meanwhile returns without sleeping.  No lock held.
 */
static void ntsync_spin_on_owner(struct ntsync_q *q, __u64 timeout_ns,
				 bool realtime)
{
	struct ntsync_obj *mutex = q->entries[0].obj;
	struct task_struct *owner = q->spin_owner, *cur;
	s64 spin_ns = (s64)READ_ONCE(ntsync_spin_us) * NSEC_PER_USEC;
	int prio = READ_ONCE(current->prio);
	ktime_t now = ktime_get(), end;

	/*
	 * An earlier deadline ends the spin (see ntsync_schedule()).  Timed
	 * on the monotonic clock, as what is left of the deadline now: a
	 * CLOCK_REALTIME step while we spin cannot stretch it past spin_us.
	 */
	if (timeout_ns != U64_MAX) {
		ktime_t deadline = timeout_ns > KTIME_MAX ? 0 : timeout_ns;

		spin_ns = min_t(s64, spin_ns, ktime_sub(deadline, realtime ?
						       ktime_get_real() : now));
	}
	end = ktime_add(now, spin_ns);

	ntsync_stat_add(NTSYNC_STAT_SPINS, 1);
	while (atomic_read(&q->signaled) == -1) {
		/*
		 * Read without the lock, as hints: a stale value ends the
		 * spin early, or late by at most spin_us.  NULL: the owner
		 * is handing the mutex over right now.
		 */
		cur = READ_ONCE(mutex->u.mutex.owner_task);
		if ((cur && cur != owner) || !ntsync_owner_active(owner) ||
		    ntsync_spin_cpu_wanted() || signal_pending(current) ||
		    ktime_get() >= end)
			return;
		/* Raised or lowered: PI must see it (ntsync_pi_wait_queued()). */
		if (READ_ONCE(current->prio) != prio)
			return;
		cpu_relax();
	}
	ntsync_stat_add(NTSYNC_STAT_SPIN_CLAIMS, 1);
}

/* Drop the owner ntsync_note_spin_owner() noted, if any. */
static void ntsync_forget_spin_owner(struct ntsync_q *q)
{
	if (!q->spin_owner)
		return;
	/* The reference ntsync_note_spin_owner() took; no lock is held. */
	put_task_struct(q->spin_owner);
	/* Read by ntsync_wake_ahead() as a hint, without our lock. */
	WRITE_ONCE(q->spin_owner, NULL);
}

/* Spin on q->spin_owner, if noted, and forget it. */
static void ntsync_spin_and_forget(struct ntsync_q *q, __u64 timeout_ns,
				   bool realtime)
{
	if (!q->spin_owner)
		return;
	ntsync_spin_on_owner(q, timeout_ns, realtime);
	ntsync_forget_spin_owner(q);
}

/*
 * Woken by ntsync_wake_ahead(): look at the mutex again under its lock and
 * spin if we may (still unclaimed, next in line, its owner running).
 */
static void ntsync_spin_ahead(struct ntsync_device *dev, struct ntsync_q *q,
			      __u64 timeout_ns, bool realtime)
{
	struct ntsync_q_entry *entry = &q->entries[0];
	struct ntsync_obj *obj = entry->obj;
	bool all;

	all = ntsync_lock_obj(dev, obj);
	WRITE_ONCE(q->spin_ahead, false);
	if (atomic_read(&q->signaled) == -1)
		ntsync_note_spin_owner(q, obj, entry);
	ntsync_unlock_obj(dev, obj, all);
	ntsync_spin_and_forget(q, timeout_ns, realtime);
}

/*
 * Queue @entry of a wait on @wq of @obj.  True if the re-check made there
 * moved a waiter of a mutex whose PI must be re-evaluated (once the lock
 * that owns @obj is dropped): a raised waiter may boost its owner now.
 * (With PI on, a handoff's own look-up pays a mutex queue's re-check; one
 * is left owed here by a handoff made while PI was off, or in the moment
 * before an armed mutex's re-evaluation.  tests/rt/mutex_pi.c.)
 */
static bool ntsync_wq_insert_pi(struct ntsync_obj *obj, struct ntsync_wq *wq,
				struct ntsync_q_entry *entry)
{
	return ntsync_wq_insert(wq, entry) &&
	       obj->type == NTSYNC_TYPE_MUTEX &&
	       ntsync_pi_mutex_needs_work(obj);
}

/*
 * One pass over the objects in index order: under each object's lock, take
 * it if it is signaled for @q's owner, else queue @q on it.  An object found
 * unsignaled is queued on under the same lock, so whoever signals it later
 * sees @q: no second pass is needed to catch a signal that came in between.
 * Returns true once @q is satisfied, by this pass or meanwhile through an
 * object it queued on; *@queued counts the entries queued, from the first.
 * With @queued NULL nothing is queued: take the first signaled object, if
 * any (@q is on no queue then, so its claim cannot fail).  A mutex taken
 * while others wait for it makes us the owner they boost: its PI is
 * re-evaluated once the lock is dropped.
 */
static bool ntsync_take_or_queue(struct ntsync_device *dev,
				 struct ntsync_q *q, struct ntsync_pi_work *w,
				 __u32 *queued)
{
	__u32 i;

	if (queued)
		*queued = 0;
	for (i = 0; i < q->total_count; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];
		struct ntsync_obj *obj = entry->obj;
		bool all = ntsync_lock_obj(dev, obj);
		bool pi_work = false, done = true;

		if (atomic_read(&q->signaled) != -1) {
			/* Claimed through an object queued on before. */
		} else if (ntsync_obj_is_signaled(obj, q->owner)) {
			if (ntsync_claim(q, entry->index)) {
				ntsync_obj_acquire(obj, q);
				/* Its waiters may boost the new owner. */
				pi_work = obj->type == NTSYNC_TYPE_MUTEX &&
					  ntsync_pi_mutex_needs_work(obj);
			}
		} else {
			if (queued) {
				pi_work = ntsync_wq_insert_pi(obj,
							      &obj->any_waiters,
							      entry);
				*queued = i + 1;
				ntsync_note_spin_owner(q, obj, entry);
			}
			done = false;
		}
		ntsync_unlock_obj(dev, obj, all);
		if (pi_work)
			ntsync_pi_mutex_changed(obj, w);
		if (done)
			return true;
	}
	return false;
}

/*
 * Queue @q on its objects and files, sleep until one satisfies it, and take
 * it off again: the core of WAIT_ANY and AGGREGATE_WAIT.  Returns 0, or the
 * error of the sleep when nothing claimed @q (the caller reads q->signaled).
 */
int ntsync_wait_any_q(struct ntsync_device *dev, struct ntsync_q *q,
		      __u64 timeout, bool realtime, struct ntsync_pi_work *w)
{
	bool all, spin_first;
	__u32 i, queued;
	int ret = 0;

	/* The EVENT_SET_PI boost of the caller's last wait ends here. */
	ntsync_pi_slot_drain(NTSYNC_SLOT_EVENT, w);

	/* With files: a signaled object wins, then a ready file. */
	if (q->nr_fds && (ntsync_take_or_queue(dev, q, w, NULL) ||
			  ntsync_q_poll_fds(q)))
		goto out;

	if (ntsync_take_or_queue(dev, q, w, &queued)) {
		if (!queued)
			goto out;
		goto unqueue;
	}

	if (q->nr_fds)
		ret = ntsync_q_fds_register(q);

	ntsync_debug_sleep_once(NTSYNC_DELAY_QUEUED);
	if (!ret && atomic_read(&q->signaled) == -1)
		ntsync_prealloc_owner_boost(q, w);
	if (!ret) {
		/*
		 * A normal waiter spins before it registers for PI: one handed
		 * the mutex meanwhile never takes ntsync_pi_waiters_lock, and
		 * one raised meanwhile stops spinning and registers then.  A
		 * real-time waiter boosts the owner first.
		 */
		spin_first = !rt_or_dl_prio(READ_ONCE(current->prio));
		if (spin_first)
			ntsync_spin_and_forget(q, timeout, realtime);
		ntsync_pi_wait_queued(q, w);
		ntsync_spin_and_forget(q, timeout, realtime);
		while ((ret = ntsync_schedule(q, timeout, realtime)) ==
		       NTSYNC_WOKEN_AHEAD)
			ntsync_spin_ahead(dev, q, timeout, realtime);
		ntsync_debug_sleep_once(NTSYNC_DELAY_WOKEN);
	}

unqueue:
	/* Noted, and the wait claimed before it could spin. */
	ntsync_forget_spin_owner(q);
	for (i = 0; i < queued; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];
		struct ntsync_obj *obj = entry->obj;

		all = ntsync_lock_obj(dev, obj);
		ntsync_wq_remove(&obj->any_waiters, entry);
		ntsync_pi_note_leave(q, obj);
		ntsync_unlock_obj(dev, obj, all);
	}
	if (q->nr_fds)
		ntsync_q_fds_unregister(q);

	ntsync_pi_wait_done(q, w);

	/* The uring_fd fired: an object signaled meanwhile still wins. */
	if (q->objects_first &&
	    atomic_read(&q->signaled) == NTSYNC_INDEX_URING_READY) {
		/* Off every queue and file: nothing else can claim @q now. */
		atomic_set(&q->signaled, -1);
		if (!ntsync_take_or_queue(dev, q, w, NULL))
			atomic_set(&q->signaled, NTSYNC_INDEX_URING_READY);
	}

out:
	ntsync_pi_consume_event(dev, q, w);
	return ret;
}

int ntsync_wait_any(struct ntsync_device *dev, void __user *argp)
{
	DEFINE_RAW_FLEX(struct ntsync_q, stack_q, entries,
			NTSYNC_Q_STACK_ENTRIES);
	struct ntsync_wait_args __user *user_args = argp;
	struct ntsync_wait_args args;
	struct ntsync_pi_work w;
	struct ntsync_q *q;
	int ret;

	ret = ntsync_get_wait_args(&args, user_args);
	if (ret)
		return ret;
	ret = ntsync_setup_wait(dev, &args, false, stack_q, &q);
	if (ret)
		return ret;

	ntsync_stat_add(NTSYNC_STAT_WAITS, 1);
	trace_ntsync_wait_begin(NTSYNC_TRACE_ANY, q->count, q->owner);
	ntsync_pi_work_init(&w);
	ret = ntsync_wait_any_q(dev, q, args.timeout,
				args.flags & NTSYNC_WAIT_REALTIME, &w);
	ret = ntsync_wait_result(q, ret, user_args);
	trace_ntsync_wait_end(NTSYNC_TRACE_ANY, ret, atomic_read(&q->signaled));
	ntsync_release_q(q);
	ntsync_pi_work_finish(&w);
	return ret;
}

/* Acquire every object of a wait-all if all are signaled; under the lock. */
static bool ntsync_take_all(struct ntsync_device *dev, struct ntsync_q *q)
{
	__u32 i;

	lockdep_assert_held(&dev->wait_all_lock);
	for (i = 0; i < q->count; i++) {
		if (!ntsync_obj_is_signaled(q->entries[i].obj, q->owner))
			return false;
	}
	for (i = 0; i < q->count; i++)
		ntsync_obj_acquire(q->entries[i].obj, q);
	return true;
}

int ntsync_wait_all(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_wait_args __user *user_args = argp;
	DEFINE_RAW_FLEX(struct ntsync_q, stack_q, entries,
			NTSYNC_Q_STACK_ENTRIES);
	struct ntsync_q_entry *alert_entry = NULL;
	struct ntsync_wait_args args;
	struct ntsync_pi_work w;
	struct ntsync_q *q;
	bool all, pi_recheck = false;
	int ret = 0;
	__u32 i;

	ret = ntsync_get_wait_args(&args, user_args);
	if (ret)
		return ret;
	ret = ntsync_setup_wait(dev, &args, true, stack_q, &q);
	if (ret)
		return ret;
	if (args.alert)
		alert_entry = &q->entries[q->count];

	ntsync_stat_add(NTSYNC_STAT_WAITS, 1);
	trace_ntsync_wait_begin(NTSYNC_TRACE_ALL, q->count, q->owner);
	ntsync_pi_work_init(&w);
	ntsync_pi_slot_drain(NTSYNC_SLOT_EVENT, &w);
	ntsync_prealloc_owner_boost(q, &w);

	rt_mutex_lock(&dev->wait_all_lock);

	for (i = 0; i < q->count; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];

		/* From here wait_all_lock owns the object. */
		ntsync_all_hint_add(entry->obj, 1);
		if (ntsync_wq_insert_pi(entry->obj, &entry->obj->all_waiters,
					entry))
			pi_recheck = true;
	}
	/*
	 * The alert is an ordinary wait-any entry.  Its list is owned by
	 * wait_all_lock or by its own lock: holding both covers either case.
	 */
	if (alert_entry) {
		raw_spin_lock(&alert_entry->obj->lock);
		if (ntsync_wq_insert_pi(alert_entry->obj,
					&alert_entry->obj->any_waiters,
					alert_entry))
			pi_recheck = true;
		raw_spin_unlock(&alert_entry->obj->lock);
	}

	/*
	 * The objects win over the alert when both are signaled.  Its own
	 * wait: nobody to wake later (wait_all_lock is dropped plainly).
	 */
	ntsync_try_wake_all(dev, q, false);

	rt_mutex_unlock(&dev->wait_all_lock);

	/* Rare (a priority changed from outside): every mutex of the wait. */
	for (i = 0; pi_recheck && i < q->total_count; i++) {
		if (q->entries[i].obj->type == NTSYNC_TYPE_MUTEX)
			ntsync_pi_mutex_changed(q->entries[i].obj, &w);
	}

	if (alert_entry && atomic_read(&q->signaled) == -1) {
		struct ntsync_obj *alert = alert_entry->obj;

		all = ntsync_lock_obj(dev, alert);
		ntsync_wake_waiters(dev, alert, all);
		ntsync_unlock_obj(dev, alert, all);
	}

	if (q->nr_fds && atomic_read(&q->signaled) == -1)
		ret = ntsync_q_fds_register(q);

	if (!ret) {
		ntsync_pi_wait_queued(q, &w);
		ret = ntsync_schedule(q, args.timeout,
				      args.flags & NTSYNC_WAIT_REALTIME);
	}

	rt_mutex_lock(&dev->wait_all_lock);

	/* The uring_fd fired: objects all signaled meanwhile still win. */
	if (q->objects_first &&
	    atomic_read(&q->signaled) == NTSYNC_INDEX_URING_READY &&
	    ntsync_take_all(dev, q))
		atomic_set(&q->signaled, 0);

	for (i = 0; i < q->count; i++) {
		struct ntsync_q_entry *entry = &q->entries[i];

		ntsync_wq_remove(&entry->obj->all_waiters, entry);
		ntsync_pi_note_leave(q, entry->obj);
		ntsync_all_hint_add(entry->obj, -1);
	}
	if (alert_entry) {
		struct ntsync_obj *alert = alert_entry->obj;

		raw_spin_lock(&alert->lock);
		ntsync_wq_remove(&alert->any_waiters, alert_entry);
		raw_spin_unlock(&alert->lock);
	}

	rt_mutex_unlock(&dev->wait_all_lock);

	ntsync_q_fds_unregister(q);
	ntsync_pi_wait_done(q, &w);
	/* Wait-all consumes EVENT_SET_PI too (the spec left this open). */
	ntsync_pi_consume_event(dev, q, &w);
	ret = ntsync_wait_result(q, ret, user_args);
	trace_ntsync_wait_end(NTSYNC_TRACE_ALL, ret, atomic_read(&q->signaled));
	ntsync_release_q(q);
	ntsync_pi_work_finish(&w);
	return ret;
}
