/* test_http.c - the HTTP parser (tables), query decoding, the live server over plain TCP
 * and TLS, and the PKI files. Live tests bind 127.0.0.1 port 0 and talk raw sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "http/pki.h"
#include "base/buf.h"
#include "base/mem.h"
#include "harness/t.h"

/* ---- parser ---- */

static int parse(const char *s, struct http_req *r, size_t *hl)
{
	return http_parse_head(s, strlen(s), 65536, r, hl);
}

TEST(http_parse_get_with_query)
{
	const char *s = "GET /api/v1/namespaces/default/services?limit=500&watch=true HTTP/1.1\r\n"
			"Host: 127.0.0.1:6443\r\n"
			"User-Agent: kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0\r\n"
			"Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json\r\n"
			"Accept-Encoding: gzip\r\n\r\n";
	struct http_req r;
	size_t hl = 0;
	ASSERT_INT_EQ(parse(s, &r, &hl), 0);
	ASSERT_INT_EQ(hl, strlen(s));
	ASSERT_STR_EQ(r.method, "GET");
	ASSERT_STR_EQ(r.path, "/api/v1/namespaces/default/services");
	ASSERT_STR_EQ(r.query, "limit=500&watch=true");
	ASSERT_STR_EQ(r.target, "/api/v1/namespaces/default/services?limit=500&watch=true");
	ASSERT_STR_EQ(http_req_header(&r, "accept-encoding"), "gzip");
	ASSERT_STR_EQ(http_req_header(&r, "HOST"), "127.0.0.1:6443");
	ASSERT(http_req_header(&r, "Content-Type") == NULL);
	ASSERT_INT_EQ(r.minor, 1);
	ASSERT(r.keep_alive);
	ASSERT(!r.chunked);
	ASSERT_INT_EQ(r.content_length, -1);
	ASSERT_INT_EQ(r.nheaders, 4);
	http_req_fini(&r);
}

TEST(http_parse_header_whitespace_and_case)
{
	const char *s = "POST /x HTTP/1.1\r\nhost:h\r\nCONTENT-length:   12  \r\nX-Empty:\r\n\r\n";
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(parse(s, &r, &hl), 0);
	ASSERT_STR_EQ(http_req_header(&r, "Content-Length"), "12");
	ASSERT_INT_EQ(r.content_length, 12);
	ASSERT_STR_EQ(http_req_header(&r, "x-empty"), "");
	ASSERT_STR_EQ(r.query, "");
	http_req_fini(&r);
}

