/* test_uproxy.c - the userspace proxy's loops on loopback, without nftables (dry): TCP
 * relay of a large body both ways with half-close, a listed backend that refuses is
 * retried past with no client-visible error (also with bytes the client sent before the
 * backend connected), a peer that leaves while the other streams leaves the proxy serving, a
 * Service with no endpoint resets at once, UDP replies come back from the proxy's port,
 * a bad scheduler annotation is reported once, and the idle timeouts (shortened through
 * the test-only environment) close a silent TCP connection and forget a silent UDP flow.
 * No root needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/mem.h"
#include "harness/t.h"
#include "proxy/uproxy.h"

static int tcp_listen_any(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT(fd >= 0);
	ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_INT_EQ(listen(fd, 16), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

static int udp_bind_any(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

static int tcp_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static bool wait_in(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Reads until EOF (bounded by 10 s of silence); returns bytes, or -errno. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap && wait_in(fd, 10000)) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* n bytes cycling through mod letters from base (heap). */
static char *pattern(size_t n, char base, int mod)
{
	char *p = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(base + (int)(i % (size_t)mod));
	return p;
}

/* A client connection to the proxy's port and the backend's accepted end of it. */
static void connect_pair(uint16_t port, int lfd, int *cfd, int *bfd)
{
	*cfd = tcp_connect(port);
	ASSERT(*cfd >= 0);
	ASSERT(wait_in(lfd, 10000));
	*bfd = accept(lfd, NULL, NULL);
	ASSERT(*bfd >= 0);
}

/* The backend (bfd) writes msg and closes; the client (cfd) reads exactly msg, then EOF. */
static void backend_says(int cfd, int bfd, const char *msg)
{
	size_t n = strlen(msg);
	char d[64];
	ASSERT_INT_EQ(write(bfd, msg, n), (ssize_t)n);
	close(bfd);
	ASSERT_INT_EQ(read_all(cfd, d, sizeof(d)), (ssize_t)n);
	ASSERT(!memcmp(d, msg, n));
	close(cfd);
}

/* Service web (TCP 80 -> port), endpoints at 127.0.0.1 and 127.0.0.2 (nothing listens
 * there: refused), optional annotation; plus UDP dns (53 -> uport) at 127.0.0.1 and
 * empty (no endpoints). */
static void model(struct proxy_model *m, json_t **svcs_out, uint16_t port, uint16_t uport, const char *sched)
{
	json_t *svcs = json_pack(
	    "[{s:s,s:{s:s,s:s,s:{}},s:{s:s,s:[{s:s,s:i,s:i,s:s}]}},"
	    "{s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i,s:s}]}},"
	    "{s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i,s:s}]}}]",
	    "kind", "Service", "metadata", "namespace", "default", "name", "web", "annotations", "spec",
	    "clusterIP", "198.19.0.20", "ports", "name", "http", "port", 80, "targetPort", port, "protocol",
	    "TCP", "kind", "Service", "metadata", "namespace", "default", "name", "dns", "spec", "clusterIP",
	    "198.19.0.53", "ports", "name", "dns", "port", 53, "targetPort", uport, "protocol", "UDP", "kind",
	    "Service", "metadata", "namespace", "default", "name", "empty", "spec", "clusterIP",
	    "198.19.0.54", "ports", "name", "http", "port", 80, "targetPort", 80, "protocol", "TCP");
	if (sched)
		json_object_set_new(
		    json_object_get(json_object_get(json_array_get(svcs, 0), "metadata"), "annotations"),
		    UPROXY_SCHED_ANNOTATION, json_string(sched));
	json_t *slices = json_pack(
	    "[{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s]},{s:[s]}],s:[{s:s,s:i,s:s}]},"
	    "{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s]}],s:[{s:s,s:i,s:s}]}]",
	    "kind", "EndpointSlice", "metadata", "namespace", "default", "name", "web-a", "labels",
	    "kubernetes.io/service-name", "web", "addressType", "IPv4", "endpoints", "addresses", "127.0.0.1",
	    "addresses", "127.0.0.2", "ports", "name", "http", "port", port, "protocol", "TCP", "kind",
	    "EndpointSlice", "metadata", "namespace", "default", "name", "dns-a", "labels",
	    "kubernetes.io/service-name", "dns", "addressType", "IPv4", "endpoints", "addresses", "127.0.0.1",
	    "ports", "name", "dns", "port", uport, "protocol", "UDP");
	proxy_model_build(svcs, slices, "n1", m);
	json_decref(slices);
	*svcs_out = svcs;
}

