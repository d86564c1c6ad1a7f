/* discovery.c - what kubectl asks before anything else: /version, /api, /apis, the
 * group-version resource lists, aggregated discovery, and the OpenAPI documents.
 *
 * Aggregated discovery (apidiscovery.k8s.io v2 / v2beta1) is answered only when the
 * client lists it in Accept, and its media type is repeated in Content-Type, because
 * kubectl decides how to parse the body from Content-Type alone
 * (../shared/research/kubectl-surface.md section 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi.h"
#include "api/workloads.h"
#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/mem.h"

static const char *const verbs[] = {"create", "delete", "deletecollection", "get", "list", "patch", "update",
				    "watch",  NULL};

static void send(struct http_conn *c, const char *ct, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	http_send(c, 200, ct, "", s, strlen(s));
	free(s);
}

/* The distinct groups in serving order ("" first). */
static size_t groups(const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < api_nkinds; i++) {
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(out[j], api_kinds[i].group);
		if (!seen && n < max)
			out[n++] = api_kinds[i].group;
	}
	return n;
}

/* The versions a group serves, preferred first (a deprecated version never is). */
static size_t group_versions(const char *group, const char **out, size_t max)
{
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < api_nkinds; i++) {
			const struct api_kind *k = &api_kinds[i];
			if (strcmp(k->group, group) || (pass == 0) != !k->deprecation)
				continue;
			bool seen = false;
			for (size_t j = 0; j < n; j++)
				seen |= !strcmp(out[j], k->version);
			if (!seen && n < max)
				out[n++] = k->version;
		}
	return n;
}

/* The APIGroup of /apis and /apis/<group>. */
static json_t *api_group(const char *group)
{
	const char *vs[4];
	size_t nv = group_versions(group, vs, 4);
	json_t *versions = json_array();
	for (size_t j = 0; j < nv; j++) {
		char *gv = xasprintf("%s/%s", group, vs[j]);
		json_array_append_new(versions,
				      json_pack("{s:s, s:s}", "groupVersion", gv, "version", vs[j]));
		free(gv);
	}
	char *pgv = xasprintf("%s/%s", group, vs[0]);
	json_t *g = json_pack("{s:s, s:o, s:{s:s, s:s}}", "name", group, "versions", versions,
			      "preferredVersion", "groupVersion", pgv, "version", vs[0]);
	free(pgv);
	return g;
}

/* Pods also serve the log subresource (podlog.c). */
static bool is_pods(const struct api_kind *k)
{
	return !k->group[0] && !strcmp(k->plural, "pods");
}

static json_t *resource_list(const char *group, const char *version)
{
	json_t *res = json_array();
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		json_t *r =
		    json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", k->plural, "singularName", k->singular,
			      "namespaced", k->namespaced, "kind", k->kind, "verbs", api_json_strv(verbs));
		if (k->short_names[0])
			json_object_set_new(r, "shortNames", api_json_strv(k->short_names));
		if (k->categories[0])
			json_object_set_new(r, "categories", api_json_strv(k->categories));
		json_array_append_new(res, r);
		if (k->has_status) {
			char *n = xasprintf("%s/status", k->plural);
			json_array_append_new(res,
					      json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s]}", "name", n,
							"singularName", "", "namespaced", k->namespaced,
							"kind", k->kind, "verbs", "get", "patch", "update"));
			free(n);
		}
		if (api_kind_has_scale(k)) {
			char *n = xasprintf("%s/scale", k->plural);
			json_array_append_new(res,
					      json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:[s,s,s]}", "name",
							n, "singularName", "", "namespaced", true, "group",
							"autoscaling", "version", "v1", "kind", "Scale",
							"verbs", "get", "patch", "update"));
			free(n);
		}
		if (is_pods(k)) {
			json_array_append_new(res, json_pack("{s:s, s:s, s:b, s:s, s:[s]}", "name",
							     "pods/log", "singularName", "", "namespaced",
							     true, "kind", "Pod", "verbs", "get"));
			/* stream.c: PodExecOptions / PodPortForwardOptions, as kube lists them */
			json_array_append_new(res,
					      json_pack("{s:s, s:s, s:b, s:s, s:[s,s]}", "name", "pods/exec",
							"singularName", "", "namespaced", true, "kind",
							"PodExecOptions", "verbs", "create", "get"));
			json_array_append_new(res, json_pack("{s:s, s:s, s:b, s:s, s:[s,s]}", "name",
							     "pods/attach", "singularName", "", "namespaced",
							     true, "kind", "PodAttachOptions", "verbs",
							     "create", "get"));
			json_array_append_new(
			    res, json_pack("{s:s, s:s, s:b, s:s, s:[s,s]}", "name", "pods/portforward",
					   "singularName", "", "namespaced", true, "kind",
					   "PodPortForwardOptions", "verbs", "create", "get"));
		}
	}
	char *gv = group[0] ? xasprintf("%s/%s", group, version) : xstrdup(version);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			      "groupVersion", gv, "resources", res);
	free(gv);
	return o;
}

