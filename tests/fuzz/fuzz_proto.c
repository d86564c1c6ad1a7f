/* fuzz_proto.c - api_proto_decode on arbitrary bytes; what it accepts must be an object
 * that serialises as JSON. */
#include "api/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *v = NULL;
	if (api_proto_decode(data, size, &v, err, sizeof(err)) != 0)
		return 0;
	if (!json_is_object(v))
		abort();
	char *s = json_dumps(v, JSON_COMPACT);
	if (!s)
		abort();
	free(s);
	json_decref(v);
	return 0;
}
