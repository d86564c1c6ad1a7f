/* test_rbac.c - the RBAC authorizer without a server: the examples of Kubernetes' "Using
 * RBAC Authorization" page (pod-reader, secret-reader, read-secrets-global, resourceNames,
 * subresources, nonResourceURLs, aggregated ClusterRoles, ServiceAccount subjects), the
 * escalation check and kube's 403 wording. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rbac.h"
#include "base/buf.h"
#include "harness/t.h"

/* A set from a JSON array of objects (single quotes stand for double quotes). */
static struct rbac_set *set_of(const char *json)
{
	char *s = strdup(json);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t je;
	json_t *a = json_loads(s, 0, &je);
	free(s);
	if (!a)
		fprintf(stderr, "bad test JSON: %s at %d\n", je.text, je.position);
	struct rbac_set *set = rbac_set_new();
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o) rbac_set_add(set, o);
	json_decref(a);
	rbac_set_seal(set);
	return set;
}

static bool can(const struct rbac_set *s, const char *user, const char *group, const char *verb,
		const char *ns, const char *api_group, const char *res, const char *sub, const char *name)
{
	struct auth_user u;
	auth_user_init(&u, user);
	if (group)
		auth_user_add_group(&u, group);
	auth_user_add_group(&u, "system:authenticated");
	struct auth_attrs a = {.resource_request = true,
			       .verb = verb,
			       .ns = ns,
			       .group = api_group,
			       .resource = res,
			       .sub = sub,
			       .name = name};
	bool ok = rbac_authorize(s, &u, &a, NULL, 0);
	auth_user_fini(&u);
	return ok;
}

static bool can_path(const struct rbac_set *s, const char *user, const char *verb, const char *path)
{
	struct auth_user u;
	auth_user_init(&u, user);
	struct auth_attrs a = {.verb = verb, .path = path};
	bool ok = rbac_authorize(s, &u, &a, NULL, 0);
	auth_user_fini(&u);
	return ok;
}

#define ROLE(ns, name, rules)                                                                                \
	"{'kind':'Role','metadata':{'namespace':'" ns "','name':'" name "'},'rules':[" rules "]}"
#define CROLE(name, rules) "{'kind':'ClusterRole','metadata':{'name':'" name "'},'rules':[" rules "]}"
#define RB(ns, name, rkind, rname, subjects)                                                                 \
	"{'kind':'RoleBinding','metadata':{'namespace':'" ns "','name':'" name "'},'roleRef':{'apiGroup':"   \
	"'rbac.authorization.k8s.io','kind':'" rkind "','name':'" rname "'},'subjects':[" subjects "]}"
#define CRB(name, rname, subjects)                                                                           \
	"{'kind':'ClusterRoleBinding','metadata':{'name':'" name "'},'roleRef':{'apiGroup':"                 \
	"'rbac.authorization.k8s.io','kind':'ClusterRole','name':'" rname "'},'subjects':[" subjects "]}"
#define USER(n) "{'kind':'User','name':'" n "','apiGroup':'rbac.authorization.k8s.io'}"
#define GROUP(n) "{'kind':'Group','name':'" n "','apiGroup':'rbac.authorization.k8s.io'}"

