/* view.c - the cluster zone snapshot: built from informer objects, answered lock-free.
 *
 * Build: every record goes into one flat array of entries (owner, type, rdata) in an
 * arena, together with an empty entry (type 0) for each ancestor of an owner inside the
 * zone; the array is sorted by owner and type, duplicates dropped (a pod in two slices),
 * and an open-addressing table of owners points at each owner's run of records. The
 * answer path hashes the lowercased question once, probes the table, and copies wire
 * bytes into the caller's buffer. See view.h for the rules.
 */
#include "dns/view.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/cidr.h"
#include "base/mem.h"
#include "base/vec.h"

#define TXT_TTL 28800
#define CHASE_MAX 8

struct rr {
	uint16_t type, rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
};

struct node {
	const uint8_t *name;
	uint16_t name_len, nrr;
	uint32_t hash;
	uint32_t first; /* index of its first record in rrs */
};

struct arena_blk {
	struct arena_blk *next;
	size_t len, cap;
	uint8_t data[];
};

struct dns_view {
	atomic_int refs;
	bool synced;
	uint32_t ttl;
	uint8_t zone[DNS_NAME_MAX];
	size_t zone_len;
	int zone_labels;
	struct rr *rrs;
	size_t nrrs;
	struct node *nodes;
	size_t nnodes;
	uint32_t *table; /* node index + 1; 0 = empty */
	size_t tmask;
	const struct rr *soa;
	struct arena_blk *arena;
};

static const uint8_t ARPA4[] = "\7in-addr\4arpa";
static const uint8_t ARPA6[] = "\3ip6\4arpa";

static void *arena_alloc(struct dns_view *v, size_t n)
{
	struct arena_blk *b = v->arena;
	if (!b || b->len + n > b->cap) {
		size_t cap = n > 60000 ? n : 60000;
		b = xmalloc(sizeof(*b) + cap);
		b->len = 0;
		b->cap = cap;
		b->next = v->arena;
		v->arena = b;
	}
	void *p = b->data + b->len;
	b->len += n;
	return p;
}

/* The build's flat list. */
struct ent {
	const uint8_t *name;
	uint16_t name_len, type, rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
};

struct builder {
	struct dns_view *v;
	VEC(struct ent) e;	    /* base/vec.h */
	bool cfg_dns_ips;	    /* ns.dns.<zone> comes from the config, not from kube-dns */
	uint8_t last[DNS_NAME_MAX]; /* the parent name added last, with all its ancestors */
	size_t last_len;
	uint8_t nsname[DNS_NAME_MAX];
	size_t nsname_len;
};

static bool in_zone(const struct dns_view *v, const uint8_t *name, size_t len)
{
	int off = dns_name_suffix(name, len, v->zone_labels);
	return off >= 0 && len - (size_t)off == v->zone_len && !memcmp(name + off, v->zone, v->zone_len);
}

/* Equal wire names of length n, ASCII case aside. */
static bool dns_name_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

static void push(struct builder *b, const uint8_t *name, size_t len, uint16_t type, uint32_t ttl,
		 const uint8_t *rdata, size_t rdlen)
{
	uint8_t *nm = arena_alloc(b->v, len);
	memcpy(nm, name, len);
	dns_name_lower(nm, len);
	uint8_t *rd = NULL;
	if (rdlen) {
		rd = arena_alloc(b->v, rdlen);
		memcpy(rd, rdata, rdlen);
	}
	*vec_push(&b->e) = (struct ent){nm, (uint16_t)len, type, (uint16_t)rdlen, ttl, rd};
}

/* Adds a record (type 0: the name only) and an empty entry for each ancestor in the zone. */
static void add(struct builder *b, const uint8_t *name, size_t len, uint16_t type, uint32_t ttl,
		const uint8_t *rdata, size_t rdlen)
{
	push(b, name, len, type, ttl, rdata, rdlen);
	if (!in_zone(b->v, name, len))
		return;
	/* Ancestors, up to the first one already added last time (its own ancestors were
	 * added with it): the Services of one namespace share all of theirs. Names are
	 * compared lowercased, as the table holds them. */
	size_t off = 0;
	while (len - off > b->v->zone_len) {
		off += (size_t)name[off] + 1;
		size_t al = len - off;
		if (al == b->last_len && dns_name_eq(b->last, name + off, al))
			break;
		push(b, name + off, al, 0, 0, NULL, 0);
		if (off == (size_t)name[0] + 1) { /* the parent: remembered for the next name */
			memcpy(b->last, name + off, al);
			b->last_len = al;
		}
	}
}

