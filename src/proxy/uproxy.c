/* uproxy.c - the userspace Service proxy: listeners, per-core epoll loops, the TCP
 * splice relay with connect retry, UDP flows, and the nftables redirect table (see
 * uproxy.h for the design and the connection state machine).
 *
 * Ownership: the sync thread owns the registries (service states and listeners by key)
 * and builds each table; a table, a listener, a service state and a backend are
 * refcounted, because loops and their connections keep using them after a sync dropped
 * them. A loop frees its connections only after the epoll batch that closed them (an
 * event for the other socket of the same connection may follow in the batch), and takes
 * a new table only between batches for the same reason. */
#include "proxy/uproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/prom.h"
#include "base/vec.h"
#include "proxy/nft.h"
#include "proxy/sched.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */

/* A bulk direction's pipe: F_SETPIPE_SZ'd to 1 MiB (measured: ~20% less CPU per GB than
 * the default 64 KiB, fewer splice calls; bench/RESULTS.md). Only slots are allocated;
 * the pages in it are the socket buffers' own, referenced while in flight. If the
 * kernel refuses the size (pipe-user-pages limits), the pipe keeps its 64 KiB: splice
 * moves what fits. */
#define PIPE_CAP (1024 * 1024)
#define PIPE_POOL 64 /* drained pipes a loop keeps for reuse */
#define FLOW_BUCKETS 4096
#define FLOWS_MAX 65536 /* per loop */
#define AFF_CAP 65536	/* ClientIP entries per service port */
#define BATCH 64	/* accepts or datagrams per listener event */
#define STASH_CAP 65536 /* bytes a direction holds before its source is read again */
#define CONN_FREE 1024	/* freed connection structs a loop keeps for reuse */

/* ---- intrusive list ---------------------------------------------------------------- */

struct ulink {
	struct ulink *prev, *next;
};

static void ul_init(struct ulink *h)
{
	h->prev = h->next = h;
}
static void ul_del(struct ulink *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}
static void ul_append(struct ulink *h, struct ulink *e)
{
	e->prev = h->prev;
	e->next = h;
	h->prev->next = e;
	h->prev = e;
}
#define UL_ENTRY(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

/* ---- shared state: backends, service states, listeners, tables -------------------- */

enum tag_type { T_WAKE, T_LISTEN, T_CLIENT, T_BACKEND, T_FLOW };

struct tag {
	enum tag_type type;
	void *p;
};

struct ubackend {
	atomic_int refs;
	struct ip_addr ip;
	uint16_t port;
	atomic_uint active; /* connections and flows now using it (lc, sed, nq) */
	atomic_bool gone;   /* left every set of its service: UDP flows choose again */
};

struct uset {
	struct ubackend **b;
	struct proxy_sched_dest *d;
	size_t n;
	struct proxy_sched s;
};

struct usvc {
	atomic_int refs;
	char *key; /* ns/name/port_name/family/proto */
	int family, proto;
	pthread_mutex_t mu; /* guards everything below */
	enum proxy_sched_kind kind;
	struct uset cl, ex; /* cluster traffic; external traffic (node-local for etp Local) */
	int64_t aff_ms;	    /* ClientIP timeout, 0 = no affinity */
	struct proxy_sched_aff aff;
	bool seen; /* sync bookkeeping (sync thread only) */
};

struct ulistener {
	atomic_int refs;
	char *key; /* service key + "|cl", "|ex" or "|np<port>" */
	struct usvc *svc;
	bool external, nodeport, seen;
	bool shared; /* TCP: one socket, fd[i] all the same, in every loop's epoll */
	bool defer;  /* TCP_DEFER_ACCEPT set: the port's protocol has the client speak first */
	int family, proto;
	uint16_t port;
	int nfd;
	int fd[UPROXY_MAX_LOOPS];
	struct tag tag[UPROXY_MAX_LOOPS];
};

struct utable {
	atomic_int refs;
	struct ulistener **l;
	size_t n;
};

/* ---- per loop -------------------------------------------------------------------- */

/* One direction of a connection. Bytes move by copy through the loop's buffer (short
 * messages: one recv and one send, no pipe) until a read fills that buffer; from then on
 * the direction is bulk and splices through a pipe. Bytes the destination did not take
 * wait in st (copied) or the pipe, and the source is not read until they are written. */
struct half {
	int p[2]; /* -1 when no pipe is held */
	size_t inpipe;
	struct buf st; /* copied bytes not yet written: st.data[soff, st.len); freed when none */
	size_t soff;
	bool rd;   /* the source may have bytes: read until it says EAGAIN (edge-triggered) */
	bool fin;  /* the source's FIN is in (EPOLLRDHUP): read to EOF, write with MSG_MORE */
	bool bulk; /* a read filled the buffer: splice from now on */
	bool eof, shut;
};

enum conn_state { C_CONNECTING, C_RELAY };

struct uconn {
	struct tag tc, tb;
	struct ulink link; /* in connecting (by deadline), idle (by last activity), dead or free */
	struct ulistener *l;
	struct ubackend *be;
	struct ubackend *tried[8];
	int ntried;
	int cfd, bfd;
	enum conn_state state;
	bool dead;
	struct half up, down; /* client -> backend, backend -> client */
	int64_t t_ms;	      /* connect deadline, or last activity */
	struct ip_addr src, dst;
};

struct uflow {
	struct tag t;
	struct ulink link; /* idle order */
	struct uflow *hnext;
	struct ulistener *l;
	struct ubackend *be;
	int fd;
	bool refused;
	struct sockaddr_storage client;
	socklen_t clen;
	struct ip_addr local; /* where the client sent to: replies come from there */
	int64_t t_ms;
};

struct uloop {
	struct uproxy *u;
	int idx;
	pthread_t th;
	bool started;
	int ep, efd;
	struct tag wake;
	struct utable *tab;
	struct ulink connecting, idle, flows_idle, dead;
	struct ulink free; /* freed connections kept for reuse, at most CONN_FREE */
	size_t nfree;
	struct uflow *flows[FLOW_BUCKETS];
	size_t nflows;
	int pool[PIPE_POOL][2];
	size_t npool;
	int64_t now;
	int64_t paused_until; /* accepts stopped (out of descriptors) until then; 0 = not */
	char buf[65536];
};

struct uproxy {
	struct uproxy_config c;
	char *table;
	int nloops;
	struct uloop loops[UPROXY_MAX_LOOPS];
	atomic_int stop;
	pthread_mutex_t mu; /* guards cur */
	struct utable *cur;
	/* sync thread only */
	VEC(struct usvc *) svcs;
	VEC(struct ulistener *) ls;
	struct proxy_nft *nft;
	bool nft_made;
	json_t *warned; /* "ns/name" -> bad annotation value already reported */
	/* counters */
	atomic_ullong conns, retries, resets, flows, active, flows_active;
};

