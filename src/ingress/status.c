/* status.c - Ingress status.loadBalancer and events (see status.h). */
#include "ingress/status.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/worker.h"
#include "client/informer.h"
#include "ingress/route.h"

struct ing_status {
	struct ing_status_opts o;
	struct client *cl;
	char *last_slice; /* the node EndpointSlice last written (LoadBalancer mode) */
	struct informer *ing, *nodes, *svcs, *secrets;
	struct worker w;
	json_t *told; /* "ns/name\nmessage" of Events posted */
};

static void kick(void *ud, const json_t *o)
{
	struct ing_status *s = ud;
	(void)o;
	worker_kick(&s->w);
}

static void kick_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	kick(ud, o);
}

static void kick_synced(void *ud)
{
	kick(ud, NULL);
}

static bool is_ready_node(const json_t *n)
{
	size_t j;
	json_t *c;
	json_array_foreach(api_get(n, "status.conditions"), j, c)
	{
		const char *t = api_str(c, "type"), *st = api_str(c, "status");
		if (t && st && !strcmp(t, "Ready"))
			return !strcmp(st, "True");
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Calls fn(node, ip, ud) for each InternalIP of each Ready Node, in the informer's order. */
static void ready_ips_foreach(struct ing_status *s, void (*fn)(const json_t *node, const char *ip, void *ud),
			      void *ud)
{
	json_t *nodes = informer_list(s->nodes, NULL);
	size_t i, j;
	json_t *n, *a;
	json_array_foreach(nodes, i, n)
	{
		if (!is_ready_node(n))
			continue;
		json_array_foreach(api_get(n, "status.addresses"), j, a)
		{
			const char *t = api_str(a, "type"), *ad = api_str(a, "address");
			if (t && ad && !strcmp(t, "InternalIP"))
				fn(n, ad, ud);
		}
	}
	json_decref(nodes);
}

static void ip_append(const json_t *node, const char *ip, void *ud)
{
	(void)node;
	json_array_append_new(ud, json_string(ip));
}

/* [{ip}] of the Ready Nodes' InternalIPs, sorted. */
static json_t *addresses(struct ing_status *s)
{
	json_t *ips = json_array();
	ready_ips_foreach(s, ip_append, ips);
	size_t i, cnt = json_array_size(ips);
	json_t **v = xcalloc(cnt ? cnt : 1, sizeof(*v));
	for (i = 0; i < cnt; i++)
		v[i] = json_array_get(ips, i);
	qsort(v, cnt, sizeof(*v), cmp_str);
	json_t *out = json_array();
	for (i = 0; i < cnt; i++)
		if (!i || strcmp(json_string_value(v[i]), json_string_value(v[i - 1])))
			json_array_append_new(out, json_pack("{s:O}", "ip", v[i]));
	free(v);
	json_decref(ips);
	return out;
}

static long request(struct ing_status *s, const char *method, const char *path, const char *ct,
		    const json_t *body)
{
	char *b = json_dumps(body, JSON_COMPACT);
	long code = 0;
	char *resp = NULL, err[256] = "";
	size_t rl = 0;
	int rc = client_request(s->cl, method, path, ct, b, NULL, &code, &resp, &rl, err, sizeof(err));
	if (rc < 0 || code >= 300)
		log_debug("ingress status: %s %s: %s%ld", method, path, err, code);
	free(resp);
	free(b);
	return rc < 0 ? -1 : code;
}

/* ---- --ingress-service-type LoadBalancer ---- */

#define LB_NS "kube-system"
#define LB_SVC "svcplane-ingress"
#define LB_SLICE "svcplane-ingress-nodes"

/* An EndpointSlice endpoint for an IPv4 address of a Ready node (the slice is IPv4). */
static void endpoint_append(const json_t *node, const char *ip, void *ud)
{
	if (!strchr(ip, ':'))
		json_array_append_new(ud, json_pack("{s:[s], s:{s:b}, s:s}", "addresses", ip, "conditions",
						    "ready", 1, "nodeName", api_str(node, "metadata.name")));
}

/* The Service that gets an address from the LoadBalancer pool (the LB controller's) and
 * its EndpointSlice of the Ready nodes' IPv4 InternalIPs at the proxy's ports, so the
 * kernel data plane carries that address to the agents' proxies. Made when missing;
 * the slice is rewritten when the nodes change. */
static void lb_sync(struct ing_status *s)
{
	json_t *svc = informer_get(s->svcs, LB_NS, LB_SVC);
	int hp = s->o.http_port > 0 ? s->o.http_port : 80, sp = s->o.https_port > 0 ? s->o.https_port : 443;
	if (!svc) {
		json_t *o = json_pack(
		    "{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:i, s:i, s:s}, {s:s, s:i, s:i, s:s}]}}",
		    "apiVersion", "v1", "kind", "Service", "metadata", "name", LB_SVC, "namespace", LB_NS,
		    "labels", "app.kubernetes.io/name", "svcplane-ingress", "spec", "type", "LoadBalancer",
		    "ports", "name", "http", "port", 80, "targetPort", hp, "protocol", "TCP", "name", "https",
		    "port", 443, "targetPort", sp, "protocol", "TCP");
		request(s, "POST", "/api/v1/namespaces/" LB_NS "/services", "application/json", o);
		json_decref(o);
	}
	json_decref(svc);
	json_t *eps = json_array();
	ready_ips_foreach(s, endpoint_append, eps);
	json_t *slice = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}], s:o}",
	    "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata", "name", LB_SLICE,
	    "namespace", LB_NS, "labels", "kubernetes.io/service-name", LB_SVC,
	    "endpointslice.kubernetes.io/managed-by", "svcplane-ingress", "addressType", "IPv4", "ports",
	    "name", "http", "port", hp, "protocol", "TCP", "name", "https", "port", sp, "protocol", "TCP",
	    "endpoints", eps);
	char *txt = json_dumps(slice, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s->last_slice || strcmp(txt, s->last_slice)) {
		long code = request(s, "PUT",
				    "/apis/discovery.k8s.io/v1/namespaces/" LB_NS "/endpointslices/" LB_SLICE,
				    "application/json", slice);
		if (code == 404)
			code = request(s, "POST",
				       "/apis/discovery.k8s.io/v1/namespaces/" LB_NS "/endpointslices",
				       "application/json", slice);
		if (code >= 200 && code < 300) {
			free(s->last_slice);
			s->last_slice = txt;
			txt = NULL;
		}
	}
	free(txt);
	json_decref(slice);
}

