// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signals and deaths around channel calls.  An interrupted sender never
 * makes a request run twice and never loses its reply:
 *  - PENDING (no receiver took the request yet): a signal withdraws the
 *    request and SEND_PI restarts transparently.  After a handler with
 *    SA_RESTART, or a SIGSTOP/SIGCONT, the call goes on (asleep in SEND_PI
 *    again; while the sender is stopped there is nothing to receive) and
 *    returns 0 once a receiver comes and replies, the request received
 *    exactly once.  After a handler without SA_RESTART it returns EINTR and
 *    the request is gone: TRY_RECV2 gets EAGAIN, a parked receiver does not
 *    get it, exactly max_depth places are free again.
 *  - DISPATCHED (a receiver took it and has not replied): non-fatal signals
 *    do not end the wait.  A SIGUSR1 handler, with or without SA_RESTART,
 *    and a SIGSTOP/SIGCONT leave SEND_PI waiting (it is not re-queued); the
 *    receiver's REPLY succeeds, SEND_PI returns 0, the handler has run once
 *    by then, and the request was received exactly once (a second REPLY
 *    gets ENOENT, TRY_RECV2 gets EAGAIN).
 *  - A fatal signal (SIGKILL of the sender's process) abandons the request,
 *    pending or dispatched: it is never received later, the receiver's
 *    REPLY gets ENOENT, and the kill itself takes it off the
 *    channel_pending / channel_dispatched gauges.
 *  - No leak: after every test both gauges are back at their value before
 *    it and exactly max_depth requests fit in the channel.
 *  - A parked receiver interrupted without SA_RESTART gets EINTR and is no
 *    longer parked; with SA_RESTART its receive goes on transparently.
 *  - The last close of a channel while a sender sleeps in it, then the
 *    sender interrupted: a clean teardown (the VM checks dmesg).
 *
 * Whether a sender still waits is read from /proc (asleep in ioctl,
 * interruptibly or not, its signal pending or handled), never from timing.
 * SIGSTOP stops a whole process, so those senders are forked children.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"

#define DEPTH	3

struct setup {
	int dev, ch;
	struct nt_chan_actor s, r;
	/* The gauges before the test. */
	uint64_t pending, dispatched;
};

static void setup(struct setup *t, bool restart)
{
	nt_sig_install(SIGUSR1, restart);
	t->pending = nt_stat("channel_pending");
	t->dispatched = nt_stat("channel_dispatched");
	t->dev = nt_dev();
	t->ch = nt_channel(t->dev, DEPTH);
	nt_ca_start(&t->s, t->ch, NT_OTHER(0));
	nt_ca_start(&t->r, t->ch, NT_OTHER(0));
}

/* The gauges are @pending and @dispatched above their value before. */
static void check_gauges(const struct setup *t, uint64_t pending,
			 uint64_t dispatched)
{
	NT_EXPECT_EQ(nt_stat("channel_pending"), t->pending + pending);
	NT_EXPECT_EQ(nt_stat("channel_dispatched"), t->dispatched + dispatched);
}

static void teardown(struct setup *t)
{
	/* Nothing left behind: exactly DEPTH places, nothing pending, no
	 * request in the gauges. */
	NT_CHECK_ROOM(t->ch, DEPTH);
	check_gauges(t, 0, 0);
	nt_ca_stop(&t->s);
	nt_ca_stop(&t->r);
	close(t->ch);
	close(t->dev);
}

static void check_nothing_pending(int ch)
{
	struct ntsync_channel_recv2_args msg;

	NT_ASSERT_ERRNO(nt_chan_recv(ch, NT_TRY_RECV2, &msg), EAGAIN);
}

/* Take the request that must be the only one pending: from @tid, @prio,
 * @payload.  Returns its id. */
static uint64_t take_only(int ch, pid_t tid, uint32_t prio, uint64_t payload)
{
	struct ntsync_channel_recv2_args msg;

	NT_ASSERT_OK(nt_chan_recv(ch, NT_TRY_RECV2, &msg));
	NT_CHECK_MSG(&msg, tid, prio, payload);
	check_nothing_pending(ch);
	return msg.entry_id;
}

/* Reply to @id (0), which was received exactly once: the sender @s returns
 * 0, and neither a second REPLY nor a receive finds it. */
static void reply_once(struct setup *t, struct nt_chan_actor *s, uint64_t id)
{
	NT_ASSERT_OK(ntsync_channel_reply(t->ch, id));
	NT_ASSERT_EQ(nt_ca_finish(s), 0);
	NT_EXPECT_ERRNO(ntsync_channel_reply(t->ch, id), ENOENT);
	check_nothing_pending(t->ch);
}

/*
 * Send @sig (with a handler) to sender @c, whose request a receiver has
 * taken, and return once the sender has dealt with it and still waits:
 * either the handler ran and the sender is asleep in SEND_PI again, or the
 * signal stays pending while it sleeps in SEND_PI in a state signals do not
 * wake (D or I).  The test ends if SEND_PI returns.
 */
static void signal_dispatched_sender(struct nt_chan_actor *c, int sig)
{
	unsigned int before = nt_sig_count(sig);
	pid_t tid = nt_ca_tid(c);
	uint64_t start = nt_mono_ns();
	int err = pthread_kill(c->a.thread.handle, sig);

	if (err)
		NT_FAIL("pthread_kill(%d): %s", sig, strerror(err));
	for (;;) {
		bool asleep = nt_task_asleep_in_ioctl(tid);

		if (nt_ca_idle(c))
			NT_FAIL("SEND_PI returned %d on signal %d while its request was being served",
				c->a.ret, sig);
		if (asleep && (nt_sig_count(sig) != before ||
			       (nt_state_unwakeable(nt_task_state(tid)) &&
				nt_task_sig_pending(tid, sig))))
			return;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("sender %d neither handled signal %d nor went on waiting with it pending (state %c)",
				(int)tid, sig, nt_task_state(tid));
		nt_sleep_ms(1);
	}
}

/* ---- PENDING: withdrawn, then restarted or EINTR ---------------------- */

/* SA_RESTART: the handler runs, SEND_PI goes on (each time), and the
 * request is received exactly once. */
NT_TEST(pending_sa_restart_goes_on)
{
	struct setup t;
	uint64_t id;

	setup(&t, true);
	nt_ca_send_start(&t.s, SCHED_FIFO, 20, 0x1);
	for (unsigned int i = 0; i < 3; i++) {
		nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
		/* Asleep in SEND_PI again, not returned. */
		nt_actor_wait_blocked(&t.s.a);
	}
	check_gauges(&t, 1, 0);
	id = take_only(t.ch, nt_ca_tid(&t.s), 20, 0x1);
	check_gauges(&t, 0, 1);
	reply_once(&t, &t.s, id);
	teardown(&t);
}

/* SA_RESTART, and the receiver that comes is a parked RECV2. */
NT_TEST(pending_sa_restart_then_receiver_comes)
{
	struct setup t;

	setup(&t, true);
	nt_ca_send_start(&t.s, SCHED_RR, 7, 0x11);
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	nt_actor_wait_blocked(&t.s.a);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 7, 0x11);
	check_nothing_pending(t.ch);
	NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	NT_EXPECT_ERRNO(ntsync_channel_reply(t.ch, t.r.msg.entry_id), ENOENT);
	teardown(&t);
}

