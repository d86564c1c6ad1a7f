/* ipt.c - the iptables backend (see ipt.h): kube-proxy's chains rendered per family as
 * iptables-restore input; a sync sends only the chains whose rules changed. */
#include "proxy/ipt.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"

#define MASQ_MARK "0x4000"
#define DROP_MARK "0x8000"

struct proxy_ipt {
	char *prefix;
	bool dry;
	bool jumps_done[2]; /* per family: the built-in chains jump to ours */
	/* Per family: {"filter"|"nat"|"raw": {chain: rules text}} as the kernel holds them;
	 * null for a chain of ours a refused restore may have left in any state (rewritten
	 * or deleted by the next restore). NULL before the first sync. */
	json_t *have[2];
	/* Per family: {"ns/name:port/proto": its chains and shared-chain rules} as applied;
	 * a service port the kernel refused keeps its previous entry (or none). */
	json_t *have_ports[2];
	size_t failed; /* service ports refused by the last sync */
	char *last;
};

/* kube-proxy's chain hash: the first 16 characters of base32(sha256(s)). */
static void hash16(const char *s, char out[17])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char h[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)s, strlen(s), h);
	/* 16 base32 characters = 80 bits = the first 10 bytes. */
	for (int i = 0; i < 16; i++) {
		int bit = i * 5, byte = bit / 8, off = bit % 8;
		unsigned v = ((unsigned)h[byte] << 8) | h[byte + 1];
		out[i] = b32[(v >> (11 - off)) & 31];
	}
	out[16] = 0;
}

static void chain_name(char *out, size_t len, const char *prefix, const char *kind, const char *seed)
{
	char h[17];
	hash16(seed, h);
	snprintf(out, len, "%s-%s-%s", prefix, kind, h);
}

struct render {
	const char *p;	/* prefix */
	json_t *tables; /* {"nat": {chain: text}, "filter": {...}} in order */
};

static void put(struct render *r, const char *table, const char *chain, struct buf *rules);

/* The raw chain that leaves DNS to the node-local addresses of family fam untracked:
 * queries to port 53, and with replies also the answers from it. */
static void local_dns_chain(struct render *r, struct buf *b, const char *chain, const struct proxy_netcfg *c,
			    int fam, bool replies)
{
	char ip[IP_STRLEN];
	const char *bits = fam == 4 ? "32" : "128";
	for (size_t i = 0; i < c->n_local_dns; i++) {
		if (c->local_dns[i].family != fam)
			continue;
		ip_format(&c->local_dns[i], ip, sizeof(ip));
		for (int d = 0; d < (replies ? 2 : 1); d++)
			buf_printf(b,
				   "-A %s -%c %s/%s -p udp -m udp --%cport 53 -j NOTRACK\n"
				   "-A %s -%c %s/%s -p tcp -m tcp --%cport 53 -j NOTRACK\n",
				   chain, d ? 's' : 'd', ip, bits, d ? 's' : 'd', chain, d ? 's' : 'd', ip,
				   bits, d ? 's' : 'd');
	}
	put(r, "raw", chain, b);
}

/* The filter rule for a node port on the node's addresses with no (kind "local ") endpoint
 * to send to: verdict DROP or REJECT. */
static void nodeport_refuse(struct render *r, struct buf *b, const char *chain, const char *comment,
			    const char *kind, const char *pr, uint16_t port, const char *verdict)
{
	buf_printf(
	    b,
	    "-A %s -m comment --comment \"%s has no %sendpoints\" -m addrtype --dst-type LOCAL -p %s -m "
	    "%s --dport %u -j %s\n",
	    chain, comment, kind, pr, pr, port, verdict);
	put(r, "filter", chain, b);
}

static void put(struct render *r, const char *table, const char *chain, struct buf *rules)
{
	json_t *t = json_object_get(r->tables, table);
	json_t *old = json_object_get(t, chain);
	if (old) {
		char *s = xasprintf("%s%s", json_string_value(old), rules->data ? rules->data : "");
		json_object_set_new(t, chain, json_string(s));
		free(s);
	} else {
		json_object_set_new(t, chain, json_string(rules->data ? rules->data : ""));
	}
	buf_reset(rules);
}

static const char *probability(size_t i, size_t n, char *buf, size_t len)
{
	/* kube-proxy: 1/(n-i), printed with 10 decimals */
	snprintf(buf, len, "%0.10f", 1.0 / (double)(n - i));
	return buf;
}

