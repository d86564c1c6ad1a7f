/* yaml.c - YAML streams to jansson values and jansson values to kubectl-style YAML.
 *
 * Decoding pulls libyaml events and builds JSON directly, typing plain scalars the way
 * sigs.k8s.io/yaml does (it converts with its goyaml.v2 fork, resolve.go):
 *   - booleans: y Y yes Yes YES true True TRUE on On ON and n N no No NO false False FALSE
 *     off Off OFF (YAML 1.1; so `foo: yes` is the JSON boolean true, as in kubectl, and an
 *     annotation value `on` must be quoted there too);
 *   - null: empty, ~, null Null NULL;
 *   - integers: Go strconv.ParseInt(s, 0, 64) after removing '_': 0x.. hex, 0o.. and 0..
 *     octal, 0b.. binary, optional sign; values above int64 that fit uint64 become reals;
 *   - floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, ".5"-style, and .inf/.nan
 *     (which JSON cannot hold: an error, as Go's json.Marshal gives); a float with an
 *     integral value becomes a JSON integer, as Go's JSON round trip makes it;
 *   - timestamps (2006-1-2, 2006-1-2T15:4:5Z, ...) stay strings, as goyaml.v2 does for
 *     interface{} targets; quoted, literal and folded scalars and !!str are strings.
 * Mapping keys become strings as sigs.k8s.io/yaml makes them: ints in decimal, floats in Go
 * 'g' float32 form, booleans "true"/"false"; a null or collection key is an error. Merge
 * keys (<<) are honoured with goyaml.v2's semantics. Duplicate keys are rejected (as
 * kube-apiserver's strict decoding does, like the JSON decoder in codec.c). Anchors are
 * per document; an alias is expanded by deep copy, and all aliases of one stream together
 * may copy at most API_CODEC_MAX_ALIAS_NODES nodes ("excessive aliasing", billion laughs).
 * Errors read like kube-apiserver's: "error converting YAML to JSON: yaml: line 3: ...",
 * with goyaml's line numbering.
 *
 * Encoding reproduces what `kubectl get -o yaml` prints (sigs.k8s.io/yaml.JSONToYAML ->
 * goyaml.v2 -> its libyaml emitter port): keys sorted with goyaml's natural order (digit
 * runs compare as numbers, non-letters before letters), 2-space indent, sequences inside
 * mappings not indented, empty collections as {} and [], strings that would read back as
 * another type double-quoted, strings plain YAML cannot hold single-quoted, multi-line
 * strings as literal blocks (|, |-, |+), lines folded at spaces past column 80, keys over
 * 128 bytes or multi-line written as "? key". One deliberate difference: a "<<" key is
 * quoted, since goyaml's plain "<<" would read back as a merge key. Non-ASCII runes are taken as letters when
 * sorting (Go asks unicode.IsLetter).
 */
#include "api/codec.h"

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- scalar resolution (goyaml.v2 resolve.go) ---- */

enum rkind { R_STR, R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_TIMESTAMP };

struct rval {
	enum rkind kind;
	bool b;
	long long i;
	unsigned long long u;
	double f;
};

static const struct {
	const char *s;
	enum rkind kind;
	int v; /* bool value, or float: 0 nan, 1 +inf, -1 -inf */
} rmap[] = {
    {"y", R_BOOL, 1},	    {"Y", R_BOOL, 1},	    {"yes", R_BOOL, 1},	   {"Yes", R_BOOL, 1},
    {"YES", R_BOOL, 1},	    {"true", R_BOOL, 1},    {"True", R_BOOL, 1},   {"TRUE", R_BOOL, 1},
    {"on", R_BOOL, 1},	    {"On", R_BOOL, 1},	    {"ON", R_BOOL, 1},	   {"n", R_BOOL, 0},
    {"N", R_BOOL, 0},	    {"no", R_BOOL, 0},	    {"No", R_BOOL, 0},	   {"NO", R_BOOL, 0},
    {"false", R_BOOL, 0},   {"False", R_BOOL, 0},   {"FALSE", R_BOOL, 0},  {"off", R_BOOL, 0},
    {"Off", R_BOOL, 0},	    {"OFF", R_BOOL, 0},	    {"~", R_NULL, 0},	   {"null", R_NULL, 0},
    {"Null", R_NULL, 0},    {"NULL", R_NULL, 0},    {".nan", R_FLOAT, 0},  {".NaN", R_FLOAT, 0},
    {".NAN", R_FLOAT, 0},   {".inf", R_FLOAT, 1},   {".Inf", R_FLOAT, 1},  {".INF", R_FLOAT, 1},
    {"+.inf", R_FLOAT, 1},  {"+.Inf", R_FLOAT, 1},  {"+.INF", R_FLOAT, 1}, {"-.inf", R_FLOAT, -1},
    {"-.Inf", R_FLOAT, -1}, {"-.INF", R_FLOAT, -1},
};

