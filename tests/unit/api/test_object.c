/* test_object.c - name rules, durations, times and field-error wording of api/object.c. */
#include "api/object.h"
#include "harness/t.h"

#include <stdlib.h>

TEST(object_dns1035_label)
{
	ASSERT(api_check_dns1035_label("my-service") == NULL);
	ASSERT(api_check_dns1035_label("a") == NULL);
	ASSERT_STR_CONTAINS(api_check_dns1035_label("1abc"), "a DNS-1035 label must consist of");
	ASSERT_STR_CONTAINS(api_check_dns1035_label("My_Svc"),
			    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?'");
	ASSERT_STR_CONTAINS(api_check_dns1035_label("abc-"), "end with an alphanumeric");
	ASSERT_STR_EQ(
	    api_check_dns1035_label("a234567890123456789012345678901234567890123456789012345678901234"),
	    "must be no more than 63 characters");
}

TEST(object_conditions_and_array_find)
{
	json_t *pod = json_loads("{\"status\":{\"conditions\":["
				 "{\"type\":\"PodScheduled\",\"status\":\"True\"},"
				 "{\"type\":\"Ready\",\"status\":\"False\"},"
				 "{\"type\":\"Ready\",\"status\":\"True\"}]}}",
				 0, NULL);
	ASSERT(pod != NULL);
	/* The first condition of a type counts, as Kubernetes' GetPodCondition. */
	ASSERT_STR_EQ(api_str(api_condition(pod, "Ready"), "status"), "False");
	ASSERT(!api_condition_true(pod, "Ready"));
	ASSERT(api_condition_true(pod, "PodScheduled"));
	ASSERT(api_condition(pod, "Initialized") == NULL);
	ASSERT(!api_condition_true(pod, "Initialized"));
	ASSERT(!api_condition_true(NULL, "Ready"));
	size_t at = 99;
	ASSERT(api_array_find(api_get(pod, "status.conditions"), "type", "Ready", &at) != NULL);
	ASSERT_INT_EQ(at, 1);
	ASSERT(api_array_find(api_get(pod, "status.conditions"), "type", "Nope", NULL) == NULL);
	ASSERT(api_array_find(NULL, "type", "Ready", NULL) == NULL);
	json_decref(pod);
}

TEST(object_dns1123)
{
	ASSERT(api_check_dns1123_label("1abc") == NULL);
	ASSERT(api_check_dns1123_label("a.b") != NULL);
	ASSERT(api_check_dns1123_subdomain("my.database.example.com") == NULL);
	ASSERT(api_check_dns1123_subdomain("a..b") != NULL);
	ASSERT(api_check_dns1123_subdomain("a.") != NULL);
	ASSERT(api_check_dns1123_subdomain("") != NULL);
	ASSERT(api_check_dns1123_subdomain("-a") != NULL);
}

TEST(object_iana_svc_name)
{
	ASSERT(api_check_iana_svc_name("http") == NULL);
	ASSERT(api_check_iana_svc_name("h2c-web") == NULL);
	ASSERT_STR_EQ(api_check_iana_svc_name("1234"), "must contain at least one letter (a-z)");
	ASSERT_STR_EQ(api_check_iana_svc_name("a--b"), "must not contain consecutive hyphens");
	ASSERT_STR_EQ(api_check_iana_svc_name("abcdefghijklmnop"), "must be no more than 15 characters");
	ASSERT_STR_EQ(api_check_iana_svc_name("-ab"), "must not begin or end with a hyphen");
}

TEST(object_qualified_name)
{
	ASSERT(api_check_qualified_name("app") == NULL);
	ASSERT(api_check_qualified_name("kubernetes.io/service-name") == NULL);
	ASSERT(api_check_qualified_name("a/b/c") != NULL);
	ASSERT(api_check_qualified_name("/b") != NULL);
	ASSERT(api_check_qualified_name("Bad_/x") != NULL);
	ASSERT(api_check_qualified_name("-x") != NULL);
}

TEST(object_labels)
{
	struct api_errs e;
	api_errs_init(&e);
	json_t *l = json_pack("{s:s, s:s, s:s}", "app", "MyApp", "empty", "", "bad key!", "x");
	api_validate_labels(l, "metadata.labels", &e);
	ASSERT_INT_EQ(api_errs_count(&e), 1);
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 0), "field"), "metadata.labels");
	ASSERT_STR_CONTAINS(api_str(json_array_get(e.causes, 0), "message"), "Invalid value: \"bad key!\"");
	json_decref(l);
	l = json_pack("{s:s}", "k", "-bad");
	api_validate_labels(l, "spec.selector", &e);
	ASSERT_INT_EQ(api_errs_count(&e), 2);
	ASSERT_STR_CONTAINS(api_str(json_array_get(e.causes, 1), "message"),
			    "a valid label must be an empty string");
	json_decref(l);
	api_errs_fini(&e);
}