/* The endpoint chains of set idx[0..cnt) and the rules that choose among them. */
static void endpoints(struct render *r, struct buf *b, const char *from, const struct proxy_svcport *sp,
		      const char *spname, const size_t *idx, size_t cnt, int fam)
{
	const char *p = r->p, *pr = proxy_proto_name(sp->proto);
	int host = fam == 4 ? 32 : 128;
	char seps[cnt ? cnt : 1][64];
	for (size_t i = 0; i < cnt; i++) {
		char ip[IP_STRLEN], seed[700];
		ip_format(&sp->eps[idx[i]].ip, ip, sizeof(ip));
		snprintf(seed, sizeof(seed), "%s%s%s:%u", spname, pr, ip, sp->eps[idx[i]].port);
		chain_name(seps[i], sizeof(seps[i]), p, "SEP", seed);
		struct buf e;
		buf_init(&e);
		buf_printf(&e, "-A %s -s %s/%d -j %s-MARK-MASQ\n", seps[i], ip, host, p);
		if (sp->affinity_s)
			buf_printf(&e,
				   "-A %s -m recent --name %s --mask %s --rsource --set -p %s -m %s -j DNAT "
				   "--to-destination %s%s%s:%u\n",
				   seps[i], seps[i],
				   fam == 4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
				   pr, pr, fam == 6 ? "[" : "", ip, fam == 6 ? "]" : "",
				   sp->eps[idx[i]].port);
		else
			buf_printf(&e, "-A %s -p %s -m %s -j DNAT --to-destination %s%s%s:%u\n", seps[i], pr,
				   pr, fam == 6 ? "[" : "", ip, fam == 6 ? "]" : "", sp->eps[idx[i]].port);
		put(r, "nat", seps[i], &e);
		buf_fini(&e);
	}
	if (sp->affinity_s)
		for (size_t i = 0; i < cnt; i++)
			buf_printf(
			    b,
			    "-A %s -m recent --name %s --mask %s --rsource --rcheck --seconds %d --reap -j %s\n",
			    from, seps[i],
			    fam == 4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			    sp->affinity_s, seps[i]);
	for (size_t i = 0; i < cnt; i++) {
		char pb[32];
		if (i + 1 < cnt)
			buf_printf(b, "-A %s -m statistic --mode random --probability %s -j %s\n", from,
				   probability(i, cnt, pb, sizeof(pb)), seps[i]);
		else
			buf_printf(b, "-A %s -j %s\n", from, seps[i]);
	}
}

/* A Service address: to its chain in nat KUBE-SERVICES when it has endpoints, else a
 * REJECT in the filter chain rej. */
static void entry(struct render *r, struct buf *b, bool ok, const char *services, const char *rej,
		  const char *comment, const char *what, const char *ip, int host, const char *pr,
		  unsigned port, const char *to)
{
	if (ok) {
		buf_printf(b, "-A %s -m comment --comment \"%s %s\" -d %s/%d -p %s -m %s --dport %u -j %s\n",
			   services, comment, what, ip, host, pr, pr, port, to);
		put(r, "nat", services, b);
	} else {
		buf_printf(
		    b,
		    "-A %s -m comment --comment \"%s has no endpoints\" -d %s/%d -p %s -m %s --dport %u -j REJECT\n",
		    rej, comment, ip, host, pr, pr, port);
		put(r, "filter", rej, b);
	}
}

