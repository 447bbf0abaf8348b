// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals and deaths around channel calls:
 *  - a sender interrupted by a signal (with or without SA_RESTART) gets
 *    EINTR, whether its request was still pending or already received; the
 *    request is withdrawn (never received later; its REPLY gets ENOENT) and
 *    its place is free again (exactly max_depth requests fit afterwards);
 *  - a sender process killed while pending or while being served: the same;
 *  - a parked receiver interrupted without SA_RESTART gets EINTR and is no
 *    longer parked (the next request stays pending or goes to the next
 *    receiver); with SA_RESTART its receive goes on transparently;
 *  - the last close of a channel while a sender sleeps in it, then the
 *    sender interrupted: a clean teardown (the VM checks dmesg).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"

#define DEPTH	3

struct setup {
	int dev, ch;
	struct nt_chan_actor s, r;
};

static void setup(struct setup *t, bool restart)
{
	nt_sig_install(SIGUSR1, restart);
	t->dev = nt_dev();
	t->ch = nt_channel(t->dev, DEPTH);
	nt_ca_start(&t->s, t->ch, NT_OTHER(0));
	nt_ca_start(&t->r, t->ch, NT_OTHER(0));
}

static void teardown(struct setup *t)
{
	/* Nothing left behind: exactly DEPTH places, nothing pending. */
	NT_CHECK_ROOM(t->ch, DEPTH);
	nt_ca_stop(&t->s);
	nt_ca_stop(&t->r);
	close(t->ch);
	close(t->dev);
}

static void interrupt_pending(bool restart)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;

	setup(&t, restart);
	nt_ca_send_start(&t.s, SCHED_FIFO, 20, 0x1);
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.s), EINTR);
	/* Withdrawn: nothing to receive. */
	NT_ASSERT_ERRNO(nt_chan_recv(t.ch, NT_TRY_RECV2, &msg), EAGAIN);
	teardown(&t);
}

NT_TEST(sender_interrupted_pending)
{
	interrupt_pending(false);
}

NT_TEST(sender_interrupted_pending_sa_restart)
{
	interrupt_pending(true);
}

/* Received by this thread (TRY_RECV2), then the sender gives up. */
static void interrupt_dispatched(bool restart)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;

	setup(&t, restart);
	nt_ca_send_start(&t.s, SCHED_FIFO, 20, 0x2);
	NT_ASSERT_OK(nt_chan_recv(t.ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&t.s), 20, 0x2);
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.s), EINTR);
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, msg.entry_id), ENOENT);
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, msg.entry_id), ENOENT);
	teardown(&t);
}

NT_TEST(sender_interrupted_dispatched)
{
	interrupt_dispatched(false);
}

NT_TEST(sender_interrupted_dispatched_sa_restart)
{
	interrupt_dispatched(true);
}

/* Handed to a parked receiver by the SEND_PI itself, then withdrawn. */
NT_TEST(sender_interrupted_after_handoff)
{
	struct setup t;

	setup(&t, false);
	nt_ca_recv_start(&t.r, NT_RECV2);
	nt_ca_send_start(&t.s, SCHED_RR, 9, 0x3);
	NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 9, 0x3);
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.s), EINTR);
	NT_ASSERT_ERRNO(nt_ca_reply(&t.r, t.r.msg.entry_id), ENOENT);
	teardown(&t);
}

/* Several senders, the middle ones interrupted: the others are intact and
 * keep their order. */
NT_TEST(interrupted_among_others)
{
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor s[4];
	int dev = nt_dev();
	int ch = nt_channel(dev, 4);

	nt_sig_install(SIGUSR1, false);
	for (unsigned int i = 0; i < 4; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		nt_ca_send_start(&s[i], SCHED_FIFO, 10, 0x40 + i);
	}
	nt_sig_deliver(s[1].a.thread.handle, SIGUSR1);
	nt_sig_deliver(s[2].a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&s[1]), EINTR);
	NT_ASSERT_ERRNO(nt_ca_finish(&s[2]), EINTR);
	for (unsigned int i = 0; i < 4; i += 3) {
		NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
		NT_CHECK_MSG(&msg, nt_ca_tid(&s[i]), 10, 0x40 + i);
		NT_ASSERT_OK(ntsync_channel_reply(ch, msg.entry_id));
		NT_ASSERT_EQ(nt_ca_finish(&s[i]), 0);
	}
	NT_CHECK_ROOM(ch, 4);
	for (unsigned int i = 0; i < 4; i++)
		nt_ca_stop(&s[i]);
	close(ch);
	close(dev);
}

/* ---- Killed sender processes ----------------------------------------- */

static pid_t fork_sender(int ch, uint64_t payload)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0) {
		ntsync_channel_send(ch, SCHED_FIFO, 30, payload,
				    NT_REPLY_OFF(payload));
		_exit(0);
	}
	nt_wait_proc_blocked(pid);
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	int status = 0;

	NT_ASSERT_EQ(kill(pid, SIGKILL), 0);
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

NT_TEST(sender_killed_pending)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;
	pid_t pid;

	setup(&t, false);
	pid = fork_sender(t.ch, 0x4b1);
	kill_and_reap(pid);
	NT_ASSERT_ERRNO(nt_chan_recv(t.ch, NT_TRY_RECV2, &msg), EAGAIN);
	teardown(&t);
}

