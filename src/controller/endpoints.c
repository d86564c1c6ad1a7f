/* endpoints.c - the Endpoints controller's reconcile (see endpoints.h for the rules).
 *
 * The pass collects one entry per (pod, resolved port) with its address and readiness,
 * then repacks them as RepackSubsets does: entries sorted by port and address key, ports
 * whose address sets (with readiness) are identical merged into one subset. Everything is
 * sort-based, so 5,000 pods cost O(n log n) and no hash table is needed.
 */
#include "controller/endpoints.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/mem.h"
#include "base/vec.h"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* An annotation's value (keys hold dots, so api_str's dotted paths cannot reach them). */
static const char *annotation(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(api_get(obj, "metadata.annotations"), key));
}

bool ctrl__pod_in_endpoints(const json_t *pod, bool include_terminating)
{
	const char *phase = api_str(pod, "status.phase");
	const char *ip = api_str(pod, "status.podIP");
	json_t *ips = api_get(pod, "status.podIPs");

	if (str_eq(phase, "Succeeded") || str_eq(phase, "Failed"))
		return false;
	if ((!ip || !*ip) && json_array_size(ips) == 0)
		return false;
	if (!include_terminating && api_get(pod, "metadata.deletionTimestamp") &&
	    !json_is_null(api_get(pod, "metadata.deletionTimestamp")))
		return false;
	return true;
}

const char *ctrl__port_protocol(const json_t *svc_port)
{
	const char *p = api_str(svc_port, "protocol");
	return p && *p ? p : "TCP";
}

static int find_in_containers(const json_t *containers, const char *name, const char *proto,
			      bool sidecars_only)
{
	size_t i, j;
	json_t *c, *p;

	json_array_foreach(containers, i, c)
	{
		if (sidecars_only && !str_eq(api_str(c, "restartPolicy"), "Always"))
			continue;
		json_array_foreach(api_get(c, "ports"), j, p)
		{
			const char *pp = api_str(p, "protocol");
			if (str_eq(api_str(p, "name"), name) && str_eq(pp && *pp ? pp : "TCP", proto))
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	}
	return -1;
}

int ctrl__find_port(const json_t *pod, const json_t *svc_port)
{
	json_t *tp = json_object_get(svc_port, "targetPort");
	const char *proto = ctrl__port_protocol(svc_port);
	int port;

	if (json_is_string(tp)) {
		port =
		    find_in_containers(api_get(pod, "spec.containers"), json_string_value(tp), proto, false);
		if (port < 0)
			port = find_in_containers(api_get(pod, "spec.initContainers"), json_string_value(tp),
						  proto, true);
		return port;
	}
	if (json_is_integer(tp) && json_integer_value(tp) != 0)
		return (int)json_integer_value(tp);
	/* targetPort defaults to port (the API server fills it in; old objects may lack it). */
	return (int)json_integer_value(json_object_get(svc_port, "port"));
}

bool ctrl__should_set_hostname(const json_t *pod, const json_t *svc)
{
	const char *h = api_str(pod, "spec.hostname");
	return h && *h && str_eq(api_str(pod, "spec.subdomain"), api_str(svc, "metadata.name")) &&
	       str_eq(api_str(svc, "metadata.namespace"), api_str(pod, "metadata.namespace"));
}

bool ctrl__svc_ip_set(const json_t *svc)
{
	const char *ip = api_str(svc, "spec.clusterIP");
	return ip && *ip && strcmp(ip, "None") != 0;
}

static void add_ip(json_t *out, const char *s)
{
	struct ip_addr ip;
	char txt[IP_STRLEN];

	if (!s || ip_parse(s, &ip) != 0)
		return;
	json_array_append_new(out, json_string(ip_format(&ip, txt, sizeof(txt))));
}

json_t *ctrl__pod_ips(const json_t *pod)
{
	json_t *out = json_array(), *ips = api_get(pod, "status.podIPs"), *e;
	size_t i;

	if (json_array_size(ips) == 0) {
		add_ip(out, api_str(pod, "status.podIP"));
		return out;
	}
	json_array_foreach(ips, i, e) add_ip(out, api_str(e, "ip"));
	return out;
}

/* Go's strconv.ParseBool: returns 1, 0, or -1 when s is not a boolean. */
static int parse_bool(const char *s)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, t[i]) == 0)
			return 1;
		if (strcmp(s, f[i]) == 0)
			return 0;
	}
	return -1;
}

