/* wire.c - DNS wire format: bounds-checked parsing, a non-allocating writer. See wire.h. */
#include "dns/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *out)
{
	size_t pos = *off, n = 0, after = 0;
	bool jumped = false;
	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -EBADMSG;
			size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/* Strictly backwards: no loop can be built, every jump makes progress. */
			if (target >= pos)
				return -EBADMSG;
			if (!jumped)
				after = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (c & 0xc0) /* 0x40 and 0x80: extended and reserved label types */
			return -EBADMSG;
		if (pos + 1 + c > len || n + 1 + c > DNS_NAME_MAX)
			return -EBADMSG;
		memcpy(out + n, msg + pos, 1 + (size_t)c);
		n += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*off = jumped ? after : pos;
	return (int)n;
}

void dns_name_lower(uint8_t *name, size_t n)
{
	size_t i = 0;
	while (i < n && name[i]) {
		size_t l = name[i];
		for (size_t j = i + 1; j <= i + l && j < n; j++)
			if (name[j] >= 'A' && name[j] <= 'Z')
				name[j] = (uint8_t)(name[j] + 32);
		i += l + 1;
	}
}

int dns_name_from_text(const char *text, uint8_t *out, bool lower)
{
	size_t n = 0;
	const char *s = text;
	if (!strcmp(s, ".") || !*s) {
		out[0] = 0;
		return 1;
	}
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > DNS_LABEL_MAX || n + 1 + l + 1 > DNS_NAME_MAX)
			return -EINVAL;
		out[n++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			char ch = s[i];
			if (lower && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch + 32);
			out[n++] = (uint8_t)ch;
		}
		s += l;
		if (*s == '.')
			s++;
	}
	out[n++] = 0;
	return (int)n;
}

const char *dns_name_to_text(const uint8_t *name, char *out, size_t len)
{
	size_t o = 0, i = 0;
	if (len < 5) {
		if (len)
			out[0] = 0;
		return out;
	}
	if (!name[0]) {
		snprintf(out, len, ".");
		return out;
	}
	while (name[i] && i < DNS_NAME_MAX) {
		size_t l = name[i++];
		if (o && o + 1 < len)
			out[o++] = '.';
		for (size_t j = 0; j < l && i < DNS_NAME_MAX; j++, i++) {
			uint8_t c = name[i];
			bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9') || c == '-' || c == '_';
			if (plain && o + 1 < len)
				out[o++] = (char)c;
			else if (!plain && o + 4 < len)
				o += (size_t)snprintf(out + o, len - o, "\\%03u", c);
		}
	}
	out[o < len ? o : len - 1] = 0;
	return out;
}

uint32_t dns_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int dns_name_labels(const uint8_t *name)
{
	int n = 0;
	for (size_t i = 0; name[i] && i < DNS_NAME_MAX; i += (size_t)name[i] + 1)
		n++;
	return n;
}

int dns_name_suffix(const uint8_t *name, size_t len, int n)
{
	int total = dns_name_labels(name);
	if (total < n)
		return -1;
	size_t i = 0;
	for (int skip = total - n; skip > 0 && i < len; skip--)
		i += (size_t)name[i] + 1;
	return (int)i;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
	q->id = q->flags = q->qtype = q->qclass = 0;
	q->qname_len = q->qend = 0;
	q->edns = q->edns_do = false;
	q->edns_version = 0;
	q->udp_size = DNS_UDP_MIN;
	if (len < DNS_HDR_LEN)
		return -EBADMSG;
	q->id = rd16(msg);
	q->flags = rd16(msg + 2);
	if (q->flags & DNS_F_QR)
		return -EPROTO;
	if (DNS_OPCODE(q->flags) != 0)
		return -EOPNOTSUPP;
	uint16_t qd = rd16(msg + 4), an = rd16(msg + 6), ns = rd16(msg + 8), ar = rd16(msg + 10);
	if (qd != 1 || an != 0 || ns != 0)
		return -EBADMSG;
	size_t off = DNS_HDR_LEN;
	/* The question name must be uncompressed: nothing precedes it to point to. */
	int n = dns_name_read(msg, len, &off, q->qname);
	if (n < 0 || off - DNS_HDR_LEN != (size_t)n || off + 4 > len)
		return -EBADMSG;
	q->qname_len = (size_t)n;
	memcpy(q->lname, q->qname, (size_t)n);
	dns_name_lower(q->lname, (size_t)n);
	q->qtype = rd16(msg + off);
	q->qclass = rd16(msg + off + 2);
	off += 4;
	q->qend = off;
	/* The additional section may hold one OPT (RFC 6891 6.1.1: more than one is FORMERR)
	 * and anything else we ignore, but it must be well formed. */
	for (uint16_t i = 0; i < ar; i++) {
		uint8_t owner[DNS_NAME_MAX];
		if (dns_name_read(msg, len, &off, owner) < 0 || off + 10 > len)
			return -EBADMSG;
		uint16_t type = rd16(msg + off), rdlen = rd16(msg + off + 8);
		if (off + 10 + rdlen > len)
			return -EBADMSG;
		if (type == DNS_T_OPT) {
			if (q->edns || owner[0] != 0)
				return -EBADMSG;
			q->edns = true;
			uint16_t sz = rd16(msg + off + 2);
			q->udp_size = sz < DNS_UDP_MIN ? DNS_UDP_MIN : sz > DNS_UDP_MAX ? DNS_UDP_MAX : sz;
			q->edns_version = msg[off + 5];
			q->edns_do = (msg[off + 6] & 0x80) != 0;
		}
		off += 10 + (size_t)rdlen;
	}
	if (off != len)
		return -EBADMSG;
	return 0;
}

