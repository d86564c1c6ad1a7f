/* http.c - HTTP/1.1 request parsing: request line, headers, chunked bodies, query strings.
 *
 * Everything here is a pure function over bytes from the network (RFC 9112). Each read is
 * preceded by a check of the remaining length, and every rule that lets two parsers
 * disagree about where a message ends (request smuggling) is an error here, not a guess:
 * bare CR or LF, obsolete line folding, whitespace before a header colon, more than one
 * Content-Length, any Transfer-Encoding other than a single "chunked", Transfer-Encoding
 * together with Content-Length or in HTTP/1.0, a missing or repeated Host in HTTP/1.1.
 * Percent-decoding refuses %00 so a decoded string never hides a NUL.
 */
#include "http/http.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

#define MAX_HEADERS 128
#define MAX_CHUNK_LINE 4096 /* a chunk-size line with its extensions */
#define MAX_TRAILERS 8192   /* all trailer lines of a chunked body */

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed inside a field value: VCHAR, SP, HTAB or obs-text. */
static bool is_field_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *pct_decode(const char *s, size_t n, bool plus)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3)
				goto bad;
			int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == 0) {
			goto bad;
		} else {
			out[o++] = plus && c == '+' ? ' ' : (char)c;
		}
	}
	out[o] = 0;
	return out;
bad:
	free(out);
	return NULL;
}

char *http_pct_decode(const char *s, size_t n)
{
	if (!s)
		return NULL;
	return pct_decode(s, n, false);
}

char *http_query_get(const char *query, const char *name)
{
	if (!query || !name)
		return NULL;
	const char *p = query;
	for (;;) {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', seg);
		size_t klen = eq ? (size_t)(eq - p) : seg;
		if (seg > 0) {
			char *key = pct_decode(p, klen, true);
			bool match = key && strcmp(key, name) == 0;
			free(key);
			if (match) {
				char *val = eq ? pct_decode(eq + 1, seg - klen - 1, true) : xstrdup("");
				if (val)
					return val;
				/* A malformed value is skipped, like Go's url.ParseQuery does. */
			}
		}
		if (!amp)
			return NULL;
		p = amp + 1;
	}
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *http_req_bearer(const struct http_req *r)
{
	const char *h = http_req_header(r, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	const char *t = h + 7;
	while (*t == ' ')
		t++;
	return t;
}

bool http_req_bearer_ok(const struct http_req *r, const char *token)
{
	const char *t = http_req_bearer(r);
	if (!token || !*token || !t)
		return false;
	size_t n = strlen(token);
	return strlen(t) == n && CRYPTO_memcmp(t, token, n) == 0;
}

void http_req_fini(struct http_req *req)
{
	if (!req)
		return;
	free(req->target);
	free(req->path);
	free(req->query);
	for (size_t i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req->body);
	memset(req, 0, sizeof(*req));
	req->content_length = -1;
}

/* True when the comma-separated list v holds token tok (case-insensitive). */
static bool list_has(const char *v, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = v;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ',')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == tl && strncasecmp(s, tok, tl) == 0)
			return true;
	}
	return false;
}

static bool prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t pl = strlen(pre);
	return n >= pl && strncasecmp(s, pre, pl) == 0;
}

/* Parses "METHOD SP target SP HTTP/1.d" in l[0..n). */
static int parse_request_line(const char *l, size_t n, struct http_req *req)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= sizeof(req->method) || i >= n || l[i] != ' ')
		return -EBADMSG;
	memcpy(req->method, l, i);
	req->method[i] = 0;
	size_t ts = ++i;
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f && l[i] != '#')
		i++;
	size_t te = i;
	if (te == ts || i >= n || l[i] != ' ')
		return -EBADMSG;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/1.", 7) != 0 || l[i + 7] < '0' || l[i + 7] > '9')
		return -EBADMSG;
	req->minor = l[i + 7] - '0';

	const char *t = l + ts;
	size_t tn = te - ts;
	req->target = xstrndup(t, tn);
	/* origin-form, absolute-form (a server must accept it), or "*" for OPTIONS. */
	const char *ps;
	size_t pn;
	if (tn == 1 && t[0] == '*') {
		if (strcmp(req->method, "OPTIONS") != 0)
			return -EBADMSG;
		req->path = xstrdup("*");
		req->query = xstrdup("");
		return 0;
	} else if (t[0] == '/') {
		ps = t;
		pn = tn;
	} else if (prefix_ci(t, tn, "http://") || prefix_ci(t, tn, "https://")) {
		size_t k = t[4] == ':' ? 7 : 8;
		while (k < tn && t[k] != '/' && t[k] != '?')
			k++;
		ps = t + k;
		pn = tn - k;
	} else {
		return -EBADMSG;
	}
	const char *q = memchr(ps, '?', pn);
	size_t rawlen = q ? (size_t)(q - ps) : pn;
	if (rawlen == 0)
		req->path = xstrdup("/");
	else if (!(req->path = pct_decode(ps, rawlen, false)))
		return -EBADMSG;
	req->query = q ? xstrndup(q + 1, pn - rawlen - 1) : xstrdup("");
	return 0;
}

