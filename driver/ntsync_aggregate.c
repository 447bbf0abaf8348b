// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: AGGREGATE_WAIT, and waits that watch files.
 *
 * Owns: the file watchers of a wait (struct ntsync_q_fd) and the
 * AGGREGATE_WAIT ioctl, which waits for any of up to NTSYNC_AGG_MAX sources:
 * ntsync objects (consumed as WAIT_ANY consumes them), channels (notify
 * only: they fire while a request is pending and are not consumed) and any
 * pollable file.  The uring_fd of WAIT_ANY/WAIT_ALL is such a watched file.
 *
 * A watched file is registered on its wait queues through vfs_poll() with
 * our own poll table.  The wake callback runs under the queue's lock, maybe
 * in interrupt context: it only flags the wait (fd_woken) and wakes the
 * waiter, which then polls its files itself, in index order, and claims
 * the wait with the same cmpxchg that object wakers use.  So a file can
 * never be reported for events it does not have, and a racing object
 * wakeup and file wakeup have exactly one winner.
 *
 * Locks: none of the driver's own.  Registrations are added in the waiter's
 * context (sleepable, no lock held) and removed under the file's wait queue
 * lock by remove_wait_queue(); a queue torn down under us (POLLFREE) is
 * handled as epoll does.
 */

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ntsync_internal.h"
#include "ntsync_trace.h"

/* One registration of a watched file on one of its wait queues. */
struct ntsync_poll_entry {
	/* In ntsync_q_fd.polls; only the waiter touches the list. */
	struct list_head node;
	wait_queue_entry_t wait;
	/* NULL once the queue is torn down (POLLFREE); see below. */
	wait_queue_head_t *head;
	struct ntsync_q_fd *qfd;
};

/* Errors and hangups fire a watch whatever was asked for. */
static __poll_t ntsync_fd_mask(const struct ntsync_q_fd *qfd)
{
	return qfd->events | EPOLLERR | EPOLLHUP;
}

static int ntsync_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct ntsync_poll_entry *pe = container_of(wait,
						    struct ntsync_poll_entry,
						    wait);
	struct ntsync_q *q = pe->qfd->q;
	__poll_t mask = key_to_poll(key);

	/* A key naming only other events cannot concern this watch. */
	if (mask && !(mask & (ntsync_fd_mask(pe->qfd) | POLLFREE)))
		return 0;

	WRITE_ONCE(q->fd_woken, true);
	wake_up_process(q->task);

	if (mask & POLLFREE) {
		/*
		 * The queue is going away (signalfd, binder...): leave it now
		 * and tell ntsync_q_fds_unregister() with a release store;
		 * after it, nothing protects @pe from the waiter.
		 */
		list_del_init(&wait->entry);
		/* Pairs with the acquire in ntsync_q_fds_unregister(). */
		smp_store_release(&pe->head, NULL);
	}
	return 0;
}

static void ntsync_poll_queue(struct file *file, wait_queue_head_t *head,
			      poll_table *pt)
{
	struct ntsync_q_fd *qfd = container_of(pt, struct ntsync_q_fd, pt);
	struct ntsync_poll_entry *pe;

	/* The waiter's own context, no lock of ours held: may sleep. */
	pe = kmalloc(sizeof(*pe), GFP_KERNEL_ACCOUNT);
	if (!pe) {
		qfd->failed = true;
		return;
	}
	pe->qfd = qfd;
	pe->head = head;
	init_waitqueue_func_entry(&pe->wait, ntsync_poll_wake);
	add_wait_queue(head, &pe->wait);
	list_add(&pe->node, &qfd->polls);
}

/* Watch @fd for @events; the wait reports @index when it fires. */
int ntsync_q_fd_init(struct ntsync_q_fd *qfd, struct ntsync_q *q, int fd,
		     __poll_t events, __u32 index)
{
	struct file *file = fget(fd);

	if (!file)
		return -EINVAL;
	if (!file_can_poll(file)) {
		fput(file);
		return -EINVAL;
	}
	qfd->file = file;
	qfd->events = events;
	qfd->revents = 0;
	qfd->index = index;
	qfd->q = q;
	qfd->failed = false;
	INIT_LIST_HEAD(&qfd->polls);
	init_poll_funcptr(&qfd->pt, ntsync_poll_queue);
	return 0;
}

