/* ipam.h - LoadBalancer IP and node podCIDR allocation as pure functions.
 *
 * Both allocators are stateless: the caller owns the record of what is in use (its
 * informer cache of Services or Nodes) and answers `used` questions through a callback,
 * so a restart rebuilds everything from a list and two controllers can never disagree
 * about state that only one of them holds. The caller serialises picks with its writes
 * (one reconcile at a time) and the API write is the commit.
 *
 * LoadBalancer pools follow the convention of MetalLB and Cilium's LB IPAM: pools are
 * tried in order and addresses in ascending order; the network and broadcast addresses
 * of an IPv4 pool larger than /31 are never handed out (clients and routers treat them
 * specially); IPv6 pools and IPv4 /31 and /32 pools use every address.
 *
 * podCIDRs follow kube-controller-manager's range allocator (pkg/controller/nodeipam):
 * the cluster CIDR is cut into subnets of node_mask bits and a node gets the first free
 * one, in address order.
 */
#ifndef CONTROLLER_IPAM_H
#define CONTROLLER_IPAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

/* Picks a LoadBalancer IP. With requested (spec.loadBalancerIP, may be NULL or ""), that
 * address or an error: -EINVAL when it is not an IP or not an allocatable address of any
 * pool (err says why), -EEXIST when used() says it is taken. Without, the first address
 * not used, or ERR_FULL when every pool is exhausted. used(ip, ud) must not block. On
 * success *out holds the address and 0 is returned. err may be NULL. */
int ctrl_lb_pick(const struct cidr *pools, size_t npools, bool (*used)(const struct ip_addr *ip, void *ud),
		 void *ud, const char *requested, struct ip_addr *out, char *err, size_t errlen);

/* True when this controller should give svc an address: spec.type LoadBalancer and
 * spec.loadBalancerClass unset, or equal to our_class (NULL = we serve only the default
 * class). */
bool ctrl_lb_wants(const json_t *svc, const char *our_class);

/* Picks the first subnet of cluster_cidr with prefix node_mask (24 for IPv4, 64 for IPv6
 * by default) that used(subnet, ud) says is free. Returns 0 with *out set, ERR_FULL when
 * all are used, -EINVAL when node_mask is shorter than the cluster prefix or longer than
 * the family allows. */
int ctrl_podcidr_pick(const struct cidr *cluster_cidr, int node_mask,
		      bool (*used)(const struct cidr *c, void *ud), void *ud, struct cidr *out);

#endif