/* Checks the rdata of types holding names: each name must read within rdata. */
static int rdata_check(const uint8_t *msg, size_t len, uint16_t type, size_t off, size_t rdlen)
{
	uint8_t tmp[DNS_NAME_MAX];
	size_t end = off + rdlen, p = off;
	switch (type) {
	case DNS_T_A:
		return rdlen == 4 ? 0 : -EBADMSG;
	case DNS_T_AAAA:
		return rdlen == 16 ? 0 : -EBADMSG;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		if (dns_name_read(msg, len, &p, tmp) < 0 || p != end)
			return -EBADMSG;
		return 0;
	case DNS_T_MX:
		p += 2;
		if (p > end || dns_name_read(msg, len, &p, tmp) < 0 || p != end)
			return -EBADMSG;
		return 0;
	case DNS_T_SRV:
		p += 6;
		if (p > end || dns_name_read(msg, len, &p, tmp) < 0 || p != end)
			return -EBADMSG;
		return 0;
	case DNS_T_SOA:
		if (dns_name_read(msg, len, &p, tmp) < 0 || dns_name_read(msg, len, &p, tmp) < 0 ||
		    p + 20 != end)
			return -EBADMSG;
		return 0;
	case DNS_T_TXT:
		while (p < end) {
			p += 1 + (size_t)msg[p];
			if (p > end)
				return -EBADMSG;
		}
		return 0;
	default:
		return 0;
	}
}

int dns_msg_walk(const uint8_t *msg, size_t len, int (*fn)(void *ud, const struct dns_rr *rr), void *ud)
{
	uint8_t tmp[DNS_NAME_MAX];
	if (len < DNS_HDR_LEN)
		return -EBADMSG;
	uint16_t qd = rd16(msg + 4), cnt[3] = {rd16(msg + 6), rd16(msg + 8), rd16(msg + 10)};
	size_t off = DNS_HDR_LEN;
	for (uint16_t i = 0; i < qd; i++) {
		if (dns_name_read(msg, len, &off, tmp) < 0 || off + 4 > len)
			return -EBADMSG;
		off += 4;
	}
	for (int s = 0; s < 3; s++) {
		for (uint16_t i = 0; i < cnt[s]; i++) {
			struct dns_rr rr = {.section = s + 1, .owner_off = off};
			if (dns_name_read(msg, len, &off, tmp) < 0 || off + 10 > len)
				return -EBADMSG;
			rr.type = rd16(msg + off);
			rr.rclass = rd16(msg + off + 2);
			rr.ttl_off = off + 4;
			rr.ttl = rd32(msg + off + 4);
			rr.rdlen = rd16(msg + off + 8);
			rr.rdata_off = off + 10;
			if (rr.rdata_off + rr.rdlen > len)
				return -EBADMSG;
			if (rdata_check(msg, len, rr.type, rr.rdata_off, rr.rdlen) < 0)
				return -EBADMSG;
			off = rr.rdata_off + rr.rdlen;
			if (fn) {
				int rc = fn(ud, &rr);
				if (rc)
					return rc;
			}
		}
	}
	return off == len ? 0 : -EBADMSG;
}

