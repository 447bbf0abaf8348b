// SPDX-License-Identifier: GPL-2.0-only
/*
 * failslab_walk: systematic slab-allocation failures in every ioctl path of
 * ntsync, with the kernel's per-task fail-nth (debug kernel only: needs
 * CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS and debugfs mounted on
 * /sys/kernel/debug).
 *
 * For each path the call is repeated with N = 1, 2, 3, ... written to
 * /proc/self/task/<tid>/fail-nth of the calling thread, so that the N-th
 * slab allocation that thread makes fails, until a call completes without
 * reaching its N-th allocation.  Every injected failure must give a clean
 * ENOMEM, or, where the failed allocation was optional (a PI record whose
 * absence only skips a boost), complete successfully; and leave nothing
 * behind: no fd after a failed create, objects in their previous state
 * (read back), no waiter left queued to swallow a later signal, and a
 * waiter started afterwards is still woken.  Every run that was not
 * disturbed must give exactly the normal result, boosts included.
 *
 * failslab is set up for fail-nth only: ignore-gfp-wait N (the driver
 * allocates with GFP_KERNEL_ACCOUNT, which may sleep), probability 0 (no
 * random failures anywhere else), verbose 0 (no "Call Trace" in dmesg);
 * the previous settings are restored at exit.
 *
 * Each test prints the number of injected failures of its path; the last
 * one prints the total.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nt_chan.h"

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define MAX_N		200	/* no path makes this many allocations */
#define BOOST_PRIO	10	/* EVENT_SET_PI and RT waiters */
/*
 * Plain waits on this many objects: more than the driver's queue on the
 * stack holds (4, NTSYNC_Q_STACK_ENTRIES), so that they allocate their queue
 * from the ntsync_wait_q cache, the allocation their walks fail.  A wait on
 * 4 objects or fewer that boosts nobody allocates nothing, and its walk
 * would inject no failure.
 */
#define WALK_QUEUE	6

/* ---- failslab settings ------------------------------------------------ */

static const char *const knob_name[] = {
	"ignore-gfp-wait", "verbose", "probability", "interval", "times",
	"space", "task-filter",
};
static const char *const knob_want[] = { "N", "0", "0", "1", "-1", "0", "N" };
#define N_KNOBS (sizeof(knob_name) / sizeof(knob_name[0]))
static char knob_saved[N_KNOBS][32];

/* Totals over all tests, each of which runs in its own process. */
struct totals {
	atomic_uint injected;
	atomic_uint paths;
};
static struct totals *totals;

/* A one-line file (a knob, a sysfs value) into @buf, without the newline. */
static bool read_line(const char *path, char *buf, size_t size)
{
	if (!nt_read_small_file(path, buf, size))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static bool write_small(const char *path, const char *val)
{
	ssize_t len = (ssize_t)strlen(val);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, (size_t)len) == len;
	close(fd);
	return ok;
}

__attribute__((constructor)) static void walk_init(void)
{
	char path[128];

	totals = mmap(NULL, sizeof(*totals), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (totals == MAP_FAILED)
		totals = NULL;
	for (size_t i = 0; i < N_KNOBS; i++) {
		snprintf(path, sizeof(path), FAILSLAB "/%s", knob_name[i]);
		if (!read_line(path, knob_saved[i], sizeof(knob_saved[i])))
			knob_saved[i][0] = '\0';
	}
}

/* Runs in the runner process only (tests end with _exit()). */
__attribute__((destructor)) static void walk_fini(void)
{
	char path[128];

	for (size_t i = 0; i < N_KNOBS; i++) {
		if (!knob_saved[i][0])
			continue;
		snprintf(path, sizeof(path), FAILSLAB "/%s", knob_name[i]);
		write_small(path, knob_saved[i]);
	}
}

static void fi_setup(void)
{
	char path[128];

	if (access(FAILSLAB, F_OK))
		NT_FAIL("%s is missing: this test needs the debug kernel (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs mounted)",
			FAILSLAB);
	for (size_t i = 0; i < N_KNOBS; i++) {
		snprintf(path, sizeof(path), FAILSLAB "/%s", knob_name[i]);
		if (!write_small(path, knob_want[i]))
			NT_FAIL("cannot write %s to %s: %s", knob_want[i], path,
				strerror(errno));
	}
}

/* ---- fail-nth of the calling thread -------------------------------------- */

static int nth_open(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		NT_FAIL("%s: %s (needs CONFIG_FAULT_INJECTION)", path,
			strerror(errno));
	return fd;
}

static void nth_write(int nfd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nfd, buf, (size_t)len, 0) != len)
		NT_FAIL("writing fail-nth: %s", strerror(errno));
}

