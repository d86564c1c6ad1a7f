/* test_apply_dups.c - associative lists whose merge key repeats (Node status.addresses with
 * an InternalIP per family, env vars of one name, container ports of one port and
 * protocol) through server-side apply, managed fields, strategic merge patch and Node
 * validation, against the real schema tables.
 *
 * Kubernetes' rules: structured-merge-diff treats the items of a repeated key as one
 * atomic value owned as the bare key, replaces them whole when an apply names the key,
 * keeps them when it does not, and refuses an applied configuration that repeats a key;
 * strategic merge patch merges each patch item into the first live item of its key;
 * ValidateNodeUpdate refuses two equal addresses. Documents are written with ' for ".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/kinds.h"
#include "api/object.h"
#include "api/patch.h"
#include "api/schema.h"
#include "base/mem.h"
#include "harness/t.h"
#include "harness/tjson.h"

#define NOW1 "2024-01-01T00:00:00Z"
#define NOW2 "2024-01-02T00:00:00Z"

static const struct api_schema *schema_of(const char *kind)
{
	const struct api_kind *k = api_kind_by_gvk("v1", kind);
	if (!k)
		t_fail(__FILE__, __LINE__, "no kind %s", kind);
	return k->schema;
}

/* The fieldsV1 of manager mgr's entry with operation op, or NULL. */
static const json_t *fields_of(const json_t *obj, const char *mgr, const char *op)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "managedFields"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "manager")), mgr) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "operation")), op) == 0)
			return json_object_get(e, "fieldsV1");
	}
	return NULL;
}

/* fieldsV1 node of container c's list field at key k (e.g. "env", "k:{\"name\":\"A\"}"). */
static const json_t *container_item(const json_t *fields, const char *list, const char *k)
{
	const json_t *n = json_object_get(json_object_get(fields, "f:spec"), "f:containers");
	n = json_object_get(n, "k:{\"name\":\"c\"}");
	return json_object_get(json_object_get(n, list), k);
}

static json_t *env(const json_t *pod)
{
	return json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
			       "env");
}

#define POD(envs)                                                                                            \
	"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'d'},"                           \
	"'spec':{'containers':[{'name':'c','image':'i','env':" envs "}]}}"

#define KEY_A "k:{\"name\":\"A\"}"

TEST(managed_fields_duplicate_keys_are_atomic_on_create)
{
	json_t *pod =
	    t_jq("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'d'},"
		 "'spec':{'containers':[{'name':'c','image':'i',"
		 "'env':[{'name':'A','value':'1'},{'name':'A','value':'2'},{'name':'B','value':'3'}],"
		 "'ports':[{'containerPort':53,'name':'dns'},{'containerPort':53,'name':'dns2'},"
		 "{'containerPort':53,'protocol':'UDP','name':'dnsu'}]}]}}");

	api_managed_fields_update(NULL, pod, schema_of("Pod"), "creator", "v1", NOW1);
	const json_t *f = fields_of(pod, "creator", "Update");
	ASSERT(f != NULL);
	/* the repeated key is owned bare; the single ones with their fields */
	ASSERT_JQ(container_item(f, "f:env", KEY_A), "{}");
	ASSERT_JQ(container_item(f, "f:env", "k:{\"name\":\"B\"}"), "{'.':{},'f:name':{},'f:value':{}}");
	/* ports are keyed by containerPort and protocol (TCP when absent) */
	ASSERT_JQ(container_item(f, "f:ports", "k:{\"containerPort\":53,\"protocol\":\"TCP\"}"), "{}");
	ASSERT_JQ(container_item(f, "f:ports", "k:{\"containerPort\":53,\"protocol\":\"UDP\"}"),
		  "{'.':{},'f:containerPort':{},'f:name':{},'f:protocol':{}}");
	json_decref(pod);
}

