/* fwd.c - forwarder thread, in-flight table and answer cache. See fwd.h. */
#include "dns/fwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/sockaddr.h"
#include "base/log.h"
#include "base/mem.h"
#include "dns/io.h"
#include "dns/metrics.h"

#define MAX_UPSTREAMS 8
#define KEY_BUCKETS 4096
#define CACHE_BUCKETS 16384
#define RESP_MAX DNS_UDP_MAX
#define KEY_MAX (DNS_NAME_MAX + 4)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lowercased name + type + class: the key of the cache and of the in-flight table. */
static size_t make_key(const struct dns_fwd_req *r, uint8_t *key)
{
	memcpy(key, r->name, r->name_len);
	dns_name_lower(key, r->name_len);
	size_t n = r->name_len;
	key[n++] = (uint8_t)(r->qtype >> 8), key[n++] = (uint8_t)r->qtype;
	key[n++] = (uint8_t)(r->qclass >> 8), key[n++] = (uint8_t)r->qclass;
	return n;
}

struct centry {
	uint8_t key[KEY_MAX];
	size_t key_len;
	uint32_t hash;
	uint8_t *msg;
	size_t len;
	uint16_t *ttl_offs;
	size_t nttl;
	uint64_t stored_ms, expire_ms;
	bool denial;
	struct centry *hnext, *lprev, *lnext; /* bucket chain; LRU list (head = newest) */
};

/* A question in flight. */
struct pend {
	uint8_t key[KEY_MAX];
	size_t key_len;
	uint32_t hash;
	uint16_t id;
	int upstream, tries;
	uint64_t deadline_ms, started_ms;
	uint8_t query[DNS_HDR_LEN + KEY_MAX + 11];
	size_t query_len;
	struct dns_fwd_req *waiters;
	struct pend *hnext, *prev, *next; /* key chain; deadline list (oldest first) */
	/* Truncated over UDP: asked again over TCP (tcp_seq names that attempt); the UDP
	 * answer is kept to pass on if TCP fails. */
	uint64_t tcp_seq;
	uint8_t *tc_resp;
	size_t tc_len;
};

/* One TCP retry, on its own short-lived thread (the forwarder thread never blocks). */
struct tcp_job {
	struct dns_fwd *f;
	uint64_t seq;
	uint16_t id;
	int upstream;
	uint8_t query[DNS_HDR_LEN + KEY_MAX + 11];
	size_t qlen;
	uint8_t *resp; /* NULL when the TCP exchange failed */
	size_t rlen;
	struct tcp_job *next;
};

struct dns_fwd {
	int nup;
	struct sockaddr_storage up[MAX_UPSTREAMS];
	socklen_t uplen[MAX_UPSTREAMS];
	int fd[MAX_UPSTREAMS];
	int evfd;
	int timeout_ms, attempts;
	uint32_t max_ttl;
	pthread_t thread;
	bool running;
	/* Submissions: any thread -> forwarder thread. */
	pthread_mutex_t qmu;
	struct dns_fwd_req *queue;
	struct tcp_job *tcp_done; /* finished TCP retries, newest first */
	int tcp_running;	  /* TCP retry threads alive */
	uint64_t tcp_seq;	  /* forwarder thread only */
	bool stop;
	/* Forwarder thread only. */
	struct pend *by_id[65536];
	struct pend *by_key[KEY_BUCKETS];
	struct pend *dl_head, *dl_tail;
	/* Cache, under cmu. */
	pthread_mutex_t cmu;
	struct centry *cache[CACHE_BUCKETS];
	struct centry *lru_head, *lru_tail;
	size_t ncache, cache_max;
};