/* No SA_RESTART: EINTR, and the request is gone for every receive. */
NT_TEST(pending_no_restart_eintr_withdrawn)
{
	struct setup t;

	setup(&t, false);
	nt_ca_send_start(&t.s, SCHED_FIFO, 20, 0x2);
	nt_sig_deliver(t.s.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_ca_finish(&t.s), EINTR);
	check_gauges(&t, 0, 0);
	check_nothing_pending(t.ch);
	/* A receiver parks: it is not given the withdrawn request, only the
	 * next one. */
	nt_ca_recv_start(&t.r, NT_RECV);
	nt_ca_send_post(&t.s, SCHED_FIFO, 21, 0x3);
	NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 21, 0x3);
	NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	check_nothing_pending(t.ch);
	teardown(&t);
}

/* Several senders, the middle ones interrupted without SA_RESTART: the
 * others are intact and keep their order. */
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

/* ---- DISPATCHED: non-fatal signals do not end the wait ---------------- */

/* Received by this thread (TRY_RECV2), then the sender is signalled. */
static void signal_dispatched(bool restart)
{
	struct setup t;
	unsigned int before;
	uint64_t id;

	setup(&t, restart);
	nt_ca_send_start(&t.s, SCHED_FIFO, 20, 0x4);
	id = take_only(t.ch, nt_ca_tid(&t.s), 20, 0x4);
	before = nt_sig_count(SIGUSR1);
	signal_dispatched_sender(&t.s, SIGUSR1);
	/* Still the one dispatched request: not re-queued. */
	check_nothing_pending(t.ch);
	check_gauges(&t, 0, 1);
	reply_once(&t, &t.s, id);
	/* The handler ran, once (at the latest on the way out). */
	NT_EXPECT_EQ(nt_sig_count(SIGUSR1), before + 1);
	teardown(&t);
}

