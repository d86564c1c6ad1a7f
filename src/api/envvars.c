/* envvars.c - Service environment variables for containers (see envvars.h). */
#include "api/envvars.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

char *api_envvar_name(const char *service_name)
{
	size_t n = strlen(service_name);
	char *out = xmalloc(n + 2), *p = out;
	if (n && isdigit((unsigned char)service_name[0]))
		*p++ = '_';
	for (size_t i = 0; i < n; i++) {
		char c = service_name[i];
		*p++ = c == '-' || c == '.' ? '_' : (char)toupper((unsigned char)c);
	}
	*p = 0;
	return out;
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* IsServiceIPSet. */
static bool ip_set(const json_t *svc)
{
	const char *ip = str_at(json_object_get(svc, "spec"), "clusterIP", NULL);
	return *ip && strcmp(ip, "None") != 0;
}

static void add(json_t *out, const char *name, const char *value)
{
	json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "value", value));
}

static char *lower(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static char *upper(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return r;
}

/* FromServices for one Service, then makeLinkVariables. */
static void from_service(json_t *out, const json_t *svc)
{
	const json_t *spec = json_object_get(svc, "spec");
	const json_t *ports = json_object_get(spec, "ports");
	size_t nports = json_is_array(ports) ? json_array_size(ports) : 0;
	if (nports == 0)
		return; /* kubelet would index Ports[0]; validation never lets this through */
	const char *ip = str_at(spec, "clusterIP", NULL);
	char *prefix = api_envvar_name(str_at(svc, "metadata", "name"));
	/* net.JoinHostPort brackets hosts that contain a colon. */
	char *host = strchr(ip, ':') ? xasprintf("[%s]", ip) : xstrdup(ip);
	char *name = xasprintf("%s_SERVICE_HOST", prefix);
	add(out, name, ip);
	free(name);
	char *svc_port = xasprintf("%s_SERVICE_PORT", prefix);
	char *v = xasprintf("%lld",
			    (long long)json_integer_value(json_object_get(json_array_get(ports, 0), "port")));
	add(out, svc_port, v);
	free(v);
	for (size_t i = 0; i < nports; i++) {
		const json_t *sp = json_array_get(ports, i);
		const char *pn = str_at(sp, "name", NULL);
		if (!*pn)
			continue;
		char *vn = api_envvar_name(pn);
		name = xasprintf("%s_%s", svc_port, vn);
		v = xasprintf("%lld", (long long)json_integer_value(json_object_get(sp, "port")));
		add(out, name, v);
		free(v);
		free(name);
		free(vn);
	}
	free(svc_port);
	for (size_t i = 0; i < nports; i++) {
		const json_t *sp = json_array_get(ports, i);
		const char *proto = str_at(sp, "protocol", NULL);
		if (!*proto)
			proto = "TCP";
		long long port = (long long)json_integer_value(json_object_get(sp, "port"));
		char *lp = lower(proto), *up = upper(proto);
		char *url = xasprintf("%s://%s:%lld", lp, host, port);
		if (i == 0) {
			name = xasprintf("%s_PORT", prefix);
			add(out, name, url);
			free(name);
		}
		char *pp = xasprintf("%s_PORT_%lld_%s", prefix, port, up);
		add(out, pp, url);
		name = xasprintf("%s_PROTO", pp);
		add(out, name, lp);
		free(name);
		name = xasprintf("%s_PORT", pp);
		v = xasprintf("%lld", port);
		add(out, name, v);
		free(v);
		free(name);
		name = xasprintf("%s_ADDR", pp);
		add(out, name, ip);
		free(name);
		free(pp);
		free(url);
		free(up);
		free(lp);
	}
	free(host);
	free(prefix);
}

static int by_name(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	return strcmp(str_at(x, "metadata", "name"), str_at(y, "metadata", "name"));
}

json_t *api_envvars_from_services(const json_t *services, const char *pod_namespace,
				  bool enable_service_links)
{
	json_t *out = json_array();
	size_t n = json_is_array(services) ? json_array_size(services) : 0;
	if (!pod_namespace)
		pod_namespace = "";
	/* getServiceEnvVarMap: serviceMap keyed by name. */
	const json_t **chosen = xcalloc(n + 1, sizeof *chosen);
	size_t nchosen = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *svc = json_array_get(services, i);
		if (!json_is_object(svc) || !ip_set(svc))
			continue;
		const char *name = str_at(svc, "metadata", "name"),
			   *ns = str_at(svc, "metadata", "namespace");
		size_t k;
		for (k = 0; k < nchosen; k++)
			if (strcmp(str_at(chosen[k], "metadata", "name"), name) == 0)
				break;
		if (strcmp(ns, "default") == 0 && strcmp(name, "kubernetes") == 0) {
			if (k == nchosen)
				chosen[nchosen++] = svc;
		} else if (strcmp(ns, pod_namespace) == 0 && enable_service_links) {
			chosen[k] = svc;
			if (k == nchosen)
				nchosen++;
		}
	}
	xqsort(chosen, nchosen, sizeof *chosen, by_name);
	for (size_t i = 0; i < nchosen; i++)
		from_service(out, chosen[i]);
	free(chosen);
	return out;
}
