// SPDX-License-Identifier: GPL-2.0-only
/*
 * latency-trace (issue 13): the longest section with preemption or
 * interrupts disabled that the kernel's latency tracer records while an
 * unprivileged program holds ntsync's hostile shapes at size n and drives
 * the operations whose raw-lock sections could grow with n.
 *
 *   latency-trace [--uid UID] [--rounds R] [--iters K] [--wake-alls J]
 *                 [--waiters-max W] [--raise-threads-max] N...
 *
 * Run as root on a kernel booted with ftrace=preemptirqsoff (or preemptoff,
 * irqsoff): it never selects a tracer itself (see
 * scripts/run-latency-trace.sh).  For each round and each N it forks a
 * child, which takes RLIMIT_RTPRIO 99, RLIMIT_NICE 40 and RLIMIT_NPROC for
 * its threads (what limits.conf grants an audio user), drops to UID with
 * no capabilities, and then, as that user:
 *
 *   setup     opens /dev/ntsync; one channel (max_depth 1024) with N
 *             sender threads blocked in SEND_PI, their N tids registered
 *             with tokens, and all N requests taken with RECV2 (tokens
 *             checked) and not replied to: N DISPATCHED; one semaphore with
 *             min(N, W) waiter threads at SCHED_FIFO 98..1 and nice
 *             -20..19, cycled (138 distinct priorities; W = 1000);
 *   ops       K times (the ioctls at SCHED_FIFO 99, waiting for a woken
 *             waiter to queue again at SCHED_OTHER): REPLY of an unknown
 *             id (ENOENT) x20; REPLY of the newest and of the oldest
 *             dispatched request, each sender sending again and its
 *             request taken again with RECV2; REGISTER_THREAD of one more
 *             tid, DEREGISTER_THREAD;
 *             WAIT_ANY with an expired deadline (queued in front of every
 *             waiter, then the wake pass, then removed) x20; SEM_RELEASE(1)
 *             waking the best waiter, which queues again;
 *   wake-all  J times (J = 5; the same priorities): SEM_RELEASE(min(N, W)),
 *             which satisfies and wakes every waiter in one call; they all
 *             queue again;
 *   teardown  replies to everything, stops every thread (the waiters by
 *             SEM_RELEASE(1) each: no wake-all here) and joins it, closes.
 *
 * The parent stays root: it writes 0 to tracing_max_latency before each
 * phase (only that: the write sets tr->max_latency and nothing else) and,
 * while the child waits, reads tracing_max_latency and the trace after it,
 * then prints
 *
 *   latency-trace round=R n=N phase=P max_us=U started_at=F ended_at=G
 *       in_ntsync=yes|no stack=A,B,C stack_ntsync=H|- task=T tracer=X
 *       secs=S ops=K
 *
 * (one line), F and G being the functions the trace header names, A,B,C the
 * first frames of the stack the tracer took where the section ended, H the
 * first ntsync function in it (a symbol of the module in /proc/kallsyms, or
 * a name starting with ntsync_), in_ntsync whether the section is ntsync's
 * (see record_in_ntsync()); then the trace's header and stack lines, each
 * prefixed with "latency-trace-trace round=R n=N phase=P |".
 *
 * Exit status: 0 when every child set up, ran and tore down its objects, 1
 * otherwise (or when no latency tracer runs), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"

#define LT_TRACEFS	"/sys/kernel/tracing"
#define LT_STACK	(64 * 1024)
#define LT_MAX_N	65536u		/* a channel's cap on registered tids */
#define LT_MAX_NS	16
#define LT_BATCH	20
#define LT_UNKNOWN_ID	UINT64_MAX
#define LT_EXTRA_TID	0x7ffffff0u	/* registered and removed by the ops */
#define LT_TRACE_SIZE	(1 << 20)
#define LT_THREADS_MAX	16384

struct lt_opts {
	uid_t uid;
	unsigned int rounds, iters, wake_alls, waiters_max;
	bool raise_threads_max;
	unsigned int n[LT_MAX_NS];
	unsigned int nn;
};

