/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared helpers for the ntsync functional tests: object creation that
 * asserts success, state checks, raw ioctls, time, and threads with a
 * readiness handshake plus "is this thread asleep in the kernel" detection;
 * for every suite, the capability check and the "--seconds N" option of the
 * time-bounded tests.
 *
 * Macros named NT_CHECK_* assert (they end the test on mismatch) and report
 * the caller's file:line.
 */
#ifndef NT_UTIL_H
#define NT_UTIL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <linux/ntsync.h>

#include "ntsync.h"
#include "nt_test.h"

/* Generous bound for anything that must happen "soon" (slow TCG VMs). */
#define NT_SOON_MS		10000u

/* Poison written into output fields before a call. */
#define NT_POISON		0xDEADBEEFu
/* Owner id of waits that acquire no mutex: every wait names one (0 is EINVAL). */
#define NT_WAIT_OWNER		1u

/* ---- Objects --------------------------------------------------------- */

/* Open /dev/ntsync; ends the test with a clear message if impossible. */
int nt_dev(void);

/* Create objects; the test ends if creation fails. */
#define nt_sem(dev, count, max) \
	nt_sem_at(__FILE__, __LINE__, dev, count, max)
#define nt_mutex(dev, owner, count) \
	nt_mutex_at(__FILE__, __LINE__, dev, owner, count)
#define nt_event(dev, manual, signaled) \
	nt_event_at(__FILE__, __LINE__, dev, manual, signaled)

int nt_sem_at(const char *file, int line, int dev, uint32_t count,
	      uint32_t max);
int nt_mutex_at(const char *file, int line, int dev, uint32_t owner,
		uint32_t count);
int nt_event_at(const char *file, int line, int dev, uint32_t manual,
		uint32_t signaled);

/* State checks. */
#define NT_CHECK_SEM(sem, count, max) \
	nt_check_sem(__FILE__, __LINE__, sem, count, max)
#define NT_CHECK_MUTEX(mutex, owner, count) \
	nt_check_mutex(__FILE__, __LINE__, mutex, owner, count)
#define NT_CHECK_MUTEX_ABANDONED(mutex) \
	nt_check_mutex_abandoned(__FILE__, __LINE__, mutex)
#define NT_CHECK_EVENT(event, manual, signaled) \
	nt_check_event(__FILE__, __LINE__, event, manual, signaled)

void nt_check_sem(const char *file, int line, int sem, uint32_t count,
		  uint32_t max);
void nt_check_mutex(const char *file, int line, int mutex, uint32_t owner,
		    uint32_t count);
void nt_check_mutex_abandoned(const char *file, int line, int mutex);
void nt_check_event(const char *file, int line, int event, uint32_t manual,
		    uint32_t signaled);

/* Shorthands that assert success and return the previous value. */
uint32_t nt_release(int sem, uint32_t add);
uint32_t nt_set(int event);
uint32_t nt_reset(int event);
uint32_t nt_unlock(int mutex, uint32_t owner);

/* Raw ioctl in the negative-errno convention (for malformed calls). */
int nt_ioctl(int fd, unsigned long request, void *arg);

/* Raw wait with a fully caller-controlled argument block. */
int nt_wait_raw(int dev, bool all, struct ntsync_wait_args *args);

/* Fill a wait block for fds/count/owner with a deadline @ms from now
 * (monotonic); alert, flags, pad 0; index poisoned. */
void nt_wait_args_init(struct ntsync_wait_args *args, const int *fds,
		       uint32_t count, uint32_t owner, unsigned int ms);

/* Address that faults (an unmapped page), for EFAULT tests. */
void *nt_bad_ptr(void);

/* A copy of @len bytes of @src on a page of its own that can be read but
 * not written (@len at most a page): an input that is fine and an output
 * that faults.  nt_unmap_readonly() gives it back. */
void *nt_readonly_copy(const void *src, size_t len);
void nt_unmap_readonly(void *p);

/* Address whose first @valid bytes are readable/writable and the bytes right
 * after them fault (end of a mapped page followed by an unmapped one). */
void *nt_edge_ptr(size_t valid);

/* ---- Time ------------------------------------------------------------ */

uint64_t nt_now_ns(clockid_t clk);
uint64_t nt_mono_ns(void);
/* Absolute CLOCK_MONOTONIC deadline @ms from now. */
uint64_t nt_deadline_ms(unsigned int ms);
/* Deadline in the past (already expired): immediate try. */
#define NT_NOW_DEADLINE	0ull
/* Milliseconds elapsed since @start_ns (monotonic). */
uint64_t nt_elapsed_ms(uint64_t start_ns);
void nt_sleep_ms(unsigned int ms);
/* One nanosleep of @us microseconds (a signal may end it early). */
void nt_sleep_us(unsigned int us);

/* ---- Threads --------------------------------------------------------- */

struct nt_thread {
	pthread_t handle;
	pid_t tid;
	void *(*fn)(void *);
	void *arg;
	sem_t ready;
	atomic_bool done;
	bool joined;
};

