// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers for the channel and aggregate-wait suites (see nt_chan.h).
 */
#include "nt_chan.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- Channels -------------------------------------------------------- */

int nt_channel_at(const char *file, int line, int dev, uint32_t max_depth)
{
	int fd = ntsync_channel_create(dev, max_depth);

	if (fd < 0)
		nt_fail_msg(file, line, true, "CREATE_CHANNEL(%u): %s",
			    max_depth, strerror(-fd));
	return fd;
}

const char *nt_recv_kind_name(enum nt_recv_kind kind)
{
	switch (kind) {
	case NT_RECV: return "RECV";
	case NT_RECV2: return "RECV2";
	case NT_TRY_RECV2: return "TRY_RECV2";
	}
	return "?";
}

int nt_chan_recv(int ch, enum nt_recv_kind kind,
		 struct ntsync_channel_recv2_args *out)
{
	struct ntsync_channel_recv_args v1;
	int ret;

	memset(out, 0xa5, sizeof(*out));
	switch (kind) {
	case NT_RECV:
		ret = ntsync_channel_recv(ch, &v1);
		if (ret == 0) {
			out->entry_id = v1.entry_id;
			out->payload_off = v1.payload_off;
			out->reply_off = v1.reply_off;
			out->sender_tid = v1.sender_tid;
			out->prio = v1.prio;
			out->thread_token = 0;
		}
		return ret;
	case NT_RECV2:
		return ntsync_channel_recv2(ch, out);
	case NT_TRY_RECV2:
		return ntsync_channel_try_recv2(ch, out);
	}
	return -EINVAL;
}

void nt_check_msg(const char *file, int line,
		  const struct ntsync_channel_recv2_args *msg, pid_t tid,
		  uint32_t prio, uint64_t payload)
{
	if (msg->sender_tid != (uint32_t)tid || msg->prio != prio ||
	    msg->payload_off != payload ||
	    msg->reply_off != NT_REPLY_OFF(payload))
		nt_fail_msg(file, line, true,
			    "message {id %llu, tid %u, prio %u, payload 0x%llx, reply 0x%llx}, expected {tid %d, prio %u, payload 0x%llx, reply 0x%llx}",
			    (unsigned long long)msg->entry_id, msg->sender_tid,
			    msg->prio, (unsigned long long)msg->payload_off,
			    (unsigned long long)msg->reply_off, (int)tid, prio,
			    (unsigned long long)payload,
			    (unsigned long long)NT_REPLY_OFF(payload));
}

struct nt_sched nt_served_sched(struct nt_sched base, uint32_t policy,
				uint32_t prio)
{
	bool base_rt = base.policy == SCHED_FIFO || base.policy == SCHED_RR;

	if (!prio || (base_rt && base.prio >= prio))
		return base;
	return (struct nt_sched){ policy, prio, NT_NICE_ANY };
}

/* ---- Channel actors -------------------------------------------------- */

static int nt_ca_do_send(struct nt_actor *a, void *arg)
{
	struct nt_chan_actor *c = arg;

	(void)a;
	return ntsync_channel_send(c->ch, c->policy, c->prio, c->payload,
				   NT_REPLY_OFF(c->payload));
}

static int nt_ca_do_recv(struct nt_actor *a, void *arg)
{
	struct nt_chan_actor *c = arg;

	(void)a;
	return nt_chan_recv(c->ch, c->kind, &c->msg);
}

static int nt_ca_do_reply(struct nt_actor *a, void *arg)
{
	struct nt_chan_actor *c = arg;

	(void)a;
	return ntsync_channel_reply(c->ch, c->reply_id);
}

static int nt_ca_do_agg(struct nt_actor *a, void *arg)
{
	struct nt_chan_actor *c = arg;

	(void)a;
	return ntsync_aggregate_wait(c->dev, c->src, c->nsrc, c->owner,
				     c->timeout, 0, &c->fired_index,
				     &c->fired_events);
}

