/* mirror.h - EndpointSlice mirroring as a pure function: user-written Endpoints -> slices.
 *
 * Kubernetes' pkg/controller/endpointslicemirroring copies the Endpoints that users write
 * for Services without a selector into EndpointSlices, so that slice consumers (the
 * proxy, DNS) see them. The rules:
 *
 *  - nothing is mirrored, and every mirrored slice is deleted, when the Endpoints or the
 *    Service does not exist, the Service has a selector, the Endpoints carry the label
 *    endpointslice.kubernetes.io/skip-mirror=true, or they are a leader-election record
 *    (annotation control-plane.alpha.kubernetes.io/leader);
 *  - each subset's ports and each address type (IPv4 / IPv6, from the address; invalid
 *    IPs are skipped) map to one slice; subsets with the same ports share it;
 *  - at most max_per_slice (default and limit 1000) addresses per subset, addresses
 *    before notReadyAddresses; conditions.ready is true for addresses and false for
 *    notReadyAddresses; nodeName, hostname and targetRef are copied; the IP is written in
 *    canonical form;
 *  - labels: the Endpoints' labels plus kubernetes.io/service-name=<name> and
 *    endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io;
 *    annotations: the Endpoints' less last-change-trigger-time and
 *    kubectl.kubernetes.io/last-applied-configuration; ownerReferences to the Endpoints;
 *  - of the existing slices for a port set, the first is rewritten when its endpoints,
 *    labels or annotations differ and the others are deleted; creates reuse slices being
 *    deleted (same address type) as updates; no creates while the Endpoints are being
 *    deleted.
 */
#ifndef CONTROLLER_MIRROR_H
#define CONTROLLER_MIRROR_H

#include <jansson.h>

#include "controller/slices.h"

#define CTRL_MIRROR_CONTROLLER "endpointslicemirroring-controller.k8s.io"
#define CTRL_LABEL_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"
#define CTRL_MIRROR_MAX 1000

/* Fills out (fresh arrays; fini any previous plan first) with the plan that brings
 * existing_mirrored (the slices labelled with this Endpoints' name and managed by the
 * mirroring controller; may be NULL) to the mirror of endpoints. endpoints or svc NULL
 * means the object does not exist. Updates keep the existing name and resourceVersion.
 * All arguments are borrowed; never blocks. */
void ctrl_mirror_reconcile(const json_t *endpoints, const json_t *svc, const json_t *existing_mirrored,
			   int max_per_slice, struct ctrl_slice_plan *out);

#endif
