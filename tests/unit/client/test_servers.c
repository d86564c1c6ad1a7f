/* test_servers.c - the client's list of servers of one cluster. */
#include <stdlib.h>

#include "client/client.h"
#include "harness/t.h"

static void free_v(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

TEST(client_servers_split_list)
{
	char **v = NULL;
	size_t n = client_servers_split("https://198.18.0.11:6443/, https://198.18.0.12:6443,,", &v);
	ASSERT_INT_EQ(n, 2);
	ASSERT_STR_EQ(v[0], "https://198.18.0.11:6443");
	ASSERT_STR_EQ(v[1], "https://198.18.0.12:6443");
	free_v(v, n);
	n = client_servers_split("https://127.0.0.1:6443", &v);
	ASSERT_INT_EQ(n, 1);
	ASSERT_STR_EQ(v[0], "https://127.0.0.1:6443");
	free_v(v, n);
	n = client_servers_split("", &v);
	ASSERT_INT_EQ(n, 1);
	ASSERT_STR_EQ(v[0], "");
	free_v(v, n);
	n = client_servers_split(NULL, &v);
	ASSERT_INT_EQ(n, 1);
	free_v(v, n);
}

/* A refused first server is skipped within the same request: the second (also
 * refusing here, on loopback ports nothing listens on) is tried, and the error names it. */
TEST(client_request_tries_each_server_once)
{
	struct client_config c;
	client_config_init(&c);
	c.server = "http://127.0.0.1:1,http://127.0.0.1:2";
	c.namespace_ = "default";
	struct client *cl = client_new(&c, 2000);
	long status = 0;
	char *body = NULL, err[256] = "";
	int rc =
	    client_request(cl, "GET", "/version", NULL, NULL, NULL, &status, &body, NULL, err, sizeof(err));
	ASSERT(rc < 0);
	ASSERT_STR_CONTAINS(err, "127.0.0.1:2");
	/* and the next request starts from the first again */
	ASSERT_STR_EQ(client_server(cl), "http://127.0.0.1:1");
	client_free(cl);
}

/* A kubeconfig whose cluster names several servers keeps them all, in order. */
TEST(client_config_parse_server_list)
{
	json_t *kc = json_pack("{s:s, s:[{s:s, s:{s:s, s:b}}], s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s}}]}",
			       "current-context", "c", "clusters", "name", "k", "cluster", "server",
			       "https://198.18.0.14:6443,https://198.18.0.15:6443/",
			       "insecure-skip-tls-verify", 1, "contexts", "name", "c", "context", "cluster",
			       "k", "user", "u", "users", "name", "u", "user", "token", "t0123456789abcdef");
	struct client_config c;
	char err[256] = "";
	ASSERT_INT_EQ(client_config_parse(kc, NULL, NULL, &c, err, sizeof(err)), 0);
	struct client *cl = client_new(&c, 1000);
	ASSERT_STR_EQ(client_server(cl), "https://198.18.0.14:6443");
	char **v = NULL;
	size_t n = client_servers_split(c.server, &v);
	ASSERT_INT_EQ(n, 2);
	ASSERT_STR_EQ(v[1], "https://198.18.0.15:6443");
	free_v(v, n);
	client_free(cl);
	client_config_fini(&c);
	json_decref(kc);
}
