/* wlmanager.c - informers, queue and API writes of the workload controllers (see
 * wlmanager.h).
 *
 * Queue keys:
 *   "rs/<ns>/<name>", "rc/<ns>/<name>", "deploy/<ns>/<name>", "sts/<ns>/<name>",
 *   "ds/<ns>/<name>"   reconcile one object
 *   "gc/<ns>/<uid>"    the owner with this uid is gone: delete what it controlled
 *   "fin/<kind>/<ns>/<name>"  an owner being deleted with the orphan or foregroundDeletion
 *                      finalizer: release or delete its dependents, then drop the finalizer
 *   "podfin/<ns>/<name>"  a pod deleted with either finalizer: it has no dependents, drop it
 *   "sa/<ns>"          the namespace's default ServiceAccount
 *   "ca/<ns>"          the namespace's kube-root-ca.crt ConfigMap (the cluster CA, as
 *                      kube-controller-manager's root-ca-cert-publisher keeps it)
 *
 * Expectations (as client-go's ControllerExpectations): after a sync creates or deletes
 * pods, or writes ReplicaSets, the next sync of that owner waits until the informers show
 * those writes (the pod and ReplicaSet informers past the highest version written, the
 * deleted pods gone), so a sync never acts twice on a stale cache. The
 * informer events of those writes queue the owner again; an expectation older than 30 s
 * is dropped. Writes are JSON merge patches (metadata and status) so that fields the
 * informer cache trims (managedFields, last-applied-configuration) are never lost.
 */
#include "controller/wlmanager.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/workq.h"
#include "base/mem.h"
#include "client/informer.h"
#include "controller/workloads.h"

struct ctrl_workloads {
	struct client_config cfg;
	struct client *cl;
	struct informer *pods, *rss, *rcs, *deps, *stss, *dss, *nodes, *nss, *sas, *crs, *cas;
	char *ca_pem; /* the cluster CA published as kube-root-ca.crt, or NULL (none known) */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	json_t *queue;		  /* key -> {"n": attempts, "a": clock_mono_ns() when queued} */
	struct workq_metrics *wq; /* workqueue_* metrics, name "workloads" (base/workq.h) */
	json_t *expect; /* owner key -> {"t": seconds, "add_rv": rv, "rs_rv": rv, "del": [pod names]} */
	bool stop, ready;
	pthread_t worker;
};

/* The kinds this manager owns, by ownerReference kind. */
static const struct wl_kind {
	const char *kind, *key, *api_version, *path; /* path: collection under /namespaces/<ns>/ */
} kinds[] = {
    {"ReplicaSet", "rs", "apps/v1", "/apis/apps/v1/namespaces/%s/replicasets"},
    {"ReplicationController", "rc", "v1", "/api/v1/namespaces/%s/replicationcontrollers"},
    {"Deployment", "deploy", "apps/v1", "/apis/apps/v1/namespaces/%s/deployments"},
    {"StatefulSet", "sts", "apps/v1", "/apis/apps/v1/namespaces/%s/statefulsets"},
    {"DaemonSet", "ds", "apps/v1", "/apis/apps/v1/namespaces/%s/daemonsets"},
};

static const struct wl_kind *kind_by(const char *kind, const char *key)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((kind && !strcmp(kinds[i].kind, kind)) || (key && !strcmp(kinds[i].key, key)))
			return &kinds[i];
	return NULL;
}

