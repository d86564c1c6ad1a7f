/* test_slices.c - the EndpointSlice controller: conditions, grouping, packing, and the
 * minimal-churn plans on a 5,000-endpoint Service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/object.h"
#include "controller/endpoints.h"
#include "controller/slices.h"
#include "harness/t.h"

#define NOW "2026-01-02T03:04:05Z"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON (%s): %s", e.text, s);
	return j;
}

static json_t *pod(const char *name, const char *ip4, const char *ip6, bool ready, const char *node)
{
	json_t *p = json_pack(
	    "{s:{s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:[{s:s,s:i,s:s}]}]},s:{s:s,s:[{s:s,s:s}]}}", "metadata",
	    "name", name, "namespace", "ns", "labels", "app", "web", "spec", "nodeName", node, "containers",
	    "name", "c", "ports", "name", "http", "containerPort", 8080, "protocol", "TCP", "status", "phase",
	    "Running", "conditions", "type", "Ready", "status", ready ? "True" : "False");
	json_t *ips = json_array();
	char uid[64];
	snprintf(uid, sizeof(uid), "uid-%s", name);
	json_object_set_new(json_object_get(p, "metadata"), "uid", json_string(uid));
	if (ip4)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip4));
	if (ip6)
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
	json_object_set_new(json_object_get(p, "status"), "podIP", json_string(ip4 ? ip4 : ip6));
	json_object_set_new(json_object_get(p, "status"), "podIPs", ips);
	return p;
}

static json_t *svc(void)
{
	return J(
	    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"svc-uid\",\"labels\":{\"team\":"
	    "\"a\","
	    "\"kubernetes.io/service-name\":\"spoof\"}},"
	    "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"198.18.100.1\",\"ipFamilies\":[\"IPv4\"],"
	    "\"selector\":{\"app\":\"web\"},"
	    "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\",\"protocol\":\"TCP\"}]}}");
}

static json_t *nodes(void)
{
	return J(
	    "[{\"metadata\":{\"name\":\"node-a\",\"labels\":{\"topology.kubernetes.io/zone\":\"zone-1\"}}},"
	    "{\"metadata\":{\"name\":\"node-b\"}}]");
}

static json_t *many_pods(int n)
{
	json_t *pods = json_array();
	for (int i = 0; i < n; i++) {
		char name[16], ip[32];
		snprintf(name, sizeof(name), "p%05d", i);
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, i % 250 + 1);
		json_array_append_new(pods, pod(name, ip, NULL, true, "node-a"));
	}
	return pods;
}

/* Plays the API server: applies a plan to a list of slices, naming creates and bumping
 * resourceVersions. Returns the new list (the old one is released). */
static int next_name;
static json_t *apply(json_t *existing, const struct ctrl_slice_plan *p)
{
	json_t *out = json_array(), *s, *u;
	size_t i, j;
	json_array_foreach(existing, i, s)
	{
		bool gone = false;
		json_array_foreach(p->del, j, u) gone =
		    gone || strcmp(api_str(u, "metadata.name"), api_str(s, "metadata.name")) == 0;
		json_array_foreach(p->update, j, u)
		{
			if (strcmp(api_str(u, "metadata.name"), api_str(s, "metadata.name")) == 0) {
				if (strcmp(api_str(u, "metadata.resourceVersion"),
					   api_str(s, "metadata.resourceVersion")) != 0)
					t_fail(__FILE__, __LINE__,
					       "update of %s is not a CAS on its resourceVersion",
					       api_str(s, "metadata.name"));
				gone = true;
				json_t *c = json_deep_copy(u);
				char rv[16];
				snprintf(rv, sizeof(rv), "%d", ++next_name);
				json_object_set_new(json_object_get(c, "metadata"), "resourceVersion",
						    json_string(rv));
				json_array_append_new(out, c);
			}
		}
		if (!gone)
			json_array_append(out, s);
	}
	json_array_foreach(p->create, j, u)
	{
		json_t *c = json_deep_copy(u);
		char name[64], rv[16];
		ASSERT(!api_get(c, "metadata.name"));
		snprintf(name, sizeof(name), "%s%05d", api_str(c, "metadata.generateName"), ++next_name);
		snprintf(rv, sizeof(rv), "%d", next_name);
		json_object_set_new(json_object_get(c, "metadata"), "name", json_string(name));
		json_object_set_new(json_object_get(c, "metadata"), "resourceVersion", json_string(rv));
		json_array_append_new(out, c);
	}
	json_decref(existing);
	return out;
}

