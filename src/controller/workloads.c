/* workloads.c - pure decisions of the workload controllers (see workloads.h).
 *
 * The arithmetic follows kube-controller-manager (pkg/controller/deployment/util,
 * replicaset, statefulset, daemon): maxSurge rounds up and maxUnavailable down
 * (ResolveFenceposts), the new ReplicaSet grows to at most replicas + maxSurge pods in
 * all (NewRSNewReplicas), old ones shrink first by their unhealthy pods and then while
 * at least replicas - maxUnavailable pods stay available (reconcileOldReplicaSets),
 * scale-down picks pods in ActivePods order. One call plans one step; the manager syncs
 * again on the next change, as the Go controllers do.
 */
#include "controller/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/selector.h"
#include "base/mem.h"

#define HASH_LABEL "pod-template-hash"
#define REV_LABEL "controller-revision-hash"
#define REV_ANN "deployment.kubernetes.io/revision"

/* ---- shared ---- */

const char *ctrl_controller_uid(const json_t *obj)
{
	size_t i;
	json_t *r;
	json_array_foreach(api_get(obj, "metadata.ownerReferences"), i, r)
	{
		if (json_is_true(json_object_get(r, "controller")))
			return api_str(r, "uid");
	}
	return NULL;
}

bool ctrl_pod_is_active(const json_t *pod)
{
	const char *ph = api_str(pod, "status.phase");
	if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))
		return false;
	return !api_get(pod, "metadata.deletionTimestamp");
}

bool ctrl_pod_is_ready(const json_t *pod)
{
	return api_condition_true(pod, "Ready");
}

bool ctrl_pod_is_available(const json_t *pod, int64_t min_ready, int64_t now)
{
	if (!ctrl_pod_is_ready(pod))
		return false;
	if (min_ready <= 0)
		return true;
	int64_t t = api_time_parse(api_str(api_condition(pod, "Ready"), "lastTransitionTime"));
	return t >= 0 && t + min_ready <= now;
}

json_t *ctrl_pod_from_template(const json_t *owner, const char *kind, const char *api_version,
			       const json_t *tmpl, const char *name)
{
	json_t *meta = json_deep_copy(json_object_get(tmpl, "metadata"));
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	json_object_del(meta, "name");
	json_object_del(meta, "namespace");
	json_object_del(meta, "creationTimestamp");
	if (name) {
		json_object_set_new(meta, "name", json_string(name));
	} else {
		char *gn = xasprintf("%s-", api_str(owner, "metadata.name") ?: "pod");
		json_object_set_new(meta, "generateName", json_string(gn));
		free(gn);
	}
	json_object_set_new(meta, "namespace",
			    json_string(api_str(owner, "metadata.namespace") ?: "default"));
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", api_version, "kind",
				      kind, "name", api_str(owner, "metadata.name") ?: "", "uid",
				      api_str(owner, "metadata.uid") ?: "", "controller", 1,
				      "blockOwnerDeletion", 1));
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec",
			 spec ? spec : json_object());
}

char *ctrl_template_hash(const json_t *tmpl, int64_t collision_count)
{
	char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)(s ?: ""); *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	free(s);
	if (collision_count > 0) {
		for (int i = 0; i < 8; i++) {
			h ^= (uint32_t)((uint64_t)collision_count >> (8 * i)) & 0xff;
			h *= 16777619u;
		}
	}
	/* rand.SafeEncodeString of the decimal text: no vowels, no look-alike digits. */
	static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
	char num[16];
	snprintf(num, sizeof(num), "%u", h);
	for (char *p = num; *p; p++)
		*p = alpha[(unsigned char)*p % (sizeof(alpha) - 1)];
	return xstrdup(num);
}

int ctrl_scaled_value(const json_t *v, int total, bool round_up)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	char *end = NULL;
	long p = strtol(s, &end, 10);
	if (end == s || strcmp(end, "%") != 0 || p < 0)
		return -1;
	long num = p * (long)total;
	return (int)(round_up ? (num + 99) / 100 : num / 100);
}

void ctrl_resolve_fenceposts(const json_t *max_surge, const json_t *max_unavailable, int replicas, int *surge,
			     int *unavailable)
{
	int s = ctrl_scaled_value(max_surge, replicas, true);
	int u = ctrl_scaled_value(max_unavailable, replicas, false);
	if (s < 0)
		s = 0;
	if (u < 0)
		u = 0;
	if (s == 0 && u == 0)
		u = 1;
	*surge = s;
	*unavailable = u;
}

static int64_t ival(const json_t *o, const char *path)
{
	return json_integer_value(api_get(o, path));
}

static bool owned_by(const json_t *obj, const char *uid)
{
	const char *c = ctrl_controller_uid(obj);
	return c && uid && !strcmp(c, uid);
}

/* ---- ReplicaSet / ReplicationController ---- */

static int64_t g_rank_now;