static struct informer *informer_of(struct ctrl_workloads *w, const struct wl_kind *k)
{
	if (!strcmp(k->key, "rs"))
		return w->rss;
	if (!strcmp(k->key, "rc"))
		return w->rcs;
	if (!strcmp(k->key, "deploy"))
		return w->deps;
	if (!strcmp(k->key, "sts"))
		return w->stss;
	return w->dss;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void enqueue(struct ctrl_workloads *w, const char *key)
{
	pthread_mutex_lock(&w->mu);
	if (!json_object_get(w->queue, key)) {
		json_object_set_new(w->queue, key,
				    json_pack("{s:i, s:I}", "n", 0, "a", (json_int_t)clock_mono_ns()));
		workq_metrics_added(w->wq);
	}
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static void enqueue_obj(struct ctrl_workloads *w, const char *prefix, const json_t *o)
{
	char *k = xasprintf("%s/%s/%s", prefix, api_str(o, "metadata.namespace") ?: "",
			    api_str(o, "metadata.name") ?: "");
	enqueue(w, k);
	free(k);
}

/* Queues the owners named in o's ownerReferences (their sync and, when they are being
 * deleted, their finalizer work). */
static void enqueue_owners(struct ctrl_workloads *w, const json_t *o)
{
	size_t i;
	json_t *r;
	const char *ns = api_str(o, "metadata.namespace") ?: "";
	json_array_foreach(api_get(o, "metadata.ownerReferences"), i, r)
	{
		const struct wl_kind *k = kind_by(api_str(r, "kind"), NULL);
		if (!k)
			continue;
		char *key = xasprintf("%s/%s/%s", k->key, ns, api_str(r, "name") ?: "");
		enqueue(w, key);
		free(key);
		key = xasprintf("fin/%s/%s/%s", k->key, ns, api_str(r, "name") ?: "");
		enqueue(w, key);
		free(key);
	}
}

/* An orphan pod may be adopted by the ReplicaSets and ReplicationControllers whose
 * selector matches it. */
static void enqueue_adopters(struct ctrl_workloads *w, const json_t *pod)
{
	if (ctrl_controller_uid(pod) || api_get(pod, "metadata.deletionTimestamp"))
		return;
	const char *ns = api_str(pod, "metadata.namespace") ?: "";
	json_t *labels = api_get(pod, "metadata.labels");
	for (int rc = 0; rc < 2; rc++) {
		json_t *all = informer_list(rc ? w->rcs : w->rss, ns);
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o)
		{
			struct api_selector *sel = NULL;
			char err[128];
			json_t *s = api_get(o, "spec.selector");
			if (rc)
				sel = json_object_size(s) ? api_selector_from_map(s) : NULL;
			else if (json_is_object(s) &&
				 api_selector_from_label_selector(s, &sel, err, sizeof(err)) < 0)
				sel = NULL;
			if (sel && !api_selector_empty(sel) && api_label_selector_match(sel, labels))
				enqueue_obj(w, rc ? "rc" : "rs", o);
			api_selector_free(sel);
		}
		json_decref(all);
	}
}

static void pod_add(void *ud, const json_t *o)
{
	struct ctrl_workloads *w = ud;
	enqueue_owners(w, o);
	enqueue_adopters(w, o);
}
static void pod_update(void *ud, const json_t *old, const json_t *o)
{
	struct ctrl_workloads *w = ud;
	enqueue_owners(w, o);
	if (api_get(o, "metadata.deletionTimestamp") && json_array_size(api_get(o, "metadata.finalizers")))
		enqueue_obj(w, "podfin", o);
	if (!json_equal(api_get(old, "metadata.labels"), api_get(o, "metadata.labels")))
		enqueue_adopters(w, o);
}
static void pod_delete(void *ud, const json_t *o)
{
	enqueue_owners(ud, o);
}

/* An owner kind's object changed: sync it; when deleted, collect its dependents. */
static void owner_changed(struct ctrl_workloads *w, const char *key, const json_t *o, bool deleted)
{
	enqueue_obj(w, key, o);
	enqueue_owners(w, o);
	if (deleted) {
		char *k = xasprintf("gc/%s/%s", api_str(o, "metadata.namespace") ?: "",
				    api_str(o, "metadata.uid") ?: "");
		enqueue(w, k);
		free(k);
	} else if (api_get(o, "metadata.deletionTimestamp")) {
		char *k = xasprintf("fin/%s/%s/%s", key, api_str(o, "metadata.namespace") ?: "",
				    api_str(o, "metadata.name") ?: "");
		enqueue(w, k);
		free(k);
	}
}

#define OWNER_HANDLERS(key)                                                                                  \
	static void key##_add(void *ud, const json_t *o)                                                     \
	{                                                                                                    \
		owner_changed(ud, #key, o, false);                                                           \
	}                                                                                                    \
	static void key##_update(void *ud, const json_t *old, const json_t *o)                               \
	{                                                                                                    \
		(void)old;                                                                                   \
		owner_changed(ud, #key, o, false);                                                           \
	}                                                                                                    \
	static void key##_delete(void *ud, const json_t *o)                                                  \
	{                                                                                                    \
		owner_changed(ud, #key, o, true);                                                            \
	}
OWNER_HANDLERS(rs)
OWNER_HANDLERS(rc)
OWNER_HANDLERS(deploy)
OWNER_HANDLERS(sts)
OWNER_HANDLERS(ds)

static void on_node_changed(void *ud, const json_t *o)
{
	struct ctrl_workloads *w = ud;
	(void)o;
	json_t *all = informer_list(w->dss, NULL);
	size_t i;
	json_t *d;
	json_array_foreach(all, i, d) enqueue_obj(w, "ds", d);
	json_decref(all);
}
static void on_node_add(void *ud, const json_t *o)
{
	on_node_changed(ud, o);
}
static void on_node_update(void *ud, const json_t *old, const json_t *o)
{
	/* Heartbeats change nothing a DaemonSet reads. */
	if (json_equal(api_get(old, "metadata.labels"), api_get(o, "metadata.labels")) &&
	    json_equal(api_get(old, "spec"), api_get(o, "spec")) &&
	    ctrl_pod_is_ready(old) == ctrl_pod_is_ready(o))
		return;
	on_node_changed(ud, o);
}

static void ns_changed(void *ud, const json_t *o)
{
	char *k = xasprintf("sa/%s", api_str(o, "metadata.name") ?: "");
	enqueue(ud, k);
	k[0] = 'c';
	k[1] = 'a';
	enqueue(ud, k);
	free(k);
}
static void ns_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	ns_changed(ud, o);
}
static void ca_changed(void *ud, const json_t *o)
{
	char *k = xasprintf("ca/%s", api_str(o, "metadata.namespace") ?: "");
	enqueue(ud, k);
	free(k);
}
static void ca_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	ca_changed(ud, o);
}
static void sa_delete(void *ud, const json_t *o)
{
	char *k = xasprintf("sa/%s", api_str(o, "metadata.namespace") ?: "");
	enqueue(ud, k);
	free(k);
}

/* ---- API writes ---- */

/* One request; 0 on 2xx (*out the decoded answer when out is not NULL), -ENOENT on 404,
 * -ESTALE on 409, -EEXIST for AlreadyExists, -EIO otherwise (logged). */
static int call(struct ctrl_workloads *w, const char *method, const char *path, const char *ct,
		const json_t *body, json_t **out)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	char *resp = NULL, err[512] = "";
	int rc = client_request(w->cl, method, path, b ? ct : NULL, b, NULL, &status, &resp, NULL, err,
				sizeof(err));
	free(b);
	if (out)
		*out = NULL;
	if (rc == 0 && status >= 200 && status < 300) {
		if (out)
			*out = resp ? json_loads(resp, 0, NULL) : NULL;
	} else if (rc == 0 && status == 404) {
		rc = -ENOENT;
	} else if (rc == 0 && status == 409) {
		rc = resp && strstr(resp, "AlreadyExists") ? -EEXIST : -ESTALE;
	} else {
		log_warn("workloads: %s %s: %ld %s", method, path, status, rc < 0 ? err : resp ? resp : "");
		rc = rc < 0 ? rc : -EIO;
	}
	free(resp);
	return rc;
}

static int merge_patch(struct ctrl_workloads *w, const char *path, const json_t *body)
{
	return call(w, "PATCH", path, "application/merge-patch+json", body, NULL);
}

static char *obj_path(const struct wl_kind *k, const char *ns, const char *name, const char *sub)
{
	char *coll = xasprintf(k->path, ns);
	char *p = xasprintf("%s/%s%s%s", coll, name, sub ? "/" : "", sub ? sub : "");
	free(coll);
	return p;
}

static char *pod_path(const char *ns, const char *name)
{
	return name ? xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name)
		    : xasprintf("/api/v1/namespaces/%s/pods", ns);
}