/* Child -> parent: the end of a phase (or its failure). */
struct lt_msg {
	char phase;		/* phase_letters[] */
	int err;		/* 0 or a negative errno */
	unsigned int ops;
	char why[200];
};

/* The phases, in order, and the letter the child reports each with. */
static const char *const phase_names[] = { "setup", "ops", "wake-all", "teardown" };
static const char phase_letters[] = "SOWT";
#define LT_PHASES	4

/* ---- The child: the unprivileged hostile program --------------------- */

static int msg_fd = -1, go_fd = -1;

static void child_vsend(char phase, int err, unsigned int ops, const char *fmt,
			va_list ap)
{
	struct lt_msg m = { .phase = phase, .err = err, .ops = ops };

	vsnprintf(m.why, sizeof(m.why), fmt, ap);
	if (write(msg_fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(1);
}

static void child_send(char phase, unsigned int ops, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void child_send(char phase, unsigned int ops, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_vsend(phase, 0, ops, fmt, ap);
	va_end(ap);
}

/* Report a failure (@err, a negative errno) of @phase and end the child,
 * threads and all. */
static void child_fail(char phase, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

static void child_fail(char phase, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_vsend(phase, err ? err : -EIO, 0, fmt, ap);
	va_end(ap);
	_exit(1);
}

/* Progress of a long setup on stderr (the console log shows where it is). */
static void progress(unsigned int n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static uint64_t progress_t0;

static void progress(unsigned int n, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "latency-trace: n=%u: %s (%.1f s)\n", n, buf,
		(double)(now_ns() - progress_t0) / 1e9);
}

static void child_wait_go(void)
{
	char c;

	if (read(go_fd, &c, 1) != 1)
		_exit(1);
}

static int set_limit(int res, rlim_t v)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	return setrlimit(res, &rl) ? -errno : 0;
}

/* Limits granted as root, then the drop to @uid; 0 or a negative errno. */
static int drop_privileges(uid_t uid, unsigned int nthreads, char *why, size_t len)
{
	char line[128];
	bool capeff_zero = false;
	FILE *f;
	int ret;

	if ((ret = set_limit(RLIMIT_RTPRIO, 99)) ||
	    (ret = set_limit(RLIMIT_NICE, 40)) ||
	    (ret = set_limit(RLIMIT_NPROC, nthreads + 64))) {
		snprintf(why, len, "setrlimit: %s", strerror(-ret));
		return ret;
	}
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
		ret = -errno;
		snprintf(why, len, "dropping to uid %u: %s", (unsigned int)uid,
			 strerror(errno));
		return ret;
	}
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			capeff_zero = strtoull(line + 7, NULL, 16) == 0;
	if (f)
		fclose(f);
	if (!uid || geteuid() != uid || !capeff_zero) {
		snprintf(why, len, "still privileged after the drop to uid %u",
			 (unsigned int)uid);
		return -EPERM;
	}
	return 0;
}

struct lt_objs {
	int dev, ch, sem;
	struct dispatch d;
	struct wpool pool;
};

static void child_setup(struct lt_objs *o, unsigned int n, unsigned int nw)
{
	char why[160];
	int ret, w;

	o->dev = bench_open_dev(why, sizeof(why));
	if (o->dev < 0)
		child_fail('S', o->dev, "%s", why);
	ret = bench_nspa(o->dev, why, sizeof(why));
	if (ret <= 0)
		child_fail('S', ret ? ret : -ENOTTY, "%s", why);

	o->ch = ntsync_channel_create(o->dev, 1024);
	if (o->ch < 0)
		child_fail('S', o->ch, "CREATE_CHANNEL: %s", strerror(-o->ch));
	if (dispatch_init(&o->d, o->ch, n))
		child_fail('S', -ENOMEM, "out of memory");
	/* Each sender registers its tid; every RECV2 checks its token. */
	o->d.tokens = true;
	ret = dispatch_fill(&o->d, LT_STACK);
	if (ret)
		child_fail('S', ret, "%s after %u senders, %u taken: %s%s%s", o->d.failed,
			   o->d.started, o->d.count, strerror(-ret),
			   atomic_load(&o->d.err) ? "; SEND_PI/REGISTER_THREAD: " : "",
			   atomic_load(&o->d.err) ? strerror(-atomic_load(&o->d.err)) : "");
	progress(n, "%u requests dispatched, %u tids registered", o->d.count, n);

	o->sem = ntsync_sem_create(o->dev, 0, 0x7fffffff);
	if (o->sem < 0)
		child_fail('S', o->sem, "CREATE_SEM: %s", strerror(-o->sem));
	ret = wpool_start(&o->pool, o->dev, o->sem, nw, LT_STACK, wpool_prio_cycle);
	if (ret)
		child_fail('S', ret, "starting waiters: %s after %u threads",
			   strerror(-ret), o->pool.started);
	w = wpool_all_parked(&o->pool);
	if (w >= 0) {
		ret = atomic_load(&o->pool.err);
		child_fail('S', ret, "waiter %d never parked%s%s", w,
			   ret ? ": " : "", ret ? strerror(-ret) : "");
	}
	progress(n, "%u waiters queued", nw);
	if (atomic_load(&o->d.err))
		child_fail('S', atomic_load(&o->d.err), "SEND_PI: %s",
			   strerror(-atomic_load(&o->d.err)));
}

/*
 * The ioctls run at SCHED_FIFO 99; waiting for woken waiters to queue again
 * runs at SCHED_OTHER.  That wait polls /proc: at FIFO 99, with a thousand
 * FIFO waiters waking, it starved the RCU kthreads (FIFO 1) until RCU
 * reported a stall.
 */
static void child_sched(char phase, bool top)
{
	int ret = top ? sched_self(SCHED_FIFO, 99) : sched_self(SCHED_OTHER, 0);

	if (ret)
		child_fail(phase, ret, "%s: %s", top ? "SCHED_FIFO 99" : "SCHED_OTHER",
			   strerror(-ret));
}

/* REPLY of @id, then take the request its sender sends again. */
static int reply_and_retake(struct lt_objs *o, uint64_t id)
{
	struct ntsync_channel_recv2_args a;
	int ret = ntsync_channel_reply(o->ch, id);

	return ret ? ret : dispatch_take(&o->d, &a);
}

static unsigned int child_ops(struct lt_objs *o, unsigned int iters)
{
	unsigned int k, b, done;
	uint32_t idx, prev;
	int ret, w;

	child_sched('O', true);
	for (k = 0; k < iters; k++) {
		for (b = 0; b < LT_BATCH; b++) {
			ret = ntsync_channel_reply(o->ch, LT_UNKNOWN_ID);
			if (ret != -ENOENT)
				child_fail('O', ret, "REPLY of an unknown id: %s (expected ENOENT)",
					   ret ? strerror(-ret) : "success");
		}
		ret = reply_and_retake(o, dispatch_pop_newest(&o->d));
		if (!ret)
			ret = reply_and_retake(o, dispatch_pop_oldest(&o->d));
		if (ret)
			child_fail('O', ret, "REPLY/RECV2: %s", strerror(-ret));

		ret = ntsync_channel_register_thread(o->ch, LT_EXTRA_TID, DISPATCH_TOKEN(k));
		if (!ret)
			ret = ntsync_channel_deregister_thread(o->ch, LT_EXTRA_TID);
		if (ret)
			child_fail('O', ret, "REGISTER/DEREGISTER_THREAD: %s", strerror(-ret));

		for (b = 0; b < LT_BATCH; b++) {
			/* Deadline 0: long past, but the wait is queued first. */
			ret = ntsync_wait_any(o->dev, &o->sem, 1, BENCH_WAIT_OWNER,
					      0, 0, 0, &idx);
			if (ret != -ETIMEDOUT)
				child_fail('O', ret, "WAIT_ANY with a past deadline: %s (expected ETIMEDOUT)",
					   ret ? strerror(-ret) : "success");
		}
		done = atomic_load(&o->pool.done);
		ret = ntsync_sem_release(o->sem, 1, &prev);
		child_sched('O', false);
		if (!ret)
			ret = wpool_await_wake(&o->pool, done);
		if (ret)
			child_fail('O', ret, "SEM_RELEASE and its wake: %s", strerror(-ret));
		w = atomic_load(&o->pool.last);
		if (!wpool_parked(&o->pool.w[w]))
			child_fail('O', -ETIMEDOUT, "waiter %d never parked again", w);
		child_sched('O', true);
	}
	child_sched('O', false);
	return k;
}

/*
 * SEM_RELEASE(nw) @times times: one call satisfies and wakes every waiter
 * (each takes one count), and each waiter queues again before the next.
 */
static unsigned int child_wake_all(struct lt_objs *o, unsigned int times)
{
	unsigned int k, nw = o->pool.started;
	uint32_t prev;
	int ret, w;

	for (k = 0; k < times; k++) {
		unsigned int done0 = atomic_load(&o->pool.done), done;
		uint64_t end = now_ns() + 120000000000ull;

		child_sched('W', true);
		ret = ntsync_sem_release(o->sem, nw, &prev);
		child_sched('W', false);
		if (ret)
			child_fail('W', ret, "SEM_RELEASE(%u): %s", nw, strerror(-ret));
		while ((done = atomic_load(&o->pool.done)) - done0 < nw) {
			if (now_ns() > end || atomic_load(&o->pool.err))
				child_fail('W', atomic_load(&o->pool.err),
					   "%u of %u waiters woke", done - done0, nw);
			futex_wait(&o->pool.done, done, 100000000ull);
		}
		w = wpool_all_parked(&o->pool);
		if (w >= 0)
			child_fail('W', -ETIMEDOUT, "waiter %d never parked again", w);
	}
	return k;
}

static void child_main(const struct lt_opts *opt, unsigned int n)
{
	unsigned int nw = n < opt->waiters_max ? n : opt->waiters_max;
	static struct lt_objs o;
	char why[160];
	unsigned int ops;
	int ret;

	ret = drop_privileges(opt->uid, n + nw, why, sizeof(why));
	if (ret)
		child_fail('S', ret, "%s", why);
	/* After the drop: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	bench_install_noop(SIGALRM);
	progress_t0 = now_ns();

	child_setup(&o, n, nw);
	child_send('S', 0, "%u dispatched, %u tids, %u waiters", o.d.count, n, nw);
	child_wait_go();

	ops = child_ops(&o, opt->iters);
	child_send('O', ops, "%u iterations", ops);
	child_wait_go();

	ops = child_wake_all(&o, opt->wake_alls);
	child_send('W', ops, "%u releases of %u", ops, nw);
	child_wait_go();

	ret = dispatch_stop(&o.d);
	if (ret)
		child_fail('T', ret, "SEND_PI: %s", strerror(-ret));
	/* One waiter per release: the wake-all phase is the one that wakes all. */
	wpool_stop_singly(&o.pool);
	close(o.sem);
	close(o.ch);
	close(o.dev);
	child_send('T', 0, "done");
	_exit(0);
}

/* ---- The parent: tracefs ---------------------------------------------- */

static char *trace_buf;
/* Names of the ntsync module's symbols, sorted. */
static char **mod_syms;
static size_t n_mod_syms;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_module_symbols(void)
{
	char line[512], name[256];
	size_t cap = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "\t[ntsync]") || sscanf(line, "%*s %*s %255s", name) != 1)
			continue;
		if (n_mod_syms == cap) {
			cap = cap ? 2 * cap : 256;
			mod_syms = realloc(mod_syms, cap * sizeof(*mod_syms));
			if (!mod_syms)
				abort();
		}
		mod_syms[n_mod_syms++] = strdup(name);
	}
	if (f)
		fclose(f);
	qsort(mod_syms, n_mod_syms, sizeof(*mod_syms), cmp_str);
}

