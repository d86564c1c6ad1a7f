/* test_ipt.c - the iptables backend without root: kube-proxy's chain layout for every
 * Service type and policy against tests/golden/proxy/ipt-full.txt (UPDATE_GOLDEN=1
 * rewrites it), chain names as kube-proxy hashes them, and a one-endpoint change that
 * sends only the chains it touched; node-local DNS NOTRACKed in the raw table. */
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "proxy/ipt.h"
#include "proxy_fixture.h"

static struct proxy_netcfg cfg(void)
{
	struct proxy_netcfg c = {0};
	char e[64];
	cidr_parse("198.18.128.0/17", &c.cluster_cidrs[0], e, sizeof(e));
	c.n_cluster_cidrs = 1;
	c.localhost_nodeports = true;
	ip_parse("198.19.0.10", &c.local_dns[0]);
	c.n_local_dns = 1;
	return c;
}

TEST(proxy_ipt_golden_full)
{
	json_t *f = proxy_fixture();
	struct proxy_model m;
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	struct proxy_netcfg c = cfg();
	char *s4 = proxy_ipt_render(NULL, &m, &c, 4), *s6 = proxy_ipt_render(NULL, &m, &c, 6);
	char *both = xasprintf("# IPv4\n%s# IPv6\n%s", s4, s6);
	proxy_golden("ipt-full.txt", both);
	/* kube-proxy's names: prefix, kind, 16 characters of base32(sha256). */
	ASSERT_STR_CONTAINS(s4, ":KUBE-SVC-");
	ASSERT_STR_CONTAINS(s4, "-m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-");
	ASSERT_STR_CONTAINS(s4, "-m recent --name KUBE-SEP-");
	ASSERT_STR_CONTAINS(s4, "--rcheck --seconds 30 --reap");
	ASSERT_STR_CONTAINS(
	    s4, "default/empty:http has no endpoints\" -d 198.19.0.25/32 -p tcp -m tcp --dport 80 -j REJECT");
	ASSERT(strstr(s4, "extname") == NULL);
	/* Node-local DNS: port 53 to its address is not NATed (raw table NOTRACK); IPv4 only. */
	ASSERT_STR_CONTAINS(s4, "*raw\n:KUBE-LOCAL-DNS - [0:0]\n:KUBE-LOCAL-DNS-OUT - [0:0]\n");
	ASSERT_STR_CONTAINS(s4, "-A KUBE-LOCAL-DNS -d 198.19.0.10/32 -p udp -m udp --dport 53 -j NOTRACK\n");
	ASSERT_STR_CONTAINS(s4,
			    "-A KUBE-LOCAL-DNS-OUT -s 198.19.0.10/32 -p tcp -m tcp --sport 53 -j NOTRACK\n");
	ASSERT(strstr(s6, "NOTRACK") == NULL);
	free(both);
	free(s4);
	free(s6);
	proxy_model_fini(&m);
	json_decref(f);
}

TEST(proxy_ipt_change_sends_only_changed_chains)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_ipt *t = proxy_ipt_new(NULL, true);
	struct proxy_model m;
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	size_t rules, chains;
	char err[256];
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	ASSERT(rules > 40);
	proxy_model_fini(&m);
	/* np's one endpoint moves: its SVC chain, a new SEP, the old SEP deleted. */
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(f, "slices"), i, s)
	{
		if (!strcmp(json_string_value(json_object_get(json_object_get(s, "metadata"), "name")),
			    "np-a"))
			json_string_set(
			    json_array_get(json_object_get(json_array_get(json_object_get(s, "endpoints"), 0),
							   "addresses"),
					   0),
			    "198.18.129.33");
	}
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	const char *in = proxy_ipt_last_input(t);
	proxy_golden("ipt-change-endpoint.txt", in);
	ASSERT(strstr(in, "KUBE-SERVICES") == NULL); /* untouched */
	ASSERT_STR_CONTAINS(in, "-X KUBE-SEP-");
	proxy_model_fini(&m);
	proxy_ipt_free(t);
	json_decref(f);
}
