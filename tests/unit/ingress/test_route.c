/* test_route.c - the Ingress routing table against the examples of the Ingress
 * specification (kubernetes.io/docs/concepts/services-networking/ingress: "Examples" of
 * path matching, hostname wildcards), plus backends resolved from Services and
 * EndpointSlices, and the v1beta1 <-> v1 conversion and validation messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/kinds.h"
#include "api/object.h"
#include "api/schema.h"
#include "base/buf.h"
#include "base/mem.h"
#include "harness/t.h"
#include "ingress/http1.h"
#include "ingress/route.h"

static json_t *Q(const char *s)
{
	char *d = xstrdup(s);
	for (char *c = d; *c; c++)
		if (*c == '\'')
			*c = '"';
	json_error_t e;
	json_t *j = json_loads(d, JSON_DECODE_ANY, &e);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, d);
	free(d);
	return j;
}

/* The spec's table: kind, path(s), request path, matches? */
TEST(ingress_path_spec_examples)
{
	ASSERT(ing_path_match(ING_PREFIX, "/", "/anything/at/all"));
	ASSERT(ing_path_match(ING_EXACT, "/foo", "/foo"));
	ASSERT(!ing_path_match(ING_EXACT, "/foo", "/bar"));
	ASSERT(!ing_path_match(ING_EXACT, "/foo", "/foo/"));
	ASSERT(!ing_path_match(ING_EXACT, "/foo/", "/foo"));
	ASSERT(ing_path_match(ING_PREFIX, "/foo", "/foo"));
	ASSERT(ing_path_match(ING_PREFIX, "/foo", "/foo/"));
	ASSERT(ing_path_match(ING_PREFIX, "/foo/", "/foo"));
	ASSERT(ing_path_match(ING_PREFIX, "/foo/", "/foo/"));
	ASSERT(!ing_path_match(ING_PREFIX, "/aaa/bb", "/aaa/bbb"));
	ASSERT(ing_path_match(ING_PREFIX, "/aaa/bbb", "/aaa/bbb"));
	ASSERT(ing_path_match(ING_PREFIX, "/aaa/bbb/", "/aaa/bbb"));
	ASSERT(ing_path_match(ING_PREFIX, "/aaa/bbb", "/aaa/bbb/"));
	ASSERT(ing_path_match(ING_PREFIX, "/aaa/bbb", "/aaa/bbb/ccc"));
	ASSERT(!ing_path_match(ING_PREFIX, "/aaa/bbb", "/aaa/bbbxyz"));
	ASSERT(!ing_path_match(ING_PREFIX, "/foo", "/foobar"));
	ASSERT(!ing_path_match(ING_PREFIX, "/aaa", "/ccc"));
}

static json_t *svc(const char *name, int port, const char *pname)
{
	return json_pack("{s:{s:s, s:s}, s:{s:[{s:s, s:i, s:s}]}}", "metadata", "namespace", "default",
			 "name", name, "spec", "ports", "name", pname, "port", port, "protocol", "TCP");
}

static json_t *slice(const char *svcname, const char *pname, int port, const char *ip, bool ready)
{
	return json_pack("{s:{s:s, s:s, s:{s:s}}, s:s, s:[{s:s, s:i, s:s}], s:[{s:[s], s:{s:b}}]}",
			 "metadata", "namespace", "default", "name", svcname, "labels",
			 "kubernetes.io/service-name", svcname, "addressType", "IPv4", "ports", "name", pname,
			 "port", port, "protocol", "TCP", "endpoints", "addresses", ip, "conditions", "ready",
			 ready);
}

/* One Ingress per path list; each path's backend is a Service named after it. */
static const char *route(const struct ing_table *t, const char *host, const char *path)
{
	const struct ing_backend *b = ing_table_match(t, host, path);
	return b ? (b->svc ? b->svc : "resource") : "404";
}

