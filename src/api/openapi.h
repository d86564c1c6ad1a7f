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

/* The /openapi/v3 index: {"paths":{"api/v1":{"serverRelativeURL":"/openapi/v3/api/v1?hash=H"},...}}
 * for the three served group-versions; H is 16 upper-case hex digits of a hash of that
 * document's text. Returns a heap JSON string the caller frees. Builds every document to
 * hash it (a few hundred KB, milliseconds): callers that serve it often may cache it, the
 * text never changes while the process runs. Does not block. */
char *api_openapi_v3_index(void);
/* The document for one group-version path ("api/v1", "apis/discovery.k8s.io/v1",
 * "apis/networking.k8s.io/v1"; a leading '/' is ignored); NULL if unknown. Returns a heap
 * JSON string (compact, sorted keys) the caller frees; the same text every call.
 * Contents: components.schemas named like kube-apiserver's (io.k8s.api.core.v1.Service,
 * io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, ...) with x-kubernetes-group-version-kind
 * on each kind and <Kind>List, x-kubernetes-patch-merge-key/-strategy on lists; for each
 * kind the collection, item and status paths with x-kubernetes-action and
 * x-kubernetes-group-version-kind on every operation, and a PATCH with the fieldValidation,
 * fieldManager, dryRun and force query parameters (kubectl's field-validation probe). The
 * PATCH requestBody lists application/strategic-merge-patch+json only for kinds whose
 * schema tree is complete (every kind but Pod): see the top of openapi.c. */
char *api_openapi_v3_doc(const char *gv_path);

/* Finds fields of obj unknown to schema (recursively, through objects, arrays and maps of
 * objects, and through inline fields; API_ANY subtrees are not checked; a value of the
 * wrong JSON type is not descended into) and appends their paths as JSON strings
 * (".spec.foo", ".spec.ports[0].bar") to the array unknown (NULL: only count). Paths come
 * in document order, the order kube-apiserver's strict decoder reports them in; its
 * message drops the leading dot: `strict decoding error: unknown field "spec.foo",
 * unknown field "spec.ports[0].bar"`. Returns how many it found. obj is not modified. */
size_t api_unknown_fields(const json_t *obj, const struct api_schema *schema, json_t *unknown);
/* Removes the fields api_unknown_fields would report (fieldValidation=Ignore|Warn drop them,
 * as kube-apiserver's decoder does). */
void api_drop_unknown_fields(json_t *obj, const struct api_schema *schema);

#endif
