/* test_codec_span.c - api_json_member_span: one member of an object without parsing it all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "harness/t.h"

static const char *span(const char *doc, const char *key, int *rc)
{
	static char out[256];
	size_t off = 0, n = 0;
	*rc = api_json_member_span(doc, strlen(doc), key, &off, &n);
	if (*rc)
		return "";
	snprintf(out, sizeof(out), "%.*s", (int)n, doc + off);
	return out;
}

TEST(codec_member_span)
{
	int rc;
	const char *d =
	    "{\"metadata\":{\"annotations\":{\"x\":\"{\\\"spec\\\":1}\"}},\"spec\":{\"a\":[1,{\"b\":\"}\"}]}, \"n\" : 5 ,\"s\":\"q\\\"\"}";
	ASSERT_STR_EQ(span(d, "spec", &rc), "{\"a\":[1,{\"b\":\"}\"}]}");
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(span(d, "n", &rc), "5 ");
	ASSERT_STR_EQ(span(d, "s", &rc), "\"q\\\"\"");
	span(d, "status", &rc);
	ASSERT_INT_EQ(rc, -ENOENT);
	span("[1]", "spec", &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	span("{\"spec\":{\"a\":1", "spec", &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	span("{\"spec\"", "spec", &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	span("", "spec", &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
}
