// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared helpers for the ntsync functional tests (see nt_util.h).
 */
#include "nt_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- Objects --------------------------------------------------------- */

int nt_dev(void)
{
	int fd = ntsync_open();

	if (fd < 0)
		NT_FAIL("cannot open %s: %s", NTSYNC_DEVICE_PATH,
			strerror(-fd));
	return fd;
}

int nt_sem_at(const char *file, int line, int dev, uint32_t count,
	      uint32_t max)
{
	int fd = ntsync_sem_create(dev, count, max);

	if (fd < 0)
		nt_fail_msg(file, line, true, "CREATE_SEM(%u, %u): %s",
			    count, max, strerror(-fd));
	return fd;
}

int nt_mutex_at(const char *file, int line, int dev, uint32_t owner,
		uint32_t count)
{
	int fd = ntsync_mutex_create(dev, owner, count);

	if (fd < 0)
		nt_fail_msg(file, line, true, "CREATE_MUTEX(%u, %u): %s",
			    owner, count, strerror(-fd));
	return fd;
}

int nt_event_at(const char *file, int line, int dev, uint32_t manual,
		uint32_t signaled)
{
	int fd = ntsync_event_create(dev, manual, signaled);

	if (fd < 0)
		nt_fail_msg(file, line, true, "CREATE_EVENT(%u, %u): %s",
			    manual, signaled, strerror(-fd));
	return fd;
}

void nt_check_sem(const char *file, int line, int sem, uint32_t count,
		  uint32_t max)
{
	uint32_t c = NT_POISON, m = NT_POISON;
	int ret = ntsync_sem_read(sem, &c, &m);

	if (ret < 0)
		nt_fail_msg(file, line, true, "SEM_READ: %s", strerror(-ret));
	if (c != count || m != max)
		nt_fail_msg(file, line, true,
			    "semaphore state: count %u max %u, expected count %u max %u",
			    c, m, count, max);
}

void nt_check_mutex(const char *file, int line, int mutex, uint32_t owner,
		    uint32_t count)
{
	uint32_t o = NT_POISON, c = NT_POISON;
	int ret = ntsync_mutex_read(mutex, &o, &c);

	if (ret < 0)
		nt_fail_msg(file, line, true, "MUTEX_READ: %s (owner %u count %u)",
			    strerror(-ret), o, c);
	if (o != owner || c != count)
		nt_fail_msg(file, line, true,
			    "mutex state: owner %u count %u, expected owner %u count %u",
			    o, c, owner, count);
}

void nt_check_mutex_abandoned(const char *file, int line, int mutex)
{
	struct ntsync_mutex_args args = { .owner = NT_POISON,
					  .count = NT_POISON };
	int ret = nt_ioctl(mutex, NTSYNC_IOC_MUTEX_READ, &args);

	if (ret != -EOWNERDEAD)
		nt_fail_msg(file, line, true,
			    "MUTEX_READ of an abandoned mutex returned %d (%s), expected -EOWNERDEAD",
			    ret, ret < 0 ? strerror(-ret) : "success");
	if (args.owner != 0 || args.count != 0)
		nt_fail_msg(file, line, true,
			    "abandoned mutex reads owner %u count %u, expected 0 0",
			    args.owner, args.count);
}

void nt_check_event(const char *file, int line, int event, uint32_t manual,
		    uint32_t signaled)
{
	uint32_t s = NT_POISON, m = NT_POISON;
	int ret = ntsync_event_read(event, &s, &m);

	if (ret < 0)
		nt_fail_msg(file, line, true, "EVENT_READ: %s", strerror(-ret));
	if (s != signaled || m != manual)
		nt_fail_msg(file, line, true,
			    "event state: manual %u signaled %u, expected manual %u signaled %u",
			    m, s, manual, signaled);
}

uint32_t nt_release(int sem, uint32_t add)
{
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_sem_release(sem, add, &prev));
	return prev;
}

uint32_t nt_set(int event)
{
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_event_set(event, &prev));
	return prev;
}

