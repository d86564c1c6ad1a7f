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
