/* fuzz_yaml.c - api_yaml_decode on arbitrary bytes; every document it accepts must encode
 * with api_yaml_encode and decode back to itself. */
#include "api/codec.h"

#include "fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *docs = NULL;
	if (api_yaml_decode((const char *)data, size, &docs, err, sizeof(err)) != 0)
		return 0;
	size_t i;
	json_t *doc;
	json_array_foreach(docs, i, doc)
	{
		char *y = api_yaml_encode(doc);
		json_t *back = NULL;
		if (api_yaml_decode(y, strlen(y), &back, err, sizeof(err)) != 0)
			abort();
		if (json_array_size(back) != 1 || !fuzz_json_same(doc, json_array_get(back, 0)))
			abort();
		json_decref(back);
		free(y);
	}
	json_decref(docs);
	return 0;
}
