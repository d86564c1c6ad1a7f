/* ctl.c - `svcplane ctl get|apply|delete|describe|logs`: argument parsing, the requests,
 * and the order of output and errors as kubectl has them.
 *
 * Each command collects its results first and prints them afterwards (tables need the
 * widest cell, and kubectl prefixes names with their kind only when several kinds came
 * back), then prints the errors it met on the way, one failure never stopping the
 * others, and returns 1 when there was any. A transport failure (server unreachable) is
 * fatal at once, as in kubectl.
 *
 * apply is server-side apply under the field manager "svcplane-ctl" with force: one PATCH
 * (application/apply-patch+yaml) creates or updates the object, and fields this manager
 * applied before but no longer lists are removed by the server. A GET beforehand tells
 * created from configured, and comparing resourceVersions tells configured from
 * unchanged, so the output is kubectl's.
 *
 * logs reads the pod first and chooses the container client-side as kubectl does (-c,
 * else the kubectl.kubernetes.io/default-container annotation, else the first container,
 * saying so on stderr when there were others), then streams the pods/log subresource to
 * stdout byte for byte, flushing each piece (follow).
 */
#include "cli/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"
#include "cli/internal.h"
#include "client/client.h"

#define FIELD_MANAGER "svcplane-ctl"
#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

struct ctl {
	struct client *cl;
	const char *ns; /* effective namespace */
	bool ns_explicit;
	struct cli_errs errs;
	bool fatal; /* a transport error was printed */
};

/* Flags every command takes. */
struct global_flags {
	const char *kubeconfig;
	const char *context;
	const char *ns;
	long timeout_ms;
};

enum {
	O_KUBECONFIG = 1000,
	O_CONTEXT,
	O_TIMEOUT,
	O_SHOW_LABELS,
	O_NO_HEADERS,
	O_ALL,
	O_IGNORE_NF,
	O_WAIT,
	O_FIELD_MANAGER,
	O_SHOW_EVENTS
};

#define GLOBAL_OPTS                                                                                          \
	{"kubeconfig", required_argument, 0, O_KUBECONFIG}, {"context", required_argument, 0, O_CONTEXT},    \
	    {"namespace", required_argument, 0, 'n'}, {"request-timeout", required_argument, 0, O_TIMEOUT},  \
	{                                                                                                    \
		"help", no_argument, 0, 'h'                                                                  \
	}

/* Handles a global flag; returns true when c was one. */
static bool global_flag(int c, struct global_flags *g)
{
	switch (c) {
	case O_KUBECONFIG:
		g->kubeconfig = optarg;
		return true;
	case O_CONTEXT:
		g->context = optarg;
		return true;
	case 'n':
		g->ns = optarg;
		return true;
	case O_TIMEOUT: {
		char *end;
		double v = strtod(optarg, &end);
		if (!strcmp(end, "ms"))
			g->timeout_ms = (long)v;
		else if (!strcmp(end, "m"))
			g->timeout_ms = (long)(v * 60000);
		else
			g->timeout_ms = (long)(v * 1000);
		return true;
	}
	default:
		return false;
	}
}

static int ctl_open(struct ctl *c, const struct global_flags *g)
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

static void ctl_close(struct ctl *c)
{
	client_free(c->cl);
	cli__errs_fini(&c->errs);
}

/* Prints the collected errors; returns the exit code. */
static int ctl_finish(struct ctl *c)
{
	fflush(stdout);
	char *s = cli__errs_format(&c->errs);
	fputs(s, stderr);
	free(s);
	int rc = c->fatal || c->errs.n ? 1 : 0;
	ctl_close(c);
	return rc;
}

/* One request. Returns 0 with *out (when out is not NULL) the decoded body, 1 with *ae
 * filled on an HTTP error, -1 on a transport error (printed, c->fatal set). */
