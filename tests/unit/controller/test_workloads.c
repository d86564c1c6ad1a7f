/* test_workloads.c - the pure decisions of the workload controllers: Kubernetes'
 * rolling-update arithmetic, ReplicaSet scale up/down/adopt/release, Deployment steps,
 * StatefulSet order, DaemonSet placement. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "controller/workloads.h"
#include "harness/t.h"

static json_t *js(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "bad JSON in test: %s", e.text);
	return o;
}

TEST(workloads_fenceposts_round_as_kubernetes)
{
	static const struct {
		const char *surge, *unavail;
		int replicas, want_surge, want_unavail;
	} cases[] = {
	    {"\"25%\"", "\"25%\"", 10, 3, 2}, /* surge rounds up, unavailable down */
	    {"\"25%\"", "\"25%\"", 1, 1, 0},
	    {"\"25%\"", "\"25%\"", 4, 1, 1},
	    {"0", "0", 5, 0, 1}, /* both zero: one may be unavailable */
	    {"1", "\"0%\"", 4, 1, 0},
	    {"\"50%\"", "\"50%\"", 3, 2, 1},
	    {"\"100%\"", "0", 7, 7, 0},
	    {"2", "3", 0, 2, 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *s = json_loads(cases[i].surge, JSON_DECODE_ANY, NULL);
		json_t *u = json_loads(cases[i].unavail, JSON_DECODE_ANY, NULL);
		int gs, gu;
		ctrl_resolve_fenceposts(s, u, cases[i].replicas, &gs, &gu);
		ASSERT_INT_EQ(gs, cases[i].want_surge);
		ASSERT_INT_EQ(gu, cases[i].want_unavail);
		json_decref(s);
		json_decref(u);
	}
	json_t *bad = json_string("x%");
	ASSERT_INT_EQ(ctrl_scaled_value(bad, 10, true), -1);
	json_decref(bad);
}

TEST(workloads_rolling_first_step_matches_kubernetes)
{
	/* replicas 10, 25%/25%: the new ReplicaSet starts at 3 (10 + 3 surge - 10), and 2
	 * old pods may go (10 available - 8 minimum). */
	int next, down;
	ctrl_rolling_step(10, 3, 2, 0, 0, 10, 10, &next, &down);
	ASSERT_INT_EQ(next, 3);
	ASSERT_INT_EQ(down, 2);
	/* New pods not available yet: old may not go below the minimum. */
	ctrl_rolling_step(10, 3, 2, 3, 0, 8, 8, &next, &down);
	ASSERT_INT_EQ(next, 5);
	ASSERT_INT_EQ(down, 0);
	/* Unhealthy old pods go first, whatever availability says. */
	ctrl_rolling_step(4, 1, 0, 1, 0, 4, 2, &next, &down);
	ASSERT_INT_EQ(next, 1);
	ASSERT_INT_EQ(down, 0);
	ctrl_rolling_step(4, 1, 0, 1, 1, 4, 2, &next, &down);
	ASSERT_INT_EQ(down, 1);
}

/* Runs a rollout to the end with pods available at once, checking the bounds at every
 * step: never more than replicas + surge pods, never fewer than replicas - unavailable
 * available. */
static void simulate(int replicas, const char *surge_s, const char *unavail_s, int *steps)
{
	json_t *s = json_loads(surge_s, JSON_DECODE_ANY, NULL),
	       *u = json_loads(unavail_s, JSON_DECODE_ANY, NULL);
	int surge, unavail;
	ctrl_resolve_fenceposts(s, u, replicas, &surge, &unavail);
	json_decref(s);
	json_decref(u);
	int ns = 0, na = 0, os = replicas, oa = replicas;
	int n = 0;
	for (; n < 200 && !(ns == replicas && os == 0); n++) {
		int next, down;
		ctrl_rolling_step(replicas, surge, unavail, ns, na, os, oa, &next, &down);
		if (next != ns) {
			ns = next; /* the controller scales the new one first; old waits a sync */
		} else {
			os -= down;
			if (oa > os)
				oa = os;
		}
		if (ns + os > replicas + surge)
			t_fail(__FILE__, __LINE__, "step %d: %d pods > %d + %d", n, ns + os, replicas, surge);
		if (na + oa < replicas - unavail)
			t_fail(__FILE__, __LINE__, "step %d: %d available < %d - %d", n, na + oa, replicas,
			       unavail);
		na = ns; /* the new pods become available */
	}
	ASSERT_INT_EQ(ns, replicas);
	ASSERT_INT_EQ(os, 0);
	*steps = n;
}