static bool isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads 1 or 2 digits (Go's getnum for "1", "2", "15", "4", "5" layouts). */
static bool num12(const char **p, const char *end, int *v)
{
	const char *s = *p;
	if (s >= end || !isdig(*s))
		return false;
	*v = *s++ - '0';
	if (s < end && isdig(*s))
		*v = *v * 10 + (*s++ - '0');
	*p = s;
	return true;
}

static bool num2(const char **p, const char *end, int *v)
{
	const char *s = *p;
	if (end - s < 2 || !isdig(s[0]) || !isdig(s[1]))
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	*p = s + 2;
	return true;
}

/* goyaml.v2 parseTimestamp: 2006-1-2T15:4:5.999999999Z07:00 (T or t), 2006-1-2 15:4:5.9,
 * 2006-1-2, with Go time.Parse's range checks. */
static bool is_timestamp(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	if (n < 5 || !isdig(s[0]) || !isdig(s[1]) || !isdig(s[2]) || !isdig(s[3]) || s[4] != '-')
		return false;
	int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	p += 5;
	int mon, day, h, mi, sec;
	if (!num12(&p, end, &mon) || p >= end || *p++ != '-' || !num12(&p, end, &day))
		return false;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1])
		return false;
	if (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return false;
	if (p == end)
		return true;
	char sep = *p++;
	if (sep != 'T' && sep != 't' && sep != ' ')
		return false;
	if (!num12(&p, end, &h) || p >= end || *p++ != ':' || !num12(&p, end, &mi) || p >= end ||
	    *p++ != ':' || !num12(&p, end, &sec))
		return false;
	if (h > 23 || mi > 59 || sec > 59)
		return false;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !isdig(*p))
			return false;
		while (p < end && isdig(*p))
			p++;
	}
	if (sep == ' ')
		return p == end;
	if (p < end && *p == 'Z')
		return p + 1 == end;
	if (p < end && (*p == '+' || *p == '-')) {
		int zh, zm;
		p++;
		if (!num2(&p, end, &zh) || p >= end || *p++ != ':' || !num2(&p, end, &zm))
			return false;
		return p == end && zh < 24 && zm < 60;
	}
	return false;
}

/* Go strconv.ParseUint(s, 0, 64). */
static bool go_parse_uint(const char *s, size_t n, unsigned long long *out)
{
	if (n == 0)
		return false;
	unsigned base = 10;
	size_t i = 0;
	if (s[0] == '0') {
		char c = n >= 3 ? (char)(s[1] | 0x20) : 0;
		if (c == 'b')
			base = 2, i = 2;
		else if (c == 'o')
			base = 8, i = 2;
		else if (c == 'x')
			base = 16, i = 2;
		else
			base = 8, i = 1;
	}
	unsigned long long v = 0;
	for (; i < n; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* Go strconv.ParseInt(s, 0, 64). */
static bool go_parse_int(const char *s, size_t n, long long *out)
{
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++, n--;
	}
	unsigned long long u;
	if (!go_parse_uint(s, n, &u))
		return false;
	if (!neg && u > (unsigned long long)INT64_MAX)
		return false;
	if (neg && u > (unsigned long long)INT64_MAX + 1)
		return false;
	*out = neg ? (long long)(0 - u) : (long long)u;
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !isdig(s[i]))
			return false;
		while (i < n && isdig(s[i]))
			i++;
	} else {
		if (i >= n || !isdig(s[i]))
			return false;
		while (i < n && isdig(s[i]))
			i++;
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && isdig(s[i]))
				i++;
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !isdig(s[i]))
			return false;
		while (i < n && isdig(s[i]))
			i++;
	}
	return i == n;
}

static bool parse_double(const char *s, size_t n, double *out)
{
	char tmp[128];
	if (n == 0 || n >= sizeof(tmp))
		return false; /* longer literals are not floats goyaml reads back either way */
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	double d = strtod(tmp, &end);
	if (end != tmp + n || isinf(d) || isnan(d))
		return false;
	*out = d;
	return true;
}

/* Types a plain scalar as goyaml.v2's resolve("", s) does. */
static enum rkind resolve(const char *s, size_t n, struct rval *v)
{
	memset(v, 0, sizeof(*v));
	if (n == 0)
		return v->kind = R_NULL;
	char c = s[0];
	char hint = 0;
	if (c == '+' || c == '-')
		hint = 'S';
	else if (isdig(c))
		hint = 'D';
	else if (strchr("yYnNtTfFoO~", c))
		hint = 'M';
	else if (c == '.')
		hint = '.';
	if (!hint)
		return v->kind = R_STR;
	for (size_t i = 0; i < sizeof(rmap) / sizeof(rmap[0]); i++) {
		if (strlen(rmap[i].s) == n && memcmp(rmap[i].s, s, n) == 0) {
			v->kind = rmap[i].kind;
			v->b = rmap[i].v;
			if (v->kind == R_FLOAT)
				v->f = rmap[i].v == 0 ? NAN : rmap[i].v * INFINITY;
			return v->kind;
		}
	}
	if (hint == 'M')
		return v->kind = R_STR;
	if (hint == '.') {
		if (memchr(s, '_', n) == NULL && parse_double(s, n, &v->f))
			return v->kind = R_FLOAT;
		return v->kind = R_STR;
	}
	if (is_timestamp(s, n))
		return v->kind = R_TIMESTAMP;
	char plain[128];
	size_t pn = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			continue;
		if (pn >= sizeof(plain) - 1)
			return v->kind = R_STR; /* far longer than any number */
		plain[pn++] = s[i];
	}
	if (go_parse_int(plain, pn, &v->i))
		return v->kind = R_INT;
	if (go_parse_uint(plain, pn, &v->u))
		return v->kind = R_UINT;
	if (yaml_style_float(plain, pn) && parse_double(plain, pn, &v->f))
		return v->kind = R_FLOAT;
	return v->kind = R_STR;
}

/* strconv.FormatFloat(f, 'g', -1, bits): the shortest digits that read back, in %e form
 * when the decimal exponent is < -4 or >= 6 (Go's eprec for shortest 'g'). */
