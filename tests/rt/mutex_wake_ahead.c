// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wake-ahead: when a mutex is handed to a waiter, the waiter next in line
 * after it, if it sleeps and could spin (its whole wait is that mutex),
 * is woken to spin on the new owner (stats/wakes_ahead counts these
 * wakes).  Like the spin itself, that may change nothing but the cost of
 * the next hand-over: the order of hand-overs, and what a wait returns
 * when its deadline passes, a signal comes, its owner exits or it is
 * killed, are those of a waiter left asleep.
 *
 * Layout (see nt_spin.h): the mutex is created owned by this thread's id
 * MAIN_ID and has no owner task, so nobody spins on it while the waiters
 * queue; the first waiter is a busy owner (it runs once handed the mutex)
 * on CPU 1, the second waits on CPU 0.  This thread's unlock hands the
 * mutex to the first and wakes the second ahead.  The counters are
 * module-wide: these tests run alone in their VM program.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"
#include "nt_rt.h"
#include "nt_spin.h"

#define WAKES_AHEAD	"wakes_ahead"
#define SPINS		"spins"
#define MAIN_ID		3
#define FIRST_ID	1
#define SECOND_ID	2

/* A mutex owned by MAIN_ID, with a busy owner queued first on it. */
static int queue_first(int dev, struct nt_busy_owner *first,
		       unsigned int cpu_ms, int cpu)
{
	int m = nt_mutex(dev, MAIN_ID, 1);

	first->id = FIRST_ID;
	nt_busy_owner_start_nowait(first, dev, m, cpu_ms, cpu);
	nt_wait_blocked(first->thread.tid);
	nt_pin_self(NT_SPIN_OWNER_CPU);
	return m;
}

/*
 * Queue @w as SECOND_ID on @count of @objs (a wait-all if @all), from the
 * waiters' CPU, behind the first; returns once it sleeps.
 */
static void queue_second(struct nt_waiter *w, int dev, bool all,
			 const int *objs, uint32_t count, uint64_t timeout)
{
	nt_waiter_init(w, dev, all, objs, count, SECOND_ID);
	w->timeout = timeout;
	nt_spin_waiter_start(w);
	nt_wait_blocked(w->thread.tid);
}

/* Hand the mutex to the first waiter: exactly one wake ahead, now. */
static void hand_over_waking_one(int m, struct nt_busy_owner *first)
{
	uint64_t ahead = nt_stat(WAKES_AHEAD);

	NT_ASSERT_EQ(nt_unlock(m, MAIN_ID), 1);
	NT_ASSERT_EQ(nt_stat(WAKES_AHEAD), ahead + 1);
	nt_busy_owner_await_held(first);
	NT_CHECK_MUTEX(m, FIRST_ID, 1);
}

/*
 * The second waiter, woken ahead, spins on the first (it runs on the other
 * CPU) and is handed the mutex when the first lets go: the order is that
 * of the queue.  Nobody spun while they queued.
 */
NT_TEST(hand_over_wakes_next_in_line)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner first = { 0 };
	uint64_t spins = nt_stat(SPINS);
	struct nt_waiter w;
	int m;

	m = queue_first(dev, &first, 0, NT_SPIN_OWNER_CPU);
	queue_second(&w, dev, false, &m, 1, NTSYNC_TIMEOUT_INFINITE);
	NT_ASSERT_EQ(nt_stat(SPINS), spins);
	hand_over_waking_one(m, &first);
	nt_wait_spins_past(spins);
	nt_busy_owner_finish(&first);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_ASSERT_EQ(w.index, 0);
	NT_CHECK_MUTEX(m, SECOND_ID, 1);
	NT_ASSERT_EQ(nt_unlock(m, SECOND_ID), 1);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_spin_restore();
}

/*
 * Nobody is woken ahead when the second waiter could not spin: it waits
 * for another object too, or it is a wait-all, or spin_us is 0.  The
 * hand-overs are the same.
 */
