/* server.h - the cluster DNS server: informers -> view snapshots -> UDP and TCP answers,
 * with the forwarder (fwd.h) for every other name.
 *
 * Threads (see docs/DESIGN.md):
 *   informers (5)  Services, EndpointSlices, Pods, Namespaces, Nodes: mark the view dirty
 *   builder        rebuilds the snapshot (view + allowed client networks) when dirty and
 *                  publishes it with one atomic store; frees the old one once no reader
 *                  holds it (hazard pointers: readers never lock or wait)
 *   udp workers    one per CPU (or `workers`), each with its own SO_REUSEPORT socket per
 *                  listen address; recvmmsg a batch, answer, sendmmsg the batch
 *   tcp            one accept thread; one thread per connection (64 at most), RFC 7766
 *                  framing, 10 s idle timeout
 *   forwarder      fwd.h
 *
 * Before every informer has listed once the zone answers SERVFAIL (never a false
 * NXDOMAIN); other names are forwarded from the start. Clients outside loopback, the
 * Nodes' InternalIPs and pod CIDRs, the listen addresses and `allow` get REFUSED unless
 * allow_any (no open resolver). Malformed queries get FORMERR when the header is
 * readable and are dropped otherwise; responses sent to us are dropped.
 */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

struct dns_server_opts {
	const struct client_config *cfg; /* the API (copied) */
	const char *zone;		 /* default "cluster.local" */
	uint32_t ttl;			 /* default 5; 0 is allowed (do not cache) when ttl_set */
	bool ttl_set;
	const char *const *listen;    /* IPs to serve on (NULL-terminated), at least one; the
				       * first must bind, the others are skipped (logged) when
				       * they cannot */
	int port;		      /* default 53 */
	const char *const *upstreams; /* NULL: the nameservers of resolv_conf */
	const char *resolv_conf;      /* default /etc/resolv.conf */
	const char *const *dns_ips;   /* A/AAAA of ns.dns.<zone>; NULL: the kube-dns Service's */
	const char *const *allow;     /* more client CIDRs to answer; may be NULL */
	bool allow_any;		      /* answer every client (an open resolver: think twice) */
	int workers;		      /* UDP threads; 0 = the number of CPUs */
	int upstream_timeout_ms;      /* per try; 0 = 2000 */
};

struct dns_server;

/* Binds every socket (UDP and TCP on each listen address), starts the informers and the
 * threads; does not wait for the first lists. Returns 0 with *out, or a negative errno
 * with the reason in err (an address that is not local, port in use, bad upstream). */
int dns_server_start(const struct dns_server_opts *o, struct dns_server **out, char *err, size_t errlen);
/* Whether the zone is being served from synced informers. */
bool dns_server_synced(struct dns_server *s);
/* Stops every thread and frees everything. NULL is a no-op. Blocks up to about a second. */
void dns_server_stop(struct dns_server *s);

#endif
