/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the channel (tests/channel) and aggregate-wait
 * (tests/aggregate) suites, on top of nt_util.h and nt_rt.h:
 *
 *  - channel creation that asserts, receives of each kind into one struct;
 *  - "channel actors": nt_actor threads (nt_rt.h) that perform one SEND_PI,
 *    receive, REPLY or AGGREGATE_WAIT at a time on command, so that a test
 *    can block several of them, look at them from outside (blocked? at
 *    which priority?) and let them go on one by one;
 *  - wake-up accounting (voluntary context switches of a thread), signal
 *    handlers that count, and delivery that waits for the handler;
 *  - a forked child's privilege drop (for the EPERM rules);
 *  - the depth check (exactly max_depth requests fit, then EAGAIN);
 *  - request bookkeeping for the stress tests (every request has a unique
 *    payload; receivers check what they get, the end balances the books);
 *  - the stress tests' senders (random priority, every outcome counted)
 *    and their bounded diagnostics.
 *
 * Conventions of the tests: a request's reply_off is NT_REPLY_OFF(payload),
 * so a receiver can tell a torn or mixed-up message.  Macros named NT_CHECK_*
 * assert and report the caller's file:line.
 */
#ifndef NT_CHAN_H
#define NT_CHAN_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/ntsync.h>

#include "nt_rt.h"

/* reply_off that goes with a payload_off in every test request. */
#define NT_REPLY_OFF(payload)	(~(uint64_t)(payload))

/* ---- Channels -------------------------------------------------------- */

#define nt_channel(dev, depth) nt_channel_at(__FILE__, __LINE__, dev, depth)
int nt_channel_at(const char *file, int line, int dev, uint32_t max_depth);

enum nt_recv_kind { NT_RECV, NT_RECV2, NT_TRY_RECV2 };

const char *nt_recv_kind_name(enum nt_recv_kind kind);

/*
 * One receive of @kind into *out (poisoned first; for NT_RECV only the
 * fields of struct ntsync_channel_recv_args are written, thread_token is
 * left at 0).  Returns 0 or a negative errno.
 */
int nt_chan_recv(int ch, enum nt_recv_kind kind,
		 struct ntsync_channel_recv2_args *out);

/* The message is the request (@tid, @prio, @payload) (reply_off included). */
#define NT_CHECK_MSG(msg, tid, prio, payload) \
	nt_check_msg(__FILE__, __LINE__, msg, tid, prio, payload)
void nt_check_msg(const char *file, int line,
		  const struct ntsync_channel_recv2_args *msg, pid_t tid,
		  uint32_t prio, uint64_t payload);

/*
 * What a thread whose own attributes are @base runs at while it serves a
 * request (policy, prio): the request's, unless prio is 0 or the thread
 * stands at least as high by itself.
 */
struct nt_sched nt_served_sched(struct nt_sched base, uint32_t policy,
				uint32_t prio);

/* ---- Channel actors -------------------------------------------------- */

struct nt_chan_actor {
	struct nt_actor a;
	int ch;
	/* SEND_PI */
	uint32_t policy, prio;
	uint64_t payload;
	/* Receives: the kind and what the last one returned. */
	enum nt_recv_kind kind;
	struct ntsync_channel_recv2_args msg;
	/* REPLY */
	uint64_t reply_id;
	/* AGGREGATE_WAIT */
	int dev;
	struct ntsync_aggregate_source src[NTSYNC_AGG_MAX];
	uint32_t nsrc;
	uint32_t owner;
	uint64_t timeout;
	uint32_t fired_index, fired_events;
};

/* Start the thread at attributes @base (checked), working on channel @ch
 * (may be -1 for aggregate-only actors). */
void nt_ca_start(struct nt_chan_actor *c, int ch, struct nt_sched base);
void nt_ca_stop(struct nt_chan_actor *c);

static inline pid_t nt_ca_tid(const struct nt_chan_actor *c)
{
	return c->a.thread.tid;
}

