/* test_patch.c - merge patch, JSON patch, strategic merge patch, server-side apply and
 * managed fields, against small local schemas shaped like Service and Pod.
 *
 * Expected documents are compared in canonical form (sorted keys, compact), so list
 * order matters and key order does not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/patch.h"
#include "api/schema.h"
#include "harness/t.h"

/* ---- schemas ---- */

static const struct api_field owner_ref_fields[] = {
    {.name = "apiVersion", .type = API_STRING}, {.name = "kind", .type = API_STRING},
    {.name = "name", .type = API_STRING},	{.name = "uid", .type = API_STRING},
    {.name = "controller", .type = API_BOOL},
};
static const struct api_schema owner_ref_schema = {"OwnerReference", "", owner_ref_fields, 5};

static const struct api_field meta_fields[] = {
    {.name = "name", .type = API_STRING},
    {.name = "namespace", .type = API_STRING},
    {.name = "uid", .type = API_STRING},
    {.name = "resourceVersion", .type = API_STRING},
    {.name = "generation", .type = API_INT},
    {.name = "creationTimestamp", .type = API_TIME},
    {.name = "labels", .type = API_MAP_STRING},
    {.name = "annotations", .type = API_MAP_STRING},
    {.name = "finalizers", .type = API_ARRAY, .elem = API_STRING, .flags = API_F_SET},
    {.name = "ownerReferences",
     .type = API_ARRAY,
     .elem = API_OBJECT,
     .schema = &owner_ref_schema,
     .merge_key = "uid"},
    {.name = "managedFields", .type = API_ARRAY, .elem = API_ANY},
};
static const struct api_schema meta_schema = {"ObjectMeta", "", meta_fields, 11};

static const struct api_field svc_port_fields[] = {
    {.name = "name", .type = API_STRING},  {.name = "protocol", .type = API_STRING},
    {.name = "port", .type = API_INT},	   {.name = "targetPort", .type = API_INT_OR_STRING},
    {.name = "nodePort", .type = API_INT},
};
static const struct api_schema svc_port_schema = {"ServicePort", "", svc_port_fields, 5};

static const struct api_field svc_spec_fields[] = {
    {.name = "ports", .type = API_ARRAY, .elem = API_OBJECT, .schema = &svc_port_schema, .merge_key = "port"},
    {.name = "selector", .type = API_MAP_STRING},
    {.name = "clusterIP", .type = API_STRING},
    {.name = "type", .type = API_STRING},
    {.name = "sessionAffinity", .type = API_STRING},
    {.name = "externalIPs", .type = API_ARRAY, .elem = API_STRING},
};
static const struct api_schema svc_spec_schema = {"ServiceSpec", "", svc_spec_fields, 6};

static const struct api_field svc_fields[] = {
    {.name = "apiVersion", .type = API_STRING},
    {.name = "kind", .type = API_STRING},
    {.name = "metadata", .type = API_OBJECT, .schema = &meta_schema},
    {.name = "spec", .type = API_OBJECT, .schema = &svc_spec_schema},
    {.name = "status", .type = API_ANY},
};
static const struct api_schema svc_schema = {"Service", "", svc_fields, 5};

static const struct api_field cport_fields[] = {
    {.name = "name", .type = API_STRING},
    {.name = "containerPort", .type = API_INT},
    {.name = "protocol", .type = API_STRING},
};
static const struct api_schema cport_schema = {"ContainerPort", "", cport_fields, 3};

static const struct api_field env_fields[] = {
    {.name = "name", .type = API_STRING},
    {.name = "value", .type = API_STRING},
};
static const struct api_schema env_schema = {"EnvVar", "", env_fields, 2};

static const struct api_field container_fields[] = {
    {.name = "name", .type = API_STRING},
    {.name = "image", .type = API_STRING},
    {.name = "args", .type = API_ARRAY, .elem = API_STRING},
    {.name = "ports",
     .type = API_ARRAY,
     .elem = API_OBJECT,
     .schema = &cport_schema,
     .merge_key = "containerPort"},
    {.name = "env", .type = API_ARRAY, .elem = API_OBJECT, .schema = &env_schema, .merge_key = "name"},
};
static const struct api_schema container_schema = {"Container", "", container_fields, 5};

