/* nftnl.c - element-only nftables transactions encoded straight to netlink (see
 * nftnl.h): a pure encoder from nft.c's element commands to one batch, and the socket
 * that sends it and reads the kernel's answer. */
#include "proxy/nftnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/cidr.h"
#include "base/mem.h"
#include "base/vec.h"

/* A message is closed after 256 elements or 32 KiB, whichever comes first: the elements
 * nest's length is 16 bits, and one element (a 64-byte key at most, a value or a chain
 * name of at most 255 bytes, headers) is under 512 bytes, so a message never outgrows
 * the room reserved for it. */
#define ELEMS_PER_MSG 256
#define MSG_FILL 32768
#define MSG_ROOM 65536
#define FIELD_MAX 64

/* Where a message of the batch came from, to name it in an error. */
struct msgref {
	uint32_t seq;
	bool add;
	char map[64];
};

/* The messages of one batch, in order (NULL when the caller does not name errors). */
struct msgrefs {
	VEC(struct msgref) r;
};

struct proxy_nftnl {
	struct mnl_socket *nl;
	uint32_t seq;
};

/* One " . "-separated field into out (4-byte aligned); *prev tells what came before
 * (0 nothing, 'a' address, 'p' protocol, 'n' other). 0 or -ENOTSUP. */
static int field(const char *s, size_t l, uint8_t *out, size_t *len, char *prev)
{
	char tok[64];
	if (l == 0 || l >= sizeof(tok) || *len + 16 > FIELD_MAX)
		return -ENOTSUP;
	memcpy(tok, s, l);
	tok[l] = 0;
	uint8_t *p = out + *len;
	if (strchr(tok, ':') && inet_pton(AF_INET6, tok, p) == 1) {
		*len += 16;
		*prev = 'a';
		return 0;
	}
	if (strchr(tok, '.') && inet_pton(AF_INET, tok, p) == 1) {
		*len += 4;
		*prev = 'a';
		return 0;
	}
	int proto = !strcmp(tok, "tcp") ? 6 : !strcmp(tok, "udp") ? 17 : !strcmp(tok, "sctp") ? 132 : -1;
	if (proto > 0) {
		memset(p, 0, 4);
		p[0] = (uint8_t)proto;
		*len += 4;
		*prev = 'p';
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(tok, &end, 0);
	if (*end || errno || v > UINT32_MAX || tok[0] == '-')
		return -ENOTSUP;
	memset(p, 0, 4);
	bool hex = tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
	if ((*prev == 'p' || *prev == 'a') && !hex) {
		/* A port: network order, as `th dport` loads it. */
		if (v > 65535)
			return -ENOTSUP;
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	} else {
		/* numgen's result and marks are host-order 32-bit integers. */
		uint32_t h = (uint32_t)v;
		memcpy(p, &h, 4);
	}
	*len += 4;
	*prev = 'n';
	return 0;
}

/* A whole key or value ("f . f . f"). A value must start with an address (the data
 * maps here map to address . port): a bare number could be a port or a mark, whose
 * layouts differ, so such a map is left to libnftables. */
static int fields(const char *s, size_t l, uint8_t *out, size_t *len, bool value)
{
	char prev = 0;
	*len = 0;
	const char *start = s, *end = s + l;
	while (s < end) {
		const char *dot = memmem(s, (size_t)(end - s), " . ", 3);
		size_t fl = dot ? (size_t)(dot - s) : (size_t)(end - s);
		int rc = field(s, fl, out, len, &prev);
		if (rc)
			return rc;
		if (value && s == start && prev != 'a')
			return -ENOTSUP;
		s += fl + (dot ? 3 : 0);
	}
	return *len ? 0 : -ENOTSUP;
}

static void put_data(struct nlmsghdr *nlh, uint16_t type, const uint8_t *d, size_t len)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, d);
	mnl_attr_nest_end(nlh, n);
}

