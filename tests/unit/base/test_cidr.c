/* test_cidr.c - IP/CIDR parsing, formatting and offset arithmetic (base/cidr.h). */
#include <errno.h>
#include <stdint.h>

#include <netinet/in.h>

#include "base/cidr.h"
#include "base/sockaddr.h"
#include "harness/t.h"

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;
	if (ip_parse(s, &a) < 0)
		t_fail(__FILE__, __LINE__, "bad test address %s", s);
	return a;
}

static struct cidr net(const char *s)
{
	struct cidr c;
	char err[128];
	if (cidr_parse(s, &c, err, sizeof err) < 0)
		t_fail(__FILE__, __LINE__, "bad test cidr %s: %s", s, err);
	return c;
}

TEST(cidr_ip_parse_format)
{
	char buf[IP_STRLEN];
	struct ip_addr a = ip("198.18.0.7");
	ASSERT_INT_EQ(a.family, 4);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "198.18.0.7");
	a = ip("2001:DB8:0:0::1");
	ASSERT_INT_EQ(a.family, 6);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "2001:db8::1");
	struct ip_addr b;
	ASSERT_INT_EQ(ip_parse("198.18.0.256", &b), -EINVAL);
	ASSERT_INT_EQ(ip_parse("", &b), -EINVAL);
	ASSERT_INT_EQ(ip_parse(NULL, &b), -EINVAL);
	ASSERT_INT_EQ(ip_parse("010.0.0.1", &b), -EINVAL);
	ASSERT(ip_cmp(&(struct ip_addr){0}, &a) != 0);
	struct ip_addr c = ip("198.18.0.7"), d = ip("198.18.0.8");
	ASSERT(ip_cmp(&c, &d) < 0);
	ASSERT(ip_cmp(&d, &c) > 0);
	ASSERT(ip_cmp(&c, &a) < 0); /* IPv4 sorts before IPv6 */
}

TEST(cidr_ip_classes)
{
	struct ip_addr a;
	a = ip("0.0.0.0");
	ASSERT(ip_is_unspecified(&a));
	a = ip("::");
	ASSERT(ip_is_unspecified(&a));
	a = ip("127.1.2.3");
	ASSERT(ip_is_loopback(&a));
	a = ip("::1");
	ASSERT(ip_is_loopback(&a));
	a = ip("::ffff:127.0.0.1");
	ASSERT(ip_is_loopback(&a));
	a = ip("169.254.1.1");
	ASSERT(ip_is_link_local_unicast(&a));
	a = ip("fe80::1");
	ASSERT(ip_is_link_local_unicast(&a));
	a = ip("224.0.0.251");
	ASSERT(ip_is_link_local_multicast(&a));
	a = ip("ff02::1");
	ASSERT(ip_is_link_local_multicast(&a));
	a = ip("198.18.0.1");
	ASSERT(!ip_is_unspecified(&a) && !ip_is_loopback(&a) && !ip_is_link_local_unicast(&a) &&
	       !ip_is_link_local_multicast(&a));
	a = ip("2001:db8::1");
	ASSERT(!ip_is_unspecified(&a) && !ip_is_loopback(&a) && !ip_is_link_local_unicast(&a) &&
	       !ip_is_link_local_multicast(&a));
}

