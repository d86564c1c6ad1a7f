/* mirror.c - EndpointSlice mirroring (see mirror.h for the rules).
 *
 * Desired endpoints are collected per (address type, port set) key into arrays sorted by
 * endpoint identity; a later address with the same identity replaces an earlier one, as
 * inserting into Kubernetes' EndpointSet does.
 */
#include "controller/mirror.h"

#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/cidr.h"
#include "base/mem.h"
#include "base/vec.h"
#include "controller/endpoints.h"

#define ANN_LEADER "control-plane.alpha.kubernetes.io/leader"
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

struct mep {
	char *key;
	json_t *ep;
	size_t seq;
};

struct mgroup {
	char *key; /* address type "|" ports key */
	const char *type;
	json_t *ports;
	struct mep *eps;
	size_t n, cap;
};

struct mdesired {
	VEC(struct mgroup) g;
};

static struct mgroup *mgroup_get(struct mdesired *d, const char *type, const json_t *ports)
{
	char *pk = ctrl__ports_key(ports);
	char *key = xasprintf("%s|%s", type, pk);
	free(pk);
	for (size_t i = 0; i < d->g.len; i++) {
		if (strcmp(d->g.v[i].key, key) == 0) {
			free(key);
			return &d->g.v[i];
		}
	}
	*vec_push(&d->g) = (struct mgroup){.key = key, .type = type, .ports = json_deep_copy(ports)};
	return &d->g.v[d->g.len - 1];
}