/* [{ip}] of the LoadBalancer Service's addresses (none until the pool gave one). */
static json_t *lb_addresses(struct ing_status *s)
{
	json_t *svc = informer_get(s->svcs, LB_NS, LB_SVC), *out = json_array();
	size_t i;
	json_t *g;
	json_array_foreach(api_get(svc, "status.loadBalancer.ingress"), i, g)
	{
		const char *ip = api_str(g, "ip");
		if (ip)
			json_array_append_new(out, json_pack("{s:s}", "ip", ip));
	}
	json_decref(svc);
	return out;
}

static void event(struct ing_status *s, const json_t *ing, const char *reason, const char *msg)
{
	const char *ns = api_str(ing, "metadata.namespace"), *name = api_str(ing, "metadata.name");
	char *key = xasprintf("%s/%s\n%s", ns ? ns : "", name ? name : "", msg);
	bool told = json_object_get(s->told, key) != NULL;
	if (!told)
		json_object_set_new(s->told, key, json_true());
	free(key);
	if (told)
		return;
	json_t *ev = api_event_new(ing, "Ingress", NULL, ING_CONTROLLER, NULL, "Warning", reason, msg);
	char *path = xasprintf("/api/v1/namespaces/%s/events", api_str(ev, "metadata.namespace"));
	request(s, "POST", path, "application/json", ev);
	free(path);
	json_decref(ev);
}

