/* kinds.h - per-kind behaviour of the API: defaulting, validation, create/update rules.
 *
 * Pure functions over JSON objects (no I/O), like Kubernetes' registry strategies:
 * prepare (reset what a client may not set), default, validate (with Kubernetes' field
 * paths and messages). Allocation of cluster IPs and node ports lives in the API server
 * because it touches the store; everything here is unit-tested directly.
 */
#ifndef API_KINDS_H
#define API_KINDS_H

#include <jansson.h>
#include <stdbool.h>

#include "api/object.h"
#include "api/schema.h"

/* Resets fields a create may not set (status for most kinds) and sets initial status. */
void api_prepare_create(const struct api_kind *k, json_t *obj);
/* For an update of the main resource: keeps old status (kinds with a status subresource).
 * For a status update (status == true): keeps old spec and takes only status. */
void api_prepare_update(const struct api_kind *k, json_t *obj, const json_t *old, bool status);
/* Fills defaults, as kube-apiserver's defaulters do, then drops the empty maps and lists
 * Kubernetes' JSON omits (api_drop_empty). */
void api_default(const struct api_kind *k, json_t *obj);
/* Validates obj (old is NULL on create); appends field errors. */
void api_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e);
/* True when the kind keeps metadata.generation (bumped on spec changes). */
bool api_kind_has_generation(const struct api_kind *k);
/* True when PUT of a missing object creates it (Endpoints, Events, ...). */
bool api_kind_create_on_update(const struct api_kind *k);

/* Deprecated versions (api_kind_storage(view) != view): convert_in turns a body written in
 * view's version into the stored version in place (apiVersion and kind too); convert_out
 * turns a stored object into view's version (for any kind: at least sets view's
 * apiVersion and kind). Lossless both ways. */
void api_kind_convert_in(const struct api_kind *view, json_t *obj);
void api_kind_convert_out(const struct api_kind *view, json_t *obj);
/* Ingress validation (networking.k8s.io/v1), with kube-apiserver's paths and messages;
 * old is NULL on create. Called by api_validate. */
void api_ingress_validate(const json_t *obj, const json_t *old, struct api_errs *e);

#endif
