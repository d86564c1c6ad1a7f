/* test_node.c - the Node authorizer and NodeRestriction tables (auth/node.c). */
#include <string.h>

#include "auth/node.h"
#include "harness/t.h"

static enum auth_decision dec(const char *verb, const char *ns, const char *group, const char *res,
			      const char *sub, const char *name, const char *pod_node, char *reason)
{
	struct auth_attrs a = {.resource_request = true,
			       .verb = verb,
			       .ns = ns,
			       .group = group,
			       .resource = res,
			       .sub = sub,
			       .name = name};
	return auth_node_authorize("n1", &a, pod_node, reason, 256);
}

TEST(node_identity_needs_name_and_group)
{
	struct auth_user u;
	auth_user_init(&u, "system:node:n1");
	ASSERT(auth_node_name(&u) == NULL); /* not in system:nodes */
	auth_user_add_group(&u, "system:nodes");
	ASSERT_STR_EQ(auth_node_name(&u), "n1");
	auth_user_fini(&u);
	auth_user_init(&u, "system:node:");
	auth_user_add_group(&u, "system:nodes");
	ASSERT(auth_node_name(&u) == NULL);
	auth_user_fini(&u);
	auth_user_init(&u, "alice");
	auth_user_add_group(&u, "system:nodes");
	ASSERT(auth_node_name(&u) == NULL);
	auth_user_fini(&u);
}

TEST(node_own_objects_only)
{
	char r[256];
	ASSERT_INT_EQ(dec("patch", NULL, "", "nodes", NULL, "n1", NULL, r), AUTH_ALLOW);
	ASSERT_INT_EQ(dec("update", NULL, "", "nodes", "status", "n1", NULL, r), AUTH_ALLOW);
	ASSERT_INT_EQ(dec("patch", NULL, "", "nodes", NULL, "n2", NULL, r), AUTH_DENY);
	ASSERT_STR_EQ(r, "node \"n1\" is not allowed to modify node \"n2\"");
	ASSERT_INT_EQ(dec("delete", NULL, "", "nodes", NULL, "n2", NULL, r), AUTH_DENY);
	ASSERT_INT_EQ(dec("list", NULL, "", "nodes", NULL, NULL, NULL, r), AUTH_ALLOW);
	/* Pods: status and deletion of its own only; never a spec change or a create. */
	ASSERT(auth_node_needs_pod(&(struct auth_attrs){.resource_request = true,
							.verb = "patch",
							.group = "",
							.resource = "pods",
							.sub = "status",
							.name = "p"}));
	ASSERT_INT_EQ(dec("patch", "a", "", "pods", "status", "p", "n1", r), AUTH_ALLOW);
	ASSERT_INT_EQ(dec("patch", "a", "", "pods", "status", "p", "n2", r), AUTH_DENY);
	ASSERT_STR_EQ(r, "node \"n1\" can only update the status of pods with spec.nodeName set to itself");
	ASSERT_INT_EQ(dec("patch", "a", "", "pods", "status", "p", NULL, r), AUTH_DENY);
	ASSERT_INT_EQ(dec("delete", "a", "", "pods", NULL, "p", "n1", r), AUTH_ALLOW);
	ASSERT_INT_EQ(dec("delete", "a", "", "pods", NULL, "p", "n2", r), AUTH_DENY);
	ASSERT_INT_EQ(dec("patch", "a", "", "pods", NULL, "p", "n1", r), AUTH_NO_OPINION);
	ASSERT_INT_EQ(dec("create", "a", "", "pods", NULL, NULL, NULL, r), AUTH_NO_OPINION);
	/* Leases: its own in kube-node-lease. */
	ASSERT_INT_EQ(dec("update", "kube-node-lease", "coordination.k8s.io", "leases", NULL, "n1", NULL, r),
		      AUTH_ALLOW);
	ASSERT_INT_EQ(dec("update", "kube-node-lease", "coordination.k8s.io", "leases", NULL, "n2", NULL, r),
		      AUTH_DENY);
}

TEST(node_never_writes_services)
{
	char r[256];
	ASSERT_INT_EQ(dec("list", NULL, "", "services", NULL, NULL, NULL, r), AUTH_ALLOW);
	ASSERT_INT_EQ(dec("watch", NULL, "discovery.k8s.io", "endpointslices", NULL, NULL, NULL, r),
		      AUTH_ALLOW);
	static const char *const verbs[] = {"create", "update", "patch", "delete", "deletecollection"};
	for (size_t i = 0; i < 5; i++) {
		ASSERT_INT_EQ(dec(verbs[i], "default", "", "services", NULL, "kubernetes", NULL, r),
			      AUTH_NO_OPINION);
		ASSERT_INT_EQ(dec(verbs[i], "default", "", "endpoints", NULL, "kubernetes", NULL, r),
			      AUTH_NO_OPINION);
		ASSERT_INT_EQ(
		    dec(verbs[i], "default", "discovery.k8s.io", "endpointslices", NULL, "x", NULL, r),
		    AUTH_NO_OPINION);
	}
	ASSERT_INT_EQ(dec("create", "default", "", "events", NULL, NULL, NULL, r), AUTH_ALLOW);
	ASSERT_INT_EQ(
	    dec("create", NULL, "rbac.authorization.k8s.io", "clusterrolebindings", NULL, NULL, NULL, r),
	    AUTH_NO_OPINION);
}

