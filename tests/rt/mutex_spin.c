// SPDX-License-Identifier: GPL-2.0-only
/*
 * Adaptive spinning of mutex waiters (module parameter spin_us): a waiter
 * next in line for a mutex whose owner runs on another CPU spins instead
 * of sleeping, for at most spin_us.  The spin must change nothing but the
 * cost of the hand-over: who gets the mutex, in which order, and what a
 * wait returns when its deadline passes, a signal or an alert comes, the
 * owner exits or the waiter is killed are those of a sleeping waiter.
 *
 * Each test sets spin_us far above the time it needs (seconds), so that a
 * spin that ignored one of its ends would change a result the test reads:
 * the owner lets go on its own after a bounded stretch of CPU time, and a
 * waiter that spun through its deadline or a signal would be handed the
 * mutex instead of returning ETIMEDOUT or EINTR.  That needs a spin that
 * is not ended first by a housekeeping thread wanting its CPU: the debug
 * build's debug_spin_stubborn (see nt_spin_stubborn()).
 *
 * Layout: the owner is a thread pinned to CPU 1 that takes the mutex and
 * then busy-loops in user space (it runs: the condition for a spin), the
 * waiters are pinned to CPU 0, the test's own thread moves to CPU 1 and
 * sleeps between polls, so that nothing else wants CPU 0.  The counter
 * stats/spins says that a spin began.  The counters are module-wide:
 * these tests run alone in their VM program.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"
#include "nt_rt.h"
#include "nt_spin.h"

#define SPINS		"spins"

/* The owner lets go while the waiter spins: the waiter owns the mutex. */
NT_TEST(running_owner_hands_over_to_spinner)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS);

	nt_busy_owner_start(&o, dev, m, 0, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_spin_waiter_start(&w);
	nt_wait_spins_past(before);
	nt_busy_owner_finish(&o);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_ASSERT_EQ(w.index, 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_unlock(m, 2), 1);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_spin_restore();
}

/* spin_us 0: the same waiter sleeps at once, and no spin is counted. */
NT_TEST(spin_off_sleeps_at_once)
{
	int dev = nt_spin_setup("0");
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS);

	nt_busy_owner_start(&o, dev, m, 0, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_spin_waiter_start(&w);
	nt_wait_blocked(w.thread.tid);
	NT_ASSERT_EQ(nt_stat(SPINS), before);
	nt_busy_owner_finish(&o);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_unlock(m, 2), 1);
	nt_spin_restore();
}

/*
 * The deadline ends the spin: the owner lets go after 500 ms of CPU time,
 * the waiter's deadline is 20 ms away, spin_us is 3 s.  A spin past the
 * deadline would be handed the mutex.
 */
static void deadline_case(bool realtime)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;

	nt_spin_stubborn();
	nt_busy_owner_start(&o, dev, m, 500, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	if (realtime) {
		w.flags = NTSYNC_WAIT_REALTIME;
		w.timeout = nt_now_ns(CLOCK_REALTIME) + 20000000ull;
	} else {
		w.timeout = nt_deadline_ms(20);
	}
	nt_spin_waiter_start(&w);
	NT_ASSERT_EQ(nt_waiter_join(&w), -ETIMEDOUT);
	nt_busy_owner_join_free(&o, m);
	nt_spin_restore();
}

NT_TEST(deadline_ends_spin)
{
	deadline_case(false);
}

NT_TEST(realtime_deadline_ends_spin)
{
	deadline_case(true);
}

/* Step CLOCK_REALTIME by @seconds (root: the tests run as root). */
static void step_realtime(int seconds)
{
	struct timespec ts;

	NT_ASSERT_OK(clock_gettime(CLOCK_REALTIME, &ts));
	ts.tv_sec += seconds;
	NT_ASSERT_OK(clock_settime(CLOCK_REALTIME, &ts));
}

/*
 * CLOCK_REALTIME steps back an hour while a waiter with a realtime
 * deadline spins: the wait goes on to sleep (spin_us is 200 ms, timed on
 * the monotonic clock; the step's own work on every CPU also ends a spin)
 * and is then handed the mutex.  The clock is put forward again before
 * anything is asserted.
 */
NT_TEST_TIMEOUT(realtime_clock_step_does_not_stretch_spin, 60)
{
	int dev = nt_spin_setup("200000");
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS), start;
	bool slept = false;

	nt_busy_owner_start(&o, dev, m, 0, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	w.flags = NTSYNC_WAIT_REALTIME;
	w.timeout = nt_now_ns(CLOCK_REALTIME) + 30000000000ull;
	nt_spin_waiter_start(&w);
	nt_wait_spins_past(before);
	step_realtime(-3600);
	start = nt_mono_ns();
	while (!slept && nt_elapsed_ms(start) < NT_SOON_MS / 2) {
		slept = nt_is_blocked(w.thread.tid);
		nt_sleep_ms(1);
	}
	step_realtime(3600);
	NT_ASSERT_TRUE(slept);
	nt_busy_owner_finish(&o);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_unlock(m, 2), 1);
	nt_spin_restore();
}

