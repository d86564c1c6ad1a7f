/* server.c - cluster DNS: snapshot publication, UDP workers, TCP, access control.
 * See server.h for the threads and docs/DESIGN.md for why they are shaped so.
 *
 * The read path: a worker announces the snapshot it is about to read in its hazard slot,
 * checks it is still the current one, answers a whole recvmmsg batch from it, and clears
 * the slot. The builder publishes a new snapshot with one atomic store and frees the old
 * one only when no slot holds it. So readers never lock, never wait, and never allocate
 * for a cluster name; only forwarded questions allocate their job.
 */
#include "dns/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/cidr.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"
#include "client/informer.h"
#include "dns/fwd.h"
#include "dns/io.h"
#include "dns/metrics.h"
#include "dns/view.h"
#include "dns/wire.h"

#define MAX_LISTEN 8
#define MAX_WORKERS 32
#define MAX_TCP 64
#define MAX_SLOTS (MAX_WORKERS + MAX_TCP)
#define BATCH 32
#define TCP_IDLE_MS 10000
#define NINF 5
#define MAX_TRIG 1024

enum { INF_SVC, INF_SLICE, INF_POD, INF_NS, INF_NODE };

struct snap {
	struct dns_view *view;
	struct cidr *allow;
	size_t nallow;
};

struct worker {
	struct dns_server *s;
	int slot;
	int fds[MAX_LISTEN];
	int epfd;
	pthread_t th;
	bool started;
};

struct trig {
	double t;
	bool headless;
};

struct inf_ud {
	struct dns_server *s;
	int which;
};

