/* route.h - the Ingress routing table: Ingresses x Services x EndpointSlices -> virtual
 * hosts, paths and backends with their ready endpoints. Pure (no I/O), built once per
 * change and read by the proxy's loop without locks (a table is immutable once built).
 *
 * Matching follows the Ingress specification (networking.k8s.io/v1):
 *   - host: a rule's host is exact ("foo.bar.com") or a wildcard of one label
 *     ("*.bar.com" matches "x.bar.com", not "bar.com" nor "a.x.bar.com"); a rule without
 *     host matches every host. The request's Host header is compared in lower case,
 *     without port and trailing dot. As ingress-nginx does, the most specific host wins
 *     (exact, then wildcard, then the hostless rules) and only its paths are tried.
 *   - path: Exact compares the whole path; Prefix compares element by element split on
 *     '/' ("/foo" matches "/foo", "/foo/", "/foo/bar", not "/foobar"; a trailing '/' of
 *     either side is ignored); ImplementationSpecific is Prefix. The longest matching path
 *     wins; at equal length Exact beats Prefix; among equals the oldest Ingress
 *     (creationTimestamp, then namespace/name) wins, as in ingress-nginx.
 *   - nothing matched: spec.defaultBackend of the oldest Ingress that has one, else 404.
 * A backend naming a `resource` (not a Service), a missing Service or port, or a Service
 * with no ready endpoint answers 503 with the reason.
 */
#ifndef INGRESS_ROUTE_H
#define INGRESS_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/vec.h"

#define ING_CLASS "svcplane"
#define ING_CONTROLLER "svcplane.io/ingress"

enum ing_path_type { ING_EXACT, ING_PREFIX };

struct ing_endpoint {
	char ip[64];
	int port;
	char key[80]; /* "ip:port", the affinity cookie's value */
};

struct ing_backend {
	char *ns, *svc;	 /* the Service (NULL for a resource backend) */
	char *port_desc; /* "80" or "http", for messages */
	char *reason;	 /* non-NULL: answer 503 with this text */
	VEC(struct ing_endpoint) eps;
	/* nginx.ingress.kubernetes.io/affinity: cookie of the owning Ingress */
	bool cookie;
	char *cookie_name;   /* default INGRESSCOOKIE */
	long cookie_max_age; /* seconds, 0 = session cookie */
	char *cookie_path;   /* the rule's path (ingress-nginx's default cookie path) */
};

struct ing_route {
	char *path;
	enum ing_path_type type;
	size_t order; /* the owning Ingress's rank (oldest first) */
	struct ing_backend *be;
};

struct ing_vhost {
	char *host; /* lower case; "" = every host; "*.x" = wildcard */
	VEC(struct ing_route) routes;
};

struct ing_tls {
	char *host; /* lower case, may be a wildcard */
	char *ns, *secret;
};

struct ing_table {
	VEC(struct ing_vhost) hosts;
	VEC(struct ing_backend *) bes; /* every backend, owned here */
	struct ing_backend *def;       /* default backend or NULL */
	VEC(struct ing_tls) tls;
	json_t *problems; /* [{namespace, name, reason, message}] for events */
	json_t *served;	  /* ["ns/name"] of the Ingresses this table serves */
};

/* True when this controller serves ing: spec.ingressClassName "svcplane", or no class
 * (svcplane's IngressClass is the default one) unless the old annotation
 * kubernetes.io/ingress.class names another controller's class. */
bool ing_is_ours(const json_t *ing);
/* Builds the table from JSON arrays of Ingresses, Services and EndpointSlices (borrowed;
 * any may be NULL). Never fails; malformed entries are skipped. Free with ing_table_free. */
struct ing_table *ing_table_build(const json_t *ingresses, const json_t *services, const json_t *slices);
void ing_table_free(struct ing_table *t);
/* The backend for a request: host is the Host header (any case, with or without port),
 * path the request path (without query). NULL = nothing matched and no default (404). */
const struct ing_backend *ing_table_match(const struct ing_table *t, const char *host, const char *path);
/* The TLS secret (ns, name) for an SNI name, or NULL: exact host first, then wildcard. */
const struct ing_tls *ing_table_tls(const struct ing_table *t, const char *sni);
/* The object named ns/name in a JSON array of objects (borrowed), or NULL. */
const json_t *ing_obj_find(const json_t *objs, const char *ns, const char *name);
/* Path matching alone (exported for tests). */
bool ing_path_match(enum ing_path_type type, const char *rule, const char *path);

#endif
