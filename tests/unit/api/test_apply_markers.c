/* test_apply_markers.c - the +mapType/+listType/+structType markers of k8s.io/api through
 * server-side apply and the OpenAPI documents, the enums kubectl explain lists, and the
 * empty maps and lists Kubernetes' JSON omits (api_drop_empty).
 *
 * Kubernetes' answers these tests pin: an Update by kubectl of a Service owns
 * `f:selector: {}` (mapType=atomic), a Deployment's `f:selector: {}` (LabelSelector is
 * structType=atomic); a second manager applying another selector conflicts on
 * .spec.selector and, forced, replaces it whole; ports are keyed by port+protocol,
 * containers by name; `labels: {}` and `externalIPs: []` are not returned, `resources: {}`
 * and `emptyDir: {}` are. Documents are written with ' for ".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/kinds.h"
#include "api/openapi.h"
#include "api/patch.h"
#include "api/schema.h"
#include "base/mem.h"
#include "harness/t.h"
#include "harness/tjson.h"

#define NOW "2024-01-01T00:00:00Z"

static const json_t *fields_of(const json_t *obj, const char *mgr)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "managedFields"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "manager")), mgr))
			return json_object_get(e, "fieldsV1");
	}
	return NULL;
}

static const struct api_schema *schema_of(const char *api_version, const char *kind)
{
	const struct api_kind *k = api_kind_by_gvk(api_version, kind);
	if (!k)
		t_fail(__FILE__, __LINE__, "no kind %s", kind);
	return k->schema;
}

TEST(apply_service_selector_is_atomic)
{
	const struct api_schema *s = schema_of("v1", "Service");
	json_t *a1 = t_jq("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},"
			  "'spec':{'selector':{'app':'a','tier':'b'},'ports':[{'port':80}]}}");
	json_t *a2 = t_jq(
	    "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'selector':{'app':'z'}}}");
	json_t *live = NULL, *out = NULL, *conflicts = NULL;
	char err[256] = "";

	ASSERT_INT_EQ(
	    api_server_side_apply(NULL, a1, s, "m1", "v1", NOW, false, &live, &conflicts, err, sizeof(err)),
	    0);
	ASSERT_JQ(json_object_get(json_object_get(fields_of(live, "m1"), "f:spec"), "f:selector"), "{}");
	ASSERT_JQ(
	    json_object_get(json_object_get(json_object_get(fields_of(live, "m1"), "f:spec"), "f:ports"),
			    "k:{\"port\":80,\"protocol\":\"TCP\"}"),
	    "{'.':{},'f:port':{}}");
	/* Another manager's selector conflicts on the whole map, not key by key. */
	ASSERT_INT_EQ(
	    api_server_side_apply(live, a2, s, "m2", "v1", NOW, false, &out, &conflicts, err, sizeof(err)),
	    -EBUSY);
	ASSERT_STR_CONTAINS(err, ".spec.selector");
	json_decref(conflicts);
	conflicts = NULL;
	/* Forced, it replaces it whole (a granular map would keep tier=b). */
	ASSERT_INT_EQ(
	    api_server_side_apply(live, a2, s, "m2", "v1", NOW, true, &out, &conflicts, err, sizeof(err)), 0);
	ASSERT_JQ(json_object_get(json_object_get(out, "spec"), "selector"), "{'app':'z'}");
	ASSERT(!json_object_get(json_object_get(fields_of(out, "m1"), "f:spec"), "f:selector"));
	json_decref(out);
	json_decref(conflicts);
	json_decref(live);
	json_decref(a1);
	json_decref(a2);
}

TEST(apply_label_selector_and_owner_references_are_atomic)
{
	const struct api_schema *s = schema_of("apps/v1", "Deployment");
	json_t *a = t_jq(
	    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d',"
	    "'ownerReferences':[{'apiVersion':'v1','kind':'X','name':'x','uid':'u1'}]},"
	    "'spec':{'selector':{'matchLabels':{'app':'d'}},'template':{'metadata':{'labels':{'app':'d'}},"
	    "'spec':{'containers':[{'name':'c','image':'i','ports':[{'containerPort':8080}]}],"
	    "'nodeSelector':{'disk':'ssd'}}}}}");
	json_t *out = NULL, *conflicts = NULL;
	char err[256] = "";

	ASSERT_INT_EQ(
	    api_server_side_apply(NULL, a, s, "m", "apps/v1", NOW, false, &out, &conflicts, err, sizeof(err)),
	    0);
	const json_t *f = fields_of(out, "m");
	ASSERT_JQ(json_object_get(json_object_get(f, "f:spec"), "f:selector"), "{}");
	ASSERT_JQ(json_object_get(json_object_get(f, "f:metadata"), "f:ownerReferences"),
		  "{'k:{\\'uid\\':\\'u1\\'}':{}}");
	const json_t *ps =
	    json_object_get(json_object_get(json_object_get(f, "f:spec"), "f:template"), "f:spec");
	ASSERT_JQ(json_object_get(ps, "f:nodeSelector"), "{}");
	const json_t *c = json_object_get(json_object_get(ps, "f:containers"), "k:{\"name\":\"c\"}");
	ASSERT(c != NULL);
	ASSERT(json_object_get(json_object_get(c, "f:ports"),
			       "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}") != NULL);
	json_decref(out);
	json_decref(a);
}

