/* conntrack.h - deletes stale UDP conntrack entries (libnetfilter-conntrack).
 *
 * UDP has no connection end: a client that keeps sending to a Service keeps its
 * conntrack entry, and with it the DNAT to an endpoint that may be gone, or the
 * un-NATed path of a Service that had no endpoint when the flow began
 * (kubernetes/kubernetes#19029). After each sync the proxy deletes exactly those
 * entries: UDP, original destination one of the Service's addresses and ports, and
 * (for a removed endpoint) the reply coming from that endpoint. Nothing else is touched,
 * so a restart never flushes unrelated flows.
 */
#ifndef PROXY_CONNTRACK_H
#define PROXY_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"

struct proxy_ct_match {
	bool any_dst;	    /* match any original destination address (node ports) */
	struct ip_addr dst; /* the original destination (Service address) */
	uint16_t dport;	    /* its port */
	bool by_ep;	    /* also require the reply's source to be ep:ep_port */
	struct ip_addr ep;
	uint16_t ep_port;
};

/* Deletes every UDP entry matching one of m[0..n) (one dump of the UDP table). Returns
 * the number deleted, or a negative errno; by_family (NULL or two counters, IPv4 then
 * IPv6) gets the deletions added per family. Blocks on netlink. */
int proxy_ct_delete_udp(const struct proxy_ct_match *m, size_t n, size_t by_family[2]);

/* Pure: whether an entry (orig dst:dport, reply src:sport) matches mt. */
bool proxy_ct_matches(const struct proxy_ct_match *mt, const struct ip_addr *odst, uint16_t odport,
		      const struct ip_addr *rsrc, uint16_t rsport);

#endif