TEST(workloads_rolling_update_respects_bounds)
{
	static const struct {
		int replicas;
		const char *surge, *unavail;
	} cases[] = {
	    {10, "\"25%\"", "\"25%\""},
	    {3, "1", "0"},
	    {3, "0", "1"},
	    {5, "2", "2"},
	    {4, "\"100%\"", "0"},
	    {1, "\"25%\"", "\"25%\""},
	    {100, "\"10%\"", "0"},
	    {7, "0", "\"30%\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int steps = 0;
		simulate(cases[i].replicas, cases[i].surge, cases[i].unavail, &steps);
		ASSERT(steps > 0 && steps < 200);
	}
}

static json_t *pod(const char *name, const char *owner_uid, const char *labels, const char *node, bool ready,
		   const char *created)
{
	char buf[1024];
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"creationTimestamp\":\"%s\",\"labels\":%s%s%s%s},"
	    "\"spec\":{\"nodeName\":\"%s\"},\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\","
	    "\"status\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
	    name, created, labels,
	    owner_uid ? ",\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"" : "",
	    owner_uid ? owner_uid : "", owner_uid ? "\",\"controller\":true}]" : "", node,
	    node[0] ? "Running" : "Pending", ready ? "True" : "False", created);
	return js(buf);
}

static json_t *rs_obj(int replicas)
{
	char buf[512];
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"rs\",\"namespace\":\"ns\",\"uid\":\"u1\",\"generation\":4},\"spec\":{\"replicas\":%d,"
	    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}",
	    replicas);
	return js(buf);
}

TEST(workloads_rs_scales_up_adopts_and_releases)
{
	json_t *rs = rs_obj(4);
	json_t *pods = json_array();
	json_array_append_new(pods, pod("a", "u1", "{\"app\":\"web\"}", "n1", true, "2026-01-01T00:00:00Z"));
	json_array_append_new(pods,
			      pod("orphan", NULL, "{\"app\":\"web\"}", "n1", true, "2026-01-01T00:00:00Z"));
	json_array_append_new(pods,
			      pod("moved", "u1", "{\"app\":\"other\"}", "n1", true, "2026-01-01T00:00:00Z"));
	json_array_append_new(pods,
			      pod("theirs", "u2", "{\"app\":\"web\"}", "n1", true, "2026-01-01T00:00:00Z"));
	struct ctrl_rs_plan p;
	ASSERT_INT_EQ(ctrl_rs_plan(rs, false, pods, 1800000000, &p), 0);
	ASSERT_INT_EQ(p.create, 2); /* a and the adopted orphan count */
	ASSERT_INT_EQ(json_array_size(p.adopt), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.adopt, 0)), "orphan");
	ASSERT_INT_EQ(json_array_size(p.release), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.release, 0)), "moved");
	ASSERT_INT_EQ(json_array_size(p.deletes), 0);
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "replicas")), 2);
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "readyReplicas")), 2);
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "observedGeneration")), 4);
	ctrl_rs_plan_fini(&p);
	json_decref(pods);
	json_decref(rs);
}

