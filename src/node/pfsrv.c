/* pfsrv.c - one port-forward session (see pfsrv.h).
 *
 * The session keeps up to MAX_CONNS forwarded connections, each with its request ID, its
 * two stream IDs, its socket in the pod's network namespace and the bytes still to write
 * to that socket. Sockets are made in the pod's namespace by switching this thread's
 * network namespace (setns on a pidfd of a pod process) around socket(2), then back: a
 * socket stays in the namespace it was made in. Back-pressure: while any connection has
 * more than OUT_MAX bytes queued for its socket, the client is not read.
 */
#include "node/pfsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "http/http.h"
#include "http/spdy.h"
#include "http/ws.h"

#define MAX_CONNS 64
#define OUT_MAX (1u << 20)
#define IO_BLOCK 65536
#define MAX_FRAME (16u << 20)

struct pfconn {
	bool used;
	char req[64];
	uint32_t data_sid, err_sid;
	int port;
	int fd; /* -1 before connect or after close */
	bool connected, sock_eof, client_fin, done;
	struct buf out; /* for the socket */
};

struct pf {
	struct http_conn *c;
	bool tunnel; /* SPDY inside WebSocket binary messages */
	bool broken;
	int netns_fd, self_ns;
	struct buf rx;	 /* client bytes (WebSocket frames when tunnelled) */
	struct buf spdy; /* SPDY bytes not yet parsed */
	struct spdy_inflate zin;
	struct spdy_deflate zout;
	struct pfconn conns[MAX_CONNS];
};

static void send_text(struct http_conn *c, int status, const char *msg)
{
	http_send(c, status, "text/plain; charset=utf-8", "", msg, strlen(msg));
}

/* Writes SPDY bytes to the client (in one WebSocket binary message when tunnelled). */
static void pf_write(struct pf *s, struct buf *b)
{
	if (s->broken || !b->len)
		return;
	if (!s->c) { /* node_pf_feed: no connection, writes go nowhere */
		b->len = 0;
		return;
	}
	if (s->tunnel) {
		uint8_t h[14];
		size_t hl = ws_frame_head(h, WS_OP_BINARY, b->len);
		if (http_conn_raw_write(s->c, (const char *)h, hl) < 0)
			s->broken = true;
	}
	if (!s->broken && http_conn_raw_write(s->c, b->data, b->len) < 0)
		s->broken = true;
	b->len = 0;
}

static void pf_data(struct pf *s, uint32_t sid, uint8_t flags, const void *p, size_t n)
{
	struct buf b;
	buf_init(&b);
	spdy_put_data(&b, sid, flags, p, n);
	pf_write(s, &b);
	buf_fini(&b);
}

static struct pfconn *conn_by_req(struct pf *s, const char *req, bool make)
{
	struct pfconn *free_slot = NULL;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].used && !strcmp(s->conns[i].req, req))
			return &s->conns[i];
		if (!s->conns[i].used && !free_slot)
			free_slot = &s->conns[i];
	}
	if (!make || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->fd = -1;
	snprintf(free_slot->req, sizeof(free_slot->req), "%s", req);
	buf_init(&free_slot->out);
	return free_slot;
}

static struct pfconn *conn_by_sid(struct pf *s, uint32_t sid)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].used && s->conns[i].data_sid == sid)
			return &s->conns[i];
	return NULL;
}

static void conn_error(struct pf *s, struct pfconn *k, const char *msg)
{
	if (k->err_sid)
		pf_data(s, k->err_sid, 0, msg, strlen(msg));
	if (k->data_sid)
		pf_data(s, k->data_sid, SPDY_FLAG_FIN, NULL, 0);
	if (k->err_sid)
		pf_data(s, k->err_sid, SPDY_FLAG_FIN, NULL, 0);
	k->done = true;
}

