/* dnsep.c - the kube-dns Endpoints from the Ready Nodes. See dnsep.h. */
#include "controller/dnsep.h"

#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"

static int addr_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	return strcmp(api_str(x, "ip") ?: "", api_str(y, "ip") ?: "");
}

/* Whether the Service has addresses of ip's family (spec.clusterIPs, else clusterIP). */
static bool svc_has_family(const json_t *svc, const char *ip)
{
	bool v6 = strchr(ip, ':') != NULL;
	json_t *ips = api_get(svc, "spec.clusterIPs"), *x;
	size_t i;
	if (!json_array_size(ips)) {
		const char *one = api_str(svc, "spec.clusterIP");
		return !one || !strcmp(one, "None") || (strchr(one, ':') != NULL) == v6;
	}
	json_array_foreach(ips, i, x)
	{
		const char *s = json_string_value(x);
		if (!s || !strcmp(s, "None") || (strchr(s, ':') != NULL) == v6)
			return true;
	}
	return false;
}

json_t *ctrl_dns_endpoints_desired(const json_t *svc, const json_t *nodes, const json_t *cur)
{
	if (!svc || json_object_size(api_get(svc, "spec.selector")) > 0 ||
	    !strcmp(api_str(svc, "spec.type") ?: "", "ExternalName"))
		return NULL;
	json_t *addrs = json_array();
	size_t i, j;
	json_t *n, *a;
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		if (!name || !api_condition_true(n, "Ready"))
			continue;
		json_array_foreach(api_get(n, "status.addresses"), j, a)
		{
			const char *ip = api_str(a, "address");
			if (!ip || strcmp(api_str(a, "type") ?: "", "InternalIP") != 0 ||
			    !svc_has_family(svc, ip))
				continue;
			json_array_append_new(addrs,
					      json_pack("{s:s, s:s, s:{s:s, s:s}}", "ip", ip, "nodeName",
							name, "targetRef", "kind", "Node", "name", name));
		}
	}
	/* A fixed order, so an unchanged set compares equal. */
	size_t na = json_array_size(addrs);
	json_t **v = na ? malloc(na * sizeof(*v)) : NULL;
	for (i = 0; i < na; i++)
		v[i] = json_incref(json_array_get(addrs, i));
	if (na)
		xqsort(v, na, sizeof(*v), addr_cmp);
	json_array_clear(addrs);
	for (i = 0; i < na; i++)
		json_array_append_new(addrs, v[i]);
	free(v);
	json_t *meta = cur ? json_deep_copy(api_get(cur, "metadata")) : NULL;
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_pack("{s:s, s:s}", "name", api_str(svc, "metadata.name") ?: CTRL_DNS_SERVICE,
				 "namespace", api_str(svc, "metadata.namespace") ?: CTRL_DNS_NAMESPACE);
	}
	json_t *ep = json_pack("{s:o, s:[]}", "metadata", meta, "subsets");
	if (na)
		json_array_append_new(json_object_get(ep, "subsets"),
				      json_pack("{s:o, s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}]}", "addresses",
						addrs, "ports", "name", "dns", "port", 53, "protocol", "UDP",
						"name", "dns-tcp", "port", 53, "protocol", "TCP"));
	else
		json_decref(addrs);
	return ep;
}
