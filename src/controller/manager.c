/* manager.c - informers, the work queue, and the I/O of the controllers (see manager.h).
 *
 * Queue keys name what to reconcile:
 *   "svc/<ns>/<name>"     Endpoints, EndpointSlices and LoadBalancer address of a Service
 *   "mirror/<ns>/<name>"  EndpointSlices mirrored from user-written Endpoints
 *   "node/<name>"         the pod CIDR of a Node
 * Each key also carries the time of the first change that queued it (the
 * endpoints.kubernetes.io/last-change-trigger-time annotation, which the network
 * programming latency is measured from). A failed reconcile (a write conflict) is queued
 * again after a short pause, at most 8 times in a row.
 *
 * The Service -> pods index makes a change cost what its own pods cost, not what the
 * namespace costs: a Service sync reads exactly the pods its selector matches, and a pod
 * event finds its Services without looking at the others. Four maps (JSON objects used
 * as hash tables and sets), changed together under ix_mu by the informer handlers:
 *
 *   ix_svc        "ns/svc" -> {"sel": spec.selector, "pods": {"ns/pod": true}}
 *   ix_pod        "ns/pod" -> {"labels": metadata.labels, "svcs": {"ns/svc": true}}
 *   ix_svc_label  "ns\1key\1value" -> {"ns/svc": true}, one per selector requirement
 *   ix_pod_label  "ns\1key\1value" -> {"ns/pod": true}, one per label
 *
 * A Service's selector is a map of equalities (api_selector_from_map), so matching it is
 * one lookup per requirement and the label maps give the candidates: a pod's Services
 * are among those selecting one of its labels, a Service's pods among those carrying its
 * rarest requirement. The index may trail the informer caches by one handler call: the
 * handler updates the index before it queues, so a sync that ran on a stale index is
 * followed by one that does not, and the reconcilers still check each pod against the
 * selector. Services are indexed whatever their type (as before: an ExternalName
 * Service's sync cleans up what it owns).
 */
#include "controller/manager.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/cidr.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/workq.h"
#include "base/mem.h"
#include "client/informer.h"
#include "controller/dnsep.h"
#include "controller/endpoints.h"
#include "controller/ipam.h"
#include "controller/mirror.h"
#include "controller/slices.h"

#define SLICE_CONTROLLER "endpointslice-controller.k8s.io"

struct ctrl_manager {
	struct ctrl_manager_opts o;
	struct client_config cfg;
	struct client *cl;
	struct informer *svcs, *pods, *nodes, *eps, *slices;
	struct cidr pools[8];
	size_t npools;
	struct cidr cluster[2];
	size_t ncluster;
	char *lb_class;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	json_t *queue; /* key -> {"t": trigger time, "n": attempts, "a": clock_mono_ns() when queued} */
	struct workq_metrics *wq; /* workqueue_* metrics, name "endpoints" (base/workq.h) */
	json_t *warned;		  /* Services told (by an Event) that no LB address is free */
	json_t *own;		  /* "<kind>/<ns>/<name>" -> resourceVersion of our last write of it */
	json_t *given; /* "<cidr|lb>/<what>" -> {uid, rv} of the write that gave it (see given_pending) */
	pthread_mutex_t ix_mu; /* the Service -> pods index (see the top of this file) */
	json_t *ix_svc, *ix_pod, *ix_svc_label, *ix_pod_label;
	bool stop, ready;
	pthread_t worker;
};

static void now_nano(char *buf, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

static void enqueue(struct ctrl_manager *m, const char *key)
{
	char t[64];
	now_nano(t, sizeof(t));
	pthread_mutex_lock(&m->mu);
	if (!json_object_get(m->queue, key)) {
		json_object_set_new(
		    m->queue, key,
		    json_pack("{s:s, s:i, s:I}", "t", t, "n", 0, "a", (json_int_t)clock_mono_ns()));
		workq_metrics_added(m->wq);
	}
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->mu);
}

static void enqueue_svc(struct ctrl_manager *m, const char *ns, const char *name)
{
	char *k = xasprintf("svc/%s/%s", ns, name);
	enqueue(m, k);
	free(k);
}

/* ---- informer handlers (informer threads) ---- */

static void ix_svc_set(struct ctrl_manager *m, const char *sk, const char *ns, const json_t *obj);

static void svc_changed(void *ud, const json_t *obj, bool deleted)
{
	struct ctrl_manager *m = ud;
	const char *ns = api_str(obj, "metadata.namespace") ?: "",
		   *name = api_str(obj, "metadata.name") ?: "";
	char *sk = xasprintf("%s/%s", ns, name);
	ix_svc_set(m, sk, ns, deleted ? NULL : obj);
	free(sk);
	enqueue_svc(m, ns, name);
	if (!strcmp(ns, CTRL_DNS_NAMESPACE) && !strcmp(name, CTRL_DNS_SERVICE))
		enqueue(m, "dns/");
	char *k = xasprintf("mirror/%s/%s", ns, name);
	enqueue(m, k);
	free(k);
}
/* A LoadBalancer address was given back: every Service still pending may take it. */
static void lb_released(struct ctrl_manager *m)
{
	json_t *all = informer_list(m->svcs, NULL);
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s)
	{
		if (ctrl_lb_wants(s, m->lb_class) &&
		    json_array_size(api_get(s, "status.loadBalancer.ingress")) == 0)
			enqueue_svc(m, api_str(s, "metadata.namespace") ?: "",
				    api_str(s, "metadata.name") ?: "");
	}
	json_decref(all);
}