/* The primary family of the Service (podToEndpointAddressForService): 4 or 6. */
static int endpoint_family(const json_t *svc, const json_t *pod)
{
	json_t *fams = api_get(svc, "spec.ipFamilies");
	const char *f;

	if (json_array_size(fams) > 0) {
		f = json_string_value(json_array_get(fams, 0));
		return str_eq(f, "IPv6") ? 6 : 4;
	}
	if (ctrl__svc_ip_set(svc))
		return api_ip_family(api_str(svc, "spec.clusterIP")) == 6 ? 6 : 4;
	return api_ip_family(api_str(pod, "status.podIP")) == 6 ? 6 : 4;
}

/* One (port, address) pair before repacking. */
struct entry {
	int port;     /* index into ports[], -1 for "no ports" (headless without ports) */
	char *akey;   /* ip "\x01" uid: sorts like LessEndpointAddress */
	json_t *addr; /* borrowed from addrs */
	bool ready;
};

struct port {
	char *key;
	json_t *json;
};
struct port_list {
	struct port *v;
	size_t len, cap; /* base/vec.h */
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return strcmp(a->akey, b->akey);
}

static char *port_key(const json_t *p)
{
	const char *ap = api_str(p, "appProtocol");
	return xasprintf("%s\x01%05d\x01%s\x01%s%s", api_str(p, "name") ? api_str(p, "name") : "",
			 (int)json_integer_value(json_object_get(p, "port")),
			 api_str(p, "protocol") ? api_str(p, "protocol") : "", ap ? "+" : "-", ap ? ap : "");
}

/* A port entry already built: Service port sp resolved to num is ports[idx]. */
struct seen_port {
	size_t sp;
	int num;
	int idx;
};

static int port_find_or_add(struct port_list *ps, json_t *p_take)
{
	char *key = port_key(p_take);
	for (size_t i = 0; i < ps->len; i++) {
		if (strcmp(ps->v[i].key, key) == 0) {
			free(key);
			json_decref(p_take);
			return (int)i;
		}
	}
	*vec_push(ps) = (struct port){key, p_take};
	return (int)(ps->len - 1);
}

/* A subset under construction: a group of ports sharing one address set [lo, hi). */
struct group {
	VEC(int) ports;
	size_t lo, hi; /* range in the deduplicated entries of its first port */
	char *sortkey;
};

/* Orders port indices by their keys (qsort_r: the pass holds no global state). */
static int port_idx_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct port *ports = ctx;
	int a = *(const int *)pa, b = *(const int *)pb;
	if (a < 0 || b < 0)
		return a - b;
	return strcmp(ports[a].key, ports[b].key);
}

static int group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;
	return strcmp(a->sortkey, b->sortkey);
}

static bool same_set(const struct entry *e, size_t alo, size_t ahi, size_t blo, size_t bhi)
{
	if (ahi - alo != bhi - blo)
		return false;
	for (size_t i = 0; i < ahi - alo; i++) {
		if (e[alo + i].ready != e[blo + i].ready || strcmp(e[alo + i].akey, e[blo + i].akey) != 0)
			return false;
	}
	return true;
}

