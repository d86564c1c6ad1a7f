/* cmd.h - the core every `svcplane ctl` verb shares (core.c): the command table, one flag
 * parser for every verb, the connection with its error collection, one request, the
 * TYPE[/NAME] arguments, and manifests read from files, folders or stdin.
 *
 * Each verb is a row {name, run, usage, options}: options lists the flags the verb takes
 * besides the global ones (--kubeconfig, --context, -n/--namespace, --request-timeout,
 * -h/--help), each naming the field of struct cli_flags it sets. cli__flags_parse runs one
 * getopt_long loop over the global flags and the verb's, so a verb's run sees parsed flags
 * and its positional arguments only. The verbs print kubectl's words; this core prints
 * only usage and the errors of its own steps.
 */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "api/schema.h"
#include "cli/internal.h"
#include "client/client.h"

#define CLI_FIELD_MANAGER "svcplane-ctl"
#define CLI_TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

/* A repeatable string flag (-f a -f b). */
struct cli_strs {
	const char **v; /* borrowed from argv */
	size_t len, cap;
};

/* Every flag of every verb, with the defaults cli__flags_parse sets before parsing. A verb
 * reads only the fields its table names (and the global ones). */
struct cli_flags {
	/* global */
	const char *kubeconfig, *context, *ns;
	long timeout_ms;
	/* get, describe, delete */
	bool all_namespaces, show_labels, no_headers, show_events /* true */;
	const char *output /* "" */, *selector;
	/* apply, delete */
	struct cli_strs files;
	bool recursive, all, ignore_not_found, wait /* true */;
	const char *field_manager /* CLI_FIELD_MANAGER */;
	/* logs */
	const char *container, *since, *since_time;
	bool follow, previous, timestamps, insecure_backend;
	long long tail /* -1 */, limit_bytes;
};

enum cli_opt_type {
	CLI_OPT_TRUE, /* --x sets true */
	CLI_OPT_BOOL, /* --x or --x=BOOL ("false" clears it) */
	CLI_OPT_STR,  /* --x VALUE */
	CLI_OPT_STRS, /* --x VALUE, repeatable, into a struct cli_strs */
	CLI_OPT_INT,  /* --x N as a long long, kubectl's strconv error on a bad one */
};

/* One flag of a verb: its long name, its short letter (0: none), how it parses and the
 * offset of its field in struct cli_flags. */
struct cli_opt {
	const char *name;
	char shortc;
	enum cli_opt_type type;
	size_t off;
};
#define CLI_OPT(name, shortc, type, field)                                                                   \
	{                                                                                                    \
		name, shortc, type, offsetof(struct cli_flags, field)                                        \
	}
/* Rows several verbs share, as kubectl's flag adders. */
#define CLI_OPT_SELECTOR CLI_OPT("selector", 'l', CLI_OPT_STR, selector)
#define CLI_OPT_ALL_NAMESPACES CLI_OPT("all-namespaces", 'A', CLI_OPT_TRUE, all_namespaces)
#define CLI_OPT_FILENAME                                                                                     \
	CLI_OPT("filename", 'f', CLI_OPT_STRS, files), CLI_OPT("recursive", 'R', CLI_OPT_TRUE, recursive)

/* One verb of `svcplane ctl`. */
struct cli_cmd {
	const char *name;
	/* Runs with the parsed flags and the positional arguments; returns the exit code. */
	int (*run)(const struct cli_flags *f, int argc, char **argv);
	void (*usage)(FILE *out);
	const struct cli_opt *options; /* ends with a row whose name is NULL */
};

extern const struct cli_cmd cli__cmd_get, cli__cmd_apply, cli__cmd_delete, cli__cmd_describe, cli__cmd_logs;

/* Parses argv (argv[0] is the verb) against the global flags and cmd's options into f
 * (defaults first). Returns -1 to go on with the positional arguments argv[*first..], else
 * the exit code: 0 after --help (usage on stdout), 1 after a bad flag (usage or kubectl's
 * error on stderr). f->files is heap: cli__flags_fini frees it. */
int cli__flags_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_flags *f, int *first);
void cli__flags_fini(struct cli_flags *f);

/* The state of one command run: the client, the effective namespace and the errors met. */
struct cli_ctl {
	struct client *cl;
	const char *ns; /* effective namespace */
	bool ns_explicit;
	struct cli_errs errs;
	bool fatal; /* a transport error was printed */
};

/* Loads the kubeconfig and makes the client; prints the error and returns 1 on failure. */
int cli__open(struct cli_ctl *c, const struct cli_flags *f);
void cli__close(struct cli_ctl *c);
/* Prints the collected errors, closes c and returns the exit code. */
int cli__finish(struct cli_ctl *c);

/* One request. Returns 0 with *out (when out is not NULL) the decoded body, 1 with *ae
 * filled on an HTTP error, -1 on a transport error (printed, c->fatal set). Blocks. */
int cli__call(struct cli_ctl *c, const char *method, const char *path, const char *ctype, const char *body,
	      const char *accept, json_t **out, struct client_apierr *ae);

/* What TYPE[/NAME] [NAME...] arguments name. */
struct cli_target {
	const struct api_kind *k;
	char *name; /* NULL: the whole collection */
};
struct cli_targets {
	struct cli_target *v;
	size_t len, cap; /* a VEC (base/vec.h) */
};
/* Parses the positional arguments; prints kubectl's error and returns 1 on a bad one. */
int cli__targets_parse(int argc, char **argv, struct cli_targets *t);
void cli__targets_fini(struct cli_targets *t);
/* Checks the targets' names against how the objects are picked: when selecting (a
 * selector or --all picks them) no target may name an object; when not, and names_needed,
 * each must. On a breach prints kubectl's error, frees t and returns 1; else 0. */
int cli__targets_check_names(struct cli_targets *t, bool selecting, bool names_needed);

/* kubectl's error for a verb given no resource type; returns the exit code 1. */
int cli__no_type(const char *verb);
/* kubectl's "No resources found[ in NS namespace.]" on stderr, after what stdout holds;
 * the namespace is named when every target is namespaced and all_ns is false. */
void cli__no_resources(const struct cli_ctl *c, const struct cli_targets *t, bool all_ns);

/* The collection query: ?labelSelector=...; heap string (may be ""). */
char *cli__list_query(const char *selector);
/* Lists k in ns (NULL = all namespaces) with an optional selector; 0 with *items (new
 * reference) or -1 with an error recorded. Items get apiVersion and kind like kubectl's. */
int cli__list_items(struct cli_ctl *c, const struct api_kind *k, const char *ns, const char *selector,
		    json_t **items);

/* Manifest objects with the file they came from, and where each goes. */
struct cli_doc {
	json_t *obj;
	char *source;
	const struct api_kind *k; /* NULL: the object cannot be sent (its error is recorded) */
	const char *ns; /* its namespace, borrowed from obj or the cli_ctl; NULL if cluster-scoped */
};
struct cli_docs {
	struct cli_doc *v;
	size_t len, cap; /* a VEC (base/vec.h) */
};
void cli__docs_fini(struct cli_docs *d);
/* Reads every FILE, DIR or "-" of f->files into d, then checks each object like kubectl's
 * resource builder: every object's errors are recorded in c first (in order), and the
 * objects that can be sent get k and ns. Returns 0, or 1 (printed, d freed) when a path
 * does not exist. */
int cli__docs_load(struct cli_ctl *c, const struct cli_flags *f, struct cli_docs *d);
/* Prefixes an API error's message with `error when VERB "SOURCE": ` (AddSourceToErr). */
void cli__add_source(struct client_apierr *ae, const char *verb, const char *source);

#endif