/* One element ("K" or "K : V") into the open elements nest. */
static int element(struct nlmsghdr *nlh, const char *s, size_t l, bool add)
{
	const char *colon = add ? memmem(s, l, " : ", 3) : NULL;
	size_t kl = colon ? (size_t)(colon - s) : l;
	uint8_t k[FIELD_MAX], v[FIELD_MAX];
	size_t klen, vlen = 0;
	int rc = fields(s, kl, k, &klen, false);
	if (rc)
		return rc;
	const char *vs = colon ? colon + 3 : NULL;
	size_t vl = colon ? l - kl - 3 : 0;
	int verdict = 0;
	char chain[256];
	if (vs) {
		if (vl > 5 && !strncmp(vs, "goto ", 5))
			verdict = NFT_GOTO;
		else if (vl > 5 && !strncmp(vs, "jump ", 5))
			verdict = NFT_JUMP;
		if (verdict) {
			if (vl - 5 >= sizeof(chain))
				return -ENOTSUP;
			memcpy(chain, vs + 5, vl - 5);
			chain[vl - 5] = 0;
		} else if ((rc = fields(vs, vl, v, &vlen, true)) != 0) {
			return rc;
		}
	}
	struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	put_data(nlh, NFTA_SET_ELEM_KEY, k, klen);
	if (verdict) {
		struct nlattr *d = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
		struct nlattr *vd = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
		mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)verdict));
		mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
		mnl_attr_nest_end(nlh, vd);
		mnl_attr_nest_end(nlh, d);
	} else if (vlen) {
		put_data(nlh, NFTA_SET_ELEM_DATA, v, vlen);
	}
	mnl_attr_nest_end(nlh, e);
	return 0;
}

/* Room for one more message at the end of out. */
static struct nlmsghdr *msg_room(struct buf *out)
{
	buf_reserve(out, MSG_ROOM);
	return (struct nlmsghdr *)(out->data + out->len);
}

