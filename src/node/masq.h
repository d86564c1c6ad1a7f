/* masq.h - masquerade of pod traffic leaving the cluster's pod network (nftables).
 *
 * One table, `ip svcplane_masq`, replaced whole in one atomic nftables transaction on
 * every sync: a set of every node's pod CIDR and a postrouting NAT rule masquerading
 * packets from this node's pod CIDR to anything outside that set, so pods reach the
 * node network and beyond while pod-to-pod traffic keeps its source address (what the
 * Endpoints and NetworkPolicies see). IPv4 only, like the pod network today.
 */
#ifndef NODE_MASQ_H
#define NODE_MASQ_H

#include <stddef.h>

#include "base/cidr.h"

/* Makes the table match: masquerade from own to everything outside all[0..n). Runs in
 * the calling thread's network namespace. Returns 0 or a negative code with nft's
 * message in err. */
int node_masq_sync(const struct cidr *own, const struct cidr *all, size_t n, char *err, size_t errlen);
/* Removes the table (agent --cleanup). Missing is not an error. */
int node_masq_cleanup(char *err, size_t errlen);
/* The nftables script node_masq_sync applies (pure; heap string). */
char *node_masq_script(const struct cidr *own, const struct cidr *all, size_t n);

#endif