static const struct api_field volume_source_fields[] = {
    {.name = "emptyDir", .type = API_ANY},
    {.name = "hostPath", .type = API_OBJECT, .schema = &env_schema}, /* any struct will do */
};
static const struct api_schema volume_source_schema = {"VolumeSource", "", volume_source_fields, 2};

/* like the real table: the volume source is an inline field */
static const struct api_field volume_fields[] = {
    {.name = "name", .type = API_STRING},
    {.name = "volumeSource", .type = API_OBJECT, .schema = &volume_source_schema, .flags = API_F_INLINE},
};
static const struct api_schema volume_schema = {"Volume", "", volume_fields, 2};

static const struct api_field pod_spec_fields[] = {
    {.name = "containers",
     .type = API_ARRAY,
     .elem = API_OBJECT,
     .schema = &container_schema,
     .merge_key = "name"},
    {.name = "volumes",
     .type = API_ARRAY,
     .elem = API_OBJECT,
     .schema = &volume_schema,
     .merge_key = "name",
     .flags = API_F_RETAIN_KEYS},
    {.name = "nodeName", .type = API_STRING},
};
static const struct api_schema pod_spec_schema = {"PodSpec", "", pod_spec_fields, 3};

static const struct api_field pod_fields[] = {
    {.name = "apiVersion", .type = API_STRING},
    {.name = "kind", .type = API_STRING},
    {.name = "metadata", .type = API_OBJECT, .schema = &meta_schema},
    {.name = "spec", .type = API_OBJECT, .schema = &pod_spec_schema},
};
static const struct api_schema pod_schema = {"Pod", "", pod_fields, 4};

/* ---- helpers ---- */

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);

	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s: %s", e.text, s);
	return j;
}

/* Canonical text of j (a static buffer per slot, so two can be compared). */
static const char *C(const json_t *j, int slot)
{
	static char *bufs[4];
	free(bufs[slot]);
	bufs[slot] = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	return bufs[slot] ? bufs[slot] : "(null)";
}

#define ASSERT_JSON(j, want)                                                                                 \
	do {                                                                                                 \
		json_t *t_w = J(want);                                                                       \
		ASSERT_STR_EQ(C((j), 0), C(t_w, 1));                                                         \
		json_decref(t_w);                                                                            \
	} while (0)

static json_t *smp(const char *target, const char *patch, const struct api_schema *s)
{
	json_t *t = J(target), *p = J(patch), *out = NULL;
	char err[512] = "";
	int rc = api_strategic_merge_patch(t, p, s, &out, err, sizeof(err));

	if (rc != 0)
		t_fail(__FILE__, __LINE__, "smp failed: %s", err);
	json_decref(t);
	json_decref(p);
	return out;
}

static int smp_err(const char *target, const char *patch, const struct api_schema *s, char *err,
		   size_t errlen)
{
	json_t *t = J(target), *p = J(patch), *out = NULL;
	int rc = api_strategic_merge_patch(t, p, s, &out, err, errlen);

	json_decref(t);
	json_decref(p);
	json_decref(out);
	return rc;
}

static json_t *jpatch(const char *target, const char *ops)
{
	json_t *t = J(target), *p = J(ops), *out = NULL;
	char err[512] = "";
	int rc = api_json_patch(t, p, &out, err, sizeof(err));

	if (rc != 0)
		t_fail(__FILE__, __LINE__, "json patch failed: %s", err);
	json_decref(t);
	json_decref(p);
	return out;
}

static int jpatch_err(const char *target, const char *ops, char *err, size_t errlen)
{
	json_t *t = J(target), *p = J(ops), *out = NULL;
	int rc = api_json_patch(t, p, &out, err, errlen);

	json_decref(t);
	json_decref(p);
	json_decref(out);
	return rc;
}

/* ---- merge patch ---- */

TEST(merge_patch_rfc7386_vectors)
{
	static const char *const v[][3] = {
	    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
	    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
	    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
	    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
	    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
	    {"{\"a\":\"foo\"}", "null", "null"},
	    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
	    {"{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}"},
	    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
	    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		json_t *t = J(v[i][0]), *p = J(v[i][1]);
		json_t *r = api_merge_patch(t, p);
		ASSERT_JSON(r, v[i][2]);
		json_t *t0 = J(v[i][0]);
		ASSERT_STR_EQ(C(t, 2), C(t0, 3)); /* target untouched */
		json_decref(t0);
		json_decref(r);
		json_decref(t);
		json_decref(p);
	}
}