/* Parses one "name: value" line l[0..n) into a new header of req. */
static int parse_header_line(const char *l, size_t n, struct http_req *req, size_t *cap)
{
	if (n == 0 || l[0] == ' ' || l[0] == '\t')
		return -EBADMSG; /* obs-fold */
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return -EBADMSG;
	size_t nl = i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	size_t vs = i, ve = n;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	for (size_t k = vs; k < ve; k++)
		if (!is_field_byte((unsigned char)l[k]))
			return -EBADMSG;
	if (req->nheaders >= MAX_HEADERS)
		return -E2BIG;
	/* struct http_req keeps the names its users read (headers, nheaders), so base/vec.h's
	 * untyped core with the capacity the parser holds. */
	struct http_header *h = vec__push((void **)&req->headers, &req->nheaders, cap, sizeof(*req->headers));
	h->name = xstrndup(l, nl);
	h->value = xstrndup(l + vs, ve - vs);
	return 0;
}

/* Framing and connection semantics from the parsed headers. */
static int check_headers(struct http_req *req)
{
	int ncl = 0, nte = 0, nhost = 0;
	const char *cl = NULL, *te = NULL;
	bool close = false, ka = false;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (strcasecmp(h->name, "Content-Length") == 0) {
			ncl++;
			cl = h->value;
		} else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
			nte++;
			te = h->value;
		} else if (strcasecmp(h->name, "Host") == 0) {
			nhost++;
		} else if (strcasecmp(h->name, "Connection") == 0) {
			close |= list_has(h->value, "close");
			ka |= list_has(h->value, "keep-alive");
		}
	}
	if (ncl > 1 || nte > 1 || nhost > 1 || (ncl && nte))
		return -EBADMSG;
	if (req->minor >= 1 && nhost == 0)
		return -EBADMSG;
	req->content_length = -1;
	if (cl) {
		long long v = 0;
		if (!*cl)
			return -EBADMSG;
		for (const char *p = cl; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EBADMSG;
			if (v > (LLONG_MAX - (*p - '0')) / 10)
				return -EBADMSG;
			v = v * 10 + (*p - '0');
		}
		req->content_length = v;
	}
	if (te) {
		if (req->minor == 0 || strcasecmp(te, "chunked") != 0)
			return -EBADMSG;
		req->chunked = true;
	}
	req->keep_alive = req->minor >= 1 ? !close : ka && !close;
	return 0;
}

int http_parse_head(const char *buf, size_t len, size_t max_head, struct http_req *req, size_t *head_len)
{
	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	size_t lim = len < max_head ? len : max_head;
	size_t p = 0;
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (lim - p >= 2 && buf[p] == '\r' && buf[p + 1] == '\n')
		p++, p++;
	if (p < lim && buf[p] != '\r' && !is_tchar((unsigned char)buf[p]))
		return -EBADMSG;

	/* Find the blank line; every CR must be followed by LF and every LF preceded by CR. */
	size_t start = p, end = 0;
	bool found = false;
	for (size_t i = p; i < lim; i++) {
		if (buf[i] == '\n') {
			if (i == start || buf[i - 1] != '\r')
				return -EBADMSG;
			if (i - start >= 3 && buf[i - 2] == '\n') {
				end = i + 1;
				found = true;
				break;
			}
		} else if (buf[i] == '\r' && i + 1 < lim && buf[i + 1] != '\n') {
			return -EBADMSG;
		} else if (buf[i] == 0) {
			return -EBADMSG;
		}
	}
	if (!found)
		return len >= max_head ? -E2BIG : -EAGAIN;

	/* Lines in [start, end - 2), each ending in CRLF. */
	size_t cap = 0;
	int rc;
	size_t ls = start;
	bool first = true;
	while (ls < end - 2) {
		const char *nl = memchr(buf + ls, '\n', end - ls);
		if (!nl) { /* cannot happen: the scan above found the terminator */
			rc = -EBADMSG;
			goto fail;
		}
		size_t le = (size_t)(nl - buf) - 1; /* index of the CR */
		if (first)
			rc = parse_request_line(buf + ls, le - ls, req);
		else
			rc = parse_header_line(buf + ls, le - ls, req, &cap);
		if (rc < 0)
			goto fail;
		first = false;
		ls = le + 2;
	}
	if (first) {
		rc = -EBADMSG;
		goto fail;
	}
	if ((rc = check_headers(req)) < 0)
		goto fail;
	*head_len = end;
	return 0;
fail:
	http_req_fini(req);
	return rc;
}

