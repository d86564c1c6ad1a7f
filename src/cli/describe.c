/* describe.c - `svcplane ctl describe`: kubectl's describers (Services with their
 * EndpointSlices, Namespaces, Endpoints, a generic one for the rest) with the object's
 * events; a name that is not found falls back to every object whose name starts so.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"

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
static json_t *events_for(struct cli_ctl *c, const json_t *obj)
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
	int rc = cli__call(c, "GET", full, NULL, NULL, NULL, &list, &ae);
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

static char *describe_obj(struct cli_ctl *c, const struct api_kind *k, json_t *obj, bool show_events)
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
		size_t before = c->errs.len;
		if (!sk || cli__list_items(c, sk, api_str(obj, "metadata.namespace"), sel, &slices) < 0) {
			/* kubectl ignores a failure to list the slices. */
			while (c->errs.len > before) {
				struct cli_err *e = &c->errs.v[--c->errs.len];
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

static int run_describe(const struct cli_flags *f, int argc, char **argv)
{
	bool all_ns = f->all_namespaces, show_events = f->show_events;
	const char *selector = f->selector;
	if (argc == 0)
		return cli__no_type("describe");
	struct cli_targets t;
	if (cli__targets_parse(argc, argv, &t))
		return 1;
	struct cli_ctl c;
	if (cli__open(&c, f)) {
		cli__targets_fini(&t);
		return 1;
	}
	bool first = true, prefix_mode = false;
	size_t described = 0;
	for (size_t i = 0; i < t.len && !c.fatal; i++) {
		const struct api_kind *k = t.v[i].k;
		const char *ns = all_ns && !t.v[i].name ? NULL : (k->namespaced ? c.ns : NULL);
		json_t *objs = json_array();
		if (t.v[i].name) {
			char *path = cli__path(k, ns, t.v[i].name);
			json_t *obj = NULL;
			struct client_apierr ae;
			int rc = cli__call(&c, "GET", path, NULL, NULL, NULL, &obj, &ae);
			free(path);
			if (rc == 0) {
				json_array_append_new(objs, obj);
			} else if (rc == 1 && ae.code == 404 && t.len == 1) {
				/* kubectl describe falls back to every object whose name starts so. */
				json_t *items = NULL;
				size_t before = c.errs.len;
				if (cli__list_items(&c, k, ns, NULL, &items) == 0) {
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
				if (json_array_size(objs) == 0 && c.errs.len == before)
					cli__errs_add_api(&c.errs, &ae);
				else
					client_apierr_fini(&ae);
				prefix_mode = true;
			} else if (rc == 1) {
				cli__errs_add_api(&c.errs, &ae);
			}
		} else {
			json_t *items = NULL;
			if (cli__list_items(&c, k, ns, selector, &items) == 0) {
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
	if (!described && !c.errs.len && !c.fatal) {
		cli__no_resources(&c, &t, all_ns);
	}
	cli__targets_fini(&t);
	return cli__finish(&c);
}

static const struct cli_opt describe_opts[] = {
    CLI_OPT_ALL_NAMESPACES,
    CLI_OPT_SELECTOR,
    CLI_OPT("show-events", 0, CLI_OPT_BOOL, show_events),
    {0},
};

const struct cli_cmd cli__cmd_describe = {"describe", run_describe, usage_describe, describe_opts};