int dns_upstream_parse(const char *s, void *ss, unsigned *socklen)
{
	char host[64];
	long port = 53;
	const char *p = s;
	size_t hl;
	if (*p == '[') {
		const char *e = strchr(p, ']');
		if (!e)
			return -EINVAL;
		hl = (size_t)(e - p - 1);
		p++;
		if (e[1] == ':') {
			char *end;
			port = strtol(e + 2, &end, 10);
			if (*end || !e[2])
				return -EINVAL;
		} else if (e[1]) {
			return -EINVAL;
		}
	} else {
		const char *c = strchr(p, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL; /* bare IPv6 */
		hl = c ? (size_t)(c - p) : strlen(p);
		if (c) {
			char *end;
			port = strtol(c + 1, &end, 10);
			if (*end || !c[1])
				return -EINVAL;
		}
	}
	if (hl == 0 || hl >= sizeof(host) || port < 1 || port > 65535)
		return -EINVAL;
	memcpy(host, p, hl);
	host[hl] = 0;
	socklen_t len = 0;
	int rc = ip_sockaddr(host, (int)port, ss, &len);
	*socklen = (unsigned)len;
	return rc;
}

int dns_resolv_conf_upstreams(const char *path, char ***out)
{
	*out = xcalloc(MAX_UPSTREAMS + 1, sizeof(char *));
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512];
	int n = 0;
	while (n < MAX_UPSTREAMS && fgets(line, sizeof(line), f)) {
		char ns[128];
		if (sscanf(line, " nameserver %127s", ns) == 1) {
			struct sockaddr_storage ss;
			unsigned sl;
			if (dns_upstream_parse(ns, &ss, &sl) == 0)
				(*out)[n++] = xstrdup(ns);
		}
	}
	fclose(f);
	return n;
}

/* --- cache ------------------------------------------------------------------ */

struct ttl_ctx {
	uint32_t min;
	bool any, soa_seen;
	uint32_t soa_min;
	const uint8_t *msg;
	uint16_t *offs;
	size_t n, cap;
};

static int ttl_scan(void *ud, const struct dns_rr *rr)
{
	struct ttl_ctx *c = ud;
	if (rr->type == DNS_T_OPT)
		return 0;
	if (c->offs && c->n < c->cap)
		c->offs[c->n++] = (uint16_t)rr->ttl_off;
	if (rr->section == 3)
		return 0;
	if (rr->type == DNS_T_SOA && rr->section == 2 && rr->rdlen >= 20) {
		uint32_t m = rd32(c->msg + rr->rdata_off + rr->rdlen - 4);
		c->soa_seen = true;
		c->soa_min = m < rr->ttl ? m : rr->ttl;
	}
	if (rr->section == 1) {
		if (!c->any || rr->ttl < c->min)
			c->min = rr->ttl;
		c->any = true;
	}
	return 0;
}

uint32_t dns_fwd_cache_ttl(const uint8_t *resp, size_t len, uint32_t max_ttl)
{
	if (len < DNS_HDR_LEN || (resp[2] & 0x02)) /* truncated */
		return 0;
	int rcode = resp[3] & 0xf;
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN)
		return 0;
	struct ttl_ctx c = {.msg = resp};
	if (dns_msg_walk(resp, len, ttl_scan, &c) != 0)
		return 0;
	uint32_t ttl;
	if (rcode == DNS_R_NOERROR && c.any)
		ttl = c.min;
	else if (c.soa_seen)
		ttl = c.soa_min;
	else
		return 0;
	return ttl > max_ttl ? max_ttl : ttl;
}

static void centry_free(struct centry *e)
{
	free(e->msg);
	free(e->ttl_offs);
	free(e);
}

/* Under cmu. */
static void cache_unlink(struct dns_fwd *f, struct centry *e)
{
	struct centry **pp = &f->cache[e->hash % CACHE_BUCKETS];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		f->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		f->lru_tail = e->lprev;
	f->ncache--;
	centry_free(e);
}

