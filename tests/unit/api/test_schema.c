/* test_schema.c - the kinds table, lookups, and the consistency of every schema table
 * (unique names and protobuf numbers, merge keys that exist, the tags kubectl relies on). */
#include <stdio.h>
#include <string.h>

#include "api/schema.h"
#include "harness/t.h"

/* The field at a dotted path ("spec.ports", "spec.containers.env"), descending through
 * objects, arrays of objects and inline fields. */
static const struct api_field *field_at(const struct api_schema *s, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const struct api_field *f = NULL;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (f)
			s = f->schema;
		if (!s)
			return NULL;
		f = api_schema_field(s, tok);
		if (!f)
			return NULL;
	}
	return f;
}

static const struct api_schema *kind_schema(const char *api_version, const char *kind)
{
	const struct api_kind *k = api_kind_by_gvk(api_version, kind);
	return k ? k->schema : NULL;
}

TEST(schema_kinds_in_discovery_order)
{
	static const char *const want[][5] = {
	    {"", "namespaces", "Namespace", "namespace", "ns"},
	    {"", "nodes", "Node", "node", "no"},
	    {"", "services", "Service", "service", "svc"},
	    {"", "endpoints", "Endpoints", "endpoints", "ep"},
	    {"", "pods", "Pod", "pod", "po"},
	    {"", "events", "Event", "event", "ev"},
	    {"", "configmaps", "ConfigMap", "configmap", "cm"},
	    {"", "secrets", "Secret", "secret", NULL},
	    {"", "serviceaccounts", "ServiceAccount", "serviceaccount", "sa"},
	    {"", "replicationcontrollers", "ReplicationController", "replicationcontroller", "rc"},
	    {"apps", "controllerrevisions", "ControllerRevision", "controllerrevision", NULL},
	    {"apps", "daemonsets", "DaemonSet", "daemonset", "ds"},
	    {"apps", "deployments", "Deployment", "deployment", "deploy"},
	    {"apps", "replicasets", "ReplicaSet", "replicaset", "rs"},
	    {"apps", "statefulsets", "StatefulSet", "statefulset", "sts"},
	    {"discovery.k8s.io", "endpointslices", "EndpointSlice", "endpointslice", NULL},
	    {"networking.k8s.io", "ingresses", "Ingress", "ingress", "ing"},
	    {"networking.k8s.io", "ingressclasses", "IngressClass", "ingressclass", NULL},
	    {"coordination.k8s.io", "leases", "Lease", "lease", NULL},
	    {"rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", "clusterrolebinding",
	     NULL},
	    {"rbac.authorization.k8s.io", "clusterroles", "ClusterRole", "clusterrole", NULL},
	    {"rbac.authorization.k8s.io", "rolebindings", "RoleBinding", "rolebinding", NULL},
	    {"rbac.authorization.k8s.io", "roles", "Role", "role", NULL},
	    /* deprecated views of v1 Ingress (api_kind_storage), no short names */
	    {"networking.k8s.io", "ingresses", "Ingress", "ingress", NULL},
	    {"extensions", "ingresses", "Ingress", "ingress", NULL},
	};
	ASSERT_INT_EQ(api_nkinds, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		ASSERT_STR_EQ(k->group, want[i][0]);
		ASSERT_STR_EQ(k->version, k->deprecation ? "v1beta1" : "v1");
		ASSERT_STR_EQ(k->plural, want[i][1]);
		ASSERT_STR_EQ(k->kind, want[i][2]);
		ASSERT_STR_EQ(k->singular, want[i][3]);
		if (want[i][4]) {
			ASSERT_STR_EQ(k->short_names[0], want[i][4]);
			ASSERT(k->short_names[1] == NULL);
		} else {
			ASSERT(k->short_names[0] == NULL);
		}
		ASSERT(k->schema != NULL);
	}
}

