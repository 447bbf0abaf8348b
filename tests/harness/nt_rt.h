/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the real-time suite (tests/rt): scheduling attributes read and
 * set per thread with sched_getattr/sched_setattr, EVENT_SET_PI calls, the
 * "pi" module parameter, forked children, and "actors": long-lived threads
 * that perform ntsync operations on command, so that a test can make one
 * thread own a mutex, block another one on it, inspect both from outside
 * and later tell the owner to unlock.
 *
 * Scheduling state is always checked through sched_getattr on the thread's
 * tid, never through timing.  Macros named NT_CHECK_* assert (they end the
 * test on mismatch), NT_EXPECT_* only mark it failed; both report the
 * caller's file:line.
 */
#ifndef NT_RT_H
#define NT_RT_H

#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nt_util.h"

/* ---- Scheduling attributes ------------------------------------------- */

/* nice is not compared when it is NT_NICE_ANY (used for boosted states,
 * where only policy and RT priority are specified). */
#define NT_NICE_ANY	INT_MIN

struct nt_sched {
	uint32_t policy;	/* SCHED_OTHER, SCHED_FIFO, ... */
	uint32_t prio;		/* sched_priority: 1..99 for FIFO/RR, else 0 */
	int nice;		/* -20..19, or NT_NICE_ANY */
};

#define NT_OTHER(n)	((struct nt_sched){ SCHED_OTHER, 0, (n) })
#define NT_FIFO(p)	((struct nt_sched){ SCHED_FIFO, (p), NT_NICE_ANY })
#define NT_RR(p)	((struct nt_sched){ SCHED_RR, (p), NT_NICE_ANY })
/* RT with an exact nice, for bases that must come back exactly. */
#define NT_FIFO_N(p, n)	((struct nt_sched){ SCHED_FIFO, (p), (n) })

/* sched_getattr(tid); 0 or a negative errno. */
int nt_sched_get_raw(pid_t tid, struct nt_sched *out);
/* sched_setattr(tid); nice NT_NICE_ANY sets nice 0.  0 or negative errno. */
int nt_sched_set_raw(pid_t tid, struct nt_sched s);

/* The same, ending the test on failure. */
struct nt_sched nt_sched_get(pid_t tid);
void nt_sched_set(pid_t tid, struct nt_sched s);

bool nt_sched_matches(struct nt_sched got, struct nt_sched want);
/* "SCHED_FIFO 80", "SCHED_OTHER nice 5", ... into @buf. */
const char *nt_sched_str(struct nt_sched s, char *buf, size_t size);

/* Thread @tid runs with attributes @want (read now, once). */
#define NT_CHECK_SCHED(tid, want) \
	nt_check_sched(__FILE__, __LINE__, true, tid, want)
#define NT_EXPECT_SCHED(tid, want) \
	nt_check_sched(__FILE__, __LINE__, false, tid, want)
void nt_check_sched(const char *file, int line, bool fatal, pid_t tid,
		    struct nt_sched want);

/* A recorded value @got (e.g. read by a thread about itself) is @want. */
#define NT_CHECK_SCHED_VAL(got, want) \
	nt_check_sched_val(__FILE__, __LINE__, true, got, want)
#define NT_EXPECT_SCHED_VAL(got, want) \
	nt_check_sched_val(__FILE__, __LINE__, false, got, want)
void nt_check_sched_val(const char *file, int line, bool fatal,
			struct nt_sched got, struct nt_sched want);

/* ---- sched_flags ----------------------------------------------------- */

/* SCHED_FLAG_RESET_ON_FORK of <linux/sched.h>, which clashes with glibc's
 * <sched.h>. */
#define NT_SCHED_RESET_ON_FORK	0x01ull

/* sched_flags of thread @tid as sched_getattr reports them (ends the test
 * on failure). */
uint64_t nt_sched_flags(pid_t tid);
/* sched_setattr(@tid) with attributes @s and sched_flags @flags; 0 or a
 * negative errno. */
int nt_sched_set_flags_raw(pid_t tid, struct nt_sched s, uint64_t flags);

/* ---- EVENT_SET_PI ---------------------------------------------------- */

/* The raw ioctl with every field under control; 0 or a negative errno. */
int nt_set_pi_raw(int event, uint32_t flags, uint32_t policy, uint32_t prio,
		  uint32_t pad);

/* ntsync_event_set_pi() that must succeed. */
#define nt_set_pi(event, policy, prio) \
	nt_set_pi_at(__FILE__, __LINE__, event, policy, prio)
void nt_set_pi_at(const char *file, int line, int event, uint32_t policy,
		  uint32_t prio);

/* ---- Module parameter "pi" ------------------------------------------- */

/* Current value of /sys/module/ntsync/parameters/pi (ends the test if it
 * cannot be read). */