static unsigned int nth_read(int nfd)
{
	char buf[16];
	ssize_t n = pread(nfd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		NT_FAIL("reading fail-nth: %s", strerror(errno));
	buf[n] = '\0';
	return (unsigned int)strtoul(buf, NULL, 10);
}

/*
 * Arm: the n-th slab allocation of this thread from now on fails.  Nothing
 * may run between arming and the call under test but that call.
 */
#define ARMED(nfd, n, hit, call)					\
	({								\
		__typeof__(call) armed_ret_;				\
		int armed_err_;						\
		nth_write(nfd, n);					\
		armed_ret_ = (call);					\
		armed_err_ = errno;					\
		*(hit) = nth_read(nfd) == 0;				\
		nth_write(nfd, 0);					\
		errno = armed_err_;					\
		armed_ret_;						\
	})

static int armed_ioctl(int nfd, unsigned int n, int fd, unsigned long req,
		       void *arg, bool *hit)
{
	int ret = ARMED(nfd, n, hit, ioctl(fd, req, arg));

	return ret < 0 ? -errno : ret;
}

/* ---- Bookkeeping ---------------------------------------------------------- */

struct walk {
	const char *path;
	bool allocates_nothing;	/* its calls are expected not to allocate */
	unsigned int injected;	/* calls that met an injected failure */
	unsigned int enomem;	/* ... and failed with ENOMEM */
	unsigned int absorbed;	/* ... and succeeded (optional allocation) */
	long ref;		/* module refcount before the walk */
	int nfd;		/* fail-nth of the walking thread */
	int dev;		/* the walk's device */
};

/*
 * An injected failure hit the call: it must have failed with ENOMEM or,
 * when @optional_ok, succeeded.  Returns true when the call failed.
 */
static bool injected(struct walk *wk, unsigned int n, int ret, bool optional_ok)
{
	wk->injected++;
	if (ret == -ENOMEM) {
		wk->enomem++;
		return true;
	}
	if (ret >= 0 || ret == -EOWNERDEAD) {
		wk->absorbed++;
		if (!optional_ok)
			NT_FAIL_SOFT("%s: failure injected at allocation %u, yet the call succeeded",
				     wk->path, n);
		return false;
	}
	NT_FAIL_SOFT("%s: failure injected at allocation %u gave %d (%s), expected ENOMEM",
		     wk->path, n, ret, strerror(-ret));
	return true;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		NT_FAIL("/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static long modref(void)
{
	char buf[32];

	return read_line("/sys/module/ntsync/refcnt", buf, sizeof(buf)) ?
	       strtol(buf, NULL, 10) : -1;
}

/* Everything was closed: no object or device may be left (a half-created
 * object pins its device, and both pin the module). */
static void check_modref(long before)
{
	long now = modref();

	if (before < 0)
		return;
	for (int i = 0; i < 200 && now != before; i++) {
		nt_sleep_ms(10);
		now = modref();
	}
	if (now != before)
		NT_FAIL_SOFT("module refcount %ld after closing everything, %ld before: an object or device outlived its fds (leaked by a failed call?)",
			     now, before);
}

/*
 * A walk: the module refcount is read first, then the walking thread's
 * fail-nth and a device are opened and failslab is set up.  Returns the
 * device; walk_end() closes both, checks the refcount and prints the
 * walk's counts (the steps ran up to N = @n).
 */
static int walk_begin(struct walk *wk, const char *path)
{
	memset(wk, 0, sizeof(*wk));
	wk->path = path;
	wk->ref = modref();
	wk->nfd = nth_open();
	wk->dev = nt_dev();
	fi_setup();
	return wk->dev;
}

static void walk_end(struct walk *wk, unsigned int n)
{
	close(wk->dev);
	close(wk->nfd);
	check_modref(wk->ref);
	nt_diag("%s: %u injected failures (%u ENOMEM, %u absorbed by optional allocations); undisturbed at N=%u",
		wk->path, wk->injected, wk->enomem, wk->absorbed, n);
	/*
	 * A walk whose calls never met an injected failure tested no
	 * failure path: it fails, unless its claim is that the calls
	 * allocate nothing.
	 */
	if (!wk->injected && !wk->allocates_nothing)
		NT_FAIL_SOFT("%s: no failure was injected (the calls made no slab allocation): the walk tested nothing",
			     wk->path);
	if (totals) {
		atomic_fetch_add(&totals->injected, wk->injected);
		atomic_fetch_add(&totals->paths, 1);
	}
}

/* The steps of a walk: N = 1, 2, ... (asserted <= MAX_N), until the body
 * breaks out once a call completed without reaching its N-th allocation. */
static bool nth_in_range(unsigned int n)
{
	NT_ASSERT_LE(n, MAX_N);
	return true;
}

#define for_each_nth(n) for ((n) = 1; nth_in_range(n); (n)++)

/* ---- Scheduling --------------------------------------------------------- */

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void get_sched(pid_t tid, int *policy, int *prio)
{
	struct sched_param sp;

	*policy = sched_getscheduler(tid);
	if (*policy < 0 || sched_getparam(tid, &sp))
		NT_FAIL("sched_getscheduler(%d): %s", (int)tid, strerror(errno));
	*policy &= ~SCHED_RESET_ON_FORK;
	*prio = sp.sched_priority;
}

#define EXPECT_SCHED(tid, pol, pr, who) \
	expect_sched(__FILE__, __LINE__, tid, pol, pr, who)
/* A waiter's scheduling when it ended (after its drain wait). */
#define EXPECT_SCHED_AFTER(f, pol, pr, who)				\
	do {								\
		if ((f)->after_policy != (pol) || (f)->after_prio != (pr)) \
			NT_FAIL_SOFT("%s ended at policy %d prio %d, expected policy %d prio %d", \
				     who, (f)->after_policy, (f)->after_prio, \
				     (pol), (pr));			\
	} while (0)
static void expect_sched(const char *file, int line, pid_t tid, int policy,
			 int prio, const char *who)
{
	int p, q;

	get_sched(tid, &p, &q);
	if (p != policy || q != prio)
		nt_fail_msg(file, line, false,
			    "%s (tid %d) runs at policy %d prio %d, expected policy %d prio %d",
			    who, (int)tid, p, q, policy, prio);
}

static bool sched_is(pid_t tid, int policy, int prio)
{
	int p, q;

	get_sched(tid, &p, &q);
	return p == policy && q == prio;
}

/* ---- Waiter threads --------------------------------------------------------- */

struct fwait {
	struct nt_thread th;
	/* the wait */
	int dev;
	bool all;
	int fds[WALK_QUEUE];
	uint32_t count;
	uint32_t owner;
	uint64_t timeout;
	uint32_t pad;		/* uring_fd */
	/* AGGREGATE_WAIT instead: fds[i] is an object, or a file if i is in
	 * file_mask (polled for POLLIN) */
	bool agg;
	uint32_t file_mask;
	int policy, prio;	/* the thread's own scheduling */
	unsigned int nth;	/* fail its nth allocation in the wait; 0: no */
	bool linger;		/* stay after the wait until fwait_finish() */
	int drain_fd;		/* then: a try-wait on it ends any boost */
	/* results */
	int ret;
	uint32_t index;		/* fired_index for AGGREGATE_WAIT */
	uint32_t events;	/* fired_events */
	bool hit;
	atomic_bool waited;
	int after_policy, after_prio;	/* own scheduling at the end */
	sem_t go_away;
};

static void *fwait_main(void *p)
{
	struct fwait *f = p;
	struct ntsync_wait_args a;
	unsigned long req = f->all ? NTSYNC_IOC_WAIT_ALL : NTSYNC_IOC_WAIT_ANY;
	int nfd = nth_open();

	if (f->policy != SCHED_OTHER) {
		struct sched_param sp = { .sched_priority = f->prio };

		if (sched_setscheduler(0, f->policy, &sp))
			NT_FAIL("sched_setscheduler(%d, %d): %s", f->policy,
				f->prio, strerror(errno));
	}
	if (f->agg) {
		struct ntsync_aggregate_source src[4];
		struct ntsync_aggregate_wait_args g;

		memset(src, 0, sizeof(src));
		for (uint32_t i = 0; i < f->count; i++) {
			bool file = f->file_mask & (1u << i);

			src[i].type = file ? NTSYNC_AGG_FD : NTSYNC_AGG_OBJECT;
			src[i].events = file ? POLLIN : 0;
			src[i].fd = (uint32_t)f->fds[i];
		}
		memset(&g, 0, sizeof(g));
		g.timeout = f->timeout;
		g.sources = (uint64_t)(uintptr_t)src;
		g.nb_sources = f->count;
		g.owner = f->owner;
		g.fired_index = NT_POISON;
		g.fired_events = NT_POISON;
		req = NTSYNC_IOC_AGGREGATE_WAIT;
		if (f->nth)
			f->ret = armed_ioctl(nfd, f->nth, f->dev, req, &g,
					     &f->hit);
		else
			f->ret = nt_ioctl(f->dev, req, &g);
		f->index = g.fired_index;
		f->events = g.fired_events;
	} else {
		memset(&a, 0, sizeof(a));
		a.timeout = f->timeout;
		a.objs = (uint64_t)(uintptr_t)f->fds;
		a.count = f->count;
		a.owner = f->owner;
		a.pad = f->pad;
		a.index = NT_POISON;
		if (f->nth)
			f->ret = armed_ioctl(nfd, f->nth, f->dev, req, &a,
					     &f->hit);
		else
			f->ret = nt_ioctl(f->dev, req, &a);
		f->index = a.index;
	}
	atomic_store(&f->waited, true);
	if (f->linger) {
		while (sem_wait(&f->go_away) && errno == EINTR)
			;
		if (f->drain_fd) {
			memset(&a, 0, sizeof(a));
			a.objs = (uint64_t)(uintptr_t)&f->drain_fd;
			a.count = 1;
			a.owner = f->owner;
			nt_ioctl(f->dev, NTSYNC_IOC_WAIT_ANY, &a);
		}
	}
	get_sched(0, &f->after_policy, &f->after_prio);
	close(nfd);
	return NULL;
}

static void fwait_init(struct fwait *f, int dev, bool all, const int *fds,
		       uint32_t count, uint32_t owner)
{
	memset(f, 0, sizeof(*f));
	NT_ASSERT_LE(count, WALK_QUEUE);
	f->dev = dev;
	f->all = all;
	memcpy(f->fds, fds, count * sizeof(int));
	f->count = count;
	f->owner = owner;
	f->timeout = NTSYNC_TIMEOUT_INFINITE;
	f->policy = SCHED_OTHER;
	f->ret = 1;
	if (sem_init(&f->go_away, 0, 0))
		NT_FAIL("sem_init: %s", strerror(errno));
}

/* Until thread @tid sleeps in an ioctl (true) or sets @done (false). */
static bool settle(pid_t tid, atomic_bool *done)
{
	uint64_t start = nt_mono_ns();

	for (;;) {
		if (atomic_load(done))
			return false;
		if (nt_is_blocked(tid))
			return !atomic_load(done);
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("thread %d neither blocked nor returned",
				(int)tid);
		nt_sleep_ms(1);
	}
}

/* @done must be set soon (the call must return: no lost wakeup). */
static void await(pid_t tid, atomic_bool *done)
{
	uint64_t start = nt_mono_ns();

	while (!atomic_load(done)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("thread %d was not woken (lost wakeup?)",
				(int)tid);
		nt_sleep_ms(1);
	}
}

/* Start; true when the waiter then sleeps in its wait, false when the wait
 * already returned. */
static bool fwait_start(struct fwait *f)
{
	nt_thread_start(&f->th, fwait_main, f);
	return settle(f->th.tid, &f->waited);
}

/* The wait must return soon; returns its result. */
static int fwait_result(struct fwait *f)
{
	await(f->th.tid, &f->waited);
	return f->ret;
}

#define CHECK_WAITING(f) check_waiting(__FILE__, __LINE__, f)
static void check_waiting(const char *file, int line, struct fwait *f)
{
	if (atomic_load(&f->waited) || !nt_is_blocked(f->th.tid))
		nt_fail_msg(file, line, true,
			    "waiter %d should still wait (returned: %d, result %d)",
			    (int)f->th.tid, (int)atomic_load(&f->waited), f->ret);
}

static void fwait_finish(struct fwait *f)
{
	sem_post(&f->go_away);
	nt_thread_join(&f->th);
	sem_destroy(&f->go_away);
}

/* A mutex owned by the calling thread (acquired by a wait, so that its
 * owner task is known to the driver's PI). */
static int owned_mutex(int dev, uint32_t owner)
{
	int m = nt_mutex(dev, 0, 0);
	uint32_t index;

	NT_ASSERT_OK(ntsync_wait_any(dev, &m, 1, owner, 0, 0, 0, &index));
	NT_CHECK_MUTEX(m, owner, 1);
	return m;
}

static void set_pi(int event, uint32_t prio)
{
	NT_ASSERT_OK(ntsync_event_set_pi(event, SCHED_FIFO, prio));
}

/*
 * Fill objs[@count..WALK_QUEUE-1] with objects that change nothing in a
 * wait's outcome: unsignaled semaphores for WAIT_ANY, set manual events
 * (which WAIT_ALL leaves set) for WAIT_ALL.  Returns WALK_QUEUE.
 */
static uint32_t pad_wait(int dev, int *objs, uint32_t count, bool all)
{
	for (uint32_t i = count; i < WALK_QUEUE; i++)
		objs[i] = all ? nt_event(dev, 1, 1) : nt_sem(dev, 0, 1);
	return WALK_QUEUE;
}

static void close_objs(const int *objs, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		close(objs[i]);
}

/* ---- Creating objects and devices ------------------------------------------- */

static void walk_create(const char *path, int kind)
{
	static const unsigned long req[] = { NTSYNC_IOC_CREATE_SEM,
					     NTSYNC_IOC_CREATE_MUTEX,
					     NTSYNC_IOC_CREATE_EVENT };
	static const uint32_t arg[][2] = { { 2, 5 }, { 9, 3 }, { 1, 1 } };
	struct walk wk;
	int dev = walk_begin(&wk, path);
	unsigned int n;

	for_each_nth(n) {
		uint32_t v[2] = { arg[kind][0], arg[kind][1] };
		int before = count_fds(), fd;
		bool hit;

		fd = armed_ioctl(wk.nfd, n, dev, req[kind], v, &hit);
		if (hit && injected(&wk, n, fd, true)) {
			/* Nothing half-made: no new fd. */
			NT_EXPECT_EQ(count_fds(), before);
			continue;
		}
		NT_ASSERT_GE(fd, 0);
		NT_EXPECT_EQ(count_fds(), before + 1);
		if (kind == 0)
			NT_CHECK_SEM(fd, 2, 5);
		else if (kind == 1)
			NT_CHECK_MUTEX(fd, 9, 3);
		else
			NT_CHECK_EVENT(fd, 1, 1);
		close(fd);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(create_sem, 120)
{
	walk_create("create_sem", 0);
}

NT_TEST_TIMEOUT(create_mutex, 120)
{
	walk_create("create_mutex", 1);
}

NT_TEST_TIMEOUT(create_event, 120)
{
	walk_create("create_event", 2);
}

NT_TEST_TIMEOUT(device_open, 120)
{
	struct walk wk;
	unsigned int n;

	walk_begin(&wk, "device_open");
	for_each_nth(n) {
		int before = count_fds(), fd, sem;
		bool hit;

		fd = ARMED(wk.nfd, n, &hit, open(NTSYNC_DEVICE_PATH,
						 O_RDONLY | O_CLOEXEC));
		if (hit && injected(&wk, n, fd < 0 ? -errno : fd, true)) {
			NT_EXPECT_EQ(count_fds(), before);
			continue;
		}
		NT_ASSERT_GE(fd, 0);
		/* A working device. */
		sem = nt_sem(fd, 1, 1);
		NT_CHECK_SEM(sem, 1, 1);
		close(sem);
		close(fd);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

/* ---- Waits: fast paths ------------------------------------------------------- */

/*
 * Waits satisfied at once, as owner 7.  WAIT_ANY on an empty semaphore and
 * a free mutex takes the mutex (index 1); WAIT_ALL (@all) on a semaphore
 * of 1, a free mutex and a set manual event takes all three (index 0).  A
 * failed wait takes nothing: the objects are still there to be taken.
 * Padded to WALK_QUEUE objects (pad_wait()).
 */
static void walk_wait_fast(const char *path, bool all)
{
	unsigned long req = all ? NTSYNC_IOC_WAIT_ALL : NTSYNC_IOC_WAIT_ANY;
	uint32_t sem_count = all ? 1 : 0, sem_max = all ? 2 : 1;
	struct walk wk;
	int dev = walk_begin(&wk, path);
	unsigned int n;

	for_each_nth(n) {
		int objs[WALK_QUEUE] = { nt_sem(dev, sem_count, sem_max),
					 nt_mutex(dev, 0, 0),
					 all ? nt_event(dev, 1, 1) : -1 };
		uint32_t count = pad_wait(dev, objs, all ? 3 : 2, all);
		struct ntsync_wait_args a;
		bool hit;
		int ret;

		nt_wait_args_init(&a, objs, count, 7, 0);
		a.timeout = NT_NOW_DEADLINE;
		ret = armed_ioctl(wk.nfd, n, dev, req, &a, &hit);
		if (hit && injected(&wk, n, ret, true)) {
			NT_EXPECT_EQ(a.index, NT_POISON);
			NT_CHECK_SEM(objs[0], sem_count, sem_max);
			NT_CHECK_MUTEX(objs[1], 0, 0);
			if (all)
				NT_CHECK_EVENT(objs[2], 1, 1);
			/* Still there to be taken. */
			nt_wait_args_init(&a, objs, count, 7, 0);
			a.timeout = NT_NOW_DEADLINE;
			NT_ASSERT_OK(nt_wait_raw(dev, all, &a));
		} else {
			NT_ASSERT_OK(ret);
		}
		NT_EXPECT_EQ(a.index, all ? 0 : 1);
		NT_CHECK_SEM(objs[0], 0, sem_max);
		NT_CHECK_MUTEX(objs[1], 7, 1);
		if (all)
			NT_CHECK_EVENT(objs[2], 1, 1);
		close_objs(objs, count);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(wait_any_fast, 120)
{
	walk_wait_fast("wait_any_fast", false);
}

NT_TEST_TIMEOUT(wait_all_fast, 120)
{
	walk_wait_fast("wait_all_fast", true);
}

/* ---- Waits: blocking paths ----------------------------------------------------- */

/* WAIT_ANY that sleeps on a semaphore (padded: pad_wait()), woken by a
 * release. */
NT_TEST_TIMEOUT(wait_any_block, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "wait_any_block");
	unsigned int n;

	for_each_nth(n) {
		int objs[WALK_QUEUE] = { nt_sem(dev, 0, 1) }, sem = objs[0];
		uint32_t count = pad_wait(dev, objs, 1, false);
		struct fwait f, f2;

		fwait_init(&f, dev, false, objs, count, 1);
		f.nth = n;
		if (!fwait_start(&f)) {
			/* Failed before sleeping: it cannot have succeeded. */
			NT_ASSERT_TRUE(f.hit);
			injected(&wk, n, f.ret, false);
			fwait_finish(&f);
			/* No queued leftover swallows the count... */
			nt_release(sem, 1);
			NT_CHECK_SEM(sem, 1, 1);
			/* ...and a later waiter is woken. */
			NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 1, 0, 0, 0,
						     &f.index));
			fwait_init(&f2, dev, false, objs, count, 1);
			NT_ASSERT_TRUE(fwait_start(&f2));
			nt_release(sem, 1);
			NT_EXPECT_EQ(fwait_result(&f2), 0);
			NT_CHECK_SEM(sem, 0, 1);
			fwait_finish(&f2);
			close_objs(objs, count);
			continue;
		}
		nt_release(sem, 1);
		NT_EXPECT_EQ(fwait_result(&f), 0);
		NT_EXPECT_EQ(f.index, 0);
		NT_CHECK_SEM(sem, 0, 1);
		fwait_finish(&f);
		close_objs(objs, count);
		if (f.hit) {
			injected(&wk, n, f.ret, true);
			continue;
		}
		break;
	}
	walk_end(&wk, n);
}

/*
 * A real-time waiter blocks on a mutex the main thread owns: the wait
 * allocates its queue and a PI record for the owner (optional: without it
 * the owner is not boosted).  Undisturbed, the owner runs at the waiter's
 * priority until it unlocks.
 */
static void walk_block_pi(const char *path, bool all)
{
	struct walk wk;
	pid_t me = gettid_();
	int dev = walk_begin(&wk, path);
	unsigned int n;

	for_each_nth(n) {
		int sem = nt_sem(dev, 0, 1), m = owned_mutex(dev, 1);
		int objs[2] = { m, sem };
		bool boosted, failed = false, hit;
		struct fwait f;

		fwait_init(&f, dev, all, objs, all ? 2 : 1, 2);
		f.policy = SCHED_FIFO;
		f.prio = BOOST_PRIO;
		f.nth = n;
		if (!fwait_start(&f)) {
			NT_ASSERT_TRUE(f.hit);
			injected(&wk, n, f.ret, false);
			failed = true;
			fwait_finish(&f);
			NT_CHECK_MUTEX(m, 1, 1);
			NT_CHECK_SEM(sem, 0, 1);
			EXPECT_SCHED(me, SCHED_OTHER, 0, "owner after a failed wait");
			/* A later waiter blocks, boosts, and is woken. */
			fwait_init(&f, dev, all, objs, all ? 2 : 1, 2);
			f.policy = SCHED_FIFO;
			f.prio = BOOST_PRIO;
			NT_ASSERT_TRUE(fwait_start(&f));
			EXPECT_SCHED(me, SCHED_FIFO, BOOST_PRIO, "owner");
		}
		boosted = sched_is(me, SCHED_FIFO, BOOST_PRIO);
		if (all) {
			nt_release(sem, 1);
			CHECK_WAITING(&f);
			NT_CHECK_SEM(sem, 1, 1);
		}
		NT_EXPECT_EQ(nt_unlock(m, 1), 1);
		NT_EXPECT_EQ(fwait_result(&f), 0);
		NT_EXPECT_EQ(f.index, 0);
		NT_CHECK_MUTEX(m, 2, 1);
		NT_CHECK_SEM(sem, 0, 1);
		EXPECT_SCHED(me, SCHED_OTHER, 0, "owner after unlocking");
		hit = f.hit;
		fwait_finish(&f);
		close(m);
		close(sem);
		if (failed)
			continue;
		if (hit) {
			/* Only an optional allocation can fail this late. */
			injected(&wk, n, f.ret, true);
			if (!boosted)
				nt_diag("%s: N=%u: owner not boosted (PI record allocation failed)",
					path, n);
			continue;
		}
		if (!boosted)
			NT_FAIL_SOFT("%s: N=%u: the owner was not boosted, no failure injected",
				     path, n);
		break;
	}
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(wait_any_block_mutex_pi, 120)
{
	walk_block_pi("wait_any_block_mutex_pi", false);
}

NT_TEST_TIMEOUT(wait_all_block_mutex_pi, 120)
{
	walk_block_pi("wait_all_block_mutex_pi", true);
}

/* ---- Mutex release with a PI boost pending --------------------------------- */

/*
 * The new owner's boost record is allocated by whichever of the releasing
 * thread and the woken owner re-evaluates the mutex first (both are
 * correct).  When the woken owner wins, the release makes no allocation and
 * its step meets no injected failure (seen 1 run in 30 with both guest
 * CPUs loaded).  Repeat such a step, bounded, until the walk met one;
 * true to repeat step *@n.
 */
#define UNMET_REPEATS	20
static bool repeat_unmet_step(const struct walk *wk, unsigned int *n,
			      unsigned int *unmet)
{
	if (wk->injected || ++*unmet > UNMET_REPEATS)
		return false;
	--*n;		/* for_each_nth() steps it back */
	return true;
}

/*
 * Main owns mutex M.  B (FIFO 5) waits for M alone; C (FIFO 20) waits for M
 * and an unsignaled event E.  Main is boosted to 20.  Main's UNLOCK (or
 * KILL) hands M to B, since C cannot complete; C still waits for M, so B
 * must now be boosted to 20: a PI record allocated inside main's ioctl
 * (optional: without it the boost is skipped).  Then E is set and B lets M
 * go: C takes both and B falls back to its own FIFO 5.
 */
static void walk_release_pi(const char *path, bool kill)
{
	struct walk wk;
	pid_t me = gettid_();
	int dev = walk_begin(&wk, path);
	unsigned int n, unmet = 0;

	for_each_nth(n) {
		int m = owned_mutex(dev, 1), e = nt_event(dev, 0, 0);
		int objs[2] = { m, e };
		struct ntsync_mutex_args ua = { .owner = 1, .count = NT_POISON };
		uint32_t owner = 1;
		struct fwait b, c;
		bool hit, b_boosted;
		int ret;

		fwait_init(&b, dev, false, &m, 1, 2);
		b.policy = SCHED_FIFO;
		b.prio = 5;
		b.linger = true;
		NT_ASSERT_TRUE(fwait_start(&b));
		fwait_init(&c, dev, true, objs, 2, 3);
		c.policy = SCHED_FIFO;
		c.prio = 20;
		c.linger = true;
		NT_ASSERT_TRUE(fwait_start(&c));
		EXPECT_SCHED(me, SCHED_FIFO, 20, "owner with two RT waiters");

		if (kill)
			ret = armed_ioctl(wk.nfd, n, m, NTSYNC_IOC_MUTEX_KILL,
					  &owner, &hit);
		else
			ret = armed_ioctl(wk.nfd, n, m, NTSYNC_IOC_MUTEX_UNLOCK,
					  &ua, &hit);
		if (hit && injected(&wk, n, ret, true)) {
			/* Failed: nothing changed, nobody woken. */
			NT_CHECK_MUTEX(m, 1, 1);
			CHECK_WAITING(&b);
			CHECK_WAITING(&c);
			EXPECT_SCHED(me, SCHED_FIFO, 20, "owner after a failed release");
			/* A release now still wakes B. */
			if (kill)
				NT_ASSERT_OK(ntsync_mutex_kill(m, 1));
			else
				NT_EXPECT_EQ(nt_unlock(m, 1), 1);
		} else {
			NT_ASSERT_OK(ret);
			if (!kill)
				NT_EXPECT_EQ(ua.count, 1);
		}
		NT_EXPECT_EQ(fwait_result(&b), kill ? -EOWNERDEAD : 0);
		NT_EXPECT_EQ(b.index, 0);
		NT_CHECK_MUTEX(m, 2, 1);
		CHECK_WAITING(&c);
		EXPECT_SCHED(me, SCHED_OTHER, 0, "former owner");
		b_boosted = sched_is(b.th.tid, SCHED_FIFO, 20);
		if (!hit && !b_boosted)
			NT_FAIL_SOFT("%s: N=%u: the new owner was not boosted, no failure injected",
				     path, n);
		if (hit && !b_boosted && !sched_is(b.th.tid, SCHED_FIFO, 5))
			NT_FAIL_SOFT("%s: N=%u: the new owner runs neither boosted nor at its own priority",
				     path, n);

		/* C completes once E is set and B lets M go. */
		nt_set(e);
		CHECK_WAITING(&c);
		NT_EXPECT_EQ(nt_unlock(m, 2), 1);
		NT_EXPECT_EQ(fwait_result(&c), 0);
		NT_CHECK_MUTEX(m, 3, 1);
		NT_CHECK_EVENT(e, 0, 0);
		EXPECT_SCHED(b.th.tid, SCHED_FIFO, 5, "B after letting go");
		fwait_finish(&b);
		fwait_finish(&c);
		close(m);
		close(e);
		if (!hit && !repeat_unmet_step(&wk, &n, &unmet))
			break;
	}
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(mutex_unlock_pi_pending, 120)
{
	walk_release_pi("mutex_unlock_pi_pending", false);
}

NT_TEST_TIMEOUT(mutex_kill_pi_pending, 120)
{
	walk_release_pi("mutex_kill_pi_pending", true);
}

/* ---- EVENT_SET_PI and the waits that consume it ----------------------------- */

/* EVENT_SET_PI allocates the record it stages; a waiter is blocked. */
NT_TEST_TIMEOUT(event_set_pi, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "event_set_pi"), drain = nt_event(dev, 0, 0);
	unsigned int n;

	for_each_nth(n) {
		int e = nt_event(dev, 0, 0);
		struct ntsync_event_set_pi_args pa = {
			.policy = SCHED_FIFO, .prio = BOOST_PRIO };
		struct fwait w;
		bool hit;
		int ret;

		fwait_init(&w, dev, false, &e, 1, 1);
		w.linger = true;
		w.drain_fd = drain;
		NT_ASSERT_TRUE(fwait_start(&w));
		ret = armed_ioctl(wk.nfd, n, e, NTSYNC_IOC_EVENT_SET_PI, &pa,
				  &hit);
		if (hit && injected(&wk, n, ret, true)) {
			/* Not signaled, nobody woken, nothing staged. */
			NT_CHECK_EVENT(e, 0, 0);
			CHECK_WAITING(&w);
			nt_set(e);
			NT_EXPECT_EQ(fwait_result(&w), 0);
			EXPECT_SCHED(w.th.tid, SCHED_OTHER, 0,
				     "waiter woken by a plain set");
		} else {
			NT_ASSERT_OK(ret);
			NT_EXPECT_EQ(fwait_result(&w), 0);
			if (hit && sched_is(w.th.tid, SCHED_OTHER, 0))
				nt_diag("event_set_pi: N=%u: signal without boost",
					n);
			else
				EXPECT_SCHED(w.th.tid, SCHED_FIFO, BOOST_PRIO,
					     "waiter that consumed EVENT_SET_PI");
		}
		NT_EXPECT_EQ(w.index, 0);
		NT_CHECK_EVENT(e, 0, 0);
		fwait_finish(&w);	/* its next wait ends the boost */
		EXPECT_SCHED_AFTER(&w, SCHED_OTHER, 0, "waiter after its next wait");
		close(e);
		if (!hit)
			break;
	}
	close(drain);
	walk_end(&wk, n);
}

/*
 * A wait consumes a signal staged by EVENT_SET_PI.  @block: the waiter
 * sleeps first and the signal comes later; otherwise the event is already
 * set.  @all: WAIT_ALL on the event and a semaphore.
 */
static void walk_consume(const char *path, bool block, bool all)
{
	struct walk wk;
	int dev = walk_begin(&wk, path), drain = nt_event(dev, 0, 0);
	unsigned int n;

	for_each_nth(n) {
		int e = nt_event(dev, 0, 0), sem = nt_sem(dev, 1, 1);
		/* WAIT_ALL on the event and the semaphore, WAIT_ANY on the
		 * event alone; both padded (pad_wait()). */
		int objs[WALK_QUEUE] = { e, sem };
		uint32_t own = all ? 2 : 1;
		uint32_t count = pad_wait(dev, objs, own, all);
		struct fwait w, w2;
		bool sleeping;

		if (!block)
			set_pi(e, BOOST_PRIO);
		fwait_init(&w, dev, all, objs, count, 1);
		w.nth = n;
		w.linger = true;
		w.drain_fd = drain;
		if (!block)
			w.timeout = NT_NOW_DEADLINE;
		sleeping = fwait_start(&w);
		if (block && sleeping)
			set_pi(e, BOOST_PRIO);
		if (!block || sleeping)
			fwait_result(&w);
		if (w.hit && injected(&wk, n, w.ret, true)) {
			/* The signal, its boost and the semaphore stay. */
			NT_EXPECT_EQ(w.index, NT_POISON);
			fwait_finish(&w);
			if (block)
				set_pi(e, BOOST_PRIO);
			NT_CHECK_EVENT(e, 0, 1);
			NT_CHECK_SEM(sem, 1, 1);
			/* Another waiter takes them, boost included. */
			fwait_init(&w2, dev, all, objs, count, 1);
			w2.linger = true;
			w2.drain_fd = drain;
			w2.timeout = NT_NOW_DEADLINE;
			NT_ASSERT_FALSE(fwait_start(&w2));
			NT_EXPECT_EQ(fwait_result(&w2), 0);
			EXPECT_SCHED(w2.th.tid, SCHED_FIFO, BOOST_PRIO,
				     "waiter that consumed the staged boost");
			NT_CHECK_EVENT(e, 0, 0);
			NT_CHECK_SEM(sem, all ? 0 : 1, 1);
			fwait_finish(&w2);
			EXPECT_SCHED_AFTER(&w2, SCHED_OTHER, 0,
					   "waiter after its next wait");
			close_objs(objs + own, count - own);
			close(e);
			close(sem);
			continue;
		}
		NT_EXPECT_EQ(w.ret, 0);
		NT_EXPECT_EQ(w.index, 0);
		NT_CHECK_EVENT(e, 0, 0);
		NT_CHECK_SEM(sem, all ? 0 : 1, 1);
		if (w.hit && sched_is(w.th.tid, SCHED_OTHER, 0))
			nt_diag("%s: N=%u: consumed without boost", path, n);
		else
			EXPECT_SCHED(w.th.tid, SCHED_FIFO, BOOST_PRIO,
				     "waiter that consumed EVENT_SET_PI");
		fwait_finish(&w);
		/* Its next wait ended the boost. */
		EXPECT_SCHED_AFTER(&w, SCHED_OTHER, 0, "waiter after its next wait");
		close_objs(objs + own, count - own);
		close(e);
		close(sem);
		if (!w.hit)
			break;
	}
	close(drain);
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(wait_any_consumes_set_pi, 120)
{
	walk_consume("wait_any_consumes_set_pi", false, false);
}

NT_TEST_TIMEOUT(wait_any_block_consumes_set_pi, 120)
{
	walk_consume("wait_any_block_consumes_set_pi", true, false);
}

NT_TEST_TIMEOUT(wait_all_consumes_set_pi, 120)
{
	walk_consume("wait_all_consumes_set_pi", false, true);
}

NT_TEST_TIMEOUT(wait_all_block_consumes_set_pi, 120)
{
	walk_consume("wait_all_block_consumes_set_pi", true, true);
}

/* ---- Channels ------------------------------------------------------------------ */

#define PAYLOAD		0x1234u
#define REPLY_OFF	0x5678u

static int new_channel(int dev, uint32_t depth)
{
	struct ntsync_channel_create_args ca = { .max_depth = depth };
	int ch = nt_ioctl(dev, NTSYNC_IOC_CREATE_CHANNEL, &ca);

	if (ch < 0)
		NT_FAIL("CREATE_CHANNEL: %s", strerror(-ch));
	return ch;
}

/* A sender (SEND_PI until replied) or a receiver (RECV2, then REPLY). */
struct fchan {
	struct nt_thread th;
	int ch;
	bool send;
	uint32_t prio;		/* sender: SCHED_FIFO prio, 0 none */
	unsigned int nth;	/* fail the nth allocation of the call */
	/* results */
	int ret;
	bool hit;
	atomic_bool done;
	struct ntsync_channel_recv2_args msg;
	int boost_policy, boost_prio;	/* receiver: once it received */
	int reply_ret;
	int after_policy, after_prio;	/* receiver: after its REPLY */
};

static void *fchan_main(void *p)
{
	struct fchan *c = p;
	int nfd = nth_open();

	if (c->send) {
		struct ntsync_channel_send_args a = {
			.policy = c->prio ? SCHED_FIFO : 0, .prio = c->prio,
			.payload_off = PAYLOAD, .reply_off = REPLY_OFF };

		if (c->nth)
			c->ret = armed_ioctl(nfd, c->nth, c->ch,
					     NTSYNC_IOC_CHANNEL_SEND_PI, &a,
					     &c->hit);
		else
			c->ret = nt_ioctl(c->ch, NTSYNC_IOC_CHANNEL_SEND_PI, &a);
	} else {
		memset(&c->msg, 0, sizeof(c->msg));
		if (c->nth)
			c->ret = armed_ioctl(nfd, c->nth, c->ch,
					     NTSYNC_IOC_CHANNEL_RECV2, &c->msg,
					     &c->hit);
		else
			c->ret = nt_ioctl(c->ch, NTSYNC_IOC_CHANNEL_RECV2,
					  &c->msg);
		if (!c->ret) {
			get_sched(0, &c->boost_policy, &c->boost_prio);
			c->reply_ret = nt_ioctl(c->ch, NTSYNC_IOC_CHANNEL_REPLY,
						&c->msg.entry_id);
			get_sched(0, &c->after_policy, &c->after_prio);
		}
	}
	atomic_store(&c->done, true);
	close(nfd);
	return NULL;
}

static bool fchan_start(struct fchan *c, int ch, bool send, uint32_t prio,
			unsigned int nth)
{
	memset(c, 0, sizeof(*c));
	c->ch = ch;
	c->send = send;
	c->prio = prio;
	c->nth = nth;
	c->ret = 1;
	nt_thread_start(&c->th, fchan_main, c);
	return settle(c->th.tid, &c->done);
}

static int fchan_result(struct fchan *c)
{
	await(c->th.tid, &c->done);
	nt_thread_join(&c->th);
	return c->ret;
}

/* A receiver got the request of a SEND_PI at prio @prio and replied. */
static void check_served(struct fchan *r, pid_t sender, uint32_t prio,
			 bool boost_required)
{
	NT_EXPECT_EQ(r->ret, 0);
	NT_EXPECT_EQ(r->msg.payload_off, PAYLOAD);
	NT_EXPECT_EQ(r->msg.reply_off, REPLY_OFF);
	NT_EXPECT_EQ(r->msg.prio, prio);
	NT_EXPECT_EQ(r->msg.sender_tid, (uint32_t)sender);
	NT_EXPECT_EQ(r->reply_ret, 0);
	if (boost_required || r->boost_policy != SCHED_OTHER) {
		NT_EXPECT_EQ(r->boost_policy, prio ? SCHED_FIFO : SCHED_OTHER);
		NT_EXPECT_EQ(r->boost_prio, (int)prio);
	}
	/* REPLY ends the boost of the request it served. */
	NT_EXPECT_EQ(r->after_policy, SCHED_OTHER);
	NT_EXPECT_EQ(r->after_prio, 0);
}

NT_TEST_TIMEOUT(create_channel, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "create_channel");
	unsigned int n;

	for_each_nth(n) {
		struct ntsync_channel_create_args ca = { .max_depth = 3 };
		struct ntsync_channel_recv2_args m;
		int before = count_fds(), fd;
		bool hit;

		fd = armed_ioctl(wk.nfd, n, dev, NTSYNC_IOC_CREATE_CHANNEL, &ca,
				 &hit);
		if (hit && injected(&wk, n, fd, true)) {
			NT_EXPECT_EQ(count_fds(), before);
			continue;
		}
		NT_ASSERT_GE(fd, 0);
		NT_EXPECT_EQ(count_fds(), before + 1);
		/* A working, empty channel. */
		memset(&m, 0, sizeof(m));
		NT_EXPECT_ERRNO(nt_ioctl(fd, NTSYNC_IOC_CHANNEL_TRY_RECV2, &m),
				EAGAIN);
		close(fd);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

/*
 * SEND_PI to a parked receiver: the sender allocates its entry (ENOMEM
 * without it) and a PI record for the receiver (optional: the boost is
 * skipped).  The receiver runs at the sender's priority until its REPLY.
 */
NT_TEST_TIMEOUT(channel_send_pi, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "channel_send_pi");
	unsigned int n;

	for_each_nth(n) {
		int ch = new_channel(dev, 4);
		struct ntsync_channel_recv2_args m;
		struct fchan r, s, s2;
		bool hit;

		NT_ASSERT_TRUE(fchan_start(&r, ch, false, 0, 0));
		fchan_start(&s, ch, true, BOOST_PRIO, n);
		fchan_result(&s);
		hit = s.hit;
		if (hit && injected(&wk, n, s.ret, true)) {
			/* Nothing queued, the receiver still waits... */
			NT_ASSERT_FALSE(atomic_load(&r.done));
			NT_ASSERT_TRUE(nt_is_blocked(r.th.tid));
			/* ...and the next request reaches it. */
			fchan_start(&s2, ch, true, BOOST_PRIO, 0);
			NT_EXPECT_EQ(fchan_result(&s2), 0);
			fchan_result(&r);
			check_served(&r, s2.th.tid, BOOST_PRIO, true);
		} else {
			NT_EXPECT_EQ(s.ret, 0);
			fchan_result(&r);
			check_served(&r, s.th.tid, BOOST_PRIO, !hit);
		}
		memset(&m, 0, sizeof(m));
		NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_TRY_RECV2, &m),
				EAGAIN);
		close(ch);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

/* SEND_PI with nobody receiving: the request waits in the channel. */
NT_TEST_TIMEOUT(channel_send_pi_pending, 120)
{
	struct walk wk;
	pid_t me = gettid_();
	int dev = walk_begin(&wk, "channel_send_pi_pending");
	unsigned int n;

	for_each_nth(n) {
		int ch = new_channel(dev, 4);
		struct ntsync_channel_recv2_args m;
		struct fchan s;
		bool hit;

		memset(&m, 0, sizeof(m));
		if (!fchan_start(&s, ch, true, BOOST_PRIO, n)) {
			fchan_result(&s);
			NT_ASSERT_TRUE(s.hit);
			injected(&wk, n, s.ret, false);
			/* No half-queued request. */
			NT_EXPECT_ERRNO(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_TRY_RECV2,
						 &m), EAGAIN);
			close(ch);
			continue;
		}
		NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_TRY_RECV2, &m));
		NT_EXPECT_EQ(m.payload_off, PAYLOAD);
		NT_EXPECT_EQ(m.prio, BOOST_PRIO);
		EXPECT_SCHED(me, SCHED_FIFO, BOOST_PRIO, "receiver serving");
		NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REPLY, &m.entry_id));
		EXPECT_SCHED(me, SCHED_OTHER, 0, "receiver after its reply");
		NT_EXPECT_EQ(fchan_result(&s), 0);
		hit = s.hit;
		if (hit)
			injected(&wk, n, s.ret, true);
		close(ch);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

/* The receiver's side: RECV2/TRY_RECV2 allocate the receiver's own PI
 * record (optional); a failure must not lose the request. */
NT_TEST_TIMEOUT(channel_recv2, 120)
{
	struct walk wk;
	pid_t me = gettid_();
	int dev = walk_begin(&wk, "channel_recv2");
	unsigned int n;

	for_each_nth(n) {
		int ch = new_channel(dev, 4);
		struct ntsync_channel_recv2_args m;
		struct fchan s;
		bool hit;
		int ret;

		NT_ASSERT_TRUE(fchan_start(&s, ch, true, BOOST_PRIO, 0));
		memset(&m, 0, sizeof(m));
		ret = armed_ioctl(wk.nfd, n, ch, NTSYNC_IOC_CHANNEL_RECV2, &m,
				  &hit);
		if (hit && injected(&wk, n, ret, true)) {
			/* The request is still there to be taken. */
			memset(&m, 0, sizeof(m));
			NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_TRY_RECV2,
					      &m));
			EXPECT_SCHED(me, SCHED_FIFO, BOOST_PRIO, "receiver serving");
		} else {
			NT_ASSERT_OK(ret);
			if (!hit)
				EXPECT_SCHED(me, SCHED_FIFO, BOOST_PRIO,
					     "receiver serving");
			else if (sched_is(me, SCHED_OTHER, 0))
				nt_diag("channel_recv2: N=%u: served without boost",
					n);
		}
		NT_EXPECT_EQ(m.payload_off, PAYLOAD);
		NT_EXPECT_EQ(m.sender_tid, (uint32_t)s.th.tid);
		NT_ASSERT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_REPLY, &m.entry_id));
		EXPECT_SCHED(me, SCHED_OTHER, 0, "receiver after its reply");
		NT_EXPECT_EQ(fchan_result(&s), 0);
		close(ch);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(channel_register_thread, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "channel_register_thread");
	unsigned int n;

	for_each_nth(n) {
		int ch = new_channel(dev, 4);
		struct ntsync_channel_register_thread_args ra = {
			.tid = 4242, .token = 0x77 };
		uint32_t tid = 4242;
		uint64_t regs = nt_stat("channel_registrations");
		bool hit;
		int ret;

		ret = armed_ioctl(wk.nfd, n, ch,
				  NTSYNC_IOC_CHANNEL_REGISTER_THREAD, &ra, &hit);
		if (hit && injected(&wk, n, ret, true)) {
			/* Nothing half-registered (DEREGISTER of an absent
			 * tid succeeds too: the driver's gauge tells). */
			NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
		} else {
			NT_ASSERT_OK(ret);
			NT_EXPECT_EQ(nt_stat("channel_registrations"), regs + 1);
		}
		NT_EXPECT_OK(nt_ioctl(ch, NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD,
				      &tid));
		NT_EXPECT_EQ(nt_stat("channel_registrations"), regs);
		close(ch);
		if (!hit)
			break;
	}
	walk_end(&wk, n);
}

/* ---- AGGREGATE_WAIT and uring_fd ---------------------------------------------- */

NT_TEST_TIMEOUT(aggregate_wait_fast, 120)
{
	struct walk wk;
	int dev = walk_begin(&wk, "aggregate_wait_fast"), p[2];
	unsigned int n;

	NT_ASSERT_OK(pipe2(p, O_CLOEXEC));
	for_each_nth(n) {
		int sem = nt_sem(dev, 1, 1);
		struct ntsync_aggregate_source src[2] = {
			{ .type = NTSYNC_AGG_OBJECT, .fd = (uint32_t)sem },
			{ .type = NTSYNC_AGG_FD, .events = POLLIN,
			  .fd = (uint32_t)p[0] },
		};
		struct ntsync_aggregate_wait_args g = {
			.sources = (uint64_t)(uintptr_t)src, .nb_sources = 2,
			.owner = 1, .fired_index = NT_POISON,
			.fired_events = NT_POISON };
		bool hit;
		int ret;

		ret = armed_ioctl(wk.nfd, n, dev, NTSYNC_IOC_AGGREGATE_WAIT, &g,
				  &hit);
		if (hit && injected(&wk, n, ret, true)) {
			NT_EXPECT_EQ(g.fired_index, NT_POISON);
			NT_CHECK_SEM(sem, 1, 1);
			close(sem);
			continue;
		}
		NT_ASSERT_OK(ret);
		NT_EXPECT_EQ(g.fired_index, 0);
		NT_EXPECT_EQ(g.fired_events, 0);	/* an object source */
		NT_CHECK_SEM(sem, 0, 1);
		close(sem);
		if (!hit)
			break;
	}
	close(p[0]);
	close(p[1]);
	walk_end(&wk, n);
}

/*
 * Blocking waits that also watch a file: AGGREGATE_WAIT on a semaphore and
 * a pipe, or WAIT_ANY with an eventfd as uring_fd.  They allocate poll
 * registrations when they go to sleep.  @uring: woken through the eventfd,
 * else through the semaphore.
 */
static void walk_watch_block(const char *path, bool uring)
{
	struct walk wk;
	int dev = walk_begin(&wk, path), p[2];
	unsigned int n;

	NT_ASSERT_OK(pipe2(p, O_CLOEXEC));
	for_each_nth(n) {
		int sem = nt_sem(dev, 0, 1);
		int efd = eventfd(0, EFD_CLOEXEC);
		int objs[2] = { sem, p[0] };
		uint64_t one = 1, val;
		bool failed = false, hit;
		struct fwait f;

		NT_ASSERT_GE(efd, 0);
		fwait_init(&f, dev, false, objs, uring ? 1 : 2, 1);
		f.agg = !uring;
		f.file_mask = 2;
		f.pad = uring ? (uint32_t)efd : 0;
		f.nth = n;
		if (!fwait_start(&f)) {
			NT_ASSERT_TRUE(f.hit);
			injected(&wk, n, f.ret, false);
			failed = true;
			fwait_finish(&f);
			/* No leftover waiter took anything... */
			nt_release(sem, 1);
			NT_CHECK_SEM(sem, 1, 1);
			NT_ASSERT_OK(ntsync_wait_any(dev, &sem, 1, 1, 0, 0, 0,
						     &f.index));
			/* ...and a later one is woken. */
			fwait_init(&f, dev, false, objs, uring ? 1 : 2, 1);
			f.agg = !uring;
			f.file_mask = 2;
			f.pad = uring ? (uint32_t)efd : 0;
			NT_ASSERT_TRUE(fwait_start(&f));
		}
		if (uring)
			NT_ASSERT_EQ(write(efd, &one, sizeof(one)),
				     (ssize_t)sizeof(one));
		else
			nt_release(sem, 1);
		fwait_result(&f);
		hit = f.hit;
		NT_EXPECT_EQ(f.ret, 0);
		if (uring) {
			NT_EXPECT_EQ(f.index, NTSYNC_INDEX_URING_READY);
			/* Polled, never read by the kernel. */
			NT_EXPECT_EQ(read(efd, &val, sizeof(val)),
				     (ssize_t)sizeof(val));
			NT_CHECK_SEM(sem, 0, 1);
		} else {
			NT_EXPECT_EQ(f.index, 0);
			NT_EXPECT_EQ(f.events, 0);	/* an object source */
			NT_CHECK_SEM(sem, 0, 1);
		}
		fwait_finish(&f);
		close(efd);
		close(sem);
		if (failed)
			continue;
		if (hit) {
			injected(&wk, n, f.ret, true);
			continue;
		}
		break;
	}
	close(p[0]);
	close(p[1]);
	walk_end(&wk, n);
}

NT_TEST_TIMEOUT(aggregate_wait_block, 120)
{
	walk_watch_block("aggregate_wait_block", false);
}

NT_TEST_TIMEOUT(wait_any_uring_block, 120)
{
	walk_watch_block("wait_any_uring_block", true);
}

/* ---- Object operations -------------------------------------------------------- */

struct state {
	struct ntsync_sem_args sem;
	struct ntsync_mutex_args mutex;
	int mutex_ret;
	struct ntsync_event_args event;
};

static void read_state(int sem, int mutex, int event, struct state *s)
{
	memset(s, 0, sizeof(*s));
	NT_ASSERT_OK(nt_ioctl(sem, NTSYNC_IOC_SEM_READ, &s->sem));
	s->mutex_ret = nt_ioctl(mutex, NTSYNC_IOC_MUTEX_READ, &s->mutex);
	NT_ASSERT_OK(nt_ioctl(event, NTSYNC_IOC_EVENT_READ, &s->event));
}

/*
 * The remaining ioctls, one walk each; they are expected not to allocate
 * (the one walk allowed to end without an injected failure), and if they
 * do, a failure must leave every object as it was.
 */
NT_TEST_TIMEOUT(object_ops, 120)
{
	static const struct {
		const char *name;
		unsigned long req;
		int target;	/* 0 sem, 1 mutex, 2 event */
	} ops[] = {
		{ "SEM_RELEASE", NTSYNC_IOC_SEM_RELEASE, 0 },
		{ "SEM_READ", NTSYNC_IOC_SEM_READ, 0 },
		{ "MUTEX_UNLOCK", NTSYNC_IOC_MUTEX_UNLOCK, 1 },
		{ "MUTEX_READ", NTSYNC_IOC_MUTEX_READ, 1 },
		{ "MUTEX_KILL", NTSYNC_IOC_MUTEX_KILL, 1 },
		{ "EVENT_SET", NTSYNC_IOC_EVENT_SET, 2 },
		{ "EVENT_RESET", NTSYNC_IOC_EVENT_RESET, 2 },
		{ "EVENT_PULSE", NTSYNC_IOC_EVENT_PULSE, 2 },
		{ "EVENT_READ", NTSYNC_IOC_EVENT_READ, 2 },
		{ "EVENT_SET_PI(prio 0)", NTSYNC_IOC_EVENT_SET_PI, 2 },
	};
	struct walk wk;
	int dev = walk_begin(&wk, "object_ops");
	unsigned int n = 0;

	wk.allocates_nothing = true;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned int before = wk.injected;

		for_each_nth(n) {
			int objs[3] = { nt_sem(dev, 1, 3), nt_mutex(dev, 1, 2),
					nt_event(dev, 0, 1) };
			union {
				uint32_t u32;
				struct ntsync_mutex_args m;
				struct ntsync_event_set_pi_args pi;
				uint64_t pad[4];
			} arg;
			struct state s0, s1;
			bool hit;
			int ret;

			/* Release 1; unlock or kill as owner 1; EVENT_SET_PI
			 * {flags 0, policy 0, prio 0}: a plain set. */
			memset(&arg, 0, sizeof(arg));
			if (ops[i].req != NTSYNC_IOC_EVENT_SET_PI)
				arg.u32 = 1;
			read_state(objs[0], objs[1], objs[2], &s0);
			ret = armed_ioctl(wk.nfd, n, objs[ops[i].target],
					  ops[i].req, &arg, &hit);
			if (hit && injected(&wk, n, ret, true)) {
				read_state(objs[0], objs[1], objs[2], &s1);
				if (memcmp(&s0, &s1, sizeof(s0)))
					NT_FAIL_SOFT("%s: a failed call changed an object",
						     ops[i].name);
			} else {
				NT_EXPECT_OK(ret);
			}
			for (int j = 0; j < 3; j++)
				close(objs[j]);
			if (!hit)
				break;
		}
		nt_diag("object_ops: %s: %u injected failures", ops[i].name,
			wk.injected - before);
	}
	walk_end(&wk, n);
}

/* ---- Summary ----------------------------------------------------------------- */

NT_TEST(total)
{
	unsigned int total, paths;

	NT_ASSERT_TRUE(totals != NULL);
	total = atomic_load(&totals->injected);
	paths = atomic_load(&totals->paths);
	nt_diag("total: %u injected failures over %u paths", total, paths);
	/* Fault injection that never fired tests nothing. */
	if (paths)
		NT_EXPECT_GT(total, 0);
}
