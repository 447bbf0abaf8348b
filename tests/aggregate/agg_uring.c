// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wine-NSPA's uring_fd: WAIT_ANY / WAIT_ALL with a non-zero pad naming an
 * eventfd.  When the eventfd is readable the wait returns 0 with index
 * NTSYNC_INDEX_URING_READY, already at the call or while sleeping; the
 * kernel never reads the eventfd (its counter is intact).  Objects win: if
 * the object (WAIT_ANY) or all objects (WAIT_ALL), or the alert, can be
 * taken too, they are taken and their index returned.  A pad that is not
 * an eventfd is EINVAL, and a refused wait consumes nothing.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nt_chan.h"

#define OWNER	3

/* An actor's WAIT_ANY/WAIT_ALL with a uring_fd (the actor's wait fields,
 * the uring fd as the argument). */
static int do_uring_wait(struct nt_actor *a, void *arg)
{
	int uring = *(const int *)arg;

	return (a->all ? ntsync_wait_all_uring : ntsync_wait_any_uring)(
		a->dev, a->fds, a->count, a->owner, NTSYNC_NO_ALERT, uring,
		a->timeout, 0, &a->index);
}

static void uring_wait_start(struct nt_actor *a, int dev, bool all,
			     const int *fds, uint32_t count, int *uring)
{
	a->dev = dev;
	a->all = all;
	memcpy(a->fds, fds, count * sizeof(*fds));
	a->count = count;
	a->owner = OWNER;
	a->timeout = NTSYNC_TIMEOUT_INFINITE;
	nt_actor_post(a, do_uring_wait, uring);
	nt_actor_wait_blocked(a);
}

static int wait_now(int dev, bool all, const int *fds, uint32_t count,
		    int alert, int uring, uint32_t *index)
{
	*index = NT_POISON;
	return (all ? ntsync_wait_all_uring : ntsync_wait_any_uring)(
		dev, fds, count, OWNER, alert, uring, NT_NOW_DEADLINE, 0,
		index);
}

NT_TEST(any_ready_at_call)
{
	int dev = nt_dev();
	int efd = nt_eventfd();
	int objs[2] = { nt_event(dev, 0, 0), nt_sem(dev, 0, 1) };
	uint32_t index;

	/* Not readable: a plain poll of the objects. */
	NT_EXPECT_ERRNO(wait_now(dev, false, objs, 2, 0, efd, &index),
			ETIMEDOUT);
	nt_eventfd_add(efd, 2);
	for (int i = 0; i < 3; i++) {
		NT_ASSERT_OK(wait_now(dev, false, objs, 2, 0, efd, &index));
		NT_EXPECT_EQ(index, NTSYNC_INDEX_URING_READY);
	}
	/* Never read by the kernel. */
	NT_EXPECT_EQ(nt_eventfd_take(efd), 2u);
	NT_EXPECT_ERRNO(wait_now(dev, false, objs, 2, 0, efd, &index),
			ETIMEDOUT);
	NT_CHECK_EVENT(objs[0], 0, 0);
	NT_CHECK_SEM(objs[1], 0, 1);
	close(objs[0]);
	close(objs[1]);
	close(efd);
	close(dev);
}

/* No object at all: the eventfd alone. */
NT_TEST(any_no_objects)
{
	int dev = nt_dev();
	int efd = nt_eventfd();
	uint32_t index;

	NT_EXPECT_ERRNO(wait_now(dev, false, NULL, 0, 0, efd, &index),
			ETIMEDOUT);
	nt_eventfd_add(efd, 1);
	NT_ASSERT_OK(wait_now(dev, false, NULL, 0, 0, efd, &index));
	NT_EXPECT_EQ(index, NTSYNC_INDEX_URING_READY);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	close(efd);
	close(dev);
}

NT_TEST(any_ready_while_waiting)
{
	struct nt_actor a;
	int dev = nt_dev();
	int efd = nt_eventfd();
	int objs[2] = { nt_event(dev, 0, 0), nt_mutex(dev, 99, 1) };

	nt_actor_start(&a, NT_OTHER(0));
	uring_wait_start(&a, dev, false, objs, 2, &efd);
	nt_eventfd_add(efd, 5);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_EXPECT_EQ(a.index, NTSYNC_INDEX_URING_READY);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 5u);
	NT_CHECK_EVENT(objs[0], 0, 0);
	NT_CHECK_MUTEX(objs[1], 99, 1);

	/* And an object still ends it the usual way. */
	uring_wait_start(&a, dev, false, objs, 2, &efd);
	nt_set(objs[0]);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_EXPECT_EQ(a.index, 0u);
	NT_CHECK_EVENT(objs[0], 0, 0);
	nt_actor_stop(&a);
	close(objs[0]);
	close(objs[1]);
	close(efd);
	close(dev);
}