static void render_port(struct render *r, const struct proxy_svcport *sp, const struct proxy_netcfg *c)
{
	const char *p = r->p, *pr = proxy_proto_name(sp->proto);
	int fam = sp->family, host = fam == 4 ? 32 : 128;
	char spname[600], seed[700], svc[64], ext[64], fw[64], svl[64], ip[IP_STRLEN], cs[CIDR_STRLEN];
	char *n = proxy_svcport_name(sp);
	snprintf(spname, sizeof(spname), "%s", n);
	free(n);
	snprintf(seed, sizeof(seed), "%s%s", spname, pr);
	chain_name(svc, sizeof(svc), p, "SVC", seed);
	chain_name(ext, sizeof(ext), p, "EXT", seed);
	chain_name(fw, sizeof(fw), p, "FW", seed);
	chain_name(svl, sizeof(svl), p, "SVL", seed);
	const struct cidr *cc = NULL;
	for (size_t i = 0; i < c->n_cluster_cidrs; i++)
		if (c->cluster_cidrs[i].net.family == fam)
			cc = &c->cluster_cidrs[i];
	if (cc)
		cidr_format(cc, cs, sizeof(cs));
	struct buf b;
	buf_init(&b);
	bool has_cluster = sp->n_cluster > 0, has_local = sp->n_local > 0;
	bool ext_ok = sp->etp_local ? (has_local || has_cluster) : has_cluster;
	const char *comment = spname;
	if (has_cluster) {
		if (cc && sp->has_cluster_ip)
			buf_printf(&b, "-A %s ! -s %s -d %s/%d -p %s -m %s --dport %u -j %s-MARK-MASQ\n", svc,
				   cs, ip_format(&sp->cluster_ip, ip, sizeof(ip)), host, pr, pr, sp->port, p);
		endpoints(r, &b, svc, sp, spname, sp->cluster_eps, sp->n_cluster, fam);
		put(r, "nat", svc, &b);
	}
	bool has_ext = sp->node_port || sp->n_external;
	if (has_ext && ext_ok) {
		if (!sp->etp_local) {
			buf_printf(&b, "-A %s -j %s-MARK-MASQ\n-A %s -j %s\n", ext, p, ext, svc);
		} else {
			if (cc && has_cluster)
				buf_printf(&b, "-A %s -s %s -j %s\n", ext, cs, svc);
			if (has_cluster)
				buf_printf(&b,
					   "-A %s -m addrtype --src-type LOCAL -j %s-MARK-MASQ\n"
					   "-A %s -m addrtype --src-type LOCAL -j %s\n",
					   ext, p, ext, svc);
			if (has_local) {
				buf_printf(&b, "-A %s -j %s\n", ext, svl);
				struct buf l;
				buf_init(&l);
				endpoints(r, &l, svl, sp, spname, sp->local_eps, sp->n_local, fam);
				put(r, "nat", svl, &l);
				buf_fini(&l);
			}
		}
		put(r, "nat", ext, &b);
	}
	/* KUBE-SERVICES and KUBE-NODEPORTS entries, filter rejections. */
	char services[64], nodeports[64], fsvc[64], fext[64];
	snprintf(services, sizeof(services), "%s-SERVICES", p);
	snprintf(nodeports, sizeof(nodeports), "%s-NODEPORTS", p);
	snprintf(fsvc, sizeof(fsvc), "%s-SERVICES", p);
	snprintf(fext, sizeof(fext), "%s-EXTERNAL-SERVICES", p);
	if (sp->has_cluster_ip) {
		ip_format(&sp->cluster_ip, ip, sizeof(ip));
		entry(r, &b, has_cluster, services, fsvc, comment, "cluster IP", ip, host, pr, sp->port, svc);
	}
	for (size_t i = 0; i < sp->n_external; i++) {
		ip_format(&sp->external_ips[i], ip, sizeof(ip));
		bool is_lb = i >= sp->n_external - sp->n_lb;
		entry(r, &b, ext_ok, services, fext, comment, is_lb ? "loadbalancer IP" : "external IP", ip,
		      host, pr, sp->port, is_lb && sp->n_src_ranges ? fw : ext);
	}
	if (sp->n_src_ranges && sp->n_lb && ext_ok) {
		for (size_t i = 0; i < sp->n_src_ranges; i++)
			buf_printf(&b, "-A %s -s %s -j %s\n", fw,
				   cidr_format(&sp->src_ranges[i], cs, sizeof(cs)), ext);
		buf_printf(&b, "-A %s -j %s-MARK-DROP\n", fw, p);
		put(r, "nat", fw, &b);
	}
	if (sp->node_port) {
		if (ext_ok) {
			buf_printf(&b, "-A %s -m comment --comment \"%s\" -p %s -m %s --dport %u -j %s\n",
				   nodeports, comment, pr, pr, sp->node_port, ext);
			put(r, "nat", nodeports, &b);
			if (sp->etp_local && !has_local)
				nodeport_refuse(r, &b, fext, comment, "local ", pr, sp->node_port, "DROP");
		} else {
			nodeport_refuse(r, &b, fext, comment, "", pr, sp->node_port, "REJECT");
		}
	}
	buf_fini(&b);
}

