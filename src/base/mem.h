/* mem.h - allocation that never returns NULL: out of memory aborts (STYLE.md, Errors). */
#ifndef BASE_MEM_H
#define BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a heap string formatted like printf; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qsort and qsort_r for arrays that may be empty: an empty array's pointer may be NULL,
 * which qsort must never get (C17 7.22.5: undefined even with n == 0; UBSan halts). */
void xqsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void xqsort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg);

#endif