static int restarts(const json_t *pod)
{
	int n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(api_get(pod, "status.containerStatuses"), i, c) n += (int)ival(c, "restartCount");
	return n;
}

static int phase_rank(const json_t *pod)
{
	const char *ph = api_str(pod, "status.phase") ?: "Pending";
	return !strcmp(ph, "Pending") ? 0 : !strcmp(ph, "Running") ? 2 : 1;
}

/* controller.ActivePods.Less: negative when a goes before b (deleted first). */
static int rank_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
	bool sa = api_str(a, "spec.nodeName") && *api_str(a, "spec.nodeName");
	bool sb = api_str(b, "spec.nodeName") && *api_str(b, "spec.nodeName");
	if (sa != sb)
		return sa ? 1 : -1;
	int pa_ = phase_rank(a), pb_ = phase_rank(b);
	if (pa_ != pb_)
		return pa_ - pb_;
	bool ra = ctrl_pod_is_ready(a), rb = ctrl_pod_is_ready(b);
	if (ra != rb)
		return ra ? 1 : -1;
	if (ra && rb) {
		int64_t ta = api_time_parse(api_str(api_condition(a, "Ready"), "lastTransitionTime"));
		int64_t tb = api_time_parse(api_str(api_condition(b, "Ready"), "lastTransitionTime"));
		if (ta != tb)
			return ta > tb ? -1 : 1; /* ready for less time first */
	}
	int xa = restarts(a), xb = restarts(b);
	if (xa != xb)
		return xa > xb ? -1 : 1;
	int64_t ca = api_time_parse(api_str(a, "metadata.creationTimestamp"));
	int64_t cb = api_time_parse(api_str(b, "metadata.creationTimestamp"));
	if (ca != cb)
		return ca > cb ? -1 : 1; /* newer first */
	return strcmp(api_str(b, "metadata.name") ?: "", api_str(a, "metadata.name") ?: "");
}

void ctrl_pods_rank_for_deletion(json_t *pods, int64_t now)
{
	size_t n = json_array_size(pods);
	json_t **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(pods, i));
	g_rank_now = now;
	xqsort(v, n, sizeof(*v), rank_cmp);
	json_array_clear(pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pods, v[i]);
	free(v);
}

static struct api_selector *selector_of(const json_t *obj, bool rc)
{
	struct api_selector *sel = NULL;
	char err[256];
	json_t *s = api_get(obj, "spec.selector");
	if (rc) {
		if (!json_object_size(s))
			return NULL;
		return api_selector_from_map(s);
	}
	if (!json_is_object(s) || api_selector_from_label_selector(s, &sel, err, sizeof(err)) < 0)
		return NULL;
	if (api_selector_empty(sel)) {
		api_selector_free(sel);
		return NULL;
	}
	return sel;
}

static bool labels_superset(const json_t *labels, const json_t *want)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v)
	{
		json_t *have = json_object_get(labels, k);
		if (!have || !json_equal(have, v))
			return false;
	}
	return true;
}

int ctrl_rs_plan(const json_t *rs, bool rc, const json_t *pods, int64_t now, struct ctrl_rs_plan *p)
{
	memset(p, 0, sizeof(*p));
	struct api_selector *sel = selector_of(rs, rc);
	if (!sel)
		return -EINVAL;
	p->deletes = json_array();
	p->adopt = json_array();
	p->release = json_array();
	const char *uid = api_str(rs, "metadata.uid");
	bool deleting = api_get(rs, "metadata.deletionTimestamp") != NULL;
	json_t *active = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		json_t *labels = api_get(pod, "metadata.labels");
		bool match = api_label_selector_match(sel, labels);
		const char *cu = ctrl_controller_uid(pod);
		if (cu && uid && !strcmp(cu, uid)) {
			if (!match) {
				json_array_append_new(p->release,
						      json_string(api_str(pod, "metadata.name") ?: ""));
				continue;
			}
		} else if (!cu && match && !deleting && !api_get(pod, "metadata.deletionTimestamp")) {
			json_array_append_new(p->adopt, json_string(api_str(pod, "metadata.name") ?: ""));
		} else {
			continue;
		}
		if (ctrl_pod_is_active(pod))
			json_array_append(active, pod);
	}
	api_selector_free(sel);
	int want = (int)ival(rs, "spec.replicas");
	int have = (int)json_array_size(active);
	if (!deleting) {
		if (have < want)
			p->create = want - have > 500 ? 500 : want - have;
		else if (have > want) {
			ctrl_pods_rank_for_deletion(active, now);
			for (int k = 0; k < have - want; k++)
				json_array_append_new(
				    p->deletes,
				    json_string(api_str(json_array_get(active, (size_t)k), "metadata.name")
						    ?: ""));
		}
	}
	int64_t min_ready = ival(rs, "spec.minReadySeconds");
	int labeled = 0, ready = 0, avail = 0;
	json_t *tl = api_get(rs, "spec.template.metadata.labels");
	json_array_foreach(active, i, pod)
	{
		if (labels_superset(api_get(pod, "metadata.labels"), tl))
			labeled++;
		if (ctrl_pod_is_ready(pod))
			ready++;
		if (ctrl_pod_is_available(pod, min_ready, now))
			avail++;
	}
	json_decref(active);
	p->status = json_pack("{s:i, s:i, s:i, s:i, s:I}", "replicas", have, "fullyLabeledReplicas", labeled,
			      "readyReplicas", ready, "availableReplicas", avail, "observedGeneration",
			      (json_int_t)ival(rs, "metadata.generation"));
	json_t *conds = api_get(rs, "status.conditions");
	if (json_array_size(conds))
		json_object_set(p->status, "conditions", conds);
	return 0;
}