/* Writes status (merge patch of /status) when it differs from the cached object's. */
static int write_status(struct ctrl_workloads *w, const struct wl_kind *k, const json_t *obj, json_t *status)
{
	if (json_equal(api_get(obj, "status"), status))
		return 0;
	/* A merge patch leaves fields it does not name: null out the ones that went. */
	json_t *patch = json_deep_copy(status);
	const char *f;
	json_t *v;
	json_object_foreach(api_get(obj, "status"), f, v)
	{
		if (!json_object_get(patch, f))
			json_object_set_new(patch, f, json_null());
	}
	char *p = obj_path(k, api_str(obj, "metadata.namespace"), api_str(obj, "metadata.name"), "status");
	json_t *body = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion",
				 api_str(obj, "metadata.resourceVersion") ?: "", "status", patch);
	int rc = merge_patch(w, p, body);
	json_decref(body);
	free(p);
	return rc;
}

static json_t *expectation(struct ctrl_workloads *w, const char *key)
{
	json_t *e = json_object_get(w->expect, key);
	if (!e) {
		e = json_pack("{s:I, s:I, s:I, s:[]}", "t", (json_int_t)now_s(), "add_rv", (json_int_t)0,
			      "rs_rv", (json_int_t)0, "del");
		json_object_set_new(w->expect, key, e);
	}
	json_object_set_new(e, "t", json_integer(now_s()));
	return e;
}

/* Records that the informer behind field ("add_rv" pods, "rs_rv" ReplicaSets) must reach
 * the version of written (an API answer) before key syncs again. */
static void expect_rv(struct ctrl_workloads *w, const char *key, const char *field, const json_t *written)
{
	long long rv = written ? atoll(api_str(written, "metadata.resourceVersion") ?: "0") : 0;
	json_t *e = expectation(w, key);
	if (rv > json_integer_value(json_object_get(e, field)))
		json_object_set_new(e, field, json_integer(rv));
}

/* True when the informers show every write recorded for key (see the top). */
static bool expectations_met(struct ctrl_workloads *w, const char *key, const char *ns)
{
	json_t *e = json_object_get(w->expect, key);
	if (!e)
		return true;
	if (json_integer_value(json_object_get(e, "t")) + 30 < now_s()) {
		json_object_del(w->expect, key);
		return true;
	}
	/* Creates and ReplicaSet writes: the informer has passed the version written (so it
	 * saw the object, even one deleted again since). */
	if (informer_rv(w->pods) < json_integer_value(json_object_get(e, "add_rv")) ||
	    informer_rv(w->rss) < json_integer_value(json_object_get(e, "rs_rv")))
		return false;
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(e, "del"), i, n)
	{
		json_t *p = informer_get(w->pods, ns, json_string_value(n));
		bool gone = !p || api_get(p, "metadata.deletionTimestamp");
		json_decref(p);
		if (!gone)
			return false;
	}
	json_object_del(w->expect, key);
	return true;
}

static json_t *owner_ref(const struct wl_kind *k, const json_t *o)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", k->api_version, "kind", k->kind,
			 "name", api_str(o, "metadata.name") ?: "", "uid", api_str(o, "metadata.uid") ?: "",
			 "controller", 1, "blockOwnerDeletion", 1);
}

/* Sets (ref != NULL) or removes (uid) an owner reference of a pod or ReplicaSet. */
static int set_owner(struct ctrl_workloads *w, const char *path, const json_t *o, const char *drop_uid,
		     json_t *add)
{
	json_t *refs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(api_get(o, "metadata.ownerReferences"), i, r)
	{
		if (drop_uid && !strcmp(api_str(r, "uid") ?: "", drop_uid))
			continue;
		json_array_append(refs, r);
	}
	if (add)
		json_array_append_new(refs, add);
	json_t *body = json_pack("{s:{s:s, s:o}}", "metadata", "resourceVersion",
				 api_str(o, "metadata.resourceVersion") ?: "", "ownerReferences",
				 json_array_size(refs) ? refs : json_null());
	if (!json_array_size(refs))
		json_decref(refs);
	int rc = merge_patch(w, path, body);
	json_decref(body);
	return rc;
}

static int create_pods(struct ctrl_workloads *w, const char *key, const char *ns, const json_t *pods)
{
	size_t i;
	json_t *p;
	int rc = 0;
	char *path = pod_path(ns, NULL);
	json_array_foreach(pods, i, p)
	{
		json_t *out = NULL;
		int r = call(w, "POST", path, "application/json", p, &out);
		if (r == 0)
			expect_rv(w, key, "add_rv", out);
		json_decref(out);
		if (r < 0 && r != -EEXIST)
			rc = r;
	}
	free(path);
	return rc;
}

static int delete_pods(struct ctrl_workloads *w, const char *key, const char *ns, const json_t *names)
{
	size_t i;
	json_t *n;
	int rc = 0;
	json_array_foreach(names, i, n)
	{
		char *path = pod_path(ns, json_string_value(n));
		int r = call(w, "DELETE", path, NULL, NULL, NULL);
		free(path);
		if (r == 0 || r == -ENOENT)
			json_array_append(json_object_get(expectation(w, key), "del"), n);
		else
			rc = r;
	}
	return rc;
}

/* ---- syncs ---- */

