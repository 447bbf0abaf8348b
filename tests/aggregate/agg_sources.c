// SPDX-License-Identifier: GPL-2.0-only
/*
 * AGGREGATE_WAIT, one source kind at a time: each kind fires with the
 * right fired_index and fired_events, already at the call or while the
 * caller sleeps, among sources that do not fire (and at the first and the
 * last of 64 positions); the raw ioctl is used with both outputs poisoned,
 * so each value checked is one the kernel wrote:
 *   NTSYNC_AGG_OBJECT sources: semaphore (decremented), mutex (acquired for
 *   the owner), auto-reset event (reset), manual event (stays set), channel
 *   (fires while a request is pending, consumes nothing: TRY_RECV2 then gets
 *   it) -- fired_events exactly 0 for all of them (Wine-NSPA reads it so);
 *   NTSYNC_AGG_FD sources, fired_events the poll mask (revents): eventfd,
 *   pipe and socket readers (POLLIN), a full pipe's writer (POLLOUT), a
 *   pipe reader whose writer is gone (POLLHUP, fires whatever the mask), a
 *   pipe writer whose reader is gone (POLLERR, with an empty mask) -- never
 *   read or written by the kernel.
 * Plus: events outside the mask do not fire; an abandoned mutex gives
 * EOWNERDEAD with fired_index set and fired_events 0; with several sources
 * ready exactly one is consumed, the one named.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nt_chan.h"

#define OWNER		5
#define OTHER_OWNER	9

enum kind {
	K_SEM, K_MUTEX, K_AUTO_EVENT, K_MANUAL_EVENT, K_CHANNEL, K_EVENTFD,
	K_PIPE_IN, K_PIPE_OUT, K_SOCKET, K_PIPE_HUP, K_PIPE_ERR, N_KINDS
};

static const char *const kind_names[N_KINDS] = {
	"semaphore", "mutex", "auto-reset event", "manual event", "channel",
	"eventfd", "pipe reader", "pipe writer (POLLOUT)", "socket",
	"pipe reader (hangup)", "pipe writer (error)",
};

struct source {
	enum kind kind;
	int dev;
	int fd;		/* what is waited on */
	int peer;	/* the other end, for pipes and sockets */
	struct nt_chan_actor sender;	/* for channels */
};

/* Create @s in a state where it does not fire. */
static void prepare(struct source *s, int dev, enum kind kind)
{
	int p[2];

	s->kind = kind;
	s->dev = dev;
	s->peer = -1;
	switch (kind) {
	case K_SEM:
		s->fd = nt_sem(dev, 0, 2);
		break;
	case K_MUTEX:
		s->fd = nt_mutex(dev, OTHER_OWNER, 1);
		break;
	case K_AUTO_EVENT:
		s->fd = nt_event(dev, 0, 0);
		break;
	case K_MANUAL_EVENT:
		s->fd = nt_event(dev, 1, 0);
		break;
	case K_CHANNEL:
		s->fd = nt_channel(dev, 2);
		nt_ca_start(&s->sender, s->fd, NT_OTHER(0));
		break;
	case K_EVENTFD:
		s->fd = nt_eventfd();
		break;
	case K_PIPE_IN:
	case K_PIPE_HUP:
		nt_pipe(p);
		s->fd = p[0];
		s->peer = p[1];
		break;
	case K_PIPE_OUT:
		nt_pipe(p);
		s->fd = p[1];
		s->peer = p[0];
		/* Full: not writable. */
		for (;;) {
			char buf[4096] = { 0 };

			if (write(s->fd, buf, sizeof(buf)) < 0)
				break;
		}
		break;
	case K_PIPE_ERR:
		nt_pipe(p);
		s->fd = p[1];
		s->peer = p[0];
		break;
	case K_SOCKET:
		NT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
					SOCK_CLOEXEC, 0, p), 0);
		s->fd = p[0];
		s->peer = p[1];
		break;
	case N_KINDS:
		break;
	}
}

static struct ntsync_aggregate_source to_src(const struct source *s)
{
	switch (s->kind) {
	case K_SEM: case K_MUTEX: case K_AUTO_EVENT: case K_MANUAL_EVENT:
	case K_CHANNEL:
		return nt_src_obj(s->fd);
	case K_PIPE_OUT:
		return nt_src_fd(s->fd, POLLOUT);
	case K_PIPE_ERR:
		return nt_src_fd(s->fd, 0);
	default:
		return nt_src_fd(s->fd, POLLIN);
	}
}