void nt_ca_start(struct nt_chan_actor *c, int ch, struct nt_sched base)
{
	memset(c, 0, sizeof(*c));
	c->ch = ch;
	nt_actor_start(&c->a, base);
}

void nt_ca_stop(struct nt_chan_actor *c)
{
	nt_actor_stop(&c->a);
}

void nt_ca_send_post(struct nt_chan_actor *c, uint32_t policy, uint32_t prio,
		     uint64_t payload)
{
	c->policy = policy;
	c->prio = prio;
	c->payload = payload;
	nt_actor_post(&c->a, nt_ca_do_send, c);
}

void nt_ca_send_start(struct nt_chan_actor *c, uint32_t policy,
		      uint32_t prio, uint64_t payload)
{
	nt_ca_send_post(c, policy, prio, payload);
	nt_actor_wait_blocked(&c->a);
}

void nt_ca_recv_post(struct nt_chan_actor *c, enum nt_recv_kind kind)
{
	c->kind = kind;
	memset(&c->msg, 0xa5, sizeof(c->msg));
	nt_actor_post(&c->a, nt_ca_do_recv, c);
}

void nt_ca_recv_start(struct nt_chan_actor *c, enum nt_recv_kind kind)
{
	nt_ca_recv_post(c, kind);
	nt_actor_wait_blocked(&c->a);
}

int nt_ca_recv(struct nt_chan_actor *c, enum nt_recv_kind kind)
{
	nt_ca_recv_post(c, kind);
	return nt_actor_finish(&c->a);
}

int nt_ca_reply(struct nt_chan_actor *c, uint64_t id)
{
	c->reply_id = id;
	return nt_actor_call(&c->a, nt_ca_do_reply, c);
}

void nt_ca_agg_post(struct nt_chan_actor *c, int dev,
		    const struct ntsync_aggregate_source *src, uint32_t n,
		    uint32_t owner, uint64_t timeout)
{
	if (n > NTSYNC_AGG_MAX)
		NT_FAIL("aggregate wait of %u sources", n);
	c->dev = dev;
	memcpy(c->src, src, n * sizeof(*src));
	c->nsrc = n;
	c->owner = owner;
	c->timeout = timeout;
	c->fired_index = NT_POISON;
	c->fired_events = NT_POISON;
	nt_actor_post(&c->a, nt_ca_do_agg, c);
}

void nt_ca_agg_start(struct nt_chan_actor *c, int dev,
		     const struct ntsync_aggregate_source *src, uint32_t n,
		     uint32_t owner, uint64_t timeout)
{
	nt_ca_agg_post(c, dev, src, n, owner, timeout);
	nt_actor_wait_blocked(&c->a);
}

void nt_ca_wait_asleep(struct nt_chan_actor *c)
{
	uint64_t start = nt_mono_ns();

	for (;;) {
		if (nt_ca_idle(c))
			NT_FAIL("actor %d returned %d instead of sleeping in its call",
				(int)nt_ca_tid(c), c->a.ret);
		if (atomic_load(&c->a.started) == atomic_load(&c->a.posted) &&
		    nt_task_asleep_in_ioctl(nt_ca_tid(c)))
			return;
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("actor %d did not sleep in its call within %u ms",
				(int)nt_ca_tid(c), NT_SOON_MS);
		nt_sleep_us(200);
	}
}

uint64_t nt_ca_token_of_next(struct nt_chan_actor *s, enum nt_recv_kind kind,
			     uint64_t payload)
{
	struct ntsync_channel_recv2_args msg;
	int ret;

	nt_ca_send_start(s, 0, 0, payload);
	ret = nt_chan_recv(s->ch, kind, &msg);
	if (ret)
		NT_FAIL("%s of a pending request: %d", nt_recv_kind_name(kind),
			ret);
	NT_CHECK_MSG(&msg, nt_ca_tid(s), 0, payload);
	ret = ntsync_channel_reply(s->ch, msg.entry_id);
	if (ret)
		NT_FAIL("REPLY: %d", ret);
	ret = nt_ca_finish(s);
	if (ret)
		NT_FAIL("replied SEND_PI returned %d", ret);
	return msg.thread_token;
}