static void go_format_float(double f, int bits, char *out, size_t outlen)
{
	if (isnan(f)) {
		snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(f)) {
		snprintf(out, outlen, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (f == 0) {
		snprintf(out, outlen, signbit(f) ? "-0" : "0");
		return;
	}
	char e[64];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, f);
		double back = strtod(e, NULL);
		if (bits == 32 ? (float)back == (float)f : back == f)
			break;
	}
	/* e is "-d.ddde+XX": collect digits and exponent. */
	char digs[32];
	int nd = 0;
	const char *q = e;
	bool neg = false;
	if (*q == '-')
		neg = true, q++;
	for (; *q && *q != 'e'; q++)
		if (isdig(*q) && nd < 31)
			digs[nd++] = *q;
	digs[nd] = 0;
	while (nd > 1 && digs[nd - 1] == '0')
		digs[--nd] = 0;
	int exp = *q == 'e' ? atoi(q + 1) : 0;
	int eprec = 6;
	struct buf b;
	buf_init(&b);
	if (neg)
		buf_putc(&b, '-');
	if (exp < -4 || exp >= eprec) {
		buf_putc(&b, digs[0]);
		if (nd > 1) {
			buf_putc(&b, '.');
			buf_append(&b, digs + 1, (size_t)nd - 1);
		}
		buf_printf(&b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		buf_puts(&b, "0.");
		for (int i = 0; i < -exp - 1; i++)
			buf_putc(&b, '0');
		buf_append(&b, digs, (size_t)nd);
	} else {
		for (int i = 0; i <= exp; i++)
			buf_putc(&b, i < nd ? digs[i] : '0');
		if (nd > exp + 1) {
			buf_putc(&b, '.');
			buf_append(&b, digs + exp + 1, (size_t)(nd - exp - 1));
		}
	}
	snprintf(out, outlen, "%s", b.data);
	buf_fini(&b);
}

/* ---- decoding ---- */

struct anchor {
	char *name;
	json_t *value;
	size_t nodes;
};

struct ydec {
	yaml_parser_t parser;
	VEC(struct anchor) anchors;
	size_t alias_nodes;
	char *err;
	size_t errlen;
};

#define YPFX "error converting YAML to JSON: yaml: "

static int parser_fail(struct ydec *d)
{
	yaml_parser_t *p = &d->parser;
	size_t line = 0;
	if (p->problem_mark.line != 0) {
		line = p->problem_mark.line;
		if (p->error == YAML_SCANNER_ERROR)
			line++;
	} else if (p->context_mark.line != 0) {
		line = p->context_mark.line;
	}
	const char *msg = p->problem ? p->problem : "unknown problem parsing YAML content";
	if (p->error == YAML_MEMORY_ERROR)
		msg = "out of memory";
	if (line)
		snprintf(d->err, d->errlen, YPFX "line %zu: %s", line, msg);
	else
		snprintf(d->err, d->errlen, YPFX "%s", msg);
	return -EBADMSG;
}

static int next_event(struct ydec *d, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&d->parser, ev))
		return parser_fail(d);
	return 0;
}

static void anchor_add(struct ydec *d, const char *name, json_t *v, size_t nodes)
{
	*vec_push(&d->anchors) = (struct anchor){xstrdup(name), json_incref(v), nodes};
}

static void anchors_clear(struct ydec *d)
{
	for (size_t i = 0; i < d->anchors.len; i++) {
		free(d->anchors.v[i].name);
		json_decref(d->anchors.v[i].value);
	}
	d->anchors.len = 0;
}

static bool is_yaml_tag(const char *tag, const char *name)
{
	static const char pfx[] = "tag:yaml.org,2002:";
	return tag && strncmp(tag, pfx, sizeof(pfx) - 1) == 0 && strcmp(tag + sizeof(pfx) - 1, name) == 0;
}

/* Scalar event to JSON; *rk gets the resolved kind (for keys). */
static int scalar_value(struct ydec *d, const yaml_event_t *ev, json_t **out, struct rval *rv)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool as_string;
	if (!tag)
		as_string = !ev->data.scalar.plain_implicit;
	else
		as_string =
		    !(is_yaml_tag(tag, "null") || is_yaml_tag(tag, "bool") || is_yaml_tag(tag, "int") ||
		      is_yaml_tag(tag, "float") || is_yaml_tag(tag, "timestamp"));
	if (as_string) {
		memset(rv, 0, sizeof(*rv));
		rv->kind = R_STR;
	} else {
		resolve(s, n, rv);
	}
	json_t *v = NULL;
	switch (rv->kind) {
	case R_STR:
	case R_TIMESTAMP:
		v = json_stringn(s, n);
		if (!v) {
			snprintf(d->err, d->errlen, YPFX "line %zu: invalid UTF-8 in scalar",
				 ev->start_mark.line + 1);
			return -EBADMSG;
		}
		break;
	case R_NULL:
		v = json_null();
		break;
	case R_BOOL:
		v = json_boolean(rv->b);
		break;
	case R_INT:
		v = json_integer(rv->i);
		break;
	case R_UINT:
		v = json_real((double)rv->u);
		break;
	case R_FLOAT:
		if (isnan(rv->f) || isinf(rv->f)) {
			snprintf(d->err, d->errlen,
				 "error converting YAML to JSON: json: unsupported value: %s",
				 isnan(rv->f) ? "NaN"
				 : rv->f > 0  ? "+Inf"
					      : "-Inf");
			return -EBADMSG;
		}
		if (rv->f == floor(rv->f) && fabs(rv->f) < 9.2e18)
			v = json_integer((json_int_t)rv->f);
		else
			v = json_real(rv->f);
		break;
	}
	*out = v;
	return 0;
}

static int parse_node(struct ydec *d, yaml_event_t *ev, int depth, json_t **out, size_t *nodes,
		      struct rval *rv);
static int parse_pair(struct ydec *d, int depth, json_t *obj, json_t *seen, size_t *nodes);

/* Merges the value of a "<<" key into obj: a mapping, or a sequence of mappings where the
 * earlier ones win (goyaml.v2 decode.go merge). */
