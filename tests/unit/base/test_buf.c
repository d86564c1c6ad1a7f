/* test_buf.c - base/buf.h: Go's %q writer. */
#include "base/buf.h"
#include "harness/t.h"

#include <stdlib.h>

static char *goq(const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_put_goquoted(&b, s);
	return buf_take(&b);
}

TEST(buf_put_goquoted_as_go)
{
	/* fmt.Sprintf("%q", ...) of the same strings (ASCII escapes; bytes >= 0x80 copied). */
	char *s = goq("");
	ASSERT_STR_EQ(s, "\"\"");
	free(s);
	s = goq("a\"b\\c\nd\te\rf");
	ASSERT_STR_EQ(s, "\"a\\\"b\\\\c\\nd\\te\\rf\"");
	free(s);
	s = goq("\x01\x1f\x7f");
	ASSERT_STR_EQ(s, "\"\\x01\\x1f\\x7f\"");
	free(s);
	s = goq("caf\xc3\xa9");
	ASSERT_STR_EQ(s, "\"caf\xc3\xa9\"");
	free(s);
}
