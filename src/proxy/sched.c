/* sched.c - IPVS's schedulers, Maglev and the ClientIP affinity table (see sched.h).
 *
 * Hash tables are rebuilt only by proxy_sched_update (a change of the destination set), so a
 * pick costs O(1) for dh, sh, mh and random, O(n) for rr (skips), lc, sed and nq. */
#include "proxy/sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static const char *const names[] = {"rr", "lc", "dh", "sh", "sed", "nq", "mh", "random"};

int proxy_sched_kind_parse(const char *s)
{
	if (!s || !*s)
		return PSCHED_RR;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -EINVAL;
}

const char *proxy_sched_kind_name(enum proxy_sched_kind k)
{
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void proxy_sched_init(struct proxy_sched *s, enum proxy_sched_kind kind, uint32_t mh_size, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->rr_last = SIZE_MAX;
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	s->mh_size = mh_size ? mh_size : PSCHED_MH_SIZE;
}

void proxy_sched_fini(struct proxy_sched *s)
{
	free(s->mh_tab);
	s->mh_tab = NULL;
}

/* IPVS folds an IPv6 address into 32 bits by xor of its words (host order result). */
static uint32_t addr_fold(const struct ip_addr *a)
{
	uint32_t w[4];
	memcpy(w, a->b, 16);
	uint32_t f = a->family == 6 ? (w[0] ^ w[1] ^ w[2] ^ w[3]) : w[0];
	const unsigned char *p = (const unsigned char *)&f;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64's finalizer: spreads FNV's weak low bits. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t dest_hash(const struct proxy_sched_dest *d, uint64_t seed)
{
	uint64_t h = fnv1a(d->ip.b, d->ip.family == 6 ? 16 : 4, seed);
	h = fnv1a(&d->port, sizeof(d->port), h);
	return mix64(h);
}

static void mh_build(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n)
{
	uint32_t m = s->mh_size;
	free(s->mh_tab);
	s->mh_tab = NULL;
	if (!n)
		return;
	s->mh_tab = xmalloc(m * sizeof(uint16_t));
	memset(s->mh_tab, 0xff, m * sizeof(uint16_t));
	uint64_t *off = xcalloc(n, sizeof(uint64_t)), *skip = xcalloc(n, sizeof(uint64_t)),
		 *next = xcalloc(n, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		off[i] = dest_hash(&d[i], 0xcbf29ce484222325ull) % m;
		skip[i] = dest_hash(&d[i], 0x84222325cbf29ce4ull) % (m - 1) + 1;
	}
	/* Round robin over the destinations, each claiming its next free preferred slot
	 * (weight 0 destinations claim none). */
	size_t filled = 0, eligible = 0;
	for (size_t i = 0; i < n; i++)
		eligible += d[i].weight > 0;
	while (eligible && filled < m) {
		for (size_t i = 0; i < n && filled < m; i++) {
			if (!d[i].weight)
				continue;
			uint64_t c;
			do {
				c = (off[i] + next[i] * skip[i]) % m;
				next[i]++;
			} while (s->mh_tab[c] != 0xffff);
			s->mh_tab[c] = (uint16_t)i;
			filled++;
		}
	}
	free(off);
	free(skip);
	free(next);
}

void proxy_sched_update(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n)
{
	s->n = n;
	if (s->kind == PSCHED_DH || s->kind == PSCHED_SH) {
		/* ip_vs_dh_reassign / ip_vs_sh_reassign with weight 1: bucket i takes the
		 * destinations in list order, cyclically. */
		for (size_t i = 0; i < PSCHED_HASH_BUCKETS; i++)
			s->hash_tab[i] = n ? (uint16_t)(i % n) : 0xffff;
	} else if (s->kind == PSCHED_MH) {
		mh_build(s, d, n);
	}
	if (s->rr_last != SIZE_MAX && s->rr_last >= n)
		s->rr_last = n ? n - 1 : SIZE_MAX;
}

static bool usable(const struct proxy_sched_dest *d, size_t i, const bool *skip)
{
	return d[i].weight > 0 && !(skip && skip[i]);
}

static int pick_rr(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n, const bool *skip)
{
	size_t start = s->rr_last == SIZE_MAX ? n - 1 : s->rr_last;
	for (size_t k = 1; k <= n; k++) {
		size_t i = (start + k) % n;
		if (usable(d, i, skip)) {
			s->rr_last = i;
			return (int)i;
		}
	}
	return -1;
}

/* lc: least (active << 8) + inactive; ip_vs_lc ignores weights but for 0 (wlc is the
 * weighted one). */
static int pick_lc(const struct proxy_sched_dest *d, size_t n, const bool *skip)
{
	int best = -1;
	uint64_t bo = 0;
	for (size_t i = 0; i < n; i++) {
		if (!usable(d, i, skip))
			continue;
		uint64_t o = ((uint64_t)d[i].active << 8) + d[i].inactive;
		if (best < 0 || o < bo) {
			best = (int)i;
			bo = o;
		}
	}
	return best;
}

/* sed: least (active + 1) / weight, compared crosswise as ip_vs_sed does
 * (loh * w > doh * lw); nq returns the first idle destination before that. */
static int pick_sed(const struct proxy_sched_dest *d, size_t n, const bool *skip, bool nq)
{
	int best = -1;
	uint64_t loh = 0;
	for (size_t i = 0; i < n; i++) {
		if (!usable(d, i, skip))
			continue;
		uint64_t doh = (uint64_t)d[i].active + 1;
		if (nq && d[i].active == 0)
			return (int)i;
		if (best < 0 || loh * d[i].weight > doh * d[best].weight) {
			best = (int)i;
			loh = doh;
		}
	}
	return best;
}

static int pick_table(const uint16_t *tab, size_t size, size_t bucket, const struct proxy_sched_dest *d,
		      size_t n, const bool *skip)
{
	for (size_t k = 0; k < size; k++) {
		uint16_t i = tab[(bucket + k) % size];
		if (i < n && usable(d, i, skip))
			return i;
	}
	return -1;
}

static uint64_t xorshift(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *st = x;
}

int proxy_sched_pick(struct proxy_sched *s, const struct proxy_sched_dest *d, size_t n,
		     const struct ip_addr *src, const struct ip_addr *dst, const bool *skip)
{
	if (!n || n != s->n)
		return -1;
	static const struct ip_addr zero = {.family = 4};
	switch (s->kind) {
	case PSCHED_RR:
		return pick_rr(s, d, n, skip);
	case PSCHED_LC:
		return pick_lc(d, n, skip);
	case PSCHED_SED:
		return pick_sed(d, n, skip, false);
	case PSCHED_NQ:
		return pick_sed(d, n, skip, true);
	case PSCHED_DH: {
		uint32_t h = (uint32_t)(addr_fold(dst ? dst : &zero) * 2654435761u);
		return pick_table(s->hash_tab, PSCHED_HASH_BUCKETS, h & (PSCHED_HASH_BUCKETS - 1), d, n,
				  skip);
	}
	case PSCHED_SH: {
		uint32_t h = (addr_fold(src ? src : &zero) * 0x61C88647u) >> 24;
		return pick_table(s->hash_tab, PSCHED_HASH_BUCKETS, h, d, n, skip);
	}
	case PSCHED_MH: {
		if (!s->mh_tab)
			return -1;
		const struct ip_addr *a = src ? src : &zero;
		uint64_t h = mix64(fnv1a(a->b, a->family == 6 ? 16 : 4, 0xcbf29ce484222325ull));
		return pick_table(s->mh_tab, s->mh_size, h % s->mh_size, d, n, skip);
	}
	case PSCHED_RANDOM: {
		size_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += usable(d, i, skip);
		if (!ok)
			return -1;
		size_t r = xorshift(&s->rng) % ok;
		for (size_t i = 0; i < n; i++)
			if (usable(d, i, skip) && r-- == 0)
				return (int)i;
		return -1;
	}
	}
	return -1;
}

/* ---- ClientIP affinity ---------------------------------------------------------- */

void proxy_sched_aff_init(struct proxy_sched_aff *a, size_t cap)
{
	size_t c = 16;
	while (c < cap)
		c <<= 1;
	a->cap = c;
	a->n = 0;
	a->e = xcalloc(c, sizeof(*a->e));
}

void proxy_sched_aff_fini(struct proxy_sched_aff *a)
{
	free(a->e);
	a->e = NULL;
	a->cap = a->n = 0;
}

static size_t aff_slot(const struct proxy_sched_aff *a, const struct ip_addr *client)
{
	return (size_t)mix64(fnv1a(client->b, 16, (uint64_t)client->family)) & (a->cap - 1);
}

static bool same_ip(const struct ip_addr *x, const struct ip_addr *y)
{
	return x->family == y->family && !memcmp(x->b, y->b, 16);
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void aff_remove(struct proxy_sched_aff *a, size_t i)
{
	size_t mask = a->cap - 1, j = i;
	a->e[i].used = false;
	a->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!a->e[j].used)
			return;
		size_t home = aff_slot(a, &a->e[j].client);
		/* e[j] may move to the hole at i when its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			a->e[i] = a->e[j];
			a->e[j].used = false;
			i = j;
		}
	}
}

static size_t aff_find(const struct proxy_sched_aff *a, const struct ip_addr *client)
{
	size_t mask = a->cap - 1;
	for (size_t k = 0, i = aff_slot(a, client); k < a->cap; k++, i = (i + 1) & mask) {
		if (!a->e[i].used)
			return SIZE_MAX;
		if (same_ip(&a->e[i].client, client))
			return i;
	}
	return SIZE_MAX;
}

bool proxy_sched_aff_get(struct proxy_sched_aff *a, const struct ip_addr *client, int64_t now_ms,
			 struct ip_addr *ip, uint16_t *port)
{
	size_t i = aff_find(a, client);
	if (i == SIZE_MAX)
		return false;
	if (a->e[i].expires_ms <= now_ms) {
		aff_remove(a, i);
		return false;
	}
	*ip = a->e[i].ip;
	*port = a->e[i].port;
	return true;
}

size_t proxy_sched_aff_expire(struct proxy_sched_aff *a, int64_t now_ms)
{
	size_t gone = 0;
	for (size_t i = 0; i < a->cap; i++) {
		/* A backward shift may bring a later entry into i: look at i again. */
		while (a->e[i].used && a->e[i].expires_ms <= now_ms) {
			aff_remove(a, i);
			gone++;
		}
	}
	return gone;
}

void proxy_sched_aff_put(struct proxy_sched_aff *a, const struct ip_addr *client, const struct ip_addr *ip,
			 uint16_t port, int64_t now_ms, int64_t timeout_ms)
{
	size_t i = aff_find(a, client);
	if (i == SIZE_MAX) {
		/* Keep at least a quarter free so probes stay short. */
		if (a->n + 1 > a->cap - a->cap / 4 && !proxy_sched_aff_expire(a, now_ms)) {
			/* Still full of live entries: replace the one expiring first near
			 * the client's home slot. */
			size_t h = aff_slot(a, client), victim = SIZE_MAX, seen = 0;
			for (size_t k = 0; k < a->cap && seen < 8; k++) {
				size_t j = (h + k) & (a->cap - 1);
				if (!a->e[j].used)
					continue;
				seen++;
				if (victim == SIZE_MAX || a->e[j].expires_ms < a->e[victim].expires_ms)
					victim = j;
			}
			if (victim != SIZE_MAX)
				aff_remove(a, victim);
		}
		size_t mask = a->cap - 1;
		for (i = aff_slot(a, client); a->e[i].used; i = (i + 1) & mask)
			;
		a->e[i].used = true;
		a->e[i].client = *client;
		a->n++;
	}
	a->e[i].ip = *ip;
	a->e[i].port = port;
	a->e[i].expires_ms = now_ms + timeout_ms;
}
