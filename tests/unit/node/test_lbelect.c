/* test_lbelect.c - owner tables of LoadBalancer addresses (node/lbelect.h): MetalLB's
 * hash (known answers), the same owner from every view whatever the order of nodes,
 * Services and slices, minimal movement when a node leaves or joins, and eligibility
 * (Ready, Lease fresh, exclusion label, externalTrafficPolicy Local endpoints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness/t.h"
#include "node/lbelect.h"

static json_t *jp(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "bad JSON in test: %s", e.text);
	return o;
}

static json_t *node(const char *name, const char *ready, int excluded)
{
	json_t *n = json_pack("{s:{s:s, s:{}}, s:{s:[{s:s, s:s}]}}", "metadata", "name", name, "labels",
			      "status", "conditions", "type", "Ready", "status", ready);
	if (excluded)
		json_object_set_new(json_object_get(json_object_get(n, "metadata"), "labels"),
				    "node.kubernetes.io/exclude-from-external-load-balancers",
				    json_string(""));
	return n;
}

static json_t *lbsvc(const char *name, const char *ip, const char *etp, const char *created)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:{s:[{s:s}]}}}", "metadata", "name", name,
			 "namespace", "default", "creationTimestamp", created, "spec", "type", "LoadBalancer",
			 "externalTrafficPolicy", etp, "status", "loadBalancer", "ingress", "ip", ip);
}

TEST(lbelect_owner_is_metallbs_smallest_sha256)
{
	/* sha256("<node>#<ip>") ordered by python's hashlib, as MetalLB's speaker sorts. */
	const char *names[] = {"n1", "n2", "n3"};
	ASSERT_INT_EQ(node_lb_owner("198.18.0.240", names, 3), 2);
	ASSERT_INT_EQ(node_lb_owner("198.18.0.241", names, 3), 1);
	ASSERT_INT_EQ(node_lb_owner("2001:db8::f5", names, 3), 2);
	const char *two[] = {"n1", "n2"}; /* n3 gone: 2001:db8::f5's next is n1 */
	ASSERT_INT_EQ(node_lb_owner("2001:db8::f5", two, 2), 0);
	ASSERT_INT_EQ(node_lb_owner("198.18.0.240", NULL, 0), -1);
}

TEST(lbelect_same_owner_from_every_view)
{
	const char *names[] = {"alpha", "bravo", "charlie", "delta", "echo"};
	const char *rev[] = {"echo", "delta", "charlie", "bravo", "alpha"};
	const char *rot[] = {"charlie", "delta", "echo", "alpha", "bravo"};
	for (int i = 0; i < 200; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), i % 2 ? "198.18.%d.%d" : "2001:db8::%x:%x", i / 200, i % 250);
		const char *a = names[node_lb_owner(ip, names, 5)];
		ASSERT_STR_EQ(a, rev[node_lb_owner(ip, rev, 5)]);
		ASSERT_STR_EQ(a, rot[node_lb_owner(ip, rot, 5)]);
	}
	/* The whole assignment too: nodes, Services and slices in another order. */
	json_t *n1 =
	    json_pack("[o,o,o]", node("n1", "True", 0), node("n2", "True", 0), node("n3", "True", 0));
	json_t *n2 =
	    json_pack("[o,o,o]", node("n3", "True", 0), node("n1", "True", 0), node("n2", "True", 0));
	json_t *s1 = json_pack("[o,o]", lbsvc("a", "198.18.0.240", "Cluster", "2026-01-01T00:00:00Z"),
			       lbsvc("b", "198.18.0.241", "Cluster", "2026-01-01T00:00:00Z"));
	json_t *s2 = json_pack("[O,O]", json_array_get(s1, 1), json_array_get(s1, 0));
	json_t *alive1 = jp("[\"n1\",\"n2\",\"n3\"]"), *alive2 = jp("[\"n2\",\"n3\",\"n1\"]");
	json_t *a1 = node_lb_assign(s1, n1, NULL, alive1, NULL),
	       *a2 = node_lb_assign(s2, n2, NULL, alive2, NULL);
	ASSERT(json_equal(a1, a2));
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a1, "198.18.0.240"), "node")), "n3");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a1, "198.18.0.241"), "node")), "n2");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a1, "198.18.0.241"), "service")),
		      "default/b");
	json_decref(a1);
	json_decref(a2);
	json_decref(alive1);
	json_decref(alive2);
	json_decref(s1);
	json_decref(s2);
	json_decref(n1);
	json_decref(n2);
}