static void svc_add(void *ud, const json_t *o)
{
	svc_changed(ud, o, false);
}
static void svc_update(void *ud, const json_t *old, const json_t *o)
{
	svc_changed(ud, o, false);
	if (json_array_size(api_get(old, "status.loadBalancer.ingress")) > 0 &&
	    json_array_size(api_get(o, "status.loadBalancer.ingress")) == 0)
		lb_released(ud);
}
static void svc_delete(void *ud, const json_t *o)
{
	svc_changed(ud, o, true);
	if (json_array_size(api_get(o, "status.loadBalancer.ingress")) > 0)
		lb_released(ud);
}

/* ---- the Service -> pods index (informer threads write, the worker reads) ---- */

static char *label_key(const char *ns, const char *k, const json_t *v)
{
	/* Non-string values compare as "" on both sides, as api_selector_from_map does. */
	return xasprintf("%s\x01%s\x01%s", ns, k, json_is_string(v) ? json_string_value(v) : "");
}

static void set_add(json_t *map, const char *bucket, const char *member)
{
	json_t *b = json_object_get(map, bucket);
	if (!b) {
		b = json_object();
		json_object_set_new(map, bucket, b);
	}
	json_object_set_new(b, member, json_true());
}

static void set_del(json_t *map, const char *bucket, const char *member)
{
	json_t *b = json_object_get(map, bucket);
	json_object_del(b, member);
	if (b && json_object_size(b) == 0)
		json_object_del(map, bucket);
}

/* api_label_selector_match(api_selector_from_map(sel), labels) without building it. */
static bool sel_match(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v;
	if (json_object_size(sel) == 0)
		return false;
	json_object_foreach((json_t *)sel, k, v)
	{
		json_t *l = json_is_object(labels) ? json_object_get(labels, k) : NULL;
		if (!l || strcmp(json_is_string(l) ? json_string_value(l) : "",
				 json_is_string(v) ? json_string_value(v) : ""))
			return false;
	}
	return true;
}

static bool labels_equal(const json_t *a, const json_t *b)
{
	size_t na = json_is_object(a) ? json_object_size(a) : 0,
	       nb = json_is_object(b) ? json_object_size(b) : 0;
	if (na == 0 || nb == 0)
		return na == nb;
	return json_equal(a, b);
}

/* Splits "ns/name" at its first '/' into ns (copied into buf). */
static const char *key_ns(const char *key, char *buf, size_t len)
{
	const char *slash = strchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(buf, key, n);
	buf[n] = 0;
	return buf;
}

/* Unlinks a pod from the index; adds the Services it was in to hit. Caller holds ix_mu. */
static void ix_pod_del(struct ctrl_manager *m, const char *pk, json_t *hit)
{
	json_t *e = json_object_get(m->ix_pod, pk), *v;
	const char *k;
	char ns[256];
	if (!e)
		return;
	key_ns(pk, ns, sizeof(ns));
	json_object_foreach(json_object_get(e, "svcs"), k, v)
	{
		json_object_del(json_object_get(json_object_get(m->ix_svc, k), "pods"), pk);
		if (hit)
			json_object_set_new(hit, k, json_true());
	}
	json_object_foreach(json_object_get(e, "labels"), k, v)
	{
		char *lk = label_key(ns, k, v);
		set_del(m->ix_pod_label, lk, pk);
		free(lk);
	}
	json_object_del(m->ix_pod, pk);
}

/* Links a pod with its labels and the Services selecting it; adds those Services to hit.
 * Caller holds ix_mu. */
static void ix_pod_add(struct ctrl_manager *m, const char *pk, const char *ns, json_t *labels, json_t *hit)
{
	json_t *svcs = json_object(), *v, *cand, *x;
	const char *k, *sk;
	json_object_foreach(labels, k, v)
	{
		char *lk = label_key(ns, k, v);
		set_add(m->ix_pod_label, lk, pk);
		json_object_foreach(json_object_get(m->ix_svc_label, lk), sk, x)
		{
			if (json_object_get(svcs, sk))
				continue;
			cand = json_object_get(m->ix_svc, sk);
			if (sel_match(json_object_get(cand, "sel"), labels)) {
				json_object_set_new(svcs, sk, json_true());
				json_object_set_new(json_object_get(cand, "pods"), pk, json_true());
				json_object_set_new(hit, sk, json_true());
			}
		}
		free(lk);
	}
	json_object_set_new(
	    m->ix_pod, pk,
	    json_pack("{s:O, s:o}", "labels", json_is_object(labels) ? labels : json_null(), "svcs", svcs));
}

/* Unlinks a Service from the index. Caller holds ix_mu. */
static void ix_svc_del(struct ctrl_manager *m, const char *sk)
{
	json_t *e = json_object_get(m->ix_svc, sk), *v;
	const char *k;
	char ns[256];
	if (!e)
		return;
	key_ns(sk, ns, sizeof(ns));
	json_object_foreach(json_object_get(e, "pods"), k, v)
	    json_object_del(json_object_get(json_object_get(m->ix_pod, k), "svcs"), sk);
	json_object_foreach(json_object_get(e, "sel"), k, v)
	{
		char *lk = label_key(ns, k, v);
		set_del(m->ix_svc_label, lk, sk);
		free(lk);
	}
	json_object_del(m->ix_svc, sk);
}

/* Links a Service with a non-empty selector to the pods it selects. Caller holds ix_mu. */
static void ix_svc_add(struct ctrl_manager *m, const char *sk, const char *ns, json_t *sel)
{
	json_t *pods = json_object(), *v, *best = NULL, *x;
	const char *k, *pk;
	json_object_foreach(sel, k, v)
	{
		char *lk = label_key(ns, k, v);
		json_t *b = json_object_get(m->ix_pod_label, lk);
		set_add(m->ix_svc_label, lk, sk);
		free(lk);
		if (!b)
			best = json_null(); /* no pod carries this label: none matches */
		else if (!best || (json_is_object(best) && json_object_size(b) < json_object_size(best)))
			best = b;
	}
	json_object_foreach(json_is_object(best) ? best : NULL, pk, x)
	{
		json_t *pe = json_object_get(m->ix_pod, pk);
		if (sel_match(sel, json_object_get(pe, "labels"))) {
			json_object_set_new(pods, pk, json_true());
			json_object_set_new(json_object_get(pe, "svcs"), sk, json_true());
		}
	}
	json_object_set_new(m->ix_svc, sk, json_pack("{s:O, s:o}", "sel", sel, "pods", pods));
}