TEST(workloads_rs_scale_down_prefers_unscheduled_unready_newest)
{
	json_t *rs = rs_obj(2);
	json_t *pods = json_array();
	json_array_append_new(
	    pods, pod("old-ready", "u1", "{\"app\":\"web\"}", "n1", true, "2026-01-01T00:00:00Z"));
	json_array_append_new(
	    pods, pod("new-ready", "u1", "{\"app\":\"web\"}", "n1", true, "2026-01-02T00:00:00Z"));
	json_array_append_new(pods,
			      pod("unready", "u1", "{\"app\":\"web\"}", "n1", false, "2025-01-01T00:00:00Z"));
	json_array_append_new(
	    pods, pod("unscheduled", "u1", "{\"app\":\"web\"}", "", false, "2025-01-01T00:00:00Z"));
	json_array_append_new(pods,
			      pod("gone", "u1", "{\"app\":\"web\"}", "n1", true, "2025-01-01T00:00:00Z"));
	json_object_set_new(json_object_get(json_array_get(pods, 4), "metadata"), "deletionTimestamp",
			    json_string("2026-01-03T00:00:00Z"));
	struct ctrl_rs_plan p;
	ASSERT_INT_EQ(ctrl_rs_plan(rs, false, pods, 1800000000, &p), 0);
	ASSERT_INT_EQ(p.create, 0);
	ASSERT_INT_EQ(json_array_size(p.deletes), 2);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "unscheduled");
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 1)), "unready");
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "replicas")), 4);
	ctrl_rs_plan_fini(&p);
	/* One more to go: of two ready pods, the one ready for less time goes. */
	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(1));
	json_array_remove(pods, 3);
	json_array_remove(pods, 2);
	ASSERT_INT_EQ(ctrl_rs_plan(rs, false, pods, 1800000000, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.deletes), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "new-ready");
	ctrl_rs_plan_fini(&p);
	json_decref(pods);
	json_decref(rs);
}

TEST(workloads_rc_selector_map_and_no_selector)
{
	json_t *rc = js(
	    "{\"metadata\":{\"name\":\"kubia\",\"namespace\":\"ns\",\"uid\":\"r1\"},\"spec\":{\"replicas\":3,"
	    "\"selector\":{\"app\":\"kubia\"},\"template\":{\"metadata\":{\"labels\":{\"app\":\"kubia\"}}}}}");
	json_t *pods = json_array();
	struct ctrl_rs_plan p;
	ASSERT_INT_EQ(ctrl_rs_plan(rc, true, pods, 0, &p), 0);
	ASSERT_INT_EQ(p.create, 3);
	ctrl_rs_plan_fini(&p);
	json_object_del(json_object_get(rc, "spec"), "selector");
	ASSERT_INT_EQ(ctrl_rs_plan(rc, true, pods, 0, &p), -EINVAL);
	json_decref(pods);
	json_decref(rc);
}

static json_t *deployment(const char *strategy, int replicas, const char *image)
{
	char buf[1024];
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"d1\",\"generation\":2},\"spec\":{\"replicas\":%d,"
	    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":%s,\"revisionHistoryLimit\":1,"
	    "\"progressDeadlineSeconds\":600,\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
	    "{\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}}}}",
	    replicas, strategy, image);
	return js(buf);
}

/* The ReplicaSet a plan asked for, with spec/status as given. */
static json_t *made_rs(const json_t *create, int spec, int avail)
{
	json_t *rs = json_deep_copy(create);
	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(spec));
	json_object_set_new(rs, "status",
			    json_pack("{s:i, s:i, s:i}", "replicas", spec, "readyReplicas", avail,
				      "availableReplicas", avail));
	return rs;
}

