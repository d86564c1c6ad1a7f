/* ingress.c - Ingress validation (as kube-apiserver's networking validation words it) and
 * the conversion between v1 and the deprecated extensions/v1beta1 and
 * networking.k8s.io/v1beta1 versions.
 *
 * v1 is the only stored version; the old ones are views (api_kind_storage). The two
 * shapes differ only in backends (serviceName/servicePort <-> service.name/port.number|
 * name), spec.backend <-> spec.defaultBackend, and pathType, which v1beta1 defaults to
 * ImplementationSpecific. Every other field is carried over untouched, so a round trip
 * v1 -> v1beta1 -> v1 gives the same object (tests/unit/api/test_ingress.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/kinds.h"
#include "base/mem.h"

static bool is_ingress(const struct api_kind *k)
{
	return !strcmp(k->kind, "Ingress") &&
	       (!strcmp(k->group, "networking.k8s.io") || !strcmp(k->group, "extensions"));
}

/* ---- conversion ---- */

static void backend_to_v1(json_t *b)
{
	if (!json_is_object(b))
		return;
	json_t *name = json_object_get(b, "serviceName"), *port = json_object_get(b, "servicePort");
	if (name || port) {
		json_t *svc = json_object();
		if (json_is_string(name))
			json_object_set(svc, "name", name);
		json_t *p = json_object();
		if (json_is_string(port))
			json_object_set(p, "name", port);
		else if (json_is_integer(port))
			json_object_set(p, "number", port);
		json_object_set_new(svc, "port", p);
		json_object_set_new(b, "service", svc);
	}
	json_object_del(b, "serviceName");
	json_object_del(b, "servicePort");
}

static void backend_from_v1(json_t *b)
{
	if (!json_is_object(b))
		return;
	json_t *svc = json_object_get(b, "service");
	if (json_is_object(svc)) {
		json_t *name = json_object_get(svc, "name");
		json_t *port = json_object_get(svc, "port");
		if (json_is_string(name))
			json_object_set(b, "serviceName", name);
		json_t *pn = json_object_get(port, "name");
		if (json_is_string(pn) && json_string_length(pn))
			json_object_set(b, "servicePort", pn);
		else
			json_object_set_new(
			    b, "servicePort",
			    json_integer(json_integer_value(json_object_get(port, "number"))));
	}
	json_object_del(b, "service");
}

static void convert(json_t *obj, bool to_v1)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	const char *from = to_v1 ? "backend" : "defaultBackend", *to = to_v1 ? "defaultBackend" : "backend";
	json_t *def = json_object_get(spec, from);
	if (def) {
		json_incref(def);
		json_object_del(spec, from);
		to_v1 ? backend_to_v1(def) : backend_from_v1(def);
		json_object_set_new(spec, to, def);
	}
	size_t i, j;
	json_t *rule, *path;
	json_array_foreach(json_object_get(spec, "rules"), i, rule)
	{
		json_array_foreach(json_object_get(json_object_get(rule, "http"), "paths"), j, path)
		{
			if (!json_is_object(path))
				continue;
			if (to_v1 && !json_is_string(json_object_get(path, "pathType")))
				json_object_set_new(path, "pathType", json_string("ImplementationSpecific"));
			to_v1 ? backend_to_v1(json_object_get(path, "backend"))
			      : backend_from_v1(json_object_get(path, "backend"));
		}
	}
}

void api_kind_convert_in(const struct api_kind *view, json_t *obj)
{
	const struct api_kind *st = api_kind_storage(view);
	if (st == view || !json_is_object(obj))
		return;
	if (is_ingress(view))
		convert(obj, true);
	json_object_set_new(obj, "apiVersion", json_string(api_kind_api_version(st)));
	json_object_set_new(obj, "kind", json_string(st->kind));
}

void api_kind_convert_out(const struct api_kind *view, json_t *obj)
{
	if (!json_is_object(obj))
		return;
	if (api_kind_storage(view) != view && is_ingress(view))
		convert(obj, false);
	json_object_set_new(obj, "apiVersion", json_string(api_kind_api_version(view)));
	json_object_set_new(obj, "kind", json_string(view->kind));
}

