// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: priority inheritance and priority-carrying event signals.
 *
 * Owns: the boost records (struct ntsync_boost, at most one per task,
 * module-wide), the registry of blocked waiters used to follow PI chains,
 * the per-ioctl PI work, and the rules on who may request a boost.
 *
 * A task's boost has contributions: every mutex it owns that has real-time
 * waiters (mutex PI), and one slot per priority-carrying source: the
 * EVENT_SET_PI it consumed last (until its next wait), and the channel
 * request it is serving (until its REPLY or next receive).  The task runs at
 * the best of them.  Its own attributes are saved
 * once, when its record is created, and restored exactly when the last
 * contribution ends; every source works from that one base, so no boost
 * ever takes a boosted state as its base.
 *
 * Locks:
 *   ntsync_pi_mutex (an rt_mutex: sleeps, and its holder inherits the
 *     priority of its waiters on RT and non-RT kernels alike) serialises
 *     every change of a contribution, its application with
 *     sched_setattr_nocheck(), the mutexes' pi_* fields, and the registry
 *     of blocked waiters.  Taken with no other ntsync lock held, since
 *     setting a task's attributes takes scheduler locks and must never run
 *     under a raw spinlock.
 *   ntsync_boost_lock (raw spinlock) protects the tree of records (an
 *     rb-tree by task: O(log n) under the lock, however many tasks hold a
 *     boost), so the wait path can look a task up without the mutex.
 *     Records are inserted and removed with both locks held.
 *   ntsync_pi_waiters_lock (raw spinlock) protects the registry of blocked
 *     waits that include a mutex: an rb-tree by (task, wait), O(log n)
 *     under the lock.  Neither raw lock is ever taken under the other.
 *
 * Where no boost can result, no PI lock is taken.  A mutex is "armed"
 * (pi_armed, under the lock that owns it) from the re-evaluation that saw
 * a real-time waiter on it until one that saw none has taken the boost
 * away; only while it is armed can its owner hold a boost from it.  So an
 * unlock, an acquisition or a waiter leaving needs ntsync_pi_mutex only if
 * the mutex is armed or has a real-time waiter now
 * (ntsync_pi_mutex_needs_work(), read under the lock that owns the mutex,
 * where re-evaluations read the queues), and a waiter queuing needs it
 * only if it runs at a real-time priority itself.  A waiter below that is
 * only registered, so that a boost it receives while it waits is passed on
 * along the chain (ntsync_pi_chain_add_waits_of()); a wait satisfied while
 * it was being queued does not sleep and is not registered.  The registry
 * is the only way from a task to its wait (a module keeps nothing in
 * task_struct), and any waiter may own a mutex that a real-time thread asks
 * for later, so the registration cannot be left out for normal waiters.
 * Threads at normal priorities therefore pay for two short raw sections
 * per contended wait, not for the PI mutex, which in this way stays
 * module-wide without putting every process behind one lock: it serialises
 * the tasks' attributes, and chains run across devices (a task may own
 * mutexes of one device and wait on another's).
 *
 * Allocation: records come from the ioctl's pi_work pool, filled before any
 * lock is taken; in this file's sleepable context a missing record may also
 * be allocated directly, and if that fails the boost is skipped (a
 * transient inversion, never a failed ioctl).  Retired records and task
 * references are released by ntsync_pi_work_finish() once no lock is held.
 */

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/rtmutex.h>
#include <linux/sched.h>
#include <linux/sched/rt.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <uapi/linux/sched/types.h>
#include <kunit/visibility.h>

#include "ntsync_internal.h"
#include "ntsync_trace.h"

bool ntsync_pi_enabled = true;
module_param_named(pi, ntsync_pi_enabled, bool, 0644);
MODULE_PARM_DESC(pi, "Boost mutex owners to their best waiter's priority (default: on)");

/* Mutexes re-evaluated by one operation at most: bounds chain walks. */
#define NTSYNC_PI_CHAIN_MAX	64
/* Records checked for an exited task each time a record is created. */
#define NTSYNC_PI_SWEEP		2

/*
 * The attributes a task had before any boost, or set itself since: restored
 * exactly when the boost ends.
 */
struct ntsync_sched_base {
	unsigned int policy;
	unsigned int rt_priority;
	int nice;
	/* A fair task's own time slice (sched_attr.sched_runtime), or 0. */
	u64 runtime;
	bool reset_on_fork;
	/* task->normal_prio at save time: boosts must beat it to apply. */
	int normal_prio;
};

struct ntsync_boost {
	/* Allocated from ntsync_event_pi (staged by EVENT_SET_PI), else pi_owner. */
	bool staged_cache;
	/*
	 * Its task (referenced while the record is live) and its place in
	 * ntsync_boosts, keyed by that task; the place under both PI locks.
	 */
	struct ntsync_task_node tn;
	/* In ntsync_boost_ages while live, oldest first; under pi_mutex. */
	struct list_head age_node;
	/* In a pi_work pool or free list, or a q's discard list. */
	struct list_head work_node;
	struct ntsync_sched_base base;
	/* obj->u.mutex.pi_node of the mutexes contributing to this task. */
	struct list_head mutexes;
	/* One contribution per source kind; prio NTSYNC_NO_BOOST when unused. */
	struct {
		int prio;
		__u32 policy;
		/* The device it came from: it ends when that device closes. */
		struct ntsync_device *dev;
	} slots[NTSYNC_NR_SLOTS];
	/* What is applied to the task now. */
	int applied_prio;
	__u32 applied_policy;
};