void ctrl_rs_plan_fini(struct ctrl_rs_plan *p)
{
	json_decref(p->deletes);
	json_decref(p->adopt);
	json_decref(p->release);
	json_decref(p->status);
	memset(p, 0, sizeof(*p));
}

/* ---- Deployment ---- */

void ctrl_rolling_step(int replicas, int surge, int unavailable, int new_spec, int new_avail, int old_spec,
		       int old_avail, int *new_next, int *old_down)
{
	/* NewRSNewReplicas */
	int total = new_spec + old_spec;
	int max_total = replicas + surge;
	*new_next = new_spec;
	if (new_spec < replicas && total < max_total) {
		int up = max_total - total;
		if (up > replicas - new_spec)
			up = replicas - new_spec;
		*new_next = new_spec + up;
	} else if (new_spec > replicas) {
		*new_next = replicas;
	}
	/* reconcileOldReplicaSets, on the state before the new ReplicaSet grows. */
	*old_down = 0;
	if (old_spec == 0)
		return;
	int min_avail = replicas - unavailable;
	int new_unavail = new_spec - new_avail;
	int max_scaled_down = total - min_avail - new_unavail;
	if (max_scaled_down <= 0)
		return;
	int old_unhealthy = old_spec - old_avail;
	int cleanup = old_unhealthy < max_scaled_down ? old_unhealthy : max_scaled_down;
	if (cleanup < 0)
		cleanup = 0;
	int down = cleanup;
	int avail = old_avail + new_avail;
	int more = avail - min_avail;
	if (more > 0)
		down += more;
	if (down > old_spec)
		down = old_spec;
	*old_down = down;
}

/* A template as EqualIgnoreHash compares them: without the hash label, and with a null
 * creationTimestamp the same as none (kubectl rollout undo sends one). */
static json_t *template_normalized(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl);
	json_t *meta = json_object_get(t, "metadata");
	if (json_is_null(json_object_get(meta, "creationTimestamp")))
		json_object_del(meta, "creationTimestamp");
	json_t *labels = json_object_get(meta, "labels");
	if (labels)
		json_object_del(labels, HASH_LABEL);
	return t;
}

static long revision_of(const json_t *rs)
{
	const char *r = json_string_value(json_object_get(api_get(rs, "metadata.annotations"), REV_ANN));
	return r ? strtol(r, NULL, 10) : 0;
}

static int cmp_rev(const void *a, const void *b)
{
	long ra = revision_of(*(const json_t *const *)a), rb = revision_of(*(const json_t *const *)b);
	return ra < rb ? -1 : ra > rb;
}

/* Sets a condition of type on conds (array), keeping lastTransitionTime when the status
 * does not change; bump: also refresh lastUpdateTime when nothing else changed. */
static void set_cond(json_t *conds, const char *type, const char *status, const char *reason, const char *msg,
		     const char *now, bool bump)
{
	size_t i = 0;
	json_t *found = api_array_find(conds, "type", type, &i);
	if (found && !strcmp(api_str(found, "status") ?: "", status) &&
	    !strcmp(api_str(found, "reason") ?: "", reason) && !bump)
		return;
	json_t *nc =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "lastUpdateTime", now,
		      "lastTransitionTime", now, "reason", reason, "message", msg);
	if (found) {
		if (!strcmp(api_str(found, "status") ?: "", status))
			json_object_set(nc, "lastTransitionTime",
					json_object_get(found, "lastTransitionTime"));
		json_array_set_new(conds, i, nc);
	} else {
		json_array_append_new(conds, nc);
	}
}

