/* metrics.c - DNS metrics as relaxed atomic counters. See metrics.h. */
#include "dns/metrics.h"

#include <stdatomic.h>
#include <string.h>

#include "base/prom.h"
#include "dns/wire.h"

static const uint16_t TYPES[] = {DNS_T_A,   DNS_T_AAAA,	 DNS_T_SRV, DNS_T_PTR, DNS_T_TXT,  DNS_T_NS,
				 DNS_T_SOA, DNS_T_CNAME, DNS_T_MX,  DNS_T_ANY, DNS_T_AXFR, DNS_T_IXFR,
				 0};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))
#define NRCODES 7 /* NOERROR..REFUSED, other */

static const double BUCKETS[] = {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
				 0.064,	  0.128,  0.256, 0.512, 1.024, 2.048, 4.096, 8.192};
#define NB (sizeof(BUCKETS) / sizeof(BUCKETS[0]))

struct hist {
	atomic_ullong b[NB + 1]; /* per bucket, the last for values above every bound */
	atomic_ullong sum_ns;
};

static struct {
	atomic_ullong req[2][NTYPES];
	atomic_ullong resp[NRCODES];
	atomic_ullong hits[2], misses, fwd;
	struct hist fwd_lat, prog[2];
	atomic_ullong names, builds;
} M;

static size_t type_idx(uint16_t t)
{
	for (size_t i = 0; i + 1 < NTYPES; i++)
		if (TYPES[i] == t)
			return i;
	return NTYPES - 1;
}

void dns_metrics_request(bool tcp, uint16_t qtype)
{
	atomic_fetch_add_explicit(&M.req[tcp][type_idx(qtype)], 1, memory_order_relaxed);
}

void dns_metrics_response(int rcode)
{
	atomic_fetch_add_explicit(&M.resp[rcode >= 0 && rcode < NRCODES - 1 ? rcode : NRCODES - 1], 1,
				  memory_order_relaxed);
}

void dns_metrics_cache(bool hit, bool denial)
{
	if (hit)
		atomic_fetch_add_explicit(&M.hits[denial], 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&M.misses, 1, memory_order_relaxed);
}

static void observe(struct hist *h, double s)
{
	size_t i = 0;
	while (i < NB && s > BUCKETS[i])
		i++;
	atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)(s > 0 ? s * 1e9 : 0),
				  memory_order_relaxed);
}

void dns_metrics_forward(double seconds)
{
	atomic_fetch_add_explicit(&M.fwd, 1, memory_order_relaxed);
	observe(&M.fwd_lat, seconds);
}

void dns_metrics_programming(bool headless, double seconds)
{
	observe(&M.prog[headless], seconds);
}

void dns_metrics_view(uint64_t names)
{
	atomic_store_explicit(&M.names, names, memory_order_relaxed);
	atomic_fetch_add_explicit(&M.builds, 1, memory_order_relaxed);
}

static unsigned long long ld(atomic_ullong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void hist_write(struct buf *b, const char *name, const char *labels, struct hist *h)
{
	/* The +Inf bucket and the count from the same loads as the buckets: consistent even
	 * while another thread observes. */
	unsigned long long cum[NB], c = 0;
	for (size_t i = 0; i < NB; i++)
		cum[i] = c += ld(&h->b[i]);
	prom_hist(b, name, labels, BUCKETS, cum, NB, (double)ld(&h->sum_ns) / 1e9, c + ld(&h->b[NB]));
}

void dns_metrics_write(struct buf *b)
{
	prom_head(b, "coredns_dns_requests_total", "counter",
		  "Counter of DNS requests made per protocol and type.");
	for (int p = 0; p < 2; p++)
		for (size_t t = 0; t < NTYPES; t++)
			buf_printf(b, "coredns_dns_requests_total{proto=\"%s\",type=\"%s\"} %llu\n",
				   p ? "tcp" : "udp", dns_type_name(TYPES[t]), ld(&M.req[p][t]));
	prom_head(b, "coredns_dns_responses_total", "counter", "Counter of response status codes.");
	for (int r = 0; r < NRCODES; r++)
		buf_printf(b, "coredns_dns_responses_total{rcode=\"%s\"} %llu\n",
			   dns_rcode_name(r < NRCODES - 1 ? r : 99), ld(&M.resp[r]));
	prom_head(b, "coredns_cache_hits_total", "counter", "The count of cache hits.");
	buf_printf(b, "coredns_cache_hits_total{type=\"success\"} %llu\n", ld(&M.hits[0]));
	buf_printf(b, "coredns_cache_hits_total{type=\"denial\"} %llu\n", ld(&M.hits[1]));
	prom_sample(b, "coredns_cache_misses_total", "counter", "The count of cache misses.",
		    (double)ld(&M.misses));
	prom_sample(b, "coredns_forward_requests_total", "counter", "Counter of requests made to upstreams.",
		    (double)ld(&M.fwd));
	prom_head(b, "coredns_forward_request_duration_seconds", "histogram",
		  "Histogram of the time each upstream request took.");
	hist_write(b, "coredns_forward_request_duration_seconds", "", &M.fwd_lat);
	prom_head(b, "coredns_kubernetes_dns_programming_duration_seconds", "histogram",
		  "Histogram of the time (in seconds) it took to program a dns instance.");
	hist_write(b, "coredns_kubernetes_dns_programming_duration_seconds", "service_kind=\"cluster_ip\"",
		   &M.prog[0]);
	hist_write(b, "coredns_kubernetes_dns_programming_duration_seconds",
		   "service_kind=\"headless_with_selector\"", &M.prog[1]);
	prom_sample(b, "svcplane_dns_view_names", "gauge", "Owner names in the served cluster zone.",
		    (double)ld(&M.names));
	prom_sample(b, "svcplane_dns_view_builds_total", "counter", "Cluster zone snapshots built.",
		    (double)ld(&M.builds));
}
