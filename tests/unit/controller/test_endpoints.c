/* test_endpoints.c - the Endpoints controller's rules, one table row or case per rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/object.h"
#include "controller/endpoints.h"
#include "harness/t.h"

#define NOW1 "2026-01-02T03:04:05Z"
#define NOW2 "2026-01-02T03:09:00Z"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON (%s): %s", e.text, s);
	return j;
}

/* A pod of app=web in namespace ns; ip6 may be NULL; ready sets the Ready condition. */
static json_t *pod(const char *name, const char *ip4, const char *ip6, bool ready)
{
	json_t *p =
	    json_pack("{s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:[{s:s,s:i,s:s}]}]},s:{s:s,s:[{s:s,s:s}]}}",
		      "metadata", "name", name, "namespace", "ns", "uid", name, "labels", "app", "web",
		      "spec", "nodeName", "node-a", "containers", "name", "c", "ports", "name", "http",
		      "containerPort", 8080, "protocol", "TCP", "status", "phase", "Running", "conditions",
		      "type", "Ready", "status", ready ? "True" : "False");
	json_t *ips = json_array();
	char uid[64];
	snprintf(uid, sizeof(uid), "uid-%s", name);
	json_object_set_new(json_object_get(p, "metadata"), "uid", json_string(uid));
	if (ip4) {
		json_object_set_new(json_object_get(p, "status"), "podIP", json_string(ip4));
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip4));
	}
	if (ip6) {
		if (!ip4)
			json_object_set_new(json_object_get(p, "status"), "podIP", json_string(ip6));
		json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
	}
	json_object_set_new(json_object_get(p, "status"), "podIPs", ips);
	return p;
}

static json_t *svc(void)
{
	return J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"svc-uid\",\"labels\":{"
		 "\"team\":\"a\"}},"
		 "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"198.18.100.1\",\"ipFamilies\":[\"IPv4\"],"
		 "\"selector\":{\"app\":\"web\"},"
		 "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}]}}");
}

static const char *ann(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(api_get(o, "metadata.annotations"), k));
}

static size_t count(const json_t *ep, const char *list)
{
	size_t n = 0, i;
	json_t *ss;
	json_array_foreach(json_object_get(ep, "subsets"), i, ss) n +=
	    json_array_size(json_object_get(ss, list));
	return n;
}

static const char *addr_ip(const json_t *ep, size_t subset, const char *list, size_t i)
{
	return api_str(
	    json_array_get(json_object_get(json_array_get(json_object_get(ep, "subsets"), subset), list), i),
	    "ip");
}