static void backend_unref(struct ubackend *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

static void set_clear(struct uset *st)
{
	for (size_t i = 0; i < st->n; i++)
		backend_unref(st->b[i]);
	free(st->b);
	free(st->d);
	st->b = NULL;
	st->d = NULL;
	st->n = 0;
}

static void svc_unref(struct usvc *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	set_clear(&s->cl);
	set_clear(&s->ex);
	proxy_sched_fini(&s->cl.s);
	proxy_sched_fini(&s->ex.s);
	proxy_sched_aff_fini(&s->aff);
	pthread_mutex_destroy(&s->mu);
	free(s->key);
	free(s);
}

static void listener_unref(struct ulistener *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (int i = 0; i < (l->shared ? 1 : l->nfd); i++)
		if (l->fd[i] >= 0)
			close(l->fd[i]);
	svc_unref(l->svc);
	free(l->key);
	free(l);
}

static void table_unref(struct utable *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (size_t i = 0; i < t->n; i++)
		listener_unref(t->l[i]);
	free(t->l);
	free(t);
}

/* Picks a backend for a new connection or flow from src (to dst) and takes a reference
 * and an active count on it; tried (n) are skipped. NULL when the set has none left. */
static struct ubackend *choose(struct usvc *s, bool external, const struct ip_addr *src,
			       const struct ip_addr *dst, struct ubackend *const *tried, int ntried,
			       int64_t now)
{
	struct ubackend *be = NULL;
	pthread_mutex_lock(&s->mu);
	struct uset *st = external ? &s->ex : &s->cl;
	bool stack[256], *skip = st->n <= 256 ? stack : xcalloc(st->n, sizeof(bool));
	bool any_skip = false;
	for (size_t i = 0; i < st->n; i++) {
		skip[i] = false;
		for (int k = 0; k < ntried; k++)
			skip[i] = skip[i] || tried[k] == st->b[i];
		any_skip = any_skip || skip[i];
		st->d[i].active = atomic_load(&st->b[i]->active);
	}
	if (s->aff_ms) {
		struct ip_addr ip;
		uint16_t port;
		if (proxy_sched_aff_get(&s->aff, src, now, &ip, &port))
			for (size_t i = 0; i < st->n && !be; i++)
				if (!skip[i] && st->b[i]->port == port && !ip_cmp(&st->b[i]->ip, &ip))
					be = st->b[i];
	}
	if (!be) {
		int k = proxy_sched_pick(&st->s, st->d, st->n, src, dst, any_skip ? skip : NULL);
		if (k >= 0)
			be = st->b[k];
	}
	if (be) {
		atomic_fetch_add(&be->refs, 1);
		atomic_fetch_add(&be->active, 1);
		if (s->aff_ms)
			proxy_sched_aff_put(&s->aff, src, &be->ip, be->port, now, s->aff_ms);
	}
	pthread_mutex_unlock(&s->mu);
	if (skip != stack)
		free(skip);
	return be;
}

static void release(struct ubackend *be)
{
	if (!be)
		return;
	atomic_fetch_sub(&be->active, 1);
	backend_unref(be);
}

/* ---- addresses -------------------------------------------------------------------- */

static void ss_to_ip(const struct sockaddr_storage *ss, struct ip_addr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (ss->ss_family == AF_INET) {
		ip->family = 4;
		memcpy(ip->b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			ip->family = 4;
			memcpy(ip->b, &a->s6_addr[12], 4);
		} else {
			ip->family = 6;
			memcpy(ip->b, a, 16);
		}
	}
}

static socklen_t ip_to_ss(const struct ip_addr *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		memcpy(&a->sin_addr, ip->b, 4);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	memcpy(&a->sin6_addr, ip->b, 16);
	return sizeof(*a);
}

/* ---- TCP -------------------------------------------------------------------------- */

static void pipe_put(struct uloop *lp, int p[2])
{
	if (lp->npool < PIPE_POOL) {
		lp->pool[lp->npool][0] = p[0];
		lp->pool[lp->npool][1] = p[1];
		lp->npool++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

static int pipe_get(struct uloop *lp, int p[2])
{
	if (lp->npool) {
		lp->npool--;
		p[0] = lp->pool[lp->npool][0];
		p[1] = lp->pool[lp->npool][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[1], F_SETPIPE_SZ, PIPE_CAP) < 0) {
		/* stays at the default size */
	}
	return 0;
}

static void conn_close(struct uloop *lp, struct uconn *c, bool reset)
{
	if (c->dead)
		return;
	c->dead = true;
	if (reset && c->cfd >= 0) {
		struct linger lg = {1, 0};
		setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		atomic_fetch_add(&lp->u->resets, 1);
	}
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->bfd >= 0) {
		if (reset) {
			struct linger lg = {1, 0};
			setsockopt(c->bfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c->bfd);
	}
	c->cfd = c->bfd = -1;
	/* A half with data in its pipe: the pipe goes, not to the pool. */
	struct half *hs[2] = {&c->up, &c->down};
	for (int i = 0; i < 2; i++) {
		buf_fini(&hs[i]->st);
		if (hs[i]->p[0] < 0)
			continue;
		if (hs[i]->inpipe) {
			close(hs[i]->p[0]);
			close(hs[i]->p[1]);
		} else {
			pipe_put(lp, hs[i]->p);
		}
	}
	ul_del(&c->link);
	ul_append(&lp->dead, &c->link);
	atomic_fetch_sub(&lp->u->active, 1);
}

/* Drops c's references; keeps the struct for the next accept while the loop holds fewer
 * than CONN_FREE. */
static void conn_free(struct uloop *lp, struct uconn *c)
{
	release(c->be);
	for (int i = 0; i < c->ntried; i++)
		backend_unref(c->tried[i]);
	listener_unref(c->l);
	if (lp->nfree < CONN_FREE) {
		ul_append(&lp->free, &c->link);
		lp->nfree++;
	} else {
		free(c);
	}
}

/* A zeroed connection struct, from the loop's free list when it has one. */
static struct uconn *conn_alloc(struct uloop *lp)
{
	if (lp->free.next == &lp->free)
		return xcalloc(1, sizeof(struct uconn));
	struct uconn *c = UL_ENTRY(lp->free.next, struct uconn, link);
	ul_del(&c->link);
	lp->nfree--;
	memset(c, 0, sizeof(*c));
	return c;
}

/* The bytes h keeps for the destination. */
static size_t kept(const struct half *h)
{
	return h->st.len - h->soff;
}

/* Keeps n bytes at p that the destination did not take (after those already kept). */
static void stash_add(struct half *h, const char *p, size_t n)
{
	buf_consume(&h->st, h->soff);
	h->soff = 0;
	buf_append(&h->st, p, n);
}

enum { PUMP_BLOCKED = 1, PUMP_ERR_RD = -1, PUMP_ERR_WR = -2 };

/* Writes what h holds (kept bytes, then the pipe) to fd to: 0 when all is written,
 * PUMP_BLOCKED when fd takes no more now (its EPOLLOUT edge will come), PUMP_ERR_WR. */
static int half_flush(struct half *h, int to)
{
	if (kept(h)) {
		ssize_t n = send(to, h->st.data + h->soff, kept(h), MSG_NOSIGNAL | (h->fin ? MSG_MORE : 0));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? PUMP_BLOCKED : PUMP_ERR_WR;
		h->soff += (size_t)n;
		if (kept(h))
			return PUMP_BLOCKED;
		buf_fini(&h->st);
		h->soff = 0;
	}
	if (h->inpipe) {
		ssize_t n = splice(h->p[0], NULL, to, NULL, h->inpipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (h->fin ? SPLICE_F_MORE : 0));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? PUMP_BLOCKED : PUMP_ERR_WR;
		h->inpipe -= (size_t)n;
		if (h->inpipe)
			return PUMP_BLOCKED;
	}
	return 0;
}

/* Moves what it can one way: 0, PUMP_ERR_RD (the source failed) or PUMP_ERR_WR (the
 * destination did). Until connected, only reads the source into h (up to STASH_CAP) and
 * passes no EOF. other is the opposite direction: when it is already shut, this EOF ends
 * the connection and the close that follows says it, so no shutdown is sent. A short
 * read means the socket is drained (TCP), so no read is spent on EAGAIN; with the FIN in
 * (EPOLLRDHUP), a short read is the end (no read spent on the 0), and writes carry
 * MSG_MORE so the data leaves in the FIN's segment. */
static int half_pump(struct uloop *lp, struct half *h, const struct half *other, int from, int to,
		     bool connected)
{
	for (;;) {
		if (connected) {
			int r = half_flush(h, to);
			if (r < 0)
				return r;
			if (r == PUMP_BLOCKED)
				break;
		} else if (kept(h) >= STASH_CAP) {
			break;
		}
		if (h->eof || !h->rd)
			break;
		if (h->bulk && connected) {
			if (h->p[0] < 0 && pipe_get(lp, h->p) < 0)
				return PUMP_ERR_RD;
			ssize_t n =
			    splice(from, NULL, h->p[1], NULL, PIPE_CAP, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				h->inpipe = (size_t)n;
			else if (n == 0)
				h->eof = true;
			else if (errno == EAGAIN)
				h->rd = false;
			else if (errno != EINTR)
				return PUMP_ERR_RD;
			continue;
		}
		size_t cap = connected ? sizeof(lp->buf) : STASH_CAP - kept(h);
		ssize_t n = recv(from, lp->buf, cap, 0);
		if (n == 0) {
			h->eof = true;
			continue;
		}
		if (n < 0) {
			if (errno == EAGAIN) {
				h->rd = false;
				break;
			}
			if (errno == EINTR)
				continue;
			return PUMP_ERR_RD;
		}
		if ((size_t)n == sizeof(lp->buf) && connected)
			h->bulk = true;
		else if ((size_t)n < cap && h->fin)
			h->eof = true; /* drained, and nothing follows a FIN: no read for the 0 */
		else if ((size_t)n < cap)
			h->rd = false;
		size_t off = 0;
		if (connected) {
			ssize_t m = send(to, lp->buf, (size_t)n, MSG_NOSIGNAL | (h->fin ? MSG_MORE : 0));
			if (m < 0 && errno != EAGAIN && errno != EINTR)
				return PUMP_ERR_WR;
			off = m > 0 ? (size_t)m : 0;
		}
		if (off < (size_t)n)
			stash_add(h, lp->buf + off, (size_t)n - off);
	}
	if (!h->inpipe && h->p[0] >= 0)
		pipe_put(lp, h->p);
	if (connected && h->eof && !h->inpipe && !kept(h) && !h->shut) {
		if (!other->shut)
			shutdown(to, SHUT_WR);
		h->shut = true;
	}
	return 0;
}

/* Every socket of a connection is registered once, for both directions: a writability
 * edge comes only after a write found the buffer full (SOCK_NOSPACE), not per ACK. */
#define EV_CONN (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

static void conn_retry(struct uloop *lp, struct uconn *c);

/* Moves bytes both ways (while connecting: reads the client only). */
static void conn_pump(struct uloop *lp, struct uconn *c)
{
	if (c->state == C_CONNECTING) {
		if (half_pump(lp, &c->up, &c->down, c->cfd, c->bfd, false) < 0)
			conn_close(lp, c, true);
		return;
	}
	if (half_pump(lp, &c->up, &c->down, c->cfd, c->bfd, true) < 0 ||
	    half_pump(lp, &c->down, &c->up, c->bfd, c->cfd, true) < 0) {
		conn_close(lp, c, true);
		return;
	}
	if (c->up.shut && c->down.shut) {
		conn_close(lp, c, false);
		return;
	}
	c->t_ms = lp->now;
	ul_del(&c->link);
	ul_append(&lp->idle, &c->link);
}

static void conn_relay(struct uloop *lp, struct uconn *c)
{
	c->state = C_RELAY;
	conn_pump(lp, c);
}

/* Connects to the next backend; resets the client when none is left. The connect is
 * not waited for: bytes the client already sent are written at once, which succeeds
 * when the handshake completed inside connect() (a backend on this host: loopback or
 * veth), saving a round through epoll; otherwise its EPOLLOUT edge says when. */
static void conn_try(struct uloop *lp, struct uconn *c)
{
	struct uproxy *u = lp->u;
	for (;;) {
		int max = u->c.tries < 8 ? u->c.tries : 8;
		struct ubackend *be = c->ntried < max ? choose(c->l->svc, c->l->external, &c->src, &c->dst,
							       c->tried, c->ntried, lp->now)
						      : NULL;
		if (!be) {
			conn_close(lp, c, true);
			return;
		}
		c->be = be;
		struct sockaddr_storage ss;
		socklen_t sl = ip_to_ss(&be->ip, be->port, &ss);
		c->bfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->bfd < 0) {
			conn_close(lp, c, true);
			return;
		}
		int one = 1;
		setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* With bytes to send, the handshake's last ACK waits for them and leaves in
		 * their segment (TCP_DEFER_ACCEPT on a connecting socket): one packet less. */
		if (kept(&c->up))
			setsockopt(c->bfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
		int rc = connect(c->bfd, (struct sockaddr *)&ss, sl);
		if (rc == 0 || errno == EINPROGRESS) {
			struct epoll_event ev = {.events = EV_CONN, .data.ptr = &c->tb};
			if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, c->bfd, &ev) < 0) {
				conn_close(lp, c, true);
				return;
			}
			c->state = C_CONNECTING;
			c->t_ms = lp->now + u->c.connect_timeout_ms;
			ul_del(&c->link);
			ul_append(&lp->connecting, &c->link);
			if (rc == 0) {
				conn_relay(lp, c);
				return;
			}
			if (!kept(&c->up))
				return;
			size_t had = kept(&c->up);
			int r = half_flush(&c->up, c->bfd);
			if (r == 0 || kept(&c->up) < had) {
				conn_relay(lp, c);
				return;
			}
			if (r == PUMP_BLOCKED)
				return;
			conn_retry(lp, c); /* refused during connect(): the next one */
			return;
		}
		/* Refused at once: the next one. */
		close(c->bfd);
		c->bfd = -1;
		c->tried[c->ntried++] = c->be; /* keeps the reference */
		atomic_fetch_sub(&c->be->active, 1);
		c->be = NULL;
		atomic_fetch_add(&u->retries, 1);
	}
}

/* The current backend failed (refused, unreachable, timed out): try another. Bytes
 * read from the client are still held (none reached a backend before it connected). */
static void conn_retry(struct uloop *lp, struct uconn *c)
{
	close(c->bfd); /* leaves the epoll set with it */
	c->bfd = -1;
	c->tried[c->ntried++] = c->be;
	atomic_fetch_sub(&c->be->active, 1);
	c->be = NULL;
	atomic_fetch_add(&lp->u->retries, 1);
	conn_try(lp, c);
}

/* Out of descriptors: a level-triggered listener would wake the loop at once, forever.
 * Its TCP listeners leave the epoll set for 100 ms (the kernel queues what arrives, up to
 * the backlog); expire() brings them back. */
static void pause_accepts(struct uloop *lp, int err)
{
	if (lp->paused_until)
		return;
	log_warn("uproxy: loop %d: accept: %s; pausing accepts for 100 ms", lp->idx, strerror(err));
	lp->paused_until = lp->now + 100;
	for (size_t i = 0; lp->tab && i < lp->tab->n; i++)
		if (lp->tab->l[i]->proto == IPPROTO_TCP)
			epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->tab->l[i]->fd[lp->idx], NULL);
}

/* Adds lp's socket of l to lp's epoll (level-triggered; exclusive for a shared one). */
static int listener_watch(struct uloop *lp, struct ulistener *l)
{
	struct epoll_event ev = {.events = EPOLLIN | (l->shared ? EPOLLEXCLUSIVE : 0),
				 .data.ptr = &l->tag[lp->idx]};
	return epoll_ctl(lp->ep, EPOLL_CTL_ADD, l->fd[lp->idx], &ev);
}

static void resume_accepts(struct uloop *lp)
{
	lp->paused_until = 0;
	for (size_t i = 0; lp->tab && i < lp->tab->n; i++)
		if (lp->tab->l[i]->proto == IPPROTO_TCP)
			listener_watch(lp, lp->tab->l[i]);
}

static void on_accept(struct uloop *lp, struct ulistener *l)
{
	int lfd = l->fd[lp->idx];
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accepts(lp, errno);
			return;
		}
		struct uconn *c = conn_alloc(lp);
		c->tc = (struct tag){T_CLIENT, c};
		c->tb = (struct tag){T_BACKEND, c};
		c->cfd = cfd;
		c->bfd = -1;
		c->up.p[0] = c->up.p[1] = c->down.p[0] = c->down.p[1] = -1;
		ul_init(&c->link);
		atomic_fetch_add(&l->refs, 1);
		c->l = l;
		ss_to_ip(&ss, &c->src);
		atomic_fetch_add(&lp->u->conns, 1);
		atomic_fetch_add(&lp->u->active, 1);
		if (l->svc->kind == PSCHED_DH) {
			/* dh hashes the address the client asked for: the cluster IP before
			 * the redirect, the node's address for a node port. */
			struct sockaddr_storage d;
			socklen_t dl = sizeof(d);
			int r = l->nodeport
				    ? getsockname(cfd, (struct sockaddr *)&d, &dl)
				    : getsockopt(cfd, l->family == 4 ? SOL_IP : SOL_IPV6,
						 l->family == 4 ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST, &d,
						 &dl);
			if (r == 0)
				ss_to_ip(&d, &c->dst);
		}
		/* What the client sent already (a request usually follows the handshake at
		 * once) is read before connecting, so it can go out with the connect. */
		c->up.rd = true;
		struct epoll_event ev = {.events = EV_CONN, .data.ptr = &c->tc};
		c->state = C_CONNECTING;
		if (half_pump(lp, &c->up, &c->down, cfd, -1, false) < 0 ||
		    epoll_ctl(lp->ep, EPOLL_CTL_ADD, cfd, &ev) < 0) {
			ul_append(&lp->idle, &c->link);
			conn_close(lp, c, true);
			continue;
		}
		conn_try(lp, c);
	}
}

