/* test_ipam.c - LoadBalancer IP and podCIDR pickers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/cidr.h"
#include "base/err.h"
#include "controller/ipam.h"
#include "harness/t.h"

/* A used-set of address (or CIDR) texts. */
struct used {
	const char *v[300];
	size_t n;
};

static bool ip_used(const struct ip_addr *ip, void *ud)
{
	struct used *u = ud;
	char txt[IP_STRLEN];
	ip_format(ip, txt, sizeof(txt));
	for (size_t i = 0; i < u->n; i++) {
		if (strcmp(u->v[i], txt) == 0)
			return true;
	}
	return false;
}

static bool cidr_used(const struct cidr *c, void *ud)
{
	struct used *u = ud;
	char txt[CIDR_STRLEN];
	cidr_format(c, txt, sizeof(txt));
	for (size_t i = 0; i < u->n; i++) {
		if (strcmp(u->v[i], txt) == 0)
			return true;
	}
	return false;
}

static struct cidr C(const char *s) {
	struct cidr c;
	if (cidr_parse(s, &c, NULL, 0) != 0)
		t_fail(__FILE__, __LINE__, "bad CIDR %s", s);
	return c;
}

static const char *
pick(const struct cidr *pools, size_t n, struct used *u, const char *req, int *rc)
{
	static char txt[IP_STRLEN];
	struct ip_addr ip;
	char err[256] = "";
	*rc = ctrl_lb_pick(pools, n, ip_used, u, req, &ip, err, sizeof(err));
	if (*rc != 0)
		return NULL;
	return ip_format(&ip, txt, sizeof(txt));
}

TEST(ipam_lb_first_free_skips_network_and_broadcast)
{
	struct cidr pool = C("198.18.0.0/29");
	struct used u = {{0}, 0};
	int rc;
	ASSERT_STR_EQ(pick(&pool, 1, &u, NULL, &rc), "198.18.0.1");
	u.v[u.n++] = "198.18.0.1";
	u.v[u.n++] = "198.18.0.2";
	ASSERT_STR_EQ(pick(&pool, 1, &u, "", &rc), "198.18.0.3");
	u.v[u.n++] = "198.18.0.3";
	u.v[u.n++] = "198.18.0.4";
	u.v[u.n++] = "198.18.0.5";
	u.v[u.n++] = "198.18.0.6";
	ASSERT(pick(&pool, 1, &u, NULL, &rc) == NULL); /* .7 is the broadcast address */
	ASSERT_INT_EQ(rc, ERR_FULL);
}

TEST(ipam_lb_small_pools_and_ipv6_use_every_address)
{
	static const struct {
		const char *pool, *first, *last;
		int size;
	} rows[] = {
	    {"198.18.0.8/31", "198.18.0.8", "198.18.0.9", 2},
	    {"198.18.0.10/32", "198.18.0.10", "198.18.0.10", 1},
	    {"2001:db8::/126", "2001:db8::", "2001:db8::3", 4},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cidr pool = C(rows[i].pool);
		struct used u = {{0}, 0};
		char seen[8][IP_STRLEN];
		int rc;
		for (int k = 0; k < rows[i].size; k++) {
			const char *ip = pick(&pool, 1, &u, NULL, &rc);
			ASSERT(ip);
			snprintf(seen[k], sizeof(seen[k]), "%s", ip);
			u.v[u.n++] = seen[k];
		}
		ASSERT_STR_EQ(seen[0], rows[i].first);
		ASSERT_STR_EQ(seen[rows[i].size - 1], rows[i].last);
		ASSERT(pick(&pool, 1, &u, NULL, &rc) == NULL);
		ASSERT_INT_EQ(rc, ERR_FULL);
	}
}

TEST(ipam_lb_pools_in_order)
{
	struct cidr pools[2] = {C("198.18.1.0/30"), C("2001:db8:1::/120")};
	struct used u = {{"198.18.1.1", "198.18.1.2"}, 2};
	int rc;
	ASSERT_STR_EQ(pick(pools, 2, &u, NULL, &rc), "2001:db8:1::");
	ASSERT(pick(pools, 0, &u, NULL, &rc) == NULL);
	ASSERT_INT_EQ(rc, ERR_FULL);
}