TEST(http_parse_percent_path)
{
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(
	    parse("GET /api/v1/namespaces/a%20b/x%2Fy+z?q=%41 HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/api/v1/namespaces/a b/x/y+z");
	ASSERT_STR_EQ(r.query, "q=%41");
	http_req_fini(&r);
	ASSERT_INT_EQ(parse("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), -EBADMSG);
	ASSERT_INT_EQ(parse("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), -EBADMSG);
	ASSERT_INT_EQ(parse("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), -EBADMSG);
}

TEST(http_parse_target_forms)
{
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(parse("GET http://example.com:80/api?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/api");
	ASSERT_STR_EQ(r.query, "x=1");
	http_req_fini(&r);
	ASSERT_INT_EQ(parse("GET HTTPS://example.com HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/");
	http_req_fini(&r);
	ASSERT_INT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "*");
	http_req_fini(&r);
	ASSERT_INT_EQ(parse("GET /?a HTTP/1.1\r\nHost: h\r\n\r\n", &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/");
	ASSERT_STR_EQ(r.query, "a");
	http_req_fini(&r);
}

TEST(http_parse_bad_table)
{
	static const char *const bad[] = {
	    "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
	    "GET / HTTP/1.10\r\nHost: h\r\n\r\n",
	    "GET / http/1.1\r\nHost: h\r\n\r\n",
	    "GET /\r\nHost: h\r\n\r\n",
	    "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n",
	    " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET foo HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
	    "CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET / HTTP/1.1\nHost: h\n\n",		       /* bare LF */
	    "GET / HTTP/1.1\r\nHost: h\n\r\n",		       /* bare LF in a header */
	    "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",	       /* bare CR */
	    "GET / HTTP/1.1\r\nHost h\r\n\r\n",		       /* no colon */
	    "GET / HTTP/1.1\r\nHost : h\r\n\r\n",	       /* space before colon */
	    "GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n",	       /* empty name */
	    "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", /* obs-fold */
	    "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",   /* control byte */
	    "GET / HTTP/1.1\r\nX: y\r\n\r\n",		       /* no Host in 1.1 */
	    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5x\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",
	    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_req r;
		size_t hl;
		int rc = parse(bad[i], &r, &hl);
		if (rc != -EBADMSG) {
			if (rc == 0)
				http_req_fini(&r);
			t_fail(__FILE__, __LINE__, "case %zu: got %d for %s", i, rc, bad[i]);
		}
	}
	/* A NUL inside the head. */
	struct http_req r;
	size_t hl;
	static const char nul[] = "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n";
	ASSERT_INT_EQ(http_parse_head(nul, sizeof(nul) - 1, 65536, &r, &hl), -EBADMSG);
	/* Empty lines alone are skipped (RFC 9112 2.2): still waiting for a request. */
	ASSERT_INT_EQ(parse("\r\n\r\n", &r, &hl), -EAGAIN);
}

TEST(http_parse_incomplete_prefixes)
{
	const char *s = "PUT /api/v1/namespaces/default/services/web HTTP/1.1\r\nHost: h\r\n"
			"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	size_t full = strlen(s) - 2;
	for (size_t n = 0; n < full; n++) {
		struct http_req r;
		size_t hl;
		int rc = http_parse_head(s, n, 65536, &r, &hl);
		if (rc != -EAGAIN)
			t_fail(__FILE__, __LINE__, "prefix %zu: got %d", n, rc);
	}
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(http_parse_head(s, strlen(s), 65536, &r, &hl), 0);
	ASSERT_INT_EQ(hl, full);
	ASSERT_INT_EQ(r.content_length, 2);
	http_req_fini(&r);
	/* Early rejection of bytes that cannot start a request (e.g. a TLS hello). */
	ASSERT_INT_EQ(http_parse_head("\x16\x03\x01", 3, 65536, &r, &hl), -EBADMSG);
}

TEST(http_parse_oversize_head)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	for (int i = 0; i < 200; i++)
		buf_puts(&b, "0123456789");
	buf_puts(&b, "\r\n\r\n");
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(http_parse_head(b.data, b.len, 1024, &r, &hl), -E2BIG);
	ASSERT_INT_EQ(http_parse_head(b.data, 1024, 1024, &r, &hl), -E2BIG);
	ASSERT_INT_EQ(http_parse_head(b.data, 1023, 1024, &r, &hl), -EAGAIN);
	ASSERT_INT_EQ(http_parse_head(b.data, b.len, b.len, &r, &hl), 0); /* exactly max_head fits */
	http_req_fini(&r);
	ASSERT_INT_EQ(http_parse_head(b.data, b.len, b.len - 1, &r, &hl), -E2BIG);
	buf_fini(&b);

	/* Too many header lines. */
	buf_init(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "X-%d: v\r\n", i);
	buf_puts(&b, "\r\n");
	ASSERT_INT_EQ(http_parse_head(b.data, b.len, 65536, &r, &hl), -E2BIG);
	buf_fini(&b);
}

TEST(http_parse_keep_alive_rules)
{
	struct {
		const char *s;
		bool ka;
	} cases[] = {
	    {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
	    {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_req r;
		size_t hl;
		ASSERT_INT_EQ(parse(cases[i].s, &r, &hl), 0);
		if (r.keep_alive != cases[i].ka)
			t_fail(__FILE__, __LINE__, "case %zu: keep_alive %d", i, r.keep_alive);
		http_req_fini(&r);
	}
}

TEST(http_parse_pipelined_and_leading_crlf)
{
	const char *s = "\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(parse(s, &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/a");
	ASSERT_INT_EQ(hl, strlen("\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
	http_req_fini(&r);
	ASSERT_INT_EQ(parse(s + hl, &r, &hl), 0);
	ASSERT_STR_EQ(r.path, "/b");
	http_req_fini(&r);
}

TEST(http_parse_chunked_request)
{
	struct http_req r;
	size_t hl;
	ASSERT_INT_EQ(parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", &r, &hl), 0);
	ASSERT(r.chunked);
	ASSERT_INT_EQ(r.content_length, -1);
	http_req_fini(&r);
}

/* ---- chunked bodies ---- */

TEST(http_chunked_decode)
{
	const char *s =
	    "4\r\nWiki\r\n5;ext=\"1\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n000\r\nX-Trailer: a\r\n\r\nNEXT";
	char *out = NULL;
	size_t n = 0, used = 0;
	ASSERT_INT_EQ(http_parse_chunked(s, strlen(s), 1024, &out, &n, &used), 0);
	ASSERT_INT_EQ(n, 23);
	ASSERT_STR_EQ(out, "Wikipedia in\r\n\r\nchunks.");
	ASSERT_INT_EQ(used, strlen(s) - 4);
	free(out);
	/* Every proper prefix is incomplete. */
	for (size_t k = 0; k < strlen(s) - 4; k++) {
		int rc = http_parse_chunked(s, k, 1024, &out, &n, &used);
		if (rc != -EAGAIN)
			t_fail(__FILE__, __LINE__, "prefix %zu: %d", k, rc);
	}
	ASSERT_INT_EQ(http_parse_chunked("0\r\n\r\n", 5, 0, &out, &n, &used), 0);
	ASSERT_INT_EQ(n, 0);
	ASSERT_STR_EQ(out, "");
	free(out);
}

TEST(http_chunked_malformed)
{
	static const char *const bad[] = {
	    "zz\r\n",
	    "-1\r\n",
	    "\r\n",
	    "0x4\r\nWiki\r\n0\r\n\r\n",
	    "4\r\nWikiXX",
	    "4\nWiki\r\n0\r\n\r\n",
	    "4\r\nWiki\n0\r\n\r\n",
	    "4\r\nWiki\r\n0\r\n\n",
	    "4\r\nWiki\r\n0\r\nno colon\r\n\r\n",
	    "4\r\nWiki\r\n0\r\n folded: x\r\n\r\n",
	    "4 \x01\r\n",
	    "4\rWiki",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out;
		size_t n, used;
		int rc = http_parse_chunked(bad[i], strlen(bad[i]), 1024, &out, &n, &used);
		if (rc != -EBADMSG)
			t_fail(__FILE__, __LINE__, "case %zu: %d", i, rc);
	}
	char *out;
	size_t n, used;
	const char *huge = "ffffffffffffffffffffffff\r\n";
	ASSERT_INT_EQ(http_parse_chunked(huge, strlen(huge), (size_t)-1, &out, &n, &used), -E2BIG);
	ASSERT_INT_EQ(http_parse_chunked("401\r\n", 5, 1024, &out, &n, &used), -E2BIG);
	const char *two = "400\r\n";
	ASSERT_INT_EQ(http_parse_chunked(two, strlen(two), 1024, &out, &n, &used), -EAGAIN);
	/* Two chunks within the limit each but not together. */
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "300\r\n");
	for (int i = 0; i < 0x300; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\r\n200\r\n");
	ASSERT_INT_EQ(http_parse_chunked(b.data, b.len, 1024, &out, &n, &used), -E2BIG);
	buf_fini(&b);
	/* Endless zeros in a size line. */
	buf_init(&b);
	for (int i = 0; i < 5000; i++)
		buf_putc(&b, '0');
	ASSERT_INT_EQ(http_parse_chunked(b.data, b.len, 1024, &out, &n, &used), -EBADMSG);
	buf_fini(&b);
}

/* ---- queries ---- */

TEST(http_query_values)
{
	const char *q = "limit=500&labelSelector=app%3Dweb%2Cx+y&watch&empty=&bad=%zz&bad=ok&a%20b=c&nul=%00";
	char *v;
	ASSERT_STR_EQ(v = http_query_get(q, "limit"), "500");
	free(v);
	ASSERT_STR_EQ(v = http_query_get(q, "labelSelector"), "app=web,x y");
	free(v);
	ASSERT_STR_EQ(v = http_query_get(q, "watch"), "");
	free(v);
	ASSERT_STR_EQ(v = http_query_get(q, "empty"), "");
	free(v);
	ASSERT_STR_EQ(v = http_query_get(q, "bad"), "ok");
	free(v);
	ASSERT_STR_EQ(v = http_query_get(q, "a b"), "c");
	free(v);
	ASSERT(http_query_get(q, "nul") == NULL);
	ASSERT(http_query_get(q, "missing") == NULL);
	ASSERT(http_query_get(q, "lim") == NULL);
	ASSERT(http_query_get("", "x") == NULL);
	ASSERT(http_query_get(NULL, "x") == NULL);
	ASSERT_STR_EQ(v = http_query_get("&&x=1&", "x"), "1");
	free(v);
	ASSERT_STR_EQ(v = http_query_get("fieldSelector=metadata.name%3Dweb&resourceVersion=0&watch=true",
					 "fieldSelector"),
		      "metadata.name=web");
	free(v);
}

TEST(http_pct_decode_cases)
{
	char *v;
	ASSERT_STR_EQ(v = http_pct_decode("a%2fb+c%7E", 10), "a/b+c~");
	free(v);
	ASSERT_STR_EQ(v = http_pct_decode("abc", 2), "ab");
	free(v);
	ASSERT_STR_EQ(v = http_pct_decode("", 0), "");
	free(v);
	ASSERT(http_pct_decode("%", 1) == NULL);
	ASSERT(http_pct_decode("%4", 2) == NULL);
	ASSERT(http_pct_decode("%41", 2) == NULL); /* escape cut by n */
	ASSERT(http_pct_decode("%g1", 3) == NULL);
	ASSERT(http_pct_decode("%00", 3) == NULL);
}

/* ---- live server ---- */

static atomic_int closed_seen;

static void echo_handler(void *ud, struct http_conn *c, struct http_req *r)
{
	if (strcmp(r->path, "/stream") == 0) {
		http_stream_begin(c, 200, "application/json", NULL);
		for (int i = 0; i < 3; i++) {
			char ev[64];
			int n = snprintf(ev, sizeof(ev), "{\"type\":\"ADDED\",\"n\":%d}\n", i);
			http_stream_write(c, ev, (size_t)n);
		}
		http_stream_end(c);
		return;
	}
	if (strcmp(r->path, "/watch") == 0) { /* streams until the client or the server goes */
		http_stream_begin(c, 200, "application/json", NULL);
		while (!http_conn_closed(c)) {
			if (http_stream_write(c, "{}\n", 3) < 0)
				break;
			usleep(20000);
		}
		atomic_fetch_add(&closed_seen, 1);
		return;
	}
	if (strcmp(r->path, "/silent") == 0)
		return;
	if (strcmp(r->path, "/status") == 0) {
		http_send_status(c, 404, "NotFound", "services \"x\" not found");
		return;
	}
	char *s = xasprintf("%s %s ?%s peer=%s len=%zu\n%s", r->method, r->path, r->query,
			    http_conn_peer(c) ? "y" : "n", r->body_len, r->body);
	http_send(c, 200, "text/plain", "X-Test: 1\r\n", s, strlen(s));
	free(s);
}

static struct httpd *start(int max_conns, int idle_ms, size_t max_body, size_t max_head)
{
	struct httpd_opts o = {.bind_address = "127.0.0.1",
			       .max_conns = max_conns,
			       .idle_timeout_ms = idle_ms,
			       .max_body = max_body,
			       .max_head = max_head};
	struct httpd *d = NULL;
	char err[256];
	int rc = httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err));
	if (rc < 0)
		t_fail(__FILE__, __LINE__, "httpd_start: %d %s", rc, err);
	return d;
}

/* Connects from source address src (NULL: any; every 127.x.y.z is ours on loopback). */
static int dial_from(int port, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (src) {
		struct sockaddr_in s = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &s.sin_addr);
		if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0)
			t_fail(__FILE__, __LINE__, "bind %s: %s", src, strerror(errno));
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		t_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int dial(int port)
{
	return dial_from(port, NULL);
}

static void send_str(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

struct resp {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
	bool chunked;
};

static void resp_fini(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Case-insensitive header value from a response head, copied into out. */
static bool resp_header(const struct resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2;
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

/* Reads one response from fd, keeping bytes that follow it in *pending. Returns 0 or -1. */
static int read_resp(int fd, struct buf *pending, struct resp *out)
{
	memset(out, 0, sizeof(*out));
	for (;;) {
		char *e = pending->data ? strstr(pending->data, "\r\n\r\n") : NULL;
		if (e) {
			size_t hl = (size_t)(e - pending->data) + 4;
			out->head = xstrndup(pending->data, hl);
			out->status = atoi(out->head + 9);
			char v[64];
			size_t need;
			if (out->status == 100) {
				memmove(pending->data, pending->data + hl, pending->len - hl + 1);
				pending->len -= hl;
				free(out->head);
				out->head = NULL;
				continue;
			}
			if (resp_header(out, "Transfer-Encoding", v, sizeof(v))) {
				out->chunked = true;
				for (;;) {
					size_t used;
					int rc =
					    http_parse_chunked(pending->data + hl, pending->len - hl, 1 << 24,
							       &out->body, &out->body_len, &used);
					if (rc == 0) {
						need = hl + used;
						break;
					}
					if (rc != -EAGAIN)
						return -1;
					char tmp[4096];
					ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
					if (n <= 0)
						return -1;
					buf_append(pending, tmp, (size_t)n);
				}
			} else {
				size_t cl =
				    resp_header(out, "Content-Length", v, sizeof(v)) ? (size_t)atol(v) : 0;
				need = hl + cl;
				while (pending->len < need) {
					char tmp[4096];
					ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
					if (n <= 0)
						return -1;
					buf_append(pending, tmp, (size_t)n);
				}
				out->body = xstrndup(pending->data + hl, cl);
				out->body_len = cl;
			}
			memmove(pending->data, pending->data + need, pending->len - need + 1);
			pending->len -= need;
			return 0;
		}
		char tmp[4096];
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
		if (n <= 0)
			return -1;
		buf_append(pending, tmp, (size_t)n);
	}
}

/* True when the server closes fd within ms (EOF or reset). */
static bool closed_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t end = (int64_t)time(NULL) * 1000 + ms;
	for (;;) {
		if (poll(&p, 1, ms) <= 0)
			return false;
		char tmp[4096];
		ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n <= 0)
			return n == 0 || errno == ECONNRESET;
		if ((int64_t)time(NULL) * 1000 > end + 1000)
			return false;
	}
}

static void check_status_body(const struct resp *r, int code, const char *reason)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, 0, &je);
	if (!j)
		t_fail(__FILE__, __LINE__, "status body is not JSON: %s", r->body);
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "kind")), "Status");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "apiVersion")), "v1");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "status")), "Failure");
	ASSERT_STR_EQ(json_string_value(json_object_get(j, "reason")), reason);
	ASSERT_INT_EQ(json_integer_value(json_object_get(j, "code")), code);
	ASSERT(json_is_object(json_object_get(j, "metadata")));
	json_decref(j);
	char v[128];
	ASSERT(resp_header(r, "Content-Type", v, sizeof(v)));
	ASSERT_STR_EQ(v, "application/json");
}

TEST(httpd_keep_alive_two_requests)
{
	struct httpd *d = start(0, 5000, 0, 0);
	int fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *q1 = "GET /api?timeout=32s HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n";
	send_str(fd, q1, strlen(q1));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body, "GET /api ?timeout=32s peer=y len=0\n");
	char v[128];
	ASSERT(resp_header(&r, "Content-Type", v, sizeof(v)));
	ASSERT_STR_EQ(v, "text/plain");
	ASSERT(resp_header(&r, "Cache-Control", v, sizeof(v)));
	ASSERT_STR_EQ(v, "no-cache, private");
	ASSERT(resp_header(&r, "Date", v, sizeof(v)));
	ASSERT(resp_header(&r, "X-Test", v, sizeof(v)));
	ASSERT(!resp_header(&r, "Connection", v, sizeof(v)));
	resp_fini(&r);
	/* Second request, then two pipelined at once, on the same connection. */
	const char *q2 = "POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			 "Content-Length: 13\r\n\r\n{\"kind\":\"N\"}\n";
	send_str(fd, q2, strlen(q2));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.body, "POST /api/v1/namespaces ? peer=y len=13\n{\"kind\":\"N\"}\n");
	resp_fini(&r);
	const char *q3 =
	    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	send_str(fd, q3, strlen(q3));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_STR_EQ(r.body, "GET /a ? peer=y len=0\n");
	resp_fini(&r);
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_STR_EQ(r.body, "GET /b ? peer=y len=0\n");
	ASSERT(resp_header(&r, "Connection", v, sizeof(v)));
	ASSERT_STR_EQ(v, "close");
	resp_fini(&r);
	ASSERT(closed_within(fd, 2000));
	close(fd);
	buf_fini(&pend);
	httpd_stop(d);
}

