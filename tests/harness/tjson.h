/* tjson.h - JSON helpers for unit tests (header only): documents written with ' for "
 * (t_jq), a canonical text to compare (t_jcanon: sorted keys, compact), and ASSERT_JQ,
 * which compares a value with such a document. */
#ifndef HARNESS_TJSON_H
#define HARNESS_TJSON_H

#include <jansson.h>
#include <stdlib.h>

#include "base/mem.h"
#include "harness/t.h"

/* JSON from text written with ' instead of " (no ' in the data); a bad text fails the test. */
static inline json_t *t_jq(const char *s)
{
	char *d = xstrdup(s);
	json_error_t e;
	json_t *j;

	for (char *c = d; *c; c++)
		if (*c == '\'')
			*c = '"';
	j = json_loads(d, JSON_DECODE_ANY, &e);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, d);
	free(d);
	return j;
}

/* j's canonical text, in one of two slots (valid until that slot's next use). */
static inline const char *t_jcanon(const json_t *j, int slot)
{
	static char *bufs[2];
	free(bufs[slot]);
	bufs[slot] = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	return bufs[slot] ? bufs[slot] : "(null)";
}

#define ASSERT_JQ(j, want)                                                                                   \
	do {                                                                                                 \
		json_t *t_w = t_jq(want);                                                                    \
		ASSERT_STR_EQ(t_jcanon((j), 0), t_jcanon(t_w, 1));                                           \
		json_decref(t_w);                                                                            \
	} while (0)

#endif
