/* test_openapi_v2.c - /openapi/v2: the swagger 2.0 JSON (definitions for every kind, refs
 * that resolve, the v2 shape) and its protobuf, decoded back here by a minimal reader of
 * gnostic's openapi_v2.Document field numbers. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/openapi.h"
#include "api/schema.h"
#include "base/buf.h"
#include "harness/t.h"

static json_t *v2_json(void)
{
	char *s = api_openapi_v2_doc();
	json_error_t err;
	json_t *d = json_loads(s, 0, &err);
	if (!d)
		t_fail(__FILE__, __LINE__, "v2 does not parse: %s", err.text);
	free(s);
	return d;
}

/* Every "$ref" under v resolves in defs; no v3 construct is left. Returns the refs seen. */
static size_t check_refs(const json_t *v, const json_t *defs, int depth)
{
	size_t n = 0;
	ASSERT(depth < 64);
	if (json_is_object(v)) {
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x)
		{
			ASSERT(strcmp(key, "allOf") != 0 && strcmp(key, "oneOf") != 0 &&
			       strcmp(key, "requestBody") != 0 && strcmp(key, "content") != 0 &&
			       strcmp(key, "x-kubernetes-preserve-unknown-fields") != 0);
			if (strcmp(key, "$ref") == 0 && json_is_string(x)) {
				const char *r = json_string_value(x);
				ASSERT(strncmp(r, "#/definitions/", 14) == 0);
				if (!json_object_get(defs, r + 14))
					t_fail(__FILE__, __LINE__, "unresolved ref %s", r);
				n++;
			} else {
				n += check_refs(x, defs, depth + 1);
			}
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) n += check_refs(x, defs, depth + 1);
	}
	return n;
}

static int gvk_is(const json_t *gvk, const struct api_kind *k, const char *kind)
{
	return json_is_object(gvk) &&
	       strcmp(json_string_value(json_object_get(gvk, "group")), k->group) == 0 &&
	       strcmp(json_string_value(json_object_get(gvk, "version")), k->version) == 0 &&
	       strcmp(json_string_value(json_object_get(gvk, "kind")), kind) == 0;
}

/* The definition whose x-kubernetes-group-version-kind names k (kind or kind+"List"). */
static const json_t *def_for(const json_t *defs, const struct api_kind *k, const char *kind)
{
	const char *name;
	json_t *d;
	json_object_foreach((json_t *)defs, name, d)
	{
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(d, "x-kubernetes-group-version-kind"), i,
				   g) if (gvk_is(g, k, kind)) return d;
	}
	return NULL;
}