TEST(httpd_chunked_request_and_continue)
{
	struct httpd *d = start(0, 5000, 0, 0);
	int fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *h =
	    "PATCH /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
	send_str(fd, h, strlen(h));
	/* The server answers 100 Continue before we send the body. */
	char tmp[64] = {0};
	ssize_t n = recv(fd, tmp, 25, MSG_WAITALL);
	ASSERT_INT_EQ(n, 25);
	ASSERT_STR_EQ(tmp, "HTTP/1.1 100 Continue\r\n\r\n");
	const char *b = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	send_str(fd, b, strlen(b));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_STR_EQ(r.body, "PATCH /x ? peer=y len=5\nabcde");
	resp_fini(&r);
	/* HEAD: headers with the length, no body. */
	const char *hq = "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, hq, strlen(hq));
	char *e = NULL;
	while (!(pend.data && (e = strstr(pend.data, "\r\n\r\n")))) {
		n = recv(fd, tmp, sizeof(tmp), 0);
		ASSERT(n > 0);
		buf_append(&pend, tmp, (size_t)n);
	}
	ASSERT_STR_CONTAINS(pend.data, "Content-Length: 23\r\n"); /* HEAD: the length a GET would get */
	size_t hl = (size_t)(e - pend.data) + 4;
	memmove(pend.data, pend.data + hl, pend.len - hl + 1);
	pend.len -= hl;
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_STR_EQ(r.body, "GET /g ? peer=y len=0\n");
	resp_fini(&r);
	close(fd);
	buf_fini(&pend);
	httpd_stop(d);
}

