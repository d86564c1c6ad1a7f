/* endpoints.h - the Endpoints controller as a pure function: Service x Pods -> Endpoints.
 *
 * ctrl_endpoints_desired() computes what Kubernetes' endpoints controller
 * (pkg/controller/endpoint, syncService) would write for one Service, from the informer's
 * view of the Service, the pods of its namespace and the current Endpoints. It does no
 * I/O: the caller compares with ctrl_endpoints_equal() and writes when they differ.
 *
 * The rules, as Kubernetes has them:
 *  - no Endpoints for ExternalName Services or Services without a selector (NULL result;
 *    the caller leaves user-written Endpoints alone);
 *  - a pod is in when the selector matches, it is not terminal (Succeeded/Failed), it has
 *    an IP, and it is not terminating unless unready pods are tolerated
 *    (spec.publishNotReadyAddresses, or the legacy annotation
 *    service.alpha.kubernetes.io/tolerate-unready-endpoints parsed like Go's ParseBool);
 *  - Endpoints are single-family: the IP of the pod in the Service's primary family
 *    (ipFamilies[0], else the family of clusterIP, else for headless the pod's podIP);
 *  - each Service port resolves per pod (a named targetPort is looked up by name and
 *    protocol in the containers' ports, then in restartable init containers); a pod that
 *    lacks the port is skipped for that port only; a headless Service without ports lists
 *    its pods in one subset without ports;
 *  - ready pods (Ready condition True) or all pods when tolerated go into addresses, the
 *    rest into notReadyAddresses; an address both ready and not ready for one port is not
 *    ready (RepackSubsets);
 *  - subsets are repacked: addresses that offer the same ports share one subset;
 *    addresses sort by IP text then pod UID; ports and subsets sort in a fixed order of
 *    our own (Kubernetes sorts them by an md5 of Go's debug print, which no consumer can
 *    rely on);
 *  - more than 1000 addresses are truncated (ready ones kept first, each subset keeping
 *    its proportional share, rounded up) and annotated
 *    endpoints.kubernetes.io/over-capacity: truncated;
 *  - labels are the Service's, plus service.kubernetes.io/headless for headless Services.
 */
#ifndef CONTROLLER_ENDPOINTS_H
#define CONTROLLER_ENDPOINTS_H

#include <jansson.h>
#include <stdbool.h>

#define CTRL_ENDPOINTS_MAX 1000
#define CTRL_ANN_TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"
#define CTRL_ANN_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"
#define CTRL_ANN_TOLERATE_UNREADY "service.alpha.kubernetes.io/tolerate-unready-endpoints"
#define CTRL_LABEL_HEADLESS "service.kubernetes.io/headless"

/* Returns the Endpoints object the controller should hold for svc (new reference, the
 * caller's), or NULL when the Service is ExternalName or has no selector. pods is a JSON
 * array of pods (those of other namespaces or not matching the selector are ignored, so
 * the caller may pass the namespace's pods or just the Service's own); current is the
 * existing Endpoints or NULL. The result starts from a copy of current (so its
 * resourceVersion, uid and foreign annotations are kept for a CAS update) with subsets,
 * labels and the two controller annotations replaced; the copy is shallow below what it
 * replaces, so the result may share members with current: treat it as read-only below
 * metadata (current itself is never modified). When subsets and labels are unchanged,
 * current's last-change-trigger-time is kept; otherwise it is set to now (RFC 3339), or
 * removed when now is NULL. O(n log n) in the pods given; never blocks. */
json_t *ctrl_endpoints_desired(const json_t *svc, const json_t *pods, const json_t *current, const char *now);

/* True when writing b over a would change nothing that matters: the same subsets
 * (ignoring targetRef.resourceVersion; a missing list equals an empty one), the same
 * labels and the same over-capacity annotation. Trigger time and other metadata are
 * ignored. Either may be NULL (equal only when both are). */
bool ctrl_endpoints_equal(const json_t *a, const json_t *b);

/* Helpers shared by the controllers in this folder (not for other subsystems). */

/* ShouldPodBeInEndpoints: not terminal, has an IP, not terminating unless included. */
bool ctrl__pod_in_endpoints(const json_t *pod, bool include_terminating);
/* FindPort: the pod's port for one Service port, or -1 when a named port is missing. */
int ctrl__find_port(const json_t *pod, const json_t *svc_port);
/* ShouldSetHostname: spec.hostname set, spec.subdomain == Service name, same namespace. */
bool ctrl__should_set_hostname(const json_t *pod, const json_t *svc);
/* clusterIP is set and is not "None". */
bool ctrl__svc_ip_set(const json_t *svc);
/* The pod's IPs in canonical text (status.podIPs, else status.podIP): a new array. */
json_t *ctrl__pod_ips(const json_t *pod);
/* An endpoint's targetRef to the pod: {kind: Pod, namespace, name, uid}; a new object. */
json_t *ctrl__pod_ref(const json_t *pod);
/* The Service port's protocol, "TCP" when unset. */
const char *ctrl__port_protocol(const json_t *svc_port);

#endif
