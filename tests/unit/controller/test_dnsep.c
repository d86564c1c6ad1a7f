/* test_dnsep.c - the kube-dns Endpoints: the Ready nodes' InternalIPs, ports dns and dns-tcp. */
#include <jansson.h>
#include <stdlib.h>

#include "controller/dnsep.h"
#include "harness/t.h"

static json_t *node(const char *name, const char *ip, const char *ready)
{
	return json_pack("{s:{s:s}, s:{s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s}]}}", "metadata", "name",
			 name, "status", "addresses", "type", "InternalIP", "address", ip, "type", "Hostname",
			 "address", name, "conditions", "type", "Ready", "status", ready);
}

TEST(ctrl_dns_endpoints_ready_nodes)
{
	json_t *svc = json_loads("{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\"},"
				 "\"spec\":{\"clusterIP\":\"198.19.0.10\"}}",
				 0, NULL);
	json_t *nodes =
	    json_pack("[o,o,o,o]", node("n2", "198.18.0.12", "True"), node("n1", "198.18.0.11", "True"),
		      node("n3", "198.18.0.13", "Unknown"), node("n4", "2001:db8::14", "True"));
	json_t *ep = ctrl_dns_endpoints_desired(svc, nodes, NULL);
	char *s = json_dumps(ep, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(
	    s,
	    "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\"},\"subsets\":[{\"addresses\":"
	    "["
	    "{\"ip\":\"198.18.0.11\",\"nodeName\":\"n1\",\"targetRef\":{\"kind\":\"Node\",\"name\":\"n1\"}},"
	    "{\"ip\":\"198.18.0.12\",\"nodeName\":\"n2\",\"targetRef\":{\"kind\":\"Node\",\"name\":\"n2\"}}],"
	    "\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},"
	    "{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"}]}]}");
	free(s);
	json_decref(ep);
	/* An IPv4 Service lists no IPv6 node address (n4). No Ready node: no subsets. A Service with a
	 * selector is not ours. */
	json_t *none = json_pack("[o]", node("n3", "198.18.0.13", "False"));
	ep = ctrl_dns_endpoints_desired(svc, none, NULL);
	ASSERT_INT_EQ(json_array_size(json_object_get(ep, "subsets")), 0);
	json_decref(ep);
	json_object_set_new(json_object_get(svc, "spec"), "selector",
			    json_pack("{s:s}", "k8s-app", "kube-dns"));
	ASSERT(ctrl_dns_endpoints_desired(svc, nodes, NULL) == NULL);
	ASSERT(ctrl_dns_endpoints_desired(NULL, nodes, NULL) == NULL);
	json_decref(none);
	json_decref(nodes);
	json_decref(svc);
}