/* ---- Aggregate sources ----------------------------------------------- */

void nt_agg_args_init(struct ntsync_aggregate_wait_args *args,
		      const struct ntsync_aggregate_source *src, uint32_t n,
		      uint32_t owner, unsigned int ms)
{
	memset(args, 0, sizeof(*args));
	args->timeout = nt_deadline_ms(ms);
	args->sources = (uint64_t)(uintptr_t)src;
	args->nb_sources = n;
	args->owner = owner;
	args->fired_index = NT_POISON;
	args->fired_events = NT_POISON;
}

int nt_agg_raw(int dev, struct ntsync_aggregate_wait_args *args)
{
	return nt_ioctl(dev, NTSYNC_IOC_AGGREGATE_WAIT, args);
}

/* ---- File descriptors ------------------------------------------------ */

int nt_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0)
		NT_FAIL("eventfd: %s", strerror(errno));
	return fd;
}

void nt_eventfd_add(int efd, uint64_t n)
{
	if (write(efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		NT_FAIL("eventfd write: %s", strerror(errno));
}

uint64_t nt_eventfd_take(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		if (errno != EAGAIN)
			NT_FAIL("eventfd read: %s", strerror(errno));
		return 0;
	}
	return v;
}

void nt_pipe(int fds[2])
{
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC))
		NT_FAIL("pipe2: %s", strerror(errno));
}

void nt_write_byte(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		NT_FAIL("write: %s", strerror(errno));
}

size_t nt_drain_fd(int fd)
{
	char buf[256];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	if (n < 0 && errno != EAGAIN)
		NT_FAIL("read: %s", strerror(errno));
	return total;
}

/* ---- Threads, wake-ups and signals ----------------------------------- */

uint64_t nt_task_nvcsw(pid_t tid)
{
	static const char key[] = "\nvoluntary_ctxt_switches:";
	char path[64], buf[4096];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		NT_FAIL("open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		NT_FAIL("read %s failed", path);
	buf[n] = '\0';
	p = strstr(buf, key);
	if (!p)
		NT_FAIL("%s has no voluntary_ctxt_switches", path);
	return strtoull(p + sizeof(key) - 1, NULL, 10);
}

static atomic_uint nt_sig_counts[65];

static void nt_sig_counter(int sig)
{
	if (sig > 0 && sig < 65)
		atomic_fetch_add(&nt_sig_counts[sig], 1);
}

void nt_sig_install(int sig, bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nt_sig_counter;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		NT_FAIL("sigaction(%d): %s", sig, strerror(errno));
}

unsigned int nt_sig_count(int sig)
{
	return atomic_load(&nt_sig_counts[sig]);
}

void nt_sig_deliver(pthread_t th, int sig)
{
	unsigned int before = nt_sig_count(sig);
	uint64_t start = nt_mono_ns();
	int err = pthread_kill(th, sig);

	if (err)
		NT_FAIL("pthread_kill(%d): %s", sig, strerror(err));
	while (nt_sig_count(sig) == before) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("signal %d was not handled within %u ms", sig,
				NT_SOON_MS);
		nt_sleep_ms(1);
	}
}

void nt_kick_until_done(struct nt_thread *t, int sig)
{
	uint64_t start = nt_mono_ns();

	while (!nt_thread_done(t)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("thread %d did not end although signalled",
				(int)t->tid);
		pthread_kill(t->handle, sig);
		nt_sleep_ms(1);
	}
	nt_thread_join(t);
}

static bool nt_proc_file(pid_t pid, const char *name, char *buf,
			 size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	return nt_read_small_file(path, buf, size);
}