static int call(struct ctl *c, const char *method, const char *path, const char *ctype, const char *body,
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

struct target {
	const struct api_kind *k;
	char *name; /* NULL: the whole collection */
};
struct targets {
	struct target *v;
	size_t n;
};

static void targets_add(struct targets *t, const struct api_kind *k, const char *name)
{
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = (struct target){k, name ? xstrdup(name) : NULL};
}

static void targets_fini(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
}

/* Parses the positional arguments; prints kubectl's error and returns 1 on a bad one. */
static int parse_targets(int argc, char **argv, struct targets *t)
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
static char *list_query(const char *selector)
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
static int list_items(struct ctl *c, const struct api_kind *k, const char *ns, const char *selector,
		      json_t **items)
{
	char *path = cli__path(k, ns, NULL), *q = list_query(selector);
	char *full = xasprintf("%s%s", path, q);
	json_t *list = NULL;
	struct client_apierr ae;
	int rc = call(c, "GET", full, NULL, NULL, NULL, &list, &ae);
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

/* ---- get ---- */

static void usage_get(FILE *f)
{
	fprintf(f, "usage: svcplane ctl get TYPE[.GROUP][,TYPE...] [NAME...] | TYPE/NAME... [flags]\n"
		   "  -n, --namespace NS     namespace (default: the context's)\n"
		   "  -A, --all-namespaces   list across all namespaces\n"
		   "  -o, --output FORMAT    wide, yaml, json or name\n"
		   "  -l, --selector SEL     label selector (k=v, k!=v, k in (a,b), k, !k)\n"
		   "      --show-labels      add a LABELS column\n"
		   "      --no-headers       omit the header line\n"
		   "      --kubeconfig PATH, --context NAME, --request-timeout DURATION\n");
}

struct result {
	const struct api_kind *k;
	json_t *v; /* Table, object or items array */
	bool list;
};

static int cmd_get(int argc, char **argv)
{
	struct global_flags g = {0};
	bool all_ns = false, show_labels = false, no_headers = false;
	const char *output = "", *selector = NULL;
	static const struct option opts[] = {
	    {"all-namespaces", no_argument, 0, 'A'},
	    {"output", required_argument, 0, 'o'},
	    {"selector", required_argument, 0, 'l'},
	    {"show-labels", no_argument, 0, O_SHOW_LABELS},
	    {"no-headers", no_argument, 0, O_NO_HEADERS},
	    GLOBAL_OPTS,
	    {0, 0, 0, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:Ao:l:h", opts, NULL)) != -1) {
		if (global_flag(ch, &g))
			continue;
		switch (ch) {
		case 'A':
			all_ns = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'l':
			selector = optarg;
			break;
		case O_SHOW_LABELS:
			show_labels = true;
			break;
		case O_NO_HEADERS:
			no_headers = true;
			break;
		case 'h':
			usage_get(stdout);
			return 0;
		default:
			usage_get(stderr);
			return 1;
		}
	}
	bool wide = !strcmp(output, "wide");
	bool yaml = !strcmp(output, "yaml"), json = !strcmp(output, "json"),
	     name_out = !strcmp(output, "name");
	if (*output && !wide && !yaml && !json && !name_out) {
		fprintf(
		    stderr,
		    "error: unable to match a printer suitable for the output format \"%s\", allowed formats "
		    "are: json,name,wide,yaml\n",
		    output);
		return 1;
	}
	if (optind >= argc) {
		fprintf(
		    stderr,
		    "You must specify the type of resource to get. Use \"svcplane ctl get -h\" for help.\n\n"
		    "error: Required resource not specified.\n");
		return 1;
	}
	struct targets t;
	if (parse_targets(argc - optind, argv + optind, &t))
		return 1;
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i].name && selector) {
			fprintf(stderr, "error: name cannot be provided when a selector is specified\n");
			targets_fini(&t);
			return 1;
		}
	struct ctl c;
	if (ctl_open(&c, &g)) {
		targets_fini(&t);
		return 1;
	}
	bool table = !yaml && !json && !name_out;
	struct result *res = xcalloc(t.n + 1, sizeof(*res));
	size_t nres = 0;
	for (size_t i = 0; i < t.n && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = all_ns && !t.v[i].name ? NULL : c.ns;
		if (table) {
			char *path = cli__path(k, ns, t.v[i].name);
			char *q = list_query(t.v[i].name ? NULL : selector);
			char *full = xasprintf("%s%s", path, q);
			json_t *v = NULL;
			struct client_apierr ae;
			int rc = call(&c, "GET", full, NULL, NULL, TABLE_ACCEPT, &v, &ae);
			if (rc == 1)
				cli__errs_add_api(&c.errs, &ae);
			if (rc == 0)
				res[nres++] = (struct result){k, v, !t.v[i].name};
			free(path);
			free(q);
			free(full);
		} else if (t.v[i].name) {
			char *path = cli__path(k, ns, t.v[i].name);
			json_t *v = NULL;
			struct client_apierr ae;
			int rc = call(&c, "GET", path, NULL, NULL, NULL, &v, &ae);
			if (rc == 1)
				cli__errs_add_api(&c.errs, &ae);
			if (rc == 0)
				res[nres++] = (struct result){k, v, false};
			free(path);
		} else {
			json_t *items = NULL;
			if (list_items(&c, k, ns, selector, &items) == 0)
				res[nres++] = (struct result){k, items, true};
		}
	}
	bool multi_kind = false;
	for (size_t i = 1; i < nres; i++)
		multi_kind |= res[i].k != res[0].k;
	if (c.fatal) {
		/* nothing more to print */
	} else if (table) {
		bool written = false;
		for (size_t i = 0; i < nres;) {
			/* Consecutive results of one kind make one table with one header. */
			json_t *merged = json_deep_copy(res[i].v);
			json_t *rows = json_object_get(merged, "rows");
			if (!json_is_array(rows)) {
				rows = json_array();
				json_object_set_new(merged, "rows", rows);
			}
			size_t j = i + 1;
			for (; j < nres && res[j].k == res[i].k; j++)
				json_array_extend(rows, json_object_get(res[j].v, "rows"));
			char ref[128];
			cli__kind_ref(res[i].k, ref, sizeof(ref));
			struct cli_table_opts o = {.wide = wide,
						   .all_namespaces = all_ns,
						   .show_labels = show_labels,
						   .no_headers = no_headers,
						   .kind_prefix = multi_kind ? ref : NULL};
			struct buf text;
			buf_init(&text);
			if (cli__table_append(merged, res[i].k->namespaced, &o, &text) > 0) {
				if (written && !no_headers)
					putchar('\n');
				char *s = cli__tabify(text.data, 6, 3);
				fputs(s, stdout);
				free(s);
				written = true;
			}
			buf_fini(&text);
			json_decref(merged);
			i = j;
		}
		if (!written && c.errs.n == 0) {
			bool all_namespaced = !all_ns;
			for (size_t i = 0; i < t.n; i++)
				all_namespaced &= t.v[i].k->namespaced;
			fflush(stdout);
			if (all_namespaced)
				fprintf(stderr, "No resources found in %s namespace.\n", c.ns);
			else
				fprintf(stderr, "No resources found\n");
		}
	} else {
		json_t *items = json_array();
		for (size_t i = 0; i < nres; i++) {
			if (res[i].list)
				json_array_extend(items, res[i].v);
			else
				json_array_append(items, res[i].v);
		}
		bool single = t.n == 1 && t.v[0].name;
		json_t *out;
		if (single)
			out = json_incref(json_array_get(items, 0));
		else
			out = json_pack("{s:s,s:O,s:s,s:{s:s}}", "apiVersion", "v1", "items", items, "kind",
					"List", "metadata", "resourceVersion", "");
		if (name_out) {
			size_t i;
			json_t *it;
			json_array_foreach(items, i, it)
			{
				const struct api_kind *k =
				    api_kind_by_gvk(api_str(it, "apiVersion"), api_str(it, "kind"));
				char ref[128] = "";
				if (k)
					cli__kind_ref(k, ref, sizeof(ref));
				printf("%s/%s\n", ref,
				       api_str(it, "metadata.name") ? api_str(it, "metadata.name") : "");
			}
		} else if (out) {
			cli__strip_managed_fields(out);
			char *s = yaml ? api_yaml_encode(out) : cli__json_print(out);
			fputs(s, stdout);
			free(s);
		}
		json_decref(out);
		json_decref(items);
	}
	for (size_t i = 0; i < nres; i++)
		json_decref(res[i].v);
	free(res);
	targets_fini(&t);
	return ctl_finish(&c);
}

/* ---- reading manifests ---- */

struct doc {
	json_t *obj;
	char *source;
};
struct docs {
	struct doc *v;
	size_t n;
};

static void docs_add(struct docs *d, json_t *obj, const char *source)
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
	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n++] = (struct doc){json_incref(obj), xstrdup(source)};
}

