/* slices.h - the EndpointSlice controller as a pure function: Service x Pods x existing
 * slices -> a plan of creates, updates and deletes with minimal churn.
 *
 * This is Kubernetes' staging/src/k8s.io/endpointslice reconciler (Reconcile,
 * reconcileByAddressType, reconcileByPortMapping, finalize), without the I/O:
 *
 *  - one set of slices per address type of the Service (spec.ipFamilies; without them
 *    the family of clusterIP, or both for headless); slices of other types are deleted;
 *  - every pod matching the selector that is not terminal and has an IP is an endpoint,
 *    terminating pods included, with conditions serving = Ready condition, terminating =
 *    deletionTimestamp set, ready = publishNotReadyAddresses || (serving && !terminating);
 *    addresses are all the pod's IPs of the slice's family; nodeName, zone (the node's
 *    topology.kubernetes.io/zone), hostname (spec.hostname when spec.subdomain is the
 *    Service's name) and targetRef;
 *  - when nodes is given, a pod whose node is not in it is left out (unless
 *    publishNotReadyAddresses), as Kubernetes does so a pod on a vanished node cannot
 *    pin a slice; with nodes NULL no pod is left out and no zone is set;
 *  - ports resolve per pod (named targetPorts by name and protocol); endpoints are
 *    grouped by their resolved port list, and a slice holds one group only. A pod that
 *    resolves none of the ports still gets an endpoint, in a slice without ports;
 *  - endpoints are identified by (addresses, hostname, pod namespace/name); an endpoint
 *    whose other fields changed is updated in place;
 *  - minimal churn: slices whose endpoints are all still desired and unchanged are left
 *    alone; slices that lost or changed endpoints are updated (or deleted when empty);
 *    new endpoints go first into slices already being updated (fullest first), then into
 *    the unchanged slice that ends closest to full, and only then into new slices;
 *    a create is turned into an update of a slice that would be deleted (same address
 *    type, owned by the Service); slices not owned by the Service (ownerReferences uid)
 *    are deleted;
 *  - a Service with no endpoints of a type keeps one placeholder slice without endpoints
 *    or ports; an existing identical placeholder is left alone;
 *  - labels: the Service's (less the reserved ones), kubernetes.io/service-name,
 *    endpointslice.kubernetes.io/managed-by, service.kubernetes.io/headless for headless
 *    Services; ownerReferences to the Service (controller, blockOwnerDeletion);
 *    generateName "<svc>-"; annotation endpoints.kubernetes.io/last-change-trigger-time
 *    on every slice created or updated;
 *  - no creates while the Service is being deleted.
 *
 * Endpoints are placed in a fixed order (desired endpoints sorted by their identity)
 * where Kubernetes pops them from a Go map in random order; ports of new slices keep the
 * Service's port order. Both are free choices in Kubernetes too.
 */
#ifndef CONTROLLER_SLICES_H
#define CONTROLLER_SLICES_H

#include <jansson.h>
#include <stdbool.h>

#define CTRL_SLICE_MAX_DEFAULT 100 /* kube-controller-manager --max-endpoints-per-slice */
#define CTRL_SLICE_MAX_LIMIT 1000  /* validation's limit on endpoints per slice */
#define CTRL_LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define CTRL_LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define CTRL_SLICE_CONTROLLER "endpointslice-controller.k8s.io"
#define CTRL_LABEL_ZONE "topology.kubernetes.io/zone"

/* What to write: each a JSON array of EndpointSlice objects. Creates carry
 * metadata.generateName (the API server names them); updates carry the existing
 * metadata.name and metadata.resourceVersion, so the caller's update is a
 * compare-and-swap; deletes are the existing objects as given. */
struct ctrl_slice_plan {
	json_t *create, *update, *del;
};

/* Fills out (any previous content is not freed: call ctrl_slice_plan_fini first) with
 * the plan that brings existing to the desired slices of svc. pods: JSON array of pods
 * (those of other namespaces or not matching the selector are ignored, so the caller may
 * pass the namespace's pods or just the Service's own); nodes: JSON array of Nodes or NULL
 * (see above; the Nodes the pods run on suffice);
 * existing: the slices labelled with this Service and managed by this controller (may be
 * NULL); max_per_slice: endpoints per slice, <= 0 for the default 100, capped at 1000;
 * now: the trigger time (RFC 3339) or NULL to clear it. A Service of type ExternalName or
 * without a selector gets an empty plan (the caller deletes what it owns when the
 * Service stops wanting slices). All arguments are borrowed; never blocks. The plan's
 * objects may share unchanged members with existing and with one another: treat them as
 * read-only (copy one before changing it). Cost: O(n log n) in the pods and endpoints
 * given, with JSON built only for the endpoints of slices being written. */
void ctrl_slices_reconcile(const json_t *svc, const json_t *pods, const json_t *nodes, const json_t *existing,
			   int max_per_slice, const char *now, struct ctrl_slice_plan *out);

/* Releases the three arrays; the plan may be filled again. */
void ctrl_slice_plan_fini(struct ctrl_slice_plan *plan);

/* Helpers shared with mirror.c (not for other subsystems). */

/* An endpoint's identity: sorted addresses, hostname, targetRef namespace/name. The
 * caller frees the string. */
char *ctrl__ep_key(const json_t *ep);
/* EndpointsEqualBeyondHash: nodeName, zone, the three conditions and targetRef (less its
 * resourceVersion) are equal. */
bool ctrl__ep_equal_beyond_hash(const json_t *a, const json_t *b);
/* The identity of a port list, independent of its order. The caller frees it. */
char *ctrl__ports_key(const json_t *ports);

#endif
