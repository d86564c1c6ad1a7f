/* model.h - the Service proxy's model: from Services, EndpointSlices and the node's
 * identity to the table of service ports a data-plane backend programs (pure, no I/O).
 *
 * One `struct proxy_svcport` per (Service, port, IP family): kube-proxy's ServicePort of
 * one family. It carries every address the port is reached on (the cluster IP of that
 * family, external IPs, load-balancer ingress IPs whose ipMode is not Proxy, and the
 * node port), the traffic policies, ClientIP affinity and the source ranges, and its
 * endpoints: EndpointSlices are the only source (never Endpoints), merged across all
 * slices of the Service (label kubernetes.io/service-name), only the slices of the port's
 * address type, deduplicated by address and port (a copy that is ready wins), each with
 * ready / serving / terminating as EndpointSlice conditions define them (ready unset =
 * ready, serving unset = ready, terminating unset = false) and whether it runs on this
 * node.
 *
 * From those the model picks, as kube-proxy's CategorizeEndpoints does:
 *  - cluster endpoints: ready ones, or when none is ready the serving-and-terminating
 *    ones; with internalTrafficPolicy Local only those on this node;
 *  - local endpoints (externalTrafficPolicy Local): the node's ready ones, or its
 *    serving-and-terminating ones when none is ready.
 * An empty set is what makes a backend reject (cluster) or drop (Local, none here).
 *
 * Services of type ExternalName and headless Services (clusterIP None) are not proxied.
 * Output order is stable (namespace, name, port index, family), so generated rulesets
 * are byte-for-byte reproducible (golden tests).
 */
#ifndef PROXY_MODEL_H
#define PROXY_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"

#define PROXY_DEFAULT_AFFINITY_S 10800

struct proxy_ep {
	struct ip_addr ip;
	uint16_t port;
	bool ready, serving, terminating;
	bool local; /* endpoint.nodeName is this node */
};

struct proxy_svcport {
	char *ns, *name, *port_name; /* port_name "" when unnamed */
	int family;		     /* 4 or 6 */
	int proto;		     /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint16_t port, node_port, hc_node_port;
	bool has_cluster_ip;
	struct ip_addr cluster_ip;
	struct ip_addr *external_ips; /* externalIPs and LB ingress IPs of this family */
	size_t n_external;
	size_t n_lb;		 /* the last n_lb of external_ips are LB ingress IPs */
	struct cidr *src_ranges; /* loadBalancerSourceRanges of this family */
	size_t n_src_ranges;
	bool etp_local, itp_local;
	int affinity_s;		  /* ClientIP timeout, 0 = no affinity */
	const char *trigger_time; /* newest last-change-trigger-time of its slices, or NULL (borrowed) */
	struct proxy_ep *eps;	  /* merged, deduplicated, sorted by address then port */
	size_t n_eps;
	size_t *cluster_eps, n_cluster; /* indexes into eps */
	size_t *local_eps, n_local;
};

struct proxy_model {
	struct proxy_svcport *ports;
	size_t n;
	json_t *keep; /* references that keep borrowed strings alive */
};

/* What the rules need to know about the node and the cluster besides the model. */
struct proxy_netcfg {
	struct cidr cluster_cidrs[2]; /* pod network per family (masquerade of other sources) */
	size_t n_cluster_cidrs;
	struct cidr *nodeport_cidrs; /* --nodeport-addresses: node ports only on local addresses
				      * inside these; none = every local address */
	size_t n_nodeport_cidrs;
	bool localhost_nodeports;    /* IPv4 node ports on 127.0.0.1 (route_localnet) */
	struct ip_addr local_dns[2]; /* node-local DNS address (kube-dns IP on lo): NOTRACK for :53 */
	size_t n_local_dns;
};

/* Builds the model from services (JSON array of Service objects) and slices (JSON array
 * of EndpointSlice objects), both borrowed; node_name tells local endpoints. Objects it
 * cannot read (bad ports, addresses) are skipped one field at a time, never the whole
 * table. out is the caller's; free with proxy_model_fini. Never fails. */
void proxy_model_build(const json_t *services, const json_t *slices, const char *node_name,
		       struct proxy_model *out);
void proxy_model_fini(struct proxy_model *m);

/* "ns/name:port" (port part omitted when the port has no name), as kube-proxy prints a
 * ServicePortName; heap string. */
char *proxy_svcport_name(const struct proxy_svcport *sp);
/* "tcp", "udp" or "sctp". */
const char *proxy_proto_name(int proto);
/* IPPROTO_* of "TCP", "UDP" or "SCTP" (Kubernetes spelling; NULL = TCP), or -1. */
int proxy_proto_parse(const char *s);

#endif
