/* dnstest.c - see dnstest.h. */
#include "unit/dns/dnstest.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns/wire.h"

size_t dnstest_query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t edns)
{
	struct dns_wr w;
	uint8_t n[DNS_NAME_MAX];
	dns_wr_init(&w, buf, 1024);
	dns_wr_header(&w, 0x1234, DNS_F_RD, 1, 0, 0, edns ? 1 : 0);
	int l = dns_name_from_text(name, n, false);
	dns_wr_bytes(&w, n, (size_t)(l > 0 ? l : 0));
	dns_wr_u16(&w, qtype);
	dns_wr_u16(&w, DNS_C_IN);
	if (edns)
		dns_wr_opt(&w, edns);
	return w.len;
}

struct fmt {
	const uint8_t *msg;
	size_t len;
	char *out;
	size_t cap, o;
	int section;
};

static void app(struct fmt *f, const char *s)
{
	size_t n = strlen(s);
	if (f->o + n + 1 < f->cap) {
		memcpy(f->out + f->o, s, n);
		f->o += n;
		f->out[f->o] = 0;
	}
}

static int rr_fmt(void *ud, const struct dns_rr *rr)
{
	struct fmt *f = ud;
	char t[300], line[700];
	uint8_t n[DNS_NAME_MAX];
	while (f->section < rr->section) {
		app(f, " |");
		f->section++;
	}
	if (rr->type == DNS_T_OPT) {
		app(f, " OPT;");
		return 0;
	}
	size_t off = rr->owner_off;
	dns_name_read(f->msg, f->len, &off, n);
	dns_name_to_text(n, t, sizeof(t));
	snprintf(line, sizeof(line), " %s %s ", t, dns_type_name(rr->type));
	app(f, line);
	const uint8_t *rd = f->msg + rr->rdata_off;
	off = rr->rdata_off;
	switch (rr->type) {
	case DNS_T_A:
		inet_ntop(AF_INET, rd, t, sizeof(t));
		break;
	case DNS_T_AAAA:
		inet_ntop(AF_INET6, rd, t, sizeof(t));
		break;
	case DNS_T_CNAME:
	case DNS_T_PTR:
	case DNS_T_NS:
		dns_name_read(f->msg, f->len, &off, n);
		dns_name_to_text(n, t, sizeof(t));
		break;
	case DNS_T_SRV: {
		off += 6;
		dns_name_read(f->msg, f->len, &off, n);
		char tn[260];
		dns_name_to_text(n, tn, sizeof(tn));
		snprintf(t, sizeof(t), "%u %u %u %s", rd[0] << 8 | rd[1], rd[2] << 8 | rd[3],
			 rd[4] << 8 | rd[5], tn);
		break;
	}
	case DNS_T_TXT:
		snprintf(t, sizeof(t), "\"%.*s\"", rd[0], (const char *)rd + 1);
		break;
	case DNS_T_SOA:
		dns_name_read(f->msg, f->len, &off, n);
		dns_name_to_text(n, t, sizeof(t));
		break;
	default:
		snprintf(t, sizeof(t), "(%u bytes)", rr->rdlen);
	}
	app(f, t);
	app(f, ";");
	return 0;
}

const char *dnstest_fmt(const uint8_t *msg, size_t len, char *out, size_t cap)
{
	struct fmt f = {msg, len, out, cap, 0, 1};
	out[0] = 0;
	if (len < DNS_HDR_LEN) {
		app(&f, "SHORT");
		return out;
	}
	app(&f, dns_rcode_name(msg[3] & 0xf));
	if (msg[2] & 0x02)
		app(&f, " TC");
	if (dns_msg_walk(msg, len, rr_fmt, &f) < 0)
		app(&f, " BADMSG");
	while (f.section < 3) {
		app(&f, " |");
		f.section++;
	}
	return out;
}