static void cache_insert(struct dns_fwd *f, const uint8_t *key, size_t klen, uint32_t hash,
			 const uint8_t *msg, size_t len)
{
	uint32_t ttl = dns_fwd_cache_ttl(msg, len, f->max_ttl);
	if (ttl == 0 || len > RESP_MAX) /* a TCP answer bigger than a cache slot is not kept */
		return;
	struct centry *e = xcalloc(1, sizeof(*e));
	memcpy(e->key, key, klen);
	e->key_len = klen;
	e->hash = hash;
	e->msg = xmalloc(len);
	memcpy(e->msg, msg, len);
	e->len = len;
	struct ttl_ctx c = {.msg = msg, .cap = 512};
	c.offs = xcalloc(c.cap, sizeof(uint16_t));
	dns_msg_walk(msg, len, ttl_scan, &c);
	e->ttl_offs = c.offs;
	e->nttl = c.n;
	e->denial = (msg[3] & 0xf) == DNS_R_NXDOMAIN || !c.any;
	e->stored_ms = dns__now_ms();
	e->expire_ms = e->stored_ms + (uint64_t)ttl * 1000;
	pthread_mutex_lock(&f->cmu);
	for (struct centry *o = f->cache[hash % CACHE_BUCKETS]; o; o = o->hnext)
		if (o->key_len == klen && !memcmp(o->key, key, klen)) {
			cache_unlink(f, o);
			break;
		}
	e->hnext = f->cache[hash % CACHE_BUCKETS];
	f->cache[hash % CACHE_BUCKETS] = e;
	e->lnext = f->lru_head;
	if (f->lru_head)
		f->lru_head->lprev = e;
	f->lru_head = e;
	if (!f->lru_tail)
		f->lru_tail = e;
	f->ncache++;
	while (f->ncache > f->cache_max && f->lru_tail)
		cache_unlink(f, f->lru_tail);
	pthread_mutex_unlock(&f->cmu);
}

/* Copies a fresh cached answer into out with TTLs counted down; returns its length, or 0. */
static size_t cache_get(struct dns_fwd *f, const uint8_t *key, size_t klen, uint32_t hash, uint8_t *out,
			bool *denial)
{
	size_t len = 0;
	uint64_t now = dns__now_ms();
	pthread_mutex_lock(&f->cmu);
	for (struct centry *e = f->cache[hash % CACHE_BUCKETS]; e; e = e->hnext) {
		if (e->key_len != klen || memcmp(e->key, key, klen))
			continue;
		if (now >= e->expire_ms) {
			cache_unlink(f, e);
			break;
		}
		memcpy(out, e->msg, e->len);
		len = e->len;
		*denial = e->denial;
		uint32_t age = (uint32_t)((now - e->stored_ms) / 1000);
		for (size_t i = 0; i < e->nttl; i++) {
			uint8_t *p = out + e->ttl_offs[i];
			uint32_t t = rd32(p);
			t = t > age ? t - age : 0;
			p[0] = (uint8_t)(t >> 24), p[1] = (uint8_t)(t >> 16), p[2] = (uint8_t)(t >> 8),
			p[3] = (uint8_t)t;
		}
		break;
	}
	pthread_mutex_unlock(&f->cmu);
	return len;
}

/* --- the forwarder thread --------------------------------------------------- */

static void dl_remove(struct dns_fwd *f, struct pend *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		f->dl_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		f->dl_tail = p->prev;
	p->prev = p->next = NULL;
}

static void dl_append(struct dns_fwd *f, struct pend *p)
{
	p->prev = f->dl_tail;
	p->next = NULL;
	if (f->dl_tail)
		f->dl_tail->next = p;
	else
		f->dl_head = p;
	f->dl_tail = p;
}

static void send_try(struct dns_fwd *f, struct pend *p)
{
	p->query[0] = (uint8_t)(p->id >> 8), p->query[1] = (uint8_t)p->id;
	ssize_t n = send(f->fd[p->upstream], p->query, p->query_len, MSG_DONTWAIT);
	if (n < 0)
		log_debug("dns: upstream %d: send: %s", p->upstream, strerror(errno));
	p->deadline_ms = dns__now_ms() + (uint64_t)f->timeout_ms;
	dl_append(f, p);
}

static uint16_t free_id(struct dns_fwd *f)
{
	uint16_t id;
	for (int i = 0; i < 64; i++) {
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			id = (uint16_t)rand();
		if (!f->by_id[id])
			return id;
	}
	for (uint32_t i = 0; i < 65536; i++)
		if (!f->by_id[i])
			return (uint16_t)i;
	return 0;
}

/* Removes p from every table and calls its waiters. */
static void pend_finish(struct dns_fwd *f, struct pend *p, const uint8_t *resp, size_t len)
{
	dl_remove(f, p);
	f->by_id[p->id] = NULL;
	struct pend **pp = &f->by_key[p->hash % KEY_BUCKETS];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	for (struct dns_fwd_req *r = p->waiters, *n; r; r = n) {
		n = r->next;
		r->done(r, resp, len);
	}
	free(p->tc_resp);
	free(p);
}

