// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-bench: request/reply scenarios.
 *
 *   channel-rtt  one client, one server process: an ntsync channel
 *                (SEND_PI -> RECV2 -> REPLY) against a futex pair in shared
 *                memory, a unix socket pair and a pipe pair
 *   burst        four sender threads, one dispatcher: AGGREGATE_WAIT then
 *                RECV2 and a TRY_RECV2 drain, against one AGGREGATE_WAIT per
 *                entry
 *
 * A blocked client is bounded by a SIGALRM watchdog (its handler does
 * nothing and is installed without SA_RESTART, so the call fails with
 * EINTR), and forked servers die with their parent (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <poll.h>

#include <linux/ntsync.h>
#include "ntsync.h"
#include "bench.h"
#include "scenarios.h"

#define RPC_QUIT	UINT64_MAX
#define RTT_ROUNDS	5
#define RTT_WARMUP	50
#define BOOST_PRIO	20

/* ---- Round-trip transports ------------------------------------------- */

enum rpc_kind { RPC_CHANNEL, RPC_CHANNEL_BOOST, RPC_FUTEX, RPC_UNIX, RPC_PIPE, RPC_KINDS };

static const char *const rpc_names[RPC_KINDS] = {
	"ntsync-channel", "ntsync-channel-boost", "futex-shm", "unix-socket", "pipe",
};

struct rpc_shm {
	atomic_uint req;
	atomic_uint resp;
};

struct rpc {
	enum rpc_kind kind;
	pid_t pid;
	int dev, ch;
	int cfd, sfd;		/* unix socket: client / server end */
	int c2s[2], s2c[2];	/* pipes */
	struct rpc_shm *shm;
	unsigned int seq;
};

static void rpc_server(struct rpc *r)
{
	struct ntsync_channel_recv2_args a;
	unsigned int last = 0;
	uint64_t msg;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	switch (r->kind) {
	case RPC_CHANNEL:
	case RPC_CHANNEL_BOOST:
		for (;;) {
			ret = ntsync_channel_recv2(r->ch, &a);
			if (ret == -EINTR)
				continue;
			if (ret)
				_exit(10);
			if (ntsync_channel_reply(r->ch, a.entry_id))
				_exit(11);
			if (a.payload_off == RPC_QUIT)
				_exit(0);
		}
	case RPC_FUTEX:
		for (;;) {
			unsigned int v = atomic_load(&r->shm->req);

			if (v == last) {
				futex_wait(&r->shm->req, last, 1000000000ull);
				if (getppid() == 1)
					_exit(12);
				continue;
			}
			last = v;
			atomic_store(&r->shm->resp, v);
			futex_wake(&r->shm->resp, 1);
			if (v == 0xffffffffu)
				_exit(0);
		}
	case RPC_UNIX:
	case RPC_PIPE: {
		int in = r->kind == RPC_UNIX ? r->sfd : r->c2s[0];
		int out = r->kind == RPC_UNIX ? r->sfd : r->s2c[1];

		for (;;) {
			ssize_t n = read(in, &msg, sizeof(msg));

			if (n < 0 && errno == EINTR)
				continue;
			if (n != sizeof(msg))
				_exit(13);
			if (write(out, &msg, sizeof(msg)) != sizeof(msg))
				_exit(14);
			if (msg == RPC_QUIT)
				_exit(0);
		}
	}
	default:
		_exit(15);
	}
}

static int rpc_start(struct rpc *r, enum rpc_kind kind, int dev)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->dev = dev;
	r->ch = r->cfd = r->sfd = -1;
	r->c2s[0] = r->c2s[1] = r->s2c[0] = r->s2c[1] = -1;
	switch (kind) {
	case RPC_CHANNEL:
	case RPC_CHANNEL_BOOST:
		r->ch = ntsync_channel_create(dev, 16);
		if (r->ch < 0)
			return r->ch;
		break;
	case RPC_FUTEX:
		r->shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (r->shm == MAP_FAILED) {
			r->shm = NULL;
			return -errno;
		}
		break;
	case RPC_UNIX:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -errno;
		r->cfd = sv[0];
		r->sfd = sv[1];
		break;
	case RPC_PIPE:
		if (pipe2(r->c2s, O_CLOEXEC) || pipe2(r->s2c, O_CLOEXEC))
			return -errno;
		break;
	default:
		return -EINVAL;
	}
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0)
		rpc_server(r);
	return 0;
}