/* rt_mutex: a waiter lends its priority to the holder, on every kernel. */
static DEFINE_RT_MUTEX(ntsync_pi_mutex);
static DEFINE_RAW_SPINLOCK(ntsync_boost_lock);
/* Live records by task; see the locking rules above. */
static struct rb_root ntsync_boosts = RB_ROOT;
/* Live records, least recently checked first; under ntsync_pi_mutex. */
static LIST_HEAD(ntsync_boost_ages);
/* Blocked waits that include a mutex, by (task, q). */
static DEFINE_RAW_SPINLOCK(ntsync_pi_waiters_lock);
/* Under ntsync_pi_waiters_lock. */
static struct rb_root ntsync_pi_waiters = RB_ROOT;
/* Records using each slot: lets the hot paths skip the drain check. */
static atomic_t ntsync_slot_users[NTSYNC_NR_SLOTS];

/* Mutexes to re-evaluate, each with a file reference; under pi_mutex. */
static struct ntsync_obj *ntsync_pi_chain[NTSYNC_PI_CHAIN_MAX];
static unsigned int ntsync_pi_chain_len;
/* The first entry not re-evaluated yet; under ntsync_pi_mutex. */
static unsigned int ntsync_pi_chain_next;

size_t ntsync_boost_size(void)
{
	return sizeof(struct ntsync_boost);
}

/* @staged: for EVENT_SET_PI staging, from the ntsync_event_pi cache. */
struct ntsync_boost *ntsync_boost_alloc(bool staged)
{
	struct ntsync_boost *rec = ntsync_alloc_boost_mem(staged);

	if (rec)
		rec->staged_cache = staged;
	return rec;
}

/* NULL-safe; returns the record to the cache it came from. */
void ntsync_boost_free(struct ntsync_boost *rec)
{
	if (rec)
		ntsync_free_boost_mem(rec, rec->staged_cache);
}

void ntsync_pi_work_init(struct ntsync_pi_work *w)
{
	INIT_LIST_HEAD(&w->pool);
	INIT_LIST_HEAD(&w->to_free);
	w->put_task = NULL;
	w->self_rec = NULL;
}

/* Fill the pool; call with no lock held.  Failure only empties the pool. */
void ntsync_pi_work_prealloc(struct ntsync_pi_work *w, unsigned int nr)
{
	while (nr--) {
		struct ntsync_boost *rec = ntsync_boost_alloc(false);

		if (!rec)
			return;
		list_add(&rec->work_node, &w->pool);
	}
}

/* Take a record from the pool: a pointer update, legal under any lock. */
struct ntsync_boost *ntsync_pi_work_take(struct ntsync_pi_work *w)
{
	struct ntsync_boost *rec;

	rec = list_first_entry_or_null(&w->pool, struct ntsync_boost,
				       work_node);
	if (rec)
		list_del(&rec->work_node);
	return rec;
}

/* Release what the ioctl retired or did not use; call with no lock held. */
void ntsync_pi_work_finish(struct ntsync_pi_work *w)
{
	struct ntsync_boost *rec, *tmp;

	list_splice_init(&w->pool, &w->to_free);
	list_for_each_entry_safe(rec, tmp, &w->to_free, work_node) {
		list_del(&rec->work_node);
		if (rec->tn.task)
			put_task_struct(rec->tn.task);
		ntsync_boost_free(rec);
	}
	if (w->put_task)
		put_task_struct(w->put_task);
	w->put_task = NULL;
}

/* A staged record the wait will not use; caller owns @q's locks. */
void ntsync_pi_discard(struct ntsync_q *q, struct ntsync_boost *rec)
{
	list_add(&rec->work_node, &q->pi_discard);
}

/*
 * The tree of per-task records, keyed by the task's address: O(log n) in
 * the number of records, whoever creates them.  The caller holds the
 * tree's lock (ntsync_boost_lock for the boost records).
 */
VISIBLE_IF_KUNIT struct ntsync_task_node *
ntsync_task_tree_find(const struct rb_root *root, const struct task_struct *task)
{
	struct rb_node *node = root->rb_node;

	while (node) {
		struct ntsync_task_node *tn = rb_entry(node, struct ntsync_task_node,
						       node);

		if (task == tn->task)
			return tn;
		node = (uintptr_t)task < (uintptr_t)tn->task ?
			node->rb_left : node->rb_right;
	}
	return NULL;
}

/* Add @tn, whose task has no node in @root yet. */
VISIBLE_IF_KUNIT void ntsync_task_tree_add(struct rb_root *root,
					   struct ntsync_task_node *tn)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;

	while (*link) {
		struct ntsync_task_node *at = rb_entry(*link, struct ntsync_task_node,
						       node);

		parent = *link;
		link = (uintptr_t)tn->task < (uintptr_t)at->task ?
			&parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&tn->node, parent, link);
	rb_insert_color(&tn->node, root);
}

static struct ntsync_boost *ntsync_boost_find(struct task_struct *task)
{
	struct ntsync_task_node *tn;

	lockdep_assert_held(&ntsync_boost_lock);
	tn = ntsync_task_tree_find(&ntsync_boosts, task);
	return tn ? container_of(tn, struct ntsync_boost, tn) : NULL;
}

/* @task's attributes now, in the form a base keeps them. */
static void ntsync_sched_read(struct task_struct *task,
			      struct ntsync_sched_base *now)
{
	now->policy = READ_ONCE(task->policy);
	now->rt_priority = READ_ONCE(task->rt_priority);
	now->nice = task_nice(task);
	now->runtime = task->se.custom_slice ? task->se.slice : 0;
	now->reset_on_fork = task->sched_reset_on_fork;
	now->normal_prio = READ_ONCE(task->normal_prio);
}

/*
 * Are @task's attributes still the ones ntsync applied to it (@rec's boost,
 * or its base when no boost is applied)?  If not, the task (or someone on
 * its behalf: Wine, rtkit) changed them itself, and that change stands.
 */
