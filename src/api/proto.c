/* proto.c - Kubernetes protobuf request bodies (kubectl >= 1.32 typed creates) to JSON.
 *
 * A body is the magic "k8s\0" and a runtime.Unknown message {1 typeMeta {1 apiVersion,
 * 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}; raw is the kind's own message. There
 * is no generated code: the decoder walks the schema tables of api/schema.h, matching each
 * wire field number against api_field.proto. Field shapes on the wire (gogo-protobuf, as
 * k8s.io/api generates them):
 *   string, Quantity {1 string}        length-delimited
 *   int32/int64/bool                   varint (a negative int32 is a 10-byte varint)
 *   nested message, IntOrString {1 type 0=int 1=string, 2 intVal, 3 strVal},
 *   Time {1 seconds, 2 nanos}          length-delimited message
 *   map<string,X>                      repeated entry messages {1 key, 2 value}
 *   repeated string/message            one field per element; repeated ints packed or not
 * Go marshals every non-pointer field, zero or not; to get the JSON that Go's omitempty
 * gives, "" / 0 / false / an empty Time are left out unless the field has API_F_POINTER.
 * Nested messages are kept even when empty ({}), as Go's JSON keeps structs. A field
 * flagged API_F_INLINE is a nested message whose fields JSON puts in the parent
 * (IngressRule's IngressRuleValue). Unknown field numbers are skipped (wire types 0, 1, 2,
 * 5); groups and wire types 6/7 are malformed. Every read checks the remaining length and
 * message nesting is bounded by API_CODEC_MAX_DEPTH; nothing here trusts a length.
 */
#include "api/base64.h"
#include "api/codec.h"

#include "api/schema.h"
#include "api/schema_defs.h"
#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rd {
	const unsigned char *p, *end;
};

