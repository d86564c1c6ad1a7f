/* test_model.c - the proxy model: service ports per family, endpoints merged across
 * slices and deduplicated, ready/serving/terminating, traffic policies, affinity,
 * ExternalName and headless skipped, and bad input skipped field by field. */
#include <netinet/in.h>
#include <stdlib.h>

#include "proxy/model.h"
#include "proxy_fixture.h"

static const struct proxy_svcport *find(const struct proxy_model *m, const char *name, int fam, int proto)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->ports[i].name, name) && m->ports[i].family == fam &&
		    m->ports[i].proto == proto)
			return &m->ports[i];
	return NULL;
}

static void build(struct proxy_model *m)
{
	json_t *f = proxy_fixture();
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", m);
	json_decref(f);
}

TEST(proxy_model_skips_externalname_and_headless)
{
	struct proxy_model m;
	build(&m);
	ASSERT(find(&m, "extname", 4, IPPROTO_TCP) == NULL);
	ASSERT(find(&m, "headless", 4, IPPROTO_TCP) == NULL);
	ASSERT(find(&m, "web", 6, IPPROTO_TCP) == NULL); /* single-stack */
	/* Sorted by namespace/name: dual before empty before ext. */
	ASSERT_STR_EQ(m.ports[0].name, "dual");
	proxy_model_fini(&m);
}

TEST(proxy_model_merges_and_dedups_slices)
{
	struct proxy_model m;
	build(&m);
	const struct proxy_svcport *p = find(&m, "web", 4, IPPROTO_TCP);
	ASSERT(p != NULL);
	ASSERT_INT_EQ(p->n_eps, 3); /* 198.18.129.2 is in both slices; the FQDN slice is ignored */
	ASSERT_INT_EQ(p->n_cluster, 2);
	ASSERT_INT_EQ(p->eps[p->cluster_eps[0]].port, 8080);
	char s[IP_STRLEN];
	ASSERT_STR_EQ(ip_format(&p->eps[p->cluster_eps[0]].ip, s, sizeof(s)), "198.18.128.2");
	ASSERT_STR_EQ(ip_format(&p->eps[p->cluster_eps[1]].ip, s, sizeof(s)), "198.18.129.2");
	ASSERT_STR_EQ(p->trigger_time, "2026-12-06T20:00:05Z");
	char *n = proxy_svcport_name(p);
	ASSERT_STR_EQ(n, "default/web:http");
	free(n);
	proxy_model_fini(&m);
}

TEST(proxy_model_terminating_used_only_when_no_ready)
{
	struct proxy_model m;
	build(&m);
	const struct proxy_svcport *p = find(&m, "term", 4, IPPROTO_TCP);
	ASSERT_INT_EQ(p->n_eps, 2);
	ASSERT_INT_EQ(p->n_cluster, 1); /* the serving one; the not-serving one never */
	char s[IP_STRLEN];
	ASSERT_STR_EQ(ip_format(&p->eps[p->cluster_eps[0]].ip, s, sizeof(s)), "198.18.128.8");
	p = find(&m, "web", 4, IPPROTO_TCP); /* ready ones exist: the unready is left out */
	ASSERT_INT_EQ(p->n_cluster, 2);
	proxy_model_fini(&m);
}

TEST(proxy_model_traffic_policies)
{
	struct proxy_model m;
	build(&m);
	const struct proxy_svcport *p = find(&m, "itp", 4, IPPROTO_TCP);
	ASSERT(p->itp_local);
	ASSERT_INT_EQ(p->n_cluster, 1); /* only the one on n1 */
	p = find(&m, "lb", 4, IPPROTO_TCP);
	ASSERT(p->etp_local);
	ASSERT_INT_EQ(p->hc_node_port, 32000);
	ASSERT_INT_EQ(p->node_port, 30081);
	ASSERT_INT_EQ(p->n_cluster, 2);
	ASSERT_INT_EQ(p->n_local, 1);
	ASSERT_INT_EQ(p->n_external, 1); /* the ipMode Proxy ingress is not ours */
	ASSERT_INT_EQ(p->n_lb, 1);
	ASSERT_INT_EQ(p->n_src_ranges, 1);
	p = find(&m, "localnone", 4, IPPROTO_TCP);
	ASSERT(p->etp_local);
	ASSERT_INT_EQ(p->n_local, 0);
	ASSERT_INT_EQ(p->n_cluster, 1);
	p = find(&m, "np", 4, IPPROTO_TCP);
	ASSERT(!p->etp_local);
	ASSERT_INT_EQ(p->hc_node_port, 0);
	p = find(&m, "ext", 4, IPPROTO_TCP);
	ASSERT_INT_EQ(p->n_external, 1);
	ASSERT_INT_EQ(p->n_lb, 0);
	ASSERT_STR_EQ(p->port_name, "");
	proxy_model_fini(&m);
}

