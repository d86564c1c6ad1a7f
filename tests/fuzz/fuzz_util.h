/* fuzz_util.h - helpers the fuzz targets share (header-only, so each target still links as
 * its own object plus replay.o or libFuzzer). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <jansson.h>

/* True when a and b hold the same JSON value, numbers compared by value (a codec may turn
 * an integral 1.0 back into 1). */
static inline int fuzz_json_same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!fuzz_json_same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		const char *k;
		size_t kl;
		json_t *v;
		json_object_keylen_foreach((json_t *)a, k, kl, v)
		{
			json_t *w = json_object_getn(b, k, kl);
			if (!w || !fuzz_json_same(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

#endif