/* The rule tables below are JSON built from string macros, laid out by hand. */
/* clang-format off */
TEST(rbac_role_and_rolebinding_one_namespace)
{
	/* Docs: Role pod-reader in default; RoleBinding read-pods to User jane. */
	struct rbac_set *s = set_of("[" ROLE("default", "pod-reader",
					     "{'apiGroups':[''],'resources':['pods'],'verbs':['get','watch','list']}") ","
					RB("default", "read-pods", "Role", "pod-reader", USER("jane")) "]");
	ASSERT(can(s, "jane", NULL, "get", "default", "", "pods", NULL, "p1"));
	ASSERT(can(s, "jane", NULL, "list", "default", "", "pods", NULL, NULL));
	ASSERT(!can(s, "jane", NULL, "create", "default", "", "pods", NULL, NULL));
	ASSERT(!can(s, "jane", NULL, "list", "kube-system", "", "pods", NULL, NULL));
	ASSERT(!can(s, "jane", NULL, "list", NULL, "", "pods", NULL, NULL)); /* all namespaces */
	ASSERT(!can(s, "jane", NULL, "list", "default", "", "services", NULL, NULL));
	ASSERT(!can(s, "jane", NULL, "list", "default", "apps", "pods", NULL, NULL));
	ASSERT(!can(s, "bob", NULL, "get", "default", "", "pods", NULL, "p1"));
	/* A subresource is not its resource. */
	ASSERT(!can(s, "jane", NULL, "get", "default", "", "pods", "log", "p1"));
	rbac_set_free(s);
}

TEST(rbac_clusterrole_in_rolebinding_and_clusterrolebinding)
{
	/* Docs: ClusterRole secret-reader; RoleBinding read-secrets in development to dave;
	 * ClusterRoleBinding read-secrets-global to Group manager. */
	struct rbac_set *s = set_of(
	    "[" CROLE("secret-reader", "{'apiGroups':[''],'resources':['secrets'],'verbs':['get','watch','list']}") ","
	    RB("development", "read-secrets", "ClusterRole", "secret-reader", USER("dave")) ","
	    CRB("read-secrets-global", "secret-reader", GROUP("manager")) "]");
	ASSERT(can(s, "dave", NULL, "get", "development", "", "secrets", NULL, "s"));
	ASSERT(!can(s, "dave", NULL, "get", "default", "", "secrets", NULL, "s"));
	ASSERT(!can(s, "dave", NULL, "list", NULL, "", "secrets", NULL, NULL));
	ASSERT(can(s, "x", "manager", "list", NULL, "", "secrets", NULL, NULL));
	ASSERT(can(s, "x", "manager", "get", "anywhere", "", "secrets", NULL, "s"));
	ASSERT(!can(s, "x", "manager", "delete", "anywhere", "", "secrets", NULL, "s"));
	/* The reason names the binding, as kube's does. */
	struct auth_user u;
	auth_user_init(&u, "m");
	auth_user_add_group(&u, "manager");
	struct auth_attrs a = {.resource_request = true, .verb = "get", .ns = "n", .group = "", .resource = "secrets"};
	char reason[256];
	ASSERT(rbac_authorize(s, &u, &a, reason, sizeof(reason)));
	ASSERT_STR_EQ(reason, "RBAC: allowed by ClusterRoleBinding \"read-secrets-global\" of ClusterRole "
			      "\"secret-reader\" to Group \"manager\"");
	auth_user_fini(&u);
	rbac_set_free(s);
}

TEST(rbac_resource_names_subresources_wildcards)
{
	struct rbac_set *s = set_of(
	    "[" ROLE("default", "configmap-updater",
		     "{'apiGroups':[''],'resources':['configmaps'],'resourceNames':['my-configmap'],'verbs':['update','get']}")
	    "," ROLE("default", "pod-and-pod-logs-reader",
		     "{'apiGroups':[''],'resources':['pods','pods/log'],'verbs':['get','list']}")
	    "," CROLE("all-status", "{'apiGroups':['*'],'resources':['*/status'],'verbs':['*']}")
	    "," RB("default", "b1", "Role", "configmap-updater", USER("u"))
	    "," RB("default", "b2", "Role", "pod-and-pod-logs-reader", USER("u"))
	    "," CRB("b3", "all-status", USER("st")) "]");
	ASSERT(can(s, "u", NULL, "get", "default", "", "configmaps", NULL, "my-configmap"));
	ASSERT(!can(s, "u", NULL, "get", "default", "", "configmaps", NULL, "other"));
	ASSERT(!can(s, "u", NULL, "list", "default", "", "configmaps", NULL, NULL)); /* no name: no match */
	ASSERT(can(s, "u", NULL, "get", "default", "", "pods", "log", "p"));
	ASSERT(!can(s, "u", NULL, "get", "default", "", "pods", "exec", "p"));
	ASSERT(can(s, "st", NULL, "patch", "x", "apps", "deployments", "status", "d"));
	ASSERT(!can(s, "st", NULL, "patch", "x", "apps", "deployments", NULL, "d"));
	rbac_set_free(s);
}

