/* schema_rbac.c - schemas of rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding
 * and ClusterRoleBinding, modelled completely.
 *
 * Field order, JSON names and protobuf numbers follow k8s.io/api rbac/v1 types.go and
 * generated.proto (Kubernetes 1.33). Their validation and defaults are in api/rbac.c; the
 * authorizer that reads them is auth/rbac.c.
 */
#include "api/schema_defs.h"

#include <string.h>

#define RBAC "io.k8s.api.rbac.v1."

API__SCHEMA(
    static, policy_rule, RBAC "PolicyRule",
    "PolicyRule holds information that describes a policy rule, but does not contain information "
    "about who the rule applies to or which namespace the rule applies to.",
    FSTRS("verbs", 1, REQ,
	  "Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' "
	  "represents all verbs."),
    FSTRS("apiGroups", 2, 0,
	  "APIGroups is the name of the APIGroup that contains the resources.  If multiple API groups "
	  "are specified, any action requested against one of the enumerated resources in any API "
	  "group will be allowed. \"\" represents the core API group and \"*\" represents all API "
	  "groups."),
    FSTRS("resources", 3, 0,
	  "Resources is a list of resources this rule applies to. '*' represents all resources."),
    FSTRS("resourceNames", 4, 0,
	  "ResourceNames is an optional white list of names that the rule applies to.  An empty set "
	  "means that everything is allowed."),
    FSTRS("nonResourceURLs", 5, 0,
	  "NonResourceURLs is a set of partial urls that a user should have access to.  *s are "
	  "allowed, but only as the full, final step in the path."));

API__SCHEMA(static, aggregation_rule, RBAC "AggregationRule",
	    "AggregationRule describes how to locate ClusterRoles to aggregate into the ClusterRole",
	    FLIST("clusterRoleSelectors", api__schema_label_selector, NULL, 1, 0,
		  "ClusterRoleSelectors holds a list of selectors which will be used to find ClusterRoles "
		  "and create the rules. If any of the selectors match, then the ClusterRole's permissions "
		  "will be added"));

API__SCHEMA(static, role_ref, RBAC "RoleRef",
	    "RoleRef contains information that points to the role being used",
	    FSTR("apiGroup", 1, REQ, "APIGroup is the group for the resource being referenced"),
	    FSTR("kind", 2, REQ, "Kind is the type of resource being referenced"),
	    FSTR("name", 3, REQ, "Name is the name of resource being referenced"));

API__SCHEMA(static, subject, RBAC "Subject",
	    "Subject contains a reference to the object or user identities a role binding applies to.  "
	    "This can either hold a direct API object reference, or a value for non-objects such as user "
	    "and group names.",
	    FSTR("kind", 1, REQ,
		 "Kind of object being referenced. Values defined by this API group are \"User\", "
		 "\"Group\", and \"ServiceAccount\". If the Authorizer does not recognized the kind value, "
		 "the Authorizer should report an error."),
	    FSTR("apiGroup", 2, 0,
		 "APIGroup holds the API group of the referenced subject. Defaults to \"\" for "
		 "ServiceAccount subjects. Defaults to \"rbac.authorization.k8s.io\" for User and Group "
		 "subjects."),
	    FSTR("name", 3, REQ, "Name of the object being referenced."),
	    FSTR("namespace", 4, 0,
		 "Namespace of the referenced object.  If the object kind is non-namespace, such as "
		 "\"User\" or \"Group\", and this value is not empty the Authorizer should report an "
		 "error."));

/* The rows Role and ClusterRole share; what names the kind in the rules' description. */
#define ROLE_FIELDS(what)                                                                                    \
	API__TYPE_META, API__OBJECT_META(1, 0),                                                              \
	    FLIST("rules", policy_rule, NULL, 2, 0, "Rules holds all the PolicyRules for this " what)

/* The rows RoleBinding and ClusterRoleBinding share; only roleRef's description differs. */
#define BINDING_FIELDS(role_ref_desc)                                                                        \
	API__TYPE_META, API__OBJECT_META(1, 0),                                                              \
	    FLIST("subjects", subject, NULL, 2, 0,                                                           \
		  "Subjects holds references to the objects the role applies to."),                          \
	    FOBJ("roleRef", role_ref, 3, REQ, role_ref_desc)

API__SCHEMA(, api__schema_role, RBAC "Role",
	    "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a "
	    "RoleBinding.",
	    ROLE_FIELDS("Role"));

API__SCHEMA(, api__schema_cluster_role, RBAC "ClusterRole",
	    "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a "
	    "unit by a RoleBinding or ClusterRoleBinding.",
	    ROLE_FIELDS("ClusterRole"),
	    FOBJ("aggregationRule", aggregation_rule, 3, PTR,
		 "AggregationRule is an optional field that describes how to build the Rules for this "
		 "ClusterRole. If AggregationRule is set, then the Rules are controller managed and direct "
		 "changes to Rules will be stomped by the controller."));

API__SCHEMA(
    , api__schema_role_binding, RBAC "RoleBinding",
    "RoleBinding references a role, but does not contain it.  It can reference a Role in the same "
    "namespace or a ClusterRole in the global namespace. It adds who information via Subjects and "
    "namespace information by which namespace it exists in.  RoleBindings in a given namespace "
    "only have effect in that namespace.",
    BINDING_FIELDS("RoleRef can reference a Role in the current namespace or a ClusterRole in the "
		   "global namespace. If the RoleRef cannot be resolved, the Authorizer must return an "
		   "error. This field is immutable."));