static int sync_rs(struct ctrl_workloads *w, const struct wl_kind *k, const char *key, const char *ns,
		   const char *name)
{
	json_t *o = informer_get(informer_of(w, k), ns, name);
	if (!o)
		return 0;
	int rc = 0;
	if (!expectations_met(w, key, ns))
		goto out;
	json_t *pods = informer_list(w->pods, ns);
	struct ctrl_rs_plan p;
	if (ctrl_rs_plan(o, !strcmp(k->key, "rc"), pods, now_s(), &p) < 0) {
		json_decref(pods);
		goto out;
	}
	size_t i;
	json_t *n;
	json_array_foreach(p.adopt, i, n)
	{
		json_t *pod = informer_get(w->pods, ns, json_string_value(n));
		char *path = pod_path(ns, json_string_value(n));
		if (pod)
			set_owner(w, path, pod, NULL, owner_ref(k, o));
		free(path);
		json_decref(pod);
	}
	json_array_foreach(p.release, i, n)
	{
		json_t *pod = informer_get(w->pods, ns, json_string_value(n));
		char *path = pod_path(ns, json_string_value(n));
		if (pod)
			set_owner(w, path, pod, api_str(o, "metadata.uid"), NULL);
		free(path);
		json_decref(pod);
	}
	if (p.create) {
		json_t *list = json_array();
		for (int c = 0; c < p.create; c++)
			json_array_append_new(list,
					      ctrl_pod_from_template(o, k->kind, k->api_version,
								     api_get(o, "spec.template"), NULL));
		rc = create_pods(w, key, ns, list);
		json_decref(list);
	}
	if (rc == 0)
		rc = delete_pods(w, key, ns, p.deletes);
	if (rc == 0)
		rc = write_status(w, k, o, p.status);
	ctrl_rs_plan_fini(&p);
	json_decref(pods);
out:
	json_decref(o);
	return rc;
}

static json_t *owned_rss(struct ctrl_workloads *w, const json_t *d)
{
	json_t *all = informer_list(w->rss, api_str(d, "metadata.namespace"));
	json_t *mine = json_array();
	const char *uid = api_str(d, "metadata.uid");
	size_t i;
	json_t *rs;
	json_array_foreach(all, i, rs)
	{
		const char *cu = ctrl_controller_uid(rs);
		if (cu && uid && !strcmp(cu, uid))
			json_array_append(mine, rs);
	}
	json_decref(all);
	return mine;
}

static void expect_rs(struct ctrl_workloads *w, const char *key, const json_t *written)
{
	expect_rv(w, key, "rs_rv", written);
}

static int sync_deploy(struct ctrl_workloads *w, const char *key, const char *ns, const char *name)
{
	const struct wl_kind *k = kind_by(NULL, "deploy"), *rk = kind_by(NULL, "rs");
	json_t *d = informer_get(w->deps, ns, name);
	if (!d)
		return 0;
	int rc = 0;
	if (api_get(d, "metadata.deletionTimestamp") || !expectations_met(w, key, ns))
		goto out;
	json_t *rss = owned_rss(w, d);
	struct ctrl_deploy_plan p;
	if (ctrl_deploy_plan(d, rss, now_s(), &p) < 0) {
		json_decref(rss);
		goto out;
	}
	if (p.create_rs) {
		char *path = xasprintf(rk->path, ns);
		json_t *out = NULL;
		rc = call(w, "POST", path, "application/json", p.create_rs, &out);
		free(path);
		if (rc == -EEXIST) {
			/* A ReplicaSet of that name that is not ours (hash collision): count it, so
			 * the next name differs. */
			json_t *body = json_pack(
			    "{s:{s:I}}", "status", "collisionCount",
			    (json_int_t)json_integer_value(api_get(d, "status.collisionCount")) + 1);
			char *sp = obj_path(k, ns, name, "status");
			merge_patch(w, sp, body);
			free(sp);
			json_decref(body);
		}
		expect_rs(w, key, out);
		json_decref(out);
	}
	const char *rsname;
	json_t *v;
	json_object_foreach(p.scale, rsname, v)
	{
		json_t *rs = informer_get(w->rss, ns, rsname);
		if (!rs)
			continue;
		char des[24], mx[24];
		snprintf(des, sizeof(des), "%lld",
			 (long long)json_integer_value(api_get(d, "spec.replicas")));
		int surge = 0, unavail = 0;
		ctrl_resolve_fenceposts(api_get(d, "spec.strategy.rollingUpdate.maxSurge"),
					api_get(d, "spec.strategy.rollingUpdate.maxUnavailable"),
					(int)json_integer_value(api_get(d, "spec.replicas")), &surge,
					&unavail);
		snprintf(mx, sizeof(mx), "%lld",
			 (long long)json_integer_value(api_get(d, "spec.replicas")) + surge);
		json_t *ann = json_pack("{s:s, s:s}", "deployment.kubernetes.io/desired-replicas", des,
					"deployment.kubernetes.io/max-replicas", mx);
		json_t *extra = json_object_get(p.annotate, rsname);
		if (extra)
			json_object_update(ann, extra);
		json_t *body = json_pack("{s:{s:s, s:o}, s:{s:O}}", "metadata", "resourceVersion",
					 api_str(rs, "metadata.resourceVersion") ?: "", "annotations", ann,
					 "spec", "replicas", v);
		char *path = obj_path(rk, ns, rsname, NULL);
		json_t *out = NULL;
		int r = call(w, "PATCH", path, "application/merge-patch+json", body, &out);
		expect_rs(w, key, out);
		json_decref(out);
		if (r < 0)
			rc = r;
		free(path);
		json_decref(body);
		json_decref(rs);
	}
	json_object_foreach(p.annotate, rsname, v)
	{
		if (json_object_get(p.scale, rsname))
			continue;
		json_t *body = json_pack("{s:{s:O}}", "metadata", "annotations", v);
		char *path = obj_path(rk, ns, rsname, NULL);
		json_t *out = NULL;
		if (call(w, "PATCH", path, "application/merge-patch+json", body, &out) == 0)
			expect_rs(w, key, out);
		json_decref(out);
		free(path);
		json_decref(body);
	}
	size_t i;
	json_array_foreach(p.delete_rs, i, v)
	{
		char *path = obj_path(rk, ns, json_string_value(v), NULL);
		call(w, "DELETE", path, "application/json",
		     json_pack("{s:s}", "propagationPolicy", "Background"), NULL);
		free(path);
	}
	if (p.revision) {
		const char *cur = json_string_value(
		    json_object_get(api_get(d, "metadata.annotations"), "deployment.kubernetes.io/revision"));
		if (!cur || strcmp(cur, p.revision)) {
			json_t *body = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
						 "deployment.kubernetes.io/revision", p.revision);
			char *path = obj_path(k, ns, name, NULL);
			merge_patch(w, path, body);
			free(path);
			json_decref(body);
		}
	}
	if (rc == 0)
		rc = write_status(w, k, d, p.status);
	ctrl_deploy_plan_fini(&p);
	json_decref(rss);
