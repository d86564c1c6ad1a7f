/* apply.c - `svcplane ctl apply`: server-side apply under the field manager "svcplane-ctl"
 * with force.
 *
 * One PATCH (application/apply-patch+yaml) creates or updates the object, and fields this
 * manager applied before but no longer lists are removed by the server. A GET beforehand
 * tells created from configured, and comparing resourceVersions tells configured from
 * unchanged, so the output is kubectl's.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"

static void usage_apply(FILE *f)
{
	fprintf(f,
		"usage: svcplane ctl apply -f FILE|DIR|- [-f ...] [flags]\n"
		"  -f, --filename PATH    manifest file, folder (.yaml, .yml, .json) or - for stdin\n"
		"  -R, --recursive        also the folders inside folders\n"
		"  -n, --namespace NS     namespace of objects that name none\n"
		"      --field-manager N  server-side apply field manager (default " CLI_FIELD_MANAGER ")\n"
		"      --kubeconfig PATH, --context NAME, --request-timeout DURATION\n"
		"Objects are applied with server-side apply (force): created, configured or unchanged.\n");
}

static void apply_one(struct cli_ctl *c, const struct cli_doc *d, const char *manager)
{
	const struct api_kind *k = d->k;
	const char *ns = d->ns;
	const char *name = api_str(d->obj, "metadata.name");
	char *path = cli__path(k, ns, name);
	char ref[128];
	cli__kind_ref(k, ref, sizeof(ref));
	json_t *live = NULL;
	struct client_apierr ae;
	int rc = cli__call(c, "GET", path, NULL, NULL, NULL, &live, &ae);
	bool existed = rc == 0;
	char *old_rv = existed && api_str(live, "metadata.resourceVersion")
			   ? xstrdup(api_str(live, "metadata.resourceVersion"))
			   : NULL;
	json_decref(live);
	if (rc == 1 && ae.code != 404) {
		cli__add_source(&ae, "retrieving current configuration of", d->source);
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
		rc = cli__call(c, "PATCH", full, "application/apply-patch+yaml", text, NULL, &got, &ae);
		if (rc == 0) {
			const char *rv = api_str(got, "metadata.resourceVersion");
			const char *what = !existed				   ? "created"
					   : (old_rv && rv && !strcmp(old_rv, rv)) ? "unchanged"
										   : "configured";
			printf("%s/%s %s\n", ref, name, what);
			fflush(stdout);
		} else if (rc == 1) {
			cli__add_source(&ae, existed ? "patching" : "creating", d->source);
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

static int run_apply(const struct cli_flags *f, int argc, char **argv)
{
	const char *manager = f->field_manager;
	if (argc > 0) {
		fprintf(stderr, "error: Unexpected args: [%s]\n", argv[0]);
		return 1;
	}
	if (!f->files.len) {
		fprintf(stderr, "error: must specify -f\n");
		return 1;
	}
	struct cli_ctl c;
	if (cli__open(&c, f)) {
		return 1;
	}
	/* Like kubectl's resource builder: every object is checked first (its errors come
	 * first), then the good ones are applied. */
	struct cli_docs d = {0};
	if (cli__docs_load(&c, f, &d)) {
		cli__close(&c);
		return 1;
	}
	if (d.len == 0 && c.errs.len == 0)
		cli__errs_add(&c.errs, "no objects passed to apply");
	for (size_t i = 0; i < d.len && !c.fatal; i++)
		if (d.v[i].k)
			apply_one(&c, &d.v[i], manager);
	cli__docs_fini(&d);
	return cli__finish(&c);
}

static const struct cli_opt apply_opts[] = {
    CLI_OPT_FILENAME,
    CLI_OPT("field-manager", 0, CLI_OPT_STR, field_manager),
    {0},
};

const struct cli_cmd cli__cmd_apply = {"apply", run_apply, usage_apply, apply_opts};