static void not_woken_case(const char *spin_us, bool all, bool two_objects)
{
	int dev = nt_spin_setup(spin_us);
	struct nt_busy_owner first = { 0 };
	struct nt_waiter w;
	uint64_t ahead;
	int objs[2], m;

	m = queue_first(dev, &first, 0, NT_SPIN_OWNER_CPU);
	objs[0] = m;
	objs[1] = nt_event(dev, 0, 0);
	queue_second(&w, dev, all, objs, two_objects ? 2 : 1, NTSYNC_TIMEOUT_INFINITE);
	ahead = nt_stat(WAKES_AHEAD);
	NT_ASSERT_EQ(nt_unlock(m, MAIN_ID), 1);
	nt_busy_owner_await_held(&first);
	NT_ASSERT_EQ(nt_stat(WAKES_AHEAD), ahead);
	NT_CHECK_MUTEX(m, FIRST_ID, 1);
	nt_busy_owner_finish(&first);
	NT_ASSERT_EQ(nt_waiter_join(&w), 0);
	NT_ASSERT_EQ(w.index, 0);
	NT_CHECK_MUTEX(m, SECOND_ID, 1);
	NT_ASSERT_EQ(nt_unlock(m, SECOND_ID), 1);
	nt_spin_restore();
}

NT_TEST(two_object_waiter_not_woken_ahead)
{
	not_woken_case(NT_LONG_SPIN, false, true);
}

NT_TEST(wait_all_waiter_not_woken_ahead)
{
	not_woken_case(NT_LONG_SPIN, true, false);
}

NT_TEST(spin_off_wakes_nobody_ahead)
{
	not_woken_case("0", false, false);
}

/*
 * A wait-all on the mutex (and an event) makes wait_all_lock own it: the
 * hand-over and the wake ahead happen under that lock, the wake once it
 * is dropped.  The wait-any waiters are served in order, the wait-all
 * gets the mutex once its event is set too.
 */
NT_TEST(wake_ahead_under_wait_all_lock)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner first = { 0 };
	struct nt_waiter second, each;
	int objs[2], m;

	m = queue_first(dev, &first, 0, NT_SPIN_OWNER_CPU);
	queue_second(&second, dev, false, &m, 1, NTSYNC_TIMEOUT_INFINITE);
	objs[0] = m;
	objs[1] = nt_event(dev, 0, 0);
	nt_waiter_init(&each, dev, true, objs, 2, MAIN_ID + 1);
	nt_waiter_start(&each);
	hand_over_waking_one(m, &first);
	nt_busy_owner_finish(&first);
	NT_ASSERT_EQ(nt_waiter_join(&second), 0);
	NT_CHECK_MUTEX(m, SECOND_ID, 1);
	NT_ASSERT_EQ(nt_unlock(m, SECOND_ID), 1);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_set(objs[1]);
	NT_ASSERT_EQ(nt_waiter_join(&each), 0);
	NT_CHECK_MUTEX(m, MAIN_ID + 1, 1);
	NT_CHECK_EVENT(objs[1], 0, 0);
	nt_spin_restore();
}

/*
 * The deadline ends the spin of a waiter woken ahead: the first lets go
 * after 1 s of CPU time, the second's deadline is 300 ms away, spin_us is
 * 3 s.  A spin past the deadline would be handed the mutex.
 */
NT_TEST(deadline_ends_woken_ahead_spin)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner first = { 0 };
	struct nt_waiter w;
	int m;

	nt_spin_stubborn();
	m = queue_first(dev, &first, 1000, NT_SPIN_OWNER_CPU);
	queue_second(&w, dev, false, &m, 1, nt_deadline_ms(300));
	hand_over_waking_one(m, &first);
	NT_ASSERT_EQ(nt_waiter_join(&w), -ETIMEDOUT);
	nt_busy_owner_join_free(&first, m);
	nt_spin_restore();
}

/*
 * A signal ends the spin of a waiter woken ahead with EINTR (handler
 * without SA_RESTART); the first lets go on its own after 2 s of CPU
 * time, which a spin through the signal would have waited for.
 */
