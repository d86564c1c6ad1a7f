/* dnsep.h - the kube-dns Service's Endpoints: where cluster DNS runs (pure).
 *
 * Every agent serves DNS on its node (dns/server.h), so the endpoints of
 * kube-system/kube-dns are the Ready Nodes' InternalIPs of the Service's IP families,
 * with ports dns 53/UDP and dns-tcp 53/TCP, each address naming its node (nodeName, targetRef kind Node). The
 * Service has no selector (the endpoints controllers leave it alone, as they do the
 * `kubernetes` Service), and the mirroring controller makes its EndpointSlice, so
 * `kubectl get endpoints -n kube-system kube-dns` and the slices agree. A kube-dns
 * Service with a selector (a DNS deployment of the user's) is left to the endpoints
 * controllers: ctrl_dns_endpoints_desired returns NULL.
 */
#ifndef CONTROLLER_DNSEP_H
#define CONTROLLER_DNSEP_H

#include <jansson.h>

#define CTRL_DNS_NAMESPACE "kube-system"
#define CTRL_DNS_SERVICE "kube-dns"

/* The Endpoints object (new reference, without apiVersion/kind) that svc should have given
 * nodes (a JSON array of Nodes), keeping cur's metadata (may be NULL); NULL when svc is
 * NULL, has a selector, or is of type ExternalName. All arguments are borrowed. */
json_t *ctrl_dns_endpoints_desired(const json_t *svc, const json_t *nodes, const json_t *cur);

#endif
