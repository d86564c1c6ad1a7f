/* fuzz_ingress_resp.c - libFuzzer target for the Ingress proxy's response head parser
 * (ingress/http1.c): bytes an endpoint sends back.
 *
 * The first byte picks the limit. Checks beyond "no crash": a parsed head has a length
 * within the input and the limit, parses again from exactly that many bytes to the same
 * result, and its rewritten form (when any) starts with "HTTP/1.1 " and holds no bare CR
 * or LF outside line ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "ingress/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max = data[0] & 0x80 ? 65536 : 16 + (size_t)(data[0] & 0x7f) * 4;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	struct ing_resp_head h, h2;
	struct buf out;
	buf_init(&out);
	int rc = ing_resp_head_parse(buf, len, max, &h, &out);
	if (rc != 0 && rc != -EAGAIN && rc != -EBADMSG)
		abort();
	if (rc == 0) {
		if (h.head_len == 0 || h.head_len > len || h.head_len > max || h.code < 100 || h.code > 999)
			abort();
		if (ing_resp_head_parse(buf, h.head_len, max, &h2, NULL) != 0 ||
		    memcmp(&h, &h2, sizeof(h)) != 0)
			abort();
		if (out.len < 9 || memcmp(out.data, "HTTP/1.1 ", 9) != 0)
			abort();
		for (size_t i = 0; i < out.len; i++) {
			if (out.data[i] == '\r' && (i + 1 >= out.len || out.data[i + 1] != '\n'))
				abort();
			if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
				abort();
		}
	} else if (out.len) {
		abort(); /* nothing is left behind on failure */
	}
	buf_fini(&out);
	return 0;
}
