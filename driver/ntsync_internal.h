/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ntsync-nspa: structures shared by the driver's files.
 *
 * Locking, from outermost to innermost:
 *
 *   dev->wait_all_lock (rt_mutex, sleeps, passes on priority)
 *     Owns every object that takes part in a wait-all: its state, its
 *     any_waiters and all_waiters queues.  Held across the walks over up to
 *     NTSYNC_MAX_WAIT_COUNT objects that a wait-all needs, which is why it
 *     is a sleeping lock and not a spinning one.
 *
 *   obj->lock (raw_spinlock_t, spins even on PREEMPT_RT)
 *     Owns the state and the any_waiters queue of an object that has no
 *     wait-all waiter (obj->all_hint == 0).  Held only for short pointer and
 *     counter updates and O(log n) queue operations (the bounds are in
 *     ntsync_wait.c): never across an allocation, a copy to or from user
 *     space, or anything else that may sleep.
 *
 * obj->all_hint counts the wait-all waiters that are queued on the object or
 * are setting up on it.  It changes only with both locks held, so it is
 * stable to a holder of either.  ntsync_lock_obj() reads it to pick the lock
 * that owns the object; see ntsync_wait.c.
 *
 * Priority inheritance (ntsync_pi.c) works outside both: it runs after an
 * ioctl has dropped them, under its own ntsync_pi_mutex (an rt_mutex: it
 * passes priority on even on a non-RT kernel), because changing a task's
 * scheduling attributes must not happen under a raw spinlock; it is taken
 * only where a boost can result (see ntsync_pi.c).  Lock order:
 * ntsync_pi_mutex, then wait_all_lock, then obj->lock, then either
 * ntsync_boost_lock (the table of boosted tasks) or ntsync_pi_waiters_lock
 * (the registry of blocked waits), raw spinlocks both, never nested.
 *
 * Lifetimes: an object lives as long as its file.  Every wait holds a file
 * reference on each object it waits on, so closing an object's last fd while
 * a wait uses it does not free it.  Every object holds a reference on its
 * device's file, so the device outlives its objects.
 */
#ifndef NTSYNC_INTERNAL_H
#define NTSYNC_INTERNAL_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/rbtree.h>
#include <linux/rtmutex.h>
#include <linux/sched/prio.h>
#include <linux/spinlock.h>
#include <linux/types.h>
/* Ours, not the older copy in the kernel headers being built against. */
#include "../include/uapi/linux/ntsync.h"

struct file;
struct task_struct;
struct ntsync_boost;

/* Priority-carrying sources, one contribution each per task (ntsync_pi.c). */
enum ntsync_boost_slot {
	NTSYNC_SLOT_EVENT,	/* EVENT_SET_PI consumed by the task's last wait */
	NTSYNC_SLOT_CHANNEL,	/* channel request the task is serving */
	NTSYNC_NR_SLOTS,
};

/* A kernel priority (task->prio scale) meaning "no boost". */
#define NTSYNC_NO_BOOST		MAX_PRIO

enum ntsync_type {
	NTSYNC_TYPE_SEM,
	NTSYNC_TYPE_MUTEX,
	NTSYNC_TYPE_EVENT,
	NTSYNC_TYPE_CHANNEL,
};

/*
 * Thread tokens a channel holds at most: REGISTER_THREAD of one more tid
 * fails with ENOSPC (replacing the token of a registered tid still works).
 */
#define NTSYNC_CHANNEL_MAX_REGS		65536
/*
 * A pick of a parked receiver re-reads the priorities of the first this
 * many in the order, then of the first up to this many more times while it
 * changed: at most twice this many requeues.  See ntsync_best_receiver().
 */
#define NTSYNC_CHANNEL_RECHECK		8

/*
 * Waiters a wake pass under wait_all_lock wakes once that lock is dropped
 * (ntsync_unlock_obj()); any more are woken at once.
 */
#define NTSYNC_WAKE_LATER_MAX	8