static bool ntsync_sched_is_ours(const struct ntsync_boost *rec,
				 const struct ntsync_sched_base *now)
{
	const struct ntsync_sched_base *base = &rec->base;

	if (now->nice != base->nice)
		return false;
	if (rec->applied_prio == NTSYNC_NO_BOOST)
		return now->policy == base->policy &&
		       now->rt_priority == base->rt_priority &&
		       now->runtime == base->runtime;
	return now->policy == rec->applied_policy &&
	       now->rt_priority == MAX_RT_PRIO - 1 - rec->applied_prio;
}

/*
 * The RT priority the caller has of its own, not borrowed from a boost:
 * 0 if it is not real-time by itself.
 */
static unsigned int ntsync_own_rt_priority(void)
{
	struct ntsync_sched_base now;
	struct ntsync_boost *rec;

	ntsync_sched_read(current, &now);
	/*
	 * The lock keeps the record alive; its fields change under
	 * ntsync_pi_mutex, so this is a snapshot: a boost applied or ended
	 * meanwhile is judged as it was when the call began.
	 */
	raw_spin_lock(&ntsync_boost_lock);
	rec = ntsync_boost_find(current);
	/* Boosted by us, and not changed since: its base is its own. */
	if (rec && rec->applied_prio != NTSYNC_NO_BOOST &&
	    ntsync_sched_is_ours(rec, &now))
		now = rec->base;
	raw_spin_unlock(&ntsync_boost_lock);

	if (now.policy != SCHED_FIFO && now.policy != SCHED_RR)
		return 0;
	return now.rt_priority;
}

/* May the caller make a task run at (policy, prio)?  prio is 1..99. */
int ntsync_pi_check_request(__u32 policy, __u32 prio)
{
	if (policy != SCHED_FIFO && policy != SCHED_RR)
		return -EINVAL;
	if (prio < 1 || prio > MAX_RT_PRIO - 1)
		return -EINVAL;
	/*
	 * Nothing above what the caller could set for itself: a priority
	 * it runs at only because ntsync boosted it cannot be passed on.
	 */
	if (prio <= ntsync_own_rt_priority())
		return 0;
	if (prio <= task_rlimit(current, RLIMIT_RTPRIO))
		return 0;
	if (capable(CAP_SYS_NICE))
		return 0;
	return -EPERM;
}

/*
 * @rec's boost ended without a restore of ours (the task changed its own
 * attributes, or is exiting): account for it as restored, so that applied
 * and restored boosts balance.
 */
static void ntsync_boost_ended(struct ntsync_boost *rec)
{
	if (rec->applied_prio == NTSYNC_NO_BOOST)
		return;
	ntsync_stat_add(NTSYNC_STAT_PI_BOOSTS_RESTORED, 1);
	trace_ntsync_pi_boost(rec->tn.task, rec->applied_prio,
			      READ_ONCE(rec->tn.task->normal_prio),
			      NTSYNC_TRACE_RESTORED);
	rec->applied_prio = NTSYNC_NO_BOOST;
	rec->applied_policy = 0;
}

/*
 * If @rec's task changed its attributes itself since ntsync last set them,
 * its change stands: it becomes the base that every boost works from and
 * that is restored in the end, and nothing is applied until a boost beats
 * it.  A change made between this check and the next sched_setattr is lost
 * (that window is a few instructions; only the scheduler's own lock could
 * close it).
 */
static void ntsync_boost_rebase(struct ntsync_boost *rec,
				struct ntsync_pi_work *w)
{
	struct ntsync_sched_base now;

	/*
	 * The caller's own change, decided but not applied yet (perhaps
	 * with a record retired meanwhile): nothing to compare.
	 */
	if (w->self_rec && w->self_rec->tn.task == rec->tn.task)
		return;
	ntsync_sched_read(rec->tn.task, &now);
	if (ntsync_sched_is_ours(rec, &now))
		return;
	/*
	 * Only nice or the slice changed (setpriority()): the policy is
	 * still ours, and so is the reset-on-fork flag that came with it.
	 */
	if (rec->applied_prio != NTSYNC_NO_BOOST &&
	    now.policy == rec->applied_policy &&
	    now.rt_priority == MAX_RT_PRIO - 1 - rec->applied_prio) {
		rec->base.nice = now.nice;
		if (!rt_or_dl_prio(rec->base.normal_prio))
			rec->base.normal_prio = NICE_TO_PRIO(now.nice);
		return;
	}
	rec->base = now;
	/* The task stands where it put itself: nothing of ours applies. */
	ntsync_boost_ended(rec);
}

/* Take @rec out of the tables; freed with its task reference by @w. */
static void ntsync_boost_retire(struct ntsync_boost *rec,
				struct ntsync_pi_work *w)
{
	lockdep_assert_held(&ntsync_pi_mutex);
	raw_spin_lock(&ntsync_boost_lock);
	rb_erase(&rec->tn.node, &ntsync_boosts);
	raw_spin_unlock(&ntsync_boost_lock);
	list_del(&rec->age_node);
	ntsync_stat_add(NTSYNC_STAT_PI_RECORDS, -1);
	list_add(&rec->work_node, &w->to_free);
}

/*
 * Retire the records of tasks that have exited, checking the
 * NTSYNC_PI_SWEEP least recently checked ones: called once per record
 * created, so records of exited threads (a slot boost that no later wait
 * of theirs ended) never pile up, and the cost per call stays constant.
 * Only slot contributions are dropped here; a mutex keeps its owner's
 * record until the mutex changes hands or dies.
 */
