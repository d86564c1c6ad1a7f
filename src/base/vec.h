/* vec.h - a typed growable array: VEC(struct x) v = {0}; *vec_push(&v) = x; vec_free(&v).
 *
 * The macros keep the element type, so v.v[i] needs no cast; growth doubles the capacity
 * (amortized O(1) push) through one out-of-line helper. Allocation never fails (xrealloc).
 * A pushed slot is zeroed.
 */
#ifndef BASE_VEC_H
#define BASE_VEC_H

#include <stddef.h>
#include <stdlib.h>

#define VEC(T)                                                                                               \
	struct {                                                                                             \
		T *v;                                                                                        \
		size_t len, cap;                                                                             \
	}

/* Grows *v (capacity *cap) when full, zeroes element *len of size bytes, counts it and
 * returns it. */
void *vec__push(void **v, size_t *len, size_t *cap, size_t size);

/* Appends a zeroed element and returns a typed pointer to it (valid until the next push). */
#define vec_push(vp)                                                                                         \
	((__typeof__((vp)->v))vec__push((void **)&(vp)->v, &(vp)->len, &(vp)->cap, sizeof(*(vp)->v)))

/* Frees the storage and leaves the vector empty. */
#define vec_free(vp)                                                                                         \
	do {                                                                                                 \
		free((vp)->v);                                                                               \
		(vp)->v = NULL;                                                                              \
		(vp)->len = (vp)->cap = 0;                                                                   \
	} while (0)

#endif
