/* envsrc.c - ConfigMaps, Secrets and allocatable resources for a pod's environment (see
 * envsrc.h). Messages are kubelet's (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables)
 * so `kubectl describe pod` reads the same; resourceFieldRef rounds up as kubelet's
 * ConvertResourceCPUToString / ConvertResourceMemoryToString do.
 */
#include "node/envsrc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "api/object.h"
#include "base/mem.h"

void node_envsrc_decode_into(json_t *data, const json_t *map)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v)
	{
		unsigned char *b;
		size_t len;
		if (json_is_string(v) && api_base64_decode(json_string_value(v), &b, &len) == 0) {
			json_t *t = json_stringn((const char *)b, len);
			if (t)
				json_object_set_new(data, k, t);
			free(b);
		}
	}
}

static void want(json_t *src, const char *kind, const char *ns, const char *name, node_envsrc_get_fn get,
		 void *ud)
{
	if (!name || !*name)
		return;
	json_t *m = json_object_get(src, kind);
	if (!m) {
		m = json_object();
		json_object_set_new(src, kind, m);
	}
	if (json_object_get(m, name))
		return;
	json_t *o = get(ud, kind, ns, name);
	if (!o) {
		json_object_set_new(m, name, json_null());
		return;
	}
	json_t *data = json_object();
	if (!strcmp(kind, "secrets")) {
		node_envsrc_decode_into(data, json_object_get(o, "data"));
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(o, "data"), k, v) json_object_set(data, k, v);
		node_envsrc_decode_into(data, json_object_get(o, "binaryData"));
	}
	json_object_set_new(m, name, data);
	json_decref(o);
}

json_t *node_envsrc_collect(const json_t *pod, node_envsrc_get_fn get, void *ud, long cpus,
			    long long mem_bytes)
{
	json_t *src = json_object();
	const char *ns = api_str(pod, "metadata.namespace") ?: "default";
	bool any = false;
	static const char *const lists[] = {"spec.initContainers", "spec.containers"};
	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *e;
		json_array_foreach(api_get(pod, lists[l]), i, c)
		{
			json_array_foreach(json_object_get(c, "env"), j, e)
			{
				json_t *from = json_object_get(e, "valueFrom");
				json_t *r;
				if ((r = json_object_get(from, "configMapKeyRef"))) {
					want(src, "configmaps", ns, api_str(r, "name"), get, ud);
					any = true;
				} else if ((r = json_object_get(from, "secretKeyRef"))) {
					want(src, "secrets", ns, api_str(r, "name"), get, ud);
					any = true;
				} else if (json_object_get(from, "resourceFieldRef")) {
					any = true;
				}
			}
			json_array_foreach(json_object_get(c, "envFrom"), j, e)
			{
				json_t *r;
				if ((r = json_object_get(e, "configMapRef")))
					want(src, "configmaps", ns, api_str(r, "name"), get, ud);
				else if ((r = json_object_get(e, "secretRef")))
					want(src, "secrets", ns, api_str(r, "name"), get, ud);
				any = true;
			}
		}
	}
	if (!any) {
		json_decref(src);
		return NULL;
	}
	json_object_set_new(
	    src, "allocatable",
	    json_pack("{s:I, s:I}", "cpu", (json_int_t)cpus, "memory", (json_int_t)mem_bytes));
	return src;
}

int node_quantity_parse(const char *s, double *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end = NULL;
	double v = strtod(s, &end);
	if (end == s || v < 0 || isnan(v) || isinf(v))
		return -EINVAL;
	static const struct {
		const char *suf;
		double mul;
	} sufs[] = {{"", 1},
		    {"m", 1e-3},
		    {"k", 1e3},
		    {"M", 1e6},
		    {"G", 1e9},
		    {"T", 1e12},
		    {"P", 1e15},
		    {"E", 1e18},
		    {"Ki", 1024.0},
		    {"Mi", 1048576.0},
		    {"Gi", 1073741824.0},
		    {"Ti", 1099511627776.0},
		    {"Pi", 1125899906842624.0},
		    {"Ei", 1152921504606846976.0}};
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
		if (!strcmp(end, sufs[i].suf)) {
			*out = v * sufs[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}

/* The container named name in pod (any list), or NULL. */
static const json_t *container_named(const json_t *pod, const char *name)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(api_get(pod, lists[l]), i,
				   c) if (!strcmp(api_str(c, "name") ?: "", name)) return c;
	}
	return NULL;
}

