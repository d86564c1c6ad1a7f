/* rbac.h - defaults and validation of rbac.authorization.k8s.io/v1 objects (pure).
 *
 * kube-apiserver's rules (pkg/apis/rbac/validation, SetDefaults_Subject): names are path
 * segments (so "system:node:n1" is valid), rules need verbs and either apiGroups and
 * resources or nonResourceURLs (never both; never nonResourceURLs in a Role), roleRef is
 * rbac.authorization.k8s.io Role/ClusterRole (ClusterRole only for a ClusterRoleBinding)
 * and immutable, subjects are User/Group (apiGroup rbac.authorization.k8s.io, defaulted)
 * or ServiceAccount (apiGroup "", a namespace in a ClusterRoleBinding).
 */
#ifndef API_RBAC_H
#define API_RBAC_H

#include <jansson.h>
#include <stdbool.h>

#include "api/object.h"
#include "api/schema.h"

#define API_RBAC_GROUP "rbac.authorization.k8s.io"

bool api_kind_is_rbac(const struct api_kind *k);
/* Fills subjects[].apiGroup of User and Group subjects. */
void api_rbac_default(const struct api_kind *k, json_t *obj);
/* Validates a Role, ClusterRole, RoleBinding or ClusterRoleBinding (old NULL on create). */
void api_rbac_validate(const struct api_kind *k, const json_t *obj, const json_t *old, struct api_errs *e);
/* kube's path.IsValidPathSegmentName: NULL when name is valid, else the message. */
const char *api_check_path_segment_name(const char *name);

#endif