/* RepackSubsets over the entries; returns the subsets array (new reference). */
static json_t *repack(struct entry *e, size_t n, struct port *ports)
{
	json_t *subsets = json_array();
	VEC(struct group) groups = {0};
	size_t m = 0, i;

	if (n)
		xqsort(e, n, sizeof(*e), entry_cmp);
	/* Deduplicate (port, address); not ready trumps ready. A dropped entry's key is freed
	 * here and the slots past the kept ones cleared, so the caller frees each key once. */
	for (i = 0; i < n; i++) {
		if (m > 0 && e[m - 1].port == e[i].port && strcmp(e[m - 1].akey, e[i].akey) == 0) {
			e[m - 1].ready = e[m - 1].ready && e[i].ready;
			free(e[i].akey);
			continue;
		}
		e[m++] = e[i];
	}
	for (i = m; i < n; i++)
		e[i].akey = NULL;
	/* Group ports by identical address sets. */
	for (i = 0; i < m;) {
		size_t j = i, g;
		while (j < m && e[j].port == e[i].port)
			j++;
		for (g = 0; g < groups.len; g++) {
			if (same_set(e, groups.v[g].lo, groups.v[g].hi, i, j))
				break;
		}
		if (g == groups.len) {
			*vec_push(&groups) = (struct group){.lo = i, .hi = j};
		}
		*vec_push(&groups.v[g].ports) = e[i].port;
		i = j;
	}
	for (size_t g = 0; g < groups.len; g++) {
		struct buf b;
		buf_init(&b);
		xqsort_r(groups.v[g].ports.v, groups.v[g].ports.len, sizeof(int), port_idx_cmp, ports);
		for (size_t k = 0; k < groups.v[g].ports.len; k++)
			buf_printf(&b, "%s\x02",
				   groups.v[g].ports.v[k] < 0 ? "" : ports[groups.v[g].ports.v[k]].key);
		buf_printf(&b, "\x03%s", e[groups.v[g].lo].akey);
		groups.v[g].sortkey = buf_take(&b);
	}
	if (groups.len)
		xqsort(groups.v, groups.len, sizeof(*groups.v), group_cmp);
	for (size_t g = 0; g < groups.len; g++) {
		json_t *ss = json_object(), *ready = json_array(), *notready = json_array(),
		       *pj = json_array();
		for (size_t k = groups.v[g].lo; k < groups.v[g].hi; k++)
			json_array_append(e[k].ready ? ready : notready,
					  e[k].addr); /* shared, never changed */
		for (size_t k = 0; k < groups.v[g].ports.len; k++) {
			if (groups.v[g].ports.v[k] >= 0)
				json_array_append(pj, ports[groups.v[g].ports.v[k]].json);
		}
		if (json_array_size(ready))
			json_object_set(ss, "addresses", ready);
		if (json_array_size(notready))
			json_object_set(ss, "notReadyAddresses", notready);
		if (json_array_size(pj))
			json_object_set(ss, "ports", pj);
		json_decref(ready);
		json_decref(notready);
		json_decref(pj);
		json_array_append_new(subsets, ss);
		vec_free(&groups.v[g].ports);
		free(groups.v[g].sortkey);
	}
	vec_free(&groups);
	return subsets;
}

/* truncateEndpoints: keeps at most CTRL_ENDPOINTS_MAX addresses, ready ones first, each
 * subset its proportional share rounded up. Returns true when it truncated. */
static bool truncate_subsets(json_t *subsets)
{
	size_t total_ready = 0, total_notready = 0, i;
	json_t *ss;
	bool trunc_ready;
	long max, num_total, can_add;

	json_array_foreach(subsets, i, ss)
	{
		total_ready += json_array_size(json_object_get(ss, "addresses"));
		total_notready += json_array_size(json_object_get(ss, "notReadyAddresses"));
	}
	if (total_ready + total_notready <= CTRL_ENDPOINTS_MAX)
		return false;
	trunc_ready = total_ready > CTRL_ENDPOINTS_MAX;
	max = trunc_ready ? CTRL_ENDPOINTS_MAX : CTRL_ENDPOINTS_MAX - (long)total_ready;
	num_total = trunc_ready ? (long)total_ready : (long)total_notready;
	can_add = max;
	json_array_foreach(subsets, i, ss)
	{
		const char *field = trunc_ready ? "addresses" : "notReadyAddresses";
		json_t *list = json_object_get(ss, field);
		long in_subset = (long)json_array_size(list);
		long to_add = (long)ceil(((double)in_subset / (double)num_total) * (double)max);
		if (to_add > can_add)
			to_add = can_add;
		while (list && (long)json_array_size(list) > to_add)
			json_array_remove(list, json_array_size(list) - 1);
		if (list && json_array_size(list) == 0)
			json_object_del(ss, field);
		if (trunc_ready)
			json_object_del(ss, "notReadyAddresses");
		can_add -= list ? (long)json_array_size(list) : 0;
	}
	/* A subset left with no address at all would fail validation; drop it. */
	for (i = json_array_size(subsets); i-- > 0;) {
		ss = json_array_get(subsets, i);
		if (!json_object_get(ss, "addresses") && !json_object_get(ss, "notReadyAddresses"))
			json_array_remove(subsets, i);
	}
	return true;
}

