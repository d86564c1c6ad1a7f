/* conntrack.c - one dump of the UDP conntrack table, deleting the entries that match. */
#include "proxy/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <string.h>

bool proxy_ct_matches(const struct proxy_ct_match *mt, const struct ip_addr *odst, uint16_t odport,
		      const struct ip_addr *rsrc, uint16_t rsport)
{
	if (mt->dport != odport)
		return false;
	if (!mt->any_dst && ip_cmp(&mt->dst, odst) != 0)
		return false;
	if (!mt->any_dst && mt->dst.family != odst->family)
		return false;
	if (mt->by_ep && (ip_cmp(&mt->ep, rsrc) != 0 || mt->ep_port != rsport))
		return false;
	return true;
}

struct walk {
	const struct proxy_ct_match *m;
	size_t n;
	struct nfct_handle *del;
	int deleted;
	size_t by_family[2];
};

static void addr_of(const struct nf_conntrack *ct, int fam, enum nf_conntrack_attr a4,
		    enum nf_conntrack_attr a6, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = fam;
	if (fam == 4)
		memcpy(out->b, nfct_get_attr(ct, a4), 4);
	else
		memcpy(out->b, nfct_get_attr(ct, a6), 16);
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct walk *w = data;
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_UDP)
		return NFCT_CB_CONTINUE;
	int fam = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET6 ? 6 : 4;
	struct ip_addr odst, rsrc;
	addr_of(ct, fam, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, &odst);
	addr_of(ct, fam, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &rsrc);
	uint16_t odport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	uint16_t rsport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	for (size_t i = 0; i < w->n; i++) {
		if (proxy_ct_matches(&w->m[i], &odst, odport, &rsrc, rsport)) {
			if (nfct_query(w->del, NFCT_Q_DESTROY, ct) == 0) {
				w->deleted++;
				w->by_family[fam == 6]++;
			}
			break;
		}
	}
	return NFCT_CB_CONTINUE;
}

int proxy_ct_delete_udp(const struct proxy_ct_match *m, size_t n, size_t by_family[2])
{
	if (!n)
		return 0;
	struct nfct_handle *h = nfct_open(CONNTRACK, 0), *del = nfct_open(CONNTRACK, 0);
	if (!h || !del) {
		int e = errno ? -errno : -EIO;
		if (h)
			nfct_close(h);
		if (del)
			nfct_close(del);
		return e;
	}
	struct walk w = {.m = m, .n = n, .del = del};
	nfct_callback_register(h, NFCT_T_ALL, on_entry, &w);
	int rc = 0;
	for (int fam = 0; fam < 2; fam++) {
		uint32_t family = fam ? AF_INET6 : AF_INET;
		if (nfct_query(h, NFCT_Q_DUMP, &family) < 0 && errno != ENOENT)
			rc = -errno;
	}
	nfct_close(h);
	nfct_close(del);
	if (by_family) {
		by_family[0] += w.by_family[0];
		by_family[1] += w.by_family[1];
	}
	return rc < 0 && !w.deleted ? rc : w.deleted;
}
