/* test_wire.c - the DNS codec on good and bad bytes: names, compression, queries, EDNS0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/wire.h"
#include "harness/t.h"
#include "unit/dns/dnstest.h"

TEST(dns_name_text_round_trip)
{
	uint8_t n[DNS_NAME_MAX];
	char t[300];
	ASSERT_INT_EQ(dns_name_from_text("Svc.NS.svc.cluster.local.", n, true), 26);
	ASSERT_STR_EQ(dns_name_to_text(n, t, sizeof(t)), "svc.ns.svc.cluster.local");
	ASSERT_INT_EQ(dns_name_labels(n), 5);
	ASSERT_INT_EQ(dns_name_suffix(n, 26, 2), 11);
	ASSERT_INT_EQ(dns_name_suffix(n, 26, 6), -1);
	ASSERT_INT_EQ(dns_name_from_text(".", n, false), 1);
	ASSERT_STR_EQ(dns_name_to_text(n, t, sizeof(t)), ".");
	ASSERT_INT_EQ(dns_name_from_text("a..b", n, false), -EINVAL);
	char label[80];
	memset(label, 'x', 64);
	label[64] = 0;
	ASSERT_INT_EQ(dns_name_from_text(label, n, false), -EINVAL);
	label[63] = 0;
	ASSERT_INT_EQ(dns_name_from_text(label, n, false), 65);
	/* 4 x 63-byte labels: 4 * 64 + 1 = 257 > 255. */
	char big[400];
	snprintf(big, sizeof(big), "%s.%s.%s.%s", label, label, label, label);
	ASSERT_INT_EQ(dns_name_from_text(big, n, false), -EINVAL);
	/* Odd bytes come out escaped. */
	uint8_t odd[] = {3, 'a', '.', 0xff, 0};
	ASSERT_STR_EQ(dns_name_to_text(odd, t, sizeof(t)), "a\\046\\255");
}

TEST(dns_name_compression)
{
	uint8_t m[64] = {0}, out[DNS_NAME_MAX];
	/* "example" at 12, then "www" + pointer to 12 at 21. */
	memcpy(m + 12, "\7example\0", 9);
	memcpy(m + 21, "\3www\xc0\x0c", 6);
	size_t off = 21;
	ASSERT_INT_EQ(dns_name_read(m, 27, &off, out), 13);
	ASSERT_INT_EQ(off, 27);
	ASSERT(!memcmp(out, "\3www\7example\0", 13));
	/* A pointer to itself, forwards, or past the end. */
	memcpy(m + 30, "\xc0\x1e", 2);
	off = 30;
	ASSERT_INT_EQ(dns_name_read(m, 32, &off, out), -EBADMSG);
	memcpy(m + 30, "\xc0\x28", 2);
	off = 30;
	ASSERT_INT_EQ(dns_name_read(m, 64, &off, out), -EBADMSG);
	/* Two names pointing at each other (only a backward one is accepted). */
	memcpy(m + 40, "\1a\xc0\x2c\1b\xc0\x28", 8);
	off = 44;
	ASSERT_INT_EQ(dns_name_read(m, 48, &off, out), -EBADMSG);
	/* A label running past the end; reserved label types. */
	memcpy(m + 50,
	       "\x09"
	       "abc",
	       4);
	off = 50;
	ASSERT_INT_EQ(dns_name_read(m, 54, &off, out), -EBADMSG);
	m[50] = 0x41;
	off = 50;
	ASSERT_INT_EQ(dns_name_read(m, 54, &off, out), -EBADMSG);
	/* A truncated pointer. */
	m[50] = 0xc0;
	off = 50;
	ASSERT_INT_EQ(dns_name_read(m, 51, &off, out), -EBADMSG);
}

