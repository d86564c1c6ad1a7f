/* test_envvars.c - Service environment variables (api/envvars.h), against kubelet's
 * FromServices and getServiceEnvVarMap. */
#include <stdlib.h>
#include <string.h>

#include "api/envvars.h"
#include "base/buf.h"
#include "harness/t.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s", err.text);
	return j;
}

/* "NAME=value\n" lines, the way `env` prints them. */
static char *lines(const json_t *vars)
{
	struct buf b;
	buf_init(&b);
	size_t i;
	json_t *v;
	json_array_foreach(vars, i, v)
	{
		buf_printf(&b, "%s=%s\n", json_string_value(json_object_get(v, "name")),
			   json_string_value(json_object_get(v, "value")));
	}
	if (!b.data)
		buf_puts(&b, "");
	return buf_take(&b);
}

static char *env_for(const char *services, const char *ns, bool links)
{
	json_t *s = parse(services);
	json_t *vars = api_envvars_from_services(s, ns, links);
	char *out = lines(vars);
	json_decref(vars);
	json_decref(s);
	return out;
}

/* Seed 003 (Kubernetes' Service concept page): `redis-master`, TCP 6379, cluster IP
 * 10.0.0.11. The address is the documentation's own and only ever a string here; no
 * test traffic goes to it. */
TEST(envvars_seed_003_redis_master)
{
	char *got =
	    env_for("[{\"metadata\":{\"name\":\"redis-master\",\"namespace\":\"default\"},"
		    "\"spec\":{\"clusterIP\":\"10.0.0.11\",\"ports\":[{\"port\":6379,\"protocol\":\"TCP\","
		    "\"targetPort\":6379}]}}]",
		    "default", true);
	ASSERT_STR_EQ(got, "REDIS_MASTER_SERVICE_HOST=10.0.0.11\n"
			   "REDIS_MASTER_SERVICE_PORT=6379\n"
			   "REDIS_MASTER_PORT=tcp://10.0.0.11:6379\n"
			   "REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379\n"
			   "REDIS_MASTER_PORT_6379_TCP_PROTO=tcp\n"
			   "REDIS_MASTER_PORT_6379_TCP_PORT=6379\n"
			   "REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11\n");
	free(got);
}

TEST(envvars_named_ports_and_protocols)
{
	char *got = env_for("[{\"metadata\":{\"name\":\"dns-cache\",\"namespace\":\"ns1\"},"
			    "\"spec\":{\"clusterIP\":\"198.19.0.10\",\"ports\":["
			    "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},"
			    "{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"},"
			    "{\"name\":\"metrics\",\"port\":9153}]}}]",
			    "ns1", true);
	ASSERT_STR_EQ(got, "DNS_CACHE_SERVICE_HOST=198.19.0.10\n"
			   "DNS_CACHE_SERVICE_PORT=53\n"
			   "DNS_CACHE_SERVICE_PORT_DNS=53\n"
			   "DNS_CACHE_SERVICE_PORT_DNS_TCP=53\n"
			   "DNS_CACHE_SERVICE_PORT_METRICS=9153\n"
			   "DNS_CACHE_PORT=udp://198.19.0.10:53\n"
			   "DNS_CACHE_PORT_53_UDP=udp://198.19.0.10:53\n"
			   "DNS_CACHE_PORT_53_UDP_PROTO=udp\n"
			   "DNS_CACHE_PORT_53_UDP_PORT=53\n"
			   "DNS_CACHE_PORT_53_UDP_ADDR=198.19.0.10\n"
			   "DNS_CACHE_PORT_53_TCP=tcp://198.19.0.10:53\n"
			   "DNS_CACHE_PORT_53_TCP_PROTO=tcp\n"
			   "DNS_CACHE_PORT_53_TCP_PORT=53\n"
			   "DNS_CACHE_PORT_53_TCP_ADDR=198.19.0.10\n"
			   "DNS_CACHE_PORT_9153_TCP=tcp://198.19.0.10:9153\n"
			   "DNS_CACHE_PORT_9153_TCP_PROTO=tcp\n"
			   "DNS_CACHE_PORT_9153_TCP_PORT=9153\n"
			   "DNS_CACHE_PORT_9153_TCP_ADDR=198.19.0.10\n");
	free(got);
}

TEST(envvars_ipv6_bracketed_in_urls)
{
	char *got = env_for(
	    "[{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\"},"
	    "\"spec\":{\"clusterIP\":\"2001:db8::a\",\"ports\":[{\"port\":80,\"protocol\":\"SCTP\"}]}}]",
	    "ns1", true);
	ASSERT_STR_EQ(got, "WEB_SERVICE_HOST=2001:db8::a\n"
			   "WEB_SERVICE_PORT=80\n"
			   "WEB_PORT=sctp://[2001:db8::a]:80\n"
			   "WEB_PORT_80_SCTP=sctp://[2001:db8::a]:80\n"
			   "WEB_PORT_80_SCTP_PROTO=sctp\n"
			   "WEB_PORT_80_SCTP_PORT=80\n"
			   "WEB_PORT_80_SCTP_ADDR=2001:db8::a\n");
	free(got);
}

