/* model.c - Services x EndpointSlices -> service ports with categorized endpoints.
 *
 * Pure: reads the JSON trees it is given, allocates the result, does no I/O. Slices are
 * grouped by their Service's "ns/name" in one jansson object first, so building the
 * whole table costs O(services + slices), not their product.
 */
#include "proxy/model.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "base/vec.h"

/* The builders' growable arrays (base/vec.h); the finished model keeps pointer and count. */
struct ep_vec {
	struct proxy_ep *v;
	size_t len, cap;
};

struct ip_vec {
	struct ip_addr *v;
	size_t len, cap;
};

const char *proxy_proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : "tcp";
}

int proxy_proto_parse(const char *s)
{
	if (!s || !strcmp(s, "TCP"))
		return IPPROTO_TCP;
	if (!strcmp(s, "UDP"))
		return IPPROTO_UDP;
	if (!strcmp(s, "SCTP"))
		return IPPROTO_SCTP;
	return -1;
}

char *proxy_svcport_name(const struct proxy_svcport *sp)
{
	if (sp->port_name && *sp->port_name)
		return xasprintf("%s/%s:%s", sp->ns, sp->name, sp->port_name);
	return xasprintf("%s/%s", sp->ns, sp->name);
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *path2(const json_t *o, const char *a, const char *b)
{
	return str(json_object_get(o, a), b);
}

/* A condition: unset means dflt. */
static bool cond(const json_t *conds, const char *k, bool dflt)
{
	json_t *v = json_object_get(conds, k);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct proxy_ep *x = a, *y = b;
	int c = ip_cmp(&x->ip, &y->ip);
	return c ? c : (int)x->port - (int)y->port;
}

/* Appends the endpoints of slice for the service port (name, proto) of family fam. */
static void slice_eps(const json_t *slice, const char *pname, int proto, int fam, const char *node,
		      struct ep_vec *eps)
{
	const char *at = str(slice, "addressType");
	if (!at || strcmp(at, fam == 4 ? "IPv4" : "IPv6"))
		return;
	/* The slice's port for this service port: same name ("" = unnamed) and protocol. */
	long port = -1;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(slice, "ports"), i, p)
	{
		const char *n_ = str(p, "name");
		if (strcmp(n_ ? n_ : "", pname) || proxy_proto_parse(str(p, "protocol")) != proto)
			continue;
		json_t *pv = json_object_get(p, "port");
		if (json_is_integer(pv) && json_integer_value(pv) > 0 && json_integer_value(pv) < 65536)
			port = (long)json_integer_value(pv);
		break;
	}
	if (port < 0)
		return;
	json_t *e;
	json_array_foreach(json_object_get(slice, "endpoints"), i, e)
	{
		/* kube-proxy uses an endpoint's first address only. */
		struct proxy_ep ep = {.port = (uint16_t)port};
		const char *a = json_string_value(json_array_get(json_object_get(e, "addresses"), 0));
		if (!a || ip_parse(a, &ep.ip) != 0 || ep.ip.family != fam)
			continue;
		json_t *c = json_object_get(e, "conditions");
		ep.ready = cond(c, "ready", true);
		ep.serving = cond(c, "serving", ep.ready);
		ep.terminating = cond(c, "terminating", false);
		const char *nn = str(e, "nodeName");
		ep.local = node && nn && !strcmp(nn, node);
		*vec_push(eps) = ep;
	}
}

/* Sorts and merges duplicates (same address and port): any copy ready, serving or
 * local makes the merged one so; terminating only when every copy is. */
static size_t dedup(struct proxy_ep *eps, size_t n)
{
	if (n < 2)
		return n;
	xqsort(eps, n, sizeof(*eps), ep_cmp);
	size_t w = 0;
	for (size_t r = 1; r < n; r++) {
		if (ep_cmp(&eps[w], &eps[r]) == 0) {
			eps[w].ready |= eps[r].ready;
			eps[w].serving |= eps[r].serving;
			eps[w].local |= eps[r].local;
			eps[w].terminating &= eps[r].terminating;
		} else {
			eps[++w] = eps[r];
		}
	}
	return w + 1;
}

/* The indexes of eps usable for a set: ready ones (only local ones when local_only), else
 * serving-and-terminating ones. */
