/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nt_test: a small TAP (version 13) test harness for the ntsync suites.
 *
 *	NT_TEST(name) { ... }			default timeout (20 s)
 *	NT_TEST_TIMEOUT(name, seconds) { ... }	own timeout
 *
 * Tests register themselves through constructors and run in file order, each
 * in its own forked child process (its own process group), killed when its
 * timeout expires.  A test passes only when its function returned normally in
 * the child, no expectation failed, and the child then exited 0: a crash, a
 * timeout, an early exit() of any kind or a failed NT_ASSERT_* / NT_EXPECT_*
 * makes it "not ok".
 *
 * Skips: a test that cannot run on the driver it finds ends with
 * NT_SKIP("reason", ...) and is reported "ok N - name # SKIP reason" (TAP's
 * skip directive).  A suite's tests may also declare the NSPA features they
 * need (NT_SUITE_FEATURES, below): they are skipped, with the missing
 * feature named, on a driver that does not list it in
 * /sys/class/misc/ntsync/features (upstream ntsync has no such file).  A
 * skip is not a failure of the binary; scripts/run-tests.sh, which always
 * loads this project's module, counts any skip as a failure of its run.
 *
 *	NT_ASSERT_*	on failure: print a diagnostic and end the test now
 *	NT_EXPECT_*	on failure: print a diagnostic, mark failed, continue
 *
 * Both may be used from any thread of the test.  Comparisons are exact in
 * value whatever the signedness of the two operands (-1 != 0xFFFFFFFF).
 *
 * Command line:  BINARY [--list] [PATTERN...]
 *	--list	  print "<binary>.<test>" for every (selected) test
 *	PATTERN	  run only tests whose name or <binary>.<name> matches the
 *		  fnmatch(3) pattern
 * Environment:  NT_TIMEOUT_SCALE=N multiplies every timeout by N.
 * Output: "TAP version 13", the plan "1..N", one result per test, then
 * "# <binary>: P passed, F failed, S skipped".
 * Exit status:  0 when no selected test failed (skips allowed), 1 otherwise,
 * 2 on usage errors (unknown option, pattern matching nothing).
 */
#ifndef NT_TEST_H
#define NT_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define NT_DEFAULT_TIMEOUT_S	20

/*
 * NSPA features every test of this file needs, space-separated, as named in
 * /sys/class/misc/ntsync/features ("channel aggregate_wait ..."); "nspa"
 * stands for the NSPA driver as such (the file exists), for behaviour that
 * has no feature name (priority order, PI).  tests/Makefile sets it per
 * suite; NULL: none (the upstream ABI).
 */
#ifndef NT_SUITE_FEATURES
#define NT_SUITE_FEATURES NULL
#endif

struct nt_test {
	const char *name;
	void (*fn)(void);
	unsigned int timeout_s;
	const char *file;
	int line;
	const char *features;	/* NT_SUITE_FEATURES of its file */
	struct nt_test *next;
};

void nt_register(struct nt_test *test);