TEST(endpoints_basic_ready_and_not_ready)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_array_append_new(pods, pod("b", "198.18.0.20", NULL, true));
	json_array_append_new(pods, pod("a", "198.18.0.3", NULL, true));
	json_array_append_new(pods, pod("c", "198.18.0.4", NULL, false));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT(ep);
	ASSERT_STR_EQ(api_str(ep, "kind"), "Endpoints");
	ASSERT_STR_EQ(api_str(ep, "metadata.name"), "web");
	ASSERT_STR_EQ(api_str(ep, "metadata.namespace"), "ns");
	ASSERT_STR_EQ(api_str(ep, "metadata.labels.team"), "a");
	ASSERT(!json_object_get(api_get(ep, "metadata.labels"), CTRL_LABEL_HEADLESS));
	ASSERT_STR_EQ(ann(ep, CTRL_ANN_TRIGGER_TIME), NOW1);
	ASSERT(!ann(ep, CTRL_ANN_OVER_CAPACITY));
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 1);
	/* Sorted by IP text, as Go compares strings: "198.18.0.20" < "198.18.0.3". */
	ASSERT_STR_EQ(addr_ip(ep, 0, "addresses", 0), "198.18.0.20");
	ASSERT_STR_EQ(addr_ip(ep, 0, "addresses", 1), "198.18.0.3");
	ASSERT_STR_EQ(addr_ip(ep, 0, "notReadyAddresses", 0), "198.18.0.4");
	json_t *a =
	    json_array_get(api_get(json_array_get(json_object_get(ep, "subsets"), 0), "addresses"), 1);
	ASSERT_STR_EQ(api_str(a, "nodeName"), "node-a");
	ASSERT_STR_EQ(api_str(a, "targetRef.kind"), "Pod");
	ASSERT_STR_EQ(api_str(a, "targetRef.namespace"), "ns");
	ASSERT_STR_EQ(api_str(a, "targetRef.name"), "a");
	ASSERT_STR_EQ(api_str(a, "targetRef.uid"), "uid-a");
	ASSERT(!api_get(a, "hostname"));
	json_t *port = json_array_get(api_get(json_array_get(json_object_get(ep, "subsets"), 0), "ports"), 0);
	ASSERT_STR_EQ(api_str(port, "name"), "http");
	ASSERT_INT_EQ(json_integer_value(json_object_get(port, "port")), 8080);
	ASSERT_STR_EQ(api_str(port, "protocol"), "TCP");
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_none_without_selector_or_for_external_name)
{
	json_t *s = svc(), *pods = json_array();
	json_array_append_new(pods, pod("a", "198.18.0.3", NULL, true));
	json_object_del(json_object_get(s, "spec"), "selector");
	ASSERT(ctrl_endpoints_desired(s, pods, NULL, NOW1) == NULL);
	json_object_set_new(json_object_get(s, "spec"), "selector", json_object());
	ASSERT(ctrl_endpoints_desired(s, pods, NULL, NOW1) == NULL);
	json_decref(s);
	s = svc();
	json_object_set_new(json_object_get(s, "spec"), "type", json_string("ExternalName"));
	ASSERT(ctrl_endpoints_desired(s, pods, NULL, NOW1) == NULL);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_which_pods_are_in)
{
	static const struct {
		const char *what;
		const char *patch; /* merged into the pod's JSON */
		bool in;
	} rows[] = {
	    {"running", "{}", true},
	    {"succeeded", "{\"status\":{\"phase\":\"Succeeded\"}}", false},
	    {"failed", "{\"status\":{\"phase\":\"Failed\"}}", false},
	    {"pending with IP", "{\"status\":{\"phase\":\"Pending\"}}", true},
	    {"no IP", "{\"status\":{\"podIP\":null,\"podIPs\":null}}", false},
	    {"other namespace", "{\"metadata\":{\"namespace\":\"other\"}}", false},
	    {"other labels", "{\"metadata\":{\"labels\":{\"app\":\"db\"}}}", false},
	    {"terminating", "{\"metadata\":{\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"}}", false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *s = svc(), *pods = json_array(), *p = pod("a", "198.18.0.3", NULL, true),
		       *patch = J(rows[i].patch);
		const char *k;
		json_t *v;
		json_object_foreach(patch, k, v)
		{
			json_t *dst = json_object_get(p, k);
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2)
			{
				if (json_is_null(v2))
					json_object_del(dst, k2);
				else
					json_object_set(dst, k2, v2);
			}
		}
		json_array_append_new(pods, p);
		json_t *ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
		if ((count(ep, "addresses") == 1) != rows[i].in)
			t_fail(__FILE__, __LINE__, "%s: in=%d, want %d", rows[i].what, !rows[i].in,
			       rows[i].in);
		json_decref(ep);
		json_decref(patch);
		json_decref(pods);
		json_decref(s);
	}
}

TEST(endpoints_publish_not_ready_and_tolerate_annotation)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_t *term = pod("t", "198.18.0.5", NULL, true);
	json_object_set_new(json_object_get(term, "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	json_array_append_new(pods, term);
	json_array_append_new(pods, pod("n", "198.18.0.6", NULL, false));

	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 0);
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 1); /* terminating dropped, unready listed */
	json_decref(ep);

	json_object_set_new(json_object_get(s, "spec"), "publishNotReadyAddresses", json_true());
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 2);
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 0);
	json_decref(ep);

	json_object_set_new(json_object_get(s, "spec"), "publishNotReadyAddresses", json_false());
	json_object_set_new(api_obj(json_object_get(s, "metadata"), "annotations"), CTRL_ANN_TOLERATE_UNREADY,
			    json_string("True"));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 2);
	json_decref(ep);

	json_object_set_new(api_get(s, "metadata.annotations"), CTRL_ANN_TOLERATE_UNREADY,
			    json_string("yes"));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1); /* not a Go bool: ignored */
	ASSERT_INT_EQ(count(ep, "addresses"), 0);
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