TEST(ingress_longest_match_and_exact_first)
{
	json_t *ings = Q(
	    "[{'metadata':{'namespace':'default','name':'a','creationTimestamp':'2024-01-01T00:00:00Z'},"
	    "'spec':{'rules':[{'http':{'paths':["
	    "{'path':'/','pathType':'Prefix','backend':{'service':{'name':'root','port':{'number':80}}}},"
	    "{'path':'/aaa','pathType':'Prefix','backend':{'service':{'name':'aaa','port':{'number':80}}}},"
	    "{'path':'/aaa/bbb','pathType':'Prefix','backend':{'service':{'name':'bbb','port':{'number':80}}}},"
	    "{'path':'/foo','pathType':'Prefix','backend':{'service':{'name':'fooprefix','port':{'number':80}}}},"
	    "{'path':'/foo','pathType':'Exact','backend':{'service':{'name':'fooexact','port':{'number':80}}}},"
	    "{'path':'/impl','pathType':'ImplementationSpecific','backend':{'service':{'name':'impl','port':{'number':80}}}}"
	    "]}}]}}]");
	struct ing_table *t = ing_table_build(ings, NULL, NULL);
	ASSERT_STR_EQ(route(t, "x", "/aaa/ccc"), "aaa");
	ASSERT_STR_EQ(route(t, "x", "/aaa/bbb"), "bbb");
	ASSERT_STR_EQ(route(t, "x", "/ccc"), "root");
	ASSERT_STR_EQ(route(t, "x", "/foo"), "fooexact");
	ASSERT_STR_EQ(route(t, "x", "/foo/x"), "fooprefix");
	ASSERT_STR_EQ(route(t, "x", "/foobar"), "root");
	ASSERT_STR_EQ(route(t, "x", "/impl/sub"), "impl");
	ing_table_free(t);
	json_decref(ings);
}

TEST(ingress_hosts_exact_wildcard_default)
{
	json_t *ings = Q(
	    "[{'metadata':{'namespace':'default','name':'a','creationTimestamp':'2024-01-01T00:00:00Z'},"
	    "'spec':{'defaultBackend':{'service':{'name':'def','port':{'number':80}}},'rules':["
	    "{'host':'foo.bar.com','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'exact','port':{'number':80}}}}]}},"
	    "{'host':'*.bar.com','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'wild','port':{'number':80}}}}]}},"
	    "{'http':{'paths':[{'path':'/any','pathType':'Prefix','backend':{'service':{'name':'nohost','port':{'number':80}}}}]}}"
	    "]}}]");
	struct ing_table *t = ing_table_build(ings, NULL, NULL);
	ASSERT_STR_EQ(route(t, "foo.bar.com", "/"), "exact");
	ASSERT_STR_EQ(route(t, "FOO.bar.com:8080", "/x"), "exact");
	ASSERT_STR_EQ(route(t, "baz.bar.com", "/"), "wild");
	/* A wildcard covers one label only. */
	ASSERT_STR_EQ(route(t, "bar.com", "/any"), "nohost");
	ASSERT_STR_EQ(route(t, "a.baz.bar.com", "/any"), "nohost");
	ASSERT_STR_EQ(route(t, "a.baz.bar.com", "/other"), "def");
	ASSERT_STR_EQ(route(t, "other.example", "/any/x"), "nohost");
	ing_table_free(t);
	json_decref(ings);
}

TEST(ingress_oldest_wins_and_class_filter)
{
	json_t *ings = Q(
	    "["
	    "{'metadata':{'namespace':'default','name':'new','creationTimestamp':'2024-02-01T00:00:00Z'},"
	    "'spec':{'rules':[{'host':'h','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'new','port':{'number':80}}}}]}}]}},"
	    "{'metadata':{'namespace':'default','name':'old','creationTimestamp':'2024-01-01T00:00:00Z'},"
	    "'spec':{'rules':[{'host':'h','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'old','port':{'number':80}}}}]}}]}},"
	    "{'metadata':{'namespace':'default','name':'other','creationTimestamp':'2023-01-01T00:00:00Z'},"
	    "'spec':{'ingressClassName':'nginx','rules':[{'host':'o','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'o','port':{'number':80}}}}]}}]}}"
	    "]");
	struct ing_table *t = ing_table_build(ings, NULL, NULL);
	ASSERT_STR_EQ(route(t, "h", "/"), "old");
	ASSERT_STR_EQ(route(t, "o", "/"), "404");
	ASSERT_INT_EQ((long long)json_array_size(t->served), 2);
	ing_table_free(t);
	json_decref(ings);
}

