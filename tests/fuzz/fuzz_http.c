/* fuzz_http.c - libFuzzer target for the HTTP request parser (http.c).
 *
 * The first byte picks max_head and max_body so small limits get exercised too; the rest
 * is a request as it arrives from the network. Checks beyond "no crash": a parsed head is
 * parsed again from exactly head_len bytes with the same result, every prefix of the head
 * is incomplete or malformed (never a different success), and a decoded chunked body is
 * no longer than its limit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max_head = data[0] & 0x80 ? 65536 : 64 + (size_t)(data[0] & 0x7f) * 8;
	size_t max_body = data[0] & 0x40 ? 3u << 20 : (size_t)(data[0] & 0x3f) * 4;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;

	struct http_req r;
	size_t hl = 0;
	int rc = http_parse_head(buf, len, max_head, &r, &hl);
	if (rc != 0 && rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG)
		abort();
	if (rc == 0) {
		if (hl == 0 || hl > len || hl > max_head || !r.path || !r.query || !r.target || !r.method[0])
			abort();
		/* Same bytes, same answer. */
		struct http_req r2;
		size_t hl2 = 0;
		if (http_parse_head(buf, hl, max_head, &r2, &hl2) != 0 || hl2 != hl ||
		    strcmp(r2.path, r.path) != 0)
			abort();
		http_req_fini(&r2);
		/* One byte short is never a success. */
		if (http_parse_head(buf, hl - 1, max_head, &r2, &hl2) == 0)
			abort();
		/* Accessors over what was parsed. */
		http_req_header(&r, "Content-Length");
		http_req_header(&r, "x-unknown");
		static const char *const names[] = {"watch", "labelSelector", "limit", "resourceVersion", ""};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			free(http_query_get(r.query, names[i]));
		if (r.chunked) {
			char *body = NULL;
			size_t blen = 0, used = 0;
			rc = http_parse_chunked(buf + hl, len - hl, max_body, &body, &blen, &used);
			if (rc == 0) {
				if (blen > max_body || used > len - hl || body[blen] != 0)
					abort();
			}
			/* Fed one byte at a time (as a slow client sends it): the same answer. */
			struct http_chunked st;
			struct buf b;
			http_chunked_init(&st);
			buf_init(&b);
			int rc2 = -EAGAIN;
			size_t fed = 0;
			while (rc2 == -EAGAIN && fed < len - hl) {
				size_t u = 0;
				rc2 = http_chunked_feed(&st, buf + hl + fed, 1, max_body, &b, &u);
				fed += u;
			}
			if (rc2 != rc || (rc == 0 && (fed != used || b.len != blen ||
						      memcmp(b.data ? b.data : "", body, blen))))
				abort();
			buf_fini(&b);
			if (rc == 0)
				free(body);
		}
		http_req_fini(&r);
	}
	/* The other parsers over the raw bytes. */
	char *body = NULL;
	size_t blen = 0, used = 0;
	if (http_parse_chunked(buf, len, max_body, &body, &blen, &used) == 0) {
		if (blen > max_body || used > len)
			abort();
		free(body);
	}
	char *d = http_pct_decode(buf, len);
	if (d && strlen(d) > len)
		abort();
	free(d);
	return 0;
}
