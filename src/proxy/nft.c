/* nft.c - desired nftables state from the model, its diff as an nft script, and the sync
 * that applies it through libnftables (see nft.h for the layout). */
#include "proxy/nft.h"

#include <errno.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"
#include "proxy/nftnl.h"

#define ID_SPACE (PROXY_MARK_IDS + 1u)

/* The table's comment: what a restart recognizes as a table it can converge by diff
 * (nft.h). Bump the number whenever the layout changes in a way the diff cannot patch
 * (declarations, base chain headers, the fingerprint format). */
#define LAYOUT "svcplane-proxy nft layout 2"

/* FNV-1a, 64 bits: chain fingerprints and set names (not a defence, a change detector). */
static uint64_t fnv_init(void)
{
	return 0xcbf29ce484222325ull;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

struct proxy_nft {
	char *table;
	bool dry;
	json_t *have;	    /* last applied state: group -> its JSON as one compact string (a
			     * tree per group cost 6 KB; a sync parses only the groups it touches) */
	json_t *have_ids;   /* group -> its id blocks ("i"), for the groups that have some */
	bool read_kernel;   /* the first sync must converge with what the kernel holds */
	bool kern_read;	    /* the kernel's table was read (or loaded) for that sync */
	json_t *kern;	    /* its listing when a diff may converge with it, until that sync */
	json_t *svc_groups; /* "ns/name" -> {group: true}, of have */
	json_t *hp_refs;    /* "hairpin4"/"hairpin6" -> {local address: groups of have naming it} */
	bool defer;	    /* incremental syncs leave endpoint elements to proxy_nft_gc */
	json_t *gc;	    /* [[family, [base, count]], ...] of blocks to delete */
	size_t gc_ids;
	size_t elements, chains; /* totals of have */
	uint8_t *used;		 /* id bitmap: ids of blocks in have, plus those allocated since */
	uint32_t cursor;
	char *last;
	struct nft_ctx *ctx;	/* kept: closing an nftables netlink socket waits for an RCU
				 * grace period (7-15 ms measured), more than a whole change */
	struct proxy_nftnl *nl; /* element-only transactions, straight to netlink */
};

/* ---- ids ---------------------------------------------------------------------- */

static bool id_used(const struct proxy_nft *n, uint32_t id)
{
	return n->used[id >> 3] & (1u << (id & 7));
}

static void ids_mark(struct proxy_nft *n, uint32_t base, uint32_t cnt, bool on)
{
	for (uint32_t i = base; i < base + cnt && i < ID_SPACE; i++) {
		if (on)
			n->used[i >> 3] |= (uint8_t)(1u << (i & 7));
		else
			n->used[i >> 3] &= (uint8_t) ~(1u << (i & 7));
	}
}

/* A free run of cnt ids after the cursor (ids start at 1; 0 means "no mark"). Returns 0
 * when the space is exhausted. */
static uint32_t ids_alloc(struct proxy_nft *n, uint32_t cnt)
{
	uint32_t start = n->cursor ? n->cursor : 1, run = 0, base = 0;
	for (uint64_t step = 0; step < 2ull * ID_SPACE; step++) {
		uint32_t id = start;
		if (++start >= ID_SPACE)
			start = 1, run = 0;
		if (id == 0 || id_used(n, id)) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			base = id;
		if (run == cnt) {
			ids_mark(n, base, cnt, true);
			n->cursor = base + cnt;
			return base;
		}
	}
	return 0;
}

/* Marks or frees every block recorded in group g. */
static void group_ids(struct proxy_nft *n, const json_t *g, bool on, const json_t *except)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(g, "i"), k, v)
	{
		json_t *o = json_object_get(json_object_get(except, "i"), k);
		if (o && json_equal(o, v))
			continue;
		ids_mark(n, (uint32_t)json_integer_value(json_array_get(v, 0)),
			 (uint32_t)json_integer_value(json_array_get(v, 1)), on);
	}
}

/* ---- desired state -------------------------------------------------------------- */

static json_t *group_new(void)
{
	json_t *g = json_object();
	json_object_set_new(g, "d", json_object());
	json_object_set_new(g, "c", json_object());
	json_object_set_new(g, "e", json_object());
	json_object_set_new(g, "i", json_object());
	return g;
}

static void decl(json_t *g, const char *name, const char *text)
{
	json_object_set_new(json_object_get(g, "d"), name, json_string(text));
}

static void chain(json_t *g, const char *name, struct buf *rules)
{
	json_object_set_new(json_object_get(g, "c"), name, json_string(rules->data ? rules->data : ""));
	buf_reset(rules);
}

