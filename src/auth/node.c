/* node.c - the Node authorizer and NodeRestriction (see node.h). */
#include "auth/node.h"

#include <stdio.h>
#include <string.h>

static bool is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool empty(const char *s)
{
	return !s || !*s;
}

const char *auth_node_name(const struct auth_user *u)
{
	static const char pre[] = "system:node:";
	if (strncmp(u->name, pre, sizeof(pre) - 1) != 0 || !u->name[sizeof(pre) - 1] ||
	    !auth_user_in_group(u, "system:nodes"))
		return NULL;
	return u->name + sizeof(pre) - 1;
}

static bool reading(const struct auth_attrs *a)
{
	return is(a->verb, "get") || is(a->verb, "list") || is(a->verb, "watch");
}

static bool writing(const struct auth_attrs *a)
{
	return is(a->verb, "update") || is(a->verb, "patch") || is(a->verb, "delete");
}

bool auth_node_needs_pod(const struct auth_attrs *a)
{
	return a->resource_request && empty(a->group) && is(a->resource, "pods") && !empty(a->name) &&
	       writing(a) && (empty(a->sub) || is(a->sub, "status"));
}

enum auth_decision auth_node_authorize(const char *node, const struct auth_attrs *a, const char *pod_node,
				       char *reason, size_t reasonlen)
{
	if (reasonlen)
		reason[0] = 0;
	if (!a->resource_request) {
		char want[300];
		snprintf(want, sizeof(want), "/svcplane/v1/nodes/%s/", node);
		const char *p = a->path ? a->path : "";
		if (is(a->verb, "post") && !strncmp(p, want, strlen(want)) &&
		    (is(p + strlen(want), "serving-certificate") ||
		     is(p + strlen(want), "client-certificate")))
			return AUTH_ALLOW;
		return AUTH_NO_OPINION;
	}
	const char *g = a->group ? a->group : "", *r = a->resource ? a->resource : "";
	if (!*g && is(r, "nodes")) {
		if (reading(a) && (empty(a->sub) || is(a->sub, "status")))
			return AUTH_ALLOW;
		if (is(a->verb, "create") && empty(a->sub))
			return AUTH_ALLOW; /* the body's name is checked at admission */
		if (writing(a) && (empty(a->sub) || is(a->sub, "status"))) {
			if (is(a->name, node))
				return AUTH_ALLOW;
			if (!empty(a->name)) {
				snprintf(reason, reasonlen,
					 "node \"%s\" is not allowed to modify node \"%s\"", node, a->name);
				return AUTH_DENY;
			}
		}
		return AUTH_NO_OPINION;
	}
	if (!*g && is(r, "pods")) {
		if (reading(a) && (empty(a->sub) || is(a->sub, "status")))
			return AUTH_ALLOW;
		if (auth_node_needs_pod(a)) {
			bool status = is(a->sub, "status");
			if (!status && !is(a->verb, "delete"))
				return AUTH_NO_OPINION; /* a node changes a pod's status, never its spec */
			if (is(pod_node, node))
				return AUTH_ALLOW;
			snprintf(reason, reasonlen,
				 "node \"%s\" can only %s pods with spec.nodeName set to itself", node,
				 status ? "update the status of" : "delete");
			return AUTH_DENY;
		}
		return AUTH_NO_OPINION;
	}
	/* The data plane's Ingress TLS certificates (svcplane's node-local Ingress proxy). */
	if (!*g && is(r, "secrets") && empty(a->sub) && (is(a->verb, "list") || is(a->verb, "watch")) &&
	    is(a->field_selector, "type=kubernetes.io/tls"))
		return AUTH_ALLOW;
	if (!*g && is(r, "serviceaccounts") && is(a->sub, "token") && is(a->verb, "create"))
		return AUTH_ALLOW; /* only for its own pods: the TokenRequest handler checks the bound pod */
	if (!*g && is(r, "events"))
		return is(a->verb, "create") || is(a->verb, "patch") || is(a->verb, "update")
			   ? AUTH_ALLOW
			   : AUTH_NO_OPINION;
	if (!*g && empty(a->sub) && reading(a) &&
	    (is(r, "services") || is(r, "endpoints") || is(r, "namespaces")))
		return AUTH_ALLOW;
	if (is(g, "discovery.k8s.io") && is(r, "endpointslices") && reading(a))
		return AUTH_ALLOW;
	/* The node's data plane serves Ingresses (svcplane's node-local proxy), so it reads
	 * them and their classes; kube's nodes do not, its ingress controllers do. */
	if (is(g, "networking.k8s.io") && (is(r, "ingresses") || is(r, "ingressclasses")) && empty(a->sub) &&
	    reading(a))
		return AUTH_ALLOW;
	if (is(g, "coordination.k8s.io") && is(r, "leases") && is(a->ns, "kube-node-lease")) {
		if (is(a->verb, "create") ||
		    (!empty(a->name) && is(a->name, node) && (writing(a) || reading(a))) ||
		    (empty(a->name) && (is(a->verb, "list") || is(a->verb, "watch"))))
			return AUTH_ALLOW;
		if (!empty(a->name) && writing(a)) {
			snprintf(reason, reasonlen, "node \"%s\" is not allowed to modify lease \"%s\"", node,
				 a->name);
			return AUTH_DENY;
		}
	}
	return AUTH_NO_OPINION;
}