static void msg_done(struct buf *out, struct nlmsghdr *nlh)
{
	out->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Opens a NEWSETELEM/DELSETELEM message for map in table. */
static struct nlmsghdr *elems_open(struct buf *out, bool add, const char *table, const char *map,
				   uint32_t seq, struct nlattr **nest)
{
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr((char *)msg_room(out), add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				  NFPROTO_INET, add ? NLM_F_CREATE : 0, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, map);
	*nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	return nlh;
}

static int encode(const char *script, struct buf *out, uint32_t *seq, uint32_t *last_seq, char *err,
		  size_t errlen, struct msgrefs *refs)
{
	size_t start = out->len;
	size_t last = SIZE_MAX; /* offset of the last message (the buffer may move) */
	nftnl_batch_begin((char *)msg_room(out), (*seq)++);
	out->len += NLMSG_ALIGN(((struct nlmsghdr *)(out->data + out->len))->nlmsg_len);
	int lineno = 0;
	for (const char *p = script; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		const char *line = p;
		p += l + (nl ? 1 : 0);
		lineno++;
		if (!l)
			continue;
		bool add = !strncmp(line, "add element inet ", 17);
		if (!add && strncmp(line, "delete element inet ", 20))
			goto unsupported;
		const char *q = line + (add ? 17 : 20), *le = line + l;
		char table[64], map[64];
		const char *sp = memchr(q, ' ', (size_t)(le - q));
		if (!sp || (size_t)(sp - q) >= sizeof(table))
			goto unsupported;
		memcpy(table, q, (size_t)(sp - q));
		table[sp - q] = 0;
		q = sp + 1;
		sp = memchr(q, ' ', (size_t)(le - q));
		if (!sp || (size_t)(sp - q) >= sizeof(map))
			goto unsupported;
		memcpy(map, q, (size_t)(sp - q));
		map[sp - q] = 0;
		q = sp + 1;
		if (le - q < 4 || strncmp(q, "{ ", 2) || strncmp(le - 2, " }", 2)) {
			snprintf(err, errlen, "nftables: line %d: not an element list", lineno);
			out->len = start;
			return -EINVAL;
		}
		q += 2;
		le -= 2;
		struct nlattr *nest;
		struct nlmsghdr *nlh = NULL;
		size_t in_msg = 0;
		while (q < le) {
			if (!nlh) {
				if (refs) {
					struct msgref *r = vec_push(&refs->r);
					r->seq = *seq;
					r->add = add;
					snprintf(r->map, sizeof(r->map), "%s", map);
				}
				nlh = elems_open(out, add, table, map, (*seq)++, &nest);
			}
			const char *comma = memmem(q, (size_t)(le - q), ", ", 2);
			size_t el = comma ? (size_t)(comma - q) : (size_t)(le - q);
			int rc = element(nlh, q, el, add);
			if (rc)
				goto unsupported;
			q += el + (comma ? 2 : 0);
			if (++in_msg == ELEMS_PER_MSG || nlh->nlmsg_len > MSG_FILL || q >= le) {
				mnl_attr_nest_end(nlh, nest);
				last = (size_t)((char *)nlh - out->data);
				msg_done(out, nlh);
				nlh = NULL;
				in_msg = 0;
			}
		}
	}
	if (last == SIZE_MAX) {
		out->len = start;
		return -ENOTSUP;
	}
	/* Only the last message asks for an acknowledgement: the kernel reports every
	 * failed one anyway, so the answer ends at that acknowledgement or error. */
	struct nlmsghdr *lh = (struct nlmsghdr *)(out->data + last);
	lh->nlmsg_flags |= NLM_F_ACK;
	*last_seq = lh->nlmsg_seq;
	nftnl_batch_end((char *)msg_room(out), (*seq)++);
	out->len += NLMSG_ALIGN(((struct nlmsghdr *)(out->data + out->len))->nlmsg_len);
	return 0;
unsupported:
	out->len = start;
	return -ENOTSUP;
}

int proxy_nftnl_encode(const char *script, struct buf *out, uint32_t *seq, uint32_t *last_seq, char *err,
		       size_t errlen)
{
	return encode(script, out, seq, last_seq, err, errlen, NULL);
}

struct proxy_nftnl *proxy_nftnl_new(void)
{
	struct proxy_nftnl *s = xcalloc(1, sizeof(*s));
	s->seq = (uint32_t)time(NULL);
	return s;
}

void proxy_nftnl_free(struct proxy_nftnl *s)
{
	if (!s)
		return;
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s);
}

static int sock_open(struct proxy_nftnl *s, char *err, size_t errlen)
{
	if (s->nl)
		return 0;
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno ? errno : EIO;
		snprintf(err, errlen, "nftables: netlink socket: %s", strerror(e));
		if (s->nl)
			mnl_socket_close(s->nl);
		s->nl = NULL;
		return -e;
	}
	struct timeval tv = {.tv_sec = 30};
	setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

static const char *ref_map(const struct msgrefs *refs, uint32_t seq, bool *add)
{
	for (size_t i = refs->r.len; i-- > 0;)
		if (refs->r.v[i].seq <= seq) {
			*add = refs->r.v[i].add;
			return refs->r.v[i].map;
		}
	*add = true;
	return "?";
}

