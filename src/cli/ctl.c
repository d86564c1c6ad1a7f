/* ctl.c - `svcplane ctl get|apply|delete|describe|logs`: the table of verbs and the entry.
 *
 * Each verb lives in its own file (get.c, apply.c, delete.c, describe.c, logs.c) as a row
 * {name, run, usage, options}; core.c parses the global flags and the verb's in one loop
 * (cli/cmd.h). Each command collects its results first and prints them afterwards (tables
 * need the widest cell, and kubectl prefixes names with their kind only when several kinds
 * came back), then prints the errors it met on the way, one failure never stopping the
 * others, and returns 1 when there was any. A transport failure (server unreachable) is
 * fatal at once, as in kubectl.
 */
#include "cli/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/cmd.h"

static const struct cli_cmd *const cmds[] = {&cli__cmd_get, &cli__cmd_apply, &cli__cmd_delete,
					     &cli__cmd_describe, &cli__cmd_logs};

/* ---- entry ---- */

static int ctl_dispatch(int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: svcplane ctl <command> [flags]\n"
	    "commands:\n"
	    "  get        list objects or show one (-o wide|yaml|json|name)\n"
	    "  apply      create or update objects from files, folders or stdin (-f)\n"
	    "  delete     delete objects by type and name, selector or file\n"
	    "  describe   show an object in detail (Services with their endpoints)\n"
	    "  logs       print (or follow) the logs of a pod's container\n"
	    "The kubeconfig is --kubeconfig, $KUBECONFIG, ~/.kube/config or /var/lib/svcplane/kubeconfig.\n"
	    "run `svcplane ctl <command> --help` for the flags of a command\n");
}

/* True for a global flag that takes its value in the next argument. */
static bool global_takes_value(const char *a)
{
	return !strcmp(a, "-n") || !strcmp(a, "--namespace") || !strcmp(a, "--kubeconfig") ||
	       !strcmp(a, "--context") || !strcmp(a, "--request-timeout");
}

int cli_ctl_main(int argc, char **argv)
{
	/* Global flags may come before the command (`ctl -n prod get svc`, as with kubectl):
	 * find the command and move it to the front, the flags after it. */
	int verb = 1;
	while (verb < argc && argv[verb][0] == '-' && argv[verb][1]) {
		if (global_takes_value(argv[verb]) && verb + 1 < argc)
			verb += 2;
		else if (!strncmp(argv[verb], "--", 2) && strchr(argv[verb], '=') &&
			 strcmp(argv[verb], "--help") != 0)
			verb++;
		else if (!strncmp(argv[verb], "-n", 2) && argv[verb][2])
			verb++;
		else
			break;
	}
	if (verb >= argc ||
	    (argv[verb][0] == '-' && strcmp(argv[verb], "--help") && strcmp(argv[verb], "-h"))) {
		usage(stderr);
		return 2;
	}
	char **av = xcalloc((size_t)argc + 1, sizeof(*av));
	av[0] = argv[0];
	av[1] = argv[verb];
	int n = 2;
	for (int i = 1; i < argc; i++)
		if (i != verb)
			av[n++] = argv[i];
	int rc = ctl_dispatch(argc, av);
	free(av);
	return rc;
}

static int ctl_dispatch(int argc, char **argv)
{
	const char *cmd = argv[1];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i]->name) != 0)
			continue;
		struct cli_flags f;
		int first;
		int rc = cli__flags_parse(cmds[i], argc - 1, argv + 1, &f, &first);
		if (rc >= 0)
			return rc;
		rc = cmds[i]->run(&f, argc - 1 - first, argv + 1 + first);
		cli__flags_fini(&f);
		return rc;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "error: unknown command \"%s\" for \"svcplane ctl\"\n", cmd);
	usage(stderr);
	return 1;
}
