/* test_agent.c - the agent's pure parts: veth names, pod conditions, node readiness, and
 * the scheduler's choice of node. */
#include "controller/scheduler.h"
#include "harness/t.h"
#include "node/agent.h"

#include <net/if.h>
#include <string.h>

static json_t *js(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ASSERT(j != NULL);
	return j;
}

TEST(agent_veth_name_from_uid)
{
	char n[IFNAMSIZ];
	ASSERT_INT_EQ(node_agent_veth_name("07AF1a22-151f-4280-aa8a-183fc4e257c9", n, sizeof(n)), 0);
	ASSERT_STR_EQ(n, "svcp07af1a22");
	ASSERT_INT_EQ(node_agent_veth_name("0123-4567-89", n, sizeof(n)), 0);
	ASSERT_STR_EQ(n, "svcp01234567");
	ASSERT_INT_EQ(node_agent_veth_name("abc", n, sizeof(n)), -22);
	ASSERT_INT_EQ(node_agent_veth_name("../../etc/passwd", n, sizeof(n)), -22);
}

static const char *cond(json_t *arr, const char *type, const char *field)
{
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c) if (!strcmp(json_string_value(json_object_get(c, "type")),
						  type)) return json_string_value(json_object_get(c, field));
	return "missing";
}

TEST(agent_pod_conditions_keep_transition_times)
{
	json_t *c1 = node_agent_pod_conditions(NULL, true, false, "T1");
	ASSERT_STR_EQ(cond(c1, "Ready", "status"), "False");
	ASSERT_STR_EQ(cond(c1, "Ready", "reason"), "ContainersNotReady");
	ASSERT_STR_EQ(cond(c1, "PodScheduled", "status"), "True");
	ASSERT_STR_EQ(cond(c1, "Initialized", "status"), "True");
	json_t *c2 = node_agent_pod_conditions(c1, true, true, "T2");
	ASSERT_STR_EQ(cond(c2, "Ready", "status"), "True");
	ASSERT_STR_EQ(cond(c2, "Ready", "lastTransitionTime"), "T2");
	ASSERT_STR_EQ(cond(c2, "ContainersReady", "lastTransitionTime"), "T2");
	ASSERT_STR_EQ(cond(c2, "PodScheduled", "lastTransitionTime"), "T1");
	json_t *c3 = node_agent_pod_conditions(c2, true, true, "T3");
	ASSERT_STR_EQ(cond(c3, "Ready", "lastTransitionTime"), "T2");
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
}

#define NODE(name, ready)                                                                                    \
	"{\"metadata\":{\"name\":\"" name                                                                    \
	"\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"" ready "\"}]}}"
#define POD(node, phase) "{\"spec\":{\"nodeName\":\"" node "\"},\"status\":{\"phase\":\"" phase "\"}}"

TEST(agent_node_ready_condition)
{
	json_t *a = js(NODE("a", "True")), *b = js(NODE("b", "False")),
	       *c = js("{\"metadata\":{\"name\":\"c\"}}");
	ASSERT(node_agent_node_ready(a));
	ASSERT(!node_agent_node_ready(b));
	ASSERT(!node_agent_node_ready(c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

TEST(sched_pick_fewest_pods_on_ready_nodes)
{
	json_t *nodes = js("[" NODE("n1", "True") "," NODE("n2", "True") "," NODE("n3", "False") "]");
	json_t *pods = js("[" POD("n1", "Running") "," POD("n3", "Running") "]");
	ASSERT_STR_EQ(sched_pick_node(nodes, pods, NULL), "n2");
	json_t *extra = js("{\"n2\": 2}");
	ASSERT_STR_EQ(sched_pick_node(nodes, pods, extra), "n1");
	/* Finished pods do not count; ties go to the first name. */
	json_t *pods2 = js("[" POD("n1", "Succeeded") "]");
	ASSERT_STR_EQ(sched_pick_node(nodes, pods2, NULL), "n1");
	json_t *none = js("[" NODE("n3", "False") "," NODE("n4", "Unknown") "]");
	ASSERT(sched_pick_node(none, pods, NULL) == NULL);
	json_t *unsched = js(
	    "[{\"metadata\":{\"name\":\"u\"},\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}]");
	ASSERT(sched_pick_node(unsched, pods, NULL) == NULL);
	json_decref(nodes);
	json_decref(pods);
	json_decref(extra);
	json_decref(pods2);
	json_decref(none);
	json_decref(unsched);
}

/* kube-scheduler's FitError message: reasons counted per node, sorted as strings. */
TEST(sched_no_fit_says_why_as_kube_scheduler)
{
	json_t *nodes = js(
	    "[{\"metadata\":{\"name\":\"a\",\"labels\":{\"disk\":\"ssd\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	    "{\"metadata\":{\"name\":\"b\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
	    "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"unschedulable\":true}}," NODE("d", "False") "]");
	json_t *pods = js("[]");
	json_t *hdd = js("{\"spec\":{\"nodeSelector\":{\"disk\":\"hdd\"}}}");
	json_t *ssd = js("{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"}}}");
	json_t *empty = js("[]");
	char why[512] = "";

	ASSERT_STR_EQ(sched_pick_node_for(ssd, nodes, pods, NULL, why, sizeof(why)), "a");
	ASSERT(sched_pick_node_for(hdd, nodes, pods, NULL, why, sizeof(why)) == NULL);
	ASSERT_STR_EQ(
	    why, "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
		 "1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. "
		 "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.");
	ASSERT(sched_pick_node_for(hdd, empty, pods, NULL, why, sizeof(why)) == NULL);
	ASSERT_STR_EQ(why, "no nodes available to schedule pods");
	/* A short buffer is cut, never overrun. */
	char small[16];
	ASSERT(sched_pick_node_for(hdd, nodes, pods, NULL, small, sizeof(small)) == NULL);
	ASSERT_INT_EQ((long long)strlen(small), 15);
	json_decref(nodes);
	json_decref(pods);
	json_decref(hdd);
	json_decref(ssd);
	json_decref(empty);
}
