// SPDX-License-Identifier: GPL-2.0-only
/*
 * nt_test: runner side of the harness (see nt_test.h).
 */
#include "nt_test.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static struct nt_test *nt_tests;
static const char *nt_binary = "test";
static const char *nt_running;

/* Child side: number of failed expectations of the running test. */
static atomic_int nt_failures;

/* Parent side: the child being waited for, and whether its time ran out. */
static volatile pid_t nt_child;
static volatile sig_atomic_t nt_timed_out;

/* Marker the child writes once the test function has returned. */
static const char nt_done_marker[] = "nt-test-completed";
static int nt_done_fd = -1;

void nt_register(struct nt_test *test)
{
	struct nt_test **pos = &nt_tests;

	/* Keep source order whatever order the constructors ran in. */
	while (*pos && (strcmp((*pos)->file, test->file) < 0 ||
			(strcmp((*pos)->file, test->file) == 0 &&
			 (*pos)->line < test->line)))
		pos = &(*pos)->next;
	test->next = *pos;
	*pos = test;
}

const char *nt_current_test(void)
{
	return nt_running ? nt_running : "";
}

/* One write() per line so that lines from several threads do not mix. */
static void nt_vwrite_line(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;
	int n;

	n = snprintf(buf, sizeof(buf), "%s", prefix);
	len = n > 0 ? (size_t)n : 0;
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	/* Best effort: nothing useful can be done if stdout is gone. */
	if (write(STDOUT_FILENO, buf, len) < 0)
		return;
}

void nt_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nt_vwrite_line("# ", fmt, ap);
	va_end(ap);
}

noreturn void nt_abort_test(void)
{
	/* _exit() ends every thread of the test process at once. */
	_exit(1);
}

/* "functional/sem.c" reads better than the absolute build path. */
static const char *nt_short(const char *file)
{
	const char *p = strstr(file, "tests/");

	return p ? p + 6 : file;
}

static void nt_failed(bool fatal)
{
	atomic_fetch_add(&nt_failures, 1);
	if (fatal)
		nt_abort_test();
}

bool nt_compare(struct nt_val a, enum nt_op op, struct nt_val b)
{
	int c;	/* -1, 0, 1 as a <, ==, > b */

	if (a.is_signed && a.s < 0 && !(b.is_signed && b.s < 0))
		c = -1;
	else if (b.is_signed && b.s < 0 && !(a.is_signed && a.s < 0))
		c = 1;
	else if (a.is_signed && b.is_signed)
		c = a.s < b.s ? -1 : a.s > b.s;
	else
		c = a.u < b.u ? -1 : a.u > b.u;

	switch (op) {
	case NT_OP_EQ: return c == 0;
	case NT_OP_NE: return c != 0;
	case NT_OP_LT: return c < 0;
	case NT_OP_LE: return c <= 0;
	case NT_OP_GT: return c > 0;
	case NT_OP_GE: return c >= 0;
	}
	return false;
}

static void nt_format_val(char *buf, size_t size, struct nt_val v)
{
	if (v.is_signed && v.s < 0)
		snprintf(buf, size, "%lld", v.s);
	else
		snprintf(buf, size, "%llu (0x%llx)", v.u, v.u);
}

void nt_fail_cmp(const char *file, int line, bool fatal, const char *ea,
		 const char *op, const char *eb, struct nt_val a,
		 struct nt_val b)
{
	char va[64], vb[64];

	nt_format_val(va, sizeof(va), a);
	nt_format_val(vb, sizeof(vb), b);
	nt_diag("%s:%d: %s failed: %s %s %s", nt_short(file), line,
		fatal ? "assertion" : "expectation", ea, op, eb);
	nt_diag("    %s = %s", ea, va);
	nt_diag("    %s = %s", eb, vb);
	nt_failed(fatal);
}

static void nt_errno_text(char *buf, size_t size, long long value)
{
	const char *name = NULL;

	if (value < 0 && value > -4096)
		name = strerrorname_np((int)-value);
	if (value >= 0)
		snprintf(buf, size, "%lld (success)", value);
	else if (name)
		snprintf(buf, size, "-%s (%s)", name,
			 strerror((int)-value));
	else
		snprintf(buf, size, "%lld", value);
}

void nt_fail_errno(const char *file, int line, bool fatal, const char *expr,
		   long long got, int expected)
{
	char g[96], w[96];

	nt_errno_text(g, sizeof(g), got);
	if (expected)
		nt_errno_text(w, sizeof(w), -(long long)expected);
	else
		snprintf(w, sizeof(w), "success (>= 0)");
	nt_diag("%s:%d: %s failed: %s", nt_short(file), line,
		fatal ? "assertion" : "expectation", expr);
	nt_diag("    expected %s", w);
	nt_diag("    got      %s", g);
	nt_failed(fatal);
}

void nt_fail_msg(const char *file, int line, bool fatal, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nt_diag("%s:%d: %s failed: %s", nt_short(file), line,
		fatal ? "assertion" : "expectation", msg);
	nt_failed(fatal);
}

