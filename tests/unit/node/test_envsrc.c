/* test_envsrc.c - ConfigMaps, Secrets and resources in a container's environment:
 * valueFrom (configMapKeyRef, secretKeyRef, resourceFieldRef), envFrom with prefixes,
 * optional and missing sources with kubelet's messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness/t.h"
#include "node/envsrc.h"
#include "node/runtime.h"

static json_t *jp(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "bad JSON in test: %s", e.text);
	return o;
}

/* A tiny store: configmap "cfg" {color: blue, size: L}, secret "sec" {pw: s3cret}. */
static json_t *get(void *ud, const char *kind, const char *ns, const char *name)
{
	(void)ud;
	if (strcmp(ns, "n"))
		return NULL;
	if (!strcmp(kind, "configmaps") && !strcmp(name, "cfg"))
		return jp("{\"data\":{\"color\":\"blue\",\"size\":\"L\"}}");
	if (!strcmp(kind, "secrets") && !strcmp(name, "sec"))
		return jp("{\"data\":{\"pw\":\"czNjcmV0\"}}");
	return NULL;
}

static char *env_of(const char *container, char *err)
{
	json_t *pod = jp("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"containers\":[]}}");
	json_t *c = jp(container);
	json_array_append(json_object_get(json_object_get(pod, "spec"), "containers"), c);
	json_t *src = node_envsrc_collect(pod, get, NULL, 4, 8LL << 30);
	char **env = node_rt_container_env(pod, c, NULL, src, NULL, NULL, NULL, err, 256);
	char *out = NULL;
	if (env) {
		size_t len = 0;
		for (int i = 0; env[i]; i++)
			len += strlen(env[i]) + 1;
		out = calloc(1, len + 1);
		for (int i = 0; env[i]; i++) {
			if (strncmp(env[i], "PATH=", 5)) {
				strcat(out, env[i]);
				strcat(out, ";");
			}
			free(env[i]);
		}
		free(env);
	}
	json_decref(src);
	json_decref(c);
	json_decref(pod);
	return out;
}

TEST(envsrc_value_from_configmap_secret_resources)
{
	char err[256] = "";
	char *e = env_of(
	    "{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"250m\"}},"
	    "\"env\":[{\"name\":\"COLOR\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"color\"}}},"
	    "{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"pw\"}}},"
	    "{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":\"1Mi\"}}},"
	    "{\"name\":\"CPU\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"requests.cpu\",\"divisor\":\"1m\"}}},"
	    "{\"name\":\"CPUL\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\"}}},"
	    "{\"name\":\"CPUR\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"requests.cpu\"}}},"
	    "{\"name\":\"OPT\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"none\",\"key\":\"k\",\"optional\":true}}}]}",
	    err);
	if (!e)
		t_fail(__FILE__, __LINE__, "env failed: %s", err);
	ASSERT_STR_EQ(e, "COLOR=blue;PW=s3cret;MEM=128;CPU=250;CPUL=4;CPUR=1;");
	free(e);
}

TEST(envsrc_env_from_with_prefix_env_wins)
{
	char err[256] = "";
	char *e = env_of(
	    "{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cfg\"}},{\"prefix\":\"S_\",\"secretRef\":"
	    "{\"name\":\"sec\"}},{\"configMapRef\":{\"name\":\"gone\",\"optional\":true}}],"
	    "\"env\":[{\"name\":\"size\",\"value\":\"XL\"}]}",
	    err);
	if (!e)
		t_fail(__FILE__, __LINE__, "env failed: %s", err);
	ASSERT_STR_EQ(e, "color=blue;size=XL;S_pw=s3cret;");
	free(e);
}

TEST(envsrc_missing_required_sources_say_why)
{
	char err[256] = "";
	ASSERT(
	    env_of(
		"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"nope\",\"key\":\"k\"}}}]}",
		err) == NULL);
	ASSERT_STR_EQ(err, "secret \"nope\" not found");
	ASSERT(
	    env_of(
		"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"k\"}}}]}",
		err) == NULL);
	ASSERT_STR_EQ(err, "couldn't find key k in ConfigMap n/cfg");
	ASSERT(env_of("{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"gone\"}}]}", err) == NULL);
	ASSERT_STR_EQ(err, "configmap \"gone\" not found");
	ASSERT(
	    env_of(
		"{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.gpu\"}}}]}",
		err) == NULL);
	ASSERT_STR_CONTAINS(err, "unsupported container resource");
}

TEST(envsrc_quantities)
{
	double v;
	ASSERT_INT_EQ(node_quantity_parse("500m", &v), 0);
	ASSERT(v > 0.4999 && v < 0.5001);
	ASSERT_INT_EQ(node_quantity_parse("2Gi", &v), 0);
	ASSERT(v == 2147483648.0);
	ASSERT_INT_EQ(node_quantity_parse("1.5k", &v), 0);
	ASSERT(v == 1500.0);
	ASSERT_INT_EQ(node_quantity_parse("12x", &v), -EINVAL);
	ASSERT_INT_EQ(node_quantity_parse("", &v), -EINVAL);
	ASSERT_INT_EQ(node_quantity_parse("-1", &v), -EINVAL);
}
