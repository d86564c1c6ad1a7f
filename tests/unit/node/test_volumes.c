/* test_volumes.c - what a pod's volumes hold (node_volumes_plan): configMap items and
 * modes, secrets decoded, downwardAPI as kubelet formats it, projected sources, the
 * runtime's mounts, and no plan for a pod that mounts nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness/t.h"
#include "node/volumes.h"

static json_t *get(void *ud, const char *kind, const char *ns, const char *name)
{
	(void)ud;
	(void)ns;
	if (!strcmp(kind, "configmaps") && !strcmp(name, "cfg"))
		return json_pack("{s:{s:s, s:s}, s:{s:s}}", "data", "a", "1", "b", "2", "binaryData", "bin",
				 "AAE=");
	if (!strcmp(kind, "secrets") && !strcmp(name, "sec"))
		return json_pack("{s:{s:s}}", "data", "pw", "czNjcmV0");
	return NULL;
}

static const char *file(const json_t *plan, const char *vol, const char *path)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(json_object_get(json_object_get(plan, "vols"), vol), "files"),
			    path),
	    "data"));
}

TEST(volumes_plan_sources_and_mounts)
{
	json_t *pod = json_loads(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\",\"labels\":{\"b\":\"2\",\"a\":\"1\"}},"
	    "\"spec\":{\"volumes\":["
	    "{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"a\",\"path\":\"dir/a.txt\",\"mode\":256}]}},"
	    "{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\"}},"
	    "{\"name\":\"d\",\"downwardAPI\":{\"items\":[{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
	    "{\"path\":\"../escape\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]}},"
	    "{\"name\":\"p\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"cfg\"}},{\"secret\":{\"name\":\"sec\"}}]}},"
	    "{\"name\":\"e\",\"emptyDir\":{}},{\"name\":\"h\",\"hostPath\":{\"path\":\"/\"}},"
	    "{\"name\":\"gone\",\"configMap\":{\"name\":\"missing\",\"optional\":true}},"
	    "{\"name\":\"opt\",\"secret\":{\"secretName\":\"sec\",\"optional\":true,\"items\":[{\"key\":\"pw\",\"path\":\"p\"},"
	    "{\"key\":\"nokey\",\"path\":\"n\"}]}}],"
	    "\"containers\":[{\"name\":\"app\",\"volumeMounts\":[{\"name\":\"c\",\"mountPath\":\"/etc/c\"},"
	    "{\"name\":\"e\",\"mountPath\":\"/data\"},{\"name\":\"h\",\"mountPath\":\"/host\"},"
	    "{\"name\":\"s\",\"mountPath\":\"/x\",\"subPath\":\"pw\"}]},{\"name\":\"side\"}]}}",
	    0, NULL);
	json_t *plan = NULL;
	char err[256];
	ASSERT_INT_EQ(node_volumes_plan(pod, get, NULL, &plan, err, sizeof(err)), 0);
	ASSERT(plan != NULL);
	ASSERT_STR_EQ(file(plan, "c", "dir/a.txt"), "1");
	ASSERT(file(plan, "c", "b") == NULL); /* items select */
	ASSERT_STR_EQ(file(plan, "s", "pw"), "s3cret");
	ASSERT_STR_EQ(file(plan, "d", "labels"), "a=\"1\"\nb=\"2\"");
	ASSERT(file(plan, "d", "../escape") == NULL);
	ASSERT_STR_EQ(file(plan, "p", "b"), "2");
	ASSERT_STR_EQ(file(plan, "p", "pw"), "s3cret");
	/* optional: true: a missing object is an empty volume, a missing key is left out. */
	ASSERT_INT_EQ(json_object_size(
			  json_object_get(json_object_get(json_object_get(plan, "vols"), "gone"), "files")),
		      0);
	ASSERT_STR_EQ(file(plan, "opt", "p"), "s3cret");
	ASSERT(file(plan, "opt", "n") == NULL);
	ASSERT(json_object_get(json_object_get(plan, "vols"), "h") ==
	       NULL); /* not a kind the node provides */
	json_t *m = node_volumes_mounts("/v", plan);
	json_t *app = json_object_get(m, "app");
	ASSERT_INT_EQ(json_array_size(app), 2); /* hostPath and subPath left out */
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(app, 0), "src")), "/v/vol/c");
	ASSERT(json_is_true(json_object_get(json_array_get(app, 0), "ro")));  /* API files are read-only */
	ASSERT(json_is_false(json_object_get(json_array_get(app, 1), "ro"))); /* emptyDir is not */
	ASSERT(json_object_get(m, "side") == NULL);
	json_decref(m);
	json_decref(plan);
	json_object_del(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
			"volumeMounts");
	plan = (json_t *)1;
	ASSERT_INT_EQ(node_volumes_plan(pod, get, NULL, &plan, err, sizeof(err)), 0);
	ASSERT(plan == NULL);
	json_decref(pod);
}