struct pdec {
	char *err;
	size_t errlen;
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int fail(struct pdec *d, const char *msg, unsigned field)
{
	if (field)
		snprintf(d->err, d->errlen, "proto: %s (field %u)", msg, field);
	else
		snprintf(d->err, d->errlen, "proto: %s", msg);
	return -EBADMSG;
}

static int rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return -EBADMSG;
		unsigned char c = *r->p++;
		if (i == 9 && c > 1)
			return -EBADMSG; /* more than 64 bits */
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Reads a length-delimited payload into *sub. */
static int rd_bytes(struct rd *r, struct rd *sub)
{
	uint64_t n;
	if (rd_varint(r, &n))
		return -EBADMSG;
	if (n > (uint64_t)(r->end - r->p))
		return -EBADMSG;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

static int rd_skip(struct rd *r, unsigned wt)
{
	uint64_t v;
	struct rd sub;
	switch (wt) {
	case WT_VARINT:
		return rd_varint(r, &v);
	case WT_I64:
		if (r->end - r->p < 8)
			return -EBADMSG;
		r->p += 8;
		return 0;
	case WT_LEN:
		return rd_bytes(r, &sub);
	case WT_I32:
		if (r->end - r->p < 4)
			return -EBADMSG;
		r->p += 4;
		return 0;
	default:
		return -EBADMSG; /* groups (3, 4) and the undefined 6, 7 */
	}
}

/* Reads the next field key; 1 when one was read, 0 at the end, -EBADMSG when malformed. */
static int rd_key(struct rd *r, unsigned *field, unsigned *wt)
{
	if (r->p >= r->end)
		return 0;
	uint64_t k;
	if (rd_varint(r, &k) || (k >> 3) == 0 || (k >> 3) > 0x1fffffff)
		return -EBADMSG;
	*field = (unsigned)(k >> 3);
	*wt = (unsigned)(k & 7);
	return 1;
}

static json_t *str_value(struct pdec *d, const struct rd *s, unsigned field, int *rc)
{
	json_t *v = json_stringn((const char *)s->p, (size_t)(s->end - s->p));
	if (!v)
		*rc = fail(d, "string is not valid UTF-8", field);
	return v;
}

/* Reads a {1 string, 2 string} or {1 seconds, 2 nanos}-style pair of fields of a small
 * message, skipping others. */
static int decode_int_or_string(struct pdec *d, struct rd m, unsigned field, json_t **out)
{
	uint64_t type = 0, ival = 0;
	struct rd sval = {m.p, m.p};
	unsigned f, wt;
	int k;
	while ((k = rd_key(&m, &f, &wt)) == 1) {
		if (f == 1 && wt == WT_VARINT) {
			if (rd_varint(&m, &type))
				return fail(d, "truncated IntOrString", field);
		} else if (f == 2 && wt == WT_VARINT) {
			if (rd_varint(&m, &ival))
				return fail(d, "truncated IntOrString", field);
		} else if (f == 3 && wt == WT_LEN) {
			if (rd_bytes(&m, &sval))
				return fail(d, "truncated IntOrString", field);
		} else if (f <= 3 || rd_skip(&m, wt)) {
			return fail(d, "malformed IntOrString", field);
		}
	}
	if (k < 0)
		return fail(d, "malformed IntOrString", field);
	int rc = 0;
	if (type == 0)
		*out = json_integer((int32_t)(uint32_t)ival);
	else if (type == 1)
		*out = str_value(d, &sval, field, &rc);
	else
		return fail(d, "impossible IntOrString.Type", field);
	return rc;
}

static int decode_time(struct pdec *d, struct rd m, unsigned field, json_t **out)
{
	uint64_t secs = 0, nanos = 0;
	unsigned f, wt;
	int k;
	*out = NULL;
	if (m.p == m.end)
		return 0; /* the zero time: Go's JSON writes null; leave it out */
	while ((k = rd_key(&m, &f, &wt)) == 1) {
		if (f == 1 && wt == WT_VARINT) {
			if (rd_varint(&m, &secs))
				return fail(d, "truncated Time", field);
		} else if (f == 2 && wt == WT_VARINT) {
			if (rd_varint(&m, &nanos))
				return fail(d, "truncated Time", field);
		} else if (f <= 2 || rd_skip(&m, wt)) {
			return fail(d, "malformed Time", field);
		}
	}
	if (k < 0)
		return fail(d, "malformed Time", field);
	int64_t s = (int64_t)secs;
	/* metav1.Time's JSON is RFC 3339 in seconds; Go refuses years outside 0..9999. */
	if (s < -62167219200LL || s > 253402300799LL)
		return fail(d, "Time out of range", field);
	time_t t = (time_t)s;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return fail(d, "Time out of range", field);
	char b[40];
	snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	*out = json_string(b);
	return 0;
}

static int decode_message(struct pdec *d, const struct api_schema *s, struct rd m, json_t *obj, int depth);

/* Decodes one wire value of a field (one element for arrays) into *out; *out stays NULL
 * when the value is to be left out. */
static int decode_value(struct pdec *d, const struct api_field *fd, enum api_type type, unsigned wt,
			uint64_t varint, struct rd payload, bool elem, int depth, json_t **out)
{
	*out = NULL;
	bool keep_zero = elem || (fd->flags & API_F_POINTER);
	int rc = 0;
	switch (type) {
	case API_STRING:
		if (wt != WT_LEN)
			goto wrong;
		if (payload.p == payload.end && !keep_zero)
			return 0;
		*out = str_value(d, &payload, fd->proto, &rc);
		return rc;
	case API_INT:
		if (wt != WT_VARINT)
			goto wrong;
		if (varint == 0 && !keep_zero)
			return 0;
		*out = json_integer((json_int_t)(int64_t)varint);
		return 0;
	case API_BOOL:
		if (wt != WT_VARINT)
			goto wrong;
		if (varint == 0 && !keep_zero)
			return 0;
		*out = json_boolean(varint != 0);
		return 0;
	case API_INT_OR_STRING:
		if (wt != WT_LEN)
			goto wrong;
		rc = decode_int_or_string(d, payload, fd->proto, out);
		if (rc == 0 && !keep_zero && json_is_integer(*out) && json_integer_value(*out) == 0) {
			json_decref(*out);
			*out = NULL;
		}
		return rc;
	case API_TIME:
		if (wt != WT_LEN)
			goto wrong;
		return decode_time(d, payload, fd->proto, out);
	case API_QUANTITY: {
		if (wt != WT_LEN)
			goto wrong;
		unsigned f, w;
		int k;
		struct rd q = payload, sv = {payload.p, payload.p};
		while ((k = rd_key(&q, &f, &w)) == 1) {
			if (f == 1 && w == WT_LEN) {
				if (rd_bytes(&q, &sv))
					return fail(d, "truncated Quantity", fd->proto);
			} else if (f == 1 || rd_skip(&q, w)) {
				return fail(d, "malformed Quantity", fd->proto);
			}
		}
		if (k < 0)
			return fail(d, "malformed Quantity", fd->proto);
		if (sv.p == sv.end)
			return 0;
		*out = str_value(d, &sv, fd->proto, &rc);
		return rc;
	}
	case API_OBJECT:
		if (wt != WT_LEN)
			goto wrong;
		if (!fd->schema)
			return 0;
		*out = json_object();
		rc = decode_message(d, fd->schema, payload, *out, depth + 1);
		if (rc) {
			json_decref(*out);
			*out = NULL;
		}
		return rc;
	case API_MAP_STRING:
	case API_MAP_ANY:
	case API_ARRAY:
	case API_ANY:
		return 0; /* handled by the caller, or not in protobuf form here */
	}
	return 0;
wrong:
	snprintf(d->err, d->errlen, "proto: wrong wireType = %u for field %s", wt, fd->name);
	return -EBADMSG;
}

/* One entry {1 key, 2 value} of a map field. */
static int decode_map_entry(struct pdec *d, const struct api_field *fd, struct rd m, json_t *obj, int depth)
{
	struct rd key = {m.p, m.p}, val = {m.p, m.p};
	bool have_val = false;
	unsigned f, wt;
	int k;
	while ((k = rd_key(&m, &f, &wt)) == 1) {
		if (f == 1 && wt == WT_LEN) {
			if (rd_bytes(&m, &key))
				return fail(d, "truncated map entry", fd->proto);
		} else if (f == 2 && wt == WT_LEN) {
			if (rd_bytes(&m, &val))
				return fail(d, "truncated map entry", fd->proto);
			have_val = true;
		} else if (f <= 2 || rd_skip(&m, wt)) {
			return fail(d, "malformed map entry", fd->proto);
		}
	}
	if (k < 0)
		return fail(d, "malformed map entry", fd->proto);
	json_t *map = json_object_get(obj, fd->name);
	if (!json_is_object(map)) {
		map = json_object();
		json_object_set_new(obj, fd->name, map);
	}
	int rc = 0;
	json_t *v;
	if (fd->type == API_MAP_STRING && (fd->flags & API_F_BYTES)) {
		char *b = api_base64_encode(val.p, (size_t)(val.end - val.p));
		v = json_string(b);
		free(b);
	} else if (fd->type == API_MAP_STRING) {
		v = str_value(d, &val, fd->proto, &rc);
	} else {
		v = json_object();
		if (fd->schema && have_val)
			rc = decode_message(d, fd->schema, val, v, depth + 1);
	}
	if (rc) {
		json_decref(v);
		return rc;
	}
	if (json_object_setn_new(map, (const char *)key.p, (size_t)(key.end - key.p), v) != 0)
		return fail(d, "map key is not valid UTF-8", fd->proto);
	return 0;
}

static const struct api_field *field_by_proto(const struct api_schema *s, unsigned num)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (s->fields[i].proto == num)
			return &s->fields[i];
	return NULL;
}

static int decode_field(struct pdec *d, const struct api_field *fd, unsigned wt, struct rd *m, json_t *obj,
			int depth)
{
	uint64_t varint = 0;
	struct rd payload = {m->p, m->p};
	if (wt == WT_VARINT) {
		if (rd_varint(m, &varint))
			return fail(d, "truncated varint", fd->proto);
	} else if (wt == WT_LEN) {
		if (rd_bytes(m, &payload))
			return fail(d, "truncated length-delimited field", fd->proto);
	} else {
		if (rd_skip(m, wt))
			return fail(d, "truncated or unknown wire type", fd->proto);
		snprintf(d->err, d->errlen, "proto: wrong wireType = %u for field %s", wt, fd->name);
		return -EBADMSG;
	}
	int rc;
	json_t *v = NULL;
	switch (fd->type) {
	case API_MAP_STRING:
	case API_MAP_ANY:
		if (wt != WT_LEN)
			break;
		return decode_map_entry(d, fd, payload, obj, depth);
	case API_ANY:
		return 0; /* no schema for its bytes: left out */
	case API_ARRAY: {
		json_t *arr = json_object_get(obj, fd->name);
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(obj, fd->name, arr);
		}
		bool scalar = fd->elem == API_INT || fd->elem == API_BOOL;
		if (scalar && wt == WT_LEN) { /* packed */
			while (payload.p < payload.end) {
				uint64_t x;
				if (rd_varint(&payload, &x))
					return fail(d, "truncated packed varint", fd->proto);
				json_array_append_new(arr, fd->elem == API_INT
							       ? json_integer((json_int_t)(int64_t)x)
							       : json_boolean(x != 0));
			}
			return 0;
		}
		if (fd->elem == API_ARRAY || fd->elem == API_MAP_STRING || fd->elem == API_MAP_ANY ||
		    fd->elem == API_ANY)
			return 0;
		rc = decode_value(d, fd, fd->elem, wt, varint, payload, true, depth, &v);
		if (rc)
			return rc;
		if (v)
			json_array_append_new(arr, v);
		return 0;
	}
	case API_OBJECT:
		if (wt != WT_LEN)
			break;
		if (depth + 1 >= API_CODEC_MAX_DEPTH)
			return fail(d, "messages nested too deeply", fd->proto);
		if (!fd->schema)
			return 0;
		if (fd->flags & API_F_INLINE)
			return decode_message(d, fd->schema, payload, obj, depth + 1);
		/* A message seen twice merges, as protobuf's Unmarshal does. */
		v = json_object_get(obj, fd->name);
		if (!json_is_object(v)) {
			v = json_object();
			json_object_set_new(obj, fd->name, v);
		}
		return decode_message(d, fd->schema, payload, v, depth + 1);
	default:
		break;
	}
	rc = decode_value(d, fd, fd->type, wt, varint, payload, false, depth, &v);
	if (rc)
		return rc;
	if (v)
		json_object_set_new(obj, fd->name, v);
	else
		json_object_del(obj, fd->name); /* the last occurrence wins, even a zero one */
	return 0;
}