static void docs_fini(struct docs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		json_decref(d->v[i].obj);
		free(d->v[i].source);
	}
	free(d->v);
}

static int read_stream(FILE *f, struct buf *b)
{
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		buf_append(b, tmp, n);
		if (b->len > API_CODEC_MAX_BYTES * 4)
			return -EFBIG;
	}
	if (!b->data)
		buf_puts(b, "");
	return ferror(f) ? -EIO : 0;
}

/* Decodes one file's bytes (YAML stream or JSON) into docs; errors are recorded. */
static void decode_source(struct ctl *c, const char *data, size_t len, const char *source, struct docs *d)
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

/* Reads FILE, DIR or "-" into docs. Returns 1 (printed) when the path does not exist. */
static int read_path(struct ctl *c, const char *path, bool recursive, bool top, struct docs *d)
{
	if (!strcmp(path, "-")) {
		struct buf b;
		buf_init(&b);
		if (read_stream(stdin, &b) < 0)
			cli__errs_add(&c->errs, "reading STDIN: %s", strerror(errno));
		else
			decode_source(c, b.data, b.len, "STDIN", d);
		buf_fini(&b);
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
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.' &&
			    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
		closedir(dir);
		xqsort(names, n, sizeof(*names), cmp_names);
		size_t pl = strlen(path);
		for (size_t i = 0; i < n; i++) {
			char *full = xasprintf("%.*s/%s", (int)(pl > 1 && path[pl - 1] == '/' ? pl - 1 : pl),
					       path, names[i]);
			struct stat cst;
			if (stat(full, &cst) == 0 && S_ISDIR(cst.st_mode)) {
				if (recursive)
					read_path(c, full, recursive, false, d);
			} else if (manifest_ext(names[i])) {
				read_path(c, full, recursive, false, d);
			}
			free(full);
			free(names[i]);
		}
		free(names);
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli__errs_add(&c->errs, "open %s: %s", path, strerror(errno));
		return 0;
	}
	struct buf b;
	buf_init(&b);
	if (read_stream(f, &b) < 0)
		cli__errs_add(&c->errs, "reading %s: %s", path, strerror(errno));
	else
		decode_source(c, b.data, b.len, path, d);
	buf_fini(&b);
	fclose(f);
	return 0;
}

/* Checks a manifest object and finds its kind and namespace; records kubectl's error and
 * returns NULL when it cannot be sent. *ns is borrowed from obj or c. */
static const struct api_kind *doc_kind(struct ctl *c, const struct doc *d, const char **ns)
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

/* Prefixes an API error's message with `error when VERB "SOURCE": ` (AddSourceToErr). */
static void add_source(struct client_apierr *ae, const char *verb, const char *source)
{
	char *m = xasprintf("error when %s \"%s\": %s", verb, source, ae->message);
	free(ae->message);
	ae->message = m;
}

/* ---- apply ---- */

static void usage_apply(FILE *f)
{
	fprintf(f, "usage: svcplane ctl apply -f FILE|DIR|- [-f ...] [flags]\n"
		   "  -f, --filename PATH    manifest file, folder (.yaml, .yml, .json) or - for stdin\n"
		   "  -R, --recursive        also the folders inside folders\n"
		   "  -n, --namespace NS     namespace of objects that name none\n"
		   "      --field-manager N  server-side apply field manager (default " FIELD_MANAGER ")\n"
		   "      --kubeconfig PATH, --context NAME, --request-timeout DURATION\n"
		   "Objects are applied with server-side apply (force): created, configured or unchanged.\n");
}

static void apply_one(struct ctl *c, const struct doc *d, const struct api_kind *k, const char *ns,
		      const char *manager)
{
	const char *name = api_str(d->obj, "metadata.name");
	char *path = cli__path(k, ns, name);
	char ref[128];
	cli__kind_ref(k, ref, sizeof(ref));
	json_t *live = NULL;
	struct client_apierr ae;
	int rc = call(c, "GET", path, NULL, NULL, NULL, &live, &ae);
	bool existed = rc == 0;
	char *old_rv = existed && api_str(live, "metadata.resourceVersion")
			   ? xstrdup(api_str(live, "metadata.resourceVersion"))
			   : NULL;
	json_decref(live);
	if (rc == 1 && ae.code != 404) {
		add_source(&ae, "retrieving current configuration of", d->source);
		cli__errs_add_api(&c->errs, &ae);
	} else if (rc >= 0) {
		if (rc == 1)
			client_apierr_fini(&ae);
		json_t *body = json_deep_copy(d->obj);
		if (ns)
			json_object_set_new(api_obj(body, "metadata"), "namespace", json_string(ns));
		char *text = json_dumps(body, JSON_COMPACT);
		char *mgr = client_escape(manager);
		char *full = xasprintf("%s?fieldManager=%s&fieldValidation=Strict&force=true", path, mgr);
		json_t *got = NULL;
		rc = call(c, "PATCH", full, "application/apply-patch+yaml", text, NULL, &got, &ae);
		if (rc == 0) {
			const char *rv = api_str(got, "metadata.resourceVersion");
			const char *what = !existed				   ? "created"
					   : (old_rv && rv && !strcmp(old_rv, rv)) ? "unchanged"
										   : "configured";
			printf("%s/%s %s\n", ref, name, what);
			fflush(stdout);
		} else if (rc == 1) {
			add_source(&ae, existed ? "patching" : "creating", d->source);
			cli__errs_add_api(&c->errs, &ae);
		}
		json_decref(got);
		free(full);
		free(mgr);
		free(text);
		json_decref(body);
	}
	free(old_rv);
	free(path);
}