/* The fixed chains of one family, before any service port's rules. */
static json_t *base_tables(const char *p, const struct proxy_netcfg *c, int fam)
{
	struct render r = {.p = p, .tables = json_pack("{s:{},s:{},s:{}}", "nat", "filter", "raw")};
	struct buf b;
	buf_init(&b);
	/* Fixed chains first, so they come first in the restore input. */
	/* SVCPLANE: an empty chain that marks the chains as ours, so --cleanup never touches
	 * a real kube-proxy's. */
	const char *fixed_nat[] = {"SERVICES",	"NODEPORTS", "POSTROUTING",
				   "MARK-MASQ", "MARK-DROP", "SVCPLANE"};
	for (size_t i = 0; i < 6; i++) {
		char n[64];
		snprintf(n, sizeof(n), "%s-%s", p, fixed_nat[i]);
		json_object_set_new(json_object_get(r.tables, "nat"), n, json_string(""));
	}
	const char *fixed_filter[] = {"SERVICES", "EXTERNAL-SERVICES", "FIREWALL"};
	for (size_t i = 0; i < 3; i++) {
		char n[64];
		snprintf(n, sizeof(n), "%s-%s", p, fixed_filter[i]);
		json_object_set_new(json_object_get(r.tables, "filter"), n, json_string(""));
	}
	char n[64];
	snprintf(n, sizeof(n), "%s-POSTROUTING", p);
	buf_printf(
	    &b,
	    "-A %s -m mark ! --mark " MASQ_MARK "/" MASQ_MARK
	    " -j RETURN\n-A %s -j MARK --xor-mark " MASQ_MARK
	    "\n-A %s -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE\n",
	    n, n, n);
	put(&r, "nat", n, &b);
	snprintf(n, sizeof(n), "%s-MARK-MASQ", p);
	buf_printf(&b, "-A %s -j MARK --or-mark " MASQ_MARK "\n", n);
	put(&r, "nat", n, &b);
	snprintf(n, sizeof(n), "%s-MARK-DROP", p);
	buf_printf(&b, "-A %s -j MARK --or-mark " DROP_MARK "\n", n);
	put(&r, "nat", n, &b);
	snprintf(n, sizeof(n), "%s-FIREWALL", p);
	buf_printf(&b, "-A %s -m mark --mark " DROP_MARK "/" DROP_MARK " -j DROP\n", n);
	if (fam == 4 && c->localhost_nodeports)
		buf_printf(
		    &b,
		    "-A %s -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s "
		    "127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n",
		    n);
	put(&r, "filter", n, &b);
	/* Node-local DNS: no NAT for port 53 at its address (NodeLocal DNSCache's NOTRACK in
	 * the raw table), so a local pod's query reaches the node's own server; replies from
	 * it are untracked too. Same rules as the nftables backend's raw chains. */
	snprintf(n, sizeof(n), "%s-LOCAL-DNS", p);
	local_dns_chain(&r, &b, n, c, fam, false);
	snprintf(n, sizeof(n), "%s-LOCAL-DNS-OUT", p);
	local_dns_chain(&r, &b, n, c, fam, true);
	buf_fini(&b);
	return r.tables;
}

/* One service port's own chains and its rules in the shared chains (KUBE-SERVICES,
 * KUBE-NODEPORTS, filter rejections), as {"nat": {...}, "filter": {...}}: the unit a
 * refused restore is narrowed down to. */
static json_t *port_tables(const char *p, const struct proxy_svcport *sp, const struct proxy_netcfg *c)
{
	struct render r = {.p = p, .tables = json_pack("{s:{},s:{}}", "nat", "filter")};
	render_port(&r, sp, c);
	return r.tables;
}

/* A chain several service ports add rules to (KUBE-SERVICES...), built in a buffer: an
 * append per port by re-copying the text would cost O(ports^2) at 10,000 Services. */
struct shared {
	const char *table, *chain; /* borrowed from the tables being assembled */
	struct buf text;
};

/* Every chain of one family from its service ports' parts ({key: part}, in order): the
 * fixed chains, each port's chains, the rules of the shared ones in port order. */
static json_t *assemble(const char *p, const struct proxy_netcfg *c, int fam, const json_t *ports)
{
	json_t *tables = base_tables(p, c, fam);
	json_t *where = json_object(); /* "table chain" -> index in sh */
	VEC(struct shared) sh = {0};
	const char *k, *tn, *cn;
	json_t *part, *pt, *rules;
	json_object_foreach((json_t *)ports, k, part)
	{
		json_object_foreach(part, tn, pt)
		{
			json_t *t = json_object_get(tables, tn);
			json_object_foreach(pt, cn, rules)
			{
				json_t *old = json_object_get(t, cn);
				if (!old) {
					json_object_set(t, cn, rules);
					continue;
				}
				char *wk = xasprintf("%s %s", tn, cn);
				json_t *wi = json_object_get(where, wk);
				struct shared *x;
				if (wi) {
					x = &sh.v[json_integer_value(wi)];
				} else {
					json_object_set_new(where, wk, json_integer((json_int_t)sh.len));
					x = vec_push(&sh);
					x->table = tn;
					x->chain = json_object_iter_key(json_object_iter_at(t, cn));
					buf_init(&x->text);
					buf_puts(&x->text, json_string_value(old));
				}
				free(wk);
				buf_puts(&x->text, json_string_value(rules));
			}
		}
	}
	for (size_t i = 0; i < sh.len; i++) {
		json_object_set_new(
		    json_object_get(tables, sh.v[i].table), sh.v[i].chain,
		    json_stringn(sh.v[i].text.data ? sh.v[i].text.data : "", sh.v[i].text.len));
		buf_fini(&sh.v[i].text);
	}
	vec_free(&sh);
	json_decref(where);
	struct buf b;
	buf_init(&b);
	char n[64], cs[CIDR_STRLEN];
	/* Node ports last in KUBE-SERVICES, as kube-proxy. */
	snprintf(n, sizeof(n), "%s-SERVICES", p);
	if (c->n_nodeport_cidrs) {
		for (size_t i = 0; i < c->n_nodeport_cidrs; i++)
			if (c->nodeport_cidrs[i].net.family == fam)
				buf_printf(&b, "-A %s -d %s -m addrtype --dst-type LOCAL -j %s-NODEPORTS\n",
					   n, cidr_format(&c->nodeport_cidrs[i], cs, sizeof(cs)), p);
	} else if (fam == 4 && !c->localhost_nodeports) {
		buf_printf(&b, "-A %s ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j %s-NODEPORTS\n", n, p);
	} else {
		buf_printf(&b, "-A %s -m addrtype --dst-type LOCAL -j %s-NODEPORTS\n", n, p);
	}
	struct render r = {.p = p, .tables = tables};
	put(&r, "nat", n, &b);
	buf_fini(&b);
	return tables;
}