static void on_backend(struct uloop *lp, struct uconn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->down.rd = true;
	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->down.fin = true;
	if (c->state == C_RELAY) {
		conn_pump(lp, c);
		return;
	}
	if ((events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) {
		conn_relay(lp, c);
		return;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err || (events & (EPOLLERR | EPOLLHUP))) {
		c->down.rd = c->down.fin = false;
		conn_retry(lp, c);
	}
}

/* ---- UDP -------------------------------------------------------------------------- */

static size_t flow_hash(const struct ulistener *l, const struct sockaddr_storage *ss, socklen_t sl)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)l;
	const unsigned char *p = (const unsigned char *)ss;
	for (socklen_t i = 0; i < sl; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29)) & (FLOW_BUCKETS - 1);
}

static void flow_free(struct uloop *lp, struct uflow *f)
{
	size_t b = flow_hash(f->l, &f->client, f->clen);
	for (struct uflow **pp = &lp->flows[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	ul_del(&f->link);
	if (f->fd >= 0)
		close(f->fd);
	release(f->be);
	listener_unref(f->l);
	lp->nflows--;
	atomic_fetch_sub(&lp->u->flows_active, 1);
	free(f);
}

/* Gives f a backend and a connected socket to it; -1 when none is left. */
static int flow_connect(struct uloop *lp, struct uflow *f)
{
	struct ip_addr src;
	ss_to_ip(&f->client, &src);
	struct ubackend *tried[1] = {f->be};
	struct ubackend *be =
	    choose(f->l->svc, f->l->external, &src, &f->local, tried, f->be && f->refused ? 1 : 0, lp->now);
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	release(f->be);
	f->be = be;
	f->refused = false;
	if (!be)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl = ip_to_ss(&be->ip, be->port, &ss);
	f->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &f->t};
	if (f->fd >= 0 && connect(f->fd, (struct sockaddr *)&ss, sl) == 0 &&
	    epoll_ctl(lp->ep, EPOLL_CTL_ADD, f->fd, &ev) == 0)
		return 0;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	release(f->be);
	f->be = NULL;
	return -1;
}

static void on_datagram(struct uloop *lp, struct ulistener *l)
{
	int lfd = l->fd[lp->idx];
	for (int k = 0; k < BATCH; k++) {
		struct sockaddr_storage ss;
		char cbuf[256];
		struct iovec iov = {lp->buf, sizeof(lp->buf)};
		struct msghdr mh = {.msg_name = &ss,
				    .msg_namelen = sizeof(ss),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(lfd, &mh, 0);
		if (n < 0)
			return;
		struct ip_addr local = {.family = l->family};
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				memcpy(local.b, &pi.ipi_addr, 4);
			} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				memcpy(local.b, &pi.ipi6_addr, 16);
			}
		}
		size_t b = flow_hash(l, &ss, mh.msg_namelen);
		struct uflow *f = lp->flows[b];
		while (f && !(f->l == l && f->clen == mh.msg_namelen && !memcmp(&f->client, &ss, f->clen)))
			f = f->hnext;
		if (!f) {
			if (lp->nflows >= FLOWS_MAX)
				continue; /* dropped: the client retries */
			f = xcalloc(1, sizeof(*f));
			f->t = (struct tag){T_FLOW, f};
			f->fd = -1;
			f->client = ss;
			f->clen = mh.msg_namelen;
			f->local = local;
			atomic_fetch_add(&l->refs, 1);
			f->l = l;
			ul_init(&f->link);
			f->hnext = lp->flows[b];
			lp->flows[b] = f;
			lp->nflows++;
			atomic_fetch_add(&lp->u->flows, 1);
			atomic_fetch_add(&lp->u->flows_active, 1);
		}
		f->t_ms = lp->now;
		ul_del(&f->link);
		ul_append(&lp->flows_idle, &f->link);
		if ((!f->be || f->refused || atomic_load(&f->be->gone)) && flow_connect(lp, f) < 0)
			continue; /* no backend: dropped, as the kernel modes do */
		if (send(f->fd, lp->buf, (size_t)n, 0) < 0 && errno == ECONNREFUSED) {
			/* An ICMP error from an earlier datagram: choose again, send once more. */
			f->refused = true;
			if (flow_connect(lp, f) == 0 && send(f->fd, lp->buf, (size_t)n, 0) < 0)
				f->refused = errno == ECONNREFUSED;
		}
	}
}

