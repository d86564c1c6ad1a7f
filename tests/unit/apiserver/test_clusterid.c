/* test_clusterid.c - the sealed bootstrap record: round trip, wrong token, tampering. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/clusterid.h"
#include "harness/t.h"

static const unsigned char salt[16] = "0123456789abcdef";
static const unsigned char nonce[12] = "nonce-12byte";

static json_t *plain_for(const char *token)
{
	char th[80];
	apiserver_token_hash(token, th, sizeof(th));
	return json_pack("{s:s, s:s, s:s, s:s}", "tokenHash", th, "ca.crt", "-----CA-----\n", "ca.key",
			 "-----KEY-----\n", "sa.key", "-----SA-----\n");
}

TEST(bootstrap_seal_open_round_trip)
{
	json_t *p = plain_for("token-aaaaaaaaaaaaaaaa");
	char *rec = apiserver_bootstrap_seal("token-aaaaaaaaaaaaaaaa", p, salt, nonce, 1000);
	ASSERT(rec);
	/* nothing of the plaintext shows in the record */
	ASSERT(!strstr(rec, "CA-----"));
	ASSERT(!strstr(rec, "sha256:"));
	json_t *got = NULL;
	char err[400] = "";
	ASSERT_INT_EQ(
	    apiserver_bootstrap_open("token-aaaaaaaaaaaaaaaa", rec, strlen(rec), &got, err, sizeof(err)), 0);
	ASSERT(json_equal(got, p));
	json_decref(got);
	free(rec);
	json_decref(p);
}

TEST(bootstrap_wrong_token_refused)
{
	json_t *p = plain_for("token-aaaaaaaaaaaaaaaa");
	char *rec = apiserver_bootstrap_seal("token-aaaaaaaaaaaaaaaa", p, salt, nonce, 1000);
	json_t *got = NULL;
	char err[400] = "";
	ASSERT_INT_EQ(
	    apiserver_bootstrap_open("token-bbbbbbbbbbbbbbbb", rec, strlen(rec), &got, err, sizeof(err)),
	    -EACCES);
	ASSERT(!got);
	ASSERT_STR_CONTAINS(err, "does not open");
	free(rec);
	json_decref(p);
}

TEST(bootstrap_tampered_or_malformed_refused)
{
	json_t *p = plain_for("token-aaaaaaaaaaaaaaaa");
	char *rec = apiserver_bootstrap_seal("token-aaaaaaaaaaaaaaaa", p, salt, nonce, 1000);
	json_t *r = json_loads(rec, 0, NULL);
	/* flip a byte of the ciphertext: the GCM tag no longer matches */
	char *ct = strdup(json_string_value(json_object_get(r, "ciphertext")));
	ct[3] = ct[3] == 'A' ? 'B' : 'A';
	json_object_set_new(r, "ciphertext", json_string(ct));
	char *bad = json_dumps(r, 0);
	json_t *got = NULL;
	char err[400] = "";
	ASSERT_INT_EQ(
	    apiserver_bootstrap_open("token-aaaaaaaaaaaaaaaa", bad, strlen(bad), &got, err, sizeof(err)),
	    -EACCES);
	static const char *const junk[] = {
	    "",
	    "{}",
	    "[]",
	    "not json",
	    "{\"version\":1,\"kdf\":\"pbkdf2-sha256\"}",
	    ("{\"version\":1,\"kdf\":\"pbkdf2-sha256\",\"iterations\":10,\"salt\":\"AA==\","
	     "\"nonce\":\"AA==\",\"ciphertext\":\"AA==\"}"),
	    "{\"version\":1,\"kdf\":\"pbkdf2-sha256\",\"iterations\":99999999}"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ASSERT_INT_EQ(apiserver_bootstrap_open("t", junk[i], strlen(junk[i]), &got, err, sizeof(err)),
			      -EBADMSG);
	/* a record whose plaintext carries another token's hash is not this cluster's */
	json_t *q = plain_for("someone-else-entirely");
	char *rec2 = apiserver_bootstrap_seal("token-aaaaaaaaaaaaaaaa", q, salt, nonce, 1000);
	ASSERT_INT_EQ(
	    apiserver_bootstrap_open("token-aaaaaaaaaaaaaaaa", rec2, strlen(rec2), &got, err, sizeof(err)),
	    -EBADMSG);
	ASSERT(!got);
	free(rec2);
	json_decref(q);
	free(bad);
	free(ct);
	json_decref(r);
	free(rec);
	json_decref(p);
}