static int cmd_apply(int argc, char **argv)
{
	struct global_flags g = {0};
	const char **files = NULL;
	size_t nfiles = 0;
	bool recursive = false;
	const char *manager = FIELD_MANAGER;
	static const struct option opts[] = {
	    {"filename", required_argument, 0, 'f'},
	    {"recursive", no_argument, 0, 'R'},
	    {"field-manager", required_argument, 0, O_FIELD_MANAGER},
	    GLOBAL_OPTS,
	    {0, 0, 0, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:f:Rh", opts, NULL)) != -1) {
		if (global_flag(ch, &g))
			continue;
		switch (ch) {
		case 'f':
			files = xrealloc(files, (nfiles + 1) * sizeof(*files));
			files[nfiles++] = optarg;
			break;
		case 'R':
			recursive = true;
			break;
		case O_FIELD_MANAGER:
			manager = optarg;
			break;
		case 'h':
			usage_apply(stdout);
			free(files);
			return 0;
		default:
			usage_apply(stderr);
			free(files);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: Unexpected args: [%s]\n", argv[optind]);
		free(files);
		return 1;
	}
	if (!nfiles) {
		fprintf(stderr, "error: must specify -f\n");
		free(files);
		return 1;
	}
	struct ctl c;
	if (ctl_open(&c, &g)) {
		free(files);
		return 1;
	}
	struct docs d = {0};
	int rc = 0;
	for (size_t i = 0; i < nfiles && !rc; i++)
		rc = read_path(&c, files[i], recursive, true, &d);
	free(files);
	if (rc) {
		docs_fini(&d);
		ctl_close(&c);
		return 1;
	}
	if (d.n == 0 && c.errs.n == 0)
		cli__errs_add(&c.errs, "no objects passed to apply");
	/* Like kubectl's resource builder: every object is checked first (its errors come
	 * first), then the good ones are applied. */
	const struct api_kind **kinds = xcalloc(d.n + 1, sizeof(*kinds));
	const char **nss = xcalloc(d.n + 1, sizeof(*nss));
	for (size_t i = 0; i < d.n; i++)
		kinds[i] = doc_kind(&c, &d.v[i], &nss[i]);
	for (size_t i = 0; i < d.n && !c.fatal; i++)
		if (kinds[i])
			apply_one(&c, &d.v[i], kinds[i], nss[i], manager);
	free(kinds);
	free(nss);
	docs_fini(&d);
	return ctl_finish(&c);
}

/* ---- delete ---- */

static void usage_delete(FILE *f)
{
	fprintf(f, "usage: svcplane ctl delete TYPE NAME... | TYPE/NAME... | TYPE (-l SEL | --all) | -f "
		   "FILE|DIR|- [flags]\n"
		   "  -f, --filename PATH    delete the objects a manifest names\n"
		   "  -R, --recursive        with -f, also folders inside folders\n"
		   "  -l, --selector SEL     delete the objects matching a label selector\n"
		   "      --all              delete every object of the type in the namespace\n"
		   "      --ignore-not-found do not report objects that do not exist\n"
		   "      --wait=false       do not wait until the objects are gone\n"
		   "  -n, --namespace NS, --kubeconfig PATH, --context NAME, --request-timeout DURATION\n");
}

struct victim {
	const struct api_kind *k;
	char *ns, *name, *source;
};

static int cmd_delete(int argc, char **argv)
{
	struct global_flags g = {0};
	const char **files = NULL;
	size_t nfiles = 0;
	bool recursive = false, all = false, ignore_nf = false, wait = true;
	const char *selector = NULL;
	static const struct option opts[] = {
	    {"filename", required_argument, 0, 'f'},
	    {"recursive", no_argument, 0, 'R'},
	    {"selector", required_argument, 0, 'l'},
	    {"all", no_argument, 0, O_ALL},
	    {"ignore-not-found", no_argument, 0, O_IGNORE_NF},
	    {"wait", optional_argument, 0, O_WAIT},
	    GLOBAL_OPTS,
	    {0, 0, 0, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:f:Rl:h", opts, NULL)) != -1) {
		if (global_flag(ch, &g))
			continue;
		switch (ch) {
		case 'f':
			files = xrealloc(files, (nfiles + 1) * sizeof(*files));
			files[nfiles++] = optarg;
			break;
		case 'R':
			recursive = true;
			break;
		case 'l':
			selector = optarg;
			break;
		case O_ALL:
			all = true;
			break;
		case O_IGNORE_NF:
			ignore_nf = true;
			break;
		case O_WAIT:
			wait = !optarg || strcmp(optarg, "false") != 0;
			break;
		case 'h':
			usage_delete(stdout);
			free(files);
			return 0;
		default:
			usage_delete(stderr);
			free(files);
			return 1;
		}
	}
	struct targets t = {0};
	if (nfiles && optind < argc) {
		fprintf(
		    stderr,
		    "error: when paths, URLs, or stdin is provided as input, you may not specify resource "
		    "arguments as well\n");
		free(files);
		return 1;
	}
	if (!nfiles) {
		if (optind >= argc) {
			fprintf(stderr,
				"error: You must provide one or more resources by argument or filename.\n");
			free(files);
			return 1;
		}
		if (parse_targets(argc - optind, argv + optind, &t)) {
			free(files);
			return 1;
		}
		for (size_t i = 0; i < t.n; i++) {
			if (!t.v[i].name && !selector && !all) {
				fprintf(stderr,
					"error: resource(s) were provided, but no name was specified\n");
				targets_fini(&t);
				free(files);
				return 1;
			}
			if (t.v[i].name && (selector || all)) {
				fprintf(stderr,
					"error: name cannot be provided when a selector is specified\n");
				targets_fini(&t);
				free(files);
				return 1;
			}
		}
	}
	struct ctl c;
	if (ctl_open(&c, &g)) {
		targets_fini(&t);
		free(files);
		return 1;
	}
	struct victim *v = NULL;
	size_t nv = 0;
	struct docs d = {0};
	int rc = 0;
	for (size_t i = 0; i < nfiles && !rc; i++)
		rc = read_path(&c, files[i], recursive, true, &d);
	free(files);
	if (rc) {
		docs_fini(&d);
		targets_fini(&t);
		ctl_close(&c);
		return 1;
	}
	for (size_t i = 0; i < d.n; i++) {
		const char *ns;
		const struct api_kind *k = doc_kind(&c, &d.v[i], &ns);
		if (!k)
			continue;
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		v[nv++] =
		    (struct victim){k, ns ? xstrdup(ns) : NULL, xstrdup(api_str(d.v[i].obj, "metadata.name")),
				    xstrdup(d.v[i].source)};
	}
	docs_fini(&d);
	bool listed = false;
	for (size_t i = 0; i < t.n && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = k->namespaced ? c.ns : NULL;
		if (t.v[i].name) {
			v = xrealloc(v, (nv + 1) * sizeof(*v));
			v[nv++] = (struct victim){k, ns ? xstrdup(ns) : NULL, xstrdup(t.v[i].name), NULL};
			continue;
		}
		listed = true;
		json_t *items = NULL;
		if (list_items(&c, k, ns, selector, &items) < 0)
			continue;
		size_t j;
		json_t *it;
		json_array_foreach(items, j, it)
		{
			v = xrealloc(v, (nv + 1) * sizeof(*v));
			v[nv++] = (struct victim){k, ns ? xstrdup(ns) : NULL,
						  xstrdup(api_str(it, "metadata.name")), NULL};
		}
		json_decref(items);
	}
	bool *deleted = xcalloc(nv + 1, sizeof(*deleted));
	for (size_t i = 0; i < nv && !c.fatal; i++) {
		char *path = cli__path(v[i].k, v[i].ns, v[i].name);
		char ref[128];
		cli__kind_ref(v[i].k, ref, sizeof(ref));
		struct client_apierr ae;
		int r = call(&c, "DELETE", path, NULL, NULL, NULL, NULL, &ae);
		if (r == 0) {
			printf("%s \"%s\" deleted\n", ref, v[i].name);
			fflush(stdout);
			deleted[i] = true;
		} else if (r == 1) {
			if (ae.code == 404 && ignore_nf) {
				client_apierr_fini(&ae);
			} else {
				if (v[i].source)
					add_source(&ae, "deleting", v[i].source);
				cli__errs_add_api(&c.errs, &ae);
			}
		}
		free(path);
	}
	/* Like kubectl's --wait: return once the objects are gone (finalizers, namespaces). */
	for (size_t i = 0; i < nv && wait && !c.fatal; i++) {
		if (!deleted[i])
			continue;
		char *path = cli__path(v[i].k, v[i].ns, v[i].name);
		for (int tries = 0; tries < 1200; tries++) {
			struct client_apierr ae;
			int r = call(&c, "GET", path, NULL, NULL, NULL, NULL, &ae);
			if (r == 1) {
				client_apierr_fini(&ae);
				break;
			}
			if (r < 0)
				break;
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		free(path);
	}
	if (listed && nv == 0 && c.errs.n == 0 && !c.fatal)
		fprintf(stderr, "No resources found\n");
	for (size_t i = 0; i < nv; i++) {
		free(v[i].ns);
		free(v[i].name);
		free(v[i].source);
	}
	free(v);
	free(deleted);
	targets_fini(&t);
	return ctl_finish(&c);
}

/* ---- describe ---- */

static void usage_describe(FILE *f)
{
	fprintf(f, "usage: svcplane ctl describe TYPE [NAME_PREFIX...] | TYPE/NAME... [flags]\n"
		   "  -n, --namespace NS     namespace (default: the context's)\n"
		   "  -A, --all-namespaces   across all namespaces\n"
		   "  -l, --selector SEL     label selector\n"
		   "      --show-events=false  do not list events\n"
		   "      --kubeconfig PATH, --context NAME, --request-timeout DURATION\n");
}

/* Events about obj (kubectl's searchEvents), or NULL when they could not be listed. */
static json_t *events_for(struct ctl *c, const json_t *obj)
{
	const char *name = api_str(obj, "metadata.name"), *ns = api_str(obj, "metadata.namespace");
	const char *uid = api_str(obj, "metadata.uid"), *kind = api_str(obj, "kind");
	const struct api_kind *ek = cli__resolve_type("events");
	if (!ek || !name)
		return json_array();
	struct buf sel;
	buf_init(&sel);
	buf_printf(&sel, "involvedObject.name=%s", name);
	if (ns && *ns)
		buf_printf(&sel, ",involvedObject.namespace=%s", ns);
	if (kind)
		buf_printf(&sel, ",involvedObject.kind=%s", kind);
	if (uid)
		buf_printf(&sel, ",involvedObject.uid=%s", uid);
	char *e = client_escape(sel.data);
	char *base = cli__path(ek, ns && *ns ? ns : NULL, NULL);
	char *full = xasprintf("%s?fieldSelector=%s", base, e);
	json_t *list = NULL;
	struct client_apierr ae;
	int rc = call(c, "GET", full, NULL, NULL, NULL, &list, &ae);
	if (rc == 1)
		client_apierr_fini(&ae);
	free(e);
	free(base);
	free(full);
	buf_fini(&sel);
	json_t *out = json_array();
	size_t i;
	json_t *ev;
	/* Filter here too, in case the server ignored the field selector. */
	json_array_foreach(json_object_get(list, "items"), i, ev)
	{
		const char *en = api_str(ev, "involvedObject.name"), *eu = api_str(ev, "involvedObject.uid");
		if (en && !strcmp(en, name) && (!uid || !eu || !strcmp(eu, uid)))
			json_array_append(out, ev);
	}
	json_decref(list);
	return out;
}

static char *describe_obj(struct ctl *c, const struct api_kind *k, json_t *obj, bool show_events)
{
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(k->kind));
	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion", json_string(api_kind_api_version(k)));
	json_t *events = show_events ? events_for(c, obj) : NULL;
	int64_t now = (int64_t)time(NULL);
	char *s;
	if (!strcmp(k->kind, "Service") && !*k->group) {
		const struct api_kind *sk = cli__resolve_type("endpointslices.discovery.k8s.io");
		char *sel = xasprintf("kubernetes.io/service-name=%s", api_str(obj, "metadata.name"));
		json_t *slices = NULL;
		size_t before = c->errs.n;
		if (!sk || list_items(c, sk, api_str(obj, "metadata.namespace"), sel, &slices) < 0) {
			/* kubectl ignores a failure to list the slices. */
			while (c->errs.n > before) {
				struct cli_err *e = &c->errs.v[--c->errs.n];
				if (e->api)
					client_apierr_fini(&e->a);
				free(e->msg);
			}
			slices = NULL;
		}
		s = cli__describe_service(obj, slices, events, now);
		json_decref(slices);
		free(sel);
	} else if (!strcmp(k->kind, "Namespace") && !*k->group) {
		s = cli__describe_namespace(obj);
	} else if (!strcmp(k->kind, "Endpoints") && !*k->group) {
		s = cli__describe_endpoints(obj, events, now);
	} else {
		json_t *copy = json_deep_copy(obj);
		s = cli__describe_generic(copy, events, now);
		json_decref(copy);
	}
	json_decref(events);
	return s;
}

static int cmd_describe(int argc, char **argv)
{
	struct global_flags g = {0};
	bool all_ns = false, show_events = true;
	const char *selector = NULL;
	static const struct option opts[] = {
	    {"all-namespaces", no_argument, 0, 'A'},
	    {"selector", required_argument, 0, 'l'},
	    {"show-events", optional_argument, 0, O_SHOW_EVENTS},
	    GLOBAL_OPTS,
	    {0, 0, 0, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:Al:h", opts, NULL)) != -1) {
		if (global_flag(ch, &g))
			continue;
		switch (ch) {
		case 'A':
			all_ns = true;
			break;
		case 'l':
			selector = optarg;
			break;
		case O_SHOW_EVENTS:
			show_events = !optarg || strcmp(optarg, "false") != 0;
			break;
		case 'h':
			usage_describe(stdout);
			return 0;
		default:
			usage_describe(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(
		    stderr,
		    "You must specify the type of resource to describe. Use \"svcplane ctl describe -h\" for "
		    "help.\n\nerror: Required resource not specified.\n");
		return 1;
	}
	struct targets t;
	if (parse_targets(argc - optind, argv + optind, &t))
		return 1;
	struct ctl c;
	if (ctl_open(&c, &g)) {
		targets_fini(&t);
		return 1;
	}
	bool first = true, prefix_mode = false;
	size_t described = 0;
	for (size_t i = 0; i < t.n && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = all_ns && !t.v[i].name ? NULL : (k->namespaced ? c.ns : NULL);
		json_t *objs = json_array();
		if (t.v[i].name) {
			char *path = cli__path(k, ns, t.v[i].name);
			json_t *obj = NULL;
			struct client_apierr ae;
			int rc = call(&c, "GET", path, NULL, NULL, NULL, &obj, &ae);
			free(path);
			if (rc == 0) {
				json_array_append_new(objs, obj);
			} else if (rc == 1 && ae.code == 404 && t.n == 1) {
				/* kubectl describe falls back to every object whose name starts so. */
				json_t *items = NULL;
				size_t before = c.errs.n;
				if (list_items(&c, k, ns, NULL, &items) == 0) {
					size_t j;
					json_t *it;
					json_array_foreach(items, j, it)
					{
						const char *n = api_str(it, "metadata.name");
						if (n && !strncmp(n, t.v[i].name, strlen(t.v[i].name)))
							json_array_append(objs, it);
					}
					json_decref(items);
				}
				if (json_array_size(objs) == 0 && c.errs.n == before)
					cli__errs_add_api(&c.errs, &ae);
				else
					client_apierr_fini(&ae);
				prefix_mode = true;
			} else if (rc == 1) {
				cli__errs_add_api(&c.errs, &ae);
			}
		} else {
			json_t *items = NULL;
			if (list_items(&c, k, ns, selector, &items) == 0) {
				json_array_extend(objs, items);
				json_decref(items);
			}
		}
		size_t j;
		json_t *obj;
		json_array_foreach(objs, j, obj)
		{
			char *s = describe_obj(&c, k, obj, show_events);
			if (c.fatal) {
				free(s);
				break;
			}
			if (prefix_mode) /* DescribeMatchingResources prints each with a newline */
				printf("%s\n", s);
			else if (first)
				fputs(s, stdout);
			else
				printf("\n\n%s", s);
			first = false;
			described++;
			free(s);
		}
		json_decref(objs);
	}
	if (!described && !c.errs.n && !c.fatal) {
		bool all_namespaced = !all_ns;
		for (size_t i = 0; i < t.n; i++)
			all_namespaced &= t.v[i].k->namespaced;
		if (all_namespaced)
			fprintf(stderr, "No resources found in %s namespace.\n", c.ns);
		else
			fprintf(stderr, "No resources found\n");
	}
	targets_fini(&t);
	return ctl_finish(&c);
}

/* ---- logs ---- */

static void usage_logs(FILE *f)
{
	fprintf(f, "usage: svcplane ctl logs [pod/]POD [CONTAINER] [flags]\n"
		   "  -c, --container NAME   the container (default: the pod's kubectl.kubernetes.io/default-container,\n"
		   "                         else its first container)\n"
		   "  -f, --follow           stream new output\n"
		   "  -p, --previous         the previous instance of the container\n"
		   "      --tail N           the last N lines (-1: all)\n"
		   "      --limit-bytes N    at most N bytes\n"
		   "      --since DURATION   only if written within DURATION (5s, 2m, 3h)\n"
		   "      --since-time TIME  only if written after TIME (RFC 3339)\n"
		   "      --timestamps       ask for timestamps (svcplane's nodes have none to give)\n"
		   "  -n, --namespace NS, --kubeconfig PATH, --context NAME, --request-timeout DURATION\n");
}

/* Go's time.ParseDuration, to seconds. Returns 0 or -EINVAL. */
static int go_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
	const char *p = s;
	double total = 0, sign = 1;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	for (int guard = 0; *p && guard < 64; guard++) {
		char *end;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
		double v = strtod(p, &end);
		if (end == p)
			return -EINVAL;
		p = end;
		size_t best = 0;
		double mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (l > best && !strncmp(p, units[i].unit, l)) {
				best = l;
				mul = units[i].secs;
			}
		}
		if (!best)
			return -EINVAL;
		p += best;
		total += v * mul;
	}
	if (*p)
		return -EINVAL;
	*out = sign * total;
	return 0;
}

/* kubectl's podcmd.AllContainerNames: "a, b, dbg (ephem), setup (init)". */
static char *all_container_names(const json_t *pod)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "");
	static const char *const fields[] = {"spec.containers", "spec.ephemeralContainers", "spec.initContainers"};
	static const char *const suffix[] = {"", " (ephem)", " (init)"};
	for (int f = 0; f < 3; f++) {
		const char *dot = strchr(fields[f], '.');
		json_t *arr = json_object_get(json_object_get(pod, "spec"), dot + 1);
		size_t i;
		json_t *c;
		json_array_foreach(arr, i, c)
		{
			const char *n = api_str(c, "name");
			if (n)
				buf_printf(&b, "%s%s%s", b.len ? ", " : "", n, suffix[f]);
		}
	}
	return buf_take(&b);
}

static bool pod_has_container(const json_t *pod, const char *name)
{
	static const char *const fields[] = {"containers", "initContainers", "ephemeralContainers"};
	for (int f = 0; f < 3; f++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), fields[f]), i, c)
		{
			const char *n = api_str(c, "name");
			if (n && !strcmp(n, name))
				return true;
		}
	}
	return false;
}

