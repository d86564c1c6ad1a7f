/* metrics.h - the DNS server's Prometheus metrics, under CoreDNS's names.
 *
 * Process-wide counters and histograms (relaxed atomics: a scrape may see one counter a
 * request ahead of another, never a torn value), so the agent's /metrics can write them
 * without a handle on the server:
 *   coredns_dns_requests_total{proto,type}        queries received (after parsing)
 *   coredns_dns_responses_total{rcode}            answers sent
 *   coredns_cache_hits_total{type=success|denial} forwarder cache hits
 *   coredns_cache_misses_total
 *   coredns_forward_requests_total, coredns_forward_request_duration_seconds (histogram)
 *   coredns_kubernetes_dns_programming_duration_seconds{service_kind} (histogram): from an
 *     EndpointSlice's endpoints.kubernetes.io/last-change-trigger-time to the view that
 *     serves it (the DNS programming latency SLI)
 *   svcplane_dns_view_names, svcplane_dns_view_builds_total
 */
#ifndef DNS_METRICS_H
#define DNS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

void dns_metrics_request(bool tcp, uint16_t qtype);
void dns_metrics_response(int rcode);
void dns_metrics_cache(bool hit, bool denial);
void dns_metrics_forward(double seconds);
/* kind: "cluster_ip" or "headless". */
void dns_metrics_programming(bool headless, double seconds);
void dns_metrics_view(uint64_t names);

/* Appends every metric in the Prometheus text format (0.0.4) to b. */
void dns_metrics_write(struct buf *b);

#endif
