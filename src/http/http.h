/* http.h - HTTP/1.1 server for the API: request parsing, TLS, responses and streams.
 *
 * Threading: one accept thread, one thread per connection (bounded by max_conns), blocking
 * I/O with timeouts. A connection serves requests one after another (keep-alive); the
 * handler is called once per request and must answer it exactly once, either with
 * http_send() or with http_stream_begin() ... http_stream_end() (chunked, flushed per
 * write; used by watch). Malformed requests, oversize headers (431) or bodies (413),
 * slow clients (timeout) and connection floods are answered by this layer with a
 * Kubernetes Status body before any handler runs.
 *
 * The request parser (http_parse_head) is a pure function over bytes from the network:
 * it checks lengths before every read and never trusts the input (fuzzed by
 * tests/fuzz/fuzz_http.c). Why hand-written: Debian ships no stand-alone HTTP/1.1 parser
 * library (no llhttp, no picohttpparser); libmicrohttpd brings its own threading and TLS
 * stack (GnuTLS), which would not let us keep OpenSSL, ALPN http/1.1 and chunked watch.
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_header {
	char *name;
	char *value;
};

struct http_req {
	char method[16];
	char *target; /* raw request-target */
	char *path;   /* percent-decoded path, without the query */
	char *query;  /* raw query string (without '?'), "" when none */
	struct http_header *headers;
	size_t nheaders;
	char *body; /* NUL-terminated, body_len bytes; "" (never NULL) in a handler */
	size_t body_len;
	int minor; /* HTTP/1.minor */
	bool keep_alive;
	bool chunked;		  /* Transfer-Encoding: chunked request body */
	long long content_length; /* -1 when absent */
	int64_t head_ns;	  /* CLOCK_MONOTONIC when the head was complete (httpd sets it) */
};

/* Parses the request line and headers in buf[0..len). Returns 0 and sets *head_len (bytes
 * up to and including the blank line) when the head is complete, -EAGAIN when more bytes
 * are needed, -EBADMSG when malformed, -E2BIG when the head exceeds max_head bytes.
 * On success req owns heap copies of everything (free with http_req_fini). */
int http_parse_head(const char *buf, size_t len, size_t max_head, struct http_req *req, size_t *head_len);
void http_req_fini(struct http_req *req);

/* Decodes a chunked body in buf[0..len) into a heap buffer. Returns 0 with *out, *out_len and
 * *consumed set, -EAGAIN when incomplete, -EBADMSG when malformed, -E2BIG past max_body. */
int http_parse_chunked(const char *buf, size_t len, size_t max_body, char **out, size_t *out_len,
		       size_t *consumed);

/* The same decoder fed piece by piece as bytes arrive, so a body sent in tiny chunks
 * costs time linear in its size (each byte is looked at once). Init, then feed each new
 * run of bytes: data is appended to out; returns 0 when the body ended (*used = bytes of
 * in[0..len) that belonged to it), -EAGAIN when it wants more (*used = len), -EBADMSG
 * or -E2BIG as above. */
struct http_chunked {
	int state;
	size_t size;	 /* chunk size being read, then bytes of it still to come */
	size_t line;	 /* bytes of the size line so far */
	size_t total;	 /* body bytes so far */
	size_t trailers; /* trailer bytes so far */
	bool colon;	 /* the current trailer line has a ':' */
};
struct buf;
void http_chunked_init(struct http_chunked *st);
int http_chunked_feed(struct http_chunked *st, const char *in, size_t len, size_t max_body, struct buf *out,
		      size_t *used);

/* Header value by case-insensitive name, or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
/* The TOKEN of r's "Authorization: Bearer TOKEN" header, or NULL. */
const char *http_req_bearer(const struct http_req *r);
/* True when r carries "Authorization: Bearer TOKEN" with TOKEN equal to token, compared in
 * constant time; false when token is NULL or empty. */
bool http_req_bearer_ok(const struct http_req *r, const char *token);
/* Percent-decodes the value of query parameter name into a heap string (caller frees);
 * NULL when absent. '+' decodes to a space. */
char *http_query_get(const char *query, const char *name);
/* Percent-decodes s[0..n) into a heap string; NULL on a malformed escape or on %00 (a
 * decoded string never hides a NUL). '+' stays '+'. */
char *http_pct_decode(const char *s, size_t n);

struct http_conn;

/* Sends a whole response. extra_headers is "" (or NULL) or CRLF-terminated header lines.
 * Returns 0, -EALREADY when this request was already answered, or a negative code when
 * the peer is gone. Blocks until written (a stalled peer fails after the write timeout). */
int http_send(struct http_conn *c, int status, const char *content_type, const char *extra_headers,
	      const char *body, size_t len);
/* Sends a Kubernetes Status (application/json) with the given code, reason and message:
 * {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}. */
int http_send_status(struct http_conn *c, int code, const char *reason, const char *message);
/* Starts a chunked streaming response (200 unless status says otherwise); extra_headers
 * as for http_send (NULL or CRLF-terminated lines, e.g. a Warning). */
int http_stream_begin(struct http_conn *c, int status, const char *content_type, const char *extra_headers);
/* Sends one chunk and flushes it. Returns a negative code when the peer is gone. */
int http_stream_write(struct http_conn *c, const char *data, size_t len);
/* Ends the stream (last chunk). */
int http_stream_end(struct http_conn *c);
/* True when the peer has closed or reset the connection, or the server is stopping
 * (non-blocking check; call it from the handler's thread). A handler that waits for long
 * (watch) must check it now and then so httpd_stop can join it. */