static json_t *aggregated_gv(const char *group, const char *version)
{
	json_t *res = json_array();
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		json_t *r = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", k->plural,
				      "responseKind", "group", k->group, "version", k->version, "kind",
				      k->kind, "scope", k->namespaced ? "Namespaced" : "Cluster",
				      "singularResource", k->singular, "verbs", api_json_strv(verbs));
		if (k->short_names[0])
			json_object_set_new(r, "shortNames", api_json_strv(k->short_names));
		if (k->categories[0])
			json_object_set_new(r, "categories", api_json_strv(k->categories));
		json_t *subs = json_array();
		if (k->has_status)
			json_array_append_new(
			    subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s,s]}", "subresource", "status",
					    "responseKind", "group", k->group, "version", k->version, "kind",
					    k->kind, "verbs", "get", "patch", "update"));
		if (api_kind_has_scale(k))
			json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s,s]}",
							      "subresource", "scale", "responseKind", "group",
							      "autoscaling", "version", "v1", "kind", "Scale",
							      "verbs", "get", "patch", "update"));
		if (is_pods(k)) {
			json_array_append_new(subs,
					      json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s]}", "subresource",
							"log", "responseKind", "group", "", "version", "",
							"kind", "Pod", "verbs", "get"));
			json_array_append_new(subs,
					      json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s]}", "subresource",
							"exec", "responseKind", "group", "", "version", "",
							"kind", "PodExecOptions", "verbs", "create", "get"));
			json_array_append_new(
			    subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s]}", "subresource", "portforward",
					    "responseKind", "group", "", "version", "", "kind",
					    "PodPortForwardOptions", "verbs", "create", "get"));
		}
		if (json_array_size(subs))
			json_object_set_new(r, "subresources", subs);
		else
			json_decref(subs);
		json_array_append_new(res, r);
	}
	return json_pack("{s:s, s:o, s:s}", "version", version, "resources", res, "freshness", "Current");
}

static json_t *aggregated_group(const char *group)
{
	const char *vs[4];
	size_t nv = group_versions(group, vs, 4);
	json_t *versions = json_array();
	for (size_t j = 0; j < nv; j++)
		json_array_append_new(versions, aggregated_gv(group, vs[j]));
	json_t *meta = json_pack("{s:n}", "creationTimestamp");
	if (group[0])
		json_object_set_new(meta, "name", json_string(group));
	return json_pack("{s:o, s:o}", "metadata", meta, "versions", versions);
}

/* Returns "v2", "v2beta1" or NULL: the aggregated version the client accepts, if any. */
static const char *aggregated_version(struct http_req *r)
{
	const char *a = http_req_header(r, "Accept");
	if (!a || !strstr(a, "as=APIGroupDiscoveryList"))
		return NULL;
	/* Prefer v2 when offered. */
	const char *p = a;
	while ((p = strstr(p, "g=apidiscovery.k8s.io"))) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (memmem(p, n, "v=v2;", 5) || memmem(p, n, "v=v2,", 5) ||
		    (n >= 4 && !memcmp(p + n - 4, "v=v2", 4)))
			return "v2";
		p += n;
	}
	return strstr(a, "v=v2beta1") ? "v2beta1" : NULL;
}

static void send_aggregated(struct http_conn *c, const char *ver, bool core)
{
	json_t *items = json_array();
	const char *gs[16];
	size_t n = groups(gs, 16);
	for (size_t i = 0; i < n; i++)
		if ((gs[i][0] == 0) == core)
			json_array_append_new(items, aggregated_group(gs[i]));
	char *av = xasprintf("apidiscovery.k8s.io/%s", ver);
	char *ct = xasprintf("application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList", ver);
	send(c, ct,
	     json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion", av, "metadata",
		       "items", items));
	free(av);
	free(ct);
}

/* /openapi/v2: protobuf (openapi_v2.Document) when the client's Accept names it, as
 * client-go's does, else JSON (curl, kubectl get --raw), as kube-apiserver negotiates it.
 * A strong ETag (the hash of the body) and If-None-Match answer 304 to a client that has
 * it. */
