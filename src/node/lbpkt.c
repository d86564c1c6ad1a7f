/* lbpkt.c - ARP and NDP frames for LoadBalancer addresses (see lbpkt.h). The payloads
 * of gratuitous ARP and NA come from node/announce.c, which builds the same ones for
 * pod interfaces; this file adds the Ethernet and IPv6 headers a packet socket needs. */
#include "node/lbpkt.h"

#include <string.h>

#include "node/announce.h"

#define ETH_HLEN_ 14
#define IP6_HLEN 40

static const unsigned char bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const unsigned char all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

static void eth_hdr(unsigned char *out, const unsigned char dst[6], const unsigned char src[6], unsigned type)
{
	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	out[12] = (unsigned char)(type >> 8);
	out[13] = (unsigned char)type;
}

unsigned short node_lb_pkt_icmp6_csum(const unsigned char *src, const unsigned char *dst,
				      const unsigned char *msg, size_t len)
{
	unsigned long sum = 0;
	for (int i = 0; i < 16; i += 2)
		sum += (unsigned)(src[i] << 8 | src[i + 1]) + (unsigned)(dst[i] << 8 | dst[i + 1]);
	sum += (unsigned long)len + 58;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (unsigned)(msg[i] << 8 | msg[i + 1]);
	if (len & 1)
		sum += (unsigned)msg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

/* An NA for target from mac to dst_ip at dst_mac; solicited sets the S flag. */
static size_t na_frame(unsigned char *out, const unsigned char mac[6], const unsigned char target[16],
		       const unsigned char dst_mac[6], const unsigned char dst_ip[16], bool solicited)
{
	struct ip_addr t = {.family = 6};
	memcpy(t.b, target, 16);
	eth_hdr(out, dst_mac, mac, 0x86dd);
	unsigned char *ip = out + ETH_HLEN_, *icmp = ip + IP6_HLEN;
	memset(ip, 0, IP6_HLEN);
	ip[0] = 0x60;
	ip[5] = 32; /* payload length */
	ip[6] = 58; /* ICMPv6 */
	ip[7] = 255;
	memcpy(ip + 8, target, 16);
	memcpy(ip + 24, dst_ip, 16);
	node_announce_na(icmp, mac, &t);
	if (solicited)
		icmp[4] |= 0x40;
	unsigned short c = node_lb_pkt_icmp6_csum(ip + 8, ip + 24, icmp, 32);
	icmp[2] = (unsigned char)(c >> 8);
	icmp[3] = (unsigned char)c;
	return ETH_HLEN_ + IP6_HLEN + 32;
}

static size_t arp_answer(const unsigned char *f, size_t len, const unsigned char mac[6],
			 bool (*owned)(const struct ip_addr *, void *), void *ud, unsigned char *out,
			 struct ip_addr *target)
{
	static const unsigned char req[8] = {0, 1, 8, 0, 6, 4, 0, 1}; /* Ethernet, IPv4, request */
	if (len < ETH_HLEN_ + 28 || memcmp(f + ETH_HLEN_, req, 8) != 0)
		return 0;
	const unsigned char *a = f + ETH_HLEN_, *sha = a + 8, *spa = a + 14, *tpa = a + 24;
	struct ip_addr t = {.family = 4};
	memcpy(t.b, tpa, 4);
	if (!memcmp(sha, mac, 6) || !owned(&t, ud))
		return 0;
	eth_hdr(out, sha, mac, 0x0806);
	unsigned char *r = out + ETH_HLEN_;
	memcpy(r, req, 8);
	r[7] = 2; /* reply */
	memcpy(r + 8, mac, 6);
	memcpy(r + 14, tpa, 4);
	memcpy(r + 18, sha, 6);
	memcpy(r + 24, spa, 4);
	if (target)
		*target = t;
	return ETH_HLEN_ + 28;
}

static size_t ns_answer(const unsigned char *f, size_t len, const unsigned char mac[6],
			bool (*owned)(const struct ip_addr *, void *), void *ud, unsigned char *out,
			struct ip_addr *target)
{
	if (len < ETH_HLEN_ + IP6_HLEN + 24)
		return 0;
	const unsigned char *ip = f + ETH_HLEN_, *icmp = ip + IP6_HLEN;
	size_t plen = (size_t)ip[4] << 8 | ip[5];
	/* IPv6, no extension headers, hop limit 255, an NS of code 0 that fits the frame */
	if ((ip[0] >> 4) != 6 || ip[6] != 58 || ip[7] != 255 || plen < 24 ||
	    plen > len - ETH_HLEN_ - IP6_HLEN || icmp[0] != 135 || icmp[1] != 0)
		return 0;
	if (node_lb_pkt_icmp6_csum(ip + 8, ip + 24, icmp, plen) != 0)
		return 0;
	struct ip_addr t = {.family = 6};
	memcpy(t.b, icmp + 8, 16);
	if (t.b[0] == 0xff || !owned(&t, ud))
		return 0;
	/* Where to answer: the source link-layer address option, else the frame's source. */
	const unsigned char *dst_mac = f + 6;
	for (size_t off = 24; off + 2 <= plen;) {
		size_t olen = (size_t)icmp[off + 1] * 8;
		if (olen == 0 || off + olen > plen)
			return 0; /* RFC 4861 7.1.1: a zero-length option invalidates the message */
		if (icmp[off] == 1 && olen >= 8)
			dst_mac = icmp + off + 2;
		off += olen;
	}
	static const unsigned char unspec[16] = {0};
	bool dad = !memcmp(ip + 8, unspec, 16);
	unsigned char mc[6] = {0x33, 0x33, 0, 0, 0, 1};
	if (!memcmp(dst_mac, mac, 6))
		return 0;
	if (target)
		*target = t;
	return dad ? na_frame(out, mac, t.b, mc, all_nodes, false)
		   : na_frame(out, mac, t.b, dst_mac, ip + 8, true);
}

size_t node_lb_pkt_answer(const unsigned char *frame, size_t len, const unsigned char mac[6],
			  bool (*owned)(const struct ip_addr *ip, void *ud), void *ud, unsigned char *out,
			  struct ip_addr *target)
{
	if (!frame || len < ETH_HLEN_)
		return 0;
	unsigned type = (unsigned)frame[12] << 8 | frame[13];
	if (type == 0x0806)
		return arp_answer(frame, len, mac, owned, ud, out, target);
	if (type == 0x86dd)
		return ns_answer(frame, len, mac, owned, ud, out, target);
	return 0;
}

size_t node_lb_pkt_garp(unsigned char *out, const unsigned char mac[6], const struct ip_addr *ip4)
{
	eth_hdr(out, bcast, mac, 0x0806);
	node_announce_garp(out + ETH_HLEN_, mac, ip4);
	return ETH_HLEN_ + 28;
}

size_t node_lb_pkt_unsolicited_na(unsigned char *out, const unsigned char mac[6], const struct ip_addr *ip6)
{
	static const unsigned char mc[6] = {0x33, 0x33, 0, 0, 0, 1};
	return na_frame(out, mac, ip6->b, mc, all_nodes, false);
}
