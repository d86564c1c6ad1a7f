/* core.c - what every `svcplane ctl` verb shares: the one flag parser over the global
 * flags and a verb's table, the connection, one request, TYPE[/NAME] arguments and
 * manifests. The contracts are in cli/cmd.h.
 */
#include "cli/cmd.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/codec.h"
#include "api/object.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/vec.h"

/* ---- flags ---- */

/* getopt_long values of the long-only flags: global ones, then 1000 + a table row. */
enum { O_KUBECONFIG = 900, O_CONTEXT, O_TIMEOUT, O_ROW = 1000 };

static const struct option global_opts[] = {
    {"kubeconfig", required_argument, 0, O_KUBECONFIG},
    {"context", required_argument, 0, O_CONTEXT},
    {"namespace", required_argument, 0, 'n'},
    {"request-timeout", required_argument, 0, O_TIMEOUT},
    {"help", no_argument, 0, 'h'},
};
#define N_GLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

/* Handles a global flag; returns true when ch was one. */
static bool global_flag(int ch, const char *arg, struct cli_flags *f)
{
	switch (ch) {
	case O_KUBECONFIG:
		f->kubeconfig = arg;
		return true;
	case O_CONTEXT:
		f->context = arg;
		return true;
	case 'n':
		f->ns = arg;
		return true;
	case O_TIMEOUT: {
		char *end;
		double v = strtod(arg, &end);
		if (!strcmp(end, "ms"))
			f->timeout_ms = (long)v;
		else if (!strcmp(end, "m"))
			f->timeout_ms = (long)(v * 60000);
		else
			f->timeout_ms = (long)(v * 1000);
		return true;
	}
	default:
		return false;
	}
}

/* Sets the field of row o from arg; returns 0, or 1 after printing kubectl's error. */
static int row_set(const struct cli_cmd *cmd, const struct cli_opt *o, const char *arg, struct cli_flags *f)
{
	void *field = (char *)f + o->off;
	switch (o->type) {
	case CLI_OPT_TRUE:
		*(bool *)field = true;
		return 0;
	case CLI_OPT_BOOL:
		*(bool *)field = !arg || strcmp(arg, "false") != 0;
		return 0;
	case CLI_OPT_STR:
		*(const char **)field = arg;
		return 0;
	case CLI_OPT_STRS: {
		*vec_push((struct cli_strs *)field) = arg;
		return 0;
	}
	case CLI_OPT_INT: {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(arg, &end, 10);
		if (!*arg || *end || errno) {
			fprintf(
			    stderr,
			    "error: invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": "
			    "%s\nSee 'svcplane ctl %s --help' for usage.\n",
			    arg, o->name, arg, errno ? "value out of range" : "invalid syntax", cmd->name);
			return 1;
		}
		*(long long *)field = v;
		return 0;
	}
	}
	return 0;
}

