/* test_mirror.c - EndpointSlice mirroring of user-written Endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/object.h"
#include "controller/mirror.h"
#include "harness/t.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON (%s): %s", e.text, s);
	return j;
}

static json_t *svc(void)
{
	return J("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\",\"uid\":\"svc-uid\"},"
		 "\"spec\":{\"clusterIP\":\"198.18.100.2\",\"ports\":[{\"port\":80}]}}");
}

static json_t *endpoints(void)
{
	return J(
	    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\",\"uid\":\"ep-uid\",\"labels\":{\"team\":"
	    "\"a\"},"
	    "\"annotations\":{\"note\":\"x\",\"endpoints.kubernetes.io/last-change-trigger-time\":\"t\","
	    "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
	    "\"subsets\":[{\"addresses\":[{\"ip\":\"198.18.5.1\",\"nodeName\":\"node-a\",\"hostname\":\"h1\"}"
	    ","
	    "{\"ip\":\"198.18.5.2\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"p2\"}}],"
	    "\"notReadyAddresses\":[{\"ip\":\"198.18.5.3\"},{\"ip\":\"not-an-ip\"}],"
	    "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}]}");
}

static const json_t *find_ep(const json_t *slice, const char *ip)
{
	size_t i;
	json_t *ep;
	json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
	{
		if (strcmp(json_string_value(json_array_get(json_object_get(ep, "addresses"), 0)), ip) == 0)
			return ep;
	}
	return NULL;
}

static void named(json_t *slice, const char *name, const char *rv)
{
	json_t *md = json_object_get(slice, "metadata");
	json_object_del(md, "generateName");
	json_object_set_new(md, "name", json_string(name));
	json_object_set_new(md, "resourceVersion", json_string(rv));
}

TEST(mirror_basic)
{
	json_t *e = endpoints(), *s = svc();
	struct ctrl_slice_plan p;
	ctrl_mirror_reconcile(e, s, NULL, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	ASSERT_INT_EQ(json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 0);
	json_t *sl = json_array_get(p.create, 0);
	ASSERT_STR_EQ(api_str(sl, "addressType"), "IPv4");
	ASSERT_STR_EQ(api_str(sl, "metadata.generateName"), "ext-");
	json_t *labels = api_get(sl, "metadata.labels");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "kubernetes.io/service-name")), "ext");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "endpointslice.kubernetes.io/managed-by")),
		      "endpointslicemirroring-controller.k8s.io");
	ASSERT_STR_EQ(json_string_value(json_object_get(labels, "team")), "a");
	json_t *ann = api_get(sl, "metadata.annotations");
	ASSERT_STR_EQ(json_string_value(json_object_get(ann, "note")), "x");
	ASSERT(!json_object_get(ann, "endpoints.kubernetes.io/last-change-trigger-time"));
	ASSERT(!json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration"));
	json_t *ref = json_array_get(api_get(sl, "metadata.ownerReferences"), 0);
	ASSERT_STR_EQ(api_str(ref, "kind"), "Endpoints");
	ASSERT_STR_EQ(api_str(ref, "uid"), "ep-uid");
	ASSERT(json_is_true(json_object_get(ref, "controller")));
	ASSERT_INT_EQ(json_array_size(json_object_get(sl, "endpoints")), 3); /* invalid IP skipped */
	const json_t *ep = find_ep(sl, "198.18.5.1");
	ASSERT(json_is_true(api_get(ep, "conditions.ready")));
	ASSERT_STR_EQ(api_str(ep, "nodeName"), "node-a");
	ASSERT_STR_EQ(api_str(ep, "hostname"), "h1");
	ASSERT_STR_EQ(api_str(find_ep(sl, "198.18.5.2"), "targetRef.name"), "p2");
	ASSERT(json_is_false(api_get(find_ep(sl, "198.18.5.3"), "conditions.ready")));
	json_t *port = json_array_get(json_object_get(sl, "ports"), 0);
	ASSERT_STR_EQ(api_str(port, "name"), "http");
	ASSERT_INT_EQ(json_integer_value(json_object_get(port, "port")), 8080);
	ctrl_slice_plan_fini(&p);
	json_decref(e);
	json_decref(s);
}

TEST(mirror_skipped_cases_delete_mirrored_slices)
{
	json_t *e = endpoints(), *s = svc(),
	       *existing = J("[{\"metadata\":{\"name\":\"ext-1\"},\"addressType\":\"IPv4\"}]");
	struct ctrl_slice_plan p;

	json_object_set_new(api_get(e, "metadata.labels"), CTRL_LABEL_SKIP_MIRROR, json_string("true"));
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);

	json_object_set_new(api_get(e, "metadata.labels"), CTRL_LABEL_SKIP_MIRROR, json_string("false"));
	ctrl_mirror_reconcile(e, s, NULL, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 1); /* only "true" skips */
	ctrl_slice_plan_fini(&p);

	json_object_set_new(json_object_get(s, "spec"), "selector", J("{\"app\":\"web\"}"));
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);

	ctrl_mirror_reconcile(e, NULL, existing, 0, &p); /* no Service */
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);
	ctrl_mirror_reconcile(NULL, s, existing, 0, &p); /* no Endpoints */
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);

	json_decref(s);
	s = svc();
	json_object_set_new(api_obj(json_object_get(e, "metadata"), "annotations"),
			    "control-plane.alpha.kubernetes.io/leader", json_string("{}"));
	ctrl_mirror_reconcile(e, s, existing, 0, &p); /* a leader-election record */
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(e);
	json_decref(s);
}