/* One round trip; 0 or a negative errno. */
static int rpc_call(struct rpc *r, uint64_t payload)
{
	uint64_t msg = payload;
	unsigned int seq;
	ssize_t n;

	switch (r->kind) {
	case RPC_CHANNEL:
		return ntsync_channel_send(r->ch, 0, 0, payload, 0);
	case RPC_CHANNEL_BOOST:
		return ntsync_channel_send(r->ch, SCHED_FIFO, BOOST_PRIO, payload, 0);
	case RPC_FUTEX:
		/* Sequence numbers never wrap here (at most 10^6 calls). */
		seq = payload == RPC_QUIT ? 0xffffffffu : ++r->seq;
		atomic_store(&r->shm->req, seq);
		futex_wake(&r->shm->req, 1);
		for (;;) {
			unsigned int v = atomic_load(&r->shm->resp);
			int ret;

			if (v == seq)
				return 0;
			ret = futex_wait(&r->shm->resp, v, 10000000000ull);
			if (ret == -ETIMEDOUT || ret == -EINTR)
				return ret;
		}
	case RPC_UNIX:
	case RPC_PIPE: {
		int out = r->kind == RPC_UNIX ? r->cfd : r->c2s[1];
		int in = r->kind == RPC_UNIX ? r->cfd : r->s2c[0];

		if (write(out, &msg, sizeof(msg)) != sizeof(msg))
			return -errno;
		n = read(in, &msg, sizeof(msg));
		if (n < 0)
			return -errno;
		return n == sizeof(msg) && msg == payload ? 0 : -EIO;
	}
	default:
		return -EINVAL;
	}
}

static void rpc_stop(struct rpc *r)
{
	int status;

	if (r->pid > 0) {
		alarm(5);
		if (rpc_call(r, RPC_QUIT))
			kill(r->pid, SIGKILL);
		alarm(0);
		waitpid(r->pid, &status, 0);
	}
	if (r->ch >= 0)
		close(r->ch);
	if (r->cfd >= 0)
		close(r->cfd);
	if (r->sfd >= 0)
		close(r->sfd);
	for (int i = 0; i < 2; i++) {
		if (r->c2s[i] >= 0)
			close(r->c2s[i]);
		if (r->s2c[i] >= 0)
			close(r->s2c[i]);
	}
	if (r->shm)
		munmap(r->shm, 4096);
}

void run_channel_rtt(const struct bench_cfg *cfg, struct result *res)
{
	struct series *s[RPC_KINDS];
	struct rpc rpc[RPC_KINDS];
	bool started[RPC_KINDS] = { false }, cut[RPC_KINDS] = { false };
	uint64_t end;
	unsigned int per_round = (cfg->samples + RTT_ROUNDS - 1) / RTT_ROUNDS;
	char why[192];
	int dev, k, ret;
	unsigned int round, i;

	snprintf(res->note, sizeof(res->note),
		 "client and forked server process, 8-byte messages; ntsync-channel: "
		 "SEND_PI prio 0; -boost: client FIFO %d sends FIFO %d (receiver boosted); "
		 "peers: client SCHED_OTHER", BOOST_PRIO, BOOST_PRIO);
	for (k = 0; k < RPC_KINDS; k++)
		s[k] = res_add(res, rpc_names[k], UNIT_US);
	bench_install_noop(SIGALRM);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0) {
		series_unsupported(s[RPC_CHANNEL], "%s", why);
		series_unsupported(s[RPC_CHANNEL_BOOST], "%s", why);
	} else if (bench_nspa(dev, why, sizeof(why)) <= 0) {
		series_unsupported(s[RPC_CHANNEL], "%s", why);
		series_unsupported(s[RPC_CHANNEL_BOOST], "%s", why);
	} else if (!rt_allowed(why, sizeof(why))) {
		series_unsupported(s[RPC_CHANNEL_BOOST], "%s", why);
	}
	for (k = 0; k < RPC_KINDS; k++) {
		if (s[k]->status != ST_OK)
			continue;
		ret = rpc_start(&rpc[k], (enum rpc_kind)k, dev);
		if (ret) {
			if (bench_nspa_missing(ret))
				series_unsupported(s[k], "CREATE_CHANNEL: %s", strerror(-ret));
			else
				series_error(s[k], "starting the server: %s", strerror(-ret));
			rpc_stop(&rpc[k]);
			continue;
		}
		started[k] = true;
	}
	/* Interleaved rounds, so that drift hits every transport alike. */
	for (round = 0; round < RTT_ROUNDS; round++) {
		for (k = 0; k < RPC_KINDS; k++) {
			bool boost = k == RPC_CHANNEL_BOOST;

			if (!started[k] || s[k]->status != ST_OK)
				continue;
			if (boost && (ret = sched_self(SCHED_FIFO, BOOST_PRIO))) {
				series_unsupported(s[k], "SCHED_FIFO: %s", strerror(-ret));
				continue;
			}
			alarm(60);
			ret = 0;
			for (i = 0; i < RTT_WARMUP && !ret; i++)
				ret = rpc_call(&rpc[k], i);
			end = now_ns() + (uint64_t)cfg->budget_ms * 1000000ull / RTT_ROUNDS;
			for (i = 0; i < per_round && !ret; i++) {
				uint64_t t0 = now_ns(), t1;

				ret = rpc_call(&rpc[k], i);
				t1 = now_ns();
				if (!ret)
					series_push(s[k], (double)(t1 - t0) / 1e3);
				if (t1 > end && i + 1 < per_round) {
					cut[k] = true;
					break;
				}
			}
			alarm(0);
			if (boost)
				sched_self(SCHED_OTHER, 0);
			if (ret)
				series_error(s[k], "round trip: %s", strerror(-ret));
		}
	}
	for (k = 0; k < RPC_KINDS; k++) {
		if (started[k])
			rpc_stop(&rpc[k]);
		if (cut[k])
			series_extra_text(s[k], "budget", "hit (%u ms)", cfg->budget_ms);
	}
	if (dev >= 0)
		close(dev);
}