/* One per open() of /dev/ntsync: a namespace of objects. */
struct ntsync_device {
	/* See the locking rules above. */
	struct rt_mutex wait_all_lock;
	/*
	 * Tasks claimed by a wake pass under wait_all_lock, each with a
	 * reference, woken when it is dropped: a woken waiter's first step
	 * is to take wait_all_lock, so woken under it, it would block on it
	 * at once.  Under wait_all_lock.
	 */
	struct task_struct *wake_later[NTSYNC_WAKE_LATER_MAX];
	unsigned int nr_wake_later;
	/* The device's own file; objects pin it. */
	struct file *file;
	/* Enqueue order of waits: FIFO among waiters of equal priority. */
	atomic64_t wait_seq;
};

/*
 * A queue of waiters on one object (struct ntsync_q_entry.node), ordered by
 * (prio, q->seq, index); see ntsync_wait.c.  Owned by the lock that owns the
 * object's state (all_waiters: by wait_all_lock).
 */
struct ntsync_wq {
	struct rb_root_cached root;
	/*
	 * The same entries, newest first (struct ntsync_q_entry.member): what
	 * the bounded re-check walks, one pointer per step; a requeue leaves
	 * it alone.  An hlist: no CONFIG_DEBUG_LIST call per add and delete.
	 */
	struct hlist_head members;
	/* Where the next bounded re-check starts; NULL: at the first entry. */
	struct hlist_node *sweep;
	/* Entries queued: who re-checks them, see ntsync_wq_pass_start(). */
	unsigned int count;
	/*
	 * A pass over this long queue has woken (or was about to wake) a
	 * waiter since its last re-check: the next waiter to queue here makes
	 * one, else the next pass, before it chooses.
	 */
	bool recheck_owed;
};

/*
 * Entries whose key one re-check reads (ntsync_wq_sweep()), from a cursor
 * that moves on by as many each time and wraps: the whole queue while it is
 * no longer than this, else a window that sweeps it.  Each check reads two
 * cold lines in a long queue (the wait, its task), so the re-check a wake
 * from a long queue owes is made by the next waiter to queue there, before
 * it sleeps, and by the waker only if nobody queued since
 * (ntsync_wq_pass_start()); 8 covers the few waiters an object usually
 * has, whose order every wake pass then keeps exact.
 */
#define NTSYNC_WQ_SWEEP		8

static inline void ntsync_wq_init(struct ntsync_wq *wq)
{
	wq->root = RB_ROOT_CACHED;
	INIT_HLIST_HEAD(&wq->members);
	wq->sweep = NULL;
	wq->count = 0;
	wq->recheck_owed = false;
}

static inline bool ntsync_wq_empty(const struct ntsync_wq *wq)
{
	return RB_EMPTY_ROOT(&wq->root.rb_root);
}

struct ntsync_obj {
	/* See the locking rules above. */
	raw_spinlock_t lock;
	/* Wait-all waiters queued or setting up; changes under both locks. */
	unsigned int all_hint;

	enum ntsync_type type;
	/* The object's anon-inode file; the object is its private_data. */
	struct file *file;
	struct ntsync_device *dev;

	/* State; owned by the lock that ntsync_lock_obj() picks. */
	union {
		struct {
			__u32 count;
			__u32 max;
		} sem;
		struct {
			__u32 count;
			__u32 owner;
			bool ownerdead;
			/*
			 * The task that owns it, with a reference: the task
			 * that acquired it by a wait, or for a mutex created
			 * owned, the first that unlocks or waits as owner.
			 */
			struct task_struct *owner_task;
			/* Under ntsync_pi_mutex: the boost given to the owner. */
			struct ntsync_boost *pi_target;
			int pi_prio;
			struct list_head pi_node;
			/*
			 * Under the lock that owns the object: the last PI
			 * re-evaluation saw a real-time waiter, so the owner
			 * may be boosted (ntsync_pi_mutex_needs_work()).
			 */
			bool pi_armed;
		} mutex;
		struct {
			bool manual;
			bool signaled;
			/*
			 * EVENT_SET_PI staged for the waiter that consumes
			 * this signal: the record it will boost itself with.
			 */
			struct ntsync_boost *pi_rec;
			int pi_prio;
			__u32 pi_policy;
		} event;
		/* See ntsync_channel.c.  A channel is always its own lock. */
		struct {
			/* PENDING entries by (priority desc, arrival). */
			struct rb_root_cached pending;
			/* DISPATCHED entries by id, for REPLY to find. */
			struct rb_root dispatched;
			/* Parked receivers by (kernel prio, park order). */
			struct rb_root_cached receivers;
			/* ntsync_thread_reg by tid; nr_regs of them. */
			struct rb_root regs;
			__u64 next_id;
			__u64 next_seq;
			__u64 next_park;
			/* PENDING entries only; at most max_depth. */
			__u32 depth;
			__u32 max_depth;
			/* At most NTSYNC_CHANNEL_MAX_REGS. */
			__u32 nr_regs;
		} channel;
	} u;