TEST(mirror_one_slice_per_address_type_and_port_set)
{
	json_t *e =
	    J("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\"},\"subsets\":["
	      "{\"addresses\":[{\"ip\":\"198.18.5.1\"},{\"ip\":\"2001:db8::5\"}],\"ports\":[{\"port\":80,"
	      "\"protocol\":\"TCP\"}]},"
	      "{\"addresses\":[{\"ip\":\"198.18.5.2\"}],\"ports\":[{\"port\":81,\"protocol\":\"TCP\"}]},"
	      "{\"addresses\":[{\"ip\":\"198.18.5.3\"}],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}");
	json_t *s = svc(), *sl;
	struct ctrl_slice_plan p;
	size_t i, v4 = 0, v6 = 0;
	ctrl_mirror_reconcile(e, s, NULL, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 3);
	json_array_foreach(p.create, i, sl)
	{
		int port =
		    (int)json_integer_value(api_get(json_array_get(json_object_get(sl, "ports"), 0), "port"));
		size_t n = json_array_size(json_object_get(sl, "endpoints"));
		if (strcmp(api_str(sl, "addressType"), "IPv6") == 0) {
			v6++;
			ASSERT_INT_EQ(port, 80);
			ASSERT_INT_EQ(n, 1);
		} else {
			v4++;
			ASSERT_INT_EQ(n, port == 80 ? 2 : 1); /* subsets with the same ports share a slice */
		}
	}
	ASSERT_INT_EQ(v4, 2);
	ASSERT_INT_EQ(v6, 1);
	ctrl_slice_plan_fini(&p);
	json_decref(e);
	json_decref(s);
}

TEST(mirror_at_most_1000_per_subset)
{
	json_t *e = J("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns\"},\"subsets\":[{\"addresses\":[],"
		      "\"notReadyAddresses\":[],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}");
	json_t *ss = json_array_get(json_object_get(e, "subsets"), 0), *s = svc();
	struct ctrl_slice_plan p;
	for (int i = 0; i < 1100; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, i % 250 + 1);
		json_array_append_new(json_object_get(ss, i < 990 ? "addresses" : "notReadyAddresses"),
				      json_pack("{s:s}", "ip", ip));
	}
	ctrl_mirror_reconcile(e, s, NULL, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	json_t *sl = json_array_get(p.create, 0);
	ASSERT_INT_EQ(json_array_size(json_object_get(sl, "endpoints")), 1000);
	size_t notready = 0, i;
	json_t *ep;
	json_array_foreach(json_object_get(sl, "endpoints"), i, ep) notready +=
	    json_is_false(api_get(ep, "conditions.ready"));
	ASSERT_INT_EQ(notready, 10); /* ready addresses first */
	ctrl_slice_plan_fini(&p);
	json_decref(e);
	json_decref(s);
}

TEST(mirror_updates_in_place_and_drops_extras)
{
	json_t *e = endpoints(), *s = svc(), *existing = json_array(), *first;
	struct ctrl_slice_plan p;
	ctrl_mirror_reconcile(e, s, NULL, 0, &p);
	first = json_deep_copy(json_array_get(p.create, 0));
	named(first, "ext-a", "10");
	json_array_append_new(existing, first);
	ctrl_slice_plan_fini(&p);

	/* Unchanged: nothing to do. */
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0);
	ctrl_slice_plan_fini(&p);

	/* A second slice for the same ports is deleted; a changed address rewrites the first. */
	json_t *second = json_deep_copy(first);
	named(second, "ext-b", "11");
	json_array_append_new(existing, second);
	json_object_set_new(
	    json_array_get(api_get(json_array_get(json_object_get(e, "subsets"), 0), "addresses"), 0), "ip",
	    json_string("198.18.5.9"));
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ASSERT_INT_EQ(json_array_size(p.update), 1);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	json_t *u = json_array_get(p.update, 0);
	ASSERT_STR_EQ(api_str(u, "metadata.name"), "ext-a");
	ASSERT_STR_EQ(api_str(u, "metadata.resourceVersion"), "10");
	ASSERT(find_ep(u, "198.18.5.9"));
	ASSERT(!find_ep(u, "198.18.5.1"));
	ASSERT_STR_EQ(api_str(json_array_get(p.del, 0), "metadata.name"), "ext-b");
	ctrl_slice_plan_fini(&p);

	/* A label change on the Endpoints is mirrored too. */
	json_array_remove(existing, 1);
	json_object_set_new(api_get(e, "metadata.labels"), "team", json_string("b"));
	json_object_set_new(
	    json_array_get(api_get(json_array_get(json_object_get(e, "subsets"), 0), "addresses"), 0), "ip",
	    json_string("198.18.5.1"));
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.update), 1);
	ASSERT_STR_EQ(api_str(json_array_get(p.update, 0), "metadata.labels.team"), "b");
	ctrl_slice_plan_fini(&p);

	/* Ports changed: the old slice is recycled for the new port set. */
	json_object_set_new(
	    json_array_get(api_get(json_array_get(json_object_get(e, "subsets"), 0), "ports"), 0), "port",
	    json_integer(9090));
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ASSERT_INT_EQ(json_array_size(p.update), 1);
	ASSERT_INT_EQ(json_array_size(p.del), 0);
	ASSERT_STR_EQ(api_str(json_array_get(p.update, 0), "metadata.name"), "ext-a");
	ctrl_slice_plan_fini(&p);

	/* No subsets at all: the mirrored slices go. */
	json_object_del(e, "subsets");
	ctrl_mirror_reconcile(e, s, existing, 0, &p);
	ASSERT_INT_EQ(json_array_size(p.create) + json_array_size(p.update), 0);
	ASSERT_INT_EQ(json_array_size(p.del), 1);
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(e);
	json_decref(s);
}
