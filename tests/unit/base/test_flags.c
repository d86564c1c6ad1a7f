/* test_flags.c - base/flags.h: one table gives parsing, messages and help. */
#include "base/flags.h"
#include "harness/t.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conf {
	const char *name, *addr;
	int port;
	long long big;
	bool on, el;
	int64_t ms;
	char **list;
	int fn_calls;
};

static int count_fn(void *conf, const char *v)
{
	struct conf *c = conf;
	c->fn_calls++;
	return strcmp(v, "bad") ? 0 : -1;
}

#define O(f) offsetof(struct conf, f)
static const struct flag rows[] = {
    {.name = "name", .meta = "NAME", .cmds = 1, .type = FLAG_STR, .off = O(name), .help = "a name"},
    {.name = "addr",
     .meta = "IP",
     .cmds = 1,
     .type = FLAG_STR,
     .off = O(addr),
     .check = flag_is_ip,
     .what = "an IP address",
     .help = "an address,\nwith a second line"},
    {.name = "port", .meta = "N", .cmds = 3, .type = FLAG_INT, .off = O(port), .lo = 1, .hi = 65535},
    {.name = "big",
     .meta = "N",
     .cmds = 1,
     .type = FLAG_LLONG,
     .off = O(big),
     .lo = 100,
     .hi = 1LL << 40,
     .help = "h"},
    {.name = "on", .cmds = 1, .type = FLAG_TRUE, .off = O(on), .help = "switch"},
    {.name = "elect", .cmds = 1, .type = FLAG_BOOL, .off = O(el), .help = "bool"},
    {.name = "wait", .meta = "D", .cmds = 1, .type = FLAG_DURATION, .off = O(ms), .lo = 1, .help = "d"},
    {.name = "list",
     .meta = "A,B",
     .cmds = 1,
     .type = FLAG_LIST,
     .off = O(list),
     .hi = 2,
     .check = flag_is_ip,
     .help = "l"},
    {.name = "fn", .meta = "V", .cmds = 1, .type = FLAG_FN, .set = count_fn, .what = "good", .help = "f"},
    {.name = "other", .meta = "V", .cmds = 2, .type = FLAG_STR, .off = O(name), .help = "only cmd 2"},
    {0},
};
static const struct flag_set set1 = {"prog one", "prog one [flags]", 1, rows};

/* Runs flags_parse on a NULL-terminated argument list with stderr captured into err. */
static int run(struct conf *c, char *err, size_t errlen, ...)
{
	char *argv[16] = {"one"};
	int argc = 1;
	va_list ap;
	va_start(ap, errlen);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	fflush(stderr);
	int saved = dup(2);
	FILE *tmp = tmpfile();
	dup2(fileno(tmp), 2);
	int rc = flags_parse(&set1, argc, argv, c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(err, 1, errlen - 1, tmp);
	err[n] = 0;
	fclose(tmp);
	return rc;
}

TEST(flags_parse_sets_fields_and_keeps_defaults)
{
	struct conf c = {.name = "default", .port = 53};
	char err[512];
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--addr", "198.18.0.1", "--on", "--elect=false", "--wait",
			  "1m30s", "--list", "198.18.0.2,2001:db8::1", "--big=1099511627776", NULL),
		      -1);
	ASSERT_STR_EQ(err, "");
	ASSERT_STR_EQ(c.name, "default");
	ASSERT_INT_EQ(c.port, 53);
	ASSERT_STR_EQ(c.addr, "198.18.0.1");
	ASSERT(c.on && !c.el);
	ASSERT_INT_EQ(c.ms, 90000);
	ASSERT_INT_EQ(c.big, 1LL << 40);
	ASSERT_STR_EQ(c.list[0], "198.18.0.2");
	ASSERT_STR_EQ(c.list[1], "2001:db8::1");
	ASSERT(c.list[2] == NULL);
	/* --elect alone is true; a repeated list replaces the first (no leak under ASan). */
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--elect", "--list", "198.18.0.3", NULL), -1);
	ASSERT(c.el);
	ASSERT_STR_EQ(c.list[0], "198.18.0.3");
	ASSERT(c.list[1] == NULL);
	flags_fini(&set1, &c);
	ASSERT(c.list == NULL);
}