TEST(ipam_lb_requested_address)
{
	struct cidr pools[2] = {C("198.18.2.0/24"), C("2001:db8:2::/64")};
	struct used u = {{"198.18.2.7"}, 1};
	struct ip_addr ip;
	char err[256];
	int rc;
	ASSERT_STR_EQ(pick(pools, 2, &u, "198.18.2.9", &rc), "198.18.2.9");
	ASSERT_STR_EQ(pick(pools, 2, &u, "2001:db8:2::ffff", &rc), "2001:db8:2::ffff");
	ASSERT(pick(pools, 2, &u, "198.18.2.7", &rc) == NULL);
	ASSERT_INT_EQ(rc, -EEXIST);

	err[0] = 0;
	ASSERT_INT_EQ(ctrl_lb_pick(pools, 2, ip_used, &u, "198.19.0.1", &ip, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "198.19.0.1 is not in any LoadBalancer IP pool");
	err[0] = 0;
	ASSERT_INT_EQ(ctrl_lb_pick(pools, 2, ip_used, &u, "198.18.2.255", &ip, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "broadcast address of pool 198.18.2.0/24");
	err[0] = 0;
	ASSERT_INT_EQ(ctrl_lb_pick(pools, 2, ip_used, &u, "198.18.2.0", &ip, err, sizeof(err)), -EINVAL);
	err[0] = 0;
	ASSERT_INT_EQ(ctrl_lb_pick(pools, 2, ip_used, &u, "banana", &ip, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "must be a valid IP address");
	/* err may be NULL. */
	ASSERT_INT_EQ(ctrl_lb_pick(pools, 2, ip_used, &u, "banana", &ip, NULL, 0), -EINVAL);
}

TEST(ipam_lb_wants)
{
	static const struct {
		const char *svc, *ours;
		bool want;
	} rows[] = {
	    {"{\"spec\":{\"type\":\"LoadBalancer\"}}", NULL, true},
	    {"{\"spec\":{\"type\":\"LoadBalancer\"}}", "svcplane.io/lb", true},
	    {"{\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"svcplane.io/lb\"}}",
	     "svcplane.io/lb", true},
	    {"{\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"other.io/lb\"}}", "svcplane.io/lb",
	     false},
	    {"{\"spec\":{\"type\":\"LoadBalancer\",\"loadBalancerClass\":\"other.io/lb\"}}", NULL, false},
	    {"{\"spec\":{\"type\":\"NodePort\"}}", NULL, false},
	    {"{\"spec\":{\"type\":\"ClusterIP\"}}", NULL, false},
	    {"{\"spec\":{}}", NULL, false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *s = json_loads(rows[i].svc, 0, NULL);
		if (ctrl_lb_wants(s, rows[i].ours) != rows[i].want)
			t_fail(__FILE__, __LINE__, "row %zu: %s with class %s", i, rows[i].svc,
			       rows[i].ours ? rows[i].ours : "(none)");
		json_decref(s);
	}
}

static const char *podcidr(const char *cluster, int mask, struct used *u, int *rc)
{
	static char txt[CIDR_STRLEN];
	struct cidr c = C(cluster), out;
	*rc = ctrl_podcidr_pick(&c, mask, cidr_used, u, &out);
	return *rc == 0 ? cidr_format(&out, txt, sizeof(txt)) : NULL;
}

TEST(ipam_podcidr_first_free_in_order)
{
	struct used u = {{0}, 0};
	int rc;
	ASSERT_STR_EQ(podcidr("198.18.0.0/16", 24, &u, &rc), "198.18.0.0/24");
	u.v[u.n++] = "198.18.0.0/24";
	u.v[u.n++] = "198.18.2.0/24";
	ASSERT_STR_EQ(podcidr("198.18.0.0/16", 24, &u, &rc), "198.18.1.0/24");
	u.v[u.n++] = "198.18.1.0/24";
	ASSERT_STR_EQ(podcidr("198.18.0.0/16", 24, &u, &rc), "198.18.3.0/24");
	ASSERT_STR_EQ(podcidr("198.18.0.0/16", 16, &u, &rc), "198.18.0.0/16");

	struct used full = {{"198.18.4.0/24", "198.18.5.0/24", "198.18.6.0/24", "198.18.7.0/24"}, 4};
	ASSERT(podcidr("198.18.4.0/22", 24, &full, &rc) == NULL);
	ASSERT_INT_EQ(rc, ERR_FULL);

	struct used v6 = {{"2001:db8::/64"}, 1};
	ASSERT_STR_EQ(podcidr("2001:db8::/48", 64, &v6, &rc), "2001:db8:0:1::/64");
	ASSERT_STR_EQ(podcidr("2001:db8::/32", 64, &v6, &rc), "2001:db8:0:1::/64");

	ASSERT(podcidr("198.18.0.0/16", 15, &u, &rc) == NULL);
	ASSERT_INT_EQ(rc, -EINVAL);
	ASSERT(podcidr("198.18.0.0/16", 33, &u, &rc) == NULL);
	ASSERT_INT_EQ(rc, -EINVAL);
}