static void submit(struct dns_fwd *f, struct dns_fwd_req *r)
{
	uint8_t key[KEY_MAX];
	size_t klen = make_key(r, key);
	uint32_t h = dns_hash(key, klen);
	for (struct pend *p = f->by_key[h % KEY_BUCKETS]; p; p = p->hnext)
		if (p->key_len == klen && !memcmp(p->key, key, klen)) {
			r->next = p->waiters; /* coalesced */
			p->waiters = r;
			return;
		}
	struct pend *p = xcalloc(1, sizeof(*p));
	memcpy(p->key, key, klen);
	p->key_len = klen;
	p->hash = h;
	p->id = free_id(f);
	p->started_ms = dns__now_ms();
	struct dns_wr w;
	dns_wr_init(&w, p->query, sizeof(p->query));
	dns_wr_header(&w, 0, DNS_F_RD, 1, 0, 0, 1);
	dns_wr_bytes(&w, key, klen);
	dns_wr_opt(&w, 1232);
	p->query_len = w.len;
	r->next = NULL;
	p->waiters = r;
	f->by_id[p->id] = p;
	p->hnext = f->by_key[h % KEY_BUCKETS];
	f->by_key[h % KEY_BUCKETS] = p;
	send_try(f, p);
}

static int tcp_retry(struct dns_fwd *f, struct pend *p, const uint8_t *b, size_t n);

static void on_reply(struct dns_fwd *f, int i, const uint8_t *b, size_t n)
{
	if (n < DNS_HDR_LEN || !(b[2] & 0x80))
		return;
	struct pend *p = f->by_id[(uint16_t)(b[0] << 8 | b[1])];
	if (!p || p->upstream != i)
		return;
	/* The question must be ours (case aside): a stray or forged reply is ignored. */
	uint8_t qn[DNS_NAME_MAX];
	size_t off = DNS_HDR_LEN;
	int ql = dns_name_read(b, n, &off, qn);
	if (ql < 0 || (b[4] << 8 | b[5]) != 1 || off + 4 > n || (size_t)ql + 4 != p->key_len)
		return;
	dns_name_lower(qn, (size_t)ql);
	if (memcmp(qn, p->key, (size_t)ql) || memcmp(b + off, p->key + ql, 4))
		return;
	if (dns_msg_walk(b, n, NULL, NULL) != 0)
		return;
	if ((b[2] & 0x02) && !p->tcp_seq && tcp_retry(f, p, b, n) == 0)
		return; /* truncated: the whole answer comes over TCP (or the UDP one on failure) */
	dns_metrics_forward((double)(dns__now_ms() - p->started_ms) / 1e3);
	cache_insert(f, p->key, p->key_len, p->hash, b, n);
	pend_finish(f, p, b, n);
}

static void *tcp_main(void *arg)
{
	struct tcp_job *j = arg;
	struct dns_fwd *f = j->f;
	uint64_t deadline = dns__now_ms() + (uint64_t)f->timeout_ms * 2;
	int fd = socket(f->up[j->upstream].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	uint8_t lb[2] = {(uint8_t)(j->qlen >> 8), (uint8_t)j->qlen};
	if (fd >= 0 && (connect(fd, (struct sockaddr *)&f->up[j->upstream], f->uplen[j->upstream]) == 0 ||
			errno == EINPROGRESS)) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int e = 0;
		socklen_t el = sizeof(e);
		uint64_t now = dns__now_ms();
		if (now < deadline && poll(&pf, 1, (int)(deadline - now)) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0 &&
		    send(fd, lb, 2, MSG_NOSIGNAL | MSG_MORE) == 2 &&
		    send(fd, j->query, j->qlen, MSG_NOSIGNAL) == (ssize_t)j->qlen &&
		    dns__read_full(fd, lb, 2, deadline, -1)) {
			size_t n = (size_t)(lb[0] << 8 | lb[1]);
			j->resp = xmalloc(n ? n : 1);
			if (n >= DNS_HDR_LEN && dns__read_full(fd, j->resp, n, deadline, -1)) {
				j->rlen = n;
			} else {
				free(j->resp);
				j->resp = NULL;
			}
		}
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&f->qmu);
	j->next = f->tcp_done;
	f->tcp_done = j;
	f->tcp_running--;
	pthread_mutex_unlock(&f->qmu);
	uint64_t one = 1;
	if (write(f->evfd, &one, sizeof(one)) < 0)
		log_warn("dns: forwarder wake-up: %s", strerror(errno));
	return NULL;
}