static void set_http_port(json_t *p, int port, const char *proto)
{
	json_t *cp = json_array_get(api_get(json_array_get(api_get(p, "spec.containers"), 0), "ports"), 0);
	json_object_set_new(cp, "containerPort", json_integer(port));
	json_object_set_new(cp, "protocol", json_string(proto));
}

TEST(endpoints_named_target_port_per_pod)
{
	json_t *s = svc(), *pods = json_array(), *ep, *a, *b, *c, *d, *e;
	json_object_set_new(json_array_get(api_get(s, "spec.ports"), 0), "targetPort", json_string("http"));
	a = pod("a", "198.18.0.1", NULL, true);
	b = pod("b", "198.18.0.2", NULL, true);
	set_http_port(b, 9090, "TCP");
	c = pod("c", "198.18.0.3", NULL, true);
	json_object_set_new(
	    json_array_get(api_get(json_array_get(api_get(c, "spec.containers"), 0), "ports"), 0), "name",
	    json_string("web"));
	d = pod("d", "198.18.0.4", NULL, true);
	set_http_port(d, 8080, "UDP"); /* a named port matches only with the Service port's protocol */
	/* e: the port lives in a sidecar (restartable init container) */
	e = pod("e", "198.18.0.5", NULL, true);
	json_object_set_new(
	    json_object_get(e, "spec"), "initContainers",
	    J("[{\"name\":\"side\",\"restartPolicy\":\"Always\",\"ports\":[{\"name\":\"http\","
	      "\"containerPort\":7070,\"protocol\":\"TCP\"}]}]"));
	json_array_clear(api_get(json_array_get(api_get(e, "spec.containers"), 0), "ports"));
	json_array_append_new(pods, a);
	json_array_append_new(pods, b);
	json_array_append_new(pods, c);
	json_array_append_new(pods, d);
	json_array_append_new(pods, e);
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 3);
	ASSERT_INT_EQ(count(ep, "addresses"), 3);
	/* Each subset is one port with one pod. */
	for (size_t i = 0; i < 3; i++) {
		json_t *ss = json_array_get(json_object_get(ep, "subsets"), i);
		int port = (int)json_integer_value(
		    json_object_get(json_array_get(json_object_get(ss, "ports"), 0), "port"));
		const char *ip = api_str(json_array_get(json_object_get(ss, "addresses"), 0), "ip");
		if (port == 8080)
			ASSERT_STR_EQ(ip, "198.18.0.1");
		else if (port == 9090)
			ASSERT_STR_EQ(ip, "198.18.0.2");
		else if (port == 7070)
			ASSERT_STR_EQ(ip, "198.18.0.5");
		else
			t_fail(__FILE__, __LINE__, "unexpected port %d", port);
	}
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_repack_groups_ports_by_address_set)
{
	json_t *s = svc(), *pods = json_array(), *ep, *b;
	json_array_append_new(
	    json_object_get(json_object_get(s, "spec"), "ports"),
	    J("{\"name\":\"metrics\",\"port\":9100,\"targetPort\":\"metrics\",\"protocol\":\"TCP\"}"));
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true));
	b = pod("b", "198.18.0.2", NULL, true);
	json_array_append_new(api_get(json_array_get(api_get(b, "spec.containers"), 0), "ports"),
			      J("{\"name\":\"metrics\",\"containerPort\":9100,\"protocol\":\"TCP\"}"));
	json_array_append_new(pods, b);
	json_array_append_new(pods, pod("c", "198.18.0.3", NULL, true));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	/* http: a, b, c; metrics: b only -> two subsets. */
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 2);
	size_t with3 = 0, with1 = 0, i;
	json_t *ss;
	json_array_foreach(json_object_get(ep, "subsets"), i, ss)
	{
		size_t n = json_array_size(json_object_get(ss, "addresses"));
		ASSERT_INT_EQ(json_array_size(json_object_get(ss, "ports")), 1);
		if (n == 3)
			with3++;
		if (n == 1) {
			with1++;
			ASSERT_STR_EQ(api_str(json_array_get(json_object_get(ss, "ports"), 0), "name"),
				      "metrics");
		}
	}
	ASSERT_INT_EQ(with3, 1);
	ASSERT_INT_EQ(with1, 1);
	json_decref(ep);

	/* When every pod has both ports, one subset lists both ports. */
	json_array_clear(pods);
	for (int k = 0; k < 2; k++) {
		char name[16], ip[32];
		snprintf(name, sizeof(name), "p%d", k);
		snprintf(ip, sizeof(ip), "198.18.1.%d", k + 1);
		json_t *p = pod(name, ip, NULL, k == 0);
		json_array_append_new(api_get(json_array_get(api_get(p, "spec.containers"), 0), "ports"),
				      J("{\"name\":\"metrics\",\"containerPort\":9100}"));
		json_array_append_new(pods, p);
	}
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 1);
	ss = json_array_get(json_object_get(ep, "subsets"), 0);
	ASSERT_INT_EQ(json_array_size(json_object_get(ss, "ports")), 2);
	ASSERT_INT_EQ(json_array_size(json_object_get(ss, "addresses")), 1);
	ASSERT_INT_EQ(json_array_size(json_object_get(ss, "notReadyAddresses")), 1);
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_hostname_only_with_matching_subdomain)
{
	json_t *s = svc(), *pods = json_array(), *ep, *a, *b;
	a = pod("a", "198.18.0.1", NULL, true);
	json_object_set_new(json_object_get(a, "spec"), "hostname", json_string("host-a"));
	json_object_set_new(json_object_get(a, "spec"), "subdomain", json_string("web"));
	b = pod("b", "198.18.0.2", NULL, true);
	json_object_set_new(json_object_get(b, "spec"), "hostname", json_string("host-b"));
	json_object_set_new(json_object_get(b, "spec"), "subdomain", json_string("other"));
	json_array_append_new(pods, a);
	json_array_append_new(pods, b);
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	json_t *addrs = json_object_get(json_array_get(json_object_get(ep, "subsets"), 0), "addresses");
	ASSERT_STR_EQ(api_str(json_array_get(addrs, 0), "hostname"), "host-a");
	ASSERT(!api_get(json_array_get(addrs, 1), "hostname"));
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_dual_stack_uses_primary_family)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_object_set_new(json_object_get(s, "spec"), "ipFamilies", J("[\"IPv6\",\"IPv4\"]"));
	json_object_set_new(json_object_get(s, "spec"), "clusterIP", json_string("2001:db8::10"));
	json_array_append_new(pods, pod("a", "198.18.0.1", "2001:db8:0:0::0001", true));
	json_array_append_new(pods, pod("b", "198.18.0.2", NULL, true)); /* no IPv6: skipped */
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 1);
	ASSERT_STR_EQ(addr_ip(ep, 0, "addresses", 0), "2001:db8::1"); /* canonical text */
	json_decref(ep);

	json_object_set_new(json_object_get(s, "spec"), "ipFamilies", J("[\"IPv4\",\"IPv6\"]"));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 2);
	ASSERT_STR_EQ(addr_ip(ep, 0, "addresses", 0), "198.18.0.1");
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_headless_label_and_no_ports)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_object_set_new(json_object_get(s, "spec"), "clusterIP", json_string("None"));
	json_object_set_new(json_object_get(s, "spec"), "ports", json_array());
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true));
	json_array_append_new(pods, pod("b", "198.18.0.2", NULL, false));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT(json_object_get(api_get(ep, "metadata.labels"), CTRL_LABEL_HEADLESS));
	ASSERT_STR_EQ(api_str(ep, "metadata.labels.team"), "a");
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 1);
	json_t *ss = json_array_get(json_object_get(ep, "subsets"), 0);
	ASSERT(!json_object_get(ss, "ports"));
	ASSERT_INT_EQ(json_array_size(json_object_get(ss, "addresses")), 1);
	ASSERT_INT_EQ(json_array_size(json_object_get(ss, "notReadyAddresses")), 1);
	json_decref(ep);

	/* A ClusterIP Service without ports gets no subsets. */
	json_object_set_new(json_object_get(s, "spec"), "clusterIP", json_string("198.18.100.1"));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT(!json_object_get(ep, "subsets"));
	ASSERT(!json_object_get(api_get(ep, "metadata.labels"), CTRL_LABEL_HEADLESS));
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

