/* httpd.c - the HTTP/1.1 (+TLS) server: listener, connection threads, responses, streams.
 *
 * Threads: one accept thread polls the listener and a wake-up pipe; each accepted socket
 * gets its own joinable thread that serves requests one after another (keep-alive,
 * pipelining by keeping the bytes that follow a request). Threads never free themselves:
 * a finished thread marks its connection done, and the accept thread (or httpd_stop)
 * joins and frees it. Sockets are non-blocking and every wait is a poll() with a deadline,
 * so TLS records cannot stall a thread beyond the timeout, and shutdown(SHUT_RDWR) from
 * httpd_stop wakes every wait at once. A socket is closed only under d->mu, so httpd_stop
 * never shuts down a reused descriptor.
 *
 * Admission (at accept, under d->mu, before any TLS work): a connection is anonymous until
 * a request on it passes authorize with HTTP_AUTH_OK; anonymous connections are capped per
 * client address (max_anon_per_addr) and in all (max_anon), and a socket past a cap is
 * closed at once, so a flood costs an accept and a close; when max_anon is reached, a
 * newcomer from an address with fewer than EVICT_BELOW takes the place of a connection
 * of the heaviest address (anon_evict_for). Then max_conns serving
 * connections; beyond it up to REJECT_SLOTS more get a thread that answers 429 within
 * REJECT_TIMEOUT_MS in all, and the rest are closed at once. Timeouts: handshake_timeout_ms
 * for the TLS handshake; an anonymous connection has anon_timeout_ms in all for each
 * request head and for every wait (a byte a second does not extend it); an authenticated
 * one idle_timeout_ms waiting for a request's first byte (then the connection is closed
 * silently), the same again for the rest of the head once it started (then 408), and for
 * each read of a body and each write (no progress: 408 or close). authorize runs on the
 * head, before any body byte is read (401 and close when it denies).
 *
 * Connection life:
 *
 *   accept --> [TLS handshake] --> read head --> read body --> handler --> response sent
 *                                     ^                                        |
 *                                     '------------ keep-alive ----------------'
 *   any error, EOF, timeout, "Connection: close", HTTP/1.0, stop --> close (lingering
 *   after an error response so the client reads it before a reset)
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#define REJECT_SLOTS 16
#define REJECT_TIMEOUT_MS 2000 /* a reject slot's whole life: handshake, head, 429 */
#define ANON_BUCKETS 256
#define EVICT_BELOW 4 /* an address with fewer anonymous connections may take a slot from the heaviest */
#define READ_CHUNK 16384
#define MIN_WRITE_TIMEOUT_MS 30000
#define LINGER_MS 1000
#define LINGER_BYTES (4 << 20)

struct httpd;

struct http_conn {
	struct httpd *d;
	struct http_conn *next;
	pthread_t thr;
	int fd; /* -1 once closed (under d->mu) */
	SSL *ssl;
	bool reject; /* over max_conns: answer 429 and close */
	bool done;   /* thread finished (under d->mu) */
	char peer[INET6_ADDRSTRLEN + 16];
	struct buf in; /* bytes read and not yet consumed */

	/* The request being served. */
	int minor;
	bool head_only;	 /* HEAD: no body bytes */
	bool responded;	 /* a response head was sent */
	bool streaming;	 /* chunked (or raw) stream open */
	bool stream_raw; /* HTTP/1.0 stream: no chunk framing, close at the end */
	bool close_after;
	bool broken;		/* a write failed: the connection is unusable */
	bool linger;		/* drain input before closing so the client reads our answer */
	bool authenticated;	/* a request on it passed authorize (admission counts it apart) */
	bool anon_counted;	/* counted in d->nanon and its address's entry (under d->mu) */
	bool evicted;		/* shut down by admission to make room for another address (under d->mu) */
	unsigned char addr[16]; /* the client's address (IPv4 as v4-mapped IPv6) */
	int64_t anon_deadline;	/* not authenticated: every wait ends by then */
	char *client_cn, *client_o; /* of a verified client certificate, or NULL */
	char **client_orgs;	    /* every O of it, NULL-terminated, or NULL */
	struct buf *tap;	    /* http_conn_tap: gets a copy of http_send's body */
	size_t tap_max;
	size_t raw_off; /* after an upgrade: c->in bytes before it are the request's */
	int status;	/* of the last response head sent (for metrics) */
};

/* Anonymous connections per client address (chained hash, entries freed at zero). */
struct anon_entry {
	struct anon_entry *next;
	unsigned char addr[16];
	int n;
	int evicting; /* of the n, shut down to make room and not yet gone */
};

struct httpd {
	struct httpd_opts o;
	http_handler h;
	void *ud;
	int lfd;
	int wake[2];
	int port;
	SSL_CTX *ctx;
	pthread_t accept_thr;
	pthread_mutex_t mu;
	struct http_conn *conns;	       /* all not yet joined, under mu */
	int nlive;			       /* serving connections, under mu */
	int nreject;			       /* rejecting connections, under mu */
	int nanon;			       /* connections not yet authenticated, under mu */
	struct anon_entry *anon[ANON_BUCKETS]; /* per client address, under mu */
	char *client_ca;		       /* o.client_ca_file, kept for httpd_reload_cert */
	atomic_bool stopping;
};

