// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may stage an EVENT_SET_PI boost: nobody can make a task run above
 * what the caller could set for itself.  A non-zero prio is allowed when it
 * is <= the caller's own RT priority (caller SCHED_FIFO/RR), or <= its
 * RLIMIT_RTPRIO soft limit, or when the caller has CAP_SYS_NICE; EPERM
 * otherwise.  prio 0 needs nothing; invalid arguments are EINVAL before any
 * permission check.
 *
 * The suite runs as root: each case forks a child that sets RLIMIT_RTPRIO
 * (and possibly an RT policy) and drops to uid/gid 1000, which clears every
 * capability, then checks the calls on a fresh /dev/ntsync instance (mode
 * 0666).  Checks in the children are fatal, so a failure ends the child
 * with status 1 and fails the test.
 */
#include <grp.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nt_rt.h"

#define NOBODY	1000

static void set_rtprio_limit(rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };

	NT_ASSERT_EQ(setrlimit(RLIMIT_RTPRIO, &rl), 0);
}

/* Become uid/gid NOBODY with no supplementary groups and no capability. */
static void drop_privileges(void)
{
	uid_t r, e, s;

	NT_ASSERT_EQ(setgroups(0, NULL), 0);
	NT_ASSERT_EQ(setresgid(NOBODY, NOBODY, NOBODY), 0);
	NT_ASSERT_EQ(setresuid(NOBODY, NOBODY, NOBODY), 0);
	NT_ASSERT_EQ(getresuid(&r, &e, &s), 0);
	NT_ASSERT_EQ(e, NOBODY);
	NT_ASSERT_FALSE(nt_has_cap_sys_nice());
}

/* Expect @err (0: success) from SET_PI(policy, prio); a refused call must
 * leave the event alone, an accepted one signals it (reset again). */
#define EXPECT_SET_PI(ev, policy, prio, err) \
	expect_set_pi(__FILE__, __LINE__, ev, policy, prio, err)

static void expect_set_pi(const char *file, int line, int ev, uint32_t policy,
			  uint32_t prio, int err)
{
	int ret = ntsync_event_set_pi(ev, policy, prio);
	uint32_t signaled = NT_POISON, manual = NT_POISON, prev;

	if (ret != -err)
		nt_fail_msg(file, line, true,
			    "SET_PI(policy %u, prio %u) as uid %d: %d (%s), expected %d (%s)",
			    policy, prio, (int)geteuid(), ret,
			    ret ? strerror(-ret) : "success", -err,
			    err ? strerror(err) : "success");
	NT_ASSERT_OK(ntsync_event_read(ev, &signaled, &manual));
	if (signaled != (err ? 0u : 1u))
		nt_fail_msg(file, line, true,
			    "after SET_PI(policy %u, prio %u) = %d the event reads signaled %u",
			    policy, prio, ret, signaled);
	NT_ASSERT_OK(ntsync_event_reset(ev, &prev));
}

/* Invalid arguments are EINVAL for anyone, before permissions. */
static void expect_invalid_rejected(int ev)
{
	EXPECT_SET_PI(ev, SCHED_OTHER, 5, EINVAL);
	EXPECT_SET_PI(ev, 42, 1, EINVAL);
	EXPECT_SET_PI(ev, SCHED_FIFO, 100, EINVAL);
	EXPECT_SET_PI(ev, SCHED_RR, 0xFFFFFFFFu, EINVAL);
	NT_ASSERT_EQ(nt_set_pi_raw(ev, 1, SCHED_FIFO, 0, 0), -EINVAL);
	NT_ASSERT_EQ(nt_set_pi_raw(ev, 0, SCHED_FIFO, 1, 1), -EINVAL);
}

/* The event of a fresh instance opened by the current credentials. */
static int new_event(int *dev)
{
	*dev = nt_dev();
	return nt_event(*dev, 0, 0);
}

static void child_rlimit_0(void *arg)
{
	int dev, ev;

	(void)arg;
	set_rtprio_limit(0, 0);
	drop_privileges();
	ev = new_event(&dev);
	EXPECT_SET_PI(ev, SCHED_FIFO, 1, EPERM);
	EXPECT_SET_PI(ev, SCHED_RR, 1, EPERM);
	EXPECT_SET_PI(ev, SCHED_FIFO, 99, EPERM);
	EXPECT_SET_PI(ev, SCHED_FIFO, 0, 0);
	EXPECT_SET_PI(ev, SCHED_OTHER, 0, 0);
	EXPECT_SET_PI(ev, 42, 0, 0);
	expect_invalid_rejected(ev);
}