/* fired_events when @kind fires: 0 for an object or channel, the poll
 * events for a file descriptor. */
static uint32_t fired_events_of(enum kind kind)
{
	switch (kind) {
	case K_SEM: case K_MUTEX: case K_AUTO_EVENT: case K_MANUAL_EVENT:
	case K_CHANNEL:
		return 0;
	case K_PIPE_OUT: return POLLOUT;
	case K_PIPE_HUP: return POLLHUP;
	case K_PIPE_ERR: return POLLERR;
	default: return POLLIN;
	}
}

/* Make @s fire. */
static void fire(struct source *s)
{
	switch (s->kind) {
	case K_SEM:
		nt_release(s->fd, 1);
		break;
	case K_MUTEX:
		NT_ASSERT_EQ(nt_unlock(s->fd, OTHER_OWNER), 1u);
		break;
	case K_AUTO_EVENT:
	case K_MANUAL_EVENT:
		nt_set(s->fd);
		break;
	case K_CHANNEL:
		nt_ca_send_start(&s->sender, 0, 0, 0xc4a);
		break;
	case K_EVENTFD:
		nt_eventfd_add(s->fd, 3);
		break;
	case K_PIPE_IN:
	case K_SOCKET:
		nt_write_byte(s->peer);
		break;
	case K_PIPE_OUT:
		nt_drain_fd(s->peer);
		break;
	case K_PIPE_HUP:
	case K_PIPE_ERR:
		close(s->peer);
		s->peer = -1;
		break;
	case N_KINDS:
		break;
	}
}

/* After the wait that @s satisfied: what it consumed, and clean up. */
static void check_and_close(struct source *s)
{
	struct ntsync_channel_recv2_args msg;

	switch (s->kind) {
	case K_SEM:
		NT_CHECK_SEM(s->fd, 0, 2);
		break;
	case K_MUTEX:
		NT_CHECK_MUTEX(s->fd, OWNER, 1);
		break;
	case K_AUTO_EVENT:
		NT_CHECK_EVENT(s->fd, 0, 0);
		break;
	case K_MANUAL_EVENT:
		NT_CHECK_EVENT(s->fd, 1, 1);
		break;
	case K_CHANNEL:
		/* Not consumed: the request is still there for a receive. */
		NT_ASSERT_OK(nt_chan_recv(s->fd, NT_TRY_RECV2, &msg));
		NT_CHECK_MSG(&msg, nt_ca_tid(&s->sender), 0, 0xc4a);
		NT_ASSERT_OK(ntsync_channel_reply(s->fd, msg.entry_id));
		NT_ASSERT_EQ(nt_ca_finish(&s->sender), 0);
		nt_ca_stop(&s->sender);
		break;
	case K_EVENTFD:
		NT_EXPECT_EQ(nt_eventfd_take(s->fd), 3u);
		break;
	case K_PIPE_IN:
	case K_SOCKET:
		NT_EXPECT_EQ(nt_drain_fd(s->fd), 1u);
		break;
	default:
		break;
	}
	close(s->fd);
	if (s->peer >= 0)
		close(s->peer);
}

/* Sources that never fire here, to surround the one under test. */
struct fillers {
	int event, efd, ch, sem;
};

static void fillers_init(struct fillers *f, int dev)
{
	f->event = nt_event(dev, 0, 0);
	f->efd = nt_eventfd();
	f->ch = nt_channel(dev, 1);
	f->sem = nt_sem(dev, 0, 1);
}

static struct ntsync_aggregate_source filler(const struct fillers *f,
					     unsigned int i)
{
	switch (i % 4) {
	case 0: return nt_src_obj(f->event);
	case 1: return nt_src_fd(f->efd, POLLIN);
	case 2: return nt_src_obj(f->ch);
	default: return nt_src_obj(f->sem);
	}
}

static void fillers_check_and_close(struct fillers *f)
{
	struct ntsync_channel_recv2_args msg;

	NT_CHECK_EVENT(f->event, 0, 0);
	NT_CHECK_SEM(f->sem, 0, 1);
	NT_EXPECT_EQ(nt_eventfd_take(f->efd), 0u);
	NT_EXPECT_ERRNO(nt_chan_recv(f->ch, NT_TRY_RECV2, &msg), EAGAIN);
	close(f->event);
	close(f->efd);
	close(f->ch);
	close(f->sem);
}

