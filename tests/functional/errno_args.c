// SPDX-License-Identifier: GPL-2.0-only
/*
 * Argument validation: every EINVAL, EFAULT and ENOTTY path of the upstream
 * ABI, with the objects' state checked to be unchanged afterwards.  As in
 * Linux 7.x, owner 0 is EINVAL in every WAIT_ANY and WAIT_ALL, whether or
 * not a mutex is among the objects.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nt_util.h"

/* "EINVAL" for -EINVAL, "success" for >= 0. */
static const char *ename(int ret)
{
	const char *name = ret < 0 ? strerrorname_np(-ret) : "success";

	return name ? name : "unknown errno";
}

/* A number that is not an open fd right now (kept closed until used). */
static int closed_fd(void)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		NT_FAIL("pipe2 failed");
	close(fds[0]);
	close(fds[1]);
	return fds[0];
}

static int pipe_fd(void)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		NT_FAIL("pipe2 failed");
	return fds[0];
}

/* Both waits with these objects (and alert) must fail with @err. */
#define EXPECT_WAITS_FAIL(dev, objs, n, alert, err) \
	expect_waits_fail(__FILE__, __LINE__, dev, objs, n, alert, err)
static void expect_waits_fail(const char *file, int line, int dev,
			      const int *objs, uint32_t n, uint32_t alert,
			      int err)
{
	struct ntsync_wait_args args;

	for (int all = 0; all <= 1; all++) {
		nt_wait_args_init(&args, objs, n, 123, 0);
		args.timeout = 0;
		args.alert = alert;
		int ret = nt_wait_raw(dev, all, &args);
		if (ret != -err)
			nt_fail_msg(file, line, false,
				    "%s: got %d (%s), expected %s",
				    all ? "WAIT_ALL" : "WAIT_ANY", ret,
				    ename(ret), ename(-err));
	}
}

/* Raw wait whose block is modified by the caller; both kinds. */
#define EXPECT_ARGS_FAIL(dev, args, err) \
	expect_args_fail(__FILE__, __LINE__, dev, args, err)
static void expect_args_fail(const char *file, int line, int dev,
			     const struct ntsync_wait_args *tmpl, int err)
{
	for (int all = 0; all <= 1; all++) {
		struct ntsync_wait_args args = *tmpl;
		int ret = nt_wait_raw(dev, all, &args);

		if (ret != -err)
			nt_fail_msg(file, line, false,
				    "%s: got %d (%s), expected %s",
				    all ? "WAIT_ALL" : "WAIT_ANY", ret,
				    ename(ret), ename(-err));
	}
}

NT_TEST(wait_on_non_object_fds_einval)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int file_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	int objs[2] = { sem, -1 };

	NT_ASSERT_GE(file_fd, 0);
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* -1 */
	objs[1] = pipe_fd();
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* a pipe */
	objs[1] = dev;
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* the device */
	objs[1] = file_fd;
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* a file */
	objs[1] = 1 << 20;
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* beyond any */
	objs[0] = closed_fd();
	objs[1] = sem;
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);		/* closed */
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(wait_on_foreign_device_objects_einval)
{
	int dev = nt_dev();
	int other = nt_dev();
	int mine = nt_sem(dev, 1, 1);
	int theirs = nt_sem(other, 1, 1);
	int objs[2] = { mine, theirs };
	uint32_t index;

	EXPECT_WAITS_FAIL(dev, &theirs, 1, 0, EINVAL);
	EXPECT_WAITS_FAIL(dev, objs, 2, 0, EINVAL);
	EXPECT_WAITS_FAIL(other, &mine, 1, 0, EINVAL);
	NT_CHECK_SEM(mine, 1, 1);
	NT_CHECK_SEM(theirs, 1, 1);
	/* Each device still serves its own objects. */
	NT_ASSERT_OK(ntsync_wait_any(other, &theirs, 1, 123, 0, 0, 0, &index));
	NT_CHECK_SEM(theirs, 0, 1);
	NT_ASSERT_OK(ntsync_wait_all(dev, &mine, 1, 123, 0, 0, 0, &index));
	NT_CHECK_SEM(mine, 0, 1);
}