TEST(schema_kind_scope_status_categories)
{
	static const struct {
		const char *plural;
		bool namespaced, status;
		const char *category;
	} want[] = {
	    {"namespaces", false, true, NULL},
	    {"nodes", false, true, NULL},
	    {"services", true, true, "all"},
	    {"endpoints", true, false, NULL},
	    {"pods", true, true, "all"},
	    {"events", true, false, NULL},
	    {"configmaps", true, false, NULL},
	    {"secrets", true, false, NULL},
	    {"serviceaccounts", true, false, NULL},
	    {"replicationcontrollers", true, true, "all"},
	    {"controllerrevisions", true, false, NULL},
	    {"daemonsets", true, true, "all"},
	    {"deployments", true, true, "all"},
	    {"replicasets", true, true, "all"},
	    {"statefulsets", true, true, "all"},
	    {"endpointslices", true, false, NULL},
	    {"ingresses", true, true, NULL},
	    {"ingressclasses", false, false, NULL},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct api_kind *k = &api_kinds[i];
		ASSERT_STR_EQ(k->plural, want[i].plural);
		ASSERT_INT_EQ(k->namespaced, want[i].namespaced);
		ASSERT_INT_EQ(k->has_status, want[i].status);
		if (want[i].category) {
			ASSERT_STR_EQ(k->categories[0], want[i].category);
			ASSERT(k->categories[1] == NULL);
		} else {
			ASSERT(k->categories[0] == NULL);
		}
		/* status is a field exactly when the kind has the status subresource */
		ASSERT_INT_EQ(api_schema_field(k->schema, "status") != NULL, want[i].status);
	}
}

TEST(schema_lookup_by_plural)
{
	const struct api_kind *k = api_kind_by_plural("", "v1", "services");
	ASSERT(k && strcmp(k->kind, "Service") == 0);
	k = api_kind_by_plural("", "v1", "endpoints");
	ASSERT(k && strcmp(k->kind, "Endpoints") == 0);
	k = api_kind_by_plural("discovery.k8s.io", "v1", "endpointslices");
	ASSERT(k && strcmp(k->kind, "EndpointSlice") == 0);
	k = api_kind_by_plural("networking.k8s.io", "v1", "ingressclasses");
	ASSERT(k && strcmp(k->kind, "IngressClass") == 0);
	ASSERT(api_kind_by_plural("", "v1", "service") == NULL);
	ASSERT(api_kind_by_plural("", "v1", "svc") == NULL);
	ASSERT(api_kind_by_plural("networking.k8s.io", "v1", "services") == NULL);
	ASSERT(api_kind_by_plural("", "v2", "services") == NULL);
	k = api_kind_by_plural("apps", "v1", "deployments");
	ASSERT(k && strcmp(k->kind, "Deployment") == 0);
	ASSERT(api_kind_by_plural("apps", "v1", "deploy") == NULL);
	ASSERT(api_kind_by_plural("apps", "v1beta1", "deployments") == NULL);
	ASSERT(api_kind_by_plural(NULL, "v1", "services") == NULL);
}

TEST(schema_lookup_by_gvk)
{
	const struct api_kind *k = api_kind_by_gvk("v1", "Service");
	ASSERT(k && strcmp(k->plural, "services") == 0);
	k = api_kind_by_gvk("v1", "Endpoints");
	ASSERT(k && strcmp(k->plural, "endpoints") == 0);
	k = api_kind_by_gvk("discovery.k8s.io/v1", "EndpointSlice");
	ASSERT(k && strcmp(k->plural, "endpointslices") == 0);
	k = api_kind_by_gvk("networking.k8s.io/v1", "Ingress");
	ASSERT(k && strcmp(k->plural, "ingresses") == 0);
	ASSERT(api_kind_by_gvk("v1", "Ingress") == NULL);
	ASSERT(api_kind_by_gvk("/v1", "Service") == NULL);
	ASSERT(api_kind_by_gvk("core/v1", "Service") == NULL);
	k = api_kind_by_gvk("networking.k8s.io/v1beta1", "Ingress");
	ASSERT(k && k->deprecation &&
	       api_kind_storage(k) == api_kind_by_gvk("networking.k8s.io/v1", "Ingress"));
	ASSERT(api_kind_by_gvk("networking.k8s.io/v1alpha1", "Ingress") == NULL);
	ASSERT(api_kind_by_gvk("discovery.k8s.io/v1", "Service") == NULL);
	ASSERT(api_kind_by_gvk("v1", "service") == NULL);
	k = api_kind_by_gvk("apps/v1", "Deployment");
	ASSERT(k && strcmp(k->plural, "deployments") == 0);
	ASSERT(api_kind_by_gvk("v1", "Deployment") == NULL);
	ASSERT(api_kind_by_gvk("extensions/v1beta1", "Deployment") == NULL);
	ASSERT(api_kind_by_gvk(NULL, "Service") == NULL);
}

