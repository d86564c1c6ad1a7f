/* fuzz_lbpkt.c - libFuzzer target for the ARP / Neighbour Solicitation parser of
 * LoadBalancer announcement (node/lbpkt.c): the input is a frame from the wire.
 *
 * Checks beyond "no crash": an answer is never longer than NODE_LB_PKT_MAX, is an ARP
 * reply or an NA from our MAC, and an NA's ICMPv6 checksum verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/lbpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool any(const struct ip_addr *ip, void *ud)
{
	(void)ud;
	return ip->b[0] != 0x7f; /* most addresses, not all */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char mac[6] = {2, 0, 0, 0, 0, 1};
	unsigned char *f = malloc(size ? size : 1), out[NODE_LB_PKT_MAX + 16];
	memcpy(f, data, size);
	struct ip_addr t;
	size_t n = node_lb_pkt_answer(f, size, mac, any, NULL, out, &t);
	if (n) {
		if (n > NODE_LB_PKT_MAX || memcmp(out + 6, mac, 6))
			abort();
		if (n == 86 && node_lb_pkt_icmp6_csum(out + 22, out + 38, out + 54, 32) != 0)
			abort();
		if (n != 86 && (n != 42 || out[21] != 2))
			abort();
	}
	free(f);
	return 0;
}
