/* lbelect.h - which node announces each LoadBalancer address (pure, no I/O).
 *
 * Every agent computes the same answer from its informer caches, without talking to the
 * others: for each address in a LoadBalancer Service's status.loadBalancer.ingress, the
 * eligible nodes are those that are Ready, not labelled
 * node.kubernetes.io/exclude-from-external-load-balancers, whose node Lease is fresh
 * and, with externalTrafficPolicy Local, that hold a ready endpoint of the Service (from
 * its EndpointSlices). The owner is MetalLB's layer-2 choice: the eligible node whose
 * SHA-256 of "<node name>#<address>" is smallest (rendezvous hashing), so a node joining
 * or leaving moves only the addresses it wins or held, and two views with the same
 * eligible set agree whatever their order.
 *
 * Lease freshness is judged on the local monotonic clock from when a renewal was seen
 * (as Kubernetes' node lifecycle controller does), so nodes' wall clocks need not
 * agree; only the first sight of a Lease uses its renewTime against the wall clock.
 */
#ifndef NODE_LBELECT_H
#define NODE_LBELECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The label that keeps a node out of LoadBalancer announcements (MetalLB and the service
 * controller honour it too). */
#define NODE_LB_EXCLUDE_LABEL "node.kubernetes.io/exclude-from-external-load-balancers"

/* Index of the owner of address ip among names[0..n) (MetalLB's order: smallest
 * SHA-256 of name "#" ip, ties by name), or -1 when n is 0. Pure. */
int node_lb_owner(const char *ip, const char *const *names, size_t n);

/* The assignment: an object keyed by address text, each {"service": "ns/name",
 * "node": owner} (owner absent when no node is eligible). svcs, nodes and slices are
 * JSON arrays of Services, Nodes and EndpointSlices (any may be NULL); alive is an
 * array of node names whose Lease is fresh. Only Services of type LoadBalancer without a
 * loadBalancerClass (or with lb_class, when not NULL) count. An address claimed by two
 * Services goes to the older (creationTimestamp, then namespace/name). Returns a new
 * object. */
json_t *node_lb_assign(const json_t *svcs, const json_t *nodes, const json_t *slices, const json_t *alive,
		       const char *lb_class);

/* Whether node_lb_assign counts Service svc (may be NULL: false): type LoadBalancer,
 * without a loadBalancerClass or with lb_class (when not NULL). The announcer skips the
 * changes of every other Service and of their EndpointSlices. */
bool node_lb_service_counts(const json_t *svc, const char *lb_class);

/* A Lease's spec.renewTime as Unix milliseconds (microseconds dropped), or -1 when it
 * has none or it does not parse. */
int64_t node_lb_lease_renew_ms(const json_t *lease);
/* spec.leaseDurationSeconds in ms, or dflt_ms when absent or not positive. */
int64_t node_lb_lease_duration_ms(const json_t *lease, int64_t dflt_ms);
/* When to count a Lease seen for the first time as last renewed, on the monotonic
 * clock: now_mono_ms less its age by the wall clock (a renewTime in the future counts
 * as now; none, or one that does not parse, as never: INT64_MIN / 2). */
int64_t node_lb_lease_first_seen(const json_t *lease, int64_t now_mono_ms, int64_t now_wall_ms);

#endif