static void ntsync_boost_sweep(struct ntsync_pi_work *w)
{
	unsigned int n;

	for (n = 0; n < NTSYNC_PI_SWEEP; n++) {
		struct ntsync_boost *rec;
		int slot;

		rec = list_first_entry_or_null(&ntsync_boost_ages,
					       struct ntsync_boost, age_node);
		if (!rec)
			return;
		list_move_tail(&rec->age_node, &ntsync_boost_ages);
		if (!(READ_ONCE(rec->tn.task->flags) & PF_EXITING) ||
		    !list_empty(&rec->mutexes))
			continue;
		for (slot = 0; slot < NTSYNC_NR_SLOTS; slot++) {
			if (rec->slots[slot].prio == NTSYNC_NO_BOOST)
				continue;
			atomic_dec(&ntsync_slot_users[slot]);
			WRITE_ONCE(rec->slots[slot].prio, NTSYNC_NO_BOOST);
			rec->slots[slot].dev = NULL;
		}
		/* An exiting task is not changed any more: just let go. */
		ntsync_boost_ended(rec);
		ntsync_boost_retire(rec, w);
	}
}

/*
 * The record of @task, created if needed from @spare, the pool, or the slab
 * (this context may sleep); NULL if none can be had.
 */
static struct ntsync_boost *ntsync_boost_get(struct task_struct *task,
					     struct ntsync_boost *spare,
					     struct ntsync_pi_work *w)
{
	struct ntsync_boost *rec;
	int slot;

	lockdep_assert_held(&ntsync_pi_mutex);

	raw_spin_lock(&ntsync_boost_lock);
	rec = ntsync_boost_find(task);
	raw_spin_unlock(&ntsync_boost_lock);
	/* Records only come and go under ntsync_pi_mutex: still valid. */
	if (rec)
		return rec;

	rec = spare;
	if (!rec)
		rec = ntsync_pi_work_take(w);
	if (!rec)
		rec = ntsync_boost_alloc(false);
	if (!rec)
		return NULL;

	ntsync_boost_sweep(w);

	/* The record's reference on the task; dropped when it is freed. */
	get_task_struct(task);
	rec->tn.task = task;
	/*
	 * The caller's own record may have retired earlier in this section,
	 * its restore still pending (ntsync_pi_unlock()): the task still runs
	 * boosted, so its base is that record's, not what it runs at now.
	 * (Seen in a trace: a record created with a boost as its base, and
	 * the task left boosted for good once that record restored it.)
	 */
	if (w->self_rec && w->self_rec->tn.task == task)
		rec->base = w->self_rec->base;
	else
		ntsync_sched_read(task, &rec->base);
	INIT_LIST_HEAD(&rec->mutexes);
	for (slot = 0; slot < NTSYNC_NR_SLOTS; slot++) {
		rec->slots[slot].prio = NTSYNC_NO_BOOST;
		rec->slots[slot].dev = NULL;
	}
	rec->applied_prio = NTSYNC_NO_BOOST;
	rec->applied_policy = 0;

	raw_spin_lock(&ntsync_boost_lock);
	ntsync_task_tree_add(&ntsync_boosts, &rec->tn);
	raw_spin_unlock(&ntsync_boost_lock);
	list_add_tail(&rec->age_node, &ntsync_boost_ages);
	ntsync_stat_add(NTSYNC_STAT_PI_RECORDS, 1);
	return rec;
}

/* Run @task at (policy, kernel prio), or at @base for NTSYNC_NO_BOOST. */
static void ntsync_sched_apply(struct task_struct *task, __u32 policy,
			       int prio, const struct ntsync_sched_base *base)
{
	struct sched_attr attr = {
		.size = sizeof(attr),
		/* Kept across the boost so that nice survives the way back. */
		.sched_nice = base->nice,
	};
	int ret;

	/*
	 * Never a SCHED_DEADLINE task: it outranks every boost, and setting
	 * its attributes takes cpuset_lock(), a sleeping lock, which the
	 * caller's own change (ntsync_pi_unlock()) must not take.  A task
	 * that made itself DEADLINE while boosted keeps that (see
	 * ntsync_boost_update()), so this only closes a race with it.
	 */
	if (READ_ONCE(task->policy) == SCHED_DEADLINE)
		return;

	if (prio == NTSYNC_NO_BOOST) {
		attr.sched_policy = base->policy;
		attr.sched_priority = base->rt_priority;
		attr.sched_runtime = base->runtime;
		/* The task's own flag comes back with its base. */
		if (base->reset_on_fork)
			attr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
	} else {
		attr.sched_policy = policy;
		attr.sched_priority = MAX_RT_PRIO - 1 - prio;
		/*
		 * A boost is lent, not inherited: a child forked while it
		 * lasts starts at SCHED_OTHER, never at the boost.
		 */
		attr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
	}

	ret = sched_setattr_nocheck(task, &attr);
	/* A task that is exiting cannot be changed, nor needs to be. */
	if (ret)
		pr_debug("ntsync: pid %d: sched_setattr: %d\n",
			 task_pid_nr(task), ret);
}

/* Count and trace a change of @rec's applied boost to @best. */
static void ntsync_boost_account(struct ntsync_boost *rec, int best)
{
	int old = rec->applied_prio == NTSYNC_NO_BOOST ?
		  rec->base.normal_prio : rec->applied_prio;
	int new = best == NTSYNC_NO_BOOST ? rec->base.normal_prio : best;
	unsigned int reason = NTSYNC_TRACE_CHANGED;

	if (rec->applied_prio == NTSYNC_NO_BOOST) {
		reason = NTSYNC_TRACE_APPLIED;
		ntsync_stat_add(NTSYNC_STAT_PI_BOOSTS_APPLIED, 1);
	} else if (best == NTSYNC_NO_BOOST) {
		reason = NTSYNC_TRACE_RESTORED;
		ntsync_stat_add(NTSYNC_STAT_PI_BOOSTS_RESTORED, 1);
	}
	trace_ntsync_pi_boost(rec->tn.task, old, new, reason);
}

