/* wire.h - the DNS wire format (RFC 1035, 2308, 3596, 6891): parsing queries and whole
 * messages from outside bytes, and writing answers into a caller's fixed buffer.
 *
 * Parsers never trust a count or a length: every read checks the bytes left first (NSD's
 * try_buffer_*), names are at most 255 bytes and labels 63, and a compression pointer
 * must point strictly before the label that holds it, so a pointer loop cannot exist
 * (and the number of jumps is bounded by the message length anyway). Bad bytes give
 * -EBADMSG, never an abort.
 *
 * Names inside this module are kept in wire form (length-prefixed labels ending with the
 * zero label), uncompressed; lookups use the lowercased wire form, so a label may hold any
 * byte (even '.') without escaping, and comparisons are case-insensitive as the
 * Kubernetes DNS specification demands, while the question is echoed as it was asked.
 *
 * The writer (struct dns_wr) never allocates: it writes into a buffer the caller owns and
 * records truncation instead of growing. No I/O here.
 */
#ifndef DNS_WIRE_H
#define DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255 /* wire bytes, with the root label */
#define DNS_LABEL_MAX 63
#define DNS_UDP_MIN 512	 /* UDP payload without EDNS0 */
#define DNS_UDP_MAX 4096 /* the largest EDNS0 size we honour */
#define DNS_TCP_MAX 65535

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_OPT = 41,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_ANY = 255,
};

enum dns_rcode {
	DNS_R_NOERROR = 0,
	DNS_R_FORMERR = 1,
	DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4,
	DNS_R_REFUSED = 5,
};

#define DNS_C_IN 1
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_OPCODE(f) (((f) >> 11) & 0xf)

/* A parsed query. qname is the question's name in wire form as asked (case kept); lname
 * the same lowercased, for lookups. */
struct dns_query {
	uint16_t id, flags, qtype, qclass;
	uint8_t qname[DNS_NAME_MAX], lname[DNS_NAME_MAX];
	size_t qname_len;
	size_t qend;	   /* offset just after the question */
	bool edns;	   /* an OPT record came with it */
	uint16_t udp_size; /* the size the client accepts over UDP: 512 without EDNS0,
			    * else max(512, min(its size, DNS_UDP_MAX)) */
	uint8_t edns_version;
	bool edns_do;
};

/* Parses a query. Returns 0; -EBADMSG when the bytes are not a well-formed query whose
 * header is readable (answer FORMERR with the id when len >= 12, else drop); -EPROTO for
 * a response (QR set: drop, never answer, so two servers cannot loop); -EOPNOTSUPP for an
 * opcode other than QUERY (answer NOTIMP). q is filled as far as parsing got (id and
 * flags whenever len >= 12). */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/* Reads the possibly compressed name at *off of msg into out (wire form, uncompressed,
 * at least DNS_NAME_MAX bytes) and sets *off past it in the message. Returns the name's
 * length, or -EBADMSG. */
int dns_name_read(const uint8_t *msg, size_t len, size_t *off, uint8_t *out);

/* Lowercases ASCII letters of a wire name of length n in place. */
void dns_name_lower(uint8_t *name, size_t n);
/* The wire name of a dotted text name ("a.b.c" or "a.b.c."; "" or "." is the root) into
 * out (DNS_NAME_MAX bytes), lowercased when lower. Returns the length, or -EINVAL for an
 * empty label, a label over 63 or a name over 255 bytes. */
int dns_name_from_text(const char *text, uint8_t *out, bool lower);
/* Dotted text of a wire name (no trailing dot; "." for the root) into out (len >= 256);
 * bytes other than letters, digits, '-' and '_' are written as \DDD. Returns out. */
const char *dns_name_to_text(const uint8_t *name, char *out, size_t len);
/* FNV-1a over n bytes: the hash of the view's and the forwarder's tables. */
uint32_t dns_hash(const uint8_t *p, size_t n);
/* Number of labels of a wire name (the root label not counted). */
int dns_name_labels(const uint8_t *name);
/* The offset of the suffix made of the last n labels of name, or -1 when it has fewer. */
int dns_name_suffix(const uint8_t *name, size_t len, int n);

/* One resource record found by dns_msg_walk. */
struct dns_rr {
	int section; /* 1 answer, 2 authority, 3 additional */
	size_t owner_off, ttl_off, rdata_off;
	uint16_t type, rclass, rdlen;
	uint32_t ttl;
};

/* Checks a whole message (header, question, every record and every name in the rdata of
 * the types that hold names) and calls fn for each record, in order; fn may be NULL.
 * fn returning nonzero stops the walk with that value. Returns 0, -EBADMSG, or fn's
 * value. */
int dns_msg_walk(const uint8_t *msg, size_t len, int (*fn)(void *ud, const struct dns_rr *rr), void *ud);

/* A writer over the caller's buffer. */
struct dns_wr {
	uint8_t *p;
	size_t len, cap;
	bool full; /* something did not fit: the message is incomplete */
};

void dns_wr_init(struct dns_wr *w, uint8_t *buf, size_t cap);
void dns_wr_bytes(struct dns_wr *w, const void *p, size_t n);
void dns_wr_u16(struct dns_wr *w, uint16_t v);
void dns_wr_u32(struct dns_wr *w, uint32_t v);
/* Header of an answer to q with the given rcode and counts; echoes id, RD and opcode. */
void dns_wr_header(struct dns_wr *w, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		   uint16_t ar);
/* Patches the header's counts, flags and rcode in place (the header must be written). */
void dns_wr_set_counts(struct dns_wr *w, uint16_t an, uint16_t ns, uint16_t ar);
void dns_wr_set_flags(struct dns_wr *w, uint16_t flags);
/* Writes the record header (owner, type, class IN, ttl) and reserves rdlength; returns
 * the offset of rdlength for dns_wr_rr_end. owner NULL writes a pointer to the question
 * name (offset 12). */
size_t dns_wr_rr_begin(struct dns_wr *w, const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl);
void dns_wr_rr_end(struct dns_wr *w, size_t rdlen_off);
/* An OPT record advertising udp_size. */
void dns_wr_opt(struct dns_wr *w, uint16_t udp_size);

/* Writes a bare answer (header, question as asked, OPT when the query had EDNS0) with
 * rcode into buf. Returns the length (0 when cap < 12). Used for errors. */
size_t dns_answer_error(const struct dns_query *q, const uint8_t *msg, size_t msglen, int rcode, uint8_t *buf,
			size_t cap);

/* Name of a qtype for metrics ("A", "AAAA", ..., "other"). */
const char *dns_type_name(uint16_t t);
/* Name of an rcode for metrics ("NOERROR", ...). */
const char *dns_rcode_name(int rcode);

#endif
