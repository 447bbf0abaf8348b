// SPDX-License-Identifier: GPL-2.0-only
/*
 * CREATE_CHANNEL and the boundary between channels and the other objects:
 * max_depth 1..1024 (EINVAL outside, and for a non-zero __pad), channel
 * fds refused by WAIT_ANY/WAIT_ALL, channel ioctls refused on semaphores,
 * mutexes and events, object ioctls refused on channels (EINVAL each time),
 * and a refused call changes nothing.
 */
#include <string.h>
#include <unistd.h>

#include "nt_chan.h"

static int create_raw(int dev, uint32_t max_depth, uint32_t pad)
{
	struct ntsync_channel_create_args args = { .max_depth = max_depth,
						   .__pad = pad };

	return nt_ioctl(dev, NTSYNC_IOC_CREATE_CHANNEL, &args);
}

NT_TEST(valid_depths)
{
	static const uint32_t depths[] = { 1, 2, 64, 1023, 1024 };
	struct ntsync_channel_recv2_args msg;
	int dev = nt_dev();
	int fds[5];

	for (unsigned int i = 0; i < 5; i++) {
		fds[i] = ntsync_channel_create(dev, depths[i]);
		NT_ASSERT_OK(fds[i]);
		for (unsigned int j = 0; j < i; j++)
			NT_ASSERT_NE(fds[i], fds[j]);
		/* A new channel is empty. */
		NT_EXPECT_ERRNO(nt_chan_recv(fds[i], NT_TRY_RECV2, &msg),
				EAGAIN);
	}
	for (unsigned int i = 0; i < 5; i++)
		NT_EXPECT_OK(ntsync_close(fds[i]));
	close(dev);
}

NT_TEST(bad_depths)
{
	static const uint32_t bad[] = { 0, 1025, 2048, 0x80000000u,
					0xffffffffu };
	int dev = nt_dev();

	for (unsigned int i = 0; i < 5; i++) {
		NT_EXPECT_ERRNO(ntsync_channel_create(dev, bad[i]), EINVAL);
		NT_EXPECT_ERRNO(create_raw(dev, bad[i], 0), EINVAL);
	}
	close(dev);
}

NT_TEST(nonzero_pad)
{
	int dev = nt_dev();

	NT_EXPECT_ERRNO(create_raw(dev, 1, 1), EINVAL);
	NT_EXPECT_ERRNO(create_raw(dev, 16, 0x80000000u), EINVAL);
	NT_EXPECT_ERRNO(create_raw(dev, 1024, 0xffffffffu), EINVAL);
	/* The same depths are fine with the pad clear. */
	NT_EXPECT_OK(create_raw(dev, 16, 0));
	close(dev);
}

NT_TEST(create_efault)
{
	int dev = nt_dev();

	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_CHANNEL, nt_bad_ptr()),
			EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(dev, NTSYNC_IOC_CREATE_CHANNEL,
				 nt_edge_ptr(4)), EFAULT);
	close(dev);
}

/* A channel is never an object of WAIT_ANY or WAIT_ALL, nor an alert. */
NT_TEST(channel_in_waits)
{
	struct ntsync_wait_args args;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);
	int sem = nt_sem(dev, 1, 2);
	int event = nt_event(dev, 1, 1);
	int fds[2];

	for (int all = 0; all <= 1; all++) {
		fds[0] = sem;
		fds[1] = ch;
		nt_wait_args_init(&args, fds, 2, NT_WAIT_OWNER, 0);
		NT_EXPECT_ERRNO(nt_wait_raw(dev, all, &args), EINVAL);
		nt_wait_args_init(&args, &ch, 1, NT_WAIT_OWNER, 0);
		NT_EXPECT_ERRNO(nt_wait_raw(dev, all, &args), EINVAL);
		/* As the alert. */
		nt_wait_args_init(&args, &event, 1, NT_WAIT_OWNER, 0);
		args.alert = (uint32_t)ch;
		NT_EXPECT_ERRNO(nt_wait_raw(dev, all, &args), EINVAL);
	}
	/* Nothing was consumed by the refused waits. */
	NT_CHECK_SEM(sem, 1, 2);
	NT_CHECK_EVENT(event, 1, 1);
	close(ch);
	close(sem);
	close(event);
	close(dev);
}