static void sync_all(struct ing_status *s)
{
	json_t *ings = informer_list(s->ing, NULL), *svcs = informer_list(s->svcs, NULL);
	json_t *want;
	if (s->o.lb) {
		lb_sync(s);
		want = lb_addresses(s);
	} else {
		want = addresses(s);
	}
	struct ing_table *t = ing_table_build(ings, svcs, NULL);
	size_t i;
	json_t *g, *p;
	json_array_foreach(ings, i, g)
	{
		if (!ing_is_ours(g))
			continue;
		const char *ns = api_str(g, "metadata.namespace"), *name = api_str(g, "metadata.name");
		json_t *cur = api_get(g, "status.loadBalancer.ingress");
		bool same = cur ? json_equal(cur, want) : json_array_size(want) == 0;
		if (!same) {
			json_t *patch = json_pack("{s:{s:{s:O}}}", "status", "loadBalancer", "ingress", want);
			char *path = xasprintf("/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status",
					       ns, name);
			request(s, "PATCH", path, "application/merge-patch+json", patch);
			free(path);
			json_decref(patch);
		}
		/* TLS Secrets named but missing. */
		size_t j;
		json_t *tls;
		json_array_foreach(api_get(g, "spec.tls"), j, tls)
		{
			const char *sec = api_str(tls, "secretName");
			if (!sec)
				continue;
			json_t *o = informer_get(s->secrets, ns, sec);
			if (!o) {
				char msg[300];
				snprintf(msg, sizeof(msg),
					 "TLS Secret \"%s\" not found: the default certificate is served",
					 sec);
				event(s, g, "SecretNotFound", msg);
			}
			json_decref(o);
		}
	}
	json_array_foreach(t->problems, i, p)
	{
		const json_t *g2 = ing_obj_find(ings, api_str(p, "namespace"), api_str(p, "name"));
		if (g2)
			event(s, g2, api_str(p, "reason"), api_str(p, "message"));
	}
	ing_table_free(t);
	json_decref(want);
	json_decref(ings);
	json_decref(svcs);
}

static void *worker(void *arg)
{
	struct ing_status *s = arg;
	while (worker_wait(&s->w, 5000))
		sync_all(s);
	return NULL;
}

int ing_status_start(const struct ing_status_opts *o, struct ing_status **out, char *err, size_t errlen)
{
	const struct client_config *cfg = o->cfg;
	struct ing_status *s = xcalloc(1, sizeof(*s));
	s->o = *o;
	worker_init(&s->w);
	s->told = json_object();
	s->cl = client_new(cfg, 10000);
	struct informer_handlers h = {
	    .on_add = kick, .on_update = kick_update, .on_delete = kick, .on_synced = kick_synced};
	s->ing = informer_new(cfg, "/apis/networking.k8s.io/v1/ingresses", &h, s);
	s->nodes = informer_new(cfg, "/api/v1/nodes", &h, s);
	s->svcs = informer_new(cfg, "/api/v1/services", &h, s);
	s->secrets = informer_new(cfg, "/api/v1/secrets", &h, s);
	int rc;
	if ((rc = informer_start(s->ing)) < 0 || (rc = informer_start(s->nodes)) < 0 ||
	    (rc = informer_start(s->svcs)) < 0 || (rc = informer_start(s->secrets)) < 0 ||
	    (rc = worker_start(&s->w, worker, s)) < 0) {
		snprintf(err, errlen, "starting the Ingress status writer: %s", strerror(-rc));
		ing_status_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

void ing_status_stop(struct ing_status *s)
{
	if (!s)
		return;
	worker_stop(&s->w);
	informer_stop(s->ing);
	informer_stop(s->nodes);
	informer_stop(s->svcs);
	informer_stop(s->secrets);
	informer_free(s->ing);
	informer_free(s->nodes);
	informer_free(s->svcs);
	informer_free(s->secrets);
	client_free(s->cl);
	json_decref(s->told);
	free(s->last_slice);
	worker_fini(&s->w);
	free(s);
}