/* Starts the TCP retry of p, keeping the truncated answer b. Returns 0, or -1 when no
 * thread could be started (the truncated answer is passed on then). */
static int tcp_retry(struct dns_fwd *f, struct pend *p, const uint8_t *b, size_t n)
{
	struct tcp_job *j = xcalloc(1, sizeof(*j));
	j->f = f;
	j->seq = ++f->tcp_seq;
	j->id = p->id;
	j->upstream = p->upstream;
	memcpy(j->query, p->query, p->query_len);
	j->qlen = p->query_len;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	pthread_mutex_lock(&f->qmu);
	f->tcp_running++;
	pthread_mutex_unlock(&f->qmu);
	int rc = pthread_create(&th, &at, tcp_main, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		pthread_mutex_lock(&f->qmu);
		f->tcp_running--;
		pthread_mutex_unlock(&f->qmu);
		free(j);
		return -1;
	}
	p->tcp_seq = j->seq;
	p->tc_resp = xmalloc(n);
	memcpy(p->tc_resp, b, n);
	p->tc_len = n;
	/* Its deadline now bounds the TCP attempt too (on_timeouts passes the UDP answer). */
	dl_remove(f, p);
	p->deadline_ms = dns__now_ms() + (uint64_t)f->timeout_ms * 2 + 500;
	dl_append(f, p);
	return 0;
}

/* A finished TCP retry: the whole answer when it is one for p's question, else the
 * truncated one. Forwarder thread. */
static void tcp_finish(struct dns_fwd *f, struct tcp_job *j)
{
	struct pend *p = f->by_id[j->id];
	if (p && p->tcp_seq == j->seq) {
		const uint8_t *b = j->resp;
		size_t n = j->rlen;
		uint8_t qn[DNS_NAME_MAX];
		size_t off = DNS_HDR_LEN;
		int ql = b ? dns_name_read(b, n, &off, qn) : -1;
		bool ok = ql > 0 && (b[0] << 8 | b[1]) == p->id && (b[2] & 0x80) &&
			  (size_t)ql + 4 == p->key_len && off + 4 <= n && dns_msg_walk(b, n, NULL, NULL) == 0;
		if (ok) {
			dns_name_lower(qn, (size_t)ql);
			ok = !memcmp(qn, p->key, (size_t)ql) && !memcmp(b + off, p->key + ql, 4);
		}
		dns_metrics_forward((double)(dns__now_ms() - p->started_ms) / 1e3);
		if (ok) {
			cache_insert(f, p->key, p->key_len, p->hash, b, n);
			pend_finish(f, p, b, n);
		} else {
			pend_finish(f, p, p->tc_resp, p->tc_len);
		}
	}
	free(j->resp);
	free(j);
}

static void on_timeouts(struct dns_fwd *f)
{
	uint64_t now = dns__now_ms();
	while (f->dl_head && f->dl_head->deadline_ms <= now) {
		struct pend *p = f->dl_head;
		dl_remove(f, p);
		if (p->tcp_seq) { /* the TCP retry took too long: the truncated answer */
			dl_append(f, p);
			pend_finish(f, p, p->tc_resp, p->tc_len);
			continue;
		}
		if (++p->tries >= f->attempts * f->nup) {
			log_debug("dns: no upstream answered");
			dl_append(f, p); /* pend_finish unlinks it */
			pend_finish(f, p, NULL, 0);
			continue;
		}
		p->upstream = (p->upstream + 1) % f->nup;
		send_try(f, p);
	}
}

