/* test_podfiles.c - pod resolv.conf, /etc/hosts and hostname as kubelet writes them. */
#include "harness/t.h"
#include "node/podfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *pod_from(const char *text)
{
	json_error_t e;
	json_t *p = json_loads(text, 0, &e);
	if (!p)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s", e.text);
	return p;
}

static const char *const cluster_dns[] = {"198.19.0.10", NULL};
static const char host_resolv[] = "# generated\n"
				  "nameserver 198.18.0.1\n"
				  "nameserver 198.18.0.2\n"
				  "search old.test\n"
				  "search example.test corp.test.\n"
				  "options timeout:2 ndots:1\n"
				  "options timeout:3\n";

static char *resolv(const char *pod_json, const struct node_dns_opts *o, char *warn, size_t wl)
{
	json_t *pod = pod_from(pod_json);
	char *out = node_podfiles_resolv_conf(pod, o, warn, wl);
	json_decref(pod);
	return out;
}

TEST(podfiles_cluster_first)
{
	struct node_dns_opts o = {"cluster.local", cluster_dns, host_resolv};
	char warn[512];
	char *r = resolv("{\"metadata\":{\"name\":\"a\",\"namespace\":\"web\"},\"spec\":{}}", &o, warn,
			 sizeof(warn));
	ASSERT_STR_EQ(r, "search web.svc.cluster.local svc.cluster.local cluster.local example.test "
			 "corp.test\n"
			 "nameserver 198.19.0.10\n"
			 "options ndots:5\n");
	ASSERT_STR_EQ(warn, "");
	free(r);
	/* ClusterFirstWithHostNet on a host-network pod is still cluster DNS ... */
	r = resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{\"hostNetwork\":true,"
		   "\"dnsPolicy\":\"ClusterFirstWithHostNet\"}}",
		   &o, NULL, 0);
	ASSERT_STR_CONTAINS(r, "nameserver 198.19.0.10\n");
	free(r);
	/* ... but ClusterFirst on a host-network pod falls back to Default. */
	r = resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{\"hostNetwork\":true,"
		   "\"dnsPolicy\":\"ClusterFirst\"}}",
		   &o, NULL, 0);
	ASSERT_STR_EQ(r, "search example.test corp.test\n"
			 "nameserver 198.18.0.1\n"
			 "nameserver 198.18.0.2\n"
			 "options timeout:3 ndots:1\n");
	free(r);
}

TEST(podfiles_default_and_missing_cluster_dns)
{
	struct node_dns_opts o = {"cluster.local", NULL, host_resolv};
	char warn[512];
	char *r = resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{\"dnsPolicy\":\"Default\"}}", &o,
			 warn, sizeof(warn));
	ASSERT_STR_EQ(r, "search example.test corp.test\n"
			 "nameserver 198.18.0.1\n"
			 "nameserver 198.18.0.2\n"
			 "options timeout:3 ndots:1\n");
	ASSERT_STR_EQ(warn, "");
	free(r);
	/* ClusterFirst without a cluster DNS IP: Default, with kubelet's warning. */
	r = resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{}}", &o, warn, sizeof(warn));
	ASSERT_STR_CONTAINS(r, "nameserver 198.18.0.1\n");
	ASSERT_STR_CONTAINS(warn, "does not have ClusterDNS IP configured");
	free(r);
	/* No host resolv.conf (kubelet --resolv-conf=""): 127.0.0.1 and "search .". */
	struct node_dns_opts none = {"cluster.local", NULL, NULL};
	r = resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{\"dnsPolicy\":\"Default\"}}", &none, NULL,
		   0);
	ASSERT_STR_EQ(r, "search .\nnameserver 127.0.0.1\n");
	free(r);
}

TEST(podfiles_none_with_dns_config)
{
	/* The example of the Kubernetes documentation (Pod's DNS Config). */
	struct node_dns_opts o = {"cluster.local", cluster_dns, host_resolv};
	char *r = resolv("{\"metadata\":{\"namespace\":\"default\"},\"spec\":{\"dnsPolicy\":\"None\","
			 "\"dnsConfig\":{\"nameservers\":[\"198.18.0.53\"],"
			 "\"searches\":[\"ns1.svc.cluster-domain.example\",\"my.dns.search.suffix\"],"
			 "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}}}",
			 &o, NULL, 0);
	ASSERT_STR_EQ(r, "search ns1.svc.cluster-domain.example my.dns.search.suffix\n"
			 "nameserver 198.18.0.53\n"
			 "options ndots:2 edns0\n");
	free(r);
	/* None without dnsConfig: an empty file. */
	r = resolv("{\"spec\":{\"dnsPolicy\":\"None\"}}", &o, NULL, 0);
	ASSERT_STR_EQ(r, "");
	free(r);
}

