/* t.h - the in-house unit test harness.
 *
 * A test is `TEST(name) { ... }` in any file under tests/unit/; it registers itself
 * through a constructor, so adding a file to the folder adds its tests. Assertions
 * print both sides with file and line and end the test (not the run). The runner
 * takes an optional substring filter and ends with "N passed, N failed, N skipped".
 */
#ifndef T_H
#define T_H

#include <stdint.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
	struct t_case *next;
};

void t_register(struct t_case *c);
void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *why) __attribute__((noreturn));

#define TEST(name)                                                                                           \
	static void t_fn_##name(void);                                                                       \
	static struct t_case t_case_##name = {#name, t_fn_##name, 0};                                        \
	__attribute__((constructor)) static void t_reg_##name(void)                                          \
	{                                                                                                    \
		t_register(&t_case_##name);                                                                  \
	}                                                                                                    \
	static void t_fn_##name(void)

#define ASSERT(c)                                                                                            \
	do {                                                                                                 \
		if (!(c))                                                                                    \
			t_fail(__FILE__, __LINE__, "assertion failed: %s", #c);                              \
	} while (0)

#define ASSERT_INT_EQ(a, b)                                                                                  \
	do {                                                                                                 \
		long long t_a = (long long)(a), t_b = (long long)(b);                                        \
		if (t_a != t_b)                                                                              \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, t_a, t_b);              \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                                  \
	do {                                                                                                 \
		const char *t_a = (a), *t_b = (b);                                                           \
		if (!t_a || !t_b || strcmp(t_a, t_b) != 0)                                                   \
			t_fail(__FILE__, __LINE__, "%s == %s:\n  got:  %s\n  want: %s", #a, #b,              \
			       t_a ? t_a : "(null)", t_b ? t_b : "(null)");                                  \
	} while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                                                     \
	do {                                                                                                 \
		const char *t_h = (hay), *t_n = (needle);                                                    \
		if (!t_h || !strstr(t_h, t_n))                                                               \
			t_fail(__FILE__, __LINE__, "%s contains %s:\n  got: %s", #hay, #needle,              \
			       t_h ? t_h : "(null)");                                                        \
	} while (0)

#endif
