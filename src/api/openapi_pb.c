/* openapi_pb.c - a swagger 2.0 JSON tree to the protobuf of gnostic's openapi_v2.Document
 * (github.com/google/gnostic-models openapiv2/OpenAPIv2.proto), what client-go's
 * OpenAPISchema() asks /openapi/v2 for and kubectl 1.27 builds explain, validation and
 * apply's patch metadata from.
 *
 * A small writer, no generated code: each message below is the subset of its .proto
 * fields a Kubernetes document uses, with the field numbers of OpenAPIv2.proto.
 * Submessages are encoded into their own buffer and appended length-prefixed; maps
 * ("definitions", "properties", "paths", "responses") are repeated Named* messages
 * {1 name, 2 value}, in the tree's (sorted) key order. Extensions (x-*), "enum" values and
 * "default" are Any {2 yaml}: the value's compact JSON text, which YAML parsers read.
 * Pure: no I/O.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi.h"
#include "base/buf.h"

enum { WT_VARINT = 0, WT_LEN = 2 };
/* Nesting bound for schemas (the document is a few levels deep; refs are not followed). */
enum { MAX_DEPTH = 64 };

static void put_varint(struct buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	buf_append(b, tmp, n);
}

static void put_key(struct buf *b, unsigned field, unsigned wt)
{
	put_varint(b, ((uint64_t)field << 3) | wt);
}

static void put_bytes(struct buf *b, unsigned field, const char *p, size_t n)
{
	put_key(b, field, WT_LEN);
	put_varint(b, n);
	buf_append(b, p, n);
}

/* A string field from a JSON string (absent or another type: nothing, as proto3 omits ""). */
static void put_str(struct buf *b, unsigned field, const json_t *v)
{
	if (json_is_string(v) && json_string_length(v))
		put_bytes(b, field, json_string_value(v), json_string_length(v));
}

static void put_bool(struct buf *b, unsigned field, const json_t *v)
{
	if (json_is_true(v)) {
		put_key(b, field, WT_VARINT);
		put_varint(b, 1);
	}
}

/* Appends sub as a length-delimited field and frees it. */
static void put_msg_take(struct buf *b, unsigned field, struct buf *sub)
{
	put_bytes(b, field, sub->data ? sub->data : "", sub->len);
	buf_fini(sub);
}

/* repeated string from a JSON array of strings. */
static void put_strs(struct buf *b, unsigned field, const json_t *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v))
			put_bytes(b, field, json_string_value(v), json_string_length(v));
	}
}

/* Any {2 yaml}: the JSON text of v. */
static void put_any(struct buf *b, unsigned field, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		abort(); /* only on out of memory */
	struct buf any;
	buf_init(&any);
	put_bytes(&any, 2, s, strlen(s));
	free(s);
	put_msg_take(b, field, &any);
}

/* repeated NamedAny vendor_extension: every "x-" key of obj. */
static void put_extensions(struct buf *b, unsigned field, const json_t *obj)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (strncmp(key, "x-", 2) != 0)
			continue;
		struct buf na;
		buf_init(&na);
		put_bytes(&na, 1, key, strlen(key));
		put_any(&na, 2, v);
		put_msg_take(b, field, &na);
	}
}

static void put_schema(struct buf *b, unsigned field, const json_t *s, int depth);

typedef void (*put_value_fn)(struct buf *b, unsigned field, const json_t *v, int depth);

/* A map as message field holding repeated entry Named* {1 key, 2 put(value)}, in the
 * object's key order. Nothing when obj is not an object. */
static void put_named_map(struct buf *b, unsigned field, unsigned entry, const json_t *obj, put_value_fn put,
			  int depth)
{
	if (!json_is_object(obj))
		return;
	struct buf m;
	buf_init(&m);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		struct buf named;
		buf_init(&named);
		put_bytes(&named, 1, key, strlen(key));
		put(&named, 2, v, depth);
		put_msg_take(&m, entry, &named);
	}
	put_msg_take(b, field, &m);
}

