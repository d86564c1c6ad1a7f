/* test_metrics.c - the DNS metrics in Prometheus text, under CoreDNS's names. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "dns/metrics.h"
#include "dns/wire.h"
#include "harness/t.h"

/* The value of the first line starting with prefix (the full "name{labels}"), or -1. */
static long long value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

TEST(dns_metrics_prometheus_text)
{
	struct buf b;
	buf_init(&b);
	dns_metrics_write(&b);
	long long a0 = value_of(b.data, "coredns_dns_requests_total{proto=\"udp\",type=\"A\"}");
	long long nx0 = value_of(b.data, "coredns_dns_responses_total{rcode=\"NXDOMAIN\"}");
	long long h0 = value_of(b.data, "coredns_cache_hits_total{type=\"denial\"}");
	long long f0 = value_of(b.data, "coredns_forward_request_duration_seconds_count");
	long long p0 = value_of(b.data, "coredns_kubernetes_dns_programming_duration_seconds_count{service_"
					"kind=\"headless_with_selector\"}");
	ASSERT(a0 >= 0 && nx0 >= 0 && h0 >= 0 && f0 >= 0 && p0 >= 0);
	dns_metrics_request(false, DNS_T_A);
	dns_metrics_request(true, DNS_T_SRV);
	dns_metrics_response(DNS_R_NXDOMAIN);
	dns_metrics_cache(true, true);
	dns_metrics_forward(0.003);
	dns_metrics_programming(true, 0.2);
	buf_reset(&b);
	dns_metrics_write(&b);
	ASSERT_INT_EQ(value_of(b.data, "coredns_dns_requests_total{proto=\"udp\",type=\"A\"}"), a0 + 1);
	ASSERT(value_of(b.data, "coredns_dns_requests_total{proto=\"tcp\",type=\"SRV\"}") >= 1);
	ASSERT_INT_EQ(value_of(b.data, "coredns_dns_responses_total{rcode=\"NXDOMAIN\"}"), nx0 + 1);
	ASSERT_INT_EQ(value_of(b.data, "coredns_cache_hits_total{type=\"denial\"}"), h0 + 1);
	ASSERT_INT_EQ(value_of(b.data, "coredns_forward_request_duration_seconds_count"), f0 + 1);
	ASSERT(value_of(b.data, "coredns_forward_request_duration_seconds_bucket{le=\"0.004\"}") >= 1);
	ASSERT_INT_EQ(value_of(b.data, "coredns_kubernetes_dns_programming_duration_seconds_count{service_"
				       "kind=\"headless_with_selector\"}"),
		      p0 + 1);
	ASSERT_STR_CONTAINS(b.data, "# TYPE coredns_kubernetes_dns_programming_duration_seconds histogram\n");
	ASSERT_STR_CONTAINS(b.data, "coredns_forward_request_duration_seconds_bucket{le=\"+Inf\"}");
	buf_fini(&b);
}