static json_t *obj_at(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static void elem(json_t *g, const char *map, const char *key, const char *val)
{
	json_object_set_new(obj_at(json_object_get(g, "e"), map), key, json_string(val ? val : ""));
}

static const char *fam_kw(int fam)
{
	return fam == 4 ? "ip" : "ip6";
}

static const char *addr_type(int fam)
{
	return fam == 4 ? "ipv4_addr" : "ipv6_addr";
}

static const struct cidr *cluster_cidr(const struct proxy_netcfg *c, int fam)
{
	for (size_t i = 0; i < c->n_cluster_cidrs; i++)
		if (c->cluster_cidrs[i].net.family == fam)
			return &c->cluster_cidrs[i];
	return NULL;
}

/* The name of the --nodeport-addresses set of each family: "nodeport-ips4-<hash of its
 * blocks>". Its elements are intervals, which the restart does not read back from the
 * kernel (nft.h): a set of that name holds exactly those blocks. */
static void np_set_names(const struct proxy_netcfg *c, char names[2][40])
{
	for (int f = 0; f < 2; f++) {
		uint64_t h = fnv_init();
		char cs[CIDR_STRLEN];
		for (size_t i = 0; i < c->n_nodeport_cidrs; i++)
			if (c->nodeport_cidrs[i].net.family == (f ? 6 : 4))
				h = fnv_str(fnv_str(h, cidr_format(&c->nodeport_cidrs[i], cs, sizeof(cs))),
					    " ");
		snprintf(names[f], sizeof(names[f]), "nodeport-ips%d-%08x", f ? 6 : 4, (uint32_t)h);
	}
}

static void base_group(json_t *g, const struct proxy_netcfg *c)
{
	struct buf r;
	buf_init(&r);
	char ip[IP_STRLEN], cs[CIDR_STRLEN];
	char np_set[2][40];
	np_set_names(c, np_set);
	for (int fam = 4; fam <= 6; fam += 2) {
		char name[64];
		const char *at = addr_type(fam);
		char *d;
		snprintf(name, sizeof(name), "service-ips%d", fam);
		d = xasprintf("map { type %s . inet_proto . inet_service : verdict; }", at);
		decl(g, name, d);
		free(d);
		snprintf(name, sizeof(name), "no-endpoint-services%d", fam);
		d = xasprintf("map { type %s . inet_proto . inet_service : verdict; }", at);
		decl(g, name, d);
		free(d);
		snprintf(name, sizeof(name), "firewall-ips%d", fam);
		d = xasprintf("map { type %s . inet_proto . inet_service : verdict; }", at);
		decl(g, name, d);
		free(d);
		snprintf(name, sizeof(name), "service-nodeports%d", fam);
		decl(g, name, "map { type inet_proto . inet_service : verdict; }");
		snprintf(name, sizeof(name), "no-endpoint-nodeports%d", fam);
		decl(g, name, "map { type inet_proto . inet_service : verdict; }");
		snprintf(name, sizeof(name), "backends%d", fam);
		d = xasprintf("map { type mark : %s . inet_service; }", at);
		decl(g, name, d);
		free(d);
		snprintf(name, sizeof(name), "hairpin%d", fam);
		d = xasprintf("set { type %s . %s; }", at, at);
		decl(g, name, d);
		free(d);
		if (c->n_nodeport_cidrs) {
			snprintf(name, sizeof(name), "%s", np_set[fam == 4 ? 0 : 1]);
			d = xasprintf("set { type %s; flags interval; }", at);
			decl(g, name, d);
			free(d);
			for (size_t i = 0; i < c->n_nodeport_cidrs; i++)
				if (c->nodeport_cidrs[i].net.family == fam)
					elem(g, name, cidr_format(&c->nodeport_cidrs[i], cs, sizeof(cs)),
					     NULL);
		}
	}
	/* Node-local DNS: no NAT for port 53 at its address (NodeLocal DNSCache's NOTRACK). */
	buf_puts(&r, "{ type filter hook prerouting priority raw; policy accept; }");
	for (size_t i = 0; i < c->n_local_dns; i++) {
		const char *f = fam_kw(c->local_dns[i].family);
		ip_format(&c->local_dns[i], ip, sizeof(ip));
		buf_printf(&r, "\n%s daddr %s udp dport 53 notrack\n%s daddr %s tcp dport 53 notrack", f, ip,
			   f, ip);
	}
	chain(g, "raw-prerouting", &r);
	buf_puts(&r, "{ type filter hook output priority raw; policy accept; }");
	for (size_t i = 0; i < c->n_local_dns; i++) {
		const char *f = fam_kw(c->local_dns[i].family);
		ip_format(&c->local_dns[i], ip, sizeof(ip));
		buf_printf(&r,
			   "\n%s daddr %s udp dport 53 notrack\n%s daddr %s tcp dport 53 notrack"
			   "\n%s saddr %s udp sport 53 notrack\n%s saddr %s tcp sport 53 notrack",
			   f, ip, f, ip, f, ip, f, ip);
	}
	chain(g, "raw-output", &r);
	buf_puts(&r, "{ type filter hook prerouting priority dstnat - 10; policy accept; }\n"
		     "ip daddr . meta l4proto . th dport vmap @firewall-ips4\n"
		     "ip6 daddr . meta l4proto . th dport vmap @firewall-ips6");
	chain(g, "filter-prerouting", &r);
	buf_puts(&r, "{ type filter hook input priority -110; policy accept; }");
	/* CVE-2020-8558: with route_localnet on, nothing from outside may reach 127/8. */
	if (c->localhost_nodeports)
		buf_puts(
		    &r,
		    "\nip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct state != { established, related } ct status != dnat drop");
	buf_puts(&r, "\nct state new jump endpoints-check");
	chain(g, "filter-input", &r);
	buf_puts(
	    &r,
	    "{ type filter hook forward priority -110; policy accept; }\nct state new jump endpoints-check");
	chain(g, "filter-forward", &r);
	buf_puts(
	    &r,
	    "{ type filter hook output priority -110; policy accept; }\nct state new jump endpoints-check");
	chain(g, "filter-output", &r);
	buf_puts(&r, "\nip daddr . meta l4proto . th dport vmap @no-endpoint-services4"
		     "\nip6 daddr . meta l4proto . th dport vmap @no-endpoint-services6");
	if (c->n_nodeport_cidrs)
		buf_printf(
		    &r,
		    "\nfib daddr type local ip daddr @%s meta l4proto . th dport vmap @no-endpoint-nodeports4"
		    "\nfib daddr type local ip6 daddr @%s meta l4proto . th dport vmap @no-endpoint-nodeports6",
		    np_set[0], np_set[1]);
	else
		buf_printf(
		    &r,
		    "\nfib daddr type local meta nfproto ipv4%s meta l4proto . th dport vmap @no-endpoint-nodeports4"
		    "\nfib daddr type local meta nfproto ipv6 meta l4proto . th dport vmap @no-endpoint-nodeports6",
		    c->localhost_nodeports ? "" : " ip daddr != 127.0.0.0/8");
	chain(g, "endpoints-check", &r);
	buf_puts(&r, "\nmeta l4proto tcp reject with tcp reset\nreject");
	chain(g, "reject-chain", &r);
	/* The service chains only choose (the mark) and return; one rule per family DNATs.
	 * No jump or goto in a service chain: a rule with one makes the kernel validate
	 * every chain of the table at each commit. */
	char jd[200];
	snprintf(
	    jd, sizeof(jd),
	    "\nmeta mark & 0x%06x != 0 meta nfproto ipv4 goto dnat4\nmeta mark & 0x%06x != 0 meta nfproto ipv6 goto dnat6",
	    PROXY_MARK_SET, PROXY_MARK_SET);
	buf_printf(&r, "{ type nat hook prerouting priority dstnat; policy accept; }\njump services%s", jd);
	chain(g, "nat-prerouting", &r);
	buf_printf(&r, "{ type nat hook output priority -100; policy accept; }\njump services%s", jd);
	chain(g, "nat-output", &r);
	buf_printf(&r,
		   "{ type nat hook postrouting priority srcnat; policy accept; }\n"
		   "meta mark & 0x%06x == 0x%06x ct status dnat masquerade\n"
		   "ct status dnat ip saddr . ip daddr @hairpin4 masquerade\n"
		   "ct status dnat ip6 saddr . ip6 daddr @hairpin6 masquerade",
		   PROXY_MARK_SET | PROXY_MARK_MASQ, PROXY_MARK_SET | PROXY_MARK_MASQ);
	chain(g, "nat-postrouting", &r);
	buf_puts(&r, "\nip daddr . meta l4proto . th dport vmap @service-ips4"
		     "\nip6 daddr . meta l4proto . th dport vmap @service-ips6");
	if (c->n_nodeport_cidrs)
		buf_printf(
		    &r,
		    "\nfib daddr type local ip daddr @%s meta l4proto . th dport vmap @service-nodeports4"
		    "\nfib daddr type local ip6 daddr @%s meta l4proto . th dport vmap @service-nodeports6",
		    np_set[0], np_set[1]);
	else
		buf_printf(
		    &r,
		    "\nfib daddr type local meta nfproto ipv4%s meta l4proto . th dport vmap @service-nodeports4"
		    "\nfib daddr type local meta nfproto ipv6 meta l4proto . th dport vmap @service-nodeports6",
		    c->localhost_nodeports ? "" : " ip daddr != 127.0.0.0/8");
	chain(g, "services", &r);
	for (int fam = 4; fam <= 6; fam += 2) {
		char name[16];
		snprintf(name, sizeof(name), "dnat%d", fam);
		buf_printf(&r,
			   "\nmeta l4proto { tcp, udp, sctp } dnat %s to meta mark & 0x%06x map @backends%d",
			   fam_kw(fam), PROXY_MARK_IDS, fam);
		chain(g, name, &r);
	}
	buf_fini(&r);
}

/* The id block of an endpoint set: reused from have when the set is unchanged. */
static uint32_t block(struct proxy_nft *n, json_t *g, const json_t *hi, const struct proxy_svcport *sp,
		      const size_t *idx, size_t cnt, char kind, const char *map)
{
	struct buf k;
	buf_init(&k);
	char ip[IP_STRLEN];
	buf_putc(&k, kind);
	for (size_t i = 0; i < cnt; i++)
		buf_printf(&k, ",%s:%u", ip_format(&sp->eps[idx[i]].ip, ip, sizeof(ip)),
			   sp->eps[idx[i]].port);
	json_t *old = json_object_get(hi, k.data);
	uint32_t base =
	    old ? (uint32_t)json_integer_value(json_array_get(old, 0)) : ids_alloc(n, (uint32_t)cnt);
	if (base) {
		json_object_set_new(json_object_get(g, "i"), k.data,
				    json_pack("[II]", (json_int_t)base, (json_int_t)cnt));
		for (size_t i = 0; i < cnt; i++) {
			char key[16], val[IP_STRLEN + 8];
			snprintf(key, sizeof(key), "0x%06x", base + (uint32_t)i);
			snprintf(val, sizeof(val), "%s . %u", ip_format(&sp->eps[idx[i]].ip, ip, sizeof(ip)),
				 sp->eps[idx[i]].port);
			elem(g, map, key, val);
		}
	}
	buf_fini(&k);
	return base;
}

/* The rule that picks one of cnt ids from base (masq adds the masquerade bit). */
static void pick_rule(struct buf *r, const char *cond, uint32_t base, size_t cnt, bool masq, const char *aff,
		      int fam)
{
	uint32_t off = base | PROXY_MARK_SET | (masq ? PROXY_MARK_MASQ : 0);
	buf_printf(r, "\n%s%s", cond ? cond : "", cond ? " " : "");
	if (cnt == 1)
		buf_printf(r, "meta mark set 0x%06x", off);
	else
		buf_printf(r, "meta mark set numgen random mod %zu offset 0x%06x", cnt, off);
	if (aff)
		buf_printf(r, " update @%s { %s saddr : meta mark }", aff, fam_kw(fam));
	buf_puts(r, " return");
	(void)fam;
}

/* The affinity map of a chain: a new declaration in g; its name into out. */
static void aff_map(json_t *g, const char *chain_name, const struct proxy_svcport *sp, char *out, size_t len)
{
	snprintf(out, len, "%s-aff%d", chain_name, sp->affinity_s);
	char *d = xasprintf("map { type %s : mark; flags dynamic,timeout; timeout %ds; }",
			    addr_type(sp->family), sp->affinity_s);
	decl(g, out, d);
	free(d);
}

/* The chains and maps shared by the simple service ports with n endpoints of family fam
 * (group "#n<fam>-<n>"), added to want when missing. */
static void shared_group(json_t *want, int fam, size_t cnt, const struct proxy_netcfg *c)
{
	char gname[32], name[48];
	snprintf(gname, sizeof(gname), "#n%d-%zu", fam, cnt);
	if (json_object_get(want, gname))
		return;
	const char *f = fam_kw(fam);
	json_t *g = group_new();
	char *d = xasprintf(
	    "map { typeof %s daddr . meta l4proto . th dport . numgen random mod %zu : %s daddr . th dport; }",
	    f, cnt, f);
	snprintf(name, sizeof(name), "eps%d-%zu", fam, cnt);
	decl(g, name, d);
	free(d);
	d = xasprintf("map { typeof meta l4proto . th dport . numgen random mod %zu : %s daddr . th dport; }",
		      cnt, f);
	snprintf(name, sizeof(name), "npeps%d-%zu", fam, cnt);
	decl(g, name, d);
	free(d);
	struct buf r;
	buf_init(&r);
	const struct cidr *cc = cluster_cidr(c, fam);
	char cs[CIDR_STRLEN];
	uint32_t masq = PROXY_MARK_SET | PROXY_MARK_MASQ;
	/* Cluster traffic from outside the pod network is masqueraded. */
	if (cc)
		buf_printf(&r, "\n%s saddr != %s meta mark set 0x%06x", f, cidr_format(cc, cs, sizeof(cs)),
			   masq);
	buf_printf(&r,
		   "\ndnat %s to %s daddr . meta l4proto . th dport . numgen random mod %zu map @eps%d-%zu",
		   f, f, cnt, fam, cnt);
	snprintf(name, sizeof(name), "cl%d-%zu", fam, cnt);
	chain(g, name, &r);
	/* External traffic (externalTrafficPolicy Cluster) always is. */
	buf_printf(
	    &r,
	    "\nmeta mark set 0x%06x\ndnat %s to %s daddr . meta l4proto . th dport . numgen random mod %zu map "
	    "@eps%d-%zu",
	    masq, f, f, cnt, fam, cnt);
	snprintf(name, sizeof(name), "ex%d-%zu", fam, cnt);
	chain(g, name, &r);
	buf_printf(
	    &r,
	    "\nmeta mark set 0x%06x\ndnat %s to meta l4proto . th dport . numgen random mod %zu map @npeps%d-%zu",
	    masq, f, cnt, fam, cnt);
	snprintf(name, sizeof(name), "np%d-%zu", fam, cnt);
	chain(g, name, &r);
	buf_fini(&r);
	json_object_set_new(want, gname, g);
}

/* The endpoint elements of a simple service port for one entry address (NULL: its node
 * port): "<address> . <proto> . <port> . <i>" -> "<endpoint> . <port>". */
static void set_eps(json_t *g, const struct proxy_svcport *sp, const struct ip_addr *at, const char *pr)
{
	char map[48], key[IP_STRLEN + 64], val[IP_STRLEN + 8], ip[IP_STRLEN], ep[IP_STRLEN];
	snprintf(map, sizeof(map), "%seps%d-%zu", at ? "" : "np", sp->family, sp->n_cluster);
	if (at)
		ip_format(at, ip, sizeof(ip));
	for (size_t i = 0; i < sp->n_cluster; i++) {
		const struct proxy_ep *e = &sp->eps[sp->cluster_eps[i]];
		if (at)
			snprintf(key, sizeof(key), "%s . %s . %u . %zu", ip, pr, sp->port, i);
		else
			snprintf(key, sizeof(key), "%s . %u . %zu", pr, sp->node_port, i);
		snprintf(val, sizeof(val), "%s . %u", ip_format(&e->ip, ep, sizeof(ep)), e->port);
		elem(g, map, key, val);
	}
}

static void port_group(struct proxy_nft *n, json_t *want, const json_t *have_ids,
		       const struct proxy_svcport *sp, const struct proxy_netcfg *c)
{
	int fam = sp->family;
	const char *f = fam_kw(fam);
	const char *pr = proxy_proto_name(sp->proto);
	char pn[32], id[600], gname[620], svc[640], ext[640], fw[640], aff[700], key[2 * IP_STRLEN + 32],
	    ip[IP_STRLEN];
	if (*sp->port_name)
		snprintf(pn, sizeof(pn), "%s", sp->port_name);
	else
		snprintf(pn, sizeof(pn), "%u", sp->port);
	snprintf(id, sizeof(id), "%s/%s/%s/%s", sp->ns, sp->name, pr, pn);
	snprintf(gname, sizeof(gname), "%s/%d", id, fam);
	snprintf(svc, sizeof(svc), "svc%d-%s", fam, id);
	snprintf(ext, sizeof(ext), "ext%d-%s", fam, id);
	snprintf(fw, sizeof(fw), "fw%d-%s", fam, id);
	json_t *g = group_new();
	char skey[520];
	snprintf(skey, sizeof(skey), "%s/%s", sp->ns, sp->name);
	json_object_set_new(g, "k", json_string(skey));
	const json_t *hi = json_object_get(have_ids, gname);
	char backends[16], sips[24], neps[32], snp[24], nenp[32], fwips[24];
	snprintf(backends, sizeof(backends), "backends%d", fam);
	snprintf(sips, sizeof(sips), "service-ips%d", fam);
	snprintf(neps, sizeof(neps), "no-endpoint-services%d", fam);
	snprintf(snp, sizeof(snp), "service-nodeports%d", fam);
	snprintf(nenp, sizeof(nenp), "no-endpoint-nodeports%d", fam);
	snprintf(fwips, sizeof(fwips), "firewall-ips%d", fam);
	const struct cidr *cc = cluster_cidr(c, fam);
	char ccs[CIDR_STRLEN] = "", cond[CIDR_STRLEN + 32] = "";
	if (cc) {
		cidr_format(cc, ccs, sizeof(ccs));
		snprintf(cond, sizeof(cond), "%s saddr != %s", f, ccs);
	}
	struct buf r;
	buf_init(&r);
	/* Most service ports (no affinity, externalTrafficPolicy Cluster) have no chain of
	 * their own: their entry points go to the chains shared by every endpoint set of
	 * the same size, and their endpoints are elements of that size's map, so an
	 * endpoint change is a change of map elements only. */
	bool simple = !sp->affinity_s && !sp->etp_local;
	uint32_t cbase = 0, lbase = 0;
	if (!simple) {
		cbase =
		    sp->n_cluster ? block(n, g, hi, sp, sp->cluster_eps, sp->n_cluster, 'c', backends) : 0;
		lbase = sp->etp_local && sp->n_local
			    ? block(n, g, hi, sp, sp->local_eps, sp->n_local, 'l', backends)
			    : 0;
	}
	bool have_cluster = simple ? sp->n_cluster > 0 : cbase != 0;
	bool have_local = lbase != 0;
	if (simple && have_cluster) {
		shared_group(want, fam, sp->n_cluster, c);
		snprintf(svc, sizeof(svc), "cl%d-%zu", fam, sp->n_cluster);
		snprintf(ext, sizeof(ext), "ex%d-%zu", fam, sp->n_cluster);
	}
	/* The cluster chain: traffic to the cluster IP (and pods' traffic under etp Local). */
	if (have_cluster && !simple) {
		const char *a = NULL;
		if (sp->affinity_s) {
			aff_map(g, svc, sp, aff, sizeof(aff));
			a = aff;
			buf_printf(
			    &r, "\nmeta mark set %s saddr map @%s update @%s { %s saddr : meta mark } return",
			    f, aff, aff, f);
		}
		if (cc)
			pick_rule(&r, cond, cbase, sp->n_cluster, true, a, fam);
		pick_rule(&r, NULL, cbase, sp->n_cluster, false, a, fam);
		chain(g, svc, &r);
	}
	/* The external chain: node ports, external IPs, load-balancer IPs. */
	bool has_ext = sp->node_port || sp->n_external;
	bool ext_ok = sp->etp_local ? (have_local || have_cluster) : have_cluster;
	if (has_ext && ext_ok && !simple) {
		const char *a = NULL;
		if (sp->affinity_s) {
			aff_map(g, ext, sp, aff, sizeof(aff));
			a = aff;
		}
		if (!sp->etp_local) {
			if (a)
				buf_printf(
				    &r,
				    "\nmeta mark set %s saddr map @%s update @%s { %s saddr : meta mark } return",
				    f, aff, aff, f);
			pick_rule(&r, NULL, cbase, sp->n_cluster, true, a, fam);
		} else {
			/* Pods' traffic goes where cluster traffic goes; the node's own is
			 * masqueraded to any endpoint; only outside clients need local ones
			 * and keep their source address. */
			if (cc && have_cluster) {
				char pc[CIDR_STRLEN + 16];
				snprintf(pc, sizeof(pc), "%s saddr %s", f, ccs);
				pick_rule(&r, pc, cbase, sp->n_cluster, false, NULL, fam);
			} else if (cc) {
				buf_printf(&r, "\n%s saddr %s drop", f, ccs);
			}
			if (a)
				buf_printf(
				    &r,
				    "\nmeta mark set %s saddr map @%s update @%s { %s saddr : meta mark } return",
				    f, aff, aff, f);
			if (have_cluster)
				pick_rule(&r, "fib saddr type local", cbase, sp->n_cluster, true, a, fam);
			if (have_local)
				pick_rule(&r, NULL, lbase, sp->n_local, false, a, fam);
			else
				buf_puts(&r, "\ndrop");
		}
		chain(g, ext, &r);
	}
	/* Entry points. */
	if (simple && have_cluster) {
		if (sp->has_cluster_ip)
			set_eps(g, sp, &sp->cluster_ip, pr);
		for (size_t i = 0; i < sp->n_external; i++)
			set_eps(g, sp, &sp->external_ips[i], pr);
		if (sp->node_port)
			set_eps(g, sp, NULL, pr);
	}
	if (sp->has_cluster_ip) {
		snprintf(key, sizeof(key), "%s . %s . %u", ip_format(&sp->cluster_ip, ip, sizeof(ip)), pr,
			 sp->port);
		if (have_cluster) {
			char *v = xasprintf("goto %s", svc);
			elem(g, sips, key, v);
			free(v);
		} else {
			elem(g, neps, key, "goto reject-chain");
		}
	}
	for (size_t i = 0; i < sp->n_external; i++) {
		snprintf(key, sizeof(key), "%s . %s . %u", ip_format(&sp->external_ips[i], ip, sizeof(ip)),
			 pr, sp->port);
		if (ext_ok) {
			char *v = xasprintf("goto %s", ext);
			elem(g, sips, key, v);
			free(v);
		} else {
			elem(g, neps, key, "goto reject-chain");
		}
		bool is_lb = i >= sp->n_external - sp->n_lb;
		if (is_lb && sp->n_src_ranges) {
			char *v = xasprintf("goto %s", fw);
			elem(g, fwips, key, v);
			free(v);
		}
	}
	if (sp->n_src_ranges && sp->n_lb) {
		buf_printf(&r, "\n%s saddr != { ", f);
		for (size_t i = 0; i < sp->n_src_ranges; i++) {
			char cs[CIDR_STRLEN];
			buf_printf(&r, "%s%s", i ? ", " : "",
				   cidr_format(&sp->src_ranges[i], cs, sizeof(cs)));
		}
		buf_puts(&r, " } drop");
		chain(g, fw, &r);
	}
	if (sp->node_port) {
		snprintf(key, sizeof(key), "%s . %u", pr, sp->node_port);
		if (ext_ok) {
			char *v = simple ? xasprintf("goto np%d-%zu", fam, sp->n_cluster)
					 : xasprintf("goto %s", ext);
			elem(g, snp, key, v);
			free(v);
		} else {
			elem(g, nenp, key, "goto reject-chain");
		}
	}
	/* Hairpin: a local pod reaching itself through the Service. The group names its
	 * local endpoint addresses ("h"); the set's elements are counted across groups
	 * (hp_delta), so an address that backs many Services is one element, written once. */
	buf_reset(&r);
	for (size_t i = 0; i < sp->n_eps; i++) {
		if (sp->eps[i].local)
			buf_printf(&r, "%s%s", r.len ? " " : "", ip_format(&sp->eps[i].ip, ip, sizeof(ip)));
	}
	if (r.len)
		json_object_set_new(g, "h", json_string(r.data));
	buf_fini(&r);
	json_object_set_new(want, gname, g);
}

/* Before the first sync's desired state: what the kernel holds (proxy_nft_load_kernel). */
static void read_kernel_table(struct proxy_nft *n)
{
	n->kern_read = true;
	if (!n->nl)
		n->nl = proxy_nftnl_new();
	json_t *l = NULL;
	char err[256];
	int rc = proxy_nftnl_list_table(n->nl, n->table, &l, err, sizeof(err));
	if (rc == -ENOENT)
		return;
	if (rc < 0) {
		log_warn("proxy: nft: cannot read the kernel's table (%s): replacing it", err);
		return;
	}
	if (proxy_nft_load_kernel(n, l) == -EPROTO)
		log_info("proxy: nft: the kernel's table %s is of another layout: replacing it", n->table);
	json_decref(l);
}

json_t *proxy_nft_desired(struct proxy_nft *n, const struct proxy_model *m, const struct proxy_netcfg *c)
{
	if (n->read_kernel && !n->dry && !n->kern_read)
		read_kernel_table(n);
	json_t *want = json_object();
	json_t *base = group_new();
	json_object_set_new(want, "", base);
	base_group(base, c);
	for (size_t i = 0; i < m->n; i++)
		port_group(n, want, n->have_ids, &m->ports[i], c);
	return want;
}

json_t *proxy_nft_desired_services(struct proxy_nft *n, const struct proxy_model *m,
				   const struct proxy_netcfg *c, const json_t *keys)
{
	json_t *want = json_object();
	for (size_t i = 0; i < m->n; i++)
		port_group(n, want, n->have_ids, &m->ports[i], c);
	/* Groups of these Services that are no more: listed as null. */
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		json_t *gs = json_object_get(n->svc_groups, json_string_value(k));
		const char *g;
		json_t *v;
		json_object_foreach(gs, g, v)
		{
			if (!json_object_get(want, g))
				json_object_set_new(want, g, json_null());
		}
	}
	return want;
}

