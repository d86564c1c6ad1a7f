/* test_proxy.c - the proxy's pure helpers: --nodeport-addresses parsing with clear
 * errors, the UDP conntrack match, and the metrics text before any proxy ran. */
#include <errno.h>
#include <stdlib.h>

#include "harness/t.h"
#include "proxy/conntrack.h"
#include "proxy/proxy.h"

TEST(proxy_nodeport_addresses)
{
	struct cidr *c = NULL;
	char err[128];
	ASSERT_INT_EQ(proxy_nodeport_addresses_parse("198.18.0.0/24,2001:db8::11", &c, err, sizeof(err)), 2);
	ASSERT_INT_EQ(c[0].bits, 24);
	ASSERT_INT_EQ(c[1].bits, 128);
	free(c);
	ASSERT_INT_EQ(proxy_nodeport_addresses_parse("", &c, err, sizeof(err)), 0);
	ASSERT(c == NULL);
	ASSERT_INT_EQ(proxy_nodeport_addresses_parse("198.18.0.0/24,primary", &c, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "primary is not an IP address or CIDR");
	ASSERT(c == NULL);
	ASSERT_INT_EQ(proxy_nodeport_addresses_parse("198.18.0.0/33", &c, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "198.18.0.0/33");
}

TEST(proxy_conntrack_match)
{
	struct proxy_ct_match m = {.dport = 53};
	ip_parse("198.19.0.10", &m.dst);
	struct ip_addr vip, other, ep, ep2;
	ip_parse("198.19.0.10", &vip);
	ip_parse("198.19.0.11", &other);
	ip_parse("198.18.128.5", &ep);
	ip_parse("198.18.128.6", &ep2);
	ASSERT(proxy_ct_matches(&m, &vip, 53, &vip, 53)); /* a flow to a Service without endpoints */
	ASSERT(!proxy_ct_matches(&m, &other, 53, &vip, 53));
	ASSERT(!proxy_ct_matches(&m, &vip, 54, &vip, 53));
	m.by_ep = true;
	m.ep = ep;
	m.ep_port = 5353;
	ASSERT(proxy_ct_matches(&m, &vip, 53, &ep, 5353));   /* DNATed to the removed endpoint */
	ASSERT(!proxy_ct_matches(&m, &vip, 53, &ep2, 5353)); /* to one that stays */
	ASSERT(!proxy_ct_matches(&m, &vip, 53, &ep, 5354));
	struct proxy_ct_match np = {
	    .any_dst = true, .dport = 30053, .by_ep = true, .ep = ep, .ep_port = 5353};
	ASSERT(proxy_ct_matches(&np, &other, 30053, &ep, 5353));
}