static unsigned anon_hash(const unsigned char *a)
{
	unsigned h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h % ANON_BUCKETS;
}

static struct anon_entry **anon_find(struct httpd *d, const unsigned char *addr)
{
	struct anon_entry **pp = &d->anon[anon_hash(addr)];
	for (; *pp; pp = &(*pp)->next)
		if (!memcmp((*pp)->addr, addr, 16))
			break;
	return pp;
}

/* All anonymous slots are taken: a newcomer from an address holding fewer than
 * EVICT_BELOW of them takes the place of a connection of the address holding the most
 * (shut down here; its thread releases the slot as it ends), so a flood spread over many
 * addresses cannot lock others out. Returns true when one was evicted. Caller holds mu. */
static bool anon_evict_for(struct httpd *d, int mine)
{
	if (mine >= EVICT_BELOW)
		return false;
	struct anon_entry *heavy = NULL;
	for (int i = 0; i < ANON_BUCKETS; i++)
		for (struct anon_entry *e = d->anon[i]; e; e = e->next)
			if (!heavy || e->n - e->evicting > heavy->n - heavy->evicting)
				heavy = e;
	if (!heavy || heavy->n - heavy->evicting <= mine + 1)
		return false;
	for (struct http_conn *c = d->conns; c; c = c->next) {
		if (!c->anon_counted || c->evicted || c->done || c->fd < 0 ||
		    memcmp(c->addr, heavy->addr, 16))
			continue;
		c->evicted = true;
		heavy->evicting++;
		shutdown(c->fd, SHUT_RDWR);
		return true;
	}
	return false;
}

/* Counts one more anonymous connection from addr unless a cap is reached. Caller holds mu. */
static bool anon_admit(struct httpd *d, const unsigned char *addr)
{
	struct anon_entry **pp = anon_find(d, addr);
	if (*pp && (*pp)->n >= d->o.max_anon_per_addr)
		return false;
	/* Over the cap by the evictions still under way, at most. */
	if (d->nanon >= d->o.max_anon && !anon_evict_for(d, *pp ? (*pp)->n : 0))
		return false;
	if (!*pp) {
		*pp = xcalloc(1, sizeof(**pp));
		memcpy((*pp)->addr, addr, 16);
	}
	(*pp)->n++;
	d->nanon++;
	return true;
}

/* Takes back what anon_admit counted for c, if anything. Caller holds mu. */
static void anon_release(struct httpd *d, struct http_conn *c)
{
	if (!c->anon_counted)
		return;
	c->anon_counted = false;
	struct anon_entry **pp = anon_find(d, c->addr);
	if (!*pp)
		return;
	d->nanon--;
	if (c->evicted)
		(*pp)->evicting--;
	if (--(*pp)->n == 0) {
		struct anon_entry *e = *pp;
		*pp = e->next;
		free(e);
	}
}

/* Takes back what c counted when it was accepted: its anonymous slot and its place among
 * the live (or the rejected) connections. Caller holds mu. */
static void conn_release(struct httpd *d, struct http_conn *c)
{
	anon_release(d, c);
	if (c->reject)
		d->nreject--;
	else
		d->nlive--;
}

/* The deadline of a read that would otherwise wait ms: an anonymous connection's waits
 * all end by its anon_deadline. */
static int64_t read_deadline(const struct http_conn *c, int ms)
{
	int64_t dl = clock_mono_ms() + ms;
	return !c->authenticated && c->anon_deadline && c->anon_deadline < dl ? c->anon_deadline : dl;
}

static int write_timeout_ms(const struct httpd *d)
{
	return d->o.idle_timeout_ms > MIN_WRITE_TIMEOUT_MS ? d->o.idle_timeout_ms : MIN_WRITE_TIMEOUT_MS;
}

/* Waits until fd is ready for ev or deadline (CLOCK_MONOTONIC ms) passes. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = ev};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* For SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE (ssl_err): waits as wait_fd until the
 * socket is ready the way OpenSSL asks. */
static int wait_tls(const struct http_conn *c, int ssl_err, int64_t deadline)
{
	return wait_fd(c->fd, ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
}

/* Reads up to n bytes. Returns the count, 0 on EOF, -ETIMEDOUT or another negative code. */
static ssize_t conn_read(struct http_conn *c, char *p, size_t n, int64_t deadline)
{
	for (;;) {
		int rc;
		if (c->ssl) {
			ERR_clear_error();
			int r = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
			if (r > 0)
				return r;
			int e = SSL_get_error(c->ssl, r);
			switch (e) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				rc = wait_tls(c, e, deadline);
				break;
			case SSL_ERROR_ZERO_RETURN:
				return 0;
			case SSL_ERROR_SYSCALL:
				if (errno == EINTR)
					continue;
				c->broken = true;
				return r == 0 || errno == 0 ? 0 : -errno;
			default:
				c->broken = true;
				return -EIO;
			}
		} else {
			ssize_t r = recv(c->fd, p, n, 0);
			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			rc = wait_fd(c->fd, POLLIN, deadline);
		}
		if (rc < 0)
			return rc;
	}
}