TEST(uproxy_tcp_relay_retry_and_udp_on_loopback)
{
	uint16_t bport, uport;
	int lfd = tcp_listen_any(&bport);
	int ufd = udp_bind_any(&uport);
	struct uproxy *u = NULL;
	struct uproxy_config c = {.loops = 2, .dry = true, .connect_timeout_ms = 2000};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &u, err, sizeof(err)), 0);
	struct proxy_model m;
	json_t *svcs, *bad = json_array();
	model(&m, &svcs, bport, uport, "nosuch");
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, bad, err, sizeof(err)), 0);
	/* The bad annotation is reported once, rr is used. */
	ASSERT_INT_EQ(json_array_size(bad), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(bad, 0), "value")), "nosuch");
	json_array_clear(bad);
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, bad, err, sizeof(err)), 0);
	ASSERT_INT_EQ(json_array_size(bad), 0);
	uint16_t port = uproxy_port(u, "default/web/http/4/tcp", false);
	ASSERT(port != 0);
	/* rr alternates between the two endpoints; every connection must still reach the
	 * live one: 6 connections, 3 of which first tried the dead one. */
	enum { BIG = 1 << 20 };
	char *body = pattern(BIG, 'a', 23), *got = xmalloc(BIG + 16);
	for (int k = 0; k < 6; k++) {
		int cfd, bfd;
		connect_pair(port, lfd, &cfd, &bfd);
		/* client -> backend, then client half-closes */
		ASSERT_INT_EQ(write(cfd, "hello", 5), 5);
		shutdown(cfd, SHUT_WR);
		char small[16];
		ASSERT_INT_EQ(read_all(bfd, small, sizeof(small)), 5);
		ASSERT(!memcmp(small, "hello", 5));
		/* backend -> client: 1 MiB after the client's EOF (half-close kept open) */
		size_t off = 0;
		while (off < BIG) {
			ssize_t n = write(bfd, body + off, BIG - off);
			ASSERT(n > 0);
			off += (size_t)n;
		}
		close(bfd);
		ASSERT_INT_EQ(read_all(cfd, got, BIG + 16), BIG);
		ASSERT(!memcmp(got, body, BIG));
		close(cfd);
	}
	struct buf mb;
	buf_init(&mb);
	uproxy_metrics_write(u, &mb);
	const char *r = strstr(mb.data, "\nsvcplane_uproxy_retries_total ");
	ASSERT(r != NULL);
	if (atoi(r + strlen("\nsvcplane_uproxy_retries_total ")) < 3)
		t_fail(__FILE__, __LINE__, "%s", mb.data);
	ASSERT_STR_CONTAINS(mb.data, "svcplane_uproxy_connections_total 6\n");
	buf_fini(&mb);
	/* UDP: a datagram to the proxy's port reaches the backend, whose reply comes back
	 * from the proxy's port. */
	uint16_t up = uproxy_port(u, "default/dns/dns/4/udp", false);
	ASSERT(up != 0);
	int cu = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in pa = {
	    .sin_family = AF_INET, .sin_port = htons(up), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_INT_EQ(sendto(cu, "ping", 4, 0, (struct sockaddr *)&pa, sizeof(pa)), 4);
	ASSERT(wait_in(ufd, 10000));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char d[64];
	ASSERT_INT_EQ(recvfrom(ufd, d, sizeof(d), 0, (struct sockaddr *)&from, &fl), 4);
	ASSERT_INT_EQ(sendto(ufd, "pong", 4, 0, (struct sockaddr *)&from, fl), 4);
	ASSERT(wait_in(cu, 10000));
	fl = sizeof(from);
	ASSERT_INT_EQ(recvfrom(cu, d, sizeof(d), 0, (struct sockaddr *)&from, &fl), 4);
	ASSERT(!memcmp(d, "pong", 4));
	ASSERT_INT_EQ(ntohs(from.sin_port), up);
	/* An endpoint change that keeps the live backend keeps an open connection. */
	int cfd = tcp_connect(port);
	ASSERT(wait_in(lfd, 10000));
	int bfd = accept(lfd, NULL, NULL);
	proxy_model_fini(&m);
	json_decref(svcs);
	model(&m, &svcs, bport, uport, "lc");
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, bad, err, sizeof(err)), 0);
	ASSERT_INT_EQ(write(cfd, "x", 1), 1);
	ASSERT(wait_in(bfd, 10000));
	ASSERT_INT_EQ(read(bfd, d, 1), 1);
	close(cfd);
	close(bfd);
	close(cu);
	free(body);
	free(got);
	json_decref(bad);
	json_decref(svcs);
	proxy_model_fini(&m);
	uproxy_free(u);
	close(lfd);
	close(ufd);
}