TEST(dns_query_parse_good_and_bad)
{
	uint8_t b[600];
	struct dns_query q;
	size_t n = dnstest_query(b, "Svc.Ns.svc.cluster.local", DNS_T_A, 0);
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), 0);
	ASSERT_INT_EQ(q.id, 0x1234);
	ASSERT_INT_EQ(q.qtype, DNS_T_A);
	ASSERT_INT_EQ(q.udp_size, 512);
	ASSERT(!q.edns);
	ASSERT(!memcmp(q.qname, "\3Svc\2Ns", 7));
	ASSERT(!memcmp(q.lname, "\3svc\2ns", 7));
	/* EDNS0: sizes clamped to 512..4096. */
	n = dnstest_query(b, "a.b", DNS_T_A, 65000);
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), 0);
	ASSERT(q.edns);
	ASSERT_INT_EQ(q.udp_size, DNS_UDP_MAX);
	n = dnstest_query(b, "a.b", DNS_T_A, 100);
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), 0);
	ASSERT_INT_EQ(q.udp_size, 512);
	/* Truncated header, truncated question, trailing garbage, wrong counts. */
	ASSERT_INT_EQ(dns_query_parse(b, 11, &q), -EBADMSG);
	n = dnstest_query(b, "a.b", DNS_T_A, 0);
	ASSERT_INT_EQ(dns_query_parse(b, n - 1, &q), -EBADMSG);
	ASSERT_INT_EQ(q.id, 0x1234);
	b[n] = 0;
	ASSERT_INT_EQ(dns_query_parse(b, n + 1, &q), -EBADMSG);
	b[5] = 2;
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
	b[5] = 1;
	b[7] = 1;
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
	b[7] = 0;
	/* The additional count says more than there is. */
	b[11] = 1;
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), -EBADMSG);
	b[11] = 0;
	/* A response sent as a query is dropped; other opcodes are NOTIMP. */
	b[2] |= 0x80;
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), -EPROTO);
	b[2] = (uint8_t)(2 << 3);
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), -EOPNOTSUPP);
	/* A compressed question name (nothing before it to point to). */
	uint8_t c[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
	ASSERT_INT_EQ(dns_query_parse(c, sizeof(c), &q), -EBADMSG);
}

TEST(dns_answer_error_formerr)
{
	uint8_t b[600], out[600];
	struct dns_query q;
	size_t n = dnstest_query(b, "a.b", DNS_T_A, 1232);
	ASSERT_INT_EQ(dns_query_parse(b, n, &q), 0);
	size_t len = dns_answer_error(&q, b, n, DNS_R_REFUSED, out, sizeof(out));
	char t[256];
	ASSERT_STR_EQ(dnstest_fmt(out, len, t, sizeof(t)), "REFUSED | | OPT;");
	ASSERT_INT_EQ(out[0] << 8 | out[1], 0x1234);
	ASSERT(out[2] & 0x80);
	/* A header alone: FORMERR with no question. */
	ASSERT_INT_EQ(dns_query_parse(b, 14, &q), -EBADMSG);
	len = dns_answer_error(&q, b, 14, DNS_R_FORMERR, out, sizeof(out));
	ASSERT_INT_EQ(len, 12);
	ASSERT_STR_EQ(dnstest_fmt(out, len, t, sizeof(t)), "FORMERR | |");
}

static int count_rr(void *ud, const struct dns_rr *rr)
{
	(*(int *)ud)++;
	return 0;
}

TEST(dns_msg_walk_checks_rdata)
{
	uint8_t b[128];
	struct dns_wr w;
	dns_wr_init(&w, b, sizeof(b));
	dns_wr_header(&w, 1, DNS_F_QR, 1, 1, 0, 0);
	dns_wr_bytes(&w, "\1a\0", 3);
	dns_wr_u16(&w, DNS_T_A);
	dns_wr_u16(&w, DNS_C_IN);
	size_t at = dns_wr_rr_begin(&w, NULL, 0, DNS_T_CNAME, 9);
	dns_wr_bytes(&w, "\1b\xc0\x0c", 4);
	dns_wr_rr_end(&w, at);
	int n = 0;
	ASSERT_INT_EQ(dns_msg_walk(b, w.len, count_rr, &n), 0);
	ASSERT_INT_EQ(n, 1);
	/* A CNAME whose name runs beyond its rdlength. */
	b[w.len - 5] = 2;
	ASSERT_INT_EQ(dns_msg_walk(b, w.len, NULL, NULL), -EBADMSG);
	/* An A record with 3 bytes. */
	dns_wr_init(&w, b, sizeof(b));
	dns_wr_header(&w, 1, DNS_F_QR, 0, 1, 0, 0);
	at = dns_wr_rr_begin(&w, (const uint8_t *)"\0", 1, DNS_T_A, 9);
	dns_wr_bytes(&w, "\1\2\3", 3);
	dns_wr_rr_end(&w, at);
	ASSERT_INT_EQ(dns_msg_walk(b, w.len, NULL, NULL), -EBADMSG);
	/* The writer refuses to overflow. */
	uint8_t small[4];
	dns_wr_init(&w, small, sizeof(small));
	dns_wr_u32(&w, 1);
	ASSERT(!w.full);
	dns_wr_u16(&w, 1);
	ASSERT(w.full);
	ASSERT_INT_EQ(w.len, 4);
}