int cli__flags_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_flags *f, int *first)
{
	memset(f, 0, sizeof(*f));
	f->output = "";
	f->show_events = true;
	f->wait = true;
	f->field_manager = CLI_FIELD_MANAGER;
	f->tail = -1;
	size_t nrows = 0;
	while (cmd->options[nrows].name)
		nrows++;
	struct option *lo = xcalloc(nrows + N_GLOBAL + 1, sizeof(*lo));
	char *shorts = xcalloc(2 * nrows + 4, 1), *sp = shorts;
	*sp++ = 'n';
	*sp++ = ':';
	*sp++ = 'h';
	for (size_t i = 0; i < nrows; i++) {
		const struct cli_opt *o = &cmd->options[i];
		bool needs = o->type == CLI_OPT_STR || o->type == CLI_OPT_STRS || o->type == CLI_OPT_INT;
		lo[i] = (struct option){o->name,
					needs			  ? required_argument
					: o->type == CLI_OPT_BOOL ? optional_argument
								  : no_argument,
					0, o->shortc ? o->shortc : O_ROW + (int)i};
		if (o->shortc) {
			*sp++ = o->shortc;
			if (needs)
				*sp++ = ':';
		}
	}
	memcpy(lo + nrows, global_opts, sizeof(global_opts));
	int rc = -1, ch;
	optind = 1;
	while (rc < 0 && (ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (global_flag(ch, optarg, f))
			continue;
		const struct cli_opt *row = NULL;
		if (ch >= O_ROW && ch < O_ROW + (int)nrows)
			row = &cmd->options[ch - O_ROW];
		for (size_t i = 0; i < nrows && !row && ch != 'h'; i++)
			if (cmd->options[i].shortc == ch)
				row = &cmd->options[i];
		if (row) {
			if (row_set(cmd, row, optarg, f))
				rc = 1;
		} else if (ch == 'h') {
			cmd->usage(stdout);
			rc = 0;
		} else {
			cmd->usage(stderr);
			rc = 1;
		}
	}
	free(lo);
	free(shorts);
	*first = optind;
	if (rc >= 0)
		cli__flags_fini(f);
	return rc;
}

void cli__flags_fini(struct cli_flags *f)
{
	free(f->files.v);
	f->files.v = NULL;
	f->files.len = f->files.cap = 0;
}

/* ---- the connection ---- */

int cli__open(struct cli_ctl *c, const struct cli_flags *g)
{
	memset(c, 0, sizeof(*c));
	struct client_config cfg;
	char err[1024];
	int rc = client_config_load(g->kubeconfig, g->context, &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	c->cl = client_new(&cfg, g->timeout_ms);
	client_config_fini(&cfg);
	c->ns = g->ns && *g->ns ? g->ns : client_namespace(c->cl);
	c->ns_explicit = g->ns && *g->ns;
	return 0;
}

void cli__close(struct cli_ctl *c)
{
	client_free(c->cl);
	cli__errs_fini(&c->errs);
}

/* Prints the collected errors; returns the exit code. */
int cli__finish(struct cli_ctl *c)
{
	fflush(stdout);
	char *s = cli__errs_format(&c->errs);
	fputs(s, stderr);
	free(s);
	int rc = c->fatal || c->errs.len ? 1 : 0;
	cli__close(c);
	return rc;
}

/* One request. Returns 0 with *out (when out is not NULL) the decoded body, 1 with *ae
 * filled on an HTTP error, -1 on a transport error (printed, c->fatal set). */
int cli__call(struct cli_ctl *c, const char *method, const char *path, const char *ctype, const char *body,
	      const char *accept, json_t **out, struct client_apierr *ae)
{
	if (out)
		*out = NULL;
	if (c->fatal)
		return -1;
	long status = 0;
	char *resp = NULL, err[512];
	size_t len = 0;
	int rc =
	    client_request(c->cl, method, path, ctype, body, accept, &status, &resp, &len, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		c->fatal = true;
		return -1;
	}
	if (status < 200 || status > 299) {
		client_apierr_decode(status, resp, ae);
		free(resp);
		return 1;
	}
	if (out) {
		*out = json_loadb(resp, len, 0, NULL);
		if (!*out) {
			client_apierr_decode(500, "", ae);
			free(ae->message);
			ae->message =
			    xasprintf("unable to decode the server's answer to %s %s", method, path);
			free(resp);
			return 1;
		}
	}
	free(resp);
	return 0;
}
/* ---- targets: what TYPE[/NAME] [NAME...] arguments name ---- */

int cli__no_type(const char *verb)
{
	fprintf(stderr,
		"You must specify the type of resource to %s. Use \"svcplane ctl %s -h\" for help.\n\n"
		"error: Required resource not specified.\n",
		verb, verb);
	return 1;
}

void cli__no_resources(const struct cli_ctl *c, const struct cli_targets *t, bool all_ns)
{
	bool all_namespaced = !all_ns;
	for (size_t i = 0; i < t->len; i++)
		all_namespaced &= t->v[i].k->namespaced;
	fflush(stdout);
	if (all_namespaced)
		fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
	else
		fprintf(stderr, "No resources found\n");
}

static void targets_add(struct cli_targets *t, const struct api_kind *k, const char *name)
{
	*vec_push(t) = (struct cli_target){k, name ? xstrdup(name) : NULL};
}

void cli__targets_fini(struct cli_targets *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->v[i].name);
	free(t->v);
}

int cli__targets_check_names(struct cli_targets *t, bool selecting, bool names_needed)
{
	for (size_t i = 0; i < t->len; i++) {
		const char *err = NULL;
		if (!t->v[i].name && !selecting && names_needed)
			err = "resource(s) were provided, but no name was specified";
		else if (t->v[i].name && selecting)
			err = "name cannot be provided when a selector is specified";
		if (err) {
			fprintf(stderr, "error: %s\n", err);
			cli__targets_fini(t);
			return 1;
		}
	}
	return 0;
}

/* Parses the positional arguments; prints kubectl's error and returns 1 on a bad one. */
int cli__targets_parse(int argc, char **argv, struct cli_targets *t)
{
	memset(t, 0, sizeof(*t));
	if (argc == 0)
		return 0;
	bool slash = strchr(argv[0], '/') != NULL;
	for (int i = 1; i < argc && !slash; i++)
		if (strchr(argv[i], '/')) {
			fprintf(
			    stderr,
			    "error: there is no need to specify a resource type as a separate argument when "
			    "passing arguments in resource/name form (e.g. 'svcplane ctl get "
			    "resource/<resource_name>' "
			    "instead of 'svcplane ctl get resource resource/<resource_name>'\n");
			return 1;
		}
	if (slash) {
		for (int i = 0; i < argc; i++) {
			char *s = strchr(argv[i], '/');
			if (!s) {
				fprintf(stderr, "error: arguments in resource/name form must have a single "
						"resource and name\n");
				return 1;
			}
			char *type = xstrndup(argv[i], (size_t)(s - argv[i]));
			const struct api_kind *k = cli__resolve_type(type);
			if (!k) {
				fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n",
					type);
				free(type);
				return 1;
			}
			free(type);
			if (!s[1] || strchr(s + 1, '/')) {
				fprintf(stderr, "error: arguments in resource/name form must have a single "
						"resource and name\n");
				return 1;
			}
			targets_add(t, k, s + 1);
		}
		return 0;
	}
	char *types = xstrdup(argv[0]), *save = NULL;
	int rc = 0;
	for (char *ty = strtok_r(types, ",", &save); ty; ty = strtok_r(NULL, ",", &save)) {
		const struct api_kind *k = cli__resolve_type(ty);
		if (!k) {
			fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", ty);
			rc = 1;
			break;
		}
		if (argc == 1)
			targets_add(t, k, NULL);
		for (int i = 1; i < argc; i++)
			targets_add(t, k, argv[i]);
	}
	free(types);
	return rc;
}