static size_t total_endpoints(const json_t *slices)
{
	size_t n = 0, i;
	json_t *s;
	json_array_foreach(slices, i, s) n += json_array_size(json_object_get(s, "endpoints"));
	return n;
}

static const json_t *find_ep(const json_t *slices, const char *pod_name)
{
	size_t i, j;
	json_t *s, *ep;
	json_array_foreach(slices, i, s)
	{
		json_array_foreach(json_object_get(s, "endpoints"), j, ep)
		{
			if (strcmp(api_str(ep, "targetRef.name"), pod_name) == 0)
				return ep;
		}
	}
	return NULL;
}

static bool cond(const json_t *ep, const char *c)
{
	json_t *v = json_object_get(json_object_get(ep, "conditions"), c);
	if (!json_is_boolean(v))
		t_fail(__FILE__, __LINE__, "condition %s not set", c);
	return json_is_true(v);
}

TEST(slices_conditions_and_terminating_pods)
{
	json_t *s = svc(), *pods = json_array(), *t, *n = nodes();
	struct ctrl_slice_plan p;
	json_array_append_new(pods, pod("ready", "198.18.0.1", NULL, true, "node-a"));
	json_array_append_new(pods, pod("unready", "198.18.0.2", NULL, false, "node-a"));
	t = pod("term", "198.18.0.3", NULL, true, "node-b");
	json_object_set_new(json_object_get(t, "metadata"), "deletionTimestamp", json_string(NOW));
	json_array_append_new(pods, t);
	t = pod("done", "198.18.0.4", NULL, true, "node-a");
	json_object_set_new(json_object_get(t, "status"), "phase", json_string("Succeeded"));
	json_array_append_new(pods, t);

	ctrl_slices_reconcile(s, pods, n, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	ASSERT_INT_EQ(json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 0);
	ASSERT_INT_EQ(total_endpoints(p.create), 3); /* terminal pod out, terminating pod in */
	const json_t *ep = find_ep(p.create, "ready");
	ASSERT(cond(ep, "ready") && cond(ep, "serving") && !cond(ep, "terminating"));
	ASSERT_STR_EQ(api_str(ep, "zone"), "zone-1");
	ASSERT_STR_EQ(api_str(ep, "nodeName"), "node-a");
	ASSERT_STR_EQ(api_str(ep, "targetRef.uid"), "uid-ready");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(ep, "addresses"), 0)), "198.18.0.1");
	ep = find_ep(p.create, "unready");
	ASSERT(!cond(ep, "ready") && !cond(ep, "serving") && !cond(ep, "terminating"));
	ep = find_ep(p.create, "term");
	ASSERT(!cond(ep, "ready") && cond(ep, "serving") && cond(ep, "terminating"));
	ASSERT(!api_get(ep, "zone")); /* node-b has no zone label */
	ctrl_slice_plan_fini(&p);

	json_object_set_new(json_object_get(s, "spec"), "publishNotReadyAddresses", json_true());
	ctrl_slices_reconcile(s, pods, n, NULL, 0, NOW, &p);
	ep = find_ep(p.create, "term");
	ASSERT(cond(ep, "ready") && cond(ep, "serving") && cond(ep, "terminating"));
	ASSERT(cond(find_ep(p.create, "unready"), "ready"));
	ctrl_slice_plan_fini(&p);
	json_decref(n);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_metadata_labels_owner_and_ports)
{
	json_t *s = svc(), *pods = json_array();
	struct ctrl_slice_plan p;
	json_t *a = pod("a", "198.18.0.1", NULL, true, "node-a");
	json_object_set_new(json_object_get(a, "spec"), "hostname", json_string("host-a"));
	json_object_set_new(json_object_get(a, "spec"), "subdomain", json_string("web"));
	json_array_append_new(pods, a);
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	json_t *sl = json_array_get(p.create, 0);
	ASSERT_STR_EQ(api_str(sl, "apiVersion"), "discovery.k8s.io/v1");
	ASSERT_STR_EQ(api_str(sl, "kind"), "EndpointSlice");
	ASSERT_STR_EQ(api_str(sl, "addressType"), "IPv4");
	ASSERT_STR_EQ(api_str(sl, "metadata.generateName"), "web-");
	ASSERT_STR_EQ(api_str(sl, "metadata.namespace"), "ns");
	json_t *labels = api_get(sl, "metadata.labels");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "kubernetes.io/service-name")), "web");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "endpointslice.kubernetes.io/managed-by")),
		      "endpointslice-controller.k8s.io");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "team")), "a");
	ASSERT(!json_object_get(labels, CTRL_LABEL_HEADLESS));
	json_t *ref = json_array_get(api_get(sl, "metadata.ownerReferences"), 0);
	ASSERT_STR_EQ(api_str(ref, "apiVersion"), "v1");
	ASSERT_STR_EQ(api_str(ref, "kind"), "Service");
	ASSERT_STR_EQ(api_str(ref, "name"), "web");
	ASSERT_STR_EQ(api_str(ref, "uid"), "svc-uid");
	ASSERT(json_is_true(json_object_get(ref, "controller")));
	ASSERT(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(api_get(sl, "metadata.annotations"), CTRL_ANN_TRIGGER_TIME)),
	    NOW);
	json_t *port = json_array_get(json_object_get(sl, "ports"), 0);
	ASSERT_STR_EQ(api_str(port, "name"), "http");
	ASSERT_STR_EQ(api_str(port, "protocol"), "TCP");
	ASSERT_INT_EQ(json_integer_value(json_object_get(port, "port")), 8080);
	ASSERT_STR_EQ(api_str(find_ep(p.create, "a"), "hostname"), "host-a");
	ASSERT(!api_get(find_ep(p.create, "a"), "zone")); /* no nodes given */
	ctrl_slice_plan_fini(&p);

	json_object_set_new(json_object_get(s, "spec"), "clusterIP", json_string("None"));
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NULL, &p);
	sl = json_array_get(p.create, 0);
	ASSERT(json_object_get(api_get(sl, "metadata.labels"), CTRL_LABEL_HEADLESS));
	ASSERT(!api_get(sl, "metadata.annotations")); /* no trigger time given */
	ctrl_slice_plan_fini(&p);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_none_for_external_name_or_without_selector)
{
	json_t *s = svc(), *pods = many_pods(3);
	struct ctrl_slice_plan p;
	json_object_del(json_object_get(s, "spec"), "selector");
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0);
	ctrl_slice_plan_fini(&p);
	json_decref(s);
	s = svc();
	json_object_set_new(json_object_get(s, "spec"), "type", json_string("ExternalName"));
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0);
	ctrl_slice_plan_fini(&p);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_pod_on_unknown_node)
{
	json_t *s = svc(), *pods = json_array(), *n = nodes();
	struct ctrl_slice_plan p;
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true, "node-a"));
	json_array_append_new(pods, pod("lost", "198.18.0.2", NULL, true, "node-gone"));
	ctrl_slices_reconcile(s, pods, n, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(total_endpoints(p.create), 1);
	ASSERT(!find_ep(p.create, "lost"));
	ctrl_slice_plan_fini(&p);
	json_object_set_new(json_object_get(s, "spec"), "publishNotReadyAddresses", json_true());
	ctrl_slices_reconcile(s, pods, n, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(total_endpoints(p.create), 2);
	ctrl_slice_plan_fini(&p);
	json_decref(n);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_group_by_resolved_ports)
{
	json_t *s = svc(), *pods = json_array(), *b, *c;
	struct ctrl_slice_plan p;
	size_t i;
	json_t *sl;
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true, "node-a"));
	b = pod("b", "198.18.0.2", NULL, true, "node-a");
	json_object_set_new(
	    json_array_get(api_get(json_array_get(api_get(b, "spec.containers"), 0), "ports"), 0),
	    "containerPort", json_integer(9090));
	json_array_append_new(pods, b);
	c = pod("c", "198.18.0.3", NULL, true, "node-a");
	json_array_clear(api_get(json_array_get(api_get(c, "spec.containers"), 0), "ports"));
	json_array_append_new(pods, c);
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 3);
	json_array_foreach(p.create, i, sl)
	{
		json_t *ports = json_object_get(sl, "ports");
		const char *who =
		    api_str(json_array_get(json_object_get(sl, "endpoints"), 0), "targetRef.name");
		ASSERT_INT_EQ(json_array_size(json_object_get(sl, "endpoints")), 1);
		if (strcmp(who, "a") == 0)
			ASSERT_INT_EQ(json_integer_value(api_get(json_array_get(ports, 0), "port")), 8080);
		else if (strcmp(who, "b") == 0)
			ASSERT_INT_EQ(json_integer_value(api_get(json_array_get(ports, 0), "port")), 9090);
		else
			ASSERT_INT_EQ(json_array_size(ports),
				      0); /* c lacks the port: a slice without ports */
	}
	ctrl_slice_plan_fini(&p);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_dual_stack_one_set_per_family)
{
	json_t *s = svc(), *pods = json_array(), *existing;
	struct ctrl_slice_plan p;
	json_object_set_new(json_object_get(s, "spec"), "ipFamilies", J("[\"IPv4\",\"IPv6\"]"));
	json_array_append_new(pods, pod("a", "198.18.0.1", "2001:db8::1", true, "node-a"));
	json_array_append_new(pods, pod("b", "198.18.0.2", NULL, true, "node-a"));
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 2);
	json_t *v4 = json_array_get(p.create, 0), *v6 = json_array_get(p.create, 1);
	ASSERT_STR_EQ(api_str(v4, "addressType"), "IPv4");
	ASSERT_STR_EQ(api_str(v6, "addressType"), "IPv6");
	ASSERT_INT_EQ(json_array_size(json_object_get(v4, "endpoints")), 2);
	ASSERT_INT_EQ(json_array_size(json_object_get(v6, "endpoints")), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(
			  api_get(json_array_get(json_object_get(v6, "endpoints"), 0), "addresses"), 0)),
		      "2001:db8::1");
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);

	/* Back to single stack: the IPv6 slices go. */
	json_object_set_new(json_object_get(s, "spec"), "ipFamilies", J("[\"IPv4\"]"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 0, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ASSERT_INT_EQ(json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ASSERT_STR_EQ(api_str(json_array_get(p.del, 0), "addressType"), "IPv6");
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_packing_respects_max)
{
	json_t *s = svc(), *pods = many_pods(250);
	struct ctrl_slice_plan p;
	ctrl_slices_reconcile(s, pods, NULL, NULL, 100, NOW, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 3);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_array_get(p.create, 0), "endpoints")), 100);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_array_get(p.create, 1), "endpoints")), 100);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_array_get(p.create, 2), "endpoints")), 50);
	ctrl_slice_plan_fini(&p);
	ctrl_slices_reconcile(s, pods, NULL, NULL, 5000, NOW, &p); /* capped at 1000 */
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	ctrl_slice_plan_fini(&p);
	json_decref(pods);
	json_decref(s);
}