/* Every channel ioctl on a semaphore, a mutex and an event: EINVAL. */
NT_TEST(channel_ioctls_on_objects)
{
	struct ntsync_channel_send_args send = { .policy = 0, .prio = 0,
						 .payload_off = 1,
						 .reply_off = 2 };
	struct ntsync_channel_register_thread_args reg = { .tid = 1,
							   .token = 7 };
	struct ntsync_channel_recv2_args recv2;
	struct ntsync_channel_recv_args recv;
	int dev = nt_dev();
	int objs[3] = { nt_sem(dev, 1, 3), nt_mutex(dev, 0, 0),
			nt_event(dev, 0, 1) };
	uint64_t id = 1;
	uint32_t tid = 1;

	for (unsigned int i = 0; i < 3; i++) {
		int o = objs[i];

		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_SEND_PI, &send),
				EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_RECV, &recv),
				EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_RECV2, &recv2),
				EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_TRY_RECV2,
					 &recv2), EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_REPLY, &id),
				EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_REGISTER_THREAD,
					 &reg), EINVAL);
		NT_EXPECT_ERRNO(nt_ioctl(o, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
					 &tid), EINVAL);
	}
	/* Unchanged. */
	NT_CHECK_SEM(objs[0], 1, 3);
	NT_CHECK_MUTEX(objs[1], 0, 0);
	NT_CHECK_EVENT(objs[2], 0, 1);
	for (unsigned int i = 0; i < 3; i++)
		close(objs[i]);
	close(dev);
}

/* Every object ioctl on a channel: EINVAL, and the channel still works. */
NT_TEST(object_ioctls_on_channel)
{
	struct ntsync_event_set_pi_args set_pi = { .flags = 0,
						   .policy = SCHED_FIFO,
						   .prio = 1 };
	struct ntsync_mutex_args margs = { .owner = 1, .count = 0 };
	struct ntsync_event_args eargs;
	struct ntsync_sem_args sargs;
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor sender;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	uint32_t value = 1;

	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_SEM_RELEASE, &value), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_SEM_READ, &sargs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_MUTEX_UNLOCK, &margs), EINVAL);
	value = 1;
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_MUTEX_KILL, &value), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_MUTEX_READ, &margs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_EVENT_SET, &value), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_EVENT_RESET, &value), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_EVENT_PULSE, &value), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_EVENT_READ, &eargs), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_EVENT_SET_PI, &set_pi),
			EINVAL);

	/* Still an empty, working channel. */
	NT_EXPECT_ERRNO(nt_chan_recv(ch, NT_TRY_RECV2, &msg), EAGAIN);
	nt_ca_start(&sender, ch, NT_OTHER(0));
	nt_ca_send_start(&sender, 0, 0, 0x1234);
	NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&sender), 0, 0x1234);
	NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
	NT_EXPECT_EQ(nt_ca_finish(&sender), 0);
	nt_ca_stop(&sender);
	close(ch);
	close(dev);
}

/* A channel of one device is not an object of another device's waits. */
NT_TEST(channel_of_other_device)
{
	struct ntsync_aggregate_wait_args args;
	struct ntsync_aggregate_source src;
	int dev = nt_dev(), dev2 = nt_dev();
	int ch = nt_channel(dev, 1);

	src = nt_src_obj(ch);
	nt_agg_args_init(&args, &src, 1, 0, 0);
	NT_EXPECT_ERRNO(nt_agg_raw(dev2, &args), EINVAL);
	/* On its own device it is a valid source (empty: times out). */
	nt_agg_args_init(&args, &src, 1, 0, 0);
	NT_EXPECT_ERRNO(nt_agg_raw(dev, &args), ETIMEDOUT);
	close(ch);
	close(dev);
	close(dev2);
}