NT_TEST(sender_killed_dispatched)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;
	pid_t pid;

	setup(&t, false);
	pid = fork_sender(t.ch, 0x4b2);
	NT_ASSERT_OK(nt_chan_recv(t.ch, NT_RECV2, &msg));
	NT_CHECK_MSG(&msg, pid, 30, 0x4b2);
	kill_and_reap(pid);
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, msg.entry_id), ENOENT);
	teardown(&t);
}

/* ---- Interrupted receivers ------------------------------------------- */

NT_TEST(receiver_interrupted_no_restart)
{
	static const enum nt_recv_kind kinds[2] = { NT_RECV, NT_RECV2 };
	struct ntsync_channel_recv2_args msg;
	struct nt_chan_actor r2;
	struct setup t;

	setup(&t, false);
	nt_ca_start(&r2, t.ch, NT_OTHER(0));
	for (unsigned int k = 0; k < 2; k++) {
		/* r parks first, then r2; r is interrupted. */
		nt_ca_recv_start(&t.r, kinds[k]);
		nt_ca_recv_start(&r2, kinds[k]);
		nt_sig_deliver(t.r.a.thread.handle, SIGUSR1);
		NT_ASSERT_ERRNO(nt_ca_finish(&t.r), EINTR);

		/* The next request goes to r2, the only one parked. */
		nt_ca_send_start(&t.s, SCHED_FIFO, 12, 0x50 + k);
		NT_ASSERT_EQ(nt_ca_finish(&r2), 0);
		NT_CHECK_MSG(&r2.msg, nt_ca_tid(&t.s), 12, 0x50 + k);
		NT_ASSERT_EQ(nt_ca_reply(&r2, r2.msg.entry_id), 0);
		NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);

		/* Nobody parked now: the request stays pending. */
		nt_ca_send_start(&t.s, SCHED_FIFO, 13, 0x60 + k);
		NT_CHECK_SCHED(nt_ca_tid(&t.r), NT_OTHER(0));
		NT_ASSERT_OK(nt_chan_recv(t.ch, NT_TRY_RECV2, &msg));
		NT_CHECK_MSG(&msg, nt_ca_tid(&t.s), 13, 0x60 + k);
		NT_ASSERT_OK(ntsync_channel_reply(t.ch, msg.entry_id));
		NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	}
	nt_ca_stop(&r2);
	teardown(&t);
}

NT_TEST(receiver_interrupted_restarts)
{
	static const enum nt_recv_kind kinds[2] = { NT_RECV, NT_RECV2 };
	struct setup t;

	setup(&t, true);
	for (unsigned int k = 0; k < 2; k++) {
		unsigned int before = nt_sig_count(SIGUSR1);

		nt_ca_recv_start(&t.r, kinds[k]);
		nt_sig_deliver(t.r.a.thread.handle, SIGUSR1);
		nt_sig_deliver(t.r.a.thread.handle, SIGUSR1);
		NT_ASSERT_EQ(nt_sig_count(SIGUSR1), before + 2);
		/* Still (again) waiting in its receive. */
		nt_actor_wait_blocked(&t.r.a);
		nt_ca_send_start(&t.s, SCHED_FIFO, 14, 0x70 + k);
		NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
		NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 14, 0x70 + k);
		NT_CHECK_SCHED_VAL(t.r.a.after, NT_FIFO(14));
		NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
		NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	}
	teardown(&t);
}

/* ---- Closing ---------------------------------------------------------- */

/* The test's fd is closed while a sender sleeps in SEND_PI on it; a dup
 * still serves it. */
NT_TEST(close_while_sender_waits)
{
	struct ntsync_channel_recv2_args msg;
	struct setup t;
	int dup_ch;

	setup(&t, false);
	dup_ch = dup(t.ch);
	NT_ASSERT_GE(dup_ch, 0);
	nt_ca_send_start(&t.s, SCHED_FIFO, 5, 0x80);
	NT_ASSERT_OK(ntsync_close(t.ch));
	NT_ASSERT_OK(nt_chan_recv(dup_ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, nt_ca_tid(&t.s), 5, 0x80);
	NT_ASSERT_OK(ntsync_channel_reply(dup_ch, msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	t.ch = dup_ch;
	teardown(&t);
}

/* The last fd goes while a sender waits (its call keeps the channel) and
 * a receiver waits; both are interrupted: the channel is torn down empty. */
NT_TEST(last_close_then_interrupt)
{
	struct setup t;

	setup(&t, false);
	nt_ca_send_start(&t.s, SCHED_FIFO, 5, 0x90);
	NT_ASSERT_OK(ntsync_close(t.ch));
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.s), EINTR);

	t.ch = nt_channel(t.dev, DEPTH);
	t.r.ch = t.ch;
	nt_ca_recv_start(&t.r, NT_RECV2);
	NT_ASSERT_OK(ntsync_close(t.ch));
	nt_sig_deliver(t.r.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.r), EINTR);

	nt_ca_stop(&t.s);
	nt_ca_stop(&t.r);
	close(t.dev);
}
