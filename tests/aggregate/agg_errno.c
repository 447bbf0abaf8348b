// SPDX-License-Identifier: GPL-2.0-only
/*
 * AGGREGATE_WAIT argument errors, each of which must leave every source
 * untouched (a signaled semaphore among the sources keeps its count):
 *   EINVAL: nb_sources 0 or > 64; flags other than NTSYNC_AGG_FLAG_REALTIME;
 *     __pad of the arguments or of a source; a source type other than
 *     OBJECT/FD; a bad fd number; an OBJECT that is no object of this
 *     device (another device's, an eventfd, the device itself); an FD that
 *     cannot be polled (memfd, a regular /proc file, an ntsync object); a
 *     mutex with owner 0;
 *   EFAULT: unreadable arguments or sources, outputs that cannot be
 *     written (checked before anything is consumed).
 * A refused call writes neither output; the well-formed calls after them
 * report the semaphore (an object source) with fired_events 0.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nt_chan.h"

struct setup {
	int dev, sem, efd;
	/* src[0] is always ready (the semaphore). */
	struct ntsync_aggregate_source src[NTSYNC_AGG_MAX + 1];
};

static void setup(struct setup *t)
{
	t->dev = nt_dev();
	t->sem = nt_sem(t->dev, 1, 1);
	t->efd = nt_eventfd();
	for (unsigned int i = 0; i <= NTSYNC_AGG_MAX; i++)
		t->src[i] = i ? nt_src_fd(t->efd, POLLIN) : nt_src_obj(t->sem);
}

/* Nothing was consumed; then the well-formed wait does consume. */
static void teardown(struct setup *t)
{
	struct ntsync_aggregate_wait_args args;

	NT_CHECK_SEM(t->sem, 1, 1);
	nt_agg_args_init(&args, t->src, 2, 0, 0);
	NT_ASSERT_OK(nt_agg_raw(t->dev, &args));
	NT_EXPECT_EQ(args.fired_index, 0u);
	NT_EXPECT_EQ(args.fired_events, 0u);
	NT_CHECK_SEM(t->sem, 0, 1);
	close(t->sem);
	close(t->efd);
	close(t->dev);
}

/* A raw wait on @n of t->src with source @i replaced by @bad. */
static int with_source(struct setup *t, unsigned int n, unsigned int i,
		       struct ntsync_aggregate_source bad)
{
	struct ntsync_aggregate_source saved = t->src[i];
	struct ntsync_aggregate_wait_args args;
	int ret;

	t->src[i] = bad;
	nt_agg_args_init(&args, t->src, n, 0, 0);
	ret = nt_agg_raw(t->dev, &args);
	t->src[i] = saved;
	/* Refused: no output written. */
	if (ret == -EINVAL || ret == -EFAULT) {
		NT_EXPECT_EQ(args.fired_index, NT_POISON);
		NT_EXPECT_EQ(args.fired_events, NT_POISON);
	}
	return ret;
}

NT_TEST(bad_counts)
{
	static const uint32_t counts[] = { 0, NTSYNC_AGG_MAX + 1, 1000,
					   0xffffffffu };
	struct ntsync_aggregate_wait_args args;
	struct setup t;

	setup(&t);
	for (unsigned int i = 0; i < 4; i++) {
		nt_agg_args_init(&args, t.src, counts[i], 0, 0);
		NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EINVAL);
	}
	/* 64 is fine (and takes the ready semaphore). */
	nt_agg_args_init(&args, t.src, NTSYNC_AGG_MAX, 0, 0);
	NT_EXPECT_OK(nt_agg_raw(t.dev, &args));
	NT_EXPECT_EQ(args.fired_index, 0u);
	NT_EXPECT_EQ(args.fired_events, 0u);
	nt_release(t.sem, 1);
	teardown(&t);
}

NT_TEST(bad_flags_and_pad)
{
	static const uint32_t flags[] = { 2, 3, 0x100, 0x80000000u,
					  0xffffffffu };
	struct ntsync_aggregate_wait_args args;
	struct setup t;

	setup(&t);
	for (unsigned int i = 0; i < 5; i++) {
		nt_agg_args_init(&args, t.src, 2, 0, 0);
		args.flags = flags[i];
		NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EINVAL);
	}
	nt_agg_args_init(&args, t.src, 2, 0, 0);
	args.__pad = 1;
	NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EINVAL);
	nt_agg_args_init(&args, t.src, 2, 0, 0);
	args.__pad = 0x80000000u;
	NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EINVAL);
	teardown(&t);
}

NT_TEST(bad_source_type_and_pad)
{
	static const uint32_t types[] = { 0, 3, 4, 0x101, 0xffffffffu };
	struct ntsync_aggregate_source bad;
	struct setup t;

	setup(&t);
	for (unsigned int i = 0; i < 5; i++) {
		bad = nt_src_fd(t.efd, POLLIN);
		bad.type = types[i];
		NT_EXPECT_ERRNO(with_source(&t, 3, 1, bad), EINVAL);
		NT_EXPECT_ERRNO(with_source(&t, 3, 2, bad), EINVAL);
	}
	bad = nt_src_fd(t.efd, POLLIN);
	bad.__pad = 1;
	NT_EXPECT_ERRNO(with_source(&t, 3, 2, bad), EINVAL);
	bad = nt_src_obj(t.sem);
	bad.__pad = 0xffffffffu;
	NT_EXPECT_ERRNO(with_source(&t, 3, 1, bad), EINVAL);
	/* The ready semaphore itself with a pad. */
	NT_EXPECT_ERRNO(with_source(&t, 1, 0, bad), EINVAL);
	teardown(&t);
}