/* SEND_PI(policy, prio, payload, NT_REPLY_OFF(payload)): _post returns at
 * once, _start once the actor is asleep in the call. */
void nt_ca_send_post(struct nt_chan_actor *c, uint32_t policy, uint32_t prio,
		     uint64_t payload);
void nt_ca_send_start(struct nt_chan_actor *c, uint32_t policy,
		      uint32_t prio, uint64_t payload);

/* A receive of @kind into c->msg: _post / _start as above; nt_ca_recv
 * performs it completely and returns its result. */
void nt_ca_recv_post(struct nt_chan_actor *c, enum nt_recv_kind kind);
void nt_ca_recv_start(struct nt_chan_actor *c, enum nt_recv_kind kind);
int nt_ca_recv(struct nt_chan_actor *c, enum nt_recv_kind kind);

/* REPLY(@id) performed by the actor; returns its result. */
int nt_ca_reply(struct nt_chan_actor *c, uint64_t id);

/* AGGREGATE_WAIT on @n sources (copied) with the absolute monotonic
 * deadline @timeout; results in fired_index / fired_events. */
void nt_ca_agg_post(struct nt_chan_actor *c, int dev,
		    const struct ntsync_aggregate_source *src, uint32_t n,
		    uint32_t owner, uint64_t timeout);
void nt_ca_agg_start(struct nt_chan_actor *c, int dev,
		     const struct ntsync_aggregate_source *src, uint32_t n,
		     uint32_t owner, uint64_t timeout);

/* Wait for the running operation (NT_SOON_MS) and return its result. */
static inline int nt_ca_finish(struct nt_chan_actor *c)
{
	return nt_actor_finish(&c->a);
}

static inline bool nt_ca_idle(struct nt_chan_actor *c)
{
	return nt_actor_idle(&c->a);
}

/* Like nt_actor_wait_blocked(), but the operation may sleep in D or I as
 * well (see nt_task_asleep_in_ioctl()): for a sender whose request a
 * receiver took at once. */
void nt_ca_wait_asleep(struct nt_chan_actor *c);

/*
 * One request of sender @s (prio 0, @payload), received by the calling
 * thread with @kind (checked: @s's tid, prio 0, @payload), replied to, and
 * @s's SEND_PI returning 0: returns the thread token the receive reported.
 */
uint64_t nt_ca_token_of_next(struct nt_chan_actor *s, enum nt_recv_kind kind,
			     uint64_t payload);

/* ---- Aggregate sources ----------------------------------------------- */

static inline struct ntsync_aggregate_source nt_src_obj(int fd)
{
	return (struct ntsync_aggregate_source){
		.type = NTSYNC_AGG_OBJECT, .events = 0, .fd = (uint32_t)fd,
	};
}

static inline struct ntsync_aggregate_source nt_src_fd(int fd,
							uint32_t events)
{
	return (struct ntsync_aggregate_source){
		.type = NTSYNC_AGG_FD, .events = events, .fd = (uint32_t)fd,
	};
}

/* A raw AGGREGATE_WAIT argument block: the deadline @ms from now
 * (monotonic), flags and pad 0, outputs poisoned. */
void nt_agg_args_init(struct ntsync_aggregate_wait_args *args,
		      const struct ntsync_aggregate_source *src, uint32_t n,
		      uint32_t owner, unsigned int ms);
int nt_agg_raw(int dev, struct ntsync_aggregate_wait_args *args);

/* ---- File descriptors ------------------------------------------------ */

int nt_eventfd(void);		/* non-blocking, counter 0 */
void nt_eventfd_add(int efd, uint64_t n);
uint64_t nt_eventfd_take(int efd);	/* read (0 if not readable) */
void nt_pipe(int fds[2]);		/* non-blocking both ends */
void nt_write_byte(int fd);
/* Read everything readable (non-blocking fd); returns the byte count. */
size_t nt_drain_fd(int fd);

