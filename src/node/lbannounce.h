/* lbannounce.h - the node's Lease and layer-2 announcement of LoadBalancer addresses
 * (MetalLB's layer-2 mode, with node Leases for fast failure detection).
 *
 * Every agent renews the Lease kube-node-lease/<node> (coordination.k8s.io/v1) every
 * quarter of its duration, through a writer thread of its own (node/writer.h), so pod
 * status bursts never delay a renewal. From its informers (Services, Nodes, EndpointSlices,
 * Leases) it computes which node announces each LoadBalancer address (node/lbelect.h)
 * and, for the addresses it owns, answers ARP requests and IPv6 Neighbour Solicitations
 * on one interface through AF_PACKET sockets (node/lbpkt.h). The address is never added
 * to an interface: the kernel would answer for it on every node.
 *
 * Thread: one announcer thread owns the owned-address table and the sockets:
 *
 *   poll(ARP socket, NS socket, eventfd; timeout = earliest of the Lease renewal, the
 *        next Lease expiry, a due gratuitous frame, 1 s)
 *     -> renew our Lease when due (queued to the writer)
 *     -> when an informer changed, or a Lease expired: recompute the owners;
 *        takeover: answer from now on, gratuitous ARP / unsolicited NA at 0, 0.2, 0.5,
 *        1 and 2 s, a Normal event "nodeAssigned" on the Service (MetalLB's reason);
 *        loss: stop answering at once
 *     -> answer every ARP request / NS read for an owned address
 *
 * A Lease is fresh for leaseDurationSeconds after the agent saw it renewed (its own
 * monotonic clock), so an agent that is killed loses its addresses one Lease duration
 * after its last renewal, plus the poll's wake-up. An agent that cannot reach the API
 * server stops seeing its own renewals and gives its addresses up the same way.
 * Informer handlers only record Lease sightings and mark the state dirty.
 */
#ifndef NODE_LBANNOUNCE_H
#define NODE_LBANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "client/client.h"

/* The default --node-lease-duration (seconds): failover takes at most this long (see
 * docs/DESIGN.md for why 4). */
#define NODE_LEASE_DURATION_DEFAULT_S 4
#define NODE_LEASE_NAMESPACE "kube-node-lease"

struct node_lb_opts {
	const struct client_config *cfg; /* borrowed; copied by the clients */
	const char *node_name;
	const char *node_ip;  /* the InternalIP: its interface is the default one */
	const char *iface;    /* the interface facing the pool; NULL = node_ip's */
	int lease_duration_s; /* 0 = NODE_LEASE_DURATION_DEFAULT_S */
	bool no_announce;     /* renew the Lease only */
};

struct node_lb;

/* Starts the informers (waits for their first lists, 10 s at most), the writer and the
 * thread. An interface that cannot be opened is logged and the node then only renews
 * its Lease. Returns 0 with *out, or a negative errno with a sentence in err. Blocks for
 * the informers' lists. */
int node_lb_start(const struct node_lb_opts *o, struct node_lb **out, char *err, size_t errlen);
/* Stops announcing at once, stops the thread and the informers, frees everything. The
 * Lease is left to expire (a stopping agent marks its Node NotReady, which others see).
 * NULL is a no-op. */
void node_lb_stop(struct node_lb *l);
/* Appends the announcement metrics (Prometheus text, MetalLB's names with the svcplane_
 * prefix) of this process's announcer to b. */
void node_lb_metrics_write(struct buf *b);

#endif