/* Writes all n bytes; fails when the peer makes no progress for the write timeout. */
static int conn_write(struct http_conn *c, const char *p, size_t n)
{
	if (c->broken)
		return -EPIPE;
	int tmo = write_timeout_ms(c->d);
	while (n > 0) {
		int rc;
		if (c->ssl) {
			ERR_clear_error();
			int chunk = n > (1 << 30) ? (1 << 30) : (int)n;
			int r = SSL_write(c->ssl, p, chunk);
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			int e = SSL_get_error(c->ssl, r);
			switch (e) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				rc = wait_tls(c, e, clock_mono_ms() + tmo);
				break;
			case SSL_ERROR_SYSCALL:
				if (errno == EINTR)
					continue;
				rc = -EPIPE;
				break;
			default:
				rc = -EPIPE;
				break;
			}
		} else {
			ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				rc = wait_fd(c->fd, POLLOUT, clock_mono_ms() + tmo);
			else
				rc = r < 0 ? -errno : -EPIPE;
		}
		if (rc < 0) {
			c->broken = true;
			return rc;
		}
	}
	return 0;
}

static const char *status_text(int s)
{
	switch (s) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 413:
		return "Request Entity Too Large";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

static bool status_has_body(int s)
{
	return !(s < 200 || s == 204 || s == 304);
}

/* Response head; clen < 0 means a stream (chunked, or raw for HTTP/1.0). */
static void put_head(struct buf *b, struct http_conn *c, int status, const char *ctype, const char *extra,
		     long long clen)
{
	char date[64];
	struct tm tm;
	time_t t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (atomic_load(&c->d->stopping))
		c->close_after = true;
	c->status = status;
	buf_printf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, status_text(status), date);
	if (ctype && *ctype)
		buf_printf(b, "Content-Type: %s\r\n", ctype);
	buf_puts(b, "Cache-Control: no-cache, private\r\nX-Content-Type-Options: nosniff\r\n");
	if (clen >= 0) {
		if (status_has_body(status))
			buf_printf(b, "Content-Length: %lld\r\n", clen);
	} else if (!c->stream_raw) {
		buf_puts(b, "Transfer-Encoding: chunked\r\n");
	}
	if (c->close_after)
		buf_puts(b, "Connection: close\r\n");
	else if (c->minor == 0)
		buf_puts(b, "Connection: keep-alive\r\n");
	if (extra)
		buf_puts(b, extra);
	buf_puts(b, "\r\n");
}

int http_send(struct http_conn *c, int status, const char *content_type, const char *extra_headers,
	      const char *body, size_t len)
{
	if (c->responded)
		return -EALREADY;
	c->responded = true;
	if (c->tap && body)
		buf_append(c->tap, body, len < c->tap_max ? len : c->tap_max);
	struct buf b;
	buf_init(&b);
	put_head(&b, c, status, content_type, extra_headers, (long long)len);
	bool with_body = body && len && !c->head_only && status_has_body(status);
	int rc;
	if (with_body && len <= READ_CHUNK) {
		buf_append(&b, body, len);
		rc = conn_write(c, b.data, b.len);
	} else {
		rc = conn_write(c, b.data, b.len);
		if (rc == 0 && with_body)
			rc = conn_write(c, body, len);
	}
	buf_fini(&b);
	return rc;
}

static int send_status(struct http_conn *c, int code, const char *reason, const char *message,
		       const char *extra)
{
	json_t *j = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", code < 400 ? "Success" : "Failure", "message",
			      message ? message : "", "reason", reason ? reason : "", "code", code);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s)
		return -ENOMEM;
	int rc = http_send(c, code, "application/json", extra, s, strlen(s));
	free(s);
	return rc;
}

int http_send_status(struct http_conn *c, int code, const char *reason, const char *message)
{
	return send_status(c, code, reason, message, "");
}

/* An answer of this layer: Status body, then close (lingering). */
static void send_error(struct http_conn *c, int code, const char *reason, const char *msg, const char *extra)
{
	c->close_after = true;
	c->linger = true;
	if (c->responded || c->broken)
		return;
	send_status(c, code, reason, msg, extra ? extra : "");
}

int http_stream_begin(struct http_conn *c, int status, const char *content_type, const char *extra_headers)
{
	if (c->responded)
		return -EALREADY;
	c->responded = true;
	c->streaming = true;
	if (c->minor == 0) {
		c->stream_raw = true;
		c->close_after = true;
	}
	struct buf b;
	buf_init(&b);
	put_head(&b, c, status ? status : 200, content_type, extra_headers, -1);
	int rc = conn_write(c, b.data, b.len);
	buf_fini(&b);
	return rc;
}