static int merge_into(struct ydec *d, json_t *obj, json_t *src, size_t line)
{
	if (json_is_object(src)) {
		json_object_update(obj, src);
		return 0;
	}
	if (json_is_array(src)) {
		for (size_t i = json_array_size(src); i-- > 0;) {
			json_t *m = json_array_get(src, i);
			if (!json_is_object(m))
				goto bad;
			json_object_update(obj, m);
		}
		return 0;
	}
bad:
	snprintf(d->err, d->errlen, YPFX "line %zu: map merge requires map or sequence of maps as the value",
		 line);
	return -EBADMSG;
}

static int key_string(struct ydec *d, json_t *k, const struct rval *rv, size_t line, char **s, size_t *n)
{
	char tmp[64];
	const char *what = NULL;
	switch (json_typeof(k)) {
	case JSON_STRING:
		*n = json_string_length(k);
		*s = xmalloc(*n + 1);
		memcpy(*s, json_string_value(k), *n);
		(*s)[*n] = 0;
		return 0;
	case JSON_INTEGER:
		if (rv && rv->kind == R_FLOAT)
			go_format_float(rv->f, 32, tmp, sizeof(tmp));
		else
			snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(k));
		break;
	case JSON_REAL:
		if (rv && rv->kind == R_UINT) {
			what = "uint64";
			goto unsupported;
		}
		go_format_float(rv ? rv->f : json_real_value(k), 32, tmp, sizeof(tmp));
		break;
	case JSON_TRUE:
		snprintf(tmp, sizeof(tmp), "true");
		break;
	case JSON_FALSE:
		snprintf(tmp, sizeof(tmp), "false");
		break;
	case JSON_NULL:
		what = "%!s(<nil>)";
		goto unsupported;
	default:
		snprintf(d->err, d->errlen, YPFX "line %zu: invalid map key", line);
		return -EBADMSG;
	}
	*s = xstrdup(tmp);
	*n = strlen(tmp);
	return 0;
unsupported:
	snprintf(d->err, d->errlen,
		 "error converting YAML to JSON: unsupported map key of type: %s (line %zu)", what, line);
	return -EBADMSG;
}

static int parse_mapping(struct ydec *d, int depth, json_t *obj, size_t *nodes)
{
	/* Keys written in this mapping (merged ones may be overridden, these may not). */
	json_t *seen = json_object();
	int rc = 0;
	for (;;) {
		rc = parse_pair(d, depth, obj, seen, nodes);
		if (rc)
			break;
	}
	json_decref(seen);
	return rc > 0 ? 0 : rc;
}

/* Reads one key/value pair into obj; 1 at the end of the mapping. */
static int parse_pair(struct ydec *d, int depth, json_t *obj, json_t *seen, size_t *nodes)
{
	yaml_event_t kev;
	int rc = next_event(d, &kev);
	if (rc)
		return rc;
	if (kev.type == YAML_MAPPING_END_EVENT) {
		yaml_event_delete(&kev);
		return 1;
	}
	size_t line = kev.start_mark.line + 1;
	bool merge = kev.type == YAML_SCALAR_EVENT && kev.data.scalar.plain_implicit &&
		     !kev.data.scalar.tag && kev.data.scalar.length == 2 &&
		     memcmp(kev.data.scalar.value, "<<", 2) == 0;
	json_t *k = NULL, *v = NULL;
	struct rval krv = {0};
	size_t kn = 0, vn = 0;
	rc = parse_node(d, &kev, depth, &k, &kn, &krv);
	if (rc)
		return rc;
	yaml_event_t vev;
	rc = next_event(d, &vev);
	if (rc) {
		json_decref(k);
		return rc;
	}
	struct rval vrv;
	rc = parse_node(d, &vev, depth, &v, &vn, &vrv);
	if (rc) {
		json_decref(k);
		return rc;
	}
	*nodes += kn + vn;
	if (merge) {
		rc = merge_into(d, obj, v, line);
	} else {
		char *ks = NULL;
		size_t kl = 0;
		rc = key_string(d, k, json_is_string(k) ? NULL : &krv, line, &ks, &kl);
		if (rc == 0 && json_object_getn(seen, ks, kl)) {
			snprintf(
			    d->err, d->errlen,
			    "error converting YAML to JSON: yaml: unmarshal errors:\n  line %zu: key \"%.*s\" already set in map",
			    line, (int)(kl > 200 ? 200 : kl), ks);
			rc = -EBADMSG;
		}
		if (rc == 0 && json_object_setn(obj, ks, kl, v) != 0) {
			snprintf(d->err, d->errlen, YPFX "line %zu: invalid UTF-8 in map key", line);
			rc = -EBADMSG;
		}
		if (rc == 0)
			json_object_setn_new(seen, ks, kl, json_true());
		free(ks);
	}
	json_decref(k);
	json_decref(v);
	return rc;
}