/* A socket in the pod's network namespace, connecting (non-blocking) to localhost:port. */
static void conn_open(struct pf *s, struct pfconn *k)
{
	int fd = -1, e = 0;
	if (setns(s->netns_fd, CLONE_NEWNET) == 0) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		e = errno;
		if (setns(s->self_ns, CLONE_NEWNET) < 0)
			abort(); /* this thread would serve others from the pod's namespace */
	} else {
		e = errno;
	}
	if (fd >= 0) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)k->port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS) {
			k->fd = fd;
			return;
		}
		e = errno;
		close(fd);
	}
	char m[256];
	snprintf(m, sizeof(m), "failed to connect to localhost:%d inside the pod's network namespace: %s",
		 k->port, strerror(e));
	conn_error(s, k, m);
}

static void on_syn(struct pf *s, const struct spdy_frame *f, const uint8_t *pl)
{
	struct buf blk, out;
	buf_init(&blk);
	buf_init(&out);
	char type[16] = "", port[16] = "", req[64] = "";
	if (spdy_inflate_block(&s->zin, pl + 10, f->length - 10, 65536, &blk) < 0 ||
	    spdy_block_get((const uint8_t *)blk.data, blk.len, "streamtype", type, sizeof(type)) < 0) {
		s->broken = true;
		goto out;
	}
	spdy_block_get((const uint8_t *)blk.data, blk.len, "port", port, sizeof(port));
	spdy_block_get((const uint8_t *)blk.data, blk.len, "requestid", req, sizeof(req));
	if (spdy_put_syn_reply(&s->zout, &out, f->stream_id) < 0) {
		s->broken = true;
		goto out;
	}
	pf_write(s, &out);
	struct pfconn *k = conn_by_req(s, req, true);
	if (!k)
		goto out; /* too many at once: the client's stream waits and times out */
	char *end = NULL;
	long p = strtol(port, &end, 10);
	k->port = end && !*end && p > 0 && p < 65536 ? (int)p : 0;
	if (!strcmp(type, "data"))
		k->data_sid = f->stream_id;
	else if (!strcmp(type, "error"))
		k->err_sid = f->stream_id;
	if (k->data_sid && k->err_sid && k->fd < 0 && !k->done) {
		if (!k->port)
			conn_error(s, k, "invalid port");
		else
			conn_open(s, k);
	}
out:
	buf_fini(&blk);
	buf_fini(&out);
}

/* Parses s->spdy. Returns -1 at GOAWAY or a protocol error. */
static int on_spdy(struct pf *s)
{
	for (;;) {
		struct spdy_frame f;
		int rc;
		const uint8_t *pl = node__spdy_next(&s->spdy, MAX_FRAME, &f, &rc);
		if (!pl)
			return rc;
		if (!f.control) {
			struct pfconn *k = conn_by_sid(s, f.stream_id);
			if (k && !k->done && !k->client_fin)
				buf_append(&k->out, pl, f.length);
			if (k && (f.flags & SPDY_FLAG_FIN))
				k->client_fin = true;
		} else if (f.type == SPDY_SYN_STREAM) {
			on_syn(s, &f, pl);
		} else if (f.type == SPDY_RST_STREAM) {
			struct pfconn *k = conn_by_sid(s, f.stream_id);
			if (k)
				k->done = true;
		} else if (f.type == SPDY_PING) {
			struct buf out;
			buf_init(&out);
			node__spdy_pong(&out, pl);
			pf_write(s, &out);
			buf_fini(&out);
		} else if (f.type == SPDY_GOAWAY) {
			return -1;
		}
		buf_consume(&s->spdy, 8 + (size_t)f.length);
		if (s->broken)
			return -1;
	}
}

