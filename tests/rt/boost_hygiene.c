// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boost hygiene (issue 12): a boost that ntsync applies to a task stays
 * with that task, ends when its cause ends, and never overrides what the
 * task does by itself.  For each of the three boost sources
 *  - mutex PI: the owner of a mutex that a SCHED_FIFO thread waits on,
 *    until the waiter is gone;
 *  - EVENT_SET_PI: the consumer of the signal, until its next wait;
 *  - channel: the receiver of a CHANNEL_SEND_PI request, until its REPLY,
 * these tests show:
 *  - fork: every boost carries SCHED_FLAG_RESET_ON_FORK, so a process or
 *    thread created by a boosted task starts at SCHED_OTHER nice 0 (the
 *    child of a parent whose base is SCHED_OTHER nice 0), and the parent
 *    gets back exactly its base, its own reset-on-fork flag included (set
 *    or not by itself);
 *  - unprivileged fork: a uid 1000 task (RLIMIT_RTPRIO 0) boosted by a root
 *    FIFO 50 thread forks a child (which forks a grandchild) and creates a
 *    thread; once the boost is gone, no task of uid 1000 on the system is
 *    SCHED_FIFO or SCHED_RR (all of them still alive when looked at);
 *  - self-change: a boosted task that sets itself SCHED_FIFO 70 or
 *    SCHED_OTHER nice 5 is at that after the boost ends, and that is its
 *    base for later boosts (also when a new PI event re-boosts it first);
 *  - borrowed priority: a boosted uid 1000 task (RLIMIT_RTPRIO 0) gets
 *    EPERM from EVENT_SET_PI and CHANNEL_SEND_PI with a non-zero prio (its
 *    base counts, not its boost); prio 0 still works.
 *
 * The task under test is a separate process ("the task", forked before any
 * thread of the test exists) that performs one command at a time sent over
 * a pipe and answers with the result and its own attributes read right
 * after (like nt_actor.after).  Root threads of the test are the FIFO 50
 * mutex waiter and channel sender (actors), the EVENT_SET_PI caller (the
 * main thread), and a replier for the probes' channel.  Everything the task
 * creates sleeps on a pipe (the gate) until the test has looked at it.
 * State is read with sched_getattr and /proc only, never inferred from
 * timing.
 */
#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"

#define BOOST		50	/* FIFO priority of every boost here */
#define NOBODY		1000	/* uid of nt_drop_privileges() */
#define PAYLOAD		0xb00577ull
#define PROBE_PAYLOAD	0x9e0be000ull
/* The task's owner id in every wait (0 is EINVAL); the root mutex waiters
 * are owners 2 and 3. */
#define TASK_OWNER	1

enum source { SRC_MUTEX, SRC_EVENT, SRC_CHANNEL };

/* ---- What a boosted task creates ------------------------------------- */

/*
 * A child process (which forks a grandchild) and a thread, all asleep on
 * the gate until the test closes its write end.  In a MAP_SHARED mapping:
 * the processes report their own pids.
 */
struct spawn {
	int gate[2];
	atomic_int child, grandchild, thread;
};

static struct spawn *spawn_new(void)
{
	struct spawn *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		NT_FAIL("mmap: %s", strerror(errno));
	memset(s, 0, sizeof(*s));
	if (pipe(s->gate))
		NT_FAIL("pipe: %s", strerror(errno));
	return s;
}

