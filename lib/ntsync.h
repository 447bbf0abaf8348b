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
 * Naming: ntsync_<object>_<operation>.  NSPA extensions are expected to join
 * as ntsync_event_set_pi(), ntsync_channel_*(), ntsync_aggregate_wait(), ...
 */
#ifndef LIBNTSYNC_H
#define LIBNTSYNC_H

#include <stdint.h>
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

/* ---- Waits ----------------------------------------------------------- */

/*
 * Wait until one of @count objects (fds[0..count-1]) can be acquired and
 * acquire it (wait_any), or until all of them can be acquired at once and
 * acquire them all atomically (wait_all).
 *
 * @owner	mutex owner id used for any mutex among the objects
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