out:
	json_decref(d);
	return rc;
}

/* The ControllerRevision "<name>-<hash>" of a StatefulSet's or DaemonSet's current
 * template (kubectl rollout history|undo read them): made once, numbered after the
 * highest revision the owner has. Its data is the template as a strategic merge patch
 * that replaces it, as Kubernetes stores it. */
static void ensure_revision(struct ctrl_workloads *w, const struct wl_kind *k, const json_t *o,
			    const char *ns)
{
	const json_t *tmpl = api_get(o, "spec.template");
	char *hash = ctrl_template_hash(tmpl, 0);
	char *name = xasprintf("%s-%s", api_str(o, "metadata.name") ?: "", hash);
	json_t *have = informer_get(w->crs, ns, name);
	if (!have) {
		json_int_t max = 0;
		json_t *all = informer_list(w->crs, ns);
		size_t i;
		json_t *cr;
		const char *uid = api_str(o, "metadata.uid") ?: "";
		json_array_foreach(all, i, cr)
		{
			const char *cu = ctrl_controller_uid(cr);
			if (cu && !strcmp(cu, uid) &&
			    json_integer_value(json_object_get(cr, "revision")) > max)
				max = json_integer_value(json_object_get(cr, "revision"));
		}
		json_decref(all);
		json_t *labels = json_deep_copy(api_get(tmpl, "metadata.labels"));
		if (!json_is_object(labels)) {
			json_decref(labels);
			labels = json_object();
		}
		/* A StatefulSet's pods carry the revision's name, a DaemonSet's the hash. */
		json_object_set_new(labels, "controller-revision-hash",
				    json_string(strcmp(k->key, "sts") ? hash : name));
		json_t *t = json_deep_copy(tmpl);
		json_object_set_new(t, "$patch", json_string("replace"));
		json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:{s:{s:o}}, s:I}",
					 "apiVersion", "apps/v1", "kind", "ControllerRevision", "metadata",
					 "name", name, "namespace", ns, "labels", labels, "ownerReferences",
					 owner_ref(k, o), "data", "spec", "template", t, "revision", max + 1);
		char *path = xasprintf("/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
		call(w, "POST", path, "application/json", body, NULL);
		free(path);
		json_decref(body);
	}
	json_decref(have);
	free(name);
	free(hash);
}

/* Carries out a StatefulSet or DaemonSet plan: pods to create, pods to delete, status. */
static int apply_pod_plan(struct ctrl_workloads *w, const struct wl_kind *k, const char *key, const char *ns,
			  const json_t *o, const json_t *create, const json_t *deletes, json_t *status)
{
	int rc = create_pods(w, key, ns, create);
	if (rc == 0)
		rc = delete_pods(w, key, ns, deletes);
	if (rc == 0)
		rc = write_status(w, k, o, status);
	return rc;
}

static int sync_sts_ds(struct ctrl_workloads *w, bool ds, const char *key, const char *ns, const char *name)
{
	const struct wl_kind *k = kind_by(NULL, ds ? "ds" : "sts");
	json_t *o = informer_get(ds ? w->dss : w->stss, ns, name);
	if (!o)
		return 0;
	int rc = 0;
	if (!api_get(o, "metadata.deletionTimestamp"))
		ensure_revision(w, k, o, ns);
	if (expectations_met(w, key, ns)) {
		json_t *pods = informer_list(w->pods, ns);
		if (ds) {
			json_t *nodes = informer_list(w->nodes, NULL);
			struct ctrl_ds_plan p;
			if (ctrl_ds_plan(o, pods, nodes, now_s(), &p) == 0) {
				rc = apply_pod_plan(w, k, key, ns, o, p.create, p.deletes, p.status);
				ctrl_ds_plan_fini(&p);
			}
			json_decref(nodes);
		} else {
			/* The current revision's template, for pods that come back below the
			 * partition: only from a ControllerRevision this StatefulSet controls. */
			const char *cur = api_str(o, "status.currentRevision");
			json_t *cr = cur && *cur ? informer_get(w->crs, ns, cur) : NULL;
			const char *cu = cr ? ctrl_controller_uid(cr) : NULL;
			const json_t *cur_tmpl = cu && !strcmp(cu, api_str(o, "metadata.uid") ?: "")
						     ? api_get(cr, "data.spec.template")
						     : NULL;
			struct ctrl_sts_plan p;
			if (ctrl_sts_plan(o, pods, cur_tmpl, now_s(), &p) == 0) {
				rc = apply_pod_plan(w, k, key, ns, o, p.create, p.deletes, p.status);
				ctrl_sts_plan_fini(&p);
			}
			json_decref(cr);
		}
		json_decref(pods);
	}
	json_decref(o);
	return rc;
}

/* The pods, ReplicaSets and ControllerRevisions of ns that name uid among their owners:
 * items {"obj": o, "kind": "pod" | "rs" | "cr"}. */
static json_t *dependents(struct ctrl_workloads *w, const char *ns, const char *uid)
{
	static const char *const kinds_[] = {"pod", "rs", "cr"};
	struct informer *infs[] = {w->pods, w->rss, w->crs};
	json_t *out = json_array();
	for (int pass = 0; pass < 3; pass++) {
		json_t *all = informer_list(infs[pass], ns);
		size_t i, j;
		json_t *o, *r;
		json_array_foreach(all, i, o)
		{
			json_array_foreach(api_get(o, "metadata.ownerReferences"), j, r)
			{
				if (!strcmp(api_str(r, "uid") ?: "", uid)) {
					json_array_append_new(
					    out, json_pack("{s:O, s:s}", "obj", o, "kind", kinds_[pass]));
					break;
				}
			}
		}
		json_decref(all);
	}
	return out;
}