TEST(openapi_v2_json_definitions_and_refs)
{
	json_t *doc = v2_json();
	ASSERT_STR_EQ(json_string_value(json_object_get(doc, "swagger")), "2.0");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(doc, "info"), "title")),
		      "Kubernetes");
	const json_t *defs = json_object_get(doc, "definitions");
	ASSERT(json_object_size(defs) > 50);
	ASSERT(check_refs(doc, defs, 0) > 100);
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		char list[64];
		snprintf(list, sizeof(list), "%sList", k->kind);
		if (!def_for(defs, k, k->kind))
			t_fail(__FILE__, __LINE__, "no definition for %s/%s %s", k->group, k->version,
			       k->kind);
		if (!def_for(defs, k, list))
			t_fail(__FILE__, __LINE__, "no definition for %s", list);
		/* kubectl's field-validation probe: a PATCH with the GVK and fieldValidation. */
		const char *path;
		json_t *item;
		int found = 0;
		json_object_foreach(json_object_get(doc, "paths"), path, item)
		{
			json_t *op = json_object_get(item, "patch");
			if (!op ||
			    !gvk_is(json_object_get(op, "x-kubernetes-group-version-kind"), k, k->kind))
				continue;
			size_t j;
			json_t *p;
			json_array_foreach(json_object_get(op, "parameters"), j, p)
			{
				if (strcmp(json_string_value(json_object_get(p, "name")),
					   "fieldValidation") == 0) {
					ASSERT_STR_EQ(json_string_value(json_object_get(p, "in")), "query");
					ASSERT_STR_EQ(json_string_value(json_object_get(p, "type")),
						      "string");
					found = 1;
				}
			}
		}
		if (!found)
			t_fail(__FILE__, __LINE__, "no PATCH with fieldValidation for %s", k->kind);
	}
	/* The v2 shape of a few well-known properties. */
	const json_t *svc = json_object_get(defs, "io.k8s.api.core.v1.Service");
	const json_t *spec = json_object_get(json_object_get(svc, "properties"), "spec");
	ASSERT_STR_EQ(json_string_value(json_object_get(spec, "$ref")),
		      "#/definitions/io.k8s.api.core.v1.ServiceSpec");
	ASSERT(json_string_value(json_object_get(spec, "description")) != NULL);
	ASSERT(json_object_get(spec, "default") == NULL);
	const json_t *sprops =
	    json_object_get(json_object_get(defs, "io.k8s.api.core.v1.ServiceSpec"), "properties");
	const json_t *ports = json_object_get(sprops, "ports");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "type")), "array");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "x-kubernetes-patch-merge-key")), "port");
	ASSERT_STR_EQ(json_string_value(json_object_get(ports, "x-kubernetes-list-type")), "map");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(ports, "items"), "$ref")),
		      "#/definitions/io.k8s.api.core.v1.ServicePort");
	ASSERT(json_array_size(json_object_get(json_object_get(sprops, "type"), "enum")) == 4);
	ASSERT_STR_EQ(json_string_value(json_object_get(
			  json_object_get(defs, "io.k8s.apimachinery.pkg.api.resource.Quantity"), "type")),
		      "string");
	/* A POST's body parameter and a response schema. */
	const json_t *post = json_object_get(
	    json_object_get(json_object_get(doc, "paths"), "/api/v1/namespaces/{namespace}/services"),
	    "post");
	ASSERT(post != NULL);
	const json_t *body = json_array_get(json_object_get(post, "parameters"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(body, "in")), "body");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(body, "schema"), "$ref")),
		      "#/definitions/io.k8s.api.core.v1.Service");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(json_object_get(post, "responses"), "201"), "schema"),
		"$ref")),
	    "#/definitions/io.k8s.api.core.v1.Service");
	/* the same text every call */
	char *a = api_openapi_v2_doc(), *b = api_openapi_v2_doc();
	ASSERT_STR_EQ(a, b);
	free(a);
	free(b);
	json_decref(doc);
}

/* ---- a minimal protobuf reader, enough to walk the Document ---- */

struct pr {
	const unsigned char *p, *end;
};