NT_TEST_TIMEOUT(unprivileged_rlimit_0, 60)
{
	nt_in_child(child_rlimit_0, NULL);
}

/* Consume a boost staged by the unprivileged caller itself: it applies. */
static void self_consume(int dev, int ev, uint32_t policy, uint32_t prio)
{
	struct nt_sched base = nt_sched_get(0);
	int idle = nt_event(dev, 0, 0);
	uint32_t index;

	nt_set_pi(ev, policy, prio);
	NT_ASSERT_EQ(ntsync_wait_any(dev, &ev, 1, NT_WAIT_OWNER, 0, NTSYNC_TIMEOUT_INFINITE,
				     0, &index), 0);
	NT_CHECK_SCHED(0, ((struct nt_sched){ policy, prio, NT_NICE_ANY }));
	NT_ASSERT_EQ(ntsync_wait_any(dev, &idle, 1, NT_WAIT_OWNER, 0, NT_NOW_DEADLINE, 0,
				     &index), -ETIMEDOUT);
	NT_CHECK_SCHED(0, base);
}

static void child_rlimit_50(void *arg)
{
	int dev, ev;

	(void)arg;
	set_rtprio_limit(50, 50);
	drop_privileges();
	ev = new_event(&dev);
	EXPECT_SET_PI(ev, SCHED_FIFO, 1, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, 50, 0);
	EXPECT_SET_PI(ev, SCHED_RR, 50, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, 51, EPERM);
	EXPECT_SET_PI(ev, SCHED_RR, 51, EPERM);
	EXPECT_SET_PI(ev, SCHED_FIFO, 99, EPERM);
	EXPECT_SET_PI(ev, SCHED_FIFO, 0, 0);
	expect_invalid_rejected(ev);
	self_consume(dev, ev, SCHED_FIFO, 50);
}

NT_TEST_TIMEOUT(unprivileged_rlimit_50, 60)
{
	nt_in_child(child_rlimit_50, NULL);
}

static void child_soft_limit(void *arg)
{
	int dev, ev;

	(void)arg;
	/* The soft limit counts, not the hard one. */
	set_rtprio_limit(20, 50);
	drop_privileges();
	ev = new_event(&dev);
	EXPECT_SET_PI(ev, SCHED_FIFO, 20, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, 21, EPERM);
	EXPECT_SET_PI(ev, SCHED_RR, 50, EPERM);
}

NT_TEST_TIMEOUT(unprivileged_soft_limit_counts, 60)
{
	nt_in_child(child_soft_limit, NULL);
}

static void child_rt_caller(void *arg)
{
	const struct nt_sched *self = arg;
	int dev, ev;

	/* Set while still root; kept across the uid change. */
	nt_sched_set(0, *self);
	set_rtprio_limit(0, 0);
	drop_privileges();
	NT_CHECK_SCHED(0, *self);
	ev = new_event(&dev);
	EXPECT_SET_PI(ev, SCHED_FIFO, self->prio, 0);
	EXPECT_SET_PI(ev, SCHED_RR, self->prio, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, self->prio - 1, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, self->prio + 1, EPERM);
	EXPECT_SET_PI(ev, SCHED_RR, 99, EPERM);
	EXPECT_SET_PI(ev, SCHED_FIFO, 0, 0);
	expect_invalid_rejected(ev);
}

NT_TEST_TIMEOUT(unprivileged_fifo_60_caller, 60)
{
	struct nt_sched self = NT_FIFO_N(60, 0);

	nt_in_child(child_rt_caller, &self);
}

NT_TEST_TIMEOUT(unprivileged_rr_40_caller, 60)
{
	struct nt_sched self = NT_RR(40);

	nt_in_child(child_rt_caller, &self);
}

static void child_root(void *arg)
{
	int dev, ev;

	(void)arg;
	/* CAP_SYS_NICE needs no rlimit and no RT policy. */
	set_rtprio_limit(0, 0);
	NT_ASSERT_TRUE(nt_has_cap_sys_nice());
	NT_ASSERT_EQ(nt_sched_get(0).policy, SCHED_OTHER);
	ev = new_event(&dev);
	EXPECT_SET_PI(ev, SCHED_FIFO, 99, 0);
	EXPECT_SET_PI(ev, SCHED_RR, 99, 0);
	EXPECT_SET_PI(ev, SCHED_FIFO, 1, 0);
	expect_invalid_rejected(ev);
	self_consume(dev, ev, SCHED_RR, 99);
}

NT_TEST_TIMEOUT(root_any_priority, 60)
{
	nt_in_child(child_root, NULL);
}
