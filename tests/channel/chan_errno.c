// SPDX-License-Identifier: GPL-2.0-only
/*
 * The errors of each channel ioctl, and that a refused call changes
 * nothing:
 *   SEND_PI: EINVAL for prio 1..99 with a policy other than FIFO/RR or a
 *     prio above 99 (prio 0 is accepted whatever the policy); EPERM for a
 *     prio the caller could not set for itself (checked in forked children
 *     that drop every privilege: own RT priority, RLIMIT_RTPRIO); EAGAIN on
 *     a full channel; EFAULT.
 *   RECV / RECV2 / TRY_RECV2: EFAULT, also for a read-only buffer, without
 *     losing the request; RECV writes only its 32-byte structure;
 *     TRY_RECV2 on an empty channel: EAGAIN, buffer untouched.
 *   REPLY: ENOENT for unknown and already replied ids; EFAULT.
 *   REGISTER_THREAD: EINVAL for tid 0 or a non-zero __pad; EFAULT; a
 *     refused registration registers nothing.
 *   DEREGISTER_THREAD: EINVAL for tid 0; EFAULT; a tid that is not
 *     registered is no error (0, idempotent) and changes nothing.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nt_chan.h"

static int send_raw(int ch, uint32_t policy, uint32_t prio)
{
	struct ntsync_channel_send_args args = {
		.policy = policy, .prio = prio, .payload_off = 0x5eed,
		.reply_off = NT_REPLY_OFF(0x5eed),
	};

	return nt_ioctl(ch, NTSYNC_IOC_CHANNEL_SEND_PI, &args);
}

/* Nothing is pending on @ch. */
static void check_empty(int ch)
{
	struct ntsync_channel_recv2_args msg;

	NT_ASSERT_ERRNO(nt_chan_recv(ch, NT_TRY_RECV2, &msg), EAGAIN);
}

NT_TEST(send_bad_policy)
{
	static const uint32_t policies[] = { SCHED_OTHER, SCHED_BATCH,
					     SCHED_IDLE, 6, 7, 0x80000001u,
					     0xffffffffu };
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	for (unsigned int i = 0; i < 7; i++) {
		NT_EXPECT_ERRNO(send_raw(ch, policies[i], 1), EINVAL);
		NT_EXPECT_ERRNO(send_raw(ch, policies[i], 50), EINVAL);
		NT_EXPECT_ERRNO(ntsync_channel_send(ch, policies[i], 99, 1, 2),
				EINVAL);
	}
	check_empty(ch);
	close(ch);
	close(dev);
}

NT_TEST(send_bad_prio)
{
	static const uint32_t prios[] = { 100, 101, 140, 1000, 0x80000000u,
					  0xffffffffu };
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	for (unsigned int i = 0; i < 6; i++) {
		NT_EXPECT_ERRNO(send_raw(ch, SCHED_FIFO, prios[i]), EINVAL);
		NT_EXPECT_ERRNO(send_raw(ch, SCHED_RR, prios[i]), EINVAL);
	}
	check_empty(ch);
	close(ch);
	close(dev);
}

/* prio 0 is "no boost" whatever the policy: queued, received as prio 0. */
NT_TEST(send_prio0_any_policy)
{
	static const uint32_t policies[] = { SCHED_OTHER, SCHED_FIFO,
					     SCHED_RR, SCHED_BATCH, 12345 };
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 1);

	nt_ca_start(&s, ch, NT_OTHER(0));
	for (unsigned int i = 0; i < 5; i++) {
		nt_ca_send_start(&s, policies[i], 0, 0x100 + i);
		NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
		NT_CHECK_MSG(&msg, nt_ca_tid(&s), 0, 0x100 + i);
		/* Serving a prio-0 request boosts nobody. */
		NT_CHECK_SCHED(gettid(), NT_OTHER(0));
		NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
		NT_ASSERT_EQ(nt_ca_finish(&s), 0);
	}
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

NT_TEST(send_efault)
{
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_SEND_PI, nt_bad_ptr()),
			EFAULT);
	/* Only the first 16 of 24 bytes readable. */
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_SEND_PI,
				 nt_edge_ptr(16)), EFAULT);
	check_empty(ch);
	close(ch);
	close(dev);
}

