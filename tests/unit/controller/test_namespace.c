/* test_namespace.c - the namespace controller's pure decisions (controller/namespace.c). */
#include "controller/namespace.h"
#include "harness/t.h"

#include <stdlib.h>

TEST(namespace_item_delete_decisions)
{
	static const struct {
		const char *obj;
		bool del, remains;
	} cases[] = {
	    {"{\"metadata\":{\"name\":\"a\"}}", true, false},
	    {"{\"metadata\":{\"name\":\"a\",\"finalizers\":[]}}", true, false},
	    {"{\"metadata\":{\"name\":\"a\",\"finalizers\":[\"x/y\"]}}", true, true},
	    {"{\"metadata\":{\"name\":\"a\",\"finalizers\":[\"x/y\"],\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"}}",
	     false, true},
	    {"{}", true, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_loads(cases[i].obj, 0, NULL);
		ASSERT(o != NULL);
		bool remains = !cases[i].remains;
		ASSERT_INT_EQ(ctrl_namespace_item_delete(o, &remains), cases[i].del);
		ASSERT_INT_EQ(remains, cases[i].remains);
		json_decref(o);
	}
}

TEST(namespace_finalize_body_drops_only_kubernetes)
{
	json_t *ns = json_loads(
	    "{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"7\",\"uid\":\"u\"},"
	    "\"spec\":{\"finalizers\":[\"kubernetes\",\"example.com/x\"]},\"status\":{\"phase\":\"Terminating\"}}",
	    0, NULL);
	json_t *b = ctrl_namespace_finalize_body(ns);
	char *s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(
	    s,
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"7\"},"
	    "\"spec\":{\"finalizers\":[\"example.com/x\"]}}");
	free(s);
	json_decref(b);
	json_decref(ns);
	/* No spec at all: an empty list, never a missing one (which the defaults would refill). */
	ns = json_loads("{\"metadata\":{\"name\":\"n\"}}", 0, NULL);
	b = ctrl_namespace_finalize_body(ns);
	ASSERT(json_is_array(json_object_get(json_object_get(b, "spec"), "finalizers")));
	ASSERT_INT_EQ(json_array_size(json_object_get(json_object_get(b, "spec"), "finalizers")), 0);
	json_decref(b);
	json_decref(ns);
}
