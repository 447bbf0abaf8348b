// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: channels, the request/reply transport of Wine-NSPA's server.
 *
 * Owns: channel objects, their entries (one per request), their parked
 * receivers, and their tid -> token tables.
 *
 * A sender queues an entry with a priority and sleeps until the entry is
 * replied to.  Pending entries wait in an rb-tree ordered by priority, then
 * arrival; a receiver takes the first.  A receiver that finds none parks
 * (in arrival order).  A new entry goes straight to the best parked
 * receiver, by its priority at that moment, then by arrival: the sender
 * claims it under the channel's lock,
 * fills in what it will return, boosts it to the entry's priority and wakes
 * it.  So the receiver that SEND_PI boosts is exactly the one that gets the
 * entry, and no other receiver is woken (the spec's exclusive receive).  A
 * receiver runs at the priority of the request it serves until its REPLY or
 * its next receive.  With no receiver parked, the best AGGREGATE_WAIT
 * waiter on the channel (notify only) is claimed, boosted and woken the
 * same way, and comes to take the entry with RECV2.
 *
 * Locking: obj->lock (raw) protects all of obj->u.channel and the state of
 * every entry; a channel never takes part in a wait-all, so that lock is
 * always its own.  Nothing is allocated or freed under it, and tasks to wake
 * are referenced under it and woken after it is dropped.
 *
 * Lifetimes: an entry belongs to its sender, which allocates it, takes it
 * off the channel under the lock when it wakes (replied, or interrupted:
 * then a later REPLY finds nothing, ENOENT), and frees it.  Receivers and
 * REPLY touch an entry only under the lock, and copy out what they return
 * before dropping it (snapshot), so an entry never outlives its use.  REPLY
 * wakes the sender through a reference on its task, not through the entry,
 * so unlike a wait queue in the entry, nothing of the entry is used after
 * the lock is dropped and no entry reference count is needed.
 */

#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "ntsync_internal.h"
#include "ntsync_trace.h"

#define NTSYNC_CHANNEL_MAX_DEPTH	1024

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
	struct list_head node;
	struct task_struct *task;
	/* Set, with msg, by the sender that served it (under the lock). */
	bool served;
	struct ntsync_channel_msg msg;
};

struct ntsync_thread_reg {
	/* In the channel's regs, under its lock. */
	struct hlist_node node;
	__u32 tid;
	__u64 token;
};

size_t ntsync_channel_entry_size(void)
{
	return sizeof(struct ntsync_channel_entry);
}

/* Pending order: higher priority first, then earlier arrival. */
VISIBLE_IF_KUNIT bool ntsync_entry_less(struct rb_node *a,
					const struct rb_node *b)
{
	const struct ntsync_channel_entry *ea =
		rb_entry(a, struct ntsync_channel_entry, node);
	const struct ntsync_channel_entry *eb =
		rb_entry(b, struct ntsync_channel_entry, node);

	if (ea->prio != eb->prio)
		return ea->prio > eb->prio;
	return ea->seq < eb->seq;
}

static struct hlist_head *ntsync_reg_bucket(struct ntsync_obj *ch, __u32 tid)
{
	return &ch->u.channel.regs[tid % NTSYNC_CHANNEL_REG_BUCKETS];
}

static struct ntsync_thread_reg *ntsync_find_reg(struct ntsync_obj *ch,
						 __u32 tid)
{
	struct ntsync_thread_reg *reg;

	lockdep_assert_held(&ch->lock);
	hlist_for_each_entry(reg, ntsync_reg_bucket(ch, tid), node) {
		if (reg->tid == tid)
			return reg;
	}
	return NULL;
}

/* The kernel priority a request's boost stands for. */
static int ntsync_msg_kprio(const struct ntsync_channel_msg *msg)
{
	return msg->prio ? MAX_RT_PRIO - 1 - (int)msg->prio : NTSYNC_NO_BOOST;
}

/* Hand @e to @receiver: dispatch it and snapshot what RECV returns. */
static void ntsync_channel_dispatch(struct ntsync_obj *ch,
				    struct ntsync_channel_entry *e,
				    struct task_struct *receiver,
				    struct ntsync_channel_msg *msg)
{
	struct ntsync_thread_reg *reg;

	lockdep_assert_held(&ch->lock);
	e->state = NTSYNC_ENTRY_DISPATCHED;
	e->receiver_tgid = receiver->tgid;
	list_add_tail(&e->link, &ch->u.channel.dispatched);
	ntsync_stat_add(NTSYNC_STAT_CHANNEL_DISPATCHED, 1);
	trace_ntsync_channel(NTSYNC_TRACE_RECV, e->id, e->prio, e->sender_tid);