/* ---- the diff as a script ------------------------------------------------------ */

enum phase {
	P_DECL,
	P_CHAIN_ADD,
	P_CHAIN_RULES,
	P_ELEM_DEL,
	P_ELEM_ADD,
	P_CHAIN_FLUSH,
	P_CHAIN_DEL,
	P_DECL_DEL,
	P_N
};

static const json_t *sub(const json_t *g, const char *k)
{
	return json_object_get(g, k);
}

/* "map { ... }" -> keyword "map" and the rest. */
static void split_decl(const char *d, char *kw, size_t kwlen, const char **rest)
{
	const char *sp = strchr(d, ' ');
	size_t l = sp ? (size_t)(sp - d) : strlen(d);
	if (l >= kwlen)
		l = kwlen - 1;
	memcpy(kw, d, l);
	kw[l] = 0;
	*rest = sp ? sp + 1 : "";
}

/* The comment of a chain's last rule: "h=<FNV-1a of the chain's text>" and the id
 * blocks of its group ("c=5+2 l=7+1": kind, base, count), from which a restart tells
 * whether the kernel's chain is the one wanted and rebuilds the group's blocks. */
static void fingerprint(struct buf *b, const char *text, const json_t *ids)
{
	buf_printf(b, "h=%016llx", (unsigned long long)fnv_str(fnv_init(), text));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ids, k, v)
	{
		buf_printf(b, " %c=%lld+%lld", *k, (long long)json_integer_value(json_array_get(v, 0)),
			   (long long)json_integer_value(json_array_get(v, 1)));
	}
}