void ntsync_q_fd_release(struct ntsync_q_fd *qfd)
{
	fput(qfd->file);
}

/*
 * Register every watched file of @q, and claim @q for the first one that
 * is ready already.  -ENOMEM if a registration could not be allocated.
 */
int ntsync_q_fds_register(struct ntsync_q *q)
{
	bool claimed = false;
	__u32 i;

	for (i = 0; i < q->nr_fds; i++) {
		struct ntsync_q_fd *qfd = &q->fds[i];
		__poll_t ready;

		ready = vfs_poll(qfd->file, &qfd->pt) & ntsync_fd_mask(qfd);
		if (qfd->failed)
			return -ENOMEM;
		if (ready && !claimed) {
			int unclaimed = -1;

			claimed = true;
			if (atomic_try_cmpxchg(&q->signaled, &unclaimed,
					       qfd->index))
				qfd->revents = ready;
		}
	}
	return 0;
}

void ntsync_q_fds_unregister(struct ntsync_q *q)
{
	struct ntsync_poll_entry *pe, *tmp;
	__u32 i;

	for (i = 0; i < q->nr_fds; i++) {
		list_for_each_entry_safe(pe, tmp, &q->fds[i].polls, node) {
			wait_queue_head_t *head;

			/* The POLLFREE handshake: a torn-down queue is RCU-freed. */
			rcu_read_lock();
			/* Pairs with the release in ntsync_poll_wake(). */
			head = smp_load_acquire(&pe->head);
			if (head)
				remove_wait_queue(head, &pe->wait);
			rcu_read_unlock();
			list_del(&pe->node);
			ntsync_kfree(pe);
		}
	}
}

/*
 * Called by the waiter after a wake of one of its files (it may sleep):
 * claim @q for the first ready file, in index order.  True if @q is
 * claimed now, by this or by an object's waker.
 */
bool ntsync_q_poll_fds(struct ntsync_q *q)
{
	__u32 i;

	for (i = 0; i < q->nr_fds; i++) {
		struct ntsync_q_fd *qfd = &q->fds[i];
		__poll_t ready = vfs_poll(qfd->file, NULL) & ntsync_fd_mask(qfd);
		int unclaimed = -1;

		if (!ready)
			continue;
		if (atomic_try_cmpxchg(&q->signaled, &unclaimed, qfd->index))
			qfd->revents = ready;
		return true;
	}
	return atomic_read(&q->signaled) != -1;
}

/* The poll events of the fd source the wait was satisfied by, else 0. */
static __u32 ntsync_agg_fired_events(struct ntsync_q *q, __u32 index)
{
	__u32 i;

	for (i = 0; i < q->nr_fds; i++) {
		if (q->fds[i].index == index)
			return (__force __u32)q->fds[i].revents;
	}
	/* An object or a channel: no poll events (Wine-NSPA reads 0). */
	return 0;
}

/* Build the wait from the sources: objects first in entries[], then files. */
static int ntsync_agg_setup(struct ntsync_device *dev,
			    const struct ntsync_aggregate_wait_args *args,
			    const struct ntsync_aggregate_source *src,
			    struct ntsync_q **ret_q)
{
	__u32 nr_objs = 0, nr_fds = 0, i;
	struct ntsync_q *q;
	int ret = 0;

	for (i = 0; i < args->nb_sources; i++) {
		if (src[i].__pad)
			return -EINVAL;
		if (src[i].type == NTSYNC_AGG_OBJECT)
			nr_objs++;
		else if (src[i].type == NTSYNC_AGG_FD)
			nr_fds++;
		else
			return -EINVAL;
	}

	q = ntsync_alloc_q(nr_objs);
	if (!q)
		return -ENOMEM;
	ntsync_init_q(dev, q, args->owner, false, nr_objs);
	if (nr_fds) {
		q->fds = kcalloc(nr_fds, sizeof(*q->fds), GFP_KERNEL_ACCOUNT);
		if (!q->fds) {
			ntsync_release_q(q);
			return -ENOMEM;
		}
	}