static void sleep_on_gate(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void *gate_thread(void *p)
{
	sleep_on_gate(*(int *)p);
	return NULL;
}

/* Child process side: nothing but the gate stays open. */
static noreturn void spawn_child(struct spawn *s)
{
	int status = 0;
	pid_t g;

	for (int fd = 3; fd < 1024; fd++)
		if (fd != s->gate[0])
			close(fd);
	atomic_store(&s->child, getpid());
	g = fork();
	if (g == 0) {
		atomic_store(&s->grandchild, getpid());
		sleep_on_gate(s->gate[0]);
		_exit(0);
	}
	if (g < 0)
		_exit(1);
	sleep_on_gate(s->gate[0]);
	if (waitpid(g, &status, 0) != g || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		_exit(1);
	_exit(0);
}

/* Wait until *pid is reported (by a process that is starting). */
static pid_t spawn_wait_pid(atomic_int *pid, const char *what)
{
	uint64_t start = nt_mono_ns();

	while (!atomic_load(pid)) {
		if (nt_elapsed_ms(start) > NT_SOON_MS)
			NT_FAIL("the %s did not start within %u ms", what,
				NT_SOON_MS);
		nt_sleep_ms(1);
	}
	return atomic_load(pid);
}

/* In the task: fork the child, create the thread @t; 0 or -errno. */
static int spawn_run(struct spawn *s, struct nt_thread *t)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		spawn_child(s);
	nt_thread_start(t, gate_thread, &s->gate[0]);
	atomic_store(&s->thread, t->tid);
	spawn_wait_pid(&s->child, "child");
	spawn_wait_pid(&s->grandchild, "grandchild");
	return 0;
}

/*
 * Everything the boosted task created is at SCHED_OTHER nice 0, the base
 * of the task in these tests (its reset-on-fork child, whatever the boost
 * was), and has no RESET_ON_FORK flag unless the base had it.
 */
static void check_spawned(const struct spawn *s, uint64_t base_flags)
{
	const pid_t tids[3] = { atomic_load(&s->child),
				atomic_load(&s->grandchild),
				atomic_load(&s->thread) };
	static const char *const names[3] = { "child", "grandchild",
					       "thread" };

	for (unsigned int i = 0; i < 3; i++) {
		char g[64];
		struct nt_sched got = nt_sched_get(tids[i]);
		uint64_t flags = nt_sched_flags(tids[i]);

		if (!nt_sched_matches(got, NT_OTHER(0)))
			NT_FAIL_SOFT("%s %d created while boosted runs at %s, expected SCHED_OTHER nice 0",
				     names[i], (int)tids[i],
				     nt_sched_str(got, g, sizeof(g)));
		if ((flags & NT_SCHED_RESET_ON_FORK) &&
		    !(base_flags & NT_SCHED_RESET_ON_FORK))
			NT_FAIL_SOFT("%s %d created while boosted has RESET_ON_FORK, which its parent's base had not",
				     names[i], (int)tids[i]);
	}
}

/* ---- The task: a process serving commands ---------------------------- */

enum op {
	OP_SET = 'S',		/* sched_setattr(itself, cmd.s, cmd.flags) */
	OP_TAKE = 'T',		/* acquire the mutex (WAIT_ANY) */
	OP_UNLOCK = 'U',	/* unlock it */
	OP_CONSUME = 'E',	/* WAIT_ANY on the event */
	OP_DRAIN = 'D',		/* a wait that times out at once */
	OP_RECV = 'R',		/* RECV2 on the channel */
	OP_REPLY = 'Y',		/* REPLY to what it received */
	OP_SPAWN = 'F',		/* fork a child, create a thread */
	OP_PROBE = 'P',		/* the permission probes below */
	OP_QUIT = 'Q',		/* reap what it spawned, exit */
};

struct cmd {
	char op;
	struct nt_sched s;
	uint64_t flags;
};

/* What a boosted unprivileged task tries in OP_PROBE: an EVENT_SET_PI or
 * a CHANNEL_SEND_PI, and the errno expected. */
static const struct probe {
	bool send;
	uint32_t policy, prio;
	int err;
} probes[] = {
	{ false, SCHED_FIFO, BOOST, EPERM },
	{ false, SCHED_RR, 1, EPERM },
	{ true, SCHED_FIFO, BOOST, EPERM },
	{ true, SCHED_RR, 1, EPERM },
	{ false, SCHED_FIFO, 0, 0 },
	{ true, SCHED_FIFO, 0, 0 },
};
#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

struct reply {
	int32_t ret;
	int32_t probe[NR_PROBES];
	struct nt_sched self;	/* its attributes right after the command */
	uint64_t flags;		/* its sched_flags then */
};

struct rig {
	int dev, m, ev, idle, ch;
	int ev2, pch;		/* targets of the probes */
	struct spawn *s;
	/* Root threads: the FIFO 50 mutex waiter / channel sender, a FIFO 60
	 * second waiter, the probe channel's replier. */
	struct nt_chan_actor helper, helper2;
	struct nt_thread replier;
	atomic_bool replier_quit;
	atomic_uint replies;
	struct ntsync_channel_recv2_args probe_msg;	/* the last one */
	/* The task. */
	pid_t pid;
	int cmd_w, rep_r;
	/* Task side only. */
	int cmd_r, rep_w;
	uint64_t id;
	struct nt_thread thread;
	bool spawned;
};

static int task_probe(struct rig *r, struct reply *rep)
{
	for (unsigned int i = 0; i < NR_PROBES; i++) {
		const struct probe *p = &probes[i];
		uint32_t prev;

		if (p->send) {
			rep->probe[i] = ntsync_channel_send(r->pch, p->policy,
							    p->prio,
							    PROBE_PAYLOAD + i,
							    NT_REPLY_OFF(PROBE_PAYLOAD + i));
			continue;
		}
		rep->probe[i] = ntsync_event_set_pi(r->ev2, p->policy, p->prio);
		if (rep->probe[i] == 0)
			ntsync_event_reset(r->ev2, &prev);
	}
	return 0;
}

/* Reap the child; the thread ends when the test has closed the gate. */
static int task_quit(struct rig *r)
{
	int status = 0;
	pid_t child = atomic_load(&r->s->child);

	if (!r->spawned)
		return 0;
	nt_thread_join(&r->thread);
	if (waitpid(child, &status, 0) != child)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECHILD;
}

static int task_do(struct rig *r, const struct cmd *c, struct reply *rep)
{
	struct ntsync_channel_recv2_args msg;
	uint32_t index, prev;
	int ret;

	switch (c->op) {
	case OP_SET:
		return nt_sched_set_flags_raw(0, c->s, c->flags);
	case OP_TAKE:
		return ntsync_wait_any(r->dev, &r->m, 1, TASK_OWNER, 0,
				       NTSYNC_TIMEOUT_INFINITE, 0, &index);
	case OP_UNLOCK:
		return ntsync_mutex_unlock(r->m, TASK_OWNER, &prev);
	case OP_CONSUME:
		return ntsync_wait_any(r->dev, &r->ev, 1, TASK_OWNER, 0,
				       NTSYNC_TIMEOUT_INFINITE, 0, &index);
	case OP_DRAIN:
		return ntsync_wait_any(r->dev, &r->idle, 1, TASK_OWNER, 0,
				       NT_NOW_DEADLINE, 0, &index);
	case OP_RECV:
		ret = ntsync_channel_recv2(r->ch, &msg);
		r->id = msg.entry_id;
		return ret;
	case OP_REPLY:
		return ntsync_channel_reply(r->ch, r->id);
	case OP_SPAWN:
		r->spawned = true;
		return spawn_run(r->s, &r->thread);
	case OP_PROBE:
		return task_probe(r, rep);
	case OP_QUIT:
		return task_quit(r);
	}
	return -EINVAL;
}

/* The task's main loop; a failed check in it ends it with status 1 (the
 * test then fails on the missing reply). */
static noreturn void task_main(struct rig *r, bool unprivileged)
{
	struct reply rep;
	struct cmd c;

	close(r->cmd_w);
	close(r->rep_r);
	close(r->s->gate[1]);
	if (unprivileged)
		nt_drop_privileges(0);
	for (;;) {
		if (read(r->cmd_r, &c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(2);	/* the test is gone */
		memset(&rep, 0, sizeof(rep));
		rep.ret = task_do(r, &c, &rep);
		if (nt_sched_get_raw(0, &rep.self) < 0)
			_exit(3);
		rep.flags = nt_sched_flags(0);
		if (write(r->rep_w, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(4);
		if (c.op == OP_QUIT)
			_exit(0);
	}
}

static void task_start(struct rig *r, bool unprivileged)
{
	int cmd[2], rep[2];

	if (pipe(cmd) || pipe(rep))
		NT_FAIL("pipe: %s", strerror(errno));
	r->cmd_r = cmd[0];
	r->cmd_w = cmd[1];
	r->rep_r = rep[0];
	r->rep_w = rep[1];
	fflush(stdout);
	r->pid = fork();
	if (r->pid < 0)
		NT_FAIL("fork: %s", strerror(errno));
	if (r->pid == 0)
		task_main(r, unprivileged);
	close(r->cmd_r);
	close(r->rep_w);
}

/* Why the task stopped answering. */
static noreturn void task_died(struct rig *r, const char *what)
{
	int status = 0;

	kill(r->pid, SIGKILL);
	waitpid(r->pid, &status, 0);
	NT_FAIL("the task %s (status 0x%x)", what, status);
	abort();
}

/* Send a command and wait (NT_SOON_MS) for its reply. */
static struct reply task_call_cmd(struct rig *r, struct cmd c)
{
	struct pollfd pfd = { .fd = r->rep_r, .events = POLLIN };
	struct reply rep;

	if (write(r->cmd_w, &c, sizeof(c)) != (ssize_t)sizeof(c))
		task_died(r, "does not take commands");
	if (poll(&pfd, 1, NT_SOON_MS) != 1)
		task_died(r, "did not answer in time");
	if (read(r->rep_r, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		task_died(r, "ended instead of answering");
	return rep;
}

static struct reply task_call(struct rig *r, enum op op)
{
	return task_call_cmd(r, (struct cmd){ .op = op });
}

/* The task sets its own attributes (sched_setattr on itself). */
static struct reply task_set(struct rig *r, struct nt_sched s, uint64_t flags)
{
	struct reply rep = task_call_cmd(r, (struct cmd){ OP_SET, s, flags });

	NT_ASSERT_EQ(rep.ret, 0);
	NT_CHECK_SCHED_VAL(rep.self, s);
	return rep;
}

/* The task runs at exactly @base (nice included) with RESET_ON_FORK as in
 * @flags; read from outside now. */
#define CHECK_TASK(r, base, flags) \
	check_task(__FILE__, __LINE__, r, base, flags)

static void check_task(const char *file, int line, struct rig *r,
		       struct nt_sched base, uint64_t flags)
{
	uint64_t got = nt_sched_flags(r->pid) & NT_SCHED_RESET_ON_FORK;

	nt_check_sched(file, line, false, r->pid, base);
	if (got != (flags & NT_SCHED_RESET_ON_FORK))
		nt_fail_msg(file, line, false,
			    "task %d: RESET_ON_FORK is %s, its own flag is %s",
			    (int)r->pid, got ? "set" : "clear",
			    flags ? "set" : "clear");
}

/* ---- Root side: the probe channel's replier -------------------------- */

/* Replies at once to whatever comes on the probe channel: a probe that
 * the driver wrongly accepts then returns 0 instead of blocking. */
static void *replier_main(void *p)
{
	struct rig *r = p;
	struct ntsync_channel_recv2_args msg;

	for (;;) {
		int ret = ntsync_channel_recv2(r->pch, &msg);

		if (ret) {
			nt_diag("replier: RECV2: %s", strerror(-ret));
			nt_abort_test();
		}
		r->probe_msg = msg;
		atomic_fetch_add(&r->replies, 1);
		ret = ntsync_channel_reply(r->pch, msg.entry_id);
		if (ret) {
			nt_diag("replier: REPLY: %s", strerror(-ret));
			nt_abort_test();
		}
		if (atomic_load(&r->replier_quit))
			return NULL;
	}
}

static void replier_stop(struct rig *r)
{
	atomic_store(&r->replier_quit, true);
	NT_ASSERT_OK(ntsync_channel_send(r->pch, SCHED_OTHER, 0, 0,
					 NT_REPLY_OFF(0)));
	nt_thread_join(&r->replier);
}

/* ---- Set-up ---------------------------------------------------------- */

/*
 * Objects, the task (forked first, while the test has no other thread; it
 * drops to uid 1000 and RLIMIT_RTPRIO 0 if @unprivileged), which sets its
 * own @base and @flags, then the root threads.
 */
static void rig_init(struct rig *r, bool unprivileged, struct nt_sched base,
		     uint64_t flags)
{
	memset(r, 0, sizeof(*r));
	/* A task that died shows as a failed command, not as SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	nt_pi_param_set(true);
	r->dev = nt_dev();
	r->m = nt_mutex(r->dev, 0, 0);
	r->ev = nt_event(r->dev, 0, 0);
	r->idle = nt_event(r->dev, 0, 0);
	r->ev2 = nt_event(r->dev, 0, 0);
	r->ch = nt_channel(r->dev, 4);
	r->pch = nt_channel(r->dev, 4);
	r->s = spawn_new();
	task_start(r, unprivileged);
	task_set(r, base, flags);
	CHECK_TASK(r, base, flags);
	nt_ca_start(&r->helper, r->ch, NT_FIFO_N(BOOST, 0));
	nt_ca_start(&r->helper2, r->ch, NT_FIFO_N(BOOST + 10, 0));
	nt_thread_start(&r->replier, replier_main, r);
}

/* Release everything the task created, end the task and the threads. */
static void rig_fini(struct rig *r)
{
	int status = 0;

	close(r->s->gate[1]);
	NT_EXPECT_EQ(task_call(r, OP_QUIT).ret, 0);
	NT_ASSERT_EQ(waitpid(r->pid, &status, 0), r->pid);
	NT_EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(r->cmd_w);
	close(r->rep_r);
	replier_stop(r);
	nt_ca_stop(&r->helper);
	nt_ca_stop(&r->helper2);
	close(r->s->gate[0]);
	munmap(r->s, sizeof(*r->s));
	close(r->pch);
	close(r->ch);
	close(r->ev2);
	close(r->idle);
	close(r->ev);
	close(r->m);
	close(r->dev);
}

/* ---- The three sources ----------------------------------------------- */

static const char *source_name(enum source src)
{
	static const char *const names[] = { "mutex PI", "EVENT_SET_PI",
					     "channel" };

	return names[src];
}

/* Boost the task to FIFO 50 (where its own attributes are lower). */
static void boost(struct rig *r, enum source src)
{
	switch (src) {
	case SRC_MUTEX:
		NT_ASSERT_EQ(task_call(r, OP_TAKE).ret, 0);
		nt_actor_wait_start(&r->helper.a, r->dev, false, &r->m, 1, 2,
				    NTSYNC_TIMEOUT_INFINITE);
		break;
	case SRC_EVENT:
		nt_set_pi(r->ev, SCHED_FIFO, BOOST);
		NT_ASSERT_EQ(task_call(r, OP_CONSUME).ret, 0);
		break;
	case SRC_CHANNEL:
		nt_ca_send_start(&r->helper, SCHED_FIFO, BOOST, PAYLOAD);
		NT_ASSERT_EQ(task_call(r, OP_RECV).ret, 0);
		break;
	}
}

/* The boost's cause ends the ordinary way: the owner unlocks (the waiter
 * takes the mutex and gives it back), the consumer waits again, the
 * receiver replies.  Returns the task's reply to that last command. */
static struct reply end_boost(struct rig *r, enum source src)
{
	struct reply rep = { 0 };

	switch (src) {
	case SRC_MUTEX:
		rep = task_call(r, OP_UNLOCK);
		NT_ASSERT_EQ(rep.ret, 0);
		NT_ASSERT_EQ(nt_actor_finish(&r->helper.a), 0);
		NT_ASSERT_EQ(nt_actor_unlock(&r->helper.a, r->m, 2), 0);
		break;
	case SRC_EVENT:
		rep = task_call(r, OP_DRAIN);
		NT_ASSERT_ERRNO(rep.ret, ETIMEDOUT);
		break;
	case SRC_CHANNEL:
		rep = task_call(r, OP_REPLY);
		NT_ASSERT_EQ(rep.ret, 0);
		NT_ASSERT_EQ(nt_ca_finish(&r->helper), 0);
		break;
	}
	return rep;
}

/* The FIFO 50 mutex waiter leaves (a signal ends its wait); the task keeps
 * the mutex. */
static void waiter_leaves(struct rig *r)
{
	nt_sig_install(SIGUSR1, false);
	nt_sig_deliver(r->helper.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_actor_finish(&r->helper.a), EINTR);
}

/* ---- Fork while boosted (root task) ---------------------------------- */

/*
 * The task (base SCHED_OTHER nice 0, with or without its own
 * RESET_ON_FORK) is boosted; the boost carries RESET_ON_FORK; what it
 * forks and creates starts at SCHED_OTHER nice 0 and stays there; the task
 * gets back exactly its base and its own flag.
 */
static void fork_while_boosted(enum source src, uint64_t base_flags)
{
	struct nt_sched base = NT_OTHER(0);
	struct rig r;

	rig_init(&r, false, base, base_flags);
	boost(&r, src);
	NT_CHECK_SCHED(r.pid, NT_FIFO(BOOST));
	if (!(nt_sched_flags(r.pid) & NT_SCHED_RESET_ON_FORK))
		NT_FAIL_SOFT("%s boost applied without RESET_ON_FORK",
			     source_name(src));
	NT_ASSERT_EQ(task_call(&r, OP_SPAWN).ret, 0);
	check_spawned(r.s, base_flags);
	end_boost(&r, src);
	CHECK_TASK(&r, base, base_flags);
	/* Nothing restores them later: checked once the boost is over too. */
	check_spawned(r.s, base_flags);
	rig_fini(&r);
}

NT_TEST_TIMEOUT(fork_while_mutex_pi_boosted, 120)
{
	fork_while_boosted(SRC_MUTEX, 0);
}

NT_TEST_TIMEOUT(fork_while_mutex_pi_boosted_own_reset_on_fork, 120)
{
	fork_while_boosted(SRC_MUTEX, NT_SCHED_RESET_ON_FORK);
}

NT_TEST_TIMEOUT(fork_while_event_boosted, 120)
{
	fork_while_boosted(SRC_EVENT, 0);
}

NT_TEST_TIMEOUT(fork_while_event_boosted_own_reset_on_fork, 120)
{
	fork_while_boosted(SRC_EVENT, NT_SCHED_RESET_ON_FORK);
}

NT_TEST_TIMEOUT(fork_while_channel_boosted, 120)
{
	fork_while_boosted(SRC_CHANNEL, 0);
}

NT_TEST_TIMEOUT(fork_while_channel_boosted_own_reset_on_fork, 120)
{
	fork_while_boosted(SRC_CHANNEL, NT_SCHED_RESET_ON_FORK);
}

/* ---- Unprivileged fork ----------------------------------------------- */

/* Real uid of task @tid of process @pid (names under /proc), -1 if gone. */
static long task_uid(const char *pid, const char *tid)
{
	char path[300], buf[4096];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/status", pid, tid);
	if (!nt_read_small_file(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "\nUid:");
	return p ? strtol(p + 5, NULL, 10) : -1;
}

static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/*
 * Every task of uid @uid on the system (all of /proc/<pid>/task/<tid>):
 * none may run SCHED_FIFO or SCHED_RR.  Returns how many of the @n tasks
 * in @want were among them (they must be alive when looked at).
 */
static unsigned int check_uid_not_rt(uid_t uid, const pid_t *want,
				     unsigned int n)
{
	unsigned int found = 0, seen = 0;
	struct dirent *pe, *te;
	DIR *proc = opendir("/proc");

	NT_ASSERT_TRUE(proc != NULL);
	while ((pe = readdir(proc))) {
		char path[300];
		DIR *task;

		if (!is_number(pe->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", pe->d_name);
		task = opendir(path);
		if (!task)
			continue;	/* gone meanwhile */
		while ((te = readdir(task))) {
			pid_t tid = (pid_t)atoi(te->d_name);
			struct nt_sched got;
			char g[64];

			if (!is_number(te->d_name) ||
			    task_uid(pe->d_name, te->d_name) != (long)uid ||
			    nt_sched_get_raw(tid, &got) < 0)
				continue;
			seen++;
			for (unsigned int i = 0; i < n; i++)
				found += want[i] == tid;
			if (got.policy == SCHED_FIFO || got.policy == SCHED_RR)
				NT_FAIL_SOFT("task %d of process %s (uid %d) runs at %s",
					     (int)tid, pe->d_name, (int)uid,
					     nt_sched_str(got, g, sizeof(g)));
		}
		closedir(task);
	}
	closedir(proc);
	nt_diag("%u task(s) of uid %d, none may be real-time", seen, (int)uid);
	return found;
}

enum leave { LEAVE_END, LEAVE_WAITER_GOES };

/*
 * A uid 1000 task (RLIMIT_RTPRIO 0) boosted by root at FIFO 50 forks a
 * child (which forks a grandchild) and creates a thread; then the boost
 * goes (@how: its cause ends normally, or the mutex waiter leaves while
 * the task keeps the mutex).  No task of uid 1000 is real-time then.
 */
static void unprivileged_fork(enum source src, enum leave how)
{
	struct rig r;
	pid_t want[4];

	rig_init(&r, true, NT_OTHER(0), 0);
	boost(&r, src);
	NT_CHECK_SCHED(r.pid, NT_FIFO(BOOST));
	NT_ASSERT_EQ(task_call(&r, OP_SPAWN).ret, 0);
	check_spawned(r.s, 0);
	if (how == LEAVE_WAITER_GOES)
		waiter_leaves(&r);
	else
		end_boost(&r, src);

	want[0] = r.pid;
	want[1] = atomic_load(&r.s->child);
	want[2] = atomic_load(&r.s->grandchild);
	want[3] = atomic_load(&r.s->thread);
	NT_EXPECT_EQ(check_uid_not_rt(NOBODY, want, 4), 4);
	CHECK_TASK(&r, NT_OTHER(0), 0);
	check_spawned(r.s, 0);
	rig_fini(&r);
}

NT_TEST_TIMEOUT(unprivileged_owner_forks_then_waiter_leaves, 120)
{
	unprivileged_fork(SRC_MUTEX, LEAVE_WAITER_GOES);
}

NT_TEST_TIMEOUT(unprivileged_owner_forks_then_unlocks, 120)
{
	unprivileged_fork(SRC_MUTEX, LEAVE_END);
}

NT_TEST_TIMEOUT(unprivileged_event_consumer_forks, 120)
{
	unprivileged_fork(SRC_EVENT, LEAVE_END);
}

NT_TEST_TIMEOUT(unprivileged_receiver_forks, 120)
{
	unprivileged_fork(SRC_CHANNEL, LEAVE_END);
}

/* ---- Self-change while boosted --------------------------------------- */

/*
 * The boosted task sets itself @self: that holds at once, stays when the
 * boost ends (not the old base), and is the base of the next boost from
 * the same source.
 */
static void self_change_while_boosted(enum source src, struct nt_sched self)
{
	struct nt_sched base = NT_OTHER(0);
	struct reply rep;
	struct rig r;

	rig_init(&r, false, base, 0);
	boost(&r, src);
	NT_CHECK_SCHED(r.pid, NT_FIFO(BOOST));
	task_set(&r, self, 0);
	NT_CHECK_SCHED(r.pid, self);

	rep = end_boost(&r, src);
	NT_EXPECT_SCHED_VAL(rep.self, self);
	CHECK_TASK(&r, self, 0);

	/* Its change is its base now. */
	boost(&r, src);
	NT_EXPECT_SCHED(r.pid, nt_served_sched(self, SCHED_FIFO, BOOST));
	end_boost(&r, src);
	CHECK_TASK(&r, self, 0);
	rig_fini(&r);
}

NT_TEST_TIMEOUT(self_fifo70_while_mutex_pi_boosted, 120)
{
	self_change_while_boosted(SRC_MUTEX, NT_FIFO_N(70, 0));
}

NT_TEST_TIMEOUT(self_fifo70_while_event_boosted, 120)
{
	self_change_while_boosted(SRC_EVENT, NT_FIFO_N(70, 0));
}

NT_TEST_TIMEOUT(self_fifo70_while_channel_boosted, 120)
{
	self_change_while_boosted(SRC_CHANNEL, NT_FIFO_N(70, 0));
}

NT_TEST_TIMEOUT(self_nice5_while_mutex_pi_boosted, 120)
{
	self_change_while_boosted(SRC_MUTEX, NT_OTHER(5));
}

NT_TEST_TIMEOUT(self_nice5_while_event_boosted, 120)
{
	self_change_while_boosted(SRC_EVENT, NT_OTHER(5));
}

NT_TEST_TIMEOUT(self_nice5_while_channel_boosted, 120)
{
	self_change_while_boosted(SRC_CHANNEL, NT_OTHER(5));
}

/*
 * A mutex owner boosted by a FIFO 50 waiter sets itself SCHED_OTHER nice
 * 5; then a FIFO 60 waiter comes (a new PI event: the boost may apply
 * again, at 60).  Once both waiters are gone, it is at SCHED_OTHER nice 5.
 */
NT_TEST_TIMEOUT(self_nice5_then_new_mutex_waiter, 120)
{
	struct nt_sched self = NT_OTHER(5), got;
	struct rig r;
	char g[64];

	rig_init(&r, false, NT_OTHER(0), 0);
	boost(&r, SRC_MUTEX);
	task_set(&r, self, 0);
	nt_actor_wait_start(&r.helper2.a, r.dev, false, &r.m, 1, 3,
			    NTSYNC_TIMEOUT_INFINITE);
	got = nt_sched_get(r.pid);
	nt_diag("with the FIFO %d waiter the owner runs at %s", BOOST + 10,
		nt_sched_str(got, g, sizeof(g)));
	if (!nt_sched_matches(got, self) &&
	    !nt_sched_matches(got, NT_FIFO(BOOST + 10)))
		NT_FAIL_SOFT("owner at %s with a FIFO %d waiter, expected its own SCHED_OTHER nice 5 or the boost",
			     g, BOOST + 10);

	/* The FIFO 60 waiter leaves first (a signal), then the owner hands
	 * the mutex to the FIFO 50 one. */
	nt_sig_install(SIGUSR1, false);
	nt_sig_deliver(r.helper2.a.thread.handle, SIGUSR1);
	NT_ASSERT_ERRNO(nt_actor_finish(&r.helper2.a), EINTR);
	end_boost(&r, SRC_MUTEX);
	CHECK_TASK(&r, self, 0);
	rig_fini(&r);
}

/* ---- A borrowed priority cannot be passed on ------------------------- */

/*
 * A uid 1000 task with RLIMIT_RTPRIO 0, boosted by root to FIFO 50, tries
 * EVENT_SET_PI and CHANNEL_SEND_PI with non-zero prios: EPERM (its base
 * SCHED_OTHER allows none); with prio 0: success.  The refused requests
 * never reach the channel; the prio-0 one does.
 */
static void borrowed_boost(enum source src)
{
	struct reply rep;
	struct rig r;

	rig_init(&r, true, NT_OTHER(0), 0);
	boost(&r, src);
	NT_CHECK_SCHED(r.pid, NT_FIFO(BOOST));
	rep = task_call(&r, OP_PROBE);
	/* Still boosted after the probes: they were made with the boost. */
	NT_EXPECT_SCHED_VAL(rep.self, NT_FIFO(BOOST));
	for (unsigned int i = 0; i < NR_PROBES; i++) {
		const struct probe *p = &probes[i];
		struct nt_sched asked = { p->policy, p->prio, NT_NICE_ANY };
		char a[64];

		if (rep.probe[i] != -p->err)
			NT_FAIL_SOFT("%s-boosted uid %d task: %s(%s) returned %d (%s), expected %d (%s)",
				     source_name(src), NOBODY,
				     p->send ? "CHANNEL_SEND_PI" : "EVENT_SET_PI",
				     nt_sched_str(asked, a, sizeof(a)), rep.probe[i],
				     rep.probe[i] ? strerror(-rep.probe[i]) : "success",
				     -p->err, p->err ? strerror(p->err) : "success");
	}
	NT_EXPECT_EQ(atomic_load(&r.replies), 1);
	NT_EXPECT_EQ(r.probe_msg.prio, 0);
	NT_EXPECT_EQ(r.probe_msg.sender_tid, (uint32_t)r.pid);
	NT_CHECK_EVENT(r.ev2, 0, 0);

	end_boost(&r, src);
	CHECK_TASK(&r, NT_OTHER(0), 0);
	rig_fini(&r);
}

NT_TEST_TIMEOUT(borrowed_mutex_pi_boost_not_passed_on, 120)
{
	borrowed_boost(SRC_MUTEX);
}

NT_TEST_TIMEOUT(borrowed_event_boost_not_passed_on, 120)
{
	borrowed_boost(SRC_EVENT);
}

NT_TEST_TIMEOUT(borrowed_channel_boost_not_passed_on, 120)
{
	borrowed_boost(SRC_CHANNEL);
}
