/* test_server.c - the DNS server's sockets, without root and without an API: its
 * informers point at a closed port, so the zone is never synced. Over UDP and TCP on
 * loopback: the zone answers SERVFAIL (never a false NXDOMAIN), other names go to a fake
 * upstream, a malformed query gets FORMERR, a response sent as a query gets nothing, and
 * TCP framing carries pipelined questions. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "dns/server.h"
#include "dns/wire.h"
#include "harness/t.h"
#include "unit/dns/dnstest.h"

/* A free loopback port (UDP and TCP are both free right after: good enough for a test). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

/* Sends q over UDP to port and waits (bounded) for one reply into r; returns its length
 * or 0 when none came within wait_ms. */
static size_t udp_ask(int port, const uint8_t *q, size_t ql, uint8_t *r, size_t cap, int wait_ms)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sendto(fd, q, ql, 0, (struct sockaddr *)&a, sizeof(a));
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	ssize_t n = 0;
	if (poll(&pf, 1, wait_ms) == 1)
		n = recv(fd, r, cap, 0);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

static bool read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 10000) != 1)
			return false;
		ssize_t r = recv(fd, p + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

TEST(dns_server_before_sync_udp_tcp)
{
	int port = free_port(), up_port = free_port();
	/* The fake upstream answers one forwarded question. */
	int up = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)up_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_INT_EQ(bind(up, (struct sockaddr *)&ua, sizeof(ua)), 0);
	char ups[32], portbuf[16];
	snprintf(ups, sizeof(ups), "127.0.0.1:%d", up_port);
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	struct client_config cc;
	client_config_init(&cc);
	cc.server = strdup("http://127.0.0.1:1"); /* nothing listens: never synced */
	cc.namespace_ = strdup("default");
	const char *listen[] = {"127.0.0.1", NULL}, *upv[] = {ups, NULL};
	struct dns_server_opts o = {
	    .cfg = &cc, .listen = listen, .port = port, .upstreams = upv, .workers = 2};
	struct dns_server *s = NULL;
	char err[256];
	log_set_level(LOG_ERROR); /* the informers' refused connections are expected here */
	int rc = dns_server_start(&o, &s, err, sizeof(err));
	client_config_fini(&cc);
	if (rc < 0) {
		close(up);
		t_fail(__FILE__, __LINE__, "dns_server_start: %s", err);
	}
	ASSERT(!dns_server_synced(s));
	uint8_t q[512], r[4096];
	char t[1024];

	/* The zone before the first list: SERVFAIL, over UDP and TCP. */
	size_t ql = dnstest_query(q, "svc.ns.svc.cluster.local", DNS_T_A, 0);
	size_t n = udp_ask(port, q, ql, r, sizeof(r), 5000);
	ASSERT_STR_EQ(dnstest_fmt(r, n, t, sizeof(t)), "SERVFAIL | |");

	/* Malformed: FORMERR with the id; a response: no answer at all. */
	uint8_t bad[] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 'a'};
	n = udp_ask(port, bad, sizeof(bad), r, sizeof(r), 5000);
	ASSERT_STR_EQ(dnstest_fmt(r, n, t, sizeof(t)), "FORMERR | |");
	ASSERT_INT_EQ(r[0] << 8 | r[1], 0xabcd);
	q[2] |= 0x80;
	ASSERT_INT_EQ(udp_ask(port, q, ql, r, sizeof(r), 300), 0);
	q[2] &= 0x7f;

	/* TCP: two questions pipelined on one connection, answered in order. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_INT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	uint8_t two[1200];
	size_t l1 = dnstest_query(two + 2, "a.cluster.local", DNS_T_A, 0);
	two[0] = (uint8_t)(l1 >> 8), two[1] = (uint8_t)l1;
	size_t l2 = dnstest_query(two + 4 + l1, "b.cluster.local", DNS_T_TXT, 1232);
	two[2 + l1] = (uint8_t)(l2 >> 8), two[3 + l1] = (uint8_t)l2;
	ASSERT_INT_EQ(send(fd, two, 4 + l1 + l2, 0), (long long)(4 + l1 + l2));
	for (int i = 0; i < 2; i++) {
		uint8_t lb[2];
		ASSERT(read_all(fd, lb, 2));
		size_t len = (size_t)(lb[0] << 8 | lb[1]);
		ASSERT(read_all(fd, r, len));
		ASSERT_STR_EQ(dnstest_fmt(r, len, t, sizeof(t)),
			      i == 0 ? "SERVFAIL | |" : "SERVFAIL | | OPT;");
	}
	close(fd);

	/* Other names are forwarded from the start: the upstream sees the question. */
	ql = dnstest_query(q, "www.example.test", DNS_T_A, 0);
	int cl = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(cl, q, ql, 0, (struct sockaddr *)&a, sizeof(a));
	struct pollfd pf = {.fd = up, .events = POLLIN};
	ASSERT_INT_EQ(poll(&pf, 1, 5000), 1);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	uint8_t uq[512];
	ssize_t un = recvfrom(up, uq, sizeof(uq), 0, (struct sockaddr *)&from, &fl);
	ASSERT(un > DNS_HDR_LEN);
	/* Answer it: NXDOMAIN with no SOA (not cached). */
	uq[2] = 0x81, uq[3] = 0x83;
	uq[10] = uq[11] = 0; /* drop our OPT from the additional count */
	struct dns_query pq;
	size_t qend = DNS_HDR_LEN;
	uint8_t nm[DNS_NAME_MAX];
	ASSERT(dns_name_read(uq, (size_t)un, &qend, nm) > 0);
	sendto(up, uq, qend + 4, 0, (struct sockaddr *)&from, fl);
	pf = (struct pollfd){.fd = cl, .events = POLLIN};
	ASSERT_INT_EQ(poll(&pf, 1, 5000), 1);
	n = (size_t)recv(cl, r, sizeof(r), 0);
	ASSERT_INT_EQ(dns_query_parse(q, ql, &pq), 0);
	ASSERT_STR_EQ(dnstest_fmt(r, n, t, sizeof(t)), "NXDOMAIN | |");
	ASSERT_INT_EQ(r[0] << 8 | r[1], 0x1234);
	close(cl);
	dns_server_stop(s);
	log_set_level(LOG_INFO);
	close(up);
}
