/* test_flags.c - svcplane ctl's one flag parser (cli/core.c) over the verbs' tables. */
#include "cli/cmd.h"
#include "harness/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Parses argv (NULL-terminated, argv[0] the verb) for cmd with stdout and stderr sent to
 * /dev/null; returns cli__flags_parse's result. */
static int parse(const struct cli_cmd *cmd, char **argv, struct cli_flags *f, int *first)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	FILE *null = fopen("/dev/null", "w");
	dup2(fileno(null), 1);
	dup2(fileno(null), 2);
	int rc = cli__flags_parse(cmd, argc, argv, f, first);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	fclose(null);
	return rc;
}

TEST(ctl_flags_defaults_and_rows)
{
	char *argv[] = {"delete",
			"-n",
			"prod",
			"svc",
			"-f",
			"a.yaml",
			"--filename=b.yaml",
			"-Rl",
			"app=x",
			"--wait=false",
			"--ignore-not-found",
			"--request-timeout",
			"2m",
			"web",
			NULL};
	struct cli_flags f;
	int first = 0;
	ASSERT_INT_EQ(parse(&cli__cmd_delete, argv, &f, &first), -1);
	ASSERT_STR_EQ(f.ns, "prod");
	ASSERT_INT_EQ(f.files.len, 2);
	ASSERT_STR_EQ(f.files.v[0], "a.yaml");
	ASSERT_STR_EQ(f.files.v[1], "b.yaml");
	ASSERT(f.recursive);
	ASSERT_STR_EQ(f.selector, "app=x");
	ASSERT(!f.wait);
	ASSERT(f.ignore_not_found);
	ASSERT(!f.all);
	ASSERT_INT_EQ(f.timeout_ms, 120000);
	/* getopt moves the positional arguments to the end, in order. */
	ASSERT_STR_EQ(argv[first], "svc");
	ASSERT_STR_EQ(argv[first + 1], "web");
	ASSERT(argv[first + 2] == NULL);
	/* Defaults of the fields this verb does not name. */
	ASSERT_STR_EQ(f.output, "");
	ASSERT_STR_EQ(f.field_manager, CLI_FIELD_MANAGER);
	ASSERT_INT_EQ(f.tail, -1);
	ASSERT(f.show_events);
	cli__flags_fini(&f);
}

TEST(ctl_flags_bools_and_ints)
{
	char *argv[] = {"logs", "-f", "--previous=false", "--timestamps", "--tail", "20", "--limit-bytes=7",
			"pod",	NULL};
	struct cli_flags f;
	int first = 0;
	ASSERT_INT_EQ(parse(&cli__cmd_logs, argv, &f, &first), -1);
	ASSERT(f.follow);
	ASSERT(!f.previous);
	ASSERT(f.timestamps);
	ASSERT_INT_EQ(f.tail, 20);
	ASSERT_INT_EQ(f.limit_bytes, 7);
	ASSERT_STR_EQ(argv[first], "pod");
	cli__flags_fini(&f);
}

TEST(ctl_flags_bad_input)
{
	struct cli_flags f;
	int first = 0;
	char *help[] = {"get", "--help", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_get, help, &f, &first), 0);
	char *unknown[] = {"get", "--bogus", "svc", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_get, unknown, &f, &first), 1);
	/* A flag of another verb is unknown here. */
	char *other[] = {"apply", "--tail", "3", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_apply, other, &f, &first), 1);
	char *missing[] = {"get", "-o", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_get, missing, &f, &first), 1);
	char *bad_int[] = {"logs", "--tail", "x", "p", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_logs, bad_int, &f, &first), 1);
	char *big_int[] = {"logs", "--limit-bytes", "99999999999999999999", "p", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_logs, big_int, &f, &first), 1);
	char *files[] = {"apply", "-f", "a", "-f", "b", "--bogus", NULL};
	ASSERT_INT_EQ(parse(&cli__cmd_apply, files, &f, &first), 1); /* nothing leaks: -f's list is freed */
}