/*
 * A signal ends the spin with EINTR (handler without SA_RESTART); the
 * owner lets go on its own after 1 s of CPU time, which a spin through the
 * signal would have waited for.
 */
NT_TEST(signal_ends_spin)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS);

	nt_sig_install(SIGUSR1, false);
	nt_spin_stubborn();
	nt_busy_owner_start(&o, dev, m, 2000, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_spin_waiter_start(&w);
	nt_wait_spins_past(before);
	nt_sig_deliver(w.thread.handle, SIGUSR1);
	NT_ASSERT_EQ(nt_waiter_join(&w), -EINTR);
	nt_busy_owner_join_free(&o, m);
	nt_spin_restore();
}

/* An alert ends the spin: the wait returns the alert's index. */
NT_TEST(alert_ends_spin)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	int alert = nt_event(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS);

	nt_busy_owner_start(&o, dev, m, 2000, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	w.alert = alert;
	nt_spin_waiter_start(&w);
	nt_wait_spins_past(before);
	nt_set(alert);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_ASSERT_EQ(w.index, 1);
	NT_CHECK_EVENT(alert, 0, 0);
	nt_busy_owner_join_free(&o, m);
	nt_spin_restore();
}

/*
 * The owner's thread ends while holding the mutex: the spin stops (it
 * would last 30 s otherwise) and the waiter sleeps; MUTEX_KILL then hands
 * it the abandoned mutex.  Under KASAN this also checks the spin's
 * reference on the exited owner.
 */
NT_TEST_TIMEOUT(owner_exit_ends_spin, 60)
{
	int dev = nt_spin_setup("30000000");
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { .exit_holding = true };
	struct nt_waiter w;
	uint64_t before = nt_stat(SPINS);

	nt_busy_owner_start(&o, dev, m, 200, NT_SPIN_OWNER_CPU);
	nt_waiter_init(&w, dev, false, &m, 1, 2);
	nt_spin_waiter_start(&w);
	nt_wait_spins_past(before);
	nt_thread_join(&o.thread);
	nt_wait_blocked(w.thread.tid);
	NT_CHECK_MUTEX(m, 1, 1);
	NT_ASSERT_OK(ntsync_mutex_kill(m, 1));
	NT_ASSERT_EQ(nt_waiter_join(&w), -EOWNERDEAD);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_unlock(m, 2), 1);
	nt_spin_restore();
}

struct killed_child {
	int dev;
	int mutex;
};

/*
 * Wait again and again with a short deadline until killed: right after the
 * fork the owner may be held up for a moment (its copy-on-write faults),
 * and a wait queued then sleeps instead of spinning.
 */
static void spin_in_child(void *arg)
{
	struct killed_child *c = arg;
	uint32_t index;

	for (;;) {
		int ret = ntsync_wait_any(c->dev, &c->mutex, 1, 3,
					  NTSYNC_NO_ALERT, nt_deadline_ms(100),
					  0, &index);

		/* The owner holds the mutex until the child is gone. */
		if (ret != -ETIMEDOUT)
			_exit(1);
	}
}

/*
 * A waiter killed (SIGKILL) while it spins leaves no trace: when the owner
 * lets go, nobody is handed the mutex.
 */
NT_TEST(waiter_killed_while_spinning)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	struct killed_child c = { .dev = dev, .mutex = m };
	struct nt_busy_owner o = { 0 };
	uint64_t before = nt_stat(SPINS);
	int status;
	pid_t pid;

	nt_busy_owner_start(&o, dev, m, 0, NT_SPIN_OWNER_CPU);
	nt_pin_self(NT_SPIN_WAITER_CPU);
	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0)
		spin_in_child(&c);
	nt_pin_self(NT_SPIN_OWNER_CPU);
	nt_wait_spins_past(before);
	NT_ASSERT_OK(kill(pid, SIGKILL));
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	nt_busy_owner_finish(&o);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_spin_restore();
}

/*
 * A FIFO waiter does not spin over an owner queued on its own CPU: it
 * sleeps and the owner (normal, boosted or not) gets the CPU to finish its
 * 50 ms and let go.  A spin there would starve the owner until the
 * waiter's 3 s deadline.
 */
static void same_cpu_case(bool pi)
{
	int dev = nt_spin_setup("10000000");
	int m = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_actor a;

	nt_pi_param_set(pi);
	nt_pin_self(NT_SPIN_WAITER_CPU);
	nt_actor_start(&a, NT_FIFO(50));
	nt_busy_owner_start(&o, dev, m, 50, NT_SPIN_WAITER_CPU);
	nt_actor_wait_post(&a, dev, false, &m, 1, 2, nt_deadline_ms(3000));
	nt_pin_self(NT_SPIN_OWNER_CPU);
	NT_ASSERT_EQ(nt_actor_finish(&a), 0);
	nt_thread_join(&o.thread);
	NT_ASSERT_EQ(o.unlock_ret, 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&a, m, 2), 0);
	nt_actor_stop(&a);
	nt_pi_param_set(true);
	nt_spin_restore();
}

NT_TEST(fifo_waiter_leaves_cpu_to_owner_pi_on)
{
	same_cpu_case(true);
}