/* ---- validation (pkg/apis/networking/validation) ---- */

static const char *const wildcard_msg =
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of "
    "lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', "
    "regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

static void check_host(const json_t *host, const char *field, struct api_errs *e)
{
	const char *h = json_string_value(host);
	if (!h || !*h)
		return;
	if (strchr(h, '*')) {
		if (strncmp(h, "*.", 2) || api_check_dns1123_subdomain(h + 2))
			api_err_invalid(e, field, host, wildcard_msg);
	} else {
		const char *m = api_check_dns1123_subdomain(h);
		if (m)
			api_err_invalid(e, field, host, m);
	}
}

static void validate_backend(const json_t *b, const char *fp, struct api_errs *e)
{
	const json_t *svc = json_object_get(b, "service"), *res = json_object_get(b, "resource");
	bool has_svc = json_is_object(svc), has_res = json_is_object(res);
	char *f;
	if (has_svc && has_res) {
		api_err_invalid(e, fp, NULL, "cannot set both resource and service backends");
	} else if (has_res) {
		if (!api_str(res, "kind") || !*api_str(res, "kind")) {
			f = xasprintf("%s.resource.kind", fp);
			api_err_required(e, f, NULL);
			free(f);
		}
		if (!api_str(res, "name") || !*api_str(res, "name")) {
			f = xasprintf("%s.resource.name", fp);
			api_err_required(e, f, NULL);
			free(f);
		}
	} else if (has_svc) {
		const json_t *name = json_object_get(svc, "name");
		f = xasprintf("%s.service.name", fp);
		if (!json_string_length(name)) {
			api_err_required(e, f, NULL);
		} else {
			const char *m = api_check_dns1035_label(json_string_value(name));
			if (m)
				api_err_invalid(e, f, name, m);
		}
		free(f);
		const json_t *port = json_object_get(svc, "port");
		const json_t *pname = json_object_get(port, "name"), *pnum = json_object_get(port, "number");
		bool has_name = json_string_length(pname) > 0, has_num = json_integer_value(pnum) != 0;
		if (has_name && has_num) {
			api_err_invalid(e, fp, NULL, "cannot set both port name & port number");
		} else if (has_name) {
			const char *m = api_check_iana_svc_name(json_string_value(pname));
			if (m) {
				f = xasprintf("%s.service.port.name", fp);
				api_err_invalid(e, f, pname, m);
				free(f);
			}
		} else if (has_num) {
			json_int_t n = json_integer_value(pnum);
			if (n < 1 || n > 65535) {
				f = xasprintf("%s.service.port.number", fp);
				api_err_invalid(e, f, pnum, "must be between 1 and 65535, inclusive");
				free(f);
			}
		} else {
			api_err_required(e, fp, "port name or number is required");
		}
	} else {
		api_err_invalid(e, fp, NULL, "resource or service backend is required");
	}
}