static size_t pick(const struct proxy_ep *eps, size_t n, bool local_only, size_t **out)
{
	size_t k = 0;
	*out = n ? xcalloc(n, sizeof(size_t)) : NULL;
	for (size_t i = 0; i < n; i++)
		if (eps[i].ready && (!local_only || eps[i].local))
			(*out)[k++] = i;
	if (k)
		return k;
	for (size_t i = 0; i < n; i++)
		if (eps[i].serving && eps[i].terminating && (!local_only || eps[i].local))
			(*out)[k++] = i;
	return k;
}

/* Appends s to ips when it is an address of family fam. */
static void add_ip(struct ip_vec *ips, const char *s, int fam)
{
	struct ip_addr ip;
	if (s && ip_parse(s, &ip) == 0 && ip.family == fam)
		*vec_push(ips) = ip;
}

/* The cluster IP of family fam from spec.clusterIPs (or spec.clusterIP). */
static bool cluster_ip_of(const json_t *spec, int fam, struct ip_addr *out)
{
	json_t *ips = json_object_get(spec, "clusterIPs");
	size_t i;
	json_t *v;
	if (json_array_size(ips)) {
		json_array_foreach(ips, i, v)
		{
			if (json_is_string(v) && ip_parse(json_string_value(v), out) == 0 &&
			    out->family == fam)
				return true;
		}
		return false;
	}
	const char *s = str(spec, "clusterIP");
	return s && ip_parse(s, out) == 0 && out->family == fam;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void svcport_fini(struct proxy_svcport *p)
{
	free(p->ns);
	free(p->name);
	free(p->port_name);
	free(p->external_ips);
	free(p->src_ranges);
	free(p->eps);
	free(p->cluster_eps);
	free(p->local_eps);
}

static void build_port(const json_t *svc, const json_t *sp, const json_t *slices, const char *node, int fam,
		       struct proxy_svcport *o)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *type = str(spec, "type");
	o->family = fam;
	o->has_cluster_ip = cluster_ip_of(spec, fam, &o->cluster_ip);
	const char *pn = str(sp, "name");
	o->port_name = xstrdup(pn ? pn : "");
	o->port = (uint16_t)json_integer_value(json_object_get(sp, "port"));
	json_int_t np = json_integer_value(json_object_get(sp, "nodePort"));
	if (type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")) && np > 0 && np < 65536)
		o->node_port = (uint16_t)np;
	size_t i;
	json_t *v;
	struct ip_vec ext = {0};
	VEC(struct cidr) ranges = {0};
	json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
	    add_ip(&ext, json_string_value(v), fam);
	size_t before = ext.len;
	if (type && !strcmp(type, "LoadBalancer")) {
		json_array_foreach(
		    json_object_get(json_object_get(json_object_get(svc, "status"), "loadBalancer"),
				    "ingress"),
		    i, v)
		{
			/* ipMode Proxy: the load balancer proxies to the node port; the
			 * address is not for this node to answer. */
			const char *mode = str(v, "ipMode");
			if (mode && !strcmp(mode, "Proxy"))
				continue;
			add_ip(&ext, str(v, "ip"), fam);
		}
		json_array_foreach(json_object_get(spec, "loadBalancerSourceRanges"), i, v)
		{
			struct cidr c;
			char e[64];
			if (!json_is_string(v) || cidr_parse(json_string_value(v), &c, e, sizeof(e)) != 0 ||
			    c.net.family != fam)
				continue;
			*vec_push(&ranges) = c;
		}
	}
	o->external_ips = ext.v;
	o->n_external = ext.len;
	o->n_lb = ext.len - before;
	o->src_ranges = ranges.v;
	o->n_src_ranges = ranges.len;
	const char *etp = str(spec, "externalTrafficPolicy");
	const char *itp = str(spec, "internalTrafficPolicy");
	o->etp_local = etp && !strcmp(etp, "Local") && (o->node_port || o->n_external);
	o->itp_local = itp && !strcmp(itp, "Local");
	if (o->etp_local) {
		json_int_t hc = json_integer_value(json_object_get(spec, "healthCheckNodePort"));
		if (hc > 0 && hc < 65536)
			o->hc_node_port = (uint16_t)hc;
	}
	const char *aff = str(spec, "sessionAffinity");
	if (aff && !strcmp(aff, "ClientIP")) {
		json_t *t = json_object_get(
		    json_object_get(json_object_get(spec, "sessionAffinityConfig"), "clientIP"),
		    "timeoutSeconds");
		o->affinity_s =
		    json_is_integer(t) && json_integer_value(t) > 0 && json_integer_value(t) <= 86400
			? (int)json_integer_value(t)
			: PROXY_DEFAULT_AFFINITY_S;
	}
	struct ep_vec eps = {0};
	json_t *sl;
	json_array_foreach(slices, i, sl)
	{
		slice_eps(sl, o->port_name, o->proto, fam, node, &eps);
		const char *tt = json_string_value(
		    json_object_get(json_object_get(json_object_get(sl, "metadata"), "annotations"),
				    "endpoints.kubernetes.io/last-change-trigger-time"));
		if (tt && (!o->trigger_time || strcmp(tt, o->trigger_time) > 0))
			o->trigger_time = tt;
	}
	o->eps = eps.v;
	o->n_eps = dedup(eps.v, eps.len);
	o->n_cluster = pick(o->eps, o->n_eps, o->itp_local, &o->cluster_eps);
	o->n_local = pick(o->eps, o->n_eps, true, &o->local_eps);
}

void proxy_model_build(const json_t *services, const json_t *slices, const char *node_name,
		       struct proxy_model *out)
{
	memset(out, 0, sizeof(*out));
	out->keep = json_array();
	json_array_append((json_t *)out->keep, (json_t *)slices);
	/* Slices grouped by "ns/name" of their Service. */
	json_t *by_svc = json_object();
	size_t i;
	json_t *sl;
	json_array_foreach(slices, i, sl)
	{
		const json_t *md = json_object_get(sl, "metadata");
		const char *svc = path2(md, "labels", "kubernetes.io/service-name");
		const char *ns = str(md, "namespace");
		if (!svc || !ns)
			continue;
		char *k = xasprintf("%s/%s", ns, svc);
		json_t *a = json_object_get(by_svc, k);
		if (!a) {
			a = json_array();
			json_object_set_new(by_svc, k, a);
		}
		json_array_append(a, sl);
		free(k);
	}
	/* Services in a stable order. */
	size_t ns_ = json_array_size(services);
	char **keys = xcalloc(ns_ + 1, sizeof(char *));
	json_t *idx = json_object();
	size_t nk = 0;
	json_t *svc;
	json_array_foreach(services, i, svc)
	{
		const json_t *md = json_object_get(svc, "metadata");
		const char *ns = str(md, "namespace"), *name = str(md, "name");
		if (!ns || !name)
			continue;
		keys[nk] = xasprintf("%s/%s", ns, name);
		if (json_object_get(idx, keys[nk])) {
			free(keys[nk]);
			continue;
		}
		json_object_set(idx, keys[nk], svc);
		nk++;
	}
	xqsort(keys, nk, sizeof(char *), cmp_key);
	VEC(struct proxy_svcport) ports = {0};
	for (size_t k = 0; k < nk; k++) {
		svc = json_object_get(idx, keys[k]);
		const json_t *spec = json_object_get(svc, "spec");
		const char *type = str(spec, "type");
		const char *cip = str(spec, "clusterIP");
		if ((type && !strcmp(type, "ExternalName")) || (cip && !strcmp(cip, "None")))
			continue;
		const json_t *ss = json_object_get(by_svc, keys[k]);
		size_t pi;
		json_t *sp;
		json_array_foreach(json_object_get(spec, "ports"), pi, sp)
		{
			int proto = proxy_proto_parse(str(sp, "protocol"));
			json_int_t port = json_integer_value(json_object_get(sp, "port"));
			if (proto < 0 || port <= 0 || port > 65535)
				continue;
			for (int fam = 4; fam <= 6; fam += 2) {
				struct proxy_svcport p = {0};
				p.proto = proto;
				build_port(svc, sp, ss, node_name, fam, &p);
				/* A family the Service has no address of is not served. */
				if (!p.has_cluster_ip && !p.n_external) {
					svcport_fini(&p);
					continue;
				}
				json_array_append(out->keep, svc);
				const json_t *md = json_object_get(svc, "metadata");
				p.ns = xstrdup(str(md, "namespace"));
				p.name = xstrdup(str(md, "name"));
				*vec_push(&ports) = p;
			}
		}
	}
	out->ports = ports.v;
	out->n = ports.len;
	for (size_t k = 0; k < nk; k++)
		free(keys[k]);
	free(keys);
	json_decref(idx);
	json_decref(by_svc);
}

void proxy_model_fini(struct proxy_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		svcport_fini(&m->ports[i]);
	free(m->ports);
	json_decref(m->keep);
	memset(m, 0, sizeof(*m));
}
