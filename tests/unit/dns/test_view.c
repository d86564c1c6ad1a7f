/* test_view.c - the cluster zone's answers, rule by rule, against a fixture cache:
 * question -> rcode, answer, authority, additional (see dns/view.h and the spec). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/view.h"
#include "harness/t.h"
#include "unit/dns/dnstest.h"

static const char *SERVICES =
    "["
    "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ClusterIP\","
    "\"clusterIP\":\"198.19.0.1\",\"clusterIPs\":[\"198.19.0.1\"],\"ports\":[{\"name\":\"https\",\"port\":"
    "443,\"protocol\":\"TCP\"}]}},"
    "{\"metadata\":{\"name\":\"svc\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ClusterIP\","
    "\"clusterIP\":\"198.19.0.5\",\"clusterIPs\":[\"198.19.0.5\"],\"ports\":[{\"name\":\"http\",\"port\":80,"
    "\"protocol\":\"TCP\"},"
    "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}},"
    "{\"metadata\":{\"name\":\"one\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"198.19.0.7\",\"ports\":["
    "{\"port\":81}]}},"
    "{\"metadata\":{\"name\":\"dual\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ClusterIP\","
    "\"clusterIP\":\"198.19.0.6\",\"clusterIPs\":[\"198.19.0.6\",\"2001:db8:1::6\"],\"ports\":[{\"name\":"
    "\"http\",\"port\":80}]}},"
    "{\"metadata\":{\"name\":\"headless\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"None\","
    "\"clusterIPs\":[\"None\"],"
    "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}},"
    "{\"metadata\":{\"name\":\"nobody\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"None\"}},"
    "{\"metadata\":{\"name\":\"pnr\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"None\","
    "\"publishNotReadyAddresses\":true}},"
    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ExternalName\","
    "\"externalName\":\"foo.example.com\"}},"
    "{\"metadata\":{\"name\":\"alias\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ExternalName\","
    "\"externalName\":\"svc.ns.svc.cluster.local\"}},"
    "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\"},\"spec\":{\"clusterIP\":\"198.19.0."
    "10\"}},"
    "{\"metadata\":{\"name\":\"pending\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ClusterIP\"}}"
    "]";

static const char *SLICES =
    "["
    "{\"metadata\":{\"name\":\"headless-abc\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"headless\"}},"
    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"port\":"
    "9000}],\"endpoints\":["
    "{\"addresses\":[\"198.18.128.2\"],\"hostname\":\"web-0\",\"conditions\":{\"ready\":true}},"
    "{\"addresses\":[\"198.18.128.3\"],\"hostname\":\"web-1\"},"
    "{\"addresses\":[\"198.18.128.4\"],\"conditions\":{\"ready\":true}},"
    "{\"addresses\":[\"198.18.128.9\"],\"hostname\":\"web-9\",\"conditions\":{\"ready\":false}}]},"
    "{\"metadata\":{\"name\":\"headless-v6\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"headless\"}},"
    "\"addressType\":\"IPv6\",\"endpoints\":[{\"addresses\":[\"2001:db8:2::2\"],\"hostname\":\"web-0\"}]},"
    "{\"metadata\":{\"name\":\"nobody-1\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"nobody\"}},"
    "\"endpoints\":[{\"addresses\":[\"198.18.128.7\"],\"conditions\":{\"ready\":false}}]},"
    "{\"metadata\":{\"name\":\"pnr-1\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
    "service-name\":\"pnr\"}},"
    "\"endpoints\":[{\"addresses\":[\"198.18.128.8\"],\"conditions\":{\"ready\":false}}]}"
    "]";

static const char *PODS = "["
			  "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"ns\"},\"status\":{\"phase\":"
			  "\"Running\",\"podIP\":\"198.18.128.2\","
			  "\"podIPs\":[{\"ip\":\"198.18.128.2\"},{\"ip\":\"2001:db8:2::2\"}]}},"
			  "{\"metadata\":{\"name\":\"done\",\"namespace\":\"ns\"},\"status\":{\"phase\":"
			  "\"Succeeded\",\"podIP\":\"198.18.128.99\"}}"
			  "]";

static const char *NAMESPACES =
    "[{\"metadata\":{\"name\":\"default\"}},{\"metadata\":{\"name\":\"ns\"}},"
    "{\"metadata\":{\"name\":\"kube-system\"}},{\"metadata\":{\"name\":\"quiet\"}}]";

static struct dns_view *fixture(bool synced)
{
	json_t *s = json_loads(SERVICES, 0, NULL), *e = json_loads(SLICES, 0, NULL);
	json_t *p = json_loads(PODS, 0, NULL), *n = json_loads(NAMESPACES, 0, NULL);
	if (!s || !e || !p || !n)
		abort();
	struct dns_view_config cfg = {.zone = "cluster.local", .ttl = 5};
	char err[128];
	struct dns_view *v = dns_view_build(&cfg, synced, s, e, p, n, err, sizeof(err));
	json_decref(s), json_decref(e), json_decref(p), json_decref(n);
	return v;
}

/* The answer to name/qtype as text (see dnstest_fmt), or "FORWARD"/"CHASE <name> | ...". */
static const char *ask(struct dns_view *v, const char *name, uint16_t qtype, uint16_t edns, size_t limit,
		       char *out, size_t cap)
{
	uint8_t q[1024], a[65536];
	size_t ql = dnstest_query(q, name, qtype, edns);
	struct dns_query pq;
	if (dns_query_parse(q, ql, &pq) != 0)
		return "PARSE";
	struct dns_result r;
	dns_view_answer(v, &pq, q, limit ? limit : pq.udp_size, a, sizeof(a), &r);
	if (r.outcome == DNS_OUT_FORWARD)
		return "FORWARD";
	if (r.outcome == DNS_OUT_CHASE) {
		char t[300];
		dns_name_to_text(r.chase, t, sizeof(t));
		int n = snprintf(out, cap, "CHASE %s ", t);
		size_t len = dns_chase_finish(&pq, a, sizeof(a), r.len, r.ancount, pq.udp_size, NULL, 0);
		dnstest_fmt(a, len, out + n, cap - (size_t)n);
		return out;
	}
	return dnstest_fmt(a, r.len, out, cap);
}