/* ---- Runner ---------------------------------------------------------- */

static void nt_on_alarm(int sig)
{
	(void)sig;
	nt_timed_out = 1;
	if (nt_child > 0)
		kill(-nt_child, SIGKILL);
}

static noreturn void nt_child_main(const struct nt_test *test, int done_fd)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigaction(SIGALRM, &sa, NULL);
	nt_done_fd = done_fd;
	nt_running = test->name;

	test->fn();

	if (atomic_load(&nt_failures))
		_exit(1);
	if (write(nt_done_fd, nt_done_marker, sizeof(nt_done_marker)) !=
	    (ssize_t)sizeof(nt_done_marker))
		_exit(1);
	_exit(0);
}

static unsigned int nt_timeout_scale(void)
{
	const char *env = getenv("NT_TIMEOUT_SCALE");
	long scale = env ? strtol(env, NULL, 10) : 1;

	return scale >= 1 && scale <= 100 ? (unsigned int)scale : 1;
}

/* Runs one test; returns true when it passed. */
static bool nt_run_one(const struct nt_test *test, unsigned int number)
{
	unsigned int timeout = (test->timeout_s ? test->timeout_s :
				NT_DEFAULT_TIMEOUT_S) * nt_timeout_scale();
	char marker[sizeof(nt_done_marker)];
	bool completed = false, ok;
	int pipefd[2], status = 0;
	pid_t pid, r;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		printf("not ok %u - %s.%s\n# pipe: %s\n", number, nt_binary,
		       test->name, strerror(errno));
		return false;
	}
	fflush(stdout);
	fflush(stderr);

	nt_timed_out = 0;
	pid = fork();
	if (pid < 0) {
		printf("not ok %u - %s.%s\n# fork: %s\n", number, nt_binary,
		       test->name, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	if (pid == 0) {
		close(pipefd[0]);
		nt_child_main(test, pipefd[1]);
	}
	close(pipefd[1]);
	setpgid(pid, pid);	/* also done by the child; one of them wins */
	nt_child = pid;
	alarm(timeout);
	for (;;) {
		r = waitpid(pid, &status, 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
	alarm(0);
	nt_child = 0;
	/* Leftover grandchildren of the test die with it. */
	kill(-pid, SIGKILL);

	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	if (read(pipefd[0], marker, sizeof(marker)) == (ssize_t)sizeof(marker) &&
	    memcmp(marker, nt_done_marker, sizeof(marker)) == 0)
		completed = true;
	close(pipefd[0]);

	ok = !nt_timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	     completed;
	if (nt_timed_out)
		printf("# %s: timed out after %u s\n", test->name, timeout);
	else if (WIFSIGNALED(status))
		printf("# %s: killed by signal %d (%s)\n", test->name,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		printf("# %s: exited with status %d\n", test->name,
		       WEXITSTATUS(status));
	else if (!completed)
		printf("# %s: exited before its end (no completion marker)\n",
		       test->name);
	printf("%s %u - %s.%s\n", ok ? "ok" : "not ok", number, nt_binary,
	       test->name);
	fflush(stdout);
	return ok;
}

static bool nt_selected(const struct nt_test *test, int npat, char **pats)
{
	char full[256];
	int i;

	if (npat == 0)
		return true;
	snprintf(full, sizeof(full), "%s.%s", nt_binary, test->name);
	for (i = 0; i < npat; i++)
		if (fnmatch(pats[i], test->name, 0) == 0 ||
		    fnmatch(pats[i], full, 0) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = nt_on_alarm };
	unsigned int total = 0, number = 0, failed = 0;
	bool list = false;
	const struct nt_test *t;
	char **pats = argv + 1;
	int npat = argc - 1;
	const char *slash;

	if (argc > 0 && argv[0]) {
		slash = strrchr(argv[0], '/');
		nt_binary = slash ? slash + 1 : argv[0];
	}
	if (npat > 0 && strcmp(pats[0], "--list") == 0) {
		list = true;
		pats++;
		npat--;
	}
	for (int i = 0; i < npat; i++) {
		if (pats[i][0] == '-') {
			fprintf(stderr, "usage: %s [--list] [PATTERN...]\n",
				nt_binary);
			return 2;
		}
	}

	for (t = nt_tests; t; t = t->next)
		if (nt_selected(t, npat, pats))
			total++;
	if (total == 0) {
		fprintf(stderr, "%s: no test matches\n", nt_binary);
		return 2;
	}
	if (list) {
		for (t = nt_tests; t; t = t->next)
			if (nt_selected(t, npat, pats))
				printf("%s.%s\n", nt_binary, t->name);
		return 0;
	}

	/* No SA_RESTART: the alarm must interrupt waitpid(). */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("TAP version 13\n1..%u\n", total);
	fflush(stdout);
	for (t = nt_tests; t; t = t->next) {
		if (!nt_selected(t, npat, pats))
			continue;
		if (!nt_run_one(t, ++number))
			failed++;
	}
	printf("# %s: %u passed, %u failed\n", nt_binary, total - failed,
	       failed);
	return failed ? 1 : 0;
}