TEST(merge_patch_kubectl_label)
{
	json_t *t = J("{\"metadata\":{\"name\":\"web-0\",\"labels\":{\"app\":\"web\"}},\"spec\":{}}");
	json_t *p = J("{\"metadata\":{\"labels\":{\"app\":\"x\",\"new\":\"y\"}}}");
	json_t *r = api_merge_patch(t, p);

	ASSERT_JSON(
	    r, "{\"metadata\":{\"name\":\"web-0\",\"labels\":{\"app\":\"x\",\"new\":\"y\"}},\"spec\":{}}");
	json_decref(r);
	json_decref(t);
	json_decref(p);
}

/* ---- JSON patch ---- */

TEST(json_patch_ops)
{
	json_t *r = jpatch("{\"spec\":{\"ports\":[{\"port\":80}],\"a/b\":1,\"m~n\":2}}",
			   "[{\"op\":\"add\",\"path\":\"/spec/ports/-\",\"value\":{\"port\":443}},"
			   "{\"op\":\"add\",\"path\":\"/spec/ports/0\",\"value\":{\"port\":22}},"
			   "{\"op\":\"replace\",\"path\":\"/spec/a~1b\",\"value\":10},"
			   "{\"op\":\"remove\",\"path\":\"/spec/m~0n\"},"
			   "{\"op\":\"copy\",\"from\":\"/spec/ports/1\",\"path\":\"/spec/first\"},"
			   "{\"op\":\"move\",\"from\":\"/spec/a~1b\",\"path\":\"/spec/moved\"},"
			   "{\"op\":\"test\",\"path\":\"/spec/moved\",\"value\":10},"
			   "{\"op\":\"add\",\"path\":\"/spec/type\",\"value\":\"NodePort\"}]");
	ASSERT_JSON(
	    r, "{\"spec\":{\"ports\":[{\"port\":22},{\"port\":80},{\"port\":443}],\"first\":{\"port\":80},"
	       "\"moved\":10,\"type\":\"NodePort\"}}");
	json_decref(r);

	r = jpatch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1,2]}]");
	ASSERT_JSON(r, "[1,2]");
	json_decref(r);
	r = jpatch("{\"a\":1.0}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]");
	ASSERT_JSON(r, "{\"a\":1.0}");
	json_decref(r);
}

