/* kinds.c - defaulting and validation per kind (registry strategies of kube-apiserver).
 *
 * Messages and field paths follow k8s.io/kubernetes pkg/apis/core/validation so that
 * kubectl prints what it prints against a real cluster. Services have their own file
 * (api/service.c: defaulting, validation, allocation needs); metadata rules apply to every kind.
 */
#include "api/kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rbac.h"
#include "api/workloads.h"
#include "base/cidr.h"
#include "base/mem.h"

static bool is(const struct api_kind *k, const char *group, const char *kind)
{
	return strcmp(k->group, group) == 0 && strcmp(k->kind, kind) == 0;
}

bool api_kind_has_generation(const struct api_kind *k)
{
	return is(k, "", "Pod") || api_kind_is_workload(k) || is(k, "discovery.k8s.io", "EndpointSlice") ||
	       is(k, "networking.k8s.io", "Ingress") || is(k, "networking.k8s.io", "IngressClass");
}

bool api_kind_create_on_update(const struct api_kind *k)
{
	return is(k, "", "Endpoints") || is(k, "", "Event");
}

void api_prepare_create(const struct api_kind *k, json_t *obj)
{
	api_workload_prepare_create(k, obj);
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
	if (api_kind_is_rbac(k))
		api_rbac_default(k, obj);
	else if (is(k, "", "Pod"))
		default_pod(obj);
	else if (is(k, "", "Endpoints"))
		default_endpoints(obj);
	else if (is(k, "discovery.k8s.io", "EndpointSlice"))
		default_slice(obj);
	else if (api_kind_is_workloads_kind(k)) {
		/* The pod template gets a pod's defaults (SetObjectDefaults_PodTemplateSpec). */
		json_t *tmpl = api_get(obj, "spec.template");
		if (json_is_object(tmpl))
			default_pod(tmpl);
		api_workload_default(k, obj);
	} else if (is(k, "", "Namespace")) {
		json_t *spec = api_obj(obj, "spec");
		if (!json_object_get(spec, "finalizers"))
			json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
		json_t *labels = api_obj(api_obj(obj, "metadata"), "labels");
		const char *name = api_str(obj, "metadata.name");
		if (name)
			json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
	}
	api_drop_empty(k->schema, obj);
}

/* ---- validation ---- */

static void validate_meta(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = api_str(meta, "name");
	if (is(k, "", "Service")) {
		/* api/service.c checks a Service's name (DNS-1035) with the rest of its rules. */
	} else if (!name || !*name) {
		api_err_required(e, "metadata.name", "name or generateName is required");
	} else {
		const char *m;
		if (is(k, "", "Namespace"))
			m = api_check_dns1123_label(name);
		else if (api_kind_is_rbac(k))
			m = api_check_path_segment_name(name);
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
	api_validate_annotations(json_object_get(meta, "annotations"), "metadata.annotations", e);
	if (old) {
		const char *ou = api_str(old, "metadata.uid"), *nu = api_str(meta, "uid");
		if (ou && nu && strcmp(ou, nu) != 0)
			api_err_invalid(e, "metadata.uid", json_object_get(meta, "uid"),
					"field is immutable");
	}
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
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
		char *f = xasprintf("spec.containers[%zu].name", i);
		const char *n = api_str(c, "name");
		if (!n || !*n)
			api_err_required(e, f, NULL);
		else if (api_check_dns1123_label(n))
			api_err_invalid(e, f, json_object_get(c, "name"), api_check_dns1123_label(n));
		free(f);
	}
}

static bool is_multicast(const char *s)
{
	struct ip_addr ip;
	if (ip_parse(s, &ip) < 0)
		return false;
	return ip.family == 4 ? (ip.b[0] & 0xf0) == 0xe0 : ip.b[0] == 0xff;
}