/* Tunnel: WebSocket frames in s->rx to SPDY bytes in s->spdy. */
static int on_ws(struct pf *s)
{
	for (;;) {
		struct ws_frame f;
		int rc;
		uint8_t *pl = node__ws_next(&s->rx, MAX_FRAME, &f, &rc);
		if (!pl)
			return rc;
		size_t n = (size_t)f.payload_len;
		int end = 0;
		if (f.opcode == WS_OP_CLOSE) {
			end = -1;
		} else if (f.opcode == WS_OP_PING) {
			uint8_t h[14];
			size_t hl = ws_frame_head(h, WS_OP_PONG, n);
			if (!s->c) {
				/* node_pf_feed */
			} else if (http_conn_raw_write(s->c, (const char *)h, hl) < 0 ||
				   (n && http_conn_raw_write(s->c, (const char *)pl, n) < 0))
				s->broken = true;
		} else if (f.opcode == WS_OP_BINARY || f.opcode == WS_OP_CONT) {
			buf_append(&s->spdy, pl, n);
		}
		buf_consume(&s->rx, f.head_len + n);
		if (end < 0)
			return -1;
	}
}

static void conn_close(struct pfconn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	buf_fini(&k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* Moves bytes of one connection. Returns true when something happened. */
static bool conn_step(struct pf *s, struct pfconn *k, char *blk)
{
	bool progress = false;
	if (k->fd < 0)
		return false;
	while (k->out.len) {
		ssize_t w = send(k->fd, k->out.data, k->out.len, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOTCONN))
				break;
			k->out.len = 0;
			break;
		}
		buf_consume(&k->out, (size_t)w);
		progress = true;
	}
	if (k->client_fin && !k->out.len && !k->connected) {
		shutdown(k->fd, SHUT_WR);
		k->connected = true; /* reused: write side shut */
	}
	if (!k->sock_eof) {
		ssize_t r = recv(k->fd, blk, IO_BLOCK, 0);
		if (r > 0) {
			pf_data(s, k->data_sid, 0, blk, (size_t)r);
			progress = true;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR && errno != ENOTCONN)) {
			if (r < 0 && errno == ECONNREFUSED) {
				char m[160];
				snprintf(
				    m, sizeof(m),
				    "failed to connect to localhost:%d inside the pod's network namespace: %s",
				    k->port, strerror(errno));
				conn_error(s, k, m);
			} else {
				pf_data(s, k->data_sid, SPDY_FLAG_FIN, NULL, 0);
				pf_data(s, k->err_sid, SPDY_FLAG_FIN, NULL, 0);
			}
			k->sock_eof = true;
			progress = true;
		}
	}
	return progress;
}

static void run(struct pf *s)
{
	char *blk = xmalloc(IO_BLOCK);
	for (;;) {
		bool progress = false;
		size_t queued = 0;
		for (int i = 0; i < MAX_CONNS; i++)
			if (s->conns[i].used && s->conns[i].out.len > queued)
				queued = s->conns[i].out.len;
		if (queued < OUT_MAX) {
			buf_reserve(&s->rx, IO_BLOCK);
			ssize_t r =
			    http_conn_raw_read(s->c, s->rx.data + s->rx.len, s->rx.cap - s->rx.len - 1, 0);
			if (r > 0) {
				s->rx.len += (size_t)r;
				progress = true;
				if (s->tunnel) {
					if (on_ws(s) < 0)
						break;
				} else {
					buf_append(&s->spdy, s->rx.data, s->rx.len);
					s->rx.len = 0;
				}
				if (on_spdy(s) < 0)
					break;
			} else if (r != -EAGAIN) {
				break;
			}
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct pfconn *k = &s->conns[i];
			if (!k->used)
				continue;
			if (conn_step(s, k, blk))
				progress = true;
			if (k->done || (k->sock_eof && k->client_fin))
				conn_close(k);
		}
		if (s->broken)
			break;
		if (progress)
			continue;
		struct pollfd pf[MAX_CONNS + 1];
		nfds_t n = 0;
		pf[n++] = (struct pollfd){.fd = http_conn_fd(s->c), .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++) {
			struct pfconn *k = &s->conns[i];
			if (k->used && k->fd >= 0)
				pf[n++] = (struct pollfd){.fd = k->fd,
							  .events = (short)((k->sock_eof ? 0 : POLLIN) |
									    (k->out.len ? POLLOUT : 0))};
		}
		poll(pf, n, 1000);
	}
	free(blk);
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].used)
			conn_close(&s->conns[i]);
}

