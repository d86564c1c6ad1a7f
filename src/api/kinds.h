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

#endif
