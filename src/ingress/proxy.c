/* proxy.c - the Ingress reverse proxy: one epoll loop, HTTP/1.1 and TLS (see proxy.h).
 *
 * A client connection goes through these states:
 *
 *   TLS --handshake done--> HEAD --head parsed, routed--> UP --response done--> HEAD
 *   (HTTPS only)              |  no route / bad request      |  101 Switching Protocols
 *                             v                              v
 *                           local answer (404/400/503)     TUNNEL (bytes both ways)
 *   any state: error or timeout --> closed (after the pending output, when there is some)
 *
 * In UP the request owns one upstream connection (struct up): CONNECTING -> the request
 * head goes out, then the client's body as it arrives (Content-Length or chunked, relayed
 * as bytes, framing tracked); the response head is parsed, rewritten (hop-by-hop headers,
 * the affinity cookie) and relayed with its body. A finished exchange returns the upstream
 * connection to the pool when both sides framed their messages. Failure before any
 * response byte reached the client: a refused or failed connect always tries another
 * endpoint (nothing was sent), an idempotent request without body is also re-sent after
 * a failure on an established connection (a pooled one gone stale, a pod killed); other
 * requests get 502. Reads stop while the other side's output holds more than OUT_HIGH
 * bytes (back-pressure); every fd is level-triggered and its interest set is recomputed
 * after each event.
 */
#include "ingress/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api/object.h"
#include "base/clock.h"
#include "base/sockaddr.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "http/http.h"
#include "ingress/http1.h"
#include "ingress/route.h"
#include "ingress/tls.h"

#define MAX_HEAD (64 * 1024)
#define OUT_HIGH (256 * 1024)
#define READ_CHUNK (64 * 1024)
#define MAX_TRIES 3
#define HEAD_TIMEOUT_MS 60000
#define IDLE_TIMEOUT_MS 60000
#define CONNECT_TIMEOUT_MS 5000
#define RESPONSE_TIMEOUT_MS 60000
#define TUNNEL_IDLE_MS 3600000
#define POOL_IDLE_MS 30000
#define POOL_MAX 512
#define MAX_LISTEN 16

enum kind { K_LISTEN, K_CLIENT, K_UP, K_WAKE };
enum cstate { C_TLS, C_HEAD, C_UP, C_TUNNEL };
enum rstate { R_HEAD, R_BODY, R_DONE };

struct table_ref {
	struct ing_table *t;
	int refs;
};

struct up;

struct cli {
	enum kind kind; /* K_CLIENT: first, so an epoll tag tells the type */
	int fd;
	SSL *ssl;
	bool tls;
	enum cstate st;
	char peer[64];
	int local_port;
	struct buf in, out;
	size_t out_off;
	bool close_after; /* close once out is flushed */
	bool dead;
	bool touched; /* on the loop's list of connections to revisit after this batch */
	struct cli *tnext;
	uint32_t ev_cur; /* the epoll interest set last given */
	int64_t deadline;
	struct cli *prev, *next;
	/* the request in flight (C_UP) */
	struct http_req req;
	struct table_ref *tref;
	const struct ing_backend *be;
	struct buf head; /* rewritten request head, kept for a retry */
	bool keep_alive, is_head, ws, retryable;
	long long body_left; /* Content-Length bytes still to relay */
	bool body_chunked;
	struct http_chunked body_ck;
	bool body_done;
	uint64_t tried; /* endpoint indexes tried */
	int tries;
	int ep;		 /* endpoint in use */
	bool new_cookie; /* set the affinity cookie in the response */
	struct up *up;
	enum rstate rs;
	bool resp_started;
	long long resp_left;
	bool resp_chunked, resp_close;
	bool resp_then_close; /* the client connection ends with this response */
	bool up_reusable;     /* the upstream connection may go back to the pool */
	struct http_chunked resp_ck;
};

struct up {
	enum kind kind; /* K_UP */
	int fd;
	char key[80];
	bool connected, reused, dead;
	uint32_t ev_cur;   /* the epoll interest set last given */
	struct cli *owner; /* NULL while pooled */
	struct buf in, out;
	size_t out_off;
	int64_t since;	 /* pooled since / connect started */
	struct up *next; /* pool list */
};

struct listener {
	enum kind kind; /* K_LISTEN */
	int fd;
	bool tls;
	int port;
};

struct ing_proxy {
	struct client_config cfg;
	int ep;
	struct {
		enum kind kind;
		int fd;
	} wake;
	struct listener ls[MAX_LISTEN];
	size_t nls;
	int http_port, https_port;
	struct informer *ing, *svc, *slices, *secrets;
	atomic_int dirty;
	/* Which Service changes need a rebuild (informer threads read, rebuild writes, under
	 * ref_mu): refs = {"ns/name": true} of the Services the table's backends name (NULL
	 * before the first table: all); while a rebuild lists and builds, the keys it skipped
	 * are kept in skipped and checked against the new refs. */
	pthread_mutex_t ref_mu;
	json_t *refs, *skipped;
	bool building;
	atomic_int stop;
	pthread_t th;
	bool th_started;
	struct table_ref *tref;
	struct cli *clients;
	struct up *pool;
	size_t npool;
	struct up *graveyard; /* dropped this round, freed after the event batch */
	struct cli *touched;  /* clients an event of this batch concerned */
	size_t rr;
	struct ing_tls_store *tls;
	char scratch[READ_CHUNK];
};

/* One read into in, from ssl when not NULL, else from fd: bytes read (> 0), 0 when it
 * would block, -1 at the end of the stream or on an error. */