NT_TEST(invalid_alert_einval)
{
	int dev = nt_dev();
	int other = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int foreign_event = nt_event(other, 1, 1);

	EXPECT_WAITS_FAIL(dev, &sem, 1, UINT32_MAX, EINVAL);	/* -1 */
	EXPECT_WAITS_FAIL(dev, &sem, 1, (uint32_t)pipe_fd(), EINVAL);
	EXPECT_WAITS_FAIL(dev, &sem, 1, (uint32_t)dev, EINVAL);
	EXPECT_WAITS_FAIL(dev, &sem, 1, (uint32_t)foreign_event, EINVAL);
	EXPECT_WAITS_FAIL(dev, &sem, 1, (uint32_t)nt_sem(dev, 1, 1), EINVAL);
	EXPECT_WAITS_FAIL(dev, &sem, 1, (uint32_t)closed_fd(), EINVAL);
	NT_CHECK_SEM(sem, 1, 1);
	NT_CHECK_EVENT(foreign_event, 1, 1);
}

NT_TEST(unknown_flags_einval)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	const uint32_t bad[] = { 0x2, 0x4, 0x80000000u, UINT32_MAX,
				 NTSYNC_WAIT_REALTIME | 0x2 };
	struct ntsync_wait_args args;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nt_wait_args_init(&args, &sem, 1, 123, 0);
		args.flags = bad[i];
		EXPECT_ARGS_FAIL(dev, &args, EINVAL);
	}
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(pad_not_an_eventfd_einval)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int ev = nt_event(dev, 1, 1);
	struct ntsync_wait_args args;

	/* pad is Wine-NSPA's uring_fd: only an eventfd is acceptable. */
	nt_wait_args_init(&args, &sem, 1, 123, 0);
	args.pad = (uint32_t)pipe_fd();
	EXPECT_ARGS_FAIL(dev, &args, EINVAL);
	args.pad = (uint32_t)ev;
	EXPECT_ARGS_FAIL(dev, &args, EINVAL);
	args.pad = (uint32_t)dev;
	EXPECT_ARGS_FAIL(dev, &args, EINVAL);
	NT_CHECK_SEM(sem, 1, 1);
	NT_CHECK_EVENT(ev, 1, 1);
}

NT_TEST(count_above_limit_einval)
{
	int dev = nt_dev();
	int objs[NTSYNC_MAX_WAIT_COUNT + 1];
	const uint32_t bad[] = { NTSYNC_MAX_WAIT_COUNT + 1, 0x80000000u,
				 UINT32_MAX };
	struct ntsync_wait_args args;
	int sem = nt_sem(dev, 1, 1);

	for (int i = 0; i < NTSYNC_MAX_WAIT_COUNT + 1; i++)
		objs[i] = sem;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nt_wait_args_init(&args, objs, bad[i], 123, 0);
		EXPECT_ARGS_FAIL(dev, &args, EINVAL);
		/* The count is judged before the array is read. */
		args.objs = 0;
		EXPECT_ARGS_FAIL(dev, &args, EINVAL);
	}
	NT_CHECK_SEM(sem, 1, 1);
}

/*
 * owner 0 in WAIT_ANY / WAIT_ALL: EINVAL whatever the objects (none, no
 * mutex, signaled or not, with an alert, either clock), with nothing
 * consumed and index not written; at once, also when the deadline lies
 * ahead (3 s).  The same waits with a non-zero owner go through.
 */
