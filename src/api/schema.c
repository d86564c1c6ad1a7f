/* schema.c - the served kinds (api_kinds, in discovery order) and lookups over kinds,
 * group-versions and schema fields.
 *
 * The tables are const and small (about twenty kinds, four group-versions, at most ~45 fields
 * per schema), so every lookup is a linear scan: no index to build or keep in sync.
 */
#include "api/schema.h"

#include <string.h>

#include "api/schema_defs.h"

const struct api__gv api__gvs[] = {
    {"", "v1", "v1", "api/v1", "io.k8s.api.core.v1"},
    {"apps", "v1", "apps/v1", "apis/apps/v1", "io.k8s.api.apps.v1"},
    {"discovery.k8s.io", "v1", "discovery.k8s.io/v1", "apis/discovery.k8s.io/v1", "io.k8s.api.discovery.v1"},
    {"networking.k8s.io", "v1", "networking.k8s.io/v1", "apis/networking.k8s.io/v1",
     "io.k8s.api.networking.v1"},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1",
     "io.k8s.api.rbac.v1"},
};
const size_t api__ngvs = API__N(api__gvs);

const struct api_kind api_kinds[] = {
    {"", "v1", "Namespace", "namespaces", "namespace", {"ns"}, {NULL}, false, true, &api__schema_namespace},
    {"", "v1", "Node", "nodes", "node", {"no"}, {NULL}, false, true, &api__schema_node},
    {"", "v1", "Service", "services", "service", {"svc"}, {"all"}, true, true, &api__schema_service},
    {"", "v1", "Endpoints", "endpoints", "endpoints", {"ep"}, {NULL}, true, false, &api__schema_endpoints},
    {"", "v1", "Pod", "pods", "pod", {"po"}, {"all"}, true, true, &api__schema_pod},
    {"", "v1", "Event", "events", "event", {"ev"}, {NULL}, true, false, &api__schema_event},
    {"", "v1", "ConfigMap", "configmaps", "configmap", {"cm"}, {NULL}, true, false, &api__schema_config_map},
    {"", "v1", "Secret", "secrets", "secret", {NULL}, {NULL}, true, false, &api__schema_secret},
    {"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", {"sa"}, {NULL}, true, false,
     &api__schema_service_account},
    {"", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", {"rc"}, {"all"}, true,
     true, &api__schema_replication_controller},
    {"apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", {NULL}, {NULL}, true, false,
     &api__schema_controller_revision},
    {"apps", "v1", "DaemonSet", "daemonsets", "daemonset", {"ds"}, {"all"}, true, true, &api__schema_daemon_set},
    {"apps", "v1", "Deployment", "deployments", "deployment", {"deploy"}, {"all"}, true, true,
     &api__schema_deployment},
    {"apps", "v1", "ReplicaSet", "replicasets", "replicaset", {"rs"}, {"all"}, true, true, &api__schema_replica_set},
    {"apps", "v1", "StatefulSet", "statefulsets", "statefulset", {"sts"}, {"all"}, true, true,
     &api__schema_stateful_set},
    {"discovery.k8s.io",
     "v1",
     "EndpointSlice",
     "endpointslices",
     "endpointslice",
     {NULL},
     {NULL},
     true,
     false,
     &api__schema_endpoint_slice},
    {"networking.k8s.io",
     "v1",
     "Ingress",
     "ingresses",
     "ingress",
     {"ing"},
     {NULL},
     true,
     true,
     &api__schema_ingress},
    {"networking.k8s.io",
     "v1",
     "IngressClass",
     "ingressclasses",
     "ingressclass",
     {NULL},
     {NULL},
     false,
     false,
     &api__schema_ingress_class},
    {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", {NULL},
     {NULL}, false, false, &api__schema_cluster_role_binding},
    {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", {NULL}, {NULL}, false, false,
     &api__schema_cluster_role},
    {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", {NULL}, {NULL}, true, false,
     &api__schema_role_binding},
    {"rbac.authorization.k8s.io", "v1", "Role", "roles", "role", {NULL}, {NULL}, true, false, &api__schema_role},
};
const size_t api_nkinds = API__N(api_kinds);

const struct api__gv *api__gv_find(const char *group, const char *version)
{
	for (size_t i = 0; i < api__ngvs; i++)
		if (strcmp(api__gvs[i].group, group) == 0 && strcmp(api__gvs[i].version, version) == 0)
			return &api__gvs[i];
	return NULL;
}

const struct api_kind *api_kind_by_plural(const char *group, const char *version, const char *plural)
{
	if (!group || !version || !plural)
		return NULL;
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0 &&
		    strcmp(k->plural, plural) == 0)
			return k;
	}
	return NULL;
}

const struct api_kind *api_kind_by_gvk(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	const char *slash = strchr(api_version, '/');
	const char *version = slash ? slash + 1 : api_version;
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		/* The core group is spelled "v1", never "/v1". */
		if (strlen(k->group) != glen || strncmp(k->group, api_version, glen) != 0)
			continue;
		if (slash && glen == 0)
			continue;
		if (strcmp(k->version, version) == 0 && strcmp(k->kind, kind) == 0)
			return k;
	}
	return NULL;
}

const char *api_kind_api_version(const struct api_kind *k)
{
	const struct api__gv *gv = api__gv_find(k->group, k->version);
	return gv ? gv->api_version : k->version;
}

const struct api_field *api_schema_field(const struct api_schema *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct api_field *f = &s->fields[i];
		if (f->flags & API_F_INLINE) {
			const struct api_field *in = api_schema_field(f->schema, name);
			if (in)
				return in;
		} else if (strcmp(f->name, name) == 0) {
			return f;
		}
	}
	return NULL;
}
