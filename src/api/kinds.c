/* kinds.c - defaulting and validation per kind (registry strategies of kube-apiserver).
 *
 * Messages and field paths follow k8s.io/kubernetes pkg/apis/core/validation so that
 * kubectl prints what it prints against a real cluster. The Service rules grow with the
 * Services issue; metadata rules apply to every kind.
 */
#include "api/kinds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static bool is(const struct api_kind *k, const char *group, const char *kind)
{
	return strcmp(k->group, group) == 0 && strcmp(k->kind, kind) == 0;
}

bool api_kind_has_generation(const struct api_kind *k)
{
	return is(k, "", "Pod") || is(k, "discovery.k8s.io", "EndpointSlice") ||
	       is(k, "networking.k8s.io", "Ingress") || is(k, "networking.k8s.io", "IngressClass");
}

bool api_kind_create_on_update(const struct api_kind *k)
{
	return is(k, "", "Endpoints") || is(k, "", "Event");
}

void api_prepare_create(const struct api_kind *k, json_t *obj)
{
	if (is(k, "", "Service") || is(k, "networking.k8s.io", "Ingress")) {
		json_t *st = json_object();
		if (is(k, "", "Service") || is(k, "networking.k8s.io", "Ingress"))
			json_object_set_new(st, "loadBalancer", json_object());
		json_object_set_new(obj, "status", st);
	} else if (is(k, "", "Namespace")) {
		json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
	} else if (is(k, "", "Pod")) {
		json_t *st = json_object_get(obj, "status");
		/* A create may carry status only for bookkeeping fields; start Pending. */
		json_t *nst = json_pack("{s:s, s:s}", "phase", "Pending", "qosClass", "BestEffort");
		(void)st;
		json_object_set_new(obj, "status", nst);
	}
}

void api_prepare_update(const struct api_kind *k, json_t *obj, const json_t *old, bool status)
{
	if (!k->has_status)
		return;
	if (status) {
		/* Status writes change only status (and never spec). */
		json_t *spec = json_object_get(old, "spec");
		if (spec)
			json_object_set(obj, "spec", spec);
		else
			json_object_del(obj, "spec");
	} else {
		json_t *st = json_object_get(old, "status");
		if (st)
			json_object_set(obj, "status", st);
		else
			json_object_del(obj, "status");
	}
}

static void set_default_str(json_t *o, const char *key, const char *val)
{
	if (!json_is_string(json_object_get(o, key)) || !json_string_length(json_object_get(o, key)))
		json_object_set_new(o, key, json_string(val));
}

static void default_service(json_t *obj)
{
	json_t *spec = api_obj(obj, "spec");
	set_default_str(spec, "type", "ClusterIP");
	const char *type = api_str(spec, "type");
	set_default_str(spec, "sessionAffinity", "None");
	if (strcmp(api_str(spec, "sessionAffinity"), "ClientIP") == 0) {
		json_t *cfg = api_obj(api_obj(spec, "sessionAffinityConfig"), "clientIP");
		if (!json_object_get(cfg, "timeoutSeconds"))
			json_object_set_new(cfg, "timeoutSeconds", json_integer(10800));
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		set_default_str(p, "protocol", "TCP");
		json_t *tp = json_object_get(p, "targetPort");
		if (!tp || json_is_null(tp) || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
		    (json_is_string(tp) && json_string_length(tp) == 0)) {
			json_t *port = json_object_get(p, "port");
			if (port)
				json_object_set(p, "targetPort", port);
		}
	}
	if (strcmp(type, "ExternalName") != 0)
		set_default_str(spec, "internalTrafficPolicy", "Cluster");
	if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0 ||
	    json_array_size(json_object_get(spec, "externalIPs")) > 0)
		set_default_str(spec, "externalTrafficPolicy", "Cluster");
	if (strcmp(type, "LoadBalancer") == 0 && !json_object_get(spec, "allocateLoadBalancerNodePorts"))
		json_object_set_new(spec, "allocateLoadBalancerNodePorts", json_true());
}

static void default_pod(json_t *obj)
{
	json_t *spec = api_obj(obj, "spec");
	set_default_str(spec, "restartPolicy", "Always");
	set_default_str(spec, "dnsPolicy", "ClusterFirst");
	set_default_str(spec, "schedulerName", "default-scheduler");
	if (!json_object_get(spec, "terminationGracePeriodSeconds"))
		json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
	if (!json_object_get(spec, "enableServiceLinks"))
		json_object_set_new(spec, "enableServiceLinks", json_true());
	if (!json_object_get(spec, "securityContext"))
		json_object_set_new(spec, "securityContext", json_object());
	static const char *lists[] = {"initContainers", "containers"};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
		{
			if (!json_is_object(c))
				continue;
			set_default_str(c, "terminationMessagePath", "/dev/termination-log");
			set_default_str(c, "terminationMessagePolicy", "File");
			const char *image = api_str(c, "image");
			bool latest = !image || !strchr(image, ':') || strstr(image, ":latest");
			set_default_str(c, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
			if (!json_object_get(c, "resources"))
				json_object_set_new(c, "resources", json_object());
			size_t j;
			json_t *p;
			json_array_foreach(json_object_get(c, "ports"), j, p)
			{
				if (json_is_object(p))
					set_default_str(p, "protocol", "TCP");
			}
		}
	}
}