TEST(workloads_deployment_creates_then_rolls)
{
	const char *ru =
	    "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1,\"maxUnavailable\":0}}";
	json_t *d = deployment(ru, 3, "img:1");
	json_t *rss = json_array();
	struct ctrl_deploy_plan p;
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT(p.create_rs != NULL);
	const char *name =
	    json_string_value(json_object_get(json_object_get(p.create_rs, "metadata"), "name"));
	const char *hash = json_string_value(json_object_get(
	    json_object_get(json_object_get(p.create_rs, "metadata"), "labels"), "pod-template-hash"));
	ASSERT(name && hash && strlen(name) == strlen("web-") + strlen(hash));
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(p.create_rs, "spec"), "replicas")),
		      3);
	ASSERT_STR_EQ(p.revision, "1");
	json_t *rs1 = made_rs(p.create_rs, 3, 3);
	ctrl_deploy_plan_fini(&p);
	json_array_append_new(rss, rs1);
	/* Settled: nothing to do, complete. */
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT(p.create_rs == NULL);
	ASSERT_INT_EQ(json_object_size(p.scale), 0);
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "updatedReplicas")), 3);
	ctrl_deploy_plan_fini(&p);
	/* New image: a second ReplicaSet at 1 (surge 1, unavailable 0), revision 2. */
	json_decref(d);
	d = deployment(ru, 3, "img:2");
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT(p.create_rs != NULL);
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(p.create_rs, "spec"), "replicas")),
		      1);
	ASSERT_STR_EQ(p.revision, "2");
	json_t *rs2 = made_rs(p.create_rs, 1, 0);
	ctrl_deploy_plan_fini(&p);
	json_array_append_new(rss, rs2);
	/* Until the new pod is available, the old ReplicaSet keeps all 3. */
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT_INT_EQ(json_object_size(p.scale), 0);
	ctrl_deploy_plan_fini(&p);
	/* Available: one old pod may go. */
	json_object_set_new(json_object_get(rs2, "status"), "availableReplicas", json_integer(1));
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT_INT_EQ(
	    json_integer_value(json_object_get(
		p.scale, json_string_value(json_object_get(json_object_get(rs1, "metadata"), "name")))),
	    2);
	ctrl_deploy_plan_fini(&p);
	/* Rollback (kubectl rollout undo sends creationTimestamp: null): the first ReplicaSet
	 * is reused and becomes revision 3. */
	json_decref(d);
	d = deployment(ru, 3, "img:1");
	json_object_set_new(
	    json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "metadata"),
	    "creationTimestamp", json_null());
	json_object_set_new(json_object_get(json_object_get(rs1, "metadata"), "annotations"),
			    "deployment.kubernetes.io/revision", json_string("1"));
	json_object_set_new(json_object_get(json_object_get(rs2, "metadata"), "annotations"),
			    "deployment.kubernetes.io/revision", json_string("2"));
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	ASSERT(p.create_rs == NULL);
	ASSERT_STR_EQ(p.revision, "3");
	ASSERT_INT_EQ(json_object_size(p.annotate), 1);
	ctrl_deploy_plan_fini(&p);
	json_decref(rss);
	json_decref(d);
}

TEST(workloads_deployment_recreate_scales_old_to_zero_first)
{
	json_t *d = deployment("{\"type\":\"Recreate\"}", 2, "img:1");
	json_t *rss = json_array();
	struct ctrl_deploy_plan p;
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	json_t *rs1 = made_rs(p.create_rs, 2, 2);
	ctrl_deploy_plan_fini(&p);
	json_array_append_new(rss, rs1);
	json_decref(d);
	d = deployment("{\"type\":\"Recreate\"}", 2, "img:2");
	ASSERT_INT_EQ(ctrl_deploy_plan(d, rss, 0, &p), 0);
	/* The new ReplicaSet is made with 0 while old pods run, and the old goes to 0. */
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(p.create_rs, "spec"), "replicas")),
		      0);
	ctrl_deploy_plan_fini(&p);
	json_decref(rss);
	json_decref(d);
}

