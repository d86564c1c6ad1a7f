/* get.c - `svcplane ctl get`: tables (the server's meta.k8s.io Table, merged per kind),
 * -o yaml|json|name from the objects themselves, kubectl's "No resources found".
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"

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

static int run_get(const struct cli_flags *f, int argc, char **argv)
{
	bool all_ns = f->all_namespaces, show_labels = f->show_labels, no_headers = f->no_headers;
	const char *output = f->output, *selector = f->selector;
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
	if (argc == 0)
		return cli__no_type("get");
	struct cli_targets t;
	if (cli__targets_parse(argc, argv, &t) || cli__targets_check_names(&t, selector, false))
		return 1;
	struct cli_ctl c;
	if (cli__open(&c, f)) {
		cli__targets_fini(&t);
		return 1;
	}
	bool table = !yaml && !json && !name_out;
	struct result *res = xcalloc(t.len + 1, sizeof(*res));
	size_t nres = 0;
	for (size_t i = 0; i < t.len && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = all_ns && !t.v[i].name ? NULL : c.ns;
		if (table || t.v[i].name) {
			/* One GET: a Table (of one object or the list) or the named object. */
			char *path = cli__path(k, ns, t.v[i].name);
			if (table) {
				char *q = cli__list_query(t.v[i].name ? NULL : selector);
				char *full = xasprintf("%s%s", path, q);
				free(q);
				free(path);
				path = full;
			}
			json_t *v = NULL;
			struct client_apierr ae;
			int rc =
			    cli__call(&c, "GET", path, NULL, NULL, table ? CLI_TABLE_ACCEPT : NULL, &v, &ae);
			if (rc == 1)
				cli__errs_add_api(&c.errs, &ae);
			if (rc == 0)
				res[nres++] = (struct result){k, v, !t.v[i].name};
			free(path);
		} else {
			json_t *items = NULL;
			if (cli__list_items(&c, k, ns, selector, &items) == 0)
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
		if (!written && c.errs.len == 0) {
			cli__no_resources(&c, &t, all_ns);
		}
	} else {
		json_t *items = json_array();
		for (size_t i = 0; i < nres; i++) {
			if (res[i].list)
				json_array_extend(items, res[i].v);
			else
				json_array_append(items, res[i].v);
		}
		bool single = t.len == 1 && t.v[0].name;
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
	cli__targets_fini(&t);
	return cli__finish(&c);
}

static const struct cli_opt get_opts[] = {
    CLI_OPT_ALL_NAMESPACES,
    CLI_OPT("output", 'o', CLI_OPT_STR, output),
    CLI_OPT_SELECTOR,
    CLI_OPT("show-labels", 0, CLI_OPT_TRUE, show_labels),
    CLI_OPT("no-headers", 0, CLI_OPT_TRUE, no_headers),
    {0},
};

const struct cli_cmd cli__cmd_get = {"get", run_get, usage_get, get_opts};