/* name = label + "." + rest (wire); returns the length or -1 when too long. */
static int name_join(uint8_t *out, const char *label, size_t llen, const uint8_t *rest, size_t rlen)
{
	if (llen == 0 || llen > DNS_LABEL_MAX || 1 + llen + rlen > DNS_NAME_MAX)
		return -1;
	out[0] = (uint8_t)llen;
	memcpy(out + 1, label, llen);
	memcpy(out + 1 + llen, rest, rlen);
	return (int)(1 + llen + rlen);
}

static int name_join_s(uint8_t *out, const char *label, const uint8_t *rest, size_t rlen)
{
	return name_join(out, label, strlen(label), rest, rlen);
}

/* The reverse name of ip into out. */
static int ptr_name(const struct ip_addr *ip, uint8_t *out)
{
	size_t n = 0;
	if (ip->family == 4) {
		for (int i = 3; i >= 0; i--) {
			char d[4];
			int l = snprintf(d, sizeof(d), "%u", ip->b[i]);
			out[n++] = (uint8_t)l;
			memcpy(out + n, d, (size_t)l);
			n += (size_t)l;
		}
		memcpy(out + n, ARPA4, sizeof(ARPA4));
		return (int)(n + sizeof(ARPA4));
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--) {
		out[n++] = 1;
		out[n++] = (uint8_t)hex[ip->b[i] & 0xf];
		out[n++] = 1;
		out[n++] = (uint8_t)hex[ip->b[i] >> 4];
	}
	memcpy(out + n, ARPA6, sizeof(ARPA6));
	return (int)(n + sizeof(ARPA6));
}

/* CoreDNS's label for an endpoint without a hostname, and the pod record label: the IP
 * with '.' or ':' as '-' (a leading or trailing '-' of IPv6 gets a '0'). */
static void dashed_ip(const struct ip_addr *ip, char *out, size_t len)
{
	char t[IP_STRLEN];
	ip_format(ip, t, sizeof(t));
	size_t o = 0;
	if (t[0] == ':' && o + 1 < len)
		out[o++] = '0';
	for (const char *p = t; *p && o + 1 < len; p++)
		out[o++] = (*p == '.' || *p == ':') ? '-' : *p;
	if (o && out[o - 1] == '-' && o + 1 < len)
		out[o++] = '0';
	out[o] = 0;
}

static void add_addr(struct builder *b, const uint8_t *owner, size_t olen, const struct ip_addr *ip)
{
	add(b, owner, olen, ip->family == 4 ? DNS_T_A : DNS_T_AAAA, b->v->ttl, ip->b,
	    ip->family == 4 ? 4 : 16);
}

static void add_ptr(struct builder *b, const struct ip_addr *ip, const uint8_t *target, size_t tlen)
{
	uint8_t pn[DNS_NAME_MAX];
	int n = ptr_name(ip, pn);
	add(b, pn, (size_t)n, DNS_T_PTR, b->v->ttl, target, tlen);
}