/* Puts the one control message (level, type, len bytes of data) in mh's control buffer,
 * which has room for it. */
static void cmsg_set(struct msghdr *mh, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *cm = (struct cmsghdr *)mh->msg_control;
	mh->msg_controllen = CMSG_SPACE(len);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

static void on_flow(struct uloop *lp, struct uflow *f)
{
	int lfd = f->l->fd[lp->idx];
	for (int k = 0; k < BATCH; k++) {
		ssize_t n = recv(f->fd, lp->buf, sizeof(lp->buf), 0);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				f->refused = true;
			return;
		}
		char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		memset(cbuf, 0, sizeof(cbuf));
		struct iovec iov = {lp->buf, (size_t)n};
		struct msghdr mh = {.msg_name = &f->client,
				    .msg_namelen = f->clen,
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf};
		if (f->local.family == 4) {
			struct in_pktinfo pi = {0};
			memcpy(&pi.ipi_spec_dst, f->local.b, 4);
			cmsg_set(&mh, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = {0};
			memcpy(&pi.ipi6_addr, f->local.b, 16);
			cmsg_set(&mh, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
		}
		if (sendmsg(lfd, &mh, 0) < 0) {
			/* the client is gone or the buffer full: UDP may lose it */
		}
		f->t_ms = lp->now;
		ul_del(&f->link);
		ul_append(&lp->flows_idle, &f->link);
	}
}

/* ---- the loop --------------------------------------------------------------------- */

static bool in_table(const struct utable *t, const struct ulistener *l)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->l[i] == l)
			return true;
	return false;
}

static void take_table(struct uloop *lp)
{
	uint64_t v;
	if (read(lp->efd, &v, sizeof(v)) < 0) {
		/* spurious wake */
	}
	struct uproxy *u = lp->u;
	pthread_mutex_lock(&u->mu);
	struct utable *t = u->cur;
	if (t)
		atomic_fetch_add(&t->refs, 1);
	pthread_mutex_unlock(&u->mu);
	if (t == lp->tab) {
		table_unref(t);
		return;
	}
	for (size_t i = 0; lp->tab && i < lp->tab->n; i++)
		if (!in_table(t, lp->tab->l[i]))
			epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->tab->l[i]->fd[lp->idx], NULL);
	for (size_t i = 0; t && i < t->n; i++) {
		struct ulistener *l = t->l[i];
		if (in_table(lp->tab, l) || l->fd[lp->idx] < 0)
			continue;
		if (listener_watch(lp, l) < 0)
			log_warn("uproxy: loop %d: listening on port %u: %s", lp->idx, l->port,
				 strerror(errno));
	}
	table_unref(lp->tab);
	lp->tab = t;
}