static ssize_t read_into(int fd, SSL *ssl, struct buf *in)
{
	buf_reserve(in, READ_CHUNK);
	ssize_t r;
	if (ssl) {
		ERR_clear_error();
		int n = SSL_read(ssl, in->data + in->len, READ_CHUNK);
		if (n <= 0) {
			int e = SSL_get_error(ssl, n);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
		}
		r = n;
	} else {
		r = recv(fd, in->data + in->len, READ_CHUNK, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (r == 0)
			return -1;
	}
	in->len += (size_t)r;
	in->data[in->len] = 0;
	return r;
}

/* Bytes of in[0..len) that belong to a chunked body (relayed as they are, not decoded):
 * *n set; returns 0 at the body's end, -EAGAIN for more, -EBADMSG when malformed. */
static int chunked_span(struct http_chunked *st, const char *in, size_t len, size_t *n)
{
	struct buf scratch;
	buf_init(&scratch);
	int rc = http_chunked_feed(st, in, len, (size_t)1 << 40, &scratch, n);
	buf_fini(&scratch);
	return rc;
}

/* ---- the table ---- */

static void tref_unref(struct table_ref *r)
{
	if (r && --r->refs == 0) {
		ing_table_free(r->t);
		free(r);
	}
}

static void wake_loop(struct ing_proxy *p)
{
	atomic_store(&p->dirty, 1);
	uint64_t one = 1;
	ssize_t w = write(p->wake.fd, &one, sizeof(one));
	(void)w;
}

/* The Services the table names ("ns/name" -> true). */
static json_t *table_refs(const struct ing_table *t)
{
	json_t *refs = json_object();
	for (size_t i = 0; i <= t->bes.len; i++) {
		const struct ing_backend *be = i < t->bes.len ? t->bes.v[i] : t->def;
		if (be && be->ns && be->svc) {
			char *k = xasprintf("%s/%s", be->ns, be->svc);
			json_object_set_new(refs, k, json_true());
			free(k);
		}
	}
	return refs;
}

static void rebuild(struct ing_proxy *p)
{
	pthread_mutex_lock(&p->ref_mu);
	p->building = true;
	json_object_clear(p->skipped);
	pthread_mutex_unlock(&p->ref_mu);
	json_t *ings = informer_list(p->ing, NULL), *svcs = informer_list(p->svc, NULL);
	json_t *sl = informer_list(p->slices, NULL);
	struct table_ref *r = xcalloc(1, sizeof(*r));
	r->t = ing_table_build(ings, svcs, sl);
	r->refs = 1;
	json_decref(ings);
	json_decref(svcs);
	json_decref(sl);
	/* A Service this table names whose change was skipped while it was built (the
	 * lists may predate that change): build again. */
	json_t *refs = table_refs(r->t);
	pthread_mutex_lock(&p->ref_mu);
	json_decref(p->refs);
	p->refs = refs;
	p->building = false;
	const char *k;
	json_t *v;
	bool again = false;
	json_object_foreach(p->skipped, k, v) again = again || json_object_get(refs, k);
	json_object_clear(p->skipped);
	pthread_mutex_unlock(&p->ref_mu);
	if (again)
		wake_loop(p);
	tref_unref(p->tref);
	p->tref = r;
	ing_tls_store_set_table(p->tls, r->t);
}

static void on_change(void *ud, const json_t *obj)
{
	(void)obj;
	wake_loop(ud);
}

static void on_update(void *ud, const json_t *old, const json_t *obj)
{
	(void)old;
	on_change(ud, obj);
}

/* A Service or EndpointSlice changed: a rebuild lists every Ingress, Service and slice
 * (at 10,000 Services and a hundred slice changes a second that was a core of the node),
 * so only a Service the table names, or its slices, wakes the loop. */
static void ref_change(struct ing_proxy *p, const char *ns, const char *name)
{
	if (!ns || !name)
		return;
	char *k = xasprintf("%s/%s", ns, name);
	pthread_mutex_lock(&p->ref_mu);
	bool hit = !p->refs || json_object_get(p->refs, k);
	if (!hit && p->building)
		json_object_set_new(p->skipped, k, json_true());
	pthread_mutex_unlock(&p->ref_mu);
	free(k);
	if (hit)
		wake_loop(p);
}

static void svc_change(void *ud, const json_t *obj)
{
	ref_change(ud, api_str(obj, "metadata.namespace"), api_str(obj, "metadata.name"));
}

static void svc_update(void *ud, const json_t *old, const json_t *obj)
{
	(void)old; /* same key */
	svc_change(ud, obj);
}

static void slice_change(void *ud, const json_t *obj)
{
	ref_change(ud, api_str(obj, "metadata.namespace"),
		   json_string_value(
		       json_object_get(api_get(obj, "metadata.labels"), "kubernetes.io/service-name")));
}

static void slice_update(void *ud, const json_t *old, const json_t *obj)
{
	(void)old; /* a slice keeps its Service */
	slice_change(ud, obj);
}

static void on_synced(void *ud)
{
	on_change(ud, NULL);
}

/* ---- fds and interest ---- */

/* Registers fd (add) or changes its interest set; *cur caches the set last given, so an
 * unchanged set costs no system call. */
static void ep_set(struct ing_proxy *p, int fd, void *tag, uint32_t ev, bool add, uint32_t *cur)
{
	if (!add && cur && *cur == ev)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = tag};
	if (epoll_ctl(p->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e) < 0 && !add)
		epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &e);
	if (cur)
		*cur = ev;
}