int http_stream_write(struct http_conn *c, const char *data, size_t len)
{
	if (!c->streaming)
		return -EINVAL;
	if (c->broken)
		return -EPIPE;
	if (len == 0 || c->head_only)
		return 0;
	if (c->stream_raw)
		return conn_write(c, data, len);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%zx\r\n", len);
	buf_append(&b, data, len);
	buf_puts(&b, "\r\n");
	int rc = conn_write(c, b.data, b.len);
	buf_fini(&b);
	return rc;
}

int http_stream_end(struct http_conn *c)
{
	if (!c->streaming)
		return -EINVAL;
	c->streaming = false;
	if (c->stream_raw || c->head_only)
		return c->broken ? -EPIPE : 0;
	return conn_write(c, "0\r\n\r\n", 5);
}

bool http_conn_closed(struct http_conn *c)
{
	if (c->broken || atomic_load(&c->d->stopping))
		return true;
	struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
		return true;
	if (!(p.revents & POLLIN))
		return false;
	/* Readable: data (a pipelined request, a TLS record) or the end. */
	char ch;
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_peek(c->ssl, &ch, 1);
		if (r > 0)
			return false;
		int e = SSL_get_error(c->ssl, r);
		return !(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
	}
	ssize_t r = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0)
		return false;
	return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int http_conn_upgrade(struct http_conn *c, const char *head, size_t len)
{
	if (c->responded)
		return -EALREADY;
	c->responded = true;
	c->close_after = true;
	c->linger = false;
	c->status = 101;
	return conn_write(c, head, len);
}