static void emit_rules(struct buf *b, const char *t, const char *name, const char *text, const json_t *ids)
{
	const char *p = strchr(text, '\n');
	while (p) {
		const char *e = strchr(p + 1, '\n');
		size_t l = e ? (size_t)(e - p - 1) : strlen(p + 1);
		if (l) {
			buf_printf(b, "add rule inet %s %s %.*s", t, name, (int)l, p + 1);
			if (!e) {
				buf_puts(b, " comment \"");
				fingerprint(b, text, ids);
				buf_putc(b, '"');
			}
			buf_putc(b, '\n');
		}
		p = e;
	}
}

/* The elements of from that other lacks or maps differently, added or deleted. defer:
 * endpoint elements of a replaced block are deleted later, in a batch (proxy_nft_gc): a
 * deletion makes nft read every element of the table. */
static void emit_elems(struct buf *b, const char *t, const json_t *from, const json_t *other, bool add,
		       bool defer)
{
	const char *map;
	json_t *m;
	json_object_foreach((json_t *)from, map, m)
	{
		const json_t *om = json_object_get(other, map);
		if (!add && defer && !strncmp(map, "backends", 8))
			continue;
		size_t k = 0;
		const char *key;
		json_t *v;
		json_object_foreach(m, key, v)
		{
			json_t *ov = json_object_get(om, key);
			if (ov && json_equal(ov, v))
				continue;
			if (k++ == 0)
				buf_printf(b, "%s element inet %s %s { ", add ? "add" : "delete", t, map);
			else
				buf_puts(b, ", ");
			const char *val = json_string_value(v);
			if (add && val && *val)
				buf_printf(b, "%s : %s", key, val);
			else
				buf_puts(b, key);
		}
		if (k)
			buf_puts(b, " }\n");
	}
}

static void emit_group(struct buf *b, const char *t, const json_t *hg, const json_t *wg, enum phase ph,
		       bool defer)
{
	const char *name;
	json_t *v;
	const json_t *hd = sub(hg, "d"), *wd = sub(wg, "d"), *hc = sub(hg, "c"), *wc = sub(wg, "c");
	char kw[8];
	const char *rest;
	switch (ph) {
	case P_DECL:
		json_object_foreach((json_t *)wd, name, v)
		{
			if (json_object_get(hd, name))
				continue;
			split_decl(json_string_value(v), kw, sizeof(kw), &rest);
			buf_printf(b, "add %s inet %s %s %s\n", kw, t, name, rest);
		}
		break;
	case P_CHAIN_ADD:
		json_object_foreach((json_t *)wc, name, v)
		{
			if (json_object_get(hc, name))
				continue;
			const char *text = json_string_value(v);
			const char *nl = strchr(text, '\n');
			int hl = nl ? (int)(nl - text) : (int)strlen(text);
			buf_printf(b, "add chain inet %s %s%s%.*s\n", t, name, hl ? " " : "", hl, text);
		}
		break;
	case P_CHAIN_RULES:
		json_object_foreach((json_t *)wc, name, v)
		{
			json_t *old = json_object_get(hc, name);
			if (old && json_equal(old, v))
				continue;
			if (old) {
				buf_printf(b, "flush chain inet %s %s\n", t, name);
				/* The chain's ids changed: affinity entries point at old ids. */
				size_t nl = strlen(name);
				const char *dn;
				json_t *dv;
				json_object_foreach((json_t *)wd, dn, dv)
				{
					if (!strncmp(dn, name, nl) && !strncmp(dn + nl, "-aff", 4) &&
					    json_object_get(hd, dn))
						buf_printf(b, "flush map inet %s %s\n", t, dn);
				}
			}
			emit_rules(b, t, name, json_string_value(v), sub(wg, "i"));
		}
		break;
	case P_ELEM_DEL:
		emit_elems(b, t, sub(hg, "e"), sub(wg, "e"), false, defer);
		break;
	case P_ELEM_ADD:
		emit_elems(b, t, sub(wg, "e"), sub(hg, "e"), true, defer);
		break;
	case P_CHAIN_FLUSH:
	case P_CHAIN_DEL:
		json_object_foreach((json_t *)hc, name, v)
		{
			if (!json_object_get(wc, name))
				buf_printf(b, "%s chain inet %s %s\n",
					   ph == P_CHAIN_FLUSH ? "flush" : "delete", t, name);
		}
		break;
	case P_DECL_DEL:
		json_object_foreach((json_t *)hd, name, v)
		{
			if (json_object_get(wd, name))
				continue;
			split_decl(json_string_value(v), kw, sizeof(kw), &rest);
			buf_printf(b, "delete %s inet %s %s\n", kw, t, name);
		}
		break;
	default:
		break;
	}
}

/* ---- hairpin ---- */

/* The hairpin sets are kept out of the groups: a group names its local endpoint
 * addresses ("h": "P1 P2 ..."), and those are counted across groups, in an object
 * "hairpin4"/"hairpin6" -> {address: count}. The set's element "P . P" is added when
 * P's count leaves 0 and deleted when it returns there: a node whose 100,000 endpoints
 * of 10,000 Services are all local writes and tracks each of its 25,000 addresses once,
 * not once per Service. */