int proxy_nftnl_run(struct proxy_nftnl *s, const char *script, char *err, size_t errlen)
{
	struct buf b;
	buf_init(&b);
	struct msgrefs refs = {0};
	uint32_t last_seq = 0;
	int rc = encode(script, &b, &s->seq, &last_seq, err, errlen, &refs);
	if (rc == 0 && sock_open(s, err, errlen) < 0)
		rc = -EAGAIN;
	if (rc) {
		buf_fini(&b);
		vec_free(&refs.r);
		return rc;
	}
	int fd = mnl_socket_get_fd(s->nl);
	/* The batch goes in one sendmsg: the socket's buffer must hold all of it. */
	int sz = (int)(b.len + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (mnl_socket_sendto(s->nl, b.data, b.len) < 0) {
		rc = -EAGAIN;
		snprintf(err, errlen, "nftables: netlink send: %s", strerror(errno));
		/* The socket may hold a half-read answer: start afresh next time. */
		mnl_socket_close(s->nl);
		s->nl = NULL;
		buf_fini(&b);
		vec_free(&refs.r);
		return rc;
	}
	buf_fini(&b);
	uint32_t begin_seq = refs.r.len ? refs.r.v[0].seq - 1 : 0;
	char rbuf[16384];
	bool done = false;
	int first = 0;
	while (!done) {
		ssize_t r = mnl_socket_recvfrom(s->nl, rbuf, sizeof(rbuf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -EIO; /* not -EAGAIN (a timeout): the batch may have been applied */
			snprintf(err, errlen, "nftables: netlink receive: %s", strerror(errno));
			mnl_socket_close(s->nl);
			s->nl = NULL;
			vec_free(&refs.r);
			return rc;
		}
		int left = (int)r;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
				if (e->error && !first) {
					first = e->error;
					bool add;
					const char *map = ref_map(&refs, h->nlmsg_seq, &add);
					snprintf(err, errlen, "nftables: %s element %s: %s",
						 add ? "add" : "delete", map, strerror(-e->error));
				}
			}
			/* The end: the last message's answer, or an error on the batch itself
			 * (the kernel could not queue the errors). */
			if ((h->nlmsg_seq == last_seq || h->nlmsg_seq == begin_seq) &&
			    (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE))
				done = true;
		}
	}
	vec_free(&refs.r);
	return first ? -EIO : 0;
}

/* ---- reading our table back (the first sync after a restart) --------------------- */

#define DUMP_BUF 65536

/* nftables' datatype ids (nftables src/datatype.h); a concatenation's type is its
 * fields' ids, 6 bits each, the first field highest. */
enum {
	TYPE_INTEGER = 4,
	TYPE_IPADDR = 7,
	TYPE_IP6ADDR = 8,
	TYPE_INET_PROTOCOL = 12,
	TYPE_INET_SERVICE = 13,
	TYPE_MARK = 19
};

int proxy_nftnl_data_text(uint32_t type, const uint8_t *d, uint32_t len, struct buf *out)
{
	uint8_t ids[8];
	int n = 0;
	for (; type && n < 8; type >>= 6)
		ids[n++] = (uint8_t)(type & 0x3f);
	if (!n || type)
		return -EBADMSG;
	uint32_t off = 0;
	for (int i = n; i-- > 0;) {
		uint32_t w = ids[i] == TYPE_IP6ADDR ? 16 : 4;
		if (off + w > len)
			return -EBADMSG;
		const uint8_t *p = d + off;
		char ip[IP_STRLEN];
		struct ip_addr a = {.family = ids[i] == TYPE_IP6ADDR ? 6 : 4};
		uint32_t h;
		memcpy(&h, p, 4);
		if (i != n - 1)
			buf_puts(out, " . ");
		switch (ids[i]) {
		case TYPE_IPADDR:
		case TYPE_IP6ADDR:
			memcpy(a.b, p, w);
			buf_puts(out, ip_format(&a, ip, sizeof(ip)));
			break;
		case TYPE_INET_PROTOCOL:
			buf_puts(out, p[0] == 6 ? "tcp" : p[0] == 17 ? "udp" : p[0] == 132 ? "sctp" : "?");
			break;
		case TYPE_INET_SERVICE:
			buf_printf(out, "%u", (unsigned)p[0] << 8 | p[1]);
			break;
		case TYPE_MARK:
			buf_printf(out, "0x%06x", h);
			break;
		case TYPE_INTEGER:
			buf_printf(out, "%u", h);
			break;
		default:
			return -EBADMSG;
		}
		off += w;
	}
	return off == len ? 0 : -EBADMSG;
}

struct listing {
	const char *table;
	json_t *out;	/* the listing (nftnl.h) */
	json_t *chains; /* of out */
	json_t *sets;
	json_t *elems; /* of the set being read: [[key, value], ...] */
	uint32_t key_type, data_type;
	int bad; /* -EBADMSG seen */
};

