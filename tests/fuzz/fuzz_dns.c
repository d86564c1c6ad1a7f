/* fuzz_dns.c - libFuzzer target for the DNS packet parsers (dns/wire.c) and the answer
 * path (dns/view.c): the input is a query from a client and, at the same time, an
 * upstream's response to a chased CNAME.
 *
 * Checks beyond "no crash": a parsed query's name is at most 255 bytes and its lowercased
 * copy is the same length; every answer the view writes for it, over UDP and TCP, is
 * itself a well-formed message (dns_msg_walk accepts it) that fits the client's limit;
 * and the CNAME chase, fed the input as the upstream's answer, writes a well-formed
 * message too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/view.h"
#include "dns/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_view *view;

static struct dns_view *fixture(void)
{
	static const char *svcs =
	    "[{\"metadata\":{\"name\":\"svc\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"198.19.0.5\","
	    "\"ports\":[{\"name\":\"http\",\"port\":80}]}},"
	    "{\"metadata\":{\"name\":\"h\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"None\"}},"
	    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\"},\"spec\":{\"type\":\"ExternalName\","
	    "\"externalName\":\"a.example\"}}]";
	static const char *slices =
	    "[{\"metadata\":{\"name\":\"h-1\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
	    "service-name\":\"h\"}},\"ports\":[{\"name\":\"p\",\"port\":1}],\"endpoints\":["
	    "{\"addresses\":[\"198.18.128.2\"],\"hostname\":\"w\"},{\"addresses\":[\"2001:db8::2\"]}]}]";
	json_t *s = json_loads(svcs, 0, NULL), *e = json_loads(slices, 0, NULL);
	struct dns_view_config cfg = {.zone = "cluster.local", .ttl = 5};
	char err[64];
	struct dns_view *v = dns_view_build(&cfg, true, s, e, NULL, NULL, err, sizeof(err));
	json_decref(s);
	json_decref(e);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	if (!view)
		view = fixture();
	(void)dns_msg_walk(data, size, NULL, NULL);
	struct dns_query q;
	int rc = dns_query_parse(data, size, &q);
	if (rc != 0 && rc != -EBADMSG && rc != -EPROTO && rc != -EOPNOTSUPP)
		abort();
	if (rc == -EBADMSG && size >= DNS_HDR_LEN) {
		size_t n = dns_answer_error(&q, data, size, DNS_R_FORMERR, out, sizeof(out));
		if (n < DNS_HDR_LEN || dns_msg_walk(out, n, NULL, NULL) != 0)
			abort();
	}
	if (rc != 0)
		return 0;
	if (q.qname_len < 1 || q.qname_len > DNS_NAME_MAX || q.qend > size)
		abort();
	size_t limits[2] = {q.udp_size, DNS_TCP_MAX};
	for (int i = 0; i < 2; i++) {
		struct dns_result r;
		dns_view_answer(view, &q, data, limits[i], out, sizeof(out), &r);
		if (r.outcome == DNS_OUT_FORWARD)
			continue;
		if (r.outcome == DNS_OUT_CHASE)
			r.len =
			    dns_chase_finish(&q, out, sizeof(out), r.len, r.ancount, limits[i], data, size);
		if (r.len > limits[i] || dns_msg_walk(out, r.len, NULL, NULL) != 0)
			abort();
	}
	return 0;
}