/* The collection query: ?labelSelector=...; heap string (may be ""). */
char *cli__list_query(const char *selector)
{
	if (!selector || !*selector)
		return xstrdup("");
	char *e = client_escape(selector);
	char *q = xasprintf("?labelSelector=%s", e);
	free(e);
	return q;
}

/* Lists k in ns (NULL = all namespaces) with an optional selector; 0 with *items (new
 * reference) or an error recorded. Items get apiVersion and kind like kubectl's. */
int cli__list_items(struct cli_ctl *c, const struct api_kind *k, const char *ns, const char *selector,
		    json_t **items)
{
	char *path = cli__path(k, ns, NULL), *q = cli__list_query(selector);
	char *full = xasprintf("%s%s", path, q);
	json_t *list = NULL;
	struct client_apierr ae;
	int rc = cli__call(c, "GET", full, NULL, NULL, NULL, &list, &ae);
	free(path);
	free(q);
	free(full);
	if (rc == 1)
		cli__errs_add_api(&c->errs, &ae);
	if (rc)
		return -1;
	json_t *arr = json_object_get(list, "items");
	*items = json_is_array(arr) ? json_incref(arr) : json_array();
	size_t i;
	json_t *it;
	json_array_foreach(*items, i, it)
	{
		if (!json_object_get(it, "apiVersion"))
			json_object_set_new(it, "apiVersion", json_string(api_kind_api_version(k)));
		if (!json_object_get(it, "kind"))
			json_object_set_new(it, "kind", json_string(k->kind));
	}
	json_decref(list);
	return 0;
}
/* ---- reading manifests ---- */

static void docs_add(struct cli_docs *d, json_t *obj, const char *source)
{
	/* A v1 List (or any *List with items) stands for its items. */
	const char *kind = api_str(obj, "kind");
	json_t *items = json_object_get(obj, "items");
	if (kind && strlen(kind) >= 4 && !strcmp(kind + strlen(kind) - 4, "List") && json_is_array(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) docs_add(d, it, source);
		return;
	}
	*vec_push(d) = (struct cli_doc){json_incref(obj), xstrdup(source)};
}

void cli__docs_fini(struct cli_docs *d)
{
	for (size_t i = 0; i < d->len; i++) {
		json_decref(d->v[i].obj);
		free(d->v[i].source);
	}
	free(d->v);
	*d = (struct cli_docs){0};
}

/* Decodes one file's bytes (YAML stream or JSON) into docs; errors are recorded. */
static void decode_source(struct cli_ctl *c, const char *data, size_t len, const char *source,
			  struct cli_docs *d)
{
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	json_t *v = NULL;
	char err[512] = "";
	int rc;
	if (i < len && data[i] == '{') {
		rc = api_json_decode(data, len, &v, err, sizeof(err));
		if (rc == 0) {
			json_t *arr = json_array();
			json_array_append_new(arr, v);
			v = arr;
		}
	} else {
		rc = api_yaml_decode(data, len, &v, err, sizeof(err));
	}
	if (rc < 0) {
		cli__errs_add(&c->errs, "error parsing %s: %s", source, err);
		return;
	}
	size_t k;
	json_t *o;
	json_array_foreach(v, k, o)
	{
		if (json_is_object(o) && json_object_size(o))
			docs_add(d, o, source);
	}
	json_decref(v);
}

static bool manifest_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads FILE, DIR or "-" into docs (top: path was named by the user). Returns 1 (printed)
 * when the path does not exist; other errors are recorded in c. */
