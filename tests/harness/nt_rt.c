// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers for the real-time suite (see nt_rt.h).
 */
#include "nt_rt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Scheduling attributes ------------------------------------------- */

/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes); the
 * same layout on i386 and x86_64.  glibc has no wrapper for the calls. */
struct nt_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

_Static_assert(sizeof(struct nt_sched_attr) == 56, "struct sched_attr size");

int nt_sched_get_raw(pid_t tid, struct nt_sched *out)
{
	struct nt_sched_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) < 0)
		return -errno;
	out->policy = attr.sched_policy;
	out->prio = attr.sched_priority;
	out->nice = attr.sched_nice;
	return 0;
}

int nt_sched_set_raw(pid_t tid, struct nt_sched s)
{
	return nt_sched_set_flags_raw(tid, s, 0);
}

int nt_sched_set_flags_raw(pid_t tid, struct nt_sched s, uint64_t flags)
{
	struct nt_sched_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = s.policy;
	attr.sched_flags = flags;
	attr.sched_priority = s.prio;
	attr.sched_nice = s.nice == NT_NICE_ANY ? 0 : s.nice;
	if (syscall(SYS_sched_setattr, tid, &attr, 0) < 0)
		return -errno;
	return 0;
}

uint64_t nt_sched_flags(pid_t tid)
{
	struct nt_sched_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0) < 0)
		NT_FAIL("sched_getattr(%d): %s", (int)tid, strerror(errno));
	return attr.sched_flags;
}

struct nt_sched nt_sched_get(pid_t tid)
{
	struct nt_sched s;
	int ret = nt_sched_get_raw(tid, &s);

	if (ret < 0)
		NT_FAIL("sched_getattr(%d): %s", (int)tid, strerror(-ret));
	return s;
}

void nt_sched_set(pid_t tid, struct nt_sched s)
{
	char buf[64];
	int ret = nt_sched_set_raw(tid, s);

	if (ret < 0)
		NT_FAIL("sched_setattr(%d, %s): %s", (int)tid,
			nt_sched_str(s, buf, sizeof(buf)), strerror(-ret));
}

bool nt_sched_matches(struct nt_sched got, struct nt_sched want)
{
	return got.policy == want.policy && got.prio == want.prio &&
	       (want.nice == NT_NICE_ANY || got.nice == want.nice);
}

static const char *nt_policy_name(uint32_t policy)
{
	switch (policy) {
	case SCHED_OTHER: return "SCHED_OTHER";
	case SCHED_FIFO: return "SCHED_FIFO";
	case SCHED_RR: return "SCHED_RR";
	case SCHED_BATCH: return "SCHED_BATCH";
	case SCHED_IDLE: return "SCHED_IDLE";
	case 6: return "SCHED_DEADLINE";
	}
	return NULL;
}

const char *nt_sched_str(struct nt_sched s, char *buf, size_t size)
{
	const char *name = nt_policy_name(s.policy);
	char pol[32];
	int len;

	if (name)
		snprintf(pol, sizeof(pol), "%s", name);
	else
		snprintf(pol, sizeof(pol), "policy %u", s.policy);
	if (s.policy == SCHED_FIFO || s.policy == SCHED_RR)
		len = snprintf(buf, size, "%s %u", pol, s.prio);
	else if (s.prio)
		len = snprintf(buf, size, "%s prio %u", pol, s.prio);
	else
		len = snprintf(buf, size, "%s", pol);
	if (len < 0 || (size_t)len >= size)
		return buf;
	if (s.nice != NT_NICE_ANY)
		snprintf(buf + len, size - (size_t)len, " nice %d", s.nice);
	return buf;
}

void nt_check_sched_val(const char *file, int line, bool fatal,
			struct nt_sched got, struct nt_sched want)
{
	char g[64], w[64];

	if (nt_sched_matches(got, want))
		return;
	nt_fail_msg(file, line, fatal, "attributes %s, expected %s",
		    nt_sched_str(got, g, sizeof(g)),
		    nt_sched_str(want, w, sizeof(w)));
}

void nt_check_sched(const char *file, int line, bool fatal, pid_t tid,
		    struct nt_sched want)
{
	struct nt_sched got;
	char g[64], w[64];
	int ret = nt_sched_get_raw(tid, &got);

	if (ret < 0) {
		nt_fail_msg(file, line, fatal, "sched_getattr(%d): %s",
			    (int)tid, strerror(-ret));
		return;
	}
	if (nt_sched_matches(got, want))
		return;
	nt_fail_msg(file, line, fatal, "thread %d runs at %s, expected %s",
		    (int)tid, nt_sched_str(got, g, sizeof(g)),
		    nt_sched_str(want, w, sizeof(w)));
}

/* ---- EVENT_SET_PI ---------------------------------------------------- */

