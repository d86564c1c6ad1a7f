/* cidr.h - IP addresses and CIDR blocks as plain values: parse, format, compare, and the
 * offset arithmetic that the Service IP allocators need (libc only).
 *
 * An address is its family (4 or 6) and its bytes in network order; IPv4 uses b[0..3]
 * and leaves the rest zero, so two equal addresses are equal byte for byte. A CIDR is
 * its network address (host bits always cleared) and its prefix length. Offsets count
 * from the network address: offset 0 is the network address itself, offset 1 the first
 * address after it. Sizes and offsets are uint64_t; a block with 2^64 addresses or
 * more (an IPv6 prefix of /64 or shorter) reports its size as UINT64_MAX, which is as
 * far as any allocator here ever counts.
 *
 * Kubernetes' Service IP ranges never hand out the network address, nor the IPv4
 * broadcast address: cidr_usable() counts what is left and cidr_is_usable() says
 * whether one address may be allocated, so the first allocatable address is offset 1
 * (k8s.io/kubernetes pkg/registry/core/service/ipallocator).
 *
 * Text is parsed with inet_pton(), so IPv4 with leading zeros ("010.0.0.1"), which Go's
 * ParseIPSloppy tolerates, is refused here.
 */
#ifndef BASE_CIDR_H
#define BASE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text ip_format() writes, with its NUL (INET6_ADDRSTRLEN). */
#define IP_STRLEN 46
/* Longest text cidr_format() writes, with its NUL ("/128"). */
#define CIDR_STRLEN (IP_STRLEN + 4)

struct ip_addr {
	int family; /* 4 or 6 */
	unsigned char b[16];
};

struct cidr {
	struct ip_addr net; /* host bits are zero */
	int bits;	    /* prefix length: 0..32 or 0..128 */
};

/* Parses IPv4 dotted quad or IPv6 text into *out. Returns 0, or -EINVAL (out untouched). */
int ip_parse(const char *s, struct ip_addr *out);
/* Writes the canonical text (RFC 5952 for IPv6) into buf (len >= IP_STRLEN); returns buf. */
const char *ip_format(const struct ip_addr *ip, char *buf, size_t len);
/* Orders by family, then by value; returns <0, 0 or >0. */
int ip_cmp(const struct ip_addr *a, const struct ip_addr *b);
/* Address classes as Go's net.IP methods define them (used by Kubernetes' rules for
 * externalIPs and endpoints). An IPv4-mapped IPv6 address is judged as its IPv4. */
bool ip_is_unspecified(const struct ip_addr *ip);
bool ip_is_loopback(const struct ip_addr *ip);
bool ip_is_link_local_unicast(const struct ip_addr *ip);
bool ip_is_link_local_multicast(const struct ip_addr *ip);

/* Parses "198.19.0.0/16" or "2001:db8::/108". Host bits set in the address are cleared
 * (as Go's ParseCIDR returns the network). Returns 0, or -EINVAL with a sentence for
 * humans in err (may be NULL) such as `invalid prefix length "33" in "10.0.0.0/33": must
 * be 0 to 32 for IPv4`. */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);
/* Writes "net/bits" into buf (len >= CIDR_STRLEN); returns buf. */
const char *cidr_format(const struct cidr *c, char *buf, size_t len);
/* True when ip has the CIDR's family and lies inside it. */
bool cidr_contains(const struct cidr *c, const struct ip_addr *ip);
/* Number of addresses in the block, UINT64_MAX when it is 2^64 or more. */
uint64_t cidr_size(const struct cidr *c);
/* The address at offset n from the network address. Returns 0, or -ERANGE when n is
 * outside the block. */
int cidr_nth(const struct cidr *c, uint64_t n, struct ip_addr *out);
/* The offset of ip from the network address. Returns 0, or -ERANGE when ip is not in
 * the block or its offset does not fit in 64 bits. */
int cidr_offset(const struct cidr *c, const struct ip_addr *ip, uint64_t *out);
/* Number of allocatable Service IPs: the size less the network address and, for IPv4,
 * the broadcast address (Kubernetes' hostsPerNetwork); capped like cidr_size(). */
uint64_t cidr_usable(const struct cidr *c);
/* True when ip is inside the block and is neither the network address nor, for IPv4,
 * the broadcast address: the addresses a Service may be given. */
bool cidr_is_usable(const struct cidr *c, const struct ip_addr *ip);
/* The first allocatable address (offset 1). Returns 0, or -ERANGE for /32, /31, /128. */
int cidr_first_usable(const struct cidr *c, struct ip_addr *out);

#endif