NT_TEST(send_full)
{
	int dev = nt_dev();
	int ch1 = nt_channel(dev, 1);
	int ch3 = nt_channel(dev, 3);

	NT_CHECK_ROOM(ch1, 1);
	NT_CHECK_ROOM(ch3, 3);
	/* And again: the first round left nothing behind. */
	NT_CHECK_ROOM(ch3, 3);
	close(ch1);
	close(ch3);
	close(dev);
}

/* ---- EPERM, in unprivileged children --------------------------------- */

/* A thread of the child that serves @count requests of @ch. */
struct server {
	struct nt_thread thread;
	int ch;
	unsigned int count;
	int ret;
};

static void *server_main(void *p)
{
	struct server *s = p;
	struct ntsync_channel_recv2_args msg;

	s->ret = 0;
	for (unsigned int i = 0; i < s->count && !s->ret; i++) {
		s->ret = ntsync_channel_recv2(s->ch, &msg);
		if (!s->ret)
			s->ret = ntsync_channel_reply(s->ch, msg.entry_id);
	}
	return NULL;
}

static void server_start(struct server *s, int ch, unsigned int count)
{
	s->ch = ch;
	s->count = count;
	s->ret = 1;
	nt_thread_start(&s->thread, server_main, s);
}

static void server_join(struct server *s)
{
	nt_thread_join(&s->thread);
	NT_ASSERT_EQ(s->ret, 0);
}

struct perm_case {
	int ch;
	/* RLIMIT_RTPRIO of the child. */
	unsigned int limit;
	/* Own SCHED_FIFO priority set before the drop (0: SCHED_OTHER). */
	unsigned int own_fifo;
	/* The highest prio the child may send. */
	unsigned int allowed;
};

static void perm_child(void *p)
{
	const struct perm_case *c = p;
	struct server srv;
	unsigned int served = 0;

	if (c->own_fifo)
		nt_sched_set(0, NT_FIFO(c->own_fifo));
	nt_drop_privileges(c->limit);

	/* Above what it could set for itself: EPERM, nothing queued. */
	NT_ASSERT_ERRNO(ntsync_channel_send(c->ch, SCHED_FIFO, c->allowed + 1,
					    1, 2), EPERM);
	NT_ASSERT_ERRNO(ntsync_channel_send(c->ch, SCHED_RR, 99, 1, 2), EPERM);
	/* EINVAL is judged first. */
	NT_ASSERT_ERRNO(ntsync_channel_send(c->ch, SCHED_OTHER, 99, 1, 2),
			EINVAL);
	NT_ASSERT_ERRNO(ntsync_channel_send(c->ch, SCHED_FIFO, 100, 1, 2),
			EINVAL);
	check_empty(c->ch);

	/* What it may do goes through (served by a thread of its own). */
	server_start(&srv, c->ch, c->allowed ? 3 : 1);
	NT_ASSERT_OK(ntsync_channel_send(c->ch, SCHED_FIFO, 0, 1, 2));
	served++;
	if (c->allowed) {
		NT_ASSERT_OK(ntsync_channel_send(c->ch, SCHED_FIFO, c->allowed,
						 1, 2));
		NT_ASSERT_OK(ntsync_channel_send(c->ch, SCHED_RR, 1, 1, 2));
		served += 2;
	}
	server_join(&srv);
	NT_ASSERT_EQ(served, srv.count);
	check_empty(c->ch);
}

NT_TEST(send_eperm_unprivileged)
{
	int dev = nt_dev();
	struct perm_case c = { .ch = nt_channel(dev, 4), .limit = 0,
			       .own_fifo = 0, .allowed = 0 };

	nt_in_child(perm_child, &c);
	close(c.ch);
	close(dev);
}

NT_TEST(send_eperm_rlimit)
{
	int dev = nt_dev();
	struct perm_case c = { .ch = nt_channel(dev, 4), .limit = 20,
			       .own_fifo = 0, .allowed = 20 };

	nt_in_child(perm_child, &c);
	close(c.ch);
	close(dev);
}

NT_TEST(send_eperm_own_rt_prio)
{
	int dev = nt_dev();
	struct perm_case c = { .ch = nt_channel(dev, 4), .limit = 0,
			       .own_fifo = 30, .allowed = 30 };

	nt_in_child(perm_child, &c);
	close(c.ch);
	close(dev);
}

/* ---- Receives -------------------------------------------------------- */