/* Builds the node that starts with *ev (consumed here) and the events up to its end. */
static int parse_node(struct ydec *d, yaml_event_t *ev, int depth, json_t **out, size_t *nodes,
		      struct rval *rv)
{
	int rc = 0;
	json_t *v = NULL;
	const char *anchor = NULL;
	*nodes = 1;
	memset(rv, 0, sizeof(*rv));
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		rc = scalar_value(d, ev, &v, rv);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		struct anchor *a = NULL;
		for (size_t i = d->anchors.len; i-- > 0;)
			if (strcmp(d->anchors.v[i].name, name) == 0) {
				a = &d->anchors.v[i];
				break;
			}
		if (!a) {
			snprintf(d->err, d->errlen, YPFX "line %zu: unknown anchor '%s' referenced",
				 ev->start_mark.line + 1, name);
			rc = -EBADMSG;
			break;
		}
		if (a->nodes > API_CODEC_MAX_ALIAS_NODES - d->alias_nodes) {
			snprintf(d->err, d->errlen, YPFX "document contains excessive aliasing");
			rc = -EBADMSG;
			break;
		}
		d->alias_nodes += a->nodes;
		*nodes = a->nodes;
		v = json_deep_copy(a->value);
		if (json_is_integer(v) || json_is_real(v)) {
			rv->kind = json_is_integer(v) ? R_INT : R_FLOAT;
			rv->i = json_is_integer(v) ? json_integer_value(v) : 0;
			rv->f = json_number_value(v);
		}
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
		anchor = (const char *)(seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor);
		if (depth >= API_CODEC_MAX_DEPTH) {
			snprintf(d->err, d->errlen, YPFX "line %zu: exceeded max depth of %d",
				 ev->start_mark.line + 1, API_CODEC_MAX_DEPTH);
			rc = -EBADMSG;
			break;
		}
		if (seq) {
			v = json_array();
			for (;;) {
				yaml_event_t iev;
				rc = next_event(d, &iev);
				if (rc)
					break;
				if (iev.type == YAML_SEQUENCE_END_EVENT) {
					yaml_event_delete(&iev);
					break;
				}
				json_t *item;
				size_t in;
				struct rval irv;
				rc = parse_node(d, &iev, depth + 1, &item, &in, &irv);
				if (rc)
					break;
				*nodes += in;
				json_array_append_new(v, item);
			}
		} else {
			v = json_object();
			rc = parse_mapping(d, depth + 1, v, nodes);
		}
		break;
	}
	default:
		snprintf(d->err, d->errlen, YPFX "line %zu: unexpected event %d", ev->start_mark.line + 1,
			 (int)ev->type);
		rc = -EBADMSG;
		break;
	}
	if (rc == 0 && anchor)
		anchor_add(d, anchor, v, *nodes);
	yaml_event_delete(ev);
	if (rc) {
		json_decref(v);
		v = NULL;
	}
	*out = v;
	return rc;
}

int api_yaml_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len > API_CODEC_MAX_BYTES) {
		snprintf(err, errlen, "yaml: body of %zu bytes exceeds the limit of %d bytes", len,
			 API_CODEC_MAX_BYTES);
		return -EBADMSG;
	}
	struct ydec d = {.err = err, .errlen = errlen};
	if (!yaml_parser_initialize(&d.parser))
		abort(); /* out of memory */
	yaml_parser_set_input_string(&d.parser, (const unsigned char *)buf, len);
	json_t *docs = json_array();
	int ndocs = 0, rc = 0;
	for (;;) {
		yaml_event_t ev;
		rc = next_event(&d, &ev);
		if (rc)
			break;
		yaml_event_type_t t = ev.type;
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
		if (t != YAML_DOCUMENT_START_EVENT)
			continue; /* STREAM_START */
		if (++ndocs > API_CODEC_MAX_DOCS) {
			snprintf(err, errlen, YPFX "more than %d documents", API_CODEC_MAX_DOCS);
			rc = -EBADMSG;
			break;
		}
		rc = next_event(&d, &ev);
		if (rc)
			break;
		json_t *root;
		size_t nodes;
		struct rval rv;
		rc = parse_node(&d, &ev, 0, &root, &nodes, &rv);
		if (rc)
			break;
		anchors_clear(&d);
		if (!json_is_null(root))
			json_array_append(docs, root);
		json_decref(root);
		rc = next_event(&d, &ev); /* DOCUMENT_END */
		if (rc)
			break;
		yaml_event_delete(&ev);
	}
	anchors_clear(&d);
	vec_free(&d.anchors);
	yaml_parser_delete(&d.parser);
	if (rc) {
		json_decref(docs);
		return rc;
	}
	*out = docs;
	return 0;
}

/* ---- encoding ---- */

enum { BEST_WIDTH = 80, BEST_INDENT = 2 };

/* Decodes one rune at s[*i] (an invalid byte counts as itself). */
static uint32_t rune_at(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t r;
	size_t w;
	if (c < 0x80)
		r = c, w = 1;
	else if ((c & 0xE0) == 0xC0)
		r = c & 0x1F, w = 2;
	else if ((c & 0xF0) == 0xE0)
		r = c & 0x0F, w = 3;
	else if ((c & 0xF8) == 0xF0)
		r = c & 0x07, w = 4;
	else
		r = c, w = 1;
	if (*i + w > n)
		w = 1, r = c;
	for (size_t k = 1; k < w; k++) {
		if ((s[*i + k] & 0xC0) != 0x80) {
			w = 1, r = c;
			break;
		}
		r = (r << 6) | (s[*i + k] & 0x3F);
	}
	*i += w;
	return r;
}

static bool rune_letter(uint32_t r)
{
	if (r < 0x80)
		return (r | 0x20) >= 'a' && (r | 0x20) <= 'z';
	/* Approximation of unicode.IsLetter: most non-ASCII runes in keys are letters;
	 * C1 controls, Latin-1 punctuation and the general punctuation block are not. */
	if (r < 0xC0 || r == 0xD7 || r == 0xF7)
		return r == 0xAA || r == 0xB5 || r == 0xBA;
	if (r >= 0x2000 && r <= 0x2BFF)
		return false;
	if (r >= 0x3000 && r <= 0x303F)
		return false;
	return true;
}

static bool rune_digit(uint32_t r)
{
	return r >= '0' && r <= '9';
}

struct key {
	const char *s;
	size_t n;
	uint32_t *r;
	size_t nr;
};

