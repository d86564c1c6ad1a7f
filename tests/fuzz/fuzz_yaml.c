/* fuzz_yaml.c - api_yaml_decode on arbitrary bytes; every document it accepts must encode
 * with api_yaml_encode and decode back to itself. */
#include "api/codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Numbers compare by value: YAML turns an integral 1.0 back into 1. */
static int same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		const char *k;
		size_t kl;
		json_t *v;
		json_object_keylen_foreach((json_t *)a, k, kl, v) {
			json_t *w = json_object_getn(b, k, kl);
			if (!w || !same(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *docs = NULL;
	if (api_yaml_decode((const char *)data, size, &docs, err, sizeof(err)) != 0)
		return 0;
	size_t i;
	json_t *doc;
	json_array_foreach(docs, i, doc) {
		char *y = api_yaml_encode(doc);
		json_t *back = NULL;
		if (api_yaml_decode(y, strlen(y), &back, err, sizeof(err)) != 0)
			abort();
		if (json_array_size(back) != 1 || !same(doc, json_array_get(back, 0)))
			abort();
		json_decref(back);
		free(y);
	}
	json_decref(docs);
	return 0;
}
