/* test_workloads.c - defaults, validation and Scale of the workload kinds, ConfigMaps
 * and Secrets (api/workloads.c through api/kinds.c), with Kubernetes' messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/base64.h"
#include "api/kinds.h"
#include "api/workloads.h"
#include "base/err.h"
#include "harness/t.h"

static json_t *js(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "bad JSON in test: %s", e.text);
	return o;
}

/* Defaults and validates o as kind; returns the causes' messages joined by "; ". */
static char *check(const char *group, const char *plural, json_t *o, const json_t *old)
{
	const struct api_kind *k = api_kind_by_plural(group, "v1", plural);
	if (!k)
		t_fail(__FILE__, __LINE__, "no kind %s", plural);
	api_default(k, o);
	struct api_errs e;
	api_errs_init(&e);
	api_validate(k, o, old, &e);
	size_t n = json_array_size(e.causes);
	char *out = calloc(1, 4096);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(e.causes, i);
		snprintf(out + strlen(out), 4096 - strlen(out), "%s%s: %s", i ? "; " : "",
			 json_string_value(json_object_get(c, "field")),
			 json_string_value(json_object_get(c, "message")));
	}
	api_errs_fini(&e);
	return out;
}

#define DEPLOY(spec) "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":" spec "}"
#define TMPL                                                                                                 \
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"

TEST(workloads_api_deployment_defaults)
{
	json_t *d = js(DEPLOY("{\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL "}"));
	char *m = check("apps", "deployments", d, NULL);
	ASSERT_STR_EQ(m, "");
	free(m);
	json_t *spec = json_object_get(d, "spec");
	ASSERT_INT_EQ(json_integer_value(json_object_get(spec, "replicas")), 1);
	ASSERT_INT_EQ(json_integer_value(json_object_get(spec, "revisionHistoryLimit")), 10);
	ASSERT_INT_EQ(json_integer_value(json_object_get(spec, "progressDeadlineSeconds")), 600);
	json_t *ru = json_object_get(json_object_get(spec, "strategy"), "rollingUpdate");
	ASSERT_STR_EQ(json_string_value(json_object_get(ru, "maxSurge")), "25%");
	ASSERT_STR_EQ(json_string_value(json_object_get(ru, "maxUnavailable")), "25%");
	/* the template got a pod's defaults */
	json_t *c = json_array_get(
	    json_object_get(json_object_get(json_object_get(spec, "template"), "spec"), "containers"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(c, "terminationMessagePolicy")), "File");
	json_decref(d);
}

TEST(workloads_api_deployment_rejects_bad_specs)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
	    {"{" TMPL "}", "spec.selector: Required value"},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"other\"}}," TMPL "}",
	     "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"},
	    {"{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL "}",
	     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	     "{\"maxSurge\":0,\"maxUnavailable\":0}}," TMPL "}",
	     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
	     "{\"maxSurge\":\"120%\"}}," TMPL "}",
	     "must not be greater than 100%"},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{}}," TMPL
	     "}",
	     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	     "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}",
	     "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""},
	    {"{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	     "\"spec\":{\"containers\":[]}}}",
	     "spec.template.spec.containers: Required value"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[2048];
		snprintf(buf, sizeof(buf), DEPLOY("%s"), cases[i].spec);
		json_t *d = js(buf);
		char *m = check("apps", "deployments", d, NULL);
		ASSERT_STR_CONTAINS(m, cases[i].want);
		free(m);
		json_decref(d);
	}
}

TEST(workloads_api_selector_is_immutable)
{
	json_t *old = js(DEPLOY("{\"selector\":{\"matchLabels\":{\"app\":\"web\"}}," TMPL "}"));
	json_t *d = js(DEPLOY(
	    "{\"selector\":{\"matchLabels\":{\"app\":\"web\",\"x\":\"y\"}},\"template\":{\"metadata\":"
	    "{\"labels\":{\"app\":\"web\",\"x\":\"y\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}"));
	char *m = check("apps", "deployments", d, old);
	ASSERT_STR_CONTAINS(m, "spec.selector: Invalid value");
	ASSERT_STR_CONTAINS(m, "field is immutable");
	free(m);
	json_decref(d);
	json_decref(old);
}