/* No record for @task: its boost to @prio is skipped (transiently). */
static void ntsync_boost_skipped(struct task_struct *task, int prio)
{
	ntsync_stat_add(NTSYNC_STAT_PI_BOOSTS_SKIPPED, 1);
	trace_ntsync_pi_boost(task, task->prio, prio, NTSYNC_TRACE_SKIPPED);
}

/*
 * Apply the best contribution of @rec to its task.  Retires the record
 * (into @w) when nothing contributes any more.  Returns true when the
 * task's priority changed, so that PI chains through it can be followed.
 */
static bool ntsync_boost_update(struct ntsync_boost *rec,
				struct ntsync_pi_work *w)
{
	int best = NTSYNC_NO_BOOST;
	__u32 policy = SCHED_FIFO;
	struct ntsync_obj *mutex;
	bool changed, in_use;
	int slot;

	lockdep_assert_held(&ntsync_pi_mutex);

	ntsync_boost_rebase(rec, w);

	list_for_each_entry(mutex, &rec->mutexes, u.mutex.pi_node)
		best = min(best, mutex->u.mutex.pi_prio);
	in_use = !list_empty(&rec->mutexes);
	for (slot = 0; slot < NTSYNC_NR_SLOTS; slot++) {
		if (rec->slots[slot].prio == NTSYNC_NO_BOOST)
			continue;
		in_use = true;
		if (rec->slots[slot].prio < best) {
			best = rec->slots[slot].prio;
			policy = rec->slots[slot].policy;
		}
	}
	/* Never "boost" a task to where it stands by itself, or lower. */
	if (best >= rec->base.normal_prio)
		best = NTSYNC_NO_BOOST;

	changed = best != rec->applied_prio ||
		  (best != NTSYNC_NO_BOOST && policy != rec->applied_policy);
	if (changed) {
		ntsync_boost_account(rec, best);
		if (rec->tn.task == current) {
			/* Our own change: applied by ntsync_pi_unlock(). */
			w->self_rec = rec;
			w->self_prio = best;
			w->self_policy = policy;
		} else {
			ntsync_sched_apply(rec->tn.task, policy, best, &rec->base);
		}
		rec->applied_prio = best;
		rec->applied_policy = policy;
	}

	if (!in_use)
		ntsync_boost_retire(rec, w);
	return changed;
}

/*
 * Release ntsync_pi_mutex.  A change of the caller's own attributes is made
 * here, last, with preemption held off until the mutex is free: a task that
 * lowers itself (an owner restored at unlock) would otherwise be preempted
 * while holding the lock that the waiter it just woke needs next.  Nothing
 * is applied after the unlock, so no other update can see a task whose
 * recorded state is not the applied one.  The record stays valid: a retired
 * one is freed only by ntsync_pi_work_finish().
 */
static void ntsync_pi_unlock(struct ntsync_pi_work *w)
{
	struct ntsync_boost *rec = w->self_rec;

	if (!rec) {
		rt_mutex_unlock(&ntsync_pi_mutex);
		return;
	}
	w->self_rec = NULL;
	preempt_disable();
	ntsync_sched_apply(current, w->self_policy, w->self_prio, &rec->base);
	rt_mutex_unlock(&ntsync_pi_mutex);
	preempt_enable();
}

/* Queue @mutex for re-evaluation, with a file reference; under pi_mutex. */
static void ntsync_pi_chain_add(struct ntsync_obj *mutex)
{
	unsigned int i;

	/* Already waiting for its re-evaluation: once is enough. */
	for (i = ntsync_pi_chain_next; i < ntsync_pi_chain_len; i++) {
		if (ntsync_pi_chain[i] == mutex)
			return;
	}
	if (ntsync_pi_chain_len == NTSYNC_PI_CHAIN_MAX) {
		/*
		 * Past the bound (a chain this long, or owners that wait for
		 * each other): this mutex keeps its last boost until its
		 * next change.  Counted and traced, on the caller.
		 */
		ntsync_boost_skipped(current, READ_ONCE(current->prio));
		return;
	}
	get_file(mutex->file);
	ntsync_pi_chain[ntsync_pi_chain_len++] = mutex;
}

static void ntsync_pi_chain_add_q(struct ntsync_q *q)
{
	__u32 i;

	for (i = 0; i < q->count; i++) {
		if (q->entries[i].obj->type == NTSYNC_TYPE_MUTEX)
			ntsync_pi_chain_add(q->entries[i].obj);
	}
}

/* Registry order: by task, then by wait (both by address). */
static bool ntsync_pi_waiter_less(struct rb_node *a, const struct rb_node *b)
{
	const struct ntsync_q *qa = rb_entry(a, struct ntsync_q, pi_node);
	const struct ntsync_q *qb = rb_entry(b, struct ntsync_q, pi_node);

	if (qa->task != qb->task)
		return (unsigned long)qa->task < (unsigned long)qb->task;
	return (unsigned long)qa < (unsigned long)qb;
}

/*
 * The first registered wait of @task after @after (NULL: the first one),
 * marked followed: its end then waits for ntsync_pi_mutex, which the
 * caller holds, so it stays valid until the caller lets the mutex go.
 * O(log n) under the registry lock.
 */
static struct ntsync_q *ntsync_pi_follow_next(struct task_struct *task,
					      struct ntsync_q *after)
{
	struct ntsync_q *found = NULL;
	struct rb_node *node;

	lockdep_assert_held(&ntsync_pi_mutex);
	raw_spin_lock(&ntsync_pi_waiters_lock);
	node = ntsync_pi_waiters.rb_node;
	while (node) {
		struct ntsync_q *q = rb_entry(node, struct ntsync_q, pi_node);

		if ((unsigned long)q->task < (unsigned long)task ||
		    (q->task == task && (unsigned long)q <= (unsigned long)after)) {
			node = node->rb_right;
		} else {
			if (q->task == task)
				found = q;
			node = node->rb_left;
		}
	}
	if (found)
		found->pi_followed = true;
	raw_spin_unlock(&ntsync_pi_waiters_lock);
	return found;
}