int nt_set_pi_raw(int event, uint32_t flags, uint32_t policy, uint32_t prio,
		  uint32_t pad)
{
	struct ntsync_event_set_pi_args args = {
		.flags = flags, .policy = policy, .prio = prio, .__pad = pad,
	};

	return nt_ioctl(event, NTSYNC_IOC_EVENT_SET_PI, &args);
}

void nt_set_pi_at(const char *file, int line, int event, uint32_t policy,
		  uint32_t prio)
{
	int ret = ntsync_event_set_pi(event, policy, prio);

	if (ret < 0)
		nt_fail_msg(file, line, true, "EVENT_SET_PI(policy %u, prio %u): %s",
			    policy, prio, strerror(-ret));
}

/* ---- Module parameter "pi" ------------------------------------------- */

#define NT_PI_PARAM_PATH "/sys/module/ntsync/parameters/pi"

bool nt_pi_param(void)
{
	char buf[8] = "";
	ssize_t n;
	int fd = open(NT_PI_PARAM_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		NT_FAIL("open %s: %s", NT_PI_PARAM_PATH, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		NT_FAIL("read %s failed", NT_PI_PARAM_PATH);
	/* A bool parameter reads "Y"/"N"; accept "1"/"0" too. */
	if (buf[0] == 'Y' || buf[0] == '1')
		return true;
	if (buf[0] == 'N' || buf[0] == '0')
		return false;
	NT_FAIL("%s reads \"%s\"", NT_PI_PARAM_PATH, buf);
	return false;
}

void nt_pi_param_set(bool on)
{
	if (!nt_module_param_write("pi", on ? "1\n" : "0\n"))
		NT_FAIL("open %s for writing: %s", NT_PI_PARAM_PATH,
			strerror(errno));
	if (nt_pi_param() != on)
		NT_FAIL("%s did not change to %d", NT_PI_PARAM_PATH, on);
}

/* ---- Forked children ------------------------------------------------- */

bool nt_run_child(void (*fn)(void *), void *arg)
{
	int status = 0;
	pid_t pid, r;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		NT_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	do {
		r = waitpid(pid, &status, 0);
	} while (r < 0 && errno == EINTR);
	if (r != pid)
		NT_FAIL("waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status)) {
		nt_diag("child killed by signal %d", WTERMSIG(status));
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		nt_diag("child exited with status %d", WEXITSTATUS(status));
		return false;
	}
	return true;
}

/* ---- Actors ---------------------------------------------------------- */

static void nt_sleep_poll(unsigned int polls)
{
	struct timespec ts = { 0, polls < 100 ? 100000L : 1000000L };

	nanosleep(&ts, NULL);
}

static void *nt_actor_main(void *p)
{
	struct nt_actor *a = p;

	for (;;) {
		while (sem_wait(&a->go) < 0) {
			if (errno != EINTR) {
				nt_diag("actor %d: sem_wait: %s",
					(int)a->thread.tid, strerror(errno));
				nt_abort_test();
			}
		}
		if (atomic_load(&a->quit))
			return NULL;
		atomic_fetch_add(&a->started, 1);
		a->ret = a->fn(a, a->arg);
		if (nt_sched_get_raw(0, &a->after) < 0)
			memset(&a->after, 0xff, sizeof(a->after));
		atomic_fetch_add(&a->completed, 1);
	}
}

void nt_actor_start(struct nt_actor *a, struct nt_sched base)
{
	memset(a, 0, sizeof(*a));
	if (sem_init(&a->go, 0, 0))
		NT_FAIL("sem_init: %s", strerror(errno));
	nt_thread_start(&a->thread, nt_actor_main, a);
	nt_sched_set(a->thread.tid, base);
	NT_CHECK_SCHED(a->thread.tid, base);
}

bool nt_actor_idle(struct nt_actor *a)
{
	return atomic_load(&a->completed) == atomic_load(&a->posted);
}

void nt_actor_post(struct nt_actor *a, nt_actor_fn fn, void *arg)
{
	if (!nt_actor_idle(a))
		NT_FAIL("actor %d is still busy", (int)a->thread.tid);
	a->fn = fn;
	a->arg = arg;
	a->ret = 1;	/* neither success nor an errno */
	a->index = NT_POISON;
	a->prev = NT_POISON;
	atomic_fetch_add(&a->posted, 1);
	if (sem_post(&a->go))
		NT_FAIL("sem_post: %s", strerror(errno));
}

int nt_actor_finish(struct nt_actor *a)
{
	uint64_t start = nt_mono_ns();
	unsigned int polls = 0;

	while (!nt_actor_idle(a)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("actor %d did not finish its operation within %u ms",
				(int)a->thread.tid, NT_SOON_MS);
		nt_sleep_poll(++polls);
	}
	return a->ret;
}

int nt_actor_call(struct nt_actor *a, nt_actor_fn fn, void *arg)
{
	nt_actor_post(a, fn, arg);
	return nt_actor_finish(a);
}

void nt_actor_wait_blocked(struct nt_actor *a)
{
	uint64_t start = nt_mono_ns();
	unsigned int polls = 0;

	for (;;) {
		if (nt_actor_idle(a))
			NT_FAIL("actor %d returned %d (index %u) instead of blocking",
				(int)a->thread.tid, a->ret, a->index);
		/* Begun (so not idle on its semaphore) and asleep in ioctl. */
		if (atomic_load(&a->started) == atomic_load(&a->posted) &&
		    nt_is_blocked(a->thread.tid))
			return;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("actor %d did not block within %u ms",
				(int)a->thread.tid, NT_SOON_MS);
		nt_sleep_poll(++polls);
	}
}

unsigned int nt_actors_first_idle(struct nt_actor *const *a, unsigned int n)
{
	uint64_t start = nt_mono_ns();
	unsigned int polls = 0;

	for (;;) {
		for (unsigned int i = 0; i < n; i++)
			if (nt_actor_idle(a[i]))
				return i;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("no actor finished within %u ms", NT_SOON_MS);
		nt_sleep_poll(++polls);
	}
}

void nt_actor_stop(struct nt_actor *a)
{
	if (!nt_actor_idle(a))
		NT_FAIL("actor %d is still busy", (int)a->thread.tid);
	atomic_store(&a->quit, true);
	if (sem_post(&a->go))
		NT_FAIL("sem_post: %s", strerror(errno));
	nt_thread_join(&a->thread);
	sem_destroy(&a->go);
}

static int nt_actor_do_wait(struct nt_actor *a, void *arg)
{
	(void)arg;
	return (a->all ? ntsync_wait_all : ntsync_wait_any)(
		a->dev, a->fds, a->count, a->owner, NTSYNC_NO_ALERT,
		a->timeout, 0, &a->index);
}

void nt_actor_wait_post(struct nt_actor *a, int dev, bool all,
			const int *fds, uint32_t count, uint32_t owner,
			uint64_t timeout)
{
	if (!nt_actor_idle(a))
		NT_FAIL("actor %d is still busy", (int)a->thread.tid);
	if (count > NTSYNC_MAX_WAIT_COUNT)
		NT_FAIL("wait of %u objects", count);
	a->dev = dev;
	a->all = all;
	memcpy(a->fds, fds, count * sizeof(*fds));
	a->count = count;
	a->owner = owner;
	a->timeout = timeout;
	nt_actor_post(a, nt_actor_do_wait, NULL);
}

void nt_actor_wait_start(struct nt_actor *a, int dev, bool all,
			 const int *fds, uint32_t count, uint32_t owner,
			 uint64_t timeout)
{
	nt_actor_wait_post(a, dev, all, fds, count, owner, timeout);
	nt_actor_wait_blocked(a);
}

int nt_actor_wait(struct nt_actor *a, int dev, bool all, const int *fds,
		  uint32_t count, uint32_t owner, uint64_t timeout)
{
	nt_actor_wait_post(a, dev, all, fds, count, owner, timeout);
	return nt_actor_finish(a);
}

void nt_actor_take(struct nt_actor *a, int dev, int mutex, uint32_t owner)
{
	int ret = nt_actor_wait(a, dev, false, &mutex, 1, owner,
				NTSYNC_TIMEOUT_INFINITE);

	if (ret != 0)
		NT_FAIL("actor %d: acquiring the mutex as %u: %d (%s)",
			(int)a->thread.tid, owner, ret,
			ret < 0 ? strerror(-ret) : "?");
}

static int nt_actor_do_unlock(struct nt_actor *a, void *arg)
{
	(void)arg;
	return ntsync_mutex_unlock(a->fds[0], a->owner, &a->prev);
}

static int nt_actor_do_kill(struct nt_actor *a, void *arg)
{
	(void)arg;
	return ntsync_mutex_kill(a->fds[0], a->owner);
}

int nt_actor_unlock(struct nt_actor *a, int mutex, uint32_t owner)
{
	if (!nt_actor_idle(a))
		NT_FAIL("actor %d is still busy", (int)a->thread.tid);
	a->fds[0] = mutex;
	a->owner = owner;
	return nt_actor_call(a, nt_actor_do_unlock, NULL);
}

int nt_actor_kill(struct nt_actor *a, int mutex, uint32_t owner)
{
	if (!nt_actor_idle(a))
		NT_FAIL("actor %d is still busy", (int)a->thread.tid);
	a->fds[0] = mutex;
	a->owner = owner;
	return nt_actor_call(a, nt_actor_do_kill, NULL);
}

void nt_actor_drain(struct nt_actor *a, int dev, int obj)
{
	int ret = nt_actor_wait(a, dev, false, &obj, 1, NT_WAIT_OWNER, NT_NOW_DEADLINE);

	if (ret != -ETIMEDOUT)
		NT_FAIL("actor %d: draining wait returned %d, expected -ETIMEDOUT",
			(int)a->thread.tid, ret);
}

/* ---- Misc ------------------------------------------------------------ */

uint32_t nt_rand(uint32_t *state)
{
	uint32_t x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}
