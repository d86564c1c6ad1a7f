/* route.c - the Ingress routing table (see route.h for the matching rules).
 *
 * Build: Ingresses are ranked oldest first; each rule's paths go to the virtual host of
 * its host (created on first use), each path with a backend resolved now against the
 * Services and EndpointSlices given, so a request costs only the host lookup and a scan
 * of that host's paths. Tables are small (a few thousand paths at most), so hosts are a
 * sorted array and paths a list scanned in full: the longest match needs every candidate.
 */
#include "ingress/route.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"
#include "base/vec.h"

static const char *const ann_class = "kubernetes.io/ingress.class";
static const char *const ann_affinity = "nginx.ingress.kubernetes.io/affinity";
static const char *const ann_cookie_name = "nginx.ingress.kubernetes.io/session-cookie-name";
static const char *const ann_cookie_max_age = "nginx.ingress.kubernetes.io/session-cookie-max-age";
static const char *const ann_cookie_path = "nginx.ingress.kubernetes.io/session-cookie-path";

static const char *annotation(const json_t *o, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"), key));
}

bool ing_is_ours(const json_t *ing)
{
	const char *cls = api_str(ing, "spec.ingressClassName");
	if (cls)
		return !strcmp(cls, ING_CLASS);
	const char *ann = annotation(ing, ann_class);
	return !ann || !strcmp(ann, ING_CLASS);
}

/* ---- paths ---- */

bool ing_path_match(enum ing_path_type type, const char *rule, const char *path)
{
	if (type == ING_EXACT)
		return !strcmp(rule, path);
	/* Element-wise prefix: trailing '/' ignored on both sides. */
	size_t rl = strlen(rule);
	while (rl > 0 && rule[rl - 1] == '/')
		rl--;
	if (rl == 0)
		return true; /* "/" matches every path */
	size_t pl = strlen(path);
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	if (pl < rl || memcmp(rule, path, rl) != 0)
		return false;
	return pl == rl || path[rl] == '/';
}

/* ---- hosts ---- */

static char *norm_host(const char *h)
{
	if (!h)
		return xstrdup("");
	size_t n = strlen(h);
	const char *end = h + n;
	if (h[0] == '[') { /* [v6]:port */
		const char *rb = strchr(h, ']');
		end = rb ? rb + 1 : end;
	} else {
		const char *colon = strrchr(h, ':');
		if (colon && !memchr(h, ':', (size_t)(colon - h)))
			end = colon;
	}
	if (end > h && end[-1] == '.')
		end--;
	char *s = xstrndup(h, (size_t)(end - h));
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static struct ing_vhost *vhost_find(const struct ing_table *t, const char *host)
{
	for (size_t i = 0; i < t->hosts.len; i++)
		if (!strcmp(t->hosts.v[i].host, host))
			return &t->hosts.v[i];
	return NULL;
}

static struct ing_vhost *vhost_get(struct ing_table *t, const char *host)
{
	struct ing_vhost *v = vhost_find(t, host);
	if (v)
		return v;
	v = vec_push(&t->hosts);
	v->host = xstrdup(host);
	return v;
}

/* ---- backends ---- */

static void problem(struct ing_table *t, const json_t *ing, const char *reason, const char *fmt,
		    const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, a, b);
	const char *ns = api_str(ing, "metadata.namespace"), *name = api_str(ing, "metadata.name");
	size_t i;
	json_t *p;
	json_array_foreach(t->problems, i, p)
	{
		if (!strcmp(api_str(p, "message"), msg) && !strcmp(api_str(p, "name"), name ? name : ""))
			return;
	}
	json_array_append_new(t->problems,
			      json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns ? ns : "", "name",
					name ? name : "", "reason", reason, "message", msg));
}

const json_t *ing_obj_find(const json_t *objs, const char *ns, const char *name)
{
	size_t i;
	const json_t *o;
	json_array_foreach(objs, i, o)
	{
		const char *a = api_str(o, "metadata.namespace"), *b = api_str(o, "metadata.name");
		if (a && b && !strcmp(a, ns) && !strcmp(b, name))
			return o;
	}
	return NULL;
}

