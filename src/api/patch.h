/* patch.h - the four PATCH types of the Kubernetes API, applied to JSON objects.
 *
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch (the
 * Kubernetes merge-key rules with $patch, $setElementOrder, $retainKeys and
 * $deleteFromPrimitiveList directives, keys from api/schema.h) and server-side apply
 * (field ownership in metadata.managedFields). All are pure: they touch only the JSON
 * they are given. Errors carry kube-apiserver's wording in err.
 */
#ifndef API_PATCH_H
#define API_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/schema.h"

/* RFC 7386: returns the patched document (a new reference; target is not modified). */
json_t *api_merge_patch(const json_t *target, const json_t *patch);

/* RFC 6902: ops is a JSON array of operations. Returns 0 with *out a new reference, or
 * -EINVAL with a message (bad op, missing path, failed test). */
int api_json_patch(const json_t *target, const json_t *ops, json_t **out, char *err, size_t errlen);

/* At most this many operations in one JSON patch (kube-apiserver's maxJSONPatchOperations). */
#define API_JSON_PATCH_MAX_OPS 10000
/* api_json_patch bounded as kube-apiserver bounds it: at most API_JSON_PATCH_MAX_OPS
 * operations, and the bytes that copy operations add, summed over the patch, at most
 * max_copy (its AccumulatedCopySizeLimit; 0 = no limit). Each copy is measured before it
 * is made, so a patch that doubles the object again and again fails at the first copy
 * past the limit, having built nothing bigger. Returns -E2BIG with a message past a limit. */
int api_json_patch_limit(const json_t *target, const json_t *ops, size_t max_copy, json_t **out, char *err,
			 size_t errlen);

/* Strategic merge patch of a document of the given schema (NULL = no merge keys known:
 * lists are replaced). Returns 0 with *out a new reference, or -EINVAL with a message. */
int api_strategic_merge_patch(const json_t *target, const json_t *patch, const struct api_schema *schema,
			      json_t **out, char *err, size_t errlen);

/* Server-side apply of the applied configuration by manager onto live (NULL when the
 * object does not exist yet). Fields this manager applied before and no longer lists are
 * removed; fields owned by another manager with a different value are conflicts (-EBUSY
 * with the conflict message in err and the fields in *conflicts as a JSON array of
 * strings like ".spec.ports[port=80,protocol=\"TCP\"].targetPort") unless force is set.
 * metadata.managedFields of the result records the manager's field set (FieldsV1).
 * api_version is the object's apiVersion; now is the RFC 3339 time for the entry. */
int api_server_side_apply(const json_t *live, const json_t *applied, const struct api_schema *schema,
			  const char *manager, const char *api_version, const char *now, bool force,
			  json_t **out, json_t **conflicts, char *err, size_t errlen);

/* Like api_server_side_apply, but on a conflict (-EBUSY) *causes (when causes is not NULL)
 * receives the metav1.StatusCause array kube-apiserver answers with, one per field:
 * {"reason":"FieldManagerConflict","message":"conflict with \"mgr\" using v1","field":".spec..."}.
 * The caller owns *causes. */
int api_server_side_apply_causes(const json_t *live, const json_t *applied, const struct api_schema *schema,
				 const char *manager, const char *api_version, const char *now, bool force,
				 json_t **out, json_t **causes, char *err, size_t errlen);

/* Records that manager changed the object from old (NULL on create) to updated by a
 * non-apply write (operation "Update"): updates metadata.managedFields of updated in place,
 * taking changed fields away from other managers. */
void api_managed_fields_update(const json_t *old, json_t *updated, const struct api_schema *schema,
			       const char *manager, const char *api_version, const char *now);

#endif