NT_TEST(dispatched_sa_restart_handler_gets_reply)
{
	signal_dispatched(true);
}

NT_TEST(dispatched_handler_no_restart_gets_reply)
{
	signal_dispatched(false);
}

/* Handed to a parked receiver by the SEND_PI itself (DISPATCHED from the
 * start), signalled twice, replied by that receiver. */
NT_TEST(dispatched_at_handoff_signalled_gets_reply)
{
	struct setup t;
	unsigned int before;

	setup(&t, false);
	nt_ca_recv_start(&t.r, NT_RECV2);
	nt_ca_send_post(&t.s, SCHED_RR, 9, 0x5);
	NT_ASSERT_EQ(nt_ca_finish(&t.r), 0);
	NT_CHECK_MSG(&t.r.msg, nt_ca_tid(&t.s), 9, 0x5);
	nt_ca_wait_asleep(&t.s);
	before = nt_sig_count(SIGUSR1);
	signal_dispatched_sender(&t.s, SIGUSR1);
	signal_dispatched_sender(&t.s, SIGUSR1);
	check_nothing_pending(t.ch);
	NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	/* Two signals of one kind may merge while pending: 1 or 2 runs. */
	NT_EXPECT_GE(nt_sig_count(SIGUSR1), before + 1);
	NT_EXPECT_LE(nt_sig_count(SIGUSR1), before + 2);
	NT_EXPECT_ERRNO(nt_ca_reply(&t.r, t.r.msg.entry_id), ENOENT);
	check_nothing_pending(t.ch);
	teardown(&t);
}

/* ---- Sender processes: SIGSTOP/SIGCONT and SIGKILL -------------------- */

/* A forked sender: SEND_PI(FIFO 30, @payload) on @ch, exit status its
 * result as a positive errno (0: success).  Returns once the request is
 * pending (the child asleep in SEND_PI). */
static pid_t fork_sender(int ch, uint64_t payload)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ret = ntsync_channel_send(ch, SCHED_FIFO, 30, payload,
					      NT_REPLY_OFF(payload));

		_exit(ret < 0 ? -ret : 0);
	}
	nt_wait_proc_blocked(pid);
	return pid;
}