/* ---- Threads, wake-ups and signals ----------------------------------- */

/* Voluntary context switches of thread @tid: it grows each time the thread
 * goes to sleep, so an unchanged value proves it was not woken. */
uint64_t nt_task_nvcsw(pid_t tid);

/* Install a handler for @sig that only counts, with or without
 * SA_RESTART. */
void nt_sig_install(int sig, bool restart);
unsigned int nt_sig_count(int sig);
/* pthread_kill(@th, @sig) and wait until the handler ran (NT_SOON_MS). */
void nt_sig_deliver(pthread_t th, int sig);
/* Send @sig to @t again and again until its function returned (for threads
 * that leave a blocking call on EINTR); ends the test after NT_SOON_MS. */
void nt_kick_until_done(struct nt_thread *t, int sig);

/* Wait until single-threaded process @pid sleeps in an ioctl (like
 * nt_wait_blocked() for a thread of ours); NT_SOON_MS. */
void nt_wait_proc_blocked(pid_t pid);

/* ---- Task states and statistics -------------------------------------- */

/* State letter (R, S, D, T, Z, ...) of thread @tid of this process, or of
 * process @pid (its main thread); '?' if it cannot be read. */
char nt_task_state(pid_t tid);
char nt_proc_state(pid_t pid);

/* A state letter of a sleep that non-fatal signals do not end: D, or I
 * (uninterruptible without counting as load, e.g. TASK_KILLABLE |
 * TASK_NOLOAD). */
bool nt_state_unwakeable(char state);

/* Asleep in an ioctl interruptibly (S) or in a sleep signals do not end (D
 * or I): the latter is how a sender whose request a receiver took may wait
 * for its reply (killable only). */
bool nt_task_asleep_in_ioctl(pid_t tid);
bool nt_proc_asleep_in_ioctl(pid_t pid);

/* @sig is pending for thread @tid of this process / for process @pid:
 * sent to the thread itself (SigPnd) or to its process (ShdPnd). */
bool nt_task_sig_pending(pid_t tid, int sig);
bool nt_proc_sig_pending(pid_t pid, int sig);

/* Wait until process @pid is in state @state (e.g. 'T', stopped); ends the
 * test after NT_SOON_MS, or if the process is gone. */
void nt_wait_proc_state(pid_t pid, char state);

/* The value of /sys/class/misc/ntsync/stats/@name (counter or gauge); the
 * test ends if it cannot be read. */
uint64_t nt_stat(const char *name);

/* ---- Privileges (forked children only) ------------------------------- */

/* Set RLIMIT_RTPRIO to @rtprio (soft and hard) and become uid/gid 1000
 * with no capability (asserted). */
void nt_drop_privileges(unsigned int rtprio);

/* ---- Depth ----------------------------------------------------------- */

/*
 * Assert that channel @ch has nothing pending and exactly @max_depth free
 * places: @max_depth senders queue (each blocks in SEND_PI), one more gets
 * EAGAIN at once; then every request is taken with TRY_RECV2 (in arrival
 * order), replied to, and a last TRY_RECV2 gets EAGAIN.  Nobody may be
 * parked on the channel.
 */
#define NT_CHECK_ROOM(ch, max_depth) \
	nt_check_room(__FILE__, __LINE__, ch, max_depth)
void nt_check_room(const char *file, int line, int ch, uint32_t max_depth);

/* One more SEND_PI on @ch fails at once with EAGAIN (it does not queue). */
#define NT_CHECK_FULL(ch) nt_check_full(__FILE__, __LINE__, ch)
void nt_check_full(const char *file, int line, int ch);

/* ---- Request bookkeeping (stress tests) ------------------------------ */

#define NT_BOOK_MAX_SENDERS	16