NT_TEST(signal_ends_woken_ahead_spin)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner first = { 0 };
	uint64_t spins = nt_stat(SPINS);
	struct nt_waiter w;
	int m;

	nt_sig_install(SIGUSR1, false);
	nt_spin_stubborn();
	m = queue_first(dev, &first, 2000, NT_SPIN_OWNER_CPU);
	queue_second(&w, dev, false, &m, 1, NTSYNC_TIMEOUT_INFINITE);
	hand_over_waking_one(m, &first);
	nt_wait_spins_past(spins);
	nt_sig_deliver(w.thread.handle, SIGUSR1);
	NT_ASSERT_EQ(nt_waiter_join(&w), -EINTR);
	nt_busy_owner_join_free(&first, m);
	nt_spin_restore();
}

/*
 * The first waiter's thread ends holding the mutex while the second, woken
 * ahead, spins on it: the spin stops (it would last 30 s otherwise), the
 * second sleeps, and MUTEX_KILL hands it the abandoned mutex.  Under KASAN
 * this also checks the reference the spin holds on the exited task.
 */
NT_TEST_TIMEOUT(new_owner_exit_ends_woken_ahead_spin, 60)
{
	int dev = nt_spin_setup("30000000");
	struct nt_busy_owner first = { .exit_holding = true };
	uint64_t spins = nt_stat(SPINS);
	struct nt_waiter w;
	int m;

	m = queue_first(dev, &first, 200, NT_SPIN_OWNER_CPU);
	queue_second(&w, dev, false, &m, 1, NTSYNC_TIMEOUT_INFINITE);
	hand_over_waking_one(m, &first);
	nt_wait_spins_past(spins);
	nt_thread_join(&first.thread);
	nt_wait_blocked(w.thread.tid);
	NT_CHECK_MUTEX(m, FIRST_ID, 1);
	NT_ASSERT_OK(ntsync_mutex_kill(m, FIRST_ID));
	NT_ASSERT_EQ(nt_waiter_join(&w), -EOWNERDEAD);
	NT_CHECK_MUTEX(m, SECOND_ID, 1);
	NT_ASSERT_EQ(nt_unlock(m, SECOND_ID), 1);
	nt_spin_restore();
}

struct queued_child {
	int dev;
	int mutex;
};

/* Wait for the mutex until killed (the first holds it until then). */
static void wait_in_child(void *arg)
{
	struct queued_child *c = arg;
	uint32_t index;

	ntsync_wait_any(c->dev, &c->mutex, 1, SECOND_ID, NTSYNC_NO_ALERT,
			NTSYNC_TIMEOUT_INFINITE, 0, &index);
	_exit(1);
}

/*
 * A waiter killed (SIGKILL) after it was woken ahead, spinning or asleep
 * again, leaves no trace: when the first lets go, nobody is handed the
 * mutex.
 */
NT_TEST(woken_ahead_waiter_killed)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner first = { 0 };
	struct queued_child c = { .dev = dev };
	int status, m;
	pid_t pid;

	m = queue_first(dev, &first, 0, NT_SPIN_OWNER_CPU);
	c.mutex = m;
	nt_pin_self(NT_SPIN_WAITER_CPU);
	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0)
		wait_in_child(&c);
	nt_pin_self(NT_SPIN_OWNER_CPU);
	nt_wait_proc_blocked(pid);
	hand_over_waking_one(m, &first);
	nt_sleep_ms(20);
	NT_ASSERT_OK(kill(pid, SIGKILL));
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	nt_busy_owner_finish(&first);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_spin_restore();
}

/*
 * Wake-ahead follows the queue's order, which is by priority: a FIFO
 * waiter that queued after a normal one is handed the mutex, and the
 * normal one is woken ahead.  It finds the FIFO owner idle (it holds the
 * mutex without running), sleeps again, and is handed the mutex when the
 * FIFO owner lets go.
 */