/* @task's priority changed: its blocked wait's mutexes must follow. */
static void ntsync_pi_chain_add_waits_of(struct task_struct *task)
{
	struct ntsync_q *q = NULL;

	while ((q = ntsync_pi_follow_next(task, q))) {
		/* Its queues' order follows its new priority at once. */
		ntsync_requeue_q(q);
		ntsync_pi_chain_add_q(q);
	}
}

/*
 * Best priority among the waiters still waiting for @mutex: the first of
 * each queue, O(log n).  Under the lock that owns @mutex (all_waiters is
 * empty when that is obj->lock).  ntsync_wq_first() checks their keys; see
 * ntsync_wait.c for which priority changes a queue has seen when.
 */
VISIBLE_IF_KUNIT int ntsync_pi_best_waiter(struct ntsync_obj *mutex)
{
	struct ntsync_q_entry *any = ntsync_wq_first(&mutex->any_waiters);
	struct ntsync_q_entry *each = ntsync_wq_first(&mutex->all_waiters);
	int best = NTSYNC_NO_BOOST;

	if (any)
		best = READ_ONCE(any->q->task->prio);
	if (each)
		best = min(best, READ_ONCE(each->q->task->prio));
	return best;
}

/* Does a real-time waiter wait for @mutex?  Under the lock that owns it. */
static bool ntsync_pi_rt_waiter(struct ntsync_obj *mutex)
{
	return READ_ONCE(ntsync_pi_enabled) &&
	       ntsync_pi_best_waiter(mutex) < MAX_RT_PRIO;
}

/*
 * @mutex gives no boost any more: disarm it, unless a real-time waiter
 * queued meanwhile (its own re-evaluation, after ours, arms it again).
 */
static void ntsync_pi_disarm(struct ntsync_obj *mutex)
{
	struct ntsync_device *dev = mutex->dev;
	bool all;

	all = ntsync_lock_obj(dev, mutex);
	if (!ntsync_pi_rt_waiter(mutex))
		mutex->u.mutex.pi_armed = false;
	ntsync_unlock_obj(dev, mutex, all);
}

/* Bring the boost that @mutex gives its owner up to date. */
static void ntsync_pi_reevaluate(struct ntsync_obj *mutex,
				 struct ntsync_pi_work *w)
{
	struct ntsync_boost *old = mutex->u.mutex.pi_target;
	struct ntsync_device *dev = mutex->dev;
	struct task_struct *owner;
	bool all, was_armed;
	int best;

	all = ntsync_lock_obj(dev, mutex);
	owner = mutex->u.mutex.owner_task;
	/* Our own reference: the owner may change once the lock drops. */
	if (owner)
		get_task_struct(owner);
	best = ntsync_pi_best_waiter(mutex);
	if (!READ_ONCE(ntsync_pi_enabled) || best >= MAX_RT_PRIO)
		best = NTSYNC_NO_BOOST;
	else
		best = max(best, 0);	/* deadline waiters: the top RT level */
	/*
	 * Armed where the queues are read, before any boost is given, and
	 * disarmed only once the boost is gone (below): whoever changes the
	 * mutex while its owner may hold a boost from it sees it armed, and
	 * comes here too, after us.
	 */
	was_armed = mutex->u.mutex.pi_armed;
	if (best != NTSYNC_NO_BOOST)
		mutex->u.mutex.pi_armed = true;
	ntsync_unlock_obj(dev, mutex, all);

	if (old && (!owner || old->tn.task != owner || best == NTSYNC_NO_BOOST)) {
		list_del(&mutex->u.mutex.pi_node);
		mutex->u.mutex.pi_target = NULL;
		if (ntsync_boost_update(old, w))
			ntsync_pi_chain_add_waits_of(old->tn.task);
	}

	if (owner && best != NTSYNC_NO_BOOST) {
		struct ntsync_boost *rec = mutex->u.mutex.pi_target;

		if (!rec) {
			rec = ntsync_boost_get(owner, NULL, w);
			if (rec) {
				list_add(&mutex->u.mutex.pi_node, &rec->mutexes);
				mutex->u.mutex.pi_target = rec;
			} else {
				ntsync_boost_skipped(owner, best);
			}
		}
		if (rec) {
			mutex->u.mutex.pi_prio = best;
			if (ntsync_boost_update(rec, w))
				ntsync_pi_chain_add_waits_of(owner);
		}
	}

	if (owner)
		put_task_struct(owner);
	if (was_armed && best == NTSYNC_NO_BOOST)
		ntsync_pi_disarm(mutex);
}

/*
 * Re-evaluate the queued mutexes, and those that changes propagate to, up
 * to NTSYNC_PI_CHAIN_MAX of them: iterative, bounded, no recursion.
 */
static void ntsync_pi_run_chain(struct ntsync_pi_work *w)
{
	unsigned int i;

	lockdep_assert_held(&ntsync_pi_mutex);

	for (i = 0; i < ntsync_pi_chain_len; i++) {
		ntsync_pi_chain_next = i + 1;
		ntsync_pi_reevaluate(ntsync_pi_chain[i], w);
	}
	ntsync_stat_add(NTSYNC_STAT_PI_REEVALUATIONS, ntsync_pi_chain_len);
	/* In task context fput() defers the final release: safe here. */
	for (i = 0; i < ntsync_pi_chain_len; i++)
		fput(ntsync_pi_chain[i]->file);
	ntsync_pi_chain_len = 0;
	ntsync_pi_chain_next = 0;
}

/* The owner or the waiters of @mutex changed.  No lock held. */
void ntsync_pi_mutex_changed(struct ntsync_obj *mutex,
			     struct ntsync_pi_work *w)
{
	rt_mutex_lock(&ntsync_pi_mutex);
	ntsync_pi_chain_add(mutex);
	ntsync_pi_run_chain(w);
	ntsync_pi_unlock(w);
}