TEST(cidr_parse_and_errors)
{
	char buf[CIDR_STRLEN], err[128];
	struct cidr c = net("198.19.0.0/16");
	ASSERT_INT_EQ(c.bits, 16);
	ASSERT_STR_EQ(cidr_format(&c, buf, sizeof buf), "198.19.0.0/16");
	c = net("2001:db8::/108");
	ASSERT_STR_EQ(cidr_format(&c, buf, sizeof buf), "2001:db8::/108");
	c = net("198.19.7.9/16"); /* host bits cleared */
	ASSERT_STR_EQ(cidr_format(&c, buf, sizeof buf), "198.19.0.0/16");
	c = net("198.18.0.0/0");
	ASSERT_STR_EQ(cidr_format(&c, buf, sizeof buf), "0.0.0.0/0");
	struct cidr x;
	ASSERT_INT_EQ(cidr_parse("198.19.0.0", &x, err, sizeof err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid CIDR \"198.19.0.0\": missing \"/prefix-length\"");
	ASSERT_INT_EQ(cidr_parse("198.19.0.0/33", &x, err, sizeof err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid prefix length \"33\" in \"198.19.0.0/33\": must be 0 to 32 for IPv4");
	ASSERT_INT_EQ(cidr_parse("2001:db8::/129", &x, err, sizeof err), -EINVAL);
	ASSERT_STR_CONTAINS(err, "must be 0 to 128 for IPv6");
	ASSERT_INT_EQ(cidr_parse("198.19.0.x/16", &x, err, sizeof err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid address \"198.19.0.x\" in \"198.19.0.x/16\"");
	ASSERT_INT_EQ(cidr_parse("198.19.0.0/-1", &x, NULL, 0), -EINVAL);
	ASSERT_INT_EQ(cidr_parse("198.19.0.0/016", &x, NULL, 0), -EINVAL);
	ASSERT_INT_EQ(cidr_parse("198.19.0.0/", &x, NULL, 0), -EINVAL);
	ASSERT_INT_EQ(cidr_parse("", &x, err, sizeof err), -EINVAL);
	ASSERT_STR_EQ(err, "empty CIDR");
}

TEST(cidr_contains_size_usable)
{
	struct cidr c = net("198.19.0.0/16");
	struct ip_addr a = ip("198.19.255.255"), b = ip("198.20.0.0"), v6 = ip("2001:db8::1");
	ASSERT(cidr_contains(&c, &a));
	ASSERT(!cidr_contains(&c, &b));
	ASSERT(!cidr_contains(&c, &v6));
	ASSERT_INT_EQ(cidr_size(&c), 65536);
	ASSERT_INT_EQ(cidr_usable(&c), 65534);
	struct cidr c6 = net("2001:db8::/108");
	ASSERT_INT_EQ(cidr_size(&c6), 1 << 20);
	ASSERT_INT_EQ(cidr_usable(&c6), (1 << 20) - 1);
	struct cidr big = net("2001:db8::/64");
	ASSERT(cidr_size(&big) == UINT64_MAX);
	ASSERT(cidr_usable(&big) == UINT64_MAX);
	struct cidr huge = net("2001:db8::/32");
	ASSERT(cidr_size(&huge) == UINT64_MAX);
	struct cidr one = net("198.18.0.1/32"), two = net("198.18.0.0/31"), host6 = net("2001:db8::1/128");
	ASSERT_INT_EQ(cidr_usable(&one), 0);
	ASSERT_INT_EQ(cidr_usable(&two), 0);
	ASSERT_INT_EQ(cidr_usable(&host6), 0);
	struct ip_addr first;
	ASSERT_INT_EQ(cidr_first_usable(&one, &first), -ERANGE);
}

TEST(cidr_nth_offset_first_usable)
{
	char buf[IP_STRLEN];
	struct cidr c = net("198.19.0.0/16");
	struct ip_addr a;
	ASSERT_INT_EQ(cidr_nth(&c, 0, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "198.19.0.0");
	ASSERT_INT_EQ(cidr_nth(&c, 258, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "198.19.1.2");
	ASSERT_INT_EQ(cidr_nth(&c, 65535, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "198.19.255.255");
	ASSERT_INT_EQ(cidr_nth(&c, 65536, &a), -ERANGE);
	uint64_t off;
	struct ip_addr q = ip("198.19.1.2");
	ASSERT_INT_EQ(cidr_offset(&c, &q, &off), 0);
	ASSERT_INT_EQ(off, 258);
	q = ip("198.20.0.1");
	ASSERT_INT_EQ(cidr_offset(&c, &q, &off), -ERANGE);
	ASSERT_INT_EQ(cidr_first_usable(&c, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "198.19.0.1");

	struct cidr c6 = net("2001:db8::/108");
	ASSERT_INT_EQ(cidr_nth(&c6, 0xfffff, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "2001:db8::f:ffff");
	q = ip("2001:db8::1:0");
	ASSERT_INT_EQ(cidr_offset(&c6, &q, &off), 0);
	ASSERT_INT_EQ(off, 65536);
	/* A /32 IPv6 block: offsets up to 2^64-1 work, beyond that -ERANGE. */
	struct cidr huge = net("2001:db8::/32");
	ASSERT_INT_EQ(cidr_nth(&huge, UINT64_MAX, &a), 0);
	ASSERT_STR_EQ(ip_format(&a, buf, sizeof buf), "2001:db8::ffff:ffff:ffff:ffff");
	q = ip("2001:db8:0:1::");
	ASSERT_INT_EQ(cidr_offset(&huge, &q, &off), -ERANGE);
	ASSERT(cidr_is_usable(&huge, &q));
	ASSERT(!cidr_is_usable(&huge, &huge.net));
}

TEST(cidr_is_usable_excludes_network_and_broadcast)
{
	struct cidr c = net("198.19.0.0/24");
	struct ip_addr a;
	a = ip("198.19.0.0");
	ASSERT(!cidr_is_usable(&c, &a));
	a = ip("198.19.0.255");
	ASSERT(!cidr_is_usable(&c, &a));
	a = ip("198.19.0.1");
	ASSERT(cidr_is_usable(&c, &a));
	a = ip("198.19.0.254");
	ASSERT(cidr_is_usable(&c, &a));
	a = ip("198.19.1.1");
	ASSERT(!cidr_is_usable(&c, &a));
	struct cidr c6 = net("2001:db8::/120");
	a = ip("2001:db8::ff"); /* IPv6 has no broadcast: the last address is usable */
	ASSERT(cidr_is_usable(&c6, &a));
	a = ip("2001:db8::");
	ASSERT(!cidr_is_usable(&c6, &a));
}

TEST(ip_sockaddr_literal_addresses_only)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	ASSERT_INT_EQ(ip_sockaddr("198.18.0.1", 53, &ss, &len), 0);
	ASSERT_INT_EQ(ss.ss_family, AF_INET);
	ASSERT_INT_EQ(len, sizeof(struct sockaddr_in));
	ASSERT_INT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	ASSERT_INT_EQ(ip_sockaddr("2001:db8::1", 8080, &ss, &len), 0);
	ASSERT_INT_EQ(ss.ss_family, AF_INET6);
	ASSERT_INT_EQ(len, sizeof(struct sockaddr_in6));
	ASSERT_INT_EQ(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 8080);
	ASSERT_INT_EQ(ip_sockaddr("example.test", 53, &ss, &len), -EINVAL);
	ASSERT_INT_EQ(ip_sockaddr("[2001:db8::1]", 53, &ss, &len), -EINVAL);
}