static void default_endpoints(json_t *obj)
{
	size_t i, j;
	json_t *s, *p;
	json_array_foreach(json_object_get(obj, "subsets"), i, s)
	{
		json_array_foreach(json_object_get(s, "ports"), j, p)
		{
			if (json_is_object(p))
				set_default_str(p, "protocol", "TCP");
		}
	}
}

static void default_slice(json_t *obj)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(obj, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		set_default_str(p, "protocol", "TCP");
		if (!json_object_get(p, "name"))
			json_object_set_new(p, "name", json_string(""));
	}
}

void api_default(const struct api_kind *k, json_t *obj)
{
	if (is(k, "", "Service"))
		default_service(obj);
	else if (is(k, "", "Pod"))
		default_pod(obj);
	else if (is(k, "", "Endpoints"))
		default_endpoints(obj);
	else if (is(k, "discovery.k8s.io", "EndpointSlice"))
		default_slice(obj);
	else if (is(k, "", "Namespace")) {
		json_t *spec = api_obj(obj, "spec");
		if (!json_object_get(spec, "finalizers"))
			json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
		json_t *labels = api_obj(api_obj(obj, "metadata"), "labels");
		const char *name = api_str(obj, "metadata.name");
		if (name)
			json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
	}
}

/* ---- validation ---- */