int ctrl_deploy_plan(const json_t *d, const json_t *rss, int64_t now, struct ctrl_deploy_plan *p)
{
	memset(p, 0, sizeof(*p));
	const json_t *tmpl = api_get(d, "spec.template");
	if (!json_is_object(tmpl) || !json_is_object(api_get(d, "spec.selector")))
		return -EINVAL;
	p->scale = json_object();
	p->annotate = json_object();
	p->delete_rs = json_array();
	const char *dname = api_str(d, "metadata.name") ?: "";
	int replicas = (int)ival(d, "spec.replicas");
	bool recreate = !strcmp(api_str(d, "spec.strategy.type") ?: "RollingUpdate", "Recreate");
	bool paused = json_is_true(api_get(d, "spec.paused"));
	int surge = 0, unavail = 0;
	if (!recreate)
		ctrl_resolve_fenceposts(api_get(d, "spec.strategy.rollingUpdate.maxSurge"),
					api_get(d, "spec.strategy.rollingUpdate.maxUnavailable"), replicas,
					&surge, &unavail);
	/* Split into the new ReplicaSet (same template) and the old ones, oldest first. */
	const json_t *newrs = NULL;
	json_t *old = json_array();
	long max_rev = 0;
	size_t i;
	json_t *rs;
	json_t *want = template_normalized(tmpl);
	json_array_foreach(rss, i, rs)
	{
		long r = revision_of(rs);
		if (r > max_rev)
			max_rev = r;
		json_t *t = template_normalized(api_get(rs, "spec.template"));
		if (!newrs && json_equal(t, want))
			newrs = rs;
		else
			json_array_append(old, rs);
		json_decref(t);
	}
	json_decref(want);
	size_t nold = json_array_size(old);
	json_t **ov = xcalloc(nold ? nold : 1, sizeof(*ov));
	for (i = 0; i < nold; i++)
		ov[i] = json_array_get(old, i);
	xqsort(ov, nold, sizeof(*ov), cmp_rev);
	int old_spec = 0, old_avail = 0, old_pods = 0;
	for (i = 0; i < nold; i++) {
		old_spec += (int)ival(ov[i], "spec.replicas");
		old_avail += (int)ival(ov[i], "status.availableReplicas");
		old_pods += (int)ival(ov[i], "status.replicas");
	}
	char nowbuf[40];
	api_now(nowbuf, sizeof(nowbuf));
	(void)now;
	const char *progress_reason = NULL;
	char *newname = NULL;
	int64_t collisions = ival(d, "status.collisionCount");
	if (!newrs && !paused) {
		char *hash = ctrl_template_hash(tmpl, collisions);
		newname = xasprintf("%s-%s", dname, hash);
		int start;
		if (recreate)
			start = old_pods == 0 && old_spec == 0 ? replicas : 0;
		else {
			int down;
			ctrl_rolling_step(replicas, surge, unavail, 0, 0, old_spec, old_avail, &start, &down);
		}
		json_t *t = json_deep_copy(tmpl);
		json_object_set_new(api_obj(api_obj(t, "metadata"), "labels"), HASH_LABEL, json_string(hash));
		json_t *sel = json_deep_copy(api_get(d, "spec.selector"));
		json_object_set_new(api_obj(sel, "matchLabels"), HASH_LABEL, json_string(hash));
		json_t *labels = json_deep_copy(api_get(t, "metadata.labels"));
		char rev[24], des[24], mx[24];
		snprintf(rev, sizeof(rev), "%ld", max_rev + 1);
		snprintf(des, sizeof(des), "%d", replicas);
		snprintf(mx, sizeof(mx), "%d", replicas + surge);
		json_t *ann = json_pack("{s:s, s:s, s:s}", "deployment.kubernetes.io/desired-replicas", des,
					"deployment.kubernetes.io/max-replicas", mx, REV_ANN, rev);
		const char *cause = json_string_value(
		    json_object_get(api_get(d, "metadata.annotations"), "kubernetes.io/change-cause"));
		if (cause)
			json_object_set_new(ann, "kubernetes.io/change-cause", json_string(cause));
		p->create_rs = json_pack(
		    "{s:s, s:s, s:{s:s, s:s, s:o, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:{s:i, s:I, s:o, s:o}}",
		    "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", newname, "namespace",
		    api_str(d, "metadata.namespace") ?: "default", "labels", labels, "annotations", ann,
		    "ownerReferences", "apiVersion", "apps/v1", "kind", "Deployment", "name", dname, "uid",
		    api_str(d, "metadata.uid") ?: "", "controller", 1, "blockOwnerDeletion", 1, "spec",
		    "replicas", start, "minReadySeconds", (json_int_t)ival(d, "spec.minReadySeconds"),
		    "selector", sel, "template", t);
		p->revision = xstrdup(rev);
		progress_reason = "NewReplicaSetCreated";
		free(hash);
	} else if (newrs) {
		newname = xstrdup(api_str(newrs, "metadata.name") ?: "");
		long r = revision_of(newrs);
		if (r < max_rev || r == 0) {
			/* A rollback to an older template: it becomes the newest revision. */
			char rev[24];
			snprintf(rev, sizeof(rev), "%ld", max_rev + (r < max_rev ? 1 : r == 0 ? 1 : 0));
			json_object_set_new(p->annotate, newname, json_pack("{s:s}", REV_ANN, rev));
			p->revision = xstrdup(rev);
		} else {
			char rev[24];
			snprintf(rev, sizeof(rev), "%ld", r);
			p->revision = xstrdup(rev);
		}
		int new_spec = (int)ival(newrs, "spec.replicas");
		int new_avail = (int)ival(newrs, "status.availableReplicas");
		if (!paused) {
			char des[24];
			snprintf(des, sizeof(des), "%d", replicas);
			if (recreate) {
				if (old_spec > 0) {
					for (i = 0; i < nold; i++)
						if (ival(ov[i], "spec.replicas") > 0)
							json_object_set_new(p->scale,
									    api_str(ov[i], "metadata.name"),
									    json_integer(0));
				} else if (old_pods == 0 && new_spec != replicas) {
					json_object_set_new(p->scale, newname, json_integer(replicas));
				}
			} else if (old_spec == 0) {
				/* Not a rollout: a scaling event goes straight to the new size. */
				if (new_spec != replicas)
					json_object_set_new(p->scale, newname, json_integer(replicas));
			} else {
				int next, down;
				ctrl_rolling_step(replicas, surge, unavail, new_spec, new_avail, old_spec,
						  old_avail, &next, &down);
				if (next != new_spec) {
					json_object_set_new(p->scale, newname, json_integer(next));
				} else if (down > 0) {
					/* Unhealthy pods of old ReplicaSets first, then oldest first. */
					for (int pass = 0; pass < 2 && down > 0; pass++) {
						for (i = 0; i < nold && down > 0; i++) {
							const char *on = api_str(ov[i], "metadata.name");
							json_t *cur = json_object_get(p->scale, on);
							int spec = cur ? (int)json_integer_value(cur)
								       : (int)ival(ov[i], "spec.replicas");
							int take =
							    pass == 0
								? spec - (int)ival(ov[i],
										   "status.availableReplicas")
								: spec;
							if (take > down)
								take = down;
							if (take <= 0)
								continue;
							json_object_set_new(p->scale, on,
									    json_integer(spec - take));
							down -= take;
						}
					}
				}
			}
			if (json_object_size(p->scale))
				progress_reason = "ReplicaSetUpdated";
		}
	}
	/* History: old ReplicaSets without pods beyond revisionHistoryLimit, oldest first. */
	json_t *limit = api_get(d, "spec.revisionHistoryLimit");
	if (json_is_integer(limit)) {
		size_t idle = 0;
		for (i = 0; i < nold; i++)
			if (ival(ov[i], "spec.replicas") == 0 && ival(ov[i], "status.replicas") == 0 &&
			    !json_object_get(p->scale, api_str(ov[i], "metadata.name")))
				idle++;
		long extra = (long)idle - (long)json_integer_value(limit);
		for (i = 0; i < nold && extra > 0; i++) {
			if (ival(ov[i], "spec.replicas") == 0 && ival(ov[i], "status.replicas") == 0) {
				json_array_append_new(p->delete_rs,
						      json_string(api_str(ov[i], "metadata.name") ?: ""));
				extra--;
			}
		}
	}
	/* Status. */
	int total = old_pods, updated = 0, ready = 0, avail = old_avail;
	for (i = 0; i < nold; i++)
		ready += (int)ival(ov[i], "status.readyReplicas");
	if (newrs) {
		total += (int)ival(newrs, "status.replicas");
		updated = (int)ival(newrs, "status.replicas");
		ready += (int)ival(newrs, "status.readyReplicas");
		avail += (int)ival(newrs, "status.availableReplicas");
	}
	int unavailable = replicas - avail > 0 ? replicas - avail : 0;
	json_t *st = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i}", "observedGeneration",
			       (json_int_t)ival(d, "metadata.generation"), "replicas", total,
			       "updatedReplicas", updated, "readyReplicas", ready, "availableReplicas", avail,
			       "unavailableReplicas", unavailable);
	if (collisions)
		json_object_set_new(st, "collisionCount", json_integer(collisions));
	json_t *conds = json_deep_copy(api_get(d, "status.conditions"));
	if (!json_is_array(conds)) {
		json_decref(conds);
		conds = json_array();
	}
	if (avail >= replicas - unavail)
		set_cond(conds, "Available", "True", "MinimumReplicasAvailable",
			 "Deployment has minimum availability.", nowbuf, false);
	else
		set_cond(conds, "Available", "False", "MinimumReplicasUnavailable",
			 "Deployment does not have minimum availability.", nowbuf, false);
	const json_t *old_st = api_get(d, "status");
	bool complete = newrs && updated == replicas && avail == replicas && total == replicas &&
			!json_object_size(p->scale) && ival(newrs, "spec.replicas") == replicas;
	bool moved = ival(old_st, "updatedReplicas") != updated ||
		     ival(old_st, "availableReplicas") != avail || ival(old_st, "readyReplicas") != ready ||
		     ival(old_st, "replicas") != total;
	char msg[512];
	if (paused) {
		set_cond(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", nowbuf,
			 false);
	} else if (complete) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.",
			 newname ? newname : "");
		set_cond(conds, "Progressing", "True", "NewReplicaSetAvailable", msg, nowbuf, false);
	} else if (progress_reason && !strcmp(progress_reason, "NewReplicaSetCreated")) {
		snprintf(msg, sizeof(msg), "Created new replica set \"%s\"", newname ? newname : "");
		set_cond(conds, "Progressing", "True", progress_reason, msg, nowbuf, true);
	} else if (progress_reason || moved) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", newname ? newname : "");
		set_cond(conds, "Progressing", "True", "ReplicaSetUpdated", msg, nowbuf, true);
	} else {
		/* No progress: past progressDeadlineSeconds since the last, the rollout failed. */
		json_t *deadline = api_get(d, "spec.progressDeadlineSeconds");
		size_t k;
		json_t *c;
		json_array_foreach(conds, k, c)
		{
			if (strcmp(api_str(c, "type") ?: "", "Progressing") || !json_is_integer(deadline))
				continue;
			int64_t last = api_time_parse(api_str(c, "lastUpdateTime"));
			if (last >= 0 && last + json_integer_value(deadline) < api_time_parse(nowbuf) &&
			    strcmp(api_str(c, "reason") ?: "", "NewReplicaSetAvailable")) {
				snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.",
					 newname ? newname : "");
				set_cond(conds, "Progressing", "False", "ProgressDeadlineExceeded", msg,
					 nowbuf, false);
			}
			break;
		}
	}
	json_object_set_new(st, "conditions", conds);
	p->status = st;
	free(newname);
	free(ov);
	json_decref(old);
	return 0;
}

