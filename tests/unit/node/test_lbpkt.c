/* test_lbpkt.c - ARP and NDP frames of LoadBalancer announcement (node/lbpkt.h): the
 * reply to an ARP request, the solicited NA (checksum, flags, addresses) and the DAD
 * answer, nothing for addresses not owned, bad checksums or truncated frames, and the
 * gratuitous frames. Inputs are the fuzz corpus's frames (tests/fuzz/corpus/lbpkt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/t.h"
#include "node/lbpkt.h"

static const unsigned char mac[6] = {2, 0, 0, 0, 0, 1};
static const unsigned char cmac[6] = {2, 0, 0, 0, 0, 0x64};

static size_t load(const char *name, unsigned char *buf, size_t cap)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/fuzz/corpus/lbpkt/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		t_fail(__FILE__, __LINE__, "cannot read %s", path);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static bool owns(const struct ip_addr *ip, void *ud)
{
	struct ip_addr want;
	ip_parse(ud, &want);
	return ip->family == want.family && !memcmp(ip->b, want.b, ip->family == 4 ? 4 : 16);
}

TEST(lbpkt_arp_request_gets_a_reply_to_the_requester)
{
	unsigned char f[128], out[NODE_LB_PKT_MAX];
	size_t n = load("arp_request", f, sizeof(f));
	struct ip_addr t;
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "198.18.0.241", out, &t), 0);
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "198.18.0.240", out, &t), 42);
	ASSERT(!memcmp(out, cmac, 6) && !memcmp(out + 6, mac, 6) && out[12] == 8 && out[13] == 6);
	ASSERT_INT_EQ(out[21], 2);			  /* reply */
	ASSERT(!memcmp(out + 22, mac, 6));		  /* sender: us */
	ASSERT(!memcmp(out + 28, "\xc6\x12\x00\xf0", 4)); /* 198.18.0.240 */
	ASSERT(!memcmp(out + 32, cmac, 6));
	ASSERT(!memcmp(out + 38, "\xc6\x12\x00\x64", 4)); /* 198.18.0.100 */
	ASSERT_INT_EQ(t.family, 4);
	/* our own request (a looped-back frame) is never answered */
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, cmac, owns, "198.18.0.240", out, NULL), 0);
	ASSERT_INT_EQ(
	    node_lb_pkt_answer(f, load("arp_short", f, sizeof(f)), mac, owns, "198.18.0.240", out, NULL), 0);
}

TEST(lbpkt_neighbour_solicitation_gets_a_solicited_na)
{
	unsigned char f[128], out[NODE_LB_PKT_MAX];
	size_t n = load("ns_with_slla", f, sizeof(f));
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "2001:db8::f6", out, NULL), 0);
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "2001:db8::f5", out, NULL), 86);
	ASSERT(!memcmp(out, cmac, 6) && out[12] == 0x86 && out[13] == 0xdd);
	ASSERT_INT_EQ(out[14 + 7], 255); /* hop limit */
	struct ip_addr src, dst;
	src.family = dst.family = 6;
	memcpy(src.b, out + 22, 16);
	memcpy(dst.b, out + 38, 16);
	ASSERT(owns(&src, "2001:db8::f5"));
	ASSERT(owns(&dst, "2001:db8::64"));
	ASSERT_INT_EQ(out[54], 136);
	ASSERT_INT_EQ(out[58], 0x60); /* Solicited + Override */
	ASSERT_INT_EQ(node_lb_pkt_icmp6_csum(out + 22, out + 38, out + 54, 32), 0);
	ASSERT(!memcmp(out + 80, mac, 6)); /* target link-layer address */
	/* a flipped bit breaks the checksum: no answer */
	f[70] ^= 1;
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "2001:db8::f5", out, NULL), 0);
	ASSERT_INT_EQ(
	    node_lb_pkt_answer(f, load("ns_truncated", f, sizeof(f)), mac, owns, "2001:db8::f5", out, NULL),
	    0);
}

TEST(lbpkt_dad_probe_is_answered_to_all_nodes)
{
	unsigned char f[128], out[NODE_LB_PKT_MAX];
	size_t n = load("ns_dad", f, sizeof(f));
	ASSERT_INT_EQ(node_lb_pkt_answer(f, n, mac, owns, "2001:db8::f5", out, NULL), 86);
	ASSERT(!memcmp(out, "\x33\x33\x00\x00\x00\x01", 6));
	ASSERT_INT_EQ(out[58], 0x20); /* Override only */
	ASSERT_INT_EQ(out[38], 0xff);
}

TEST(lbpkt_gratuitous_frames)
{
	unsigned char out[NODE_LB_PKT_MAX];
	struct ip_addr a4, a6;
	ip_parse("198.18.0.240", &a4);
	ip_parse("2001:db8::f5", &a6);
	ASSERT_INT_EQ(node_lb_pkt_garp(out, mac, &a4), 42);
	ASSERT(!memcmp(out, "\xff\xff\xff\xff\xff\xff", 6));
	ASSERT(!memcmp(out + 28, out + 38, 4)); /* sender IP = target IP */
	ASSERT_INT_EQ(node_lb_pkt_unsolicited_na(out, mac, &a6), 86);
	ASSERT_INT_EQ(out[58], 0x20);
	ASSERT_INT_EQ(node_lb_pkt_icmp6_csum(out + 22, out + 38, out + 54, 32), 0);
}