/* ---- Dispatcher burst ------------------------------------------------- */

#define BURST_SENDERS	4

struct bu_shared {
	int ch;
	atomic_uint stop;
	atomic_uint running;
	atomic_int err;
	struct gate gate;
};

struct bu_sender {
	struct bu_shared *sh;
	pthread_t th;
	unsigned long sent;
	atomic_uint done;
};

static void *bu_sender_main(void *arg)
{
	struct bu_sender *t = arg;
	struct bu_shared *sh = t->sh;

	gate_wait(&sh->gate);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		int ret = ntsync_channel_send(sh->ch, 0, 0, t->sent, 0);

		if (ret == -EINTR)
			continue;
		if (ret) {
			int zero = 0;

			atomic_compare_exchange_strong(&sh->err, &zero, ret);
			break;
		}
		t->sent++;
	}
	atomic_store(&t->done, 1);
	atomic_fetch_sub(&sh->running, 1);
	return NULL;
}

/*
 * One trial of @ms; returns ops/s (replies per second) and the mean number
 * of entries served per AGGREGATE_WAIT, or a negative errno.
 */
static double bu_trial(int dev, bool drain, unsigned int ms, double *per_wait,
		       char *why, size_t len)
{
	struct bu_shared sh;
	struct bu_sender snd[BURST_SENDERS];
	struct ntsync_aggregate_source src[2];
	struct ntsync_channel_recv2_args a;
	unsigned long ops = 0, waits = 0;
	uint64_t t0, t1, end, hard_end;
	int efd, i, started = 0, ret = 0;
	bool counting = true;

	memset(&sh, 0, sizeof(sh));
	memset(snd, 0, sizeof(snd));
	gate_init(&sh.gate);
	sh.ch = ntsync_channel_create(dev, 64);
	if (sh.ch < 0) {
		snprintf(why, len, "CREATE_CHANNEL: %s", strerror(-sh.ch));
		return sh.ch;
	}
	/* A second source, as a real dispatcher has (never signaled here). */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0) {
		ret = -errno;
		snprintf(why, len, "eventfd: %s", strerror(-ret));
		close(sh.ch);
		return ret;
	}
	memset(src, 0, sizeof(src));
	src[0].type = NTSYNC_AGG_OBJECT;
	src[0].fd = (uint32_t)sh.ch;
	src[1].type = NTSYNC_AGG_FD;
	src[1].events = POLLIN;
	src[1].fd = (uint32_t)efd;

	for (i = 0; i < BURST_SENDERS; i++) {
		snd[i].sh = &sh;
		ret = thread_start(&snd[i].th, bu_sender_main, &snd[i]);
		if (ret) {
			snprintf(why, len, "pthread_create: %s", strerror(-ret));
			break;
		}
		atomic_fetch_add(&sh.running, 1);
		started++;
	}
	if (ret)
		atomic_store(&sh.stop, 1);
	t0 = now_ns();
	end = t0 + (uint64_t)ms * 1000000ull;
	hard_end = end + 10000000000ull;
	t1 = end;
	gate_open(&sh.gate);
	/* Serve until the trial ends, then until every sender has left. */
	while (atomic_load(&sh.running) > 0) {
		uint32_t fired = 0, events = 0;
		uint64_t now = now_ns();
		int r;

		if (counting && now >= end) {
			t1 = now;
			counting = false;
			atomic_store(&sh.stop, 1);
		}
		if (now >= hard_end) {
			if (!ret) {
				ret = -ETIMEDOUT;
				snprintf(why, len, "senders did not finish");
			}
			break;
		}
		r = ntsync_aggregate_wait(dev, src, 2, 0, now + 20000000ull, 0,
					  &fired, &events);
		if (r == -ETIMEDOUT || r == -EINTR)
			continue;
		if (r) {
			if (!ret) {
				ret = r;
				snprintf(why, len, "AGGREGATE_WAIT: %s", strerror(-r));
			}
			atomic_store(&sh.stop, 1);
			counting = false;
			/* Keep serving below so that the senders can leave. */
		} else if (fired != 0) {
			if (!ret) {
				ret = -EIO;
				snprintf(why, len, "AGGREGATE_WAIT fired source %u", fired);
			}
			atomic_store(&sh.stop, 1);
			counting = false;
		} else if (counting) {
			waits++;
		}
		/* RECV2 only when the channel fired: it blocks otherwise. */
		if (r == 0 && fired == 0)
			r = ntsync_channel_recv2(sh.ch, &a);
		else
			r = ntsync_channel_try_recv2(sh.ch, &a);
		while (r == 0) {
			r = ntsync_channel_reply(sh.ch, a.entry_id);
			if (r) {
				if (!ret) {
					ret = r;
					snprintf(why, len, "REPLY: %s", strerror(-r));
				}
				break;
			}
			if (counting)
				ops++;
			if (!drain && counting && !ret)
				break;
			r = ntsync_channel_try_recv2(sh.ch, &a);
		}
		if (r && r != -EAGAIN && !ret) {
			ret = r;
			snprintf(why, len, "RECV2/TRY_RECV2: %s", strerror(-r));
			atomic_store(&sh.stop, 1);
			counting = false;
		}
	}
	/* Senders stuck in SEND_PI (only after an error): interrupt them. */
	if (started) {
		bench_install_noop(SIGUSR1);
		for (i = 0; i < started; i++) {
			while (!atomic_load(&snd[i].done)) {
				pthread_kill(snd[i].th, SIGUSR1);
				while (ntsync_channel_try_recv2(sh.ch, &a) == 0)
					ntsync_channel_reply(sh.ch, a.entry_id);
				sleep_ns(1000000);
			}
			pthread_join(snd[i].th, NULL);
		}
	}
	if (!ret && atomic_load(&sh.err)) {
		ret = atomic_load(&sh.err);
		snprintf(why, len, "SEND_PI: %s", strerror(-ret));
	}
	close(efd);
	close(sh.ch);
	if (ret)
		return ret;
	*per_wait = waits ? (double)ops / (double)waits : 0;
	return (double)ops / ((double)(t1 - t0) / 1e9);
}