	/* Wait-any waiters (and alerts); see ntsync_wait.c for the order. */
	struct ntsync_wq any_waiters;
	/* Wait-all waiters; under wait_all_lock. */
	struct ntsync_wq all_waiters;
};

/*
 * A per-task record's place in a tree keyed by the task's address (the
 * boost records of ntsync_pi.c): O(log n) look-ups under the tree's lock.
 */
struct ntsync_task_node {
	struct rb_node node;
	/* The key; whoever owns the node keeps the task referenced. */
	struct task_struct *task;
};

struct ntsync_q_entry {
	/*
	 * In obj->any_waiters or obj->all_waiters, under the lock that owns
	 * that queue; cleared (RB_EMPTY_NODE) once taken out of it.
	 */
	struct rb_node node;
	/* In the same queue's members while in its tree. */
	struct hlist_node member;
	struct ntsync_q *q;
	struct ntsync_obj *obj;
	/* Position in the caller's array; count for the alert event. */
	__u32 index;
	/* Sort key: the waiter's task->prio when last (re)queued. */
	int prio;
};

/*
 * A file a wait watches: an AGGREGATE_WAIT fd source, or the uring_fd of a
 * WAIT_ANY/WAIT_ALL.  See ntsync_aggregate.c.
 */
struct ntsync_q_fd {
	/* Referenced while the wait lasts. */
	struct file *file;
	/* What fires it; errors and hangups always do. */
	__poll_t events;
	/* What it fired with. */
	__poll_t revents;
	__u32 index;
	struct ntsync_q *q;
	poll_table pt;
	/* ntsync_poll_entry registrations on the file's wait queues. */
	struct list_head polls;
	/* A registration could not be allocated. */
	bool failed;
};

/* Where a wait queue's memory comes from, so that it goes back there. */
enum ntsync_q_home {
	NTSYNC_Q_ON_STACK,	/* the waiting ioctl's frame (small waits) */
	NTSYNC_Q_FROM_CACHE,	/* ntsync_wait_q_cache */
	NTSYNC_Q_FROM_KMALLOC,	/* larger than the cache's objects */
};

/* One in-flight WAIT_ANY, WAIT_ALL or AGGREGATE_WAIT; owned by its task. */
struct ntsync_q {
	struct task_struct *task;
	__u32 owner;
	/* Enqueue order; breaks ties between waiters of equal priority. */
	u64 seq;

	/*
	 * -1 while nobody has satisfied the wait; a waker claims the wait by
	 * swapping in the index it satisfied (cmpxchg), consumes the object(s)
	 * on the waiter's behalf and wakes the task.  Claimed at most once.
	 */
	atomic_t signaled;

	bool all;
	/* Set by the waker that handed over an abandoned mutex. */
	bool ownerdead;
	/* A mutex is among the objects: the wait takes part in PI. */
	bool has_mutex;
	/* A channel is among the sources (AGGREGATE_WAIT only). */
	bool has_channel;
	/*
	 * In the PI registry of blocked waits (ntsync_pi.c), by task: a
	 * task boosted while it waits is followed to the mutexes it waits
	 * for.  pi_node and pi_followed are under ntsync_pi_waiters_lock.
	 */
	bool pi_registered;
	struct rb_node pi_node;
	/* A chain walk found this wait: its end must sync with it. */
	bool pi_followed;
	/* Left a mutex whose owner may be boosted (pi_armed): PI work. */
	bool pi_left_armed;

