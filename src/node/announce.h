/* announce.h - a pod interface tells its neighbours who it is: a gratuitous ARP for its
 * IPv4 address and an unsolicited Neighbour Advertisement (override flag) for its IPv6
 * one, broadcast on the pod's link.
 *
 * Why: a pod IP is reused as soon as its pod is gone. The node's neighbour entry for it
 * is deleted at teardown (node_neigh_del), but other pods on the bridge may still hold
 * the old pod's MAC as REACHABLE and send to a dead MAC for up to a minute. A gratuitous
 * ARP / override NA replaces such entries at once (the kernel accepts them for existing
 * entries regardless of arp_accept). The kernel's own announcement (arp_notify /
 * ndisc_notify, also set on pod interfaces) fires when the link goes up, which is
 * before the veth's carrier has reached the bridge and is usually dropped; so the agent
 * repeats this one a few times in the first seconds of a pod (agent: ANNOUNCE_*).
 */
#ifndef NODE_ANNOUNCE_H
#define NODE_ANNOUNCE_H

#include "base/cidr.h"

/* Sends one gratuitous ARP for ip4 and one unsolicited NA for ip6 (either may be NULL)
 * out of link dev of the namespace netns_fd (borrowed; -1 for the caller's own). Blocks
 * briefly (a thread that joins the namespace). Returns 0, or the first -errno (the
 * other family is still tried). */
int node_announce(int netns_fd, const char *dev, const struct ip_addr *ip4, const struct ip_addr *ip6);

/* Builds the 28-byte ARP payload of a gratuitous ARP request (sender = target = ip4,
 * target MAC zero) for mac into out. Pure; for tests. */
void node_announce_garp(unsigned char out[28], const unsigned char mac[6], const struct ip_addr *ip4);
/* Builds the 32-byte ICMPv6 Neighbour Advertisement (override set, solicited clear,
 * target ip6, target link-layer address option mac) into out, checksum left zero for
 * the kernel to fill. Pure; for tests. */
void node_announce_na(unsigned char out[32], const unsigned char mac[6], const struct ip_addr *ip6);

#endif