struct writer {
	int fd;
	const char *p;
	size_t n;
	bool shut; /* half-close when done */
};

/* Thread: writes n bytes (stops at an error), then half-closes if asked. */
static void *write_all(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;
	while (off < w->n) {
		ssize_t k = send(w->fd, w->p + off, w->n - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	if (w->shut)
		shutdown(w->fd, SHUT_WR);
	return NULL;
}

static long metric(struct uproxy *u, const char *name)
{
	struct buf mb;
	buf_init(&mb);
	uproxy_metrics_write(u, &mb);
	char *key = xasprintf("\n%s ", name);
	const char *r = strstr(mb.data, key);
	long v = r ? atol(r + strlen(key)) : -1;
	free(key);
	buf_fini(&mb);
	return v;
}

/* One loop proxying Service web (model()) to a backend listening on lfd. */
struct web {
	int lfd;
	struct uproxy *u;
	struct proxy_model m;
	json_t *svcs;
	uint16_t port; /* the proxy's */
};

static void web_up(struct web *w, const char *sched)
{
	uint16_t bport;
	w->lfd = tcp_listen_any(&bport);
	struct uproxy_config c = {.loops = 1, .dry = true};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &w->u, err, sizeof(err)), 0);
	model(&w->m, &w->svcs, bport, 9, sched);
	ASSERT_INT_EQ(uproxy_sync(w->u, &w->m, w->svcs, NULL, err, sizeof(err)), 0);
	w->port = uproxy_port(w->u, "default/web/http/4/tcp", false);
	ASSERT(w->port != 0);
}

static void web_down(struct web *w)
{
	json_decref(w->svcs);
	proxy_model_fini(&w->m);
	uproxy_free(w->u);
	close(w->lfd);
}

