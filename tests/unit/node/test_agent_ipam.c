/* test_agent_ipam.c - the agent's pod IP files: lowest free address, stable per uid,
 * exhaustion, release, and release of uids that are gone. */
#include "harness/t.h"
#include "node/podipam.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/svcp-ipam.XXXXXX";
	char *d = mkdtemp(tmpl);
	ASSERT(d != NULL);
	return strdup(d);
}

static void rmdir_all(const char *d)
{
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", d) > 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "rm failed\n");
		free(cmd);
	}
}

static const char *get(const char *dir, const char *cidr_s, const char *uid, char *buf)
{
	struct cidr c;
	char err[64];
	ASSERT_INT_EQ(cidr_parse(cidr_s, &c, err, sizeof(err)), 0);
	struct ip_addr ip;
	int rc = node_ipam_get(dir, &c, uid, &ip);
	if (rc < 0)
		return rc == -ENOSPC ? "ENOSPC" : "error";
	return ip_format(&ip, buf, IP_STRLEN);
}

static bool keep_a(void *ud, const char *uid)
{
	(void)ud;
	return strcmp(uid, "a") == 0;
}

TEST(agent_ipam_lowest_free_and_stable)
{
	char *d = tmpdir(), sub[256], b[IP_STRLEN];
	snprintf(sub, sizeof(sub), "%s/ipam", d);
	ASSERT_STR_EQ(get(sub, "198.18.128.0/24", "a", b), "198.18.128.2");
	ASSERT_STR_EQ(get(sub, "198.18.128.0/24", "b", b), "198.18.128.3");
	ASSERT_STR_EQ(get(sub, "198.18.128.0/24", "a", b), "198.18.128.2");
	ASSERT_INT_EQ(node_ipam_release(sub, "a"), 1);
	ASSERT_STR_EQ(get(sub, "198.18.128.0/24", "c", b), "198.18.128.2");
	ASSERT_INT_EQ(node_ipam_release(sub, "zzz"), 0);
	rmdir_all(d);
	free(d);
}

TEST(agent_ipam_exhausted)
{
	char *d = tmpdir(), b[IP_STRLEN];
	/* /29: .0 network, .1 bridge, .7 broadcast: .2-.6 for pods. */
	const char *uids[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 5; i++)
		ASSERT(strcmp(get(d, "198.18.130.0/29", uids[i], b), "ENOSPC") != 0);
	ASSERT_STR_EQ(b, "198.18.130.6");
	ASSERT_STR_EQ(get(d, "198.18.130.0/29", "f", b), "ENOSPC");
	ASSERT_STR_EQ(get(d, "198.18.130.0/30", "g", b), "ENOSPC");
	ASSERT_INT_EQ(node_ipam_release_unknown(d, keep_a, NULL), 4);
	ASSERT_STR_EQ(get(d, "198.18.130.0/29", "f", b), "198.18.130.3");
	ASSERT_STR_EQ(get(d, "2001:db8:1::/126", "v6", b), "2001:db8:1::2");
	rmdir_all(d);
	free(d);
}
