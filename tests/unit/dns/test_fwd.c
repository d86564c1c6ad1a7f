/* test_fwd.c - the forwarder: upstream parsing, cache TTLs (RFC 2308), reply rewriting,
 * and against a fake upstream on loopback: coalescing, the cache, timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/fwd.h"
#include "dns/wire.h"
#include "harness/t.h"
#include "unit/dns/dnstest.h"

TEST(dns_upstream_parse_forms)
{
	struct sockaddr_storage ss;
	unsigned sl;
	ASSERT_INT_EQ(dns_upstream_parse("198.18.0.1", &ss, &sl), 0);
	ASSERT_INT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	ASSERT_INT_EQ(dns_upstream_parse("198.18.0.1:5353", &ss, &sl), 0);
	ASSERT_INT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5353);
	ASSERT_INT_EQ(dns_upstream_parse("2001:db8::1", &ss, &sl), 0);
	ASSERT_INT_EQ(ss.ss_family, AF_INET6);
	ASSERT_INT_EQ(dns_upstream_parse("[2001:db8::1]:54", &ss, &sl), 0);
	ASSERT_INT_EQ(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 54);
	ASSERT_INT_EQ(dns_upstream_parse("example.com", &ss, &sl), -EINVAL);
	ASSERT_INT_EQ(dns_upstream_parse("198.18.0.1:0", &ss, &sl), -EINVAL);
	ASSERT_INT_EQ(dns_upstream_parse("198.18.0.1:x", &ss, &sl), -EINVAL);
	ASSERT_INT_EQ(dns_upstream_parse("[2001:db8::1", &ss, &sl), -EINVAL);
	ASSERT_INT_EQ(dns_upstream_parse("", &ss, &sl), -EINVAL);
}

TEST(dns_resolv_conf_nameservers)
{
	char path[] = "/tmp/svcpt-resolv-XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	const char *txt = "# comment\nsearch example.test\nnameserver 198.18.0.1\nnameserver  2001:db8::53\n"
			  "nameserver bogus\noptions ndots:2\n";
	ASSERT_INT_EQ(write(fd, txt, strlen(txt)), (long long)strlen(txt));
	close(fd);
	char **v;
	ASSERT_INT_EQ(dns_resolv_conf_upstreams(path, &v), 2);
	ASSERT_STR_EQ(v[0], "198.18.0.1");
	ASSERT_STR_EQ(v[1], "2001:db8::53");
	ASSERT(v[2] == NULL);
	for (int i = 0; v[i]; i++)
		free(v[i]);
	free(v);
	unlink(path);
	ASSERT_INT_EQ(dns_resolv_conf_upstreams("/nonexistent/resolv.conf", &v), 0);
	free(v);
}

/* An upstream answer for name/type: answer A records with the given TTLs, or (n == 0)
 * rcode with an SOA of soa_ttl / minimum in the authority section. */
static size_t upstream_msg(uint8_t *b, uint16_t id, const char *name, int rcode, int n, const uint32_t *ttls,
			   uint32_t soa_ttl, uint32_t minimum)
{
	struct dns_wr w;
	uint8_t nm[DNS_NAME_MAX];
	int nl = dns_name_from_text(name, nm, true);
	dns_wr_init(&w, b, 1024);
	dns_wr_header(&w, id, (uint16_t)(DNS_F_QR | DNS_F_RD | DNS_F_RA | rcode), 1, (uint16_t)n, n ? 0 : 1,
		      0);
	dns_wr_bytes(&w, nm, (size_t)nl);
	dns_wr_u16(&w, DNS_T_A);
	dns_wr_u16(&w, DNS_C_IN);
	for (int i = 0; i < n; i++) {
		size_t at = dns_wr_rr_begin(&w, NULL, 0, DNS_T_A, ttls[i]);
		dns_wr_bytes(&w, "\xc6\x12\x07\x07", 4);
		dns_wr_rr_end(&w, at);
	}
	if (!n) {
		size_t at = dns_wr_rr_begin(&w, (const uint8_t *)"\4test\0", 6, DNS_T_SOA, soa_ttl);
		dns_wr_bytes(&w, "\2ns\4test\0\2hm\4test\0", 18);
		for (int i = 0; i < 4; i++)
			dns_wr_u32(&w, 1000);
		dns_wr_u32(&w, minimum);
		dns_wr_rr_end(&w, at);
	}
	return w.len;
}