static char *dependent_path(const char *ns, const json_t *item)
{
	const char *n = api_str(json_object_get(item, "obj"), "metadata.name");
	const char *kind = api_str(item, "kind") ?: "pod";
	if (!strcmp(kind, "rs"))
		return obj_path(kind_by(NULL, "rs"), ns, n, NULL);
	if (!strcmp(kind, "cr"))
		return xasprintf("/apis/apps/v1/namespaces/%s/controllerrevisions/%s", ns, n);
	return pod_path(ns, n);
}

/* The owner is gone: delete its dependents (background propagation). */
static int sync_gc(struct ctrl_workloads *w, const char *ns, const char *uid)
{
	json_t *deps = dependents(w, ns, uid);
	size_t i;
	json_t *item;
	int rc = 0;
	json_array_foreach(deps, i, item)
	{
		json_t *o = json_object_get(item, "obj");
		char *path = dependent_path(ns, item);
		json_t *opts = json_pack("{s:s, s:{s:s}}", "propagationPolicy", "Background", "preconditions",
					 "uid", api_str(o, "metadata.uid") ?: "");
		int r = call(w, "DELETE", path, "application/json", opts, NULL);
		json_decref(opts);
		free(path);
		if (r < 0 && r != -ENOENT && r != -ESTALE)
			rc = r;
	}
	json_decref(deps);
	return rc;
}

static bool has_str(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (!strcmp(json_string_value(v) ?: "", s)) return true;
	return false;
}

/* An owner being deleted with the orphan or foregroundDeletion finalizer. */
static int sync_fin(struct ctrl_workloads *w, const struct wl_kind *k, const char *ns, const char *name)
{
	json_t *o = informer_get(informer_of(w, k), ns, name);
	if (!o)
		return 0;
	int rc = 0;
	json_t *fins = api_get(o, "metadata.finalizers");
	bool orphan = has_str(fins, "orphan"), fg = has_str(fins, "foregroundDeletion");
	if (!api_get(o, "metadata.deletionTimestamp") || (!orphan && !fg))
		goto out;
	const char *uid = api_str(o, "metadata.uid");
	json_t *deps = dependents(w, ns, uid);
	size_t i;
	json_t *item;
	bool left = false;
	json_array_foreach(deps, i, item)
	{
		json_t *d = json_object_get(item, "obj");
		char *path = dependent_path(ns, item);
		if (orphan) {
			int r = set_owner(w, path, d, uid, NULL);
			if (r < 0 && r != -ENOENT)
				rc = r;
		} else {
			left = true;
			if (!api_get(d, "metadata.deletionTimestamp")) {
				/* ReplicaSets wait for their pods in turn; pods and revisions own nothing. */
				bool rs = !strcmp(api_str(item, "kind") ?: "", "rs");
				json_t *opts =
				    json_pack("{s:s}", "propagationPolicy", rs ? "Foreground" : "Background");
				int r = call(w, "DELETE", path, "application/json", opts, NULL);
				json_decref(opts);
				if (r < 0 && r != -ENOENT)
					rc = r;
			}
		}
		free(path);
	}
	json_decref(deps);
	if (rc == 0 && !left) {
		/* Done: drop our finalizer; the last one gone, the API server deletes the owner. */
		json_t *keep = json_array();
		json_t *f;
		json_array_foreach(fins, i, f)
		{
			const char *s = json_string_value(f) ?: "";
			if (strcmp(s, orphan ? "orphan" : "foregroundDeletion"))
				json_array_append(keep, f);
		}
		json_t *body = json_pack("{s:{s:s, s:o}}", "metadata", "resourceVersion",
					 api_str(o, "metadata.resourceVersion") ?: "", "finalizers", keep);
		char *path = obj_path(k, ns, name, NULL);
		rc = merge_patch(w, path, body);
		if (rc == -ENOENT)
			rc = 0;
		free(path);
		json_decref(body);
	}
out:
	json_decref(o);
	return rc;
}

/* A pod deleted with propagationPolicy Foreground or Orphan: it owns nothing, so the
 * collector's finalizer comes off at once (other finalizers stay). */
static int sync_pod_fin(struct ctrl_workloads *w, const char *ns, const char *name)
{
	json_t *o = informer_get(w->pods, ns, name);
	if (!o)
		return 0;
	json_t *fins = api_get(o, "metadata.finalizers");
	int rc = 0;
	if (api_get(o, "metadata.deletionTimestamp") &&
	    (has_str(fins, "orphan") || has_str(fins, "foregroundDeletion"))) {
		json_t *keep = json_array();
		size_t i;
		json_t *f;
		json_array_foreach(fins, i, f)
		{
			const char *s = json_string_value(f) ?: "";
			if (strcmp(s, "orphan") && strcmp(s, "foregroundDeletion"))
				json_array_append(keep, f);
		}
		json_t *body = json_pack("{s:{s:s, s:o}}", "metadata", "resourceVersion",
					 api_str(o, "metadata.resourceVersion") ?: "", "finalizers", keep);
		char *path = pod_path(ns, name);
		rc = merge_patch(w, path, body);
		if (rc == -ENOENT)
			rc = 0;
		free(path);
		json_decref(body);
	}
	json_decref(o);
	return rc;
}

static int sync_sa(struct ctrl_workloads *w, const char *ns)
{
	json_t *n = informer_get(w->nss, "", ns);
	if (!n || api_get(n, "metadata.deletionTimestamp")) {
		json_decref(n);
		return 0;
	}
	json_decref(n);
	json_t *sa = informer_get(w->sas, ns, "default");
	if (sa) {
		json_decref(sa);
		return 0;
	}
	char *path = xasprintf("/api/v1/namespaces/%s/serviceaccounts", ns);
	json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
				 "metadata", "name", "default", "namespace", ns);
	int rc = call(w, "POST", path, "application/json", body, NULL);
	json_decref(body);
	free(path);
	return rc == -EEXIST ? 0 : rc;
}

#define ROOT_CA_NAME "kube-root-ca.crt"
#define ROOT_CA_DESCRIPTION                                                                                  \
	"Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "  \
	"such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "    \
	"distributions of Kubernetes clusters."

/* kube-root-ca.crt in ns: made when missing, its ca.crt and description put back when
 * changed (as kube's root-ca-cert-publisher; other keys and labels are left alone). */