uint32_t nt_reset(int event)
{
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_event_reset(event, &prev));
	return prev;
}

uint32_t nt_unlock(int mutex, uint32_t owner)
{
	uint32_t prev = NT_POISON;

	NT_ASSERT_OK(ntsync_mutex_unlock(mutex, owner, &prev));
	return prev;
}

int nt_ioctl(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

int nt_wait_raw(int dev, bool all, struct ntsync_wait_args *args)
{
	return nt_ioctl(dev, all ? NTSYNC_IOC_WAIT_ALL : NTSYNC_IOC_WAIT_ANY,
			args);
}

void nt_wait_args_init(struct ntsync_wait_args *args, const int *fds,
		       uint32_t count, uint32_t owner, unsigned int ms)
{
	memset(args, 0, sizeof(*args));
	args->timeout = nt_deadline_ms(ms);
	args->objs = (uint64_t)(uintptr_t)fds;
	args->count = count;
	args->owner = owner;
	args->index = NT_POISON;
}

static char *nt_map_pages(size_t pages)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)page * pages, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		NT_FAIL("mmap: %s", strerror(errno));
	return p;
}

void *nt_bad_ptr(void)
{
	static char *bad;

	if (!bad) {
		bad = nt_map_pages(1);
		if (mprotect(bad, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE))
			NT_FAIL("mprotect: %s", strerror(errno));
	}
	return bad;
}

void *nt_readonly_copy(const void *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (len > page)
		NT_FAIL("nt_readonly_copy: %zu bytes do not fit a page", len);
	p = nt_map_pages(1);
	memcpy(p, src, len);
	if (mprotect(p, page, PROT_READ))
		NT_FAIL("mprotect: %s", strerror(errno));
	return p;
}

void nt_unmap_readonly(void *p)
{
	munmap(p, (size_t)sysconf(_SC_PAGESIZE));
}

void *nt_edge_ptr(size_t valid)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = nt_map_pages(2);

	if (mprotect(p + page, (size_t)page, PROT_NONE))
		NT_FAIL("mprotect: %s", strerror(errno));
	return p + page - valid;
}

/* ---- Time ------------------------------------------------------------ */

uint64_t nt_now_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		NT_FAIL("clock_gettime(%d): %s", (int)clk, strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t nt_mono_ns(void)
{
	return nt_now_ns(CLOCK_MONOTONIC);
}

uint64_t nt_deadline_ms(unsigned int ms)
{
	return nt_mono_ns() + (uint64_t)ms * 1000000ull;
}

uint64_t nt_elapsed_ms(uint64_t start_ns)
{
	return (nt_mono_ns() - start_ns) / 1000000ull;
}

void nt_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void nt_sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000L };

	nanosleep(&ts, NULL);
}

/* ---- Threads --------------------------------------------------------- */

static void *nt_thread_trampoline(void *p)
{
	struct nt_thread *t = p;
	void *ret;

	t->tid = gettid();
	sem_post(&t->ready);
	ret = t->fn(t->arg);
	atomic_store(&t->done, true);
	return ret;
}

void nt_thread_start(struct nt_thread *t, void *(*fn)(void *), void *arg)
{
	int err;

	t->fn = fn;
	t->arg = arg;
	t->tid = 0;
	t->joined = false;
	atomic_store(&t->done, false);
	if (sem_init(&t->ready, 0, 0))
		NT_FAIL("sem_init: %s", strerror(errno));
	err = pthread_create(&t->handle, NULL, nt_thread_trampoline, t);
	if (err)
		NT_FAIL("pthread_create: %s", strerror(err));
	while (sem_wait(&t->ready) < 0) {
		if (errno != EINTR)
			NT_FAIL("sem_wait: %s", strerror(errno));
	}
}