TEST(json_patch_errors)
{
	char err[512];

	ASSERT_INT_EQ(jpatch_err("{\"spec\":{}}", "[{\"op\":\"add\",\"path\":\"/spec/foo/bar\",\"value\":1}]",
				 err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err,
		      "add operation does not apply: doc is missing path: \"/spec/foo/bar\": missing value");
	ASSERT_INT_EQ(
	    jpatch_err("{\"spec\":{}}", "[{\"op\":\"remove\",\"path\":\"/spec/foo\"}]", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "Unable to remove nonexistent key: foo: missing value");
	ASSERT_INT_EQ(jpatch_err("{\"spec\":{}}", "[{\"op\":\"replace\",\"path\":\"/spec/foo\",\"value\":1}]",
				 err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err, "replace operation does not apply: doc is missing key: /spec/foo: missing value");
	ASSERT_INT_EQ(
	    jpatch_err("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "testing value /a failed: test failed");
	ASSERT_INT_EQ(
	    jpatch_err("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":2}]", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "Unable to access invalid index: 5: invalid index referenced");
	ASSERT_INT_EQ(jpatch_err("{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err, "Unexpected kind: frob: unknown object type");
	ASSERT_INT_EQ(
	    jpatch_err("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/b\"}]", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "move operation does not apply: doc is missing from path: /x: missing value");
	ASSERT_INT_EQ(jpatch_err("{\"a\":1}", "{\"op\":\"add\"}", err, sizeof(err)), -EINVAL);
}

/* ---- strategic merge patch ---- */

#define SVC_A                                                                                                \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"demo\",\"labels\":{\"app\":"   \
	"\"demo\"},"                                                                                         \
	"\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"a\"}},"                     \
	"\"spec\":{\"clusterIP\":\"10.0.0.5\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":"  \
	"8080}],"                                                                                            \
	"\"selector\":{\"app\":\"demo\"}}}"

TEST(smp_kubectl_apply_adds_port_then_goes_back)
{
	/* kubectl-surface.md 7.2: svc-a -> svc-b */
	json_t *b =
	    smp(SVC_A,
		"{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"b\"},"
		"\"labels\":{\"tier\":\"frontend\"}},"
		"\"spec\":{\"$setElementOrder/ports\":[{\"port\":80},{\"port\":9100}],"
		"\"ports\":[{\"port\":80,\"targetPort\":9090},{\"name\":\"metrics\",\"port\":9100}]}}",
		&svc_schema);
	ASSERT_JSON(b, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"demo\","
		       "\"labels\":{\"app\":\"demo\",\"tier\":\"frontend\"},"
		       "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"b\"}},"
		       "\"spec\":{\"clusterIP\":\"10.0.0.5\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\","
		       "\"targetPort\":9090},"
		       "{\"name\":\"metrics\",\"port\":9100}],\"selector\":{\"app\":\"demo\"}}}");

	/* ... and back: label removed, port removed with $patch: delete */
	char *bs = json_dumps(b, JSON_COMPACT);
	json_t *a =
	    smp(bs,
		"{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"a\"},"
		"\"labels\":{\"tier\":null}},"
		"\"spec\":{\"$setElementOrder/ports\":[{\"port\":80}],"
		"\"ports\":[{\"port\":80,\"targetPort\":8080},{\"$patch\":\"delete\",\"port\":9100}]}}",
		&svc_schema);
	ASSERT_JSON(a, SVC_A);
	free(bs);
	json_decref(a);
	json_decref(b);
}

TEST(smp_maps_nulls_and_directives)
{
	json_t *r = smp("{\"spec\":{\"unschedulable\":true,\"taints\":[1]}}",
			"{\"spec\":{\"unschedulable\":null}}", NULL);
	ASSERT_JSON(r, "{\"spec\":{\"taints\":[1]}}");
	json_decref(r);

	/* $patch: replace on a map */
	r = smp(SVC_A, "{\"spec\":{\"selector\":{\"$patch\":\"replace\",\"run\":\"x\"}}}", &svc_schema);
	ASSERT_JSON(json_object_get(json_object_get(r, "spec"), "selector"), "{\"run\":\"x\"}");
	json_decref(r);

	/* $patch: delete on a map leaves {} as in apimachinery */
	r = smp(SVC_A, "{\"metadata\":{\"labels\":{\"$patch\":\"delete\"}}}", &svc_schema);
	ASSERT_JSON(json_object_get(json_object_get(r, "metadata"), "labels"), "{}");
	json_decref(r);

	/* a key absent from the target: nulls and directives dropped */
	r = smp("{\"metadata\":{}}", "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":null}}}", &svc_schema);
	ASSERT_JSON(r, "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}");
	json_decref(r);

	/* type change replaces */
	r = smp("{\"a\":{\"b\":1}}", "{\"a\":[1]}", NULL);
	ASSERT_JSON(r, "{\"a\":[1]}");
	json_decref(r);
}

TEST(smp_lists)
{
	/* list of objects with a merge key: merged element-wise; new items come first without
	 * $setElementOrder, as apimachinery's mergeSortedSlice orders them */
	json_t *r =
	    smp(SVC_A,
		"{\"spec\":{\"ports\":[{\"port\":443,\"name\":\"https\"},{\"port\":80,\"name\":\"http\"}]}}",
		&svc_schema);
	ASSERT_JSON(json_object_get(json_object_get(r, "spec"), "ports"),
		    "[{\"port\":443,\"name\":\"https\"},{\"port\":80,\"name\":\"http\",\"protocol\":\"TCP\","
		    "\"targetPort\":8080}]");
	json_decref(r);

	/* $patch: replace inside a list */
	r = smp(SVC_A, "{\"spec\":{\"ports\":[{\"$patch\":\"replace\"},{\"port\":443}]}}", &svc_schema);
	ASSERT_JSON(json_object_get(json_object_get(r, "spec"), "ports"), "[{\"port\":443}]");
	json_decref(r);

	/* list without merge key: replaced */
	r = smp("{\"spec\":{\"externalIPs\":[\"1.1.1.1\"]}}", "{\"spec\":{\"externalIPs\":[\"2.2.2.2\"]}}",
		&svc_schema);
	ASSERT_JSON(r, "{\"spec\":{\"externalIPs\":[\"2.2.2.2\"]}}");
	json_decref(r);

	/* no schema: lists replaced even if they look mergeable */
	r = smp(SVC_A, "{\"spec\":{\"ports\":[{\"port\":443}]}}", NULL);
	ASSERT_JSON(json_object_get(json_object_get(r, "spec"), "ports"), "[{\"port\":443}]");
	json_decref(r);

	/* $setElementOrder reorders */
	r = smp("{\"spec\":{\"ports\":[{\"port\":1},{\"port\":2},{\"port\":3}]}}",
		"{\"spec\":{\"$setElementOrder/ports\":[{\"port\":3},{\"port\":1},{\"port\":2}]}}",
		&svc_schema);
	ASSERT_JSON(r, "{\"spec\":{\"ports\":[{\"port\":3},{\"port\":1},{\"port\":2}]}}");
	json_decref(r);

	/* owner references merge by uid */
	r = smp("{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\",\"name\":\"a\"}]}}",
		"{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\",\"controller\":true}]}}", &svc_schema);
	ASSERT_JSON(
	    r, "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\",\"name\":\"a\",\"controller\":true}]}}");
	json_decref(r);
}

TEST(smp_primitive_sets)
{
	json_t *r = smp("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
			"{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}", &svc_schema);
	/* union; patch items first in patch order, then server-only ones (apimachinery order) */
	ASSERT_JSON(r, "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]}}");
	json_decref(r);

	r = smp("{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
		"{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}", &svc_schema);
	ASSERT_JSON(r, "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
	json_decref(r);

	/* what kubectl sends when a finalizer list goes from [a,b] to [b,d] */
	r = smp("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
		"{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"d\"],\"$deleteFromPrimitiveList/"
		"finalizers\":[\"a\"],"
		"\"finalizers\":[\"d\"]}}",
		&svc_schema);
	ASSERT_JSON(r, "{\"metadata\":{\"finalizers\":[\"b\",\"d\"]}}");
	json_decref(r);

	/* delete list for an absent field adds nothing */
	r = smp("{\"metadata\":{}}", "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"x\"]}}",
		&svc_schema);
	ASSERT_JSON(r, "{\"metadata\":{}}");
	json_decref(r);
}

TEST(smp_pod_containers_nested)
{
	json_t *r =
	    smp("{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1\",\"args\":[\"-a\"],"
		"\"ports\":[{\"containerPort\":80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":"
		"\"B\",\"value\":\"2\"}]},"
		"{\"name\":\"side\",\"image\":\"busybox\"}]}}",
		"{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:2\",\"args\":[\"-b\"],"
		"\"ports\":[{\"containerPort\":80,\"name\":\"http\"}],"
		"\"env\":[{\"name\":\"B\",\"value\":\"3\"},{\"$patch\":\"delete\",\"name\":\"A\"}]}]}}",
		&pod_schema);
	ASSERT_JSON(r, "{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:2\",\"args\":[\"-b\"],"
		       "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}],\"env\":[{\"name\":\"B\","
		       "\"value\":\"3\"}]},"
		       "{\"name\":\"side\",\"image\":\"busybox\"}]}}");
	json_decref(r);
}

TEST(smp_retain_keys)
{
	json_t *r = smp("{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}",
			"{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":[\"hostPath\",\"name\"],"
			"\"hostPath\":{\"path\":\"/x\"}}]}}",
			&pod_schema);
	ASSERT_JSON(r, "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"}}]}}");
	json_decref(r);
}

TEST(smp_errors)
{
	char err[512];

	ASSERT_INT_EQ(
	    smp_err(SVC_A, "{\"spec\":{\"ports\":[{\"targetPort\":81}]}}", &svc_schema, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "map: map[targetPort:81] does not contain declared merge key: port");
	ASSERT_INT_EQ(
	    smp_err(SVC_A, "{\"spec\":{\"ports\":[{\"$patch\":\"delete\"}]}}", &svc_schema, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "map: map[$patch:delete] does not contain declared merge key: port");
	ASSERT_INT_EQ(smp_err(SVC_A, "{\"spec\":{\"$patch\":\"frob\"}}", &svc_schema, err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_EQ(err, "unknown patch type: frob in map: map[$patch:frob]");
	ASSERT_INT_EQ(
	    smp_err(SVC_A, "{\"spec\":{\"ports\":[{\"$patch\":\"merge\"}]}}", &svc_schema, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "merging lists cannot yet be specified in the patch");
	ASSERT_INT_EQ(
	    smp_err("{\"spec\":{\"volumes\":[{\"name\":\"v\"}]}}",
		    "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":[\"name\"],\"emptyDir\":{}}]}}",
		    &pod_schema, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_EQ(err, "invalid patch format of retainKeys");
	ASSERT_INT_EQ(
	    smp_err(SVC_A, "{\"spec\":{\"$setElementOrder/ports\":[{\"port\":80}],\"ports\":[{\"port\":9}]}}",
		    &svc_schema, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "doesn't match $setElementOrder/ list");
	ASSERT_INT_EQ(smp_err(SVC_A, "[1]", &svc_schema, err, sizeof(err)), -EINVAL);
}

/* ---- server-side apply ---- */

#define NOW1 "2024-01-01T00:00:00Z"
#define NOW2 "2024-01-02T00:00:00Z"

static json_t *ssa(const json_t *live, const char *applied, const char *mgr, const char *now, bool force,
		   int want_rc, char *err, size_t errlen, json_t **conflicts)
{
	json_t *a = J(applied), *out = NULL, *c = NULL;
	int rc = api_server_side_apply(live, a, &svc_schema, mgr, "v1", now, force, &out, &c, err, errlen);

	json_decref(a);
	if (rc != want_rc)
		t_fail(__FILE__, __LINE__, "apply rc %d, want %d: %s", rc, want_rc, err);
	if (conflicts)
		*conflicts = c;
	else
		json_decref(c);
	return out;
}

static const json_t *entry(const json_t *obj, const char *mgr, const char *op)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "managedFields"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "manager")), mgr) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "operation")), op) == 0)
			return e;
	}
	return NULL;
}

#define SSA_SVC                                                                                              \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ssa\",\"labels\":{\"app\":"    \
	"\"ssa\",\"x\":\"1\"}},"                                                                             \
	"\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"ssa\"}}}"

TEST(ssa_create_records_fields_v1)
{
	char err[512] = "";
	json_t *out = ssa(NULL, SSA_SVC, "kubectl", NOW1, false, 0, err, sizeof(err), NULL);

	ASSERT_JSON(json_object_get(json_object_get(out, "metadata"), "managedFields"),
		    "[{\"manager\":\"kubectl\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"time\":\"" NOW1
		    "\","
		    "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\"f:app\":{},"
		    "\"f:x\":{}}},"
		    "\"f:spec\":{\"f:ports\":{\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},"
		    "\"f:port\":{},"
		    "\"f:targetPort\":{}}},\"f:selector\":{\"f:app\":{}}}}}]");
	json_object_del(json_object_get(out, "metadata"), "managedFields");
	ASSERT_JSON(out, SSA_SVC);
	json_decref(out);
}

TEST(ssa_twice_removes_dropped_field)
{
	char err[512] = "";
	json_t *live = ssa(NULL, SSA_SVC, "kubectl", NOW1, false, 0, err, sizeof(err), NULL);
	/* the server defaults protocol and adds clusterIP: nobody applied them */
	json_object_set_new(json_array_get(json_object_get(json_object_get(live, "spec"), "ports"), 0),
			    "protocol", json_string("TCP"));
	json_object_set_new(json_object_get(live, "spec"), "clusterIP", json_string("10.0.0.9"));

	json_t *out =
	    ssa(live,
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ssa\",\"labels\":{"
		"\"app\":\"ssa\"}},"
		"\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"ssa\"}}}",
		"kubectl", NOW2, false, 0, err, sizeof(err), NULL);
	ASSERT_JSON(json_object_get(json_object_get(out, "metadata"), "labels"), "{\"app\":\"ssa\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(out, "spec"), "clusterIP")),
		      "10.0.0.9");
	ASSERT_JSON(json_object_get(json_object_get(out, "spec"), "ports"),
		    "[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]");
	ASSERT_JSON(json_object_get(entry(out, "kubectl", "Apply"), "fieldsV1"),
		    "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:ports\":{\"k:{"
		    "\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":"
		    "{\".\":{},\"f:port\":{},\"f:targetPort\":{}}},\"f:selector\":{\"f:app\":{}}}}");
	ASSERT_STR_EQ(json_string_value(json_object_get(entry(out, "kubectl", "Apply"), "time")), NOW2);

	/* dropping the whole port list and all labels removes them (empty maps/lists go) */
	json_t *out2 = ssa(out,
			   "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ssa\"},"
			   "\"spec\":{\"selector\":{\"app\":\"ssa\"}}}",
			   "kubectl", NOW2, false, 0, err, sizeof(err), NULL);
	ASSERT_JSON(
	    out2,
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ssa\",\"managedFields\":"
	    "[{\"manager\":\"kubectl\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"time\":\"" NOW2 "\","
	    "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:selector\":{\"f:app\":{}}}}}]},"
	    "\"spec\":{\"clusterIP\":\"10.0.0.9\",\"selector\":{\"app\":\"ssa\"}}}");
	json_decref(out2);
	json_decref(out);
	json_decref(live);
}

#define CSA_SVC                                                                                              \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"demo\",\"annotations\":"       \
	"{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"                                    \
	"\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{"        \
	"\"app\":\"demo\"},"                                                                                 \
	"\"type\":\"ClusterIP\"}}"

TEST(managed_fields_update_on_create)
{
	json_t *obj = J(CSA_SVC);

	api_managed_fields_update(NULL, obj, &svc_schema, "kubectl-client-side-apply", "v1", NOW1);
	ASSERT_JSON(
	    json_object_get(json_object_get(obj, "metadata"), "managedFields"),
	    "[{\"manager\":\"kubectl-client-side-apply\",\"operation\":\"Update\",\"apiVersion\":\"v1\","
	    "\"time\":\"" NOW1
	    "\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":"
	    "{\".\":{},\"f:kubectl.kubernetes.io/"
	    "last-applied-configuration\":{}}},\"f:spec\":{\"f:ports\":{\".\":{},"
	    "\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:port\":{},\"f:protocol\":{},"
	    "\"f:targetPort\":{}}},\"f:selector\":{\".\":{},\"f:app\":{}},\"f:type\":{}}}}]");

	/* another writer changes type: it takes that field; no change keeps entries as they are */
	json_t *upd = json_deep_copy(obj);
	json_object_set_new(json_object_get(upd, "spec"), "type", json_string("NodePort"));
	api_managed_fields_update(obj, upd, &svc_schema, "kubectl-edit", "v1", NOW2);
	ASSERT_JSON(json_object_get(entry(upd, "kubectl-edit", "Update"), "fieldsV1"),
		    "{\"f:spec\":{\"f:type\":{}}}");
	ASSERT(!json_object_get(
	    json_object_get(json_object_get(entry(upd, "kubectl-client-side-apply", "Update"), "fieldsV1"),
			    "f:spec"),
	    "f:type"));
	json_t *same = json_deep_copy(upd);
	api_managed_fields_update(upd, same, &svc_schema, "kubectl-label", "v1", NOW2);
	ASSERT(entry(same, "kubectl-label", "Update") == NULL);
	ASSERT_INT_EQ(json_array_size(json_object_get(json_object_get(same, "metadata"), "managedFields")),
		      2);
	json_decref(same);
	json_decref(upd);
	json_decref(obj);
}

TEST(ssa_conflict_with_client_side_apply)
{
	char err[1024] = "";
	json_t *live = J(CSA_SVC), *conflicts = NULL;

	api_managed_fields_update(NULL, live, &svc_schema, "kubectl-client-side-apply", "v1", NOW1);

	/* the same values: shared ownership, no conflict */
	json_t *ok =
	    ssa(live,
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"demo\"},"
		"\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"demo\"}}}",
		"kubectl", NOW2, false, 0, err, sizeof(err), NULL);
	ASSERT(entry(ok, "kubectl", "Apply") != NULL);
	ASSERT(entry(ok, "kubectl-client-side-apply", "Update") != NULL);
	json_decref(ok);

	/* a changed targetPort conflicts */
	const char *changed =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"demo\"},"
	    "\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}],\"selector\":{\"app\":\"demo\"}}}";
	json_t *out = ssa(live, changed, "kubectl", NOW2, false, -EBUSY, err, sizeof(err), &conflicts);
	ASSERT(out == NULL);
	ASSERT_STR_EQ(err,
		      "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: "
		      ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
	ASSERT_JSON(conflicts, "[\".spec.ports[port=80,protocol=\\\"TCP\\\"].targetPort\"]");
	json_decref(conflicts);

	/* the causes for the Status body */
	json_t *a = J(changed), *causes = NULL;
	ASSERT_INT_EQ(api_server_side_apply_causes(live, a, &svc_schema, "kubectl", "v1", NOW2, false, &out,
						   &causes, err, sizeof(err)),
		      -EBUSY);
	ASSERT_JSON(causes,
		    "[{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with "
		    "\\\"kubectl-client-side-apply\\\" "
		    "using v1\",\"field\":\".spec.ports[port=80,protocol=\\\"TCP\\\"].targetPort\"}]");
	json_decref(causes);
	json_decref(a);

	/* --force-conflicts: succeeds and takes the field */
	out = ssa(live, changed, "kubectl", NOW2, true, 0, err, sizeof(err), NULL);
	ASSERT_INT_EQ(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(json_object_get(out, "spec"), "ports"), 0), "targetPort")),
	    9090);
	const json_t *csa = json_object_get(entry(out, "kubectl-client-side-apply", "Update"), "fieldsV1");
	ASSERT_JSON(json_object_get(json_object_get(csa, "f:spec"), "f:ports"),
		    "{\".\":{},\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:port\":{},"
		    "\"f:protocol\":{}}}");
	ASSERT(entry(out, "kubectl", "Apply") != NULL);
	/* entries sorted: Apply before Update */
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(out, "metadata"), "managedFields"), 0),
		"operation")),
	    "Apply");
	json_decref(out);
	json_decref(live);
}