static void assert_plan(const struct ctrl_slice_plan *p, size_t c, size_t u, size_t d, int line)
{
	if (json_array_size(p->create) != c || json_array_size(p->update) != u ||
	    json_array_size(p->del) != d)
		t_fail(__FILE__, line, "plan: %zu creates, %zu updates, %zu deletes; want %zu, %zu, %zu",
		       json_array_size(p->create), json_array_size(p->update), json_array_size(p->del), c, u,
		       d);
}

TEST(slices_minimal_churn_5000)
{
	json_t *s = svc(), *pods = many_pods(5000), *existing;
	struct ctrl_slice_plan p;

	ctrl_slices_reconcile(s, pods, NULL, NULL, 100, NOW, &p);
	assert_plan(&p, 50, 0, 0, __LINE__);
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);

	/* Nothing changed: nothing to do. */
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 0, 0, __LINE__);
	ctrl_slice_plan_fini(&p);

	/* One pod turns unready: exactly its slice is updated, in place. */
	json_t *p0 = json_array_get(pods, 1234);
	json_object_set_new(json_array_get(api_get(p0, "status.conditions"), 0), "status",
			    json_string("False"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, "2026-01-02T04:00:00Z", &p);
	assert_plan(&p, 0, 1, 0, __LINE__);
	json_t *u = json_array_get(p.update, 0);
	ASSERT(api_str(u, "metadata.name"));
	ASSERT(api_str(u, "metadata.resourceVersion"));
	ASSERT_INT_EQ(json_array_size(json_object_get(u, "endpoints")), 100);
	ASSERT(!cond(find_ep(p.update, "p01234"), "ready"));
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(api_get(u, "metadata.annotations"), CTRL_ANN_TRIGGER_TIME)),
	    "2026-01-02T04:00:00Z");
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);

	/* One pod goes away: one update. */
	json_array_remove(pods, 4321);
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 1, 0, __LINE__);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_array_get(p.update, 0), "endpoints")), 99);
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);

	/* One pod comes: it fills the slice with room, no new slice. */
	json_array_append_new(pods, pod("new", "198.18.200.1", NULL, true, "node-a"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 1, 0, __LINE__);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_array_get(p.update, 0), "endpoints")), 100);
	ASSERT(find_ep(p.update, "new"));
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);
	ASSERT_INT_EQ(json_array_size(existing), 50);
	ASSERT_INT_EQ(total_endpoints(existing), 5000);

	/* All full now: one more pod needs one new slice. */
	json_array_append_new(pods, pod("extra", "198.18.200.2", NULL, true, "node-a"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 1, 0, 0, __LINE__);
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);

	/* A Service label change touches every slice (labels must follow). */
	json_object_set_new(api_get(s, "metadata.labels"), "team", json_string("b"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 51, 0, __LINE__);
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);

	/* All pods gone: one slice becomes the placeholder, the others are deleted. */
	json_array_clear(pods);
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 1, 50, __LINE__);
	u = json_array_get(p.update, 0);
	ASSERT_INT_EQ(json_array_size(json_object_get(u, "endpoints")), 0);
	ASSERT_INT_EQ(json_array_size(json_object_get(u, "ports")), 0);
	ASSERT(api_str(u, "metadata.name"));
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);
	ASSERT_INT_EQ(json_array_size(existing), 1);

	/* The placeholder is stable. */
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 0, 0, 0, __LINE__);
	ctrl_slice_plan_fini(&p);

	/* Pods come back: the placeholder is reused. */
	json_decref(pods);
	pods = many_pods(150);
	ctrl_slices_reconcile(s, pods, NULL, existing, 100, NOW, &p);
	assert_plan(&p, 1, 1, 0, __LINE__);
	existing = apply(existing, &p);
	ctrl_slice_plan_fini(&p);
	ASSERT_INT_EQ(total_endpoints(existing), 150);

	json_decref(existing);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_placeholder_for_service_without_endpoints)
{
	json_t *s = svc(), *pods = json_array();
	struct ctrl_slice_plan p;
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	assert_plan(&p, 1, 0, 0, __LINE__);
	json_t *ph = json_array_get(p.create, 0);
	ASSERT(json_is_array(json_object_get(ph, "endpoints")));
	ASSERT_INT_EQ(json_array_size(json_object_get(ph, "endpoints")), 0);
	ASSERT(json_is_array(json_object_get(ph, "ports")));
	ASSERT_INT_EQ(json_array_size(json_object_get(ph, "ports")), 0);
	ctrl_slice_plan_fini(&p);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_foreign_slices_are_replaced)
{
	json_t *s = svc(), *pods = many_pods(3), *existing;
	struct ctrl_slice_plan p;
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);
	/* The Service was recreated under the same name: new uid, old slices not ours. */
	json_object_set_new(json_object_get(s, "metadata"), "uid", json_string("svc-uid-2"));
	ctrl_slices_reconcile(s, pods, NULL, existing, 0, NOW, &p);
	assert_plan(&p, 1, 0, 1, __LINE__); /* a foreign slice is not recycled */
	ASSERT_STR_EQ(
	    api_str(json_array_get(api_get(json_array_get(p.create, 0), "metadata.ownerReferences"), 0),
		    "uid"),
	    "svc-uid-2");
	ctrl_slice_plan_fini(&p);
	/* No new slices while the Service is being deleted. */
	json_object_set_new(json_object_get(s, "metadata"), "deletionTimestamp", json_string(NOW));
	ctrl_slices_reconcile(s, pods, NULL, existing, 0, NOW, &p);
	assert_plan(&p, 0, 0, 1, __LINE__);
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(pods);
	json_decref(s);
}