/* Follows a Service add, update (obj) or delete (obj NULL). */
static void ix_svc_set(struct ctrl_manager *m, const char *sk, const char *ns, const json_t *obj)
{
	json_t *sel = obj ? api_get(obj, "spec.selector") : NULL;
	if (!json_is_object(sel) || json_object_size(sel) == 0)
		sel = NULL;
	pthread_mutex_lock(&m->ix_mu);
	json_t *e = json_object_get(m->ix_svc, sk);
	if (!e || !sel || !json_equal(json_object_get(e, "sel"), sel)) {
		ix_svc_del(m, sk);
		if (sel)
			ix_svc_add(m, sk, ns, sel);
	}
	pthread_mutex_unlock(&m->ix_mu);
}

/* The keys of the pods the Service's selector matches, as a new array of strings. */
static json_t *ix_svc_pods(struct ctrl_manager *m, const char *ns, const char *name)
{
	char *sk = xasprintf("%s/%s", ns, name);
	json_t *out = json_array(), *v;
	const char *k;
	pthread_mutex_lock(&m->ix_mu);
	json_object_foreach(json_object_get(json_object_get(m->ix_svc, sk), "pods"), k, v)
	    json_array_append_new(out, json_string(k));
	pthread_mutex_unlock(&m->ix_mu);
	free(sk);
	return out;
}

/* ---- pod handlers ---- */

static bool opt_equal(const json_t *a, const json_t *b)
{
	return a && b ? json_equal(a, b) : a == b;
}

/* The container fields the reconcilers read: each container's ports, and the restart
 * policy of init containers (restartable ones lend their ports). */
static bool containers_equal(const json_t *a, const json_t *b, bool init)
{
	size_t n = json_array_size(a), i;
	if (n != json_array_size(b))
		return false;
	for (i = 0; i < n; i++) {
		const json_t *ca = json_array_get(a, i), *cb = json_array_get(b, i);
		if (!opt_equal(json_object_get(ca, "ports"), json_object_get(cb, "ports")) ||
		    (init &&
		     !opt_equal(json_object_get(ca, "restartPolicy"), json_object_get(cb, "restartPolicy"))))
			return false;
	}
	return true;
}

/* True when old and pod differ in a field an endpoints or slice reconcile reads; other
 * changes (most status writes: container states, other conditions, timestamps) queue
 * nothing. */
static bool pod_relevant_change(const json_t *old, const json_t *pod)
{
	static const char *const paths[] = {
	    "metadata.uid",  "metadata.deletionTimestamp",
	    "status.phase",  "status.podIP",
	    "status.podIPs", "spec.nodeName",
	    "spec.hostname", "spec.subdomain",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!opt_equal(api_get(old, paths[i]), api_get(pod, paths[i])))
			return true;
	}
	return !labels_equal(api_get(old, "metadata.labels"), api_get(pod, "metadata.labels")) ||
	       !opt_equal(json_object_get(api_condition(old, "Ready"), "status"),
			  json_object_get(api_condition(pod, "Ready"), "status")) ||
	       !containers_equal(api_get(old, "spec.containers"), api_get(pod, "spec.containers"), false) ||
	       !containers_equal(api_get(old, "spec.initContainers"), api_get(pod, "spec.initContainers"),
				 true);
}

/* Updates the index for the pod (NULL: deleted) and queues every Service that selected it
 * before or selects it now. */
static void pod_changed(struct ctrl_manager *m, const json_t *pod, bool deleted)
{
	const char *ns = api_str(pod, "metadata.namespace");
	if (!ns || !*ns)
		return;
	char *pk = informer_key(pod);
	json_t *hit = json_object(), *labels = api_get(pod, "metadata.labels"), *v;
	pthread_mutex_lock(&m->ix_mu);
	json_t *e = json_object_get(m->ix_pod, pk);
	if (e && !deleted && labels_equal(json_object_get(e, "labels"), labels)) {
		/* Same labels, same Services. */
		const char *k;
		json_object_foreach(json_object_get(e, "svcs"), k, v)
		    json_object_set_new(hit, k, json_true());
	} else {
		ix_pod_del(m, pk, hit);
		if (!deleted)
			ix_pod_add(m, pk, ns, labels, hit);
	}
	pthread_mutex_unlock(&m->ix_mu);
	if (m->ready) {
		const char *sk;
		json_object_foreach(hit, sk, v)
		{
			char *k = xasprintf("svc/%s", sk);
			enqueue(m, k);
			free(k);
		}
	}
	json_decref(hit);
	free(pk);
}
static void pod_add(void *ud, const json_t *o)
{
	pod_changed(ud, o, false);
}
static void pod_update(void *ud, const json_t *old, const json_t *o)
{
	if (pod_relevant_change(old, o))
		pod_changed(ud, o, false);
}
static void pod_delete(void *ud, const json_t *o)
{
	pod_changed(ud, o, true);
}

static void on_node_changed(void *ud, const json_t *o)
{
	char *k = xasprintf("node/%s", api_str(o, "metadata.name") ?: "");
	enqueue(ud, k);
	free(k);
	enqueue(ud, "dns/"); /* the kube-dns Endpoints list the Ready nodes */
}
static void on_node_add(void *ud, const json_t *o)
{
	on_node_changed(ud, o);
}
static void on_node_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	on_node_changed(ud, o);
}