/* Adds d to the count of the address at a (len bytes) of set in acc; a count of 0 goes. */
static void count_add(json_t *acc, const char *set, const char *a, size_t len, json_int_t d)
{
	json_t *m = obj_at(acc, set), *cv = json_object_getn(m, a, len);
	json_int_t c = json_integer_value(cv) + d;
	if (c == 0)
		json_object_deln(m, a, len);
	else if (cv)
		json_integer_set(cv, c);
	else
		json_object_setn_new(m, a, len, json_integer(c));
}

/* Adds d to the counts of group g's local endpoint addresses in acc. */
static void hp_delta(json_t *acc, const json_t *g, int d)
{
	const char *h = json_string_value(json_object_get(g, "h"));
	while (h && *h) {
		size_t l = strcspn(h, " ");
		if (l)
			count_add(acc, memchr(h, ':', l) ? "hairpin6" : "hairpin4", h, l, d);
		h += l + (h[l] == ' ');
	}
}

/* The change to the counts when the groups in only (NULL: all of want and have) go
 * from have to want (absent or null in want: removed). */
static void hp_pending(json_t *pend, const json_t *have, const json_t *want, const json_t *only)
{
	const char *g;
	json_t *v;
	json_object_foreach((json_t *)(only ? only : want), g, v)
	{
		hp_delta(pend, json_object_get(have, g), -1);
		hp_delta(pend, json_object_get(want, g), +1);
	}
	if (only)
		return;
	json_object_foreach((json_t *)have, g, v)
	{
		if (!json_object_get(want, g))
			hp_delta(pend, v, -1);
	}
}

/* A script's hairpin part: refs, the counts of what the kernel's sets hold; pend, the
 * change the script's groups make to them; held (may be NULL), addresses whose element
 * the kernel holds though refs does not count them yet (a restart's): not added again. */
struct hp_change {
	const json_t *refs, *pend, *held;
};

/* The elements whose count leaves 0 (add) or returns there (delete). */
static void hp_emit(struct buf *b, const char *t, const struct hp_change *hp, bool add)
{
	json_t *e = json_object();
	const char *set, *key;
	json_t *m, *v;
	json_object_foreach((json_t *)hp->pend, set, m)
	{
		const json_t *rm = json_object_get(hp->refs, set), *hm = json_object_get(hp->held, set);
		json_object_foreach(m, key, v)
		{
			json_int_t old = json_integer_value(json_object_get(rm, key));
			json_int_t now = old + json_integer_value(v);
			if (add ? old <= 0 && now > 0 && !json_object_get(hm, key) : old > 0 && now <= 0) {
				char el[2 * IP_STRLEN + 4];
				snprintf(el, sizeof(el), "%s . %s", key, key);
				json_object_set_new(obj_at(e, set), el, json_string(""));
			}
		}
	}
	emit_elems(b, t, e, NULL, add, false);
	json_decref(e);
}

/* The script applied: pend goes into n's counts (and its element total). */
static void hp_commit(struct proxy_nft *n, const json_t *pend)
{
	const char *set, *key;
	json_t *m, *v;
	json_object_foreach((json_t *)pend, set, m)
	{
		json_t *rm = obj_at(n->hp_refs, set);
		json_object_foreach(m, key, v)
		{
			json_int_t old = json_integer_value(json_object_get(rm, key));
			json_int_t now = old + json_integer_value(v);
			if ((old > 0) != (now > 0))
				n->elements = now > 0 ? n->elements + 1 : n->elements - 1;
			count_add(n->hp_refs, set, key, strlen(key), json_integer_value(v));
		}
	}
}

/* ---- the script ---- */

/* The script for the groups in only (NULL = every group of want and have); a group
 * absent from want, or null there, is removed. hp (may be NULL): the hairpin elements
 * the change adds and deletes. */
static char *script(const char *t, const json_t *have, const json_t *want, const json_t *only, bool add_table,
		    bool defer, const struct hp_change *hp)
{
	struct buf b;
	buf_init(&b);
	if (add_table)
		buf_printf(&b, "add table inet %s { comment \"%s\"; }\n", t, LAYOUT);
	for (int ph = 0; ph < P_N; ph++) {
		const char *g;
		json_t *v;
		if (only) {
			json_object_foreach((json_t *)only, g, v)
			{
				const json_t *wg = json_object_get(want, g);
				emit_group(&b, t, json_object_get(have, g), json_is_object(wg) ? wg : NULL,
					   (enum phase)ph, defer);
			}
		} else {
			json_object_foreach((json_t *)want, g, v)
			{
				emit_group(&b, t, json_object_get(have, g), v, (enum phase)ph, defer);
			}
			json_object_foreach((json_t *)have, g, v)
			{
				if (!json_object_get(want, g))
					emit_group(&b, t, v, NULL, (enum phase)ph, defer);
			}
		}
		if (hp && (ph == P_ELEM_DEL || ph == P_ELEM_ADD))
			hp_emit(&b, t, hp, ph == P_ELEM_ADD);
	}
	return b.data ? buf_take(&b) : xstrdup("");
}

char *proxy_nft_script(const char *table, const json_t *have, const json_t *want, const json_t *only)
{
	json_t *refs = json_object(), *pend = json_object();
	const char *g;
	json_t *v;
	json_object_foreach((json_t *)have, g, v) hp_delta(refs, v, +1);
	hp_pending(pend, have, want, only);
	struct hp_change hp = {refs, pend, NULL};
	char *s = script(table ? table : PROXY_NFT_TABLE, have, want, only,
			 !have && (!only || json_object_get(only, "")), false, &hp);
	json_decref(refs);
	json_decref(pend);
	return s;
}

/* ---- kernel --------------------------------------------------------------------- */

static void err_text(char *err, size_t errlen, const char *e)
{
	snprintf(err, errlen, "nftables: %s", e && *e ? e : "command failed");
	size_t l = strlen(err);
	while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
		err[--l] = 0;
}

static int run_ctx(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		snprintf(err, errlen, "nftables: cannot create a context");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	int rc = nft_run_cmd_from_buffer(nft, script);
	if (rc != 0)
		err_text(err, errlen, nft_ctx_get_error_buffer(nft));
	nft_ctx_free(nft);
	return rc ? -EIO : 0;
}

int proxy_nft_run(const char *script, char *err, size_t errlen)
{
	return run_ctx(script, err, errlen);
}

int proxy_nft_cleanup(const char *table, char *err, size_t errlen)
{
	char *s = xasprintf("add table inet %s\ndelete table inet %s\n", table ? table : PROXY_NFT_TABLE,
			    table ? table : PROXY_NFT_TABLE);
	int rc = proxy_nft_run(s, err, errlen);
	free(s);
	return rc;
}

static void group_counts(const json_t *g, long *elements, long *chains)
{
	*chains = (long)json_object_size(json_object_get(g, "c"));
	*elements = 0;
	const char *m;
	json_t *mv;
	json_object_foreach(json_object_get(g, "e"), m, mv) *elements += (long)json_object_size(mv);
}

/* The blocks of hg that wg does not keep go to the garbage list (their ids stay taken
 * until proxy_nft_gc deleted their elements). */
static void gc_blocks(struct proxy_nft *n, const json_t *hg, const json_t *wg)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(hg, "i"), k, v)
	{
		json_t *o = json_object_get(json_object_get(wg, "i"), k);
		if (o && json_equal(o, v))
			continue;
		/* The family is that of the group's backends map. */
		int fam = json_object_get(json_object_get(hg, "e"), "backends6") ? 6 : 4;
		json_array_append_new(n->gc, json_pack("[iO]", fam, v));
		n->gc_ids += (size_t)json_integer_value(json_array_get(v, 1));
	}
}

/* The stored form of group g. */
static json_t *have_store(const json_t *g)
{
	char *d = json_dumps(g, JSON_COMPACT);
	json_t *s = json_string(d ? d : "{}");
	free(d);
	return s;
}

/* A parsed copy of the applied groups named in only (NULL: all), for one sync. */
static json_t *have_view(const struct proxy_nft *n, const json_t *only)
{
	json_t *v = json_object();
	const char *g;
	json_t *x;
	json_object_foreach((json_t *)(only ? only : n->have), g, x)
	{
		json_t *st = json_object_get(n->have, g);
		json_t *t = st ? json_loads(json_string_value(st), 0, NULL) : NULL;
		if (t)
			json_object_set_new(v, g, t);
	}
	return v;
}

/* Whether group wg is what is applied for g; when not, *stored is its stored form (for
 * commit_group, so it is rendered once). */
static bool have_same(const struct proxy_nft *n, const char *g, const json_t *wg, json_t **stored)
{
	json_t *st = json_object_get(n->have, g);
	char *d = json_dumps(wg, JSON_COMPACT);
	bool same = st && d && !strcmp(d, json_string_value(st));
	*stored = same ? NULL : json_string(d ? d : "{}");
	free(d);
	return same;
}

/* Group g is now in the kernel as wg (NULL: gone) instead of hg (in hv, the sync's
 * parsed view of the applied groups, which follows). */