static void touch(struct ing_proxy *p, struct cli *c)
{
	if (c && !c->touched) {
		c->touched = true;
		c->tnext = p->touched;
		p->touched = c;
	}
}

static void up_free(struct up *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	buf_fini(&u->in);
	buf_fini(&u->out);
	free(u);
}

static void cli_interest(struct ing_proxy *p, struct cli *c);
static void up_interest(struct ing_proxy *p, struct up *u);
static void cli_advance(struct ing_proxy *p, struct cli *c);
static void up_drop(struct ing_proxy *p, struct up *u);

/* ---- client output ---- */

static void cli_close(struct ing_proxy *p, struct cli *c)
{
	c->dead = true;
}

static void cli_flush(struct ing_proxy *p, struct cli *c)
{
	while (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		ssize_t w;
		if (c->ssl) {
			ERR_clear_error();
			int r =
			    SSL_write(c->ssl, c->out.data + c->out_off, n > INT32_MAX ? INT32_MAX : (int)n);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					break;
				cli_close(p, c);
				return;
			}
			w = r;
		} else {
			w = send(c->fd, c->out.data + c->out_off, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				cli_close(p, c);
				return;
			}
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
		if (c->close_after)
			cli_close(p, c);
	}
}

static size_t cli_pending(const struct cli *c)
{
	return c->out.len - c->out_off;
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

/* A response made here; the connection closes after it unless keep (and the request had
 * no body left unread). */
static void cli_answer(struct ing_proxy *p, struct cli *c, int code, const char *text, bool keep)
{
	char *body = xasprintf("%d %s: %s\n", code, reason_phrase(code), text);
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		   "Connection: %s\r\n\r\n%s",
		   code, reason_phrase(code), strlen(body), keep ? "keep-alive" : "close",
		   c->is_head ? "" : body);
	free(body);
	if (!keep)
		c->close_after = true;
	cli_flush(p, c);
}

/* ---- requests ---- */