#define NT_TEST_TIMEOUT(tname, seconds)					\
	static void nt_body_##tname(void);				\
	static struct nt_test nt_desc_##tname = {			\
		.name = #tname,						\
		.fn = nt_body_##tname,					\
		.timeout_s = (seconds),					\
		.file = __FILE__,					\
		.line = __LINE__,					\
		.features = NT_SUITE_FEATURES,				\
	};								\
	__attribute__((constructor)) static void nt_reg_##tname(void)	\
	{								\
		nt_register(&nt_desc_##tname);				\
	}								\
	static void nt_body_##tname(void)

#define NT_TEST(tname) NT_TEST_TIMEOUT(tname, NT_DEFAULT_TIMEOUT_S)

/* ---- Values and comparisons ---------------------------------------- */

struct nt_val {
	bool is_signed;
	long long s;
	unsigned long long u;
};

#define NT_IS_SIGNED(x) ((__typeof__(x))-1 < (__typeof__(x))1)
#define NT_VAL(x)							\
	((struct nt_val){ .is_signed = NT_IS_SIGNED(x),			\
			  .s = (long long)(x),				\
			  .u = (unsigned long long)(x) })

enum nt_op { NT_OP_EQ, NT_OP_NE, NT_OP_LT, NT_OP_LE, NT_OP_GT, NT_OP_GE };

/* Exact mathematical comparison; returns true when "a op b" holds. */
bool nt_compare(struct nt_val a, enum nt_op op, struct nt_val b);

/* Failure reporting (used by the macros). */
void nt_fail_cmp(const char *file, int line, bool fatal, const char *ea,
		 const char *op, const char *eb, struct nt_val a,
		 struct nt_val b);
void nt_fail_errno(const char *file, int line, bool fatal, const char *expr,
		   long long got, int expected);
void nt_fail_msg(const char *file, int line, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* End the current test as failed (from any thread). */
noreturn void nt_abort_test(void);

/*
 * End the current test as skipped, with a reason (from any thread; a test
 * that already failed an expectation is reported failed instead).  Only for
 * a test that cannot run where it is: on this project's module nothing may
 * be skipped (see above).
 */
noreturn void nt_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
#define NT_SKIP(...) nt_skip(__VA_ARGS__)

/*
 * Why the driver cannot run a test needing @features (a NT_SUITE_FEATURES
 * list) into @buf, or NULL when it has all of them.
 */
const char *nt_missing_features(const char *features, char *buf,
				size_t size);

/* Skip the current test unless the driver has every one of @features. */
void nt_require_features(const char *features);

/* Diagnostic line ("# ...") from inside a test. */
void nt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Name of the running binary and test (for messages). */
const char *nt_current_test(void);

#define NT__CMP(fatal, a, op, opstr, b, sa, sb)				\
	do {								\
		__typeof__(a) nt__va = (a);				\
		__typeof__(b) nt__vb = (b);				\
		struct nt_val nt__a = NT_VAL(nt__va);			\
		struct nt_val nt__b = NT_VAL(nt__vb);			\
		if (!nt_compare(nt__a, op, nt__b))			\
			nt_fail_cmp(__FILE__, __LINE__, fatal, sa,	\
				    opstr, sb, nt__a, nt__b);		\
	} while (0)

#define NT_ASSERT_EQ(a, b) NT__CMP(true, a, NT_OP_EQ, "==", b, #a, #b)
#define NT_ASSERT_NE(a, b) NT__CMP(true, a, NT_OP_NE, "!=", b, #a, #b)
#define NT_ASSERT_LT(a, b) NT__CMP(true, a, NT_OP_LT, "<", b, #a, #b)
#define NT_ASSERT_LE(a, b) NT__CMP(true, a, NT_OP_LE, "<=", b, #a, #b)
#define NT_ASSERT_GT(a, b) NT__CMP(true, a, NT_OP_GT, ">", b, #a, #b)
#define NT_ASSERT_GE(a, b) NT__CMP(true, a, NT_OP_GE, ">=", b, #a, #b)
#define NT_EXPECT_EQ(a, b) NT__CMP(false, a, NT_OP_EQ, "==", b, #a, #b)
#define NT_EXPECT_NE(a, b) NT__CMP(false, a, NT_OP_NE, "!=", b, #a, #b)
#define NT_EXPECT_LT(a, b) NT__CMP(false, a, NT_OP_LT, "<", b, #a, #b)
#define NT_EXPECT_LE(a, b) NT__CMP(false, a, NT_OP_LE, "<=", b, #a, #b)
#define NT_EXPECT_GT(a, b) NT__CMP(false, a, NT_OP_GT, ">", b, #a, #b)
#define NT_EXPECT_GE(a, b) NT__CMP(false, a, NT_OP_GE, ">=", b, #a, #b)

#define NT__BOOL(fatal, cond, want, scond)				\
	do {								\
		if ((bool)(cond) != (want))				\
			nt_fail_msg(__FILE__, __LINE__, fatal,		\
				    "expected %s to be %s", scond,	\
				    (want) ? "true" : "false");		\
	} while (0)

#define NT_ASSERT_TRUE(cond)  NT__BOOL(true, cond, true, #cond)
#define NT_ASSERT_FALSE(cond) NT__BOOL(true, cond, false, #cond)
#define NT_EXPECT_TRUE(cond)  NT__BOOL(false, cond, true, #cond)
#define NT_EXPECT_FALSE(cond) NT__BOOL(false, cond, false, #cond)

/*
 * expr follows the negative-errno convention: it must evaluate to exactly
 * -E (E given positive, e.g. NT_ASSERT_ERRNO(f(), EINVAL)).
 */
#define NT__ERRNO(fatal, expr, e, sexpr)				\
	do {								\
		long long nt__r = (long long)(expr);			\
		if (nt__r != -(long long)(e))				\
			nt_fail_errno(__FILE__, __LINE__, fatal, sexpr,	\
				      nt__r, (e));			\
	} while (0)

#define NT_ASSERT_ERRNO(expr, e) NT__ERRNO(true, expr, e, #expr)
#define NT_EXPECT_ERRNO(expr, e) NT__ERRNO(false, expr, e, #expr)

/* expr follows the negative-errno convention and must be >= 0. */
#define NT__OK(fatal, expr, sexpr)					\
	do {								\
		long long nt__r = (long long)(expr);			\
		if (nt__r < 0)						\
			nt_fail_errno(__FILE__, __LINE__, fatal, sexpr,	\
				      nt__r, 0);			\
	} while (0)

#define NT_ASSERT_OK(expr) NT__OK(true, expr, #expr)
#define NT_EXPECT_OK(expr) NT__OK(false, expr, #expr)

/* Fail with a message: NT_FAIL ends the test, NT_FAIL_SOFT continues. */
#define NT_FAIL(...) nt_fail_msg(__FILE__, __LINE__, true, __VA_ARGS__)
#define NT_FAIL_SOFT(...) nt_fail_msg(__FILE__, __LINE__, false, __VA_ARGS__)

#endif /* NT_TEST_H */