static void commit_group(struct proxy_nft *n, json_t *hv, const char *g, const json_t *hg, json_t *wg,
			 json_t *changed)
{
	long e, c;
	if (hg) {
		group_counts(hg, &e, &c);
		n->elements -= (size_t)e;
		n->chains -= (size_t)c;
		if (n->defer)
			gc_blocks(n, hg, wg);
		else
			group_ids(n, hg, false, wg);
		const char *k = json_string_value(json_object_get(hg, "k"));
		if (k) {
			json_t *gs = json_object_get(n->svc_groups, k);
			json_object_del(gs, g);
			if (!json_object_size(gs))
				json_object_del(n->svc_groups, k);
		}
	}
	if (wg) {
		group_counts(wg, &e, &c);
		n->elements += (size_t)e;
		n->chains += (size_t)c;
		const char *k = json_string_value(json_object_get(wg, "k"));
		if (k) {
			json_t *gs = json_object_get(n->svc_groups, k);
			if (!gs) {
				gs = json_object();
				json_object_set_new(n->svc_groups, k, gs);
			}
			json_object_set_new(gs, g, json_true());
		}
		json_t *st = json_object_get(changed, g);
		json_object_set_new(n->have, g, json_is_string(st) ? json_incref(st) : have_store(wg));
		if (json_object_size(json_object_get(wg, "i")))
			json_object_set(n->have_ids, g, json_object_get(wg, "i"));
		else
			json_object_del(n->have_ids, g);
		json_object_set(hv, g, wg);
	} else {
		json_object_del(n->have, g);
		json_object_del(n->have_ids, g);
		json_object_del(hv, g);
	}
}

/* A script applied: each group of changed is now as want has it (stored: the groups'
 * stored forms, as commit_group takes them), and pend is in the hairpin counts. */
static void commit_groups(struct proxy_nft *n, json_t *hv, const json_t *want, const json_t *changed,
			  json_t *stored, const json_t *pend)
{
	const char *g;
	json_t *v;
	json_object_foreach((json_t *)changed, g, v)
	{
		json_t *wg = json_object_get(want, g);
		commit_group(n, hv, g, json_object_get(hv, g), json_is_object(wg) ? wg : NULL, stored);
	}
	hp_commit(n, pend);
}

static int apply(struct proxy_nft *n, const char *s, char *err, size_t errlen)
{
	free(n->last);
	/* A 10 MB script kept for nothing is memory: big ones only when dry (tests). */
	n->last = n->dry || strlen(s) <= 65536 ? xstrdup(s) : NULL;
	if (n->dry || !*s)
		return 0;
	/* Element-only scripts (most syncs) skip libnftables' parser. */
	if (!n->nl)
		n->nl = proxy_nftnl_new();
	int frc = proxy_nftnl_run(n->nl, s, err, errlen);
	if (frc == 0 || frc == -EIO)
		return frc;
	if (!n->ctx) {
		n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
		if (!n->ctx) {
			snprintf(err, errlen, "nftables: cannot create a context");
			return -ENOMEM;
		}
		nft_ctx_buffer_output(n->ctx);
		nft_ctx_buffer_error(n->ctx);
	}
	int rc = nft_run_cmd_from_buffer(n->ctx, s);
	const char *e = nft_ctx_get_error_buffer(n->ctx); /* read every time: it empties it */
	nft_ctx_get_output_buffer(n->ctx);
	if (rc != 0)
		err_text(err, errlen, e);
	return rc ? -EIO : 0;
}

int proxy_nft_apply(struct proxy_nft *n, const char *script, char *err, size_t errlen)
{
	return apply(n, script, err, errlen);
}

/* ---- restart: converge with the kernel's table by diff ---------------------------- */

/* The group a chain with blocks belongs to: "svc4-<id>", "ext4-<id>", "fw4-<id>" ->
 * "<id>/4". False for other chains. */
static bool chain_group(const char *chain_name, char *out, size_t len)
{
	const char *dash = strchr(chain_name, '-');
	if (!dash || dash == chain_name || !dash[1])
		return false;
	char fam = dash[-1];
	size_t pl = (size_t)(dash - chain_name) - 1;
	if ((fam != '4' && fam != '6') ||
	    !((pl == 3 && !strncmp(chain_name, "svc", 3)) || (pl == 3 && !strncmp(chain_name, "ext", 3)) ||
	      (pl == 2 && !strncmp(chain_name, "fw", 2))))
		return false;
	return snprintf(out, len, "%s/%c", dash + 1, fam) < (int)len;
}

/* An element of the kernel's backends map: id -> "address . port". */
struct backend_el {
	uint32_t id;
	const char *val;
};

struct backend_els {
	VEC(struct backend_el) v;
};