/* 500 addresses over 6 nodes: a node leaving moves only its own addresses, a node
 * joining takes some and moves nothing else; every node gets a share. */
TEST(lbelect_minimal_movement_on_leave_and_join)
{
	const char *all[] = {"n1", "n2", "n3", "n4", "n5", "n6"};
	const char *without3[] = {"n1", "n2", "n4", "n5", "n6"};
	int count[6] = {0}, moved_leave = 0, moved_join = 0;
	for (int i = 0; i < 500; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), "198.18.%d.%d", 240 + i / 250, i % 250);
		const char *before = all[node_lb_owner(ip, all, 6)];
		count[before[1] - '1']++;
		const char *after = without3[node_lb_owner(ip, without3, 5)];
		if (strcmp(before, after)) {
			ASSERT_STR_EQ(before, "n3"); /* only n3's addresses move */
			moved_leave++;
		} else {
			ASSERT(strcmp(before, "n3") != 0);
		}
		/* join: from without3 to all, n3 back */
		if (strcmp(after, before)) {
			ASSERT_STR_EQ(before, "n3"); /* whatever moves goes to the newcomer */
			moved_join++;
		}
	}
	ASSERT_INT_EQ(moved_leave, count[2]);
	ASSERT_INT_EQ(moved_join, count[2]);
	for (int k = 0; k < 6; k++)
		ASSERT(count[k] > 40); /* about 83 each */
}

TEST(lbelect_eligibility_ready_lease_label_class)
{
	json_t *nodes = json_pack("[o,o,o,o]", node("n1", "False", 0), node("n2", "True", 1),
				  node("n3", "True", 0), node("n4", "True", 0));
	json_t *svcs = json_pack(
	    "[o,o,o,o]", lbsvc("a", "198.18.0.240", "Cluster", "2026-01-01T00:00:00Z"),
	    lbsvc("b", "not-an-ip", "Cluster", "2026-01-01T00:00:00Z"),
	    jp("{\"metadata\":{\"name\":\"c\",\"namespace\":\"x\"},\"spec\":{\"type\":\"ClusterIP\"},"
	       "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.18.0.242\"}]}}}"),
	    jp("{\"metadata\":{\"name\":\"d\",\"namespace\":\"x\"},\"spec\":{\"type\":\"LoadBalancer\","
	       "\"loadBalancerClass\":\"other.io/lb\"},"
	       "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.18.0.243\"}]}}}"));
	/* n1 not Ready, n2 excluded, n4's Lease stale: only n3 may announce. */
	json_t *alive = jp("[\"n1\",\"n2\",\"n3\"]");
	json_t *a = node_lb_assign(svcs, nodes, NULL, alive, NULL);
	ASSERT_INT_EQ(json_object_size(a), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a, "198.18.0.240"), "node")), "n3");
	json_decref(a);
	/* our class named: d counts */
	a = node_lb_assign(svcs, nodes, NULL, alive, "other.io/lb");
	ASSERT_INT_EQ(json_object_size(a), 2);
	json_decref(a);
	/* nobody alive: the address is listed without a node */
	json_t *none = json_array();
	a = node_lb_assign(svcs, nodes, NULL, none, NULL);
	ASSERT(json_object_get(json_object_get(a, "198.18.0.240"), "node") == NULL);
	ASSERT(json_object_get(json_object_get(a, "198.18.0.240"), "service") != NULL);
	json_decref(a);
	json_decref(none);
	json_decref(alive);
	json_decref(svcs);
	json_decref(nodes);
}