static void req_reset(struct ing_proxy *p, struct cli *c)
{
	http_req_fini(&c->req);
	memset(&c->req, 0, sizeof(c->req));
	tref_unref(c->tref);
	c->tref = NULL;
	c->be = NULL;
	buf_reset(&c->head);
	c->tried = 0;
	c->tries = 0;
	c->ep = -1;
	c->new_cookie = false;
	c->resp_started = false;
	c->rs = R_HEAD;
	c->ws = false;
	c->st = C_HEAD;
	c->deadline = clock_mono_ms() + IDLE_TIMEOUT_MS;
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The affinity cookie's value in the Cookie header, or -1. */
static int cookie_endpoint(const struct cli *c)
{
	const struct ing_backend *be = c->be;
	if (!be->cookie)
		return -1;
	for (size_t i = 0; i < c->req.nheaders; i++) {
		if (strcasecmp(c->req.headers[i].name, "Cookie"))
			continue;
		const char *v = c->req.headers[i].value;
		size_t nl = strlen(be->cookie_name);
		for (const char *s = v; s && *s;) {
			while (*s == ' ' || *s == ';')
				s++;
			if (!strncmp(s, be->cookie_name, nl) && s[nl] == '=') {
				const char *val = s + nl + 1;
				size_t vl = strcspn(val, ";");
				for (size_t e = 0; e < be->eps.len; e++) {
					char hex[17];
					snprintf(hex, sizeof(hex), "%016llx",
						 (unsigned long long)fnv(be->eps.v[e].key));
					if (vl == 16 && !memcmp(val, hex, 16))
						return (int)e;
				}
				return -1;
			}
			s = strchr(s, ';');
		}
	}
	return -1;
}

static int pick_endpoint(struct ing_proxy *p, struct cli *c)
{
	const struct ing_backend *be = c->be;
	size_t n = be->eps.len > 64 ? 64 : be->eps.len;
	int e = cookie_endpoint(c);
	if (e >= 0 && (size_t)e < n && !(c->tried & (1ULL << e)))
		return e;
	if (be->cookie)
		c->new_cookie = true;
	for (size_t i = 0; i < n; i++) {
		size_t k = (p->rr + i) % n;
		if (!(c->tried & (1ULL << k))) {
			p->rr = k + 1;
			return (int)k;
		}
	}
	return -1;
}

static bool hop_by_hop(const char *name)
{
	static const char *const h[] = {"Connection",	    "Keep-Alive",
					"Proxy-Connection", "TE",
					"Trailer",	    "Transfer-Encoding",
					"Upgrade",	    "Proxy-Authorization",
					"X-Forwarded-For",  "X-Forwarded-Proto",
					"X-Forwarded-Host", "X-Forwarded-Port",
					"X-Real-IP",	    NULL};
	for (size_t i = 0; h[i]; i++)
		if (!strcasecmp(name, h[i]))
			return true;
	return false;
}

/* The head sent upstream: the client's, hop-by-hop headers replaced, X-Forwarded-* added. */
static void build_head(struct cli *c)
{
	struct http_req *r = &c->req;
	const char *host = http_req_header(r, "Host");
	const char *xff = http_req_header(r, "X-Forwarded-For");
	buf_printf(&c->head, "%s %s HTTP/1.1\r\n", r->method, r->target);
	for (size_t i = 0; i < r->nheaders; i++)
		if (!hop_by_hop(r->headers[i].name))
			buf_printf(&c->head, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
	if (r->chunked)
		buf_puts(&c->head, "Transfer-Encoding: chunked\r\n");
	buf_printf(&c->head, "X-Forwarded-For: %s%s%s\r\nX-Real-IP: %s\r\nX-Forwarded-Proto: %s\r\n",
		   xff ? xff : "", xff ? ", " : "", c->peer, c->peer, c->tls ? "https" : "http");
	if (host)
		buf_printf(&c->head, "X-Forwarded-Host: %s\r\n", host);
	buf_printf(&c->head, "X-Forwarded-Port: %d\r\n", c->local_port);
	if (c->ws)
		buf_puts(&c->head, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	else
		buf_puts(&c->head, "Connection: keep-alive\r\n\r\n");
}

static struct up *pool_take(struct ing_proxy *p, const char *key)
{
	for (struct up **pp = &p->pool; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->key, key)) {
			struct up *u = *pp;
			*pp = u->next;
			u->next = NULL;
			p->npool--;
			return u;
		}
	}
	return NULL;
}

static void pool_put(struct ing_proxy *p, struct up *u)
{
	u->owner = NULL;
	u->since = clock_mono_ms();
	buf_reset(&u->in);
	buf_reset(&u->out);
	u->out_off = 0;
	if (p->npool >= POOL_MAX) {
		up_drop(p, u);
		return;
	}
	u->next = p->pool;
	p->pool = u;
	p->npool++;
	ep_set(p, u->fd, u, EPOLLIN | EPOLLRDHUP, false, &u->ev_cur);
}

/* Closes u now; frees it after the event batch (a later event may still name it). */
static void up_drop(struct ing_proxy *p, struct up *u)
{
	if (!u || u->dead)
		return;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	u->fd = -1;
	u->dead = true;
	u->owner = NULL;
	u->next = p->graveyard;
	p->graveyard = u;
}

static int up_connect(struct ing_proxy *p, struct cli *c, const struct ing_endpoint *e, struct up **out)
{
	struct up *u = pool_take(p, e->key);
	if (u) {
		u->reused = true;
		u->owner = c;
		*out = u;
		return 0;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	if (ip_sockaddr(e->ip, e->port, &ss, &len) < 0)
		return -EINVAL;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		int err = -errno;
		close(fd);
		return err;
	}
	u = xcalloc(1, sizeof(*u));
	u->kind = K_UP;
	u->fd = fd;
	snprintf(u->key, sizeof(u->key), "%s", e->key);
	u->owner = c;
	u->since = clock_mono_ms();
	buf_init(&u->in);
	buf_init(&u->out);
	ep_set(p, fd, u, EPOLLOUT, true, &u->ev_cur);
	*out = u;
	return 0;
}

/* Sends the request (again) to the next endpoint; answers 502 when none is left. */
static void req_dispatch(struct ing_proxy *p, struct cli *c)
{
	for (;;) {
		if (c->tries >= MAX_TRIES) {
			cli_answer(p, c, 502, "no endpoint answered", false);
			return;
		}
		int e = pick_endpoint(p, c);
		if (e < 0) {
			cli_answer(p, c, 502, "no endpoint answered", false);
			return;
		}
		c->tries++;
		c->tried |= 1ULL << e;
		c->ep = e;
		struct up *u = NULL;
		if (up_connect(p, c, &c->be->eps.v[e], &u) < 0)
			continue;
		c->up = u;
		buf_append(&u->out, c->head.data, c->head.len);
		c->deadline =
		    clock_mono_ms() + (u->connected || u->reused ? RESPONSE_TIMEOUT_MS : CONNECT_TIMEOUT_MS);
		if (u->reused)
			u->connected = true;
		up_interest(p, u);
		return;
	}
}

/* An upstream failed before any response byte reached the client. */
static void up_failed(struct ing_proxy *p, struct cli *c, bool before_send)
{
	struct up *u = c->up;
	bool reused = u && u->reused;
	up_drop(p, u);
	c->up = NULL;
	if (before_send || (c->retryable && c->rs == R_HEAD) || (reused && c->retryable)) {
		c->rs = R_HEAD;
		req_dispatch(p, c);
		return;
	}
	cli_answer(p, c, 502, "the endpoint closed the connection", false);
}

static void req_start(struct ing_proxy *p, struct cli *c, size_t head_len)
{
	struct http_req *r = &c->req;
	buf_consume(&c->in, head_len);
	c->is_head = !strcmp(r->method, "HEAD");
	c->keep_alive = r->keep_alive;
	const char *upg = http_req_header(r, "Upgrade");
	c->ws = upg && !strcasecmp(upg, "websocket");
	c->body_chunked = r->chunked;
	c->body_left = r->chunked ? 0 : (r->content_length > 0 ? r->content_length : 0);
	c->body_done = !r->chunked && c->body_left == 0;
	if (r->chunked)
		http_chunked_init(&c->body_ck);
	static const char *const idem[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL};
	c->retryable = false;
	for (size_t i = 0; idem[i]; i++)
		if (!strcmp(r->method, idem[i]))
			c->retryable = c->body_done && !c->ws;
	c->st = C_UP;
	c->tref = p->tref;
	if (c->tref)
		c->tref->refs++;
	const char *path = r->target;
	char *pathonly = NULL;
	if (path[0] != '/') { /* absolute-form: take the path */
		const char *s = strstr(path, "://");
		s = s ? strchr(s + 3, '/') : NULL;
		path = s ? s : "/";
	}
	size_t pl = strcspn(path, "?#");
	pathonly = xstrndup(path, pl);
	c->be = c->tref ? ing_table_match(c->tref->t, http_req_header(r, "Host"), pathonly) : NULL;
	free(pathonly);
	if (!c->be) {
		cli_answer(p, c, 404, "no Ingress rule matches this host and path",
			   c->body_done && c->keep_alive);
		req_reset(p, c);
		return;
	}
	if (c->be->reason) {
		cli_answer(p, c, 503, c->be->reason, c->body_done && c->keep_alive);
		req_reset(p, c);
		return;
	}
	build_head(c);
	req_dispatch(p, c);
}

/* ---- relaying ---- */

/* Moves request body bytes (and, in a tunnel, everything) from the client to upstream. */
static void relay_body(struct ing_proxy *p, struct cli *c)
{
	struct up *u = c->up;
	if (!u || !u->connected || c->in.len == 0)
		return;
	if (c->st == C_TUNNEL) {
		buf_append(&u->out, c->in.data, c->in.len);
		buf_reset(&c->in);
		return;
	}
	if (c->body_done)
		return;
	size_t n = 0;
	if (c->body_chunked) {
		int rc = chunked_span(&c->body_ck, c->in.data, c->in.len, &n);
		if (rc == 0)
			c->body_done = true;
		else if (rc != -EAGAIN) {
			cli_answer(p, c, 400, "malformed chunked body", false);
			return;
		}
	} else {
		n = c->in.len < (size_t)c->body_left ? c->in.len : (size_t)c->body_left;
		c->body_left -= (long long)n;
		c->body_done = c->body_left == 0;
	}
	buf_append(&u->out, c->in.data, n);
	buf_consume(&c->in, n);
}

/* Parses the response head in u->in and queues it, rewritten, for the client; -EAGAIN
 * until complete, -EBADMSG when malformed. */
static int resp_head(struct ing_proxy *p, struct cli *c)
{
	struct up *u = c->up;
	struct ing_resp_head rh;
	int rc = ing_resp_head_parse(u->in.data ? u->in.data : "", u->in.len, MAX_HEAD, &rh, &c->out);
	if (rc < 0)
		return rc;
	size_t hl = rh.head_len;
	if (rh.code < 200 && rh.code != 101) { /* 100 Continue and friends: pass on, wait for more */
		buf_puts(&c->out, "\r\n");
		buf_consume(&u->in, hl);
		return resp_head(p, c);
	}
	const struct ing_backend *be = c->be;
	if (c->new_cookie && be->cookie && c->ep >= 0) {
		buf_printf(&c->out, "Set-Cookie: %s=%016llx; Path=%s", be->cookie_name,
			   (unsigned long long)fnv(be->eps.v[c->ep].key), be->cookie_path);
		if (be->cookie_max_age > 0)
			buf_printf(&c->out, "; Max-Age=%ld", be->cookie_max_age);
		buf_puts(&c->out, "; HttpOnly\r\n");
	}
	bool nobody = c->is_head || rh.code == 204 || rh.code == 304;
	if (rh.code == 101 && c->ws) {
		buf_puts(&c->out, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
		c->st = C_TUNNEL;
		c->deadline = clock_mono_ms() + TUNNEL_IDLE_MS;
	} else {
		c->resp_chunked = !nobody && rh.chunked;
		c->resp_left = nobody || rh.chunked ? 0 : rh.content_length;
		c->resp_close =
		    !nobody && !rh.chunked && rh.content_length < 0; /* body until the upstream closes */
		if (c->resp_chunked)
			http_chunked_init(&c->resp_ck);
		if (!c->keep_alive || c->resp_close)
			c->resp_then_close = true;
		buf_printf(&c->out, "Connection: %s\r\n\r\n", c->resp_then_close ? "close" : "keep-alive");
		bool up_closes = rh.conn_close || (rh.http10 && !rh.conn_keep_alive);
		c->up_reusable = !up_closes && !c->resp_close;
	}
	c->resp_started = true;
	buf_consume(&u->in, hl);
	c->rs = c->st == C_TUNNEL					 ? R_BODY
		: (c->resp_chunked || c->resp_left > 0 || c->resp_close) ? R_BODY
									 : R_DONE;
	return 0;
}

/* The exchange is over: upstream to the pool (or closed), client to the next request. */
static void exchange_done(struct ing_proxy *p, struct cli *c)
{
	struct up *u = c->up;
	c->up = NULL;
	if (u && c->up_reusable && u->in.len == 0 && c->body_done)
		pool_put(p, u);
	else
		up_drop(p, u);
	bool close_now = c->resp_then_close || !c->body_done;
	req_reset(p, c);
	if (close_now)
		c->close_after = true;
	cli_flush(p, c);
	cli_advance(p, c); /* a pipelined request may be waiting */
}

/* Moves response bytes from upstream to the client, tracking the body's framing. */
static void relay_resp(struct ing_proxy *p, struct cli *c)
{
	struct up *u = c->up;
	if (!u)
		return;
	if (c->rs == R_HEAD) {
		int rc = resp_head(p, c);
		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			up_drop(p, u);
			c->up = NULL;
			cli_answer(p, c, 502, "malformed response from the endpoint", false);
			return;
		}
	}
	if (c->rs == R_BODY && u->in.len) {
		size_t n = u->in.len;
		if (c->st == C_TUNNEL || c->resp_close) {
			n = u->in.len;
		} else if (c->resp_chunked) {
			int rc = chunked_span(&c->resp_ck, u->in.data, u->in.len, &n);
			if (rc == 0)
				c->rs = R_DONE;
			else if (rc != -EAGAIN) {
				c->up_reusable = false;
				c->close_after = true;
				c->rs = R_DONE;
			}
		} else {
			if ((long long)n > c->resp_left)
				n = (size_t)c->resp_left;
			c->resp_left -= (long long)n;
			if (c->resp_left == 0)
				c->rs = R_DONE;
		}
		buf_append(&c->out, u->in.data, n);
		buf_consume(&u->in, n);
	}
	if (c->st == C_UP && c->rs == R_DONE)
		exchange_done(p, c);
	else if (c->st == C_UP)
		c->deadline = clock_mono_ms() + RESPONSE_TIMEOUT_MS;
	else if (c->st == C_TUNNEL)
		c->deadline = clock_mono_ms() + TUNNEL_IDLE_MS;
}

/* ---- upstream events ---- */

static void up_flush(struct ing_proxy *p, struct up *u)
{
	while (u->out_off < u->out.len) {
		ssize_t w = send(u->fd, u->out.data + u->out_off, u->out.len - u->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			return; /* the read side sees the error */
		}
		u->out_off += (size_t)w;
	}
	buf_reset(&u->out);
	u->out_off = 0;
}

static void up_event(struct ing_proxy *p, struct up *u, uint32_t ev)
{
	if (u->dead)
		return;
	struct cli *c = u->owner;
	if (!c) { /* pooled: readable means closed (or garbage): drop it */
		for (struct up **pp = &p->pool; *pp; pp = &(*pp)->next)
			if (*pp == u) {
				*pp = u->next;
				p->npool--;
				break;
			}
		up_drop(p, u);
		return;
	}
	if (!u->connected) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			up_failed(p, c, true);
			return;
		}
		u->connected = true;
		c->deadline = clock_mono_ms() + RESPONSE_TIMEOUT_MS;
	}
	if (ev & EPOLLOUT) {
		relay_body(p, c);
		up_flush(p, u);
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
		bool eof = false;
		while (cli_pending(c) < OUT_HIGH) {
			ssize_t r = read_into(u->fd, NULL, &u->in);
			if (r < 0)
				eof = true;
			if (r < READ_CHUNK)
				break;
		}
		if (u->in.len)
			relay_resp(p, c);
		if (c->dead || c->up != u)
			return;
		if (eof) {
			if (!c->resp_started) {
				up_failed(p, c, false);
				return;
			}
			/* A body delimited by close ends here; anything else is cut short. */
			up_drop(p, u);
			c->up = NULL;
			if (c->st == C_UP && c->rs == R_BODY && !c->resp_close) {
				cli_close(p, c);
				return;
			}
			c->close_after = true;
			cli_flush(p, c);
			return;
		}
	}
	cli_flush(p, c);
}