void run_burst(const struct bench_cfg *cfg, struct result *res)
{
	struct series *s[2];
	double per_wait_sum[2] = { 0 };
	unsigned int tr, n[2] = { 0 };
	char why[192];
	int dev, k, ret;

	snprintf(res->note, sizeof(res->note),
		 "%d SCHED_OTHER sender threads (SEND_PI prio 0) on one channel; the "
		 "dispatcher waits on the channel + an eventfd; one sample per %u ms trial; "
		 "per_wait = entries served per AGGREGATE_WAIT",
		 BURST_SENDERS, cfg->trial_ms);
	s[0] = res_add(res, "aggregate-drain", UNIT_OPS);
	s[1] = res_add(res, "aggregate-per-entry", UNIT_OPS);
	dev = bench_open_dev(why, sizeof(why));
	if (dev < 0 || (ret = bench_nspa(dev, why, sizeof(why))) <= 0) {
		series_unsupported(s[0], "%s", why);
		series_unsupported(s[1], "%s", why);
		if (dev >= 0)
			close(dev);
		return;
	}
	for (tr = 0; tr <= cfg->trials; tr++) {
		for (k = 0; k < 2; k++) {
			double pw = 0, v;

			if (s[k]->status != ST_OK)
				continue;
			v = bu_trial(dev, k == 0, tr ? cfg->trial_ms : cfg->trial_ms / 4 + 10,
				     &pw, why, sizeof(why));
			if (v < 0) {
				if (bench_nspa_missing((int)v))
					series_unsupported(s[k], "%s", why);
				else
					series_error(s[k], "%s", why);
			} else if (tr) {
				series_push(s[k], v);
				per_wait_sum[k] += pw;
				n[k]++;
			}
		}
	}
	for (k = 0; k < 2; k++)
		if (n[k])
			series_extra(s[k], "per_wait", per_wait_sum[k] / n[k]);
	close(dev);
}