/* The comment in nftables userdata (TLVs), or NULL. */
struct udata_comment {
	uint8_t type;
	const char *text;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	struct udata_comment *c = data;
	uint8_t l = nftnl_udata_len(attr);
	const char *v = nftnl_udata_get(attr);
	if (nftnl_udata_type(attr) == c->type && l && v[l - 1] == 0)
		c->text = v;
	return MNL_CB_OK;
}

static const char *udata_comment(const void *ud, uint32_t len, uint8_t type)
{
	struct udata_comment c = {.type = type};
	if (ud && len)
		nftnl_udata_parse(ud, len, comment_cb, &c);
	return c.text;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;
	struct nftnl_table *t = nftnl_table_alloc();
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		uint32_t len = 0;
		const void *ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
		const char *c = udata_comment(ud, len, NFTNL_UDATA_TABLE_COMMENT);
		if (c)
			json_object_set_new(l->out, "comment", json_string(c));
	} else {
		l->bad = -EBADMSG;
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static bool ours(const char *table, uint32_t family, const struct listing *l)
{
	return table && family == NFPROTO_INET && !strcmp(table, l->table);
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (nftnl_chain_nlmsg_parse(nlh, c) == 0) {
		const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		if (name &&
		    ours(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
			 nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), l) &&
		    !json_object_get(l->chains, name))
			json_object_set_new(l->chains, name, json_pack("{s:i}", "rules", 0));
	} else {
		l->bad = -EBADMSG;
	}
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

/* Rules come in chain order: the last one seen of a chain is its last. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
		const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		json_t *c = chain && ours(nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
					  nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), l)
				? json_object_get(l->chains, chain)
				: NULL;
		if (c) {
			uint32_t len = 0;
			const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
			const char *cm = udata_comment(ud, len, NFTNL_UDATA_RULE_COMMENT);
			json_object_set_new(
			    c, "rules", json_integer(json_integer_value(json_object_get(c, "rules")) + 1));
			if (cm)
				json_object_set_new(c, "comment", json_string(cm));
			else
				json_object_del(c, "comment");
		}
	} else {
		l->bad = -EBADMSG;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;
	struct nftnl_set *s = nftnl_set_alloc();
	if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
		const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
		uint32_t f = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		if (name && !(f & NFT_SET_ANONYMOUS) &&
		    ours(nftnl_set_get_str(s, NFTNL_SET_TABLE), nftnl_set_get_u32(s, NFTNL_SET_FAMILY), l))
			json_object_set_new(
			    l->sets, name,
			    json_pack("{s:b,s:b,s:b,s:I,s:I}", "map", (f & NFT_SET_MAP) != 0, "interval",
				      (f & NFT_SET_INTERVAL) != 0, "dynamic",
				      (f & (NFT_SET_EVAL | NFT_SET_TIMEOUT)) != 0, "#key",
				      (json_int_t)nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), "#data",
				      (json_int_t)(nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE)
						       ? nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE)
						       : 0)));
	} else {
		l->bad = -EBADMSG;
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct listing *l = data;
	uint32_t kl = 0, dl = 0;
	const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	struct buf key, val;
	buf_init(&key);
	buf_init(&val);
	int rc = k ? proxy_nftnl_data_text(l->key_type, k, kl, &key) : -EBADMSG;
	if (rc == 0 && l->data_type == NFT_DATA_VERDICT) {
		const char *chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		int32_t v = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)
				? (int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT)
				: 0;
		if (chain && (v == NFT_GOTO || v == NFT_JUMP))
			buf_printf(&val, "%s %s", v == NFT_GOTO ? "goto" : "jump", chain);
		else
			rc = -EBADMSG;
	} else if (rc == 0 && l->data_type) {
		const void *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);
		rc = d ? proxy_nftnl_data_text(l->data_type, d, dl, &val) : -EBADMSG;
	}
	if (rc == 0) {
		json_t *kv = json_array();
		json_array_append_new(kv, json_string(key.data));
		json_array_append_new(kv, json_string(val.data ? val.data : ""));
		json_array_append_new(l->elems, kv);
	} else
		l->bad = rc;
	buf_fini(&key);
	buf_fini(&val);
	return 0;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;
	struct nftnl_set *s = nftnl_set_alloc();
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, elem_cb, l);
	else
		l->bad = -EBADMSG;
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* One request (a dump unless it is GETTABLE) and its whole answer through cb. 0,
 * -ENOENT (no such table or set), or another negative errno with err set. */
static int request(struct proxy_nftnl *s, uint16_t type, const char *table, const char *set, mnl_cb_t cb,
		   void *data, char *err, size_t errlen)
{
	int rc = sock_open(s, err, errlen);
	if (rc < 0)
		return rc;
	char *buf = xmalloc(DUMP_BUF);
	uint32_t seq = s->seq++;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET,
						     type == NFT_MSG_GETTABLE ? NLM_F_ACK : NLM_F_DUMP, seq);
	switch (type) {
	case NFT_MSG_GETTABLE:
		mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
		break;
	case NFT_MSG_GETRULE:
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
		break;
	case NFT_MSG_GETSET:
		mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table);
		break;
	case NFT_MSG_GETSETELEM:
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		break;
	default:
		break;
	}
	uint32_t portid = mnl_socket_get_portid(s->nl);
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		snprintf(err, errlen, "nftables: netlink send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(s->nl, buf, DUMP_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "nftables: netlink receive: %s", strerror(errno));
			break;
		}
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (r < 0) {
			rc = errno == ENOENT ? -ENOENT : -(errno ? errno : EIO);
			if (rc != -ENOENT)
				snprintf(err, errlen, "nftables: reading table %s: %s", table, strerror(-rc));
			break;
		}
		if (r == MNL_CB_STOP)
			break;
	}