static json_t *many_pods(int ready, int not_ready)
{
	json_t *pods = json_array();
	for (int i = 0; i < ready + not_ready; i++) {
		char name[16], ip[32];
		snprintf(name, sizeof(name), "p%04d", i);
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, i % 250 + 1);
		json_array_append_new(pods, pod(name, ip, NULL, i < ready));
	}
	return pods;
}

TEST(endpoints_capped_at_1000_ready_first)
{
	json_t *s = svc(), *pods = many_pods(1200, 0), *ep;
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 1000);
	ASSERT_STR_EQ(ann(ep, CTRL_ANN_OVER_CAPACITY), "truncated");
	json_decref(ep);
	json_decref(pods);

	pods = many_pods(900, 300);
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 900);
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 100);
	ASSERT_STR_EQ(ann(ep, CTRL_ANN_OVER_CAPACITY), "truncated");
	json_decref(ep);
	json_decref(pods);

	pods = many_pods(1200, 10);
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(count(ep, "addresses"), 1000);
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 0);
	json_decref(ep);
	json_decref(pods);

	/* Back under the cap: the annotation goes away. */
	pods = many_pods(10, 0);
	json_t *cur =
	    J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"resourceVersion\":\"7\","
	      "\"annotations\":{\"endpoints.kubernetes.io/over-capacity\":\"truncated\",\"x\":\"y\"}}}");
	ep = ctrl_endpoints_desired(s, pods, cur, NOW1);
	ASSERT(!ann(ep, CTRL_ANN_OVER_CAPACITY));
	ASSERT_STR_EQ(ann(ep, "x"), "y");
	ASSERT_STR_EQ(api_str(ep, "metadata.resourceVersion"), "7");
	json_decref(ep);
	json_decref(cur);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_trigger_time_kept_when_unchanged)
{
	json_t *s = svc(), *pods = many_pods(3, 1), *ep1, *ep2, *ep3;
	ep1 = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	json_object_set_new(json_object_get(ep1, "metadata"), "resourceVersion", json_string("5"));
	ep2 = ctrl_endpoints_desired(s, pods, ep1, NOW2);
	ASSERT_STR_EQ(ann(ep2, CTRL_ANN_TRIGGER_TIME), NOW1);
	ASSERT(ctrl_endpoints_equal(ep1, ep2));
	/* One pod turns ready: the trigger time moves and the objects differ. */
	json_object_set_new(json_array_get(api_get(json_array_get(pods, 3), "status.conditions"), 0),
			    "status", json_string("True"));
	ep3 = ctrl_endpoints_desired(s, pods, ep1, NOW2);
	ASSERT_STR_EQ(ann(ep3, CTRL_ANN_TRIGGER_TIME), NOW2);
	ASSERT(!ctrl_endpoints_equal(ep1, ep3));
	ASSERT_STR_EQ(api_str(ep3, "metadata.resourceVersion"), "5");
	json_decref(ep3);
	/* A Service label change is a change. */
	json_object_set_new(api_get(s, "metadata.labels"), "team", json_string("b"));
	ep3 = ctrl_endpoints_desired(s, pods, ep1, NULL);
	ASSERT(!ctrl_endpoints_equal(ep1, ep3));
	ASSERT(!ann(ep3, CTRL_ANN_TRIGGER_TIME)); /* no trigger time: cleared */
	json_decref(ep3);
	json_decref(ep2);
	json_decref(ep1);
	json_decref(pods);
	json_decref(s);
}

