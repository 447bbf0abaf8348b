// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: channels, the request/reply transport of Wine-NSPA's server.
 *
 * Owns: channel objects, their entries (one per request), their parked
 * receivers, and their tid -> token tables.
 *
 * Every structure a caller can grow is ordered, so that no section under
 * the channel's raw lock grows with a count a caller controls: pending
 * entries and parked receivers are rb-trees by rank, DISPATCHED entries an
 * rb-tree by id (REPLY, withdraw), thread tokens an rb-tree by tid, capped
 * at NTSYNC_CHANNEL_MAX_REGS per channel (ENOSPC for one more tid).
 *
 * A sender queues an entry with a priority and sleeps until the entry is
 * replied to.  Pending entries wait in an rb-tree ordered by priority, then
 * arrival; a receiver takes the first.  A receiver that finds none parks,
 * ranked by its priority, then arrival.  A new entry goes straight to the
 * best parked receiver (its priority re-read at that moment: see
 * ntsync_best_receiver()): the sender claims it under the channel's lock,
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
 * always its own.  Nothing is allocated or freed under it (a token is
 * allocated before it and freed after it), and tasks to wake are referenced
 * under it and woken after it is dropped.  The *_state helpers below
 * assert it.
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

/* An empty channel of @max_depth. */
VISIBLE_IF_KUNIT void ntsync_channel_init_state(struct ntsync_obj *ch,
						__u32 max_depth)
{
	ch->u.channel.pending = RB_ROOT_CACHED;
	ch->u.channel.dispatched = RB_ROOT;
	ch->u.channel.receivers = RB_ROOT_CACHED;
	ch->u.channel.regs = RB_ROOT;
	ch->u.channel.max_depth = max_depth;
}

/* ---- Thread tokens: an rb-tree by tid, at most NTSYNC_CHANNEL_MAX_REGS. */

static int ntsync_reg_cmp(const void *key, const struct rb_node *node)
{
	__u32 tid = *(const __u32 *)key;
	__u32 other = rb_entry(node, struct ntsync_thread_reg, node)->tid;

	return tid < other ? -1 : tid > other;
}

static bool ntsync_reg_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct ntsync_thread_reg, node)->tid <
	       rb_entry(b, struct ntsync_thread_reg, node)->tid;
}

VISIBLE_IF_KUNIT struct ntsync_thread_reg *
ntsync_reg_find_state(struct ntsync_obj *ch, __u32 tid)
{
	struct rb_node *node;

	lockdep_assert_held(&ch->lock);
	node = rb_find(&tid, &ch->u.channel.regs, ntsync_reg_cmp);
	return node ? rb_entry(node, struct ntsync_thread_reg, node) : NULL;
}

/*
 * Give (*@new)->tid the token (*@new)->token.  A registered tid has its
 * token replaced, and *@new stays the caller's; otherwise *@new goes into
 * the table and *@new becomes NULL, unless the table is full: -ENOSPC.
 * The caller frees a *@new left to it, after dropping the lock.
 */
VISIBLE_IF_KUNIT int ntsync_reg_set_state(struct ntsync_obj *ch,
					  struct ntsync_thread_reg **new)
{
	struct ntsync_thread_reg *reg;

	lockdep_assert_held(&ch->lock);
	reg = ntsync_reg_find_state(ch, (*new)->tid);
	if (reg) {
		reg->token = (*new)->token;
		return 0;
	}
	if (ch->u.channel.nr_regs >= NTSYNC_CHANNEL_MAX_REGS)
		return -ENOSPC;
	rb_add(&(*new)->node, &ch->u.channel.regs, ntsync_reg_less);
	ch->u.channel.nr_regs++;
	ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, 1);
	*new = NULL;
	return 0;
}

/* Take @tid's registration out of the table: the caller frees it, unlocked. */
VISIBLE_IF_KUNIT struct ntsync_thread_reg *
ntsync_reg_remove_state(struct ntsync_obj *ch, __u32 tid)
{
	struct ntsync_thread_reg *reg = ntsync_reg_find_state(ch, tid);

	if (reg) {
		rb_erase(&reg->node, &ch->u.channel.regs);
		ch->u.channel.nr_regs--;
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, -1);
	}
	return reg;
}

/* ---- DISPATCHED entries: an rb-tree by id (unique). */

static int ntsync_dispatched_cmp(const void *key, const struct rb_node *node)
{
	__u64 id = *(const __u64 *)key;
	__u64 other = rb_entry(node, struct ntsync_channel_entry, id_node)->id;

	return id < other ? -1 : id > other;
}

static bool ntsync_dispatched_less(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct ntsync_channel_entry, id_node)->id <
	       rb_entry(b, struct ntsync_channel_entry, id_node)->id;
}

