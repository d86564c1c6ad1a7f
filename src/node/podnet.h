/* podnet.h - the node agent's network part: the node bridge, host-gw routes to the
 * other nodes' pod CIDRs and the masquerade table (from the Node objects), and each
 * pod's network namespace, veth, addresses, routes and neighbour hygiene (see agent.h
 * for the layout). Agent thread only; each call blocks briefly on netlink, nftables or a
 * namespace thread, never on the API.
 */
#ifndef NODE_PODNET_H
#define NODE_PODNET_H

#include "node/podctx.h"

/* Learns this node's podCIDRs from the nodes informer (wakes the pods on a change), sets
 * up the bridge, and makes host-gw routes and the masquerade table match the nodes. */
void node__nodes_reconcile(struct node_agent *a);

/* Creates (or finds again, after a restart) the pod's netns, veth, addresses and routes,
 * deletes stale neighbour entries for its IPs and schedules its announcements.
 * Idempotent. Returns 0, or -errno with the reason in p->net_err. */
int node__podnet_setup(struct node_agent *a, struct apod *p);
/* Removes the pod's veth, netns, IPs and the node's neighbour entries for them; each
 * step tolerates what is already gone. a needs only nl and ipam_dir (node_agent_cleanup). */
void node__podnet_teardown(struct node_agent *a, struct apod *p);
/* Sends the pod's due announcements (gratuitous ARP, unsolicited NA: node/announce.h);
 * returns when the next is due (ms, monotonic), INT64_MAX when none is. */
int64_t node__pod_announce(struct node_agent *a, struct apod *p, int64_t now);

#endif
