// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntsync: see ntsync.h for the conventions.
 */
#include "ntsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/ntsync.h>

/* ioctl() with the result folded into the negative-errno convention. */
static int nt_ioctl(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

int ntsync_open(void)
{
	int fd = open(NTSYNC_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int ntsync_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

/* ---- Semaphores ------------------------------------------------------ */

int ntsync_sem_create(int dev, uint32_t count, uint32_t max)
{
	struct ntsync_sem_args args = { .count = count, .max = max };

	return nt_ioctl(dev, NTSYNC_IOC_CREATE_SEM, &args);
}

int ntsync_sem_release(int sem, uint32_t add, uint32_t *prev)
{
	__u32 value = add;
	int ret;

	if (!prev)
		return -EINVAL;
	ret = nt_ioctl(sem, NTSYNC_IOC_SEM_RELEASE, &value);
	if (ret == 0)
		*prev = value;
	return ret;
}

int ntsync_sem_read(int sem, uint32_t *count, uint32_t *max)
{
	struct ntsync_sem_args args = { 0 };
	int ret;

	if (!count || !max)
		return -EINVAL;
	ret = nt_ioctl(sem, NTSYNC_IOC_SEM_READ, &args);
	if (ret == 0) {
		*count = args.count;
		*max = args.max;
	}
	return ret;
}

/* ---- Mutexes --------------------------------------------------------- */

int ntsync_mutex_create(int dev, uint32_t owner, uint32_t count)
{
	struct ntsync_mutex_args args = { .owner = owner, .count = count };

	return nt_ioctl(dev, NTSYNC_IOC_CREATE_MUTEX, &args);
}

int ntsync_mutex_unlock(int mutex, uint32_t owner, uint32_t *prev_count)
{
	struct ntsync_mutex_args args = { .owner = owner, .count = 0 };
	int ret;

	if (!prev_count)
		return -EINVAL;
	ret = nt_ioctl(mutex, NTSYNC_IOC_MUTEX_UNLOCK, &args);
	if (ret == 0)
		*prev_count = args.count;
	return ret;
}

int ntsync_mutex_kill(int mutex, uint32_t owner)
{
	__u32 value = owner;

	return nt_ioctl(mutex, NTSYNC_IOC_MUTEX_KILL, &value);
}

int ntsync_mutex_read(int mutex, uint32_t *owner, uint32_t *count)
{
	struct ntsync_mutex_args args = { 0 };
	int ret;

	if (!owner || !count)
		return -EINVAL;
	ret = nt_ioctl(mutex, NTSYNC_IOC_MUTEX_READ, &args);
	if (ret == 0 || ret == -EOWNERDEAD) {
		*owner = args.owner;
		*count = args.count;
	}
	return ret;
}

/* ---- Events ---------------------------------------------------------- */

int ntsync_event_create(int dev, uint32_t manual, uint32_t signaled)
{
	struct ntsync_event_args args = { .manual = manual,
					  .signaled = signaled };

	return nt_ioctl(dev, NTSYNC_IOC_CREATE_EVENT, &args);
}

/* SET, RESET and PULSE share one shape: no input, previous state out. */
static int event_op(int event, unsigned long request, uint32_t *prev)
{
	__u32 value = 0;
	int ret;

	if (!prev)
		return -EINVAL;
	ret = nt_ioctl(event, request, &value);
	if (ret == 0)
		*prev = value;
	return ret;
}

int ntsync_event_set(int event, uint32_t *prev)
{
	return event_op(event, NTSYNC_IOC_EVENT_SET, prev);
}

int ntsync_event_reset(int event, uint32_t *prev)
{
	return event_op(event, NTSYNC_IOC_EVENT_RESET, prev);
}

int ntsync_event_pulse(int event, uint32_t *prev)
{
	return event_op(event, NTSYNC_IOC_EVENT_PULSE, prev);
}

int ntsync_event_read(int event, uint32_t *signaled, uint32_t *manual)
{
	struct ntsync_event_args args = { 0 };
	int ret;

	if (!signaled || !manual)
		return -EINVAL;
	ret = nt_ioctl(event, NTSYNC_IOC_EVENT_READ, &args);
	if (ret == 0) {
		*signaled = args.signaled;
		*manual = args.manual;
	}
	return ret;
}

int ntsync_event_set_pi(int event, uint32_t policy, uint32_t prio)
{
	struct ntsync_event_set_pi_args args = { .flags = 0, .policy = policy,
						 .prio = prio, .__pad = 0 };

	return nt_ioctl(event, NTSYNC_IOC_EVENT_SET_PI, &args);
}

/* ---- Waits ----------------------------------------------------------- */

/*
 * Common body of both waits.  @pad is passed through so that the NSPA
 * uring_fd variant can be added without another copy of this function.
 */
static int wait_common(int dev, unsigned long request, const int *fds,
		       uint32_t count, uint32_t owner, int alert,
		       uint64_t abs_timeout_ns, uint32_t flags, uint32_t pad,
		       uint32_t *index)
{
	struct ntsync_wait_args args = { 0 };
	int ret;

	if (!index || (count && !fds) || alert < 0)
		return -EINVAL;

	args.timeout = abs_timeout_ns;
	args.objs = (__u64)(uintptr_t)fds;
	args.count = count;
	args.index = UINT32_MAX;
	args.flags = flags;
	args.owner = owner;
	args.alert = (__u32)alert;
	args.pad = pad;

	ret = nt_ioctl(dev, request, &args);
	if (ret == 0 || ret == -EOWNERDEAD)
		*index = args.index;
	return ret;
}

int ntsync_wait_any(int dev, const int *fds, uint32_t count, uint32_t owner,
		    int alert, uint64_t abs_timeout_ns, uint32_t flags,
		    uint32_t *index)
{
	return wait_common(dev, NTSYNC_IOC_WAIT_ANY, fds, count, owner, alert,
			   abs_timeout_ns, flags, 0, index);
}

int ntsync_wait_all(int dev, const int *fds, uint32_t count, uint32_t owner,
		    int alert, uint64_t abs_timeout_ns, uint32_t flags,
		    uint32_t *index)
{
	return wait_common(dev, NTSYNC_IOC_WAIT_ALL, fds, count, owner, alert,
			   abs_timeout_ns, flags, 0, index);
}

/* ---- Time helpers ---------------------------------------------------- */

/* ntsync.h spells these out for strict C builds: they must not drift. */
_Static_assert(NTSYNC_CLOCK_MONOTONIC == CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
_Static_assert(NTSYNC_CLOCK_REALTIME == CLOCK_REALTIME, "CLOCK_REALTIME");

uint64_t ntsync_now_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ntsync_deadline_ns(clockid_t clk, int64_t rel_ns)
{
	/* Kernel deadlines are signed 64-bit (ktime_t): stay within them. */
	const uint64_t limit = (uint64_t)INT64_MAX;
	uint64_t now = ntsync_now_ns(clk);
	uint64_t delta;

	if (rel_ns < 0) {
		/* -(rel_ns + 1) + 1 avoids negating INT64_MIN. */
		delta = (uint64_t)(-(rel_ns + 1)) + 1;
		return delta >= now ? 0 : now - delta;
	}
	delta = (uint64_t)rel_ns;
	if (delta >= limit - now)
		return limit;
	return now + delta;
}