static void add_endpoints(struct ing_backend *be, const json_t *slices, const char *ns, const char *svc,
			  const char *port_name)
{
	size_t i, j, k;
	const json_t *sl, *p, *ep;
	json_array_foreach(slices, i, sl)
	{
		const char *sns = api_str(sl, "metadata.namespace");
		const char *owner = json_string_value(
		    json_object_get(json_object_get(json_object_get(sl, "metadata"), "labels"),
				    "kubernetes.io/service-name"));
		if (!sns || !owner || strcmp(sns, ns) || strcmp(owner, svc))
			continue;
		const char *at = api_str(sl, "addressType");
		if (at && strcmp(at, "IPv4") && strcmp(at, "IPv6"))
			continue;
		int port = -1;
		json_array_foreach(json_object_get(sl, "ports"), j, p)
		{
			const char *pn = api_str(p, "name");
			const char *proto = api_str(p, "protocol");
			if (proto && strcmp(proto, "TCP"))
				continue;
			if (!strcmp(pn ? pn : "", port_name))
				port = (int)json_integer_value(json_object_get(p, "port"));
		}
		if (port <= 0)
			continue;
		json_array_foreach(json_object_get(sl, "endpoints"), k, ep)
		{
			const json_t *ready = json_object_get(json_object_get(ep, "conditions"), "ready");
			if (json_is_false(ready))
				continue;
			const char *ip =
			    json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
			if (!ip || strlen(ip) >= sizeof(be->eps.v[0].ip))
				continue;
			struct ing_endpoint *e = vec_push(&be->eps);
			snprintf(e->ip, sizeof(e->ip), "%s", ip);
			e->port = port;
			snprintf(e->key, sizeof(e->key), strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
		}
	}
}

static struct ing_backend *backend_new(struct ing_table *t, const json_t *ing, const json_t *b,
				       const char *path, const json_t *services, const json_t *slices)
{
	struct ing_backend *be = xcalloc(1, sizeof(*be));
	*vec_push(&t->bes) = be;
	const char *ns = api_str(ing, "metadata.namespace");
	ns = ns ? ns : "default";
	const char *aff = annotation(ing, ann_affinity);
	if (aff && !strcmp(aff, "cookie")) {
		be->cookie = true;
		const char *cn = annotation(ing, ann_cookie_name);
		be->cookie_name = xstrdup(cn && *cn ? cn : "INGRESSCOOKIE");
		const char *ma = annotation(ing, ann_cookie_max_age);
		be->cookie_max_age = ma ? strtol(ma, NULL, 10) : 0;
		const char *cp = annotation(ing, ann_cookie_path);
		be->cookie_path = xstrdup(cp && *cp ? cp : path && *path ? path : "/");
	}
	const json_t *svc = json_object_get(b, "service");
	if (!json_is_object(svc)) {
		const char *kind = api_str(b, "resource.kind"), *name = api_str(b, "resource.name");
		char *r =
		    xasprintf("resource backend %s \"%s\" is not served by the svcplane ingress controller",
			      kind ? kind : "", name ? name : "");
		be->reason = r;
		return be;
	}
	const char *name = api_str(svc, "name");
	be->ns = xstrdup(ns);
	be->svc = xstrdup(name ? name : "");
	const json_t *port = json_object_get(svc, "port");
	const char *pname = api_str(port, "name");
	long long pnum = json_integer_value(json_object_get(port, "number"));
	be->port_desc = pname && *pname ? xstrdup(pname) : xasprintf("%lld", pnum);
	const json_t *s = ing_obj_find(services, ns, be->svc);
	if (!s) {
		be->reason = xasprintf("service \"%s/%s\" not found", ns, be->svc);
		problem(t, ing, "ServiceNotFound", "Service \"%s\" not found (backend %s)", be->svc,
			be->port_desc);
		return be;
	}
	const char *spname = NULL;
	size_t i;
	const json_t *sp;
	json_array_foreach(api_get(s, "spec.ports"), i, sp)
	{
		const char *n = api_str(sp, "name");
		const char *proto = api_str(sp, "protocol");
		if (proto && strcmp(proto, "TCP"))
			continue;
		if ((pname && *pname && n && !strcmp(n, pname)) ||
		    (!(pname && *pname) && json_integer_value(json_object_get(sp, "port")) == pnum)) {
			spname = n ? n : "";
			break;
		}
	}
	if (!spname) {
		be->reason = xasprintf("service \"%s/%s\" has no port %s", ns, be->svc, be->port_desc);
		problem(t, ing, "PortNotFound", "Service \"%s\" has no port %s", be->svc, be->port_desc);
		return be;
	}
	add_endpoints(be, slices, ns, be->svc, spname);
	if (!be->eps.len)
		be->reason =
		    xasprintf("no ready endpoints for service \"%s/%s\" port %s", ns, be->svc, be->port_desc);
	return be;
}

/* ---- building ---- */

static int cmp_age(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	const char *tx = api_str(x, "metadata.creationTimestamp"),
		   *ty = api_str(y, "metadata.creationTimestamp");
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	if (c)
		return c;
	const char *nx = api_str(x, "metadata.namespace"), *ny = api_str(y, "metadata.namespace");
	if ((c = strcmp(nx ? nx : "", ny ? ny : "")))
		return c;
	const char *mx = api_str(x, "metadata.name"), *my = api_str(y, "metadata.name");
	return strcmp(mx ? mx : "", my ? my : "");
}

struct ing_table *ing_table_build(const json_t *ingresses, const json_t *services, const json_t *slices)
{
	struct ing_table *t = xcalloc(1, sizeof(*t));
	t->problems = json_array();
	t->served = json_array();
	size_t n = json_array_size(ingresses), m = 0;
	const json_t **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const json_t *ing = json_array_get(ingresses, i);
		if (json_is_object(ing) && ing_is_ours(ing) && !api_get(ing, "metadata.deletionTimestamp"))
			v[m++] = ing;
	}
	qsort(v, m, sizeof(*v), cmp_age);
	for (size_t r = 0; r < m; r++) {
		const json_t *ing = v[r];
		const char *ns = api_str(ing, "metadata.namespace"), *name = api_str(ing, "metadata.name");
		json_array_append_new(t->served, json_sprintf("%s/%s", ns ? ns : "", name ? name : ""));
		const json_t *def = api_get(ing, "spec.defaultBackend");
		if (json_is_object(def) && !t->def)
			t->def = backend_new(t, ing, def, "/", services, slices);
		size_t i, j;
		const json_t *rule, *p;
		json_array_foreach(api_get(ing, "spec.rules"), i, rule)
		{
			char *host = norm_host(api_str(rule, "host"));
			json_array_foreach(api_get(rule, "http.paths"), j, p)
			{
				const char *pt = api_str(p, "pathType"), *path = api_str(p, "path");
				const json_t *b = json_object_get(p, "backend");
				if (!json_is_object(b))
					continue;
				path = path && *path ? path : "/";
				struct ing_vhost *vh = vhost_get(t, host);
				struct ing_backend *be = backend_new(t, ing, b, path, services, slices);
				*vec_push(&vh->routes) = (struct ing_route){
				    .path = xstrdup(path),
				    .type = pt && !strcmp(pt, "Exact") ? ING_EXACT : ING_PREFIX,
				    .order = r,
				    .be = be,
				};
			}
			free(host);
		}
		const json_t *tls;
		json_array_foreach(api_get(ing, "spec.tls"), i, tls)
		{
			const char *secret = api_str(tls, "secretName");
			const json_t *h;
			json_array_foreach(json_object_get(tls, "hosts"), j, h)
			{
				if (!json_is_string(h))
					continue;
				*vec_push(&t->tls) =
				    (struct ing_tls){.host = norm_host(json_string_value(h)),
						     .ns = xstrdup(ns ? ns : "default"),
						     .secret = secret ? xstrdup(secret) : NULL};
			}
		}
	}
	free(v);
	return t;
}