static void pf_bufs_init(struct pf *s)
{
	buf_init(&s->rx);
	buf_init(&s->spdy);
	spdy_inflate_init(&s->zin);
	spdy_deflate_init(&s->zout);
	for (int i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
}

static void pf_bufs_fini(struct pf *s)
{
	buf_fini(&s->rx);
	buf_fini(&s->spdy);
	spdy_inflate_fini(&s->zin);
	spdy_deflate_fini(&s->zout);
}

int node_pf_feed(bool tunnel, const uint8_t *p, size_t n)
{
	struct pf *s = xcalloc(1, sizeof(*s));
	int rc = 0;

	s->tunnel = tunnel;
	s->netns_fd = s->self_ns = -1; /* a connection's socket fails (setns), as to a dead pod */
	pf_bufs_init(s);
	for (size_t off = 0, k = 0; off < n && rc == 0; k++) {
		size_t step = k == 0 ? 1 : k == 1 ? 7 : 4096;
		if (step > n - off)
			step = n - off;
		if (tunnel) {
			buf_append(&s->rx, p + off, step);
			rc = on_ws(s) < 0 ? -1 : 0;
		} else {
			buf_append(&s->spdy, p + off, step);
		}
		off += step;
		if (rc == 0)
			rc = on_spdy(s) < 0 ? -1 : 0;
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].used)
			conn_close(&s->conns[i]);
	pf_bufs_fini(s);
	free(s);
	return rc;
}

void node_pf_serve(struct http_conn *c, struct http_req *r, const char *ns, const char *pod,
		   node_exec_lookup fn, void *ud)
{
	static const char tunnel_proto[] = "SPDY/3.1+portforward.k8s.io";
	const char *up = http_req_header(r, "Upgrade");
	const char *key = http_req_header(r, "Sec-WebSocket-Key");
	bool spdy = up && !strcasecmp(up, "SPDY/3.1");
	bool tunnel = up && !strcasecmp(up, "websocket") && key && strlen(key) <= 64 &&
		      node__ws_offered(http_req_header(r, "Sec-WebSocket-Protocol"), tunnel_proto);
	bool pf_proto = false;
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, "X-Stream-Protocol-Version") &&
		    !strcmp(r->headers[i].value, "portforward.k8s.io"))
			pf_proto = true;
	if (!tunnel && !(spdy && pf_proto))
		return send_text(c, 400,
				 "port-forward needs an upgrade to SPDY/3.1 (portforward.k8s.io) or to a "
				 "WebSocket with the subprotocol SPDY/3.1+portforward.k8s.io");
	struct node_exec_ctx x = {0};
	if (fn(ud, ns, pod, "", &x) < 0) {
		char *m = xasprintf("pod %s_%s has no running container (its network namespace)", pod, ns);
		send_text(c, 404, m);
		free(m);
		return;
	}
	struct pf *s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->tunnel = tunnel;
	s->netns_fd = (int)syscall(SYS_pidfd_open, x.pid, 0);
	s->self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	node_exec_ctx_fini(&x);
	if (s->netns_fd < 0 || s->self_ns < 0) {
		send_text(c, 500, "cannot reach the pod's network namespace");
		goto out;
	}
	int urc = node__stream_upgrade(c, tunnel ? key : NULL, tunnel ? tunnel_proto : "portforward.k8s.io");
	if (urc == 0) {
		pf_bufs_init(s);
		run(s);
		pf_bufs_fini(s);
	}
out:
	if (s->netns_fd >= 0)
		close(s->netns_fd);
	if (s->self_ns >= 0)
		close(s->self_ns);
	free(s);
}
