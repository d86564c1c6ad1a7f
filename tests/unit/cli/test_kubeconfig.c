/* test_kubeconfig.c - kubeconfig resolution (client/client.c): contexts, CA data, token
 * files, namespaces, merging of $KUBECONFIG lists, and kubectl's error wording. */
#include "client/client.h"
#include "api/codec.h"
#include "harness/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *kc_yaml =
    "apiVersion: v1\n"
    "kind: Config\n"
    "clusters:\n"
    "- cluster:\n"
    "    certificate-authority-data: "
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==\n"
    "    server: https://127.0.0.1:6443/\n"
    "  name: one\n"
    "- cluster:\n"
    "    certificate-authority: pki/ca.crt\n"
    "    insecure-skip-tls-verify: true\n"
    "    server: https://[2001:db8::1]:6443\n"
    "  name: two\n"
    "contexts:\n"
    "- context:\n"
    "    cluster: one\n"
    "    namespace: prod\n"
    "    user: admin\n"
    "  name: ctx-one\n"
    "- context:\n"
    "    cluster: two\n"
    "    user: filed\n"
    "  name: ctx-two\n"
    "- context:\n"
    "    cluster: missing\n"
    "  name: broken\n"
    "current-context: ctx-one\n"
    "users:\n"
    "- name: admin\n"
    "  user:\n"
    "    token: abc123\n"
    "- name: filed\n"
    "  user:\n"
    "    tokenFile: tok\n";

static json_t *kc(void)
{
	json_t *docs = NULL;
	char err[256];
	if (api_yaml_decode(kc_yaml, strlen(kc_yaml), &docs, err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "yaml: %s", err);
	json_t *v = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return v;
}

TEST(kubeconfig_current_context)
{
	json_t *k = kc();
	struct client_config c;
	char err[256] = "";
	ASSERT_INT_EQ(client_config_parse(k, NULL, "/etc/x", &c, err, sizeof(err)), 0);
	ASSERT_STR_EQ(c.server, "https://127.0.0.1:6443");
	ASSERT_STR_EQ(c.namespace_, "prod");
	ASSERT_STR_EQ(c.token, "abc123");
	ASSERT_STR_EQ(c.context, "ctx-one");
	ASSERT(c.ca_pem != NULL);
	ASSERT_INT_EQ(c.ca_pem_len, strlen("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"));
	ASSERT_STR_EQ(c.ca_pem, "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n");
	ASSERT(!c.insecure);
	ASSERT(c.ca_file == NULL);
	client_config_fini(&c);
	json_decref(k);
}

TEST(kubeconfig_other_context_token_file_and_ca_file)
{
	char dir[] = "/tmp/svcplane-kc.XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/tok", dir);
	FILE *f = fopen(path, "w");
	ASSERT(f != NULL);
	fputs("s3cret\n", f);
	fclose(f);
	json_t *k = kc();
	struct client_config c;
	char err[256] = "";
	ASSERT_INT_EQ(client_config_parse(k, "ctx-two", dir, &c, err, sizeof(err)), 0);
	ASSERT_STR_EQ(c.server, "https://[2001:db8::1]:6443");
	ASSERT_STR_EQ(c.token, "s3cret");
	ASSERT_STR_EQ(c.namespace_, "default");
	ASSERT(c.insecure);
	char want[300];
	snprintf(want, sizeof(want), "%s/pki/ca.crt", dir);
	ASSERT_STR_EQ(c.ca_file, want);
	ASSERT(c.ca_pem == NULL);
	client_config_fini(&c);
	unlink(path);
	rmdir(dir);
	/* Errors in kubectl's words. */
	ASSERT(client_config_parse(k, "nope", NULL, &c, err, sizeof(err)) < 0);
	ASSERT_STR_EQ(err, "context \"nope\" does not exist");
	ASSERT(client_config_parse(k, "broken", NULL, &c, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "cluster \"missing\" does not exist");
	json_decref(k);
	json_t *empty = json_object();
	ASSERT(client_config_parse(empty, NULL, NULL, &c, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "current-context is not set");
	json_decref(empty);
}

TEST(kubeconfig_load_merges_env_list)
{
	char dir[] = "/tmp/svcplane-kc.XXXXXX";
	ASSERT(mkdtemp(dir) != NULL);
	char a[256], b[256], env[600];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	/* a has only the current context; b the definitions. */
	FILE *f = fopen(a, "w");
	fputs("current-context: ctx-two\ncontexts:\n- name: ctx-two\n  context: {cluster: two, user: u, "
	      "namespace: a-ns}\n",
	      f);
	fclose(f);
	f = fopen(b, "w");
	fputs(kc_yaml, f);
	fclose(f);
	snprintf(env, sizeof(env), "%s/does-not-exist:%s:%s", dir, a, b);
	char *old = getenv("KUBECONFIG") ? strdup(getenv("KUBECONFIG")) : NULL;
	setenv("KUBECONFIG", env, 1);
	struct client_config c;
	char err[512] = "";
	int rc = client_config_load(NULL, NULL, &c, err, sizeof(err));
	if (old) {
		setenv("KUBECONFIG", old, 1);
		free(old);
	} else {
		unsetenv("KUBECONFIG");
	}
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(c.context, "ctx-two");
	ASSERT_STR_EQ(c.namespace_, "a-ns"); /* the first file's context wins */
	ASSERT_STR_EQ(c.server, "https://[2001:db8::1]:6443");
	ASSERT(c.token == NULL);
	ASSERT_STR_EQ(c.path, a);
	client_config_fini(&c);
	/* An explicit path that does not exist is an error. */
	ASSERT(client_config_load("/nonexistent/kc", NULL, &c, err, sizeof(err)) < 0);
	ASSERT_STR_CONTAINS(err, "/nonexistent/kc");
	unlink(a);
	unlink(b);
	rmdir(dir);
}

TEST(url_escape)
{
	char *s = client_escape("kubernetes.io/service-name=my svc,a!=b");
	ASSERT_STR_EQ(s, "kubernetes.io%2Fservice-name%3Dmy%20svc%2Ca%21%3Db");
	free(s);
}