static void *fwd_main(void *arg)
{
	struct dns_fwd *f = arg;
	struct pollfd pfd[MAX_UPSTREAMS + 1];
	uint8_t buf[RESP_MAX];
	for (;;) {
		int timeout = -1;
		if (f->dl_head) {
			uint64_t now = dns__now_ms();
			timeout = f->dl_head->deadline_ms > now ? (int)(f->dl_head->deadline_ms - now) : 0;
		}
		pfd[0] = (struct pollfd){.fd = f->evfd, .events = POLLIN};
		for (int i = 0; i < f->nup; i++)
			pfd[i + 1] = (struct pollfd){.fd = f->fd[i], .events = POLLIN};
		int rc = poll(pfd, (nfds_t)f->nup + 1, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) {
			uint64_t v;
			if (read(f->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
			pthread_mutex_lock(&f->qmu);
			struct dns_fwd_req *q = f->queue;
			struct tcp_job *tj = f->tcp_done;
			bool stop = f->stop;
			f->queue = NULL;
			f->tcp_done = NULL;
			pthread_mutex_unlock(&f->qmu);
			for (struct tcp_job *n; tj; tj = n) {
				n = tj->next;
				tcp_finish(f, tj);
			}
			/* The queue is newest first: submit oldest first. */
			struct dns_fwd_req *rev = NULL;
			while (q) {
				struct dns_fwd_req *n = q->next;
				q->next = rev;
				rev = q;
				q = n;
			}
			for (struct dns_fwd_req *n; rev; rev = n) {
				n = rev->next;
				if (stop)
					rev->done(rev, NULL, 0);
				else
					submit(f, rev);
			}
			if (stop)
				break;
		}
		for (int i = 0; i < f->nup; i++) {
			if (!pfd[i + 1].revents)
				continue;
			for (int k = 0; k < 64; k++) {
				ssize_t n = recv(f->fd[i], buf, sizeof(buf), MSG_DONTWAIT);
				if (n < 0)
					break;
				on_reply(f, i, buf, (size_t)n);
			}
		}
		on_timeouts(f);
	}
	while (f->dl_head)
		pend_finish(f, f->dl_head, NULL, 0);
	return NULL;
}

int dns_fwd_new(const struct dns_fwd_opts *o, struct dns_fwd **out, char *err, size_t errlen)
{
	struct dns_fwd *f = xcalloc(1, sizeof(*f));
	f->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000;
	f->attempts = o->attempts > 0 ? o->attempts : 2;
	f->max_ttl = o->max_ttl ? o->max_ttl : 3600;
	f->cache_max = o->cache_max ? o->cache_max : 10000;
	f->evfd = -1;
	for (int i = 0; i < MAX_UPSTREAMS; i++)
		f->fd[i] = -1;
	pthread_mutex_init(&f->qmu, NULL);
	pthread_mutex_init(&f->cmu, NULL);
	for (const char *const *u = o->upstreams; u && *u && f->nup < MAX_UPSTREAMS; u++) {
		unsigned sl;
		if (dns_upstream_parse(*u, &f->up[f->nup], &sl) < 0) {
			snprintf(err, errlen, "upstream %s is not IP, IP:port or [IPv6]:port", *u);
			goto fail;
		}
		f->uplen[f->nup] = sl;
		int fd = socket(f->up[f->nup].ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&f->up[f->nup], sl) < 0) {
			snprintf(err, errlen, "upstream %s: %s", *u, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		f->fd[f->nup++] = fd;
	}
	if (f->nup == 0)
		log_warn("dns: no upstream resolver (none in resolv.conf, no --dns-upstream): other names "
			 "get SERVFAIL");
	f->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->evfd < 0 || pthread_create(&f->thread, NULL, fwd_main, f) != 0) {
		snprintf(err, errlen, "forwarder thread: %s", strerror(errno));
		goto fail;
	}
	f->running = true;
	*out = f;
	return 0;
fail:
	dns_fwd_free(f);
	return -EINVAL;
}

void dns_fwd_free(struct dns_fwd *f)
{
	if (!f)
		return;
	if (f->running) {
		pthread_mutex_lock(&f->qmu);
		f->stop = true;
		pthread_mutex_unlock(&f->qmu);
		uint64_t one = 1;
		if (write(f->evfd, &one, sizeof(one)) < 0)
			log_warn("dns: forwarder wake-up: %s", strerror(errno));
		pthread_join(f->thread, NULL);
		/* TCP retries end within their deadline (2 x timeout); wait for them. */
		for (int k = 0; k < 1000; k++) {
			pthread_mutex_lock(&f->qmu);
			int running = f->tcp_running;
			pthread_mutex_unlock(&f->qmu);
			if (!running)
				break;
			usleep(10000);
		}
		for (struct tcp_job *j = f->tcp_done, *n; j; j = n) {
			n = j->next;
			free(j->resp);
			free(j);
		}
	}
	for (int i = 0; i < MAX_UPSTREAMS; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	if (f->evfd >= 0)
		close(f->evfd);
	while (f->lru_head)
		cache_unlink(f, f->lru_head);
	pthread_mutex_destroy(&f->qmu);
	pthread_mutex_destroy(&f->cmu);
	free(f);
}

void dns_fwd_resolve(struct dns_fwd *f, struct dns_fwd_req *r)
{
	uint8_t key[KEY_MAX], buf[RESP_MAX];
	if (f->nup == 0) {
		r->done(r, NULL, 0);
		return;
	}
	size_t klen = make_key(r, key);
	bool denial = false;
	size_t n = cache_get(f, key, klen, dns_hash(key, klen), buf, &denial);
	dns_metrics_cache(n > 0, denial);
	if (n) {
		r->done(r, buf, n);
		return;
	}
	pthread_mutex_lock(&f->qmu);
	bool stop = f->stop;
	if (!stop) {
		r->next = f->queue;
		f->queue = r;
	}
	pthread_mutex_unlock(&f->qmu);
	if (stop) {
		r->done(r, NULL, 0);
		return;
	}
	uint64_t one = 1;
	if (write(f->evfd, &one, sizeof(one)) < 0)
		log_warn("dns: forwarder wake-up: %s", strerror(errno));
}

/* --- replies ----------------------------------------------------------------- */

struct end_ctx {
	size_t end;
	uint16_t an, ns;
};

static int find_end(void *ud, const struct dns_rr *rr)
{
	struct end_ctx *c = ud;
	if (rr->section == 3)
		return 1;
	c->end = rr->rdata_off + rr->rdlen;
	if (rr->section == 1)
		c->an++;
	else
		c->ns++;
	return 0;
}

size_t dns_fwd_reply(const struct dns_query *q, const uint8_t *qmsg, const uint8_t *resp, size_t rlen,
		     size_t limit, uint8_t *out, size_t cap)
{
	if (limit > cap)
		limit = cap;
	size_t qlen = q->qend - DNS_HDR_LEN;
	/* The upstream's question has our name's length (we asked for it, lowercased). */
	if (!resp || rlen < DNS_HDR_LEN + qlen || (resp[4] << 8 | resp[5]) != 1)
		return dns_answer_error(q, qmsg, q->qend, DNS_R_SERVFAIL, out, cap);
	struct end_ctx c = {.end = DNS_HDR_LEN + qlen};
	int rc = dns_msg_walk(resp, rlen, find_end, &c);
	if (rc < 0)
		return dns_answer_error(q, qmsg, q->qend, DNS_R_SERVFAIL, out, cap);
	struct dns_wr w;
	dns_wr_init(&w, out, limit - (q->edns ? 11 : 0));
	dns_wr_bytes(&w, resp, c.end);
	if (w.full) {
		w.full = false;
		w.len = 0;
		dns_wr_bytes(&w, resp, DNS_HDR_LEN);
		c.an = c.ns = 0;
		out[2] |= 0x02; /* TC */
	}
	memcpy(out + DNS_HDR_LEN, qmsg + DNS_HDR_LEN, qlen); /* the client's question, its case */
	if (w.len < q->qend)
		w.len = q->qend;
	out[0] = (uint8_t)(q->id >> 8), out[1] = (uint8_t)q->id;
	out[2] = (uint8_t)((out[2] & ~(DNS_F_AA >> 8) & ~(DNS_F_RD >> 8)) | ((q->flags & DNS_F_RD) >> 8));
	out[3] |= DNS_F_RA;
	w.cap = limit;
	if (q->edns)
		dns_wr_opt(&w, DNS_UDP_MAX);
	dns_wr_set_counts(&w, c.an, c.ns, q->edns ? 1 : 0);
	return w.len;
}
