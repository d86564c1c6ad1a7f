/* announce.c - gratuitous ARP and unsolicited NA from a pod's interface (see announce.h).
 *
 * Both go out of sockets opened on a thread inside the pod's namespace: an AF_PACKET
 * datagram socket for ARP (the kernel adds the Ethernet header for the broadcast
 * address), a raw ICMPv6 socket for the NA (the kernel computes the checksum; hop limit
 * 255 as RFC 4861 requires, source bound to the pod's address, to ff02::1).
 */
#include "node/announce.h"

#include "node/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

void node_announce_garp(unsigned char out[28], const unsigned char mac[6], const struct ip_addr *ip4)
{
	static const unsigned char hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1}; /* Ethernet, IPv4, request */
	memcpy(out, hdr, 8);
	memcpy(out + 8, mac, 6);
	memcpy(out + 14, ip4->b, 4);
	memset(out + 18, 0, 6);
	memcpy(out + 24, ip4->b, 4);
}

void node_announce_na(unsigned char out[32], const unsigned char mac[6], const struct ip_addr *ip6)
{
	memset(out, 0, 32);
	out[0] = ND_NEIGHBOR_ADVERT; /* type 136, code 0, checksum by the kernel */
	out[4] = 0x20;		     /* flags: Override */
	memcpy(out + 8, ip6->b, 16);
	out[24] = ND_OPT_TARGET_LINKADDR;
	out[25] = 1; /* length in units of 8 bytes */
	memcpy(out + 26, mac, 6);
}

struct job {
	const char *dev;
	const struct ip_addr *ip4, *ip6;
};

static int send_garp(int ifindex, const unsigned char mac[6], const struct ip_addr *ip4)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return -errno;
	unsigned char pkt[28];
	node_announce_garp(pkt, mac, ip4);
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_ARP),
				 .sll_ifindex = ifindex,
				 .sll_halen = 6};
	memset(to.sll_addr, 0xff, 6);
	int rc =
	    sendto(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int send_na(int ifindex, const unsigned char mac[6], const struct ip_addr *ip6)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	int hops = 255, rc = 0;
	unsigned idx = (unsigned)ifindex;
	struct sockaddr_in6 src = {.sin6_family = AF_INET6, .sin6_scope_id = idx};
	memcpy(&src.sin6_addr, ip6->b, 16);
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_scope_id = idx};
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	unsigned char pkt[32];
	node_announce_na(pkt, mac, ip6);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    sendto(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int announce_here(void *arg)
{
	const struct job *j = arg;
	struct ifreq ifr = {0};
	if (strlen(j->dev) >= sizeof(ifr.ifr_name))
		return -EINVAL;
	strcpy(ifr.ifr_name, j->dev);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	int ifindex = (int)if_nametoindex(j->dev);
	if (ifindex <= 0)
		return -ENODEV;
	const unsigned char *mac = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	int rc4 = j->ip4 ? send_garp(ifindex, mac, j->ip4) : 0;
	int rc6 = j->ip6 ? send_na(ifindex, mac, j->ip6) : 0;
	return rc4 ? rc4 : rc6;
}

int node_announce(int netns_fd, const char *dev, const struct ip_addr *ip4, const struct ip_addr *ip6)
{
	if (!dev || (ip4 && ip4->family != 4) || (ip6 && ip6->family != 6))
		return -EINVAL;
	struct job j = {dev, ip4, ip6};
	return node_netns_run(netns_fd, announce_here, &j);
}