static void expire(struct uloop *lp)
{
	struct uproxy *u = lp->u;
	if (lp->paused_until && lp->paused_until <= lp->now)
		resume_accepts(lp);
	while (lp->connecting.next != &lp->connecting) {
		struct uconn *c = UL_ENTRY(lp->connecting.next, struct uconn, link);
		if (c->t_ms > lp->now)
			break;
		conn_retry(lp, c); /* moves c off this list */
	}
	while (lp->idle.next != &lp->idle) {
		struct uconn *c = UL_ENTRY(lp->idle.next, struct uconn, link);
		if (c->t_ms + u->c.tcp_idle_ms > lp->now)
			break;
		conn_close(lp, c, true);
	}
	while (lp->flows_idle.next != &lp->flows_idle) {
		struct uflow *f = UL_ENTRY(lp->flows_idle.next, struct uflow, link);
		if (f->t_ms + u->c.udp_idle_ms > lp->now)
			break;
		flow_free(lp, f);
	}
}

static void reap(struct uloop *lp)
{
	while (lp->dead.next != &lp->dead) {
		struct uconn *c = UL_ENTRY(lp->dead.next, struct uconn, link);
		ul_del(&c->link);
		conn_free(lp, c);
	}
}

static int next_timeout(struct uloop *lp)
{
	int64_t t = lp->now + 1000;
	if (lp->paused_until && lp->paused_until < t)
		t = lp->paused_until;
	if (lp->connecting.next != &lp->connecting) {
		int64_t d = UL_ENTRY(lp->connecting.next, struct uconn, link)->t_ms;
		if (d < t)
			t = d;
	}
	return t <= lp->now ? 0 : (int)(t - lp->now);
}

static void *loop_main(void *arg)
{
	struct uloop *lp = arg;
	struct epoll_event ev[128];
	/* splice(2) to a socket whose peer is gone raises SIGPIPE (send has MSG_NOSIGNAL,
	 * splice has no such flag): blocked in this thread, it stays pending, harmless. */
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	lp->now = clock_mono_ms();
	take_table(lp);
	while (!atomic_load(&lp->u->stop)) {
		int n = epoll_wait(lp->ep, ev, 128, next_timeout(lp));
		lp->now = clock_mono_ms();
		bool wake = false;
		for (int i = 0; i < n; i++) {
			struct tag *t = ev[i].data.ptr;
			switch (t->type) {
			case T_WAKE:
				wake = true;
				break;
			case T_LISTEN: {
				struct ulistener *l = t->p;
				if (l->proto == IPPROTO_TCP)
					on_accept(lp, l);
				else
					on_datagram(lp, l);
				break;
			}
			case T_CLIENT: {
				struct uconn *c = t->p;
				if (c->dead)
					break;
				if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->up.rd = true;
				if (ev[i].events & (EPOLLRDHUP | EPOLLHUP))
					c->up.fin = true;
				conn_pump(lp, c);
				break;
			}
			case T_BACKEND:
				on_backend(lp, t->p, ev[i].events);
				break;
			case T_FLOW:
				on_flow(lp, t->p);
				break;
			}
		}
		expire(lp);
		reap(lp);
		if (wake)
			take_table(lp);
	}
	return NULL;
}

static void loop_fini(struct uloop *lp)
{
	while (lp->connecting.next != &lp->connecting)
		conn_close(lp, UL_ENTRY(lp->connecting.next, struct uconn, link), true);
	while (lp->idle.next != &lp->idle)
		conn_close(lp, UL_ENTRY(lp->idle.next, struct uconn, link), true);
	reap(lp);
	while (lp->free.next != &lp->free) {
		struct ulink *e = lp->free.next;
		ul_del(e);
		free(UL_ENTRY(e, struct uconn, link));
	}
	while (lp->flows_idle.next != &lp->flows_idle)
		flow_free(lp, UL_ENTRY(lp->flows_idle.next, struct uflow, link));
	for (size_t i = 0; i < lp->npool; i++) {
		close(lp->pool[i][0]);
		close(lp->pool[i][1]);
	}
	table_unref(lp->tab);
	if (lp->ep >= 0)
		close(lp->ep);
	if (lp->efd >= 0)
		close(lp->efd);
}

/* ---- listeners ---------------------------------------------------------------------- */