static char *fld(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fld(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort();
	return s;
}

static void validate_meta(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = api_str(meta, "name");
	if (!name || !*name) {
		api_err_required(e, "metadata.name", "name or generateName is required");
	} else {
		const char *m;
		if (is(k, "", "Service"))
			m = api_check_dns1035_label(name);
		else if (is(k, "", "Namespace"))
			m = api_check_dns1123_label(name);
		else
			m = api_check_dns1123_subdomain(name);
		if (m)
			api_err_invalid(e, "metadata.name", json_object_get(meta, "name"), m);
	}
	if (k->namespaced) {
		const char *ns = api_str(meta, "namespace");
		if (!ns || !*ns)
			api_err_required(e, "metadata.namespace", NULL);
	} else if (api_str(meta, "namespace") && *api_str(meta, "namespace")) {
		api_err_forbidden(e, "metadata.namespace", "not allowed on this type");
	}
	api_validate_labels(json_object_get(meta, "labels"), "metadata.labels", e);
	json_t *ann = json_object_get(meta, "annotations");
	if (ann && !json_is_null(ann)) {
		size_t total = 0;
		const char *key;
		json_t *v;
		json_object_foreach(ann, key, v)
		{
			const char *m = api_check_qualified_name(key);
			if (m) {
				json_t *kv = json_string(key);
				api_err_invalid(e, "metadata.annotations", kv, m);
				json_decref(kv);
			}
			total += strlen(key) + json_string_length(v);
		}
		if (total > 256 * 1024)
			api_err_too_long(e, "metadata.annotations", 256 * 1024);
	}
	if (old) {
		const char *ou = api_str(old, "metadata.uid"), *nu = api_str(meta, "uid");
		if (ou && nu && strcmp(ou, nu) != 0)
			api_err_invalid(e, "metadata.uid", json_object_get(meta, "uid"),
					"field is immutable");
	}
}

static const char *const service_types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static void validate_port_number(struct api_errs *e, const char *field, const json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		api_err_invalid(e, field, v, "must be between 1 and 65535, inclusive");
}

static void validate_service(const json_t *obj, const json_t *old, struct api_errs *e)
{
	const json_t *spec = json_object_get(obj, "spec");
	const char *type = api_str(spec, "type");
	if (!in_list(type, service_types)) {
		api_err_not_supported(e, "spec.type", json_object_get(spec, "type"), service_types);
		return;
	}
	bool extname = strcmp(type, "ExternalName") == 0;
	const char *cip = api_str(spec, "clusterIP");
	bool headless = cip && strcmp(cip, "None") == 0;
	json_t *ports = json_object_get(spec, "ports");
	size_t nports = json_array_size(ports);
	if (nports == 0 && !extname && !headless)
		api_err_required(e, "spec.ports", NULL);
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		char *f;
		const char *pname = api_str(p, "name");
		if (nports > 1 && (!pname || !*pname)) {
			f = fld("spec.ports[%zu].name", i);
			api_err_required(e, f, NULL);
			free(f);
		} else if (pname && *pname) {
			const char *m = api_check_dns1123_label(pname);
			if (m) {
				f = fld("spec.ports[%zu].name", i);
				api_err_invalid(e, f, json_object_get(p, "name"), m);
				free(f);
			}
			for (size_t j = 0; j < i; j++) {
				const char *o = api_str(json_array_get(ports, j), "name");
				if (o && strcmp(o, pname) == 0) {
					f = fld("spec.ports[%zu].name", i);
					api_err_duplicate(e, f, json_object_get(p, "name"));
					free(f);
					break;
				}
			}
		}
		f = fld("spec.ports[%zu].port", i);
		validate_port_number(e, f, json_object_get(p, "port"));
		free(f);
		const char *proto = api_str(p, "protocol");
		if (!in_list(proto, protocols)) {
			f = fld("spec.ports[%zu].protocol", i);
			api_err_not_supported(e, f, json_object_get(p, "protocol"), protocols);
			free(f);
		}
		json_t *tp = json_object_get(p, "targetPort");
		f = fld("spec.ports[%zu].targetPort", i);
		if (json_is_integer(tp)) {
			validate_port_number(e, f, tp);
		} else if (json_is_string(tp)) {
			const char *m = api_check_iana_svc_name(json_string_value(tp));
			if (m)
				api_err_invalid(e, f, tp, m);
		}
		free(f);
		for (size_t j = 0; j < i; j++) {
			json_t *o = json_array_get(ports, j);
			if (json_equal(json_object_get(o, "port"), json_object_get(p, "port")) &&
			    json_equal(json_object_get(o, "protocol"), json_object_get(p, "protocol"))) {
				f = fld("spec.ports[%zu]", i);
				json_t *dv = json_pack("{s:O?, s:O?}", "port", json_object_get(p, "port"),
						       "protocol", json_object_get(p, "protocol"));
				api_err_duplicate(e, f, dv);
				json_decref(dv);
				free(f);
				break;
			}
		}
	}
	const char *aff = api_str(spec, "sessionAffinity");
	static const char *const affs[] = {"ClientIP", "None", NULL};
	if (!in_list(aff, affs))
		api_err_not_supported(e, "spec.sessionAffinity", json_object_get(spec, "sessionAffinity"), affs);
	else if (strcmp(aff, "ClientIP") == 0) {
		json_t *t = api_get(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
		if (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 86400)
			api_err_invalid(e, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
					"must be greater than 0 and less than 86400");
	} else if (json_object_get(spec, "sessionAffinityConfig") &&
		   !json_is_null(json_object_get(spec, "sessionAffinityConfig"))) {
		api_err_forbidden(e, "spec.sessionAffinityConfig",
				  "must not be set when `sessionAffinity` is None");
	}
	if (extname) {
		const char *en = api_str(spec, "externalName");
		if (!en || !*en)
			api_err_required(e, "spec.externalName", NULL);
	}
	if (cip && *cip && !headless && api_ip_family(cip) == 0)
		api_err_invalid(e, "spec.clusterIPs[0]", json_object_get(spec, "clusterIP"),
				"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
	if (headless && strcmp(type, "ClusterIP") != 0)
		api_err_invalid(e, "spec.clusterIPs[0]", json_object_get(spec, "clusterIP"),
				strcmp(type, "NodePort") == 0 ? "may not be set to 'None' for NodePort services"
							    : "may not be set to 'None' for LoadBalancer services");
	api_validate_labels(json_object_get(spec, "selector"), "spec.selector", e);
	(void)old;
}

static void validate_pod(const json_t *obj, struct api_errs *e)
{
	json_t *cs = api_get(obj, "spec.containers");
	if (json_array_size(cs) == 0) {
		api_err_required(e, "spec.containers", NULL);
		return;
	}
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		char *f = fld("spec.containers[%zu].name", i);
		const char *n = api_str(c, "name");
		if (!n || !*n)
			api_err_required(e, f, NULL);
		else if (api_check_dns1123_label(n))
			api_err_invalid(e, f, json_object_get(c, "name"), api_check_dns1123_label(n));
		free(f);
	}
}

static void validate_endpoints(const json_t *obj, struct api_errs *e)
{
	size_t i, j;
	json_t *s, *a;
	json_array_foreach(json_object_get(obj, "subsets"), i, s)
	{
		static const char *lists[] = {"addresses", "notReadyAddresses"};
		for (int l = 0; l < 2; l++) {
			json_array_foreach(json_object_get(s, lists[l]), j, a)
			{
				const char *ip = api_str(a, "ip");
				if (api_ip_family(ip) == 0) {
					char *f = fld("subsets[%zu].%s[%zu].ip", i, lists[l], j);
					api_err_invalid(e, f, json_object_get(a, "ip"),
							"must be a valid IP address");
					free(f);
				}
			}
		}
	}
}

static void validate_slice(const json_t *obj, struct api_errs *e)
{
	static const char *const types[] = {"FQDN", "IPv4", "IPv6", NULL};
	const char *t = api_str(obj, "addressType");
	if (!t)
		api_err_required(e, "addressType", NULL);
	else if (!in_list(t, types))
		api_err_not_supported(e, "addressType", json_object_get(obj, "addressType"), types);
}

void api_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	validate_meta(k, obj, old, e);
	if (is(k, "", "Service"))
		validate_service(obj, old, e);
	else if (is(k, "", "Pod"))
		validate_pod(obj, e);
	else if (is(k, "", "Endpoints"))
		validate_endpoints(obj, e);
	else if (is(k, "discovery.k8s.io", "EndpointSlice"))
		validate_slice(obj, e);
}
