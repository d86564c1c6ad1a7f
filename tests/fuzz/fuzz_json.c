/* fuzz_json.c - api_json_decode on arbitrary bytes; a value it accepts must also survive
 * api_yaml_encode and read back through api_yaml_decode as the same value. */
#include "api/codec.h"

#include "fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *v = NULL;
	/* The member scanner must stay inside the buffer, and agree with the full parser
	 * on well-formed objects. */
	size_t off = 0, vlen = 0;
	int span_rc = api_json_member_span((const char *)data, size, "spec", &off, &vlen);
	if (span_rc == 0 && (off > size || vlen > size - off))
		abort();
	if (api_json_decode((const char *)data, size, &v, err, sizeof(err)) != 0)
		return 0;
	if (json_is_object(v) && json_object_get(v, "spec") && span_rc == 0) {
		json_t *m = json_loadb((const char *)data + off, vlen, JSON_DECODE_ANY, NULL);
		if (!m)
			abort();
		json_decref(m);
	}
	char *y = api_yaml_encode(v);
	json_t *docs = NULL;
	int rc = api_yaml_decode(y, strlen(y), &docs, err, sizeof(err));
	if (rc != 0)
		abort(); /* our own YAML must read back */
	if (json_is_null(v)) {
		if (json_array_size(docs) != 0)
			abort();
	} else if (json_array_size(docs) != 1 || !fuzz_json_same(v, json_array_get(docs, 0))) {
		abort();
	}
	json_decref(docs);
	free(y);
	json_decref(v);
	return 0;
}