static void up_interest(struct ing_proxy *p, struct up *u)
{
	struct cli *c = u->owner;
	uint32_t ev = 0;
	if (!u->connected)
		ev = EPOLLOUT;
	else {
		if (u->out.len > u->out_off)
			ev |= EPOLLOUT;
		if (!c || cli_pending(c) < OUT_HIGH)
			ev |= EPOLLIN | EPOLLRDHUP;
	}
	ep_set(p, u->fd, u, ev, false, &u->ev_cur);
}

/* ---- client events ---- */

static void cli_advance(struct ing_proxy *p, struct cli *c)
{
	for (int guard = 0; guard < 64 && !c->dead; guard++) {
		if (c->st == C_HEAD) {
			if (c->close_after || cli_pending(c) >= OUT_HIGH || !c->in.len)
				return;
			size_t hl = 0;
			memset(&c->req, 0, sizeof(c->req));
			int rc = http_parse_head(c->in.data, c->in.len, MAX_HEAD, &c->req, &hl);
			if (rc == -EAGAIN)
				return;
			if (rc == -E2BIG) {
				cli_answer(p, c, 431, "request head too large", false);
				return;
			}
			if (rc < 0) {
				cli_answer(p, c, 400, "malformed request", false);
				return;
			}
			req_start(p, c, hl);
			continue; /* a local answer may leave a pipelined request to parse */
		}
		if (c->st == C_UP || c->st == C_TUNNEL) {
			relay_body(p, c);
			if (c->up)
				up_flush(p, c->up);
		}
		return;
	}
}

