/* scheduler.c - binds unscheduled pods to the Ready node with the fewest pods.
 *
 * A pod no node fits gets what kube-scheduler gives it: status condition PodScheduled=False
 * with reason Unschedulable and the FitError message ("0/2 nodes are available: 2 node(s)
 * didn't match Pod's node affinity/selector. preemption: ..."), and a Warning
 * FailedScheduling event from default-scheduler. Both are written once per distinct
 * message (the pod informer shows the condition already there), not on every pass; the
 * pod stays Pending and is retried on every pass, and the agent's status of the bound pod
 * later replaces the condition with PodScheduled=True.
 */
#include "controller/scheduler.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/worker.h"
#include "client/informer.h"

struct sched {
	struct client *cl;
	struct informer *pods, *nodes;
	struct worker w;
};

static bool is_schedulable_node(const json_t *n)
{
	if (json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable")))
		return false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

static bool pod_active(const json_t *p)
{
	const char *ph = api_str(p, "status.phase");
	return !(ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")));
}

static bool selector_fits(const json_t *pod, const json_t *node)
{
	const json_t *labels = api_get(node, "metadata.labels");
	const char *k;
	json_t *v;

	json_object_foreach(api_get(pod, "spec.nodeSelector"), k, v)
	{
		const char *have = json_string_value(json_object_get(labels, k));
		if (!have || !json_string_value(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	return true;
}

/* Why a node does not fit, in kube-scheduler's words (the filter plugins' reasons). */
enum misfit { FIT, MISFIT_UNSCHEDULABLE, MISFIT_NOT_READY, MISFIT_SELECTOR, MISFIT_N };
static const char *const misfit_reason[MISFIT_N] = {
    [MISFIT_UNSCHEDULABLE] = "node(s) were unschedulable",
    [MISFIT_NOT_READY] = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
    [MISFIT_SELECTOR] = "node(s) didn't match Pod's node affinity/selector",
};

static enum misfit node_fits(const json_t *pod, const json_t *n)
{
	if (json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable")))
		return MISFIT_UNSCHEDULABLE;
	if (!is_schedulable_node(n))
		return MISFIT_NOT_READY;
	if (pod && !selector_fits(pod, n))
		return MISFIT_SELECTOR;
	return FIT;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* kube-scheduler's FitError text for nnodes nodes none of which fits, count[r] of them
 * for reason r: the "<count> <reason>" parts sorted as strings. */
static void fit_error(size_t nnodes, const size_t count[MISFIT_N], char *why, size_t whylen)
{
	char *parts[MISFIT_N];
	size_t np = 0, off;

	if (nnodes == 0) {
		snprintf(why, whylen, "no nodes available to schedule pods");
		return;
	}
	for (int r = 1; r < MISFIT_N; r++)
		if (count[r])
			parts[np++] = xasprintf("%zu %s", count[r], misfit_reason[r]);
	if (np > 1)
		xqsort(parts, np, sizeof(parts[0]), str_cmp);
	off = (size_t)snprintf(why, whylen, "0/%zu nodes are available: ", nnodes);
	for (size_t i = 0; i < np; i++) {
		if (off < whylen)
			off += (size_t)snprintf(why + off, whylen - off, "%s%s", i ? ", " : "", parts[i]);
		free(parts[i]);
	}
	if (off < whylen)
		snprintf(
		    why + off, whylen - off,
		    ". preemption: 0/%zu nodes are available: %zu Preemption is not helpful for scheduling.",
		    nnodes, nnodes);
}

const char *sched_pick_node(const json_t *nodes, const json_t *pods, const json_t *extra)
{
	char why[8];
	return sched_pick_node_for(NULL, nodes, pods, extra, why, sizeof(why));
}

const char *sched_pick_node_for(const json_t *pod, const json_t *nodes, const json_t *pods,
				const json_t *extra, char *why, size_t whylen)
{
	const char *best = NULL;
	long long best_n = 0;
	size_t i, count[MISFIT_N] = {0};
	json_t *n;
	json_array_foreach(nodes, i, n)
	{
		const char *name = api_str(n, "metadata.name");
		enum misfit m = node_fits(pod, n);
		if (!name)
			continue;
		if (m != FIT) {
			count[m]++;
			continue;
		}
		long long cnt = json_integer_value(json_object_get(extra, name));
		size_t j;
		json_t *p;
		json_array_foreach(pods, j, p)
		{
			const char *nn = api_str(p, "spec.nodeName");
			if (nn && !strcmp(nn, name) && pod_active(p))
				cnt++;
		}
		if (!best || cnt < best_n || (cnt == best_n && strcmp(name, best) < 0)) {
			best = name;
			best_n = cnt;
		}
	}
	if (!best && whylen)
		fit_error(json_array_size(nodes), count, why, whylen);
	return best;
}

static bool ours(const json_t *p)
{
	const char *s = api_str(p, "spec.schedulerName");
	const char *nn = api_str(p, "spec.nodeName");
	return (!nn || !*nn) && !api_str(p, "metadata.deletionTimestamp") &&
	       (!s || !strcmp(s, "default-scheduler")) && pod_active(p);
}

/* True when p already carries PodScheduled=False with this message. */
static bool told(const json_t *p, const char *msg)
{
	size_t i;
	json_t *c;

	json_array_foreach(api_get(p, "status.conditions"), i, c)
	{
		if (!strcmp(api_str(c, "type") ?: "", "PodScheduled"))
			return !strcmp(api_str(c, "status") ?: "", "False") &&
			       !strcmp(api_str(c, "message") ?: "", msg);
	}
	return false;
}

static void request(struct sched *s, const char *method, const char *path, const char *ct, const char *body,
		    const char *what)
{
	char *resp = NULL, err[256] = "";
	long st = 0;
	int rc = client_request(s->cl, method, path, ct, body, NULL, &st, &resp, NULL, err, sizeof(err));
	if (rc < 0 || st >= 300)
		log_warn("scheduler: %s: %s", what, rc < 0 ? err : resp ? resp : "");
	free(resp);
}

/* The JSON patch that sets cond_take as p's PodScheduled condition: replaces the existing one or
 * appends it, after a test that the list is still the one p (the informer's copy) has, so a
 * concurrent rewrite fails the patch and the next pass retries. A JSON patch, not a
 * strategic merge patch, because it keeps cond's "lastProbeTime": null, as kube-scheduler's
 * condition reads back (merge patches drop nulls). */
static json_t *condition_patch_take(const json_t *p, json_t *cond_take)
{
	json_t *conds = api_get(p, "status.conditions");
	if (!json_is_array(conds)) {
		if (json_is_object(api_get(p, "status")))
			return json_pack("[{s:s,s:s,s:[o]}]", "op", "add", "path", "/status/conditions",
					 "value", cond_take);
		return json_pack("[{s:s,s:s,s:{s:[o]}}]", "op", "add", "path", "/status", "value",
				 "conditions", cond_take);
	}
	json_t *ops =
	    json_pack("[{s:s,s:s,s:O}]", "op", "test", "path", "/status/conditions", "value", conds);
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		if (strcmp(api_str(c, "type") ?: "", "PodScheduled") != 0)
			continue;
		char *at = xasprintf("/status/conditions/%zu", i);
		json_array_append_new(
		    ops, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", at, "value", cond_take));
		free(at);
		return ops;
	}
	json_array_append_new(
	    ops, json_pack("{s:s,s:s,s:o}", "op", "add", "path", "/status/conditions/-", "value", cond_take));
	return ops;
}

/* PodScheduled=False (Unschedulable) on p's status and a FailedScheduling event. */
static void unschedulable(struct sched *s, const json_t *p, const char *ns, const char *name, const char *msg)
{
	char now[40];
	json_t *cond = json_pack("{s:s,s:s,s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status", "False",
				 "reason", "Unschedulable", "message", msg, "lastProbeTime",
				 "lastTransitionTime", api_now(now, sizeof(now)));
	json_t *patch = condition_patch_take(p, cond);
	char *body = json_dumps(patch, JSON_COMPACT);
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
	request(s, "PATCH", path, "application/json-patch+json", body, "pod status");
	free(path);
	free(body);
	json_decref(patch);

	json_t *ev =
	    api_event_new(p, "Pod", NULL, "default-scheduler", NULL, "Warning", "FailedScheduling", msg);
	body = json_dumps(ev, JSON_COMPACT);
	path = xasprintf("/api/v1/namespaces/%s/events", ns);
	request(s, "POST", path, "application/json", body, "FailedScheduling event");
	free(path);
	free(body);
	json_decref(ev);
	log_info("scheduler: %s/%s: %s", ns, name, msg);
}

static void pass(struct sched *s)
{
	json_t *pods = informer_list(s->pods, NULL), *nodes = informer_list(s->nodes, NULL),
	       *extra = json_object();
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
	{
		if (!ours(p))
			continue;
		char why[512];
		const char *node = sched_pick_node_for(p, nodes, pods, extra, why, sizeof(why));
		const char *ns = api_str(p, "metadata.namespace"), *name = api_str(p, "metadata.name");
		if (!ns || !name)
			continue;
		if (!node) {
			if (!told(p, why))
				unschedulable(s, p, ns, name, why);
			continue;
		}
		char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
		char *body = xasprintf("{\"spec\":{\"nodeName\":\"%s\"}}", node);
		char *resp = NULL, err[256] = "";
		long st = 0;
		int rc = client_request(s->cl, "PATCH", path, "application/merge-patch+json", body, NULL, &st,
					&resp, NULL, err, sizeof(err));
		if (rc < 0 || st >= 300)
			log_warn("scheduler: binding %s/%s to %s: %s", ns, name, node,
				 rc < 0 ? err
				 : resp ? resp
					: "");
		else {
			log_info("scheduler: bound %s/%s to %s", ns, name, node);
			json_object_set_new(
			    extra, node, json_integer(json_integer_value(json_object_get(extra, node)) + 1));
		}
		free(resp);
		free(body);
		free(path);
	}
	json_decref(extra);
	json_decref(pods);
	json_decref(nodes);
}

static void *worker(void *arg)
{
	struct sched *s = arg;
	/* Also a periodic pass: a pod left unbound because no node was Ready. */
	while (worker_wait(&s->w, 2000))
		pass(s);
	return NULL;
}

static void poke(void *ud)
{
	struct sched *s = ud;
	worker_kick(&s->w);
}
static void on_add(void *ud, const json_t *o)
{
	(void)o;
	poke(ud);
}
static void on_update(void *ud, const json_t *old, const json_t *o)
{
	(void)old;
	(void)o;
	poke(ud);
}

void sched_stop(struct sched *s)
{
	if (!s)
		return;
	/* Both informers are asked first, so they wind down while the worker stops. */
	informer_stop(s->pods);
	informer_stop(s->nodes);
	worker_stop(&s->w);
	informer_free(s->pods);
	informer_free(s->nodes);
	client_free(s->cl);
	worker_fini(&s->w);
	free(s);
}

int sched_start(const struct client_config *cfg, struct sched **out, char *err, size_t errlen)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	worker_init(&s->w);
	s->cl = client_new(cfg, 10000);
	struct informer_handlers h = {.on_add = on_add, .on_update = on_update, .on_synced = poke};
	s->pods = informer_new(cfg, "/api/v1/pods", &h, s);
	s->nodes = informer_new(cfg, "/api/v1/nodes", &h, s);
	informer_start(s->pods);
	informer_start(s->nodes);
	if (!informer_wait_synced(s->pods, 10000) || !informer_wait_synced(s->nodes, 10000)) {
		snprintf(err, errlen, "scheduler: informers did not sync within 10 s");
		sched_stop(s);
		return -ETIMEDOUT;
	}
	int rc = worker_start(&s->w, worker, s);
	if (rc < 0) {
		snprintf(err, errlen, "scheduler: %s", strerror(-rc));
		sched_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}
