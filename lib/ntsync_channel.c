// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libntsync, NSPA part: channels, AGGREGATE_WAIT and the waits with a
 * uring_fd.  Same conventions as lib/ntsync.c (see ntsync.h): 0 or a new fd
 * on success, a negative errno on failure, outputs written only on success
 * (and on the failures that carry data, listed with each function).
 */
#include "ntsync.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/ntsync.h>

/* ioctl() with the result folded into the negative-errno convention. */
static int chan_ioctl(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

/* ---- Channels -------------------------------------------------------- */

int ntsync_channel_create(int dev, uint32_t max_depth)
{
	struct ntsync_channel_create_args args = { .max_depth = max_depth,
						   .__pad = 0 };

	return chan_ioctl(dev, NTSYNC_IOC_CREATE_CHANNEL, &args);
}

int ntsync_channel_send(int channel, uint32_t policy, uint32_t prio,
			uint64_t payload_off, uint64_t reply_off)
{
	struct ntsync_channel_send_args args = {
		.policy = policy,
		.prio = prio,
		.payload_off = payload_off,
		.reply_off = reply_off,
	};

	return chan_ioctl(channel, NTSYNC_IOC_CHANNEL_SEND_PI, &args);
}

int ntsync_channel_recv(int channel, struct ntsync_channel_recv_args *out)
{
	struct ntsync_channel_recv_args args;
	int ret;

	if (!out)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	ret = chan_ioctl(channel, NTSYNC_IOC_CHANNEL_RECV, &args);
	if (ret == 0)
		*out = args;
	return ret;
}

static int recv2_common(int channel, unsigned long request,
			struct ntsync_channel_recv2_args *out)
{
	struct ntsync_channel_recv2_args args;
	int ret;

	if (!out)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	ret = chan_ioctl(channel, request, &args);
	if (ret == 0)
		*out = args;
	return ret;
}

int ntsync_channel_recv2(int channel, struct ntsync_channel_recv2_args *out)
{
	return recv2_common(channel, NTSYNC_IOC_CHANNEL_RECV2, out);
}

int ntsync_channel_try_recv2(int channel,
			     struct ntsync_channel_recv2_args *out)
{
	return recv2_common(channel, NTSYNC_IOC_CHANNEL_TRY_RECV2, out);
}

int ntsync_channel_reply(int channel, uint64_t entry_id)
{
	__u64 id = entry_id;

	return chan_ioctl(channel, NTSYNC_IOC_CHANNEL_REPLY, &id);
}

int ntsync_channel_register_thread(int channel, uint32_t tid, uint64_t token)
{
	struct ntsync_channel_register_thread_args args = {
		.tid = tid, .__pad = 0, .token = token,
	};

	return chan_ioctl(channel, NTSYNC_IOC_CHANNEL_REGISTER_THREAD, &args);
}

int ntsync_channel_deregister_thread(int channel, uint32_t tid)
{
	__u32 value = tid;

	return chan_ioctl(channel, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
			  &value);
}

/* ---- Aggregate wait -------------------------------------------------- */

int ntsync_aggregate_wait(int dev, const struct ntsync_aggregate_source *sources,
			  uint32_t nb_sources, uint32_t owner,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *fired_index, uint32_t *fired_events)
{
	struct ntsync_aggregate_wait_args args;
	int ret;

	if (!fired_index || (nb_sources && !sources))
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.timeout = abs_timeout_ns;
	args.sources = (__u64)(uintptr_t)sources;
	args.nb_sources = nb_sources;
	args.fired_index = NTSYNC_AGG_TIMEOUT;
	args.flags = flags;
	args.owner = owner;

	ret = chan_ioctl(dev, NTSYNC_IOC_AGGREGATE_WAIT, &args);
	if (ret == 0 || ret == -EOWNERDEAD || ret == -ETIMEDOUT) {
		*fired_index = args.fired_index;
		if (fired_events)
			*fired_events = args.fired_events;
	}
	return ret;
}

/* ---- Waits with a uring_fd ------------------------------------------- */

static int wait_uring(int dev, unsigned long request, const int *fds,
		      uint32_t count, uint32_t owner, int alert, int uring_fd,
		      uint64_t abs_timeout_ns, uint32_t flags, uint32_t *index)
{
	struct ntsync_wait_args args;
	int ret;

	if (!index || (count && !fds) || alert < 0 || uring_fd < 0)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.timeout = abs_timeout_ns;
	args.objs = (__u64)(uintptr_t)fds;
	args.count = count;
	args.index = UINT32_MAX;
	args.flags = flags;
	args.owner = owner;
	args.alert = (__u32)alert;
	args.pad = (__u32)uring_fd;

	ret = chan_ioctl(dev, request, &args);
	if (ret == 0 || ret == -EOWNERDEAD)
		*index = args.index;
	return ret;
}

int ntsync_wait_any_uring(int dev, const int *fds, uint32_t count,
			  uint32_t owner, int alert, int uring_fd,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *index)
{
	return wait_uring(dev, NTSYNC_IOC_WAIT_ANY, fds, count, owner, alert,
			  uring_fd, abs_timeout_ns, flags, index);
}

int ntsync_wait_all_uring(int dev, const int *fds, uint32_t count,
			  uint32_t owner, int alert, int uring_fd,
			  uint64_t abs_timeout_ns, uint32_t flags,
			  uint32_t *index)
{
	return wait_uring(dev, NTSYNC_IOC_WAIT_ALL, fds, count, owner, alert,
			  uring_fd, abs_timeout_ns, flags, index);
}