TEST(ssa_multiple_conflicts_message)
{
	char err[1024] = "";
	json_t *live = J(CSA_SVC), *conflicts = NULL;

	api_managed_fields_update(NULL, live, &svc_schema, "kubectl-client-side-apply", "v1", NOW1);
	json_t *out = ssa(live, "{\"spec\":{\"type\":\"NodePort\",\"selector\":{\"app\":\"other\"}}}",
			  "kubectl", NOW2, false, -EBUSY, err, sizeof(err), &conflicts);
	ASSERT(out == NULL);
	ASSERT_STR_EQ(
	    err, "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using v1:\n"
		 "- .spec.type\n- .spec.selector.app");
	ASSERT_INT_EQ(json_array_size(conflicts), 2);
	json_decref(conflicts);
	json_decref(live);
}

TEST(ssa_keeps_field_owned_by_other_manager)
{
	char err[512] = "";
	json_t *live = ssa(NULL, SSA_SVC, "kubectl", NOW1, false, 0, err, sizeof(err), NULL);
	/* a second applier also sets label x */
	json_t *two = ssa(live, "{\"metadata\":{\"labels\":{\"x\":\"1\"}}}", "other", NOW1, false, 0, err,
			  sizeof(err), NULL);
	/* kubectl stops applying x: it stays, because "other" owns it */
	json_t *out =
	    ssa(two,
		"{\"metadata\":{\"name\":\"ssa\",\"labels\":{\"app\":\"ssa\"}},"
		"\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}],\"selector\":{\"app\":\"ssa\"}}}",
		"kubectl", NOW2, false, 0, err, sizeof(err), NULL);
	ASSERT_JSON(json_object_get(json_object_get(out, "metadata"), "labels"),
		    "{\"app\":\"ssa\",\"x\":\"1\"}");
	/* the other applier changing kubectl's label conflicts without a "using" suffix */
	json_t *bad = ssa(out, "{\"metadata\":{\"labels\":{\"app\":\"mine\"}}}", "other", NOW2, false, -EBUSY,
			  err, sizeof(err), NULL);
	ASSERT(bad == NULL);
	ASSERT_STR_EQ(err, "Apply failed with 1 conflict: conflict with \"kubectl\": .metadata.labels.app");
	json_decref(out);
	json_decref(two);
	json_decref(live);
}
