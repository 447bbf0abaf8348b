/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libntsync: a thin C11 wrapper over the /dev/ntsync ioctls.
 *
 * Return convention (every function returning int):
 *   >= 0   success.  Creation functions return the new file descriptor
 *          (close-on-exec), everything else returns 0.
 *   <  0   failure, as a NEGATIVE errno value (-EINVAL, -ETIMEDOUT, ...).
 *          errno itself is not part of the contract: use the return value.
 *
 * Two results are failures that still carry data, exactly as the kernel
 * reports them:
 *   -EOWNERDEAD from ntsync_mutex_read(): the mutex is abandoned; *owner and
 *               *count are written (both 0).
 *   -EOWNERDEAD from ntsync_wait_any()/ntsync_wait_all(): an abandoned mutex
 *               was acquired; the wait otherwise succeeded and *index is
 *               written.
 * On any other failure the output parameters are left untouched.
 *
 * Output pointers are mandatory: a NULL output pointer, a NULL fd array with
 * a non-zero count, or a negative alert fd is rejected with -EINVAL before
 * any system call is made.  Anything the library cannot see (bad fds, limits,
 * object types, flags) is left to the kernel to judge.
 *
 * Interrupted waits are not restarted by the library: -EINTR is returned when
 * the kernel reports it (i.e. when a signal handler without SA_RESTART ran).
 *
 * The library keeps no global state and allocates no memory; every function
 * is safe to call from any thread.
 *
 * Naming: ntsync_<object>_<operation>.  NSPA extensions follow the same
 * scheme: ntsync_event_set_pi() is here; ntsync_channel_*() and
 * ntsync_aggregate_wait() are expected to join.
 */
#ifndef LIBNTSYNC_H
#define LIBNTSYNC_H

/*
 * Strict -std=c99/c11/c17 without feature macros must work: clockid_t comes
 * from <sys/types.h> (<time.h> has it only with POSIX feature macros), and
 * NTSYNC_CLOCK_* stand in for CLOCK_MONOTONIC/CLOCK_REALTIME there.
 */
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Path of the character device. */
#define NTSYNC_DEVICE_PATH		"/dev/ntsync"

/* Absolute timeout value meaning "wait forever". */
#define NTSYNC_TIMEOUT_INFINITE		UINT64_MAX

/* Value for the alert parameter of the wait functions: no alert event. */
#define NTSYNC_NO_ALERT			0

/* The clocks of the wait deadlines: Linux's CLOCK_MONOTONIC and
 * CLOCK_REALTIME (fixed ABI values), usable where <time.h> hides them. */
#define NTSYNC_CLOCK_MONOTONIC		((clockid_t)1)
#define NTSYNC_CLOCK_REALTIME		((clockid_t)0)

/* ---- Device ---------------------------------------------------------- */

/* Open a new ntsync instance (O_RDONLY | O_CLOEXEC).  Returns the fd. */
int ntsync_open(void);

/* close() returning 0 or a negative errno. */
int ntsync_close(int fd);

/* ---- Semaphores ------------------------------------------------------ */

/* Create a semaphore with the given initial count and maximum. */
int ntsync_sem_create(int dev, uint32_t count, uint32_t max);

/* Add @add to the count; *prev receives the count before the release. */
int ntsync_sem_release(int sem, uint32_t add, uint32_t *prev);

/* Read the current count and the maximum. */
int ntsync_sem_read(int sem, uint32_t *count, uint32_t *max);

/* ---- Mutexes --------------------------------------------------------- */

/* Create a mutex; owner 0 with count 0 creates it unowned. */
int ntsync_mutex_create(int dev, uint32_t owner, uint32_t count);

/* Release one level of recursion held by @owner; *prev_count receives the
 * recursion count before the call. */
int ntsync_mutex_unlock(int mutex, uint32_t owner, uint32_t *prev_count);

/* Mark the mutex abandoned if @owner holds it. */
int ntsync_mutex_kill(int mutex, uint32_t owner);

