// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-demo: helpers shared by the steps (see demo.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ntsync.h>
#include "demo.h"

int demo_failures;

/*
 * The kernel's struct sched_attr (first version, 48 bytes): glibc 2.36 has
 * no sched_getattr() wrapper, and <linux/sched/types.h> clashes with
 * <sched.h>.
 */
struct demo_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

const char *demo_err(int ret)
{
	return ret < 0 ? strerror(-ret) : "success";
}

void demo_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

uint64_t demo_now_ns(void)
{
	return ntsync_now_ns(CLOCK_MONOTONIC);
}

uint64_t demo_deadline_ms(unsigned int ms)
{
	return ntsync_deadline_ns(CLOCK_MONOTONIC, (int64_t)ms * 1000000);
}

pid_t demo_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

struct demo_sched demo_sched_self(void)
{
	struct demo_sched_attr attr = { 0 };
	struct demo_sched s = { 0 };

	if (syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0) == 0) {
		s.policy = attr.sched_policy;
		s.prio = attr.sched_priority;
		s.nice = attr.sched_nice;
	}
	return s;
}

int demo_sched_set(unsigned int policy, unsigned int prio, int nice)
{
	struct demo_sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = policy,
		.sched_priority = prio,
		.sched_nice = nice,
	};

	return syscall(SYS_sched_setattr, 0, &attr, 0) ? -errno : 0;
}

const char *demo_sched_str(struct demo_sched s, int slot)
{
	static char buf[4][32];
	char *b = buf[slot & 3];

	switch (s.policy) {
	case SCHED_FIFO:
		snprintf(b, sizeof(buf[0]), "SCHED_FIFO %u", s.prio);
		break;
	case SCHED_RR:
		snprintf(b, sizeof(buf[0]), "SCHED_RR %u", s.prio);
		break;
	case SCHED_OTHER:
		snprintf(b, sizeof(buf[0]), "SCHED_OTHER nice %d", s.nice);
		break;
	default:
		snprintf(b, sizeof(buf[0]), "policy %u", s.policy);
	}
	return b;
}

bool demo_sched_eq(struct demo_sched a, struct demo_sched b)
{
	return a.policy == b.policy && a.prio == b.prio && a.nice == b.nice;
}

/* State letter of a thread of this process from /proc, or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* "tid (comm) S ...": the comm may hold spaces, the state follows
	 * the last ')'. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

bool demo_wait_state(pid_t tid, char state, unsigned int ms)
{
	uint64_t end = demo_now_ns() + (uint64_t)ms * 1000000u;

	do {
		if (tid && thread_state(tid) == state)
			return true;
		demo_sleep_ms(1);
	} while (demo_now_ns() < end);
	return false;
}

bool demo_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int ret = pthread_create(th, NULL, fn, arg);

	CHECK(ret == 0, "cannot create a thread: %s", strerror(ret));
	return ret == 0;
}
