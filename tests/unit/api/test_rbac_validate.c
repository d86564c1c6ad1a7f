/* test_rbac_validate.c - validation and defaults of the RBAC kinds (api/rbac.c), with
 * kube-apiserver's field paths and messages. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/kinds.h"
#include "api/rbac.h"
#include "api/schema.h"
#include "harness/t.h"

static char *errs_of(const char *plural, const char *json, const char *old_json)
{
	const struct api_kind *k = api_kind_by_plural(API_RBAC_GROUP, "v1", plural);
	json_t *o = json_loads(json, 0, NULL), *old = old_json ? json_loads(old_json, 0, NULL) : NULL;
	api_default(k, o);
	struct api_errs e;
	api_errs_init(&e);
	api_validate(k, o, old, &e);
	char *s = strdup("");
	for (size_t i = 0; i < api_errs_count(&e); i++) {
		json_t *c = json_array_get(e.causes, i);
		char *n = NULL;
		if (asprintf(&n, "%s%s%s: %s", s, i ? "\n" : "",
			     json_string_value(json_object_get(c, "field")),
			     json_string_value(json_object_get(c, "message"))) < 0)
			abort();
		free(s);
		s = n;
	}
	api_errs_fini(&e);
	json_decref(o);
	json_decref(old);
	return s;
}

#define META_NS "\"metadata\":{\"name\":\"system:x\",\"namespace\":\"a\"}"
#define META "\"metadata\":{\"name\":\"system:x\"}"
#define REF(kind)                                                                                            \
	"\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"" kind "\",\"name\":\"r\"}"

TEST(rbac_validate_roles)
{
	char *s = errs_of("roles",
			  "{" META_NS
			  ",\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]}]}",
			  NULL);
	ASSERT_STR_EQ(s, ""); /* a name with ':' is a valid path segment */
	free(s);
	s = errs_of(
	    "roles",
	    "{" META_NS
	    ",\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"]},{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/x\"]},{\"verbs\":[\"get\"]}]}",
	    NULL);
	ASSERT_STR_CONTAINS(s, "rules[0].verbs: Required value: verbs must contain at least one value");
	ASSERT_STR_CONTAINS(
	    s,
	    "rules[1].nonResourceURLs: Invalid value: [\"/x\"]: namespaced rules cannot apply to non-resource URLs");
	ASSERT_STR_CONTAINS(
	    s, "rules[2].apiGroups: Required value: resource rules must supply at least one api group");
	ASSERT_STR_CONTAINS(
	    s, "rules[2].resources: Required value: resource rules must supply at least one resource");
	free(s);
	s = errs_of(
	    "clusterroles",
	    "{" META
	    ",\"rules\":[{\"verbs\":[\"get\"],\"nonResourceURLs\":[\"/x\"],\"resources\":[\"pods\"]}]}",
	    NULL);
	ASSERT_STR_CONTAINS(s, "rules cannot apply to both regular resources and non-resource URLs");
	free(s);
	s = errs_of("clusterroles", "{\"metadata\":{\"name\":\"a/b\"}}", NULL);
	ASSERT_STR_CONTAINS(s, "metadata.name: Invalid value: \"a/b\": may not contain '/'");
	free(s);
}

TEST(rbac_validate_bindings)
{
	char *s = errs_of(
	    "rolebindings",
	    "{" META_NS "," REF(
		"Role") ",\"subjects\":[{\"kind\":\"User\",\"name\":\"u\"},{\"kind\":\"ServiceAccount\",\"name\":\"sa\"}]}",
	    NULL);
	ASSERT_STR_EQ(s, ""); /* User apiGroup defaulted; SA namespace = the binding's */
	free(s);
	s = errs_of(
	    "clusterrolebindings",
	    "{" META "," REF(
		"Role") ",\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"sa\"},{\"kind\":\"Robot\",\"name\":\"r\"},{\"kind\":\"Group\",\"name\":\"g\",\"apiGroup\":\"x\"},{\"kind\":\"User\"}]}",
	    NULL);
	ASSERT_STR_CONTAINS(s,
			    "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"");
	ASSERT_STR_CONTAINS(s, "subjects[0].namespace: Required value");
	ASSERT_STR_CONTAINS(
	    s,
	    "subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"");
	ASSERT_STR_CONTAINS(
	    s,
	    "subjects[2].apiGroup: Unsupported value: \"x\": supported values: \"rbac.authorization.k8s.io\"");
	ASSERT_STR_CONTAINS(s, "subjects[3].name: Required value");
	free(s);
	s = errs_of("rolebindings", "{" META_NS ",\"roleRef\":{\"apiGroup\":\"x\",\"kind\":\"Role\"}}", NULL);
	ASSERT_STR_CONTAINS(s, "roleRef.apiGroup: Unsupported value: \"x\"");
	ASSERT_STR_CONTAINS(s, "roleRef.name: Required value");
	free(s);
	s = errs_of("rolebindings", "{" META_NS "," REF("Role") "}", "{" META_NS "," REF("ClusterRole") "}");
	ASSERT_STR_CONTAINS(s, "roleRef: Invalid value: ");
	ASSERT_STR_CONTAINS(s, "cannot change roleRef");
	free(s);
}