TEST(endpoints_equal_ignores_target_ref_resource_version)
{
	json_t *a =
	    J("{\"metadata\":{\"name\":\"web\",\"annotations\":{\"endpoints.kubernetes.io/"
	      "last-change-trigger-time\":\"" NOW1 "\"}},\"subsets\":[{\"addresses\":[{\"ip\":\"198.18.0.1\","
	      "\"targetRef\":{\"kind\":\"Pod\",\"name\":\"a\",\"resourceVersion\":\"1\"}}]}]}");
	json_t *b = J(
	    "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"9\"},\"subsets\":[{\"addresses\":[{\"ip\":"
	    "\"198.18.0.1\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"a\",\"resourceVersion\":\"2\"}}]}]}");
	json_t *c = J("{\"metadata\":{\"name\":\"web\"},\"subsets\":[]}");
	json_t *d = J("{\"metadata\":{\"name\":\"web\",\"labels\":{}}}");
	ASSERT(ctrl_endpoints_equal(a, b));
	ASSERT(!ctrl_endpoints_equal(a, c));
	ASSERT(ctrl_endpoints_equal(c, d));
	ASSERT(!ctrl_endpoints_equal(a, NULL));
	ASSERT(ctrl_endpoints_equal(NULL, NULL));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

TEST(endpoints_same_ip_two_pods_sorted_by_uid)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_array_append_new(pods, pod("z", "198.18.0.1", NULL, true));
	json_array_append_new(pods, pod("m", "198.18.0.1", NULL, true));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	json_t *addrs = json_object_get(json_array_get(json_object_get(ep, "subsets"), 0), "addresses");
	ASSERT_INT_EQ(json_array_size(addrs), 2);
	ASSERT_STR_EQ(api_str(json_array_get(addrs, 0), "targetRef.uid"), "uid-m");
	ASSERT_STR_EQ(api_str(json_array_get(addrs, 1), "targetRef.uid"), "uid-z");
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}