TEST(ingress_backend_endpoints_and_reasons)
{
	json_t *ings = Q(
	    "[{'metadata':{'namespace':'default','name':'a','creationTimestamp':'2024-01-01T00:00:00Z',"
	    "'annotations':{'nginx.ingress.kubernetes.io/affinity':'cookie','nginx.ingress.kubernetes.io/session-cookie-name':'route',"
	    "'nginx.ingress.kubernetes.io/session-cookie-max-age':'3600'}},"
	    "'spec':{'rules':[{'http':{'paths':["
	    "{'path':'/web','pathType':'Prefix','backend':{'service':{'name':'web','port':{'name':'http'}}}},"
	    "{'path':'/num','pathType':'Prefix','backend':{'service':{'name':'web','port':{'number':80}}}},"
	    "{'path':'/gone','pathType':'Prefix','backend':{'service':{'name':'gone','port':{'number':80}}}},"
	    "{'path':'/badport','pathType':'Prefix','backend':{'service':{'name':'web','port':{'number':81}}}},"
	    "{'path':'/res','pathType':'Prefix','backend':{'resource':{'apiGroup':'k8s.example.com','kind':'StorageBucket','name':'icons'}}}"
	    "]}}]}}]");
	json_t *svcs = json_pack("[o]", svc("web", 80, "http"));
	json_t *slices = json_pack("[o,o]", slice("web", "http", 8080, "198.18.130.2", true),
				   slice("web", "http", 8080, "198.18.130.3", false));
	struct ing_table *t = ing_table_build(ings, svcs, slices);
	const struct ing_backend *b = ing_table_match(t, "x", "/web/a");
	ASSERT(b && !b->reason);
	ASSERT_INT_EQ((long long)b->eps.len, 1);
	ASSERT_STR_EQ(b->eps.v[0].key, "198.18.130.2:8080");
	ASSERT(b->cookie);
	ASSERT_STR_EQ(b->cookie_name, "route");
	ASSERT_INT_EQ(b->cookie_max_age, 3600);
	ASSERT_STR_EQ(b->cookie_path, "/web");
	b = ing_table_match(t, "x", "/num");
	ASSERT(b && !b->reason && b->eps.len == 1);
	b = ing_table_match(t, "x", "/gone");
	ASSERT_STR_EQ(b->reason, "service \"default/gone\" not found");
	b = ing_table_match(t, "x", "/badport");
	ASSERT_STR_EQ(b->reason, "service \"default/web\" has no port 81");
	b = ing_table_match(t, "x", "/res");
	ASSERT_STR_CONTAINS(b->reason, "StorageBucket");
	ASSERT_INT_EQ((long long)json_array_size(t->problems), 2);
	ing_table_free(t);
	json_decref(ings);
	json_decref(svcs);
	json_decref(slices);
}

TEST(ingress_tls_sni)
{
	json_t *ings = Q(
	    "[{'metadata':{'namespace':'ns1','name':'a'},'spec':{'tls':["
	    "{'hosts':['a.example.com'],'secretName':'sa'},{'hosts':['*.example.org'],'secretName':'sw'}],"
	    "'rules':[{'host':'a.example.com','http':{'paths':[{'path':'/','pathType':'Prefix','backend':{'service':{'name':'x','port':{'number':80}}}}]}}]}}]");
	struct ing_table *t = ing_table_build(ings, NULL, NULL);
	ASSERT_STR_EQ(ing_table_tls(t, "A.example.com")->secret, "sa");
	ASSERT_STR_EQ(ing_table_tls(t, "b.example.org")->secret, "sw");
	ASSERT_STR_EQ(ing_table_tls(t, "b.example.org")->ns, "ns1");
	ASSERT(!ing_table_tls(t, "example.org"));
	ing_table_free(t);
	json_decref(ings);
}

/* The seed's extensions/v1beta1 Ingress converts to v1 and back unchanged. */
TEST(ingress_v1beta1_round_trip)
{
	const struct api_kind *ext = api_kind_by_plural("extensions", "v1beta1", "ingresses");
	const struct api_kind *v1 = api_kind_by_plural("networking.k8s.io", "v1", "ingresses");
	ASSERT(ext && v1 && api_kind_storage(ext) == v1 && api_kind_storage(v1) == v1);
	json_t *o = Q(
	    "{'apiVersion':'extensions/v1beta1','kind':'Ingress','metadata':{'name':'kubia','namespace':'default'},'spec':{"
	    "'backend':{'serviceName':'def','servicePort':'http'},"
	    "'rules':[{'host':'kubia.example.com','http':{'paths':[{'path':'/','backend':{'serviceName':'kubia-nodeport','servicePort':80}}]}}]}}");
	json_t *orig = json_deep_copy(o);
	api_kind_convert_in(ext, o);
	ASSERT_STR_EQ(api_str(o, "apiVersion"), "networking.k8s.io/v1");
	ASSERT_STR_EQ(api_str(o, "spec.defaultBackend.service.port.name"), "http");
	json_t *p = json_array_get(api_get(json_array_get(api_get(o, "spec.rules"), 0), "http.paths"), 0);
	ASSERT_STR_EQ(api_str(p, "pathType"), "ImplementationSpecific");
	ASSERT_STR_EQ(api_str(p, "backend.service.name"), "kubia-nodeport");
	ASSERT_INT_EQ(json_integer_value(api_get(p, "backend.service.port.number")), 80);
	struct api_errs e;
	api_errs_init(&e);
	api_validate(v1, o, NULL, &e);
	if (api_errs_count(&e)) {
		char *s = json_dumps(e.causes, 0);
		t_fail(__FILE__, __LINE__, "unexpected errors: %s", s);
	}
	api_errs_fini(&e);
	api_kind_convert_out(ext, o);
	/* Back in v1beta1 the defaulted pathType stays (as Kubernetes shows it). */
	json_object_set_new(
	    json_array_get(api_get(json_array_get(api_get(orig, "spec.rules"), 0), "http.paths"), 0),
	    "pathType", json_string("ImplementationSpecific"));
	ASSERT(json_equal(o, orig));
	json_decref(o);
	json_decref(orig);
}