TEST(slices_duplicate_endpoint_in_two_slices_is_dropped_once)
{
	json_t *s = svc(), *pods = many_pods(2), *existing;
	struct ctrl_slice_plan p;
	ctrl_slices_reconcile(s, pods, NULL, NULL, 0, NOW, &p);
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);
	/* A second copy of the same slice (e.g. left by a failed write). */
	json_t *dup = json_deep_copy(json_array_get(existing, 0));
	json_object_set_new(json_object_get(dup, "metadata"), "name", json_string("web-dup"));
	json_array_append_new(existing, dup);
	ctrl_slices_reconcile(s, pods, NULL, existing, 0, NOW, &p);
	assert_plan(&p, 0, 0, 1, __LINE__);
	ASSERT_STR_EQ(api_str(json_array_get(p.del, 0), "metadata.name"), "web-dup");
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(pods);
	json_decref(s);
}

/* The plan shares unchanged parts with the existing slices (no deep copies), so the
 * reconcile must never write into them: existing is byte-for-byte what it was. */
TEST(slices_existing_objects_are_never_modified)
{
	json_t *s = svc(), *pods = many_pods(250), *n = nodes(), *existing, *before;
	struct ctrl_slice_plan p;

	ctrl_slices_reconcile(s, pods, n, NULL, 100, NOW, &p);
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);
	/* Foreign annotations on the slices, then: one pod changes, one goes, one comes (it
	 * fills a slice that is otherwise unchanged), and a label change for all of them. */
	size_t i;
	json_t *sl;
	json_array_foreach(existing, i, sl)
	    json_object_set_new(api_obj(api_obj(sl, "metadata"), "annotations"), "x", json_string("y"));
	json_object_set_new(json_array_get(api_get(json_array_get(pods, 3), "status.conditions"), 0),
			    "status", json_string("False"));
	json_array_remove(pods, 7);
	json_array_append_new(pods, pod("new", "198.18.200.1", NULL, true, "node-a"));
	before = json_deep_copy(existing);
	ctrl_slices_reconcile(s, pods, n, existing, 100, "2026-01-02T05:00:00Z", &p);
	ASSERT(json_equal(existing, before));
	ASSERT(json_array_size(p.update) >= 1);
	json_array_foreach(p.update, i, sl)
	{
		ASSERT_STR_EQ(json_string_value(json_object_get(api_get(sl, "metadata.annotations"), "x")),
			      "y");
		ASSERT_STR_EQ(json_string_value(json_object_get(api_get(sl, "metadata.annotations"),
								CTRL_ANN_TRIGGER_TIME)),
			      "2026-01-02T05:00:00Z");
	}
	ctrl_slice_plan_fini(&p);
	json_object_set_new(api_get(s, "metadata.labels"), "team", json_string("c"));
	ctrl_slices_reconcile(s, pods, n, existing, 100, NOW, &p);
	ASSERT(json_equal(existing, before));
	ASSERT_INT_EQ(json_array_size(p.update), json_array_size(existing));
	ctrl_slice_plan_fini(&p);
	json_decref(before);
	json_decref(existing);
	json_decref(n);
	json_decref(pods);
	json_decref(s);
}