NT_TEST(try_recv_empty)
{
	struct ntsync_channel_recv2_args args;
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	memset(&args, 0x5a, sizeof(args));
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_TRY_RECV2, &args),
			EAGAIN);
	/* Not written. */
	NT_EXPECT_EQ(args.entry_id, 0x5a5a5a5a5a5a5a5aull);
	NT_EXPECT_EQ(args.thread_token, 0x5a5a5a5a5a5a5a5aull);
	NT_EXPECT_EQ(args.sender_tid, 0x5a5a5a5au);
	close(ch);
	close(dev);
}

/* A receive into an unusable buffer fails with EFAULT and the request
 * stays pending for the next receive. */
NT_TEST(recv_efault_keeps_request)
{
	static const unsigned long cmds[] = { NTSYNC_IOC_CHANNEL_RECV,
					      NTSYNC_IOC_CHANNEL_RECV2,
					      NTSYNC_IOC_CHANNEL_TRY_RECV2 };
	struct ntsync_channel_recv2_args msg;
	long page = sysconf(_SC_PAGESIZE);
	struct nt_chan_actor s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	void *ro;

	ro = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	NT_ASSERT_TRUE(ro != MAP_FAILED);

	nt_ca_start(&s, ch, NT_OTHER(0));
	nt_ca_send_start(&s, SCHED_FIFO, 7, 0xfa17);
	for (unsigned int i = 0; i < 3; i++) {
		NT_EXPECT_ERRNO(nt_ioctl(ch, cmds[i], nt_bad_ptr()), EFAULT);
		NT_EXPECT_ERRNO(nt_ioctl(ch, cmds[i], ro), EFAULT);
		/* The buffer ends 8 bytes short. */
		NT_EXPECT_ERRNO(nt_ioctl(ch, cmds[i],
					 nt_edge_ptr(i ? 32 : 24)), EFAULT);
	}
	/* A failed receive boosts nobody. */
	NT_CHECK_SCHED(gettid(), NT_OTHER(0));
	/* Still there, intact. */
	NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&s), 7, 0xfa17);
	NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
	NT_EXPECT_EQ(nt_ca_finish(&s), 0);
	nt_ca_stop(&s);
	munmap(ro, (size_t)page);
	close(ch);
	close(dev);
}

/* RECV's structure is 32 bytes: it works in a buffer that ends there, and
 * writes nothing beyond (where RECV2 has its token). */
NT_TEST(recv_v1_size)
{
	struct ntsync_channel_recv2_args buf;
	struct ntsync_channel_recv_args *edge;
	struct nt_chan_actor s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);

	NT_ASSERT_EQ(sizeof(struct ntsync_channel_recv_args), 32u);
	NT_ASSERT_EQ(sizeof(struct ntsync_channel_recv2_args), 40u);
	nt_ca_start(&s, ch, NT_OTHER(0));
	NT_ASSERT_OK(ntsync_channel_register_thread(ch, (uint32_t)nt_ca_tid(&s),
						    0x70c3));

	nt_ca_send_start(&s, 0, 0, 0xed9e);
	edge = nt_edge_ptr(sizeof(*edge));
	memset(edge, 0xee, sizeof(*edge));
	NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_RECV, edge));
	NT_EXPECT_EQ(edge->payload_off, 0xed9eu);
	NT_EXPECT_EQ(edge->sender_tid, (uint32_t)nt_ca_tid(&s));
	NT_ASSERT_OK(ntsync_channel_reply(ch, edge->entry_id));
	NT_EXPECT_EQ(nt_ca_finish(&s), 0);

	nt_ca_send_start(&s, 0, 0, 0xed9f);
	memset(&buf, 0xee, sizeof(buf));
	NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_RECV, &buf));
	NT_EXPECT_EQ(buf.payload_off, 0xed9fu);
	NT_EXPECT_EQ(buf.thread_token, 0xeeeeeeeeeeeeeeeeull);
	NT_ASSERT_OK(ntsync_channel_reply(ch, buf.entry_id));
	NT_EXPECT_EQ(nt_ca_finish(&s), 0);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

/* ---- REPLY ----------------------------------------------------------- */