TEST(ingress_validation_messages)
{
	const struct api_kind *v1 = api_kind_by_plural("networking.k8s.io", "v1", "ingresses");
	json_t *o = Q(
	    "{'metadata':{'name':'bad'},'spec':{'rules':[{'host':'1.2.3.4','http':{'paths':["
	    "{'path':'foo','pathType':'Prefix','backend':{'service':{'name':'x'}}},"
	    "{'path':'/a','backend':{'service':{'name':'x','port':{'number':80}}}},"
	    "{'path':'/a//b','pathType':'Bogus','backend':{'service':{'name':'x','port':{'number':80,'name':'http'}}}}]}},"
	    "{'host':'*.a.*','http':{'paths':[{'path':'/x/..','pathType':'Exact','backend':{}}]}}]}}");
	struct api_errs e;
	api_errs_init(&e);
	api_validate(v1, o, NULL, &e);
	char *all = json_dumps(e.causes, 0);
	ASSERT_STR_CONTAINS(all, "spec.rules[0].host");
	ASSERT_STR_CONTAINS(all, "must be a DNS name, not an IP address");
	ASSERT_STR_CONTAINS(all, "Invalid value: \\\"foo\\\": must be an absolute path");
	ASSERT_STR_CONTAINS(all, "Required value: port name or number is required");
	ASSERT_STR_CONTAINS(all, "Required value: pathType must be specified");
	ASSERT_STR_CONTAINS(
	    all,
	    "Unsupported value: \\\"Bogus\\\": supported values: \\\"Exact\\\", \\\"ImplementationSpecific\\\", \\\"Prefix\\\"");
	ASSERT_STR_CONTAINS(all, "a wildcard DNS-1123 subdomain must start with '*.'");
	ASSERT_STR_CONTAINS(all, "cannot end with '/..'");
	ASSERT_STR_CONTAINS(all, "resource or service backend is required");
	free(all);
	api_errs_fini(&e);
	json_decref(o);
	o = Q("{'metadata':{'name':'empty'},'spec':{}}");
	api_errs_init(&e);
	api_validate(v1, o, NULL, &e);
	all = json_dumps(e.causes, 0);
	ASSERT_STR_CONTAINS(
	    all,
	    "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified");
	free(all);
	api_errs_fini(&e);
	json_decref(o);
}

/* Response heads from endpoints (ingress/http1.c). */
TEST(ingress_resp_head_parse)
{
	struct ing_resp_head h;
	struct buf out;
	buf_init(&out);
	const char *r =
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
	    "X-A: b\r\n\r\nhello";
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 65536, &h, &out), 0);
	ASSERT_INT_EQ(h.code, 200);
	ASSERT_INT_EQ(h.content_length, 5);
	ASSERT(h.conn_keep_alive && !h.conn_close && !h.chunked && !h.http10);
	ASSERT_INT_EQ((long long)h.head_len, (long long)(strlen(r) - 5));
	ASSERT_STR_EQ(out.data, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n");
	buf_reset(&out);
	r = "HTTP/1.0 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 65536, &h, &out), 0);
	ASSERT(h.http10 && h.chunked && h.code == 404);
	buf_reset(&out);
	ASSERT_INT_EQ(ing_resp_head_parse(r, 20, 65536, &h, &out), -EAGAIN);
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 20, &h, &out), -EBADMSG);
	r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 65536, &h, &out), -EBADMSG);
	ASSERT_INT_EQ((long long)out.len, 0);
	r = "HTTP/1.1\r\n200 OK\r\n\r\n";
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 65536, &h, &out), -EBADMSG);
	r = "HTTP/1.1 200 OK\r\n folded\r\n\r\n";
	ASSERT_INT_EQ(ing_resp_head_parse(r, strlen(r), 65536, &h, &out), -EBADMSG);
	buf_fini(&out);
}