/*
 * Must a change of @mutex (new owner, a waiter gone or woken) be followed
 * by PI work?  Only if it is armed (its owner may hold a boost from it, or
 * a re-evaluation that may give or take one is under way) or a real-time
 * waiter waits now.  Under the lock that owns @mutex, where
 * ntsync_pi_reevaluate() reads the same state: a re-evaluation under way
 * either armed it already or reads the queues after the caller's change.
 * (Seen in stress_rt when a mutex was disarmed before its boost was
 * removed: an unlock skipped the PI mutex and returned while the owner
 * still ran boosted, for the moment the removal took.)
 */
bool ntsync_pi_mutex_needs_work(struct ntsync_obj *mutex)
{
	ntsync_assert_owned(mutex);
	return mutex->u.mutex.pi_armed || ntsync_pi_rt_waiter(mutex);
}

/* @q was queued and is about to sleep: boost the owners it waits for. */
void ntsync_pi_wait_queued(struct ntsync_q *q, struct ntsync_pi_work *w)
{
	/*
	 * Satisfied already (claimed while being queued): it will not sleep,
	 * so no boost of ours has a wait to follow.
	 */
	if (!q->has_mutex || !READ_ONCE(ntsync_pi_enabled) ||
	    atomic_read(&q->signaled) != -1)
		return;
	raw_spin_lock(&ntsync_pi_waiters_lock);
	rb_add(&q->pi_node, &ntsync_pi_waiters, ntsync_pi_waiter_less);
	raw_spin_unlock(&ntsync_pi_waiters_lock);
	q->pi_registered = true;
	/*
	 * Read after registering: a boost given to us from now on finds
	 * this wait and follows it; one given before shows here.
	 */
	if (!rt_or_dl_prio(READ_ONCE(current->prio)))
		return;
	rt_mutex_lock(&ntsync_pi_mutex);
	ntsync_pi_chain_add_q(q);
	ntsync_pi_run_chain(w);
	ntsync_pi_unlock(w);
}

/*
 * @q left every queue (ntsync_pi_note_leave() saw each of its objects):
 * its owners lose what it gave them.  Nothing to do unless it left an
 * armed mutex or a chain walk is using it.
 */
void ntsync_pi_wait_done(struct ntsync_q *q, struct ntsync_pi_work *w)
{
	bool followed = false;

	/*
	 * A wait claimed before it registered may still have been read by a
	 * re-evaluation of an armed mutex while it was queued there.
	 */
	if (!q->pi_registered && !q->pi_left_armed)
		return;
	if (q->pi_registered) {
		raw_spin_lock(&ntsync_pi_waiters_lock);
		rb_erase(&q->pi_node, &ntsync_pi_waiters);
		RB_CLEAR_NODE(&q->pi_node);
		followed = q->pi_followed;
		raw_spin_unlock(&ntsync_pi_waiters_lock);
		q->pi_registered = false;
	}
	if (!followed && !q->pi_left_armed)
		return;
	/* Also waits for a chain walk that may still use @q. */
	rt_mutex_lock(&ntsync_pi_mutex);
	ntsync_pi_chain_add_q(q);
	ntsync_pi_run_chain(w);
	ntsync_pi_unlock(w);
}

/* The mutex object is being freed: withdraw its contribution. */
void ntsync_pi_mutex_release(struct ntsync_obj *mutex)
{
	struct ntsync_pi_work w;

	/* Nobody else holds the dying object: a plain read is stable. */
	if (!mutex->u.mutex.pi_target)
		return;
	ntsync_pi_work_init(&w);
	rt_mutex_lock(&ntsync_pi_mutex);
	if (mutex->u.mutex.pi_target) {
		struct ntsync_boost *old = mutex->u.mutex.pi_target;

		list_del(&mutex->u.mutex.pi_node);
		mutex->u.mutex.pi_target = NULL;
		ntsync_boost_update(old, &w);
	}
	ntsync_pi_unlock(&w);
	ntsync_pi_work_finish(&w);
}

/* Set or clear (NTSYNC_NO_BOOST) one slot of @rec; it may retire. */
static void ntsync_pi_slot_set(struct ntsync_boost *rec,
			       enum ntsync_boost_slot slot, int prio,
			       __u32 policy, struct ntsync_device *dev,
			       struct ntsync_pi_work *w)
{
	bool was_used = rec->slots[slot].prio != NTSYNC_NO_BOOST;
	bool used = prio != NTSYNC_NO_BOOST;

	lockdep_assert_held(&ntsync_pi_mutex);
	if (used && !was_used)
		atomic_inc(&ntsync_slot_users[slot]);
	else if (!used && was_used)
		atomic_dec(&ntsync_slot_users[slot]);
	/* Read without the mutex by ntsync_pi_slot_drain()'s quick check. */
	WRITE_ONCE(rec->slots[slot].prio, prio);
	rec->slots[slot].policy = policy;
	rec->slots[slot].dev = used ? dev : NULL;
	ntsync_boost_update(rec, w);
}

/*
 * Set @task's contribution in @slot under ntsync_pi_mutex, unless @still
 * (if given) says that what it was for has ended, or @raise_only and the
 * slot already holds a contribution no worse.  @spare, if not NULL, is a
 * record to use should the task have none; it is consumed either way.
 */
