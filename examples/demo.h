/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ntsync-demo: what the steps share (demo.c has main and the upstream
 * steps, demo_rt.c the real-time wake-ups, demo_pi.c priority inheritance).
 *
 * Scheduling attributes are always read by the thread they belong to, with
 * sched_getattr(), so what is printed is what that thread itself sees.
 */
#ifndef NTSYNC_DEMO_H
#define NTSYNC_DEMO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Failed checks so far; main's exit status is non-zero if any. */
extern int demo_failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("  !! unexpected: " __VA_ARGS__);	\
			printf("\n");					\
			demo_failures++;				\
		}							\
	} while (0)

/* A thread's scheduling attributes as it sees them itself. */
struct demo_sched {
	unsigned int policy;	/* SCHED_OTHER, SCHED_FIFO, ... */
	unsigned int prio;	/* real-time priority, 0 for SCHED_OTHER */
	int nice;
};

/* strerror of a negative errno, or "success". */
const char *demo_err(int ret);
void demo_sleep_ms(unsigned int ms);
uint64_t demo_now_ns(void);
pid_t demo_tid(void);

/* The calling thread's attributes (all zero if they cannot be read). */
struct demo_sched demo_sched_self(void);
/* Set the calling thread's attributes; 0 or a negative errno. */
int demo_sched_set(unsigned int policy, unsigned int prio, int nice);
/* "SCHED_FIFO 60" or "SCHED_OTHER nice 5", in a static buffer per slot. */
const char *demo_sched_str(struct demo_sched s, int slot);
bool demo_sched_eq(struct demo_sched a, struct demo_sched b);

/* Wait up to @ms for thread @tid of this process to be in state @state
 * ('S' sleeping, 'R' running) as /proc shows it. */
bool demo_wait_state(pid_t tid, char state, unsigned int ms);

/* pthread_create, reporting a failure as a failed check. */
bool demo_start(pthread_t *th, void *(*fn)(void *), void *arg);

/* Deadline @ms from now on CLOCK_MONOTONIC, for the waits. */
uint64_t demo_deadline_ms(unsigned int ms);

/* Printed when a real-time priority cannot be set. */
#define DEMO_NEED_RT "real-time priorities need root or CAP_SYS_NICE " \
		     "(or ulimit -r 90); the VM runs the demo as root"

void demo_step_pi(int dev);
void demo_step_inversion(int dev);
void demo_step_wake_order(int dev);
void demo_step_event_set_pi(int dev);
void demo_step_channel(int dev);

#endif /* NTSYNC_DEMO_H */
