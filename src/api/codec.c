/* codec.c - JSON request bodies to jansson values, with the limits of api/codec.h.
 *
 * jansson does the parsing; this file bounds it first. A cheap pre-scan over the bytes
 * counts container nesting outside strings, so a body nested deeper than
 * API_CODEC_MAX_DEPTH is refused before jansson recurses into it, and a body larger than
 * API_CODEC_MAX_BYTES is refused unread.
 *
 * Duplicate object keys are rejected (JSON_REJECT_DUPLICATES). kube-apiserver accepts them
 * (last wins) under fieldValidation=Ignore|Warn and refuses them under Strict, which is
 * what kubectl sends by default; this decoder has no mode, so it always takes the strict
 * side: an ambiguous body is never stored. The message names the field as Kubernetes'
 * strict decoder does: `strict decoding error: duplicate field "name"`.
 */
#include "api/codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int depth_ok(const char *buf, size_t len, size_t *where)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > API_CODEC_MAX_DEPTH) {
				*where = i;
				return 0;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

int api_json_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len > API_CODEC_MAX_BYTES) {
		snprintf(err, errlen, "json: body of %zu bytes exceeds the limit of %d bytes", len,
			 API_CODEC_MAX_BYTES);
		return -EBADMSG;
	}
	size_t where = 0;
	if (!depth_ok(buf, len, &where)) {
		snprintf(err, errlen, "json: exceeded max depth of %d at offset %zu", API_CODEC_MAX_DEPTH,
			 where);
		return -EBADMSG;
	}
	json_error_t jerr;
	json_t *v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		if (json_error_code(&jerr) == json_error_duplicate_key) {
			/* jansson: "duplicate object key near '"name"'": pull the key out. */
			const char *q = strstr(jerr.text, "near '\"");
			if (q) {
				q += 7;
				size_t n = strlen(q);
				if (n >= 2 && q[n - 1] == '\'' && q[n - 2] == '"')
					n -= 2;
				snprintf(err, errlen, "strict decoding error: duplicate field \"%.*s\"",
					 (int)n, q);
				return -EBADMSG;
			}
		}
		if (len == 0 || json_error_code(&jerr) == json_error_premature_end_of_input)
			snprintf(err, errlen, "json: unexpected end of JSON input (line %d, column %d)",
				 jerr.line, jerr.column);
		else
			snprintf(err, errlen, "json: %s (line %d, column %d)", jerr.text, jerr.line,
				 jerr.column);
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

/* Skips one JSON string starting at p (at the opening quote); returns the index after
 * the closing quote, or len when unterminated. */
static size_t skip_string(const char *s, size_t p, size_t len)
{
	for (p++; p < len; p++) {
		if (s[p] == '\\')
			p++;
		else if (s[p] == '"')
			return p + 1;
	}
	return len;
}

static size_t skip_ws(const char *s, size_t p, size_t len)
{
	while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r'))
		p++;
	return p;
}

/* Skips one JSON value at p; returns the index after it (len when malformed). */
static size_t skip_value(const char *s, size_t p, size_t len)
{
	if (p >= len)
		return len;
	if (s[p] == '"')
		return skip_string(s, p, len);
	if (s[p] == '{' || s[p] == '[') {
		int depth = 0;
		while (p < len) {
			char c = s[p];
			if (c == '"') {
				p = skip_string(s, p, len);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return len;
	}
	while (p < len && s[p] != ',' && s[p] != '}' && s[p] != ']')
		p++;
	return p;
}

int api_json_member_span(const char *buf, size_t len, const char *key, size_t *off, size_t *vlen)
{
	size_t klen = strlen(key), p = skip_ws(buf, 0, len);
	if (p >= len || buf[p] != '{')
		return -EBADMSG;
	p++;
	while (p < len) {
		p = skip_ws(buf, p, len);
		if (p < len && buf[p] == '}')
			return -ENOENT;
		if (p >= len || buf[p] != '"')
			return -EBADMSG;
		size_t ks = p + 1, ke = skip_string(buf, p, len);
		if (ke >= len)
			return -EBADMSG;
		p = skip_ws(buf, ke, len);
		if (p >= len || buf[p] != ':')
			return -EBADMSG;
		p = skip_ws(buf, p + 1, len);
		size_t vs = p;
		p = skip_value(buf, p, len);
		if (p >= len)
			return -EBADMSG;
		/* A key with escapes never equals a plain key; compare the raw bytes. */
		if (ke - 1 - ks == klen && memcmp(buf + ks, key, klen) == 0) {
			*off = vs;
			*vlen = p - vs;
			return 0;
		}
		p = skip_ws(buf, p, len);
		if (p < len && buf[p] == ',')
			p++;
	}
	return -EBADMSG;
}