TEST(podfiles_cluster_first_merges_dns_config)
{
	struct node_dns_opts o = {"cluster.local", cluster_dns, NULL};
	char *r =
	    resolv("{\"metadata\":{\"namespace\":\"web\"},\"spec\":{\"dnsConfig\":{"
		   "\"nameservers\":[\"198.19.0.10\",\"2001:db8::53\"],"
		   "\"searches\":[\"svc.cluster.local\",\"extra.test\"],"
		   "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"single-request\"}]}}}",
		   &o, NULL, 0);
	ASSERT_STR_EQ(r, "search web.svc.cluster.local svc.cluster.local cluster.local extra.test\n"
			 "nameserver 198.19.0.10\n"
			 "nameserver 2001:db8::53\n"
			 "options ndots:2 single-request\n");
	free(r);
}

TEST(podfiles_limits)
{
	struct node_dns_opts o = {"cluster.local", cluster_dns, NULL};
	char warn[4096];
	/* 4 nameservers: the first 3 stay. */
	char *r = resolv("{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":"
			 "[\"198.18.0.1\",\"198.18.0.2\",\"198.18.0.3\",\"198.18.0.4\"]}}}",
			 &o, warn, sizeof(warn));
	ASSERT_STR_EQ(r, "nameserver 198.18.0.1\nnameserver 198.18.0.2\nnameserver 198.18.0.3\n");
	ASSERT_STR_CONTAINS(warn, "Nameserver limits were exceeded");
	free(r);
	/* 40 search paths: 32 stay (3 cluster ones + 29 of ours). */
	char pod[8192];
	int n = snprintf(pod, sizeof(pod),
			 "{\"metadata\":{\"namespace\":\"ns\"},\"spec\":{\"dnsConfig\":{\"searches\":[");
	for (int i = 0; i < 40; i++)
		n += snprintf(pod + n, sizeof(pod) - (size_t)n, "%s\"s%d.test\"", i ? "," : "", i);
	snprintf(pod + n, sizeof(pod) - (size_t)n, "]}}}");
	r = resolv(pod, &o, warn, sizeof(warn));
	ASSERT_STR_CONTAINS(r, " s28.test\n");
	ASSERT(!strstr(r, "s29.test"));
	ASSERT_STR_CONTAINS(warn, "Search Line limits were exceeded");
	free(r);
	/* Long paths: the line is cut from the end to at most 2048 characters. */
	char name[201];
	memset(name, 'a', 200);
	name[200] = 0;
	n = snprintf(pod, sizeof(pod), "{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"searches\":[");
	for (int i = 0; i < 12; i++)
		n += snprintf(pod + n, sizeof(pod) - (size_t)n, "%s\"%02d%s\"", i ? "," : "", i, name);
	snprintf(pod + n, sizeof(pod) - (size_t)n, "]}}}");
	r = resolv(pod, &o, warn, sizeof(warn));
	/* 10 paths of 202 characters plus 9 spaces = 2029 <= 2048; 11 would be 2231. */
	ASSERT_STR_CONTAINS(r, "09aaa");
	ASSERT(!strstr(r, "10aaa"));
	ASSERT(strlen(r) <= strlen("search \n") + 2048);
	free(r);
	/* A path over 253 characters is dropped. */
	char big[300];
	memset(big, 'b', 260);
	big[260] = 0;
	snprintf(pod, sizeof(pod),
		 "{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"searches\":[\"%s\",\"ok.test\"]}}}",
		 big);
	r = resolv(pod, &o, warn, sizeof(warn));
	ASSERT_STR_EQ(r, "search ok.test\n");
	free(r);
}

static int hostname_of(const char *pod_json, char **h, char **d, char **k, char *err, size_t el)
{
	json_t *pod = pod_from(pod_json);
	int rc = node_podfiles_hostname(pod, "cluster.local", h, d, k, err, el);
	json_decref(pod);
	return rc;
}