TEST(workloads_statefulset_ordered_with_identity)
{
	json_t *sts = js(
	    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"s1\"},\"spec\":{\"replicas\":2,"
	    "\"serviceName\":\"nginx\",\"podManagementPolicy\":\"OrderedReady\",\"selector\":{\"matchLabels\":"
	    "{\"app\":\"nginx\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"nginx\"}},\"spec\":{}}}}");
	json_t *pods = json_array();
	struct ctrl_sts_plan p;
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	json_t *p0 = json_array_get(p.create, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(p0, "metadata"), "name")), "web-0");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(p0, "spec"), "hostname")), "web-0");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(p0, "spec"), "subdomain")), "nginx");
	/* web-0 exists but is not ready: web-1 waits. */
	json_t *made = json_deep_copy(p0);
	json_object_set_new(made, "status",
			    json_pack("{s:s, s:[{s:s, s:s}]}", "phase", "Running", "conditions", "type",
				      "Ready", "status", "False"));
	json_array_append_new(pods, made);
	ctrl_sts_plan_fini(&p);
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ctrl_sts_plan_fini(&p);
	/* Ready: web-1 comes. */
	json_object_set_new(json_array_get(json_object_get(json_object_get(made, "status"), "conditions"), 0),
			    "status", json_string("True"));
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(json_array_get(p.create, 0), "metadata"), "name")),
		      "web-1");
	ctrl_sts_plan_fini(&p);
	/* Scaled to 0: the highest ordinal goes first. */
	json_object_set_new(json_object_get(sts, "spec"), "replicas", json_integer(0));
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.deletes), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "web-0");
	ctrl_sts_plan_fini(&p);
	json_decref(pods);
	json_decref(sts);
}

TEST(workloads_daemonset_one_pod_per_eligible_node)
{
	json_t *ds = js(
	    "{\"metadata\":{\"name\":\"agent\",\"namespace\":\"ns\",\"uid\":\"x1\"},\"spec\":{\"selector\":"
	    "{\"matchLabels\":{\"app\":\"a\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":"
	    "{\"nodeSelector\":{\"role\":\"edge\"}}}}}");
	json_t *nodes =
	    js("[{\"metadata\":{\"name\":\"n1\",\"labels\":{\"role\":\"edge\"}},\"status\":{\"conditions\":"
	       "[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	       "{\"metadata\":{\"name\":\"n2\",\"labels\":{\"role\":\"core\"}},\"status\":{\"conditions\":"
	       "[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	       "{\"metadata\":{\"name\":\"n3\",\"labels\":{\"role\":\"edge\"}},\"status\":{\"conditions\":"
	       "[{\"type\":\"Ready\",\"status\":\"False\"}]}},"
	       "{\"metadata\":{\"name\":\"n4\",\"labels\":{\"role\":\"edge\"}},\"status\":{\"conditions\":"
	       "[{\"type\":\"Ready\",\"status\":\"True\"}]}}]");
	json_t *pods = json_array();
	struct ctrl_ds_plan p;
	ASSERT_INT_EQ(ctrl_ds_plan(ds, pods, nodes, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 2);
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(json_array_get(p.create, 0), "spec"), "nodeName")),
		      "n1");
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(json_array_get(p.create, 1), "spec"), "nodeName")),
		      "n4");
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "desiredNumberScheduled")), 2);
	ctrl_ds_plan_fini(&p);
	json_decref(pods);
	json_decref(nodes);
	json_decref(ds);
}

TEST(workloads_template_hash_is_stable_and_safe)
{
	json_t *t = js("{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[]}}");
	char *h1 = ctrl_template_hash(t, 0), *h2 = ctrl_template_hash(t, 0), *h3 = ctrl_template_hash(t, 1);
	ASSERT_STR_EQ(h1, h2);
	ASSERT(strcmp(h1, h3) != 0);
	ASSERT(strspn(h1, "bcdfghjklmnpqrstvwxz2456789") == strlen(h1));
	free(h1);
	free(h2);
	free(h3);
	json_decref(t);
}

/* A running, ready pod of a StatefulSet or DaemonSet with the given revision label. */
static json_t *owned_pod(const char *name, const char *uid, const char *rev, const char *node)
{
	char buf[768];
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"labels\":{\"controller-revision-hash\":\"%s\"},"
	    "\"ownerReferences\":[{\"uid\":\"%s\",\"controller\":true}]},\"spec\":{\"nodeName\":\"%s\"},"
	    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
	    name, rev, uid, node);
	return js(buf);
}