/* One socket of a SO_REUSEPORT group on port (0 = any free one). */
static int listen_one(int family, int proto, uint16_t port)
{
	int af = family == 4 ? AF_INET : AF_INET6;
	int fd =
	    socket(af, (proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (af == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (proto == IPPROTO_TCP) /* accepted sockets inherit it: one call per listener */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (proto == IPPROTO_UDP) {
		if (af == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	struct sockaddr_storage ss;
	struct ip_addr any = {.family = family};
	socklen_t sl = ip_to_ss(&any, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || (proto == IPPROTO_TCP && listen(fd, 4096) < 0)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static struct ulistener *listener_new(struct uproxy *u, const char *key, struct usvc *s, bool external,
				      uint16_t nodeport)
{
	struct ulistener *l = xcalloc(1, sizeof(*l));
	atomic_init(&l->refs, 1);
	l->key = xstrdup(key);
	l->family = s->family;
	l->proto = s->proto;
	l->external = external;
	l->nodeport = nodeport != 0;
	l->nfd = u->nloops;
	for (int i = 0; i < UPROXY_MAX_LOOPS; i++) {
		l->fd[i] = -1;
		l->tag[i] = (struct tag){T_LISTEN, l};
	}
	atomic_fetch_add(&s->refs, 1);
	l->svc = s;
	uint16_t port = nodeport;
	/* TCP: one listening socket watched by every loop with EPOLLEXCLUSIVE, so a new
	 * connection wakes a loop that is waiting, never queues behind a busy or preempted
	 * one (per-loop SO_REUSEPORT sockets do: measured on a shared machine). UDP: one
	 * SO_REUSEPORT socket per loop, so a client's datagrams (hashed by 4-tuple) stay
	 * with its flow in one loop. */
	l->shared = s->proto == IPPROTO_TCP;
	for (int i = 0; i < (l->shared ? 1 : u->nloops); i++) {
		int fd = listen_one(s->family, s->proto, port);
		if (fd < 0) {
			log_warn("uproxy: %s: cannot listen on %s port %u: %s", key,
				 s->proto == IPPROTO_TCP ? "TCP" : "UDP", port, strerror(-fd));
			listener_unref(l);
			return NULL;
		}
		l->fd[i] = fd;
		if (!port) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			getsockname(fd, (struct sockaddr *)&ss, &sl);
			port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							     : ((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	for (int i = 1; l->shared && i < u->nloops; i++)
		l->fd[i] = l->fd[0];
	l->port = port;
	return l;
}

/* ---- sync ----------------------------------------------------------------------------- */

static struct ubackend *find_backend(struct usvc *s, const struct ip_addr *ip, uint16_t port)
{
	struct uset *sets[2] = {&s->cl, &s->ex};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sets[k]->n; i++)
			if (sets[k]->b[i]->port == port && !ip_cmp(&sets[k]->b[i]->ip, ip))
				return sets[k]->b[i];
	return NULL;
}

/* The new set from sp's endpoints idx[0..n): backends that stay keep their object (and
 * with it their active count), and one in both new sets is one object (also: the other
 * new set, already built, or NULL). Caller holds s->mu. */
static void set_build(struct usvc *s, struct uset *nw, const struct proxy_svcport *sp, const size_t *idx,
		      size_t n, const struct uset *also)
{
	nw->b = xcalloc(n ? n : 1, sizeof(*nw->b));
	nw->d = xcalloc(n ? n : 1, sizeof(*nw->d));
	nw->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct proxy_ep *e = &sp->eps[idx[i]];
		struct ubackend *b = find_backend(s, &e->ip, e->port);
		for (size_t j = 0; !b && also && j < also->n; j++)
			if (also->b[j]->port == e->port && !ip_cmp(&also->b[j]->ip, &e->ip))
				b = also->b[j];
		if (b) {
			atomic_fetch_add(&b->refs, 1);
		} else {
			b = xcalloc(1, sizeof(*b));
			atomic_init(&b->refs, 1);
			b->ip = e->ip;
			b->port = e->port;
		}
		atomic_store(&b->gone, false);
		nw->b[i] = b;
		nw->d[i].ip = e->ip;
		nw->d[i].port = e->port;
		nw->d[i].weight = 1;
	}
}

static bool set_same(const struct uset *a, const struct uset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->b[i] != b->b[i])
			return false;
	return true;
}

static void set_replace(struct uset *st, struct uset *nw)
{
	if (set_same(st, nw)) {
		set_clear(nw);
		return;
	}
	set_clear(st);
	st->b = nw->b;
	st->d = nw->d;
	st->n = nw->n;
	proxy_sched_update(&st->s, st->d, st->n);
}

static void svc_update(struct usvc *s, const struct proxy_svcport *sp, enum proxy_sched_kind kind)
{
	pthread_mutex_lock(&s->mu);
	if (kind != s->kind) {
		uint64_t seed = (uint64_t)clock_mono_ms() ^ (uint64_t)(uintptr_t)s;
		s->kind = kind;
		proxy_sched_fini(&s->cl.s);
		proxy_sched_fini(&s->ex.s);
		proxy_sched_init(&s->cl.s, kind, 0, seed);
		proxy_sched_init(&s->ex.s, kind, 0, seed * 31 + 7);
		proxy_sched_update(&s->cl.s, s->cl.d, s->cl.n);
		proxy_sched_update(&s->ex.s, s->ex.d, s->ex.n);
	}
	struct uset cl = {0}, ex = {0};
	set_build(s, &cl, sp, sp->cluster_eps, sp->n_cluster, NULL);
	if (sp->etp_local)
		set_build(s, &ex, sp, sp->local_eps, sp->n_local, &cl);
	else
		set_build(s, &ex, sp, sp->cluster_eps, sp->n_cluster, &cl);
	/* Backends in neither new set are gone for UDP flows. */
	struct uset *old[2] = {&s->cl, &s->ex};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < old[k]->n; i++) {
			struct ubackend *b = old[k]->b[i];
			bool stays = false;
			for (size_t j = 0; j < cl.n && !stays; j++)
				stays = cl.b[j] == b;
			for (size_t j = 0; j < ex.n && !stays; j++)
				stays = ex.b[j] == b;
			if (!stays)
				atomic_store(&b->gone, true);
		}
	set_replace(&s->cl, &cl);
	set_replace(&s->ex, &ex);
	int64_t aff = (int64_t)sp->affinity_s * 1000;
	if (aff != s->aff_ms) {
		proxy_sched_aff_fini(&s->aff);
		proxy_sched_aff_init(&s->aff, aff ? AFF_CAP : 16);
		s->aff_ms = aff;
	}
	pthread_mutex_unlock(&s->mu);
}

static struct usvc *svc_get(struct uproxy *u, const char *key, const struct proxy_svcport *sp)
{
	for (size_t i = 0; i < u->svcs.len; i++)
		if (!strcmp(u->svcs.v[i]->key, key))
			return u->svcs.v[i];
	struct usvc *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->key = xstrdup(key);
	s->family = sp->family;
	s->proto = sp->proto;
	pthread_mutex_init(&s->mu, NULL);
	s->kind = PSCHED_RR;
	proxy_sched_init(&s->cl.s, PSCHED_RR, 0, 1);
	proxy_sched_init(&s->ex.s, PSCHED_RR, 0, 2);
	proxy_sched_aff_init(&s->aff, 16);
	*vec_push(&u->svcs) = s;
	return s;
}

static struct ulistener *listener_get(struct uproxy *u, struct usvc *s, const char *kind, bool external,
				      uint16_t nodeport, bool defer)
{
	char *key = xasprintf("%s|%s", s->key, kind);
	struct ulistener *l = NULL;
	for (size_t i = 0; i < u->ls.len && !l; i++)
		if (!strcmp(u->ls.v[i]->key, key))
			l = u->ls.v[i];
	if (!l) {
		l = listener_new(u, key, s, external, nodeport);
		if (l) {
			*vec_push(&u->ls) = l;
		}
	}
	free(key);
	if (!l)
		return NULL;
	l->seen = true;
	if (l->proto == IPPROTO_TCP && l->defer != defer) {
		/* Seconds to wait for the first bytes: past it, the kernel accepts anyway
		 * (after one SYN-ACK retransmission), so a quiet client is late, never lost. */
		int secs = defer ? 1 : 0, bad = 0;
		for (int i = 0; i < (l->shared ? 1 : l->nfd); i++)
			bad |= setsockopt(l->fd[i], IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
		if (!bad)
			l->defer = defer;
	}
	return l;
}

/* The Service ns/name in services, or NULL. */
static const json_t *svc_find(const json_t *services, const char *ns, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(services, i, o)
	{
		json_t *md = json_object_get(o, "metadata");
		const char *n = json_string_value(json_object_get(md, "name"));
		const char *s = json_string_value(json_object_get(md, "namespace"));
		if (n && s && !strcmp(n, name) && !strcmp(s, ns))
			return o;
	}
	return NULL;
}

static const char *svc_annotation(const json_t *svc)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(svc, "metadata"), "annotations"), UPROXY_SCHED_ANNOTATION));
}

/* Whether the port sp of Service svc declares (spec.ports[].appProtocol) a protocol whose
 * client speaks first: HTTP in every form, TLS-wrapped HTTP, WebSocket, gRPC. Its
 * listeners then accept a connection only once its first bytes are in
 * (TCP_DEFER_ACCEPT), so the relay reads them, connects and sends them in one pass (one
 * wake-up, no empty read; measured: bench/RESULTS.md). A protocol whose server speaks
 * first (MySQL, SMTP) would wait about a second for that, so no other port gets it. */
static bool port_client_first(const json_t *svc, const struct proxy_svcport *sp)
{
	static const char *const first[] = {"http",
					    "https",
					    "http2",
					    "h2c",
					    "grpc",
					    "grpc-web",
					    "kubernetes.io/h2c",
					    "kubernetes.io/ws",
					    "kubernetes.io/wss",
					    "kubernetes.io/grpc"};
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(json_object_get(svc, "spec"), "ports"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		if (strcmp(name ? name : "", sp->port_name) || strcasecmp(proto ? proto : "TCP", "TCP"))
			continue;
		const char *ap = json_string_value(json_object_get(p, "appProtocol"));
		for (size_t k = 0; ap && k < sizeof(first) / sizeof(first[0]); k++)
			if (!strcasecmp(ap, first[k]))
				return true;
		return false;
	}
	return false;
}

static void elem(struct buf *b, int *n, const struct ip_addr *ip, int proto, uint16_t port, uint16_t to)
{
	char t[IP_STRLEN];
	buf_printf(b, "%s%s . %s . %u", (*n)++ ? ", " : "", ip_format(ip, t, sizeof(t)),
		   proto == IPPROTO_TCP ? "tcp" : "udp", port);
	if (to)
		buf_printf(b, " : %u", to);
}

static const char *NFT_BASE =
    "table inet %s {\n"
    "\tmap redir4 { type ipv4_addr . inet_proto . inet_service : inet_service; }\n"
    "\tmap redir6 { type ipv6_addr . inet_proto . inet_service : inet_service; }\n"
    "\tset noep4 { type ipv4_addr . inet_proto . inet_service; }\n"
    "\tset noep6 { type ipv6_addr . inet_proto . inet_service; }\n"
    "\tset fw4 { type ipv4_addr . inet_proto . inet_service; }\n"
    "\tset fw6 { type ipv6_addr . inet_proto . inet_service; }\n"
    "\tset fwallow4 { type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval; }\n"
    "\tset fwallow6 { type ipv6_addr . inet_proto . inet_service . ipv6_addr; flags interval; }\n"
    "\tchain firewall { type filter hook prerouting priority dstnat - 10; policy accept;\n"
    "\t\tmeta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @fw4 "
    "ip daddr . meta l4proto . th dport . ip saddr != @fwallow4 drop\n"
    "\t\tmeta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @fw6 "
    "ip6 daddr . meta l4proto . th dport . ip6 saddr != @fwallow6 drop\n"
    "\t}\n"
    "\tchain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
    "\t\tmeta nfproto ipv4 meta l4proto { tcp, udp } redirect to : ip daddr . meta l4proto . th dport map @redir4\n"
    "\t\tmeta nfproto ipv6 meta l4proto { tcp, udp } redirect to : ip6 daddr . meta l4proto . th dport map @redir6\n"
    "\t}\n"
    "\tchain output { type nat hook output priority -100; policy accept;\n"
    "\t\tmeta nfproto ipv4 meta l4proto { tcp, udp } redirect to : ip daddr . meta l4proto . th dport map @redir4\n"
    "\t\tmeta nfproto ipv6 meta l4proto { tcp, udp } redirect to : ip6 daddr . meta l4proto . th dport map @redir6\n"
    "\t}\n"
    "\tchain noep-forward { type filter hook forward priority filter - 1; policy accept;\n"
    "\t\tmeta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @noep4 reject\n"
    "\t\tmeta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @noep6 reject\n"
    "\t}\n"
    "\tchain noep-output { type filter hook output priority filter - 1; policy accept;\n"
    "\t\tmeta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @noep4 reject\n"
    "\t\tmeta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @noep6 reject\n"
    "\t}\n"
    "\tchain noep-input { type filter hook input priority filter - 1; policy accept;\n"
    "\t\tmeta l4proto { tcp, udp } ip daddr . meta l4proto . th dport @noep4 reject\n"
    "\t\tmeta l4proto { tcp, udp } ip6 daddr . meta l4proto . th dport @noep6 reject\n"
    "\t}\n"
    "}\n";

int uproxy_sync(struct uproxy *u, const struct proxy_model *m, const json_t *services, json_t *bad, char *err,
		size_t errlen)
{
	if (errlen)
		*err = 0;
	for (size_t i = 0; i < u->svcs.len; i++)
		u->svcs.v[i]->seen = false;
	for (size_t i = 0; i < u->ls.len; i++)
		u->ls.v[i]->seen = false;
	/* The elements of each named map or set of the table, family 4 then 6. */
	static const char *const what[] = {"map", "map", "set", "set", "set", "set", "set", "set"};
	static const char *const name[] = {"redir4", "redir6", "noep4",	   "noep6",
					   "fw4",    "fw6",    "fwallow4", "fwallow6"};
	enum { REDIR = 0, NOEP = 2, FW = 4, ALLOW = 6, NSETS = 8 };
	struct buf el[NSETS];
	int cnt[NSETS] = {0};
	for (int k = 0; k < NSETS; k++)
		buf_init(&el[k]);
	json_t *bad_now = json_object();
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svcport *sp = &m->ports[i];
		if (sp->proto != IPPROTO_TCP && sp->proto != IPPROTO_UDP)
			continue; /* SCTP has no userspace relay here */
		char *svckey = xasprintf("%s/%s", sp->ns, sp->name);
		const json_t *svc = svc_find(services, sp->ns, sp->name);
		const char *ann = svc_annotation(svc);
		int kind = proxy_sched_kind_parse(ann);
		if (kind < 0) {
			kind = PSCHED_RR;
			json_t *was = json_object_get(u->warned, svckey);
			if ((!was || strcmp(json_string_value(was), ann)) &&
			    !json_object_get(bad_now, svckey) && bad)
				json_array_append_new(bad, json_pack("{s:s,s:s,s:s}", "namespace", sp->ns,
								     "name", sp->name, "value", ann));
			json_object_set_new(bad_now, svckey, json_string(ann));
		}
		free(svckey);
		char *key = xasprintf("%s/%s/%s/%d/%s", sp->ns, sp->name, sp->port_name, sp->family,
				      proxy_proto_name(sp->proto));
		struct usvc *s = svc_get(u, key, sp);
		free(key);
		s->seen = true;
		svc_update(s, sp, (enum proxy_sched_kind)kind);
		struct ulistener *cl = NULL, *ex = NULL;
		bool defer = port_client_first(svc, sp);
		if (sp->has_cluster_ip || (sp->n_external && !sp->etp_local))
			cl = listener_get(u, s, "cl", false, 0, defer);
		if (sp->n_external && sp->etp_local)
			ex = listener_get(u, s, "ex", true, 0, defer);
		if (sp->node_port) {
			char np[16];
			snprintf(np, sizeof(np), "np%u", sp->node_port);
			listener_get(u, s, np, sp->etp_local, sp->node_port, defer);
		}
		int f6 = sp->family == 6;
		struct buf *r = &el[REDIR + f6], *ne = &el[NOEP + f6];
		int *rc = &cnt[REDIR + f6], *nc = &cnt[NOEP + f6];
		bool none_cl = !sp->n_cluster, none_ex = sp->etp_local ? !sp->n_local : !sp->n_cluster;
		if (sp->has_cluster_ip) {
			if (none_cl)
				elem(ne, nc, &sp->cluster_ip, sp->proto, sp->port, 0);
			else if (cl)
				elem(r, rc, &sp->cluster_ip, sp->proto, sp->port, cl->port);
		}
		/* loadBalancerSourceRanges: other sources to the LB addresses are dropped
		 * before the redirect, as the kernel modes do. */
		for (size_t k = sp->n_external - sp->n_lb; sp->n_src_ranges && k < sp->n_external; k++) {
			elem(&el[FW + f6], &cnt[FW + f6], &sp->external_ips[k], sp->proto, sp->port, 0);
			for (size_t q = 0; q < sp->n_src_ranges; q++) {
				char t[CIDR_STRLEN];
				elem(&el[ALLOW + f6], &cnt[ALLOW + f6], &sp->external_ips[k], sp->proto,
				     sp->port, 0);
				buf_printf(&el[ALLOW + f6], " . %s",
					   cidr_format(&sp->src_ranges[q], t, sizeof(t)));
			}
		}
		struct ulistener *xl = sp->etp_local ? ex : cl;
		for (size_t k = 0; k < sp->n_external; k++) {
			if (none_ex && !sp->etp_local)
				elem(ne, nc, &sp->external_ips[k], sp->proto, sp->port, 0);
			else if (xl)
				elem(r, rc, &sp->external_ips[k], sp->proto, sp->port, xl->port);
		}
	}
	json_decref(u->warned);
	u->warned = bad_now;
	/* Service states and listeners no longer wanted leave the registries; loops and
	 * connections keep their references until they are done. */
	size_t j = 0;
	for (size_t i = 0; i < u->ls.len; i++) {
		if (u->ls.v[i]->seen)
			u->ls.v[j++] = u->ls.v[i];
		else
			listener_unref(u->ls.v[i]);
	}
	u->ls.len = j;
	j = 0;
	for (size_t i = 0; i < u->svcs.len; i++) {
		struct usvc *s = u->svcs.v[i];
		if (s->seen) {
			u->svcs.v[j++] = s;
			continue;
		}
		pthread_mutex_lock(&s->mu);
		for (size_t k = 0; k < s->cl.n; k++)
			atomic_store(&s->cl.b[k]->gone, true);
		for (size_t k = 0; k < s->ex.n; k++)
			atomic_store(&s->ex.b[k]->gone, true);
		pthread_mutex_unlock(&s->mu);
		svc_unref(s);
	}
	u->svcs.len = j;
	/* nftables first: a new listener is ready before traffic is redirected to it. */
	struct buf sc;
	buf_init(&sc);
	const char *t = u->table;
	if (!u->nft_made)
		buf_printf(&sc, "add table inet %s\ndelete table inet %s\n", t, t);
	if (!u->nft_made)
		buf_printf(&sc, NFT_BASE, t);
	/* Every sync rewrites the elements in the same transaction: packets see the old
	 * or the new ones, never none. */
	for (int k = 0; k < NSETS; k++) {
		if (u->nft_made)
			buf_printf(&sc, "flush %s inet %s %s\n", what[k], t, name[k]);
		if (cnt[k])
			buf_printf(&sc, "add element inet %s %s { %s }\n", t, name[k], el[k].data);
	}
	int rc = 0;
	if (!u->c.dry) {
		rc = proxy_nft_apply(u->nft, sc.data, err, errlen);
		if (rc == 0)
			u->nft_made = true;
	}
	buf_fini(&sc);
	for (int k = 0; k < NSETS; k++)
		buf_fini(&el[k]);
	/* Publish the listeners. */
	struct utable *tab = xcalloc(1, sizeof(*tab));
	atomic_init(&tab->refs, 1);
	tab->l = xcalloc(u->ls.len ? u->ls.len : 1, sizeof(*tab->l));
	for (size_t i = 0; i < u->ls.len; i++) {
		atomic_fetch_add(&u->ls.v[i]->refs, 1);
		tab->l[tab->n++] = u->ls.v[i];
	}
	pthread_mutex_lock(&u->mu);
	struct utable *old = u->cur;
	u->cur = tab;
	pthread_mutex_unlock(&u->mu);
	table_unref(old);
	uint64_t one = 1;
	for (int i = 0; i < u->nloops; i++)
		if (write(u->loops[i].efd, &one, sizeof(one)) < 0) {
			/* the counter is full: a wake is pending anyway */
		}
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("uproxy: raising the open file limit: %s", strerror(errno));
	}
}

/* A test-only override of an idle timeout whose default is minutes (integration tests
 * run the agent with SVCPLANE_UPROXY_TCP_IDLE_MS / SVCPLANE_UPROXY_UDP_IDLE_MS): a
 * positive number of milliseconds below a day, else 0 (not set, or not a number). */
static int env_ms(const char *name)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return 0;
	errno = 0;
	long ms = strtol(v, &end, 10);
	if (errno || *end || ms <= 0 || ms >= 86400L * 1000) {
		log_warn("uproxy: ignoring %s=%s (not milliseconds)", name, v);
		return 0;
	}
	return (int)ms;
}

