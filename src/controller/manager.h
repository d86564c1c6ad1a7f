/* manager.h - the controller manager: informers, one work queue, and the controllers
 * that keep Endpoints, EndpointSlices, LoadBalancer addresses and node pod CIDRs current.
 *
 * Everything it knows comes from informers (list + watch through the API, like
 * kube-controller-manager), everything it does is an API write; the decisions are the
 * pure reconcile functions of controller/endpoints.c, slices.c, mirror.c and ipam.c.
 * Events are coalesced per object in the queue: a burst of pod changes for one Service
 * is one reconcile. A single worker thread runs the queue, so two reconciles never race
 * on one object and allocation decisions (LoadBalancer IPs, pod CIDRs) are serial.
 */
#ifndef CONTROLLER_MANAGER_H
#define CONTROLLER_MANAGER_H

#include <stddef.h>

#include "client/client.h"

struct ctrl_manager_opts {
	const struct client_config *cfg; /* how to reach the API (copied) */
	int max_endpoints_per_slice;	 /* 1..1000, default 100 */
	const char *lb_pools;		 /* "CIDR[,CIDR]" for LoadBalancer addresses, or NULL */
	const char *lb_class;	    /* our loadBalancerClass; Services with another class are left alone */
	const char *cluster_cidr;   /* "CIDR[,CIDR]" pod network, or NULL (no pod CIDRs) */
	int node_mask4, node_mask6; /* per-node pod CIDR sizes, default 24 and 64 */
};

struct ctrl_manager;

/* Starts the informers and the worker; waits up to 10 s for the first lists. Returns 0,
 * or a negative code with the reason in err. */
int ctrl_manager_start(const struct ctrl_manager_opts *o, struct ctrl_manager **out, char *err,
		       size_t errlen);
void ctrl_manager_stop(struct ctrl_manager *m);

#endif
