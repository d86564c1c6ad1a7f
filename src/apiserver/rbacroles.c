/* rbacroles.c - the default RBAC objects kube-apiserver makes at start (its
 * bootstrap-roles), restricted to what svcplane serves: cluster-admin, admin, edit and
 * view (the last three aggregated from the system:aggregate-to-* roles by label, so a
 * ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-view: "true" extends view),
 * system:basic-user (the self reviews), system:discovery and system:public-info-viewer
 * (discovery and health paths), system:node (what a node's kubelet and proxy use), and
 * the bindings: cluster-admin to system:masters, the others to system:authenticated.
 * Each is created when missing and otherwise reconciled as kube-apiserver does at start
 * (auth/rbac.c rbac_reconcile: missing rules, aggregation selectors, subjects, labels and
 * annotations added back) unless its admin set rbac.authorization.kubernetes.io/autoupdate
 * to "false".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/rbac.h"
#include "auth/rbac.h"
#include "apiserver/internal.h"
#include "base/log.h"
#include "base/mem.h"

static const char defaults[] =
    "["
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"cluster-admin\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]},"
    "{\"nonResourceURLs\":[\"*\"],\"verbs\":[\"*\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"admin\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{\"rbac.authorization.k8s.io/aggregate-to-admin\""
    ":\"true\"}}]},\"rules\":[]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"edit\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
    "\"rbac.authorization.k8s.io/aggregate-to-admin\":\"true\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{\"rbac.authorization.k8s.io/aggregate-to-edit\":"
    "\"true\"}}]},\"rules\":[]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"view\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
    "\"rbac.authorization.k8s.io/aggregate-to-edit\":\"true\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{\"rbac.authorization.k8s.io/aggregate-to-view\":"
    "\"true\"}}]},\"rules\":[]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:aggregate-to-admin\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
    "\"rbac.authorization.k8s.io/aggregate-to-admin\":\"true\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"authorization.k8s.io\"],\"resources\":[\"localsubjectaccessreviews\"],\"verbs\":[\"create\"]},"
    "{\"apiGroups\":[\"rbac.authorization.k8s.io\"],\"resources\":[\"rolebindings\",\"roles\"],\"verbs\":[\"create\","
    "\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:aggregate-to-edit\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
    "\"rbac.authorization.k8s.io/aggregate-to-edit\":\"true\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"pods/attach\",\"pods/exec\",\"pods/portforward\",\"pods/proxy\"],"
    "\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\",\"events\",\"persistentvolumeclaims\",\"replicationcontrollers\","
    "\"replicationcontrollers/scale\",\"secrets\",\"serviceaccounts\",\"services\",\"services/proxy\"],"
    "\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"serviceaccounts/token\"],\"verbs\":[\"create\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"endpoints\"],\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"patch\","
    "\"update\"]},"
    "{\"apiGroups\":[\"apps\"],\"resources\":[\"daemonsets\",\"deployments\",\"deployments/rollback\",\"deployments/scale\","
    "\"replicasets\",\"replicasets/scale\",\"statefulsets\",\"statefulsets/scale\"],\"verbs\":[\"create\",\"delete\","
    "\"deletecollection\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"networking.k8s.io\"],\"resources\":[\"ingresses\",\"networkpolicies\"],\"verbs\":[\"create\","
    "\"delete\",\"deletecollection\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"serviceaccounts\"],\"verbs\":[\"impersonate\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"secrets\"],\"verbs\":[\"get\",\"list\",\"watch\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:aggregate-to-view\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\","
    "\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\",\"endpoints\",\"persistentvolumeclaims\","
    "\"persistentvolumeclaims/status\",\"pods\",\"replicationcontrollers\",\"replicationcontrollers/scale\","
    "\"serviceaccounts\",\"services\",\"services/status\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"bindings\",\"events\",\"limitranges\",\"namespaces/status\",\"pods/log\","
    "\"pods/status\",\"replicationcontrollers/status\",\"resourcequotas\",\"resourcequotas/status\"],\"verbs\":[\"get\","
    "\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"namespaces\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"apps\"],\"resources\":[\"controllerrevisions\",\"daemonsets\",\"daemonsets/status\",\"deployments\","
    "\"deployments/scale\",\"deployments/status\",\"replicasets\",\"replicasets/scale\",\"replicasets/status\","
    "\"statefulsets\",\"statefulsets/scale\",\"statefulsets/status\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"networking.k8s.io\"],\"resources\":[\"ingresses\",\"ingresses/status\",\"networkpolicies\"],"
    "\"verbs\":[\"get\",\"list\",\"watch\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"system:basic-user\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"authentication.k8s.io\"],\"resources\":[\"selfsubjectreviews\"],\"verbs\":[\"create\"]},"
    "{\"apiGroups\":[\"authorization.k8s.io\"],\"resources\":[\"selfsubjectaccessreviews\",\"selfsubjectrulesreviews\"],"
    "\"verbs\":[\"create\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"system:discovery\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"nonResourceURLs\":[\"/api\",\"/api/*\",\"/apis\",\"/apis/*\",\"/healthz\",\"/livez\",\"/openapi\",\"/openapi/*\","
    "\"/readyz\",\"/version\",\"/version/\"],\"verbs\":[\"get\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
    "\"metadata\":{\"name\":\"system:public-info-viewer\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"nonResourceURLs\":[\"/healthz\",\"/livez\",\"/readyz\",\"/version\",\"/version/\"],\"verbs\":[\"get\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"system:node\","
    "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},\"rules\":["
    "{\"apiGroups\":[\"\"],\"resources\":[\"nodes\"],\"verbs\":[\"create\",\"get\",\"list\",\"watch\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"nodes/status\"],\"verbs\":[\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\",\"watch\",\"create\",\"delete\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"pods/status\"],\"verbs\":[\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"events\"],\"verbs\":[\"create\",\"patch\",\"update\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"services\",\"endpoints\",\"namespaces\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"discovery.k8s.io\"],\"resources\":[\"endpointslices\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\",\"secrets\"],\"verbs\":[\"get\",\"list\",\"watch\"]},"
    "{\"apiGroups\":[\"\"],\"resources\":[\"serviceaccounts/token\"],\"verbs\":[\"create\"]},"
    "{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[\"create\",\"delete\",\"get\",\"patch\","
    "\"update\"]}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"cluster-admin\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:masters\"}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:basic-user\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:basic-user\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:authenticated\"}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:discovery\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:discovery\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:authenticated\"}]},"
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRoleBinding\","
    "\"metadata\":{\"name\":\"system:public-info-viewer\",\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"},"
    "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":\"true\"}},"
    "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
    "\"name\":\"system:public-info-viewer\"},"
    "\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:authenticated\"},"
    "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:unauthenticated\"}]}"
    "]";

/* Brings the stored object at key in line with the default o (one try): 0 when nothing
 * needed doing or the write went through, -ESTALE when it changed under us. */
