/* slices.c - the EndpointSlice controller's reconcile (see slices.h for the rules).
 *
 * Desired endpoints of one port group sit in an array sorted by identity, looked up with
 * bsearch and marked taken once placed, so the pass costs O(n log n) for n endpoints and
 * touches the JSON of unchanged slices only to read it. A desired endpoint is its identity
 * and borrowed pointers to its pod and node; its JSON is built only when it goes into a
 * slice being written, so a one-pod change on a 5,000-endpoint Service builds one slice's
 * worth. A slice that changes is copied first (slice_copy: what the plan changes is
 * copied, the rest shared): the caller's existing objects are never modified.
 */
#include "controller/slices.h"

#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"
#include "controller/endpoints.h"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Joins the sorted strings with a separator; frees nothing. */
static char *join_sorted(char **v, size_t n, char sep)
{
	struct buf b;
	buf_init(&b);
	xqsort(v, n, sizeof(*v), strp_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, v[i]);
		buf_putc(&b, sep);
	}
	if (!b.data)
		buf_puts(&b, "");
	return buf_take(&b);
}

/* Appends the key of an endpoint with these addresses (sorted here), hostname (NULL:
 * none) and targetRef namespace/name to b, NUL-terminated. */
static void ep_key_put(struct buf *b, const char **addrs, size_t n, const char *h, const char *ns,
		       const char *name)
{
	if (n > 1)
		xqsort(addrs, n, sizeof(*addrs), strp_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, addrs[i]);
		buf_putc(b, ',');
	}
	buf_putc(b, '|');
	buf_puts(b, h ? "+" : "-");
	buf_puts(b, h ? h : "");
	buf_putc(b, '|');
	buf_puts(b, ns);
	buf_putc(b, '/');
	buf_puts(b, name);
	buf_putc(b, 0);
}

/* ctrl__ep_key into b (reset first); returns b's text. */
static const char *ep_key_buf(const json_t *ep, struct buf *b)
{
	json_t *addrs = json_object_get(ep, "addresses"), *a;
	size_t n = json_array_size(addrs), i;
	const char *small[4], **v = n <= 4 ? small : xcalloc(n, sizeof(*v));

	json_array_foreach(addrs, i, a) v[i] = json_string_value(a) ? json_string_value(a) : "";
	buf_reset(b);
	ep_key_put(b, v, n, api_str(ep, "hostname"), api_str(ep, "targetRef.namespace") ?: "",
		   api_str(ep, "targetRef.name") ?: "");
	if (v != small)
		free(v);
	return b->data;
}

char *ctrl__ep_key(const json_t *ep)
{
	struct buf b;
	buf_init(&b);
	ep_key_buf(ep, &b);
	return buf_take(&b);
}

static bool json_opt_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b);
}

/* json_equal(a, b) with key skip left out of both objects (a and b objects). */
static bool equal_except(const json_t *a, const json_t *b, const char *skip)
{
	const char *k;
	json_t *v;
	size_t na = json_object_size(a) - (json_object_get(a, skip) ? 1 : 0);
	size_t nb = json_object_size(b) - (json_object_get(b, skip) ? 1 : 0);
	if (na != nb)
		return false;
	json_object_foreach((json_t *)a, k, v)
	{
		json_t *w;
		if (strcmp(k, skip) == 0)
			continue;
		if (!(w = json_object_get(b, k)) || !json_equal(v, w))
			return false;
	}
	return true;
}

bool ctrl__ep_equal_beyond_hash(const json_t *a, const json_t *b)
{
	static const char *const conds[] = {"ready", "serving", "terminating"};
	json_t *ca = json_object_get(a, "conditions"), *cb = json_object_get(b, "conditions");
	json_t *ra = json_object_get(a, "targetRef"), *rb = json_object_get(b, "targetRef");

	if (!json_opt_equal(json_object_get(a, "nodeName"), json_object_get(b, "nodeName")) ||
	    !json_opt_equal(json_object_get(a, "zone"), json_object_get(b, "zone")))
		return false;
	for (int i = 0; i < 3; i++) {
		if (!json_opt_equal(json_object_get(ca, conds[i]), json_object_get(cb, conds[i])))
			return false;
	}
	if (!ra || !rb)
		return ra == rb;
	if (!json_is_object(ra) || !json_is_object(rb))
		return json_equal(ra, rb);
	return equal_except(ra, rb, "resourceVersion");
}