TEST(dns_fwd_cache_ttl_rules)
{
	uint8_t b[1024];
	uint32_t t[2] = {300, 60};
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, upstream_msg(b, 1, "a.test", 0, 2, t, 0, 0), 3600), 60);
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, upstream_msg(b, 1, "a.test", 0, 2, t, 0, 0), 30), 30);
	/* Negative: min(SOA TTL, SOA MINIMUM). */
	ASSERT_INT_EQ(
	    dns_fwd_cache_ttl(b, upstream_msg(b, 1, "a.test", DNS_R_NXDOMAIN, 0, NULL, 900, 120), 3600), 120);
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, upstream_msg(b, 1, "a.test", 0, 0, NULL, 40, 120), 3600), 40);
	/* Not cached: SERVFAIL, truncated, malformed. */
	size_t n = upstream_msg(b, 1, "a.test", DNS_R_SERVFAIL, 0, NULL, 900, 120);
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, n, 3600), 0);
	n = upstream_msg(b, 1, "a.test", 0, 2, t, 0, 0);
	b[2] |= 0x02;
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, n, 3600), 0);
	b[2] &= (uint8_t)~0x02;
	ASSERT_INT_EQ(dns_fwd_cache_ttl(b, n - 1, 3600), 0);
}

TEST(dns_fwd_reply_rewrites)
{
	uint8_t q[512], up[1024], out[1024];
	char t[8192];
	size_t ql = dnstest_query(q, "Foo.Example.Test", DNS_T_A, 0);
	struct dns_query pq;
	ASSERT_INT_EQ(dns_query_parse(q, ql, &pq), 0);
	uint32_t ttls[1] = {60};
	size_t ul = upstream_msg(up, 0x9999, "foo.example.test", 0, 1, ttls, 0, 0);
	size_t n = dns_fwd_reply(&pq, q, up, ul, 512, out, sizeof(out));
	ASSERT_STR_EQ(dnstest_fmt(out, n, t, sizeof(t)), "NOERROR Foo.Example.Test A 198.18.7.7; | |");
	ASSERT_INT_EQ(out[0] << 8 | out[1], 0x1234);
	/* No upstream answer: SERVFAIL with the question. */
	n = dns_fwd_reply(&pq, q, NULL, 0, 512, out, sizeof(out));
	ASSERT_STR_EQ(dnstest_fmt(out, n, t, sizeof(t)), "SERVFAIL | |");
	/* Too big for the client's 512 bytes: TC. */
	uint32_t many[40];
	for (int i = 0; i < 40; i++)
		many[i] = 60;
	ul = upstream_msg(up, 0x9999, "foo.example.test", 0, 40, many, 0, 0);
	n = dns_fwd_reply(&pq, q, up, ul, 512, out, sizeof(out));
	ASSERT_STR_EQ(dnstest_fmt(out, n, t, sizeof(t)), "NOERROR TC | |");
	/* With EDNS0 it fits, and the OPT is ours. */
	ql = dnstest_query(q, "foo.example.test", DNS_T_A, 1232);
	ASSERT_INT_EQ(dns_query_parse(q, ql, &pq), 0);
	n = dns_fwd_reply(&pq, q, up, ul, pq.udp_size, out, sizeof(out));
	ASSERT_STR_CONTAINS(dnstest_fmt(out, n, t, sizeof(t)), "198.18.7.7; | | OPT;");
}

/* --- against a fake upstream on loopback --------------------------------------- */

struct waiter {
	struct dns_fwd_req req;
	atomic_int done;
	int rcode;
	size_t len;
};

static void on_done(struct dns_fwd_req *r, const uint8_t *resp, size_t len)
{
	struct waiter *w = (struct waiter *)r;
	w->rcode = resp ? resp[3] & 0xf : -1;
	w->len = len;
	atomic_store(&w->done, 1);
}

static void waiter_init(struct waiter *w, const char *name)
{
	memset(w, 0, sizeof(*w));
	int n = dns_name_from_text(name, w->req.name, false);
	w->req.name_len = (size_t)n;
	w->req.qtype = DNS_T_A;
	w->req.qclass = DNS_C_IN;
	w->req.done = on_done;
}

static bool wait_done(struct waiter *w, int ms)
{
	for (int i = 0; i < ms / 5 && !atomic_load(&w->done); i++)
		usleep(5000);
	return atomic_load(&w->done);
}