static json_t *endpoint_labels(const json_t *svc)
{
	json_t *labels = json_object(), *sl = api_get(svc, "metadata.labels");
	if (json_is_object(sl))
		json_object_update(labels, sl);
	if (!ctrl__svc_ip_set(svc))
		json_object_set_new(labels, CTRL_LABEL_HEADLESS, json_string(""));
	else
		json_object_del(labels, CTRL_LABEL_HEADLESS);
	return labels;
}

json_t *ctrl__pod_ref(const json_t *pod)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace",
			 api_str(pod, "metadata.namespace") ?: "", "name",
			 api_str(pod, "metadata.name") ?: "", "uid", api_str(pod, "metadata.uid") ?: "");
}

static json_t *pod_address(const json_t *pod, const json_t *svc, const char *ip)
{
	json_t *a = json_object();
	const char *node = api_str(pod, "spec.nodeName");

	json_object_set_new(a, "ip", json_string(ip));
	if (ctrl__should_set_hostname(pod, svc))
		json_object_set_new(a, "hostname", json_string(api_str(pod, "spec.hostname")));
	if (node && *node)
		json_object_set_new(a, "nodeName", json_string(node));
	json_object_set_new(a, "targetRef", ctrl__pod_ref(pod));
	return a;
}

/* json_equal(a, b) for two objects, but each member the two share compares with
 * member_equal(key, va, vb); a plain json_equal when either is not an object. */
static bool object_equal_by(const json_t *a, const json_t *b,
			    bool (*member_equal)(const char *key, const json_t *va, const json_t *vb))
{
	const char *k;
	json_t *v, *w;

	if (!json_is_object(a) || !json_is_object(b))
		return json_equal(a, b);
	if (json_object_size(a) != json_object_size(b))
		return false;
	json_object_foreach((json_t *)a, k, v)
	{
		if (!(w = json_object_get(b, k)) || !member_equal(k, v, w))
			return false;
	}
	return true;
}

/* Arrays a and b (a missing one is empty) of the same length whose elements are
 * object_equal_by(member_equal). */
static bool array_equal_by(const json_t *a, const json_t *b,
			   bool (*member_equal)(const char *key, const json_t *va, const json_t *vb))
{
	size_t n = json_array_size(a);
	if (n != json_array_size(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!object_equal_by(json_array_get(a, i), json_array_get(b, i), member_equal))
			return false;
	}
	return true;
}

/* An address member: targetRef compares without its resourceVersion. */
static bool address_member_equal(const char *k, const json_t *v, const json_t *w)
{
	if (strcmp(k, "targetRef") != 0 || !json_is_object(v) || !json_is_object(w))
		return json_equal(v, w);
	size_t nv = json_object_size(v) - (json_object_get(v, "resourceVersion") ? 1 : 0);
	size_t nw = json_object_size(w) - (json_object_get(w, "resourceVersion") ? 1 : 0);
	const char *rk;
	json_t *rv, *rw;
	if (nv != nw)
		return false;
	json_object_foreach((json_t *)v, rk, rv)
	{
		if (strcmp(rk, "resourceVersion") != 0 &&
		    (!(rw = json_object_get(w, rk)) || !json_equal(rv, rw)))
			return false;
	}
	return true;
}