static const char SERVICES[] =
    "[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},"
    "\"spec\":{\"clusterIP\":\"198.19.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}"
    "]}},"
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns1\"},"
    "\"spec\":{\"clusterIP\":\"198.19.0.20\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}},"
    "{\"metadata\":{\"name\":\"other\",\"namespace\":\"ns2\"},"
    "\"spec\":{\"clusterIP\":\"198.19.0.30\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}},"
    "{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns1\"},"
    "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}},"
    "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns1\"},"
    "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}},"
    "{\"metadata\":{\"name\":\"pending\",\"namespace\":\"ns1\"},"
    "\"spec\":{\"clusterIP\":\"\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}}]";

TEST(envvars_selection_with_service_links)
{
	char *got = env_for(SERVICES, "ns1", true);
	/* Headless, ExternalName, unallocated and other-namespace Services add nothing. */
	ASSERT(strstr(got, "KUBERNETES_SERVICE_HOST=198.19.0.1\n"));
	ASSERT(strstr(got, "KUBERNETES_SERVICE_PORT_HTTPS=443\n"));
	ASSERT(strstr(got, "WEB_SERVICE_HOST=198.19.0.20\n"));
	ASSERT(!strstr(got, "OTHER_"));
	ASSERT(!strstr(got, "DB_"));
	ASSERT(!strstr(got, "EXT_"));
	ASSERT(!strstr(got, "PENDING_"));
	/* Services in name order. */
	ASSERT(strstr(got, "KUBERNETES_SERVICE_HOST") < strstr(got, "WEB_SERVICE_HOST"));
	free(got);
}

TEST(envvars_service_links_disabled_keeps_master_only)
{
	char *got = env_for(SERVICES, "ns1", false);
	ASSERT_STR_EQ(got, "KUBERNETES_SERVICE_HOST=198.19.0.1\n"
			   "KUBERNETES_SERVICE_PORT=443\n"
			   "KUBERNETES_SERVICE_PORT_HTTPS=443\n"
			   "KUBERNETES_PORT=tcp://198.19.0.1:443\n"
			   "KUBERNETES_PORT_443_TCP=tcp://198.19.0.1:443\n"
			   "KUBERNETES_PORT_443_TCP_PROTO=tcp\n"
			   "KUBERNETES_PORT_443_TCP_PORT=443\n"
			   "KUBERNETES_PORT_443_TCP_ADDR=198.19.0.1\n");
	free(got);
	/* A pod in default with links off still gets only the master Service. */
	got = env_for(SERVICES, "default", false);
	ASSERT(strstr(got, "KUBERNETES_SERVICE_HOST=198.19.0.1\n"));
	ASSERT(!strstr(got, "WEB_"));
	free(got);
}

TEST(envvars_namespace_service_named_kubernetes_wins)
{
	char *got = env_for(
	    "[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},"
	    "\"spec\":{\"clusterIP\":\"198.19.0.1\",\"ports\":[{\"port\":443,\"protocol\":\"TCP\"}]}},"
	    "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"ns1\"},"
	    "\"spec\":{\"clusterIP\":\"198.19.0.99\",\"ports\":[{\"port\":8443,\"protocol\":\"TCP\"}]}}]",
	    "ns1", true);
	ASSERT(strstr(got, "KUBERNETES_SERVICE_HOST=198.19.0.99\n"));
	ASSERT(!strstr(got, "198.19.0.1\n"));
	free(got);
	/* Without links the namespace's own `kubernetes` does not count. */
	got = env_for(
	    "[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"ns1\"},"
	    "\"spec\":{\"clusterIP\":\"198.19.0.99\",\"ports\":[{\"port\":8443,\"protocol\":\"TCP\"}]}},"
	    "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},"
	    "\"spec\":{\"clusterIP\":\"198.19.0.1\",\"ports\":[{\"port\":443,\"protocol\":\"TCP\"}]}}]",
	    "ns1", false);
	ASSERT(strstr(got, "KUBERNETES_SERVICE_HOST=198.19.0.1\n"));
	free(got);
}

TEST(envvars_name_mangling)
{
	char *n = api_envvar_name("redis-master");
	ASSERT_STR_EQ(n, "REDIS_MASTER");
	free(n);
	n = api_envvar_name("1st-svc");
	ASSERT_STR_EQ(n, "_1ST_SVC");
	free(n);
	json_t *empty = api_envvars_from_services(NULL, "ns1", true);
	ASSERT_INT_EQ(json_array_size(empty), 0);
	json_decref(empty);
}
