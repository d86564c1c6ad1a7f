/* test_sched.c - the userspace proxy's schedulers against IPVS's definitions, Maglev's
 * table properties (balance, minimal disruption) and ClientIP affinity expiry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/t.h"
#include "proxy/sched.h"

static void dests(struct proxy_sched_dest *d, size_t n)
{
	memset(d, 0, n * sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		char s[32];
		snprintf(s, sizeof(s), "198.18.1.%zu", i + 1);
		ASSERT_INT_EQ(ip_parse(s, &d[i].ip), 0);
		d[i].port = 8080;
		d[i].weight = 1;
	}
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;
	ASSERT_INT_EQ(ip_parse(s, &a), 0);
	return a;
}

TEST(sched_kind_names_round_trip)
{
	ASSERT_INT_EQ(proxy_sched_kind_parse(NULL), PSCHED_RR);
	ASSERT_INT_EQ(proxy_sched_kind_parse(""), PSCHED_RR);
	const char *all[] = {"rr", "lc", "dh", "sh", "sed", "nq", "mh", "random"};
	for (size_t i = 0; i < 8; i++) {
		int k = proxy_sched_kind_parse(all[i]);
		ASSERT(k >= 0);
		ASSERT_STR_EQ(proxy_sched_kind_name((enum proxy_sched_kind)k), all[i]);
	}
	ASSERT_INT_EQ(proxy_sched_kind_parse("RR"), -EINVAL);
	ASSERT_INT_EQ(proxy_sched_kind_parse("wrr"), -EINVAL);
	ASSERT_INT_EQ(proxy_sched_kind_parse("rr "), -EINVAL);
}

TEST(sched_rr_cycles_in_list_order_and_skips)
{
	struct proxy_sched_dest d[3];
	dests(d, 3);
	struct proxy_sched s;
	proxy_sched_init(&s, PSCHED_RR, 0, 1);
	proxy_sched_update(&s, d, 3);
	int want[] = {0, 1, 2, 0, 1, 2, 0};
	for (size_t i = 0; i < 7; i++)
		ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, NULL), want[i]);
	/* Last chose 0: a retry past 1 (skipped) takes 2, then the cycle goes on. */
	bool skip[3] = {false, true, false};
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, skip), 2);
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, NULL), 0);
	/* Weight 0 (quiescent) is never chosen. */
	d[1].weight = 0;
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, NULL), 2);
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, NULL), 0);
	bool all[3] = {true, true, true};
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 3, NULL, NULL, all), -1);
	/* A shrunk set keeps rr in range. */
	d[1].weight = 1;
	proxy_sched_update(&s, d, 2);
	ASSERT(proxy_sched_pick(&s, d, 2, NULL, NULL, NULL) < 2);
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, 0, NULL, NULL, NULL), -1);
	proxy_sched_fini(&s);
}

