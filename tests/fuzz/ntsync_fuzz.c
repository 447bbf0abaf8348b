// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync_fuzz: seeded, reproducible random ioctl sequences against
 * /dev/ntsync, from several threads of several forked processes that share
 * the device and object fds.
 *
 *   ntsync_fuzz [--seed N] [--ops N] [--seconds S] [--threads N]
 *               [--procs N] [--kill-ms MS] [--block-ms MS] [--min-ops N]
 *               [--single] [--trace] [--help]
 *
 * Every ioctl is checked against the set of results that call may give for
 * the arguments and target the fuzzer chose (a table per ioctl, narrowed by
 * what is known: a valid wait may end in 0, ETIMEDOUT only if its deadline
 * can expire, EOWNERDEAD only with a mutex, EINTR; a wait with a bad count
 * may only give EINVAL; ...).  Anything else, or a crash, is a failure.
 * Cheap result invariants are checked too (a semaphore never exceeds its
 * maximum, a wait's index is in range, ...).
 *
 * Arguments are valid, boundary (0, 1, max, UINT32_MAX, count 64/65) or
 * garbage; pointers are valid, misaligned, NULL, unmapped, read-only,
 * straddling into an unmapped page or kernel addresses; target fds are
 * objects of the right or wrong type, objects of another /dev/ntsync open,
 * devices, pipes, eventfds, /dev/null and closed fds.  Slot fds are
 * atomically replaced (dup2) by new objects while other threads use them.
 * Deadlines are past, near, far or infinite.  A watchdog thread per process
 * interrupts (SIGUSR1, no SA_RESTART) every wait that blocks longer than
 * --block-ms and sends random signals mid-wait, so every wait ends; the
 * parent SIGKILLs children mid-wait and starts new ones.
 *
 * Reproducibility: the operation sequence of a worker is a function of the
 * seed only (it never depends on results).  With --single (one process, one
 * thread, no kills) two runs with the same seed issue the same sequence;
 * each worker prints a hash of its sequence, and --trace prints it.
 *
 * Output: TAP version 13, the seed first.  The ioctl channel and aggregate
 * wait numbers (0x90-0x98) are fuzzed with a result table that allows
 * ENOTTY while they are not implemented and their documented results once
 * they are.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ntsync.h>

#define MAX_PROCS	8
#define MAX_THREADS	8

/* Object slots of each process: fixed fd numbers, fixed kind. */
#define N_SEM		10
#define N_MUTEX		10
#define N_EVENT		10
#define N_CHAN		4
#define N_OBJSLOTS	(N_SEM + N_MUTEX + N_EVENT)
#define N_SLOTS		(N_OBJSLOTS + N_CHAN)

/* Owner ids the workers use; mutexes may be unlocked by any of them. */
#define N_OWNERS	6

/* An fd number that is never open (checked at start). */
#define CLOSED_FD	4000

/* Ioctl credits a worker takes from the global budget at once. */
#define CREDIT_CHUNK	64

#define NSEC		1000000000ull
#define FAR_NS		(3600ull * NSEC)	/* "cannot expire during a run" */

#if UINTPTR_MAX == 0xffffffffu
#define KERNEL_PTR	((void *)(uintptr_t)0xfffff000u)
#define WORD_BITS	32
#else
#define KERNEL_PTR	((void *)(uintptr_t)0xffffffff81000000ull)
#define WORD_BITS	64
#endif

/* ---- Ioctls ---------------------------------------------------------- */

enum ioc {
	I_CREATE_SEM, I_SEM_RELEASE, I_WAIT_ANY, I_WAIT_ALL, I_CREATE_MUTEX,
	I_MUTEX_UNLOCK, I_MUTEX_KILL, I_CREATE_EVENT, I_EVENT_SET,
	I_EVENT_RESET, I_EVENT_PULSE, I_SEM_READ, I_MUTEX_READ, I_EVENT_READ,
	I_EVENT_SET_PI,
	I_CREATE_CHANNEL, I_CHANNEL_SEND_PI, I_CHANNEL_RECV, I_CHANNEL_REPLY,
	I_CHANNEL_REGISTER, I_CHANNEL_DEREGISTER, I_CHANNEL_RECV2,
	I_AGGREGATE_WAIT, I_CHANNEL_TRY_RECV2,
	I_GARBAGE,
	N_IOC
};

static const struct {
	const char *name;
	unsigned long cmd;
} ioc_info[N_IOC] = {
	[I_CREATE_SEM]		= { "CREATE_SEM", NTSYNC_IOC_CREATE_SEM },
	[I_SEM_RELEASE]		= { "SEM_RELEASE", NTSYNC_IOC_SEM_RELEASE },
	[I_WAIT_ANY]		= { "WAIT_ANY", NTSYNC_IOC_WAIT_ANY },
	[I_WAIT_ALL]		= { "WAIT_ALL", NTSYNC_IOC_WAIT_ALL },
	[I_CREATE_MUTEX]	= { "CREATE_MUTEX", NTSYNC_IOC_CREATE_MUTEX },
	[I_MUTEX_UNLOCK]	= { "MUTEX_UNLOCK", NTSYNC_IOC_MUTEX_UNLOCK },
	[I_MUTEX_KILL]		= { "MUTEX_KILL", NTSYNC_IOC_MUTEX_KILL },
	[I_CREATE_EVENT]	= { "CREATE_EVENT", NTSYNC_IOC_CREATE_EVENT },
	[I_EVENT_SET]		= { "EVENT_SET", NTSYNC_IOC_EVENT_SET },
	[I_EVENT_RESET]		= { "EVENT_RESET", NTSYNC_IOC_EVENT_RESET },
	[I_EVENT_PULSE]		= { "EVENT_PULSE", NTSYNC_IOC_EVENT_PULSE },
	[I_SEM_READ]		= { "SEM_READ", NTSYNC_IOC_SEM_READ },
	[I_MUTEX_READ]		= { "MUTEX_READ", NTSYNC_IOC_MUTEX_READ },
	[I_EVENT_READ]		= { "EVENT_READ", NTSYNC_IOC_EVENT_READ },
	[I_EVENT_SET_PI]	= { "EVENT_SET_PI", NTSYNC_IOC_EVENT_SET_PI },
	[I_CREATE_CHANNEL]	= { "CREATE_CHANNEL", NTSYNC_IOC_CREATE_CHANNEL },
	[I_CHANNEL_SEND_PI]	= { "CHANNEL_SEND_PI", NTSYNC_IOC_CHANNEL_SEND_PI },
	[I_CHANNEL_RECV]	= { "CHANNEL_RECV", NTSYNC_IOC_CHANNEL_RECV },
	[I_CHANNEL_REPLY]	= { "CHANNEL_REPLY", NTSYNC_IOC_CHANNEL_REPLY },
	[I_CHANNEL_REGISTER]	= { "CHANNEL_REGISTER_THREAD",
				    NTSYNC_IOC_CHANNEL_REGISTER_THREAD },
	[I_CHANNEL_DEREGISTER]	= { "CHANNEL_DEREGISTER_THREAD",
				    NTSYNC_IOC_CHANNEL_DEREGISTER_THREAD },
	[I_CHANNEL_RECV2]	= { "CHANNEL_RECV2", NTSYNC_IOC_CHANNEL_RECV2 },
	[I_AGGREGATE_WAIT]	= { "AGGREGATE_WAIT", NTSYNC_IOC_AGGREGATE_WAIT },
	[I_CHANNEL_TRY_RECV2]	= { "CHANNEL_TRY_RECV2",
				    NTSYNC_IOC_CHANNEL_TRY_RECV2 },
	[I_GARBAGE]		= { "garbage-cmd", 0 },
};

/* ---- Result sets ------------------------------------------------------ */

/* Results an allowed-set can name; anything else is always unexpected. */
enum {
	RS_OK, RS_EPERM, RS_ENOENT, RS_EINTR, RS_EBADF, RS_EAGAIN, RS_EFAULT,
	RS_EINVAL, RS_ENOTTY, RS_EOVERFLOW, RS_ETIMEDOUT, RS_EOWNERDEAD,
	RS_ENOSPC, RS_OTHER
};
#define A(x)	(1u << RS_##x)

static int xbit(long ret)
{
	if (ret >= 0)
		return RS_OK;
	switch (-ret) {
	case EPERM: return RS_EPERM;
	case ENOENT: return RS_ENOENT;
	case EINTR: return RS_EINTR;
	case EBADF: return RS_EBADF;
	case EAGAIN: return RS_EAGAIN;
	case EFAULT: return RS_EFAULT;
	case EINVAL: return RS_EINVAL;
	case ENOTTY: return RS_ENOTTY;
	case EOVERFLOW: return RS_EOVERFLOW;
	case ETIMEDOUT: return RS_ETIMEDOUT;
	case EOWNERDEAD: return RS_EOWNERDEAD;
	case ENOSPC: return RS_ENOSPC;
	default: return RS_OTHER;
	}
}

static const char *const xname[RS_OTHER] = {
	"OK", "EPERM", "ENOENT", "EINTR", "EBADF", "EAGAIN", "EFAULT",
	"EINVAL", "ENOTTY", "EOVERFLOW", "ETIMEDOUT", "EOWNERDEAD", "ENOSPC",
};

/*
 * The channel and aggregate-wait ioctls on a target that can serve them:
 * their documented results, plus ENOTTY while they are not implemented.
 * SEND_PI, RECV, RECV2 and AGGREGATE_WAIT sleep interruptibly (EINTR).
 */
static const uint32_t chan_table[N_IOC] = {
	[I_CREATE_CHANNEL]	= A(OK) | A(EINVAL) | A(EFAULT) | A(ENOTTY),
	[I_CHANNEL_SEND_PI]	= A(OK) | A(EAGAIN) | A(EINVAL) | A(EPERM) |
				  A(EFAULT) | A(EINTR) | A(ENOTTY),
	[I_CHANNEL_RECV]	= A(OK) | A(EINTR) | A(EFAULT) | A(EINVAL) |
				  A(ENOTTY),
	/* EPERM: the entry was dispatched to another process. */
	[I_CHANNEL_REPLY]	= A(OK) | A(ENOENT) | A(EPERM) | A(EFAULT) |
				  A(EINVAL) | A(ENOTTY),
	/* ENOSPC: the channel holds 65536 tids already. */
	[I_CHANNEL_REGISTER]	= A(OK) | A(EINVAL) | A(EFAULT) | A(ENOSPC) |
				  A(ENOTTY),
	[I_CHANNEL_DEREGISTER]	= A(OK) | A(ENOENT) | A(EINVAL) | A(EFAULT) |
				  A(ENOTTY),
	[I_CHANNEL_RECV2]	= A(OK) | A(EINTR) | A(EFAULT) | A(EINVAL) |
				  A(ENOTTY),
	[I_AGGREGATE_WAIT]	= A(OK) | A(ETIMEDOUT) | A(EOWNERDEAD) |
				  A(EINVAL) | A(EFAULT) | A(EINTR) | A(ENOTTY),
	[I_CHANNEL_TRY_RECV2]	= A(OK) | A(EAGAIN) | A(EFAULT) | A(EINVAL) |
				  A(ENOTTY),
};

/* ---- Shared state (MAP_SHARED, visible to every process) -------------- */

#define N_ERRNO		136	/* counters for errno 0..134, then "other" */

enum { ST_IDLE, ST_RUNNING, ST_BLOCKING, ST_DONE };

struct wstats {
	uint64_t ops;
	uint64_t ioctls;
	uint64_t claimed;	/* budget credits taken */
	uint64_t unexpected;
	uint64_t inconsistent;
	uint64_t skipped;	/* slot busy: replacement skipped */
	uint64_t hash;		/* operation sequence of the last incarnation */
	uint64_t seed;
	uint32_t count[N_IOC][N_ERRNO];
};

/*
 * 64-bit counters shared between processes are plain, 8-byte aligned and
 * accessed with the __atomic builtins: i386 and x86_64 then agree on the
 * layout whatever the compiler version (no _Atomic 64-bit struct members).
 */
typedef uint64_t __attribute__((aligned(8))) u64a;
#define LOAD64(p)	__atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE64(p, v)	__atomic_store_n(p, v, __ATOMIC_SEQ_CST)
#define ADD64(p, v)	__atomic_fetch_add(p, v, __ATOMIC_SEQ_CST)
#define SUB64(p, v)	__atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST)

struct wstatus {
	_Atomic int state;
	u64a since;		/* CLOCK_MONOTONIC ns, when blocking */
	_Atomic int ioc;
	_Atomic int tid;
	u64a opno;
};

struct shared {
	_Atomic int stop;
	u64a claimed;
	_Atomic uint32_t printed;
	u64a signals;
	uint64_t budget;
	struct wstats stats[MAX_PROCS][MAX_THREADS];
	struct wstatus status[MAX_PROCS][MAX_THREADS];
};

static struct shared *sh;

/* ---- Options ---------------------------------------------------------- */

static struct {
	uint64_t seed;
	uint64_t ops;
	double seconds;
	unsigned int threads;
	unsigned int procs;
	unsigned int kill_ms;
	unsigned int block_ms;
	uint64_t min_ops;
	bool trace;
} opt = {
	/*
	 * A count, not a time: some 5 s on a quiet host, and the same work,
	 * only slower, on a loaded one (a 4 s run did 300 ioctls at load 11).
	 */
	.ops = 20000,
	.seconds = 60.0,
	.threads = 2,
	.procs = 2,
	.kill_ms = 400,
	.block_ms = 2,
	.min_ops = 1000,	/* or --ops when smaller */
};

static const char *prefix = WORD_BITS == 32 ? "fuzz-m32" : "fuzz";

/* ---- Output ----------------------------------------------------------- */

/* One write() per line, so that lines of several threads and processes do
 * not mix; stdio buffers are never used (they would be duplicated by fork). */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t len, done = 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(buf) - 2 ? (size_t)n : sizeof(buf) - 2;
	buf[len++] = '\n';
	while (done < len) {
		ssize_t w = write(STDOUT_FILENO, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));
static void die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out("# %s: internal error: %s", prefix, buf);
	_exit(3);
}