static int decode_message(struct pdec *d, const struct api_schema *s, struct rd m, json_t *obj, int depth)
{
	if (depth >= API_CODEC_MAX_DEPTH)
		return fail(d, "messages nested too deeply", 0);
	unsigned f, wt;
	int k;
	while ((k = rd_key(&m, &f, &wt)) == 1) {
		const struct api_field *fd = field_by_proto(s, f);
		if (!fd) {
			if (rd_skip(&m, wt))
				return fail(d, "malformed unknown field", f);
			continue;
		}
		int rc = decode_field(d, fd, wt, &m, obj, depth);
		if (rc)
			return rc;
	}
	if (k < 0)
		return fail(d, "malformed field key", 0);
	return 0;
}

int api_proto_decode(const unsigned char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	struct pdec d = {err, errlen};
	*out = NULL;
	if (len > API_CODEC_MAX_BYTES)
		return fail(&d, "body exceeds the size limit", 0);
	if (len < 4 || memcmp(buf, "k8s\0", 4) != 0)
		return fail(&d, "missing the \"k8s\\x00\" prefix of a Kubernetes protobuf body", 0);
	struct rd r = {buf + 4, buf + len};
	struct rd tm = {r.p, r.p}, raw = {r.p, r.p}, enc = {r.p, r.p};
	unsigned f, wt;
	int k;
	while ((k = rd_key(&r, &f, &wt)) == 1) {
		struct rd *dst = f == 1 ? &tm : f == 2 ? &raw : f == 3 ? &enc : NULL;
		if (dst && wt == WT_LEN) {
			if (rd_bytes(&r, dst))
				return fail(&d, "truncated runtime.Unknown", f);
		} else if ((dst && wt != WT_LEN) || rd_skip(&r, wt)) {
			return fail(&d, "malformed runtime.Unknown", f);
		}
	}
	if (k < 0)
		return fail(&d, "malformed runtime.Unknown", 0);
	struct rd av = {tm.p, tm.p}, kv = {tm.p, tm.p};
	while ((k = rd_key(&tm, &f, &wt)) == 1) {
		struct rd *dst = f == 1 ? &av : f == 2 ? &kv : NULL;
		if (dst && wt == WT_LEN) {
			if (rd_bytes(&tm, dst))
				return fail(&d, "truncated TypeMeta", f);
		} else if ((dst && wt != WT_LEN) || rd_skip(&tm, wt)) {
			return fail(&d, "malformed TypeMeta", f);
		}
	}
	if (k < 0)
		return fail(&d, "malformed TypeMeta", 0);
	char api_version[256], kind[256];
	size_t avn = (size_t)(av.end - av.p), kn = (size_t)(kv.end - kv.p);
	if (kn == 0) {
		snprintf(err, errlen, "Object 'Kind' is missing in protobuf body");
		return -EBADMSG;
	}
	if (avn >= sizeof(api_version) || kn >= sizeof(kind) || memchr(av.p, 0, avn) || memchr(kv.p, 0, kn))
		return fail(&d, "malformed apiVersion or kind", 0);
	memcpy(api_version, av.p, avn);
	api_version[avn] = 0;
	memcpy(kind, kv.p, kn);
	kind[kn] = 0;
	if (enc.p != enc.end) {
		snprintf(err, errlen, "unsupported protobuf contentEncoding \"%.*s\"",
			 (int)((enc.end - enc.p) > 64 ? 64 : (enc.end - enc.p)), (const char *)enc.p);
		return ERR_UNSUPPORTED_MEDIA;
	}
	const struct api_kind *ak = api_kind_by_gvk(api_version, kind);
	const struct api_schema *schema = ak ? ak->schema : api__review_schema(api_version, kind);
	if (!schema) {
		/* kube-apiserver's scheme error, with the name quoted safely. */
		json_t *a = json_stringn(api_version, avn), *kk = json_stringn(kind, kn);
		snprintf(err, errlen, "no kind %s is registered for version %s in protobuf bodies",
			 kk ? kind : "(invalid)", a ? api_version : "(invalid)");
		json_decref(a);
		json_decref(kk);
		return ERR_UNSUPPORTED_MEDIA;
	}
	json_t *obj = json_object();
	json_object_set_new(obj, "apiVersion", json_stringn(api_version, avn));
	json_object_set_new(obj, "kind", json_stringn(kind, kn));
	if (!json_is_string(json_object_get(obj, "apiVersion")) ||
	    !json_is_string(json_object_get(obj, "kind"))) {
		json_decref(obj);
		return fail(&d, "apiVersion or kind is not valid UTF-8", 0);
	}
	int rc = decode_message(&d, schema, raw, obj, 0);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	/* The envelope is authoritative for the type, whatever raw held. */
	json_object_set_new(obj, "apiVersion", json_stringn(api_version, avn));
	json_object_set_new(obj, "kind", json_stringn(kind, kn));
	*out = obj;
	return 0;
}