static void add_srv(struct builder *b, const uint8_t *svc, size_t slen, const char *port_name,
		    const char *proto, int port, const uint8_t *target, size_t tlen)
{
	char pl[80], pr[16];
	uint8_t mid[DNS_NAME_MAX], owner[DNS_NAME_MAX], rd[6 + DNS_NAME_MAX];
	if (!port_name || !*port_name || port < 1 || port > 65535)
		return;
	snprintf(pl, sizeof(pl), "_%s", port_name);
	snprintf(pr, sizeof(pr), "_%s", proto && *proto ? proto : "tcp");
	for (char *p = pr; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	int m = name_join_s(mid, pr, svc, slen);
	int o = m < 0 ? -1 : name_join_s(owner, pl, mid, (size_t)m);
	if (o < 0)
		return;
	/* RFC 2782 order: priority 0, weight 100 (CoreDNS normalises weights per name). */
	rd[0] = 0, rd[1] = 0, rd[2] = 0, rd[3] = 100;
	rd[4] = (uint8_t)(port >> 8), rd[5] = (uint8_t)port;
	memcpy(rd + 6, target, tlen);
	add(b, owner, (size_t)o, DNS_T_SRV, b->v->ttl, rd, 6 + tlen);
}

/* One level of an object: the hot paths skip api_get's dotted-path parsing. */
static const char *str_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool ep_ready(const json_t *ep, bool publish_not_ready)
{
	if (publish_not_ready)
		return true;
	json_t *r = api_get(ep, "conditions.ready");
	return !json_is_false(r);
}

/* Headless Service: records from its EndpointSlices (borrowed array, may be NULL). */
static void add_headless(struct builder *b, const json_t *svc, const uint8_t *sname, size_t slen,
			 const json_t *slices)
{
	bool pnr = json_is_true(api_get(svc, "spec.publishNotReadyAddresses"));
	size_t i, j, k;
	json_t *sl, *ep, *a;
	json_array_foreach(slices, i, sl)
	{
		json_t *ports = api_get(sl, "ports");
		json_array_foreach(api_get(sl, "endpoints"), j, ep)
		{
			if (!ep_ready(ep, pnr))
				continue;
			const char *host = api_str(ep, "hostname");
			json_array_foreach(api_get(ep, "addresses"), k, a)
			{
				struct ip_addr ip;
				if (!json_is_string(a) || ip_parse(json_string_value(a), &ip) < 0)
					continue;
				char dl[64];
				if (!host || !*host)
					dashed_ip(&ip, dl, sizeof(dl));
				uint8_t hn[DNS_NAME_MAX];
				int hl = name_join_s(hn, host && *host ? host : dl, sname, slen);
				add_addr(b, sname, slen, &ip);
				if (hl < 0)
					continue;
				add_addr(b, hn, (size_t)hl, &ip);
				add_ptr(b, &ip, hn, (size_t)hl);
				size_t pi;
				json_t *p;
				json_array_foreach(ports, pi, p)
				    add_srv(b, sname, slen, api_str(p, "name"), api_str(p, "protocol"),
					    (int)json_integer_value(api_get(p, "port")), hn, (size_t)hl);
			}
		}
	}
}

static int ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return a->rdlen ? memcmp(a->rdata, b->rdata, a->rdlen) : 0;
}

static const struct node *lookup(const struct dns_view *v, const uint8_t *name, size_t len)
{
	if (!v->table)
		return NULL;
	uint32_t h = dns_hash(name, len);
	for (size_t i = h & v->tmask;; i = (i + 1) & v->tmask) {
		uint32_t x = v->table[i];
		if (!x)
			return NULL;
		const struct node *nd = &v->nodes[x - 1];
		if (nd->hash == h && nd->name_len == len && !memcmp(nd->name, name, len))
			return nd;
	}
}

static void index_build(struct dns_view *v, struct builder *b)
{
	xqsort(b->e.v, b->e.len, sizeof(*b->e.v), ent_cmp);
	v->rrs = xcalloc(b->e.len ? b->e.len : 1, sizeof(*v->rrs));
	v->nodes = xcalloc(b->e.len ? b->e.len : 1, sizeof(*v->nodes));
	for (size_t i = 0; i < b->e.len; i++) {
		const struct ent *e = &b->e.v[i];
		struct node *nd = v->nnodes ? &v->nodes[v->nnodes - 1] : NULL;
		if (!nd || nd->name_len != e->name_len || memcmp(nd->name, e->name, e->name_len)) {
			nd = &v->nodes[v->nnodes++];
			*nd = (struct node){e->name, e->name_len, 0, dns_hash(e->name, e->name_len),
					    (uint32_t)v->nrrs};
		}
		if (!e->type || (i > 0 && ent_cmp(e, &b->e.v[i - 1]) == 0))
			continue;
		v->rrs[v->nrrs++] = (struct rr){e->type, e->rdlen, e->ttl, e->rdata};
		nd->nrr++;
	}
	size_t sz = 16;
	while (sz < v->nnodes * 2)
		sz *= 2;
	v->table = xcalloc(sz, sizeof(*v->table));
	v->tmask = sz - 1;
	for (size_t i = 0; i < v->nnodes; i++) {
		size_t s = v->nodes[i].hash & v->tmask;
		while (v->table[s])
			s = (s + 1) & v->tmask;
		v->table[s] = (uint32_t)i + 1;
	}
}

