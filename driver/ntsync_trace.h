/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ntsync-nspa tracepoints (trace-cmd / perf: the "ntsync" system).  No
 * lock of their own; each fires where the event it names happens.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ntsync

#if !defined(_NTSYNC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NTSYNC_TRACE_H

#include <linux/sched.h>
#include <linux/tracepoint.h>

TRACE_EVENT(ntsync_wait_begin,
	    TP_PROTO(unsigned int kind, __u32 count, __u32 owner),
	    TP_ARGS(kind, count, owner),
	    TP_STRUCT__entry(__field(unsigned int, kind)
			     __field(__u32, count)
			     __field(__u32, owner)),
	    TP_fast_assign(__entry->kind = kind;
			   __entry->count = count;
			   __entry->owner = owner;),
	    TP_printk("kind=%s count=%u owner=%u",
		      __print_symbolic(__entry->kind, { 0, "any" }, { 1, "all" },
				       { 2, "aggregate" }),
		      __entry->count, __entry->owner)
);

TRACE_EVENT(ntsync_wait_end,
	    TP_PROTO(unsigned int kind, int result, __u32 index),
	    TP_ARGS(kind, result, index),
	    TP_STRUCT__entry(__field(unsigned int, kind)
			     __field(int, result)
			     __field(__u32, index)),
	    TP_fast_assign(__entry->kind = kind;
			   __entry->result = result;
			   __entry->index = index;),
	    TP_printk("kind=%s result=%d index=%u",
		      __print_symbolic(__entry->kind, { 0, "any" }, { 1, "all" },
				       { 2, "aggregate" }),
		      __entry->result, __entry->index)
);

TRACE_EVENT(ntsync_wake,
	    TP_PROTO(struct task_struct *task, __u32 index),
	    TP_ARGS(task, index),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(int, prio)
			     __field(__u32, index)),
	    TP_fast_assign(__entry->pid = task->pid;
			   __entry->prio = task->prio;
			   __entry->index = index;),
	    TP_printk("pid=%d prio=%d index=%u",
		      __entry->pid, __entry->prio, __entry->index)
);

TRACE_EVENT(ntsync_pi_boost,
	    TP_PROTO(struct task_struct *task, int old_prio, int new_prio,
		     unsigned int reason),
	    TP_ARGS(task, old_prio, new_prio, reason),
	    TP_STRUCT__entry(__field(pid_t, pid)
			     __field(int, old_prio)
			     __field(int, new_prio)
			     __field(unsigned int, reason)),
	    TP_fast_assign(__entry->pid = task->pid;
			   __entry->old_prio = old_prio;
			   __entry->new_prio = new_prio;
			   __entry->reason = reason;),
	    TP_printk("pid=%d old_prio=%d new_prio=%d reason=%s",
		      __entry->pid, __entry->old_prio, __entry->new_prio,
		      __print_symbolic(__entry->reason, { 0, "applied" },
				       { 1, "changed" }, { 2, "restored" },
				       { 3, "skipped" }))
);

TRACE_EVENT(ntsync_event_pi,
	    TP_PROTO(unsigned int action, __u32 policy, int prio),
	    TP_ARGS(action, policy, prio),
	    TP_STRUCT__entry(__field(unsigned int, action)
			     __field(__u32, policy)
			     __field(int, prio)),
	    TP_fast_assign(__entry->action = action;
			   __entry->policy = policy;
			   __entry->prio = prio;),
	    TP_printk("action=%s policy=%u prio=%d",
		      __print_symbolic(__entry->action, { 0, "staged" },
				       { 1, "consumed" }, { 2, "cancelled" }),
		      __entry->policy, __entry->prio)
);

TRACE_EVENT(ntsync_channel,
	    TP_PROTO(unsigned int action, __u64 id, __u32 prio, pid_t sender),
	    TP_ARGS(action, id, prio, sender),
	    TP_STRUCT__entry(__field(unsigned int, action)
			     __field(__u64, id)
			     __field(__u32, prio)
			     __field(pid_t, sender)),
	    TP_fast_assign(__entry->action = action;
			   __entry->id = id;
			   __entry->prio = prio;
			   __entry->sender = sender;),
	    TP_printk("action=%s id=%llu prio=%u sender=%d",
		      __print_symbolic(__entry->action, { 0, "send" }, { 1, "recv" },
				       { 2, "reply" }, { 3, "cancel" }),
		      __entry->id, __entry->prio, __entry->sender)
);
#endif /* _NTSYNC_TRACE_H */

/* An out-of-tree module: the header is found next to its users. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ntsync_trace
#include <trace/define_trace.h>
