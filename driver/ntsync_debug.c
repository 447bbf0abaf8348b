// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: debug-only delay points, built only against the debug kernel
 * (KASAN; see Kbuild).
 *
 * Owns: one module parameter per delay point, in microseconds (0: off).  A
 * delay point widens a race window that is too narrow to hit by chance, so
 * that the oracles (KASAN, lockdep, refcount checks) see what happens when
 * an unlucky scheduler stretches it.  A delay may run under a raw spinlock:
 * it busy-waits and never sleeps; a one-shot sleeping delay is for points
 * where no lock is held.  No lock of its own.
 */

#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/poison.h>
#include <linux/string.h>

#include "ntsync_internal.h"

static unsigned int ntsync_delay_us[NTSYNC_NR_DELAYS];

/*
 * CHANNEL_SEND_PI, right after it marks a parked receiver served (under the
 * channel's lock): the receiver, woken by a signal, may return meanwhile.
 */
module_param_named(debug_delay_served_us, ntsync_delay_us[NTSYNC_DELAY_SERVED],
		   uint, 0644);
MODULE_PARM_DESC(debug_delay_served_us,
		 "Debug: busy-wait this long after serving a parked receiver");

/*
 * A served receiver, right after it poisoned its parked record: the frame
 * that held the record stays as it is (poisoned) meanwhile, so a sender
 * still reading the record reads poison instead of a reused stack.
 */
module_param_named(debug_delay_left_us, ntsync_delay_us[NTSYNC_DELAY_LEFT],
		   uint, 0644);
MODULE_PARM_DESC(debug_delay_left_us,
		 "Debug: busy-wait this long after a receiver left its record");

/*
 * WAIT_ANY, once its entries are queued and before it registers for PI (a
 * wait claimed meanwhile never registers): one-shot, the first wait that
 * passes takes the delay and the parameter goes back to 0.  It sleeps, so
 * a test sees the waiter blocked inside the window.
 */
module_param_named(debug_delay_queued_us, ntsync_delay_us[NTSYNC_DELAY_QUEUED],
		   uint, 0644);
MODULE_PARM_DESC(debug_delay_queued_us,
		 "Debug: one wait sleeps this long between queuing and PI registration");

/*
 * CHANNEL_SEND_PI, with no lock held, between handing its entry to a parked
 * receiver or notifying a dispatcher and boosting that task: one-shot
 * sleep, so that the receiver can take other requests, or reply, before
 * the boost arrives.
 */
module_param_named(debug_delay_preboost_us,
		   ntsync_delay_us[NTSYNC_DELAY_PREBOOST], uint, 0644);
MODULE_PARM_DESC(debug_delay_preboost_us,
		 "Debug: one SEND_PI sleeps this long before boosting its receiver");

/*
 * WAIT_ANY, once its sleep ended and before it leaves its queues: one-shot
 * sleep, so that an object can be signaled while a file's readiness has
 * already satisfied the wait (the object must still win).
 */
module_param_named(debug_delay_woken_us, ntsync_delay_us[NTSYNC_DELAY_WOKEN],
		   uint, 0644);
MODULE_PARM_DESC(debug_delay_woken_us,
		 "Debug: one wait sleeps this long between waking and leaving its queues");

/*
 * A mutex waiter's adaptive spin goes on when its CPU is wanted (another
 * task runnable there, need_resched()): on an idle machine housekeeping
 * threads end every spin within milliseconds, which would hide a spin that
 * ignored its deadline or a signal.  The kernel still preempts the spinner
 * (the debug kernel is PREEMPT_RT); spin_us still bounds it.
 */
static bool ntsync_spin_stubborn;
module_param_named(debug_spin_stubborn, ntsync_spin_stubborn, bool, 0644);
MODULE_PARM_DESC(debug_spin_stubborn,
		 "Debug: a mutex waiter's spin does not end when its CPU is wanted");

bool ntsync_debug_spin_stubborn(void)
{
	return READ_ONCE(ntsync_spin_stubborn);
}

void ntsync_debug_delay(enum ntsync_delay_point point)
{
	unsigned int us = READ_ONCE(ntsync_delay_us[point]);

	while (us) {
		unsigned int step = min(us, 1000U);

		udelay(step);
		us -= step;
	}
}

/* A delay point where no lock is held: sleep, once (see above). */
void ntsync_debug_sleep_once(enum ntsync_delay_point point)
{
	unsigned int us = xchg(&ntsync_delay_us[point], 0);

	if (us)
		fsleep(us);
}

/* Scribble over a record that is dead now, so a late user reads garbage. */
void ntsync_debug_poison(void *mem, size_t size)
{
	memset(mem, POISON_FREE, size);
	barrier_data(mem);
}