/* The result shares unchanged parts with current: current itself is never written. */
TEST(endpoints_current_is_never_modified)
{
	json_t *s = svc(), *pods = json_array(), *cur, *before, *ep;
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true));
	json_array_append_new(pods, pod("b", "198.18.0.2", NULL, true));
	cur = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	json_object_set_new(api_obj(api_obj(cur, "metadata"), "annotations"), "x", json_string("y"));
	json_object_set_new(api_obj(cur, "metadata"), "resourceVersion", json_string("5"));
	before = json_deep_copy(cur);
	json_object_set_new(json_array_get(api_get(json_array_get(pods, 1), "status.conditions"), 0),
			    "status", json_string("False"));
	ep = ctrl_endpoints_desired(s, pods, cur, NOW2);
	ASSERT(json_equal(cur, before));
	ASSERT(!ctrl_endpoints_equal(ep, cur));
	ASSERT_STR_EQ(ann(ep, CTRL_ANN_TRIGGER_TIME), NOW2);
	ASSERT_STR_EQ(ann(ep, "x"), "y");
	ASSERT_STR_EQ(api_str(ep, "metadata.resourceVersion"), "5");
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 1);
	json_decref(ep);
	json_decref(before);
	json_decref(cur);
	json_decref(pods);
	json_decref(s);
}

/* Two Service ports that resolve to the same port entry give each pod the same (port,
 * address) twice: one is dropped, and each key is freed once (ASan checks). */
TEST(endpoints_duplicate_port_entries_are_merged)
{
	json_t *s = svc(), *pods = json_array(), *ep;
	json_array_append(json_object_get(json_object_get(s, "spec"), "ports"),
			  json_array_get(api_get(s, "spec.ports"), 0));
	json_array_append_new(pods, pod("a", "198.18.0.1", NULL, true));
	json_array_append_new(pods, pod("b", "198.18.0.2", NULL, false));
	ep = ctrl_endpoints_desired(s, pods, NULL, NOW1);
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 1);
	ASSERT_INT_EQ(count(ep, "addresses"), 1);
	ASSERT_INT_EQ(count(ep, "notReadyAddresses"), 1);
	json_decref(ep);
	json_decref(pods);
	json_decref(s);
}