static bool cli_read(struct ing_proxy *p, struct cli *c)
{
	while (c->in.len <= MAX_HEAD + OUT_HIGH) {
		ssize_t r = read_into(c->fd, c->ssl, &c->in);
		if (r < 0)
			return false;
		if (r == 0 || (!c->ssl && r < READ_CHUNK))
			break; /* TLS reads on to WANT_READ: records buffered in OpenSSL raise no event */
	}
	return true;
}

static void cli_event(struct ing_proxy *p, struct cli *c, uint32_t ev)
{
	if (c->st == C_TLS) {
		ERR_clear_error();
		int r = SSL_accept(c->ssl);
		if (r == 1) {
			c->st = C_HEAD;
			c->deadline = clock_mono_ms() + HEAD_TIMEOUT_MS;
		} else {
			int e = SSL_get_error(c->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				cli_close(p, c);
			return;
		}
	}
	if (ev & EPOLLOUT)
		cli_flush(p, c);
	if (c->dead)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		size_t before = c->in.len;
		bool open = cli_read(p, c);
		if (c->st == C_HEAD && c->in.len > before && before == 0)
			c->deadline = clock_mono_ms() + HEAD_TIMEOUT_MS;
		if (c->st == C_TUNNEL && c->in.len > before)
			c->deadline = clock_mono_ms() + TUNNEL_IDLE_MS;
		cli_advance(p, c);
		if (!open)
			cli_close(p, c); /* gone or half-closed: its request in flight is abandoned */
	}
}