struct row {
	const char *name;
	uint16_t qtype;
	const char *want;
};

#define SOA_NS " cluster.local SOA ns.dns.cluster.local; |"

static const struct row ROWS[] = {
    /* V1: schema version. */
    {"dns-version.cluster.local", DNS_T_TXT, "NOERROR dns-version.cluster.local TXT \"1.1.0\"; | |"},
    {"dns-version.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    /* C1, C2: ClusterIP A; AAAA of an IPv4-only Service is NODATA; dual stack has both. */
    {"svc.ns.svc.cluster.local", DNS_T_A, "NOERROR svc.ns.svc.cluster.local A 198.19.0.5; | |"},
    {"svc.ns.svc.cluster.local", DNS_T_AAAA, "NOERROR |" SOA_NS},
    {"svc.ns.svc.cluster.local", DNS_T_TXT, "NOERROR |" SOA_NS},
    {"dual.ns.svc.cluster.local", DNS_T_A, "NOERROR dual.ns.svc.cluster.local A 198.19.0.6; | |"},
    {"dual.ns.svc.cluster.local", DNS_T_AAAA, "NOERROR dual.ns.svc.cluster.local AAAA 2001:db8:1::6; | |"},
    {"kubernetes.default.svc.cluster.local", DNS_T_A,
     "NOERROR kubernetes.default.svc.cluster.local A 198.19.0.1; | |"},
    /* Case-insensitive, the question's case kept (the owner points to it). */
    {"SvC.Ns.SVC.Cluster.Local", DNS_T_A, "NOERROR SvC.Ns.SVC.Cluster.Local A 198.19.0.5; | |"},
    /* C3: SRV for named ports only, protocol lowercased; the target's A in additional. */
    {"_http._tcp.svc.ns.svc.cluster.local", DNS_T_SRV,
     "NOERROR _http._tcp.svc.ns.svc.cluster.local SRV 0 100 80 svc.ns.svc.cluster.local; | | "
     "svc.ns.svc.cluster.local A 198.19.0.5;"},
    {"_dns._udp.svc.ns.svc.cluster.local", DNS_T_SRV,
     "NOERROR _dns._udp.svc.ns.svc.cluster.local SRV 0 100 53 svc.ns.svc.cluster.local; | | "
     "svc.ns.svc.cluster.local A 198.19.0.5;"},
    {"_foo._tcp.svc.ns.svc.cluster.local", DNS_T_SRV, "NXDOMAIN |" SOA_NS},
    {"_http._udp.svc.ns.svc.cluster.local", DNS_T_SRV, "NXDOMAIN |" SOA_NS},
    {"one.ns.svc.cluster.local", DNS_T_SRV, "NOERROR |" SOA_NS},
    /* C4, C5: PTR of cluster IPs, IPv6 in 32 nibbles. */
    {"5.0.19.198.in-addr.arpa", DNS_T_PTR,
     "NOERROR 5.0.19.198.in-addr.arpa PTR svc.ns.svc.cluster.local; | |"},
    {"6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", DNS_T_PTR,
     "NOERROR 6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR "
     "dual.ns.svc.cluster.local; | |"},
    {"1.2.3.4.in-addr.arpa", DNS_T_PTR, "FORWARD"},
    /* H1-H6: headless, ready endpoints only; hostname or dashed IP; SRV per endpoint x named port. */
    {"headless.ns.svc.cluster.local", DNS_T_A,
     "NOERROR headless.ns.svc.cluster.local A 198.18.128.2; headless.ns.svc.cluster.local A 198.18.128.3;"
     " headless.ns.svc.cluster.local A 198.18.128.4; | |"},
    {"headless.ns.svc.cluster.local", DNS_T_AAAA,
     "NOERROR headless.ns.svc.cluster.local AAAA 2001:db8:2::2; | |"},
    {"web-0.headless.ns.svc.cluster.local", DNS_T_A,
     "NOERROR web-0.headless.ns.svc.cluster.local A 198.18.128.2; | |"},
    {"web-0.headless.ns.svc.cluster.local", DNS_T_AAAA,
     "NOERROR web-0.headless.ns.svc.cluster.local AAAA 2001:db8:2::2; | |"},
    {"198-18-128-4.headless.ns.svc.cluster.local", DNS_T_A,
     "NOERROR 198-18-128-4.headless.ns.svc.cluster.local A 198.18.128.4; | |"},
    {"web-9.headless.ns.svc.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"_http._tcp.headless.ns.svc.cluster.local", DNS_T_SRV,
     "NOERROR _http._tcp.headless.ns.svc.cluster.local SRV 0 100 8080 web-0.headless.ns.svc.cluster.local;"
     " _http._tcp.headless.ns.svc.cluster.local SRV 0 100 8080 web-1.headless.ns.svc.cluster.local;"
     " _http._tcp.headless.ns.svc.cluster.local SRV 0 100 8080 198-18-128-4.headless.ns.svc.cluster.local; | "
     "|"
     " web-0.headless.ns.svc.cluster.local A 198.18.128.2; web-0.headless.ns.svc.cluster.local AAAA "
     "2001:db8:2::2;"
     " web-1.headless.ns.svc.cluster.local A 198.18.128.3; 198-18-128-4.headless.ns.svc.cluster.local A "
     "198.18.128.4;"},
    {"3.128.18.198.in-addr.arpa", DNS_T_PTR,
     "NOERROR 3.128.18.198.in-addr.arpa PTR web-1.headless.ns.svc.cluster.local; | |"},
    {"9.128.18.198.in-addr.arpa", DNS_T_PTR, "FORWARD"},
    /* H3: a headless Service without ready endpoints does not exist; publishNotReadyAddresses. */
    {"nobody.ns.svc.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"pending.ns.svc.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS}, /* no cluster IP yet: not headless */
    {"pnr.ns.svc.cluster.local", DNS_T_A, "NOERROR pnr.ns.svc.cluster.local A 198.18.128.8; | |"},
    /* E1: ExternalName is a CNAME; out of the zone the target is chased upstream, inside it here. */
    {"ext.ns.svc.cluster.local", DNS_T_CNAME, "NOERROR ext.ns.svc.cluster.local CNAME foo.example.com; | |"},
    {"ext.ns.svc.cluster.local", DNS_T_A,
     "CHASE foo.example.com NOERROR ext.ns.svc.cluster.local CNAME foo.example.com; | |"},
    {"alias.ns.svc.cluster.local", DNS_T_A,
     "NOERROR alias.ns.svc.cluster.local CNAME svc.ns.svc.cluster.local; svc.ns.svc.cluster.local A "
     "198.19.0.5; | |"},
    /* Pod records (conformance), only for pods that exist and are not terminal. */
    {"198-18-128-2.ns.pod.cluster.local", DNS_T_A,
     "NOERROR 198-18-128-2.ns.pod.cluster.local A 198.18.128.2; | |"},
    {"2001-db8-2--2.ns.pod.cluster.local", DNS_T_AAAA,
     "NOERROR 2001-db8-2--2.ns.pod.cluster.local AAAA 2001:db8:2::2; | |"},
    {"198-18-128-2.default.pod.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"198-18-128-99.ns.pod.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    /* Namespaces and the zone's structure: NODATA when the name exists, NXDOMAIN when not. */
    {"ns.svc.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    {"quiet.svc.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    {"quiet.pod.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    {"missing.svc.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"svc.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    {"pod.cluster.local", DNS_T_A, "NOERROR |" SOA_NS},
    {"nothing.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"a.b.svc.ns.svc.cluster.local", DNS_T_A, "NXDOMAIN |" SOA_NS},
    {"missing.ns.svc.cluster.local", DNS_T_TXT, "NXDOMAIN |" SOA_NS},
    /* NS and SOA of the zone; ns.dns.<zone> is the kube-dns Service's IP. */
    {"cluster.local", DNS_T_NS, "NOERROR cluster.local NS ns.dns.cluster.local; | |"},
    {"cluster.local", DNS_T_SOA, "NOERROR cluster.local SOA ns.dns.cluster.local; | |"},
    {"ns.dns.cluster.local", DNS_T_A, "NOERROR ns.dns.cluster.local A 198.19.0.10; | |"},
    {"cluster.local", DNS_T_AXFR, "REFUSED | |"},
    /* Not ours. */
    {"example.com", DNS_T_A, "FORWARD"},
    {"local", DNS_T_A, "FORWARD"},
    {"xcluster.local", DNS_T_A, "FORWARD"},
};

TEST(dns_view_rules)
{
	struct dns_view *v = fixture(true);
	ASSERT(v);
	char out[8192];
	for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++) {
		const char *got = ask(v, ROWS[i].name, ROWS[i].qtype, 0, 0, out, sizeof(out));
		if (strcmp(got, ROWS[i].want))
			t_fail(__FILE__, __LINE__, "%s %s:\n  got:  %s\n  want: %s", ROWS[i].name,
			       dns_type_name(ROWS[i].qtype), got, ROWS[i].want);
	}
	dns_view_unref(v);
}

TEST(dns_view_edns_and_tc)
{
	/* 120 ready endpoints: 16 bytes each, more than 512. */
	json_t *svcs = json_loads(
	    "[{\"metadata\":{\"name\":\"big\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"None\"}}]", 0,
	    NULL);
	json_t *eps = json_array();
	for (int i = 0; i < 120; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.18.129.%d", i + 1);
		json_array_append_new(eps, json_pack("{s:[s]}", "addresses", ip));
	}
	json_t *sl = json_pack("[{s:{s:s,s:s,s:{s:s}},s:o}]", "metadata", "name", "big-1", "namespace", "ns",
			       "labels", "kubernetes.io/service-name", "big", "endpoints", eps);
	struct dns_view_config cfg = {.zone = "cluster.local", .ttl = 5};
	char err[64], out[16384];
	struct dns_view *v = dns_view_build(&cfg, true, svcs, sl, NULL, NULL, err, sizeof(err));
	ASSERT(v);
	/* No EDNS0: 512 bytes, TC, empty sections. */
	ASSERT_STR_EQ(ask(v, "big.ns.svc.cluster.local", DNS_T_A, 0, 0, out, sizeof(out)), "NOERROR TC | |");
	/* EDNS0 4096: everything fits, OPT echoed. */
	const char *got = ask(v, "big.ns.svc.cluster.local", DNS_T_A, 4096, 0, out, sizeof(out));
	ASSERT_STR_CONTAINS(got, "A 198.18.129.120; | | OPT;");
	ASSERT(!strstr(got, " TC"));
	/* EDNS0 with a small size still gets TC, and the OPT. */
	ASSERT_STR_EQ(ask(v, "big.ns.svc.cluster.local", DNS_T_A, 600, 0, out, sizeof(out)),
		      "NOERROR TC | | OPT;");
	/* TCP: the whole answer. */
	got = ask(v, "big.ns.svc.cluster.local", DNS_T_A, 0, DNS_TCP_MAX, out, sizeof(out));
	ASSERT_STR_CONTAINS(got, "A 198.18.129.1;");
	ASSERT_STR_CONTAINS(got, "A 198.18.129.120;");
	json_decref(svcs);
	json_decref(sl);
	dns_view_unref(v);
}

TEST(dns_view_unsynced_servfail)
{
	struct dns_view *v = fixture(false);
	char out[1024];
	ASSERT_STR_EQ(ask(v, "svc.ns.svc.cluster.local", DNS_T_A, 0, 0, out, sizeof(out)), "SERVFAIL | |");
	ASSERT_STR_EQ(ask(v, "nothing.cluster.local", DNS_T_A, 0, 0, out, sizeof(out)), "SERVFAIL | |");
	ASSERT_STR_EQ(ask(v, "example.com", DNS_T_A, 0, 0, out, sizeof(out)), "FORWARD");
	dns_view_unref(v);
}

TEST(dns_view_chase_finish)
{
	struct dns_view *v = fixture(true);
	uint8_t q[512], a[4096], up[512];
	size_t ql = dnstest_query(q, "EXT.ns.svc.cluster.local", DNS_T_A, 0);
	struct dns_query pq;
	ASSERT_INT_EQ(dns_query_parse(q, ql, &pq), 0);
	struct dns_result r;
	dns_view_answer(v, &pq, q, 512, a, sizeof(a), &r);
	ASSERT_INT_EQ(r.outcome, DNS_OUT_CHASE);
	/* The upstream's answer for foo.example.com A, with a compressed owner. */
	struct dns_wr w;
	dns_wr_init(&w, up, sizeof(up));
	dns_wr_header(&w, 7, DNS_F_QR | DNS_F_RA, 1, 1, 0, 0);
	uint8_t n[DNS_NAME_MAX];
	int nl = dns_name_from_text("foo.example.com", n, false);
	dns_wr_bytes(&w, n, (size_t)nl);
	dns_wr_u16(&w, DNS_T_A);
	dns_wr_u16(&w, DNS_C_IN);
	size_t at = dns_wr_rr_begin(&w, NULL, 0, DNS_T_A, 300);
	dns_wr_bytes(&w, "\xc6\x12\x00\x35", 4);
	dns_wr_rr_end(&w, at);
	size_t len = dns_chase_finish(&pq, a, sizeof(a), r.len, r.ancount, 512, up, w.len);
	char out[1024];
	ASSERT_STR_EQ(
	    dnstest_fmt(a, len, out, sizeof(out)),
	    "NOERROR EXT.ns.svc.cluster.local CNAME foo.example.com; foo.example.com A 198.18.0.53; | |");
	dns_view_unref(v);
}
