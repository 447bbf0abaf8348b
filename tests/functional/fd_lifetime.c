// SPDX-License-Identifier: GPL-2.0-only
/*
 * File descriptor lifetime: objects outlive the device fd, dup()ed fds name
 * the same object, fds are close-on-exec, forked children share objects,
 * and many objects stay independent.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_util.h"

static bool is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

NT_TEST(objects_outlive_device_fd)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 3);
	int m = nt_mutex(dev, 5, 1);
	int ev = nt_event(dev, 0, 0);
	uint32_t prev;

	NT_ASSERT_EQ(close(dev), 0);
	NT_EXPECT_EQ(nt_release(sem, 2), 1);
	NT_CHECK_SEM(sem, 3, 3);
	NT_EXPECT_ERRNO(ntsync_sem_release(sem, 1, &prev), EOVERFLOW);
	NT_EXPECT_EQ(nt_set(ev), 0);
	NT_CHECK_EVENT(ev, 0, 1);
	NT_ASSERT_OK(ntsync_event_pulse(ev, &prev));
	NT_EXPECT_EQ(prev, 1);
	NT_CHECK_EVENT(ev, 0, 0);
	NT_EXPECT_ERRNO(ntsync_mutex_unlock(m, 6, &prev), EPERM);
	NT_ASSERT_OK(ntsync_mutex_kill(m, 5));
	NT_CHECK_MUTEX_ABANDONED(m);
}

NT_TEST(objects_belong_to_their_device_forever)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int again;
	uint32_t index;

	NT_ASSERT_EQ(close(dev), 0);
	/* A new open is a new instance, even if it gets the same fd number. */
	again = nt_dev();
	NT_EXPECT_ERRNO(ntsync_wait_any(again, &sem, 1, 1, 0, 0, 0, &index),
			EINVAL);
	NT_CHECK_SEM(sem, 1, 1);
}

NT_TEST(fds_are_close_on_exec)
{
	int dev = nt_dev();

	NT_EXPECT_TRUE(is_cloexec(dev));
	NT_EXPECT_TRUE(is_cloexec(nt_sem(dev, 0, 1)));
	NT_EXPECT_TRUE(is_cloexec(nt_mutex(dev, 0, 0)));
	NT_EXPECT_TRUE(is_cloexec(nt_event(dev, 0, 0)));
}

NT_TEST(dup_names_the_same_object)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 4);
	int twin = dup(sem);
	int pair[2] = { sem, twin };
	uint32_t index = NT_POISON;

	NT_ASSERT_GE(twin, 0);
	nt_release(twin, 2);
	NT_CHECK_SEM(sem, 2, 4);
	/* For WAIT_ALL two fds of one object are a duplicate. */
	NT_EXPECT_ERRNO(ntsync_wait_all(dev, pair, 2, 1, 0, 0, 0, &index),
			EINVAL);
	NT_CHECK_SEM(sem, 2, 4);
	/* For WAIT_ANY it is acquired once, at the lower index. */
	NT_ASSERT_OK(ntsync_wait_any(dev, pair, 2, 1, 0, 0, 0, &index));
	NT_EXPECT_EQ(index, 0);
	NT_CHECK_SEM(twin, 1, 4);
	/* The object lives on through the remaining fd. */
	NT_ASSERT_EQ(close(sem), 0);
	NT_CHECK_SEM(twin, 1, 4);
	NT_ASSERT_OK(ntsync_wait_any(dev, &twin, 1, 1, 0, 0, 0, &index));
	NT_CHECK_SEM(twin, 0, 4);
}

NT_TEST(forked_child_shares_objects)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 0, 2);
	int ev = nt_event(dev, 1, 0);
	int m = nt_mutex(dev, 0, 0);
	int status = 0;
	pid_t pid;

	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t prev, index;
		int bad = 0;

		bad |= ntsync_sem_release(sem, 2, &prev) != 0;
		bad |= ntsync_event_set(ev, &prev) != 0;
		/* The child waits through the inherited device fd. */
		bad |= ntsync_wait_any(dev, &m, 1, 77, 0, 0, 0, &index) != 0;
		_exit(bad);
	}
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFEXITED(status));
	NT_EXPECT_EQ(WEXITSTATUS(status), 0);
	NT_CHECK_SEM(sem, 2, 2);
	NT_CHECK_EVENT(ev, 1, 1);
	/* Ownership is by id, not by process: the child's 77 still holds it. */
	NT_CHECK_MUTEX(m, 77, 1);
	NT_EXPECT_EQ(nt_unlock(m, 77), 1);
}

NT_TEST(many_objects_stay_independent)
{
	enum { N = 200 };
	int dev = nt_dev();
	int sems[N];
	uint32_t index;

	for (unsigned int i = 0; i < N; i++)
		sems[i] = nt_sem(dev, i, N);
	/* Take one count from every even-numbered semaphore. */
	NT_EXPECT_ERRNO(ntsync_wait_any(dev, &sems[0], 1, 1, 0, 0, 0, &index),
			ETIMEDOUT);
	for (unsigned int i = 2; i < N; i += 2)
		NT_ASSERT_OK(ntsync_wait_any(dev, &sems[i], 1, 1, 0, 0, 0,
					     &index));
	for (unsigned int i = 0; i < N; i++)
		NT_CHECK_SEM(sems[i], (i && !(i & 1)) ? i - 1 : i, N);
	for (unsigned int i = 0; i < N; i++)
		NT_ASSERT_EQ(close(sems[i]), 0);
	/* Still fully usable afterwards. */
	NT_CHECK_SEM(nt_sem(dev, 3, 3), 3, 3);
}