static int docs_read(struct cli_ctl *c, const char *path, bool recursive, bool top, struct cli_docs *d)
{
	if (!strcmp(path, "-")) {
		char *data = NULL;
		size_t len = 0;
		if (file_read_fp(stdin, API_CODEC_MAX_BYTES * 4, &data, &len) < 0)
			cli__errs_add(&c->errs, "reading STDIN: %s", strerror(errno));
		else
			decode_source(c, data, len, "STDIN", d);
		free(data);
		return 0;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "error: the path \"%s\" does not exist\n", path);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!top && !recursive)
			return 0;
		DIR *dir = opendir(path);
		if (!dir) {
			cli__errs_add(&c->errs, "open %s: %s", path, strerror(errno));
			return 0;
		}
		VEC(char *) names = {0};
		struct dirent *de;
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.' &&
			    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			*vec_push(&names) = xstrdup(de->d_name);
		}
		closedir(dir);
		xqsort(names.v, names.len, sizeof(*names.v), cmp_names);
		size_t pl = strlen(path);
		for (size_t i = 0; i < names.len; i++) {
			char *full = xasprintf("%.*s/%s", (int)(pl > 1 && path[pl - 1] == '/' ? pl - 1 : pl),
					       path, names.v[i]);
			struct stat cst;
			if (stat(full, &cst) == 0 && S_ISDIR(cst.st_mode)) {
				if (recursive)
					docs_read(c, full, recursive, false, d);
			} else if (manifest_ext(names.v[i])) {
				docs_read(c, full, recursive, false, d);
			}
			free(full);
			free(names.v[i]);
		}
		vec_free(&names);
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli__errs_add(&c->errs, "open %s: %s", path, strerror(errno));
		return 0;
	}
	char *data = NULL;
	size_t len = 0;
	if (file_read_fp(f, API_CODEC_MAX_BYTES * 4, &data, &len) < 0)
		cli__errs_add(&c->errs, "reading %s: %s", path, strerror(errno));
	else
		decode_source(c, data, len, path, d);
	free(data);
	fclose(f);
	return 0;
}

/* Checks a manifest object and finds its kind and namespace; records kubectl's error and
 * returns NULL when it cannot be sent. *ns is borrowed from obj or c. */
static const struct api_kind *doc_kind(struct cli_ctl *c, const struct cli_doc *d, const char **ns)
{
	const char *av = api_str(d->obj, "apiVersion"), *kind = api_str(d->obj, "kind");
	const char *name = api_str(d->obj, "metadata.name");
	const char *ons = api_str(d->obj, "metadata.namespace");
	if (!kind || !*kind || !av || !*av) {
		char *s = json_dumps(d->obj, JSON_COMPACT | JSON_SORT_KEYS);
		cli__errs_add(&c->errs, "unable to decode \"%s\": Object '%s' is missing in '%s'", d->source,
			      !kind || !*kind ? "Kind" : "apiVersion", s ? s : "");
		free(s);
		return NULL;
	}
	const struct api_kind *k = api_kind_by_gvk(av, kind);
	if (!k) {
		cli__errs_add(&c->errs,
			      "resource mapping not found for name: \"%s\" namespace: \"%s\" from \"%s\": no "
			      "matches for kind "
			      "\"%s\" in version \"%s\"\nensure CRDs are installed first",
			      name ? name : "", ons ? ons : "", d->source, kind, av);
		return NULL;
	}
	if (!name || !*name) {
		cli__errs_add(&c->errs, "error when processing \"%s\": resource name may not be empty",
			      d->source);
		return NULL;
	}
	*ns = NULL;
	if (k->namespaced) {
		if (ons && *ons && c->ns_explicit && strcmp(ons, c->ns) != 0) {
			cli__errs_add(&c->errs,
				      "the namespace from the provided object \"%s\" does not match the "
				      "namespace \"%s\". You "
				      "must pass '--namespace=%s' to perform this operation.",
				      ons, c->ns, ons);
			return NULL;
		}
		*ns = ons && *ons ? ons : c->ns;
	}
	return k;
}

int cli__docs_load(struct cli_ctl *c, const struct cli_flags *f, struct cli_docs *d)
{
	for (size_t i = 0; i < f->files.len; i++) {
		if (docs_read(c, f->files.v[i], f->recursive, true, d)) {
			cli__docs_fini(d);
			return 1;
		}
	}
	for (size_t i = 0; i < d->len; i++)
		d->v[i].k = doc_kind(c, &d->v[i], &d->v[i].ns);
	return 0;
}

/* Prefixes an API error's message with `error when VERB "SOURCE": ` (AddSourceToErr). */
void cli__add_source(struct client_apierr *ae, const char *verb, const char *source)
{
	char *m = xasprintf("error when %s \"%s\": %s", verb, source, ae->message);
	free(ae->message);
	ae->message = m;
}