NT_TEST(bad_fd_numbers)
{
	static const uint32_t fds[] = { 0xffffffffu, 0x7fffffffu, 1u << 20,
					0x80000000u };
	struct setup t;
	int closed;

	setup(&t);
	closed = dup(t.efd);
	NT_ASSERT_GE(closed, 0);
	close(closed);
	for (unsigned int i = 0; i < 4; i++) {
		struct ntsync_aggregate_source obj = nt_src_obj(0);
		struct ntsync_aggregate_source fd = nt_src_fd(0, POLLIN);

		obj.fd = fds[i];
		fd.fd = fds[i];
		NT_EXPECT_ERRNO(with_source(&t, 2, 1, obj), EINVAL);
		NT_EXPECT_ERRNO(with_source(&t, 2, 1, fd), EINVAL);
	}
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(closed)), EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_fd(closed, POLLIN)),
			EINVAL);
	teardown(&t);
}

/* OBJECT sources that are not objects of this device. */
NT_TEST(not_an_object)
{
	struct setup t;
	int dev2, sem2;

	setup(&t);
	dev2 = nt_dev();
	sem2 = nt_sem(dev2, 1, 1);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(sem2)), EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(t.efd)), EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(t.dev)), EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(dev2)), EINVAL);
	NT_CHECK_SEM(sem2, 1, 1);
	close(sem2);
	close(dev2);
	teardown(&t);
}

/* FD sources that cannot be polled. */
NT_TEST(unpollable_files)
{
	struct setup t;
	int memfd, stat, event;

	setup(&t);
	memfd = memfd_create("agg", MFD_CLOEXEC);
	NT_ASSERT_GE(memfd, 0);
	stat = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	NT_ASSERT_GE(stat, 0);
	event = nt_event(t.dev, 1, 1);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_fd(memfd, POLLIN)),
			EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_fd(stat, POLLIN)),
			EINVAL);
	/* An ntsync object is an OBJECT source, not a pollable FD. */
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_fd(event, POLLIN)),
			EINVAL);
	NT_CHECK_EVENT(event, 1, 1);
	close(memfd);
	close(stat);
	close(event);
	teardown(&t);
}

NT_TEST(mutex_needs_owner)
{
	struct ntsync_aggregate_wait_args args;
	struct setup t;
	int mutex;

	setup(&t);
	mutex = nt_mutex(t.dev, 0, 0);
	NT_EXPECT_ERRNO(with_source(&t, 2, 1, nt_src_obj(mutex)), EINVAL);
	NT_EXPECT_ERRNO(with_source(&t, 40, 39, nt_src_obj(mutex)), EINVAL);
	NT_CHECK_MUTEX(mutex, 0, 0);
	/* With an owner it is fine. */
	t.src[1] = nt_src_obj(mutex);
	nt_agg_args_init(&args, &t.src[1], 1, 3, 0);
	NT_EXPECT_OK(nt_agg_raw(t.dev, &args));
	NT_EXPECT_EQ(args.fired_index, 0u);
	NT_EXPECT_EQ(args.fired_events, 0u);
	NT_CHECK_MUTEX(mutex, 3, 1);
	t.src[1] = nt_src_fd(t.efd, POLLIN);
	close(mutex);
	teardown(&t);
}

NT_TEST(efault)
{
	struct ntsync_aggregate_wait_args args, *ro;
	struct ntsync_aggregate_source *edge;
	struct setup t;

	setup(&t);
	NT_EXPECT_ERRNO(nt_ioctl(t.dev, NTSYNC_IOC_AGGREGATE_WAIT,
				 nt_bad_ptr()), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(t.dev, NTSYNC_IOC_AGGREGATE_WAIT,
				 nt_edge_ptr(sizeof(args) - 4)), EFAULT);

	/* Sources unreadable, or only the first of two readable. */
	nt_agg_args_init(&args, NULL, 1, 0, 0);
	args.sources = (uint64_t)(uintptr_t)nt_bad_ptr();
	NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EFAULT);
	edge = nt_edge_ptr(sizeof(*edge));
	edge[0] = nt_src_obj(t.sem);
	nt_agg_args_init(&args, edge, 2, 0, 0);
	NT_EXPECT_ERRNO(nt_agg_raw(t.dev, &args), EFAULT);

	/* Read-only arguments: the outputs cannot be written, so the ready
	 * semaphore must not be taken. */
	nt_agg_args_init(&args, t.src, 2, 0, 0);
	ro = nt_readonly_copy(&args, sizeof(args));
	NT_EXPECT_ERRNO(nt_agg_raw(t.dev, ro), EFAULT);
	nt_unmap_readonly(ro);
	teardown(&t);
}