NT_TEST(reply_unknown_and_twice)
{
	static const uint64_t bogus[] = { 0, 1, 2, 12345, 0x100000000ull,
					  UINT64_MAX };
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor s;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);

	for (unsigned int i = 0; i < 6; i++)
		NT_EXPECT_ERRNO(ntsync_channel_reply(ch, bogus[i]), ENOENT);

	nt_ca_start(&s, ch, NT_OTHER(0));
	nt_ca_send_start(&s, 0, 0, 0xabc);
	/* Pending, not yet received: not replyable either. */
	for (unsigned int i = 0; i < 6; i++)
		NT_EXPECT_ERRNO(ntsync_channel_reply(ch, bogus[i]), ENOENT);
	NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
	NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
	NT_EXPECT_EQ(nt_ca_finish(&s), 0);
	NT_EXPECT_ERRNO(ntsync_channel_reply(ch, msg.entry_id), ENOENT);
	NT_EXPECT_ERRNO(ntsync_channel_reply(ch, msg.entry_id), ENOENT);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

NT_TEST(reply_efault)
{
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);

	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REPLY, nt_bad_ptr()),
			EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REPLY, nt_edge_ptr(4)),
			EFAULT);
	close(ch);
	close(dev);
}

/* ---- Thread registration --------------------------------------------- */

static int register_raw(int ch, uint32_t tid, uint32_t pad, uint64_t token)
{
	struct ntsync_channel_register_thread_args args = {
		.tid = tid, .__pad = pad, .token = token,
	};

	return nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REGISTER_THREAD, &args);
}

NT_TEST(register_errors)
{
	struct nt_chan_actor s;
	uint32_t tid;
	uint64_t regs;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);

	nt_ca_start(&s, ch, NT_OTHER(0));
	tid = (uint32_t)nt_ca_tid(&s);
	regs = nt_stat("channel_registrations");
	NT_EXPECT_ERRNO(register_raw(ch, 0, 0, 1), EINVAL);
	NT_EXPECT_ERRNO(ntsync_channel_register_thread(ch, 0, 1), EINVAL);
	NT_EXPECT_ERRNO(register_raw(ch, tid, 1, 1), EINVAL);
	NT_EXPECT_ERRNO(register_raw(ch, tid, 0x80000000u, 1), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REGISTER_THREAD,
				 nt_bad_ptr()), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REGISTER_THREAD,
				 nt_edge_ptr(8)), EFAULT);
	/* The refused registrations did not happen. */
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
	NT_EXPECT_EQ(nt_ca_token_of_next(&s, NT_RECV2, 0x4e6), 0u);
	/* Any non-zero tid is accepted, also one no thread has. */
	NT_EXPECT_OK(ntsync_channel_register_thread(ch, 0xffffffffu, 0));
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs + 1);
	NT_EXPECT_OK(ntsync_channel_deregister_thread(ch, 0xffffffffu));
	NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
	nt_ca_stop(&s);
	close(ch);
	close(dev);
}

NT_TEST(deregister_errors)
{
	uint32_t tid = 0;
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);

	NT_EXPECT_ERRNO(ntsync_channel_deregister_thread(ch, 0), EINVAL);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
				 &tid), EINVAL);
	/* Not registered: idempotent, 0. */
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, 42), 0);
	NT_EXPECT_OK(ntsync_channel_register_thread(ch, 42, 0x42));
	NT_EXPECT_OK(ntsync_channel_deregister_thread(ch, 42));
	NT_EXPECT_EQ(ntsync_channel_deregister_thread(ch, 42), 0);
	tid = 42;
	NT_EXPECT_EQ(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD, &tid),
		     0);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
				 nt_bad_ptr()), EFAULT);
	NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
				 nt_edge_ptr(2)), EFAULT);
	close(ch);
	close(dev);
}

/* The library's own argument checks. */
NT_TEST(library_null_outputs)
{
	int dev = nt_dev();
	int ch = nt_channel(dev, 2);
	uint32_t index;

	NT_EXPECT_ERRNO(ntsync_channel_recv(ch, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_channel_recv2(ch, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_channel_try_recv2(ch, NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_aggregate_wait(dev, NULL, 1, 0, 0, 0, &index,
					      NULL), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_any_uring(dev, &ch, 1, 0, 0, -1, 0, 0,
					      &index), EINVAL);
	NT_EXPECT_ERRNO(ntsync_wait_all_uring(dev, &ch, 1, 0, 0, 0, 0, 0,
					      NULL), EINVAL);
	close(ch);
	close(dev);
}