	msg->entry_id = e->id;
	msg->payload_off = e->payload_off;
	msg->reply_off = e->reply_off;
	msg->sender_tid = e->sender_tid;
	msg->prio = e->prio;
	msg->policy = e->policy;
	/* Looked up now, so a token registered after the send counts. */
	reg = ntsync_find_reg(ch, e->sender_tid);
	msg->thread_token = reg ? reg->token : 0;
}

/*
 * The parked receiver to serve: best priority now (a boost, a drain or a
 * sched_setattr() since it parked count), then earliest parked.
 */
static struct ntsync_channel_receiver *ntsync_best_receiver(struct ntsync_obj *ch)
{
	struct ntsync_channel_receiver *pos, *best = NULL;
	int best_prio = 0;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry(pos, &ch->u.channel.receivers, node) {
		int prio = READ_ONCE(pos->task->prio);

		if (!best || prio < best_prio) {
			best = pos;
			best_prio = prio;
		}
	}
	return best;
}

int ntsync_create_channel(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_channel_create_args args;
	struct ntsync_obj *ch;
	int i;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.__pad || !args.max_depth ||
	    args.max_depth > NTSYNC_CHANNEL_MAX_DEPTH)
		return -EINVAL;

	ch = ntsync_alloc_obj(dev, NTSYNC_TYPE_CHANNEL);
	if (!ch)
		return -ENOMEM;
	ch->u.channel.pending = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&ch->u.channel.dispatched);
	INIT_LIST_HEAD(&ch->u.channel.receivers);
	ch->u.channel.max_depth = args.max_depth;
	for (i = 0; i < NTSYNC_CHANNEL_REG_BUCKETS; i++)
		INIT_HLIST_HEAD(&ch->u.channel.regs[i]);
	return ntsync_publish_obj(ch);
}

/* The channel's file is gone: no sender, receiver or replier is left. */
void ntsync_channel_destroy(struct ntsync_obj *ch)
{
	struct ntsync_thread_reg *reg;
	struct hlist_node *tmp;
	int i;

	WARN_ON(!RB_EMPTY_ROOT(&ch->u.channel.pending.rb_root));
	WARN_ON(!list_empty(&ch->u.channel.dispatched));
	WARN_ON(!list_empty(&ch->u.channel.receivers));
	for (i = 0; i < NTSYNC_CHANNEL_REG_BUCKETS; i++) {
		hlist_for_each_entry_safe(reg, tmp, &ch->u.channel.regs[i],
					  node) {
			hlist_del(&reg->node);
			ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, -1);
			ntsync_kfree(reg);
		}
	}
}

struct ntsync_entry_ref {
	struct ntsync_obj *ch;
	struct ntsync_channel_entry *e;
};

/* The entry is not replied to yet: its receiver is still serving it. */
static bool ntsync_entry_unreplied(void *arg)
{
	struct ntsync_entry_ref *ref = arg;
	bool unreplied;

	raw_spin_lock(&ref->ch->lock);
	unreplied = ref->e->state != NTSYNC_ENTRY_REPLIED;
	raw_spin_unlock(&ref->ch->lock);
	return unreplied;
}

/*
 * Take the interrupted sender's @e off the channel, under its lock.
 * Returns the sender's result: -ERESTARTSYS for a withdrawn PENDING entry,
 * -EINTR for a DISPATCHED one abandoned on a fatal signal (never seen by
 * user space), 0 if it was replied to meanwhile, and -EAGAIN if it is
 * DISPATCHED and the signal is not fatal: the sender waits on.
 */
static int ntsync_channel_withdraw(struct ntsync_obj *ch,
				   struct ntsync_channel_entry *e)
{
	lockdep_assert_held(&ch->lock);
	switch (e->state) {
	case NTSYNC_ENTRY_PENDING:
		rb_erase_cached(&e->node, &ch->u.channel.pending);
		ch->u.channel.depth--;
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_PENDING, -1);
		return -ERESTARTSYS;
	case NTSYNC_ENTRY_DISPATCHED:
		if (!fatal_signal_pending(current))
			return -EAGAIN;
		/* Being served: its REPLY will find nothing (ENOENT). */
		list_del(&e->link);
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_DISPATCHED, -1);
		return -EINTR;
	case NTSYNC_ENTRY_REPLIED:
		break;
	}
	return 0;
}

