/* service.h - the Service rules of kube-apiserver as pure functions over JSON: defaulting
 * (with the REST strategy's update fix-ups), validation, and the allocation plan and
 * pickers for cluster IPs and node ports.
 *
 * The write path runs, for a create or an update of a Service:
 *
 *     api_service_default(svc, old, cfg)      decode defaults + strategy (may edit svc)
 *     api_service_validate(svc, old, cfg, e)  422 field errors, if any: stop
 *     api_service_external_ips_denied(...)    403 API_SERVICE_EXTERNAL_IPS_DENIED: stop
 *     api_service_needs(svc, &needs)          what to allocate; pick with
 *                                             api_service_pick_ip / _pick_node_port,
 *                                             report a taken request with
 *                                             api_service_err_ip_taken / _port_taken
 *
 * which is kube-apiserver's order (SetDefaults_Service at decode; then the service
 * REST beginCreate/beginUpdate: patchAllocatedValues, NormalizeClusterIPs,
 * initIPFamilyFields and the allocators; then PrepareForCreate/PrepareForUpdate with
 * dropTypeDependentFields; then ValidateService/ValidateServiceUpdate; then validating
 * admission). Validation reports errors in stages as Kubernetes does, and stops after
 * the first stage that found any: (1) cluster-IP/family consistency and families the
 * cluster lacks, (2) requested IPs outside the configured ranges, (3) requested node
 * ports outside the node-port range, (4) the ValidateService rules. The
 * DenyServiceExternalIPs admission rule (cfg->allow_external_ips false) comes after
 * validation and is not a field error: kube-apiserver answers 403 Forbidden, `services
 * "NAME" is forbidden: Use of external IPs is denied by admission control`, so it is a
 * separate predicate.
 *
 * Messages and field paths are Kubernetes' own (k8s.io/kubernetes
 * pkg/apis/core/validation/validation.go, pkg/registry/core/service/storage/alloc.go,
 * ipallocator, portallocator), including its quirks: the source-ranges path is
 * "spec.LoadBalancerSourceRanges[i]" and the missing allocateLoadBalancerNodePorts
 * error is on "allocateLoadBalancerNodePorts". Values print as Go's %#v does
 * (`[]string{"198.19.0.1"}`).
 *
 * One deviation: a requested healthCheckNodePort outside the range is reported as a
 * field error on spec.healthCheckNodePort with Kubernetes' text, where kube-apiserver
 * answers 500 "Internal error occurred: failed to allocate requested HealthCheck
 * NodePort ...".
 *
 * metadata.name is checked here too (DNS-1035 label, SV-1); a caller that also runs the
 * generic metadata checks must not check a Service's name twice.
 *
 * Nothing here does I/O or keeps state; the JSON belongs to the caller.
 */
#ifndef API_SERVICE_H
#define API_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/object.h"
#include "base/cidr.h"

struct api_service_config {
	struct cidr ranges[2];		  /* --service-cluster-ip-range; ranges[0] is the primary family */
	int nranges;			  /* 1 (single-stack) or 2 (dual-stack, one per family) */
	int node_port_min, node_port_max; /* --service-node-port-range, e.g. 30000-32767 */
	bool allow_external_ips;	  /* false: the DenyServiceExternalIPs admission rule */
};

/* Defaults svc in place, as kube-apiserver does before it validates. old is the stored
 * object on update (borrowed), NULL on create. On update it keeps, from old, what the
 * client left out but the server had allocated (clusterIP/clusterIPs, node ports of
 * ports with the same name, healthCheckNodePort) and wipes what the new type no longer
 * uses if the client left it unchanged (clusterIPs/ipFamilies/ipFamilyPolicy when going
 * to ExternalName, nodePorts when leaving NodePort/LoadBalancer, healthCheckNodePort,
 * allocateLoadBalancerNodePorts, loadBalancerClass, externalTrafficPolicy, and
 * status.loadBalancer when leaving LoadBalancer). ipFamilyPolicy and ipFamilies are
 * filled from cfg unless the request is inconsistent, which validation then reports.
 * clusterIP/clusterIPs are not allocated here (see api_service_needs). On update, call
 * it after the stored status has been copied into svc (PrepareForUpdate does that copy
 * before dropTypeDependentFields), or the status.loadBalancer wipe is undone. */
void api_service_default(json_t *svc, const json_t *old, const struct api_service_config *cfg);

/* Appends to e every field error kube-apiserver would report for writing svc (old: the
 * stored object on update, NULL on create), in the stages listed above. svc should have
 * been through api_service_default(). Because this runs before allocation (Kubernetes
 * allocates first), a healthCheckNodePort of 0 where one is needed means "allocate one"
 * and is not reported as Required; cluster IPs and node ports are likewise not required.
 * cfg is required (a NULL cfg means no configured ranges). */
