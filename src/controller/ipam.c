/* ipam.c - LoadBalancer IP and podCIDR pickers (see ipam.h). */
#include "controller/ipam.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/object.h"
#include "base/err.h"

static void say(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

/* The allocatable range of a pool as offsets [lo, hi]; false when it has none. */
static bool pool_range(const struct cidr *p, uint64_t *lo, uint64_t *hi)
{
	uint64_t size = cidr_size(p);
	*lo = 0;
	*hi = size - 1; /* UINT64_MAX - 1 for huge IPv6 pools: far enough */
	if (p->net.family == 4 && p->bits < 31) {
		*lo = 1;
		*hi = size - 2;
	}
	return size > 0 && *lo <= *hi;
}

int ctrl_lb_pick(const struct cidr *pools, size_t npools, bool (*used)(const struct ip_addr *ip, void *ud),
		 void *ud, const char *requested, struct ip_addr *out, char *err, size_t errlen)
{
	struct ip_addr ip;
	uint64_t lo, hi, off;
	size_t i;

	if (requested && *requested) {
		if (ip_parse(requested, &ip) != 0) {
			say(err, errlen,
			    "spec.loadBalancerIP: Invalid value: \"%s\": must be a valid IP address%s",
			    requested, "");
			return -EINVAL;
		}
		for (i = 0; i < npools; i++) {
			if (!cidr_contains(&pools[i], &ip) || cidr_offset(&pools[i], &ip, &off) != 0)
				continue;
			if (!pool_range(&pools[i], &lo, &hi) || off < lo || off > hi) {
				char c[CIDR_STRLEN];
				say(err, errlen, "%s is the network or broadcast address of pool %s",
				    requested, cidr_format(&pools[i], c, sizeof(c)));
				return -EINVAL;
			}
			if (used(&ip, ud))
				return -EEXIST;
			*out = ip;
			return 0;
		}
		say(err, errlen, "%s is not in any LoadBalancer IP pool%s", requested, "");
		return -EINVAL;
	}
	for (i = 0; i < npools; i++) {
		if (!pool_range(&pools[i], &lo, &hi))
			continue;
		/* Each used address costs one probe, so the scan ends after at most
		 * (addresses in use + 1) probes even in a /64. */
		for (off = lo;; off++) {
			if (cidr_nth(&pools[i], off, &ip) == 0 && !used(&ip, ud)) {
				*out = ip;
				return 0;
			}
			if (off == hi)
				break;
		}
	}
	return ERR_FULL;
}

bool ctrl_lb_wants(const json_t *svc, const char *our_class)
{
	const char *type = api_str(svc, "spec.type"), *cls = api_str(svc, "spec.loadBalancerClass");
	if (!type || strcmp(type, "LoadBalancer") != 0)
		return false;
	if (!cls || !*cls)
		return true;
	return our_class && strcmp(cls, our_class) == 0;
}

int ctrl_podcidr_pick(const struct cidr *cluster_cidr, int node_mask,
		      bool (*used)(const struct cidr *c, void *ud), void *ud, struct cidr *out)
{
	int maxbits = cluster_cidr->net.family == 6 ? 128 : 32, extra = node_mask - cluster_cidr->bits;
	uint64_t count, i;

	if (node_mask < cluster_cidr->bits || node_mask > maxbits)
		return -EINVAL;
	/* More than 2^63 subnets cannot all be in use; counting to that is enough. */
	count = extra >= 63 ? (UINT64_C(1) << 63) : (UINT64_C(1) << extra);
	for (i = 0; i < count; i++) {
		struct cidr c = {cluster_cidr->net, node_mask};
		/* Subnet i: the bits of i placed just above the node's host bits. */
		for (int k = 0; k < extra && k < 64; k++) {
			if (i & (UINT64_C(1) << k)) {
				int pos = node_mask - 1 - k;
				c.net.b[pos / 8] |= (unsigned char)(0x80u >> (pos % 8));
			}
		}
		if (!used(&c, ud)) {
			*out = c;
			return 0;
		}
	}
	return ERR_FULL;
}
