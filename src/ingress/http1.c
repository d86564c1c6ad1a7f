/* http1.c - response head parsing for the Ingress proxy (see http1.h).
 *
 * Every read is bounded by the head's end, found first; header lines must be "name:
 * value" with a token name; obs-fold and bare LF are refused (-EBADMSG), as RFC 9112
 * allows a recipient to do. */
#include "ingress/http1.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

static bool name_is(const char *n, size_t nl, const char *want)
{
	return nl == strlen(want) && !strncasecmp(n, want, nl);
}

static bool has_token(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = 0; i + tl <= vl; i++)
		if (!strncasecmp(v + i, tok, tl) && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == vl || v[i + tl] == ' ' || v[i + tl] == ',' || v[i + tl] == ';'))
			return true;
	return false;
}

int ing_resp_head_parse(const char *buf, size_t len, size_t max, struct ing_resp_head *h, struct buf *out)
{
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	size_t scan = len < max ? len : max;
	const char *end = scan >= 4 ? memmem(buf, scan, "\r\n\r\n", 4) : NULL;
	if (!end)
		return len >= max ? -EBADMSG : -EAGAIN;
	size_t hl = (size_t)(end - buf) + 4;
	const char *sl_end = memmem(buf, hl, "\r\n", 2); /* the status line's end */
	size_t sll = (size_t)(sl_end - buf);
	if (sll < 12 || memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) || (sll > 12 && buf[12] != ' '))
		return -EBADMSG;
	h->code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (h->code < 100)
		return -EBADMSG;
	for (size_t i = 0; i < sll; i++)
		if (buf[i] == '\n' || buf[i] == '\0')
			return -EBADMSG;
	h->http10 = buf[7] == '0';
	size_t mark = out ? out->len : 0;
	if (out)
		buf_printf(out, "HTTP/1.1 %.*s\r\n", (int)(sll - 9), buf + 9);
	const char *line = sl_end + 2;
	while (line < end + 2) {
		const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		size_t ll = (size_t)(eol - line);
		const char *colon = memchr(line, ':', ll);
		if (!colon || colon == line)
			goto bad;
		size_t nl = (size_t)(colon - line);
		for (size_t i = 0; i < nl; i++)
			if (!isgraph((unsigned char)line[i]))
				goto bad;
		for (size_t i = nl; i < ll; i++)
			if (line[i] == '\n' || line[i] == '\r' || line[i] == '\0')
				goto bad;
		const char *v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		size_t vl = (size_t)(eol - v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		bool skip = false;
		if (name_is(line, nl, "Content-Length")) {
			char *e = NULL;
			char tmp[24];
			if (vl == 0 || vl >= sizeof(tmp))
				goto bad;
			memcpy(tmp, v, vl);
			tmp[vl] = 0;
			long long n = strtoll(tmp, &e, 10);
			if (*e || n < 0 || (h->content_length >= 0 && h->content_length != n))
				goto bad;
			h->content_length = n;
		} else if (name_is(line, nl, "Transfer-Encoding")) {
			if (has_token(v, vl, "chunked"))
				h->chunked = true;
		} else if (name_is(line, nl, "Connection")) {
			h->conn_close |= has_token(v, vl, "close");
			h->conn_keep_alive |= has_token(v, vl, "keep-alive");
			skip = true;
		} else if (name_is(line, nl, "Keep-Alive") || name_is(line, nl, "Proxy-Connection") ||
			   name_is(line, nl, "Upgrade")) {
			skip = true;
		}
		if (out && !skip)
			buf_printf(out, "%.*s\r\n", (int)ll, line);
		line = eol + 2;
	}
	h->head_len = hl;
	return 0;
bad:
	if (out) {
		out->len = mark;
		if (out->data)
			out->data[mark] = 0;
	}
	return -EBADMSG;
}