ssize_t http_conn_raw_read(struct http_conn *c, char *p, size_t n, int wait_ms)
{
	if (atomic_load(&c->d->stopping))
		return -ESHUTDOWN;
	if (c->raw_off < c->in.len) {
		size_t k = c->in.len - c->raw_off;
		if (k > n)
			k = n;
		memcpy(p, c->in.data + c->raw_off, k);
		c->raw_off += k;
		return (ssize_t)k;
	}
	ssize_t r = conn_read(c, p, n, clock_mono_ms() + wait_ms);
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

int http_conn_raw_write(struct http_conn *c, const char *p, size_t n)
{
	return conn_write(c, p, n);
}

int http_conn_status(const struct http_conn *c)
{
	return c->status;
}

int http_conn_fd(const struct http_conn *c)
{
	return c->fd;
}

const char *http_conn_client_cn(const struct http_conn *c, const char **o)
{
	if (o)
		*o = c->client_o;
	return c->client_cn;
}

void http_conn_tap(struct http_conn *c, struct buf *b, size_t max)
{
	c->tap = b;
	c->tap_max = max;
}

const char *http_conn_client_org(const struct http_conn *c, size_t i)
{
	for (size_t j = 0; c->client_orgs && c->client_orgs[j]; j++)
		if (j == i)
			return c->client_orgs[j];
	return NULL;
}

const char *http_conn_peer(const struct http_conn *c)
{
	return c->peer;
}

static bool method_known(const char *m)
{
	static const char *const ms[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (strcmp(m, ms[i]) == 0)
			return true;
	return false;
}

/* Reads more bytes into c->in. Returns the count, 0 on EOF, or a negative code. */
static ssize_t fill(struct http_conn *c, int64_t deadline)
{
	buf_reserve(&c->in, READ_CHUNK);
	ssize_t n = conn_read(c, c->in.data + c->in.len, c->in.cap - c->in.len - 1, deadline);
	if (n > 0) {
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = 0;
	}
	return n;
}

/* Reads one request head. Returns 0 with req and *hl set, 1 when the connection should
 * just close (EOF, idle, stop), or -1 after an error answer. */
static int read_head(struct http_conn *c, struct http_req *req, size_t *hl, int64_t first_deadline)
{
	const struct httpd_opts *o = &c->d->o;
	int64_t deadline = c->in.len ? read_deadline(c, o->idle_timeout_ms) : first_deadline;
	if (!c->authenticated && c->anon_deadline && c->anon_deadline < deadline)
		deadline = c->anon_deadline;
	for (;;) {
		if (c->in.len) {
			int rc = http_parse_head(c->in.data, c->in.len, o->max_head, req, hl);
			if (rc == 0) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				req->head_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
				return 0;
			}
			if (rc == -EBADMSG) {
				send_error(c, 400, "BadRequest", "malformed HTTP request", NULL);
				return -1;
			}
			if (rc == -E2BIG) {
				send_error(c, 431, "BadRequest", "request header fields too large", NULL);
				return -1;
			}
		}
		if (atomic_load(&c->d->stopping))
			return 1;
		bool started = c->in.len > 0;
		ssize_t n = fill(c, deadline);
		if (n == 0)
			return 1;
		if (n == -ETIMEDOUT) {
			if (!started)
				return 1;
			send_error(c, 408, "Timeout", "timed out reading the request", NULL);
			return -1;
		}
		if (n < 0)
			return 1;
		if (!started)
			deadline = read_deadline(c, o->idle_timeout_ms);
	}
}

static void send_continue(struct http_conn *c, bool *sent)
{
	if (*sent)
		return;
	*sent = true;
	conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Reads the body of req (head of hl bytes at c->in). Returns 0 with *consumed set (the
 * bytes of head and body), 1 to close, -1 after an error answer. */
static int read_body(struct http_conn *c, struct http_req *req, size_t hl, size_t *consumed)
{
	const struct httpd_opts *o = &c->d->o;
	bool want_continue = false, sent_continue = false;
	const char *exp = http_req_header(req, "Expect");
	if (exp && req->minor >= 1) {
		if (strcasecmp(exp, "100-continue") != 0) {
			send_error(c, 417, "BadRequest", "unsupported Expect header", NULL);
			return -1;
		}
		want_continue = true;
	}
	if (req->chunked) {
		/* Decoded as the bytes arrive, and the raw bytes dropped once decoded: linear in
		 * time, and memory holds the body once. Raw bytes are bounded too: tiny chunks
		 * cost up to ~6x their data. */
		size_t raw_max = o->max_body * 8 + 65536, raw = 0;
		struct http_chunked st;
		struct buf body;
		http_chunked_init(&st);
		buf_init(&body);
		for (;;) {
			size_t used = 0;
			int rc = http_chunked_feed(&st, c->in.data + hl, c->in.len - hl, o->max_body, &body,
						   &used);
			raw += used;
			if (rc == 0) {
				req->body_len = body.len;
				buf_putc(&body, 0);
				req->body = buf_take(&body);
				*consumed = hl + used;
				return 0;
			}
			c->in.len = hl; /* every byte was fed: only the head stays */
			c->in.data[hl] = 0;
			if (rc == -E2BIG || (rc == -EAGAIN && raw > raw_max)) {
				buf_fini(&body);
				send_error(c, 413, "RequestEntityTooLarge", "request body too large", NULL);
				return -1;
			}
			if (rc != -EAGAIN) {
				buf_fini(&body);
				send_error(c, 400, "BadRequest", "malformed chunked request body", NULL);
				return -1;
			}
			if (want_continue)
				send_continue(c, &sent_continue);
			ssize_t n = fill(c, read_deadline(c, o->idle_timeout_ms));
			if (n == -ETIMEDOUT) {
				buf_fini(&body);
				send_error(c, 408, "Timeout", "timed out reading the request body", NULL);
				return -1;
			}
			if (n <= 0) {
				buf_fini(&body);
				return 1;
			}
		}
	}
	long long cl = req->content_length > 0 ? req->content_length : 0;
	if ((unsigned long long)cl > o->max_body) {
		send_error(c, 413, "RequestEntityTooLarge", "request body too large", NULL);
		return -1;
	}
	size_t need = hl + (size_t)cl;
	if (c->in.len < need && want_continue)
		send_continue(c, &sent_continue);
	while (c->in.len < need) {
		buf_reserve(&c->in, need - c->in.len);
		ssize_t n = conn_read(c, c->in.data + c->in.len, c->in.cap - c->in.len - 1,
				      read_deadline(c, o->idle_timeout_ms));
		if (n == -ETIMEDOUT) {
			send_error(c, 408, "Timeout", "timed out reading the request body", NULL);
			return -1;
		}
		if (n <= 0)
			return 1;
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = 0;
	}
	req->body = xmalloc((size_t)cl + 1);
	memcpy(req->body, c->in.data + hl, (size_t)cl);
	req->body[cl] = 0;
	req->body_len = (size_t)cl;
	*consumed = need;
	return 0;
}

static void serve(struct http_conn *c, int64_t first_deadline)
{
	struct httpd *d = c->d;
	for (;;) {
		struct http_req req;
		size_t hl = 0, consumed = 0;
		c->responded = c->streaming = c->stream_raw = c->head_only = false;
		c->close_after = false;
		c->minor = 1;
		int rc = read_head(c, &req, &hl, first_deadline);
		first_deadline = clock_mono_ms() + d->o.idle_timeout_ms;
		if (rc != 0)
			return;
		c->minor = req.minor;
		c->head_only = strcmp(req.method, "HEAD") == 0;
		c->close_after = !req.keep_alive;
		if (!method_known(req.method)) {
			send_error(c, 405, "MethodNotAllowed", "method not allowed",
				   "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n");
			http_req_fini(&req);
			return;
		}
		int auth = d->o.authorize ? d->o.authorize(d->ud, c, &req) : HTTP_AUTH_OK;
		if (auth == HTTP_AUTH_DENY) {
			send_error(c, 401, "Unauthorized", "Unauthorized", NULL);
			http_req_fini(&req);
			return;
		}
		if (auth == HTTP_AUTH_OK && !c->authenticated) {
			c->authenticated = true;
			if (d->o.nice && setpriority(PRIO_PROCESS, (id_t)gettid(), d->o.nice) < 0)
				log_debug("http: connection thread nice %d: %s", d->o.nice, strerror(errno));
			pthread_mutex_lock(&d->mu);
			anon_release(d, c);
			pthread_mutex_unlock(&d->mu);
		}
		rc = read_body(c, &req, hl, &consumed);
		if (rc != 0) {
			http_req_fini(&req);
			return;
		}
		c->raw_off = consumed;
		d->h(d->ud, c, &req);
		if (!c->responded) {
			log_error("http: handler sent no response to %s %s", req.method, req.target);
			send_error(c, 500, "InternalError", "no response", NULL);
			c->linger = false;
		} else if (c->streaming) {
			http_stream_end(c);
		}
		http_req_fini(&req);
		if (c->close_after || c->broken || atomic_load(&d->stopping))
			return;
		if (!c->authenticated)
			c->anon_deadline = clock_mono_ms() + d->o.anon_timeout_ms;
		buf_consume(&c->in, consumed);
		/* An idle keep-alive connection does not keep a big body's buffer. */
		if (c->in.len == 0 && c->in.cap > 4 * READ_CHUNK)
			buf_fini(&c->in);
	}
}

/* Over the connection limit: read the request head (briefly), answer 429, close. */
static void serve_reject(struct http_conn *c)
{
	int64_t deadline = c->anon_deadline;
	for (;;) {
		struct http_req req;
		size_t hl;
		int rc =
		    c->in.len ? http_parse_head(c->in.data, c->in.len, c->d->o.max_head, &req, &hl) : -EAGAIN;
		if (rc == 0) {
			c->minor = req.minor;
			c->head_only = strcmp(req.method, "HEAD") == 0;
			http_req_fini(&req);
		}
		if (rc != -EAGAIN)
			break;
		if (fill(c, deadline) <= 0)
			return;
	}
	send_error(c, 429, "TooManyRequests", "too many open connections, please try again later",
		   "Retry-After: 1\r\n");
}

/* A plain-HTTP request on the TLS port gets a plain answer, like Go's server gives. */
static int tls_handshake(struct http_conn *c, int64_t deadline)
{
	unsigned char first;
	for (;;) {
		ssize_t r = recv(c->fd, &first, 1, MSG_PEEK);
		if (r == 1)
			break;
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return -ECONNRESET;
		if (wait_fd(c->fd, POLLIN, deadline) < 0)
			return -ETIMEDOUT;
	}
	if (first != 0x16) {
		static const char msg[] =
		    "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
		    "Client sent an HTTP request to an HTTPS server.\n";
		if (send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) > 0)
			c->linger = true;
		return -EPROTO;
	}
	pthread_mutex_lock(&c->d->mu); /* httpd_reload_cert swaps the context */
	c->ssl = SSL_new(c->d->ctx);
	pthread_mutex_unlock(&c->d->mu);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return -ENOMEM;
	for (;;) {
		ERR_clear_error();
		int r = SSL_accept(c->ssl);
		if (r == 1) {
			X509 *peer = SSL_get1_peer_certificate(c->ssl);
			if (peer && SSL_get_verify_result(c->ssl) == X509_V_OK) {
				char buf[256];
				X509_NAME *n = X509_get_subject_name(peer);
				if (X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf)) > 0)
					c->client_cn = xstrdup(buf);
				if (X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof(buf)) > 0)
					c->client_o = xstrdup(buf);
				VEC(char *) orgs = {0};
				for (int at = -1;
				     (at = X509_NAME_get_index_by_NID(n, NID_organizationName, at)) >= 0;) {
					ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, at));
					unsigned char *u8 = NULL;
					int len = ASN1_STRING_to_UTF8(&u8, v);
					if (len < 0)
						continue;
					*vec_push(&orgs) = xstrndup((const char *)u8, (size_t)len);
					OPENSSL_free(u8);
				}
				if (orgs.len) {
					*vec_push(&orgs) = NULL; /* the terminator */
					c->client_orgs = orgs.v;
				}
			}
			X509_free(peer);
			ERR_clear_error();
			return 0;
		}
		int rc, ssl_err = SSL_get_error(c->ssl, r);
		switch (ssl_err) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			rc = wait_tls(c, ssl_err, deadline);
			break;
		default: {
			unsigned long e = ERR_peek_error();
			char why[256] = "connection closed";
			if (e)
				ERR_error_string_n(e, why, sizeof(why));
			log_debug("http: TLS handshake with %s failed: %s", c->peer, why);
			rc = -EPROTO;
			break;
		}
		}
		if (rc < 0) {
			c->broken = true;
			return rc;
		}
	}
}