static bool nt_proc_is_blocked(pid_t pid)
{
	char buf[512];
	const char *p;
	char *end;
	long nr;

	if (!nt_proc_file(pid, "stat", buf, sizeof(buf)))
		return false;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || !strchr("SDI", p[2]))
		return false;
	if (!nt_proc_file(pid, "syscall", buf, sizeof(buf)))
		return true;
	nr = strtol(buf, &end, 10);
	return end != buf && nr == SYS_ioctl;
}

void nt_wait_proc_blocked(pid_t pid)
{
	uint64_t start = nt_mono_ns();

	while (!nt_proc_is_blocked(pid)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("process %d did not block in an ioctl within %u ms",
				(int)pid, NT_SOON_MS);
		nt_sleep_ms(1);
	}
}

/* ---- Task states and statistics -------------------------------------- */

/* A /proc file of thread @tid of this process (@own) or of process @id. */
static bool nt_task_file(bool own, pid_t id, const char *name, char *buf,
			 size_t size)
{
	char path[64];

	if (own)
		snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)id,
			 name);
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)id, name);
	return nt_read_small_file(path, buf, size);
}

static char nt_state_of(bool own, pid_t id)
{
	char buf[512];
	const char *p;

	if (!nt_task_file(own, id, "stat", buf, sizeof(buf)))
		return '?';
	/* "tid (comm) S ...": comm may hold anything, so use the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return '?';
	return p[2];
}

char nt_task_state(pid_t tid)
{
	return nt_state_of(true, tid);
}

char nt_proc_state(pid_t pid)
{
	return nt_state_of(false, pid);
}

bool nt_state_unwakeable(char state)
{
	return state == 'D' || state == 'I';
}

static bool nt_asleep_in_ioctl(bool own, pid_t id)
{
	char state = nt_state_of(own, id);
	char buf[256];
	char *end;
	long nr;

	if (state != 'S' && !nt_state_unwakeable(state))
		return false;
	/* Refinement where available: asleep in ioctl, not elsewhere. */
	if (!nt_task_file(own, id, "syscall", buf, sizeof(buf)))
		return true;
	nr = strtol(buf, &end, 10);
	return end != buf && nr == SYS_ioctl;
}

bool nt_task_asleep_in_ioctl(pid_t tid)
{
	return nt_asleep_in_ioctl(true, tid);
}

bool nt_proc_asleep_in_ioctl(pid_t pid)
{
	return nt_asleep_in_ioctl(false, pid);
}