/* goyaml.v2 sorter.go keyList.Less for two string keys. */
static int key_cmp(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;
	const uint32_t *ar = a->r, *br = b->r;
	for (size_t i = 0; i < a->nr && i < b->nr; i++) {
		if (ar[i] == br[i])
			continue;
		bool al = rune_letter(ar[i]), bl = rune_letter(br[i]);
		if (al && bl)
			return ar[i] < br[i] ? -1 : 1;
		if (al || bl)
			return bl ? -1 : 1;
		uint64_t an = 0, bn = 0;
		size_t ai, bi;
		if (ar[i] == '0' || br[i] == '0') {
			for (size_t j = i; j-- > 0 && rune_digit(ar[j]);) {
				if (ar[j] != '0') {
					an = 1;
					bn = 1;
					break;
				}
			}
		}
		for (ai = i; ai < a->nr && rune_digit(ar[ai]); ai++)
			an = an * 10 + (ar[ai] - '0');
		for (bi = i; bi < b->nr && rune_digit(br[bi]); bi++)
			bn = bn * 10 + (br[bi] - '0');
		if (an != bn)
			return (int64_t)an < (int64_t)bn ? -1 : 1;
		if (ai != bi)
			return ai < bi ? -1 : 1;
		return ar[i] < br[i] ? -1 : 1;
	}
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	return 0;
}

static size_t column(const struct buf *b)
{
	size_t col = 0;
	for (size_t i = b->len; i-- > 0;) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '\n')
			break;
		if ((c & 0xC0) != 0x80)
			col++;
	}
	return col;
}

static void put_spaces(struct buf *b, int n)
{
	for (int i = 0; i < n; i++)
		buf_putc(b, ' ');
}

/* libyaml's IS_PRINTABLE on the bytes at p (n remaining). */
static bool printable(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], c1 = n > 1 ? p[1] : 0, c2 = n > 2 ? p[2] : 0;
	return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c == 0xC2 && c1 >= 0xA0) || (c > 0xC2 && c < 0xED) ||
	       (c == 0xED && c1 < 0xA0) || c == 0xEE ||
	       (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF))) ||
	       (c >= 0xF0 && c <= 0xF4);
}

static size_t width_at(const unsigned char *p)
{
	unsigned char c = p[0];
	return (c & 0x80) == 0	    ? 1
	       : (c & 0xE0) == 0xC0 ? 2
	       : (c & 0xF0) == 0xE0 ? 3
	       : (c & 0xF8) == 0xF0 ? 4
				    : 1;
}

/* libyaml IS_BREAK: \r \n U+0085 U+2028 U+2029. */
static size_t break_at(const unsigned char *p, size_t n)
{
	if (p[0] == '\r' || p[0] == '\n')
		return 1;
	if (n >= 2 && p[0] == 0xC2 && p[1] == 0x85)
		return 2;
	if (n >= 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
		return 3;
	return 0;
}

struct analysis {
	bool multiline, block_plain, single_quoted, block, special_breaks;
};

/* yaml_emitter_analyze_scalar for block context. */
static void analyze(const unsigned char *s, size_t n, struct analysis *a)
{
	memset(a, 0, sizeof(*a));
	if (n == 0) {
		a->block_plain = true;
		a->single_quoted = true;
		return;
	}
	bool block_ind = false, special = false, line_breaks = false;
	bool leading_space = false, leading_break = false, trailing_space = false, trailing_break = false;
	bool break_space = false, space_break = false, prev_space = false, prev_break = false;
	if (n >= 3 &&
	    ((s[0] == '-' && s[1] == '-' && s[2] == '-') || (s[0] == '.' && s[1] == '.' && s[2] == '.')))
		block_ind = true;
	bool preceded_ws = true;
	size_t w0 = width_at(s);
	bool followed_ws = w0 >= n || s[w0] == ' ' || s[w0] == '\t' || break_at(s + w0, n - w0);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t w = width_at(s + i);
		if (i + w > n)
			w = n - i;
		if (i == 0) {
			if (strchr("#,[]{}&*!|>'\"%@`", c) && c)
				block_ind = true;
			if ((c == '?' || c == ':') && followed_ws)
				block_ind = true;
			if (c == '-' && followed_ws)
				block_ind = true;
		} else {
			if (c == ':' && followed_ws)
				block_ind = true;
			if (c == '#' && preceded_ws)
				block_ind = true;
		}
		size_t bw = break_at(s + i, n - i);
		if (!printable(s + i, n - i) ||
		    (c == 0xEF && i + 2 < n && s[i + 1] == 0xBB && s[i + 2] == 0xBF))
			special = true;
		if (bw) {
			line_breaks = true;
			if (c != '\n')
				a->special_breaks = true;
		}
		if (c == ' ') {
			if (i == 0)
				leading_space = true;
			if (i + w == n)
				trailing_space = true;
			if (prev_break)
				break_space = true;
			prev_space = true;
			prev_break = false;
		} else if (bw) {
			if (i == 0)
				leading_break = true;
			if (i + w == n)
				trailing_break = true;
			if (prev_space)
				space_break = true;
			prev_space = false;
			prev_break = true;
		} else {
			prev_space = false;
			prev_break = false;
		}
		preceded_ws = c == ' ' || c == '\t' || bw;
		i += w;
		if (i < n) {
			size_t w2 = width_at(s + i);
			followed_ws = i + w2 >= n || s[i + w2] == ' ' || s[i + w2] == '\t' ||
				      break_at(s + i + w2, n - i - w2);
		}
	}
	a->multiline = line_breaks;
	a->block_plain = a->single_quoted = a->block = true;
	if (leading_space || leading_break || trailing_space || trailing_break)
		a->block_plain = false;
	if (trailing_space)
		a->block = false;
	if (break_space)
		a->block_plain = a->single_quoted = false;
	if (space_break || special)
		a->block_plain = a->single_quoted = a->block = false;
	if (line_breaks)
		a->block_plain = false;
	if (block_ind)
		a->block_plain = false;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool is_base60_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !isdig(s[i]))
		return false;
	while (i < n && (isdig(s[i]) || s[i] == '_'))
		i++;
	int groups = 0;
	while (i < n && s[i] == ':') {
		i++;
		if (i + 1 < n && s[i] >= '0' && s[i] <= '5' && isdig(s[i + 1]))
			i += 2;
		else if (i < n && isdig(s[i]))
			i++;
		else
			return false;
		groups++;
	}
	if (!groups)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && (isdig(s[i]) || s[i] == '_'))
			i++;
	}
	return i == n;
}

