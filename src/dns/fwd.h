/* fwd.h - the forwarder: names outside the cluster zone go to the upstream resolvers,
 * through a cache that honours TTLs and negative TTLs, with identical questions in flight
 * coalesced into one upstream query.
 *
 * One thread owns the upstream sockets (one connected UDP socket per upstream, random
 * query IDs, replies checked against the question) and the table of queries in flight;
 * callers hand it requests through a queue and an eventfd. A request is tried on each
 * upstream in turn, timeout_ms each, for `attempts` rounds; then it fails (done with
 * NULL: the server answers SERVFAIL). The cache is shared under a mutex: lookups from the
 * server's threads, inserts from the forwarder thread. Entries are keyed by the
 * lowercased name, type and class; NOERROR answers live for their smallest TTL, NXDOMAIN
 * and NODATA for the SOA's min(TTL, MINIMUM) (RFC 2308), capped at max_ttl; SERVFAIL and
 * truncated answers are not cached. Cached answers come back with TTLs counted down. A
 * truncated answer over UDP is asked again over TCP (a detached thread per retry, bounded
 * by 2 x timeout_ms), and passed on as it was if TCP fails.
 *
 * Resolution state of one question:
 *
 *   cache hit -------------------------------------------------> done(answer)
 *   miss -> joins the same question in flight, or starts one:
 *     SENT(upstream i, try t) --reply--> cache insert -> done(answer) for every waiter
 *        |  timeout: next upstream, next round ...
 *        '- all tries used ---------------------------------> done(NULL) for every waiter
 */
#ifndef DNS_FWD_H
#define DNS_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"

struct dns_fwd_opts {
	const char *const *upstreams; /* "IP", "IP:port", "[IPv6]:port"; NULL-terminated; with none,
				       * every question fails at once */
	int timeout_ms;		      /* per try; default 2000 */
	int attempts;		      /* rounds over all upstreams; default 2 */
	size_t cache_max;	      /* entries; default 10000; 0 = default */
	uint32_t max_ttl;	      /* default 3600 */
};

/* One question. The caller owns it; it must stay valid until done has been called (once,
 * on the forwarder thread, or within dns_fwd_resolve for a cache hit). resp is the
 * upstream's message (its id is the upstream query's; TTLs counted down), borrowed for
 * the call; NULL when every upstream failed. */
struct dns_fwd_req {
	uint8_t name[DNS_NAME_MAX]; /* wire form, any case */
	size_t name_len;
	uint16_t qtype, qclass;
	void (*done)(struct dns_fwd_req *r, const uint8_t *resp, size_t len);
	struct dns_fwd_req *next; /* the forwarder's */
};

struct dns_fwd;

/* Parses the upstreams and starts the thread. Returns 0, or -EINVAL with err. */
int dns_fwd_new(const struct dns_fwd_opts *o, struct dns_fwd **out, char *err, size_t errlen);
/* Stops the thread; requests in flight are done with NULL. NULL is a no-op. */
void dns_fwd_free(struct dns_fwd *f);
/* Resolves r: from the cache at once, or later on the forwarder thread. Never blocks on
 * the network. */
void dns_fwd_resolve(struct dns_fwd *f, struct dns_fwd_req *r);

/* The nameservers of a resolv.conf, as upstream strings (heap, NULL-terminated; free
 * each and the array). Returns how many (0 when none or unreadable). */
int dns_resolv_conf_upstreams(const char *path, char ***out);
/* Parses "IP", "IP:port" or "[IPv6]:port" (default port 53) into a sockaddr. Returns 0 or
 * -EINVAL. */
int dns_upstream_parse(const char *s, void *sockaddr_storage, unsigned *socklen);

/* The reply to the client's query q (whose question bytes are qmsg[12..q->qend]) from an
 * upstream message: the client's id and question (case), the answer and authority
 * sections, OPT when the client sent one, TC when it does not fit in limit; SERVFAIL
 * when resp is NULL or malformed. Writes into out (cap bytes); returns the length. */
size_t dns_fwd_reply(const struct dns_query *q, const uint8_t *qmsg, const uint8_t *resp, size_t rlen,
		     size_t limit, uint8_t *out, size_t cap);

/* The time an upstream answer may be cached (see above); 0 = not cacheable. Exposed for
 * tests. */
uint32_t dns_fwd_cache_ttl(const uint8_t *resp, size_t len, uint32_t max_ttl);

#endif