/* Per request flags. */
#define NT_REQ_SENT_OK		0x1	/* SEND_PI returned 0 */
#define NT_REQ_RECEIVED		0x2	/* a receive returned it */
#define NT_REQ_REPLIED		0x4	/* REPLY returned 0 */

struct nt_book {
	unsigned int senders;
	uint32_t cap;			/* requests per sender */
	_Atomic pid_t tid[NT_BOOK_MAX_SENDERS];
	_Atomic uint8_t *flags[NT_BOOK_MAX_SENDERS];
	atomic_uint errors;		/* failed checks (each with a diag) */
};

void nt_book_init(struct nt_book *b, unsigned int senders, uint32_t cap);
void nt_book_free(struct nt_book *b);

/* The payload of request @seq of sender @sender (prio 0..99). */
uint64_t nt_req_payload(unsigned int sender, uint32_t policy, uint32_t prio,
			uint32_t seq);
/* Decode; false if @payload is not a request of @b. */
bool nt_req_decode(const struct nt_book *b, uint64_t payload,
		   unsigned int *sender, uint32_t *policy, uint32_t *prio,
		   uint32_t *seq);

/* Thread tokens of the stress tests: the tid in the high half. */
static inline uint64_t nt_token(pid_t tid, uint32_t gen)
{
	return ((uint64_t)(uint32_t)tid << 32) | gen;
}

/*
 * A receive returned @msg: check it against the book (a request of a known
 * sender, from that sender's tid, prio and reply_off as sent, token 0 or
 * one of the sender's tokens when @has_token, never received before) and
 * mark it.  Returns false (counted in b->errors, with a diag) otherwise.
 */
bool nt_book_received(struct nt_book *b,
		      const struct ntsync_channel_recv2_args *msg,
		      bool has_token);
void nt_book_mark(struct nt_book *b, uint64_t payload, uint8_t flag);

/*
 * The end: every request whose SEND_PI returned 0 was replied to and every
 * replied request had SEND_PI return 0 (asserted); returns the number of
 * replied requests.
 */
uint64_t nt_book_verify(struct nt_book *b);

/* ---- Stress tests ---------------------------------------------------- */

/* nt_diag() the message unless @counter (incremented) already reached
 * @cap: keeps a stress test's output bounded. */
void nt_diag_capped(unsigned long cap, atomic_ulong *counter,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* How a stress test's senders draw their requests and take the results. */
struct nt_send_plan {
	uint32_t zero_prio_one_in;	/* prio 0 for one request in this */
	uint32_t max_prio;		/* many, else 1..max_prio (FIFO or RR) */
	bool eintr_expected;		/* signalled senders: EINTR counted */
	unsigned int eagain_pause_us;	/* after EAGAIN; 0: sched_yield() */
	unsigned long max_diags;	/* cap of the unexpected diagnostics */
};

/*
 * The senders of a stress test, all on channel @ch with requests booked in
 * @book: the plan and the pointers are set before they start (ch at the
 * latest once the channel exists), the counters are shared.  A result the
 * plan does not expect is counted in *unexpected, with a capped diag.
 */
struct nt_stress_senders {
	int ch;
	struct nt_book *book;
	struct nt_send_plan plan;
	atomic_bool *stop;
	atomic_ulong *unexpected;
	/* SEND_PI calls, and those that returned 0, EINTR and EAGAIN. */
	atomic_ulong attempts, ok, eintr, eagain;
};

/*
 * One SEND_PI of request @seq of sender @sender at a priority drawn from
 * @seed, its outcome booked (NT_REQ_SENT_OK in the book on success).
 */
void nt_stress_send(struct nt_stress_senders *s, unsigned int sender,
		    uint32_t *seed, uint32_t seq);

/* A sender thread's whole run: its tid into the book, then requests 0, 1,
 * ... until *s->stop or the book's cap. */
void nt_stress_sender_run(struct nt_stress_senders *s, unsigned int sender,
			  uint32_t *seed);

#endif /* NT_CHAN_H */