enum style { ST_PLAIN, ST_SINGLE, ST_DOUBLE, ST_LITERAL };

static enum style choose_style(const char *s, size_t n, bool simple_key, const struct analysis *a)
{
	struct rval rv;
	bool can_plain = resolve(s, n, &rv) == R_STR && !is_base60_float(s, n);
	/* goyaml writes a "<<" key plain, which reads back as a merge key; quote it. */
	if (simple_key && n == 2 && s[0] == '<' && s[1] == '<')
		can_plain = false;
	enum style st = memchr(s, '\n', n) ? ST_LITERAL : can_plain ? ST_PLAIN : ST_DOUBLE;
	if (simple_key && a->multiline)
		st = ST_DOUBLE;
	if (st == ST_PLAIN) {
		if (!a->block_plain)
			st = ST_SINGLE;
		if (n == 0 && simple_key)
			st = ST_SINGLE;
	}
	if (st == ST_SINGLE && (!a->single_quoted || a->special_breaks))
		st = ST_DOUBLE;
	if (st == ST_LITERAL && (!a->block || simple_key || a->special_breaks))
		st = ST_DOUBLE;
	return st;
}

static void write_indent(struct buf *b, size_t *col, int indent)
{
	buf_putc(b, '\n');
	put_spaces(b, indent);
	*col = (size_t)indent;
}

/* Writes a string scalar at the end of b; indent is where folded lines continue. */
static void write_str(struct buf *b, const char *str, size_t n, int indent, bool simple_key)
{
	const unsigned char *s = (const unsigned char *)str;
	struct analysis a;
	analyze(s, n, &a);
	enum style st = choose_style(str, n, simple_key, &a);
	bool allow_breaks = !simple_key;
	size_t col = column(b);
	bool spaces = false;
	switch (st) {
	case ST_PLAIN:
		for (size_t i = 0; i < n;) {
			size_t w = width_at(s + i);
			if (i + w > n)
				w = n - i;
			if (s[i] == ' ') {
				if (allow_breaks && !spaces && col > BEST_WIDTH &&
				    !(i + 1 < n && s[i + 1] == ' '))
					write_indent(b, &col, indent);
				else
					buf_putc(b, ' '), col++;
				spaces = true;
			} else {
				buf_append(b, s + i, w), col++;
				spaces = false;
			}
			i += w;
		}
		break;
	case ST_SINGLE:
		buf_putc(b, '\''), col++;
		for (size_t i = 0; i < n;) {
			size_t w = width_at(s + i);
			if (i + w > n)
				w = n - i;
			if (s[i] == ' ') {
				if (allow_breaks && !spaces && col > BEST_WIDTH && i != 0 && i != n - 1 &&
				    !(i + 1 < n && s[i + 1] == ' '))
					write_indent(b, &col, indent);
				else
					buf_putc(b, ' '), col++;
				spaces = true;
			} else {
				if (s[i] == '\'')
					buf_putc(b, '\''), col++;
				buf_append(b, s + i, w), col++;
				spaces = false;
			}
			i += w;
		}
		buf_putc(b, '\'');
		break;
	case ST_DOUBLE:
		buf_putc(b, '"'), col++;
		for (size_t i = 0; i < n;) {
			size_t w = width_at(s + i);
			if (i + w > n)
				w = n - i;
			bool bom = w == 3 && s[i] == 0xEF && s[i + 1] == 0xBB && s[i + 2] == 0xBF;
			if (!printable(s + i, n - i) || bom || break_at(s + i, n - i) || s[i] == '"' ||
			    s[i] == '\\') {
				size_t j = i;
				uint32_t r = rune_at(s, n, &j);
				w = j - i;
				char e[12];
				switch (r) {
				case 0x00:
					snprintf(e, sizeof(e), "\\0");
					break;
				case 0x07:
					snprintf(e, sizeof(e), "\\a");
					break;
				case 0x08:
					snprintf(e, sizeof(e), "\\b");
					break;
				case 0x09:
					snprintf(e, sizeof(e), "\\t");
					break;
				case 0x0A:
					snprintf(e, sizeof(e), "\\n");
					break;
				case 0x0B:
					snprintf(e, sizeof(e), "\\v");
					break;
				case 0x0C:
					snprintf(e, sizeof(e), "\\f");
					break;
				case 0x0D:
					snprintf(e, sizeof(e), "\\r");
					break;
				case 0x1B:
					snprintf(e, sizeof(e), "\\e");
					break;
				case 0x22:
					snprintf(e, sizeof(e), "\\\"");
					break;
				case 0x5C:
					snprintf(e, sizeof(e), "\\\\");
					break;
				case 0x85:
					snprintf(e, sizeof(e), "\\N");
					break;
				case 0xA0:
					snprintf(e, sizeof(e), "\\_");
					break;
				case 0x2028:
					snprintf(e, sizeof(e), "\\L");
					break;
				case 0x2029:
					snprintf(e, sizeof(e), "\\P");
					break;
				default:
					if (r <= 0xFF)
						snprintf(e, sizeof(e), "\\x%02X", (unsigned)r);
					else if (r <= 0xFFFF)
						snprintf(e, sizeof(e), "\\u%04X", (unsigned)r);
					else
						snprintf(e, sizeof(e), "\\U%08X", (unsigned)r);
				}
				buf_puts(b, e);
				col += strlen(e);
				spaces = false;
			} else if (s[i] == ' ') {
				if (allow_breaks && !spaces && col > BEST_WIDTH && i != 0 && i != n - 1) {
					write_indent(b, &col, indent);
					if (i + 1 < n && s[i + 1] == ' ')
						buf_putc(b, '\\'), col++;
				} else {
					buf_putc(b, ' '), col++;
				}
				spaces = true;
			} else {
				buf_append(b, s + i, w), col++;
				spaces = false;
			}
			i += w;
		}
		buf_putc(b, '"');
		break;
	case ST_LITERAL: {
		buf_putc(b, '|');
		if (n && (s[0] == ' ' || s[0] == '\n'))
			buf_putc(b, '0' + BEST_INDENT);
		if (n == 0 || s[n - 1] != '\n')
			buf_putc(b, '-');
		else if (n == 1 || s[n - 2] == '\n')
			buf_putc(b, '+');
		buf_putc(b, '\n');
		bool breaks = true;
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\n') {
				buf_putc(b, '\n');
				breaks = true;
			} else {
				if (breaks)
					put_spaces(b, indent);
				buf_putc(b, (char)s[i]);
				breaks = false;
			}
		}
		/* The caller ends the line; a literal that ended with a break already did. */
		if (n && s[n - 1] == '\n')
			b->data[--b->len] = 0;
		break;
	}
	}
}