TEST(rbac_non_resource_urls)
{
	struct rbac_set *s = set_of(
	    "[" CROLE("health", "{'nonResourceURLs':['/healthz','/healthz/*'],'verbs':['get','post']}") ","
	    CRB("h", "health", USER("u")) "]");
	ASSERT(can_path(s, "u", "get", "/healthz"));
	ASSERT(can_path(s, "u", "post", "/healthz/etcd"));
	ASSERT(!can_path(s, "u", "get", "/healthzz"));
	ASSERT(!can_path(s, "u", "delete", "/healthz"));
	ASSERT(!can_path(s, "u", "get", "/metrics"));
	/* A resource rule never grants a path and a path rule never a resource. */
	ASSERT(!can(s, "u", NULL, "get", NULL, "", "healthz", NULL, NULL));
	rbac_set_free(s);
}

TEST(rbac_aggregated_clusterroles)
{
	/* Docs: monitoring aggregates by label rbac.example.com/aggregate-to-monitoring; and
	 * chains (view -> edit -> admin) as the default roles do. */
	struct rbac_set *s = set_of(
	    "[{'kind':'ClusterRole','metadata':{'name':'monitoring'},'aggregationRule':{'clusterRoleSelectors':[{"
	    "'matchLabels':{'rbac.example.com/aggregate-to-monitoring':'true'}}]},'rules':[]},"
	    "{'kind':'ClusterRole','metadata':{'name':'monitoring-endpoints','labels':{'rbac.example.com/"
	    "aggregate-to-monitoring':'true'}},'rules':[{'apiGroups':[''],'resources':['services','endpointslices',"
	    "'pods'],'verbs':['get','list','watch']}]},"
	    "{'kind':'ClusterRole','metadata':{'name':'admin'},'aggregationRule':{'clusterRoleSelectors':[{"
	    "'matchLabels':{'agg-admin':'true'}}]}},"
	    "{'kind':'ClusterRole','metadata':{'name':'edit','labels':{'agg-admin':'true'}},'aggregationRule':{"
	    "'clusterRoleSelectors':[{'matchLabels':{'agg-edit':'true'}}]}},"
	    "{'kind':'ClusterRole','metadata':{'name':'view','labels':{'agg-edit':'true'}},'rules':[{'apiGroups':"
	    "[''],'resources':['pods'],'verbs':['list']}]}," CRB("m", "monitoring", USER("mon")) ","
	    CRB("a", "admin", USER("adm")) "]");
	ASSERT(can(s, "mon", NULL, "list", "x", "", "services", NULL, NULL));
	ASSERT(!can(s, "mon", NULL, "delete", "x", "", "services", NULL, "s"));
	ASSERT(can(s, "adm", NULL, "list", "x", "", "pods", NULL, NULL)); /* view -> edit -> admin */
	json_t *r = rbac_role_rules(s, "ClusterRole", NULL, "admin");
	ASSERT_INT_EQ(json_array_size(r), 1);
	json_decref(r);
	rbac_set_free(s);
}