static char *one_port_key(const json_t *p)
{
	json_t *name = json_object_get(p, "name"), *proto = json_object_get(p, "protocol");
	json_t *port = json_object_get(p, "port"), *ap = json_object_get(p, "appProtocol");
	return xasprintf("%s%s\x01%s%s\x01%lld\x01%s%s", name ? "+" : "-", json_string_value(name) ?: "",
			 proto ? "+" : "-", json_string_value(proto) ?: "",
			 port ? (long long)json_integer_value(port) : -1LL, ap ? "+" : "-",
			 json_string_value(ap) ?: "");
}

char *ctrl__ports_key(const json_t *ports)
{
	size_t n = json_array_size(ports), i;
	char **v = xcalloc(n ? n : 1, sizeof(*v));
	json_t *p;
	char *key;

	json_array_foreach(ports, i, p) v[i] = one_port_key(p);
	key = join_sorted(v, n, '\x02');
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return key;
}

/* --- desired state ------------------------------------------------------------------ */

/* A desired endpoint: its identity, computed up front, and its JSON, built only when the
 * endpoint goes into a slice that is written (most of a large Service's endpoints sit in
 * slices that stay as they are, and are only compared). */
struct dep {
	char *key;
	const json_t *pod;  /* borrowed from pods */
	const json_t *node; /* borrowed from nodes, or NULL */
	json_t *ep;	    /* NULL until dep_ep() */
	bool taken;
	bool ready, serving, terminating; /* what dep_equal compares, read from the pod once */
};

struct group {
	char *pkey;
	json_t *ports; /* the port list for new slices */
	struct dep *deps;
	size_t n, cap;
	size_t remaining, cursor;
	const json_t *svc; /* what dep_ep() builds endpoints for */
	int fam;
};

struct desired {
	VEC(struct group) g;
};

static struct group *group_get(struct desired *d, json_t *ports_take, const json_t *svc, int fam)
{
	char *key = ctrl__ports_key(ports_take);
	for (size_t i = 0; i < d->g.len; i++) {
		if (strcmp(d->g.v[i].pkey, key) == 0) {
			free(key);
			json_decref(ports_take);
			return &d->g.v[i];
		}
	}
	*vec_push(&d->g) = (struct group){.pkey = key, .ports = ports_take, .svc = svc, .fam = fam};
	return &d->g.v[d->g.len - 1];
}

static int dep_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dep *)a)->key, ((const struct dep *)b)->key);
}

static struct dep *group_find(struct group *g, const char *key)
{
	struct dep k = {.key = (char *)key};
	struct dep *d = g->n ? bsearch(&k, g->deps, g->n, sizeof(*g->deps), dep_cmp) : NULL;
	return d && !d->taken ? d : NULL;
}

static json_t *pod_to_endpoint(const json_t *pod, const json_t *node, const json_t *svc, int fam);

/* The endpoint's JSON (borrowed from the group), built on first use. */
static json_t *dep_ep(const struct group *g, struct dep *d)
{
	if (!d->ep)
		d->ep = pod_to_endpoint(d->pod, d->node, g->svc, g->fam);
	return d->ep;
}

static json_t *group_pop(struct group *g)
{
	while (g->cursor < g->n && g->deps[g->cursor].taken)
		g->cursor++;
	if (g->cursor >= g->n)
		return NULL;
	g->deps[g->cursor].taken = true;
	g->remaining--;
	return dep_ep(g, &g->deps[g->cursor]);
}

static void desired_free(struct desired *d)
{
	for (size_t i = 0; i < d->g.len; i++) {
		for (size_t j = 0; j < d->g.v[i].n; j++) {
			free(d->g.v[i].deps[j].key);
			json_decref(d->g.v[i].deps[j].ep);
		}
		free(d->g.v[i].deps);
		free(d->g.v[i].pkey);
		json_decref(d->g.v[i].ports);
	}
	vec_free(&d->g);
}

