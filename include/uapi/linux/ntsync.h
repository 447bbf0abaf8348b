/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ntsync-nspa: NT synchronization primitives on /dev/ntsync.
 *
 * The first part of this header is the upstream Linux (6.14+) ntsync ABI,
 * unchanged.  The second part holds the NSPA extensions used by Wine-NSPA:
 * priority-carrying event signals, request/reply channels and an aggregate
 * wait over objects and file descriptors.
 *
 * Every structure has the same size and layout on i386 and x86_64: members
 * are naturally aligned fixed-width integers, pointers travel as __u64, and
 * padding is explicit.  Padding and reserved members must be zero; a
 * non-zero value fails with EINVAL so that it can carry meaning later.
 */
#ifndef __LINUX_NTSYNC_H
#define __LINUX_NTSYNC_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* ---- Upstream ABI ------------------------------------------------------ */

struct ntsync_sem_args {
	__u32 count;
	__u32 max;
};

struct ntsync_mutex_args {
	__u32 owner;
	__u32 count;
};

struct ntsync_event_args {
	__u32 manual;
	__u32 signaled;
};

/* ntsync_wait_args.flags: the timeout is on CLOCK_REALTIME, not MONOTONIC. */
#define NTSYNC_WAIT_REALTIME	0x1

/*
 * ntsync_wait_args.timeout is an absolute time in nanoseconds; U64_MAX waits
 * forever.  objs points to an array of count (<= NTSYNC_MAX_WAIT_COUNT)
 * object fds.  On return index names the object that satisfied the wait, or
 * equals count when the alert event did.
 *
 * NSPA: pad is Wine-NSPA's uring_fd.  When non-zero it names an eventfd whose
 * readability ends the wait with index NTSYNC_INDEX_URING_READY.  Objects take
 * precedence over the eventfd, which is only polled, never read.
 */
struct ntsync_wait_args {
	__u64 timeout;
	__u64 objs;
	__u32 count;
	__u32 index;
	__u32 flags;
	__u32 owner;
	__u32 alert;
	__u32 pad;
};

#define NTSYNC_MAX_WAIT_COUNT	64

#define NTSYNC_IOC_CREATE_SEM		_IOW('N', 0x80, struct ntsync_sem_args)
#define NTSYNC_IOC_WAIT_ANY		_IOWR('N', 0x82, struct ntsync_wait_args)
#define NTSYNC_IOC_WAIT_ALL		_IOWR('N', 0x83, struct ntsync_wait_args)
#define NTSYNC_IOC_CREATE_MUTEX		_IOW('N', 0x84, struct ntsync_mutex_args)
#define NTSYNC_IOC_CREATE_EVENT		_IOW('N', 0x87, struct ntsync_event_args)

#define NTSYNC_IOC_SEM_RELEASE		_IOWR('N', 0x81, __u32)
#define NTSYNC_IOC_MUTEX_UNLOCK		_IOWR('N', 0x85, struct ntsync_mutex_args)
#define NTSYNC_IOC_MUTEX_KILL		_IOW('N', 0x86, __u32)
#define NTSYNC_IOC_EVENT_SET		_IOR('N', 0x88, __u32)
#define NTSYNC_IOC_EVENT_RESET		_IOR('N', 0x89, __u32)
#define NTSYNC_IOC_EVENT_PULSE		_IOR('N', 0x8a, __u32)
#define NTSYNC_IOC_SEM_READ		_IOR('N', 0x8b, struct ntsync_sem_args)
#define NTSYNC_IOC_MUTEX_READ		_IOR('N', 0x8c, struct ntsync_mutex_args)
#define NTSYNC_IOC_EVENT_READ		_IOR('N', 0x8d, struct ntsync_event_args)

/* ---- NSPA extensions --------------------------------------------------- */

/* ntsync_wait_args.index when the uring_fd (pad) eventfd ended the wait. */
#define NTSYNC_INDEX_URING_READY	0xFFFFFFFEu

/*
 * EVENT_SET_PI: signal an event like EVENT_SET and stage a one-shot boost
 * (policy, prio) that the waiter consuming the signal applies to itself.
 * flags and __pad must be zero.  prio 0 means "no boost" whatever policy
 * says: the call then behaves exactly like EVENT_SET.  A non-zero prio needs
 * policy SCHED_FIFO or SCHED_RR and 1 <= prio <= 99 (EINVAL otherwise), and
 * may not exceed what the caller could set for itself (its current RT
 * priority, RLIMIT_RTPRIO, or CAP_SYS_NICE): EPERM otherwise.
 */
struct ntsync_event_set_pi_args {
	__u32 flags;
	__u32 policy;
	__u32 prio;
	__u32 __pad;
};