/* Object and eventfd both ready: the object wins and is consumed. */
NT_TEST(any_object_wins)
{
	int dev = nt_dev();
	int efd = nt_eventfd();
	int objs[3] = { nt_event(dev, 0, 0), nt_sem(dev, 0, 2),
			nt_event(dev, 0, 0) };
	int alert = nt_event(dev, 1, 0);
	uint32_t index;

	nt_eventfd_add(efd, 1);
	nt_release(objs[1], 2);
	NT_ASSERT_OK(wait_now(dev, false, objs, 3, 0, efd, &index));
	NT_EXPECT_EQ(index, 1u);
	NT_CHECK_SEM(objs[1], 1, 2);
	nt_set(objs[2]);
	NT_ASSERT_OK(wait_now(dev, false, objs, 3, 0, efd, &index));
	NT_EXPECT_EQ(index, 1u);
	NT_CHECK_SEM(objs[1], 0, 2);
	NT_ASSERT_OK(wait_now(dev, false, objs, 3, 0, efd, &index));
	NT_EXPECT_EQ(index, 2u);
	NT_CHECK_EVENT(objs[2], 0, 0);
	/* The alert is an object too. */
	nt_set(alert);
	NT_ASSERT_OK(wait_now(dev, false, objs, 3, alert, efd, &index));
	NT_EXPECT_EQ(index, 3u);
	/* Only the eventfd left. */
	nt_reset(alert);
	NT_ASSERT_OK(wait_now(dev, false, objs, 3, alert, efd, &index));
	NT_EXPECT_EQ(index, NTSYNC_INDEX_URING_READY);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	for (int i = 0; i < 3; i++)
		close(objs[i]);
	close(alert);
	close(efd);
	close(dev);
}

/* Whether thread @tid is in an uninterruptible sleep ('D'), for up to a
 * second: the debug kernel's one-shot sleeping delay points. */
static bool in_debug_sleep(pid_t tid)
{
	uint64_t start = nt_mono_ns();

	while (nt_task_state(tid) != 'D') {
		if (nt_elapsed_ms(start) > 1000)
			return false;
		nt_sleep_us(100);
	}
	return true;
}

/*
 * The eventfd satisfies a sleeping WAIT_ANY, then its object is signaled
 * before the waiter has left its queues: the object still wins, taken
 * after the waiter left them.  On the debug kernel a one-shot sleep between
 * waking and unqueueing (debug_delay_woken_us) holds the waiter there while
 * the object is signaled; elsewhere, or if the window closed first, the
 * eventfd may win instead.  Either way exactly one of the two is reported,
 * the object is consumed only if its index is, and the eventfd never is.
 */
NT_TEST_TIMEOUT(any_object_signaled_after_the_eventfd_wins, 60)
{
	struct nt_actor a;
	int dev = nt_dev();
	int efd = nt_eventfd();
	int obj = nt_event(dev, 0, 0);
	bool widened, in_window;
	pid_t tid;

	nt_actor_start(&a, NT_OTHER(0));
	tid = nt_actor_tid(&a);
	widened = nt_module_param_write("debug_delay_woken_us", "2000000");
	uring_wait_start(&a, dev, false, &obj, 1, &efd);
	nt_eventfd_add(efd, 5);
	in_window = widened && in_debug_sleep(tid);
	nt_set(obj);
	in_window = in_window && nt_task_state(tid) == 'D';
	nt_diag("object signaled %s", in_window ? "inside the window" :
		"outside the window (or no delay point in this module)");
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	if (in_window)
		NT_EXPECT_EQ(a.index, 0u);
	if (a.index == 0) {
		NT_CHECK_EVENT(obj, 0, 0);
	} else {
		NT_EXPECT_EQ(a.index, NTSYNC_INDEX_URING_READY);
		NT_CHECK_EVENT(obj, 0, 1);
	}
	NT_EXPECT_EQ(nt_eventfd_take(efd), 5u);
	if (widened)
		NT_ASSERT_TRUE(nt_module_param_write("debug_delay_woken_us",
						     "0"));
	nt_actor_stop(&a);
	close(obj);
	close(efd);
	close(dev);
}

/* WAIT_ALL: all objects ready win; some ready is the eventfd, and nothing
 * is consumed. */
NT_TEST(all_object_rules)
{
	int dev = nt_dev();
	int efd = nt_eventfd();
	int objs[3] = { nt_sem(dev, 1, 1), nt_event(dev, 1, 0),
			nt_mutex(dev, 0, 0) };
	uint32_t index;

	nt_eventfd_add(efd, 1);
	NT_ASSERT_OK(wait_now(dev, true, objs, 3, 0, efd, &index));
	NT_EXPECT_EQ(index, NTSYNC_INDEX_URING_READY);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_EVENT(objs[1], 1, 0);
	NT_CHECK_MUTEX(objs[2], 0, 0);

	nt_set(objs[1]);
	NT_ASSERT_OK(wait_now(dev, true, objs, 3, 0, efd, &index));
	NT_EXPECT_EQ(index, 0u);
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(objs[1], 1, 1);
	NT_CHECK_MUTEX(objs[2], OWNER, 1);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	for (int i = 0; i < 3; i++)
		close(objs[i]);
	close(efd);
	close(dev);
}