/* Start @fn(@arg) in a thread; returns once the thread runs and t->tid is
 * known.  The thread's first action after the handshake is fn(). */
void nt_thread_start(struct nt_thread *t, void *(*fn)(void *), void *arg);

/* Join within @ms; returns 0, or ETIMEDOUT if the thread is still running. */
int nt_thread_join_ms(struct nt_thread *t, unsigned int ms);

/* Join; the test fails if the thread does not end within NT_SOON_MS. */
void nt_thread_join(struct nt_thread *t);

bool nt_thread_done(const struct nt_thread *t);

/* Pin the calling thread to CPU @cpu; threads it starts afterwards inherit
 * that.  Ends the test on failure. */
void nt_pin_self(int cpu);

/*
 * Wait until thread @tid sleeps in the kernel inside an ioctl: its
 * /proc/self/task/<tid>/stat state is S or D and, where
 * /proc/self/task/<tid>/syscall is readable, its current system call is
 * ioctl.  Ends the test if that does not happen within NT_SOON_MS.
 */
void nt_wait_blocked(pid_t tid);

/* Read a small file (e.g. under /proc) into @buf, NUL-terminated; false
 * if it cannot be opened or is empty. */
bool nt_read_small_file(const char *path, char *buf, size_t size);

/*
 * Write @value to the module's parameter @name (under
 * /sys/module/ntsync/parameters); false if this module has no such
 * parameter (e.g. a debug delay point in a normal build).  Ends the test if
 * the parameter is there and the write fails.
 */
bool nt_module_param_write(const char *name, const char *value);

/* True if thread @tid is currently asleep in an ioctl (one sample). */
bool nt_is_blocked(pid_t tid);

/* ---- Waiter threads -------------------------------------------------- */

/* A thread that performs one WAIT_ANY / WAIT_ALL and records the result. */
struct nt_waiter {
	struct nt_thread thread;
	/* input */
	int dev;
	bool all;
	int fds[NTSYNC_MAX_WAIT_COUNT];
	uint32_t count;
	uint32_t owner;
	int alert;
	uint64_t timeout;
	uint32_t flags;
	/* output */
	int ret;		/* 0 or negative errno */
	uint32_t index;
	uint64_t start_ns, end_ns;	/* monotonic, around the call */
};

/* Describe the wait; timeout defaults to infinite, alert/flags to 0. */
void nt_waiter_init(struct nt_waiter *w, int dev, bool all, const int *fds,
		    uint32_t count, uint32_t owner);

/* Start the wait and return once the thread is asleep in it. */
void nt_waiter_start(struct nt_waiter *w);

/* Start the wait without waiting for it to block. */
void nt_waiter_start_nowait(struct nt_waiter *w);

/* Join (within NT_SOON_MS, else the test fails) and return w->ret. */
int nt_waiter_join(struct nt_waiter *w);

bool nt_waiter_done(const struct nt_waiter *w);

/* Wait until any of @n waiters finished; returns its position (asserts
 * that one does within NT_SOON_MS). */
unsigned int nt_waiters_first_done(struct nt_waiter *const *w, unsigned int n);

/* Assert that waiter @w is still in its wait, also after @ms. */
#define NT_CHECK_STILL_WAITING(w, ms) \
	nt_check_still_waiting(__FILE__, __LINE__, w, ms)
void nt_check_still_waiting(const char *file, int line,
			    const struct nt_waiter *w, unsigned int ms);

/* ---- Privileges ------------------------------------------------------ */

/* CAP_SYS_NICE is in the calling thread's effective set (capget must work:
 * the test ends otherwise). */
bool nt_has_cap_sys_nice(void);

/* ---- Time-bounded tests ---------------------------------------------- */

/*
 * NT_SECONDS_OPTION(var, default) in a test file defines
 * "static unsigned int var" and takes "--seconds N" / "--seconds=N" (or
 * NT_STRESS_SECONDS=N) out of argv before the harness parses it.
 * NT_SECONDS_TIMEOUT(var, test) after it gives the test a timeout that
 * grows with var (3 * var + 30 s).
 */
#define NT_SECONDS_OPTION(var, def)					\
	static unsigned int var = (def);				\
	__attribute__((constructor(200))) static void			\
	nt_seconds_##var(int argc, char **argv)				\
	{								\
		nt_take_seconds_option(argc, argv, &var);		\
	}
#define NT_SECONDS_TIMEOUT(var, tname)					\
	static struct nt_test nt_desc_##tname;				\
	__attribute__((constructor)) static void			\
	nt_seconds_timeout_##tname(void)				\
	{								\
		nt_desc_##tname.timeout_s = 3 * (var) + 30;		\
	}
/* The parser behind NT_SECONDS_OPTION, for a constructor of a test's own
 * (glibc passes it argc and argv): *seconds is left alone without the
 * option; a bad value ends the program (status 2).  The harness' main()
 * keeps the old argc, so the freed places are filled with a pattern that
 * selects nothing new: a copy of a pattern given, or "*". */
void nt_take_seconds_option(int argc, char **argv, unsigned int *seconds);

#endif /* NT_UTIL_H */