static void cli_interest(struct ing_proxy *p, struct cli *c)
{
	uint32_t ev = 0;
	if (c->st == C_TLS) {
		ev = EPOLLIN;
		if (c->ssl && SSL_want_write(c->ssl))
			ev |= EPOLLOUT;
	} else {
		if (cli_pending(c))
			ev |= EPOLLOUT;
		bool up_full = c->up && c->up->out.len - c->up->out_off >= OUT_HIGH;
		if (!c->close_after && !up_full && c->in.len < MAX_HEAD + OUT_HIGH)
			ev |= EPOLLIN | EPOLLRDHUP;
	}
	ep_set(p, c->fd, c, ev, false, &c->ev_cur);
}

static void cli_free(struct ing_proxy *p, struct cli *c)
{
	if (c->up)
		up_drop(p, c->up);
	epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl) {
		/* close_notify, best effort: a TLS session closed without it cannot be resumed */
		if (c->st != C_TLS) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
	}
	close(c->fd);
	http_req_fini(&c->req);
	tref_unref(c->tref);
	buf_fini(&c->in);
	buf_fini(&c->out);
	buf_fini(&c->head);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void accept_all(struct ing_proxy *p, struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct cli *c = xcalloc(1, sizeof(*c));
		c->kind = K_CLIENT;
		c->fd = fd;
		c->tls = l->tls;
		c->local_port = l->port;
		c->ep = -1;
		buf_init(&c->in);
		buf_init(&c->out);
		buf_init(&c->head);
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
				  sizeof(c->peer));
		c->st = C_HEAD;
		c->deadline = clock_mono_ms() + HEAD_TIMEOUT_MS;
		if (l->tls) {
			c->ssl = ing_tls_new_ssl(p->tls);
			if (!c->ssl) {
				close(fd);
				buf_fini(&c->in);
				buf_fini(&c->out);
				buf_fini(&c->head);
				free(c);
				continue;
			}
			SSL_set_fd(c->ssl, fd);
			c->st = C_TLS;
		}
		c->next = p->clients;
		if (p->clients)
			p->clients->prev = c;
		p->clients = c;
		ep_set(p, fd, c, EPOLLIN, true, &c->ev_cur);
		touch(p, c); /* a TLS hello may already be there: look at it in this round */
	}
}

/* Once a second: timeouts of clients (and their requests) and idle pooled connections. */
static void sweep(struct ing_proxy *p)
{
	int64_t now = clock_mono_ms();
	for (struct cli *c = p->clients, *next; c; c = next) {
		next = c->next;
		if (c->dead || c->deadline > now)
			continue;
		touch(p, c);
		if (c->st == C_UP && !c->resp_started && c->up && !c->up->connected) {
			up_failed(p, c, true); /* connect timed out: next endpoint */
		} else if (c->st == C_UP && !c->resp_started) {
			up_drop(p, c->up);
			c->up = NULL;
			cli_answer(p, c, 504, "the endpoint did not answer in time", false);
		} else {
			cli_close(p, c);
		}
	}
	for (struct up **pp = &p->pool; *pp;) {
		struct up *u = *pp;
		if (now - u->since > POOL_IDLE_MS) {
			*pp = u->next;
			p->npool--;
			up_drop(p, u);
		} else {
			pp = &u->next;
		}
	}
}

static void *loop_main(void *arg)
{
	struct ing_proxy *p = arg;
	struct epoll_event evs[128];
	int64_t next_sweep = clock_mono_ms() + 1000;
	while (!atomic_load(&p->stop)) {
		int n = epoll_wait(p->ep, evs, 128, 1000);
		if (atomic_exchange(&p->dirty, 0))
			rebuild(p);
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;
			if (*k == K_WAKE) {
				uint64_t v;
				ssize_t r = read(p->wake.fd, &v, sizeof(v));
				(void)r;
				if (atomic_exchange(&p->dirty, 0))
					rebuild(p);
			} else if (*k == K_LISTEN) {
				accept_all(p, (struct listener *)k);
			} else if (*k == K_CLIENT) {
				struct cli *c = (struct cli *)k;
				touch(p, c);
				if (!c->dead)
					cli_event(p, c, evs[i].events);
			} else if (*k == K_UP) {
				struct up *u = (struct up *)k;
				if (!u->dead)
					touch(p, u->owner);
				up_event(p, u, evs[i].events); /* skips one dropped earlier in the batch */
			}
		}
		int64_t now = clock_mono_ms();
		if (now >= next_sweep) {
			sweep(p);
			next_sweep = now + 1000;
		}
		while (p->touched) {
			struct cli *c = p->touched;
			p->touched = c->tnext;
			c->touched = false;
			if (c->dead)
				cli_free(p, c);
			else {
				cli_interest(p, c);
				if (c->up)
					up_interest(p, c->up);
			}
		}
		while (p->graveyard) {
			struct up *u = p->graveyard;
			p->graveyard = u->next;
			up_free(u);
		}
	}
	return NULL;
}

/* ---- start / stop ---- */