TEST(dns_fwd_coalesces_caches_and_times_out)
{
	int up = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	ASSERT_INT_EQ(bind(up, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_INT_EQ(getsockname(up, (struct sockaddr *)&a, &al), 0);
	char us[64];
	snprintf(us, sizeof(us), "127.0.0.1:%d", ntohs(a.sin_port));
	const char *ups[] = {us, NULL};
	struct dns_fwd_opts o = {.upstreams = ups, .timeout_ms = 200, .attempts = 1};
	struct dns_fwd *f;
	char err[128];
	ASSERT_INT_EQ(dns_fwd_new(&o, &f, err, sizeof(err)), 0);

	/* Three identical questions (any case): one upstream query. */
	struct waiter w[3];
	waiter_init(&w[0], "a.example.test");
	waiter_init(&w[1], "A.EXAMPLE.test");
	waiter_init(&w[2], "a.example.test");
	for (int i = 0; i < 3; i++)
		dns_fwd_resolve(f, &w[i].req);
	uint8_t b[1024];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pollfd pf = {.fd = up, .events = POLLIN};
	ASSERT_INT_EQ(poll(&pf, 1, 5000), 1);
	ssize_t n = recvfrom(up, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	ASSERT(n > DNS_HDR_LEN);
	uint16_t id = (uint16_t)(b[0] << 8 | b[1]);
	/* A forged reply (wrong id) is ignored; then the real one. */
	uint32_t ttl[1] = {60};
	size_t rl = upstream_msg(b, (uint16_t)(id + 1), "a.example.test", 0, 1, ttl, 0, 0);
	sendto(up, b, rl, 0, (struct sockaddr *)&from, fl);
	rl = upstream_msg(b, id, "a.example.test", 0, 1, ttl, 0, 0);
	sendto(up, b, rl, 0, (struct sockaddr *)&from, fl);
	for (int i = 0; i < 3; i++) {
		ASSERT(wait_done(&w[i], 5000));
		ASSERT_INT_EQ(w[i].rcode, 0);
	}
	ASSERT_INT_EQ(poll(&pf, 1, 100), 0); /* no second query went out */
	/* The cache answers at once, inside dns_fwd_resolve. */
	struct waiter c;
	waiter_init(&c, "a.Example.Test");
	dns_fwd_resolve(f, &c.req);
	ASSERT_INT_EQ(atomic_load(&c.done), 1);
	ASSERT_INT_EQ(c.rcode, 0);
	/* No answer: done with NULL after the timeout. */
	struct waiter t;
	waiter_init(&t, "silent.example.test");
	dns_fwd_resolve(f, &t.req);
	ASSERT(wait_done(&t, 10000));
	ASSERT_INT_EQ(t.rcode, -1);
	dns_fwd_free(f);
	close(up);
}

TEST(dns_fwd_truncated_retries_over_tcp)
{
	/* The fake upstream: UDP and TCP on one loopback port. */
	int lt = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(lt, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	ASSERT_INT_EQ(bind(lt, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_INT_EQ(getsockname(lt, (struct sockaddr *)&a, &al), 0);
	ASSERT_INT_EQ(listen(lt, 4), 0);
	int up = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_INT_EQ(bind(up, (struct sockaddr *)&a, sizeof(a)), 0);
	char us[64];
	snprintf(us, sizeof(us), "127.0.0.1:%d", ntohs(a.sin_port));
	const char *ups[] = {us, NULL};
	struct dns_fwd_opts o = {.upstreams = ups, .timeout_ms = 2000, .attempts = 1};
	struct dns_fwd *f;
	char err[128];
	ASSERT_INT_EQ(dns_fwd_new(&o, &f, err, sizeof(err)), 0);
	struct waiter w;
	waiter_init(&w, "big.example.test");
	dns_fwd_resolve(f, &w.req);
	/* UDP: a truncated answer with no records. */
	uint8_t b[4096];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct pollfd pf = {.fd = up, .events = POLLIN};
	ASSERT_INT_EQ(poll(&pf, 1, 5000), 1);
	ssize_t n = recvfrom(up, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	ASSERT(n > DNS_HDR_LEN);
	uint16_t id = (uint16_t)(b[0] << 8 | b[1]);
	size_t rl = upstream_msg(b, id, "big.example.test", 0, 0, NULL, 60, 60);
	b[2] |= 0x02;
	sendto(up, b, rl, 0, (struct sockaddr *)&from, fl);
	/* TCP: the same question again, answered in full (40 records). */
	pf = (struct pollfd){.fd = lt, .events = POLLIN};
	ASSERT_INT_EQ(poll(&pf, 1, 5000), 1);
	int c = accept(lt, NULL, NULL);
	uint8_t lb[2];
	ASSERT_INT_EQ(recv(c, lb, 2, MSG_WAITALL), 2);
	size_t ql = (size_t)(lb[0] << 8 | lb[1]);
	ASSERT_INT_EQ(recv(c, b, ql, MSG_WAITALL), (long long)ql);
	ASSERT_INT_EQ(b[0] << 8 | b[1], id);
	uint32_t ttls[40];
	for (int i = 0; i < 40; i++)
		ttls[i] = 60;
	rl = upstream_msg(b, id, "big.example.test", 0, 40, ttls, 0, 0);
	lb[0] = (uint8_t)(rl >> 8), lb[1] = (uint8_t)rl;
	ASSERT_INT_EQ(send(c, lb, 2, 0), 2);
	ASSERT_INT_EQ(send(c, b, rl, 0), (long long)rl);
	ASSERT(wait_done(&w, 10000));
	ASSERT_INT_EQ(w.rcode, 0);
	ASSERT_INT_EQ(w.len, rl);
	close(c);
	dns_fwd_free(f);
	close(up);
	close(lt);
}
