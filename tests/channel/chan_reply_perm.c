// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may REPLY: any thread of the process that received the request;
 * another process gets EPERM (and the request stays replyable by the
 * receiving process), whether it shares the channel fd through fork or
 * not.  A request received by a child process is replied to by the child.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nt_chan.h"

struct setup {
	int dev, ch;
	struct nt_chan_actor s, r;
};

static void setup(struct setup *t)
{
	t->dev = nt_dev();
	t->ch = nt_channel(t->dev, 4);
	nt_ca_start(&t->s, t->ch, NT_OTHER(0));
	nt_ca_start(&t->r, t->ch, NT_OTHER(0));
}

static void teardown(struct setup *t)
{
	NT_CHECK_ROOM(t->ch, 4);
	nt_ca_stop(&t->s);
	nt_ca_stop(&t->r);
	close(t->ch);
	close(t->dev);
}

struct reply_case {
	int ch;
	uint64_t id;
};

static void child_reply_eperm(void *p)
{
	const struct reply_case *c = p;

	NT_ASSERT_ERRNO(ntsync_channel_reply(c->ch, c->id), EPERM);
	NT_ASSERT_ERRNO(ntsync_channel_reply(c->ch, c->id), EPERM);
	/* Unknown ids are ENOENT for everybody. */
	NT_ASSERT_ERRNO(ntsync_channel_reply(c->ch, c->id + 1000), ENOENT);
}

NT_TEST(reply_from_child_eperm)
{
	struct reply_case c;
	struct setup t;

	setup(&t);
	nt_ca_send_start(&t.s, SCHED_FIFO, 8, 0x1);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	c.ch = t.ch;
	c.id = t.r.msg.entry_id;
	nt_in_child(child_reply_eperm, &c);
	/* Still waiting, still replyable by us. */
	NT_ASSERT_FALSE(nt_ca_idle(&t.s));
	NT_ASSERT_EQ(nt_ca_reply(&t.r, c.id), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	teardown(&t);
}

/* Received by one thread, replied by another thread of the process. */
NT_TEST(reply_from_other_thread)
{
	struct setup t;

	setup(&t);
	nt_ca_send_start(&t.s, SCHED_FIFO, 8, 0x2);
	NT_ASSERT_EQ(nt_ca_recv(&t.r, NT_RECV2), 0);
	NT_ASSERT_OK(ntsync_channel_reply(t.ch, t.r.msg.entry_id));
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	NT_ASSERT_ERRNO(nt_ca_reply(&t.r, t.r.msg.entry_id), ENOENT);
	teardown(&t);
}

/* A forked child receives and replies itself; the parent may not. */
NT_TEST(child_receives_and_replies)
{
	struct ntsync_channel_recv2_args msg;
	int to_parent[2], to_child[2];
	struct setup t;
	uint64_t id;
	char go = 'g';
	pid_t pid;
	int status;

	setup(&t);
	NT_ASSERT_EQ(pipe(to_parent), 0);
	NT_ASSERT_EQ(pipe(to_child), 0);
	nt_ca_send_start(&t.s, SCHED_FIFO, 8, 0x3);
	fflush(stdout);
	pid = fork();
	NT_ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ret = ntsync_channel_recv2(t.ch, &msg);

		if (ret || write(to_parent[1], &msg.entry_id,
				 sizeof(msg.entry_id)) != sizeof(msg.entry_id))
			_exit(2);
		if (read(to_child[0], &go, 1) != 1)
			_exit(3);
		_exit(ntsync_channel_reply(t.ch, msg.entry_id) ? 4 : 0);
	}
	NT_ASSERT_EQ(read(to_parent[0], &id, sizeof(id)), (ssize_t)sizeof(id));
	/* The parent did not receive it. */
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, id), EPERM);
	NT_ASSERT_EQ(write(to_child[1], &go, 1), 1);
	NT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	NT_ASSERT_TRUE(WIFEXITED(status));
	NT_ASSERT_EQ(WEXITSTATUS(status), 0);
	NT_ASSERT_EQ(nt_ca_finish(&t.s), 0);
	NT_ASSERT_ERRNO(ntsync_channel_reply(t.ch, id), ENOENT);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
	teardown(&t);
}
