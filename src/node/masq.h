/* masq.h - masquerade of pod traffic leaving the cluster's pod network (nftables).
 *
 * One table, `inet svcplane_masq`, replaced whole in one atomic nftables transaction on
 * every sync: sets of every node's pod CIDRs (podcidrs for IPv4, podcidrs6 for IPv6) and
 * a postrouting NAT rule per family of this node's pod CIDRs, masquerading packets from
 * this node's pod CIDR to anything outside the set, so pods reach the node network and
 * beyond while pod-to-pod traffic keeps its source address (what the Endpoints and
 * NetworkPolicies see). Sync and cleanup also remove the IPv4-only `ip svcplane_masq`
 * of earlier versions.
 */
#ifndef NODE_MASQ_H
#define NODE_MASQ_H

#include <stddef.h>

#include "base/cidr.h"

/* Makes the table match: masquerade from each of own[0..nown) (this node's pod CIDRs, at
 * most one per family) to everything of its family outside all[0..n). Runs in the
 * calling thread's network namespace. Returns 0 or a negative code with nft's message in
 * err. */
int node_masq_sync(const struct cidr *own, size_t nown, const struct cidr *all, size_t n, char *err,
		   size_t errlen);
/* Removes the table (agent --cleanup). Missing is not an error. */
int node_masq_cleanup(char *err, size_t errlen);
/* The nftables script node_masq_sync applies (pure; heap string). */
char *node_masq_script(const struct cidr *own, size_t nown, const struct cidr *all, size_t n);

#endif
