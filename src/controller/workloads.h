/* workloads.h - the pure decisions of the workload controllers: ReplicaSet and
 * ReplicationController (which pods to create, delete, adopt, release; status), Deployment
 * (rolling update and recreate steps with Kubernetes' arithmetic; status and conditions),
 * StatefulSet (ordinal order), DaemonSet (a pod per eligible node), and the pod made from
 * a template.
 *
 * No I/O: every function reads JSON objects as an informer holds them and returns a plan
 * that controller/wlmanager.c carries out through the API. Pods "owned" by an object are
 * those whose ownerReferences has an entry with controller: true and the object's uid.
 * Times are Unix seconds.
 */
#ifndef CONTROLLER_WORKLOADS_H
#define CONTROLLER_WORKLOADS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- shared ---- */

/* The uid of obj's controller owner reference, or NULL (borrowed). */
const char *ctrl_controller_uid(const json_t *obj);
/* True when the pod counts: not being deleted and not Succeeded/Failed. */
bool ctrl_pod_is_active(const json_t *pod);
/* True when the pod's Ready condition is True. */
bool ctrl_pod_is_ready(const json_t *pod);
/* True when ready for at least min_ready seconds at now. */
bool ctrl_pod_is_available(const json_t *pod, int64_t min_ready, int64_t now);
/* A new pod from template (a PodTemplateSpec) for owner (kind/apiVersion of the owner,
 * controller reference with blockOwnerDeletion), named name or, when name is NULL,
 * generateName "<owner name>-". A new object. */
json_t *ctrl_pod_from_template(const json_t *owner, const char *kind, const char *api_version,
			       const json_t *tmpl, const char *name);
/* The template hash as Kubernetes names it (FNV-32a of the template, safe-encoded:
 * letters and digits without vowels); heap string. */
char *ctrl_template_hash(const json_t *tmpl, int64_t collision_count);

/* kube's intstr.GetScaledValueFromIntOrPercent: v an integer or "N%" of total, rounded
 * up or down. Returns -1 for a malformed value. */
int ctrl_scaled_value(const json_t *v, int total, bool round_up);
/* deploymentutil.ResolveFenceposts: maxSurge rounded up, maxUnavailable rounded down; both
 * zero makes maxUnavailable 1. */
void ctrl_resolve_fenceposts(const json_t *max_surge, const json_t *max_unavailable, int replicas, int *surge,
			     int *unavailable);

/* ---- ReplicaSet / ReplicationController ---- */

struct ctrl_rs_plan {
	int create;	 /* pods to create from the template */
	json_t *deletes; /* names of pods to delete, best candidates first */
	json_t *adopt;	 /* names of orphan pods to adopt (matching, no controller) */
	json_t *release; /* names of owned pods whose labels no longer match */
	json_t *status;	 /* the status the object should have */
};

/* rs: the ReplicaSet or ReplicationController (rc true); pods: every pod of its
 * namespace. Returns 0, or -EINVAL for an object without a usable selector. */
int ctrl_rs_plan(const json_t *rs, bool rc, const json_t *pods, int64_t now, struct ctrl_rs_plan *p);
void ctrl_rs_plan_fini(struct ctrl_rs_plan *p);
/* Sorts pods (array, in place) with the ones to delete first, as controller.ActivePods
 * does: unscheduled, pending, not ready, ready for less time, more restarts, newer. */
void ctrl_pods_rank_for_deletion(json_t *pods, int64_t now);

/* ---- Deployment ---- */

/* One step of a Deployment sync. */
struct ctrl_deploy_plan {
	json_t *create_rs; /* a ReplicaSet to create, or NULL */
	json_t *scale;	   /* {"<rs name>": replicas} for ReplicaSets to scale (and annotate) */
	json_t *annotate;  /* {"<rs name>": {annotations}} to set on existing ReplicaSets */
	json_t *delete_rs; /* names of old ReplicaSets beyond revisionHistoryLimit */
	json_t *status;	   /* the Deployment's status */
	char *revision;	   /* the Deployment's deployment.kubernetes.io/revision, or NULL */
};

/* d: the Deployment; rss: the ReplicaSets it controls. Returns 0 or -EINVAL. */
int ctrl_deploy_plan(const json_t *d, const json_t *rss, int64_t now, struct ctrl_deploy_plan *p);
void ctrl_deploy_plan_fini(struct ctrl_deploy_plan *p);
/* The rolling-update step counts, exposed for tests: given desired replicas, the new
 * ReplicaSet's spec replicas and available pods and the old ones' (sums), returns the
 * new ReplicaSet's next replicas in *new_next and how many old replicas may go now in
 * *old_down. */
void ctrl_rolling_step(int replicas, int surge, int unavailable, int new_spec, int new_avail, int old_spec,
		       int old_avail, int *new_next, int *old_down);

/* ---- StatefulSet ---- */

struct ctrl_sts_plan {
	json_t *create;	 /* pods to create (full objects) */
	json_t *deletes; /* names of pods to delete */
	json_t *status;
};
/* cur_tmpl: the pod template of status.currentRevision's ControllerRevision (its
 * data.spec.template), or NULL when that revision is unknown. As Kubernetes'
 * newVersionedStatefulSetPod, a missing pod whose ordinal is below the RollingUpdate
 * partition (below status.currentReplicas when rollingUpdate is absent) is made from
 * cur_tmpl with the current revision's label; every other one from spec.template with
 * the update revision's. */
int ctrl_sts_plan(const json_t *sts, const json_t *pods, const json_t *cur_tmpl, int64_t now,
		  struct ctrl_sts_plan *p);
void ctrl_sts_plan_fini(struct ctrl_sts_plan *p);

/* ---- DaemonSet ---- */

struct ctrl_ds_plan {
	json_t *create;	 /* pods to create (with spec.nodeName) */
	json_t *deletes; /* names of pods to delete */
	json_t *status;
};
/* nodes: every Node. A node is eligible when Ready, schedulable, and matching the
 * template's nodeSelector. */
int ctrl_ds_plan(const json_t *ds, const json_t *pods, const json_t *nodes, int64_t now,
		 struct ctrl_ds_plan *p);
void ctrl_ds_plan_fini(struct ctrl_ds_plan *p);

#endif
