/* proxy.h - the Service proxy of a node (kube-proxy): informers on Services and
 * EndpointSlices, one sync thread that turns them into the kernel's data plane through a
 * backend (nftables by default, iptables; or the userspace relay of proxy/uproxy.h), UDP
 * conntrack cleanup, the healthCheckNodePort server, and metrics.
 *
 * Threads: the two informer threads only mark the state dirty and signal; the sync
 * thread owns the model, the backend and the health-check sockets:
 *
 *   wait (dirty, or 1 s for the health-check sockets)
 *     -> model from the informer caches (proxy/model.h)
 *     -> backend sync: one transaction of what changed (proxy/nft.h, proxy/ipt.h)
 *     -> conntrack: UDP flows to removed endpoints, or to a Service that had none
 *     -> health-check listeners follow the Services with externalTrafficPolicy Local
 *     -> metrics
 *
 * Events that arrive during a sync are coalesced into the next one, so a burst costs a
 * few syncs and a single change is programmed as soon as it arrives.
 */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stddef.h>

#include "base/buf.h"
#include "client/client.h"
#include "proxy/model.h"

struct proxy_config {
	const struct client_config *cfg; /* how to reach the API (copied) */
	const char *node_name;		 /* required: tells local endpoints */
	const char *mode;	 /* "nftables" (default), "iptables" or "userspace" (proxy/uproxy.h) */
	const char *node_ips;	 /* the node's addresses, "IPv4[,IPv6]": health-check servers
				  * listen there (NULL: every address) */
	struct proxy_netcfg net; /* copied (nodeport_cidrs too) */
	const char *table;	 /* nft table / iptables chain prefix; NULL = default */
};

struct proxy;

/* Starts the informers and the sync thread; waits (10 s at most) for the first lists and
 * programs the first sync before returning, so traffic flows when it returns 0. Returns a
 * negative errno with a sentence in err otherwise. Blocks. */
int proxy_start(const struct proxy_config *c, struct proxy **out, char *err, size_t errlen);
/* Stops the threads and frees everything; the kernel keeps the rules (a restarted proxy
 * adopts them). NULL is a no-op. */
void proxy_stop(struct proxy *p);

/* Removes what the proxy put in the kernel (agent --cleanup). */
int proxy_cleanup(char *err, size_t errlen);

/* Appends the proxy's metrics in Prometheus text format to b: kube-proxy's names, labels
 * and meanings wherever kube-proxy has the number (sync durations, full and partial,
 * network programming latency, change counters, timestamps, failures, iptables rules,
 * conntrack deletions), svcplane_proxy_* only where it has none (nftables elements,
 * chains). Safe from any thread; prints nothing before a proxy ran. */
void proxy_metrics_write(struct buf *b);

/* Parses --nodeport-addresses as kube-proxy: comma-separated CIDRs ("198.18.0.0/24,
 * 2001:db8::/64"; a bare address is its /32 or /128). Returns the count, or -EINVAL with
 * the bad entry in err. *out is heap (caller frees). */
int proxy_nodeport_addresses_parse(const char *s, struct cidr **out, char *err, size_t errlen);

#endif