TEST(uproxy_client_bytes_sent_before_the_connect_survive_a_retry)
{
	/* Clients write 1 MiB and half-close at once, before the proxy has accepted: what
	 * the proxy read before its backend connected reaches the backend that connects,
	 * also when rr's first pick (127.0.0.2) refuses; the reply sent after the upload
	 * comes back. */
	struct web fx;
	web_up(&fx, NULL);
	int lfd = fx.lfd;
	uint16_t port = fx.port;
	enum { BIG = 1 << 20 };
	char *body = pattern(BIG, 'A', 51), *got = xmalloc(BIG + 16);
	for (int k = 0; k < 4; k++) {
		int cfd = tcp_connect(port);
		ASSERT(cfd >= 0);
		struct writer w = {cfd, body, BIG, true};
		pthread_t th;
		ASSERT_INT_EQ(pthread_create(&th, NULL, write_all, &w), 0);
		ASSERT(wait_in(lfd, 10000));
		int bfd = accept(lfd, NULL, NULL);
		ASSERT(bfd >= 0);
		ASSERT_INT_EQ(read_all(bfd, got, BIG + 16), BIG);
		ASSERT(!memcmp(got, body, BIG));
		ASSERT_INT_EQ(write(bfd, "done", 4), 4);
		close(bfd);
		char d[8];
		ASSERT_INT_EQ(read_all(cfd, d, sizeof(d)), 4);
		ASSERT(!memcmp(d, "done", 4));
		pthread_join(th, NULL);
		close(cfd);
	}
	ASSERT(metric(fx.u, "svcplane_uproxy_retries_total") >= 2);
	ASSERT_INT_EQ(metric(fx.u, "svcplane_uproxy_resets_total"), 0);
	free(body);
	free(got);
	web_down(&fx);
}

TEST(uproxy_survives_a_peer_that_leaves_while_the_other_streams)
{
	/* The backend closes at once (FIN) while the client streams 8 MiB; then the other
	 * way round. The relay's first writes to the closed side draw a reset (the socket
	 * was in CLOSE_WAIT: its error is EPIPE), the next raises SIGPIPE in splice (no
	 * MSG_NOSIGNAL there): blocked in the loops, or this process dies, as it did. The
	 * streaming side is reset, and the proxy serves the next connection. */
	struct web fx;
	web_up(&fx, "sh"); /* one client address: always the same backend */
	enum { BIG = 8 << 20 };
	char *body = xcalloc(1, BIG);
	for (int way = 0; way < 2; way++) {
		int cfd, bfd;
		connect_pair(fx.port, fx.lfd, &cfd, &bfd);
		int from = way ? bfd : cfd, gone = way ? cfd : bfd;
		close(gone);
		struct writer w = {from, body, BIG, false};
		pthread_t th;
		ASSERT_INT_EQ(pthread_create(&th, NULL, write_all, &w), 0);
		pthread_join(th, NULL); /* ends when the proxy resets the writer */
		close(from);
	}
	int cfd, bfd;
	connect_pair(fx.port, fx.lfd, &cfd, &bfd);
	backend_says(cfd, bfd, "next");
	free(body);
	web_down(&fx);
}

TEST(uproxy_resets_when_every_backend_refuses)
{
	/* Endpoints only where nothing listens: the client is reset, never left hanging. */
	uint16_t bport;
	int lfd = tcp_listen_any(&bport);
	close(lfd); /* now nothing listens on 127.0.0.1:bport either */
	struct uproxy *u = NULL;
	struct uproxy_config c = {.loops = 1, .dry = true};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &u, err, sizeof(err)), 0);
	struct proxy_model m;
	json_t *svcs;
	model(&m, &svcs, bport, 9, NULL);
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, NULL, err, sizeof(err)), 0);
	uint16_t port = uproxy_port(u, "default/web/http/4/tcp", false);
	int cfd = tcp_connect(port);
	ASSERT(cfd >= 0);
	char d[8];
	ASSERT(wait_in(cfd, 10000));
	ssize_t n = read(cfd, d, sizeof(d));
	ASSERT(n <= 0);
	if (n < 0)
		ASSERT_INT_EQ(errno, ECONNRESET);
	close(cfd);
	json_decref(svcs);
	proxy_model_fini(&m);
	uproxy_free(u);
}

/* A proxy of `loops` loops serving the model of svcs and slices (m, which the caller
 * finishes with proxy_model_fini). */
static struct uproxy *proxy_up(json_t *svcs, json_t *slices, int loops, struct proxy_model *m)
{
	proxy_model_build(svcs, slices, "n1", m);
	struct uproxy *u = NULL;
	struct uproxy_config c = {.loops = loops, .dry = true};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &u, err, sizeof(err)), 0);
	ASSERT_INT_EQ(uproxy_sync(u, m, svcs, NULL, err, sizeof(err)), 0);
	return u;
}