/* Read owner and recursion count (-EOWNERDEAD if abandoned, see above). */
int ntsync_mutex_read(int mutex, uint32_t *owner, uint32_t *count);

/* ---- Events ---------------------------------------------------------- */

/* Create an event; any non-zero value means true. */
int ntsync_event_create(int dev, uint32_t manual, uint32_t signaled);

/* Signal / unsignal / pulse; *prev receives the state before (0 or 1). */
int ntsync_event_set(int event, uint32_t *prev);
int ntsync_event_reset(int event, uint32_t *prev);
int ntsync_event_pulse(int event, uint32_t *prev);

/* Read the state (0/1) and the type (manual 1, auto-reset 0). */
int ntsync_event_read(int event, uint32_t *signaled, uint32_t *manual);

/*
 * NSPA: signal the event exactly like ntsync_event_set() and stage a
 * one-shot boost: the waiter whose wait consumes this signal sets itself to
 * (@policy, @prio) before its wait returns, until its next wait.  @prio 0
 * means "no boost" whatever @policy says (then exactly ntsync_event_set()).
 * Otherwise @policy must be SCHED_FIFO or SCHED_RR and 1 <= @prio <= 99
 * (-EINVAL), and @prio may not exceed what the caller could set for itself
 * (-EPERM).  Returns 0 or a negative errno; there is no "previous state".
 */
int ntsync_event_set_pi(int event, uint32_t policy, uint32_t prio);

/* ---- Waits ----------------------------------------------------------- */

/*
 * Wait until one of @count objects (fds[0..count-1]) can be acquired and
 * acquire it (wait_any), or until all of them can be acquired at once and
 * acquire them all atomically (wait_all).
 *
 * @owner	mutex owner id used for any mutex among the objects; never 0
 * @alert	an event fd that also ends the wait, or NTSYNC_NO_ALERT (0)
 * @abs_timeout_ns  absolute deadline on CLOCK_MONOTONIC, or CLOCK_REALTIME
 *		when @flags has NTSYNC_WAIT_REALTIME; NTSYNC_TIMEOUT_INFINITE
 *		waits forever (see ntsync_deadline_ns())
 * @flags	0 or NTSYNC_WAIT_REALTIME
 * @index	on success: the index of the acquired object (wait_any), 0
 *		(wait_all), or @count when the alert ended the wait
 *
 * Returns 0, -ETIMEDOUT, -EOWNERDEAD (acquired, see above), -EINTR, ...
 */
int ntsync_wait_any(int dev, const int *fds, uint32_t count, uint32_t owner,
		    int alert, uint64_t abs_timeout_ns, uint32_t flags,
		    uint32_t *index);
int ntsync_wait_all(int dev, const int *fds, uint32_t count, uint32_t owner,
		    int alert, uint64_t abs_timeout_ns, uint32_t flags,
		    uint32_t *index);

/* ---- Time helpers ---------------------------------------------------- */

/* Current time of @clk in nanoseconds (0 if the clock cannot be read). */
uint64_t ntsync_now_ns(clockid_t clk);

/*
 * Absolute deadline @rel_ns nanoseconds from now on @clk, suitable for the
 * wait functions (use CLOCK_REALTIME together with NTSYNC_WAIT_REALTIME).
 * A negative @rel_ns gives a deadline in the past (clamped at 0).  The result
 * saturates at INT64_MAX, the largest deadline the kernel represents (it
 * keeps deadlines as signed 64-bit nanoseconds: larger finite values other
 * than NTSYNC_TIMEOUT_INFINITE would read as negative, i.e. already past).
 */
uint64_t ntsync_deadline_ns(clockid_t clk, int64_t rel_ns);

#ifdef __cplusplus
}
#endif

#endif /* LIBNTSYNC_H */

/* ====================================================================== */
/*
 * NSPA channels, AGGREGATE_WAIT and waits with a uring_fd
 * (lib/ntsync_channel.c).  Same conventions as above.  The argument
 * structures are those of the kernel header: include <linux/ntsync.h> (this
 * project's include/uapi) to use them.
 */
