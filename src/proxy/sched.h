/* sched.h - the userspace proxy's schedulers and ClientIP affinity table (pure, no I/O,
 * no locks: the caller serializes).
 *
 * Each scheduler picks one destination of a set as the Linux IPVS module of the same
 * name defines it (net/netfilter/ipvs/ip_vs_<name>.c), with every weight 1 unless the
 * caller says otherwise (Kubernetes endpoints carry no weight):
 *
 *   rr      round robin: the destination after the last one chosen, in list order.
 *   lc      least connections: least (active << 8) + inactive; ties go to the first.
 *   sed     shortest expected delay: least (active + 1) / weight; ties go to the first.
 *   nq      never queue: the first idle (active == 0) destination, else as sed.
 *   dh      destination hash: a 256-bucket table filled with the destinations in turn;
 *           bucket (ntohl(daddr) * 2654435761) & 255 (IPv6 folds its four words by xor).
 *   sh      source hash: the same table, bucket hash_32(ntohl(saddr)) (golden ratio
 *           0x61C88647, top 8 bits), as ip_vs_sh with port hashing off.
 *   mh      Maglev (Eisenbud et al., NSDI 2016, and ip_vs_mh): a lookup table of a prime
 *           size M filled from each destination's permutation (offset, skip from two
 *           hashes of "address|port"), indexed by a hash of the source address; a change
 *           of the set moves few other keys.
 *   random  uniform (xorshift state per scheduler).
 *
 * Retry: a caller that tried a destination and failed passes it in `skip`; rr, lc, sed,
 * nq and random simply pass over it; dh, sh and mh take the next bucket (ip_vs_sh's and
 * ip_vs_mh's fallback), so a retry is deterministic too.
 */
#ifndef PROXY_SCHED_H
#define PROXY_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"

enum proxy_sched_kind {
	PSCHED_RR,
	PSCHED_LC,
	PSCHED_DH,
	PSCHED_SH,
	PSCHED_SED,
	PSCHED_NQ,
	PSCHED_MH,
	PSCHED_RANDOM
};

#define PSCHED_HASH_BUCKETS 256 /* IP_VS_DH_TAB_SIZE, IP_VS_SH_TAB_SIZE */
#define PSCHED_MH_SIZE 65537	/* Maglev table size: a prime well above 100 x destinations */

struct proxy_sched_dest {
	struct ip_addr ip;
	uint16_t port;
	uint32_t weight;   /* 0 = never chosen (IPVS quiescent); set 1 when unsure */
	uint32_t active;   /* connections (or UDP flows) now open */
	uint32_t inactive; /* IPVS counts closing TCP states here; the proxy has none */
};

struct proxy_sched {
	enum proxy_sched_kind kind;
	size_t n;				/* destinations the tables were built for */
	size_t rr_last;				/* index of the last rr choice, SIZE_MAX before the first */
	uint64_t rng;				/* random's state, never 0 */
	uint16_t hash_tab[PSCHED_HASH_BUCKETS]; /* dh, sh: bucket -> destination */
	uint32_t mh_size;			/* M */
	uint16_t *mh_tab;			/* mh: slot -> destination (heap, mh_size entries) */
};

/* "rr" ... "random" -> kind, or -EINVAL. NULL or "" is rr (the default). */
int proxy_sched_kind_parse(const char *s);
const char *proxy_sched_kind_name(enum proxy_sched_kind k);

/* Initializes s for kind; mh_size (a prime, 0 = PSCHED_MH_SIZE) is used by mh only; seed
 * starts random's generator (tests pass a fixed one). Free with proxy_sched_fini. */
void proxy_sched_init(struct proxy_sched *s, enum proxy_sched_kind kind, uint32_t mh_size, uint64_t seed);
void proxy_sched_fini(struct proxy_sched *s);

/* Rebuilds the hash tables for the destination list d[0..n) (borrowed; the order
 * matters, as in IPVS) after it changed; rr keeps its position. n <= 65535. */
void proxy_sched_update(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n);

/* Picks a destination of d[0..n) (the list proxy_sched_update last saw) for a connection from
 * src to dst (dh uses dst, sh and mh use src; others ignore them). skip (n flags, or
 * NULL) marks destinations already tried. Returns the index, or -1 when none can be
 * chosen (empty set, all weights 0 or all skipped). Does not change the counters. */
int proxy_sched_pick(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n,
		     const struct ip_addr *src, const struct ip_addr *dst, const bool *skip);

/* ---- ClientIP affinity ---------------------------------------------------------- */

/* A client address -> destination table with per-entry expiry (Kubernetes'
 * sessionAffinity ClientIP: an entry lives timeoutSeconds after the last new connection
 * that used it). Open addressing with linear probing, bounded by cap entries: when full,
 * expired entries are swept and, if none, the oldest-expiring entry of the probe window
 * is replaced. */
struct proxy_sched_aff_entry {
	struct ip_addr client;
	struct ip_addr ip;
	uint16_t port;
	bool used;
	int64_t expires_ms;
};

struct proxy_sched_aff {
	struct proxy_sched_aff_entry *e;
	size_t cap, n;
};

/* cap is rounded up to a power of two (at least 16). */
void proxy_sched_aff_init(struct proxy_sched_aff *a, size_t cap);
void proxy_sched_aff_fini(struct proxy_sched_aff *a);
/* The live destination remembered for client at now_ms into *ip and *port: true, or false
 * (none, or expired: then removed). */
bool proxy_sched_aff_get(struct proxy_sched_aff *a, const struct ip_addr *client, int64_t now_ms,
			 struct ip_addr *ip, uint16_t *port);
/* Remembers (or refreshes) client -> ip:port until now_ms + timeout_ms. */
void proxy_sched_aff_put(struct proxy_sched_aff *a, const struct ip_addr *client, const struct ip_addr *ip,
			 uint16_t port, int64_t now_ms, int64_t timeout_ms);
/* Removes expired entries; returns how many. */
size_t proxy_sched_aff_expire(struct proxy_sched_aff *a, int64_t now_ms);

#endif