TEST(httpd_stream_chunked)
{
	struct httpd *d = start(0, 5000, 0, 0);
	int fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *q = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, q, strlen(q));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	ASSERT(r.chunked);
	ASSERT_STR_EQ(
	    r.body,
	    "{\"type\":\"ADDED\",\"n\":0}\n{\"type\":\"ADDED\",\"n\":1}\n{\"type\":\"ADDED\",\"n\":2}\n");
	resp_fini(&r);
	/* The connection stays usable after the stream. */
	send_str(fd, q, strlen(q));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	resp_fini(&r);
	/* HTTP/1.0: a raw stream ended by close. */
	const char *q10 = "GET /stream HTTP/1.0\r\n\r\n";
	int fd2 = dial(httpd_port(d));
	send_str(fd2, q10, strlen(q10));
	struct buf all;
	buf_init(&all);
	char tmp[4096];
	ssize_t n;
	while ((n = recv(fd2, tmp, sizeof(tmp), 0)) > 0)
		buf_append(&all, tmp, (size_t)n);
	ASSERT_INT_EQ(n, 0);
	ASSERT_STR_CONTAINS(all.data, "Connection: close\r\n");
	ASSERT(!strstr(all.data, "Transfer-Encoding"));
	ASSERT_STR_CONTAINS(all.data, "\r\n\r\n{\"type\":\"ADDED\",\"n\":0}\n{\"type\"");
	buf_fini(&all);
	close(fd2);
	close(fd);
	buf_fini(&pend);
	httpd_stop(d);
}

/* Sends raw bytes on a new connection, reads one response, expects the close. */
static void expect_error(struct httpd *d, const char *req, size_t len, int code, const char *reason)
{
	int fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	send_str(fd, req, len);
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, code);
	check_status_body(&r, code, reason);
	char v[64];
	ASSERT(resp_header(&r, "Connection", v, sizeof(v)));
	ASSERT_STR_EQ(v, "close");
	resp_fini(&r);
	ASSERT(closed_within(fd, 3000));
	close(fd);
	buf_fini(&pend);
}

