/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ntsync-nspa: structures shared by the driver's files.
 *
 * Locking, from outermost to innermost:
 *
 *   dev->wait_all_lock (rt_mutex, sleeps, passes on priority)
 *     Owns every object that takes part in a wait-all: its state, its
 *     any_waiters and all_waiters lists.  Held across the walks over up to
 *     NTSYNC_MAX_WAIT_COUNT objects that a wait-all needs, which is why it
 *     is a sleeping lock and not a spinning one.
 *
 *   obj->lock (raw_spinlock_t, spins even on PREEMPT_RT)
 *     Owns the state and the any_waiters list of an object that has no
 *     wait-all waiter (obj->all_hint == 0).  Held only for short pointer and
 *     counter updates: never across an allocation, a copy to or from user
 *     space, or anything else that may sleep.
 *
 * obj->all_hint counts the wait-all waiters that are queued on the object or
 * are setting up on it.  It changes only with both locks held, so it is
 * stable to a holder of either.  ntsync_lock_obj() reads it to pick the lock
 * that owns the object; see ntsync_wait.c.
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
#include <linux/rtmutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
/* Ours, not the older copy in the kernel headers being built against. */
#include "../include/uapi/linux/ntsync.h"

struct file;
struct task_struct;

enum ntsync_type {
	NTSYNC_TYPE_SEM,
	NTSYNC_TYPE_MUTEX,
	NTSYNC_TYPE_EVENT,
};

/* One per open() of /dev/ntsync: a namespace of objects. */
struct ntsync_device {
	/* See the locking rules above. */
	struct rt_mutex wait_all_lock;
	/* The device's own file; objects pin it. */
	struct file *file;
};

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
		} mutex;
		struct {
			bool manual;
			bool signaled;
		} event;
	} u;

	/* ntsync_q_entry.node of wait-any waiters (and alerts); by priority. */
	struct list_head any_waiters;
	/* ntsync_q_entry.node of wait-all waiters; under wait_all_lock. */
	struct list_head all_waiters;
};

struct ntsync_q_entry {
	/* In obj->any_waiters or obj->all_waiters, under that list's lock. */
	struct list_head node;
	struct ntsync_q *q;
	struct ntsync_obj *obj;
	/* Position in the caller's array; count for the alert event. */
	__u32 index;
};

/* One in-flight WAIT_ANY or WAIT_ALL; owned by the waiting task. */
struct ntsync_q {
	struct task_struct *task;
	__u32 owner;
	/* Kernel priority (task->prio) at enqueue: orders the wait queues. */
	int prio;

	/*
	 * -1 while nobody has satisfied the wait; a waker claims the wait by
	 * swapping in the index it satisfied (cmpxchg), consumes the object(s)
	 * on the waiter's behalf and wakes the task.  Claimed at most once.
	 */
	atomic_t signaled;

	bool all;
	/* Set by the waker that handed over an abandoned mutex. */
	bool ownerdead;
	/* Number of objects, not counting the alert event. */
	__u32 count;
	/* Entries holding an object reference: count, plus one for an alert. */
	__u32 total_count;
	struct ntsync_q_entry entries[];
};

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
long ntsync_obj_ioctl(struct file *file, unsigned int cmd, unsigned long parm);
bool ntsync_obj_is_signaled(const struct ntsync_obj *obj, __u32 owner);
void ntsync_obj_acquire(struct ntsync_obj *obj, struct ntsync_q *q);

/* ntsync_wait.c */
bool ntsync_lock_obj(struct ntsync_device *dev, struct ntsync_obj *obj)
	__acquires(&obj->lock);
void ntsync_unlock_obj(struct ntsync_device *dev, struct ntsync_obj *obj,
		       bool all)
	__releases(&obj->lock);
void ntsync_wake_waiters(struct ntsync_device *dev, struct ntsync_obj *obj,
			 bool all);
int ntsync_wait_any(struct ntsync_device *dev, void __user *argp);
int ntsync_wait_all(struct ntsync_device *dev, void __user *argp);

#endif /* NTSYNC_INTERNAL_H */