enum {
	CH_SIZE,	  /* hex digits of a chunk size */
	CH_EXT,		  /* chunk extensions, up to CR */
	CH_SIZE_LF,	  /* LF after the size line */
	CH_DATA,	  /* chunk data */
	CH_DATA_CR,	  /* CR after the data */
	CH_DATA_LF,	  /* LF after the data */
	CH_TRAILER_START, /* first byte of a trailer line (CR: the end) */
	CH_TRAILER,	  /* rest of a trailer line, up to CR */
	CH_TRAILER_LF,	  /* LF after a trailer line */
	CH_END_LF,	  /* LF of the blank line that ends the body */
	CH_DONE,
};

void http_chunked_init(struct http_chunked *st)
{
	memset(st, 0, sizeof(*st));
	st->state = CH_SIZE;
}

int http_chunked_feed(struct http_chunked *st, const char *in, size_t len, size_t max_body, struct buf *out,
		      size_t *used)
{
	size_t pos = 0;
	while (pos < len) {
		unsigned char c = (unsigned char)in[pos];
		int d;
		switch (st->state) {
		case CH_SIZE:
			if ((d = hexval(c)) >= 0) {
				if (st->size > (SIZE_MAX - (size_t)d) / 16)
					return -E2BIG;
				st->size = st->size * 16 + (size_t)d;
				if (st->size > max_body)
					return -E2BIG;
				if (++st->line > MAX_CHUNK_LINE)
					return -EBADMSG;
				break;
			}
			if (st->line == 0)
				return -EBADMSG;
			if (c == ';' || c == ' ' || c == '\t')
				st->state = CH_EXT;
			else if (c == '\r')
				st->state = CH_SIZE_LF;
			else
				return -EBADMSG;
			break;
		case CH_EXT:
			/* chunk-ext: BWS ";" name [ "=" value ], kept loose but free of control bytes. */
			if (c == '\r') {
				st->state = CH_SIZE_LF;
				break;
			}
			if (!is_field_byte(c) || ++st->line >= MAX_CHUNK_LINE)
				return -EBADMSG;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -EBADMSG;
			if (st->size == 0) {
				st->state = CH_TRAILER_START;
				break;
			}
			if (st->size > max_body - st->total)
				return -E2BIG;
			st->state = CH_DATA;
			break;
		case CH_DATA: {
			/* Copied in bulk: the decoder touches each byte once. */
			size_t n = len - pos < st->size ? len - pos : st->size;
			buf_append(out, in + pos, n);
			st->total += n;
			st->size -= n;
			pos += n;
			if (st->size == 0)
				st->state = CH_DATA_CR;
			continue;
		}
		case CH_DATA_CR:
			if (c != '\r')
				return -EBADMSG;
			st->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -EBADMSG;
			st->state = CH_SIZE;
			st->size = st->line = 0;
			break;
		case CH_TRAILER_START:
			if (c == '\r') {
				st->state = CH_END_LF;
				break;
			}
			if (c == ' ' || c == '\t' || c == '\n' || !is_field_byte(c))
				return -EBADMSG;
			st->colon = c == ':';
			st->state = CH_TRAILER;
			if (++st->trailers > MAX_TRAILERS)
				return -EBADMSG;
			break;
		case CH_TRAILER:
			if (c == '\r') {
				if (!st->colon)
					return -EBADMSG;
				st->state = CH_TRAILER_LF;
				break;
			}
			if (c == '\n' || !is_field_byte(c) || ++st->trailers > MAX_TRAILERS)
				return -EBADMSG;
			st->colon |= c == ':';
			break;
		case CH_TRAILER_LF:
			if (c != '\n')
				return -EBADMSG;
			st->state = CH_TRAILER_START;
			break;
		case CH_END_LF:
			if (c != '\n')
				return -EBADMSG;
			st->state = CH_DONE;
			*used = pos + 1;
			return 0;
		default:
			return -EINVAL;
		}
		pos++;
	}
	*used = len;
	return -EAGAIN;
}

int http_parse_chunked(const char *buf, size_t len, size_t max_body, char **out, size_t *out_len,
		       size_t *consumed)
{
	struct http_chunked st;
	struct buf b;
	size_t used = 0;
	http_chunked_init(&st);
	buf_init(&b);
	int rc = http_chunked_feed(&st, buf, len, max_body, &b, &used);
	if (rc < 0) {
		buf_fini(&b);
		return rc;
	}
	*out_len = b.len;
	buf_reserve(&b, 1);
	b.data[b.len] = 0;
	*out = buf_take(&b);
	*consumed = used;
	return 0;
}