/* The service's cluster IPs (spec given) as addresses; returns how many (0 for headless). */
static int service_ips(const json_t *spec, struct ip_addr *out, int max)
{
	int n = 0;
	size_t i;
	json_t *ipv;
	json_t *ips = json_object_get(spec, "clusterIPs");
	if (json_is_array(ips) && json_array_size(ips)) {
		json_array_foreach(ips, i, ipv)
		{
			if (n < max && json_is_string(ipv) && ip_parse(json_string_value(ipv), &out[n]) == 0)
				n++;
		}
	} else {
		const char *ip = str_of(spec, "clusterIP");
		if (ip && ip_parse(ip, &out[0]) == 0)
			n = 1;
	}
	return n;
}

static void add_service(struct builder *b, const json_t *svc, const json_t *slices_by_svc)
{
	json_t *meta = json_object_get(svc, "metadata"), *spec = json_object_get(svc, "spec");
	const char *name = str_of(meta, "name"), *ns = str_of(meta, "namespace");
	if (!name || !ns)
		return;
	uint8_t nsn[DNS_NAME_MAX], sn[DNS_NAME_MAX], svcz[DNS_NAME_MAX];
	int l = name_join_s(svcz, "svc", b->v->zone, b->v->zone_len);
	l = l < 0 ? -1 : name_join_s(nsn, ns, svcz, (size_t)l);
	l = l < 0 ? -1 : name_join_s(sn, name, nsn, (size_t)l);
	if (l < 0)
		return;
	size_t sl = (size_t)l;
	const char *type = str_of(spec, "type");
	if (type && !strcmp(type, "ExternalName")) {
		uint8_t t[DNS_NAME_MAX];
		const char *ext = str_of(spec, "externalName");
		int tl = ext ? dns_name_from_text(ext, t, true) : -1;
		if (tl > 1)
			add(b, sn, sl, DNS_T_CNAME, b->v->ttl, t, (size_t)tl);
		return;
	}
	struct ip_addr ips[2];
	int nip = service_ips(spec, ips, 2);
	const char *cip = str_of(spec, "clusterIP");
	if (nip == 0 && (!cip || strcmp(cip, "None") != 0))
		return; /* no cluster IP yet (or an unparsable one): no records rather than headless ones */
	if (nip == 0) {
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		add_headless(b, svc, sn, sl, json_object_get(slices_by_svc, key));
		return;
	}
	for (int i = 0; i < nip; i++) {
		add_addr(b, sn, sl, &ips[i]);
		add_ptr(b, &ips[i], sn, sl);
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	    add_srv(b, sn, sl, str_of(p, "name"), str_of(p, "protocol"),
		    (int)json_integer_value(json_object_get(p, "port")), sn, sl);
	/* ns.dns.<zone>: the kube-dns Service's addresses unless configured. */
	if (!b->cfg_dns_ips && b->nsname_len && !strcmp(name, "kube-dns") && !strcmp(ns, "kube-system"))
		for (int j = 0; j < nip; j++)
			add_addr(b, b->nsname, b->nsname_len, &ips[j]);
}

static void add_pod(struct builder *b, const json_t *pod)
{
	const char *ns = api_str(pod, "metadata.namespace"), *phase = api_str(pod, "status.phase");
	if (!ns || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
		return;
	uint8_t podz[DNS_NAME_MAX], nsn[DNS_NAME_MAX], pn[DNS_NAME_MAX];
	int l = name_join_s(podz, "pod", b->v->zone, b->v->zone_len);
	l = l < 0 ? -1 : name_join_s(nsn, ns, podz, (size_t)l);
	if (l < 0)
		return;
	json_t *ips = api_get(pod, "status.podIPs"), *x;
	size_t i;
	const char *one = api_str(pod, "status.podIP");
	size_t n = json_is_array(ips) ? json_array_size(ips) : 0;
	for (i = 0; i < (n ? n : 1); i++) {
		x = n ? json_array_get(ips, i) : NULL;
		const char *s = x ? api_str(x, "ip") : one;
		struct ip_addr ip;
		if (!s || ip_parse(s, &ip) < 0)
			continue;
		char dl[64];
		dashed_ip(&ip, dl, sizeof(dl));
		int pl = name_join_s(pn, dl, nsn, (size_t)l);
		if (pl > 0)
			add_addr(b, pn, (size_t)pl, &ip);
	}
}

static void add_apex(struct builder *b, const struct dns_view_config *cfg)
{
	struct dns_view *v = b->v;
	uint8_t nsname[DNS_NAME_MAX], dnsz[DNS_NAME_MAX], rd[2 * DNS_NAME_MAX + 20];
	int dl = name_join_s(dnsz, "dns", v->zone, v->zone_len);
	int nl = dl < 0 ? -1 : name_join_s(nsname, "ns", dnsz, (size_t)dl);
	uint8_t host[DNS_NAME_MAX];
	int hl = name_join_s(host, "hostmaster", v->zone, v->zone_len);
	if (nl < 0 || hl < 0) /* a zone this long cannot hold the apex names: no NS/SOA */
		return;
	add(b, v->zone, v->zone_len, DNS_T_NS, v->ttl, nsname, (size_t)nl);
	size_t o = 0;
	memcpy(rd, nsname, (size_t)nl);
	o += (size_t)nl;
	memcpy(rd + o, host, (size_t)hl);
	o += (size_t)hl;
	uint32_t f[5] = {(uint32_t)time(NULL), 7200, 1800, 86400, v->ttl};
	for (int i = 0; i < 5; i++) {
		rd[o++] = (uint8_t)(f[i] >> 24), rd[o++] = (uint8_t)(f[i] >> 16);
		rd[o++] = (uint8_t)(f[i] >> 8), rd[o++] = (uint8_t)f[i];
	}
	add(b, v->zone, v->zone_len, DNS_T_SOA, v->ttl, rd, o);
	/* ns.dns.<zone>: the configured DNS IPs, else the kube-dns Service's (add_service). */
	memcpy(b->nsname, nsname, (size_t)nl);
	b->nsname_len = (size_t)nl;
	b->cfg_dns_ips = cfg->dns_ips != NULL;
	struct ip_addr ip;
	for (const char *const *s = cfg->dns_ips; s && *s; s++)
		if (ip_parse(*s, &ip) == 0)
			add_addr(b, nsname, (size_t)nl, &ip);
	uint8_t vn[DNS_NAME_MAX], txt[1 + sizeof(DNS_SCHEMA_VERSION)];
	int vl = name_join_s(vn, "dns-version", v->zone, v->zone_len);
	txt[0] = (uint8_t)strlen(DNS_SCHEMA_VERSION);
	memcpy(txt + 1, DNS_SCHEMA_VERSION, strlen(DNS_SCHEMA_VERSION));
	if (vl > 0)
		add(b, vn, (size_t)vl, DNS_T_TXT, TXT_TTL, txt, 1 + strlen(DNS_SCHEMA_VERSION));
}

/* <ns>.svc.<zone> and <ns>.pod.<zone> (and so svc.<zone>, pod.<zone>) exist. */
static void add_namespace(struct builder *b, const char *ns)
{
	static const char *const sub[] = {"svc", "pod"};
	for (int i = 0; i < 2; i++) {
		uint8_t mid[DNS_NAME_MAX], n[DNS_NAME_MAX];
		int l = name_join_s(mid, sub[i], b->v->zone, b->v->zone_len);
		if (l > 0)
			add(b, mid, (size_t)l, 0, 0, NULL, 0);
		l = l < 0 || !ns ? -1 : name_join_s(n, ns, mid, (size_t)l);
		if (l > 0)
			add(b, n, (size_t)l, 0, 0, NULL, 0);
	}
}

struct dns_view *dns_view_build(const struct dns_view_config *cfg, bool synced, const json_t *services,
				const json_t *slices, const json_t *pods, const json_t *namespaces, char *err,
				size_t errlen)
{
	struct dns_view *v = xcalloc(1, sizeof(*v));
	atomic_init(&v->refs, 1);
	v->synced = synced;
	v->ttl = cfg->ttl;
	int zl = dns_name_from_text(cfg->zone ? cfg->zone : "cluster.local", v->zone, true);
	if (zl < 2) {
		snprintf(err, errlen, "cluster domain %s is not a DNS name", cfg->zone ? cfg->zone : "");
		free(v);
		return NULL;
	}
	v->zone_len = (size_t)zl;
	v->zone_labels = dns_name_labels(v->zone);
	struct builder b = {.v = v};
	add_apex(&b, cfg);
	add_namespace(&b, NULL);
	size_t i;
	json_t *o;
	if (synced) {
		json_array_foreach(namespaces, i, o) add_namespace(&b, api_str(o, "metadata.name"));
		/* Slices grouped by their Service ("ns/name" -> array, borrowed objects). */
		json_t *by_svc = json_object();
		json_array_foreach(slices, i, o)
		{
			const char *svc = json_string_value(
			    json_object_get(api_get(o, "metadata.labels"), "kubernetes.io/service-name"));
			const char *ns = api_str(o, "metadata.namespace");
			if (!svc || !ns)
				continue;
			char key[512];
			snprintf(key, sizeof(key), "%s/%s", ns, svc);
			json_t *arr = json_object_get(by_svc, key);
			if (!arr) {
				arr = json_array();
				json_object_set_new(by_svc, key, arr);
			}
			json_array_append(arr, o);
		}
		json_array_foreach(services, i, o) add_service(&b, o, by_svc);
		json_decref(by_svc);
		json_array_foreach(pods, i, o) add_pod(&b, o);
	}
	index_build(v, &b);
	vec_free(&b.e);
	const struct node *apex = lookup(v, v->zone, v->zone_len);
	for (size_t k = 0; apex && k < apex->nrr; k++)
		if (v->rrs[apex->first + k].type == DNS_T_SOA)
			v->soa = &v->rrs[apex->first + k];
	return v;
}

void dns_view_ref(struct dns_view *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void dns_view_unref(struct dns_view *v)
{
	if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (struct arena_blk *b = v->arena, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(v->rrs);
	free(v->nodes);
	free(v->table);
	free(v);
}

size_t dns_view_names(const struct dns_view *v)
{
	return v ? v->nnodes : 0;
}

size_t dns_view_bytes(const struct dns_view *v)
{
	if (!v)
		return 0;
	size_t n = sizeof(*v) + v->nrrs * sizeof(struct rr) + v->nnodes * sizeof(struct node) +
		   (v->tmask + 1) * sizeof(uint32_t);
	for (const struct arena_blk *b = v->arena; b; b = b->next)
		n += sizeof(*b) + b->cap;
	return n;
}

static bool is_reverse(const uint8_t *name, size_t len)
{
	int o4 = dns_name_suffix(name, len, 2);
	return o4 >= 0 &&
	       (!memcmp(name + o4, ARPA4, sizeof(ARPA4)) || !memcmp(name + o4, ARPA6, sizeof(ARPA6)));
}

static void put_rr(struct dns_wr *w, const uint8_t *owner, size_t olen, const struct rr *r)
{
	size_t at = dns_wr_rr_begin(w, owner, olen, r->type, r->ttl);
	dns_wr_bytes(w, r->rdata, r->rdlen);
	dns_wr_rr_end(w, at);
}

/* Writes the records of nd with the given type (any type for ANY); returns how many. */
static uint16_t put_rrset(struct dns_wr *w, const struct dns_view *v, const struct node *nd,
			  const uint8_t *owner, size_t olen, uint16_t qtype)
{
	uint16_t n = 0;
	for (size_t i = 0; i < nd->nrr; i++) {
		const struct rr *r = &v->rrs[nd->first + i];
		if (r->type == qtype || qtype == DNS_T_ANY) {
			put_rr(w, owner, olen, r);
			n++;
		}
	}
	return n;
}

static const struct rr *find_type(const struct dns_view *v, const struct node *nd, uint16_t type)
{
	for (size_t i = 0; nd && i < nd->nrr; i++)
		if (v->rrs[nd->first + i].type == type)
			return &v->rrs[nd->first + i];
	return NULL;
}

/* Ends an answer: OPT, counts; on overflow, the bare header and question with TC. */
static void finish(struct dns_wr *w, const struct dns_query *q, size_t limit, uint16_t flags, uint16_t an,
		   uint16_t ns, uint16_t ar, struct dns_result *res)
{
	if (w->full) {
		w->full = false;
		w->len = q->qend;
		flags |= DNS_F_TC;
		an = ns = ar = 0;
		res->truncated = true;
	}
	w->cap = limit;
	if (q->edns) {
		dns_wr_opt(w, DNS_UDP_MAX);
		ar++;
	}
	dns_wr_set_flags(w, flags);
	dns_wr_set_counts(w, an, ns, ar);
	res->len = w->len;
}

void dns_view_answer(const struct dns_view *v, const struct dns_query *q, const uint8_t *msg, size_t limit,
		     uint8_t *out, size_t cap, struct dns_result *res)
{
	memset(res, 0, offsetof(struct dns_result, chase));
	res->chase_len = 0;
	res->truncated = false;
	const uint8_t *ln = q->lname;
	size_t len = q->qname_len;
	bool rev = is_reverse(ln, len);
	if (!v || (!in_zone(v, ln, len) && !rev)) {
		res->outcome = DNS_OUT_FORWARD;
		return;
	}
	const struct node *nd = NULL;
	if (v->synced)
		nd = lookup(v, ln, len);
	if (rev && v->synced && !find_type(v, nd, DNS_T_PTR)) {
		res->outcome = DNS_OUT_FORWARD; /* not a cluster address: the upstreams' reverse zones */
		return;
	}
	if (limit > cap)
		limit = cap;
	uint16_t base = (uint16_t)(DNS_F_QR | DNS_F_AA | (q->flags & DNS_F_RD) | DNS_F_RA);
	int rcode = DNS_R_NOERROR;
	if (!v->synced)
		rcode = DNS_R_SERVFAIL;
	else if (q->qclass != DNS_C_IN && q->qclass != 255)
		rcode = DNS_R_REFUSED;
	else if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR)
		rcode = DNS_R_REFUSED;
	res->outcome = DNS_OUT_ANSWERED;
	struct dns_wr w;
	dns_wr_init(&w, out, limit - (q->edns ? 11 : 0));
	dns_wr_header(&w, q->id, base, 1, 0, 0, 0);
	dns_wr_bytes(&w, msg + DNS_HDR_LEN, q->qend - DNS_HDR_LEN);
	if (rcode != DNS_R_NOERROR) {
		if (rcode == DNS_R_REFUSED)
			base &= (uint16_t)~DNS_F_AA;
		res->rcode = rcode;
		finish(&w, q, limit, (uint16_t)(base | rcode), 0, 0, 0, res);
		return;
	}
	uint16_t an = 0, ns = 0, ar = 0;
	const uint8_t *owner = NULL; /* NULL: the question's name, by pointer (case kept) */
	size_t olen = 0;
	/* CNAME chain inside the zone (ExternalName pointing at another Service). */
	for (int hop = 0; nd && hop < CHASE_MAX; hop++) {
		const struct rr *cn =
		    q->qtype != DNS_T_CNAME && q->qtype != DNS_T_ANY ? find_type(v, nd, DNS_T_CNAME) : NULL;
		if (!cn)
			break;
		put_rr(&w, owner, olen, cn);
		an++;
		owner = cn->rdata;
		olen = cn->rdlen;
		if (!in_zone(v, owner, olen)) {
			memcpy(res->chase, owner, olen);
			res->chase_len = olen;
			res->outcome = DNS_OUT_CHASE;
			res->ancount = an;
			res->len = w.len;
			if (w.full) { /* not even the CNAME fits: the client retries over TCP */
				res->outcome = DNS_OUT_ANSWERED;
				finish(&w, q, limit, base, an, 0, 0, res);
			}
			return;
		}
		nd = lookup(v, owner, olen);
	}
	if (!nd) {
		rcode = DNS_R_NXDOMAIN;
	} else {
		uint16_t n = put_rrset(&w, v, nd, owner, olen, q->qtype);
		an += n;
		/* SRV targets' addresses in the additional section (the spec's "may"). */
		for (size_t i = 0; q->qtype == DNS_T_SRV && i < nd->nrr; i++) {
			const struct rr *r = &v->rrs[nd->first + i];
			if (r->type != DNS_T_SRV || r->rdlen <= 6)
				continue;
			const struct node *t = lookup(v, r->rdata + 6, (size_t)r->rdlen - 6);
			if (t) {
				ar += put_rrset(&w, v, t, r->rdata + 6, (size_t)r->rdlen - 6, DNS_T_A);
				ar += put_rrset(&w, v, t, r->rdata + 6, (size_t)r->rdlen - 6, DNS_T_AAAA);
			}
		}
		if (w.full && ar) { /* drop the optional additional records before truncating */
			ar = 0;
		}
	}
	if (an == 0 && v->soa) {
		/* NXDOMAIN or NODATA: the zone's SOA in the authority section (RFC 2308). */
		put_rr(&w, v->zone, v->zone_len, v->soa);
		ns++;
	}
	res->rcode = rcode;
	finish(&w, q, limit, (uint16_t)(base | rcode), an, ns, ar, res);
}

struct chase_ctx {
	const uint8_t *msg;
	size_t len;
	struct dns_wr *w;
	uint16_t n;
};

static int chase_copy(void *ud, const struct dns_rr *rr)
{
	struct chase_ctx *c = ud;
	if (rr->section != 1 || (rr->type != DNS_T_A && rr->type != DNS_T_AAAA && rr->type != DNS_T_CNAME))
		return 0;
	uint8_t owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
	size_t off = rr->owner_off;
	int ol = dns_name_read(c->msg, c->len, &off, owner), tl = 0;
	off = rr->rdata_off;
	if (ol < 0 || (rr->type == DNS_T_CNAME && (tl = dns_name_read(c->msg, c->len, &off, target)) < 0))
		return 0;
	size_t at = dns_wr_rr_begin(c->w, owner, (size_t)ol, rr->type, rr->ttl);
	if (rr->type == DNS_T_CNAME) {
		dns_wr_bytes(c->w, target, (size_t)tl);
	} else {
		dns_wr_bytes(c->w, c->msg + rr->rdata_off, rr->rdlen);
	}
	dns_wr_rr_end(c->w, at);
	c->n++;
	return 0;
}

size_t dns_chase_finish(const struct dns_query *q, uint8_t *out, size_t cap, size_t len, uint16_t ancount,
			size_t limit, const uint8_t *resp, size_t resp_len)
{
	if (limit > cap)
		limit = cap;
	struct dns_wr w;
	dns_wr_init(&w, out, limit - (q->edns ? 11 : 0));
	w.len = len < w.cap ? len : w.cap;
	uint16_t flags = (uint16_t)(DNS_F_QR | DNS_F_AA | (q->flags & DNS_F_RD) | DNS_F_RA);
	struct chase_ctx c = {resp, resp_len, &w, 0};
	if (resp && resp_len >= DNS_HDR_LEN && dns_msg_walk(resp, resp_len, chase_copy, &c) == 0) {
		if ((resp[3] & 0xf) == DNS_R_NXDOMAIN)
			flags |= DNS_R_NXDOMAIN;
	}
	struct dns_result res = {0};
	finish(&w, q, limit, flags, (uint16_t)(ancount + c.n), 0, 0, &res);
	return res.len;
}