static void validate_path(const json_t *p, const char *fp, struct api_errs *e)
{
	static const char *const types[] = {"Exact", "ImplementationSpecific", "Prefix", NULL};
	static const char *const bad_seq[] = {"//", "/./", "/../", "%2f", "%2F", NULL};
	static const char *const bad_suf[] = {"/..", "/.", NULL};
	const json_t *pt = json_object_get(p, "pathType");
	const json_t *pathv = json_object_get(p, "path");
	const char *path = json_is_string(pathv) ? json_string_value(pathv) : "";
	char *f;
	if (!json_is_string(pt)) {
		f = xasprintf("%s.pathType", fp);
		api_err_required(e, f, "pathType must be specified");
		free(f);
		return;
	}
	const char *t = json_string_value(pt);
	f = xasprintf("%s.path", fp);
	json_t *pv = json_string(path);
	if (!strcmp(t, "Exact") || !strcmp(t, "Prefix")) {
		if (path[0] != '/')
			api_err_invalid(e, f, pv, "must be an absolute path");
		for (size_t i = 0; path[0] && bad_seq[i]; i++)
			if (strstr(path, bad_seq[i])) {
				char *m = xasprintf("must not contain '%s'", bad_seq[i]);
				api_err_invalid(e, f, pv, m);
				free(m);
			}
		size_t n = strlen(path);
		for (size_t i = 0; n && bad_suf[i]; i++) {
			size_t sl = strlen(bad_suf[i]);
			if (n >= sl && !strcmp(path + n - sl, bad_suf[i])) {
				char *m = xasprintf("cannot end with '%s'", bad_suf[i]);
				api_err_invalid(e, f, pv, m);
				free(m);
			}
		}
	} else if (!strcmp(t, "ImplementationSpecific")) {
		if (path[0] && path[0] != '/')
			api_err_invalid(e, f, pv, "must be an absolute path");
	} else {
		char *tf = xasprintf("%s.pathType", fp);
		api_err_not_supported(e, tf, pt, types);
		free(tf);
	}
	json_decref(pv);
	free(f);
	f = xasprintf("%s.backend", fp);
	validate_backend(json_object_get(p, "backend"), f, e);
	free(f);
}

void api_ingress_validate(const json_t *obj, const json_t *old, struct api_errs *e)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *rules = json_object_get(spec, "rules");
	const json_t *def = json_object_get(spec, "defaultBackend");
	if (!json_array_size(rules) && !json_is_object(def))
		api_err_invalid_text(e, "spec", "[]networking.IngressRule(nil)",
				     "either `defaultBackend` or `rules` must be specified");
	if (json_is_object(def))
		validate_backend(def, "spec.defaultBackend", e);
	size_t i, j;
	const json_t *rule, *p;
	json_array_foreach(rules, i, rule)
	{
		const json_t *host = json_object_get(rule, "host");
		char *f = xasprintf("spec.rules[%zu].host", i);
		if (json_string_length(host) && api_ip_family(json_string_value(host)))
			api_err_invalid(e, f, host, "must be a DNS name, not an IP address");
		check_host(host, f, e);
		free(f);
		const json_t *http = json_object_get(rule, "http");
		if (!json_is_object(http))
			continue;
		const json_t *paths = json_object_get(http, "paths");
		if (!json_array_size(paths)) {
			f = xasprintf("spec.rules[%zu].http.paths", i);
			api_err_required(e, f, NULL);
			free(f);
		}
		json_array_foreach(paths, j, p)
		{
			f = xasprintf("spec.rules[%zu].http.paths[%zu]", i, j);
			validate_path(p, f, e);
			free(f);
		}
	}
	const json_t *tls;
	json_array_foreach(json_object_get(spec, "tls"), i, tls)
	{
		const json_t *h;
		json_array_foreach(json_object_get(tls, "hosts"), j, h)
		{
			char *f = xasprintf("spec.tls[%zu].hosts[%zu]", i, j);
			check_host(h, f, e);
			free(f);
		}
		const json_t *sn = json_object_get(tls, "secretName");
		if (json_string_length(sn)) {
			const char *m = api_check_dns1123_subdomain(json_string_value(sn));
			if (m) {
				char *f = xasprintf("spec.tls[%zu].secretName", i);
				api_err_invalid(e, f, sn, m);
				free(f);
			}
		}
	}
	const json_t *cls = json_object_get(spec, "ingressClassName");
	if (json_is_string(cls)) {
		const char *m = api_check_dns1123_subdomain(json_string_value(cls));
		if (m)
			api_err_invalid(e, "spec.ingressClassName", cls, m);
	}
	const json_t *ann = json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
					    "kubernetes.io/ingress.class");
	if (!old && json_is_string(ann) && json_is_string(cls) &&
	    strcmp(json_string_value(ann), json_string_value(cls)))
		api_err_invalid(e, "annotations.kubernetes.io/ingress.class", ann,
				"must match `ingressClassName` when both are specified");
}
