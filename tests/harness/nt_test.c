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

/*
 * What the child writes to the parent through a pipe: the completion marker
 * once the test function has returned, or the skip marker followed by the
 * reason (one write of less than PIPE_BUF bytes, so it arrives whole).
 */
static const char nt_done_marker[] = "nt-test-completed";
static const char nt_skip_marker[] = "nt-test-skipped:";
static int nt_done_fd = -1;

#ifndef NT_FEATURES_PATH	/* overridable to test the harness itself */
#define NT_FEATURES_PATH "/sys/class/misc/ntsync/features"
#endif
#define NT_REASON_MAX	256

/* How one test ended. */
enum nt_verdict { NT_PASSED, NT_FAILED, NT_SKIPPED };

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

noreturn void nt_skip(const char *fmt, ...)
{
	char msg[sizeof(nt_skip_marker) + NT_REASON_MAX];
	size_t len = sizeof(nt_skip_marker) - 1;
	va_list ap;
	int n;

	memcpy(msg, nt_skip_marker, len);
	va_start(ap, fmt);
	n = vsnprintf(msg + len, sizeof(msg) - len, fmt, ap);
	va_end(ap);
	if (n > 0)	/* vsnprintf() may have cut the reason short */
		len += (size_t)n < sizeof(msg) - len ? (size_t)n :
		       sizeof(msg) - len - 1;
	/* A failure already reported outranks the skip. */
	if (atomic_load(&nt_failures) || nt_done_fd < 0)
		_exit(1);
	if (write(nt_done_fd, msg, len) != (ssize_t)len)
		_exit(1);
	_exit(0);
}

/* Whether the space-separated @list holds @word. */
static bool nt_has_word(const char *list, const char *word, size_t len)
{
	const char *p = list;

	while ((p = strstr(p, word))) {
		bool starts = p == list || p[-1] == ' ';
		bool ends = p[len] == '\0' || p[len] == ' ';

		if (starts && ends)
			return true;
		p += len;
	}
	return false;
}

const char *nt_missing_features(const char *features, char *buf, size_t size)
{
	char have[512] = "", missing[NT_REASON_MAX] = "";
	const char *p = features;
	size_t used = 0;
	ssize_t n;
	int fd;

	if (!features || !*features)
		return NULL;
	fd = open(NT_FEATURES_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, size,
			 "needs the NSPA driver (%s): no %s (upstream ntsync, or no module)",
			 features, NT_FEATURES_PATH);
		return buf;
	}
	n = read(fd, have, sizeof(have) - 1);
	close(fd);
	have[n > 0 ? n : 0] = '\0';
	have[strcspn(have, "\n")] = '\0';

	/* Every word of @features but "nspa" (the file exists) must be there. */
	while (*p) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len && !(len == 4 && !strncmp(p, "nspa", 4))) {
			char word[64];

			snprintf(word, sizeof(word), "%.*s", (int)len, p);
			if (!nt_has_word(have, word, strlen(word)) &&
			    used < sizeof(missing))
				used += (size_t)snprintf(missing + used,
							 sizeof(missing) - used,
							 "%s%s", used ? " " : "",
							 word);
		}
		p += len;
	}
	if (!missing[0])
		return NULL;
	snprintf(buf, size, "needs the NSPA feature(s) %s; the driver has: %s",
		 missing, have[0] ? have : "none");
	return buf;
}

void nt_require_features(const char *features)
{
	char why[NT_REASON_MAX];

	if (nt_missing_features(features, why, sizeof(why)))
		nt_skip("%s", why);
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

/* "ok N - binary.test # SKIP reason", the reason kept on one line. */
static enum nt_verdict nt_report_skip(const struct nt_test *test,
				      unsigned int number, char *reason)
{
	for (char *c = reason; *c; c++)
		if (*c == '\n' || *c == '#')
			*c = ' ';
	printf("ok %u - %s.%s # SKIP %s\n", number, nt_binary, test->name,
	       reason);
	fflush(stdout);
	return NT_SKIPPED;
}

/* Runs one test and prints its result line. */
static enum nt_verdict nt_run_one(const struct nt_test *test,
				  unsigned int number)
{
	unsigned int timeout = (test->timeout_s ? test->timeout_s :
				NT_DEFAULT_TIMEOUT_S) * nt_timeout_scale();
	char msg[sizeof(nt_skip_marker) + NT_REASON_MAX + 1];
	char reason[NT_REASON_MAX];
	bool completed = false, skipped = false, ok;
	int pipefd[2], status = 0;
	size_t skip_len = sizeof(nt_skip_marker) - 1;
	ssize_t got;
	pid_t pid, r;

	/* A driver without the features the suite needs: nothing to run. */
	if (nt_missing_features(test->features, reason, sizeof(reason)))
		return nt_report_skip(test, number, reason);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		printf("not ok %u - %s.%s\n# pipe: %s\n", number, nt_binary,
		       test->name, strerror(errno));
		return NT_FAILED;
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
		return NT_FAILED;
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
	got = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	msg[got > 0 ? got : 0] = '\0';
	if (got == (ssize_t)sizeof(nt_done_marker) &&
	    memcmp(msg, nt_done_marker, sizeof(nt_done_marker)) == 0)
		completed = true;
	else if (got >= (ssize_t)skip_len &&
		 memcmp(msg, nt_skip_marker, skip_len) == 0)
		skipped = true;

	ok = !nt_timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	     (completed || skipped);
	if (ok && skipped)
		return nt_report_skip(test, number, msg + skip_len);
	if (nt_timed_out)
		printf("# %s: timed out after %u s\n", test->name, timeout);
	else if (WIFSIGNALED(status))
		printf("# %s: killed by signal %d (%s)\n", test->name,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		printf("# %s: exited with status %d\n", test->name,
		       WEXITSTATUS(status));
	else if (!completed && !skipped)
		printf("# %s: exited before its end (no completion marker)\n",
		       test->name);
	printf("%s %u - %s.%s\n", ok ? "ok" : "not ok", number, nt_binary,
	       test->name);
	fflush(stdout);
	return ok ? NT_PASSED : NT_FAILED;
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
	unsigned int total = 0, number = 0, failed = 0, skipped = 0;
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
		switch (nt_run_one(t, ++number)) {
		case NT_PASSED:
			break;
		case NT_FAILED:
			failed++;
			break;
		case NT_SKIPPED:
			skipped++;
			break;
		}
	}
	printf("# %s: %u passed, %u failed, %u skipped\n", nt_binary,
	       total - failed - skipped, failed, skipped);
	return failed ? 1 : 0;
}