/* An endpoint whose conditions, node, zone or targetRef drifted is rewritten; a targetRef
 * resourceVersion alone is no change. */
TEST(slices_drifted_endpoint_fields_are_repaired)
{
	static const char *const drift[] = {"ready", "zone", "nodeName", "uid", "extra", "rv"};
	json_t *s = svc(), *pods = many_pods(3), *n = nodes(), *existing;
	struct ctrl_slice_plan p;

	ctrl_slices_reconcile(s, pods, n, NULL, 100, NOW, &p);
	existing = apply(json_array(), &p);
	ctrl_slice_plan_fini(&p);
	for (size_t k = 0; k < sizeof(drift) / sizeof(drift[0]); k++) {
		json_t *ex = json_deep_copy(existing);
		json_t *ep = json_array_get(json_object_get(json_array_get(ex, 0), "endpoints"), 1);
		json_t *ref = json_object_get(ep, "targetRef");
		if (!strcmp(drift[k], "ready"))
			json_object_set_new(json_object_get(ep, "conditions"), "ready", json_false());
		else if (!strcmp(drift[k], "zone"))
			json_object_set_new(ep, "zone", json_string("elsewhere"));
		else if (!strcmp(drift[k], "nodeName"))
			json_object_del(ep, "nodeName");
		else if (!strcmp(drift[k], "uid"))
			json_object_set_new(ref, "uid", json_string("other"));
		else if (!strcmp(drift[k], "extra"))
			json_object_set_new(ref, "fieldPath", json_string("x"));
		else
			json_object_set_new(ref, "resourceVersion", json_string("42"));
		ctrl_slices_reconcile(s, pods, n, ex, 100, NOW, &p);
		ASSERT_INT_EQ(json_array_size(p.update), strcmp(drift[k], "rv") ? 1 : 0);
		ctrl_slice_plan_fini(&p);
		json_decref(ex);
	}
	json_decref(existing);
	json_decref(n);
	json_decref(pods);
	json_decref(s);
}