TEST(workloads_api_rc_defaults_selector_from_template)
{
	json_t *rc = js(
	    "{\"metadata\":{\"name\":\"kubia\",\"namespace\":\"default\"},\"spec\":{\"replicas\":3,\"template\":"
	    "{\"metadata\":{\"labels\":{\"app\":\"kubia\"}},\"spec\":{\"containers\":[{\"name\":\"kubia\",\"image\":"
	    "\"luksa/kubia\"}]}}}}");
	char *m = check("", "replicationcontrollers", rc, NULL);
	ASSERT_STR_EQ(m, "");
	free(m);
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(json_object_get(rc, "spec"), "selector"), "app")),
		      "kubia");
	ASSERT_STR_EQ(json_string_value(
			  json_object_get(json_object_get(json_object_get(rc, "metadata"), "labels"), "app")),
		      "kubia");
	json_decref(rc);
}

TEST(workloads_api_secret_string_data_and_base64)
{
	json_t *s = js("{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"data\":{\"a\":\"eA==\"},"
		       "\"stringData\":{\"b\":\"hello\",\"a\":\"y\"}}");
	char *m = check("", "secrets", s, NULL);
	ASSERT_STR_EQ(m, "");
	free(m);
	ASSERT(json_object_get(s, "stringData") == NULL);
	ASSERT_STR_EQ(json_string_value(json_object_get(s, "type")), "Opaque");
	json_t *data = json_object_get(s, "data");
	ASSERT_STR_EQ(json_string_value(json_object_get(data, "b")), "aGVsbG8=");
	ASSERT_STR_EQ(json_string_value(json_object_get(data, "a")), "eQ=="); /* stringData wins */
	json_decref(s);
	s = js(
	    "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"data\":{\"a\":\"not base64!\",\"bad key\":\"\"}}");
	m = check("", "secrets", s, NULL);
	ASSERT_STR_CONTAINS(m, "data[a]");
	ASSERT_STR_CONTAINS(
	    m,
	    "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters");
	free(m);
	json_decref(s);
	s = js(
	    "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"type\":\"kubernetes.io/tls\",\"data\":{}}");
	m = check("", "secrets", s, NULL);
	ASSERT_STR_CONTAINS(m, "data[tls.crt]: Required value");
	free(m);
	json_decref(s);
	unsigned char *b;
	size_t n;
	ASSERT_INT_EQ(api_base64_decode("aGVsbG8=", &b, &n), 0);
	ASSERT_INT_EQ(n, 5);
	ASSERT_STR_EQ((char *)b, "hello");
	free(b);
	ASSERT_INT_EQ(api_base64_decode("aGVsbG8", &b, &n), -EINVAL);
	ASSERT_INT_EQ(api_base64_decode("a=Vs", &b, &n), -EINVAL);
}

TEST(workloads_api_immutable_configmap)
{
	json_t *old = js(
	    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"immutable\":true,\"data\":{\"k\":\"v\"}}");
	json_t *cm = js(
	    "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"immutable\":true,\"data\":{\"k\":\"w\"}}");
	char *m = check("", "configmaps", cm, old);
	ASSERT_STR_CONTAINS(m, "data: Forbidden: field is immutable when `immutable` is set");
	free(m);
	json_decref(cm);
	cm = js("{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},\"data\":{\"k\":\"v\"}}");
	m = check("", "configmaps", cm, old);
	ASSERT_STR_CONTAINS(m, "immutable: Forbidden");
	free(m);
	json_decref(cm);
	json_decref(old);
}

TEST(workloads_api_scale_round_trip)
{
	const struct api_kind *k = api_kind_by_plural("apps", "v1", "deployments");
	ASSERT(api_kind_has_scale(k));
	ASSERT(!api_kind_has_scale(api_kind_by_plural("apps", "v1", "daemonsets")));
	json_t *d = js(DEPLOY(
	    "{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":"
	    "\"tier\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]}]}}"));
	json_object_set_new(d, "status", json_pack("{s:i}", "replicas", 2));
	json_t *s = api_scale_from(k, d);
	ASSERT_STR_EQ(json_string_value(json_object_get(s, "apiVersion")), "autoscaling/v1");
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(s, "spec"), "replicas")), 3);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(s, "status"), "selector")),
		      "app=web,tier in (a,b)");
	json_object_set_new(json_object_get(s, "spec"), "replicas", json_integer(7));
	struct api_errs e;
	api_errs_init(&e);
	ASSERT_INT_EQ(api_scale_apply(d, s, &e), 0);
	ASSERT_INT_EQ(json_integer_value(json_object_get(json_object_get(d, "spec"), "replicas")), 7);
	json_object_set_new(json_object_get(s, "spec"), "replicas", json_integer(-2));
	ASSERT_INT_EQ(api_scale_apply(d, s, &e), ERR_INVALID);
	api_errs_fini(&e);
	json_decref(s);
	json_decref(d);
}