	/*
	 * EVENT_SET_PI boosts handed over by the events this wait consumed,
	 * filled in by the waker under the event's lock: the best one, and
	 * the records of the others, to be freed.
	 */
	struct ntsync_boost *pi_rec;
	int pi_prio;
	__u32 pi_policy;
	struct list_head pi_discard;

	/* Where the queue's memory lives; see ntsync_cache.c. */
	enum ntsync_q_home home;
	/* The uring_fd: objects signaled at the same time take precedence. */
	bool objects_first;

	/*
	 * The running owner of the one mutex this wait queued on, with a
	 * reference: the waiter spins while it runs (ntsync_spin_on_owner()).
	 */
	struct task_struct *spin_owner;
	/*
	 * Set under the mutex's lock by the pass that handed it to the
	 * waiter just ahead of this one: wake up and spin on the new owner
	 * (ntsync_wake_ahead()).  Cleared by the waiter.
	 */
	bool spin_ahead;

	/* Watched files (not objects); a wake of one sets fd_woken. */
	struct ntsync_q_fd *fds;
	__u32 nr_fds;
	bool fd_woken;

	/* Number of objects, not counting the alert event. */
	__u32 count;
	/* Entries holding an object reference: count, plus one for an alert. */
	__u32 total_count;
	struct ntsync_q_entry entries[];
};

/*
 * Per-ioctl PI work (§6 of the design): records allocated before any lock
 * is taken, and records and task references retired while locks were held,
 * all released by ntsync_pi_work_finish() once every lock is dropped.  No
 * slab call ever happens under a raw spinlock.
 */
struct ntsync_pi_work {
	struct list_head pool;
	struct list_head to_free;
	/* Former mutex owner whose reference is dropped at finish. */
	struct task_struct *put_task;
	/*
	 * A change of the caller's own attributes, applied last, just before
	 * ntsync_pi_mutex is released (see ntsync_pi_unlock()).
	 */
	struct ntsync_boost *self_rec;
	int self_prio;
	__u32 self_policy;
};

/* Wait queues up to this many entries come from ntsync_wait_q_cache. */
#define NTSYNC_Q_CACHE_ENTRIES	16
/*
 * WAIT_ANY and WAIT_ALL queues up to this many entries (alert included)
 * live on the ioctl's stack: no slab call at all, which on PREEMPT_RT,
 * where SLUB has no lockless fast path, is most of an uncontended wait.
 */
#define NTSYNC_Q_STACK_ENTRIES	4

/* Counters, shown in /sys/class/misc/ntsync/stats/ (ntsync_stats.c). */
enum ntsync_stat {
	NTSYNC_STAT_OBJECTS_SEM,	/* live objects, per type */
	NTSYNC_STAT_OBJECTS_MUTEX,
	NTSYNC_STAT_OBJECTS_EVENT,
	NTSYNC_STAT_OBJECTS_CHANNEL,
	NTSYNC_STAT_WAITS,		/* WAIT_ANY, WAIT_ALL, AGGREGATE_WAIT */
	NTSYNC_STAT_WAKES,		/* waits satisfied by a waker */
	NTSYNC_STAT_SPINS,		/* waits that spun on a running owner */
	NTSYNC_STAT_SPIN_CLAIMS,	/* ... and were handed the mutex meanwhile */
	NTSYNC_STAT_WAKES_AHEAD,	/* sleeping waiters woken to spin */
	NTSYNC_STAT_PI_BOOSTS_APPLIED,	/* a task went from its base to a boost */
	NTSYNC_STAT_PI_BOOSTS_RESTORED,	/* ... and back to its base */
	NTSYNC_STAT_PI_BOOSTS_SKIPPED,	/* no record could be had */
	NTSYNC_STAT_PI_RECORDS,		/* live: tasks with a boost record */
	NTSYNC_STAT_PI_REEVALUATIONS,	/* mutexes re-evaluated under the PI mutex */
	NTSYNC_STAT_EVENT_PI_STAGED,
	NTSYNC_STAT_EVENT_PI_CONSUMED,
	NTSYNC_STAT_EVENT_PI_CANCELLED,	/* reset, pulse, replaced, event freed */
	NTSYNC_STAT_CHANNEL_SENDS,	/* requests queued */
	NTSYNC_STAT_CHANNEL_REPLIES,
	NTSYNC_STAT_CHANNEL_CANCELLED,	/* senders interrupted */
	NTSYNC_STAT_CHANNEL_PENDING,	/* live: waiting for a receiver */
	NTSYNC_STAT_CHANNEL_DISPATCHED,	/* live: received, not replied */
	NTSYNC_STAT_CHANNEL_REGISTRATIONS, /* live tid -> token entries */
	NTSYNC_NR_STATS,
};