TEST(sched_lc_sed_nq_follow_ipvs)
{
	struct proxy_sched_dest d[3];
	dests(d, 3);
	struct proxy_sched lc, sed, nq;
	proxy_sched_init(&lc, PSCHED_LC, 0, 1);
	proxy_sched_init(&sed, PSCHED_SED, 0, 1);
	proxy_sched_init(&nq, PSCHED_NQ, 0, 1);
	proxy_sched_update(&lc, d, 3);
	proxy_sched_update(&sed, d, 3);
	proxy_sched_update(&nq, d, 3);
	/* Opening connections one after another (none closes): each goes to the least
	 * loaded, ties to the first in list order: 0,1,2,0,1,2. */
	int want[] = {0, 1, 2, 0, 1, 2};
	for (size_t i = 0; i < 6; i++) {
		int k = proxy_sched_pick(&lc, d, 3, NULL, NULL, NULL);
		ASSERT_INT_EQ(k, want[i]);
		d[k].active++;
	}
	/* lc counts inactive connections 1/256 of an active one. */
	d[0].active = 2, d[1].active = 2, d[2].active = 2;
	d[0].inactive = 3, d[1].inactive = 1, d[2].inactive = 2;
	ASSERT_INT_EQ(proxy_sched_pick(&lc, d, 3, NULL, NULL, NULL), 1);
	d[1].active = 3;
	ASSERT_INT_EQ(proxy_sched_pick(&lc, d, 3, NULL, NULL, NULL), 2);
	/* sed: (active + 1) / weight. Weights 1,3,1 with active 1,3,0: overheads 2, 4/3, 1
	 * -> 2; with active 1,2,1 -> 2/1, 3/3, 2/1 -> 1. */
	d[0].weight = 1, d[1].weight = 3, d[2].weight = 1;
	d[0].active = 1, d[1].active = 3, d[2].active = 0;
	ASSERT_INT_EQ(proxy_sched_pick(&sed, d, 3, NULL, NULL, NULL), 2);
	d[2].active = 1, d[1].active = 2;
	ASSERT_INT_EQ(proxy_sched_pick(&sed, d, 3, NULL, NULL, NULL), 1);
	/* nq: an idle destination wins at once even when sed would prefer another: active
	 * 5,0,0 with weights 1,1,9 -> sed picks 2 ((0+1)/9), nq the first idle, 1. */
	d[0].active = 5, d[1].active = 0, d[2].active = 0;
	d[0].weight = 1, d[1].weight = 1, d[2].weight = 9;
	ASSERT_INT_EQ(proxy_sched_pick(&sed, d, 3, NULL, NULL, NULL), 2);
	ASSERT_INT_EQ(proxy_sched_pick(&nq, d, 3, NULL, NULL, NULL), 1);
	/* No idle: nq is sed. */
	d[1].active = 4, d[2].active = 20;
	ASSERT_INT_EQ(proxy_sched_pick(&nq, d, 3, NULL, NULL, NULL),
		      proxy_sched_pick(&sed, d, 3, NULL, NULL, NULL));
	bool skip[3] = {false, true, false};
	d[1].active = 0;
	ASSERT(proxy_sched_pick(&nq, d, 3, NULL, NULL, skip) != 1);
	proxy_sched_fini(&lc);
	proxy_sched_fini(&sed);
	proxy_sched_fini(&nq);
}

TEST(sched_dh_sh_hash_as_ipvs)
{
	struct proxy_sched_dest d[3];
	dests(d, 3);
	struct proxy_sched dh, sh;
	proxy_sched_init(&dh, PSCHED_DH, 0, 1);
	proxy_sched_init(&sh, PSCHED_SH, 0, 1);
	proxy_sched_update(&dh, d, 3);
	proxy_sched_update(&sh, d, 3);
	/* dh: bucket (ntohl(198.18.0.10) * 2654435761) & 255, bucket i -> dest i % 3. */
	struct ip_addr vip = ip("198.18.0.10");
	uint32_t a = (198u << 24) | (18u << 16) | 10u;
	size_t b = (uint32_t)(a * 2654435761u) & 255;
	for (int i = 0; i < 5; i++)
		ASSERT_INT_EQ(proxy_sched_pick(&dh, d, 3, NULL, &vip, NULL), (int)(b % 3));
	/* sh: bucket hash_32(ntohl(saddr), 8) = (x * 0x61C88647) >> 24. */
	const char *clients[] = {"198.18.5.1", "198.18.5.2", "198.18.9.77", "198.19.0.3"};
	int seen[3] = {0};
	for (size_t c = 0; c < 4; c++) {
		struct ip_addr src = ip(clients[c]);
		uint32_t x =
		    (uint32_t)src.b[0] << 24 | (uint32_t)src.b[1] << 16 | (uint32_t)src.b[2] << 8 | src.b[3];
		size_t bucket = (uint32_t)(x * 0x61C88647u) >> 24;
		int k = proxy_sched_pick(&sh, d, 3, &src, NULL, NULL);
		ASSERT_INT_EQ(k, (int)(bucket % 3));
		ASSERT_INT_EQ(proxy_sched_pick(&sh, d, 3, &src, NULL, NULL), k);
		/* Fallback: the next bucket's destination. */
		bool skip[3] = {false};
		skip[k] = true;
		ASSERT_INT_EQ(proxy_sched_pick(&sh, d, 3, &src, NULL, skip), (int)((bucket + 1) % 3));
		seen[k]++;
	}
	/* 256 sources spread over the buckets: every destination gets some. */
	for (int i = 0; i < 256; i++) {
		char s[32];
		snprintf(s, sizeof(s), "198.18.%d.%d", i / 16, i % 16 + 1);
		struct ip_addr src = ip(s);
		seen[proxy_sched_pick(&sh, d, 3, &src, NULL, NULL)]++;
	}
	for (int i = 0; i < 3; i++)
		ASSERT(seen[i] > 40);
	/* IPv6 folds by xor. */
	struct ip_addr v6 = ip("2001:db8::5");
	ASSERT(proxy_sched_pick(&sh, d, 3, &v6, NULL, NULL) >= 0);
	proxy_sched_fini(&dh);
	proxy_sched_fini(&sh);
}