/* @n sources, the one under test at @pos, fillers elsewhere. */
static void build(struct ntsync_aggregate_source *src, unsigned int n,
		  unsigned int pos, const struct source *s,
		  const struct fillers *f)
{
	for (unsigned int i = 0; i < n; i++)
		src[i] = i == pos ? to_src(s) : filler(f, i);
}

static void check_result(const struct source *s, int ret, uint32_t index,
			 uint32_t events, uint32_t pos)
{
	if (ret || index != pos || events != fired_events_of(s->kind))
		NT_FAIL("%s at index %u: ret %d, fired_index %u, fired_events 0x%x; expected 0, %u, 0x%x",
			kind_names[s->kind], pos, ret, index, events, pos,
			fired_events_of(s->kind));
}

/* The raw wait of @n sources for OWNER until @timeout, outputs poisoned. */
static void raw_args(struct ntsync_aggregate_wait_args *args,
		     const struct ntsync_aggregate_source *src, unsigned int n,
		     uint64_t timeout)
{
	nt_agg_args_init(args, src, n, OWNER, 0);
	args->timeout = timeout;
}

/* Ready before the call: the wait returns at once. */
static void immediate(enum kind kind, unsigned int n, unsigned int pos)
{
	struct ntsync_aggregate_source src[NTSYNC_AGG_MAX];
	struct ntsync_aggregate_wait_args args;
	struct fillers f;
	struct source s;
	int dev = nt_dev();
	int ret;

	fillers_init(&f, dev);
	prepare(&s, dev, kind);
	build(src, n, pos, &s, &f);
	/* Not ready yet: times out. */
	raw_args(&args, src, n, NT_NOW_DEADLINE);
	ret = nt_agg_raw(dev, &args);
	if (ret != -ETIMEDOUT)
		NT_FAIL("%s fired (%d, index %u) before it was ready",
			kind_names[kind], ret, args.fired_index);
	NT_ASSERT_EQ(args.fired_index, NTSYNC_AGG_TIMEOUT);
	fire(&s);
	raw_args(&args, src, n, NT_NOW_DEADLINE);
	ret = nt_agg_raw(dev, &args);
	check_result(&s, ret, args.fired_index, args.fired_events, pos);
	check_and_close(&s);
	fillers_check_and_close(&f);
	close(dev);
}

/* A raw wait performed by an actor. */
struct raw_wait {
	int dev;
	struct ntsync_aggregate_wait_args args;
};

static int do_raw_wait(struct nt_actor *a, void *arg)
{
	struct raw_wait *rw = arg;

	(void)a;
	return nt_agg_raw(rw->dev, &rw->args);
}

/* Ready while a thread sleeps in the wait. */
static void blocking(enum kind kind, unsigned int n, unsigned int pos)
{
	struct ntsync_aggregate_source src[NTSYNC_AGG_MAX];
	struct nt_chan_actor w;
	struct raw_wait rw;
	struct fillers f;
	struct source s;
	int dev = nt_dev();

	fillers_init(&f, dev);
	prepare(&s, dev, kind);
	build(src, n, pos, &s, &f);
	rw.dev = dev;
	raw_args(&rw.args, src, n, NTSYNC_TIMEOUT_INFINITE);
	nt_ca_start(&w, -1, NT_OTHER(0));
	nt_actor_post(&w.a, do_raw_wait, &rw);
	nt_actor_wait_blocked(&w.a);
	fire(&s);
	nt_ca_finish(&w);
	check_result(&s, w.a.ret, rw.args.fired_index, rw.args.fired_events,
		     pos);
	nt_ca_stop(&w);
	check_and_close(&s);
	fillers_check_and_close(&f);
	close(dev);
}

NT_TEST(each_kind_ready_at_call)
{
	for (unsigned int k = 0; k < N_KINDS; k++)
		immediate((enum kind)k, 5, k % 5);
}

NT_TEST(each_kind_ready_while_waiting)
{
	for (unsigned int k = 0; k < N_KINDS; k++)
		blocking((enum kind)k, 5, (k + 2) % 5);
}

