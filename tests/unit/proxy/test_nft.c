/* test_nft.c - the nftables backend without root: the generated ruleset for every
 * Service type and policy against tests/golden/proxy/nft-full.nft (UPDATE_GOLDEN=1
 * rewrites it), and incremental syncs that touch only what changed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "proxy/nft.h"
#include "proxy_fixture.h"

static struct proxy_netcfg cfg(void)
{
	struct proxy_netcfg c = {0};
	char e[64];
	cidr_parse("198.18.128.0/17", &c.cluster_cidrs[0], e, sizeof(e));
	cidr_parse("2001:db8:128::/48", &c.cluster_cidrs[1], e, sizeof(e));
	c.n_cluster_cidrs = 2;
	c.localhost_nodeports = true;
	ip_parse("198.19.0.10", &c.local_dns[0]);
	c.n_local_dns = 1;
	return c;
}

static void model(json_t *f, struct proxy_model *m)
{
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", m);
}

static void sync_dry(struct proxy_nft *n, json_t *f, const struct proxy_netcfg *c, struct proxy_nft_result *r)
{
	struct proxy_model m;
	model(f, &m);
	json_t *want = proxy_nft_desired(n, &m, c);
	char err[256];
	ASSERT_INT_EQ(proxy_nft_sync(n, want, r, err, sizeof(err)), 0);
	json_decref(want);
	proxy_model_fini(&m);
}

TEST(proxy_nft_golden_full_ruleset)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	struct proxy_nft_result r;
	sync_dry(n, f, &c, &r);
	proxy_golden("nft-full.nft", proxy_nft_last_script(n));
	/* The same state again: nothing to do. */
	sync_dry(n, f, &c, &r);
	ASSERT_STR_EQ(proxy_nft_last_script(n), "");
	ASSERT_INT_EQ(r.groups_changed, 0);
	proxy_nft_free(n);
	json_decref(f);
}

TEST(proxy_nft_golden_nodeport_addresses)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct cidr ips[2];
	char e[64];
	cidr_parse("198.18.0.11/32", &ips[0], e, sizeof(e));
	cidr_parse("2001:db8::/64", &ips[1], e, sizeof(e));
	c.nodeport_cidrs = ips;
	c.n_nodeport_cidrs = 2;
	c.localhost_nodeports = false;
	c.n_local_dns = 0;
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	struct proxy_model m = {0};
	json_t *want = proxy_nft_desired(n, &m, &c);
	char *s = proxy_nft_script(NULL, NULL, want, NULL);
	proxy_golden("nft-nodeport-addresses.nft", s);
	free(s);
	json_decref(want);
	proxy_nft_free(n);
	json_decref(f);
}

/* Sets the endpoints of slice name to one address. */
static void set_slice_ip(json_t *f, const char *name, const char *ip)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(f, "slices"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(json_object_get(s, "metadata"), "name")), name))
			continue;
		json_t *eps = json_object_get(s, "endpoints");
		json_array_clear(eps);
		if (ip)
			json_array_append_new(eps,
					      json_pack("{s:[s],s:s}", "addresses", ip, "nodeName", "n2"));
	}
}

TEST(proxy_nft_one_endpoint_change_touches_one_chain)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	struct proxy_nft_result r;
	sync_dry(n, f, &c, &r);
	set_slice_ip(f, "np-a", "198.18.129.33");
	sync_dry(n, f, &c, &r);
	ASSERT_INT_EQ(r.groups_changed, 1);
	proxy_golden("nft-change-endpoint.nft", proxy_nft_last_script(n));
	/* No endpoints left: the cluster IP and node port reject, the chains go. */
	set_slice_ip(f, "np-a", NULL);
	sync_dry(n, f, &c, &r);
	proxy_golden("nft-change-no-endpoints.nft", proxy_nft_last_script(n));
	proxy_nft_free(n);
	json_decref(f);
}

TEST(proxy_nft_service_removed_and_ids_reused)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	struct proxy_nft_result r;
	sync_dry(n, f, &c, &r);
	size_t before = r.elements;
	json_array_clear(json_object_get(f, "services"));
	sync_dry(n, f, &c, &r);
	const char *s = proxy_nft_last_script(n);
	ASSERT_STR_CONTAINS(s, "delete chain inet svcplane_proxy svc4-default/sticky/tcp/http\n");
	ASSERT_STR_CONTAINS(
	    s,
	    "delete element inet svcplane_proxy eps4-2 { 198.19.0.20 . tcp . 80 . 0, 198.19.0.20 . tcp . 80 . 1 }\n");
	ASSERT_STR_CONTAINS(s, "delete map inet svcplane_proxy svc4-default/sticky/tcp/http-aff30\n");
	ASSERT(strstr(s, "flush table") == NULL);
	ASSERT(r.elements < before);
	ASSERT_INT_EQ(r.elements, 0);
	proxy_nft_free(n);
	json_decref(f);
}

/* Service name (cluster IP 198.19.1.<octet>) with one endpoint, 198.18.128.50 on this
 * node, into f. */