TEST(schema_api_version)
{
	ASSERT_STR_EQ(api_kind_api_version(api_kind_by_plural("", "v1", "pods")), "v1");
	ASSERT_STR_EQ(api_kind_api_version(api_kind_by_plural("discovery.k8s.io", "v1", "endpointslices")),
		      "discovery.k8s.io/v1");
	ASSERT_STR_EQ(api_kind_api_version(api_kind_by_plural("networking.k8s.io", "v1", "ingresses")),
		      "networking.k8s.io/v1");
	/* round trip for every kind */
	for (size_t i = 0; i < api_nkinds; i++)
		ASSERT(api_kind_by_gvk(api_kind_api_version(&api_kinds[i]), api_kinds[i].kind) ==
		       &api_kinds[i]);
}

TEST(schema_every_kind_has_type_and_object_meta)
{
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_schema *s = api_kinds[i].schema;
		const struct api_field *f = api_schema_field(s, "metadata");
		ASSERT(f != NULL);
		ASSERT_INT_EQ(f->type, API_OBJECT);
		ASSERT(f->schema == &api_schema_object_meta);
		ASSERT_INT_EQ(f->proto, 1);
		ASSERT(api_schema_field(s, "apiVersion") && api_schema_field(s, "apiVersion")->proto == 0);
		ASSERT(api_schema_field(s, "kind") && api_schema_field(s, "kind")->type == API_STRING);
		char want[128];
		snprintf(want, sizeof(want), ".%s", api_kinds[i].kind);
		ASSERT(strstr(s->name, want) != NULL);
	}
	ASSERT_STR_EQ(api_schema_object_meta.name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
}

TEST(schema_object_meta_fields_and_proto)
{
	static const struct {
		const char *name;
		unsigned proto;
		enum api_type type;
	} want[] = {
	    {"name", 1, API_STRING},
	    {"generateName", 2, API_STRING},
	    {"namespace", 3, API_STRING},
	    {"selfLink", 4, API_STRING},
	    {"uid", 5, API_STRING},
	    {"resourceVersion", 6, API_STRING},
	    {"generation", 7, API_INT},
	    {"creationTimestamp", 8, API_TIME},
	    {"deletionTimestamp", 9, API_TIME},
	    {"deletionGracePeriodSeconds", 10, API_INT},
	    {"labels", 11, API_MAP_STRING},
	    {"annotations", 12, API_MAP_STRING},
	    {"ownerReferences", 13, API_ARRAY},
	    {"finalizers", 14, API_ARRAY},
	    {"managedFields", 17, API_ARRAY},
	};
	ASSERT_INT_EQ(api_schema_object_meta.nfields, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct api_field *f = api_schema_field(&api_schema_object_meta, want[i].name);
		ASSERT(f != NULL);
		ASSERT_INT_EQ(f->proto, want[i].proto);
		ASSERT_INT_EQ(f->type, want[i].type);
	}
	ASSERT(api_schema_field(&api_schema_object_meta, "clusterName") == NULL);
	const struct api_field *o = api_schema_field(&api_schema_object_meta, "ownerReferences");
	ASSERT_INT_EQ(api_schema_field(o->schema, "uid")->proto, 4);
	ASSERT_INT_EQ(api_schema_field(o->schema, "apiVersion")->proto, 5);
	ASSERT_INT_EQ(api_schema_field(o->schema, "controller")->flags & API_F_POINTER, API_F_POINTER);
}