TEST(object_error_wording)
{
	struct api_errs e;
	api_errs_init(&e);
	json_t *zero = json_integer(0), *s = json_string("Foo");
	api_err_invalid(&e, "spec.ports[0].port", zero, "must be between 1 and 65535, inclusive");
	static const char *const sup[] = {"ClusterIP", "NodePort", NULL};
	api_err_not_supported(&e, "spec.type", s, sup);
	api_err_required(&e, "spec.ports", NULL);
	api_err_forbidden(&e, "spec.x", "not allowed");
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 0), "message"),
		      "Invalid value: 0: must be between 1 and 65535, inclusive");
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 0), "reason"), "FieldValueInvalid");
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 1), "message"),
		      "Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"NodePort\"");
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 2), "message"), "Required value");
	ASSERT_STR_EQ(api_str(json_array_get(e.causes, 3), "message"), "Forbidden: not allowed");
	json_decref(zero);
	json_decref(s);
	api_errs_fini(&e);
}

TEST(object_human_duration)
{
	char b[32];
	struct {
		long long s;
		const char *want;
	} cases[] = {{0, "0s"},	       {59, "59s"},	    {119, "119s"},	 {120, "2m"},
		     {190, "3m10s"},   {600, "10m"},	    {3 * 3600, "3h"},	 {3 * 3600 + 60, "3h1m"},
		     {9 * 3600, "9h"}, {50 * 3600, "2d2h"}, {10 * 86400, "10d"}, {800 * 86400, "2y70d"},
		     {-5, "<invalid>"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api_human_duration(cases[i].s, b, sizeof(b));
		ASSERT_STR_EQ(b, cases[i].want);
	}
}

TEST(object_time_and_uid)
{
	ASSERT_INT_EQ(api_time_parse("1970-01-01T00:01:00Z"), 60);
	ASSERT_INT_EQ(api_time_parse("2026-11-22T03:00:00.123456Z"), 1795316400);
	ASSERT_INT_EQ(api_time_parse("2026-11-22T04:00:00+01:00"), 1795316400);
	ASSERT_INT_EQ(api_time_parse("yesterday"), -1);
	ASSERT_INT_EQ(api_time_parse("2026-11-22T03:00:00"), -1);
	char now[40];
	ASSERT(api_time_parse(api_now(now, sizeof(now))) > 1700000000);
	char u1[40], u2[40];
	api_uuid(u1, sizeof(u1));
	api_uuid(u2, sizeof(u2));
	ASSERT_INT_EQ(strlen(u1), 36);
	ASSERT(u1[14] == '4');
	ASSERT(strcmp(u1, u2) != 0);
}

TEST(object_paths)
{
	json_t *o = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", "x", "labels", "app", "web");
	ASSERT_STR_EQ(api_str(o, "metadata.name"), "x");
	ASSERT_STR_EQ(api_str(o, "metadata.labels.app"), "web");
	ASSERT(api_get(o, "metadata.nope.deeper") == NULL);
	ASSERT(api_str(o, "metadata") == NULL);
	ASSERT_INT_EQ(api_ip_family("198.18.0.1"), 4);
	ASSERT_INT_EQ(api_ip_family("2001:db8::1"), 6);
	ASSERT_INT_EQ(api_ip_family("300.1.1.1"), 0);
	json_decref(o);
}

/* The agent's EndpointSlice projection drops only conditions that say what their absence
 * says, so each reader's answer is the same on the projected slice. */
TEST(object_endpointslice_compact)
{
	json_t *s = json_loads(
	    "{\"metadata\": {\"name\": \"s\", \"uid\": \"u\", \"generation\": 3, \"ownerReferences\": [], "
	    "\"labels\": {\"kubernetes.io/service-name\": \"svc\"}}, \"endpoints\": ["
	    "{\"addresses\": [\"198.18.0.1\"], \"conditions\": {\"ready\": true, \"serving\": true, "
	    "\"terminating\": false}, \"nodeName\": \"n1\", \"hostname\": \"h\", "
	    "\"targetRef\": {\"kind\": \"Pod\", \"name\": \"p\"}},"
	    "{\"addresses\": [\"198.18.0.2\"], \"conditions\": {\"ready\": false, \"serving\": true, "
	    "\"terminating\": true}},"
	    "{\"addresses\": [\"198.18.0.3\"], \"conditions\": {\"ready\": false, \"serving\": false, "
	    "\"terminating\": false}},"
	    "{\"addresses\": [\"198.18.0.4\"]}]}",
	    0, NULL);
	ASSERT(s != NULL);
	api_endpointslice_compact(s);
	char *out = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(out,
		      "{\"endpoints\":["
		      "{\"addresses\":[\"198.18.0.1\"],\"hostname\":\"h\",\"nodeName\":\"n1\"},"
		      "{\"addresses\":[\"198.18.0.2\"],\"conditions\":{\"ready\":false,\"serving\":true,"
		      "\"terminating\":true}},"
		      "{\"addresses\":[\"198.18.0.3\"],\"conditions\":{\"ready\":false,\"serving\":false}},"
		      "{\"addresses\":[\"198.18.0.4\"]}],"
		      "\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"svc\"},\"name\":\"s\"}}");
	free(out);
	json_decref(s);
	json_t *bad = json_loads("{\"endpoints\": [1, {\"conditions\": 3}]}", 0, NULL);
	api_endpointslice_compact(bad); /* nothing to do, no crash */
	json_decref(bad);
}