/* The parts of the model's service ports of family fam: {"ns/name:port/proto": part}. */
static json_t *port_parts(const char *p, const struct proxy_model *m, const struct proxy_netcfg *c, int fam)
{
	json_t *parts = json_object();
	for (size_t i = 0; i < m->n; i++) {
		const struct proxy_svcport *sp = &m->ports[i];
		if (sp->family != fam)
			continue;
		char *n = proxy_svcport_name(sp);
		char *k = xasprintf("%s/%s", n, proxy_proto_name(sp->proto));
		json_object_set_new(parts, k, port_tables(p, sp, c));
		free(k);
		free(n);
	}
	return parts;
}

/* Every chain of one family: {"nat": {...}, "filter": {...}, "raw": {...}}. */
static json_t *render_tables(const char *p, const struct proxy_model *m, const struct proxy_netcfg *c,
			     int fam)
{
	json_t *parts = port_parts(p, m, c, fam);
	json_t *t = assemble(p, c, fam, parts);
	json_decref(parts);
	return t;
}

/* The restore input that takes the kernel from have (NULL: nothing of ours) to want. */
static char *restore_input(const json_t *have, const json_t *want)
{
	struct buf b;
	buf_init(&b);
	const char *tables[] = {"filter", "nat", "raw"};
	for (int t = 0; t < 3; t++) {
		const json_t *w = json_object_get(want, tables[t]), *h = json_object_get(have, tables[t]);
		struct buf decl, body, del;
		buf_init(&decl);
		buf_init(&body);
		buf_init(&del);
		const char *name;
		json_t *v;
		json_object_foreach((json_t *)w, name, v)
		{
			const char *text = json_string_value(v);
			json_t *old = json_object_get(h, name);
			if (old && json_equal(old, v))
				continue;
			/* Declaring a chain with --noflush empties it. */
			buf_printf(&decl, ":%s - [0:0]\n", name);
			buf_puts(&body, text);
		}
		json_object_foreach((json_t *)h, name, v)
		{
			if (json_object_get(w, name))
				continue;
			buf_printf(&decl, ":%s - [0:0]\n", name);
			buf_printf(&del, "-X %s\n", name);
		}
		if (decl.data) {
			buf_printf(&b, "*%s\n%s%s%sCOMMIT\n", tables[t], decl.data,
				   body.data ? body.data : "", del.data ? del.data : "");
		}
		buf_fini(&decl);
		buf_fini(&body);
		buf_fini(&del);
	}
	return b.data ? buf_take(&b) : xstrdup("");
}

/* The chains and rules of tables (chains of unknown state not counted). */
/* Adds the chains of one table (name -> its rules, one a line) and their rules. */
static void count_table(const json_t *table, size_t *rules, size_t *chains)
{
	const char *cn;
	json_t *v;
	json_object_foreach((json_t *)table, cn, v)
	{
		const char *text = json_string_value(v);
		if (!text)
			continue;
		(*chains)++;
		for (const char *q = text; *q; q++)
			*rules += *q == '\n';
	}
}

static void count(const json_t *tables, size_t *rules, size_t *chains)
{
	const char *tn;
	json_t *t;
	json_object_foreach((json_t *)tables, tn, t) count_table(t, rules, chains);
}

char *proxy_ipt_render(const char *prefix, const struct proxy_model *m, const struct proxy_netcfg *c, int fam)
{
	json_t *t = render_tables(prefix ? prefix : "KUBE", m, c, fam);
	char *s = restore_input(NULL, t);
	json_decref(t);
	return s;
}