TEST(flags_parse_refuses_bad_values_with_the_rows_words)
{
	static const struct {
		const char *flag, *value, *msg;
	} cases[] = {
	    {"--addr", "nohost", "prog one: --addr: nohost is not an IP address\n"},
	    {"--port", "0", "prog one: --port: 0 is not a number from 1 to 65535\n"},
	    {"--port", "80x", "prog one: --port: 80x is not a number from 1 to 65535\n"},
	    {"--port", "", "prog one: --port:  is not a number from 1 to 65535\n"},
	    {"--port", "99999999999999999999",
	     "prog one: --port: 99999999999999999999 is not a number from 1 to 65535\n"},
	    {"--big", "99", "prog one: --big: 99 is not a number from 100 to 1099511627776\n"},
	    {"--elect=maybe", NULL, "prog one: --elect: maybe is not true or false\n"},
	    {"--wait", "0", "prog one: --wait: 0 is not a duration like 15s\n"},
	    {"--wait", "5x", "prog one: --wait: 5x is not a duration like 15s\n"},
	    {"--list", "198.18.0.1,,198.18.0.2",
	     "prog one: --list: 198.18.0.1,,198.18.0.2 is not a list of at most 2 values\n"},
	    {"--list", "198.18.0.1,198.18.0.2,198.18.0.3",
	     "prog one: --list: 198.18.0.1,198.18.0.2,198.18.0.3 is not a list of at most 2 values\n"},
	    {"--list", "x", "prog one: --list: x is not a list of at most 2 values\n"},
	    {"--fn", "bad", "prog one: --fn: bad is not good\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf c = {.port = 53, .addr = "keep"};
		char err[512];
		ASSERT_INT_EQ(run(&c, err, sizeof(err), (char *)cases[i].flag, (char *)cases[i].value, NULL),
			      2);
		ASSERT_STR_EQ(err, cases[i].msg);
		ASSERT_INT_EQ(c.port, 53);
		ASSERT_STR_EQ(c.addr, "keep");
		ASSERT(c.list == NULL);
	}
}

TEST(flags_parse_other_commands_rows_and_positionals_are_refused)
{
	struct conf c = {0};
	char err[1024];
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--other", "x", NULL), 2);
	ASSERT_STR_CONTAINS(err, "unrecognized option '--other'");
	ASSERT_STR_CONTAINS(err, "usage: prog one [flags]");
	ASSERT(c.name == NULL);
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--on", "stray", NULL), 2);
	ASSERT_STR_EQ(err, "prog one: unexpected argument stray\n");
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--on=1", NULL), 2);
	ASSERT_INT_EQ(c.fn_calls, 0);
	ASSERT_INT_EQ(run(&c, err, sizeof(err), "--fn", "ok", "--fn", "ok2", NULL), -1);
	ASSERT_INT_EQ(c.fn_calls, 2);
}

TEST(flags_usage_lists_the_commands_rows_aligned)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	flags_usage(&set1, f);
	fclose(f);
	ASSERT_STR_CONTAINS(out, "usage: prog one [flags]\n"
				 "  --name NAME                       a name\n"
				 "  --addr IP                         an address,\n"
				 "                                    with a second line\n");
	ASSERT_STR_CONTAINS(out, "  --elect[=BOOL]                    bool\n");
	ASSERT(strstr(out, "--port") == NULL);	/* no help: not listed */
	ASSERT(strstr(out, "--other") == NULL); /* another command's */
	free(out);
}

TEST(flags_duration_and_pairs)
{
	int64_t ms;
	ASSERT_INT_EQ(flag_duration_ms("1h30m", &ms), 0);
	ASSERT_INT_EQ(ms, 5400000);
	ASSERT_INT_EQ(flag_duration_ms("500ms", &ms), 0);
	ASSERT_INT_EQ(ms, 500);
	ASSERT_INT_EQ(flag_duration_ms("0", &ms), 0);
	ASSERT_INT_EQ(ms, 0);
	ASSERT(flag_duration_ms("", &ms) < 0);
	ASSERT(flag_duration_ms("10", &ms) < 0);
	ASSERT(flag_duration_ms("-1s", &ms) < 0);
	ASSERT(flag_is_ip_pair("198.18.0.1"));
	ASSERT(flag_is_ip_pair("198.18.0.1,2001:db8::1"));
	ASSERT(!flag_is_ip_pair("198.18.0.1,198.18.0.2"));
	ASSERT(!flag_is_ip_pair("198.18.0.1,"));
	ASSERT(!flag_is_ip_pair("198.18.0.1,2001:db8::1,198.18.0.3"));
	ASSERT(flag_is_cidr_pair("198.18.0.0/15,2001:db8::/64"));
	ASSERT(!flag_is_cidr_pair("198.18.0.0/33"));
	ASSERT(flag_is_port_range("30000-32767"));
	ASSERT(!flag_is_port_range("30000"));
	ASSERT(!flag_is_port_range("0-10"));
	ASSERT(!flag_is_port_range("10-5"));
}
