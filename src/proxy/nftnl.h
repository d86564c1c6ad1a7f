/* nftnl.h - the fast path of the nftables backend: a transaction made only of map and
 * set element additions and deletions, encoded straight to netlink (libnftnl + libmnl)
 * instead of through libnftables' parser.
 *
 * Why: libnftables parses, evaluates and re-encodes every element of a text script; at
 * 10,000 Services x 10 endpoints (210,000 elements with the hairpin set) that was 1.5 s
 * of CPU before the kernel saw a byte, and the kernel's own insertion about 0.4 s
 * (bench/RESULTS.md, perf profile). Element-only transactions are what the layout makes
 * of nearly every sync (an endpoint change, a Service added to sizes already present, a
 * full load onto an existing base), so they take this path; anything else (chains,
 * rules, declarations, interval sets) still goes through libnftables.
 *
 * The script format is the one nft.c renders (one command per line):
 *   add element inet T MAP { K : V, K : V }      delete element inet T MAP { K, K }
 * K and V are " . "-separated fields: an IPv4 or IPv6 address, a protocol name (tcp,
 * udp, sctp), a number (a port when it follows a protocol or an address, a 32-bit
 * host-order integer otherwise: numgen index), 0x... (a mark), or V = "goto C" /
 * "jump C". A value that is data starts with an address (address . port); a bare
 * number could be a port or a mark, so such maps go to libnftables. Each field takes a
 * multiple of 4 bytes as nftables' concatenations do.
 * Anything else makes the encoder answer -ENOTSUP and the caller uses libnftables.
 *
 * The whole script is one netlink batch (one transaction: all or nothing), sent in one
 * sendmsg on a socket kept open for the backend's life (closing an nftables socket
 * waits for an RCU grace period).
 */
#ifndef PROXY_NFTNL_H
#define PROXY_NFTNL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Encodes script (borrowed) as one netlink batch into out (appended), sequence numbers
 * from *seq on (advanced); *last_seq is that of the message that asks for the kernel's
 * acknowledgement. Pure. 0, -ENOTSUP (not element-only, or a field it cannot encode:
 * nothing useful in out) or -EINVAL (malformed; err says where). */
int proxy_nftnl_encode(const char *script, struct buf *out, uint32_t *seq, uint32_t *last_seq, char *err,
		       size_t errlen);

struct proxy_nftnl;

struct proxy_nftnl *proxy_nftnl_new(void);
void proxy_nftnl_free(struct proxy_nftnl *s);

/* Runs script as one transaction. 0; -ENOTSUP when the script is not element-only, or
 * -EAGAIN when it could not be sent (no socket, a batch larger than the socket may
 * take): nothing reached the kernel and the caller runs it through libnftables; -EIO
 * when the kernel refused it (err: the first error, e.g. "nftables: add element
 * eps4-10: File exists") or when its answer could not be read (whether it was applied
 * is then unknown; err says so); -EINVAL for a malformed element line (nothing sent). Blocks on netlink
 * (bounded by a 30 s receive timeout). */
int proxy_nftnl_run(struct proxy_nftnl *s, const char *script, char *err, size_t errlen);

/* Appends the bytes d (len) of a key or value of nftables type `type` (a datatype id, or
 * a concatenation of them, 6 bits each, the first field highest) to out as nft.c writes
 * it: "198.19.0.20 . tcp . 80 . 0" (addresses, protocol names, ports; numgen integers
 * in decimal, marks as 0x%06x). Pure. 0, or -EBADMSG when a field's type is not one
 * nft.c writes or len does not match (out may hold part of it then). */
int proxy_nftnl_data_text(uint32_t type, const uint8_t *d, uint32_t len, struct buf *out);

/* Reads table (inet) back from the kernel through netlink dumps, for the first sync
 * after a restart: *out (the caller's) is
 *   {"comment": the table's comment (absent if none),
 *    "chains": {name: {"rules": count, "comment": its last rule's comment (if any)}},
 *    "sets": {name: {"map": bool, "interval": bool, "dynamic": bool,
 *                    "elements": [[key, value], ...]}}}
 * with keys and values written as nft.c writes them (see above; value "" in a set), in
 * the kernel's order (arrays: a jansson object of 100,000 keys costs 0.4 s to build).
 * Anonymous sets are left out; "elements" is absent for interval and dynamic sets and
 * for a set holding any element of a type nft.c never writes. 0, -ENOENT (no such
 * table), or another negative errno (err says why; *out NULL). Blocks on netlink. */
int proxy_nftnl_list_table(struct proxy_nftnl *s, const char *table, json_t **out, char *err, size_t errlen);

#endif