/* True (and forgotten) when obj is exactly the version this controller wrote last: its
 * own write needs no reconcile (Kubernetes' endpoint slice tracker does the same). */
static bool own_write(struct ctrl_manager *m, const char *kind, const json_t *obj)
{
	char *k = xasprintf("%s/%s/%s", kind, api_str(obj, "metadata.namespace") ?: "",
			    api_str(obj, "metadata.name") ?: "");
	pthread_mutex_lock(&m->mu);
	const char *rv = json_string_value(json_object_get(m->own, k));
	bool mine = rv && !strcmp(rv, api_str(obj, "metadata.resourceVersion") ?: "");
	if (mine)
		json_object_del(m->own, k);
	pthread_mutex_unlock(&m->mu);
	free(k);
	return mine;
}

static void ep_changed(void *ud, const json_t *o)
{
	const char *ns = api_str(o, "metadata.namespace") ?: "", *name = api_str(o, "metadata.name") ?: "";
	bool kube_dns = !strcmp(ns, CTRL_DNS_NAMESPACE) && !strcmp(name, CTRL_DNS_SERVICE);
	/* Our own write needs no reconcile, except kube-dns's, which is mirrored into its slice
	 * once the informer has it. */
	bool own = own_write(ud, "Endpoints", o);
	if (own && !kube_dns)
		return;
	char *k = xasprintf("mirror/%s/%s", ns, name);
	enqueue(ud, k);
	free(k);
	if (kube_dns && !own)
		enqueue(ud, "dns/"); /* repair someone else's edit */
}
static void ep_add(void *ud, const json_t *o)
{
	ep_changed(ud, o);
}
static void ep_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	ep_changed(ud, o);
}
static void ep_delete(void *ud, const json_t *o)
{
	ep_changed(ud, o);
}

/* A slice changed by someone else: reconcile its Service so drift is repaired. */
static void slice_changed(void *ud, const json_t *o)
{
	struct ctrl_manager *m = ud;
	if (!m->ready || own_write(m, "EndpointSlice", o))
		return;
	json_t *labels = api_get(o, "metadata.labels");
	const char *svc = json_string_value(json_object_get(labels, "kubernetes.io/service-name"));
	const char *by = json_string_value(json_object_get(labels, "endpointslice.kubernetes.io/managed-by"));
	if (!svc || !by)
		return;
	const char *ns = api_str(o, "metadata.namespace") ?: "";
	if (!strcmp(by, SLICE_CONTROLLER)) {
		enqueue_svc(m, ns, svc);
	} else if (!strcmp(by, CTRL_MIRROR_CONTROLLER)) {
		char *k = xasprintf("mirror/%s/%s", ns, svc);
		enqueue(m, k);
		free(k);
	}
}
static void slice_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	slice_changed(ud, o);
}

/* ---- writes ---- */

/* Sends one write; returns 0 on 2xx, -ESTALE on 409, -ENOENT on 404, else -EIO. On 0 and
 * when answer is not NULL, *answer is the body the server sent (the caller frees it). */
static int write_obj_answer(struct ctrl_manager *m, const char *method, const char *path, const json_t *body,
			    char **answer)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	char *resp = NULL, err[512] = "";
	int rc = client_request(m->cl, method, path, b ? "application/json" : NULL, b, NULL, &status, &resp,
				NULL, err, sizeof(err));
	free(b);
	if (rc == 0 && status >= 200 && status < 300) {
		/* Remember the version we wrote, so its watch event does not queue us again. */
		json_t *r = resp ? json_loads(resp, 0, NULL) : NULL;
		const char *kind = api_str(r, "kind"), *rv = api_str(r, "metadata.resourceVersion");
		if (kind && rv && strcmp(method, "DELETE") != 0) {
			char *k = xasprintf("%s/%s/%s", kind, api_str(r, "metadata.namespace") ?: "",
					    api_str(r, "metadata.name") ?: "");
			pthread_mutex_lock(&m->mu);
			if (json_object_size(m->own) > 100000)
				json_object_clear(m->own);
			json_object_set_new(m->own, k, json_string(rv));
			pthread_mutex_unlock(&m->mu);
			free(k);
		}
		json_decref(r);
		rc = 0;
	} else if (rc == 0 && status == 409)
		rc = -ESTALE;
	else if (rc == 0 && status == 404)
		rc = -ENOENT;
	else {
		log_warn("controller: %s %s: %ld %s", method, path, status, rc < 0 ? err : resp ? resp : "");
		rc = rc < 0 ? rc : -EIO;
	}
	if (rc == 0 && answer) {
		*answer = resp;
		resp = NULL;
	}
	free(resp);
	return rc;
}

static int write_obj(struct ctrl_manager *m, const char *method, const char *path, const json_t *body)
{
	return write_obj_answer(m, method, path, body, NULL);
}

static int apply_plan(struct ctrl_manager *m, const char *ns, struct ctrl_slice_plan *p)
{
	int rc = 0;
	size_t i;
	json_t *s;
	char *coll = xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
	json_array_foreach(p->del, i, s)
	{
		char *path = xasprintf("%s/%s", coll, api_str(s, "metadata.name") ?: "");
		int r = write_obj(m, "DELETE", path, NULL);
		free(path);
		if (r < 0 && r != -ENOENT)
			rc = r;
	}
	json_array_foreach(p->update, i, s)
	{
		char *path = xasprintf("%s/%s", coll, api_str(s, "metadata.name") ?: "");
		int r = write_obj(m, "PUT", path, s);
		free(path);
		if (r < 0)
			rc = r;
	}
	json_array_foreach(p->create, i, s)
	{
		int r = write_obj(m, "POST", coll, s);
		if (r < 0)
			rc = r;
	}
	free(coll);
	return rc;
}