static void add_local_svc(json_t *f, const char *name, int octet)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "198.19.1.%d", octet);
	json_array_append_new(json_object_get(f, "services"),
			      json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:[s],s:[{s:s,s:i,s:i,s:s}]}}",
					"apiVersion", "v1", "kind", "Service", "metadata", "namespace",
					"default", "name", name, "spec", "type", "ClusterIP", "clusterIP", ip,
					"clusterIPs", ip, "ports", "name", "http", "port", 80, "targetPort",
					8080, "protocol", "TCP"));
	json_array_append_new(json_object_get(f, "slices"),
			      json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s],s:s}],s:[{s:s,s:i,s:s}]}",
					"apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice",
					"metadata", "namespace", "default", "name", name, "labels",
					"kubernetes.io/service-name", name, "addressType", "IPv4",
					"endpoints", "addresses", "198.18.128.50", "nodeName", "n1", "ports",
					"name", "http", "port", 8080, "protocol", "TCP"));
}

/* Removes Service name and its slice from f. */
static void del_svc(json_t *f, const char *name)
{
	const char *arrays[] = {"services", "slices"};
	for (int k = 0; k < 2; k++) {
		json_t *a = json_object_get(f, arrays[k]);
		for (size_t i = json_array_size(a); i-- > 0;) {
			const json_t *md = json_object_get(json_array_get(a, i), "metadata");
			if (!strcmp(json_string_value(json_object_get(md, "name")), name))
				json_array_remove(a, i);
		}
	}
}

/* An incremental sync of Service name (proxy_nft_sync_services). */
static void sync_one(struct proxy_nft *n, json_t *f, const char *name, const struct proxy_netcfg *c)
{
	struct proxy_model m;
	char key[64];
	snprintf(key, sizeof(key), "default/%s", name);
	json_t *svcs = json_array(), *slices = json_array(), *keys = json_pack("[s]", key);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(f, "services"), i, o)
	{
		if (!strcmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), name))
			json_array_append(svcs, o);
	}
	json_array_foreach(json_object_get(f, "slices"), i, o)
	{
		if (!strcmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), name))
			json_array_append(slices, o);
	}
	proxy_model_build(svcs, slices, "n1", &m);
	json_t *want = proxy_nft_desired_services(n, &m, c, keys);
	struct proxy_nft_result r;
	char err[256];
	ASSERT_INT_EQ(proxy_nft_sync_services(n, want, &r, err, sizeof(err)), 0);
	ASSERT(r.groups_changed > 0);
	json_decref(want);
	json_decref(keys);
	json_decref(svcs);
	json_decref(slices);
	proxy_model_fini(&m);
}

TEST(proxy_nft_hairpin_element_counts_its_services)
{
	json_t *f = json_pack("{s:[],s:[]}", "services", "slices");
	struct proxy_netcfg c = cfg();
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	struct proxy_nft_result r;
	const char *el = "hairpin4 { 198.18.128.50 . 198.18.128.50 }\n";
	/* Two Services whose one endpoint is the same local pod: one element, added once. */
	add_local_svc(f, "a", 1);
	add_local_svc(f, "b", 2);
	sync_dry(n, f, &c, &r);
	const char *s = proxy_nft_last_script(n);
	ASSERT_STR_CONTAINS(s,
			    "add element inet svcplane_proxy hairpin4 { 198.18.128.50 . 198.18.128.50 }\n");
	ASSERT(strstr(strstr(s, el) + 1, "hairpin4 {") == NULL);
	size_t both = r.elements;
	/* One goes: the other still needs the element. */
	del_svc(f, "a");
	sync_one(n, f, "a", &c);
	ASSERT(strstr(proxy_nft_last_script(n), "hairpin") == NULL);
	/* A third comes: already there. */
	add_local_svc(f, "c", 3);
	sync_one(n, f, "c", &c);
	ASSERT(strstr(proxy_nft_last_script(n), "hairpin") == NULL);
	del_svc(f, "c");
	sync_one(n, f, "c", &c);
	/* The last holder goes (a full sync this time): so does the element. */
	del_svc(f, "b");
	sync_dry(n, f, &c, &r);
	ASSERT_STR_CONTAINS(
	    proxy_nft_last_script(n),
	    "delete element inet svcplane_proxy hairpin4 { 198.18.128.50 . 198.18.128.50 }\n");
	ASSERT(both > 0);
	ASSERT_INT_EQ(r.elements, 0);
	/* And back. */
	add_local_svc(f, "b", 2);
	sync_one(n, f, "b", &c);
	ASSERT_STR_CONTAINS(proxy_nft_last_script(n),
			    "add element inet svcplane_proxy hairpin4 { 198.18.128.50 . 198.18.128.50 }\n");
	proxy_nft_free(n);
	json_decref(f);
}

/* What the kernel held after the full ruleset above (proxy_nftnl_list_table's form, read
 * from a real kernel): the first sync after a restart diffs against it. */
static json_t *kernel_listing(void)
{
	json_error_t e;
	json_t *l = json_load_file("tests/golden/proxy/nft-kernel.json", 0, &e);
	ASSERT(l != NULL);
	return l;
}