NT_TEST(owner_zero_einval_without_mutex)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 2, 2);
	int aev = nt_event(dev, 0, 1);
	int mev = nt_event(dev, 1, 1);
	int idle = nt_sem(dev, 0, 1);
	const int all3[3] = { sem, aev, mev };
	const struct {
		const int *objs;
		uint32_t count;
		bool alert;
	} cases[] = {
		{ &sem, 1, false },	/* one signaled semaphore */
		{ &aev, 1, false },
		{ all3, 3, false },
		{ &idle, 1, false },	/* nothing signaled */
		{ &idle, 1, true },	/* signaled alert */
		{ NULL, 0, false },	/* no object at all */
	};
	struct ntsync_wait_args args;
	uint64_t start;
	int ret;

	for (unsigned int c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int all = 0; all <= 1; all++) {
			for (uint32_t flags = 0; flags <= NTSYNC_WAIT_REALTIME;
			     flags++) {
				nt_wait_args_init(&args, cases[c].objs,
						  cases[c].count, 0, 0);
				args.timeout = NT_NOW_DEADLINE;
				args.flags = flags;
				args.alert = cases[c].alert ? (uint32_t)aev : 0;
				ret = nt_wait_raw(dev, all, &args);
				if (ret != -EINVAL)
					NT_FAIL_SOFT("case %u, %s%s, owner 0: got %d (%s), expected EINVAL",
						     c, all ? "WAIT_ALL" : "WAIT_ANY",
						     flags ? " (realtime)" : "",
						     ret, ename(ret));
				NT_EXPECT_EQ(args.index, NT_POISON);
			}
		}
	}
	/* Refused before any wait: a deadline ahead is not waited for. */
	for (int all = 0; all <= 1; all++) {
		nt_wait_args_init(&args, &idle, 1, 0, 3000);
		start = nt_mono_ns();
		NT_EXPECT_ERRNO(nt_wait_raw(dev, all, &args), EINVAL);
		NT_EXPECT_LT(nt_elapsed_ms(start), 2000);
		NT_EXPECT_EQ(args.index, NT_POISON);
	}
	NT_CHECK_SEM(sem, 2, 2);
	NT_CHECK_EVENT(aev, 0, 1);
	NT_CHECK_EVENT(mev, 1, 1);
	NT_CHECK_SEM(idle, 0, 1);

	/* Any other owner: the semaphore is taken. */
	nt_wait_args_init(&args, &sem, 1, 1, 0);
	args.timeout = NT_NOW_DEADLINE;
	NT_ASSERT_OK(nt_wait_raw(dev, false, &args));
	NT_EXPECT_EQ(args.index, 0);
	nt_wait_args_init(&args, &sem, 1, UINT32_MAX, 0);
	args.timeout = NT_NOW_DEADLINE;
	NT_ASSERT_OK(nt_wait_raw(dev, true, &args));
	NT_EXPECT_EQ(args.index, 0);
	NT_CHECK_SEM(sem, 0, 2);
}

NT_TEST(objs_pointer_faults_efault)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int *edge = nt_edge_ptr(sizeof(int));
	struct ntsync_wait_args args;

	nt_wait_args_init(&args, NULL, 1, 123, 0);
	EXPECT_ARGS_FAIL(dev, &args, EFAULT);
	args.objs = (uint64_t)(uintptr_t)nt_bad_ptr();
	EXPECT_ARGS_FAIL(dev, &args, EFAULT);
	/* The first fd is readable and valid, the second is not readable. */
	*edge = sem;
	args.objs = (uint64_t)(uintptr_t)edge;
	args.count = 2;
	EXPECT_ARGS_FAIL(dev, &args, EFAULT);
	NT_CHECK_SEM(sem, 1, 1);
	/* The same single readable fd is fine. */
	args.count = 1;
	args.index = NT_POISON;
	NT_ASSERT_OK(nt_wait_raw(dev, false, &args));
	NT_EXPECT_EQ(args.index, 0);
}