static json_t *endpoint_ports(const json_t *svc, const json_t *pod)
{
	json_t *out = json_array(), *sp;
	json_t *sports = api_get(svc, "spec.ports");
	size_t i;

	json_array_foreach(sports, i, sp)
	{
		int pn = ctrl__find_port(pod, sp);
		json_t *p;
		if (pn < 0)
			continue;
		p = json_object();
		json_object_set_new(p, "name", json_string(api_str(sp, "name") ?: ""));
		json_object_set_new(p, "protocol", json_string(ctrl__port_protocol(sp)));
		json_object_set_new(p, "port", json_integer(pn));
		if (api_str(sp, "appProtocol"))
			json_object_set_new(p, "appProtocol", json_string(api_str(sp, "appProtocol")));
		json_array_append_new(out, p);
	}
	return out;
}

static bool has_deletion(const json_t *obj)
{
	json_t *t = api_get(obj, "metadata.deletionTimestamp");
	return t && !json_is_null(t);
}

/* The endpoint's conditions, as pod_to_endpoint sets them. */
static void pod_conditions(const json_t *pod, const json_t *svc, bool *ready, bool *serving,
			   bool *terminating)
{
	*serving = api_condition_true(pod, "Ready");
	*terminating = has_deletion(pod);
	*ready = json_is_true(api_get(svc, "spec.publishNotReadyAddresses")) || (*serving && !*terminating);
}

static const char *node_zone(const json_t *node)
{
	return node ? json_string_value(json_object_get(api_get(node, "metadata.labels"), CTRL_LABEL_ZONE))
		    : NULL;
}

static json_t *pod_to_endpoint(const json_t *pod, const json_t *node, const json_t *svc, int fam)
{
	json_t *ep = json_object(), *addrs = json_array(), *conds = json_object();
	json_t *ips = ctrl__pod_ips(pod), *ip;
	bool serving, terminating, ready;
	const char *node_name = api_str(pod, "spec.nodeName");
	const char *zone = node_zone(node);
	size_t i;

	pod_conditions(pod, svc, &ready, &serving, &terminating);
	json_array_foreach(ips, i, ip)
	{
		if (api_ip_family(json_string_value(ip)) == fam)
			json_array_append(addrs, ip);
	}
	json_decref(ips);
	json_object_set_new(ep, "addresses", addrs);
	json_object_set_new(conds, "ready", json_boolean(ready));
	json_object_set_new(conds, "serving", json_boolean(serving));
	json_object_set_new(conds, "terminating", json_boolean(terminating));
	json_object_set_new(ep, "conditions", conds);
	if (ctrl__should_set_hostname(pod, svc))
		json_object_set_new(ep, "hostname", json_string(api_str(pod, "spec.hostname")));
	if (node_name && *node_name)
		json_object_set_new(ep, "nodeName", json_string(node_name));
	if (zone && *zone)
		json_object_set_new(ep, "zone", json_string(zone));
	json_object_set_new(ep, "targetRef", ctrl__pod_ref(pod));
	return ep;
}

/* ctrl__ep_key(pod_to_endpoint(pod, ...)) without building the endpoint; NULL when the
 * pod has no address of the family (it gets no endpoint). */
static char *pod_ep_key(const json_t *pod, const json_t *svc, int fam)
{
	json_t *ips = ctrl__pod_ips(pod), *ip;
	size_t n = json_array_size(ips), m = 0, i;
	const char *small[4], **v = n <= 4 ? small : xcalloc(n, sizeof(*v));
	char *key = NULL;

	json_array_foreach(ips, i, ip)
	{
		if (api_ip_family(json_string_value(ip)) == fam)
			v[m++] = json_string_value(ip);
	}
	if (m > 0) {
		struct buf b;
		buf_init(&b);
		ep_key_put(&b, v, m,
			   ctrl__should_set_hostname(pod, svc) ? api_str(pod, "spec.hostname") : NULL,
			   api_str(pod, "metadata.namespace") ?: "", api_str(pod, "metadata.name") ?: "");
		key = buf_take(&b);
	}
	if (v != small)
		free(v);
	json_decref(ips);
	return key;
}

/* The string member field of ep is want (absent when want is NULL or ""). */
static bool str_member_is(const json_t *ep, const char *field, const char *want)
{
	json_t *v = json_object_get(ep, field);
	if (!want || !*want)
		return !v;
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	       strcmp(json_string_value(v), want) == 0;
}

static bool bool_member_is(const json_t *obj, const char *field, bool want)
{
	json_t *v = json_object_get(obj, field);
	return want ? json_is_true(v) : json_is_false(v);
}

