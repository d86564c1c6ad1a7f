/* http1.h - the HTTP/1.x response head as the Ingress proxy reads it from an endpoint.
 *
 * Pure (no I/O) and fuzzed (tests/fuzz/fuzz_ingress_resp.c): bytes from a pod are outside
 * input. Requests are parsed by http/http.c's http_parse_head; responses need only the
 * status, the framing (Content-Length, chunked) and the connection headers, plus the
 * head rewritten without hop-by-hop headers for the client.
 */
#ifndef INGRESS_HTTP1_H
#define INGRESS_HTTP1_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

struct ing_resp_head {
	size_t head_len;	  /* bytes up to and including the blank line */
	int code;		  /* 100..999 */
	bool http10;		  /* "HTTP/1.0": the connection closes unless keep-alive */
	long long content_length; /* -1 when absent */
	bool chunked;		  /* Transfer-Encoding names chunked */
	bool conn_close;	  /* Connection: close */
	bool conn_keep_alive;	  /* Connection: keep-alive */
};

/* Parses the response head in buf[0..len). Returns 0 (head complete, *h set, and when out
 * is not NULL the status line as "HTTP/1.1 <code> <reason>\r\n" and every header but
 * Connection, Keep-Alive, Proxy-Connection and Upgrade appended to out, without the
 * blank line), -EAGAIN (incomplete, still within max bytes) or -EBADMSG (malformed, or
 * no end within max bytes). */
int ing_resp_head_parse(const char *buf, size_t len, size_t max, struct ing_resp_head *h, struct buf *out);

#endif