/* The slices informer's index value: "ns/service" from the kubernetes.io/service-name
 * label, so a sync lists only its own Service's slices. */
static char *slice_index(const json_t *s)
{
	const char *svc =
	    json_string_value(json_object_get(api_get(s, "metadata.labels"), "kubernetes.io/service-name"));
	return svc ? xasprintf("%s/%s", api_str(s, "metadata.namespace") ?: "", svc) : NULL;
}

/* The slices in ns labelled for service svc and managed by `by`. */
static json_t *slices_of(struct ctrl_manager *m, const char *ns, const char *svc, const char *by)
{
	char *v = xasprintf("%s/%s", ns, svc);
	json_t *all = informer_list_index(m->slices, v), *out = json_array();
	size_t i;
	json_t *s;
	free(v);
	json_array_foreach(all, i, s)
	{
		json_t *l = api_get(s, "metadata.labels");
		if (!strcmp(api_str(s, "metadata.namespace") ?: "", ns) &&
		    !strcmp(json_string_value(json_object_get(l, "kubernetes.io/service-name")) ?: "", svc) &&
		    !strcmp(json_string_value(json_object_get(l, "endpointslice.kubernetes.io/managed-by"))
				?: "",
			    by))
			json_array_append(out, s);
	}
	json_decref(all);
	return out;
}

/* The Nodes the pods run on (each once), as a new array: what the slice reconciler looks
 * zones up in, without listing every Node of the cluster. */
static json_t *nodes_of(struct ctrl_manager *m, const json_t *pods)
{
	json_t *seen = json_object(), *out = json_array(), *p;
	size_t i;
	json_array_foreach(pods, i, p)
	{
		const char *n = api_str(p, "spec.nodeName");
		if (!n || !*n || json_object_get(seen, n))
			continue;
		json_object_set_new(seen, n, json_true());
		json_t *node = informer_get(m->nodes, NULL, n);
		if (node)
			json_array_append_new(out, node);
	}
	json_decref(seen);
	return out;
}

/* Addresses and ranges we gave moments ago, which the informer may not show yet: two
 * nodes registering together (or two LoadBalancer Services made together) must not both
 * get one while the informer has yet to show the first write. An entry counts while the
 * owner (by uid) in the caller's informer snapshot is older than the version our write
 * made; from then on the snapshot answers for it (a later release shows there), and once
 * the owner is gone the entry is free again. resp is the write's answer (the object). */
static void given_record(struct ctrl_manager *m, const char *kind, const char *what, const char *resp)
{
	json_t *o = resp ? json_loads(resp, 0, NULL) : NULL;
	const char *rv = api_str(o, "metadata.resourceVersion");
	if (rv) {
		char *key = xasprintf("%s/%s", kind, what);
		json_object_set_new(m->given, key,
				    json_pack("{s:s?, s:s}", "uid", api_str(o, "metadata.uid"), "rv", rv));
		free(key);
	}
	json_decref(o);
}

static bool given_pending(struct ctrl_manager *m, const json_t *snapshot, const char *kind, const char *what,
			  const char *except_uid)
{
	char *key = xasprintf("%s/%s", kind, what);
	json_t *g = json_object_get(m->given, key);
	const char *uid = api_str(g, "uid");
	bool pending = false;
	if (g && uid && !(except_uid && !strcmp(uid, except_uid))) {
		/* The owner as the caller's snapshot has it (the live informer may be newer). */
		const json_t *owner = api_array_find(snapshot, "metadata.uid", uid, NULL);
		pending = owner && strtoull(api_str(owner, "metadata.resourceVersion") ?: "0", NULL, 10) <
				       strtoull(api_str(g, "rv"), NULL, 10);
		if (!pending)
			json_object_del(m->given, key);
	}
	free(key);
	return pending;
}

struct lb_used {
	struct ctrl_manager *m;
	json_t *svcs;
	const json_t *self;
};

static bool lb_ip_used(const struct ip_addr *ip, void *ud)
{
	struct lb_used *u = ud;
	char txt[IP_STRLEN];
	ip_format(ip, txt, sizeof(txt));
	size_t i, j;
	json_t *s, *ing;
	json_array_foreach(u->svcs, i, s)
	{
		if (!strcmp(api_str(s, "metadata.uid") ?: "", api_str(u->self, "metadata.uid") ?: "x"))
			continue;
		json_array_foreach(api_get(s, "status.loadBalancer.ingress"), j, ing)
		{
			if (!strcmp(api_str(ing, "ip") ?: "", txt))
				return true;
		}
	}
	return given_pending(u->m, u->svcs, "lb", txt, api_str(u->self, "metadata.uid"));
}

static void event(struct ctrl_manager *m, const json_t *svc, const char *type, const char *reason,
		  const char *msg)
{
	json_t *ev = api_event_new(svc, "Service", NULL, "svcplane-lb-controller", NULL, type, reason, msg);
	char *path = xasprintf("/api/v1/namespaces/%s/events", api_str(ev, "metadata.namespace"));
	write_obj(m, "POST", path, ev);
	free(path);
	json_decref(ev);
}