	for (i = 0; i < args->nb_sources; i++) {
		if (src[i].type == NTSYNC_AGG_FD) {
			ret = ntsync_q_fd_init(&q->fds[q->nr_fds], q, src[i].fd,
					       (__force __poll_t)src[i].events,
					       i);
			if (ret)
				break;
			/* From here ntsync_release_q() drops the file. */
			q->nr_fds++;
		} else {
			struct ntsync_q_entry *entry = &q->entries[q->total_count];
			struct ntsync_obj *obj = ntsync_get_obj(dev, src[i].fd);

			if (!obj) {
				ret = -EINVAL;
				break;
			}
			entry->obj = obj;
			/* From here ntsync_release_q() drops the reference. */
			q->total_count++;
			entry->q = q;
			entry->index = i;
			if (obj->type == NTSYNC_TYPE_CHANNEL)
				q->has_channel = true;
			if (obj->type == NTSYNC_TYPE_MUTEX) {
				q->has_mutex = true;
				/* The owner acquires it: zero cannot. */
				if (!args->owner) {
					ret = -EINVAL;
					break;
				}
			}
		}
	}
	if (ret) {
		ntsync_release_q(q);
		return ret;
	}
	*ret_q = q;
	return 0;
}

int ntsync_aggregate_wait(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_aggregate_wait_args __user *uargs = argp;
	struct ntsync_aggregate_source *src;
	struct ntsync_aggregate_wait_args args;
	struct ntsync_pi_work w;
	__u32 fired_index = NTSYNC_AGG_TIMEOUT, fired_events = 0;
	struct ntsync_q *q;
	int ret, signaled;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	/* Outputs are proved writable before anything can be consumed. */
	if (put_user(args.fired_index, &uargs->fired_index) ||
	    put_user(args.fired_events, &uargs->fired_events))
		return -EFAULT;
	if (args.flags & ~NTSYNC_AGG_FLAG_REALTIME || args.__pad)
		return -EINVAL;
	if (!args.nb_sources || args.nb_sources > NTSYNC_AGG_MAX)
		return -EINVAL;

	src = kmalloc_array(args.nb_sources, sizeof(*src), GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	if (copy_from_user(src, u64_to_user_ptr(args.sources),
			   array_size(args.nb_sources, sizeof(*src)))) {
		ntsync_kfree(src);
		return -EFAULT;
	}
	ret = ntsync_agg_setup(dev, &args, src, &q);
	ntsync_kfree(src);
	if (ret)
		return ret;

	ntsync_stat_add(NTSYNC_STAT_WAITS, 1);
	trace_ntsync_wait_begin(NTSYNC_TRACE_AGGREGATE, args.nb_sources,
				args.owner);
	ntsync_pi_work_init(&w);
	/* Waiting on a channel is a dispatcher's next receive: its boost ends. */
	if (q->has_channel)
		ntsync_pi_slot_drain(NTSYNC_SLOT_CHANNEL, &w);
	ret = ntsync_wait_any_q(dev, q, args.timeout,
				args.flags & NTSYNC_AGG_FLAG_REALTIME, &w);

	signaled = atomic_read(&q->signaled);
	if (signaled != -1) {
		fired_index = signaled;
		fired_events = ntsync_agg_fired_events(q, signaled);
		ret = q->ownerdead ? -EOWNERDEAD : 0;
	}
	trace_ntsync_wait_end(NTSYNC_TRACE_AGGREGATE, ret, fired_index);
	ntsync_release_q(q);
	ntsync_pi_work_finish(&w);

	/* A timeout reports NTSYNC_AGG_TIMEOUT; a signal leaves them alone. */
	if (signaled != -1 || ret == -ETIMEDOUT) {
		if (put_user(fired_index, &uargs->fired_index) ||
		    put_user(fired_events, &uargs->fired_events))
			return -EFAULT;
	}
	return ret;
}