static void backend_free(struct ing_backend *be)
{
	free(be->ns);
	free(be->svc);
	free(be->port_desc);
	free(be->reason);
	vec_free(&be->eps);
	free(be->cookie_name);
	free(be->cookie_path);
	free(be);
}

void ing_table_free(struct ing_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->hosts.len; i++) {
		for (size_t j = 0; j < t->hosts.v[i].routes.len; j++)
			free(t->hosts.v[i].routes.v[j].path);
		vec_free(&t->hosts.v[i].routes);
		free(t->hosts.v[i].host);
	}
	vec_free(&t->hosts);
	for (size_t i = 0; i < t->bes.len; i++)
		backend_free(t->bes.v[i]);
	vec_free(&t->bes);
	for (size_t i = 0; i < t->tls.len; i++) {
		free(t->tls.v[i].host);
		free(t->tls.v[i].ns);
		free(t->tls.v[i].secret);
	}
	vec_free(&t->tls);
	json_decref(t->problems);
	json_decref(t->served);
	free(t);
}

/* ---- matching ---- */

/* The virtual host for a normalized request host: exact, then "*.<parent>", then "". */
static const struct ing_vhost *vhost_for(const struct ing_table *t, const char *host)
{
	const struct ing_vhost *v = *host ? vhost_find(t, host) : NULL;
	if (v)
		return v;
	const char *dot = strchr(host, '.');
	if (dot && dot != host) {
		char *w = xasprintf("*%s", dot);
		v = vhost_find(t, w);
		free(w);
		if (v)
			return v;
	}
	return vhost_find(t, "");
}

const struct ing_backend *ing_table_match(const struct ing_table *t, const char *host, const char *path)
{
	if (!t)
		return NULL;
	char *h = norm_host(host);
	const struct ing_vhost *v = vhost_for(t, h);
	free(h);
	const struct ing_route *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; v && i < v->routes.len; i++) {
		const struct ing_route *r = &v->routes.v[i];
		if (!ing_path_match(r->type, r->path, path))
			continue;
		size_t len = strlen(r->path);
		if (r->type == ING_PREFIX)
			while (len > 1 && r->path[len - 1] == '/')
				len--;
		bool better = !best || len > best_len ||
			      (len == best_len && r->type == ING_EXACT && best->type != ING_EXACT) ||
			      (len == best_len && r->type == best->type && r->order < best->order);
		if (better) {
			best = r;
			best_len = len;
		}
	}
	return best ? best->be : t->def;
}

const struct ing_tls *ing_table_tls(const struct ing_table *t, const char *sni)
{
	if (!t || !sni)
		return NULL;
	char *h = norm_host(sni);
	const struct ing_tls *found = NULL;
	for (size_t i = 0; i < t->tls.len && !found; i++)
		if (!strcmp(t->tls.v[i].host, h))
			found = &t->tls.v[i];
	const char *dot = strchr(h, '.');
	for (size_t i = 0; i < t->tls.len && !found && dot; i++)
		if (t->tls.v[i].host[0] == '*' && !strcmp(t->tls.v[i].host + 1, dot))
			found = &t->tls.v[i];
	free(h);
	return found;
}