TEST(rbac_service_account_subjects)
{
	struct rbac_set *s = set_of(
	    "[" ROLE("ns1", "svc-lister", "{'apiGroups':[''],'resources':['services'],'verbs':['list']}") ","
	    RB("ns1", "b", "Role", "svc-lister", "{'kind':'ServiceAccount','name':'app'}") ","
	    CRB("c", "sr", "{'kind':'ServiceAccount','name':'default','namespace':'kube-system'}") ","
	    CROLE("sr", "{'apiGroups':[''],'resources':['secrets'],'verbs':['get']}") "]");
	/* A subject without a namespace is the binding's namespace. */
	ASSERT(can(s, "system:serviceaccount:ns1:app", NULL, "list", "ns1", "", "services", NULL, NULL));
	ASSERT(!can(s, "system:serviceaccount:ns2:app", NULL, "list", "ns1", "", "services", NULL, NULL));
	ASSERT(can(s, "system:serviceaccount:kube-system:default", NULL, "get", "ns9", "", "secrets", NULL, "x"));
	ASSERT(!can(s, "app", NULL, "list", "ns1", "", "services", NULL, NULL));
	rbac_set_free(s);
}

TEST(rbac_missing_role_and_unknown_subject_grant_nothing)
{
	struct rbac_set *s = set_of("[" RB("n", "b", "Role", "nope", USER("u")) ","
				    CRB("c", "nope", USER("u")) ","
				    RB("n", "d", "Role", "r", "{'kind':'Robot','name':'u'}") ","
				    ROLE("n", "r", "{'apiGroups':['*'],'resources':['*'],'verbs':['*']}") "]");
	ASSERT(!can(s, "u", NULL, "get", "n", "", "pods", NULL, "p"));
	ASSERT(!can(NULL, "u", NULL, "get", "n", "", "pods", NULL, "p"));
	rbac_set_free(s);
}

TEST(rbac_escalation_covers)
{
	struct rbac_set *s = set_of(
	    "[" ROLE("a", "r", "{'apiGroups':[''],'resources':['pods','secrets'],'verbs':['get','list']},"
			       "{'apiGroups':['apps'],'resources':['*'],'verbs':['*']}") ","
	    RB("a", "b", "Role", "r", USER("bob")) "]");
	struct auth_user u;
	auth_user_init(&u, "bob");
	auth_user_add_group(&u, "system:authenticated");
	json_t *ok = json_loads("[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]},"
				"{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments/scale\"],\"verbs\":[\"update\"],"
				"\"resourceNames\":[\"d\"]}]",
				0, NULL);
	ASSERT(rbac_rules_covered(s, &u, "a", ok, NULL));
	/* Not in another namespace, nor cluster-wide. */
	ASSERT(!rbac_rules_covered(s, &u, "b", ok, NULL));
	ASSERT(!rbac_rules_covered(s, &u, NULL, ok, NULL));
	json_t *bad = json_loads("[{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"nodes\"],\"verbs\":[\"get\",\"delete\"]},"
				 "{\"nonResourceURLs\":[\"/metrics\"],\"verbs\":[\"get\"]}]",
				 0, NULL);
	struct buf m;
	buf_init(&m);
	ASSERT(!rbac_rules_covered(s, &u, "a", bad, &m));
	ASSERT_STR_EQ(m.data, "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}\n"
			      "{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\" \"delete\"]}\n"
			      "{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}");
	/* A wildcard is only covered by a wildcard. */
	json_t *star = json_loads("[{\"apiGroups\":[\"\"],\"resources\":[\"*\"],\"verbs\":[\"get\"]}]", 0, NULL);
	ASSERT(!rbac_rules_covered(s, &u, "a", star, NULL));
	buf_fini(&m);
	json_decref(ok);
	json_decref(bad);
	json_decref(star);
	auth_user_fini(&u);
	rbac_set_free(s);
}

TEST(rbac_forbidden_messages)
{
	struct auth_user u;
	auth_user_init(&u, "x");
	struct auth_attrs a = {.resource_request = true, .verb = "list", .ns = "y", .group = "", .resource = "services"};
	char *m = auth_forbidden_message(&u, &a, "");
	ASSERT_STR_EQ(m, "User \"x\" cannot list resource \"services\" in API group \"\" in the namespace \"y\"");
	free(m);
	struct auth_attrs b = {.resource_request = true, .verb = "create", .group = "", .resource = "pods",
			       .sub = "exec", .name = "p"};
	m = auth_forbidden_message(&u, &b, "no relationship found");
	ASSERT_STR_EQ(m, "User \"x\" cannot create resource \"pods/exec\" in API group \"\" at the cluster scope: no "
			 "relationship found");
	free(m);
	struct auth_attrs c = {.verb = "get", .path = "/metrics"};
	m = auth_forbidden_message(&u, &c, NULL);
	ASSERT_STR_EQ(m, "User \"x\" cannot get path \"/metrics\"");
	free(m);
	auth_user_fini(&u);
}

