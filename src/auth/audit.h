/* audit.h - audit policy (audit.k8s.io/v1 Policy) evaluation: which level a request is
 * logged at. Pure; the API server writes the events (apiserver/audit.c).
 *
 * As kube-apiserver's policy checker: rules are tried in order and the first that
 * matches gives the level; no match is None. A rule matches when each of its lists that
 * is set matches: users (the user name), userGroups (any of the user's groups), verbs,
 * namespaces (resource requests; "" stands for cluster-scoped ones), resources (a list
 * of {group, resources, resourceNames}: "pods", "pods/log", "*", or a star for the
 * resource or the subresource part; group "" is core) and nonResourceURLs ("/healthz" or a prefix
 * ending in "*"). A rule with resources or namespaces never matches a non-resource
 * request, and one with nonResourceURLs never a resource request.
 */
#ifndef AUTH_AUDIT_H
#define AUTH_AUDIT_H

#include <jansson.h>

#include "auth/rbac.h"

enum auth_audit_level {
	AUTH_AUDIT_NONE,
	AUTH_AUDIT_METADATA,
	AUTH_AUDIT_REQUEST,
	AUTH_AUDIT_REQUEST_RESPONSE
};

/* Checks a decoded Policy: kind Policy, apiVersion audit.k8s.io/v1, rules with known
 * levels. 0, or -EINVAL with the first problem in err. */
int auth_audit_policy_check(const json_t *policy, char *err, size_t errlen);
/* The level of a request by u with attributes a under policy (checked). */
enum auth_audit_level auth_audit_level(const json_t *policy, const struct auth_user *u,
				       const struct auth_attrs *a);
/* "None", "Metadata", "Request", "RequestResponse". */
const char *auth_audit_level_name(enum auth_audit_level l);

#endif