bool http_conn_closed(struct http_conn *c);
/* The subject CN and O of the client's certificate when it presented one that the
 * client_ca_file CA verified, else NULL (o may be NULL; *o NULL when it had none). */
const char *http_conn_client_cn(const struct http_conn *c, const char **o);
/* From now on, http_send appends (up to max bytes of) the body it sends to b, until
 * called again with b NULL (the audit log's RequestResponse level). Streams are not
 * copied. */
void http_conn_tap(struct http_conn *c, struct buf *b, size_t max);
/* The i-th O (organization) of that verified certificate (kube-apiserver's groups), or
 * NULL past the last one or when there is none. */
const char *http_conn_client_org(const struct http_conn *c, size_t i);
/* Upgrades (101 Switching Protocols, WebSocket or SPDY): writes head[0..len) (the whole
 * response head, blank line included) as this request's answer; the connection then
 * carries raw bytes (http_conn_raw_read/write) until the handler returns, and is closed
 * after. Returns 0, -EALREADY when already answered, or a negative code. */
int http_conn_upgrade(struct http_conn *c, const char *head, size_t len);
/* After an upgrade: reads up to n raw bytes (those the client sent after the request
 * head first), waiting at most wait_ms (0: only what is already there). Returns the
 * count, 0 at EOF, -EAGAIN when nothing came in time, -ESHUTDOWN when the server stops,
 * or another negative code. Only one thread may use a connection. */
ssize_t http_conn_raw_read(struct http_conn *c, char *p, size_t n, int wait_ms);
/* Writes all n raw bytes (blocks; fails after the write timeout without progress). */
int http_conn_raw_write(struct http_conn *c, const char *p, size_t n);
/* The socket, for poll(2) next to other fds. TLS may hold decrypted bytes that poll does
 * not see: read with http_conn_raw_read(.., 0) until -EAGAIN before polling. */
int http_conn_fd(const struct http_conn *c);
/* The status code of the last response head sent on c (0 before any). */
int http_conn_status(const struct http_conn *c);
/* The peer address as text ("127.0.0.1:54321"). */
const char *http_conn_peer(const struct http_conn *c);

typedef void (*http_handler)(void *ud, struct http_conn *c, struct http_req *r);

enum { HTTP_AUTH_DENY, HTTP_AUTH_PUBLIC, HTTP_AUTH_OK };

struct httpd_opts {
	const char *bind_address; /* "127.0.0.1", "::1", "0.0.0.0" */
	int port;		  /* 0 = pick a free port (see httpd_port) */
	const char *cert_file;	  /* PEM; NULL with key_file NULL = plain HTTP */
	const char *key_file;
	/* PEM CA file: clients may present a certificate signed by it (verified; one that
	 * fails verification fails the handshake); see http_conn_client_cn. NULL: not asked. */
	const char *client_ca_file;
	size_t max_head;	  /* default 64 KiB */
	size_t max_body;	  /* default 3 MiB (kube-apiserver's limit) */
	int max_conns;		  /* default 1024 */
	int idle_timeout_ms;	  /* keep-alive idle and slow-client read timeout; default 60000 */
	int handshake_timeout_ms; /* TLS handshake, from accept; default 5000 (at most idle) */
	/* Until a request on it is authenticated, a connection has this long for each request
	 * head, in all (not per byte: a byte a second does not keep it), and the same for each
	 * wait after; default 10000 (at most idle). Authenticated connections wait idle_timeout_ms. */
	int anon_timeout_ms;
	/* Connections not (yet) authenticated: at most max_anon_per_addr from one client
	 * address (default 64) and max_anon in all (default max_conns / 2, so authenticated
	 * clients always keep the other half). Past either the socket is closed at accept,
	 * before any TLS work, except that with all max_anon taken a newcomer from an address
	 * holding fewer than 4 evicts one connection of the address holding the most. */
	int max_anon_per_addr;
	int max_anon;
	/* Called on each request head before a byte of its body is read (so an anonymous
	 * client costs no body buffering). HTTP_AUTH_DENY: the server answers 401 with a
	 * Status (Unauthorized) and closes the connection; HTTP_AUTH_PUBLIC: served, and the
	 * connection stays anonymous; HTTP_AUTH_OK: served, and the connection counts as
	 * authenticated from now on. NULL: every request is HTTP_AUTH_OK. ud is the
	 * handler's; c is the connection (for its client certificate). Runs on the
	 * connection's thread; must not block. */
	int (*authorize)(void *ud, const struct http_conn *c, const struct http_req *r);
	/* The nice value a connection's thread takes once a request on it is authenticated
	 * (0: left as it is; below 0 needs CAP_SYS_NICE, else logged at debug level and left).
	 * Anonymous connections never get it. */
	int nice;
};

struct httpd;

/* Binds, listens and starts serving in background threads. On failure returns a negative
 * code and writes a reason into err. Zero fields of o take their defaults; o's strings are
 * not kept. Sets SIGPIPE to SIG_IGN for the process (TLS writes go through write(2)). */
int httpd_start(const struct httpd_opts *o, http_handler h, void *ud, struct httpd **out, char *err,
		size_t errlen);
int httpd_port(const struct httpd *d);
/* Serves new connections with this certificate and key (PEM files) from now on; open
 * connections keep theirs. Returns 0, or a negative code with err (the old one stays). */
int httpd_reload_cert(struct httpd *d, const char *cert_file, const char *key_file, char *err, size_t errlen);
/* Stops accepting, closes every connection (streams see write errors) and joins threads.
 * Blocks until every running handler has returned. */
void httpd_stop(struct httpd *d);

#endif