static int sync_lb(struct ctrl_manager *m, const json_t *svc, const char *key)
{
	if (!ctrl_lb_wants(svc, m->lb_class))
		return 0;
	json_t *ing = api_get(svc, "status.loadBalancer.ingress");
	if (json_array_size(ing) > 0)
		return 0;
	const char *requested = api_str(svc, "spec.loadBalancerIP");
	struct ip_addr ip;
	char err[256] = "";
	int rc;
	if (m->npools == 0) {
		rc = ERR_FULL;
		snprintf(
		    err, sizeof(err),
		    "no LoadBalancer address pool is configured (svcplane server --loadbalancer-ip-pool)");
	} else {
		struct lb_used u = {m, informer_list(m->svcs, NULL), svc};
		rc = ctrl_lb_pick(m->pools, m->npools, lb_ip_used, &u, requested, &ip, err, sizeof(err));
		json_decref(u.svcs);
		if (rc == ERR_FULL)
			snprintf(err, sizeof(err), "no address left in the LoadBalancer pools");
		else if (rc == -EEXIST)
			snprintf(err, sizeof(err), "requested loadBalancerIP %s is already in use",
				 requested);
	}
	if (rc < 0) {
		pthread_mutex_lock(&m->mu);
		bool told = json_object_get(m->warned, key) != NULL;
		if (!told)
			json_object_set_new(m->warned, key, json_true());
		pthread_mutex_unlock(&m->mu);
		if (!told) {
			log_info("controller: %s stays pending: %s", key, err);
			event(m, svc, "Warning", "AllocationFailed", err);
		}
		return 0;
	}
	pthread_mutex_lock(&m->mu);
	json_object_del(m->warned, key);
	pthread_mutex_unlock(&m->mu);
	char txt[IP_STRLEN];
	json_t *upd = json_deep_copy(svc);
	json_object_set_new(api_obj(upd, "status"), "loadBalancer",
			    json_pack("{s:[{s:s, s:s}]}", "ingress", "ip", ip_format(&ip, txt, sizeof(txt)),
				      "ipMode", "VIP"));
	char *path = xasprintf("/api/v1/namespaces/%s/services/%s/status", api_str(svc, "metadata.namespace"),
			       api_str(svc, "metadata.name"));
	char *answer = NULL;
	rc = write_obj_answer(m, "PUT", path, upd, &answer);
	free(path);
	json_decref(upd);
	if (rc == 0) {
		given_record(m, "lb", txt, answer);
		free(answer);
		event(m, svc, "Normal", "IPAllocated", txt);
		log_info("controller: %s gets LoadBalancer IP %s", key, txt);
	}
	return rc;
}

/* Writes desired (may be NULL: nothing to do) over cur (NULL: create) unless equal. */
static int write_endpoints(struct ctrl_manager *m, const char *ns, json_t *desired, const json_t *cur)
{
	if (!desired || (cur && ctrl_endpoints_equal(desired, cur)))
		return 0;
	json_object_set_new(desired, "apiVersion", json_string("v1"));
	json_object_set_new(desired, "kind", json_string("Endpoints"));
	char *coll = xasprintf("/api/v1/namespaces/%s/endpoints", ns);
	int r;
	if (cur) {
		json_object_set_new(api_obj(desired, "metadata"), "resourceVersion",
				    json_string(api_str(cur, "metadata.resourceVersion") ?: ""));
		char *path = xasprintf("%s/%s", coll, api_str(cur, "metadata.name") ?: "");
		r = write_obj(m, "PUT", path, desired);
		free(path);
	} else {
		r = write_obj(m, "POST", coll, desired);
	}
	free(coll);
	return r;
}

static int sync_svc(struct ctrl_manager *m, const char *ns, const char *name, const char *trigger)
{
	char key[600];
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	json_t *svc = informer_get(m->svcs, ns, name);
	json_t *cur_ep = informer_get(m->eps, ns, name);
	char *ep_path = xasprintf("/api/v1/namespaces/%s/endpoints/%s", ns, name);
	int rc = 0;
	bool wants = svc && json_object_size(api_get(svc, "spec.selector")) > 0 &&
		     strcmp(api_str(svc, "spec.type") ?: "", "ExternalName") != 0;
	if (!svc) {
		/* Deleted: its Endpoints and slices go too (Kubernetes: controller + GC). */
		if (cur_ep)
			write_obj(m, "DELETE", ep_path, NULL);
		json_t *own = slices_of(m, ns, name, SLICE_CONTROLLER);
		struct ctrl_slice_plan p = {json_array(), json_array(), own};
		rc = apply_plan(m, ns, &p);
		ctrl_slice_plan_fini(&p);
		goto out;
	}
	if (wants) {
		json_t *keys = ix_svc_pods(m, ns, name);
		json_t *pods = informer_get_many(m->pods, keys);
		json_decref(keys);
		/* Slices first: they are what the data plane and DNS read. */
		json_t *nodes = nodes_of(m, pods);
		json_t *existing = slices_of(m, ns, name, SLICE_CONTROLLER);
		struct ctrl_slice_plan p = {0};
		ctrl_slices_reconcile(svc, pods, nodes, existing, m->o.max_endpoints_per_slice, trigger, &p);
		rc = apply_plan(m, ns, &p);
		ctrl_slice_plan_fini(&p);
		json_decref(existing);
		json_decref(nodes);
		json_t *desired = ctrl_endpoints_desired(svc, pods, cur_ep, trigger);
		int r = write_endpoints(m, ns, desired, cur_ep);
		if (r < 0)
			rc = r;
		json_decref(desired);
		json_decref(pods);
	} else {
		/* No selector (or ExternalName): the endpoints controllers own nothing. Slices this
		 * controller made earlier (the selector was removed) are deleted. */
		json_t *own = slices_of(m, ns, name, SLICE_CONTROLLER);
		if (json_array_size(own)) {
			struct ctrl_slice_plan p = {json_array(), json_array(), json_incref(own)};
			rc = apply_plan(m, ns, &p);
			ctrl_slice_plan_fini(&p);
		}
		json_decref(own);
	}
	int r = sync_lb(m, svc, key);
	if (r < 0)
		rc = r;
out:
	free(ep_path);
	json_decref(cur_ep);
	json_decref(svc);
	return rc;
}

