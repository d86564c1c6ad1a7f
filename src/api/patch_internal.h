/* patch_internal.h - helpers shared by patch.c, apply.c and selector.c (not for other files). */
#ifndef API_PATCH_INTERNAL_H
#define API_PATCH_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Writes a message into err (may be NULL). */
void api__seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* JSON equality where 80 and 80.0 are the same number (Go decodes both to float64). */
bool api__value_equal(const json_t *a, const json_t *b);

#endif