static void ntsync_pi_slot_change(struct task_struct *task,
				  enum ntsync_boost_slot slot, int prio,
				  __u32 policy, struct ntsync_device *dev,
				  struct ntsync_boost *spare,
				  struct ntsync_pi_work *w, bool raise_only,
				  bool (*still)(void *arg), void *arg)
{
	struct ntsync_boost *rec = NULL;

	rt_mutex_lock(&ntsync_pi_mutex);
	if (still && !still(arg)) {
		if (spare)
			list_add(&spare->work_node, &w->to_free);
		ntsync_pi_unlock(w);
		return;
	}
	if (prio == NTSYNC_NO_BOOST || raise_only) {
		raw_spin_lock(&ntsync_boost_lock);
		rec = ntsync_boost_find(task);
		raw_spin_unlock(&ntsync_boost_lock);
		/* Lower is better: a slot at prio or better stays as it is. */
		if (rec && raise_only && rec->slots[slot].prio <= prio) {
			if (spare)
				list_add(&spare->work_node, &w->to_free);
			ntsync_pi_unlock(w);
			return;
		}
	}
	/* Records only come and go under ntsync_pi_mutex: one found stays. */
	if (prio != NTSYNC_NO_BOOST && !rec)
		rec = ntsync_boost_get(task, spare, w);
	if (spare && rec != spare)
		list_add(&spare->work_node, &w->to_free);
	if (rec)
		ntsync_pi_slot_set(rec, slot, prio, policy, dev, w);
	else if (prio != NTSYNC_NO_BOOST)
		ntsync_boost_skipped(task, prio);
	ntsync_pi_unlock(w);
}

/*
 * Give @task the contribution (policy, kernel prio) in @slot, replacing
 * what the slot held; NTSYNC_NO_BOOST clears it.  @spare, if not NULL, is
 * a record to use should the task have none; it is consumed either way.
 * No lock held.
 */
void ntsync_pi_slot_apply(struct task_struct *task, enum ntsync_boost_slot slot,
			  int prio, __u32 policy, struct ntsync_device *dev,
			  struct ntsync_boost *spare, struct ntsync_pi_work *w)
{
	ntsync_pi_slot_change(task, slot, prio, policy, dev, spare, w, false,
			      NULL, NULL);
}

/*
 * Raise @task's contribution in @slot to (policy, kernel prio @prio), a
 * boost decided before ntsync_pi_mutex was taken: made only if @still(@arg)
 * holds when checked under the mutex (what it was for has not ended; the
 * end's own update takes the mutex too, so it cannot slip between the check
 * and the boost), and only if the slot holds nothing as good.  A late raise
 * never lowers a contribution set meanwhile (a channel receiver that took a
 * better request after the one this was for keeps that request's priority).
 * No lock held.
 */
void ntsync_pi_slot_raise_if(struct task_struct *task,
			     enum ntsync_boost_slot slot, int prio,
			     __u32 policy, struct ntsync_device *dev,
			     struct ntsync_pi_work *w,
			     bool (*still)(void *arg), void *arg)
{
	ntsync_pi_slot_change(task, slot, prio, policy, dev, NULL, w, true,
			      still, arg);
}

/*
 * End the caller's contribution in @slot (start of its next wait, its
 * REPLY...).  Costs one atomic read when no task uses the slot.
 */
void ntsync_pi_slot_drain(enum ntsync_boost_slot slot,
			  struct ntsync_pi_work *w)
{
	struct ntsync_boost *rec;
	bool used;

	if (!atomic_read(&ntsync_slot_users[slot]))
		return;

	raw_spin_lock(&ntsync_boost_lock);
	rec = ntsync_boost_find(current);
	used = rec && READ_ONCE(rec->slots[slot].prio) != NTSYNC_NO_BOOST;
	raw_spin_unlock(&ntsync_boost_lock);
	if (used)
		ntsync_pi_slot_apply(current, slot, NTSYNC_NO_BOOST, 0, NULL,
				     NULL, w);
}

/*
 * End of a wait: apply the EVENT_SET_PI boost its events handed over, and
 * let go of the records of those it did not keep.
 */
void ntsync_pi_consume_event(struct ntsync_device *dev, struct ntsync_q *q,
			     struct ntsync_pi_work *w)
{
	struct ntsync_boost *staged = q->pi_rec;

	list_splice_init(&q->pi_discard, &w->to_free);
	if (!staged)
		return;
	q->pi_rec = NULL;
	ntsync_pi_slot_apply(current, NTSYNC_SLOT_EVENT, q->pi_prio,
			     q->pi_policy, dev, staged, w);
}

/* A device is closing: the slot boosts that came from it end now. */
void ntsync_pi_device_release(struct ntsync_device *dev)
{
	struct rb_node *node, *next;
	struct ntsync_pi_work w;
	int slot;

	ntsync_pi_work_init(&w);
	rt_mutex_lock(&ntsync_pi_mutex);
	/*
	 * Insertions and removals need this mutex, so the tree holds still
	 * but for @rec retiring itself below: take its successor first.
	 */
	for (node = rb_first(&ntsync_boosts); node; node = next) {
		struct ntsync_boost *rec = rb_entry(node, struct ntsync_boost,
						    tn.node);
		bool hit = false;

		next = rb_next(node);
		for (slot = 0; slot < NTSYNC_NR_SLOTS; slot++) {
			if (rec->slots[slot].dev != dev)
				continue;
			atomic_dec(&ntsync_slot_users[slot]);
			WRITE_ONCE(rec->slots[slot].prio, NTSYNC_NO_BOOST);
			rec->slots[slot].dev = NULL;
			hit = true;
		}
		/* Once per record: it may retire here. */
		if (hit)
			ntsync_boost_update(rec, &w);
	}
	ntsync_pi_unlock(&w);
	ntsync_pi_work_finish(&w);
}

/* Every object and device is gone by now, and with them every record. */
void ntsync_pi_exit(void)
{
	WARN_ON(!RB_EMPTY_ROOT(&ntsync_boosts));
	WARN_ON(!list_empty(&ntsync_boost_ages));
	WARN_ON(!RB_EMPTY_ROOT(&ntsync_pi_waiters));
}