TEST(httpd_error_answers)
{
	struct httpd *d = start(0, 5000, 1000, 2048);
	const char *bad = "GET / HTTP/1.1\r\nHost x\r\n\r\n";
	expect_error(d, bad, strlen(bad), 400, "BadRequest");
	const char *smuggle =
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	expect_error(d, smuggle, strlen(smuggle), 400, "BadRequest");
	const char *big = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n";
	expect_error(d, big, strlen(big), 413, "RequestEntityTooLarge");
	/* An oversize body actually sent: the client still reads the 413 (lingering close). */
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
	for (int i = 0; i < 20000; i++)
		buf_puts(&b, "0123456789");
	expect_error(d, b.data, b.len, 413, "RequestEntityTooLarge");
	buf_reset(&b);
	buf_puts(&b, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 20; i++) {
		buf_puts(&b, "64\r\n");
		for (int k = 0; k < 10; k++)
			buf_puts(&b, "0123456789");
		buf_puts(&b, "\r\n");
	}
	expect_error(d, b.data, b.len, 413, "RequestEntityTooLarge");
	const char *badchunk = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n";
	expect_error(d, badchunk, strlen(badchunk), 400, "BadRequest");
	buf_reset(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 300; i++)
		buf_puts(&b, "0123456789");
	buf_puts(&b, "\r\n\r\n");
	expect_error(d, b.data, b.len, 431, "BadRequest");
	buf_fini(&b);
	const char *brew = "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_error(d, brew, strlen(brew), 405, "MethodNotAllowed");
	const char *expect = "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx";
	expect_error(d, expect, strlen(expect), 417, "BadRequest");
	const char *silent = "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_error(d, silent, strlen(silent), 500, "InternalError");
	/* A handler's own Status keeps the connection open. */
	int fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *st = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, st, strlen(st));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	check_status_body(&r, 404, "NotFound");
	ASSERT_STR_CONTAINS(r.body, "\"message\":\"services \\\"x\\\" not found\"");
	resp_fini(&r);
	send_str(fd, st, strlen(st));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	resp_fini(&r);
	close(fd);
	buf_fini(&pend);
	httpd_stop(d);
}

TEST(httpd_timeouts)
{
	struct httpd *d = start(0, 300, 0, 0);
	/* Idle: closed silently. */
	int fd = dial(httpd_port(d));
	ASSERT(closed_within(fd, 3000));
	close(fd);
	/* Idle after a response: closed too. */
	fd = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *q = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, q, strlen(q));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	resp_fini(&r);
	ASSERT(closed_within(fd, 3000));
	close(fd);
	/* Slow client: half a head, then nothing: 408 and close. */
	fd = dial(httpd_port(d));
	const char *part = "GET / HTTP/1.1\r\nHost: x\r\n";
	send_str(fd, part, strlen(part));
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 408);
	check_status_body(&r, 408, "Timeout");
	resp_fini(&r);
	ASSERT(closed_within(fd, 3000));
	close(fd);
	/* Slowloris: a byte every 100 ms does not extend the head deadline. */
	fd = dial(httpd_port(d));
	const char *drip = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n";
	bool got = false;
	for (size_t i = 0; i < strlen(drip); i++) {
		send_str(fd, drip + i, 1);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) > 0) {
			got = true;
			break;
		}
	}
	ASSERT(got);
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 408);
	resp_fini(&r);
	close(fd);
	buf_fini(&pend);
	httpd_stop(d);
}

TEST(httpd_max_conns_429)
{
	struct httpd *d = start(1, 5000, 0, 0);
	int fd1 = dial(httpd_port(d));
	struct buf pend;
	buf_init(&pend);
	struct resp r;
	const char *q = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd1, q, strlen(q));
	ASSERT_INT_EQ(read_resp(fd1, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	resp_fini(&r);
	int fd2 = dial(httpd_port(d));
	send_str(fd2, q, strlen(q));
	struct buf pend2;
	buf_init(&pend2);
	ASSERT_INT_EQ(read_resp(fd2, &pend2, &r), 0);
	ASSERT_INT_EQ(r.status, 429);
	check_status_body(&r, 429, "TooManyRequests");
	char v[16];
	ASSERT(resp_header(&r, "Retry-After", v, sizeof(v)));
	resp_fini(&r);
	close(fd2);
	buf_fini(&pend2);
	/* The first connection still works; after it closes a new one is served. */
	send_str(fd1, q, strlen(q));
	ASSERT_INT_EQ(read_resp(fd1, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	resp_fini(&r);
	close(fd1);
	bool served = false;
	for (int i = 0; i < 50 && !served; i++) {
		usleep(20000);
		int fd3 = dial(httpd_port(d));
		send_str(fd3, q, strlen(q));
		buf_reset(&pend);
		if (read_resp(fd3, &pend, &r) == 0) {
			served = r.status == 200;
			resp_fini(&r);
		}
		close(fd3);
	}
	ASSERT(served);
	buf_fini(&pend);
	httpd_stop(d);
}

TEST(httpd_stop_with_open_streams)
{
	for (int round = 0; round < 5; round++) {
		atomic_store(&closed_seen, 0);
		struct httpd *d = start(0, 5000, 0, 0);
		int fds[3];
		for (int i = 0; i < 3; i++) {
			fds[i] = dial(httpd_port(d));
			const char *q = "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n";
			send_str(fds[i], q, strlen(q));
			char tmp[256];
			ASSERT(recv(fds[i], tmp, sizeof(tmp), 0) > 0);
		}
		int idle = dial(httpd_port(d)); /* a connection waiting for its first request */
		httpd_stop(d);
		ASSERT_INT_EQ(atomic_load(&closed_seen), 3);
		for (int i = 0; i < 3; i++) {
			ASSERT(closed_within(fds[i], 2000));
			close(fds[i]);
		}
		ASSERT(closed_within(idle, 2000));
		close(idle);
	}
}

TEST(httpd_conn_closed_detects_peer)
{
	atomic_store(&closed_seen, 0);
	struct httpd *d = start(0, 5000, 0, 0);
	int fd = dial(httpd_port(d));
	const char *q = "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, q, strlen(q));
	char tmp[256];
	ASSERT(recv(fd, tmp, sizeof(tmp), 0) > 0);
	close(fd);
	for (int i = 0; i < 100 && atomic_load(&closed_seen) == 0; i++)
		usleep(20000);
	ASSERT_INT_EQ(atomic_load(&closed_seen), 1);
	httpd_stop(d);
}

TEST(httpd_bind_ipv6_and_errors)
{
	struct httpd_opts o = {.bind_address = "::1"};
	struct httpd *d = NULL;
	char err[256];
	int rc = httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err));
	if (rc == 0) {
		ASSERT(httpd_port(d) > 0);
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 a = {.sin6_family = AF_INET6,
					 .sin6_port = htons((uint16_t)httpd_port(d))};
		a.sin6_addr = in6addr_loopback;
		ASSERT_INT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
		httpd_stop(d);
	}
	o.bind_address = "not-an-address";
	ASSERT(httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "bind address");
	o.bind_address = "127.0.0.1";
	o.cert_file = "/nonexistent/cert.pem";
	o.key_file = "/nonexistent/key.pem";
	ASSERT(httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "TLS certificate");
	/* Port in use. */
	struct httpd *d1 = start(0, 1000, 0, 0);
	o.cert_file = o.key_file = NULL;
	o.port = httpd_port(d1);
	ASSERT(httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)) < 0);
	httpd_stop(d1);
}