static const char *ename(long ret)
{
	const char *n;

	if (ret >= 0)
		return "OK";
	n = strerrorname_np((int)-ret);
	return n ? n : "E?";
}

static void set_names(uint32_t set, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < RS_OTHER; i++) {
		if (set & (1u << i)) {
			int n = snprintf(buf + len, size - len, "%s%s",
					 len ? "," : "", xname[i]);

			if (n < 0 || (size_t)n >= size - len)
				break;
			len += (size_t)n;
		}
	}
}

/* ---- Time ------------------------------------------------------------- */

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NSEC),
			       .tv_nsec = (long)(ns % NSEC) };

	/* An interruption shortens the sleep; callers loop anyway. */
	nanosleep(&ts, NULL);
}

/* ---- Random numbers ----------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* ---- Process-wide fixtures (created by the parent, inherited) -------- */

enum kind { K_SEM, K_MUTEX, K_EVENT, K_CHANNEL };
static const char *const kind_name[] = { "sem", "mutex", "event", "channel" };

/*
 * A slot is a fixed fd number holding an object of a fixed kind.  The
 * object behind the number is replaced with dup2() under a sequence count
 * (odd while changing): a reader that sees the same even count before and
 * after its ioctl knows which object the ioctl reached.
 */
struct slot {
	_Atomic uint32_t seq;
	int fd;
	int kind;
	_Atomic uint32_t id;		/* object identity (dup keeps it) */
	_Atomic uint32_t max;		/* semaphore maximum */
	_Atomic uint32_t manual;	/* event type, 0/1 */
	_Atomic bool real;		/* channel slot: a channel, not /dev/null */
	_Atomic bool known;		/* identity known */
	/* Forensics: the last replacement (worker, op number, how). */
	_Atomic uint32_t last_worker;
	_Atomic uint32_t last_op;
	_Atomic int last_how;		/* 0 new object, 1 dup of last_src */
	_Atomic int last_src;
};

static struct {
	int dev, dev2, devnull;
	int pipe_data, pipe_empty, pipe_wr;
	int efd_ready, efd_idle;
	int foreign[3];			/* sem, mutex, event of dev2 */
	uint32_t foreign_max;		/* the foreign semaphore's maximum */
	uint32_t foreign_manual;	/* the foreign event's type */
	void *bad_page;
	bool root;
	struct slot slots[N_SLOTS];
} g;

static _Atomic uint32_t next_obj_id = 1;

#define FOREIGN_ID(k)	(0xF0000000u + (uint32_t)(k))

static struct slot *slot_of(int kind, uint32_t idx)
{
	static const int base[] = { 0, N_SEM, N_SEM + N_MUTEX, N_OBJSLOTS };
	static const int n[] = { N_SEM, N_MUTEX, N_EVENT, N_CHAN };

	return &g.slots[base[kind] + (int)(idx % (uint32_t)n[kind])];
}

/* ---- Workers ------------------------------------------------------------ */

struct worker {
	int p, t;
	unsigned int inc;
	struct rng rng;
	uint64_t hash;
	uint64_t credits;
	uint64_t opno;
	struct wstats *st;
	struct wstatus *ss;
	char *rw;		/* a page, also mapped read-only at ro */
	char *ro;
	char *edge_end;		/* end of a page followed by a PROT_NONE one */
	uint64_t entries[8];	/* channel entries received, to reply to */
	unsigned int n_entries;
	char trace[256];
	size_t trace_len;
};

static struct {
	int p;
	unsigned int inc;
	unsigned int nthreads;
	pthread_t thr[MAX_THREADS];
	struct worker *w[MAX_THREADS];
	_Atomic int go;		/* thr[] is complete */
} pc;

static void on_signal(int sig)
{
	(void)sig;
}

/* Fold a value into the worker's operation-sequence hash (FNV-1a). */
static void fold(struct worker *w, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		w->hash ^= (v >> (8 * i)) & 0xff;
		w->hash *= 0x100000001b3ull;
	}
}

static uint64_t rnd(struct worker *w)
{
	uint64_t v = rng_next(&w->rng);

	fold(w, v);
	return v;
}

static uint32_t below(struct worker *w, uint32_t n)
{
	return (uint32_t)(rnd(w) % n);
}