NT_TEST(fifo_waiter_leaves_cpu_to_owner_pi_off)
{
	same_cpu_case(false);
}

/*
 * A normal waiter spins before it registers for PI.  Raised while it spins
 * (a FIFO thread on the other CPU waits for a mutex it owns), it stops
 * spinning (its own check of its priority; outside a debug build also the
 * scheduler's reschedule on the raise), registers, and passes the boost on
 * to the owner it waits for.  spin_us is 30 s: a spin that went on would
 * keep the boost from that owner for longer than the test waits for it,
 * and a wait that never registered would never pass it on.
 */
NT_TEST_TIMEOUT(raised_spinner_passes_boost_on, 60)
{
	int dev = nt_spin_setup("30000000");
	int m1 = nt_mutex(dev, 0, 0), m2 = nt_mutex(dev, 0, 0);
	struct nt_busy_owner o = { 0 };
	struct nt_actor spinner, rt;
	uint64_t before = nt_stat(SPINS), start;

	nt_pi_param_set(true);
	/* In a debug build the reschedule on the raise does not end it. */
	nt_spin_stubborn();
	nt_pin_self(NT_SPIN_WAITER_CPU);
	nt_actor_start(&spinner, NT_OTHER(0));
	nt_actor_take(&spinner, dev, m2, 2);
	nt_pin_self(NT_SPIN_OWNER_CPU);
	nt_actor_start(&rt, NT_FIFO(60));
	nt_busy_owner_start(&o, dev, m1, 0, NT_SPIN_OWNER_CPU);
	nt_actor_wait_post(&spinner, dev, false, &m1, 1, 2,
			   NTSYNC_TIMEOUT_INFINITE);
	nt_wait_spins_past(before);
	nt_actor_wait_post(&rt, dev, false, &m2, 1, 3, NTSYNC_TIMEOUT_INFINITE);
	start = nt_mono_ns();
	/* Half of NT_SOON_MS: the owner itself lets go after all of it. */
	while (!nt_sched_matches(nt_sched_get(o.thread.tid), NT_FIFO(60))) {
		if (nt_elapsed_ms(start) > NT_SOON_MS / 2)
			NT_FAIL("the boost did not reach the spinner's owner");
		nt_sleep_ms(1);
	}
	nt_busy_owner_finish(&o);
	NT_ASSERT_EQ(nt_actor_finish(&spinner), 0);
	NT_CHECK_MUTEX(m1, 2, 1);
	NT_CHECK_SCHED(nt_actor_tid(&spinner), NT_FIFO(60));
	NT_ASSERT_EQ(nt_actor_unlock(&spinner, m2, 2), 0);
	NT_CHECK_SCHED_VAL(spinner.after, NT_OTHER(0));
	NT_ASSERT_EQ(nt_actor_finish(&rt), 0);
	NT_CHECK_MUTEX(m2, 3, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&rt, m2, 3), 0);
	NT_ASSERT_EQ(nt_actor_unlock(&spinner, m1, 2), 0);
	nt_actor_stop(&spinner);
	nt_actor_stop(&rt);
	nt_spin_restore();
}

/*
 * A spinner keeps only its place in line: a FIFO waiter that comes later
 * is handed the mutex first, the spinner after it.
 */
NT_TEST(spinner_keeps_its_place_in_line)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	int m = nt_mutex(dev, 0, 0);
	struct nt_actor normal, fifo;
	struct nt_busy_owner o = { 0 };
	uint64_t before = nt_stat(SPINS), start;

	nt_pin_self(NT_SPIN_WAITER_CPU);
	nt_actor_start(&normal, NT_OTHER(0));
	nt_actor_start(&fifo, NT_FIFO(50));
	nt_busy_owner_start(&o, dev, m, 0, NT_SPIN_OWNER_CPU);
	nt_actor_wait_post(&normal, dev, false, &m, 1, 2,
			   NTSYNC_TIMEOUT_INFINITE);
	nt_wait_spins_past(before);
	nt_actor_wait_post(&fifo, dev, false, &m, 1, 3,
			   NTSYNC_TIMEOUT_INFINITE);
	/* Queued: it spins (next in line now) or sleeps. */
	start = nt_mono_ns();
	while (nt_stat(SPINS) < before + 2 && !nt_is_blocked(fifo.thread.tid)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("the FIFO waiter neither spun nor slept");
		nt_sleep_ms(1);
	}
	nt_busy_owner_finish(&o);
	NT_ASSERT_EQ(nt_actor_finish(&fifo), 0);
	NT_CHECK_MUTEX(m, 3, 1);
	NT_ASSERT_FALSE(nt_actor_idle(&normal));
	NT_ASSERT_EQ(nt_actor_unlock(&fifo, m, 3), 0);
	NT_ASSERT_EQ(nt_actor_finish(&normal), 0);
	NT_CHECK_MUTEX(m, 2, 1);
	NT_ASSERT_EQ(nt_actor_unlock(&normal, m, 2), 0);
	nt_actor_stop(&normal);
	nt_actor_stop(&fifo);
	nt_spin_restore();
}