/* ctrl__ep_equal_beyond_hash(dep_ep(g, d), ep), without building the endpoint. */
static bool dep_equal(const struct group *g, const struct dep *d, const json_t *ep)
{
	const json_t *pod = d->pod, *conds = json_object_get(ep, "conditions"),
		     *ref = json_object_get(ep, "targetRef");

	if (d->ep)
		return ctrl__ep_equal_beyond_hash(d->ep, ep);
	if (!bool_member_is(conds, "ready", d->ready) || !bool_member_is(conds, "serving", d->serving) ||
	    !bool_member_is(conds, "terminating", d->terminating) ||
	    !str_member_is(ep, "nodeName", api_str(pod, "spec.nodeName")) ||
	    !str_member_is(ep, "zone", node_zone(d->node)))
		return false;
	/* targetRef less its resourceVersion is exactly {kind, namespace, name, uid}. */
	if (!json_is_object(ref) ||
	    json_object_size(ref) - (json_object_get(ref, "resourceVersion") ? 1 : 0) != 4)
		return false;
	return str_member_is(ref, "kind", "Pod") &&
	       str_member_is(ref, "namespace", api_str(pod, "metadata.namespace") ?: "") &&
	       str_member_is(ref, "name", api_str(pod, "metadata.name") ?: "") &&
	       str_member_is(ref, "uid", api_str(pod, "metadata.uid") ?: "");
}

/* A pod's resolved Service ports, one number per Service port (-1: unresolved), and the
 * group that list leads to: pods of one workload resolve alike, so the port list JSON and
 * its key are built once per distinct list, not once per pod. */
struct resolved {
	int *nums;
	size_t group;
};

static void build_desired(const json_t *svc, const json_t *pods, const json_t *nodes, int fam,
			  struct desired *d)
{
	struct api_selector *sel = api_selector_from_map(api_get(svc, "spec.selector"));
	const char *ns = api_str(svc, "metadata.namespace");
	bool pna = json_is_true(api_get(svc, "spec.publishNotReadyAddresses"));
	json_t *sports = api_get(svc, "spec.ports"), *sp, *pod, *node_by_name = json_object(), *n;
	size_t nsp = json_array_size(sports), i, k;
	VEC(struct resolved) res = {0};
	int *nums = xcalloc(nsp ? nsp : 1, sizeof(*nums));

	/* Nodes by name; the first of a duplicated name wins, as a linear search would. */
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		if (name && *name && !json_object_get(node_by_name, name))
			json_object_set(node_by_name, name, n);
	}
	json_array_foreach(pods, i, pod)
	{
		struct group *g = NULL;
		const json_t *node = NULL;
		char *key;

		if (!str_eq(api_str(pod, "metadata.namespace"), ns) ||
		    !api_label_selector_match(sel, api_get(pod, "metadata.labels")) ||
		    !ctrl__pod_in_endpoints(pod, true))
			continue;
		/* The group exists even if the pod is then left out, as in Kubernetes. */
		json_array_foreach(sports, k, sp) nums[k] = ctrl__find_port(pod, sp);
		for (k = 0; k < res.len && !g; k++) {
			if (memcmp(res.v[k].nums, nums, nsp * sizeof(*nums)) == 0)
				g = &d->g.v[res.v[k].group];
		}
		if (!g) {
			g = group_get(d, endpoint_ports(svc, pod), svc, fam);
			struct resolved *r = vec_push(&res);
			r->nums = xmalloc(nsp ? nsp * sizeof(*nums) : 1);
			memcpy(r->nums, nums, nsp * sizeof(*nums));
			r->group = (size_t)(g - d->g.v);
		}
		if (nodes) {
			const char *nn = api_str(pod, "spec.nodeName");
			node = nn && *nn ? json_object_get(node_by_name, nn) : NULL;
			if (!node && !pna)
				continue;
		}
		if (!(key = pod_ep_key(pod, svc, fam)))
			continue;
		if (g->n == g->cap)
			g->deps = xrealloc(g->deps, (g->cap = g->cap ? 2 * g->cap : 64) * sizeof(*g->deps));
		g->deps[g->n] = (struct dep){key, pod, node, NULL, false};
		pod_conditions(pod, svc, &g->deps[g->n].ready, &g->deps[g->n].serving,
			       &g->deps[g->n].terminating);
		g->n++;
	}
	api_selector_free(sel);
	for (k = 0; k < res.len; k++)
		free(res.v[k].nums);
	vec_free(&res);
	free(nums);
	json_decref(node_by_name);
	for (i = 0; i < d->g.len; i++) {
		struct group *g = &d->g.v[i];
		size_t m = 0;
		if (g->n)
			xqsort(g->deps, g->n, sizeof(*g->deps), dep_cmp);
		for (size_t j = 0; j < g->n; j++) { /* one endpoint per identity */
			if (m > 0 && strcmp(g->deps[m - 1].key, g->deps[j].key) == 0) {
				free(g->deps[j].key);
				continue;
			}
			g->deps[m++] = g->deps[j];
		}
		g->n = g->remaining = m;
	}
}