VISIBLE_IF_KUNIT void ntsync_dispatched_add_state(struct ntsync_obj *ch,
						  struct ntsync_channel_entry *e)
{
	lockdep_assert_held(&ch->lock);
	rb_add(&e->id_node, &ch->u.channel.dispatched, ntsync_dispatched_less);
	ntsync_stat_add(NTSYNC_STAT_CHANNEL_DISPATCHED, 1);
}

VISIBLE_IF_KUNIT struct ntsync_channel_entry *
ntsync_dispatched_find_state(struct ntsync_obj *ch, __u64 id)
{
	struct rb_node *node;

	lockdep_assert_held(&ch->lock);
	node = rb_find(&id, &ch->u.channel.dispatched, ntsync_dispatched_cmp);
	return node ? rb_entry(node, struct ntsync_channel_entry, id_node) :
		      NULL;
}

VISIBLE_IF_KUNIT void
ntsync_dispatched_remove_state(struct ntsync_obj *ch,
			       struct ntsync_channel_entry *e)
{
	lockdep_assert_held(&ch->lock);
	rb_erase(&e->id_node, &ch->u.channel.dispatched);
	ntsync_stat_add(NTSYNC_STAT_CHANNEL_DISPATCHED, -1);
}

/*
 * ---- Parked receivers: an rb-tree by (kernel priority, park order).
 *
 * The key is the receiver's task->prio when it parked.  Its priority can
 * change while it is parked (a boost, a sched_setattr()), and nothing tells
 * us, so a pick re-reads priorities, within a bound (see
 * ntsync_best_receiver()): those of the first NTSYNC_CHANNEL_RECHECK
 * receivers in the order, then that of the first again while it changed,
 * at most NTSYNC_CHANNEL_RECHECK more times.  A changed receiver is
 * requeued at its new priority, keeping its park order.  So the receiver
 * picked ranks by its priority now unless 2 * NTSYNC_CHANNEL_RECHECK
 * receivers changed at once, and one that rises while
 * NTSYNC_CHANNEL_RECHECK others rank before it keeps its old rank until it
 * is among the first.  At most 2 * NTSYNC_CHANNEL_RECHECK re-reads and
 * requeues, O(log n) each, per pick.
 */
static bool ntsync_receiver_less(struct rb_node *a, const struct rb_node *b)
{
	const struct ntsync_channel_receiver *ra =
		rb_entry(a, struct ntsync_channel_receiver, node);
	const struct ntsync_channel_receiver *rb =
		rb_entry(b, struct ntsync_channel_receiver, node);

	if (ra->prio != rb->prio)
		return ra->prio < rb->prio;
	return ra->seq < rb->seq;
}

/* Park @rcv (its task set) at its task's priority now, after the others. */
VISIBLE_IF_KUNIT void
ntsync_receiver_park_state(struct ntsync_obj *ch,
			   struct ntsync_channel_receiver *rcv)
{
	lockdep_assert_held(&ch->lock);
	rcv->prio = READ_ONCE(rcv->task->prio);
	rcv->seq = ++ch->u.channel.next_park;
	rb_add_cached(&rcv->node, &ch->u.channel.receivers,
		      ntsync_receiver_less);
}

VISIBLE_IF_KUNIT void
ntsync_receiver_unpark_state(struct ntsync_obj *ch,
			     struct ntsync_channel_receiver *rcv)
{
	lockdep_assert_held(&ch->lock);
	rb_erase_cached(&rcv->node, &ch->u.channel.receivers);
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
	ntsync_dispatched_add_state(ch, e);
	trace_ntsync_channel(NTSYNC_TRACE_RECV, e->id, e->prio, e->sender_tid);

	msg->entry_id = e->id;
	msg->payload_off = e->payload_off;
	msg->reply_off = e->reply_off;
	msg->sender_tid = e->sender_tid;
	msg->prio = e->prio;
	msg->policy = e->policy;
	/* Looked up now, so a token registered after the send counts. */
	reg = ntsync_reg_find_state(ch, e->sender_tid);
	msg->thread_token = reg ? reg->token : 0;
}

/* Rank @rcv by its task's priority now; false if it had not changed. */
static bool ntsync_receiver_requeue_state(struct ntsync_obj *ch,
					  struct ntsync_channel_receiver *rcv)
{
	int prio = READ_ONCE(rcv->task->prio);

	lockdep_assert_held(&ch->lock);
	if (prio == rcv->prio)
		return false;
	rb_erase_cached(&rcv->node, &ch->u.channel.receivers);
	rcv->prio = prio;
	rb_add_cached(&rcv->node, &ch->u.channel.receivers,
		      ntsync_receiver_less);
	return true;
}

/*
 * The parked receiver to serve (left parked): best priority, then earliest
 * parked, after the bounded re-read of priorities described above.  NULL
 * if none is parked.
 */