bool nt_pi_param(void);
/* Write it and read it back (ends the test on failure). */
void nt_pi_param_set(bool on);

/* ---- Forked children ------------------------------------------------- */

/*
 * Run @fn(@arg) in a forked child of the test: a failed NT_ASSERT_* /
 * NT_CHECK_* inside it ends the child with status 1 (its diagnostics are
 * printed as usual).  nt_run_child() returns whether the child returned
 * normally (and says why not); nt_in_child() asserts it.  Use only fatal
 * checks inside @fn.  Threads of the test do not exist in the child.
 */
#define nt_in_child(fn, arg) \
	do {								\
		if (!nt_run_child(fn, arg))				\
			NT_FAIL("child running %s failed", #fn);	\
	} while (0)
bool nt_run_child(void (*fn)(void *), void *arg);

/* ---- Actors ---------------------------------------------------------- */

struct nt_actor;
typedef int (*nt_actor_fn)(struct nt_actor *a, void *arg);

/*
 * A thread that runs one operation at a time on command.  Between
 * operations it sleeps on a semaphore (a futex, not an ioctl, so that
 * nt_is_blocked() tells "in an ntsync wait" from "idle").  After every
 * operation it reads its own attributes into @after.
 */
struct nt_actor {
	struct nt_thread thread;
	sem_t go;
	atomic_uint posted;	/* operations requested */
	atomic_uint started;	/* operations begun */
	atomic_uint completed;	/* operations finished */
	atomic_bool quit;
	nt_actor_fn fn;
	void *arg;
	/* Wait operation parameters. */
	int dev;
	bool all;
	int fds[NTSYNC_MAX_WAIT_COUNT];
	uint32_t count;
	uint32_t owner;
	uint64_t timeout;	/* absolute, CLOCK_MONOTONIC */
	/* Results of the last operation. */
	int ret;		/* 0 or negative errno */
	uint32_t index;
	uint32_t prev;		/* previous count (unlock) */
	struct nt_sched after;	/* own attributes right after it */
};

/* Start the thread and give it attributes @base (checked). */
void nt_actor_start(struct nt_actor *a, struct nt_sched base);
static inline pid_t nt_actor_tid(const struct nt_actor *a)
{
	return a->thread.tid;
}

/* Request @fn(a, arg) on the (idle) actor; returns at once. */
void nt_actor_post(struct nt_actor *a, nt_actor_fn fn, void *arg);
bool nt_actor_idle(struct nt_actor *a);
/* Wait until the running operation finished (NT_SOON_MS), return a->ret. */
int nt_actor_finish(struct nt_actor *a);
/* post + finish. */
int nt_actor_call(struct nt_actor *a, nt_actor_fn fn, void *arg);
/* Wait until the running operation is asleep in an ioctl; the test ends
 * if the operation returns instead. */
void nt_actor_wait_blocked(struct nt_actor *a);
/* Position of an actor among @n whose operation is finished; waits up to
 * NT_SOON_MS for one. */
unsigned int nt_actors_first_idle(struct nt_actor *const *a, unsigned int n);
/* End the (idle) actor's thread and join it. */
void nt_actor_stop(struct nt_actor *a);

/* Post a WAIT_ANY (@all false) or WAIT_ALL on @fds with the absolute
 * monotonic deadline @timeout (NTSYNC_TIMEOUT_INFINITE: none). */
void nt_actor_wait_post(struct nt_actor *a, int dev, bool all,
			const int *fds, uint32_t count, uint32_t owner,
			uint64_t timeout);
/* The same, and return once the actor is asleep in that wait. */
void nt_actor_wait_start(struct nt_actor *a, int dev, bool all,
			 const int *fds, uint32_t count, uint32_t owner,
			 uint64_t timeout);
/* A complete wait (post + finish); returns its result. */
int nt_actor_wait(struct nt_actor *a, int dev, bool all, const int *fds,
		  uint32_t count, uint32_t owner, uint64_t timeout);
/* Acquire @mutex through a WAIT_ANY as @owner; asserts success. */
void nt_actor_take(struct nt_actor *a, int dev, int mutex, uint32_t owner);
/* MUTEX_UNLOCK / MUTEX_KILL performed by the actor; return the result. */
int nt_actor_unlock(struct nt_actor *a, int mutex, uint32_t owner);
int nt_actor_kill(struct nt_actor *a, int mutex, uint32_t owner);
/* A wait that ends at once (deadline in the past) on @obj, which must not
 * be signaled: it drains an EVENT_SET_PI boost; asserts -ETIMEDOUT. */
void nt_actor_drain(struct nt_actor *a, int dev, int obj);

/* ---- Misc ------------------------------------------------------------ */

/* A small deterministic pseudo-random generator (xorshift32). */
uint32_t nt_rand(uint32_t *state);

#endif /* NT_RT_H */