static void tracef(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tracef(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!opt.trace || w->trace_len >= sizeof(w->trace) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->trace + w->trace_len, sizeof(w->trace) - w->trace_len,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		w->trace_len += (size_t)n;
	if (w->trace_len >= sizeof(w->trace))
		w->trace_len = sizeof(w->trace) - 1;
}

static void unexpected(struct worker *w, int ioc, long ret, uint32_t allowed,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void unexpected(struct worker *w, int ioc, long ret, uint32_t allowed,
		       const char *fmt, ...)
{
	char desc[512], set[160];
	va_list ap;

	w->st->unexpected++;
	if (atomic_fetch_add(&sh->printed, 1) >= 40)
		return;
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	set_names(allowed, set, sizeof(set));
	out("# UNEXPECTED p%d.t%d (incarnation %u) op %" PRIu64 ": %s -> %ld %s, allowed {%s}; %s",
	    w->p, w->t, w->inc, w->opno, ioc_info[ioc].name, ret, ename(ret),
	    set, desc);
}

static void inconsistent(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void inconsistent(struct worker *w, const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	w->st->inconsistent++;
	if (atomic_fetch_add(&sh->printed, 1) >= 40)
		return;
	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	out("# INCONSISTENT p%d.t%d (incarnation %u) op %" PRIu64 ": %s",
	    w->p, w->t, w->inc, w->opno, desc);
}

/* Issue one ioctl; returns the result or a negative errno. */
static long xioctl(struct worker *w, int ioc, int fd, unsigned long cmd,
		   void *arg, bool blocking)
{
	long ret;
	int err;

	tracef(w, " %s(fd %d)", ioc_info[ioc].name, fd);
	atomic_store_explicit(&w->ss->ioc, ioc, memory_order_relaxed);
	if (blocking) {
		STORE64(&w->ss->since, mono_ns());
		atomic_store(&w->ss->state, ST_BLOCKING);
	}
	ret = ioctl(fd, cmd, arg);
	err = ret < 0 ? errno : 0;
	if (blocking)
		atomic_store(&w->ss->state, ST_RUNNING);
	w->st->ioctls++;
	if (w->credits)
		w->credits--;
	w->st->count[ioc][err < N_ERRNO - 1 ? err : N_ERRNO - 1]++;
	return ret < 0 ? -(long)err : ret;
}

static bool check(struct worker *w, int ioc, long ret, uint32_t allowed,
		  const char *what)
{
	if (allowed & (1u << xbit(ret)))
		return true;
	unexpected(w, ioc, ret, allowed, "%s", what);
	return false;
}

/* ---- Argument placement --------------------------------------------- */

enum pclass {
	P_OK,		/* on the stack */
	P_MISALIGNED,	/* readable and writable, odd address */
	P_RO,		/* read-only alias of the same bytes */
	P_EDGE,		/* only the first k < size bytes are mapped */
	P_NULL,
	P_UNMAPPED,
	P_KERNEL,
};

struct argp {
	void *ptr;		/* what the kernel gets */
	void *back;		/* where to read results from, or NULL */
	bool readable;		/* the whole argument */
	bool writable;
	int cls;
};

static int pick_pclass(struct worker *w)
{
	uint32_t r = below(w, 1000);

	if (r < 900) return P_OK;
	if (r < 920) return P_MISALIGNED;
	if (r < 945) return P_RO;
	if (r < 960) return P_EDGE;
	if (r < 975) return P_NULL;
	if (r < 990) return P_UNMAPPED;
	return P_KERNEL;
}

/* Place @size bytes at @local according to @cls (region: 0..3, distinct
 * areas of the worker's page for arguments that coexist). */
static struct argp place(struct worker *w, void *local, size_t size, int cls,
			 int region)
{
	struct argp a = { .cls = cls };
	size_t k = (size_t)(rnd(w) % (size ? size : 1));
	char *rw = w->rw + 1024 * region;

	switch (cls) {
	case P_OK:
		a.ptr = a.back = local;
		a.readable = a.writable = true;
		break;
	case P_MISALIGNED:
		memcpy(rw + 1, local, size);
		a.ptr = a.back = rw + 1;
		a.readable = a.writable = true;
		break;
	case P_RO:
		memcpy(rw + 8, local, size);
		a.ptr = w->ro + 1024 * region + 8;
		a.back = rw + 8;
		a.readable = true;
		break;
	case P_EDGE:
		memcpy(w->edge_end - k, local, k);
		a.ptr = w->edge_end - k;
		a.readable = a.writable = size == 0;
		break;
	case P_NULL:
		a.ptr = NULL;
		break;
	case P_UNMAPPED:
		a.ptr = g.bad_page;
		break;
	default:
		a.ptr = KERNEL_PTR;
		break;
	}
	return a;
}

static uint32_t read_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---- Targets ------------------------------------------------------------ */

enum tclass { TC_OBJ, TC_DEV, TC_NONNT, TC_BAD };

struct target {
	int fd;
	int tc;
	int kind;
	bool foreign;
	struct slot *s;
	uint32_t seq;
	uint32_t id, max, manual;
	bool real, known;
};

static void snap(struct target *t, struct slot *s)
{
	t->tc = TC_OBJ;
	t->foreign = false;
	t->s = s;
	t->fd = s->fd;
	t->kind = s->kind;
	t->seq = atomic_load(&s->seq);
	t->id = atomic_load(&s->id);
	t->max = atomic_load(&s->max);
	t->manual = atomic_load(&s->manual);
	t->real = atomic_load(&s->real);
	t->known = atomic_load(&s->known) && !(t->seq & 1);
}

/* The slot still holds what snap() saw: the ioctl reached that object. */
static bool stable(const struct target *t)
{
	if (t->foreign)
		return true;
	if (!t->s)
		return false;
	return t->known && atomic_load(&t->s->seq) == t->seq;
}

static void pick_nonnt(struct target *t, uint32_t r)
{
	const int fds[] = { g.pipe_data, g.pipe_wr, g.efd_ready, g.efd_idle,
			    g.devnull };

	t->tc = TC_NONNT;
	t->fd = fds[r % 5];
}

static void pick_bad(struct target *t, uint32_t r)
{
	const int fds[] = { CLOSED_FD, -1, INT_MAX, INT_MIN };

	t->tc = TC_BAD;
	t->fd = fds[r % 4];
}

static void pick_foreign(struct target *t, int kind)
{
	t->tc = TC_OBJ;
	t->kind = kind;
	t->foreign = true;
	t->fd = g.foreign[kind];
	t->id = FOREIGN_ID(kind);
	t->max = g.foreign_max;
	t->manual = g.foreign_manual;
	t->known = true;
}

/* A target for an object ioctl that wants @kind. */
static struct target pick_obj_target(struct worker *w, int kind)
{
	struct target t;
	uint32_t r = below(w, 1000), i = (uint32_t)rnd(w);

	memset(&t, 0, sizeof(t));
	t.kind = -1;
	if (r < 840) {
		t.tc = TC_OBJ;
		snap(&t, slot_of(kind, i));
	} else if (r < 900) {
		t.tc = TC_OBJ;
		snap(&t, slot_of((kind + 1 + (int)(i % 3)) % 4, i >> 8));
	} else if (r < 930 && kind != K_CHANNEL) {
		pick_foreign(&t, kind);
	} else if (r < 950) {
		t.tc = TC_DEV;
		t.fd = i & 1 ? g.dev : g.dev2;
	} else if (r < 980) {
		pick_nonnt(&t, i);
	} else {
		pick_bad(&t, i);
	}
	return t;
}

/* A target for a device ioctl. */
static struct target pick_dev_target(struct worker *w)
{
	struct target t;
	uint32_t r = below(w, 1000), i = (uint32_t)rnd(w);

	memset(&t, 0, sizeof(t));
	t.kind = -1;
	if (r < 900) {
		t.tc = TC_DEV;
		t.fd = g.dev;
	} else if (r < 940) {
		t.tc = TC_DEV;
		t.fd = g.dev2;
	} else if (r < 965) {
		t.tc = TC_OBJ;
		snap(&t, &g.slots[i % N_SLOTS]);
	} else if (r < 985) {
		pick_nonnt(&t, i);
	} else {
		pick_bad(&t, i);
	}
	return t;
}

/*
 * Results of an object ioctl that wants @kind, given the target and whether
 * the argument pointer is usable.  @ok_set: what a call on the right kind
 * with a good pointer may give (its value errors included).
 */
static uint32_t expect_obj(const struct target *t, int kind, bool ptr_ok,
			   uint32_t ok_set)
{
	uint32_t e = 0;

	if (t->tc == TC_BAD)
		return A(EBADF);
	if (t->tc != TC_OBJ)
		return A(ENOTTY);
	if (t->kind == K_CHANNEL)	/* /dev/null placeholder or a channel */
		return A(ENOTTY) | A(EINVAL) | A(EFAULT);
	if (!ptr_ok)
		e |= A(EFAULT) | (ok_set & A(EINVAL));
	if (t->kind != kind)
		e |= A(EINVAL);
	return e ? e : ok_set;
}

/* ---- Argument values ----------------------------------------------------- */

static uint32_t pick_u32(struct worker *w)
{
	static const uint32_t v[] = { 0, 1, 2, 3, 64, 65, 0x7fffffffu,
				      0x80000000u, UINT32_MAX - 1, UINT32_MAX };
	uint32_t r = below(w, 16), x = (uint32_t)rnd(w);

	if (r < 10)
		return v[r];
	if (r < 14)
		return x % 8;
	return x;
}

static uint32_t pick_owner(struct worker *w)
{
	uint32_t r = below(w, 100), x = (uint32_t)rnd(w);

	if (r < 75)
		return 1 + x % N_OWNERS;
	if (r < 85)
		return 0;
	if (r < 92)
		return UINT32_MAX;
	return x;
}

static uint32_t pick_count(struct worker *w)
{
	uint32_t r = below(w, 1000), x = (uint32_t)rnd(w);

	if (r < 600) return 1 + x % 4;
	if (r < 800) return 5 + x % 12;
	if (r < 850) return 17 + x % 47;
	if (r < 880) return 64;
	if (r < 900) return 65;
	if (r < 950) return 0;
	if (r < 970) return 66 + x % 1000;
	if (r < 985) return UINT32_MAX;
	return 0x80000000u | x;
}

/* ---- Deadlines ------------------------------------------------------------ */

struct deadline {
	uint64_t value;
	bool can_expire;	/* ETIMEDOUT is a possible result */
};

/* A deadline on the clock that @realtime selects. */
static struct deadline pick_deadline(struct worker *w, bool realtime)
{
	clockid_t clk = realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	clockid_t other = realtime ? CLOCK_MONOTONIC : CLOCK_REALTIME;
	uint32_t r = below(w, 1000), x = (uint32_t)rnd(w);
	struct deadline d = { .can_expire = true };
	uint64_t now = now_ns(clk);

	if (r < 420) {				/* past */
		const uint64_t past[] = { 0, 1, now > NSEC ? now - NSEC : 0,
					  now };

		d.value = past[x % 4];
	} else if (r < 770) {			/* near */
		d.value = now + x % 300000;
	} else if (r < 800) {			/* a few ms */
		d.value = now + 1000000 + x % 4000000;
	} else if (r < 840) {			/* the other clock's now */
		d.value = now_ns(other) + x % 300000;
	} else if (r < 910) {			/* far */
		const uint64_t far[] = { now + FAR_NS, INT64_MAX,
					 (uint64_t)INT64_MAX + 1,
					 UINT64_MAX - 1 };

		d.value = far[x % 4];
	} else {				/* infinite */
		d.value = UINT64_MAX;
	}
	/*
	 * Deadlines beyond INT64_MAX (but not U64_MAX) read as a negative
	 * ktime, long past (as upstream): they can expire.
	 */
	if (d.value == UINT64_MAX ||
	    (d.value <= (uint64_t)INT64_MAX &&
	     d.value > now_ns(clk) + FAR_NS - NSEC))
		d.can_expire = false;
	return d;
}

/* ---- Forensics ---------------------------------------------------------------- */

/* Do two fds share one open file (kcmp)?  1 yes, 0 no, -1 unknown. */
static int same_file(int a, int b)
{
	long r = syscall(SYS_kcmp, (long)getpid(), (long)getpid(),
			 0 /* KCMP_FILE */, (long)a, (long)b);

	return r < 0 ? -1 : r == 0;
}

static void describe_slot(const char *tag, const struct target *t)
{
	const struct slot *s = t->s;

	if (!s) {
		out("#   %s: fd %d class %d%s", tag, t->fd, t->tc,
		    t->foreign ? " (foreign)" : "");
		return;
	}
	out("#   %s: slot %d (%s) fd %d id %#x seq %u->%u known %d; last replaced by p%u.t%u op %u %s%d",
	    tag, (int)(s - g.slots), kind_name[s->kind], t->fd, t->id, t->seq,
	    atomic_load(&s->seq), t->known, atomic_load(&s->last_worker) >> 8,
	    atomic_load(&s->last_worker) & 0xff, atomic_load(&s->last_op),
	    atomic_load(&s->last_how) ? "dup of slot " : "new object",
	    atomic_load(&s->last_how) ? atomic_load(&s->last_src) : 0);
}

/* Which slots share an open file with @fd now, and their recorded ids. */
static void describe_sharing(int fd)
{
	for (int i = 0; i < N_OBJSLOTS; i++) {
		int r = same_file(fd, g.slots[i].fd);

		if (r < 0) {
			out("#   kcmp unavailable: %s", strerror(errno));
			return;
		}
		if (r && g.slots[i].fd != fd)
			out("#   fd %d shares its file with slot %d (fd %d, id %#x)",
			    fd, i, g.slots[i].fd, atomic_load(&g.slots[i].id));
	}
}

/* ---- Operations ------------------------------------------------------------ */

static void read_back_check(struct worker *w, int kind, int fd, uint32_t a,
			    uint32_t b)
{
	static const int iocs[] = { I_SEM_READ, I_MUTEX_READ, I_EVENT_READ };
	uint32_t v[2] = { NTSYNC_INDEX_URING_READY, NTSYNC_INDEX_URING_READY };
	long ret = xioctl(w, iocs[kind], fd, ioc_info[iocs[kind]].cmd, v,
			  false);

	if (!check(w, iocs[kind], ret, A(OK), "read back a new object"))
		return;
	if (kind == K_EVENT) {
		a = !!a;
		b = !!b;
	}
	if (v[0] != a || v[1] != b)
		inconsistent(w, "new %s created with (%u, %u) reads (%u, %u)",
			     kind_name[kind], a, b, v[0], v[1]);
}

/* CREATE_* with any arguments; a new object is read back and closed. */
static void op_create(struct worker *w)
{
	static const int iocs[] = { I_CREATE_SEM, I_CREATE_MUTEX,
				    I_CREATE_EVENT };
	int kind = (int)below(w, 3), ioc = iocs[kind];
	uint32_t v[2] = { pick_u32(w), pick_u32(w) };
	struct target t = pick_dev_target(w);
	struct argp ap = place(w, v, sizeof(v), pick_pclass(w), 0);
	bool valid = kind == K_SEM ? v[0] <= v[1] :
		     kind == K_MUTEX ? !v[0] == !v[1] : true;
	uint32_t allowed;
	char what[128];
	long ret;

	ret = xioctl(w, ioc, t.fd, ioc_info[ioc].cmd, ap.ptr, false);
	if (t.tc == TC_BAD)
		allowed = A(EBADF);
	else if (t.tc != TC_DEV)
		allowed = A(ENOTTY);
	else if (!ap.readable)
		allowed = A(EFAULT);
	else
		allowed = valid ? A(OK) : A(EINVAL);
	snprintf(what, sizeof(what), "args (%u, %u), pointer class %d, target class %d",
		 v[0], v[1], ap.cls, t.tc);
	check(w, ioc, ret, allowed, what);
	if (ret >= 0) {
		if (allowed & A(OK))
			read_back_check(w, kind, (int)ret, v[0], v[1]);
		close((int)ret);
	}
}

/* Put a new object (or another slot's object) behind a slot's fd. */
static void op_replace(struct worker *w)
{
	struct slot *s = &g.slots[below(w, N_SLOTS)];
	uint32_t mode = below(w, 4), r1 = (uint32_t)rnd(w),
		 r2 = (uint32_t)rnd(w);
	uint32_t seq = atomic_load(&s->seq);
	long ret;

	if ((seq & 1) ||
	    !atomic_compare_exchange_strong(&s->seq, &seq, seq + 1)) {
		w->st->skipped++;
		return;
	}

	if (mode == 0 && s->kind != K_CHANNEL) {
		/* Share the object of another slot of the same kind. */
		struct slot *src = slot_of(s->kind, r1);
		struct target t;

		memset(&t, 0, sizeof(t));
		if (src != s) {
			snap(&t, src);
			if (dup2(src->fd, s->fd) < 0)
				die("dup2: %s", strerror(errno));
			atomic_store(&s->id, t.id);
			atomic_store(&s->max, t.max);
			atomic_store(&s->manual, t.manual);
			atomic_store(&s->known, stable(&t));
			atomic_store(&s->last_how, 1);
			atomic_store(&s->last_src, (int)(src - g.slots));
			atomic_store(&s->last_worker, (uint32_t)(w->p << 8 | w->t));
			atomic_store(&s->last_op, (uint32_t)w->opno);
		}
	} else if (s->kind == K_CHANNEL) {
		struct ntsync_channel_create_args ca = {
			.max_depth = 1 + r1 % 16,
		};

		ret = xioctl(w, I_CREATE_CHANNEL, g.dev,
			     NTSYNC_IOC_CREATE_CHANNEL, &ca, false);
		check(w, I_CREATE_CHANNEL, ret, A(OK) | A(ENOTTY),
		      "create a channel to replace a slot");
		if (ret >= 0) {
			if (dup2((int)ret, s->fd) < 0)
				die("dup2: %s", strerror(errno));
			close((int)ret);
			atomic_store(&s->real, true);
			atomic_store(&s->id, atomic_fetch_add(&next_obj_id, 1));
			atomic_store(&s->known, true);
		}
	} else {
		static const uint32_t maxes[] = { 1, 2, 3, 10, UINT32_MAX };
		static const int iocs[] = { I_CREATE_SEM, I_CREATE_MUTEX,
					    I_CREATE_EVENT };
		uint32_t v[2];

		switch (s->kind) {
		case K_SEM:
			v[1] = maxes[r1 % 5];
			v[0] = v[1] == UINT32_MAX ? r2 : r2 % (v[1] + 1);
			break;
		case K_MUTEX:
			v[0] = r1 & 1 ? 0 : 1 + r1 % N_OWNERS;
			v[1] = v[0] ? 1 + r2 % 3 : 0;
			break;
		default:
			v[0] = r1 & 1;
			v[1] = r2 & 1;
			break;
		}
		ret = xioctl(w, iocs[s->kind], g.dev, ioc_info[iocs[s->kind]].cmd,
			     v, false);
		if (check(w, iocs[s->kind], ret, A(OK),
			  "create an object to replace a slot") && ret >= 0) {
			if (dup2((int)ret, s->fd) < 0)
				die("dup2: %s", strerror(errno));
			close((int)ret);
			atomic_store(&s->id, atomic_fetch_add(&next_obj_id, 1));
			atomic_store(&s->max, v[1]);
			atomic_store(&s->manual, v[0]);
			atomic_store(&s->known, true);
			atomic_store(&s->last_how, 0);
			atomic_store(&s->last_worker, (uint32_t)(w->p << 8 | w->t));
			atomic_store(&s->last_op, (uint32_t)w->opno);
		} else if (ret >= 0) {
			close((int)ret);
		}
	}
	atomic_store(&s->seq, seq + 2);
}

static void op_sem_release(struct worker *w)
{
	struct target t = pick_obj_target(w, K_SEM);
	uint32_t r = below(w, 10), x = (uint32_t)rnd(w);
	uint32_t add = r < 2 ? 0 : r < 6 ? 1 : r < 8 ? x % 4 : pick_u32(w);
	uint32_t v = add, prev;
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	uint32_t allowed;
	char what[96];
	long ret;

	ret = xioctl(w, I_SEM_RELEASE, t.fd, NTSYNC_IOC_SEM_RELEASE, ap.ptr,
		     false);
	allowed = expect_obj(&t, K_SEM, ap.readable && ap.writable,
			     A(OK) | (add ? A(EOVERFLOW) : 0));
	snprintf(what, sizeof(what), "add %u, pointer class %d", add, ap.cls);
	check(w, I_SEM_RELEASE, ret, allowed, what);
	if (ret == 0 && ap.back && t.tc == TC_OBJ && t.kind == K_SEM &&
	    stable(&t)) {
		prev = read_u32(ap.back);
		if (prev > t.max || add > t.max - prev)
			inconsistent(w, "SEM_RELEASE of %u succeeded with previous count %u, max %u",
				     add, prev, t.max);
	}
}

static void op_sem_read(struct worker *w)
{
	struct target t = pick_obj_target(w, K_SEM);
	struct ntsync_sem_args v = { NTSYNC_INDEX_URING_READY, 0 };
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	long ret;

	ret = xioctl(w, I_SEM_READ, t.fd, NTSYNC_IOC_SEM_READ, ap.ptr, false);
	check(w, I_SEM_READ, ret,
	      expect_obj(&t, K_SEM, ap.writable, A(OK)), "SEM_READ");
	if (ret == 0 && ap.back && t.tc == TC_OBJ && t.kind == K_SEM) {
		memcpy(&v, ap.back, sizeof(v));
		if (v.count > v.max)
			inconsistent(w, "semaphore reads count %u > max %u",
				     v.count, v.max);
		else if (stable(&t) && v.max != t.max)
			inconsistent(w, "semaphore reads max %u, created with %u",
				     v.max, t.max);
	}
}

static void op_mutex_unlock(struct worker *w)
{
	struct target t = pick_obj_target(w, K_MUTEX);
	struct ntsync_mutex_args v = { .owner = pick_owner(w),
				       .count = NTSYNC_INDEX_URING_READY };
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	uint32_t owner = v.owner;
	long ret;

	ret = xioctl(w, I_MUTEX_UNLOCK, t.fd, NTSYNC_IOC_MUTEX_UNLOCK, ap.ptr,
		     false);
	check(w, I_MUTEX_UNLOCK, ret,
	      expect_obj(&t, K_MUTEX, ap.readable && ap.writable,
			 owner ? A(OK) | A(EPERM) : A(EINVAL)),
	      "MUTEX_UNLOCK");
	if (ret == 0 && ap.back && t.tc == TC_OBJ && t.kind == K_MUTEX) {
		memcpy(&v, ap.back, sizeof(v));
		if (v.count == 0)
			inconsistent(w, "MUTEX_UNLOCK by %u succeeded with previous count 0",
				     owner);
	}
}

static void op_mutex_kill(struct worker *w)
{
	struct target t = pick_obj_target(w, K_MUTEX);
	uint32_t owner = pick_owner(w);
	struct argp ap = place(w, &owner, sizeof(owner), pick_pclass(w), 0);
	long ret;

	ret = xioctl(w, I_MUTEX_KILL, t.fd, NTSYNC_IOC_MUTEX_KILL, ap.ptr,
		     false);
	check(w, I_MUTEX_KILL, ret,
	      expect_obj(&t, K_MUTEX, ap.readable,
			 owner ? A(OK) | A(EPERM) : A(EINVAL)),
	      "MUTEX_KILL");
}

static void op_mutex_read(struct worker *w)
{
	struct target t = pick_obj_target(w, K_MUTEX);
	struct ntsync_mutex_args v = { NTSYNC_INDEX_URING_READY,
				       NTSYNC_INDEX_URING_READY };
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	long ret;

	ret = xioctl(w, I_MUTEX_READ, t.fd, NTSYNC_IOC_MUTEX_READ, ap.ptr,
		     false);
	check(w, I_MUTEX_READ, ret,
	      expect_obj(&t, K_MUTEX, ap.writable, A(OK) | A(EOWNERDEAD)),
	      "MUTEX_READ");
	if ((ret == 0 || ret == -EOWNERDEAD) && ap.back && t.tc == TC_OBJ &&
	    t.kind == K_MUTEX) {
		memcpy(&v, ap.back, sizeof(v));
		if (ret == -EOWNERDEAD ? v.owner || v.count :
		    !v.owner != !v.count)
			inconsistent(w, "MUTEX_READ %s reads owner %u count %u",
				     ename(ret), v.owner, v.count);
	}
}

static void op_event_change(struct worker *w, int ioc)
{
	struct target t = pick_obj_target(w, K_EVENT);
	uint32_t v = NTSYNC_INDEX_URING_READY;
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	long ret;

	ret = xioctl(w, ioc, t.fd, ioc_info[ioc].cmd, ap.ptr, false);
	check(w, ioc, ret,
	      expect_obj(&t, K_EVENT, ap.readable && ap.writable, A(OK)),
	      ioc_info[ioc].name);
	if (ret == 0 && ap.back && t.tc == TC_OBJ && t.kind == K_EVENT &&
	    read_u32(ap.back) > 1)
		inconsistent(w, "%s: previous state %u", ioc_info[ioc].name,
			     read_u32(ap.back));
}

static void op_event_read(struct worker *w)
{
	struct target t = pick_obj_target(w, K_EVENT);
	struct ntsync_event_args v = { NTSYNC_INDEX_URING_READY,
				       NTSYNC_INDEX_URING_READY };
	struct argp ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	long ret;

	ret = xioctl(w, I_EVENT_READ, t.fd, NTSYNC_IOC_EVENT_READ, ap.ptr,
		     false);
	check(w, I_EVENT_READ, ret, expect_obj(&t, K_EVENT, ap.writable, A(OK)),
	      "EVENT_READ");
	if (ret == 0 && ap.back && t.tc == TC_OBJ && t.kind == K_EVENT) {
		memcpy(&v, ap.back, sizeof(v));
		if (v.signaled > 1 || v.manual > 1)
			inconsistent(w, "event reads manual %u signaled %u",
				     v.manual, v.signaled);
		else if (stable(&t) && v.manual != !!t.manual) {
			inconsistent(w, "event reads manual %u, created with %u",
				     v.manual, t.manual);
			if (atomic_load(&sh->printed) < 40) {
				struct ntsync_event_args again;

				describe_slot("event", &t);
				describe_sharing(t.fd);
				memset(&again, 0xff, sizeof(again));
				out("#   read again: %ld manual %u signaled %u",
				    xioctl(w, I_EVENT_READ, t.fd,
					   NTSYNC_IOC_EVENT_READ, &again, false),
				    again.manual, again.signaled);
			}
		}
	}
}

static void pick_pi(struct worker *w, uint32_t *policy, uint32_t *prio)
{
	uint32_t r = below(w, 100), q = below(w, 100), x = (uint32_t)rnd(w);

	*policy = r < 45 ? SCHED_FIFO : r < 75 ? SCHED_RR :
		  r < 85 ? SCHED_OTHER : r < 90 ? 6 /* DEADLINE */ :
		  r < 95 ? 3 /* BATCH */ : x;
	*prio = q < 20 ? 0 : q < 85 ? 1 + x % 20 : q < 89 ? 99 :
		q < 93 ? 100 : q < 96 ? UINT32_MAX : x;
}

/* EVENT_SET_PI (and SEND_PI) argument validity. */
static uint32_t pi_result(uint32_t policy, uint32_t prio)
{
	if (!prio)
		return A(OK);
	if ((policy != SCHED_FIFO && policy != SCHED_RR) || prio > 99)
		return A(EINVAL);
	return g.root ? A(OK) : A(OK) | A(EPERM);
}

static void op_event_set_pi(struct worker *w)
{
	struct target t = pick_obj_target(w, K_EVENT);
	struct ntsync_event_set_pi_args v;
	uint32_t r = below(w, 100), x = (uint32_t)rnd(w);
	struct argp ap;
	uint32_t ok;
	long ret;

	memset(&v, 0, sizeof(v));
	pick_pi(w, &v.policy, &v.prio);
	if (r < 3)
		v.flags = x | 1;
	else if (r < 6)
		v.__pad = x | 1;
	ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
	ok = v.flags || v.__pad ? A(EINVAL) : pi_result(v.policy, v.prio);
	ret = xioctl(w, I_EVENT_SET_PI, t.fd, NTSYNC_IOC_EVENT_SET_PI, ap.ptr,
		     false);
	check(w, I_EVENT_SET_PI, ret, expect_obj(&t, K_EVENT, ap.readable, ok),
	      "EVENT_SET_PI");
}

/* ---- Waits ------------------------------------------------------------- */

/* One entry of a wait's fd array (or its alert). */
static void pick_wait_entry(struct worker *w, struct target *e, bool on_dev2)
{
	uint32_t r = below(w, 1000), i = (uint32_t)rnd(w), f = below(w, 5);

	memset(e, 0, sizeof(*e));
	e->kind = -1;
	if (on_dev2 && r < 880 && f)
		r = 900;
	if (r < 880) {
		e->tc = TC_OBJ;
		snap(e, &g.slots[i % N_OBJSLOTS]);
	} else if (r < 895) {
		e->tc = TC_OBJ;
		snap(e, slot_of(K_CHANNEL, i));
	} else if (r < 935) {
		pick_foreign(e, (int)(i % 3));
	} else if (r < 950) {
		e->tc = TC_DEV;
		e->fd = i & 1 ? g.dev : g.dev2;
	} else if (r < 975) {
		pick_nonnt(e, i);
	} else {
		pick_bad(e, i);
	}
}

/* An object the issuing device can wait on. */
static bool wait_entry_valid(const struct target *e, bool on_dev2)
{
	return e->tc == TC_OBJ && e->kind != K_CHANNEL &&
	       e->foreign == on_dev2;
}

enum { OBJS_OK, OBJS_RO, OBJS_MIS, OBJS_EDGE_EXACT, OBJS_EDGE_SHORT,
       OBJS_NULL, OBJS_UNMAPPED, OBJS_KERNEL, OBJS_GARBAGE };

static void op_wait(struct worker *w, bool all)
{
	int ioc = all ? I_WAIT_ALL : I_WAIT_ANY;
	struct target ent[NTSYNC_MAX_WAIT_COUNT + 1], alert, issuer;
	int fds[NTSYNC_MAX_WAIT_COUNT + 1];
	struct ntsync_wait_args a, *res;
	uint32_t r, x, count, nfill, i, j, objs_cls, allowed, inv = 0, valid;
	bool on_dev2 = false, has_alert = false, uring = false;
	bool has_mutex = false, dup_known = false, dup_maybe = false;
	bool objs_ok, realtime;
	struct deadline dl;
	struct argp ap;
	char what[160];
	long ret;

	/* The fd the wait is issued on. */
	memset(&issuer, 0, sizeof(issuer));
	r = below(w, 100);
	x = (uint32_t)rnd(w);
	if (r < 92) {
		issuer.tc = TC_DEV;
		issuer.fd = g.dev;
	} else if (r < 96) {
		issuer.tc = TC_DEV;
		issuer.fd = g.dev2;
		on_dev2 = true;
	} else if (r < 98) {
		issuer.tc = TC_OBJ;
		issuer.fd = g.slots[x % N_SLOTS].fd;
	} else if (r < 99) {
		pick_nonnt(&issuer, x);
	} else {
		pick_bad(&issuer, x);
	}

	count = pick_count(w);
	nfill = count <= NTSYNC_MAX_WAIT_COUNT + 1 ? count :
		NTSYNC_MAX_WAIT_COUNT + 1;
	for (i = 0; i < nfill; i++) {
		pick_wait_entry(w, &ent[i], on_dev2);
		fds[i] = ent[i].fd;
	}

	memset(&a, 0, sizeof(a));
	a.count = count;
	a.owner = pick_owner(w);
	a.index = NTSYNC_INDEX_URING_READY - 1;

	/* Alert: none, an event, or anything else. */
	r = below(w, 100);
	memset(&alert, 0, sizeof(alert));
	x = (uint32_t)rnd(w);
	if (r >= 80) {
		has_alert = true;
		if (r < 92) {
			if (on_dev2) {
				pick_foreign(&alert, K_EVENT);
			} else {
				alert.tc = TC_OBJ;
				snap(&alert, slot_of(K_EVENT, x));
			}
		} else if (r < 96) {
			alert.tc = TC_OBJ;
			snap(&alert, slot_of((int)(x % 2), x >> 4));
		} else {
			pick_wait_entry(w, &alert, false);
			if (alert.tc == TC_OBJ && alert.kind == K_EVENT &&
			    !alert.foreign)
				pick_nonnt(&alert, x);
		}
		a.alert = (uint32_t)alert.fd;
		if (!a.alert)	/* fd 0 would mean "no alert" */
			has_alert = false;
	}

	r = below(w, 100);
	x = (uint32_t)rnd(w);
	if (r < 72) {
		a.flags = 0;
	} else if (r < 97) {
		a.flags = NTSYNC_WAIT_REALTIME;
	} else {
		const uint32_t bad[] = { 2, 3, 0x80000000u, UINT32_MAX };

		a.flags = bad[x % 4];
	}
	realtime = a.flags & NTSYNC_WAIT_REALTIME;

	r = below(w, 100);
	x = (uint32_t)rnd(w);
	if (r >= 96) {
		if (r < 98) {
			/* Wine-NSPA's uring_fd: an eventfd. */
			a.pad = (uint32_t)(x & 1 ? g.efd_ready : g.efd_idle);
			uring = true;
		} else {
			const uint32_t bad[] = { 1, UINT32_MAX,
						 (uint32_t)g.devnull,
						 (uint32_t)g.pipe_data };

			a.pad = bad[x % 4];
			inv |= A(EINVAL);
		}
	}

	dl = pick_deadline(w, realtime);
	a.timeout = dl.value;

	/* Where the fd array is. */
	r = below(w, 1000);
	x = (uint32_t)rnd(w);
	objs_cls = r < 880 ? OBJS_OK : r < 910 ? OBJS_RO : r < 930 ? OBJS_MIS :
		   r < 950 ? OBJS_EDGE_EXACT : r < 970 ? OBJS_EDGE_SHORT :
		   r < 980 ? OBJS_NULL : r < 990 ? OBJS_UNMAPPED :
		   r < 995 ? OBJS_KERNEL : OBJS_GARBAGE;
	{
		size_t bytes = nfill * sizeof(int);
		char *ro_base = w->rw + 1024 + 8;

		switch (objs_cls) {
		case OBJS_OK:
			a.objs = (uint64_t)(uintptr_t)fds;
			break;
		case OBJS_RO:
			memcpy(ro_base, fds, bytes);
			a.objs = (uint64_t)(uintptr_t)(w->ro + 1024 + 8);
			break;
		case OBJS_MIS:
			memcpy(w->rw + 2048 + 1, fds, bytes);
			a.objs = (uint64_t)(uintptr_t)(w->rw + 2048 + 1);
			break;
		case OBJS_EDGE_EXACT:
			memcpy(w->edge_end - bytes, fds, bytes);
			a.objs = (uint64_t)(uintptr_t)(w->edge_end - bytes);
			break;
		case OBJS_EDGE_SHORT:
			bytes = (x % (nfill ? nfill : 1)) * sizeof(int);
			memcpy(w->edge_end - bytes, fds, bytes);
			a.objs = (uint64_t)(uintptr_t)(w->edge_end - bytes);
			break;
		case OBJS_NULL:
			a.objs = 0;
			break;
		case OBJS_UNMAPPED:
			a.objs = (uint64_t)(uintptr_t)g.bad_page;
			break;
		case OBJS_KERNEL:
			a.objs = (uint64_t)(uintptr_t)KERNEL_PTR;
			break;
		default:
			a.objs = 0xdead000000000000ull | x;
			break;
		}
	}
	objs_ok = count == 0 || objs_cls <= OBJS_EDGE_EXACT;

	ap = place(w, &a, sizeof(a), pick_pclass(w), 0);
	tracef(w, " count %u owner %u alert %u flags %#x pad %u objs %u",
	       count, a.owner, a.alert, a.flags, a.pad, objs_cls);

	ret = xioctl(w, ioc, issuer.fd, ioc_info[ioc].cmd, ap.ptr, true);

	/* What the call may give. */
	valid = A(OK) | A(EINTR) | (dl.can_expire ? A(ETIMEDOUT) : 0);
	if (issuer.tc == TC_BAD) {
		allowed = A(EBADF);
	} else if (issuer.tc != TC_DEV) {
		allowed = A(ENOTTY);
	} else if (!(ap.readable && ap.writable)) {
		allowed = A(EFAULT);
	} else {
		if (a.flags & ~NTSYNC_WAIT_REALTIME)
			inv |= A(EINVAL);
		if (has_alert && !(wait_entry_valid(&alert, on_dev2) &&
				   alert.kind == K_EVENT))
			inv |= A(EINVAL);
		/* Linux 7.x: every wait names an owner (checked first). */
		if (count > NTSYNC_MAX_WAIT_COUNT || !a.owner) {
			inv |= A(EINVAL);
		} else if (!objs_ok) {
			inv |= A(EFAULT);
		} else {
			for (i = 0; i < count; i++) {
				if (!wait_entry_valid(&ent[i], on_dev2))
					inv |= A(EINVAL);
				else if (ent[i].kind == K_MUTEX)
					has_mutex = true;
			}
		}
		if (all && !inv) {
			/* Each object once, the alert included. */
			if (has_alert)
				ent[count] = alert;
			for (i = 1; i < count + has_alert; i++) {
				for (j = 0; j < i; j++) {
					if (!stable(&ent[i]) || !stable(&ent[j]))
						dup_maybe = true;
					else if (ent[i].id == ent[j].id)
						dup_known = true;
				}
			}
		}
		if (has_mutex)
			valid |= A(EOWNERDEAD);
		if (inv)
			allowed = inv;
		else if (dup_known)
			allowed = A(EINVAL);
		else
			allowed = valid | (dup_maybe ? A(EINVAL) : 0);
	}
	snprintf(what, sizeof(what),
		 "count %u owner %u alert %u flags %#x pad %u timeout %#" PRIx64 " objs class %u args class %d on %s",
		 count, a.owner, a.alert, a.flags, a.pad, (uint64_t)a.timeout, objs_cls,
		 ap.cls, on_dev2 ? "dev2" : "dev");
	if (!check(w, ioc, ret, allowed, what)) {
		if (ret == -EINVAL && atomic_load(&sh->printed) < 40) {
			for (i = 0; i < count && i <= NTSYNC_MAX_WAIT_COUNT; i++) {
				char tag[16];

				snprintf(tag, sizeof(tag), "entry %u", i);
				describe_slot(tag, &ent[i]);
			}
			if (has_alert)
				describe_slot("alert", &alert);
			for (i = 1; i < count && i <= NTSYNC_MAX_WAIT_COUNT; i++)
				for (j = 0; j < i; j++)
					if (same_file(ent[i].fd, ent[j].fd) == 1)
						out("#   entries %u and %u share one file now",
						    j, i);
			for (i = 0; i < count && i <= NTSYNC_MAX_WAIT_COUNT; i++)
				describe_sharing(ent[i].fd);
		}
		return;
	}
	if (!ap.back)
		return;

	/* The index is written on success only, and is in range. */
	res = ap.back;
	i = read_u32(&res->index);
	if (ret == 0 || ret == -EOWNERDEAD) {
		bool ok;

		if (uring && i == NTSYNC_INDEX_URING_READY)
			ok = ret == 0;
		else if (has_alert && i == count)
			ok = ret == 0;
		else if (all)
			ok = i == 0 && (ret == 0 || has_mutex);
		else
			ok = i < count && (ret == 0 || ent[i].kind == K_MUTEX);
		if (!ok)
			inconsistent(w, "%s returned %s with index %u (%s)",
				     ioc_info[ioc].name, ename(ret), i, what);
	} else if (i != NTSYNC_INDEX_URING_READY - 1) {
		inconsistent(w, "%s failed with %s but wrote index %u (%s)",
			     ioc_info[ioc].name, ename(ret), i, what);
	}
}

/* ---- Channels and the aggregate wait ----------------------------------- */

static void remember_entry(struct worker *w, uint64_t id)
{
	w->entries[w->n_entries++ % 8] = id;
	if (w->n_entries > 8)
		w->n_entries = 8;
}

static void op_aggregate(struct worker *w, struct target *t, long *ret,
			 struct argp *ap)
{
	struct ntsync_aggregate_source src[NTSYNC_AGG_MAX + 1];
	struct ntsync_aggregate_wait_args a;
	uint32_t n = pick_count(w), i, x;
	struct deadline dl;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < n && i <= NTSYNC_AGG_MAX; i++) {
		struct target e;
		uint32_t r = below(w, 100);

		x = (uint32_t)rnd(w);
		pick_wait_entry(w, &e, false);
		memset(&src[i], 0, sizeof(src[i]));
		if (r < 50) {
			src[i].type = NTSYNC_AGG_OBJECT;
		} else if (r < 90) {
			const int fds[] = { g.pipe_data, g.pipe_empty,
					    g.efd_ready, g.efd_idle };

			src[i].type = NTSYNC_AGG_FD;
			if (x & 1)
				e.fd = fds[(x >> 1) % 4];
		} else {
			src[i].type = x % 4 == 0 ? 0 : x % 4 == 1 ? 3 : x;
		}
		src[i].events = r < 95 ? POLLIN : x;
		src[i].fd = (uint32_t)e.fd;
		if (below(w, 50) == 0)
			src[i].__pad = x | 1;
	}
	a.nb_sources = n;
	a.sources = below(w, 40) ? (uint64_t)(uintptr_t)src :
		    (uint64_t)(uintptr_t)g.bad_page;
	a.owner = pick_owner(w);
	a.flags = below(w, 4) ? 0 : below(w, 8) ? NTSYNC_AGG_FLAG_REALTIME :
		  (uint32_t)rnd(w);
	dl = pick_deadline(w, a.flags & NTSYNC_AGG_FLAG_REALTIME);
	a.timeout = dl.value;
	a.fired_index = NTSYNC_INDEX_URING_READY;
	if (below(w, 50) == 0)
		a.__pad = (uint32_t)rnd(w) | 1;
	*ap = place(w, &a, sizeof(a), pick_pclass(w), 0);
	*ret = xioctl(w, I_AGGREGATE_WAIT, t->fd, NTSYNC_IOC_AGGREGATE_WAIT,
		      ap->ptr, true);
}

static void op_channel(struct worker *w)
{
	int ioc = I_CREATE_CHANNEL + (int)below(w, 9);
	bool dev_ioctl = ioc == I_CREATE_CHANNEL || ioc == I_AGGREGATE_WAIT;
	struct target t = dev_ioctl ? pick_dev_target(w) :
			  pick_obj_target(w, K_CHANNEL);
	union {
		struct ntsync_channel_create_args create;
		struct ntsync_channel_send_args send;
		struct ntsync_channel_recv_args recv;
		struct ntsync_channel_recv2_args recv2;
		struct ntsync_channel_register_thread_args reg;
		uint64_t id;
		uint32_t tid;
	} v;
	uint32_t x = (uint32_t)rnd(w), y = (uint32_t)rnd(w), allowed;
	struct argp ap;
	bool blocking = false;
	long ret;

	memset(&v, 0, sizeof(v));
	switch (ioc) {
	case I_CREATE_CHANNEL:
		v.create.max_depth = x % 4 ? 1 + y % 1024 : pick_u32(w);
		if (!(x % 16))
			v.create.__pad = y | 1;
		break;
	case I_CHANNEL_SEND_PI:
		pick_pi(w, &v.send.policy, &v.send.prio);
		v.send.payload_off = rnd(w);
		v.send.reply_off = rnd(w);
		blocking = true;
		break;
	case I_CHANNEL_RECV:
	case I_CHANNEL_RECV2:
		blocking = true;
		break;
	case I_CHANNEL_REPLY: {
		/* Drawn whatever happened before: no result steers the RNG. */
		uint64_t any = rnd(w);

		v.id = w->n_entries && (x & 3) ? w->entries[y % w->n_entries] :
		       any;
		break;
	}
	case I_CHANNEL_REGISTER:
		v.reg.tid = x & 1 ? (uint32_t)syscall(SYS_gettid) : y;
		v.reg.token = rnd(w);
		if (!(x % 16))
			v.reg.__pad = y | 1;
		break;
	case I_CHANNEL_DEREGISTER:
		v.tid = x & 1 ? (uint32_t)syscall(SYS_gettid) : y;
		break;
	default:
		break;
	}

	if (ioc == I_AGGREGATE_WAIT) {
		op_aggregate(w, &t, &ret, &ap);
	} else {
		ap = place(w, &v, sizeof(v), pick_pclass(w), 0);
		ret = xioctl(w, ioc, t.fd, ioc_info[ioc].cmd, ap.ptr, blocking);
	}

	if (t.tc == TC_BAD)
		allowed = A(EBADF);
	else if (t.tc == TC_NONNT)
		allowed = A(ENOTTY);
	else if (dev_ioctl)
		allowed = t.tc == TC_DEV ? chan_table[ioc] : A(ENOTTY);
	else if (t.tc == TC_DEV)
		allowed = A(ENOTTY) | A(EINVAL);
	else if (t.kind == K_CHANNEL)
		allowed = chan_table[ioc];
	else
		allowed = A(ENOTTY) | A(EINVAL) | A(EFAULT);
	check(w, ioc, ret, allowed, "channel/aggregate ioctl");

	if (ret >= 0 && ioc == I_CREATE_CHANNEL)
		close((int)ret);
	if (ret == 0 && ap.back &&
	    (ioc == I_CHANNEL_RECV || ioc == I_CHANNEL_RECV2 ||
	     ioc == I_CHANNEL_TRY_RECV2))
		remember_entry(w, ((struct ntsync_channel_recv_args *)ap.back)->entry_id);
}

/* ---- Everything else ------------------------------------------------------ */

static bool known_cmd(unsigned long cmd)
{
	for (int i = 0; i < I_GARBAGE; i++)
		if (ioc_info[i].cmd == cmd)
			return true;
	return false;
}

/* A command of type 'N' that is not ours: ENOTTY everywhere. */
static void op_garbage(struct worker *w)
{
	static const uint32_t sizes[] = { 0, 1, 4, 8, 12, 16, 24, 32, 40, 48 };
	uint32_t dir = below(w, 4), r = below(w, 4), x = (uint32_t)rnd(w);
	uint32_t nr = r ? 0x78 + x % 0x28 : x % 256;
	uint32_t size = (x >> 8) % 4 ? sizes[(x >> 10) % 10] : (x >> 12) % 0x4000;
	uint32_t pick = below(w, 100), i = (uint32_t)rnd(w);
	unsigned long cmd = _IOC(dir, 'N', nr, size);
	uint64_t buf[8];
	struct target t;
	long ret;

	while (known_cmd(cmd))
		cmd = _IOC(dir, 'N', nr, ++size % 0x4000);
	memset(&t, 0, sizeof(t));
	if (pick < 30) {
		t.tc = TC_DEV;
		t.fd = g.dev;
	} else if (pick < 80) {
		t.tc = TC_OBJ;
		t.fd = g.slots[i % N_SLOTS].fd;
	} else if (pick < 92) {
		pick_nonnt(&t, i);
	} else {
		pick_bad(&t, i);
	}
	memset(buf, 0, sizeof(buf));
	ret = xioctl(w, I_GARBAGE, t.fd, cmd, i & 1 ? (void *)buf : NULL, false);
	if (!check(w, I_GARBAGE, ret, t.tc == TC_BAD ? A(EBADF) : A(ENOTTY),
		   "unknown command"))
		out("#   the command was %#lx on fd %d", cmd, t.fd);
}

/* A private device: objects outlive its fd; waits on it; teardown. */
static void op_dev_churn(struct worker *w)
{
	uint32_t x = (uint32_t)rnd(w), order = below(w, 2);
	int d = open("/dev/ntsync", O_RDWR | O_CLOEXEC), sem, ev, fds[2];
	struct ntsync_sem_args sa = { .count = x % 2, .max = 1 };
	struct ntsync_event_args ea = { .manual = x & 2, .signaled = 0 };
	struct ntsync_wait_args a;
	uint32_t u = 1;
	long ret;

	if (d < 0)
		die("open /dev/ntsync: %s", strerror(errno));
	sem = (int)xioctl(w, I_CREATE_SEM, d, NTSYNC_IOC_CREATE_SEM, &sa, false);
	check(w, I_CREATE_SEM, sem, A(OK), "CREATE_SEM on a private device");
	ev = (int)xioctl(w, I_CREATE_EVENT, d, NTSYNC_IOC_CREATE_EVENT, &ea,
			 false);
	check(w, I_CREATE_EVENT, ev, A(OK), "CREATE_EVENT on a private device");
	if (sem < 0 || ev < 0) {
		close(d);
		if (sem >= 0)
			close(sem);
		if (ev >= 0)
			close(ev);
		return;
	}
	fds[0] = sem;
	fds[1] = ev;
	memset(&a, 0, sizeof(a));
	a.objs = (uint64_t)(uintptr_t)fds;
	a.count = 2;
	a.owner = 1;
	ret = xioctl(w, I_WAIT_ANY, d, NTSYNC_IOC_WAIT_ANY, &a, true);
	check(w, I_WAIT_ANY, ret, A(OK) | A(ETIMEDOUT) | A(EINTR),
	      "try-wait on a private device");
	if (ret == 0 && a.index != 0)
		inconsistent(w, "private try-wait took index %u, only the semaphore was signaled",
			     a.index);
	/* The device goes first: its objects keep it alive. */
	if (order)
		close(d);
	ret = xioctl(w, I_EVENT_SET, ev, NTSYNC_IOC_EVENT_SET, &u, false);
	check(w, I_EVENT_SET, ret, A(OK), "EVENT_SET on a private device");
	u = 1;
	ret = xioctl(w, I_SEM_RELEASE, sem, NTSYNC_IOC_SEM_RELEASE, &u, false);
	check(w, I_SEM_RELEASE, ret, A(OK) | A(EOVERFLOW),
	      "SEM_RELEASE on a private device");
	if (!order) {
		a.timeout = 0;
		ret = xioctl(w, I_WAIT_ALL, d, NTSYNC_IOC_WAIT_ALL, &a, true);
		check(w, I_WAIT_ALL, ret, A(OK) | A(EINTR),
		      "wait-all on a private device, both signaled");
		close(d);
	}
	close(x & 4 ? sem : ev);
	close(x & 4 ? ev : sem);
}

static void op_signal_peer(struct worker *w)
{
	uint32_t t = below(w, pc.nthreads);

	if (atomic_load(&sh->status[w->p][t].state) != ST_DONE)
		pthread_kill(pc.thr[t], SIGUSR1);
	ADD64(&sh->signals, 1);
}

/* Change our own scheduling: waiter order and PI follow task->prio. */
static void op_sched(struct worker *w)
{
	uint32_t r = below(w, 3), prio = 1 + below(w, 3);
	struct sched_param sp = { .sched_priority = r ? (int)prio : 0 };

	sched_setscheduler(0, r == 0 ? SCHED_OTHER : r == 1 ? SCHED_FIFO :
			   SCHED_RR, &sp);
}

enum op {
	OP_CREATE, OP_REPLACE, OP_SEM_RELEASE, OP_SEM_READ, OP_MUTEX_UNLOCK,
	OP_MUTEX_KILL, OP_MUTEX_READ, OP_EVENT_SET, OP_EVENT_RESET,
	OP_EVENT_PULSE, OP_EVENT_READ, OP_EVENT_SET_PI, OP_WAIT_ANY,
	OP_WAIT_ALL, OP_CHANNEL, OP_GARBAGE, OP_DEV_CHURN, OP_SIGNAL_PEER,
	OP_SCHED, N_OP
};

static const char *const op_name[N_OP] = {
	"create", "replace", "sem_release", "sem_read", "mutex_unlock",
	"mutex_kill", "mutex_read", "event_set", "event_reset", "event_pulse",
	"event_read", "event_set_pi", "wait_any", "wait_all", "channel",
	"garbage", "dev_churn", "signal_peer", "sched",
};

static const uint32_t op_weight[N_OP] = {
	[OP_CREATE] = 5, [OP_REPLACE] = 3, [OP_SEM_RELEASE] = 9,
	[OP_SEM_READ] = 4, [OP_MUTEX_UNLOCK] = 9, [OP_MUTEX_KILL] = 2,
	[OP_MUTEX_READ] = 4, [OP_EVENT_SET] = 6, [OP_EVENT_RESET] = 4,
	[OP_EVENT_PULSE] = 4, [OP_EVENT_READ] = 4, [OP_EVENT_SET_PI] = 5,
	[OP_WAIT_ANY] = 16, [OP_WAIT_ALL] = 9, [OP_CHANNEL] = 5,
	[OP_GARBAGE] = 2, [OP_DEV_CHURN] = 1, [OP_SIGNAL_PEER] = 1,
	[OP_SCHED] = 1,
};

static void do_op(struct worker *w)
{
	uint32_t total = 0, r;
	int op;

	for (op = 0; op < N_OP; op++)
		total += op_weight[op];
	r = below(w, total);
	for (op = 0; r >= op_weight[op]; op++)
		r -= op_weight[op];
	fold(w, (uint64_t)op);
	w->trace_len = 0;
	tracef(w, "p%d.t%d #%" PRIu64 " %s:", w->p, w->t, w->opno, op_name[op]);

	switch (op) {
	case OP_CREATE: op_create(w); break;
	case OP_REPLACE: op_replace(w); break;
	case OP_SEM_RELEASE: op_sem_release(w); break;
	case OP_SEM_READ: op_sem_read(w); break;
	case OP_MUTEX_UNLOCK: op_mutex_unlock(w); break;
	case OP_MUTEX_KILL: op_mutex_kill(w); break;
	case OP_MUTEX_READ: op_mutex_read(w); break;
	case OP_EVENT_SET: op_event_change(w, I_EVENT_SET); break;
	case OP_EVENT_RESET: op_event_change(w, I_EVENT_RESET); break;
	case OP_EVENT_PULSE: op_event_change(w, I_EVENT_PULSE); break;
	case OP_EVENT_READ: op_event_read(w); break;
	case OP_EVENT_SET_PI: op_event_set_pi(w); break;
	case OP_WAIT_ANY: op_wait(w, false); break;
	case OP_WAIT_ALL: op_wait(w, true); break;
	case OP_CHANNEL: op_channel(w); break;
	case OP_GARBAGE: op_garbage(w); break;
	case OP_DEV_CHURN: op_dev_churn(w); break;
	case OP_SIGNAL_PEER: op_signal_peer(w); break;
	default: op_sched(w); break;
	}
	if (opt.trace) {
		w->trace[w->trace_len] = '\0';
		/* stderr: the trace is not TAP. */
		dprintf(STDERR_FILENO, "%s\n", w->trace);
	}
}

/* ---- Fuzz processes --------------------------------------------------------- */

static uint64_t worker_seed(int p, unsigned int inc, int t)
{
	uint64_t x = opt.seed ^ ((uint64_t)p << 40) ^ ((uint64_t)inc << 20) ^
		     (uint64_t)t;

	return splitmix64(&x);
}

static void worker_mem(struct worker *w)
{
	long page = sysconf(_SC_PAGESIZE);
	int mfd = (int)syscall(SYS_memfd_create, "ntsync-fuzz", 1u /* CLOEXEC */);
	char *e;

	if (mfd < 0 || ftruncate(mfd, page))
		die("memfd: %s", strerror(errno));
	w->rw = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED,
		     mfd, 0);
	w->ro = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);
	e = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->rw == MAP_FAILED || w->ro == MAP_FAILED || e == MAP_FAILED ||
	    mprotect(e + page, (size_t)page, PROT_NONE))
		die("mmap: %s", strerror(errno));
	/* Touch everything now: no page fault allocations during ioctls. */
	memset(w->rw, 0, (size_t)page);
	memset(e, 0, (size_t)page);
	w->edge_end = e + page;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->ss->tid, (int)syscall(SYS_gettid));
	while (!atomic_load(&pc.go))
		sched_yield();
	worker_mem(w);
	w->st->seed = worker_seed(w->p, w->inc, w->t);
	rng_seed(&w->rng, w->st->seed);
	w->hash = 0xcbf29ce484222325ull;
	atomic_store(&w->ss->state, ST_RUNNING);

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		if (!w->credits) {
			uint64_t c = ADD64(&sh->claimed, CREDIT_CHUNK);

			if (c >= sh->budget)
				break;
			w->credits = sh->budget - c < CREDIT_CHUNK ?
				     sh->budget - c : CREDIT_CHUNK;
			w->st->claimed += w->credits;
		}
		STORE64(&w->ss->opno, w->opno);
		do_op(w);
		w->opno++;
		w->st->ops++;
		w->st->hash = w->hash;
	}
	/* Leave any boost or policy change behind. */
	{
		struct sched_param sp = { .sched_priority = 0 };

		sched_setscheduler(0, SCHED_OTHER, &sp);
	}
	atomic_store(&w->ss->state, ST_DONE);
	return NULL;
}