TEST(node_certificate_paths)
{
	char r[256];
	struct auth_attrs a = {.verb = "post", .path = "/svcplane/v1/nodes/n1/client-certificate"};
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_ALLOW);
	a.path = "/svcplane/v1/nodes/n1/serving-certificate";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_ALLOW);
	a.path = "/svcplane/v1/nodes/n2/client-certificate";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_NO_OPINION);
	a.path = "/svcplane/v1/nodes/n1/client-certificate/x";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_NO_OPINION);
	a.verb = "get";
	a.path = "/metrics";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_NO_OPINION);
}

TEST(node_bootstrapper_may_only_ask_for_a_client_certificate)
{
	struct auth_attrs a = {.verb = "post", .path = "/svcplane/v1/nodes/n7/client-certificate"};
	ASSERT(auth_bootstrap_allows(&a));
	static const char *const no[] = {"/svcplane/v1/nodes/n7/serving-certificate",
					 "/svcplane/v1/nodes//client-certificate",
					 "/svcplane/v1/nodes/a/b/client-certificate",
					 "/svcplane/v1/nodes/client-certificate",
					 "/api/v1/pods",
					 "/svcplane/v1/nodes/n7/client-certificatex"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		a.path = no[i];
		ASSERT(!auth_bootstrap_allows(&a));
	}
	a.path = "/svcplane/v1/nodes/n7/client-certificate";
	a.verb = "get";
	ASSERT(!auth_bootstrap_allows(&a));
	struct auth_attrs r = {
	    .resource_request = true, .verb = "post", .path = "/svcplane/v1/nodes/n7/client-certificate"};
	ASSERT(!auth_bootstrap_allows(&r));
}

/* Kube's graph: a node gets only the Secrets, ConfigMaps and ServiceAccounts its pods
 * reference, by name; lists and watches are not its (except TLS Secrets, for the
 * node's Ingress proxy). */
TEST(node_secrets_by_graph_only)
{
	char r[256];
	ASSERT_INT_EQ(dec("list", "a", "", "secrets", NULL, NULL, NULL, r), AUTH_NO_OPINION);
	ASSERT_INT_EQ(dec("watch", NULL, "", "configmaps", NULL, NULL, NULL, r), AUTH_NO_OPINION);
	ASSERT_INT_EQ(dec("get", "a", "", "secrets", NULL, "s", NULL, r), AUTH_NO_OPINION);
	struct auth_attrs a = {.resource_request = true,
			       .verb = "get",
			       .ns = "a",
			       .group = "",
			       .resource = "secrets",
			       .name = "s"};
	ASSERT(auth_node_needs_graph(&a));
	a.verb = "list";
	a.name = NULL;
	ASSERT(!auth_node_needs_graph(&a));
	a.field_selector = "type=kubernetes.io/tls";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_ALLOW);
	a.field_selector = "type=Opaque";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_NO_OPINION);
	a.resource = "configmaps";
	a.field_selector = "type=kubernetes.io/tls";
	ASSERT_INT_EQ(auth_node_authorize("n1", &a, NULL, r, sizeof(r)), AUTH_NO_OPINION);

	json_t *pod = json_loads(
	    "{\"spec\":{\"serviceAccountName\":\"sa\",\"imagePullSecrets\":[{\"name\":\"pull\"}],"
	    "\"volumes\":[{\"name\":\"v\",\"secret\":{\"secretName\":\"vs\"}},{\"name\":\"c\",\"configMap\":{\"name\":\"vc\"}},"
	    "{\"name\":\"p\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"ps\"}},{\"configMap\":{\"name\":\"pc\"}}]}}],"
	    "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":\"ifs\"}}]}],"
	    "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"E\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"ec\",\"key\":\"k\"}}},"
	    "{\"name\":\"F\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"es\",\"key\":\"k\"}}}],"
	    "\"envFrom\":[{\"configMapRef\":{\"name\":\"fc\"}}]}]}}",
	    0, NULL);
	ASSERT(pod != NULL);
	static const char *const secrets[] = {"pull", "vs", "ps", "ifs", "es"};
	static const char *const cms[] = {"vc", "pc", "ec", "fc"};
	for (size_t i = 0; i < 5; i++) {
		ASSERT(auth_node_pod_uses(pod, "secrets", secrets[i]));
		ASSERT(!auth_node_pod_uses(pod, "configmaps", secrets[i]));
	}
	for (size_t i = 0; i < 4; i++) {
		ASSERT(auth_node_pod_uses(pod, "configmaps", cms[i]));
		ASSERT(!auth_node_pod_uses(pod, "secrets", cms[i]));
	}
	ASSERT(!auth_node_pod_uses(pod, "secrets", "other"));
	ASSERT(auth_node_pod_uses(pod, "serviceaccounts", "sa"));
	ASSERT(!auth_node_pod_uses(pod, "serviceaccounts", "default"));
	ASSERT(!auth_node_pod_uses(pod, "pods", "vs"));
	json_decref(pod);
}