NT_TEST(all_while_waiting)
{
	struct nt_actor a;
	int dev = nt_dev();
	int efd = nt_eventfd();
	int objs[3] = { nt_sem(dev, 1, 1), nt_event(dev, 0, 0),
			nt_event(dev, 1, 0) };

	nt_actor_start(&a, NT_OTHER(0));
	/* The eventfd ends it; nothing consumed. */
	uring_wait_start(&a, dev, true, objs, 3, &efd);
	nt_set(objs[1]);
	nt_eventfd_add(efd, 1);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_EXPECT_EQ(a.index, NTSYNC_INDEX_URING_READY);
	NT_CHECK_SEM(objs[0], 1, 1);
	NT_CHECK_EVENT(objs[1], 0, 1);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);

	/* The objects end it: all taken. */
	uring_wait_start(&a, dev, true, objs, 3, &efd);
	nt_set(objs[2]);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_EXPECT_EQ(a.index, 0u);
	NT_CHECK_SEM(objs[0], 0, 1);
	NT_CHECK_EVENT(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 1, 1);
	nt_actor_stop(&a);
	for (int i = 0; i < 3; i++)
		close(objs[i]);
	close(efd);
	close(dev);
}

/* A semaphore-mode eventfd and a large counter are not touched either. */
NT_TEST(eventfd_never_read)
{
	int dev = nt_dev();
	int efd = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	int big = nt_eventfd();
	int event = nt_event(dev, 0, 0);
	uint32_t index;

	NT_ASSERT_GE(efd, 0);
	nt_eventfd_add(efd, 2);
	nt_eventfd_add(big, 0xfffffffffffffffeull - 1);
	for (int i = 0; i < 4; i++) {
		NT_ASSERT_OK(wait_now(dev, i & 1, &event, 1, 0,
				      i < 2 ? efd : big, &index));
		NT_EXPECT_EQ(index, NTSYNC_INDEX_URING_READY);
	}
	/* Semaphore mode: two reads of 1, then empty. */
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 0u);
	NT_EXPECT_EQ(nt_eventfd_take(big), 0xfffffffffffffffeull - 1);
	close(efd);
	close(big);
	close(event);
	close(dev);
}

NT_TEST(not_an_eventfd)
{
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 1);
	int event = nt_event(dev, 1, 1);
	int p[2], sv[2], memfd, closed;
	uint32_t index;

	nt_pipe(p);
	nt_write_byte(p[1]);
	NT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memfd = memfd_create("uring", MFD_CLOEXEC);
	NT_ASSERT_GE(memfd, 0);
	closed = dup(p[0]);
	close(closed);

	for (int all = 0; all <= 1; all++) {
		int bad[6] = { p[0], p[1], sv[0], memfd, event, closed };

		for (int i = 0; i < 6; i++) {
			struct ntsync_wait_args args;

			NT_EXPECT_ERRNO(wait_now(dev, all, &sem, 1, 0, bad[i],
						 &index), EINVAL);
			/* The same through the raw ioctl, with a huge pad. */
			nt_wait_args_init(&args, &sem, 1, OWNER, 0);
			args.pad = i ? (uint32_t)bad[i] : 0xffffffffu;
			NT_EXPECT_ERRNO(nt_wait_raw(dev, all, &args), EINVAL);
		}
	}
	/* Nothing was consumed by the refused waits. */
	NT_CHECK_SEM(sem, 1, 1);
	NT_CHECK_EVENT(event, 1, 1);
	NT_EXPECT_EQ(nt_drain_fd(p[0]), 1u);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(memfd);
	close(sem);
	close(event);
	close(dev);
}

NT_TEST(timeout_and_interrupt)
{
	struct nt_actor a;
	int dev = nt_dev();
	int efd = nt_eventfd();
	int event = nt_event(dev, 0, 0);
	uint64_t deadline = nt_deadline_ms(50);
	uint32_t index = NT_POISON;

	for (int all = 0; all <= 1; all++) {
		NT_EXPECT_ERRNO((all ? ntsync_wait_all_uring :
				 ntsync_wait_any_uring)(dev, &event, 1, OWNER,
							0, efd, deadline, 0,
							&index), ETIMEDOUT);
		NT_EXPECT_GE(nt_mono_ns(), deadline);
	}
	/* A signal (no SA_RESTART) ends it with EINTR; the eventfd's wait
	 * queue is left clean (it fires nobody later). */
	nt_sig_install(SIGUSR1, false);
	nt_actor_start(&a, NT_OTHER(0));
	uring_wait_start(&a, dev, false, &event, 1, &efd);
	nt_sig_deliver(a.thread.handle, SIGUSR1);
	NT_EXPECT_ERRNO(nt_actor_finish(&a), EINTR);
	nt_eventfd_add(efd, 1);
	NT_EXPECT_EQ(nt_eventfd_take(efd), 1u);
	uring_wait_start(&a, dev, true, &event, 1, &efd);
	nt_set(event);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	NT_EXPECT_EQ(a.index, 0u);
	nt_actor_stop(&a);
	close(efd);
	close(event);
	close(dev);
}