/* Schema: 1 _ref, 2 format, 4 description, 5 default, 16 unique_items, 19 required,
 * 20 enum, 21 additional_properties {1 schema | 2 boolean}, 22 type {1 value},
 * 23 items {1 schema}, 24 all_of, 25 properties {1 NamedSchema}, 31 vendor_extension. */
static void put_schema(struct buf *b, unsigned field, const json_t *s, int depth)
{
	if (!json_is_object(s) || depth > MAX_DEPTH)
		return;
	struct buf m;
	buf_init(&m);
	put_str(&m, 1, json_object_get(s, "$ref"));
	put_str(&m, 2, json_object_get(s, "format"));
	put_str(&m, 4, json_object_get(s, "description"));
	if (json_object_get(s, "default"))
		put_any(&m, 5, json_object_get(s, "default"));
	put_bool(&m, 16, json_object_get(s, "uniqueItems"));
	put_strs(&m, 19, json_object_get(s, "required"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(s, "enum"), i, v) put_any(&m, 20, v);
	json_t *ap = json_object_get(s, "additionalProperties");
	if (json_is_object(ap) || json_is_boolean(ap)) {
		struct buf a;
		buf_init(&a);
		if (json_is_object(ap))
			put_schema(&a, 1, ap, depth + 1);
		else {
			put_key(&a, 2, WT_VARINT);
			put_varint(&a, json_is_true(ap));
		}
		put_msg_take(&m, 21, &a);
	}
	if (json_is_string(json_object_get(s, "type"))) {
		struct buf t;
		buf_init(&t);
		put_str(&t, 1, json_object_get(s, "type"));
		put_msg_take(&m, 22, &t);
	}
	if (json_is_object(json_object_get(s, "items"))) {
		struct buf it;
		buf_init(&it);
		put_schema(&it, 1, json_object_get(s, "items"), depth + 1);
		put_msg_take(&m, 23, &it);
	}
	json_array_foreach(json_object_get(s, "allOf"), i, v) put_schema(&m, 24, v, depth + 1);
	put_named_map(&m, 25, 1, json_object_get(s, "properties"), put_schema, depth + 1);
	put_extensions(&m, 31, s);
	put_msg_take(b, field, &m);
}

/* ParametersItem {1 Parameter {1 BodyParameter | 2 NonBodyParameter {3 query | 4 path}}}.
 * BodyParameter: 1 description, 2 name, 3 in, 4 required, 5 schema.
 * Query/PathParameterSubSchema: 1 required, 2 in, 3 description, 4 name, then type (6 query,
 * 5 path), unique_items (20 query, 19 path). */
static void put_parameter(struct buf *b, unsigned field, const json_t *p)
{
	const char *in = json_string_value(json_object_get(p, "in"));
	struct buf inner, param;
	buf_init(&inner);
	buf_init(&param);
	if (in && strcmp(in, "body") == 0) {
		put_str(&inner, 1, json_object_get(p, "description"));
		put_str(&inner, 2, json_object_get(p, "name"));
		put_str(&inner, 3, json_object_get(p, "in"));
		put_bool(&inner, 4, json_object_get(p, "required"));
		put_schema(&inner, 5, json_object_get(p, "schema"), 0);
		put_msg_take(&param, 1, &inner);
	} else if (in && (strcmp(in, "query") == 0 || strcmp(in, "path") == 0)) {
		bool query = strcmp(in, "query") == 0;
		put_bool(&inner, 1, json_object_get(p, "required"));
		put_str(&inner, 2, json_object_get(p, "in"));
		put_str(&inner, 3, json_object_get(p, "description"));
		put_str(&inner, 4, json_object_get(p, "name"));
		put_str(&inner, query ? 6 : 5, json_object_get(p, "type"));
		put_bool(&inner, query ? 20 : 19, json_object_get(p, "uniqueItems"));
		struct buf nb;
		buf_init(&nb);
		put_msg_take(&nb, query ? 3 : 4, &inner);
		put_msg_take(&param, 2, &nb);
	} else {
		buf_fini(&inner);
		buf_fini(&param);
		return; /* header and formData parameters: none in these documents */
	}
	struct buf item;
	buf_init(&item);
	put_msg_take(&item, 1, &param);
	put_msg_take(b, field, &item);
}

static void put_parameters(struct buf *b, unsigned field, const json_t *a)
{
	size_t i;
	json_t *p;
	json_array_foreach(a, i, p) put_parameter(b, field, p);
}

/* Responses {1 NamedResponseValue {1 name, 2 ResponseValue {1 Response {1 description,
 * 2 SchemaItem {1 schema}}}}}. */
static void put_responses(struct buf *b, unsigned field, const json_t *r)
{
	struct buf rs;
	buf_init(&rs);
	const char *code;
	json_t *v;
	json_object_foreach((json_t *)r, code, v)
	{
		struct buf resp, rv, nrv;
		buf_init(&resp);
		put_str(&resp, 1, json_object_get(v, "description"));
		if (json_object_get(v, "schema")) {
			struct buf si;
			buf_init(&si);
			put_schema(&si, 1, json_object_get(v, "schema"), 0);
			put_msg_take(&resp, 2, &si);
		}
		buf_init(&rv);
		put_msg_take(&rv, 1, &resp);
		buf_init(&nrv);
		put_bytes(&nrv, 1, code, strlen(code));
		put_msg_take(&nrv, 2, &rv);
		put_msg_take(&rs, 1, &nrv);
	}
	put_msg_take(b, field, &rs);
}

/* Operation: 1 tags, 3 description, 5 operation_id, 6 produces, 7 consumes, 8 parameters,
 * 9 responses, 10 schemes, 13 vendor_extension. */
static void put_operation(struct buf *b, unsigned field, const json_t *op)
{
	if (!json_is_object(op))
		return;
	struct buf m;
	buf_init(&m);
	put_strs(&m, 1, json_object_get(op, "tags"));
	put_str(&m, 3, json_object_get(op, "description"));
	put_str(&m, 5, json_object_get(op, "operationId"));
	put_strs(&m, 6, json_object_get(op, "produces"));
	put_strs(&m, 7, json_object_get(op, "consumes"));
	put_parameters(&m, 8, json_object_get(op, "parameters"));
	if (json_is_object(json_object_get(op, "responses")))
		put_responses(&m, 9, json_object_get(op, "responses"));
	put_strs(&m, 10, json_object_get(op, "schemes"));
	put_extensions(&m, 13, op);
	put_msg_take(b, field, &m);
}

/* PathItem: 2 get, 3 put, 4 post, 5 delete, 8 patch, 9 parameters, 10 vendor_extension. */
static void put_path_item(struct buf *b, unsigned field, const json_t *item, int depth)
{
	static const struct {
		const char *method;
		unsigned field;
	} ops[] = {{"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
	struct buf m;
	buf_init(&m);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		put_operation(&m, ops[i].field, json_object_get(item, ops[i].method));
	put_parameters(&m, 9, json_object_get(item, "parameters"));
	put_extensions(&m, 10, item);
	put_msg_take(b, field, &m);
}

/* Document: 1 swagger, 2 info {1 title, 2 version}, 8 paths {2 NamedPathItem},
 * 9 definitions {1 NamedSchema}, 16 vendor_extension. */
int api_openapi_v2_encode(const json_t *doc, struct buf *out)
{
	if (!json_is_object(doc))
		return -EINVAL;
	put_str(out, 1, json_object_get(doc, "swagger"));
	const json_t *info = json_object_get(doc, "info");
	if (json_is_object(info)) {
		struct buf m;
		buf_init(&m);
		put_str(&m, 1, json_object_get(info, "title"));
		put_str(&m, 2, json_object_get(info, "version"));
		put_msg_take(out, 2, &m);
	}
	put_named_map(out, 8, 2, json_object_get(doc, "paths"), put_path_item, 0);
	put_named_map(out, 9, 1, json_object_get(doc, "definitions"), put_schema, 0);
	put_extensions(out, 16, doc);
	return 0;
}