int nt_thread_join_ms(struct nt_thread *t, unsigned int ms)
{
	struct timespec ts;
	uint64_t deadline;
	int err;

	if (t->joined)
		return 0;
	deadline = nt_mono_ns() + (uint64_t)ms * 1000000ull;
	ts.tv_sec = (time_t)(deadline / 1000000000ull);
	ts.tv_nsec = (long)(deadline % 1000000000ull);
	err = pthread_clockjoin_np(t->handle, NULL, CLOCK_MONOTONIC, &ts);
	if (err == ETIMEDOUT)
		return ETIMEDOUT;
	if (err)
		NT_FAIL("pthread_clockjoin_np: %s", strerror(err));
	t->joined = true;
	sem_destroy(&t->ready);
	return 0;
}

void nt_thread_join(struct nt_thread *t)
{
	if (nt_thread_join_ms(t, NT_SOON_MS))
		NT_FAIL("thread %d did not finish within %u ms", (int)t->tid,
			NT_SOON_MS);
}

bool nt_thread_done(const struct nt_thread *t)
{
	return atomic_load(&t->done);
}

void nt_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		NT_FAIL("pin to CPU %d: %s", cpu, strerror(errno));
}

bool nt_read_small_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

bool nt_module_param_write(const char *name, const char *value)
{
	size_t len = strlen(value);
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/module/ntsync/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (write(fd, value, len) != (ssize_t)len)
		NT_FAIL("write %s to %s: %s", value, path, strerror(errno));
	close(fd);
	return true;
}

/* Reads a small /proc file of thread @tid into @buf; false if impossible. */
static bool nt_read_task_file(pid_t tid, const char *name, char *buf,
			      size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	return nt_read_small_file(path, buf, size);
}

bool nt_is_blocked(pid_t tid)
{
	char buf[512];
	const char *p;
	char *end;
	long nr;

	if (!nt_read_task_file(tid, "stat", buf, sizeof(buf)))
		return false;
	/* "tid (comm) S ...": comm may hold anything, so use the last ')'. */
	p = strrchr(buf, ')');
	/* S: interruptible; D or I: a channel sender whose request is being
	 * served sleeps killable (and, as I, without counting as load). */
	if (!p || p[1] != ' ' || !p[2] || !strchr("SDI", p[2]))
		return false;

	/* Refinement where available: asleep in ioctl, not elsewhere. */
	if (!nt_read_task_file(tid, "syscall", buf, sizeof(buf)))
		return true;
	nr = strtol(buf, &end, 10);
	if (end == buf)		/* "running" */
		return false;
#ifdef NT_MOCK
	/* tests/mock: waits sleep in futex() inside the mock "driver". */
	if (nr == SYS_futex)
		return true;
#endif
	return nr == SYS_ioctl;
}

void nt_wait_blocked(pid_t tid)
{
	uint64_t start = nt_mono_ns();
	unsigned int polls = 0;

	if (access("/proc/self/task", R_OK))
		NT_FAIL("/proc is not mounted: cannot observe thread states");
	while (!nt_is_blocked(tid)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("thread %d did not block in an ioctl within %u ms",
				(int)tid, NT_SOON_MS);
		nt_sleep_us(++polls < 100 ? 100 : 1000);
	}
}

/* ---- Waiter threads -------------------------------------------------- */

void nt_waiter_init(struct nt_waiter *w, int dev, bool all, const int *fds,
		    uint32_t count, uint32_t owner)
{
	memset(w, 0, sizeof(*w));
	if (count > NTSYNC_MAX_WAIT_COUNT)
		NT_FAIL("nt_waiter_init: count %u too large", count);
	w->dev = dev;
	w->all = all;
	if (count)
		memcpy(w->fds, fds, count * sizeof(*fds));
	w->count = count;
	w->owner = owner;
	w->alert = NTSYNC_NO_ALERT;
	w->timeout = NTSYNC_TIMEOUT_INFINITE;
	w->ret = 1;	/* neither success nor an errno: "not returned" */
	w->index = NT_POISON;
}