NT_TEST(each_kind_alone)
{
	for (unsigned int k = 0; k < N_KINDS; k++) {
		immediate((enum kind)k, 1, 0);
		blocking((enum kind)k, 1, 0);
	}
}

/* First and last of the largest wait. */
NT_TEST(each_kind_at_ends_of_64)
{
	for (unsigned int k = 0; k < N_KINDS; k++) {
		immediate((enum kind)k, NTSYNC_AGG_MAX, 0);
		blocking((enum kind)k, NTSYNC_AGG_MAX, NTSYNC_AGG_MAX - 1);
	}
}

/* Events outside the mask do not fire (nor wake it for good). */
NT_TEST(events_outside_mask)
{
	struct ntsync_aggregate_source src[3];
	struct nt_chan_actor w;
	int dev = nt_dev();
	int efd = nt_eventfd(), event = nt_event(dev, 0, 0);
	int p[2];
	uint32_t index, events;

	nt_pipe(p);
	nt_eventfd_add(efd, 1);
	/* Readable eventfd watched for POLLPRI, writable pipe watched for
	 * POLLIN: nothing. */
	src[0] = nt_src_fd(efd, POLLPRI);
	src[1] = nt_src_fd(p[1], POLLIN);
	src[2] = nt_src_obj(event);
	NT_EXPECT_ERRNO(ntsync_aggregate_wait(dev, src, 3, 0, NT_NOW_DEADLINE,
					      0, &index, &events), ETIMEDOUT);

	/* Woken by a write the mask does not cover: keeps waiting. */
	nt_ca_start(&w, -1, NT_OTHER(0));
	nt_ca_agg_start(&w, dev, src, 3, 0, NTSYNC_TIMEOUT_INFINITE);
	nt_eventfd_add(efd, 1);
	nt_drain_fd(p[0]);
	nt_actor_wait_blocked(&w.a);
	NT_ASSERT_FALSE(nt_ca_idle(&w));
	nt_set(event);
	NT_ASSERT_EQ(nt_ca_finish(&w), 0);
	NT_EXPECT_EQ(w.fired_index, 2u);
	NT_EXPECT_EQ(w.fired_events, 0u);	/* an object */
	NT_EXPECT_EQ(nt_eventfd_take(efd), 2u);
	nt_ca_stop(&w);
	close(p[0]);
	close(p[1]);
	close(efd);
	close(event);
	close(dev);
}

/* Several fd events at once: fired_events holds those in the mask. */
NT_TEST(fired_events_are_masked)
{
	struct ntsync_aggregate_source src;
	uint32_t index, events;
	int dev = nt_dev();
	int sv[2];

	NT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
		     0);
	nt_write_byte(sv[1]);
	/* Readable and writable. */
	src = nt_src_fd(sv[0], POLLIN | POLLOUT);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, &src, 1, 0, NT_NOW_DEADLINE, 0,
					   &index, &events));
	NT_EXPECT_EQ(index, 0u);
	NT_EXPECT_EQ(events, (uint32_t)(POLLIN | POLLOUT));
	src = nt_src_fd(sv[0], POLLOUT);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, &src, 1, 0, NT_NOW_DEADLINE, 0,
					   &index, &events));
	NT_EXPECT_EQ(events, (uint32_t)POLLOUT);
	/* Peer gone: hangup and readable data, with a POLLIN mask. */
	close(sv[1]);
	src = nt_src_fd(sv[0], POLLIN);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, &src, 1, 0, NT_NOW_DEADLINE, 0,
					   &index, &events));
	NT_EXPECT_TRUE(events & POLLIN);
	NT_EXPECT_TRUE(events & POLLHUP);
	NT_EXPECT_EQ(events & ~(uint32_t)(POLLIN | POLLHUP | POLLERR), 0u);
	close(sv[0]);
	close(dev);
}

