/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the tests of adaptive spinning (tests/rt/mutex_spin.c,
 * tests/rt/mutex_wake_ahead.c): the module parameters spin_us and, in a
 * debug build, debug_spin_stubborn; a "busy owner", a thread that takes a
 * mutex and then runs in user space, which is what a waiter spins on; and
 * the layout the tests share (waiters on CPU 0, owners on CPU 1).
 */
#ifndef NT_SPIN_H
#define NT_SPIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nt_util.h"

#define NT_SPIN_WAITER_CPU	0
#define NT_SPIN_OWNER_CPU	1
/* The owner id of a busy owner whose caller set none. */
#define NT_SPIN_OWNER_ID	1
/* A spin_us far above what any test needs: 3 s, in microseconds. */
#define NT_LONG_SPIN		"3000000"

/* A thread that takes a mutex and holds it while it runs in user space. */
struct nt_busy_owner {
	struct nt_thread thread;
	int dev;
	int mutex;
	/* Owner id to take it as; 0: NT_SPIN_OWNER_ID. */
	uint32_t id;
	/* CPU time to hold for before letting go on its own; 0: until told. */
	unsigned int cpu_ms;
	/* End the thread still holding the mutex. */
	bool exit_holding;
	atomic_bool held;
	atomic_bool release;
	int take_ret;
	int unlock_ret;
};

/*
 * Start @o on CPU @cpu: it waits for @mutex (without a deadline) and, once
 * it has it, holds it for @cpu_ms of CPU time (0: until told).  The
 * calling thread stays on @cpu.  Fields of @o not named here are the
 * caller's (id, exit_holding).
 */
void nt_busy_owner_start_nowait(struct nt_busy_owner *o, int dev, int mutex,
				unsigned int cpu_ms, int cpu);
/* Wait until @o holds its mutex (ends the test if it does not soon). */
void nt_busy_owner_await_held(struct nt_busy_owner *o);
/* Both of the above: returns once @o holds the mutex. */
void nt_busy_owner_start(struct nt_busy_owner *o, int dev, int mutex,
			 unsigned int cpu_ms, int cpu);
/* Let @o go (if it still holds) and join it; its unlock succeeded. */
void nt_busy_owner_finish(struct nt_busy_owner *o);
/* Join @o, which let go on its own after its time; nobody was left queued. */
void nt_busy_owner_join_free(struct nt_busy_owner *o, int mutex);

/*
 * Skip on one CPU; set spin_us to @us (restored by nt_spin_restore()) and
 * return the device.
 */
int nt_spin_setup(const char *us);
/* spin_us as it was, debug_spin_stubborn off. */
void nt_spin_restore(void);

/*
 * On an idle machine housekeeping threads end a spin within milliseconds
 * (its CPU is wanted), which would hide a spin that ignored a deadline or a
 * signal.  A debug build (the debug kernel's run) can be told to keep
 * spinning then (debug_spin_stubborn), so there those tests see it; other
 * builds have no such parameter and the tests check the results alone.
 */
void nt_spin_stubborn(void);

/* Wait until stats/@name passed @before (ends the test if not soon). */
void nt_wait_stat_past(const char *name, uint64_t before);
/* The same for stats/spins: a spin began. */
void nt_wait_spins_past(uint64_t before);

/* Start @w's wait on CPU 0, then move this thread to the owner's CPU. */
void nt_spin_waiter_start(struct nt_waiter *w);

#endif
