// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: semaphores, mutexes and events.
 *
 * Owns: the state of each object type, what "signaled" and "acquire" mean
 * for it, and the ioctls on object fds.  Every state change happens under
 * the lock that ntsync_lock_obj() picks for the object (its raw spinlock, or
 * the device's wait_all_lock while wait-all waiters use it) and ends with
 * ntsync_wake_waiters() under the same lock, so that no wakeup is lost.
 * Copies from and to user space happen outside those locks.
 */

#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>

#include "ntsync_internal.h"
#include "ntsync_trace.h"

static void ntsync_event_hand_over_pi(struct ntsync_obj *event,
				      struct ntsync_q *q);

/* ntsync_obj_acquire() of an object other than a semaphore. */
void ntsync_obj_acquire_other(struct ntsync_obj *obj, struct ntsync_q *q)
{
	switch (obj->type) {
	case NTSYNC_TYPE_MUTEX:
		if (obj->u.mutex.ownerdead)
			q->ownerdead = true;
		obj->u.mutex.ownerdead = false;
		obj->u.mutex.count++;
		obj->u.mutex.owner = q->owner;
		/* The owner's task, for PI; referenced until it lets go. */
		if (!obj->u.mutex.owner_task) {
			get_task_struct(q->task);
			/* Read unlocked by spinning waiters: WRITE_ONCE. */
			WRITE_ONCE(obj->u.mutex.owner_task, q->task);
		}
		break;
	case NTSYNC_TYPE_EVENT:
		if (!obj->u.event.manual)
			obj->u.event.signaled = false;
		ntsync_event_hand_over_pi(obj, q);
		break;
	case NTSYNC_TYPE_CHANNEL:
		/* Notify only: the entry stays for CHANNEL_RECV to take. */
		break;
	case NTSYNC_TYPE_SEM:
		/* Never here: ntsync_obj_acquire() takes a semaphore inline. */
		break;
	}
}

/*
 * The signal this wait consumes carries the EVENT_SET_PI staged with it:
 * move the staged record to the wait, under the event's lock, so that
 * exactly one consumer gets it (one-shot) and no later signal's boost can
 * be taken for this one.  Keeps the best of several (a wait-all).
 */
static void ntsync_event_hand_over_pi(struct ntsync_obj *event,
				      struct ntsync_q *q)
{
	struct ntsync_boost *rec = event->u.event.pi_rec;

	if (!rec)
		return;
	event->u.event.pi_rec = NULL;
	ntsync_stat_add(NTSYNC_STAT_EVENT_PI_CONSUMED, 1);
	trace_ntsync_event_pi(NTSYNC_TRACE_CONSUMED, event->u.event.pi_policy,
			      event->u.event.pi_prio);
	if (q->pi_rec && q->pi_prio <= event->u.event.pi_prio) {
		ntsync_pi_discard(q, rec);
		return;
	}
	if (q->pi_rec)
		ntsync_pi_discard(q, q->pi_rec);
	q->pi_rec = rec;
	q->pi_prio = event->u.event.pi_prio;
	q->pi_policy = event->u.event.pi_policy;
}

/* Type-specific teardown when the object's file is released. */
void ntsync_obj_destroy(struct ntsync_obj *obj)
{
	switch (obj->type) {
	case NTSYNC_TYPE_MUTEX:
		ntsync_pi_mutex_release(obj);
		if (obj->u.mutex.owner_task)
			put_task_struct(obj->u.mutex.owner_task);
		break;
	case NTSYNC_TYPE_EVENT:
		/* A boost staged on an event nobody consumed. */
		if (obj->u.event.pi_rec) {
			ntsync_stat_add(NTSYNC_STAT_EVENT_PI_CANCELLED, 1);
			trace_ntsync_event_pi(NTSYNC_TRACE_CANCELLED,
					      obj->u.event.pi_policy,
					      obj->u.event.pi_prio);
		}
		ntsync_boost_free(obj->u.event.pi_rec);
		break;
	case NTSYNC_TYPE_CHANNEL:
		ntsync_channel_destroy(obj);
		break;
	default:
		break;
	}
}

/*
 * Prove that an in/out u32 can be written back, by writing back what it
 * holds, before an operation changes state: a read-only or unmapped output
 * then fails with EFAULT and leaves the object untouched.
 */
static int ntsync_probe_user_u32(__u32 __user *uptr, __u32 *val)
{
	__u32 v;

	/* One user-access window for the read and the write. */
	if (!user_access_begin(uptr, sizeof(*uptr)))
		return -EFAULT;
	unsafe_get_user(v, uptr, efault);
	unsafe_put_user(v, uptr, efault);
	user_access_end();
	if (val)
		*val = v;
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Give a fresh object a file and an fd, or free it. */
int ntsync_publish_obj(struct ntsync_obj *obj)
{
	int fd = ntsync_install_obj_fd(obj);

	if (fd < 0)
		ntsync_free_obj(obj);
	return fd;
}

int ntsync_create_sem(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_sem_args args;
	struct ntsync_obj *sem;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.count > args.max)
		return -EINVAL;

	sem = ntsync_alloc_obj(dev, NTSYNC_TYPE_SEM);
	if (!sem)
		return -ENOMEM;
	sem->u.sem.count = args.count;
	sem->u.sem.max = args.max;
	return ntsync_publish_obj(sem);
}

int ntsync_create_mutex(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_mutex_args args;
	struct ntsync_obj *mutex;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	/* Owned with a recursion count, or unowned with none. */
	if (!args.owner != !args.count)
		return -EINVAL;

	mutex = ntsync_alloc_obj(dev, NTSYNC_TYPE_MUTEX);
	if (!mutex)
		return -ENOMEM;
	mutex->u.mutex.count = args.count;
	mutex->u.mutex.owner = args.owner;
	return ntsync_publish_obj(mutex);
}

int ntsync_create_event(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_event_args args;
	struct ntsync_obj *event;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;

	event = ntsync_alloc_obj(dev, NTSYNC_TYPE_EVENT);
	if (!event)
		return -ENOMEM;
	event->u.event.manual = args.manual;
	event->u.event.signaled = args.signaled;
	return ntsync_publish_obj(event);
}

static int ntsync_sem_release(struct ntsync_obj *sem, void __user *argp)
{
	struct ntsync_device *dev = sem->dev;
	__u32 add, prev;
	bool all;
	int ret = 0;

	if (ntsync_probe_user_u32(argp, &add))
		return -EFAULT;
	if (sem->type != NTSYNC_TYPE_SEM)
		return -EINVAL;

	all = ntsync_lock_obj(dev, sem);
	prev = sem->u.sem.count;
	/* Written so that the sum cannot wrap. */
	if (add > sem->u.sem.max - prev) {
		ret = -EOVERFLOW;
	} else {
		sem->u.sem.count = prev + add;
		ntsync_wake_waiters(dev, sem, all);
	}
	ntsync_unlock_obj(dev, sem, all);

	if (ret)
		return ret;
	return put_user(prev, (__u32 __user *)argp);
}

static int ntsync_mutex_unlock(struct ntsync_obj *mutex, void __user *argp)
{
	struct ntsync_mutex_args __user *user_args = argp;
	struct ntsync_device *dev = mutex->dev;
	struct ntsync_mutex_args args;
	struct ntsync_pi_work w;
	bool all, pi_changed = false;
	__u32 prev;
	int ret = 0;

	if (copy_from_user(&args, argp, sizeof(args)) ||
	    ntsync_probe_user_u32(&user_args->count, NULL))
		return -EFAULT;
	if (mutex->type != NTSYNC_TYPE_MUTEX)
		return -EINVAL;
	if (!args.owner)
		return -EINVAL;

	ntsync_pi_work_init(&w);
	all = ntsync_lock_obj(dev, mutex);
	prev = mutex->u.mutex.count;
	if (mutex->u.mutex.owner != args.owner) {
		ret = -EPERM;
	} else if (!--mutex->u.mutex.count) {
		mutex->u.mutex.owner = 0;
		/* The old owner's reference goes once no lock is held. */
		w.put_task = mutex->u.mutex.owner_task;
		WRITE_ONCE(mutex->u.mutex.owner_task, NULL);
		ntsync_wake_waiters(dev, mutex, all);
		/*
		 * Without a real-time waiter, now or at the last PI
		 * re-evaluation, nobody was boosted and nobody is to be:
		 * the unlock costs what upstream's does.
		 */
		pi_changed = ntsync_pi_mutex_needs_work(mutex);
	} else if (!mutex->u.mutex.owner_task) {
		/* Created owned: the owner's task shows itself now. */
		get_task_struct(current);
		WRITE_ONCE(mutex->u.mutex.owner_task, current);
		pi_changed = ntsync_pi_mutex_needs_work(mutex);
	}
	ntsync_unlock_obj(dev, mutex, all);

	if (pi_changed)
		ntsync_pi_mutex_changed(mutex, &w);
	ntsync_pi_work_finish(&w);
	if (ret)
		return ret;
	return put_user(prev, &user_args->count);
}

static int ntsync_mutex_kill(struct ntsync_obj *mutex, void __user *argp)
{
	struct ntsync_device *dev = mutex->dev;
	struct ntsync_pi_work w;
	bool all, pi_changed = false;
	__u32 owner;
	int ret = 0;

	if (get_user(owner, (__u32 __user *)argp))
		return -EFAULT;
	if (mutex->type != NTSYNC_TYPE_MUTEX)
		return -EINVAL;
	if (!owner)
		return -EINVAL;

	ntsync_pi_work_init(&w);
	all = ntsync_lock_obj(dev, mutex);
	if (mutex->u.mutex.owner != owner) {
		ret = -EPERM;
	} else {
		mutex->u.mutex.ownerdead = true;
		mutex->u.mutex.owner = 0;
		mutex->u.mutex.count = 0;
		w.put_task = mutex->u.mutex.owner_task;
		WRITE_ONCE(mutex->u.mutex.owner_task, NULL);
		ntsync_wake_waiters(dev, mutex, all);
		pi_changed = ntsync_pi_mutex_needs_work(mutex);
	}
	ntsync_unlock_obj(dev, mutex, all);

	if (pi_changed)
		ntsync_pi_mutex_changed(mutex, &w);
	ntsync_pi_work_finish(&w);
	return ret;
}

enum ntsync_event_op {
	NTSYNC_EVENT_SET,
	NTSYNC_EVENT_RESET,
	NTSYNC_EVENT_PULSE,
};

static int ntsync_event_change(struct ntsync_obj *event, void __user *argp,
			       enum ntsync_event_op op)
{
	struct ntsync_device *dev = event->dev;
	struct ntsync_boost *cancelled = NULL;
	__u32 prev;
	bool all;

	if (ntsync_probe_user_u32(argp, NULL))
		return -EFAULT;
	if (event->type != NTSYNC_TYPE_EVENT)
		return -EINVAL;

	all = ntsync_lock_obj(dev, event);
	prev = event->u.event.signaled;
	if (op != NTSYNC_EVENT_RESET) {
		event->u.event.signaled = true;
		ntsync_wake_waiters(dev, event, all);
	}
	if (op != NTSYNC_EVENT_SET) {
		/* A pulse wakes whoever can take the event, then clears it. */
		event->u.event.signaled = false;
		/* No signal left, so no boost staged with it either. */
		cancelled = event->u.event.pi_rec;
		event->u.event.pi_rec = NULL;
		if (cancelled) {
			ntsync_stat_add(NTSYNC_STAT_EVENT_PI_CANCELLED, 1);
			trace_ntsync_event_pi(NTSYNC_TRACE_CANCELLED,
					      event->u.event.pi_policy,
					      event->u.event.pi_prio);
		}
	}
	ntsync_unlock_obj(dev, event, all);

	/* Freed outside the lock: no slab call under a raw spinlock. */
	ntsync_boost_free(cancelled);
	return put_user(prev, (__u32 __user *)argp);
}

/*
 * EVENT_SET_PI: EVENT_SET, plus a boost staged on the event for the waiter
 * that consumes this signal, which applies it to itself (one-shot; the last
 * signaller wins; a reset cancels).  Staging at the waiter's side closes the
 * race where a waiter takes the signal without ever having been queued.
 */
static int ntsync_event_set_pi(struct ntsync_obj *event, void __user *argp)
{
	struct ntsync_device *dev = event->dev;
	struct ntsync_event_set_pi_args args;
	struct ntsync_boost *rec = NULL, *replaced = NULL;
	bool all;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (event->type != NTSYNC_TYPE_EVENT)
		return -EINVAL;
	if (args.flags || args.__pad)
		return -EINVAL;
	/* prio 0 is "no boost": exactly EVENT_SET. */
	if (args.prio) {
		ret = ntsync_pi_check_request(args.policy, args.prio);
		if (ret)
			return ret;
		/* Allocated before the lock; handed to the consumer. */
		rec = ntsync_boost_alloc(true);
		if (!rec)
			return -ENOMEM;
	}

	all = ntsync_lock_obj(dev, event);
	if (rec) {
		replaced = event->u.event.pi_rec;
		if (replaced) {
			/* The last signaller wins. */
			ntsync_stat_add(NTSYNC_STAT_EVENT_PI_CANCELLED, 1);
			trace_ntsync_event_pi(NTSYNC_TRACE_CANCELLED,
					      event->u.event.pi_policy,
					      event->u.event.pi_prio);
		}
		event->u.event.pi_rec = rec;
		event->u.event.pi_prio = MAX_RT_PRIO - 1 - args.prio;
		event->u.event.pi_policy = args.policy;
		ntsync_stat_add(NTSYNC_STAT_EVENT_PI_STAGED, 1);
		trace_ntsync_event_pi(NTSYNC_TRACE_STAGED, args.policy,
				      event->u.event.pi_prio);
	}
	event->u.event.signaled = true;
	ntsync_wake_waiters(dev, event, all);
	ntsync_unlock_obj(dev, event, all);

	ntsync_boost_free(replaced);
	return 0;
}

static int ntsync_sem_read(struct ntsync_obj *sem, void __user *argp)
{
	struct ntsync_device *dev = sem->dev;
	struct ntsync_sem_args args;
	bool all;

	if (sem->type != NTSYNC_TYPE_SEM)
		return -EINVAL;

	all = ntsync_lock_obj(dev, sem);
	args.count = sem->u.sem.count;
	args.max = sem->u.sem.max;
	ntsync_unlock_obj(dev, sem, all);

	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static int ntsync_mutex_read(struct ntsync_obj *mutex, void __user *argp)
{
	struct ntsync_device *dev = mutex->dev;
	struct ntsync_mutex_args args;
	bool all, ownerdead;

	if (mutex->type != NTSYNC_TYPE_MUTEX)
		return -EINVAL;

	all = ntsync_lock_obj(dev, mutex);
	args.count = mutex->u.mutex.count;
	args.owner = mutex->u.mutex.owner;
	ownerdead = mutex->u.mutex.ownerdead;
	ntsync_unlock_obj(dev, mutex, all);

	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	/* An abandoned mutex reads as unowned (0, 0) and says so. */
	return ownerdead ? -EOWNERDEAD : 0;
}

static int ntsync_event_read(struct ntsync_obj *event, void __user *argp)
{
	struct ntsync_device *dev = event->dev;
	struct ntsync_event_args args;
	bool all;

	if (event->type != NTSYNC_TYPE_EVENT)
		return -EINVAL;

	all = ntsync_lock_obj(dev, event);
	args.manual = event->u.event.manual;
	args.signaled = event->u.event.signaled;
	ntsync_unlock_obj(dev, event, all);

	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

long ntsync_obj_ioctl(struct file *file, unsigned int cmd, unsigned long parm)
{
	struct ntsync_obj *obj = file->private_data;
	void __user *argp = (void __user *)parm;

	switch (cmd) {
	case NTSYNC_IOC_SEM_RELEASE:
		return ntsync_sem_release(obj, argp);
	case NTSYNC_IOC_SEM_READ:
		return ntsync_sem_read(obj, argp);
	case NTSYNC_IOC_MUTEX_UNLOCK:
		return ntsync_mutex_unlock(obj, argp);
	case NTSYNC_IOC_MUTEX_KILL:
		return ntsync_mutex_kill(obj, argp);
	case NTSYNC_IOC_MUTEX_READ:
		return ntsync_mutex_read(obj, argp);
	case NTSYNC_IOC_EVENT_SET:
		return ntsync_event_change(obj, argp, NTSYNC_EVENT_SET);
	case NTSYNC_IOC_EVENT_RESET:
		return ntsync_event_change(obj, argp, NTSYNC_EVENT_RESET);
	case NTSYNC_IOC_EVENT_PULSE:
		return ntsync_event_change(obj, argp, NTSYNC_EVENT_PULSE);
	case NTSYNC_IOC_EVENT_READ:
		return ntsync_event_read(obj, argp);
	case NTSYNC_IOC_EVENT_SET_PI:
		return ntsync_event_set_pi(obj, argp);
	case NTSYNC_IOC_CHANNEL_SEND_PI:
	case NTSYNC_IOC_CHANNEL_RECV:
	case NTSYNC_IOC_CHANNEL_REPLY:
	case NTSYNC_IOC_CHANNEL_REGISTER_THREAD:
	case NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD:
	case NTSYNC_IOC_CHANNEL_RECV2:
	case NTSYNC_IOC_CHANNEL_TRY_RECV2:
		return ntsync_channel_ioctl(obj, cmd, argp);
	default:
		return -ENOIOCTLCMD;
	}
}