/* A subset member: the address lists compare address by address with address_member_equal. */
static bool subset_member_equal(const char *k, const json_t *v, const json_t *w)
{
	if ((strcmp(k, "addresses") != 0 && strcmp(k, "notReadyAddresses") != 0) || !json_is_array(v) ||
	    !json_is_array(w))
		return json_equal(v, w);
	return array_equal_by(v, w, address_member_equal);
}

/* Subsets equal ignoring targetRef.resourceVersion (semanticIgnoreResourceVersion); a
 * missing list equals an empty one. Compares in place: no copies. */
static bool subsets_equal(const json_t *a, const json_t *b)
{
	return array_equal_by(a, b, subset_member_equal);
}

static bool labels_equal(const json_t *a, const json_t *b)
{
	json_t *e = json_object();
	bool eq = json_equal(json_is_object(a) ? a : e, json_is_object(b) ? b : e);
	json_decref(e);
	return eq;
}

bool ctrl_endpoints_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return subsets_equal(json_object_get(a, "subsets"), json_object_get(b, "subsets")) &&
	       labels_equal(api_get(a, "metadata.labels"), api_get(b, "metadata.labels")) &&
	       str_eq(annotation(a, CTRL_ANN_OVER_CAPACITY), annotation(b, CTRL_ANN_OVER_CAPACITY));
}

static bool tolerate_unready(const json_t *svc)
{
	const char *v = annotation(svc, CTRL_ANN_TOLERATE_UNREADY);
	if (json_is_true(api_get(svc, "spec.publishNotReadyAddresses")))
		return true;
	return v && parse_bool(v) == 1;
}