static void set_fifo(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	/* Best effort: without the privilege the watchdog is just slower. */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

/*
 * The waker of last resort: every wait blocked longer than --block-ms gets
 * SIGUSR1 (EINTR, no SA_RESTART), again and again until it returns, so no
 * wait can outlive the run; and random signals land mid-wait.
 *
 * One call does not return on a signal: a CHANNEL_SEND_PI whose request a
 * receiver took waits for its reply through every non-fatal signal, and a
 * fuzz receiver may never reply (it forgot the id, or its fd slot now holds
 * another object).  When every other thread is done and the only ones left
 * have stayed blocked through kicks for ORPHAN_KICKS block times, the
 * process exits: the exit's SIGKILL of those threads is the fatal signal
 * that abandons such a request, as it would in a real client.
 */
#define ORPHAN_KICKS	5
/* A child's exit status for that: the parent starts a new one. */
#define EXIT_ORPHANED	3

static void *watchdog_main(void *arg)
{
	uint64_t block_ns = (uint64_t)opt.block_ms * 1000000ull;
	struct rng r;

	(void)arg;
	set_fifo(99);
	rng_seed(&r, opt.seed ^ 0x5a5a5a5a5a5a5a5aull ^ (uint64_t)pc.p);
	for (;;) {
		bool all_done = true, only_orphans = true;
		unsigned int orphans = 0;
		uint64_t now;

		sleep_ns(1000000);
		now = mono_ns();
		for (unsigned int t = 0; t < pc.nthreads; t++) {
			struct wstatus *ss = &sh->status[pc.p][t];
			int st = atomic_load(&ss->state);

			if (st != ST_DONE)
				all_done = false;
			if (st == ST_BLOCKING &&
			    now - LOAD64(&ss->since) > ORPHAN_KICKS * block_ns)
				orphans++;
			else if (st != ST_DONE)
				only_orphans = false;
			if (st != ST_BLOCKING)
				continue;
			if (now - LOAD64(&ss->since) > block_ns ||
			    rng_next(&r) % 8 == 0) {
				pthread_kill(pc.thr[t], SIGUSR1);
				ADD64(&sh->signals, 1);
			}
		}
		if (all_done)
			return NULL;
		if (orphans && only_orphans) {
			_exit(EXIT_ORPHANED);
		}
	}
}

static void __attribute__((noreturn)) child_main(int p, unsigned int inc)
{
	struct worker *ws;
	pthread_t wd;
	int err;

	struct sched_param sp = { .sched_priority = 0 };

	/* The parent runs SCHED_FIFO; its children must not. */
	sched_setscheduler(0, SCHED_OTHER, &sp);
	pc.p = p;
	pc.inc = inc;
	pc.nthreads = opt.threads;
	atomic_store(&next_obj_id, ((uint32_t)p + 1) << 24 | inc << 16);
	ws = calloc(opt.threads, sizeof(*ws));
	if (!ws)
		die("calloc");
	for (unsigned int t = 0; t < opt.threads; t++) {
		struct worker *w = &ws[t];

		w->p = p;
		w->t = (int)t;
		w->inc = inc;
		w->st = &sh->stats[p][t];
		w->ss = &sh->status[p][t];
		atomic_store(&w->ss->state, ST_IDLE);
		pc.w[t] = w;
	}
	for (unsigned int t = 0; t < opt.threads; t++) {
		err = pthread_create(&pc.thr[t], NULL, worker_main, &ws[t]);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	err = pthread_create(&wd, NULL, watchdog_main, NULL);
	if (err)
		die("pthread_create: %s", strerror(err));
	atomic_store(&pc.go, 1);
	for (unsigned int t = 0; t < opt.threads; t++)
		pthread_join(pc.thr[t], NULL);
	pthread_join(wd, NULL);
	_exit(0);
}

/* ---- Parent: fixtures ------------------------------------------------------- */

static int create_obj(int dev, unsigned long cmd, uint32_t a, uint32_t b)
{
	uint32_t v[2] = { a, b };
	int fd = ioctl(dev, cmd, v);

	if (fd < 0)
		die("creating an object (cmd %#lx, %u, %u): %s", cmd, a, b,
		    strerror(errno));
	return fd;
}

static void setup_fixtures(struct rng *r)
{
	int p[2];
	uint64_t one = 1;

	g.dev = open("/dev/ntsync", O_RDWR | O_CLOEXEC);
	g.dev2 = open("/dev/ntsync", O_RDWR | O_CLOEXEC);
	g.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (g.dev < 0 || g.dev2 < 0 || g.devnull < 0)
		die("open /dev/ntsync: %s", strerror(errno));
	g.root = geteuid() == 0;

	for (int i = 0; i < N_SLOTS; i++) {
		struct slot *s = &g.slots[i];
		uint32_t x = (uint32_t)rng_next(r), y = (uint32_t)rng_next(r);

		s->kind = i < N_SEM ? K_SEM : i < N_SEM + N_MUTEX ? K_MUTEX :
			  i < N_OBJSLOTS ? K_EVENT : K_CHANNEL;
		atomic_store(&s->id, atomic_fetch_add(&next_obj_id, 1));
		atomic_store(&s->known, true);
		switch (s->kind) {
		case K_SEM:
			atomic_store(&s->max, 1 + x % 4);
			s->fd = create_obj(g.dev, NTSYNC_IOC_CREATE_SEM,
					   y % (1 + x % 4), 1 + x % 4);
			break;
		case K_MUTEX:
			s->fd = create_obj(g.dev, NTSYNC_IOC_CREATE_MUTEX,
					   x & 1 ? 1 + y % N_OWNERS : 0,
					   x & 1 ? 1 : 0);
			break;
		case K_EVENT:
			atomic_store(&s->manual, x & 1);
			s->fd = create_obj(g.dev, NTSYNC_IOC_CREATE_EVENT,
					   x & 1, y & 1);
			break;
		default: {
			struct ntsync_channel_create_args ca = {
				.max_depth = 4 };

			s->fd = ioctl(g.dev, NTSYNC_IOC_CREATE_CHANNEL, &ca);
			if (s->fd >= 0) {
				atomic_store(&s->real, true);
			} else {
				/* Not implemented yet: a placeholder. */
				s->fd = dup(g.devnull);
				if (s->fd < 0)
					die("dup: %s", strerror(errno));
			}
			break;
		}
		}
	}

	g.foreign_max = 2;
	g.foreign_manual = 1;
	g.foreign[K_SEM] = create_obj(g.dev2, NTSYNC_IOC_CREATE_SEM, 1, 2);
	g.foreign[K_MUTEX] = create_obj(g.dev2, NTSYNC_IOC_CREATE_MUTEX, 0, 0);
	g.foreign[K_EVENT] = create_obj(g.dev2, NTSYNC_IOC_CREATE_EVENT, 1, 0);

	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	g.pipe_data = p[0];
	g.pipe_wr = p[1];
	if (write(g.pipe_wr, "x", 1) != 1)
		die("write: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	g.pipe_empty = p[0];
	close(p[1]);
	g.efd_ready = eventfd(0, EFD_CLOEXEC);
	g.efd_idle = eventfd(0, EFD_CLOEXEC);
	if (g.efd_ready < 0 || g.efd_idle < 0 ||
	    write(g.efd_ready, &one, sizeof(one)) != sizeof(one))
		die("eventfd: %s", strerror(errno));

	g.bad_page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.bad_page == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (fcntl(CLOSED_FD, F_GETFD) != -1 || errno != EBADF)
		die("fd %d is open; it must not be", CLOSED_FD);
}

static void close_fixtures(void)
{
	for (int i = 0; i < N_SLOTS; i++)
		close(g.slots[i].fd);
	for (int i = 0; i < 3; i++)
		close(g.foreign[i]);
	close(g.pipe_data);
	close(g.pipe_wr);
	close(g.pipe_empty);
	close(g.efd_ready);
	close(g.efd_idle);
	close(g.devnull);
	close(g.dev);
	close(g.dev2);
}

/* ---- Parent: leak probes ------------------------------------------------------ */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static long read_long_file(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

#define MAX_CACHES	8

struct slabs {
	int n;
	bool flushed;		/* every cache shrunk: counts are exact */
	char name[MAX_CACHES][64];
	long objects[MAX_CACHES];
};

/* The driver's own (unmerged) slab caches and their live objects. */
static void read_slabs(struct slabs *s)
{
	DIR *d = opendir("/sys/kernel/slab");
	struct dirent *e;

	s->n = 0;
	s->flushed = true;
	if (!d)
		return;
	while ((e = readdir(d)) && s->n < MAX_CACHES) {
		char path[400];
		struct stat st;
		int fd;

		if (strncmp(e->d_name, "ntsync", 6) || strlen(e->d_name) > 63)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s", e->d_name);
		/* A symlink is a cache merged with others: counts mean nothing. */
		if (lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		/* Flush per-cpu slabs so that "objects" counts live ones. */
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 e->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			s->flushed = false;
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects",
			 e->d_name);
		snprintf(s->name[s->n], sizeof(s->name[0]), "%.63s", e->d_name);
		s->objects[s->n++] = read_long_file(path);
	}
	closedir(d);
}

/* ---- Parent: running the children ------------------------------------------- */

struct child {
	pid_t pid;
	unsigned int inc;
	bool killed;		/* by us, on purpose */
};

static struct {
	struct child c[MAX_PROCS];
	unsigned int spawned, killed, killed_mid_wait, clean_exits;
	/* Ended by the watchdog: its senders' requests could get no reply. */
	unsigned int orphaned;
	unsigned int bad_exits, hung;
} run;

static void spawn(int p)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		child_main(p, run.c[p].inc);
	run.c[p].pid = pid;
	run.c[p].killed = false;
	run.spawned++;
}

static bool in_wait(int p)
{
	for (unsigned int t = 0; t < opt.threads; t++)
		if (atomic_load(&sh->status[p][t].state) == ST_BLOCKING)
			return true;
	return false;
}

/* A killed child's unspent credits go back to the budget. */
static void settle_credits(int p)
{
	for (unsigned int t = 0; t < opt.threads; t++) {
		struct wstats *st = &sh->stats[p][t];

		if (st->claimed > st->ioctls)
			SUB64(&sh->claimed, st->claimed - st->ioctls);
		st->claimed = st->ioctls;
		atomic_store(&sh->status[p][t].state, ST_DONE);
	}
}

static void print_status(int p)
{
	for (unsigned int t = 0; t < opt.threads; t++) {
		struct wstatus *ss = &sh->status[p][t];
		int tid = atomic_load(&ss->tid), ioc = atomic_load(&ss->ioc);
		char path[96], buf[512];
		ssize_t n;
		int fd;

		out("#   p%d.t%u tid %d state %d op %" PRIu64 " last ioctl %s",
		    p, t, tid, atomic_load(&ss->state),
		    LOAD64(&ss->opno),
		    ioc >= 0 && ioc < N_IOC ? ioc_info[ioc].name : "?");
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stack",
			 (int)run.c[p].pid, tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			char *line, *save;

			buf[n] = '\0';
			for (line = strtok_r(buf, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save))
				out("#     %s", line);
		}
	}
}

/* Reap whatever ended; returns the number of children still running. */
static unsigned int reap(bool respawn)
{
	unsigned int alive = 0;

	for (unsigned int p = 0; p < opt.procs; p++) {
		bool orphaned;
		int status;
		pid_t r;

		if (!run.c[p].pid)
			continue;
		r = waitpid(run.c[p].pid, &status, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			alive++;
			continue;
		}
		if (r < 0)
			die("waitpid: %s", strerror(errno));
		orphaned = WIFEXITED(status) &&
			   WEXITSTATUS(status) == EXIT_ORPHANED;
		/* Killed on purpose, or ended as if: replaced. */
		if (orphaned || (run.c[p].killed && WIFSIGNALED(status) &&
				 WTERMSIG(status) == SIGKILL)) {
			run.orphaned += orphaned;
			settle_credits((int)p);
			run.c[p].pid = 0;
			if (respawn) {
				run.c[p].inc++;
				spawn((int)p);
				alive++;
			}
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			run.clean_exits++;
		} else {
			run.bad_exits++;
			if (WIFSIGNALED(status))
				out("# child p%u (incarnation %u) killed by signal %d (%s)",
				    p, run.c[p].inc, WTERMSIG(status),
				    strsignal(WTERMSIG(status)));
			else
				out("# child p%u (incarnation %u) exited with status %d",
				    p, run.c[p].inc, WEXITSTATUS(status));
			print_status((int)p);
		}
		settle_credits((int)p);
		run.c[p].pid = 0;
	}
	return alive;
}

/* ---- Parent: report ----------------------------------------------------------- */

static unsigned int tap_n, tap_failed, tap_skipped;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	tap_n++;
	if (!ok)
		tap_failed++;
	out("%s %u - %s.%s", ok ? "ok" : "not ok", tap_n, prefix, name);
}

/* A check that could not run here: TAP's skip directive, with the reason. */
static void tap_skip(const char *name, const char *why)
{
	tap_n++;
	tap_skipped++;
	out("ok %u - %s.%s # SKIP %s", tap_n, prefix, name, why);
}

static void print_stats(double secs)
{
	static uint64_t tot[N_IOC][N_ERRNO], per_errno[N_ERRNO];
	uint64_t ops = 0, ioctls = 0, skipped = 0;
	char line[1024];

	for (unsigned int p = 0; p < opt.procs; p++) {
		for (unsigned int t = 0; t < opt.threads; t++) {
			struct wstats *st = &sh->stats[p][t];

			ops += st->ops;
			ioctls += st->ioctls;
			skipped += st->skipped;
			for (int i = 0; i < N_IOC; i++)
				for (int e = 0; e < N_ERRNO; e++)
					tot[i][e] += st->count[i][e];
		}
	}
	out("# ioctls by request and result:");
	for (int i = 0; i < N_IOC; i++) {
		uint64_t sum = 0;
		size_t len = 0;

		line[0] = '\0';
		for (int e = 0; e < N_ERRNO; e++) {
			int n;

			if (!tot[i][e])
				continue;
			sum += tot[i][e];
			per_errno[e] += tot[i][e];
			n = snprintf(line + len, sizeof(line) - len, " %s=%" PRIu64,
				     e == N_ERRNO - 1 ? "other" : ename(-e),
				     tot[i][e]);
			if (n > 0 && (size_t)n < sizeof(line) - len)
				len += (size_t)n;
		}
		out("#   %-26s %9" PRIu64 ":%s", ioc_info[i].name, sum, line);
	}
	{
		size_t len = 0;

		line[0] = '\0';
		for (int e = 0; e < N_ERRNO; e++) {
			int n;

			if (!per_errno[e])
				continue;
			n = snprintf(line + len, sizeof(line) - len, " %s=%" PRIu64,
				     e == N_ERRNO - 1 ? "other" : ename(-e),
				     per_errno[e]);
			if (n > 0 && (size_t)n < sizeof(line) - len)
				len += (size_t)n;
		}
		out("# ioctls by result:%s", line);
	}
	out("# %" PRIu64 " operations, %" PRIu64 " ioctls in %.2f s: %.0f ioctls/s; %" PRIu64 " replacements skipped (slot busy)",
	    ops, ioctls, secs, secs > 0 ? (double)ioctls / secs : 0.0, skipped);
	out("# %u fuzz processes started, %u killed on purpose (%u in a wait), %" PRIu64 " signals sent",
	    run.spawned, run.killed, run.killed_mid_wait,
	    LOAD64(&sh->signals));
	for (unsigned int p = 0; p < opt.procs; p++)
		for (unsigned int t = 0; t < opt.threads; t++)
			out("# worker p%u.t%u: last incarnation %u seed %#" PRIx64 " sequence hash %#" PRIx64 ", %" PRIu64 " ops in all",
			    p, t, run.c[p].inc, sh->stats[p][t].seed,
			    sh->stats[p][t].hash, sh->stats[p][t].ops);
}

/* ---- Options ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ntsync_fuzz [options]\n"
		"  --seed N       random seed (default: from the clock; printed first)\n"
		"  --ops N        stop after about N ioctls in all (default %" PRIu64 ")\n"
		"  --seconds S    stop after S seconds (default %.0f)\n"
		"  --threads N    fuzz threads per process, 1..%d (default %u)\n"
		"  --procs N      fuzz processes, 1..%d (default %u)\n"
		"  --kill-ms MS   SIGKILL a fuzz process (preferably mid-wait) about\n"
		"                 every MS ms and start a new one; 0: never (default %u)\n"
		"  --block-ms MS  interrupt waits blocked longer than MS ms (default %u)\n"
		"  --min-ops N    fuzz.ops_executed needs N ioctls (default %" PRIu64 ",\n"
		"                 or --ops if smaller)\n"
		"  --single       one process, one thread, no kills: the sequence\n"
		"                 depends on the seed only\n"
		"  --trace        print every operation to stderr\n"
		"N accepts k and M suffixes (1M = 1000000).\n",
		opt.ops, opt.seconds, MAX_THREADS, opt.threads, MAX_PROCS,
		opt.procs, opt.kill_ms, opt.block_ms, opt.min_ops);
}

static uint64_t parse_num(const char *name, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1000000;
		end++;
	}
	if (errno || end == s || *end) {
		fprintf(stderr, "ntsync_fuzz: bad value for %s: %s\n", name, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, bool *seed_given)
{
	bool min_given = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		char name[32];
		const char *eq = strchr(arg, '=');

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(arg, "--single")) {
			opt.threads = 1;
			opt.procs = 1;
			opt.kill_ms = 0;
			continue;
		}
		if (!strcmp(arg, "--trace")) {
			opt.trace = true;
			continue;
		}
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", arg);
			if (i + 1 < argc)
				val = argv[++i];
		}
		if (!val) {
			fprintf(stderr, "ntsync_fuzz: %s needs a value\n", name);
			exit(2);
		}
		if (!strcmp(name, "--seed")) {
			opt.seed = parse_num(name, val);
			*seed_given = true;
		} else if (!strcmp(name, "--ops")) {
			opt.ops = parse_num(name, val);
		} else if (!strcmp(name, "--seconds")) {
			char *end;

			opt.seconds = strtod(val, &end);
			if (*end || opt.seconds <= 0) {
				fprintf(stderr, "ntsync_fuzz: bad value for --seconds: %s\n", val);
				exit(2);
			}
		} else if (!strcmp(name, "--threads")) {
			opt.threads = (unsigned int)parse_num(name, val);
		} else if (!strcmp(name, "--procs")) {
			opt.procs = (unsigned int)parse_num(name, val);
		} else if (!strcmp(name, "--kill-ms")) {
			opt.kill_ms = (unsigned int)parse_num(name, val);
		} else if (!strcmp(name, "--block-ms")) {
			opt.block_ms = (unsigned int)parse_num(name, val);
		} else if (!strcmp(name, "--min-ops")) {
			opt.min_ops = parse_num(name, val);
			min_given = true;
		} else {
			fprintf(stderr, "ntsync_fuzz: unknown option %s\n", name);
			usage(stderr);
			exit(2);
		}
	}
	if (!min_given && opt.ops < opt.min_ops)
		opt.min_ops = opt.ops;
	if (opt.threads < 1 || opt.threads > MAX_THREADS || opt.procs < 1 ||
	    opt.procs > MAX_PROCS || opt.block_ms < 1) {
		fprintf(stderr, "ntsync_fuzz: --threads 1..%d, --procs 1..%d, --block-ms >= 1\n",
			MAX_THREADS, MAX_PROCS);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	bool seed_given = false, children_ok;
	uint64_t start, deadline, next_kill, kill_started = 0, ioctls = 0;
	long ref_before, ref_after = -1;
	int fds_before, fds_after;
	struct slabs slab_before, slab_after;
	struct rng r;
	unsigned int victim = 0;

	parse_args(argc, argv, &seed_given);
	if (!seed_given)
		opt.seed = now_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);

	out("TAP version 13");
	out("# %s: seed %" PRIu64 " (reproduce the sequence: --seed %" PRIu64 " --single)",
	    prefix, opt.seed, opt.seed);
	out("# %s: ops %" PRIu64 " seconds %.1f threads %u procs %u kill-ms %u block-ms %u",
	    prefix, opt.ops, opt.seconds, opt.threads, opt.procs, opt.kill_ms,
	    opt.block_ms);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits end in EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	sh->budget = opt.ops;

	fds_before = count_fds();
	ref_before = read_long_file("/sys/module/ntsync/refcnt");
	read_slabs(&slab_before);

	rng_seed(&r, opt.seed ^ 0xa5a5a5a5a5a5a5a5ull);
	setup_fixtures(&r);
	set_fifo(99);

	start = mono_ns();
	deadline = start + (uint64_t)(opt.seconds * 1e9);
	next_kill = start + (opt.kill_ms ? (uint64_t)opt.kill_ms * 1000000ull : 0);
	for (unsigned int p = 0; p < opt.procs; p++)
		spawn((int)p);

	for (;;) {
		uint64_t now = mono_ns();
		bool stopping = atomic_load(&sh->stop);

		if (!reap(!stopping))
			break;
		if (!stopping && now >= deadline)
			atomic_store(&sh->stop, 1);
		if (stopping && now >= deadline + 20 * NSEC) {
			/* Nothing may hang: every wait has a waker. */
			out("# fuzz processes still running 20 s after the end:");
			for (unsigned int p = 0; p < opt.procs; p++) {
				if (!run.c[p].pid)
					continue;
				print_status((int)p);
				run.hung++;
				kill(run.c[p].pid, SIGKILL);
			}
			for (int i = 0; i < 500 && reap(false); i++)
				sleep_ns(10000000);
			break;
		}
		if (!stopping && opt.kill_ms && now >= next_kill) {
			/* Prefer a victim that sleeps in a wait; 100 ms at most. */
			if (!kill_started) {
				kill_started = now;
				victim = (unsigned int)(rng_next(&r) % opt.procs);
			}
			if (run.c[victim].pid && !run.c[victim].killed &&
			    (in_wait((int)victim) ||
			     now - kill_started > 100000000ull)) {
				if (in_wait((int)victim))
					run.killed_mid_wait++;
				run.c[victim].killed = true;
				kill(run.c[victim].pid, SIGKILL);
				run.killed++;
				kill_started = 0;
				next_kill = now + (uint64_t)opt.kill_ms *
					(500000ull + rng_next(&r) % 1000000ull);
			} else if (!run.c[victim].pid || run.c[victim].killed) {
				/* Gone or dying already: pick another. */
				kill_started = 0;
			}
		}
		sleep_ns(stopping ? 2000000 : 500000);
	}
	{
		double secs = (double)(mono_ns() - start) / 1e9;

		for (unsigned int p = 0; p < opt.procs; p++)
			for (unsigned int t = 0; t < opt.threads; t++)
				ioctls += sh->stats[p][t].ioctls;
		print_stats(secs);
	}

	close_fixtures();

	/* Leak probes: every object and device gone once the fds are. */
	fds_after = count_fds();
	for (int i = 0; i < 300; i++) {
		ref_after = read_long_file("/sys/module/ntsync/refcnt");
		read_slabs(&slab_after);
		bool settled = ref_after == ref_before;

		for (int c = 0; c < slab_after.n && c < slab_before.n; c++)
			if (slab_after.objects[c] != slab_before.objects[c])
				settled = false;
		if (settled)
			break;
		sleep_ns(10000000);
	}

	{
		uint64_t unexp = 0, incons = 0;

		for (unsigned int p = 0; p < opt.procs; p++) {
			for (unsigned int t = 0; t < opt.threads; t++) {
				unexp += sh->stats[p][t].unexpected;
				incons += sh->stats[p][t].inconsistent;
			}
		}
		if (unexp)
			out("# %" PRIu64 " unexpected results (seed %" PRIu64 ")",
			    unexp, opt.seed);
		tap(!unexp, "no_unexpected_errno");
		if (incons)
			out("# %" PRIu64 " inconsistent results (seed %" PRIu64 ")",
			    incons, opt.seed);
		tap(!incons, "results_consistent");
	}

	children_ok = !run.bad_exits && !run.hung;
	out("# children: %u started, %u killed on purpose, %u ended with unanswerable requests, %u exited cleanly, %u failed, %u hung",
	    run.spawned, run.killed, run.orphaned, run.clean_exits,
	    run.bad_exits, run.hung);
	tap(children_ok, "children_exited_cleanly");

	out("# %" PRIu64 " ioctls executed", ioctls);
	tap(ioctls >= opt.min_ops, "ops_executed >= %" PRIu64, opt.min_ops);

	out("# open fds: %d before, %d after", fds_before, fds_after);
	tap(fds_before == fds_after, "fds_restored");

	if (ref_before >= 0) {
		out("# module refcount: %ld before, %ld after", ref_before,
		    ref_after);
		tap(ref_before == ref_after, "module_refcount_restored");
	} else {
		tap_skip("module_refcount_restored",
			 "no /sys/module/ntsync/refcnt");
	}

	if (slab_before.n && !(slab_before.flushed && slab_after.flushed)) {
		tap_skip("no_object_leak",
			 "the ntsync slab caches cannot be shrunk (not root?)");
	} else if (slab_before.n) {
		bool same = slab_after.n == slab_before.n;

		for (int c = 0; c < slab_before.n; c++) {
			long after = c < slab_after.n ? slab_after.objects[c] : -1;

			out("# slab %s: %ld objects before, %ld after",
			    slab_before.name[c], slab_before.objects[c], after);
			if (after != slab_before.objects[c])
				same = false;
		}
		tap(same, "no_object_leak");
	} else {
		tap_skip("no_object_leak",
			 "no ntsync slab cache in /sys/kernel/slab");
	}

	out("1..%u", tap_n);
	out("# %s: %u passed, %u failed, %u skipped (seed %" PRIu64 ")", prefix,
	    tap_n - tap_failed - tap_skipped, tap_failed, tap_skipped,
	    opt.seed);
	return tap_failed ? 1 : 0;
}