static int listen_on(struct ing_proxy *p, const char *ip, int port, bool tls, char *err, size_t errlen)
{
	if (p->nls >= MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses");
		return -E2BIG;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	if (ip_sockaddr(ip, port, &ss, &len) < 0) {
		snprintf(err, errlen, "listen address %s is not an IP address", ip);
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		snprintf(err, errlen, "listening on %s port %d: %s", ip, port, strerror(e));
		close(fd);
		return -e;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	getsockname(fd, (struct sockaddr *)&bound, &bl);
	int bport = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
						     : ((struct sockaddr_in6 *)&bound)->sin6_port);
	struct listener *l = &p->ls[p->nls++];
	*l = (struct listener){.kind = K_LISTEN, .fd = fd, .tls = tls, .port = bport};
	return bport;
}

int ing_proxy_start(const struct ing_proxy_opts *o, struct ing_proxy **out, char *err, size_t errlen)
{
	struct ing_proxy *p = xcalloc(1, sizeof(*p));
	int rc = 0;
	pthread_mutex_init(&p->ref_mu, NULL);
	p->skipped = json_object();
	p->ep = -1;
	p->wake.fd = -1;
	p->wake.kind = K_WAKE;
	client_config_copy(&p->cfg, o->cfg);
	int hp = o->http_port ? o->http_port : 80, sp = o->https_port ? o->https_port : 443;
	p->http_port = p->https_port = -1;
	/* The first address must bind; the others are skipped (logged) when they cannot (an
	 * IPv6 address still tentative, say). */
	for (size_t i = 0; o->listen && o->listen[i]; i++) {
		char e2[256];
		for (int tls = 0; tls < 2; tls++) {
			int want = tls ? sp : hp, *got = tls ? &p->https_port : &p->http_port;
			if (want < 0)
				continue;
			rc = listen_on(p, o->listen[i], *got > 0 ? *got : want, tls, i ? e2 : err,
				       i ? sizeof(e2) : errlen);
			if (rc < 0 && i == 0)
				goto fail;
			if (rc < 0)
				log_warn("ingress: %s", e2);
			else
				*got = rc;
		}
	}
	rc = 0;
	if (!p->nls) {
		snprintf(err, errlen, "no listen address");
		rc = -EINVAL;
		goto fail;
	}
	static const char *const paths[] = {"/apis/networking.k8s.io/v1/ingresses", "/api/v1/services",
					    "/apis/discovery.k8s.io/v1/endpointslices",
					    /* TLS Secrets only: what the Node authorizer lets a node list */
					    "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls"};
	struct informer_handlers h = {
	    .on_add = on_change, .on_update = on_update, .on_delete = on_change, .on_synced = on_synced};
	struct informer_handlers hs = {
	    .on_add = svc_change, .on_update = svc_update, .on_delete = svc_change, .on_synced = on_synced};
	struct informer_handlers he = {.on_add = slice_change,
				       .on_update = slice_update,
				       .on_delete = slice_change,
				       .on_synced = on_synced};
	p->ing = informer_new(&p->cfg, paths[0], &h, p);
	p->svc = informer_new(&p->cfg, paths[1], &hs, p);
	p->slices = informer_new(&p->cfg, paths[2], &he, p);
	informer_set_transform(p->slices, api_endpointslice_compact, API_ENDPOINTSLICE_COMPACT_TAG);
	p->secrets = informer_new(&p->cfg, paths[3], &h, p);
	p->tls = ing_tls_store_new(p->secrets, err, errlen);
	if (!p->tls) {
		rc = -EIO;
		goto fail;
	}
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->ep < 0 || p->wake.fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
		goto fail;
	}
	ep_set(p, p->wake.fd, &p->wake, EPOLLIN, true, NULL);
	for (size_t i = 0; i < p->nls; i++)
		ep_set(p, p->ls[i].fd, &p->ls[i], EPOLLIN, true, NULL);
	rebuild(p);
	informer_start(p->ing);
	informer_start(p->svc);
	informer_start(p->slices);
	informer_start(p->secrets);
	if ((rc = pthread_create(&p->th, NULL, loop_main, p)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "starting the ingress loop: %s", strerror(-rc));
		goto fail;
	}
	p->th_started = true;
	*out = p;
	return 0;
fail:
	ing_proxy_stop(p);
	return rc < 0 ? rc : -EIO;
}

int ing_proxy_http_port(const struct ing_proxy *p)
{
	return p ? p->http_port : -1;
}

int ing_proxy_https_port(const struct ing_proxy *p)
{
	return p ? p->https_port : -1;
}

void ing_proxy_stop(struct ing_proxy *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, 1);
	if (p->wake.fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(p->wake.fd, &one, sizeof(one));
		(void)w;
	}
	if (p->th_started)
		pthread_join(p->th, NULL);
	informer_stop(p->ing);
	informer_stop(p->svc);
	informer_stop(p->slices);
	informer_stop(p->secrets);
	while (p->clients)
		cli_free(p, p->clients);
	while (p->pool) {
		struct up *u = p->pool;
		p->pool = u->next;
		up_drop(p, u);
	}
	while (p->graveyard) {
		struct up *u = p->graveyard;
		p->graveyard = u->next;
		up_free(u);
	}
	for (size_t i = 0; i < p->nls; i++)
		close(p->ls[i].fd);
	informer_free(p->ing);
	informer_free(p->svc);
	informer_free(p->slices);
	informer_free(p->secrets);
	ing_tls_store_free(p->tls);
	tref_unref(p->tref);
	if (p->ep >= 0)
		close(p->ep);
	if (p->wake.fd >= 0)
		close(p->wake.fd);
	client_config_fini(&p->cfg);
	json_decref(p->refs);
	json_decref(p->skipped);
	pthread_mutex_destroy(&p->ref_mu);
	free(p);
}