TEST(workloads_statefulset_rolls_down_to_partition)
{
	json_t *sts = js(
	    "{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns\",\"uid\":\"s2\"},\"spec\":{\"replicas\":3,"
	    "\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}},"
	    "\"selector\":{\"matchLabels\":{\"app\":\"db\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"db\"}},"
	    "\"spec\":{}}}}");
	json_t *pods = json_array();
	for (int i = 0; i < 3; i++) {
		char n[16];
		snprintf(n, sizeof(n), "db-%d", i);
		json_array_append_new(pods, owned_pod(n, "s2", "db-old", "n1"));
	}
	struct ctrl_sts_plan p;
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	/* The highest ordinal first, one at a time. */
	ASSERT_INT_EQ(json_array_size(p.deletes), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "db-2");
	const char *update = json_string_value(json_object_get(p.status, "updateRevision"));
	char *upd = strdup(update);
	ctrl_sts_plan_fini(&p);
	/* db-2 and db-1 updated: db-0 is below the partition and stays. */
	json_object_set_new(json_object_get(json_object_get(json_array_get(pods, 2), "metadata"), "labels"),
			    "controller-revision-hash", json_string(upd));
	json_object_set_new(json_object_get(json_object_get(json_array_get(pods, 1), "metadata"), "labels"),
			    "controller-revision-hash", json_string(upd));
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.deletes), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "updatedReplicas")), 2);
	ctrl_sts_plan_fini(&p);
	free(upd);
	json_decref(pods);
	json_decref(sts);
}

/* A pod below the partition that is deleted comes back from the current revision's
 * template with its label (Kubernetes' newVersionedStatefulSetPod); at or above the
 * partition, from the update revision. */
TEST(workloads_statefulset_recreates_below_partition_at_current_revision)
{
	json_t *sts =
	    js("{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns\",\"uid\":\"s4\"},\"spec\":{\"replicas\":3,"
	       "\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":2}},"
	       "\"selector\":{\"matchLabels\":{\"app\":\"db\"}},\"template\":{\"metadata\":{\"labels\":"
	       "{\"app\":\"db\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"new\"}]}}},"
	       "\"status\":{\"currentRevision\":\"db-old\",\"currentReplicas\":2}}");
	json_t *cur_tmpl = js("{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":"
			      "[{\"name\":\"c\",\"image\":\"old\"}]},\"$patch\":\"replace\"}");
	struct ctrl_sts_plan p;
	json_t *none = json_array();
	ASSERT_INT_EQ(ctrl_sts_plan(sts, none, NULL, 0, &p), 0);
	json_decref(none);
	char *upd = strdup(json_string_value(json_object_get(p.status, "updateRevision")));
	ctrl_sts_plan_fini(&p);
	json_t *pods = json_array();
	json_array_append_new(pods, owned_pod("db-1", "s4", "db-old", "n1"));
	json_array_append_new(pods, owned_pod("db-2", "s4", upd, "n1"));
	/* db-0 deleted: back at the current revision. */
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, cur_tmpl, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	json_t *np = json_array_get(p.create, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(np, "metadata"), "name")), "db-0");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(json_object_get(np, "metadata"), "labels"),
					      "controller-revision-hash")),
	    "db-old");
	json_t *c0 = json_array_get(json_object_get(json_object_get(np, "spec"), "containers"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(c0, "image")), "old");
	ASSERT(json_object_get(np, "$patch") == NULL);
	ctrl_sts_plan_fini(&p);
	/* No current revision's template known: the update revision, as Kubernetes does
	 * when status.currentRevision names no ControllerRevision. */
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	np = json_array_get(p.create, 0);
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(json_object_get(np, "metadata"), "labels"),
					      "controller-revision-hash")),
	    upd);
	ctrl_sts_plan_fini(&p);
	/* db-2 (at the partition) deleted instead: back at the update revision. */
	json_array_remove(pods, 1);
	json_array_insert_new(pods, 0, owned_pod("db-0", "s4", "db-old", "n1"));
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, cur_tmpl, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	np = json_array_get(p.create, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(np, "metadata"), "name")), "db-2");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(json_object_get(np, "metadata"), "labels"),
					      "controller-revision-hash")),
	    upd);
	c0 = json_array_get(json_object_get(json_object_get(np, "spec"), "containers"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(c0, "image")), "new");
	ctrl_sts_plan_fini(&p);
	/* OnDelete: every new pod at the update revision. */
	json_object_set_new(json_object_get(sts, "spec"), "updateStrategy", js("{\"type\":\"OnDelete\"}"));
	json_array_remove(pods, 0);
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, cur_tmpl, 0, &p), 0);
	np = json_array_get(p.create, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(np, "metadata"), "name")), "db-0");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(json_object_get(np, "metadata"), "labels"),
					      "controller-revision-hash")),
	    upd);
	ctrl_sts_plan_fini(&p);
	free(upd);
	json_decref(pods);
	json_decref(cur_tmpl);
	json_decref(sts);
}