int uproxy_new(const struct uproxy_config *c, struct uproxy **out, char *err, size_t errlen)
{
	raise_nofile();
	struct uproxy *u = xcalloc(1, sizeof(*u));
	u->c = *c;
	if (!u->c.tcp_idle_ms)
		u->c.tcp_idle_ms = env_ms("SVCPLANE_UPROXY_TCP_IDLE_MS");
	if (!u->c.udp_idle_ms)
		u->c.udp_idle_ms = env_ms("SVCPLANE_UPROXY_UDP_IDLE_MS");
	if (!u->c.connect_timeout_ms)
		u->c.connect_timeout_ms = 1000;
	if (!u->c.tries)
		u->c.tries = 3;
	if (!u->c.tcp_idle_ms)
		u->c.tcp_idle_ms = 900 * 1000;
	if (!u->c.udp_idle_ms)
		u->c.udp_idle_ms = 30 * 1000;
	u->table = xstrdup(c->table ? c->table : UPROXY_TABLE);
	u->c.table = u->table;
	u->warned = json_object();
	pthread_mutex_init(&u->mu, NULL);
	int n = c->loops;
	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (int)cpus : 1;
	}
	u->nloops = n > UPROXY_MAX_LOOPS ? UPROXY_MAX_LOOPS : n;
	u->nft = proxy_nft_new(u->table, c->dry);
	int rc = 0;
	for (int i = 0; i < u->nloops; i++) {
		struct uloop *lp = &u->loops[i];
		lp->u = u;
		lp->idx = i;
		ul_init(&lp->connecting);
		ul_init(&lp->idle);
		ul_init(&lp->flows_idle);
		ul_init(&lp->dead);
		ul_init(&lp->free);
		lp->wake = (struct tag){T_WAKE, lp};
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		lp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lp->wake};
		if (lp->ep < 0 || lp->efd < 0 || epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->efd, &ev) < 0) {
			rc = -errno;
			snprintf(err, errlen, "uproxy: creating loop %d: %s", i, strerror(errno));
			goto fail;
		}
	}
	for (int i = 0; i < u->nloops; i++) {
		if ((rc = pthread_create(&u->loops[i].th, NULL, loop_main, &u->loops[i])) != 0) {
			rc = -rc;
			snprintf(err, errlen, "uproxy: starting loop %d: %s", i, strerror(-rc));
			goto fail;
		}
		u->loops[i].started = true;
	}
	*out = u;
	return 0;