static bool is_ntsync(const char *fn)
{
	const char *key = fn;

	if (!strncmp(fn, "ntsync_", 7))
		return true;
	return n_mod_syms &&
	       bsearch(&key, mod_syms, n_mod_syms, sizeof(*mod_syms), cmp_str);
}

/* Read a tracefs file into trace_buf; its length or a negative errno. */
static ssize_t tracefs_read(const char *file)
{
	char path[256];
	size_t len = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), LT_TRACEFS "/%s", file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while (len < LT_TRACE_SIZE - 1 &&
	       (r = read(fd, trace_buf + len, LT_TRACE_SIZE - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	trace_buf[len] = 0;
	return (ssize_t)len;
}

static int write_file(const char *path, const char *val)
{
	ssize_t len = (ssize_t)strlen(val);
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, (size_t)len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Start a new maximum: nothing but tr->max_latency = 0 in the kernel. */
static int reset_max(void)
{
	return write_file(LT_TRACEFS "/tracing_max_latency", "0");
}

/* Mount tracefs if needed; the running latency tracer's name, or NULL. */
static const char *tracer_running(char *name, size_t len)
{
	struct stat st;

	if (stat(LT_TRACEFS "/current_tracer", &st) &&
	    mount("nodev", LT_TRACEFS, "tracefs", 0, NULL))
		return NULL;
	if (tracefs_read("current_tracer") <= 0)
		return NULL;
	snprintf(name, len, "%s", trace_buf);
	name[strcspn(name, "\n")] = 0;
	if (strcmp(name, "preemptirqsoff") && strcmp(name, "preemptoff") &&
	    strcmp(name, "irqsoff"))
		return NULL;
	return name;
}

/* Copy the text after @key on its line into @out (trimmed, no spaces). */
static void field_after(const char *line, const char *key, char *out, size_t len)
{
	const char *p = strstr(line, key);
	size_t k;

	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ')
		p++;
	for (k = 0; k + 1 < len && p[k] && p[k] != '\n' && p[k] != ' '; k++)
		out[k] = p[k];
	out[k] = 0;
}

/* Frames of the end stack kept for the summary line. */
#define LT_FRAMES	3

struct lt_record {
	unsigned long max_us;
	char start[128], end[128], stack_ntsync[128], task[96];
	char frame[LT_FRAMES][128];
	unsigned int nframes;
};

/* A lock or preemption primitive that the module calls itself. */
static bool is_primitive(const char *fn)
{
	return !strncmp(fn, "_raw_", 5) || !strncmp(fn, "preempt_count_", 14);
}

/*
 * Whether the section is ntsync's.  Without frame pointers (the debug
 * kernel has ORC) the tracer's header names only the primitive that
 * started the section and preempt_count_sub (CALLER_ADDR1 is 0), and its
 * stack, taken where the section ended, leaves out the frames up to the
 * unlocking function's caller.  So: yes when the header names an ntsync
 * function, or when the section started in a primitive the module calls
 * and the first frame of that stack is ntsync's, or is vfs_ioctl in one of
 * this program's tasks (which issue ioctls on ntsync files only).  This
 * errs towards yes: a kernel function that ntsync called directly (a
 * wake-up) counts as ntsync's.
 */
static bool record_in_ntsync(const struct lt_record *r)
{
	if (is_ntsync(r->start) || is_ntsync(r->end))
		return true;
	if (!is_primitive(r->start) || !r->nframes)
		return false;
	return is_ntsync(r->frame[0]) ||
	       (!strcmp(r->frame[0], "vfs_ioctl") &&
		!strncmp(r->task, "latency-trace-", 14));
}

/* The next line of @*pos into @out (without its newline); false at the end. */
static bool next_line(const char **pos, char *out, size_t len)
{
	const char *p = *pos, *nl;
	size_t k;

	if (!*p)
		return false;
	nl = strchr(p, '\n');
	k = nl ? (size_t)(nl - p) : strlen(p);
	*pos = nl ? nl + 1 : p + k;
	if (k >= len)
		k = len - 1;
	memcpy(out, p, k);
	out[k] = 0;
	return true;
}

/* Read the maximum and the trace of the phase that just ended, print them. */
static int record_phase(const char *prefix, const char *tracer, double secs,
			unsigned int ops)
{
	struct lt_record r = { 0 };
	const char *pos;
	char line[512];
	ssize_t len;

	strcpy(r.start, "-");
	strcpy(r.end, "-");
	strcpy(r.stack_ntsync, "-");
	strcpy(r.task, "-");
	len = tracefs_read("tracing_max_latency");
	if (len <= 0)
		return len ? (int)len : -EIO;
	r.max_us = strtoul(trace_buf, NULL, 10);
	len = tracefs_read("trace");
	if (len < 0)
		return (int)len;

	for (pos = trace_buf; next_line(&pos, line, sizeof(line));) {
		if (strstr(line, "=> started at:")) {
			field_after(line, "=> started at:", r.start, sizeof(r.start));
		} else if (strstr(line, "=> ended at:")) {
			field_after(line, "=> ended at:", r.end, sizeof(r.end));
		} else if (strstr(line, "| task:")) {
			field_after(line, "| task:", r.task, sizeof(r.task));
		} else if (!strncmp(line, " => ", 4)) {
			char fn[128] = "";

			field_after(line, "=>", fn, sizeof(fn));
			if (r.nframes < LT_FRAMES)
				strcpy(r.frame[r.nframes++], fn);
			if (is_ntsync(fn) && !strcmp(r.stack_ntsync, "-"))
				strcpy(r.stack_ntsync, fn);
		}
	}
	printf("latency-trace %s max_us=%lu started_at=%s ended_at=%s in_ntsync=%s "
	       "stack=%s%s%s%s%s stack_ntsync=%s task=%s tracer=%s secs=%.1f ops=%u\n",
	       prefix, r.max_us, r.start, r.end, record_in_ntsync(&r) ? "yes" : "no",
	       r.nframes ? r.frame[0] : "-", r.nframes > 1 ? "," : "",
	       r.nframes > 1 ? r.frame[1] : "", r.nframes > 2 ? "," : "",
	       r.nframes > 2 ? r.frame[2] : "", r.stack_ntsync, r.task, tracer,
	       secs, ops);
	/* The header's summary lines, the entries and the stack. */
	for (pos = trace_buf; next_line(&pos, line, sizeof(line));)
		if ((line[0] && line[0] != '#') || strstr(line, "latency:") ||
		    strstr(line, "| task:") || strstr(line, "=> "))
			printf("latency-trace-trace %s |%s\n", prefix, line);
	fflush(stdout);
	return 0;
}

/* ---- The parent: one run ----------------------------------------------- */

static bool child_msg(int fd, char want, struct lt_msg *m)
{
	ssize_t r = read(fd, m, sizeof(*m));

	if (r != (ssize_t)sizeof(*m)) {
		m->err = -EPIPE;
		snprintf(m->why, sizeof(m->why), "the child died");
		return false;
	}
	return m->phase == want && !m->err;
}

static int run_one(const struct lt_opts *opt, const char *tracer,
		   unsigned int round, unsigned int n)
{
	int to_parent[2], to_child[2], status = 0, ret = 0;
	char prefix[96];
	struct lt_msg m = { 0 };
	unsigned int p;
	uint64_t t0;
	pid_t pid;

	if (pipe(to_parent) || pipe(to_child)) {
		perror("latency-trace: pipe");
		return 1;
	}
	fflush(stdout);
	ret = reset_max();
	if (ret) {
		fprintf(stderr, "latency-trace: resetting tracing_max_latency: %s\n",
			strerror(-ret));
		return 1;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("latency-trace: fork");
		return 1;
	}
	if (pid == 0) {
		close(to_parent[0]);
		close(to_child[1]);
		msg_fd = to_parent[1];
		go_fd = to_child[0];
		child_main(opt, n);
	}
	close(to_parent[1]);
	close(to_child[0]);

	for (p = 0; p < LT_PHASES; p++) {
		bool ok = child_msg(to_parent[0], phase_letters[p], &m);

		if (p == LT_PHASES - 1 || !ok)
			waitpid(pid, &status, 0);
		snprintf(prefix, sizeof(prefix), "round=%u n=%u phase=%s", round, n,
			 phase_names[p]);
		if (!ok) {
			printf("latency-trace %s error: %s (errno %d)\n", prefix,
			       m.why, -m.err);
			ret = 1;
			break;
		}
		if (record_phase(prefix, tracer, (double)(now_ns() - t0) / 1e9, m.ops)) {
			fprintf(stderr, "latency-trace: reading the trace failed\n");
			ret = 1;
		}
		if (p < LT_PHASES - 1) {
			reset_max();
			t0 = now_ns();
			if (write(to_child[1], "g", 1) != 1) {
				ret = 1;
				break;
			}
		}
	}
	if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		printf("latency-trace round=%u n=%u error: child status %#x\n", round,
		       n, status);
		ret = 1;
	}
	if (ret)
		kill(pid, SIGKILL);
	close(to_parent[0]);
	close(to_child[1]);
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: latency-trace [--uid UID] [--rounds R] [--iters K] [--wake-alls J]\n"
		"                     [--waiters-max W] [--raise-threads-max] N...\n"
		"                     (1 <= N <= %u)\n",
		LT_MAX_N);
	exit(2);
}

static unsigned long parse_num(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct lt_opts opt = { .uid = 65534, .rounds = 1, .iters = 200,
			       .wake_alls = 5, .waiters_max = 1000 };
	char tracer_name[64], buf[32];
	const char *tracer;
	unsigned int r, i;
	int a, ret = 0;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--uid") && a + 1 < argc)
			opt.uid = (uid_t)parse_num(argv[++a], 1, INT_MAX);
		else if (!strcmp(argv[a], "--rounds") && a + 1 < argc)
			opt.rounds = (unsigned int)parse_num(argv[++a], 1, 100);
		else if (!strcmp(argv[a], "--iters") && a + 1 < argc)
			opt.iters = (unsigned int)parse_num(argv[++a], 1, 1000000);
		else if (!strcmp(argv[a], "--wake-alls") && a + 1 < argc)
			opt.wake_alls = (unsigned int)parse_num(argv[++a], 1, 1000);
		else if (!strcmp(argv[a], "--waiters-max") && a + 1 < argc)
			opt.waiters_max = (unsigned int)parse_num(argv[++a], 1, LT_MAX_N);
		else if (!strcmp(argv[a], "--raise-threads-max"))
			opt.raise_threads_max = true;
		else if (argv[a][0] == '-' || opt.nn == LT_MAX_NS)
			usage();
		else
			opt.n[opt.nn++] = (unsigned int)parse_num(argv[a], 1, LT_MAX_N);
	}
	if (!opt.nn)
		usage();
	trace_buf = malloc(LT_TRACE_SIZE);
	if (!trace_buf)
		return 1;
	if (geteuid() != 0) {
		fprintf(stderr, "latency-trace: must start as root (tracefs; the hostile part drops to --uid)\n");
		return 1;
	}
	tracer = tracer_running(tracer_name, sizeof(tracer_name));
	if (!tracer) {
		fprintf(stderr, "latency-trace: no latency tracer runs (boot with ftrace=preemptirqsoff)\n");
		return 1;
	}
	if (tracefs_read("tracing_thresh") > 0 && strtoul(trace_buf, NULL, 10)) {
		fprintf(stderr, "latency-trace: tracing_thresh is set: the tracer does not keep a maximum\n");
		return 1;
	}
	if (opt.raise_threads_max) {
		snprintf(buf, sizeof(buf), "%d", LT_THREADS_MAX);
		ret = write_file("/proc/sys/kernel/threads-max", buf);
		if (ret) {
			fprintf(stderr, "latency-trace: threads-max: %s\n", strerror(-ret));
			return 1;
		}
	}
	load_module_symbols();
	printf("latency-trace tracer=%s uid=%u rounds=%u iters=%u wake_alls=%u waiters_max=%u "
	       "module_symbols=%zu\n", tracer, (unsigned int)opt.uid, opt.rounds,
	       opt.iters, opt.wake_alls, opt.waiters_max, n_mod_syms);
	for (r = 1; r <= opt.rounds; r++)
		for (i = 0; i < opt.nn; i++)
			ret |= run_one(&opt, tracer, r, opt.n[i]);
	return ret;
}