/*
 * Sleep until @e is replied to, and take it off the channel.  A signal
 * withdraws a PENDING request, which nobody has seen, and the call restarts
 * (-ERESTARTSYS: EINTR only for a handler without SA_RESTART).  Once a
 * receiver has it (DISPATCHED), the request may be running: only a fatal
 * signal abandons it (its REPLY then finds nothing, ENOENT), so that a
 * request never runs twice and a reply is never lost.
 */
static int ntsync_channel_await_reply(struct ntsync_obj *ch,
				      struct ntsync_channel_entry *e)
{
	enum ntsync_entry_state state;
	int ret = 0;

	for (;;) {
		state = READ_ONCE(e->state);
		/*
		 * Killable only once dispatched; not counted as load (like
		 * TASK_IDLE): a thread waiting for its server is not busy.
		 */
		set_current_state(state == NTSYNC_ENTRY_PENDING ?
				  TASK_INTERRUPTIBLE :
				  TASK_KILLABLE | TASK_NOLOAD);
		/* Re-read after the barrier of set_current_state(). */
		state = READ_ONCE(e->state);
		if (state == NTSYNC_ENTRY_REPLIED)
			break;
		if (fatal_signal_pending(current) ||
		    (state == NTSYNC_ENTRY_PENDING && signal_pending(current))) {
			__set_current_state(TASK_RUNNING);
			/* The state is final only under the lock. */
			raw_spin_lock(&ch->lock);
			ret = ntsync_channel_withdraw(ch, e);
			raw_spin_unlock(&ch->lock);
			if (ret != -EAGAIN)
				return ret;
			/* Dispatched meanwhile: wait on, killably. */
			continue;
		}
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int ntsync_channel_send_pi(struct ntsync_obj *ch, void __user *argp)
{
	struct ntsync_channel_receiver *rcv;
	struct ntsync_channel_send_args args;
	struct ntsync_channel_entry *e;
	struct task_struct *target = NULL;
	struct ntsync_pi_work w;
	int ret = 0;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	/* prio 0 is "no boost"; anything else follows EVENT_SET_PI's rules. */
	if (args.prio) {
		ret = ntsync_pi_check_request(args.policy, args.prio);
		if (ret)
			return ret;
	}

	e = ntsync_alloc_channel_entry();
	if (!e)
		return -ENOMEM;
	e->prio = args.prio;
	e->policy = args.prio ? args.policy : 0;
	e->payload_off = args.payload_off;
	e->reply_off = args.reply_off;
	e->sender_tid = task_pid_vnr(current);
	e->sender = current;

	ntsync_pi_work_init(&w);
	/* A record for the receiver we may boost, allocated before the lock. */
	if (e->prio)
		ntsync_pi_work_prealloc(&w, 1);

	raw_spin_lock(&ch->lock);
	rcv = ntsync_best_receiver(ch);
	if (!rcv && ch->u.channel.depth >= ch->u.channel.max_depth) {
		ret = -EAGAIN;
	} else {
		e->id = ++ch->u.channel.next_id;
		e->seq = ++ch->u.channel.next_seq;
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_SENDS, 1);
		trace_ntsync_channel(NTSYNC_TRACE_SEND, e->id, e->prio,
				     e->sender_tid);
		if (rcv) {
			list_del(&rcv->node);
			ntsync_channel_dispatch(ch, e, rcv->task, &rcv->msg);
			/*
			 * Ours until woken.  Taken before served is published:
			 * the receiver may return as soon as it sees served
			 * (a signal woke it), and its record, on its stack,
			 * is gone then.  Nothing of @rcv is touched after.
			 */
			target = rcv->task;
			get_task_struct(target);
			/* Pairs with the receiver's acquire: msg is complete. */
			smp_store_release(&rcv->served, true);
			ntsync_debug_delay(NTSYNC_DELAY_SERVED);
		} else {
			e->state = NTSYNC_ENTRY_PENDING;
			rb_add_cached(&e->node, &ch->u.channel.pending,
				      ntsync_entry_less);
			ch->u.channel.depth++;
			ntsync_stat_add(NTSYNC_STAT_CHANNEL_PENDING, 1);
			/* A dispatcher in AGGREGATE_WAIT comes to take it. */
			target = ntsync_claim_notify_waiter(ch);
		}
	}
	raw_spin_unlock(&ch->lock);

	if (ret) {
		ntsync_free_channel_entry(e);
		ntsync_pi_work_finish(&w);
		return ret;
	}

	if (target) {
		struct ntsync_entry_ref ref = { .ch = ch, .e = e };

		/*
		 * Boost the receiver before it runs: it serves us.  It may be
		 * running already (claimed before it slept) and have replied
		 * and drained meanwhile: then the boost is dropped.
		 */
		if (e->prio)
			ntsync_pi_slot_apply_if(target, NTSYNC_SLOT_CHANNEL,
						MAX_RT_PRIO - 1 - (int)e->prio,
						e->policy, ch->dev, NULL, &w,
						ntsync_entry_unreplied, &ref);
		wake_up_process(target);
		put_task_struct(target);
	}

	ret = ntsync_channel_await_reply(ch, e);
	if (ret) {
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_CANCELLED, 1);
		trace_ntsync_channel(NTSYNC_TRACE_CANCEL, e->id, e->prio,
				     e->sender_tid);
	}
	ntsync_free_channel_entry(e);
	ntsync_pi_work_finish(&w);
	return ret;
}