/* The sender process ended by itself and its SEND_PI returned 0. */
static void reap_sender_ok(pid_t pid)
{
	int status = 0;

	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		NT_FAIL("sender process killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status))
		NT_FAIL("the sender's SEND_PI returned -%s",
			strerrorname_np(WEXITSTATUS(status)));
}

static void kill_and_reap(pid_t pid)
{
	int status = 0;

	NT_ASSERT_EQ(kill(pid, SIGKILL), 0);
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Wait until receiver @r is done, or fail with what the sender process did
 * instead (e.g. it ended because its SEND_PI returned). */
static void wait_receiver_or_sender_exit(struct nt_chan_actor *r, pid_t pid)
{
	uint64_t start = nt_mono_ns();
	int status = 0;

	while (!nt_ca_idle(r)) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			NT_FAIL("sender process ended (%s %d) before its request reached the receiver",
				WIFSIGNALED(status) ? "signal" : "SEND_PI errno",
				WIFSIGNALED(status) ? WTERMSIG(status) :
						      WEXITSTATUS(status));
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("the receiver got nothing within %u ms",
				NT_SOON_MS);
		nt_sleep_ms(1);
	}
}

/* No receiver: the sender is stopped (its request withdrawn: a receiver
 * finds nothing and parks), continued, and its SEND_PI goes on, reaches the
 * parked receiver and returns 0 after the reply. */
NT_TEST(pending_stop_cont_completes)
{
	struct setup t;
	pid_t pid;

	setup(&t, false);
	pid = fork_sender(t.ch, 0x5709);
	NT_ASSERT_EQ(kill(pid, SIGSTOP), 0);
	nt_wait_proc_state(pid, 'T');
	check_nothing_pending(t.ch);
	check_gauges(&t, 0, 0);
	nt_ca_recv_start(&t.r, NT_RECV2);
	NT_ASSERT_EQ(kill(pid, SIGCONT), 0);
	wait_receiver_or_sender_exit(&t.r, pid);
	NT_ASSERT_EQ(t.r.a.ret, 0);
	NT_CHECK_MSG(&t.r.msg, pid, 30, 0x5709);
	check_nothing_pending(t.ch);
	NT_ASSERT_EQ(nt_ca_reply(&t.r, t.r.msg.entry_id), 0);
	reap_sender_ok(pid);
	NT_EXPECT_ERRNO(ntsync_channel_reply(t.ch, t.r.msg.entry_id), ENOENT);
	check_nothing_pending(t.ch);
	teardown(&t);
}

/* Received, then the sender is stopped: the REPLY still reaches it (it
 * stops, at the latest once SEND_PI returns), and after SIGCONT its
 * SEND_PI has returned 0. */
NT_TEST(dispatched_stop_cont_gets_reply)
{
	struct setup t;
	uint64_t start;
	uint64_t id;
	pid_t pid;

	setup(&t, false);
	pid = fork_sender(t.ch, 0x5710);
	id = take_only(t.ch, pid, 30, 0x5710);
	NT_ASSERT_EQ(kill(pid, SIGSTOP), 0);
	/* Settled: stopped, or still waiting with the stop pending. */
	start = nt_mono_ns();
	while (nt_proc_state(pid) != 'T' &&
	       !(nt_state_unwakeable(nt_proc_state(pid)) &&
		 nt_proc_asleep_in_ioctl(pid) &&
		 nt_proc_sig_pending(pid, SIGSTOP))) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("sender process in state %c after SIGSTOP",
				nt_proc_state(pid));
		nt_sleep_ms(1);
	}
	check_nothing_pending(t.ch);
	NT_ASSERT_OK(ntsync_channel_reply(t.ch, id));
	nt_wait_proc_state(pid, 'T');
	NT_ASSERT_EQ(kill(pid, SIGCONT), 0);
	reap_sender_ok(pid);
	NT_EXPECT_ERRNO(ntsync_channel_reply(t.ch, id), ENOENT);
	check_nothing_pending(t.ch);
	teardown(&t);
}

NT_TEST(sender_killed_pending)
{
	struct setup t;
	pid_t pid;

	setup(&t, false);
	pid = fork_sender(t.ch, 0x4b1);
	check_gauges(&t, 1, 0);
	kill_and_reap(pid);
	check_gauges(&t, 0, 0);
	check_nothing_pending(t.ch);
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
	check_gauges(&t, 0, 1);
	kill_and_reap(pid);
	/* The kill took it off, before any REPLY. */
	check_gauges(&t, 0, 0);
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, msg.entry_id), ENOENT);
	check_nothing_pending(t.ch);
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
		nt_ca_send_post(&t.s, SCHED_FIFO, 12, 0x50 + k);
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
		nt_ca_send_post(&t.s, SCHED_FIFO, 14, 0x70 + k);
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
	struct setup t;
	uint64_t id;
	int dup_ch;

	setup(&t, false);
	dup_ch = dup(t.ch);
	NT_ASSERT_GE(dup_ch, 0);
	nt_ca_send_start(&t.s, SCHED_FIFO, 5, 0x80);
	NT_ASSERT_OK(ntsync_close(t.ch));
	t.ch = dup_ch;
	id = take_only(t.ch, nt_ca_tid(&t.s), 5, 0x80);
	reply_once(&t, &t.s, id);
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

	check_gauges(&t, 0, 0);
	nt_ca_stop(&t.s);
	nt_ca_stop(&t.r);
	close(t.dev);
}
