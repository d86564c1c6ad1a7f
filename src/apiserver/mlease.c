/* mlease.c - which API servers' addresses the kubernetes Service lists (pure; see mlease.h).
 *
 * The table is small (one entry per server) and rebuilt from each observation, so lookups
 * are linear.
 */
#include "apiserver/mlease.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void apiserver_mleases_fini(struct apiserver_mleases *t)
{
	free(t->v);
	t->v = NULL;
	t->len = t->cap = 0;
}

static const struct apiserver_mlease *find(const struct apiserver_mleases *t, const char *ip)
{
	for (size_t i = 0; i < t->len; i++)
		if (!strcmp(t->v[i].ip, ip))
			return &t->v[i];
	return NULL;
}

void apiserver_mleases_observe(struct apiserver_mleases *t, const char *const *keys, const int64_t *mod_revs,
			       size_t n, int64_t now_ms)
{
	struct apiserver_mlease *v = n ? xcalloc(n, sizeof(*v)) : NULL;
	size_t len = 0;
	const size_t plen = strlen(APISERVER_MLEASE_PREFIX);
	for (size_t i = 0; i < n; i++) {
		struct ip_addr ip;
		if (strncmp(keys[i], APISERVER_MLEASE_PREFIX, plen) != 0 || ip_parse(keys[i] + plen, &ip) < 0)
			continue;
		struct apiserver_mlease *l = &v[len];
		ip_format(&ip, l->ip, sizeof(l->ip));
		bool dup = false;
		for (size_t j = 0; j < len; j++)
			dup = dup || !strcmp(v[j].ip, l->ip);
		if (dup)
			continue;
		const struct apiserver_mlease *old = find(t, l->ip);
		l->mod_rev = mod_revs[i];
		l->seen_ms = old && old->mod_rev == mod_revs[i] ? old->seen_ms : now_ms;
		len++;
	}
	free(t->v);
	t->v = v;
	t->len = len;
	t->cap = n;
}

bool apiserver_mlease_live(const struct apiserver_mlease *l, int64_t now_ms, int64_t ttl_ms)
{
	return now_ms - l->seen_ms < ttl_ms;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *apiserver_mleases_addresses(const struct apiserver_mleases *t, int64_t now_ms, int64_t ttl_ms,
				    const char *self, bool include_self)
{
	struct ip_addr sip;
	char stxt[IP_STRLEN] = "";
	int fam = -1;
	if (ip_parse(self, &sip) == 0) {
		ip_format(&sip, stxt, sizeof(stxt));
		fam = sip.family;
	}
	const char **v = xcalloc(t->len + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		struct ip_addr ip;
		if (!apiserver_mlease_live(&t->v[i], now_ms, ttl_ms) || ip_parse(t->v[i].ip, &ip) < 0 ||
		    (fam >= 0 && ip.family != fam))
			continue;
		if (!include_self && !strcmp(t->v[i].ip, stxt))
			continue;
		v[n++] = t->v[i].ip;
	}
	if (include_self && *stxt)
		v[n++] = stxt;
	qsort(v, n, sizeof(*v), cmp_str);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			json_array_append_new(out, json_string(v[i]));
	free(v);
	return out;
}

json_t *apiserver_mleases_subsets(const json_t *addrs, int port)
{
	json_t *subsets = json_array();
	if (json_array_size(addrs) == 0)
		return subsets;
	json_t *as = json_array();
	size_t i;
	const json_t *a;
	json_array_foreach(addrs, i, a) json_array_append_new(as, json_pack("{s:O}", "ip", a));
	json_array_append_new(subsets, json_pack("{s:o, s:[{s:s, s:i, s:s}]}", "addresses", as, "ports",
						 "name", "https", "port", port, "protocol", "TCP"));
	return subsets;
}

json_t *apiserver_mleases_slice_endpoints(const json_t *addrs)
{
	json_t *eps = json_array();
	size_t i;
	const json_t *a;
	json_array_foreach(addrs, i, a) json_array_append_new(
	    eps, json_pack("{s:[O], s:{s:b}}", "addresses", a, "conditions", "ready", true));
	return eps;
}