/* Take the best pending entry, waiting for one if @block. */
static int ntsync_channel_receive(struct ntsync_obj *ch, bool block,
				  struct ntsync_channel_msg *msg)
{
	struct ntsync_channel_receiver rcv;
	struct ntsync_channel_entry *e;
	struct ntsync_pi_work w;
	struct rb_node *first;
	bool drained = false;

	ntsync_pi_work_init(&w);

again:
	raw_spin_lock(&ch->lock);
	first = rb_first_cached(&ch->u.channel.pending);
	if (first) {
		e = rb_entry(first, struct ntsync_channel_entry, node);
		rb_erase_cached(first, &ch->u.channel.pending);
		ch->u.channel.depth--;
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_PENDING, -1);
		ntsync_channel_dispatch(ch, e, current, msg);
		raw_spin_unlock(&ch->lock);
		goto served;
	}
	if (!block) {
		raw_spin_unlock(&ch->lock);
		/* Nothing to serve: the previous request's boost ends. */
		ntsync_pi_slot_drain(NTSYNC_SLOT_CHANNEL, &w);
		ntsync_pi_work_finish(&w);
		return -EAGAIN;
	}
	if (!drained) {
		/*
		 * Nothing to serve: the previous request's boost ends, before
		 * we park, so that we are ranked at our own priority.
		 */
		raw_spin_unlock(&ch->lock);
		ntsync_pi_slot_drain(NTSYNC_SLOT_CHANNEL, &w);
		drained = true;
		goto again;
	}
	rcv.task = current;
	rcv.served = false;
	list_add_tail(&rcv.node, &ch->u.channel.receivers);
	raw_spin_unlock(&ch->lock);

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		/* Pairs with the sender's release: msg is complete. */
		if (smp_load_acquire(&rcv.served))
			break;
		if (signal_pending(current))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);

	/* Pairs with the sender's release, as above. */
	if (!smp_load_acquire(&rcv.served)) {
		bool served;

		raw_spin_lock(&ch->lock);
		served = rcv.served;
		if (!served)
			list_del(&rcv.node);
		raw_spin_unlock(&ch->lock);
		if (!served) {
			ntsync_pi_work_finish(&w);
			return -ERESTARTSYS;
		}
	}
	*msg = rcv.msg;
	/* The record dies with this frame; debug builds make that visible. */
	ntsync_debug_poison(&rcv, sizeof(rcv));
	ntsync_debug_delay(NTSYNC_DELAY_LEFT);

served:
	/* Serve the request at its sender's priority, until REPLY. */
	if (msg->prio)
		ntsync_pi_slot_apply(current, NTSYNC_SLOT_CHANNEL,
				     ntsync_msg_kprio(msg), msg->policy,
				     ch->dev, NULL, &w);
	else
		ntsync_pi_slot_drain(NTSYNC_SLOT_CHANNEL, &w);
	ntsync_pi_work_finish(&w);
	return 0;
}

/*
 * RECV, RECV2 and TRY_RECV2.  The output is written back as it was read
 * before anything is taken, so that an unwritable buffer fails with EFAULT
 * instead of losing a dispatched request.
 */
static int ntsync_channel_recv(struct ntsync_obj *ch, void __user *argp,
			       bool with_token, bool block)
{
	struct ntsync_channel_recv2_args args;
	size_t size = with_token ? sizeof(args) :
		      sizeof(struct ntsync_channel_recv_args);
	struct ntsync_channel_msg msg;
	int ret;

	if (copy_from_user(&args, argp, size) ||
	    copy_to_user(argp, &args, size))
		return -EFAULT;

	ret = ntsync_channel_receive(ch, block, &msg);
	if (ret)
		return ret;

	args.entry_id = msg.entry_id;
	args.payload_off = msg.payload_off;
	args.reply_off = msg.reply_off;
	args.sender_tid = msg.sender_tid;
	args.prio = msg.prio;
	args.thread_token = msg.thread_token;
	if (copy_to_user(argp, &args, size))
		return -EFAULT;
	return 0;
}

