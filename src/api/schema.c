/* schema.c - the served kinds (api_kinds, in discovery order) and lookups over kinds,
 * group-versions and schema fields.
 *
 * The tables are const and small (about twenty kinds, five group-versions, at most ~45 fields
 * per schema), so every lookup is a linear scan: no index to build or keep in sync.
 */
#include "api/schema.h"

#include <stdlib.h>
#include <string.h>

#include "api/schema_defs.h"

const struct api__gv api__gvs[] = {
    {"", "v1", "v1", "api/v1", "io.k8s.api.core.v1"},
    {"apps", "v1", "apps/v1", "apis/apps/v1", "io.k8s.api.apps.v1"},
    {"discovery.k8s.io", "v1", "discovery.k8s.io/v1", "apis/discovery.k8s.io/v1", "io.k8s.api.discovery.v1"},
    {"networking.k8s.io", "v1", "networking.k8s.io/v1", "apis/networking.k8s.io/v1",
     "io.k8s.api.networking.v1"},
    {"coordination.k8s.io", "v1", "coordination.k8s.io/v1", "apis/coordination.k8s.io/v1",
     "io.k8s.api.coordination.v1"},
    {"networking.k8s.io", "v1beta1", "networking.k8s.io/v1beta1", "apis/networking.k8s.io/v1beta1",
     "io.k8s.api.networking.v1beta1"},
    {"extensions", "v1beta1", "extensions/v1beta1", "apis/extensions/v1beta1",
     "io.k8s.api.extensions.v1beta1"},
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
    {"",
     "v1",
     "ServiceAccount",
     "serviceaccounts",
     "serviceaccount",
     {"sa"},
     {NULL},
     true,
     false,
     &api__schema_service_account},
    {"",
     "v1",
     "ReplicationController",
     "replicationcontrollers",
     "replicationcontroller",
     {"rc"},
     {"all"},
     true,
     true,
     &api__schema_replication_controller},
    {"apps",
     "v1",
     "ControllerRevision",
     "controllerrevisions",
     "controllerrevision",
     {NULL},
     {NULL},
     true,
     false,
     &api__schema_controller_revision},
    {"apps",
     "v1",
     "DaemonSet",
     "daemonsets",
     "daemonset",
     {"ds"},
     {"all"},
     true,
     true,
     &api__schema_daemon_set},
    {"apps",
     "v1",
     "Deployment",
     "deployments",
     "deployment",
     {"deploy"},
     {"all"},
     true,
     true,
     &api__schema_deployment},
    {"apps",
     "v1",
     "ReplicaSet",
     "replicasets",
     "replicaset",
     {"rs"},
     {"all"},
     true,
     true,
     &api__schema_replica_set},
    {"apps",
     "v1",
     "StatefulSet",
     "statefulsets",
     "statefulset",
     {"sts"},
     {"all"},
     true,
     true,
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
    {"coordination.k8s.io",
     "v1",
     "Lease",
     "leases",
     "lease",
     {NULL},
     {NULL},
     true,
     false,
     &api__schema_lease},
    {"rbac.authorization.k8s.io",
     "v1",
     "ClusterRoleBinding",
     "clusterrolebindings",
     "clusterrolebinding",
     {NULL},
     {NULL},
     false,
     false,
     &api__schema_cluster_role_binding},
    {"rbac.authorization.k8s.io",
     "v1",
     "ClusterRole",
     "clusterroles",
     "clusterrole",
     {NULL},
     {NULL},
     false,
     false,
     &api__schema_cluster_role},
    {"rbac.authorization.k8s.io",
     "v1",
     "RoleBinding",
     "rolebindings",
     "rolebinding",
     {NULL},
     {NULL},
     true,
     false,
     &api__schema_role_binding},
    {"rbac.authorization.k8s.io",
     "v1",
     "Role",
     "roles",
     "role",
     {NULL},
     {NULL},
     true,
     false,
     &api__schema_role},
    /* Deprecated versions, views of the v1 Ingress (api_kind_storage), last so that a
     * lookup by plural finds v1 first; no short names, so "ing" means only v1 (kubectl
     * warns when a short name matches two resources). Warnings as kube-apiserver's. */
    {"networking.k8s.io",
     "v1beta1",
     "Ingress",
     "ingresses",
     "ingress",
     {NULL},
     {NULL},
     true,
     true,
     &api__schema_ingress_net_v1beta1,
     "networking.k8s.io/v1beta1 Ingress is deprecated in v1.19+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress"},
    {"extensions",
     "v1beta1",
     "Ingress",
     "ingresses",
     "ingress",
     {NULL},
     {NULL},
     true,
     true,
     &api__schema_ingress_ext_v1beta1,
     "extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress"},
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

const struct api_kind *api_kind_storage(const struct api_kind *k)
{
	if (!k || !k->deprecation)
		return k;
	for (size_t i = 0; i < api_nkinds; i++)
		if (!api_kinds[i].deprecation && !strcmp(api_kinds[i].kind, k->kind) &&
		    !strcmp(api_kinds[i].plural, k->plural))
			return &api_kinds[i];
	return k;
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

bool api_schema_atomic(const struct api_schema *s)
{
	/* +structType=atomic in k8s.io/api and apimachinery, of the types these tables have. */
	static const char *const atomic[] = {
	    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
	    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
	    "io.k8s.api.core.v1.ObjectReference",
	    "io.k8s.api.core.v1.LocalObjectReference",
	    "io.k8s.api.core.v1.TypedLocalObjectReference",
	    "io.k8s.api.core.v1.EndpointAddress",
	    "io.k8s.api.core.v1.EndpointPort",
	    "io.k8s.api.core.v1.ObjectFieldSelector",
	    "io.k8s.api.core.v1.ResourceFieldSelector",
	    "io.k8s.api.core.v1.ConfigMapKeySelector",
	    "io.k8s.api.core.v1.SecretKeySelector",
	    "io.k8s.api.core.v1.FileKeySelector",
	    "io.k8s.api.core.v1.NodeSelector",
	    "io.k8s.api.core.v1.NodeSelectorTerm",
	    "io.k8s.api.discovery.v1.EndpointPort",
	    "io.k8s.api.networking.v1.ServiceBackendPort",
	};
	if (!s || !s->name)
		return false;
	for (size_t i = 0; i < API__N(atomic); i++)
		if (strcmp(s->name, atomic[i]) == 0)
			return true;
	return false;
}

size_t api_list_map_keys(const char *merge_key, const char *keys[3])
{
	size_t n = 0;

	if (!merge_key)
		return 0;
	keys[n++] = merge_key;
	if (strcmp(merge_key, "port") == 0 || strcmp(merge_key, "containerPort") == 0)
		keys[n++] = "protocol";
	else if (strcmp(merge_key, "topologyKey") == 0)
		keys[n++] = "whenUnsatisfiable";
	return n;
}

/* Bound on nesting (the tables are a few levels deep; objects deeper than the schema
 * are not walked below it anyway). */
enum { DROP_EMPTY_MAX_DEPTH = 32 };

static void drop_empty(const struct api_schema *s, json_t *obj, int depth)
{
	const char *key;
	json_t *v;
	void *tmp;

	if (!s || !json_is_object(obj) || depth > DROP_EMPTY_MAX_DEPTH)
		return;
	json_object_foreach_safe(obj, tmp, key, v)
	{
		const struct api_field *f = api_schema_field(s, key);
		bool empty = false;
		size_t i;
		json_t *x;

		if (!f)
			continue;
		switch (f->type) {
		case API_OBJECT:
			drop_empty(f->schema, v, depth + 1);
			break;
		case API_ARRAY:
			if (!json_is_array(v))
				break;
			if (f->elem == API_OBJECT)
				json_array_foreach(v, i, x) drop_empty(f->schema, x, depth + 1);
			empty = json_array_size(v) == 0;
			break;
		case API_MAP_ANY:
			if (f->schema && json_is_object(v)) {
				const char *k2;
				json_object_foreach(v, k2, x) drop_empty(f->schema, x, depth + 1);
			}
			/* fall through */
		case API_MAP_STRING:
			empty = json_is_object(v) && json_object_size(v) == 0;
			break;
		default:
			break;
		}
		if (empty && !(f->flags & API_F_KEEP_EMPTY))
			json_object_del(obj, key);
	}
}

void api_drop_empty(const struct api_schema *s, json_t *obj)
{
	drop_empty(s, obj, 0);
}

static int doc_cmp(const void *key, const void *elem)
{
	const struct api__doc *k = key, *e = elem;
	int c = strcmp(k->schema, e->schema);
	return c ? c : strcmp(k->field, e->field);
}

const char *api__doc_find(const char *schema, const char *field)
{
	struct api__doc key = {schema, field, NULL};
	const struct api__doc *d;

	if (!schema || !field || !api__ndocs)
		return NULL;
	d = bsearch(&key, api__docs, api__ndocs, sizeof(api__docs[0]), doc_cmp);
	return d ? d->desc : NULL;
}