/* CREATE_CHANNEL: 1 <= max_depth <= 1024; returns the channel fd. */
struct ntsync_channel_create_args {
	__u32 max_depth;
	__u32 __pad;
};

/*
 * CHANNEL_SEND_PI: queue a request and sleep until it is replied to.
 * payload_off and reply_off are opaque cookies carried to the receiver.
 * (policy, prio) follow the EVENT_SET_PI rules; prio 0 queues the entry
 * below every prioritised entry and boosts nobody.  EAGAIN when full.
 * Signals: while no receiver has taken the request, a signal withdraws it
 * and the call restarts (EINTR only after a handler without SA_RESTART);
 * once taken, the caller waits for the reply through every non-fatal
 * signal, and only a fatal one abandons it.  A request never runs twice
 * and its reply is never lost.
 */
struct ntsync_channel_send_args {
	__u32 policy;
	__u32 prio;
	__u64 payload_off;
	__u64 reply_off;
};

/* CHANNEL_RECV: take the highest-priority, oldest pending entry. */
struct ntsync_channel_recv_args {
	__u64 entry_id;
	__u64 payload_off;
	__u64 reply_off;
	__u32 sender_tid;
	__u32 prio;
};

/* CHANNEL_RECV2 / CHANNEL_TRY_RECV2: RECV plus the sender's token. */
struct ntsync_channel_recv2_args {
	__u64 entry_id;
	__u64 payload_off;
	__u64 reply_off;
	__u32 sender_tid;
	__u32 prio;
	__u64 thread_token;
};

/*
 * CHANNEL_REGISTER_THREAD: install or replace the token of tid.  A channel
 * holds at most 65536 tids: one more new tid fails with ENOSPC (replacing
 * the token of a registered tid still works; DEREGISTER_THREAD makes room).
 */
struct ntsync_channel_register_thread_args {
	__u32 tid;
	__u32 __pad;
	__u64 token;
};

/* ntsync_aggregate_source.type */
#define NTSYNC_AGG_OBJECT	1	/* ntsync object, or channel (notify only) */
#define NTSYNC_AGG_FD		2	/* any pollable fd; events is a poll mask */

struct ntsync_aggregate_source {
	__u32 type;
	__u32 events;
	__u32 fd;
	__u32 __pad;
};

#define NTSYNC_AGG_MAX			64
#define NTSYNC_AGG_FLAG_REALTIME	0x1
#define NTSYNC_AGG_TIMEOUT		0xFFFFFFFFu

/*
 * AGGREGATE_WAIT: wait for any of nb_sources sources (array at sources).
 * timeout is absolute in ns (CLOCK_MONOTONIC, or CLOCK_REALTIME with
 * NTSYNC_AGG_FLAG_REALTIME; U64_MAX waits forever).  On return fired_index
 * names the source and fired_events its poll events (NTSYNC_AGG_FD sources;
 * 0 for objects and channels), or fired_index is NTSYNC_AGG_TIMEOUT and the
 * call fails with ETIMEDOUT.
 */
struct ntsync_aggregate_wait_args {
	__u64 timeout;
	__u64 sources;
	__u32 nb_sources;
	__u32 fired_index;
	__u32 flags;
	__u32 owner;
	__u32 fired_events;
	__u32 __pad;
};

#define NTSYNC_IOC_EVENT_SET_PI		_IOW('N', 0x8e, struct ntsync_event_set_pi_args)
#define NTSYNC_IOC_CREATE_CHANNEL	_IOWR('N', 0x90, struct ntsync_channel_create_args)
#define NTSYNC_IOC_CHANNEL_SEND_PI	_IOWR('N', 0x91, struct ntsync_channel_send_args)
#define NTSYNC_IOC_CHANNEL_RECV		_IOWR('N', 0x92, struct ntsync_channel_recv_args)
#define NTSYNC_IOC_CHANNEL_REPLY	_IOW('N', 0x93, __u64)
#define NTSYNC_IOC_CHANNEL_REGISTER_THREAD \
	_IOW('N', 0x94, struct ntsync_channel_register_thread_args)
#define NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD	_IOW('N', 0x95, __u32)
#define NTSYNC_IOC_CHANNEL_RECV2	_IOWR('N', 0x96, struct ntsync_channel_recv2_args)
#define NTSYNC_IOC_AGGREGATE_WAIT	_IOWR('N', 0x97, struct ntsync_aggregate_wait_args)
#define NTSYNC_IOC_CHANNEL_TRY_RECV2	_IOWR('N', 0x98, struct ntsync_channel_recv2_args)

#endif /* __LINUX_NTSYNC_H */