VISIBLE_IF_KUNIT struct ntsync_channel_receiver *
ntsync_best_receiver(struct ntsync_obj *ch)
{
	struct ntsync_channel_receiver *window[NTSYNC_CHANNEL_RECHECK];
	struct ntsync_channel_receiver *first;
	unsigned int i, n = 0;
	struct rb_node *node;

	lockdep_assert_held(&ch->lock);
	/* The first ones, collected before any moves: each is read once. */
	for (node = rb_first_cached(&ch->u.channel.receivers);
	     node && n < NTSYNC_CHANNEL_RECHECK; node = rb_next(node))
		window[n++] = rb_entry(node, struct ntsync_channel_receiver,
				       node);
	for (i = 0; i < n; i++)
		ntsync_receiver_requeue_state(ch, window[i]);
	/* A first that was beyond them may have changed too. */
	for (i = 0; i < NTSYNC_CHANNEL_RECHECK; i++) {
		node = rb_first_cached(&ch->u.channel.receivers);
		if (!node)
			break;
		first = rb_entry(node, struct ntsync_channel_receiver, node);
		if (!ntsync_receiver_requeue_state(ch, first))
			break;
	}
	node = rb_first_cached(&ch->u.channel.receivers);
	return node ? rb_entry(node, struct ntsync_channel_receiver, node) :
		      NULL;
}

int ntsync_create_channel(struct ntsync_device *dev, void __user *argp)
{
	struct ntsync_channel_create_args args;
	struct ntsync_obj *ch;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.__pad || !args.max_depth ||
	    args.max_depth > NTSYNC_CHANNEL_MAX_DEPTH)
		return -EINVAL;

	ch = ntsync_alloc_obj(dev, NTSYNC_TYPE_CHANNEL);
	if (!ch)
		return -ENOMEM;
	ntsync_channel_init_state(ch, args.max_depth);
	return ntsync_publish_obj(ch);
}

/*
 * The channel's file is gone: no sender, receiver or replier is left, so
 * the tokens are freed without the lock.
 */
void ntsync_channel_destroy(struct ntsync_obj *ch)
{
	struct ntsync_thread_reg *reg, *tmp;

	WARN_ON(!RB_EMPTY_ROOT(&ch->u.channel.pending.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&ch->u.channel.dispatched));
	WARN_ON(!RB_EMPTY_ROOT(&ch->u.channel.receivers.rb_root));
	rbtree_postorder_for_each_entry_safe(reg, tmp, &ch->u.channel.regs,
					     node) {
		ntsync_stat_add(NTSYNC_STAT_CHANNEL_REGISTRATIONS, -1);
		ntsync_kfree(reg);
	}
	ch->u.channel.regs = RB_ROOT;
	ch->u.channel.nr_regs = 0;
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
 * Nobody has taken the entry yet: the dispatcher notified for it is still
 * to come for it (once taken, whoever took it carries its boost).
 */
static bool ntsync_entry_still_pending(void *arg)
{
	struct ntsync_entry_ref *ref = arg;
	bool pending;

	raw_spin_lock(&ref->ch->lock);
	pending = ref->e->state == NTSYNC_ENTRY_PENDING;
	raw_spin_unlock(&ref->ch->lock);
	return pending;
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
		ntsync_dispatched_remove_state(ch, e);
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
	bool notified = false;
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
			ntsync_receiver_unpark_state(ch, rcv);
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
			notified = true;
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

		ntsync_debug_sleep_once(NTSYNC_DELAY_PREBOOST);
		/*
		 * Boost the receiver before it runs: it serves us (a parked
		 * one), or comes to take our entry (a notified dispatcher).
		 * It may be running already (it saw itself served, or was
		 * claimed before it slept): the boost is dropped if our entry
		 * was replied to (parked) or taken by anyone (notified)
		 * meanwhile, and never lowers a request's boost it set itself
		 * in between.
		 */
		if (e->prio)
			ntsync_pi_slot_raise_if(target, NTSYNC_SLOT_CHANNEL,
						MAX_RT_PRIO - 1 - (int)e->prio,
						e->policy, ch->dev, &w,
						notified ? ntsync_entry_still_pending :
							   ntsync_entry_unreplied,
						&ref);
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
	ntsync_receiver_park_state(ch, &rcv);
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
			ntsync_receiver_unpark_state(ch, &rcv);
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
	struct ntsync_channel_entry *found;
	struct task_struct *sender = NULL;
	struct ntsync_pi_work w;
	__u64 id;
	int ret = 0;

	if (get_user(id, (__u64 __user *)argp))
		return -EFAULT;

	raw_spin_lock(&ch->lock);
	found = ntsync_dispatched_find_state(ch, id);
	if (!found) {
		ret = -ENOENT;
	} else if (found->receiver_tgid != current->tgid) {
		ret = -EPERM;
	} else {
		ntsync_dispatched_remove_state(ch, found);
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
	struct ntsync_thread_reg *new;
	int ret;

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
	ret = ntsync_reg_set_state(ch, &new);
	raw_spin_unlock(&ch->lock);

	/* A replace or a full table left it to us: freed unlocked. */
	ntsync_kfree(new);
	return ret;
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
	reg = ntsync_reg_remove_state(ch, tid);
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