API__SCHEMA(
    , api__schema_cluster_role_binding, RBAC "ClusterRoleBinding",
    "ClusterRoleBinding references a ClusterRole, but not contain it.  It can reference a "
    "ClusterRole in the global namespace, and adds who information via Subject.",
    BINDING_FIELDS("RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef "
		   "cannot be resolved, the Authorizer must return an error. This field is immutable."));

/* ---- authorization.k8s.io/v1 self reviews (request bodies only, never stored) ---- */

#define AUTHZ "io.k8s.api.authorization.v1."

API__SCHEMA(static, resource_attributes, AUTHZ "ResourceAttributes",
	    "ResourceAttributes includes the authorization attributes available for resource requests to the "
	    "Authorizer interface",
	    FSTR("namespace", 1, 0, "Namespace is the namespace of the action being requested."),
	    FSTR("verb", 2, 0, "Verb is a kubernetes resource API verb."),
	    FSTR("group", 3, 0, "Group is the API Group of the Resource.  \"*\" means all."),
	    FSTR("version", 4, 0, "Version is the API Version of the Resource.  \"*\" means all."),
	    FSTR("resource", 5, 0, "Resource is one of the existing resource types.  \"*\" means all."),
	    FSTR("subresource", 6, 0, "Subresource is one of the existing resource types.  \"\" means none."),
	    FSTR("name", 7, 0,
		 "Name is the name of the resource being requested for a \"get\" or deleted for a "
		 "\"delete\". \"\" (empty) means all."));

API__SCHEMA(static, non_resource_attributes, AUTHZ "NonResourceAttributes",
	    "NonResourceAttributes includes the authorization attributes available for non-resource requests "
	    "to the Authorizer interface",
	    FSTR("path", 1, 0, "Path is the URL path of the request"),
	    FSTR("verb", 2, 0, "Verb is the standard HTTP verb"));

API__SCHEMA(static, ssar_spec, AUTHZ "SelfSubjectAccessReviewSpec",
	    "SelfSubjectAccessReviewSpec is a description of the access request.  Exactly one of "
	    "ResourceAuthorizationAttributes and NonResourceAuthorizationAttributes must be set",
	    FOBJ("resourceAttributes", resource_attributes, 1, PTR,
		 "ResourceAuthorizationAttributes describes information for a resource access request"),
	    FOBJ("nonResourceAttributes", non_resource_attributes, 2, PTR,
		 "NonResourceAttributes describes information for a non-resource access request"));

API__SCHEMA(static, ssar, AUTHZ "SelfSubjectAccessReview",
	    "SelfSubjectAccessReview checks whether or the current user can perform an action.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", ssar_spec, 2, REQ, "Spec holds information about the request being evaluated."));

API__SCHEMA(static, ssrr_spec, AUTHZ "SelfSubjectRulesReviewSpec",
	    "SelfSubjectRulesReviewSpec defines the specification for SelfSubjectRulesReview.",
	    FSTR("namespace", 1, 0, "Namespace to evaluate rules for. Required."));

API__SCHEMA(static, ssrr, AUTHZ "SelfSubjectRulesReview",
	    "SelfSubjectRulesReview enumerates the set of actions the current user can perform within a "
	    "namespace.",
	    API__TYPE_META, API__OBJECT_META(1, 0),
	    FOBJ("spec", ssrr_spec, 2, REQ, "Spec holds information about the request being evaluated."));

API__SCHEMA(
    static, ssr, "io.k8s.api.authentication.v1.SelfSubjectReview",
    "SelfSubjectReview contains the user information that the kube-apiserver has about the user making "
    "this request.",
    API__TYPE_META, API__OBJECT_META(1, 0));

API__SCHEMA(static, bound_ref, "io.k8s.api.authentication.v1.BoundObjectReference",
	    "BoundObjectReference is a reference to an object that a token is bound to.",
	    FSTR("kind", 1, 0, "Kind of the referent. Valid kinds are 'Pod' and 'Secret'."),
	    FSTR("apiVersion", 2, 0, "API version of the referent."),
	    FSTR("name", 3, 0, "Name of the referent."), FSTR("uid", 4, 0, "UID of the referent."));

API__SCHEMA(static, token_request_spec, "io.k8s.api.authentication.v1.TokenRequestSpec",
	    "TokenRequestSpec contains client provided parameters of a token request.",
	    FSTRS("audiences", 1, 0, "Audiences are the intendend audiences of the token."),
	    FINT("expirationSeconds", 4, PTR | I64,
		 "ExpirationSeconds is the requested duration of validity of the request."),
	    FOBJ("boundObjectRef", bound_ref, 3, PTR,
		 "BoundObjectRef is a reference to an object that the token will be bound to."));

API__SCHEMA(static, token_request, "io.k8s.api.authentication.v1.TokenRequest",
	    "TokenRequest requests a token for a given service account.", API__TYPE_META,
	    API__OBJECT_META(1, 0),
	    FOBJ("spec", token_request_spec, 2, REQ,
		 "Spec holds information about the request being evaluated"));

/* The review kinds the protobuf decoder may meet, one row each. */
static const struct {
	const char *api_version, *kind;
	const struct api_schema *schema;
} reviews[] = {
    {"authentication.k8s.io/v1", "TokenRequest", &token_request},
    {"authentication.k8s.io/v1", "SelfSubjectReview", &ssr},
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview", &ssar},
    {"authorization.k8s.io/v1", "SelfSubjectRulesReview", &ssrr},
};

const struct api_schema *api__review_schema(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < API__N(reviews); i++)
		if (!strcmp(api_version, reviews[i].api_version) && !strcmp(kind, reviews[i].kind))
			return reviews[i].schema;
	return NULL;
}