void ctrl_deploy_plan_fini(struct ctrl_deploy_plan *p)
{
	json_decref(p->create_rs);
	json_decref(p->scale);
	json_decref(p->annotate);
	json_decref(p->delete_rs);
	json_decref(p->status);
	free(p->revision);
	memset(p, 0, sizeof(*p));
}

/* ---- StatefulSet ---- */

/* The ordinal of a pod named "<set>-<n>", or -1. */
static long ordinal_of(const char *set, const char *pod)
{
	size_t n = strlen(set);
	if (!pod || strncmp(pod, set, n) || pod[n] != '-' || !pod[n + 1])
		return -1;
	char *end;
	long o = strtol(pod + n + 1, &end, 10);
	return *end || o < 0 ? -1 : o;
}

int ctrl_sts_plan(const json_t *sts, const json_t *pods, const json_t *cur_tmpl, int64_t now,
		  struct ctrl_sts_plan *p)
{
	memset(p, 0, sizeof(*p));
	const json_t *tmpl = api_get(sts, "spec.template");
	if (!json_is_object(tmpl))
		return -EINVAL;
	p->create = json_array();
	p->deletes = json_array();
	const char *name = api_str(sts, "metadata.name") ?: "";
	const char *uid = api_str(sts, "metadata.uid");
	int replicas = (int)ival(sts, "spec.replicas");
	bool parallel = !strcmp(api_str(sts, "spec.podManagementPolicy") ?: "", "Parallel");
	bool deleting = api_get(sts, "metadata.deletionTimestamp") != NULL;
	int64_t start = ival(sts, "spec.ordinals.start");
	char *hash = ctrl_template_hash(tmpl, 0);
	char *update_rev = xasprintf("%s-%s", name, hash);
	free(hash);
	const char *cur_rev = api_str(sts, "status.currentRevision");
	bool rolling = strcmp(api_str(sts, "spec.updateStrategy.type") ?: "RollingUpdate", "OnDelete") != 0;
	int partition = (int)ival(sts, "spec.updateStrategy.rollingUpdate.partition");
	/* Below this index a missing pod comes back at the current revision (Kubernetes'
	 * newVersionedStatefulSetPod); with no current revision known, the update one. */
	int keep_below = 0;
	if (rolling && cur_rev && *cur_rev && json_is_object(cur_tmpl))
		keep_below = api_get(sts, "spec.updateStrategy.rollingUpdate")
				 ? partition
				 : (int)ival(sts, "status.currentReplicas");
	/* Pods by ordinal index (ordinal - start), within a bound. */
	int span = replicas;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (!owned_by(pod, uid))
			continue;
		long o = ordinal_of(name, api_str(pod, "metadata.name")) - start;
		if (o >= span && o < 100000)
			span = (int)o + 1;
	}
	const json_t **by = xcalloc((size_t)span + 1, sizeof(*by));
	json_array_foreach(pods, i, pod)
	{
		if (!owned_by(pod, uid))
			continue;
		long o = ordinal_of(name, api_str(pod, "metadata.name")) - start;
		if (o >= 0 && o < span)
			by[o] = pod;
	}
	int ready = 0, avail = 0, current = 0, updated = 0, count = 0;
	bool all_ready = true, busy = false;
	int64_t min_ready = ival(sts, "spec.minReadySeconds");
	for (int o = 0; o < span; o++) {
		const json_t *pp = by[o];
		if (!pp) {
			if (o < replicas)
				all_ready = false;
			continue;
		}
		if (!ctrl_pod_is_active(pp)) {
			busy = true;
			all_ready = false;
			continue;
		}
		count++;
		bool r = ctrl_pod_is_ready(pp);
		ready += r;
		avail += ctrl_pod_is_available(pp, min_ready, now);
		if (!r)
			all_ready = false;
		const char *pr =
		    json_string_value(json_object_get(api_get(pp, "metadata.labels"), REV_LABEL));
		if (pr && !strcmp(pr, update_rev))
			updated++;
		if (pr && cur_rev && !strcmp(pr, cur_rev))
			current++;
	}
	if (!deleting) {
		/* Scale up, in ordinal order. */
		for (int o = 0; o < replicas; o++) {
			if (by[o] && !ctrl_pod_is_active(by[o])) {
				if (!parallel)
					break; /* wait for the old pod to go */
				continue;
			}
			if (by[o]) {
				if (!parallel && !ctrl_pod_is_ready(by[o]))
					break;
				continue;
			}
			char *pn = xasprintf("%s-%lld", name, (long long)(o + start));
			bool cur = o < keep_below;
			json_t *np =
			    ctrl_pod_from_template(sts, "StatefulSet", "apps/v1", cur ? cur_tmpl : tmpl, pn);
			json_t *labels = api_obj(api_obj(np, "metadata"), "labels");
			json_object_set_new(labels, REV_LABEL, json_string(cur ? cur_rev : update_rev));
			json_object_set_new(labels, "statefulset.kubernetes.io/pod-name", json_string(pn));
			char idx[24];
			snprintf(idx, sizeof(idx), "%lld", (long long)(o + start));
			json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_string(idx));
			json_t *spec = api_obj(np, "spec");
			json_object_set_new(spec, "hostname", json_string(pn));
			const char *svc = api_str(sts, "spec.serviceName");
			if (svc && *svc)
				json_object_set_new(spec, "subdomain", json_string(svc));
			json_array_append_new(p->create, np);
			free(pn);
			if (!parallel)
				break;
		}
		/* Scale down, from the highest ordinal. */
		if (!json_array_size(p->create)) {
			for (int o = span - 1; o >= replicas; o--) {
				if (!by[o] || !ctrl_pod_is_active(by[o]))
					continue;
				if (!parallel && (busy || ready < count))
					break;
				json_array_append_new(p->deletes,
						      json_string(api_str(by[o], "metadata.name")));
				if (!parallel)
					break;
			}
		}
		/* Rolling update, from the highest ordinal down to the partition. */
		if (rolling && !json_array_size(p->create) && !json_array_size(p->deletes) && all_ready &&
		    !busy) {
			for (int o = (replicas < span ? replicas : span) - 1; o >= partition && o >= 0; o--) {
				if (!by[o])
					continue;
				const char *pr = json_string_value(
				    json_object_get(api_get(by[o], "metadata.labels"), REV_LABEL));
				if (!pr || strcmp(pr, update_rev)) {
					json_array_append_new(p->deletes,
							      json_string(api_str(by[o], "metadata.name")));
					break;
				}
			}
		}
	}
	const char *new_cur = cur_rev && *cur_rev ? cur_rev : update_rev;
	if (updated == count && count == replicas)
		new_cur = update_rev;
	if (!strcmp(new_cur, update_rev))
		current = updated;
	p->status =
	    json_pack("{s:I, s:i, s:i, s:i, s:i, s:s, s:s, s:i, s:i}", "observedGeneration",
		      (json_int_t)ival(sts, "metadata.generation"), "replicas", count, "readyReplicas", ready,
		      "currentReplicas", current, "updatedReplicas", updated, "currentRevision", new_cur,
		      "updateRevision", update_rev, "collisionCount", 0, "availableReplicas", avail);
	free(update_rev);
	free(by);
	return 0;
}

