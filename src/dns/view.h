/* view.h - the cluster zone as an immutable snapshot, and the answers it gives.
 *
 * A view is built in one pass from the informers' objects (Services, EndpointSlices,
 * Pods, Namespaces) into a hash table keyed by lowercased wire names: every record the
 * Kubernetes DNS specification (schema 1.1.0) asks for, plus what the conformance tests
 * and CoreDNS add (pod A records, NS/SOA, dns-version TXT). Every ancestor of a name, up
 * to the zone, exists as a node of its own (an empty non-terminal), so "the name exists
 * but has no record of this type" (NODATA) and "no such name" (NXDOMAIN) are one lookup
 * each (RFC 2308, 8020). A view is never changed after dns_view_build returns: the server
 * swaps whole views, so readers need no lock. No I/O here.
 *
 * Rules (zone Z, namespace ns, TTL t from the config, default 5 s as CoreDNS):
 *   Z                         SOA, NS ns.dns.Z.     ns.dns.Z  A/AAAA of the cluster DNS IPs
 *   dns-version.Z             TXT "1.1.0" (TTL 28800)
 *   svc.Z, pod.Z, <ns>.svc.Z, <ns>.pod.Z    exist (NODATA) for every Namespace
 *   ClusterIP  <svc>.<ns>.svc.Z             A/AAAA per clusterIPs
 *              _<port>._<proto>.<svc>...    SRV 0 100 <port> <svc>.<ns>.svc.Z, named ports only
 *              PTR of each cluster IP (in-addr.arpa, 32-nibble ip6.arpa)
 *   Headless   <svc>.<ns>.svc.Z             A/AAAA per ready endpoint address; no name at
 *                                           all when none is ready (NXDOMAIN, spec 1.0.1)
 *              <host>.<svc>.<ns>.svc.Z      host = endpoint hostname, else the dashed IP
 *              _<port>._<proto>.<svc>...    SRV per ready endpoint x named slice port
 *              PTR of each ready address -> <host>.<svc>.<ns>.svc.Z
 *   ExternalName <svc>.<ns>.svc.Z           CNAME <externalName>.
 *   Pods       <a-b-c-d>.<ns>.pod.Z         A/AAAA of a pod with that IP in that namespace
 *                                           (CoreDNS "pods verified"; IPv6 ':' -> '-')
 * "ready": EndpointSlice conditions.ready not false, or the Service publishes not-ready
 * addresses.
 */
#ifndef DNS_VIEW_H
#define DNS_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"

#define DNS_SCHEMA_VERSION "1.1.0"
#define DNS_DEFAULT_TTL 5

struct dns_view_config {
	const char *zone;	    /* "cluster.local" */
	uint32_t ttl;		    /* records and negative answers (SOA minimum) */
	const char *const *dns_ips; /* NULL-terminated: A/AAAA of ns.dns.<zone>; may be NULL */
};

struct dns_view;

/* Builds a view from arrays of objects (each may be NULL = none). synced false builds
 * the view served before the informers' first lists: SERVFAIL for the zone. Returns a
 * new view with one reference, or NULL with err when the zone is not a valid name. */
struct dns_view *dns_view_build(const struct dns_view_config *cfg, bool synced, const json_t *services,
				const json_t *slices, const json_t *pods, const json_t *namespaces, char *err,
				size_t errlen);
void dns_view_ref(struct dns_view *v);
/* Drops a reference; the last one frees the view. NULL is a no-op. */
void dns_view_unref(struct dns_view *v);
/* Number of owner names (for tests and memory figures). */
size_t dns_view_names(const struct dns_view *v);
/* Bytes the view holds (tables and arena), for the memory figures. */
size_t dns_view_bytes(const struct dns_view *v);

enum dns_outcome {
	DNS_OUT_ANSWERED, /* out holds the whole answer */
	DNS_OUT_FORWARD,  /* not ours: ask the upstreams */
	DNS_OUT_CHASE,	  /* out holds the answer so far (a CNAME out of the zone); append
			   * the upstream's answer for chase/qtype and send */
};

struct dns_result {
	enum dns_outcome outcome;
	int rcode;
	size_t len;		     /* bytes in out */
	uint16_t ancount;	     /* answer records written (for CHASE) */
	uint8_t chase[DNS_NAME_MAX]; /* CHASE: the name to resolve upstream */
	size_t chase_len;
	bool truncated; /* TC set: the answer did not fit in limit */
};

/* Answers the query q (parsed from msg) into out (cap bytes; the answer is made to fit
 * in min(cap, limit), with TC when it does not). limit is the client's UDP size, or
 * DNS_TCP_MAX over TCP. Never allocates, never blocks. */
void dns_view_answer(const struct dns_view *v, const struct dns_query *q, const uint8_t *msg, size_t limit,
		     uint8_t *out, size_t cap, struct dns_result *res);

/* Appends the A, AAAA and CNAME records of the answer section of an upstream response
 * (resp, parsed by dns_msg_walk) to a CHASE answer in out (len bytes, ancount records),
 * sets the rcode from the upstream's when it is NXDOMAIN, and makes it fit in limit (TC
 * otherwise). resp NULL (no answer) leaves the CNAME alone. Returns the new length. */
size_t dns_chase_finish(const struct dns_query *q, uint8_t *out, size_t cap, size_t len, uint16_t ancount,
			size_t limit, const uint8_t *resp, size_t resp_len);

#endif