static int sync_ca(struct ctrl_workloads *w, const char *ns)
{
	json_t *n = w->ca_pem ? informer_get(w->nss, "", ns) : NULL;
	if (!n || api_get(n, "metadata.deletionTimestamp")) {
		json_decref(n);
		return 0;
	}
	json_decref(n);
	json_t *cm = informer_get(w->cas, ns, ROOT_CA_NAME);
	int rc = 0;
	if (!cm) {
		char *path = xasprintf("/api/v1/namespaces/%s/configmaps", ns);
		json_t *body =
		    json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
			      "ConfigMap", "metadata", "name", ROOT_CA_NAME, "namespace", ns, "annotations",
			      "kubernetes.io/description", ROOT_CA_DESCRIPTION, "data", "ca.crt", w->ca_pem);
		rc = call(w, "POST", path, "application/json", body, NULL);
		json_decref(body);
		free(path);
		return rc == -EEXIST ? 0 : rc;
	}
	json_t *data = api_get(cm, "data");
	const char *crt = json_string_value(json_object_get(data, "ca.crt"));
	const char *desc = json_string_value(
	    json_object_get(api_get(cm, "metadata.annotations"), "kubernetes.io/description"));
	if (!crt || strcmp(crt, w->ca_pem) != 0 || !desc || strcmp(desc, ROOT_CA_DESCRIPTION) != 0) {
		json_t *body =
		    json_pack("{s:{s:s, s:{s:s}}, s:{s:s}}", "metadata", "resourceVersion",
			      api_str(cm, "metadata.resourceVersion") ?: "", "annotations",
			      "kubernetes.io/description", ROOT_CA_DESCRIPTION, "data", "ca.crt", w->ca_pem);
		char *path = xasprintf("/api/v1/namespaces/%s/configmaps/%s", ns, ROOT_CA_NAME);
		rc = merge_patch(w, path, body);
		if (rc == -ENOENT)
			rc = 0;
		free(path);
		json_decref(body);
	}
	json_decref(cm);
	return rc;
}

/* Every dependent whose controller is gone (after a restart, when no delete event will
 * come): queue the collection of its owner's uid. */
static void sweep_orphans(struct ctrl_workloads *w)
{
	for (int pass = 0; pass < 2; pass++) {
		json_t *all = informer_list(pass ? w->rss : w->pods, NULL);
		size_t i, j;
		json_t *o, *r;
		json_array_foreach(all, i, o)
		{
			json_array_foreach(api_get(o, "metadata.ownerReferences"), j, r)
			{
				const struct wl_kind *k = kind_by(api_str(r, "kind"), NULL);
				if (!k || !json_is_true(json_object_get(r, "controller")))
					continue;
				const char *ns = api_str(o, "metadata.namespace") ?: "";
				json_t *owner = informer_get(informer_of(w, k), ns, api_str(r, "name") ?: "");
				bool gone = !owner || strcmp(api_str(owner, "metadata.uid") ?: "",
							     api_str(r, "uid") ?: "");
				json_decref(owner);
				if (gone) {
					char *key = xasprintf("gc/%s/%s", ns, api_str(r, "uid") ?: "");
					enqueue(w, key);
					free(key);
				}
			}
		}
		json_decref(all);
	}
}

static int dispatch(struct ctrl_workloads *w, char *key)
{
	/* key is "<kind>/<ns>/<name>", "gc/<ns>/<uid>", "fin/<kind>/<ns>/<name>", "sa/<ns>", "ca/<ns>". */
	char *a = strchr(key, '/');
	if (!a)
		return 0;
	*a = 0;
	const char *kind = key, *rest = a + 1;
	int rc = 0;
	if (!strcmp(kind, "sa")) {
		rc = sync_sa(w, rest);
	} else if (!strcmp(kind, "ca")) {
		rc = sync_ca(w, rest);
	} else if (!strcmp(kind, "fin")) {
		char *b = strchr(rest, '/'), *c = b ? strchr(b + 1, '/') : NULL;
		if (c) {
			*b = 0;
			*c = 0;
			const struct wl_kind *k = kind_by(NULL, rest);
			if (k)
				rc = sync_fin(w, k, b + 1, c + 1);
			*b = '/';
			*c = '/';
		}
	} else {
		char *b = strchr(rest, '/');
		if (b) {
			*b = 0;
			*a = '/';
			const char *ns = rest, *name = b + 1;
			char *full = xasprintf("%.*s/%s/%s", (int)(a - key), key, ns, name);
			*a = 0;
			if (!strcmp(kind, "gc"))
				rc = sync_gc(w, ns, name);
			else if (!strcmp(kind, "podfin"))
				rc = sync_pod_fin(w, ns, name);
			else if (!strcmp(kind, "deploy"))
				rc = sync_deploy(w, full, ns, name);
			else if (!strcmp(kind, "sts") || !strcmp(kind, "ds"))
				rc = sync_sts_ds(w, !strcmp(kind, "ds"), full, ns, name);
			else if (kind_by(NULL, kind))
				rc = sync_rs(w, kind_by(NULL, kind), full, ns, name);
			free(full);
			*b = '/';
		}
	}
	*a = '/';
	return rc;
}