TEST(lbelect_local_policy_only_nodes_with_a_ready_endpoint)
{
	json_t *nodes =
	    json_pack("[o,o,o]", node("n1", "True", 0), node("n2", "True", 0), node("n3", "True", 0));
	json_t *alive = jp("[\"n1\",\"n2\",\"n3\"]");
	json_t *svcs = json_pack("[o]", lbsvc("web", "198.18.0.240", "Local", "2026-01-01T00:00:00Z"));
	/* 198.18.0.240 would go to n3 under Cluster; n3's endpoint is not ready, n1 has one
	 * of another Service, n2 has a ready one (condition absent = ready). */
	json_t *slices =
	    jp("[{\"metadata\":{\"name\":\"web-x\",\"namespace\":\"default\",\"labels\":{"
	       "\"kubernetes.io/service-name\":\"web\"}},\"endpoints\":["
	       "{\"addresses\":[\"198.18.129.2\"],\"nodeName\":\"n3\",\"conditions\":{\"ready\":false}},"
	       "{\"addresses\":[\"198.18.130.2\"],\"nodeName\":\"n2\"}]},"
	       "{\"metadata\":{\"name\":\"other-x\",\"namespace\":\"default\",\"labels\":{"
	       "\"kubernetes.io/service-name\":\"other\"}},\"endpoints\":["
	       "{\"addresses\":[\"198.18.131.2\"],\"nodeName\":\"n1\",\"conditions\":{\"ready\":true}}]}]");
	json_t *a = node_lb_assign(svcs, nodes, slices, alive, NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a, "198.18.0.240"), "node")), "n2");
	json_decref(a);
	/* no ready endpoint anywhere: nobody announces */
	a = node_lb_assign(svcs, nodes, NULL, alive, NULL);
	ASSERT(json_object_get(json_object_get(a, "198.18.0.240"), "node") == NULL);
	json_decref(a);
	json_decref(slices);
	json_decref(svcs);
	json_decref(alive);
	json_decref(nodes);
}

TEST(lbelect_address_claimed_twice_goes_to_the_older_service)
{
	json_t *nodes = json_pack("[o]", node("n1", "True", 0));
	json_t *alive = jp("[\"n1\"]");
	json_t *svcs = json_pack("[o,o]", lbsvc("young", "198.18.0.240", "Cluster", "2026-05-01T00:00:00Z"),
				 lbsvc("old", "198.18.0.240", "Cluster", "2026-01-01T00:00:00Z"));
	json_t *a = node_lb_assign(svcs, nodes, NULL, alive, NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(a, "198.18.0.240"), "service")),
		      "default/old");
	json_decref(a);
	json_decref(svcs);
	json_decref(alive);
	json_decref(nodes);
}

TEST(lbelect_lease_times)
{
	json_t *l =
	    jp("{\"spec\":{\"renewTime\":\"2026-12-06T23:30:00.250000Z\",\"leaseDurationSeconds\":4}}");
	int64_t r = node_lb_lease_renew_ms(l);
	ASSERT_INT_EQ(r % 1000, 250);
	ASSERT_INT_EQ(node_lb_lease_duration_ms(l, 9000), 4000);
	/* seen 1.5 s after its renewal by the wall clock: renewed 1.5 s ago */
	ASSERT_INT_EQ(node_lb_lease_first_seen(l, 100000, r + 1500), 98500);
	/* a renewal in the future (clock skew) counts as now */
	ASSERT_INT_EQ(node_lb_lease_first_seen(l, 100000, r - 5000), 100000);
	json_t *bad = jp("{\"spec\":{\"renewTime\":\"yesterday\",\"leaseDurationSeconds\":-3}}");
	ASSERT_INT_EQ(node_lb_lease_renew_ms(bad), -1);
	ASSERT_INT_EQ(node_lb_lease_duration_ms(bad, 9000), 9000);
	ASSERT(node_lb_lease_first_seen(bad, 100000, r) < -1000000000);
	ASSERT_INT_EQ(node_lb_lease_renew_ms(NULL), -1);
	json_decref(bad);
	json_decref(l);
}