/* The hexadecimal signal mask after @key in a status file; 0 if absent. */
static uint64_t nt_status_mask(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static bool nt_sig_pending_of(bool own, pid_t id, int sig)
{
	char buf[4096];
	uint64_t bit = 1ull << (sig - 1);

	if (sig < 1 || sig > 64)
		NT_FAIL("no signal %d", sig);
	if (!nt_task_file(own, id, "status", buf, sizeof(buf)))
		NT_FAIL("cannot read the status of %s %d",
			own ? "thread" : "process", (int)id);
	return (nt_status_mask(buf, "\nSigPnd:") |
		nt_status_mask(buf, "\nShdPnd:")) & bit;
}

bool nt_task_sig_pending(pid_t tid, int sig)
{
	return nt_sig_pending_of(true, tid, sig);
}

bool nt_proc_sig_pending(pid_t pid, int sig)
{
	return nt_sig_pending_of(false, pid, sig);
}

void nt_wait_proc_state(pid_t pid, char state)
{
	uint64_t start = nt_mono_ns();
	char now;

	while ((now = nt_proc_state(pid)) != state) {
		if (now == '?' || now == 'Z')
			NT_FAIL("process %d ended instead of reaching state %c",
				(int)pid, state);
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("process %d is in state %c, not %c, after %u ms",
				(int)pid, now, state, NT_SOON_MS);
		nt_sleep_ms(1);
	}
}

#define NT_STATS_DIR	"/sys/class/misc/ntsync/stats"

uint64_t nt_stat(const char *name)
{
	char path[128], buf[64], *end;
	unsigned long long v;

	snprintf(path, sizeof(path), NT_STATS_DIR "/%s", name);
	if (!nt_read_small_file(path, buf, sizeof(buf)))
		NT_FAIL("cannot read %s", path);
	v = strtoull(buf, &end, 10);
	if (end == buf)
		NT_FAIL("%s reads \"%s\"", path, buf);
	return v;
}

/* ---- Privileges ------------------------------------------------------ */

#define NT_UNPRIVILEGED	1000

void nt_drop_privileges(unsigned int rtprio)
{
	struct rlimit rl = { .rlim_cur = rtprio, .rlim_max = rtprio };

	if (setrlimit(RLIMIT_RTPRIO, &rl))
		NT_FAIL("setrlimit(RLIMIT_RTPRIO, %u): %s", rtprio,
			strerror(errno));
	if (setgroups(0, NULL) ||
	    setresgid(NT_UNPRIVILEGED, NT_UNPRIVILEGED, NT_UNPRIVILEGED) ||
	    setresuid(NT_UNPRIVILEGED, NT_UNPRIVILEGED, NT_UNPRIVILEGED))
		NT_FAIL("dropping to uid %d: %s", NT_UNPRIVILEGED,
			strerror(errno));
	if (geteuid() != NT_UNPRIVILEGED || nt_has_cap_sys_nice())
		NT_FAIL("still privileged after the drop");
}

/* ---- Depth ----------------------------------------------------------- */

/* Payloads of the depth check: recognisable in a failure message. */
#define NT_ROOM_PAYLOAD	0x524f4f4d00000000ull	/* "ROOM" */

void nt_check_full(const char *file, int line, int ch)
{
	struct nt_chan_actor probe;
	uint64_t start;

	nt_ca_start(&probe, ch, NT_OTHER(0));
	nt_ca_send_post(&probe, 0, 0, NT_ROOM_PAYLOAD | 0xffffffffu);
	start = nt_mono_ns();
	while (!nt_ca_idle(&probe)) {
		if (atomic_load(&probe.a.started) ==
		    atomic_load(&probe.a.posted) &&
		    nt_is_blocked(nt_ca_tid(&probe)))
			nt_fail_msg(file, line, true,
				    "SEND_PI on a full channel was queued instead of failing with EAGAIN");
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			nt_fail_msg(file, line, true,
				    "SEND_PI on a full channel neither returned nor blocked");
		nt_sleep_ms(1);
	}
	if (probe.a.ret != -EAGAIN)
		nt_fail_msg(file, line, true,
			    "SEND_PI on a full channel returned %d, expected -EAGAIN",
			    probe.a.ret);
	nt_ca_stop(&probe);
}

void nt_check_room(const char *file, int line, int ch, uint32_t max_depth)
{
	struct nt_chan_actor *s = calloc(max_depth, sizeof(*s));
	struct ntsync_channel_recv2_args msg;
	uint32_t i;
	int ret;

	if (!s)
		nt_fail_msg(file, line, true, "out of memory");
	for (i = 0; i < max_depth; i++) {
		nt_ca_start(&s[i], ch, NT_OTHER(0));
		/* Must be queued: the actor sleeps in SEND_PI. */
		nt_ca_send_start(&s[i], 0, 0, NT_ROOM_PAYLOAD + i);
	}

	/* One more must fail at once with EAGAIN, not queue. */
	nt_check_full(file, line, ch);

	/* Take them back in arrival order and let the senders go. */
	for (i = 0; i < max_depth; i++) {
		ret = nt_chan_recv(ch, NT_TRY_RECV2, &msg);
		if (ret)
			nt_fail_msg(file, line, true,
				    "TRY_RECV2 of queued request %u: %d", i, ret);
		nt_check_msg(file, line, &msg, nt_ca_tid(&s[i]), 0,
			     NT_ROOM_PAYLOAD + i);
		ret = ntsync_channel_reply(ch, msg.entry_id);
		if (ret)
			nt_fail_msg(file, line, true, "REPLY: %d", ret);
		ret = nt_ca_finish(&s[i]);
		if (ret)
			nt_fail_msg(file, line, true,
				    "replied SEND_PI returned %d", ret);
	}
	ret = nt_chan_recv(ch, NT_TRY_RECV2, &msg);
	if (ret != -EAGAIN)
		nt_fail_msg(file, line, true,
			    "TRY_RECV2 of a drained channel returned %d, expected -EAGAIN",
			    ret);
	for (i = 0; i < max_depth; i++)
		nt_ca_stop(&s[i]);
	free(s);
}

/* ---- Request bookkeeping --------------------------------------------- */

#define NT_BOOK_MAX_DIAGS	20

void nt_book_init(struct nt_book *b, unsigned int senders, uint32_t cap)
{
	memset(b, 0, sizeof(*b));
	if (senders > NT_BOOK_MAX_SENDERS)
		NT_FAIL("nt_book_init: %u senders", senders);
	b->senders = senders;
	b->cap = cap;
	for (unsigned int i = 0; i < senders; i++) {
		b->flags[i] = calloc(cap, sizeof(*b->flags[i]));
		if (!b->flags[i])
			NT_FAIL("out of memory");
	}
}

void nt_book_free(struct nt_book *b)
{
	for (unsigned int i = 0; i < b->senders; i++)
		free((void *)b->flags[i]);
	memset(b, 0, sizeof(*b));
}

uint64_t nt_req_payload(unsigned int sender, uint32_t policy, uint32_t prio,
			uint32_t seq)
{
	return ((uint64_t)sender << 56) | ((uint64_t)(prio & 0xff) << 48) |
	       ((uint64_t)(policy & 0xff) << 40) | seq;
}

bool nt_req_decode(const struct nt_book *b, uint64_t payload,
		   unsigned int *sender, uint32_t *policy, uint32_t *prio,
		   uint32_t *seq)
{
	*sender = (unsigned int)(payload >> 56);
	*prio = (uint32_t)(payload >> 48) & 0xff;
	*policy = (uint32_t)(payload >> 40) & 0xff;
	*seq = (uint32_t)payload;
	return *sender < b->senders && *seq < b->cap &&
	       ((payload >> 32) & 0xff) == 0;
}

static void nt_book_error(struct nt_book *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void nt_book_error(struct nt_book *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (atomic_fetch_add(&b->errors, 1) >= NT_BOOK_MAX_DIAGS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nt_diag("%s", msg);
}

bool nt_book_received(struct nt_book *b,
		      const struct ntsync_channel_recv2_args *msg,
		      bool has_token)
{
	unsigned int sender;
	uint32_t policy, prio, seq;
	uint8_t old;
	pid_t tid;

	if (!nt_req_decode(b, msg->payload_off, &sender, &policy, &prio,
			   &seq)) {
		nt_book_error(b, "received an unknown request: payload 0x%llx",
			      (unsigned long long)msg->payload_off);
		return false;
	}
	tid = atomic_load(&b->tid[sender]);
	if (msg->sender_tid != (uint32_t)tid || msg->prio != prio ||
	    msg->reply_off != NT_REPLY_OFF(msg->payload_off)) {
		nt_book_error(b,
			      "request 0x%llx of sender %u (tid %d, prio %u) arrived as tid %u prio %u reply 0x%llx",
			      (unsigned long long)msg->payload_off, sender,
			      (int)tid, prio, msg->sender_tid, msg->prio,
			      (unsigned long long)msg->reply_off);
		return false;
	}
	if (has_token && msg->thread_token &&
	    (msg->thread_token >> 32) != (uint32_t)tid) {
		nt_book_error(b, "request of tid %d carried token 0x%llx",
			      (int)tid,
			      (unsigned long long)msg->thread_token);
		return false;
	}
	old = atomic_fetch_or(&b->flags[sender][seq], NT_REQ_RECEIVED);
	if (old & NT_REQ_RECEIVED) {
		nt_book_error(b, "request 0x%llx was received twice",
			      (unsigned long long)msg->payload_off);
		return false;
	}
	return true;
}

void nt_book_mark(struct nt_book *b, uint64_t payload, uint8_t flag)
{
	unsigned int sender;
	uint32_t policy, prio, seq;

	if (!nt_req_decode(b, payload, &sender, &policy, &prio, &seq)) {
		nt_book_error(b, "marking an unknown request 0x%llx",
			      (unsigned long long)payload);
		return;
	}
	atomic_fetch_or(&b->flags[sender][seq], flag);
}

uint64_t nt_book_verify(struct nt_book *b)
{
	uint64_t replied = 0;

	for (unsigned int s = 0; s < b->senders; s++) {
		for (uint32_t q = 0; q < b->cap; q++) {
			uint8_t f = atomic_load(&b->flags[s][q]);
			bool ok = f & NT_REQ_SENT_OK;
			bool rep = f & NT_REQ_REPLIED;

			if (rep)
				replied++;
			if (ok != rep)
				nt_book_error(b,
					      "request %u of sender %u: SEND_PI %s but REPLY %s",
					      q, s, ok ? "returned 0" : "did not",
					      rep ? "succeeded" : "did not");
			if (rep && !(f & NT_REQ_RECEIVED))
				nt_book_error(b,
					      "request %u of sender %u replied but never received",
					      q, s);
		}
	}
	NT_EXPECT_EQ(atomic_load(&b->errors), 0u);
	return replied;
}

/* ---- Stress tests ---------------------------------------------------- */

void nt_diag_capped(unsigned long cap, atomic_ulong *counter,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (atomic_fetch_add(counter, 1) >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nt_diag("%s", msg);
}

void nt_stress_send(struct nt_stress_senders *s, unsigned int sender,
		    uint32_t *seed, uint32_t seq)
{
	const struct nt_send_plan *plan = &s->plan;
	uint32_t r = nt_rand(seed);
	uint32_t prio = r % plan->zero_prio_one_in == 0 ? 0 :
			1 + (r >> 4) % plan->max_prio;
	uint32_t policy = r & 0x1000 ? SCHED_RR : SCHED_FIFO;
	uint64_t payload = nt_req_payload(sender, policy, prio, seq);
	int ret;

	atomic_fetch_add(&s->attempts, 1);
	ret = ntsync_channel_send(s->ch, policy, prio, payload,
				  NT_REPLY_OFF(payload));
	if (ret == 0) {
		atomic_fetch_add(&s->ok, 1);
		nt_book_mark(s->book, payload, NT_REQ_SENT_OK);
	} else if (ret == -EINTR && plan->eintr_expected) {
		atomic_fetch_add(&s->eintr, 1);
	} else if (ret == -EAGAIN) {
		atomic_fetch_add(&s->eagain, 1);
		if (plan->eagain_pause_us)
			nt_sleep_us(plan->eagain_pause_us);
		else
			sched_yield();
	} else {
		nt_diag_capped(plan->max_diags, s->unexpected,
			       "sender %u: SEND_PI returned %d", sender, ret);
	}
}

void nt_stress_sender_run(struct nt_stress_senders *s, unsigned int sender,
			  uint32_t *seed)
{
	atomic_store(&s->book->tid[sender], gettid());
	for (uint32_t seq = 0; seq < s->book->cap && !atomic_load(s->stop);
	     seq++)
		nt_stress_send(s, sender, seed, seq);
}