static int write_out(void *ud, const char *data, size_t len)
{
	(void)ud;
	if (fwrite(data, 1, len, stdout) != len)
		return 1; /* stdout closed (a pipe to head): stop */
	fflush(stdout);
	return 0;
}

enum { O_TAIL = 1100, O_LIMIT_BYTES, O_SINCE, O_SINCE_TIME, O_TIMESTAMPS, O_INSECURE_BACKEND };

static int cmd_logs(int argc, char **argv)
{
	struct global_flags g = {0};
	const char *container = NULL, *since = NULL, *since_time = NULL;
	bool follow = false, previous = false, timestamps = false, insecure_backend = false;
	long long tail = -1, limit_bytes = 0;
	static const struct option opts[] = {
	    {"container", required_argument, 0, 'c'},
	    {"follow", optional_argument, 0, 'f'},
	    {"previous", optional_argument, 0, 'p'},
	    {"tail", required_argument, 0, O_TAIL},
	    {"limit-bytes", required_argument, 0, O_LIMIT_BYTES},
	    {"since", required_argument, 0, O_SINCE},
	    {"since-time", required_argument, 0, O_SINCE_TIME},
	    {"timestamps", optional_argument, 0, O_TIMESTAMPS},
	    {"insecure-skip-tls-verify-backend", optional_argument, 0, O_INSECURE_BACKEND},
	    GLOBAL_OPTS,
	    {0, 0, 0, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:fpn:h", opts, NULL)) != -1) {
		if (global_flag(ch, &g))
			continue;
		const char *flag = NULL;
		long long *num = NULL;
		switch (ch) {
		case 'c':
			container = optarg;
			break;
		case 'f':
			follow = !optarg || strcmp(optarg, "false") != 0;
			break;
		case 'p':
			previous = !optarg || strcmp(optarg, "false") != 0;
			break;
		case O_TIMESTAMPS:
			timestamps = !optarg || strcmp(optarg, "false") != 0;
			break;
		case O_INSECURE_BACKEND:
			insecure_backend = !optarg || strcmp(optarg, "false") != 0;
			break;
		case O_TAIL:
			flag = "tail";
			num = &tail;
			break;
		case O_LIMIT_BYTES:
			flag = "limit-bytes";
			num = &limit_bytes;
			break;
		case O_SINCE:
			since = optarg;
			break;
		case O_SINCE_TIME:
			since_time = optarg;
			break;
		case 'h':
			usage_logs(stdout);
			return 0;
		default:
			usage_logs(stderr);
			return 1;
		}
		if (num) {
			char *end = NULL;
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (!*optarg || *end || errno) {
				fprintf(stderr,
					"error: invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": "
					"%s\nSee 'svcplane ctl logs --help' for usage.\n",
					optarg, flag, optarg, errno ? "value out of range" : "invalid syntax");
				return 1;
			}
			*num = v;
		}
	}
	double since_s = 0;
	if (since && go_duration(since, &since_s) < 0) {
		fprintf(stderr,
			"error: invalid argument \"%s\" for \"--since\" flag: time: invalid duration \"%s\"\n"
			"See 'svcplane ctl logs --help' for usage.\n",
			since, since);
		return 1;
	}
	const char *pod_arg = optind < argc ? argv[optind] : NULL;
	if (!pod_arg || argc - optind > 2) {
		fprintf(stderr, "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
				"POD or TYPE/NAME is a required argument for the logs command\n"
				"See 'svcplane ctl logs -h' for help and examples\n");
		return 1;
	}
	if (argc - optind == 2) {
		if (container) {
			fprintf(stderr, "error: only one of -c or an inline [CONTAINER] arg is allowed\n");
			return 1;
		}
		container = argv[optind + 1];
	}
	/* kubectl's Validate */
	if (limit_bytes < 0) {
		fprintf(stderr, "error: --limit-bytes must be greater than 0\n");
		return 1;
	}
	if (tail < -1) {
		fprintf(stderr, "error: --tail must be greater than or equal to -1\n");
		return 1;
	}
	if (since && since_time) {
		fprintf(stderr, "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n");
		return 1;
	}
	if (since_s < 0) {
		fprintf(stderr, "error: --since must be greater than 0\n");
		return 1;
	}
	const char *name = pod_arg;
	const char *slash = strchr(pod_arg, '/');
	if (slash) {
		size_t tl = (size_t)(slash - pod_arg);
		if (!((tl == 3 && !strncmp(pod_arg, "pod", 3)) || (tl == 4 && !strncmp(pod_arg, "pods", 4)) ||
		      (tl == 2 && !strncmp(pod_arg, "po", 2)))) {
			fprintf(stderr, "error: svcplane ctl logs takes pods only, not %.*s\n", (int)tl, pod_arg);
			return 1;
		}
		name = slash + 1;
	}
	if (!*name) {
		fprintf(stderr, "error: a pod name is required\n");
		return 1;
	}
	struct ctl c;
	if (ctl_open(&c, &g))
		return 1;
	const struct api_kind *pk = cli__resolve_type("pods");
	char *path = cli__path(pk, c.ns, name);
	json_t *pod = NULL;
	struct client_apierr ae;
	int rc = call(&c, "GET", path, NULL, NULL, NULL, &pod, &ae);
	free(path);
	if (rc == 1)
		cli__errs_add_api(&c.errs, &ae);
	if (rc != 0)
		return ctl_finish(&c);
	/* The container, chosen client-side as kubectl's logsForObject does. */
	char *chosen = container ? xstrdup(container) : NULL;
	if (!chosen) {
		json_t *ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
		json_t *dv = json_object_get(ann, "kubectl.kubernetes.io/default-container");
		const char *def = json_is_string(dv) ? json_string_value(dv) : NULL;
		if (def && *def) {
			if (pod_has_container(pod, def))
				chosen = xstrdup(def);
			else
				fprintf(stderr, "Default container name \"%s\" not found in pod %s\n", def, name);
		}
	}
	if (!chosen) {
		json_t *spec = json_object_get(pod, "spec");
		json_t *cs = json_object_get(spec, "containers");
		const char *first = api_str(json_array_get(cs, 0), "name");
		if (first) {
			chosen = xstrdup(first);
			if (json_array_size(cs) > 1 || json_array_size(json_object_get(spec, "initContainers")) ||
			    json_array_size(json_object_get(spec, "ephemeralContainers"))) {
				char *all = all_container_names(pod);
				fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", first, all);
				free(all);
			}
		}
	}
	json_decref(pod);
	struct buf q;
	buf_init(&q);
	if (chosen) {
		char *e = client_escape(chosen);
		buf_printf(&q, "&container=%s", e);
		free(e);
	}
	if (follow)
		buf_puts(&q, "&follow=true");
	if (previous)
		buf_puts(&q, "&previous=true");
	if (timestamps)
		buf_puts(&q, "&timestamps=true");
	if (insecure_backend)
		buf_puts(&q, "&insecureSkipTLSVerifyBackend=true");
	if (since)
		buf_printf(&q, "&sinceSeconds=%lld", (long long)(since_s + 0.5)); /* Round(time.Second) */
	if (since_time) {
		char *e = client_escape(since_time);
		buf_printf(&q, "&sinceTime=%s", e);
		free(e);
	}
	if (tail >= 0)
		buf_printf(&q, "&tailLines=%lld", tail);
	if (limit_bytes > 0)
		buf_printf(&q, "&limitBytes=%lld", limit_bytes);
	char *base = cli__path(pk, c.ns, name);
	char *full = xasprintf("%s/log%s%s", base, q.len ? "?" : "", q.len ? q.data + 1 : "");
	long status = 0;
	char err[1024] = "";
	struct client_apierr se;
	memset(&se, 0, sizeof(se));
	rc = client_stream_ae(c.cl, full, write_out, NULL, NULL, &status, &se, err, sizeof(err));
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		c.fatal = true;
	} else if (status < 200 || status > 299) {
		cli__errs_add_api(&c.errs, &se);
	}
	free(full);
	free(base);
	buf_fini(&q);
	free(chosen);
	return ctl_finish(&c);
}

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
	if (!strcmp(cmd, "get"))
		return cmd_get(argc - 1, argv + 1);
	if (!strcmp(cmd, "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (!strcmp(cmd, "delete"))
		return cmd_delete(argc - 1, argv + 1);
	if (!strcmp(cmd, "describe"))
		return cmd_describe(argc - 1, argv + 1);
	if (!strcmp(cmd, "logs"))
		return cmd_logs(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "error: unknown command \"%s\" for \"svcplane ctl\"\n", cmd);
	usage(stderr);
	return 1;
}