/* clang-format on */

TEST(rbac_many_bindings)
{
	/* 1,000 namespaces each with a Role and a RoleBinding: each user holds exactly his own. */
	struct rbac_set *s = rbac_set_new();
	for (int i = 0; i < 1000; i++) {
		char ns[16], user[16];
		snprintf(ns, sizeof(ns), "ns%d", i);
		snprintf(user, sizeof(user), "u%d", i);
		json_t *r = json_pack("{s:s, s:{s:s, s:s}, s:[{s:[s], s:[s], s:[s]}]}", "kind", "Role",
				      "metadata", "namespace", ns, "name", "r", "rules", "apiGroups", "",
				      "resources", "pods", "verbs", "get");
		json_t *b = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:[{s:s, s:s}]}", "kind",
				      "RoleBinding", "metadata", "namespace", ns, "name", "b", "roleRef",
				      "kind", "Role", "name", "r", "subjects", "kind", "User", "name", user);
		rbac_set_add(s, r);
		rbac_set_add(s, b);
		json_decref(r);
		json_decref(b);
	}
	rbac_set_seal(s);
	ASSERT_INT_EQ(rbac_set_count(s), 2000);
	ASSERT(can(s, "u517", NULL, "get", "ns517", "", "pods", NULL, "p"));
	ASSERT(!can(s, "u517", NULL, "get", "ns518", "", "pods", NULL, "p"));
	ASSERT(can(s, "u0", NULL, "get", "ns0", "", "pods", NULL, "p"));
	ASSERT(can(s, "u999", NULL, "get", "ns999", "", "pods", NULL, "p"));
	rbac_set_free(s);
}

/* A JSON object from test JSON with single quotes for double quotes. */
static json_t *obj_of(const char *json)
{
	char *s = strdup(json);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *o = json_loads(s, 0, NULL);
	free(s);
	return o;
}