static json_t *load_doc(const char *path)
{
	char *s = api_openapi_v3_doc(path);
	json_error_t err;
	json_t *d;

	if (!s)
		t_fail(__FILE__, __LINE__, "no document for %s", path);
	d = json_loads(s, 0, &err);
	free(s);
	if (!d)
		t_fail(__FILE__, __LINE__, "%s does not parse: %s", path, err.text);
	return d;
}

static json_t *prop(json_t *doc, const char *schema, const char *name)
{
	json_t *s = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), schema);
	if (!s)
		t_fail(__FILE__, __LINE__, "no schema %s", schema);
	return name ? json_object_get(json_object_get(s, "properties"), name) : s;
}

TEST(openapi_has_kubernetes_list_map_types_and_enums)
{
	json_t *doc = load_doc("api/v1");
	json_t *p = prop(doc, "io.k8s.api.core.v1.ServiceSpec", "ports");

	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-list-type")), "map");
	ASSERT_JQ(json_object_get(p, "x-kubernetes-list-map-keys"), "['port','protocol']");
	p = prop(doc, "io.k8s.api.core.v1.ServiceSpec", "selector");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-map-type")), "atomic");
	p = prop(doc, "io.k8s.api.core.v1.ServiceSpec", "externalIPs");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-list-type")), "atomic");
	p = prop(doc, "io.k8s.api.core.v1.ServiceSpec", "type");
	ASSERT_JQ(json_object_get(p, "enum"), "['ClusterIP','ExternalName','LoadBalancer','NodePort']");
	/* Kubernetes' description (schema_docs.c), then the values as openapi-gen lists them. */
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(p, "description")),
			    "\"ExternalName\" aliases this service to the specified externalName.");
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(p, "description")),
			    "\n\nPossible enum values:\n - `\"ClusterIP\"`\n - `\"ExternalName\"`");
	p = prop(doc, "io.k8s.api.core.v1.ServiceSpec", "ipFamilies");
	ASSERT_JQ(json_object_get(json_object_get(p, "items"), "enum"), "['IPv4','IPv6']");
	p = prop(doc, "io.k8s.api.core.v1.PodSpec", "containers");
	ASSERT_JQ(json_object_get(p, "x-kubernetes-list-map-keys"), "['name']");
	p = prop(doc, "io.k8s.api.core.v1.Container", "ports");
	ASSERT_JQ(json_object_get(p, "x-kubernetes-list-map-keys"), "['containerPort','protocol']");
	p = prop(doc, "io.k8s.api.core.v1.PodStatus", "hostIPs");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-list-type")), "atomic");
	p = prop(doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers");
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-list-type")), "set");
	p = prop(doc, "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(p, "x-kubernetes-map-type")), "atomic");
	json_decref(doc);
}

TEST(drop_empty_maps_and_lists_as_omitempty)
{
	const struct api_kind *svc = api_kind_by_gvk("v1", "Service");
	const struct api_kind *pod = api_kind_by_gvk("v1", "Pod");
	json_t *o = t_jq(
	    "{'metadata':{'name':'s','labels':{},'annotations':{},'finalizers':[]},"
	    "'spec':{'externalIPs':[],'selector':{},'ports':[{'port':80}],'loadBalancerSourceRanges':[]}}");

	api_drop_empty(svc->schema, o);
	ASSERT_JQ(o, "{'metadata':{'name':'s'},'spec':{'ports':[{'port':80}]}}");
	json_decref(o);
	o = t_jq(
	    "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','env':[],'resources':{'limits':{}},"
	    "'command':[]}],'volumes':[{'name':'v','emptyDir':{}}],'nodeSelector':{}}}");
	api_drop_empty(pod->schema, o);
	ASSERT_JQ(o, "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','resources':{}}],"
		     "'volumes':[{'name':'v','emptyDir':{}}]}}");
	json_decref(o);
	/* Lists without omitempty in Go stay. */
	o = t_jq("{'spec':{'containers':[]}}");
	api_drop_empty(pod->schema, o);
	ASSERT_JQ(o, "{'spec':{'containers':[]}}");
	json_decref(o);
	o = t_jq("{'addressType':'IPv4','endpoints':[],'ports':[]}");
	api_drop_empty(api_kind_by_gvk("discovery.k8s.io/v1", "EndpointSlice")->schema, o);
	ASSERT_JQ(o, "{'addressType':'IPv4','endpoints':[],'ports':[]}");
	json_decref(o);
}