TEST(uproxy_ipv6_relay_on_loopback)
{
	/* An IPv6 service port: its listener is IPv6-only ([::]:port), the backend ::1. */
	int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		t_skip("no IPv6 loopback here");
	ASSERT_INT_EQ(listen(lfd, 16), 0);
	socklen_t l = sizeof(a);
	getsockname(lfd, (struct sockaddr *)&a, &l);
	uint16_t bport = ntohs(a.sin6_port);
	json_t *svcs =
	    json_pack("[{s:s,s:{s:s,s:s},s:{s:s,s:[s],s:[{s:s,s:i,s:i}]}}]", "kind", "Service", "metadata",
		      "namespace", "default", "name", "v6", "spec", "clusterIP", "2001:db8:5::10",
		      "ipFamilies", "IPv6", "ports", "name", "t", "port", 80, "targetPort", bport);
	json_t *slices = json_pack("[{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s]}],s:[{s:s,s:i}]}]", "kind",
				   "EndpointSlice", "metadata", "namespace", "default", "name", "v6-a",
				   "labels", "kubernetes.io/service-name", "v6", "addressType", "IPv6",
				   "endpoints", "addresses", "::1", "ports", "name", "t", "port", bport);
	struct proxy_model m;
	struct uproxy *u = proxy_up(svcs, slices, 1, &m);
	uint16_t port = uproxy_port(u, "default/v6/t/6/tcp", false);
	ASSERT(port != 0);
	int cfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 pa = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_loopback};
	ASSERT_INT_EQ(connect(cfd, (struct sockaddr *)&pa, sizeof(pa)), 0);
	ASSERT(wait_in(lfd, 10000));
	backend_says(cfd, accept(lfd, NULL, NULL), "six");
	close(lfd);
	uproxy_free(u);
	proxy_model_fini(&m);
	json_decref(svcs);
	json_decref(slices);
}

/* A UDP service port whose only endpoint is 127.0.0.1:port. */
static void udp_model(struct proxy_model *m, json_t **svcs, uint16_t port)
{
	*svcs = json_pack("[{s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i,s:s}]}}]", "kind", "Service", "metadata",
			  "namespace", "default", "name", "u", "spec", "clusterIP", "198.19.0.77", "ports",
			  "name", "u", "port", 53, "targetPort", port, "protocol", "UDP");
	json_t *slices =
	    json_pack("[{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s]}],s:[{s:s,s:i,s:s}]}]", "kind",
		      "EndpointSlice", "metadata", "namespace", "default", "name", "u-a", "labels",
		      "kubernetes.io/service-name", "u", "addressType", "IPv4", "endpoints", "addresses",
		      "127.0.0.1", "ports", "name", "u", "port", port, "protocol", "UDP");
	proxy_model_build(*svcs, slices, "n1", m);
	json_decref(slices);
}

TEST(uproxy_udp_flow_follows_a_replaced_backend)
{
	/* One client socket (one flow): its backend is replaced by another; the next
	 * datagram of the same flow reaches the new one, never a black hole. */
	uint16_t pa, pb;
	int a = udp_bind_any(&pa), b = udp_bind_any(&pb);
	struct uproxy *u = NULL;
	struct uproxy_config c = {.loops = 2, .dry = true};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &u, err, sizeof(err)), 0);
	struct proxy_model m;
	json_t *svcs;
	udp_model(&m, &svcs, pa);
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, NULL, err, sizeof(err)), 0);
	uint16_t port = uproxy_port(u, "default/u/u/4/udp", false);
	int cu = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in px = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_INT_EQ(connect(cu, (struct sockaddr *)&px, sizeof(px)), 0);
	char d[16];
	ASSERT_INT_EQ(send(cu, "one", 3, 0), 3);
	ASSERT(wait_in(a, 10000));
	ASSERT_INT_EQ(recv(a, d, sizeof(d), 0), 3);
	proxy_model_fini(&m);
	json_decref(svcs);
	udp_model(&m, &svcs, pb);
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, NULL, err, sizeof(err)), 0);
	ASSERT_INT_EQ(send(cu, "two", 3, 0), 3);
	ASSERT(wait_in(b, 10000));
	ASSERT_INT_EQ(recv(b, d, sizeof(d), 0), 3);
	ASSERT(!memcmp(d, "two", 3));
	ASSERT(!wait_in(a, 0));
	close(cu);
	close(a);
	close(b);
	uproxy_free(u);
	proxy_model_fini(&m);
	json_decref(svcs);
}