TEST(proxy_model_affinity_and_families)
{
	struct proxy_model m;
	build(&m);
	ASSERT_INT_EQ(find(&m, "sticky", 4, IPPROTO_TCP)->affinity_s, 30);
	ASSERT_INT_EQ(find(&m, "web", 4, IPPROTO_TCP)->affinity_s, 0);
	const struct proxy_svcport *u4 = find(&m, "dual", 4, IPPROTO_UDP),
				   *u6 = find(&m, "dual", 6, IPPROTO_UDP);
	ASSERT(u4 && u6);
	ASSERT_INT_EQ(u4->n_cluster, 1);
	ASSERT_INT_EQ(u6->n_cluster, 1);
	ASSERT_INT_EQ(u6->eps[0].port, 5353);
	ASSERT(find(&m, "dual", 6, IPPROTO_SCTP) != NULL);
	proxy_model_fini(&m);
}

TEST(proxy_model_bad_input_skipped_field_by_field)
{
	const char *svcs =
	    "[{\"metadata\":{\"namespace\":\"d\",\"name\":\"a\"},\"spec\":{\"clusterIP\":\"bogus\","
	    "\"ports\":[{\"port\":80}]}},"
	    "{\"metadata\":{\"namespace\":\"d\",\"name\":\"b\"},\"spec\":{\"clusterIP\":\"198.19.0.9\","
	    "\"ports\":[{\"port\":0},{\"port\":\"x\"},{\"port\":80,\"protocol\":\"ICMP\"},{\"port\":81},"
	    "{\"port\":70000}],\"externalIPs\":[1,\"nope\"],\"sessionAffinity\":\"ClientIP\","
	    "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":-3}}}},"
	    "{\"metadata\":{\"name\":\"nons\"},\"spec\":{}}, 5, \"x\"]";
	const char *sls =
	    "[{\"metadata\":{\"namespace\":\"d\",\"labels\":{\"kubernetes.io/service-name\":\"b\"}},"
	    "\"addressType\":\"IPv4\",\"ports\":[{\"port\":99999}],\"endpoints\":[{\"addresses\":[\"198.18.1.1\"]}]},"
	    "{\"metadata\":{\"namespace\":\"d\",\"labels\":{\"kubernetes.io/service-name\":\"b\"}},"
	    "\"addressType\":\"IPv4\",\"ports\":[{\"port\":8081}],\"endpoints\":[{\"addresses\":[\"x\"]},"
	    "{\"addresses\":[]},{\"addresses\":[\"2001:db8::1\"]},{\"addresses\":[\"198.18.1.2\"],"
	    "\"conditions\":{\"ready\":\"yes\"}}]}, 7]";
	json_t *s = json_loads(svcs, 0, NULL), *e = json_loads(sls, 0, NULL);
	ASSERT(s && e);
	struct proxy_model m;
	proxy_model_build(s, e, "n1", &m);
	ASSERT_INT_EQ(m.n, 1); /* b:81 only */
	ASSERT_INT_EQ(m.ports[0].port, 81);
	ASSERT_INT_EQ(m.ports[0].n_external, 0);
	ASSERT_INT_EQ(m.ports[0].affinity_s, PROXY_DEFAULT_AFFINITY_S);
	ASSERT_INT_EQ(m.ports[0].n_eps, 1); /* ready not a bool: unset, so ready */
	ASSERT_INT_EQ(m.ports[0].n_cluster, 1);
	proxy_model_fini(&m);
	json_decref(s);
	json_decref(e);
}
