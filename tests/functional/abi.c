// SPDX-License-Identifier: GPL-2.0-only
/*
 * ABI checks: structure sizes and layouts identical for i386 and x86_64
 * (compile time), ioctl request numbers identical to upstream (run time).
 */
#include <stddef.h>

#include "nt_util.h"

#define SIZE_IS(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " has the wrong size")
#define OFFSET_IS(type, member, off) \
	_Static_assert(offsetof(struct type, member) == (off), \
		       #type "." #member " is at the wrong offset")

SIZE_IS(ntsync_sem_args, 8);
SIZE_IS(ntsync_mutex_args, 8);
SIZE_IS(ntsync_event_args, 8);
SIZE_IS(ntsync_wait_args, 40);
SIZE_IS(ntsync_event_set_pi_args, 16);
SIZE_IS(ntsync_channel_create_args, 8);
SIZE_IS(ntsync_channel_send_args, 24);
SIZE_IS(ntsync_channel_recv_args, 32);
SIZE_IS(ntsync_channel_recv2_args, 40);
SIZE_IS(ntsync_channel_register_thread_args, 16);
SIZE_IS(ntsync_aggregate_source, 16);
SIZE_IS(ntsync_aggregate_wait_args, 40);

OFFSET_IS(ntsync_sem_args, count, 0);
OFFSET_IS(ntsync_sem_args, max, 4);
OFFSET_IS(ntsync_mutex_args, owner, 0);
OFFSET_IS(ntsync_mutex_args, count, 4);
OFFSET_IS(ntsync_event_args, manual, 0);
OFFSET_IS(ntsync_event_args, signaled, 4);
OFFSET_IS(ntsync_wait_args, timeout, 0);
OFFSET_IS(ntsync_wait_args, objs, 8);
OFFSET_IS(ntsync_wait_args, count, 16);
OFFSET_IS(ntsync_wait_args, index, 20);
OFFSET_IS(ntsync_wait_args, flags, 24);
OFFSET_IS(ntsync_wait_args, owner, 28);
OFFSET_IS(ntsync_wait_args, alert, 32);
OFFSET_IS(ntsync_wait_args, pad, 36);
OFFSET_IS(ntsync_channel_send_args, payload_off, 8);
OFFSET_IS(ntsync_channel_send_args, reply_off, 16);
OFFSET_IS(ntsync_channel_recv_args, sender_tid, 24);
OFFSET_IS(ntsync_channel_recv2_args, thread_token, 32);
OFFSET_IS(ntsync_channel_register_thread_args, token, 8);
OFFSET_IS(ntsync_aggregate_wait_args, nb_sources, 16);
OFFSET_IS(ntsync_aggregate_wait_args, __pad, 36);

/* The request numbers Wine and upstream kernels use (magic 'N'). */
NT_TEST(upstream_ioctl_numbers)
{
	NT_EXPECT_EQ(NTSYNC_IOC_CREATE_SEM, 0x40084e80ul);
	NT_EXPECT_EQ(NTSYNC_IOC_SEM_RELEASE, 0xc0044e81ul);
	NT_EXPECT_EQ(NTSYNC_IOC_WAIT_ANY, 0xc0284e82ul);
	NT_EXPECT_EQ(NTSYNC_IOC_WAIT_ALL, 0xc0284e83ul);
	NT_EXPECT_EQ(NTSYNC_IOC_CREATE_MUTEX, 0x40084e84ul);
	NT_EXPECT_EQ(NTSYNC_IOC_MUTEX_UNLOCK, 0xc0084e85ul);
	NT_EXPECT_EQ(NTSYNC_IOC_MUTEX_KILL, 0x40044e86ul);
	NT_EXPECT_EQ(NTSYNC_IOC_CREATE_EVENT, 0x40084e87ul);
	NT_EXPECT_EQ(NTSYNC_IOC_EVENT_SET, 0x80044e88ul);
	NT_EXPECT_EQ(NTSYNC_IOC_EVENT_RESET, 0x80044e89ul);
	NT_EXPECT_EQ(NTSYNC_IOC_EVENT_PULSE, 0x80044e8aul);
	NT_EXPECT_EQ(NTSYNC_IOC_SEM_READ, 0x80084e8bul);
	NT_EXPECT_EQ(NTSYNC_IOC_MUTEX_READ, 0x80084e8cul);
	NT_EXPECT_EQ(NTSYNC_IOC_EVENT_READ, 0x80084e8dul);
}

NT_TEST(upstream_constants)
{
	NT_EXPECT_EQ(NTSYNC_WAIT_REALTIME, 1);
	NT_EXPECT_EQ(NTSYNC_MAX_WAIT_COUNT, 64);
	NT_EXPECT_EQ(NTSYNC_INDEX_URING_READY, 0xFFFFFFFEu);
}