static void mh_counts(const struct proxy_sched *s, size_t n, size_t *cnt)
{
	memset(cnt, 0, n * sizeof(*cnt));
	for (uint32_t i = 0; i < s->mh_size; i++) {
		ASSERT(s->mh_tab[i] < n);
		cnt[s->mh_tab[i]]++;
	}
}

TEST(sched_mh_balance_and_minimal_disruption)
{
	enum { N = 10 };
	struct proxy_sched_dest d[N + 1];
	dests(d, N + 1);
	struct proxy_sched s;
	proxy_sched_init(&s, PSCHED_MH, 65537, 1);
	proxy_sched_update(&s, d, N);
	size_t cnt[N];
	mh_counts(&s, N, cnt);
	/* Balance: Maglev fills in rounds, one slot per destination per round, so shares
	 * differ by at most one slot. */
	for (size_t i = 0; i < N; i++)
		ASSERT(cnt[i] == 65537 / N || cnt[i] == 65537 / N + 1);
	uint16_t *before = malloc(65537 * sizeof(uint16_t));
	memcpy(before, s.mh_tab, 65537 * sizeof(uint16_t));
	/* Remove destination 4 (list shifts down): slots of the others mostly stay. */
	struct proxy_sched_dest less[N - 1];
	for (size_t i = 0, j = 0; i < N; i++)
		if (i != 4)
			less[j++] = d[i];
	proxy_sched_update(&s, less, N - 1);
	size_t moved = 0, kept_total = 0;
	for (uint32_t i = 0; i < 65537; i++) {
		if (before[i] == 4)
			continue;
		kept_total++;
		const struct proxy_sched_dest *was = &d[before[i]], *now = &less[s.mh_tab[i]];
		moved += ip_cmp(&was->ip, &now->ip) != 0;
	}
	/* Ideal is 0; the Maglev paper reports a few percent. */
	ASSERT(moved * 100 < kept_total * 5);
	/* Add one destination: about 1/(N+1) of the slots move to it, few elsewhere. */
	proxy_sched_update(&s, d, N + 1);
	size_t to_new = 0, other = 0;
	for (uint32_t i = 0; i < 65537; i++) {
		if (s.mh_tab[i] == N)
			to_new++;
		else if (s.mh_tab[i] != before[i])
			other++;
	}
	ASSERT(to_new >= 65537 / (N + 1) && to_new <= 65537 / (N + 1) + 1);
	ASSERT(other * 100 < 65537 * 5);
	/* Lookups are stable and fall back to another slot when skipped. */
	struct ip_addr src = ip("198.18.7.7");
	int k = proxy_sched_pick(&s, d, N + 1, &src, NULL, NULL);
	ASSERT(k >= 0);
	ASSERT_INT_EQ(proxy_sched_pick(&s, d, N + 1, &src, NULL, NULL), k);
	bool skip[N + 1] = {false};
	skip[k] = true;
	int k2 = proxy_sched_pick(&s, d, N + 1, &src, NULL, skip);
	ASSERT(k2 >= 0 && k2 != k);
	/* A small prime table for small sets works the same. */
	struct proxy_sched small;
	proxy_sched_init(&small, PSCHED_MH, 251, 1);
	proxy_sched_update(&small, d, 3);
	size_t c3[3];
	mh_counts(&small, 3, c3);
	for (size_t i = 0; i < 3; i++)
		ASSERT(c3[i] == 83 || c3[i] == 84);
	proxy_sched_fini(&small);
	free(before);
	proxy_sched_fini(&s);
}