/* A pod whose configMap or secret source names what does not exist, with optional not
 * true: no plan (the containers do not start) and kubelet's FailedMount message. */
static void expect_failed_mount(const char *volumes, const char *want)
{
	char buf[1024], err[256] = "";
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"volumes\":[%s],"
	    "\"containers\":[{\"name\":\"app\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/etc/v\"}]}]}}",
	    volumes);
	json_t *pod = json_loads(buf, 0, NULL), *plan = (json_t *)1;
	ASSERT(pod != NULL);
	ASSERT_INT_EQ(node_volumes_plan(pod, get, NULL, &plan, err, sizeof(err)), -ENOENT);
	ASSERT(plan == NULL);
	ASSERT_STR_EQ(err, want);
	json_decref(pod);
}

TEST(volumes_plan_required_source_missing_fails_mount)
{
	expect_failed_mount("{\"name\":\"v\",\"configMap\":{\"name\":\"nope\"}}",
			    "MountVolume.SetUp failed for volume \"v\" : configmap \"nope\" not found");
	expect_failed_mount("{\"name\":\"v\",\"configMap\":{\"name\":\"nope\",\"optional\":false}}",
			    "MountVolume.SetUp failed for volume \"v\" : configmap \"nope\" not found");
	expect_failed_mount("{\"name\":\"v\",\"secret\":{\"secretName\":\"nope\"}}",
			    "MountVolume.SetUp failed for volume \"v\" : secret \"nope\" not found");
	expect_failed_mount(
	    "{\"name\":\"v\",\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"zz\",\"path\":\"z\"}]}}",
	    "MountVolume.SetUp failed for volume \"v\" : configmap references non-existent config key: zz");
	expect_failed_mount(
	    "{\"name\":\"v\",\"secret\":{\"secretName\":\"sec\",\"items\":[{\"key\":\"zz\",\"path\":\"z\"}]}}",
	    "MountVolume.SetUp failed for volume \"v\" : references non-existent secret key: zz");
	/* A volume no container mounts still keeps the pod waiting, as kubelet mounts them all. */
	expect_failed_mount(
	    "{\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"other\",\"secret\":{\"secretName\":\"x\"}}",
	    "MountVolume.SetUp failed for volume \"other\" : secret \"x\" not found");
	/* projected: the sources' errors together, as utilerrors.Aggregate prints them. */
	expect_failed_mount(
	    "{\"name\":\"v\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"a\"}},"
	    "{\"secret\":{\"name\":\"b\",\"optional\":true}},{\"secret\":{\"name\":\"c\"}}]}}",
	    "MountVolume.SetUp failed for volume \"v\" : [configmap \"a\" not found, secret \"c\" not found]");
}

/* The ServiceAccount directory: token, ca.crt, namespace in every container (init ones
 * too) that does not mount something there itself; automount false or an SA name. */
TEST(volumes_plan_sa_directory)
{
	json_t *pod =
	    json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{"
		       "\"initContainers\":[{\"name\":\"i\"}],"
		       "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"volumeMounts\":[{\"name\":\"x\","
		       "\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}]}]}}",
		       0, NULL);
	const char *sa = NULL;
	ASSERT(node_volumes_sa_wanted(pod, &sa));
	ASSERT(!strcmp(sa, "default"));
	json_t *plan = NULL;
	node_volumes_plan_sa(&plan, pod, "tok", "CA");
	ASSERT(plan != NULL);
	ASSERT(!strcmp(file(plan, NODE_VOLUMES_SA_VOL, "token"), "tok"));
	ASSERT(!strcmp(file(plan, NODE_VOLUMES_SA_VOL, "ca.crt"), "CA"));
	ASSERT(!strcmp(file(plan, NODE_VOLUMES_SA_VOL, "namespace"), "n"));
	json_t *m = json_object_get(plan, "mounts");
	ASSERT(json_array_size(json_object_get(m, "a")) == 1);
	ASSERT(json_array_size(json_object_get(m, "i")) == 1);
	ASSERT(json_object_get(m, "b") == NULL);
	ASSERT(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(m, "a"), 0), "dst")),
		       NODE_VOLUMES_SA_DIR));
	json_t *mounts = node_volumes_mounts("/d", plan);
	ASSERT(json_is_true(json_object_get(json_array_get(json_object_get(mounts, "a"), 0), "ro")));
	json_decref(mounts);
	json_decref(plan);
	plan = NULL;
	node_volumes_plan_sa(&plan, pod, "tok", NULL); /* no CA known: no ca.crt */
	ASSERT(file(plan, NODE_VOLUMES_SA_VOL, "ca.crt") == NULL);
	json_decref(plan);
	json_object_set_new(json_object_get(pod, "spec"), "automountServiceAccountToken", json_false());
	json_object_set_new(json_object_get(pod, "spec"), "serviceAccountName", json_string("reader"));
	ASSERT(!node_volumes_sa_wanted(pod, &sa));
	ASSERT(!strcmp(sa, "reader"));
	json_decref(pod);
}
