/* t.c - runner of the unit test harness (see t.h). Each test runs in-process; a failed
 * assertion longjmps back here so the remaining tests still run. */
#include "harness/t.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct t_case *head, **tail = &head;
static jmp_buf t_jmp;
static int t_result; /* 0 pass, 1 fail, 2 skip */

void t_register(struct t_case *c)
{
	*tail = c;
	tail = &c->next;
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	t_result = 1;
	longjmp(t_jmp, 1);
}

void t_skip(const char *why)
{
	fprintf(stderr, "  skipped: %s\n", why);
	t_result = 2;
	longjmp(t_jmp, 1);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	volatile int pass = 0, fail = 0, skip = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct t_case *volatile c = head; c; c = c->next) {
		if (filter && !strstr(c->name, filter))
			continue;
		t_result = 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (setjmp(t_jmp) == 0)
			c->fn();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		const char *word = t_result == 0 ? "ok" : t_result == 1 ? "FAIL" : "skip";
		/* The time of a slow test (the suite should stay well under 15 minutes). */
		if (took >= 0.5)
			printf("%-4s %s (%.1f s)\n", word, c->name, took);
		else
			printf("%-4s %s\n", word, c->name);
		pass += t_result == 0;
		fail += t_result == 1;
		skip += t_result == 2;
	}
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