TEST(sched_random_is_uniformish_and_respects_skip)
{
	struct proxy_sched_dest d[4];
	dests(d, 4);
	struct proxy_sched s;
	proxy_sched_init(&s, PSCHED_RANDOM, 0, 42);
	proxy_sched_update(&s, d, 4);
	int cnt[4] = {0};
	for (int i = 0; i < 4000; i++)
		cnt[proxy_sched_pick(&s, d, 4, NULL, NULL, NULL)]++;
	for (int i = 0; i < 4; i++)
		ASSERT(cnt[i] > 800 && cnt[i] < 1200);
	bool skip[4] = {true, true, false, true};
	for (int i = 0; i < 20; i++)
		ASSERT_INT_EQ(proxy_sched_pick(&s, d, 4, NULL, NULL, skip), 2);
	proxy_sched_fini(&s);
}

TEST(sched_affinity_expires_and_refreshes)
{
	struct proxy_sched_aff a;
	proxy_sched_aff_init(&a, 4);
	struct ip_addr c1 = ip("198.18.3.1"), c2 = ip("2001:db8::3"), b1 = ip("198.18.1.1"), got;
	uint16_t port = 0;
	ASSERT(!proxy_sched_aff_get(&a, &c1, 0, &got, &port));
	proxy_sched_aff_put(&a, &c1, &b1, 80, 1000, 10000);
	ASSERT(proxy_sched_aff_get(&a, &c1, 5000, &got, &port));
	ASSERT_INT_EQ(port, 80);
	ASSERT_INT_EQ(ip_cmp(&got, &b1), 0);
	ASSERT(!proxy_sched_aff_get(&a, &c2, 5000, &got, &port));
	/* A new connection refreshes the entry: it lives timeout after the last one. */
	proxy_sched_aff_put(&a, &c1, &b1, 80, 9000, 10000);
	ASSERT(proxy_sched_aff_get(&a, &c1, 18999, &got, &port));
	ASSERT(!proxy_sched_aff_get(&a, &c1, 19000, &got, &port));
	ASSERT_INT_EQ(a.n, 0);
	/* Fill past the bound: expired entries go first, the table never grows. */
	char s[32];
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof(s), "198.18.4.%d", i + 1);
		struct ip_addr c = ip(s);
		proxy_sched_aff_put(&a, &c, &b1, 80, i < 50 ? 0 : 20000, 10000);
		ASSERT(a.n <= a.cap);
	}
	ASSERT(a.n <= a.cap - a.cap / 4);
	/* The newest entry is found; expiry sweeps the rest at the end. */
	struct ip_addr last = ip("198.18.4.100");
	ASSERT(proxy_sched_aff_get(&a, &last, 20001, &got, &port));
	size_t live = a.n;
	ASSERT_INT_EQ(proxy_sched_aff_expire(&a, 40000), live);
	ASSERT_INT_EQ(a.n, 0);
	proxy_sched_aff_fini(&a);
}