static void *work(void *arg)
{
	struct ctrl_workloads *w = arg;
	pthread_mutex_lock(&w->mu);
	int64_t last_tick = now_s();
	unsigned since_trim = 0;
	while (!w->stop) {
		void *it = json_object_iter(w->queue);
		if (!it && since_trim >= 100) {
			/* After a burst the heap holds freed JSON (lists, plans, API bodies) in its
			 * arenas: hand it back, as the agent does. */
			since_trim = 0;
			pthread_mutex_unlock(&w->mu);
			malloc_trim(0);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (!it) {
			/* Wake at least every 2 s: minReadySeconds and progress deadlines pass
			 * without any event. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;
			pthread_cond_timedwait(&w->cond, &w->mu, &ts);
			if (now_s() - last_tick >= 5 && !w->stop) {
				last_tick = now_s();
				pthread_mutex_unlock(&w->mu);
				json_t *all = informer_list(w->deps, NULL);
				size_t i;
				json_t *d;
				json_array_foreach(all, i, d)
				{
					if (json_integer_value(api_get(d, "spec.minReadySeconds")) > 0 ||
					    json_integer_value(api_get(d, "status.updatedReplicas")) !=
						json_integer_value(api_get(d, "spec.replicas")))
						enqueue_obj(w, "deploy", d);
				}
				json_decref(all);
				pthread_mutex_lock(&w->mu);
			}
			continue;
		}
		char *key = xstrdup(json_object_iter_key(it));
		json_int_t n = json_integer_value(json_object_get(json_object_iter_value(it), "n"));
		int64_t added = json_integer_value(json_object_get(json_object_iter_value(it), "a"));
		json_object_del(w->queue, key);
		pthread_mutex_unlock(&w->mu);
		workq_metrics_got(w->wq, added);
		int rc = dispatch(w, key);
		workq_metrics_done(w->wq);
		since_trim++;
		pthread_mutex_lock(&w->mu);
		if (rc < 0 && n < 8 && !w->stop) {
			pthread_mutex_unlock(&w->mu);
			usleep(50000 * (useconds_t)(n + 1));
			pthread_mutex_lock(&w->mu);
			workq_metrics_retry(w->wq);
			if (!json_object_get(w->queue, key)) {
				json_object_set_new(
				    w->queue, key,
				    json_pack("{s:I, s:I}", "n", n + 1, "a", (json_int_t)clock_mono_ns()));
				workq_metrics_added(w->wq);
			}
		} else if (rc < 0) {
			log_warn("workloads: giving up on %s after %lld attempts", key, (long long)n + 1);
		}
		free(key);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int ctrl_workloads_start(const struct client_config *cfg, struct ctrl_workloads **out, char *err,
			 size_t errlen)
{
	struct ctrl_workloads *w = xcalloc(1, sizeof(*w));
	client_config_copy(&w->cfg, cfg);
	w->cl = client_new(&w->cfg, 30000);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->queue = json_object();
	w->wq = workq_metrics_get("workloads");
	w->expect = json_object();
	struct informer_handlers hp = {pod_add, pod_update, pod_delete, NULL};
	struct informer_handlers hrs = {rs_add, rs_update, rs_delete, NULL};
	struct informer_handlers hrc = {rc_add, rc_update, rc_delete, NULL};
	struct informer_handlers hd = {deploy_add, deploy_update, deploy_delete, NULL};
	struct informer_handlers hst = {sts_add, sts_update, sts_delete, NULL};
	struct informer_handlers hds = {ds_add, ds_update, ds_delete, NULL};
	struct informer_handlers hn = {on_node_add, on_node_update, on_node_changed, NULL};
	struct informer_handlers hns = {ns_changed, ns_update, NULL, NULL};
	struct informer_handlers hsa = {NULL, NULL, sa_delete, NULL};
	w->pods = informer_new(&w->cfg, "/api/v1/pods", &hp, w);
	w->rss = informer_new(&w->cfg, "/apis/apps/v1/replicasets", &hrs, w);
	w->rcs = informer_new(&w->cfg, "/api/v1/replicationcontrollers", &hrc, w);
	w->deps = informer_new(&w->cfg, "/apis/apps/v1/deployments", &hd, w);
	w->stss = informer_new(&w->cfg, "/apis/apps/v1/statefulsets", &hst, w);
	w->dss = informer_new(&w->cfg, "/apis/apps/v1/daemonsets", &hds, w);
	w->nodes = informer_new(&w->cfg, "/api/v1/nodes", &hn, w);
	w->nss = informer_new(&w->cfg, "/api/v1/namespaces", &hns, w);
	w->sas = informer_new(&w->cfg, "/api/v1/serviceaccounts", &hsa, w);
	struct informer_handlers hcr = {NULL, NULL, NULL, NULL};
	w->crs = informer_new(&w->cfg, "/apis/apps/v1/controllerrevisions", &hcr, w);
	struct informer_handlers hca = {ca_changed, ca_update, ca_changed, NULL};
	w->cas =
	    informer_new(&w->cfg, "/api/v1/configmaps?fieldSelector=metadata.name%3D" ROOT_CA_NAME, &hca, w);
	if (w->cfg.ca_pem && w->cfg.ca_pem_len)
		w->ca_pem = xstrndup(w->cfg.ca_pem, w->cfg.ca_pem_len);
	else if (w->cfg.ca_file && file_read(w->cfg.ca_file, 1 << 20, &w->ca_pem, NULL) < 0)
		log_warn("workloads: cannot read %s: no kube-root-ca.crt ConfigMaps", w->cfg.ca_file);
	struct informer *all[] = {w->pods,  w->rss, w->rcs, w->deps, w->stss, w->dss,
				  w->nodes, w->nss, w->sas, w->crs,  w->cas};
	size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++)
		informer_set_resync(all[i], INFORMER_RESYNC_CONTROLLER_MS, 1.0);
	for (size_t i = 0; i < n; i++)
		informer_start(all[i]);
	for (size_t i = 0; i < n; i++)
		if (!informer_wait_synced(all[i], 10000)) {
			snprintf(err, errlen, "workload controller informers did not sync within 10 s");
			ctrl_workloads_stop(w);
			return -ETIMEDOUT;
		}
	sweep_orphans(w);
	w->ready = true;
	pthread_create(&w->worker, NULL, work, w);
	*out = w;
	return 0;
}

void ctrl_workloads_stop(struct ctrl_workloads *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	bool had_worker = w->ready;
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	if (had_worker)
		pthread_join(w->worker, NULL);
	struct informer *all[] = {w->pods,  w->rss, w->rcs, w->deps, w->stss, w->dss,
				  w->nodes, w->nss, w->sas, w->crs,  w->cas};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		informer_stop(all[i]);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		informer_free(all[i]);
	client_free(w->cl);
	client_config_fini(&w->cfg);
	json_decref(w->queue);
	json_decref(w->expect);
	free(w->ca_pem);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