TEST(managed_fields_update_of_second_duplicate_takes_the_key)
{
	const struct api_schema *s = schema_of("Pod");
	json_t *old = t_jq(POD("[{'name':'A','value':'1'},{'name':'A','value':'2'}]"));
	api_managed_fields_update(NULL, old, s, "creator", "v1", NOW1);
	json_t *upd = json_deep_copy(old);
	json_object_set_new(json_array_get(env(upd), 1), "value", json_string("3"));

	api_managed_fields_update(old, upd, s, "editor", "v1", NOW2);
	const json_t *f = fields_of(upd, "editor", "Update");
	ASSERT(f != NULL);
	/* the second A changed: the editor owns the bare key, not a value of the first A */
	ASSERT_JQ(container_item(f, "f:env", KEY_A), "{}");
	ASSERT(container_item(fields_of(upd, "creator", "Update"), "f:env", KEY_A) == NULL);

	/* nothing changed: nobody takes anything */
	json_t *same = json_deep_copy(upd);
	api_managed_fields_update(upd, same, s, "noop", "v1", NOW2);
	ASSERT(fields_of(same, "noop", "Update") == NULL);
	json_decref(same);
	json_decref(upd);
	json_decref(old);
}

static json_t *apply_pod(const json_t *live, const char *applied, const char *mgr, bool force, int want_rc,
			 char *err, size_t errlen)
{
	json_t *a = t_jq(applied), *out = NULL, *c = NULL;
	int rc =
	    api_server_side_apply(live, a, schema_of("Pod"), mgr, "v1", NOW2, force, &out, &c, err, errlen);

	json_decref(a);
	json_decref(c);
	if (rc != want_rc)
		t_fail(__FILE__, __LINE__, "apply rc %d, want %d: %s", rc, want_rc, err);
	return out;
}

TEST(ssa_replaces_live_duplicates_it_names_and_keeps_the_others)
{
	char err[512] = "";
	json_t *live = t_jq(POD("[{'name':'A','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},"
				"{'name':'A','value':'2'},{'name':'B','value':'3'},{'name':'C','value':'4'},"
				"{'name':'C','value':'5'}]"));
	api_managed_fields_update(NULL, live, schema_of("Pod"), "creator", "v1", NOW1);

	/* the creator owns the doubled A as one value */
	json_t *out =
	    apply_pod(live, POD("[{'name':'A','value':'9'}]"), "applier", false, -EBUSY, err, sizeof(err));
	ASSERT(out == NULL);
	ASSERT_STR_EQ(err, "Apply failed with 1 conflict: conflict with \"creator\" using v1: "
			   ".spec.containers[name=\"c\"].env[name=\"A\"]");
	out = apply_pod(live, POD("[{'name':'A','value':'9'}]"), "applier", true, 0, err, sizeof(err));
	/* both A go for the applied one (no valueFrom of the first A left in it); C stays doubled */
	ASSERT_JQ(env(out), "[{'name':'A','value':'9'},{'name':'B','value':'3'},{'name':'C','value':'4'},"
			    "{'name':'C','value':'5'}]");
	json_decref(out);
	json_decref(live);
}

TEST(ssa_prune_does_not_touch_duplicates_owned_by_another_manager)
{
	char err[512] = "";
	json_t *live =
	    apply_pod(NULL, POD("[{'name':'A','value':'1'}]"), "applier", false, 0, err, sizeof(err));
	/* another writer makes A a duplicate: it owns the key now */
	json_t *upd = json_deep_copy(live);
	json_array_append_new(env(upd), t_jq("{'name':'A','value':'2'}"));
	api_managed_fields_update(live, upd, schema_of("Pod"), "editor", "v1", NOW2);
	ASSERT_JQ(container_item(fields_of(upd, "editor", "Update"), "f:env", KEY_A), "{}");
	ASSERT(container_item(fields_of(upd, "applier", "Apply"), "f:env", KEY_A) == NULL);

	/* the applier drops env: it owns no A any more, so both stay whole */
	json_t *out = apply_pod(upd, POD("[]"), "applier", false, 0, err, sizeof(err));
	ASSERT_JQ(env(out), "[{'name':'A','value':'1'},{'name':'A','value':'2'}]");
	json_decref(out);

	/* back to one A: the writer that made it single owns its fields again */
	json_t *one = json_deep_copy(upd);
	json_array_remove(env(one), 1);
	api_managed_fields_update(upd, one, schema_of("Pod"), "fixer", "v1", NOW2);
	ASSERT_JQ(container_item(fields_of(one, "fixer", "Update"), "f:env", KEY_A),
		  "{'.':{},'f:name':{},'f:value':{}}");
	ASSERT(container_item(fields_of(one, "editor", "Update"), "f:env", KEY_A) == NULL);
	json_decref(one);
	json_decref(upd);
	json_decref(live);
}