/* The TCP_DEFER_ACCEPT value of this process's listening socket on port, or -1. */
static int defer_of_listener(uint16_t port)
{
	int found = -1;
	for (int fd = 3; fd < 4096 && found < 0; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int lst = 0, v = 0;
		socklen_t ll = sizeof(lst), vl = sizeof(v);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != AF_INET ||
		    ntohs(((struct sockaddr_in *)&ss)->sin_port) != port ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &lst, &ll) < 0 || !lst)
			continue;
		if (getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &vl) == 0)
			found = v;
	}
	return found;
}

TEST(uproxy_client_first_ports_wait_for_the_first_bytes)
{
	/* A port whose appProtocol is http (any case) is accepted only once the client's
	 * first bytes are in (TCP_DEFER_ACCEPT on its listener): they go to the backend with
	 * the connect. A port without one (a server-first protocol: the backend greets
	 * first) is accepted at once, and the greeting reaches a client that has sent
	 * nothing. Dropping the appProtocol clears it on the next sync. */
	uint16_t bport;
	int lfd = tcp_listen_any(&bport);
	json_t *svcs =
	    json_pack("[{s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i,s:s},{s:s,s:i,s:i}]}}]", "kind", "Service",
		      "metadata", "namespace", "default", "name", "app", "spec", "clusterIP", "198.19.0.30",
		      "ports", "name", "web", "port", 80, "targetPort", bport, "appProtocol", "HTTP", "name",
		      "db", "port", 3306, "targetPort", bport);
	json_t *slices =
	    json_pack("[{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s]}],s:[{s:s,s:i},{s:s,s:i}]}]", "kind",
		      "EndpointSlice", "metadata", "namespace", "default", "name", "app-a", "labels",
		      "kubernetes.io/service-name", "app", "addressType", "IPv4", "endpoints", "addresses",
		      "127.0.0.1", "ports", "name", "web", "port", bport, "name", "db", "port", bport);
	struct proxy_model m;
	struct uproxy *u = proxy_up(svcs, slices, 2, &m);
	uint16_t web = uproxy_port(u, "default/app/web/4/tcp", false);
	uint16_t db = uproxy_port(u, "default/app/db/4/tcp", false);
	ASSERT(web != 0 && db != 0);
	ASSERT(defer_of_listener(web) > 0);
	ASSERT_INT_EQ(defer_of_listener(db), 0);
	/* Client first, through the http port. */
	int cfd = tcp_connect(web);
	ASSERT(cfd >= 0);
	ASSERT_INT_EQ(write(cfd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	ASSERT(wait_in(lfd, 10000));
	int bfd = accept(lfd, NULL, NULL);
	ASSERT(bfd >= 0);
	char d[32];
	ASSERT(wait_in(bfd, 10000));
	ASSERT_INT_EQ(read(bfd, d, sizeof(d)), 18);
	backend_says(cfd, bfd, "HTTP/1.0 200 OK\r\n\r\n");
	/* Server first, through the other port: the client sends nothing. */
	int cfd2, bfd2;
	connect_pair(db, lfd, &cfd2, &bfd2);
	backend_says(cfd2, bfd2, "greeting");
	/* appProtocol removed: the next sync clears the option on the same listener. */
	json_object_del(
	    json_array_get(json_object_get(json_object_get(json_array_get(svcs, 0), "spec"), "ports"), 0),
	    "appProtocol");
	proxy_model_fini(&m);
	proxy_model_build(svcs, slices, "n1", &m);
	char err[256];
	ASSERT_INT_EQ(uproxy_sync(u, &m, svcs, NULL, err, sizeof(err)), 0);
	ASSERT_INT_EQ(uproxy_port(u, "default/app/web/4/tcp", false), web);
	ASSERT_INT_EQ(defer_of_listener(web), 0);
	json_decref(slices);
	json_decref(svcs);
	proxy_model_fini(&m);
	uproxy_free(u);
	close(lfd);
}

/* Polls metric name of u until it equals want (bounded: 10 s); returns the last value. */
static long metric_wait(struct uproxy *u, const char *name, long want)
{
	long v = -1;
	for (int i = 0; i < 1000 && (v = metric(u, name)) != want; i++)
		poll(NULL, 0, 10);
	return v;
}

TEST(uproxy_idle_timeouts_from_the_environment)
{
	/* The test-only overrides shorten both idle timeouts: a silent TCP connection is
	 * closed (reset) and a silent UDP flow forgotten; a bad value is ignored. */
	setenv("SVCPLANE_UPROXY_TCP_IDLE_MS", "200", 1);
	setenv("SVCPLANE_UPROXY_UDP_IDLE_MS", "not-ms", 1);
	struct web fx;
	web_up(&fx, NULL);
	setenv("SVCPLANE_UPROXY_UDP_IDLE_MS", "200", 1);
	uint16_t uport;
	int ufd = udp_bind_any(&uport);
	struct uproxy *u2 = NULL;
	struct uproxy_config c = {.loops = 1, .dry = true};
	char err[256];
	ASSERT_INT_EQ(uproxy_new(&c, &u2, err, sizeof(err)), 0);
	unsetenv("SVCPLANE_UPROXY_TCP_IDLE_MS");
	unsetenv("SVCPLANE_UPROXY_UDP_IDLE_MS");
	struct proxy_model m;
	json_t *svcs;
	model(&m, &svcs, 9, uport, NULL);
	ASSERT_INT_EQ(uproxy_sync(u2, &m, svcs, NULL, err, sizeof(err)), 0);

	/* TCP: the relay ends a connection nobody speaks on. */
	int cfd, bfd;
	connect_pair(fx.port, fx.lfd, &cfd, &bfd);
	ASSERT_INT_EQ(metric_wait(fx.u, "svcplane_uproxy_connections_active", 1), 1);
	char d[64];
	ASSERT(wait_in(cfd, 10000));
	ASSERT(read(cfd, d, sizeof(d)) <= 0);
	ASSERT_INT_EQ(metric_wait(fx.u, "svcplane_uproxy_connections_active", 0), 0);
	close(cfd);
	close(bfd);

	/* UDP: one flow, forgotten once silent; the next datagram makes a new one. */
	uint16_t up = uproxy_port(u2, "default/dns/dns/4/udp", false);
	int cu = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in pa = {
	    .sin_family = AF_INET, .sin_port = htons(up), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int k = 1; k <= 2; k++) {
		ASSERT_INT_EQ(sendto(cu, "ping", 4, 0, (struct sockaddr *)&pa, sizeof(pa)), 4);
		ASSERT(wait_in(ufd, 10000));
		ASSERT_INT_EQ(recv(ufd, d, sizeof(d), 0), 4);
		ASSERT_INT_EQ(metric(u2, "svcplane_uproxy_udp_flows_total"), k);
		ASSERT_INT_EQ(metric_wait(u2, "svcplane_uproxy_udp_flows_active", 0), 0);
	}
	close(cu);
	close(ufd);
	json_decref(svcs);
	proxy_model_fini(&m);
	uproxy_free(u2);
	web_down(&fx);
}