TEST(schema_merge_keys)
{
	static const struct {
		const char *api_version, *kind, *path, *key;
	} want[] = {
	    {"v1", "Service", "spec.ports", "port"},
	    {"v1", "Service", "status.conditions", "type"},
	    {"v1", "Service", "metadata.ownerReferences", "uid"},
	    {"v1", "Pod", "spec.containers", "name"},
	    {"v1", "Pod", "spec.initContainers", "name"},
	    {"v1", "Pod", "spec.ephemeralContainers", "name"},
	    {"v1", "Pod", "spec.containers.ports", "containerPort"},
	    {"v1", "Pod", "spec.containers.env", "name"},
	    {"v1", "Pod", "spec.containers.volumeMounts", "mountPath"},
	    {"v1", "Pod", "spec.volumes", "name"},
	    {"v1", "Pod", "spec.imagePullSecrets", "name"},
	    {"v1", "Pod", "spec.schedulingGates", "name"},
	    {"v1", "Pod", "spec.hostAliases", "ip"},
	    {"v1", "Pod", "spec.topologySpreadConstraints", "topologyKey"},
	    {"v1", "Pod", "status.conditions", "type"},
	    {"v1", "Pod", "status.podIPs", "ip"},
	    {"v1", "Pod", "status.hostIPs", "ip"},
	    {"v1", "Node", "status.conditions", "type"},
	    {"v1", "Node", "status.addresses", "type"},
	    {"v1", "Namespace", "status.conditions", "type"},
	    {"v1", "Endpoints", "subsets", NULL},
	    {"v1", "Endpoints", "subsets.addresses", NULL},
	    {"v1", "Endpoints", "subsets.ports", NULL},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints", NULL},
	    {"discovery.k8s.io/v1", "EndpointSlice", "ports", NULL},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules", NULL},
	    {"networking.k8s.io/v1", "Ingress", "spec.tls", NULL},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths", NULL},
	    {"v1", "Pod", "status.containerStatuses", NULL},
	    {"v1", "Node", "spec.taints", NULL},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct api_field *f =
		    field_at(kind_schema(want[i].api_version, want[i].kind), want[i].path);
		if (!f)
			t_fail(__FILE__, __LINE__, "no field %s in %s", want[i].path, want[i].kind);
		ASSERT_INT_EQ(f->type, API_ARRAY);
		ASSERT_INT_EQ(f->elem, API_OBJECT);
		if (want[i].key)
			ASSERT_STR_EQ(f->merge_key, want[i].key);
		else if (f->merge_key)
			t_fail(__FILE__, __LINE__, "%s.%s has merge key %s", want[i].kind, want[i].path,
			       f->merge_key);
	}
	ASSERT(field_at(kind_schema("v1", "Pod"), "spec.volumes")->flags & API_F_RETAIN_KEYS);
	ASSERT(field_at(kind_schema("v1", "Service"), "metadata.finalizers")->flags & API_F_SET);
	ASSERT(field_at(kind_schema("v1", "Node"), "spec.podCIDRs")->flags & API_F_SET);
	/* Namespace spec.finalizers is atomic, not a set */
	ASSERT(!(field_at(kind_schema("v1", "Namespace"), "spec.finalizers")->flags & API_F_SET));
}

TEST(schema_pointer_fields)
{
	static const struct {
		const char *api_version, *kind, *path;
	} want[] = {
	    {"v1", "Service", "spec.ipFamilyPolicy"},
	    {"v1", "Service", "spec.allocateLoadBalancerNodePorts"},
	    {"v1", "Service", "spec.loadBalancerClass"},
	    {"v1", "Service", "spec.internalTrafficPolicy"},
	    {"v1", "Service", "spec.trafficDistribution"},
	    {"v1", "Service", "spec.ports.appProtocol"},
	    {"v1", "Service", "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
	    {"v1", "Service", "status.loadBalancer.ingress.ipMode"},
	    {"v1", "Endpoints", "subsets.ports.appProtocol"},
	    {"v1", "Endpoints", "subsets.addresses.nodeName"},
	    {"v1", "Pod", "spec.terminationGracePeriodSeconds"},
	    {"v1", "Pod", "spec.enableServiceLinks"},
	    {"networking.k8s.io/v1", "Ingress", "spec.ingressClassName"},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.pathType"},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.conditions.ready"},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.conditions.serving"},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.conditions.terminating"},
	    {"discovery.k8s.io/v1", "EndpointSlice", "ports.port"},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.nodeName"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct api_field *f =
		    field_at(kind_schema(want[i].api_version, want[i].kind), want[i].path);
		if (!f || !(f->flags & API_F_POINTER))
			t_fail(__FILE__, __LINE__, "%s %s: not a pointer field", want[i].kind, want[i].path);
	}
	ASSERT(!(field_at(kind_schema("v1", "Service"), "spec.clusterIP")->flags & API_F_POINTER));
	ASSERT(!(field_at(kind_schema("v1", "Service"), "spec.ports.port")->flags & API_F_POINTER));
}