json_t *ctrl_endpoints_desired(const json_t *svc, const json_t *pods, const json_t *current, const char *now)
{
	struct api_selector *sel;
	struct entry *ents = NULL;
	struct port_list ports = {0};
	VEC(struct seen_port) seen = {0};
	size_t nents = 0, cap = 0, i, k;
	json_t *addrs = json_array(), *pod, *sports = api_get(svc, "spec.ports"), *sp;
	json_t *subsets, *out, *labels, *ann;
	const char *ns = api_str(svc, "metadata.namespace");
	bool tolerate = tolerate_unready(svc), headless = !ctrl__svc_ip_set(svc), truncated;

	if (str_eq(api_str(svc, "spec.type"), "ExternalName") ||
	    json_object_size(api_get(svc, "spec.selector")) == 0) {
		/* An empty selector is stored as none (protobuf keeps no empty maps). */
		json_decref(addrs);
		return NULL;
	}
	sel = api_selector_from_map(api_get(svc, "spec.selector"));
	json_array_foreach(pods, i, pod)
	{
		json_t *ips, *ipv, *addr = NULL;
		const char *ip = NULL;
		int fam;
		bool ready;

		if (!str_eq(api_str(pod, "metadata.namespace"), ns) ||
		    !api_label_selector_match(sel, api_get(pod, "metadata.labels")))
			continue;
		if (!ctrl__pod_in_endpoints(pod, tolerate))
			continue;
		fam = endpoint_family(svc, pod);
		ips = ctrl__pod_ips(pod);
		json_array_foreach(ips, k, ipv)
		{
			if (api_ip_family(json_string_value(ipv)) == fam) {
				ip = json_string_value(ipv);
				break;
			}
		}
		if (ip)
			addr = pod_address(pod, svc, ip);
		json_decref(ips);
		if (!addr)
			continue; /* no IP of the Service's family: skipped, as Kubernetes logs and skips */
		json_array_append_new(addrs, addr);
		ready = tolerate || api_condition_true(pod, "Ready");
		char *akey = xasprintf("%s\x01%s", api_str(addr, "ip"), api_str(addr, "targetRef.uid"));
		if (json_array_size(sports) == 0) {
			if (!headless) {
				free(akey);
				continue;
			}
			if (nents == cap)
				ents = xrealloc(ents, (cap = cap ? 2 * cap : 64) * sizeof(*ents));
			ents[nents++] = (struct entry){-1, akey, addr, ready};
			continue;
		}
		bool used = false;
		json_array_foreach(sports, k, sp)
		{
			int pn = ctrl__find_port(pod, sp), pi = -1;
			json_t *pj;
			if (pn < 0)
				continue;
			/* Pods of one workload resolve alike: the port entry of (Service port, number)
			 * is built once. */
			for (size_t c = 0; c < seen.len && pi < 0; c++) {
				if (seen.v[c].sp == k && seen.v[c].num == pn)
					pi = seen.v[c].idx;
			}
			if (pi >= 0) {
				if (nents == cap)
					ents = xrealloc(ents, (cap = cap ? 2 * cap : 64) * sizeof(*ents));
				ents[nents++] = (struct entry){pi, used ? xstrdup(akey) : akey, addr, ready};
				used = true;
				continue;
			}
			pj = json_object();
			if (api_str(sp, "name") && *api_str(sp, "name"))
				json_object_set_new(pj, "name", json_string(api_str(sp, "name")));
			json_object_set_new(pj, "port", json_integer(pn));
			json_object_set_new(pj, "protocol", json_string(ctrl__port_protocol(sp)));
			if (api_str(sp, "appProtocol"))
				json_object_set_new(pj, "appProtocol",
						    json_string(api_str(sp, "appProtocol")));
			pi = port_find_or_add(&ports, pj);
			*vec_push(&seen) = (struct seen_port){k, pn, pi};
			if (nents == cap)
				ents = xrealloc(ents, (cap = cap ? 2 * cap : 64) * sizeof(*ents));
			ents[nents++] = (struct entry){pi, used ? xstrdup(akey) : akey, addr, ready};
			used = true;
		}
		if (!used)
			free(akey);
	}
	api_selector_free(sel);
	vec_free(&seen);

	subsets = repack(ents, nents, ports.v);
	for (i = 0; i < nents; i++)
		free(ents[i].akey);
	free(ents);
	for (i = 0; i < ports.len; i++) {
		free(ports.v[i].key);
		json_decref(ports.v[i].json);
	}
	vec_free(&ports);
	json_decref(addrs);

	truncated = truncate_subsets(subsets);
	labels = endpoint_labels(svc);

	if (current) {
		/* A copy of what is changed below (the top level, metadata and its annotations);
		 * the rest is shared with current and never written. */
		json_t *md, *a;
		out = json_copy((json_t *)current);
		if (json_is_object(md = json_object_get(out, "metadata"))) {
			md = json_copy(md);
			json_object_set_new(out, "metadata", md);
			if (json_is_object(a = json_object_get(md, "annotations")))
				json_object_set_new(md, "annotations", json_copy(a));
		}
	} else {
		out = json_object();
		json_object_set_new(out, "apiVersion", json_string("v1"));
		json_object_set_new(out, "kind", json_string("Endpoints"));
		json_t *md = api_obj(out, "metadata");
		json_object_set_new(md, "name", json_string(api_str(svc, "metadata.name") ?: ""));
		if (ns)
			json_object_set_new(md, "namespace", json_string(ns));
	}
	bool unchanged = current && subsets_equal(json_object_get(current, "subsets"), subsets) &&
			 labels_equal(api_get(current, "metadata.labels"), labels) &&
			 str_eq(annotation(current, CTRL_ANN_OVER_CAPACITY), truncated ? "truncated" : NULL);
	if (json_array_size(subsets))
		json_object_set(out, "subsets", subsets);
	else
		json_object_del(out, "subsets");
	json_decref(subsets);
	json_object_set_new(api_obj(out, "metadata"), "labels", labels);
	if (unchanged)
		return out;
	ann = api_obj(api_obj(out, "metadata"), "annotations");
	if (now)
		json_object_set_new(ann, CTRL_ANN_TRIGGER_TIME, json_string(now));
	else
		json_object_del(ann, CTRL_ANN_TRIGGER_TIME);
	if (truncated)
		json_object_set_new(ann, CTRL_ANN_OVER_CAPACITY, json_string("truncated"));
	else
		json_object_del(ann, CTRL_ANN_OVER_CAPACITY);
	if (json_object_size(ann) == 0)
		json_object_del(api_obj(out, "metadata"), "annotations");
	return out;
}