void api_service_validate(const json_t *svc, const json_t *old, const struct api_service_config *cfg,
			  struct api_errs *e);

/* Validation of a write to the status subresource (ValidateServiceStatusUpdate):
 * status.loadBalancer.ingress rules (SV-24). */
void api_service_validate_status(const json_t *svc, const json_t *old, struct api_errs *e);

/* The reason kube-apiserver's DenyServiceExternalIPs admission plugin gives (403). */
#define API_SERVICE_EXTERNAL_IPS_DENIED "Use of external IPs is denied by admission control"

/* True when the DenyServiceExternalIPs rule refuses svc: externalIPs are not allowed by
 * cfg and svc adds an address that old (NULL on create) did not have (keeping or
 * removing addresses a Service already has is allowed). Answer 403 Forbidden with
 * API_SERVICE_EXTERNAL_IPS_DENIED. */
bool api_service_external_ips_denied(const json_t *svc, const json_t *old,
				     const struct api_service_config *cfg);

/* ---- allocation ---- */

/* One cluster IP the Service needs, in ipFamilies order. */
struct api_service_ip_need {
	int family;	   /* 4 or 6 */
	int range;	   /* index into cfg->ranges */
	bool any;	   /* true: pick one (api_service_pick_ip); false: reserve ip */
	struct ip_addr ip; /* the requested address when !any */
};

/* One node port the Service needs, for spec.ports[index]. */
struct api_service_port_need {
	size_t index;  /* spec.ports[index].nodePort */
	int node_port; /* > 0: reserve this port; 0: pick one, unless same_as >= 0 */
	int same_as;   /* >= 0: take the port chosen for needs.ports[same_as] (same `port`) */
};

struct api_service_needs {
	struct api_service_ip_need ips[2];
	int nips;
	struct api_service_port_need *ports; /* heap, nports entries */
	size_t nports;
	bool health_check;	    /* type LoadBalancer with externalTrafficPolicy Local */
	int health_check_node_port; /* requested, or 0: pick one */
};

/* Lists what a defaulted, valid svc needs allocated, as kube-apiserver's allocators
 * would on create: one IP per entry of ipFamilies unless headless or ExternalName
 * (requested clusterIPs reserved, the others picked); for NodePort and LoadBalancer a
 * node port per spec.ports entry, except that with allocateLoadBalancerNodePorts false
 * only explicitly requested ones are kept; ports sharing a `port` number share one node
 * port; and the health-check node port when needed. On update the caller reserves only
 * what the stored object did not already hold and releases what it no longer lists.
 * Free with api_service_needs_fini(). */
void api_service_needs(const json_t *svc, const struct api_service_config *cfg,
		       struct api_service_needs *out);
void api_service_needs_fini(struct api_service_needs *n);

/* Picks a free address of range for a Service, as Kubernetes' IP allocator does: the
 * range is split at offset min(max(16, size/16), 256) (0 when size <= 16; KEP-3070);
 * dynamic picks come from the upper band first, starting at a point derived from seed
 * and walking forward with wrap-around, then from the lower band, which is left to
 * static requests as long as possible. used(ip, ud) says whether an address is taken.
 * Returns 0 with *out set, or ERR_FULL (base/err.h) when every usable address is used. */
int api_service_pick_ip(const struct cidr *range, bool (*used)(const struct ip_addr *ip, void *ud), void *ud,
			uint64_t seed, struct ip_addr *out);

/* Picks a free port in [min, max] the same way, with a static band of
 * min(max(16, size/32), 128) ports at the low end (0 when size <= 16; KEP-3668), e.g.
 * 30000-30085 for 30000-32767. Returns 0 with *out set, ERR_FULL, or -EINVAL when
 * min > max. */
int api_service_pick_node_port(int min, int max, bool (*used)(int port, void *ud), void *ud, uint64_t seed,
			       int *out);

/* The n-th address of range, offset from its network address: n = 1 is the `kubernetes`
 * Service's IP, n = 10 the conventional kube-dns IP. Returns 0, or -ERANGE when n is not
 * a usable address of range. */
int api_service_well_known_ip(const struct cidr *range, uint64_t n, struct ip_addr *out);

/* The errors the allocators report when a requested value is taken, with Kubernetes'
 * words: `spec.clusterIPs: Invalid value: []string{...}: failed to allocate IP X:
 * provided IP is already allocated` and `spec.ports[i].nodePort: Invalid value: N:
 * provided port is already allocated`. (Kubernetes answers a full range on a dynamic
 * pick with a 500 InternalError, "failed to allocate a serviceIP: range is full" or
 * "failed to allocate a nodePort: range is full", which is not a field error.) */
void api_service_err_ip_taken(struct api_errs *e, const json_t *svc, const char *ip);
void api_service_err_port_taken(struct api_errs *e, size_t index, int node_port);

#endif