/* kube-dns: its Endpoints are the Ready nodes (controller/dnsep.h). */
static int sync_dns(struct ctrl_manager *m)
{
	json_t *svc = informer_get(m->svcs, CTRL_DNS_NAMESPACE, CTRL_DNS_SERVICE);
	json_t *cur = informer_get(m->eps, CTRL_DNS_NAMESPACE, CTRL_DNS_SERVICE);
	json_t *nodes = informer_list(m->nodes, NULL);
	json_t *desired = ctrl_dns_endpoints_desired(svc, nodes, cur);
	int rc = write_endpoints(m, CTRL_DNS_NAMESPACE, desired, cur);
	json_decref(desired);
	json_decref(nodes);
	json_decref(cur);
	json_decref(svc);
	return rc;
}

static int sync_mirror(struct ctrl_manager *m, const char *ns, const char *name)
{
	json_t *svc = informer_get(m->svcs, ns, name);
	json_t *ep = informer_get(m->eps, ns, name);
	json_t *existing = slices_of(m, ns, name, CTRL_MIRROR_CONTROLLER);
	struct ctrl_slice_plan p = {0};
	ctrl_mirror_reconcile(ep, svc, existing,
			      0 /* per subset: 1000, as --mirroring-max-endpoints-per-subset */, &p);
	int rc = apply_plan(m, ns, &p);
	ctrl_slice_plan_fini(&p);
	json_decref(existing);
	json_decref(ep);
	json_decref(svc);
	return rc;
}

struct cidr_used {
	struct ctrl_manager *m;
	json_t *nodes;
};

static bool cidr_used(const struct cidr *c, void *ud)
{
	struct cidr_used *u = ud;
	char txt[CIDR_STRLEN];
	cidr_format(c, txt, sizeof(txt));
	size_t i, j;
	json_t *n, *v;
	json_array_foreach(u->nodes, i, n)
	{
		json_array_foreach(api_get(n, "spec.podCIDRs"), j, v)
		{
			if (!strcmp(json_string_value(v) ?: "", txt))
				return true;
		}
		if (!strcmp(api_str(n, "spec.podCIDR") ?: "", txt))
			return true;
	}
	return given_pending(u->m, u->nodes, "cidr", txt, NULL);
}

static int sync_node(struct ctrl_manager *m, const char *name)
{
	if (!m->ncluster)
		return 0;
	json_t *node = informer_get(m->nodes, NULL, name);
	if (!node)
		return 0;
	const char *have = api_str(node, "spec.podCIDR");
	if (have && *have) {
		json_decref(node);
		return 0;
	}
	struct cidr_used u = {m, informer_list(m->nodes, NULL)};
	json_t *cidrs = json_array();
	int rc = 0;
	for (size_t i = 0; i < m->ncluster; i++) {
		struct cidr out;
		int mask = m->cluster[i].net.family == 4 ? m->o.node_mask4 : m->o.node_mask6;
		rc = ctrl_podcidr_pick(&m->cluster[i], mask, cidr_used, &u, &out);
		if (rc < 0) {
			log_warn("controller: no pod CIDR left for node %s: %s", name, err_str(rc));
			break;
		}
		char txt[CIDR_STRLEN];
		json_array_append_new(cidrs, json_string(cidr_format(&out, txt, sizeof(txt))));
	}
	if (rc == 0) {
		json_t *patch = json_pack("{s:{s:O, s:O}}", "spec", "podCIDR", json_array_get(cidrs, 0),
					  "podCIDRs", cidrs);
		char *path = xasprintf("/api/v1/nodes/%s", name);
		char *b = json_dumps(patch, JSON_COMPACT);
		long status = 0;
		char *resp = NULL, err[256];
		rc = client_request(m->cl, "PATCH", path, "application/merge-patch+json", b, NULL, &status,
				    &resp, NULL, err, sizeof(err));
		if (rc == 0 && status != 200)
			rc = status == 409 ? -ESTALE : -EIO;
		if (rc == 0) {
			log_info("controller: node %s gets pod CIDR %s", name,
				 json_string_value(json_array_get(cidrs, 0)));
			size_t k;
			json_t *c;
			json_array_foreach(cidrs, k, c) given_record(m, "cidr", json_string_value(c), resp);
		}
		free(resp);
		free(b);
		free(path);
		json_decref(patch);
	}
	json_decref(cidrs);
	json_decref(u.nodes);
	json_decref(node);
	return rc;
}

