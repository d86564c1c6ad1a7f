/* test_selector.c - label and field selectors: parsing, kube-apiserver's error texts,
 * matching, Service selectors and metav1.LabelSelector. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/selector.h"
#include "harness/t.h"

static json_t *L(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s", s);
	return j;
}

/* Parses s and returns whether labels (JSON text) match. */
static bool lmatch(const char *sel, const char *labels)
{
	struct api_selector *s = NULL;
	char err[1024] = "";
	json_t *l = labels ? L(labels) : NULL;
	bool m;

	if (api_label_selector_parse(sel, &s, err, sizeof(err)) != 0)
		t_fail(__FILE__, __LINE__, "parse %s: %s", sel, err);
	m = api_label_selector_match(s, l);
	api_selector_free(s);
	json_decref(l);
	return m;
}

static const char *lerr(const char *sel)
{
	static char err[2048];
	struct api_selector *s = NULL;

	err[0] = '\0';
	if (api_label_selector_parse(sel, &s, err, sizeof(err)) != -EINVAL)
		t_fail(__FILE__, __LINE__, "parse %s: want -EINVAL", sel);
	if (s)
		t_fail(__FILE__, __LINE__, "selector returned on error");
	return err;
}

TEST(label_selector_match)
{
	ASSERT(lmatch("", "{\"a\":\"b\"}"));
	ASSERT(lmatch("", NULL));
	ASSERT(lmatch("app=web", "{\"app\":\"web\",\"x\":\"y\"}"));
	ASSERT(!lmatch("app=web", "{\"app\":\"db\"}"));
	ASSERT(!lmatch("app=web", NULL));
	ASSERT(lmatch("app==web,tier!=db", "{\"app\":\"web\"}"));
	ASSERT(!lmatch("app==web,tier!=db", "{\"app\":\"web\",\"tier\":\"db\"}"));
	ASSERT(lmatch("env in (prod, staging),!canary", "{\"env\":\"staging\"}"));
	ASSERT(!lmatch("env in (prod, staging),!canary", "{\"env\":\"staging\",\"canary\":\"\"}"));
	ASSERT(!lmatch("env in (prod)", "{}"));
	ASSERT(lmatch("env notin (prod)", "{}"));
	ASSERT(!lmatch("env notin (prod)", "{\"env\":\"prod\"}"));
	ASSERT(lmatch("app", "{\"app\":\"\"}"));
	ASSERT(!lmatch("app", "{}"));
	ASSERT(lmatch("n>5", "{\"n\":\"6\"}"));
	ASSERT(!lmatch("n>5", "{\"n\":\"5\"}"));
	ASSERT(!lmatch("n>5", "{\"n\":\"x\"}"));
	ASSERT(lmatch("n<5", "{\"n\":\"-1\"}"));
	ASSERT(lmatch("x=", "{\"x\":\"\"}"));
	ASSERT(lmatch("x in (,a)", "{\"x\":\"\"}"));
	ASSERT(lmatch("x in ()", "{\"x\":\"\"}"));
	ASSERT(lmatch("a in (in, notin)", "{\"a\":\"notin\"}"));
	ASSERT(lmatch("kubernetes.io/service-name=web", "{\"kubernetes.io/service-name\":\"web\"}"));
	ASSERT(lmatch("  a = b ,  c  ", "{\"a\":\"b\",\"c\":\"1\"}"));
}

