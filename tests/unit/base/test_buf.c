/* test_buf.c - base/buf.h: Go's %q writer. */
#include "base/buf.h"
#include "harness/t.h"

#include <stdlib.h>

TEST(buf_put_goquoted_as_go)
{
	/* fmt.Sprintf("%q", in) of the same strings (ASCII escapes; bytes >= 0x80 copied). */
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"", "\"\""},
	    {"a\"b\\c\nd\te\rf", "\"a\\\"b\\\\c\\nd\\te\\rf\""},
	    {"\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\""},
	    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b);
		buf_put_goquoted(&b, cases[i].in);
		ASSERT_STR_EQ(b.data, cases[i].want);
		buf_fini(&b);
	}
}