static int resource_field(const json_t *sources, const json_t *pod, const json_t *container,
			  const json_t *ref, char **out, char *err, size_t errlen)
{
	const char *cname = api_str(ref, "containerName");
	const json_t *c = cname && *cname ? container_named(pod, cname) : container;
	const char *res = api_str(ref, "resource") ?: "";
	if (!c) {
		snprintf(err, errlen, "container %s not found", cname ? cname : "");
		return -EINVAL;
	}
	bool cpu = !strcmp(res, "limits.cpu") || !strcmp(res, "requests.cpu");
	bool mem = !strcmp(res, "limits.memory") || !strcmp(res, "requests.memory");
	bool eph = !strcmp(res, "limits.ephemeral-storage") || !strcmp(res, "requests.ephemeral-storage");
	if (!cpu && !mem && !eph) {
		snprintf(err, errlen, "unsupported container resource : %s", res);
		return -EINVAL;
	}
	const char *dot = strchr(res, '.');
	char which[16];
	snprintf(which, sizeof(which), "%.*s", (int)(dot - res), res);
	json_t *q = json_object_get(json_object_get(json_object_get(c, "resources"), which), dot + 1);
	double v = 0;
	if (json_is_string(q)) {
		if (node_quantity_parse(json_string_value(q), &v) < 0) {
			snprintf(err, errlen, "invalid quantity %s for %s", json_string_value(q), res);
			return -EINVAL;
		}
	} else if (json_is_number(q)) {
		v = json_number_value(q);
	} else if (!strcmp(which, "limits")) {
		/* An unset limit is the node's allocatable, as kubelet substitutes it. */
		v = (double)json_integer_value(
		    api_get(sources, cpu ? "allocatable.cpu" : "allocatable.memory"));
	}
	double div = 1;
	const char *ds = api_str(ref, "divisor");
	if (ds && *ds && (node_quantity_parse(ds, &div) < 0 || div <= 0)) {
		snprintf(err, errlen, "invalid divisor %s", ds);
		return -EINVAL;
	}
	/* Milli-units for CPU, as kubelet divides MilliValue()s; then round up. */
	double n = cpu ? ceil(round(v * 1000) / round(div * 1000 > 0 ? div * 1000 : 1)) : ceil(v / div);
	*out = xasprintf("%lld", (long long)n);
	return 1;
}

int node_envsrc_value(const json_t *sources, const json_t *pod, const json_t *container,
		      const json_t *value_from, char **out, char *err, size_t errlen)
{
	*out = NULL;
	const json_t *r;
	const char *kind, *label, *lower;
	if ((r = json_object_get(value_from, "configMapKeyRef"))) {
		kind = "configmaps";
		label = "ConfigMap";
		lower = "configmap";
	} else if ((r = json_object_get(value_from, "secretKeyRef"))) {
		kind = "secrets";
		label = "Secret";
		lower = "secret";
	} else if ((r = json_object_get(value_from, "resourceFieldRef"))) {
		return resource_field(sources, pod, container, r, out, err, errlen);
	} else {
		return -ENOTSUP;
	}
	const char *name = api_str(r, "name") ?: "", *key = api_str(r, "key") ?: "";
	bool optional = json_is_true(json_object_get(r, "optional"));
	json_t *obj = json_object_get(json_object_get(sources, kind), name);
	if (!obj || json_is_null(obj)) {
		if (optional)
			return 0;
		snprintf(err, errlen, "%s \"%s\" not found", lower, name);
		return -ENOENT;
	}
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v)) {
		if (optional)
			return 0;
		snprintf(err, errlen, "couldn't find key %s in %s %s/%s", key, label,
			 api_str(pod, "metadata.namespace") ?: "default", name);
		return -ENOENT;
	}
	*out = xstrdup(json_string_value(v));
	return 1;
}

json_t *node_envsrc_env_from(const json_t *sources, const json_t *pod, const json_t *container, char *err,
			     size_t errlen)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	(void)pod;
	json_array_foreach(json_object_get(container, "envFrom"), i, e)
	{
		const json_t *r;
		const char *kind, *lower;
		if ((r = json_object_get(e, "configMapRef"))) {
			kind = "configmaps";
			lower = "configmap";
		} else if ((r = json_object_get(e, "secretRef"))) {
			kind = "secrets";
			lower = "secret";
		} else {
			continue;
		}
		const char *name = api_str(r, "name") ?: "";
		json_t *obj = json_object_get(json_object_get(sources, kind), name);
		if (!obj || json_is_null(obj)) {
			if (json_is_true(json_object_get(r, "optional")))
				continue;
			snprintf(err, errlen, "%s \"%s\" not found", lower, name);
			json_decref(out);
			return NULL;
		}
		const char *prefix = api_str(e, "prefix") ?: "";
		const char *k;
		json_t *v;
		json_object_foreach(obj, k, v)
		{
			char *n = xasprintf("%s%s", prefix, k);
			json_array_append_new(out, json_pack("[s, O]", n, v));
			free(n);
		}
	}
	return out;
}