NT_TEST(abandoned_mutex)
{
	struct ntsync_aggregate_source src[2];
	struct ntsync_aggregate_wait_args args;
	struct nt_chan_actor w;
	int dev = nt_dev();
	int event = nt_event(dev, 0, 0);
	int mutex = nt_mutex(dev, OTHER_OWNER, 2);

	src[0] = nt_src_obj(event);
	src[1] = nt_src_obj(mutex);
	/* Abandoned before the call. */
	NT_ASSERT_OK(ntsync_mutex_kill(mutex, OTHER_OWNER));
	raw_args(&args, src, 2, NT_NOW_DEADLINE);
	NT_EXPECT_ERRNO(nt_agg_raw(dev, &args), EOWNERDEAD);
	NT_EXPECT_EQ(args.fired_index, 1u);
	NT_EXPECT_EQ(args.fired_events, 0u);
	NT_CHECK_MUTEX(mutex, OWNER, 1);

	/* Abandoned while a thread waits. */
	nt_ca_start(&w, -1, NT_OTHER(0));
	nt_ca_agg_start(&w, dev, src, 2, OTHER_OWNER, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_OK(ntsync_mutex_kill(mutex, OWNER));
	NT_EXPECT_ERRNO(nt_ca_finish(&w), EOWNERDEAD);
	NT_EXPECT_EQ(w.fired_index, 1u);
	NT_EXPECT_EQ(w.fired_events, 0u);
	NT_CHECK_MUTEX(mutex, OTHER_OWNER, 1);
	nt_ca_stop(&w);
	close(event);
	close(mutex);
	close(dev);
}

/* A mutex is taken recursively by the same owner, never by another. */
NT_TEST(mutex_owner_rules)
{
	uint32_t index, events;
	int dev = nt_dev();
	int mutex = nt_mutex(dev, OWNER, 1);
	struct ntsync_aggregate_source src = nt_src_obj(mutex);

	NT_ASSERT_OK(ntsync_aggregate_wait(dev, &src, 1, OWNER,
					   NT_NOW_DEADLINE, 0, &index,
					   &events));
	NT_CHECK_MUTEX(mutex, OWNER, 2);
	NT_EXPECT_ERRNO(ntsync_aggregate_wait(dev, &src, 1, OTHER_OWNER,
					      NT_NOW_DEADLINE, 0, &index,
					      &events), ETIMEDOUT);
	NT_CHECK_MUTEX(mutex, OWNER, 2);
	close(mutex);
	close(dev);
}

/* Several ready at once: one wait consumes exactly one, the one named. */
NT_TEST(one_consumed_of_several)
{
	struct ntsync_aggregate_source src[4];
	uint32_t index, events, counts[4] = { 1, 1, 1, 1 };
	int dev = nt_dev();
	int sems[4];

	for (unsigned int i = 0; i < 4; i++) {
		sems[i] = nt_sem(dev, 1, 1);
		src[i] = nt_src_obj(sems[i]);
	}
	for (unsigned int round = 0; round < 4; round++) {
		index = NT_POISON;
		NT_ASSERT_OK(ntsync_aggregate_wait(dev, src, 4, 0,
						   NT_NOW_DEADLINE, 0, &index,
						   &events));
		NT_ASSERT_LT(index, 4u);
		NT_ASSERT_EQ(counts[index], 1u);
		counts[index] = 0;
		for (unsigned int i = 0; i < 4; i++)
			NT_CHECK_SEM(sems[i], counts[i], 1);
	}
	NT_EXPECT_ERRNO(ntsync_aggregate_wait(dev, src, 4, 0, NT_NOW_DEADLINE,
					      0, &index, &events), ETIMEDOUT);
	for (unsigned int i = 0; i < 4; i++)
		close(sems[i]);
	close(dev);
}

/* The same source twice is allowed; it fires as one of them. */
NT_TEST(duplicate_sources)
{
	struct ntsync_aggregate_source src[3];
	uint32_t index, events;
	int dev = nt_dev();
	int sem = nt_sem(dev, 1, 2);
	int efd = nt_eventfd();

	src[0] = nt_src_obj(sem);
	src[1] = nt_src_fd(efd, POLLIN);
	src[2] = nt_src_obj(sem);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, src, 3, 0, NT_NOW_DEADLINE, 0,
					   &index, &events));
	NT_EXPECT_TRUE(index == 0 || index == 2);
	NT_EXPECT_EQ(events, 0u);
	NT_CHECK_SEM(sem, 0, 2);
	src[0] = nt_src_fd(efd, POLLIN);
	nt_eventfd_add(efd, 1);
	NT_ASSERT_OK(ntsync_aggregate_wait(dev, src, 3, 0, NT_NOW_DEADLINE, 0,
					   &index, &events));
	NT_EXPECT_TRUE(index == 0 || index == 1);
	NT_EXPECT_EQ(events, (uint32_t)POLLIN);
	close(sem);
	close(efd);
	close(dev);
}