struct dns_server {
	char *zone;
	uint32_t ttl;
	char **dns_ips;
	struct cidr extra[16];
	size_t nextra;
	bool allow_any;
	struct sockaddr_storage la[MAX_LISTEN];
	socklen_t lalen[MAX_LISTEN];
	int nla, port;
	int nworkers;
	struct worker workers[MAX_WORKERS];
	int tcp_fd[MAX_LISTEN];
	pthread_t tcp_thread;
	bool tcp_started;
	atomic_int tcp_conns;
	int stopfd;
	atomic_bool stopping;
	struct dns_fwd *fwd;
	struct informer *inf[NINF];
	struct inf_ud iud[NINF];
	_Atomic(struct snap *) cur;
	_Atomic(struct snap *) hazard[MAX_SLOTS];
	atomic_bool slot_used[MAX_SLOTS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool dirty, stop, synced_each[NINF], all_synced;
	struct trig trig[MAX_TRIG];
	int ntrig;
	pthread_t builder;
	bool builder_started;
};

static double wall_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --- snapshots --------------------------------------------------------------- */

static struct snap *snap_acquire(struct dns_server *s, int slot)
{
	struct snap *p;
	do {
		p = atomic_load(&s->cur);
		atomic_store(&s->hazard[slot], p);
	} while (p != atomic_load(&s->cur));
	return p;
}

static void snap_release(struct dns_server *s, int slot)
{
	atomic_store(&s->hazard[slot], NULL);
}

static void snap_free(struct snap *p)
{
	if (!p)
		return;
	dns_view_unref(p->view);
	free(p->allow);
	free(p);
}

/* Publishes p and frees the old snapshot once no reader holds it. */
static void snap_publish(struct dns_server *s, struct snap *p)
{
	struct snap *old = atomic_exchange(&s->cur, p);
	if (!old)
		return;
	for (;;) {
		bool held = false;
		for (int i = 0; i < MAX_SLOTS && !held; i++)
			held = atomic_load(&s->hazard[i]) == old;
		if (!held)
			break;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	snap_free(old);
}

/* The allowed sources while they are gathered, a VEC (base/vec.h). */
struct cidr_vec {
	struct cidr *v;
	size_t len, cap;
};

static void allow_add_ip(struct cidr_vec *a, const char *ip)
{
	struct cidr c;
	if (ip && ip_parse(ip, &c.net) == 0) {
		c.bits = c.net.family == 4 ? 32 : 128;
		*vec_push(a) = c;
	}
}

/* Loopback, the Nodes' pod CIDRs and addresses, our own addresses and the extra CIDRs. */
static void build_allow(struct dns_server *s, const json_t *nodes, struct snap *p)
{
	struct cidr_vec a = {0};
	struct cidr c;
	char err[128];
	if (cidr_parse("127.0.0.0/8", &c, err, sizeof(err)) == 0)
		*vec_push(&a) = c;
	if (cidr_parse("::1/128", &c, err, sizeof(err)) == 0)
		*vec_push(&a) = c;
	for (size_t i = 0; i < s->nextra; i++)
		*vec_push(&a) = s->extra[i];
	size_t i, j;
	json_t *nd, *x;
	json_array_foreach(nodes, i, nd)
	{
		json_t *cidrs = api_get(nd, "spec.podCIDRs");
		if (!json_array_size(cidrs)) {
			const char *one = api_str(nd, "spec.podCIDR");
			if (one && cidr_parse(one, &c, err, sizeof(err)) == 0)
				*vec_push(&a) = c;
		}
		json_array_foreach(cidrs, j, x)
		{
			if (json_is_string(x) && cidr_parse(json_string_value(x), &c, err, sizeof(err)) == 0)
				*vec_push(&a) = c;
		}
		json_array_foreach(api_get(nd, "status.addresses"), j, x)
		{
			const char *t = api_str(x, "type");
			if (t && (!strcmp(t, "InternalIP") || !strcmp(t, "ExternalIP")))
				allow_add_ip(&a, api_str(x, "address"));
		}
	}
	for (int k = 0; k < s->nla; k++) {
		char ip[IP_STRLEN];
		const struct sockaddr_storage *ss = &s->la[k];
		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
		allow_add_ip(&a, ip);
	}
	p->allow = a.v;
	p->nallow = a.len;
}

static bool allowed(const struct dns_server *s, const struct snap *p, const struct sockaddr_storage *ss)
{
	if (s->allow_any)
		return true;
	struct ip_addr ip = {0};
	if (ss->ss_family == AF_INET) {
		ip.family = 4;
		memcpy(ip.b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (!memcmp(a, mapped, 12)) {
			ip.family = 4;
			memcpy(ip.b, a + 12, 4);
		} else {
			ip.family = 6;
			memcpy(ip.b, a, 16);
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < p->nallow; i++)
		if (cidr_contains(&p->allow[i], &ip))
			return true;
	return false;
}

/* --- builder ------------------------------------------------------------------ */

static void mark_dirty(struct dns_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->dirty = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void on_slice(struct dns_server *s, const json_t *obj)
{
	const char *t = json_string_value(json_object_get(
	    api_get(obj, "metadata.annotations"), "endpoints.kubernetes.io/last-change-trigger-time"));
	int64_t sec = t ? api_time_parse(t) : -1;
	/* The controller writes nanoseconds ("...:05.123456789Z"): keep the fraction. */
	const char *dot = t ? strchr(t, '.') : NULL;
	double frac = dot ? strtod(dot, NULL) : 0;
	pthread_mutex_lock(&s->mu);
	if (sec > 0 && s->all_synced && s->ntrig < MAX_TRIG) {
		bool headless = json_object_get(api_get(obj, "metadata.labels"),
						"service.kubernetes.io/headless") != NULL;
		s->trig[s->ntrig++] =
		    (struct trig){(double)sec + (frac > 0 && frac < 1 ? frac : 0), headless};
	}
	s->dirty = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void h_add(void *ud, const json_t *obj)
{
	struct inf_ud *u = ud;
	if (u->which == INF_SLICE)
		on_slice(u->s, obj);
	else
		mark_dirty(u->s);
}

static bool same_at(const json_t *a, const json_t *b, const char *path)
{
	json_t *x = api_get(a, path), *y = api_get(b, path);
	return x == y || (x && y && json_equal(x, y));
}

/* Whether an update changes what the snapshot holds: Node heartbeats and Pod
 * condition changes (every probe flip) must not rebuild the zone. */
static bool update_matters(int which, const json_t *old, const json_t *obj)
{
	switch (which) {
	case INF_NODE:
		return !same_at(old, obj, "spec.podCIDR") || !same_at(old, obj, "spec.podCIDRs") ||
		       !same_at(old, obj, "status.addresses");
	case INF_POD:
		return !same_at(old, obj, "status.podIP") || !same_at(old, obj, "status.podIPs") ||
		       !same_at(old, obj, "status.phase");
	case INF_NS:
		return false; /* only adds and deletes change the zone */
	default:
		return true;
	}
}

static void h_update(void *ud, const json_t *old, const json_t *obj)
{
	struct inf_ud *u = ud;
	if (update_matters(u->which, old, obj))
		h_add(ud, obj);
}

static void h_synced(void *ud)
{
	struct inf_ud *u = ud;
	pthread_mutex_lock(&u->s->mu);
	u->s->synced_each[u->which] = true;
	u->s->dirty = true;
	pthread_cond_signal(&u->s->cv);
	pthread_mutex_unlock(&u->s->mu);
}

static void *builder_main(void *arg)
{
	struct dns_server *s = arg;
	struct trig trig[MAX_TRIG];
	double last_log = 0;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->dirty && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		s->dirty = false;
		bool synced = true;
		for (int i = 0; i < NINF; i++)
			synced = synced && s->synced_each[i];
		int ntrig = s->ntrig;
		memcpy(trig, s->trig, sizeof(trig[0]) * (size_t)ntrig);
		s->ntrig = 0;
		pthread_mutex_unlock(&s->mu);
		if (!synced)
			continue;
		double b0 = clock_mono_s();
		json_t *l[NINF];
		for (int i = 0; i < NINF; i++)
			l[i] = informer_list(s->inf[i], NULL);
		struct dns_view_config cfg = {
		    .zone = s->zone, .ttl = s->ttl, .dns_ips = (const char *const *)s->dns_ips};
		char err[256];
		struct snap *p = xcalloc(1, sizeof(*p));
		p->view = dns_view_build(&cfg, true, l[INF_SVC], l[INF_SLICE], l[INF_POD], l[INF_NS], err,
					 sizeof(err));
		build_allow(s, l[INF_NODE], p);
		for (int i = 0; i < NINF; i++)
			json_decref(l[i]);
		if (!p->view) {
			log_error("dns: %s", err);
			snap_free(p);
			continue;
		}
		dns_metrics_view(dns_view_names(p->view));
		snap_publish(s, p);
		double now = wall_now();
		for (int i = 0; i < ntrig; i++)
			dns_metrics_programming(trig[i].headless, now > trig[i].t ? now - trig[i].t : 0);
		/* Give the last snapshot's pages back (the builder's arena would keep them). */
		malloc_trim(0);
		/* Logged at the first sync and then at most every 30 s (size and build time are
		 * what an operator sizes a node by). */
		double b1 = clock_mono_s();
		pthread_mutex_lock(&s->mu);
		if (!s->all_synced || b1 - last_log >= 30) {
			log_info("dns: %s zone snapshot: %zu names, %zu KiB, built in %.1f ms", s->zone,
				 dns_view_names(p->view), dns_view_bytes(p->view) / 1024, (b1 - b0) * 1e3);
			last_log = b1;
		}
		s->all_synced = true;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* --- answering ----------------------------------------------------------------- */

struct job {
	struct dns_fwd_req req;
	struct dns_server *s;
	struct dns_query q;
	uint8_t qmsg[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	bool chase, tcp;
	uint8_t prefix[1024];
	size_t plen;
	uint16_t pan;
	/* UDP: where to send. */
	int fd;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	/* TCP: the connection thread waits for done. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	uint8_t *out;
	size_t outlen;
};

static size_t job_reply(struct job *j, const uint8_t *resp, size_t len, uint8_t *out, size_t cap)
{
	size_t limit = j->tcp ? DNS_TCP_MAX : j->q.udp_size, n;
	if (j->chase) {
		memcpy(out, j->prefix, j->plen);
		n = dns_chase_finish(&j->q, out, cap, j->plen, j->pan, limit, resp, len);
	} else {
		n = dns_fwd_reply(&j->q, j->qmsg, resp, len, limit, out, cap);
	}
	if (n >= DNS_HDR_LEN)
		dns_metrics_response(out[3] & 0xf);
	return n;
}

static void udp_done(struct dns_fwd_req *r, const uint8_t *resp, size_t len)
{
	struct job *j = (struct job *)r;
	uint8_t out[DNS_UDP_MAX];
	size_t n = job_reply(j, resp, len, out, sizeof(out));
	if (n && sendto(j->fd, out, n, MSG_DONTWAIT, (struct sockaddr *)&j->peer, j->peerlen) < 0)
		log_debug("dns: reply: %s", strerror(errno));
	free(j);
}

static void tcp_done(struct dns_fwd_req *r, const uint8_t *resp, size_t len)
{
	struct job *j = (struct job *)r;
	uint8_t *out = xmalloc(DNS_TCP_MAX);
	size_t n = job_reply(j, resp, len, out, DNS_TCP_MAX);
	pthread_mutex_lock(&j->mu);
	j->out = out;
	j->outlen = n;
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* Answers one message. Returns the reply's length in out (0: nothing to send now), and
 * *job when the answer went to the forwarder (UDP: it sends the reply itself; TCP: the
 * caller waits for it). */
static size_t answer(struct dns_server *s, const struct snap *p, const uint8_t *msg, size_t len,
		     const struct sockaddr_storage *peer, bool tcp, uint8_t *out, size_t cap,
		     struct job **job)
{
	struct dns_query q;
	*job = NULL;
	int rc = dns_query_parse(msg, len, &q);
	if (rc == -EPROTO || len < DNS_HDR_LEN)
		return 0;
	if (rc < 0) {
		int rcode = rc == -EOPNOTSUPP ? DNS_R_NOTIMP : DNS_R_FORMERR;
		dns_metrics_response(rcode);
		return dns_answer_error(&q, msg, len, rcode, out, cap);
	}
	dns_metrics_request(tcp, q.qtype);
	if (!allowed(s, p, peer)) {
		dns_metrics_response(DNS_R_REFUSED);
		return dns_answer_error(&q, msg, len, DNS_R_REFUSED, out, cap);
	}
	size_t limit = tcp ? DNS_TCP_MAX : q.udp_size;
	struct dns_result r;
	dns_view_answer(p->view, &q, msg, limit, out, cap, &r);
	if (r.outcome == DNS_OUT_ANSWERED) {
		dns_metrics_response(r.rcode);
		return r.len;
	}
	struct job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->q = q;
	j->tcp = tcp;
	memcpy(j->qmsg, msg, q.qend);
	if (r.outcome == DNS_OUT_CHASE && r.len <= sizeof(j->prefix)) {
		j->chase = true;
		memcpy(j->prefix, out, r.len);
		j->plen = r.len;
		j->pan = r.ancount;
		memcpy(j->req.name, r.chase, r.chase_len);
		j->req.name_len = r.chase_len;
	} else if (r.outcome == DNS_OUT_CHASE) {
		free(j);
		dns_metrics_response(DNS_R_SERVFAIL);
		return dns_answer_error(&q, msg, len, DNS_R_SERVFAIL, out, cap);
	} else {
		memcpy(j->req.name, q.qname, q.qname_len);
		j->req.name_len = q.qname_len;
	}
	j->req.qtype = q.qtype;
	j->req.qclass = q.qclass;
	*job = j;
	return 0;
}

static void *udp_main(void *arg)
{
	struct worker *w = arg;
	struct dns_server *s = w->s;
	uint8_t(*in)[DNS_UDP_MAX] = xmalloc(BATCH * DNS_UDP_MAX),
	(*out)[DNS_UDP_MAX] = xmalloc(BATCH * DNS_UDP_MAX);
	struct job *jobs[BATCH];
	struct mmsghdr rm[BATCH], sm[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	struct sockaddr_storage peers[BATCH];
	struct epoll_event ev[MAX_LISTEN + 1];
	for (;;) {
		int ne = epoll_wait(w->epfd, ev, MAX_LISTEN + 1, -1);
		if (ne < 0 && errno != EINTR)
			break;
		if (atomic_load(&s->stopping))
			break;
		for (int e = 0; e < ne; e++) {
			if (ev[e].data.u32 >= (uint32_t)s->nla)
				continue;
			int fd = w->fds[ev[e].data.u32];
			for (int round = 0; round < 8; round++) {
				for (int i = 0; i < BATCH; i++) {
					riov[i] = (struct iovec){in[i], sizeof(in[i])};
					rm[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
									.msg_namelen = sizeof(peers[i]),
									.msg_iov = &riov[i],
									.msg_iovlen = 1};
				}
				int n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL);
				if (n <= 0)
					break;
				struct snap *p = snap_acquire(s, w->slot);
				int k = 0, nj = 0;
				for (int i = 0; i < n; i++) {
					struct job *j;
					size_t len = answer(s, p, in[i], rm[i].msg_len, &peers[i], false,
							    out[k], sizeof(out[k]), &j);
					if (j) {
						j->fd = fd;
						j->peer = peers[i];
						j->peerlen = rm[i].msg_hdr.msg_namelen;
						j->req.done = udp_done;
						jobs[nj++] = j;
						continue;
					}
					if (!len)
						continue;
					siov[k] = (struct iovec){out[k], len};
					sm[k].msg_hdr =
					    (struct msghdr){.msg_name = &peers[i],
							    .msg_namelen = rm[i].msg_hdr.msg_namelen,
							    .msg_iov = &siov[k],
							    .msg_iovlen = 1};
					k++;
				}
				snap_release(s, w->slot);
				for (int sent = 0; sent < k;) {
					int m = sendmmsg(fd, sm + sent, (unsigned)(k - sent), MSG_DONTWAIT);
					if (m <= 0)
						break;
					sent += m;
				}
				/* Forwarded questions after the batch's answers, outside the snapshot: the
				 * forwarder may answer at once from its cache. */
				for (int i = 0; i < nj; i++)
					dns_fwd_resolve(s->fwd, &jobs[i]->req);
				if (n < BATCH)
					break;
			}
		}
	}
	free(in);
	free(out);
	return NULL;
}

/* --- TCP ----------------------------------------------------------------------- */

struct conn {
	struct dns_server *s;
	int fd;
	struct sockaddr_storage peer;
};

static bool write_full(int fd, const uint8_t *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		if (poll(&pf, 1, TCP_IDLE_MS) <= 0)
			return false;
		ssize_t w = send(fd, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (w > 0)
			done += (size_t)w;
	}
	return true;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct dns_server *s = c->s;
	int slot = -1;
	for (int i = MAX_WORKERS; i < MAX_SLOTS && slot < 0; i++) {
		bool f = false;
		if (atomic_compare_exchange_strong(&s->slot_used[i], &f, true))
			slot = i;
	}
	uint8_t *in = xmalloc(DNS_TCP_MAX), *out = xmalloc(DNS_TCP_MAX + 2);
	while (slot >= 0) {
		uint8_t lb[2];
		/* RFC 7766: a 2-byte length, then the message; an idle connection is closed. */
		if (!dns__read_full(c->fd, lb, 2, dns__now_ms() + TCP_IDLE_MS, s->stopfd))
			break;
		size_t len = (size_t)(lb[0] << 8 | lb[1]);
		if (!dns__read_full(c->fd, in, len, dns__now_ms() + TCP_IDLE_MS, s->stopfd))
			break;
		struct job *j;
		struct snap *p = snap_acquire(s, slot);
		size_t n = answer(s, p, in, len, &c->peer, true, out + 2, DNS_TCP_MAX, &j);
		snap_release(s, slot);
		if (j) {
			pthread_mutex_init(&j->mu, NULL);
			pthread_cond_init(&j->cv, NULL);
			j->req.done = tcp_done;
			dns_fwd_resolve(s->fwd, &j->req);
			pthread_mutex_lock(&j->mu);
			while (!j->done)
				pthread_cond_wait(&j->cv, &j->mu);
			pthread_mutex_unlock(&j->mu);
			n = j->outlen;
			memcpy(out + 2, j->out, n);
			free(j->out);
			pthread_mutex_destroy(&j->mu);
			pthread_cond_destroy(&j->cv);
			free(j);
		}
		if (!n)
			break; /* a response sent to us, or garbage: close */
		out[0] = (uint8_t)(n >> 8), out[1] = (uint8_t)n;
		if (!write_full(c->fd, out, n + 2))
			break;
	}
	if (slot >= 0)
		atomic_store(&s->slot_used[slot], false);
	free(in);
	free(out);
	close(c->fd);
	atomic_fetch_sub(&s->tcp_conns, 1);
	free(c);
	return NULL;
}

static void *tcp_main(void *arg)
{
	struct dns_server *s = arg;
	struct pollfd pf[MAX_LISTEN + 1];
	for (;;) {
		for (int i = 0; i < s->nla; i++)
			pf[i] = (struct pollfd){.fd = s->tcp_fd[i], .events = POLLIN};
		pf[s->nla] = (struct pollfd){.fd = s->stopfd, .events = POLLIN};
		if (poll(pf, (nfds_t)s->nla + 1, -1) < 0 && errno != EINTR)
			break;
		if (pf[s->nla].revents)
			break;
		for (int i = 0; i < s->nla; i++) {
			if (!pf[i].revents)
				continue;
			struct conn *c = xcalloc(1, sizeof(*c));
			socklen_t sl = sizeof(c->peer);
			c->s = s;
			c->fd = accept4(s->tcp_fd[i], (struct sockaddr *)&c->peer, &sl,
					SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c->fd < 0 || atomic_load(&s->tcp_conns) >= MAX_TCP) {
				if (c->fd >= 0)
					close(c->fd);
				free(c);
				continue;
			}
			atomic_fetch_add(&s->tcp_conns, 1);
			pthread_t th;
			pthread_attr_t at;
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&th, &at, conn_main, c) != 0) {
				atomic_fetch_sub(&s->tcp_conns, 1);
				close(c->fd);
				free(c);
			}
			pthread_attr_destroy(&at);
		}
	}
	return NULL;
}

/* --- start / stop ----------------------------------------------------------------- */

static int bind_socket(const struct sockaddr_storage *ss, socklen_t len, int type, char *err, size_t errlen)
{
	char ip[IP_STRLEN];
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* An address still tentative (IPv6 duplicate address detection right after the
	 * node's link came up) binds all the same, and answers once it is usable. */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;
		snprintf(err, errlen, "listening on %s port %d/%s: %s", ip,
			 ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
							: ((const struct sockaddr_in6 *)ss)->sin6_port),
			 type == SOCK_STREAM ? "tcp" : "udp", strerror(e));
		close(fd);
		return -e;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	return fd;
}

static char **strv_dup(const char *const *v)
{
	if (!v)
		return NULL;
	size_t n = 0;
	while (v[n])
		n++;
	char **o = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		o[i] = xstrdup(v[i]);
	return o;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int dns_server_start(const struct dns_server_opts *o, struct dns_server **out, char *err, size_t errlen)
{
	struct dns_server *s = xcalloc(1, sizeof(*s));
	int rc = -EINVAL;
	char **ups = NULL;
	s->stopfd = -1;
	for (int i = 0; i < MAX_LISTEN; i++)
		s->tcp_fd[i] = -1;
	for (int i = 0; i < MAX_WORKERS; i++) {
		s->workers[i].epfd = -1;
		for (int k = 0; k < MAX_LISTEN; k++)
			s->workers[i].fds[k] = -1;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->zone = xstrdup(o->zone && *o->zone ? o->zone : "cluster.local");
	s->ttl = o->ttl_set ? o->ttl : DNS_DEFAULT_TTL;
	s->dns_ips = strv_dup(o->dns_ips);
	s->allow_any = o->allow_any;
	s->port = o->port > 0 ? o->port : 53;
	for (const char *const *a = o->allow; a && *a; a++) {
		if (s->nextra == sizeof(s->extra) / sizeof(s->extra[0]) ||
		    cidr_parse(*a, &s->extra[s->nextra], err, errlen) < 0) {
			if (s->nextra == sizeof(s->extra) / sizeof(s->extra[0]))
				snprintf(err, errlen, "too many allowed CIDRs (at most 16)");
			goto fail;
		}
		s->nextra++;
	}
	for (const char *const *l = o->listen; l && *l; l++) {
		char hp[96];
		snprintf(hp, sizeof(hp), strchr(*l, ':') ? "[%s]:%d" : "%s:%d", *l, s->port);
		unsigned sl;
		if (s->nla == MAX_LISTEN || dns_upstream_parse(hp, &s->la[s->nla], &sl) < 0) {
			snprintf(err, errlen, "listen address %s is not an IP address (at most %d)", *l,
				 MAX_LISTEN);
			goto fail;
		}
		s->lalen[s->nla++] = sl;
	}
	if (s->nla == 0) {
		snprintf(err, errlen, "no listen address");
		goto fail;
	}
	/* Upstreams: given, or the resolv.conf's, less our own addresses (a loop otherwise). */
	int nups = 0;
	if (o->upstreams) {
		ups = strv_dup(o->upstreams);
	} else {
		dns_resolv_conf_upstreams(o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf", &ups);
		int n = 0;
		for (int i = 0; ups[i]; i++) {
			bool self = false;
			for (const char *const *l = o->listen; *l && !self; l++)
				self = !strcmp(*l, ups[i]);
			if (self)
				free(ups[i]);
			else
				ups[n++] = ups[i];
		}
		ups[n] = NULL;
	}
	while (ups && ups[nups])
		nups++;
	struct dns_fwd_opts fo = {.upstreams = (const char *const *)ups,
				  .timeout_ms = o->upstream_timeout_ms};
	if (dns_fwd_new(&fo, &s->fwd, err, errlen) < 0)
		goto fail;
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ncpu = get_nprocs();
	s->nworkers = o->workers > 0 ? o->workers : ncpu > 0 ? ncpu : 1;
	if (s->nworkers > MAX_WORKERS)
		s->nworkers = MAX_WORKERS;
	/* The first address is required; a later one that cannot be bound (another server
	 * holds port 53 there) is left out with a warning. */
	for (int i = 0; i < s->nla; i++) {
		s->tcp_fd[i] = bind_socket(&s->la[i], s->lalen[i], SOCK_STREAM, err, errlen);
		if (s->tcp_fd[i] < 0 && i == 0) {
			rc = s->tcp_fd[i];
			goto fail;
		}
		if (s->tcp_fd[i] < 0) {
			log_warn("dns: not serving there: %s", err);
			memmove(&s->la[i], &s->la[i + 1], sizeof(s->la[0]) * (size_t)(s->nla - i - 1));
			memmove(&s->lalen[i], &s->lalen[i + 1],
				sizeof(s->lalen[0]) * (size_t)(s->nla - i - 1));
			s->nla--;
			i--;
		}
	}
	for (int w = 0; w < s->nworkers; w++) {
		struct worker *wk = &s->workers[w];
		wk->s = s;
		wk->slot = w;
		wk->epfd = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s->nla};
		epoll_ctl(wk->epfd, EPOLL_CTL_ADD, s->stopfd, &ev);
		for (int i = 0; i < s->nla; i++) {
			wk->fds[i] = bind_socket(&s->la[i], s->lalen[i], SOCK_DGRAM, err, errlen);
			if (wk->fds[i] < 0) {
				rc = wk->fds[i];
				goto fail;
			}
			ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = (uint32_t)i};
			epoll_ctl(wk->epfd, EPOLL_CTL_ADD, wk->fds[i], &ev);
		}
	}
	/* Before the first lists: a view that answers SERVFAIL for the zone. */
	struct snap *p0 = xcalloc(1, sizeof(*p0));
	struct dns_view_config vc = {.zone = s->zone, .ttl = s->ttl};
	p0->view = dns_view_build(&vc, false, NULL, NULL, NULL, NULL, err, errlen);
	if (!p0->view) {
		free(p0);
		goto fail;
	}
	build_allow(s, NULL, p0);
	atomic_store(&s->cur, p0);
	static const char *const paths[NINF] = {"/api/v1/services",
						"/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/pods",
						"/api/v1/namespaces", "/api/v1/nodes"};
	for (int i = 0; i < NINF; i++) {
		s->iud[i] = (struct inf_ud){s, i};
		struct informer_handlers h = {
		    .on_add = h_add, .on_update = h_update, .on_delete = h_add, .on_synced = h_synced};
		s->inf[i] = informer_new(o->cfg, paths[i], &h, &s->iud[i]);
	}
	/* The same projection as the node's other slice readers, so they share one copy. */
	informer_set_transform(s->inf[INF_SLICE], api_endpointslice_compact, API_ENDPOINTSLICE_COMPACT_TAG);
	if (pthread_create(&s->builder, NULL, builder_main, s) != 0) {
		snprintf(err, errlen, "dns builder thread: %s", strerror(errno));
		goto fail;
	}
	s->builder_started = true;
	for (int i = 0; i < NINF; i++)
		informer_start(s->inf[i]);
	for (int w = 0; w < s->nworkers; w++) {
		if (pthread_create(&s->workers[w].th, NULL, udp_main, &s->workers[w]) != 0) {
			snprintf(err, errlen, "dns worker thread: %s", strerror(errno));
			goto fail;
		}
		s->workers[w].started = true;
	}
	if (pthread_create(&s->tcp_thread, NULL, tcp_main, s) != 0) {
		snprintf(err, errlen, "dns tcp thread: %s", strerror(errno));
		goto fail;
	}
	s->tcp_started = true;
	strv_free(ups);
	*out = s;
	return 0;
fail:
	strv_free(ups);
	dns_server_stop(s);
	return rc;
}

bool dns_server_synced(struct dns_server *s)
{
	pthread_mutex_lock(&s->mu);
	bool v = s->all_synced;
	pthread_mutex_unlock(&s->mu);
	return v;
}

static void *informer_free_main(void *arg)
{
	informer_free(arg);
	return NULL;
}

void dns_server_stop(struct dns_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (s->stopfd >= 0) {
		uint64_t one = 1;
		if (write(s->stopfd, &one, sizeof(one)) < 0)
			log_warn("dns: stop: %s", strerror(errno));
	}
	for (int w = 0; w < s->nworkers; w++)
		if (s->workers[w].started)
			pthread_join(s->workers[w].th, NULL);
	if (s->tcp_started)
		pthread_join(s->tcp_thread, NULL);
	/* The builder first: it lists the informers. */
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->builder_started)
		pthread_join(s->builder, NULL);
	/* Then the informers (their handlers only mark the builder's state dirty, under a
	 * lock that stays valid), all at once: each takes up to a second to notice, and the
	 * agent's SIGTERM has a budget. */
	pthread_t ith[NINF];
	bool ijoin[NINF];
	for (int i = 0; i < NINF; i++) {
		ijoin[i] = s->inf[i] && pthread_create(&ith[i], NULL, informer_free_main, s->inf[i]) == 0;
		if (!ijoin[i])
			informer_free(s->inf[i]);
	}
	for (int i = 0; i < NINF; i++)
		if (ijoin[i])
			pthread_join(ith[i], NULL);
	/* The forwarder completes every job still in flight (UDP replies need the sockets
	 * open; TCP connections are waiting for theirs). */
	dns_fwd_free(s->fwd);
	for (int k = 0; k < 500 && atomic_load(&s->tcp_conns) > 0; k++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	for (int w = 0; w < MAX_WORKERS; w++) {
		for (int i = 0; i < MAX_LISTEN; i++)
			if (s->workers[w].fds[i] >= 0)
				close(s->workers[w].fds[i]);
		if (s->workers[w].epfd >= 0)
			close(s->workers[w].epfd);
	}
	for (int i = 0; i < MAX_LISTEN; i++)
		if (s->tcp_fd[i] >= 0)
			close(s->tcp_fd[i]);
	if (atomic_load(&s->tcp_conns) == 0) {
		if (s->stopfd >= 0)
			close(s->stopfd);
		snap_free(atomic_load(&s->cur));
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s->zone);
		strv_free(s->dns_ips);
		free(s);
	} else {
		log_warn("dns: %d TCP connections did not close; leaving their state",
			 atomic_load(&s->tcp_conns));
	}
}