#ifndef LIBNTSYNC_CHANNEL_H
#define LIBNTSYNC_CHANNEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ntsync_channel_recv_args;
struct ntsync_channel_recv2_args;
struct ntsync_aggregate_source;

/* Create a channel holding at most @max_depth (1..1024) pending requests.
 * Returns the channel fd. */
int ntsync_channel_create(int dev, uint32_t max_depth);

/*
 * Queue a request (@payload_off and @reply_off are opaque to the kernel)
 * and sleep until a receiver replies to it: 0 then.  @prio 0 = no boost,
 * queued after every prioritised request; 1..99 needs @policy SCHED_FIFO or
 * SCHED_RR (-EINVAL) and a priority the caller could set for itself
 * (-EPERM).  -EAGAIN when @max_depth requests are pending.  A signal while
 * no receiver has the request withdraws it and restarts the call (-EINTR
 * only after a handler without SA_RESTART); once received, the call waits
 * for the reply through every non-fatal signal.
 */
int ntsync_channel_send(int channel, uint32_t policy, uint32_t prio,
			uint64_t payload_off, uint64_t reply_off);

/*
 * Take the best pending request (highest prio, oldest first), sleeping
 * until one comes (-EINTR if a signal handler without SA_RESTART ran).  The
 * caller then runs at the request's priority until its next reply or
 * receive.  recv2 also returns the token registered for the sender's tid
 * (0 if none); try_recv2 never sleeps and returns -EAGAIN when nothing is
 * pending.  *out is written on success only.
 */
int ntsync_channel_recv(int channel, struct ntsync_channel_recv_args *out);
int ntsync_channel_recv2(int channel, struct ntsync_channel_recv2_args *out);
int ntsync_channel_try_recv2(int channel,
			     struct ntsync_channel_recv2_args *out);

/* Wake the sender of @entry_id.  -ENOENT if there is no such received,
 * unreplied request; -EPERM if another process received it. */
int ntsync_channel_reply(int channel, uint64_t entry_id);

/* Install or replace (register) / remove (deregister, 0 also if absent)
 * the token that recv2 returns for requests sent by thread @tid (not 0). */
int ntsync_channel_register_thread(int channel, uint32_t tid, uint64_t token);
int ntsync_channel_deregister_thread(int channel, uint32_t tid);

/*
 * Wait until one of @nb_sources (1..64) sources fires: an ntsync object
 * (consumed as ntsync_wait_any() would), a channel (fires while a request
 * is pending; nothing is consumed) or a pollable fd (fires on its events,
 * errors or hangup).  @owner is the mutex owner id, @abs_timeout_ns and
 * @flags (0 or NTSYNC_AGG_FLAG_REALTIME) as for the waits above.
 * *fired_index and *fired_events (which may be NULL) are written on
 * success, on -EOWNERDEAD (an abandoned mutex was acquired) and on
 * -ETIMEDOUT (*fired_index = NTSYNC_AGG_TIMEOUT).
 */
int ntsync_aggregate_wait(int dev, const struct ntsync_aggregate_source *sources,
			  uint32_t nb_sources, uint32_t owner,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *fired_index, uint32_t *fired_events);

/*
 * ntsync_wait_any() / ntsync_wait_all() that also end when the eventfd
 * @uring_fd is readable: 0 with *index = NTSYNC_INDEX_URING_READY, unless
 * the object(s) could be taken too, which then win.  The eventfd is not
 * read.  @uring_fd 0 means none (as plain ntsync_wait_any/all).
 */
int ntsync_wait_any_uring(int dev, const int *fds, uint32_t count,
			  uint32_t owner, int alert, int uring_fd,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *index);
int ntsync_wait_all_uring(int dev, const int *fds, uint32_t count,
			  uint32_t owner, int alert, int uring_fd,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *index);

#ifdef __cplusplus
}
#endif

#endif /* LIBNTSYNC_CHANNEL_H */