static void *work(void *arg)
{
	struct ctrl_manager *m = arg;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		void *it = json_object_iter(m->queue);
		if (!it) {
			pthread_cond_wait(&m->cond, &m->mu);
			continue;
		}
		char *key = xstrdup(json_object_iter_key(it));
		json_t *meta = json_incref(json_object_iter_value(it));
		json_object_del(m->queue, key);
		pthread_mutex_unlock(&m->mu);
		workq_metrics_got(m->wq, json_integer_value(json_object_get(meta, "a")));
		const char *trigger = api_str(meta, "t");
		int rc = 0;
		char *a = strchr(key, '/'), *b = a ? strchr(a + 1, '/') : NULL;
		if (!strncmp(key, "svc/", 4) && b) {
			*b = 0;
			rc = sync_svc(m, a + 1, b + 1, trigger);
			*b = '/';
		} else if (!strncmp(key, "mirror/", 7) && b) {
			*b = 0;
			rc = sync_mirror(m, a + 1, b + 1);
			*b = '/';
		} else if (!strncmp(key, "node/", 5)) {
			rc = sync_node(m, key + 5);
		} else if (!strcmp(key, "dns/")) {
			rc = sync_dns(m);
		}
		workq_metrics_done(m->wq);
		pthread_mutex_lock(&m->mu);
		json_int_t n = json_integer_value(json_object_get(meta, "n"));
		if (rc < 0 && n < 8 && !m->stop) {
			/* Retry after the informers have caught up with whatever we raced. */
			pthread_mutex_unlock(&m->mu);
			usleep(20000 * (useconds_t)(n + 1));
			pthread_mutex_lock(&m->mu);
			workq_metrics_retry(m->wq);
			if (!json_object_get(m->queue, key)) {
				json_object_set_new(m->queue, key,
						    json_pack("{s:s, s:I, s:I}", "t", trigger, "n", n + 1,
							      "a", (json_int_t)clock_mono_ns()));
				workq_metrics_added(m->wq);
			}
		} else if (rc < 0) {
			log_warn("controller: giving up on %s after %lld attempts", key, (long long)n + 1);
		}
		json_decref(meta);
		free(key);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static int parse_cidrs(const char *s, struct cidr *out, size_t max, size_t *n, const char *flag, char *err,
		       size_t errlen)
{
	*n = 0;
	if (!s || !*s)
		return 0;
	char *copy = xstrdup(s), *save = NULL;
	int rc = 0;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char e[200];
		if (*n == max) {
			snprintf(err, errlen, "%s: at most %zu CIDRs", flag, max);
			rc = -EINVAL;
			break;
		}
		if (cidr_parse(p, &out[*n], e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s: %s", flag, e);
			rc = -EINVAL;
			break;
		}
		(*n)++;
	}
	free(copy);
	return rc;
}

int ctrl_manager_start(const struct ctrl_manager_opts *o, struct ctrl_manager **out, char *err, size_t errlen)
{
	struct ctrl_manager *m = xcalloc(1, sizeof(*m));
	m->o = *o;
	if (m->o.max_endpoints_per_slice <= 0)
		m->o.max_endpoints_per_slice = 100;
	if (m->o.max_endpoints_per_slice > 1000) {
		snprintf(err, errlen, "--max-endpoints-per-slice must be between 1 and 1000");
		free(m);
		return -EINVAL;
	}
	if (!m->o.node_mask4)
		m->o.node_mask4 = 24;
	if (!m->o.node_mask6)
		m->o.node_mask6 = 64;
	if (parse_cidrs(o->lb_pools, m->pools, 8, &m->npools, "--loadbalancer-ip-pool", err, errlen) < 0 ||
	    parse_cidrs(o->cluster_cidr, m->cluster, 2, &m->ncluster, "--cluster-cidr", err, errlen) < 0) {
		free(m);
		return -EINVAL;
	}
	m->lb_class = o->lb_class ? xstrdup(o->lb_class) : NULL;
	client_config_copy(&m->cfg, o->cfg);
	m->cl = client_new(&m->cfg, 30000);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->queue = json_object();
	m->wq = workq_metrics_get("endpoints");
	m->warned = json_object();
	m->own = json_object();
	m->given = json_object();
	pthread_mutex_init(&m->ix_mu, NULL);
	m->ix_svc = json_object();
	m->ix_pod = json_object();
	m->ix_svc_label = json_object();
	m->ix_pod_label = json_object();
	struct informer_handlers hs = {svc_add, svc_update, svc_delete, NULL};
	struct informer_handlers hp = {pod_add, pod_update, pod_delete, NULL};
	struct informer_handlers hn = {on_node_add, on_node_update, NULL, NULL};
	struct informer_handlers he = {ep_add, ep_update, ep_delete, NULL};
	struct informer_handlers hsl = {slice_changed, slice_update, slice_changed, NULL};
	m->svcs = informer_new(&m->cfg, "/api/v1/services", &hs, m);
	m->pods = informer_new(&m->cfg, "/api/v1/pods", &hp, m);
	m->nodes = informer_new(&m->cfg, "/api/v1/nodes", &hn, m);
	m->eps = informer_new(&m->cfg, "/api/v1/endpoints", &he, m);
	m->slices = informer_new(&m->cfg, "/apis/discovery.k8s.io/v1/endpointslices", &hsl, m);
	informer_set_index(m->slices, slice_index);
	struct informer *all[] = {m->pods, m->nodes, m->eps, m->slices, m->svcs};
	for (size_t i = 0; i < 5; i++)
		informer_set_resync(all[i], INFORMER_RESYNC_CONTROLLER_MS, 1.0);
	for (size_t i = 0; i < 5; i++)
		informer_start(all[i]);
	/* No fixed wall on the first sync (kube-controller-manager waits for its caches as
	 * long as it takes): a big store on a busy machine is slow, not broken. Say so every
	 * 10 s while waiting. */
	static const char *const names[] = {"pods", "nodes", "endpoints", "endpointslices", "services"};
	for (size_t i = 0; i < 5; i++)
		for (int waited = 10; !informer_wait_synced(all[i], 10000); waited += 10)
			log_warn("controller informer for %s not synced after %d s; still waiting", names[i],
				 waited);
	m->ready = true;
	pthread_create(&m->worker, NULL, work, m);
	*out = m;
	return 0;
}

void ctrl_manager_stop(struct ctrl_manager *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	bool had_worker = m->ready;
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	/* Every informer is asked first, so they all wind down while the worker stops. */
	struct informer *all[] = {m->svcs, m->pods, m->nodes, m->eps, m->slices};
	for (size_t i = 0; i < 5; i++)
		informer_stop(all[i]);
	if (had_worker)
		pthread_join(m->worker, NULL);
	for (size_t i = 0; i < 5; i++)
		informer_free(all[i]);
	client_free(m->cl);
	client_config_fini(&m->cfg);
	json_decref(m->queue);
	json_decref(m->warned);
	json_decref(m->own);
	json_decref(m->given);
	json_decref(m->ix_svc);
	json_decref(m->ix_pod);
	json_decref(m->ix_svc_label);
	json_decref(m->ix_pod_label);
	pthread_mutex_destroy(&m->ix_mu);
	free(m->lb_class);
	free(m);
}