struct ntsync_stats {
	u64 count[NTSYNC_NR_STATS];
};

DECLARE_PER_CPU(struct ntsync_stats, ntsync_stats);
extern const struct attribute_group *ntsync_attr_groups[];

/* Safe in any context: a per-CPU add. */
static inline void ntsync_stat_add(enum ntsync_stat stat, int delta)
{
	this_cpu_add(ntsync_stats.count[stat], delta);
}

/* Trace actions and kinds (ntsync_trace.h prints their names). */
enum {
	NTSYNC_TRACE_ANY, NTSYNC_TRACE_ALL, NTSYNC_TRACE_AGGREGATE,
};

enum {
	NTSYNC_TRACE_APPLIED, NTSYNC_TRACE_CHANGED, NTSYNC_TRACE_RESTORED,
	NTSYNC_TRACE_SKIPPED,
};

enum {
	NTSYNC_TRACE_STAGED, NTSYNC_TRACE_CONSUMED, NTSYNC_TRACE_CANCELLED,
};

enum {
	NTSYNC_TRACE_SEND, NTSYNC_TRACE_RECV, NTSYNC_TRACE_REPLY,
	NTSYNC_TRACE_CANCEL,
};

/* Debug-only delay points (ntsync_debug.c); no-ops in normal builds. */
enum ntsync_delay_point {
	NTSYNC_DELAY_SERVED,	/* SEND_PI: a parked receiver was just served */
	NTSYNC_DELAY_LEFT,	/* RECV: the receiver left its dead record */
	NTSYNC_DELAY_QUEUED,	/* WAIT_ANY: queued, not yet registered for PI */
	NTSYNC_DELAY_PREBOOST,	/* SEND_PI: before it boosts its receiver */
	NTSYNC_DELAY_WOKEN,	/* WAIT_ANY: satisfied, not yet unqueued */
	NTSYNC_NR_DELAYS,
};

#ifdef NTSYNC_DEBUG
void ntsync_debug_delay(enum ntsync_delay_point point);
void ntsync_debug_sleep_once(enum ntsync_delay_point point);
void ntsync_debug_poison(void *mem, size_t size);
bool ntsync_debug_spin_stubborn(void);
#else
static inline void ntsync_debug_delay(enum ntsync_delay_point point) { }
static inline void ntsync_debug_sleep_once(enum ntsync_delay_point point) { }
static inline void ntsync_debug_poison(void *mem, size_t size) { }
static inline bool ntsync_debug_spin_stubborn(void) { return false; }
#endif

/* ntsync_cache.c */
void ntsync_kfree(const void *mem);
int ntsync_caches_init(void);
void ntsync_caches_exit(void);
struct ntsync_q *ntsync_alloc_q(__u32 total_count);
void ntsync_free_q(struct ntsync_q *q);
void *ntsync_alloc_boost_mem(bool staged);
void ntsync_free_boost_mem(void *mem, bool staged);
void *ntsync_alloc_channel_entry(void);
void ntsync_free_channel_entry(void *entry);

/* ntsync_main.c */
struct ntsync_obj *ntsync_alloc_obj(struct ntsync_device *dev,
				    enum ntsync_type type);
