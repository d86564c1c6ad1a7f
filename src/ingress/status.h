/* status.h - the one writer of Ingress status and events (run by `svcplane server` beside
 * the controller manager, so N agents never race on the same field).
 *
 * For every Ingress this controller serves (route.h ing_is_ours), status.loadBalancer.
 * ingress lists the InternalIPs of the Ready Nodes (every agent runs the proxy on its node
 * addresses), so `kubectl get ingress` shows ADDRESS; the write is a merge patch of the
 * status subresource, made only when the list differs. Each missing Service, Service
 * port or TLS Secret gets one Warning Event on the Ingress (ServiceNotFound,
 * PortNotFound, SecretNotFound), once per distinct message while the process runs.
 * Thread: one worker woken by four informers (Ingresses, Nodes, Services, Secrets) and
 * every 5 s; it blocks only on its own API requests (10 s client timeout).
 *
 * With opts.lb, status lists the LoadBalancer Service's address instead (below).
 */
#ifndef INGRESS_STATUS_H
#define INGRESS_STATUS_H

#include <stddef.h>

#include "client/client.h"

struct ing_status;

struct ing_status_opts {
	const struct client_config *cfg; /* the API (copied) */
	/* --ingress-service-type LoadBalancer: publish the address the LoadBalancer pool gives
	 * Service kube-system/svcplane-ingress (made here, type LoadBalancer, ports 80 and 443,
	 * its EndpointSlice the Ready nodes' IPv4 InternalIPs at the proxies' ports) instead of
	 * the node addresses; the kernel Service proxy carries it to the agents. */
	bool lb;
	int http_port, https_port; /* the agents' proxy ports (0: 80 and 443) */
};

int ing_status_start(const struct ing_status_opts *o, struct ing_status **out, char *err, size_t errlen);
/* Stops the worker and the informers; NULL is a no-op. Blocks about a second. */
void ing_status_stop(struct ing_status *s);

#endif
