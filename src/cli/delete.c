/* delete.c - `svcplane ctl delete`: by TYPE NAME, TYPE/NAME, selector, --all or manifest,
 * then (unless --wait=false) until the objects are gone, as kubectl waits for finalizers.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/mem.h"
#include "base/vec.h"

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

static int run_delete(const struct cli_flags *f, int argc, char **argv)
{
	size_t nfiles = f->files.len;
	bool all = f->all, ignore_nf = f->ignore_not_found, wait = f->wait;
	const char *selector = f->selector;
	struct cli_targets t = {0};
	if (nfiles && argc > 0) {
		fprintf(
		    stderr,
		    "error: when paths, URLs, or stdin is provided as input, you may not specify resource "
		    "arguments as well\n");
		return 1;
	}
	if (!nfiles) {
		if (argc == 0) {
			fprintf(stderr,
				"error: You must provide one or more resources by argument or filename.\n");
			return 1;
		}
		if (cli__targets_parse(argc, argv, &t) || cli__targets_check_names(&t, selector || all, true))
			return 1;
	}
	struct cli_ctl c;
	if (cli__open(&c, f)) {
		cli__targets_fini(&t);
		return 1;
	}
	VEC(struct victim) vs = {0};
	struct cli_docs d = {0};
	if (cli__docs_load(&c, f, &d)) {
		cli__targets_fini(&t);
		cli__close(&c);
		return 1;
	}
	for (size_t i = 0; i < d.len; i++) {
		const struct cli_doc *doc = &d.v[i];
		if (!doc->k)
			continue;
		*vec_push(&vs) =
		    (struct victim){doc->k, doc->ns ? xstrdup(doc->ns) : NULL,
				    xstrdup(api_str(doc->obj, "metadata.name")), xstrdup(doc->source)};
	}
	cli__docs_fini(&d);
	bool listed = false;
	for (size_t i = 0; i < t.len && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = k->namespaced ? c.ns : NULL;
		if (t.v[i].name) {
			*vec_push(&vs) =
			    (struct victim){k, ns ? xstrdup(ns) : NULL, xstrdup(t.v[i].name), NULL};
			continue;
		}
		listed = true;
		json_t *items = NULL;
		if (cli__list_items(&c, k, ns, selector, &items) < 0)
			continue;
		size_t j;
		json_t *it;
		json_array_foreach(items, j, it)
		{
			*vec_push(&vs) = (struct victim){k, ns ? xstrdup(ns) : NULL,
							 xstrdup(api_str(it, "metadata.name")), NULL};
		}
		json_decref(items);
	}
	struct victim *v = vs.v;
	size_t nv = vs.len;
	bool *deleted = xcalloc(nv + 1, sizeof(*deleted));
	for (size_t i = 0; i < nv && !c.fatal; i++) {
		char *path = cli__path(v[i].k, v[i].ns, v[i].name);
		char ref[128];
		cli__kind_ref(v[i].k, ref, sizeof(ref));
		struct client_apierr ae;
		int r = cli__call(&c, "DELETE", path, NULL, NULL, NULL, NULL, &ae);
		if (r == 0) {
			printf("%s \"%s\" deleted\n", ref, v[i].name);
			fflush(stdout);
			deleted[i] = true;
		} else if (r == 1) {
			if (ae.code == 404 && ignore_nf) {
				client_apierr_fini(&ae);
			} else {
				if (v[i].source)
					cli__add_source(&ae, "deleting", v[i].source);
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
			int r = cli__call(&c, "GET", path, NULL, NULL, NULL, NULL, &ae);
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
	if (listed && nv == 0 && c.errs.len == 0 && !c.fatal)
		fprintf(stderr, "No resources found\n");
	for (size_t i = 0; i < nv; i++) {
		free(v[i].ns);
		free(v[i].name);
		free(v[i].source);
	}
	free(v);
	free(deleted);
	cli__targets_fini(&t);
	return cli__finish(&c);
}

static const struct cli_opt delete_opts[] = {
    CLI_OPT_FILENAME,
    CLI_OPT_SELECTOR,
    CLI_OPT("all", 0, CLI_OPT_TRUE, all),
    CLI_OPT("ignore-not-found", 0, CLI_OPT_TRUE, ignore_not_found),
    CLI_OPT("wait", 0, CLI_OPT_BOOL, wait),
    {0},
};

const struct cli_cmd cli__cmd_delete = {"delete", run_delete, usage_delete, delete_opts};