/* ---- PKI and TLS ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_take(&b);
}

static void rm_dir(const char *dir)
{
	static const char *const names[] = {"ca.crt", "ca.key", "server.crt", "server.key"};
	for (size_t i = 0; i < 4; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

TEST(pki_ensure_files)
{
	char dir[] = "/tmp/svcplane-pki-XXXXXX";
	ASSERT(mkdtemp(dir));
	char *sub = xasprintf("%s/certs", dir);
	char err[256];
	const char *const sans[] = {"localhost", "127.0.0.1", "::1", NULL};
	ASSERT_INT_EQ(pki_ensure(sub, sans, err, sizeof(err)), 0);
	char *ca_key = xasprintf("%s/ca.key", sub), *srv_key = xasprintf("%s/server.key", sub);
	char *ca_crt = xasprintf("%s/ca.crt", sub), *srv_crt = xasprintf("%s/server.crt", sub);
	struct stat st;
	ASSERT_INT_EQ(stat(ca_key, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	ASSERT_INT_EQ(stat(srv_key, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	char *ca1 = slurp(ca_crt), *srv1 = slurp(srv_crt);
	ASSERT_STR_CONTAINS(ca1, "BEGIN CERTIFICATE");
	/* Again with the same names: nothing changes. */
	ASSERT_INT_EQ(pki_ensure(sub, sans, err, sizeof(err)), 0);
	char *ca2 = slurp(ca_crt), *srv2 = slurp(srv_crt);
	ASSERT_STR_EQ(ca2, ca1);
	ASSERT_STR_EQ(srv2, srv1);
	/* A subset is covered too. */
	const char *const fewer[] = {"127.0.0.1", NULL};
	ASSERT_INT_EQ(pki_ensure(sub, fewer, err, sizeof(err)), 0);
	char *srv3 = slurp(srv_crt);
	ASSERT_STR_EQ(srv3, srv1);
	/* A new name: same CA, new serving certificate that verifies against it. */
	const char *const more[] = {"localhost", "127.0.0.1", "10.0.0.7", "api.example.com", NULL};
	ASSERT_INT_EQ(pki_ensure(sub, more, err, sizeof(err)), 0);
	char *ca4 = slurp(ca_crt), *srv4 = slurp(srv_crt);
	ASSERT_STR_EQ(ca4, ca1);
	ASSERT(strcmp(srv4, srv1) != 0);
	FILE *f = fopen(srv_crt, "r");
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(ca_crt, "r");
	X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ASSERT(x && ca);
	ASSERT_INT_EQ(X509_verify(x, X509_get0_pubkey(ca)), 1);
	ASSERT_INT_EQ(X509_check_ip_asc(x, "10.0.0.7", 0), 1);
	ASSERT_INT_EQ(X509_check_host(x, "api.example.com", 0, 0, NULL), 1);
	ASSERT_INT_EQ(X509_check_ca(ca), 1);
	ASSERT_INT_EQ(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	X509_free(x);
	X509_free(ca);
	/* Bad names and half a CA. */
	const char *const bad[] = {"bad name,DNS:evil", NULL};
	ASSERT_INT_EQ(pki_ensure(sub, bad, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "bad certificate name");
	unlink(ca_key);
	ASSERT_INT_EQ(pki_ensure(sub, sans, err, sizeof(err)), -EINVAL);
	char hex[33];
	ASSERT_INT_EQ(pki_random_hex(hex, 16), 0);
	ASSERT_INT_EQ(strlen(hex), 32);
	ASSERT_INT_EQ(strspn(hex, "0123456789abcdef"), 32);
	char hex2[33];
	pki_random_hex(hex2, 16);
	ASSERT(strcmp(hex, hex2) != 0);
	free(ca1), free(srv1), free(ca2), free(srv2), free(srv3), free(ca4), free(srv4);
	rm_dir(sub);
	rmdir(dir);
	free(ca_key), free(srv_key), free(ca_crt), free(srv_crt), free(sub);
}

TEST(httpd_tls_alpn_and_verify)
{
	char dir[] = "/tmp/svcplane-tls-XXXXXX";
	ASSERT(mkdtemp(dir));
	char err[256];
	const char *const sans[] = {"localhost", "127.0.0.1", NULL};
	ASSERT_INT_EQ(pki_ensure(dir, sans, err, sizeof(err)), 0);
	char *crt = xasprintf("%s/server.crt", dir), *key = xasprintf("%s/server.key", dir);
	char *cacrt = xasprintf("%s/ca.crt", dir);
	struct httpd_opts o = {
	    .bind_address = "127.0.0.1", .cert_file = crt, .key_file = key, .idle_timeout_ms = 5000};
	struct httpd *d = NULL;
	ASSERT_INT_EQ(httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)), 0);

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	ASSERT_INT_EQ(SSL_CTX_load_verify_locations(ctx, cacrt, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	int fd = dial(httpd_port(d));
	SSL *ssl = SSL_new(ctx);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
	SSL_set_fd(ssl, fd);
	int hs = SSL_connect(ssl);
	if (hs != 1) {
		ERR_print_errors_fp(stderr);
		t_fail(__FILE__, __LINE__, "SSL_connect failed");
	}
	ASSERT_INT_EQ(SSL_get_verify_result(ssl), X509_V_OK);
	const unsigned char *proto;
	unsigned int plen;
	SSL_get0_alpn_selected(ssl, &proto, &plen);
	ASSERT_INT_EQ(plen, 8);
	ASSERT(memcmp(proto, "http/1.1", 8) == 0);
	ASSERT(SSL_version(ssl) >= TLS1_2_VERSION);
	/* Two requests on the TLS connection, the second a stream. */
	const char *q =
	    "GET /api?timeout=32s HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
	ASSERT_INT_EQ(SSL_write(ssl, q, (int)strlen(q)), (int)strlen(q));
	struct buf all;
	buf_init(&all);
	char tmp[4096];
	while (!(all.data && strstr(all.data, "\r\n0\r\n\r\n"))) {
		int n = SSL_read(ssl, tmp, sizeof(tmp));
		ASSERT(n > 0);
		buf_append(&all, tmp, (size_t)n);
	}
	ASSERT_STR_CONTAINS(all.data, "HTTP/1.1 200 OK\r\n");
	ASSERT_STR_CONTAINS(all.data, "GET /api ?timeout=32s");
	ASSERT_STR_CONTAINS(all.data, "Transfer-Encoding: chunked");
	ASSERT_STR_CONTAINS(all.data, "{\"type\":\"ADDED\",\"n\":2}");
	buf_fini(&all);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);

	/* Hostname verification fails for a name the certificate does not carry. */
	fd = dial(httpd_port(d));
	ssl = SSL_new(ctx);
	SSL_set1_host(ssl, "evil.example.com");
	SSL_set_fd(ssl, fd);
	ASSERT(SSL_connect(ssl) != 1);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);

	/* Plain HTTP to the TLS port gets a plain answer. */
	fd = dial(httpd_port(d));
	const char *plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, plain, strlen(plain));
	ssize_t n = recv(fd, tmp, sizeof(tmp) - 1, 0);
	ASSERT(n > 0);
	tmp[n] = 0;
	ASSERT_STR_CONTAINS(tmp, "400 Bad Request");
	close(fd);

	/* curl, when installed, verifies against the CA as well. */
	if (system("command -v curl >/dev/null 2>&1") == 0) {
		char *cmd = xasprintf(
		    "curl -sS --max-time 10 --cacert %s https://127.0.0.1:%d/curl?x=1 -o %s/out.txt", cacrt,
		    httpd_port(d), dir);
		int rc = system(cmd);
		free(cmd);
		ASSERT_INT_EQ(rc, 0);
		char *out = xasprintf("%s/out.txt", dir);
		char *body = slurp(out);
		ASSERT_STR_CONTAINS(body, "GET /curl ?x=1");
		free(body);
		unlink(out);
		free(out);
		cmd = xasprintf(
		    "curl -sS --max-time 10 --cacert %s https://localhost:%d/ -o /dev/null -w '%%{http_version}' > "
		    "%s/ver.txt",
		    cacrt, httpd_port(d), dir);
		ASSERT_INT_EQ(system(cmd), 0);
		free(cmd);
		out = xasprintf("%s/ver.txt", dir);
		body = slurp(out);
		ASSERT_STR_EQ(body, "1.1");
		free(body);
		unlink(out);
		free(out);
	}
	httpd_stop(d);
	rm_dir(dir);
	free(crt), free(key), free(cacrt);
}