static void send_openapi_v2(struct http_conn *c, const struct http_req *r)
{
	const char *accept = http_req_header(r, "Accept");
	bool json = !accept || !strstr(accept, "com.github.proto-openapi.spec.v2");
	struct buf body;
	buf_init(&body);
	if (json) {
		char *s = api_openapi_v2_doc();
		buf_puts(&body, s);
		free(s);
	} else {
		api_openapi_v2_proto(&body);
	}
	char etag[40];
	snprintf(etag, sizeof(etag), "\"%016llX\"",
		 (unsigned long long)api_openapi_hash(body.data ? body.data : "", body.len));
	const char *inm = http_req_header(r, "If-None-Match");
	char *hdr = xasprintf("ETag: %s\r\nVary: Accept\r\n", etag);
	const char *ct =
	    json ? "application/json" : "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
	if (inm && strstr(inm, etag))
		http_send(c, 304, ct, hdr, "", 0);
	else
		http_send(c, 200, ct, hdr, body.data ? body.data : "", body.len);
	free(hdr);
	buf_fini(&body);
}

bool apiserver__discovery(struct apiserver *as, struct http_conn *c, struct http_req *r)
{
	const char *p = r->path;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return false;
	if (!strcmp(p, "/version")) {
		send(c, "application/json",
		     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor", "33",
			       "gitVersion", "v1.33.0+svcplane", "gitCommit",
			       "0000000000000000000000000000000000000000", "gitTreeState", "clean",
			       "buildDate", "2026-11-22T00:00:00Z", "goVersion", "go1.24.0", "compiler", "gc",
			       "platform", "linux/amd64"));
		return true;
	}
	if (!strcmp(p, "/api") || !strcmp(p, "/api/")) {
		const char *ver = aggregated_version(r);
		if (ver) {
			send_aggregated(c, ver, true);
			return true;
		}
		char addr[128];
		snprintf(addr, sizeof(addr), "%s:%d", as->o.bind_address, httpd_port(as->httpd));
		send(c, "application/json",
		     json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
			       "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
			       addr));
		return true;
	}
	if (!strcmp(p, "/apis") || !strcmp(p, "/apis/")) {
		const char *ver = aggregated_version(r);
		if (ver) {
			send_aggregated(c, ver, false);
			return true;
		}
		json_t *gl = json_array();
		const char *gs[16];
		size_t n = groups(gs, 16);
		for (size_t i = 0; i < n; i++) {
			if (!gs[i][0])
				continue;
			json_array_append_new(gl, api_group(gs[i]));
		}
		send(c, "application/json",
		     json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", gl));
		return true;
	}
	if (!strcmp(p, "/api/v1")) {
		send(c, "application/json", resource_list("", "v1"));
		return true;
	}
	if (!strncmp(p, "/apis/", 6)) {
		char g[128], v[32];
		char extra;
		if (sscanf(p + 6, "%127[^/]/%31[^/]%c", g, v, &extra) == 2) {
			for (size_t i = 0; i < api_nkinds; i++)
				if (!strcmp(api_kinds[i].group, g) && !strcmp(api_kinds[i].version, v)) {
					send(c, "application/json", resource_list(g, v));
					return true;
				}
		}
		if (sscanf(p + 6, "%127[^/]%c", g, &extra) == 1) {
			for (size_t i = 0; i < api_nkinds; i++)
				if (!strcmp(api_kinds[i].group, g)) {
					json_t *grp = api_group(g);
					json_object_set_new(grp, "kind", json_string("APIGroup"));
					json_object_set_new(grp, "apiVersion", json_string("v1"));
					send(c, "application/json", grp);
					return true;
				}
		}
		return false;
	}
	if (!strcmp(p, "/openapi/v2")) {
		send_openapi_v2(c, r);
		return true;
	}
	if (!strcmp(p, "/openapi/v3") || !strcmp(p, "/openapi/v3/")) {
		char *s = api_openapi_v3_index();
		http_send(c, 200, "application/json", "", s, strlen(s));
		free(s);
		return true;
	}
	if (!strncmp(p, "/openapi/v3/", 12)) {
		char *s = api_openapi_v3_doc(p + 12);
		if (!s)
			return false;
		char *hash = http_query_get(r->query, "hash");
		http_send(
		    c, 200, "application/json",
		    hash ? "Cache-Control: public, immutable\r\nExpires: Fri, 22 Nov 2036 00:00:00 GMT\r\n"
			 : "",
		    s, strlen(s));
		free(hash);
		free(s);
		return true;
	}
	return false;
}