static int ntsync_channel_reply(struct ntsync_obj *ch, void __user *argp)
{
	struct ntsync_channel_entry *e, *found = NULL;
	struct task_struct *sender = NULL;
	struct ntsync_pi_work w;
	__u64 id;
	int ret = 0;

	if (get_user(id, (__u64 __user *)argp))
		return -EFAULT;

	raw_spin_lock(&ch->lock);
	list_for_each_entry(e, &ch->u.channel.dispatched, link) {
		if (e->id == id) {
			found = e;
			break;
		}
	}
	if (!found) {
		ret = -ENOENT;
	} else if (found->receiver_tgid != current->tgid) {
		ret = -EPERM;
	} else {
		list_del(&found->link);
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_DISPATCHED, -1);
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_REPLIES, 1);
		trace_ntsync_channel(NTSYNC_TRACE_REPLY, found->id, found->prio,
				     found->sender_tid);
		/* Our reference: the sender frees the entry once it sees this. */
		sender = found->sender;
		get_task_struct(sender);
		WRITE_ONCE(found->state, NTSYNC_ENTRY_REPLIED);
	}
	raw_spin_unlock(&ch->lock);

	if (sender) {
		wake_up_process(sender);
		put_task_struct(sender);
	}

	/*
	 * The caller is done serving, whatever the REPLY found (a request
	 * withdrawn meanwhile: ENOENT): its boost ends.
	 */
	ntsync_pi_work_init(&w);
	ntsync_pi_slot_drain(NTSYNC_SLOT_CHANNEL, &w);
	ntsync_pi_work_finish(&w);
	return ret;
}

static int ntsync_channel_register(struct ntsync_obj *ch, void __user *argp)
{
	struct ntsync_channel_register_thread_args args;
	struct ntsync_thread_reg *reg, *new;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.__pad || !args.tid)
		return -EINVAL;

	/* Allocated before the lock; freed after it if a replace made it moot. */
	new = kmalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	new->tid = args.tid;
	new->token = args.token;

	raw_spin_lock(&ch->lock);
	reg = ntsync_find_reg(ch, args.tid);
	if (reg) {
		reg->token = args.token;
	} else {
		hlist_add_head(&new->node, ntsync_reg_bucket(ch, args.tid));
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, 1);
		new = NULL;
	}
	raw_spin_unlock(&ch->lock);

	ntsync_kfree(new);
	return 0;
}

static int ntsync_channel_deregister(struct ntsync_obj *ch, void __user *argp)
{
	struct ntsync_thread_reg *reg;
	__u32 tid;

	if (get_user(tid, (__u32 __user *)argp))
		return -EFAULT;
	if (!tid)
		return -EINVAL;

	raw_spin_lock(&ch->lock);
	reg = ntsync_find_reg(ch, tid);
	if (reg) {
		hlist_del(&reg->node);
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, -1);
	}
	raw_spin_unlock(&ch->lock);

	/*
	 * Idempotent (the spec): a tid that is not registered is no error.
	 * Freed outside the lock: no slab call under a raw spinlock.
	 */
	ntsync_kfree(reg);
	return 0;
}

long ntsync_channel_ioctl(struct ntsync_obj *ch, unsigned int cmd,
			  void __user *argp)
{
	if (ch->type != NTSYNC_TYPE_CHANNEL)
		return -EINVAL;

	switch (cmd) {
	case NTSYNC_IOC_CHANNEL_SEND_PI:
		return ntsync_channel_send_pi(ch, argp);
	case NTSYNC_IOC_CHANNEL_RECV:
		return ntsync_channel_recv(ch, argp, false, true);
	case NTSYNC_IOC_CHANNEL_RECV2:
		return ntsync_channel_recv(ch, argp, true, true);
	case NTSYNC_IOC_CHANNEL_TRY_RECV2:
		return ntsync_channel_recv(ch, argp, true, false);
	case NTSYNC_IOC_CHANNEL_REPLY:
		return ntsync_channel_reply(ch, argp);
	case NTSYNC_IOC_CHANNEL_REGISTER_THREAD:
		return ntsync_channel_register(ch, argp);
	case NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD:
		return ntsync_channel_deregister(ch, argp);
	default:
		return -ENOIOCTLCMD;
	}
}