static int pr_varint(struct pr *r, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10 && r->p < r->end; i++) {
		unsigned char c = *r->p++;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Next field: its number, and for length-delimited ones the payload in *sub. 0 at the end,
 * -1 on malformed input. */
static int pr_next(struct pr *r, unsigned *field, struct pr *sub)
{
	uint64_t key, v;
	if (r->p >= r->end)
		return 0;
	if (pr_varint(r, &key))
		return -1;
	*field = (unsigned)(key >> 3);
	switch (key & 7) {
	case 0:
		if (pr_varint(r, &v))
			return -1;
		sub->p = sub->end = NULL;
		return 1;
	case 2:
		if (pr_varint(r, &v) || v > (uint64_t)(r->end - r->p))
			return -1;
		sub->p = r->p;
		sub->end = r->p + v;
		r->p += v;
		return 1;
	default:
		return -1;
	}
}

static char *pr_str(const struct pr *s)
{
	size_t n = (size_t)(s->end - s->p);
	char *out = malloc(n + 1);
	memcpy(out, s->p, n);
	out[n] = 0;
	return out;
}

/* The first length-delimited field number f of m (0 when absent). */
static int pr_find(struct pr m, unsigned f, struct pr *out)
{
	unsigned field;
	struct pr sub;
	int rc;
	while ((rc = pr_next(&m, &field, &sub)) == 1)
		if (field == f && sub.p) {
			*out = sub;
			return 1;
		}
	ASSERT(rc == 0);
	return 0;
}

/* Named* {1 name, 2 value}: finds the entry called name among repeated field f of m. */
static int pr_named(struct pr m, unsigned f, const char *name, struct pr *value)
{
	unsigned field;
	struct pr sub;
	int rc;
	while ((rc = pr_next(&m, &field, &sub)) == 1) {
		struct pr n;
		if (field != f || !pr_find(sub, 1, &n))
			continue;
		if ((size_t)(n.end - n.p) == strlen(name) && memcmp(n.p, name, strlen(name)) == 0)
			return pr_find(sub, 2, value);
	}
	ASSERT(rc == 0);
	return 0;
}

static size_t pr_count(struct pr m, unsigned f)
{
	unsigned field;
	struct pr sub;
	size_t n = 0;
	int rc;
	while ((rc = pr_next(&m, &field, &sub)) == 1)
		n += field == f;
	ASSERT(rc == 0);
	return n;
}

TEST(openapi_v2_protobuf_decodes_back)
{
	struct buf b;
	buf_init(&b);
	ASSERT_INT_EQ(api_openapi_v2_proto(&b), 0);
	json_t *doc = v2_json();
	struct pr d = {(const unsigned char *)b.data, (const unsigned char *)b.data + b.len}, s;
	ASSERT(pr_find(d, 1, &s));
	char *sw = pr_str(&s);
	ASSERT_STR_EQ(sw, "2.0");
	free(sw);
	/* Definitions {1 NamedSchema}: one per JSON definition. */
	struct pr defs, paths;
	ASSERT(pr_find(d, 9, &defs));
	ASSERT_INT_EQ(pr_count(defs, 1), json_object_size(json_object_get(doc, "definitions")));
	ASSERT(pr_find(d, 8, &paths));
	ASSERT_INT_EQ(pr_count(paths, 2), json_object_size(json_object_get(doc, "paths")));
	/* Service: GVK extension (Schema 31 NamedAny {1 name, 2 Any {2 yaml}}) and the spec ref. */
	struct pr svc, ext, yaml, props, spec, ref, desc;
	ASSERT(pr_named(defs, 1, "io.k8s.api.core.v1.Service", &svc));
	ASSERT(pr_named(svc, 31, "x-kubernetes-group-version-kind", &ext));
	ASSERT(pr_find(ext, 2, &yaml)); /* NamedAny's value is Any {2 yaml} */
	char *y = pr_str(&yaml);
	json_t *gvk = json_loads(y, 0, NULL);
	ASSERT(gvk != NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(gvk, 0), "kind")), "Service");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(gvk, 0), "version")), "v1");
	json_decref(gvk);
	free(y);
	ASSERT(pr_find(svc, 25, &props));
	ASSERT(pr_named(props, 1, "spec", &spec));
	ASSERT(pr_find(spec, 1, &ref));
	char *r = pr_str(&ref);
	ASSERT_STR_EQ(r, "#/definitions/io.k8s.api.core.v1.ServiceSpec");
	free(r);
	ASSERT(pr_find(spec, 4, &desc));
	/* ServiceSpec.type: TypeItem {1 "string"} and four enum values. */
	struct pr ss, sprops, stype, titem, tval;
	ASSERT(pr_named(defs, 1, "io.k8s.api.core.v1.ServiceSpec", &ss));
	ASSERT(pr_find(ss, 25, &sprops));
	ASSERT(pr_named(sprops, 1, "type", &stype));
	ASSERT(pr_find(stype, 22, &titem));
	ASSERT(pr_find(titem, 1, &tval));
	char *t = pr_str(&tval);
	ASSERT_STR_EQ(t, "string");
	free(t);
	ASSERT_INT_EQ(pr_count(stype, 20), 4);
	/* The Service PATCH path: PathItem 8 patch, its Operation 13 has the GVK, 8 params. */
	struct pr item, patch;
	ASSERT(pr_named(paths, 2, "/api/v1/namespaces/{namespace}/services/{name}", &item));
	ASSERT(pr_find(item, 8, &patch));
	ASSERT(pr_named(patch, 13, "x-kubernetes-group-version-kind", &ext));
	ASSERT(pr_count(patch, 8) >= 5);
	json_decref(doc);
	buf_fini(&b);
	/* Not an object: refused. */
	struct buf e;
	buf_init(&e);
	json_t *arr = json_array();
	ASSERT_INT_EQ(api_openapi_v2_encode(arr, &e), -22);
	json_decref(arr);
	buf_fini(&e);
}
