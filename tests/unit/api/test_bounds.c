/* test_bounds.c - the attacks of issue 19 on patches and annotations, as regression tests:
 * a JSON patch that doubles the object by copies, annotation values that are not strings,
 * annotation keys and total size as Kubernetes' ValidateAnnotations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/object.h"
#include "api/patch.h"
#include "base/buf.h"
#include "base/mem.h"
#include "harness/t.h"

/* The patch: add a 1000-byte annotation, then n copies of the whole map into itself. */
static json_t *doubling_patch(int n)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"a\":\"");
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "\"}}");
	for (int i = 0; i < n; i++)
		buf_printf(
		    &b,
		    ",{\"op\":\"copy\",\"from\":\"/metadata/annotations\",\"path\":\"/metadata/annotations/a%d\"}",
		    i);
	buf_puts(&b, "]");
	json_t *p = json_loads(b.data, 0, NULL);
	buf_fini(&b);
	return p;
}

TEST(bounds_json_patch_copy_doubling_fails_fast)
{
	json_t *svc = json_loads("{\"metadata\":{\"name\":\"kubernetes\"}}", 0, NULL);
	json_t *p = doubling_patch(40), *out = NULL;
	char err[512] = "";
	/* 40 doublings of 1 KB would be 1 TB; the limit stops it at the copy that passes 3 MiB. */
	int rc = api_json_patch_limit(svc, p, 3 << 20, &out, err, sizeof(err));
	ASSERT_INT_EQ(rc, -E2BIG);
	ASSERT(out == NULL);
	ASSERT_STR_CONTAINS(err, "exceeding the limit 3145728");
	json_decref(p);

	/* A few copies under the limit still apply. */
	p = doubling_patch(3);
	rc = api_json_patch_limit(svc, p, 3 << 20, &out, err, sizeof(err));
	ASSERT_INT_EQ(rc, 0);
	ASSERT_INT_EQ(json_object_size(json_object_get(json_object_get(out, "metadata"), "annotations")), 4);
	json_decref(out);
	json_decref(p);
	json_decref(svc);
}

TEST(bounds_json_patch_too_many_ops)
{
	json_t *ops = json_array();
	for (int i = 0; i < API_JSON_PATCH_MAX_OPS + 1; i++)
		json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "test", "path", "/a"));
	json_t *doc = json_object(), *out = NULL;
	char err[256] = "";
	ASSERT_INT_EQ(api_json_patch_limit(doc, ops, 1 << 20, &out, err, sizeof(err)), -E2BIG);
	ASSERT_STR_EQ(err, "The allowed maximum operations in a JSON patch is 10000, got 10001");
	json_decref(ops);
	json_decref(doc);
}

TEST(bounds_json_size_max)
{
	json_t *v = json_loads("{\"a\":[1,\"x\\\"y\",null,true,{}],\"b\":-12}", 0, NULL);
	char *s = json_dumps(v, JSON_COMPACT);
	ASSERT_INT_EQ(api_json_size_max(v, 1 << 20), strlen(s));
	free(s);
	/* The walk stops early: a limit of 5 answers something above 5. */
	ASSERT(api_json_size_max(v, 5) > 5);
	json_decref(v);
	/* A tree sharing one subtree 2^30 times over is measured in bounded time. */
	json_t *t = json_string("0123456789");
	for (int i = 0; i < 30; i++) {
		json_t *n = json_array();
		json_array_append(n, t);
		json_array_append_new(n, t);
		t = n;
	}
	ASSERT(api_json_size_max(t, 3 << 20) > 3 << 20);
	json_decref(t);
}

static size_t ann_errors(const char *json, char *first, size_t n)
{
	json_t *a = json_loads(json, 0, NULL);
	struct api_errs e;
	api_errs_init(&e);
	api_validate_annotations(a, "metadata.annotations", &e);
	size_t c = api_errs_count(&e);
	if (first && c)
		snprintf(first, n, "%s",
			 json_string_value(json_object_get(json_array_get(e.causes, 0), "message")));
	api_errs_fini(&e);
	json_decref(a);
	return c;
}

TEST(bounds_annotations_as_kubernetes)
{
	char m[512] = "";
	ASSERT_INT_EQ(ann_errors("{\"a\":\"b\",\"example.com/Some.Key\":\"\"}", NULL, 0), 0);
	/* The body: a map and a number where strings belong. */
	ASSERT_INT_EQ(ann_errors("{\"a\":{\"b\":\"c\"},\"n\":5}", m, sizeof(m)), 2);
	ASSERT_STR_CONTAINS(m, "must be a string");
	ASSERT_INT_EQ(ann_errors("[\"a\"]", m, sizeof(m)), 1);
	ASSERT_INT_EQ(ann_errors("{\"bad key\":\"v\"}", m, sizeof(m)), 1);
	ASSERT_STR_CONTAINS(m, "name part must consist of alphanumeric characters");
	/* Total of keys and values: 256 KiB passes, one byte more does not. */
	size_t big = 256 * 1024 - 1;
	char *v = malloc(big + 1);
	memset(v, 'x', big);
	v[big] = 0;
	json_t *a = json_pack("{s:s}", "k", v);
	char *s = json_dumps(a, 0);
	ASSERT_INT_EQ(ann_errors(s, NULL, 0), 0);
	free(s);
	json_object_set_new(a, "kk", json_string(""));
	s = json_dumps(a, 0);
	ASSERT_INT_EQ(ann_errors(s, m, sizeof(m)), 1);
	ASSERT_STR_EQ(m, "Too long: may not be more than 262144 bytes");
	free(s);
	json_decref(a);
	free(v);
}

/* Issue 19 item 9: qsort(NULL, 0) is undefined (UBSan halts); xqsort takes empty arrays. */
static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

TEST(bounds_xqsort_empty_and_null)
{
	xqsort(NULL, 0, sizeof(int), cmp_int);
	int v[] = {3, 1, 2};
	xqsort(v, 3, sizeof(int), cmp_int);
	ASSERT(v[0] == 1 && v[1] == 2 && v[2] == 3);
}
