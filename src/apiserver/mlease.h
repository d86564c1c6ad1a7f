/* mlease.h - the kubernetes Service's endpoints with several API servers: the pure part of
 * kube-apiserver's "lease" endpoint reconciler (pkg/controlplane/reconcilers/lease.go).
 *
 * Every server keeps a record of its own address under APISERVER_MLEASE_PREFIX<ip> (kube:
 * /registry/masterleases/<ip>) and rewrites it every APISERVER_MLEASE_RENEW_MS; every
 * server makes the default/kubernetes Endpoints and EndpointSlice list the sorted addresses
 * of the live records. kube gives the record an etcd TTL; here, so that it works the same
 * on SQLite and on etcd and needs no synchronised clocks, a record is live while its
 * mod_rev changed less than APISERVER_MLEASE_TTL_MS ago by the observer's own monotonic
 * clock (client-go's leader election judges a Lease the same way). A record seen for the
 * first time counts as just renewed, so a server that starts waits a full TTL before it
 * drops a silent peer. A server that finds a record expired deletes it at the mod_rev it
 * observed (so a renewal that raced it wins), and a server that stops cleanly deletes its
 * own and reconciles at once.
 *
 * Every server of a cluster is assumed to serve on one port (kube assumes the same); two
 * servers on one address share one record.
 */
#ifndef APISERVER_MLEASE_H
#define APISERVER_MLEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"

#define APISERVER_MLEASE_PREFIX "/registry/masterleases/"
#define APISERVER_MLEASE_RENEW_MS 10000 /* kube: EndpointInterval, 10 s */
#define APISERVER_MLEASE_TTL_MS 15000	/* kube: MasterEndpointReconcileTTL, 15 s */

/* One server's record as last observed. */
struct apiserver_mlease {
	char ip[IP_STRLEN]; /* canonical text */
	int64_t mod_rev;    /* the record's mod_rev when observed */
	int64_t seen_ms;    /* when its mod_rev was first seen (observer's monotonic clock) */
};

/* The records an observer knows (zero-initialise; apiserver_mleases_fini frees). */
struct apiserver_mleases {
	struct apiserver_mlease *v;
	size_t len, cap;
};

void apiserver_mleases_fini(struct apiserver_mleases *t);

/* Takes in the records stored now: keys[i] (a full store key under APISERVER_MLEASE_PREFIX)
 * with mod_revs[i], n of them. A record not known before, or whose mod_rev changed, is seen
 * at now_ms; a known one no longer stored is forgotten; a key whose suffix is not an IP
 * address is ignored. Pure. */
void apiserver_mleases_observe(struct apiserver_mleases *t, const char *const *keys, const int64_t *mod_revs,
			       size_t n, int64_t now_ms);

/* Whether l was renewed less than ttl_ms before now_ms. */
bool apiserver_mlease_live(const struct apiserver_mlease *l, int64_t now_ms, int64_t ttl_ms);

/* The addresses the kubernetes Endpoints should list: every live record's, and self's when
 * include_self, of self's address family only, sorted as strings (as kube sorts them),
 * each once. Returns a new JSON array of strings (the caller's); it is empty only when
 * !include_self and no record is live. self is an IP address in text. Pure. */
json_t *apiserver_mleases_addresses(const struct apiserver_mleases *t, int64_t now_ms, int64_t ttl_ms,
				    const char *self, bool include_self);

/* The Endpoints' subsets for addrs (a JSON array of address strings, borrowed) on port:
 * [{"addresses":[{"ip":a}...], "ports":[{"name":"https","port":port,"protocol":"TCP"}]}],
 * or [] when addrs is empty. And the EndpointSlice's endpoints: one ready endpoint per
 * address. New values, the caller's. Pure. */
json_t *apiserver_mleases_subsets(const json_t *addrs, int port);
json_t *apiserver_mleases_slice_endpoints(const json_t *addrs);

#endif