TEST(ssa_refuses_applied_duplicates)
{
	char err[512] = "";
	json_t *out = apply_pod(NULL, POD("[{'name':'A','value':'1'},{'name':'A','value':'2'}]"), "applier",
				false, -EINVAL, err, sizeof(err));
	ASSERT(out == NULL);
	ASSERT_STR_EQ(err, ".spec.containers[name=\"c\"].env: duplicate entries for key [name=\"A\"]");
}

#define NODE_ADDRS                                                                                           \
	"[{'type':'InternalIP','address':'198.18.0.11'},{'type':'InternalIP','address':'2001:db8::11'},"     \
	"{'type':'Hostname','address':'n1'}]"

TEST(node_dual_stack_addresses_through_smp_and_validation)
{
	const struct api_kind *k = api_kind_by_gvk("v1", "Node");
	json_t *live = t_jq("{'apiVersion':'v1','kind':'Node','metadata':{'name':'n1'},'spec':{},"
			    "'status':{'addresses':" NODE_ADDRS "}}");
	json_t *patch = t_jq("{'status':{'addresses':" NODE_ADDRS "}}");
	json_t *out = NULL;
	char err[512] = "";
	struct api_errs e;

	ASSERT(k != NULL);
	/* the live object itself is valid: a type may repeat */
	api_errs_init(&e);
	api_validate(k, live, live, &e);
	ASSERT_INT_EQ(api_errs_count(&e), 0);
	api_errs_fini(&e);

	/* strategic merge patch merges both InternalIPs into the first one, as Go does ... */
	ASSERT_INT_EQ(api_strategic_merge_patch(live, patch, k->schema, &out, err, sizeof(err)), 0);
	ASSERT_JQ(
	    json_object_get(json_object_get(out, "status"), "addresses"),
	    "[{'type':'InternalIP','address':'2001:db8::11'},{'type':'InternalIP','address':'2001:db8::11'},"
	    "{'type':'Hostname','address':'n1'}]");
	/* ... and the update is refused rather than stored */
	api_errs_init(&e);
	api_validate(k, out, live, &e);
	ASSERT_INT_EQ(api_errs_count(&e), 1);
	ASSERT(strstr(t_jcanon(e.causes, 0), "status.addresses[1]") != NULL);
	api_errs_fini(&e);
	json_decref(out);

	/* "$patch: replace", what kubelet sends, keeps both */
	json_decref(patch);
	patch =
	    t_jq("{'status':{'addresses':[{'$patch':'replace'},{'type':'InternalIP','address':'198.18.0.12'},"
		 "{'type':'InternalIP','address':'2001:db8::12'}]}}");
	ASSERT_INT_EQ(api_strategic_merge_patch(live, patch, k->schema, &out, err, sizeof(err)), 0);
	ASSERT_JQ(
	    json_object_get(json_object_get(out, "status"), "addresses"),
	    "[{'type':'InternalIP','address':'198.18.0.12'},{'type':'InternalIP','address':'2001:db8::12'}]");
	json_decref(out);
	json_decref(patch);
	json_decref(live);
}