void ctrl_sts_plan_fini(struct ctrl_sts_plan *p)
{
	json_decref(p->create);
	json_decref(p->deletes);
	json_decref(p->status);
	memset(p, 0, sizeof(*p));
}

/* ---- DaemonSet ---- */

static bool is_eligible_node(const json_t *node, const json_t *node_selector)
{
	if (json_is_true(api_get(node, "spec.unschedulable")))
		return false;
	if (!labels_superset(api_get(node, "metadata.labels"), node_selector))
		return false;
	return api_condition_true(node, "Ready");
}

int ctrl_ds_plan(const json_t *ds, const json_t *pods, const json_t *nodes, int64_t now,
		 struct ctrl_ds_plan *p)
{
	memset(p, 0, sizeof(*p));
	const json_t *tmpl = api_get(ds, "spec.template");
	if (!json_is_object(tmpl))
		return -EINVAL;
	p->create = json_array();
	p->deletes = json_array();
	const char *uid = api_str(ds, "metadata.uid");
	bool deleting = api_get(ds, "metadata.deletionTimestamp") != NULL;
	char *hash = ctrl_template_hash(tmpl, 0);
	const json_t *nsel = api_get(tmpl, "spec.nodeSelector");
	int64_t min_ready = ival(ds, "spec.minReadySeconds");
	int desired = 0, current = 0, missched = 0, nready = 0, updated = 0, navail = 0;
	json_t *old_on_ready_nodes = json_array();
	bool any_unavail = false;
	int unavail_now = 0;
	/* Node name -> its active pods of this set. */
	json_t *by = json_object();
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
	{
		if (!owned_by(pod, uid) || !ctrl_pod_is_active(pod))
			continue;
		const char *nn = api_str(pod, "spec.nodeName") ?: "";
		json_t *a = json_object_get(by, nn);
		if (!a) {
			a = json_array();
			json_object_set_new(by, nn, a);
		}
		json_array_append(a, pod);
	}
	json_t *node;
	json_array_foreach(nodes, i, node)
	{
		const char *nn = api_str(node, "metadata.name") ?: "";
		bool ok = is_eligible_node(node, nsel);
		json_t *mine = json_object_get(by, nn);
		if (!ok) {
			if (json_array_size(mine)) {
				missched++;
				size_t j;
				json_t *x;
				json_array_foreach(mine, j, x) json_array_append_new(
				    p->deletes, json_string(api_str(x, "metadata.name")));
			}
			json_object_del(by, nn);
			continue;
		}
		desired++;
		if (!json_array_size(mine)) {
			if (!deleting) {
				json_t *np = ctrl_pod_from_template(ds, "DaemonSet", "apps/v1", tmpl, NULL);
				json_object_set_new(api_obj(api_obj(np, "metadata"), "labels"), REV_LABEL,
						    json_string(hash));
				json_object_set_new(api_obj(np, "spec"), "nodeName", json_string(nn));
				json_array_append_new(p->create, np);
			}
			unavail_now++;
			json_object_del(by, nn);
			continue;
		}
		current++;
		/* More than one pod on a node: keep the oldest. */
		json_t *keep = json_array_get(mine, 0);
		size_t j;
		json_t *x;
		json_array_foreach(mine, j, x)
		{
			if (j == 0)
				continue;
			json_array_append_new(p->deletes, json_string(api_str(x, "metadata.name")));
		}
		bool r = ctrl_pod_is_ready(keep);
		nready += r;
		bool av = ctrl_pod_is_available(keep, min_ready, now);
		navail += av;
		if (!av) {
			any_unavail = true;
			unavail_now++;
		}
		const char *pr =
		    json_string_value(json_object_get(api_get(keep, "metadata.labels"), REV_LABEL));
		if (pr && !strcmp(pr, hash))
			updated++;
		else
			json_array_append(old_on_ready_nodes, keep);
		json_object_del(by, nn);
	}
	/* Pods on nodes that are gone. */
	const char *nn;
	json_t *rest;
	json_object_foreach(by, nn, rest)
	{
		size_t j;
		json_t *x;
		json_array_foreach(rest, j, x)
		    json_array_append_new(p->deletes, json_string(api_str(x, "metadata.name")));
	}
	/* Rolling update: replace old pods while at most maxUnavailable are unavailable. */
	bool rolling = strcmp(api_str(ds, "spec.updateStrategy.type") ?: "RollingUpdate", "OnDelete") != 0;
	if (rolling && !deleting) {
		int max_unavail = ctrl_scaled_value(
		    api_get(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"), desired, true);
		if (max_unavail <= 0)
			max_unavail = 1;
		int budget = max_unavail - unavail_now;
		/* Unavailable old pods go first: they cost nothing. */
		json_array_foreach(old_on_ready_nodes, i, pod)
		{
			if (!ctrl_pod_is_available(pod, min_ready, now))
				json_array_append_new(p->deletes, json_string(api_str(pod, "metadata.name")));
		}
		json_array_foreach(old_on_ready_nodes, i, pod)
		{
			if (budget <= 0)
				break;
			if (ctrl_pod_is_available(pod, min_ready, now)) {
				json_array_append_new(p->deletes, json_string(api_str(pod, "metadata.name")));
				budget--;
			}
		}
	}
	(void)any_unavail;
	p->status =
	    json_pack("{s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:i}", "currentNumberScheduled", current,
		      "numberMisscheduled", missched, "desiredNumberScheduled", desired, "numberReady",
		      nready, "observedGeneration", (json_int_t)ival(ds, "metadata.generation"),
		      "updatedNumberScheduled", updated, "numberAvailable", navail, "numberUnavailable",
		      desired - navail > 0 ? desired - navail : 0);
	json_decref(by);
	json_decref(old_on_ready_nodes);
	free(hash);
	return 0;
}

void ctrl_ds_plan_fini(struct ctrl_ds_plan *p)
{
	json_decref(p->create);
	json_decref(p->deletes);
	json_decref(p->status);
	memset(p, 0, sizeof(*p));
}