void ntsync_free_obj(struct ntsync_obj *obj);
int ntsync_install_obj_fd(struct ntsync_obj *obj);
struct ntsync_obj *ntsync_get_obj(struct ntsync_device *dev, int fd);
void ntsync_put_obj(struct ntsync_obj *obj);

/* ntsync_obj.c */
int ntsync_create_sem(struct ntsync_device *dev, void __user *argp);
int ntsync_create_mutex(struct ntsync_device *dev, void __user *argp);
int ntsync_create_event(struct ntsync_device *dev, void __user *argp);
int ntsync_publish_obj(struct ntsync_obj *obj);
long ntsync_obj_ioctl(struct file *file, unsigned int cmd, unsigned long parm);
/* Inline: every wake pass and every wait asks, often more than once. */
static inline bool ntsync_obj_is_signaled(const struct ntsync_obj *obj,
					  __u32 owner)
{
	switch (obj->type) {
	case NTSYNC_TYPE_SEM:
		return obj->u.sem.count;
	case NTSYNC_TYPE_MUTEX:
		if (obj->u.mutex.owner && obj->u.mutex.owner != owner)
			return false;
		return obj->u.mutex.count < U32_MAX;
	case NTSYNC_TYPE_EVENT:
		return obj->u.event.signaled;
	case NTSYNC_TYPE_CHANNEL:
		/* Notify only: something is pending (never consumed here). */
		return obj->u.channel.depth;
	}
	WARN_ON_ONCE(1);
	return false;
}

void ntsync_obj_acquire_other(struct ntsync_obj *obj, struct ntsync_q *q);

/*
 * Take a signaled object on behalf of @q's owner.  A semaphore inline: its
 * release wakes waiters through this, one call fewer on that path.
 */
static inline void ntsync_obj_acquire(struct ntsync_obj *obj,
				      struct ntsync_q *q)
{
	if (obj->type == NTSYNC_TYPE_SEM)
		obj->u.sem.count--;
	else
		ntsync_obj_acquire_other(obj, q);
}

void ntsync_obj_destroy(struct ntsync_obj *obj);

/* ntsync_pi.c */
extern bool ntsync_pi_enabled;
void ntsync_pi_exit(void);
void ntsync_pi_work_init(struct ntsync_pi_work *w);
void ntsync_pi_work_prealloc(struct ntsync_pi_work *w, unsigned int nr);
struct ntsync_boost *ntsync_pi_work_take(struct ntsync_pi_work *w);
void ntsync_pi_work_finish(struct ntsync_pi_work *w);
size_t ntsync_boost_size(void);
struct ntsync_boost *ntsync_boost_alloc(bool staged);
void ntsync_boost_free(struct ntsync_boost *rec);
void ntsync_pi_discard(struct ntsync_q *q, struct ntsync_boost *rec);
void ntsync_pi_mutex_changed(struct ntsync_obj *mutex,
			     struct ntsync_pi_work *w);
void ntsync_pi_mutex_release(struct ntsync_obj *mutex);
bool ntsync_pi_mutex_needs_work(struct ntsync_obj *mutex);

/* Lockdep: the caller holds the lock that owns @obj (either kind). */
static inline void ntsync_assert_owned(struct ntsync_obj *obj)
{
	lockdep_assert(lockdep_is_held(&obj->lock) ||
		       (lockdep_is_held(&obj->dev->wait_all_lock) &&
			obj->all_hint));
}

/*
 * @q's entry on @obj was just unlinked; under the lock that owns @obj.
 * Inline: a wait-all calls it once per object.
 */
static inline void ntsync_pi_note_leave(struct ntsync_q *q,
					struct ntsync_obj *obj)
{
	ntsync_assert_owned(obj);
	if (obj->type == NTSYNC_TYPE_MUTEX && obj->u.mutex.pi_armed)
		q->pi_left_armed = true;
}

