/* test_mlease.c - which API servers the kubernetes Service lists: renewals, expiry by the
 * observer's clock, sorting, self, address families, bad keys. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/mlease.h"
#include "harness/t.h"

#define P APISERVER_MLEASE_PREFIX
#define TTL APISERVER_MLEASE_TTL_MS

static char *addrs_text(const struct apiserver_mleases *t, int64_t now, const char *self, bool include_self)
{
	json_t *a = apiserver_mleases_addresses(t, now, TTL, self, include_self);
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

#define ASSERT_ADDRS(t, now, self, inc, want)                                                                \
	do {                                                                                                 \
		char *got_ = addrs_text(t, now, self, inc);                                                  \
		ASSERT_STR_EQ(got_, want);                                                                   \
		free(got_);                                                                                  \
	} while (0)

TEST(mlease_two_servers_then_one_goes_silent)
{
	struct apiserver_mleases t = {0};
	const char *keys[] = {P "198.18.0.15", P "198.18.0.14"};
	int64_t revs[] = {10, 11};
	apiserver_mleases_observe(&t, keys, revs, 2, 1000);
	ASSERT_INT_EQ((int)t.len, 2);
	/* sorted, self once */
	ASSERT_ADDRS(&t, 1000, "198.18.0.14", true, "[\"198.18.0.14\",\"198.18.0.15\"]");
	/* .14 renews (new mod_rev) at 11 s; .15 stays at rev 10 */
	revs[1] = 20;
	apiserver_mleases_observe(&t, keys, revs, 2, 11000);
	ASSERT_ADDRS(&t, 15999, "198.18.0.14", true, "[\"198.18.0.14\",\"198.18.0.15\"]");
	/* .15 was first seen at 1 s: expired at 16 s by the observer's clock */
	ASSERT(!apiserver_mlease_live(&t.v[0], 16000, TTL));
	ASSERT_ADDRS(&t, 16000, "198.18.0.14", true, "[\"198.18.0.14\"]");
	/* the same mod_rev observed again does not renew it */
	apiserver_mleases_observe(&t, keys, revs, 2, 17000);
	ASSERT_ADDRS(&t, 17000, "198.18.0.14", true, "[\"198.18.0.14\"]");
	/* .14 itself is listed while include_self even when its record is old */
	ASSERT_ADDRS(&t, 90000, "198.18.0.14", true, "[\"198.18.0.14\"]");
	apiserver_mleases_fini(&t);
}

TEST(mlease_clean_stop_leaves_the_others)
{
	struct apiserver_mleases t = {0};
	const char *keys[] = {P "198.18.0.14", P "198.18.0.15", P "198.18.0.2"};
	int64_t revs[] = {3, 4, 5};
	apiserver_mleases_observe(&t, keys, revs, 3, 0);
	/* string order, as kube's sort.Strings */
	ASSERT_ADDRS(&t, 0, "198.18.0.15", true, "[\"198.18.0.14\",\"198.18.0.15\",\"198.18.0.2\"]");
	ASSERT_ADDRS(&t, 0, "198.18.0.15", false, "[\"198.18.0.14\",\"198.18.0.2\"]");
	/* the last server stopping: nothing is live but itself, so the list is empty and the
	 * caller leaves the endpoints alone */
	apiserver_mleases_observe(&t, keys, revs, 0, 1);
	ASSERT_INT_EQ((int)t.len, 0);
	ASSERT_ADDRS(&t, 1, "198.18.0.15", false, "[]");
	apiserver_mleases_fini(&t);
}

TEST(mlease_bad_keys_and_families)
{
	struct apiserver_mleases t = {0};
	const char *keys[] = {P "not-an-ip",  P "2001:db8::0:1",
			      P "198.18.0.3", "/registry/other/198.18.0.4",
			      P "198.18.0.3", P ""};
	int64_t revs[] = {1, 2, 3, 4, 5, 6};
	apiserver_mleases_observe(&t, keys, revs, 6, 0);
	ASSERT_INT_EQ((int)t.len, 2);
	/* IPv6 in canonical text, and only self's family listed */
	ASSERT_ADDRS(&t, 0, "2001:db8::2", true, "[\"2001:db8::1\",\"2001:db8::2\"]");
	ASSERT_ADDRS(&t, 0, "198.18.0.9", true, "[\"198.18.0.3\",\"198.18.0.9\"]");
	apiserver_mleases_fini(&t);
}

TEST(mlease_subsets_and_slice_endpoints)
{
	json_t *a = json_pack("[s, s]", "198.18.0.14", "198.18.0.15");
	json_t *s = apiserver_mleases_subsets(a, 6443);
	char *txt = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(txt, "[{\"addresses\":[{\"ip\":\"198.18.0.14\"},{\"ip\":\"198.18.0.15\"}],"
			   "\"ports\":[{\"name\":\"https\",\"port\":6443,\"protocol\":\"TCP\"}]}]");
	free(txt);
	json_decref(s);
	json_t *e = apiserver_mleases_slice_endpoints(a);
	txt = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(txt, "[{\"addresses\":[\"198.18.0.14\"],\"conditions\":{\"ready\":true}},"
			   "{\"addresses\":[\"198.18.0.15\"],\"conditions\":{\"ready\":true}}]");
	free(txt);
	json_decref(e);
	json_decref(a);
	json_t *none = json_array();
	s = apiserver_mleases_subsets(none, 6443);
	ASSERT_INT_EQ((int)json_array_size(s), 0);
	json_decref(s);
	json_decref(none);
}