/* --- slices ------------------------------------------------------------------------- */

static bool reserved_label(const char *k)
{
	return strcmp(k, CTRL_LABEL_SERVICE_NAME) == 0 || strcmp(k, CTRL_LABEL_MANAGED_BY) == 0 ||
	       strcmp(k, CTRL_LABEL_HEADLESS) == 0;
}

static json_t *unreserved(const json_t *labels)
{
	json_t *out = json_object(), *v;
	const char *k;
	json_object_foreach((json_t *)labels, k, v)
	{
		if (!reserved_label(k))
			json_object_set(out, k, v);
	}
	return out;
}

/* setEndpointSliceLabels: the labels the slice must carry; *changed when the slice's
 * non-reserved labels differ from the Service's (a headless flip alone is no change). */
static json_t *slice_labels(const json_t *slice, const json_t *svc, bool *changed)
{
	json_t *have = unreserved(api_get(slice, "metadata.labels"));
	json_t *want = unreserved(api_get(svc, "metadata.labels"));

	if (changed)
		*changed = !json_equal(have, want);
	json_decref(have);
	if (!ctrl__svc_ip_set(svc))
		json_object_set_new(want, CTRL_LABEL_HEADLESS, json_string(""));
	json_object_set_new(want, CTRL_LABEL_SERVICE_NAME, json_string(api_str(svc, "metadata.name") ?: ""));
	json_object_set_new(want, CTRL_LABEL_MANAGED_BY, json_string(CTRL_SLICE_CONTROLLER));
	return want;
}

static bool owned_by(const json_t *slice, const json_t *svc)
{
	json_t *refs = api_get(slice, "metadata.ownerReferences"), *r;
	size_t i;
	json_array_foreach(refs, i, r)
	{
		if (str_eq(api_str(r, "uid"), api_str(svc, "metadata.uid")) &&
		    str_eq(api_str(r, "kind"), "Service") && str_eq(api_str(r, "apiVersion"), "v1"))
			return true;
	}
	return false;
}

static json_t *new_slice(const json_t *svc, const json_t *ports, const char *addr_type)
{
	json_t *s = json_object(), *md = json_object(), *refs = json_array(), *ref = json_object();

	json_object_set_new(s, "apiVersion", json_string("discovery.k8s.io/v1"));
	json_object_set_new(s, "kind", json_string("EndpointSlice"));
	{
		char *gn = xasprintf("%s-", api_str(svc, "metadata.name") ?: "");
		json_object_set_new(md, "generateName", json_string(gn));
		free(gn);
	}
	if (api_str(svc, "metadata.namespace"))
		json_object_set_new(md, "namespace", json_string(api_str(svc, "metadata.namespace")));
	json_object_set_new(md, "labels", slice_labels(NULL, svc, NULL));
	json_object_set_new(ref, "apiVersion", json_string("v1"));
	json_object_set_new(ref, "kind", json_string("Service"));
	json_object_set_new(ref, "name", json_string(api_str(svc, "metadata.name") ?: ""));
	json_object_set_new(ref, "uid", json_string(api_str(svc, "metadata.uid") ?: ""));
	json_object_set_new(ref, "controller", json_true());
	json_object_set_new(ref, "blockOwnerDeletion", json_true());
	json_array_append_new(refs, ref);
	json_object_set_new(md, "ownerReferences", refs);
	json_object_set_new(s, "metadata", md);
	json_object_set_new(s, "addressType", json_string(addr_type));
	json_object_set_new(s, "endpoints", json_array());
	json_object_set_new(s, "ports", json_deep_copy(ports));
	return s;
}

enum { ES_UNCHANGED, ES_UPDATE, ES_DELETE };

