/* workloads.h - registry strategies of the workload kinds (ReplicationController,
 * ReplicaSet, Deployment, StatefulSet, DaemonSet) and of ConfigMap, Secret and
 * ServiceAccount, and the scale subresource's conversion to and from autoscaling/v1 Scale.
 *
 * Pure functions over JSON objects (no I/O), called by api/kinds.c for these kinds:
 * defaults as pkg/apis/apps/v1/defaults.go and core/v1/defaults.go set them, validation
 * with the field paths and messages of pkg/apis/apps/validation and core/validation.
 */
#ifndef API_WORKLOADS_H
#define API_WORKLOADS_H

#include <jansson.h>
#include <stdbool.h>

#include "api/object.h"
#include "api/schema.h"

/* True for the kinds that own pods through a template (RC, RS, Deployment, StatefulSet,
 * DaemonSet). */
bool api_kind_is_workload(const struct api_kind *k);
/* True for the kinds served with a scale subresource (RC, RS, Deployment, StatefulSet). */
bool api_kind_has_scale(const struct api_kind *k);
/* True for the kinds handled here (workloads, ConfigMap, Secret, ServiceAccount). */
bool api_kind_is_workloads_kind(const struct api_kind *k);

/* Create: status starts empty (zero counts). */
void api_workload_prepare_create(const struct api_kind *k, json_t *obj);
/* Defaults (the pod template's too), Secret.stringData folded into data. */
void api_workload_default(const struct api_kind *k, json_t *obj);
/* Validates obj (old NULL on create), appending field errors. */
void api_workload_validate(const struct api_kind *k, const json_t *obj, const json_t *old,
			   struct api_errs *e);

/* The pod selector of a workload as a metav1.LabelSelector (an RC's map becomes
 * matchLabels); a new object, NULL when it has none. */
json_t *api_workload_selector(const struct api_kind *k, const json_t *obj);
/* A LabelSelector in the query-parameter syntax ("app=web,tier in (a,b)"), requirements
 * sorted by key as labels.Selector.String() prints them; heap string. */
char *api_label_selector_string(const json_t *ls);

/* The autoscaling/v1 Scale of a scalable object (a new object). */
json_t *api_scale_from(const struct api_kind *k, const json_t *obj);
/* Applies scale's spec.replicas to obj (spec.replicas), after validating it the way
 * ValidateScale does. Returns 0 or ERR_INVALID with e filled. */
int api_scale_apply(json_t *obj, const json_t *scale, struct api_errs *e);

#endif
