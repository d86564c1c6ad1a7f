/* test_masq.c - the masquerade table's nftables script, and applying it for real in a
 * network namespace of the test's own (as root). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/t.h"
#include "node/masq.h"
#include "node/netns.h"

TEST(masq_script)
{
	struct cidr own, all[2];
	char err[128];
	ASSERT_INT_EQ(cidr_parse("198.18.129.0/24", &own, err, sizeof(err)), 0);
	ASSERT_INT_EQ(cidr_parse("198.18.128.0/24", &all[0], err, sizeof(err)), 0);
	all[1] = own;
	char *s = node_masq_script(&own, 1, all, 2);
	ASSERT_STR_CONTAINS(s, "table inet svcplane_masq {");
	ASSERT_STR_CONTAINS(s, "delete table ip svcplane_masq"); /* the old IPv4-only table */
	ASSERT_STR_CONTAINS(s, "elements = { 198.18.128.0/24, 198.18.129.0/24 }");
	ASSERT_STR_CONTAINS(s, "ip saddr 198.18.129.0/24 ip daddr != @podcidrs masquerade");
	ASSERT_STR_CONTAINS(s, "type nat hook postrouting priority srcnat");
	ASSERT(strstr(s, "ip6 saddr") == NULL);
	free(s);
}

TEST(masq_script_dual_stack)
{
	struct cidr own[2], all[4];
	char err[128];
	ASSERT_INT_EQ(cidr_parse("198.18.129.0/24", &own[0], err, sizeof(err)), 0);
	ASSERT_INT_EQ(cidr_parse("2001:db8:1:1::/64", &own[1], err, sizeof(err)), 0);
	ASSERT_INT_EQ(cidr_parse("198.18.128.0/24", &all[0], err, sizeof(err)), 0);
	ASSERT_INT_EQ(cidr_parse("2001:db8:1::/64", &all[1], err, sizeof(err)), 0);
	all[2] = own[0];
	all[3] = own[1];
	char *s = node_masq_script(own, 2, all, 4);
	ASSERT_STR_CONTAINS(s, "type ipv6_addr");
	ASSERT_STR_CONTAINS(s, "elements = { 2001:db8:1::/64, 2001:db8:1:1::/64 }");
	ASSERT_STR_CONTAINS(s, "ip6 saddr 2001:db8:1:1::/64 ip6 daddr != @podcidrs6 masquerade");
	ASSERT_STR_CONTAINS(s, "ip saddr 198.18.129.0/24 ip daddr != @podcidrs masquerade");
	free(s);
}

struct masq_arg {
	struct cidr own[2], all[4];
	int rc1, rc2;
	char err[256];
};

static int apply_twice(void *arg)
{
	struct masq_arg *m = arg;
	m->rc1 = node_masq_sync(m->own, 2, m->all, 4, m->err, sizeof(m->err));
	m->rc2 = node_masq_sync(m->own, 2, m->all, 4, m->err, sizeof(m->err)); /* replaces, no error */
	return 0;
}

static int cleanup_in(void *arg)
{
	struct masq_arg *m = arg;
	return node_masq_cleanup(m->err, sizeof(m->err));
}

TEST(masq_apply_in_netns)
{
	if (geteuid() != 0)
		t_skip("needs root (CI runs as root)");
	char ns[64], cmd[512], err[256];
	snprintf(ns, sizeof(ns), "svcpt-masq-%d", (int)getpid());
	ASSERT_INT_EQ(node_netns_create(ns, err, sizeof(err)), 0);
	int fd = node_netns_open(ns);
	ASSERT(fd >= 0);
	struct masq_arg m = {0};
	cidr_parse("198.18.130.0/24", &m.own[0], err, sizeof(err));
	cidr_parse("2001:db8:130::/64", &m.own[1], err, sizeof(err));
	cidr_parse("198.18.131.0/24", &m.all[0], err, sizeof(err));
	cidr_parse("2001:db8:131::/64", &m.all[1], err, sizeof(err));
	m.all[2] = m.own[0];
	m.all[3] = m.own[1];
	node_netns_run(fd, apply_twice, &m);
	snprintf(
	    cmd, sizeof(cmd),
	    "ip netns exec %s nft list table inet svcplane_masq | grep -q 'ip6 saddr 2001:db8:130::/64 ip6 daddr != @podcidrs6 masquerade'",
	    ns);
	int listed = system(cmd);
	int crc = node_netns_run(fd, cleanup_in, &m);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s nft list tables | grep -q svcplane_masq", ns);
	int after = system(cmd);
	close(fd);
	node_netns_delete(ns, err, sizeof(err));
	ASSERT_INT_EQ(m.rc1, 0);
	ASSERT_INT_EQ(m.rc2, 0);
	ASSERT_INT_EQ(listed, 0);
	ASSERT_INT_EQ(crc, 0);
	ASSERT(after != 0); /* the table is gone */
}