static int backend_cmp(const void *a, const void *b)
{
	const struct backend_el *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The kernel's backendsN map, sorted by id. */
static void backends_sorted(const json_t *sets, const char *map, struct backend_els *out)
{
	size_t i;
	json_t *kv;
	json_array_foreach(json_object_get(json_object_get(sets, map), "elements"), i, kv)
	{
		const char *k = json_string_value(json_array_get(kv, 0));
		const char *v = json_string_value(json_array_get(kv, 1));
		char *end;
		unsigned long id = k ? strtoul(k, &end, 16) : 0;
		if (!k || !v || *end || id >= ID_SPACE)
			continue;
		struct backend_el *e = vec_push(&out->v);
		e->id = (uint32_t)id;
		e->val = v;
	}
	if (out->v.len)
		qsort(out->v.v, out->v.len, sizeof(*out->v.v), backend_cmp);
}

/* Rebuilds the id blocks named in a chain's fingerprint ("h=... c=5+2 l=7+1") from the
 * kernel's backends map: a block's key lists the endpoints its ids map to, in order. */
static void recover_blocks(struct proxy_nft *n, const char *chain_name, const char *comment,
			   const struct backend_els be[2])
{
	char g[640];
	if (!comment || !chain_group(chain_name, g, sizeof(g)))
		return;
	const struct backend_els *b = &be[g[strlen(g) - 1] == '6'];
	for (const char *p = strchr(comment, ' '); p; p = strchr(p + 1, ' ')) {
		char kind;
		unsigned long long base, cnt;
		if (sscanf(p + 1, "%c=%llu+%llu", &kind, &base, &cnt) != 3 || !base || !cnt ||
		    base + cnt > ID_SPACE)
			continue;
		struct buf k;
		buf_init(&k);
		buf_putc(&k, kind);
		bool ok = true;
		for (unsigned long long i = 0; i < cnt && ok; i++) {
			struct backend_el want = {.id = (uint32_t)(base + i)};
			const struct backend_el *e =
			    b->v.len ? bsearch(&want, b->v.v, b->v.len, sizeof(want), backend_cmp) : NULL;
			const char *sep = e ? strstr(e->val, " . ") : NULL;
			if (sep)
				buf_printf(&k, ",%.*s:%s", (int)(sep - e->val), e->val, sep + 3);
			ok = sep != NULL;
		}
		if (ok) {
			json_t *gi = json_object_get(n->have_ids, g);
			if (!gi) {
				gi = json_object();
				json_object_set_new(n->have_ids, g, gi);
			}
			json_object_set_new(gi, k.data, json_pack("[II]", (json_int_t)base, (json_int_t)cnt));
			ids_mark(n, (uint32_t)base, (uint32_t)cnt, true);
		}
		buf_fini(&k);
	}
}

int proxy_nft_load_kernel(struct proxy_nft *n, const json_t *listing)
{
	json_decref(n->kern);
	n->kern = NULL;
	n->kern_read = true;
	if (!listing)
		return -ENOENT;
	const char *comment = json_string_value(json_object_get(listing, "comment"));
	if (!comment || strcmp(comment, LAYOUT))
		return -EPROTO;
	n->kern = json_incref((json_t *)listing);
	json_object_clear(n->have_ids);
	const json_t *sets = json_object_get(listing, "sets");
	struct backend_els be[2] = {0};
	backends_sorted(sets, "backends4", &be[0]);
	backends_sorted(sets, "backends6", &be[1]);
	const char *c;
	json_t *v;
	json_object_foreach(json_object_get(listing, "chains"), c, v)
	{
		recover_blocks(n, c, json_string_value(json_object_get(v, "comment")), be);
	}
	vec_free(&be[0].v);
	vec_free(&be[1].v);
	return 0;
}

/* Whether the kernel's chain k ({"rules": N, "comment": its last rule's}) is text. */
static bool chain_same(const char *text, const json_t *k)
{
	json_int_t rules = 0;
	for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
		rules += p[1] && p[1] != '\n';
	if (json_integer_value(json_object_get(k, "rules")) != rules)
		return false;
	if (!rules)
		return true;
	char h[24];
	snprintf(h, sizeof(h), "h=%016llx", (unsigned long long)fnv_str(fnv_init(), text));
	const char *kc = json_string_value(json_object_get(k, "comment"));
	size_t l = strlen(h);
	return kc && !strncmp(kc, h, l) && (!kc[l] || kc[l] == ' ');
}

struct kernel_stats {
	size_t kept, elements, chains_kept, chains;
};

/* An element of a map, of want (hm: the map's elements in that group's applied view) or
 * of the kernel (hm NULL); sorted to pair them (a jansson object of 100,000 keys costs
 * 0.4 s to build, a sort of pointers a few ms). */
struct kel {
	const char *map, *key;
	json_t *val, *hm;
};

struct kels {
	VEC(struct kel) v;
};

static int kel_cmp(const void *a, const void *b)
{
	const struct kel *x = a, *y = b;
	int c = strcmp(x->map, y->map);
	return c ? c : strcmp(x->key, y->key);
}

static void kel_sort(struct kels *k)
{
	if (k->v.len)
		qsort(k->v.v, k->v.len, sizeof(*k->v.v), kel_cmp);
}

/* The applied state the kernel's listing amounts to, group by group of want, plus a
 * group "#kernel" of what no group of want holds (removed by the diff). NULL, with why,
 * when a diff cannot take the kernel to want (nft.h). */
static json_t *kernel_view(const struct proxy_nft *n, const json_t *want, struct kernel_stats *st, char *why,
			   size_t whylen)
{
	const json_t *ks = json_object_get(n->kern, "sets"), *kc = json_object_get(n->kern, "chains");
	json_t *hv = json_object(), *decls = json_object(), *chains = json_object();
	struct kels w = {0}, k = {0};
	memset(st, 0, sizeof(*st));
	const char *g, *name, *key;
	json_t *wg, *v, *m;
	json_object_foreach((json_t *)want, g, wg)
	{
		json_t *hg = group_new();
		json_object_set_new(hv, g, hg);
		if (json_object_get(wg, "k"))
			json_object_set(hg, "k", json_object_get(wg, "k"));
		/* The hairpin sets are compared as a whole (sync_restart). */
		if (json_object_get(wg, "h"))
			json_object_set(hg, "h", json_object_get(wg, "h"));
		if (json_object_get(n->have_ids, g))
			json_object_set(hg, "i", json_object_get(n->have_ids, g));
		json_object_foreach(json_object_get(wg, "d"), name, v)
		{
			json_object_set_new(decls, name, json_true());
			if (json_object_get(ks, name))
				json_object_set(json_object_get(hg, "d"), name, v);
		}
		json_object_foreach(json_object_get(wg, "c"), name, v)
		{
			json_object_set_new(chains, name, json_true());
			st->chains++;
			const json_t *kch = json_object_get(kc, name);
			if (!kch)
				continue;
			if (chain_same(json_string_value(v), kch)) {
				json_object_set(json_object_get(hg, "c"), name, v);
				st->chains_kept++;
			} else if (g[0] == '#') {
				/* nft 1.0.6 cannot add a rule that uses a `typeof ... numgen` map
				 * it knows only from the kernel (nft.h). */
				snprintf(why, whylen, "shared chain %s differs", name);
				goto fail;
			} else {
				json_object_set_new(json_object_get(hg, "c"), name, json_string("\n#kernel"));
			}
		}
		json_object_foreach(json_object_get(wg, "e"), name, m)
		{
			const json_t *s = json_object_get(ks, name);
			st->elements += json_object_size(m);
			if (!s)
				continue;
			if (json_is_true(json_object_get(s, "interval"))) {
				/* Its name says what it holds (np_set_names). */
				json_object_set(json_object_get(hg, "e"), name, m);
				st->kept += json_object_size(m);
				continue;
			}
			json_t *hm = obj_at(json_object_get(hg, "e"), name);
			json_object_foreach(m, key, v)
			{
				*vec_push(&w.v) = (struct kel){.map = name, .key = key, .val = v, .hm = hm};
			}
		}
	}
	json_t *s;
	json_object_foreach((json_t *)ks, name, s)
	{
		const json_t *ke = json_object_get(s, "elements");
		if (!json_object_get(decls, name) || json_is_true(json_object_get(s, "interval")) ||
		    json_is_true(json_object_get(s, "dynamic")))
			continue;
		if (!json_is_array(ke)) {
			snprintf(why, whylen, "set %s: elements not read", name);
			goto fail;
		}
		size_t i;
		json_array_foreach(ke, i, v)
		{
			const char *kk = json_string_value(json_array_get(v, 0));
			json_t *kv = json_array_get(v, 1);
			if (kk && json_is_string(kv))
				*vec_push(&k.v) = (struct kel){.map = name, .key = kk, .val = kv};
		}
	}
	/* Pair them: a wanted element the kernel holds is in its group's view with the
	 * kernel's value; a kernel element no group wants goes to "#kernel". */
	kel_sort(&w);
	kel_sort(&k);
	json_t *kg = group_new();
	size_t i = 0, j = 0;
	while (j < k.v.len) {
		int c = i < w.v.len ? kel_cmp(&w.v.v[i], &k.v.v[j]) : 1;
		if (c < 0) {
			i++;
			continue;
		}
		const struct kel *ke = &k.v.v[j++];
		if (c > 0) {
			json_object_set(obj_at(json_object_get(kg, "e"), ke->map), ke->key, ke->val);
			continue;
		}
		for (; i < w.v.len && !kel_cmp(&w.v.v[i], ke); i++) {
			json_object_set(w.v.v[i].hm, ke->key, ke->val);
			st->kept += json_equal(w.v.v[i].val, ke->val);
		}
	}
	json_object_foreach((json_t *)ks, name, s)
	{
		if (!json_object_get(decls, name))
			json_object_set_new(
			    json_object_get(kg, "d"), name,
			    json_string(json_is_true(json_object_get(s, "map")) ? "map" : "set"));
	}
	json_object_foreach((json_t *)kc, name, v)
	{
		if (!json_object_get(chains, name))
			json_object_set_new(json_object_get(kg, "c"), name, json_string("\n#kernel"));
	}
	json_object_set_new(hv, "#kernel", kg);
	vec_free(&w.v);
	vec_free(&k.v);
	json_decref(decls);
	json_decref(chains);
	return hv;
fail:
	vec_free(&w.v);
	vec_free(&k.v);
	json_decref(hv);
	json_decref(decls);
	json_decref(chains);
	return NULL;
}

/* The first sync after a start when the kernel holds a table of this layout: one
 * transaction of the difference between it and want. stored: group -> its stored form
 * when the caller rendered it (see have_same). 0 (applied), or 1 when a diff cannot do
 * it or was refused (err; the caller replaces the table). */
static int sync_restart(struct proxy_nft *n, const json_t *want, json_t *stored, struct proxy_nft_result *r,
			char *err, size_t errlen)
{
	char why[256];
	struct kernel_stats st;
	json_t *hv = kernel_view(n, want, &st, why, sizeof(why));
	if (!hv) {
		log_info("proxy: nft: the kernel's table cannot be patched (%s): replacing it", why);
		return 1;
	}
	json_object_clear(n->have);
	json_object_clear(n->svc_groups);
	json_object_clear(n->hp_refs);
	json_array_clear(n->gc);
	n->gc_ids = 0;
	n->elements = n->chains = 0;
	/* Hairpin: the kernel's elements that want counts stay (held), out of "#kernel",
	 * whose elements the diff deletes; the others want counts are added. */
	json_t *pend = json_object(), *held = json_object();
	hp_pending(pend, NULL, want, NULL);
	json_t *ke = json_object_get(json_object_get(hv, "#kernel"), "e");
	for (int fam = 4; fam <= 6; fam += 2) {
		const char *set = fam == 4 ? "hairpin4" : "hairpin6", *key;
		json_t *km = json_object_get(ke, set), *pm = json_object_get(pend, set), *v;
		void *tmp;
		st.elements += json_object_size(pm);
		json_object_foreach_safe(km, tmp, key, v)
		{
			/* The kernel's element is "P . P"; held and pend are by address P. */
			size_t al = strcspn(key, " ");
			if (strlen(key) != 2 * al + 3 || strncmp(key + al, " . ", 3) ||
			    strncmp(key, key + al + 3, al) || !json_object_getn(pm, key, al))
				continue;
			json_object_setn_new(obj_at(held, set), key, al, json_true());
			json_object_del(km, key);
			st.kept++;
		}
	}
	/* changed: every group (all are committed); differ: those the script must touch. */
	json_t *changed = json_object(), *differ = json_object();
	const char *g;
	json_t *hg;
	json_object_foreach(hv, g, hg)
	{
		long e, c;
		group_counts(hg, &e, &c);
		n->elements += (size_t)e;
		n->chains += (size_t)c;
		json_object_set_new(changed, g, json_true());
	}
	json_object_foreach(hv, g, hg)
	{
		const json_t *wg = json_object_get(want, g);
		long e, c;
		group_counts(hg, &e, &c);
		if (wg ? !json_equal(hg, wg) : e || c || json_object_size(json_object_get(hg, "d")))
			json_object_set_new(differ, g, json_true());
	}
	struct hp_change hp = {n->hp_refs, pend, held};
	char *body = script(n->table, hv, want, differ, false, false, &hp);
	int rc = apply(n, body, err, errlen);
	r->script_bytes = strlen(body);
	free(body);
	if (rc == 0) {
		commit_groups(n, hv, want, changed, stored, pend);
		/* Ids: exactly the blocks of want (those of the kernel's other chains are gone). */
		memset(n->used, 0, ID_SPACE / 8);
		json_object_foreach((json_t *)want, g, hg) group_ids(n, hg, true, NULL);
		void *tmp;
		json_object_foreach_safe(n->have_ids, tmp, g, hg)
		{
			if (!json_object_get(want, g))
				json_object_del(n->have_ids, g);
		}
		r->groups_changed = json_object_size(differ);
		log_info(
		    "proxy: nft: converged with the kernel's table by diff: %zu of %zu elements and %zu of %zu "
		    "chains kept, %zu bytes of changes",
		    st.kept, st.elements, st.chains_kept, st.chains, r->script_bytes);
	} else {
		log_warn("proxy: nft: the diff with the kernel's table was refused (%s): replacing it", err);
		/* What this attempt assumed goes; the replacement starts from nothing. */
		json_object_clear(n->have);
		json_object_clear(n->svc_groups);
		json_object_clear(n->hp_refs);
		n->elements = n->chains = 0;
		rc = 1;
	}
	json_decref(pend);
	json_decref(held);
	json_decref(changed);
	json_decref(differ);
	json_decref(hv);
	return rc;
}

/* The common path of both syncs: want holds the groups to program (all of them when
 * full; otherwise only those in changed, null for removed ones). */
static int sync_groups(struct proxy_nft *n, const json_t *want, json_t *changed, bool full,
		       struct proxy_nft_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (errlen)
		*err = 0;
	if (n->read_kernel && n->kern) {
		int rrc = sync_restart(n, want, changed, r, err, errlen);
		json_decref(n->kern);
		n->kern = NULL;
		if (rrc <= 0) {
			if (rrc == 0)
				n->read_kernel = false;
			r->elements = n->elements;
			r->chains = n->chains;
			return rrc;
		}
		if (errlen)
			*err = 0;
	}
	bool kernel = n->read_kernel && !n->dry;
	struct buf pre;
	buf_init(&pre);
	/* After a start, whatever the kernel holds of our table is replaced in the same
	 * transaction as the new state is written: atomic, so no packet sees neither. (nft
	 * 1.0.6 cannot add rules using a map declared with `typeof ... numgen` that it
	 * only knows from the kernel, so the old table cannot be patched in place.) */
	if (kernel)
		buf_printf(&pre, "delete table inet %s\n", n->table);
	if (n->read_kernel) {
		/* Nothing we know is in the kernel: program every group from scratch. */
		const char *g;
		json_t *v;
		json_object_foreach(n->have, g, v)
		{
			if (!json_object_get(changed, g))
				json_object_set_new(changed, g, json_true());
		}
		json_object_clear(n->have);
		json_object_clear(n->have_ids);
		json_object_clear(n->svc_groups);
		json_object_clear(n->hp_refs);
		json_array_clear(n->gc);
		n->gc_ids = 0;
		memset(n->used, 0, ID_SPACE / 8);
		json_object_foreach((json_t *)want, g, v)
		{
			group_ids(n, v, true, NULL);
			if (!json_object_get(changed, g))
				json_object_set_new(changed, g, json_true());
		}
		n->elements = n->chains = 0;
	}
	r->groups_changed = json_object_size(changed);
	json_t *hv = have_view(n, changed);
	json_t *pend = json_object();
	hp_pending(pend, hv, want, changed);
	struct hp_change hp = {n->hp_refs, pend, NULL};
	const char *g;
	json_t *v;
	n->defer = !full && !n->read_kernel;
	char *body = script(n->table, hv, want, changed, n->read_kernel, n->defer, &hp);
	struct buf all;
	buf_init(&all);
	if (pre.data) {
		buf_printf(&all, "add table inet %s\n", n->table);
		buf_puts(&all, pre.data);
	}
	buf_puts(&all, body);
	free(body);
	int rc = apply(n, all.data ? all.data : "", err, errlen);
	r->script_bytes = all.len;
	if (rc == 0) {
		commit_groups(n, hv, want, changed, changed, pend);
		n->read_kernel = false;
	} else {
		/* Isolate: the base group (with the convergence), then each group alone. */
		log_warn("proxy: nft transaction refused (%s); applying Services one by one", err);
		char first[512];
		snprintf(first, sizeof(first), "%s", err);
		json_t *one = json_object();
		bool base_ok = true;
		if (json_object_get(changed, "")) {
			json_object_set_new(one, "", json_true());
			body = script(n->table, hv, want, one, n->read_kernel, n->defer, NULL);
			buf_reset(&all);
			if (pre.data) {
				buf_printf(&all, "add table inet %s\n", n->table);
				buf_puts(&all, pre.data);
			}
			buf_puts(&all, body);
			free(body);
			base_ok = apply(n, all.data ? all.data : "", err, errlen) == 0;
			if (base_ok) {
				json_t *wg = json_object_get(want, "");
				commit_group(n, hv, "", json_object_get(hv, ""),
					     json_is_object(wg) ? wg : NULL, changed);
			}
		}
		json_object_foreach(changed, g, v)
		{
			if (!*g)
				continue;
			json_t *wg = json_object_get(want, g);
			json_t *hgv = json_incref(json_object_get(hv, g));
			const json_t *hg = hgv;
			json_object_clear(one);
			json_object_set_new(one, g, json_true());
			json_object_clear(pend);
			hp_pending(pend, hv, want, one);
			body = base_ok ? script(n->table, hv, want, one, false, n->defer, &hp) : NULL;
			if (body && apply(n, body, err, errlen) == 0) {
				commit_group(n, hv, g, hg, json_is_object(wg) ? wg : NULL, changed);
				hp_commit(n, pend);
			} else {
				r->groups_failed++;
				log_warn("proxy: service port %s refused by the kernel: %s", g,
					 base_ok ? err : first);
				/* Undo what this group's change assumed. */
				if (json_is_object(wg))
					group_ids(n, wg, false, hg);
			}
			json_decref(hgv);
			free(body);
		}
		json_decref(one);
		if (!base_ok)
			r->groups_failed++;
		n->read_kernel = !base_ok && n->read_kernel;
		snprintf(err, errlen, "%s", r->groups_failed ? first : "");
		rc = r->groups_failed ? -EIO : 0;
	}
	json_decref(pend);
	n->defer = false;
	buf_fini(&all);
	buf_fini(&pre);
	json_decref(hv);
	r->elements = n->elements;
	r->chains = n->chains;
	return rc;
}

int proxy_nft_sync(struct proxy_nft *n, const json_t *want, struct proxy_nft_result *r, char *err,
		   size_t errlen)
{
	json_t *changed = json_object();
	const char *g;
	json_t *gv;
	json_object_foreach((json_t *)want, g, gv)
	{
		json_t *st;
		if (!have_same(n, g, gv, &st))
			json_object_set_new(changed, g, st);
	}
	json_object_foreach(n->have, g, gv)
	{
		if (!json_object_get(want, g))
			json_object_set_new(changed, g, json_true());
	}
	int rc = sync_groups(n, want, changed, true, r, err, errlen);
	json_decref(changed);
	return rc;
}

int proxy_nft_sync_services(struct proxy_nft *n, const json_t *want, struct proxy_nft_result *r, char *err,
			    size_t errlen)
{
	if (n->read_kernel) {
		snprintf(err, errlen, "nft: a full sync must come first");
		return -EINVAL;
	}
	json_t *changed = json_object();
	const char *g;
	json_t *gv;
	json_object_foreach((json_t *)want, g, gv)
	{
		json_t *h = json_object_get(n->have, g), *st = NULL;
		if (json_is_null(gv) ? h != NULL : !have_same(n, g, gv, &st))
			json_object_set_new(changed, g, st ? st : json_true());
	}
	int rc = sync_groups(n, want, changed, false, r, err, errlen);
	json_decref(changed);
	return rc;
}

size_t proxy_nft_gc_pending(const struct proxy_nft *n)
{
	return n->gc_ids;
}

int proxy_nft_gc(struct proxy_nft *n, char *err, size_t errlen)
{
	if (!json_array_size(n->gc))
		return 0;
	struct buf b;
	buf_init(&b);
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t k = 0, i;
		json_t *v;
		json_array_foreach(n->gc, i, v)
		{
			if (json_integer_value(json_array_get(v, 0)) != fam)
				continue;
			json_t *blk = json_array_get(v, 1);
			uint32_t base = (uint32_t)json_integer_value(json_array_get(blk, 0));
			uint32_t cnt = (uint32_t)json_integer_value(json_array_get(blk, 1));
			for (uint32_t j = 0; j < cnt; j++)
				buf_printf(&b, "%s0x%06x",
					   k++ ? ", "
					       : (fam == 4 ? "delete element inet T backends4 { "
							   : "delete element inet T backends6 { "),
					   base + j);
		}
		if (k)
			buf_puts(&b, " }\n");
	}
	/* The table name goes in last (it is not known to the format above). */
	char *s = b.data ? b.data : xstrdup("");
	struct buf f;
	buf_init(&f);
	for (char *p = s; *p; p++) {
		if (!strncmp(p, "inet T ", 7)) {
			buf_printf(&f, "inet %s ", n->table);
			p += 6;
		} else {
			buf_putc(&f, *p);
		}
	}
	int rc = apply(n, f.data ? f.data : "", err, errlen);
	if (rc == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(n->gc, i, v)
		{
			json_t *blk = json_array_get(v, 1);
			ids_mark(n, (uint32_t)json_integer_value(json_array_get(blk, 0)),
				 (uint32_t)json_integer_value(json_array_get(blk, 1)), false);
		}
		json_array_clear(n->gc);
		n->gc_ids = 0;
	}
	buf_fini(&f);
	free(s);
	return rc;
}

bool proxy_nft_needs_full(const struct proxy_nft *n)
{
	return n->read_kernel;
}

const char *proxy_nft_last_script(const struct proxy_nft *n)
{
	return n->last ? n->last : "";
}

struct proxy_nft *proxy_nft_new(const char *table, bool dry)
{
	struct proxy_nft *n = xcalloc(1, sizeof(*n));
	n->table = xstrdup(table ? table : PROXY_NFT_TABLE);
	n->dry = dry;
	n->read_kernel = true;
	n->have = json_object();
	n->have_ids = json_object();
	n->svc_groups = json_object();
	n->hp_refs = json_object();
	n->gc = json_array();
	n->used = xcalloc(ID_SPACE / 8, 1);
	n->cursor = 1;
	return n;
}

void proxy_nft_free(struct proxy_nft *n)
{
	if (!n)
		return;
	if (n->ctx)
		nft_ctx_free(n->ctx);
	proxy_nftnl_free(n->nl);
	json_decref(n->kern);
	json_decref(n->have);
	json_decref(n->have_ids);
	json_decref(n->svc_groups);
	json_decref(n->hp_refs);
	json_decref(n->gc);
	free(n->used);
	free(n->last);
	free(n->table);
	free(n);
}
