// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers for the tests of adaptive spinning (see nt_spin.h).
 */
#include "nt_spin.h"

#include <stdio.h>
#include <unistd.h>

#include "nt_chan.h"

#define SPIN_PARAM	"spin_us"
#define STUBBORN_PARAM	"debug_spin_stubborn"

static void *busy_owner_fn(void *p)
{
	struct nt_busy_owner *o = p;
	uint64_t cpu_start, wall_start;
	uint32_t index, prev;

	o->take_ret = ntsync_wait_any(o->dev, &o->mutex, 1, o->id,
				      NTSYNC_NO_ALERT, NTSYNC_TIMEOUT_INFINITE,
				      0, &index);
	if (o->take_ret)
		return NULL;
	cpu_start = nt_now_ns(CLOCK_THREAD_CPUTIME_ID);
	wall_start = nt_mono_ns();
	atomic_store(&o->held, true);
	while (!atomic_load(&o->release)) {
		uint64_t cpu = nt_now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start;

		if (o->cpu_ms && cpu >= o->cpu_ms * 1000000ull)
			break;
		/* Never forever, whatever the waiters do. */
		if (nt_elapsed_ms(wall_start) > NT_SOON_MS)
			break;
	}
	if (!o->exit_holding)
		o->unlock_ret = ntsync_mutex_unlock(o->mutex, o->id, &prev);
	return NULL;
}

void nt_busy_owner_start_nowait(struct nt_busy_owner *o, int dev, int mutex,
				unsigned int cpu_ms, int cpu)
{
	o->dev = dev;
	o->mutex = mutex;
	if (!o->id)
		o->id = NT_SPIN_OWNER_ID;
	o->cpu_ms = cpu_ms;
	nt_pin_self(cpu);
	nt_thread_start(&o->thread, busy_owner_fn, o);
}

void nt_busy_owner_await_held(struct nt_busy_owner *o)
{
	uint64_t start = nt_mono_ns();

	while (!atomic_load(&o->held)) {
		NT_ASSERT_EQ(o->take_ret, 0);
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("the owner did not take the mutex");
		nt_sleep_ms(1);
	}
}

void nt_busy_owner_start(struct nt_busy_owner *o, int dev, int mutex,
			 unsigned int cpu_ms, int cpu)
{
	nt_busy_owner_start_nowait(o, dev, mutex, cpu_ms, cpu);
	nt_busy_owner_await_held(o);
}

void nt_busy_owner_finish(struct nt_busy_owner *o)
{
	atomic_store(&o->release, true);
	nt_thread_join(&o->thread);
	if (!o->exit_holding)
		NT_ASSERT_EQ(o->unlock_ret, 0);
}

void nt_busy_owner_join_free(struct nt_busy_owner *o, int mutex)
{
	nt_thread_join(&o->thread);
	NT_ASSERT_EQ(o->unlock_ret, 0);
	NT_CHECK_MUTEX(mutex, 0, 0);
}

static char saved_spin[32];

int nt_spin_setup(const char *us)
{
	char path[96];

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		NT_SKIP("a spin needs the owner on another CPU: one CPU online");
	snprintf(path, sizeof(path), "/sys/module/ntsync/parameters/%s",
		 SPIN_PARAM);
	if (!nt_read_small_file(path, saved_spin, sizeof(saved_spin)))
		NT_FAIL("cannot read %s", path);
	if (!nt_module_param_write(SPIN_PARAM, us))
		NT_FAIL("cannot write %s", path);
	return nt_dev();
}

void nt_spin_restore(void)
{
	nt_module_param_write(SPIN_PARAM, saved_spin);
	nt_module_param_write(STUBBORN_PARAM, "0");
}

void nt_spin_stubborn(void)
{
	nt_module_param_write(STUBBORN_PARAM, "1");
}

void nt_wait_stat_past(const char *name, uint64_t before)
{
	uint64_t start = nt_mono_ns();

	while (nt_stat(name) <= before) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("stats/%s stayed at %llu", name,
				(unsigned long long)before);
		nt_sleep_ms(1);
	}
}

void nt_wait_spins_past(uint64_t before)
{
	nt_wait_stat_past("spins", before);
}

void nt_spin_waiter_start(struct nt_waiter *w)
{
	nt_pin_self(NT_SPIN_WAITER_CPU);
	nt_waiter_start_nowait(w);
	nt_pin_self(NT_SPIN_OWNER_CPU);
}
