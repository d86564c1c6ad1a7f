/* rbac.h - who the requester is, what a request asks, and the RBAC authorizer.
 *
 * Pure: the rules are Role, ClusterRole, RoleBinding and ClusterRoleBinding objects
 * (rbac.authorization.k8s.io/v1 JSON) compiled once into a struct rbac_set; a decision
 * is a function of the set, the user and the request attributes, with the reason
 * Kubernetes gives. No I/O and no locks: the API server builds a new set when an RBAC
 * object changes and shares the built one read-only between request threads.
 *
 * Semantics are kube's (plugin/pkg/auth/authorizer/rbac and rbac/validation):
 *   - a ClusterRoleBinding grants its ClusterRole everywhere (cluster scope and every
 *     namespace); a RoleBinding grants its Role or ClusterRole in its namespace only;
 *   - a rule matches when its verbs, apiGroups, resources ("res", "res/sub", "*", or
 *     a star-slash-subresource)
 *     and resourceNames (empty = any) match, or, for a non-resource request, its
 *     nonResourceURLs ("*", exact, or a prefix ending in "*") and verbs;
 *   - subjects are User (by name), Group (by any of the user's groups) and
 *     ServiceAccount (as user "system:serviceaccount:<ns>:<name>");
 *   - a ClusterRole with an aggregationRule holds the rules of every ClusterRole whose
 *     labels match one of its selectors (as kube's aggregation controller writes them);
 *   - nothing matches: denied with no reason (kube's RBAC answers NoOpinion).
 * Superusers (group system:masters) are allowed by the caller before asking here.
 */
#ifndef AUTH_RBAC_H
#define AUTH_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/vec.h"

struct buf;

/* An authenticated identity. Owns its strings (auth_user_fini frees them). */
struct auth_user {
	char *name;
	char *uid;	    /* may be NULL */
	VEC(char *) groups; /* base/vec.h */
};

void auth_user_init(struct auth_user *u, const char *name);
/* Adds group g unless the user already has it. */
void auth_user_add_group(struct auth_user *u, const char *g);
bool auth_user_in_group(const struct auth_user *u, const char *g);
void auth_user_copy(struct auth_user *dst, const struct auth_user *src);
void auth_user_fini(struct auth_user *u);
/* The groups as a JSON array of strings (new reference). */
json_t *auth_user_groups_json(const struct auth_user *u);

/* What one request asks (kube's authorizer.Attributes). Strings are borrowed; "" or NULL
 * both mean "none". */
struct auth_attrs {
	bool resource_request;
	const char *verb;	    /* get list watch create update patch delete deletecollection ...; for a
				     * non-resource request the lower-case HTTP method (get, post, ...) */
	const char *ns;		    /* namespace, or none for cluster scope */
	const char *group;	    /* API group ("" = core) */
	const char *resource;	    /* plural */
	const char *sub;	    /* subresource */
	const char *name;	    /* object name */
	const char *path;	    /* non-resource requests: the URL path */
	const char *field_selector; /* list/watch: the fieldSelector asked for, or NULL (only the
				     * Node authorizer looks at it) */
};

struct rbac_set;

/* An empty set; add objects, then seal before use. */
struct rbac_set *rbac_set_new(void);
/* Compiles one object by its "kind" (Role, ClusterRole, RoleBinding, ClusterRoleBinding);
 * other kinds are ignored. obj is borrowed (nothing of it is kept). Returns 0, or -EINVAL
 * when it is not an object. Not after rbac_set_seal. */
int rbac_set_add(struct rbac_set *s, const json_t *obj);
/* Resolves aggregation and indexes the set. After this the set is read-only and may be
 * shared between threads. */
void rbac_set_seal(struct rbac_set *s);
void rbac_set_free(struct rbac_set *s);		 /* NULL is a no-op */
size_t rbac_set_count(const struct rbac_set *s); /* roles + bindings compiled */

/* Allowed or not; on allow, reason (if reasonlen > 0) says which binding allowed it, as
 * kube's RBAC does ("RBAC: allowed by ClusterRoleBinding \"b\" of ClusterRole \"r\" to
 * Group \"g\""); on deny reason is "". */
bool rbac_authorize(const struct rbac_set *s, const struct auth_user *u, const struct auth_attrs *a,
		    char *reason, size_t reasonlen);

/* Escalation check (kube's ConfirmNoEscalation): true when every PolicyRule of rules (a
 * JSON array) is covered by rules u already holds where the new object applies: in
 * namespace ns through RoleBindings there and ClusterRoleBindings, or cluster-wide (ns
 * NULL or "") through ClusterRoleBindings only. Otherwise false and each rule not covered
 * is appended to missing (if not NULL) in kube's form, one per line:
 *   {APIGroups:[""], Resources:["pods"], Verbs:["create"]}                           */
bool rbac_rules_covered(const struct rbac_set *s, const struct auth_user *u, const char *ns,
			const json_t *rules, struct buf *missing);
/* kube's reconciliation of its default RBAC objects at start (pkg/registry/rbac/
 * reconciliation, union mode): existing is the stored object, expected the default. NULL
 * when existing needs no change or carries rbac.authorization.kubernetes.io/autoupdate:
 * "false"; otherwise the object to store (new reference): existing plus expected's missing
 * labels and annotations (existing values win), for a role the rules it does not cover
 * (appended broken down, one verb each, as kube's Covers gives them) and the missing
 * aggregation selectors (an aggregationRule the default lacks is removed), for a binding
 * the missing subjects and expected's roleRef (*recreate is then true: roleRef is
 * immutable, so the caller deletes and creates). */
json_t *rbac_reconcile(const json_t *existing, const json_t *expected, bool *recreate);
/* The rules a binding's roleRef grants (a JSON array, new reference; aggregation
 * applied): kind "Role" looks in namespace ns, "ClusterRole" cluster-wide. NULL when the
 * role does not exist. */
json_t *rbac_role_rules(const struct rbac_set *s, const char *kind, const char *ns, const char *name);
/* Every rule u holds in namespace ns (SelfSubjectRulesReview): a JSON array of
 * PolicyRules (resource and non-resource mixed), new reference. */
json_t *rbac_user_rules(const struct rbac_set *s, const struct auth_user *u, const char *ns);

/* kube's forbiddenMessage plus ": reason" when reason is not empty:
 *   User "u" cannot list resource "services" in API group "" in the namespace "n"
 *   User "u" cannot get resource "nodes" in API group "" at the cluster scope
 *   User "u" cannot get path "/metrics"
 * Heap string. */
char *auth_forbidden_message(const struct auth_user *u, const struct auth_attrs *a, const char *reason);

#endif