/* ValidateEndpoints, plus (as the seed notes ask, beyond Kubernetes) no multicast. */
static void validate_endpoints(const json_t *obj, struct api_errs *e)
{
	size_t i, j;
	json_t *s, *a, *p;
	json_array_foreach(json_object_get(obj, "subsets"), i, s)
	{
		if (json_array_size(json_object_get(s, "addresses")) == 0 &&
		    json_array_size(json_object_get(s, "notReadyAddresses")) == 0) {
			char *f = xasprintf("subsets[%zu]", i);
			api_err_required(e, f, "must specify `addresses` or `notReadyAddresses`");
			free(f);
		}
		static const char *lists[] = {"addresses", "notReadyAddresses"};
		for (int l = 0; l < 2; l++) {
			json_array_foreach(json_object_get(s, lists[l]), j, a)
			{
				const char *ip = api_str(a, "ip");
				char *f = xasprintf("subsets[%zu].%s[%zu].ip", i, lists[l], j);
				size_t before = api_errs_count(e);
				api_validate_non_special_ip(ip, f, e);
				if (api_errs_count(e) == before && is_multicast(ip))
					api_err_invalid(e, f, json_object_get(a, "ip"),
							"may not be a multicast address");
				free(f);
				const char *hn = api_str(a, "hostname");
				if (hn && *hn && api_check_dns1123_label(hn)) {
					f = xasprintf("subsets[%zu].%s[%zu].hostname", i, lists[l], j);
					api_err_invalid(e, f, json_object_get(a, "hostname"),
							api_check_dns1123_label(hn));
					free(f);
				}
			}
		}
		size_t nports = json_array_size(json_object_get(s, "ports"));
		json_array_foreach(json_object_get(s, "ports"), j, p)
		{
			json_t *port = json_object_get(p, "port");
			if (!json_is_integer(port) || json_integer_value(port) < 1 ||
			    json_integer_value(port) > 65535) {
				char *f = xasprintf("subsets[%zu].ports[%zu].port", i, j);
				api_err_invalid(e, f, port, "must be between 1 and 65535, inclusive");
				free(f);
			}
			const char *name = api_str(p, "name");
			if (nports > 1 && (!name || !*name)) {
				char *f = xasprintf("subsets[%zu].ports[%zu].name", i, j);
				api_err_required(e, f, NULL);
				free(f);
			}
			static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
			if (!in_list(api_str(p, "protocol"), protos)) {
				char *f = xasprintf("subsets[%zu].ports[%zu].protocol", i, j);
				api_err_not_supported(e, f, json_object_get(p, "protocol"), protos);
				free(f);
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
	int fam = t && !strcmp(t, "IPv4") ? 4 : t && !strcmp(t, "IPv6") ? 6 : 0;
	size_t i, j;
	json_t *ep, *a;
	json_array_foreach(json_object_get(obj, "endpoints"), i, ep)
	{
		json_t *addrs = json_object_get(ep, "addresses");
		if (json_array_size(addrs) == 0) {
			char *f = xasprintf("endpoints[%zu].addresses", i);
			api_err_required(e, f, "must contain at least 1 address");
			free(f);
		}
		json_array_foreach(addrs, j, a)
		{
			const char *s = json_string_value(a);
			if (fam && (!s || api_ip_family(s) != fam)) {
				char *f = xasprintf("endpoints[%zu].addresses[%zu]", i, j);
				api_err_invalid(e, f, a,
						fam == 4 ? "must be a valid IPv4 address"
							 : "must be a valid IPv6 address");
				free(f);
			}
		}
	}
}

/* ValidateNodeUpdate's rule on status.addresses: a type may repeat (an InternalIP per IP
 * family), a whole address may not. A strategic merge patch of the list (merge key type)
 * merges every patch item of a repeated type into the first live one and so can produce
 * such a copy; kube-apiserver answers it with 422 instead of storing it, and so do we. */
static void validate_node_update(const json_t *obj, struct api_errs *e)
{
	json_t *addrs = api_get(obj, "status.addresses");
	for (size_t i = 1; i < json_array_size(addrs); i++) {
		json_t *a = json_array_get(addrs, i);
		for (size_t j = 0; j < i; j++) {
			if (json_equal(a, json_array_get(addrs, j))) {
				char *f = xasprintf("status.addresses[%zu]", i);
				api_err_duplicate(e, f, a);
				free(f);
				break;
			}
		}
	}
}

void api_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e)
{
	validate_meta(k, obj, old, e);
	if (is(k, "", "Pod"))
		validate_pod(obj, e);
	else if (is(k, "", "Endpoints"))
		validate_endpoints(obj, e);
	else if (is(k, "discovery.k8s.io", "EndpointSlice"))
		validate_slice(obj, e);
	else if (is(k, "", "Node") && old)
		validate_node_update(obj, e);
	else if (api_kind_is_workloads_kind(k))
		api_workload_validate(k, obj, old, e);
	else if (is(k, "networking.k8s.io", "Ingress"))
		api_ingress_validate(obj, old, e);
	else if (api_kind_is_rbac(k))
		api_rbac_validate(k, obj, old, e);
}