/* Sets (val) or removes (NULL) element key of set in listing l. */
static void listing_elem(json_t *l, const char *set, const char *key, const char *val)
{
	json_t *es = json_object_get(json_object_get(json_object_get(l, "sets"), set), "elements");
	size_t i;
	json_t *kv;
	json_array_foreach(es, i, kv)
	{
		if (!strcmp(json_string_value(json_array_get(kv, 0)), key)) {
			json_array_remove(es, i);
			break;
		}
	}
	if (val)
		json_array_append_new(es, json_pack("[ss]", key, val));
}

TEST(proxy_nft_restart_unchanged_writes_nothing)
{
	json_t *f = proxy_fixture(), *l = kernel_listing();
	struct proxy_netcfg c = cfg();
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	ASSERT_INT_EQ(proxy_nft_load_kernel(n, l), 0);
	struct proxy_nft_result r;
	sync_dry(n, f, &c, &r);
	/* The id blocks came back from the chains' comments: the sticky Service's chain, and
	 * so its affinity map, are kept. */
	ASSERT_STR_EQ(proxy_nft_last_script(n), "");
	ASSERT_INT_EQ(r.groups_changed, 0);
	ASSERT_INT_EQ(r.elements, 46); /* the kernel's: a hairpin element two groups name is one */
	ASSERT(!proxy_nft_needs_full(n));
	/* Later syncs diff against what the restart found. */
	set_slice_ip(f, "np-a", "198.18.129.33");
	sync_dry(n, f, &c, &r);
	ASSERT_INT_EQ(r.groups_changed, 1);
	ASSERT_STR_CONTAINS(proxy_nft_last_script(n), "198.18.129.33 . 8080");
	proxy_nft_free(n);
	json_decref(l);
	json_decref(f);
}

TEST(proxy_nft_restart_converges_by_diff)
{
	json_t *f = proxy_fixture(), *l = kernel_listing();
	struct proxy_netcfg c = cfg();
	/* While the agent was down: a Service went away (its chain, affinity map, entry and
	 * endpoint elements stay in the kernel), an endpoint moved, a hairpin element and a
	 * chain's rules are not what we would write, and someone added an element (and a
	 * hairpin element of a pod no more). */
	json_t *chains = json_object_get(l, "chains");
	json_object_set_new(chains, "svc4-default/gone/tcp/http",
			    json_pack("{s:i,s:s}", "rules", 2, "comment", "h=0123456789abcdef c=7+1"));
	json_object_set_new(json_object_get(l, "sets"), "svc4-default/gone/tcp/http-aff60",
			    json_pack("{s:b,s:b,s:b}", "map", 1, "interval", 0, "dynamic", 1));
	listing_elem(l, "backends4", "0x000007", "198.18.128.99 . 8080");
	listing_elem(l, "service-ips4", "198.19.0.99 . tcp . 80", "goto svc4-default/gone/tcp/http");
	listing_elem(l, "eps4-2", "198.19.0.20 . tcp . 80 . 1", "198.18.129.200 . 8080");
	listing_elem(l, "hairpin4", "198.18.128.2 . 198.18.128.2", NULL);
	listing_elem(l, "hairpin4", "198.18.128.99 . 198.18.128.99", "");
	json_object_set_new(json_object_get(chains, "raw-prerouting"), "comment", json_string("h=00"));
	listing_elem(l, "eps6-1", "2001:db8:19::99 . tcp . 80 . 0", "2001:db8:128::99 . 80");
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	ASSERT_INT_EQ(proxy_nft_load_kernel(n, l), 0);
	struct proxy_nft_result r;
	sync_dry(n, f, &c, &r);
	proxy_golden("nft-restart-diff.nft", proxy_nft_last_script(n));
	ASSERT_INT_EQ(r.elements, 46);
	/* Ids the kernel's leftovers held are free again. */
	json_array_clear(json_object_get(f, "services"));
	sync_dry(n, f, &c, &r);
	ASSERT_INT_EQ(r.elements, 0);
	proxy_nft_free(n);
	json_decref(l);
	json_decref(f);
}

TEST(proxy_nft_restart_replaces_what_it_cannot_patch)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_nft_result r;
	/* Another layout (an older svcplane's table has no comment), no table, and a chain
	 * that uses a `typeof ... numgen` map and differs (nft 1.0.6 cannot patch it): the
	 * first sync writes the whole state, as without a kernel. */
	for (int i = 0; i < 3; i++) {
		json_t *l = kernel_listing();
		if (i == 0)
			json_object_del(l, "comment");
		if (i == 2)
			json_object_set_new(json_object_get(json_object_get(l, "chains"), "cl4-1"), "rules",
					    json_integer(1));
		struct proxy_nft *n = proxy_nft_new(NULL, true);
		ASSERT_INT_EQ(proxy_nft_load_kernel(n, i == 1 ? NULL : l), i == 0   ? -EPROTO
									   : i == 1 ? -ENOENT
										    : 0);
		sync_dry(n, f, &c, &r);
		proxy_golden("nft-full.nft", proxy_nft_last_script(n));
		proxy_nft_free(n);
		json_decref(l);
	}
	json_decref(f);
}