/* Issue 19: a body in 1-byte chunks arriving piece by piece was rescanned from its start
 * on every read (quadratic). The incremental decoder looks at each byte once; fed in
 * 1 KiB pieces, 512 KiB of 1-byte chunks decode to the same body as fed whole. */
TEST(http_chunked_feed_incremental)
{
	size_t n = 512 * 1024;
	struct buf raw, out;
	buf_init(&raw);
	buf_init(&out);
	for (size_t i = 0; i < n; i++)
		buf_printf(&raw, "1\r\n%c\r\n", 'a' + (char)(i % 26));
	buf_puts(&raw, "0\r\nX-Trailer: 1\r\n\r\nGET");
	struct http_chunked st;
	http_chunked_init(&st);
	size_t off = 0, used = 0;
	int rc = -EAGAIN;
	while (rc == -EAGAIN && off < raw.len) {
		size_t piece = raw.len - off < 1024 ? raw.len - off : 1024;
		rc = http_chunked_feed(&st, raw.data + off, piece, 3 << 20, &out, &used);
		off += used;
	}
	ASSERT_INT_EQ(rc, 0);
	ASSERT_INT_EQ(out.len, n);
	ASSERT_INT_EQ(raw.len - off, 3); /* the pipelined "GET" is left */
	for (size_t i = 0; i < n; i++)
		if (out.data[i] != 'a' + (char)(i % 26))
			ASSERT(!"decoded byte differs");
	/* Over the limit and malformed input are refused as by http_parse_chunked. */
	http_chunked_init(&st);
	buf_reset(&out);
	ASSERT_INT_EQ(http_chunked_feed(&st, "10\r\n", 4, 8, &out, &used), -E2BIG);
	http_chunked_init(&st);
	ASSERT_INT_EQ(http_chunked_feed(&st, "1\r\nab", 5, 8, &out, &used), -EBADMSG);
	buf_fini(&raw);
	buf_fini(&out);
}

/* ---- admission (issue 19 item 4) ---- */

static int auth_hook(void *ud, const struct http_conn *c, const struct http_req *r)
{
	const char *a = http_req_header(r, "Authorization");
	if (a && !strcmp(a, "ok"))
		return HTTP_AUTH_OK;
	return strcmp(r->path, "/healthz") == 0 ? HTTP_AUTH_PUBLIC : HTTP_AUTH_DENY;
}