TEST(workloads_daemonset_rolls_within_max_unavailable)
{
	json_t *ds = js(
	    "{\"metadata\":{\"name\":\"agent\",\"namespace\":\"ns\",\"uid\":\"x2\"},\"spec\":{\"selector\":"
	    "{\"matchLabels\":{\"app\":\"a\"}},\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	    "{\"maxUnavailable\":1}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\"}},\"spec\":{}}}}");
	json_t *nodes = js(
	    "[{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	    "{\"metadata\":{\"name\":\"n2\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	    "{\"metadata\":{\"name\":\"n3\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]");
	json_t *pods = json_array();
	json_array_append_new(pods, owned_pod("a1", "x2", "old", "n1"));
	json_array_append_new(pods, owned_pod("a2", "x2", "old", "n2"));
	json_array_append_new(pods, owned_pod("a3", "x2", "old", "n3"));
	json_array_append_new(pods, owned_pod("stray", "x2", "old", "gone-node"));
	struct ctrl_ds_plan p;
	ASSERT_INT_EQ(ctrl_ds_plan(ds, pods, nodes, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 0);
	/* The pod on a node that is gone, and one old pod (maxUnavailable 1). */
	ASSERT_INT_EQ(json_array_size(p.deletes), 2);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "stray");
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 1)), "a1");
	ASSERT_INT_EQ(json_integer_value(json_object_get(p.status, "updatedNumberScheduled")), 0);
	ctrl_ds_plan_fini(&p);
	/* a1 gone, its replacement not there yet: no other old pod may go. */
	json_array_remove(pods, 3);
	json_array_remove(pods, 0);
	ASSERT_INT_EQ(ctrl_ds_plan(ds, pods, nodes, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 1);
	ASSERT_INT_EQ(json_array_size(p.deletes), 0);
	ctrl_ds_plan_fini(&p);
	json_decref(pods);
	json_decref(nodes);
	json_decref(ds);
}

TEST(workloads_statefulset_parallel_creates_and_deletes_at_once)
{
	json_t *sts =
	    js("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"s3\"},\"spec\":{\"replicas\":3,"
	       "\"podManagementPolicy\":\"Parallel\",\"selector\":{\"matchLabels\":{\"app\":\"p\"}},"
	       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"p\"}},\"spec\":{}}}}");
	json_t *pods = json_array();
	struct ctrl_sts_plan p;
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.create), 3);
	ctrl_sts_plan_fini(&p);
	json_array_append_new(pods, owned_pod("p-0", "s3", "x", "n1"));
	json_array_append_new(pods, owned_pod("p-1", "s3", "x", "n1"));
	json_array_append_new(pods, owned_pod("p-2", "s3", "x", "n1"));
	json_object_set_new(json_object_get(sts, "spec"), "replicas", json_integer(1));
	ASSERT_INT_EQ(ctrl_sts_plan(sts, pods, NULL, 0, &p), 0);
	ASSERT_INT_EQ(json_array_size(p.deletes), 2);
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 0)), "p-2");
	ASSERT_STR_EQ(json_string_value(json_array_get(p.deletes, 1)), "p-1");
	ctrl_sts_plan_fini(&p);
	json_decref(pods);
	json_decref(sts);
}