TEST(schema_service_and_ingress_proto_numbers)
{
	static const struct {
		const char *api_version, *kind, *path;
		unsigned proto;
	} want[] = {
	    {"v1", "Service", "spec", 2},
	    {"v1", "Service", "status", 3},
	    {"v1", "Service", "spec.ports", 1},
	    {"v1", "Service", "spec.selector", 2},
	    {"v1", "Service", "spec.clusterIP", 3},
	    {"v1", "Service", "spec.type", 4},
	    {"v1", "Service", "spec.externalIPs", 5},
	    {"v1", "Service", "spec.sessionAffinity", 7},
	    {"v1", "Service", "spec.loadBalancerIP", 8},
	    {"v1", "Service", "spec.loadBalancerSourceRanges", 9},
	    {"v1", "Service", "spec.externalName", 10},
	    {"v1", "Service", "spec.externalTrafficPolicy", 11},
	    {"v1", "Service", "spec.healthCheckNodePort", 12},
	    {"v1", "Service", "spec.publishNotReadyAddresses", 13},
	    {"v1", "Service", "spec.sessionAffinityConfig", 14},
	    {"v1", "Service", "spec.sessionAffinityConfig.clientIP", 1},
	    {"v1", "Service", "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 1},
	    {"v1", "Service", "spec.ipFamilyPolicy", 17},
	    {"v1", "Service", "spec.clusterIPs", 18},
	    {"v1", "Service", "spec.ipFamilies", 19},
	    {"v1", "Service", "spec.allocateLoadBalancerNodePorts", 20},
	    {"v1", "Service", "spec.loadBalancerClass", 21},
	    {"v1", "Service", "spec.internalTrafficPolicy", 22},
	    {"v1", "Service", "spec.trafficDistribution", 23},
	    {"v1", "Service", "spec.ports.name", 1},
	    {"v1", "Service", "spec.ports.protocol", 2},
	    {"v1", "Service", "spec.ports.port", 3},
	    {"v1", "Service", "spec.ports.targetPort", 4},
	    {"v1", "Service", "spec.ports.nodePort", 5},
	    {"v1", "Service", "spec.ports.appProtocol", 6},
	    {"v1", "Namespace", "spec.finalizers", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.defaultBackend", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.tls", 2},
	    {"networking.k8s.io/v1", "Ingress", "spec.tls.hosts", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.tls.secretName", 2},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules", 3},
	    {"networking.k8s.io/v1", "Ingress", "spec.ingressClassName", 4},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.host", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.path", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend", 2},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.pathType", 3},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.service", 4},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.resource", 3},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.service.name", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.service.port", 2},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.service.port.name", 1},
	    {"networking.k8s.io/v1", "Ingress", "spec.rules.http.paths.backend.service.port.number", 2},
	    {"networking.k8s.io/v1", "Ingress", "status.loadBalancer.ingress.ports", 4},
	    {"networking.k8s.io/v1", "IngressClass", "spec.parameters.apiGroup", 1},
	    {"networking.k8s.io/v1", "IngressClass", "spec.parameters.namespace", 5},
	    {"discovery.k8s.io/v1", "EndpointSlice", "addressType", 4},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints", 2},
	    {"discovery.k8s.io/v1", "EndpointSlice", "ports", 3},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.nodeName", 6},
	    {"discovery.k8s.io/v1", "EndpointSlice", "endpoints.zone", 7},
	    {"v1", "Pod", "spec.containers", 2},
	    {"v1", "Pod", "spec.initContainers", 20},
	    {"v1", "Pod", "spec.containers.readinessProbe.httpGet", 2},
	    {"v1", "Pod", "spec.containers.readinessProbe.periodSeconds", 4},
	    {"v1", "Pod", "spec.volumes.configMap", 19},
	    {"v1", "Pod", "status.podIPs", 12},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct api_field *f =
		    field_at(kind_schema(want[i].api_version, want[i].kind), want[i].path);
		if (!f)
			t_fail(__FILE__, __LINE__, "no field %s in %s", want[i].path, want[i].kind);
		if (f->proto != want[i].proto)
			t_fail(__FILE__, __LINE__, "%s %s: proto %u, want %u", want[i].kind, want[i].path,
			       f->proto, want[i].proto);
	}
	ASSERT_INT_EQ(field_at(kind_schema("v1", "Service"), "spec.ports.targetPort")->type,
		      API_INT_OR_STRING);
	ASSERT_INT_EQ(
	    field_at(kind_schema("v1", "Pod"), "spec.containers.livenessProbe.tcpSocket.port")->type,
	    API_INT_OR_STRING);
}