static struct httpd *start_admission(int per_addr, int anon_ms)
{
	struct httpd_opts o = {.bind_address = "127.0.0.1",
			       .idle_timeout_ms = 60000,
			       .anon_timeout_ms = anon_ms,
			       .max_anon_per_addr = per_addr,
			       .authorize = auth_hook};
	struct httpd *d = NULL;
	char err[256];
	if (httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", err);
	return d;
}

static int get_code(int fd, const char *auth)
{
	char req[256];
	snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", auth ? "Authorization: " : "",
		 auth ? auth : "", auth ? "\r\n" : "");
	send_str(fd, req, strlen(req));
	struct buf pend;
	struct resp r;
	buf_init(&pend);
	int code = read_resp(fd, &pend, &r) == 0 ? r.status : -1;
	if (code > 0)
		resp_fini(&r);
	buf_fini(&pend);
	return code;
}

TEST(httpd_admission_per_address)
{
	struct httpd *d = start_admission(3, 60000);
	int port = httpd_port(d);
	int idle[3];
	for (int i = 0; i < 3; i++)
		idle[i] = dial_from(port, "127.0.0.2");
	/* Anonymous connections wait in a thread each: admission counts them at accept, so a
	 * fourth from the same address is closed at once, unserved. */
	int over = dial_from(port, "127.0.0.2");
	ASSERT(closed_within(over, 5000));
	close(over);
	/* Another address is served meanwhile. */
	int other = dial_from(port, "127.0.0.1");
	ASSERT_INT_EQ(get_code(other, "ok"), 200);
	/* An anonymous request is answered 401 and closed. */
	int anon = dial_from(port, "127.0.0.1");
	ASSERT_INT_EQ(get_code(anon, NULL), 401);
	ASSERT(closed_within(anon, 5000));
	close(anon);
	/* Once one of the three authenticates, its address has a free anonymous slot again. */
	ASSERT_INT_EQ(get_code(idle[0], "ok"), 200);
	int again = -1;
	for (int i = 0; i < 100 && again < 0; i++) { /* the release happens on the server's thread */
		int fd = dial_from(port, "127.0.0.2");
		if (get_code(fd, "ok") == 200)
			again = fd;
		else
			close(fd), usleep(20000);
	}
	ASSERT(again >= 0);
	close(again);
	for (int i = 0; i < 3; i++)
		close(idle[i]);
	close(other);
	httpd_stop(d);
}

TEST(httpd_admission_slowloris)
{
	/* An anonymous head has anon_timeout_ms in all: a byte every 50 ms does not keep it. */
	struct httpd *d = start_admission(8, 300);
	int fd = dial_from(httpd_port(d), "127.0.0.3");
	const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	send_str(fd, head, strlen(head));
	bool cut = false;
	for (int i = 0; i < 200 && !cut; i++) { /* up to 10 s against a 300 ms budget */
		usleep(50000);
		cut = send(fd, "a", 1, MSG_NOSIGNAL) < 0;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (!cut && poll(&p, 1, 0) > 0)
			cut = true; /* the 408 arrived, or the close */
	}
	ASSERT(cut);
	close(fd);
	/* A public request keeps the connection anonymous: it too is cut when idle. */
	fd = dial_from(httpd_port(d), "127.0.0.3");
	const char *hz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	send_str(fd, hz, strlen(hz));
	struct buf pend;
	struct resp r;
	buf_init(&pend);
	ASSERT_INT_EQ(read_resp(fd, &pend, &r), 0);
	ASSERT_INT_EQ(r.status, 200);
	resp_fini(&r);
	buf_fini(&pend);
	ASSERT(closed_within(fd, 10000));
	close(fd);
	httpd_stop(d);
}

TEST(httpd_admission_evicts_the_heaviest_address)
{
	/* 8 slots, so 4 anonymous in all; one address fills them. */
	struct httpd_opts o = {
	    .bind_address = "127.0.0.1", .idle_timeout_ms = 60000, .max_conns = 8, .authorize = auth_hook};
	struct httpd *d = NULL;
	char err[256];
	if (httpd_start(&o, echo_handler, NULL, &d, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", err);
	int port = httpd_port(d), idle[4];
	for (int i = 0; i < 4; i++)
		idle[i] = dial_from(port, "127.0.0.4");
	/* The heavy address itself gets nothing more. */
	int more = dial_from(port, "127.0.0.4");
	ASSERT(closed_within(more, 5000));
	close(more);
	/* Another address takes the place of one of them, and is served. */
	int other = dial_from(port, "127.0.0.5");
	ASSERT_INT_EQ(get_code(other, "ok"), 200);
	struct pollfd p[4];
	for (int i = 0; i < 4; i++)
		p[i] = (struct pollfd){.fd = idle[i], .events = POLLIN};
	ASSERT(poll(p, 4, 10000) > 0); /* one of them was shut down */
	int gone = 0;
	for (int i = 0; i < 4; i++)
		if (p[i].revents && closed_within(idle[i], 1000))
			gone++;
	ASSERT_INT_EQ(gone, 1);
	for (int i = 0; i < 4; i++)
		close(idle[i]);
	close(other);
	httpd_stop(d);
}

TEST(http_req_bearer_ok_compares_the_token)
{
	static const struct {
		const char *auth; /* NULL: no Authorization header */
		const char *token;
		bool ok;
	} cases[] = {
	    {"Bearer 0123456789abcdef", "0123456789abcdef", true},
	    {"bearer   0123456789abcdef", "0123456789abcdef", true},
	    {"Bearer 0123456789abcdeF", "0123456789abcdef", false},
	    {"Bearer 0123456789abcdef0", "0123456789abcdef", false},
	    {"Basic 0123456789abcdef", "0123456789abcdef", false},
	    {"Bearer ", "", false},
	    {"Bearer x", NULL, false},
	    {NULL, "0123456789abcdef", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char s[256];
		if (cases[i].auth)
			snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: %s\r\n\r\n",
				 cases[i].auth);
		else
			snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
		struct http_req r;
		size_t hl = 0;
		ASSERT_INT_EQ(parse(s, &r, &hl), 0);
		ASSERT_INT_EQ(http_req_bearer_ok(&r, cases[i].token), cases[i].ok);
		http_req_fini(&r);
	}
}