static void write_scalar(struct buf *b, const json_t *v, int indent)
{
	char tmp[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		write_str(b, json_string_value(v), json_string_length(v), indent, false);
		return;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	case JSON_REAL: {
		go_format_float(json_real_value(v), 64, tmp, sizeof(tmp));
		if (strcmp(tmp, "+Inf") == 0)
			buf_puts(b, ".inf");
		else if (strcmp(tmp, "-Inf") == 0)
			buf_puts(b, "-.inf");
		else if (strcmp(tmp, "NaN") == 0)
			buf_puts(b, ".nan");
		else
			buf_puts(b, tmp);
		return;
	}
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
	case JSON_OBJECT:
	case JSON_ARRAY: {
		static const char *const lit[] = {[JSON_TRUE] = "true",
						  [JSON_FALSE] = "false",
						  [JSON_NULL] = "null",
						  [JSON_OBJECT] = "{}",
						  [JSON_ARRAY] = "[]"};
		buf_puts(b, lit[json_typeof(v)]);
		return;
	}
	}
}

static bool is_block(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) || (json_is_array(v) && json_array_size(v) > 0);
}

static void write_map(struct buf *b, const json_t *obj, int indent, bool inline_first);

static void write_seq(struct buf *b, const json_t *arr, int indent, bool inline_first)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *item = json_array_get(arr, i);
		if (i > 0 || !inline_first)
			put_spaces(b, indent);
		buf_puts(b, "- ");
		if (json_is_object(item) && json_object_size(item) > 0) {
			write_map(b, item, indent + BEST_INDENT, true);
		} else if (json_is_array(item) && json_array_size(item) > 0) {
			write_seq(b, item, indent + BEST_INDENT, true);
		} else {
			write_scalar(b, item, indent + BEST_INDENT);
			buf_putc(b, '\n');
		}
	}
}

static void write_map(struct buf *b, const json_t *obj, int indent, bool inline_first)
{
	size_t n = json_object_size(obj);
	struct key *keys = xcalloc(n ? n : 1, sizeof(*keys));
	size_t k = 0;
	void *it;
	for (it = json_object_iter((json_t *)obj); it && k < n;
	     it = json_object_iter_next((json_t *)obj, it)) {
		struct key *ky = &keys[k++];
		ky->s = json_object_iter_key(it);
		ky->n = json_object_iter_key_len(it);
		ky->r = xmalloc((ky->n + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < ky->n;)
			ky->r[ky->nr++] = rune_at((const unsigned char *)ky->s, ky->n, &i);
	}
	xqsort(keys, k, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < k; i++) {
		const json_t *v = json_object_getn(obj, keys[i].s, keys[i].n);
		if (i > 0 || !inline_first)
			put_spaces(b, indent);
		struct analysis a;
		analyze((const unsigned char *)keys[i].s, keys[i].n, &a);
		bool complex = keys[i].n > 128 || a.multiline;
		if (complex) {
			buf_puts(b, "? ");
			write_str(b, keys[i].s, keys[i].n, indent + BEST_INDENT, false);
			buf_putc(b, '\n');
			put_spaces(b, indent);
			buf_putc(b, ':');
			if (json_is_object(v) && json_object_size(v) > 0) {
				buf_putc(b, ' ');
				write_map(b, v, indent + BEST_INDENT, true);
			} else if (json_is_array(v) && json_array_size(v) > 0) {
				buf_putc(b, ' ');
				write_seq(b, v, indent + BEST_INDENT, true);
			} else {
				buf_putc(b, ' ');
				write_scalar(b, v, indent + BEST_INDENT);
				buf_putc(b, '\n');
			}
			continue;
		}
		write_str(b, keys[i].s, keys[i].n, indent, true);
		buf_putc(b, ':');
		if (!is_block(v)) {
			buf_putc(b, ' ');
			write_scalar(b, v, indent + BEST_INDENT);
			buf_putc(b, '\n');
		} else if (json_is_object(v)) {
			buf_putc(b, '\n');
			write_map(b, v, indent + BEST_INDENT, false);
		} else {
			buf_putc(b, '\n');
			write_seq(b, v, indent, false);
		}
	}
	for (size_t i = 0; i < k; i++)
		free(keys[i].r);
	free(keys);
}

char *api_yaml_encode(const json_t *v)
{
	struct buf b;
	buf_init(&b);
	if (json_is_object(v) && json_object_size(v) > 0) {
		write_map(&b, v, 0, false);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		write_seq(&b, v, 0, false);
	} else if (v) {
		write_scalar(&b, v, BEST_INDENT);
		buf_putc(&b, '\n');
	} else {
		buf_puts(&b, "null\n");
	}
	return buf_take(&b);
}