TEST(schema_inline_fields)
{
	const struct api_schema *ing = kind_schema("networking.k8s.io/v1", "Ingress");
	const struct api_field *rules = field_at(ing, "spec.rules");
	ASSERT(rules && rules->schema);
	/* "http" is found through the inline IngressRuleValue; the inline name is no JSON key */
	ASSERT(api_schema_field(rules->schema, "http") != NULL);
	ASSERT(api_schema_field(rules->schema, "ingressRuleValue") == NULL);
	int inline_seen = 0;
	for (size_t i = 0; i < rules->schema->nfields; i++)
		if (rules->schema->fields[i].flags & API_F_INLINE) {
			inline_seen = 1;
			ASSERT_INT_EQ(rules->schema->fields[i].proto, 2);
		}
	ASSERT(inline_seen);
	const struct api_field *probe = field_at(kind_schema("v1", "Pod"), "spec.containers.readinessProbe");
	ASSERT(api_schema_field(probe->schema, "exec") != NULL);
	ASSERT(api_schema_field(probe->schema, "handler") == NULL);
	const struct api_field *eph = field_at(kind_schema("v1", "Pod"), "spec.ephemeralContainers");
	ASSERT(api_schema_field(eph->schema, "image") != NULL);
	ASSERT(api_schema_field(eph->schema, "targetContainerName") != NULL);
	ASSERT(api_schema_field(eph->schema, "ephemeralContainerCommon") == NULL);
	const struct api_field *cm =
	    field_at(kind_schema("v1", "Pod"), "spec.containers.env.valueFrom.configMapKeyRef");
	ASSERT(api_schema_field(cm->schema, "name") != NULL);
	ASSERT(api_schema_field(NULL, "name") == NULL);
	ASSERT(api_schema_field(cm->schema, NULL) == NULL);
}

/* ---- table consistency over every reachable schema ---- */

struct seen {
	const struct api_schema *s[256];
	size_t n;
};

static int seen_add(struct seen *v, const struct api_schema *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->s[i] == s)
			return 0;
	if (v->n == sizeof(v->s) / sizeof(v->s[0]))
		t_fail(__FILE__, __LINE__, "too many schemas");
	v->s[v->n++] = s;
	return 1;
}

/* Collects the JSON names of s (through inline fields) into names. */
static void json_names(const struct api_schema *s, const char **names, size_t *n)
{
	for (size_t i = 0; i < s->nfields; i++) {
		if (s->fields[i].flags & API_F_INLINE)
			json_names(s->fields[i].schema, names, n);
		else
			names[(*n)++] = s->fields[i].name;
	}
}

