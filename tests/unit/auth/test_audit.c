/* test_audit.c - audit policy levels: first matching rule wins, each field's matching. */
#include <jansson.h>
#include <string.h>

#include "auth/audit.h"
#include "harness/t.h"

static const char policy_json[] =
    "{\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Policy\",\"rules\":["
    "{\"level\":\"None\",\"users\":[\"system:kube-proxy\"],\"verbs\":[\"watch\"]},"
    "{\"level\":\"None\",\"nonResourceURLs\":[\"/healthz*\",\"/version\"]},"
    "{\"level\":\"Metadata\",\"resources\":[{\"group\":\"\",\"resources\":[\"secrets\",\"configmaps\"]}]},"
    "{\"level\":\"RequestResponse\",\"resources\":[{\"group\":\"\",\"resources\":[\"pods/log\",\"pods/status\"]}]},"
    "{\"level\":\"Request\",\"userGroups\":[\"system:nodes\"],\"namespaces\":[\"kube-system\"]},"
    "{\"level\":\"Request\",\"resources\":[{\"group\":\"apps\",\"resources\":[\"deployments/*\"],\"resourceNames\":[\"web\"]}]},"
    "{\"level\":\"Metadata\",\"omitStages\":[\"RequestReceived\"]}]}";

static enum auth_audit_level lvl(const json_t *p, const char *user, const char *group, const char *verb,
				 const char *ns, const char *g, const char *res, const char *sub,
				 const char *name, const char *path)
{
	struct auth_user u;
	auth_user_init(&u, user);
	if (group)
		auth_user_add_group(&u, group);
	struct auth_attrs a = {.resource_request = path == NULL,
			       .verb = verb,
			       .ns = ns,
			       .group = g,
			       .resource = res,
			       .sub = sub,
			       .name = name,
			       .path = path};
	enum auth_audit_level l = auth_audit_level(p, &u, &a);
	auth_user_fini(&u);
	return l;
}

TEST(audit_policy_levels)
{
	json_t *p = json_loads(policy_json, 0, NULL);
	char err[256];
	ASSERT_INT_EQ(auth_audit_policy_check(p, err, sizeof(err)), 0);
	ASSERT_INT_EQ(lvl(p, "system:kube-proxy", NULL, "watch", NULL, "", "services", NULL, NULL, NULL),
		      AUTH_AUDIT_NONE);
	ASSERT_INT_EQ(lvl(p, "system:kube-proxy", NULL, "list", NULL, "", "services", NULL, NULL, NULL),
		      AUTH_AUDIT_METADATA);
	ASSERT_INT_EQ(lvl(p, "u", NULL, "get", NULL, NULL, NULL, NULL, NULL, "/healthz/etcd"),
		      AUTH_AUDIT_NONE);
	ASSERT_INT_EQ(lvl(p, "u", NULL, "get", NULL, NULL, NULL, NULL, NULL, "/metrics"),
		      AUTH_AUDIT_METADATA);
	ASSERT_INT_EQ(lvl(p, "u", NULL, "get", "a", "", "secrets", NULL, "s", NULL), AUTH_AUDIT_METADATA);
	ASSERT_INT_EQ(lvl(p, "u", NULL, "get", "a", "", "pods", "log", "p", NULL),
		      AUTH_AUDIT_REQUEST_RESPONSE);
	ASSERT_INT_EQ(lvl(p, "u", NULL, "get", "a", "", "pods", NULL, "p", NULL), AUTH_AUDIT_METADATA);
	ASSERT_INT_EQ(
	    lvl(p, "system:node:n1", "system:nodes", "patch", "kube-system", "", "pods", "status", "p", NULL),
	    AUTH_AUDIT_REQUEST_RESPONSE);
	ASSERT_INT_EQ(
	    lvl(p, "system:node:n1", "system:nodes", "patch", "kube-system", "", "nodes", NULL, "n1", NULL),
	    AUTH_AUDIT_REQUEST);
	ASSERT_INT_EQ(lvl(p, "x", NULL, "update", "a", "apps", "deployments", "scale", "web", NULL),
		      AUTH_AUDIT_REQUEST);
	ASSERT_INT_EQ(lvl(p, "x", NULL, "update", "a", "apps", "deployments", "scale", "api", NULL),
		      AUTH_AUDIT_METADATA);
	ASSERT_INT_EQ(lvl(p, "x", NULL, "update", "a", "apps", "deployments", NULL, "web", NULL),
		      AUTH_AUDIT_METADATA);
	json_decref(p);
}

TEST(audit_policy_refused)
{
	char err[256];
	json_t *p = json_loads(
	    "{\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Policy\",\"rules\":[{\"level\":\"Loud\"}]}", 0,
	    NULL);
	ASSERT(auth_audit_policy_check(p, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "rules[0].level: Unsupported value: \"Loud\"");
	json_decref(p);
	p = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Policy\",\"rules\":[]}", 0, NULL);
	ASSERT(auth_audit_policy_check(p, err, sizeof(err)) < 0);
	json_decref(p);
	p = json_loads(
	    "{\"apiVersion\":\"audit.k8s.io/v1\",\"kind\":\"Policy\",\"rules\":[{\"level\":\"None\","
	    "\"nonResourceURLs\":[\"/x\"],\"resources\":[{\"group\":\"\"}]}]}",
	    0, NULL);
	ASSERT(auth_audit_policy_check(p, err, sizeof(err)) < 0);
	json_decref(p);
	ASSERT(auth_audit_policy_check(NULL, err, sizeof(err)) < 0);
}