fail:
	uproxy_free(u);
	return rc;
}

void uproxy_free(struct uproxy *u)
{
	if (!u)
		return;
	atomic_store(&u->stop, 1);
	uint64_t one = 1;
	for (int i = 0; i < u->nloops; i++) {
		struct uloop *lp = &u->loops[i];
		if (lp->efd >= 0 && write(lp->efd, &one, sizeof(one)) < 0) {
			/* it sees stop at its next wake */
		}
		if (lp->started)
			pthread_join(lp->th, NULL);
		loop_fini(lp);
	}
	table_unref(u->cur);
	for (size_t i = 0; i < u->ls.len; i++)
		listener_unref(u->ls.v[i]);
	for (size_t i = 0; i < u->svcs.len; i++)
		svc_unref(u->svcs.v[i]);
	vec_free(&u->ls);
	vec_free(&u->svcs);
	if (u->nft_made && !u->c.dry) {
		char e[256];
		char *s = xasprintf("delete table inet %s\n", u->table);
		if (proxy_nft_apply(u->nft, s, e, sizeof(e)) < 0)
			log_warn("uproxy: deleting table %s: %s", u->table, e);
		free(s);
	}
	proxy_nft_free(u->nft);
	json_decref(u->warned);
	pthread_mutex_destroy(&u->mu);
	free(u->table);
	free(u);
}

uint16_t uproxy_port(struct uproxy *u, const char *key, bool external)
{
	for (size_t i = 0; i < u->ls.len; i++) {
		const struct ulistener *l = u->ls.v[i];
		if (l->nodeport || l->external != external)
			continue;
		size_t kl = strlen(key);
		if (!strncmp(l->key, key, kl) && l->key[kl] == '|')
			return l->port;
	}
	return 0;
}

void uproxy_metrics_write(struct uproxy *u, struct buf *b)
{
	prom_sample(b, "svcplane_uproxy_connections_total", "counter",
		    "TCP connections accepted by the userspace proxy", (double)atomic_load(&u->conns));
	prom_sample(b, "svcplane_uproxy_connections_active", "gauge", "TCP connections open now",
		    (double)atomic_load(&u->active));
	prom_sample(b, "svcplane_uproxy_retries_total", "counter",
		    "Backend connects that failed and were retried on another",
		    (double)atomic_load(&u->retries));
	prom_sample(b, "svcplane_uproxy_resets_total", "counter",
		    "Client connections reset (no backend answered, or an error)",
		    (double)atomic_load(&u->resets));
	prom_sample(b, "svcplane_uproxy_udp_flows_total", "counter", "UDP flows created",
		    (double)atomic_load(&u->flows));
	prom_sample(b, "svcplane_uproxy_udp_flows_active", "gauge", "UDP flows live now (idle ones expire)",
		    (double)atomic_load(&u->flows_active));
}

int uproxy_cleanup(char *err, size_t errlen)
{
	char *s = xasprintf("add table inet %s\ndelete table inet %s\n", UPROXY_TABLE, UPROXY_TABLE);
	int rc = proxy_nft_run(s, err, errlen);
	free(s);
	return rc;
}