void ntsync_pi_wait_queued(struct ntsync_q *q, struct ntsync_pi_work *w);
void ntsync_pi_wait_done(struct ntsync_q *q, struct ntsync_pi_work *w);
void ntsync_pi_slot_apply(struct task_struct *task, enum ntsync_boost_slot slot,
			  int prio, __u32 policy, struct ntsync_device *dev,
			  struct ntsync_boost *spare, struct ntsync_pi_work *w);
void ntsync_pi_slot_raise_if(struct task_struct *task,
			     enum ntsync_boost_slot slot, int prio,
			     __u32 policy, struct ntsync_device *dev,
			     struct ntsync_pi_work *w,
			     bool (*still)(void *arg), void *arg);
void ntsync_pi_slot_drain(enum ntsync_boost_slot slot,
			  struct ntsync_pi_work *w);
void ntsync_pi_consume_event(struct ntsync_device *dev, struct ntsync_q *q,
			     struct ntsync_pi_work *w);
void ntsync_pi_device_release(struct ntsync_device *dev);
int ntsync_pi_check_request(__u32 policy, __u32 prio);

/* One channel request; see ntsync_channel.c for its lifetime rules. */
enum ntsync_entry_state {
	NTSYNC_ENTRY_PENDING,
	NTSYNC_ENTRY_DISPATCHED,
	NTSYNC_ENTRY_REPLIED,
};

struct ntsync_channel_entry {
	/* In pending while PENDING. */
	struct rb_node node;
	/* In dispatched (by id) while DISPATCHED. */
	struct rb_node id_node;
	/* Written under the channel's lock; the sender polls it. */
	enum ntsync_entry_state state;
	__u64 id;
	__u64 seq;
	/* 0 (no boost) or an RT priority 1..99, with its policy. */
	__u32 prio;
	__u32 policy;
	__u64 payload_off;
	__u64 reply_off;
	__u32 sender_tid;
	/* The sleeping sender: alive while the entry is on the channel. */
	struct task_struct *sender;
	/* The process that received it: the only one that may reply. */
	pid_t receiver_tgid;
};

/* What a receive returns: copied from the entry under the lock. */
struct ntsync_channel_msg {
	__u64 entry_id;
	__u64 payload_off;
	__u64 reply_off;
	__u32 sender_tid;
	__u32 prio;
	__u32 policy;
	__u64 thread_token;
};

/* A receiver parked on a channel; lives on the receiver's stack. */
struct ntsync_channel_receiver {
	/* In receivers while parked, under the channel's lock. */
	struct rb_node node;
	/* The key: task->prio when parked or last re-read, and park order. */
	int prio;
	__u64 seq;
	struct task_struct *task;
	/* Set, with msg, by the sender that served it (under the lock). */
	bool served;
	struct ntsync_channel_msg msg;
};

/* A tid -> token registration; allocated and freed outside the lock. */
struct ntsync_thread_reg {
	/* In the channel's regs, under its lock. */
	struct rb_node node;
	__u32 tid;
	__u64 token;
};

/* ntsync_channel.c */
size_t ntsync_channel_entry_size(void);
int ntsync_create_channel(struct ntsync_device *dev, void __user *argp);
long ntsync_channel_ioctl(struct ntsync_obj *ch, unsigned int cmd,
			  void __user *argp);
void ntsync_channel_destroy(struct ntsync_obj *ch);
#if IS_ENABLED(CONFIG_KUNIT)
/* The channel's structures, exercised by ntsync_kunit.c; under ch->lock. */
void ntsync_channel_init_state(struct ntsync_obj *ch, __u32 max_depth);
struct ntsync_thread_reg *ntsync_reg_find_state(struct ntsync_obj *ch,
						__u32 tid);
int ntsync_reg_set_state(struct ntsync_obj *ch, struct ntsync_thread_reg **new);
struct ntsync_thread_reg *ntsync_reg_remove_state(struct ntsync_obj *ch,
						  __u32 tid);
void ntsync_dispatched_add_state(struct ntsync_obj *ch,
				 struct ntsync_channel_entry *e);
struct ntsync_channel_entry *ntsync_dispatched_find_state(struct ntsync_obj *ch,
							  __u64 id);
