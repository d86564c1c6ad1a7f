/* test_nft.c - the nftables backend without root: the generated ruleset for every
 * Service type and policy against tests/golden/proxy/nft-full.nft (UPDATE_GOLDEN=1
 * rewrites it), and incremental syncs that touch only what changed. */
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