bool auth_node_needs_graph(const struct auth_attrs *a)
{
	return a->resource_request && empty(a->group) && empty(a->sub) && is(a->verb, "get") &&
	       !empty(a->name) &&
	       (is(a->resource, "secrets") || is(a->resource, "configmaps") ||
		is(a->resource, "serviceaccounts"));
}

static bool ref_is(const json_t *o, const char *key, const char *name)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && !strcmp(v, name);
}

/* A container's env and envFrom references of kind (secrets or configmaps). */
static bool container_uses(const json_t *c, bool secret, const char *name)
{
	const char *kref = secret ? "secretKeyRef" : "configMapKeyRef",
		   *fref = secret ? "secretRef" : "configMapRef";
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c, "env"), i, e)
	{
		if (ref_is(json_object_get(json_object_get(e, "valueFrom"), kref), "name", name))
			return true;
	}
	json_array_foreach(json_object_get(c, "envFrom"), i, e)
	{
		if (ref_is(json_object_get(e, fref), "name", name))
			return true;
	}
	return false;
}

bool auth_node_pod_uses(const json_t *pod, const char *resource, const char *name)
{
	const json_t *spec = json_object_get(pod, "spec");
	if (is(resource, "serviceaccounts")) {
		const char *sa = json_string_value(json_object_get(spec, "serviceAccountName"));
		return is(sa && *sa ? sa : "default", name);
	}
	bool secret = is(resource, "secrets");
	if (!secret && !is(resource, "configmaps"))
		return false;
	size_t i, k;
	json_t *v, *s;
	if (secret) {
		json_array_foreach(json_object_get(spec, "imagePullSecrets"), i, v)
		{
			if (ref_is(v, "name", name))
				return true;
		}
	}
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
	{
		if (secret ? ref_is(json_object_get(v, "secret"), "secretName", name)
			   : ref_is(json_object_get(v, "configMap"), "name", name))
			return true;
		json_array_foreach(json_object_get(json_object_get(v, "projected"), "sources"), k, s)
		{
			if (ref_is(json_object_get(s, secret ? "secret" : "configMap"), "name", name))
				return true;
		}
	}
	static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
	for (size_t l = 0; l < 3; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, v)
		{
			if (container_uses(v, secret, name))
				return true;
		}
	}
	return false;
}

bool auth_bootstrap_allows(const struct auth_attrs *a)
{
	static const char pre[] = "/svcplane/v1/nodes/", suf[] = "/client-certificate";
	const char *p = a->path ? a->path : "";
	size_t n = strlen(p);
	if (a->resource_request || !is(a->verb, "post") || strncmp(p, pre, sizeof(pre) - 1) != 0 ||
	    n <= sizeof(pre) - 1 + sizeof(suf) - 1 || strcmp(p + n - (sizeof(suf) - 1), suf) != 0)
		return false;
	const char *name = p + sizeof(pre) - 1;
	return !memchr(name, '/', (size_t)(p + n - (sizeof(suf) - 1) - name));
}