TEST(label_selector_errors)
{
	ASSERT_STR_EQ(lerr("a b"),
		      "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
	ASSERT_STR_EQ(lerr("a=b c"), "found 'c', expected: ',' or 'end of string'");
	ASSERT_STR_EQ(lerr("a=b,"), "found '', expected: identifier after ','");
	ASSERT_STR_EQ(lerr(",a"), "found ',', expected: !, identifier, or 'end of string'");
	ASSERT_STR_EQ(lerr("!a=b"), "found '=', expected: ',' or 'end of string'");
	ASSERT_STR_EQ(lerr("a in b"), "unable to parse requirement: found 'b' expected: '('");
	ASSERT_STR_EQ(lerr("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
	ASSERT_STR_EQ(lerr("a in (b c)"), "unable to parse requirement: found 'c', expected: ',' or ')'");
	ASSERT_STR_EQ(lerr("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
	ASSERT_STR_EQ(lerr("a&b=c"), "unable to parse requirement: <nil>: Invalid value: \"a&b\": name part "
				     "must consist of alphanumeric "
				     "characters, '-', '_' or '.', and must start and end with an "
				     "alphanumeric character (e.g. 'MyName',  "
				     "or 'my.name',  or '123-abc', regex used for validation is "
				     "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
	ASSERT_STR_EQ(
	    lerr("a=b&c"),
	    "unable to parse requirement: values[0][a]: Invalid value: \"b&c\": a valid label must be an "
	    "empty "
	    "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
	    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation "
	    "is "
	    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
	ASSERT_STR_EQ(lerr("n>x"),
		      "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
		      "operators, the value must be an integer");
	ASSERT_STR_CONTAINS(lerr("Example.com/a=b"),
			    "<nil>: Invalid value: \"Example.com/a\": prefix part a lowercase "
			    "RFC 1123 subdomain must consist of lower case alphanumeric characters");
	ASSERT_STR_CONTAINS(lerr("a/b/c"), "a qualified name must consist of alphanumeric characters");
	ASSERT_STR_CONTAINS(lerr("/a"), "<nil>: Invalid value: \"/a\": prefix part must be non-empty");
	ASSERT_STR_CONTAINS(lerr("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b"),
			    "name part must be no more than 63 characters");
}

TEST(label_selector_empty_and_from_map)
{
	struct api_selector *s = NULL;
	char err[256];
	json_t *m, *l;

	ASSERT_INT_EQ(api_label_selector_parse("", &s, err, sizeof(err)), 0);
	ASSERT(api_selector_empty(s));
	api_selector_free(s);

	/* a Service with no selector selects nothing */
	s = api_selector_from_map(NULL);
	l = L("{\"app\":\"web\"}");
	ASSERT(!api_label_selector_match(s, l));
	ASSERT(!api_selector_empty(s));
	api_selector_free(s);
	m = L("{}");
	s = api_selector_from_map(m);
	ASSERT(!api_label_selector_match(s, l));
	api_selector_free(s);
	json_decref(m);

	m = L("{\"app\":\"web\"}");
	s = api_selector_from_map(m);
	ASSERT(api_label_selector_match(s, l));
	json_decref(m);
	api_selector_free(s);
	m = L("{\"app\":\"web\",\"tier\":\"fe\"}");
	s = api_selector_from_map(m);
	ASSERT(!api_label_selector_match(s, l));
	api_selector_free(s);
	json_decref(m);
	json_decref(l);
	api_selector_free(NULL);
}

TEST(label_selector_from_label_selector)
{
	struct api_selector *s = NULL;
	char err[1024] = "";
	json_t *ls =
	    L("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\","
	      "\"values\":[\"prod\",\"stage\"]},{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}");
	json_t *yes = L("{\"app\":\"web\",\"env\":\"stage\"}"),
	       *no = L("{\"app\":\"web\",\"env\":\"stage\",\"canary\":\"1\"}");

	ASSERT_INT_EQ(api_selector_from_label_selector(ls, &s, err, sizeof(err)), 0);
	ASSERT(api_label_selector_match(s, yes));
	ASSERT(!api_label_selector_match(s, no));
	api_selector_free(s);
	json_decref(ls);

	ls = L("{}");
	ASSERT_INT_EQ(api_selector_from_label_selector(ls, &s, err, sizeof(err)), 0);
	ASSERT(api_selector_empty(s) && api_label_selector_match(s, no));
	api_selector_free(s);
	json_decref(ls);

	ls = L("{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Near\",\"values\":[\"a\"]}]}");
	ASSERT_INT_EQ(api_selector_from_label_selector(ls, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(err, "\"Near\" is not a valid label selector operator");
	json_decref(ls);

	ls = L("{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[]}]}");
	ASSERT_INT_EQ(api_selector_from_label_selector(ls, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_EQ(
	    err, "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
	json_decref(ls);

	ls = L("{\"matchLabels\":{\"bad key\":\"v\"}}");
	ASSERT_INT_EQ(api_selector_from_label_selector(ls, &s, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "key: Invalid value: \"bad key\": name part must consist of");
	json_decref(ls);
	json_decref(yes);
	json_decref(no);
}

static bool fmatch(const char *sel, const char *obj)
{
	struct api_selector *s = NULL;
	char err[512] = "";
	json_t *o = L(obj);
	bool m;

	if (api_field_selector_parse(sel, &s, err, sizeof(err)) != 0)
		t_fail(__FILE__, __LINE__, "parse %s: %s", sel, err);
	m = api_field_selector_match(s, o);
	api_selector_free(s);
	json_decref(o);
	return m;
}

static const char *ferr(const char *sel)
{
	static char err[512];
	struct api_selector *s = NULL;

	err[0] = '\0';
	if (api_field_selector_parse(sel, &s, err, sizeof(err)) != -EINVAL || s)
		t_fail(__FILE__, __LINE__, "parse %s: want -EINVAL", sel);
	return err;
}

TEST(field_selector_match)
{
	const char *pod =
	    "{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"default\"},\"spec\":{\"nodeName\":\"node-1\","
	    "\"hostNetwork\":false,\"priority\":42},\"status\":{\"phase\":\"Running\"}}";

	ASSERT(fmatch("", pod));
	ASSERT(fmatch("metadata.name=web-0", pod));
	ASSERT(fmatch("metadata.name==web-0,metadata.namespace=default", pod));
	ASSERT(!fmatch("metadata.name=web-1", pod));
	ASSERT(fmatch("spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed", pod));
	ASSERT(!fmatch("status.phase!=Running", pod));
	ASSERT(fmatch("spec.hostNetwork=false", pod));
	ASSERT(fmatch("spec.priority=42", pod));
	ASSERT(fmatch("spec.missing=", pod));
	ASSERT(!fmatch("spec.missing=x", pod));
	ASSERT(fmatch("metadata.name=a\\,b\\=c\\\\d", "{\"metadata\":{\"name\":\"a,b=c\\\\d\"}}"));
	ASSERT(fmatch("involvedObject.kind=Service,,involvedObject.name=web",
		      "{\"involvedObject\":{\"kind\":\"Service\",\"name\":\"web\"}}"));
}

TEST(field_selector_errors_and_single_eq)
{
	struct api_selector *s = NULL;
	const char *v = NULL;
	char err[256];

	ASSERT_STR_EQ(ferr("foo"), "invalid selector: 'foo'; can't understand 'foo'");
	ASSERT_STR_EQ(ferr("a=b,zzz"), "invalid selector: 'a=b,zzz'; can't understand 'zzz'");
	ASSERT_STR_EQ(ferr("a=b=c"), "invalid field selector: unescaped character in value: 61");
	ASSERT_STR_EQ(ferr("a=b\\x"), "invalid field selector: invalid escape sequence: \\x");
	ASSERT_STR_EQ(ferr("a=b\\"), "invalid field selector: invalid escape sequence: \\");

	ASSERT_INT_EQ(api_field_selector_parse("metadata.name=web", &s, err, sizeof(err)), 0);
	ASSERT(api_field_selector_single_eq(s, "metadata.name", &v));
	ASSERT_STR_EQ(v, "web");
	ASSERT(!api_field_selector_single_eq(s, "spec.nodeName", &v));
	ASSERT(!api_selector_empty(s));
	api_selector_free(s);
	ASSERT_INT_EQ(api_field_selector_parse("metadata.name!=web", &s, err, sizeof(err)), 0);
	ASSERT(!api_field_selector_single_eq(s, "metadata.name", &v));
	api_selector_free(s);
	ASSERT_INT_EQ(
	    api_field_selector_parse("metadata.name=web,metadata.namespace=x", &s, err, sizeof(err)), 0);
	ASSERT(!api_field_selector_single_eq(s, "metadata.name", &v));
	api_selector_free(s);
	ASSERT_INT_EQ(api_field_selector_parse("", &s, err, sizeof(err)), 0);
	ASSERT(api_selector_empty(s));
	api_selector_free(s);
}
