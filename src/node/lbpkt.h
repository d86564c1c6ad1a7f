/* lbpkt.h - the frames of LoadBalancer address announcement (pure, no I/O): answers to
 * ARP requests and IPv6 Neighbour Solicitations for the addresses this node announces,
 * gratuitous ARP and unsolicited Neighbour Advertisements on takeover.
 *
 * Frames are whole Ethernet frames as an AF_PACKET SOCK_RAW socket reads and writes
 * them. The parser reads bytes from the wire: it checks the length before every read
 * and answers nothing for anything it does not fully understand (tests/fuzz/fuzz_lbpkt.c).
 * Answers follow RFC 826 and RFC 4861: an ARP reply to the requester's MAC; a
 * Neighbour Advertisement with Solicited and Override set, hop limit 255, sent from the
 * target address to the solicitation's source (to ff02::1 without Solicited when the
 * source is :: (duplicate address detection)), with the target link-layer address.
 */
#ifndef NODE_LBPKT_H
#define NODE_LBPKT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

/* The largest frame built here (an IPv6 NA: 14 + 40 + 32). */
#define NODE_LB_PKT_MAX 86

/* If frame (len bytes) is an ARP request or a Neighbour Solicitation whose target
 * owned(target, ud) accepts, writes the answer from mac into out (NODE_LB_PKT_MAX
 * bytes), the target into *target (may be NULL), and returns the answer's length; else
 * returns 0. Never reads past len. */
size_t node_lb_pkt_answer(const unsigned char *frame, size_t len, const unsigned char mac[6],
			  bool (*owned)(const struct ip_addr *ip, void *ud), void *ud, unsigned char *out,
			  struct ip_addr *target);
/* A gratuitous ARP request for ip4 (family 4) from mac, broadcast: 42 bytes into out. */
size_t node_lb_pkt_garp(unsigned char *out, const unsigned char mac[6], const struct ip_addr *ip4);
/* An unsolicited Neighbour Advertisement (Override) for ip6 from mac to ff02::1: 86
 * bytes into out. */
size_t node_lb_pkt_unsolicited_na(unsigned char *out, const unsigned char mac[6], const struct ip_addr *ip6);
/* The ICMPv6 checksum of msg (len bytes) from src to dst (16 bytes each). */
unsigned short node_lb_pkt_icmp6_csum(const unsigned char *src, const unsigned char *dst,
				      const unsigned char *msg, size_t len);

#endif