NT_TEST(args_pointer_faults_efault)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int mutex = nt_mutex(dev, 123, 1);
	int ev = nt_event(dev, 1, 0);
	void *bad = nt_bad_ptr();

	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_WAIT_ANY, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_WAIT_ALL, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_WAIT_ANY, NULL), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_SEM, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_MUTEX, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_EVENT, NULL), EFAULT);

	/* Input-carrying object ioctls fail before changing anything. */
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_SEM_RELEASE, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_MUTEX_UNLOCK, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_MUTEX_KILL, NULL), EFAULT);
	NT_CHECK_SEM(sem, 1, 1);
	NT_CHECK_MUTEX(mutex, 123, 1);

	/* Output-only ioctls report the fault too. */
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_SEM_READ, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_MUTEX_READ, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_EVENT_READ, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_EVENT_SET, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_EVENT_RESET, bad), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_EVENT_PULSE, NULL), EFAULT);
}

/*
 * An in/out argument that can be read but not written: the input is fine,
 * the output would fault, so the call fails with EFAULT before it changes
 * anything (the driver writes the output back before it starts).
 */
NT_TEST(readonly_output_efault_state_intact)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 3);
	int mutex = nt_mutex(dev, 123, 1);
	struct ntsync_mutex_args margs = { .owner = 123, .count = NT_POISON };
	uint32_t add = 1;
	void *ro;

	ro = nt_readonly_copy(&add, sizeof(add));
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_SEM_RELEASE, ro), EFAULT);
	nt_unmap_readonly(ro);
	NT_CHECK_SEM(sem, 1, 3);

	ro = nt_readonly_copy(&margs, sizeof(margs));
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_MUTEX_UNLOCK, ro), EFAULT);
	nt_unmap_readonly(ro);
	NT_CHECK_MUTEX(mutex, 123, 1);

	/* The same calls with writable arguments go through. */
	NT_ASSERT_OK(nt_ioctl(sem, NTSYNC_IOC_SEM_RELEASE, &add));
	NT_EXPECT_EQ(add, 1);
	NT_CHECK_SEM(sem, 2, 3);
	NT_ASSERT_OK(nt_ioctl(mutex, NTSYNC_IOC_MUTEX_UNLOCK, &margs));
	NT_EXPECT_EQ(margs.count, 1);
	NT_CHECK_MUTEX(mutex, 0, 0);
}

NT_TEST(wrong_object_type_einval)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 2);
	int mutex = nt_mutex(dev, 123, 1);
	int ev = nt_event(dev, 0, 0);
	struct ntsync_mutex_args margs = { .owner = 123, .count = 0 };
	struct ntsync_sem_args sargs;
	struct ntsync_event_args eargs;
	uint32_t u32;

	/* Event and mutex operations on a semaphore. */
	u32 = 123;
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_MUTEX_UNLOCK, &margs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_MUTEX_KILL, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_MUTEX_READ, &margs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_EVENT_SET, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_EVENT_RESET, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_EVENT_PULSE, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(sem, NTSYNC_IOC_EVENT_READ, &eargs), EINVAL);
	NT_CHECK_SEM(sem, 1, 2);

	/* Semaphore and event operations on a mutex. */
	u32 = 1;
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_SEM_RELEASE, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_SEM_READ, &sargs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_EVENT_SET, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_EVENT_RESET, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_EVENT_PULSE, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(mutex, NTSYNC_IOC_EVENT_READ, &eargs), EINVAL);
	NT_CHECK_MUTEX(mutex, 123, 1);

	/* Semaphore and mutex operations on an event. */
	u32 = 1;
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_SEM_RELEASE, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_SEM_READ, &sargs), EINVAL);
	margs.owner = 123;
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_MUTEX_UNLOCK, &margs), EINVAL);
	u32 = 123;
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_MUTEX_KILL, &u32), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ev, NTSYNC_IOC_MUTEX_READ, &margs), EINVAL);
	NT_CHECK_EVENT(ev, 0, 0);
}

