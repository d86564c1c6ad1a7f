/* openapi.h - OpenAPI documents generated from api/schema.h, and Strict field checks.
 *
 * kubectl reads /openapi/v3 (an index of group-versions) and /openapi/v3/<gv> (paths and
 * components.schemas) for `explain` and to learn that the server validates fields
 * (a PATCH operation per kind with a fieldValidation parameter). /openapi/v2 must be
 * protobuf; an empty document makes kubectl 1.27/1.28 skip client-side validation.
 */
#ifndef API_OPENAPI_H
#define API_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

#include "api/schema.h"

/* The /openapi/v3 index: {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=H"},...}}.
 * Returns a heap JSON string. */
char *api_openapi_v3_index(void);
/* The document for one group-version path ("api/v1", "apis/discovery.k8s.io/v1"); NULL if
 * unknown. Returns a heap JSON string; the same text every call (hash-stable). */
char *api_openapi_v3_doc(const char *gv_path);

/* Finds fields of obj unknown to schema (recursively, through objects, arrays and maps of
 * objects; API_ANY subtrees are not checked) and appends their paths as JSON strings
 * (".spec.foo", ".spec.ports[0].bar") to the array unknown. Returns how many it found. */
size_t api_unknown_fields(const json_t *obj, const struct api_schema *schema, json_t *unknown);
/* Removes the fields api_unknown_fields would report (fieldValidation=Ignore|Warn drop them,
 * as kube-apiserver's decoder does). */
void api_drop_unknown_fields(json_t *obj, const struct api_schema *schema);

#endif