static void *nt_waiter_fn(void *p)
{
	struct nt_waiter *w = p;
	int (*wait)(int, const int *, uint32_t, uint32_t, int, uint64_t,
		    uint32_t, uint32_t *) =
		w->all ? ntsync_wait_all : ntsync_wait_any;

	w->start_ns = nt_mono_ns();
	w->ret = wait(w->dev, w->fds, w->count, w->owner, w->alert,
		      w->timeout, w->flags, &w->index);
	w->end_ns = nt_mono_ns();
	return NULL;
}

void nt_waiter_start_nowait(struct nt_waiter *w)
{
	nt_thread_start(&w->thread, nt_waiter_fn, w);
}

void nt_waiter_start(struct nt_waiter *w)
{
	uint64_t start = nt_mono_ns();
	unsigned int polls = 0;

	if (access("/proc/self/task", R_OK))
		NT_FAIL("/proc is not mounted: cannot observe thread states");
	nt_waiter_start_nowait(w);
	while (!nt_is_blocked(w->thread.tid)) {
		if (nt_waiter_done(w))
			NT_FAIL("waiter returned %d (index %u) instead of blocking",
				w->ret, w->index);
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("waiter %d did not block within %u ms",
				(int)w->thread.tid, NT_SOON_MS);
		nt_sleep_us(++polls < 100 ? 100 : 1000);
	}
}

int nt_waiter_join(struct nt_waiter *w)
{
	nt_thread_join(&w->thread);
	return w->ret;
}

bool nt_waiter_done(const struct nt_waiter *w)
{
	return nt_thread_done(&w->thread);
}

unsigned int nt_waiters_first_done(struct nt_waiter *const *w, unsigned int n)
{
	uint64_t start = nt_mono_ns();

	for (;;) {
		for (unsigned int i = 0; i < n; i++)
			if (nt_waiter_done(w[i]))
				return i;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("no waiter finished within %u ms", NT_SOON_MS);
		nt_sleep_us(500);
	}
}

void nt_check_still_waiting(const char *file, int line,
			    const struct nt_waiter *w, unsigned int ms)
{
	uint64_t start;

	if (ms)
		nt_sleep_ms(ms);
	start = nt_mono_ns();
	/* A momentarily running waiter (spurious wake-up) must go back to
	 * sleep; one that returned is a failure. */
	for (;;) {
		if (nt_waiter_done(w))
			nt_fail_msg(file, line, true,
				    "waiter returned %d (index %u) but should still wait",
				    w->ret, w->index);
		if (nt_is_blocked(w->thread.tid))
			return;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			nt_fail_msg(file, line, true,
				    "waiter %d is not asleep in its wait",
				    (int)w->thread.tid);
		nt_sleep_us(500);
	}
}

/* ---- Privileges ------------------------------------------------------ */

bool nt_has_cap_sys_nice(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		NT_FAIL("capget: %s", strerror(errno));
	return data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &
	       CAP_TO_MASK(CAP_SYS_NICE);
}

/* ---- Time-bounded tests ---------------------------------------------- */

void nt_take_seconds_option(int argc, char **argv, unsigned int *seconds)
{
	static char star[] = "*";
	const char *env = getenv("NT_STRESS_SECONDS");
	const char *val = env;
	char *last = NULL, *end;
	int i, out = 1;
	long s;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			val = argv[++i];
		} else if (strncmp(argv[i], "--seconds=", 10) == 0) {
			val = argv[i] + 10;
		} else {
			if (argv[i][0] != '-')
				last = argv[i];
			argv[out++] = argv[i];
		}
	}
	/* main() still sees the old argc: fill the freed places with a
	 * pattern that selects nothing new. */
	for (i = out; i < argc; i++)
		argv[i] = last ? last : star;
	if (!val)
		return;
	s = strtol(val, &end, 10);
	if (end == val || *end || s < 1 || s > 3600) {
		fprintf(stderr, "bad --seconds value \"%s\" (1..3600)\n", val);
		exit(2);
	}
	*seconds = (unsigned int)s;
}