/* Runs argv with input on stdin; its stderr into err. */
static int run_tool(char *const argv[], const char *input, char *err, size_t errlen)
{
	int in[2], er[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(er, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(in[0]);
		close(in[1]);
		close(er[0]);
		close(er[1]);
		return e;
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(er[1], 2);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(er[1]);
	size_t len = input ? strlen(input) : 0, off = 0;
	while (off < len) {
		ssize_t w = write(in[1], input + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	size_t got = 0;
	if (errlen)
		err[0] = 0;
	for (;;) {
		char tmp[512];
		ssize_t n = read(er[0], tmp, sizeof(tmp));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && got + 1 < errlen; i++)
			err[got++] = tmp[i];
		if (errlen)
			err[got] = 0;
	}
	close(er[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	while (got && (err[got - 1] == '\n' || err[got - 1] == ' '))
		err[--got] = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* iptables or ip6tables (+ suffix); SVCPLANE_IPTABLES=legacy picks the legacy (x_tables)
 * variants, as the benches compare both. */
static void tool_name(char *out, size_t len, int fam, const char *suffix)
{
	const char *v = getenv("SVCPLANE_IPTABLES");
	snprintf(out, len, "%s%s%s", fam == 4 ? "iptables" : "ip6tables",
		 v && !strcmp(v, "legacy") ? "-legacy" : "", suffix);
}

/* The jumps from the built-in chains into ours, made once (checked with -C). */
static void ensure_jumps(const char *p, int fam)
{
	char tool[32];
	tool_name(tool, sizeof(tool), fam, "");
	struct {
		const char *table, *chain, *args;
	} j[] = {
	    {"nat", "PREROUTING", "SERVICES"},		{"nat", "OUTPUT", "SERVICES"},
	    {"nat", "POSTROUTING", "POSTROUTING"},	{"filter", "INPUT", "FIREWALL"},
	    {"filter", "OUTPUT", "FIREWALL"},		{"filter", "FORWARD", "SERVICES"},
	    {"filter", "OUTPUT", "SERVICES"},		{"filter", "INPUT", "EXTERNAL-SERVICES"},
	    {"filter", "FORWARD", "EXTERNAL-SERVICES"}, {"raw", "PREROUTING", "LOCAL-DNS"},
	    {"raw", "OUTPUT", "LOCAL-DNS-OUT"},
	};
	for (size_t i = 0; i < sizeof(j) / sizeof(j[0]); i++) {
		char to[64], err[256];
		snprintf(to, sizeof(to), "%s-%s", p, j[i].args);
		bool ctnew = !strcmp(j[i].table, "filter") && strcmp(j[i].args, "FIREWALL");
		char *argv[16];
		int a = 0;
		argv[a++] = (char *)tool;
		argv[a++] = "-w";
		argv[a++] = "-t";
		argv[a++] = (char *)j[i].table;
		argv[a++] = "-C";
		argv[a++] = (char *)j[i].chain;
		if (ctnew) {
			argv[a++] = "-m";
			argv[a++] = "conntrack";
			argv[a++] = "--ctstate";
			argv[a++] = "NEW";
		}
		argv[a++] = "-j";
		argv[a++] = to;
		argv[a] = NULL;
		if (run_tool(argv, NULL, err, sizeof(err)) == 0)
			continue;
		argv[4] = "-I";
		if (run_tool(argv, NULL, err, sizeof(err)) < 0)
			log_warn("proxy: %s -t %s -I %s -j %s: %s", tool, j[i].table, j[i].chain, to, err);
	}
}

/* One family's sync in progress: what it wants, and where a refused restore is narrowed
 * down to the service ports the kernel refuses. */
struct fsync {
	struct proxy_ipt *t;
	const struct proxy_netcfg *c;
	int k, fam;
	const json_t *want_ports; /* {key: part} the model wants */
	json_t *done;		  /* keys whose wanted part is now applied */
	struct buf *log;	  /* every restore input sent (proxy_ipt_last_input) */
	char *err;
	size_t errlen;
};

/* The service ports as they are once the changes in done are applied: a port's wanted
 * part when done holds it, else its applied part (none for a port not yet programmed;
 * kept for a port no longer wanted). */
static json_t *parts_with(const struct fsync *f)
{
	json_t *out = json_object(), *have = f->t->have_ports[f->k];
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)f->want_ports, k, v)
	{
		if (json_object_get(f->done, k))
			json_object_set(out, k, v);
		else if (json_object_get(have, k))
			json_object_set(out, k, json_object_get(have, k));
	}
	json_object_foreach(have, k, v)
	{
		if (!json_object_get(f->want_ports, k) && !json_object_get(f->done, k))
			json_object_set(out, k, v);
	}
	return out;
}

/* After a refused restore of in: every chain of ours it declared may hold anything now
 * (a restore commits table by table), so the next restore rewrites or deletes it. A
 * chain it would have created is not taken as ours: the refusal is often that very
 * chain (a name already taken), which a declaration to delete it would hit again.
 * (Only a table committed before the refused one could keep such a chain, and the
 * per-port chains are all in nat, whose only successor is raw's fixed chains.) */
static void forget_declared(json_t *have, const char *in)
{
	json_t *t = NULL;
	for (const char *l = in; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (*l == '*') {
			char *tn = xstrndup(l + 1, len - 1);
			t = json_object_get(have, tn);
			free(tn);
		} else if (*l == ':' && t) {
			const char *sp = memchr(l, ' ', len);
			char *cn = xstrndup(l + 1, (sp ? (size_t)(sp - l) : len) - 1);
			if (json_object_get(t, cn))
				json_object_set_new(t, cn, json_null());
			free(cn);
		}
		l = e ? e + 1 : l + len;
	}
}

/* Sends the restore that takes the kernel to the service ports of parts_with(f); on
 * success that is the applied state. 0 or -EIO (err holds the tool's message). */
static int try_apply(struct fsync *f, const char *why)
{
	struct proxy_ipt *t = f->t;
	json_t *ports = parts_with(f);
	json_t *want = assemble(t->prefix, f->c, f->fam, ports);
	char *in = restore_input(t->have[f->k], want);
	buf_printf(f->log, "# IPv%d%s\n%s", f->fam, why, in);
	int rc = 0;
	if (!t->dry && *in) {
		char restore[48];
		tool_name(restore, sizeof(restore), f->fam, "-restore");
		char *argv[] = {restore, "-w", "--noflush", NULL};
		rc = run_tool(argv, in, f->err, f->errlen);
		/* Our chains must exist before the jumps to them. */
		if (rc == 0 && !t->jumps_done[f->k]) {
			ensure_jumps(t->prefix, f->fam);
			t->jumps_done[f->k] = true;
		}
	}
	if (rc == 0) {
		json_decref(t->have[f->k]);
		t->have[f->k] = want;
		json_decref(t->have_ports[f->k]);
		t->have_ports[f->k] = ports;
	} else {
		forget_declared(t->have[f->k], in);
		json_decref(want);
		json_decref(ports);
	}
	free(in);
	return rc;
}

/* Applies the changes of keys[lo, hi) together, or, refused, each half on its own down to
 * the single service ports the kernel refuses (they keep their applied state): one
 * refused port costs about 2 log2(changes) restores. */
static void narrow(struct fsync *f, char **keys, size_t lo, size_t hi, const char *first)
{
	for (size_t i = lo; i < hi; i++)
		json_object_set_new(f->done, keys[i], json_true());
	if (try_apply(f, " (isolating a refused service port)") == 0)
		return;
	for (size_t i = lo; i < hi; i++)
		json_object_del(f->done, keys[i]);
	if (hi - lo > 1) {
		narrow(f, keys, lo, lo + (hi - lo) / 2, first);
		narrow(f, keys, lo + (hi - lo) / 2, hi, first);
		return;
	}
	f->t->failed++;
	log_warn("proxy: iptables: service port %s refused: %s", keys[lo], *f->err ? f->err : first);
}

/* One family: the changed chains in one restore; refused, the fixed chains alone, then
 * the changed service ports narrowed down, so one service port the kernel refuses never
 * blocks the others (it is retried at the next sync). */
static int sync_family(struct proxy_ipt *t, const struct proxy_model *m, const struct proxy_netcfg *c,
		       int fam, struct buf *log, char *err, size_t errlen)
{
	int k = fam == 6;
	if (!t->have[k])
		t->have[k] = json_object();
	if (!t->have_ports[k])
		t->have_ports[k] = json_object();
	json_t *want_ports = port_parts(t->prefix, m, c, fam);
	struct fsync f = {.t = t,
			  .c = c,
			  .k = k,
			  .fam = fam,
			  .want_ports = want_ports,
			  .done = json_object(),
			  .log = log,
			  .err = err,
			  .errlen = errlen};
	/* The ports whose part changed, in the model's order, then those removed. */
	size_t n = 0, cap = json_object_size(want_ports) + json_object_size(t->have_ports[k]);
	/* Copies: a restore that succeeds replaces have_ports, which holds the removed keys. */
	char **keys = xcalloc(cap ? cap : 1, sizeof(*keys));
	const char *key;
	json_t *v;
	json_object_foreach(want_ports, key, v)
	{
		json_object_set_new(f.done, key, json_true());
		if (!json_equal(v, json_object_get(t->have_ports[k], key)))
			keys[n++] = xstrdup(key);
	}
	json_object_foreach(t->have_ports[k], key, v)
	{
		if (!json_object_get(want_ports, key)) {
			json_object_set_new(f.done, key, json_true());
			keys[n++] = xstrdup(key);
		}
	}
	int rc = try_apply(&f, "");
	if (rc < 0) {
		char first[512];
		snprintf(first, sizeof(first), "%s", err);
		log_warn(
		    "proxy: iptables-restore refused the sync (%s); narrowing it down to the service ports "
		    "refused",
		    first);
		json_object_clear(f.done);
		size_t before = t->failed;
		if (try_apply(&f, " (fixed chains alone)") == 0)
			narrow(&f, keys, 0, n, first);
		else
			t->failed += n ? n : 1;
		snprintf(
		    err, errlen,
		    "%zu of %zu changed IPv%d service port(s) refused (the others are programmed): %.400s",
		    t->failed - before, n, fam, first);
		rc = t->failed > before ? -EIO : 0;
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	json_decref(f.done);
	json_decref(want_ports);
	return rc;
}

int proxy_ipt_sync(struct proxy_ipt *t, const struct proxy_model *m, const struct proxy_netcfg *c,
		   size_t *rules, size_t *chains, char *err, size_t errlen)
{
	*rules = *chains = 0;
	t->failed = 0;
	free(t->last);
	t->last = NULL;
	struct buf all;
	buf_init(&all);
	int rc = 0;
	char ferr[512];
	for (int k = 0; k < 2; k++) {
		int fam = k ? 6 : 4;
		if (fam == 6 && !t->dry && access("/proc/net/if_inet6", F_OK) != 0)
			continue;
		int frc = sync_family(t, m, c, fam, &all, ferr, sizeof(ferr));
		if (frc < 0 && rc == 0) {
			rc = frc;
			snprintf(err, errlen, "%s", ferr);
		}
		count(t->have[k], rules, chains);
	}
	t->last = all.data ? buf_take(&all) : xstrdup("");
	buf_fini(&all);
	return rc;
}

size_t proxy_ipt_rules(const struct proxy_ipt *t, int fam, const char *table)
{
	size_t rules = 0, chains = 0;
	count_table(json_object_get(t->have[fam == 6], table), &rules, &chains);
	return rules;
}

size_t proxy_ipt_failed(const struct proxy_ipt *t)
{
	return t->failed;
}

struct proxy_ipt *proxy_ipt_new(const char *prefix, bool dry)
{
	struct proxy_ipt *t = xcalloc(1, sizeof(*t));
	t->prefix = xstrdup(prefix ? prefix : "KUBE");
	t->dry = dry;
	return t;
}

void proxy_ipt_free(struct proxy_ipt *t)
{
	if (!t)
		return;
	for (int k = 0; k < 2; k++) {
		json_decref(t->have[k]);
		json_decref(t->have_ports[k]);
	}
	free(t->prefix);
	free(t->last);
	free(t);
}

const char *proxy_ipt_last_input(const struct proxy_ipt *t)
{
	return t->last ? t->last : "";
}

int proxy_ipt_cleanup(const char *prefix, char *err, size_t errlen)
{
	/* Only when iptables exists and holds our chains (the marker chain): remove the
	 * jumps, then flush and delete every chain with our prefix. */
	const char *p = prefix ? prefix : "KUBE";
	if (access("/usr/sbin/iptables", X_OK) != 0 && access("/sbin/iptables", X_OK) != 0)
		return 0;
	char *script = xasprintf(
	    "for t in iptables ip6tables; do $t-save -t nat 2>/dev/null | grep -q '^:%s-SVCPLANE ' || continue; "
	    "for tb in nat filter raw; do "
	    "$t-save -t $tb 2>/dev/null | grep -E '^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) .*-j %s-' | "
	    "sed 's/^-A/-D/' | while read -r r; do eval $t -w -t $tb $r; done; "
	    "for c in $($t-save -t $tb 2>/dev/null | sed -n 's/^:\\(%s-[^ ]*\\).*/\\1/p'); do $t -w -t $tb -F $c; done; "
	    "for c in $($t-save -t $tb 2>/dev/null | sed -n 's/^:\\(%s-[^ ]*\\).*/\\1/p'); do $t -w -t $tb -X $c; done; "
	    "done; done",
	    p, p, p, p);
	char *argv[] = {"sh", "-c", script, NULL};
	int rc = run_tool(argv, NULL, err, errlen);
	free(script);
	return rc;
}