NT_TEST(priority_order_decides_who_is_woken_ahead)
{
	int dev = nt_spin_setup(NT_LONG_SPIN);
	struct nt_busy_owner normal = { 0 };
	struct nt_actor fifo;
	uint64_t ahead;
	int m;

	m = queue_first(dev, &normal, 0, NT_SPIN_OWNER_CPU);
	nt_pin_self(NT_SPIN_WAITER_CPU);
	nt_actor_start(&fifo, NT_FIFO(50));
	nt_actor_wait_start(&fifo, dev, false, &m, 1, SECOND_ID,
			    NTSYNC_TIMEOUT_INFINITE);
	nt_pin_self(NT_SPIN_OWNER_CPU);
	ahead = nt_stat(WAKES_AHEAD);
	NT_ASSERT_EQ(nt_unlock(m, MAIN_ID), 1);
	NT_ASSERT_EQ(nt_stat(WAKES_AHEAD), ahead + 1);
	NT_ASSERT_EQ(nt_actor_finish(&fifo), 0);
	NT_CHECK_MUTEX(m, SECOND_ID, 1);
	nt_wait_blocked(normal.thread.tid);
	NT_ASSERT_FALSE(atomic_load(&normal.held));
	NT_ASSERT_EQ(nt_actor_unlock(&fifo, m, SECOND_ID), 0);
	nt_busy_owner_await_held(&normal);
	NT_CHECK_MUTEX(m, FIRST_ID, 1);
	nt_busy_owner_finish(&normal);
	NT_CHECK_MUTEX(m, 0, 0);
	nt_actor_stop(&fifo);
	nt_spin_restore();
}

/* ---- A long chain of hand-overs ---------------------------------------- */

#define CHAIN_LEN	128

struct chain {
	int dev;
	int mutex;
	atomic_uint next_turn;
	/* Position in the queue of the waiter served at each turn. */
	unsigned int served[CHAIN_LEN];
	int errors;
};

struct chain_waiter {
	struct nt_thread thread;
	struct chain *chain;
	unsigned int pos;
};

/* Take the mutex, note the turn, hold it a little, let it go. */
static void *chain_waiter_fn(void *p)
{
	struct chain_waiter *cw = p;
	struct chain *c = cw->chain;
	uint32_t index, prev, id = 100 + cw->pos;
	volatile unsigned int spin;
	unsigned int turn;

	if (ntsync_wait_any(c->dev, &c->mutex, 1, id, NTSYNC_NO_ALERT,
			    NTSYNC_TIMEOUT_INFINITE, 0, &index)) {
		__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	turn = atomic_fetch_add(&c->next_turn, 1);
	if (turn < CHAIN_LEN)
		c->served[turn] = cw->pos;
	for (spin = 0; spin < 2000; spin++)
		;
	if (ntsync_mutex_unlock(c->mutex, id, &prev))
		__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * 128 waiters queued one after another on a mutex, each holding it for a
 * moment once handed it: they are served in the order they queued (a wake
 * ahead moves nobody), with at most one wake ahead per hand-over, and the
 * mutex ends free.
 */
NT_TEST_TIMEOUT(long_chain_keeps_queue_order, 120)
{
	int dev = nt_spin_setup("50");
	static struct chain_waiter cw[CHAIN_LEN];
	static struct chain c;
	uint64_t ahead;
	unsigned int i;

	c = (struct chain){ .dev = dev, .mutex = nt_mutex(dev, MAIN_ID, 1) };
	for (i = 0; i < CHAIN_LEN; i++) {
		cw[i] = (struct chain_waiter){ .chain = &c, .pos = i };
		nt_thread_start(&cw[i].thread, chain_waiter_fn, &cw[i]);
		nt_wait_blocked(cw[i].thread.tid);
	}
	ahead = nt_stat(WAKES_AHEAD);
	NT_ASSERT_EQ(nt_unlock(c.mutex, MAIN_ID), 1);
	for (i = 0; i < CHAIN_LEN; i++)
		nt_thread_join(&cw[i].thread);
	NT_ASSERT_EQ(c.errors, 0);
	NT_ASSERT_EQ(atomic_load(&c.next_turn), CHAIN_LEN);
	for (i = 0; i < CHAIN_LEN; i++)
		NT_EXPECT_EQ(c.served[i], i);
	NT_ASSERT_LE(nt_stat(WAKES_AHEAD) - ahead, CHAIN_LEN);
	NT_CHECK_MUTEX(c.mutex, 0, 0);
	nt_spin_restore();
}
