/* namespace.c - the namespace controller (see namespace.h). */
#include "controller/namespace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/schema.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/worker.h"
#include "client/informer.h"

struct ctrl_namespace {
	struct client_config cfg;
	struct client *cl;
	struct informer *nss;
	struct worker w;
};

bool ctrl_namespace_item_delete(const json_t *obj, bool *remains)
{
	const json_t *meta = json_object_get(obj, "metadata");
	bool fin = json_array_size(json_object_get(meta, "finalizers")) > 0;
	*remains = fin;
	return !fin || !json_object_get(meta, "deletionTimestamp");
}

json_t *ctrl_namespace_finalize_body(const json_t *ns)
{
	json_t *fins = json_array(), *f;
	size_t i;
	json_array_foreach(api_get(ns, "spec.finalizers"), i, f)
	{
		if (strcmp(json_string_value(f) ?: "", "kubernetes") != 0)
			json_array_append(fins, f);
	}
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:o}}", "apiVersion", "v1", "kind", "Namespace",
			 "metadata", "name", api_str(ns, "metadata.name") ?: "", "resourceVersion",
			 api_str(ns, "metadata.resourceVersion") ?: "", "spec", "finalizers", fins);
}

/* One request; returns the HTTP status (0 on a transport error) and *out the decoded
 * body when out is not NULL. */
static long call(struct ctrl_namespace *n, const char *method, const char *path, const char *body,
		 json_t **out)
{
	long status = 0;
	char *resp = NULL, err[256];
	if (out)
		*out = NULL;
	if (client_request(n->cl, method, path, body ? "application/json" : NULL, body, NULL, &status, &resp,
			   NULL, err, sizeof(err)) < 0) {
		log_warn("namespace controller: %s %s: %s", method, path, err);
		return 0;
	}
	if (out && status >= 200 && status <= 299)
		*out = json_loads(resp, 0, NULL);
	free(resp);
	return status;
}

/* Deletes what namespace ns holds; returns how many objects remain. */
static size_t purge(struct ctrl_namespace *n, const char *ns)
{
	size_t remain = 0;
	for (size_t i = 0; i < api_nkinds && !worker_stopping(&n->w); i++) {
		const struct api_kind *k = &api_kinds[i];
		if (!k->namespaced || api_kind_storage(k) != k) /* a deprecated version is a view */
			continue;
		char *base =
		    *k->group ? xasprintf("/apis/%s/%s/namespaces/%s/%s", k->group, k->version, ns, k->plural)
			      : xasprintf("/api/%s/namespaces/%s/%s", k->version, ns, k->plural);
		json_t *list = NULL;
		if (call(n, "GET", base, NULL, &list) != 200 || !list) {
			remain++;
			free(base);
			json_decref(list);
			continue;
		}
		size_t j;
		json_t *o;
		json_array_foreach(json_object_get(list, "items"), j, o)
		{
			bool remains = false;
			if (ctrl_namespace_item_delete(o, &remains)) {
				char *e = client_escape(api_str(o, "metadata.name") ?: "");
				char *path = xasprintf("%s/%s", base, e);
				long st = call(n, "DELETE", path, NULL, NULL);
				if ((st < 200 || st > 299) && st != 404)
					remains = true;
				free(path);
				free(e);
			}
			remain += remains;
		}
		json_decref(list);
		free(base);
	}
	return remain;
}

static void finalize(struct ctrl_namespace *n, const json_t *ns)
{
	const char *name = api_str(ns, "metadata.name");
	if (!name || purge(n, name) > 0 || worker_stopping(&n->w))
		return;
	json_t *b = ctrl_namespace_finalize_body(ns);
	char *body = json_dumps(b, JSON_COMPACT);
	char *path = xasprintf("/api/v1/namespaces/%s/finalize", name);
	long st = call(n, "PUT", path, body, NULL);
	if (st == 200 && json_array_size(api_get(b, "spec.finalizers")) == 0)
		log_info("namespace %s deleted", name);
	else if (st != 200 && st != 404 && st != 409)
		log_warn("namespace controller: finalize %s: HTTP %ld", name, st);
	free(path);
	free(body);
	json_decref(b);
}

static void *work(void *arg)
{
	struct ctrl_namespace *n = arg;
	/* Also once a second: objects with finalizers go without touching the namespace. */
	while (worker_wait(&n->w, 1000)) {
		json_t *all = informer_list(n->nss, NULL);
		size_t i;
		json_t *ns;
		json_array_foreach(all, i, ns)
		{
			if (json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp"))
				finalize(n, ns);
		}
		json_decref(all);
	}
	return NULL;
}

static void kick(void *ud)
{
	struct ctrl_namespace *n = ud;
	worker_kick(&n->w);
}
static void on_ns_add(void *ud, const json_t *o)
{
	kick(ud);
}
static void on_ns_update(void *ud, const json_t *old, const json_t *o)
{
	kick(ud);
}

/* Frees n once its worker is gone (or was never started). */
static void release(struct ctrl_namespace *n)
{
	informer_free(n->nss);
	client_free(n->cl);
	client_config_fini(&n->cfg);
	worker_fini(&n->w);
	free(n);
}

int ctrl_namespace_start(const struct client_config *cfg, struct ctrl_namespace **out, char *err,
			 size_t errlen)
{
	struct ctrl_namespace *n = xcalloc(1, sizeof(*n));
	client_config_copy(&n->cfg, cfg);
	n->cl = client_new(&n->cfg, 30000);
	worker_init(&n->w);
	struct informer_handlers h = {on_ns_add, on_ns_update, NULL, NULL};
	n->nss = informer_new(&n->cfg, "/api/v1/namespaces", &h, n);
	int rc = informer_start(n->nss);
	if (rc == 0)
		rc = worker_start(&n->w, work, n);
	if (rc < 0) {
		snprintf(err, errlen, "namespace controller: cannot start: %s", strerror(-rc));
		release(n);
		return rc;
	}
	*out = n;
	return 0;
}

void ctrl_namespace_stop(struct ctrl_namespace *n)
{
	if (!n)
		return;
	worker_stop(&n->w); /* a pass in progress sees the flag and ends early */
	informer_stop(n->nss);
	release(n);
}