static void check_schema(const struct api_schema *s, struct seen *v)
{
	if (!seen_add(v, s))
		return;
	if (!s->name || strncmp(s->name, "io.k8s.", 7) != 0)
		t_fail(__FILE__, __LINE__, "bad schema name %s", s->name ? s->name : "(null)");
	ASSERT(s->desc && *s->desc);
	ASSERT(s->nfields > 0);
	const char *names[128];
	size_t nn = 0;
	json_names(s, names, &nn);
	for (size_t i = 0; i < nn; i++)
		for (size_t j = i + 1; j < nn; j++)
			if (strcmp(names[i], names[j]) == 0)
				t_fail(__FILE__, __LINE__, "%s: duplicate field %s", s->name, names[i]);
	for (size_t i = 0; i < s->nfields; i++) {
		const struct api_field *f = &s->fields[i];
		ASSERT(f->name && *f->name);
		for (size_t j = i + 1; j < s->nfields; j++)
			if (f->proto && f->proto == s->fields[j].proto)
				t_fail(__FILE__, __LINE__, "%s: proto %u used twice", s->name, f->proto);
		if (!(f->flags & API_F_INLINE) && !(f->desc && *f->desc))
			t_fail(__FILE__, __LINE__, "%s.%s: no description", s->name, f->name);
		if (f->type == API_OBJECT || (f->type == API_ARRAY && f->elem == API_OBJECT)) {
			if (!f->schema)
				t_fail(__FILE__, __LINE__, "%s.%s: no schema", s->name, f->name);
			check_schema(f->schema, v);
		}
		if (f->merge_key) {
			if (f->type != API_ARRAY || f->elem != API_OBJECT)
				t_fail(__FILE__, __LINE__, "%s.%s: merge key on a non-list", s->name,
				       f->name);
			if (!api_schema_field(f->schema, f->merge_key))
				t_fail(__FILE__, __LINE__, "%s.%s: merge key %s not in %s", s->name, f->name,
				       f->merge_key, f->schema->name);
		}
		if ((f->flags & API_F_SET) && (f->type != API_ARRAY || f->elem == API_OBJECT))
			t_fail(__FILE__, __LINE__, "%s.%s: set flag on a non-primitive list", s->name,
			       f->name);
		if (f->flags & API_F_INLINE)
			ASSERT(f->type == API_OBJECT && f->proto);
		/* everything but TypeMeta is in protobuf */
		if (!f->proto && strcmp(f->name, "apiVersion") != 0 && strcmp(f->name, "kind") != 0)
			t_fail(__FILE__, __LINE__, "%s.%s: no protobuf number", s->name, f->name);
	}
}

TEST(schema_tables_consistent)
{
	struct seen v = {.n = 0};
	for (size_t i = 0; i < api_nkinds; i++)
		check_schema(api_kinds[i].schema, &v);
	/* distinct tables never share a component name */
	for (size_t i = 0; i < v.n; i++)
		for (size_t j = i + 1; j < v.n; j++)
			if (strcmp(v.s[i]->name, v.s[j]->name) == 0)
				t_fail(__FILE__, __LINE__, "two tables named %s", v.s[i]->name);
	ASSERT(v.n > 80);
}

TEST(schema_node_and_endpointslice_fields)
{
	const struct api_schema *node = kind_schema("v1", "Node");
	ASSERT_INT_EQ(field_at(node, "status.capacity")->type, API_MAP_ANY);
	ASSERT_INT_EQ(field_at(node, "status.capacity")->elem, API_QUANTITY);
	ASSERT_STR_EQ(field_at(node, "status.daemonEndpoints.kubeletEndpoint.Port")->name, "Port");
	ASSERT(field_at(node, "status.nodeInfo.kubeletVersion") != NULL);
	ASSERT(field_at(node, "spec.taints.effect") != NULL);
	const struct api_schema *es = kind_schema("discovery.k8s.io/v1", "EndpointSlice");
	ASSERT(field_at(es, "endpoints.hints.forZones.name") != NULL);
	ASSERT(field_at(es, "endpoints.targetRef.fieldPath") != NULL);
	ASSERT(field_at(es, "spec") == NULL);
	const struct api_schema *ev = kind_schema("v1", "Event");
	ASSERT(field_at(ev, "eventTime")->flags & API_F_MICROTIME);
	ASSERT(field_at(ev, "series.lastObservedTime")->flags & API_F_MICROTIME);
	ASSERT(!(field_at(ev, "firstTimestamp")->flags & API_F_MICROTIME));
	ASSERT(field_at(ev, "involvedObject.uid") != NULL);
	ASSERT(field_at(ev, "reportingInstance") != NULL);
}