out:
	if (rc < 0 && rc != -ENOENT) {
		/* The socket may hold the rest of an answer: start afresh next time. */
		mnl_socket_close(s->nl);
		s->nl = NULL;
	}
	free(buf);
	return rc;
}

int proxy_nftnl_list_table(struct proxy_nftnl *s, const char *table, json_t **out, char *err, size_t errlen)
{
	struct listing l = {.table = table, .out = json_object()};
	*out = NULL;
	l.chains = json_object();
	l.sets = json_object();
	json_object_set_new(l.out, "chains", l.chains);
	json_object_set_new(l.out, "sets", l.sets);
	int rc = request(s, NFT_MSG_GETTABLE, table, NULL, table_cb, &l, err, errlen);
	if (rc == 0)
		rc = request(s, NFT_MSG_GETCHAIN, table, NULL, chain_cb, &l, err, errlen);
	if (rc == 0)
		rc = request(s, NFT_MSG_GETRULE, table, NULL, rule_cb, &l, err, errlen);
	if (rc == 0)
		rc = request(s, NFT_MSG_GETSET, table, NULL, set_cb, &l, err, errlen);
	if (rc == 0 && l.bad) {
		/* A chain or rule missed would be added again by the diff. */
		rc = l.bad;
		snprintf(err, errlen, "nftables: reading table %s: a message could not be parsed", table);
	}
	const char *name;
	json_t *st;
	json_object_foreach(l.sets, name, st)
	{
		if (rc)
			break;
		l.key_type = (uint32_t)json_integer_value(json_object_get(st, "#key"));
		l.data_type = (uint32_t)json_integer_value(json_object_get(st, "#data"));
		bool read = !json_is_true(json_object_get(st, "interval")) &&
			    !json_is_true(json_object_get(st, "dynamic"));
		json_object_del(st, "#key");
		json_object_del(st, "#data");
		if (!read)
			continue;
		l.bad = 0;
		l.elems = json_array();
		rc = request(s, NFT_MSG_GETSETELEM, table, name, elems_cb, &l, err, errlen);
		/* A set whose elements we cannot read is listed without them (nftnl.h). */
		if (rc == 0 && !l.bad)
			json_object_set(st, "elements", l.elems);
		json_decref(l.elems);
	}
	if (rc == 0)
		*out = l.out;
	else
		json_decref(l.out);
	return rc;
}