TEST(podfiles_hostname)
{
	char *h, *d, *k, err[256];
	ASSERT_INT_EQ(hostname_of("{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"shop\"},"
				  "\"spec\":{\"subdomain\":\"web\"}}",
				  &h, &d, &k, err, sizeof(err)),
		      0);
	ASSERT_STR_EQ(h, "web-0");
	ASSERT_STR_EQ(d, "web.shop.svc.cluster.local");
	ASSERT_STR_EQ(k, "web-0");
	free(h), free(d), free(k);
	ASSERT_INT_EQ(
	    hostname_of("{\"metadata\":{\"name\":\"p\",\"namespace\":\"shop\"},"
			"\"spec\":{\"hostname\":\"h1\",\"subdomain\":\"web\",\"setHostnameAsFQDN\":true}}",
			&h, &d, &k, err, sizeof(err)),
	    0);
	ASSERT_STR_EQ(h, "h1");
	ASSERT_STR_EQ(k, "h1.web.shop.svc.cluster.local");
	free(h), free(d), free(k);
	/* A pod name longer than 63 characters: cut, without a trailing '-'. */
	char pod[512], name[80];
	memset(name, 'x', 62);
	name[62] = '-';
	memcpy(name + 63, "yyyy", 5);
	snprintf(pod, sizeof(pod), "{\"metadata\":{\"name\":\"%s\"},\"spec\":{}}", name);
	ASSERT_INT_EQ(hostname_of(pod, &h, &d, &k, err, sizeof(err)), 0);
	ASSERT_INT_EQ(strlen(h), 62);
	ASSERT_STR_EQ(d, "");
	free(h), free(d), free(k);
	ASSERT_INT_EQ(hostname_of("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"hostname\":\"Bad_Name\"}}", &h,
				  &d, &k, err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_CONTAINS(err, "pod Hostname \"Bad_Name\" is not a valid DNS label");
	memset(name, 'h', 60);
	name[60] = 0;
	snprintf(pod, sizeof(pod),
		 "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"hostname\":\"%s\","
		 "\"subdomain\":\"s\",\"setHostnameAsFQDN\":true}}",
		 name);
	ASSERT_INT_EQ(hostname_of(pod, &h, &d, &k, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "is too long (64 characters is the max");
}

TEST(podfiles_hosts)
{
	json_t *pod = pod_from("{\"metadata\":{\"name\":\"web-0\"},\"spec\":{\"hostAliases\":["
			       "{\"ip\":\"198.18.5.5\",\"hostnames\":[\"foo.local\",\"bar.local\"]},"
			       "{\"ip\":\"2001:db8::5\",\"hostnames\":[\"v6.local\"]}]}}");
	const char *ips[] = {"198.18.128.7", "2001:db8:1::7", NULL};
	char *h = node_podfiles_hosts(pod, ips, "web-0", "web.shop.svc.cluster.local", NULL);
	ASSERT_STR_EQ(h, "# Kubernetes-managed hosts file.\n"
			 "127.0.0.1\tlocalhost\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "fe00::0\tip6-localnet\n"
			 "fe00::0\tip6-mcastprefix\n"
			 "fe00::1\tip6-allnodes\n"
			 "fe00::2\tip6-allrouters\n"
			 "198.18.128.7\tweb-0.web.shop.svc.cluster.local\tweb-0\n"
			 "2001:db8:1::7\tweb-0.web.shop.svc.cluster.local\tweb-0\n"
			 "\n"
			 "# Entries added by HostAliases.\n"
			 "198.18.5.5\tfoo.local\tbar.local\n"
			 "2001:db8::5\tv6.local\n");
	free(h);
	json_decref(pod);
	pod = pod_from("{\"metadata\":{\"name\":\"solo\"},\"spec\":{}}");
	const char *one[] = {"198.18.128.9", NULL};
	h = node_podfiles_hosts(pod, one, "solo", "", NULL);
	ASSERT_STR_CONTAINS(h, "fe00::2\tip6-allrouters\n198.18.128.9\tsolo\n");
	ASSERT(!strstr(h, "HostAliases"));
	free(h);
	json_decref(pod);
	pod = pod_from("{\"spec\":{\"hostNetwork\":true}}");
	h = node_podfiles_hosts(pod, one, "node1", "", "127.0.0.1 localhost\n");
	ASSERT_STR_EQ(h, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n");
	free(h);
	json_decref(pod);
}