/* Half-closes and reads what the client still sends (briefly), so it sees our answer. */
static void linger_close(struct http_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	int64_t deadline = clock_mono_ms() + LINGER_MS;
	size_t total = 0;
	char tmp[4096];
	while (total < LINGER_BYTES && !atomic_load(&c->d->stopping)) {
		ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
		if (r > 0) {
			total += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		if (wait_fd(c->fd, POLLIN, deadline) < 0)
			break;
	}
}

static void *conn_main(void *arg)
{
	struct http_conn *c = arg;
	struct httpd *d = c->d;
	buf_init(&c->in);
	/* A reject slot lives REJECT_TIMEOUT_MS in all; a serving connection has a short
	 * handshake deadline, then anon_timeout_ms for its first request head. */
	int64_t t0 = clock_mono_ms();
	int64_t hs = t0 + (c->reject ? REJECT_TIMEOUT_MS : d->o.handshake_timeout_ms);
	if (d->ctx && tls_handshake(c, hs) < 0)
		goto out;
	c->anon_deadline = c->reject ? t0 + REJECT_TIMEOUT_MS : clock_mono_ms() + d->o.anon_timeout_ms;
	if (c->reject)
		serve_reject(c);
	else
		serve(c, c->anon_deadline);
out:
	if (c->ssl) {
		if (!c->broken) {
			ERR_clear_error();
			SSL_shutdown(c->ssl); /* sends close_notify; does not wait for the peer's */
		}
	}
	if (c->linger && !c->broken)
		linger_close(c);
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	free(c->client_cn);
	free(c->client_o);
	c->client_cn = c->client_o = NULL;
	for (size_t j = 0; c->client_orgs && c->client_orgs[j]; j++)
		free(c->client_orgs[j]);
	free(c->client_orgs);
	c->client_orgs = NULL;
	buf_fini(&c->in);
	ERR_clear_error();
	pthread_mutex_lock(&d->mu);
	close(c->fd);
	c->fd = -1;
	c->done = true;
	conn_release(d, c);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Joins and frees finished connections (all of them when all is set). */
static void reap(struct httpd *d, bool all)
{
	struct http_conn *dead = NULL;
	pthread_mutex_lock(&d->mu);
	for (struct http_conn **pp = &d->conns; *pp;) {
		struct http_conn *c = *pp;
		if (all || c->done) {
			*pp = c->next;
			c->next = dead;
			dead = c;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&d->mu);
	while (dead) {
		struct http_conn *c = dead;
		dead = c->next;
		pthread_join(c->thr, NULL);
		free(c);
	}
}

/* The client address as 16 bytes (IPv4 as v4-mapped IPv6), the key of admission. */
static void peer_addr(const struct sockaddr_storage *ss, unsigned char out[16])
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(out, n, "%s:%u", host, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			snprintf(out, n, "[%s]:%u", host, ntohs(s6->sin6_port));
		}
	} else {
		snprintf(out, n, "unknown");
	}
}

static void *accept_main(void *arg)
{
	struct httpd *d = arg;
	while (!atomic_load(&d->stopping)) {
		struct pollfd p[2] = {{.fd = d->lfd, .events = POLLIN}, {.fd = d->wake[0], .events = POLLIN}};
		int r = poll(p, 2, 1000);
		reap(d, false);
		if (r < 0 && errno != EINTR) {
			log_error("http: poll: %s", strerror(errno));
			break;
		}
		if (r <= 0 || p[1].revents)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("http: accept: %s", strerror(errno));
				struct pollfd w = {.fd = d->wake[0], .events = POLLIN};
				poll(&w, 1, 100); /* let connections finish instead of spinning */
			}
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct http_conn *c = xcalloc(1, sizeof(*c));
		c->d = d;
		c->fd = fd;
		format_peer(&ss, c->peer, sizeof(c->peer));
		peer_addr(&ss, c->addr);
		pthread_mutex_lock(&d->mu);
		/* Admission: an anonymous flood from one address (or from many, past half the
		 * slots) is closed here, before any TLS work, and never holds a slot. */
		if (!anon_admit(d, c->addr)) {
			pthread_mutex_unlock(&d->mu);
			close(fd);
			free(c);
			continue;
		}
		c->anon_counted = true;
		if (d->nlive >= d->o.max_conns) {
			if (d->nreject >= REJECT_SLOTS) {
				anon_release(d, c);
				pthread_mutex_unlock(&d->mu);
				close(fd);
				free(c);
				continue;
			}
			c->reject = true;
			d->nreject++;
		} else {
			d->nlive++;
		}
		c->next = d->conns;
		d->conns = c;
		if (pthread_create(&c->thr, NULL, conn_main, c) != 0) {
			log_warn("http: cannot start a connection thread");
			d->conns = c->next;
			conn_release(d, c);
			pthread_mutex_unlock(&d->mu);
			close(fd);
			free(c);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
	}
	return NULL;
}

/* Offers only http/1.1: Go clients would otherwise speak HTTP/2, which we do not. The
 * client's list comes from the network: each length is checked against what is left. */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	unsigned int i = 0;
	while (i < inlen) {
		unsigned int l = in[i];
		if (l == 0 || l > inlen - i - 1)
			return SSL_TLSEXT_ERR_NOACK;
		if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *tls_ctx(const struct httpd_opts *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (o->client_ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca_file);
		if (!names || SSL_CTX_load_verify_locations(ctx, o->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			snprintf(err, errlen, "client CA %s: cannot read it", o->client_ca_file);
			ERR_clear_error();
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* optional: a bearer token also works */
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char why[256] = "unknown error";
		unsigned long e = ERR_peek_last_error();
		if (e)
			ERR_error_string_n(e, why, sizeof(why));
		snprintf(err, errlen, "TLS certificate %s / key %s: %s", o->cert_file, o->key_file, why);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int listen_on(const char *addr, int port, int *out_port, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 64];
	size_t n = strlen(addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		if (n - 2 >= sizeof(host)) {
			snprintf(err, errlen, "bad bind address %s", addr);
			return -EINVAL;
		}
		memcpy(host, addr + 1, n - 2);
		host[n - 2] = 0;
	} else {
		snprintf(host, sizeof(host), "%s", addr);
	}
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, ps, &hints, &ai);
	if (g != 0 || !ai) {
		snprintf(err, errlen, "bad bind address %s: %s", addr, gai_strerror(g));
		return -EINVAL;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		freeaddrinfo(ai);
		return -e;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		snprintf(err, errlen, "listen on %s port %d: %s", addr, port, strerror(e));
		freeaddrinfo(ai);
		close(fd);
		return -e;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int httpd_start(const struct httpd_opts *o, http_handler h, void *ud, struct httpd **out, char *err,
		size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!o || !h || !out) {
		snprintf(err, errlen, "httpd_start: missing argument");
		return -EINVAL;
	}
	if (!o->cert_file != !o->key_file) {
		snprintf(err, errlen, "a TLS certificate needs its key and the other way round");
		return -EINVAL;
	}
	/* TLS writes go through write(2), which would raise SIGPIPE on a closed socket. */
	signal(SIGPIPE, SIG_IGN);

	struct httpd *d = xcalloc(1, sizeof(*d));
	d->o = *o;
	if (!d->o.bind_address)
		d->o.bind_address = "0.0.0.0";
	if (!d->o.max_head)
		d->o.max_head = 64 << 10;
	if (!d->o.max_body)
		d->o.max_body = 3 << 20;
	if (d->o.max_conns <= 0)
		d->o.max_conns = 1024;
	if (d->o.idle_timeout_ms <= 0)
		d->o.idle_timeout_ms = 60000;
	/* An anonymous client never waits longer than an authenticated one. */
	if (d->o.handshake_timeout_ms <= 0)
		d->o.handshake_timeout_ms = d->o.idle_timeout_ms < 5000 ? d->o.idle_timeout_ms : 5000;
	if (d->o.anon_timeout_ms <= 0)
		d->o.anon_timeout_ms = d->o.idle_timeout_ms < 10000 ? d->o.idle_timeout_ms : 10000;
	if (d->o.max_anon_per_addr <= 0)
		d->o.max_anon_per_addr = 64;
	if (d->o.max_anon <= 0)
		d->o.max_anon = d->o.max_conns / 2 > 0 ? d->o.max_conns / 2 : 1;
	d->h = h;
	d->ud = ud;
	d->lfd = d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->mu, NULL);
	int rc;
	if (o->cert_file && !(d->ctx = tls_ctx(o, err, errlen))) {
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = listen_on(d->o.bind_address, o->port, &d->port, err, errlen)) < 0)
		goto fail;
	d->lfd = rc;
	/* Pointers in the options are not kept past this call. */
	d->client_ca = o->client_ca_file ? xstrdup(o->client_ca_file) : NULL;
	d->o.bind_address = d->o.cert_file = d->o.key_file = d->o.client_ca_file = NULL;
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = pthread_create(&d->accept_thr, NULL, accept_main, d)) != 0) {
		snprintf(err, errlen, "cannot start the accept thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	*out = d;
	return 0;
fail:
	if (d->wake[0] >= 0) {
		close(d->wake[0]);
		close(d->wake[1]);
	}
	if (d->lfd >= 0)
		close(d->lfd);
	SSL_CTX_free(d->ctx);
	pthread_mutex_destroy(&d->mu);
	free(d);
	return rc;
}

int httpd_reload_cert(struct httpd *d, const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	if (!d->ctx) {
		snprintf(err, errlen, "not serving TLS");
		return -EINVAL;
	}
	struct httpd_opts o = d->o;
	o.cert_file = cert_file;
	o.key_file = key_file;
	o.client_ca_file = d->client_ca;
	SSL_CTX *ctx = tls_ctx(&o, err, errlen);
	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&d->mu);
	SSL_CTX *old = d->ctx;
	d->ctx = ctx;
	pthread_mutex_unlock(&d->mu);
	SSL_CTX_free(old); /* connections that use it hold their own reference */
	return 0;
}

int httpd_port(const struct httpd *d)
{
	return d->port;
}

void httpd_stop(struct httpd *d)
{
	if (!d)
		return;
	atomic_store(&d->stopping, true);
	ssize_t w = write(d->wake[1], "x", 1);
	(void)w;
	pthread_join(d->accept_thr, NULL);
	close(d->lfd);
	pthread_mutex_lock(&d->mu);
	for (struct http_conn *c = d->conns; c; c = c->next)
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&d->mu);
	reap(d, true);
	for (int i = 0; i < ANON_BUCKETS; i++)
		while (d->anon[i]) {
			struct anon_entry *e = d->anon[i];
			d->anon[i] = e->next;
			free(e);
		}
	close(d->wake[0]);
	close(d->wake[1]);
	SSL_CTX_free(d->ctx);
	free(d->client_ca);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