void dns_wr_init(struct dns_wr *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->len = 0;
	w->cap = cap;
	w->full = false;
}

void dns_wr_bytes(struct dns_wr *w, const void *p, size_t n)
{
	if (w->full || w->len + n > w->cap) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

void dns_wr_u16(struct dns_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	dns_wr_bytes(w, b, 2);
}

void dns_wr_u32(struct dns_wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	dns_wr_bytes(w, b, 4);
}

void dns_wr_header(struct dns_wr *w, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		   uint16_t ar)
{
	dns_wr_u16(w, id);
	dns_wr_u16(w, flags);
	dns_wr_u16(w, qd);
	dns_wr_u16(w, an);
	dns_wr_u16(w, ns);
	dns_wr_u16(w, ar);
}

void dns_wr_set_counts(struct dns_wr *w, uint16_t an, uint16_t ns, uint16_t ar)
{
	if (w->cap < DNS_HDR_LEN)
		return;
	uint16_t v[3] = {an, ns, ar};
	for (int i = 0; i < 3; i++) {
		w->p[6 + 2 * i] = (uint8_t)(v[i] >> 8);
		w->p[7 + 2 * i] = (uint8_t)v[i];
	}
}

void dns_wr_set_flags(struct dns_wr *w, uint16_t flags)
{
	if (w->cap < DNS_HDR_LEN)
		return;
	w->p[2] = (uint8_t)(flags >> 8);
	w->p[3] = (uint8_t)flags;
}

size_t dns_wr_rr_begin(struct dns_wr *w, const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl)
{
	if (owner)
		dns_wr_bytes(w, owner, owner_len);
	else
		dns_wr_u16(w, 0xc000 | DNS_HDR_LEN);
	dns_wr_u16(w, type);
	dns_wr_u16(w, DNS_C_IN);
	dns_wr_u32(w, ttl);
	size_t at = w->len;
	dns_wr_u16(w, 0);
	return at;
}

void dns_wr_rr_end(struct dns_wr *w, size_t rdlen_off)
{
	if (w->full)
		return;
	size_t n = w->len - rdlen_off - 2;
	w->p[rdlen_off] = (uint8_t)(n >> 8);
	w->p[rdlen_off + 1] = (uint8_t)n;
}

void dns_wr_opt(struct dns_wr *w, uint16_t udp_size)
{
	uint8_t root = 0;
	dns_wr_bytes(w, &root, 1);
	dns_wr_u16(w, DNS_T_OPT);
	dns_wr_u16(w, udp_size);
	dns_wr_u32(w, 0);
	dns_wr_u16(w, 0);
}

size_t dns_answer_error(const struct dns_query *q, const uint8_t *msg, size_t msglen, int rcode, uint8_t *buf,
			size_t cap)
{
	struct dns_wr w;
	dns_wr_init(&w, buf, cap);
	if (cap < DNS_HDR_LEN)
		return 0;
	uint16_t flags = (uint16_t)(DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD)) | DNS_F_RA | (rcode & 0xf));
	bool with_q = q->qname_len > 0 && q->qend > 0 && q->qend <= msglen;
	dns_wr_header(&w, q->id, flags, with_q ? 1 : 0, 0, 0, q->edns ? 1 : 0);
	if (with_q)
		dns_wr_bytes(&w, msg + DNS_HDR_LEN, q->qend - DNS_HDR_LEN);
	if (q->edns)
		dns_wr_opt(&w, DNS_UDP_MAX);
	if (w.full) {
		w.len = DNS_HDR_LEN;
		w.p[4] = w.p[5] = 0;
		dns_wr_set_counts(&w, 0, 0, 0);
	}
	return w.len;
}

const char *dns_type_name(uint16_t t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_SOA:
		return "SOA";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_SRV:
		return "SRV";
	case DNS_T_IXFR:
		return "IXFR";
	case DNS_T_AXFR:
		return "AXFR";
	case DNS_T_ANY:
		return "ANY";
	default:
		return "other";
	}
}

const char *dns_rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR",	"FORMERR", "SERVFAIL",
					    "NXDOMAIN", "NOTIMP",  "REFUSED"};
	return rcode >= 0 && rcode < 6 ? names[rcode] : "other";
}
