/* lbelect.c - the owner of each LoadBalancer address (see lbelect.h). Pure: no I/O, no
 * clock; the caller passes the times and the set of nodes whose Lease is fresh. */
#include "node/lbelect.h"

#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"
#include "node/agent.h"

static void node_hash(const char *name, const char *ip, unsigned char out[SHA256_DIGEST_LENGTH])
{
	char *s = xasprintf("%s#%s", name, ip);
	SHA256((const unsigned char *)s, strlen(s), out);
	free(s);
}

int node_lb_owner(const char *ip, const char *const *names, size_t n)
{
	int best = -1;
	unsigned char bh[SHA256_DIGEST_LENGTH], h[SHA256_DIGEST_LENGTH];
	for (size_t i = 0; i < n; i++) {
		node_hash(names[i], ip, h);
		int c = best < 0 ? -1 : memcmp(h, bh, sizeof(h));
		if (c < 0 || (c == 0 && strcmp(names[i], names[best]) < 0)) {
			best = (int)i;
			memcpy(bh, h, sizeof(h));
		}
	}
	return best;
}

static bool str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return true;
	return false;
}

/* Names of the nodes that may announce at all: Ready, not excluded, Lease fresh. */
static json_t *nodes_up(const json_t *nodes, const json_t *alive)
{
	json_t *out = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		json_t *labels = api_get(n, "metadata.labels");
		if (!name || !node_agent_node_ready(n) || json_object_get(labels, NODE_LB_EXCLUDE_LABEL) ||
		    !str_in(alive, name))
			continue;
		json_array_append_new(out, json_string(name));
	}
	return out;
}

/* Nodes among up holding a ready endpoint of Service ns/name (Local policy). An
 * endpoint's ready condition absent counts as ready, as EndpointSlice says. */
static json_t *nodes_with_endpoint(const json_t *up, const json_t *slices, const char *ns, const char *name)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *sl, *ep;
	json_array_foreach(slices, i, sl)
	{
		const char *sns = api_str(sl, "metadata.namespace");
		const char *owner = json_string_value(
		    json_object_get(api_get(sl, "metadata.labels"), "kubernetes.io/service-name"));
		if (!sns || !owner || strcmp(sns, ns) || strcmp(owner, name))
			continue;
		json_array_foreach(json_object_get(sl, "endpoints"), j, ep)
		{
			json_t *ready = api_get(ep, "conditions.ready");
			const char *node = api_str(ep, "nodeName");
			if (!node || json_is_false(ready) || !str_in(up, node) || str_in(out, node))
				continue;
			json_array_append_new(out, json_string(node));
		}
	}
	return out;
}

bool node_lb_service_counts(const json_t *svc, const char *lb_class)
{
	const char *type = api_str(svc, "spec.type"), *cls = api_str(svc, "spec.loadBalancerClass");
	if (!type || strcmp(type, "LoadBalancer"))
		return false;
	if (!cls || !*cls)
		return true;
	return lb_class && !strcmp(cls, lb_class);
}

/* Whether Service a came before b: older first, then by namespace/name. */
static bool svc_before(const json_t *a, const json_t *b)
{
	const char *ta = api_str(a, "metadata.creationTimestamp"),
		   *tb = api_str(b, "metadata.creationTimestamp");
	int c = strcmp(ta ? ta : "", tb ? tb : "");
	if (c)
		return c < 0;
	c = strcmp(api_str(a, "metadata.namespace") ?: "", api_str(b, "metadata.namespace") ?: "");
	if (c)
		return c < 0;
	return strcmp(api_str(a, "metadata.name") ?: "", api_str(b, "metadata.name") ?: "") < 0;
}

json_t *node_lb_assign(const json_t *svcs, const json_t *nodes, const json_t *slices, const json_t *alive,
		       const char *lb_class)
{
	json_t *out = json_object(), *winner = json_object(); /* ip -> the Service that holds it */
	json_t *up = nodes_up(nodes, alive);
	size_t i, j;
	json_t *svc, *ing;
	json_array_foreach(svcs, i, svc)
	{
		if (!node_lb_service_counts(svc, lb_class))
			continue;
		json_array_foreach(api_get(svc, "status.loadBalancer.ingress"), j, ing)
		{
			const char *ip = api_str(ing, "ip");
			if (!ip || api_ip_family(ip) == 0)
				continue;
			json_t *prev = json_object_get(winner, ip);
			if (!prev || svc_before(svc, prev))
				json_object_set(winner, ip, svc);
		}
	}
	const char *ip;
	json_object_foreach(winner, ip, svc)
	{
		const char *ns = api_str(svc, "metadata.namespace"), *name = api_str(svc, "metadata.name");
		const char *etp = api_str(svc, "spec.externalTrafficPolicy");
		json_t *cand = etp && !strcmp(etp, "Local")
				   ? nodes_with_endpoint(up, slices, ns ? ns : "", name ? name : "")
				   : json_incref(up);
		size_t n = json_array_size(cand);
		const char **names = xcalloc(n ? n : 1, sizeof(*names));
		for (size_t k = 0; k < n; k++)
			names[k] = json_string_value(json_array_get(cand, k));
		char *key = xasprintf("%s/%s", ns ? ns : "", name ? name : "");
		json_t *a = json_pack("{s:s}", "service", key);
		int o = node_lb_owner(ip, names, n);
		if (o >= 0)
			json_object_set_new(a, "node", json_string(names[o]));
		json_object_set_new(out, ip, a);
		free(key);
		free(names);
		json_decref(cand);
	}
	json_decref(up);
	json_decref(winner);
	return out;
}

int64_t node_lb_lease_renew_ms(const json_t *lease)
{
	const char *t = api_str(lease, "spec.renewTime");
	int64_t s = t ? api_time_parse(t) : -1;
	if (s < 0)
		return -1;
	int64_t ms = s * 1000;
	const char *dot = strchr(t, '.');
	if (dot) {
		int64_t scale = 100;
		for (const char *c = dot + 1; *c >= '0' && *c <= '9' && scale > 0; c++, scale /= 10)
			ms += (*c - '0') * scale;
	}
	return ms;
}

int64_t node_lb_lease_duration_ms(const json_t *lease, int64_t dflt_ms)
{
	json_int_t d = json_integer_value(api_get(lease, "spec.leaseDurationSeconds"));
	return d > 0 && d < 86400 ? (int64_t)d * 1000 : dflt_ms;
}

int64_t node_lb_lease_first_seen(const json_t *lease, int64_t now_mono_ms, int64_t now_wall_ms)
{
	int64_t r = node_lb_lease_renew_ms(lease);
	if (r < 0)
		return INT64_MIN / 2;
	int64_t age = now_wall_ms - r;
	return age > 0 ? now_mono_ms - age : now_mono_ms;
}
