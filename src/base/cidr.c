/* cidr.c - IP and CIDR values and offset arithmetic (see cidr.h). */
#include "base/cidr.h"
#include "base/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nbytes(int family)
{
	return family == 4 ? 4 : 16;
}

static int nbits(int family)
{
	return family == 4 ? 32 : 128;
}

int ip_parse(const char *s, struct ip_addr *out)
{
	struct ip_addr ip;
	memset(&ip, 0, sizeof ip);
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip.b) == 1)
		ip.family = 4;
	else if (inet_pton(AF_INET6, s, ip.b) == 1)
		ip.family = 6;
	else
		return -EINVAL;
	*out = ip;
	return 0;
}

const char *ip_format(const struct ip_addr *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->b, buf, (socklen_t)len)) {
		if (len)
			buf[0] = 0;
	}
	return buf;
}

int ip_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, (size_t)nbytes(a->family));
}

/* The IPv4 bytes of ip (itself, or the tail of an IPv4-mapped IPv6 address), or NULL. */
static const unsigned char *v4(const struct ip_addr *ip)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (ip->family == 4)
		return ip->b;
	if (memcmp(ip->b, mapped, sizeof mapped) == 0)
		return ip->b + 12;
	return NULL;
}

bool ip_is_unspecified(const struct ip_addr *ip)
{
	const unsigned char *p = v4(ip);
	int n = p ? 4 : 16;
	if (!p)
		p = ip->b;
	for (int i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

bool ip_is_loopback(const struct ip_addr *ip)
{
	const unsigned char *p = v4(ip);
	if (p)
		return p[0] == 127;
	for (int i = 0; i < 15; i++)
		if (ip->b[i])
			return false;
	return ip->b[15] == 1;
}

bool ip_is_link_local_unicast(const struct ip_addr *ip)
{
	const unsigned char *p = v4(ip);
	if (p)
		return p[0] == 169 && p[1] == 254;
	return ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80;
}

bool ip_is_link_local_multicast(const struct ip_addr *ip)
{
	const unsigned char *p = v4(ip);
	if (p)
		return p[0] == 224 && p[1] == 0 && p[2] == 0;
	return ip->b[0] == 0xff && (ip->b[1] & 0x0f) == 0x02;
}

static void seterr(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

static void mask_host_bits(struct ip_addr *ip, int bits)
{
	int n = nbytes(ip->family);
	for (int i = 0; i < n; i++) {
		int keep = bits - i * 8;
		if (keep >= 8)
			continue;
		ip->b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	if (!s || !*s) {
		seterr(err, errlen, "empty CIDR%s%s", "", "");
		return -EINVAL;
	}
	const char *slash = strchr(s, '/');
	if (!slash) {
		seterr(err, errlen, "invalid CIDR \"%s\": missing \"/prefix-length\"%s", s, "");
		return -EINVAL;
	}
	size_t alen = (size_t)(slash - s);
	char addr[IP_STRLEN];
	if (alen == 0 || alen >= sizeof addr) {
		seterr(err, errlen, "invalid CIDR \"%s\": bad address%s", s, "");
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = 0;
	struct cidr c;
	if (ip_parse(addr, &c.net) < 0) {
		seterr(err, errlen, "invalid address \"%s\" in \"%s\"", addr, s);
		return -EINVAL;
	}
	const char *p = slash + 1;
	int max = nbits(c.net.family);
	/* Decimal digits only, no sign, no leading zero (as Go's ParseCIDR). */
	bool ok = *p && strlen(p) <= 3 && !(p[0] == '0' && p[1]);
	for (const char *q = p; ok && *q; q++)
		ok = *q >= '0' && *q <= '9';
	int bits = ok ? atoi(p) : -1;
	if (bits < 0 || bits > max) {
		if (err && errlen)
			snprintf(err, errlen,
				 "invalid prefix length \"%s\" in \"%s\": must be 0 to %d for IPv%d", p, s,
				 max, c.net.family);
		return -EINVAL;
	}
	c.bits = bits;
	mask_host_bits(&c.net, bits);
	*out = c;
	return 0;
}

const char *cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[IP_STRLEN];
	ip_format(&c->net, a, sizeof a);
	snprintf(buf, len, "%s/%d", a, c->bits);
	return buf;
}

bool cidr_contains(const struct cidr *c, const struct ip_addr *ip)
{
	if (ip->family != c->net.family)
		return false;
	struct ip_addr m = *ip;
	mask_host_bits(&m, c->bits);
	return memcmp(m.b, c->net.b, (size_t)nbytes(ip->family)) == 0;
}

uint64_t cidr_size(const struct cidr *c)
{
	int host = nbits(c->net.family) - c->bits;
	return host >= 64 ? UINT64_MAX : (uint64_t)1 << host;
}

/* The last 8 bytes of an address as a number, and back: every block this file does
 * arithmetic on has fewer than 2^64 addresses, so offsets only touch these bytes
 * (for IPv4, the last 4). */
static uint64_t low64(const struct ip_addr *ip)
{
	int n = nbytes(ip->family), from = n - 8 < 0 ? 0 : n - 8;
	uint64_t v = 0;
	for (int i = from; i < n; i++)
		v = v << 8 | ip->b[i];
	return v;
}

static void set_low64(struct ip_addr *ip, uint64_t v)
{
	int n = nbytes(ip->family), from = n - 8 < 0 ? 0 : n - 8;
	for (int i = n - 1; i >= from; i--, v >>= 8)
		ip->b[i] = (unsigned char)(v & 0xff);
}

int cidr_nth(const struct cidr *c, uint64_t n, struct ip_addr *out)
{
	int host = nbits(c->net.family) - c->bits;
	if (host < 64 && n >= ((uint64_t)1 << host))
		return -ERANGE;
	struct ip_addr ip = c->net;
	/* Host bits are zero in the network address, so adding n cannot carry out of the
	 * low 64 bits when host <= 64; with host > 64 the bits above 64 stay zero. */
	set_low64(&ip, low64(&ip) + n);
	*out = ip;
	return 0;
}

int cidr_offset(const struct cidr *c, const struct ip_addr *ip, uint64_t *out)
{
	if (!cidr_contains(c, ip))
		return -ERANGE;
	int host = nbits(c->net.family) - c->bits;
	if (host > 64) {
		/* The offset fits only when the host bits above the low 64 are zero. */
		int n = nbytes(ip->family);
		for (int i = 0; i < n - 8; i++)
			if (ip->b[i] != c->net.b[i])
				return -ERANGE;
	}
	*out = low64(ip) - low64(&c->net);
	return 0;
}

uint64_t cidr_usable(const struct cidr *c)
{
	uint64_t size = cidr_size(c);
	if (size == UINT64_MAX)
		return UINT64_MAX;
	uint64_t reserved = c->net.family == 4 ? 2 : 1;
	return size > reserved ? size - reserved : 0;
}

bool cidr_is_usable(const struct cidr *c, const struct ip_addr *ip)
{
	uint64_t off;
	if (cidr_offset(c, ip, &off) < 0) {
		/* Inside a block too big for a 64-bit offset: only the network address and
		 * (never, for IPv6) a broadcast are excluded. */
		return cidr_contains(c, ip) && ip_cmp(ip, &c->net) != 0;
	}
	if (off == 0)
		return false;
	if (c->net.family == 4 && off == cidr_size(c) - 1)
		return false;
	return true;
}

int cidr_first_usable(const struct cidr *c, struct ip_addr *out)
{
	if (cidr_usable(c) == 0)
		return -ERANGE;
	return cidr_nth(c, 1, out);
}

int ip_sockaddr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}
