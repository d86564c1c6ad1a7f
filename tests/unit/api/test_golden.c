/* test_golden.c - one realistic object per kind (tests/golden/<kind>.json): every field
 * is known to the schema (so Strict validation accepts real objects), the object
 * round-trips through the YAML encoder and decoder unchanged, and its kind resolves. */
#include <stdio.h>
#include <stdlib.h>

#include "api/codec.h"
#include "api/openapi.h"
#include "api/schema.h"
#include "harness/t.h"

static json_t *load(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/golden/%s.json", name);
	json_error_t e;
	json_t *o = json_load_file(path, 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "%s: %s (run from the repository root)", path, e.text);
	return o;
}

static void golden(const char *name)
{
	json_t *o = load(name);
	const struct api_kind *k = api_kind_by_gvk(json_string_value(json_object_get(o, "apiVersion")),
						   json_string_value(json_object_get(o, "kind")));
	ASSERT(k != NULL);
	json_t *unknown = json_array();
	size_t n = api_unknown_fields(o, k->schema, unknown);
	if (n) {
		char *s = json_dumps(unknown, 0);
		t_fail(__FILE__, __LINE__, "%s: unknown fields %s", name, s);
	}
	json_decref(unknown);
	char *yaml = api_yaml_encode(o);
	json_t *docs = NULL;
	char err[256];
	ASSERT_INT_EQ(api_yaml_decode(yaml, strlen(yaml), &docs, err, sizeof(err)), 0);
	ASSERT_INT_EQ(json_array_size(docs), 1);
	if (!json_equal(json_array_get(docs, 0), o)) {
		char *back = json_dumps(json_array_get(docs, 0), JSON_SORT_KEYS);
		t_fail(__FILE__, __LINE__, "%s: YAML round trip differs:\n%s\n%s", name, yaml, back);
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_t *again = NULL;
	ASSERT_INT_EQ(api_json_decode(text, strlen(text), &again, err, sizeof(err)), 0);
	ASSERT(json_equal(again, o));
	json_decref(again);
	free(text);
	json_decref(docs);
	free(yaml);
	json_decref(o);
}

TEST(golden_namespace)
{
	golden("namespace");
}
TEST(golden_service)
{
	golden("service");
}
TEST(golden_endpoints)
{
	golden("endpoints");
}
TEST(golden_pod)
{
	golden("pod");
}
TEST(golden_node)
{
	golden("node");
}
TEST(golden_event)
{
	golden("event");
}
TEST(golden_endpointslice)
{
	golden("endpointslice");
}
TEST(golden_ingress)
{
	golden("ingress");
}
TEST(golden_ingressclass)
{
	golden("ingressclass");
}

TEST(golden_typo_is_unknown)
{
	json_t *o = load("service");
	json_object_set_new(json_object_get(o, "spec"), "selectr", json_object());
	json_t *unknown = json_array();
	const struct api_kind *k = api_kind_by_gvk("v1", "Service");
	ASSERT_INT_EQ(api_unknown_fields(o, k->schema, unknown), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(unknown, 0)), ".spec.selectr");
	json_decref(unknown);
	json_decref(o);
}