TEST(rbac_reconcile_roles)
{
	json_t *want =
	    obj_of("{'kind':'ClusterRole','metadata':{'name':'r','labels':{'a':'1'},"
		   "'annotations':{'rbac.authorization.kubernetes.io/autoupdate':'true'}},"
		   "'rules':[{'apiGroups':[''],'resources':['pods','services'],'verbs':['get','list']},"
		   "{'nonResourceURLs':['/healthz'],'verbs':['get']}]}");
	bool re;
	/* As the default: nothing to do. */
	ASSERT(rbac_reconcile(want, want, &re) == NULL);
	/* A rule that covers more (a wildcard) also covers the default's. */
	json_t *wide = obj_of("{'kind':'ClusterRole','metadata':{'name':'r','labels':{'a':'1'},"
			      "'annotations':{'rbac.authorization.kubernetes.io/autoupdate':'true'}},"
			      "'rules':[{'apiGroups':['*'],'resources':['*'],'verbs':['*']},"
			      "{'nonResourceURLs':['/health*'],'verbs':['get']}]}");
	ASSERT(rbac_reconcile(wide, want, &re) == NULL);
	/* An admin dropped a verb, a label and an added rule of its own: the verb and label
	 * come back (one atomic rule per missing verb), the admin's rule and label value stay. */
	json_t *cut = obj_of("{'kind':'ClusterRole','metadata':{'name':'r','labels':{'b':'2'},"
			     "'annotations':{'rbac.authorization.kubernetes.io/autoupdate':'true'}},"
			     "'rules':[{'apiGroups':[''],'resources':['pods','services'],'verbs':['get']},"
			     "{'apiGroups':['apps'],'resources':['deployments'],'verbs':['get']}]}");
	json_t *got = rbac_reconcile(cut, want, &re);
	ASSERT(got != NULL && !re);
	char *s = json_dumps(json_object_get(got, "rules"), JSON_COMPACT);
	ASSERT_STR_EQ(s, "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"services\"],\"verbs\":[\"get\"]},"
			 "{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments\"],\"verbs\":[\"get\"]},"
			 "{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"list\"]},"
			 "{\"apiGroups\":[\"\"],\"resources\":[\"services\"],\"verbs\":[\"list\"]},"
			 "{\"nonResourceURLs\":[\"/healthz\"],\"verbs\":[\"get\"]}]");
	free(s);
	s = json_dumps(json_object_get(json_object_get(got, "metadata"), "labels"),
		       JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(s, "{\"a\":\"1\",\"b\":\"2\"}");
	free(s);
	/* Reconciled once, it is stable. */
	ASSERT(rbac_reconcile(got, want, &re) == NULL);
	json_decref(got);
	/* autoupdate "false": left as the admin made it. */
	json_object_set_new(json_object_get(json_object_get(cut, "metadata"), "annotations"),
			    "rbac.authorization.kubernetes.io/autoupdate", json_string("false"));
	ASSERT(rbac_reconcile(cut, want, &re) == NULL);
	json_decref(cut);
	json_decref(wide);
	json_decref(want);

	/* Aggregation: a missing selector comes back, rules are the aggregator's business. */
	json_t *agg = obj_of("{'kind':'ClusterRole','metadata':{'name':'view'},'aggregationRule':{"
			     "'clusterRoleSelectors':[{'matchLabels':{'x':'true'}}]},'rules':[]}");
	json_t *agg_have = obj_of("{'kind':'ClusterRole','metadata':{'name':'view'},'aggregationRule':{"
				  "'clusterRoleSelectors':[{'matchLabels':{'mine':'true'}}]},"
				  "'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get']}]}");
	got = rbac_reconcile(agg_have, agg, &re);
	ASSERT(got != NULL);
	s = json_dumps(json_object_get(got, "aggregationRule"), JSON_COMPACT);
	ASSERT_STR_EQ(s, "{\"clusterRoleSelectors\":[{\"matchLabels\":{\"mine\":\"true\"}},"
			 "{\"matchLabels\":{\"x\":\"true\"}}]}");
	free(s);
	json_decref(got);
	json_decref(agg_have);
	json_decref(agg);
}

TEST(rbac_reconcile_bindings)
{
	json_t *want =
	    obj_of("{'kind':'ClusterRoleBinding','metadata':{'name':'b'},"
		   "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'r'},"
		   "'subjects':[{'kind':'Group','name':'system:authenticated'}]}");
	bool re;
	ASSERT(rbac_reconcile(want, want, &re) == NULL);
	/* The default subject removed, another added by the admin: both kept. */
	json_t *have =
	    obj_of("{'kind':'ClusterRoleBinding','metadata':{'name':'b'},"
		   "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'r'},"
		   "'subjects':[{'kind':'User','name':'jane'}]}");
	json_t *got = rbac_reconcile(have, want, &re);
	ASSERT(got != NULL && !re);
	ASSERT_INT_EQ(json_array_size(json_object_get(got, "subjects")), 2);
	ASSERT(rbac_reconcile(got, want, &re) == NULL);
	json_decref(got);
	/* Another roleRef: replaced, and the caller told it is a re-creation. */
	json_object_set_new(json_object_get(have, "roleRef"), "name", json_string("other"));
	got = rbac_reconcile(have, want, &re);
	ASSERT(got != NULL && re);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(got, "roleRef"), "name")), "r");
	json_decref(got);
	json_decref(have);
	json_decref(want);
}