static int mep_cmp(const void *pa, const void *pb)
{
	const struct mep *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static json_t *eps_ports(const json_t *subset_ports)
{
	json_t *out = json_array(), *p;
	size_t i;
	json_array_foreach(subset_ports, i, p)
	{
		json_t *q = json_object();
		json_object_set_new(q, "name", json_string(api_str(p, "name") ?: ""));
		json_object_set_new(q, "port", json_integer(json_integer_value(json_object_get(p, "port"))));
		json_object_set_new(q, "protocol", json_string(api_str(p, "protocol") ?: ""));
		if (api_str(p, "appProtocol"))
			json_object_set_new(q, "appProtocol", json_string(api_str(p, "appProtocol")));
		json_array_append_new(out, q);
	}
	return out;
}

/* addressToEndpoint; NULL when the IP is not valid. */
static json_t *address_to_endpoint(const json_t *a, bool ready, int *family)
{
	struct ip_addr ip;
	char txt[IP_STRLEN];
	json_t *ep, *conds, *addrs;
	const char *s = api_str(a, "ip");

	if (!s || ip_parse(s, &ip) != 0)
		return NULL;
	*family = ip.family;
	ep = json_object();
	addrs = json_array();
	json_array_append_new(addrs, json_string(ip_format(&ip, txt, sizeof(txt))));
	json_object_set_new(ep, "addresses", addrs);
	conds = json_object();
	json_object_set_new(conds, "ready", json_boolean(ready));
	json_object_set_new(ep, "conditions", conds);
	if (json_object_get(a, "targetRef"))
		json_object_set_new(ep, "targetRef", json_deep_copy(json_object_get(a, "targetRef")));
	if (json_is_string(json_object_get(a, "nodeName")))
		json_object_set(ep, "nodeName", json_object_get(a, "nodeName"));
	if (api_str(a, "hostname") && *api_str(a, "hostname"))
		json_object_set_new(ep, "hostname", json_string(api_str(a, "hostname")));
	return ep;
}

static void build(const json_t *endpoints, size_t max, struct mdesired *d)
{
	json_t *subsets = json_object_get(endpoints, "subsets"), *ss;
	static const char *const lists[] = {"addresses", "notReadyAddresses"};
	size_t i, seq = 0;

	json_array_foreach(subsets, i, ss)
	{
		json_t *ports = eps_ports(json_object_get(ss, "ports"));
		struct mgroup *g4, *g6;
		size_t added = 0;
		/* initPorts: both address types get a group, so stale slices of either go. */
		mgroup_get(d, "IPv4", ports);
		g6 = mgroup_get(d, "IPv6", ports);
		g4 = mgroup_get(d, "IPv4", ports); /* found, not added: g6 stays valid */
		json_decref(ports);
		for (int l = 0; l < 2; l++) {
			json_t *a;
			size_t j;
			json_array_foreach(json_object_get(ss, lists[l]), j, a)
			{
				int fam = 0;
				json_t *ep;
				struct mgroup *g;
				if (added >= max)
					break;
				ep = address_to_endpoint(a, l == 0, &fam);
				if (!ep)
					continue;
				g = fam == 6 ? g6 : g4;
				if (g->n == g->cap)
					g->eps = xrealloc(g->eps, (g->cap = g->cap ? 2 * g->cap : 16) *
								      sizeof(*g->eps));
				g->eps[g->n++] = (struct mep){ctrl__ep_key(ep), ep, seq++};
				added++;
			}
		}
	}
	for (i = 0; i < d->g.len; i++) { /* sort; the last insert of an identity wins */
		struct mgroup *g = &d->g.v[i];
		size_t m = 0;
		if (g->n)
			xqsort(g->eps, g->n, sizeof(*g->eps), mep_cmp);
		for (size_t j = 0; j < g->n; j++) {
			if (j + 1 < g->n && strcmp(g->eps[j].key, g->eps[j + 1].key) == 0) {
				free(g->eps[j].key);
				json_decref(g->eps[j].ep);
				continue;
			}
			g->eps[m++] = g->eps[j];
		}
		g->n = m;
	}
}

static void mdesired_free(struct mdesired *d)
{
	for (size_t i = 0; i < d->g.len; i++) {
		for (size_t j = 0; j < d->g.v[i].n; j++) {
			free(d->g.v[i].eps[j].key);
			json_decref(d->g.v[i].eps[j].ep);
		}
		free(d->g.v[i].eps);
		free(d->g.v[i].key);
		json_decref(d->g.v[i].ports);
	}
	vec_free(&d->g);
}

static json_t *clone_without(const json_t *map, const char *k1, const char *k2)
{
	json_t *out = json_object(), *v;
	const char *k;
	json_object_foreach((json_t *)map, k, v)
	{
		if (strcmp(k, k1) != 0 && strcmp(k, k2) != 0)
			json_object_set(out, k, v);
	}
	return out;
}

static json_t *new_slice(const json_t *endpoints, const struct mgroup *g, size_t max, const json_t *reuse)
{
	json_t *s = json_object(), *md = json_object(), *refs = json_array(), *ref = json_object();
	json_t *labels = clone_without(api_get(endpoints, "metadata.labels"), "", "");
	json_t *ann = clone_without(api_get(endpoints, "metadata.annotations"), CTRL_ANN_TRIGGER_TIME,
				    ANN_LAST_APPLIED);
	json_t *eps = json_array();
	const char *name = api_str(endpoints, "metadata.name") ?: "";

	json_object_set_new(s, "apiVersion", json_string("discovery.k8s.io/v1"));
	json_object_set_new(s, "kind", json_string("EndpointSlice"));
	if (reuse) {
		json_object_set_new(md, "name", json_string(api_str(reuse, "metadata.name") ?: ""));
		if (api_str(reuse, "metadata.resourceVersion"))
			json_object_set_new(md, "resourceVersion",
					    json_string(api_str(reuse, "metadata.resourceVersion")));
	} else {
		char *gn = xasprintf("%s-", name);
		json_object_set_new(md, "generateName", json_string(gn));
		free(gn);
	}
	if (api_str(endpoints, "metadata.namespace"))
		json_object_set_new(md, "namespace", json_string(api_str(endpoints, "metadata.namespace")));
	json_object_set_new(labels, CTRL_LABEL_SERVICE_NAME, json_string(name));
	json_object_set_new(labels, CTRL_LABEL_MANAGED_BY, json_string(CTRL_MIRROR_CONTROLLER));
	json_object_set_new(md, "labels", labels);
	if (json_object_size(ann))
		json_object_set(md, "annotations", ann);
	json_decref(ann);
	json_object_set_new(ref, "apiVersion", json_string("v1"));
	json_object_set_new(ref, "kind", json_string("Endpoints"));
	json_object_set_new(ref, "name", json_string(name));
	json_object_set_new(ref, "uid", json_string(api_str(endpoints, "metadata.uid") ?: ""));
	json_object_set_new(ref, "controller", json_true());
	json_object_set_new(ref, "blockOwnerDeletion", json_true());
	json_array_append_new(refs, ref);
	json_object_set_new(md, "ownerReferences", refs);
	json_object_set_new(s, "metadata", md);
	json_object_set_new(s, "addressType", json_string(g->type));
	for (size_t i = 0; i < g->n && i < max; i++)
		json_array_append(eps, g->eps[i].ep);
	json_object_set_new(s, "endpoints", eps);
	json_object_set_new(s, "ports", json_deep_copy(g->ports));
	return s;
}

static struct mep *mfind(struct mgroup *g, const char *key)
{
	/* Keys are unique after build(); compare by key only. */
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key, g->eps[mid].key);
		if (c == 0)
			return &g->eps[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* totalChanges == 0, and labels and annotations already mirrored. */
static bool slice_current(const json_t *endpoints, const json_t *slice, struct mgroup *g)
{
	json_t *ep, *la, *lb, *aa, *ab, *empty = json_object();
	size_t i, matches = 0;
	bool ok = true;

	json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
	{
		char *key = ctrl__ep_key(ep);
		struct mep *m = mfind(g, key);
		free(key);
		if (!m || !ctrl__ep_equal_beyond_hash(m->ep, ep)) {
			ok = false;
			break;
		}
		matches++;
	}
	ok = ok && matches == g->n;
	la = clone_without(api_get(slice, "metadata.labels"), CTRL_LABEL_MANAGED_BY, CTRL_LABEL_SERVICE_NAME);
	lb = api_get(endpoints, "metadata.labels");
	aa = clone_without(api_get(endpoints, "metadata.annotations"), CTRL_ANN_TRIGGER_TIME,
			   ANN_LAST_APPLIED);
	ab = api_get(slice, "metadata.annotations");
	ok = ok && json_equal(la, json_is_object(lb) ? lb : empty) &&
	     json_equal(aa, json_is_object(ab) ? ab : empty);
	json_decref(la);
	json_decref(aa);
	json_decref(empty);
	return ok;
}

void ctrl_mirror_reconcile(const json_t *endpoints, const json_t *svc, const json_t *existing_mirrored,
			   int max_per_slice, struct ctrl_slice_plan *out)
{
	struct mdesired d = {0};
	size_t max =
	    max_per_slice <= 0 || max_per_slice > CTRL_MIRROR_MAX ? CTRL_MIRROR_MAX : (size_t)max_per_slice;
	size_t n = json_array_size(existing_mirrored), i, gi;
	bool *used = xcalloc(n ? n : 1, sizeof(*used));
	json_t *creates = json_array(), *updates = json_array(), *deletes = json_array(), *s;
	json_t *labels = api_get(endpoints, "metadata.labels"),
	       *ann = api_get(endpoints, "metadata.annotations");

	out->create = json_array();
	out->update = json_array();
	out->del = json_array();
	if (!endpoints || !svc || json_object_size(api_get(svc, "spec.selector")) > 0 ||
	    str_eq(json_string_value(json_object_get(labels, CTRL_LABEL_SKIP_MIRROR)), "true") ||
	    json_object_get(ann, ANN_LEADER)) {
		json_array_foreach(existing_mirrored, i, s) json_array_append(out->del, s);
		goto done;
	}

	build(endpoints, max, &d);
	for (gi = 0; gi < d.g.len; gi++) {
		struct mgroup *g = &d.g.v[gi];
		const json_t *first = NULL;
		for (i = 0; i < n; i++) {
			json_t *e = json_array_get(existing_mirrored, i);
			char *pk;
			bool match;
			if (used[i] || !str_eq(api_str(e, "addressType"), g->type))
				continue;
			pk = ctrl__ports_key(json_object_get(e, "ports"));
			match = strcmp(g->key + strlen(g->type) + 1, pk) == 0;
			free(pk);
			if (!match)
				continue;
			used[i] = true;
			if (g->n == 0 || first)
				json_array_append(deletes, e);
			else
				first = e;
		}
		if (g->n == 0)
			continue;
		if (first && slice_current(endpoints, first, g))
			continue;
		if (first)
			json_array_append_new(updates, new_slice(endpoints, g, max, first));
		else
			json_array_append_new(creates, new_slice(endpoints, g, max, NULL));
	}
	for (i = 0; i < n; i++) {
		if (!used[i])
			json_array_append(deletes, json_array_get(existing_mirrored, i));
	}

	/* recycleSlices: per address type, pair creates with deletes. */
	for (i = 0; i < json_array_size(creates);) {
		json_t *c = json_array_get(creates, i), *reuse = NULL;
		size_t j;
		json_array_foreach(deletes, j, s)
		{
			if (str_eq(api_str(s, "addressType"), api_str(c, "addressType"))) {
				reuse = s;
				break;
			}
		}
		if (!reuse) {
			i++;
			continue;
		}
		json_t *md = json_object_get(c, "metadata");
		json_object_del(md, "generateName");
		json_object_set_new(md, "name", json_string(api_str(reuse, "metadata.name") ?: ""));
		if (api_str(reuse, "metadata.resourceVersion"))
			json_object_set_new(md, "resourceVersion",
					    json_string(api_str(reuse, "metadata.resourceVersion")));
		json_array_append(updates, c);
		json_array_remove(deletes, j);
		json_array_remove(creates, i);
	}

	{
		json_t *dt = api_get(endpoints, "metadata.deletionTimestamp");
		if (!dt || json_is_null(dt))
			json_array_extend(out->create, creates);
	}
	json_array_extend(out->update, updates);
	json_array_extend(out->del, deletes);
done:
	mdesired_free(&d);
	free(used);
	json_decref(creates);
	json_decref(updates);
	json_decref(deletes);
}
