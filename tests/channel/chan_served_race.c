// SPDX-License-Identifier: GPL-2.0-only
/*
 * A parked receiver woken by a signal at the moment a sender serves it.
 *
 * The sender hands a request to a parked receiver by filling in the
 * receiver's record (on the receiver's kernel stack) and marking it served;
 * a receiver that a signal wakes then returns at once, without the
 * channel's lock, and its record is gone.  The sender must not touch the
 * record after marking it served.
 *
 * On the debug kernel the module has a delay point right after "served" is
 * published (parameter debug_delay_served_us), and scribbles over the
 * receiver's record once the receiver has left it, then holds that frame
 * for a while (debug_delay_left_us) so that the poison is not overwritten
 * by the receiver's next call: with both set, a signal reaches the
 * receiver inside the window in nearly every round, and a sender that
 * still read the record would dereference poison (an oops that fails the
 * VM run).  Elsewhere the parameters do not exist and the test runs the
 * same rounds with the natural, narrow window.
 *
 * Asserted (state only): every request is received exactly once, its
 * REPLY succeeds and its sender gets 0; the channel is empty afterwards.
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "nt_chan.h"
#include "ntsync.h"

#define ROUNDS		40
/* Long enough for several signals to land inside the window. */
#define DELAY_US	"20000"

struct race {
	int ch;
	atomic_bool stop;
	/* The sender is in SEND_PI: the kicker interrupts the receiver. */
	atomic_bool sending;
	atomic_uint received;
	unsigned int seen[ROUNDS];
	struct nt_thread receiver, kicker;
};

/* Both delay points, or none (a module built without debug hooks). */
static bool set_delay(const char *us)
{
	if (!nt_module_param_write("debug_delay_served_us", us))
		return false;
	NT_ASSERT_TRUE(nt_module_param_write("debug_delay_left_us", us));
	return true;
}

/* At least two CPUs to pin to (asked before anything is pinned). */
static bool two_cpus;

/*
 * Run the calling thread on CPU @cpu only, if there are two: the sender
 * spins on CPU 0 with preemption off while the receiver is woken on CPU 1
 * (woken onto the sender's CPU it could not run inside the window).
 */
static void pin_to(int cpu)
{
	cpu_set_t set;

	if (!two_cpus)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	NT_ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

/* Receive until every round was served; signals end single receives. */
static void *receiver_fn(void *arg)
{
	struct race *r = arg;

	pin_to(1);
	while (atomic_load(&r->received) < ROUNDS) {
		struct ntsync_channel_recv2_args msg;
		int ret = nt_chan_recv(r->ch, NT_RECV2, &msg);

		if (ret == -EINTR)
			continue;
		NT_ASSERT_OK(ret);
		NT_ASSERT_LT(msg.payload_off, (uint64_t)ROUNDS);
		r->seen[msg.payload_off]++;
		atomic_fetch_add(&r->received, 1);
		NT_ASSERT_OK(ntsync_channel_reply(r->ch, msg.entry_id));
	}
	return NULL;
}

/*
 * Spin (yielding) for @us: a sleeping thread's timer may be queued on the
 * busy CPU, the sender's, which does not run it until the window is over.
 */
static void spin_us(unsigned int us)
{
	uint64_t end = nt_mono_ns() + us * 1000ull;

	while (nt_mono_ns() < end)
		sched_yield();
}

/*
 * While a send is in progress (and only then, so that the receiver parks
 * undisturbed between rounds), interrupt the receiver's sleep: first a
 * little after the send began, when the sender is inside its window.
 */
static void *kicker_fn(void *arg)
{
	struct race *r = arg;

	pin_to(1);
	while (!atomic_load(&r->stop)) {
		if (!atomic_load(&r->sending)) {
			sched_yield();
			continue;
		}
		spin_us(2000);
		while (atomic_load(&r->sending)) {
			pthread_kill(r->receiver.handle, SIGUSR1);
			spin_us(1000);
		}
	}
	return NULL;
}

NT_TEST_TIMEOUT(signal_while_served, 120)
{
	struct ntsync_channel_recv2_args msg;
	struct race r = { 0 };
	cpu_set_t cpus;
	bool delayed;
	unsigned int i;
	int dev;

	/* Without SA_RESTART: the receiver's RECV2 really returns. */
	nt_sig_install(SIGUSR1, false);
	dev = nt_dev();
	r.ch = nt_channel(dev, 4);
	delayed = set_delay(DELAY_US);
	nt_diag("delay point %s", delayed ? "set to " DELAY_US " us" :
		"not in this module (not a debug build)");

	/* (sysconf() may not know the CPUs in the VM: ask the scheduler.) */
	NT_ASSERT_EQ(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	two_cpus = CPU_ISSET(0, &cpus) && CPU_ISSET(1, &cpus);
	pin_to(0);
	nt_thread_start(&r.receiver, receiver_fn, &r);
	nt_thread_start(&r.kicker, kicker_fn, &r);
	for (i = 0; i < ROUNDS; i++) {
		/* Parked: the sender then serves it directly. */
		nt_wait_blocked(r.receiver.tid);
		atomic_store(&r.sending, true);
		NT_ASSERT_OK(ntsync_channel_send(r.ch, 0, 0, i,
						 NT_REPLY_OFF(i)));
		atomic_store(&r.sending, false);
	}
	atomic_store(&r.stop, true);
	nt_thread_join(&r.kicker);
	nt_thread_join(&r.receiver);
	if (delayed)
		NT_ASSERT_EQ(set_delay("0"), true);

	for (i = 0; i < ROUNDS; i++)
		NT_EXPECT_EQ(r.seen[i], 1u);
	NT_ASSERT_ERRNO(nt_chan_recv(r.ch, NT_TRY_RECV2, &msg), EAGAIN);
	close(r.ch);
	close(dev);
}