struct eslice {
	const json_t *orig;
	json_t *work; /* a deep copy once it changes */
	int state;
	size_t idx; /* position in existing, to keep the order stable */
};

static size_t ep_count(const struct eslice *s)
{
	return json_array_size(json_object_get(s->work ? s->work : s->orig, "endpoints"));
}

static int by_len_desc(const void *pa, const void *pb)
{
	const struct eslice *a = *(struct eslice *const *)pa, *b = *(struct eslice *const *)pb;
	size_t la = ep_count(a), lb = ep_count(b);
	if (la != lb)
		return la > lb ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* A copy of an existing slice that may be changed without touching the original: the
 * members a plan changes (metadata, its annotations, the endpoint list) are copied, the
 * rest (endpoint objects, ports, owner references) is shared and never written. */
static json_t *slice_copy(const json_t *orig)
{
	json_t *s = json_copy((json_t *)orig), *md = json_object_get(s, "metadata"), *v;
	if (json_is_object(md)) {
		md = json_copy(md);
		json_object_set_new(s, "metadata", md);
		if (json_is_object(v = json_object_get(md, "annotations")))
			json_object_set_new(md, "annotations", json_copy(v));
	}
	if (json_is_array(v = json_object_get(s, "endpoints")))
		json_object_set_new(s, "endpoints", json_copy(v));
	return s;
}

static void fill(json_t *slice, struct group *g, size_t max)
{
	json_t *eps = json_object_get(slice, "endpoints"), *ep;
	while (g->remaining > 0 && json_array_size(eps) < max && (ep = group_pop(g)))
		json_array_append(eps, ep);
}

/* reconcileByPortMapping for one group against its existing slices. */
static void by_port_mapping(const json_t *svc, struct group *g, struct eslice *es, size_t nes,
			    const char *addr_type, size_t max, json_t *creates, json_t *updates,
			    json_t *deletes)
{
	struct eslice **upd = xcalloc(nes ? nes : 1, sizeof(*upd));
	size_t nupd = 0, i;
	struct buf kb; /* one key buffer for every existing endpoint */

	buf_init(&kb);

	/* 1. Keep the endpoints still desired; note slices that lost or changed some. Only
	 * the identities are compared: a slice that keeps all its endpoints, unchanged, is
	 * never copied and builds no JSON. */
	for (i = 0; i < nes; i++) {
		json_t *old = json_object_get(es[i].orig, "endpoints"), *ep, *labels;
		size_t nold = json_array_size(old), nkept = 0, j;
		struct dep **kept = xcalloc(nold ? nold : 1, sizeof(*kept));
		bool updated = false, labels_changed;

		json_array_foreach(old, j, ep)
		{
			struct dep *d = group_find(g, ep_key_buf(ep, &kb));
			if (!d)
				continue;
			kept[nkept++] = d;
			if (!dep_equal(g, d, ep))
				updated = true;
			d->taken = true;
			g->remaining--;
		}
		labels = slice_labels(es[i].orig, svc, &labels_changed);
		if (updated || nold != nkept) {
			if (nkept == 0) {
				es[i].state = ES_DELETE;
			} else {
				json_t *keep = json_array();
				for (j = 0; j < nkept; j++)
					json_array_append(keep, dep_ep(g, kept[j]));
				es[i].work = slice_copy(es[i].orig);
				json_object_set_new(es[i].work, "endpoints", keep);
				json_object_set(api_obj(es[i].work, "metadata"), "labels", labels);
				es[i].state = ES_UPDATE;
			}
		} else if (labels_changed) {
			es[i].work = slice_copy(es[i].orig);
			json_object_set(api_obj(es[i].work, "metadata"), "labels", labels);
			es[i].state = ES_UPDATE;
		}
		free(kept);
		json_decref(labels);
		if (es[i].state == ES_UPDATE)
			upd[nupd++] = &es[i];
	}

	buf_fini(&kb);

	/* 2. Fill the slices being updated anyway, fullest first. */
	if (g->remaining > 0 && nupd > 0) {
		xqsort(upd, nupd, sizeof(*upd), by_len_desc);
		for (i = 0; i < nupd; i++)
			fill(upd[i]->work, g, max);
	}

	/* 3. Then the unchanged slice that ends closest to full, then new slices. */
	while (g->remaining > 0) {
		struct eslice *best = NULL;
		json_t *s;
		if (g->remaining < max) {
			size_t closest = max;
			for (i = 0; i < nes; i++) {
				size_t len = ep_count(&es[i]);
				if (es[i].state != ES_UNCHANGED || len + g->remaining > max)
					continue;
				if (max - (len + g->remaining) < closest) {
					closest = max - (len + g->remaining);
					best = &es[i];
					if (closest == 0)
						break;
				}
			}
		}
		if (best) {
			best->work = slice_copy(best->orig);
			best->state = ES_UPDATE;
			fill(best->work, g, max);
			continue;
		}
		s = new_slice(svc, g->ports, addr_type);
		fill(s, g, max);
		json_array_append_new(creates, s);
	}

	for (i = 0; i < nes; i++) {
		if (es[i].state == ES_UPDATE)
			json_array_append(updates, es[i].work);
		else if (es[i].state == ES_DELETE)
			json_array_append(deletes, (json_t *)es[i].orig);
	}
	free(upd);
}

/* placeholderSliceCompare: namespace, labels, ownerReferences, type, no endpoints/ports. */
static bool same_placeholder(const json_t *a, const json_t *b)
{
	return str_eq(api_str(a, "metadata.namespace"), api_str(b, "metadata.namespace")) &&
	       json_opt_equal(api_get(a, "metadata.labels"), api_get(b, "metadata.labels")) &&
	       json_opt_equal(api_get(a, "metadata.ownerReferences"),
			      api_get(b, "metadata.ownerReferences")) &&
	       str_eq(api_str(a, "addressType"), api_str(b, "addressType")) &&
	       json_array_size(json_object_get(a, "endpoints")) == 0 &&
	       json_array_size(json_object_get(b, "endpoints")) == 0 &&
	       json_array_size(json_object_get(a, "ports")) == 0 &&
	       json_array_size(json_object_get(b, "ports")) == 0;
}

static void set_trigger(json_t *slice, const char *now)
{
	json_t *md = api_obj(slice, "metadata"), *ann = api_obj(md, "annotations");
	if (now)
		json_object_set_new(ann, CTRL_ANN_TRIGGER_TIME, json_string(now));
	else
		json_object_del(ann, CTRL_ANN_TRIGGER_TIME);
	if (json_object_size(ann) == 0)
		json_object_del(md, "annotations");
}

static void by_address_type(const json_t *svc, const json_t *pods, const json_t *nodes, json_t *existing,
			    const char *addr_type, size_t max, const char *now, struct ctrl_slice_plan *out)
{
	struct desired d = {0};
	json_t *creates = json_array(), *updates = json_array(), *deletes = json_array(), *s;
	size_t nexisting = json_array_size(existing), i, gi;
	struct eslice *es = xcalloc(nexisting ? nexisting : 1, sizeof(*es));
	char **keys = xcalloc(nexisting ? nexisting : 1, sizeof(*keys));
	bool *grouped = xcalloc(nexisting ? nexisting : 1, sizeof(*grouped));

	build_desired(svc, pods, nodes, strcmp(addr_type, "IPv6") == 0 ? 6 : 4, &d);

	json_array_foreach(existing, i, s)
	{
		if (!owned_by(s, svc)) {
			json_array_append(deletes, s);
			grouped[i] = true;
			continue;
		}
		keys[i] = ctrl__ports_key(json_object_get(s, "ports"));
	}
	for (gi = 0; gi < d.g.len; gi++) {
		size_t nes = 0;
		for (i = 0; i < nexisting; i++) {
			if (!grouped[i] && strcmp(keys[i], d.g.v[gi].pkey) == 0) {
				es[nes++] =
				    (struct eslice){json_array_get(existing, i), NULL, ES_UNCHANGED, i};
				grouped[i] = true;
			}
		}
		by_port_mapping(svc, &d.g.v[gi], es, nes, addr_type, max, creates, updates, deletes);
		for (i = 0; i < nes; i++)
			json_decref(es[i].work);
	}
	/* Port groups no longer desired. */
	for (i = 0; i < nexisting; i++) {
		if (!grouped[i])
			json_array_append(deletes, json_array_get(existing, i));
	}

	/* A placeholder when no slice would be left. */
	if (nexisting == json_array_size(deletes) && json_array_size(creates) == 0) {
		json_t *empty = json_array();
		json_t *ph = new_slice(svc, empty, addr_type);
		json_decref(empty);
		if (json_array_size(deletes) == 1 && same_placeholder(json_array_get(deletes, 0), ph)) {
			json_array_clear(deletes);
			json_decref(ph);
		} else {
			json_array_append_new(creates, ph);
		}
	}

	/* finalize: turn creates into updates of slices that would be deleted. */
	for (i = 0; i < json_array_size(deletes);) {
		json_t *del = json_array_get(deletes, i), *c;
		size_t nc = json_array_size(creates);
		if (nc == 0)
			break;
		c = json_array_get(creates, nc - 1);
		if (str_eq(api_str(del, "addressType"), addr_type) && owned_by(del, svc)) {
			json_t *md = api_obj(c, "metadata");
			json_object_del(md, "generateName");
			json_object_set_new(md, "name", json_string(api_str(del, "metadata.name") ?: ""));
			if (api_str(del, "metadata.resourceVersion"))
				json_object_set_new(md, "resourceVersion",
						    json_string(api_str(del, "metadata.resourceVersion")));
			json_array_append(updates, c);
			json_array_remove(creates, nc - 1);
			json_array_remove(deletes, i);
		} else {
			i++;
		}
	}

	/* No new slices for a Service being deleted (the garbage collector is at work). */
	if (!has_deletion(svc)) {
		json_array_foreach(creates, i, s)
		{
			set_trigger(s, now);
			json_array_append(out->create, s);
		}
	}
	json_array_foreach(updates, i, s)
	{
		set_trigger(s, now);
		json_array_append(out->update, s);
	}
	json_array_foreach(deletes, i, s) json_array_append(out->del, s);

	for (i = 0; i < nexisting; i++)
		free(keys[i]);
	free(keys);
	free(grouped);
	free(es);
	json_decref(creates);
	json_decref(updates);
	json_decref(deletes);
	desired_free(&d);
}

void ctrl_slices_reconcile(const json_t *svc, const json_t *pods, const json_t *nodes, const json_t *existing,
			   int max_per_slice, const char *now, struct ctrl_slice_plan *out)
{
	bool want4 = false, want6 = false;
	json_t *fams = api_get(svc, "spec.ipFamilies"), *f, *s;
	json_t *by4 = json_array(), *by6 = json_array();
	size_t i, max = max_per_slice <= 0 ? CTRL_SLICE_MAX_DEFAULT : (size_t)max_per_slice;
	const char *first = "IPv4";

	if (max > CTRL_SLICE_MAX_LIMIT)
		max = CTRL_SLICE_MAX_LIMIT;
	out->create = json_array();
	out->update = json_array();
	out->del = json_array();
	if (str_eq(api_str(svc, "spec.type"), "ExternalName") ||
	    json_object_size(api_get(svc, "spec.selector")) == 0)
		goto done;

	/* getAddressTypesForService */
	json_array_foreach(fams, i, f)
	{
		if (str_eq(json_string_value(f), "IPv4"))
			want4 = true;
		else if (str_eq(json_string_value(f), "IPv6"))
			want6 = true;
		if (i == 0 && str_eq(json_string_value(f), "IPv6"))
			first = "IPv6";
	}
	if (!want4 && !want6) {
		if (ctrl__svc_ip_set(svc)) {
			if (api_ip_family(api_str(svc, "spec.clusterIP")) == 6)
				want6 = true, first = "IPv6";
			else
				want4 = true;
		} else {
			want4 = want6 = true;
		}
	}

	json_array_foreach(existing, i, s)
	{
		const char *t = api_str(s, "addressType");
		if (str_eq(t, "IPv4") && want4)
			json_array_append(by4, s);
		else if (str_eq(t, "IPv6") && want6)
			json_array_append(by6, s);
		else
			json_array_append(out->del, s);
	}
	for (int k = 0; k < 2; k++) {
		bool v6 = (k == 0) == (strcmp(first, "IPv6") == 0);
		if (v6 ? want6 : want4)
			by_address_type(svc, pods, nodes, v6 ? by6 : by4, v6 ? "IPv6" : "IPv4", max, now,
					out);
	}
done:
	json_decref(by4);
	json_decref(by6);
}

void ctrl_slice_plan_fini(struct ctrl_slice_plan *plan)
{
	json_decref(plan->create);
	json_decref(plan->update);
	json_decref(plan->del);
	plan->create = plan->update = plan->del = NULL;
}