void ntsync_dispatched_remove_state(struct ntsync_obj *ch,
				    struct ntsync_channel_entry *e);
void ntsync_receiver_park_state(struct ntsync_obj *ch,
				struct ntsync_channel_receiver *rcv);
void ntsync_receiver_unpark_state(struct ntsync_obj *ch,
				  struct ntsync_channel_receiver *rcv);
struct ntsync_channel_receiver *ntsync_best_receiver(struct ntsync_obj *ch);
#endif

/* ntsync_aggregate.c */
int ntsync_q_fd_init(struct ntsync_q_fd *qfd, struct ntsync_q *q, int fd,
		     __poll_t events, __u32 index);
void ntsync_q_fd_release(struct ntsync_q_fd *qfd);
int ntsync_q_fds_register(struct ntsync_q *q);
void ntsync_q_fds_unregister(struct ntsync_q *q);
bool ntsync_q_poll_fds(struct ntsync_q *q);
int ntsync_aggregate_wait(struct ntsync_device *dev, void __user *argp);

/* ntsync_wait.c */
struct ntsync_q_entry *ntsync_wq_first(struct ntsync_wq *wq);
void ntsync_requeue_q(struct ntsync_q *q);
struct task_struct *ntsync_claim_notify_waiter(struct ntsync_obj *obj);
void ntsync_init_q(struct ntsync_device *dev, struct ntsync_q *q,
		   __u32 owner, bool all, __u32 count);
void ntsync_release_q(struct ntsync_q *q);
int ntsync_wait_any_q(struct ntsync_device *dev, struct ntsync_q *q,
		      __u64 timeout, bool realtime, struct ntsync_pi_work *w);
bool ntsync_lock_obj_all(struct ntsync_device *dev, struct ntsync_obj *obj)
	__must_hold(&obj->lock);
void ntsync_unlock_all(struct ntsync_device *dev);

/*
 * Lock the object for a single-object operation.  Returns false with
 * obj->lock held when no wait-all uses the object, and true with only
 * dev->wait_all_lock held when one does: that lock then owns the object, and
 * ntsync_wake_waiters() must also consider its wait-all waiters.  Inline,
 * as its unlock: every object ioctl and every wait takes them.
 */
static inline bool ntsync_lock_obj(struct ntsync_device *dev,
				   struct ntsync_obj *obj)
	__acquires(&obj->lock)
{
	raw_spin_lock(&obj->lock);
	if (likely(!obj->all_hint))
		return false;
	return ntsync_lock_obj_all(dev, obj);
}

static inline void ntsync_unlock_obj(struct ntsync_device *dev,
				     struct ntsync_obj *obj, bool all)
	__releases(&obj->lock)
{
	if (likely(!all)) {
		raw_spin_unlock(&obj->lock);
		return;
	}
	__release(&obj->lock);
	ntsync_unlock_all(dev);
}

void ntsync_wake_waiters(struct ntsync_device *dev, struct ntsync_obj *obj,
			 bool all);
int ntsync_wait_any(struct ntsync_device *dev, void __user *argp);
int ntsync_wait_all(struct ntsync_device *dev, void __user *argp);

#if IS_ENABLED(CONFIG_KUNIT)
/* Internals exercised by ntsync_kunit.c. */
struct ntsync_task_node *ntsync_task_tree_find(const struct rb_root *root,
					       const struct task_struct *task);
void ntsync_task_tree_add(struct rb_root *root, struct ntsync_task_node *tn);
unsigned int ntsync_wq_insert(struct ntsync_wq *wq,
			      struct ntsync_q_entry *entry);
void ntsync_wq_remove(struct ntsync_wq *wq, struct ntsync_q_entry *entry);
unsigned int ntsync_wq_sweep(struct ntsync_wq *wq);
unsigned int ntsync_wq_pass_start(struct ntsync_wq *wq);
int ntsync_pi_best_waiter(struct ntsync_obj *mutex);
bool ntsync_entry_less(struct rb_node *a, const struct rb_node *b);
#endif

#endif /* NTSYNC_INTERNAL_H */