static int reconcile(struct apiserver *as, const char *key, const json_t *o)
{
	struct store_kv *kv = NULL;
	int rc = store_get(as->store, key, &kv);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	json_t *have = json_loadb(kv->value, kv->value_len, 0, NULL);
	bool recreate;
	json_t *want = have ? rbac_reconcile(have, o, &recreate) : NULL;
	if (want) {
		log_info("rbac: reconciling default %s %s%s", api_str(o, "kind"), api_str(o, "metadata.name"),
			 recreate ? " (roleRef changed)" : "");
		rc = apiserver__store_put(as, key, want, kv->mod_rev, NULL);
		json_decref(want);
	}
	json_decref(have);
	store_kv_unref(kv);
	return rc;
}

int apiserver__bootstrap_rbac(struct apiserver *as)
{
	json_error_t je;
	json_t *all = json_loads(defaults, 0, &je);
	if (!json_is_array(all)) {
		log_error("rbac: default roles do not parse: %s", je.text);
		json_decref(all);
		return -EINVAL;
	}
	int rc = 0;
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		const char *kind = api_str(o, "kind"), *name = api_str(o, "metadata.name");
		const char *plural = !strcmp(kind, "ClusterRole") ? "clusterroles" : "clusterrolebindings";
		char now[40], uid[40];
		json_t *meta = json_object_get(o, "metadata");
		api_uuid(uid, sizeof(uid));
		json_object_set_new(meta, "uid", json_string(uid));
		json_object_set_new(meta, "creationTimestamp", json_string(api_now(now, sizeof(now))));
		char *key = xasprintf("/registry/%s/%s/%s", API_RBAC_GROUP, plural, name);
		int r = apiserver__create_missing(as, key, o);
		for (int try = 0; r == 0 && try < 3; try++) {
			r = reconcile(as, key, o);
			if (r != -ESTALE)
				break;
		}
		free(key);
		if (r < 0 && !rc)
			rc = r;
	}
	json_decref(all);
	apiserver__rbac_dirty(as);
	return rc;
}