NT_TEST(unknown_ioctls_enotty)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 1, 2), nt_mutex(dev, 123, 1),
			nt_event(dev, 1, 1) };
	uint64_t buf[8] = { 0 };
	const unsigned long unknown[] = {
		_IO('N', 0x7f),
		_IOWR('N', 0xa0, struct ntsync_sem_args),
		_IOR('X', 0x80, __u32),
		/* Known numbers with a wrong size encoding. */
		_IOW('N', 0x80, __u32),
		_IOWR('N', 0x81, __u64),
		_IOWR('N', 0x82, struct ntsync_sem_args),
		_IOR('N', 0x8b, __u32),
	};
	const int fds[4] = { dev, objs[0], objs[1], objs[2] };

	for (unsigned int f = 0; f < 4; f++) {
		for (unsigned int i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
			int ret = nt_ioctl(fds[f], unknown[i], buf);

			if (ret != -ENOTTY)
				NT_FAIL_SOFT("%s: request 0x%lx returned %d (%s), expected ENOTTY",
					     f ? "object" : "device",
					     unknown[i], ret, ename(ret));
		}
	}
	NT_CHECK_SEM(objs[0], 1, 2);
	NT_CHECK_MUTEX(objs[1], 123, 1);
	NT_CHECK_EVENT(objs[2], 1, 1);
}

NT_TEST(device_ioctls_on_object_enotty)
{
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 1, 2), nt_mutex(dev, 123, 1),
			nt_event(dev, 1, 1) };
	struct ntsync_sem_args sargs = { .count = 0, .max = 1 };
	struct ntsync_mutex_args margs = { .owner = 0, .count = 0 };
	struct ntsync_event_args eargs = { .manual = 0, .signaled = 0 };
	struct ntsync_wait_args wargs;

	for (unsigned int i = 0; i < 3; i++) {
		nt_wait_args_init(&wargs, &objs[0], 1, 123, 0);
		NT_EXPECT_ERRNO(nt_ioctl(objs[i], NTSYNC_IOC_CREATE_SEM, &sargs),
				ENOTTY);
		NT_EXPECT_ERRNO(nt_ioctl(objs[i], NTSYNC_IOC_CREATE_MUTEX,
					 &margs), ENOTTY);
		NT_EXPECT_ERRNO(nt_ioctl(objs[i], NTSYNC_IOC_CREATE_EVENT,
					 &eargs), ENOTTY);
		NT_EXPECT_ERRNO(nt_ioctl(objs[i], NTSYNC_IOC_WAIT_ANY, &wargs),
				ENOTTY);
		NT_EXPECT_ERRNO(nt_ioctl(objs[i], NTSYNC_IOC_WAIT_ALL, &wargs),
				ENOTTY);
	}
	NT_CHECK_SEM(objs[0], 1, 2);
}

NT_TEST(object_ioctls_on_device_enotty)
{
	int dev = nt_dev();
	struct ntsync_mutex_args margs = { .owner = 123, .count = 0 };
	struct ntsync_sem_args sargs;
	struct ntsync_event_args eargs;
	uint32_t u32 = 1;

	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_SEM_RELEASE, &u32), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_SEM_READ, &sargs), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_MUTEX_UNLOCK, &margs), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_MUTEX_KILL, &u32), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_MUTEX_READ, &margs), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_EVENT_SET, &u32), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_EVENT_RESET, &u32), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_EVENT_PULSE, &u32), ENOTTY);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_EVENT_READ, &eargs), ENOTTY);
}

NT_TEST(failed_creates_leave_no_fd)
{
	int dev = nt_dev();
	int probe, next;

	/* The lowest free fd number must be the same before and after. */
	probe = dup(dev);
	NT_ASSERT_GE(probe, 0);
	close(probe);
	NT_EXPECT_ERRNO(ntsync_sem_create(dev, 2, 1), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, 0, 1), EINVAL);
	NT_EXPECT_ERRNO(ntsync_mutex_create(dev, 1, 0), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_SEM, nt_bad_ptr()),
			EFAULT);
	next = dup(dev);
	NT_EXPECT_EQ(next, probe);
}
